// SPDX-License-Identifier: GPL-2.0
//! `gpio-la`: drive the sloppy GPIO logic analyzer and turn its captures into files PulseView opens.

mod capture;
mod convert;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use gpio_la::{analyzer, interrupt, output, rate::Rate};
use std::{
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

/// Drive the sloppy GPIO logic analyzer: isolate a CPU, capture, and write sigrok session files (.sr) that
/// PulseView and sigrok-cli open, VCD, and a JSON sidecar with the capture's timing statistics.
#[derive(Parser)]
#[command(version, about, long_about = None, after_help = "\
Examples:
  gpio-la list
  gpio-la capture -i i2c -s 1.5M -d 15000 -t 1H+2F      # 15 ms at 1.5 MHz from an I2C START
  gpio-la capture -s 1M -n 250k -o trace.sr --vcd --decode i2c:scl=SCL:sda=SDA
  gpio-la convert --meta capture.json sample_data -o trace.sr

Exit status: 0 success, 1 failure, 2 usage error, 130 interrupted (everything changed was restored, no file
written).")]
struct Cli {
    /// Where debugfs is mounted (for list and capture; also accepted after them).
    #[arg(short = 'k', long = "kernel-debug-dir", value_name = "DIR")]
    debugfs: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List analyzer instances with their probes.
    #[command(visible_alias = "l")]
    List(ListArgs),
    /// Capture from an instance and write the result.
    Capture(CaptureArgs),
    /// Convert a raw sample_data dump into .sr or VCD, in constant memory, taking the probe names and the rate
    /// from the analyzer's meta_data and stats or from a capture's .json sidecar.
    Convert(convert::ConvertArgs),
    /// Render a waveform program (the test chip's grammar, e.g. "i2c rate=100000 write 0x50 de ad") into raw
    /// samples, as sample_data would hold them, plus a matching meta_data.
    Synth(SynthArgs),
    /// Internal: the process that runs the blocking capture on the isolated CPU.
    #[command(name = "__worker", hide = true)]
    Worker { capture: PathBuf, cpu: u32 },
}

/// Where debugfs is, for the subcommands that use the analyzer.
#[derive(Args)]
struct DebugfsArg {
    /// Where debugfs is mounted [default: /sys/kernel/debug].
    #[arg(short = 'k', long = "kernel-debug-dir", value_name = "DIR")]
    debugfs: Option<PathBuf>,
}

impl DebugfsArg {
    fn resolve(&self, global: &Option<PathBuf>) -> PathBuf {
        self.debugfs
            .clone()
            .or_else(|| global.clone())
            .unwrap_or_else(|| "/sys/kernel/debug".into())
    }
}

#[derive(Args)]
struct ListArgs {
    #[command(flatten)]
    k: DebugfsArg,
}

/// Parses a rate for clap.
pub fn parse_rate(s: &str) -> Result<Rate, String> {
    Rate::parse(s)
}

fn parse_si(s: &str) -> Result<u64, String> {
    gpio_la::si::parse(s).map_err(|e| e.to_string())
}

#[derive(Args)]
pub struct CaptureArgs {
    #[command(flatten)]
    k: DebugfsArg,
    /// CPU to isolate and sample on (CPU0 is not recommended).
    #[arg(short, long, default_value_t = 1)]
    cpu: u32,
    /// Capture duration in us, SI suffixes allowed; overrides -n.
    #[arg(short, long = "duration-us", value_parser = parse_si)]
    duration: Option<u64>,
    /// Number of samples, SI suffixes allowed (250k, 1M).
    #[arg(short = 'n', long = "num-samples", value_parser = parse_si, default_value = "250000")]
    samples: u64,
    /// Sample rate in Hz, SI suffixes and decimals allowed (1.5M, 1501501.123).
    #[arg(short = 's', long = "sample-freq", alias = "rate", value_name = "HZ", value_parser = parse_rate, default_value = "1M")]
    rate: Rate,
    /// Trigger: <ch><L|H|R|F|E> terms joined by +, steps separated by , (e.g. 1H+2F for an I2C START).
    /// R/F/E are true edges on the Rust driver; on the upstream driver they become two levels, as its script does.
    #[arg(short, long)]
    trigger: Option<String>,
    /// Output directory, or a file name ending in .sr.
    #[arg(short, long, default_value = ".")]
    output: PathBuf,
    /// Instance to use (default: the first one).
    #[arg(short, long)]
    instance: Option<String>,
    /// Keep this share (%) of the samples from before the trigger (Rust driver). Default with a trigger: 5, so
    /// decoders see the edge that fired it (e.g. the START's falling SDA); without one: 0.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    pretrigger: Option<u8>,
    /// Give up when the trigger has not fired after this many ms (0 = wait; Rust driver).
    #[arg(long, default_value_t = 0)]
    timeout_ms: u64,
    /// Also write a VCD file next to the .sr.
    #[arg(long)]
    vcd: bool,
    /// Write a PulseView session (.pvs) next to the .sr with this protocol decoder attached, in sigrok-cli's -P
    /// syntax: i2c:scl=SCL:sda=SDA (channel=probe name, option=value; a comma stacks decoders, e.g.
    /// i2c,eeprom24xx). Repeat for several decoders. Open with: pulseview -s FILE.pvs FILE.sr
    #[arg(long, value_name = "DECODER")]
    decode: Vec<String>,
    /// Do not isolate the CPU (it is still used for sampling).
    #[arg(long)]
    no_isolate: bool,
    /// Return at once and capture in the background, as upstream's script does.
    #[arg(long)]
    detach: bool,
}

#[derive(Args)]
struct SynthArgs {
    /// The program, e.g. "i2c rate=400k write 0x50 de ad be ef" (numbers as the test chip reads them).
    program: String,
    /// Sample rate in Hz, SI suffixes and decimals allowed.
    #[arg(short = 's', long = "sample-freq", alias = "rate", value_name = "HZ", value_parser = parse_rate, default_value = "1M")]
    rate: Rate,
    /// Number of probes (channels) to write; the program's lines must be below it.
    #[arg(long, default_value_t = 2)]
    probes: u32,
    /// Probe names, comma-separated (default D0,D1,...).
    #[arg(long)]
    names: Option<String>,
    /// Repeat the program this many times back to back (for large test captures).
    #[arg(long, default_value_t = 1)]
    repeat: u64,
    /// Output raw sample file; meta_data is written next to it as <output>.meta.
    #[arg(short, long)]
    output: PathBuf,
}

/// A progress bar on stderr when it is a terminal, hidden otherwise.
pub fn progress_bar(len: u64) -> indicatif::ProgressBar {
    if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(len)
    } else {
        indicatif::ProgressBar::hidden()
    }
}

