// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring commands and poll for the camera files of kcam.ko (the logic is in uring.rs; see uring_glue.h).
 *
 * The file operations: kcam_uring_fops is a copy of the Rust miscdevice's operations (made at module init, before
 * the first camera registers) with .poll and .uring_cmd added. A camera file switches to it at the end of its
 * open, as misc_open() switched it to the Rust ones (replace_fops: the reference on the owner, this module, is
 * taken for the new table and dropped for the old). Everything else of the file is the Rust miscdevice's.
 */

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/io_uring/cmd.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "uring_glue.h"

static struct file_operations kcam_uring_fops;

static int kcam_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	/*
	 * IO_URING_F_CANCEL: the ring or its task exits (uring_lock held). IO_URING_F_IOWQ: an io-wq worker issues it
	 * (IOSQE_ASYNC), unlocked and allowed to block. Otherwise: inline, in the submitter, not to block.
	 */
	return kcam_rust_uring_cmd(cmd->file->private_data, cmd, issue_flags, issue_flags & IO_URING_F_CANCEL,
				   issue_flags & IO_URING_F_IOWQ, issue_flags & IO_URING_F_CQE32);
}

static __poll_t kcam_uring_poll(struct file *file, struct poll_table_struct *table)
{
	unsigned int state = kcam_rust_poll(file->private_data, file, table);
	__poll_t mask = 0;

	if (state & KCAM_POLL_READABLE)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (state & KCAM_POLL_GONE)
		mask |= EPOLLERR | EPOLLHUP;
	return mask;
}

void kcam_uring_fops_init(const struct file_operations *base)
{
	kcam_uring_fops = *base;
	kcam_uring_fops.poll = kcam_uring_poll;
	kcam_uring_fops.uring_cmd = kcam_uring_cmd;
}

int kcam_uring_fops_install(struct file *file)
{
	const struct file_operations *fops = fops_get(&kcam_uring_fops);

	/* Only while the module goes away, which an open file's reference on it prevents. */
	if (!fops)
		return -ENODEV;
	replace_fops(file, fops);
	return 0;
}

u32 kcam_uring_cmd_op(const struct io_uring_cmd *cmd)
{
	return cmd->cmd_op;
}

bool kcam_uring_cmd_multishot(const struct io_uring_cmd *cmd)
{
	return cmd->flags & IORING_URING_CMD_MULTISHOT;
}

bool kcam_uring_cmd_fixed(const struct io_uring_cmd *cmd)
{
	return cmd->flags & IORING_URING_CMD_FIXED;
}

/* struct kcam_uring_cmd of the uAPI (include/uapi/linux/kcam.h). */
struct kcam_uring_sqe_cmd {
	u64 arg;
	u64 reserved;
};

void kcam_uring_cmd_bytes(const struct io_uring_cmd *cmd, u64 *arg, u64 *reserved)
{
	/* The SQE may be in the ring that userspace shares (not copied when issued inline): read each byte once. */
	const struct kcam_uring_sqe_cmd *c = io_uring_sqe_cmd(cmd->sqe, struct kcam_uring_sqe_cmd);

	*arg = READ_ONCE(c->arg);
	*reserved = READ_ONCE(c->reserved);
}

u16 kcam_uring_cmd_buf_group(const struct io_uring_cmd *cmd)
{
	return READ_ONCE(cmd->sqe->buf_group);
}

struct kcam_uring_pdu *kcam_uring_pdu_of(struct io_uring_cmd *cmd)
{
	return io_uring_cmd_to_pdu(cmd, struct kcam_uring_pdu);
}

void kcam_uring_mark_cancelable(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	io_uring_cmd_mark_cancelable(cmd, issue_flags);
}

static void kcam_uring_task_work(struct io_tw_req tw_req, io_tw_token_t tw)
{
	/* tw.cancel: the task exits or the ring goes (maybe in a kworker): no user memory. */
	kcam_rust_uring_task_work(io_uring_cmd_from_tw(tw_req), IO_URING_CMD_TASK_WORK_ISSUE_FLAGS, tw.cancel);
}

void kcam_uring_complete_in_task(struct io_uring_cmd *cmd, bool lazy)
{
	/*
	 * Lazy (IOU_F_TWQ_LAZY_WAKE): on a DEFER_TASKRUN ring, a task waiting for N CQEs is woken once N such task
	 * works are due, not at each. Only for task work that posts exactly one CQE: a list's completion.
	 */
	if (lazy)
		io_uring_cmd_do_in_task_lazy(cmd, kcam_uring_task_work);
	else
		io_uring_cmd_complete_in_task(cmd, kcam_uring_task_work);
}

void kcam_uring_done(struct io_uring_cmd *cmd, int res, u64 res2, bool cqe32, unsigned int issue_flags)
{
	if (cqe32)
		io_uring_cmd_done32(cmd, res, res2, issue_flags);
	else
		io_uring_cmd_done(cmd, res, issue_flags);
}

int kcam_uring_post_event(struct io_uring_cmd *cmd, u16 buf_group, const void *event, size_t len,
			  unsigned int issue_flags)
{
	size_t buf_len = len;
	struct io_br_sel sel = io_uring_cmd_buffer_select(cmd, buf_group, &buf_len, issue_flags);
	int err = 0;

	if (sel.val < 0)
		return sel.val;
	if (!sel.addr)
		return -ENOBUFS;
	/* sel.addr and sel.val share their storage: done with the address before the length goes in. */
	if (buf_len < len)
		err = -EINVAL;
	else if (copy_to_user(sel.addr, event, len))
		err = -EFAULT;
	sel.val = err ? err : len;
	/* With an error, this puts the buffer back and returns true (the command must end). */
	if (io_uring_mshot_cmd_post_cqe(cmd, &sel, issue_flags))
		return err ? err : -EOVERFLOW;
	return 0;
}

unsigned int kcam_uring_no_notify_signal_save(void)
{
	return no_notify_signal_save();
}

void kcam_uring_no_notify_signal_restore(unsigned int flags)
{
	no_notify_signal_restore(flags);
}
