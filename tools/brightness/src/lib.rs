// SPDX-License-Identifier: GPL-2.0

//! The brightness shim's binding policy and value mapping (`drivers/gpu/brightness/shared/policy.rs`, compiled
//! unchanged here and into the kernel module), and the DRM ioctls `drmbright` uses.

#[path = "../../../drivers/gpu/brightness/shared/policy.rs"]
pub mod policy;

pub mod drm;

#[cfg(test)]
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
    fn type_preference_raw_platform_firmware() {
        let (raw, plat, fw) = (
            bl(b"raw", TYPE_RAW),
            bl(b"plat", TYPE_PLATFORM),
            bl(b"acpi", TYPE_FIRMWARE),
        );
        assert!(better(None, None, &fw));
        assert!(better(None, Some(&fw), &plat));
        assert!(better(None, Some(&plat), &raw));
        assert!(!better(None, Some(&raw), &fw));
        assert!(!better(None, Some(&raw), &plat));
        // Equal types: the one bound first stays (never flip-flop between two controls).
        assert!(!better(None, Some(&raw), &bl(b"raw2", TYPE_RAW)));
    }

    #[test]
    fn a_name_binds_only_that_backlight() {
        let want = Some(&b"acpi_video0"[..]);
        assert!(!better(want, None, &bl(b"intel_backlight", TYPE_RAW)));
        assert!(better(want, None, &bl(b"acpi_video0", TYPE_FIRMWARE)));
        assert!(!better(
            want,
            Some(&bl(b"acpi_video0", TYPE_FIRMWARE)),
            &bl(b"x", TYPE_RAW)
        ));
    }

    #[test]
    fn max_is_zero_unless_bound_and_connected() {
        let mut s = State {
            bound_max: None,
            connected: true,
            offset: 0,
        };
        assert_eq!(s.max(), 0);
        s.bound_max = Some(255);
        assert_eq!(s.max(), 255);
        s.connected = false;
        assert_eq!(s.max(), 0);
        assert_eq!(s.backlight_level(1), Err(Reject::Unsupported));
        s.connected = true;
        // A backlight with no range above the offset is unsupported too.
        s.offset = 255;
        assert_eq!(s.max(), 0);
    }

    #[test]
    fn mapping_is_one_to_one_with_offset() {
        let s = State {
            bound_max: Some(100),
            connected: true,
            offset: 5,
        };
        assert_eq!(s.max(), 95);
        assert_eq!(s.backlight_level(0), Ok(5));
        assert_eq!(s.backlight_level(95), Ok(100));
        assert_eq!(s.backlight_level(96), Err(Reject::AboveMax));
        assert_eq!(s.backlight_level(u64::MAX), Err(Reject::AboveMax));
        assert_eq!(s.backlight_level(1 << 32), Err(Reject::AboveMax));
        // Below the offset (set through sysfs) reads as 0, never negative.
        assert_eq!(s.property_value(3), 0);
        // Round trips never drift.
        for v in 0..=95u64 {
            assert_eq!(
                u64::from(s.property_value(s.backlight_level(v).unwrap())),
                v
            );
        }
    }

    #[test]
    fn binder_follows_arrivals_preferences_and_removals() {
        let mut b: Binder<u32> = Binder::new(0);
        assert_eq!(b.state.max(), 0);
        // Late arrival of a firmware backlight binds it.
        let acpi = Backlight {
            name: b"acpi_video0",
            type_: TYPE_FIRMWARE,
            max_brightness: 100,
        };
        assert_eq!(b.added(None, 1, &acpi), Change::Bound { old: None });
        assert_eq!(b.state.max(), 100);
        // Reported again (a rescan): nothing.
        assert_eq!(b.added(None, 1, &acpi), Change::None);
        // A raw one takes over; the caller drops its reference on the firmware one.
        let raw = Backlight {
            name: b"intel_backlight",
            type_: TYPE_RAW,
            max_brightness: 1000,
        };
        assert_eq!(b.added(None, 2, &raw), Change::Bound { old: Some(1) });
        assert_eq!((b.bound(), b.state.max()), (Some(2), 1000));
        // Removing an unbound one changes nothing; removing the bound one unbinds and asks for a rescan.
        assert_eq!(b.removed(1), Change::None);
        assert_eq!(b.removed(2), Change::Unbound);
        assert_eq!((b.bound(), b.state.max()), (None, 0));
        // Disconnect and reconnect.
        assert_eq!(b.added(None, 1, &acpi), Change::Bound { old: None });
        assert!(b.set_connected(false));
        assert_eq!(b.state.max(), 0);
        assert!(!b.set_connected(false));
        assert!(b.set_connected(true));
        assert_eq!(b.state.max(), 100);
    }

    #[test]
    fn binder_by_name_ignores_better_types() {
        let mut b: Binder<u32> = Binder::new(5);
        let want = Some(&b"clamped"[..]);
        let raw = Backlight {
            name: b"panel",
            type_: TYPE_RAW,
            max_brightness: 255,
        };
        let named = Backlight {
            name: b"clamped",
            type_: TYPE_FIRMWARE,
            max_brightness: 100,
        };
        assert_eq!(b.added(want, 1, &raw), Change::None);
        assert_eq!(b.added(want, 2, &named), Change::Bound { old: None });
        assert_eq!(b.added(want, 3, &raw), Change::None);
        assert_eq!(b.state.max(), 95);
    }
}
