// SPDX-License-Identifier: GPL-2.0

//! KCAM: camera entities and operation lists, with vcam, a virtual camera to test it.
//!
//! `/dev/kcam0` (mode 0600, root: grant access with a udev rule) speaks the uAPI of
//! `include/uapi/linux/kcam.h`: `KCAM_IOC_QUERY_CAPS`, `KCAM_IOC_ENUM_ENTITY`, `KCAM_IOC_ENUM_REG`,
//! `KCAM_IOC_SUBMIT` (synchronous, or `TEST_ONLY`), `KCAM_IOC_SUBSCRIBE`/`UNSUBSCRIBE`/`DQEVENT` and
//! `KCAM_IOC_RESET`. A submitted list is validated whole before anything runs; lists of all open files run one
//! at a time, in submission order. Each file has its own event subscriptions and queue.
//!
//! Not implemented yet, and refused rather than faked: asynchronous submission and fences (`EOPNOTSUPP` for
//! `KCAM_SUBMIT_ASYNC`, `KCAM_IOC_WAIT`: `ENOTTY`), `WAIT_FENCE` (`EOPNOTSUPP`) and fault injection.

use kernel::{
    fs::File,
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
    transmute::{AsBytes, FromBytes},
    uaccess::{UserPtr, UserSlice},
};

mod camera;
mod events;
mod vcam;

/// The uAPI and the validator, shared with the host crate `tools/kcam` (which tests them against the C header).
#[allow(unreachable_pub, dead_code, missing_docs)]
#[path = "shared/uapi.rs"]
mod uapi;
#[allow(unreachable_pub, dead_code)]
#[path = "shared/validate.rs"]
mod validate;

mod shared {
    pub(crate) use super::{uapi, validate};
}

use camera::Camera;
use events::{EventHub, FileEvents};
use uapi::{Caps, EntityDesc, Event, EventSub, Op, RegDesc, Reset, Submit};
use vcam::Vcam;

// The uAPI structs are `repr(C)` integers and integer arrays with explicit padding (the invariant of
// `shared/uapi.rs`): every bit pattern is valid, and none has padding bytes or pointers.
// SAFETY: See above.
unsafe impl FromBytes for Caps {}
// SAFETY: See above.
unsafe impl AsBytes for Caps {}
// SAFETY: See above.
unsafe impl FromBytes for EntityDesc {}
// SAFETY: See above.
unsafe impl AsBytes for EntityDesc {}
// SAFETY: See above.
unsafe impl FromBytes for RegDesc {}
// SAFETY: See above.
unsafe impl AsBytes for RegDesc {}
// SAFETY: See above.
unsafe impl FromBytes for Op {}
// SAFETY: See above.
unsafe impl AsBytes for Op {}
// SAFETY: See above.
unsafe impl FromBytes for Submit {}
// SAFETY: See above.
unsafe impl AsBytes for Submit {}
// SAFETY: See above.
unsafe impl FromBytes for Reset {}
// SAFETY: See above.
unsafe impl FromBytes for EventSub {}
// SAFETY: See above.
unsafe impl AsBytes for Event {}

module! {
    type: KcamModule,
    name: "kcam",
    authors: ["rfl-bringup developers"],
    description: "KCAM camera entities and operation lists, with the vcam virtual camera",
    license: "GPL",
    params: {
        fps: u32 {
            default: 30,
            description: "vcam frame rate while streaming (1..=120)",
        },
    },
}

/// Most operations in one submission.
const MAX_OPS: u32 = 256;
/// Longest parameter buffer.
const MAX_PARAM_BYTES: u32 = 64 * 1024;

/// A camera device: the camera and the lock that runs lists one at a time.
#[pin_data]
struct KcamDevice {
    camera: Camera<Arc<Vcam>>,
    vcam: Arc<Vcam>,
    /// Held while a list runs; counts submissions (their sequence numbers).
    #[pin]
    exec: Mutex<u64>,
}

kernel::sync::global_lock! {
    // SAFETY: Initialized in `KcamModule::init` before the device is registered.
    unsafe(uninit) static DEVICE: Mutex<Option<Arc<KcamDevice>>> = None;
}

fn copy_name(dst: &mut [u8; uapi::NAME_LEN], src: &CStr) {
    let b = src.to_bytes();
    let n = b.len().min(uapi::NAME_LEN - 1);
    dst[..n].copy_from_slice(&b[..n]);
}

impl KcamDevice {
    fn caps(&self) -> Caps {
        Caps {
            api_version: uapi::API_VERSION,
            // CAST: a static table of a handful of entities.
            num_entities: self.camera.entities.len() as u32,
            max_ops: MAX_OPS,
            max_param_bytes: MAX_PARAM_BYTES,
            max_pending: 0,
            // CAST: a small constant.
            max_events: events::QUEUE_LEN as u32,
            ..Caps::default()
        }
    }

