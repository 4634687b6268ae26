// SPDX-License-Identifier: GPL-2.0

//! vcam: a virtual camera for testing KCAM: sensor → CSI receiver → ISP → DMA writer, with memory-backed
//! registers. Writes keep the read-only bits; a parameter buffer sent to the ISP bumps `PARAMS_SEQ`, records its
//! length and folds its bytes into `PARAMS_SUM`, so a test can see that it arrived intact.
//!
//! Streaming: setting the sensor's `CTRL` bit 0 starts a frame generator at `fps` frames per second (a
//! high-resolution timer, forwarded by exact half periods, so the rate does not drift). Each frame emits
//! FRAME_START, then half a period later FRAME_END, bumps the sensor's `FRAME_COUNT`, changes the ISP's
//! `STATS_SUM` (a function of frame, exposure and gain) and emits STATS_READY. Clearing the bit stops it.
//! New `EXPOSURE` or `GAIN` values written while streaming are latched at the next frame start; until then the
//! sensor's `STATUS` bit 0 (`BUSY`) is set, so a list can `POLL` for it.
//!
//! Fault injection ([`Faults`], set through debugfs by the core, deterministic):
//! - `fail_nth` = N: the Nth register or parameter access from now fails with `EIO` (once);
//! - `stuck_busy`: `STATUS.BUSY` stays set, so a `POLL` for it times out;
//! - `lose_events` = N: the next N frames end without FRAME_END and STATS_READY (a lost interrupt; the frame
//!   counter still advances, so FRAME_START's data shows the gap);
//! - `slow_us` = N: every access takes N µs more;
//! - `hang`: every access blocks until `KCAM_IOC_RESET` (or until the list is cancelled, or the core's access
//!   watchdog ends it with `ETIMEDOUT`);
//! - removal: every access fails with `ENODEV` from then on.
//!
//! [`Vcam::reset`] clears every fault but removal.
//!
//! vcam is a driver of the KCAM core like any other: [`Instance::probe`] builds it from the core's
//! [`CameraCtx`] and registers it with [`crate::register`]; its surprise removal is that registration dropped.

use crate::{
    camera::{Backend, CameraCtx, EntitySpec, RegSpec, RunCtx},
    events::EventHub,
    limits::Limits,
    owned_debugfs::{read_write, Dir, File, Ops},
    shared::uapi::{EntityType, EventType, ACCESS_READ, ACCESS_WRITE},
    waker::Waker,
};
use kernel::{
    new_mutex, new_spinlock_irq,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, ArcBorrow, Mutex, SpinLockIrq,
    },
    time::{
        hrtimer::{
            ArcHrTimerHandle, HrTimer, HrTimerCallback, HrTimerCallbackContext, HrTimerPointer,
            HrTimerRestart, RelativeSoftMode,
        },
        Delta, Monotonic,
    },
    uaccess::UserSliceReader,
};

const RW: u32 = ACCESS_READ | ACCESS_WRITE;
const RO: u32 = ACCESS_READ;

const fn reg(name: &'static CStr, access: u32, writable_mask: u64, reset: u64) -> RegSpec {
    RegSpec {
        name,
        access,
        writable_mask,
        reset,
    }
}

/// Entity indexes in [`ENTITIES`] and the registers with side effects.
const SENSOR: usize = 0;
const SENSOR_CTRL: usize = 0;
const SENSOR_EXPOSURE: usize = 1;
const SENSOR_GAIN: usize = 2;
const SENSOR_FRAME_COUNT: usize = 5;
const SENSOR_STATUS: usize = 6;
const STATUS_BUSY: u64 = 1;
const ISP: usize = 2;
const ISP_PARAMS_SEQ: usize = 1;
const ISP_PARAMS_LEN: usize = 2;
const ISP_PARAMS_SUM: usize = 3;
const ISP_STATS_SUM: usize = 4;
const STREAM_ON: u64 = 1;

