// SPDX-License-Identifier: GPL-2.0

//! Deadline pacing arithmetic and the timing statistics of a capture.
//!
//! Sample `n` is due at `start + n * period`, by the kernel clock. Each sample is taken as soon as the clock
//! reaches its deadline; a sample taken later than that is not skipped but counted, so the trace keeps its time
//! base and the statistics say how far it strayed. `no_std`, shared with the host tools.

/// Number of histogram buckets for the lateness distribution.
const BUCKETS: usize = 128;
/// Sub-buckets per power of two (relative resolution 1/8).
const SUB: u32 = 8;

/// Statistics of one capture's sample timing.
#[derive(Debug, Clone, Copy)]
pub struct TimingStats {
    /// Requested period.
    pub period_ns: u64,
    /// Samples recorded.
    pub samples: u64,
    /// Time of the first and of the last sample, relative to the capture start.
    pub first_ns: u64,
    /// See `first_ns`.
    pub last_ns: u64,
    /// Shortest and longest interval between consecutive samples.
    pub min_interval_ns: u64,
    /// See `min_interval_ns`.
    pub max_interval_ns: u64,
    /// Largest lateness (time taken minus time due).
    pub max_late_ns: u64,
    /// Sum of lateness, for the mean.
    pub sum_late_ns: u64,
    /// Samples taken a whole period or more after they were due.
    pub late_samples: u64,
    hist: [u32; BUCKETS],
    prev_ns: Option<u64>,
}

/// Bucket index of a lateness value: exact below `SUB`, then `SUB` buckets per power of two.
fn bucket(v: u64) -> usize {
    if v < u64::from(SUB) {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= 3
    let mantissa = (v >> (exp - 3)) as u32 & (SUB - 1);
    let idx = (exp - 3 + 1) * SUB + mantissa;
    (idx as usize).min(BUCKETS - 1)
}

/// Largest value that falls in bucket `idx`.
fn bucket_max(idx: usize) -> u64 {
    let idx = idx as u32;
    if idx < SUB {
        return u64::from(idx);
    }
    let exp = idx / SUB - 1 + 3;
    let mantissa = u64::from((idx % SUB) | SUB);
    if exp >= 60 {
        return u64::MAX;
    }
    ((mantissa + 1) << (exp - 3)) - 1
}

impl TimingStats {
    /// Empty statistics for a capture at `period_ns`.
    pub const fn new(period_ns: u64) -> Self {
        Self {
            period_ns,
            samples: 0,
            first_ns: 0,
            last_ns: 0,
            min_interval_ns: u64::MAX,
            max_interval_ns: 0,
            max_late_ns: 0,
            sum_late_ns: 0,
            late_samples: 0,
            hist: [0; BUCKETS],
            prev_ns: None,
        }
    }

    /// Records a sample taken at `taken_ns` that was due at `due_ns` (both relative to the capture start).
    pub fn record(&mut self, due_ns: u64, taken_ns: u64) {
        let late = taken_ns.saturating_sub(due_ns);
        match self.prev_ns {
            Some(prev) => {
                let interval = taken_ns.saturating_sub(prev);
                self.min_interval_ns = self.min_interval_ns.min(interval);
                self.max_interval_ns = self.max_interval_ns.max(interval);
            }
            None => self.first_ns = taken_ns,
        }
        self.prev_ns = Some(taken_ns);
        self.last_ns = taken_ns;
        self.samples += 1;
        self.max_late_ns = self.max_late_ns.max(late);
        self.sum_late_ns = self.sum_late_ns.saturating_add(late);
        if late >= self.period_ns {
            self.late_samples += 1;
        }
        let b = bucket(late);
        self.hist[b] = self.hist[b].saturating_add(1);
    }

    /// Mean interval between samples; 0 with fewer than two samples.
    pub fn mean_interval_ns(&self) -> u64 {
        match self.samples {
            0 | 1 => 0,
            n => (self.last_ns - self.first_ns) / (n - 1),
        }
    }

    /// Achieved sample rate in mHz (milli-hertz, to keep three decimals without floating point); 0 when unknown.
    pub fn achieved_rate_mhz(&self) -> u64 {
        let span = self.last_ns.saturating_sub(self.first_ns);
        if self.samples < 2 || span == 0 {
            return 0;
        }
        // (n - 1) intervals in `span` ns: rate = (n - 1) * 1e9 / span Hz, kept in 64 bits (the kernel has no
        // 128-bit division): whole Hz first, then the thousandths from the remainder.
        let Some(scaled) = (self.samples - 1).checked_mul(1_000_000_000) else {
            return u64::MAX;
        };
        let (hz, rem) = (scaled / span, scaled % span);
        hz.saturating_mul(1000)
            .saturating_add(rem.saturating_mul(1000) / span)
    }

    /// Mean lateness.
    pub fn mean_late_ns(&self) -> u64 {
        self.sum_late_ns.checked_div(self.samples).unwrap_or(0)
    }

    /// Lateness not exceeded by 99 % of the samples (upper bound of its histogram bucket, within 1/8).
    pub fn p99_late_ns(&self) -> u64 {
        if self.samples == 0 {
            return 0;
        }
        let want = self.samples - self.samples / 100;
        let mut seen = 0u64;
        for (i, &n) in self.hist.iter().enumerate() {
            seen += u64::from(n);
            if seen >= want {
                return bucket_max(i).min(self.max_late_ns);
            }
        }
        self.max_late_ns
    }
}

/// Due time of sample `n` at `period_ns`, or `None` on overflow.
pub fn due_ns(n: u64, period_ns: u64) -> Option<u64> {
    n.checked_mul(period_ns)
}

/// Period for a requested rate in Hz, rounded to the nearest ns (upstream truncates: 1.5 MHz becomes 666 ns).
pub fn period_for_rate(rate_hz: u64) -> Option<u64> {
    if rate_hz == 0 || rate_hz > 1_000_000_000 {
        return None;
    }
    Some((1_000_000_000 + rate_hz / 2) / rate_hz)
}