    fn enum_entity(&self, d: &mut EntityDesc) -> Result {
        if d.reserved0 != 0 || d.reserved != [0; 2] {
            return Err(EINVAL);
        }
        let e = self.camera.entities.get(d.index as usize).ok_or(EINVAL)?;
        *d = EntityDesc {
            id: e.id,
            parent_id: e.parent,
            type_: e.type_ as u32,
            // CAST: a static table of a handful of registers.
            num_regs: e.regs.len() as u32,
            reg_width: e.reg_width,
            event_mask: e.events,
            ..EntityDesc::query(d.index)
        };
        copy_name(&mut d.name, e.name);
        Ok(())
    }

    fn enum_reg(&self, d: &mut RegDesc) -> Result {
        if d.reserved0 != 0 || d.reserved != [0; 2] {
            return Err(EINVAL);
        }
        let e = self
            .camera
            .entities
            .iter()
            .find(|e| e.id == d.entity_id)
            .ok_or(ENOENT)?;
        let r = e.regs.get(d.reg as usize).ok_or(ENOENT)?;
        d.access = r.access;
        d.writable_mask = r.writable_mask;
        d.reset_value = r.reset;
        d.name = [0; uapi::NAME_LEN];
        copy_name(&mut d.name, r.name);
        Ok(())
    }

    /// `KCAM_IOC_SUBMIT`: validate the whole list, then (unless `TEST_ONLY`) run it and write the results back.
    fn submit(&self, s: &mut Submit) -> Result {
        let reserved_zero = s.reserved0 == 0 && s.reserved == [0; 2];
        let count = s.count;
        s.error_idx = count;
        s.error_reason = uapi::Reason::None as u32;
        s.out_fence_fd = -1;
        let reject = |s: &mut Submit, r: validate::Rejection| {
            s.error_idx = r.index;
            s.error_reason = r.reason as u32;
            Error::from_errno(-r.errno)
        };
        if let Err(r) = validate::check_submit(s.flags, count, reserved_zero, &self.camera.limits) {
            return Err(reject(s, r));
        }
        if s.flags & uapi::SUBMIT_ASYNC != 0 {
            return Err(EOPNOTSUPP);
        }
        let bytes = (count as usize)
            .checked_mul(core::mem::size_of::<Op>())
            .ok_or(E2BIG)?;
        let ptr = UserPtr::from_addr(usize::try_from(s.ops_ptr).map_err(|_| EFAULT)?);
        let mut reader = UserSlice::new(ptr, bytes).reader();
        let mut ops = KVVec::with_capacity(count as usize, GFP_KERNEL)?;
        for _ in 0..count {
            ops.push(reader.read::<Op>()?, GFP_KERNEL)?;
        }
        if let Err(r) = self.camera.validate(&ops) {
            return Err(reject(s, r));
        }
        if s.flags & uapi::SUBMIT_TEST_ONLY != 0 {
            return Ok(());
        }
        let failed = {
            let mut seq = self.exec.lock();
            *seq += 1;
            s.seqno = *seq;
            self.camera.run(&mut ops)
        };
        let mut writer = UserSlice::new(ptr, bytes).writer();
        for op in ops.iter() {
            writer.write(op)?;
        }
        if let Some(i) = failed {
            // CAST: `i` < `count`, a u32.
            s.error_idx = i as u32;
        }
        Ok(())
    }
}

/// Per-open state: files share the camera, not their event subscriptions and queues.
struct KcamFile {
    dev: Arc<KcamDevice>,
    events: Arc<FileEvents>,
}

impl Drop for KcamFile {
    fn drop(&mut self) {
        self.dev.camera.events.close(&self.events);
    }
}

impl KcamDevice {
    /// The index of entity `id` if it emits `event`.
    fn event_source(&self, sub: &EventSub) -> Result<usize> {
        if sub.reserved != [0; 2] {
            return Err(EINVAL);
        }
        let idx = self
            .camera
            .entities
            .iter()
            .position(|e| e.id == sub.entity_id)
            .ok_or(ENOENT)?;
        if sub.event >= uapi::EVENT_COUNT
            || self.camera.entities[idx].events & (1 << sub.event) == 0
        {
            return Err(EINVAL);
        }
        Ok(idx)
    }
}

