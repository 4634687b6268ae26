// SPDX-License-Identifier: GPL-2.0

//! KCAM: camera entities and operation lists, with vcam, a virtual camera to test it.
//!
//! Camera drivers register with the core (`registry::register`): their entity tree (`camera::EntitySpec`) and
//! their register accessors (`camera::Backend`), built with the core's `camera::CameraCtx` (events, waker,
//! limits). Each camera gets `/dev/kcamN`. vcam (`vcam.rs`) is such a driver, in this module because out-of-tree
//! Rust modules cannot call each other's Rust functions.
//!
//! The files, by concern: `registry.rs` (registration, device nodes), `device.rs` (a camera's queue, worker,
//! fences, reset and removal), `file.rs` (an open file and its ioctls), `list.rs` (a list crossing the user
//! boundary), `sched.rs` (jobs, the FIFO, in-order fences), `camera.rs` (running a list against the driver),
//! `buffer.rs` (imported buffers and a file's handles), `dmabuf.rs` (dma-buf import, mapping and CPU access),
//! `limits.rs` (per-camera limits), `events.rs`, `fence.rs`, `waker.rs`, `uring.rs` (io_uring commands and the glue
//! adding `poll` and `uring_cmd` to the file), `hook.rs` (how a job or an event stream tells its io_uring command);
//! vcam's registers and frame generator (`vcam.rs`) and its frame pipeline (`vcam_pipeline.rs`); and in `shared/`
//! the no_std uAPI, validator, and vcam's formats and image pipeline (`vcam_uapi.rs`, `frame.rs`).
//!
//! `/dev/kcamN` (mode 0600, root: grant access with a udev rule) speaks the uAPI of
//! `include/uapi/linux/kcam.h`: `KCAM_IOC_QUERY_CAPS`, `KCAM_IOC_ENUM_ENTITY`, `KCAM_IOC_ENUM_REG`,
//! `KCAM_IOC_SUBMIT` (synchronous, `TEST_ONLY`, or `ASYNC` with an optional sync_file out-fence),
//! `KCAM_IOC_WAIT`, `KCAM_IOC_SUBSCRIBE`/`UNSUBSCRIBE`/`DQEVENT`, `KCAM_IOC_RESET`, `KCAM_IOC_CANCEL` and
//! `KCAM_IOC_IMPORT_BUFFER`/`RELEASE_BUFFER` (dma-bufs the camera writes frames and statistics into); the same
//! submission, cancellation and (multishot) event dequeue as `IORING_OP_URING_CMD` commands; `poll`.
//!
//! A submitted list is validated whole, and everything it needs from userspace copied in, before anything runs.
//! Lists of all open files run one at a time, in submission order (see `sched.rs`). Each file has its own event subscriptions and queue, and its own
//! asynchronous submissions: another file can neither wait for them nor see their results. Closing a file
//! cancels its queued and running lists and waits for the running one to stop.
//!
//! Unregistering a camera is a (surprise) removal: running and queued lists end with `-ENODEV`, every ioctl of
//! a file still open fails with `-ENODEV`, close works, the node goes. vcam's `remove=1` fault
//! (`/sys/kernel/debug/vcam/faults`) does exactly that.

use kernel::{
    prelude::*,
    transmute::{AsBytes, FromBytes},
};

mod buffer;
mod camera;
mod device;
mod dmabuf;
mod events;
mod fence;
mod file;
mod frame_kunit;
mod glue;
mod hook;
mod limits;
mod list;
mod registry;
mod sched;
mod uring;
mod vcam;
mod vcam_pipeline;
mod vcam_pipeline_kunit;
mod waker;

#[allow(unreachable_pub, dead_code)]
#[path = "shared/frame.rs"]
mod frame;
/// The uAPI and the validator, shared with the host crate `tools/kcam` (which tests them against the C header).
#[allow(unreachable_pub, dead_code, missing_docs)]
#[path = "shared/uapi.rs"]
mod uapi;
#[allow(unreachable_pub, dead_code)]
#[path = "shared/validate.rs"]
mod validate;
/// vcam's formats and buffers, and its image pipeline, shared with `tools/kcam` (cargo tests, the 3A simulation).
#[allow(unreachable_pub, dead_code, missing_docs)]
#[path = "shared/vcam_uapi.rs"]
mod vcam_uapi;

