// SPDX-License-Identifier: GPL-2.0

//! KCAM over io_uring: `IORING_OP_URING_CMD` on a camera file (uAPI and semantics: `include/uapi/linux/kcam.h`), and
//! the file's `poll`.
//!
//! 7.3's Rust `MiscDevice` has neither a `poll` nor a `uring_cmd` operation. So `uring_glue.c` copies the Rust
//! miscdevice's file operations once ([`init`]) with both added, a camera file switches to that copy when it is
//! opened ([`install_fops`]), and both call back into Rust here with the file's `KcamFile`. The upstream change
//! that removes this is in the README (KCAM over io_uring).
//!
//! The commands:
//! - `KCAM_IOC_SUBMIT` takes the ioctl's steps ([`KcamFile::check_header`], [`KcamFile::read_list`],
//!   `KcamDevice::queue_job`) and answers as it does, with `ASYNC` implied. A list that asks for no out-fence and
//!   never waits (no `POLL`, `DELAY` or wait op) on an idle camera takes the ioctl's fast path instead
//!   (`KcamDevice::run_direct`): it runs while the command is issued, in the submitting task, and the command
//!   completes at once. Otherwise, issued inline (the default), the command stays with its job: the job's [`Hook`]
//!   queues task work once the job is done, which writes the results back to the list in the submitting task and
//!   completes the command. The ring's or task's exit
//!   (`IO_URING_F_CANCEL`) stops the job, whose end completes the command the same way. Issued by an io-wq worker
//!   (`IOSQE_ASYNC`), the worker waits for the job interruptibly, so that `IORING_OP_ASYNC_CANCEL`, which signals it
//!   (`TIF_NOTIFY_SIGNAL`), stops the job.
//! - `KCAM_IOC_CANCEL` is the ioctl's.
//! - `KCAM_IOC_DQEVENT` (multishot) arms the file's event stream (`events.rs`); its hook queues task work, one at a
//!   time, that posts every queued event in a provided buffer.
//!
//! A command completes exactly once: when issued (an error, `TEST_ONLY`, the io-wq path), or in its task work.
//! Only its hook queues that task work, and when it completes the command nothing can queue it again: a job calls
//! its hook once, consuming it ([`Hook::call`]); a stream is disarmed, dropping its hook, before its command
//! completes. Until then, the command's pdu owns a reference on the job or on the file's events. Task work and
//! `IO_URING_F_CANCEL` both run under the ring's `uring_lock`, so they never overlap.
//!
//! The types say which call of io_uring runs. A command is an [`Issuing`] while `->uring_cmd` issues it (its SQE
//! is readable): it completes now ([`Issuing::done`]), or its pdu is set ([`WithPdu`]) and [`WithPdu::hook`]
//! (`unsafe`: the issue must then not complete it) hands its completion to a job or a stream. It is an
//! [`InTaskWork`] in its task work, which posts events and completes it ([`InTaskWork::done`], `unsafe`: once the
//! hook is gone). Each is made only by the entry point of that call and lent out, neither is `Copy` or `Clone`, and
//! completing consumes it. The operations of camera files are set up at module init ([`init`]) and switched to by
//! `open` ([`install_fops`]), both `unsafe` for that reason.

use crate::{
    device::KcamDevice,
    events::{FileEvents, StreamStep, QUEUE_LEN},
    fence::FenceFd,
    file::{self, KcamFile},
    hook::Hook,
    list::{self, List},
    sched::Job,
    shared::uapi::{self, Cancel, Event, Op, Submit, UringCmd},
};
use core::ffi::{c_int, c_uint, c_void};
use kernel::{
    bindings::{self as kb, io_uring_cmd},
    error::to_result,
    fs::File,
    ioctl::_IOC_NR,
    miscdevice::MiscDeviceOptions,
    prelude::*,
    sync::{poll::PollTable, Arc, ArcBorrow},
    transmute::FromBytes,
    types::ForeignOwnable,
    uaccess::{UserPtr, UserSlice},
};

