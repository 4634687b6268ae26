/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The io_uring and poll glue of kcam.ko (uring_glue.c), declared for it and, through bindings generated at build
 * time, for uring.rs. 7.3's Rust MiscDevice has no `poll` or `uring_cmd`: the glue adds both to a copy of the
 * Rust file operations, which a camera file switches to when it is opened, and wraps the io_uring_cmd_* helpers
 * (static inlines and macros) that Rust cannot call.
 */
#ifndef KCAM_URING_GLUE_H
#define KCAM_URING_GLUE_H

#include <linux/types.h>

struct file;
struct file_operations;
struct io_uring_cmd;
struct poll_table_struct;

/* What uring.rs keeps in a command's pdu. */
struct kcam_uring_pdu {
	const void *data;	/* the job or the file's events (an Arc, owned by the command) */
	u16 buf_group;		/* event stream: the provided-buffer group */
	bool cqe32;		/* the ring has 32-byte CQEs: complete with res2 */
};

/* Bits of kcam_rust_poll()'s answer. */
enum kcam_poll_bits {
	KCAM_POLL_READABLE = 1 << 0,
	KCAM_POLL_GONE = 1 << 1,
};

void kcam_uring_fops_init(const struct file_operations *base);
int kcam_uring_fops_install(struct file *file);
u32 kcam_uring_cmd_op(const struct io_uring_cmd *cmd);
bool kcam_uring_cmd_multishot(const struct io_uring_cmd *cmd);
bool kcam_uring_cmd_fixed(const struct io_uring_cmd *cmd);
void kcam_uring_cmd_bytes(const struct io_uring_cmd *cmd, u64 *arg, u64 *reserved);
u16 kcam_uring_cmd_buf_group(const struct io_uring_cmd *cmd);
struct kcam_uring_pdu *kcam_uring_pdu_of(struct io_uring_cmd *cmd);
void kcam_uring_mark_cancelable(struct io_uring_cmd *cmd, unsigned int issue_flags);
void kcam_uring_complete_in_task(struct io_uring_cmd *cmd, bool lazy);
void kcam_uring_done(struct io_uring_cmd *cmd, int res, u64 res2, bool cqe32, unsigned int issue_flags);
int kcam_uring_post_event(struct io_uring_cmd *cmd, u16 buf_group, const void *event, size_t len,
			  unsigned int issue_flags);
unsigned int kcam_uring_no_notify_signal_save(void);
void kcam_uring_no_notify_signal_restore(unsigned int flags);

/* Rust (uring.rs). */
int kcam_rust_uring_cmd(void *private_data, struct io_uring_cmd *cmd, unsigned int issue_flags, bool cancel,
			bool blocking, bool cqe32);
void kcam_rust_uring_task_work(struct io_uring_cmd *cmd, unsigned int issue_flags, bool cancel);
unsigned int kcam_rust_poll(void *private_data, struct file *file, struct poll_table_struct *table);

#endif /* KCAM_URING_GLUE_H */
