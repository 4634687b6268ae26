// SPDX-License-Identifier: GPL-2.0

//! The KCAM uAPI (`include/uapi/linux/kcam.h`) in Rust, layout for layout.
//!
//! `no_std` and free of `kernel::` imports: the kernel module includes it with `#[path]`, and the host crate
//! `tools/kcam` both uses it and checks every size and offset against the C header compiled by a C compiler.
//!
//! # Invariants
//!
//! Every struct here is `#[repr(C)]`, has the size and field offsets of its C counterpart, and has no implicit
//! padding (explicit `reserved*` fields instead), so any bit pattern is a valid value.

/// `KCAM_API_VERSION`.
pub const API_VERSION: u32 = 2;
/// `KCAM_IOC_MAGIC`.
pub const IOC_MAGIC: u32 = 0xBC;
/// `KCAM_NAME_LEN`.
pub const NAME_LEN: usize = 32;
/// `KCAM_NO_DEP`.
pub const NO_DEP: u32 = 0xffff_ffff;
/// `KCAM_MAX_DEPS`.
pub const MAX_DEPS: usize = 4;

/// `KCAM_ACCESS_READ`.
pub const ACCESS_READ: u32 = 1 << 0;
/// `KCAM_ACCESS_WRITE`.
pub const ACCESS_WRITE: u32 = 1 << 1;

/// `KCAM_SUBMIT_TEST_ONLY`.
pub const SUBMIT_TEST_ONLY: u32 = 1 << 0;
/// `KCAM_SUBMIT_ASYNC`.
pub const SUBMIT_ASYNC: u32 = 1 << 1;
/// `KCAM_SUBMIT_OUT_FENCE`.
pub const SUBMIT_OUT_FENCE: u32 = 1 << 2;
/// `KCAM_SUBMIT_FLAGS`.
pub const SUBMIT_FLAGS: u32 = SUBMIT_TEST_ONLY | SUBMIT_ASYNC | SUBMIT_OUT_FENCE;

/// `KCAM_CAP_BUFFERS`.
pub const CAP_BUFFERS: u32 = 1 << 0;
/// `KCAM_ENTITY_FLAG_BUFFERS`.
pub const ENTITY_FLAG_BUFFERS: u32 = 1 << 0;

/// `struct kcam_caps`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    pub api_version: u32,
    pub num_entities: u32,
    pub max_ops: u32,
    pub max_param_bytes: u32,
    pub max_pending: u32,
    pub max_events: u32,
    pub flags: u32,
    pub max_lists: u32,
    pub max_queued_param_bytes: u32,
    pub max_subscribers: u32,
    pub access_timeout_ns: u64,
    pub max_buffers: u32,
    pub max_file_buffers: u32,
    pub reserved: [u64; 1],
}

/// `enum kcam_entity_type`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityType {
    Sensor = 1,
    Csi = 2,
    Isp = 3,
    Dma = 4,
    Other = 5,
}

/// `enum kcam_event_type`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    FrameStart = 0,
    FrameEnd = 1,
    StatsReady = 2,
    Error = 3,
    BufferDone = 4,
}

/// `KCAM_EVENT_COUNT`.
pub const EVENT_COUNT: u32 = 5;

/// `struct kcam_entity_desc`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityDesc {
    pub index: u32,
    pub id: u32,
    pub parent_id: u32,
    pub type_: u32,
    pub num_regs: u32,
    pub reg_width: u32,
    pub event_mask: u32,
    pub flags: u32,
    pub name: [u8; NAME_LEN],
    pub reserved: [u64; 2],
}

impl EntityDesc {
    /// The input of `KCAM_IOC_ENUM_ENTITY` for entity `index`: everything else zero.
    pub const fn query(index: u32) -> Self {
        Self {
            index,
            id: 0,
            parent_id: 0,
            type_: 0,
            num_regs: 0,
            reg_width: 0,
            event_mask: 0,
            flags: 0,
            name: [0; NAME_LEN],
            reserved: [0; 2],
        }
    }
}

