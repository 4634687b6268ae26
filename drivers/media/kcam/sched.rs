// SPDX-License-Identifier: GPL-2.0

//! Submissions of a camera: every list that runs (synchronous or asynchronous) becomes a [`Job`] in one FIFO
//! per camera, run one at a time, in submission (sequence number) order, by the camera's work item.
//!
//! Cancellation (`KCAM_IOC_RESET`, surprise removal, closing the submitting file, a signal to a synchronous
//! submitter) never waits behind other work: queued jobs are taken off the queue and finished at once with every
//! op `-ECANCELED` (so a cancelled job's fence may signal before an earlier job's); the running job is told and
//! stops at its next op or wait.

use crate::{
    fence::Fence,
    shared::uapi::Op,
    waker::{Sleep, Waker},
};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, Mutex,
    },
};

/// The mutable part of a job: the list, its in-fences and, once run, where it failed.
pub(crate) struct JobData {
    pub(crate) ops: KVVec<Op>,
    /// `(op index, fence)` of the `WAIT_FENCE` operations.
    pub(crate) fences: KVec<(u32, Fence)>,
    /// Index of the first failed op, once done.
    pub(crate) failed: Option<usize>,
}

/// One submitted list.
#[pin_data]
pub(crate) struct Job {
    pub(crate) seqno: u64,
    /// The submitting file's id.
    pub(crate) owner: u64,
    /// The submitter's `ops_ptr`: results are written back there.
    pub(crate) ops_ptr: u64,
    /// 0, or the negative errno the job is cancelled with.
    pub(crate) cancel: Atomic<i32>,
    /// Set once `data` holds the results; never cleared.
    done: Atomic<bool>,
    #[pin]
    pub(crate) data: Mutex<JobData>,
    /// Signalled when the job is done, with the first failed op's status.
    out_fence: Option<Fence>,
}

impl Job {
    pub(crate) fn new(
        seqno: u64,
        owner: u64,
        ops_ptr: u64,
        data: JobData,
        out_fence: Option<Fence>,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                seqno,
                owner,
                ops_ptr,
                cancel: Atomic::new(0),
                done: Atomic::new(false),
                data <- new_mutex!(data, "Job::data"),
                out_fence,
            }),
            GFP_KERNEL,
        )
    }

    pub(crate) fn is_done(&self) -> bool {
        self.done.load(kernel::sync::atomic::Acquire)
    }

    /// Asks the job to stop with `err`; the first cancellation wins.
    pub(crate) fn cancel(&self, err: Error, waker: &Waker) {
        let _ = self.cancel.cmpxchg(0, err.to_errno(), Relaxed);
        waker.kick();
    }

    /// Marks the job done (its `data` holds the results) and signals its fence.
    pub(crate) fn finish(&self, waker: &Waker) {
        let first_status = {
            let d = self.data.lock();
            d.failed.and_then(|i| d.ops.get(i)).map(|op| op.status)
        };
        if let Some(f) = &self.out_fence {
            f.signal(first_status.map(Error::from_errno));
        }
        self.done.store(true, kernel::sync::atomic::Release);
        waker.kick();
    }

    /// Finishes a job that never ran: every op `-ECANCELED`.
    pub(crate) fn finish_unrun(&self, waker: &Waker) {
        {
            let mut d = self.data.lock();
            for op in d.ops.iter_mut() {
                op.status = ECANCELED.to_errno();
            }
            d.failed = (!d.ops.is_empty()).then_some(0);
        }
        self.finish(waker);
    }

    /// Waits until the job is done: interruptibly for at most `timeout_ns` (`ETIMEDOUT`, `EINTR`), or, with
    /// `None`, uninterruptibly (only for a job that is cancelled, so sure to end soon).
    pub(crate) fn wait(&self, waker: &Waker, timeout_ns: Option<u64>) -> Result {
        let sleep = timeout_ns.map_or(Sleep::Uninterruptible, Sleep::Interruptible);
        waker.wait_until(sleep, || self.is_done().then_some(Ok(())))
    }
}

/// The FIFO of a camera.
pub(crate) struct Queue {
    /// Not yet started, in seqno order.
    pub(crate) queued: KVec<Arc<Job>>,
    pub(crate) running: Option<Arc<Job>>,
    /// A synchronous list that its submitter runs itself, because the camera was idle (no job, no hop through
    /// the worker): the submitting file's id.
    pub(crate) direct: Option<u64>,
    /// The last seqno given out.
    pub(crate) last_seqno: u64,
}

impl Queue {
    pub(crate) const fn new() -> Self {
        Self {
            queued: KVec::new(),
            running: None,
            direct: None,
            last_seqno: 0,
        }
    }

    /// Whether nothing runs or waits, so that a synchronous list may run directly.
    pub(crate) fn idle(&self) -> bool {
        self.queued.is_empty()
            && self.direct.is_none()
            && self.running.as_ref().is_none_or(|j| j.is_done())
    }

    /// Takes the queued jobs of the files `which` selects off the queue and tells a running one (a job, or a
    /// direct list through `direct_cancel`) to stop with `err`. Returns the jobs taken (to be finished with
    /// [`Job::finish_unrun`] outside the queue's lock) and the running job if it was selected.
    pub(crate) fn cancel(
        &mut self,
        which: impl Fn(u64) -> bool,
        err: Error,
        waker: &Waker,
        direct_cancel: &Atomic<i32>,
    ) -> (KVec<Arc<Job>>, Option<Arc<Job>>) {
        if self.direct.is_some_and(&which) {
            let _ = direct_cancel.cmpxchg(0, err.to_errno(), Relaxed);
            waker.kick();
        }
        let which = |j: &Job| which(j.owner);
        // Reserved up front so that taking jobs off cannot fail half-way. Without memory, the selected jobs stay
        // queued, cancelled: the worker then finishes them without running an op.
        let mut taken = KVec::with_capacity(self.queued.len(), GFP_KERNEL).ok();
        for job in self.queued.iter().filter(|j| which(j)) {
            job.cancel(err, waker);
        }
        if let Some(taken) = &mut taken {
            self.queued.retain(|j| {
                if which(j) {
                    // Within the reserved capacity.
                    let _ = taken.push_within_capacity(j.clone());
                    false
                } else {
                    true
                }
            });
        }
        let taken = taken.unwrap_or_else(KVec::new);
        let running = self.running.clone().filter(|j| which(j) && !j.is_done());
        if let Some(j) = &running {
            j.cancel(err, waker);
        }
        (taken, running)
    }
}