/// The declarations of `uring_glue.h`, generated at build time.
#[allow(
    improper_ctypes,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    unreachable_pub,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]
mod bindings {
    include!("uring_glue_bindings.rs");
}

/// Makes the operations camera files switch to when opened: the Rust miscdevice's, with `poll` and `uring_cmd`.
///
/// # Safety
///
/// No camera file is open or being opened (module init, before any camera registers): the operations it writes
/// are those open files use.
pub(crate) unsafe fn init() {
    let raw = MiscDeviceOptions { name: c"kcam" }.into_raw::<KcamFile>();
    // SAFETY: `raw.fops` is the `'static` operations table of `KcamFile`'s miscdevice; no file uses the copy yet.
    unsafe { bindings::kcam_uring_fops_init(raw.fops) };
}

/// Switches a camera file being opened to the operations of [`init`].
///
/// # Safety
///
/// `file` is a camera file being opened (`KcamFile::open`), and [`init`] ran before its camera registered.
pub(crate) unsafe fn install_fops(file: &File) -> Result {
    // SAFETY: `file` is being opened as a camera file (the function's safety requirement): its operations are those
    // `init` copied, and its open may replace them, as `misc_open` did; `init` filled the table it switches to.
    to_result(unsafe { bindings::kcam_uring_fops_install(file.as_ptr()) })
}

/// While it lives, io_uring task work for the current task (a CQE on its way, `TIF_NOTIFY_SIGNAL`) does not
/// interrupt its waits: only a signal does, and the task work runs when the syscall returns. For the ioctls that
/// wait for a list (`KCAM_IOC_SUBMIT`, `KCAM_IOC_WAIT`), where an interruption is not a retry but cancels the list
/// or fails the call: a thread of a program that uses io_uring for anything would otherwise see its synchronous
/// lists cancelled whenever one of its completions arrived.
pub(crate) struct NoNotifySignal(c_uint);

impl NoNotifySignal {
    pub(crate) fn new() -> Self {
        // SAFETY: No preconditions; it sets a flag of the current task, which `drop` puts back.
        Self(unsafe { bindings::kcam_uring_no_notify_signal_save() })
    }
}

impl Drop for NoNotifySignal {
    fn drop(&mut self) {
        // SAFETY: The flags `new` saved, in the same task (the guard lives on its stack within one call).
        unsafe { bindings::kcam_uring_no_notify_signal_restore(self.0) };
    }
}

/// An io_uring command on a camera file while io_uring issues it. Only `kcam_rust_uring_cmd` makes one, for the
/// duration of the issue, and lends it out; the issue ends by completing it ([`Issuing::done`]) or by handing its
/// completion to a job or an event stream ([`WithPdu::hook`]).
///
/// # Invariants
///
/// `ptr` is a command on a camera file that io_uring issues now, with `how.flags`: its SQE is readable and it is not
/// completed.
struct Issuing {
    ptr: *mut io_uring_cmd,
    how: Issue,
}

impl Issuing {
    fn op(&self) -> u32 {
        // SAFETY: A valid command (type invariant).
        unsafe { bindings::kcam_uring_cmd_op(self.ptr) }
    }

    fn multishot(&self) -> bool {
        // SAFETY: A valid command (type invariant).
        unsafe { bindings::kcam_uring_cmd_multishot(self.ptr) }
    }

    fn fixed(&self) -> bool {
        // SAFETY: A valid command (type invariant).
        unsafe { bindings::kcam_uring_cmd_fixed(self.ptr) }
    }

    /// The SQE's command bytes.
    fn bytes(&self) -> UringCmd {
        let (mut arg, mut reserved) = (0, 0);
        // SAFETY: A valid command being issued, whose SQE is readable (type invariant); the glue writes both outputs.
        unsafe { bindings::kcam_uring_cmd_bytes(self.ptr, &mut arg, &mut reserved) };
        UringCmd { arg, reserved }
    }

