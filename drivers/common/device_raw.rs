// SPDX-License-Identifier: GPL-2.0

//! The `struct device` behind a `kernel::device::Device`, for C glue that takes one.
//!
//! The 7.3 kernel crate keeps `Device::as_raw()` crate-private. The upstream change that would remove this file:
//! make it public, as `Cpumask::as_raw()` and `MiscDeviceRegistration::as_raw()` are. Until then the pointer is
//! taken by layout: `Device` is `#[repr(transparent)]` over `Opaque<bindings::device>` (its documented
//! representation), and the assertion below checks what a compile-time check can.
//!
//! Kernel-side code shared by the project's modules (included with `#[path]`).

use kernel::{bindings, device::Device};

const _: () = assert!(
    core::mem::size_of::<Device>() == core::mem::size_of::<bindings::device>()
        && core::mem::align_of::<Device>() == core::mem::align_of::<bindings::device>()
);

/// The `struct device` of `dev`, valid as long as `dev` is.
pub(crate) fn as_raw(dev: &Device) -> *mut bindings::device {
    // CAST: `Device` is a transparent wrapper around `Opaque<bindings::device>` (see above).
    core::ptr::from_ref(dev).cast_mut().cast()
}
