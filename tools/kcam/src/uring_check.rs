// SPDX-License-Identifier: GPL-2.0
//! KCAM through io_uring in `kcamctl`: the `check` scenarios of the ioctl path run through `IORING_OP_URING_CMD`
//! (ordering, errors, fences, cancellation of both kinds, limits, ring and process exit, close, isolation, the
//! event stream, removal) and `poll`/`epoll` on the camera fd, plus what `--uring` does for `run`, `stream`,
//! `bench` and `fuzz`. A case exits 0 when the camera behaves as `include/uapi/linux/kcam.h` says.

use super::{
    delay, errno_of, fence_status, set_faults, signalled, submit_async_on, wait_fence, Page,
    Timeline, ECANCELED, LONG,
};
use anyhow::{bail, ensure, Context, Result};
use kcam::camera::{ioctl, Camera};
use kcam::ioctl as kio;
use kcam::uapi::{self, Cancel, Event, EventSub, EventType, Op, Opcode, Submit, UringCmd};
use kcam::uring::{self, Completion, Flags, Ring, Setup, Sqe, UringList};
use std::{
    collections::{BTreeMap, BTreeSet},
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    path::Path,
    time::{Duration, Instant},
};

pub(crate) const CASES: &[&str] = &[
    "uring-order",
    "uring-errors",
    "uring-fences",
    "uring-cancel",
    "uring-async-cancel",
    "uring-limits",
    "uring-exit",
    "uring-close",
    "uring-isolation",
    "uring-events",
    "poll",
    "uring-removal",
    "uring-task-work",
    "uring-fast-task-work",
];

/// The buffer group of event streams here.
const GROUP: u16 = 1;
const EVENT_BYTES: i32 = size_of::<Event>() as i32;

/// Requests in flight on one ring, with the memory their SQEs point to (kept at fixed addresses until their CQE).
struct Flight {
    ring: Ring,
    lists: BTreeMap<u64, UringList>,
    cancels: BTreeMap<u64, Box<Cancel>>,
    /// Read when submitted; boxed so that they do not move when the vector grows.
    #[allow(clippy::vec_box)]
    timeouts: Vec<Box<uring::Timespec>>,
    /// Requests whose last CQE was taken.
    done: BTreeSet<u64>,
    /// CQEs that came while waiting for another.
    early: Vec<Completion>,
    next: u64,
}

impl Flight {
    fn new(setup: Setup) -> Result<Self> {
        Ok(Self {
            ring: Ring::new(256, setup).context("setting up an io_uring")?,
            lists: BTreeMap::new(),
            cancels: BTreeMap::new(),
            timeouts: Vec::new(),
            done: BTreeSet::new(),
            early: Vec::new(),
            next: 1,
        })
    }

