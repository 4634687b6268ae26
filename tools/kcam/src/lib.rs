// SPDX-License-Identifier: GPL-2.0

//! KCAM userspace library: the uAPI types of `include/uapi/linux/kcam.h` and `vcam.h`, the operation-list
//! validator and vcam's image pipeline.
//!
//! These modules are files under `drivers/media/kcam/shared/`, compiled unchanged here and into the kernel side,
//! so userspace can check a list exactly as the kernel will before submitting it, and the host tests run the same
//! renderer the kernel does. `ioctl` has the ioctl numbers for the target architecture.

#[path = "../../../drivers/media/kcam/shared/uapi.rs"]
pub mod uapi;
#[path = "../../../drivers/media/kcam/shared/validate.rs"]
pub mod validate;
#[path = "../../../drivers/media/kcam/shared/vcam_uapi.rs"]
pub mod vcam_uapi;
#[path = "../../../drivers/media/kcam/shared/frame.rs"]
pub mod frame;

pub mod ioctl;

#[cfg(test)]
mod frame_tests;
#[cfg(test)]
mod tests;
