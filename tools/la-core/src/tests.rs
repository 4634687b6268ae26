// SPDX-License-Identifier: GPL-2.0
//! Host tests of the shared logic.

use crate::{number, samples, spec, timing::*, trigger::*, waveform::*};
use std::vec::Vec;

fn steps(text: &str, probes: u32) -> Result<Vec<Step>, TriggerError> {
    let mut v = Vec::new();
    parse_expr(text, probes, &mut |s| {
        v.push(s);
        Ok(())
    })?;
    Ok(v)
}

#[test]
fn expr_levels_and_edges() {
    let s = steps("1H+2F,3R", 8).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(
        s[0],
        Step {
            mask: 1,
            value: 1,
            fall: 2,
            ..Step::default()
        }
    );
    assert_eq!(
        s[1],
        Step {
            rise: 4,
            ..Step::default()
        }
    );
}

#[test]
fn expr_rejects_bad_input() {
    assert_eq!(steps("0H", 8), Err(TriggerError::BadChannel));
    assert_eq!(steps("9H", 8), Err(TriggerError::BadChannel));
    assert_eq!(steps("33H", 32), Err(TriggerError::BadChannel));
    assert_eq!(steps("1X", 8), Err(TriggerError::BadTerm));
    assert_eq!(steps("H", 8), Err(TriggerError::BadTerm));
    assert_eq!(steps("1H+1L", 8), Err(TriggerError::Conflict));
    assert_eq!(steps("1H,,2L", 8), Err(TriggerError::Empty));
    assert_eq!(steps("1H+", 8), Err(TriggerError::Empty));
    assert_eq!(steps("  ", 8), Ok(Vec::new()));
    let long = "1H,".repeat(MAX_STEPS + 1) + "1H";
    assert_eq!(steps(&long, 8), Err(TriggerError::TooLong));
}

#[test]
fn edges_need_a_previous_sample() {
    let s = steps("1R", 1).unwrap();
    let mut m = Matcher::default();
    // A first sample that is already high is not a rising edge.
    assert!(!m.feed(&s, 1));
    assert!(!m.feed(&s, 0));
    assert!(m.feed(&s, 1));
}

#[test]
fn i2c_start_trigger_fires_on_start_only() {
    // SCL = ch1 high and SDA = ch2 falling: an I2C START.
    let s = steps("1H+2F", 2).unwrap();
    let mut m = Matcher::default();
    for state in [0b11, 0b11, 0b10, 0b00, 0b01] {
        // Data changes while SCL is low never match.
        assert!(!m.feed(&s, state), "state {state:#b}");
    }
    let mut m = Matcher::default();
    assert!(!m.feed(&s, 0b11));
    assert!(m.feed(&s, 0b01));
}

#[test]
fn steps_are_matched_by_distinct_samples() {
    let s = steps("1H,1H", 1).unwrap();
    let mut m = Matcher::default();
    assert!(!m.feed(&s, 1));
    assert!(m.feed(&s, 1));
}

#[test]
fn pairs_match_upstream() {
    let mut v = Vec::new();
    parse_pairs(&[3, 3, 3, 1], &mut |s| {
        v.push(s);
        Ok(())
    })
    .unwrap();
    assert_eq!(
        v,
        [
            Step {
                mask: 3,
                value: 3,
                ..Step::default()
            },
            Step {
                mask: 3,
                value: 1,
                ..Step::default()
            }
        ]
    );
    assert_eq!(
        parse_pairs(&[1], &mut |_| Ok(())),
        Err(TriggerError::OddLength)
    );
    assert_eq!(
        parse_pairs(&[0; 2050], &mut |_| Ok(())),
        Err(TriggerError::TooLong)
    );
    assert_eq!(parse_pairs(&[0; 2048], &mut |_| Ok(())), Ok(()));
}

