// SPDX-License-Identifier: GPL-2.0

//! KCAM: camera entities and operation lists, with vcam, a virtual camera to test it.
//!
//! Camera drivers register with the core ([`register`]): their entity tree (`camera::EntitySpec`) and their
//! register accessors (`camera::Backend`), built with the core's `camera::CameraCtx` (events, waker). Each
//! camera gets `/dev/kcamN`. vcam (`vcam.rs`) is such a driver, in this module because out-of-tree Rust modules
//! cannot call each other's Rust functions.
//!
//! `/dev/kcamN` (mode 0600, root: grant access with a udev rule) speaks the uAPI of
//! `include/uapi/linux/kcam.h`: `KCAM_IOC_QUERY_CAPS`, `KCAM_IOC_ENUM_ENTITY`, `KCAM_IOC_ENUM_REG`,
//! `KCAM_IOC_SUBMIT` (synchronous, `TEST_ONLY`, or `ASYNC` with an optional sync_file out-fence),
//! `KCAM_IOC_WAIT`, `KCAM_IOC_SUBSCRIBE`/`UNSUBSCRIBE`/`DQEVENT` and `KCAM_IOC_RESET`.
//!
//! A submitted list is validated whole before anything runs. Lists of all open files run one at a time, in
//! submission order (see `sched.rs`). Each file has its own event subscriptions and queue, and its own
//! asynchronous submissions: another file can neither wait for them nor see their results. Closing a file
//! cancels its queued and running lists and waits for the running one to stop.
//!
//! Unregistering a camera is a (surprise) removal: running and queued lists end with `-ENODEV`, every ioctl of
//! a file still open fails with `-ENODEV`, close works, the node goes. vcam's `remove=1` fault
//! (`/sys/kernel/debug/vcam/faults`) does exactly that.

use kernel::{
    bindings,
    fs::File,
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    new_mutex,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, Mutex,
    },
    transmute::{AsBytes, FromBytes},
    uaccess::{UserPtr, UserSlice},
    workqueue::{self, impl_has_work, new_work, Work, WorkItem},
};

mod camera;
mod events;
mod fence;
mod sched;
mod vcam;
mod waker;

/// The uAPI and the validator, shared with the host crate `tools/kcam` (which tests them against the C header).
#[allow(unreachable_pub, dead_code, missing_docs)]
#[path = "shared/uapi.rs"]
mod uapi;
#[allow(unreachable_pub, dead_code)]
#[path = "shared/validate.rs"]
mod validate;

#[allow(dead_code)]
#[path = "../../common/owned_debugfs.rs"]
mod owned_debugfs;

mod shared {
    pub(crate) use super::{uapi, validate};
}

use camera::{Backend, Camera, CameraCtx, EntitySpec, RunCtx};
use events::FileEvents;
use fence::Fence;
use sched::{Job, JobData, Queue};
use uapi::{Caps, EntityDesc, Event, EventSub, Op, RegDesc, Reset, Submit, Wait};
use waker::Waker;

// The uAPI structs are `repr(C)` integers and integer arrays with explicit padding (the invariant of
// `shared/uapi.rs`): every bit pattern is valid, and none has padding bytes or pointers.
// SAFETY: See above.
unsafe impl FromBytes for Caps {}
// SAFETY: See above.
unsafe impl AsBytes for Caps {}
// SAFETY: See above.
unsafe impl FromBytes for EntityDesc {}
// SAFETY: See above.
unsafe impl AsBytes for EntityDesc {}
// SAFETY: See above.
unsafe impl FromBytes for RegDesc {}
// SAFETY: See above.
unsafe impl AsBytes for RegDesc {}
// SAFETY: See above.
unsafe impl FromBytes for Op {}
// SAFETY: See above.
unsafe impl AsBytes for Op {}
// SAFETY: See above.
unsafe impl FromBytes for Submit {}
// SAFETY: See above.
unsafe impl AsBytes for Submit {}
// SAFETY: See above.
unsafe impl FromBytes for Wait {}
// SAFETY: See above.
unsafe impl AsBytes for Wait {}
// SAFETY: See above.
unsafe impl FromBytes for Reset {}
// SAFETY: See above.
unsafe impl FromBytes for EventSub {}
// SAFETY: See above.
unsafe impl AsBytes for Event {}

