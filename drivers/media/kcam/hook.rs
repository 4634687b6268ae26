// SPDX-License-Identifier: GPL-2.0

//! A callback that tells the owner of a job or of an event stream that something is ready for it: a finished list
//! or queued events of an io_uring command (`uring.rs`), which then completes in the submitting task. The core
//! calls it and knows nothing else about io_uring.
//!
//! A call is *answered* once its owner acts on it (an io_uring command: the task work the call queued runs; a
//! counting hook of the KUnit tests: at once). Until then the hook must not be called again, and its owner does not
//! go away while the hook lives. [`Hook::call`] consumes the hook, for its last call (a job's only one), and is
//! safe; [`Hook::call_and_keep`] keeps it for more calls (an event stream's), and its caller promises the answers.

use core::ffi::c_void;

/// `f(arg)`, callable from any context. Neither `Copy` nor `Clone`: a copy could be called after its owner went.
///
/// # Invariants
///
/// While the hook lives, `f(arg)` is sound in any context (process, softirq or hard IRQ, with spinlocks held)
/// whenever every earlier call was answered (see the module documentation).
pub(crate) struct Hook {
    f: unsafe fn(*mut c_void),
    arg: *mut c_void,
}

// SAFETY: By the type invariant, `f(arg)` may be called from any context, hence from any thread.
unsafe impl Send for Hook {}
// SAFETY: The only operation on `&Hook`, `call_and_keep`, is `unsafe` (its caller rules out overlapping calls) and
// may be called from any context; see `Send`.
unsafe impl Sync for Hook {}

impl Hook {
    /// A hook calling `f(arg)`.
    ///
    /// # Safety
    ///
    /// While the hook lives, `f(arg)` must be sound in any context (process, softirq or hard IRQ, with spinlocks
    /// held) whenever every earlier call was answered (see the module documentation).
    pub(crate) unsafe fn new(f: unsafe fn(*mut c_void), arg: *mut c_void) -> Self {
        // INVARIANT: By the safety requirement.
        Self { f, arg }
    }

    /// Makes the hook's last call.
    pub(crate) fn call(self) {
        // SAFETY: The hook lives until this call returns, and every earlier call was answered: each was a
        // `call_and_keep`, whose caller lets no call come before its answer.
        unsafe { (self.f)(self.arg) }
    }

    /// Calls the hook and keeps it for later calls.
    ///
    /// # Safety
    ///
    /// Every earlier call of the hook was answered, and the caller sees to it that no call of it (by anyone, either
    /// method) comes before this one is answered.
    pub(crate) unsafe fn call_and_keep(&self) {
        // SAFETY: By the type invariant and the function's safety requirement.
        unsafe { (self.f)(self.arg) }
    }
}
