// SPDX-License-Identifier: GPL-2.0

//! The KCAM core: a camera is a tree of entities, each with one register set, and operation lists run against it.
//!
//! A driver describes its hardware with static [`EntitySpec`]s and provides register accessors through
//! [`Backend`]; the core validates lists with the shared validator (`shared/validate.rs`) and runs them.

use crate::{
    buffer::Buffer,
    events::EventHub,
    limits::Limits,
    shared::{
        uapi::{self, Op, Opcode},
        validate::{self, EntityInfo, RegInfo, Topology},
    },
};
use crate::{fence::Fence, fence::FenceStatus, glue, waker::Sleep, waker::Waker};
use core::cell::Cell;
use kernel::sync::{
    atomic::{Atomic, Relaxed},
    Arc,
};
use kernel::{
    prelude::*,
    time::{Instant, Monotonic},
};

/// One register of an entity.
pub(crate) struct RegSpec {
    pub(crate) name: &'static CStr,
    pub(crate) access: u32,
    pub(crate) writable_mask: u64,
    pub(crate) reset: u64,
}

/// One entity of a camera.
pub(crate) struct EntitySpec {
    /// Ids start at 1 and are unique in a camera.
    pub(crate) id: u32,
    /// 0 for the root; otherwise an entity listed earlier.
    pub(crate) parent: u32,
    pub(crate) type_: uapi::EntityType,
    pub(crate) name: &'static CStr,
    /// Register width in bits.
    pub(crate) reg_width: u32,
    pub(crate) regs: &'static [RegSpec],
    /// Bit n: emits event n.
    pub(crate) events: u32,
    /// Writes buffers (`KCAM_ENTITY_FLAG_BUFFERS`): the driver implements the buffer methods of [`Backend`] for it.
    pub(crate) buffers: bool,
}

/// What a running list answers to: cancellation (reset, removal, close, a signal to a synchronous submitter), a
/// signal to the task running it (the submitter itself on the direct path), the access watchdog, and the data it
/// brought along (in-fences of `WAIT_FENCE`, parameter buffers of `XFER_PARAM`, the buffers of `QUEUE_BUFFER` and
/// `CANCEL_BUFFER`, all taken at submission).
pub(crate) struct RunCtx<'a> {
    pub(crate) waker: &'a Arc<Waker>,
    /// 0, or the negative errno the list is cancelled with; changes are followed by a kick of `waker`.
    pub(crate) cancel: &'a Atomic<i32>,
    /// `(op index, fence)` of the list's `WAIT_FENCE` operations, in op order.
    pub(crate) fences: &'a [(u32, Fence)],
    /// `(op index, bytes)` of the list's `XFER_PARAM` operations, in op order.
    pub(crate) params: &'a [(u32, KVVec<u8>)],
    /// `(op index, buffer)` of the list's `QUEUE_BUFFER` and `CANCEL_BUFFER` operations, in op order.
    pub(crate) buffers: &'a [(u32, Arc<Buffer>)],
    /// Longest register access or parameter transfer (the watchdog; see [`Access`]).
    pub(crate) access_timeout_ns: u64,
    /// Set when an access outlived `access_timeout_ns`: the device hangs, the list ends.
    pub(crate) hung: Cell<bool>,
}

impl<'a> RunCtx<'a> {
    /// A context for a list of no fences and no parameters (tests, single accesses).
    pub(crate) fn bare(
        waker: &'a Arc<Waker>,
        cancel: &'a Atomic<i32>,
        access_timeout_ns: u64,
    ) -> Self {
        Self {
            waker,
            cancel,
            fences: &[],
            params: &[],
            buffers: &[],
            access_timeout_ns,
            hung: Cell::new(false),
        }
    }

    /// `Err` once the list is cancelled (its error), or when the running task has a signal pending (`EINTR`): a
    /// synchronous submitter running its own list can always be interrupted or killed. (A worker never gets
    /// signals; a submitter waiting for the worker cancels its list itself.)
    pub(crate) fn check(&self) -> Result {
        match self.cancel.load(Relaxed) {
            0 if kernel::current!().signal_pending() => Err(EINTR),
            0 => Ok(()),
            e => Err(Error::from_errno(e)),
        }
    }

    /// For waits: `Some(Err)` once cancelled or signalled.
    pub(crate) fn cancelled<T>(&self) -> Option<Result<T>> {
        self.check().err().map(Err)
    }

