// SPDX-License-Identifier: GPL-2.0

//! vcam: a virtual camera for testing KCAM: sensor → CSI receiver → ISP → DMA writer, with memory-backed
//! registers. Writes keep the read-only bits; a parameter buffer sent to the ISP bumps `PARAMS_SEQ`, records its
//! length and folds its bytes into `PARAMS_SUM`, so a test can see that it arrived intact.

use crate::{
    camera::{Backend, EntitySpec, RegSpec},
    shared::uapi::{EntityType, ACCESS_READ, ACCESS_WRITE},
};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
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

/// Entity index of the ISP in [`ENTITIES`], and its parameter registers.
const ISP: usize = 2;
const ISP_PARAMS_SEQ: usize = 1;
const ISP_PARAMS_LEN: usize = 2;
const ISP_PARAMS_SUM: usize = 3;

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
        ],
        events: 0,
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
        ],
        events: 0,
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

/// vcam's registers.
#[pin_data]
pub(crate) struct Vcam {
    #[pin]
    regs: Mutex<Regs>,
}

impl Vcam {
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self { regs <- new_mutex!(reset_values(), "Vcam::regs") }),
            GFP_KERNEL,
        )
    }

    /// Puts every register back to its reset value.
    pub(crate) fn reset(&self) {
        *self.regs.lock() = reset_values();
    }
}

impl Backend for Arc<Vcam> {
    fn read(&self, idx: usize, reg: u32) -> Result<u64> {
        self.regs
            .lock()
            .get(idx)
            .and_then(|e| e.get(reg as usize))
            .copied()
            .ok_or(ENOENT)
    }

    fn write(&self, idx: usize, reg: u32, value: u64) -> Result {
        let mut regs = self.regs.lock();
        let slot = regs
            .get_mut(idx)
            .and_then(|e| e.get_mut(reg as usize))
            .ok_or(ENOENT)?;
        *slot = value;
        Ok(())
    }

    fn xfer_param(&self, idx: usize, data: &[u8]) -> Result {
        if idx != ISP {
            // Only the ISP takes parameters.
            return Err(EINVAL);
        }
        let sum = data.iter().fold(0u64, |a, b| a.wrapping_add(u64::from(*b)));
        let mut regs = self.regs.lock();
        let isp = &mut regs[ISP];
        isp[ISP_PARAMS_SEQ] = isp[ISP_PARAMS_SEQ].wrapping_add(1) & 0xffff_ffff;
        isp[ISP_PARAMS_LEN] = data.len() as u64;
        isp[ISP_PARAMS_SUM] = sum & 0xffff_ffff;
        Ok(())
    }
}
