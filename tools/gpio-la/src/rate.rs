// SPDX-License-Identifier: GPL-2.0
//! Sample rates with a fractional part, as the analyzer's `stats` reports them (`achieved_rate_hz=1501501.123`),
//! kept exactly in milli-hertz. A VCD keeps the fraction; a `.sr` file holds whole Hz (libsigrok's `samplerate`
//! is an integer), so it gets the rate rounded.

use std::fmt;

/// The finest VCD timescale, in picoseconds: a sample period below it would put two samples in one tick.
const FINEST_TICK_PS: u128 = 1;
/// Picoseconds in a second times a thousand: the period of a rate in mHz, in ps, is this / rate.
const PS_PER_S_MILLI: u128 = 1_000_000_000_000_000;

/// A sample rate in milli-hertz, above zero and with a sample period of at least one picosecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rate {
    mhz: u64,
}

impl Rate {
    /// The highest rate: one sample per picosecond, the finest VCD timescale.
    pub const MAX_HZ: u64 = 1_000_000_000_000;

    /// A rate of exactly `hz` Hz.
    pub fn from_hz(hz: u64) -> Result<Self, String> {
        Self::from_mhz(u128::from(hz) * 1000)
    }

    /// A rate of `mhz` milli-hertz, checked against the limits.
    pub fn from_mhz(mhz: u128) -> Result<Self, String> {
        if mhz == 0 {
            return Err("the sample rate must be above 0 Hz".into());
        }
        if PS_PER_S_MILLI / mhz < FINEST_TICK_PS {
            return Err(format!(
                "{} Hz is absurd: above {} a sample period is shorter than the finest VCD timescale (1 ps), \
                 so two samples would share one tick",
                Self::display_mhz(mhz),
                crate::si::format_hz(Self::MAX_HZ)
            ));
        }
        Ok(Self { mhz: mhz as u64 })
    }

    /// Parses a rate with SI suffixes and decimals (`1.5M`, `1M500K`, `1501501.123`); digits below a
    /// milli-hertz are rounded.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mhz = crate::si::parse_scaled(s, 1000).map_err(|e| e.to_string())?;
        Self::from_mhz(mhz)
    }

    /// The rate in milli-hertz.
    pub fn mhz(self) -> u64 {
        self.mhz
    }

    /// The rate rounded to whole Hz (what a `.sr` file can say): 0 below 0.5 Hz.
    pub fn whole_hz(self) -> u64 {
        (self.mhz + 500) / 1000
    }

    /// Whether the rate is a whole number of Hz.
    pub fn is_whole(self) -> bool {
        self.mhz % 1000 == 0
    }

    /// The sample period in ns, rounded (what the analyzer's `delay_ns` takes).
    pub fn period_ns(self) -> u64 {
        ((1_000_000_000_000u128 + u128::from(self.mhz) / 2) / u128::from(self.mhz)) as u64
    }

    /// The rate in Hz as a floating-point number (for JSON).
    pub fn hz_f64(self) -> f64 {
        self.mhz as f64 / 1000.0
    }

    fn display_mhz(mhz: u128) -> String {
        let frac = mhz % 1000;
        if frac == 0 {
            format!("{}", mhz / 1000)
        } else {
            format!("{}.{:03}", mhz / 1000, frac)
                .trim_end_matches('0')
                .to_string()
        }
    }
}

impl fmt::Display for Rate {
    /// For people: `1.5 MHz`, `1.502 MHz`, `0.5 Hz`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mhz < 1_000_000 {
            write!(f, "{} Hz", Self::display_mhz(u128::from(self.mhz)))
        } else {
            f.write_str(&crate::si::format_hz(self.whole_hz()))
        }
    }
}

/// Exact decimal of the rate in Hz (`1501501.123`, `1000000`), as `stats` writes it.
pub fn exact_hz(r: Rate) -> String {
    Rate::display_mhz(u128::from(r.mhz))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_from_stats() {
        let r = Rate::parse("1501501.123").unwrap();
        assert_eq!(r.mhz(), 1_501_501_123);
        assert_eq!(r.whole_hz(), 1_501_501);
        assert_eq!(exact_hz(r), "1501501.123");
        assert_eq!(Rate::parse("1501501.5").unwrap().whole_hz(), 1_501_502);
        assert_eq!(Rate::parse("1.5M").unwrap().mhz(), 1_500_000_000);
        assert_eq!(Rate::parse("1M500K").unwrap().mhz(), 1_500_000_000);
        assert_eq!(Rate::parse("0.5").unwrap().whole_hz(), 1);
        assert_eq!(Rate::parse("0.4").unwrap().whole_hz(), 0);
        // Below a milli-hertz: rounded.
        assert_eq!(Rate::parse("1000.0004").unwrap().mhz(), 1_000_000);
        assert_eq!(Rate::parse("1000.0005").unwrap().mhz(), 1_000_001);
        assert!(Rate::parse("1.5M").unwrap().is_whole());
    }

    #[test]
    fn absurd_rates() {
        assert!(Rate::parse("0").unwrap_err().contains("above 0 Hz"));
        assert!(Rate::parse("0.0001").unwrap_err().contains("above 0 Hz"));
        assert!(Rate::parse("1T").is_ok());
        assert!(Rate::parse("1.001T")
            .unwrap_err()
            .contains("two samples would share one tick"));
        assert!(Rate::parse("20000000T")
            .unwrap_err()
            .contains("out of range"));
        assert!(Rate::parse("1X").unwrap_err().contains("not a number"));
    }

    #[test]
    fn periods_and_display() {
        assert_eq!(Rate::parse("1M").unwrap().period_ns(), 1000);
        assert_eq!(Rate::parse("1.5M").unwrap().period_ns(), 667);
        assert_eq!(Rate::parse("1501501.123").unwrap().to_string(), "1.502 MHz");
        assert_eq!(Rate::parse("0.5").unwrap().to_string(), "0.5 Hz");
        assert_eq!(Rate::parse("32768").unwrap().to_string(), "32.768 kHz");
    }
}
