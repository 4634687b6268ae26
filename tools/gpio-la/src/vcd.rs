// SPDX-License-Identifier: GPL-2.0
//! Value Change Dump output with real timestamps: sample `i` is stamped `i` periods of the *achieved* rate after
//! the first, in a timescale fine enough for that period, and only changes are written.

use anyhow::{bail, Result};
use std::io::{Read, Write};

use crate::rate::Rate;

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

/// Bytes of samples read at a time (a multiple of every unit size).
const READ_BYTES: usize = 1 << 20;
/// Output is gathered in a buffer of about this size before it is written.
const OUT_BYTES: usize = 256 << 10;

/// "00" to "99", for formatting two digits at a time.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends the decimal digits of `v` to `out`.
fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    while v >= 100 {
        let d = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        tmp[i..i + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    }
    if v >= 10 {
        let d = v as usize * 2;
        i -= 2;
        tmp[i..i + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    } else {
        i -= 1;
        tmp[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&tmp[i..]);
}

/// `v` (the low `unitsize` bytes) repeated across a u64.
fn replicate(v: u32, unitsize: usize) -> u64 {
    match unitsize {
        1 => u64::from(v as u8) * 0x0101_0101_0101_0101,
        2 => u64::from(v as u16) * 0x0001_0001_0001_0001,
        _ => u64::from(v) * 0x0000_0001_0000_0001,
    }
}

/// Checks that `probes` can be written as VCD with `unitsize` bytes per sample.
pub fn check_layout(probes: &[String], unitsize: usize) -> Result<()> {
    if !matches!(unitsize, 1 | 2 | 4) {
        bail!("VCD output takes 1, 2 or 4 bytes per sample, not {unitsize}");
    }
    if probes.is_empty() || probes.len() > unitsize * 8 {
        bail!(
            "{} probes do not fit {unitsize} byte(s) per sample",
            probes.len()
        );
    }
    Ok(())
}

/// Writes VCD for samples read from `data` (`unitsize` bytes each) taken at `rate`, streaming. Finds changes a
/// word at a time and formats them by hand: the time stamp is computed only where something changed.
/// `progress` gets the input bytes done so far. Returns the number of samples.
pub fn write(
    out: &mut impl Write,
    probes: &[String],
    unitsize: usize,
    rate: Rate,
    data: &mut impl Read,
    progress: &mut dyn FnMut(u64),
) -> Result<u64> {
    check_layout(probes, unitsize)?;
    let rate_mhz = rate.mhz();
    let ts = timescale_ps(rate_mhz);
    let mut head = String::new();
    head.push_str("$date gpio-la capture $end\n");
    head.push_str(&format!(
        "$version gpio-la {} $end\n",
        env!("CARGO_PKG_VERSION")
    ));
    head.push_str(&format!(
        "$comment achieved sample rate {}.{:03} Hz $end\n",
        rate_mhz / 1000,
        rate_mhz % 1000
    ));
    head.push_str(&format!("$timescale {} $end\n", timescale_str(ts)));
    head.push_str("$scope module logic $end\n");
    for (i, name) in probes.iter().enumerate() {
        let name: String = name
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { '_' })
            .collect();
        head.push_str(&format!("$var wire 1 {} {} $end\n", ident(i), name));
    }
    head.push_str("$upscope $end\n$enddefinitions $end\n");
    out.write_all(head.as_bytes())?;

    let ids: Vec<Vec<u8>> = (0..probes.len()).map(|i| ident(i).into_bytes()).collect();
    let mask: u32 = if probes.len() == 32 {
        u32::MAX
    } else {
        (1u32 << probes.len()) - 1
    };
    // Sample i is at i * num / den ticks.
    let num: u128 = 1_000_000_000_000_000;
    let den: u128 = u128::from(rate_mhz) * u128::from(ts);
    let exact_step = (num % den == 0).then(|| num / den);
    let stamp = |idx: u64| -> Result<u64> {
        let t = match exact_step {
            Some(step) => u128::from(idx) * step,
            None => u128::from(idx) * num / den,
        };
        u64::try_from(t)
            .map_err(|_| anyhow::anyhow!("the capture is too long for a VCD at this rate"))
    };
    let per_word = 8 / unitsize;
    let rep_mask = replicate(mask, unitsize);
    let mut buf = vec![0u8; READ_BYTES];
    let mut text: Vec<u8> = Vec::with_capacity(OUT_BYTES + 4096);
    let mut prev: Option<u32> = None;
    let mut base: u64 = 0; // index of the first sample in `buf`
    let mut done_bytes = 0u64;
    loop {
        crate::interrupt::check()?;
        let n = crate::sigrok::read_full(data, &mut buf)?;
        if n % unitsize != 0 {
            bail!("the sample data ends in a partial sample ({unitsize} bytes per sample)");
        }
        let samples = n / unitsize;
        let sample = |i: usize| -> u32 {
            let mut b = [0u8; 4];
            b[..unitsize].copy_from_slice(&buf[i * unitsize..(i + 1) * unitsize]);
            u32::from_le_bytes(b) & mask
        };
        let mut i = 0;
        while i < samples {
            let v = sample(i);
            let changed = match prev {
                None => mask,
                Some(p) => p ^ v,
            };
            if changed != 0 {
                text.push(b'#');
                push_u64(&mut text, stamp(base + i as u64)?);
                text.push(b'\n');
                let mut bits = changed;
                while bits != 0 {
                    let ch = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    text.push(b'0' + ((v >> ch) & 1) as u8);
                    text.extend_from_slice(&ids[ch]);
                    text.push(b'\n');
                }
                if text.len() >= OUT_BYTES {
                    out.write_all(&text)?;
                    text.clear();
                }
                prev = Some(v);
            }
            i += 1;
            // Skip a word at a time while nothing changes.
            let rep_prev = replicate(v, unitsize);
            while i + per_word <= samples {
                let at = i * unitsize;
                let w = u64::from_le_bytes(buf[at..at + 8].try_into().unwrap_or([0; 8]));
                let diff = (w ^ rep_prev) & rep_mask;
                if diff != 0 {
                    i += diff.trailing_zeros() as usize / 8 / unitsize;
                    break;
                }
                i += per_word;
            }
        }
        base += samples as u64;
        done_bytes += n as u64;
        progress(done_bytes);
        if n < buf.len() {
            break;
        }
    }
    if base == 0 {
        bail!("no samples to write");
    }
    // Close the trace at the time of the last sample, so viewers show its full length.
    text.push(b'#');
    push_u64(&mut text, stamp(base - 1)?);
    text.push(b'\n');
    out.write_all(&text)?;
    Ok(base)
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
    fn digits() {
        for v in [
            0,
            5,
            9,
            10,
            42,
            99,
            100,
            101,
            999,
            1000,
            123456789,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            push_u64(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
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
            Rate::parse("1M").unwrap(),
            &mut &data[..],
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(n, 4);
        let s = String::from_utf8(out).unwrap();
        let body = s.split("$enddefinitions $end\n").nth(1).unwrap();
        assert_eq!(body, "#0\n1!\n0\"\n#20\n1\"\n#30\n0!\n#30\n");
    }

    /// The straightforward writer this one replaced: every sample, one u128 division each.
    fn reference(probes: usize, unitsize: usize, rate_mhz: u64, data: &[u8]) -> String {
        let ts = timescale_ps(rate_mhz);
        let mask: u32 = if probes == 32 {
            u32::MAX
        } else {
            (1 << probes) - 1
        };
        let mut out = String::new();
        let mut prev: Option<u32> = None;
        let mut last_t = 0;
        for (idx, s) in data.chunks_exact(unitsize).enumerate() {
            let mut b = [0u8; 4];
            b[..unitsize].copy_from_slice(s);
            let v = u32::from_le_bytes(b) & mask;
            let t = (idx as u128 * 1_000_000_000_000_000 / (u128::from(rate_mhz) * u128::from(ts)))
                as u64;
            let changed = prev.map_or(mask, |p| p ^ v);
            if changed != 0 {
                out.push_str(&format!("#{t}\n"));
                for ch in 0..probes {
                    if changed & (1 << ch) != 0 {
                        out.push_str(&format!("{}{}\n", (v >> ch) & 1, ident(ch)));
                    }
                }
            }
            prev = Some(v);
            last_t = t;
        }
        out.push_str(&format!("#{last_t}\n"));
        out
    }

    #[test]
    fn same_as_the_straightforward_writer() {
        let mut x = 99u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for (probes, unitsize) in [(2, 1), (8, 1), (9, 2), (16, 2), (17, 4), (32, 4)] {
            for rate in ["1M", "1501501.123", "32768", "0.5", "1T"] {
                // Long runs (the word skip) with changes at every alignment, and a stretch of noise.
                let mut data = Vec::new();
                let mut v = next();
                for i in 0..3000 {
                    if i > 2000 || next() % 9 == 0 {
                        v = next();
                    }
                    data.extend_from_slice(&v.to_le_bytes()[..unitsize]);
                }
                let names: Vec<String> = (0..probes).map(|i| format!("P{i}")).collect();
                let r = Rate::parse(rate).unwrap();
                let mut out = Vec::new();
                write(&mut out, &names, unitsize, r, &mut &data[..], &mut |_| {}).unwrap();
                let s = String::from_utf8(out).unwrap();
                let body = s.split("$enddefinitions $end\n").nth(1).unwrap();
                assert_eq!(
                    body,
                    reference(probes, unitsize, r.mhz(), &data),
                    "{probes} {rate}"
                );
            }
        }
    }

    #[test]
    fn layouts_vcd_cannot_hold() {
        let names: Vec<String> = (0..33).map(|i| format!("P{i}")).collect();
        let e = check_layout(&names, 8).unwrap_err().to_string();
        assert_eq!(e, "VCD output takes 1, 2 or 4 bytes per sample, not 8");
        let e = check_layout(&names, 4).unwrap_err().to_string();
        assert_eq!(e, "33 probes do not fit 4 byte(s) per sample");
    }
}
