/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * KCAM: camera entities and operations, userspace API, version 2.
 *
 * A camera is a tree of entities (sensor, CSI receiver, ISP, DMA writer, ...). Each entity has one register set
 * (described by KCAM_IOC_ENUM_REG: width, access, writable mask, reset value) and may emit events. Userspace
 * programs the camera by submitting a list of operations in one KCAM_IOC_SUBMIT.
 *
 * Rules every struct follows: fixed size, naturally aligned __u64 user pointers (no compat ioctl needed),
 * explicit padding, and reserved fields that must be zero on input (-EINVAL otherwise) so that later versions can
 * give them meaning. The same holds for the fields of struct kcam_op that its opcode does not use (see there).
 *
 * Submission is check-then-commit: the whole list is validated before any operation runs. A rejected list runs
 * nothing; kcam_submit.error_idx names the first offending operation and error_reason says why (enum
 * kcam_reason), so userspace never has to guess what applied. At run time each operation gets its own status;
 * an operation whose dependency failed is not run and gets -ECANCELED; independent operations still run.
 *
 * Lists of all files run one at a time, in seqno order. An asynchronous list (KCAM_SUBMIT_ASYNC) returns at once
 * with its seqno and, with KCAM_SUBMIT_OUT_FENCE, a sync_file that signals when it is done (with the first failed
 * op's status as the fence error); KCAM_IOC_WAIT collects its results. The fences of one camera signal in seqno
 * order, so merging them (sync_file merge, dma_resv) keeps only the later one safely; each list is ended by a
 * watchdog if a register access or parameter transfer hangs (access_timeout_ns: that op -ETIMEDOUT, the rest
 * -ECANCELED), so every fence signals in bounded time. Parameter buffers are copied when the list is submitted:
 * userspace may reuse or unmap them as soon as KCAM_IOC_SUBMIT returns. Cancellation never waits behind other
 * work: KCAM_IOC_RESET cancels every list, closing a file cancels that file's lists (queued ones end at once, every
 * op -ECANCELED; a running one stops at its next op or wait, that op -ECANCELED); a signal to a synchronous
 * submitter stops its list (the op waiting gets -EINTR). After a surprise removal of the hardware, running lists
 * end with -ENODEV, every ioctl of a file still open fails with -ENODEV and the device node goes; close still
 * works.
 *
 * Image buffers (KCAM_CAP_BUFFERS): userspace allocates dma-bufs (a dma-heap, udmabuf, a DRM or V4L2 exporter) and
 * imports them with KCAM_IOC_IMPORT_BUFFER for an entity that writes buffers (KCAM_ENTITY_FLAG_BUFFERS: a DMA
 * writer, an ISP's statistics). The handle it returns belongs to the importing file and goes with
 * KCAM_IOC_RELEASE_BUFFER or when the file is closed. KCAM_OP_QUEUE_BUFFER hands a buffer to its entity for a coming
 * frame; once written it is the file's again, announced by a KCAM_EVENT_BUFFER_DONE event to that file only.
 * KCAM_OP_CANCEL_BUFFER takes a queued buffer back. A queued buffer is in flight until its BUFFER_DONE (queueing
 * it again before is -EALREADY); taken back or released before, it gets no BUFFER_DONE after that. A buffer is
 * never written after it was taken back, released, its file closed, the camera reset (its owner gets BUFFER_DONE
 * with -ECANCELED) or removed: each of these waits for a write in progress to stop.
 *
 * Access: the device node is root-only (0600) unless a udev rule grants more. Files are isolated: one file
 * cannot wait for another's submissions, events go only to the files subscribed to them, and buffer handles and
 * BUFFER_DONE events only to the file that imported the buffer.
 */
#ifndef _UAPI_LINUX_KCAM_H
#define _UAPI_LINUX_KCAM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KCAM_API_VERSION	2
#define KCAM_IOC_MAGIC		0xBC

#define KCAM_NAME_LEN		32
/* An unused kcam_op.deps slot. */
#define KCAM_NO_DEP		0xffffffffU
#define KCAM_MAX_DEPS		4

/* kcam_caps.flags */
#define KCAM_CAP_BUFFERS	(1U << 0)	/* dma-buf import, QUEUE_BUFFER and CANCEL_BUFFER, BUFFER_DONE events */

/* KCAM_IOC_QUERY_CAPS: version and limits. Every limit is enforced with its own errno (see below). */
struct kcam_caps {
	__u32 api_version;	/* KCAM_API_VERSION */
	__u32 num_entities;
	__u32 max_ops;		/* per submission; more: -E2BIG */
	__u32 max_param_bytes;	/* per XFER_PARAM operation; more: -E2BIG */
	__u32 max_pending;	/* asynchronous submissions in flight per file; more: -EBUSY */
	__u32 max_events;	/* queued events per file; more are dropped and counted */
	__u32 flags;		/* KCAM_CAP_* */
	__u32 max_lists;	/* lists in flight per camera, all files together (not yet waited for); more: -ENOSPC */
	__u32 max_queued_param_bytes;	/* parameter bytes held for lists not yet run, per camera; more: -ENOBUFS */
	__u32 max_subscribers;	/* files with event subscriptions, per camera; more: -EUSERS */
	__u64 access_timeout_ns;	/* watchdog of one register access or parameter transfer */
	__u32 max_buffers;	/* imported buffers per camera, all files together; more: -ENFILE */
	__u32 max_file_buffers;	/* imported buffers per file; more: -EMFILE */
	__u64 reserved[1];
};

enum kcam_entity_type {
	KCAM_ENTITY_SENSOR = 1,
	KCAM_ENTITY_CSI = 2,
	KCAM_ENTITY_ISP = 3,
	KCAM_ENTITY_DMA = 4,
	KCAM_ENTITY_OTHER = 5,
};

/* Events an entity may emit (bit n of kcam_entity_desc.event_mask = event n). */
enum kcam_event_type {
	KCAM_EVENT_FRAME_START = 0,
	KCAM_EVENT_FRAME_END = 1,
	KCAM_EVENT_STATS_READY = 2,
	KCAM_EVENT_ERROR = 3,
	/*
	 * A buffer of this file is done: data[0] frame number, data[1] handle, status 0 (written) or a negative errno
	 * (not written: -ECANCELED by KCAM_IOC_RESET, -ENOSPC too small for the frame). Delivered only to the file that
	 * imported the buffer (if subscribed); its sequence counts that file's BUFFER_DONE events of the entity.
	 */
	KCAM_EVENT_BUFFER_DONE = 4,
	KCAM_EVENT_COUNT = 5,
};

/*
 * KCAM_IOC_ENUM_ENTITY: set index (0 .. num_entities - 1), get the entity. Parents are enumerated before their
 * children; the root's parent_id is 0 (ids start at 1).
 */
struct kcam_entity_desc {
	__u32 index;		/* in */
	__u32 id;
	__u32 parent_id;
	__u32 type;		/* enum kcam_entity_type */
	__u32 num_regs;
	__u32 reg_width;	/* bits: 8, 16, 32 or 64 */
	__u32 event_mask;
	__u32 flags;		/* KCAM_ENTITY_FLAG_* (in: 0) */
	char name[KCAM_NAME_LEN];
	__u64 reserved[2];
};

/* kcam_entity_desc.flags: the entity writes buffers (KCAM_IOC_IMPORT_BUFFER, QUEUE_BUFFER, BUFFER_DONE). */
#define KCAM_ENTITY_FLAG_BUFFERS	(1U << 0)

#define KCAM_ACCESS_READ	(1U << 0)
#define KCAM_ACCESS_WRITE	(1U << 1)

/* KCAM_IOC_ENUM_REG: set entity_id and reg (0 .. num_regs - 1), get the register. */
struct kcam_reg_desc {
	__u32 entity_id;	/* in */
	__u32 reg;		/* in */
	__u32 access;		/* KCAM_ACCESS_* */
	__u32 reserved0;
	__u64 writable_mask;	/* bits a write may change; others keep their value */
	__u64 reset_value;
	char name[KCAM_NAME_LEN];
	__u64 reserved[2];
};

enum kcam_opcode {
	KCAM_OP_NOP = 0,
	KCAM_OP_READ = 1,	/* result = reg */
	KCAM_OP_WRITE = 2,	/* reg = value; value must lie within writable_mask */
	KCAM_OP_UPDATE = 3,	/* reg = (reg & ~mask) | (value & mask); mask within writable_mask */
	KCAM_OP_POLL = 4,	/* until (reg & mask) == value, or timeout_ns (required): -ETIMEDOUT; result = last read */
	KCAM_OP_XFER_PARAM = 5,	/* param_len bytes at param_ptr (copied at submission) into the entity's parameters */
	KCAM_OP_WAIT_EVENT = 6,	/* until the entity emits event, or timeout_ns (required): -ETIMEDOUT */
	KCAM_OP_WAIT_OP = 7,	/* no action: completes when its deps do (a join point) */
	KCAM_OP_WAIT_FENCE = 8,	/* until the sync_file fence_fd signals, or timeout_ns (required) */
	KCAM_OP_DELAY = 9,	/* sleep timeout_ns */
	/*
	 * Hand buffer `value` (a handle imported for this entity) to the entity for a coming frame. Fails with
	 * -ENOSPC if it is smaller than the entity's frame now, -EALREADY if it is queued already, -EBUSY if the
	 * entity's queue is full. result = buffers queued on the entity.
	 */
	KCAM_OP_QUEUE_BUFFER = 10,
	/* Take buffer `value` back if queued (a write in progress stops first); result = 1 if it was, 0 if not. */
	KCAM_OP_CANCEL_BUFFER = 11,
	KCAM_OP_COUNT = 12,
};

/*
 * One operation. Inputs above the "out" line; the kernel writes result and status back. deps and flags apply to
 * every opcode; the other inputs only where the opcode uses them, and must be 0 otherwise (-EINVAL,
 * KCAM_REASON_RESERVED_NOT_ZERO), except fence_fd, which is 0 or -1 when unused:
 *   READ: entity_id, reg;  WRITE: entity_id, reg, value;  UPDATE and POLL: entity_id, reg, value, mask (POLL also
 *   timeout_ns);  XFER_PARAM: entity_id, param_ptr, param_len;  WAIT_EVENT: entity_id, event, timeout_ns;
 *   WAIT_FENCE: fence_fd, timeout_ns;  DELAY: timeout_ns;  QUEUE_BUFFER and CANCEL_BUFFER: entity_id, value
 *   (the buffer's handle);  NOP and WAIT_OP: nothing.
 */
struct kcam_op {
	__u32 opcode;		/* enum kcam_opcode */
	__u32 entity_id;
	__u32 reg;
	__u32 event;		/* WAIT_EVENT: enum kcam_event_type */
	__u64 value;
	__u64 mask;
	__u64 param_ptr;	/* XFER_PARAM: user pointer */
	__u32 param_len;
	__s32 fence_fd;		/* WAIT_FENCE */
	__u64 timeout_ns;
	__u32 deps[KCAM_MAX_DEPS];	/* indices of earlier ops of the list, or KCAM_NO_DEP */
	__u32 flags;		/* none defined yet: 0 */
	__u32 reserved0;
	/* out */
	__u64 result;
	__s32 status;		/* 0, or a negative errno */
	__u32 reserved1;
};

/* Why a list was rejected (kcam_submit.error_reason). */
enum kcam_reason {
	KCAM_REASON_NONE = 0,
	KCAM_REASON_BAD_OPCODE = 1,
	KCAM_REASON_BAD_ENTITY = 2,
	KCAM_REASON_BAD_REG = 3,
	KCAM_REASON_NOT_READABLE = 4,
	KCAM_REASON_NOT_WRITABLE = 5,
	KCAM_REASON_OUTSIDE_MASK = 6,
	KCAM_REASON_BAD_DEP = 7,
	KCAM_REASON_PARAM_TOO_LONG = 8,
	KCAM_REASON_BAD_PARAM = 9,	/* XFER_PARAM: empty or null (-EINVAL), end overflows (-EOVERFLOW), unreadable (-EFAULT) */
	KCAM_REASON_BAD_EVENT = 10,
	KCAM_REASON_TIMEOUT_REQUIRED = 11,
	KCAM_REASON_RESERVED_NOT_ZERO = 12,
	KCAM_REASON_BAD_FLAGS = 13,
	KCAM_REASON_TOO_MANY_OPS = 14,
	KCAM_REASON_NO_OPS = 15,
	KCAM_REASON_VALUE_TOO_WIDE = 16,
	KCAM_REASON_BAD_FENCE = 17,	/* WAIT_FENCE: fence_fd is not a sync_file: -EBADF */
	KCAM_REASON_NO_BUFFERS = 18,	/* QUEUE/CANCEL_BUFFER on an entity that writes no buffers: -EINVAL */
	KCAM_REASON_BAD_BUFFER = 19,	/* not a handle of this file (-ENOENT) or imported for another entity (-EINVAL) */
};

#define KCAM_SUBMIT_TEST_ONLY	(1U << 0)	/* validate only: no side effect at all */
#define KCAM_SUBMIT_ASYNC	(1U << 1)	/* return at once with seqno; results via KCAM_IOC_WAIT */
#define KCAM_SUBMIT_OUT_FENCE	(1U << 2)	/* with ASYNC: also return a sync_file fd in out_fence_fd */
#define KCAM_SUBMIT_FLAGS	(KCAM_SUBMIT_TEST_ONLY | KCAM_SUBMIT_ASYNC | KCAM_SUBMIT_OUT_FENCE)

/* KCAM_IOC_SUBMIT */
struct kcam_submit {
	__u32 flags;		/* KCAM_SUBMIT_* */
	__u32 count;		/* number of struct kcam_op at ops_ptr */
	__u64 ops_ptr;		/* in: the list; out: results and statuses written back (asynchronous: by KCAM_IOC_WAIT) */
	__u64 seqno;		/* out: this submission's number; per camera, completes in order */
	__s32 out_fence_fd;	/* out: with KCAM_SUBMIT_OUT_FENCE, else -1 */
	__u32 error_idx;	/* out: first rejected or failed op, or count if none */
	__u32 error_reason;	/* out: enum kcam_reason for a rejected list */
	__u32 reserved0;
	__u64 reserved[2];
};

/*
 * KCAM_IOC_WAIT: wait for an asynchronous submission of this file, write its results back to its ops_ptr (in the
 * waiting process) and forget it. -EINVAL: not a pending submission of this file (another file's, or reaped
 * already); -EAGAIN: timeout_ns 0 and not done (a list whose out-fence signalled is done); -ETIMEDOUT; -EINTR.
 * Each file may have max_pending submissions not yet waited for; one more is refused with -EBUSY.
 */
struct kcam_wait {
	__u64 seqno;
	__u64 timeout_ns;	/* 0: do not wait (-EAGAIN if not done) */
	__s32 status;		/* out: 0, or the first failing op's status (in: 0) */
	__u32 error_idx;	/* out: first failing op, or count (in: 0) */
	__u64 reserved[2];
};

/* KCAM_IOC_SUBSCRIBE / KCAM_IOC_UNSUBSCRIBE */
struct kcam_event_sub {
	__u32 entity_id;
	__u32 event;		/* enum kcam_event_type */
	__u64 reserved[2];
};

/* KCAM_IOC_DQEVENT: the oldest queued event of this file (-EAGAIN if none). */
struct kcam_event {
	__u32 entity_id;
	__u32 event;
	__u64 sequence;		/* per entity and event type, from 0, gap-free: a gap means an event was lost */
	__u64 timestamp_ns;	/* CLOCK_MONOTONIC */
	__u64 data[2];		/* event-specific (FRAME_*: frame number) */
	__u32 dropped;		/* events this file lost to queue overflow since the last dequeue */
	__s32 status;		/* BUFFER_DONE: 0 or a negative errno; other events: 0 */
	__u64 reserved[2];
};

/* KCAM_IOC_RESET: recover a hung camera: cancel everything in flight (-ECANCELED), reset every register. */
struct kcam_reset {
	__u32 flags;		/* none defined yet: 0 */
	__u32 reserved0;
	__u64 reserved[2];
};

/*
 * KCAM_IOC_IMPORT_BUFFER: import the dma-buf `fd` for entity `entity_id`; the kernel maps it and keeps a reference
 * until the handle is released or the file closed (the fd may be closed at once). -EBADF: fd is not a dma-buf;
 * -ENOENT: no such entity; -EINVAL: it writes no buffers, or an input field not zero; -ENOSPC: smaller than the
 * entity's frame now (kcam_buffer_import.size says how big it is); -EOPNOTSUPP: the exporter cannot map it for the
 * CPU; -EMFILE, -ENFILE: max_file_buffers, max_buffers reached.
 */
struct kcam_buffer_import {
	__u32 entity_id;
	__s32 fd;
	__u32 handle;		/* out: names the buffer in ops and events; never 0 (in: 0) */
	__u32 flags;		/* none defined yet: 0 */
	__u64 size;		/* out: the dma-buf's size in bytes (in: 0) */
	__u64 reserved[2];
};

/* KCAM_IOC_RELEASE_BUFFER: take the buffer back if queued (never written after), forget the handle. -ENOENT. */
struct kcam_buffer_release {
	__u32 handle;
	__u32 flags;		/* none defined yet: 0 */
	__u64 reserved[2];
};

/*
 * KCAM_IOC_CANCEL: cancel a list of this file in flight, by seqno (submitted asynchronously, through io_uring, or
 * queued by another thread of the file), or, with KCAM_CANCEL_EVENTS (seqno 0), end the file's io_uring event
 * stream. Returns 0: the list was queued and has ended (its first op -ECANCELED, like the others); -EALREADY: it
 * runs and stops at its next op or wait (that op -ECANCELED); -ENOENT: no such list of this file in flight (done,
 * another file's, synchronous and running in its submitter, or never submitted), or no event stream. A cancelled
 * list still completes as usual: KCAM_IOC_WAIT, its CQE, its fence (-ECANCELED).
 */
#define KCAM_CANCEL_EVENTS	(1U << 0)

struct kcam_cancel {
	__u64 seqno;
	__u32 flags;		/* KCAM_CANCEL_* */
	__u32 reserved0;
	__u64 reserved[2];
};

/*
 * io_uring: IORING_OP_URING_CMD on /dev/kcamN, on any ring (64- or 128-byte SQEs, 16- or 32-byte CQEs). cmd_op is
 * the number of the ioctl the command stands for, and the SQE's command bytes (sqe->cmd) hold a struct
 * kcam_uring_cmd. -EOPNOTSUPP for our other ioctls, -ENOTTY for an unknown cmd_op, -EINVAL for a nonzero reserved
 * field or uring_cmd flag the command does not take.
 *
 * KCAM_IOC_SUBMIT: arg points to a struct kcam_submit, which is read, checked and answered as the ioctl does, with
 * the same validation, limits and errnos; KCAM_SUBMIT_ASYNC is implied (so OUT_FENCE is allowed alone) and
 * TEST_ONLY only validates. The reply fields (seqno, out_fence_fd, error_idx, error_reason) are written when the
 * SQE is issued. The CQE comes when the list is done, after its results were written back to ops_ptr by the
 * submitting task: res is 0, the first failed op's status, or the -errno of a rejection (nothing ran;
 * error_idx/error_reason say why); on CQE32 rings res2 is the error_idx of the reply (the first rejected or failed
 * op, or count). Lists of io_uring and of ioctls run in one seqno order and have the same out-fences. They count
 * toward the camera's max_lists (-ENOSPC) until their CQE is posted, not toward the file's max_pending, and
 * KCAM_IOC_WAIT does not know them: the CQE is their completion, so one file can have up to max_lists in flight.
 * Two ways to issue, which differ in what cancels them:
 *  - inline (default): the list is queued and the SQE returns at once; no thread waits for it. KCAM_IOC_CANCEL (an
 *    ioctl or another SQE) cancels it by seqno; so does the exit of its ring or task. IORING_OP_ASYNC_CANCEL does
 *    not reach it (-ENOENT): io_uring only cancels requests it parks itself.
 *  - IOSQE_ASYNC: an io_uring worker thread submits the list and waits for it, so IORING_OP_ASYNC_CANCEL cancels it
 *    (not yet picked up by a worker: CQE -ECANCELED, the struct untouched; picked up: the list is cancelled as by
 *    KCAM_IOC_CANCEL and its CQE reports it). Costs a worker thread per list in flight.
 *
 * KCAM_IOC_CANCEL: arg points to a struct kcam_cancel; res is what the ioctl returns.
 *
 * KCAM_IOC_DQEVENT, multishot: the file's events, each as it comes, in one SQE. Set IORING_URING_CMD_MULTISHOT in
 * sqe->uring_cmd_flags, IOSQE_BUFFER_SELECT, and sqe->buf_group to a provided-buffer group (a buffer ring) whose
 * buffers hold a struct kcam_event; arg 0. One stream per file (-EBUSY), for a file that has a subscription
 * (-EINVAL otherwise), not with IOSQE_ASYNC (-EINVAL; io_uring itself fails it with -ECANCELED on a file opened
 * O_NONBLOCK). Each event is copied to a buffer and posted in order as a CQE
 * with res sizeof(struct kcam_event) and IORING_CQE_F_BUFFER | IORING_CQE_F_MORE; it leaves the file's queue, which
 * DQEVENT reads too. The stream ends with a CQE without IORING_CQE_F_MORE: res 0 when the file's last
 * subscription goes, -ECANCELED after KCAM_CANCEL_EVENTS or when its ring or task exits, -ENOBUFS when no buffer
 * is left (the event stays queued: add buffers and arm the stream again), -EINVAL when a buffer is smaller than a
 * struct kcam_event, -EFAULT when one cannot be written, -ENODEV on removal. Events queued when it ends are
 * delivered first (except on exit).
 *
 * A file with io_uring requests in flight stays open (io_uring holds a reference): closing the fd cancels nothing
 * until the last of them completes, then the file is released as usual.
 *
 * poll/select/epoll on the camera fd: readable (POLLIN | POLLRDNORM) while the file has events queued;
 * POLLERR | POLLHUP once the camera is removed.
 */
struct kcam_uring_cmd {
	__u64 arg;		/* SUBMIT: struct kcam_submit *; CANCEL: struct kcam_cancel *; DQEVENT: 0 */
	__u64 reserved;
};

#define KCAM_IOC_QUERY_CAPS	_IOR(KCAM_IOC_MAGIC, 0, struct kcam_caps)
#define KCAM_IOC_ENUM_ENTITY	_IOWR(KCAM_IOC_MAGIC, 1, struct kcam_entity_desc)
#define KCAM_IOC_ENUM_REG	_IOWR(KCAM_IOC_MAGIC, 2, struct kcam_reg_desc)
#define KCAM_IOC_SUBMIT		_IOWR(KCAM_IOC_MAGIC, 3, struct kcam_submit)
#define KCAM_IOC_WAIT		_IOWR(KCAM_IOC_MAGIC, 4, struct kcam_wait)
#define KCAM_IOC_SUBSCRIBE	_IOW(KCAM_IOC_MAGIC, 5, struct kcam_event_sub)
#define KCAM_IOC_UNSUBSCRIBE	_IOW(KCAM_IOC_MAGIC, 6, struct kcam_event_sub)
#define KCAM_IOC_DQEVENT	_IOR(KCAM_IOC_MAGIC, 7, struct kcam_event)
#define KCAM_IOC_RESET		_IOW(KCAM_IOC_MAGIC, 8, struct kcam_reset)
#define KCAM_IOC_CANCEL		_IOW(KCAM_IOC_MAGIC, 9, struct kcam_cancel)
#define KCAM_IOC_IMPORT_BUFFER	_IOWR(KCAM_IOC_MAGIC, 10, struct kcam_buffer_import)
#define KCAM_IOC_RELEASE_BUFFER	_IOW(KCAM_IOC_MAGIC, 11, struct kcam_buffer_release)

#endif /* _UAPI_LINUX_KCAM_H */
