// SPDX-License-Identifier: GPL-2.0
//! Isolating one CPU for a capture, and putting everything back afterwards.
//!
//! cgroup v2 first: an `isolated` cpuset partition holding only the capture CPU (the capture worker runs in it, no
//! other task can be scheduled there). cgroup v1 cpusets only where v2's cpuset controller is unavailable, as the
//! upstream script does (an exclusive cpuset). Then IRQ affinities, the default IRQ affinity and the unbound
//! workqueue mask lose the CPU, and its cpufreq governor becomes `performance` where cpufreq exists.
//!
//! Every change is recorded and undone in reverse order when the [`Isolation`] is dropped: at the end of a
//! capture, on an error, and (through the signal handling in `main`) on Ctrl-C. All paths are relative to a
//! root directory, so the logic is tested against a fake sysfs/procfs/cgroupfs tree.

use crate::cpumask::CpuMask;
use anyhow::{bail, Context, Result};
use std::{
    fs,
    path::{Path, PathBuf},
};

/// Name of the cgroup the tool creates.
pub const CGROUP_NAME: &str = "gpio-la";

/// One change to undo.
#[derive(Debug)]
enum Undo {
    /// Write `old` back to `path`.
    Restore { path: PathBuf, old: String },
    /// Remove a directory the tool created.
    RmDir(PathBuf),
    /// Unmount a file system the tool mounted.
    Umount(PathBuf),
}

/// Which cgroup hierarchy isolates the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// cgroup v2 `isolated` partition.
    V2Partition,
    /// cgroup v1 exclusive cpuset.
    V1Exclusive,
}

/// Options for [`isolate`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Root of the file system (`/`, or a fake tree in tests).
    pub root: PathBuf,
    /// CPU to isolate.
    pub cpu: u32,
    /// Whether the tool may mount cgroup file systems (off in tests).
    pub allow_mount: bool,
    /// Also suppress RCU stall warnings (for the upstream C driver, whose IRQs-off time is unbounded).
    pub suppress_rcu_stalls: bool,
}

/// An isolated CPU; dropping it undoes every change.
#[derive(Debug)]
pub struct Isolation {
    undo: Vec<Undo>,
    /// Directory whose `cgroup.procs` takes the capture worker.
    pub cgroup: PathBuf,
    /// How the CPU was isolated.
    pub mode: Mode,
    /// Steps that could not be done (e.g. an IRQ whose affinity cannot change); the capture goes on without them.
    pub notes: Vec<String>,
}

fn read(p: &Path) -> Result<String> {
    fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
}

impl Isolation {
    fn write_saving(&mut self, path: PathBuf, value: &str) -> Result<()> {
        let old = read(&path)?;
        let old = old.trim_end().to_string();
        fs::write(&path, value)
            .with_context(|| format!("writing '{value}' to {}", path.display()))?;
        self.undo.push(Undo::Restore { path, old });
        Ok(())
    }

    /// Moves process `pid` into the isolated cgroup.
    pub fn adopt(&self, pid: u32) -> Result<()> {
        let procs = self.cgroup.join(if self.mode == Mode::V2Partition {
            "cgroup.procs"
        } else {
            "tasks"
        });
        fs::write(&procs, pid.to_string())
            .with_context(|| format!("moving process {pid} into {}", procs.display()))
    }

    /// Undoes everything now; errors are collected rather than stopping the rest of the undo.
    pub fn restore(&mut self) -> Vec<String> {
        let mut errors = Vec::new();
        while let Some(u) = self.undo.pop() {
            let r = match &u {
                Undo::Restore { path, old } => {
                    fs::write(path, old).with_context(|| format!("restoring {}", path.display()))
                }
                Undo::RmDir(p) => remove_cgroup(p),
                Undo::Umount(p) => umount(p),
            };
            if let Err(e) = r {
                errors.push(format!("{e:#}"));
            }
        }
        errors
    }
}

impl Drop for Isolation {
    fn drop(&mut self) {
        for e in self.restore() {
            eprintln!("gpio-la: warning: {e}");
        }
    }
}

/// A cgroup directory can only be removed once empty; the worker has exited by then, but give the kernel a
/// moment to notice.
fn remove_cgroup(p: &Path) -> Result<()> {
    for _ in 0..50 {
        match fs::remove_dir(p) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(e) => return Err(e).with_context(|| format!("removing {}", p.display())),
        }
    }
    bail!("removing {}: still busy", p.display())
}