    /// The SQE's buffer group.
    fn buf_group(&self) -> u16 {
        // SAFETY: As for `bytes`.
        unsafe { bindings::kcam_uring_cmd_buf_group(self.ptr) }
    }

    /// Sets the pdu, which its task work and `IO_URING_F_CANCEL` read ([`Queued`]); then the command may be queued.
    ///
    /// # Safety
    ///
    /// `data` is a reference from `Arc::into_raw`, which the pdu owns from now on: on the command's job for
    /// `KCAM_IOC_SUBMIT`, on its file's events for `KCAM_IOC_DQEVENT`.
    unsafe fn set_pdu(&self, data: *const c_void, buf_group: u16) -> WithPdu<'_> {
        let pdu = bindings::kcam_uring_pdu {
            data,
            buf_group,
            cqe32: self.how.cqe32,
        };
        // SAFETY: The pdu of a valid command (type invariant), which only this module uses and which lives as long as
        // the command; no task work of the command runs during its issue.
        unsafe { bindings::kcam_uring_pdu_of(self.ptr).write(pdu) };
        // INVARIANT: Set just now.
        WithPdu(self)
    }

    /// Completes the command now (`res2` goes to 32-byte CQEs).
    fn done(self, res: i32, res2: u64) {
        // SAFETY: A valid command being issued with `how.flags` (type invariant). It completes once: `self` goes, and
        // the issue that completes it handed its completion to no hook (`WithPdu::hook`'s safety requirement).
        unsafe { bindings::kcam_uring_done(self.ptr, res, res2, self.how.cqe32, self.how.flags) };
    }
}

/// A command being issued whose pdu is set ([`Issuing::set_pdu`]): it may be queued.
///
/// # Invariants
///
/// The pdu of `0` is set.
struct WithPdu<'a>(&'a Issuing);

impl WithPdu<'_> {
    /// Lets ring and task exit reach the command (`IO_URING_F_CANCEL`, which reads the pdu).
    fn mark_cancelable(&self) {
        // SAFETY: A valid command being issued with `how.flags` (`Issuing`'s invariant).
        unsafe { bindings::kcam_uring_mark_cancelable(self.0.ptr, self.0.how.flags) };
    }

    /// The hook that queues the command's task work (which reads the pdu) and so completes it. `once`: that task work
    /// posts exactly one CQE (a list's completion), so a waiter is woken only when all the CQEs it waits for are due.
    ///
    /// # Safety
    ///
    /// From now on, the command completes only by that task work: unless the hook goes without having been called,
    /// the issue ends with [`Outcome::Queued`], never [`Issuing::done`]. Its user lets go of the hook before the task
    /// work completes the command (a job calls it with [`Hook::call`]; a stream is disarmed first).
    unsafe fn hook(&self, once: bool) -> Hook {
        /// # Safety
        ///
        /// `cmd` is an `io_uring_cmd` not completed yet and not waiting for its task work.
        unsafe fn complete_in_task(cmd: *mut c_void) {
            // SAFETY: By the function's safety requirement.
            unsafe { bindings::kcam_uring_complete_in_task(cmd.cast(), false) };
        }
        /// # Safety
        ///
        /// As `complete_in_task`, and the task work posts exactly one CQE.
        unsafe fn complete_in_task_lazy(cmd: *mut c_void) {
            // SAFETY: By the function's safety requirement.
            unsafe { bindings::kcam_uring_complete_in_task(cmd.cast(), true) };
        }
        let f = if once {
            complete_in_task_lazy
        } else {
            complete_in_task
        };
        // SAFETY: Queueing task work may be done in any context. While the hook lives the command is not completed
        // (the function's safety requirement), and when every earlier call was answered (its task work has started,
        // so it is not waiting for it) it may queue its task work again. A job's task work posts one CQE.
        unsafe { Hook::new(f, self.0.ptr.cast()) }
    }
}

