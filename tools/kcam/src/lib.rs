// SPDX-License-Identifier: GPL-2.0

//! KCAM userspace library: the uAPI types of `include/uapi/linux/kcam.h` and the operation-list validator.
//!
//! Both modules are files under `drivers/media/kcam/shared/`, compiled unchanged here and into the kernel side,
//! so userspace can check a list exactly as the kernel will before submitting it. `ioctl` has the ioctl numbers
//! for the target architecture; `uring` submits lists, cancels them and streams events through io_uring.

#![no_std]

#[cfg(test)]
extern crate std;

#[path = "../../../drivers/media/kcam/shared/uapi.rs"]
pub mod uapi;
#[path = "../../../drivers/media/kcam/shared/validate.rs"]
pub mod validate;

pub mod ioctl;
pub mod uring;

#[cfg(test)]
mod tests;
