// SPDX-License-Identifier: GPL-2.0

//! Validation of a submitted operation list, before anything runs (check-then-commit).
//!
//! Every rejection names the operation (`index`), a reason (`kcam_reason`) and the errno the ioctl returns. The
//! errnos, as documented in `include/uapi/linux/kcam.h` and the README:
//!
//! | problem | errno | reason |
//! |---|---|---|
//! | no operation | `EINVAL` | `NO_OPS` |
//! | more than `max_ops` operations | `E2BIG` | `TOO_MANY_OPS` |
//! | unknown submit flag, op flag | `EINVAL` | `BAD_FLAGS` |
//! | reserved field not zero, or an input the opcode does not use set (`fence_fd`: 0 or -1 allowed) | `EINVAL` | `RESERVED_NOT_ZERO` |
//! | unknown opcode | `EINVAL` | `BAD_OPCODE` |
//! | unknown entity | `ENOENT` | `BAD_ENTITY` |
//! | register index out of range | `ENOENT` | `BAD_REG` |
//! | read of a write-only register | `EPERM` | `NOT_READABLE` |
//! | write or update of a read-only register | `EPERM` | `NOT_WRITABLE` |
//! | write value or update mask outside the writable mask | `EPERM` | `OUTSIDE_MASK` |
//! | poll value or mask wider than the register | `EINVAL` | `VALUE_TOO_WIDE` |
//! | dependency on itself or a later operation (so no cycles) | `EINVAL` | `BAD_DEP` |
//! | parameter longer than `max_param_bytes` | `E2BIG` | `PARAM_TOO_LONG` |
//! | parameter empty or null | `EINVAL` | `BAD_PARAM` |
//! | parameter whose end overflows the address space | `EOVERFLOW` | `BAD_PARAM` |
//! | parameter not readable (checked by the kernel, which copies it at submission) | `EFAULT` | `BAD_PARAM` |
//! | event the entity does not emit | `EINVAL` | `BAD_EVENT` |
//! | poll or wait without a timeout | `EINVAL` | `TIMEOUT_REQUIRED` |
//! | `WAIT_FENCE` whose `fence_fd` is negative (or, checked by the kernel, not a sync_file) | `EBADF` | `BAD_FENCE` |
//! | `QUEUE_BUFFER` or `CANCEL_BUFFER` on an entity that writes no buffers | `EINVAL` | `NO_BUFFERS` |
//! | buffer handle 0 or wider than 32 bits (or, checked by the kernel, not one of the file's) | `ENOENT` | `BAD_BUFFER` |
//! | buffer imported for another entity (checked by the kernel) | `EINVAL` | `BAD_BUFFER` |
//!
//! `no_std`, no allocation, no `kernel::` imports: shared by the kernel module and the host crate `tools/kcam`.

use super::uapi::{
    Op, Opcode, Reason, ACCESS_READ, ACCESS_WRITE, EVENT_COUNT, MAX_DEPS, NO_DEP, SUBMIT_ASYNC,
    SUBMIT_FLAGS, SUBMIT_OUT_FENCE,
};

/// The errnos validation can return, as positive numbers (kernel and Linux userspace agree on them).
pub mod errno {
    /// `ENOENT`.
    pub const ENOENT: i32 = 2;
    /// `E2BIG`.
    pub const E2BIG: i32 = 7;
    /// `EPERM`.
    pub const EPERM: i32 = 1;
    /// `EBADF`.
    pub const EBADF: i32 = 9;
    /// `EINVAL`.
    pub const EINVAL: i32 = 22;
    /// `EOVERFLOW`.
    pub const EOVERFLOW: i32 = 75;
    /// `EFAULT`.
    pub const EFAULT: i32 = 14;
}

/// Why a list cannot run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    /// Index of the first offending operation (the list's length for a problem with the list itself).
    pub index: u32,
    /// What is wrong.
    pub reason: Reason,
    /// The errno the ioctl returns, positive.
    pub errno: i32,
}

/// What validation needs to know about an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityInfo {
    /// Registers `0..num_regs`.
    pub num_regs: u32,
    /// Register width in bits (8, 16, 32 or 64).
    pub reg_width: u32,
    /// Bit n: emits event n.
    pub event_mask: u32,
    /// Writes buffers (`QUEUE_BUFFER`, `CANCEL_BUFFER`).
    pub buffers: bool,
}

/// What validation needs to know about a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegInfo {
    /// `ACCESS_READ` / `ACCESS_WRITE`.
    pub access: u32,
    /// Bits a write may change.
    pub writable_mask: u64,
}

