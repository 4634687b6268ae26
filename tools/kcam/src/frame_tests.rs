// SPDX-License-Identifier: GPL-2.0
//! Host tests of vcam's image pipeline (`drivers/media/kcam/shared/frame.rs`) on small frames: patterns where they
//! belong, the sensor's response (exposure, gain, saturation, noise), the ISP (black level, white balance, formats),
//! the statistics against the image, and the frame stamp.

use crate::frame::*;
use crate::vcam_uapi::*;

const W: u32 = 64;
const H: u32 = 48;

fn cfg(pattern: u32, illuminant: u32, exposure: u32, gain: u32, frame: u32) -> SensorConfig {
    SensorConfig {
        width: W,
        height: H,
        pattern,
        illuminant,
        exposure,
        gain,
        frame,
    }
}

/// The ISP with the sensor's black level subtracted and `gains`.
fn isp(gains: [u32; 3]) -> IspConfig {
    IspConfig {
        black_level: PEDESTAL,
        wb_gain: gains,
    }
}

/// Renders a whole frame: its bytes and statistics.
fn render(c: &SensorConfig, i: &IspConfig, format: u32) -> (Vec<u8>, Stats) {
    let mut r = Box::new(Renderer::IDLE);
    assert!(r.start(c, i, format));
    let stride = r.stride();
    let mut frame = vec![0u8; stride * c.height as usize];
    for (pair, out) in frame.chunks_exact_mut(2 * stride).enumerate() {
        r.render_pair(pair as u32, out).unwrap();
    }
    let mut stats = Stats::ZERO;
    r.finish(&mut stats);
    (frame, stats)
}

/// Mean R, G, B of an RGB24 frame over columns `x0..x1` and rows `y0..y1`.
fn mean_rgb(frame: &[u8], x0: u32, x1: u32, y0: u32, y1: u32) -> [f64; 3] {
    let mut s = [0f64; 3];
    let mut n = 0f64;
    for y in y0..y1 {
        for x in x0..x1 {
            let p = ((y * W + x) * 3) as usize;
            for c in 0..3 {
                s[c] += f64::from(frame[p + c]);
            }
            n += 1.0;
        }
    }
    s.map(|v| v / n)
}

/// Rows below the stamp band.
const Y0: u32 = STAMP_ROWS;

#[test]
fn bars_at_their_places() {
    // A white surface at 8 ms reaches 64 + 0.8 * 959 raw, 0.8 * 255 = 204 once the black level is subtracted.
    let (f, _) = render(
        &cfg(PATTERN_BARS, ILLUM_NEUTRAL, 8000, 16, 1),
        &isp([256; 3]),
        FMT_RGB24,
    );
    let want = [
        [1, 1, 1],
        [1, 1, 0],
        [0, 1, 1],
        [0, 1, 0],
        [1, 0, 1],
        [1, 0, 0],
        [0, 0, 1],
        [0, 0, 0],
    ];
    for (bar, w) in want.iter().enumerate() {
        let x0 = bar as u32 * W / 8;
        let m = mean_rgb(&f, x0 + 1, x0 + W / 8 - 1, Y0, H);
        for c in 0..3 {
            let expect = 204.0 * f64::from(w[c]);
            assert!(
                (m[c] - expect).abs() < 3.0,
                "bar {bar} channel {c}: {m:?}, want {expect}"
            );
        }
    }
}

#[test]
fn gradient_rises_left_to_right() {
    let (f, _) = render(
        &cfg(PATTERN_GRADIENT, ILLUM_NEUTRAL, 10_000, 16, 1),
        &isp([256; 3]),
        FMT_RGB24,
    );
    let cols: Vec<f64> = (0..W / 8)
        .map(|i| mean_rgb(&f, i * 8, i * 8 + 8, Y0, H)[1])
        .collect();
    assert!(cols.windows(2).all(|w| w[1] > w[0] + 10.0), "{cols:?}");
    assert!(cols[0] < 20.0 && *cols.last().unwrap() > 220.0, "{cols:?}");
}

