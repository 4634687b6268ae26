// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of vcam's image pipeline (`shared/frame.rs`) on small frames, in the kernel that renders them: the
//! test patterns where they belong, the sensor's response (exposure, gain, saturation, noise), the ISP (black
//! level, white balance, output formats), the statistics against the image, the frame stamp, parameter buffers.
//! (The host runs the same file's cargo tests, `tools/kcam/src/frame_tests.rs`; here it is the kernel's build.)

use kernel::prelude::*;

#[kunit_tests(kcam_frame)]
mod tests {
    use crate::shared::{
        frame::{self, IspConfig, Renderer, SensorConfig},
        vcam_uapi::{self as v, IspParams, Stats},
    };
    use kernel::prelude::*;

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

    fn isp(gains: [u32; 3]) -> IspConfig {
        IspConfig {
            black_level: v::PEDESTAL,
            wb_gain: gains,
        }
    }

    /// A whole frame rendered, and its statistics.
    fn render(c: &SensorConfig, i: &IspConfig, format: u32) -> Result<(KVec<u8>, KBox<Stats>)> {
        let mut r: KBox<Renderer> = KBox::init(pin_init::init_zeroed(), GFP_KERNEL)?;
        if !r.start(c, i, format) {
            return Err(EINVAL);
        }
        let stride = r.stride();
        let mut f = KVec::from_elem(0u8, stride * c.height as usize, GFP_KERNEL)?;
        for pair in 0..r.pairs() {
            let at = pair as usize * 2 * stride;
            r.render_pair(pair, &mut f[at..at + 2 * stride])
                .map_err(|_| EINVAL)?;
        }
        let mut s: KBox<Stats> = KBox::init(pin_init::init_zeroed(), GFP_KERNEL)?;
        r.finish(&mut s);
        Ok((f, s))
    }

    /// Mean of channel `c` of an RGB24 frame over columns `x0..x1`, below the stamp.
    fn mean(f: &[u8], x0: u32, x1: u32, c: usize) -> u32 {
        let mut sum = 0u32;
        for y in v::STAMP_ROWS..H {
            for x in x0..x1 {
                sum += u32::from(f[((y * W + x) * 3) as usize + c]);
            }
        }
        // `checked_div`: objtool does not know the panic of a division by a variable.
        sum.checked_div(x1.saturating_sub(x0) * (H - v::STAMP_ROWS))
            .unwrap_or(0)
    }

    #[test]
    fn bars_at_their_places() -> Result {
        // White at 8 ms: 0.8 of full scale once the black level is subtracted, 204 of 255.
        let (f, _) = render(
            &cfg(v::PATTERN_BARS, v::ILLUM_NEUTRAL, 8000, 16, 1),
            &isp([256; 3]),
            v::FMT_RGB24,
        )?;
        let want: [[u32; 3]; 8] = [
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
            for (c, &wc) in w.iter().enumerate() {
                let m = mean(&f, x0 + 1, x0 + W / 8 - 1, c);
                if m.abs_diff(204 * wc) > 3 {
                    pr_err!("kcam_frame: bar {} channel {}: {}\n", bar, c, m);
                }
                assert!(m.abs_diff(204 * wc) <= 3);
            }
        }
        Ok(())
    }

    #[test]
    fn brightness_follows_exposure_until_saturation() -> Result {
        let mut last = 0;
        for (exposure, want) in [
            (2000, 25),
            (4000, 51),
            (8000, 102),
            (16_000, 204),
            (32_000, 255),
            (64_000, 255),
        ] {
            let (f, _) = render(
                &cfg(v::PATTERN_GREY, v::ILLUM_NEUTRAL, exposure, 16, 2),
                &isp([256; 3]),
                v::FMT_RGB24,
            )?;
            let m = mean(&f, 0, W, 1);
            if m.abs_diff(want) > 2 {
                pr_err!("kcam_frame: {} us: {}\n", exposure, m);
            }
            assert!(m.abs_diff(want) <= 2);
            assert!(m >= last);
            last = m;
        }
        // The gain does what the exposure does.
        let (a, _) = render(
            &cfg(v::PATTERN_GREY, v::ILLUM_NEUTRAL, 2000, 32, 2),
            &isp([256; 3]),
            v::FMT_RGB24,
        )?;
        assert!(mean(&a, 0, W, 1).abs_diff(51) <= 2);
        Ok(())
    }

    #[test]
    fn noise_varies_per_frame() -> Result {
        let c = cfg(v::PATTERN_GREY, v::ILLUM_NEUTRAL, 8000, 16, 5);
        let (a, _) = render(&c, &isp([256; 3]), v::FMT_RGB24)?;
        let (b, _) = render(&c, &isp([256; 3]), v::FMT_RGB24)?;
        let (d, _) = render(
            &SensorConfig { frame: 6, ..c },
            &isp([256; 3]),
            v::FMT_RGB24,
        )?;
        let body = (v::STAMP_ROWS * W * 3) as usize;
        if a[body..] != b[body..] {
            pr_err!("kcam_frame: the same frame twice differs\n");
        }
        assert!(a[body..] == b[body..]);
        if a[body..] == d[body..] {
            pr_err!("kcam_frame: two frames without noise\n");
        }
        assert!(a[body..] != d[body..]);
        Ok(())
    }

