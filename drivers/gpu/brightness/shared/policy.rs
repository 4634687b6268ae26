// SPDX-License-Identifier: GPL-2.0

//! The brightness shim's logic, free of the kernel: which backlight a connector binds to, what
//! `display_brightness_max` is, and how property values map to backlight values.
//!
//! `no_std`, no allocation, no `kernel::` imports: the module includes it with `#[path]` (and tests it with
//! KUnit), the host crate `tools/brightness` tests it with `cargo test`.
//!
//! Mapping: 1:1, no scaling, so a value written through the property and read back through
//! `/sys/class/backlight` (or the other way round) never drifts. `offset` is the backlight's lowest visible
//! level (for backlights whose 0 means off): property 0 is backlight `offset`, property `max` is backlight
//! `max_brightness`, so property 0 is the minimum visible level, never off.
//!
//! Selection: with a name given (module parameter `backlight=`), only that backlight binds. Otherwise the best
//! type wins: RAW (native, e.g. a PWM or the panel's own) over PLATFORM over FIRMWARE (ACPI), like acpi_video's
//! "native first"; among equals the one bound first stays. One backlight per connector, never two controls.

/// `enum backlight_type` values.
pub const TYPE_RAW: u32 = 1;
/// `BACKLIGHT_PLATFORM`.
pub const TYPE_PLATFORM: u32 = 2;
/// `BACKLIGHT_FIRMWARE`.
pub const TYPE_FIRMWARE: u32 = 3;

/// A backlight as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlight<'a> {
    pub name: &'a [u8],
    pub type_: u32,
    pub max_brightness: u32,
}

/// Lower is better; unknown types rank last.
fn rank(type_: u32) -> u32 {
    match type_ {
        TYPE_RAW => 0,
        TYPE_PLATFORM => 1,
        TYPE_FIRMWARE => 2,
        _ => 3,
    }
}

/// Whether `new` may bind at all: the named one only, if a name is given.
pub fn eligible(wanted: Option<&[u8]>, new: &Backlight<'_>) -> bool {
    wanted.is_none_or(|w| w == new.name)
}

/// Whether `new` should replace `current` (or bind, if nothing is bound).
pub fn better(wanted: Option<&[u8]>, current: Option<&Backlight<'_>>, new: &Backlight<'_>) -> bool {
    if !eligible(wanted, new) {
        return false;
    }
    match current {
        None => true,
        Some(c) => rank(new.type_) < rank(c.type_),
    }
}

/// Why a value cannot be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Above `display_brightness_max` (`EINVAL`).
    AboveMax,
    /// Nothing bound or the connector is disconnected: `display_brightness_max` is 0 (`ENODEV`).
    Unsupported,
}

/// The binding state of one connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct State {
    /// `max_brightness` of the bound backlight, if one is bound.
    pub bound_max: Option<u32>,
    pub connected: bool,
    /// The backlight's lowest visible level (see the module documentation).
    pub offset: u32,
}

impl State {
    /// `display_brightness_max`: 0 while unsupported (nothing bound, disconnected, or no range above `offset`).
    pub fn max(&self) -> u32 {
        match self.bound_max {
            Some(m) if self.connected => m.saturating_sub(self.offset),
            _ => 0,
        }
    }

    /// The backlight value for property `value`.
    pub fn backlight_level(&self, value: u64) -> Result<u32, Reject> {
        let max = self.max();
        if max == 0 {
            return Err(Reject::Unsupported);
        }
        match u32::try_from(value) {
            Ok(v) if v <= max => Ok(v + self.offset),
            _ => Err(Reject::AboveMax),
        }
    }

    /// The property value for backlight value `raw` (a level below `offset`, set behind our back, reads as 0).
    pub fn property_value(&self, raw: u32) -> u32 {
        raw.saturating_sub(self.offset).min(self.max())
    }

    /// What committing property `value` does, given `current`, the value a read of the property returns now:
    /// the value it already has is a no-op that always succeeds (`Ok(None)`: leave the backlight alone), so that
    /// userspace restoring every property it read (compositors, igt's `kms_properties`) never fails, 0 included
    /// while nothing is bound or the display is disconnected; any other value sets the backlight to the returned
    /// level, or is refused as [`State::backlight_level`] says.
    pub fn commit(&self, value: u64, current: u32) -> Result<Option<u32>, Reject> {
        if value == u64::from(current) {
            return Ok(None);
        }
        self.backlight_level(value).map(Some)
    }
}

/// What the caller must do after a [`Binder`] event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<K> {
    /// Nothing changed.
    None,
    /// The backlight just reported is bound now: take a reference on it, and drop the one on `old`, if any.
    Bound { old: Option<K> },
    /// The bound backlight went: drop its reference, and report the remaining backlights again (a rescan), one
    /// of which may bind.
    Unbound,
}

/// The binding state machine of one connector. Backlights are known by a key `K` (the kernel uses the device's
/// address); the caller holds the reference on the bound one, as [`Change`] tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binder<K> {
    /// The bound backlight: key and type.
    bound: Option<(K, u32)>,
    pub state: State,
}

impl<K: Copy + PartialEq> Binder<K> {
    /// Nothing bound, connected.
    pub const fn new(offset: u32) -> Self {
        Self {
            bound: None,
            state: State {
                bound_max: None,
                connected: true,
                offset,
            },
        }
    }

    /// The bound backlight's key.
    pub fn bound(&self) -> Option<K> {
        self.bound.map(|(k, _)| k)
    }

    /// A backlight appeared (or a rescan reports it again).
    pub fn added(&mut self, wanted: Option<&[u8]>, key: K, bl: &Backlight<'_>) -> Change<K> {
        if self.bound() == Some(key) {
            return Change::None;
        }
        let current = self.bound.map(|(_, type_)| Backlight {
            name: b"",
            type_,
            max_brightness: 0,
        });
        if !better(wanted, current.as_ref(), bl) {
            return Change::None;
        }
        let old = self.bound();
        self.bound = Some((key, bl.type_));
        self.state.bound_max = Some(bl.max_brightness);
        Change::Bound { old }
    }

    /// A backlight went.
    pub fn removed(&mut self, key: K) -> Change<K> {
        if self.bound() != Some(key) {
            return Change::None;
        }
        self.bound = None;
        self.state.bound_max = None;
        Change::Unbound
    }

    /// The display was plugged or unplugged; returns whether `display_brightness_max` changed.
    pub fn set_connected(&mut self, connected: bool) -> bool {
        let before = self.state.max();
        self.state.connected = connected;
        before != self.state.max()
    }
}
