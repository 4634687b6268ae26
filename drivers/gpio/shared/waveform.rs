// SPDX-License-Identifier: GPL-2.0

//! Waveform programs for the replaying test GPIO chip.
//!
//! A program is a text line written to the chip's `program` debugfs file. It becomes a list of edges: at
//! `t_ns` after playback starts, the chip's lines take the value `state` (bit `n` = line `n`). Before playback
//! and after the last edge the lines hold the idle and the final state respectively.
//!
//! This module is `no_std` and allocation-free: generators hand each edge to a sink, so the kernel module
//! collects them in a `KVec` and the host crate (`tools/la-core`) in a `Vec`, and both run the same code.
//!
//! Grammar (tokens separated by blanks):
//!
//! ```text
//! edges  [idle=STATE] T_NS:STATE ...                 explicit edge list, times strictly increasing
//! i2c    [rate=HZ] [scl=LINE] [sda=LINE] SEGMENT [; SEGMENT ...]
//!        SEGMENT = (write|read) ADDR[n] BYTE[n] ...  7-bit address; a trailing `n` makes that byte NACKed;
//!                                                    `;` between segments is a repeated START
//! spi    [rate=HZ] [mode=0..3] [sck=L] [mosi=L] [miso=L] [cs=L] BYTE ... [/ MISO_BYTE ...]
//! uart   [baud=HZ] [tx=LINE] BYTE ...                8N1, LSB first, idle high
//! clock  [line=LINE] half_ns=NS count=N             square wave from low: N half periods of NS each
//! ```
//! Numbers (times, rates, lines, counts, states) are read as `number.rs` says, like `kstrtoull(s, 0)`: `0x`
//! hexadecimal, a leading `0` octal (`010` is 8), else decimal. BYTE is hexadecimal with or without `0x` (`de`,
//! `0xde`). Times add up in 64 bits: a program whose edges would lie beyond 2^64 - 1 ns is refused (`Overflow`).

use crate::number::parse_u64;

/// Lines a program may drive (the chip's width).
pub const MAX_LINES: u32 = 32;

/// Errors a program can have. Each maps to `EINVAL` in the kernel except [`ProgramError::TooLong`]
/// (`E2BIG`) and [`ProgramError::Overflow`] (`ERANGE`), and the host tools print them as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramError {
    /// The first word is not a known program kind.
    UnknownKind,
    /// A token could not be parsed (bad number, unknown option, missing value).
    BadToken,
    /// A line number is not below [`MAX_LINES`] or two roles share a line.
    BadLine,
    /// A rate of zero, or one so high that a bit lasts less than 4 ns.
    BadRate,
    /// Edge times are not strictly increasing.
    NotIncreasing,
    /// The program has no edges or no payload.
    Empty,
    /// More edges than the sink accepts.
    TooLong,
    /// An edge time does not fit 64 bits of nanoseconds.
    Overflow,
}

impl ProgramError {
    /// A short English description, used in kernel logs and host error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::UnknownKind => "unknown program kind (expected edges, i2c, spi, uart or clock)",
            Self::BadToken => "malformed token",
            Self::BadLine => "line number out of range or used twice",
            Self::BadRate => "rate out of range",
            Self::NotIncreasing => "edge times must be strictly increasing",
            Self::Empty => "program has no payload",
            Self::TooLong => "program has too many edges",
            Self::Overflow => "edge times overflow 64 bits of nanoseconds",
        }
    }
}

/// One change of the lines' state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// Time since the start of playback.
    pub t_ns: u64,
    /// State of all lines from `t_ns` on; bit `n` is line `n`.
    pub state: u32,
}

/// Receives the edges of a program in time order.
pub trait EdgeSink {
    /// Stores one edge; returns `Err(TooLong)` when full.
    fn push(&mut self, edge: Edge) -> Result<(), ProgramError>;
}

fn parse_line(s: &str) -> Result<u32, ProgramError> {
    let n = parse_u64(s).ok_or(ProgramError::BadToken)?;
    if n >= u64::from(MAX_LINES) {
        return Err(ProgramError::BadLine);
    }
    Ok(n as u32)
}

fn parse_byte(s: &str) -> Result<u8, ProgramError> {
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if hex.is_empty() || hex.len() > 2 {
        return Err(ProgramError::BadToken);
    }
    u8::from_str_radix(hex, 16).map_err(|_| ProgramError::BadToken)
}

/// Builds edges from level changes, dropping those that do not change anything.
struct Builder<'a, S: EdgeSink> {
    sink: &'a mut S,
    t_ns: u64,
    state: u32,
}

