// SPDX-License-Identifier: GPL-2.0

//! vcam's image pipeline (`include/uapi/linux/vcam.h`): the sensor (test patterns, illuminant, exposure and gain,
//! pedestal, noise, saturation), the ISP (black level, white balance, scaling, 2x2 demosaic, output formats), the
//! statistics measured on the frame, and the frame-number stamp.
//!
//! `no_std`, no allocation, no floating point, no `kernel::` imports: the kernel module includes it with `#[path]`
//! (its render work and KUnit tests) and so does the host crate `tools/kcam` (cargo tests, the 3A simulation, and
//! reading the stamp back from captured frames).
//!
//! A frame is rendered two lines (one line of 2x2 Bayer blocks) at a time: [`Renderer::start`] latches the frame's
//! settings and fills per-frame tables, each [`Renderer::render_pair`] renders two output lines into a caller's
//! buffer and accumulates the statistics, and [`Renderer::finish`] writes them out. The caller copies each pair
//! into the frame buffer, so it can stop between pairs. Everything is deterministic: the noise of a frame comes
//! from its frame number.

use super::vcam_uapi::{
    IspParams, Stats, StatsCell, FMT_RGB24, FMT_YUYV, GAIN_MAX, GAIN_ONE, GRID_H, GRID_W,
    HEIGHT_ALIGN, HEIGHT_MAX, HEIGHT_MIN, HIST_BINS, ILLUM_COOL, ILLUM_WARM, PARAMS_V1,
    PATTERN_BARS, PATTERN_BOX, PATTERN_GRADIENT, PEDESTAL, RAW_MAX, STAMP_BITS, STAMP_ROWS,
    STATS_V1, WIDTH_ALIGN, WIDTH_MAX, WIDTH_MIN,
};

/// Most 2x2 blocks in a line.
pub const MAX_BLOCKS: usize = WIDTH_MAX as usize / 2;
const CELLS: usize = GRID_W * GRID_H;
/// Exposure (us) at which a white scene reaches full scale at 1x under the neutral illuminant.
pub const FULL_SCALE_EXPOSURE: u32 = 10_000;
/// The sensor's `GAIN` of 1x.
pub const GAIN_UNITY: u32 = 16;
/// How far the moving box travels per frame, in pixels.
pub const BOX_STEP: u32 = 8;

/// Whether `width` x `height` is a frame size vcam supports.
pub fn size_ok(width: u32, height: u32) -> bool {
    (WIDTH_MIN..=WIDTH_MAX).contains(&width)
        && width % WIDTH_ALIGN == 0
        && (HEIGHT_MIN..=HEIGHT_MAX).contains(&height)
        && height % HEIGHT_ALIGN == 0
}

/// Bytes per line of `format` at `width`, if it is a format.
pub fn stride(format: u32, width: u32) -> Option<u32> {
    match format {
        FMT_RGB24 => width.checked_mul(3),
        FMT_YUYV => width.checked_mul(2),
        _ => None,
    }
}

/// Bytes of a frame of `format`, `width` x `height`.
pub fn frame_bytes(format: u32, width: u32, height: u32) -> Option<usize> {
    let s = usize::try_from(stride(format, width)?).ok()?;
    s.checked_mul(usize::try_from(height).ok()?)
}

/// The sensor settings of one frame (its registers, latched at frame start).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SensorConfig {
    pub width: u32,
    pub height: u32,
    /// `VCAM_PATTERN_*`.
    pub pattern: u32,
    /// `VCAM_ILLUM_*`.
    pub illuminant: u32,
    /// Microseconds.
    pub exposure: u32,
    /// [`GAIN_UNITY`] is 1x.
    pub gain: u32,
    /// The sensor's frame number.
    pub frame: u32,
}

/// The ISP's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IspConfig {
    pub black_level: u32,
    /// R, G, B, Q8.8.
    pub wb_gain: [u32; 3],
}

/// A parameter buffer with `VCAM_PARAMS_V1` that is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidParams;

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(off..off + 4) {
        w.copy_from_slice(s);
    }
    u32::from_ne_bytes(w)
}