#[allow(dead_code)]
#[path = "../../common/owned_debugfs.rs"]
mod owned_debugfs;

mod shared {
    pub(crate) use super::{frame, uapi, validate, vcam_uapi};
}

use uapi::{
    BufferImport, BufferRelease, Cancel, Caps, EntityDesc, Event, EventSub, Op, RegDesc, Reset,
    Submit, Wait,
};

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
// SAFETY: See above.
unsafe impl FromBytes for BufferImport {}
// SAFETY: See above.
unsafe impl AsBytes for BufferImport {}
// SAFETY: See above.
unsafe impl FromBytes for BufferRelease {}
// SAFETY: The statistics buffer's layout: `repr(C)` integers and arrays of a `repr(C)` struct of `u16`s, without
// padding (the invariant of `shared/vcam_uapi.rs`), written to userspace as bytes.
unsafe impl AsBytes for vcam_uapi::Stats {}
// SAFETY: All-zero bytes are a valid `Stats` (integers only, see above); it is allocated zeroed.
unsafe impl Zeroable for vcam_uapi::Stats {}
// SAFETY: `frame::Renderer` holds integers and integer arrays only (its documentation says so), so all-zero bytes
// are a valid (idle) renderer; it is allocated zeroed, being too big for the stack.
unsafe impl Zeroable for frame::Renderer {}
// SAFETY: See above.
unsafe impl FromBytes for Cancel {}

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
        max_lists: u32 {
            default: 64,
            description: "lists in flight per camera, all files together (more: ENOSPC)",
        },
        max_queued_param_bytes: u32 {
            default: 4194304,
            description: "parameter bytes held for lists not yet run, per camera (more: ENOBUFS)",
        },
        max_subscribers: u32 {
            default: 32,
            description: "files with event subscriptions per camera (more: EUSERS)",
        },
        max_buffers: u32 {
            default: 128,
            description: "imported buffers per camera, all files together (more: ENFILE)",
        },
        access_timeout_ms: u32 {
            default: 2000,
            description: "watchdog of one register access or parameter transfer, 1..=60000 ms",
        },
    },
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
        let limits = limits::Limits::new(
            module_parameters::max_lists.value(),
            module_parameters::max_queued_param_bytes.value(),
            module_parameters::max_subscribers.value(),
            module_parameters::max_buffers.value(),
            module_parameters::access_timeout_ms.value(),
        )
        .inspect_err(|_| {
            pr_err!("kcam: every limit must be at least 1, access_timeout_ms 1..=60000\n");
        })?;
        // Before the first camera registers: its files switch to these operations when opened.
        // SAFETY: Module init, before vcam's probe (below) registers the first camera: no camera file is open, and
        // none opens meanwhile.
        unsafe { uring::init() };
        Ok(Self {
            _fences: FenceGuard,
            _vcam: vcam::Instance::probe(module_parameters::fps.value(), limits)?,
        })
    }
}

#[kunit_tests(kcam_core)]
mod tests {
    use super::*;
    use crate::{
        camera::{Backend, CameraCtx, RunCtx},
        device::KcamDevice,
        events::{FileEvents, StreamStep},
        fence::{Fence, FenceStatus},
        hook::Hook,
        limits::{Budget, Limits},
        list::List,
        sched::{FenceQueue, Job},
        vcam::{self, Vcam},
    };
    use core::ffi::c_void;
    use kernel::sync::{
        atomic::{Atomic, Relaxed},
        Arc,
    };

    /// A hook that counts its calls in `counter`, which must outlive it.
    fn counting_hook(counter: &Atomic<u32>) -> Hook {
        /// # Safety
        ///
        /// `arg` points to a live `Atomic<u32>`.
        unsafe fn bump(arg: *mut c_void) {
            // SAFETY: By the function's safety requirement.
            unsafe { &*arg.cast::<Atomic<u32>>() }.fetch_add(1, Relaxed);
        }
        // SAFETY: `bump` only touches an atomic, in any context, and answers each call at once; the callers keep
        // `counter` alive while the hook lives.
        unsafe { Hook::new(bump, core::ptr::from_ref(counter).cast_mut().cast()) }
    }

