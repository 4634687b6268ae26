// SPDX-License-Identifier: GPL-2.0

//! DRM connector brightness shim: Hans de Goede's proposed `display_brightness` / `display_brightness_max`
//! connector properties, out of tree, on a virtual display of this module's own, bridged to a backlight class
//! device.
//!
//! The properties must exist before a DRM device registers, so the shim owns its connector: a minimal KMS device
//! built in `drm_brightness_glue.c`. This file decides everything else, with the policy of `shared/policy.rs`:
//! which backlight binds (parameter `backlight=NAME`, else by type: raw > platform > firmware), re-evaluated
//! whenever a backlight device appears or goes (a class interface, no fixed delay); `display_brightness_max`
//! (0: nothing bound, or the connector is disconnected); the 1:1 mapping with `offset`; the errors: above max
//! `EINVAL`, nothing bound `ENODEV`, the backlight's own error (e.g. `EIO` from `update_status`) from the commit.
//!
//! `/sys/kernel/debug/drm_brightness/connected` (0/1) plugs and unplugs the virtual display, as a hotplug would.

use core::ffi::c_int;
use kernel::ffi::c_char;
use kernel::{prelude::*, uaccess::UserSliceReader};

#[allow(dead_code)]
#[path = "../../common/owned_debugfs.rs"]
mod owned_debugfs;

/// The binding policy and mapping, shared with the host crate `tools/brightness` (its `cargo test`).
#[allow(unreachable_pub, dead_code, missing_docs)]
#[path = "shared/policy.rs"]
mod policy;

use owned_debugfs::{read_write, Dir, File, Ops};
use policy::{Backlight, Binder, Change, Reject};

module! {
    type: DrmBrightness,
    name: "drm_brightness",
    authors: ["rfl-bringup developers"],
    description: "display_brightness connector properties bridged to a backlight device",
    license: "GPL",
    params: {
        offset: u32 {
            default: 0,
            description: "backlight level shown as brightness 0 (for backlights whose 0 means off)",
        },
    },
}

mod ffi {
    use core::ffi::c_int;
    use kernel::ffi::c_char;

    #[repr(C)]
    pub(super) struct Drmb {
        _private: [u8; 0],
    }
    #[repr(C)]
    pub(super) struct BacklightDevice {
        _private: [u8; 0],
    }

    extern "C" {
        pub(super) fn drmb_create() -> *mut Drmb;
        pub(super) fn drmb_destroy(d: *mut Drmb);
        pub(super) fn drmb_set_max(d: *mut Drmb, max: u32);
        pub(super) fn drmb_hotplug(d: *mut Drmb);
        pub(super) fn drmb_watch_backlights() -> c_int;
        pub(super) fn drmb_unwatch_backlights();
        pub(super) fn drmb_rescan(skip: *mut BacklightDevice);
        pub(super) fn drmb_bl_info(
            bd: *mut BacklightDevice,
            name: *mut *const c_char,
            type_: *mut u32,
            max: *mut u32,
        );
        pub(super) fn drmb_bl_get(bd: *mut BacklightDevice) -> u32;
        pub(super) fn drmb_bl_set(bd: *mut BacklightDevice, value: u32) -> c_int;
        pub(super) fn drmb_bl_hold(bd: *mut BacklightDevice);
        pub(super) fn drmb_bl_put(bd: *mut BacklightDevice);
        pub(super) fn drmb_param_backlight() -> *const c_char;
    }
}

/// A backlight device we hold a reference on.
///
/// # Invariants
///
/// `bd` is a registered-or-unregistering backlight device on which this value holds a device reference.
struct BoundBacklight {
    bd: *mut ffi::BacklightDevice,
}

impl BoundBacklight {
    /// Takes a reference on `bd`.
    ///
    /// # Safety
    ///
    /// `bd` is a live backlight device (the class interface's callbacks are given such).
    unsafe fn hold(bd: *mut ffi::BacklightDevice) -> Self {
        // SAFETY: `bd` is live by the function's requirement.
        unsafe { ffi::drmb_bl_hold(bd) };
        // INVARIANT: We took a reference.
        Self { bd }
    }

    fn get(&self) -> u32 {
        // SAFETY: `bd` is referenced (type invariant); props stay readable until the last put.
        unsafe { ffi::drmb_bl_get(self.bd) }
    }

