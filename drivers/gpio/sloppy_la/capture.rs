// SPDX-License-Identifier: GPL-2.0

//! The sampling loop.
//!
//! Sample `n` is due `n * period` after the start, by the kernel's monotonic clock. Sampling runs in windows with
//! interrupts off, each at most `max_irqoff` long: within a window the loop spins until a deadline, reads all
//! probes and stores the sample. A window ends when it has lasted `max_irqoff`, or before a deadline that lies
//! beyond its end. Between two windows interrupts are on and `cond_resched()` runs, so neither the RCU stall
//! detector nor the lockup watchdogs fire on a long capture; a deadline more than [`WAKE_EARLY_NS`] away is
//! waited for asleep (killable), and the next window starts that long before it. Samples due during a break are
//! taken late (they are counted, the time base is kept). A fatal signal or the instance's removal is noticed
//! while spinning, after every read, and while asleep (at once, or within [`SLEEP_SLICE_NS`] for a removal).

use crate::{
    gpio::{self, Probes},
    samples::{self, PreRing},
    timing::{self, TimingStats},
    trigger::{Matcher, Step},
};
use kernel::{
    interrupt::local_interrupt_disable,
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
    time::{Instant, Monotonic},
};

/// Reads timed to measure the cost of one read, as upstream does.
pub(crate) const CALIBRATION_READS: u32 = 1024;
/// How long before a deadline the capture wakes up from a sleep, to spin the rest with interrupts off (at most
/// half a window): long enough to absorb the wake-up latency, short enough to keep interrupts on most of a gap.
const WAKE_EARLY_NS: u64 = 2_000_000;
/// Longest single sleep: a fatal signal wakes the sleeper at once, the instance's removal only sets a flag, seen
/// this soon.
const SLEEP_SLICE_NS: u64 = 10_000_000;

/// What one capture is asked to do.
pub(crate) struct Request<'a> {
    /// Sampling period.
    pub(crate) period_ns: u64,
    /// Trigger steps; empty = start at once.
    pub(crate) steps: &'a [Step],
    /// Give up waiting for the trigger after this long (`None` = wait until a signal).
    pub(crate) trigger_timeout_ns: Option<u64>,
    /// Samples kept from before the trigger.
    pub(crate) pre_samples: usize,
    /// Longest stretch with interrupts off.
    pub(crate) max_irqoff_ns: u64,
}

/// What a successful capture measured.
pub(crate) struct Outcome {
    /// Timing of the samples stored from the trigger on (all samples without a trigger).
    pub(crate) stats: TimingStats,
    /// Index of the trigger sample in the buffer (0 without a trigger or without pre-trigger samples).
    pub(crate) trigger_sample: usize,
    /// Number of IRQs-off windows the capture took.
    pub(crate) windows: u64,
    /// Time from the start of sampling to the end.
    pub(crate) duration_ns: u64,
}

/// Why a capture stopped. Each maps to the errno the `capture` write returns.
fn aborted(abort: &Atomic<bool>) -> Option<Error> {
    if gpio::fatal_signal_pending() {
        return Some(EINTR);
    }
    if abort.load(Relaxed) {
        return Some(ENODEV);
    }
    None
}

fn since(start: Instant<Monotonic>) -> u64 {
    // The monotonic clock never goes back, so the difference is not negative.
    u64::try_from((Instant::<Monotonic>::now() - start).as_nanos()).unwrap_or(0)
}

/// Sleeps, interrupts on, until `target_ns` after `start`, in killable slices; stops early on a fatal signal or
/// the instance's removal.
fn sleep_until(start: Instant<Monotonic>, target_ns: u64, abort: &Atomic<bool>) -> Result {
    loop {
        if let Some(e) = aborted(abort) {
            return Err(e);
        }
        let now = since(start);
        if now >= target_ns {
            return Ok(());
        }
        gpio::sleep_killable((target_ns - now).min(SLEEP_SLICE_NS));
    }
}

/// Measures the mean cost of one read of all probes, with interrupts off.
pub(crate) fn calibrate(probes: &Probes, abort: &Atomic<bool>) -> Result<u64> {
    let _irqs_off = local_interrupt_disable();
    let start = Instant::<Monotonic>::now();
    for _ in 0..CALIBRATION_READS {
        probes.read()?;
        if let Some(e) = aborted(abort) {
            return Err(e);
        }
    }
    Ok(since(start) / u64::from(CALIBRATION_READS))
}