    fn limits(access_timeout_ms: u32) -> Result<Limits> {
        Limits::new(8, 64, 2, 4, access_timeout_ms)
    }

    /// A camera with vcam as its backend (not registered: no device node), and that vcam.
    fn device() -> Result<(Arc<KcamDevice>, Arc<Vcam>)> {
        device_with(limits(100)?)
    }

    fn device_with(camera_limits: Limits) -> Result<(Arc<KcamDevice>, Arc<Vcam>)> {
        let ctx = CameraCtx::new(vcam::ENTITIES.len(), camera_limits)?;
        let vcam = Vcam::new(ctx.events.clone(), ctx.waker.clone(), 100)?;
        let limits = validate::Limits {
            max_ops: 4,
            max_param_bytes: 16,
        };
        let backend: KBox<dyn Backend> = KBox::new(vcam.clone(), GFP_KERNEL)?;
        Ok((
            KcamDevice::new(&vcam::ENTITIES, ctx, backend, limits, c"kcam-test")?,
            vcam,
        ))
    }

    /// Runs `ops` directly (no queue), uncancelled, without fences.
    fn run(dev: &KcamDevice, ops: &mut [Op]) -> Option<usize> {
        let cancel = Atomic::new(0);
        let cx = RunCtx::bare(&dev.camera.waker, &cancel, 100_000_000);
        dev.camera.run(&cx, ops)
    }

    fn read(dev: &KcamDevice, idx: usize, reg: u32) -> Result<u64> {
        let cancel = Atomic::new(0);
        let cx = RunCtx::bare(&dev.camera.waker, &cancel, 100_000_000);
        dev.camera.backend.read(&cx, idx, reg)
    }

    fn op(opcode: uapi::Opcode, entity: u32, reg: u32, value: u64) -> Op {
        let mut o = Op::new(opcode, entity, reg);
        o.value = value;
        o
    }

    /// A list of `ops` with nothing else.
    fn list(ops: &[Op]) -> Result<List> {
        let mut v = KVVec::new();
        for o in ops {
            v.push(*o, GFP_KERNEL)?;
        }
        Ok(List {
            ops: v,
            fences: KVec::new(),
            params: KVec::new(),
            param_bytes: None,
            buffers: KVec::new(),
        })
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
        let cx = RunCtx::bare(&dev.camera.waker, &cancel, 100_000_000);
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
        let (dev, vcam) = device_with(limits(60_000)?)?;
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
        // A hung access blocks the worker (the watchdog is a minute here) until RESET, which cancels the list and
        // clears the fault.
        vcam.set_faults(|f| f.hang = true);
        let slot = dev.budget.take_list()?;
        let l = list(&[op(uapi::Opcode::Read, 1, 1, 0)])?;
        let (job, _) = dev.queue_job(0, 0, l, false, slot)?;
        dev.reset();
        job.wait(dev.waker(), 1_000_000_000)?;
        dev.flush();
        assert_eq!(job.data.lock().list.ops[0].status, ECANCELED.to_errno());
        assert!(!vcam.faults().hang);
        assert_eq!(read(&dev, 0, 1)?, 1000);
        Ok(())
    }

    #[test]
    fn watchdog_ends_a_list_on_a_hung_device() -> Result {
        // A 20 ms watchdog: the hung access fails with ETIMEDOUT, the rest of the list is cancelled.
        let (dev, vcam) = device_with(limits(20)?)?;
        vcam.set_faults(|f| f.hang = true);
        let cancel = Atomic::new(0);
        let cx = RunCtx::bare(&dev.camera.waker, &cancel, 20_000_000);
        let mut ops = [
            op(uapi::Opcode::Read, 1, 1, 0),
            op(uapi::Opcode::Nop, 0, 0, 0),
        ];
        assert_eq!(dev.camera.run(&cx, &mut ops), Some(0));
        assert_eq!(ops[0].status, ETIMEDOUT.to_errno());
        assert_eq!(ops[1].status, ECANCELED.to_errno());
        // Still hung until reset.
        assert!(vcam.faults().hang);
        vcam.reset();
        Ok(())
    }

