// SPDX-License-Identifier: GPL-2.0

//! The kernel-independent logic of the sloppy logic analyzer and of the waveform test chip.
//!
//! Every module here is a file under `drivers/gpio/shared/`, compiled unchanged into the kernel modules (through
//! `#[path]`) and into this crate, so `cargo test` exercises the exact code the kernel runs.

#![no_std]

#[cfg(test)]
extern crate std;

#[path = "../../../drivers/gpio/shared/number.rs"]
pub mod number;
#[path = "../../../drivers/gpio/shared/samples.rs"]
pub mod samples;
#[path = "../../../drivers/gpio/shared/spec.rs"]
pub mod spec;
#[path = "../../../drivers/gpio/shared/timing.rs"]
pub mod timing;
#[path = "../../../drivers/gpio/shared/trigger.rs"]
pub mod trigger;
#[path = "../../../drivers/gpio/shared/waveform.rs"]
pub mod waveform;

#[cfg(test)]
mod tests;
