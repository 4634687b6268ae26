// SPDX-License-Identifier: GPL-2.0
//! The files a run writes, all or nothing: each is written under a hidden temporary name in its destination
//! directory and renamed only when every one of them is complete ([`Outputs::commit`]). A failure or a signal
//! before that leaves nothing behind, and replaced files keep their old contents.
//!
//! New files get mode 0666 less the umask, as any tool's; when run through `sudo` as root, they are handed to
//! the invoking user (`SUDO_UID`/`SUDO_GID`), who opens them in PulseView afterwards.
//!
//! Errors name the destination (never the temporary file) and the reason, on one line:
//! `cannot write out.sr: No space left on device`.

use std::{
    fs::{File, Permissions},
    io::{self, Read, Write},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    sync::Mutex,
};

use anyhow::{bail, Result};

/// Temporary files of every live [`Outputs`], for the signal watchdog, and whether a run's outputs were
/// committed (then a late signal no longer undoes the run).
static PENDING: Mutex<Pending> = Mutex::new(Pending {
    temps: Vec::new(),
    committed: false,
});

struct Pending {
    temps: Vec<PathBuf>,
    committed: bool,
}

/// An I/O error's reason without std's `(os error N)` suffix.
pub fn reason(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// An error about `path`: "cannot VERB PATH: REASON".
fn path_error(verb: &str, path: &Path, e: &io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("cannot {verb} {}: {}", path.display(), reason(e)),
    )
}