fn mount(fstype: &str, opts: Option<&str>, target: &Path) -> Result<()> {
    use std::ffi::CString;
    let src = CString::new(fstype)?;
    let fs = CString::new(fstype)?;
    let tgt = CString::new(target.as_os_str().as_encoded_bytes())?;
    let data = opts.map(CString::new).transpose()?;
    // SAFETY: All pointers are valid NUL-terminated strings (or NULL data) for the duration of the call.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            tgt.as_ptr(),
            fs.as_ptr(),
            0,
            data.as_ref()
                .map_or(std::ptr::null(), |d| d.as_ptr().cast()),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("mounting {fstype} on {}", target.display()));
    }
    Ok(())
}

fn umount(target: &Path) -> Result<()> {
    let tgt = std::ffi::CString::new(target.as_os_str().as_encoded_bytes())?;
    // SAFETY: `tgt` is a valid NUL-terminated string.
    if unsafe { libc::umount(tgt.as_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("unmounting {}", target.display()));
    }
    Ok(())
}

/// Where a cgroup v1 hierarchy with the cpuset controller is mounted, from a mounts table; also whether its
/// files lack the `cpuset.` prefix (`noprefix`, as systemd-era Debian mounted it).
fn find_v1_cpuset(mounts: &str) -> Option<(PathBuf, bool)> {
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (dir, fstype, opts) = (f.get(1)?, f.get(2)?, f.get(3)?);
        let opts: Vec<&str> = opts.split(',').collect();
        (*fstype == "cgroup" && opts.contains(&"cpuset"))
            .then(|| (PathBuf::from(dir), opts.contains(&"noprefix")))
    })
}

fn cpu_online(root: &Path, cpu: u32) -> Result<()> {
    let dir = root.join(format!("sys/devices/system/cpu/cpu{cpu}"));
    if !dir.exists() {
        bail!("CPU{cpu} does not exist");
    }
    match fs::read_to_string(dir.join("online")) {
        Ok(s) if s.trim() == "0" => bail!("CPU{cpu} is offline"),
        // CPU0 often has no `online` file: it cannot go offline.
        _ => Ok(()),
    }
}