/// The camera as validation sees it.
pub trait Topology {
    /// The entity with this id.
    fn entity(&self, id: u32) -> Option<EntityInfo>;
    /// Register `reg` of entity `id` (only called with `reg < num_regs`).
    fn reg(&self, id: u32, reg: u32) -> Option<RegInfo>;
}

/// Limits of a camera (reported by `KCAM_IOC_QUERY_CAPS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most operations in one submission.
    pub max_ops: u32,
    /// Longest parameter buffer of one `XFER_PARAM`.
    pub max_param_bytes: u32,
}

fn reject(index: u32, reason: Reason, errno: i32) -> Result<(), Rejection> {
    Err(Rejection {
        index,
        reason,
        errno,
    })
}

/// Checks a submission's header fields. `reserved_zero` says whether its reserved fields are all zero.
pub fn check_submit(
    flags: u32,
    count: u32,
    reserved_zero: bool,
    limits: &Limits,
) -> Result<(), Rejection> {
    if !reserved_zero {
        return reject(count, Reason::ReservedNotZero, errno::EINVAL);
    }
    if flags & !SUBMIT_FLAGS != 0 || (flags & SUBMIT_OUT_FENCE != 0 && flags & SUBMIT_ASYNC == 0) {
        return reject(count, Reason::BadFlags, errno::EINVAL);
    }
    if count == 0 {
        return reject(count, Reason::NoOps, errno::EINVAL);
    }
    if count > limits.max_ops {
        return reject(count, Reason::TooManyOps, errno::E2BIG);
    }
    Ok(())
}

/// Mask of a register `width` bits wide.
fn width_mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

/// The inputs an opcode uses, beyond `deps` and `flags`, which every opcode has. The others must be 0
/// (`fence_fd`: 0 or -1, both "no fence"), so that a later API version can give them a meaning without old
/// programs' leftovers changing behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inputs {
    /// `entity_id`.
    pub entity: bool,
    /// `reg`.
    pub reg: bool,
    /// `value`.
    pub value: bool,
    /// `mask`.
    pub mask: bool,
    /// `param_ptr` and `param_len`.
    pub param: bool,
    /// `event`.
    pub event: bool,
    /// `fence_fd`.
    pub fence: bool,
    /// `timeout_ns`.
    pub timeout: bool,
}

/// What `opcode` reads of an operation.
pub fn inputs(opcode: Opcode) -> Inputs {
    use Opcode::*;
    Inputs {
        entity: !matches!(opcode, Nop | WaitOp | WaitFence | Delay),
        reg: matches!(opcode, Read | Write | Update | Poll),
        value: matches!(opcode, Write | Update | Poll | QueueBuffer | CancelBuffer),
        mask: matches!(opcode, Update | Poll),
        param: opcode == XferParam,
        event: opcode == WaitEvent,
        fence: opcode == WaitFence,
        timeout: matches!(opcode, Poll | WaitEvent | WaitFence | Delay),
    }
}

/// Whether `op` sets an input its opcode does not use.
fn unused_input_set(opcode: Opcode, op: &Op) -> bool {
    let u = inputs(opcode);
    (!u.entity && op.entity_id != 0)
        || (!u.reg && op.reg != 0)
        || (!u.value && op.value != 0)
        || (!u.mask && op.mask != 0)
        || (!u.param && (op.param_ptr != 0 || op.param_len != 0))
        || (!u.event && op.event != 0)
        || (!u.fence && op.fence_fd != 0 && op.fence_fd != -1)
        || (!u.timeout && op.timeout_ns != 0)
}

/// Clears the inputs `op`'s opcode does not use (`fence_fd` to -1); an unknown opcode is left as it is.
pub fn clear_unused_inputs(op: &mut Op) {
    let Some(opcode) = Opcode::from_raw(op.opcode) else {
        return;
    };
    let u = inputs(opcode);
    if !u.entity {
        op.entity_id = 0;
    }
    if !u.reg {
        op.reg = 0;
    }
    if !u.value {
        op.value = 0;
    }
    if !u.mask {
        op.mask = 0;
    }
    if !u.param {
        op.param_ptr = 0;
        op.param_len = 0;
    }
    if !u.event {
        op.event = 0;
    }
    if !u.fence {
        op.fence_fd = -1;
    }
    if !u.timeout {
        op.timeout_ns = 0;
    }
}

/// The handle of a `QUEUE_BUFFER` or `CANCEL_BUFFER` operation that passed [`check_op`].
pub fn buffer_handle(op: &Op) -> u32 {
    // CAST: `check_op` refused values wider than 32 bits.
    op.value as u32
}

