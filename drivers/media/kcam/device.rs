// SPDX-License-Identifier: GPL-2.0

//! A camera device: the camera, its submission queue and the worker that runs it, its out-fences, reset and
//! removal.
//!
//! Lists run one at a time, in seqno order: queued as [`Job`]s and run by the device's work item, or, for a
//! synchronous list on an idle camera, by the submitter itself ([`KcamDevice::run_direct`]). `exec` is held while
//! a list runs or the camera resets; nothing that can wait on userspace (a page fault, a copy) happens under it.

use crate::{
    buffer::Buffer,
    camera::{Backend, Camera, CameraCtx, EntitySpec, RunCtx},
    fence::{self, Fence},
    glue,
    limits::{Budget, ListSlot},
    list::List,
    sched::{FenceQueue, Job, JobData, Queue},
    shared::{
        uapi::{self, Caps, EntityDesc, EventSub, RegDesc},
        validate,
    },
    waker::Waker,
};
use core::cell::Cell;
use kernel::{
    bindings, new_mutex,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, Mutex,
    },
    workqueue::{self, impl_has_work, new_work, Work, WorkItem},
};

/// Most operations in one submission (more: `E2BIG`).
pub(crate) const MAX_OPS: u32 = 256;
/// Longest parameter buffer (more: `E2BIG`).
pub(crate) const MAX_PARAM_BYTES: u32 = 64 * 1024;
/// Asynchronous submissions of one file not yet reaped by `KCAM_IOC_WAIT` (more: `EBUSY`).
pub(crate) const MAX_PENDING: usize = 16;

/// See the module documentation.
#[pin_data]
pub(crate) struct KcamDevice {
    pub(crate) camera: Camera,
    #[pin]
    queue: Mutex<Queue>,
    /// Taken after `queue` when both are needed.
    #[pin]
    fences: Mutex<FenceQueue>,
    /// Held while a list runs or the camera resets.
    #[pin]
    exec: Mutex<()>,
    /// The timeline of this camera's out-fences, and its name (the device node's).
    fence_context: u64,
    name: &'static CStr,
    /// Lists in flight and parameter bytes held, all files together.
    pub(crate) budget: Arc<Budget>,
    next_file_id: Atomic<u64>,
    /// The camera was removed. Set before `remove` takes the queue's lock to cancel, so a submitter that takes
    /// the lock after sees it, and one that took it before queued a job the cancellation takes.
    removed: Atomic<bool>,
    /// The cancellation of the direct list (`Queue::direct`), if one runs.
    direct_cancel: Atomic<i32>,
    #[pin]
    work: Work<KcamDevice>,
}

impl_has_work! {
    impl HasWork<Self> for KcamDevice { self.work }
}

impl WorkItem for KcamDevice {
    type Pointer = Arc<KcamDevice>;

    fn run(this: Arc<KcamDevice>) {
        this.drain();
    }
}

fn copy_name(dst: &mut [u8; uapi::NAME_LEN], src: &CStr) {
    let b = src.to_bytes();
    let n = b.len().min(uapi::NAME_LEN - 1);
    dst[..n].copy_from_slice(&b[..n]);
}

impl KcamDevice {
    /// A device for the driver's camera, named `name` (its node's name, also its fence timeline's).
    pub(crate) fn new(
        entities: &'static [EntitySpec],
        ctx: CameraCtx,
        backend: KBox<dyn Backend>,
        limits: validate::Limits,
        name: &'static CStr,
    ) -> Result<Arc<Self>> {
        let CameraCtx {
            events,
            waker,
            limits: camera_limits,
        } = ctx;
        let budget = Budget::new(camera_limits)?;
        Arc::pin_init(
            try_pin_init!(KcamDevice {
                camera: Camera { entities, limits, backend, events, waker },
                queue <- new_mutex!(Queue::new(), "KcamDevice::queue"),
                fences <- new_mutex!(FenceQueue::new(), "KcamDevice::fences"),
                exec <- new_mutex!((), "KcamDevice::exec"),
                fence_context: Fence::new_context(),
                name,
                budget,
                next_file_id: Atomic::new(1),
                removed: Atomic::new(false),
                direct_cancel: Atomic::new(0),
                work <- new_work!("KcamDevice::work"),
            }),
            GFP_KERNEL,
        )
    }

