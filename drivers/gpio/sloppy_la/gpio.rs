// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers around the C glue: the probe GPIOs and GPIO lookup tables.
//!
//! This is the only module of the analyzer that calls C.

use crate::device_raw::as_raw as raw;
use kernel::{
    device::Device,
    error::{from_err_ptr, to_result},
    prelude::*,
    str::CString,
};

/// The declarations of `gpio_sloppy_la_glue.h`, generated at build time (`gpio_sloppy_la_glue_bindings.rs`).
#[allow(
    improper_ctypes,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    unreachable_pub,
    clippy::all
)]
mod ffi {
    include!("gpio_sloppy_la_glue_bindings.rs");
}

/// `(chip label, offset)` lines as the glue takes them: parallel arrays of C strings and offsets, and their
/// length. The label pointers borrow from the lines.
fn line_arrays(
    lines: &[(CString, u32)],
) -> Result<(KVec<*const kernel::ffi::c_char>, KVec<u32>, u32)> {
    let mut chips = KVec::with_capacity(lines.len(), GFP_KERNEL)?;
    let mut offsets = KVec::with_capacity(lines.len(), GFP_KERNEL)?;
    for (chip, off) in lines {
        chips.push(chip.as_char_ptr(), GFP_KERNEL)?;
        offsets.push(*off, GFP_KERNEL)?;
    }
    let n = u32::try_from(lines.len()).map_err(|_| EINVAL)?;
    Ok((chips, offsets, n))
}

/// The probe lines of one analyzer instance: requested as inputs, or looked up in place (not requested, so
/// neither their direction nor their pin mux changes; see the glue).
///
/// # Invariants
///
/// `descs` was returned by a successful `sla_get_probes()` or `sla_get_probes_in_place()` and is released only
/// in `drop`.
pub(crate) struct Probes {
    descs: *mut ffi::sla_probes,
    /// What the glue says about `descs`, which does not change: read once.
    count: u32,
    in_place: bool,
    any_can_sleep: bool,
}

// SAFETY: The probes may be read and released from any thread; gpiolib does its own locking.
unsafe impl Send for Probes {}
// SAFETY: The only shared-reference operation, `read`, is a gpiolib array read, which is safe concurrently.
unsafe impl Sync for Probes {}

impl Probes {
    fn from_raw(descs: *mut ffi::sla_probes) -> Result<Self> {
        let descs = from_err_ptr(descs)?;
        // SAFETY: `descs` is a valid probe set returned by the glue.
        let (count, in_place, any_can_sleep) = unsafe {
            (
                ffi::sla_probe_count(descs),
                ffi::sla_probes_in_place(descs),
                ffi::sla_any_cansleep(descs),
            )
        };
        // INVARIANT: `descs` was just returned by the glue.
        Ok(Self {
            descs,
            count,
            in_place,
            any_can_sleep,
        })
    }

    /// The `probe` GPIOs of `dev` (from its firmware node or a lookup table): requested as inputs, or in place
    /// when the firmware node says `probe-in-place`.
    pub(crate) fn get(dev: &Device) -> Result<Self> {
        // SAFETY: `dev` is a valid device for the duration of the call.
        Self::from_raw(unsafe { ffi::sla_get_probes(raw(dev)) })
    }

    /// Lines `lines[i]` = (chip label, offset), in place: looked up, not requested. `dev` is for messages.
    pub(crate) fn in_place(dev: &Device, lines: &[(CString, u32)]) -> Result<Self> {
        let (chips, offsets, n) = line_arrays(lines)?;
        // SAFETY: `dev` is valid for the call; the arrays hold `n` valid entries (C strings and offsets), which
        // the glue reads only during the call.
        Self::from_raw(unsafe {
            ffi::sla_get_probes_in_place(raw(dev), n, chips.as_ptr(), offsets.as_ptr())
        })
    }

    /// Whether the lines are read in place (not requested).
    pub(crate) fn is_in_place(&self) -> bool {
        self.in_place
    }

    /// Number of probes.
    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    /// Whether any probe's chip may sleep while reading (such lines cannot be sampled with IRQs off).
    pub(crate) fn any_can_sleep(&self) -> bool {
        self.any_can_sleep
    }

