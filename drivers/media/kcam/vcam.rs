// SPDX-License-Identifier: GPL-2.0

//! vcam: a virtual camera for testing KCAM: sensor → CSI receiver → ISP → DMA writer, with memory-backed
//! registers, rendering real frames (`include/uapi/linux/vcam.h`, `shared/frame.rs`). Writes keep the read-only
//! bits; a parameter buffer sent to the ISP bumps `PARAMS_SEQ`, records its length and folds its bytes into
//! `PARAMS_SUM`, so a test can see that it arrived intact; one that is a `struct vcam_isp_params` also sets the
//! ISP's black level and white-balance gains (its read-only `BLACK_LEVEL`, `WB_GAIN_*` registers).
//!
//! Streaming: setting the sensor's `CTRL` bit 0 starts a frame generator at `fps` frames per second (a
//! high-resolution timer, forwarded by exact half periods, so the rate does not drift). Each frame bumps the
//! sensor's `FRAME_COUNT` and emits FRAME_START, latching the sensor's settings and the ISP's parameters into the
//! frame's job for the render work (`vcam_pipeline.rs`), and half a period later FRAME_END. The rendered frame goes
//! into the buffer queued on vcam-dma, its statistics into the one queued on vcam-isp (both announced with
//! BUFFER_DONE), the ISP's `STATS_SUM` takes the frame's raw sum and STATS_READY is emitted. Clearing the bit
//! stops it. New `EXPOSURE` or `GAIN` values written while streaming are latched at the next frame start; until
//! then the sensor's `STATUS` bit 0 (`BUSY`) is set, so a list can `POLL` for it. `WIDTH`, `HEIGHT` and the DMA
//! writer's `FORMAT` change only while not streaming and with no image buffer queued (`EBUSY`); values vcam does
//! not support are `EINVAL` and change nothing.
//!
//! Fault injection ([`Faults`], set through debugfs by the core, deterministic):
//! - `fail_nth` = N: the Nth register or parameter access from now fails with `EIO` (once);
//! - `stuck_busy`: `STATUS.BUSY` stays set, so a `POLL` for it times out;
//! - `lose_events` = N: the next N frames end without FRAME_END and STATS_READY, and write no buffer (a lost
//!   interrupt: their buffers stay queued; the frame counter still advances, so FRAME_START's data shows the gap);
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
    buffer::Buffer,
    camera::{Backend, CameraCtx, EntitySpec, RegSpec, RunCtx},
    events::EventHub,
    limits::Limits,
    owned_debugfs::{read_write, Dir, File, Ops},
    shared::{
        frame::{self, IspConfig, SensorConfig},
        uapi::{EntityType, EventType, ACCESS_READ, ACCESS_WRITE},
        vcam_uapi::{self, Stats},
    },
    vcam_pipeline::{Entities, FrameSetup, Pipeline, Sink},
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
const SENSOR_TEST_PATTERN: usize = 3;
const SENSOR_FRAME_COUNT: usize = 5;
const SENSOR_STATUS: usize = 6;
const SENSOR_WIDTH: usize = 7;
const SENSOR_HEIGHT: usize = 8;
const SENSOR_ILLUMINANT: usize = 9;
const STATUS_BUSY: u64 = 1;
const ISP: usize = 2;
const ISP_PARAMS_SEQ: usize = 1;
const ISP_PARAMS_LEN: usize = 2;
const ISP_PARAMS_SUM: usize = 3;
const ISP_STATS_SUM: usize = 4;
const ISP_BLACK_LEVEL: usize = 5;
const ISP_WB_GAIN: usize = 6;
const DMA: usize = 3;
const DMA_FORMAT: usize = 2;
const DMA_STRIDE: usize = 3;
const DMA_FRAME_BYTES: usize = 4;
const DMA_FRAMES_DONE: usize = 5;
const DMA_FRAMES_DROPPED: usize = 6;
const DMA_RENDER_US: usize = 7;
const DMA_QUEUED: usize = 8;
const ISP_QUEUED: usize = 9;
const STREAM_ON: u64 = 1;
const ONE: u64 = vcam_uapi::GAIN_ONE as u64;

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
            reg(c"WIDTH", RW, 0xfff, 320),
            reg(c"HEIGHT", RW, 0x7ff, 240),
            reg(c"ILLUMINANT", RW, 0x3, vcam_uapi::ILLUM_WARM as u64),
            reg(c"BLACK_LEVEL", RO, 0, vcam_uapi::PEDESTAL as u64),
        ],
        events: (1 << EventType::FrameStart as u32) | (1 << EventType::FrameEnd as u32),
        buffers: false,
    },
    EntitySpec {
        id: 2,
        parent: 1,
        type_: EntityType::Csi,
        name: c"vcam-csi",
        reg_width: 32,
        regs: &[reg(c"CTRL", RW, 0x1, 0), reg(c"LANES", RW, 0x7, 2)],
        events: 0,
        buffers: false,
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
            reg(c"BLACK_LEVEL", RO, 0, 0),
            reg(c"WB_GAIN_R", RO, 0, ONE),
            reg(c"WB_GAIN_G", RO, 0, ONE),
            reg(c"WB_GAIN_B", RO, 0, ONE),
            reg(c"QUEUED", RO, 0, 0),
        ],
        events: (1 << EventType::StatsReady as u32) | (1 << EventType::BufferDone as u32),
        buffers: true,
    },
    EntitySpec {
        id: 4,
        parent: 3,
        type_: EntityType::Dma,
        name: c"vcam-dma",
        reg_width: 32,
        regs: &[
            reg(c"CTRL", RW, 0x1, 0),
            reg(c"ADDR", RW, 0xffff_fff0, 0),
            reg(c"FORMAT", RW, 0x3, vcam_uapi::FMT_RGB24 as u64),
            reg(c"STRIDE", RO, 0, 320 * 3),
            reg(c"FRAME_BYTES", RO, 0, 320 * 240 * 3),
            reg(c"FRAMES_DONE", RO, 0, 0),
            reg(c"FRAMES_DROPPED", RO, 0, 0),
            reg(c"RENDER_US", RO, 0, 0),
            reg(c"QUEUED", RO, 0, 0),
        ],
        events: 1 << EventType::BufferDone as u32,
        buffers: true,
    },
];

