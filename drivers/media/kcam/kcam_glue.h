/* SPDX-License-Identifier: GPL-2.0 */
/* The C glue of kcam.ko, declared for kcam_glue.c and mirrored by `fence.rs`. */
#ifndef KCAM_GLUE_H
#define KCAM_GLUE_H

#include <linux/types.h>

struct dma_fence;
struct file;
struct kcam_fence_cb;

u64 kcam_fence_context_alloc(void);
struct dma_fence *kcam_fence_create(u64 context, u64 seqno, const char *timeline);
void kcam_fence_timeline(struct dma_fence *fence, char *buf, size_t len);
void kcam_fence_signal(struct dma_fence *fence, int error);
void kcam_fence_put(struct dma_fence *fence);
int kcam_fence_status(struct dma_fence *fence);
struct dma_fence *kcam_fence_from_fd(int fd);
int kcam_fence_export_prepare(struct dma_fence *fence, struct file **file);
void kcam_fence_export_commit(int fd, struct file *file);
void kcam_fence_export_abort(int fd, struct file *file);
struct kcam_fence_cb *kcam_fence_watch(struct dma_fence *fence, const void *waker);
void kcam_fence_unwatch(struct kcam_fence_cb *watch);
void kcam_rcu_barrier(void);
int kcam_sleep_interruptible(u64 ns);
int kcam_sleep_killable(u64 ns);
bool kcam_fatal_signal_pending(void);

/* Rust (waker.rs). */
void kcam_rust_waker_kick(const void *waker);

#endif /* KCAM_GLUE_H */