    pub(crate) fn waker(&self) -> &Arc<Waker> {
        &self.camera.waker
    }

    pub(crate) fn next_file_id(&self) -> u64 {
        self.next_file_id.fetch_add(1, Relaxed)
    }

    pub(crate) fn check_present(&self) -> Result {
        if self.removed.load(Relaxed) {
            return Err(ENODEV);
        }
        Ok(())
    }

    pub(crate) fn caps(&self) -> Caps {
        let limits = self.budget.limits();
        Caps {
            api_version: uapi::API_VERSION,
            // CAST: a static table of a handful of entities.
            num_entities: self.camera.entities.len() as u32,
            max_ops: self.camera.limits.max_ops,
            max_param_bytes: self.camera.limits.max_param_bytes,
            // CAST: small constants.
            max_pending: MAX_PENDING as u32,
            max_events: crate::events::QUEUE_LEN as u32,
            flags: if self.camera.entities.iter().any(|e| e.buffers) {
                uapi::CAP_BUFFERS
            } else {
                0
            },
            max_lists: limits.max_lists,
            max_queued_param_bytes: limits.max_queued_param_bytes,
            max_subscribers: limits.max_subscribers,
            access_timeout_ns: limits.access_timeout_ns,
            max_buffers: limits.max_buffers,
            // CAST: a small constant.
            max_file_buffers: crate::buffer::MAX_FILE_BUFFERS as u32,
            reserved: [0; 1],
        }
    }

    pub(crate) fn enum_entity(&self, d: &mut EntityDesc) -> Result {
        if d.flags != 0 || d.reserved != [0; 2] {
            return Err(EINVAL);
        }
        let e = self.camera.entities.get(d.index as usize).ok_or(EINVAL)?;
        *d = EntityDesc {
            id: e.id,
            parent_id: e.parent,
            type_: e.type_ as u32,
            // CAST: a static table of a handful of registers.
            num_regs: e.regs.len() as u32,
            reg_width: e.reg_width,
            event_mask: e.events,
            flags: if e.buffers {
                uapi::ENTITY_FLAG_BUFFERS
            } else {
                0
            },
            ..EntityDesc::query(d.index)
        };
        copy_name(&mut d.name, e.name);
        Ok(())
    }

    pub(crate) fn enum_reg(&self, d: &mut RegDesc) -> Result {
        if d.reserved0 != 0 || d.reserved != [0; 2] {
            return Err(EINVAL);
        }
        let e = self.camera.spec(d.entity_id).ok_or(ENOENT)?;
        let r = e.regs.get(d.reg as usize).ok_or(ENOENT)?;
        d.access = r.access;
        d.writable_mask = r.writable_mask;
        d.reset_value = r.reset;
        d.name = [0; uapi::NAME_LEN];
        copy_name(&mut d.name, r.name);
        Ok(())
    }

    /// The index of entity `id` if it emits `event`.
    pub(crate) fn event_source(&self, sub: &EventSub) -> Result<usize> {
        if sub.reserved != [0; 2] {
            return Err(EINVAL);
        }
        let idx = self.camera.index_of(sub.entity_id)?;
        if sub.event >= uapi::EVENT_COUNT
            || self.camera.entities[idx].events & (1 << sub.event) == 0
        {
            return Err(EINVAL);
        }
        Ok(idx)
    }

    /// Runs `list` with `cancel` as its cancellation.
    fn run_list(&self, cancel: &Atomic<i32>, list: &mut List) -> Option<usize> {
        let List {
            ops,
            fences,
            params,
            buffers,
            ..
        } = list;
        let cx = RunCtx {
            waker: &self.camera.waker,
            cancel,
            fences,
            params,
            buffers,
            access_timeout_ns: self.budget.limits().access_timeout_ns,
            hung: Cell::new(false),
        };
        self.camera.run(&cx, ops)
    }

