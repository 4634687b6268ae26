// SPDX-License-Identifier: GPL-2.0
//! Inputs for fuzzing debugfs files: a seeded generator of what a careless or hostile root might write (numbers
//! at every boundary and in every base, lines of a file's own words in the wrong order, embedded NULs, invalid
//! UTF-8, empty and oversized writes), and how to deliver them (whole, split into several `write(2)` calls, at an
//! offset, or from a buffer that faults half-way). Deterministic: one seed, one sequence.

/// xorshift64*: small and deterministic, so a seed replays exactly.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (0 is taken as 1: xorshift has no zero state).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        // CAST: the remainder is below `n`, a usize.
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Values where parsers and arithmetic break: 0 and 1, powers of two and their neighbours up to 2^64, decimal
/// limits, and times that overflow when added to a clock.
pub const BOUNDARY_NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "7",
    "8",
    "9",
    "10",
    "31",
    "32",
    "33",
    "63",
    "64",
    "100",
    "101",
    "255",
    "256",
    "1000",
    "4095",
    "4096",
    "65535",
    "65536",
    "1000000",
    "1000000000",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999",
    "0x7fffffffffffffff",
    "0x8000000000000000",
    "0xffffffffffffffff",
    "0x10000000000000000",
    "010",
    "08",
    "0x",
    "0x+5",
    "++5",
    "-1",
    "-0",
    "+0",
    "1e9",
    "1.5",
    " 5",
    "5 ",
    "",
];

/// Lengths around the limits the modules' files enforce (32-byte numbers, 256-byte fault lines, 1 KiB device lines,
/// 2 KiB triggers, a page, 64 KiB programs) and one far beyond.
pub const BOUNDARY_LENGTHS: &[usize] = &[
    31,
    32,
    33,
    255,
    256,
    257,
    1023,
    1024,
    1025,
    2047,
    2048,
    2049,
    2050,
    4095,
    4096,
    4097,
    65535,
    65536,
    65537,
    1 << 20,
];

/// The words a file understands, by its name: its commands, keys and some values, valid and not.
pub fn words(file_name: &str) -> &'static [&'static str] {
    match file_name {
        "program" => &[
            "edges", "i2c", "spi", "uart", "clock", "idle=", "rate=", "scl=", "sda=", "write",
            "read", ";", "mode=", "sck=", "mosi=", "miso=", "cs=", "/", "baud=", "tx=", "line=",
            "half_ns=", "count=", "de", "0x50", "ffn", "0x7f", "1:0x1", "100:0x2", "200:0x3",
            "0:0",
        ],
        "play" => &["stop", "0", "1000000000"],
        "new_device" => &[
            "fz0",
            "fz1",
            "fz2",
            "gpio-waveform",
            "no-such-chip",
            "0",
            "0-1",
            "2-9",
            "10-12",
            "0-31",
            "31",
            "5,7",
            "65535",
            "65536",
            "4294967295",
            "names=A,B",
            "names=",
            "names=A",
            "names=a/b",
        ],
        "delete_device" => &["fz0", "fz1", "fz2", "fza", "fzb", "i2c"],
        "trigger_expr" => &[
            "1H", "2L", "3R", "4F", "5E", "+", ",", "32H", "33H", "0H", "1Q", "1H+1L",
        ],
        "faults" => &[
            "fail_nth=",
            "stuck_busy=",
            "lose_events=",
            "slow_us=",
            "hang=",
            "remove=",
            "0",
            "1",
        ],
        "control" => &[
            "add",
            "remove",
            "fail",
            "hotkey",
            "name=fz0",
            "name=fz1",
            "name=",
            "name=.",
            "name=..",
            "name=a b",
            "type=raw",
            "type=platform",
            "type=firmware",
            "type=laser",
            "max=",
            "brightness=",
            "clamp=",
            "errno=",
        ],
        "connected" => &["0", "1"],
        _ => &[],
    }
}

