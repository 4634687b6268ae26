// SPDX-License-Identifier: GPL-2.0
//! `kcamctl`: enumerate a KCAM camera, read and write registers, and run operation lists from JSON files.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use kcam::camera::{ioctl, name_of, Camera};
use kcam::ioctl as kio;
use kcam::uapi::{self, Event, EventSub, EventType, Op, Opcode, Reset, Submit};
use serde::Deserialize;
use std::{
    path::PathBuf,
    process::ExitCode,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

#[path = "../compliance.rs"]
mod compliance;
#[path = "../frames_checks.rs"]
mod frames_checks;
#[path = "../frames_cli.rs"]
mod frames_cli;

/// Drive a KCAM camera through its ioctls.
#[derive(Parser)]
#[command(version, long_about = None, after_help = "\
Examples:
  kcamctl list
  kcamctl write vcam-sensor EXPOSURE 500
  kcamctl run ops.json        # [{\"op\":\"write\",\"entity\":\"vcam-sensor\",\"reg\":\"GAIN\",\"value\":32}, ...]
  kcamctl capture --frames 5 -o 'frame-%03d.png' --pattern bars --exposure 8000 --illuminant neutral
  kcamctl capture --3a -o converged.png
  kcamctl 3a                  # AE/AWB from a dark start; prints every frame and where it converged

  kcamctl --uring run ops.json   # the same list as an io_uring command (IORING_OP_URING_CMD)

A rejected list prints the index of the first offending operation and the reason; nothing of it ran.
Exit status: 0 success, 1 failure, 2 usage error, 130 interrupted (SIGINT, SIGTERM).")]
struct Cli {
    /// The camera device.
    #[arg(short, long, default_value = "/dev/kcam0")]
    device: PathBuf,
    /// Through io_uring: `run` submits its list as an IORING_OP_URING_CMD and waits for its CQE, `stream` takes
    /// the events from a multishot command, `fuzz` also sends random io_uring commands.
    #[arg(long, global = true)]
    uring: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List entities and their registers.
    List,
    /// Read a register.
    Read { entity: String, reg: String },
    /// Write a register.
    Write {
        entity: String,
        reg: String,
        value: String,
    },
    /// Run the operations of a JSON file as one list; prints each result and status.
    Run {
        file: PathBuf,
        /// Validate only (KCAM_SUBMIT_TEST_ONLY).
        #[arg(long)]
        test_only: bool,
    },
    /// Reset the camera: cancel every list in flight (ECANCELED), every register to its reset value, injected
    /// faults cleared.
    Reset,
    /// Show vcam's injected faults, or set some: fail_nth=N (the Nth access from now fails with EIO),
    /// stuck_busy=0|1, lose_events=N, slow_us=N, hang=0|1, remove=1 (surprise removal; reload the module after).
    Faults { set: Vec<String> },
    /// Run one compliance scenario that needs several files, processes, threads or fences: ioctl-numbers,
    /// async-order, out-fence, wait-fence, fence-chain, fence-merge, pending-limit, test-only-full, reply-fault,
    /// camera-limits, param-snapshot, isolation, close-cancels, signal, kill-direct, kill-queued, reset-cancels,
    /// hang, hang-watchdog, removal; through io_uring: uring-order, uring-errors, uring-fences, uring-cancel,
    /// uring-async-cancel, uring-limits, uring-exit, uring-close, uring-isolation, uring-events, uring-removal;
    /// poll; of frames and buffers: import-errors, buffer-ops, buffer-limits, buffer-isolation, isp-params,
    /// frame-content, frame-sequence, exposure-ramp, buffer-close, buffer-release, buffer-cancel, buffer-reset,
    /// buffer-lost, buffer-removal. (removal, uring-removal and buffer-removal need the module reloaded after.)
    Check { case: String },
    /// Benchmark (not a test): WRITES register writes as one list, as WRITES single-op ioctls and as WRITES
    /// single-op io_uring commands submitted and reaped in one io_uring_enter, ROUNDS times each, interleaved;
    /// prints the per-op cost of each and the ratios.
    Bench {
        #[arg(long, default_value_t = 64)]
        writes: u32,
        #[arg(long, default_value_t = 200)]
        rounds: u32,
    },
    /// Stream FRAMES frames from the sensor: subscribe to FRAME_START/FRAME_END, set the stream bit, print every
    /// event with its timestamp, check sequence and order, stop.
    Stream {
        #[arg(long, default_value_t = 30)]
        frames: u64,
    },
    /// Capture frames into dma-bufs and write them as PNG (or PPM): the frame size and format, the scene and the
    /// sensor settings as given, the ISP subtracting the sensor's black level with the white balance given (or,
    /// with --3a, everything from the 3A loop). Prints each file with its frame number, the number stamped in its
    /// pixels and its mean colour.
    Capture(frames_cli::CaptureArgs),
    /// The 3A loop: auto exposure and auto white balance from each frame's statistics, programming exposure, gain
    /// and the ISP's gains through operation lists, from a dark start (exposure 100 us) until the frame stays on
    /// target and neutral; prints every frame and where it converged.
    #[command(name = "3a")]
    Aaa(frames_cli::AaaArgs),
    /// Benchmark (not a test): per frame size, the frames per second written into queued buffers and the time
    /// one frame takes to render, as a share of the frame period.
    FrameBench(frames_cli::BenchArgs),
    /// Send COUNT random ioctls (seeded, so a failure can be replayed): random operation lists, flags, reserved
    /// fields, dependencies, ioctl numbers and user pointers. Prints how many were accepted and rejected per errno.
    Fuzz {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 2000)]
        count: u32,
    },
}

