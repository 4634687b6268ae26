// SPDX-License-Identifier: GPL-2.0

//! A `raw_spinlock_t` taken with interrupts saved and disabled, as a [`Lock`] backend.
//!
//! The 7.3 `kernel` crate offers `SpinLock` and `SpinLockIrq`, both a `spinlock_t`, which PREEMPT_RT makes a
//! sleeping lock: taking one in a hard interrupt is a bug, which lockdep reports as an invalid wait context
//! (`PROVE_RAW_LOCK_NESTING`). A GPIO chip's get callbacks may run in hard interrupts (an interrupt handler
//! reading a line of a chip that cannot sleep), so the state they read is behind a raw spinlock, as in gpio-mmio.

use kernel::{
    bindings,
    ffi::{c_char, c_ulong},
    sync::lock::{Backend, Lock},
};

mod ffi {
    use kernel::{
        bindings,
        ffi::{c_char, c_ulong},
    };

    extern "C" {
        pub(super) fn wf_raw_spin_lock_init(
            lock: *mut bindings::raw_spinlock_t,
            name: *const c_char,
            key: *mut bindings::lock_class_key,
        );
        pub(super) fn wf_raw_spin_lock_irqsave(lock: *mut bindings::raw_spinlock_t) -> c_ulong;
        pub(super) fn wf_raw_spin_trylock_irqsave(
            lock: *mut bindings::raw_spinlock_t,
            flags: *mut c_ulong,
        ) -> bool;
        pub(super) fn wf_raw_spin_unlock_irqrestore(
            lock: *mut bindings::raw_spinlock_t,
            flags: c_ulong,
        );
        pub(super) fn wf_raw_spin_assert_is_held(lock: *mut bindings::raw_spinlock_t);
    }
}

/// A value behind a raw spinlock; `lock()` saves and disables local interrupts until the guard is dropped, so it
/// may be taken in any context, a hard interrupt included. Keep the sections short: they never sleep, on any
/// kernel.
pub(crate) type RawSpinLockIrq<T> = Lock<T, RawSpinLockIrqBackend>;

/// The [`Backend`] of [`RawSpinLockIrq`]; the guard keeps the saved interrupt flags.
pub(crate) struct RawSpinLockIrqBackend;

// SAFETY: `raw_spinlock_t` gives mutual exclusion; `lock` returns the flags `unlock` restores, and `relock` uses the
// default implementation (a fresh `lock`, whose flags replace the old ones).
unsafe impl Backend for RawSpinLockIrqBackend {
    type State = bindings::raw_spinlock_t;
    type GuardState = c_ulong;

    unsafe fn init(ptr: *mut Self::State, name: *const c_char, key: *mut bindings::lock_class_key) {
        // SAFETY: By the trait's requirements, `ptr` is valid for writes and `name` and `key` live forever.
        unsafe { ffi::wf_raw_spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: By the trait's requirements, `ptr` is an initialised lock.
        unsafe { ffi::wf_raw_spin_lock_irqsave(ptr) }
    }

    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        let mut flags: c_ulong = 0;
        // SAFETY: By the trait's requirements, `ptr` is an initialised lock; `flags` is valid for a write.
        unsafe { ffi::wf_raw_spin_trylock_irqsave(ptr, &mut flags) }.then_some(flags)
    }

    unsafe fn unlock(ptr: *mut Self::State, guard_state: &Self::GuardState) {
        // SAFETY: By the trait's requirements, the caller owns the lock; `guard_state` came from its `lock`.
        unsafe { ffi::wf_raw_spin_unlock_irqrestore(ptr, *guard_state) }
    }

    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // SAFETY: By the trait's requirements, `ptr` is an initialised lock.
        unsafe { ffi::wf_raw_spin_assert_is_held(ptr) }
    }
}

/// An initialiser of a [`RawSpinLockIrq`] holding `$inner`, with lock class name `$name` (a C string literal) and
/// a new class.
macro_rules! new_raw_spinlock_irq {
    ($inner:expr, $name:expr) => {
        $crate::raw_spinlock::RawSpinLockIrq::new($inner, $name, kernel::static_lock_class!())
    };
}
pub(crate) use new_raw_spinlock_irq;
