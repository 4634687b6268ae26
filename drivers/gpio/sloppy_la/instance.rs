// SPDX-License-Identifier: GPL-2.0

//! One analyzer instance: its probes, settings, last capture and debugfs directory.
//!
//! Files of `/sys/kernel/debug/gpio-sloppy-logic-analyzer/<instance>/` (upstream's first, then ours):
//!
//! | file | mode | meaning |
//! |---|---|---|
//! | `meta_data` | 0400 | `probeNN=name` per probe, as upstream |
//! | `delay_ns` | 0600 | sampling period in ns (0 until set; 0 is refused) |
//! | `delay_ns_acquisition` | 0400 | mean cost of one read of all probes, measured at each capture |
//! | `buf_size` | 0600 | samples per capture (default 262144); bytes = samples * `unitsize` |
//! | `capture` | 0200 | write non-zero: capture now, blocking (`EBUSY` while another runs); the errno says why it failed |
//! | `trigger` | 0200 | upstream's `(mask, value)` byte pairs, one-shot |
//! | `sample_data` | 0400 | the last good capture; appears after the first one, replaced only by a good one |
//! | `trigger_expr` | 0600 | trigger as text, e.g. `1H+2F,3R` (true edges), one-shot |
//! | `trigger_timeout_ms` | 0600 | give up waiting for the trigger after this long (0 = never) |
//! | `pretrigger_percent` | 0600 | share of the buffer kept from before the trigger (0..=100) |
//! | `unitsize` | 0400 | bytes per sample: 1 (<= 8 probes), 2 (<= 16) or 4 (<= 32) |
//! | `stats` | 0400 | timing of the last good capture: achieved rate, intervals, lateness, trigger index |

use crate::owned_debugfs::{read_bytes, read_write, Dir, File, Ops};
use crate::{
    capture::{self, Request},
    gpio::Probes,
    number, samples,
    timing::TimingStats,
    trigger,
};
use core::fmt::{self, Write as _};
use kernel::{
    device::Device,
    fs::file::Offset,
    prelude::*,
    str::CString,
    sync::{
        atomic::{Atomic, Relaxed},
        new_mutex, Arc, Mutex,
    },
    uaccess::{UserSliceReader, UserSliceWriter},
};

/// Upstream's default buffer: 256 Ki samples.
pub(crate) const DEFAULT_BUF_SAMPLES: usize = 256 * 1024;
/// Most probes an instance takes (upstream: 8).
pub(crate) const MAX_PROBES: u32 = 32;

/// Limits set by module parameters when the instance is made.
#[derive(Clone, Copy)]
pub(crate) struct Limits {
    /// Largest capture buffer, in bytes.
    pub(crate) max_buf_bytes: usize,
    /// Longest IRQs-off window.
    pub(crate) max_irqoff_ns: u64,
}

/// Settings written through debugfs, used by the next capture.
struct Settings {
    delay_ns: u64,
    buf_samples: usize,
    /// The buffer the next capture fills, allocated when `buf_size` is written so that a size that cannot be
    /// allocated is refused at once; taken by a capture and given back if it fails.
    work: Option<VVec<u8>>,
    /// Armed trigger; consumed by the next capture, as upstream.
    trigger: KVec<trigger::Step>,
    trigger_timeout_ms: u64,
    pretrigger_percent: u64,
}

/// The last good capture's timing, for the `stats` file.
struct Report {
    period_ns: u64,
    samples: usize,
    outcome_stats: TimingStats,
    trigger_sample: usize,
    windows: u64,
    duration_ns: u64,
    acq_ns: u64,
}

/// The last good capture's samples, the data of `sample_data`. A reader takes a reference to the buffer and copies
/// from it without the lock, so a slow reader (a user buffer backed by userfaultfd or FUSE) never holds up a
/// capture, and a capture replaces the buffer without waiting for readers (the old one goes with its last reader).
#[pin_data]
struct LastCapture {
    #[pin]
    samples: Mutex<Option<Arc<VVec<u8>>>>,
}

/// State only a capture changes. Its lock is held for the whole capture: a second capture is refused (`EBUSY`)
/// instead of waiting, unkillable, for the first.
struct Published {
    /// Created by the first good capture, then kept: replacing a capture cannot fail (the README's promise that
    /// a failed capture keeps the last good one).
    sample_data: Option<Pin<KBox<File<Arc<LastCapture>>>>>,
}

