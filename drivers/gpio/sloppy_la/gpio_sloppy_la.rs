// SPDX-License-Identifier: GPL-2.0

//! Sloppy GPIO logic analyzer, in Rust.
//!
//! A drop-in for the C driver `drivers/gpio/gpio-sloppy-logic-analyzer.c`: it binds to the same
//! `gpio-sloppy-logic-analyzer` devices (device tree compatible, or a platform device of that name), offers the
//! same debugfs files with the same semantics, so `tools/gpio/gpio-sloppy-logic-analyzer.sh` works unchanged,
//! and adds what the C driver lacks: up to 32 probes, deadline pacing with timing statistics, true edge
//! triggers with a timeout and pre-trigger samples, bounded IRQs-off windows, and instances made at run time
//! without firmware (`new_device` / `delete_device`).
//!
//! Sample GPIO lines on a CPU that nothing else uses (see the capture tool `la-capture`): interrupts are off
//! while sampling, and the result is only as good as that CPU's isolation.
//!
//! Root directory `/sys/kernel/debug/gpio-sloppy-logic-analyzer/`:
//! - `new_device` (0200): `NAME CHIP OFFSETS [CHIP OFFSETS ...] [names=N1,N2,...] [in-place]`, e.g.
//!   `i2c gpio-waveform 0-1 names=SCL,SDA`, makes instance `NAME` from lines of the named gpiochips; with
//!   `in-place` the lines are read as they are (not requested: no direction or pin mux change, shared with
//!   their owner), as the device tree property `probe-in-place` does for devices.
//! - `delete_device` (0200): `NAME` removes an instance made by `new_device` (stopping its capture).
//!
//! Instance files are described in `instance.rs`.
//!
//! C version of this driver: [`drivers/gpio/gpio-sloppy-logic-analyzer.c`](srctree/drivers/gpio/gpio-sloppy-logic-analyzer.c)

use kernel::{
    device::{self, Core},
    driver, faux, of, platform,
    prelude::*,
    str::CString,
    uaccess::UserSliceReader,
};

mod capture;
mod gpio;
mod instance;
#[path = "../../common/owned_debugfs.rs"]
mod owned_debugfs;

use owned_debugfs::{read_write, Dir, File, Ops};

// The kernel-independent logic, shared with the host crate `tools/la-core` (which unit-tests it). Its items are
// `pub` for that crate.
#[allow(unreachable_pub, dead_code)]
#[path = "../shared/number.rs"]
mod number;
#[allow(unreachable_pub, dead_code)]
#[path = "../shared/samples.rs"]
mod samples;
#[allow(unreachable_pub, dead_code)]
#[path = "../shared/spec.rs"]
mod spec;
#[allow(unreachable_pub, dead_code)]
#[path = "../shared/timing.rs"]
mod timing;
#[allow(unreachable_pub, dead_code)]
#[path = "../shared/trigger.rs"]
mod trigger;

use instance::{Instance, Limits};

/// Name of the driver, the debugfs root and the platform devices, as upstream.
const LA_NAME: &CStr = c"gpio-sloppy-logic-analyzer";

module! {
    type: SloppyLa,
    name: "gpio_sloppy_la",
    authors: ["rfl-bringup developers"],
    description: "Sloppy GPIO logic analyzer (Rust)",
    license: "GPL",
    params: {
        max_buf_mib: u32 {
            default: 256,
            description: "Largest capture buffer in MiB; larger buf_size writes fail with E2BIG",
        },
        max_irqoff_us: u32 {
            default: 100000,
            description: "Longest stretch with interrupts off while sampling, in us (100..=5000000)",
        },
    },
}

fn limits() -> Result<Limits> {
    let mib = module_parameters::max_buf_mib.value();
    let irqoff = module_parameters::max_irqoff_us.value();
    if mib == 0 || !(100..=5_000_000).contains(&irqoff) {
        pr_err!("max_buf_mib must be > 0 and max_irqoff_us in 100..=5000000\n");
        return Err(EINVAL);
    }
    Ok(Limits {
        max_buf_bytes: usize::try_from(u64::from(mib) << 20).map_err(|_| EINVAL)?,
        max_irqoff_ns: u64::from(irqoff) * 1000,
    })
}

