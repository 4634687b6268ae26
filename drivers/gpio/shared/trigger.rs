// SPDX-License-Identifier: GPL-2.0

//! Trigger programs of the sloppy logic analyzer.
//!
//! A trigger is a sequence of steps; the capture starts at the sample that satisfies the last step. Each step is
//! matched against one sample (and the sample before it, for edges); steps are satisfied in order, by distinct
//! samples.
//!
//! Two ways to write one:
//! - The upstream binary form (`trigger` file): `(mask, value)` byte pairs, step satisfied when
//!   `state & mask == value`. Even length, at most [`MAX_PAIR_BYTES`].
//! - A text form (`trigger_expr` file), the syntax of upstream's script but with real edges:
//!   `1H+2F,3R` = channel 1 high and a falling edge on channel 2 at the same sample, then later a rising edge on
//!   channel 3. Terms are `<channel 1..=32><L|H|R|F|E>` (low, high, rising, falling, either edge) joined by `+`;
//!   steps are separated by `,`. The channel is a number as `number.rs` reads it.
//!
//! `no_std`, no allocation: parsers emit steps into a caller's sink, shared by the kernel module and the host
//! tools (which use the same parser for `--trigger`).

use crate::number::parse_u64;

/// Most channels a trigger can name.
pub const MAX_CHANNELS: u32 = 32;
/// Upstream's limit on the binary trigger length.
pub const MAX_PAIR_BYTES: usize = 2048;
/// Most steps a trigger may have (the binary limit, kept for the text form too).
pub const MAX_STEPS: usize = MAX_PAIR_BYTES / 2;

/// One condition on one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Step {
    /// Channels whose level is tested.
    pub mask: u32,
    /// Required levels of the `mask` channels.
    pub value: u32,
    /// Channels that must have risen since the previous sample.
    pub rise: u32,
    /// Channels that must have fallen since the previous sample.
    pub fall: u32,
    /// Channels that must have changed since the previous sample.
    pub change: u32,
}

impl Step {
    /// Whether the step needs the previous sample.
    pub fn has_edges(&self) -> bool {
        self.rise | self.fall | self.change != 0
    }

    /// Whether `cur` (with `prev` the sample before it, if any) satisfies the step.
    pub fn matches(&self, prev: Option<u32>, cur: u32) -> bool {
        if cur & self.mask != self.value {
            return false;
        }
        if !self.has_edges() {
            return true;
        }
        let Some(prev) = prev else {
            return false;
        };
        let (rose, fell) = (!prev & cur, prev & !cur);
        rose & self.rise == self.rise
            && fell & self.fall == self.fall
            && (rose | fell) & self.change == self.change
    }

    /// Channels the step looks at.
    pub fn channels(&self) -> u32 {
        self.mask | self.rise | self.fall | self.change
    }
}

/// Why a trigger was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerError {
    /// The binary form has an odd number of bytes.
    OddLength,
    /// More than [`MAX_STEPS`] steps (or [`MAX_PAIR_BYTES`] bytes).
    TooLong,
    /// A channel number is 0, above [`MAX_CHANNELS`], or above the instance's probe count.
    BadChannel,
    /// A term is not `<channel><L|H|R|F|E>`.
    BadTerm,
    /// The same channel appears twice in one step.
    Conflict,
    /// The text has an empty step or no step at all.
    Empty,
}

impl TriggerError {
    /// A short English description for logs and error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::OddLength => "binary trigger must be (mask, value) byte pairs",
            Self::TooLong => "trigger has too many steps",
            Self::BadChannel => "channel out of range",
            Self::BadTerm => "term must be <channel><L|H|R|F|E>",
            Self::Conflict => "channel used twice in one step",
            Self::Empty => "empty trigger step",
        }
    }
}

/// Parses upstream's binary `(mask, value)` pairs. An empty input is a valid, empty trigger.
pub fn parse_pairs(
    bytes: &[u8],
    sink: &mut dyn FnMut(Step) -> Result<(), TriggerError>,
) -> Result<(), TriggerError> {
    if bytes.len() > MAX_PAIR_BYTES {
        return Err(TriggerError::TooLong);
    }
    if bytes.len() % 2 != 0 {
        return Err(TriggerError::OddLength);
    }
    for pair in bytes.chunks_exact(2) {
        sink(Step {
            mask: pair[0].into(),
            value: pair[1].into(),
            ..Step::default()
        })?;
    }
    Ok(())
}

/// Parses the text form for an instance with `probes` channels. Surrounding white space is ignored; an empty
/// text is a valid, empty trigger.
pub fn parse_expr(
    text: &str,
    probes: u32,
    sink: &mut dyn FnMut(Step) -> Result<(), TriggerError>,
) -> Result<(), TriggerError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(());
    }
    let mut steps = 0;
    for step_text in text.split(',') {
        let mut step = Step::default();
        for term in step_text.trim().split('+') {
            let term = term.trim();
            if term.is_empty() {
                return Err(TriggerError::Empty);
            }
            let (ch, kind) =
                term.split_at(term.len() - term.chars().last().map_or(0, char::len_utf8));
            let ch = parse_u64(ch).ok_or(TriggerError::BadTerm)?;
            if ch == 0 || ch > u64::from(MAX_CHANNELS.min(probes)) {
                return Err(TriggerError::BadChannel);
            }
            let bit = 1u32 << (ch - 1);
            if step.channels() & bit != 0 {
                return Err(TriggerError::Conflict);
            }
            match kind {
                "L" | "l" => step.mask |= bit,
                "H" | "h" => {
                    step.mask |= bit;
                    step.value |= bit;
                }
                "R" | "r" => step.rise |= bit,
                "F" | "f" => step.fall |= bit,
                "E" | "e" => step.change |= bit,
                _ => return Err(TriggerError::BadTerm),
            }
        }
        steps += 1;
        if steps > MAX_STEPS {
            return Err(TriggerError::TooLong);
        }
        sink(step)?;
    }
    Ok(())
}

/// Converts the text form to upstream's binary pairs, the way upstream's script does: an edge becomes the level
/// before it followed by the level after it. Returns the number of bytes written to `out`.
pub fn expr_to_pairs(text: &str, out: &mut [u8]) -> Result<usize, TriggerError> {
    let mut n = 0;
    let mut push = |mask: u32, value: u32| -> Result<(), TriggerError> {
        let (Ok(m), Ok(v)) = (u8::try_from(mask), u8::try_from(value)) else {
            return Err(TriggerError::BadChannel);
        };
        if n + 2 > out.len() {
            return Err(TriggerError::TooLong);
        }
        out[n] = m;
        out[n + 1] = v;
        n += 2;
        Ok(())
    };
    parse_expr(text, 8, &mut |s: Step| {
        if s.change != 0 {
            // Either-edge has no two-level equivalent.
            return Err(TriggerError::BadTerm);
        }
        let mask = s.channels();
        let before = s.value | s.fall;
        let after = s.value | s.rise;
        push(mask, before)?;
        if before != after {
            push(mask, after)?;
        }
        Ok(())
    })?;
    Ok(n)
}

/// Progress through a trigger's steps.
#[derive(Debug, Clone, Copy, Default)]
pub struct Matcher {
    next: usize,
    prev: Option<u32>,
}

impl Matcher {
    /// Feeds the next sample; returns `true` once the last step is satisfied (at this sample).
    pub fn feed(&mut self, steps: &[Step], cur: u32) -> bool {
        if let Some(step) = steps.get(self.next) {
            if step.matches(self.prev, cur) {
                self.next += 1;
            }
        }
        self.prev = Some(cur);
        self.next >= steps.len()
    }
}
