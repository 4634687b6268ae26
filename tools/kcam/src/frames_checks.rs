// SPDX-License-Identifier: GPL-2.0
//! `kcamctl check CASE` for frames and buffers: dma-buf import and its errors, the buffer operations and their
//! limits, isolation of files' buffers, the ISP's parameters, frame content against the renderer run on the host,
//! consecutive frames, brightness against exposure, and buffer lifetime (never written once taken back by a
//! `CANCEL_BUFFER`, release, close, reset or removal, even in the middle of a frame; left queued by a lost frame).
//! Each case starts from `KCAM_IOC_RESET` and leaves the camera reset, except `buffer-removal` (reload the module).

use anyhow::{bail, ensure, Context, Result};
use kcam::camera::{ioctl, Camera};
use kcam::dmabuf::{Allocator, DmaBuffer};
use kcam::frame::{self, IspConfig, Renderer, SensorConfig};
use kcam::ioctl as kio;
use kcam::stream::{write_regs, Setup, Sink, Stream, DMA, ISP, SENSOR};
use kcam::uapi::{self, BufferImport, Event, EventType, Op, Opcode, Reason, Submit};
use kcam::vcam_uapi::{self as v, IspParams, Stats};
use std::{
    fs::File,
    io,
    os::fd::AsFd,
    path::Path,
    sync::atomic::AtomicBool,
    time::{Duration, Instant},
};

pub(crate) const CASES: &[&str] = &[
    "import-errors",
    "buffer-ops",
    "buffer-limits",
    "buffer-isolation",
    "isp-params",
    "frame-content",
    "frame-sequence",
    "exposure-ramp",
    "buffer-close",
    "buffer-release",
    "buffer-cancel",
    "buffer-reset",
    "buffer-lost",
    "buffer-removal",
];

const FAULTS: &str = "/sys/kernel/debug/vcam/faults";
const LONG: Duration = Duration::from_secs(20);
/// A byte no frame of the tests' scenes is made of only.
const SENTINEL: u8 = 0x5a;

fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

fn id(cam: &Camera, name: &str) -> Result<u32> {
    Ok(cam.entity_by_name(name)?.0.id)
}

/// A `QUEUE_BUFFER` (or `CANCEL_BUFFER`) op of `handle` on entity `entity`.
fn buf_op(opcode: Opcode, entity: u32, handle: u64) -> Op {
    let mut op = Op::new(opcode, entity, 0);
    op.value = handle;
    op
}

/// Submits `ops` expecting the list to be refused at op `idx` with `reason` and `errno`.
fn expect_rejected(
    cam: &Camera,
    ops: &mut [Op],
    idx: u32,
    reason: Reason,
    want: i32,
) -> Result<()> {
    let mut s = Submit {
        count: ops.len() as u32,
        ops_ptr: ops.as_mut_ptr() as u64,
        ..Submit::default()
    };
    let e = ioctl(&cam.file, kio::IOC_SUBMIT, &mut s)
        .err()
        .context("the list was accepted")?;
    ensure!(
        errno(&e) == want && s.error_idx == idx && s.error_reason == reason as u32,
        "refused with {e}, at op {} for reason {}; want errno {want} at op {idx} for {reason:?}",
        s.error_idx,
        s.error_reason
    );
    Ok(())
}

/// Imports `buf` for `entity`, expecting `want` (0: success); returns the reply.
fn import(cam: &Camera, entity: u32, buf: &DmaBuffer, want: i32) -> Result<BufferImport> {
    match cam.import_buffer(entity, buf.fd()) {
        Ok(r) if want == 0 => Ok(r),
        Ok(r) => bail!(
            "import for entity {entity} succeeded (handle {}), want errno {want}",
            r.handle
        ),
        Err((e, r)) if errno(&e) == want => Ok(r),
        Err((e, _)) => bail!("import for entity {entity}: {e}, want errno {want}"),
    }
}

fn set_faults(spec: &str) -> Result<()> {
    std::fs::write(FAULTS, spec).with_context(|| format!("writing '{spec}' to {FAULTS}"))
}

/// The ISP parameters' bytes.
fn params_bytes(p: &IspParams) -> Vec<u8> {
    // SAFETY: `IspParams` is plain integers without padding (the invariant of vcam_uapi.rs).
    unsafe {
        std::slice::from_raw_parts((p as *const IspParams).cast::<u8>(), size_of::<IspParams>())
    }
    .to_vec()
}

/// Sends parameter bytes to the ISP; the op's status.
fn xfer(cam: &Camera, bytes: &[u8]) -> Result<i32> {
    let mut x = Op::new(Opcode::XferParam, id(cam, ISP)?, 0);
    x.param_ptr = bytes.as_ptr() as u64;
    x.param_len = bytes.len() as u32;
    let mut ops = [x];
    cam.submit(&mut ops, 0)?;
    Ok(ops[0].status)
}

/// A register write as a list of its own: the op's status.
fn write_status(cam: &Camera, entity: &str, reg: &str, value: u64) -> Result<i32> {
    let mut ops = [cam.op(Opcode::Write, entity, reg, value)?];
    cam.submit(&mut ops, 0)?;
    Ok(ops[0].status)
}

