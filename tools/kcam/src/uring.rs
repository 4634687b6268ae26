// SPDX-License-Identifier: GPL-2.0
//! KCAM over io_uring: `IORING_OP_URING_CMD` commands on a camera fd (`include/uapi/linux/kcam.h`, "io_uring"), on a
//! ring of the `io-uring` crate.
//!
//! - [`submit_sqe`]: a list (`KCAM_IOC_SUBMIT`); its CQE comes when it is done, with `res` 0 or the first failed op's
//!   status (or a rejection's errno) and, on 32-byte CQE rings, `res2` the first failed op's index.
//! - [`cancel_sqe`]: `KCAM_IOC_CANCEL`; [`async_cancel_sqe`]: io_uring's own cancellation, which reaches lists issued
//!   with [`squeue::Flags::ASYNC`] (an io-wq worker waits for them) and not the others.
//! - [`events_sqe`]: the file's event stream, one CQE per event in a buffer of a [`Ring::add_buffers`] group.
//!
//! The crate has no setter for an SQE's `uring_cmd_flags` (multishot) or, without a fixed buffer, `buf_group`:
//! [`raw_cmd_sqe`] writes them into the SQE's bytes (the kernel's `struct io_uring_sqe` layout).

extern crate std;

use crate::{
    ioctl,
    uapi::{Cancel, Event, Op, Submit, UringCmd},
};
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use std::{
    boxed::Box,
    io,
    os::fd::RawFd,
    time::{Duration, Instant},
    vec::Vec,
};

pub use io_uring::squeue::Flags;
pub use io_uring::types::Timespec;

/// A submission queue entry (64 bytes).
pub type Sqe = squeue::Entry;

/// `IORING_URING_CMD_FIXED`.
pub const URING_CMD_FIXED: u32 = 1 << 0;
/// `IORING_URING_CMD_MULTISHOT`.
pub const URING_CMD_MULTISHOT: u32 = 1 << 1;

// `struct io_uring_sqe` byte offsets of the fields the crate cannot set for a `URING_CMD`.
const SQE_URING_CMD_FLAGS: usize = 28;
const SQE_BUF_GROUP: usize = 40;
const _: () = assert!(size_of::<Sqe>() == 64);

/// An `IORING_OP_URING_CMD` on `fd` with everything set: `cmd_op`, the command bytes (`struct kcam_uring_cmd`),
/// `uring_cmd_flags`, `buf_group`, the SQE flags and `user_data`.
pub fn raw_cmd_sqe(
    fd: RawFd,
    cmd_op: u32,
    cmd: UringCmd,
    uring_cmd_flags: u32,
    buf_group: u16,
    flags: Flags,
    user_data: u64,
) -> Sqe {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&cmd.arg.to_ne_bytes());
    bytes[8..].copy_from_slice(&cmd.reserved.to_ne_bytes());
    let sqe = opcode::UringCmd16::new(types::Fd(fd), cmd_op)
        .cmd(bytes)
        .build()
        .flags(flags)
        .user_data(user_data);
    // SAFETY: `squeue::Entry` is `repr(C)` around the kernel's 64-byte `struct io_uring_sqe` (asserted above), of
    // plain integers: any bytes are a valid value.
    let mut raw: [u8; 64] = unsafe { std::mem::transmute(sqe) };
    let f = u32::from_ne_bytes(
        raw[SQE_URING_CMD_FLAGS..SQE_URING_CMD_FLAGS + 4]
            .try_into()
            .unwrap_or([0; 4]),
    );
    raw[SQE_URING_CMD_FLAGS..SQE_URING_CMD_FLAGS + 4]
        .copy_from_slice(&(f | uring_cmd_flags).to_ne_bytes());
    raw[SQE_BUF_GROUP..SQE_BUF_GROUP + 2].copy_from_slice(&buf_group.to_ne_bytes());
    // SAFETY: As above.
    unsafe { std::mem::transmute::<[u8; 64], Sqe>(raw) }
}

/// `KCAM_IOC_SUBMIT` of `*s`; `flags`: the SQE's (`Flags::ASYNC` for the io-wq path).
pub fn submit_sqe(fd: RawFd, s: *mut Submit, flags: Flags, user_data: u64) -> Sqe {
    let cmd = UringCmd {
        arg: s as u64,
        reserved: 0,
    };
    raw_cmd_sqe(fd, ioctl::IOC_SUBMIT as u32, cmd, 0, 0, flags, user_data)
}

/// `KCAM_IOC_CANCEL` of `*c`.
pub fn cancel_sqe(fd: RawFd, c: *const Cancel, user_data: u64) -> Sqe {
    let cmd = UringCmd {
        arg: c as u64,
        reserved: 0,
    };
    raw_cmd_sqe(
        fd,
        ioctl::IOC_CANCEL as u32,
        cmd,
        0,
        0,
        Flags::empty(),
        user_data,
    )
}