    fn set(&self, value: u32) -> Result {
        // SAFETY: As in `get`; after unregistration the core refuses with ENXIO.
        kernel::error::to_result(unsafe { ffi::drmb_bl_set(self.bd, value) })
    }
}

impl Drop for BoundBacklight {
    fn drop(&mut self) {
        // SAFETY: We hold one reference (type invariant).
        unsafe { ffi::drmb_bl_put(self.bd) };
    }
}

/// The shim's state, behind [`SHIM`].
struct Shim {
    /// The virtual display, once created; only its address is used here.
    display: Option<usize>,
    /// Which backlight is bound (keyed by the device's address) and the resulting state.
    binder: Binder<usize>,
    /// The reference on the bound backlight (`binder.bound()`).
    bound: Option<BoundBacklight>,
    /// Set at unload: no more binding.
    stopping: bool,
}

// SAFETY: `BoundBacklight`'s pointer is a refcounted kernel object usable from any thread.
unsafe impl Send for Shim {}

kernel::sync::global_lock! {
    // SAFETY: Initialized in `DrmBrightness::init` before any callback can run.
    unsafe(uninit) static SHIM: Mutex<Shim> = Shim {
        display: None,
        binder: Binder::new(0),
        bound: None,
        stopping: false,
    };
}

/// The wanted backlight name, if the parameter is set.
fn wanted() -> Option<&'static [u8]> {
    // SAFETY: The glue returns a NUL-terminated string that lives as long as the module (a module parameter).
    let s = unsafe { CStr::from_char_ptr(ffi::drmb_param_backlight()) }.to_bytes();
    (!s.is_empty()).then_some(s)
}

/// # Safety
///
/// `bd` is a live backlight device.
unsafe fn info<'a>(bd: *mut ffi::BacklightDevice) -> Backlight<'a> {
    let (mut name, mut type_, mut max): (*const c_char, u32, u32) = (core::ptr::null(), 0, 0);
    // SAFETY: `bd` is live; the out pointers are valid.
    unsafe { ffi::drmb_bl_info(bd, &mut name, &mut type_, &mut max) };
    // SAFETY: `dev_name()` is NUL-terminated and lives as long as the device, which outlives this callback.
    let name = unsafe { CStr::from_char_ptr(name) }.to_bytes();
    Backlight {
        name,
        type_,
        max_brightness: max,
    }
}

impl Shim {
    /// Pushes `display_brightness_max` to the display (a uevent if it changed).
    fn publish(&self) {
        if let Some(d) = self.display {
            // SAFETY: `display` is the live display created at init (cleared before it is destroyed).
            unsafe { ffi::drmb_set_max(d as *mut ffi::Drmb, self.binder.state.max()) };
        }
    }
}

/// Called by the class interface for every backlight present and to come (and by rescans).
#[no_mangle]
extern "C" fn drmb_rust_bl_added(bd: *mut ffi::BacklightDevice) {
    let mut shim = SHIM.lock();
    if shim.stopping {
        return;
    }
    // SAFETY: The class interface passes a live device.
    let new = unsafe { info(bd) };
    if let Change::Bound { .. } = shim.binder.added(wanted(), bd as usize, &new) {
        // SAFETY: Live, as above. The old reference (if any) goes after the new state is visible.
        let _old = shim.bound.replace(unsafe { BoundBacklight::hold(bd) });
        pr_info!("bound to backlight {}\n", kernel::str::BStr::from_bytes(new.name));
        shim.publish();
    }
}

/// Called by the class interface when a backlight goes.
#[no_mangle]
extern "C" fn drmb_rust_bl_removed(bd: *mut ffi::BacklightDevice) {
    let rescan = {
        let mut shim = SHIM.lock();
        if shim.binder.removed(bd as usize) != Change::Unbound {
            return;
        }
        pr_info!("backlight gone: brightness unsupported until another binds\n");
        shim.publish();
        drop(shim.bound.take());
        !shim.stopping
    };
    if rescan {
        // Another backlight may take over (the lock is not held: the rescan calls `drmb_rust_bl_added`).
        // SAFETY: `bd` is still live (it is being removed); the glue skips it.
        unsafe { ffi::drmb_rescan(bd) };
    }
}