/// An instance made through `new_device`.
struct Manual {
    // Fields are dropped in declaration order: the instance releases its GPIOs before the lookup table and the
    // device they were looked up for go away.
    instance: Instance,
    /// The lookup table requested lines were found through; none for lines read in place.
    _lookup: Option<gpio::LookupTable>,
    _device: faux::Registration,
}

/// Module-wide state: the debugfs root (also needed by platform probes, which get no context of ours) and the
/// instances made through `new_device`.
struct Globals {
    root: Option<Dir>,
    manual: KVec<Manual>,
}

kernel::sync::global_lock! {
    // SAFETY: Initialized in `SloppyLa::init` before the driver is registered and before any file exists.
    unsafe(uninit) static GLOBALS: Mutex<Globals> = Globals { root: None, manual: KVec::new() };
}

kernel::of_device_table!(
    OF_TABLE,
    <LaDriver as platform::Driver>::IdInfo,
    [(of::DeviceId::new(c"gpio-sloppy-logic-analyzer"), ())]
);

/// The platform driver: one instance per `gpio-sloppy-logic-analyzer` device.
struct LaDriver {
    _instance: Instance,
}

impl platform::Driver for LaDriver {
    type IdInfo = ();
    type Data<'bound> = Self;
    const OF_ID_TABLE: Option<of::IdTable<Self::IdInfo>> = Some(&OF_TABLE);

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self, Error> + 'bound {
        let dev: &device::Device = pdev.as_ref();
        let probes = gpio::Probes::get(dev)?;
        let count = probes.count();
        if count > instance::MAX_PROBES {
            return Err(EFBIG);
        }
        let names = gpio::probe_names(dev, count).inspect_err(|e| {
            dev_err!(dev, "error naming the GPIOs: {:?}\n", e);
        })?;
        let g = GLOBALS.lock();
        let instance = Instance::new(
            dev,
            probes,
            dev.name(),
            &names,
            g.root.as_ref().ok_or(ENODEV)?,
            limits()?,
        )?;
        Ok(Self {
            _instance: instance,
        })
    }
}

/// Parses and applies a `new_device` line.
fn new_device(text: &str) -> Result {
    let mut lines: KVec<(CString, u32)> = KVec::new();
    let mut oom = false;
    let spec = spec::parse_new_device(text, instance::MAX_PROBES, &mut |chip, off| {
        let chip = CString::try_from_fmt(fmt!("{chip}")).map_err(|_| {
            oom = true;
            spec::SpecError::TooMany
        })?;
        lines.push((chip, off), GFP_KERNEL).map_err(|_| {
            oom = true;
            spec::SpecError::TooMany
        })
    });
    if oom {
        return Err(ENOMEM);
    }
    let spec = spec.map_err(|e| {
        pr_info!("new_device: {}\n", e.describe());
        match e {
            spec::SpecError::TooMany => E2BIG,
            _ => EINVAL,
        }
    })?;
    let mut names = KVec::new();
    match spec.names {
        Some(list) => {
            for n in list.split(',') {
                names.push(CString::try_from_fmt(fmt!("{n}"))?, GFP_KERNEL)?;
            }
        }
        None => {
            for i in 0..spec.lines {
                names.push(CString::try_from_fmt(fmt!("D{i}"))?, GFP_KERNEL)?;
            }
        }
    }
    let name = CString::try_from_fmt(fmt!("{}", spec.name))?;
    let dev_name = CString::try_from_fmt(fmt!("gpio-sloppy-la.{}", spec.name))?;

    let mut g = GLOBALS.lock();
    if g.manual.iter().any(|m| m.instance.name() == &*name) {
        pr_info!("new_device: instance {} exists\n", spec.name);
        return Err(EEXIST);
    }
    let root = g.root.as_ref().ok_or(ENODEV)?;
    let device = faux::Registration::new(&dev_name, None)?;
    let fdev: &faux::Device<device::Bound> = device.as_ref();
    let dev: &device::Device = fdev.as_ref();
    let (lookup, probes) = if spec.in_place {
        (None, gpio::Probes::in_place(dev, &lines))
    } else {
        let lookup = gpio::LookupTable::add(&dev_name, &lines)?;
        (Some(lookup), gpio::Probes::get(dev))
    };
    let probes = probes.map_err(|e| {
        // gpiolib defers when a chip label is unknown: say so plainly.
        if e == EPROBE_DEFER {
            pr_info!("new_device: no gpiochip with that label, or offset out of range\n");
            ENODEV
        } else {
            e
        }
    })?;
    let instance = Instance::new(dev, probes, &name, &names, root, limits()?)?;
    g.manual.push(
        Manual {
            instance,
            _lookup: lookup,
            _device: device,
        },
        GFP_KERNEL,
    )?;
    Ok(())
}