/// The directory a file `dest` goes into.
fn parent_dir(dest: &Path) -> &Path {
    dest.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Refuses an output path that cannot be a file: a directory, or a missing or non-directory parent.
pub fn check_dest(dest: &Path) -> Result<()> {
    if dest.is_dir() {
        bail!("cannot write {}: it is a directory", dest.display());
    }
    let dir = parent_dir(dest);
    match dir.metadata() {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => bail!(
            "cannot write {}: {} is not a directory",
            dest.display(),
            dir.display()
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => bail!(
            "cannot write {}: directory {} does not exist",
            dest.display(),
            dir.display()
        ),
        Err(e) => bail!("cannot write {}: {}", dest.display(), reason(&e)),
    }
}

/// Like [`check_dest`], and also makes sure a file can be created there (a capture checks this before it takes
/// the samples, which a read-only or full file system would otherwise lose).
pub fn check_writable(dest: &Path) -> Result<()> {
    check_dest(dest)?;
    tempfile::Builder::new()
        .prefix(".gpio-la-")
        .suffix(".tmp")
        .tempfile_in(parent_dir(dest))
        .map_err(|e| path_error("write", dest, &e))?;
    Ok(())
}

/// Opens an input file, refusing a directory, with errors naming the path.
pub fn open_input(path: &Path) -> Result<Input> {
    let f = File::open(path).map_err(|e| path_error("read", path, &e))?;
    match f.metadata() {
        Ok(m) if m.is_dir() => bail!("cannot read {}: it is a directory", path.display()),
        Ok(_) => {}
        Err(e) => return Err(path_error("read", path, &e).into()),
    }
    Ok(Input {
        file: f,
        path: path.to_path_buf(),
    })
}

/// An input file whose read errors name it.
pub struct Input {
    file: File,
    path: PathBuf,
}

impl Input {
    /// Its size, if it is a regular file (for progress).
    pub fn size(&self) -> Option<u64> {
        self.file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file
            .read(buf)
            .map_err(|e| path_error("read", &self.path, &e))
    }
}

/// One output being written: a temporary file whose write errors name the destination.
pub struct OutFile {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp
            .as_file_mut()
            .write(buf)
            .map_err(|e| path_error("write", &self.dest, &e))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The outputs of one run.
#[derive(Default)]
pub struct Outputs {
    files: Vec<OutFile>,
}

impl Outputs {
    /// No outputs yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts writing `dest`; returns its index for [`Outputs::file`].
    pub fn create(&mut self, dest: &Path) -> Result<usize> {
        check_dest(dest)?;
        let tmp = tempfile::Builder::new()
            .prefix(".gpio-la-")
            .suffix(".tmp")
            .permissions(Permissions::from_mode(0o666))
            .tempfile_in(parent_dir(dest))
            .map_err(|e| path_error("write", dest, &e))?;
        lock_pending().temps.push(tmp.path().to_path_buf());
        self.files.push(OutFile {
            tmp,
            dest: dest.to_path_buf(),
        });
        Ok(self.files.len() - 1)
    }

    /// The output with index `i`.
    pub fn file(&mut self, i: usize) -> &mut OutFile {
        &mut self.files[i]
    }

    /// Makes every output appear under its name: flushed to disk, handed to the sudo user, renamed. Refused
    /// (nothing appears) once a signal asked the tool to stop.
    pub fn commit(mut self) -> Result<()> {
        for f in &self.files {
            f.tmp
                .as_file()
                .sync_all()
                .map_err(|e| path_error("write", &f.dest, &e))?;
            give_to_sudo_user(f)?;
        }
        let mut pending = lock_pending();
        crate::interrupt::check()?;
        for f in std::mem::take(&mut self.files) {
            let tmp_path = f.tmp.path().to_path_buf();
            let dest = f.dest;
            pending.temps.retain(|p| *p != tmp_path);
            f.tmp.persist(&dest).map_err(|e| {
                let _ = std::fs::remove_file(&tmp_path);
                path_error("write", &dest, &e.error)
            })?;
        }
        pending.committed = true;
        Ok(())
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        let mut pending = lock_pending();
        for f in &self.files {
            pending.temps.retain(|p| p != f.tmp.path());
        }
        // The NamedTempFiles remove themselves.
    }
}

fn lock_pending() -> std::sync::MutexGuard<'static, Pending> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// For the signal watchdog, before it ends the process: removes every pending temporary file and returns true,
/// or returns false when the outputs were already committed (the run is done; let it finish). Later commits
/// are refused because the interrupted flag is already set.
pub fn discard_pending() -> bool {
    let mut p = lock_pending();
    if p.committed {
        return false;
    }
    for t in p.temps.drain(..) {
        let _ = std::fs::remove_file(t);
    }
    true
}

/// The invoking user of `sudo`, when running as root through it.
fn sudo_owner() -> Option<(libc::uid_t, libc::gid_t)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let uid = std::env::var("SUDO_UID").ok()?.parse().ok()?;
    let gid = std::env::var("SUDO_GID").ok()?.parse().ok()?;
    Some((uid, gid))
}

fn give_to_sudo_user(f: &OutFile) -> Result<()> {
    let Some((uid, gid)) = sudo_owner() else {
        return Ok(());
    };
    std::os::unix::fs::fchown(f.tmp.as_file(), Some(uid), Some(gid))
        .map_err(|e| path_error("hand over", &f.dest, &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn all_or_nothing() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.sr");
        let b = d.path().join("b.json");
        {
            let mut o = Outputs::new();
            let i = o.create(&a).unwrap();
            o.file(i).write_all(b"x").unwrap();
            let _ = o.create(&b).unwrap();
            // Dropped without commit.
        }
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
        let mut o = Outputs::new();
        let i = o.create(&a).unwrap();
        o.file(i).write_all(b"x").unwrap();
        o.commit().unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"x");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        assert!(!lock_pending().temps.iter().any(|p| p.starts_with(d.path())));
    }

    #[test]
    fn mode_follows_the_umask() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.vcd");
        // SAFETY: umask only changes the process's file creation mask; read back and restored at once.
        let old = unsafe { libc::umask(0o022) };
        unsafe { libc::umask(old) };
        let mut o = Outputs::new();
        let i = o.create(&a).unwrap();
        o.file(i).write_all(b"x").unwrap();
        o.commit().unwrap();
        assert_eq!(std::fs::metadata(&a).unwrap().mode() & 0o777, 0o666 & !old);
    }

    #[test]
    fn errors_name_the_destination() {
        let d = tempfile::tempdir().unwrap();
        let e = check_dest(d.path()).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("cannot write {}: it is a directory", d.path().display())
        );
        let ro = d.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, Permissions::from_mode(0o500)).unwrap();
        // Root writes anyway; the message is only checked where the directory is really read-only.
        if let Err(e) = check_writable(&ro.join("x.sr")) {
            assert!(e.to_string().ends_with("x.sr: Permission denied"), "{e}");
        }
        assert_eq!(std::fs::read_dir(&ro).unwrap().count(), 0);
        let e = check_dest(&d.path().join("nope/x.sr"))
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("nope does not exist"), "{e}");
        let e = open_input(d.path()).err().unwrap().to_string();
        assert_eq!(
            e,
            format!("cannot read {}: it is a directory", d.path().display())
        );
        let e = open_input(&d.path().join("nope"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.ends_with("nope: No such file or directory"), "{e}");
    }
}
