// SPDX-License-Identifier: GPL-2.0
//! A 3A loop for vcam (auto exposure and auto white balance; vcam has no focus), from the statistics of each frame,
//! in the manner of libcamera's IPAs:
//!
//! - AWB, grey world (libipa `AwbGrey`): the scene averages to grey, so the gains that make the mean R, G and B of
//!   the raw statistics equal are `M / R`, `M / G` and `M / B`, with `M` the largest of the three: the channel the
//!   sensor is most sensitive to under this light keeps a gain of 1, so none amplifies past the sensor's own
//!   clipping. The statistics are measured before white balance, so one frame gives the answer.
//! - AE, mean luminance (libipa `AgcMeanLuminance`): the output luma the frame would have with the new gains is
//!   estimated per grid cell from its means (a cell saturates at 1); the exposure value (exposure time x gain) is
//!   scaled by `target / estimate`, at most 8x up or down per frame, and split into exposure time first (up to
//!   `max_exposure`) and analogue gain after. Saturation hides how much too bright a frame is (the estimate is a
//!   lower bound), so with a quarter of the cells saturated the exposure at least halves, with half of them it at
//!   least quarters.
//!
//! The statistics say which exposure, gain and ISP parameters their frame was taken with, so a step computed from
//! an older frame (the camera latches new settings at a frame start, a frame or two later) gives the same answer
//! as one from the latest: the loop does not oscillate with the pipeline's latency.

use crate::frame::{IspConfig, GAIN_UNITY};
use crate::vcam_uapi::{Stats, GAIN_MAX, GAIN_ONE, RAW_MAX};

/// What the loop programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Microseconds.
    pub exposure: u32,
    /// The sensor's `GAIN` ([`GAIN_UNITY`] is 1x).
    pub gain: u32,
    pub isp: IspConfig,
}

/// The loop's goals and limits.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Mean output luma to reach, a fraction of full scale.
    pub target: f64,
    /// How close counts as there: a fraction of `target`.
    pub tolerance: f64,
    /// Longest exposure in microseconds (a frame period).
    pub max_exposure: u32,
    /// Highest sensor gain.
    pub max_gain: u32,
    /// The sensor's black level, subtracted by the ISP.
    pub black_level: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            target: 0.4,
            tolerance: 0.05,
            max_exposure: 33_000,
            max_gain: 255,
            black_level: crate::vcam_uapi::PEDESTAL,
        }
    }
}

/// What one frame's statistics say.
#[derive(Clone, Copy, Debug)]
pub struct Measurement {
    /// The frame's mean output luma (with the gains it was taken with), a fraction of full scale.
    pub luma: f64,
    /// The frame's output balance: mean R / G and B / G after its white balance (1 is neutral).
    pub balance: [f64; 2],
    /// Cells with a saturated site.
    pub saturated_cells: usize,
}

/// One step of the loop: what the frame measured, and what to program next.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub measured: Measurement,
    pub next: Settings,
    /// The frame was on target (within the tolerance) and neutral (within 2 %), with the gains the loop wants.
    pub converged: bool,
}

const LUMA: [f64; 3] = [0.299, 0.587, 0.114];

/// Mean raw R, G, B over the grid, above the black level, in raw units; and the cells with a saturated site.
fn raw_means(stats: &Stats) -> ([f64; 3], usize) {
    let saturated = stats.cells.iter().filter(|c| c.saturated > 0).count();
    let mut sum = [0f64; 3];
    for c in &stats.cells {
        sum[0] += f64::from(c.r) / 16.0;
        sum[1] += f64::from(c.g) / 16.0;
        sum[2] += f64::from(c.b) / 16.0;
    }
    (sum.map(|s| s / stats.cells.len() as f64), saturated)
}

