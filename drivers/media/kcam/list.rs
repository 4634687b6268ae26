// SPDX-License-Identifier: GPL-2.0

//! A submitted operation list as the kernel holds it, and the way it crosses the user boundary.
//!
//! Everything a list needs from userspace is copied in by [`List::read`], in the submitter's context, while the
//! submit ioctl runs: the operations, the bytes of every `XFER_PARAM` (charged to the submitter's memory cgroup
//! and to the camera's parameter budget), the fences of every `WAIT_FENCE` and the buffers of every `QUEUE_BUFFER`
//! and `CANCEL_BUFFER` (looked up by handle in the submitting file's buffers). After the ioctl returns, the list
//! never touches the submitter's memory again: it may run in a worker, which has no user address space of its
//! own. Results go back by [`write_results`], called by the submitter (`KCAM_IOC_SUBMIT`) or the waiter
//! (`KCAM_IOC_WAIT`) in its own context.

use crate::{
    buffer::Buffer,
    camera::Camera,
    fence::Fence,
    limits::{Budget, ParamBytes},
    shared::{
        uapi::{self, Op, Opcode, Submit},
        validate::{self, errno},
    },
};
use kernel::{
    prelude::*,
    sync::Arc,
    transmute::AsBytes,
    uaccess::{UserPtr, UserSlice},
};

/// A validated list with what it brought along.
pub(crate) struct List {
    pub(crate) ops: KVVec<Op>,
    /// `(op index, fence)` of the `WAIT_FENCE` operations, in op order.
    pub(crate) fences: KVec<(u32, Fence)>,
    /// `(op index, bytes)` of the `XFER_PARAM` operations, in op order; dropped once the list ran.
    pub(crate) params: KVec<(u32, KVVec<u8>)>,
    /// The camera budget `params` holds (`None` for `TEST_ONLY`, which holds them only while validating).
    pub(crate) param_bytes: Option<ParamBytes>,
    /// `(op index, buffer)` of the `QUEUE_BUFFER` and `CANCEL_BUFFER` operations, in op order.
    pub(crate) buffers: KVec<(u32, Arc<Buffer>)>,
}

/// Records a rejection in the submission's reply fields and gives its errno.
pub(crate) fn reject(s: &mut Submit, r: validate::Rejection) -> Error {
    s.error_idx = r.index;
    s.error_reason = r.reason as u32;
    Error::from_errno(-r.errno)
}

fn user_ptr(addr: u64) -> Result<UserPtr> {
    Ok(UserPtr::from_addr(
        usize::try_from(addr).map_err(|_| EFAULT)?,
    ))
}

impl List {
    /// Whether every op of the list completes without waiting (no `POLL`, `DELAY` or wait of any kind), so that
    /// running it does not stall an io_uring submitter's `io_uring_enter` for long.
    pub(crate) fn never_waits(&self) -> bool {
        self.ops.iter().all(|op| {
            matches!(
                Opcode::from_raw(op.opcode),
                Some(
                    Opcode::Nop | Opcode::Read | Opcode::Write | Opcode::Update | Opcode::XferParam
                )
            )
        })
    }

