// SPDX-License-Identifier: GPL-2.0
//! sigrok session files (`.sr`, "srzip" version 2), as libsigrok reads them (`src/session_file.c`,
//! `src/session_driver.c`) and PulseView opens them.
//!
//! A ZIP with `version` (`2`), `metadata` (INI: `[global]` and `[device 1]`; `total probes` must come before the
//! `probeN` keys, because libsigrok processes keys in file order) and the samples in `logic-1-1`, `logic-1-2`, ...
//! of at most 4 MiB each, `unitsize` bytes per sample, channel k = bit k of the sample (little-endian).
//! The file is written under a temporary name in the destination directory and renamed when complete.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::{
    fs::File,
    io::{Read, Write},
    path::Path,
};
use tempfile::NamedTempFile;
use zip::{write::SimpleFileOptions, CompressionMethod, ZipWriter};

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
    if !matches!(s.unitsize, 1 | 2 | 4 | 8)
        || s.probes.is_empty()
        || s.probes.len() > s.unitsize * 8
    {
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

/// Writes `dest` from samples read from `data` (exactly a whole number of samples), in constant memory.
/// Returns the number of samples written. `dest` appears only when complete.
pub fn write(dest: &Path, session: &Session, data: &mut impl Read) -> Result<u64> {
    let meta = metadata(session)?;
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let mut zip = ZipWriter::new(tmp);
    // Deflate level 6, as zip(1) uses: measured faster than zip -jq on both long runs and noise, with files of
    // the same size; level 1 was 4x faster on runs but made files 12x larger, level 9 5x slower on noise.
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(6));
    zip.start_file("version", opts)?;
    zip.write_all(b"2")?;
    zip.start_file("metadata", opts)?;
    zip.write_all(meta.as_bytes())?;

    // Copied in small pieces: memory stays at one piece whatever the chunk and capture size.
    let mut buf = vec![0u8; PIECE_BYTES];
    let mut total_bytes: u64 = 0;
    let mut chunk = 0;
    let mut eof = false;
    while !eof {
        let mut n = read_full(data, &mut buf)?;
        if n == 0 {
            break;
        }
        chunk += 1;
        zip.start_file(format!("logic-1-{chunk}"), opts)?;
        let mut in_chunk = 0;
        loop {
            zip.write_all(&buf[..n])?;
            in_chunk += n;
            total_bytes += n as u64;
            if n < buf.len() {
                eof = true;
                break;
            }
            if in_chunk == CHUNK_BYTES {
                break;
            }
            n = read_full(data, &mut buf)?;
            if n == 0 {
                eof = true;
                break;
            }
        }
    }
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
    let tmp = zip.finish()?;
    tmp.as_file().sync_all()?;
    tmp.persist(dest)
        .with_context(|| format!("renaming the session file to {}", dest.display()))?;
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

/// Reads a session file back (for tests and `gpio-la info`): metadata text and the concatenated samples.
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

    #[test]
    fn chunks_and_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.sr");
        let data: Vec<u8> = (0..(CHUNK_BYTES * 2 + 6))
            .map(|i| (i % 251) as u8)
            .collect();
        let s = Session {
            samplerate_hz: 1000,
            unitsize: 2,
            probes: vec![
                "a".into(),
                "b".into(),
                "c".into(),
                "d".into(),
                "e".into(),
                "f".into(),
                "g".into(),
                "h".into(),
                "i".into(),
            ],
        };
        let n = write(&dest, &s, &mut &data[..]).unwrap();
        assert_eq!(n, data.len() as u64 / 2);
        let (meta, back) = read(&dest).unwrap();
        assert!(meta.contains("unitsize=2"));
        assert_eq!(back, data);
        let z = zip::ZipArchive::new(File::open(&dest).unwrap()).unwrap();
        let names: Vec<_> = z.file_names().collect();
        assert!(names.contains(&"logic-1-3") && !names.contains(&"logic-1-4"));
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
        assert!(write(&dest, &s, &mut &[1u8, 2, 3][..]).is_err());
        assert!(!dest.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temporary file left behind"
        );
    }
}