impl IspConfig {
    /// After reset: no black level subtraction, unit gains.
    pub const RESET: Self = Self {
        black_level: 0,
        wb_gain: [GAIN_ONE; 3],
    };

    /// The configuration a valid `struct vcam_isp_params` asks for.
    pub fn from_params(p: &IspParams) -> Result<Self, InvalidParams> {
        if p.version != PARAMS_V1
            || p.flags != 0
            || p.reserved != [0; 2]
            || p.black_level > RAW_MAX
            || p.wb_gain.iter().any(|g| *g > GAIN_MAX)
        {
            return Err(InvalidParams);
        }
        Ok(Self {
            black_level: p.black_level,
            wb_gain: p.wb_gain,
        })
    }

    /// What a parameter transfer of `bytes` means: ISP parameters (`Ok(Some)`), bytes that are not parameters
    /// (`Ok(None)`: they start otherwise, or are not exactly one struct long), or invalid parameters.
    pub fn parse(bytes: &[u8]) -> Result<Option<Self>, InvalidParams> {
        if bytes.len() != core::mem::size_of::<IspParams>() || u32_at(bytes, 0) != PARAMS_V1 {
            return Ok(None);
        }
        let u64_at = |off| u64::from(u32_at(bytes, off)) | u64::from(u32_at(bytes, off + 4)) << 32;
        let p = IspParams {
            version: u32_at(bytes, 0),
            flags: u32_at(bytes, 4),
            black_level: u32_at(bytes, 8),
            wb_gain: [u32_at(bytes, 12), u32_at(bytes, 16), u32_at(bytes, 20)],
            reserved: [u64_at(24), u64_at(32)],
        };
        Self::from_params(&p).map(Some)
    }

    /// As a parameter buffer.
    pub fn to_params(self) -> IspParams {
        IspParams {
            version: PARAMS_V1,
            flags: 0,
            black_level: self.black_level,
            wb_gain: self.wb_gain,
            reserved: [0; 2],
        }
    }
}

/// The sensor's raw R:G:B of a grey surface under `illuminant`, Q8 (256 = 1).
pub fn illuminant_rgb(illuminant: u32) -> [u32; 3] {
    match illuminant {
        ILLUM_WARM => [256, 192, 115],
        ILLUM_COOL => [154, 218, 256],
        _ => [256, 256, 256],
    }
}

const BARS: [[u8; 3]; 8] = [
    [255, 255, 255],
    [255, 255, 0],
    [0, 255, 255],
    [0, 255, 0],
    [255, 0, 255],
    [255, 0, 0],
    [0, 0, 255],
    [0, 0, 0],
];
/// The grey of `VCAM_PATTERN_GREY` and of the moving box's background.
pub const GREY: u8 = 128;

/// The scene at pixel column `x` of `pattern` (without the moving box), as scene levels 0..=255.
pub fn scene_at(pattern: u32, width: u32, x: u32) -> [u8; 3] {
    match pattern {
        PATTERN_BARS => {
            let bar = (u64::from(x) * 8)
                .checked_div(u64::from(width))
                .unwrap_or(0);
            BARS[(bar as usize).min(7)]
        }
        PATTERN_GRADIENT => {
            let l = (u64::from(x) * 255)
                .checked_div(u64::from(width.saturating_sub(2)))
                .unwrap_or(0);
            // CAST: at most 255 for x <= width - 2 (the last block's first pixel).
            let l = l.min(255) as u8;
            [l, l, l]
        }
        _ => [GREY; 3],
    }
}

/// The moving box of frame `frame`: left, top and side, in pixels (all even).
pub fn box_rect(width: u32, height: u32, frame: u32) -> (u32, u32, u32) {
    let side = (height / 4) & !1;
    let travel = width.saturating_sub(side).max(1);
    let x = (u64::from(frame) * u64::from(BOX_STEP))
        .checked_rem(u64::from(travel))
        .unwrap_or(0) as u32
        & !1;
    let y = (height.saturating_sub(side) / 2) & !1;
    (x, y, side)
}