/// The tree, parents first.
pub(crate) static ENTITIES: [EntitySpec; 4] = [
    EntitySpec {
        id: 1,
        parent: 0,
        type_: EntityType::Sensor,
        name: c"vcam-sensor",
        reg_width: 32,
        regs: &[
            reg(c"CTRL", RW, 0x1, 0),
            reg(c"EXPOSURE", RW, 0xffff, 1000),
            reg(c"GAIN", RW, 0xff, 16),
            reg(c"TEST_PATTERN", RW, 0x7, 0),
            reg(c"CHIP_ID", RO, 0, 0x5643_4d31),
            reg(c"FRAME_COUNT", RO, 0, 0),
            reg(c"STATUS", RO, 0, 0),
        ],
        events: (1 << EventType::FrameStart as u32) | (1 << EventType::FrameEnd as u32),
    },
    EntitySpec {
        id: 2,
        parent: 1,
        type_: EntityType::Csi,
        name: c"vcam-csi",
        reg_width: 32,
        regs: &[reg(c"CTRL", RW, 0x1, 0), reg(c"LANES", RW, 0x7, 2)],
        events: 0,
    },
    EntitySpec {
        id: 3,
        parent: 2,
        type_: EntityType::Isp,
        name: c"vcam-isp",
        reg_width: 32,
        regs: &[
            reg(c"CTRL", RW, 0x3, 0),
            reg(c"PARAMS_SEQ", RO, 0, 0),
            reg(c"PARAMS_LEN", RO, 0, 0),
            reg(c"PARAMS_SUM", RO, 0, 0),
            reg(c"STATS_SUM", RO, 0, 0),
        ],
        events: 1 << EventType::StatsReady as u32,
    },
    EntitySpec {
        id: 4,
        parent: 3,
        type_: EntityType::Dma,
        name: c"vcam-dma",
        reg_width: 32,
        regs: &[reg(c"CTRL", RW, 0x1, 0), reg(c"ADDR", RW, 0xffff_fff0, 0)],
        events: 0,
    },
];

/// Register values, one array per entity.
type Regs = [[u64; 8]; 4];

fn reset_values() -> Regs {
    let mut r = [[0u64; 8]; 4];
    for (e, spec) in ENTITIES.iter().enumerate() {
        for (i, reg) in spec.regs.iter().enumerate() {
            r[e][i] = reg.reset;
        }
    }
    r
}

/// Injected faults (see the module documentation). All zero: a healthy camera.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Faults {
    pub(crate) fail_nth: u32,
    pub(crate) stuck_busy: bool,
    pub(crate) lose_events: u32,
    pub(crate) slow_us: u32,
    pub(crate) hang: bool,
    pub(crate) removed: bool,
}

/// Longest injected per-access delay: a second.
pub(crate) const MAX_SLOW_US: u32 = 1_000_000;

/// vcam's registers and frame generator. The registers and faults are behind IRQ-safe spinlocks because the
/// frame generator (a timer callback, softirq context) updates them too.
#[pin_data]
pub(crate) struct Vcam {
    #[pin]
    regs: SpinLockIrq<Regs>,
    #[pin]
    faults: SpinLockIrq<Faults>,
    /// Whether `faults` is not all zero: a healthy camera's accesses take no lock for fault injection.
    faulty: Atomic<bool>,
    /// New exposure or gain waits for the next frame start (`STATUS.BUSY`).
    settling: Atomic<bool>,
    events: Arc<EventHub>,
    /// Kicked when a fault that blocks accesses is cleared.
    waker: Arc<Waker>,
    /// Half a frame period: FRAME_START and FRAME_END alternate at this interval.
    half_period: Delta,
    streaming: Atomic<bool>,
    /// Set once, at teardown: the generator stops re-arming.
    stopping: Atomic<bool>,
    /// The next tick ends a frame (else starts one).
    in_frame: Atomic<bool>,
    #[pin]
    tick: HrTimer<Vcam>,
    /// The running generator's timer; dropping it cancels the timer and waits for a running callback.
    #[pin]
    generator: Mutex<Option<ArcHrTimerHandle<Vcam>>>,
}

kernel::impl_has_hr_timer! {
    impl HasHrTimer<Self> for Vcam { mode: RelativeSoftMode<Monotonic>, field: self.tick }
}

impl HrTimerCallback for Vcam {
    type Pointer<'a> = Arc<Vcam>;

