// SPDX-License-Identifier: GPL-2.0
//! The capture tool's library: analyzer access, CPU isolation, SI numbers and rates, the output files (all or
//! nothing), the sigrok (with parallel deflate), VCD and PulseView session writers, and signal handling.

pub mod analyzer;
pub mod cpumask;
pub mod deflate;
pub mod interrupt;
pub mod isolate;
pub mod output;
pub mod pvs;
pub mod rate;
pub mod si;
pub mod sigrok;
pub mod srzip;
pub mod vcd;
