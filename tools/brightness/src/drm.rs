// SPDX-License-Identifier: GPL-2.0

//! The few DRM mode-setting ioctls `drmbright` needs (include/uapi/drm/drm.h, drm_mode.h), without libdrm.

use std::{fs::File, io, os::fd::AsRawFd, path::Path};

const fn iowr(nr: u32, size: usize) -> u64 {
    ((3u32 << 30) | ((size as u32) << 16) | ((b'd' as u32) << 8) | nr) as u64
}

/// `DRM_MODE_OBJECT_CONNECTOR`.
pub const OBJECT_CONNECTOR: u32 = 0xc0c0_c0c0;
/// `DRM_MODE_ATOMIC_TEST_ONLY`.
pub const ATOMIC_TEST_ONLY: u32 = 0x0100;
const CLIENT_CAP_ATOMIC: u64 = 3;

#[repr(C)]
#[derive(Default)]
struct CardRes {
    fb_id_ptr: u64,
    crtc_id_ptr: u64,
    connector_id_ptr: u64,
    encoder_id_ptr: u64,
    count_fbs: u32,
    count_crtcs: u32,
    count_connectors: u32,
    count_encoders: u32,
    min_width: u32,
    max_width: u32,
    min_height: u32,
    max_height: u32,
}

#[repr(C)]
#[derive(Default)]
struct ObjGetProperties {
    props_ptr: u64,
    prop_values_ptr: u64,
    count_props: u32,
    obj_id: u32,
    obj_type: u32,
    pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetProperty {
    values_ptr: u64,
    enum_blob_ptr: u64,
    prop_id: u32,
    flags: u32,
    name: [u8; 32],
    count_values: u32,
    count_enum_blobs: u32,
}

#[repr(C)]
#[derive(Default)]
struct ObjSetProperty {
    value: u64,
    prop_id: u32,
    obj_id: u32,
    obj_type: u32,
    pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct Atomic {
    flags: u32,
    count_objs: u32,
    objs_ptr: u64,
    count_props_ptr: u64,
    props_ptr: u64,
    prop_values_ptr: u64,
    reserved: u64,
    user_data: u64,
}

#[repr(C)]
struct SetClientCap {
    capability: u64,
    value: u64,
}

const IOCTL_SET_CLIENT_CAP: u64 = 0x4010_640d;
const IOCTL_MODE_GETRESOURCES: u64 = iowr(0xa0, std::mem::size_of::<CardRes>());
const IOCTL_MODE_GETPROPERTY: u64 = iowr(0xaa, std::mem::size_of::<GetProperty>());
const IOCTL_MODE_OBJ_GETPROPERTIES: u64 = iowr(0xb9, std::mem::size_of::<ObjGetProperties>());
const IOCTL_MODE_OBJ_SETPROPERTY: u64 = iowr(0xba, std::mem::size_of::<ObjSetProperty>());
const IOCTL_MODE_ATOMIC: u64 = iowr(0xbc, std::mem::size_of::<Atomic>());

/// An open DRM card.
pub struct Card {
    file: File,
}

/// One property of an object: id, name, value, flags.
#[derive(Debug, Clone)]
pub struct Property {
    pub id: u32,
    pub name: String,
    pub value: u64,
    pub flags: u32,
}

fn ioctl<T>(file: &File, cmd: u64, arg: &mut T) -> io::Result<()> {
    loop {
        // SAFETY: `arg` is a live `T` of the size the ioctl number encodes; pointers inside it point to live
        // buffers of the counts given.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), cmd as _, arg as *mut T) };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        // libdrm's drmIoctl retries these too.
        if !matches!(e.raw_os_error(), Some(libc::EINTR | libc::EAGAIN)) {
            return Err(e);
        }
    }
}

impl Card {
    pub fn open(path: &Path) -> io::Result<Self> {
        Ok(Self {
            file: File::options().read(true).write(true).open(path)?,
        })
    }

    /// Asks for atomic mode-setting (needed for `atomic_set`).
    pub fn enable_atomic(&self) -> io::Result<()> {
        let mut cap = SetClientCap {
            capability: CLIENT_CAP_ATOMIC,
            value: 1,
        };
        ioctl(&self.file, IOCTL_SET_CLIENT_CAP, &mut cap)
    }

    pub fn connectors(&self) -> io::Result<Vec<u32>> {
        let mut res = CardRes::default();
        ioctl(&self.file, IOCTL_MODE_GETRESOURCES, &mut res)?;
        let mut ids = vec![0u32; res.count_connectors as usize];
        let mut res2 = CardRes {
            connector_id_ptr: ids.as_mut_ptr() as u64,
            count_connectors: res.count_connectors,
            ..CardRes::default()
        };
        ioctl(&self.file, IOCTL_MODE_GETRESOURCES, &mut res2)?;
        ids.truncate(res2.count_connectors.min(res.count_connectors) as usize);
        Ok(ids)
    }

    /// Every property of a connector with its current value.
    pub fn properties(&self, connector: u32) -> io::Result<Vec<Property>> {
        let mut q = ObjGetProperties {
            obj_id: connector,
            obj_type: OBJECT_CONNECTOR,
            ..Default::default()
        };
        ioctl(&self.file, IOCTL_MODE_OBJ_GETPROPERTIES, &mut q)?;
        let n = q.count_props as usize;
        let (mut ids, mut values) = (vec![0u32; n], vec![0u64; n]);
        let mut q = ObjGetProperties {
            props_ptr: ids.as_mut_ptr() as u64,
            prop_values_ptr: values.as_mut_ptr() as u64,
            count_props: n as u32,
            obj_id: connector,
            obj_type: OBJECT_CONNECTOR,
            pad: 0,
        };
        ioctl(&self.file, IOCTL_MODE_OBJ_GETPROPERTIES, &mut q)?;
        let n = n.min(q.count_props as usize);
        let mut out = Vec::with_capacity(n);
        for (id, value) in ids.into_iter().zip(values).take(n) {
            let mut p = GetProperty {
                prop_id: id,
                ..Default::default()
            };
            ioctl(&self.file, IOCTL_MODE_GETPROPERTY, &mut p)?;
            let name = String::from_utf8_lossy(p.name.split(|c| *c == 0).next().unwrap_or(&[]))
                .into_owned();
            out.push(Property {
                id,
                name,
                value,
                flags: p.flags,
            });
        }
        Ok(out)
    }

    /// Legacy `DRM_IOCTL_MODE_OBJ_SETPROPERTY`.
    pub fn set_property(&self, connector: u32, prop: u32, value: u64) -> io::Result<()> {
        let mut s = ObjSetProperty {
            value,
            prop_id: prop,
            obj_id: connector,
            obj_type: OBJECT_CONNECTOR,
            pad: 0,
        };
        ioctl(&self.file, IOCTL_MODE_OBJ_SETPROPERTY, &mut s)
    }

    /// An atomic commit of one connector property (`flags`: e.g. [`ATOMIC_TEST_ONLY`]).
    pub fn atomic_set(&self, connector: u32, prop: u32, value: u64, flags: u32) -> io::Result<()> {
        let (mut objs, mut counts, mut props, mut values) = ([connector], [1u32], [prop], [value]);
        let mut a = Atomic {
            flags,
            count_objs: 1,
            objs_ptr: objs.as_mut_ptr() as u64,
            count_props_ptr: counts.as_mut_ptr() as u64,
            props_ptr: props.as_mut_ptr() as u64,
            prop_values_ptr: values.as_mut_ptr() as u64,
            ..Default::default()
        };
        ioctl(&self.file, IOCTL_MODE_ATOMIC, &mut a)
    }
}