/// Well-formed lines of a file, with `{n}` (a small or boundary number), `{d}` (0 to 3), `{b}` (0 or 1), `{t}` (a
/// backlight type), `{c}` (a trigger term) for the generator to fill in: they get past the parsers, into the
/// states (instances, backlights, faults, programs) the rest of the inputs then hit.
pub fn templates(file_name: &str) -> &'static [&'static str] {
    match file_name {
        "program" => &[
            "edges idle={n} {n}:{n} {n}:{n}",
            "i2c rate={n} write 0x50 de ad ; read 0x50 12n",
            "clock line={d} half_ns={n} count={n}",
            "uart baud={n} tx={d} 55 aa",
            "spi rate={n} mode={d} a5 5a / 3c c3",
        ],
        "play" => &["{n}", "stop", "0"],
        "new_device" => &[
            "fz{d} gpio-waveform 1{d}",
            "fz{d} gpio-waveform 2{d}-2{n} names=A,B",
            "fz{d} gpio-waveform {n}",
        ],
        "delete_device" => &["fz{d}", "fza", "fzb"],
        "faults" => &[
            "fail_nth={n}",
            "stuck_busy={b}",
            "lose_events={n}",
            "slow_us={n}",
            "hang={b}",
            "fail_nth={n} hang={b} slow_us={n}",
        ],
        "control" => &[
            "add name=fz{d} type={t} max={n} brightness={n}",
            "add name=fz{d} max={n} clamp={n}",
            "remove name=fz{d}",
            "fail name=fz{d} errno={n}",
            "hotkey name=fz{d} brightness={n}",
        ],
        "connected" => &["{b}"],
        "trigger_expr" => &["{c}", "{c}+{c}", "{c},{c}+{c}"],
        "capture" | "delay_ns" | "buf_size" | "trigger_timeout_ms" | "pretrigger_percent" => {
            &["{n}"]
        }
        _ => &[],
    }
}

/// A template of the file with its fields filled in, or `None` if the file has none.
fn from_template(file_name: &str, rng: &mut Rng) -> Option<String> {
    let all = templates(file_name);
    if all.is_empty() {
        return None;
    }
    let t = *rng.pick(all);
    let mut out = String::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        // Every field is three characters; `rest.len()` ends a malformed template.
        let field = rest.get(open..open + 3).unwrap_or("{c}");
        match field {
            "{n}" if rng.one_in(4) => out.push_str(number(rng).trim_end()),
            "{n}" => out.push_str(&(rng.next_u64() % 1000).to_string()),
            "{d}" => out.push_str(&rng.below(4).to_string()),
            "{b}" => out.push_str(&rng.below(2).to_string()),
            "{t}" => out.push_str(rng.pick::<&str>(&["raw", "platform", "firmware"])),
            _ => {
                out.push_str(&(1 + rng.below(33)).to_string());
                out.push(*rng.pick(&['L', 'H', 'R', 'F', 'E']));
            }
        }
        rest = rest.get(open + 3..).unwrap_or("");
    }
    out.push_str(rest);
    if rng.one_in(2) {
        out.push('\n');
    }
    Some(out)
}

/// A number as text: a boundary value or a random one, in decimal, hex or octal, now and then signed, padded, with
/// a trailing newline or trailing junk.
pub fn number(rng: &mut Rng) -> String {
    let mut s = if rng.one_in(2) {
        String::from(*rng.pick(BOUNDARY_NUMBERS))
    } else {
        let v = match rng.below(4) {
            0 => rng.next_u64(),
            1 => rng.next_u64() % 100,
            2 => rng.next_u64() % 100_000,
            _ => rng.next_u64() >> rng.below(64),
        };
        match rng.below(6) {
            0 => format!("{v:#x}"),
            1 => format!("0X{v:X}"),
            2 => format!("0{v:o}"),
            _ => v.to_string(),
        }
    };
    match rng.below(20) {
        0 => s.insert(0, '-'),
        1 => s.insert(0, '+'),
        2 => s.insert(0, ' '),
        3 => s.push('x'),
        4..=7 => s.push('\n'),
        _ => {}
    }
    s
}

/// A short token that means nothing to anyone.
fn junk_word(rng: &mut Rng) -> String {
    const CHARS: &[u8] = b"abcxyz019_-.=:,;/+ \t\\'\"%";
    (0..1 + rng.below(8))
        .map(|_| *rng.pick(CHARS) as char)
        .collect()
}