impl<'a, S: EdgeSink> Builder<'a, S> {
    fn new(sink: &'a mut S, idle: u32) -> Self {
        Self {
            sink,
            t_ns: 0,
            state: idle,
        }
    }

    /// Sets `line` to `high` at the current time.
    fn set(&mut self, line: u32, high: bool) -> Result<(), ProgramError> {
        let state = if high {
            self.state | (1 << line)
        } else {
            self.state & !(1 << line)
        };
        if state != self.state {
            self.state = state;
            self.sink.push(Edge {
                t_ns: self.t_ns,
                state,
            })?;
        }
        Ok(())
    }

    /// Moves the current time on by `ns`.
    fn wait(&mut self, ns: u64) -> Result<(), ProgramError> {
        self.t_ns = self.t_ns.checked_add(ns).ok_or(ProgramError::Overflow)?;
        Ok(())
    }
}

fn period_ns(rate_hz: u64, min_ns: u64) -> Result<u64, ProgramError> {
    if rate_hz == 0 {
        return Err(ProgramError::BadRate);
    }
    let p = 1_000_000_000 / rate_hz;
    if p < min_ns {
        return Err(ProgramError::BadRate);
    }
    Ok(p)
}

/// Splits `key=value`; returns `None` for a plain token.
fn option(tok: &str) -> Option<(&str, &str)> {
    tok.split_once('=')
}

/// Parses `program` and emits its edges into `sink`. Returns the idle state (lines before playback).
pub fn compile<S: EdgeSink>(program: &str, sink: &mut S) -> Result<u32, ProgramError> {
    let mut toks = program.split_ascii_whitespace();
    match toks.next() {
        Some("edges") => compile_edges(toks, sink),
        Some("i2c") => compile_i2c(toks, sink),
        Some("spi") => compile_spi(toks, sink),
        Some("uart") => compile_uart(toks, sink),
        Some("clock") => compile_clock(toks, sink),
        Some(_) => Err(ProgramError::UnknownKind),
        None => Err(ProgramError::Empty),
    }
}

fn compile_edges<'a, S: EdgeSink>(
    toks: impl Iterator<Item = &'a str>,
    sink: &mut S,
) -> Result<u32, ProgramError> {
    let mut idle = 0u32;
    let mut last: Option<u64> = None;
    for tok in toks {
        if let Some(("idle", v)) = option(tok) {
            if last.is_some() {
                return Err(ProgramError::BadToken);
            }
            idle = u32::try_from(parse_u64(v).ok_or(ProgramError::BadToken)?)
                .map_err(|_| ProgramError::BadLine)?;
            continue;
        }
        let (t, s) = tok.split_once(':').ok_or(ProgramError::BadToken)?;
        let t_ns = parse_u64(t).ok_or(ProgramError::BadToken)?;
        let state = u32::try_from(parse_u64(s).ok_or(ProgramError::BadToken)?)
            .map_err(|_| ProgramError::BadLine)?;
        if last.is_some_and(|l| t_ns <= l) {
            return Err(ProgramError::NotIncreasing);
        }
        last = Some(t_ns);
        sink.push(Edge { t_ns, state })?;
    }
    if last.is_none() {
        return Err(ProgramError::Empty);
    }
    Ok(idle)
}

fn distinct(lines: &[u32]) -> Result<(), ProgramError> {
    for (i, a) in lines.iter().enumerate() {
        if lines[i + 1..].contains(a) {
            return Err(ProgramError::BadLine);
        }
    }
    Ok(())
}

/// A byte and whether the receiver acknowledges it.
#[derive(Clone, Copy)]
struct AckedByte {
    value: u8,
    ack: bool,
}

fn parse_acked(
    tok: &str,
    parse: fn(&str) -> Result<u8, ProgramError>,
) -> Result<AckedByte, ProgramError> {
    match tok.strip_suffix('n') {
        Some(v) => Ok(AckedByte {
            value: parse(v)?,
            ack: false,
        }),
        None => Ok(AckedByte {
            value: parse(tok)?,
            ack: true,
        }),
    }
}

fn parse_addr(s: &str) -> Result<u8, ProgramError> {
    let a = parse_u64(s).ok_or(ProgramError::BadToken)?;
    if a > 0x7f {
        return Err(ProgramError::BadToken);
    }
    Ok(a as u8)
}

