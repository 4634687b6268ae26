// SPDX-License-Identifier: GPL-2.0
//! Host tests: the validator's rejections, and the Rust layout against the C header compiled by a C compiler.

use crate::ioctl::*;
use crate::uapi::*;
use crate::validate::*;
use crate::vcam_uapi;
use std::process::Command;

/// A camera of two entities: 1 (sensor, 4 regs of 16 bits, emits FRAME_START/END) and 2 (ISP, 2 regs of 32 bits,
/// emits STATS_READY, writes buffers). Registers: 0 RW mask 0xff, 1 RO, 2 WO mask 0xffff, 3 RW mask 0x0f0f.
struct Cam;

impl Topology for Cam {
    fn entity(&self, id: u32) -> Option<EntityInfo> {
        match id {
            1 => Some(EntityInfo {
                num_regs: 4,
                reg_width: 16,
                event_mask: 0b11,
                buffers: false,
            }),
            2 => Some(EntityInfo {
                num_regs: 2,
                reg_width: 32,
                event_mask: 0b100,
                buffers: true,
            }),
            _ => None,
        }
    }
    fn reg(&self, id: u32, reg: u32) -> Option<RegInfo> {
        Some(match (id, reg) {
            (1, 0) => RegInfo {
                access: ACCESS_READ | ACCESS_WRITE,
                writable_mask: 0xff,
            },
            (1, 1) => RegInfo {
                access: ACCESS_READ,
                writable_mask: 0,
            },
            (1, 2) => RegInfo {
                access: ACCESS_WRITE,
                writable_mask: 0xffff,
            },
            (1, 3) => RegInfo {
                access: ACCESS_READ | ACCESS_WRITE,
                writable_mask: 0x0f0f,
            },
            (2, 0 | 1) => RegInfo {
                access: ACCESS_READ | ACCESS_WRITE,
                writable_mask: u64::from(u32::MAX),
            },
            _ => return None,
        })
    }
}

const LIMITS: Limits = Limits {
    max_ops: 64,
    max_param_bytes: 4096,
};

fn check(ops: &[Op]) -> Result<(), Rejection> {
    for (i, op) in ops.iter().enumerate() {
        check_op(i as u32, op, &Cam, &LIMITS)?;
    }
    Ok(())
}

fn rej(index: u32, reason: Reason, errno: i32) -> Result<(), Rejection> {
    Err(Rejection {
        index,
        reason,
        errno,
    })
}

fn op(opcode: Opcode, entity: u32, reg: u32) -> Op {
    Op::new(opcode, entity, reg)
}

fn with(mut o: Op, f: impl FnOnce(&mut Op)) -> Op {
    f(&mut o);
    o
}

#[test]
fn a_valid_list() {
    let ops = [
        with(op(Opcode::Write, 1, 0), |o| o.value = 0x42),
        with(op(Opcode::Update, 1, 3), |o| {
            o.mask = 0x0f00;
            o.value = 0x0300
        }),
        op(Opcode::Read, 1, 1),
        with(op(Opcode::Poll, 1, 0), |o| {
            o.mask = 0x40;
            o.value = 0x40;
            o.timeout_ns = 1_000_000;
            o.deps[0] = 0;
        }),
        with(op(Opcode::WaitEvent, 1, 0), |o| {
            o.event = EventType::FrameEnd as u32;
            o.timeout_ns = 1
        }),
        with(op(Opcode::XferParam, 2, 0), |o| {
            o.param_ptr = 0x1000;
            o.param_len = 4096
        }),
        with(op(Opcode::WaitOp, 0, 0), |o| o.deps = [3, 4, 5, NO_DEP]),
        with(op(Opcode::Delay, 0, 0), |o| o.timeout_ns = 10),
        with(op(Opcode::QueueBuffer, 2, 0), |o| o.value = 1),
        with(op(Opcode::CancelBuffer, 2, 0), |o| {
            o.value = u64::from(u32::MAX)
        }),
    ];
    assert_eq!(check(&ops), Ok(()));
}