/// What goes between the words of a line: mostly a blank.
const SEPARATORS: &[&str] = &[" ", " ", " ", "  ", "\t", ",", "\n"];

/// A line of the file's own words: commands and keys in any order, keys with numbers, some junk.
fn line(name: &str, rng: &mut Rng) -> String {
    let words = words(name);
    let mut out = String::new();
    for i in 0..1 + rng.below(8) {
        if i > 0 {
            let sep = *rng.pick::<&str>(SEPARATORS);
            out.push_str(sep);
        }
        match rng.below(10) {
            0..=5 if !words.is_empty() => {
                let w = *rng.pick(words);
                out.push_str(w);
                if w.ends_with('=') && !rng.one_in(8) {
                    out.push_str(number(rng).trim_end());
                }
            }
            6 | 7 => out.push_str(number(rng).trim_end()),
            _ => out.push_str(&junk_word(rng)),
        }
    }
    if rng.one_in(2) {
        out.push('\n');
    }
    out
}

/// Damages `bytes` in place: a NUL, a flipped byte, invalid UTF-8, a cut, or a doubling.
fn mutate(bytes: &mut Vec<u8>, rng: &mut Rng) {
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(5) {
            0 => bytes.insert(at, 0),
            1 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
            2 => bytes.insert(at, *rng.pick(&[0xff, 0xc3, 0x80, 0xfe])),
            3 => bytes.truncate(at),
            _ => {
                let copy = bytes.clone();
                bytes.extend_from_slice(&copy);
            }
        }
    }
}

/// One input for the file named `name` (its last path component).
pub fn input(name: &str, rng: &mut Rng) -> Vec<u8> {
    if rng.one_in(4) {
        if let Some(line) = from_template(name, rng) {
            return line.into_bytes();
        }
    }
    match rng.below(20) {
        0..=4 => number(rng).into_bytes(),
        5..=10 => line(name, rng).into_bytes(),
        11..=13 => {
            let mut b = line(name, rng).into_bytes();
            mutate(&mut b, rng);
            b
        }
        14 | 15 => (0..rng.below(64)).map(|_| rng.next_u64() as u8).collect(),
        16 | 17 => {
            let len = *rng.pick(BOUNDARY_LENGTHS);
            let unit = match rng.below(3) {
                0 => b"9".to_vec(),
                1 => b"a".to_vec(),
                _ => line(name, rng).into_bytes(),
            };
            unit.iter().copied().cycle().take(len).collect()
        }
        _ => rng
            .pick(&[&b""[..], b"\n", b" ", b"\0", b"0\0", b"1\n\0", b"\xff"])
            .to_vec(),
    }
}

/// How an input reaches the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// One `write(2)` of everything.
    Whole,
    /// Several `write(2)` calls on one open file, cut at these offsets (increasing, inside the input).
    Split(Vec<usize>),
    /// One `pwrite(2)` at this file offset.
    At(i64),
    /// One `write(2)` from a buffer whose second half is an inaccessible page (`EFAULT` part-way).
    Faulting,
}

/// A delivery for an input of `len` bytes.
pub fn delivery(len: usize, rng: &mut Rng) -> Delivery {
    match rng.below(10) {
        0..=5 => Delivery::Whole,
        6 | 7 if len > 1 => {
            let mut cuts: Vec<usize> = (0..1 + rng.below(3))
                .map(|_| 1 + rng.below(len - 1))
                .collect();
            cuts.sort_unstable();
            cuts.dedup();
            Delivery::Split(cuts)
        }
        8 => Delivery::At(*rng.pick(&[1, 7, 4096, 1 << 31, i64::MAX])),
        _ if len > 0 => Delivery::Faulting,
        _ => Delivery::Whole,
    }
}

/// `bytes` for a log line: printable ASCII as is, everything else escaped; long inputs shortened.
pub fn escape(bytes: &[u8]) -> String {
    const SHOWN: usize = 120;
    let mut out = String::new();
    for &b in bytes.iter().take(SHOWN) {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > SHOWN {
        out.push_str(&format!("... ({} bytes)", bytes.len()));
    }
    out
}

#[cfg(test)]
mod tests;