fn errno(r: Reject) -> Error {
    match r {
        Reject::AboveMax => EINVAL,
        Reject::Unsupported => ENODEV,
    }
}

/// atomic_check: may `value` be committed?
#[no_mangle]
extern "C" fn drmb_rust_check(value: u64) -> c_int {
    match SHIM.lock().binder.state.backlight_level(value) {
        Ok(_) => 0,
        Err(r) => errno(r).to_errno(),
    }
}

/// The property's value: the backlight's live level, mapped.
#[no_mangle]
extern "C" fn drmb_rust_get() -> u64 {
    let shim = SHIM.lock();
    shim.bound
        .as_ref()
        .map_or(0, |b| u64::from(shim.binder.state.property_value(b.get())))
}

/// The commit: sets the backlight, returning its previous level for a rollback.
#[no_mangle]
extern "C" fn drmb_rust_apply(value: u64, old_raw: *mut u32) -> c_int {
    let shim = SHIM.lock();
    let r = (|| {
        let raw = shim.binder.state.backlight_level(value).map_err(errno)?;
        let b = shim.bound.as_ref().ok_or(ENODEV)?;
        let old = b.get();
        // SAFETY: `old_raw` is a valid out pointer from the glue.
        unsafe { *old_raw = old };
        if let Err(e) = b.set(raw) {
            // The backlight core stored the refused value; the hardware did not take it. Put the old one back.
            let _ = b.set(old);
            return Err(e);
        }
        Ok(())
    })();
    r.err().map_or(0, |e| e.to_errno())
}

/// A failed display commit after the brightness was applied: back to the old level.
#[no_mangle]
extern "C" fn drmb_rust_restore(old_raw: u32) {
    if let Some(b) = SHIM.lock().bound.as_ref() {
        let _ = b.set(old_raw);
    }
}

#[no_mangle]
extern "C" fn drmb_rust_connected() -> bool {
    SHIM.lock().binder.state.connected
}

fn connected_show(_: &(), f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    writeln!(f, "{}", u8::from(SHIM.lock().binder.state.connected))
}

fn connected_store(_: &(), r: &mut UserSliceReader) -> Result {
    let buf = read_write(r, 8)?;
    let on = match core::str::from_utf8(&buf).map_err(|_| EINVAL)?.trim() {
        "0" => false,
        "1" => true,
        _ => return Err(EINVAL),
    };
    let display = {
        let mut shim = SHIM.lock();
        if shim.binder.state.connected == on {
            return Ok(());
        }
        if shim.binder.set_connected(on) {
            shim.publish();
        }
        shim.display
    };
    if let Some(d) = display {
        // SAFETY: The live display (see `Shim::publish`).
        unsafe { ffi::drmb_hotplug(d as *mut ffi::Drmb) };
    }
    Ok(())
}

/// The virtual display; destroyed on drop.
///
/// # Invariants
///
/// `raw` came from a successful `drmb_create`.
struct Display {
    raw: *mut ffi::Drmb,
}

// SAFETY: The DRM device may be torn down from any thread.
unsafe impl Send for Display {}
// SAFETY: No method takes `&self` to mutate.
unsafe impl Sync for Display {}

impl Drop for Display {
    fn drop(&mut self) {
        SHIM.lock().display = None;
        // SAFETY: By the type invariant; nothing uses it after `display` was cleared.
        unsafe { ffi::drmb_destroy(self.raw) };
    }
}

/// The class watch; stopped on drop (which unbinds).
struct Watch;

impl Drop for Watch {
    fn drop(&mut self) {
        SHIM.lock().stopping = true;
        // SAFETY: Registered in `init`. Calls `drmb_rust_bl_removed` for every device, dropping our reference.
        unsafe { ffi::drmb_unwatch_backlights() };
        // Whatever is still bound (nothing, normally) is released here.
        drop(SHIM.lock().bound.take());
    }
}

struct DrmBrightness {
    // Dropped in declaration order: the debugfs file, the backlight watch, then the display.
    _connected: Pin<KBox<File<()>>>,
    _dir: Dir,
    _watch: Watch,
    _display: Display,
}

