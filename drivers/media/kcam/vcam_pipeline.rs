// SPDX-License-Identifier: GPL-2.0

//! vcam's frame pipeline: the buffers queued on the DMA writer (images) and on the ISP (statistics), the frame job
//! each frame start hands out, the render work that carries it out (`shared/frame.rs`), and the completion that
//! announces the buffers (`BUFFER_DONE` to their files) and the statistics (`STATS_READY`).
//!
//! Contexts: frame start and end come from the frame generator, a timer callback in softirq context. They only
//! move buffers between queues and the job under the IRQ-safe `state` lock, and queue the render work; they never
//! drop a buffer (its mapping goes in process context). Rendering, with its sleeping dma-buf calls, is the work
//! item's, in process context.
//!
//! A frame is rendered once its start hands out a job; a frame that starts while the previous one is still in the
//! pipeline is not rendered (`FRAMES_DROPPED`) and its buffers stay queued for the next. A frame's buffers and
//! statistics are announced once it is both rendered and ended (its FRAME_END came, or streaming stopped), by
//! whichever of the render work and the frame end comes second, under the `state` lock.
//!
//! A buffer is in flight from its queueing until its `BUFFER_DONE` is announced: queued, in the job, being written,
//! or rendered and waiting for its frame's end. Queueing it again meanwhile is `EALREADY`. Taking buffers back
//! ([`Pipeline::cancel`]: a `CANCEL_BUFFER` op, release, close, reset, removal) removes them from wherever they
//! are in flight: from the queues and the job not yet started; one being written is told to stop (checked between
//! pairs of lines), and the canceller waits for the render to end, so that nothing is written once it returns; one
//! rendered and waiting for its frame's end loses its announcement (or, with reset's `-ECANCELED`, gets that one at
//! once). So once a cancel has returned, no `BUFFER_DONE` of that queueing comes, and the file owns the buffer
//! again. Announcements are made under the `state` lock, so a cancel either finds a buffer in flight or comes
//! after its `BUFFER_DONE`.
//!
//! The frame end may announce in the timer callback, where a buffer cannot be dropped: the announced frame keeps
//! its buffers (no longer in flight) until process context lets them go: the next render, a cancel, streaming's
//! stop or the shutdown.

use crate::{
    buffer::Buffer,
    events::{EventHub, FileEvents},
    shared::{
        frame::{self, IspConfig, Renderer, SensorConfig},
        uapi::EventType,
        vcam_uapi::Stats,
    },
};
use kernel::{
    bindings, new_mutex, new_spinlock_irq,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, Mutex, SpinLockIrq,
    },
    time::{Instant, Monotonic},
    transmute::AsBytes,
    workqueue::{self, impl_has_work, new_work, Work, WorkItem},
};

/// Buffers each of the two queues holds at most (more: `EBUSY`).
pub(crate) const QUEUE_LEN: usize = 16;

/// The two kinds of buffers, by where they are queued.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sink {
    /// Frames, queued on the DMA writer.
    Image = 0,
    /// Statistics, queued on the ISP.
    Stats = 1,
}

/// Where the pipeline announces things: the camera's events and vcam's entities (index, id).
pub(crate) struct Entities {
    pub(crate) dma: (usize, u32),
    pub(crate) isp: (usize, u32),
}

/// What a frame is rendered from, latched from the registers at its start.
#[derive(Clone, Copy)]
pub(crate) struct FrameSetup {
    pub(crate) sensor: SensorConfig,
    pub(crate) isp: IspConfig,
    pub(crate) format: u32,
}

/// A frame handed out at its start: its setup and the buffers it writes.
struct FrameJob {
    setup: FrameSetup,
    /// Indexed by [`Sink`].
    buffers: [Option<Arc<Buffer>>; 2],
}

/// A buffer to announce with `BUFFER_DONE`, with that status.
struct Done {
    buf: Arc<Buffer>,
    status: i32,
}

/// A rendered frame, to announce. It holds its buffers, so it is only ever dropped in process context (see the
/// module documentation).
struct Completion {
    frame: u32,
    /// Indexed by [`Sink`].
    done: [Option<Done>; 2],
    /// The frame was measured whole: `STATS_READY`.
    measured: bool,
    raw_sum: u32,
    /// Announced already: its buffers are no longer in flight, only waiting to be dropped in process context.
    announced: bool,
}

