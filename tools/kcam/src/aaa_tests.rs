// SPDX-License-Identifier: GPL-2.0
//! The 3A loop in closed loop with vcam's renderer (the kernel's code, `shared/frame.rs`): from a dark start it
//! reaches the target within a stated number of frames and stays there, and neutralises the illuminant's cast,
//! with one or two frames between programming a setting and the first frame taken with it.

use crate::aaa::{Aaa, Config, Settings, Step};
use crate::frame::{IspConfig, Renderer, SensorConfig};
use crate::vcam_uapi::*;

/// Frames of `pattern` under `illuminant`, each rendered with the settings programmed `latency` frames before,
/// starting from `start`; every step of the loop.
fn run(pattern: u32, illuminant: u32, latency: usize, frames: u32, start: Settings) -> Vec<Step> {
    let aaa = Aaa::new(Config::default());
    let mut r = Box::new(Renderer::IDLE);
    let mut programmed = vec![start; latency];
    let mut steps = Vec::new();
    let mut out = vec![0u8; 2 * 320 * 3];
    for frame in 1..=frames {
        let s = programmed[programmed.len() - latency];
        let cfg = SensorConfig {
            width: 320,
            height: 240,
            pattern,
            illuminant,
            exposure: s.exposure,
            gain: s.gain,
            frame,
        };
        assert!(r.start(&cfg, &s.isp, FMT_RGB24));
        for pair in 0..r.pairs() {
            r.render_pair(pair, &mut out).unwrap();
        }
        let mut stats = Stats::ZERO;
        r.finish(&mut stats);
        let step = aaa.step(&stats);
        programmed.push(step.next);
        steps.push(step);
    }
    steps
}

/// The first frame (1-based) from which every step is converged.
fn settled_from(steps: &[Step]) -> Option<usize> {
    let last_bad = steps.iter().rposition(|s| !s.converged);
    match last_bad {
        None => Some(1),
        Some(i) if i + 1 < steps.len() => Some(i + 2),
        Some(_) => None,
    }
}

fn dark() -> Settings {
    Aaa::new(Config::default()).initial(100, 16)
}

#[test]
fn converges_from_dark_and_stays() {
    for (latency, within) in [(1, 6), (2, 10)] {
        for pattern in [PATTERN_BARS, PATTERN_GREY, PATTERN_BOX, PATTERN_GRADIENT] {
            let steps = run(pattern, ILLUM_WARM, latency, 40, dark());
            assert!(
                steps[0].measured.luma < 0.02,
                "a dark start: {:?}",
                steps[0].measured
            );
            let from = settled_from(&steps);
            assert!(
                from.is_some_and(|f| f <= within),
                "pattern {pattern}, latency {latency}: converged from frame {from:?}, not within {within}: {:?}",
                steps.iter().map(|s| (s.measured.luma, s.converged)).collect::<Vec<_>>()
            );
            let last = steps.last().unwrap();
            assert!(
                (last.measured.luma - 0.4).abs() < 0.02,
                "{:?}",
                last.measured
            );
        }
    }
}

#[test]
fn neutralises_every_illuminant() {
    for illuminant in [ILLUM_WARM, ILLUM_COOL, ILLUM_NEUTRAL] {
        let steps = run(PATTERN_GREY, illuminant, 1, 12, dark());
        let before = steps[2].measured.balance;
        let after = steps.last().unwrap().measured.balance;
        assert!(
            after.iter().all(|b| (b - 1.0).abs() < 0.02),
            "{illuminant}: {after:?}"
        );
        if illuminant == ILLUM_WARM {
            // Unit gains under a warm light: red high, blue low.
            let first = steps[0].measured.balance;
            assert!(first[0] > 1.2 && first[1] < 0.8, "{first:?}");
            assert!(before.iter().all(|b| (b - 1.0).abs() < 0.1), "{before:?}");
        }
    }
}

#[test]
fn comes_down_from_saturation() {
    let bright = Settings {
        exposure: 60_000,
        gain: 128,
        isp: IspConfig {
            black_level: PEDESTAL,
            wb_gain: [GAIN_ONE; 3],
        },
    };
    let steps = run(PATTERN_BARS, ILLUM_NEUTRAL, 2, 30, bright);
    assert!(steps[0].measured.saturated_cells > 100);
    assert!(
        settled_from(&steps).is_some_and(|f| f <= 12),
        "{:?}",
        settled_from(&steps)
    );
}

#[test]
fn gain_only_beyond_the_longest_exposure() {
    // A scene too dark for the longest exposure at 1x: the loop uses the whole exposure, then gain.
    let aaa = Aaa::new(Config {
        max_exposure: 2000,
        ..Config::default()
    });
    let mut s = Stats::ZERO;
    s.exposure = 1000;
    s.gain = 16;
    s.black_level = PEDESTAL;
    s.wb_gain = [GAIN_ONE; 3];
    for c in s.cells.iter_mut() {
        *c = StatsCell {
            r: 16 * 20,
            g: 16 * 20,
            b: 16 * 20,
            saturated: 0,
        };
    }
    let step = aaa.step(&s);
    assert_eq!(step.next.exposure, 2000);
    assert!(step.next.gain > 16, "{:?}", step.next);
}