fn bench(cam: &Camera, writes: u32, rounds: u32) -> Result<()> {
    let (sensor, _) = cam.entities.first().context("no entity")?;
    let reg = cam.reg_index(sensor.id, "EXPOSURE")?;
    let make = |i: u32| {
        let mut op = Op::new(Opcode::Write, sensor.id, reg);
        op.value = u64::from(i % 1000);
        op
    };
    let (mut list_ns, mut single_ns, mut uring_ns) = (0u128, 0u128, 0u128);
    let mut ring = compliance::uring_check::Bench::new()?;
    // Interleaved rounds, so drift of the machine hits all the same way.
    for _ in 0..rounds {
        let mut ops: Vec<Op> = (0..writes).map(make).collect();
        let t = std::time::Instant::now();
        cam.submit(&mut ops, 0)?;
        list_ns += t.elapsed().as_nanos();
        let t = std::time::Instant::now();
        for i in 0..writes {
            cam.submit(&mut [make(i)], 0)?;
        }
        single_ns += t.elapsed().as_nanos();
        uring_ns += ring.round(cam, make, writes)?.as_nanos();
    }
    let n = u128::from(writes) * u128::from(rounds);
    let (per_list, per_single, per_uring) = (list_ns / n, single_ns / n, uring_ns / n);
    println!("{writes} writes as one list: {per_list} ns per write");
    println!("{writes} single-op submissions: {per_single} ns per write");
    println!(
        "{writes} single-op io_uring commands in one io_uring_enter: {per_uring} ns per write"
    );
    let ratio = |a: u128, b: u128| a as f64 / b.max(1) as f64;
    println!("ratio single/list: {:.1}", ratio(per_single, per_list));
    println!("ratio single/io_uring: {:.1}", ratio(per_single, per_uring));
    println!("ratio io_uring/list: {:.1}", ratio(per_uring, per_list));
    Ok(())
}

fn print_event(e: &Event) {
    println!(
        "{} {} seq {} frame {} t {}.{:09}{}",
        if e.event == 0 {
            "frame-start"
        } else {
            "frame-end  "
        },
        e.entity_id,
        e.sequence,
        e.data[0],
        e.timestamp_ns / 1_000_000_000,
        e.timestamp_ns % 1_000_000_000,
        if e.dropped > 0 {
            format!(" ({} dropped before)", e.dropped)
        } else {
            String::new()
        }
    );
}

