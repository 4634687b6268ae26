// SPDX-License-Identifier: GPL-2.0
//! dma-bufs allocated in userspace, to import into a camera: from the system dma-heap (`/dev/dma_heap/system`)
//! or from a memfd through `/dev/udmabuf`, mapped, with `DMA_BUF_IOCTL_SYNC` around each CPU access.

use anyhow::{bail, Context, Result};
use std::{
    fs::File,
    io,
    os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd},
};

/// Where a buffer comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Allocator {
    /// The system dma-heap, `/dev/dma_heap/system` (`CONFIG_DMABUF_HEAPS_SYSTEM`).
    Heap,
    /// A sealed memfd turned into a dma-buf by `/dev/udmabuf` (`CONFIG_UDMABUF`).
    Udmabuf,
}

/// `struct dma_heap_allocation_data` (include/uapi/linux/dma-heap.h).
#[repr(C)]
#[derive(Default)]
struct HeapAlloc {
    len: u64,
    fd: u32,
    fd_flags: u32,
    heap_flags: u64,
}
const DMA_HEAP_IOCTL_ALLOC: libc::Ioctl = libc::_IOWR::<HeapAlloc>(b'H' as u32, 0);

/// `struct udmabuf_create` (include/uapi/linux/udmabuf.h).
#[repr(C)]
struct UdmabufCreate {
    memfd: u32,
    flags: u32,
    offset: u64,
    size: u64,
}
const UDMABUF_FLAGS_CLOEXEC: u32 = 0x01;
const UDMABUF_CREATE: libc::Ioctl = libc::_IOW::<UdmabufCreate>(b'u' as u32, 0x42);

/// `struct dma_buf_sync` (include/uapi/linux/dma-buf.h).
#[repr(C)]
struct DmaBufSync {
    flags: u64,
}
const DMA_BUF_SYNC_READ: u64 = 1;
const DMA_BUF_SYNC_WRITE: u64 = 2;
const DMA_BUF_SYNC_START: u64 = 0;
const DMA_BUF_SYNC_END: u64 = 4;
const DMA_BUF_IOCTL_SYNC: libc::Ioctl = libc::_IOW::<DmaBufSync>(b'b' as u32, 0);

/// The system's page size.
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).unwrap_or(4096).max(1)
}

fn ioctl_fd<T>(fd: BorrowedFd<'_>, cmd: libc::Ioctl, arg: &mut T) -> io::Result<libc::c_int> {
    // SAFETY: `arg` is a live `T` of the size the ioctl number encodes.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), cmd as _, arg as *mut T) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc)
}

/// A dma-buf and a mapping of it.
///
/// # Invariants
///
/// `map` is a shared, writable mapping of `len` bytes of the buffer (of `fd`, or of the memfd behind it), unmapped
/// in `drop` only.
pub struct DmaBuffer {
    fd: OwnedFd,
    map: *mut u8,
    len: usize,
    /// The memfd of a udmabuf (the dma-buf keeps its pages; kept for clarity of ownership).
    _memfd: Option<OwnedFd>,
}