#[vtable]
impl MiscDevice for KcamFile {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        let dev = DEVICE.lock().clone().ok_or(ENODEV)?;
        let events = dev.camera.events.open()?;
        Ok(KBox::pin(KcamFile { dev, events }, GFP_KERNEL)?)
    }

    fn ioctl(me: Pin<&KcamFile>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let dev = &me.dev;
        let user = |size: usize| UserSlice::new(UserPtr::from_addr(arg), size);
        match cmd {
            uapi::IOC_QUERY_CAPS => user(core::mem::size_of::<Caps>())
                .writer()
                .write(&dev.caps())?,
            uapi::IOC_ENUM_ENTITY => {
                let (mut r, mut w) = user(core::mem::size_of::<EntityDesc>()).reader_writer();
                let mut d = r.read::<EntityDesc>()?;
                dev.enum_entity(&mut d)?;
                w.write(&d)?;
            }
            uapi::IOC_ENUM_REG => {
                let (mut r, mut w) = user(core::mem::size_of::<RegDesc>()).reader_writer();
                let mut d = r.read::<RegDesc>()?;
                dev.enum_reg(&mut d)?;
                w.write(&d)?;
            }
            uapi::IOC_SUBMIT => {
                let (mut r, mut w) = user(core::mem::size_of::<Submit>()).reader_writer();
                let mut s = r.read::<Submit>()?;
                let res = dev.submit(&mut s);
                // The outcome fields (error_idx, error_reason, seqno) go back even when the ioctl fails.
                w.write(&s)?;
                res?;
            }
            uapi::IOC_SUBSCRIBE | uapi::IOC_UNSUBSCRIBE => {
                let sub = user(core::mem::size_of::<EventSub>())
                    .reader()
                    .read::<EventSub>()?;
                let idx = dev.event_source(&sub)?;
                me.events
                    .subscribe(idx, sub.event, cmd == uapi::IOC_SUBSCRIBE)?;
            }
            uapi::IOC_DQEVENT => {
                user(core::mem::size_of::<Event>())
                    .writer()
                    .write(&me.events.dequeue()?)?;
            }
            uapi::IOC_RESET => {
                let reset = user(core::mem::size_of::<Reset>())
                    .reader()
                    .read::<Reset>()?;
                if reset.flags != 0 || reset.reserved0 != 0 || reset.reserved != [0; 2] {
                    return Err(EINVAL);
                }
                // Waits for a running list, then puts every register back.
                let _exec = dev.exec.lock();
                dev.vcam.reset();
            }
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }
}

/// Clears the global device when the module goes (after the misc device, see the field order).
struct DeviceGuard;

impl Drop for DeviceGuard {
    fn drop(&mut self) {
        let dev = DEVICE.lock().take();
        if let Some(dev) = &dev {
            // The frame generator holds the camera and runs module code: stop it before the module goes.
            dev.vcam.shutdown();
        }
        drop(dev);
    }
}

#[pin_data]
struct KcamModule {
    // Fields are dropped in declaration order: no new open after the misc device goes; open files keep their
    // reference to the device (and the module: the misc device's file operations name it as owner).
    #[pin]
    _misc: MiscDeviceRegistration<KcamFile>,
    _guard: DeviceGuard,
}

impl kernel::InPlaceModule for KcamModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _guard: {
                // SAFETY: Called once, at module init, before anything else uses `DEVICE`.
                unsafe { DEVICE.init() };
                let events = EventHub::new(vcam::ENTITIES.len())?;
                let vcam = Vcam::new(events.clone(), module_parameters::fps.value())?;
                let dev = Arc::pin_init(
                    try_pin_init!(KcamDevice {
                        camera: Camera {
                            entities: &vcam::ENTITIES,
                            limits: validate::Limits { max_ops: MAX_OPS, max_param_bytes: MAX_PARAM_BYTES },
                            backend: vcam.clone(),
                            events,
                        },
                        vcam,
                        exec <- new_mutex!(0, "KcamDevice::exec"),
                    }),
                    GFP_KERNEL,
                )?;
                *DEVICE.lock() = Some(dev);
                DeviceGuard
            },
            _misc <- MiscDeviceRegistration::register(MiscDeviceOptions { name: c"kcam0" }),
        })
    }
}

#[kunit_tests(kcam_core)]
mod tests {
    use super::*;
    use crate::camera::Backend;

    fn device() -> Result<Arc<KcamDevice>> {
        let events = EventHub::new(vcam::ENTITIES.len())?;
        let vcam = Vcam::new(events.clone(), 100)?;
        Arc::pin_init(
            try_pin_init!(KcamDevice {
                camera: Camera {
                    entities: &vcam::ENTITIES,
                    limits: validate::Limits { max_ops: 4, max_param_bytes: 16 },
                    backend: vcam.clone(),
                    events,
                },
                vcam,
                exec <- new_mutex!(0, "test exec"),
            }),
            GFP_KERNEL,
        )
    }

