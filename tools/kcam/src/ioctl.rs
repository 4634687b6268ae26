// SPDX-License-Identifier: GPL-2.0
//! The KCAM ioctl numbers, built with the C library's `_IOR`/`_IOW`/`_IOWR` for the target architecture (the
//! encoding differs on powerpc, mips, sparc and alpha), from the numbers and argument types of `uapi.rs`. The
//! host tests compare them with the C header's `KCAM_IOC_*` compiled by a C compiler.

use crate::uapi::*;
use libc::{Ioctl, _IOR, _IOW, _IOWR};

/// `KCAM_IOC_QUERY_CAPS`.
pub const IOC_QUERY_CAPS: Ioctl = _IOR::<Caps>(IOC_MAGIC, IOC_NR_QUERY_CAPS);
/// `KCAM_IOC_ENUM_ENTITY`.
pub const IOC_ENUM_ENTITY: Ioctl = _IOWR::<EntityDesc>(IOC_MAGIC, IOC_NR_ENUM_ENTITY);
/// `KCAM_IOC_ENUM_REG`.
pub const IOC_ENUM_REG: Ioctl = _IOWR::<RegDesc>(IOC_MAGIC, IOC_NR_ENUM_REG);
/// `KCAM_IOC_SUBMIT`.
pub const IOC_SUBMIT: Ioctl = _IOWR::<Submit>(IOC_MAGIC, IOC_NR_SUBMIT);
/// `KCAM_IOC_WAIT`.
pub const IOC_WAIT: Ioctl = _IOWR::<Wait>(IOC_MAGIC, IOC_NR_WAIT);
/// `KCAM_IOC_SUBSCRIBE`.
pub const IOC_SUBSCRIBE: Ioctl = _IOW::<EventSub>(IOC_MAGIC, IOC_NR_SUBSCRIBE);
/// `KCAM_IOC_UNSUBSCRIBE`.
pub const IOC_UNSUBSCRIBE: Ioctl = _IOW::<EventSub>(IOC_MAGIC, IOC_NR_UNSUBSCRIBE);
/// `KCAM_IOC_DQEVENT`.
pub const IOC_DQEVENT: Ioctl = _IOR::<Event>(IOC_MAGIC, IOC_NR_DQEVENT);
/// `KCAM_IOC_RESET`.
pub const IOC_RESET: Ioctl = _IOW::<Reset>(IOC_MAGIC, IOC_NR_RESET);
/// `KCAM_IOC_CANCEL`.
pub const IOC_CANCEL: Ioctl = _IOW::<Cancel>(IOC_MAGIC, IOC_NR_CANCEL);
/// `KCAM_IOC_IMPORT_BUFFER`.
pub const IOC_IMPORT_BUFFER: Ioctl = _IOWR::<BufferImport>(IOC_MAGIC, IOC_NR_IMPORT_BUFFER);
/// `KCAM_IOC_RELEASE_BUFFER`.
pub const IOC_RELEASE_BUFFER: Ioctl = _IOW::<BufferRelease>(IOC_MAGIC, IOC_NR_RELEASE_BUFFER);