    fn user_data(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Queues a list (submitted with the next `submit` or `wait`); its user data.
    fn list(&mut self, fd: RawFd, ops: Vec<Op>, flags: u32, sqe: Flags) -> Result<u64> {
        let ud = self.user_data();
        let mut l = UringList::new(ops, flags);
        let e = l.sqe(fd, sqe, ud);
        // SAFETY: The list stays in `self.lists`, at the same addresses and untouched, until its CQE (or forever:
        // see `Drop`).
        unsafe { self.ring.push(&e) }?;
        self.lists.insert(ud, l);
        Ok(ud)
    }

    /// Queues `KCAM_IOC_CANCEL` of list `seqno` (or the event stream, with `uapi::CANCEL_EVENTS`).
    fn cancel(&mut self, fd: RawFd, seqno: u64, flags: u32) -> Result<u64> {
        let ud = self.user_data();
        let c = Box::new(Cancel {
            seqno,
            flags,
            ..Cancel::default()
        });
        let e = uring::cancel_sqe(fd, &*c, ud);
        // SAFETY: As for `list`.
        unsafe { self.ring.push(&e) }?;
        self.cancels.insert(ud, c);
        Ok(ud)
    }

    /// Queues an SQE that points to no memory of ours, or to memory the caller keeps until its CQE.
    fn raw(&mut self, make: impl FnOnce(u64) -> Sqe) -> Result<u64> {
        let ud = self.user_data();
        // SAFETY: By the caller (see above).
        unsafe { self.ring.push(&make(ud)) }?;
        Ok(ud)
    }

    /// Queues an `IORING_OP_TIMEOUT` of `d`: a CQE (`-ETIME`) that comes by task work after `d`.
    fn timeout(&mut self, d: Duration) -> Result<u64> {
        let ts = Box::new(uring::Timespec::from(d));
        let ud = self.raw(|ud| uring::timeout_sqe(&*ts, ud))?;
        self.timeouts.push(ts);
        Ok(ud)
    }

    /// Queues the file's event stream into `group`.
    fn events(&mut self, fd: RawFd, group: u16) -> Result<u64> {
        self.raw(|ud| uring::events_sqe(fd, group, ud))
    }

    fn submit(&mut self) -> Result<()> {
        self.ring.submit_and_wait(0).context("io_uring_enter")?;
        Ok(())
    }

    /// The next CQE of `ud` (at most `LONG` away).
    fn wait(&mut self, ud: u64) -> Result<Completion> {
        let c = match self.early.iter().position(|c| c.user_data == ud) {
            Some(i) => self.early.remove(i),
            None => self
                .ring
                .wait_for(ud, LONG, &mut self.early)
                .with_context(|| format!("waiting for the CQE of request {ud}"))?,
        };
        if !c.more() {
            self.done.insert(ud);
        }
        Ok(c)
    }

    /// Whether a CQE of `ud` came (without waiting).
    fn arrived(&mut self, ud: u64) -> Result<bool> {
        self.ring.submit_and_wait(0)?;
        let new = self.ring.completions();
        self.early.extend(new);
        Ok(self.early.iter().any(|c| c.user_data == ud))
    }

    fn get(&self, ud: u64) -> &UringList {
        &self.lists[&ud]
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        // Closing the ring does not wait for what is in flight, and a worker could still write results back: the
        // memory of unfinished requests is never freed (a test process is short-lived).
        let unfinished: Vec<u64> = self
            .lists
            .keys()
            .chain(self.cancels.keys())
            .filter(|ud| !self.done.contains(ud))
            .copied()
            .collect();
        for ud in unfinished {
            if let Some(l) = self.lists.remove(&ud) {
                std::mem::forget(l);
            }
            if let Some(c) = self.cancels.remove(&ud) {
                std::mem::forget(c);
            }
        }
    }
}

fn fd_of(cam: &Camera) -> RawFd {
    cam.file.as_raw_fd()
}

fn subscribe(cam: &Camera, event: EventType, on: bool) -> Result<()> {
    let (sensor, _) = cam.reg("vcam-sensor", "CTRL")?;
    let mut sub = EventSub {
        entity_id: sensor,
        event: event as u32,
        ..EventSub::default()
    };
    let nr = if on {
        kio::IOC_SUBSCRIBE
    } else {
        kio::IOC_UNSUBSCRIBE
    };
    ioctl(&cam.file, nr, &mut sub).context("KCAM_IOC_(UN)SUBSCRIBE")
}

fn set_streaming(cam: &Camera, on: bool) -> Result<()> {
    let mut ops = [cam.op(Opcode::Write, "vcam-sensor", "CTRL", u64::from(on))?];
    cam.submit(&mut ops, 0)?;
    Ok(())
}

fn kcam_cancel(cam: &Camera, seqno: u64, flags: u32) -> std::io::Result<()> {
    let mut c = Cancel {
        seqno,
        flags,
        ..Cancel::default()
    };
    ioctl(&cam.file, kio::IOC_CANCEL, &mut c)
}

fn dqevent(cam: &Camera) -> std::io::Result<Event> {
    let mut e = Event::default();
    ioctl(&cam.file, kio::IOC_DQEVENT, &mut e).map(|()| e)
}

/// `poll` of one fd for `events`, at most `ms`: its revents (0 on timeout).
fn poll_fd(fd: RawFd, events: i16, ms: i32) -> Result<i16> {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: One valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    ensure!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    Ok(p.revents)
}

pub(crate) fn run(cam: &Camera, dev: &Path, case: &str) -> Result<()> {
    let fd = fd_of(cam);
    match case {
        // Lists through io_uring and through the ioctl run in one seqno order; each CQE says how its list went
        // (res 0, res2 the number of ops on 32-byte CQE rings) once the results are back in the list; CQEs come in
        // completion order. On each kind of ring.
        "uring-order" => {
            for setup in [Setup::Plain, Setup::SmallCqe, Setup::DeferTaskrun] {
                order(cam, fd, setup).with_context(|| format!("on a {setup:?} ring"))?;
            }
        }
        "uring-errors" => errors(cam, fd)?,
        "uring-fences" => fences(cam, fd)?,
        "uring-cancel" => cancel(cam, dev, fd)?,
        "uring-async-cancel" => async_cancel(cam, fd)?,
        "uring-limits" => limits(cam, dev, fd)?,
        "uring-exit" => exit(cam, dev)?,
        "uring-close" => close(cam, dev)?,
        "uring-isolation" => isolation(cam, dev, fd)?,
        "uring-events" => events(cam, dev, fd)?,
        "poll" => poll(cam, dev)?,
        "uring-removal" => removal(cam, fd)?,
        "uring-task-work" => task_work(cam, fd)?,
        "uring-fast-task-work" => fast_task_work(cam, fd)?,
        other => bail!("unknown case '{other}'"),
    }
    Ok(())
}

fn order(cam: &Camera, fd: RawFd, setup: Setup) -> Result<()> {
    let write = |v| cam.op(Opcode::Write, "vcam-sensor", "EXPOSURE", v);
    let mut f = Flight::new(setup)?;
    let a = f.list(fd, vec![delay(20_000_000), write(101)?], 0, Flags::empty())?;
    f.submit()?;
    let b = cam.submit_async(vec![delay(20_000_000), write(102)?], false)?;
    let c = f.list(fd, vec![delay(20_000_000), write(103)?], 0, Flags::empty())?;
    let cc = f.wait(c)?;
    // A was done before C: its CQE came first.
    ensure!(
        f.early.iter().any(|e| e.user_data == a),
        "C's CQE came before A's"
    );
    let ca = f.wait(a)?;
    let w = cam.wait(b.seqno, LONG)?;
    let (la, lc) = (f.get(a), f.get(c));
    ensure!(
        la.submit.seqno < b.seqno && b.seqno < lc.submit.seqno,
        "seqnos: io_uring {}, ioctl {}, io_uring {}",
        la.submit.seqno,
        b.seqno,
        lc.submit.seqno
    );
    let res2 = if setup == Setup::SmallCqe { 0 } else { 2 };
    ensure!(
        ca.res == 0 && cc.res == 0 && ca.res2 == res2 && cc.res2 == res2 && w.status == 0,
        "CQEs {ca:?} {cc:?}, wait {}",
        w.status
    );
    ensure!(
        la.ops[1].status == 0 && la.ops[1].result == 101 && lc.ops[1].result == 103,
        "results not written back: {:?} {:?}",
        la.ops[1],
        lc.ops[1]
    );
    ensure!(
        la.submit.out_fence_fd == -1 && la.submit.error_idx == 2,
        "reply {:?}",
        la.submit
    );
    ensure!(
        cam.read_reg("vcam-sensor", "EXPOSURE")? == 103,
        "the last list did not run last"
    );
    Ok(())
}

/// Every way a command can be wrong: the same errnos and reply fields as the ioctl's, nothing run.
fn errors(cam: &Camera, fd: RawFd) -> Result<()> {
    let mut f = Flight::new(Setup::Plain)?;
    let exposure = cam.read_reg("vcam-sensor", "EXPOSURE")?;
    // A rejected list: the op and the reason in the reply, its errno in res, its index in res2.
    let ud = f.list(
        fd,
        vec![
            cam.op(Opcode::Write, "vcam-sensor", "EXPOSURE", 7)?,
            cam.op(Opcode::Write, "vcam-sensor", "CHIP_ID", 1)?,
        ],
        0,
        Flags::empty(),
    )?;
    let c = f.wait(ud)?;
    let s = *f.get(ud).submit;
    ensure!(
        c.res == -libc::EPERM
            && c.res2 == 1
            && s.error_idx == 1
            && s.error_reason == uapi::Reason::NotWritable as u32
            && s.seqno == 0,
        "rejection: {c:?} {s:?}"
    );
    ensure!(
        cam.read_reg("vcam-sensor", "EXPOSURE")? == exposure,
        "a rejected list ran"
    );
    // A list whose op fails: that op's status in res, its index in res2, its dependent cancelled.
    let mut poll = cam.op(Opcode::Poll, "vcam-sensor", "CTRL", 1)?;
    poll.mask = 1;
    poll.timeout_ns = 2_000_000;
    let mut dep = cam.op(Opcode::Read, "vcam-sensor", "GAIN", 0)?;
    dep.deps[0] = 0;
    let ud = f.list(fd, vec![poll, dep], 0, Flags::empty())?;
    let c = f.wait(ud)?;
    let l = f.get(ud);
    ensure!(
        c.res == -libc::ETIMEDOUT
            && c.res2 == 0
            && l.ops[0].status == -libc::ETIMEDOUT
            && l.ops[1].status == -ECANCELED
            && l.submit.seqno != 0,
        "failed op: {c:?} {:?} {:?}",
        l.ops[0].status,
        l.ops[1].status
    );
    // No ops, and TEST_ONLY (validates, runs nothing, no seqno).
    let ud = f.list(fd, vec![], 0, Flags::empty())?;
    let c = f.wait(ud)?;
    ensure!(
        c.res == -libc::EINVAL && f.get(ud).submit.error_reason == uapi::Reason::NoOps as u32,
        "no ops: {c:?}"
    );
    let gain = cam.read_reg("vcam-sensor", "GAIN")?;
    let ud = f.list(
        fd,
        vec![cam.op(Opcode::Write, "vcam-sensor", "GAIN", gain ^ 1)?],
        uapi::SUBMIT_TEST_ONLY,
        Flags::empty(),
    )?;
    let c = f.wait(ud)?;
    ensure!(
        c.res == 0 && f.get(ud).submit.seqno == 0 && cam.read_reg("vcam-sensor", "GAIN")? == gain,
        "TEST_ONLY: {c:?}"
    );
    // OUT_FENCE alone: ASYNC is implied.
    let ud = f.list(
        fd,
        vec![delay(1000)],
        uapi::SUBMIT_OUT_FENCE,
        Flags::empty(),
    )?;
    let c = f.wait(ud)?;
    let fence = f.get(ud).submit.out_fence_fd;
    ensure!(
        c.res == 0 && fence >= 0,
        "OUT_FENCE alone: {c:?}, fd {fence}"
    );
    // SAFETY: The kernel installed this fd for us.
    let fence = unsafe { OwnedFd::from_raw_fd(fence) };
    ensure!(
        poll_fd(fence.as_raw_fd(), libc::POLLIN, 2000)? & libc::POLLIN != 0,
        "out-fence never signalled"
    );
    // The command bytes: a bad pointer, a reserved word, flags no command takes, commands not over io_uring.
    let mut keep = UringList::new(vec![cam.op(Opcode::Write, "vcam-sensor", "GAIN", 0x42)?], 0);
    let arg = &mut *keep.submit as *mut Submit as u64;
    let cases: [(&str, u32, UringCmd, u32, Flags, i32); 7] = [
        (
            "a bad kcam_submit pointer",
            kio::IOC_SUBMIT as u32,
            UringCmd {
                arg: 8,
                reserved: 0,
            },
            0,
            Flags::empty(),
            libc::EFAULT,
        ),
        (
            "a reserved word",
            kio::IOC_SUBMIT as u32,
            UringCmd { arg, reserved: 1 },
            0,
            Flags::empty(),
            libc::EINVAL,
        ),
        (
            "a fixed buffer",
            kio::IOC_SUBMIT as u32,
            UringCmd { arg, reserved: 0 },
            uring::URING_CMD_FIXED,
            Flags::empty(),
            libc::EINVAL,
        ),
        (
            "multishot",
            kio::IOC_SUBMIT as u32,
            UringCmd { arg, reserved: 0 },
            uring::URING_CMD_MULTISHOT,
            Flags::BUFFER_SELECT,
            libc::EINVAL,
        ),
        (
            "QUERY_CAPS",
            kio::IOC_QUERY_CAPS as u32,
            UringCmd { arg, reserved: 0 },
            0,
            Flags::empty(),
            libc::EOPNOTSUPP,
        ),
        (
            "an unknown command",
            0x1234,
            UringCmd { arg, reserved: 0 },
            0,
            Flags::empty(),
            libc::ENOTTY,
        ),
        (
            "DQEVENT, not multishot",
            kio::IOC_DQEVENT as u32,
            UringCmd::default(),
            0,
            Flags::empty(),
            libc::EINVAL,
        ),
    ];
    f.ring.add_buffers(GROUP, 1, 64)?;
    for (what, op, cmd, ucf, flags, want) in cases {
        let ud = f.raw(|ud| uring::raw_cmd_sqe(fd, op, cmd, ucf, 0, flags, ud))?;
        let c = f.wait(ud)?;
        ensure!(c.res == -want && !c.more(), "{what}: {c:?}, want -{want}");
    }
    ensure!(
        keep.submit.seqno == 0 && cam.read_reg("vcam-sensor", "GAIN")? != 0x42,
        "a refused command ran its list"
    );
    // The reply cannot be written (read-only kcam_submit): the list is cancelled, as with the ioctl.
    let mut ops = [
        delay(100_000_000),
        cam.op(Opcode::Write, "vcam-sensor", "GAIN", 123)?,
    ];
    let page = Page::new()?;
    let s = page.ptr.cast::<Submit>();
    // SAFETY: `s` points at a fresh, writable, page-aligned page.
    unsafe {
        s.write(Submit {
            count: 2,
            ops_ptr: ops.as_mut_ptr() as u64,
            ..Submit::default()
        })
    };
    page.protect(libc::PROT_READ)?;
    let ud = f.raw(|ud| uring::submit_sqe(fd, s, Flags::empty(), ud))?;
    let c = f.wait(ud)?;
    ensure!(c.res == -libc::EFAULT, "read-only reply: {c:?}");
    std::thread::sleep(Duration::from_millis(300));
    ensure!(
        cam.read_reg("vcam-sensor", "GAIN")? != 123,
        "the list whose seqno userspace never learnt ran"
    );
    drop(keep);
    Ok(())
}

/// Out-fences of io_uring lists: the same timeline, signalled in seqno order with the list's error; `WAIT_FENCE`
/// gates a list submitted through io_uring.
fn fences(cam: &Camera, fd: RawFd) -> Result<()> {
    let mut f = Flight::new(Setup::Plain)?;
    let n = f.list(
        fd,
        vec![delay(400_000_000)],
        uapi::SUBMIT_OUT_FENCE,
        Flags::empty(),
    )?;
    let n1 = f.list(
        fd,
        vec![cam.op(Opcode::Write, "vcam-sensor", "GAIN", 3)?],
        uapi::SUBMIT_OUT_FENCE,
        Flags::empty(),
    )?;
    f.submit()?;
    let own = |fd: i32| -> Result<OwnedFd> {
        ensure!(fd >= 0, "no out-fence");
        // SAFETY: The kernel installed this fd for us.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    };
    let (fa, fb) = (
        own(f.get(n).submit.out_fence_fd)?,
        own(f.get(n1).submit.out_fence_fd)?,
    );
    // N+1 is queued behind N: cancelling it ends it (its CQE comes) but its fence waits for N's.
    let seqno = f.get(n1).submit.seqno;
    let cu = f.cancel(fd, seqno, 0)?;
    let c = f.wait(cu)?;
    ensure!(c.res == 0, "cancelling a queued list: {c:?}");
    let c = f.wait(n1)?;
    ensure!(c.res == -ECANCELED, "cancelled list's CQE: {c:?}");
    let t = Instant::now();
    loop {
        let (a, b) = (signalled(&fa)?, signalled(&fb)?);
        ensure!(!b || a, "N+1's fence signalled while N still ran");
        if a {
            break;
        }
        ensure!(t.elapsed() < LONG, "N never ended");
        std::thread::sleep(Duration::from_millis(5));
    }
    f.wait(n)?;
    ensure!(
        poll_fd(fb.as_raw_fd(), libc::POLLIN, 2000)? != 0
            && fence_status(&fb)? == -ECANCELED
            && fence_status(&fa)? == 1,
        "fences after N: N {}, N+1 {}",
        fence_status(&fa)?,
        fence_status(&fb)?
    );
    // A failed list's fence carries its error.
    let mut poll = cam.op(Opcode::Poll, "vcam-sensor", "CTRL", 1)?;
    poll.mask = 1;
    poll.timeout_ns = 10_000_000;
    let p = f.list(fd, vec![poll], uapi::SUBMIT_OUT_FENCE, Flags::empty())?;
    let c = f.wait(p)?;
    let fp = own(f.get(p).submit.out_fence_fd)?;
    poll_fd(fp.as_raw_fd(), libc::POLLIN, 2000)?;
    ensure!(
        c.res == -libc::ETIMEDOUT && fence_status(&fp)? == -libc::ETIMEDOUT,
        "failed list: {c:?}, fence {}",
        fence_status(&fp)?
    );
    // WAIT_FENCE on a sw_sync fence.
    let tl = Timeline::new()?;
    let sw = tl.fence(1)?;
    let w = f.list(
        fd,
        vec![
            wait_fence(sw.as_raw_fd(), 5_000_000_000),
            cam.op(Opcode::Write, "vcam-sensor", "GAIN", 78)?,
        ],
        0,
        Flags::empty(),
    )?;
    f.submit()?;
    std::thread::sleep(Duration::from_millis(100));
    ensure!(!f.arrived(w)?, "a list completed before its in-fence");
    tl.advance(1)?;
    let c = f.wait(w)?;
    ensure!(
        c.res == 0 && cam.read_reg("vcam-sensor", "GAIN")? == 78,
        "after the fence: {c:?}"
    );
    Ok(())
}

/// `KCAM_IOC_CANCEL` (ioctl and SQE) of inline lists: queued at once, running at the next op; only the owner's;
/// `IORING_OP_ASYNC_CANCEL` does not reach them.
fn cancel(cam: &Camera, dev: &Path, fd: RawFd) -> Result<()> {
    let mut f = Flight::new(Setup::Plain)?;
    let running = f.list(
        fd,
        vec![
            delay(3_000_000_000),
            cam.op(Opcode::Write, "vcam-sensor", "GAIN", 91)?,
        ],
        0,
        Flags::empty(),
    )?;
    let queued = f.list(
        fd,
        vec![cam.op(Opcode::Write, "vcam-sensor", "GAIN", 92)?],
        0,
        Flags::empty(),
    )?;
    f.submit()?;
    std::thread::sleep(Duration::from_millis(100));
    let (rs, qs) = (f.get(running).submit.seqno, f.get(queued).submit.seqno);
    // Another file cannot cancel them, nor can a seqno never given.
    let other = Camera::open(dev)?;
    let e = kcam_cancel(&other, qs, 0)
        .err()
        .context("another file cancelled our list")?;
    ensure!(errno_of(&e) == libc::ENOENT, "another file's cancel: {e}");
    let e = kcam_cancel(cam, qs + 1000, 0)
        .err()
        .context("an unknown seqno was cancelled")?;
    ensure!(errno_of(&e) == libc::ENOENT, "unknown seqno: {e}");
    // io_uring's own cancellation does not reach an inline command.
    let ac = f.raw(|ud| uring::async_cancel_sqe(queued, ud))?;
    let c = f.wait(ac)?;
    ensure!(
        c.res == -libc::ENOENT,
        "IORING_OP_ASYNC_CANCEL of an inline list: {c:?}"
    );
    ensure!(!f.arrived(queued)?, "ASYNC_CANCEL ended an inline list");
    // Queued: by an SQE, at once.
    let cu = f.cancel(fd, qs, 0)?;
    let c = f.wait(cu)?;
    ensure!(c.res == 0, "cancelling the queued list: {c:?}");
    let c = f.wait(queued)?;
    ensure!(
        c.res == -ECANCELED && f.get(queued).ops[0].status == -ECANCELED,
        "cancelled queued list: {c:?}"
    );
    // Running: by the ioctl, EALREADY, and it stops at once.
    let t = Instant::now();
    let e = kcam_cancel(cam, rs, 0)
        .err()
        .context("cancelling a running list said 0")?;
    ensure!(
        errno_of(&e) == libc::EALREADY,
        "cancelling the running list: {e}"
    );
    let c = f.wait(running)?;
    let l = f.get(running);
    ensure!(
        c.res == -ECANCELED
            && c.res2 == 0
            && l.ops[0].status == -ECANCELED
            && l.ops[1].status == -ECANCELED
            && t.elapsed() < Duration::from_secs(2),
        "cancelled running list: {c:?} after {} ms",
        t.elapsed().as_millis()
    );
    let gain = cam.read_reg("vcam-sensor", "GAIN")?;
    ensure!(gain != 91 && gain != 92, "a cancelled write ran");
    // Done: nothing to cancel any more.
    let e = kcam_cancel(cam, rs, 0)
        .err()
        .context("a finished list was cancelled")?;
    ensure!(errno_of(&e) == libc::ENOENT, "finished list: {e}");
    // The ioctl path's asynchronous lists are cancelled the same way.
    let p = cam.submit_async(vec![delay(2_000_000_000)], false)?;
    std::thread::sleep(Duration::from_millis(50));
    let e = kcam_cancel(cam, p.seqno, 0)
        .err()
        .context("cancelling a running async list said 0")?;
    ensure!(errno_of(&e) == libc::EALREADY, "async list: {e}");
    let w = cam.wait(p.seqno, LONG)?;
    ensure!(w.status == -ECANCELED, "cancelled async list: {}", w.status);
    // Bad requests.
    let e = kcam_cancel(cam, 1, uapi::CANCEL_EVENTS)
        .err()
        .context("CANCEL_EVENTS with a seqno accepted")?;
    ensure!(
        errno_of(&e) == libc::EINVAL,
        "CANCEL_EVENTS with a seqno: {e}"
    );
    let e = kcam_cancel(cam, 1, 2)
        .err()
        .context("an unknown cancel flag accepted")?;
    ensure!(errno_of(&e) == libc::EINVAL, "unknown flag: {e}");
    Ok(())
}

/// The io-wq path (`IOSQE_ASYNC`): a worker waits for the list, so `IORING_OP_ASYNC_CANCEL` stops it.
fn async_cancel(cam: &Camera, fd: RawFd) -> Result<()> {
    let mut f = Flight::new(Setup::Plain)?;
    let ok = f.list(
        fd,
        vec![cam.op(Opcode::Write, "vcam-sensor", "GAIN", 94)?],
        0,
        Flags::ASYNC,
    )?;
    let c = f.wait(ok)?;
    ensure!(
        c.res == 0 && c.res2 == 1 && f.get(ok).ops[0].result == 94,
        "io-wq list: {c:?}"
    );
    let long = f.list(
        fd,
        vec![
            delay(5_000_000_000),
            cam.op(Opcode::Write, "vcam-sensor", "GAIN", 93)?,
        ],
        0,
        Flags::ASYNC,
    )?;
    f.submit()?;
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let ac = f.raw(|ud| uring::async_cancel_sqe(long, ud))?;
    let c = f.wait(ac)?;
    ensure!(
        c.res == 0 || c.res == -libc::EALREADY,
        "IORING_OP_ASYNC_CANCEL of an io-wq list: {c:?}"
    );
    let c = f.wait(long)?;
    let l = f.get(long);
    println!(
        "ASYNC_CANCEL ended the 5 s list after {} ms",
        t.elapsed().as_millis()
    );
    ensure!(
        c.res == -ECANCELED
            && l.ops[0].status == -ECANCELED
            && l.ops[1].status == -ECANCELED
            && t.elapsed() < Duration::from_secs(3),
        "cancelled io-wq list: {c:?} {:?} {:?}",
        l.ops[0].status,
        l.ops[1].status
    );
    ensure!(
        cam.read_reg("vcam-sensor", "GAIN")? != 93,
        "the cancelled write ran"
    );
    // KCAM_IOC_CANCEL reaches it too.
    let k = f.list(fd, vec![delay(5_000_000_000)], 0, Flags::ASYNC)?;
    f.submit()?;
    std::thread::sleep(Duration::from_millis(300));
    let seqno = f.get(k).submit.seqno;
    let e = kcam_cancel(cam, seqno, 0)
        .err()
        .context("cancel of a running list said 0")?;
    ensure!(
        errno_of(&e) == libc::EALREADY,
        "KCAM cancel of an io-wq list: {e}"
    );
    let c = f.wait(k)?;
    ensure!(c.res == -ECANCELED, "io-wq list after KCAM cancel: {c:?}");
    Ok(())
}

/// The camera's limits hold through io_uring: one file may have max_lists in flight (not max_pending), one more is
/// ENOSPC, for any file; parameter bytes ENOBUFS.
fn limits(cam: &Camera, dev: &Path, fd: RawFd) -> Result<()> {
    let caps = cam.caps()?;
    let n = caps.max_lists as usize;
    ensure!(n < 250, "max_lists {n} is more than this test's ring");
    let mut f = Flight::new(Setup::DeferTaskrun)?;
    // The first list holds the camera while the others wait behind it.
    let mut uds = Vec::new();
    for i in 0..=n {
        let ns = if i == 0 { 1_000_000_000 } else { 1_000_000 };
        uds.push(f.list(fd, vec![delay(ns)], 0, Flags::empty())?);
    }
    f.submit()?;
    let last = f.wait(uds[n])?;
    ensure!(
        last.res == -libc::ENOSPC && f.get(uds[n]).submit.seqno == 0,
        "list {} of one file: {last:?}",
        n + 1
    );
    let other = Camera::open(dev)?;
    let e = other
        .submit_async(vec![delay(1000)], false)
        .err()
        .context("another file's list fit into a full camera")?;
    ensure!(errno_of(&e) == libc::ENOSPC, "another file: {e}");
    for ud in &uds[..n] {
        let c = f.wait(*ud)?;
        ensure!(c.res == 0, "list in flight: {c:?}");
    }
    println!(
        "{n} lists in flight from one file (max_pending {}), list {} ENOSPC",
        caps.max_pending,
        n + 1
    );
    // The places came back.
    let again = f.list(fd, vec![delay(1000)], 0, Flags::empty())?;
    ensure!(f.wait(again)?.res == 0, "no place after the lists ended");
    // Parameter bytes held for lists not yet run.
    let blocker = cam.submit_async(vec![delay(2_000_000_000)], false)?;
    let isp = cam.entity_by_name("vcam-isp")?.0.id;
    let bytes = vec![1u8; caps.max_param_bytes as usize];
    let per_list = 16 * u64::from(caps.max_param_bytes);
    let fits = u64::from(caps.max_queued_param_bytes) / per_list;
    let mut held = Vec::new();
    for _ in 0..=fits {
        let ops = (0..16)
            .map(|_| {
                let mut o = Op::new(Opcode::XferParam, isp, 0);
                o.param_ptr = bytes.as_ptr() as u64;
                o.param_len = caps.max_param_bytes;
                o
            })
            .collect();
        held.push(f.list(fd, ops, 0, Flags::empty())?);
    }
    f.submit()?;
    let c = f.wait(held[fits as usize])?;
    ensure!(c.res == -libc::ENOBUFS, "parameters over the budget: {c:?}");
    cam.reset()?;
    for ud in &held[..fits as usize] {
        let c = f.wait(*ud)?;
        ensure!(c.res == -ECANCELED, "held list after reset: {c:?}");
    }
    cam.wait(blocker.seqno, LONG)?;
    Ok(())
}

/// A child that submits lists that would take 25 s (inline and io-wq) and an event stream, says so on `ready`,
/// then exits (`kill`: waits in io_uring_enter to be killed).
fn exit_child(dev: &Path, ready: &OwnedFd, kill: bool) -> ! {
    let r = (|| -> Result<()> {
        let cam = Camera::open(dev)?;
        let fd = fd_of(&cam);
        let mut f = Flight::new(Setup::Plain)?;
        for i in 0..4 {
            f.list(
                fd,
                vec![
                    delay(5_000_000_000),
                    cam.op(Opcode::Write, "vcam-sensor", "GAIN", 95)?,
                ],
                0,
                if i == 3 { Flags::ASYNC } else { Flags::empty() },
            )?;
        }
        subscribe(&cam, EventType::FrameEnd, true)?;
        f.ring.add_buffers(GROUP, 4, 64)?;
        f.events(fd, GROUP)?;
        f.submit()?;
        // SAFETY: One byte from a live buffer to our pipe.
        unsafe { libc::write(ready.as_raw_fd(), b"r".as_ptr().cast(), 1) };
        if kill {
            f.ring.submit_and_wait(1000)?;
        }
        std::mem::forget(f);
        Ok(())
    })();
    // SAFETY: Ends the child without the parent's destructors.
    unsafe { libc::_exit(i32::from(r.is_err())) }
}

/// A ring or a task that exits cancels its lists and its stream; the camera is free at once.
fn exit(cam: &Camera, dev: &Path) -> Result<()> {
    for kill in [false, true] {
        let mut fds = [0; 2];
        // SAFETY: Room for two fds.
        ensure!(unsafe { libc::pipe(fds.as_mut_ptr()) } == 0, "pipe");
        // SAFETY: The kernel just gave us these fds.
        let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: fork() in a single-threaded process; the child only uses its own objects and exits.
        let child = unsafe { libc::fork() };
        ensure!(child >= 0, "fork: {}", std::io::Error::last_os_error());
        if child == 0 {
            exit_child(dev, &wr, kill);
        }
        drop(wr);
        let mut b = [0u8; 1];
        // SAFETY: One byte into a live buffer.
        let n = unsafe { libc::read(rd.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
        ensure!(n == 1, "the child did not get its lists in flight");
        std::thread::sleep(Duration::from_millis(200));
        let t = Instant::now();
        if kill {
            // SAFETY: Our child.
            unsafe { libc::kill(child, libc::SIGKILL) };
        }
        let mut status = 0;
        // SAFETY: Reaps our child.
        unsafe { libc::waitpid(child, &mut status, 0) };
        let gone = t.elapsed();
        // The camera is free: a synchronous list does not wait behind 20 s of the child's lists.
        let gain = cam.read_reg("vcam-sensor", "GAIN")?;
        let free = t.elapsed();
        println!(
            "{}: the child was gone after {} ms, the camera free after {} ms",
            if kill { "SIGKILL" } else { "exit" },
            gone.as_millis(),
            free.as_millis()
        );
        ensure!(
            kill || (libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0),
            "the child failed (status {status:#x})"
        );
        ensure!(
            free < Duration::from_secs(4) && gain != 95,
            "after the child's exit: camera free after {} ms, GAIN {gain}",
            free.as_millis()
        );
    }
    // A live process closes its ring with lists and a stream in flight.
    let fd = fd_of(cam);
    let mut f = Flight::new(Setup::Plain)?;
    for _ in 0..3 {
        f.list(
            fd,
            vec![
                delay(5_000_000_000),
                cam.op(Opcode::Write, "vcam-sensor", "GAIN", 98)?,
            ],
            0,
            Flags::empty(),
        )?;
    }
    subscribe(cam, EventType::FrameEnd, true)?;
    f.ring.add_buffers(GROUP, 4, 64)?;
    f.events(fd, GROUP)?;
    f.submit()?;
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    drop(f);
    let gain = cam.read_reg("vcam-sensor", "GAIN")?;
    ensure!(
        t.elapsed() < Duration::from_secs(4) && gain != 98,
        "after closing the ring: camera free after {} ms, GAIN {gain}",
        t.elapsed().as_millis()
    );
    // Its stream ended: the file can have another one.
    let mut f = Flight::new(Setup::Plain)?;
    f.ring.add_buffers(GROUP, 4, 64)?;
    let s = f.events(fd, GROUP)?;
    f.submit()?;
    std::thread::sleep(Duration::from_millis(100));
    ensure!(
        !f.arrived(s)? || f.wait(s)?.res != -libc::EBUSY,
        "the closed ring's stream stayed armed"
    );
    kcam_cancel(cam, 0, uapi::CANCEL_EVENTS)?;
    loop {
        let c = f.wait(s)?;
        if !c.more() {
            ensure!(
                c.res == -ECANCELED,
                "stream after KCAM_CANCEL_EVENTS: {c:?}"
            );
            break;
        }
    }
    subscribe(cam, EventType::FrameEnd, false)?;
    Ok(())
}

/// Closing an fd with io_uring lists in flight cancels nothing until they completed (io_uring holds the file); then
/// the file goes as it always does, cancelling its remaining ioctl lists.
fn close(cam: &Camera, dev: &Path) -> Result<()> {
    let b = Camera::open(dev)?;
    let mut f = Flight::new(Setup::Plain)?;
    let u = f.list(
        fd_of(&b),
        vec![
            delay(300_000_000),
            b.op(Opcode::Write, "vcam-sensor", "EXPOSURE", 123)?,
        ],
        0,
        Flags::empty(),
    )?;
    f.submit()?;
    let _a = submit_async_on(
        &b.file,
        vec![
            delay(2_000_000_000),
            b.op(Opcode::Write, "vcam-sensor", "GAIN", 97)?,
        ],
        false,
    )?;
    drop(b);
    let c = f.wait(u)?;
    ensure!(
        c.res == 0 && f.get(u).ops[1].result == 123,
        "a list of a closed fd: {c:?}"
    );
    ensure!(
        cam.read_reg("vcam-sensor", "EXPOSURE")? == 123,
        "a list of a closed fd did not run"
    );
    std::thread::sleep(Duration::from_millis(2500));
    ensure!(
        cam.read_reg("vcam-sensor", "GAIN")? != 97,
        "the file, released after its io_uring list, did not cancel its ioctl list"
    );
    Ok(())
}

/// Two files: one cannot cancel or wait for the other's io_uring lists, nor stream its events.
fn isolation(cam: &Camera, dev: &Path, fd: RawFd) -> Result<()> {
    let b = Camera::open(dev)?;
    let mut fa = Flight::new(Setup::Plain)?;
    let mut fb = Flight::new(Setup::Plain)?;
    let l = fa.list(fd, vec![delay(500_000_000)], 0, Flags::empty())?;
    fa.submit()?;
    let seqno = fa.get(l).submit.seqno;
    let cb = fb.cancel(fd_of(&b), seqno, 0)?;
    let c = fb.wait(cb)?;
    ensure!(c.res == -libc::ENOENT, "the other file's cancel SQE: {c:?}");
    let e = b
        .wait(seqno, Duration::ZERO)
        .err()
        .context("the other file waited")?;
    ensure!(errno_of(&e) == libc::EINVAL, "the other file's wait: {e}");
    // Not even the owner: the CQE is an io_uring list's completion.
    let e = cam
        .wait(seqno, Duration::ZERO)
        .err()
        .context("KCAM_IOC_WAIT of an io_uring list")?;
    ensure!(
        errno_of(&e) == libc::EINVAL,
        "the owner's KCAM_IOC_WAIT: {e}"
    );
    let c = fa.wait(l)?;
    ensure!(c.res == 0, "the list after the others tried: {c:?}");
    // Events: only the subscribed file's stream gets them; the other cannot arm one.
    subscribe(cam, EventType::FrameEnd, true)?;
    fa.ring.add_buffers(GROUP, 4, 64)?;
    fb.ring.add_buffers(GROUP, 4, 64)?;
    let sa = fa.events(fd, GROUP)?;
    let sb = fb.events(fd_of(&b), GROUP)?;
    fa.submit()?;
    let c = fb.wait(sb)?;
    ensure!(
        c.res == -libc::EINVAL,
        "a stream without a subscription: {c:?}"
    );
    let mut wait = b.op(Opcode::WaitEvent, "vcam-sensor", "CTRL", 0)?;
    wait.event = EventType::FrameEnd as u32;
    wait.timeout_ns = 2_000_000_000;
    let mut ops = [
        b.op(Opcode::Write, "vcam-sensor", "CTRL", 1)?,
        wait,
        b.op(Opcode::Write, "vcam-sensor", "CTRL", 0)?,
    ];
    b.submit(&mut ops, 0)?;
    let c = fa.wait(sa)?;
    ensure!(
        c.res == EVENT_BYTES && c.more(),
        "the subscribed stream: {c:?}"
    );
    let e = dqevent(&b)
        .err()
        .context("the unsubscribed file got an event")?;
    ensure!(errno_of(&e) == libc::EAGAIN, "unsubscribed: {e}");
    kcam_cancel(cam, 0, uapi::CANCEL_EVENTS)?;
    while fa.wait(sa)?.more() {}
    subscribe(cam, EventType::FrameEnd, false)?;
    Ok(())
}

/// Collects stream CQEs of `s` until `n` events came, recycling buffers; fails on the stream's end.
fn take_events(f: &mut Flight, s: u64, n: usize) -> Result<Vec<Event>> {
    let mut got = Vec::new();
    while got.len() < n {
        let c = f.wait(s)?;
        ensure!(
            c.more() && c.res == EVENT_BYTES,
            "stream CQE {c:?} after {} events",
            got.len()
        );
        let bid = c.buffer().context("an event CQE without a buffer")?;
        got.push(f.ring.event(GROUP, bid).context("no such buffer")?);
        f.ring.recycle(GROUP, bid);
    }
    Ok(got)
}

/// The stream's end: its CQEs of events still queued are recycled, the last one's res is returned.
fn stream_end(f: &mut Flight, s: u64) -> Result<i32> {
    loop {
        let c = f.wait(s)?;
        if !c.more() {
            return Ok(c.res);
        }
        if let Some(bid) = c.buffer() {
            f.ring.recycle(GROUP, bid);
        }
    }
}

/// The multishot event stream: every event in order in a provided buffer, ends and their status, errors.
fn events(cam: &Camera, dev: &Path, fd: RawFd) -> Result<()> {
    let mut f = Flight::new(Setup::Plain)?;
    f.ring.add_buffers(GROUP, 8, 64)?;
    // No subscription: nothing could come.
    let s = f.events(fd, GROUP)?;
    ensure!(
        f.wait(s)?.res == -libc::EINVAL,
        "a stream without a subscription"
    );
    subscribe(cam, EventType::FrameStart, true)?;
    subscribe(cam, EventType::FrameEnd, true)?;
    let s = f.events(fd, GROUP)?;
    let again = f.events(fd, GROUP)?;
    ensure!(
        f.wait(again)?.res == -libc::EBUSY,
        "a second stream on one file"
    );
    // io-wq cannot post events.
    let w = f.raw(|ud| {
        uring::raw_cmd_sqe(
            fd,
            kio::IOC_DQEVENT as u32,
            UringCmd::default(),
            uring::URING_CMD_MULTISHOT,
            GROUP,
            Flags::BUFFER_SELECT | Flags::ASYNC,
            ud,
        )
    })?;
    ensure!(f.wait(w)?.res == -libc::EINVAL, "a stream through io-wq");
    set_streaming(cam, true)?;
    let got = take_events(&mut f, s, 12)?;
    set_streaming(cam, false)?;
    // In order: per type gap-free, starts and ends alternating, time going forward.
    let first = got
        .iter()
        .position(|e| e.event == EventType::FrameStart as u32)
        .context("no frame start")?;
    for w in got[first..].windows(2) {
        ensure!(
            w[0].event != w[1].event && w[1].timestamp_ns >= w[0].timestamp_ns && w[1].dropped == 0,
            "events out of order: {:?} then {:?}",
            w[0],
            w[1]
        );
    }
    for ty in [EventType::FrameStart as u32, EventType::FrameEnd as u32] {
        let seqs: Vec<u64> = got
            .iter()
            .filter(|e| e.event == ty)
            .map(|e| e.sequence)
            .collect();
        ensure!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "a gap in the sequence of event {ty}: {seqs:?}"
        );
    }
    // The last subscription going ends it with 0.
    subscribe(cam, EventType::FrameStart, false)?;
    subscribe(cam, EventType::FrameEnd, false)?;
    let end = stream_end(&mut f, s)?;
    ensure!(end == 0, "stream after the last unsubscription: {end}");
    // KCAM_CANCEL_EVENTS ends it with ECANCELED; then there is none to cancel.
    subscribe(cam, EventType::FrameEnd, true)?;
    let s = f.events(fd, GROUP)?;
    f.submit()?;
    kcam_cancel(cam, 0, uapi::CANCEL_EVENTS)?;
    let end = stream_end(&mut f, s)?;
    ensure!(end == -ECANCELED, "stream after KCAM_CANCEL_EVENTS: {end}");
    let e = kcam_cancel(cam, 0, uapi::CANCEL_EVENTS)
        .err()
        .context("a second CANCEL_EVENTS")?;
    ensure!(errno_of(&e) == libc::ENOENT, "no stream to cancel: {e}");
    // Out of buffers: ENOBUFS, and the event that found none stays queued for DQEVENT.
    let mut g = Flight::new(Setup::Plain)?;
    g.ring.add_buffers(GROUP, 1, 64)?;
    let s = g.events(fd, GROUP)?;
    g.submit()?;
    set_streaming(cam, true)?;
    let c = g.wait(s)?;
    ensure!(c.res == EVENT_BYTES && c.more(), "first event: {c:?}");
    let first = g
        .ring
        .event(GROUP, c.buffer().context("no buffer")?)
        .context("no buffer")?;
    let c = g.wait(s)?;
    set_streaming(cam, false)?;
    ensure!(
        c.res == -libc::ENOBUFS && !c.more(),
        "out of buffers: {c:?}"
    );
    let next = dqevent(cam).context("the event that found no buffer is lost")?;
    ensure!(
        next.sequence == first.sequence + 1 && next.event == first.event,
        "after ENOBUFS, DQEVENT gave {next:?} (the stream's last was {first:?})"
    );
    while dqevent(cam).is_ok() {}
    // A buffer too small for an event.
    let mut h = Flight::new(Setup::Plain)?;
    h.ring.add_buffers(GROUP, 1, 16)?;
    let s = h.events(fd, GROUP)?;
    h.submit()?;
    set_streaming(cam, true)?;
    let c = h.wait(s)?;
    set_streaming(cam, false)?;
    ensure!(
        c.res == -libc::EINVAL && !c.more(),
        "a 16-byte buffer: {c:?}"
    );
    subscribe(cam, EventType::FrameEnd, false)?;
    while dqevent(cam).is_ok() {}
    // A file with a stream still takes events by DQEVENT (nothing queued here), and another file is unaffected.
    let other = Camera::open(dev)?;
    let e = dqevent(&other).err().context("an event for nobody")?;
    ensure!(errno_of(&e) == libc::EAGAIN, "other file: {e}");
    Ok(())
}

/// `poll` and `epoll` on the camera fd: readable when events are queued, alongside other fds.
fn poll(cam: &Camera, dev: &Path) -> Result<()> {
    let p = Camera::open(dev)?;
    let pfd = fd_of(&p);
    ensure!(
        poll_fd(pfd, libc::POLLIN, 0)? == 0,
        "a fresh file polls readable"
    );
    subscribe(&p, EventType::FrameEnd, true)?;
    // A poller sleeping when the event comes is woken.
    let (revents, took) = std::thread::scope(|s| -> Result<(i16, Duration)> {
        let h = s.spawn(|| -> Result<(i16, Duration)> {
            let t = Instant::now();
            Ok((poll_fd(pfd, libc::POLLIN, 5000)?, t.elapsed()))
        });
        std::thread::sleep(Duration::from_millis(200));
        let mut wait = cam.op(Opcode::WaitEvent, "vcam-sensor", "CTRL", 0)?;
        wait.event = EventType::FrameEnd as u32;
        wait.timeout_ns = 2_000_000_000;
        let mut ops = [
            cam.op(Opcode::Write, "vcam-sensor", "CTRL", 1)?,
            wait,
            cam.op(Opcode::Write, "vcam-sensor", "CTRL", 0)?,
        ];
        cam.submit(&mut ops, 0)?;
        h.join().map_err(|_| anyhow::anyhow!("poller panicked"))?
    })?;
    println!("poll woke {} ms after it began", took.as_millis());
    ensure!(
        revents & libc::POLLIN != 0
            && took >= Duration::from_millis(150)
            && took < Duration::from_secs(4),
        "poll: revents {revents:#x} after {} ms",
        took.as_millis()
    );
    while dqevent(&p).is_ok() {}
    ensure!(
        poll_fd(pfd, libc::POLLIN, 0)? == 0,
        "readable with nothing queued"
    );
    // epoll: the camera and a pipe in one set.
    let mut fds = [0; 2];
    // SAFETY: Room for two fds.
    ensure!(unsafe { libc::pipe(fds.as_mut_ptr()) } == 0, "pipe");
    // SAFETY: The kernel just gave us these fds.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: No preconditions.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    ensure!(ep >= 0, "epoll_create1");
    // SAFETY: A new fd of ours.
    let ep = unsafe { OwnedFd::from_raw_fd(ep) };
    for (fd, tag) in [(pfd, 1u64), (rd.as_raw_fd(), 2)] {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: tag,
        };
        // SAFETY: Valid fds and event.
        ensure!(
            unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } == 0,
            "epoll_ctl: {}",
            std::io::Error::last_os_error()
        );
    }
    let ready = |ms: i32| -> Result<Vec<u64>> {
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 4];
        // SAFETY: Room for 4 events.
        let n = unsafe { libc::epoll_wait(ep.as_raw_fd(), evs.as_mut_ptr(), 4, ms) };
        ensure!(n >= 0, "epoll_wait: {}", std::io::Error::last_os_error());
        Ok(evs[..n as usize].iter().map(|e| e.u64).collect())
    };
    ensure!(ready(0)?.is_empty(), "epoll ready with nothing");
    // SAFETY: One byte to our pipe.
    unsafe { libc::write(wr.as_raw_fd(), b"x".as_ptr().cast(), 1) };
    ensure!(ready(1000)? == [2], "epoll: the pipe alone");
    let mut b = [0u8; 1];
    // SAFETY: One byte into a live buffer.
    unsafe { libc::read(rd.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
    set_streaming(cam, true)?;
    let got = ready(3000)?;
    set_streaming(cam, false)?;
    ensure!(got == [1], "epoll with frames streaming: {got:?}");
    subscribe(&p, EventType::FrameEnd, false)?;
    Ok(())
}

/// Surprise removal (the module must be reloaded after): io_uring lists in flight end with ENODEV, the stream too,
/// pollers see an error and hang-up, later commands ENODEV.
fn removal(cam: &Camera, fd: RawFd) -> Result<()> {
    let mut f = Flight::new(Setup::Plain)?;
    let mut wait = cam.op(Opcode::WaitEvent, "vcam-sensor", "CTRL", 0)?;
    wait.event = EventType::FrameEnd as u32;
    wait.timeout_ns = 5_000_000_000;
    let running = f.list(fd, vec![wait], 0, Flags::empty())?;
    let queued = f.list(
        fd,
        vec![cam.op(Opcode::Write, "vcam-sensor", "GAIN", 5)?],
        0,
        Flags::empty(),
    )?;
    subscribe(cam, EventType::FrameEnd, true)?;
    f.ring.add_buffers(GROUP, 4, 64)?;
    let s = f.events(fd, GROUP)?;
    f.submit()?;
    let revents = std::thread::scope(|sc| -> Result<i16> {
        let h = sc.spawn(|| poll_fd(fd, libc::POLLIN, 10_000));
        std::thread::sleep(Duration::from_millis(200));
        set_faults("remove=1")?;
        h.join().map_err(|_| anyhow::anyhow!("poller panicked"))?
    })?;
    ensure!(
        revents & (libc::POLLERR | libc::POLLHUP) == libc::POLLERR | libc::POLLHUP,
        "poll on removal: {revents:#x}"
    );
    for (what, ud) in [("running", running), ("queued", queued)] {
        let c = f.wait(ud)?;
        ensure!(c.res == -libc::ENODEV, "{what} list on removal: {c:?}");
    }
    let end = stream_end(&mut f, s)?;
    ensure!(end == -libc::ENODEV, "stream on removal: {end}");
    let late = f.list(fd, vec![delay(1000)], 0, Flags::empty())?;
    ensure!(f.wait(late)?.res == -libc::ENODEV, "a list after removal");
    let e = kcam_cancel(cam, 1, 0)
        .err()
        .context("KCAM_IOC_CANCEL after removal")?;
    ensure!(errno_of(&e) == libc::ENODEV, "cancel after removal: {e}");
    Ok(())
}

/// A thread blocked in a synchronous `KCAM_IOC_SUBMIT` (its list queued, or run by itself) or in `KCAM_IOC_WAIT`
/// is not interrupted by io_uring task work for it (a CQE on its way: `TIF_NOTIFY_SIGNAL`), only by a signal.
fn task_work(cam: &Camera, fd: RawFd) -> Result<()> {
    let mut f = Flight::new(Setup::Plain)?;
    // Queued behind a list of this thread's ring, whose completion comes while the thread waits.
    let ring_list = f.list(fd, vec![delay(100_000_000)], 0, Flags::empty())?;
    f.submit()?;
    let mut ops = [
        delay(300_000_000),
        cam.op(Opcode::Write, "vcam-sensor", "GAIN", 44)?,
    ];
    cam.submit(&mut ops, 0)?;
    ensure!(
        ops[0].status == 0 && ops[1].status == 0,
        "a queued synchronous list when io_uring task work came: {} {}",
        ops[0].status,
        ops[1].status
    );
    ensure!(f.wait(ring_list)?.res == 0, "the ring's list");
    // Run by the thread itself (the camera is idle) while a timeout of its ring fires.
    let t = f.timeout(Duration::from_millis(100))?;
    f.submit()?;
    let mut ops = [
        delay(300_000_000),
        cam.op(Opcode::Write, "vcam-sensor", "GAIN", 45)?,
    ];
    cam.submit(&mut ops, 0)?;
    ensure!(
        ops[0].status == 0 && ops[1].status == 0,
        "a synchronous list run by its submitter when io_uring task work came: {} {}",
        ops[0].status,
        ops[1].status
    );
    ensure!(f.wait(t)?.res == -libc::ETIME, "the ring's timeout");
    // KCAM_IOC_WAIT.
    let p = cam.submit_async(vec![delay(300_000_000)], false)?;
    let t = f.timeout(Duration::from_millis(100))?;
    f.submit()?;
    let w = cam
        .wait(p.seqno, LONG)
        .context("KCAM_IOC_WAIT when io_uring task work came")?;
    ensure!(w.status == 0, "waited list: {}", w.status);
    f.wait(t)?;
    ensure!(cam.read_reg("vcam-sensor", "GAIN")? == 45, "GAIN");
    Ok(())
}

/// Lists on the fast path (run while their SQE is issued) are not cancelled by io_uring task work that comes
/// meanwhile: a timeout of the same ring fires while one `io_uring_enter` issues 64 single-op lists, each of which
/// then runs with `TIF_NOTIFY_SIGNAL` set (it looks like a pending signal until the task returns to userspace).
fn fast_task_work(cam: &Camera, fd: RawFd) -> Result<()> {
    cam.reset()?;
    let mut f = Flight::new(Setup::Plain)?;
    let t = f.timeout(Duration::from_micros(100))?;
    let mut lists = Vec::new();
    for i in 0..64 {
        let op = cam.op(Opcode::Write, "vcam-sensor", "GAIN", 16 + i % 8)?;
        lists.push(f.list(fd, vec![op], 0, Flags::empty())?);
    }
    f.submit()?;
    for (i, ud) in lists.into_iter().enumerate() {
        let c = f.wait(ud)?;
        ensure!(
            c.res == 0,
            "single-op list {i} of the batch: CQE res {} ({}) with a timeout of its ring firing meanwhile",
            c.res,
            std::io::Error::from_raw_os_error(-c.res)
        );
    }
    ensure!(f.wait(t)?.res == -libc::ETIME, "the ring's timeout");
    Ok(())
}

/// `kcamctl --uring run`: submits `ops` through a ring and waits for the CQE; the results are in `ops`. As
/// `Camera::submit`: an error names the rejected op and the reason. The reply's `error_idx` is the first failed op.
pub(crate) fn submit(cam: &Camera, ops: &mut Vec<Op>, flags: u32) -> Result<Submit> {
    let mut f = Flight::new(Setup::Plain)?;
    let ud = f.list(fd_of(cam), std::mem::take(ops), flags, Flags::empty())?;
    let c = f.wait(ud)?;
    let mut l = f.lists.remove(&ud).context("the list went")?;
    *ops = std::mem::take(&mut l.ops);
    let mut s = *l.submit;
    // Refused at submission: nothing ran.
    if c.res < 0 && s.seqno == 0 {
        bail!(
            "list rejected at op {} (reason {}): {}",
            s.error_idx,
            kcam::camera::reason_name(s.error_reason),
            std::io::Error::from_raw_os_error(-c.res)
        );
    }
    s.error_idx = c.res2 as u32;
    Ok(s)
}

/// `kcamctl --uring stream`: the events of a subscribed `cam` until `frame_ends` FRAME_ENDs came, from a
/// multishot command (printed as `print` says), then the stream is cancelled.
pub(crate) fn stream(
    cam: &Camera,
    frame_ends: usize,
    print: impl Fn(&Event),
) -> Result<Vec<Event>> {
    let mut f = Flight::new(Setup::Plain)?;
    f.ring.add_buffers(GROUP, 16, 64)?;
    let s = f.events(fd_of(cam), GROUP)?;
    f.submit()?;
    let mut got: Vec<Event> = Vec::new();
    while got
        .iter()
        .filter(|e| e.event == EventType::FrameEnd as u32)
        .count()
        < frame_ends
    {
        let c = f.wait(s)?;
        ensure!(
            c.more(),
            "the event stream ended: {}",
            std::io::Error::from_raw_os_error(-c.res)
        );
        let bid = c.buffer().context("an event without a buffer")?;
        let e = f.ring.event(GROUP, bid).context("no such buffer")?;
        f.ring.recycle(GROUP, bid);
        print(&e);
        got.push(e);
    }
    kcam_cancel(cam, 0, uapi::CANCEL_EVENTS)?;
    stream_end(&mut f, s)?;
    Ok(got)
}

/// `kcamctl bench`'s ring: `count` single-op lists as SQEs submitted and reaped with one `io_uring_enter`; the
/// time it took.
pub(crate) struct Bench {
    f: Flight,
}

impl Bench {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            f: Flight::new(Setup::DeferTaskrun)?,
        })
    }

    pub(crate) fn round(
        &mut self,
        cam: &Camera,
        make: impl Fn(u32) -> Op,
        count: u32,
    ) -> Result<Duration> {
        let fd = fd_of(cam);
        let mut lists: Vec<UringList> = (0..count)
            .map(|i| UringList::new(vec![make(i)], 0))
            .collect();
        let t = Instant::now();
        for (i, l) in lists.iter_mut().enumerate() {
            let e = l.sqe(fd, Flags::empty(), i as u64);
            // SAFETY: `lists` stays, untouched, until every CQE came (below).
            unsafe { self.f.ring.push(&e) }?;
        }
        let mut got = 0;
        let mut failed = 0;
        while got < count as usize {
            self.f.ring.submit_and_wait(count as usize - got)?;
            for c in self.f.ring.completions() {
                got += 1;
                failed += usize::from(c.res != 0);
            }
        }
        let took = t.elapsed();
        ensure!(failed == 0, "{failed} of {count} lists failed");
        drop(lists);
        Ok(took)
    }
}