    #[test]
    fn fences_signal_in_seqno_order() -> Result {
        let (dev, _vcam) = device()?;
        let ctx = Fence::new_context();
        let budget = Budget::new(limits(100)?)?;
        let job = |seqno| -> Result<Arc<Job>> {
            Job::new(
                seqno,
                0,
                0,
                list(&[op(uapi::Opcode::Nop, 0, 0, 0)])?,
                Some(Fence::new(ctx, seqno, c"kcam-test")?),
                budget.take_list()?,
            )
        };
        let (first, second) = (job(1)?, job(2)?);
        let mut q = FenceQueue::new();
        for j in [&first, &second] {
            q.reserve()?;
            q.push(j.clone());
        }
        // The later job is cancelled and done first: its fence must wait for the earlier one's.
        second.finish_unrun(dev.waker());
        q.release();
        let status = |j: &Job| j.fence_status();
        assert_eq!(status(&second), Some(FenceStatus::Pending));
        first.finish(dev.waker());
        q.release();
        assert_eq!(status(&first), Some(FenceStatus::Signalled));
        assert_eq!(status(&second), Some(FenceStatus::Failed(ECANCELED)));
        Ok(())
    }

    /// A list's fence signals before anyone can see it done (`KCAM_IOC_WAIT`, its io_uring completion): the
    /// camera ends a job, releases the fences, and only then finishes it. (Finishing first let a waiter return
    /// with the fence still pending: e2e out-fence and fence-merge failed under load.)
    #[test]
    fn fence_signals_before_the_job_is_seen_done() -> Result {
        let (dev, _vcam) = device()?;
        let budget = Budget::new(limits(100)?)?;
        let job = Job::new(
            1,
            0,
            0,
            list(&[op(uapi::Opcode::Nop, 0, 0, 0)])?,
            Some(Fence::new(Fence::new_context(), 1, c"kcam-test")?),
            budget.take_list()?,
        )?;
        let mut q = FenceQueue::new();
        q.reserve()?;
        q.push(job.clone());
        job.end();
        q.release();
        assert_eq!(job.fence_status(), Some(FenceStatus::Signalled));
        assert!(!job.is_done());
        job.finish(dev.waker());
        assert!(job.is_done());
        Ok(())
    }

