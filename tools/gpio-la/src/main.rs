// SPDX-License-Identifier: GPL-2.0
//! `gpio-la`: drive the sloppy GPIO logic analyzer and turn its captures into files PulseView opens.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use gpio_la::{analyzer, isolate, si, sigrok, vcd};
use serde::Serialize;
use std::{
    fs::File,
    io::{BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
    process::{Command, ExitCode, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

/// Drive the sloppy GPIO logic analyzer: isolate a CPU, capture, and write sigrok session files (.sr) that
/// PulseView and sigrok-cli open, VCD, and a JSON sidecar with the capture's timing statistics.
#[derive(Parser)]
#[command(version, about, long_about = None, after_help = "\
Examples:
  gpio-la list
  gpio-la capture -i i2c -s 1.5M -d 15000 -t 1H+2F      # 15 ms at 1.5 MHz from an I2C START
  gpio-la capture -s 1M -n 250k -o trace.sr --vcd
  gpio-la convert --meta meta_data --rate 1M sample_data -o trace.sr

Exit status: 0 success, 1 failure, 2 usage error, 130 interrupted (everything changed was restored).")]
struct Cli {
    /// Where debugfs is mounted.
    #[arg(
        short = 'k',
        long = "kernel-debug-dir",
        global = true,
        default_value = "/sys/kernel/debug"
    )]
    debugfs: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List analyzer instances with their probes.
    #[command(visible_alias = "l")]
    List,
    /// Capture from an instance and write the result.
    Capture(CaptureArgs),
    /// Convert a raw sample_data dump and its meta_data into .sr or VCD, in constant memory.
    Convert(ConvertArgs),
    /// Render a waveform program (the test chip's grammar, e.g. "i2c rate=100000 write 0x50 de ad") into raw
    /// samples, as sample_data would hold them, plus a matching meta_data.
    Synth(SynthArgs),
    /// Internal: the process that runs the blocking capture on the isolated CPU.
    #[command(name = "__worker", hide = true)]
    Worker { capture: PathBuf, cpu: u32 },
}

#[derive(Args)]
struct CaptureArgs {
    /// CPU to isolate and sample on (CPU0 is not recommended).
    #[arg(short, long, default_value_t = 1)]
    cpu: u32,
    /// Capture duration in us, SI suffixes allowed; overrides -n.
    #[arg(short, long = "duration-us", value_parser = parse_si)]
    duration: Option<u64>,
    /// Number of samples, SI suffixes allowed (250k, 1M).
    #[arg(short = 'n', long = "num-samples", value_parser = parse_si, default_value = "250000")]
    samples: u64,
    /// Sample rate in Hz, SI suffixes and decimals allowed (1.5M).
    #[arg(short = 's', long = "sample-freq", value_parser = parse_si, default_value = "1M")]
    rate: u64,
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
    /// Do not isolate the CPU (it is still used for sampling).
    #[arg(long)]
    no_isolate: bool,
    /// Return at once and capture in the background, as upstream's script does.
    #[arg(long)]
    detach: bool,
}

#[derive(Args)]
struct ConvertArgs {
    /// The raw samples (a copy of sample_data).
    data: PathBuf,
    /// The instance's meta_data (probe names).
    #[arg(long)]
    meta: PathBuf,
    /// Sample rate in Hz (SI allowed); use the achieved rate from the capture's stats.
    #[arg(short = 's', long = "rate", value_parser = parse_si)]
    rate: u64,
    /// Bytes per sample (default: from the number of probes).
    #[arg(long)]
    unitsize: Option<usize>,
    /// Output file: .sr or .vcd.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Args)]
struct SynthArgs {
    /// The program, e.g. "i2c rate=400k write 0x50 de ad be ef" (numbers as the test chip reads them).
    program: String,
    /// Sample rate in Hz (SI allowed).
    #[arg(short = 's', long = "rate", value_parser = parse_si, default_value = "1M")]
    rate: u64,
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

/// Pre-trigger share used with a trigger unless `--pretrigger` says otherwise.
const DEFAULT_PRETRIGGER: u8 = 5;

fn parse_si(s: &str) -> Result<u64, String> {
    si::parse(s).map_err(|e| e.to_string())
}

/// Describes a failed `capture` write by its errno, in terms of what to do about it.
fn capture_error(errno: i32, inst: &analyzer::Instance, rate: u64) -> String {
    match errno {
        libc::ERANGE => {
            let acq: u64 = inst
                .read("delay_ns_acquisition")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            let max = 1_000_000_000u64.checked_div(acq).unwrap_or(0);
            format!(
                "{} is faster than this CPU reads the probes: about {} at most",
                si::format_hz(rate),
                si::format_hz(max)
            )
        }
        libc::ETIMEDOUT => "the trigger did not fire within the timeout".into(),
        libc::EINTR => "the capture was interrupted".into(),
        libc::ENOMEM => "not enough memory for the capture buffer".into(),
        libc::ENODEV => "the analyzer instance went away during the capture".into(),
        e => format!(
            "{} (see the kernel log)",
            std::io::Error::from_raw_os_error(e)
        ),
    }
}

/// Statistics written next to the capture, for people and scripts.
#[derive(Serialize)]
struct Sidecar<'a> {
    version: u32,
    instance: &'a str,
    driver: &'static str,
    probes: &'a [String],
    unitsize: usize,
    samples: u64,
    requested_rate_hz: u64,
    samplerate_hz: u64,
    trigger: Option<&'a str>,
    cpu: u32,
    isolation: Option<String>,
    isolation_notes: Vec<String>,
    duration_s: f64,
    /// The driver's `stats` (Rust driver only).
    stats: std::collections::BTreeMap<String, String>,
}

fn run_worker(capture: &Path, cpu: u32) -> Result<ExitCode> {
    // Wait for the parent to move this process into the isolated cgroup.
    let mut go = [0u8; 1];
    std::io::stdin()
        .read_exact(&mut go)
        .context("waiting for the go-ahead")?;
    // SAFETY: `set` is a plain bit set on the stack, initialised by CPU_ZERO before use.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu as usize, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("pinning the capture to CPU{cpu}"));
        }
    }
    let mut f = std::fs::OpenOptions::new().write(true).open(capture)?;
    match f.write_all(b"1") {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // The parent turns the errno into a message.
        Err(e) => Ok(ExitCode::from(
            e.raw_os_error().unwrap_or(libc::EIO).clamp(1, 255) as u8,
        )),
    }
}

