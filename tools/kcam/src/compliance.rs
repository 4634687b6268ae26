// SPDX-License-Identifier: GPL-2.0
//! `kcamctl check CASE`: scenarios that need several files, threads or fences at once. Each case exits 0 when the
//! camera behaves as documented and fails with what it saw otherwise. Cases that inject faults leave them cleared
//! (by `KCAM_IOC_RESET`), except `removal`, which needs the module reloaded afterwards.

#[path = "uring_check.rs"]
pub(crate) mod uring_check;

use anyhow::{bail, ensure, Context, Result};
use kcam::camera::{ioctl, submit_async_on, Camera};
use kcam::ioctl as kio;
use kcam::uapi::{self, Event, EventSub, EventType, Op, Opcode, Submit};
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
    "fence-merge",
    "pending-limit",
    "test-only-full",
    "reply-fault",
    "camera-limits",
    "param-snapshot",
    "isolation",
    "close-cancels",
    "signal",
    "kill-direct",
    "kill-queued",
    "reset-cancels",
    "hang",
    "hang-watchdog",
    "removal",
];

const FAULTS: &str = "/sys/kernel/debug/vcam/faults";
const SW_SYNC: &str = "/sys/kernel/debug/sync/sw_sync";

fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
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

/// `struct sync_fence_info` (include/uapi/linux/sync_file.h).
#[repr(C)]
struct SyncFenceInfo {
    obj_name: [u8; 32],
    driver_name: [u8; 32],
    status: i32,
    flags: u32,
    timestamp_ns: u64,
}

/// `struct sync_merge_data`.
#[repr(C)]
struct SyncMergeData {
    name: [u8; 32],
    fd2: i32,
    fence: i32,
    flags: u32,
    pad: u32,
}

/// `SYNC_IOC_MERGE`.
const SYNC_IOC_MERGE: libc::Ioctl = libc::_IOWR::<SyncMergeData>(b'>' as u32, 3);

