// SPDX-License-Identifier: GPL-2.0

//! The KCAM core: a camera is a tree of entities, each with one register set, and operation lists run against it.
//!
//! A driver describes its hardware with static [`EntitySpec`]s and provides register accessors through
//! [`Backend`]; the core validates lists with the shared validator (`shared/validate.rs`) and runs them.

use crate::{
    events::EventHub,
    shared::{
        uapi::{self, Op, Opcode},
        validate::{self, EntityInfo, Limits, RegInfo, Topology},
    },
};
use kernel::sync::Arc;
use kernel::{prelude::*, time::delay::fsleep, time::Delta, uaccess::UserPtr, uaccess::UserSlice};

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
}

/// Register access supplied by a camera driver.
pub(crate) trait Backend: Send + Sync {
    /// Reads register `reg` of entity `idx` (index into the camera's entity list).
    fn read(&self, idx: usize, reg: u32) -> Result<u64>;
    /// Writes `value` (already masked to the writable bits, the others kept) to register `reg` of entity `idx`.
    fn write(&self, idx: usize, reg: u32, value: u64) -> Result;
    /// Takes a parameter buffer for entity `idx`.
    fn xfer_param(&self, idx: usize, data: &[u8]) -> Result;
}

/// A camera: its topology, limits and backend.
pub(crate) struct Camera<B: Backend> {
    pub(crate) entities: &'static [EntitySpec],
    pub(crate) limits: Limits,
    pub(crate) backend: B,
    pub(crate) events: Arc<EventHub>,
}

impl<B: Backend> Topology for Camera<B> {
    fn entity(&self, id: u32) -> Option<EntityInfo> {
        let e = self.entities.iter().find(|e| e.id == id)?;
        // CAST: a driver's register list is short (static table).
        Some(EntityInfo {
            num_regs: e.regs.len() as u32,
            reg_width: e.reg_width,
            event_mask: e.events,
        })
    }

    fn reg(&self, id: u32, reg: u32) -> Option<RegInfo> {
        let e = self.entities.iter().find(|e| e.id == id)?;
        let r = e.regs.get(reg as usize)?;
        Some(RegInfo {
            access: r.access,
            writable_mask: r.writable_mask,
        })
    }
}

/// Timeouts are capped so a list cannot hold a file for long; `POLL` re-reads at this interval.
const POLL_INTERVAL_US: i64 = 100;
/// Longest `DELAY` or wait of one operation.
pub(crate) const MAX_WAIT_NS: u64 = 5_000_000_000;

impl<B: Backend> Camera<B> {
    fn index_of(&self, id: u32) -> Result<usize> {
        self.entities.iter().position(|e| e.id == id).ok_or(ENOENT)
    }

    /// Validates a whole list; nothing runs if any operation is rejected.
    pub(crate) fn validate(&self, ops: &[Op]) -> Result<(), validate::Rejection> {
        for (i, op) in ops.iter().enumerate() {
            // CAST: `ops.len()` <= `max_ops`, a u32.
            validate::check_op(i as u32, op, self, &self.limits)?;
            if Opcode::from_raw(op.opcode) == Some(Opcode::WaitFence) {
                // Not implemented yet: refuse rather than pretend.
                return Err(validate::Rejection {
                    index: i as u32,
                    reason: uapi::Reason::BadOpcode,
                    errno: EOPNOTSUPP.to_errno().abs(),
                });
            }
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
    /// dependency did not succeed is not run (`-ECANCELED`). Returns the index of the first failed operation.
    pub(crate) fn run(&self, ops: &mut [Op]) -> Option<usize> {
        let mut first_failed = None;
        for i in 0..ops.len() {
            let op = ops[i];
            let status =
                if validate::cancelled(&op, |j| ops.get(j as usize).is_some_and(|o| o.status == 0))
                {
                    Err(ECANCELED)
                } else {
                    self.run_one(&op).map(|result| ops[i].result = result)
                };
            ops[i].status = status.err().map_or(0, |e| e.to_errno());
            if ops[i].status != 0 && first_failed.is_none() {
                first_failed = Some(i);
            }
        }
        first_failed
    }

    fn run_one(&self, op: &Op) -> Result<u64> {
        let opcode = Opcode::from_raw(op.opcode).ok_or(EINVAL)?;
        match opcode {
            Opcode::Nop | Opcode::WaitOp => Ok(0),
            Opcode::Read => self.backend.read(self.index_of(op.entity_id)?, op.reg),
            Opcode::Write | Opcode::Update => {
                let idx = self.index_of(op.entity_id)?;
                let spec = self.entities[idx].regs.get(op.reg as usize).ok_or(ENOENT)?;
                // Only writable bits change; WRITE covers all of them, UPDATE those in `mask`.
                let mask = if opcode == Opcode::Write {
                    spec.writable_mask
                } else {
                    op.mask
                };
                let old = self.backend.read(idx, op.reg).unwrap_or(spec.reset);
                let new = (old & !mask) | (op.value & mask);
                self.backend.write(idx, op.reg, new)?;
                Ok(new)
            }
            Opcode::Poll => {
                let idx = self.index_of(op.entity_id)?;
                let start = kernel::time::Instant::<kernel::time::Monotonic>::now();
                loop {
                    let v = self.backend.read(idx, op.reg)?;
                    if v & op.mask == op.value {
                        return Ok(v);
                    }
                    // TIMEOUT: bounded by the op's timeout, itself at most MAX_WAIT_NS.
                    if start.elapsed().as_nanos() >= op.timeout_ns as i64 {
                        return Err(ETIMEDOUT);
                    }
                    fsleep(Delta::from_micros(POLL_INTERVAL_US));
                }
            }
            Opcode::XferParam => {
                let idx = self.index_of(op.entity_id)?;
                let len = op.param_len as usize;
                let mut buf = KVec::from_elem(0u8, len, GFP_KERNEL)?;
                let ptr = UserPtr::from_addr(usize::try_from(op.param_ptr).map_err(|_| EFAULT)?);
                UserSlice::new(ptr, len).reader().read_slice(&mut buf)?;
                self.backend.xfer_param(idx, &buf)?;
                Ok(u64::from(op.param_len))
            }
            Opcode::Delay => {
                fsleep(Delta::from_nanos(op.timeout_ns as i64));
                Ok(0)
            }
            Opcode::WaitEvent => {
                self.events
                    .wait(self.index_of(op.entity_id)?, op.event, op.timeout_ns)?;
                Ok(0)
            }
            Opcode::WaitFence => Err(EOPNOTSUPP),
        }
    }
}