module! {
    type: KcamModule,
    name: "kcam",
    authors: ["rfl-bringup developers"],
    description: "KCAM camera entities and operation lists, with the vcam virtual camera",
    license: "GPL",
    params: {
        fps: u32 {
            default: 30,
            description: "vcam frame rate while streaming (1..=120)",
        },
    },
}

/// Most operations in one submission (more: `E2BIG`).
const MAX_OPS: u32 = 256;
/// Longest parameter buffer (more: `E2BIG`).
const MAX_PARAM_BYTES: u32 = 64 * 1024;
/// Asynchronous submissions of one file not yet reaped by `KCAM_IOC_WAIT` (more: `EBUSY`).
const MAX_PENDING: usize = 16;

/// A camera device: the camera, its submission queue and the worker that runs it.
#[pin_data]
struct KcamDevice {
    camera: Camera,
    #[pin]
    queue: Mutex<Queue>,
    /// Held while a list runs or the camera resets.
    #[pin]
    exec: Mutex<()>,
    /// The timeline of this camera's out-fences.
    fence_context: u64,
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

kernel::sync::global_lock! {
    // SAFETY: Initialized in `KcamModule::init` before any camera registers.
    unsafe(uninit) static REGISTRY: Mutex<Registry> = Registry { cameras: KVec::new() };
}

/// Device node names of registered cameras, by slot.
const NODE_NAMES: [&CStr; 4] = [c"kcam0", c"kcam1", c"kcam2", c"kcam3"];

/// The registered cameras: slot, the address of their misc device (what `open` is given), the device.
struct Registry {
    cameras: KVec<(usize, usize, Arc<KcamDevice>)>,
}

/// A registered camera with its device node `/dev/kcamN`. Dropping it unregisters the camera, which is a
/// removal for anyone still using it: running and queued lists end with `-ENODEV`, every ioctl of a file still
/// open fails with `-ENODEV`, the node goes; when this returns, the core no longer calls the backend.
pub(crate) struct Registration {
    dev: Arc<KcamDevice>,
    misc: Option<Pin<KBox<MiscDeviceRegistration<KcamFile>>>>,
}

/// Registers a camera: the driver's entity tree, the context it was built with, and its register accessors.
pub(crate) fn register(
    entities: &'static [EntitySpec],
    ctx: CameraCtx,
    backend: KBox<dyn Backend>,
) -> Result<Registration> {
    let limits = validate::Limits {
        max_ops: MAX_OPS,
        max_param_bytes: MAX_PARAM_BYTES,
    };
    let dev = KcamDevice::new(entities, ctx, backend, limits)?;
    // The slot is taken under the registry's lock, the node registered without it: `open` runs under the misc
    // core's lock and takes the registry's.
    let slot = {
        let mut registry = REGISTRY.lock();
        let slot = (0..NODE_NAMES.len())
            .find(|i| !registry.cameras.iter().any(|(s, _, _)| s == i))
            .ok_or(EBUSY)?;
        registry.cameras.push((slot, 0, dev.clone()), GFP_KERNEL)?;
        slot
    };
    let misc = KBox::pin_init(
        MiscDeviceRegistration::register(MiscDeviceOptions {
            name: NODE_NAMES[slot],
        }),
        GFP_KERNEL,
    );
    let mut registry = REGISTRY.lock();
    let entry = registry.cameras.iter_mut().find(|(s, _, _)| *s == slot);
    match (misc, entry) {
        (Ok(misc), Some(entry)) => {
            // An open before this finds nothing yet: ENODEV, as for a device not there.
            entry.1 = core::ptr::from_ref::<MiscDeviceRegistration<KcamFile>>(&misc) as usize;
            drop(registry);
            Ok(Registration {
                dev,
                misc: Some(misc),
            })
        }
        (misc, _) => {
            registry.cameras.retain(|(s, _, _)| *s != slot);
            drop(registry);
            // A node registered whose entry went (cannot happen: only its registration removes it) goes too.
            Err(misc.err().unwrap_or(ENODEV))
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        REGISTRY
            .lock()
            .cameras
            .retain(|(_, _, d)| !Arc::ptr_eq(d, &self.dev));
        self.dev.remove();
        // No new open once the node is gone; open files keep the device (and this module) alive.
        drop(self.misc.take());
        // The worker runs module code: wait for it.
        self.dev.flush();
    }
}

fn copy_name(dst: &mut [u8; uapi::NAME_LEN], src: &CStr) {
    let b = src.to_bytes();
    let n = b.len().min(uapi::NAME_LEN - 1);
    dst[..n].copy_from_slice(&b[..n]);
}

fn reject(s: &mut Submit, r: validate::Rejection) -> Error {
    s.error_idx = r.index;
    s.error_reason = r.reason as u32;
    Error::from_errno(-r.errno)
}

impl KcamDevice {
    fn new(
        entities: &'static [EntitySpec],
        ctx: CameraCtx,
        backend: KBox<dyn Backend>,
        limits: validate::Limits,
    ) -> Result<Arc<Self>> {
        let CameraCtx { events, waker } = ctx;
        Arc::pin_init(
            try_pin_init!(KcamDevice {
                camera: Camera { entities, limits, backend, events, waker },
                queue <- new_mutex!(Queue::new(), "KcamDevice::queue"),
                exec <- new_mutex!((), "KcamDevice::exec"),
                fence_context: Fence::new_context(),
                next_file_id: Atomic::new(1),
                removed: Atomic::new(false),
                direct_cancel: Atomic::new(0),
                work <- new_work!("KcamDevice::work"),
            }),
            GFP_KERNEL,
        )
    }

    fn waker(&self) -> &Waker {
        &self.camera.waker
    }

    fn check_present(&self) -> Result {
        if self.removed.load(Relaxed) {
            return Err(ENODEV);
        }
        Ok(())
    }

    fn caps(&self) -> Caps {
        Caps {
            api_version: uapi::API_VERSION,
            // CAST: a static table of a handful of entities.
            num_entities: self.camera.entities.len() as u32,
            max_ops: MAX_OPS,
            max_param_bytes: MAX_PARAM_BYTES,
            // CAST: small constants.
            max_pending: MAX_PENDING as u32,
            max_events: events::QUEUE_LEN as u32,
            ..Caps::default()
        }
    }

    fn enum_entity(&self, d: &mut EntityDesc) -> Result {
        if d.reserved0 != 0 || d.reserved != [0; 2] {
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
            ..EntityDesc::query(d.index)
        };
        copy_name(&mut d.name, e.name);
        Ok(())
    }

    fn enum_reg(&self, d: &mut RegDesc) -> Result {
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

    /// Runs a job (it is `running` in the queue), then marks it done.
    fn execute(&self, job: &Job) {
        {
            let _exec = self.exec.lock();
            let mut data = job.data.lock();
            let JobData {
                ops,
                fences,
                failed,
            } = &mut *data;
            let cx = RunCtx {
                waker: &self.camera.waker,
                cancel: &job.cancel,
                fences,
            };
            *failed = self.camera.run(&cx, ops);
        }
        job.finish(self.waker());
    }

    /// Cancels the queued and running lists of the files `which` selects with `err`; returns the running job,
    /// if selected.
    fn cancel(&self, which: impl Fn(u64) -> bool, err: Error) -> Option<Arc<Job>> {
        let (taken, running) =
            self.queue
                .lock()
                .cancel(which, err, self.waker(), &self.direct_cancel);
        for job in taken.iter() {
            job.finish_unrun(self.waker());
        }
        running
    }

    /// `KCAM_IOC_RESET`: cancels every list (`-ECANCELED`), waits for the running one to stop, then puts the
    /// hardware back to its reset state (clearing injected faults, which is how a hung camera recovers).
    fn reset(&self) {
        // The running list's blocked access or wait (a hang too) gives up at once, with ECANCELED.
        self.cancel(|_| true, ECANCELED);
        let _exec = self.exec.lock();
        self.camera.backend.reset();
    }

    /// Removal: everything in flight ends with `-ENODEV`, nothing new is accepted, and once the running list
    /// stopped, the backend is not called again.
    fn remove(&self) {
        self.removed.store(true, Relaxed);
        self.cancel(|_| true, ENODEV);
        self.camera.backend.shutdown();
        // Waits for a running list (it stops at its next op or wait, with ENODEV).
        drop(self.exec.lock());
    }

    /// Reads the list of a submission and the fences of its `WAIT_FENCE` operations, and validates it.
    fn read_list(&self, s: &mut Submit) -> Result<JobData> {
        let count = s.count;
        let bytes = (count as usize)
            .checked_mul(core::mem::size_of::<Op>())
            .ok_or(E2BIG)?;
        let ptr = UserPtr::from_addr(usize::try_from(s.ops_ptr).map_err(|_| EFAULT)?);
        let mut reader = UserSlice::new(ptr, bytes).reader();
        let mut ops = KVVec::with_capacity(count as usize, GFP_KERNEL)?;
        for _ in 0..count {
            ops.push(reader.read::<Op>()?, GFP_KERNEL)?;
        }
        if let Err(r) = self.camera.validate(&ops) {
            return Err(reject(s, r));
        }
        let mut fences = KVec::new();
        for (i, op) in ops.iter().enumerate() {
            if uapi::Opcode::from_raw(op.opcode) == Some(uapi::Opcode::WaitFence) {
                // CAST: `i` < `count`, a u32.
                let index = i as u32;
                let fence = Fence::from_fd(op.fence_fd).map_err(|_| {
                    let r = validate::Rejection {
                        index,
                        reason: uapi::Reason::BadFence,
                        errno: EBADF.to_errno().abs(),
                    };
                    reject(s, r)
                })?;
                fences.push((index, fence), GFP_KERNEL)?;
            }
        }
        Ok(JobData {
            ops,
            fences,
            failed: None,
        })
    }

    /// Queues a job; with `out_fence`, also reserves a sync_file fd for its fence (installed by the caller).
    fn queue_job(
        self: &Arc<Self>,
        owner: u64,
        ops_ptr: u64,
        data: JobData,
        out_fence: bool,
    ) -> Result<(Arc<Job>, Option<fence::FenceFd>)> {
        let (job, fd) = {
            let mut q = self.queue.lock();
            if self.removed.load(Relaxed) {
                return Err(ENODEV);
            }
            let seqno = q.last_seqno + 1;
            let (fence, fd) = if out_fence {
                let f = Fence::new(self.fence_context, seqno)?;
                let fd = f.export()?;
                (Some(f), Some(fd))
            } else {
                (None, None)
            };
            q.queued.reserve(1, GFP_KERNEL)?;
            // On failure, the fence and its reserved fd go without ever having been seen by anyone.
            let job = Job::new(seqno, owner, ops_ptr, data, fence)?;
            q.last_seqno = seqno;
            // Within the capacity reserved above.
            let _ = q.queued.push_within_capacity(job.clone());
            (job, fd)
        };
        // Already queued or running: it picks this job up.
        let _ = workqueue::system_long().enqueue(self.clone());
        Ok((job, fd))
    }

    /// The synchronous fast path: if the camera is idle, runs the list in the caller's context (no job, no hop
    /// through the worker) and returns its seqno and first failed op; `None` if the camera is busy.
    fn run_direct(
        self: &Arc<Self>,
        owner: u64,
        data: &mut JobData,
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
            let cx = RunCtx {
                waker: &self.camera.waker,
                cancel: &self.direct_cancel,
                fences: &data.fences,
            };
            self.camera.run(&cx, &mut data.ops)
        };
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
    fn flush(&self) {
        // SAFETY: `self.work` is initialised and lives as long as `self`; `Work` wraps a `struct work_struct`.
        let work = unsafe { Work::raw_get(core::ptr::from_ref(&self.work)) };
        // SAFETY: `work` is the work item embedded in `self`, valid while `self` is.
        unsafe { bindings::flush_work(work) };
    }
}

/// Writes a list's results back to userspace.
fn write_results(ops: &[Op], ops_ptr: u64) -> Result {
    let ptr = UserPtr::from_addr(usize::try_from(ops_ptr).map_err(|_| EFAULT)?);
    let mut writer = UserSlice::new(ptr, core::mem::size_of_val(ops)).writer();
    for op in ops {
        writer.write(op)?;
    }
    Ok(())
}

/// Per-open state: files share the camera, not their event subscriptions and queues, nor their submissions.
#[pin_data(PinnedDrop)]
struct KcamFile {
    dev: Arc<KcamDevice>,
    id: u64,
    events: Arc<FileEvents>,
    /// Asynchronous submissions not yet reaped by `KCAM_IOC_WAIT`.
    #[pin]
    pending: Mutex<KVec<Arc<Job>>>,
}

#[pinned_drop]
impl PinnedDrop for KcamFile {
    fn drop(self: Pin<&mut Self>) {
        // Closing cancels this file's work and waits for its running list to stop; lists stop at their next op
        // or wait, so this is short.
        let id = self.id;
        if let Some(running) = self.dev.cancel(|owner| owner == id, ECANCELED) {
            let _ = running.wait(self.dev.waker(), None);
        }
        self.dev.camera.events.close(&self.events);
    }
}

impl KcamFile {
    /// `KCAM_IOC_SUBMIT`: validate the whole list, then (unless `TEST_ONLY`) queue it; a synchronous submission
    /// waits for its results, which are written back to the list.
    fn submit(&self, s: &mut Submit) -> Result<Option<fence::FenceFd>> {
        let dev = &self.dev;
        let reserved_zero = s.reserved0 == 0 && s.reserved == [0; 2];
        s.error_idx = s.count;
        s.error_reason = uapi::Reason::None as u32;
        s.out_fence_fd = -1;
        s.seqno = 0;
        if let Err(r) = validate::check_submit(s.flags, s.count, reserved_zero, &dev.camera.limits)
        {
            return Err(reject(s, r));
        }
        let is_async = s.flags & uapi::SUBMIT_ASYNC != 0;
        if is_async && self.pending.lock().len() >= MAX_PENDING {
            return Err(EBUSY);
        }
        let data = dev.read_list(s)?;
        if s.flags & uapi::SUBMIT_TEST_ONLY != 0 {
            return Ok(None);
        }
        if is_async {
            let mut pending = self.pending.lock();
            // Checked again under the lock: another thread of this file may have submitted meanwhile.
            if pending.len() >= MAX_PENDING {
                return Err(EBUSY);
            }
            pending.reserve(1, GFP_KERNEL)?;
            let out_fence = s.flags & uapi::SUBMIT_OUT_FENCE != 0;
            let (job, fd) = dev.queue_job(self.id, s.ops_ptr, data, out_fence)?;
            s.seqno = job.seqno;
            s.out_fence_fd = fd.as_ref().map_or(-1, |f| f.fd());
            // Within the capacity reserved above.
            let _ = pending.push_within_capacity(job);
            return Ok(fd);
        }
        let mut data = data;
        let (seqno, failed) = match dev.run_direct(self.id, &mut data)? {
            Some(done) => {
                write_results(&data.ops, s.ops_ptr)?;
                done
            }
            None => {
                // Busy: queue it behind the others and wait.
                let (job, _) = dev.queue_job(self.id, s.ops_ptr, data, false)?;
                if let Err(e) = job.wait(dev.waker(), Some(u64::MAX)) {
                    // A signal: the list stops (the op waiting gets EINTR, the rest ECANCELED); its results still
                    // go back.
                    job.cancel(e, dev.waker());
                    let _ = job.wait(dev.waker(), None);
                }
                let data = job.data.lock();
                write_results(&data.ops, s.ops_ptr)?;
                (job.seqno, data.failed)
            }
        };
        s.seqno = seqno;
        if let Some(i) = failed {
            // CAST: `i` < `count`, a u32.
            s.error_idx = i as u32;
        }
        dev.check_present()?;
        Ok(None)
    }

    /// `KCAM_IOC_WAIT`: waits for an asynchronous submission of this file, writes its results back to its list
    /// and reaps it.
    fn wait(&self, w: &mut Wait) -> Result {
        if w.reserved != [0; 2] || w.status != 0 || w.error_idx != 0 {
            return Err(EINVAL);
        }
        let job = self
            .pending
            .lock()
            .iter()
            .find(|j| j.seqno == w.seqno)
            .cloned()
            .ok_or(EINVAL)?;
        if !job.is_done() {
            if w.timeout_ns == 0 {
                return Err(EAGAIN);
            }
            job.wait(
                self.dev.waker(),
                Some(w.timeout_ns.min(camera::MAX_WAIT_NS * u64::from(MAX_OPS))),
            )?;
        }
        // Results first: if they cannot be written, the submission stays to be waited for again.
        let data = job.data.lock();
        write_results(&data.ops, job.ops_ptr)?;
        w.status = data
            .failed
            .and_then(|i| data.ops.get(i))
            .map_or(0, |op| op.status);
        // CAST: indexes of a list of at most MAX_OPS ops.
        w.error_idx = data.failed.unwrap_or(data.ops.len()) as u32;
        drop(data);
        self.pending.lock().retain(|j| !Arc::ptr_eq(j, &job));
        Ok(())
    }
}

impl KcamDevice {
    /// The index of entity `id` if it emits `event`.
    fn event_source(&self, sub: &EventSub) -> Result<usize> {
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
}

#[vtable]
impl MiscDevice for KcamFile {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        let key = core::ptr::from_ref(misc) as usize;
        let dev = REGISTRY
            .lock()
            .cameras
            .iter()
            .find(|(_, k, _)| *k == key)
            .map(|(_, _, d)| d.clone())
            .ok_or(ENODEV)?;
        dev.check_present()?;
        let events = dev.camera.events.open()?;
        let id = dev.next_file_id.fetch_add(1, Relaxed);
        let (file_dev, file_events) = (dev.clone(), events.clone());
        let file = KBox::pin_init(
            try_pin_init!(KcamFile {
                dev: file_dev,
                id,
                events: file_events,
                pending <- new_mutex!(KVec::new(), "KcamFile::pending"),
            }),
            GFP_KERNEL,
        );
        if file.is_err() {
            dev.camera.events.close(&events);
        }
        file
    }

    fn ioctl(me: Pin<&KcamFile>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let dev = &me.dev;
        let user = |size: usize| UserSlice::new(UserPtr::from_addr(arg), size);
        dev.check_present()?;
        match cmd {
            uapi::IOC_QUERY_CAPS => user(core::mem::size_of::<Caps>())
                .writer()
                .write(&dev.caps())?,
            uapi::IOC_ENUM_ENTITY => {
                let (mut r, mut w) = user(core::mem::size_of::<EntityDesc>()).reader_writer();
                let mut d = r.read::<EntityDesc>()?;
                dev.enum_entity(&mut d)?;
                w.write(&d)?;
            }
            uapi::IOC_ENUM_REG => {
                let (mut r, mut w) = user(core::mem::size_of::<RegDesc>()).reader_writer();
                let mut d = r.read::<RegDesc>()?;
                dev.enum_reg(&mut d)?;
                w.write(&d)?;
            }
            uapi::IOC_SUBMIT => {
                let (mut r, mut w) = user(core::mem::size_of::<Submit>()).reader_writer();
                let mut s = r.read::<Submit>()?;
                let res = me.submit(&mut s);
                // The outcome fields (error_idx, error_reason, seqno) go back even when the ioctl fails.
                w.write(&s)?;
                // Only now that userspace has its number does the fd exist (dropping it undoes it).
                if let Some(fd) = res? {
                    fd.install();
                }
            }
            uapi::IOC_WAIT => {
                let (mut r, mut w) = user(core::mem::size_of::<Wait>()).reader_writer();
                let mut wait = r.read::<Wait>()?;
                me.wait(&mut wait)?;
                w.write(&wait)?;
            }
            uapi::IOC_SUBSCRIBE | uapi::IOC_UNSUBSCRIBE => {
                let sub = user(core::mem::size_of::<EventSub>())
                    .reader()
                    .read::<EventSub>()?;
                let idx = dev.event_source(&sub)?;
                me.events
                    .subscribe(idx, sub.event, cmd == uapi::IOC_SUBSCRIBE)?;
            }
            uapi::IOC_DQEVENT => {
                user(core::mem::size_of::<Event>())
                    .writer()
                    .write(&me.events.dequeue()?)?;
            }
            uapi::IOC_RESET => {
                let reset = user(core::mem::size_of::<Reset>())
                    .reader()
                    .read::<Reset>()?;
                if reset.flags != 0 || reset.reserved0 != 0 || reset.reserved != [0; 2] {
                    return Err(EINVAL);
                }
                dev.reset();
            }
            // One of ours with another size (an old or new struct layout): a bad argument, not an unknown ioctl.
            _ if (cmd >> 8) & 0xff == uapi::IOC_MAGIC && cmd & 0xff <= 8 => return Err(EINVAL),
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }
}

/// At unload, after every camera went: waits for readers of the ops of fences signalled last.
struct FenceGuard;

impl Drop for FenceGuard {
    fn drop(&mut self) {
        // See kcam_glue.c.
        fence::rcu_barrier();
    }
}

struct KcamModule {
    // Dropped in declaration order: vcam (its registration, hence its camera) first.
    _vcam: vcam::Instance,
    _fences: FenceGuard,
}

impl kernel::Module for KcamModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: Called once, at module init, before any camera registers.
        unsafe { REGISTRY.init() };
        Ok(Self {
            _fences: FenceGuard,
            _vcam: vcam::Instance::probe(module_parameters::fps.value())?,
        })
    }
}

#[kunit_tests(kcam_core)]
mod tests {
    use super::*;
    use crate::vcam::{self, Vcam};

    /// A camera with vcam as its backend (not registered: no device node), and that vcam.
    fn device() -> Result<(Arc<KcamDevice>, Arc<Vcam>)> {
        let ctx = CameraCtx::new(vcam::ENTITIES.len())?;
        let vcam = Vcam::new(ctx.events.clone(), ctx.waker.clone(), 100)?;
        let limits = validate::Limits {
            max_ops: 4,
            max_param_bytes: 16,
        };
        let backend: KBox<dyn Backend> = KBox::new(vcam.clone(), GFP_KERNEL)?;
        Ok((
            KcamDevice::new(&vcam::ENTITIES, ctx, backend, limits)?,
            vcam,
        ))
    }

    /// Runs `ops` directly (no queue), uncancelled, without fences.
    fn run(dev: &KcamDevice, ops: &mut [Op]) -> Option<usize> {
        let cancel = Atomic::new(0);
        let cx = RunCtx {
            waker: &dev.camera.waker,
            cancel: &cancel,
            fences: &[],
        };
        dev.camera.run(&cx, ops)
    }

    fn read(dev: &KcamDevice, idx: usize, reg: u32) -> Result<u64> {
        let cancel = Atomic::new(0);
        let cx = RunCtx {
            waker: &dev.camera.waker,
            cancel: &cancel,
            fences: &[],
        };
        dev.camera.backend.read(&cx, idx, reg)
    }

    fn op(opcode: uapi::Opcode, entity: u32, reg: u32, value: u64) -> Op {
        let mut o = Op::new(opcode, entity, reg);
        o.value = value;
        o
    }

    #[test]
    fn validation_rejects_before_anything_runs() -> Result {
        let (dev, _vcam) = device()?;
        // EXPOSURE write, then a write to the read-only CHIP_ID: nothing may run.
        let ops = [
            op(uapi::Opcode::Write, 1, 1, 500),
            op(uapi::Opcode::Write, 1, 4, 1),
        ];
        let r = dev.camera.validate(&ops);
        assert!(r.is_err_and(|r| r.index == 1 && r.reason == uapi::Reason::NotWritable));
        assert_eq!(read(&dev, 0, 1)?, 1000);
        Ok(())
    }

    #[test]
    fn runs_in_order_with_masks_and_dependencies() -> Result {
        let (dev, _vcam) = device()?;
        let mut upd = op(uapi::Opcode::Update, 1, 2, 0x30);
        upd.mask = 0xf0;
        let mut poll = op(uapi::Opcode::Poll, 1, 0, 1);
        poll.mask = 1;
        poll.timeout_ns = 1_000_000;
        poll.deps[0] = 2;
        let mut after = op(uapi::Opcode::Read, 1, 1, 0);
        after.deps[0] = 3;
        let mut ops = [
            op(uapi::Opcode::Write, 1, 1, 0x1234),
            upd,
            op(uapi::Opcode::Write, 1, 0, 0),
            poll,
        ];
        assert!(dev.camera.validate(&ops).is_ok());
        // The poll cannot succeed (CTRL stays 0): it times out, and nothing depends on it here.
        let failed = run(&dev, &mut ops);
        assert_eq!(failed, Some(3));
        assert_eq!(ops[0].status, 0);
        assert_eq!(ops[0].result, 0x1234);
        // GAIN was 16 (0x10): the update keeps the low nibble and sets the high one.
        assert_eq!(ops[1].result, 0x30);
        assert_eq!(ops[3].status, ETIMEDOUT.to_errno());
        // A dependent of a failed op is cancelled.
        let mut chain = [ops[3], after];
        chain[0].deps[0] = uapi::NO_DEP;
        chain[0].status = 0;
        chain[0].result = 0;
        chain[1].deps[0] = 0;
        assert_eq!(run(&dev, &mut chain), Some(0));
        assert_eq!(chain[1].status, ECANCELED.to_errno());
        Ok(())
    }

    #[test]
    fn reset_restores_reset_values() -> Result {
        let (dev, vcam) = device()?;
        let mut ops = [op(uapi::Opcode::Write, 2, 1, 4)];
        run(&dev, &mut ops);
        assert_eq!(read(&dev, 1, 1)?, 4);
        vcam.reset();
        assert_eq!(read(&dev, 1, 1)?, 2);
        Ok(())
    }

    #[test]
    fn limits_and_events_an_entity_does_not_emit() -> Result {
        let (dev, _vcam) = device()?;
        assert!(validate::check_submit(0, 5, true, &dev.camera.limits).is_err_and(|r| r.errno == 7));
        let mut wait = op(uapi::Opcode::WaitEvent, 2, 0, 0);
        wait.timeout_ns = 1;
        // The CSI receiver emits nothing.
        assert!(dev
            .camera
            .validate(&[wait])
            .is_err_and(|r| r.reason == uapi::Reason::BadEvent));
        Ok(())
    }

    #[test]
    fn cancelled_list_runs_nothing() -> Result {
        let (dev, _vcam) = device()?;
        let cancel = Atomic::new(ECANCELED.to_errno());
        let cx = RunCtx {
            waker: &dev.camera.waker,
            cancel: &cancel,
            fences: &[],
        };
        let mut ops = [
            op(uapi::Opcode::Write, 1, 1, 5),
            op(uapi::Opcode::Nop, 0, 0, 0),
        ];
        assert_eq!(dev.camera.run(&cx, &mut ops), Some(0));
        assert!(ops.iter().all(|o| o.status == ECANCELED.to_errno()));
        assert_eq!(read(&dev, 0, 1)?, 1000);
        Ok(())
    }

    #[test]
    fn injected_faults_and_reset() -> Result {
        let (dev, vcam) = device()?;
        // The second access fails, once; the list goes on with independent ops.
        vcam.set_faults(|f| f.fail_nth = 2);
        let mut ops = [
            op(uapi::Opcode::Write, 1, 1, 5),
            op(uapi::Opcode::Write, 1, 2, 6),
            op(uapi::Opcode::Read, 1, 1, 0),
        ];
        assert_eq!(run(&dev, &mut ops), Some(1));
        assert_eq!(ops[1].status, EIO.to_errno());
        assert_eq!(ops[2].result, 5);
        // A hung access blocks the worker until RESET, which cancels the list and clears the fault.
        vcam.set_faults(|f| f.hang = true);
        let mut list = KVVec::new();
        list.push(op(uapi::Opcode::Read, 1, 1, 0), GFP_KERNEL)?;
        let data = JobData {
            ops: list,
            fences: KVec::new(),
            failed: None,
        };
        let (job, _) = dev.queue_job(0, 0, data, false)?;
        dev.reset();
        job.wait(dev.waker(), Some(1_000_000_000))?;
        dev.flush();
        assert_eq!(job.data.lock().ops[0].status, ECANCELED.to_errno());
        assert!(!vcam.faults().hang);
        assert_eq!(read(&dev, 0, 1)?, 1000);
        Ok(())
    }

    #[test]
    fn streaming_emits_frames_in_order() -> Result {
        let (dev, vcam) = device()?;
        let file = dev.camera.events.open()?;
        file.subscribe(0, uapi::EventType::FrameEnd as u32, true)?;
        let mut wait = op(uapi::Opcode::WaitEvent, 1, 0, 0);
        wait.event = uapi::EventType::FrameEnd as u32;
        wait.timeout_ns = 2_000_000_000;
        let mut ops = [
            op(uapi::Opcode::Write, 1, 0, 1),
            wait,
            wait,
            op(uapi::Opcode::Read, 1, 5, 0),
        ];
        assert!(dev.camera.validate(&ops).is_ok());
        let failed = run(&dev, &mut ops);
        // Stop the generator before anything can fail below: it must not outlive the test.
        vcam.shutdown();
        assert_eq!(failed, None);
        // Two frames ended: the frame counter shows at least two.
        assert!(ops[3].result >= 2);
        let first = file.dequeue()?;
        let second = file.dequeue()?;
        assert_eq!(second.sequence, first.sequence + 1);
        assert!(second.timestamp_ns > first.timestamp_ns);
        assert_eq!(first.entity_id, 1);
        dev.camera.events.close(&file);
        Ok(())
    }
}