/// What a queued command's pdu holds, and its op.
struct Queued {
    op: u32,
    pdu: bindings::kcam_uring_pdu,
}

impl Queued {
    /// # Safety
    ///
    /// `cmd` is a command on a camera file that this module queued (its issue set its pdu and made its hook), not
    /// completed, and no issue of it runs.
    unsafe fn read(cmd: *mut io_uring_cmd) -> Self {
        // SAFETY: A valid command (the function's safety requirement); its pdu, set, lives as long as it does.
        unsafe {
            Self {
                op: bindings::kcam_uring_cmd_op(cmd),
                pdu: bindings::kcam_uring_pdu_of(cmd).read(),
            }
        }
    }
}

/// A queued command in its task work. Only `kcam_rust_uring_task_work` makes one, for the duration of the task work,
/// and lends it out.
///
/// # Invariants
///
/// `ptr` is a command on a camera file that this module queued, whose pdu and op are `queued`, not completed; its
/// task work, which its hook queued, runs now with `flags`.
struct InTaskWork {
    ptr: *mut io_uring_cmd,
    flags: c_uint,
    queued: Queued,
}

impl InTaskWork {
    /// Posts `event` in a buffer of the stream's group as a CQE that says more follow.
    fn post_event(&self, event: &Event) -> Result {
        let ptr = core::ptr::from_ref(event).cast::<c_void>();
        let group = self.queued.pdu.buf_group;
        // SAFETY: A valid command in its task work, with its `flags` (type invariant); `ptr` is readable for the
        // size. (A command that is not multishot gets an error.)
        let r = unsafe {
            bindings::kcam_uring_post_event(self.ptr, group, ptr, size_of::<Event>(), self.flags)
        };
        // A posting error never asks for a retry: the stream ends with it.
        to_result(r).map_err(|e| if e == EAGAIN { ENOBUFS } else { e })
    }

    /// Completes the command (`res2` goes to 32-byte CQEs).
    ///
    /// # Safety
    ///
    /// The command's hook is gone (a job's was consumed by its call; a stream's goes when it is disarmed): nothing
    /// queues this task work again.
    unsafe fn done(self, res: i32, res2: u64) {
        let cqe32 = self.queued.pdu.cqe32;
        // SAFETY: A valid command in its task work, with its `flags` (type invariant). It completes once: `self`
        // goes, and its task work does not come again (the function's safety requirement).
        unsafe { bindings::kcam_uring_done(self.ptr, res, res2, cqe32, self.flags) };
    }
}

/// How a command is issued.
#[derive(Clone, Copy)]
struct Issue {
    /// The issue flags, for the io_uring calls made while issuing.
    flags: c_uint,
    /// By an io-wq worker (`IOSQE_ASYNC`): may block, and waits for its list itself.
    blocking: bool,
    /// The ring has 32-byte CQEs: completions carry `res2`.
    cqe32: bool,
}

/// What became of a submission.
enum Submitted {
    /// `TEST_ONLY`: validated, nothing ran.
    TestOnly,
    /// Ran at once on the idle camera (the fast path); its first failed op, if any.
    Ran(List, Option<usize>),
    /// Queued for the camera's worker, with its out-fence if it asked for one.
    Queued(Arc<Job>, Option<FenceFd>),
}

/// How an issued command goes on.
enum Outcome {
    /// It completes now with `res` and `res2` ([`Issuing::done`]).
    Now(i32, u64),
    /// Its task work completes it: it handed its completion to a hook ([`WithPdu::hook`]).
    Queued,
}

fn read_user<T: FromBytes>(addr: u64) -> Result<T> {
    let addr = usize::try_from(addr).map_err(|_| EFAULT)?;
    UserSlice::new(UserPtr::from_addr(addr), size_of::<T>())
        .reader()
        .read::<T>()
}

