// SPDX-License-Identifier: GPL-2.0
//! Value Change Dump output with real timestamps: sample `i` is stamped `i` periods of the *achieved* rate after
//! the first, in a timescale fine enough for that period, and only changes are written.

use anyhow::{bail, Result};
use std::io::{Read, Write};

/// Picks the coarsest power-of-ten timescale (in ps) at most a tenth of the period, so stamps keep three
/// significant digits of the period without bloating the file.
fn timescale_ps(rate_mhz: u64) -> u64 {
    // period in ps = 1e15 / rate_mHz
    let period_ps = (1_000_000_000_000_000u128 / u128::from(rate_mhz.max(1))) as u64;
    let mut ts = 1;
    while ts * 10 <= period_ps / 10 && ts < 1_000_000_000_000 {
        ts *= 10;
    }
    ts
}

fn timescale_str(ps: u64) -> String {
    let (v, unit) = match ps {
        p if p >= 1_000_000_000_000 => (p / 1_000_000_000_000, "s"),
        p if p >= 1_000_000_000 => (p / 1_000_000_000, "ms"),
        p if p >= 1_000_000 => (p / 1_000_000, "us"),
        p if p >= 1_000 => (p / 1_000, "ns"),
        p => (p, "ps"),
    };
    format!("{v} {unit}")
}

/// Short identifier of channel `i` from the printable ASCII range.
fn ident(mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.push((b'!' + (i % 94) as u8) as char);
        i /= 94;
        if i == 0 {
            return s;
        }
        i -= 1;
    }
}

/// Writes VCD for samples read from `data` (`unitsize` bytes each) taken at `rate_mhz` (milli-hertz), streaming.
pub fn write(
    out: &mut impl Write,
    probes: &[String],
    unitsize: usize,
    rate_mhz: u64,
    data: &mut impl Read,
) -> Result<u64> {
    if probes.is_empty() || probes.len() > unitsize * 8 || !matches!(unitsize, 1 | 2 | 4) {
        bail!(
            "{} probes do not fit {unitsize} byte(s) per sample",
            probes.len()
        );
    }
    if rate_mhz == 0 {
        bail!("the sample rate is unknown");
    }
    let ts = timescale_ps(rate_mhz);
    writeln!(out, "$date gpio-la capture $end")?;
    writeln!(out, "$version gpio-la {} $end", env!("CARGO_PKG_VERSION"))?;
    writeln!(
        out,
        "$comment achieved sample rate {}.{:03} Hz $end",
        rate_mhz / 1000,
        rate_mhz % 1000
    )?;
    writeln!(out, "$timescale {} $end", timescale_str(ts))?;
    writeln!(out, "$scope module logic $end")?;
    for (i, name) in probes.iter().enumerate() {
        let name: String = name
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { '_' })
            .collect();
        writeln!(out, "$var wire 1 {} {} $end", ident(i), name)?;
    }
    writeln!(out, "$upscope $end")?;
    writeln!(out, "$enddefinitions $end")?;

    let mask: u32 = if probes.len() == 32 {
        u32::MAX
    } else {
        (1u32 << probes.len()) - 1
    };
    let mut buf = vec![0u8; crate::sigrok::PIECE_BYTES];
    let mut prev: Option<u32> = None;
    let mut idx: u64 = 0;
    let mut last_t = 0u64;
    loop {
        let n = crate::sigrok::read_full(data, &mut buf)?;
        if n % unitsize != 0 {
            bail!("the sample data ends in a partial sample ({unitsize} bytes per sample)");
        }
        for s in buf[..n].chunks_exact(unitsize) {
            let mut b = [0u8; 4];
            b[..unitsize].copy_from_slice(s);
            let v = u32::from_le_bytes(b) & mask;
            // t = idx periods, in timescale units: idx * 1e15 / (rate_mHz * ts_ps)
            let t = (u128::from(idx) * 1_000_000_000_000_000
                / (u128::from(rate_mhz) * u128::from(ts))) as u64;
            let changed = match prev {
                None => mask,
                Some(p) => p ^ v,
            };
            if changed != 0 {
                writeln!(out, "#{t}")?;
                for ch in 0..probes.len() {
                    if changed & (1 << ch) != 0 {
                        writeln!(out, "{}{}", (v >> ch) & 1, ident(ch))?;
                    }
                }
            }
            prev = Some(v);
            last_t = t;
            idx += 1;
        }
        if n < buf.len() {
            break;
        }
    }
    if idx == 0 {
        bail!("no samples to write");
    }
    // Close the trace at the time of the last sample, so viewers show its full length.
    writeln!(out, "#{last_t}")?;
    Ok(idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timescales() {
        assert_eq!(timescale_str(timescale_ps(1_000_000_000)), "100 ns"); // 1 MHz
        assert_eq!(timescale_str(timescale_ps(1_500_000_000)), "10 ns"); // 1.5 MHz, 667 ns period
        assert_eq!(timescale_str(timescale_ps(1_000_000)), "100 us"); // 1 kHz
    }

    #[test]
    fn identifiers_are_unique() {
        let ids: std::collections::HashSet<_> = (0..1000).map(ident).collect();
        assert_eq!(ids.len(), 1000);
        assert_eq!(ident(0), "!");
    }

    #[test]
    fn changes_only_with_times() {
        let mut out = Vec::new();
        let data = [0b01u8, 0b01, 0b11, 0b10];
        let n = write(
            &mut out,
            &["A".into(), "B".into()],
            1,
            1_000_000_000,
            &mut &data[..],
        )
        .unwrap();
        assert_eq!(n, 4);
        let s = String::from_utf8(out).unwrap();
        let body = s.split("$enddefinitions $end\n").nth(1).unwrap();
        assert_eq!(body, "#0\n1!\n0\"\n#20\n1\"\n#30\n0!\n#30\n");
    }
}
