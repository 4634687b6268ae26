// SPDX-License-Identifier: GPL-2.0
//! `debugfs-fuzz`: a seeded fuzzer for debugfs files. Each operation (a write of a generated input, delivered whole,
//! split, at an offset or from a faulting buffer; or a read with odd sizes and offsets) runs in a child process,
//! which is killed (SIGKILL) when it takes too long; a child that does not end after that is an unkillable
//! writer, a failure. Crashes and kernel warnings are for the caller to catch (the test VM scans its console).

use anyhow::{bail, Context, Result};
use clap::Parser;
use debugfs_fuzz::{delivery, escape, input, Delivery, Rng};
use std::{
    collections::BTreeMap,
    ffi::CString,
    fs, io,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
    process::ExitCode,
    time::{Duration, Instant},
};

/// Fuzz debugfs files with random, boundary and malformed writes and odd reads.
#[derive(Parser)]
#[command(version, long_about = None, after_help = "\
Example:
  debugfs-fuzz --seed 7 --count 2000 /sys/kernel/debug/gpio-waveform /sys/kernel/debug/vcam/faults

The same seed on the same kernel state replays the same operations (-v prints each). Operations that outlast
--timeout-ms are killed, which is not a failure; one that is still running --kill-ms after SIGKILL is. Exit
status: 0 no unkillable operation, 1 an unkillable operation or an error, 2 usage error.")]
struct Cli {
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of operations.
    #[arg(long, default_value_t = 2000)]
    count: u32,
    /// Milliseconds an operation may run before it is killed.
    #[arg(long, default_value_t = 500)]
    timeout_ms: u64,
    /// Milliseconds a killed operation may take to end; longer is a failure.
    #[arg(long, default_value_t = 5000)]
    kill_ms: u64,
    /// Print every operation and its outcome.
    #[arg(short, long)]
    verbose: bool,
    /// debugfs files, or directories whose files (recursively, re-read as they come and go) are fuzzed.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// Largest amount one read operation reads, and most `read(2)` calls it makes.
const MAX_READ: usize = 256 * 1024;
const MAX_READ_CALLS: u32 = 64;
/// Re-read the directories every this many operations (files come and go with `new_device`).
const REWALK_EVERY: u32 = 32;
/// Timed-out operations printed in full (the rest are only counted).
const SHOWN_TIMEOUTS: u32 = 20;

/// One operation on one file.
enum Op {
    Write { data: Vec<u8>, how: Delivery },
    Read { chunk: usize, offset: i64 },
}

impl Op {
    fn generate(file_name: &str, rng: &mut Rng) -> Self {
        if rng.one_in(5) {
            Op::Read {
                chunk: *rng.pick(&[1, 7, 100, 4096, 65536]),
                offset: *rng.pick(&[0, 0, 0, 1, 4095, 1 << 31, i64::MAX]),
            }
        } else {
            let data = input(file_name, rng);
            let how = delivery(data.len(), rng);
            Op::Write { data, how }
        }
    }

    fn describe(&self) -> String {
        match self {
            Op::Write { data, how } => format!("write {how:?} \"{}\"", escape(data)),
            Op::Read { chunk, offset } => format!("read chunk={chunk} offset={offset}"),
        }
    }
}

/// How an operation ended.
enum Outcome {
    /// The child's exit status: 0, or the errno of the first failing call.
    Done(i32),
    /// Killed after the timeout; ended this long after SIGKILL.
    Killed(Duration),
    /// Still running `kill_ms` after SIGKILL.
    Unkillable,
}

/// Memory the child writes from to fault part-way: two pages, the second inaccessible.
struct FaultArea {
    base: *mut u8,
    page: usize,
}

impl FaultArea {
    fn new() -> Result<Self> {
        // SAFETY: sysconf has no memory-safety preconditions.
        let page =
            usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).context("page size")?;
        // SAFETY: An anonymous private mapping of two pages; the result is checked.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error()).context("mmap");
        }
        // SAFETY: The second page is inside the mapping just made.
        if unsafe { libc::mprotect(base.cast::<u8>().add(page).cast(), page, libc::PROT_NONE) } != 0
        {
            return Err(io::Error::last_os_error()).context("mprotect");
        }
        Ok(Self {
            base: base.cast(),
            page,
        })
    }

    /// Puts the first half of `data` (at most a page) just before the inaccessible page and returns where it
    /// starts: a write of `data.len()` bytes from there faults after those bytes.
    fn stage(&self, data: &[u8]) -> *const u8 {
        let k = data.len().div_ceil(2).min(self.page);
        // SAFETY: `k` <= one page, so the destination lies inside the accessible first page.
        unsafe {
            let dst = self.base.add(self.page - k);
            std::ptr::copy_nonoverlapping(data.as_ptr(), dst, k);
            dst
        }
    }
}

/// The errno of the last failed call, as a child's exit status (1..=255).
fn errno_status() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(255)
        .clamp(1, 255)
}