/// The file's event stream, into buffers of group `buf_group`.
pub fn events_sqe(fd: RawFd, buf_group: u16, user_data: u64) -> Sqe {
    raw_cmd_sqe(
        fd,
        ioctl::IOC_DQEVENT as u32,
        UringCmd::default(),
        URING_CMD_MULTISHOT,
        buf_group,
        Flags::BUFFER_SELECT,
        user_data,
    )
}

/// `IORING_OP_TIMEOUT` of `*ts` (read when submitted).
pub fn timeout_sqe(ts: *const types::Timespec, user_data: u64) -> Sqe {
    opcode::Timeout::new(ts).build().user_data(user_data)
}

/// `IORING_OP_ASYNC_CANCEL` of the request with `target`'s user data.
pub fn async_cancel_sqe(target: u64, user_data: u64) -> Sqe {
    opcode::AsyncCancel::new(target)
        .build()
        .user_data(user_data)
}

/// One CQE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    pub user_data: u64,
    pub res: i32,
    /// The second word of a 32-byte CQE (0 on a ring of 16-byte CQEs).
    pub res2: u64,
    pub flags: u32,
}

impl Completion {
    /// More CQEs of the same request follow (`IORING_CQE_F_MORE`).
    pub fn more(&self) -> bool {
        cqueue::more(self.flags)
    }

    /// The provided buffer it filled (`IORING_CQE_F_BUFFER`).
    pub fn buffer(&self) -> Option<u16> {
        cqueue::buffer_select(self.flags)
    }
}

/// How a ring is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Setup {
    /// 32-byte CQEs, task work run whenever the task enters the kernel.
    #[default]
    Plain,
    /// 16-byte CQEs (no `res2`).
    SmallCqe,
    /// 32-byte CQEs, `IORING_SETUP_DEFER_TASKRUN | SINGLE_ISSUER`: completions are made when the (only) submitting
    /// task waits for them, in batches. The fastest for one thread.
    DeferTaskrun,
}

enum Inner {
    Big(IoUring<squeue::Entry, cqueue::Entry32>),
    Small(IoUring<squeue::Entry, cqueue::Entry>),
}

/// Provided buffers of one group: a buffer ring and its buffers.
struct Buffers {
    bgid: u16,
    /// `entries` `struct io_uring_buf`, page-aligned.
    ring: Mapping,
    entries: u16,
    size: usize,
    /// `entries` buffers of `size` bytes, which the kernel writes.
    mem: Mapping,
    tail: u16,
}

/// An anonymous mapping, unmapped on drop.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(len: usize) -> io::Result<Self> {
        // SAFETY: A fresh anonymous mapping; the kernel picks the (page-aligned) address.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            ptr: ptr.cast(),
            len,
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: Our own mapping, which nothing uses any more (a `Ring` drops its io_uring first).
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// A ring for camera commands.
pub struct Ring {
    // Declared (so dropped) before the buffers it may still write into.
    inner: Inner,
    buffers: Vec<Buffers>,
}

impl Ring {
    pub fn new(entries: u32, setup: Setup) -> io::Result<Self> {
        let inner = match setup {
            Setup::Plain => Inner::Big(IoUring::builder().build(entries)?),
            Setup::SmallCqe => Inner::Small(IoUring::builder().build(entries)?),
            Setup::DeferTaskrun => Inner::Big(
                IoUring::builder()
                    .setup_single_issuer()
                    .setup_defer_taskrun()
                    .build(entries)?,
            ),
        };
        Ok(Self {
            inner,
            buffers: Vec::new(),
        })
    }

    /// Queues `sqe` (not yet submitted).
    ///
    /// # Safety
    ///
    /// What the SQE points to (the `struct kcam_submit` and its list, a `struct kcam_cancel`) stays valid and is
    /// not accessed by the caller until the request's last CQE.
    pub unsafe fn push(&mut self, sqe: &Sqe) -> io::Result<()> {
        // SAFETY: By the function's safety requirement.
        let r = unsafe {
            match &mut self.inner {
                Inner::Big(r) => r.submission().push(sqe),
                Inner::Small(r) => r.submission().push(sqe),
            }
        };
        r.map_err(|_| io::Error::new(io::ErrorKind::WouldBlock, "submission queue full"))
    }

    /// Submits what was pushed and waits for `want` completions (one `io_uring_enter`).
    pub fn submit_and_wait(&self, want: usize) -> io::Result<usize> {
        match &self.inner {
            Inner::Big(r) => r.submit_and_wait(want),
            Inner::Small(r) => r.submit_and_wait(want),
        }
    }

    /// Takes the completions that are there.
    pub fn completions(&mut self) -> Vec<Completion> {
        match &mut self.inner {
            Inner::Big(r) => r
                .completion()
                .map(|c| Completion {
                    user_data: c.user_data(),
                    res: c.result(),
                    res2: c.big_cqe()[0],
                    flags: c.flags(),
                })
                .collect(),
            Inner::Small(r) => r
                .completion()
                .map(|c| Completion {
                    user_data: c.user_data(),
                    res: c.result(),
                    res2: 0,
                    flags: c.flags(),
                })
                .collect(),
        }
    }

