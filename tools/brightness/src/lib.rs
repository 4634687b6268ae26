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
        assert_eq!(s.to_backlight(1), Err(Reject::Unsupported));
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
        assert_eq!(s.to_backlight(0), Ok(5));
        assert_eq!(s.to_backlight(95), Ok(100));
        assert_eq!(s.to_backlight(96), Err(Reject::AboveMax));
        assert_eq!(s.to_backlight(u64::MAX), Err(Reject::AboveMax));
        assert_eq!(s.to_backlight(1 << 32), Err(Reject::AboveMax));
        // Below the offset (set through sysfs) reads as 0, never negative.
        assert_eq!(s.from_backlight(3), 0);
        // Round trips never drift.
        for v in 0..=95u64 {
            assert_eq!(u64::from(s.from_backlight(s.to_backlight(v).unwrap())), v);
        }
    }
}
