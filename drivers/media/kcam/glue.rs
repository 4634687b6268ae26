// SPDX-License-Identifier: GPL-2.0

//! The C glue of kcam.ko (`kcam_glue.c`): its declarations, generated at build time from `kcam_glue.h`
//! (`kcam_glue_bindings.rs`, typed with the kernel's `bindings::` structs), and safe wrappers of its scheduler
//! helpers (static inlines and macros Rust cannot call). `fence.rs` wraps the fence half.

/// The declarations of `kcam_glue.h`.
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
pub(crate) mod bindings {
    include!("kcam_glue_bindings.rs");
}

/// Sleeps up to `ns` on a high-resolution timer; a pending signal ends the sleep at once (the caller checks for
/// it: `signal_pending()`).
pub(crate) fn sleep_interruptible(ns: u64) {
    // SAFETY: No preconditions: it sleeps in process context, as every caller (list execution) runs.
    unsafe { bindings::kcam_sleep_interruptible(ns) };
}

/// Sleeps up to `ns` on a high-resolution timer; only a fatal signal ends the sleep early.
pub(crate) fn sleep_killable(ns: u64) {
    // SAFETY: No preconditions: callers run in process context.
    unsafe { bindings::kcam_sleep_killable(ns) };
}

/// Whether the current task is being killed.
pub(crate) fn fatal_signal_pending() -> bool {
    // SAFETY: No preconditions.
    unsafe { bindings::kcam_fatal_signal_pending() }
}