#[test]
fn expr_to_pairs_matches_upstream_script() {
    // The upstream script turns "1H+2F" into (3,3),(3,1).
    let mut out = [0u8; 16];
    let n = expr_to_pairs("1H+2F", &mut out).unwrap();
    assert_eq!(&out[..n], &[3, 3, 3, 1]);
    let n = expr_to_pairs("1L", &mut out).unwrap();
    assert_eq!(&out[..n], &[1, 0]);
    assert_eq!(expr_to_pairs("1E", &mut out), Err(TriggerError::BadTerm));
    assert_eq!(expr_to_pairs("9H", &mut out), Err(TriggerError::BadChannel));
}

#[test]
fn timing_stats() {
    let mut t = TimingStats::new(1000);
    let mut prev = 0;
    for n in 0..100u64 {
        let due = n * 1000;
        // Sample 50 is 2.5 periods late; the two after it catch up 100 ns after their predecessor.
        let taken = match n {
            0 => 10,
            50 => due + 2500,
            _ => (due + 10).max(prev + 100),
        };
        t.record(due, taken);
        prev = taken;
    }
    assert_eq!(t.samples, 100);
    assert_eq!(t.late_samples, 2); // 50 (2500 late) and 51 (1600 late); 52 is 700 late
    assert_eq!(t.max_late_ns, 2500);
    assert_eq!(t.min_interval_ns, 100);
    assert_eq!(t.max_interval_ns, 3490);
    assert!(
        t.p99_late_ns() >= 1600 * 7 / 8 && t.p99_late_ns() <= 2500,
        "{}",
        t.p99_late_ns()
    );
    assert_eq!(t.mean_interval_ns(), 1000);
    assert_eq!(t.achieved_rate_mhz(), 1_000_000_000);
}

#[test]
fn timing_p99_of_uniform_lateness() {
    let mut t = TimingStats::new(1_000_000);
    for n in 0..1000u64 {
        t.record(n * 1_000_000, n * 1_000_000 + n);
    }
    let p = t.p99_late_ns();
    // True p99 is 989; buckets are 1/8 wide.
    assert!((989..=1130).contains(&p), "p99 {p}");
}

#[test]
fn period_rounding() {
    assert_eq!(period_for_rate(1_500_000), Some(667));
    assert_eq!(period_for_rate(1_000_000), Some(1000));
    assert_eq!(period_for_rate(0), None);
    assert_eq!(period_for_rate(2_000_000_000), None);
}

#[test]
fn packing() {
    assert_eq!(samples::unit_size(8), 1);
    assert_eq!(samples::unit_size(9), 2);
    assert_eq!(samples::unit_size(17), 4);
    let mut buf = [0u8; 8];
    assert!(samples::put(&mut buf, 2, 1, 0x1234));
    assert_eq!(buf[2..4], [0x34, 0x12]);
    assert_eq!(samples::get(&buf, 2, 1), Some(0x1234));
    assert!(!samples::put(&mut buf, 4, 2, 1));
    assert!(!samples::put(&mut buf, 4, usize::MAX, 1));
}

#[test]
fn pre_ring_linearizes() {
    let mut buf = [0u8; 8];
    let mut ring = samples::PreRing::new(4);
    for v in 1..=6u8 {
        let i = ring.slot().unwrap();
        buf[i] = v;
    }
    assert_eq!(ring.linearize(&mut buf, 1), 4);
    assert_eq!(&buf[..4], &[3, 4, 5, 6]);
    let mut ring = samples::PreRing::new(4);
    buf[ring.slot().unwrap()] = 9;
    assert_eq!(ring.linearize(&mut buf, 1), 1);
    assert_eq!(buf[0], 9);
    assert!(samples::PreRing::new(0).slot().is_none());
}

#[test]
fn numbers_like_kstrtoull() {
    assert_eq!(number::parse_u64("1000\n"), Some(1000));
    assert_eq!(number::parse_u64("0x10"), Some(16));
    assert_eq!(number::parse_u64("010"), Some(8));
    assert_eq!(number::parse_u64("0"), Some(0));
    assert_eq!(number::parse_u64(""), None);
    assert_eq!(number::parse_u64("-1"), None);
    assert_eq!(number::parse_u64("12a"), None);
    assert_eq!(number::parse_u64("99999999999999999999"), None);
}