    #[test]
    fn black_level_and_white_balance() -> Result {
        // Without the black level subtracted, black is the pedestal: 64 / 1023 of 255.
        let (f, _) = render(
            &cfg(v::PATTERN_BARS, v::ILLUM_NEUTRAL, 8000, 16, 1),
            &IspConfig::RESET,
            v::FMT_RGB24,
        )?;
        assert!(mean(&f, W - 7, W - 1, 1).abs_diff(16) <= 1);
        // A warm light casts the grey card; grey-world gains from its statistics neutralise it.
        let warm = cfg(v::PATTERN_GREY, v::ILLUM_WARM, 8000, 16, 1);
        let (f, s) = render(&warm, &isp([256; 3]), v::FMT_RGB24)?;
        let (r, g, b) = (mean(&f, 0, W, 0), mean(&f, 0, W, 1), mean(&f, 0, W, 2));
        if !(r > g + 20 && g > b + 20) {
            pr_err!("kcam_frame: {} {} {}\n", r, g, b);
        }
        assert!(r > g + 20 && g > b + 20);
        let sum = |c: usize| -> u64 { s.cells.iter().map(|x| u64::from([x.r, x.g, x.b][c])).sum() };
        // CAST: gains of a few hundred.
        let gain = |c: usize| (256 * sum(1) / sum(c).max(1)) as u32;
        let (f, _) = render(&warm, &isp([gain(0), 256, gain(2)]), v::FMT_RGB24)?;
        let (r, g, b) = (mean(&f, 0, W, 0), mean(&f, 0, W, 1), mean(&f, 0, W, 2));
        if !(r.abs_diff(g) <= 1 && b.abs_diff(g) <= 1) {
            pr_err!("kcam_frame: {} {} {}\n", r, g, b);
        }
        assert!(r.abs_diff(g) <= 1 && b.abs_diff(g) <= 1);
        Ok(())
    }

    #[test]
    fn statistics_measure_the_image() -> Result {
        // Grey card at 5 ms: 128 / 255 * 0.5 * 959 = 240.7 above the pedestal, 3851 in Q10.4.
        let (_, s) = render(
            &cfg(v::PATTERN_GREY, v::ILLUM_NEUTRAL, 5000, 16, 4),
            &isp([256; 3]),
            v::FMT_RGB24,
        )?;
        assert_eq!(s.version, v::STATS_V1);
        assert_eq!(
            (s.frame, s.width, s.height, s.exposure, s.gain),
            (4, W, H, 5000, 16)
        );
        let n = s.cells.len() as u64;
        for c in 0..3 {
            let total: u64 = s.cells.iter().map(|x| u64::from([x.r, x.g, x.b][c])).sum();
            if (total / n).abs_diff(3851) > 24 {
                pr_err!("kcam_frame: channel {}: {}\n", c, total / n);
            }
            assert!((total / n).abs_diff(3851) <= 24);
        }
        assert!(s.cells.iter().all(|c| c.saturated == 0));
        assert_eq!(s.hist.iter().sum::<u32>(), W * H / 4);
        // Bright bars saturate the white column of cells, never the black one.
        let (_, s) = render(
            &cfg(v::PATTERN_BARS, v::ILLUM_NEUTRAL, 20_000, 16, 4),
            &isp([256; 3]),
            v::FMT_RGB24,
        )?;
        assert!(s.cells[v::GRID_W].saturated > 0 && s.cells[2 * v::GRID_W - 1].saturated == 0);
        Ok(())
    }

    #[test]
    fn stamp_reads_back() -> Result {
        for format in [v::FMT_RGB24, v::FMT_YUYV] {
            for frame in [0u32, 1, 0xdead_beef, u32::MAX] {
                let (f, _) = render(
                    &cfg(v::PATTERN_BOX, v::ILLUM_WARM, 0, 16, frame),
                    &IspConfig::RESET,
                    format,
                )?;
                assert_eq!(frame::read_stamp(format, W, &f), Some(frame));
            }
        }
        Ok(())
    }

    #[test]
    fn yuyv_is_the_rgb_image() -> Result {
        let c = cfg(v::PATTERN_BARS, v::ILLUM_WARM, 7000, 16, 2);
        let (rgb, _) = render(&c, &isp([300, 256, 500]), v::FMT_RGB24)?;
        let (yuyv, _) = render(&c, &isp([300, 256, 500]), v::FMT_YUYV)?;
        for i in 0..(W * H / 2) as usize {
            let px = &yuyv[4 * i..4 * i + 4];
            let back = frame::yuv_to_rgb([px[0], px[1], px[3]]);
            for c in 0..3 {
                assert!(back[c].abs_diff(rgb[6 * i + c]) <= 3);
            }
        }
        Ok(())
    }

    #[test]
    fn parameter_buffers() -> Result {
        let p = isp([300, 256, 500]).to_params();
        // SAFETY: `IspParams` is integers without padding (the invariant of vcam_uapi.rs).
        let bytes = unsafe {
            core::slice::from_raw_parts(
                core::ptr::from_ref(&p).cast::<u8>(),
                size_of::<IspParams>(),
            )
        };
        assert_eq!(IspConfig::parse(bytes), Ok(Some(isp([300, 256, 500]))));
        assert_eq!(IspConfig::parse(&[1, 2, 3, 250]), Ok(None));
        let bad = IspParams {
            wb_gain: [v::GAIN_MAX + 1, 256, 256],
            ..p
        };
        assert!(IspConfig::from_params(&bad).is_err());
        Ok(())
    }
}
