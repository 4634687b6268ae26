// SPDX-License-Identifier: GPL-2.0
//! sigrok session files (`.sr`, "srzip" version 2), as libsigrok reads them (`src/session_file.c`,
//! `src/session_driver.c`) and PulseView opens them.
//!
//! A ZIP with `version` (`2`), `metadata` (INI: `[global]` and `[device 1]`; `total probes` must come before the
//! `probeN` keys, because libsigrok processes keys in file order) and the samples in `logic-1-1`, `logic-1-2`, ...
//! of at most 4 MiB each, `unitsize` bytes per sample, channel k = bit k of the sample (little-endian).
//! The chunks are deflated in parallel (see [`crate::deflate`]); the ZIP container is [`crate::srzip`].

use anyhow::{bail, Result};
use serde::Serialize;
use std::io::{Read, Write};
#[cfg(test)]
use std::{fs::File, path::Path};

use crate::srzip;

/// Largest sample chunk, as libsigrok's own srzip output (`CHUNK_SIZE`).
pub const CHUNK_BYTES: usize = 4 << 20;
/// Size of the pieces data is copied in; divides [`CHUNK_BYTES`].
pub const PIECE_BYTES: usize = 64 << 10;

/// What a session file says about its samples.
#[derive(Debug, Clone)]
pub struct Session {
    /// Sample rate in whole Hz (the achieved rate, rounded).
    pub samplerate_hz: u64,
    /// Bytes per sample (1, 2 or 4).
    pub unitsize: usize,
    /// Channel names, channel 0 first.
    pub probes: Vec<String>,
}

#[derive(Serialize)]
struct Global {
    #[serde(rename = "sigrok version")]
    sigrok_version: &'static str,
}

#[derive(Serialize)]
struct Device {
    capturefile: &'static str,
    #[serde(rename = "total probes")]
    total_probes: usize,
    samplerate: String,
    #[serde(rename = "total analog")]
    total_analog: u32,
    unitsize: usize,
    /// `probe1`.. keys; a map keeps them after `total probes`, as libsigrok needs.
    #[serde(flatten)]
    probes: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
struct Metadata {
    global: Global,
    #[serde(rename = "device 1")]
    device: Device,
}

/// Renders a serde value of sections of scalars as INI, keeping field order (serde_json's `preserve_order`).
fn to_ini(value: &impl Serialize) -> Result<String> {
    let serde_json::Value::Object(sections) = serde_json::to_value(value)? else {
        bail!("metadata must be a struct of sections");
    };
    let mut out = String::new();
    for (name, section) in sections {
        let serde_json::Value::Object(keys) = section else {
            bail!("section {name} must be a struct");
        };
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("[{name}]\n"));
        for (k, v) in keys {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            if v.contains('\n') || k.contains('\n') {
                bail!("metadata value for {k} has a line break");
            }
            out.push_str(&format!("{k}={v}\n"));
        }
    }
    Ok(out)
}

/// The `metadata` member for `s`.
pub fn metadata(s: &Session) -> Result<String> {
    if !matches!(s.unitsize, 1 | 2 | 4 | 8) {
        bail!(
            ".sr files take 1, 2, 4 or 8 bytes per sample, not {}",
            s.unitsize
        );
    }
    if s.probes.is_empty() || s.probes.len() > s.unitsize * 8 {
        bail!(
            "{} probes do not fit {} byte(s) per sample",
            s.probes.len(),
            s.unitsize
        );
    }
    if s.samplerate_hz == 0 {
        bail!("the sample rate is unknown (0 Hz)");
    }
    let probes = s
        .probes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                format!("probe{}", i + 1),
                serde_json::Value::String(n.clone()),
            )
        })
        .collect();
    to_ini(&Metadata {
        global: Global {
            sigrok_version: "0.5.2",
        },
        device: Device {
            capturefile: "logic-1",
            total_probes: s.probes.len(),
            samplerate: format!("{} Hz", s.samplerate_hz),
            total_analog: 0,
            unitsize: s.unitsize,
            probes,
        },
    })
}

/// How many chunks are compressed at once: one per CPU this process may use, at most [`MAX_WORKERS`].
pub fn workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, MAX_WORKERS)
}

