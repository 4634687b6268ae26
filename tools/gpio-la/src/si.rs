// SPDX-License-Identifier: GPL-2.0
//! SI-suffixed numbers as the upstream script takes them (`1M`, `1M500K`) and with decimals (`1.5M`).

use thiserror::Error;

/// A number that could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SiError {
    /// Empty, or not a number.
    #[error("'{0}' is not a number (examples: 1500000, 1.5M, 1M500K, 250k)")]
    Malformed(String),
    /// Does not fit in 64 bits, or has more decimals than the unit resolves.
    #[error("'{0}' is out of range")]
    Range(String),
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
    let bad = || SiError::Malformed(s.to_string());
    let range = || SiError::Range(s.to_string());
    let s = s.trim();
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut rest = s;
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
        let int: u64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| range())?
        };
        let mut value = int.checked_mul(mult).ok_or_else(range)?;
        // Decimal part, exactly: digits * mult / 10^len must be whole.
        if !frac.is_empty() {
            let digits: u64 = frac.parse().map_err(|_| range())?;
            let scale = 10u64.checked_pow(frac.len() as u32).ok_or_else(range)?;
            let scaled = u128::from(digits) * u128::from(mult);
            if scaled % u128::from(scale) != 0 {
                return Err(range());
            }
            value = value
                .checked_add(u64::try_from(scaled / u128::from(scale)).map_err(|_| range())?)
                .ok_or_else(range)?;
        }
        total = total.checked_add(value).ok_or_else(range)?;
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
        assert!(matches!(parse("1.0005k"), Err(SiError::Range(_))));
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