/// One random command of `kcamctl --uring fuzz` on a ring of its own: SUBMIT of `s`, CANCEL, the event stream, our
/// other ioctls or anything, with random command bytes, flags and SQE flags. What it was and its CQE's res.
pub(crate) fn fuzz_one(
    cam: &Camera,
    s: &mut Submit,
    mut rnd: impl FnMut(u64) -> u64,
) -> Result<(&'static str, i32)> {
    let fd = fd_of(cam);
    let mut f = Flight::new(Setup::Plain)?;
    f.ring.add_buffers(0, 4, 64)?;
    let cancel = Cancel {
        seqno: rnd(8),
        flags: rnd(3) as u32,
        reserved0: if rnd(16) == 0 { 1 } else { 0 },
        reserved: [0; 2],
    };
    // Random lists are nearly always invalid: a valid one too, so that lists also run.
    let mut nop = [Op::new(Opcode::Nop, 0, 0)];
    let mut valid = Submit {
        count: 1,
        ops_ptr: nop.as_mut_ptr() as u64,
        ..Submit::default()
    };
    let (kind, op, arg) = match rnd(8) {
        0..=1 => ("submit", kio::IOC_SUBMIT as u32, s as *mut Submit as u64),
        2..=3 => (
            "submit",
            kio::IOC_SUBMIT as u32,
            &mut valid as *mut Submit as u64,
        ),
        4 => (
            "cancel",
            kio::IOC_CANCEL as u32,
            &cancel as *const Cancel as u64,
        ),
        5 => ("events", kio::IOC_DQEVENT as u32, 0),
        6 => ("caps", kio::IOC_QUERY_CAPS as u32, s as *mut Submit as u64),
        _ => ("other", rnd(u64::from(u32::MAX)) as u32, rnd(u64::MAX)),
    };
    let cmd = UringCmd {
        arg: if rnd(16) == 0 { rnd(u64::MAX) } else { arg },
        reserved: if rnd(16) == 0 { 1 } else { 0 },
    };
    let ucf = match rnd(8) {
        0 => uring::URING_CMD_MULTISHOT,
        1 => uring::URING_CMD_FIXED,
        _ => 0,
    };
    let mut flags = Flags::empty();
    if rnd(4) == 0 {
        flags |= Flags::ASYNC;
    }
    if ucf == uring::URING_CMD_MULTISHOT || rnd(16) == 0 {
        flags |= Flags::BUFFER_SELECT;
    }
    let ud = f.raw(|ud| uring::raw_cmd_sqe(fd, op, cmd, ucf, 0, flags, ud))?;
    let c = f.wait(ud)?;
    if c.more() {
        // A stream armed (the file is subscribed): end it.
        kcam_cancel(cam, 0, uapi::CANCEL_EVENTS)?;
        while f.wait(ud)?.more() {}
    }
    Ok((kind, c.res))
}