fn issue(me: &KcamFile, cmd: &Issuing) -> Outcome {
    let r = (|| -> Result<Outcome> {
        me.dev.check_present()?;
        let UringCmd { arg, reserved } = cmd.bytes();
        // No command takes a registered buffer.
        if reserved != 0 || cmd.fixed() {
            return Err(EINVAL);
        }
        let op = cmd.op();
        match op {
            file::IOC_SUBMIT if !cmd.multishot() => Ok(submit(me, cmd, arg)),
            file::IOC_CANCEL if !cmd.multishot() => {
                me.cancel(&read_user::<Cancel>(arg)?)?;
                Ok(Outcome::Now(0, 0))
            }
            file::IOC_DQEVENT => stream(me, cmd, arg),
            _ if file::is_ours_misshapen(op) => {
                let nr = _IOC_NR(op);
                if [
                    uapi::IOC_NR_SUBMIT,
                    uapi::IOC_NR_CANCEL,
                    uapi::IOC_NR_DQEVENT,
                ]
                .contains(&nr)
                {
                    // Another layout, or multishot for a command that is not.
                    Err(EINVAL)
                } else {
                    Err(EOPNOTSUPP)
                }
            }
            _ => Err(ENOTTY),
        }
    })();
    r.unwrap_or_else(|e| Outcome::Now(e.to_errno(), 0))
}

/// `KCAM_IOC_SUBMIT` of the `struct kcam_submit` at `arg`.
fn submit(me: &KcamFile, cmd: &Issuing, arg: u64) -> Outcome {
    let how = cmd.how;
    let dev = &me.dev;
    let Ok(addr) = usize::try_from(arg) else {
        return Outcome::Now(EFAULT.to_errno(), 0);
    };
    let (mut r, mut w) =
        UserSlice::new(UserPtr::from_addr(addr), size_of::<Submit>()).reader_writer();
    let mut s = match r.read::<Submit>() {
        Ok(s) => s,
        Err(e) => return Outcome::Now(e.to_errno(), 0),
    };
    let submitted: Result<Submitted> = (|| {
        if !me.check_header(&mut s, uapi::SUBMIT_ASYNC)? {
            return Ok(Submitted::TestOnly);
        }
        let (mut list, slot) = me.read_list(&mut s)?;
        let out_fence = s.flags & uapi::SUBMIT_OUT_FENCE != 0;
        // The fast path, as the ioctl's: a list that asks for no fence and never waits runs at once, in this
        // task, if the camera is idle; the command then completes now, without a job, a worker or task work.
        if !out_fence && list.never_waits() {
            // Inline, io_uring task work for this task (another request's completion) sets `TIF_NOTIFY_SIGNAL`,
            // which would stop the list as a signal does; by an io-wq worker, that flag is
            // `IORING_OP_ASYNC_CANCEL`'s and must stop it.
            let _no_notify = (!how.blocking).then(NoNotifySignal::new);
            if let Some((seqno, failed)) = dev.run_direct(me.id, &mut list)? {
                s.seqno = seqno;
                return Ok(Submitted::Ran(list, failed));
            }
        }
        let (job, fd) = dev.queue_job(me.id, s.ops_ptr, list, out_fence, slot)?;
        s.seqno = job.seqno;
        s.out_fence_fd = fd.as_ref().map_or(-1, |f| f.fd());
        Ok(Submitted::Queued(job, fd))
    })();
    // As the ioctl's: the reply goes back even when the submission failed, and a list whose seqno userspace never
    // learnt is cancelled.
    if let Err(e) = w.write(&s) {
        if let Ok(Submitted::Queued(job, _)) = &submitted {
            dev.stop_job(job, ECANCELED);
        }
        return Outcome::Now(e.to_errno(), u64::from(s.error_idx));
    }
    let (job, fd) = match submitted {
        Err(e) => return Outcome::Now(e.to_errno(), u64::from(s.error_idx)),
        Ok(Submitted::TestOnly) => return Outcome::Now(0, u64::from(s.error_idx)),
        Ok(Submitted::Ran(list, failed)) => {
            let (res, res2) = results(&list.ops, failed, s.ops_ptr);
            return Outcome::Now(res, res2);
        }
        Ok(Submitted::Queued(job, fd)) => (job, fd),
    };
    if let Some(fd) = fd {
        fd.install();
    }
    if how.blocking {
        return wait(dev, &job);
    }
    // The pdu's reference goes in the task work that completes the command.
    // SAFETY: A reference on the command's job (a submission's), which `into_raw` gives.
    let cmd = unsafe { cmd.set_pdu(Arc::into_raw(job.clone()).cast(), 0) };
    cmd.mark_cancelable();
    // Called when the job is done, maybe now: its task work runs in this task, once this issue returned.
    // SAFETY: The issue returns `Queued` right after, and the job lets go of the hook by calling it (`Hook::call`).
    job.on_done(unsafe { cmd.hook(true) });
    Outcome::Queued
}