#[test]
fn buffer_operations() {
    let q = with(op(Opcode::QueueBuffer, 2, 0), |o| o.value = 3);
    assert_eq!(buffer_handle(&q), 3);
    // Only an entity that writes buffers takes them.
    assert_eq!(
        check(&[with(q, |o| o.entity_id = 1)]),
        rej(0, Reason::NoBuffers, errno::EINVAL)
    );
    assert_eq!(
        check(&[with(q, |o| o.entity_id = 9)]),
        rej(0, Reason::BadEntity, errno::ENOENT)
    );
    // Handle 0 is never given out; handles are 32 bits.
    for (opcode, value) in [
        (Opcode::QueueBuffer, 0),
        (Opcode::CancelBuffer, 0),
        (Opcode::QueueBuffer, 1 << 32),
        (Opcode::CancelBuffer, u64::MAX),
    ] {
        assert_eq!(
            check(&[with(op(opcode, 2, 0), |o| o.value = value)]),
            rej(0, Reason::BadBuffer, errno::ENOENT),
            "{opcode:?} {value}"
        );
    }
}

#[test]
fn every_rejection_names_the_op_and_reason() {
    let w = op(Opcode::Write, 1, 0);
    assert_eq!(
        check(&[w, with(w, |o| o.opcode = 99)]),
        rej(1, Reason::BadOpcode, errno::EINVAL)
    );
    assert_eq!(
        check(&[op(Opcode::Read, 7, 0)]),
        rej(0, Reason::BadEntity, errno::ENOENT)
    );
    assert_eq!(
        check(&[op(Opcode::Read, 1, 4)]),
        rej(0, Reason::BadReg, errno::ENOENT)
    );
    assert_eq!(
        check(&[op(Opcode::Read, 1, 2)]),
        rej(0, Reason::NotReadable, errno::EPERM)
    );
    assert_eq!(
        check(&[op(Opcode::Write, 1, 1)]),
        rej(0, Reason::NotWritable, errno::EPERM)
    );
    assert_eq!(
        check(&[op(Opcode::Update, 1, 1)]),
        rej(0, Reason::NotWritable, errno::EPERM)
    );
    assert_eq!(
        check(&[with(w, |o| o.value = 0x100)]),
        rej(0, Reason::OutsideMask, errno::EPERM)
    );
    assert_eq!(
        check(&[with(op(Opcode::Update, 1, 3), |o| o.mask = 0xf000)]),
        rej(0, Reason::OutsideMask, errno::EPERM)
    );
    // A value bit outside the update mask would be silently dropped: refused instead.
    assert_eq!(
        check(&[with(op(Opcode::Update, 1, 3), |o| {
            o.mask = 0x000f;
            o.value = 0x0010
        })]),
        rej(0, Reason::OutsideMask, errno::EPERM)
    );
    let poll = with(op(Opcode::Poll, 1, 0), |o| o.timeout_ns = 5);
    assert_eq!(
        check(&[with(poll, |o| o.mask = 0x1_0000)]),
        rej(0, Reason::ValueTooWide, errno::EINVAL)
    );
    assert_eq!(
        check(&[with(poll, |o| o.timeout_ns = 0)]),
        rej(0, Reason::TimeoutRequired, errno::EINVAL)
    );
    // Dependencies only on earlier ops: no self or forward references, so no cycles.
    assert_eq!(
        check(&[with(w, |o| o.deps[0] = 0)]),
        rej(0, Reason::BadDep, errno::EINVAL)
    );
    assert_eq!(
        check(&[w, with(w, |o| o.deps[3] = 2)]),
        rej(1, Reason::BadDep, errno::EINVAL)
    );
    let x = with(op(Opcode::XferParam, 2, 0), |o| {
        o.param_ptr = 0x1000;
        o.param_len = 16
    });
    assert_eq!(
        check(&[with(x, |o| o.param_len = 4097)]),
        rej(0, Reason::ParamTooLong, errno::E2BIG)
    );
    assert_eq!(
        check(&[with(x, |o| o.param_len = 0)]),
        rej(0, Reason::BadParam, errno::EINVAL)
    );
    assert_eq!(
        check(&[with(x, |o| o.param_ptr = 0)]),
        rej(0, Reason::BadParam, errno::EINVAL)
    );
    assert_eq!(
        check(&[with(x, |o| o.param_ptr = u64::MAX - 4)]),
        rej(0, Reason::BadParam, errno::EOVERFLOW)
    );
    let ev = with(op(Opcode::WaitEvent, 2, 0), |o| o.timeout_ns = 1);
    assert_eq!(
        check(&[with(ev, |o| o.event = 0)]),
        rej(0, Reason::BadEvent, errno::EINVAL)
    );
    assert_eq!(
        check(&[with(ev, |o| o.event = 77)]),
        rej(0, Reason::BadEvent, errno::EINVAL)
    );
    assert_eq!(
        check(&[with(ev, |o| {
            o.event = 2;
            o.timeout_ns = 0
        })]),
        rej(0, Reason::TimeoutRequired, errno::EINVAL)
    );
    assert_eq!(
        check(&[with(w, |o| o.reserved1 = 1)]),
        rej(0, Reason::ReservedNotZero, errno::EINVAL)
    );
    assert_eq!(
        check(&[with(w, |o| o.status = -1)]),
        rej(0, Reason::ReservedNotZero, errno::EINVAL)
    );
    assert_eq!(
        check(&[with(w, |o| o.flags = 1)]),
        rej(0, Reason::BadFlags, errno::EINVAL)
    );
    assert_eq!(
        check(&[with(op(Opcode::WaitFence, 0, 0), |o| o.fence_fd = 3)]),
        rej(0, Reason::TimeoutRequired, errno::EINVAL)
    );
    assert_eq!(
        check(&[with(op(Opcode::WaitFence, 0, 0), |o| {
            o.fence_fd = -1;
            o.timeout_ns = 1;
        })]),
        rej(0, Reason::BadFence, errno::EBADF)
    );
}

