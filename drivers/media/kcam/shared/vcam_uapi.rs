// SPDX-License-Identifier: GPL-2.0

//! vcam's formats, parameter and statistics buffers (`include/uapi/linux/vcam.h`) in Rust, layout for layout.
//!
//! `no_std` and free of `kernel::` imports, like `uapi.rs`: the kernel module includes it with `#[path]`, and the
//! host crate `tools/kcam` uses it and checks every size and offset against the C header.
//!
//! # Invariants
//!
//! Every struct here is `#[repr(C)]`, has the size and field offsets of its C counterpart, and has no implicit
//! padding, so any bit pattern is a valid value.

/// `VCAM_FMT_RGB24`.
pub const FMT_RGB24: u32 = 0;
/// `VCAM_FMT_YUYV`.
pub const FMT_YUYV: u32 = 1;

/// `VCAM_WIDTH_MIN`.
pub const WIDTH_MIN: u32 = 64;
/// `VCAM_WIDTH_MAX`.
pub const WIDTH_MAX: u32 = 1920;
/// `VCAM_WIDTH_ALIGN`.
pub const WIDTH_ALIGN: u32 = 32;
/// `VCAM_HEIGHT_MIN`.
pub const HEIGHT_MIN: u32 = 48;
/// `VCAM_HEIGHT_MAX`.
pub const HEIGHT_MAX: u32 = 1080;
/// `VCAM_HEIGHT_ALIGN`.
pub const HEIGHT_ALIGN: u32 = 8;

/// `VCAM_PATTERN_BARS`.
pub const PATTERN_BARS: u32 = 0;
/// `VCAM_PATTERN_GRADIENT`.
pub const PATTERN_GRADIENT: u32 = 1;
/// `VCAM_PATTERN_BOX`.
pub const PATTERN_BOX: u32 = 2;
/// `VCAM_PATTERN_GREY`.
pub const PATTERN_GREY: u32 = 3;

/// `VCAM_ILLUM_NEUTRAL`.
pub const ILLUM_NEUTRAL: u32 = 0;
/// `VCAM_ILLUM_WARM`.
pub const ILLUM_WARM: u32 = 1;
/// `VCAM_ILLUM_COOL`.
pub const ILLUM_COOL: u32 = 2;

/// `VCAM_RAW_MAX`.
pub const RAW_MAX: u32 = 1023;
/// `VCAM_PEDESTAL`.
pub const PEDESTAL: u32 = 64;

/// `VCAM_STAMP_ROWS`.
pub const STAMP_ROWS: u32 = 8;
/// `VCAM_STAMP_BITS`.
pub const STAMP_BITS: u32 = 32;

/// `VCAM_PARAMS_V1`.
pub const PARAMS_V1: u32 = 0x3150_4356;
/// `VCAM_GAIN_ONE`.
pub const GAIN_ONE: u32 = 256;
/// `VCAM_GAIN_MAX`.
pub const GAIN_MAX: u32 = 4096;

/// `struct vcam_isp_params`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IspParams {
    pub version: u32,
    pub flags: u32,
    pub black_level: u32,
    pub wb_gain: [u32; 3],
    pub reserved: [u64; 2],
}

/// `VCAM_STATS_V1`.
pub const STATS_V1: u32 = 0x3153_4356;
/// `VCAM_GRID_W`.
pub const GRID_W: usize = 16;
/// `VCAM_GRID_H`.
pub const GRID_H: usize = 12;
/// `VCAM_HIST_BINS`.
pub const HIST_BINS: usize = 64;

/// `struct vcam_stats_cell`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsCell {
    pub r: u16,
    pub g: u16,
    pub b: u16,
    pub saturated: u16,
}

/// `struct vcam_stats`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub version: u32,
    pub frame: u32,
    pub width: u32,
    pub height: u32,
    pub exposure: u32,
    pub gain: u32,
    pub black_level: u32,
    pub wb_gain: [u32; 3],
    pub raw_sum: u32,
    pub reserved0: u32,
    pub hist: [u32; HIST_BINS],
    pub cells: [StatsCell; GRID_W * GRID_H],
    pub reserved: [u64; 2],
}

impl Stats {
    /// All zero (not a valid measurement: `version` is 0).
    pub const ZERO: Self = Self {
        version: 0,
        frame: 0,
        width: 0,
        height: 0,
        exposure: 0,
        gain: 0,
        black_level: 0,
        wb_gain: [0; 3],
        raw_sum: 0,
        reserved0: 0,
        hist: [0; HIST_BINS],
        cells: [StatsCell {
            r: 0,
            g: 0,
            b: 0,
            saturated: 0,
        }; GRID_W * GRID_H],
        reserved: [0; 2],
    };
}