    /// The worker: runs queued jobs in order until the queue is empty, or until a synchronous submitter runs
    /// its own list (it queues the worker again when done).
    fn drain(&self) {
        loop {
            let job = {
                let mut q = self.queue.lock();
                if q.direct.is_some() || q.running.as_ref().is_some_and(|j| !j.is_done()) {
                    return;
                }
                if q.queued.is_empty() {
                    q.running = None;
                    return;
                }
                match q.queued.remove(0) {
                    Ok(job) => {
                        q.running = Some(job.clone());
                        job
                    }
                    Err(_) => return,
                }
            };
            self.execute(&job);
        }
    }

    /// Runs a job (it is `running` in the queue), then completes it.
    fn execute(&self, job: &Job) {
        {
            let _exec = self.exec.lock();
            let mut data = job.data.lock();
            let JobData { list, failed } = &mut *data;
            *failed = self.run_list(&job.cancel, list);
        }
        self.complete(job);
    }

    /// Signals the out-fences that may signal now (in seqno order), then marks the job done: a waiter or io_uring
    /// completion that sees the list done finds its fence signalled (unless an earlier list's holds it back).
    fn complete(&self, job: &Job) {
        job.end();
        if job.has_fence() {
            self.fences.lock().release();
        }
        job.finish(self.waker());
    }

    /// Cancels the queued and running lists of the files `which` selects with `err`; returns the running job,
    /// if selected.
    pub(crate) fn cancel(&self, which: impl Fn(u64) -> bool, err: Error) -> Option<Arc<Job>> {
        let (taken, running) =
            self.queue
                .lock()
                .cancel(which, err, self.waker(), &self.direct_cancel);
        for job in taken.iter() {
            job.end_unrun();
        }
        if taken.iter().any(|j| j.has_fence()) {
            self.fences.lock().release();
        }
        for job in taken.iter() {
            job.finish(self.waker());
        }
        running
    }

    /// Stops one job with `err` (its synchronous submitter was interrupted, or its asynchronous submitter never
    /// learnt its seqno): one not yet started leaves the queue at once (`true`); a running one stops at its next
    /// op or wait.
    pub(crate) fn stop_job(&self, job: &Arc<Job>, err: Error) -> bool {
        job.cancel(err, self.waker());
        let queued = self.queue.lock().take_queued(job);
        if queued {
            job.end_unrun();
            if job.has_fence() {
                self.fences.lock().release();
            }
            job.finish(self.waker());
        }
        queued
    }

    /// `KCAM_IOC_CANCEL`: cancels list `seqno` of file `owner` if it is in flight: `Ok` if it was queued (it has
    /// ended), `EALREADY` if it runs (it stops at its next op or wait), `ENOENT` if there is no such list.
    pub(crate) fn cancel_list(&self, owner: u64, seqno: u64) -> Result {
        let job = {
            let q = self.queue.lock();
            Iterator::chain(q.queued.iter(), q.running.iter())
                .find(|j| j.owner == owner && j.seqno == seqno && !j.is_done())
                .cloned()
        };
        match job {
            Some(job) if self.stop_job(&job, ECANCELED) => Ok(()),
            Some(_) => Err(EALREADY),
            None => Err(ENOENT),
        }
    }

    /// Waits for a cancelled job to stop, which it does at its next op or wait (an access is bounded by the
    /// watchdog). Killable: `EINTR` on a fatal signal, since the caller need not see the end.
    pub(crate) fn wait_stopped(&self, job: &Job) -> Result {
        while !job.is_done() {
            if glue::fatal_signal_pending() {
                return Err(EINTR);
            }
            glue::sleep_killable(1_000_000);
        }
        Ok(())
    }

    /// Takes back, from the driver, every buffer `which` selects that is queued or being written; when this returns,
    /// none of them is written any more.
    pub(crate) fn cancel_buffers(&self, which: &dyn Fn(&Buffer) -> bool) {
        self.camera.backend.cancel_buffers(which);
    }

    /// `KCAM_IOC_RESET`: cancels every list (`-ECANCELED`), waits for the running one to stop, then puts the
    /// hardware back to its reset state (clearing injected faults, which is how a hung camera recovers).
    pub(crate) fn reset(&self) {
        // The running list's blocked access or wait (a hang too) gives up at once, with ECANCELED.
        self.cancel(|_| true, ECANCELED);
        let _exec = self.exec.lock();
        self.camera.backend.reset();
    }