#[test]
fn box_moves_with_the_frame_number() {
    let (x1, y, side) = box_rect(W, H, 1);
    let (x5, _, _) = box_rect(W, H, 5);
    assert_eq!((x1, x5, side), (8, 40, 12));
    for (frame, x) in [(1, x1), (5, x5)] {
        let (f, _) = render(
            &cfg(PATTERN_BOX, ILLUM_NEUTRAL, 8000, 16, frame),
            &isp([256; 3]),
            FMT_RGB24,
        );
        let inside = mean_rgb(&f, x + 2, x + side - 2, y + 2, y + side - 2);
        let left = mean_rgb(&f, 0, x.max(2) - 1, y + 2, y + side - 2);
        assert!(
            (inside[1] - 204.0).abs() < 3.0,
            "frame {frame}: box {inside:?}"
        );
        // The background is 50 % grey: 128 / 255 of white.
        assert!(
            (left[1] - 204.0 * 128.0 / 255.0).abs() < 3.0,
            "frame {frame}: background {left:?}"
        );
    }
}

/// Mean output green of a grey card at `exposure` and `gain`.
fn grey_mean(exposure: u32, gain: u32) -> f64 {
    let (f, _) = render(
        &cfg(PATTERN_GREY, ILLUM_NEUTRAL, exposure, gain, 3),
        &isp([256; 3]),
        FMT_RGB24,
    );
    mean_rgb(&f, 0, W, Y0, H)[1]
}

#[test]
fn brightness_follows_exposure_until_saturation() {
    let exposures = [500, 1000, 2000, 4000, 8000, 16_000, 32_000, 64_000];
    let means: Vec<f64> = exposures.iter().map(|e| grey_mean(*e, 16)).collect();
    // Linear below saturation: twice the exposure, twice the level (within the noise).
    for i in 0..4 {
        let ratio = means[i + 1] / means[i];
        assert!((1.85..=2.15).contains(&ratio), "{means:?}");
    }
    // The grey card (half of white) is at 0.8 of full scale at 16 ms and saturates below 32 ms: full scale from
    // there on.
    assert!((means[5] - 204.0).abs() < 2.0, "{means:?}");
    assert!(means[6] == 255.0 && means[7] == 255.0, "{means:?}");
    // Gain does what exposure does.
    assert!((grey_mean(2000, 32) - grey_mean(4000, 16)).abs() < 2.0);
}

#[test]
fn noise_exists_and_grows_with_the_signal() {
    let spread = |exposure| {
        let (f, _) = render(
            &cfg(PATTERN_GREY, ILLUM_NEUTRAL, exposure, 16, 9),
            &isp([256; 3]),
            FMT_RGB24,
        );
        let g: Vec<f64> = f[(Y0 * W * 3) as usize..]
            .chunks(3)
            .map(|p| f64::from(p[1]))
            .collect();
        let m = g.iter().sum::<f64>() / g.len() as f64;
        (g.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / g.len() as f64).sqrt()
    };
    let (dark, bright) = (spread(2000), spread(12_000));
    assert!(dark > 0.3 && bright > dark * 1.5, "{dark} {bright}");
}

#[test]
fn frames_are_deterministic_and_differ_by_noise() {
    let c = cfg(PATTERN_BARS, ILLUM_WARM, 5000, 20, 7);
    let (a, sa) = render(&c, &isp([256; 3]), FMT_RGB24);
    let (b, sb) = render(&c, &isp([256; 3]), FMT_RGB24);
    assert_eq!((a.clone(), sa), (b, sb));
    let (d, _) = render(&SensorConfig { frame: 8, ..c }, &isp([256; 3]), FMT_RGB24);
    assert_ne!(
        a[Y0 as usize * 3 * W as usize..],
        d[Y0 as usize * 3 * W as usize..]
    );
}

