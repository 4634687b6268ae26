// SPDX-License-Identifier: GPL-2.0

//! The brightness shim's binding policy and value mapping (`drivers/gpu/brightness/shared/policy.rs`, compiled
//! unchanged here and into the kernel module), and the DRM ioctls `drmbright` uses.

#[path = "../../../drivers/gpu/brightness/shared/policy.rs"]
pub mod policy;

pub mod drm;

#[cfg(test)]
mod tests {
    use super::policy::*;

    const TYPES: [u32; 4] = [TYPE_RAW, TYPE_PLATFORM, TYPE_FIRMWARE, 0];

    /// Every ordered pair of types: the new one wins exactly when its type ranks strictly better, whatever the
    /// names; and a wanted name admits that name only.
    #[test]
    fn preference_is_a_strict_order_over_types() {
        for (i, &cur) in TYPES.iter().enumerate() {
            for (j, &new) in TYPES.iter().enumerate() {
                let c = Backlight {
                    name: b"a",
                    type_: cur,
                    max_brightness: 10,
                };
                let n = Backlight {
                    name: b"b",
                    type_: new,
                    max_brightness: 10,
                };
                assert_eq!(better(None, Some(&c), &n), j < i, "current {cur} new {new}");
                assert!(better(None, None, &n));
                assert!(better(Some(b"b"), None, &n));
                assert!(!better(Some(b"a"), None, &n));
            }
        }
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

    /// Issue 10, point 9: the value a read returns can always be written back (a no-op); 0 while unsupported
    /// included. Anything else keeps its error.
    #[test]
    fn writing_the_current_value_is_a_no_op() {
        let mut s = State {
            bound_max: None,
            connected: true,
            offset: 0,
        };
        // Nothing bound: reads return 0.
        assert_eq!(s.commit(0, 0), Ok(None));
        assert_eq!(s.commit(1, 0), Err(Reject::Unsupported));
        // Bound but disconnected: reads return 0 too.
        s.bound_max = Some(100);
        s.connected = false;
        assert_eq!(s.commit(0, 0), Ok(None));
        assert_eq!(s.commit(5, 0), Err(Reject::Unsupported));
        // Bound and connected: the current value is a no-op, others map or are refused.
        s.connected = true;
        assert_eq!(s.commit(40, 40), Ok(None));
        assert_eq!(s.commit(41, 40), Ok(Some(41)));
        assert_eq!(s.commit(101, 40), Err(Reject::AboveMax));
        assert_eq!(
            s.commit(u64::from(u32::MAX) + 40, 40),
            Err(Reject::AboveMax)
        );
    }
}
