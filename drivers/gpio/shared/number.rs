// SPDX-License-Identifier: GPL-2.0

//! The one number syntax of the analyzer's and the waveform chip's debugfs files: unsigned integers as the
//! kernel's `kstrtoull(s, 0)` reads them (and so as upstream's analyzer files do).
//!
//! - `0x` or `0X` and at least one hex digit: hexadecimal (`0x10` is 16);
//! - a leading `0` followed by more digits: octal (`010` is 8, `08` is an error);
//! - otherwise decimal;
//! - one optional leading `+`, and one trailing newline; nothing else (no `-`, blanks, `_` or second sign), and the
//!   value must fit 64 bits.
//!
//! `no_std`, shared with the host tools.

/// Parses `s` as described in the module documentation; `None` if it is not such a number.
pub fn parse_u64(s: &str) -> Option<u64> {
    let s = s.strip_suffix('\n').unwrap_or(s);
    let s = s.strip_prefix('+').unwrap_or(s);
    let (digits, radix) = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (hex, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    // `from_str_radix` would take a sign of its own (`0x+5`, `++5`): only digits get that far.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}