/// `struct kcam_reg_desc`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegDesc {
    pub entity_id: u32,
    pub reg: u32,
    pub access: u32,
    pub reserved0: u32,
    pub writable_mask: u64,
    pub reset_value: u64,
    pub name: [u8; NAME_LEN],
    pub reserved: [u64; 2],
}

impl RegDesc {
    /// The input of `KCAM_IOC_ENUM_REG` for register `reg` of entity `entity_id`: everything else zero.
    pub const fn query(entity_id: u32, reg: u32) -> Self {
        Self {
            entity_id,
            reg,
            access: 0,
            reserved0: 0,
            writable_mask: 0,
            reset_value: 0,
            name: [0; NAME_LEN],
            reserved: [0; 2],
        }
    }
}

/// `enum kcam_opcode`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    Nop = 0,
    Read = 1,
    Write = 2,
    Update = 3,
    Poll = 4,
    XferParam = 5,
    WaitEvent = 6,
    WaitOp = 7,
    WaitFence = 8,
    Delay = 9,
    QueueBuffer = 10,
    CancelBuffer = 11,
}

impl Opcode {
    /// The opcode for a raw value, if it is one.
    pub fn from_raw(v: u32) -> Option<Self> {
        Some(match v {
            0 => Self::Nop,
            1 => Self::Read,
            2 => Self::Write,
            3 => Self::Update,
            4 => Self::Poll,
            5 => Self::XferParam,
            6 => Self::WaitEvent,
            7 => Self::WaitOp,
            8 => Self::WaitFence,
            9 => Self::Delay,
            10 => Self::QueueBuffer,
            11 => Self::CancelBuffer,
            _ => return None,
        })
    }
}

/// `struct kcam_op`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub opcode: u32,
    pub entity_id: u32,
    pub reg: u32,
    pub event: u32,
    pub value: u64,
    pub mask: u64,
    pub param_ptr: u64,
    pub param_len: u32,
    pub fence_fd: i32,
    pub timeout_ns: u64,
    pub deps: [u32; MAX_DEPS],
    pub flags: u32,
    pub reserved0: u32,
    pub result: u64,
    pub status: i32,
    pub reserved1: u32,
}

impl Op {
    /// An operation with no dependencies, all other fields zero.
    pub const fn new(opcode: Opcode, entity_id: u32, reg: u32) -> Self {
        Self {
            opcode: opcode as u32,
            entity_id,
            reg,
            event: 0,
            value: 0,
            mask: 0,
            param_ptr: 0,
            param_len: 0,
            fence_fd: -1,
            timeout_ns: 0,
            deps: [NO_DEP; MAX_DEPS],
            flags: 0,
            reserved0: 0,
            result: 0,
            status: 0,
            reserved1: 0,
        }
    }
}

/// `enum kcam_reason`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    None = 0,
    BadOpcode = 1,
    BadEntity = 2,
    BadReg = 3,
    NotReadable = 4,
    NotWritable = 5,
    OutsideMask = 6,
    BadDep = 7,
    ParamTooLong = 8,
    BadParam = 9,
    BadEvent = 10,
    TimeoutRequired = 11,
    ReservedNotZero = 12,
    BadFlags = 13,
    TooManyOps = 14,
    NoOps = 15,
    ValueTooWide = 16,
    BadFence = 17,
    NoBuffers = 18,
    BadBuffer = 19,
}

/// `struct kcam_submit`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Submit {
    pub flags: u32,
    pub count: u32,
    pub ops_ptr: u64,
    pub seqno: u64,
    pub out_fence_fd: i32,
    pub error_idx: u32,
    pub error_reason: u32,
    pub reserved0: u32,
    pub reserved: [u64; 2],
}

/// `struct kcam_wait`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wait {
    pub seqno: u64,
    pub timeout_ns: u64,
    pub status: i32,
    pub error_idx: u32,
    pub reserved: [u64; 2],
}