/// The io-wq path: waits for the job, then writes its results back.
fn wait(dev: &KcamDevice, job: &Arc<Job>) -> Outcome {
    if job.wait(dev.waker(), u64::MAX).is_err() {
        // A signal: `IORING_OP_ASYNC_CANCEL` (io-wq's TIF_NOTIFY_SIGNAL), or the process is being killed. Queued,
        // the list ends at once; running, at its next op.
        dev.stop_job(job, ECANCELED);
        if dev.wait_stopped(job).is_err() {
            // Killed: nobody is left to read the results.
            return Outcome::Now(ECANCELED.to_errno(), 0);
        }
    }
    let (res, res2) = job_results(job);
    Outcome::Now(res, res2)
}

/// Writes a done job's results back to its list (in the submitting process); the CQE's `res` and `res2`.
fn job_results(job: &Job) -> (i32, u64) {
    let data = job.data.lock();
    results(&data.list.ops, data.failed, job.ops_ptr)
}

/// Writes the results of a list that ran, whose first failed op is `failed`, back to `ops_ptr`; the CQE's `res`
/// (0, the failed op's status, or the copy's error) and `res2` (the failed op's index, or the list's length).
fn results(ops: &[Op], failed: Option<usize>, ops_ptr: u64) -> (i32, u64) {
    // CAST: an index of a list of at most MAX_OPS ops.
    let idx = failed.unwrap_or(ops.len()) as u64;
    let status = failed.and_then(|i| ops.get(i)).map_or(0, |op| op.status);
    match list::write_results(ops, ops_ptr) {
        Ok(()) => (status, idx),
        Err(e) => (e.to_errno(), idx),
    }
}

/// `KCAM_IOC_DQEVENT`, multishot: arms the file's event stream.
fn stream(me: &KcamFile, cmd: &Issuing, arg: u64) -> Result<Outcome> {
    // Events are posted from task work, which an io-wq worker's command does not get.
    if !cmd.multishot() || arg != 0 || cmd.how.blocking {
        return Err(EINVAL);
    }
    let data = Arc::into_raw(me.events.clone());
    // SAFETY: A reference on the events of the command's file (a `KCAM_IOC_DQEVENT`), which `into_raw` gives.
    let cmd = unsafe { cmd.set_pdu(data.cast(), cmd.buf_group()) };
    // SAFETY: If arming fails, the hook went uncalled (`arm_stream` calls it only once the stream
    // is armed) and the command completes here; otherwise the issue returns `Queued`. The stream drops the hook
    // when it is disarmed, which its task work waits for before completing the command.
    let hook = unsafe { cmd.hook(false) };
    if let Err(e) = me.dev.camera.events.arm_stream(&me.events, hook) {
        // SAFETY: The reference `into_raw` gave above, which nothing took: the stream is not armed.
        drop(unsafe { Arc::from_raw(data) });
        return Err(e);
    }
    // Its task work (queued when events wait) runs once this issue returned, after this.
    cmd.mark_cancelable();
    Ok(Outcome::Queued)
}