#[test]
fn submit_header() {
    assert_eq!(check_submit(0, 1, true, &LIMITS), Ok(()));
    assert_eq!(
        check_submit(0, 0, true, &LIMITS),
        rej(0, Reason::NoOps, errno::EINVAL)
    );
    assert_eq!(
        check_submit(0, 65, true, &LIMITS),
        rej(65, Reason::TooManyOps, errno::E2BIG)
    );
    assert_eq!(
        check_submit(1 << 7, 1, true, &LIMITS),
        rej(1, Reason::BadFlags, errno::EINVAL)
    );
    assert_eq!(
        check_submit(SUBMIT_OUT_FENCE, 1, true, &LIMITS),
        rej(1, Reason::BadFlags, errno::EINVAL)
    );
    assert_eq!(
        check_submit(SUBMIT_OUT_FENCE | SUBMIT_ASYNC, 1, true, &LIMITS),
        Ok(())
    );
    assert_eq!(
        check_submit(0, 1, false, &LIMITS),
        rej(1, Reason::ReservedNotZero, errno::EINVAL)
    );
}

#[test]
fn cancellation_follows_dependencies() {
    let ok = [true, false, true];
    let dep_on = |d: u32| with(op(Opcode::Nop, 0, 0), |o| o.deps[0] = d);
    assert!(!cancelled(&op(Opcode::Nop, 0, 0), |j| ok[j as usize]));
    assert!(!cancelled(&dep_on(0), |j| ok[j as usize]));
    assert!(cancelled(&dep_on(1), |j| ok[j as usize]));
    assert!(cancelled(&with(dep_on(0), |o| o.deps[2] = 1), |j| ok[j as usize]));
}

#[test]
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn ioctl_numbers_are_stable() {
    // Changing these breaks userspace: they are part of the uAPI (asm-generic encoding here).
    assert_eq!(IOC_QUERY_CAPS as u32, 0x8040_bc00);
    assert_eq!(IOC_SUBMIT as u32, 0xc038_bc03);
    assert_eq!(IOC_RESET as u32, 0x4018_bc08);
    // Version 2: DQEVENT only returns an event, so it is _IOR (it was _IOWR in version 1).
    assert_eq!(IOC_DQEVENT as u32, 0x8040_bc07);
    assert_eq!(IOC_CANCEL as u32, 0x4020_bc09);
    assert_eq!(IOC_IMPORT_BUFFER as u32, 0xc028_bc0a);
    assert_eq!(IOC_RELEASE_BUFFER as u32, 0x4018_bc0b);
}

/// The io_uring command bytes are the 16 that every SQE has.
#[test]
fn uring_cmd_fits_a_small_sqe() {
    assert_eq!(core::mem::size_of::<UringCmd>(), 16);
}

