// SPDX-License-Identifier: GPL-2.0
//! `kcamctl check CASE`: scenarios that need several files, threads or fences at once. Each case exits 0 when the
//! camera behaves as documented and fails with what it saw otherwise. Cases that inject faults leave them cleared
//! (by `KCAM_IOC_RESET`), except `removal`, which needs the module reloaded afterwards.

use super::{ioctl, Camera};
use anyhow::{bail, ensure, Context, Result};
use kcam::uapi::{self, Event, EventSub, EventType, Op, Opcode, Reset, Submit, Wait};
use std::{
    fs::File,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    path::Path,
    time::{Duration, Instant},
};

pub(crate) const CASES: &[&str] = &[
    "ioctl-numbers",
    "async-order",
    "out-fence",
    "wait-fence",
    "fence-chain",
    "pending-limit",
    "isolation",
    "close-cancels",
    "signal",
    "reset-cancels",
    "hang",
    "removal",
];

const FAULTS: &str = "/sys/kernel/debug/vcam/faults";
const SW_SYNC: &str = "/sys/kernel/debug/sync/sw_sync";

/// An asynchronous submission; its ops stay here until waited for (the kernel writes results back to them).
struct Pending {
    ops: Vec<Op>,
    seqno: u64,
    fence: Option<OwnedFd>,
}

fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

impl Camera {
    fn submit_async(&self, ops: Vec<Op>, out_fence: bool) -> std::io::Result<Pending> {
        let mut p = Pending {
            ops,
            seqno: 0,
            fence: None,
        };
        let mut s = Submit {
            flags: uapi::SUBMIT_ASYNC | if out_fence { uapi::SUBMIT_OUT_FENCE } else { 0 },
            count: p.ops.len() as u32,
            ops_ptr: p.ops.as_mut_ptr() as u64,
            ..Submit::default()
        };
        ioctl(&self.file, uapi::IOC_SUBMIT, &mut s)?;
        p.seqno = s.seqno;
        if s.out_fence_fd >= 0 {
            // SAFETY: The kernel just installed this fd for us; nothing else owns it.
            p.fence = Some(unsafe { OwnedFd::from_raw_fd(s.out_fence_fd) });
        }
        Ok(p)
    }

    /// `KCAM_IOC_WAIT`: the submission's status (0 or a negative errno) and first failing op.
    fn wait(&self, seqno: u64, timeout: Duration) -> std::io::Result<Wait> {
        let mut w = Wait {
            seqno,
            timeout_ns: timeout.as_nanos() as u64,
            ..Wait::default()
        };
        ioctl(&self.file, uapi::IOC_WAIT, &mut w)?;
        Ok(w)
    }

    fn reset(&self) -> Result<()> {
        let mut r = Reset::default();
        ioctl(&self.file, uapi::IOC_RESET, &mut r).context("KCAM_IOC_RESET")
    }
}

fn delay(ns: u64) -> Op {
    let mut op = Op::new(Opcode::Delay, 0, 0);
    op.timeout_ns = ns;
    op
}

fn wait_fence(fd: i32, timeout_ns: u64) -> Op {
    let mut op = Op::new(Opcode::WaitFence, 0, 0);
    op.fence_fd = fd;
    op.timeout_ns = timeout_ns;
    op
}

/// Whether a sync_file fd has signalled, without waiting.
fn signalled(fd: &OwnedFd) -> Result<bool> {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: One valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    ensure!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    Ok(n == 1)
}

/// `struct sync_file_info` (include/uapi/linux/sync_file.h).
#[repr(C)]
#[derive(Default)]
struct SyncFileInfo {
    name: [u8; 32],
    status: i32,
    flags: u32,
    num_fences: u32,
    pad: u32,
    sync_fence_info: u64,
}
/// `_IOC(dir, type, nr, size)` of a foreign ioctl (dir: 1 write, 2 read, 3 both).
const fn ioc(dir: u32, ty: u8, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | ((ty as u32) << 8) | nr
}

