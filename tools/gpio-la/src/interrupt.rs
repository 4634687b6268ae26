// SPDX-License-Identifier: GPL-2.0
//! SIGINT, SIGTERM and SIGHUP stop every subcommand: the work loops poll [`check`] and unwind (temporary files
//! go, CPU isolation is restored) and `main` exits 130. A watchdog thread covers a main thread blocked in a
//! system call (a pipe that stays quiet, a stalled disk): a second after the signal it removes the pending
//! output files itself and exits 130, unless something only the main thread can undo is held ([`hold`]).

use std::{
    io::Read,
    os::fd::{FromRawFd, OwnedFd},
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::Duration,
};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static HELD: AtomicUsize = AtomicUsize::new(0);

/// How long the main thread has to unwind by itself before the watchdog ends the process.
const GRACE: Duration = Duration::from_secs(1);

/// The signals that stop the tool.
pub const SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// The error a work loop returns when a signal asked it to stop; `main` turns it into exit status 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Starts watching for the signals (once, from `main`).
///
/// The handlers wake the watchdog through a pipe, not `signal_hook`'s `iterator` (a Unix socket pair): board
/// kernels are often built without `CONFIG_UNIX`.
pub fn install() -> std::io::Result<()> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nothing else.
    let (mut wake_rx, wake_tx) = unsafe {
        (
            std::fs::File::from(OwnedFd::from_raw_fd(fds[0])),
            OwnedFd::from_raw_fd(fds[1]),
        )
    };
    // A handler must never block; a full pipe already holds the wake-up it would write.
    // SAFETY: `fds[1]` is the open write end owned by `wake_tx`; F_SETFL only changes its flags.
    if unsafe { libc::fcntl(fds[1], libc::F_SETFL, libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    for sig in SIGNALS {
        signal_hook::low_level::pipe::register(sig, wake_tx.try_clone()?)?;
    }
    drop(wake_tx);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            if !matches!(wake_rx.read(&mut byte), Ok(1)) {
                return;
            }
            INTERRUPTED.store(true, Ordering::SeqCst);
            std::thread::sleep(GRACE);
            while HELD.load(Ordering::SeqCst) != 0 {
                std::thread::sleep(Duration::from_millis(50));
            }
            if !crate::output::discard_pending() {
                // The outputs are in place; the main thread is finishing the run.
                return;
            }
            eprintln!("gpio-la: interrupted; no file written");
            // SAFETY: `_exit` ends the process without running destructors or atexit handlers, which the
            // main thread may be in the middle of; the pending files were removed above.
            unsafe { libc::_exit(130) };
        })?;
    Ok(())
}

/// For the capture worker process: the parent handles these signals (and kills the worker), so a Ctrl-C sent
/// to the whole process group must not end the worker first.
pub fn ignore() {
    for sig in SIGNALS {
        // SAFETY: SIG_IGN is a valid disposition for these signals; no handler code is involved.
        unsafe { libc::signal(sig, libc::SIG_IGN) };
    }
}

/// Whether a signal asked the tool to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// `Err(Interrupted)` once a signal asked the tool to stop.
pub fn check() -> Result<(), Interrupted> {
    if interrupted() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

/// While the returned guard lives, the watchdog leaves the process to the main thread, which has something to
/// undo on a signal (CPU isolation) and polls [`interrupted`] to do it.
pub fn hold() -> Hold {
    HELD.fetch_add(1, Ordering::SeqCst);
    Hold(())
}

/// See [`hold`].
pub struct Hold(());

impl Drop for Hold {
    fn drop(&mut self) {
        HELD.fetch_sub(1, Ordering::SeqCst);
    }
}