#[test]
fn black_level_and_white_balance() {
    // Without the black level subtracted, black is lifted by the pedestal: 64 / 1023 of 255.
    let (f, _) = render(
        &cfg(PATTERN_BARS, ILLUM_NEUTRAL, 8000, 16, 1),
        &IspConfig::RESET,
        FMT_RGB24,
    );
    let black = mean_rgb(&f, W - 7, W - 1, Y0, H);
    assert!(black.iter().all(|v| (v - 16.0).abs() < 1.5), "{black:?}");
    // A warm light casts the grey card: R > G > B in the raw, so in the output with unit gains.
    let warm = cfg(PATTERN_GREY, ILLUM_WARM, 8000, 16, 1);
    let (f, stats) = render(&warm, &isp([256; 3]), FMT_RGB24);
    let m = mean_rgb(&f, 0, W, Y0, H);
    assert!(m[0] > m[1] + 20.0 && m[1] > m[2] + 20.0, "{m:?}");
    // Gains from the statistics (grey world) make it neutral.
    let sum = |c: usize| {
        stats
            .cells
            .iter()
            .map(|x| f64::from([x.r, x.g, x.b][c]))
            .sum::<f64>()
    };
    let gains = [
        (256.0 * sum(1) / sum(0)).round() as u32,
        256,
        (256.0 * sum(1) / sum(2)).round() as u32,
    ];
    let (f, _) = render(&warm, &isp(gains), FMT_RGB24);
    let m = mean_rgb(&f, 0, W, Y0, H);
    assert!(
        (m[0] - m[1]).abs() < 1.5 && (m[2] - m[1]).abs() < 1.5,
        "{m:?} with {gains:?}"
    );
}

#[test]
fn statistics_measure_the_image() {
    // Grey card at 5 ms, neutral: 128 / 255 * 0.5 * 959 = 240.7 above the pedestal in every channel.
    let c = cfg(PATTERN_GREY, ILLUM_NEUTRAL, 5000, 16, 4);
    let (f, s) = render(&c, &isp([256; 3]), FMT_RGB24);
    assert_eq!(s.version, STATS_V1);
    assert_eq!((s.frame, s.width, s.height), (4, W, H));
    assert_eq!((s.exposure, s.gain, s.black_level), (5000, 16, PEDESTAL));
    assert_eq!(s.wb_gain, [256; 3]);
    // A cell of 4 blocks is noisy; the whole frame is not.
    let mut all = [0f64; 3];
    for cell in &s.cells {
        for (c, v) in [cell.r, cell.g, cell.b].into_iter().enumerate() {
            let mean = f64::from(v) / 16.0;
            assert!((mean - 240.7).abs() < 8.0, "cell mean {mean}");
            all[c] += mean / s.cells.len() as f64;
        }
        assert_eq!(cell.saturated, 0);
    }
    assert!(all.iter().all(|m| (m - 240.7).abs() < 1.5), "{all:?}");
    // The histogram counts every 2x2 block of the frame (the stamp is not measured), around the image's luma.
    let blocks: u32 = s.hist.iter().sum();
    assert_eq!(blocks, W * H / 4);
    let peak = s
        .hist
        .iter()
        .enumerate()
        .max_by_key(|(_, n)| **n)
        .unwrap()
        .0;
    let g = mean_rgb(&f, 0, W, Y0, H)[1];
    assert!(
        (peak as f64 - g / 4.0).abs() <= 1.0,
        "peak bin {peak}, luma {g}"
    );
    // The bars: the left column of cells sees white, the right one black; a brighter frame saturates.
    let (_, s) = render(
        &cfg(PATTERN_BARS, ILLUM_NEUTRAL, 20_000, 16, 4),
        &isp([256; 3]),
        FMT_RGB24,
    );
    let (left, right) = (s.cells[GRID_W], s.cells[2 * GRID_W - 1]);
    assert!(left.saturated > 0 && right.saturated == 0);
    assert!(left.g > 950 * 16 && right.g < 16, "{left:?} {right:?}");
    assert_ne!(s.raw_sum, 0);
}