    /// Names probe `i` as its consumer (shown in `/sys/kernel/debug/gpio`); nothing for lines read in place,
    /// which are not ours to name.
    pub(crate) fn set_consumer_name(&self, i: u32, name: &CStr) -> Result {
        // SAFETY: By the type invariant `descs` is valid; `name` is a valid C string, copied by gpiolib.
        to_result(unsafe { ffi::sla_set_consumer_name(self.descs, i, name.as_char_ptr()) })
    }

    /// Reads all probes at once: bit `i` is probe `i + 1`, logical value.
    #[inline(always)]
    pub(crate) fn read(&self) -> Result<u32> {
        let mut state = 0u32;
        // SAFETY: By the type invariant `descs` is valid; `state` is a valid `u32` to write to.
        to_result(unsafe { ffi::sla_read(self.descs, &mut state) })?;
        Ok(state)
    }
}

impl Drop for Probes {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `descs` is valid and released only here.
        unsafe { ffi::sla_put_probes(self.descs) };
    }
}

/// Whether the current task has a fatal signal pending (checked even with IRQs off, as upstream does).
#[inline(always)]
pub(crate) fn fatal_signal_pending() -> bool {
    // SAFETY: Reads the current task's signal state; always safe in process context.
    unsafe { ffi::sla_fatal_signal_pending() }
}

/// Gives the scheduler and RCU a chance to run (between two IRQs-off windows of a long capture).
pub(crate) fn cond_resched() {
    // SAFETY: Called in process context with IRQs and preemption enabled.
    unsafe { ffi::sla_cond_resched() }
}

/// Sleeps up to `ns` with interrupts on; only a fatal signal ends the sleep early.
pub(crate) fn sleep_killable(ns: u64) {
    // SAFETY: Called in process context with IRQs and preemption enabled (between two sampling windows).
    unsafe { ffi::sla_sleep_killable(ns) }
}

/// Reads the `probe-names` property of `dev`; fails as upstream does (`EBADR`) when the count does not match.
pub(crate) fn probe_names(dev: &Device, count: u32) -> Result<KVec<CString>> {
    let mut ptrs = KVec::from_elem(
        core::ptr::null::<kernel::ffi::c_char>(),
        count as usize,
        GFP_KERNEL,
    )?;
    // SAFETY: `dev` is valid for the call; `ptrs` has room for `count` pointers. On success the glue filled every
    // slot with a NUL-terminated string of the firmware node, which outlives this call; they are copied below.
    to_result(unsafe { ffi::sla_probe_names(raw(dev), ptrs.as_mut_ptr(), count) })?;
    let mut names = KVec::with_capacity(count as usize, GFP_KERNEL)?;
    for p in ptrs.iter() {
        // SAFETY: A valid NUL-terminated string, as above.
        let s = unsafe { CStr::from_char_ptr(*p) };
        names.push(
            CString::try_from_fmt(fmt!("{}", s.to_str().map_err(|_| EINVAL)?))?,
            GFP_KERNEL,
        )?;
    }
    Ok(names)
}

/// A GPIO lookup table that gives device `dev_id` its `probe` GPIOs, for instances created without firmware.
///
/// # Invariants
///
/// `raw` was returned by a successful `sla_lookup_add` and is removed only in `drop`.
pub(crate) struct LookupTable {
    raw: *mut ffi::sla_lookup,
}

// SAFETY: Lookup tables are added and removed under gpiolib's own lock, from any thread.
unsafe impl Send for LookupTable {}

impl LookupTable {
    /// Adds a table mapping `probe` index `i` of `dev_id` to `lines[i]` = (chip label, offset).
    pub(crate) fn add(dev_id: &CStr, lines: &[(CString, u32)]) -> Result<Self> {
        let (chips, offsets, n) = line_arrays(lines)?;
        // SAFETY: `dev_id` and every chip label are valid C strings and the arrays hold `n` entries; the glue
        // copies all of them.
        let raw = from_err_ptr(unsafe {
            ffi::sla_lookup_add(dev_id.as_char_ptr(), n, chips.as_ptr(), offsets.as_ptr())
        })?;
        // INVARIANT: `raw` was just added.
        Ok(Self { raw })
    }
}

impl Drop for LookupTable {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `raw` is an added table, removed only here.
        unsafe { ffi::sla_lookup_remove(self.raw) };
    }
}