/// Upper bound on compression threads; memory is about 9 MiB per thread.
pub const MAX_WORKERS: usize = 32;

/// A chunk on its way through the pipeline: its samples and, once compressed, what goes into the file.
struct Chunk {
    index: usize,
    data: Vec<u8>,
    packed: Vec<u8>,
    crc: u32,
    deflated: bool,
}

/// Writes a session file to `out` from samples read from `data` (a whole number of samples): chunks of
/// [`CHUNK_BYTES`] are deflated in parallel on [`workers`] threads and written in order, with a bounded number
/// in flight, so memory does not depend on the capture's size. `progress` gets the input bytes done so far.
/// Returns the number of samples. Polls the interrupt flag between chunks.
pub fn write(
    out: &mut impl Write,
    session: &Session,
    data: &mut impl Read,
    progress: &mut dyn FnMut(u64),
) -> Result<u64> {
    let meta = metadata(session)?;
    let mut zip = srzip::ZipOut::new(out);
    zip.add_stored("version", b"2")?;
    zip.add_stored("metadata", meta.as_bytes())?;

    let nworkers = workers();
    let in_flight_max = nworkers + 1;
    let mut total_bytes: u64 = 0;
    let (job_tx, job_rx) = std::sync::mpsc::channel::<Chunk>();
    let job_rx = std::sync::Mutex::new(job_rx);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<Result<Chunk>>();
    std::thread::scope(|s| -> Result<()> {
        // Owned here, so that leaving the scope (done or failed) hangs up and the workers end.
        let job_tx = job_tx;
        let done_rx = done_rx;
        for _ in 0..nworkers {
            let job_rx = &job_rx;
            let done_tx = done_tx.clone();
            s.spawn(move || {
                let mut deflater = match crate::deflate::Deflater::new() {
                    Ok(d) => d,
                    Err(e) => {
                        let _ = done_tx.send(Err(e));
                        return;
                    }
                };
                loop {
                    let job = job_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(mut c) = job else { return };
                    c.crc = crc32fast::hash(&c.data);
                    let r = deflater.compress(&c.data, &mut c.packed).map(|ok| {
                        c.deflated = ok;
                        c
                    });
                    if done_tx.send(r).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);

        let mut spare: Vec<Chunk> = Vec::new();
        let mut finished: std::collections::BTreeMap<usize, Chunk> = Default::default();
        let (mut next_read, mut next_write, mut in_flight, mut eof) =
            (0usize, 0usize, 0usize, false);
        let mut written_bytes = 0u64;
        loop {
            while !eof && in_flight < in_flight_max {
                crate::interrupt::check()?;
                let mut c = spare.pop().unwrap_or_else(|| Chunk {
                    index: 0,
                    data: Vec::new(),
                    packed: Vec::new(),
                    crc: 0,
                    deflated: false,
                });
                c.data.resize(CHUNK_BYTES, 0);
                let n = read_full(data, &mut c.data)?;
                c.data.truncate(n);
                if n < CHUNK_BYTES {
                    eof = true;
                }
                if n == 0 {
                    break;
                }
                total_bytes += n as u64;
                c.index = next_read;
                next_read += 1;
                in_flight += 1;
                job_tx
                    .send(c)
                    .map_err(|_| anyhow::anyhow!("a compression thread failed"))?;
            }
            if in_flight == 0 {
                break;
            }
            let c = done_rx
                .recv()
                .map_err(|_| anyhow::anyhow!("the compression threads stopped"))??;
            finished.insert(c.index, c);
            while let Some(c) = finished.remove(&next_write) {
                crate::interrupt::check()?;
                let name = format!("logic-1-{}", next_write + 1);
                if c.deflated {
                    zip.add_deflated(&name, c.crc, c.data.len() as u64, &c.packed)?;
                } else {
                    zip.add_stored_crc(&name, c.crc, &c.data)?;
                }
                written_bytes += c.data.len() as u64;
                progress(written_bytes);
                next_write += 1;
                in_flight -= 1;
                spare.push(c);
            }
        }
        Ok(())
    })?;
    if total_bytes % session.unitsize as u64 != 0 {
        bail!(
            "the sample data ends in a partial sample ({} bytes per sample)",
            session.unitsize
        );
    }
    let total = total_bytes / session.unitsize as u64;
    if total == 0 {
        bail!("no samples to write");
    }
    zip.finish()?;
    Ok(total)
}

/// Reads until `buf` is full or the input ends.
pub fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads a session file back with an independent ZIP reader (the zip crate): metadata text and samples.
#[cfg(test)]
pub fn read(path: &Path) -> Result<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(File::open(path)?)?;
    let mut meta = String::new();
    z.by_name("metadata")?.read_to_string(&mut meta)?;
    let mut data = Vec::new();
    for i in 1.. {
        match z.by_name(&format!("logic-1-{i}")) {
            Ok(mut f) => {
                f.read_to_end(&mut data)?;
            }
            Err(_) => break,
        }
    }
    Ok((meta, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_order_and_format() {
        let m = metadata(&Session {
            samplerate_hz: 1_501_501,
            unitsize: 1,
            probes: vec!["SCL".into(), "SDA".into()],
        })
        .unwrap();
        assert_eq!(
            m,
            "[global]\nsigrok version=0.5.2\n\n[device 1]\ncapturefile=logic-1\ntotal probes=2\nsamplerate=1501501 Hz\n\
             total analog=0\nunitsize=1\nprobe1=SCL\nprobe2=SDA\n"
        );
    }

    #[test]
    fn metadata_rejects_inconsistent_sessions() {
        assert!(metadata(&Session {
            samplerate_hz: 1,
            unitsize: 1,
            probes: vec!["a".into(); 9]
        })
        .is_err());
        assert!(metadata(&Session {
            samplerate_hz: 0,
            unitsize: 1,
            probes: vec!["a".into()]
        })
        .is_err());
        assert!(metadata(&Session {
            samplerate_hz: 1,
            unitsize: 3,
            probes: vec!["a".into()]
        })
        .is_err());
        assert!(metadata(&Session {
            samplerate_hz: 1,
            unitsize: 1,
            probes: vec!["a\nb".into()]
        })
        .is_err());
    }

    fn write_file(dest: &Path, s: &Session, data: &[u8]) -> Result<u64> {
        let mut outs = crate::output::Outputs::new();
        let f = outs.create(dest)?;
        let n = write(outs.file(f), s, &mut &data[..], &mut |_| {})?;
        outs.commit()?;
        Ok(n)
    }

    #[test]
    fn chunks_and_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.sr");
        // Compressible and incompressible chunks (stored), and a short last one.
        let mut x = 7u32;
        let data: Vec<u8> = (0..(CHUNK_BYTES * 2 + 6))
            .map(|i| {
                if i < CHUNK_BYTES {
                    (i % 251) as u8
                } else {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                }
            })
            .collect();
        let s = Session {
            samplerate_hz: 1000,
            unitsize: 2,
            probes: (0..9).map(|i| format!("P{i}")).collect(),
        };
        let mut seen = Vec::new();
        let mut outs = crate::output::Outputs::new();
        let f = outs.create(&dest).unwrap();
        let n = write(outs.file(f), &s, &mut &data[..], &mut |d| seen.push(d)).unwrap();
        outs.commit().unwrap();
        assert_eq!(n, data.len() as u64 / 2);
        assert_eq!(seen.last(), Some(&(data.len() as u64)));
        let (meta, back) = read(&dest).unwrap();
        assert!(meta.contains("unitsize=2"));
        assert_eq!(back, data);
        let z = zip::ZipArchive::new(File::open(&dest).unwrap()).unwrap();
        let names: Vec<_> = z.file_names().collect();
        assert!(names.contains(&"logic-1-3") && !names.contains(&"logic-1-4"));
        // The noise chunk is stored, not inflated by deflate.
        let size = std::fs::metadata(&dest).unwrap().len();
        assert!(
            size < CHUNK_BYTES as u64 + CHUNK_BYTES as u64 / 10,
            "{size}"
        );
    }

    #[test]
    fn partial_sample_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.sr");
        let s = Session {
            samplerate_hz: 1000,
            unitsize: 2,
            probes: vec!["a".into()],
        };
        let e = write_file(&dest, &s, &[1u8, 2, 3]).unwrap_err();
        assert!(e.to_string().contains("partial sample"), "{e}");
        assert!(!dest.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temporary file left behind"
        );
    }
}
