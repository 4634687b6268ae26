// SPDX-License-Identifier: GPL-2.0

//! KCAM userspace library: the uAPI types of `include/uapi/linux/kcam.h` and `vcam.h`, the operation-list
//! validator, vcam's image pipeline, and a client: [`camera::Camera`] (enumeration, registers, lists, events,
//! buffers), dma-buf allocation ([`dmabuf`]), streaming frames into imported buffers ([`stream`]), image files
//! ([`image`]) and a 3A loop ([`aaa`]).
//!
//! `uapi`, `vcam_uapi`, `validate` and `frame` are files under `drivers/media/kcam/shared/`, compiled unchanged here
//! and into the kernel module, so userspace checks a list exactly as the kernel will, and the host tests run the
//! same renderer the kernel does. `ioctl` has the ioctl numbers for the target architecture; `uring` submits
//! lists, cancels them and streams events through io_uring.

#[path = "../../../drivers/media/kcam/shared/frame.rs"]
pub mod frame;
#[path = "../../../drivers/media/kcam/shared/uapi.rs"]
pub mod uapi;
#[path = "../../../drivers/media/kcam/shared/validate.rs"]
pub mod validate;
#[path = "../../../drivers/media/kcam/shared/vcam_uapi.rs"]
pub mod vcam_uapi;

pub mod aaa;
pub mod camera;
pub mod dmabuf;
pub mod image;
pub mod ioctl;
pub mod stream;
pub mod uring;

#[cfg(test)]
mod aaa_tests;
#[cfg(test)]
mod frame_tests;
#[cfg(test)]
mod tests;