    fn run(this: ArcBorrow<'_, Vcam>, mut ctx: HrTimerCallbackContext<'_, Vcam>) -> HrTimerRestart {
        if this.stopping.load(Relaxed) || !this.streaming.load(Relaxed) {
            return HrTimerRestart::NoRestart;
        }
        let ending = this.in_frame.load(Relaxed);
        this.in_frame.store(!ending, Relaxed);
        let sensor_id = ENTITIES[SENSOR].id;
        if ending {
            let lost = this.faulty.load(Relaxed) && {
                let mut f = this.faults.lock();
                let lost = f.lose_events > 0;
                f.lose_events = f.lose_events.saturating_sub(1);
                lost
            };
            let frame = {
                let mut r = this.regs.lock();
                let frame = r[SENSOR][SENSOR_FRAME_COUNT];
                // Statistics that change per frame and depend on the exposure and gain programmed.
                let stats = frame
                    .wrapping_mul(2_654_435_761)
                    .wrapping_add(r[SENSOR][SENSOR_EXPOSURE] * r[SENSOR][SENSOR_GAIN]);
                r[ISP][ISP_STATS_SUM] = stats & 0xffff_ffff;
                frame
            };
            if !lost {
                this.events
                    .emit(SENSOR, sensor_id, EventType::FrameEnd as u32, frame);
                this.events
                    .emit(ISP, ENTITIES[ISP].id, EventType::StatsReady as u32, frame);
            }
        } else {
            this.settling.store(false, Relaxed);
            let frame = {
                let mut r = this.regs.lock();
                r[SENSOR][SENSOR_FRAME_COUNT] = (r[SENSOR][SENSOR_FRAME_COUNT] + 1) & 0xffff_ffff;
                r[SENSOR][SENSOR_FRAME_COUNT]
            };
            this.events
                .emit(SENSOR, sensor_id, EventType::FrameStart as u32, frame);
        }
        // From the previous expiry, not from now: no drift.
        ctx.forward_now(this.half_period);
        HrTimerRestart::Restart
    }
}

impl Vcam {
    pub(crate) fn new(events: Arc<EventHub>, waker: Arc<Waker>, fps: u32) -> Result<Arc<Self>> {
        let fps = fps.clamp(1, 120);
        Arc::pin_init(
            pin_init!(Self {
                regs <- new_spinlock_irq!(reset_values(), "Vcam::regs"),
                faults <- new_spinlock_irq!(Faults::default(), "Vcam::faults"),
                faulty: Atomic::new(false),
                settling: Atomic::new(false),
                events,
                waker,
                // No division by a variable: `checked_div` cannot panic (objtool does not know every panic path).
                half_period: Delta::from_nanos(500_000_000i64.checked_div(i64::from(fps)).unwrap_or(500_000_000)),
                streaming: Atomic::new(false),
                stopping: Atomic::new(false),
                in_frame: Atomic::new(false),
                tick <- HrTimer::new(),
                generator <- new_mutex!(None, "Vcam::generator"),
            }),
            GFP_KERNEL,
        )
    }

    /// Stops streaming, puts every register back to its reset value and clears every fault but removal.
    pub(crate) fn reset(&self) {
        self.streaming.store(false, Relaxed);
        self.settling.store(false, Relaxed);
        *self.regs.lock() = reset_values();
        {
            let mut f = self.faults.lock();
            *f = Faults {
                removed: f.removed,
                ..Faults::default()
            };
            self.faulty.store(f.removed, Relaxed);
        }
        self.waker.kick();
    }

    pub(crate) fn faults(&self) -> Faults {
        *self.faults.lock()
    }

    /// Changes the injected faults.
    pub(crate) fn set_faults(&self, change: impl FnOnce(&mut Faults)) {
        let removed = {
            let mut f = self.faults.lock();
            change(&mut f);
            f.slow_us = f.slow_us.min(MAX_SLOW_US);
            self.faulty.store(*f != Faults::default(), Relaxed);
            f.removed
        };
        if removed {
            self.streaming.store(false, Relaxed);
        }
        // A cleared hang lets blocked accesses go on.
        self.waker.kick();
    }