/// The instance's shared state (the data of its debugfs files).
#[pin_data]
pub(crate) struct Analyzer {
    name: CString,
    probes: Probes,
    unit: usize,
    limits: Limits,
    #[pin]
    published: Mutex<Published>,
    last: Arc<LastCapture>,
    #[pin]
    settings: Mutex<Settings>,
    #[pin]
    report: Mutex<Option<Report>>,
    acq_ns: Atomic<u64>,
    /// Set when the instance goes away: a running capture stops with `ENODEV`.
    abort: Atomic<bool>,
    /// Declared last, so dropped after `published` (which holds `sample_data`, a file in it).
    dir: Dir,
}

/// An instance with its files; dropping it removes the files, stopping any capture first.
pub(crate) struct Instance {
    // Fields are dropped in declaration order, after `drop()` has set `abort` (so a running capture ends before
    // its file goes): the files first, then `core`, whose last reference removes the directory they were in.
    _meta: Pin<KBox<File<KVec<u8>>>>,
    _files: KVec<Pin<KBox<File<Arc<Analyzer>>>>>,
    core: Arc<Analyzer>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.core.abort.store(true, Relaxed);
    }
}

type Reader<'a> = &'a mut UserSliceReader;

fn read_u64(r: Reader<'_>) -> Result<u64> {
    let buf = read_write(r, 32).map_err(|e| if e == E2BIG { EINVAL } else { e })?;
    let s = core::str::from_utf8(&buf).map_err(|_| EINVAL)?;
    number::parse_u64(s.trim_end()).ok_or(EINVAL)
}

fn trigger_errno(e: trigger::TriggerError) -> Error {
    match e {
        trigger::TriggerError::TooLong => E2BIG,
        trigger::TriggerError::BadChannel => ERANGE,
        _ => EINVAL,
    }
}

fn alloc_buffer(bytes: usize) -> Result<VVec<u8>> {
    Ok(VVec::from_elem(0u8, bytes, GFP_KERNEL)?)
}

impl Analyzer {
    /// The instance's name, for messages.
    fn name(&self) -> &str {
        self.name.to_str().unwrap_or("?")
    }

    fn buf_bytes(&self, samples: usize) -> Result<usize> {
        let bytes = samples.checked_mul(self.unit).ok_or(E2BIG)?;
        if samples == 0 {
            return Err(EINVAL);
        }
        if bytes > self.limits.max_buf_bytes {
            pr_info!(
                "{}: buf_size {} exceeds the cap of {} bytes (max_buf_bytes)\n",
                self.name(),
                samples,
                self.limits.max_buf_bytes
            );
            return Err(E2BIG);
        }
        Ok(bytes)
    }

    fn set_buf_size(&self, samples: usize) -> Result {
        let bytes = self.buf_bytes(samples)?;
        // Allocate before taking the lock; on failure nothing changes.
        let buf = alloc_buffer(bytes)?;
        let old = {
            let mut s = self.settings.lock();
            s.buf_samples = samples;
            s.work.replace(buf)
        };
        drop(old);
        Ok(())
    }

    fn set_trigger(&self, steps: KVec<trigger::Step>) {
        let old = core::mem::replace(&mut self.settings.lock().trigger, steps);
        drop(old);
    }

    fn collect_steps(
        parse: impl FnOnce(
            &mut dyn FnMut(trigger::Step) -> Result<(), trigger::TriggerError>,
        ) -> Result<(), trigger::TriggerError>,
    ) -> Result<KVec<trigger::Step>> {
        let mut steps = KVec::new();
        let mut oom = false;
        let res = parse(&mut |s| {
            steps.push(s, GFP_KERNEL).map_err(|_| {
                oom = true;
                trigger::TriggerError::TooLong
            })
        });
        if oom {
            return Err(ENOMEM);
        }
        res.map_err(trigger_errno)?;
        Ok(steps)
    }

