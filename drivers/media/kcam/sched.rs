// SPDX-License-Identifier: GPL-2.0

//! Submissions of a camera: every list that runs (synchronous or asynchronous) becomes a [`Job`] in one FIFO
//! per camera, run one at a time, in submission (sequence number) order, by the camera's work item.
//!
//! Cancellation (`KCAM_IOC_RESET`, surprise removal, closing the submitting file, a signal to a synchronous
//! submitter) never waits behind other work: queued jobs are taken off the queue and finished at once (their
//! first op gets the cancellation's error, the rest `-ECANCELED`); the running job is told and stops at its next
//! op or wait. Their out-fences still signal in seqno order ([`FenceQueue`]).

use crate::{fence::Fence, hook::Hook, limits::ListSlot, list::List, waker::Waker};
use kernel::{
    new_mutex, new_spinlock,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Relaxed, Release},
        Arc, Mutex, SpinLock,
    },
};

/// The mutable part of a job: the list and, once run, where it failed.
pub(crate) struct JobData {
    pub(crate) list: List,
    /// Index of the first failed op, once done.
    pub(crate) failed: Option<usize>,
}

impl JobData {
    /// The first failed op's status (a negative errno), if any op failed.
    pub(crate) fn first_status(&self) -> Option<i32> {
        self.failed
            .and_then(|i| self.list.ops.get(i))
            .map(|op| op.status)
    }
}

/// One submitted list.
#[pin_data]
pub(crate) struct Job {
    pub(crate) seqno: u64,
    /// The submitting file's id.
    pub(crate) owner: u64,
    /// The submitter's `ops_ptr`: results are written back there (by the submitter or waiter, in its context).
    pub(crate) ops_ptr: u64,
    /// 0, or the negative errno the job is cancelled with.
    pub(crate) cancel: Atomic<i32>,
    /// Set once `data` holds the final results, before the fence may signal; never cleared.
    ended: Atomic<bool>,
    /// Set once `data` holds the results and the fence signalled if it could (after `ended`); never cleared. What
    /// waiters and the hook see, so that a list seen done has its fence signalled unless an earlier one holds it.
    done: Atomic<bool>,
    #[pin]
    pub(crate) data: Mutex<JobData>,
    /// Signalled when the job and every earlier fenced job are done ([`FenceQueue`]), with the first failed op's
    /// status.
    out_fence: Option<Fence>,
    /// Counts the list as in flight on its camera for as long as the job exists (held for its drop only).
    #[allow(dead_code)]
    in_flight: ListSlot,
    /// Called once the job is done (see [`Job::on_done`]).
    #[pin]
    done_hook: SpinLock<Option<Hook>>,
}