/// The next event `want` selects, within `timeout` (others are skipped).
fn wait_event(
    cam: &Camera,
    timeout: Duration,
    mut want: impl FnMut(&Event) -> bool,
) -> Result<Event> {
    let end = Instant::now() + timeout;
    loop {
        match cam.dqevent()? {
            Some(e) if want(&e) => return Ok(e),
            Some(_) => {}
            None if Instant::now() > end => {
                bail!("no such event within {} ms", timeout.as_millis())
            }
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// Renders on the host what vcam must produce: the frame's bytes and statistics.
fn host_render(cfg: &SensorConfig, isp: &IspConfig, format: u32) -> Result<(Vec<u8>, Stats)> {
    let mut r = Box::new(Renderer::IDLE);
    ensure!(
        r.start(cfg, isp, format),
        "not a frame vcam renders: {cfg:?}"
    );
    let stride = r.stride();
    let mut f = vec![0u8; stride * cfg.height as usize];
    for (pair, out) in f.chunks_exact_mut(2 * stride).enumerate() {
        r.render_pair(pair as u32, out)
            .map_err(|_| anyhow::anyhow!("render"))?;
    }
    let mut s = Stats::ZERO;
    r.finish(&mut s);
    Ok((f, s))
}

/// Programs the scene, sensor and ISP settings (not streaming).
fn program(
    cam: &Camera,
    pattern: u32,
    illuminant: u32,
    exposure: u32,
    gain: u32,
    isp: &IspConfig,
) -> Result<()> {
    write_regs(
        cam,
        &[
            (SENSOR, "TEST_PATTERN", u64::from(pattern)),
            (SENSOR, "ILLUMINANT", u64::from(illuminant)),
            (SENSOR, "EXPOSURE", u64::from(exposure)),
            (SENSOR, "GAIN", u64::from(gain)),
        ],
    )?;
    let st = xfer(cam, &params_bytes(&isp.to_params()))?;
    ensure!(
        st == 0,
        "ISP parameters refused: {}",
        io::Error::from_raw_os_error(-st)
    );
    Ok(())
}

/// Mean of one channel of an RGB24 frame over a rectangle.
fn mean(frame: &[u8], width: u32, x0: u32, x1: u32, y0: u32, y1: u32, c: usize) -> f64 {
    let mut s = 0f64;
    for y in y0..y1 {
        for x in x0..x1 {
            s += f64::from(frame[((y * width + x) * 3) as usize + c]);
        }
    }
    s / f64::from((x1 - x0) * (y1 - y0))
}

pub(crate) fn run(dev: &Path, case: &str, stop: &AtomicBool) -> Result<()> {
    let cam = Camera::open(dev)?;
    cam.reset()?;
    let r = match case {
        "import-errors" => import_errors(&cam),
        "buffer-ops" => buffer_ops(&cam, dev),
        "buffer-limits" => buffer_limits(&cam, dev),
        "buffer-isolation" => buffer_isolation(&cam, dev, stop),
        "isp-params" => isp_params(&cam, stop),
        "frame-content" => frame_content(&cam, stop),
        "frame-sequence" => frame_sequence(&cam, stop),
        "exposure-ramp" => exposure_ramp(&cam, stop),
        "buffer-lost" => buffer_lost(&cam),
        c if c.starts_with("buffer-") => taken_back(&cam, dev, &c["buffer-".len()..]),
        other => bail!("unknown case '{other}'"),
    };
    if case != "buffer-removal" {
        cam.reset()?;
    }
    r
}

/// Import: every error with its errno, and what works (both allocators, the fd closed after).
fn import_errors(cam: &Camera) -> Result<()> {
    let (sensor, isp, dma) = (id(cam, SENSOR)?, id(cam, ISP)?, id(cam, DMA)?);
    let frame_bytes = usize::try_from(cam.read_reg(DMA, "FRAME_BYTES")?)?;
    ensure!(
        frame_bytes == 320 * 240 * 3,
        "FRAME_BYTES {frame_bytes} after reset"
    );
    ensure!(
        cam.caps.flags & uapi::CAP_BUFFERS != 0,
        "KCAM_CAP_BUFFERS not reported"
    );
    // Not a dma-buf: another kind of file, a closed fd.
    let null = File::open("/dev/null")?;
    match cam.import_buffer(dma, null.as_fd()) {
        Err((e, _)) if errno(&e) == libc::EBADF => {}
        r => bail!(
            "/dev/null imported: {:?}",
            r.map(|i| i.handle).map_err(|e| e.0)
        ),
    }
    let mut raw = BufferImport {
        entity_id: dma,
        fd: -1,
        ..BufferImport::default()
    };
    let e = ioctl(&cam.file, kio::IOC_IMPORT_BUFFER, &mut raw)
        .err()
        .context("fd -1 imported")?;
    ensure!(errno(&e) == libc::EBADF, "fd -1: {e}");
    // Too small for the frame: ENOSPC, and the reply says how big it is.
    let small = DmaBuffer::alloc(Allocator::Heap, 4096)?;
    let r = import(cam, dma, &small, libc::ENOSPC)?;
    ensure!(r.size == 4096 && r.handle == 0, "too small: reply {r:?}");
    let good = DmaBuffer::alloc(Allocator::Heap, frame_bytes)?;
    // Entities: one that writes no buffers, one that does not exist.
    import(cam, sensor, &good, libc::EINVAL)?;
    import(cam, 99, &good, libc::ENOENT)?;
    // Inputs that must be zero.
    for set in [
        (|b: &mut BufferImport| b.flags = 1) as fn(&mut BufferImport),
        |b| b.handle = 3,
        |b| b.size = 1,
        |b| b.reserved[1] = 1,
    ] {
        let mut b = BufferImport {
            entity_id: dma,
            fd: std::os::fd::AsRawFd::as_raw_fd(&good.fd()),
            ..BufferImport::default()
        };
        set(&mut b);
        let e = ioctl(&cam.file, kio::IOC_IMPORT_BUFFER, &mut b)
            .err()
            .context("a nonzero input accepted")?;
        ensure!(errno(&e) == libc::EINVAL, "nonzero input: {e}");
    }
    // What works: both allocators, images and statistics.
    let mut handles = Vec::new();
    for alloc in [Allocator::Heap, Allocator::Udmabuf] {
        let img = DmaBuffer::alloc(alloc, frame_bytes)?;
        let r = import(cam, dma, &img, 0)?;
        ensure!(
            r.handle != 0 && r.size >= frame_bytes as u64,
            "{alloc:?}: {r:?}"
        );
        let st = DmaBuffer::alloc(alloc, size_of::<Stats>())?;
        let s = import(cam, isp, &st, 0)?;
        ensure!(s.handle != r.handle, "two buffers, one handle");
        handles.push(r.handle);
        handles.push(s.handle);
        // The kernel holds its own reference: our fd and mapping may go at once.
    }
    ensure!(
        handles.windows(2).all(|w| w[0] < w[1]),
        "handles {handles:?} not given out in order"
    );
    // The fd closed, the buffer still works: queued and written.
    cam.subscribe(dma, EventType::BufferDone as u32, true)?;
    let mut ops = [
        buf_op(Opcode::QueueBuffer, dma, u64::from(handles[2])),
        cam.op(Opcode::Write, SENSOR, "CTRL", 1)?,
    ];
    cam.run(&mut ops)?;
    let e = wait_event(cam, LONG, |e| e.event == EventType::BufferDone as u32)?;
    write_regs(cam, &[(SENSOR, "CTRL", 0)])?;
    ensure!(
        e.status == 0 && e.data[1] == u64::from(handles[2]),
        "a buffer whose fd was closed: BUFFER_DONE {e:?}"
    );
    // Release: once, then ENOENT; unknown handles ENOENT.
    for h in [9999, 0] {
        let e = cam
            .release_buffer(h)
            .err()
            .context("unknown handle released")?;
        ensure!(errno(&e) == libc::ENOENT, "release {h}: {e}");
    }
    cam.release_buffer(handles[0])?;
    let e = cam
        .release_buffer(handles[0])
        .err()
        .context("released twice")?;
    ensure!(errno(&e) == libc::ENOENT, "second release: {e}");
    Ok(())
}

/// Buffer operations in lists: every rejection at submission, every run-time error, and what they leave.
fn buffer_ops(cam: &Camera, dev: &Path) -> Result<()> {
    let (sensor, isp, dma) = (id(cam, SENSOR)?, id(cam, ISP)?, id(cam, DMA)?);
    let frame_bytes = usize::try_from(cam.read_reg(DMA, "FRAME_BYTES")?)?;
    let img = DmaBuffer::alloc(Allocator::Heap, frame_bytes)?;
    let h = u64::from(import(cam, dma, &img, 0)?.handle);
    let stat = DmaBuffer::alloc(Allocator::Heap, size_of::<Stats>())?;
    let hs = u64::from(import(cam, isp, &stat, 0)?.handle);
    let exposure = cam.read_reg(SENSOR, "EXPOSURE")?;
    let w = cam.op(Opcode::Write, SENSOR, "EXPOSURE", 777)?;
    // Refused whole, naming the op: nothing ran (EXPOSURE unchanged).
    expect_rejected(
        cam,
        &mut [w, buf_op(Opcode::QueueBuffer, sensor, h)],
        1,
        Reason::NoBuffers,
        libc::EINVAL,
    )?;
    expect_rejected(
        cam,
        &mut [w, buf_op(Opcode::QueueBuffer, dma, 0)],
        1,
        Reason::BadBuffer,
        libc::ENOENT,
    )?;
    expect_rejected(
        cam,
        &mut [w, buf_op(Opcode::CancelBuffer, dma, 1 << 32)],
        1,
        Reason::BadBuffer,
        libc::ENOENT,
    )?;
    expect_rejected(
        cam,
        &mut [w, buf_op(Opcode::QueueBuffer, dma, 999)],
        1,
        Reason::BadBuffer,
        libc::ENOENT,
    )?;
    expect_rejected(
        cam,
        &mut [w, buf_op(Opcode::QueueBuffer, isp, h)],
        1,
        Reason::BadBuffer,
        libc::EINVAL,
    )?;
    expect_rejected(
        cam,
        &mut [w, buf_op(Opcode::QueueBuffer, dma, hs)],
        1,
        Reason::BadBuffer,
        libc::EINVAL,
    )?;
    let mut unused = buf_op(Opcode::QueueBuffer, dma, h);
    unused.reg = 1;
    expect_rejected(
        cam,
        &mut [w, unused],
        1,
        Reason::ReservedNotZero,
        libc::EINVAL,
    )?;
    // Another file's handle is not ours.
    let other = Camera::open(dev)?;
    let mut theirs = Vec::new();
    for _ in 0..3 {
        let b = DmaBuffer::alloc(Allocator::Heap, frame_bytes)?;
        theirs.push(import(&other, dma, &b, 0)?.handle);
    }
    expect_rejected(
        cam,
        &mut [w, buf_op(Opcode::QueueBuffer, dma, u64::from(theirs[2]))],
        1,
        Reason::BadBuffer,
        libc::ENOENT,
    )?;
    ensure!(
        cam.read_reg(SENSOR, "EXPOSURE")? == exposure,
        "a refused list ran"
    );
    // TEST_ONLY validates and queues nothing.
    cam.submit(
        &mut [buf_op(Opcode::QueueBuffer, dma, h)],
        uapi::SUBMIT_TEST_ONLY,
    )?;
    ensure!(
        cam.read_reg(DMA, "QUEUED")? == 0,
        "TEST_ONLY queued a buffer"
    );
    // Queued once; twice is EALREADY.
    let mut ops = [
        buf_op(Opcode::QueueBuffer, dma, h),
        buf_op(Opcode::QueueBuffer, dma, h),
        buf_op(Opcode::QueueBuffer, isp, hs),
    ];
    cam.submit(&mut ops, 0)?;
    ensure!(
        ops[0].status == 0
            && ops[0].result == 1
            && ops[1].status == -libc::EALREADY
            && ops[2].status == 0,
        "queue, queue again, queue stats: {:?}",
        ops.iter().map(|o| (o.status, o.result)).collect::<Vec<_>>()
    );
    ensure!(
        cam.read_reg(DMA, "QUEUED")? == 1 && cam.read_reg(ISP, "QUEUED")? == 1,
        "QUEUED registers"
    );
    // The frame's geometry is fixed while image buffers are queued.
    for (reg, val) in [("WIDTH", 640), ("HEIGHT", 480)] {
        let st = write_status(cam, SENSOR, reg, val)?;
        ensure!(
            st == -libc::EBUSY,
            "{reg} with a buffer queued: status {st}"
        );
    }
    ensure!(
        write_status(cam, DMA, "FORMAT", u64::from(v::FMT_YUYV))? == -libc::EBUSY,
        "FORMAT with a buffer queued"
    );
    ensure!(
        write_status(cam, SENSOR, "WIDTH", 320)? == 0,
        "writing the same width refused"
    );
    ensure!(
        cam.read_reg(SENSOR, "WIDTH")? == 320 && cam.read_reg(DMA, "FORMAT")? == 0,
        "geometry changed"
    );
    // Taken back: 1, then 0.
    let mut ops = [
        buf_op(Opcode::CancelBuffer, dma, h),
        buf_op(Opcode::CancelBuffer, dma, h),
    ];
    cam.submit(&mut ops, 0)?;
    ensure!(
        ops[0].status == 0 && ops[0].result == 1 && ops[1].status == 0 && ops[1].result == 0,
        "cancel twice: {:?}",
        ops.iter().map(|o| (o.status, o.result)).collect::<Vec<_>>()
    );
    // Values vcam does not support change nothing.
    for (e, reg, val) in [
        (SENSOR, "WIDTH", 100),
        (SENSOR, "WIDTH", 1952),
        (SENSOR, "HEIGHT", 44),
        (SENSOR, "HEIGHT", 1084),
        (DMA, "FORMAT", 3),
        (SENSOR, "TEST_PATTERN", 4),
        (SENSOR, "ILLUMINANT", 3),
    ] {
        let before = cam.read_reg(e, reg)?;
        let st = write_status(cam, e, reg, val)?;
        ensure!(
            st == -libc::EINVAL && cam.read_reg(e, reg)? == before,
            "{e} {reg}={val}: status {st}"
        );
    }
    // A buffer smaller than the frame now: ENOSPC.
    write_regs(cam, &[(SENSOR, "WIDTH", 640), (SENSOR, "HEIGHT", 480)])?;
    ensure!(
        cam.read_reg(DMA, "FRAME_BYTES")? == 640 * 480 * 3,
        "FRAME_BYTES at 640x480"
    );
    let mut ops = [buf_op(Opcode::QueueBuffer, dma, h)];
    cam.submit(&mut ops, 0)?;
    ensure!(
        ops[0].status == -libc::ENOSPC,
        "a 320x240 buffer for a 640x480 frame: status {}",
        ops[0].status
    );
    write_regs(cam, &[(SENSOR, "WIDTH", 320), (SENSOR, "HEIGHT", 240)])?;
    // The queue holds 16: the 17th is EBUSY.
    let mut stats = Vec::new();
    let mut ops = Vec::new();
    for _ in 0..16 {
        let b = DmaBuffer::alloc(Allocator::Heap, size_of::<Stats>())?;
        ops.push(buf_op(
            Opcode::QueueBuffer,
            isp,
            u64::from(import(cam, isp, &b, 0)?.handle),
        ));
        stats.push(b);
    }
    cam.submit(&mut ops, 0)?;
    let statuses: Vec<i32> = ops.iter().map(|o| o.status).collect();
    ensure!(
        statuses[..15].iter().all(|s| *s == 0) && statuses[15] == -libc::EBUSY,
        "16 more on a queue holding one: {statuses:?}"
    );
    // Geometry is fixed while streaming, too.
    write_regs(cam, &[(SENSOR, "CTRL", 1)])?;
    let st = write_status(cam, SENSOR, "HEIGHT", 120)?;
    write_regs(cam, &[(SENSOR, "CTRL", 0)])?;
    ensure!(st == -libc::EBUSY, "HEIGHT while streaming: status {st}");
    Ok(())
}

/// Limits: `max_file_buffers` per file (EMFILE), `max_buffers` per camera (ENFILE), and closing gives them back.
fn buffer_limits(cam: &Camera, dev: &Path) -> Result<()> {
    let isp = id(cam, ISP)?;
    let caps = cam.caps()?;
    let per_file = caps.max_file_buffers as usize;
    let files_needed = (caps.max_buffers as usize).div_ceil(per_file);
    ensure!(per_file > 0 && files_needed <= 16, "caps {caps:?}");
    let mut files = Vec::new();
    let mut total = 0usize;
    let mut bufs = Vec::new();
    let mut refused = None;
    'outer: for _ in 0..=files_needed {
        let f = Camera::open(dev)?;
        for i in 0..=per_file {
            let b = DmaBuffer::alloc(Allocator::Heap, size_of::<Stats>())?;
            match f.import_buffer(isp, b.fd()) {
                Ok(_) => {
                    total += 1;
                    bufs.push(b);
                }
                Err((e, _)) if errno(&e) == libc::EMFILE && i == per_file => break,
                Err((e, _)) => {
                    refused = Some((errno(&e), i));
                    files.push(f);
                    break 'outer;
                }
            }
        }
        files.push(f);
    }
    println!(
        "{total} buffers imported by {} files ({per_file} per file, {} per camera), then {}",
        files.len(),
        caps.max_buffers,
        refused.map_or("nothing refused".into(), |r| io::Error::from_raw_os_error(
            r.0
        )
        .to_string())
    );
    ensure!(
        total == caps.max_buffers as usize && refused.map(|r| r.0) == Some(libc::ENFILE),
        "{total} imported, then {refused:?}; want {} then ENFILE",
        caps.max_buffers
    );
    // Closing a file gives its buffers back to the camera.
    files.remove(0);
    let b = DmaBuffer::alloc(Allocator::Heap, size_of::<Stats>())?;
    import(files.last().context("a file")?, isp, &b, 0)
        .or_else(|_| import(&Camera::open(dev)?, isp, &b, 0))?;
    Ok(())
}

/// Two files: BUFFER_DONE goes only to the buffer's file, numbered in that file's own sequence.
fn buffer_isolation(cam: &Camera, dev: &Path, _stop: &AtomicBool) -> Result<()> {
    let dma = id(cam, DMA)?;
    let b = Camera::open(dev)?;
    let frame_bytes = usize::try_from(cam.read_reg(DMA, "FRAME_BYTES")?)?;
    for f in [cam, &b] {
        f.subscribe(dma, EventType::BufferDone as u32, true)?;
    }
    let mine: Vec<DmaBuffer> = (0..2)
        .map(|_| DmaBuffer::alloc(Allocator::Heap, frame_bytes))
        .collect::<Result<_>>()?;
    let hm: Vec<u32> = mine
        .iter()
        .map(|m| import(cam, dma, m, 0).map(|r| r.handle))
        .collect::<Result<_>>()?;
    let theirs = DmaBuffer::alloc(Allocator::Heap, frame_bytes)?;
    let ht = import(&b, dma, &theirs, 0)?.handle;
    cam.run(&mut [
        buf_op(Opcode::QueueBuffer, dma, u64::from(hm[0])),
        buf_op(Opcode::QueueBuffer, dma, u64::from(hm[1])),
    ])?;
    b.run(&mut [buf_op(Opcode::QueueBuffer, dma, u64::from(ht))])?;
    write_regs(cam, &[(SENSOR, "CTRL", 1)])?;
    let done = |e: &Event| e.event == EventType::BufferDone as u32;
    let a1 = wait_event(cam, LONG, done)?;
    let a2 = wait_event(cam, LONG, done)?;
    let b1 = wait_event(&b, LONG, done)?;
    write_regs(cam, &[(SENSOR, "CTRL", 0)])?;
    ensure!(
        (a1.sequence, a2.sequence, b1.sequence) == (0, 1, 0),
        "sequences {} {} (ours) {} (theirs)",
        a1.sequence,
        a2.sequence,
        b1.sequence
    );
    ensure!(
        [a1.data[1], a2.data[1]] == [u64::from(hm[0]), u64::from(hm[1])]
            && b1.data[1] == u64::from(ht),
        "handles: ours {} {}, theirs {}",
        a1.data[1],
        a2.data[1],
        b1.data[1]
    );
    ensure!(
        a1.data[0] < a2.data[0] && a1.status == 0 && b1.status == 0,
        "frames, statuses"
    );
    // Nothing of the other file's reached either.
    for f in [cam, &b] {
        if let Some(e) = f.dqevent()? {
            ensure!(!done(&e), "a third BUFFER_DONE: {e:?}");
        }
    }
    Ok(())
}

/// The ISP's parameter buffer: valid ones apply (registers, the statistics' echo), invalid ones change nothing,
/// other bytes are only counted.
fn isp_params(cam: &Camera, stop: &AtomicBool) -> Result<()> {
    let p = IspConfig {
        black_level: 70,
        wb_gain: [300, 256, 420],
    };
    ensure!(
        xfer(cam, &params_bytes(&p.to_params()))? == 0,
        "valid parameters refused"
    );
    let regs = |cam: &Camera| -> Result<[u64; 5]> {
        Ok([
            cam.read_reg(ISP, "BLACK_LEVEL")?,
            cam.read_reg(ISP, "WB_GAIN_R")?,
            cam.read_reg(ISP, "WB_GAIN_G")?,
            cam.read_reg(ISP, "WB_GAIN_B")?,
            cam.read_reg(ISP, "PARAMS_SEQ")?,
        ])
    };
    let now = regs(cam)?;
    ensure!(
        now == [70, 300, 256, 420, 1],
        "after valid parameters: {now:?}"
    );
    for bad in [
        IspParams {
            wb_gain: [5000, 256, 256],
            ..p.to_params()
        },
        IspParams {
            black_level: 1024,
            ..p.to_params()
        },
        IspParams {
            flags: 1,
            ..p.to_params()
        },
        IspParams {
            reserved: [1, 0],
            ..p.to_params()
        },
    ] {
        let st = xfer(cam, &params_bytes(&bad))?;
        ensure!(
            st == -libc::EINVAL && regs(cam)? == now,
            "invalid {bad:?}: status {st}"
        );
    }
    ensure!(xfer(cam, &[1, 2, 3])? == 0, "plain bytes refused");
    let after = regs(cam)?;
    ensure!(
        after[..4] == now[..4] && after[4] == 2,
        "plain bytes changed the parameters: {after:?}"
    );
    // The statistics of a frame echo its settings.
    write_regs(cam, &[(SENSOR, "EXPOSURE", 4321), (SENSOR, "GAIN", 20)])?;
    let mut st = Stream::new(
        cam,
        &Setup {
            width: 320,
            height: 240,
            format: v::FMT_RGB24,
            image_buffers: 0,
            stats_buffers: 1,
            alloc: Allocator::Udmabuf,
        },
    )?;
    st.start()?;
    let d = st.next(LONG, stop)?;
    let s = st.stats(d.handle)?;
    st.stop()?;
    ensure!(d.sink == Sink::Stats && d.status == 0, "{d:?}");
    ensure!(
        s.version == v::STATS_V1
            && s.frame == d.frame
            && (s.width, s.height) == (320, 240)
            && (s.exposure, s.gain) == (4321, 20)
            && s.black_level == 70
            && s.wb_gain == [300, 256, 420],
        "statistics header {:?}",
        (
            s.version,
            s.frame,
            s.width,
            s.height,
            s.exposure,
            s.gain,
            s.black_level,
            s.wb_gain
        )
    );
    ensure!(
        cam.read_reg(ISP, "STATS_SUM")? == u64::from(s.raw_sum),
        "STATS_SUM is not the last frame's raw sum"
    );
    Ok(())
}

/// Captured frames and statistics are what the renderer makes of the settings (run here on the host), and mean
/// what they should: the stamp is the frame number, the bars and the box are where they belong.
fn frame_content(cam: &Camera, stop: &AtomicBool) -> Result<()> {
    let isp = IspConfig {
        black_level: v::PEDESTAL,
        wb_gain: [256; 3],
    };
    let cases = [
        (v::PATTERN_BARS, v::ILLUM_NEUTRAL, v::FMT_RGB24),
        (v::PATTERN_GRADIENT, v::ILLUM_WARM, v::FMT_RGB24),
        (v::PATTERN_BOX, v::ILLUM_NEUTRAL, v::FMT_RGB24),
        (v::PATTERN_GREY, v::ILLUM_COOL, v::FMT_RGB24),
        (v::PATTERN_BARS, v::ILLUM_WARM, v::FMT_YUYV),
        (v::PATTERN_BOX, v::ILLUM_NEUTRAL, v::FMT_YUYV),
    ];
    for (pattern, illuminant, format) in cases {
        program(cam, pattern, illuminant, 8000, 16, &isp)?;
        let mut st = Stream::new(
            cam,
            &Setup {
                width: 320,
                height: 240,
                format,
                image_buffers: 2,
                stats_buffers: 2,
                alloc: Allocator::Heap,
            },
        )?;
        st.start()?;
        // The first image and the statistics of the same frame.
        let mut image = None;
        let mut stats: Vec<(u32, Stats)> = Vec::new();
        while image
            .as_ref()
            .is_none_or(|(f, _)| !stats.iter().any(|(s, _)| s == f))
        {
            let d = st.next(LONG, stop)?;
            ensure!(d.status == 0, "{d:?}");
            match d.sink {
                Sink::Image if image.is_none() => {
                    image = Some((
                        d.frame,
                        st.image(d.handle)?
                            .get(..st.frame_bytes)
                            .unwrap_or(&[])
                            .to_vec(),
                    ))
                }
                Sink::Image => {}
                Sink::Stats => stats.push((d.frame, st.stats(d.handle)?)),
            }
            st.requeue(d.sink, d.handle)?;
        }
        st.stop()?;
        drop(st);
        let (frame, bytes) = image.context("no image")?;
        let cfg = SensorConfig {
            width: 320,
            height: 240,
            pattern,
            illuminant,
            exposure: 8000,
            gain: 16,
            frame,
        };
        let (want, want_stats) = host_render(&cfg, &isp, format)?;
        let differ = bytes.iter().zip(&want).filter(|(a, b)| a != b).count();
        ensure!(differ == 0 && bytes.len() == want.len(), "pattern {pattern} format {format} frame {frame}: {differ} bytes differ from the renderer's");
        let got_stats = stats
            .iter()
            .find(|(f, _)| *f == frame)
            .map(|(_, s)| s)
            .context("stats")?;
        ensure!(
            *got_stats == want_stats,
            "pattern {pattern}: the statistics of frame {frame} differ from the renderer's"
        );
        ensure!(
            frame::read_stamp(format, 320, &bytes) == Some(frame),
            "stamp of frame {frame}"
        );
        if format != v::FMT_RGB24 {
            continue;
        }
        // What the pictures show, in words: a white bar at the left, black at the right; the box where it moves to.
        if pattern == v::PATTERN_BARS {
            let white = (0..3)
                .map(|c| mean(&bytes, 320, 4, 36, 16, 240, c))
                .collect::<Vec<_>>();
            let black = (0..3)
                .map(|c| mean(&bytes, 320, 284, 316, 16, 240, c))
                .collect::<Vec<_>>();
            ensure!(
                white.iter().all(|m| (m - 204.0).abs() < 4.0) && black.iter().all(|m| *m < 3.0),
                "bars {white:?} {black:?}"
            );
        }
        if pattern == v::PATTERN_BOX {
            let (x, y, side) = frame::box_rect(320, 240, frame);
            let inside = mean(&bytes, 320, x + 2, x + side - 2, y + 2, y + side - 2, 1);
            ensure!(
                (inside - 204.0).abs() < 4.0,
                "box of frame {frame} at {x},{y}: {inside}"
            );
        }
    }
    Ok(())
}

/// Frames come in order, every one: consecutive frame numbers (also in the pixels), gap-free event sequences.
fn frame_sequence(cam: &Camera, stop: &AtomicBool) -> Result<()> {
    let mut st = Stream::new(
        cam,
        &Setup {
            width: 64,
            height: 48,
            format: v::FMT_RGB24,
            image_buffers: 8,
            stats_buffers: 0,
            alloc: Allocator::Heap,
        },
    )?;
    let done0 = cam.read_reg(DMA, "FRAMES_DONE")?;
    st.start()?;
    let mut seen = Vec::new();
    for _ in 0..30 {
        let d = st.next(LONG, stop)?;
        ensure!(d.status == 0, "{d:?}");
        let stamp = frame::read_stamp(v::FMT_RGB24, 64, &st.image(d.handle)?);
        ensure!(
            stamp == Some(d.frame),
            "frame {} stamped {stamp:?}",
            d.frame
        );
        seen.push((d.frame, d.sequence));
        st.requeue(Sink::Image, d.handle)?;
    }
    st.stop()?;
    let frames: Vec<u32> = seen.iter().map(|s| s.0).collect();
    ensure!(
        frames.windows(2).all(|w| w[1] == w[0] + 1),
        "frames not consecutive: {frames:?}"
    );
    ensure!(
        seen.windows(2).all(|w| w[1].1 == w[0].1 + 1),
        "BUFFER_DONE sequences with a gap"
    );
    ensure!(
        cam.read_reg(DMA, "FRAMES_DONE")? >= done0 + 30,
        "FRAMES_DONE did not count them"
    );
    println!(
        "frames {} to {} consecutive, stamps match",
        frames[0],
        frames[frames.len() - 1]
    );
    Ok(())
}

/// Brightness rises with exposure, twice the exposure twice the level, until the sensor saturates; then it stays.
fn exposure_ramp(cam: &Camera, stop: &AtomicBool) -> Result<()> {
    let isp = IspConfig {
        black_level: v::PEDESTAL,
        wb_gain: [256; 3],
    };
    let exposures = [1000u32, 2000, 4000, 8000, 16_000, 24_000, 32_000, 48_000];
    let mut levels = Vec::new();
    for e in exposures {
        program(cam, v::PATTERN_GREY, v::ILLUM_NEUTRAL, e, 16, &isp)?;
        let mut st = Stream::new(
            cam,
            &Setup {
                width: 160,
                height: 120,
                format: v::FMT_RGB24,
                image_buffers: 1,
                stats_buffers: 0,
                alloc: Allocator::Heap,
            },
        )?;
        st.start()?;
        let d = st.next(LONG, stop)?;
        let img = st
            .image(d.handle)?
            .get(..st.frame_bytes)
            .unwrap_or(&[])
            .to_vec();
        st.stop()?;
        levels.push(mean(&img, 160, 0, 160, v::STAMP_ROWS, 120, 1));
    }
    println!(
        "exposure (us) -> mean level: {}",
        exposures
            .iter()
            .zip(&levels)
            .map(|(e, l)| format!("{e}:{l:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let sat = levels
        .iter()
        .position(|l| *l >= 254.5)
        .context("never saturated")?;
    ensure!(sat >= 4, "saturated too early: {levels:?}");
    for i in 0..sat {
        let next = levels[i + 1];
        ensure!(
            next > levels[i],
            "not rising at {} us: {levels:?}",
            exposures[i + 1]
        );
        if i < 3 {
            let r = next / levels[i];
            ensure!(
                (1.8..=2.2).contains(&r),
                "twice the exposure gave {r:.2}x: {levels:?}"
            );
        }
    }
    ensure!(
        levels[sat..].iter().all(|l| *l >= 254.5),
        "not staying saturated: {levels:?}"
    );
    Ok(())
}

/// A lost frame end (`lose_events`) leaves its buffer queued, not written; the next good frame writes it.
fn buffer_lost(cam: &Camera) -> Result<()> {
    let (sensor, dma) = (id(cam, SENSOR)?, id(cam, DMA)?);
    let frame_bytes = usize::try_from(cam.read_reg(DMA, "FRAME_BYTES")?)?;
    let x = DmaBuffer::alloc(Allocator::Heap, frame_bytes)?;
    x.fill(SENTINEL)?;
    let h = import(cam, dma, &x, 0)?.handle;
    cam.subscribe(sensor, EventType::FrameStart as u32, true)?;
    cam.subscribe(sensor, EventType::FrameEnd as u32, true)?;
    cam.subscribe(dma, EventType::BufferDone as u32, true)?;
    set_faults("lose_events=3")?;
    cam.run(&mut [
        buf_op(Opcode::QueueBuffer, dma, u64::from(h)),
        cam.op(Opcode::Write, SENSOR, "CTRL", 1)?,
    ])?;
    let start = |e: &Event| e.event == EventType::FrameStart as u32;
    let mut other = Vec::new();
    for _ in 0..2 {
        let e = wait_event(cam, LONG, |e| {
            if !start(e) {
                other.push(*e);
            }
            start(e)
        })?;
        ensure!(e.data[0] <= 3, "frame {} started", e.data[0]);
    }
    // Two lost frames have started (and the first one's end is lost): the buffer is as we left it, still queued.
    std::thread::sleep(Duration::from_millis(40));
    let queued = cam.read_reg(DMA, "QUEUED")?;
    let untouched = x.read()?.iter().all(|b| *b == SENTINEL);
    let done = wait_event(cam, LONG, |e| e.event == EventType::BufferDone as u32)?;
    write_regs(cam, &[(SENSOR, "CTRL", 0)])?;
    ensure!(other.is_empty(), "events of lost frames: {other:?}");
    ensure!(
        queued == 1 && untouched,
        "during lost frames: QUEUED {queued}, untouched {untouched}"
    );
    ensure!(
        done.status == 0 && done.data[0] == 4,
        "BUFFER_DONE {done:?}, want frame 4 (1 to 3 lost)"
    );
    ensure!(
        frame::read_stamp(v::FMT_RGB24, 320, &x.read()?) == Some(4),
        "the stamp of the buffer"
    );
    Ok(())
}

/// A buffer taken back (`how`: close, release, cancel, reset, removal) while the camera renders into it is never
/// written after: the canceller waits for the write to stop. A big frame makes the write last.
fn taken_back(cam: &Camera, dev: &Path, how: &str) -> Result<()> {
    ensure!(
        ["close", "release", "cancel", "reset", "removal"].contains(&how),
        "unknown case buffer-{how}"
    );
    let (sensor, dma) = (id(cam, SENSOR)?, id(cam, DMA)?);
    write_regs(cam, &[(SENSOR, "WIDTH", 1280), (SENSOR, "HEIGHT", 720)])?;
    let frame_bytes = usize::try_from(cam.read_reg(DMA, "FRAME_BYTES")?)?;
    let b = Camera::open(dev)?;
    let x = DmaBuffer::alloc(Allocator::Heap, frame_bytes)?;
    x.fill(SENTINEL)?;
    let h = import(&b, dma, &x, 0)?.handle;
    b.subscribe(dma, EventType::BufferDone as u32, true)?;
    cam.subscribe(sensor, EventType::FrameStart as u32, true)?;
    b.run(&mut [buf_op(Opcode::QueueBuffer, dma, u64::from(h))])?;
    write_regs(cam, &[(SENSOR, "CTRL", 1)])?;
    wait_event(cam, LONG, |e| e.event == EventType::FrameStart as u32)?;
    // The frame's render has started with our buffer: take it back while it runs.
    std::thread::sleep(Duration::from_millis(20));
    let t = Instant::now();
    let mut b = Some(b);
    match how {
        "close" => drop(b.take()),
        "release" => b.as_ref().context("b")?.release_buffer(h)?,
        "cancel" => {
            let mut ops = [buf_op(Opcode::CancelBuffer, dma, u64::from(h))];
            b.as_ref().context("b")?.submit(&mut ops, 0)?;
            ensure!(
                ops[0].status == 0 && ops[0].result == 1,
                "CANCEL_BUFFER of a buffer being written: {:?}",
                (ops[0].status, ops[0].result)
            );
        }
        "reset" => cam.reset()?,
        _ => set_faults("remove=1")?,
    }
    let took = t.elapsed();
    let after = x.read()?.to_vec();
    let written = after.iter().filter(|b| **b != SENTINEL).count();
    println!(
        "{how} took {} ms and left {written} of {} bytes written (a frame in progress: {})",
        took.as_millis(),
        after.len(),
        written > 0 && written < frame_bytes * 9 / 10
    );
    // The camera goes on making frames (not after removal): a buffer of ours is written meanwhile, the taken one not.
    if how == "removal" {
        std::thread::sleep(Duration::from_millis(1500));
        if let Some(b) = &b {
            let e = b
                .release_buffer(h)
                .err()
                .context("an ioctl after removal worked")?;
            ensure!(errno(&e) == libc::ENODEV, "after removal: {e}");
        }
    } else {
        if how == "reset" {
            let e = wait_event(b.as_ref().context("b")?, LONG, |e| {
                e.event == EventType::BufferDone as u32
            })?;
            ensure!(
                e.status == -libc::ECANCELED && e.data[1] == u64::from(h),
                "BUFFER_DONE after reset: {e:?}"
            );
            write_regs(
                cam,
                &[
                    (SENSOR, "WIDTH", 1280),
                    (SENSOR, "HEIGHT", 720),
                    (SENSOR, "CTRL", 1),
                ],
            )?;
        }
        let y = DmaBuffer::alloc(Allocator::Heap, frame_bytes)?;
        let hy = import(cam, dma, &y, 0)?.handle;
        cam.subscribe(dma, EventType::BufferDone as u32, true)?;
        cam.run(&mut [buf_op(Opcode::QueueBuffer, dma, u64::from(hy))])?;
        let e = wait_event(cam, LONG, |e| e.event == EventType::BufferDone as u32)?;
        ensure!(
            e.status == 0 && e.data[1] == u64::from(hy),
            "the camera's next buffer: {e:?}"
        );
        write_regs(cam, &[(SENSOR, "CTRL", 0)])?;
        if how == "cancel" || how == "release" {
            // Still ours (cancel), or the handle is gone (release): either way, not queued again by anyone.
            ensure!(cam.read_reg(DMA, "QUEUED")? == 0, "buffers left queued");
        }
    }
    let now = x.read()?;
    let changed = now.iter().zip(&after).filter(|(a, b)| a != b).count();
    ensure!(changed == 0, "{changed} bytes written after {how} returned");
    Ok(())
}