/// Trigger and ring state carried across IRQs-off windows.
struct Progress<'a> {
    /// Next sample number (deadline index), counting every read since the start.
    n: u64,
    matcher: Matcher,
    triggered: bool,
    ring: PreRing,
    /// Next buffer index for samples after the trigger.
    write_idx: usize,
    trigger_sample: usize,
    stats: TimingStats,
    steps: &'a [Step],
}

/// Runs one capture into `buf` (`buf.len() / unit` samples). On error the buffer's contents are unspecified.
pub(crate) fn run(
    probes: &Probes,
    req: &Request<'_>,
    buf: &mut [u8],
    unit: usize,
    abort: &Atomic<bool>,
) -> Result<Outcome> {
    let total = buf.len() / unit;
    if total == 0 || req.period_ns == 0 {
        return Err(EINVAL);
    }
    let mut p = Progress {
        n: 0,
        matcher: Matcher::default(),
        triggered: req.steps.is_empty(),
        ring: PreRing::new(if req.steps.is_empty() {
            0
        } else {
            req.pre_samples.min(total - 1)
        }),
        write_idx: 0,
        trigger_sample: 0,
        stats: TimingStats::new(req.period_ns),
        steps: req.steps,
    };
    let mut windows = 0u64;
    // At most half a window, so that a window started this long before a deadline reaches it.
    let wake_early_ns = WAKE_EARLY_NS.min(req.max_irqoff_ns / 2);
    let start = Instant::<Monotonic>::now();
    while p.write_idx < total {
        // A deadline further away than that is waited for asleep, with interrupts on.
        let due = timing::due_ns(p.n, req.period_ns).ok_or(EOVERFLOW)?;
        if due.saturating_sub(since(start)) > wake_early_ns {
            sleep_until(start, due - wake_early_ns, abort)?;
        }
        windows += 1;
        window(probes, req, buf, unit, abort, start, &mut p)?;
        if p.write_idx < total {
            // Let the tick, RCU and anything else pinned to this CPU run before the next window.
            gpio::cond_resched();
            if let Some(e) = aborted(abort) {
                return Err(e);
            }
        }
    }
    let duration_ns = since(start);
    // The ring is in place at the front; rotate it into time order now that interrupts are on again.
    p.ring.linearize(buf, unit);
    Ok(Outcome {
        stats: p.stats,
        trigger_sample: p.trigger_sample,
        windows,
        duration_ns,
    })
}

/// One IRQs-off window: samples until the buffer is full, the window is used up, the next deadline lies beyond
/// its end, or an error.
fn window(
    probes: &Probes,
    req: &Request<'_>,
    buf: &mut [u8],
    unit: usize,
    abort: &Atomic<bool>,
    start: Instant<Monotonic>,
    p: &mut Progress<'_>,
) -> Result {
    let total = buf.len() / unit;
    let _irqs_off = local_interrupt_disable();
    let window_start = since(start);
    let window_end = window_start.saturating_add(req.max_irqoff_ns);
    loop {
        let due = timing::due_ns(p.n, req.period_ns).ok_or(EOVERFLOW)?;
        if due > window_end {
            // Waiting for it would cross the window: the caller waits with interrupts on.
            return Ok(());
        }
        let mut now = since(start);
        while now < due {
            if let Some(e) = aborted(abort) {
                return Err(e);
            }
            core::hint::spin_loop();
            now = since(start);
        }
        let state = probes.read()?;
        if let Some(e) = aborted(abort) {
            return Err(e);
        }
        p.n += 1;
        if p.triggered {
            samples::put(buf, unit, p.write_idx, state);
            p.write_idx += 1;
            p.stats.record(due, now);
        } else if p.matcher.feed(p.steps, state) {
            // The matching sample is the trigger sample; the ring's samples come before it.
            p.triggered = true;
            p.trigger_sample = p.ring.filled();
            p.write_idx = p.trigger_sample;
            samples::put(buf, unit, p.write_idx, state);
            p.write_idx += 1;
            p.stats.record(due, now);
        } else {
            if let Some(slot) = p.ring.slot() {
                samples::put(buf, unit, slot, state);
            }
            if req.trigger_timeout_ns.is_some_and(|t| now > t) {
                return Err(ETIMEDOUT);
            }
        }
        if p.write_idx >= total || now - window_start >= req.max_irqoff_ns {
            return Ok(());
        }
    }
}
