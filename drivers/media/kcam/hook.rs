// SPDX-License-Identifier: GPL-2.0

//! A callback that tells the owner of a job or of an event stream that something is ready for it: a finished list
//! or queued events of an io_uring command (`uring.rs`), which then completes in the submitting task. The core
//! calls it and knows nothing else about io_uring.

use core::ffi::c_void;

/// `f(arg)`, callable from any context.
///
/// # Invariants
///
/// Whenever the core calls it (a job: once, when it is done; an event stream: when something waits for an owner
/// that was not told yet, or on the owner's own request), `f(arg)` is sound, in any context (process, softirq or
/// hard IRQ, with spinlocks held).
#[derive(Clone, Copy)]
pub(crate) struct Hook {
    f: unsafe fn(*mut c_void),
    arg: *mut c_void,
}

// SAFETY: By the type invariant, `f(arg)` may be called from any context, hence from any thread.
unsafe impl Send for Hook {}
// SAFETY: `Hook` is `Copy` and its only operation takes `&self`; see `Send`.
unsafe impl Sync for Hook {}

impl Hook {
    /// A hook calling `f(arg)`.
    ///
    /// # Safety
    ///
    /// `f(arg)` must be sound in any context (process, softirq or hard IRQ, with spinlocks held) whenever the core
    /// calls the hook (see the type invariant), until the job or stream given the hook lets go of it.
    pub(crate) unsafe fn new(f: unsafe fn(*mut c_void), arg: *mut c_void) -> Self {
        // INVARIANT: By the safety requirement.
        Self { f, arg }
    }

    pub(crate) fn call(&self) {
        // SAFETY: By the type invariant.
        unsafe { (self.f)(self.arg) }
    }
}
