// SPDX-License-Identifier: GPL-2.0
//! SIGINT, SIGTERM and SIGHUP stop every subcommand: the work loops poll [`check`] and unwind (temporary files
//! go, CPU isolation is restored) and `main` exits 130. A watchdog thread covers a main thread blocked in a
//! system call (a pipe that stays quiet, a stalled disk): a second after the signal it removes the pending
//! output files itself and exits 130, unless something only the main thread can undo is held ([`hold`]).

use std::{
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
pub fn install() -> std::io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new(SIGNALS)?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if signals.forever().next().is_none() {
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