impl DmaBuffer {
    /// A new buffer of at least `size` bytes (whole pages) from `alloc`.
    pub fn alloc(alloc: Allocator, size: usize) -> Result<Self> {
        let len = size.max(1).div_ceil(page_size()) * page_size();
        let (fd, memfd, mapped) = match alloc {
            Allocator::Heap => {
                let heap = File::options()
                    .read(true)
                    .write(true)
                    .open("/dev/dma_heap/system")
                    .context("opening /dev/dma_heap/system (CONFIG_DMABUF_HEAPS_SYSTEM)")?;
                let mut a = HeapAlloc {
                    len: len as u64,
                    fd_flags: (libc::O_RDWR | libc::O_CLOEXEC) as u32,
                    ..HeapAlloc::default()
                };
                ioctl_fd(heap.as_fd(), DMA_HEAP_IOCTL_ALLOC, &mut a)
                    .context("DMA_HEAP_IOCTL_ALLOC")?;
                // SAFETY: The kernel gave us this new fd.
                let fd = unsafe { OwnedFd::from_raw_fd(a.fd as i32) };
                let map = mmap(fd.as_fd(), len)?;
                (fd, None, map)
            }
            Allocator::Udmabuf => {
                // SAFETY: A NUL-terminated name and valid flags.
                let m = unsafe {
                    libc::memfd_create(
                        c"kcam-buffer".as_ptr(),
                        libc::MFD_ALLOW_SEALING | libc::MFD_CLOEXEC,
                    )
                };
                if m < 0 {
                    return Err(io::Error::last_os_error()).context("memfd_create");
                }
                // SAFETY: A new fd of ours.
                let memfd = unsafe { OwnedFd::from_raw_fd(m) };
                // SAFETY: Plain syscalls on our memfd.
                if unsafe { libc::ftruncate(memfd.as_raw_fd(), len as libc::off_t) } < 0
                    || unsafe {
                        libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, libc::F_SEAL_SHRINK)
                    } < 0
                {
                    return Err(io::Error::last_os_error()).context("sizing and sealing the memfd");
                }
                let dev = File::options()
                    .read(true)
                    .write(true)
                    .open("/dev/udmabuf")
                    .context("opening /dev/udmabuf (CONFIG_UDMABUF)")?;
                let mut c = UdmabufCreate {
                    memfd: m as u32,
                    flags: UDMABUF_FLAGS_CLOEXEC,
                    offset: 0,
                    size: len as u64,
                };
                let dmabuf =
                    ioctl_fd(dev.as_fd(), UDMABUF_CREATE, &mut c).context("UDMABUF_CREATE")?;
                // SAFETY: UDMABUF_CREATE returns a new dma-buf fd.
                let fd = unsafe { OwnedFd::from_raw_fd(dmabuf) };
                let map = mmap(memfd.as_fd(), len)?;
                (fd, Some(memfd), map)
            }
        };
        // INVARIANT: `mapped` maps `len` bytes of the buffer.
        Ok(Self {
            fd,
            map: mapped,
            len,
            _memfd: memfd,
        })
    }

    /// The dma-buf's fd, to import.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The buffer's size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer is empty (never: at least a page).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills the buffer with `byte` (a CPU write access). Only while the camera does not write it (not queued).
    pub fn fill(&self, byte: u8) -> Result<()> {
        let mut s = DmaBufSync {
            flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE,
        };
        ioctl_fd(self.fd(), DMA_BUF_IOCTL_SYNC, &mut s).context("DMA_BUF_IOCTL_SYNC start")?;
        // SAFETY: `map` is mapped writable for `len` bytes (type invariant); no reference to it is alive.
        unsafe { std::ptr::write_bytes(self.map, byte, self.len) };
        s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE;
        ioctl_fd(self.fd(), DMA_BUF_IOCTL_SYNC, &mut s).context("DMA_BUF_IOCTL_SYNC end")?;
        Ok(())
    }

    /// Reads the buffer: a CPU read access (`DMA_BUF_IOCTL_SYNC`) for as long as the guard lives. Only while the
    /// camera does not write it (not queued).
    pub fn read(&self) -> Result<ReadGuard<'_>> {
        let mut s = DmaBufSync {
            flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ,
        };
        ioctl_fd(self.fd(), DMA_BUF_IOCTL_SYNC, &mut s).context("DMA_BUF_IOCTL_SYNC start")?;
        Ok(ReadGuard { buf: self })
    }
}

fn mmap(fd: BorrowedFd<'_>, len: usize) -> Result<*mut u8> {
    // SAFETY: A new shared mapping of `len` bytes of `fd`; the kernel picks the address.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    if p == libc::MAP_FAILED {
        bail!("mmap of a dma-buf: {}", io::Error::last_os_error());
    }
    Ok(p.cast())
}

impl Drop for DmaBuffer {
    fn drop(&mut self) {
        // SAFETY: Our mapping (type invariant), not used after this.
        unsafe { libc::munmap(self.map.cast(), self.len) };
    }
}

/// A read access to a [`DmaBuffer`]'s bytes.
pub struct ReadGuard<'a> {
    buf: &'a DmaBuffer,
}

impl std::ops::Deref for ReadGuard<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `map` is mapped for `len` bytes while the buffer lives (type invariant); the guard borrows it, and
        // the camera does not write a buffer that is not queued (the caller's contract in `read`).
        unsafe { std::slice::from_raw_parts(self.buf.map, self.buf.len) }
    }
}

impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        let mut s = DmaBufSync {
            flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ,
        };
        let _ = ioctl_fd(self.buf.fd(), DMA_BUF_IOCTL_SYNC, &mut s);
    }
}