/// Integer square root.
fn isqrt(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let mut x = n;
    let mut y = x.div_ceil(2);
    while y < x {
        x = y;
        y = (x + n / x) / 2;
    }
    x
}

fn xorshift(mut x: u32) -> u32 {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x
}

/// The noise seed of block line `pair` of frame `frame` (never 0, which xorshift cannot leave).
fn seed(frame: u32, pair: u32) -> u32 {
    let h = frame.wrapping_mul(0x9e37_79b9) ^ pair.wrapping_mul(0x85eb_ca6b) ^ 0x2545_f491;
    xorshift(h) | 1
}

/// BT.601 limited range Y, U, V of an 8-bit R, G, B.
pub fn rgb_to_yuv(rgb: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (i32::from(rgb[0]), i32::from(rgb[1]), i32::from(rgb[2]));
    let y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
    let u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
    let v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
    // CAST: each is within 16..=240 by the coefficients.
    [
        y.clamp(0, 255) as u8,
        u.clamp(0, 255) as u8,
        v.clamp(0, 255) as u8,
    ]
}

/// 8-bit R, G, B of a BT.601 limited range Y, U, V.
pub fn yuv_to_rgb(yuv: [u8; 3]) -> [u8; 3] {
    let c = i32::from(yuv[0]) - 16;
    let d = i32::from(yuv[1]) - 128;
    let e = i32::from(yuv[2]) - 128;
    let r = (298 * c + 409 * e + 128) >> 8;
    let g = (298 * c - 100 * d - 208 * e + 128) >> 8;
    let b = (298 * c + 516 * d + 128) >> 8;
    // CAST: clamped to 0..=255.
    [
        r.clamp(0, 255) as u8,
        g.clamp(0, 255) as u8,
        b.clamp(0, 255) as u8,
    ]
}

/// The luma of the statistics histogram: `(77 R + 150 G + 29 B) >> 8`.
pub fn luma(rgb: [u8; 3]) -> u8 {
    // CAST: at most 255 * 256 >> 8.
    ((77 * u32::from(rgb[0]) + 150 * u32::from(rgb[1]) + 29 * u32::from(rgb[2])) >> 8) as u8
}

/// Renders frames (see the module documentation). Plain integer arrays only, so all-zero memory is a valid
/// (idle) value: the kernel allocates it zeroed, it is too big for a kernel stack.
pub struct Renderer {
    cfg: SensorConfig,
    isp: IspConfig,
    format: u32,
    /// Scene of each block of a line, without the moving box.
    scene: [[u8; 3]; MAX_BLOCKS],
    /// Per channel and scene level: the mean raw value (not yet clipped, at most 2047) and the noise amplitude.
    mean: [[u16; 256]; 3],
    amp: [[u16; 256]; 3],
    /// Per channel and raw value: the ISP's 8-bit output.
    out: [[u8; 1024]; 3],
    /// Grid column of each block column.
    cell_x: [u8; MAX_BLOCKS],
    /// The current pair of lines, as one 8-bit R, G, B per block.
    line: [[u8; 3]; MAX_BLOCKS],
    sums: [[u32; 3]; CELLS],
    counts: [u32; CELLS],
    saturated: [u32; CELLS],
    hist: [u32; HIST_BINS],
    raw_sum: u32,
}

/// `render_pair`'s output buffer is shorter than two lines of the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooShort;

impl Renderer {
    /// An idle renderer (all zero).
    pub const IDLE: Self = Self {
        cfg: SensorConfig {
            width: 0,
            height: 0,
            pattern: 0,
            illuminant: 0,
            exposure: 0,
            gain: 0,
            frame: 0,
        },
        isp: IspConfig {
            black_level: 0,
            wb_gain: [0; 3],
        },
        format: 0,
        scene: [[0; 3]; MAX_BLOCKS],
        mean: [[0; 256]; 3],
        amp: [[0; 256]; 3],
        out: [[0; 1024]; 3],
        cell_x: [0; MAX_BLOCKS],
        line: [[0; 3]; MAX_BLOCKS],
        sums: [[0; 3]; CELLS],
        counts: [0; CELLS],
        saturated: [0; CELLS],
        hist: [0; HIST_BINS],
        raw_sum: 0,
    };