    fn op(opcode: uapi::Opcode, entity: u32, reg: u32, value: u64) -> Op {
        let mut o = Op::new(opcode, entity, reg);
        o.value = value;
        o
    }

    #[test]
    fn validation_rejects_before_anything_runs() -> Result {
        let dev = device()?;
        // EXPOSURE write, then a write to the read-only CHIP_ID: nothing may run.
        let ops = [
            op(uapi::Opcode::Write, 1, 1, 500),
            op(uapi::Opcode::Write, 1, 4, 1),
        ];
        let r = dev.camera.validate(&ops);
        assert!(r.is_err_and(|r| r.index == 1 && r.reason == uapi::Reason::NotWritable));
        assert_eq!(dev.vcam.read(0, 1)?, 1000);
        Ok(())
    }

    #[test]
    fn runs_in_order_with_masks_and_dependencies() -> Result {
        let dev = device()?;
        let mut upd = op(uapi::Opcode::Update, 1, 2, 0x30);
        upd.mask = 0xf0;
        let mut poll = op(uapi::Opcode::Poll, 1, 0, 1);
        poll.mask = 1;
        poll.timeout_ns = 1_000_000;
        poll.deps[0] = 2;
        let mut after = op(uapi::Opcode::Read, 1, 1, 0);
        after.deps[0] = 3;
        let mut ops = [
            op(uapi::Opcode::Write, 1, 1, 0x1234),
            upd,
            op(uapi::Opcode::Write, 1, 0, 0),
            poll,
        ];
        assert!(dev.camera.validate(&ops).is_ok());
        // The poll cannot succeed (CTRL stays 0): it times out, and nothing depends on it here.
        let failed = dev.camera.run(&mut ops);
        assert_eq!(failed, Some(3));
        assert_eq!(ops[0].status, 0);
        assert_eq!(ops[0].result, 0x1234);
        // GAIN was 16 (0x10): the update keeps the low nibble and sets the high one.
        assert_eq!(ops[1].result, 0x30);
        assert_eq!(ops[3].status, ETIMEDOUT.to_errno());
        // A dependent of a failed op is cancelled.
        let mut chain = [ops[3], after];
        chain[0].deps[0] = uapi::NO_DEP;
        chain[0].status = 0;
        chain[0].result = 0;
        chain[1].deps[0] = 0;
        assert_eq!(dev.camera.run(&mut chain), Some(0));
        assert_eq!(chain[1].status, ECANCELED.to_errno());
        Ok(())
    }

    #[test]
    fn reset_restores_reset_values() -> Result {
        let dev = device()?;
        let mut ops = [op(uapi::Opcode::Write, 2, 1, 4)];
        dev.camera.run(&mut ops);
        assert_eq!(dev.vcam.read(1, 1)?, 4);
        dev.vcam.reset();
        assert_eq!(dev.vcam.read(1, 1)?, 2);
        Ok(())
    }

    #[test]
    fn limits_and_events_an_entity_does_not_emit() -> Result {
        let dev = device()?;
        assert!(validate::check_submit(0, 5, true, &dev.camera.limits).is_err_and(|r| r.errno == 7));
        let mut wait = op(uapi::Opcode::WaitEvent, 2, 0, 0);
        wait.timeout_ns = 1;
        // The CSI receiver emits nothing.
        assert!(dev
            .camera
            .validate(&[wait])
            .is_err_and(|r| r.reason == uapi::Reason::BadEvent));
        Ok(())
    }

    #[test]
    fn streaming_emits_frames_in_order() -> Result {
        let dev = device()?;
        let file = dev.camera.events.open()?;
        file.subscribe(0, uapi::EventType::FrameEnd as u32, true)?;
        let mut wait = op(uapi::Opcode::WaitEvent, 1, 0, 0);
        wait.event = uapi::EventType::FrameEnd as u32;
        wait.timeout_ns = 2_000_000_000;
        let mut ops = [
            op(uapi::Opcode::Write, 1, 0, 1),
            wait,
            wait,
            op(uapi::Opcode::Read, 1, 5, 0),
        ];
        assert!(dev.camera.validate(&ops).is_ok());
        let failed = dev.camera.run(&mut ops);
        // Stop the generator before anything can fail below: it must not outlive the test.
        dev.vcam.shutdown();
        assert_eq!(failed, None);
        // Two frames ended: the frame counter shows at least two.
        assert!(ops[3].result >= 2);
        let first = file.dequeue()?;
        let second = file.dequeue()?;
        assert_eq!(second.sequence, first.sequence + 1);
        assert!(second.timestamp_ns > first.timestamp_ns);
        assert_eq!(first.entity_id, 1);
        dev.camera.events.close(&file);
        Ok(())
    }
}
