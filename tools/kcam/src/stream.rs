// SPDX-License-Identifier: GPL-2.0
//! Streaming vcam's frames and statistics into dma-bufs: a [`Stream`] sets the frame size and format, allocates
//! and imports the buffers (image buffers for vcam-dma, statistics buffers for vcam-isp), queues them, streams, and
//! hands out each buffer the camera is done with ([`Stream::next`]) until it is queued again.
//!
//! vcam's names are used: entities `vcam-sensor`, `vcam-isp`, `vcam-dma` and their registers (see `vcam.h`).

use crate::camera::Camera;
use crate::dmabuf::{Allocator, DmaBuffer, ReadGuard};
use crate::uapi::{EventType, Op, Opcode, ENTITY_FLAG_BUFFERS};
use crate::vcam_uapi::Stats;
use anyhow::{bail, ensure, Context, Result};
use std::{
    os::fd::AsRawFd,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

pub const SENSOR: &str = "vcam-sensor";
pub const ISP: &str = "vcam-isp";
pub const DMA: &str = "vcam-dma";

/// What to stream.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    pub width: u32,
    pub height: u32,
    /// `VCAM_FMT_*`.
    pub format: u32,
    pub image_buffers: usize,
    pub stats_buffers: usize,
    pub alloc: Allocator,
}

/// The two kinds of buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    Image,
    Stats,
}

/// A buffer the camera is done with (a `BUFFER_DONE` event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub sink: Sink,
    pub handle: u32,
    /// The sensor's frame number.
    pub frame: u32,
    /// 0 (written) or a negative errno.
    pub status: i32,
    /// The event's sequence (per file and entity, gap-free).
    pub sequence: u64,
    pub timestamp_ns: u64,
}

struct Slot {
    buf: DmaBuffer,
    handle: u32,
}

/// See the module documentation. Dropping it stops streaming and releases its buffers.
pub struct Stream<'c> {
    cam: &'c Camera,
    sensor: u32,
    isp: u32,
    dma: u32,
    pub width: u32,
    pub height: u32,
    pub format: u32,
    /// Bytes of one frame.
    pub frame_bytes: usize,
    images: Vec<Slot>,
    stats: Vec<Slot>,
}

/// Writes registers `(entity, register, value)` as one list.
pub fn write_regs(cam: &Camera, regs: &[(&str, &str, u64)]) -> Result<()> {
    let mut ops = regs
        .iter()
        .map(|(e, r, v)| cam.op(Opcode::Write, e, r, *v))
        .collect::<Result<Vec<_>>>()?;
    cam.run(&mut ops)
        .with_context(|| format!("writing {regs:?}"))
}

impl<'c> Stream<'c> {
    /// Sets up a stream on `cam` (not yet started): frame size and format, buffers allocated and imported, their
    /// `BUFFER_DONE` events subscribed to.
    pub fn new(cam: &'c Camera, setup: &Setup) -> Result<Self> {
        ensure!(
            cam.caps.flags & crate::uapi::CAP_BUFFERS != 0,
            "the camera takes no buffers (a kernel without KCAM_CAP_BUFFERS)"
        );
        let id = |name| cam.entity_by_name(name).map(|e| e.0.id);
        let (sensor, isp, dma) = (id(SENSOR)?, id(ISP)?, id(DMA)?);
        for e in [isp, dma] {
            let d = &cam
                .entities
                .iter()
                .find(|x| x.0.id == e)
                .context("entity")?
                .0;
            ensure!(
                d.flags & ENTITY_FLAG_BUFFERS != 0,
                "entity {e} writes no buffers"
            );
        }
        write_regs(cam, &[(SENSOR, "CTRL", 0)])?;
        write_regs(
            cam,
            &[
                (SENSOR, "WIDTH", u64::from(setup.width)),
                (SENSOR, "HEIGHT", u64::from(setup.height)),
                (DMA, "FORMAT", u64::from(setup.format)),
            ],
        )
        .context("setting the frame size and format (vcam.h: width a multiple of 32 in 64..=1920, height of 8 in 48..=1080; not while another program streams)")?;
        let frame_bytes = usize::try_from(cam.read_reg(DMA, "FRAME_BYTES")?)?;
        let mut s = Self {
            cam,
            sensor,
            isp,
            dma,
            width: setup.width,
            height: setup.height,
            format: setup.format,
            frame_bytes,
            images: Vec::new(),
            stats: Vec::new(),
        };
        for (sink, n, size) in [
            (Sink::Image, setup.image_buffers, frame_bytes),
            (Sink::Stats, setup.stats_buffers, size_of::<Stats>()),
        ] {
            for _ in 0..n {
                let buf = DmaBuffer::alloc(setup.alloc, size)?;
                let entity = s.entity(sink);
                let imp = cam
                    .import_buffer(entity, buf.fd())
                    .map_err(|(e, _)| e)
                    .context("KCAM_IOC_IMPORT_BUFFER")?;
                let slot = Slot {
                    buf,
                    handle: imp.handle,
                };
                match sink {
                    Sink::Image => s.images.push(slot),
                    Sink::Stats => s.stats.push(slot),
                }
            }
        }
        for e in [dma, isp] {
            cam.subscribe(e, EventType::BufferDone as u32, true)
                .context("subscribing to BUFFER_DONE")?;
        }
        Ok(s)
    }

    fn entity(&self, sink: Sink) -> u32 {
        match sink {
            Sink::Image => self.dma,
            Sink::Stats => self.isp,
        }
    }