/// A new sync_file that signals when both `a` and `b` have (the kernel keeps only the later fence of a context).
fn merge(a: &OwnedFd, b: &OwnedFd) -> Result<OwnedFd> {
    let mut d = SyncMergeData {
        name: [0; 32],
        fd2: b.as_raw_fd(),
        fence: -1,
        flags: 0,
        pad: 0,
    };
    // SAFETY: `d` is a live `struct sync_merge_data`.
    let rc = unsafe { libc::ioctl(a.as_raw_fd(), SYNC_IOC_MERGE as _, &mut d) };
    ensure!(
        rc == 0,
        "SYNC_IOC_MERGE: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: A new fd the kernel gave us.
    Ok(unsafe { OwnedFd::from_raw_fd(d.fence) })
}

/// The timeline and driver names of a sync_file's (single) fence.
fn fence_names(fd: &OwnedFd) -> Result<(String, String)> {
    let mut fi = SyncFenceInfo {
        obj_name: [0; 32],
        driver_name: [0; 32],
        status: 0,
        flags: 0,
        timestamp_ns: 0,
    };
    let mut info = SyncFileInfo {
        num_fences: 1,
        sync_fence_info: &mut fi as *mut SyncFenceInfo as u64,
        ..SyncFileInfo::default()
    };
    // SAFETY: `info` points at room for one `struct sync_fence_info`, as num_fences says.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), SYNC_IOC_FILE_INFO as _, &mut info) };
    ensure!(
        rc == 0,
        "SYNC_IOC_FILE_INFO: {}",
        std::io::Error::last_os_error()
    );
    let name =
        |b: &[u8]| String::from_utf8_lossy(b.split(|c| *c == 0).next().unwrap_or(b)).into_owned();
    Ok((name(&fi.obj_name), name(&fi.driver_name)))
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
/// `SYNC_IOC_FILE_INFO` (include/uapi/linux/sync_file.h).
const SYNC_IOC_FILE_INFO: libc::Ioctl = libc::_IOWR::<SyncFileInfo>(b'>' as u32, 4);

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
        let cmd = libc::_IOWR::<SwSyncCreateFence>(b'W' as u32, 0);
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
        let cmd = libc::_IOW::<u32>(b'W' as u32, 1);
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

/// One anonymous page, unmapped on drop.
struct Page {
    ptr: *mut libc::c_void,
}

impl Page {
    fn new() -> Result<Self> {
        // SAFETY: A fresh anonymous mapping; the kernel picks the address.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        ensure!(
            ptr != libc::MAP_FAILED,
            "mmap: {}",
            std::io::Error::last_os_error()
        );
        Ok(Self { ptr })
    }

    /// A page at exactly `addr` (which must be free), filled with `fill`.
    fn at(addr: *mut libc::c_void, fill: u8) -> Option<Self> {
        // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping.
        let ptr = unsafe {
            libc::mmap(
                addr,
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                -1,
                0,
            )
        };
        if ptr != addr {
            return None;
        }
        // SAFETY: Mapped and writable just now.
        unsafe { std::ptr::write_bytes(ptr.cast::<u8>(), fill, 4096) };
        Some(Self { ptr })
    }

    fn protect(&self, prot: libc::c_int) -> Result<()> {
        // SAFETY: Our own mapping of one page.
        let rc = unsafe { libc::mprotect(self.ptr, 4096, prot) };
        ensure!(rc == 0, "mprotect: {}", std::io::Error::last_os_error());
        Ok(())
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        // SAFETY: Our own mapping of one page, not used after this.
        unsafe { libc::munmap(self.ptr, 4096) };
    }
}

/// `MemAvailable` of /proc/meminfo, in KiB.
fn mem_available_kib() -> Result<u64> {
    let m = std::fs::read_to_string("/proc/meminfo")?;
    m.lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no MemAvailable in /proc/meminfo")
}

fn set_faults(spec: &str) -> Result<()> {
    std::fs::write(FAULTS, spec).with_context(|| format!("writing '{spec}' to {FAULTS}"))
}

const ECANCELED: i32 = libc::ECANCELED;
const LONG: Duration = Duration::from_secs(10);

pub(crate) fn run(dev: &Path, case: &str) -> Result<()> {
    let cam = Camera::open(dev)?;
    match case {
        // One of our ioctls with another struct size is EINVAL (a layout mismatch); an unknown number ENOTTY.
        "ioctl-numbers" => {
            let mut small = [0u64; 1];
            let wrong_size = libc::_IOR::<[u64; 1]>(uapi::IOC_MAGIC, uapi::IOC_NR_QUERY_CAPS);
            let e = ioctl(&cam.file, wrong_size, &mut small)
                .err()
                .context("wrong size accepted")?;
            ensure!(errno_of(&e) == libc::EINVAL, "wrong size: {e}");
            let unknown = libc::_IOWR::<u64>(uapi::IOC_MAGIC, 40);
            let e = ioctl(&cam.file, unknown, &mut small)
                .err()
                .context("unknown ioctl accepted")?;
            ensure!(errno_of(&e) == libc::ENOTTY, "unknown ioctl: {e}");
            // DQEVENT reads nothing, so it is _IOR; version 1's _IOWR number is one of ours with another direction.
            let mut ev = Event::default();
            let v1 = libc::_IOWR::<Event>(uapi::IOC_MAGIC, uapi::IOC_NR_DQEVENT);
            let e = ioctl(&cam.file, v1, &mut ev)
                .err()
                .context("version 1 DQEVENT (_IOWR) accepted")?;
            ensure!(errno_of(&e) == libc::EINVAL, "version 1 DQEVENT: {e}");
            let e = ioctl(&cam.file, kio::IOC_DQEVENT, &mut ev)
                .err()
                .context("DQEVENT with nothing queued succeeded")?;
            ensure!(errno_of(&e) == libc::EAGAIN, "DQEVENT: {e}");
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
            // The fence's timeline is named after the camera's device node.
            let node = dev.file_name().map(|n| n.to_string_lossy().into_owned());
            let (timeline, driver) = fence_names(fd)?;
            ensure!(
                Some(&timeline) == node.as_ref() && driver == "kcam",
                "fence of {node:?} names timeline '{timeline}', driver '{driver}'"
            );
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
            let e = ioctl(&cam.file, kio::IOC_SUBMIT, &mut s)
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
            let e = ioctl(&cam.file, kio::IOC_SUBMIT, &mut s)
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
            let other = Camera::open(dev)?;
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
            ioctl(&cam.file, kio::IOC_QUERY_CAPS, &mut caps)?;
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
            let other = Camera::open(dev)?;
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
            let b = Camera::open(dev)?;
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
            ioctl(&b.file, kio::IOC_SUBSCRIBE, &mut sub)?;
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
            ioctl(&b.file, kio::IOC_DQEVENT, &mut ev).context("subscribed file got no event")?;
            let e = ioctl(&cam.file, kio::IOC_DQEVENT, &mut ev)
                .err()
                .context("unsubscribed file got an event")?;
            ensure!(errno_of(&e) == libc::EAGAIN, "unsubscribed file: {e}");
        }
        // Closing a file cancels its queued and running lists: their writes never happen.
        "close-cancels" => {
            let b = Camera::open(dev)?;
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
            let b = Camera::open(dev)?;
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
            let other = Camera::open(dev)?;
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
            let e = ioctl(&cam.file, kio::IOC_QUERY_CAPS, &mut caps)
                .err()
                .context("ioctl after removal worked")?;
            ensure!(errno_of(&e) == libc::ENODEV, "ioctl after removal: {e}");
            let e = File::open(dev).err().context("open after removal worked")?;
            ensure!(errno_of(&e) == libc::ENOENT, "open after removal: {e}");
        }
        // Fences of one camera signal in seqno order: N+1 cancelled while N runs does not signal before N, so a
        // merged fence (the kernel keeps only the later fence of a context) never signals while N still runs.
        "fence-merge" => {
            let b = Camera::open(dev)?;
            let n = cam.submit_async(vec![delay(400_000_000)], true)?;
            let n1 = b.submit_async(vec![delay(1_000_000)], true)?;
            let (fa, fb) = (
                n.fence.as_ref().context("no fence N")?,
                n1.fence.as_ref().context("no fence N+1")?,
            );
            let merged = merge(fa, fb)?;
            // Closing b cancels N+1, which is still queued behind N.
            drop(b);
            let t = Instant::now();
            loop {
                let m = signalled(&merged)?;
                let a = signalled(fa)?;
                ensure!(
                    !m || a,
                    "the merged fence signalled while list N still ran ({} ms after N+1 was cancelled)",
                    t.elapsed().as_millis()
                );
                if a {
                    break;
                }
                ensure!(t.elapsed() < LONG, "list N never ended");
                std::thread::sleep(Duration::from_millis(5));
            }
            cam.wait(n.seqno, LONG)?;
            ensure!(
                signalled(&merged)? && fence_status(fb)? == -ECANCELED,
                "after N: merged {}, N+1 status {}",
                signalled(&merged)?,
                fence_status(fb)?
            );
        }
        // TEST_ONLY has no side effect, so a full pending list does not refuse it (EBUSY is for lists that run).
        "test-only-full" => {
            let caps = cam.caps()?;
            let mut subs = Vec::new();
            for _ in 0..caps.max_pending {
                subs.push(cam.submit_async(vec![Op::new(Opcode::Nop, 0, 0)], false)?);
            }
            let mut ops = [cam.op(Opcode::Write, "vcam-sensor", "GAIN", 3)?];
            cam.submit(&mut ops, uapi::SUBMIT_TEST_ONLY | uapi::SUBMIT_ASYNC)
                .context("TEST_ONLY|ASYNC of a valid list with the pending list full")?;
            let mut bad = [cam.op(Opcode::Write, "vcam-sensor", "CHIP_ID", 1)?];
            let e = cam
                .submit(&mut bad, uapi::SUBMIT_TEST_ONLY | uapi::SUBMIT_ASYNC)
                .err()
                .context("invalid list accepted")?;
            ensure!(
                format!("{e:#}").contains("register not writable"),
                "TEST_ONLY of an invalid list with the pending list full: {e:#}"
            );
            for p in &subs {
                cam.wait(p.seqno, LONG)?;
            }
        }
        // The reply of an asynchronous submit cannot be written (read-only memory): userspace never learns the
        // seqno, so the list must not run and must not take one of the file's pending slots.
        "reply-fault" => {
            let caps = cam.caps()?;
            let gain = cam.read_reg("vcam-sensor", "GAIN")?;
            let mut ops = [
                delay(100_000_000),
                cam.op(Opcode::Write, "vcam-sensor", "GAIN", 123)?,
            ];
            let page = Page::new()?;
            let s = page.ptr.cast::<Submit>();
            // SAFETY: `s` points at a fresh, writable, page-aligned page.
            unsafe {
                s.write(Submit {
                    flags: uapi::SUBMIT_ASYNC | uapi::SUBMIT_OUT_FENCE,
                    count: 2,
                    ops_ptr: ops.as_mut_ptr() as u64,
                    ..Submit::default()
                })
            };
            page.protect(libc::PROT_READ)?;
            // SAFETY: `s` is a live `struct kcam_submit` (read-only: the kernel's write-back must fail).
            let rc = unsafe { libc::ioctl(cam.file.as_raw_fd(), kio::IOC_SUBMIT as _, s) };
            let e = std::io::Error::last_os_error();
            ensure!(
                rc < 0 && errno_of(&e) == libc::EFAULT,
                "submit with a read-only reply: rc {rc}, {e}"
            );
            std::thread::sleep(Duration::from_millis(400));
            ensure!(
                cam.read_reg("vcam-sensor", "GAIN")? == gain,
                "the list whose seqno userspace never learnt ran"
            );
            let mut subs = Vec::new();
            for _ in 0..caps.max_pending {
                subs.push(
                    cam.submit_async(vec![Op::new(Opcode::Nop, 0, 0)], false)
                        .context("a pending slot stayed taken")?,
                );
            }
            for p in &subs {
                cam.wait(p.seqno, LONG)?;
            }
        }
        // A camera's limits hold for all files together: 1000 files, one long list each, cannot queue more than
        // max_lists (ENOSPC after), nor subscribe more than max_subscribers (EUSERS); parameters beyond
        // max_queued_param_bytes are refused (ENOBUFS); memory stays bounded.
        "camera-limits" => {
            let caps = cam.caps()?;
            let files_wanted = 1000usize;
            let lim = libc::rlimit {
                rlim_cur: 4096,
                rlim_max: 4096,
            };
            // SAFETY: A valid rlimit. (Root may raise its limit; otherwise the files below fail to open.)
            unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
            let mem0 = mem_available_kib()?;
            let mut files = Vec::new();
            for _ in 0..files_wanted {
                files.push(
                    File::options()
                        .read(true)
                        .write(true)
                        .open(dev)
                        .context("opening a camera file")?,
                );
            }
            let (mut held, mut enospc) = (Vec::new(), 0usize);
            for f in &files {
                match submit_async_on(f, vec![delay(5_000_000_000)], false) {
                    Ok(p) => held.push(p),
                    Err(e) if errno_of(&e) == libc::ENOSPC => enospc += 1,
                    Err(e) => bail!("a list over the camera limit: {e}"),
                }
            }
            let mem1 = mem_available_kib()?;
            println!(
                "{} of {files_wanted} files queued a list (max_lists {}), {enospc} got ENOSPC; MemAvailable {} KiB lower",
                held.len(),
                caps.max_lists,
                mem0.saturating_sub(mem1)
            );
            ensure!(
                held.len() == caps.max_lists as usize && enospc == files_wanted - held.len(),
                "{} lists accepted from {files_wanted} files, camera limit {}",
                held.len(),
                caps.max_lists
            );
            ensure!(
                mem0.saturating_sub(mem1) < 32 * 1024,
                "{} KiB held by {files_wanted} files and {} lists",
                mem0.saturating_sub(mem1),
                held.len()
            );
            let (sensor, _) = cam.reg("vcam-sensor", "CTRL")?;
            let (mut subscribed, mut eusers) = (0u32, 0usize);
            for f in &files {
                let mut sub = EventSub {
                    entity_id: sensor,
                    event: EventType::FrameStart as u32,
                    ..EventSub::default()
                };
                match ioctl(f, kio::IOC_SUBSCRIBE, &mut sub) {
                    Ok(()) => subscribed += 1,
                    Err(e) if errno_of(&e) == libc::EUSERS => eusers += 1,
                    Err(e) => bail!("subscribing: {e}"),
                }
            }
            ensure!(
                subscribed == caps.max_subscribers && eusers == files_wanted - subscribed as usize,
                "{subscribed} files subscribed, camera limit {}",
                caps.max_subscribers
            );
            // Cancel everything; the slots come back once the lists are waited for or their files closed.
            cam.reset()?;
            drop(held);
            drop(files);
            // Parameters: lists of 16 x max_param_bytes each, held (queued behind a long list) until the camera's
            // parameter budget is used up.
            let blocker = cam.submit_async(vec![delay(2_000_000_000)], false)?;
            let isp = cam.entity_by_name("vcam-isp")?.0.id;
            let bytes = vec![1u8; caps.max_param_bytes as usize];
            let list = || -> Vec<Op> {
                (0..16)
                    .map(|_| {
                        let mut o = Op::new(Opcode::XferParam, isp, 0);
                        o.param_ptr = bytes.as_ptr() as u64;
                        o.param_len = caps.max_param_bytes;
                        o
                    })
                    .collect()
            };
            let per_list = 16 * u64::from(caps.max_param_bytes);
            let fits = u64::from(caps.max_queued_param_bytes) / per_list;
            let others: Vec<Camera> = (0..fits + 1)
                .map(|_| Camera::open(dev))
                .collect::<Result<_>>()?;
            let mut queued = Vec::new();
            let mut refused = None;
            for o in &others {
                match o.submit_async(list(), false) {
                    Ok(p) => queued.push(p),
                    Err(e) => {
                        refused = Some(errno_of(&e));
                        break;
                    }
                }
            }
            ensure!(
                queued.len() as u64 == fits && refused == Some(libc::ENOBUFS),
                "{} lists of {per_list} parameter bytes queued (budget {}), then {refused:?}",
                queued.len(),
                caps.max_queued_param_bytes
            );
            cam.reset()?;
            cam.wait(blocker.seqno, LONG)?;
            drop(others);
        }
        // XFER_PARAM's bytes are copied at submission: the submitter overwrites and unmaps its buffer right after
        // an asynchronous submit; it and a second process then map other bytes at the same address and keep
        // running while the list runs in the worker; the camera still gets the bytes of submit time.
        "param-snapshot" => {
            let isp = cam.entity_by_name("vcam-isp")?.0.id;
            let page = Page::new()?;
            let addr = page.ptr;
            // SAFETY: The page is mapped and writable.
            unsafe { std::ptr::copy_nonoverlapping([1u8, 2, 3, 4].as_ptr(), addr.cast::<u8>(), 4) };
            let mut x = Op::new(Opcode::XferParam, isp, 0);
            x.param_ptr = addr as u64;
            x.param_len = 4;
            let ops = vec![
                delay(300_000_000),
                x,
                cam.op(Opcode::Read, "vcam-isp", "PARAMS_SUM", 0)?,
            ];
            let p = cam.submit_async(ops, false)?;
            // SAFETY: Still our page.
            unsafe { std::ptr::write_bytes(addr.cast::<u8>(), 0x40, 4) };
            drop(page);
            // SAFETY: fork() in a single-threaded process; the child only maps, spins and exits.
            let child = unsafe { libc::fork() };
            ensure!(child >= 0, "fork: {}", std::io::Error::last_os_error());
            let fill = if child == 0 { 9u8 } else { 5 };
            let spin = Page::at(addr, fill);
            let t = Instant::now();
            while t.elapsed() < Duration::from_millis(600) {
                std::hint::black_box(spin.as_ref().map(|p| p.ptr));
            }
            if child == 0 {
                // SAFETY: Ends the child without running the parent's destructors.
                unsafe { libc::_exit(0) };
            }
            // SAFETY: Reaps our child.
            unsafe { libc::waitpid(child, std::ptr::null_mut(), 0) };
            drop(spin);
            let w = cam.wait(p.seqno, LONG)?;
            ensure!(
                w.status == 0 && p.ops[1].status == 0 && p.ops[2].result == 10,
                "the camera summed {:#x} (status {}): submitted bytes sum to 0xa; 0x100 overwritten, 0x14 and 0x24 \
                 are other mappings at that address",
                p.ops[2].result,
                p.ops[1].status
            );
        }
        // SIGKILL ends a submitter whose list would take 50 s at once: running it itself (direct) or waiting
        // behind another file's list (queued).
        "kill-direct" | "kill-queued" => {
            let long = || vec![delay(5_000_000_000); 10];
            let ahead = if case == "kill-queued" {
                Some(cam.submit_async(long(), false)?)
            } else {
                None
            };
            // SAFETY: fork() in a single-threaded process.
            let child = unsafe { libc::fork() };
            ensure!(child >= 0, "fork: {}", std::io::Error::last_os_error());
            if child == 0 {
                let code = match Camera::open(dev) {
                    Ok(c) => {
                        let _ = c.submit(&mut long(), 0);
                        0
                    }
                    Err(_) => 1,
                };
                // SAFETY: Ends the child.
                unsafe { libc::_exit(code) };
            }
            std::thread::sleep(Duration::from_millis(500));
            let t = Instant::now();
            // SAFETY: Our child.
            unsafe { libc::kill(child, libc::SIGKILL) };
            let mut status = 0;
            // SAFETY: Reaps our child.
            unsafe { libc::waitpid(child, &mut status, 0) };
            let took = t.elapsed();
            if ahead.is_some() {
                cam.reset()?;
            }
            println!(
                "the killed submitter was gone after {} ms",
                took.as_millis()
            );
            ensure!(
                libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL,
                "the submitter ended otherwise (status {status:#x})"
            );
            ensure!(
                took < Duration::from_secs(5),
                "the killed submitter took {} ms to go (its list would take 50 s)",
                took.as_millis()
            );
        }
        // A hung device: the watchdog ends the list (ETIMEDOUT, the rest ECANCELED) and its fence signals with that
        // error, with no RESET, after about access_timeout_ns.
        "hang-watchdog" => {
            let caps = cam.caps()?;
            set_faults("hang=1")?;
            let t = Instant::now();
            let p = cam.submit_async(
                vec![
                    cam.op(Opcode::Read, "vcam-sensor", "GAIN", 0)?,
                    cam.op(Opcode::Write, "vcam-sensor", "EXPOSURE", 5)?,
                ],
                true,
            )?;
            let fd = p.fence.as_ref().context("no fence")?;
            let bound = Duration::from_nanos(caps.access_timeout_ns) * 3 + Duration::from_secs(5);
            let mut pfd = libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: One valid pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, bound.as_millis() as i32) };
            let took = t.elapsed();
            let st = fence_status(fd)?;
            let w = cam.wait(p.seqno, Duration::ZERO);
            cam.reset()?;
            println!(
                "hung list's fence signalled after {} ms (watchdog {} ms)",
                took.as_millis(),
                caps.access_timeout_ns / 1_000_000
            );
            ensure!(
                n == 1,
                "the fence of a hung list did not signal within {} ms",
                bound.as_millis()
            );
            let w = w?;
            ensure!(
                st == -libc::ETIMEDOUT
                    && w.status == -libc::ETIMEDOUT
                    && p.ops[1].status == -ECANCELED,
                "hung list: fence {st}, wait {}, op 1 {}",
                w.status,
                p.ops[1].status
            );
        }
        c if uring_check::CASES.contains(&c) => uring_check::run(&cam, dev, c)?,
        other => bail!(
            "unknown case '{other}'; cases: {}, {}",
            CASES.join(", "),
            uring_check::CASES.join(", ")
        ),
    }
    Ok(())
}