    /// As [`Ring::submit_and_wait`], giving up after `timeout` (`ETIME`).
    pub fn submit_and_wait_timeout(&self, want: usize, timeout: Duration) -> io::Result<usize> {
        let ts = types::Timespec::from(timeout);
        let args = types::SubmitArgs::new().timespec(&ts);
        self.submitter().submit_with_args(want, &args)
    }

    /// Submits what was pushed and waits until a completion with `user_data` arrives, at most `timeout`
    /// (`TimedOut`); the completions of other requests that come meanwhile go to `others`.
    pub fn wait_for(
        &mut self,
        user_data: u64,
        timeout: Duration,
        others: &mut Vec<Completion>,
    ) -> io::Result<Completion> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut found = None;
            for c in self.completions() {
                if c.user_data == user_data && found.is_none() {
                    found = Some(c);
                } else {
                    others.push(c);
                }
            }
            if let Some(c) = found {
                return Ok(c);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no completion in time",
                ));
            }
            match self.submit_and_wait_timeout(1, left) {
                Err(e)
                    if e.raw_os_error() == Some(libc::ETIME)
                        || e.raw_os_error() == Some(libc::EINTR) => {}
                r => {
                    r?;
                }
            }
        }
    }

    fn submitter(&self) -> io_uring::Submitter<'_> {
        match &self.inner {
            Inner::Big(r) => r.submitter(),
            Inner::Small(r) => r.submitter(),
        }
    }

    /// Registers provided-buffer group `bgid`: `entries` (a power of two) buffers of `size` bytes, all provided.
    pub fn add_buffers(&mut self, bgid: u16, entries: u16, size: usize) -> io::Result<()> {
        if !entries.is_power_of_two() {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let mut b = Buffers {
            bgid,
            ring: Mapping::new(usize::from(entries) * size_of::<types::BufRingEntry>())?,
            entries,
            size,
            mem: Mapping::new((usize::from(entries) * size).max(1))?,
            tail: 0,
        };
        // SAFETY: The ring and the buffers stay mapped until this `Ring` is dropped, after its io_uring.
        unsafe {
            self.submitter()
                .register_buf_ring_with_flags(b.ring.ptr as u64, entries, bgid, 0)?
        };
        for bid in 0..entries {
            b.provide(bid);
        }
        self.buffers.push(b);
        Ok(())
    }

    /// The event in buffer `bid` of group `bgid` (after its CQE).
    pub fn event(&self, bgid: u16, bid: u16) -> Option<Event> {
        let b = self.buffers.iter().find(|b| b.bgid == bgid)?;
        if bid >= b.entries || b.size < size_of::<Event>() {
            return None;
        }
        // SAFETY: Buffer `bid` lies in the mapping and holds an `Event` (plain integers: any bytes are valid); the
        // kernel wrote it before posting the CQE and does not until it is recycled.
        Some(unsafe {
            b.mem
                .ptr
                .add(usize::from(bid) * b.size)
                .cast::<Event>()
                .read_unaligned()
        })
    }

    /// Gives buffer `bid` of group `bgid` back to the kernel.
    pub fn recycle(&mut self, bgid: u16, bid: u16) {
        if let Some(b) = self.buffers.iter_mut().find(|b| b.bgid == bgid) {
            b.provide(bid);
        }
    }
}

impl Buffers {
    /// Adds buffer `bid` at the ring's tail and publishes it.
    fn provide(&mut self, bid: u16) {
        let ring = self.ring.ptr.cast::<types::BufRingEntry>();
        let slot = usize::from(self.tail & (self.entries - 1));
        // SAFETY: `slot` < `entries`, the ring's length; only we write entries (the kernel reads them).
        let e = unsafe { &mut *ring.add(slot) };
        e.set_addr(self.mem.ptr as u64 + (usize::from(bid) * self.size) as u64);
        e.set_len(self.size as u32);
        e.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
        // SAFETY: The ring's base; its tail field is shared with the kernel, which reads it with acquire.
        let tail =
            unsafe { types::BufRingEntry::tail(ring) } as *const std::sync::atomic::AtomicU16;
        // SAFETY: A properly aligned u16 in our mapping.
        unsafe { &*tail }.store(self.tail, std::sync::atomic::Ordering::Release);
    }
}

/// A list to submit through a ring: the `struct kcam_submit` and the ops it points to, at addresses that do not
/// change while it is in flight.
pub struct UringList {
    pub submit: Box<Submit>,
    pub ops: Vec<Op>,
}

impl UringList {
    /// `ops` with submit flags `flags`.
    pub fn new(ops: Vec<Op>, flags: u32) -> Self {
        let mut l = Self {
            submit: Box::new(Submit {
                flags,
                ..Submit::default()
            }),
            ops,
        };
        l.submit.count = l.ops.len() as u32;
        l.submit.ops_ptr = l.ops.as_mut_ptr() as u64;
        l
    }

    /// Its `KCAM_IOC_SUBMIT` SQE.
    pub fn sqe(&mut self, fd: RawFd, flags: Flags, user_data: u64) -> Sqe {
        submit_sqe(fd, &mut *self.submit, flags, user_data)
    }
}