    /// Starts a frame of `cfg` through the ISP `isp` in `format`. `false` (nothing to render) if the size or
    /// format is not one vcam supports.
    pub fn start(&mut self, cfg: &SensorConfig, isp: &IspConfig, format: u32) -> bool {
        if !size_ok(cfg.width, cfg.height) || stride(format, cfg.width).is_none() {
            self.cfg.height = 0;
            return false;
        }
        self.cfg = *cfg;
        self.isp = *isp;
        self.format = format;
        // Sensor: signal (LSB above the pedestal) = level / 255 * illuminant * exposure / 10 ms * gain * 959.
        const DEN: u64 = 255 * 256 * FULL_SCALE_EXPOSURE as u64 * GAIN_UNITY as u64;
        let span = u64::from(RAW_MAX - PEDESTAL);
        let illum = illuminant_rgb(cfg.illuminant);
        let exposure_gain = u64::from(cfg.exposure) * u64::from(cfg.gain);
        let channels = self.mean.iter_mut().zip(self.amp.iter_mut()).zip(illum);
        for ((mean, amp), il) in channels {
            for (level, (m, a)) in mean.iter_mut().zip(amp.iter_mut()).enumerate() {
                let signal = (level as u64 * u64::from(il) * exposure_gain * span) / DEN;
                // Shot noise grows with the square root of the collected charge (signal / gain), amplified by the
                // gain; plus read noise.
                let shot = isqrt(
                    signal.saturating_mul(u64::from(cfg.gain.max(1))) / u64::from(GAIN_UNITY),
                );
                // CAST: both capped below u16::MAX.
                *m = (u64::from(PEDESTAL) + signal).min(2047) as u16;
                *a = (1 + shot / 3).min(255) as u16;
            }
        }
        // ISP: subtract the black level, apply the gain, scale the remaining range to 8 bits.
        let bl = isp.black_level.min(RAW_MAX);
        let range = u64::from(RAW_MAX - bl).max(1) * u64::from(GAIN_ONE);
        for (out, gain) in self.out.iter_mut().zip(isp.wb_gain) {
            for (raw, o) in (0u32..).zip(out.iter_mut()) {
                let v = u64::from(raw.saturating_sub(bl)) * u64::from(gain) * 255 / range;
                // CAST: clamped to 255.
                *o = v.min(255) as u8;
            }
        }
        let blocks = (cfg.width / 2) as usize;
        for bx in 0..blocks.min(MAX_BLOCKS) {
            // CAST: bx < MAX_BLOCKS.
            let x = 2 * bx as u32;
            self.scene[bx] = scene_at(cfg.pattern, cfg.width, x);
            let cx = (u64::from(x) * GRID_W as u64)
                .checked_div(u64::from(cfg.width))
                .unwrap_or(0);
            // CAST: below GRID_W.
            self.cell_x[bx] = cx.min(GRID_W as u64 - 1) as u8;
        }
        self.sums = [[0; 3]; CELLS];
        self.counts = [0; CELLS];
        self.saturated = [0; CELLS];
        self.hist = [0; HIST_BINS];
        self.raw_sum = 0;
        true
    }

    /// Bytes of one line of the frame started.
    pub fn stride(&self) -> usize {
        stride(self.format, self.cfg.width).unwrap_or(0) as usize
    }

    /// Pairs of lines in the frame started (0 if none is).
    pub fn pairs(&self) -> u32 {
        self.cfg.height / 2
    }

