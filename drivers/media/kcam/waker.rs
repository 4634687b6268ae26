// SPDX-License-Identifier: GPL-2.0

//! One wait queue per camera for everything a running list or a waiting file can wait for: an event, a fence,
//! a finished submission, a cancellation, a cleared fault.
//!
//! Sources change their state first and then [`Waker::kick`]; waiters use [`Waker::wait_until`], which checks
//! its condition, and sleeps only if no kick happened since the check began (a generation counter under an
//! IRQ-safe spinlock, because a fence can signal from hard-IRQ context). So no wakeup is lost, and a waiter
//! needs no lock of its sources.

use kernel::{
    new_condvar, new_spinlock_irq,
    prelude::*,
    sync::{Arc, CondVar, CondVarTimeoutResult, SpinLockIrq},
    time::{msecs_to_jiffies, Jiffies},
};

/// See the module documentation.
#[pin_data]
pub(crate) struct Waker {
    /// Bumped by every kick.
    #[pin]
    generation: SpinLockIrq<u64>,
    #[pin]
    changed: CondVar,
}

/// How long a wait may sleep.
#[derive(Clone, Copy)]
pub(crate) enum Sleep {
    /// Interruptible by signals (`EINTR`), at most this many nanoseconds (`ETIMEDOUT`).
    Interruptible(u64),
}

fn jiffies_of(ns: u64) -> Jiffies {
    msecs_to_jiffies(u32::try_from(ns.div_ceil(1_000_000)).unwrap_or(u32::MAX))
}

impl Waker {
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                generation <- new_spinlock_irq!(0, "Waker::generation"),
                changed <- new_condvar!("Waker::changed"),
            }),
            GFP_KERNEL,
        )
    }

    /// Tells every waiter to check its condition again. Callable from any context, including hard IRQ.
    pub(crate) fn kick(&self) {
        *self.generation.lock() += 1;
        self.changed.notify_all();
    }

    /// Waits until `cond` gives `Some`, and returns that. `ETIMEDOUT` when the time is up, `EINTR` on a signal.
    pub(crate) fn wait_until<T>(
        &self,
        sleep: Sleep,
        mut cond: impl FnMut() -> Option<Result<T>>,
    ) -> Result<T> {
        let Sleep::Interruptible(ns) = sleep;
        let mut left = jiffies_of(ns);
        loop {
            let seen = *self.generation.lock();
            if let Some(r) = cond() {
                return r;
            }
            let mut generation = self.generation.lock();
            if *generation != seen {
                continue;
            }
            match self
                .changed
                .wait_interruptible_timeout(&mut generation, left)
            {
                CondVarTimeoutResult::Timeout => {
                    drop(generation);
                    // The condition may have come true with the last tick.
                    return cond().unwrap_or(Err(ETIMEDOUT));
                }
                // A status goes to userspace as is: EINTR, not the kernel-internal ERESTARTSYS.
                CondVarTimeoutResult::Signal { .. } => return Err(EINTR),
                CondVarTimeoutResult::Woken { jiffies } => left = jiffies,
            }
        }
    }
}

/// Called by the C fence callback (`kcam_glue.c`), possibly in hard-IRQ context.
///
/// # Safety
///
/// `waker` is a `*const Waker` that stays valid until the callback is removed or has run, which
/// `fence::Watch` guarantees.
#[no_mangle]
pub(crate) unsafe extern "C" fn kcam_rust_waker_kick(waker: *const core::ffi::c_void) {
    // SAFETY: By the function's safety requirement, `waker` points to a live `Waker`.
    unsafe { &*waker.cast::<Waker>() }.kick();
}

// The definition has the type of its declaration in `kcam_glue.h` (generated): a changed signature on either side
// does not compile.
const _: [unsafe extern "C" fn(*const core::ffi::c_void); 2] = [
    kcam_rust_waker_kick,
    crate::glue::bindings::kcam_rust_waker_kick,
];
