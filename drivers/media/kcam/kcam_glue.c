// SPDX-License-Identifier: GPL-2.0
/*
 * C side of KCAM: dma_fence and sync_file (static inlines and structs the Rust side should not mirror), and the
 * owned debugfs files of vcam's fault injection.
 *
 * Fence lifetime: kcam's fences have neither a release nor a wait op, so on signalling the core drops their ops
 * pointer (dma_fence_signal_timestamp_locked) and they no longer reference this module. They use the fence's
 * inline lock and are freed by the core (dma_fence_free). kcam signals every fence it created before the module
 * can go, and waits for an RCU grace period at unload for readers of the ops of a fence that was signalled last.
 */

#include <linux/dma-fence.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/hrtimer.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sync_file.h>

#include "kcam_glue.h"

static const char *kcam_fence_driver_name(struct dma_fence *fence)
{
	return "kcam";
}

/* A fence and the name of its camera's timeline ("kcamN", the device node's name). */
struct kcam_fence {
	struct dma_fence base;
	char timeline[16];
};

static const char *kcam_fence_timeline_name(struct dma_fence *fence)
{
	return container_of(fence, struct kcam_fence, base)->timeline;
}

static const struct dma_fence_ops kcam_fence_ops = {
	.get_driver_name = kcam_fence_driver_name,
	.get_timeline_name = kcam_fence_timeline_name,
};

u64 kcam_fence_context_alloc(void)
{
	return dma_fence_context_alloc(1);
}

struct dma_fence *kcam_fence_create(u64 context, u64 seqno, const char *timeline)
{
	/* Freed by the core (dma_fence_free: kfree_rcu of the fence, which starts the allocation). */
	struct kcam_fence *fence = kzalloc(sizeof(*fence), GFP_KERNEL_ACCOUNT);

	if (!fence)
		return NULL;
	strscpy(fence->timeline, timeline, sizeof(fence->timeline));
	dma_fence_init64(&fence->base, &kcam_fence_ops, NULL, context, seqno);
	return &fence->base;
}

void kcam_fence_timeline(struct dma_fence *fence, char *buf, size_t len)
{
	const char __rcu *name;

	rcu_read_lock();
	name = dma_fence_timeline_name(fence);
	strscpy(buf, (const char __force *)name, len);
	rcu_read_unlock();
}

void kcam_fence_signal(struct dma_fence *fence, int error)
{
	if (error)
		dma_fence_set_error(fence, error);
	dma_fence_signal(fence);
}

void kcam_fence_put(struct dma_fence *fence)
{
	dma_fence_put(fence);
}

int kcam_fence_status(struct dma_fence *fence)
{
	return dma_fence_get_status(fence);
}

struct dma_fence *kcam_fence_from_fd(int fd)
{
	return sync_file_get_fence(fd);
}

int kcam_fence_export_prepare(struct dma_fence *fence, struct file **file)
{
	struct sync_file *sync_file;
	int fd = get_unused_fd_flags(O_CLOEXEC);

	if (fd < 0)
		return fd;
	sync_file = sync_file_create(fence);
	if (!sync_file) {
		put_unused_fd(fd);
		return -ENOMEM;
	}
	*file = sync_file->file;
	return fd;
}

void kcam_fence_export_commit(int fd, struct file *file)
{
	fd_install(fd, file);
}

void kcam_fence_export_abort(int fd, struct file *file)
{
	put_unused_fd(fd);
	fput(file);
}

struct kcam_fence_cb {
	struct dma_fence_cb cb;
	struct dma_fence *fence;
	const void *waker;
};

static void kcam_fence_cb_func(struct dma_fence *fence, struct dma_fence_cb *cb)
{
	struct kcam_fence_cb *watch = container_of(cb, struct kcam_fence_cb, cb);

	kcam_rust_waker_kick(watch->waker);
}

struct kcam_fence_cb *kcam_fence_watch(struct dma_fence *fence, const void *waker)
{
	struct kcam_fence_cb *watch = kzalloc(sizeof(*watch), GFP_KERNEL);

	if (!watch)
		return NULL;
	watch->fence = dma_fence_get(fence);
	watch->waker = waker;
	/* -ENOENT: signalled already; the waiter sees that through kcam_fence_status(). */
	if (dma_fence_add_callback(fence, &watch->cb, kcam_fence_cb_func))
		INIT_LIST_HEAD(&watch->cb.node);
	return watch;
}

void kcam_fence_unwatch(struct kcam_fence_cb *watch)
{
	/* Under the fence lock: when this returns, the callback is not running and will not run. */
	dma_fence_remove_callback(watch->fence, &watch->cb);
	dma_fence_put(watch->fence);
	kfree(watch);
}

void kcam_rcu_barrier(void)
{
	synchronize_rcu();
}

int kcam_sleep_interruptible(u64 ns)
{
	ktime_t expires = ns_to_ktime(ns);

	/* Returns -EINTR at once when a signal is pending, 0 when the time is up. */
	set_current_state(TASK_INTERRUPTIBLE);
	return schedule_hrtimeout_range(&expires, ns >> 2, HRTIMER_MODE_REL);
}

int kcam_sleep_killable(u64 ns)
{
	ktime_t expires = ns_to_ktime(ns);

	set_current_state(TASK_KILLABLE);
	return schedule_hrtimeout_range(&expires, ns >> 2, HRTIMER_MODE_REL);
}

bool kcam_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}