    /// Runs a capture; on success replaces `sample_data` and the report, on failure leaves both as they were.
    fn capture(&self) -> Result {
        let Some(mut published) = self.published.try_lock() else {
            pr_info!("{}: a capture is already running\n", self.name());
            return Err(EBUSY);
        };
        let (period_ns, steps, timeout_ms, pre_pct, samples, work) = {
            let mut s = self.settings.lock();
            if s.delay_ns == 0 {
                pr_info!("{}: set delay_ns before capturing\n", self.name());
                return Err(EINVAL);
            }
            // One-shot: a capture consumes the trigger whatever its outcome, as upstream.
            (
                s.delay_ns,
                core::mem::take(&mut s.trigger),
                s.trigger_timeout_ms,
                s.pretrigger_percent,
                s.buf_samples,
                s.work.take(),
            )
        };
        let bytes = self.buf_bytes(samples)?;
        let mut buf = match work {
            Some(b) if b.len() == bytes => b,
            _ => alloc_buffer(bytes)?,
        };
        let result = self.capture_into(&mut buf, period_ns, &steps, timeout_ms, pre_pct, samples);
        let (outcome, acq_ns) = match result {
            Ok(r) => r,
            Err(e) => {
                // Keep the buffer for the next capture unless buf_size changed meanwhile.
                let mut s = self.settings.lock();
                if s.work.is_none() && s.buf_samples == samples {
                    s.work = Some(buf);
                }
                return Err(e);
            }
        };
        // Everything that can fail comes before the old capture is replaced.
        let buf = Arc::new(buf, GFP_KERNEL)?;
        let old = self.last.samples.lock().replace(buf);
        if published.sample_data.is_none() {
            // The first good capture (so `old` is `None`): the file appears now.
            match KBox::pin_init(
                File::new(
                    &self.dir,
                    c"sample_data",
                    self.last.clone(),
                    Ops::read(sample_read),
                ),
                GFP_KERNEL,
            ) {
                Ok(f) => published.sample_data = Some(f),
                Err(e) => {
                    *self.last.samples.lock() = old;
                    return Err(e);
                }
            }
        }
        // Freed here unless a reader still copies from it.
        drop(old);
        *self.report.lock() = Some(Report {
            period_ns,
            samples,
            outcome_stats: outcome.stats,
            trigger_sample: outcome.trigger_sample,
            windows: outcome.windows,
            duration_ns: outcome.duration_ns,
            acq_ns,
        });
        Ok(())
    }

    fn capture_into(
        &self,
        buf: &mut VVec<u8>,
        period_ns: u64,
        steps: &[trigger::Step],
        timeout_ms: u64,
        pre_pct: u64,
        samples: usize,
    ) -> Result<(capture::Outcome, u64)> {
        let acq_ns = capture::calibrate(&self.probes, &self.abort)?;
        self.acq_ns.store(acq_ns, Relaxed);
        if period_ns < acq_ns {
            pr_info!(
                "{}: delay_ns {} is below the read cost of {} ns: the highest rate is about {} Hz\n",
                self.name(),
                period_ns,
                acq_ns,
                1_000_000_000 / acq_ns.max(1)
            );
            return Err(ERANGE);
        }
        let req = Request {
            period_ns,
            steps,
            trigger_timeout_ns: (timeout_ms > 0).then(|| timeout_ms.saturating_mul(1_000_000)),
            // CAST: `pre_pct` <= 100, so the product fits whenever `samples` does.
            pre_samples: (samples as u64 * pre_pct / 100) as usize,
            max_irqoff_ns: self.limits.max_irqoff_ns,
        };
        let outcome =
            capture::run(&self.probes, &req, buf, self.unit, &self.abort).inspect_err(|e| {
                pr_info!("{}: capture failed: {:?}\n", self.name(), e);
            })?;
        Ok((outcome, acq_ns))
    }
}

/// `sample_data`: the last good capture's bytes.
fn sample_read(
    last: &Arc<LastCapture>,
    w: &mut UserSliceWriter,
    off: &mut Offset,
) -> Result<usize> {
    let samples = last.samples.lock().clone();
    match samples {
        Some(s) => w.write_slice_file(&s, off),
        None => Ok(0),
    }
}

fn show_u64(v: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{v}")
}

fn delay_ns_show(a: &Arc<Analyzer>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    show_u64(a.settings.lock().delay_ns, f)
}

fn delay_ns_store(a: &Arc<Analyzer>, r: Reader<'_>) -> Result {
    let v = read_u64(r)?;
    if v == 0 {
        return Err(EINVAL);
    }
    a.settings.lock().delay_ns = v;
    Ok(())
}

fn acq_show(a: &Arc<Analyzer>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    show_u64(a.acq_ns.load(Relaxed), f)
}

fn buf_size_show(a: &Arc<Analyzer>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    // CAST: usize to u64 never loses bits on the architectures the kernel supports.
    show_u64(a.settings.lock().buf_samples as u64, f)
}

fn buf_size_store(a: &Arc<Analyzer>, r: Reader<'_>) -> Result {
    let v = read_u64(r)?;
    a.set_buf_size(usize::try_from(v).map_err(|_| E2BIG)?)
}

fn capture_store(a: &Arc<Analyzer>, r: Reader<'_>) -> Result {
    if read_u64(r)? == 0 {
        return Ok(());
    }
    a.capture()
}