#[test]
fn new_device_lines() {
    let mut lines = Vec::new();
    let d = spec::parse_new_device(
        "i2c gpio-waveform 0-1 other 5 names=SCL,SDA,X",
        32,
        &mut |c, o| {
            lines.push((c, o));
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(d.name, "i2c");
    assert_eq!(d.lines, 3);
    assert_eq!(d.names, Some("SCL,SDA,X"));
    assert_eq!(
        lines,
        [("gpio-waveform", 0), ("gpio-waveform", 1), ("other", 5)]
    );
    let mut nop = |_: &str, _: u32| Ok(());
    assert_eq!(
        spec::parse_new_device("", 32, &mut nop).unwrap_err(),
        spec::SpecError::BadName
    );
    assert_eq!(
        spec::parse_new_device("a/b chip 0", 32, &mut nop).unwrap_err(),
        spec::SpecError::BadName
    );
    assert_eq!(
        spec::parse_new_device("x chip", 32, &mut nop).unwrap_err(),
        spec::SpecError::BadOffsets
    );
    assert_eq!(
        spec::parse_new_device("x chip 3-1", 32, &mut nop).unwrap_err(),
        spec::SpecError::BadOffsets
    );
    assert_eq!(
        spec::parse_new_device("x chip 0-32", 32, &mut nop).unwrap_err(),
        spec::SpecError::TooMany
    );
    assert_eq!(
        spec::parse_new_device("x chip 0-1 names=A", 32, &mut nop).unwrap_err(),
        spec::SpecError::NameCount
    );
    assert_eq!(
        spec::parse_new_device("x names=A", 32, &mut nop).unwrap_err(),
        spec::SpecError::BadOffsets
    );
    assert!(
        !spec::parse_new_device("x chip 0", 32, &mut nop)
            .unwrap()
            .in_place
    );
}

#[test]
fn new_device_in_place() {
    let mut lines = Vec::new();
    let d = spec::parse_new_device(
        "i2c1 in-place pinctrl-bcm2835 2-3 names=SDA,SCL",
        32,
        &mut |c, o| {
            lines.push((c, o));
            Ok(())
        },
    )
    .unwrap();
    assert!(d.in_place);
    assert_eq!(d.lines, 2);
    // The word is not taken for a chip label, wherever it stands after the name.
    assert_eq!(lines, [("pinctrl-bcm2835", 2), ("pinctrl-bcm2835", 3)]);
    let d = spec::parse_new_device("i2c1 pinctrl-bcm2835 2-3 in-place", 32, &mut |_, _| Ok(()))
        .unwrap();
    assert!(d.in_place);
    // Alone it is no line.
    assert_eq!(
        spec::parse_new_device("x in-place", 32, &mut |_, _| Ok(())).unwrap_err(),
        spec::SpecError::BadOffsets
    );
    // As the instance name it is a name.
    let d = spec::parse_new_device("in-place chip 0", 32, &mut |_, _| Ok(())).unwrap();
    assert_eq!(d.name, "in-place");
    assert!(!d.in_place);
}

struct VecSink(Vec<Edge>);
impl EdgeSink for VecSink {
    fn push(&mut self, e: Edge) -> Result<(), ProgramError> {
        self.0.push(e);
        Ok(())
    }
}

fn compile_vec(p: &str) -> Result<(u32, Vec<Edge>), ProgramError> {
    let mut s = VecSink(Vec::new());
    let idle = compile(p, &mut s)?;
    Ok((idle, s.0))
}

/// Decodes I2C from a list of edges the way a logic analyzer would: sample SDA on SCL rising edges, find
/// START/STOP as SDA changes while SCL is high. Returns (bytes, acks).
fn decode_i2c(idle: u32, edges: &[Edge]) -> (Vec<u8>, Vec<bool>) {
    let (mut prev, mut bits, mut bytes, mut acks) = (idle, Vec::new(), Vec::new(), Vec::new());
    for e in edges {
        let (scl0, sda0, scl1, sda1) = (prev & 1, prev >> 1 & 1, e.state & 1, e.state >> 1 & 1);
        if scl0 == 1 && scl1 == 1 && sda0 != sda1 {
            bits.clear(); // START or STOP
        } else if scl0 == 0 && scl1 == 1 {
            bits.push(sda1 as u8);
            if bits.len() == 9 {
                bytes.push(bits[..8].iter().fold(0u8, |a, b| a << 1 | b));
                acks.push(bits[8] == 0);
                bits.clear();
            }
        }
        prev = e.state;
    }
    (bytes, acks)
}

#[test]
fn i2c_program_decodes_to_its_bytes() {
    let (idle, edges) = compile_vec("i2c rate=400000 write 0x50 de ad ; read 0x50 12 34n").unwrap();
    let (bytes, acks) = decode_i2c(idle, &edges);
    assert_eq!(bytes, [0xa0, 0xde, 0xad, 0xa1, 0x12, 0x34]);
    assert_eq!(acks, [true, true, true, true, true, false]);
    // 400 kHz: 2.5 us per bit.
    let bit_edges: Vec<_> = edges.windows(2).map(|w| w[1].t_ns - w[0].t_ns).collect();
    assert!(bit_edges.iter().all(|d| *d >= 625), "{bit_edges:?}");
}

#[test]
fn i2c_nack_ends_segment() {
    let (idle, edges) = compile_vec("i2c write 0x51n").unwrap();
    let (bytes, acks) = decode_i2c(idle, &edges);
    assert_eq!(bytes, [0xa2]);
    assert_eq!(acks, [false]);
    assert_eq!(
        compile_vec("i2c write 0x51n 00"),
        Err(ProgramError::BadToken)
    );
}

#[test]
fn uart_frames() {
    let (idle, edges) = compile_vec("uart baud=1000000 tx=2 55").unwrap();
    assert_eq!(idle, 4);
    // 0x55 = 01010101 LSB first after a start bit: every bit toggles, 10 bits, 9 changes + stop.
    assert_eq!(edges.len(), 10);
    assert_eq!(
        edges[0],
        Edge {
            t_ns: 2000,
            state: 0
        }
    );
    assert_eq!(state_at(idle, &edges, 2000 + 1000), 4); // bit 0 = 1
}

#[test]
fn spi_mode0_samples_on_rising_edges() {
    let (idle, edges) = compile_vec("spi mode=0 a5 / 3c").unwrap();
    let (mut prev, mut mosi, mut miso) = (idle, 0u8, 0u8);
    for e in &edges {
        if prev & 1 == 0 && e.state & 1 == 1 {
            mosi = mosi << 1 | (e.state >> 1 & 1) as u8;
            miso = miso << 1 | (e.state >> 2 & 1) as u8;
        }
        prev = e.state;
    }
    assert_eq!((mosi, miso), (0xa5, 0x3c));
    assert_eq!(compile_vec("spi a5 / 3c 3c"), Err(ProgramError::Empty));
}

#[test]
fn program_errors() {
    assert_eq!(
        compile_vec("edges 5:1 5:2"),
        Err(ProgramError::NotIncreasing)
    );
    assert_eq!(compile_vec("edges"), Err(ProgramError::Empty));
    assert_eq!(compile_vec("i2c"), Err(ProgramError::Empty));
    assert_eq!(
        compile_vec("i2c scl=32 write 1"),
        Err(ProgramError::BadLine)
    );
    assert_eq!(
        compile_vec("i2c rate=500000000 write 1"),
        Err(ProgramError::BadRate)
    );
    assert_eq!(compile_vec("uart 100"), Err(ProgramError::BadToken));
    assert_eq!(compile_vec("bogus"), Err(ProgramError::UnknownKind));
}

#[test]
fn clock_square_wave() {
    let (idle, edges) = compile_vec("clock line=3 half_ns=500 count=4").unwrap();
    assert_eq!(idle, 0);
    assert_eq!(
        edges,
        [
            Edge {
                t_ns: 500,
                state: 8
            },
            Edge {
                t_ns: 1000,
                state: 0
            },
            Edge {
                t_ns: 1500,
                state: 8
            },
            Edge {
                t_ns: 2000,
                state: 0
            }
        ]
    );
    assert_eq!(compile_vec("clock count=3"), Err(ProgramError::BadRate));
    assert_eq!(compile_vec("clock half_ns=10"), Err(ProgramError::Empty));
    assert_eq!(
        compile_vec("clock half_ns=10 count=2 bogus"),
        Err(ProgramError::BadToken)
    );
}

/// Issue 10, point 8: the analyzer and the waveform chip read `010` differently (8 and 10), and a sign after
/// `0x` or a second `+` got through: one parser now, with kstrtoull's meaning, for every number of both.
#[test]
fn one_number_syntax() {
    assert_eq!(number::parse_u64("010"), Some(8));
    assert_eq!(number::parse_u64("+0x10\n"), Some(16));
    assert_eq!(number::parse_u64("0X1f"), Some(31));
    assert_eq!(number::parse_u64("00"), Some(0));
    assert_eq!(number::parse_u64("18446744073709551615"), Some(u64::MAX));
    for bad in [
        "08",
        "0x",
        "0xg",
        "++5",
        "0x+5",
        "0+5",
        "+",
        " 5",
        "5 ",
        "5\n\n",
        "1_000",
        "-0",
        "18446744073709551616",
    ] {
        assert_eq!(number::parse_u64(bad), None, "{bad:?}");
    }
    // The waveform chip's programs read numbers the same way.
    let mut edges = Vec::new();
    struct Collect<'a>(&'a mut Vec<Edge>);
    impl EdgeSink for Collect<'_> {
        fn push(&mut self, e: Edge) -> Result<(), ProgramError> {
            self.0.push(e);
            Ok(())
        }
    }
    assert_eq!(
        compile("edges idle=010 010:0x1", &mut Collect(&mut edges)),
        Ok(8)
    );
    assert_eq!(edges, [Edge { t_ns: 8, state: 1 }]);
    // And the trigger's channel numbers and new_device's offsets.
    assert_eq!(steps("010H", 8).unwrap()[0].mask, 1 << 7);
    let mut lines = Vec::new();
    spec::parse_new_device("x chip 010-0x9", 32, &mut |c, o| {
        lines.push((c, o));
        Ok(())
    })
    .unwrap();
    assert_eq!(lines, [("chip", 8), ("chip", 9)]);
}