/// The pipeline's state, under an IRQ-safe lock (the frame generator changes it in softirq context).
struct State {
    /// Indexed by [`Sink`]; capacity [`QUEUE_LEN`] from the start, so queueing never allocates under the lock.
    queues: [KVec<Arc<Buffer>>; 2],
    /// Handed out at a frame start, not yet taken by the render work.
    pending: Option<FrameJob>,
    /// The buffers being rendered into (the render work holds them too), by [`Sink`].
    active: [Option<Arc<Buffer>>; 2],
    /// Rendered, waiting for its frame to end (not `announced`; then `busy` is set), or announced by the frame end
    /// and kept until process context drops it.
    done: Option<Completion>,
    /// A frame is pending, being rendered or waiting for its end: the next frame start drops its frame.
    busy: bool,
    /// The busy frame has ended.
    ended: bool,
    /// Set once at shutdown: nothing starts or queues any more.
    stopping: bool,
}

/// What only the render work touches.
struct RenderState {
    renderer: KBox<Renderer>,
    /// Two lines of the largest frame.
    scratch: KVec<u8>,
    stats: KBox<Stats>,
}

/// Not a status: a buffer taken back without `BUFFER_DONE`.
const SILENT: i32 = i32::MIN;

/// See the module documentation.
#[pin_data]
pub(crate) struct Pipeline {
    #[pin]
    state: SpinLockIrq<State>,
    /// Per [`Sink`]: 0, or why the buffer being written is taken back (a negative errno to announce, or
    /// [`SILENT`]). Set under `state`'s lock while the buffer is `active`.
    cancel: [Atomic<i32>; 2],
    /// Held by the render work for a whole frame; a canceller takes it to wait for the render to end.
    #[pin]
    render: Mutex<RenderState>,
    events: Arc<EventHub>,
    entities: Entities,
    /// Image buffers written, frames dropped, the last render's duration, the last frame's raw sum.
    frames_done: Atomic<u32>,
    frames_dropped: Atomic<u32>,
    render_us: Atomic<u32>,
    raw_sum: Atomic<u32>,
    #[pin]
    work: Work<Pipeline>,
}

impl_has_work! {
    impl HasWork<Self> for Pipeline { self.work }
}

impl WorkItem for Pipeline {
    type Pointer = Arc<Pipeline>;

    fn run(this: Arc<Pipeline>) {
        this.render_frame();
    }
}

/// Bytes of two lines of the widest frame.
const SCRATCH: usize = 2 * 3 * frame::MAX_BLOCKS * 2;

impl Pipeline {
    pub(crate) fn new(events: Arc<EventHub>, entities: Entities) -> Result<Arc<Self>> {
        let queues = [
            KVec::with_capacity(QUEUE_LEN, GFP_KERNEL)?,
            KVec::with_capacity(QUEUE_LEN, GFP_KERNEL)?,
        ];
        let render = RenderState {
            renderer: KBox::init(pin_init::init_zeroed(), GFP_KERNEL)?,
            scratch: KVec::from_elem(0u8, SCRATCH, GFP_KERNEL)?,
            stats: KBox::init(pin_init::init_zeroed(), GFP_KERNEL)?,
        };
        Arc::pin_init(
            pin_init!(Self {
                state <- new_spinlock_irq!(
                    State {
                        queues,
                        pending: None,
                        active: [None, None],
                        done: None,
                        busy: false,
                        ended: false,
                        stopping: false,
                    },
                    "Pipeline::state"
                ),
                cancel: [Atomic::new(0), Atomic::new(0)],
                render <- new_mutex!(render, "Pipeline::render"),
                events,
                entities,
                frames_done: Atomic::new(0),
                frames_dropped: Atomic::new(0),
                render_us: Atomic::new(0),
                raw_sum: Atomic::new(0),
                work <- new_work!("Pipeline::work"),
            }),
            GFP_KERNEL,
        )
    }

    /// A frame starts (timer callback, softirq): hands out its job with the first buffer of each queue and queues
    /// the render work, unless the previous frame is still in the pipeline (then this frame is dropped).
    pub(crate) fn frame_start(self: &Arc<Self>, setup: FrameSetup) {
        {
            let mut st = self.state.lock();
            if st.stopping {
                return;
            }
            if st.busy {
                drop(st);
                self.frames_dropped.fetch_add(1, Relaxed);
                return;
            }
            let mut take = |sink: Sink| {
                let q = &mut st.queues[sink as usize];
                if q.is_empty() {
                    None
                } else {
                    q.remove(0).ok()
                }
            };
            let buffers = [take(Sink::Image), take(Sink::Stats)];
            st.pending = Some(FrameJob { setup, buffers });
            st.busy = true;
            st.ended = false;
        }
        // Not queued already: a job is handed out only when the pipeline is idle.
        let _ = workqueue::system_unbound().enqueue(self.clone());
    }