    /// Removal: everything in flight ends with `-ENODEV`, nothing new is accepted, and once the running list
    /// stopped, the backend is not called again.
    pub(crate) fn remove(&self) {
        self.removed.store(true, Relaxed);
        self.cancel(|_| true, ENODEV);
        // Event streams end, pollers see the removal.
        self.camera.events.shutdown();
        self.camera.backend.shutdown();
        // Waits for a running list (it stops at its next op or wait, with ENODEV).
        drop(self.exec.lock());
    }

    /// Queues `list` as a job of file `owner`; with `out_fence`, also reserves a sync_file fd for its fence
    /// (installed by the caller once userspace has the reply).
    pub(crate) fn queue_job(
        self: &Arc<Self>,
        owner: u64,
        ops_ptr: u64,
        list: List,
        out_fence: bool,
        slot: ListSlot,
    ) -> Result<(Arc<Job>, Option<fence::FenceFd>)> {
        let (job, fd) = {
            let mut q = self.queue.lock();
            if self.removed.load(Relaxed) {
                return Err(ENODEV);
            }
            let seqno = q.last_seqno + 1;
            let (fence, fd) = if out_fence {
                let f = Fence::new(self.fence_context, seqno, self.name)?;
                let fd = f.export()?;
                (Some(f), Some(fd))
            } else {
                (None, None)
            };
            q.queued.reserve(1, GFP_KERNEL_ACCOUNT)?;
            let mut fences = self.fences.lock();
            if out_fence {
                fences.reserve()?;
            }
            // On failure, the fence and its reserved fd go without ever having been seen by anyone.
            let job = Job::new(seqno, owner, ops_ptr, list, fence, slot)?;
            q.last_seqno = seqno;
            // Within the capacities reserved above.
            let _ = q.queued.push_within_capacity(job.clone());
            if out_fence {
                fences.push(job.clone());
            }
            (job, fd)
        };
        // Already queued or running: it picks this job up.
        let _ = workqueue::system_long().enqueue(self.clone());
        Ok((job, fd))
    }

    /// The synchronous fast path: if the camera is idle, runs the list in the caller's context (no job, no hop
    /// through the worker) and returns its seqno and first failed op; `None` if the camera is busy.
    pub(crate) fn run_direct(
        self: &Arc<Self>,
        owner: u64,
        list: &mut List,
    ) -> Result<Option<(u64, Option<usize>)>> {
        let seqno = {
            let mut q = self.queue.lock();
            if self.removed.load(Relaxed) {
                return Err(ENODEV);
            }
            if !q.idle() {
                return Ok(None);
            }
            q.last_seqno += 1;
            q.direct = Some(owner);
            self.direct_cancel.store(0, Relaxed);
            q.last_seqno
        };
        let failed = {
            let _exec = self.exec.lock();
            self.run_list(&self.direct_cancel, list)
        };
        list.drop_inputs();
        let more = {
            let mut q = self.queue.lock();
            q.direct = None;
            !q.queued.is_empty()
        };
        if more {
            let _ = workqueue::system_long().enqueue(self.clone());
        }
        Ok(Some((seqno, failed)))
    }

    /// Waits for the camera's worker to finish (teardown).
    pub(crate) fn flush(&self) {
        // SAFETY: `self.work` is initialised and lives as long as `self`; `Work` wraps a `struct work_struct`.
        let work = unsafe { Work::raw_get(core::ptr::from_ref(&self.work)) };
        // SAFETY: `work` is the work item embedded in `self`, valid while `self` is.
        unsafe { bindings::flush_work(work) };
    }

    /// The fence timeline's name (tests).
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn name(&self) -> &'static CStr {
        self.name
    }

    /// The seqno of the job running, if one is (tests).
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn running_seqno(&self) -> Option<u64> {
        let q = self.queue.lock();
        q.running.as_ref().filter(|j| !j.is_done()).map(|j| j.seqno)
    }
}