/// `SYNC_IOC_FILE_INFO`.
const SYNC_IOC_FILE_INFO: u32 = ioc(3, b'>', 4, std::mem::size_of::<SyncFileInfo>());

/// A sync_file's status: 1 signalled, 0 pending, a negative errno if signalled with an error.
fn fence_status(fd: &OwnedFd) -> Result<i32> {
    let mut info = SyncFileInfo::default();
    // SAFETY: `info` is a live `struct sync_file_info` with num_fences 0 (no array to fill).
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), SYNC_IOC_FILE_INFO as _, &mut info) };
    ensure!(
        rc == 0,
        "SYNC_IOC_FILE_INFO: {}",
        std::io::Error::last_os_error()
    );
    Ok(info.status)
}

/// A sw_sync timeline (CONFIG_SW_SYNC): fences that signal when the test says so.
struct Timeline(File);

#[repr(C)]
struct SwSyncCreateFence {
    value: u32,
    name: [u8; 32],
    fence: i32,
}

impl Timeline {
    fn new() -> Result<Self> {
        Ok(Self(
            File::options()
                .read(true)
                .write(true)
                .open(SW_SYNC)
                .with_context(|| format!("opening {SW_SYNC}"))?,
        ))
    }

    /// A fence that signals when the timeline reaches `value`.
    fn fence(&self, value: u32) -> Result<OwnedFd> {
        let mut d = SwSyncCreateFence {
            value,
            name: [0; 32],
            fence: -1,
        };
        let cmd = ioc(3, b'W', 0, std::mem::size_of::<SwSyncCreateFence>());
        // SAFETY: `d` is a live `struct sw_sync_create_fence_data`.
        let rc = unsafe { libc::ioctl(self.0.as_raw_fd(), cmd as _, &mut d) };
        ensure!(
            rc == 0,
            "SW_SYNC_IOC_CREATE_FENCE: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: A new fd the kernel gave us.
        Ok(unsafe { OwnedFd::from_raw_fd(d.fence) })
    }

    fn advance(&self, by: u32) -> Result<()> {
        let cmd = ioc(1, b'W', 1, 4);
        let mut by = by;
        // SAFETY: SW_SYNC_IOC_INC reads one u32.
        let rc = unsafe { libc::ioctl(self.0.as_raw_fd(), cmd as _, &mut by) };
        ensure!(
            rc == 0,
            "SW_SYNC_IOC_INC: {}",
            std::io::Error::last_os_error()
        );
        Ok(())
    }
}

fn set_faults(spec: &str) -> Result<()> {
    std::fs::write(FAULTS, spec).with_context(|| format!("writing '{spec}' to {FAULTS}"))
}

const ECANCELED: i32 = libc::ECANCELED;
const LONG: Duration = Duration::from_secs(10);

pub(crate) fn run(dev: &Path, case: &str) -> Result<()> {
    let cam = Camera::open(&dev.to_path_buf())?;
    match case {
        // One of our ioctls with another struct size is EINVAL (a layout mismatch); an unknown number ENOTTY.
        "ioctl-numbers" => {
            let mut small = [0u64; 1];
            let wrong_size = ioc(2, uapi::IOC_MAGIC as u8, 0, std::mem::size_of_val(&small));
            let e = ioctl(&cam.file, wrong_size, &mut small)
                .err()
                .context("wrong size accepted")?;
            ensure!(errno_of(&e) == libc::EINVAL, "wrong size: {e}");
            let unknown = ioc(3, uapi::IOC_MAGIC as u8, 40, 8);
            let e = ioctl(&cam.file, unknown, &mut small)
                .err()
                .context("unknown ioctl accepted")?;
            ensure!(errno_of(&e) == libc::ENOTTY, "unknown ioctl: {e}");
        }
        // Three asynchronous lists complete in submission order; results come back to each list when waited for,
        // in any order.
        "async-order" => {
            let mut subs = Vec::new();
            for i in 1..=3u64 {
                let ops = vec![
                    delay(20_000_000),
                    cam.op(Opcode::Write, "vcam-sensor", "EXPOSURE", 100 * i)?,
                ];
                subs.push(cam.submit_async(ops, false)?);
            }
            ensure!(
                subs[0].seqno < subs[1].seqno && subs[1].seqno < subs[2].seqno,
                "seqnos not increasing"
            );
            for p in subs.iter().rev() {
                let w = cam.wait(p.seqno, LONG)?;
                ensure!(
                    w.status == 0 && w.error_idx == 2,
                    "wait: status {} idx {}",
                    w.status,
                    w.error_idx
                );
            }
            for (i, p) in subs.iter().enumerate() {
                ensure!(
                    p.ops[1].status == 0 && p.ops[1].result == 100 * (i as u64 + 1),
                    "results of list {i}"
                );
            }
            ensure!(
                cam.read_reg("vcam-sensor", "EXPOSURE")? == 300,
                "last list did not run last"
            );
            // Reaped: waiting again is an unknown seqno.
            let e = cam
                .wait(subs[0].seqno, LONG)
                .err()
                .context("second wait succeeded")?;
            ensure!(errno_of(&e) == libc::EINVAL, "second wait: {e}");
        }
        // The out-fence is a sync_file that signals when the list is done, with the list's error if it failed.
        "out-fence" => {
            let p = cam.submit_async(vec![delay(300_000_000)], true)?;
            let fd = p.fence.as_ref().context("no out-fence fd")?;
            ensure!(!signalled(fd)?, "fence signalled before the list ran");
            let e = cam
                .wait(p.seqno, Duration::ZERO)
                .err()
                .context("wait 0 on a running list succeeded")?;
            ensure!(errno_of(&e) == libc::EAGAIN, "wait 0: {e}");
            cam.wait(p.seqno, LONG)?;
            ensure!(
                signalled(fd)? && fence_status(fd)? == 1,
                "fence not signalled ok after the list"
            );
            let mut poll = cam.op(Opcode::Poll, "vcam-sensor", "CTRL", 1)?;
            poll.mask = 1;
            poll.timeout_ns = 10_000_000;
            let p = cam.submit_async(vec![poll], true)?;
            let w = cam.wait(p.seqno, LONG)?;
            let st = fence_status(p.fence.as_ref().context("no fence")?)?;
            ensure!(
                w.status == -libc::ETIMEDOUT && st == -libc::ETIMEDOUT,
                "failed list: wait {} fence {st}",
                w.status
            );
            // OUT_FENCE without ASYNC is refused.
            let mut ops = [delay(1000)];
            let mut s = Submit {
                flags: uapi::SUBMIT_OUT_FENCE,
                count: 1,
                ops_ptr: ops.as_mut_ptr() as u64,
                ..Submit::default()
            };
            let e = ioctl(&cam.file, uapi::IOC_SUBMIT, &mut s)
                .err()
                .context("OUT_FENCE alone accepted")?;
            ensure!(
                errno_of(&e) == libc::EINVAL && s.out_fence_fd == -1,
                "OUT_FENCE alone: {e}"
            );
        }
        // WAIT_FENCE gates a list on a foreign fence (sw_sync); a fence that does not come times out; an fd that
        // is not a sync_file is rejected before anything runs.
        "wait-fence" => {
            let tl = Timeline::new()?;
            let f = tl.fence(1)?;
            let ops = vec![
                wait_fence(f.as_raw_fd(), 5_000_000_000),
                cam.op(Opcode::Write, "vcam-sensor", "GAIN", 77)?,
            ];
            let p = cam.submit_async(ops, false)?;
            std::thread::sleep(Duration::from_millis(100));
            let e = cam
                .wait(p.seqno, Duration::ZERO)
                .err()
                .context("list ran before its fence")?;
            ensure!(errno_of(&e) == libc::EAGAIN, "before the fence: {e}");
            // (Reading GAIN here would queue behind the waiting list: lists complete in order.)
            tl.advance(1)?;
            let w = cam.wait(p.seqno, LONG)?;
            ensure!(
                w.status == 0 && cam.read_reg("vcam-sensor", "GAIN")? == 77,
                "after the fence: {}",
                w.status
            );
            let never = tl.fence(100)?;
            let mut ops = [wait_fence(never.as_raw_fd(), 50_000_000)];
            cam.submit(&mut ops, 0)?;
            ensure!(
                ops[0].status == -libc::ETIMEDOUT,
                "unsignalled fence: status {}",
                ops[0].status
            );
            let null = File::open("/dev/null")?;
            let mut ops = [wait_fence(null.as_raw_fd(), 50_000_000)];
            let mut s = Submit {
                count: 1,
                ops_ptr: ops.as_mut_ptr() as u64,
                ..Submit::default()
            };
            let e = ioctl(&cam.file, uapi::IOC_SUBMIT, &mut s)
                .err()
                .context("non-fence fd accepted")?;
            ensure!(
                errno_of(&e) == libc::EBADF
                    && s.error_idx == 0
                    && s.error_reason == uapi::Reason::BadFence as u32,
                "non-fence fd: {e}, idx {} reason {}",
                s.error_idx,
                s.error_reason
            );
            tl.advance(100)?;
        }
        // kcam's own out-fence composes: a list of another file waits on it.
        "fence-chain" => {
            let other = Camera::open(&dev.to_path_buf())?;
            let first = cam.submit_async(
                vec![
                    delay(100_000_000),
                    cam.op(Opcode::Write, "vcam-sensor", "EXPOSURE", 11)?,
                ],
                true,
            )?;
            let fd = first.fence.as_ref().context("no fence")?;
            let mut ops = [
                wait_fence(fd.as_raw_fd(), 5_000_000_000),
                other.op(Opcode::Read, "vcam-sensor", "EXPOSURE", 0)?,
            ];
            other.submit(&mut ops, 0)?;
            ensure!(
                ops[0].status == 0 && ops[1].result == 11,
                "chained read saw {:#x}",
                ops[1].result
            );
            cam.wait(first.seqno, LONG)?;
        }
        // At most max_pending unreaped asynchronous submissions per file: one more is EBUSY and changes nothing;
        // other files are not limited by it; waiting for one makes room.
        "pending-limit" => {
            let mut caps = uapi::Caps::default();
            ioctl(&cam.file, uapi::IOC_QUERY_CAPS, &mut caps)?;
            let mut subs = Vec::new();
            for _ in 0..caps.max_pending {
                subs.push(cam.submit_async(vec![Op::new(Opcode::Nop, 0, 0)], false)?);
            }
            let e = cam
                .submit_async(
                    vec![cam.op(Opcode::Write, "vcam-sensor", "GAIN", 99)?],
                    false,
                )
                .err();
            ensure!(
                e.as_ref().map(errno_of) == Some(libc::EBUSY),
                "over the limit: {e:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
            ensure!(
                cam.read_reg("vcam-sensor", "GAIN")? != 99,
                "refused list ran"
            );
            let other = Camera::open(&dev.to_path_buf())?;
            let o = other.submit_async(vec![Op::new(Opcode::Nop, 0, 0)], false)?;
            other.wait(o.seqno, LONG)?;
            cam.wait(subs[0].seqno, LONG)?;
            let p = cam.submit_async(vec![Op::new(Opcode::Nop, 0, 0)], false)?;
            for s in subs.iter().skip(1).chain(std::iter::once(&p)) {
                cam.wait(s.seqno, LONG)?;
            }
        }
        // Two files: one cannot wait for the other's submission, and events go only to the file subscribed.
        "isolation" => {
            let b = Camera::open(&dev.to_path_buf())?;
            let p = cam.submit_async(vec![delay(50_000_000)], false)?;
            let e = b
                .wait(p.seqno, LONG)
                .err()
                .context("other file waited for our submission")?;
            ensure!(errno_of(&e) == libc::EINVAL, "other file's wait: {e}");
            cam.wait(p.seqno, LONG)?;
            let (sensor, _) = cam.reg("vcam-sensor", "CTRL")?;
            let mut sub = EventSub {
                entity_id: sensor,
                event: EventType::FrameEnd as u32,
                ..EventSub::default()
            };
            ioctl(&b.file, uapi::IOC_SUBSCRIBE, &mut sub)?;
            let mut wait = cam.op(Opcode::WaitEvent, "vcam-sensor", "CTRL", 0)?;
            wait.event = EventType::FrameEnd as u32;
            wait.timeout_ns = 2_000_000_000;
            let mut ops = [
                cam.op(Opcode::Write, "vcam-sensor", "CTRL", 1)?,
                wait,
                cam.op(Opcode::Write, "vcam-sensor", "CTRL", 0)?,
            ];
            cam.submit(&mut ops, 0)?;
            ensure!(ops.iter().all(|o| o.status == 0), "streaming list failed");
            let mut ev = Event::default();
            ioctl(&b.file, uapi::IOC_DQEVENT, &mut ev).context("subscribed file got no event")?;
            let e = ioctl(&cam.file, uapi::IOC_DQEVENT, &mut ev)
                .err()
                .context("unsubscribed file got an event")?;
            ensure!(errno_of(&e) == libc::EAGAIN, "unsubscribed file: {e}");
        }
        // Closing a file cancels its queued and running lists: their writes never happen.
        "close-cancels" => {
            let b = Camera::open(&dev.to_path_buf())?;
            b.submit_async(
                vec![
                    delay(1_000_000_000),
                    b.op(Opcode::Write, "vcam-sensor", "EXPOSURE", 42)?,
                ],
                false,
            )?;
            b.submit_async(vec![b.op(Opcode::Write, "vcam-sensor", "GAIN", 42)?], false)?;
            drop(b);
            // Nothing of b's is left in the queue: our own list runs at once and sees neither write, now or later.
            std::thread::sleep(Duration::from_millis(1200));
            ensure!(
                cam.read_reg("vcam-sensor", "EXPOSURE")? != 42,
                "cancelled write ran"
            );
            ensure!(
                cam.read_reg("vcam-sensor", "GAIN")? != 42,
                "queued write of a closed file ran"
            );
        }
        // A signal to a synchronous submitter stops its list: the waiting op gets EINTR, the rest ECANCELED, the
        // results still come back.
        "signal" => {
            extern "C" fn on_signal(_: libc::c_int) {}
            // SAFETY: A handler that does nothing; no SA_RESTART, so the blocked ioctl sees the signal.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut());
            }
            let mut wait = cam.op(Opcode::WaitEvent, "vcam-sensor", "CTRL", 0)?;
            wait.event = EventType::FrameEnd as u32;
            wait.timeout_ns = 5_000_000_000;
            let mut ops = [wait, cam.op(Opcode::Write, "vcam-sensor", "GAIN", 66)?];
            let t = Instant::now();
            std::thread::scope(|s| -> Result<()> {
                let (tx, rx) = std::sync::mpsc::channel();
                let (ops, cam) = (&mut ops, &cam);
                let h = s.spawn(move || {
                    // SAFETY: No preconditions.
                    let _ = tx.send(unsafe { libc::pthread_self() });
                    cam.submit(ops, 0).map(|_| ())
                });
                let thread = rx.recv()?;
                std::thread::sleep(Duration::from_millis(200));
                // SAFETY: Signals a live thread of ours (it is joined below).
                unsafe { libc::pthread_kill(thread, libc::SIGUSR1) };
                h.join()
                    .map_err(|_| anyhow::anyhow!("submitter panicked"))?
            })?;
            ensure!(
                ops[0].status == -libc::EINTR && ops[1].status == -ECANCELED,
                "after a signal: {} {}",
                ops[0].status,
                ops[1].status
            );
            ensure!(
                cam.read_reg("vcam-sensor", "GAIN")? != 66,
                "op after the interrupted one ran"
            );
            println!(
                "signal ended the 5 s wait after {} ms",
                t.elapsed().as_millis()
            );
        }
        // RESET cancels a waiting list of another file (ECANCELED) and the lists queued behind it.
        "reset-cancels" => {
            let b = Camera::open(&dev.to_path_buf())?;
            let mut wait = cam.op(Opcode::WaitEvent, "vcam-sensor", "CTRL", 0)?;
            wait.event = EventType::FrameEnd as u32;
            wait.timeout_ns = 5_000_000_000;
            let waiting = b.submit_async(vec![wait], false)?;
            let queued =
                b.submit_async(vec![b.op(Opcode::Write, "vcam-sensor", "GAIN", 5)?], false)?;
            std::thread::sleep(Duration::from_millis(50));
            let t = Instant::now();
            cam.reset()?;
            let w = b.wait(waiting.seqno, LONG)?;
            let q = b.wait(queued.seqno, LONG)?;
            ensure!(
                w.status == -ECANCELED && q.status == -ECANCELED,
                "after reset: {} {}",
                w.status,
                q.status
            );
            ensure!(
                waiting.ops[0].status == -ECANCELED,
                "op status {}",
                waiting.ops[0].status
            );
            println!(
                "reset ended the 5 s wait after {} ms",
                t.elapsed().as_millis()
            );
        }
        // A hung camera blocks the running list; RESET ends it with ECANCELED and the camera works again.
        "hang" => {
            set_faults("hang=1")?;
            let p =
                cam.submit_async(vec![cam.op(Opcode::Read, "vcam-sensor", "GAIN", 0)?], false)?;
            let e = cam
                .wait(p.seqno, Duration::from_millis(200))
                .err()
                .context("hung read completed")?;
            ensure!(errno_of(&e) == libc::ETIMEDOUT, "wait on a hung list: {e}");
            let other = Camera::open(&dev.to_path_buf())?;
            other.reset()?;
            let w = cam.wait(p.seqno, LONG)?;
            ensure!(
                w.status == -ECANCELED,
                "hung list after reset: {}",
                w.status
            );
            let faults = std::fs::read_to_string(FAULTS)?;
            ensure!(faults.contains("hang=0"), "reset left the hang: {faults}");
            cam.read_reg("vcam-sensor", "GAIN")?;
        }
        // Surprise removal: a blocked waiter gets ENODEV, every later ioctl fails with ENODEV, the node goes, closing
        // works. (The module must be reloaded afterwards.)
        "removal" => {
            let mut wait = cam.op(Opcode::WaitEvent, "vcam-sensor", "CTRL", 0)?;
            wait.event = EventType::FrameEnd as u32;
            wait.timeout_ns = 5_000_000_000;
            let mut ops = [wait];
            let sync_waiter = std::thread::scope(|s| -> Result<(i32, Option<i32>)> {
                let h = s.spawn(|| {
                    let r = cam.submit(&mut ops, 0);
                    (ops[0].status, r.err().map(|e| format!("{e:#}")))
                });
                std::thread::sleep(Duration::from_millis(100));
                set_faults("remove=1")?;
                let (status, err) = h.join().map_err(|_| anyhow::anyhow!("waiter panicked"))?;
                Ok((status, err.map(|e| i32::from(e.contains("No such device")))))
            })?;
            ensure!(
                sync_waiter.0 == -libc::ENODEV,
                "blocked op got {}",
                sync_waiter.0
            );
            ensure!(
                sync_waiter.1 == Some(1),
                "blocked submit did not fail with ENODEV"
            );
            let mut caps = uapi::Caps::default();
            let e = ioctl(&cam.file, uapi::IOC_QUERY_CAPS, &mut caps)
                .err()
                .context("ioctl after removal worked")?;
            ensure!(errno_of(&e) == libc::ENODEV, "ioctl after removal: {e}");
            let e = File::open(dev).err().context("open after removal worked")?;
            ensure!(errno_of(&e) == libc::ENOENT, "open after removal: {e}");
        }
        other => bail!("unknown case '{other}'; cases: {}", CASES.join(", ")),
    }
    Ok(())
}