/// Longest `new_device` / `delete_device` line.
const MAX_LINE: usize = 1024;

fn new_device_store(_: &(), r: &mut UserSliceReader) -> Result {
    let buf = read_write(r, MAX_LINE)?;
    new_device(core::str::from_utf8(&buf).map_err(|_| EINVAL)?)
}

fn delete_device_store(_: &(), r: &mut UserSliceReader) -> Result {
    let buf = read_write(r, MAX_LINE)?;
    let name = core::str::from_utf8(&buf).map_err(|_| EINVAL)?.trim();
    let removed = {
        let mut g = GLOBALS.lock();
        let Some(i) = g
            .manual
            .iter()
            .position(|m| m.instance.name().to_bytes() == name.as_bytes())
        else {
            pr_info!(
                "delete_device: no instance made by new_device is called {}\n",
                name
            );
            return Err(EINVAL);
        };
        g.manual.remove(i)?
    };
    // Dropped outside the lock: it waits for a running capture to stop.
    drop(removed);
    Ok(())
}

/// Clears the module-wide state when the module goes (after the driver, see the field order of [`SloppyLa`]).
struct GlobalsGuard;

impl Drop for GlobalsGuard {
    fn drop(&mut self) {
        let (manual, root) = {
            let mut g = GLOBALS.lock();
            (core::mem::take(&mut g.manual), g.root.take())
        };
        drop(manual);
        drop(root);
    }
}

#[pin_data]
struct SloppyLa {
    // Fields are dropped in declaration order: the driver (and its instances) first, then the root files, then
    // the `new_device` instances and the root directory.
    #[pin]
    _driver: driver::Registration<platform::Adapter<LaDriver>>,
    _files: KVec<Pin<KBox<File<()>>>>,
    _globals: GlobalsGuard,
}

impl kernel::InPlaceModule for SloppyLa {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _globals: {
                limits()?;
                // SAFETY: Called once, at module init, before anything else uses `GLOBALS`.
                unsafe { GLOBALS.init() };
                GLOBALS.lock().root = Some(Dir::new(LA_NAME, None)?);
                GlobalsGuard
            },
            _files: {
                let g = GLOBALS.lock();
                let root = g.root.as_ref().ok_or(ENODEV)?;
                let mut files = KVec::new();
                files.push(KBox::pin_init(File::new(root, c"new_device", (), Ops::store(new_device_store)), GFP_KERNEL)?, GFP_KERNEL)?;
                files.push(KBox::pin_init(File::new(root, c"delete_device", (), Ops::store(delete_device_store)), GFP_KERNEL)?, GFP_KERNEL)?;
                files
            },
            _driver <- driver::Registration::new(LA_NAME, module),
        })
    }
}

#[kunit_tests(gpio_sloppy_la)]
mod tests {
    use super::{number, samples, spec, timing, trigger};

