// SPDX-License-Identifier: GPL-2.0

//! Camera registration: a driver's camera becomes a [`KcamDevice`] with its device node `/dev/kcamN`.
//!
//! The node's misc registration is embedded, with the device it serves, in a [`Node`]; `open` finds the device
//! through the registration it is given (`container_of!`), not by looking it up.

use crate::{
    camera::{Backend, CameraCtx, EntitySpec},
    device::{KcamDevice, MAX_OPS, MAX_PARAM_BYTES},
    file::KcamFile,
    shared::validate,
};
use kernel::{
    miscdevice::{MiscDeviceOptions, MiscDeviceRegistration},
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc,
    },
};

/// Device node names, by slot.
const NODE_NAMES: [&CStr; 4] = [c"kcam0", c"kcam1", c"kcam2", c"kcam3"];

/// Bit n: slot n (`/dev/kcamN`) is taken.
static SLOTS: Atomic<u32> = Atomic::new(0);

/// Takes the lowest free slot (`EBUSY`: all taken).
fn take_slot() -> Result<usize> {
    let mut taken = SLOTS.load(Relaxed);
    loop {
        let slot = (0..NODE_NAMES.len())
            .find(|i| taken & (1 << i) == 0)
            .ok_or(EBUSY)?;
        match SLOTS.cmpxchg(taken, taken | (1 << slot), Relaxed) {
            Ok(_) => return Ok(slot),
            Err(now) => taken = now,
        }
    }
}

fn release_slot(slot: usize) {
    let mut taken = SLOTS.load(Relaxed);
    while let Err(now) = SLOTS.cmpxchg(taken, taken & !(1 << slot), Relaxed) {
        taken = now;
    }
}

/// A device node and the camera it serves.
///
/// # Invariants
///
/// Every `MiscDeviceRegistration<KcamFile>` is the `misc` field of a `Node` (only [`register`] creates them).
#[pin_data]
struct Node {
    /// Initialized before `misc` (fields initialize in declaration order), so an `open` racing with the
    /// registration finds it.
    dev: Arc<KcamDevice>,
    #[pin]
    misc: MiscDeviceRegistration<KcamFile>,
}

/// The camera of the device node `misc` that `open` was called for.
pub(crate) fn device_of(misc: &MiscDeviceRegistration<KcamFile>) -> Result<Arc<KcamDevice>> {
    let misc = core::ptr::from_ref(misc).cast_mut();
    // SAFETY: By the type invariant of `Node`, `misc` points at the `misc` field of a `Node`, so the container
    // pointer is within the same allocation.
    let node = unsafe { kernel::container_of!(misc, Node, misc) };
    // SAFETY: `open` runs while the misc device is registered (under the misc core's lock, which
    // deregistration takes), so the `Node` holding it is alive and pinned.
    Ok(unsafe { &*node }.dev.clone())
}

/// A registered camera with its device node `/dev/kcamN`. Dropping it unregisters the camera, which is a
/// removal for anyone still using it: running and queued lists end with `-ENODEV`, every ioctl of a file still
/// open fails with `-ENODEV`, the node goes; when this returns, the core no longer calls the backend.
pub(crate) struct Registration {
    dev: Arc<KcamDevice>,
    node: Option<Pin<KBox<Node>>>,
    slot: usize,
}

/// Registers a camera: the driver's entity tree, the context it was built with, and its register accessors. The
/// node appears last, when nothing can fail any more.
pub(crate) fn register(
    entities: &'static [EntitySpec],
    ctx: CameraCtx,
    backend: KBox<dyn Backend>,
) -> Result<Registration> {
    let limits = validate::Limits {
        max_ops: MAX_OPS,
        max_param_bytes: MAX_PARAM_BYTES,
    };
    let slot = take_slot()?;
    let name = NODE_NAMES[slot];
    let node = KcamDevice::new(entities, ctx, backend, limits, name).and_then(|dev| {
        KBox::pin_init(
            try_pin_init!(Node {
                dev,
                misc <- MiscDeviceRegistration::register(MiscDeviceOptions { name }),
            }),
            GFP_KERNEL,
        )
    });
    match node {
        Ok(node) => Ok(Registration {
            dev: node.dev.clone(),
            node: Some(node),
            slot,
        }),
        Err(e) => {
            release_slot(slot);
            Err(e)
        }
    }
}

impl Registration {
    /// The registered camera (tests).
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn device(&self) -> &Arc<KcamDevice> {
        &self.dev
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // No new open gets past `check_present`; lists in flight end with ENODEV.
        self.dev.remove();
        // The node goes; open files keep the device (and this module) alive.
        drop(self.node.take());
        // The worker runs module code: wait for it.
        self.dev.flush();
        release_slot(self.slot);
    }
}