    /// Sleeps `ns`, in slices of at most [`CANCEL_SLICE_NS`] so that cancellation is noticed quickly; a signal
    /// ends a slice at once.
    pub(crate) fn sleep(&self, ns: u64) -> Result {
        let mut left = ns;
        while left > 0 {
            self.check()?;
            let slice = left.min(CANCEL_SLICE_NS);
            glue::sleep_interruptible(slice);
            left -= slice;
        }
        self.check()
    }

    /// Starts the watchdog of one register access or parameter transfer.
    pub(crate) fn access(&self) -> Access<'_, 'a> {
        Access {
            cx: self,
            start: Instant::now(),
        }
    }
}

/// Longest uninterrupted sleep of a `DELAY` or between `POLL` reads.
const CANCEL_SLICE_NS: u64 = 1_000_000;

/// One register access or parameter transfer of a backend, under the watchdog: whatever it waits for (a busy
/// device, an injected hang or slowness) it waits through these, which give up with `ETIMEDOUT` once the access
/// took `access_timeout_ns`, and mark the device hung so that the list ends (every fence signals in bounded time).
pub(crate) struct Access<'c, 'a> {
    cx: &'c RunCtx<'a>,
    start: Instant<Monotonic>,
}

impl Access<'_, '_> {
    /// Time left before the watchdog fires; `ETIMEDOUT` (and the device marked hung) once it has.
    fn left(&self) -> Result<u64> {
        let spent = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(0);
        match self.cx.access_timeout_ns.checked_sub(spent) {
            Some(left) if left > 0 => Ok(left),
            _ => {
                self.cx.hung.set(true);
                Err(ETIMEDOUT)
            }
        }
    }

    /// Waits until `cond` gives `Some`, unless the list is cancelled or the watchdog fires.
    pub(crate) fn wait_until(&self, mut cond: impl FnMut() -> Option<Result>) -> Result {
        loop {
            let left = self.left()?;
            match self.cx.waker.wait_until(Sleep::Interruptible(left), || {
                self.cx.cancelled().or_else(&mut cond)
            }) {
                // The wait counts in jiffies: go on until the watchdog's own clock says the time is up.
                Err(e) if e == ETIMEDOUT => continue,
                r => return r,
            }
        }
    }

    /// Sleeps `ns` (a slow device), or until the watchdog fires.
    pub(crate) fn sleep(&self, ns: u64) -> Result {
        let left = self.left()?;
        self.cx.sleep(ns.min(left))?;
        self.left().map(|_| ())
    }
}