    /// The frame ends (timer callback, softirq): announces it if it is rendered already.
    pub(crate) fn frame_end(&self) {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        st.ended = true;
        if let Some(c) = st.done.as_mut().filter(|c| !c.announced) {
            // Under the lock (see the module documentation); its buffers stay until process context drops them.
            self.complete(c);
            c.announced = true;
            st.busy = false;
        }
    }

    /// Streaming stopped: the frame in the pipeline will not get its end, it is announced once rendered.
    pub(crate) fn stream_off(&self) {
        self.frame_end();
        // Process context: the announced frame's buffers can go now.
        let announced = {
            let mut st = self.state.lock();
            if st.done.as_ref().is_some_and(|c| c.announced) {
                st.done.take()
            } else {
                None
            }
        };
        drop(announced);
    }

    /// Queues `buf` on `sink`; returns how many buffers that queue holds. See `Backend::queue_buffer` for the
    /// errors (`ENODEV` once shut down).
    pub(crate) fn queue(&self, sink: Sink, buf: &Arc<Buffer>) -> Result<u64> {
        let mut st = self.state.lock();
        if st.stopping {
            return Err(ENODEV);
        }
        // Under the lock that release's cancellation takes after marking it: see `buffer.rs`.
        if buf.is_released() {
            return Err(ENOENT);
        }
        let is = |b: &Option<Arc<Buffer>>| b.as_ref().is_some_and(|b| Arc::ptr_eq(b, buf));
        // In flight (see the module documentation), up to its BUFFER_DONE.
        let queued = st.queues.iter().flatten().any(|b| Arc::ptr_eq(b, buf))
            || st
                .pending
                .as_ref()
                .is_some_and(|j| j.buffers.iter().any(is))
            || st.active.iter().any(is)
            || st.done.as_ref().is_some_and(|c| {
                !c.announced && c.done.iter().flatten().any(|d| Arc::ptr_eq(&d.buf, buf))
            });
        if queued {
            return Err(EALREADY);
        }
        let q = &mut st.queues[sink as usize];
        q.push_within_capacity(buf.clone()).map_err(|_| EBUSY)?;
        Ok(q.len() as u64)
    }

    /// Buffers queued on `sink`.
    pub(crate) fn queued(&self, sink: Sink) -> usize {
        self.state.lock().queues[sink as usize].len()
    }

    /// Takes back every buffer `which` selects (see the module documentation); with `announce`, their files get
    /// `BUFFER_DONE` with that status. Returns whether any was in flight (queued, being written, or rendered and
    /// waiting for its frame's end).
    pub(crate) fn cancel(&self, which: &dyn Fn(&Buffer) -> bool, announce: Option<Error>) -> bool {
        // The two queues, the job's two buffers, the two of a frame waiting for its end.
        const N: usize = 2 * QUEUE_LEN + 4;
        // Taken out under the lock, with the frame to announce them with, announced and dropped (unmapped) after
        // it: no allocation needed.
        let mut gone: [Option<(Arc<Buffer>, u32)>; N] = core::array::from_fn(|_| None);
        let mut n = 0;
        let mut wait = false;
        let mut announced = None;
        {
            let mut st = self.state.lock();
            let mut stash = |b: Arc<Buffer>, frame: u32| {
                if let Some(slot) = gone.get_mut(n) {
                    *slot = Some((b, frame));
                    n += 1;
                }
            };
            for q in st.queues.iter_mut() {
                while let Some(i) = q.iter().position(|b| which(b)) {
                    if let Ok(b) = q.remove(i) {
                        stash(b, 0);
                    }
                }
            }
            if let Some(job) = &mut st.pending {
                for slot in job.buffers.iter_mut() {
                    if slot.as_ref().is_some_and(|b| which(b)) {
                        if let Some(b) = slot.take() {
                            stash(b, 0);
                        }
                    }
                }
            }
            match &mut st.done {
                Some(c) if !c.announced => {
                    // Rendered, its frame not ended: its announcement goes (or becomes the cancel's).
                    for slot in c.done.iter_mut() {
                        if slot.as_ref().is_some_and(|d| which(&d.buf)) {
                            if let Some(d) = slot.take() {
                                stash(d.buf, c.frame);
                            }
                        }
                    }
                }
                // Announced: nothing in flight; its buffers can go here, in process context.
                Some(_) => announced = st.done.take(),
                None => {}
            }
            let code = announce.map_or(SILENT, |e| e.to_errno());
            for (sink, a) in st.active.iter().enumerate() {
                if a.as_ref().is_some_and(|b| which(b)) {
                    self.cancel[sink].store(code, Relaxed);
                    wait = true;
                }
            }
        }
        if wait {
            // The render work holds this for the whole frame and stops writing at its next pair of lines.
            drop(self.render.lock());
        }
        for (b, frame) in gone.iter().flatten() {
            if let Some(e) = announce {
                self.announce(b.entity, &b.events, b.handle, *frame, e.to_errno());
            }
        }
        drop(announced);
        wait || n > 0
    }

