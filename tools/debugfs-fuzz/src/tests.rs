// SPDX-License-Identifier: GPL-2.0
use super::*;

#[test]
fn a_seed_replays_exactly() {
    let run = |seed| {
        let mut rng = Rng::new(seed);
        (0..200)
            .map(|_| {
                let i = input("program", &mut rng);
                let d = delivery(i.len(), &mut rng);
                (i, d)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn inputs_cover_every_kind() {
    let mut rng = Rng::new(1);
    let inputs: Vec<Vec<u8>> = (0..5000).map(|_| input("new_device", &mut rng)).collect();
    let has = |f: &dyn Fn(&[u8]) -> bool| inputs.iter().any(|i| f(i));
    assert!(has(&|i| i.is_empty()), "empty writes");
    assert!(has(&|i| i.contains(&0) && i.len() > 2), "embedded NULs");
    assert!(has(&|i| std::str::from_utf8(i).is_err()), "invalid UTF-8");
    assert!(
        has(&|i| i == b"18446744073709551616" || i == b"18446744073709551616\n"),
        "2^64"
    );
    assert!(has(&|i| i.len() == 2049), "a length at the trigger limit");
    assert!(has(&|i| i.len() >= 1 << 20), "an oversized write");
    assert!(
        has(&|i| i.starts_with(b"fz") && i.windows(13).any(|w| w == b"gpio-waveform")),
        "a plausible line"
    );
}

#[test]
fn every_delivery_is_reachable_and_splits_stay_inside() {
    let mut rng = Rng::new(3);
    let (mut whole, mut split, mut at, mut faulting) = (0, 0, 0, 0);
    for _ in 0..2000 {
        let len = rng.below(50);
        match delivery(len, &mut rng) {
            Delivery::Whole => whole += 1,
            Delivery::Split(cuts) => {
                assert!(cuts.windows(2).all(|w| w[0] < w[1]));
                assert!(cuts.iter().all(|&c| c > 0 && c < len));
                split += 1;
            }
            Delivery::At(off) => {
                assert!(off > 0);
                at += 1;
            }
            Delivery::Faulting => {
                assert!(len > 0);
                faulting += 1;
            }
        }
    }
    assert!(whole > 0 && split > 0 && at > 0 && faulting > 0);
}

#[test]
fn numbers_include_the_boundaries() {
    let mut rng = Rng::new(5);
    let seen: Vec<String> = (0..3000).map(|_| number(&mut rng)).collect();
    for b in [
        "0x8000000000000000",
        "9223372036854775807",
        "18446744073709551615",
        "010",
    ] {
        assert!(seen.iter().any(|s| s.trim_end() == b), "{b}");
    }
}

#[test]
fn escape_shows_what_was_written() {
    assert_eq!(escape(b"ab\n\0\xff\\"), "ab\\n\\x00\\xff\\\\");
    assert!(escape(&[b'x'; 500]).ends_with("... (500 bytes)"));
}

#[test]
fn templates_fill_every_field() {
    let mut rng = Rng::new(9);
    for name in [
        "program",
        "play",
        "new_device",
        "delete_device",
        "faults",
        "control",
        "connected",
        "trigger_expr",
    ] {
        assert!(!templates(name).is_empty(), "{name}");
        for _ in 0..200 {
            let i = input(name, &mut rng);
            let text = String::from_utf8_lossy(&i);
            assert!(
                !text.contains("{n}") && !text.contains("{d}") && !text.contains("{c}"),
                "{text}"
            );
        }
    }
    let lines: Vec<Vec<u8>> = (0..2000).map(|_| input("control", &mut rng)).collect();
    assert!(lines
        .iter()
        .any(|l| l.starts_with(b"add name=fz") && l.windows(9).any(|w| w == b"type=raw ")));
    assert!(lines.iter().any(|l| l.starts_with(b"remove name=fz")));
}
