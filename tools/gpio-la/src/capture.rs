// SPDX-License-Identifier: GPL-2.0
//! `gpio-la capture`, in its three stages: a validated [`Plan`] (everything checked before the analyzer or
//! the system is touched), the capture itself (isolation, the worker process on the isolated CPU, progress),
//! and the export of the files (all or nothing, see [`gpio_la::output`]).

use anyhow::{bail, Context, Result};
use gpio_la::{analyzer, interrupt, isolate, output, pvs, rate::Rate, si, sigrok, vcd};
use serde::Serialize;
use std::{
    io::{BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

use crate::CaptureArgs;

/// Pre-trigger share used with a trigger unless `--pretrigger` says otherwise.
const DEFAULT_PRETRIGGER: u8 = 5;

/// A capture that passed every check.
pub struct Plan {
    inst: analyzer::Instance,
    rate: Rate,
    samples: u64,
    /// The `.sr` file; the others are named after it.
    out: PathBuf,
    /// What to write to `trigger_expr` (Rust driver) or `trigger` (upstream driver).
    trigger: Option<Vec<u8>>,
    pretrigger: u8,
    decoders: Vec<pvs::Stack>,
}

/// What the capture stage hands to the export stage.
struct Captured {
    elapsed: Duration,
    isolation: Option<String>,
    notes: Vec<String>,
}

/// Runs `capture` (or starts it in the background with `--detach`).
pub fn run(debugfs: &Path, a: &CaptureArgs) -> Result<ExitCode> {
    if a.detach {
        return detach();
    }
    let plan = Plan::new(debugfs, a)?;
    plan.arm(a)?;
    let Some(captured) = capture(&plan, a)? else {
        return Ok(ExitCode::from(130));
    };
    export(&plan, a, &captured)?;
    Ok(ExitCode::SUCCESS)
}

fn detach() -> Result<ExitCode> {
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
    Ok(ExitCode::SUCCESS)
}

/// The `.sr` file for output argument `out`: the file itself, or `<instance>-<epoch>.sr` in a directory.
fn sr_path(out: &Path, instance: &str) -> PathBuf {
    if out.extension().is_some_and(|e| e == "sr") && !out.is_dir() {
        return out.to_path_buf();
    }
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    out.join(format!("{instance}-{epoch}.sr"))
}

impl Plan {
    fn new(debugfs: &Path, a: &CaptureArgs) -> Result<Self> {
        let inst = analyzer::find(debugfs, a.instance.as_deref())?;
        if let Some(i) = inst.probes.iter().position(|n| n.trim().is_empty()) {
            bail!(
                "{}/meta_data: probe{:02} has an empty name (sigrok and VCD readers need one)",
                inst.dir.display(),
                i + 1
            );
        }
        let rate = a.rate;
        la_core::timing::period_for_rate(rate.whole_hz().max(1))
            .with_context(|| format!("{rate} is not a usable rate (at most 1 GHz)"))?;
        let samples = match a.duration {
            Some(us) => u64::try_from(u128::from(rate.mhz()) * u128::from(us) / 1_000_000_000)
                .context("the capture would have too many samples")?,
            None => a.samples,
        };
        if samples == 0 {
            bail!("the capture would have no samples");
        }
        if a.output.extension().is_some_and(|e| e != "sr") && !a.output.is_dir() {
            bail!(
                "output {} must be a directory or end in .sr",
                a.output.display()
            );
        }
        let out = sr_path(&a.output, &inst.name);
        output::check_writable(&out)?;
        if a.vcd {
            vcd::check_layout(&inst.probes, inst.unitsize)?;
        }
        // Check the trigger here, where the message can name the problem.
        let nprobes = inst.probes.len() as u32;
        let trigger = match &a.trigger {
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
        if !inst.extended && (a.pretrigger.is_some_and(|p| p != 0) || a.timeout_ms != 0) {
            bail!(
                "--pretrigger and --timeout-ms need the Rust driver; instance {} is the upstream one",
                inst.name
            );
        }
        let pretrigger = a.pretrigger.unwrap_or(if a.trigger.is_some() {
            DEFAULT_PRETRIGGER
        } else {
            0
        });
        let decoders = a
            .decode
            .iter()
            .map(|d| pvs::Stack::parse(d, &inst.probes))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            inst,
            rate,
            samples,
            out,
            trigger,
            pretrigger,
            decoders,
        })
    }

    /// Programs the analyzer: rate, buffer, pre-trigger, timeout, trigger.
    fn arm(&self, a: &CaptureArgs) -> Result<()> {
        let inst = &self.inst;
        inst.write("delay_ns", self.rate.period_ns().to_string().as_bytes())
            .context("the analyzer refused the sample rate")?;
        inst.write("buf_size", self.samples.to_string().as_bytes())
            .context("the analyzer refused the sample count")?;
        if inst.extended {
            inst.write("pretrigger_percent", self.pretrigger.to_string().as_bytes())?;
            inst.write("trigger_timeout_ms", a.timeout_ms.to_string().as_bytes())?;
        }
        match (&self.trigger, inst.extended) {
            (Some(t), true) => inst.write("trigger_expr", t)?,
            (Some(t), false) => inst.write("trigger", t)?,
            // Clear a trigger left armed by someone else.
            (None, true) => inst.write("trigger_expr", b"")?,
            (None, false) => {}
        }
        Ok(())
    }
}

/// Describes a failed `capture` write by its errno, in terms of what to do about it.
fn capture_error(errno: i32, inst: &analyzer::Instance, rate: Rate) -> String {
    match errno {
        libc::ERANGE => {
            let acq: u64 = inst
                .read("delay_ns_acquisition")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            let max = 1_000_000_000u64.checked_div(acq).unwrap_or(0);
            format!(
                "{rate} is faster than this CPU reads the probes: about {} at most",
                si::format_hz(max)
            )
        }
        libc::ETIMEDOUT => "the trigger did not fire within the timeout".into(),
        libc::EINTR => "the capture was interrupted".into(),
        libc::ENOMEM => "not enough memory for the capture buffer".into(),
        libc::ENODEV => "the analyzer instance went away during the capture".into(),
        e => format!(
            "{} (see the kernel log)",
            output::reason(&std::io::Error::from_raw_os_error(e))
        ),
    }
}

/// The process that runs the blocking capture write on the isolated CPU (`gpio-la __worker`).
pub fn run_worker(capture: &Path, cpu: u32) -> Result<ExitCode> {
    // The parent handles Ctrl-C and kills this process, which is what the driver checks for.
    interrupt::ignore();
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

/// Isolates the CPU, runs the worker and shows progress until the capture ends. `None`: interrupted (the
/// worker is killed and the isolation undone).
fn capture(plan: &Plan, a: &CaptureArgs) -> Result<Option<Captured>> {
    // From here until the isolation is undone, a signal is handled by the loop below, not the watchdog.
    let hold = interrupt::hold();
    let iso = if a.no_isolate {
        None
    } else {
        Some(isolate::isolate(&isolate::Options {
            root: "/".into(),
            cpu: a.cpu,
            allow_mount: true,
            suppress_rcu_stalls: !plan.inst.extended,
        })?)
    };
    if let Some(iso) = &iso {
        for n in &iso.notes {
            eprintln!("note: {n}");
        }
    }
    eprintln!(
        "Setting up '{}': {} samples at {} with {} trigger using CPU{}",
        plan.inst.name,
        plan.samples,
        plan.rate,
        if a.trigger.is_some() { "a" } else { "no" },
        a.cpu
    );

    let mut worker = Command::new("/proc/self/exe")
        .arg("__worker")
        .arg(plan.inst.dir.join("capture"))
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

    let expected = Duration::from_nanos(plan.rate.period_ns().saturating_mul(plan.samples));
    let bar = crate::progress_bar(expected.as_millis().max(1) as u64);
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
        if interrupt::interrupted() {
            // SIGKILL is what the driver checks for while sampling with IRQs off.
            let _ = worker.kill();
            let _ = worker.wait();
            bar.abandon_with_message("interrupted");
            drop(iso);
            eprintln!("gpio-la: interrupted; CPU isolation undone, no file written");
            return Ok(None);
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
    drop(hold);
    match status.code() {
        Some(0) => {}
        Some(errno) => bail!(
            "capture failed: {}",
            capture_error(errno, &plan.inst, plan.rate)
        ),
        None => bail!("the capture worker was killed"),
    }
    Ok(Some(Captured {
        elapsed,
        isolation,
        notes,
    }))
}

/// A rate as a JSON number: an integer when whole.
fn json_rate(r: Rate) -> serde_json::Value {
    if r.is_whole() {
        (r.mhz() / 1000).into()
    } else {
        r.hz_f64().into()
    }
}

/// Statistics written next to the capture, for people and scripts (and `convert --meta`/`--stats`).
#[derive(Serialize)]
struct Sidecar<'a> {
    version: u32,
    instance: &'a str,
    driver: &'static str,
    probes: &'a [String],
    unitsize: usize,
    samples: u64,
    requested_rate_hz: serde_json::Value,
    samplerate_hz: u64,
    trigger: Option<&'a str>,
    cpu: u32,
    isolation: Option<String>,
    isolation_notes: Vec<String>,
    duration_s: f64,
    /// The driver's `stats` (Rust driver only).
    stats: std::collections::BTreeMap<String, String>,
}

/// Writes the `.sr`, and the `.vcd`, `.json` and `.pvs` beside it, all or nothing.
fn export(plan: &Plan, a: &CaptureArgs, captured: &Captured) -> Result<()> {
    let inst = &plan.inst;
    let stats = inst.stats()?;
    // The achieved rate is what the samples really are; the requested one for the upstream driver.
    let rate = stats
        .get("achieved_rate_hz")
        .and_then(|s| Rate::parse(s).ok())
        .unwrap_or(plan.rate);
    let samplerate_hz = rate.whole_hz().max(1);
    let session = sigrok::Session {
        samplerate_hz,
        unitsize: inst.unitsize,
        probes: inst.probes.clone(),
    };
    let data_path = inst.dir.join("sample_data");
    let mut outs = output::Outputs::new();
    let sr = outs.create(&plan.out)?;
    let n = sigrok::write(
        outs.file(sr),
        &session,
        &mut output::open_input(&data_path)?,
        &mut |_| {},
    )?;
    let vcd_path = plan.out.with_extension("vcd");
    if a.vcd {
        let f = outs.create(&vcd_path)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, outs.file(f));
        vcd::write(
            &mut w,
            &inst.probes,
            inst.unitsize,
            rate,
            &mut BufReader::new(output::open_input(&data_path)?),
            &mut |_| {},
        )?;
        w.flush()?;
    }
    let sidecar = Sidecar {
        version: 1,
        instance: &inst.name,
        driver: if inst.extended { "rust" } else { "upstream" },
        probes: &inst.probes,
        unitsize: inst.unitsize,
        samples: n,
        requested_rate_hz: json_rate(plan.rate),
        samplerate_hz,
        trigger: a.trigger.as_deref(),
        cpu: a.cpu,
        isolation: captured.isolation.clone(),
        isolation_notes: captured.notes.clone(),
        duration_s: captured.elapsed.as_secs_f64(),
        stats,
    };
    let j = outs.create(&plan.out.with_extension("json"))?;
    serde_json::to_writer_pretty(&mut *outs.file(j), &sidecar)?;
    outs.file(j).write_all(b"\n")?;
    let pvs_path = plan.out.with_extension("pvs");
    if !plan.decoders.is_empty() {
        let p = outs.create(&pvs_path)?;
        outs.file(p)
            .write_all(pvs::session(&plan.decoders).as_bytes())?;
    }
    outs.commit()?;
    if a.vcd {
        eprintln!("Saved '{}'", vcd_path.display());
    }
    eprintln!("Logic analyzer done. Saved '{}'", plan.out.display());
    if !plan.decoders.is_empty() {
        eprintln!(
            "PulseView session with the decoders: pulseview -s '{}' '{}'",
            pvs_path.display(),
            plan.out.display()
        );
    }
    eprintln!("Achieved sample rate: {rate}");
    if let (Some(late), Some(max)) = (
        sidecar.stats.get("late_samples"),
        sidecar.stats.get("late_ns_max"),
    ) {
        eprintln!("Timing: {late} of {n} samples taken a period or more late (worst {max} ns); details in the .json");
    }
    println!("{}", plan.out.display());
    Ok(())
}