/// Streams `frames` frames and checks what arrives: per type, sequences without gaps; start and end alternating
/// for the same frame; timestamps increasing. Prints the measured frame rate. `uring`: the events come from a
/// multishot io_uring command instead of `KCAM_IOC_DQEVENT`.
fn stream(cam: &Camera, frames: u64, uring: bool) -> Result<()> {
    let (sensor, _) = cam
        .entities
        .iter()
        .find(|e| e.0.event_mask & 0b11 == 0b11)
        .context("no entity emits frame events")?;
    let id = sensor.id;
    let ctrl = cam.reg_index(id, "CTRL")?;
    for ev in [EventType::FrameStart, EventType::FrameEnd] {
        let mut sub = EventSub {
            entity_id: id,
            event: ev as u32,
            ..EventSub::default()
        };
        ioctl(&cam.file, kio::IOC_SUBSCRIBE, &mut sub).context("KCAM_IOC_SUBSCRIBE")?;
    }
    let set = |on: u64| -> Result<()> {
        let mut op = Op::new(Opcode::Write, id, ctrl);
        op.value = on;
        cam.submit(&mut [op], 0).map(|_| ())
    };
    set(1)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(frames + 5);
    let mut got: Vec<Event> = Vec::new();
    if uring {
        got = compliance::uring_check::stream(cam, frames as usize, print_event)
            .inspect_err(|_| drop(set(0)))?;
    }
    while got
        .iter()
        .filter(|e| e.event == EventType::FrameEnd as u32)
        .count()
        < frames as usize
    {
        let mut e = Event::default();
        match ioctl(&cam.file, kio::IOC_DQEVENT, &mut e) {
            Ok(()) => {
                print_event(&e);
                got.push(e);
            }
            Err(err) if err.raw_os_error() == Some(libc::EAGAIN) => {
                if std::time::Instant::now() > deadline {
                    set(0)?;
                    bail!("only {} events in {} s", got.len(), frames + 5);
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(err) => return Err(err).context("KCAM_IOC_DQEVENT"),
        }
    }
    set(0)?;
    // The first event may be an END of a frame that started before the subscription: start from a START.
    let first_start = got
        .iter()
        .position(|e| e.event == EventType::FrameStart as u32)
        .context("no frame start")?;
    let evs = &got[first_start..];
    for w in evs.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if b.timestamp_ns < a.timestamp_ns {
            bail!(
                "timestamps go back: {} then {}",
                a.timestamp_ns,
                b.timestamp_ns
            );
        }
        if a.event == b.event || b.dropped != 0 {
            bail!("events out of order or lost around sequence {}", b.sequence);
        }
        let same_frame = b.event == EventType::FrameEnd as u32 && b.data[0] == a.data[0];
        let next_frame = b.event == EventType::FrameStart as u32 && b.data[0] == a.data[0] + 1;
        if !same_frame && !next_frame {
            bail!("frame {} then frame {}: not in order", a.data[0], b.data[0]);
        }
    }
    // Per event type, sequence numbers have no gap.
    for ty in [EventType::FrameStart as u32, EventType::FrameEnd as u32] {
        let seqs: Vec<u64> = evs
            .iter()
            .filter(|e| e.event == ty)
            .map(|e| e.sequence)
            .collect();
        if seqs.windows(2).any(|w| w[1] != w[0] + 1) {
            bail!("a gap in the sequence numbers of event {ty}: {seqs:?}");
        }
    }
    let starts: Vec<&Event> = evs
        .iter()
        .filter(|e| e.event == EventType::FrameStart as u32)
        .collect();
    if let (Some(f), Some(l)) = (starts.first(), starts.last()) {
        if starts.len() > 1 {
            let fps = (starts.len() - 1) as f64 * 1e9 / (l.timestamp_ns - f.timestamp_ns) as f64;
            println!("ok: {} frames in order, {:.2} frames/s", starts.len(), fps);
        }
    }
    Ok(())
}

/// xorshift64*: a small deterministic generator, so a fuzz seed replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Mostly small, plausible values, sometimes anything.
    fn pick(&mut self, small: u64) -> u64 {
        match self.next() % 8 {
            0 => self.next(),
            1 => u64::MAX,
            _ => self.next() % small,
        }
    }
}

