// SPDX-License-Identifier: GPL-2.0

//! The analyzer's `new_device` line (its numbers are read by `number.rs`).
//!
//! `new_device` takes `NAME CHIP OFFSETS [CHIP OFFSETS ...] [names=N1,N2,...] [in-place]`, like gpio-aggregator's
//! `new_device`: CHIP is a gpiochip label, OFFSETS a list of offsets such as `0-3,7` (numbers as `number.rs` reads
//! them), each at most [`MAX_OFFSET`] (GPIO lookup tables hold 16 bits). Without `names=`, probes are named `D0`,
//! `D1`, ... in order. The word `in-place` (anywhere after NAME) takes the lines as they are: looked up, not
//! requested, so their direction and pin mux stay what they were.

use crate::number::parse_u64;

/// Longest instance name (it becomes a debugfs directory and a device name).
pub const MAX_NAME: usize = 32;
/// Largest line offset: `struct gpiod_lookup` keeps a chip's hardware number in a `u16`.
pub const MAX_OFFSET: u32 = u16::MAX as u32;

/// Why a `new_device` line was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecError {
    /// No name, or one that is too long or has characters other than `[A-Za-z0-9_.-]`.
    BadName,
    /// A chip without offsets, or an offset list that does not parse or goes above [`MAX_OFFSET`].
    BadOffsets,
    /// The `names=` list does not have one name per line.
    NameCount,
    /// More lines than the analyzer takes.
    TooMany,
}

impl SpecError {
    /// A short English description.
    pub fn describe(self) -> &'static str {
        match self {
            Self::BadName => "bad instance or probe name",
            Self::BadOffsets => "expected CHIP OFFSETS pairs, offsets like 0-3,7 (at most 65535)",
            Self::NameCount => "names= must have one name per line",
            Self::TooMany => "too many lines",
        }
    }
}

/// Whether `name` is usable as an instance or probe name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// A parsed `new_device` line.
#[derive(Debug)]
pub struct NewDevice<'a> {
    /// Instance name.
    pub name: &'a str,
    /// The `names=` value, if given (comma-separated, already checked).
    pub names: Option<&'a str>,
    /// Number of lines.
    pub lines: u32,
    /// `in-place` was given: read the lines without requesting them.
    pub in_place: bool,
}

/// The `new_device` word that takes the lines in place.
pub const IN_PLACE: &str = "in-place";

/// Parses a `new_device` line; calls `line(chip, offset)` for each line in order. At most `max_lines` lines.
pub fn parse_new_device<'a>(
    text: &'a str,
    max_lines: u32,
    line: &mut impl FnMut(&'a str, u32) -> Result<(), SpecError>,
) -> Result<NewDevice<'a>, SpecError> {
    let mut toks = text.split_ascii_whitespace();
    let name = toks
        .next()
        .filter(|n| valid_name(n))
        .ok_or(SpecError::BadName)?;
    let mut names = None;
    let mut lines = 0u32;
    let mut in_place = false;
    while let Some(tok) = toks.next() {
        if tok == IN_PLACE {
            in_place = true;
            continue;
        }
        if let Some(list) = tok.strip_prefix("names=") {
            if names.is_some() || !list.split(',').all(valid_name) {
                return Err(SpecError::BadName);
            }
            names = Some(list);
            continue;
        }
        let chip = tok;
        let offsets = toks.next().ok_or(SpecError::BadOffsets)?;
        for range in offsets.split(',') {
            let (lo, hi) = match range.split_once('-') {
                Some((a, b)) => (a, b),
                None => (range, range),
            };
            let offset = |s: &str| {
                parse_u64(s)
                    .filter(|o| *o <= u64::from(MAX_OFFSET))
                    .ok_or(SpecError::BadOffsets)
            };
            // CAST: both are at most `MAX_OFFSET`, a `u32`.
            let (lo, hi) = (offset(lo)? as u32, offset(hi)? as u32);
            if hi < lo {
                return Err(SpecError::BadOffsets);
            }
            for off in lo..=hi {
                lines += 1;
                if lines > max_lines {
                    return Err(SpecError::TooMany);
                }
                line(chip, off)?;
            }
        }
    }
    if lines == 0 {
        return Err(SpecError::BadOffsets);
    }
    if names.is_some_and(|n| n.split(',').count() != lines as usize) {
        return Err(SpecError::NameCount);
    }
    Ok(NewDevice {
        name,
        names,
        lines,
        in_place,
    })
}