/// `IO_URING_F_CANCEL`: the ring or its task exits. The command completes by its task work.
fn cancel(me: &KcamFile, cmd: &Queued) {
    let data = cmd.pdu.data;
    match cmd.op {
        file::IOC_SUBMIT => {
            // SAFETY: A cancelable submission's pdu holds a reference on its job until its task work, which does not
            // run meanwhile (both hold the ring's `uring_lock`).
            let job = unsafe { ArcBorrow::<Job>::from_raw(data.cast()) };
            me.dev.stop_job(&job.into(), ECANCELED);
        }
        file::IOC_DQEVENT => {
            me.events.end_stream(ECANCELED.to_errno());
        }
        _ => {}
    }
}

/// The task work of a stream: delivers what waits; `Some(status)` once the stream ended (it is disarmed) and the
/// command must complete. `cancel`: the task exits or the ring goes (user memory is out of reach).
fn deliver(events: &FileEvents, cmd: &InTaskWork, cancel: bool) -> Option<i32> {
    if cancel {
        events.stream_take();
        return Some(ECANCELED.to_errno());
    }
    for _ in 0..QUEUE_LEN {
        // SAFETY: The stream's owner, in the task work that the last call of its hook queued (`cmd`'s invariant).
        match unsafe { events.stream_step() } {
            StreamStep::Idle => return None,
            StreamStep::End(status) => return Some(status),
            StreamStep::Event => match events.dequeue(|e| cmd.post_event(e)) {
                // EAGAIN: a `KCAM_IOC_DQEVENT` took it meanwhile.
                Ok(()) => {}
                Err(e) if e == EAGAIN => {}
                Err(e) => {
                    events.stream_take();
                    return Some(e.to_errno());
                }
            },
        }
    }
    // Events keep coming: let the task's other work run, and come back.
    // SAFETY: As for `stream_step` above.
    unsafe { events.stream_yield() };
    None
}

/// `->uring_cmd` of a camera file (`uring_glue.c`).
///
/// # Safety
///
/// `private_data` is the private data of an open camera file (`KcamFile::open`'s) and `cmd` a command io_uring
/// issues on that file, not completed; `cancel`, `blocking` and `cqe32` decode `issue_flags` (`IO_URING_F_CANCEL`,
/// `IO_URING_F_IOWQ`, `IO_URING_F_CQE32`).
#[no_mangle]
pub(crate) unsafe extern "C" fn kcam_rust_uring_cmd(
    private_data: *mut c_void,
    cmd: *mut io_uring_cmd,
    issue_flags: c_uint,
    cancel: bool,
    blocking: bool,
    cqe32: bool,
) -> c_int {
    // SAFETY: By the function's safety requirement; the command holds the file open, so this borrow is valid.
    let me = unsafe { <Pin<KBox<KcamFile>> as ForeignOwnable>::borrow(private_data) };
    if cancel {
        // SAFETY: Not completed (the function's safety requirement), and io_uring cancels only commands marked
        // cancelable, which `submit` and `stream` do once the pdu is set and the hook made; it holds `uring_lock`,
        // as an inline issue does (an io-wq worker's is never marked).
        let queued = unsafe { Queued::read(cmd) };
        self::cancel(&me, &queued);
        return 0;
    }
    // INVARIANT: By the function's safety requirement, io_uring issues `cmd` now, with `issue_flags`.
    let cmd = Issuing {
        ptr: cmd,
        how: Issue {
            flags: issue_flags,
            blocking,
            cqe32,
        },
    };
    match issue(&me, &cmd) {
        // Completed here rather than by returning `res`, so that 32-byte CQEs get `res2`.
        Outcome::Now(res, res2) => cmd.done(res, res2),
        Outcome::Queued => {}
    }
    EIOCBQUEUED.to_errno()
}