    /// What every access goes through first: removal, the Nth-access failure, a hang, slowness; the waits under
    /// the core's access watchdog.
    fn access(&self, cx: &RunCtx<'_>) -> Result {
        if !self.faulty.load(Relaxed) {
            return Ok(());
        }
        let access = cx.access();
        let (fail, slow_us) = {
            let mut f = self.faults.lock();
            if f.removed {
                return Err(ENODEV);
            }
            let fail = f.fail_nth == 1;
            f.fail_nth = f.fail_nth.saturating_sub(1);
            if *f == Faults::default() {
                self.faulty.store(false, Relaxed);
            }
            (fail, f.slow_us)
        };
        // Hung: no timeout of its own (RESET, removal, cancelling the list or the watchdog ends it).
        access.wait_until(|| {
            let f = self.faults.lock();
            if f.removed {
                Some(Err(ENODEV))
            } else if f.hang {
                None
            } else {
                Some(Ok(()))
            }
        })?;
        access.sleep(u64::from(slow_us) * 1000)?;
        if fail {
            return Err(EIO);
        }
        Ok(())
    }

    /// Stops the frame generator for good and waits until it no longer runs (module unload, tests).
    pub(crate) fn shutdown(&self) {
        let handle = {
            let mut generator = self.generator.lock();
            // Under the generator's lock, so that `set_streaming` either started the timer before (and it is
            // taken here) or sees `stopping` and starts nothing.
            self.stopping.store(true, Relaxed);
            self.streaming.store(false, Relaxed);
            generator.take()
        };
        // Dropping the handle cancels the timer and waits for a running callback; it also drops the timer's
        // reference on `self`.
        drop(handle);
    }

    fn set_streaming(self: &Arc<Self>, on: bool) {
        let was = self.streaming.xchg(on, Relaxed);
        if on && !was {
            let mut generator = self.generator.lock();
            if self.stopping.load(Relaxed) {
                return;
            }
            self.in_frame.store(false, Relaxed);
            // The same timer: cancel a previous run (it may not have seen the stop yet) before starting anew.
            drop(generator.take());
            *generator = Some(self.clone().start(self.half_period));
        }
    }
}

impl Backend for Arc<Vcam> {
    fn read(&self, cx: &RunCtx<'_>, idx: usize, reg: u32) -> Result<u64> {
        self.access(cx)?;
        if idx == SENSOR && reg as usize == SENSOR_STATUS {
            let busy = self.settling.load(Relaxed) || self.faults.lock().stuck_busy;
            return Ok(if busy { STATUS_BUSY } else { 0 });
        }
        self.regs
            .lock()
            .get(idx)
            .and_then(|e| e.get(reg as usize))
            .copied()
            .ok_or(ENOENT)
    }

    fn update(&self, cx: &RunCtx<'_>, idx: usize, reg: u32, mask: u64, value: u64) -> Result<u64> {
        self.access(cx)?;
        let new = {
            let mut regs = self.regs.lock();
            let slot = regs
                .get_mut(idx)
                .and_then(|e| e.get_mut(reg as usize))
                .ok_or(ENOENT)?;
            *slot = (*slot & !mask) | (value & mask);
            *slot
        };
        let reg = reg as usize;
        if idx == SENSOR
            && (reg == SENSOR_EXPOSURE || reg == SENSOR_GAIN)
            && self.streaming.load(Relaxed)
        {
            self.settling.store(true, Relaxed);
        }
        // Side effect: the sensor's stream bit starts and stops the frame generator.
        if idx == SENSOR && reg == SENSOR_CTRL {
            self.set_streaming(new & STREAM_ON != 0);
        }
        Ok(new)
    }

    fn reset(&self) {
        Vcam::reset(self);
    }

    fn shutdown(&self) {
        Vcam::shutdown(self);
    }

    fn xfer_param(&self, cx: &RunCtx<'_>, idx: usize, data: &[u8]) -> Result {
        if idx != ISP {
            // Only the ISP takes parameters.
            return Err(EINVAL);
        }
        self.access(cx)?;
        let sum = data.iter().fold(0u64, |a, b| a.wrapping_add(u64::from(*b)));
        let mut regs = self.regs.lock();
        let isp = &mut regs[ISP];
        isp[ISP_PARAMS_SEQ] = isp[ISP_PARAMS_SEQ].wrapping_add(1) & 0xffff_ffff;
        isp[ISP_PARAMS_LEN] = data.len() as u64;
        isp[ISP_PARAMS_SUM] = sum & 0xffff_ffff;
        Ok(())
    }
}