/// Runs `op` on `path` in this (child) process and exits: 0, or the errno of the first call that failed. Only
/// async-signal-safe calls, as after a fork: everything it needs was prepared before.
fn child(path: &CString, op: &Op, staged: *const u8, buf: &mut [u8]) -> ! {
    // SAFETY: Plain system calls on memory this process owns; `staged` points into the fault area with
    // `data.len()` bytes after it whose tail faults, which the kernel reports as EFAULT.
    unsafe {
        let flags = match op {
            Op::Write { .. } => libc::O_WRONLY,
            Op::Read { .. } => libc::O_RDONLY,
        };
        let fd = libc::open(path.as_ptr(), flags | libc::O_CLOEXEC);
        if fd < 0 {
            libc::_exit(errno_status());
        }
        let ok = match op {
            Op::Write { data, how } => match how {
                Delivery::Whole => libc::write(fd, data.as_ptr().cast(), data.len()) >= 0,
                Delivery::At(off) => libc::pwrite(fd, data.as_ptr().cast(), data.len(), *off) >= 0,
                Delivery::Faulting => libc::write(fd, staged.cast(), data.len()) >= 0,
                Delivery::Split(cuts) => {
                    let mut from = 0;
                    let mut ok = true;
                    for &to in cuts.iter().chain(std::iter::once(&data.len())) {
                        if libc::write(fd, data.as_ptr().add(from).cast(), to - from) < 0 {
                            ok = false;
                            break;
                        }
                        from = to;
                    }
                    ok
                }
            },
            Op::Read { chunk, offset } => {
                let chunk = (*chunk).min(buf.len());
                let mut ok =
                    *offset == 0 || libc::pread(fd, buf.as_mut_ptr().cast(), chunk, *offset) >= 0;
                let (mut total, mut calls) = (0, 0);
                while ok && total < MAX_READ && calls < MAX_READ_CALLS {
                    calls += 1;
                    let n = libc::read(fd, buf.as_mut_ptr().cast(), chunk);
                    ok = n >= 0;
                    if n <= 0 {
                        break;
                    }
                    // CAST: `n` > 0 here.
                    total += n as usize;
                }
                ok
            }
        };
        libc::_exit(if ok { 0 } else { errno_status() });
    }
}