#[test]
fn inputs_an_opcode_does_not_use_must_be_zero() {
    type Set = fn(&mut Op);
    let fields: [(&str, Set); 9] = [
        ("entity_id", |o| o.entity_id = 1),
        ("reg", |o| o.reg = 1),
        ("value", |o| o.value = 1),
        ("mask", |o| o.mask = 1),
        ("param_ptr", |o| o.param_ptr = 0x1000),
        ("param_len", |o| o.param_len = 1),
        ("event", |o| o.event = 1),
        ("fence_fd", |o| o.fence_fd = 5),
        ("timeout_ns", |o| o.timeout_ns = 1),
    ];
    // One valid op per opcode, with the inputs it uses.
    let ops: [(Op, &[&str]); 12] = [
        (op(Opcode::Nop, 0, 0), &[]),
        (op(Opcode::Read, 1, 0), &["entity_id", "reg"]),
        (op(Opcode::Write, 1, 0), &["entity_id", "reg", "value"]),
        (
            op(Opcode::Update, 1, 0),
            &["entity_id", "reg", "value", "mask"],
        ),
        (
            with(op(Opcode::Poll, 1, 0), |o| o.timeout_ns = 1),
            &["entity_id", "reg", "value", "mask", "timeout_ns"],
        ),
        (
            with(op(Opcode::XferParam, 2, 0), |o| {
                o.param_ptr = 0x1000;
                o.param_len = 1
            }),
            &["entity_id", "param_ptr", "param_len"],
        ),
        (
            with(op(Opcode::WaitEvent, 1, 0), |o| o.timeout_ns = 1),
            &["entity_id", "event", "timeout_ns"],
        ),
        (op(Opcode::WaitOp, 0, 0), &[]),
        (
            with(op(Opcode::WaitFence, 0, 0), |o| {
                o.fence_fd = 3;
                o.timeout_ns = 1
            }),
            &["fence_fd", "timeout_ns"],
        ),
        (
            with(op(Opcode::Delay, 0, 0), |o| o.timeout_ns = 1),
            &["timeout_ns"],
        ),
        (
            with(op(Opcode::QueueBuffer, 2, 0), |o| o.value = 1),
            &["entity_id", "value"],
        ),
        (
            with(op(Opcode::CancelBuffer, 2, 0), |o| o.value = 1),
            &["entity_id", "value"],
        ),
    ];
    for (valid, uses) in ops {
        assert_eq!(check(&[valid]), Ok(()), "{valid:?}");
        for (name, set) in fields.iter().filter(|(n, _)| !uses.contains(n)) {
            assert_eq!(
                check(&[with(valid, set)]),
                rej(0, Reason::ReservedNotZero, errno::EINVAL),
                "opcode {} with {name} set",
                valid.opcode
            );
        }
        // An unused fence_fd may be 0 or -1 (both "no fence").
        if !uses.contains(&"fence_fd") {
            assert_eq!(check(&[with(valid, |o| o.fence_fd = 0)]), Ok(()));
            assert_eq!(check(&[with(valid, |o| o.fence_fd = -1)]), Ok(()));
        }
    }
}