impl Job {
    pub(crate) fn new(
        seqno: u64,
        owner: u64,
        ops_ptr: u64,
        list: List,
        out_fence: Option<Fence>,
        in_flight: ListSlot,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                seqno,
                owner,
                ops_ptr,
                cancel: Atomic::new(0),
                ended: Atomic::new(false),
                done: Atomic::new(false),
                data <- new_mutex!(JobData { list, failed: None }, "Job::data"),
                out_fence,
                in_flight,
                done_hook <- new_spinlock!(None, "Job::done_hook"),
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Acquire)
    }

    /// Whether the results are final (the fence may have signalled; the job is finished a moment later).
    pub(crate) fn is_ended(&self) -> bool {
        self.ended.load(Acquire)
    }

    pub(crate) fn has_fence(&self) -> bool {
        self.out_fence.is_some()
    }

    /// Asks the job to stop with `err`; the first cancellation wins.
    pub(crate) fn cancel(&self, err: Error, waker: &Waker) {
        let _ = self.cancel.cmpxchg(0, err.to_errno(), Relaxed);
        waker.kick();
    }

    /// Marks the job's results final: its fence may signal ([`FenceQueue::release`]), waiters do not see it done
    /// yet. Idempotent.
    pub(crate) fn end(&self) {
        self.data.lock().list.drop_inputs();
        self.ended.store(true, Release);
    }

    /// Marks the job done (its `data` holds the results; [`Job::end`] if it was not) and calls its hook. Its fence
    /// is signalled by the camera's [`FenceQueue`], released between `end` and `finish`.
    pub(crate) fn finish(&self, waker: &Waker) {
        self.end();
        self.done.store(true, Release);
        waker.kick();
        // Taken after `done` is set: `on_done` either stored the hook before (it is called here) or sees `done`.
        let hook = self.done_hook.lock().take();
        if let Some(hook) = hook {
            hook.call();
        }
    }

    /// Calls `hook` once the job is done: at once if it is, otherwise when it finishes (in whatever context
    /// finishes it). Exactly once either way; a job has one hook, set once.
    pub(crate) fn on_done(&self, hook: Hook) {
        let mut slot = self.done_hook.lock();
        if self.is_done() {
            drop(slot);
            hook.call();
        } else {
            *slot = Some(hook);
        }
    }

    /// Ends a job that never ran ([`Job::end`]): its first op gets the cancellation's error, the others
    /// `-ECANCELED`.
    pub(crate) fn end_unrun(&self) {
        let first = match self.cancel.load(Relaxed) {
            0 => ECANCELED.to_errno(),
            e => e,
        };
        {
            let mut d = self.data.lock();
            for (i, op) in d.list.ops.iter_mut().enumerate() {
                op.status = if i == 0 { first } else { ECANCELED.to_errno() };
            }
            d.failed = (!d.list.ops.is_empty()).then_some(0);
        }
        self.end();
    }

    /// Finishes a job that never ran ([`Job::end_unrun`], then [`Job::finish`]).
    pub(crate) fn finish_unrun(&self, waker: &Waker) {
        self.end_unrun();
        self.finish(waker);
    }

    /// Signals the out-fence, if any, with the job's outcome.
    fn signal_fence(&self) {
        if let Some(f) = &self.out_fence {
            let first_status = self.data.lock().first_status();
            f.signal(first_status.map(Error::from_errno));
        }
    }

    /// Where the out-fence stands (tests).
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn fence_status(&self) -> Option<crate::fence::FenceStatus> {
        self.out_fence.as_ref().map(|f| f.status())
    }

    /// Waits until the job is done: interruptibly for at most `timeout_ns` (`ETIMEDOUT`, `EINTR`). A job that
    /// ended (its fence may have signalled) is waited for whatever the timeout: its finish follows at once in the
    /// context that ended it, and a caller who saw the fence signalled must find the list done.
    pub(crate) fn wait(&self, waker: &Waker, timeout_ns: u64) -> Result {
        let done = || self.is_done().then_some(Ok(()));
        match waker.wait_until(crate::waker::Sleep::Interruptible(timeout_ns), done) {
            Err(e) if e == ETIMEDOUT && self.is_ended() => {
                waker.wait_until(crate::waker::Sleep::Interruptible(u64::MAX), done)
            }
            r => r,
        }
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

    /// Takes `job` off the queue if it has not started; whether it did.
    pub(crate) fn take_queued(&mut self, job: &Arc<Job>) -> bool {
        match self.queued.iter().position(|j| Arc::ptr_eq(j, job)) {
            Some(i) => self.queued.remove(i).is_ok(),
            None => false,
        }
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

/// The out-fences of a camera not yet signalled, in seqno order.
///
/// A job can be done before an earlier one (a queued list is cancelled at once while the running one goes on), but
/// the fences of one context must signal in seqno order: `sync_file_merge()` and `dma_resv` keep only the later
/// fence of a context, trusting that it implies the earlier. So a done job's fence waits here until every earlier
/// fence has signalled. Room is reserved when a fenced job is queued, so signalling never allocates.
pub(crate) struct FenceQueue {
    jobs: KVec<Arc<Job>>,
}

impl FenceQueue {
    pub(crate) const fn new() -> Self {
        Self { jobs: KVec::new() }
    }

    /// Makes room for one more fenced job.
    pub(crate) fn reserve(&mut self) -> Result {
        Ok(self.jobs.reserve(1, GFP_KERNEL)?)
    }

    /// Adds a fenced job, the latest by seqno, within the room reserved.
    pub(crate) fn push(&mut self, job: Arc<Job>) {
        let _ = self.jobs.push_within_capacity(job);
    }

    /// Signals the fences of the ended jobs at the front, in order.
    pub(crate) fn release(&mut self) {
        while self.jobs.first().is_some_and(|j| j.ended.load(Acquire)) {
            if let Ok(job) = self.jobs.remove(0) {
                job.signal_fence();
            }
        }
    }
}