fn compile_i2c<'a, S: EdgeSink>(
    toks: impl Iterator<Item = &'a str>,
    sink: &mut S,
) -> Result<u32, ProgramError> {
    let mut toks = toks.peekable();
    let (mut rate, mut scl, mut sda) = (100_000u64, 0u32, 1u32);
    while let Some((k, v)) = toks.peek().and_then(|t| option(t)) {
        match k {
            "rate" => rate = parse_u64(v).ok_or(ProgramError::BadToken)?,
            "scl" => scl = parse_line(v)?,
            "sda" => sda = parse_line(v)?,
            _ => return Err(ProgramError::BadToken),
        }
        toks.next();
    }
    distinct(&[scl, sda])?;
    // One bit is SCL low for half a period then high for half; SDA changes a quarter period into the low half.
    let q = period_ns(rate, 4)? / 4;
    let idle = (1 << scl) | (1 << sda);
    let mut b = Builder::new(sink, idle);
    // Bus idle before START, so a trigger on START sees a clean falling SDA.
    b.wait(8 * q)?;

    let mut first = true;
    let mut any = false;
    loop {
        let dir = match toks.next() {
            Some("write") => 0u8,
            Some("read") => 1u8,
            Some(_) => return Err(ProgramError::BadToken),
            None if any => break,
            None => return Err(ProgramError::Empty),
        };
        let addr = parse_acked(toks.next().ok_or(ProgramError::Empty)?, parse_addr)?;
        if !first {
            // Repeated START: release SDA while SCL is low, raise SCL, then pull SDA down while SCL is high.
            b.set(sda, true)?;
            b.wait(q)?;
            b.set(scl, true)?;
            b.wait(q)?;
        }
        // START: SDA falls while SCL is high.
        b.set(sda, false)?;
        b.wait(2 * q)?;
        b.set(scl, false)?;
        b.wait(q)?;
        i2c_byte(&mut b, scl, sda, q, (addr.value << 1) | dir, addr.ack)?;
        let mut nacked = !addr.ack;
        while let Some(tok) = toks.peek() {
            if *tok == ";" {
                toks.next();
                break;
            }
            let byte = parse_acked(tok, parse_byte)?;
            toks.next();
            if nacked {
                // Nothing follows a NACK but STOP or a repeated START.
                return Err(ProgramError::BadToken);
            }
            i2c_byte(&mut b, scl, sda, q, byte.value, byte.ack)?;
            nacked = !byte.ack;
        }
        first = false;
        any = true;
    }
    // STOP: SDA low while SCL low, SCL rises, then SDA rises while SCL is high.
    b.set(sda, false)?;
    b.wait(q)?;
    b.set(scl, true)?;
    b.wait(q)?;
    b.set(sda, true)?;
    b.wait(8 * q)?;
    Ok(idle)
}

/// Emits 8 data bits and the ACK bit. Enters and leaves with SCL low, a quarter period after its falling edge
/// minus nothing: each bit starts with the SDA change.
fn i2c_byte<S: EdgeSink>(
    b: &mut Builder<'_, S>,
    scl: u32,
    sda: u32,
    q: u64,
    value: u8,
    ack: bool,
) -> Result<(), ProgramError> {
    for bit in (0..8)
        .rev()
        .map(|i| value & (1 << i) != 0)
        .chain(core::iter::once(!ack))
    {
        b.set(sda, bit)?;
        b.wait(q)?;
        b.set(scl, true)?;
        b.wait(2 * q)?;
        b.set(scl, false)?;
        b.wait(q)?;
    }
    Ok(())
}

