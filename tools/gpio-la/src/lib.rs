// SPDX-License-Identifier: GPL-2.0
//! The capture tool's library: analyzer access, CPU isolation, SI numbers, and the sigrok and VCD writers.

pub mod analyzer;
pub mod cpumask;
pub mod isolate;
pub mod si;
pub mod sigrok;
pub mod vcd;