    /// `KCAM_IOC_RESET`: every buffer back to its file with `BUFFER_DONE` `-ECANCELED` (a write in progress stops),
    /// a frame rendered already announced, the counters cleared.
    pub(crate) fn reset(&self) {
        self.stream_off();
        self.cancel(&|_| true, Some(ECANCELED));
        self.frames_done.store(0, Relaxed);
        self.frames_dropped.store(0, Relaxed);
        self.render_us.store(0, Relaxed);
        self.raw_sum.store(0, Relaxed);
    }

    /// Removal or unload: nothing starts or queues any more, every buffer is let go of without an announcement,
    /// and the render work has finished when this returns.
    pub(crate) fn shutdown(&self) {
        let done = {
            let mut st = self.state.lock();
            st.stopping = true;
            st.done.take()
        };
        // Not announced; its buffers go here, in process context.
        drop(done);
        self.cancel(&|_| true, None);
        self.flush();
    }

    /// Waits until the render work queued so far has finished (process context).
    pub(crate) fn flush(&self) {
        // SAFETY: `self.work` is initialised and lives as long as `self`; `Work` wraps a `struct work_struct`.
        let work = unsafe { Work::raw_get(core::ptr::from_ref(&self.work)) };
        // SAFETY: `work` is the work item embedded in `self`, valid while `self` is.
        unsafe { bindings::flush_work(work) };
    }

    /// Image buffers written so far.
    pub(crate) fn frames_done(&self) -> u32 {
        self.frames_done.load(Relaxed)
    }

    /// Frames not rendered because the previous one was still in the pipeline.
    pub(crate) fn frames_dropped(&self) -> u32 {
        self.frames_dropped.load(Relaxed)
    }

    /// How long the last frame took to render, in microseconds.
    pub(crate) fn render_us(&self) -> u32 {
        self.render_us.load(Relaxed)
    }

    /// The raw sum of the last frame measured (the ISP's `STATS_SUM`).
    pub(crate) fn raw_sum(&self) -> u32 {
        self.raw_sum.load(Relaxed)
    }

    /// The render work: renders the pending job, then announces it or leaves it for its frame end.
    fn render_frame(&self) {
        let mut rs = self.render.lock();
        let job = {
            let mut st = self.state.lock();
            let Some(job) = st.pending.take() else {
                return;
            };
            st.active = job.buffers.clone();
            for c in &self.cancel {
                c.store(0, Relaxed);
            }
            job
        };
        let start = Instant::<Monotonic>::now();
        let (results, measured) = self.render_into(&mut rs, &job);
        let us = start.elapsed().as_micros_ceil();
        // CAST: clamped to u32.
        self.render_us
            .store(us.clamp(0, i64::from(u32::MAX)) as u32, Relaxed);
        let frame = job.setup.sensor.frame;
        let mut done: [Option<Done>; 2] = [None, None];
        for (sink, (buf, result)) in job.buffers.iter().zip(results).enumerate() {
            let Some(buf) = buf else {
                continue;
            };
            let status = match self.cancel[sink].load(Relaxed) {
                0 => result.err().map_or(0, |e| e.to_errno()),
                SILENT => continue,
                e => e,
            };
            if status == 0 && sink == Sink::Image as usize {
                self.frames_done.fetch_add(1, Relaxed);
            }
            done[sink] = Some(Done {
                buf: buf.clone(),
                status,
            });
        }
        let completion = Completion {
            frame,
            done,
            measured,
            raw_sum: rs.renderer.raw_sum(),
            announced: false,
        };
        let (gone, active, previous) = {
            let mut st = self.state.lock();
            let active = core::mem::take(&mut st.active);
            // The previous frame, announced already: this job was handed out once it no longer was `busy`.
            let previous = st.done.take();
            let gone = if st.stopping {
                Some(completion)
            } else if st.ended {
                st.busy = false;
                // Under the lock (see the module documentation).
                self.complete(&completion);
                Some(completion)
            } else {
                // Waiting for its frame to end, its buffers in flight until then.
                st.done = Some(completion);
                None
            };
            (gone, active, previous)
        };
        // Our references, the copies in `active` and the frames no longer needed go here, in process context.
        drop(gone);
        drop(previous);
        drop(active);
        drop(job);
        drop(rs);
    }