fn compile_spi<'a, S: EdgeSink>(
    toks: impl Iterator<Item = &'a str>,
    sink: &mut S,
) -> Result<u32, ProgramError> {
    let mut toks = toks.peekable();
    let (mut rate, mut mode) = (1_000_000u64, 0u64);
    let (mut sck, mut mosi, mut miso, mut cs) = (0u32, 1u32, 2u32, 3u32);
    while let Some((k, v)) = toks.peek().and_then(|t| option(t)) {
        match k {
            "rate" => rate = parse_u64(v).ok_or(ProgramError::BadToken)?,
            "mode" => {
                mode = parse_u64(v)
                    .filter(|m| *m < 4)
                    .ok_or(ProgramError::BadToken)?
            }
            "sck" => sck = parse_line(v)?,
            "mosi" => mosi = parse_line(v)?,
            "miso" => miso = parse_line(v)?,
            "cs" => cs = parse_line(v)?,
            _ => return Err(ProgramError::BadToken),
        }
        toks.next();
    }
    distinct(&[sck, mosi, miso, cs])?;
    let mut out = [0u8; 256];
    let mut inp = [0u8; 256];
    let (mut n_out, mut n_in, mut in_part) = (0usize, 0usize, false);
    for tok in toks {
        if tok == "/" {
            if in_part {
                return Err(ProgramError::BadToken);
            }
            in_part = true;
            continue;
        }
        let v = parse_byte(tok)?;
        let (buf, n) = if in_part {
            (&mut inp, &mut n_in)
        } else {
            (&mut out, &mut n_out)
        };
        *buf.get_mut(*n).ok_or(ProgramError::TooLong)? = v;
        *n += 1;
    }
    if n_out == 0 || (in_part && n_in != n_out) {
        return Err(ProgramError::Empty);
    }
    let half = period_ns(rate, 2)? / 2;
    let cpol = mode & 2 != 0;
    let cpha = mode & 1 != 0;
    let idle = (1 << cs) | if cpol { 1 << sck } else { 0 };
    let mut b = Builder::new(sink, idle);
    b.wait(4 * half)?;
    b.set(cs, false)?;
    b.wait(half)?;
    for i in 0..n_out {
        let miso_byte = if in_part { inp[i] } else { 0 };
        for bit in (0..8).rev() {
            let (o, m) = (out[i] & (1 << bit) != 0, miso_byte & (1 << bit) != 0);
            if cpha {
                // Data changes on the leading edge and is sampled on the trailing one.
                b.set(sck, !cpol)?;
                b.set(mosi, o)?;
                b.set(miso, m)?;
                b.wait(half)?;
                b.set(sck, cpol)?;
                b.wait(half)?;
            } else {
                b.set(mosi, o)?;
                b.set(miso, m)?;
                b.wait(half)?;
                b.set(sck, !cpol)?;
                b.wait(half)?;
                b.set(sck, cpol)?;
            }
        }
    }
    b.wait(half)?;
    b.set(cs, true)?;
    b.wait(4 * half)?;
    Ok(idle)
}

fn compile_uart<'a, S: EdgeSink>(
    toks: impl Iterator<Item = &'a str>,
    sink: &mut S,
) -> Result<u32, ProgramError> {
    let mut toks = toks.peekable();
    let (mut baud, mut tx) = (115_200u64, 0u32);
    while let Some((k, v)) = toks.peek().and_then(|t| option(t)) {
        match k {
            "baud" => baud = parse_u64(v).ok_or(ProgramError::BadToken)?,
            "tx" => tx = parse_line(v)?,
            _ => return Err(ProgramError::BadToken),
        }
        toks.next();
    }
    let bit = period_ns(baud, 4)?;
    let idle = 1 << tx;
    let mut b = Builder::new(sink, idle);
    b.wait(2 * bit)?;
    let mut any = false;
    for tok in toks {
        let v = parse_byte(tok)?;
        let bits = core::iter::once(false)
            .chain((0..8).map(|i| v & (1 << i) != 0))
            .chain(core::iter::once(true));
        for level in bits {
            b.set(tx, level)?;
            b.wait(bit)?;
        }
        any = true;
    }
    if !any {
        return Err(ProgramError::Empty);
    }
    b.wait(2 * bit)?;
    // A trailing edge-free stretch still needs a final edge so the program has a defined length.
    Ok(idle)
}

fn compile_clock<'a, S: EdgeSink>(
    toks: impl Iterator<Item = &'a str>,
    sink: &mut S,
) -> Result<u32, ProgramError> {
    let (mut line, mut half, mut count) = (0u32, 0u64, 0u64);
    for tok in toks {
        match option(tok).ok_or(ProgramError::BadToken)? {
            ("line", v) => line = parse_line(v)?,
            ("half_ns", v) => half = parse_u64(v).ok_or(ProgramError::BadToken)?,
            ("count", v) => count = parse_u64(v).ok_or(ProgramError::BadToken)?,
            _ => return Err(ProgramError::BadToken),
        }
    }
    if half == 0 {
        return Err(ProgramError::BadRate);
    }
    if count == 0 {
        return Err(ProgramError::Empty);
    }
    let mut b = Builder::new(sink, 0);
    for i in 0..count {
        b.wait(half)?;
        b.set(line, i % 2 == 0)?;
    }
    Ok(0)
}

/// Returns the lines' state `t_ns` after playback started, given the program's idle state and edges.
pub fn state_at(idle: u32, edges: &[Edge], t_ns: u64) -> u32 {
    // Edges are sorted by time: the state is that of the last edge at or before `t_ns`.
    match edges.partition_point(|e| e.t_ns <= t_ns) {
        0 => idle,
        n => edges[n - 1].state,
    }
}