fn trigger_store(a: &Arc<Analyzer>, r: Reader<'_>) -> Result {
    // Upstream refuses more than 2048 bytes and odd lengths with EINVAL.
    let bytes =
        read_write(r, trigger::MAX_PAIR_BYTES).map_err(|e| if e == E2BIG { EINVAL } else { e })?;
    let steps = Analyzer::collect_steps(|sink| trigger::parse_pairs(&bytes, sink))?;
    a.set_trigger(steps);
    Ok(())
}

fn trigger_expr_store(a: &Arc<Analyzer>, r: Reader<'_>) -> Result {
    let text = read_write(r, 8 * trigger::MAX_STEPS)?;
    let text = core::str::from_utf8(&text).map_err(|_| EINVAL)?;
    let probes = a.probes.count();
    let steps = Analyzer::collect_steps(|sink| trigger::parse_expr(text, probes, sink))?;
    a.set_trigger(steps);
    Ok(())
}

/// Writes a step in the text form; a level test that can never match (value outside its mask) shows as `never`.
fn write_step(f: &mut fmt::Formatter<'_>, s: &trigger::Step) -> fmt::Result {
    if s.value & !s.mask != 0 {
        return f.write_str("never");
    }
    let mut first = true;
    for ch in 0..32u32 {
        let bit = 1u32 << ch;
        let kind = if s.mask & bit != 0 {
            if s.value & bit != 0 {
                'H'
            } else {
                'L'
            }
        } else if s.rise & bit != 0 {
            'R'
        } else if s.fall & bit != 0 {
            'F'
        } else if s.change & bit != 0 {
            'E'
        } else {
            continue;
        };
        if !first {
            f.write_char('+')?;
        }
        first = false;
        write!(f, "{}{}", ch + 1, kind)?;
    }
    if first {
        // A step with an empty mask matches any sample.
        f.write_str("*")?;
    }
    Ok(())
}

fn trigger_expr_show(a: &Arc<Analyzer>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let s = a.settings.lock();
    for (i, step) in s.trigger.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        write_step(f, step)?;
    }
    f.write_char('\n')
}

fn timeout_show(a: &Arc<Analyzer>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    show_u64(a.settings.lock().trigger_timeout_ms, f)
}

fn timeout_store(a: &Arc<Analyzer>, r: Reader<'_>) -> Result {
    let v = read_u64(r)?;
    // Keep the deadline arithmetic (ms * 1e6 ns) far from overflow: a day is plenty.
    if v > 24 * 3600 * 1000 {
        return Err(ERANGE);
    }
    a.settings.lock().trigger_timeout_ms = v;
    Ok(())
}

fn pretrigger_show(a: &Arc<Analyzer>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    show_u64(a.settings.lock().pretrigger_percent, f)
}

fn pretrigger_store(a: &Arc<Analyzer>, r: Reader<'_>) -> Result {
    let v = read_u64(r)?;
    if v > 100 {
        return Err(ERANGE);
    }
    a.settings.lock().pretrigger_percent = v;
    Ok(())
}

fn unitsize_show(a: &Arc<Analyzer>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    // CAST: 1, 2 or 4.
    show_u64(a.unit as u64, f)
}

fn stats_show(a: &Arc<Analyzer>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let report = a.report.lock();
    let Some(r) = report.as_ref() else {
        return writeln!(f, "captures=0");
    };
    let s = &r.outcome_stats;
    let mhz = s.achieved_rate_mhz();
    writeln!(
        f,
        "requested_rate_hz={}",
        1_000_000_000 / r.period_ns.max(1)
    )?;
    writeln!(f, "period_ns={}", r.period_ns)?;
    writeln!(f, "achieved_rate_hz={}.{:03}", mhz / 1000, mhz % 1000)?;
    writeln!(f, "samples={}", r.samples)?;
    writeln!(f, "trigger_sample={}", r.trigger_sample)?;
    writeln!(
        f,
        "interval_ns_min={}",
        if s.samples > 1 { s.min_interval_ns } else { 0 }
    )?;
    writeln!(f, "interval_ns_mean={}", s.mean_interval_ns())?;
    writeln!(f, "interval_ns_max={}", s.max_interval_ns)?;
    writeln!(f, "late_ns_mean={}", s.mean_late_ns())?;
    writeln!(f, "late_ns_p99={}", s.p99_late_ns())?;
    writeln!(f, "late_ns_max={}", s.max_late_ns)?;
    writeln!(f, "late_samples={}", s.late_samples)?;
    writeln!(f, "irqoff_windows={}", r.windows)?;
    writeln!(f, "duration_ns={}", r.duration_ns)?;
    writeln!(f, "acq_delay_ns={}", r.acq_ns)
}