    /// Reads the list of `s` and everything it refers to, validating it whole; nothing of it has run or will run
    /// if this fails. With `budget`, the parameter bytes are charged to it (`ENOBUFS` if they do not fit).
    /// `buffer` looks up the submitting file's buffers by handle.
    pub(crate) fn read(
        camera: &Camera,
        s: &mut Submit,
        budget: Option<&Arc<Budget>>,
        buffer: impl Fn(u32) -> Option<Arc<Buffer>>,
    ) -> Result<Self> {
        let count = s.count as usize;
        let bytes = count.checked_mul(size_of::<Op>()).ok_or(E2BIG)?;
        // One user copy for the whole list: each copy costs a fault check (lockdep's annotation of the mm lock,
        // too, in a debug kernel), which dominated a long list's cost.
        let mut ops = KVVec::from_elem(Op::new(Opcode::Nop, 0, 0), count, GFP_KERNEL_ACCOUNT)?;
        UserSlice::new(user_ptr(s.ops_ptr)?, bytes)
            .reader()
            .read_slice(ops[..].as_bytes_mut())?;
        if let Err(r) = camera.validate(&ops) {
            return Err(reject(s, r));
        }
        let param_ops = || {
            ops.iter()
                .enumerate()
                .filter(|(_, op)| Opcode::from_raw(op.opcode) == Some(Opcode::XferParam))
        };
        // Validation bounds each length (max_param_bytes) and the count (max_ops): no overflow, but checked anyway.
        let total = param_ops().try_fold(0u32, |t, (_, op)| t.checked_add(op.param_len));
        let param_bytes = match budget {
            Some(b) => Some(b.take_param_bytes(total.ok_or(ENOBUFS)?)?),
            None => None,
        };
        let mut params = KVec::new();
        for (i, op) in param_ops() {
            // CAST: `i` < `count`, a u32.
            let index = i as u32;
            let bad = |e: Error| validate::Rejection {
                index,
                reason: uapi::Reason::BadParam,
                errno: e.to_errno().abs(),
            };
            let len = op.param_len as usize;
            let mut data = KVVec::from_elem(0u8, len, GFP_KERNEL_ACCOUNT)?;
            let ptr = user_ptr(op.param_ptr).map_err(|e| reject(s, bad(e)))?;
            UserSlice::new(ptr, len)
                .reader()
                .read_slice(&mut data)
                .map_err(|e| reject(s, bad(e)))?;
            params.push((index, data), GFP_KERNEL_ACCOUNT)?;
        }
        let mut fences = KVec::new();
        for (i, op) in ops.iter().enumerate() {
            if Opcode::from_raw(op.opcode) == Some(Opcode::WaitFence) {
                // CAST: `i` < `count`, a u32.
                let index = i as u32;
                let fence = Fence::from_fd(op.fence_fd).map_err(|_| {
                    let r = validate::Rejection {
                        index,
                        reason: uapi::Reason::BadFence,
                        errno: errno::EBADF,
                    };
                    reject(s, r)
                })?;
                fences.push((index, fence), GFP_KERNEL_ACCOUNT)?;
            }
        }
        let mut buffers = KVec::new();
        for (i, op) in ops.iter().enumerate() {
            if !matches!(
                Opcode::from_raw(op.opcode),
                Some(Opcode::QueueBuffer | Opcode::CancelBuffer)
            ) {
                continue;
            }
            // CAST: `i` < `count`, a u32.
            let index = i as u32;
            let bad = |errno| validate::Rejection {
                index,
                reason: uapi::Reason::BadBuffer,
                errno,
            };
            let buf =
                buffer(validate::buffer_handle(op)).ok_or_else(|| reject(s, bad(errno::ENOENT)))?;
            if camera.index_of(op.entity_id).ok() != Some(buf.entity) {
                return Err(reject(s, bad(errno::EINVAL)));
            }
            buffers.push((index, buf), GFP_KERNEL_ACCOUNT)?;
        }
        Ok(Self {
            ops,
            fences,
            params,
            param_bytes,
            buffers,
        })
    }

    /// Lets go of the parameter buffers and their budget, and of the image buffers (the list ran, or never will).
    pub(crate) fn drop_inputs(&mut self) {
        self.params = KVec::new();
        self.param_bytes = None;
        self.buffers = KVec::new();
    }
}

/// Writes a list's results back to the list at `ops_ptr` in the calling process (in one user copy).
pub(crate) fn write_results(ops: &[Op], ops_ptr: u64) -> Result {
    UserSlice::new(user_ptr(ops_ptr)?, size_of_val(ops))
        .writer()
        .write_slice(ops.as_bytes())
}