/// Isolates `opts.cpu`. On error, whatever was already changed is undone before returning.
pub fn isolate(opts: &Options) -> Result<Isolation> {
    let root = &opts.root;
    cpu_online(root, opts.cpu)?;
    let cg = root.join("sys/fs/cgroup");
    let mut iso = Isolation {
        undo: Vec::new(),
        cgroup: PathBuf::new(),
        mode: Mode::V2Partition,
        notes: Vec::new(),
    };

    // cgroup v2: mount it if nothing is mounted there yet (a bare initramfs), and use it if it has cpuset.
    if !cg.join("cgroup.controllers").exists()
        && opts.allow_mount
        && cg.is_dir()
        && fs::read_dir(&cg)?.next().is_none()
        && mount("cgroup2", None, &cg).is_ok()
    {
        iso.undo.push(Undo::Umount(cg.clone()));
    }
    let v2 = fs::read_to_string(cg.join("cgroup.controllers"))
        .is_ok_and(|c| c.split_whitespace().any(|x| x == "cpuset"));
    if v2 {
        let dir = cg.join(CGROUP_NAME);
        if dir.exists() {
            bail!(
                "{} exists: another capture running? if not, remove the directory",
                dir.display()
            );
        }
        let sub = cg.join("cgroup.subtree_control");
        if !read(&sub)?.split_whitespace().any(|x| x == "cpuset") {
            fs::write(&sub, "+cpuset")
                .with_context(|| format!("enabling the cpuset controller in {}", sub.display()))?;
            iso.undo.push(Undo::Restore {
                path: sub,
                old: "-cpuset".into(),
            });
        }
        fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        iso.undo.push(Undo::RmDir(dir.clone()));
        fs::write(dir.join("cpuset.cpus"), opts.cpu.to_string()).context("setting cpuset.cpus")?;
        fs::write(dir.join("cpuset.cpus.partition"), "isolated")
            .context("making the cpuset an isolated partition")?;
        let state = read(&dir.join("cpuset.cpus.partition"))?;
        if state.trim() != "isolated" {
            bail!(
                "CPU{} could not be isolated: the partition is '{}'",
                opts.cpu,
                state.trim()
            );
        }
        iso.cgroup = dir;
    } else {
        iso.mode = Mode::V1Exclusive;
        let mounts = read(&root.join("proc/self/mounts"))?;
        let (base, noprefix) = match find_v1_cpuset(&mounts) {
            Some((dir, noprefix)) => (root.join(dir.strip_prefix("/").unwrap_or(&dir)), noprefix),
            None if opts.allow_mount => {
                mount("cgroup", Some("cpuset"), &cg)
                    .context("no cgroup v2 cpuset controller, and cgroup v1 cpusets could not be mounted (CONFIG_CPUSETS_V1?)")?;
                iso.undo.push(Undo::Umount(cg.clone()));
                (cg.clone(), false)
            }
            None => bail!("neither a cgroup v2 cpuset controller nor a cgroup v1 cpuset hierarchy is available"),
        };
        let p = if noprefix { "" } else { "cpuset." };
        let dir = base.join(CGROUP_NAME);
        fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        iso.undo.push(Undo::RmDir(dir.clone()));
        fs::write(dir.join(format!("{p}cpus")), opts.cpu.to_string())
            .context("setting cpuset cpus")?;
        fs::write(dir.join(format!("{p}mems")), "0").context("setting cpuset mems")?;
        fs::write(dir.join(format!("{p}cpu_exclusive")), "1").with_context(|| {
            format!(
                "making CPU{} exclusive (is another CPU already isolated?)",
                opts.cpu
            )
        })?;
        iso.cgroup = dir;
    }

    // Interrupts: move every IRQ that can move, and the default for new ones.
    let irq_dir = root.join("proc/irq");
    let mut files = vec![irq_dir.join("default_smp_affinity")];
    if let Ok(rd) = fs::read_dir(&irq_dir) {
        let mut dirs: Vec<_> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        files.extend(dirs.into_iter().map(|d| d.join("smp_affinity")));
    }
    files.push(root.join("sys/devices/virtual/workqueue/cpumask"));
    let mut pinned_irqs: Vec<String> = Vec::new();
    for f in files {
        let Ok(text) = fs::read_to_string(&f) else {
            continue;
        };
        let Ok(mask) = CpuMask::parse(&text) else {
            continue;
        };
        if !mask.contains(opts.cpu) {
            continue;
        }
        let new = mask.without(opts.cpu);
        if new.is_empty() {
            iso.notes.push(format!(
                "{}: only CPU{} is allowed, left as is",
                f.display(),
                opts.cpu
            ));
            continue;
        }
        if let Err(e) = iso.write_saving(f.clone(), &new.format()) {
            // The kernel refuses to move some IRQs (the timer, per-CPU and managed ones): list them once.
            let irq = f
                .parent()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned());
            match irq {
                Some(n) if f.starts_with(&irq_dir) && n.bytes().all(|b| b.is_ascii_digit()) => {
                    pinned_irqs.push(n)
                }
                _ => iso.notes.push(format!("{e:#}")),
            }
        }
    }
    if !pinned_irqs.is_empty() {
        iso.notes.push(format!(
            "IRQ {} cannot leave CPU{} (the kernel keeps them there)",
            pinned_irqs.join(", "),
            opts.cpu
        ));
    }

    let gov = root.join(format!(
        "sys/devices/system/cpu/cpu{}/cpufreq/scaling_governor",
        opts.cpu
    ));
    if gov.exists() {
        let avail = root.join(format!(
            "sys/devices/system/cpu/cpu{}/cpufreq/scaling_available_governors",
            opts.cpu
        ));
        if fs::read_to_string(avail).is_ok_and(|a| a.split_whitespace().any(|g| g == "performance"))
        {
            if let Err(e) = iso.write_saving(gov, "performance") {
                iso.notes.push(format!("{e:#}"));
            }
        }
    }
    if opts.suppress_rcu_stalls {
        let p = root.join("sys/module/rcupdate/parameters/rcu_cpu_stall_suppress");
        if p.exists() {
            iso.write_saving(p, "1")?;
        }
    }
    Ok(iso)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake tree: 4 CPUs, 3 IRQs (one pinned to CPU1 only), cgroup v2 with cpuset, a workqueue mask.
    fn fake_v2() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        for c in 0..4 {
            fs::create_dir_all(r.join(format!("sys/devices/system/cpu/cpu{c}"))).unwrap();
        }
        fs::write(r.join("sys/devices/system/cpu/cpu1/online"), "1\n").unwrap();
        fs::create_dir_all(r.join("sys/devices/system/cpu/cpu1/cpufreq")).unwrap();
        fs::write(
            r.join("sys/devices/system/cpu/cpu1/cpufreq/scaling_governor"),
            "schedutil\n",
        )
        .unwrap();
        fs::write(
            r.join("sys/devices/system/cpu/cpu1/cpufreq/scaling_available_governors"),
            "performance schedutil\n",
        )
        .unwrap();
        for (irq, mask) in [(1, "f"), (9, "3"), (12, "2")] {
            fs::create_dir_all(r.join(format!("proc/irq/{irq}"))).unwrap();
            fs::write(
                r.join(format!("proc/irq/{irq}/smp_affinity")),
                format!("{mask}\n"),
            )
            .unwrap();
        }
        fs::write(r.join("proc/irq/default_smp_affinity"), "f\n").unwrap();
        fs::create_dir_all(r.join("sys/devices/virtual/workqueue")).unwrap();
        fs::write(r.join("sys/devices/virtual/workqueue/cpumask"), "f\n").unwrap();
        fs::create_dir_all(r.join("sys/fs/cgroup")).unwrap();
        fs::write(
            r.join("sys/fs/cgroup/cgroup.controllers"),
            "cpuset cpu io memory\n",
        )
        .unwrap();
        fs::write(r.join("sys/fs/cgroup/cgroup.subtree_control"), "memory\n").unwrap();
        t
    }

    fn opts(root: &Path, cpu: u32) -> Options {
        Options {
            root: root.to_path_buf(),
            cpu,
            allow_mount: false,
            suppress_rcu_stalls: false,
        }
    }

    #[test]
    fn v2_isolates_and_restores_everything() {
        let t = fake_v2();
        let r = t.path();
        // Plain files stand in for cgroupfs control files: what the tool writes reads back the same.
        let iso = isolate(&opts(r, 1)).unwrap();
        assert_eq!(iso.mode, Mode::V2Partition);
        let cg = r.join("sys/fs/cgroup/gpio-la");
        assert_eq!(fs::read_to_string(cg.join("cpuset.cpus")).unwrap(), "1");
        assert_eq!(
            fs::read_to_string(cg.join("cpuset.cpus.partition")).unwrap(),
            "isolated"
        );
        assert_eq!(
            fs::read_to_string(r.join("sys/fs/cgroup/cgroup.subtree_control")).unwrap(),
            "+cpuset"
        );
        assert_eq!(
            fs::read_to_string(r.join("proc/irq/1/smp_affinity")).unwrap(),
            "d"
        );
        assert_eq!(
            fs::read_to_string(r.join("proc/irq/9/smp_affinity")).unwrap(),
            "1"
        );
        // IRQ 12 may only run on CPU1: left alone, and said so.
        assert_eq!(
            fs::read_to_string(r.join("proc/irq/12/smp_affinity")).unwrap(),
            "2\n"
        );
        assert!(
            iso.notes.iter().any(|n| n.contains("irq/12")),
            "{:?}",
            iso.notes
        );
        assert_eq!(
            fs::read_to_string(r.join("proc/irq/default_smp_affinity")).unwrap(),
            "d"
        );
        assert_eq!(
            fs::read_to_string(r.join("sys/devices/virtual/workqueue/cpumask")).unwrap(),
            "d"
        );
        assert_eq!(
            fs::read_to_string(r.join("sys/devices/system/cpu/cpu1/cpufreq/scaling_governor"))
                .unwrap(),
            "performance"
        );
        iso.adopt(4242).unwrap();
        assert_eq!(fs::read_to_string(cg.join("cgroup.procs")).unwrap(), "4242");
        // The fake cgroup directory has files in it, which a real cgroupfs would not; empty it so rmdir works.
        for f in ["cpuset.cpus", "cpuset.cpus.partition", "cgroup.procs"] {
            fs::remove_file(cg.join(f)).unwrap();
        }
        drop(iso);
        assert!(!cg.exists());
        assert_eq!(
            fs::read_to_string(r.join("proc/irq/1/smp_affinity")).unwrap(),
            "f"
        );
        assert_eq!(
            fs::read_to_string(r.join("proc/irq/9/smp_affinity")).unwrap(),
            "3"
        );
        assert_eq!(
            fs::read_to_string(r.join("sys/devices/virtual/workqueue/cpumask")).unwrap(),
            "f"
        );
        assert_eq!(
            fs::read_to_string(r.join("sys/devices/system/cpu/cpu1/cpufreq/scaling_governor"))
                .unwrap(),
            "schedutil"
        );
        assert_eq!(
            fs::read_to_string(r.join("sys/fs/cgroup/cgroup.subtree_control")).unwrap(),
            "-cpuset"
        );
    }

    #[test]
    fn v2_refuses_a_second_isolation() {
        let t = fake_v2();
        let r = t.path();
        fs::create_dir(r.join("sys/fs/cgroup/gpio-la")).unwrap();
        let e = isolate(&opts(r, 1)).unwrap_err();
        assert!(
            format!("{e:#}").contains("another capture running"),
            "{e:#}"
        );
        // Nothing else was changed.
        assert_eq!(
            fs::read_to_string(r.join("proc/irq/1/smp_affinity")).unwrap(),
            "f\n"
        );
        assert_eq!(
            fs::read_to_string(r.join("sys/fs/cgroup/cgroup.subtree_control")).unwrap(),
            "memory\n"
        );
    }

    #[test]
    fn bad_cpu() {
        let t = fake_v2();
        assert!(
            format!("{:#}", isolate(&opts(t.path(), 7)).unwrap_err()).contains("does not exist")
        );
        fs::write(t.path().join("sys/devices/system/cpu/cpu1/online"), "0\n").unwrap();
        assert!(format!("{:#}", isolate(&opts(t.path(), 1)).unwrap_err()).contains("offline"));
    }

    #[test]
    fn v1_fallback_with_noprefix() {
        let t = fake_v2();
        let r = t.path();
        fs::remove_file(r.join("sys/fs/cgroup/cgroup.controllers")).unwrap();
        fs::create_dir_all(r.join("proc/self")).unwrap();
        fs::create_dir_all(r.join("dev/cpuset")).unwrap();
        fs::write(
            r.join("proc/self/mounts"),
            "proc /proc proc rw 0 0\nnone /dev/cpuset cgroup rw,cpuset,noprefix 0 0\n",
        )
        .unwrap();
        let iso = isolate(&opts(r, 1)).unwrap();
        assert_eq!(iso.mode, Mode::V1Exclusive);
        let cg = r.join("dev/cpuset/gpio-la");
        assert_eq!(fs::read_to_string(cg.join("cpus")).unwrap(), "1");
        assert_eq!(fs::read_to_string(cg.join("cpu_exclusive")).unwrap(), "1");
        iso.adopt(7).unwrap();
        assert_eq!(fs::read_to_string(cg.join("tasks")).unwrap(), "7");
        for f in ["cpus", "mems", "cpu_exclusive", "tasks"] {
            fs::remove_file(cg.join(f)).unwrap();
        }
        drop(iso);
        assert!(!cg.exists());
    }

    #[test]
    fn no_cpuset_at_all() {
        let t = fake_v2();
        let r = t.path();
        fs::remove_file(r.join("sys/fs/cgroup/cgroup.controllers")).unwrap();
        fs::create_dir_all(r.join("proc/self")).unwrap();
        fs::write(r.join("proc/self/mounts"), "proc /proc proc rw 0 0\n").unwrap();
        let e = isolate(&opts(r, 1)).unwrap_err();
        assert!(format!("{e:#}").contains("neither"), "{e:#}");
    }

    #[test]
    fn mounts_parsing() {
        assert_eq!(
            find_v1_cpuset("cgroup /sys/fs/cgroup/cpuset cgroup rw,nosuid,cpuset 0 0\n"),
            Some(("/sys/fs/cgroup/cpuset".into(), false))
        );
        assert_eq!(
            find_v1_cpuset("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"),
            None
        );
    }
}
