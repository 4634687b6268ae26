// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers of scheduler helpers in `kcam_glue.c` (static inlines and macros Rust cannot call).

mod ffi {
    extern "C" {
        pub(super) fn kcam_sleep_interruptible(ns: u64) -> core::ffi::c_int;
        pub(super) fn kcam_sleep_killable(ns: u64) -> core::ffi::c_int;
        pub(super) fn kcam_fatal_signal_pending() -> bool;
    }
}

/// Sleeps up to `ns` on a high-resolution timer; a pending signal ends the sleep at once (the caller checks for
/// it: `signal_pending()`).
pub(crate) fn sleep_interruptible(ns: u64) {
    // SAFETY: No preconditions: it sleeps in process context, as every caller (list execution) runs.
    unsafe { ffi::kcam_sleep_interruptible(ns) };
}

/// Sleeps up to `ns` on a high-resolution timer; only a fatal signal ends the sleep early.
pub(crate) fn sleep_killable(ns: u64) {
    // SAFETY: No preconditions: callers run in process context.
    unsafe { ffi::kcam_sleep_killable(ns) };
}

/// Whether the current task is being killed.
pub(crate) fn fatal_signal_pending() -> bool {
    // SAFETY: No preconditions.
    unsafe { ffi::kcam_fatal_signal_pending() }
}