struct VecSink(Vec<la_core::waveform::Edge>);

impl la_core::waveform::EdgeSink for VecSink {
    fn push(&mut self, e: la_core::waveform::Edge) -> Result<(), la_core::waveform::ProgramError> {
        self.0.push(e);
        Ok(())
    }
}

fn synth(a: &SynthArgs) -> Result<ExitCode> {
    if !(1..=32).contains(&a.probes) {
        bail!("--probes must be 1..=32");
    }
    let period = la_core::timing::period_for_rate(a.rate.whole_hz().max(1))
        .map(|_| a.rate.period_ns())
        .with_context(|| format!("{} is not a usable rate (at most 1 GHz)", a.rate))?;
    let mut sink = VecSink(Vec::new());
    let idle = la_core::waveform::compile(&a.program, &mut sink)
        .map_err(|e| anyhow::anyhow!("program: {}", e.describe()))?;
    let edges = sink.0;
    let mask = if a.probes == 32 {
        u32::MAX
    } else {
        (1u32 << a.probes) - 1
    };
    if idle & !mask != 0 || edges.iter().any(|e| e.state & !mask != 0) {
        bail!("the program drives lines beyond --probes {}", a.probes);
    }
    let names: Vec<String> = match &a.names {
        Some(n) => n.split(',').map(str::to_string).collect(),
        None => (0..a.probes).map(|i| format!("D{i}")).collect(),
    };
    if names.len() != a.probes as usize {
        bail!("--names has {} names for {} probes", names.len(), a.probes);
    }
    if names.iter().any(|n| n.trim().is_empty()) {
        bail!("--names has an empty name");
    }
    // Idle for a tenth of the program before and after, so decoders see a quiet bus.
    let len_ns = edges.last().map_or(0, |e| e.t_ns);
    let lead = len_ns / 10 + period;
    let per_rep = (len_ns + 2 * lead) / period;
    let unit = la_core::samples::unit_size(a.probes);
    let mut meta_path = a.output.clone().into_os_string();
    meta_path.push(".meta");
    let mut outs = output::Outputs::new();
    let raw = outs.create(&a.output)?;
    let meta = outs.create(Path::new(&meta_path))?;
    {
        // One repetition rendered once, then written as often as asked.
        let mut one = Vec::with_capacity(per_rep as usize * unit);
        for i in 0..per_rep {
            let t = i * period;
            let state = if t < lead {
                idle
            } else {
                la_core::waveform::state_at(idle, &edges, t - lead)
            };
            one.extend_from_slice(&state.to_le_bytes()[..unit]);
        }
        let f = outs.file(raw);
        for _ in 0..a.repeat {
            interrupt::check()?;
            f.write_all(&one)?;
        }
    }
    let text: String = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("probe{:02}={n}\n", i + 1))
        .collect();
    outs.file(meta).write_all(text.as_bytes())?;
    outs.commit()?;
    eprintln!(
        "{} samples of {} byte(s) written to {}",
        per_rep * a.repeat,
        unit,
        a.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn list(debugfs: &Path) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for i in analyzer::list(debugfs)? {
        let r = writeln!(
            out,
            "{}\t{} probes ({})\t{}\t{} byte(s)/sample",
            i.name,
            i.probes.len(),
            i.probes.join(","),
            if i.extended { "rust" } else { "upstream" },
            i.unitsize
        );
        if let Err(e) = r {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                break;
            }
            return Err(e.into());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The capture worker ignores the signals instead: its parent handles them.
    if !matches!(cli.cmd, Cmd::Worker { .. }) {
        if let Err(e) = interrupt::install() {
            eprintln!("gpio-la: cannot handle signals: {e}");
            return ExitCode::from(1);
        }
    }
    let r = match &cli.cmd {
        Cmd::List(a) => list(&a.k.resolve(&cli.debugfs)),
        Cmd::Capture(a) => capture::run(&a.k.resolve(&cli.debugfs), a),
        Cmd::Convert(a) => convert::run(a),
        Cmd::Synth(a) => synth(a),
        Cmd::Worker { capture, cpu } => capture::run_worker(capture, *cpu),
    };
    match r {
        Ok(code) => code,
        Err(_) if interrupt::interrupted() => {
            eprintln!("gpio-la: interrupted; no file written");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("gpio-la: {e:#}");
            ExitCode::from(1)
        }
    }
}