    fn steps(text: &str, probes: u32) -> Result<KVec<trigger::Step>, trigger::TriggerError> {
        let mut v = KVec::new();
        trigger::parse_expr(text, probes, &mut |s| {
            v.push(s, GFP_KERNEL)
                .map_err(|_| trigger::TriggerError::TooLong)
        })?;
        Ok(v)
    }

    use kernel::prelude::*;

    #[test]
    fn trigger_start_condition() {
        let s = steps("1H+2F", 2).unwrap_or_default();
        assert_eq!(s.len(), 1);
        let mut m = trigger::Matcher::default();
        assert!(!m.feed(&s, 0b11));
        assert!(!m.feed(&s, 0b00)); // SDA fell with SCL low: data, not START
        let mut m = trigger::Matcher::default();
        assert!(!m.feed(&s, 0b11));
        assert!(m.feed(&s, 0b01));
    }

    #[test]
    fn trigger_rejections() {
        assert!(steps("0H", 8) == Err(trigger::TriggerError::BadChannel));
        assert!(steps("3H", 2) == Err(trigger::TriggerError::BadChannel));
        assert!(steps("1Q", 8) == Err(trigger::TriggerError::BadTerm));
        assert!(steps("1H+1R", 8) == Err(trigger::TriggerError::Conflict));
        assert!(
            trigger::parse_pairs(&[1, 2, 3], &mut |_| Ok(()))
                == Err(trigger::TriggerError::OddLength)
        );
    }

    #[test]
    fn upstream_pairs_are_levels() {
        let mut got = KVec::new();
        assert!(trigger::parse_pairs(&[3, 1], &mut |s| got
            .push(s, GFP_KERNEL)
            .map_err(|_| trigger::TriggerError::TooLong))
        .is_ok());
        let mut m = trigger::Matcher::default();
        assert!(!m.feed(&got, 0b11));
        assert!(m.feed(&got, 0b01));
    }

    #[test]
    fn pacing_arithmetic() {
        assert_eq!(timing::period_for_rate(1_500_000), Some(667));
        assert_eq!(timing::due_ns(3, 667), Some(2001));
        assert_eq!(timing::due_ns(u64::MAX, 2), None);
        let mut t = timing::TimingStats::new(1000);
        t.record(0, 5);
        t.record(1000, 1005);
        t.record(2000, 3500);
        assert_eq!(t.late_samples, 1);
        assert_eq!(t.max_interval_ns, 2495);
        assert_eq!(t.min_interval_ns, 1000);
    }

    #[test]
    fn sample_packing() {
        assert_eq!(samples::unit_size(1), 1);
        assert_eq!(samples::unit_size(16), 2);
        assert_eq!(samples::unit_size(32), 4);
        let mut buf = [0u8; 8];
        assert!(samples::put(&mut buf, 4, 1, 0xa1b2_c3d4));
        assert_eq!(buf[4..], [0xd4, 0xc3, 0xb2, 0xa1]);
        assert!(!samples::put(&mut buf, 4, 2, 0));
    }

    #[test]
    fn interface_validation() {
        assert_eq!(number::parse_u64("0x20\n"), Some(32));
        assert_eq!(number::parse_u64("010"), Some(8));
        assert_eq!(number::parse_u64("12 "), None);
        let mut n = 0;
        let d = spec::parse_new_device("bus gpio-waveform 0-2 names=A,B,C", 32, &mut |_, _| {
            n += 1;
            Ok(())
        });
        assert!(d.is_ok());
        assert_eq!(n, 3);
        assert!(spec::parse_new_device("bus gpio-waveform 0-40", 32, &mut |_, _| Ok(())).is_err());
        let d = spec::parse_new_device("i2c1 pinctrl-bcm2835 2-3 in-place", 32, &mut |_, _| Ok(()));
        assert!(d.is_ok_and(|d| d.in_place && d.lines == 2));
        assert!(!spec::valid_name("a b"));
        assert!(!spec::valid_name("../x"));
    }
}