/// Register values, one array per entity.
type Regs = [[u64; 12]; 4];

fn reset_values() -> Regs {
    let mut r = [[0u64; 12]; 4];
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
    /// The current frame is lost (`lose_events`): no FRAME_END, nothing rendered.
    lost: Atomic<bool>,
    /// Buffers, frame jobs and rendering.
    pipeline: Arc<Pipeline>,
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
            if !this.lost.load(Relaxed) {
                let frame = this.regs.lock()[SENSOR][SENSOR_FRAME_COUNT];
                this.events
                    .emit(SENSOR, sensor_id, EventType::FrameEnd as u32, frame);
                this.pipeline.frame_end();
            }
        } else {
            this.settling.store(false, Relaxed);
            let lost = this.faulty.load(Relaxed) && {
                let mut f = this.faults.lock();
                let lost = f.lose_events > 0;
                f.lose_events = f.lose_events.saturating_sub(1);
                lost
            };
            this.lost.store(lost, Relaxed);
            let setup = {
                let mut r = this.regs.lock();
                r[SENSOR][SENSOR_FRAME_COUNT] = (r[SENSOR][SENSOR_FRAME_COUNT] + 1) & 0xffff_ffff;
                setup_of(&r)
            };
            this.events.emit(
                SENSOR,
                sensor_id,
                EventType::FrameStart as u32,
                u64::from(setup.sensor.frame),
            );
            if !lost {
                // Lost frames write nothing: their buffers stay queued.
                this.pipeline.frame_start(setup);
            }
        }
        // From the previous expiry, not from now: no drift.
        ctx.forward_now(this.half_period);
        HrTimerRestart::Restart
    }
}

/// A register value that fits 32 bits (registers are 32 bits wide, masks keep them so).
fn reg32(v: u64) -> u32 {
    // CAST: masked to 32 bits.
    (v & 0xffff_ffff) as u32
}