/// Checks operation `index` of a list, given the camera's topology and limits. Operations are checked in order,
/// so the first failing call names the first offending operation.
pub fn check_op(
    index: u32,
    op: &Op,
    topo: &impl Topology,
    limits: &Limits,
) -> Result<(), Rejection> {
    let i = index;
    if op.reserved0 != 0 || op.reserved1 != 0 || op.result != 0 || op.status != 0 {
        return reject(i, Reason::ReservedNotZero, errno::EINVAL);
    }
    if op.flags != 0 {
        return reject(i, Reason::BadFlags, errno::EINVAL);
    }
    let Some(opcode) = Opcode::from_raw(op.opcode) else {
        return reject(i, Reason::BadOpcode, errno::EINVAL);
    };
    if unused_input_set(opcode, op) {
        return reject(i, Reason::ReservedNotZero, errno::EINVAL);
    }
    for d in &op.deps[..MAX_DEPS] {
        if *d != NO_DEP && *d >= index {
            return reject(i, Reason::BadDep, errno::EINVAL);
        }
    }
    let entity = if inputs(opcode).entity {
        match topo.entity(op.entity_id) {
            Some(e) => Some(e),
            None => return reject(i, Reason::BadEntity, errno::ENOENT),
        }
    } else {
        None
    };
    let reg = match (opcode, entity) {
        (Opcode::Read | Opcode::Write | Opcode::Update | Opcode::Poll, Some(e)) => {
            if op.reg >= e.num_regs {
                return reject(i, Reason::BadReg, errno::ENOENT);
            }
            match topo.reg(op.entity_id, op.reg) {
                Some(r) => Some((e, r)),
                None => return reject(i, Reason::BadReg, errno::ENOENT),
            }
        }
        _ => None,
    };
    match (opcode, reg) {
        (Opcode::Read | Opcode::Poll, Some((e, r))) => {
            if r.access & ACCESS_READ == 0 {
                return reject(i, Reason::NotReadable, errno::EPERM);
            }
            if opcode == Opcode::Poll {
                let w = width_mask(e.reg_width);
                if op.value & !w != 0 || op.mask & !w != 0 || op.value & !op.mask != 0 {
                    return reject(i, Reason::ValueTooWide, errno::EINVAL);
                }
                if op.timeout_ns == 0 {
                    return reject(i, Reason::TimeoutRequired, errno::EINVAL);
                }
            }
        }
        (Opcode::Write, Some((_, r))) => {
            if r.access & ACCESS_WRITE == 0 {
                return reject(i, Reason::NotWritable, errno::EPERM);
            }
            if op.value & !r.writable_mask != 0 {
                return reject(i, Reason::OutsideMask, errno::EPERM);
            }
        }
        (Opcode::Update, Some((_, r))) => {
            if r.access & ACCESS_WRITE == 0 {
                return reject(i, Reason::NotWritable, errno::EPERM);
            }
            if op.mask & !r.writable_mask != 0 || op.value & !op.mask != 0 {
                return reject(i, Reason::OutsideMask, errno::EPERM);
            }
        }
        (Opcode::XferParam, _) => {
            if op.param_len == 0 || op.param_ptr == 0 {
                return reject(i, Reason::BadParam, errno::EINVAL);
            }
            if op.param_ptr.checked_add(u64::from(op.param_len)).is_none() {
                return reject(i, Reason::BadParam, errno::EOVERFLOW);
            }
            if op.param_len > limits.max_param_bytes {
                return reject(i, Reason::ParamTooLong, errno::E2BIG);
            }
        }
        (Opcode::WaitEvent, _) => {
            let mask = entity.map_or(0, |e| e.event_mask);
            if op.event >= EVENT_COUNT || mask & (1 << op.event) == 0 {
                return reject(i, Reason::BadEvent, errno::EINVAL);
            }
            if op.timeout_ns == 0 {
                return reject(i, Reason::TimeoutRequired, errno::EINVAL);
            }
        }
        (Opcode::QueueBuffer | Opcode::CancelBuffer, _) => {
            if !entity.is_some_and(|e| e.buffers) {
                return reject(i, Reason::NoBuffers, errno::EINVAL);
            }
            if op.value == 0 || op.value > u64::from(u32::MAX) {
                return reject(i, Reason::BadBuffer, errno::ENOENT);
            }
        }
        (Opcode::WaitFence, _) => {
            if op.fence_fd < 0 {
                return reject(i, Reason::BadFence, errno::EBADF);
            }
            if op.timeout_ns == 0 {
                return reject(i, Reason::TimeoutRequired, errno::EINVAL);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether operation `index` must be skipped (`-ECANCELED`) because one of its dependencies did not succeed.
/// `ok(j)` says whether earlier operation `j` succeeded; cancellation thus propagates down dependency chains.
pub fn cancelled(op: &Op, ok: impl Fn(u32) -> bool) -> bool {
    op.deps.iter().any(|&d| d != NO_DEP && !ok(d))
}