fn output_paths(out: &Path, instance: &str) -> PathBuf {
    if out.extension().is_some_and(|e| e == "sr") {
        return out.to_path_buf();
    }
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    out.join(format!("{instance}-{epoch}.sr"))
}

fn write_atomic(
    dest: &Path,
    f: impl FnOnce(&mut BufWriter<&mut tempfile::NamedTempFile>) -> Result<()>,
) -> Result<()> {
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut w = BufWriter::new(&mut tmp);
        f(&mut w)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(dest)
        .with_context(|| format!("writing {}", dest.display()))?;
    Ok(())
}

fn capture(debugfs: &Path, a: &CaptureArgs, interrupted: &Arc<AtomicBool>) -> Result<ExitCode> {
    if a.detach {
        let args: Vec<String> = std::env::args()
            .filter(|x| x != "--detach")
            .skip(1)
            .collect();
        let child = Command::new("/proc/self/exe")
            .args(&args)
            .stdin(Stdio::null())
            .spawn()
            .context("starting the background capture")?;
        eprintln!("capturing in the background (pid {})", child.id());
        return Ok(ExitCode::SUCCESS);
    }
    let inst = analyzer::find(debugfs, a.instance.as_deref())?;
    if a.rate == 0 {
        bail!("the sample rate must be above 0 Hz");
    }
    let period_ns = la_core::timing::period_for_rate(a.rate)
        .with_context(|| format!("{} Hz is not a usable rate", a.rate))?;
    let samples = match a.duration {
        Some(us) => (u128::from(a.rate) * u128::from(us) / 1_000_000) as u64,
        None => a.samples,
    };
    if samples == 0 {
        bail!("the capture would have no samples");
    }
    let out = output_paths(&a.output, &inst.name);
    let out_dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !out_dir.is_dir() {
        bail!("output directory {} does not exist", out_dir.display());
    }
    // Check the trigger here, where the message can name the problem.
    let nprobes = inst.probes.len() as u32;
    let trigger_bytes: Option<Vec<u8>> = match &a.trigger {
        None => None,
        Some(t) if inst.extended => {
            la_core::trigger::parse_expr(t, nprobes, &mut |_| Ok(())).map_err(|e| {
                anyhow::anyhow!(
                    "trigger '{t}': {} (instance has {nprobes} probes)",
                    e.describe()
                )
            })?;
            Some(t.as_bytes().to_vec())
        }
        Some(t) => {
            let mut buf = [0u8; la_core::trigger::MAX_PAIR_BYTES];
            let n = la_core::trigger::expr_to_pairs(t, &mut buf).map_err(|e| {
                anyhow::anyhow!("trigger '{t}' for the upstream driver: {}", e.describe())
            })?;
            Some(buf[..n].to_vec())
        }
    };

    inst.write("delay_ns", period_ns.to_string().as_bytes())
        .context("the analyzer refused the sample rate")?;
    inst.write("buf_size", samples.to_string().as_bytes())
        .context("the analyzer refused the sample count")?;
    let pretrigger = a.pretrigger.unwrap_or(if a.trigger.is_some() {
        DEFAULT_PRETRIGGER
    } else {
        0
    });
    if inst.extended {
        inst.write("pretrigger_percent", pretrigger.to_string().as_bytes())?;
        inst.write("trigger_timeout_ms", a.timeout_ms.to_string().as_bytes())?;
    } else if a.pretrigger.is_some_and(|p| p != 0) || a.timeout_ms != 0 {
        bail!(
            "--pretrigger and --timeout-ms need the Rust driver; instance {} is the upstream one",
            inst.name
        );
    }
    match (&trigger_bytes, inst.extended) {
        (Some(t), true) => inst.write("trigger_expr", t)?,
        (Some(t), false) => inst.write("trigger", t)?,
        // Clear a trigger left armed by someone else.
        (None, true) => inst.write("trigger_expr", b"")?,
        (None, false) => {}
    }

    let iso = if a.no_isolate {
        None
    } else {
        Some(isolate::isolate(&isolate::Options {
            root: "/".into(),
            cpu: a.cpu,
            allow_mount: true,
            suppress_rcu_stalls: !inst.extended,
        })?)
    };
    if let Some(iso) = &iso {
        for n in &iso.notes {
            eprintln!("note: {n}");
        }
    }
    eprintln!(
        "Setting up '{}': {} samples at {} with {} trigger using CPU{}",
        inst.name,
        samples,
        si::format_hz(a.rate),
        if a.trigger.is_some() { "a" } else { "no" },
        a.cpu
    );

    let mut worker = Command::new("/proc/self/exe")
        .arg("__worker")
        .arg(inst.dir.join("capture"))
        .arg(a.cpu.to_string())
        .stdin(Stdio::piped())
        .spawn()
        .context("starting the capture worker")?;
    if let Some(iso) = &iso {
        if let Err(e) = iso.adopt(worker.id()) {
            let _ = worker.kill();
            let _ = worker.wait();
            return Err(e);
        }
    }
    worker
        .stdin
        .take()
        .context("worker stdin")?
        .write_all(b"g")?;

    let expected = Duration::from_nanos(period_ns.saturating_mul(samples));
    let bar = indicatif::ProgressBar::new(expected.as_millis().max(1) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(if a.trigger.is_some() {
        "waiting for trigger / capturing"
    } else {
        "capturing"
    });
    let started = Instant::now();
    let status = loop {
        if interrupted.load(Ordering::Relaxed) {
            // SIGKILL is what the driver checks for while sampling with IRQs off.
            let _ = worker.kill();
            let _ = worker.wait();
            bar.abandon_with_message("interrupted");
            drop(iso);
            eprintln!("gpio-la: interrupted; CPU isolation undone, no file written");
            return Ok(ExitCode::from(130));
        }
        if let Some(st) = worker.try_wait()? {
            break st;
        }
        bar.set_position(started.elapsed().as_millis() as u64);
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    let isolation = iso.as_ref().map(|i| format!("{:?}", i.mode));
    let notes = iso.as_ref().map(|i| i.notes.clone()).unwrap_or_default();
    drop(iso);
    match status.code() {
        Some(0) => {}
        Some(errno) => bail!("capture failed: {}", capture_error(errno, &inst, a.rate)),
        None => bail!("the capture worker was killed"),
    }

    let stats = inst.stats()?;
    // The achieved rate (whole Hz) is what the samples really are; the requested one for the upstream driver.
    let achieved_mhz = stats
        .get("achieved_rate_hz")
        .and_then(|s| {
            let (i, f) = s.split_once('.').unwrap_or((s, "0"));
            Some(i.parse::<u64>().ok()? * 1000 + format!("{f:0<3}")[..3].parse::<u64>().ok()?)
        })
        .filter(|r| *r > 0)
        .unwrap_or(a.rate * 1000);
    let samplerate_hz = (achieved_mhz + 500) / 1000;
    let session = sigrok::Session {
        samplerate_hz,
        unitsize: inst.unitsize,
        probes: inst.probes.clone(),
    };
    let data_path = inst.dir.join("sample_data");
    let n = sigrok::write(&out, &session, &mut BufReader::new(File::open(&data_path)?))
        .with_context(|| format!("writing {}", out.display()))?;
    if a.vcd {
        let vcd_path = out.with_extension("vcd");
        write_atomic(&vcd_path, |w| {
            vcd::write(
                w,
                &inst.probes,
                inst.unitsize,
                achieved_mhz,
                &mut BufReader::new(File::open(&data_path)?),
            )?;
            Ok(())
        })?;
        eprintln!("Saved '{}'", vcd_path.display());
    }
    let sidecar = Sidecar {
        version: 1,
        instance: &inst.name,
        driver: if inst.extended { "rust" } else { "upstream" },
        probes: &inst.probes,
        unitsize: inst.unitsize,
        samples: n,
        requested_rate_hz: a.rate,
        samplerate_hz,
        trigger: a.trigger.as_deref(),
        cpu: a.cpu,
        isolation,
        isolation_notes: notes,
        duration_s: elapsed.as_secs_f64(),
        stats,
    };
    write_atomic(&out.with_extension("json"), |w| {
        Ok(serde_json::to_writer_pretty(&mut *w, &sidecar)?)
    })?;
    eprintln!("Logic analyzer done. Saved '{}'", out.display());
    eprintln!("Achieved sample rate: {}", si::format_hz(samplerate_hz));
    if let (Some(late), Some(max)) = (
        sidecar.stats.get("late_samples"),
        sidecar.stats.get("late_ns_max"),
    ) {
        eprintln!("Timing: {late} of {n} samples taken a period or more late (worst {max} ns); details in the .json");
    }
    println!("{}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn convert(a: &ConvertArgs) -> Result<ExitCode> {
    let meta = std::fs::read_to_string(&a.meta)
        .with_context(|| format!("reading {}", a.meta.display()))?;
    let probes = analyzer::parse_meta(&meta)
        .with_context(|| format!("{} is not a meta_data file", a.meta.display()))?;
    let unitsize = a
        .unitsize
        .unwrap_or_else(|| la_core::samples::unit_size(probes.len() as u32));
    if a.rate == 0 {
        bail!("the sample rate must be above 0 Hz");
    }
    let mut data = BufReader::with_capacity(
        1 << 20,
        File::open(&a.data).with_context(|| format!("reading {}", a.data.display()))?,
    );
    let n = match a.output.extension().and_then(|e| e.to_str()) {
        Some("sr") => sigrok::write(
            &a.output,
            &sigrok::Session {
                samplerate_hz: a.rate,
                unitsize,
                probes,
            },
            &mut data,
        )?,
        Some("vcd") => {
            let mut n = 0;
            write_atomic(&a.output, |w| {
                n = vcd::write(w, &probes, unitsize, a.rate * 1000, &mut data)?;
                Ok(())
            })?;
            n
        }
        _ => bail!("output {} must end in .sr or .vcd", a.output.display()),
    };
    eprintln!("{n} samples written to {}", a.output.display());
    Ok(ExitCode::SUCCESS)
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
    let period = la_core::timing::period_for_rate(a.rate)
        .with_context(|| format!("{} Hz is not a usable rate", a.rate))?;
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
    // Idle for a tenth of the program before and after, so decoders see a quiet bus.
    let len_ns = edges.last().map_or(0, |e| e.t_ns);
    let lead = len_ns / 10 + period;
    let per_rep = (len_ns + 2 * lead) / period;
    let unit = la_core::samples::unit_size(a.probes);
    write_atomic(&a.output, |w| {
        let mut sample = vec![0u8; unit];
        for _ in 0..a.repeat {
            for i in 0..per_rep {
                let t = i * period;
                let state = if t < lead {
                    idle
                } else {
                    la_core::waveform::state_at(idle, &edges, t - lead)
                };
                sample.copy_from_slice(&state.to_le_bytes()[..unit]);
                w.write_all(&sample)?;
            }
        }
        Ok(())
    })?;
    let meta: String = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("probe{:02}={n}\n", i + 1))
        .collect();
    let mut meta_path = a.output.clone().into_os_string();
    meta_path.push(".meta");
    write_atomic(Path::new(&meta_path), |w| Ok(w.write_all(meta.as_bytes())?))?;
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
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&interrupted)) {
            eprintln!("gpio-la: cannot handle signal {sig}: {e}");
            return ExitCode::from(1);
        }
    }
    let r = match &cli.cmd {
        Cmd::List => list(&cli.debugfs),
        Cmd::Capture(a) => capture(&cli.debugfs, a, &interrupted),
        Cmd::Convert(a) => convert(a),
        Cmd::Synth(a) => synth(a),
        Cmd::Worker { capture, cpu } => run_worker(capture, *cpu),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gpio-la: {e:#}");
            ExitCode::from(1)
        }
    }
}