impl Instance {
    /// Builds an instance named `name` from `probes` (the `probe` GPIOs of `dev`), with one name per probe, and
    /// its debugfs directory under `root`.
    ///
    /// # Errors
    ///
    /// As upstream: `EFBIG` for more than [`MAX_PROBES`] probes, `EREMOTE` if a probe's chip may sleep, plus
    /// whatever getting the GPIOs returns.
    pub(crate) fn new(
        dev: &Device,
        probes: Probes,
        name: &CStr,
        names: &[CString],
        root: &Dir,
        limits: Limits,
    ) -> Result<Self> {
        let count = probes.count();
        if count > MAX_PROBES {
            return Err(EFBIG);
        }
        if names.len() != count as usize {
            return Err(EBADR);
        }
        if probes.any_can_sleep() {
            dev_err!(
                dev,
                "probes on a chip that may sleep cannot be sampled with IRQs off\n"
            );
            return Err(EREMOTE);
        }
        if probes.is_in_place() {
            dev_info!(
                dev,
                "{} probes read in place: not requested, their direction and pin mux stay as they are\n",
                count
            );
        }
        let mut meta = KVec::new();
        for (i, n) in names.iter().enumerate() {
            let consumer = CString::try_from_fmt(fmt!(
                "{}: {}",
                name.to_str().map_err(|_| EINVAL)?,
                n.to_str().map_err(|_| EINVAL)?
            ))?;
            // CAST: `i` < `count` <= 32.
            probes.set_consumer_name(i as u32, &consumer)?;
            let line = CString::try_from_fmt(fmt!(
                "probe{:02}={}\n",
                i + 1,
                n.to_str().map_err(|_| EINVAL)?
            ))?;
            meta.extend_from_slice(line.to_bytes(), GFP_KERNEL)?;
        }
        let unit = samples::unit_size(count);
        let dir = Dir::new(name, Some(root))?;
        let last = Arc::pin_init(
            pin_init!(LastCapture {
                samples <- new_mutex!(None, "LastCapture::samples"),
            }),
            GFP_KERNEL,
        )?;
        let core = Arc::pin_init(
            try_pin_init!(Analyzer {
                name: CString::try_from_fmt(fmt!("{}", name.to_str().map_err(|_| EINVAL)?))?,
                probes,
                unit,
                limits,
                published <- new_mutex!(Published { sample_data: None }, "Analyzer::published"),
                last,
                settings <- new_mutex!(
                    Settings {
                        delay_ns: 0,
                        buf_samples: DEFAULT_BUF_SAMPLES,
                        work: None,
                        trigger: KVec::new(),
                        trigger_timeout_ms: 0,
                        pretrigger_percent: 0,
                    },
                    "Analyzer::settings"
                ),
                report <- new_mutex!(None, "Analyzer::report"),
                acq_ns: Atomic::new(0),
                abort: Atomic::new(false),
                dir,
            }),
            GFP_KERNEL,
        )?;
        core.set_buf_size(DEFAULT_BUF_SAMPLES.min(limits.max_buf_bytes / unit).max(1))?;

        let d = &core.dir;
        let meta = KBox::pin_init(
            File::new(d, c"meta_data", meta, Ops::read(read_bytes)),
            GFP_KERNEL,
        )?;
        let table: [(&CStr, Ops<Arc<Analyzer>>); 10] = [
            (c"delay_ns", Ops::show_store(delay_ns_show, delay_ns_store)),
            (c"delay_ns_acquisition", Ops::show(acq_show)),
            (c"buf_size", Ops::show_store(buf_size_show, buf_size_store)),
            (c"capture", Ops::store(capture_store)),
            (c"trigger", Ops::store(trigger_store)),
            (
                c"trigger_expr",
                Ops::show_store(trigger_expr_show, trigger_expr_store),
            ),
            (
                c"trigger_timeout_ms",
                Ops::show_store(timeout_show, timeout_store),
            ),
            (
                c"pretrigger_percent",
                Ops::show_store(pretrigger_show, pretrigger_store),
            ),
            (c"unitsize", Ops::show(unitsize_show)),
            (c"stats", Ops::show(stats_show)),
        ];
        let mut files = KVec::with_capacity(table.len(), GFP_KERNEL)?;
        for (name, ops) in table {
            files.push(
                KBox::pin_init(File::new(d, name, core.clone(), ops), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            _meta: meta,
            _files: files,
            core,
        })
    }

    /// The instance's name (its debugfs directory).
    pub(crate) fn name(&self) -> &CStr {
        &self.core.name
    }
}