    /// The handles of the buffers of `sink`.
    pub fn handles(&self, sink: Sink) -> Vec<u32> {
        let v = match sink {
            Sink::Image => &self.images,
            Sink::Stats => &self.stats,
        };
        v.iter().map(|s| s.handle).collect()
    }

    /// A `QUEUE_BUFFER` op for buffer `handle` of `sink`.
    pub fn queue_op(&self, sink: Sink, handle: u32) -> Op {
        let mut op = Op::new(Opcode::QueueBuffer, self.entity(sink), 0);
        op.value = u64::from(handle);
        op
    }

    /// Queues every buffer and starts streaming, in one list.
    pub fn start(&mut self) -> Result<()> {
        let mut ops: Vec<Op> = self
            .images
            .iter()
            .map(|s| self.queue_op(Sink::Image, s.handle))
            .chain(
                self.stats
                    .iter()
                    .map(|s| self.queue_op(Sink::Stats, s.handle)),
            )
            .collect();
        ops.push(self.cam.op(Opcode::Write, SENSOR, "CTRL", 1)?);
        self.cam.run(&mut ops)
    }

    /// Stops streaming.
    pub fn stop(&mut self) -> Result<()> {
        write_regs(self.cam, &[(SENSOR, "CTRL", 0)])
    }

    /// Queues buffer `handle` of `sink` again.
    pub fn requeue(&self, sink: Sink, handle: u32) -> Result<()> {
        self.cam.run(&mut [self.queue_op(sink, handle)])
    }

    /// The next buffer the camera is done with, waiting at most `timeout` (in `poll` on the camera, which needs a
    /// kernel with KCAM's `poll`); `stop` (a signal's flag) ends the wait with an error.
    pub fn next(&mut self, timeout: Duration, stop: &AtomicBool) -> Result<Delivered> {
        let deadline = Instant::now() + timeout;
        loop {
            if stop.load(Ordering::Relaxed) {
                bail!("interrupted");
            }
            match self.cam.dqevent().context("KCAM_IOC_DQEVENT")? {
                Some(e) if e.event == EventType::BufferDone as u32 => {
                    let sink = if e.entity_id == self.dma {
                        Sink::Image
                    } else {
                        Sink::Stats
                    };
                    return Ok(Delivered {
                        sink,
                        // CAST: handles are 32 bits.
                        handle: e.data[1] as u32,
                        // CAST: vcam's frame numbers are 32 bits.
                        frame: e.data[0] as u32,
                        status: e.status,
                        sequence: e.sequence,
                        timestamp_ns: e.timestamp_ns,
                    });
                }
                Some(_) => continue,
                None => {
                    let now = Instant::now();
                    if now > deadline {
                        bail!("no buffer came back within {} ms", timeout.as_millis());
                    }
                    // Sleeps until an event comes (the camera fd is readable while events are queued), a signal
                    // (poll is never restarted) or at most 100 ms, to look at `stop` again.
                    let wait = (deadline - now).min(Duration::from_millis(100));
                    let mut p = libc::pollfd {
                        fd: self.cam.file.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: One valid `pollfd`, alive for the call.
                    let rc = unsafe { libc::poll(&mut p, 1, wait.as_millis() as libc::c_int) };
                    if rc < 0 {
                        let e = std::io::Error::last_os_error();
                        if e.kind() != std::io::ErrorKind::Interrupted {
                            return Err(e).context("poll on the camera");
                        }
                    } else if p.revents & (libc::POLLERR | libc::POLLHUP) != 0 {
                        bail!("the camera was removed");
                    }
                }
            }
        }
    }

    fn slot(&self, sink: Sink, handle: u32) -> Result<&Slot> {
        let v = match sink {
            Sink::Image => &self.images,
            Sink::Stats => &self.stats,
        };
        v.iter()
            .find(|s| s.handle == handle)
            .with_context(|| format!("no buffer {handle}"))
    }

    /// The bytes of image buffer `handle` (only while it is not queued).
    pub fn image(&self, handle: u32) -> Result<ReadGuard<'_>> {
        self.slot(Sink::Image, handle)?.buf.read()
    }

    /// The statistics in statistics buffer `handle` (only while it is not queued).
    pub fn stats(&self, handle: u32) -> Result<Stats> {
        let g = self.slot(Sink::Stats, handle)?.buf.read()?;
        stats_from(&g)
    }

    /// The sensor's entity id.
    pub fn sensor(&self) -> u32 {
        self.sensor
    }
}

/// The statistics in a buffer's bytes.
pub fn stats_from(bytes: &[u8]) -> Result<Stats> {
    ensure!(
        bytes.len() >= size_of::<Stats>(),
        "a statistics buffer of {} bytes",
        bytes.len()
    );
    // SAFETY: `bytes` holds at least a `Stats`, a `repr(C)` struct of integers for which every bit pattern is valid
    // (the invariant of vcam_uapi.rs); read unaligned.
    let s = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<Stats>()) };
    Ok(s)
}

impl Drop for Stream<'_> {
    fn drop(&mut self) {
        let _ = self.stop();
        for s in self.images.iter().chain(&self.stats) {
            let _ = self.cam.release_buffer(s.handle);
        }
        for e in [self.dma, self.isp] {
            let _ = self.cam.subscribe(e, EventType::BufferDone as u32, false);
        }
        // Events of this stream still queued (BUFFER_DONE of buffers just released) are not the next one's.
        while let Ok(Some(_)) = self.cam.dqevent() {}
    }
}