fn fuzz(cam: &Camera, seed: u64, count: u32, uring: bool) -> Result<()> {
    let mut rng = Rng(seed.max(1));
    let mut outcomes = std::collections::BTreeMap::<String, u32>::new();
    let ioctls = [
        kio::IOC_QUERY_CAPS,
        kio::IOC_ENUM_ENTITY,
        kio::IOC_ENUM_REG,
        kio::IOC_SUBMIT,
        kio::IOC_SUBMIT,
        kio::IOC_SUBMIT,
        kio::IOC_RESET,
        kio::IOC_WAIT,
        kio::IOC_DQEVENT,
        kio::IOC_IMPORT_BUFFER,
        kio::IOC_RELEASE_BUFFER,
    ];
    for _ in 0..count {
        // Room for any struct; the kernel reads only the size the ioctl number names.
        let mut buf = [0u64; 64];
        for w in buf.iter_mut() {
            if rng.next() % 4 == 0 {
                *w = rng.pick(16);
            }
        }
        let mut ops: Vec<Op> = (0..rng.pick(12))
            .take(300)
            .map(|_| {
                let mut o = Op::new(Opcode::Nop, 0, 0);
                o.opcode = rng.pick(13) as u32;
                o.entity_id = rng.pick(6) as u32;
                o.reg = rng.pick(8) as u32;
                o.value = rng.pick(0x1_0000);
                o.mask = rng.pick(0x1_0000);
                o.timeout_ns = rng.pick(2_000_000);
                o.event = rng.pick(5) as u32;
                for d in o.deps.iter_mut() {
                    *d = if rng.next() % 3 == 0 {
                        rng.pick(12) as u32
                    } else {
                        uapi::NO_DEP
                    };
                }
                if rng.next() % 16 == 0 {
                    o.flags = rng.next() as u32;
                }
                if rng.next() % 16 == 0 {
                    o.reserved1 = 1;
                }
                // Mostly well-formed: inputs the opcode does not use cleared, as a program would.
                if rng.next() % 4 != 0 {
                    kcam::validate::clear_unused_inputs(&mut o);
                }
                o
            })
            .collect();
        let mut params = vec![0u8; 64];
        for o in ops.iter_mut() {
            if o.opcode == Opcode::XferParam as u32 {
                match rng.next() % 4 {
                    // A bad user pointer must give EFAULT, never a crash.
                    0 => {
                        o.param_ptr = rng.next();
                        o.param_len = rng.pick(128) as u32;
                    }
                    _ => {
                        o.param_ptr = params.as_mut_ptr() as u64;
                        o.param_len = rng.pick(65) as u32;
                    }
                }
            }
        }
        let cmd = if rng.next() % 10 == 0 {
            rng.next() as libc::Ioctl
        } else {
            ioctls[(rng.next() % ioctls.len() as u64) as usize]
        };
        let result = if cmd == kio::IOC_SUBMIT || uring && rng.next() % 3 == 0 {
            let mut s = Submit {
                flags: if rng.next() % 4 == 0 {
                    rng.pick(16) as u32
                } else {
                    0
                },
                count: if rng.next() % 8 == 0 {
                    rng.next() as u32
                } else {
                    ops.len() as u32
                },
                ops_ptr: if rng.next() % 16 == 0 {
                    rng.next()
                } else {
                    ops.as_mut_ptr() as u64
                },
                ..Submit::default()
            };
            if rng.next() % 16 == 0 {
                s.reserved[1] = 1;
            }
            if uring && rng.next() % 2 == 0 {
                let (kind, res) =
                    compliance::uring_check::fuzz_one(cam, &mut s, |m| rng.pick(m.max(1)))?;
                *outcomes
                    .entry(format!("uring {kind} res {res}"))
                    .or_default() += 1;
                continue;
            }
            ioctl(&cam.file, kio::IOC_SUBMIT, &mut s)
        } else {
            ioctl(&cam.file, cmd, &mut buf)
        };
        let key = match result {
            Ok(()) => "accepted".to_string(),
            Err(e) => e
                .raw_os_error()
                .map_or("?".into(), |n| format!("errno {n}")),
        };
        *outcomes.entry(key).or_default() += 1;
    }
    for (k, n) in outcomes {
        println!("{k}: {n}");
    }
    Ok(())
}