    /// Renders lines `2 * pair` and `2 * pair + 1` into the first two lines' worth of bytes of `out`,
    /// accumulating their statistics.
    pub fn render_pair(&mut self, pair: u32, out: &mut [u8]) -> Result<(), TooShort> {
        let stride = self.stride();
        if pair >= self.pairs() || out.len() < 2 * stride {
            return Err(TooShort);
        }
        let blocks = (self.cfg.width / 2) as usize;
        let cy = (pair as usize * 2 * GRID_H)
            .checked_div(self.cfg.height as usize)
            .unwrap_or(0)
            .min(GRID_H - 1);
        let (bx0, bx1) = self.box_blocks(pair);
        let bl = self.isp.black_level.min(RAW_MAX);
        let mut rng = seed(self.cfg.frame, pair);
        let mut raw_sum = self.raw_sum;
        for bx in 0..blocks.min(MAX_BLOCKS) {
            let s = if (bx0..bx1).contains(&bx) {
                [255; 3]
            } else {
                self.scene[bx]
            };
            rng = xorshift(rng);
            let n = rng.to_le_bytes();
            let r = self.sample(0, s[0], n[0]);
            let gr = self.sample(1, s[1], n[1]);
            let gb = self.sample(1, s[1], n[2]);
            let b = self.sample(2, s[2], n[3]);
            let g = (gr + gb) >> 1;
            raw_sum = raw_sum.wrapping_add(r + gr + gb + b);
            let cell = cy * GRID_W + usize::from(self.cell_x[bx]) % GRID_W;
            if let (Some(sum), Some(count), Some(sat)) = (
                self.sums.get_mut(cell),
                self.counts.get_mut(cell),
                self.saturated.get_mut(cell),
            ) {
                sum[0] += r.saturating_sub(bl);
                sum[1] += g.saturating_sub(bl);
                sum[2] += b.saturating_sub(bl);
                *count += 1;
                if r.max(gr).max(gb).max(b) >= RAW_MAX {
                    *sat += 1;
                }
            }
            let rgb = [
                self.out[0][(r & 1023) as usize],
                self.out[1][(g & 1023) as usize],
                self.out[2][(b & 1023) as usize],
            ];
            self.hist[usize::from(luma(rgb) >> 2) % HIST_BINS] += 1;
            self.line[bx] = rgb;
        }
        self.raw_sum = raw_sum;
        if pair < STAMP_ROWS / 2 {
            self.stamp(pair);
        }
        let (row0, rest) = out.split_at_mut(stride);
        let Some(row1) = rest.get_mut(..stride) else {
            return Err(TooShort);
        };
        let line = &self.line[..blocks.min(MAX_BLOCKS)];
        // Indexed with `get_mut` rather than `chunks_exact_mut`, whose panic paths objtool does not know.
        match self.format {
            FMT_YUYV => {
                for (bx, rgb) in line.iter().enumerate() {
                    if let Some(px) = row0.get_mut(4 * bx..4 * bx + 4) {
                        let [y, u, v] = rgb_to_yuv(*rgb);
                        px.copy_from_slice(&[y, u, y, v]);
                    }
                }
            }
            _ => {
                for (bx, &[r, g, b]) in line.iter().enumerate() {
                    if let Some(px) = row0.get_mut(6 * bx..6 * bx + 6) {
                        px.copy_from_slice(&[r, g, b, r, g, b]);
                    }
                }
            }
        }
        row1.copy_from_slice(row0);
        Ok(())
    }

    /// One raw sample of channel `c` at scene `level`, with noise drawn from `n`, clipped to the raw range.
    fn sample(&self, c: usize, level: u8, n: u8) -> u32 {
        let mean = i32::from(self.mean[c][usize::from(level)]);
        let amp = i32::from(self.amp[c][usize::from(level)]);
        let noise = ((i32::from(n) * (2 * amp + 1)) >> 8) - amp;
        // CAST: clamped to 0..=RAW_MAX.
        (mean + noise).clamp(0, RAW_MAX as i32) as u32
    }