/// `struct kcam_event_sub`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventSub {
    pub entity_id: u32,
    pub event: u32,
    pub reserved: [u64; 2],
}

/// `struct kcam_event`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Event {
    pub entity_id: u32,
    pub event: u32,
    pub sequence: u64,
    pub timestamp_ns: u64,
    pub data: [u64; 2],
    pub dropped: u32,
    pub status: i32,
    pub reserved: [u64; 2],
}

/// `struct kcam_reset`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reset {
    pub flags: u32,
    pub reserved0: u32,
    pub reserved: [u64; 2],
}

/// `struct kcam_buffer_import`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BufferImport {
    pub entity_id: u32,
    pub fd: i32,
    pub handle: u32,
    pub flags: u32,
    pub size: u64,
    pub reserved: [u64; 2],
}

/// `struct kcam_buffer_release`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BufferRelease {
    pub handle: u32,
    pub flags: u32,
    pub reserved: [u64; 2],
}

/// `KCAM_CANCEL_EVENTS`: end the file's io_uring event stream instead of cancelling a list.
pub const CANCEL_EVENTS: u32 = 1 << 0;

/// `struct kcam_cancel`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cancel {
    pub seqno: u64,
    pub flags: u32,
    pub reserved0: u32,
    pub reserved: [u64; 2],
}

/// `struct kcam_uring_cmd`: the 16 command bytes of an `IORING_OP_URING_CMD` SQE on a camera.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UringCmd {
    pub arg: u64,
    pub reserved: u64,
}

/// `KCAM_IOC_QUERY_CAPS` number.
pub const IOC_NR_QUERY_CAPS: u32 = 0;
/// `KCAM_IOC_ENUM_ENTITY` number.
pub const IOC_NR_ENUM_ENTITY: u32 = 1;
/// `KCAM_IOC_ENUM_REG` number.
pub const IOC_NR_ENUM_REG: u32 = 2;
/// `KCAM_IOC_SUBMIT` number.
pub const IOC_NR_SUBMIT: u32 = 3;
/// `KCAM_IOC_WAIT` number.
pub const IOC_NR_WAIT: u32 = 4;
/// `KCAM_IOC_SUBSCRIBE` number.
pub const IOC_NR_SUBSCRIBE: u32 = 5;
/// `KCAM_IOC_UNSUBSCRIBE` number.
pub const IOC_NR_UNSUBSCRIBE: u32 = 6;
/// `KCAM_IOC_DQEVENT` number.
pub const IOC_NR_DQEVENT: u32 = 7;
/// `KCAM_IOC_RESET` number.
pub const IOC_NR_RESET: u32 = 8;
/// `KCAM_IOC_CANCEL` number.
pub const IOC_NR_CANCEL: u32 = 9;
/// `KCAM_IOC_IMPORT_BUFFER` number.
pub const IOC_NR_IMPORT_BUFFER: u32 = 10;
/// `KCAM_IOC_RELEASE_BUFFER` number.
pub const IOC_NR_RELEASE_BUFFER: u32 = 11;
/// The highest ioctl number in use.
pub const IOC_NR_LAST: u32 = IOC_NR_RELEASE_BUFFER;

// The ioctl numbers themselves depend on the architecture's `_IOC` encoding (powerpc, mips, sparc and alpha differ
// from asm-generic): the kernel builds them with `kernel::ioctl`, userspace with its libc's `_IOR`/`_IOWR`
// (`tools/kcam/src/ioctl.rs`, checked against the C header there). The directions, per `include/uapi/linux/kcam.h`:
// QUERY_CAPS and DQEVENT `_IOR`; ENUM_ENTITY, ENUM_REG, SUBMIT, WAIT and IMPORT_BUFFER `_IOWR`; SUBSCRIBE,
// UNSUBSCRIBE, RESET, CANCEL and RELEASE_BUFFER `_IOW`. The io_uring commands (`cmd_op` of `IORING_OP_URING_CMD`)
// are the SUBMIT, CANCEL and DQEVENT ioctl numbers.
