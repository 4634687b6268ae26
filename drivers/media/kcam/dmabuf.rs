// SPDX-License-Identifier: GPL-2.0

//! dma-bufs imported for the CPU to write into: a reference, a kernel mapping, and CPU access brackets, wrapping
//! `dmabuf_glue.c` (the kernel crate has no dma-buf abstraction in 7.3), declared through bindings generated from
//! `dmabuf_glue.h`.
//!
//! Everything here sleeps (the glue takes the buffer's reservation lock and the exporter's locks): process context
//! only. Dropping a [`MappedDmaBuf`] unmaps and puts it, so it must not be dropped in atomic context either.

use kernel::prelude::*;

/// The declarations of `dmabuf_glue.h`, generated at build time (`dmabuf_glue_bindings.rs`, see `Kbuild`).
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
mod ffi {
    include!("dmabuf_glue_bindings.rs");
}

/// A dma-buf reference with a kernel mapping of the whole buffer.
///
/// # Invariants
///
/// `buf` is a dma-buf on which this value holds one reference, and `vaddr` is its kernel mapping in system memory
/// (made by `kcam_dmabuf_vmap`), valid for `size` bytes; both are released in `drop` only. No Rust reference to
/// the mapped memory exists: it is written through raw pointers only (userspace and devices may access it too).
pub(crate) struct MappedDmaBuf {
    buf: *mut kernel::bindings::dma_buf,
    vaddr: *mut u8,
    size: usize,
}

// SAFETY: A dma-buf reference and its mapping may be used and released from any thread; writes are plain stores
// through the mapping, bracketed by CPU access calls that lock internally.
unsafe impl Send for MappedDmaBuf {}
// SAFETY: Every operation through `&MappedDmaBuf` is a write through the mapping (to memory that is not a Rust
// object, see the invariants) or a dma-buf call that locks internally.
unsafe impl Sync for MappedDmaBuf {}

impl MappedDmaBuf {
    /// Imports the dma-buf `fd` of the calling process and maps it. `EBADF` if `fd` is not a dma-buf,
    /// `EOPNOTSUPP` if it cannot be mapped into system memory for the CPU, or the exporter's error.
    pub(crate) fn import(fd: i32) -> Result<Self> {
        let mut buf = core::ptr::null_mut();
        // SAFETY: `buf` is a valid place for the glue to store the reference.
        kernel::error::to_result(unsafe { ffi::kcam_dmabuf_get(fd, &mut buf) })?;
        // SAFETY: The reference just taken, handed on.
        unsafe { Self::map(buf) }
    }

    /// A new zeroed dma-buf of `size` bytes of this module's own (`kcam_dmabuf_test_new`), mapped: for KUnit tests,
    /// which have no userspace exporter.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn new_for_test(size: usize) -> Result<Self> {
        let mut buf = core::ptr::null_mut();
        // SAFETY: `buf` is a valid place for the glue to store the new buffer's reference.
        kernel::error::to_result(unsafe { ffi::kcam_dmabuf_test_new(size, &mut buf) })?;
        // SAFETY: The reference just made, handed on.
        unsafe { Self::map(buf) }
    }

    /// Maps `buf` and takes over its reference (put if the mapping fails).
    ///
    /// # Safety
    ///
    /// `buf` is a dma-buf on which the caller holds a reference, which it hands over.
    unsafe fn map(buf: *mut kernel::bindings::dma_buf) -> Result<Self> {
        let mut vaddr = core::ptr::null_mut();
        // SAFETY: `buf` is a dma-buf we hold a reference on; `vaddr` is a valid place for the mapping.
        if let Err(e) = kernel::error::to_result(unsafe { ffi::kcam_dmabuf_vmap(buf, &mut vaddr) })
        {
            // SAFETY: The reference handed over to us, not kept.
            unsafe { ffi::kcam_dmabuf_put(buf) };
            return Err(e);
        }
        // SAFETY: `buf` is a valid dma-buf (reference held).
        let size = unsafe { ffi::kcam_dmabuf_size(buf) };
        // INVARIANT: The reference and the system-memory mapping of the whole buffer, both ours.
        Ok(Self {
            buf,
            vaddr: vaddr.cast(),
            size,
        })
    }

    /// The buffer's size in bytes.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Starts writing with the CPU: `EBUSY` if another device still uses the buffer (its implicit fences have
    /// not signalled), or the exporter's error. The access ends when the returned value is dropped.
    pub(crate) fn begin_write(&self) -> Result<CpuWrite<'_>> {
        // SAFETY: `buf` is valid by the type invariant.
        kernel::error::to_result(unsafe { ffi::kcam_dmabuf_begin_cpu_write(self.buf) })?;
        Ok(CpuWrite { dmabuf: self })
    }
}

impl Drop for MappedDmaBuf {
    fn drop(&mut self) {
        // SAFETY: By the type invariant: our mapping and reference, released once, the mapping first.
        unsafe {
            ffi::kcam_dmabuf_vunmap(self.buf, self.vaddr.cast());
            ffi::kcam_dmabuf_put(self.buf);
        }
    }
}

/// A CPU write access to a [`MappedDmaBuf`], ended when dropped.
pub(crate) struct CpuWrite<'a> {
    dmabuf: &'a MappedDmaBuf,
}

impl CpuWrite<'_> {
    /// Copies `data` into the buffer at `offset`; `ENOSPC` (nothing written) if it does not fit.
    pub(crate) fn write(&self, offset: usize, data: &[u8]) -> Result {
        let end = offset.checked_add(data.len()).ok_or(ENOSPC)?;
        if end > self.dmabuf.size {
            return Err(ENOSPC);
        }
        // SAFETY: `vaddr..vaddr + size` is mapped while `self.dmabuf` lives (type invariant), and
        // `offset + data.len() <= size`; the mapping is not a Rust object, so no reference aliases it, and `data`
        // (kernel memory) cannot overlap it.
        unsafe {
            core::ptr::copy_nonoverlapping(data.as_ptr(), self.dmabuf.vaddr.add(offset), data.len())
        };
        Ok(())
    }
}

impl Drop for CpuWrite<'_> {
    fn drop(&mut self) {
        // SAFETY: `buf` is valid (type invariant of `MappedDmaBuf`) and this access was begun by `begin_write`.
        unsafe { ffi::kcam_dmabuf_end_cpu_write(self.dmabuf.buf) };
    }
}