impl kernel::Module for DrmBrightness {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: Called once, before anything else uses `SHIM`.
        unsafe { SHIM.init() };
        SHIM.lock().binder = Binder::new(module_parameters::offset.value());
        // SAFETY: No preconditions.
        let raw = unsafe { ffi::drmb_create() };
        let raw = kernel::error::from_err_ptr(raw)?;
        // INVARIANT: Created successfully.
        let display = Display { raw };
        SHIM.lock().display = Some(raw as usize);
        // SAFETY: No preconditions; reports every present backlight at once.
        kernel::error::to_result(unsafe { ffi::drmb_watch_backlights() })?;
        let watch = Watch;
        let dir = Dir::new(c"drm_brightness", None)?;
        let connected = KBox::pin_init(
            File::new(
                &dir,
                c"connected",
                (),
                Ops::show_store(connected_show, connected_store),
            ),
            GFP_KERNEL,
        )?;
        Ok(Self {
            _connected: connected,
            _dir: dir,
            _watch: watch,
            _display: display,
        })
    }
}

#[kunit_tests(drm_brightness_policy)]
mod tests {
    use super::policy::*;

    fn bl(name: &[u8], type_: u32) -> Backlight<'_> {
        Backlight {
            name,
            type_,
            max_brightness: 100,
        }
    }

    #[test]
    fn selection_prefers_raw_then_platform_then_firmware() {
        let (raw, plat, fw) = (
            bl(b"raw", TYPE_RAW),
            bl(b"plat", TYPE_PLATFORM),
            bl(b"acpi", TYPE_FIRMWARE),
        );
        assert!(better(None, None, &fw));
        assert!(better(None, Some(&fw), &plat));
        assert!(better(None, Some(&plat), &raw));
        assert!(!better(None, Some(&raw), &fw));
        assert!(!better(None, Some(&raw), &bl(b"raw2", TYPE_RAW)));
        // A name given: only that one.
        assert!(!better(Some(b"acpi"), None, &raw));
        assert!(better(Some(b"acpi"), None, &fw));
    }

    #[test]
    fn max_follows_binding_and_connection() {
        let mut s = State {
            bound_max: None,
            connected: true,
            offset: 0,
        };
        assert_eq!(s.max(), 0);
        assert_eq!(s.backlight_level(0), Err(Reject::Unsupported));
        s.bound_max = Some(255);
        assert_eq!(s.max(), 255);
        s.connected = false;
        assert_eq!(s.max(), 0);
        s.connected = true;
        s.bound_max = None;
        assert_eq!(s.max(), 0);
    }

    #[test]
    fn binding_state_machine() {
        let mut b: Binder<usize> = Binder::new(0);
        let acpi = Backlight {
            name: b"acpi_video0",
            type_: TYPE_FIRMWARE,
            max_brightness: 100,
        };
        let raw = Backlight {
            name: b"panel",
            type_: TYPE_RAW,
            max_brightness: 255,
        };
        assert_eq!(b.added(None, 1, &acpi), Change::Bound { old: None });
        assert_eq!(b.added(None, 2, &raw), Change::Bound { old: Some(1) });
        assert_eq!(b.added(None, 1, &acpi), Change::None);
        assert_eq!(b.state.max(), 255);
        assert_eq!(b.removed(1), Change::None);
        assert_eq!(b.removed(2), Change::Unbound);
        assert_eq!(b.state.max(), 0);
        assert_eq!(b.added(Some(b"acpi_video0"), 2, &raw), Change::None);
        assert_eq!(b.added(Some(b"acpi_video0"), 1, &acpi), Change::Bound { old: None });
        assert!(b.set_connected(false));
        assert_eq!(b.state.max(), 0);
    }

    #[test]
    fn mapping_with_offset_round_trips() {
        let s = State {
            bound_max: Some(100),
            connected: true,
            offset: 10,
        };
        assert_eq!(s.max(), 90);
        assert_eq!(s.backlight_level(0), Ok(10));
        assert_eq!(s.backlight_level(90), Ok(100));
        assert_eq!(s.backlight_level(91), Err(Reject::AboveMax));
        assert_eq!(s.backlight_level(u64::MAX), Err(Reject::AboveMax));
        assert_eq!(s.property_value(5), 0);
        for v in 0..=90u64 {
            assert_eq!(
                s.backlight_level(v).map(|r| u64::from(s.property_value(r))),
                Ok(v)
            );
        }
    }
}