/// Waits up to `limit` for the process behind `pidfd` to end; true if it did.
fn wait_exit(pid: libc::pid_t, pidfd: Option<libc::c_int>, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match pidfd {
            Some(fd) => {
                let mut p = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                let ms = libc::c_int::try_from(left.as_millis()).unwrap_or(libc::c_int::MAX);
                // SAFETY: One valid pollfd.
                let r = unsafe { libc::poll(&mut p, 1, ms) };
                if r > 0 {
                    return true;
                }
                if r == 0 {
                    return false;
                }
                if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    return false;
                }
            }
            None => {
                // Without pidfds (older kernels): look every millisecond.
                // SAFETY: An all-zero siginfo_t is a valid value.
                let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
                // SAFETY: Checks our own child without reaping it (WNOWAIT); `info` is valid for writes.
                let r = unsafe {
                    libc::waitid(
                        libc::P_PID,
                        // CAST: a pid is not negative here.
                        pid as libc::id_t,
                        &mut info,
                        libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                    )
                };
                // SAFETY: `si_pid` is valid for the WEXITED kind just asked for.
                if r == 0 && unsafe { info.si_pid() } == pid {
                    return true;
                }
                if left.is_zero() {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// Runs `op` on `path` in a child process, killing it after `timeout`.
fn run(
    path: &Path,
    op: &Op,
    area: &FaultArea,
    buf: &mut [u8],
    timeout: Duration,
    kill: Duration,
) -> Result<Outcome> {
    let cpath = CString::new(path.as_os_str().as_bytes()).context("path with a NUL")?;
    let staged = match op {
        Op::Write {
            data,
            how: Delivery::Faulting,
        } => area.stage(data),
        _ => std::ptr::null(),
    };
    // SAFETY: This program is single-threaded; the child only makes async-signal-safe calls and exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error()).context("fork");
    }
    if pid == 0 {
        child(&cpath, op, staged, buf);
    }
    // SAFETY: pidfd_open on our own child; the result is checked.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let pidfd = libc::c_int::try_from(raw).ok().filter(|fd| *fd >= 0);
    let outcome = if wait_exit(pid, pidfd, timeout) {
        Outcome::Done(reap(pid))
    } else {
        // SAFETY: Our child, not yet reaped.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let t = Instant::now();
        if wait_exit(pid, pidfd, kill) {
            reap(pid);
            Outcome::Killed(t.elapsed())
        } else {
            Outcome::Unkillable
        }
    };
    if let Some(fd) = pidfd {
        // SAFETY: Our own descriptor.
        unsafe { libc::close(fd) };
    }
    Ok(outcome)
}

/// Reaps an ended child; returns its exit status (or 128 + signal).
fn reap(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    // SAFETY: Our child, which has ended.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

/// Every regular file under `paths` (directories recursively), sorted so that a seed replays.
fn walk(paths: &[PathBuf]) -> Vec<PathBuf> {
    fn visit(p: &Path, out: &mut Vec<PathBuf>) {
        match fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => {
                if let Ok(rd) = fs::read_dir(p) {
                    let mut entries: Vec<PathBuf> =
                        rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                    entries.sort();
                    for e in entries {
                        visit(&e, out);
                    }
                }
            }
            Ok(m) if m.is_file() => out.push(p.to_path_buf()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for p in paths {
        visit(p, &mut out);
    }
    out
}

/// What happened to one file.
#[derive(Default)]
struct Tally {
    writes: u32,
    reads: u32,
    outcomes: BTreeMap<String, u32>,
    killed: u32,
    slowest_kill: Duration,
}

fn outcome_name(status: i32) -> String {
    match status {
        0 => "ok".into(),
        1..=127 => io::Error::from_raw_os_error(status)
            .to_string()
            .split(" (os error")
            .next()
            .unwrap_or_default()
            .to_string(),
        s => format!("signal {}", s - 128),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match fuzz(&cli) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(n) => {
            eprintln!("debugfs-fuzz: {n} unkillable operation(s)");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("debugfs-fuzz: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Runs the fuzzer; returns the number of unkillable operations.
fn fuzz(cli: &Cli) -> Result<u32> {
    for p in &cli.paths {
        if fs::symlink_metadata(p).is_err() {
            bail!("{}: no such file or directory", p.display());
        }
    }
    let area = FaultArea::new()?;
    let mut buf = vec![0u8; 65536];
    let timeout = Duration::from_millis(cli.timeout_ms);
    let kill = Duration::from_millis(cli.kill_ms);
    let mut rng = Rng::new(cli.seed);
    let mut files = Vec::new();
    let mut tallies: BTreeMap<PathBuf, Tally> = BTreeMap::new();
    let mut unkillable = 0u32;
    let start = Instant::now();
    for i in 0..cli.count {
        if i % REWALK_EVERY == 0 || files.is_empty() {
            files = walk(&cli.paths);
            if files.is_empty() {
                bail!("no files under the given paths");
            }
        }
        let path = rng.pick(&files).clone();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let op = Op::generate(&name, &mut rng);
        let outcome = run(&path, &op, &area, &mut buf, timeout, kill)?;
        let t = tallies.entry(path.clone()).or_default();
        match op {
            Op::Write { .. } => t.writes += 1,
            Op::Read { .. } => t.reads += 1,
        }
        let shown = match &outcome {
            Outcome::Done(s) => {
                let n = outcome_name(*s);
                if *s == libc::ENOENT {
                    // The file went (an instance was deleted): look again.
                    files.clear();
                }
                *t.outcomes.entry(n.clone()).or_default() += 1;
                n
            }
            Outcome::Killed(d) => {
                t.killed += 1;
                t.slowest_kill = t.slowest_kill.max(*d);
                if t.killed <= SHOWN_TIMEOUTS {
                    println!(
                        "note: operation {i} timed out, SIGKILL ended it in {} ms: {} {}",
                        d.as_millis(),
                        path.display(),
                        op.describe()
                    );
                }
                format!(
                    "killed after the timeout, ended {} ms after SIGKILL",
                    d.as_millis()
                )
            }
            Outcome::Unkillable => {
                unkillable += 1;
                println!(
                    "UNKILLABLE: operation {i} (seed {}) still runs {} ms after SIGKILL: {} {}",
                    cli.seed,
                    cli.kill_ms,
                    path.display(),
                    op.describe()
                );
                "unkillable".into()
            }
        };
        if cli.verbose {
            println!("{i} {} {} -> {shown}", path.display(), op.describe());
        }
    }
    println!(
        "debugfs-fuzz: seed {}, {} operations on {} files in {:.1} s",
        cli.seed,
        cli.count,
        tallies.len(),
        start.elapsed().as_secs_f64()
    );
    for (path, t) in &tallies {
        let outcomes: Vec<String> = t.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!(
            "  {}: {} writes, {} reads: {}{}",
            path.display(),
            t.writes,
            t.reads,
            outcomes.join(", "),
            if t.killed > 0 {
                format!(
                    "; {} killed after the timeout (slowest end {} ms)",
                    t.killed,
                    t.slowest_kill.as_millis()
                )
            } else {
                String::new()
            }
        );
    }
    let never: Vec<String> = walk(&cli.paths)
        .into_iter()
        .filter(|p| !tallies.contains_key(p))
        .map(|p| p.display().to_string())
        .collect();
    if !never.is_empty() {
        println!("never fuzzed: {}", never.join(" "));
    }
    println!("unkillable: {unkillable}");
    Ok(unkillable)
}