/// The task work of a queued command (`uring_glue.c`), in the submitting task unless `cancel`.
///
/// # Safety
///
/// `cmd` is a command this module queued (its pdu set) whose task work its hook queued and that is not completed;
/// `issue_flags` are the task work's; `cancel` is the task work's `tw.cancel`.
#[no_mangle]
pub(crate) unsafe extern "C" fn kcam_rust_uring_task_work(
    cmd: *mut io_uring_cmd,
    issue_flags: c_uint,
    cancel: bool,
) {
    // INVARIANT: By the function's safety requirement: its task work runs now, with `issue_flags`.
    let cmd = InTaskWork {
        ptr: cmd,
        flags: issue_flags,
        // SAFETY: By the function's safety requirement; task work never runs during an issue (both hold
        // `uring_lock`).
        queued: unsafe { Queued::read(cmd) },
    };
    let data = cmd.queued.pdu.data;
    match cmd.queued.op {
        file::IOC_SUBMIT => {
            // SAFETY: The pdu's reference on the job (`submit`), ours now: a job calls its hook once, so this is the
            // command's completion.
            let job = unsafe { Arc::<Job>::from_raw(data.cast()) };
            let (res, res2) = if cancel {
                // The results cannot be written back.
                (ECANCELED.to_errno(), 0)
            } else {
                job_results(&job)
            };
            // SAFETY: The job consumed its hook by calling it (`Hook::call`), which queued this task work.
            unsafe { cmd.done(res, res2) };
        }
        file::IOC_DQEVENT => {
            // SAFETY: The pdu's reference on the file's events (`stream`) lives until the stream ends, below.
            let events = unsafe { ArcBorrow::<FileEvents>::from_raw(data.cast()) };
            if let Some(status) = deliver(&events, &cmd, cancel) {
                // SAFETY: The stream is disarmed (`deliver`), which dropped its hook: nothing queues this task work
                // again.
                unsafe { cmd.done(status, 0) };
                // SAFETY: The pdu's reference, which the completed command no longer needs.
                drop(unsafe { Arc::from_raw(data.cast::<FileEvents>()) });
            }
        }
        _ => {}
    }
}

/// `->poll` of a camera file (`uring_glue.c`): `kcam_poll_bits`.
///
/// # Safety
///
/// `private_data` is the private data of the open camera file `file`, and `table` a poll table valid for the call
/// (or null).
#[no_mangle]
pub(crate) unsafe extern "C" fn kcam_rust_poll(
    private_data: *mut c_void,
    file: *mut kb::file,
    table: *mut kb::poll_table_struct,
) -> c_uint {
    // SAFETY: By the function's safety requirement.
    let me = unsafe { <Pin<KBox<KcamFile>> as ForeignOwnable>::borrow(private_data) };
    // SAFETY: `file` is valid for the call, and poll holds no fdget_pos region.
    let file = unsafe { File::from_raw_file(file) };
    // SAFETY: By the function's safety requirement.
    let table = unsafe { PollTable::from_raw(table) };
    let st = me.poll(file, &table);
    let mut bits = 0;
    if st.readable {
        bits |= bindings::kcam_poll_bits_KCAM_POLL_READABLE;
    }
    if st.gone {
        bits |= bindings::kcam_poll_bits_KCAM_POLL_GONE;
    }
    bits
}

// The definitions have the types of their declarations in `uring_glue.h` (generated): a changed signature on
// either side does not compile.
const _: [unsafe extern "C" fn(*mut c_void, *mut io_uring_cmd, c_uint, bool, bool, bool) -> c_int;
    2] = [kcam_rust_uring_cmd, bindings::kcam_rust_uring_cmd];
const _: [unsafe extern "C" fn(*mut io_uring_cmd, c_uint, bool); 2] = [
    kcam_rust_uring_task_work,
    bindings::kcam_rust_uring_task_work,
];
const _: [unsafe extern "C" fn(*mut c_void, *mut kb::file, *mut kb::poll_table_struct) -> c_uint;
    2] = [kcam_rust_poll, bindings::kcam_rust_poll];