/// The frame the registers describe now (latched at each frame start).
fn setup_of(r: &Regs) -> FrameSetup {
    let s = &r[SENSOR];
    let isp = &r[ISP];
    FrameSetup {
        sensor: SensorConfig {
            width: reg32(s[SENSOR_WIDTH]),
            height: reg32(s[SENSOR_HEIGHT]),
            pattern: reg32(s[SENSOR_TEST_PATTERN]),
            illuminant: reg32(s[SENSOR_ILLUMINANT]),
            exposure: reg32(s[SENSOR_EXPOSURE]),
            gain: reg32(s[SENSOR_GAIN]),
            frame: reg32(s[SENSOR_FRAME_COUNT]),
        },
        isp: IspConfig {
            black_level: reg32(isp[ISP_BLACK_LEVEL]),
            wb_gain: [
                reg32(isp[ISP_WB_GAIN]),
                reg32(isp[ISP_WB_GAIN + 1]),
                reg32(isp[ISP_WB_GAIN + 2]),
            ],
        },
        format: reg32(r[DMA][DMA_FORMAT]),
    }
}

/// The bytes per line and per frame the registers describe now.
fn geometry(r: &Regs) -> (u64, u64) {
    let s = setup_of(r);
    let stride = frame::stride(s.format, s.sensor.width).unwrap_or(0);
    let bytes = frame::frame_bytes(s.format, s.sensor.width, s.sensor.height).unwrap_or(0);
    (u64::from(stride), bytes as u64)
}

/// Registers whose values vcam checks: the frame size and format, the pattern and the illuminant.
fn check_value(idx: usize, reg: usize, new: u64, r: &Regs) -> Result {
    let ok = match (idx, reg) {
        (SENSOR, SENSOR_WIDTH) => frame::size_ok(reg32(new), reg32(r[SENSOR][SENSOR_HEIGHT])),
        (SENSOR, SENSOR_HEIGHT) => frame::size_ok(reg32(r[SENSOR][SENSOR_WIDTH]), reg32(new)),
        (SENSOR, SENSOR_TEST_PATTERN) => new <= u64::from(vcam_uapi::PATTERN_GREY),
        (SENSOR, SENSOR_ILLUMINANT) => new <= u64::from(vcam_uapi::ILLUM_COOL),
        (DMA, DMA_FORMAT) => frame::stride(reg32(new), 1).is_some(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(EINVAL)
    }
}

/// Registers that set the frame's geometry.
fn is_geometry(idx: usize, reg: usize) -> bool {
    matches!(
        (idx, reg),
        (SENSOR, SENSOR_WIDTH) | (SENSOR, SENSOR_HEIGHT) | (DMA, DMA_FORMAT)
    )
}

impl Vcam {
    pub(crate) fn new(events: Arc<EventHub>, waker: Arc<Waker>, fps: u32) -> Result<Arc<Self>> {
        let fps = fps.clamp(1, 120);
        let entities = Entities {
            dma: (DMA, ENTITIES[DMA].id),
            isp: (ISP, ENTITIES[ISP].id),
        };
        let pipeline = Pipeline::new(events.clone(), entities)?;
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
                lost: Atomic::new(false),
                pipeline,
                tick <- HrTimer::new(),
                generator <- new_mutex!(None, "Vcam::generator"),
            }),
            GFP_KERNEL,
        )
    }

    /// Stops streaming, gives every buffer back (`BUFFER_DONE` `-ECANCELED`), puts every register back to its
    /// reset value and clears every fault but removal.
    pub(crate) fn reset(&self) {
        self.streaming.store(false, Relaxed);
        // As for a stop (`set_streaming`): no frame may start after the pipeline's reset.
        drop(self.generator.lock().take());
        self.settling.store(false, Relaxed);
        self.pipeline.reset();
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

    /// Stops the frame generator and the render work for good, lets go of every buffer, and waits until neither
    /// runs (removal, module unload, tests).
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
        self.pipeline.shutdown();
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
        } else if !on && was {
            // The timer first (cancelled, a running callback waited for): one that saw `streaming` before it was
            // cleared would otherwise start a frame after `stream_off`, take a queued buffer and write it with no
            // frame end to announce it.
            drop(self.generator.lock().take());
            self.pipeline.stream_off();
        }
    }

    /// The buffer queue of entity `idx`.
    fn sink(idx: usize) -> Option<Sink> {
        match idx {
            DMA => Some(Sink::Image),
            ISP => Some(Sink::Stats),
            _ => None,
        }
    }
}