/// Issue 10, point 7: edge times that overflow 64 bits are an error (they panicked with overflow checks on).
#[test]
fn time_overflow_is_an_error() {
    struct Nop;
    impl EdgeSink for Nop {
        fn push(&mut self, _: Edge) -> Result<(), ProgramError> {
            Ok(())
        }
    }
    assert_eq!(
        compile("clock half_ns=0x8000000000000000 count=2", &mut Nop),
        Err(ProgramError::Overflow)
    );
    assert_eq!(
        compile("clock half_ns=0x7fffffffffffffff count=2", &mut Nop),
        Ok(0)
    );
    assert_eq!(
        compile("clock half_ns=0x4000000000000000 count=5", &mut Nop),
        Err(ProgramError::Overflow)
    );
}

/// Issue 10, point 8: GPIO lookup tables hold 16-bit offsets; 65536 used to get through and fail as ENOMEM.
#[test]
fn new_device_offsets_fit_16_bits() {
    let mut nop = |_: &str, _: u32| Ok(());
    assert!(spec::parse_new_device("x chip 65535", 32, &mut nop).is_ok());
    for bad in [
        "x chip 65536",
        "x chip 0-65536",
        "x chip 4294967296",
        "x chip 1-",
    ] {
        assert_eq!(
            spec::parse_new_device(bad, 32, &mut nop).unwrap_err(),
            spec::SpecError::BadOffsets,
            "{bad}"
        );
    }
}