/// Compiles a C program that includes the header and prints every size and offset, and compares them with the
/// Rust layout. Needs a C compiler (`cc`), as the kernel build does.
#[test]
fn c_header_matches_rust_layout() {
    macro_rules! fields {
        ($cty:literal, $rty:ty, [$(($cf:literal, $rf:ident)),* $(,)?]) => {{
            let mut c = format!("P(\"sizeof {} %zu\", sizeof(struct {}));\n", $cty, $cty);
            let mut r = format!("sizeof {} {}\n", $cty, core::mem::size_of::<$rty>());
            $(
                c += &format!("P(\"{}.{} %zu\", offsetof(struct {}, {}));\n", $cty, $cf, $cty, $cf);
                r += &format!("{}.{} {}\n", $cty, $cf, core::mem::offset_of!($rty, $rf));
            )*
            (c, r)
        }};
    }
    let parts = [
        fields!(
            "kcam_caps",
            Caps,
            [
                ("api_version", api_version),
                ("max_events", max_events),
                ("flags", flags),
                ("max_lists", max_lists),
                ("max_queued_param_bytes", max_queued_param_bytes),
                ("max_subscribers", max_subscribers),
                ("access_timeout_ns", access_timeout_ns),
                ("max_buffers", max_buffers),
                ("max_file_buffers", max_file_buffers),
                ("reserved", reserved)
            ]
        ),
        fields!(
            "kcam_entity_desc",
            EntityDesc,
            [
                ("id", id),
                ("parent_id", parent_id),
                ("type", type_),
                ("event_mask", event_mask),
                ("flags", flags),
                ("name", name),
                ("reserved", reserved)
            ]
        ),
        fields!(
            "kcam_reg_desc",
            RegDesc,
            [
                ("access", access),
                ("writable_mask", writable_mask),
                ("reset_value", reset_value),
                ("name", name),
                ("reserved", reserved)
            ]
        ),
        fields!(
            "kcam_op",
            Op,
            [
                ("opcode", opcode),
                ("entity_id", entity_id),
                ("reg", reg),
                ("event", event),
                ("value", value),
                ("mask", mask),
                ("param_ptr", param_ptr),
                ("param_len", param_len),
                ("fence_fd", fence_fd),
                ("timeout_ns", timeout_ns),
                ("deps", deps),
                ("flags", flags),
                ("result", result),
                ("status", status),
                ("reserved1", reserved1)
            ]
        ),
        fields!(
            "kcam_submit",
            Submit,
            [
                ("flags", flags),
                ("count", count),
                ("ops_ptr", ops_ptr),
                ("seqno", seqno),
                ("out_fence_fd", out_fence_fd),
                ("error_idx", error_idx),
                ("error_reason", error_reason),
                ("reserved", reserved)
            ]
        ),
        fields!(
            "kcam_wait",
            Wait,
            [
                ("seqno", seqno),
                ("timeout_ns", timeout_ns),
                ("status", status),
                ("error_idx", error_idx),
                ("reserved", reserved)
            ]
        ),
        fields!(
            "kcam_event_sub",
            EventSub,
            [
                ("entity_id", entity_id),
                ("event", event),
                ("reserved", reserved)
            ]
        ),
        fields!(
            "kcam_event",
            Event,
            [
                ("sequence", sequence),
                ("timestamp_ns", timestamp_ns),
                ("data", data),
                ("dropped", dropped),
                ("status", status),
                ("reserved", reserved)
            ]
        ),
        fields!(
            "kcam_reset",
            Reset,
            [("flags", flags), ("reserved", reserved)]
        ),
        fields!(
            "kcam_cancel",
            Cancel,
            [("seqno", seqno), ("flags", flags), ("reserved", reserved)]
        ),
        fields!(
            "kcam_uring_cmd",
            UringCmd,
            [("arg", arg), ("reserved", reserved)]
        ),
        fields!(
            "kcam_buffer_import",
            BufferImport,
            [
                ("entity_id", entity_id),
                ("fd", fd),
                ("handle", handle),
                ("flags", flags),
                ("size", size),
                ("reserved", reserved)
            ]
        ),
        fields!(
            "kcam_buffer_release",
            BufferRelease,
            [("handle", handle), ("flags", flags), ("reserved", reserved)]
        ),
        fields!(
            "vcam_isp_params",
            vcam_uapi::IspParams,
            [
                ("version", version),
                ("flags", flags),
                ("black_level", black_level),
                ("wb_gain", wb_gain),
                ("reserved", reserved)
            ]
        ),
        fields!(
            "vcam_stats_cell",
            vcam_uapi::StatsCell,
            [("r", r), ("g", g), ("b", b), ("saturated", saturated)]
        ),
        fields!(
            "vcam_stats",
            vcam_uapi::Stats,
            [
                ("version", version),
                ("frame", frame),
                ("width", width),
                ("height", height),
                ("exposure", exposure),
                ("gain", gain),
                ("black_level", black_level),
                ("wb_gain", wb_gain),
                ("raw_sum", raw_sum),
                ("reserved0", reserved0),
                ("hist", hist),
                ("cells", cells),
                ("reserved", reserved)
            ]
        ),
    ];
    let mut prog = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include <linux/kcam.h>\n#include <linux/vcam.h>\n#define P(f, v) printf(f \"\\n\", v)\nint main(void) {\n",
    );
    let mut want = String::new();
    for (c, r) in &parts {
        prog += c;
        want += r;
    }
    for (name, value) in [
        ("KCAM_IOC_QUERY_CAPS", IOC_QUERY_CAPS),
        ("KCAM_IOC_ENUM_ENTITY", IOC_ENUM_ENTITY),
        ("KCAM_IOC_ENUM_REG", IOC_ENUM_REG),
        ("KCAM_IOC_SUBMIT", IOC_SUBMIT),
        ("KCAM_IOC_WAIT", IOC_WAIT),
        ("KCAM_IOC_SUBSCRIBE", IOC_SUBSCRIBE),
        ("KCAM_IOC_UNSUBSCRIBE", IOC_UNSUBSCRIBE),
        ("KCAM_IOC_DQEVENT", IOC_DQEVENT),
        ("KCAM_IOC_RESET", IOC_RESET),
        ("KCAM_IOC_CANCEL", IOC_CANCEL),
        ("KCAM_CANCEL_EVENTS", CANCEL_EVENTS as _),
        ("KCAM_IOC_IMPORT_BUFFER", IOC_IMPORT_BUFFER),
        ("KCAM_IOC_RELEASE_BUFFER", IOC_RELEASE_BUFFER),
    ] {
        prog += &format!("P(\"{name} %#x\", (unsigned){name});\n");
        want += &format!("{name} {:#x}\n", value as u32);
    }
    // Constants both sides define, as numbers.
    use crate::vcam_uapi as v;
    for (name, value) in [
        ("KCAM_API_VERSION", u64::from(API_VERSION)),
        ("KCAM_CAP_BUFFERS", u64::from(CAP_BUFFERS)),
        ("KCAM_ENTITY_FLAG_BUFFERS", u64::from(ENTITY_FLAG_BUFFERS)),
        ("KCAM_EVENT_BUFFER_DONE", EventType::BufferDone as u64),
        ("KCAM_EVENT_COUNT", u64::from(EVENT_COUNT)),
        ("KCAM_OP_QUEUE_BUFFER", Opcode::QueueBuffer as u64),
        ("KCAM_OP_CANCEL_BUFFER", Opcode::CancelBuffer as u64),
        ("KCAM_REASON_NO_BUFFERS", Reason::NoBuffers as u64),
        ("KCAM_REASON_BAD_BUFFER", Reason::BadBuffer as u64),
        ("VCAM_FMT_RGB24", u64::from(v::FMT_RGB24)),
        ("VCAM_FMT_YUYV", u64::from(v::FMT_YUYV)),
        ("VCAM_WIDTH_MIN", u64::from(v::WIDTH_MIN)),
        ("VCAM_WIDTH_MAX", u64::from(v::WIDTH_MAX)),
        ("VCAM_WIDTH_ALIGN", u64::from(v::WIDTH_ALIGN)),
        ("VCAM_HEIGHT_MIN", u64::from(v::HEIGHT_MIN)),
        ("VCAM_HEIGHT_MAX", u64::from(v::HEIGHT_MAX)),
        ("VCAM_HEIGHT_ALIGN", u64::from(v::HEIGHT_ALIGN)),
        ("VCAM_PATTERN_BARS", u64::from(v::PATTERN_BARS)),
        ("VCAM_PATTERN_GRADIENT", u64::from(v::PATTERN_GRADIENT)),
        ("VCAM_PATTERN_BOX", u64::from(v::PATTERN_BOX)),
        ("VCAM_PATTERN_GREY", u64::from(v::PATTERN_GREY)),
        ("VCAM_ILLUM_NEUTRAL", u64::from(v::ILLUM_NEUTRAL)),
        ("VCAM_ILLUM_WARM", u64::from(v::ILLUM_WARM)),
        ("VCAM_ILLUM_COOL", u64::from(v::ILLUM_COOL)),
        ("VCAM_RAW_MAX", u64::from(v::RAW_MAX)),
        ("VCAM_PEDESTAL", u64::from(v::PEDESTAL)),
        ("VCAM_STAMP_ROWS", u64::from(v::STAMP_ROWS)),
        ("VCAM_STAMP_BITS", u64::from(v::STAMP_BITS)),
        ("VCAM_PARAMS_V1", u64::from(v::PARAMS_V1)),
        ("VCAM_GAIN_ONE", u64::from(v::GAIN_ONE)),
        ("VCAM_GAIN_MAX", u64::from(v::GAIN_MAX)),
        ("VCAM_STATS_V1", u64::from(v::STATS_V1)),
        ("VCAM_GRID_W", v::GRID_W as u64),
        ("VCAM_GRID_H", v::GRID_H as u64),
        ("VCAM_HIST_BINS", v::HIST_BINS as u64),
    ] {
        prog += &format!("P(\"{name} %llu\", (unsigned long long)({name}));\n");
        want += &format!("{name} {value}\n");
    }
    prog += "return 0;\n}\n";

    let dir = std::env::temp_dir().join(format!("kcam-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let bin = dir.join("layout");
    std::fs::write(&src, prog).unwrap();
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/../../include/uapi");
    let cc = Command::new("cc")
        .args(["-std=c99", "-Wall", "-Werror", "-I", include])
        .arg(&src)
        .arg("-o")
        .arg(&bin)
        .output()
        .expect("running cc");
    assert!(
        cc.status.success(),
        "the header does not compile: {}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let out = Command::new(&bin).output().unwrap();
    let got = String::from_utf8(out.stdout).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let diff: Vec<_> = got
        .lines()
        .zip(want.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert!(
        diff.is_empty() && got.lines().count() == want.lines().count(),
        "C vs Rust: {diff:?}"
    );
}
