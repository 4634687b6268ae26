// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers of the dma_fence / sync_file glue in `kcam_glue.c`: out-fences of asynchronous submissions and
//! the in-fences of `WAIT_FENCE` operations.

use crate::{glue::bindings as ffi, waker::Waker};
use core::ffi::c_void;
use kernel::{
    bindings::{dma_fence, file},
    prelude::*,
    sync::Arc,
};

/// A reference to a `struct dma_fence`.
///
/// # Invariants
///
/// `ptr` is a valid fence on which this value holds one reference.
pub(crate) struct Fence {
    ptr: *mut dma_fence,
}

// SAFETY: A fence reference may be used and dropped from any thread; dma_fence locks internally.
unsafe impl Send for Fence {}
// SAFETY: Every operation through `&Fence` is thread-safe in the dma_fence core.
unsafe impl Sync for Fence {}

/// Where a fence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FenceStatus {
    Pending,
    Signalled,
    /// Signalled with this error.
    Failed(Error),
}

impl Fence {
    /// A fence context (timeline) of its own for a camera.
    pub(crate) fn new_context() -> u64 {
        // SAFETY: No preconditions.
        unsafe { ffi::kcam_fence_context_alloc() }
    }

    /// A new unsignalled fence on `context` (named `timeline`) with `seqno`. The caller must signal it (see the
    /// glue's comment).
    pub(crate) fn new(context: u64, seqno: u64, timeline: &CStr) -> Result<Self> {
        // SAFETY: `timeline` is a valid C string for the duration of the call (the glue copies it).
        let ptr = unsafe { ffi::kcam_fence_create(context, seqno, timeline.as_char_ptr()) };
        if ptr.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: A new fence with the one reference we own.
        Ok(Self { ptr })
    }

    /// The fence of the sync_file `fd` of the calling process.
    pub(crate) fn from_fd(fd: i32) -> Result<Self> {
        // SAFETY: No preconditions; an fd that is not a sync_file gives NULL.
        let ptr = unsafe { ffi::kcam_fence_from_fd(fd) };
        if ptr.is_null() {
            return Err(EBADF);
        }
        // INVARIANT: sync_file_get_fence() returned a new reference.
        Ok(Self { ptr })
    }

    /// Signals the fence, with `error` (a kernel error) if the work failed. Signalling twice does nothing.
    pub(crate) fn signal(&self, error: Option<Error>) {
        let errno = error.map_or(0, |e| e.to_errno());
        // SAFETY: `ptr` is a valid fence by the type invariant.
        unsafe { ffi::kcam_fence_signal(self.ptr, errno) };
    }

    /// The name of the fence's timeline, NUL-terminated in `buf`.
    pub(crate) fn timeline<'b>(&self, buf: &'b mut [u8; 16]) -> &'b [u8] {
        // SAFETY: `ptr` is a valid fence by the type invariant; `buf` is writable for its length.
        unsafe { ffi::kcam_fence_timeline(self.ptr, buf.as_mut_ptr().cast(), buf.len()) };
        let n = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        &buf[..n]
    }

    pub(crate) fn status(&self) -> FenceStatus {
        // SAFETY: `ptr` is a valid fence by the type invariant.
        match unsafe { ffi::kcam_fence_status(self.ptr) } {
            0 => FenceStatus::Pending,
            1 => FenceStatus::Signalled,
            e => FenceStatus::Failed(Error::from_errno(e)),
        }
    }

    /// Makes `waker` be kicked when the fence signals, for as long as the returned value lives.
    pub(crate) fn watch(&self, waker: &Arc<Waker>) -> Result<Watch> {
        // SAFETY: `ptr` is valid; the waker pointer stays valid while the `Watch` (holding an `Arc` of it) lives,
        // and the `Watch` removes the callback before it lets go of that `Arc`.
        let cb = unsafe { ffi::kcam_fence_watch(self.ptr, Arc::as_ptr(waker).cast::<c_void>()) };
        if cb.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `cb` is a live watch holding the waker pointer of `_waker`.
        Ok(Watch {
            cb,
            _waker: waker.clone(),
        })
    }

    /// Exports the fence as a new sync_file fd of the calling process, not yet visible to it.
    pub(crate) fn export(&self) -> Result<FenceFd> {
        let mut file = core::ptr::null_mut();
        // SAFETY: `ptr` is valid; `file` is a valid place for the glue to store the new file.
        let fd = unsafe { ffi::kcam_fence_export_prepare(self.ptr, &mut file) };
        if fd < 0 {
            return Err(Error::from_errno(fd));
        }
        // INVARIANT: A reserved fd and the sync_file's file, neither installed nor put.
        Ok(FenceFd { fd, file })
    }
}

impl Drop for Fence {
    fn drop(&mut self) {
        // SAFETY: We own one reference (type invariant).
        unsafe { ffi::kcam_fence_put(self.ptr) };
    }
}

/// A registered fence callback that kicks a waker.
///
/// # Invariants
///
/// `cb` came from `kcam_fence_watch` with the address of `_waker`'s `Waker` and is unwatched in `drop` only.
pub(crate) struct Watch {
    cb: *mut ffi::kcam_fence_cb,
    _waker: Arc<Waker>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        // SAFETY: By the type invariant. After this, the callback no longer runs, so `_waker` may go.
        unsafe { ffi::kcam_fence_unwatch(self.cb) };
    }
}

/// A sync_file fd reserved in the calling process: [`FenceFd::install`] makes it visible; dropping it undoes
/// everything (so a failed ioctl leaves no fd behind).
///
/// # Invariants
///
/// `fd` is reserved with `get_unused_fd_flags()` and `file` is a sync_file reference, both not yet handed on.
pub(crate) struct FenceFd {
    fd: i32,
    file: *mut file,
}

impl FenceFd {
    pub(crate) fn fd(&self) -> i32 {
        self.fd
    }

    /// Makes the fd visible to the process; it owns the file from now on.
    pub(crate) fn install(self) {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: By the type invariant; ownership of both goes to the fd table.
        unsafe { ffi::kcam_fence_export_commit(this.fd, this.file) };
    }
}

impl Drop for FenceFd {
    fn drop(&mut self) {
        // SAFETY: By the type invariant: neither was handed on.
        unsafe { ffi::kcam_fence_export_abort(self.fd, self.file) };
    }
}

/// Waits for readers of the ops of fences signalled just before (module unload).
pub(crate) fn rcu_barrier() {
    // SAFETY: No preconditions; may sleep, which the callers allow.
    unsafe { ffi::kcam_rcu_barrier() };
}
