// SPDX-License-Identifier: GPL-2.0

//! What one camera lets its users hold, all files together, and the accounting that enforces it.
//!
//! Per-file limits (`max_pending`) alone do not bound a camera: more files lift them. So each camera also counts
//! the lists in flight ([`Budget::take_list`], `-ENOSPC` beyond `max_lists`) and the parameter bytes held for lists
//! not yet run ([`Budget::take_param_bytes`], `-ENOBUFS` beyond `max_queued_param_bytes`) and the imported buffers
//! ([`Budget::take_buffer`], `-ENFILE` beyond `max_buffers`; each file has at most `MAX_FILE_BUFFERS`, `-EMFILE`);
//! the event hub bounds its subscribers (`-EUSERS`). What a list holds is allocated with `GFP_KERNEL_ACCOUNT`, so it is charged to the
//! submitter's memory cgroup. The values are module parameters of `kcam.ko`, reported by `KCAM_IOC_QUERY_CAPS`.

use kernel::{
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc,
    },
};

/// A camera's limits (see the module documentation).
#[derive(Clone, Copy)]
pub(crate) struct Limits {
    /// Lists in flight per camera: submitted and not yet waited for (asynchronous) or returned (synchronous).
    pub(crate) max_lists: u32,
    /// Parameter bytes held for lists not yet run.
    pub(crate) max_queued_param_bytes: u32,
    /// Files with event subscriptions.
    pub(crate) max_subscribers: u32,
    /// Imported buffers, all files together.
    pub(crate) max_buffers: u32,
    /// Watchdog of one register access or parameter transfer.
    pub(crate) access_timeout_ns: u64,
}

impl Limits {
    /// Checks module parameter values: every limit at least 1, the watchdog between 1 ms and 60 s.
    pub(crate) fn new(
        max_lists: u32,
        max_queued_param_bytes: u32,
        max_subscribers: u32,
        max_buffers: u32,
        access_timeout_ms: u32,
    ) -> Result<Self> {
        if max_lists == 0
            || max_queued_param_bytes == 0
            || max_subscribers == 0
            || max_buffers == 0
            || !(1..=60_000).contains(&access_timeout_ms)
        {
            return Err(EINVAL);
        }
        Ok(Self {
            max_lists,
            max_queued_param_bytes,
            max_subscribers,
            max_buffers,
            access_timeout_ns: u64::from(access_timeout_ms) * 1_000_000,
        })
    }
}

/// The counters of one camera.
pub(crate) struct Budget {
    lists: Atomic<u32>,
    param_bytes: Atomic<u32>,
    buffers: Atomic<u32>,
    limits: Limits,
}

/// Adds `n` to `counter` unless that goes over `max`.
fn take(counter: &Atomic<u32>, n: u32, max: u32) -> bool {
    let mut cur = counter.load(Relaxed);
    loop {
        let Some(new) = cur.checked_add(n).filter(|v| *v <= max) else {
            return false;
        };
        match counter.cmpxchg(cur, new, Relaxed) {
            Ok(_) => return true,
            Err(now) => cur = now,
        }
    }
}

impl Budget {
    pub(crate) fn new(limits: Limits) -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                lists: Atomic::new(0),
                param_bytes: Atomic::new(0),
                buffers: Atomic::new(0),
                limits,
            },
            GFP_KERNEL,
        )?)
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// One list more in flight, until the returned slot is dropped; `ENOSPC` when the camera is full.
    pub(crate) fn take_list(self: &Arc<Self>) -> Result<ListSlot> {
        if !take(&self.lists, 1, self.limits.max_lists) {
            return Err(ENOSPC);
        }
        Ok(ListSlot(self.clone()))
    }

    /// `n` parameter bytes more held, until the returned value is dropped; `ENOBUFS` over the limit.
    pub(crate) fn take_param_bytes(self: &Arc<Self>, n: u32) -> Result<ParamBytes> {
        if !take(&self.param_bytes, n, self.limits.max_queued_param_bytes) {
            return Err(ENOBUFS);
        }
        Ok(ParamBytes {
            budget: self.clone(),
            n,
        })
    }
}

impl Budget {
    /// One imported buffer more, until the returned slot is dropped; `ENFILE` when the camera has `max_buffers`.
    pub(crate) fn take_buffer(self: &Arc<Self>) -> Result<BufferSlot> {
        if !take(&self.buffers, 1, self.limits.max_buffers) {
            return Err(ENFILE);
        }
        Ok(BufferSlot(self.clone()))
    }
}

/// An imported buffer counted (see [`Budget::take_buffer`]).
pub(crate) struct BufferSlot(Arc<Budget>);

impl Drop for BufferSlot {
    fn drop(&mut self) {
        self.0.buffers.fetch_sub(1, Relaxed);
    }
}

/// A list counted in flight (see [`Budget::take_list`]).
pub(crate) struct ListSlot(Arc<Budget>);

impl Drop for ListSlot {
    fn drop(&mut self) {
        self.0.lists.fetch_sub(1, Relaxed);
    }
}

/// Parameter bytes counted as held (see [`Budget::take_param_bytes`]).
pub(crate) struct ParamBytes {
    budget: Arc<Budget>,
    n: u32,
}

impl Drop for ParamBytes {
    fn drop(&mut self) {
        self.budget.param_bytes.fetch_sub(self.n, Relaxed);
    }
}