    /// Whether the buffer of `sink` is still to be written.
    fn wanted(&self, sink: Sink) -> bool {
        self.cancel[sink as usize].load(Relaxed) == 0
    }

    /// Renders `job`: the image into its image buffer a pair of lines at a time, the statistics into its
    /// statistics buffer. Returns each buffer's outcome and whether the frame was measured whole.
    fn render_into(&self, rs: &mut RenderState, job: &FrameJob) -> ([Result; 2], bool) {
        let RenderState {
            renderer,
            scratch,
            stats,
        } = rs;
        let setup = &job.setup;
        if !renderer.start(&setup.sensor, &setup.isp, setup.format) {
            return ([Err(EINVAL), Err(EINVAL)], false);
        }
        let mut results = [Ok(()), Ok(())];
        let need = frame::frame_bytes(setup.format, setup.sensor.width, setup.sensor.height);
        let image = job.buffers[Sink::Image as usize].as_deref();
        let mut writer = match image {
            Some(b) if need.is_none_or(|n| b.size() < n) => {
                results[0] = Err(ENOSPC);
                None
            }
            Some(b) => match b.begin_write() {
                Ok(w) => Some(w),
                Err(e) => {
                    results[0] = Err(e);
                    None
                }
            },
            None => None,
        };
        let chunk = 2 * renderer.stride();
        let Some(lines) = scratch.get_mut(..chunk) else {
            return ([Err(EINVAL), Err(EINVAL)], false);
        };
        // A frame without buffers is still rendered, for its statistics; one whose buffers were all taken back is
        // given up.
        let had_buffers = job.buffers.iter().any(Option::is_some);
        let mut measured = true;
        for pair in 0..renderer.pairs() {
            if writer.is_some() && !self.wanted(Sink::Image) {
                // Taken back: not a byte more (ending the CPU access).
                writer = None;
            }
            if had_buffers && !self.wanted_any(job) {
                measured = false;
                break;
            }
            if renderer.render_pair(pair, lines).is_err() {
                measured = false;
                break;
            }
            if let Some(w) = &writer {
                let off = (pair as usize).saturating_mul(chunk);
                if let Err(e) = w.write(off, lines) {
                    results[0] = Err(e);
                    writer = None;
                }
            }
        }
        drop(writer);
        renderer.finish(stats);
        if let Some(b) = job.buffers[Sink::Stats as usize].as_deref() {
            if self.wanted(Sink::Stats) {
                let bytes = stats.as_bytes();
                results[1] = if !measured {
                    Err(ECANCELED)
                } else if b.size() < bytes.len() {
                    Err(ENOSPC)
                } else {
                    b.begin_write().and_then(|w| w.write(0, bytes))
                };
            }
        }
        (results, measured)
    }

    /// Whether any buffer of `job` is still to be written.
    fn wanted_any(&self, job: &FrameJob) -> bool {
        job.buffers
            .iter()
            .enumerate()
            .any(|(sink, b)| b.is_some() && self.cancel[sink].load(Relaxed) == 0)
    }

    /// Announces a frame: its buffers to their files, its statistics to everyone subscribed. Called under the
    /// `state` lock (any context).
    fn complete(&self, c: &Completion) {
        for (sink, d) in c.done.iter().enumerate() {
            if let Some(d) = d {
                let idx = if sink == Sink::Image as usize {
                    self.entities.dma.0
                } else {
                    self.entities.isp.0
                };
                self.announce(idx, &d.buf.events, d.buf.handle, c.frame, d.status);
            }
        }
        if c.measured {
            self.raw_sum.store(c.raw_sum, Relaxed);
            let (idx, id) = self.entities.isp;
            self.events
                .emit(idx, id, EventType::StatsReady as u32, u64::from(c.frame));
        }
    }

    /// `BUFFER_DONE` of buffer `handle` of entity index `idx` to its file.
    fn announce(&self, idx: usize, events: &FileEvents, handle: u32, frame: u32, status: i32) {
        let id = if idx == self.entities.dma.0 {
            self.entities.dma.1
        } else {
            self.entities.isp.1
        };
        self.events.emit_to(
            events,
            idx,
            id,
            EventType::BufferDone as u32,
            [u64::from(frame), u64::from(handle)],
            status,
        );
    }
}