/// One operation in a JSON list. Entities and registers by name or number.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonOp {
    op: String,
    #[serde(default)]
    entity: Option<serde_json::Value>,
    #[serde(default)]
    reg: Option<serde_json::Value>,
    #[serde(default)]
    value: u64,
    #[serde(default)]
    mask: u64,
    #[serde(default)]
    timeout_ns: u64,
    /// WAIT_EVENT: 0 frame start, 1 frame end, 2 stats ready, 3 error.
    #[serde(default)]
    event: u32,
    #[serde(default)]
    deps: Vec<u32>,
    /// XFER_PARAM: the bytes to send.
    #[serde(default)]
    param: Vec<u8>,
    /// Raw override of the flags field (to test rejections).
    #[serde(default)]
    flags: u32,
}

/// An entity given by name or number in a JSON list.
fn json_entity(cam: &Camera, v: &serde_json::Value) -> Result<u32> {
    match v {
        serde_json::Value::Number(n) => Ok(n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .context("bad entity number")?),
        serde_json::Value::String(s) => cam.entity_by_name(s).map(|e| e.0.id),
        _ => bail!("entity must be a name or a number"),
    }
}

/// A register of entity `entity` given by name or number in a JSON list.
fn json_reg(cam: &Camera, entity: u32, v: &serde_json::Value) -> Result<u32> {
    match v {
        serde_json::Value::Number(n) => Ok(n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .context("bad register number")?),
        serde_json::Value::String(s) => cam.reg_index(entity, s),
        _ => bail!("reg must be a name or a number"),
    }
}

fn parse_num(s: &str) -> Result<u64> {
    match s.strip_prefix("0x") {
        Some(h) => Ok(u64::from_str_radix(h, 16)?),
        None => Ok(s.parse()?),
    }
}

