// SPDX-License-Identifier: GPL-2.0
//! `gpio-la convert`: a raw capture (a copy of `sample_data`) into `.sr` or VCD, with the probe names and the
//! rate from the analyzer's `meta_data` and `stats`, from a capture's `.json` sidecar, or from the command line.

use anyhow::{bail, Result};
use clap::Args;
use gpio_la::{analyzer, output, pvs, rate::Rate, sigrok, vcd};
use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
};

#[derive(Args)]
#[command(after_help = "\
Examples:
  gpio-la convert --meta capture.json sample_data -o trace.sr        # names, rate, unitsize from the sidecar
  gpio-la convert --meta meta_data --stats stats sample_data -o trace.vcd
  gpio-la convert --meta meta_data -s 1501501.123 sample_data -o trace.sr --decode i2c:scl=SCL:sda=SDA

Shows progress on a terminal. Ctrl-C (or SIGTERM, SIGHUP) stops it: exit 130, no file written.")]
pub struct ConvertArgs {
    /// The raw samples (a copy of sample_data).
    data: PathBuf,
    /// Probe names: the instance's meta_data, or a capture's .json sidecar (which also gives the rate and the
    /// bytes per sample).
    #[arg(long, value_name = "FILE")]
    meta: Option<PathBuf>,
    /// Rate source: the analyzer's stats file or a capture's .json sidecar (its achieved_rate_hz, fraction
    /// kept).
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,
    /// Sample rate in Hz, SI suffixes and decimals allowed (1.5M, 1501501.123); overrides --stats.
    #[arg(short = 's', long = "sample-freq", alias = "rate", value_name = "HZ", value_parser = crate::parse_rate)]
    rate: Option<Rate>,
    /// Bytes per sample (default: from the sidecar, else from the number of probes).
    #[arg(long)]
    unitsize: Option<usize>,
    /// Output file: .sr or .vcd (a VCD keeps a fractional rate; .sr holds whole Hz).
    #[arg(short, long)]
    output: PathBuf,
    /// Also write a PulseView session (.pvs) next to the .sr with this decoder attached, in sigrok-cli's -P
    /// syntax (i2c:scl=SCL:sda=SDA; a comma stacks decoders). Repeat for several.
    #[arg(long, value_name = "DECODER")]
    decode: Vec<String>,
}

/// What a metadata file says.
#[derive(Default)]
struct Described {
    probes: Option<Vec<String>>,
    unitsize: Option<usize>,
    rate: Option<Rate>,
}

fn read_text(path: &Path) -> Result<String> {
    let mut s = String::new();
    std::io::Read::read_to_string(&mut output::open_input(path)?, &mut s).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            anyhow::anyhow!("{} is not a text file", path.display())
        } else {
            e.into()
        }
    })?;
    Ok(s)
}

/// Reads a capture's `.json` sidecar.
fn sidecar(path: &Path, text: &str) -> Result<Described> {
    let bad =
        |why: &str| anyhow::anyhow!("{} is not a gpio-la .json sidecar: {why}", path.display());
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    let probes = v
        .get("probes")
        .and_then(|p| p.as_array())
        .ok_or_else(|| bad("no \"probes\""))?
        .iter()
        .map(|p| p.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("\"probes\" is not a list of names"))?;
    let unitsize = v
        .get("unitsize")
        .and_then(|u| u.as_u64())
        .map(|u| u as usize);
    // The achieved rate with its fraction, else the whole-Hz rate the .sr got.
    let rate = match v
        .pointer("/stats/achieved_rate_hz")
        .and_then(|r| r.as_str())
    {
        Some(r) => Some(Rate::parse(r).map_err(|e| bad(&format!("achieved_rate_hz: {e}")))?),
        None => match v.get("samplerate_hz").and_then(|r| r.as_u64()) {
            Some(hz) => Some(Rate::from_hz(hz).map_err(|e| bad(&e))?),
            None => None,
        },
    };
    Ok(Described {
        probes: Some(probes),
        unitsize,
        rate,
    })
}

fn is_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// `--meta`: meta_data or a sidecar.
fn meta_file(path: &Path) -> Result<Described> {
    let text = read_text(path)?;
    if is_json(&text) {
        return sidecar(path, &text);
    }
    let probes = analyzer::parse_meta(&text)
        .map_err(|e| anyhow::anyhow!("{} is not a meta_data file: {e:#}", path.display()))?;
    Ok(Described {
        probes: Some(probes),
        ..Default::default()
    })
}