/// Register access supplied by a camera driver. Accessors that can block (a slow or hung device) do so only
/// through [`RunCtx::access`], so that cancellation, signals and the watchdog end them.
pub(crate) trait Backend: Send + Sync {
    /// Reads register `reg` of entity `idx` (index into the camera's entity list).
    fn read(&self, cx: &RunCtx<'_>, idx: usize, reg: u32) -> Result<u64>;
    /// Sets the bits of `mask` in register `reg` of entity `idx` to those of `value`, keeping the other bits
    /// (a read-modify-write for memory-like registers, a shadow for write-only ones); returns the new value.
    fn update(&self, cx: &RunCtx<'_>, idx: usize, reg: u32, mask: u64, value: u64) -> Result<u64>;
    /// Takes a parameter buffer for entity `idx`.
    fn xfer_param(&self, cx: &RunCtx<'_>, idx: usize, data: &[u8]) -> Result;
    /// Puts the hardware back to its reset state (`KCAM_IOC_RESET`); no list runs meanwhile.
    fn reset(&self);
    /// Stops everything of the driver's that could still call into the camera (timers, work) and lets go of every
    /// buffer: the camera is being unregistered.
    fn shutdown(&self);
    /// Bytes a buffer of entity `idx` must have now (its frame size), or `None` if it writes no buffers.
    fn buffer_size(&self, _idx: usize) -> Option<usize> {
        None
    }
    /// Queues `buf`, imported for entity `idx`, for a coming frame; returns the buffers queued on the entity.
    /// Refuses a buffer [`Buffer::is_released`] (checked under the queue's lock, `ENOENT`), one too small for the
    /// frame (`ENOSPC`), one queued already (`EALREADY`), or a full queue (`EBUSY`). The driver announces the
    /// written buffer with `BUFFER_DONE` to its file (`EventHub::emit_to`).
    fn queue_buffer(&self, _cx: &RunCtx<'_>, _idx: usize, _buf: &Arc<Buffer>) -> Result<u64> {
        Err(EINVAL)
    }
    /// Takes back every queued buffer `which` selects, without `BUFFER_DONE`; when it returns, none of them is
    /// being written or will be. Returns whether any was queued.
    fn cancel_buffers(&self, _which: &dyn Fn(&Buffer) -> bool) -> bool {
        false
    }
}

/// What a driver gets from the core to build its backend: where to emit events, what to kick when a blocked
/// access may go on; and the limits the camera will have.
pub(crate) struct CameraCtx {
    pub(crate) events: Arc<EventHub>,
    pub(crate) waker: Arc<Waker>,
    pub(crate) limits: Limits,
}

impl CameraCtx {
    /// For a camera of `entities` entities with `limits`.
    pub(crate) fn new(entities: usize, limits: Limits) -> Result<Self> {
        let waker = Waker::new()?;
        let events = EventHub::new(entities, limits.max_subscribers, waker.clone())?;
        Ok(Self {
            events,
            waker,
            limits,
        })
    }
}

/// A camera: its topology, limits and backend.
pub(crate) struct Camera {
    pub(crate) entities: &'static [EntitySpec],
    pub(crate) limits: validate::Limits,
    pub(crate) backend: KBox<dyn Backend>,
    pub(crate) events: Arc<EventHub>,
    pub(crate) waker: Arc<Waker>,
}

impl Topology for Camera {
    fn entity(&self, id: u32) -> Option<EntityInfo> {
        let e = self.spec(id)?;
        // CAST: a driver's register list is short (static table).
        Some(EntityInfo {
            num_regs: e.regs.len() as u32,
            reg_width: e.reg_width,
            event_mask: e.events,
            buffers: e.buffers,
        })
    }

    fn reg(&self, id: u32, reg: u32) -> Option<RegInfo> {
        let e = self.spec(id)?;
        let r = e.regs.get(reg as usize)?;
        Some(RegInfo {
            access: r.access,
            writable_mask: r.writable_mask,
        })
    }
}

/// `POLL` re-reads at this interval.
const POLL_INTERVAL_NS: u64 = 100_000;
/// Longest `DELAY` or wait of one operation, so that a list cannot hold the camera for long.
pub(crate) const MAX_WAIT_NS: u64 = 5_000_000_000;

impl Camera {
    /// The index of entity `id` in `entities` (`ENOENT` if there is none).
    pub(crate) fn index_of(&self, id: u32) -> Result<usize> {
        self.entities.iter().position(|e| e.id == id).ok_or(ENOENT)
    }

    /// The entity `id`.
    pub(crate) fn spec(&self, id: u32) -> Option<&EntitySpec> {
        self.entities.iter().find(|e| e.id == id)
    }

    /// Validates a whole list; nothing runs if any operation is rejected.
    pub(crate) fn validate(&self, ops: &[Op]) -> Result<(), validate::Rejection> {
        for (i, op) in ops.iter().enumerate() {
            // CAST: `ops.len()` <= `max_ops`, a u32.
            validate::check_op(i as u32, op, self, &self.limits)?;
            if op.timeout_ns > MAX_WAIT_NS {
                return Err(validate::Rejection {
                    index: i as u32,
                    reason: uapi::Reason::TimeoutRequired,
                    errno: ERANGE.to_errno().abs(),
                });
            }
        }
        Ok(())
    }

    /// Runs a validated list in order, writing each operation's `result` and `status`. An operation whose
    /// dependency did not succeed, or that comes after the list was cancelled, is not run (`-ECANCELED`); the
    /// operation running when the list is cancelled gets the cancellation's error. Returns the index of the first
    /// failed operation.
    pub(crate) fn run(&self, cx: &RunCtx<'_>, ops: &mut [Op]) -> Option<usize> {
        let mut first_failed = None;
        for i in 0..ops.len() {
            let op = ops[i];
            let skip = cx.check().is_err()
                || validate::cancelled(&op, |j| ops.get(j as usize).is_some_and(|o| o.status == 0));
            let status = if skip {
                Err(ECANCELED)
            } else {
                // CAST: `i` < `count`, a u32.
                self.run_one(cx, i as u32, &op)
                    .map(|result| ops[i].result = result)
            };
            ops[i].status = status.err().map_or(0, |e| e.to_errno());
            if ops[i].status == EINTR.to_errno() {
                // A signal to the submitter stops the whole list (as a cancellation does).
                let _ = cx.cancel.cmpxchg(0, EINTR.to_errno(), Relaxed);
            }
            if cx.hung.get() {
                // The watchdog fired: the device does not answer, the rest of the list is cancelled.
                let _ = cx.cancel.cmpxchg(0, ETIMEDOUT.to_errno(), Relaxed);
            }
            if ops[i].status != 0 && first_failed.is_none() {
                first_failed = Some(i);
            }
        }
        first_failed
    }

    fn run_one(&self, cx: &RunCtx<'_>, index: u32, op: &Op) -> Result<u64> {
        let opcode = Opcode::from_raw(op.opcode).ok_or(EINVAL)?;
        match opcode {
            Opcode::Nop | Opcode::WaitOp => Ok(0),
            Opcode::Read => self.backend.read(cx, self.index_of(op.entity_id)?, op.reg),
            Opcode::Write | Opcode::Update => {
                let idx = self.index_of(op.entity_id)?;
                let spec = self.entities[idx].regs.get(op.reg as usize).ok_or(ENOENT)?;
                // Only writable bits change; WRITE covers all of them, UPDATE those in `mask`.
                let mask = if opcode == Opcode::Write {
                    spec.writable_mask
                } else {
                    op.mask
                };
                self.backend.update(cx, idx, op.reg, mask, op.value)
            }
            Opcode::Poll => {
                let idx = self.index_of(op.entity_id)?;
                let start = kernel::time::Instant::<kernel::time::Monotonic>::now();
                loop {
                    let v = self.backend.read(cx, idx, op.reg)?;
                    if v & op.mask == op.value {
                        return Ok(v);
                    }
                    // TIMEOUT: bounded by the op's timeout, itself at most MAX_WAIT_NS.
                    if start.elapsed().as_nanos() >= op.timeout_ns as i64 {
                        return Err(ETIMEDOUT);
                    }
                    cx.sleep(POLL_INTERVAL_NS)?;
                }
            }
            Opcode::XferParam => {
                let idx = self.index_of(op.entity_id)?;
                // Copied at submission (`list.rs`): user memory is never touched here.
                let data = cx
                    .params
                    .iter()
                    .find(|(i, _)| *i == index)
                    .map(|(_, d)| d)
                    .ok_or(EINVAL)?;
                self.backend.xfer_param(cx, idx, data)?;
                Ok(u64::from(op.param_len))
            }
            Opcode::Delay => cx.sleep(op.timeout_ns).map(|()| 0),
            Opcode::WaitEvent => {
                self.events
                    .wait(cx, self.index_of(op.entity_id)?, op.event, op.timeout_ns)?;
                Ok(0)
            }
            Opcode::QueueBuffer | Opcode::CancelBuffer => {
                let idx = self.index_of(op.entity_id)?;
                // Taken at submission (`list.rs`), which checked it is this file's and of this entity.
                let buf = cx
                    .buffers
                    .iter()
                    .find(|(i, _)| *i == index)
                    .map(|(_, b)| b)
                    .ok_or(ENOENT)?;
                if opcode == Opcode::QueueBuffer {
                    self.backend.queue_buffer(cx, idx, buf)
                } else {
                    let queued = self.backend.cancel_buffers(&|b| core::ptr::eq(b, &**buf));
                    Ok(u64::from(queued))
                }
            }
            Opcode::WaitFence => {
                let fence = cx
                    .fences
                    .iter()
                    .find(|(i, _)| *i == index)
                    .map(|(_, f)| f)
                    .ok_or(EBADF)?;
                let _watch = fence.watch(cx.waker)?;
                self.waker
                    .wait_until(Sleep::Interruptible(op.timeout_ns), || {
                        cx.cancelled().or(match fence.status() {
                            FenceStatus::Pending => None,
                            FenceStatus::Signalled => Some(Ok(0)),
                            // The op fails as the work it waited for did.
                            FenceStatus::Failed(e) => Some(Err(e)),
                        })
                    })
            }
        }
    }
}