/// The vcam device: the camera registered with the core, and what its fault injection needs.
#[pin_data]
pub(crate) struct VcamDevice {
    vcam: Arc<Vcam>,
    /// `None` once removed (`remove=1`).
    #[pin]
    registration: Mutex<Option<crate::registry::Registration>>,
}

/// vcam as loaded: the device and its fault-injection file `/sys/kernel/debug/vcam/faults`.
pub(crate) struct Instance {
    // Dropped in declaration order: the file first, then the device (unregistering the camera).
    _faults: Pin<KBox<File<Arc<VcamDevice>>>>,
    _dir: Dir,
    _device: Arc<VcamDevice>,
}

impl Instance {
    /// Builds vcam at `fps` with the camera `limits` and registers it with the core. The device node appears
    /// last, once nothing else can fail: a file opened on it never outlives a failed load.
    pub(crate) fn probe(fps: u32, limits: Limits) -> Result<Self> {
        if !(1..=120).contains(&fps) {
            pr_err!("vcam: fps={fps} is outside 1..=120\n");
            return Err(EINVAL);
        }
        let ctx = CameraCtx::new(ENTITIES.len(), limits)?;
        let vcam = Vcam::new(ctx.events.clone(), ctx.waker.clone(), fps)?;
        let backend: KBox<dyn Backend> = KBox::new(vcam.clone(), GFP_KERNEL)?;
        let device = Arc::pin_init(
            pin_init!(VcamDevice {
                vcam,
                registration <- new_mutex!(None, "VcamDevice::registration"),
            }),
            GFP_KERNEL,
        )?;
        let dir = Dir::new(c"vcam", None)?;
        let faults = KBox::pin_init(
            File::new(
                &dir,
                c"faults",
                device.clone(),
                Ops::show_store(faults_show, faults_store),
            ),
            GFP_KERNEL,
        )?;
        *device.registration.lock() = Some(crate::registry::register(&ENTITIES, ctx, backend)?);
        Ok(Self {
            _faults: faults,
            _dir: dir,
            _device: device,
        })
    }
}

/// `/sys/kernel/debug/vcam/faults`: reads as `key=value` lines; a write of `key=value` pairs (space-separated)
/// sets those faults. All pairs are checked before any applies.
fn faults_show(dev: &Arc<VcamDevice>, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    let x = dev.vcam.faults();
    writeln!(f, "fail_nth={}", x.fail_nth)?;
    writeln!(f, "stuck_busy={}", u8::from(x.stuck_busy))?;
    writeln!(f, "lose_events={}", x.lose_events)?;
    writeln!(f, "slow_us={}", x.slow_us)?;
    writeln!(f, "hang={}", u8::from(x.hang))?;
    writeln!(f, "removed={}", u8::from(x.removed))
}

fn faults_store(dev: &Arc<VcamDevice>, r: &mut UserSliceReader) -> Result {
    let buf = read_write(r, 256)?;
    let text = core::str::from_utf8(&buf).map_err(|_| EINVAL)?;
    let mut new = dev.vcam.faults();
    let mut remove = false;
    let mut any = false;
    for pair in text.split_ascii_whitespace() {
        let (key, value) = pair.split_once('=').ok_or(EINVAL)?;
        let v: u32 = value.parse().map_err(|_| EINVAL)?;
        let flag = || match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(EINVAL),
        };
        match key {
            "fail_nth" => new.fail_nth = v,
            "stuck_busy" => new.stuck_busy = flag()?,
            "lose_events" => new.lose_events = v,
            "slow_us" if v <= MAX_SLOW_US => new.slow_us = v,
            "hang" => new.hang = flag()?,
            // Removal cannot be undone (reload the module).
            "remove" if v == 1 => remove = true,
            _ => return Err(EINVAL),
        }
        any = true;
    }
    if !any {
        return Err(EINVAL);
    }
    dev.vcam.set_faults(|f| {
        *f = Faults {
            removed: f.removed || remove,
            ..new
        }
    });
    if remove {
        // Surprise removal: the camera is unregistered under its users' feet. (Taken out of the lock first:
        // unregistering waits for the running list, which may be in a vcam access.)
        let registration = dev.registration.lock().take();
        drop(registration);
    }
    Ok(())
}