#[test]
fn stamp_reads_back_in_every_format() {
    for format in [FMT_RGB24, FMT_YUYV] {
        for frame in [0u32, 1, 0x8000_0001, 0xdead_beef, u32::MAX] {
            // Whatever the exposure: the stamp is written after the ISP.
            for exposure in [0, 60_000] {
                let (f, _) = render(
                    &cfg(PATTERN_BARS, ILLUM_WARM, exposure, 16, frame),
                    &IspConfig::RESET,
                    format,
                );
                assert_eq!(read_stamp(format, W, &f), Some(frame), "format {format}");
            }
        }
    }
    // A frame without a stamp is not read as one.
    assert_eq!(
        read_stamp(FMT_RGB24, W, &vec![0u8; (W * H * 3) as usize]),
        None
    );
    assert_eq!(read_stamp(FMT_RGB24, W, &[0u8; 10]), None);
}

#[test]
fn yuyv_is_the_rgb_image() {
    let c = cfg(PATTERN_BARS, ILLUM_WARM, 7000, 16, 2);
    let (rgb, s1) = render(&c, &isp([300, 256, 500]), FMT_RGB24);
    let (yuyv, s2) = render(&c, &isp([300, 256, 500]), FMT_YUYV);
    assert_eq!(s1, s2);
    assert_eq!(yuyv.len(), (W * H * 2) as usize);
    for (i, px) in yuyv.chunks_exact(4).enumerate() {
        for (k, y) in [px[0], px[2]].into_iter().enumerate() {
            let back = yuv_to_rgb([y, px[1], px[3]]);
            let p = (i * 2 + k) * 3;
            for c in 0..3 {
                let d = (i32::from(back[c]) - i32::from(rgb[p + c])).abs();
                assert!(
                    d <= 3,
                    "pixel {}: {back:?} vs {:?}",
                    i * 2 + k,
                    &rgb[p..p + 3]
                );
            }
        }
    }
}

#[test]
fn parameter_buffers() {
    let p = isp([300, 256, 500]).to_params();
    // SAFETY: `IspParams` is plain integers without padding (the invariant of vcam_uapi.rs).
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&p as *const IspParams).cast::<u8>(),
            std::mem::size_of::<IspParams>(),
        )
    };
    assert_eq!(IspConfig::parse(bytes), Ok(Some(isp([300, 256, 500]))));
    // Other bytes are not parameters.
    assert_eq!(IspConfig::parse(&[1, 2, 3, 250]), Ok(None));
    assert_eq!(IspConfig::parse(&bytes[..bytes.len() - 1]), Ok(None));
    // Parameters that are not valid.
    for bad in [
        IspParams {
            black_level: RAW_MAX + 1,
            ..p
        },
        IspParams {
            wb_gain: [GAIN_MAX + 1, 256, 256],
            ..p
        },
        IspParams { flags: 1, ..p },
        IspParams {
            reserved: [0, 1],
            ..p
        },
    ] {
        assert_eq!(IspConfig::from_params(&bad), Err(InvalidParams));
    }
}

#[test]
fn sizes_and_formats() {
    assert!(size_ok(320, 240) && size_ok(64, 48) && size_ok(1920, 1080));
    assert!(!size_ok(32, 48) && !size_ok(330, 240) && !size_ok(320, 244) && !size_ok(1952, 1080));
    assert_eq!(frame_bytes(FMT_RGB24, 320, 240), Some(320 * 240 * 3));
    assert_eq!(frame_bytes(FMT_YUYV, 320, 240), Some(320 * 240 * 2));
    assert_eq!(frame_bytes(7, 320, 240), None);
    let mut r = Box::new(Renderer::IDLE);
    assert!(!r.start(&cfg(PATTERN_BARS, 0, 1, 16, 0), &IspConfig::RESET, 7));
    assert!(!r.start(
        &SensorConfig {
            width: 100,
            ..cfg(PATTERN_BARS, 0, 1, 16, 0)
        },
        &IspConfig::RESET,
        FMT_RGB24
    ));
    assert!(r.start(
        &cfg(PATTERN_BARS, 0, 1, 16, 0),
        &IspConfig::RESET,
        FMT_RGB24
    ));
    let mut short = vec![0u8; 2 * r.stride() - 1];
    assert_eq!(r.render_pair(0, &mut short), Err(TooShort));
    let mut ok = vec![0u8; 2 * r.stride()];
    assert_eq!(r.render_pair(H / 2, &mut ok), Err(TooShort));
}