/// `--stats`: the analyzer's stats or a sidecar.
fn stats_file(path: &Path) -> Result<Described> {
    let text = read_text(path)?;
    if is_json(&text) {
        return sidecar(path, &text);
    }
    let achieved = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == "achieved_rate_hz")
        .map(|(_, v)| v.trim().to_string());
    let Some(achieved) = achieved else {
        bail!(
            "{} has no achieved_rate_hz (not the analyzer's stats?)",
            path.display()
        );
    };
    let rate = Rate::parse(&achieved)
        .map_err(|e| anyhow::anyhow!("{}: achieved_rate_hz: {e}", path.display()))?;
    Ok(Described {
        rate: Some(rate),
        ..Default::default()
    })
}

pub fn run(a: &ConvertArgs) -> Result<ExitCode> {
    let meta = match &a.meta {
        Some(p) => meta_file(p)?,
        None => Described::default(),
    };
    let stats = match &a.stats {
        Some(p) => stats_file(p)?,
        None => Described::default(),
    };
    let Some(probes) = meta.probes.clone().or(stats.probes.clone()) else {
        bail!("no probe names: give --meta with the instance's meta_data or the capture's .json sidecar");
    };
    if let Some(i) = probes.iter().position(|n| n.trim().is_empty()) {
        let from = a
            .meta
            .as_ref()
            .or(a.stats.as_ref())
            .map(|p| p.display().to_string());
        bail!(
            "{}: probe{:02} has an empty name (sigrok and VCD readers need one)",
            from.unwrap_or_default(),
            i + 1
        );
    }
    let Some(rate) = a.rate.or(stats.rate).or(meta.rate) else {
        bail!(
            "no sample rate: give -s HZ (the achieved_rate_hz of the capture's stats), --stats with the \
             analyzer's stats, or the capture's .json sidecar as --meta"
        );
    };
    let unitsize = a
        .unitsize
        .or(meta.unitsize)
        .or(stats.unitsize)
        .unwrap_or_else(|| la_core::samples::unit_size(probes.len().min(32) as u32));
    let ext = a.output.extension().and_then(|e| e.to_str());
    match ext {
        Some("sr") => {
            if rate.whole_hz() == 0 {
                bail!("a .sr file holds whole Hz and {rate} rounds to 0; write a VCD instead");
            }
            sigrok::metadata(&sigrok::Session {
                samplerate_hz: rate.whole_hz(),
                unitsize,
                probes: probes.clone(),
            })?;
        }
        Some("vcd") => {
            vcd::check_layout(&probes, unitsize)?;
            if !a.decode.is_empty() {
                bail!("--decode writes a PulseView session for a .sr file; the output is VCD");
            }
        }
        _ => bail!("output {} must end in .sr or .vcd", a.output.display()),
    }
    let decoders = a
        .decode
        .iter()
        .map(|d| pvs::Stack::parse(d, &probes))
        .collect::<Result<Vec<_>>>()?;
    output::check_dest(&a.output)?;
    let mut input = output::open_input(&a.data)?;
    let bar = crate::progress_bar(input.size().unwrap_or(0));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(format!("converting to {}", a.output.display()));
    let mut progress = |done: u64| bar.set_position(done);

    let mut outs = output::Outputs::new();
    let f = outs.create(&a.output)?;
    let n = if ext == Some("sr") {
        let session = sigrok::Session {
            samplerate_hz: rate.whole_hz(),
            unitsize,
            probes,
        };
        sigrok::write(outs.file(f), &session, &mut input, &mut progress)?
    } else {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, outs.file(f));
        let n = vcd::write(&mut w, &probes, unitsize, rate, &mut input, &mut progress)?;
        w.flush()?;
        n
    };
    let pvs_path = a.output.with_extension("pvs");
    if !decoders.is_empty() {
        let p = outs.create(&pvs_path)?;
        outs.file(p).write_all(pvs::session(&decoders).as_bytes())?;
    }
    outs.commit()?;
    bar.finish_and_clear();
    eprintln!("{n} samples written to {}", a.output.display());
    if !decoders.is_empty() {
        eprintln!(
            "PulseView session with the decoders: pulseview -s '{}' '{}'",
            pvs_path.display(),
            a.output.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
