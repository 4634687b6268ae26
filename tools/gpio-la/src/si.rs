// SPDX-License-Identifier: GPL-2.0
//! SI-suffixed numbers as the upstream script takes them (`1M`, `1M500K`) and with decimals (`1.5M`).

use thiserror::Error;

/// A number that could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SiError {
    /// Empty, or not a number.
    #[error("'{0}' is not a number (examples: 1500000, 1.5M, 1M500K, 250k)")]
    Malformed(String),
    /// Does not fit in 64 bits.
    #[error("'{0}' is out of range")]
    Range(String),
    /// Has a fractional part where a whole number is needed.
    #[error("'{0}' is not a whole number")]
    Fraction(String),
}

fn multiplier(c: char) -> Option<u64> {
    Some(match c {
        'k' | 'K' => 1_000,
        'M' => 1_000_000,
        'G' => 1_000_000_000,
        'T' => 1_000_000_000_000,
        _ => return None,
    })
}

/// Parses `s` as a sum of SI terms (`1M500K`), each term an integer or decimal with an optional suffix
/// (k/K, M, G, T). The result must be a whole number.
pub fn parse(s: &str) -> Result<u64, SiError> {
    let range = || SiError::Range(s.to_string());
    let milli = parse_exact(s)?;
    if milli % 1000 != 0 {
        return Err(SiError::Fraction(s.to_string()));
    }
    u64::try_from(milli / 1000).map_err(|_| range())
}

/// Parses `s` like [`parse`], in units of `1/scale` (scale a power of ten up to 1000), rounding what is finer.
pub fn parse_scaled(s: &str, scale: u128) -> Result<u128, SiError> {
    let milli = parse_exact(s)?;
    let per = 1000 / scale;
    Ok((milli + per / 2) / per)
}

/// The value of `s` in thousandths, with digits finer than a thousandth rounded, and a bound of `u64::MAX`
/// (in units) on the result.
fn parse_exact(s: &str) -> Result<u128, SiError> {
    let bad = || SiError::Malformed(s.to_string());
    let range = || SiError::Range(s.to_string());
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut total: u128 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        if num.is_empty() || num.matches('.').count() > 1 || num == "." {
            return Err(bad());
        }
        let mut chars = tail.chars();
        let (mult, tail) = match chars.next().and_then(multiplier) {
            Some(m) => (m, chars.as_str()),
            None if tail.is_empty() => (1, tail),
            None => return Err(bad()),
        };
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        let int: u128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| range())?
        };
        // In thousandths: int * mult * 1000 + frac * mult * 1000 / 10^len (rounded).
        let scale = u128::from(mult) * 1000;
        let mut value = int.checked_mul(scale).ok_or_else(range)?;
        let frac = frac.get(..frac.len().min(30)).unwrap_or(frac);
        if !frac.is_empty() {
            let digits: u128 = frac.parse().map_err(|_| range())?;
            let div = 10u128.pow(frac.len() as u32);
            let scaled = digits.checked_mul(scale).ok_or_else(range)?;
            value = value
                .checked_add((scaled + div / 2) / div)
                .ok_or_else(range)?;
        }
        total = total.checked_add(value).ok_or_else(range)?;
        if total > u128::from(u64::MAX) * 1000 {
            return Err(range());
        }
        rest = tail;
    }
    Ok(total)
}

/// Formats a rate for people: `1.5 MHz`, `400 kHz`, `32768 Hz`.
pub fn format_hz(hz: u64) -> String {
    for (div, unit) in [(1_000_000_000, "GHz"), (1_000_000, "MHz"), (1_000, "kHz")] {
        if hz >= div {
            let whole = hz / div;
            let frac = hz % div;
            if frac == 0 {
                return format!("{whole} {unit}");
            }
            let s = format!("{:.3}", hz as f64 / div as f64);
            return format!("{} {unit}", s.trim_end_matches('0').trim_end_matches('.'));
        }
    }
    format!("{hz} Hz")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_forms() {
        assert_eq!(parse("1000000"), Ok(1_000_000));
        assert_eq!(parse("1M"), Ok(1_000_000));
        assert_eq!(parse("1M500K"), Ok(1_500_000));
        assert_eq!(parse("250k"), Ok(250_000));
        assert_eq!(parse("2G"), Ok(2_000_000_000));
    }

    #[test]
    fn decimals() {
        assert_eq!(parse("1.5M"), Ok(1_500_000));
        assert_eq!(parse("0.25k"), Ok(250));
        assert_eq!(parse(".5k"), Ok(500));
        assert!(matches!(parse("1.0005k"), Err(SiError::Fraction(_))));
        assert_eq!(parse_scaled("1501501.123", 1000), Ok(1_501_501_123));
        assert_eq!(parse_scaled("1.5", 1), Ok(2));
        assert_eq!(parse_scaled("0.0004", 1000), Ok(0));
    }

    #[test]
    fn rejects() {
        for s in ["", "M", "1X", "1..5M", "-1", "1 M", "1MM", "."] {
            assert!(matches!(parse(s), Err(SiError::Malformed(_))), "{s}");
        }
        assert!(matches!(
            parse("99999999999999999999"),
            Err(SiError::Range(_))
        ));
        assert!(matches!(parse("20000000T"), Err(SiError::Range(_))));
    }

    #[test]
    fn formatting() {
        assert_eq!(format_hz(1_500_000), "1.5 MHz");
        assert_eq!(format_hz(400_000), "400 kHz");
        assert_eq!(format_hz(999), "999 Hz");
        assert_eq!(format_hz(1_501_501), "1.502 MHz");
    }
}