fn run(cli: &Cli, stop: &AtomicBool) -> Result<()> {
    const FAULTS: &str = "/sys/kernel/debug/vcam/faults";
    match &cli.cmd {
        Cmd::Check { case } if frames_checks::CASES.contains(&case.as_str()) => {
            return frames_checks::run(&cli.device, case, stop)
        }
        Cmd::Check { case } => return compliance::run(&cli.device, case),
        Cmd::Faults { set } if set.is_empty() => {
            print!(
                "{}",
                std::fs::read_to_string(FAULTS).with_context(|| format!("reading {FAULTS}"))?
            );
            return Ok(());
        }
        Cmd::Faults { set } => {
            return std::fs::write(FAULTS, set.join(" "))
                .with_context(|| format!("writing '{}' to {FAULTS}", set.join(" ")));
        }
        _ => {}
    }
    let cam = Camera::open(&cli.device)?;
    match &cli.cmd {
        Cmd::List => {
            for (e, regs) in &cam.entities {
                println!(
                    "{} {} (type {}, parent {}, {} regs of {} bits)",
                    e.id,
                    name_of(&e.name),
                    e.type_,
                    e.parent_id,
                    e.num_regs,
                    e.reg_width
                );
                for r in regs {
                    let acc = match r.access {
                        3 => "rw",
                        1 => "ro",
                        2 => "wo",
                        _ => "--",
                    };
                    println!(
                        "  {:2} {:14} {acc} mask {:#x} reset {:#x}",
                        r.reg,
                        name_of(&r.name),
                        r.writable_mask,
                        r.reset_value
                    );
                }
            }
        }
        Cmd::Read { entity, reg } => println!("{:#x}", cam.read_reg(entity, reg)?),
        Cmd::Write { entity, reg, value } => {
            cam.reg_op(Opcode::Write, entity, reg, parse_num(value)?)?;
        }
        Cmd::Run { file, test_only } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let list: Vec<JsonOp> = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a list of operations", file.display()))?;
            let mut params: Vec<Vec<u8>> = Vec::new();
            let mut ops = Vec::new();
            for (i, j) in list.iter().enumerate() {
                let opcode = match j.op.as_str() {
                    "nop" => Opcode::Nop,
                    "read" => Opcode::Read,
                    "write" => Opcode::Write,
                    "update" => Opcode::Update,
                    "poll" => Opcode::Poll,
                    "xfer_param" => Opcode::XferParam,
                    "wait_event" => Opcode::WaitEvent,
                    "wait_op" => Opcode::WaitOp,
                    "delay" => Opcode::Delay,
                    other => bail!("op {i}: unknown operation '{other}'"),
                };
                let entity = j
                    .entity
                    .as_ref()
                    .map(|e| json_entity(&cam, e))
                    .transpose()?
                    .unwrap_or(0);
                let reg = j
                    .reg
                    .as_ref()
                    .map(|r| json_reg(&cam, entity, r))
                    .transpose()?
                    .unwrap_or(0);
                let mut op = Op::new(opcode, entity, reg);
                op.value = j.value;
                op.mask = j.mask;
                op.timeout_ns = j.timeout_ns;
                op.event = j.event;
                op.flags = j.flags;
                if j.deps.len() > uapi::MAX_DEPS {
                    bail!("op {i}: at most {} dependencies", uapi::MAX_DEPS);
                }
                op.deps[..j.deps.len()].copy_from_slice(&j.deps);
                params.push(j.param.clone());
                ops.push(op);
            }
            // Pointers into `params`, which is not touched again until the submission is done.
            for (op, p) in ops.iter_mut().zip(params.iter()) {
                if !p.is_empty() {
                    op.param_ptr = p.as_ptr() as u64;
                    op.param_len = p.len() as u32;
                }
            }
            let flags = if *test_only {
                uapi::SUBMIT_TEST_ONLY
            } else {
                0
            };
            let s = if cli.uring {
                compliance::uring_check::submit(&cam, &mut ops, flags)?
            } else {
                cam.submit(&mut ops, flags)?
            };
            if *test_only {
                println!("valid");
            } else {
                for (i, op) in ops.iter().enumerate() {
                    let st = if op.status == 0 {
                        "ok".to_string()
                    } else {
                        std::io::Error::from_raw_os_error(-op.status).to_string()
                    };
                    println!("{i} {} result {:#x} {st}", list[i].op, op.result);
                }
                println!("seqno {}", s.seqno);
                if (s.error_idx as usize) < ops.len() {
                    bail!("op {} failed", s.error_idx);
                }
            }
        }
        Cmd::Fuzz { seed, count } => fuzz(&cam, *seed, *count, cli.uring)?,
        Cmd::Capture(a) => frames_cli::capture(&cam, a, stop)?,
        Cmd::Aaa(a) => frames_cli::aaa(&cam, a, stop)?,
        Cmd::FrameBench(a) => frames_cli::bench(&cam, a, stop)?,
        Cmd::Stream { frames } => stream(&cam, *frames, cli.uring)?,
        Cmd::Bench { writes, rounds } => bench(&cam, *writes, *rounds)?,
        Cmd::Reset => {
            let mut r = Reset::default();
            ioctl(&cam.file, kio::IOC_RESET, &mut r).context("KCAM_IOC_RESET")?;
        }
        Cmd::Faults { .. } | Cmd::Check { .. } => unreachable!("handled above"),
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // For the commands that stream frames, SIGINT and SIGTERM end the run between two frames: streaming stops,
    // the buffers go back, no file is left half-written (the camera's file closing would take the buffers back
    // anyway). A second signal ends the process at once. Every other command keeps the default actions.
    let stop = Arc::new(AtomicBool::new(false));
    let streams = match &cli.cmd {
        Cmd::Capture(_) | Cmd::Aaa(_) | Cmd::FrameBench(_) => true,
        Cmd::Check { case } => frames_checks::CASES.contains(&case.as_str()),
        _ => false,
    };
    if streams {
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone());
            let _ = signal_hook::flag::register(sig, stop.clone());
        }
    }
    match run(&cli, &stop) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) if stop.load(Ordering::Relaxed) => {
            eprintln!("kcamctl: interrupted");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("kcamctl: {e:#}");
            ExitCode::from(1)
        }
    }
}