impl Backend for Arc<Vcam> {
    fn read(&self, cx: &RunCtx<'_>, idx: usize, reg: u32) -> Result<u64> {
        self.access(cx)?;
        let p = &self.pipeline;
        let live = match (idx, reg as usize) {
            (SENSOR, SENSOR_STATUS) => {
                let busy = self.settling.load(Relaxed) || self.faults.lock().stuck_busy;
                Some(if busy { STATUS_BUSY } else { 0 })
            }
            (ISP, ISP_STATS_SUM) => Some(u64::from(p.raw_sum())),
            (ISP, ISP_QUEUED) => Some(p.queued(Sink::Stats) as u64),
            (DMA, DMA_STRIDE) => Some(geometry(&self.regs.lock()).0),
            (DMA, DMA_FRAME_BYTES) => Some(geometry(&self.regs.lock()).1),
            (DMA, DMA_FRAMES_DONE) => Some(u64::from(p.frames_done())),
            (DMA, DMA_FRAMES_DROPPED) => Some(u64::from(p.frames_dropped())),
            (DMA, DMA_RENDER_US) => Some(u64::from(p.render_us())),
            (DMA, DMA_QUEUED) => Some(p.queued(Sink::Image) as u64),
            _ => None,
        };
        if let Some(v) = live {
            return Ok(v);
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
        let reg = reg as usize;
        // Lists run one at a time, so nothing queues a buffer between this check and the write below.
        let geometry_locked = is_geometry(idx, reg)
            && (self.streaming.load(Relaxed) || self.pipeline.queued(Sink::Image) > 0);
        let new = {
            let mut regs = self.regs.lock();
            let old = *regs.get(idx).and_then(|e| e.get(reg)).ok_or(ENOENT)?;
            let new = (old & !mask) | (value & mask);
            check_value(idx, reg, new, &regs)?;
            if geometry_locked && new != old {
                return Err(EBUSY);
            }
            if let Some(slot) = regs.get_mut(idx).and_then(|e| e.get_mut(reg)) {
                *slot = new;
            }
            new
        };
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
        let params = IspConfig::parse(data).map_err(|_| EINVAL)?;
        let sum = data.iter().fold(0u64, |a, b| a.wrapping_add(u64::from(*b)));
        let mut regs = self.regs.lock();
        let isp = &mut regs[ISP];
        isp[ISP_PARAMS_SEQ] = isp[ISP_PARAMS_SEQ].wrapping_add(1) & 0xffff_ffff;
        isp[ISP_PARAMS_LEN] = data.len() as u64;
        isp[ISP_PARAMS_SUM] = sum & 0xffff_ffff;
        if let Some(p) = params {
            // Latched by the next frame start, with the sensor's settings.
            isp[ISP_BLACK_LEVEL] = u64::from(p.black_level);
            for (c, g) in p.wb_gain.iter().enumerate() {
                isp[ISP_WB_GAIN + c] = u64::from(*g);
            }
        }
        Ok(())
    }

    fn buffer_size(&self, idx: usize) -> Option<usize> {
        match Vcam::sink(idx)? {
            Sink::Image => usize::try_from(geometry(&self.regs.lock()).1).ok(),
            Sink::Stats => Some(size_of::<Stats>()),
        }
    }

    fn queue_buffer(&self, cx: &RunCtx<'_>, idx: usize, buf: &Arc<Buffer>) -> Result<u64> {
        let sink = Vcam::sink(idx).ok_or(EINVAL)?;
        self.access(cx)?;
        if buf.size() < self.buffer_size(idx).ok_or(EINVAL)? {
            return Err(ENOSPC);
        }
        self.pipeline.queue(sink, buf)
    }

    fn cancel_buffers(&self, which: &dyn Fn(&Buffer) -> bool) -> bool {
        self.pipeline.cancel(which, None)
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