    /// The block columns the moving box covers in line pair `pair` (an empty range if none).
    fn box_blocks(&self, pair: u32) -> (usize, usize) {
        if self.cfg.pattern != PATTERN_BOX {
            return (0, 0);
        }
        let (x, y, side) = box_rect(self.cfg.width, self.cfg.height, self.cfg.frame);
        if !(y / 2..(y + side) / 2).contains(&pair) {
            return (0, 0);
        }
        ((x / 2) as usize, ((x + side) / 2) as usize)
    }

    /// Overwrites the current line with the frame-number stamp (line pair `pair` of the band).
    fn stamp(&mut self, pair: u32) {
        let inverse = pair >= STAMP_ROWS / 4;
        let blocks = (self.cfg.width / 2) as usize;
        for bx in 0..blocks.min(MAX_BLOCKS) {
            // CAST: bx < MAX_BLOCKS.
            let cell = (2 * bx as u64 * u64::from(STAMP_BITS))
                .checked_div(u64::from(self.cfg.width))
                .unwrap_or(0);
            let bit =
                (self.cfg.frame >> (STAMP_BITS - 1 - (cell as u32).min(STAMP_BITS - 1))) & 1 != 0;
            self.line[bx] = if bit != inverse { [255; 3] } else { [0; 3] };
        }
    }

    /// Writes the statistics of the frame rendered so far.
    pub fn finish(&self, stats: &mut Stats) {
        stats.version = STATS_V1;
        stats.frame = self.cfg.frame;
        stats.width = self.cfg.width;
        stats.height = self.cfg.height;
        stats.exposure = self.cfg.exposure;
        stats.gain = self.cfg.gain;
        stats.black_level = self.isp.black_level;
        stats.wb_gain = self.isp.wb_gain;
        stats.raw_sum = self.raw_sum;
        stats.reserved0 = 0;
        stats.hist = self.hist;
        let measured = self.sums.iter().zip(&self.counts).zip(&self.saturated);
        for (cell, ((sum, count), sat)) in stats.cells.iter_mut().zip(measured) {
            let n = u64::from(*count).max(1);
            let mean = |v: u32| {
                // CAST: a mean of 10-bit values times 16 fits 16 bits.
                ((u64::from(v) * 16 + n / 2) / n).min(u64::from(u16::MAX)) as u16
            };
            *cell = StatsCell {
                r: mean(sum[0]),
                g: mean(sum[1]),
                b: mean(sum[2]),
                // CAST: a cell has at most 120 x 90 / 4 blocks.
                saturated: (*sat).min(u32::from(u16::MAX)) as u16,
            };
        }
        stats.reserved = [0; 2];
    }

    /// The sum of the raw values so far (the ISP's `STATS_SUM`).
    pub fn raw_sum(&self) -> u32 {
        self.raw_sum
    }
}

/// The luma of pixel `x` of a line of `format`.
fn pixel_luma(format: u32, line: &[u8], x: usize) -> Option<u8> {
    match format {
        FMT_RGB24 => {
            let p = line.get(3 * x..3 * x + 3)?;
            Some(luma([p[0], p[1], p[2]]))
        }
        FMT_YUYV => line.get(2 * x).copied(),
        _ => None,
    }
}

/// Reads the frame-number stamp of a frame of `format` and `width` (`frame` holds its lines from the top); `None`
/// if the band does not hold one (a cell neither bright over dark nor dark over bright).
pub fn read_stamp(format: u32, width: u32, frame: &[u8]) -> Option<u32> {
    let stride = usize::try_from(stride(format, width)?).ok()?;
    let upper = frame.get(stride..2 * stride)?;
    let lower = frame.get(5 * stride..6 * stride)?;
    let mut n = 0u32;
    for bit in 0..STAMP_BITS {
        let x = ((u64::from(bit) * 2 + 1) * u64::from(width)) / (2 * u64::from(STAMP_BITS));
        let x = usize::try_from(x).ok()?;
        let (hi, lo) = (pixel_luma(format, upper, x)?, pixel_luma(format, lower, x)?);
        let one = match (hi > 128, lo > 128) {
            (true, false) => 1,
            (false, true) => 0,
            _ => return None,
        };
        n = n << 1 | one;
    }
    Some(n)
}