    /// The other side of the order above: once a list's fence signalled, `KCAM_IOC_WAIT` finds it done, even
    /// with a zero timeout, although the camera finishes the job only after it released the fence. (A waiter
    /// that polled the fence, then waited with timeout 0, got `EAGAIN`: e2e hang-watchdog, under load.)
    #[test]
    fn a_signalled_fence_means_the_wait_is_done() -> Result {
        let (dev, _vcam) = device()?;
        let budget = Budget::new(limits(100)?)?;
        let job = Job::new(
            1,
            0,
            0,
            list(&[op(uapi::Opcode::Nop, 0, 0, 0)])?,
            Some(Fence::new(Fence::new_context(), 1, c"kcam-test")?),
            budget.take_list()?,
        )?;
        let mut q = FenceQueue::new();
        q.reserve()?;
        q.push(job.clone());
        job.end();
        q.release();
        assert_eq!(job.fence_status(), Some(FenceStatus::Signalled));
        // The camera's context finishes the job a moment later.
        let (late_job, late_dev) = (job.clone(), dev.clone());
        kernel::workqueue::system().try_spawn(GFP_KERNEL, move || {
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(50));
            late_job.finish(late_dev.waker());
        })?;
        assert!(job.wait(dev.waker(), 0).is_ok());
        assert!(job.is_done());
        Ok(())
    }

    #[test]
    fn camera_limits_are_enforced() -> Result {
        let budget = Budget::new(limits(100)?)?;
        let mut slots = KVec::new();
        for _ in 0..8 {
            slots.push(budget.take_list()?, GFP_KERNEL)?;
        }
        assert!(budget.take_list().is_err_and(|e| e == ENOSPC));
        drop(slots.pop());
        let _again = budget.take_list()?;
        let held = budget.take_param_bytes(60)?;
        assert!(budget.take_param_bytes(5).is_err_and(|e| e == ENOBUFS));
        drop(held);
        let _fits = budget.take_param_bytes(64)?;
        // Two subscribed files at most; a file without subscriptions is not counted.
        let (dev, _vcam) = device()?;
        let hub = &dev.camera.events;
        let files = [hub.open()?, hub.open()?, hub.open()?];
        let frame_end = uapi::EventType::FrameEnd as u32;
        hub.subscribe(&files[0], 0, frame_end, true)?;
        hub.subscribe(&files[1], 0, frame_end, true)?;
        assert!(hub
            .subscribe(&files[2], 0, frame_end, true)
            .is_err_and(|e| e == EUSERS));
        hub.subscribe(&files[0], 0, frame_end, false)?;
        hub.subscribe(&files[2], 0, frame_end, true)?;
        for f in &files {
            hub.close(f);
        }
        Ok(())
    }

    #[test]
    fn fence_timeline_is_the_device_node() -> Result {
        // vcam holds kcam0: a second camera registers as kcam1, and its fences say so.
        let ctx = CameraCtx::new(vcam::ENTITIES.len(), limits(100)?)?;
        let vcam = Vcam::new(ctx.events.clone(), ctx.waker.clone(), 30)?;
        let backend: KBox<dyn Backend> = KBox::new(vcam, GFP_KERNEL)?;
        let reg = crate::registry::register(&vcam::ENTITIES, ctx, backend)?;
        let fence = Fence::new(Fence::new_context(), 1, reg.device().name())?;
        let mut buf = [0u8; 16];
        assert_eq!(fence.timeline(&mut buf), b"kcam1");
        fence.signal(None);
        Ok(())
    }

    #[test]
    fn streaming_emits_frames_in_order() -> Result {
        let (dev, vcam) = device()?;
        let hub = &dev.camera.events;
        let file = hub.open()?;
        hub.subscribe(&file, 0, uapi::EventType::FrameEnd as u32, true)?;
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
        let mut seen = KVec::new();
        for _ in 0..2 {
            file.dequeue(|e| seen.push(*e, GFP_KERNEL).map_err(Into::into))?;
        }
        assert_eq!(seen[1].sequence, seen[0].sequence + 1);
        assert!(seen[1].timestamp_ns > seen[0].timestamp_ns);
        assert_eq!(seen[0].entity_id, 1);
        hub.close(&file);
        Ok(())
    }

    #[test]
    fn job_hook_is_called_once_when_done() -> Result {
        let (dev, _vcam) = device()?;
        let budget = Budget::new(limits(100)?)?;
        let job = || {
            Job::new(
                1,
                0,
                0,
                list(&[op(uapi::Opcode::Nop, 0, 0, 0)])?,
                None,
                budget.take_list()?,
            )
        };
        // Set before the job is done: called when it finishes.
        let calls = Atomic::new(0u32);
        let before = job()?;
        before.on_done(counting_hook(&calls));
        assert_eq!(calls.load(Relaxed), 0);
        before.finish(dev.waker());
        assert_eq!(calls.load(Relaxed), 1);
        // Set after: called at once.
        let after = job()?;
        after.finish_unrun(dev.waker());
        after.on_done(counting_hook(&calls));
        assert_eq!(calls.load(Relaxed), 2);
        Ok(())
    }

    #[test]
    fn cancel_by_seqno_of_the_owner_only() -> Result {
        let (dev, _vcam) = device()?;
        let delay = |ns| {
            let mut o = op(uapi::Opcode::Delay, 0, 0, 0);
            o.timeout_ns = ns;
            o
        };
        let (running, _) = dev.queue_job(
            7,
            0,
            list(&[delay(2_000_000_000)])?,
            false,
            dev.budget.take_list()?,
        )?;
        let (queued, _) =
            dev.queue_job(7, 0, list(&[delay(1)])?, false, dev.budget.take_list()?)?;
        // Until the worker has started the first one (bounded: it does at once).
        for _ in 0..2000 {
            if dev.running_seqno() == Some(running.seqno) {
                break;
            }
            crate::glue::sleep_killable(1_000_000);
        }
        assert_eq!(dev.running_seqno(), Some(running.seqno));
        // Another file's number, or one never given: nothing happens.
        assert!(dev.cancel_list(8, queued.seqno).is_err_and(|e| e == ENOENT));
        assert!(dev
            .cancel_list(7, queued.seqno + 100)
            .is_err_and(|e| e == ENOENT));
        assert!(!queued.is_done());
        // Queued: ended at once, every op ECANCELED.
        dev.cancel_list(7, queued.seqno)?;
        assert!(queued.is_done());
        assert_eq!(queued.data.lock().list.ops[0].status, ECANCELED.to_errno());
        // Running: told, stops at its next op or wait (the 2 s delay ends now).
        assert!(dev
            .cancel_list(7, running.seqno)
            .is_err_and(|e| e == EALREADY));
        running.wait(dev.waker(), 1_000_000_000)?;
        assert_eq!(running.data.lock().list.ops[0].status, ECANCELED.to_errno());
        // Done: nothing to cancel.
        assert!(dev
            .cancel_list(7, running.seqno)
            .is_err_and(|e| e == ENOENT));
        dev.flush();
        Ok(())
    }

    /// `f.stream_step()`, as the owner of a stream whose hook counts calls.
    fn step(f: &FileEvents) -> StreamStep {
        // SAFETY: A counting hook answers every call at once (`hook.rs`): the hook may be called again any time.
        unsafe { f.stream_step() }
    }

    #[test]
    fn event_stream_is_told_once_and_ends_after_its_queue() -> Result {
        let (dev, _vcam) = device()?;
        let hub = &dev.camera.events;
        let f = hub.open()?;
        let calls = Atomic::new(0u32);
        let frame_end = uapi::EventType::FrameEnd as u32;
        // A stream needs a subscription (it would never get anything), and one per file.
        assert!(hub
            .arm_stream(&f, counting_hook(&calls))
            .is_err_and(|e| e == EINVAL));
        hub.subscribe(&f, 0, frame_end, true)?;
        hub.arm_stream(&f, counting_hook(&calls))?;
        assert!(hub
            .arm_stream(&f, counting_hook(&calls))
            .is_err_and(|e| e == EBUSY));
        assert_eq!(calls.load(Relaxed), 0);
        assert!(!f.has_events());
        // Two events, one call: the owner is told until it comes back.
        hub.emit(0, 1, frame_end, 10);
        hub.emit(0, 1, frame_end, 11);
        assert_eq!(calls.load(Relaxed), 1);
        assert!(f.has_events());
        let mut data = KVec::new();
        for _ in 0..2 {
            assert_eq!(step(&f), StreamStep::Event);
            f.dequeue(|e| data.push(e.data[0], GFP_KERNEL).map_err(Into::into))?;
        }
        assert_eq!(&data[..], &[10, 11]);
        assert_eq!(step(&f), StreamStep::Idle);
        // Back: the next event tells it again.
        hub.emit(0, 1, frame_end, 12);
        assert_eq!(calls.load(Relaxed), 2);
        // Ended while told: no new call; what is queued goes first, then the end.
        assert!(f.end_stream(ECANCELED.to_errno()));
        assert_eq!(calls.load(Relaxed), 2);
        assert_eq!(step(&f), StreamStep::Event);
        f.dequeue(|_| Ok(()))?;
        assert_eq!(step(&f), StreamStep::End(ECANCELED.to_errno()));
        assert!(!f.end_stream(ECANCELED.to_errno()));
        // The last subscription going ends it with 0.
        hub.arm_stream(&f, counting_hook(&calls))?;
        hub.subscribe(&f, 0, frame_end, false)?;
        assert_eq!(calls.load(Relaxed), 3);
        assert_eq!(step(&f), StreamStep::End(0));
        // Removal ends it with ENODEV, and no stream starts after.
        hub.subscribe(&f, 0, frame_end, true)?;
        hub.arm_stream(&f, counting_hook(&calls))?;
        hub.shutdown();
        assert_eq!(calls.load(Relaxed), 4);
        assert_eq!(step(&f), StreamStep::End(ENODEV.to_errno()));
        assert!(hub
            .arm_stream(&f, counting_hook(&calls))
            .is_err_and(|e| e == ENODEV));
        hub.close(&f);
        Ok(())
    }
}