/// The mean output luma of `stats`' frame with white-balance `gains` (Q8), each cell saturating at 1.
fn luma_with(stats: &Stats, gains: [u32; 3]) -> f64 {
    let range = f64::from(RAW_MAX.saturating_sub(stats.black_level).max(1));
    let g = gains.map(|g| f64::from(g) / f64::from(GAIN_ONE));
    let total: f64 = stats
        .cells
        .iter()
        .map(|c| {
            let rgb = [c.r, c.g, c.b].map(|v| f64::from(v) / 16.0 / range);
            (0..3)
                .map(|i| (rgb[i] * g[i]).min(1.0) * LUMA[i])
                .sum::<f64>()
        })
        .sum();
    total / stats.cells.len() as f64
}

/// What a frame's statistics say about it.
pub fn measure(stats: &Stats) -> Measurement {
    let (m, saturated_cells) = raw_means(stats);
    let g = stats.wb_gain.map(|g| f64::from(g) / f64::from(GAIN_ONE));
    let out = [m[0] * g[0], m[1] * g[1], m[2] * g[2]];
    let green = out[1].max(1e-9);
    Measurement {
        luma: luma_with(stats, stats.wb_gain),
        balance: [out[0] / green, out[2] / green],
        saturated_cells,
    }
}

/// The loop (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub struct Aaa {
    pub config: Config,
}

impl Aaa {
    pub fn new(config: Config) -> Self {
        Self { config }
    }

    /// Where a camera starts: black level subtracted, unit gains, `exposure` and `gain` as given.
    pub fn initial(&self, exposure: u32, gain: u32) -> Settings {
        Settings {
            exposure,
            gain,
            isp: IspConfig {
                black_level: self.config.black_level,
                wb_gain: [GAIN_ONE; 3],
            },
        }
    }

    /// One step from a frame's statistics.
    pub fn step(&self, stats: &Stats) -> Step {
        let c = &self.config;
        let measured = measure(stats);
        // AWB: grey world on the raw means.
        let (m, _) = raw_means(stats);
        let top = m[0].max(m[1]).max(m[2]);
        let gain_for = |v: f64| {
            let g = (f64::from(GAIN_ONE) * top / v.max(1e-3)).round();
            // CAST: clamped to the ISP's range.
            g.clamp(f64::from(GAIN_ONE), f64::from(GAIN_MAX)) as u32
        };
        let wb_gain = if m.iter().all(|v| *v > 1.0) {
            m.map(gain_for)
        } else {
            // Too dark to tell a colour: keep what the frame had.
            stats.wb_gain
        };
        // AE: the luma with the new gains, scaled to the target.
        let luma = luma_with(stats, wb_gain).max(1.0 / 1023.0);
        let saturated = measured.saturated_cells as f64 / stats.cells.len() as f64;
        let ceiling = if saturated >= 0.5 {
            0.25
        } else if saturated >= 0.25 {
            0.5
        } else {
            8.0
        };
        let factor = (c.target / luma).clamp(1.0 / 8.0, ceiling);
        let ev = f64::from(stats.exposure.max(1)) * f64::from(stats.gain.max(1)) * factor;
        let unity = f64::from(GAIN_UNITY);
        let exposure = (ev / unity).round().clamp(1.0, f64::from(c.max_exposure));
        let gain = (ev / exposure).round().clamp(unity, f64::from(c.max_gain));
        let next = Settings {
            // CAST: both clamped to their registers' ranges above.
            exposure: exposure as u32,
            gain: gain as u32,
            isp: IspConfig {
                black_level: c.black_level,
                wb_gain,
            },
        };
        let on_target = (measured.luma - c.target).abs() <= c.tolerance * c.target;
        let neutral = measured.balance.iter().all(|b| (b - 1.0).abs() <= 0.02);
        let same_gains = stats
            .wb_gain
            .iter()
            .zip(&wb_gain)
            .all(|(a, b)| a.abs_diff(*b) * 50 <= *a);
        Step {
            measured,
            next,
            converged: on_target && neutral && same_gains && stats.black_level == c.black_level,
        }
    }
}
