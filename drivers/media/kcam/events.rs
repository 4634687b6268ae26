// SPDX-License-Identifier: GPL-2.0

//! KCAM events: entities emit them (vcam's frame generator), files subscribe and dequeue them, and `WAIT_EVENT`
//! operations wait for the next one.
//!
//! Every (entity, event type) pair has its own sequence number, from 0 and without gaps, so a reader sees a loss
//! as a jump. A file's queue holds at most [`QUEUE_LEN`] events; on overflow the oldest goes and `dropped`
//! counts it (reported with the next dequeued event), never silently.
//!
//! `BUFFER_DONE` is a file's own: it goes only to the file whose buffer it announces ([`EventHub::emit_to`]), and
//! its sequence counts that file's `BUFFER_DONE` events of the entity, so the file still sees a loss as a jump.
//!
//! Only files with at least one subscription are on the hub's list, which every emitted event walks with
//! interrupts off; the list has room for the camera's `max_subscribers` from the start (more: `EUSERS`), so
//! subscribing never allocates under the lock and an event's cost is bounded.
//!
//! A file's events reach userspace by `KCAM_IOC_DQEVENT`, by `poll` (readable while events are queued, woken by
//! every event; error and hang-up once the camera is removed) and by an event stream: an io_uring multishot
//! command (`uring.rs`) that its [`Hook`] tells when events or its end wait for it. A stream needs a subscribed
//! file (so every stream is on the hub's list, where removal finds it) and ends when the last subscription goes.

use crate::{
    camera::RunCtx,
    hook::Hook,
    shared::uapi::{Event, EVENT_COUNT},
    waker::{Sleep, Waker},
};
use kernel::{
    fs::File,
    new_spinlock_irq,
    prelude::*,
    static_lock_class,
    sync::{
        poll::{PollCondVar, PollCondVarBox, PollTable},
        Arc, SpinLockIrq,
    },
};

/// Events a file can have queued.
pub(crate) const QUEUE_LEN: usize = 64;

/// An armed event stream (see the module documentation).
///
/// # Invariants
///
/// Only [`Stream::tell`] and [`FileEvents::stream_yield`] call `hook`; while `told` is false, every call of it was
/// answered (`hook.rs`).
struct Stream {
    hook: Hook,
    /// The hook was called and its owner has not come back for what waits ([`FileEvents::stream_step`]).
    told: bool,
    /// How the stream ends once its queue is empty, when decided: 0 (no subscription left) or a negative errno.
    end: Option<i32>,
}

impl Stream {
    /// Calls the hook unless its owner was told already.
    fn tell(&mut self) {
        if !self.told {
            self.told = true;
            // SAFETY: `told` was false: every earlier call was answered (type invariant). Nothing calls the hook
            // again before the owner answers this call: `told`, now true, keeps `tell` from calling until the owner's
            // `stream_step` or `stream_yield`, which it calls acting on this call.
            unsafe { self.hook.call_and_keep() };
        }
    }

    fn end(&mut self, status: i32) {
        self.end.get_or_insert(status);
        self.tell();
    }
}

/// One file's subscriptions and queue.
struct Queue {
    /// Bit `entity_index * EVENT_COUNT + event`.
    subs: u64,
    events: KVec<Event>,
    dropped: u32,
    /// Next sequence number of this file's own events (`BUFFER_DONE`), per entity index.
    own_seq: KVec<u64>,
    stream: Option<Stream>,
}

/// A file's handle on the hub. (IRQ-safe spinlocks here and in the hub: vcam emits from a timer callback.)
#[pin_data]
pub(crate) struct FileEvents {
    #[pin]
    queue: SpinLockIrq<Queue>,
    /// Woken by every event queued here (`poll`). Freed after an RCU grace period, as epoll needs.
    readable: PollCondVarBox,
}

struct HubInner {
    /// Next sequence number per entity index and event type.
    seq: KVec<[u64; EVENT_COUNT as usize]>,
    /// The files with subscriptions; capacity `max_subscribers`, never grown.
    files: KVec<Arc<FileEvents>>,
    /// The camera was removed: no stream starts any more.
    removed: bool,
}

/// The events of one camera.
#[pin_data]
pub(crate) struct EventHub {
    #[pin]
    inner: SpinLockIrq<HubInner>,
    /// Kicked on every event, for `WAIT_EVENT`.
    waker: Arc<Waker>,
    /// Woken once, when the camera is removed (`poll` of every file waits on it too).
    gone: PollCondVarBox,
}

/// What the owner of a stream does next ([`FileEvents::stream_step`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamStep {
    /// Deliver the oldest event ([`FileEvents::dequeue`]); on failure end the stream ([`FileEvents::stream_take`]).
    Event,
    /// The stream has ended (it is disarmed) with this status.
    End(i32),
    /// Nothing waits: the hook will be called again when something does.
    Idle,
}

fn bit(idx: usize, event: u32) -> Result<u64> {
    let b = idx
        .checked_mul(EVENT_COUNT as usize)
        .and_then(|b| b.checked_add(event as usize))
        .ok_or(EINVAL)?;
    if b >= 64 || event >= EVENT_COUNT {
        return Err(EINVAL);
    }
    Ok(1u64 << b)
}

/// CLOCK_MONOTONIC now, in ns, as userspace's `clock_gettime(CLOCK_MONOTONIC)` reads it.
fn now_ns() -> u64 {
    // SAFETY: `ktime_get()` has no preconditions. (`Instant::as_nanos()` is private to the kernel crate.)
    let t = unsafe { kernel::bindings::ktime_get() };
    // CAST: the monotonic clock starts at 0 at boot and never goes back.
    t as u64
}

impl EventHub {
    /// A hub for a camera of `entities` entities and at most `max_subscribers` subscribed files.
    pub(crate) fn new(
        entities: usize,
        max_subscribers: u32,
        waker: Arc<Waker>,
    ) -> Result<Arc<Self>> {
        let seq = KVec::from_elem([0u64; EVENT_COUNT as usize], entities, GFP_KERNEL)?;
        let files = KVec::with_capacity(max_subscribers as usize, GFP_KERNEL)?;
        let gone = PollCondVarBox::new(c"EventHub::gone", static_lock_class!())?;
        Arc::pin_init(
            pin_init!(Self {
                inner <- new_spinlock_irq!(
                    HubInner {
                        seq,
                        files,
                        removed: false
                    },
                    "EventHub::inner"
                ),
                waker,
                gone,
            }),
            GFP_KERNEL,
        )
    }

    /// A new file's events: no subscription yet, so not on the hub's list.
    pub(crate) fn open(&self) -> Result<Arc<FileEvents>> {
        let entities = self.inner.lock().seq.len();
        Arc::pin_init(
            try_pin_init!(FileEvents {
                queue <- new_spinlock_irq!(
                    Queue {
                        subs: 0,
                        events: KVec::with_capacity(QUEUE_LEN, GFP_KERNEL_ACCOUNT)?,
                        dropped: 0,
                        own_seq: KVec::from_elem(0, entities, GFP_KERNEL_ACCOUNT)?,
                        stream: None,
                    },
                    "FileEvents::queue"
                ),
                readable: PollCondVarBox::new(c"FileEvents::readable", static_lock_class!())?,
            }? Error),
            GFP_KERNEL_ACCOUNT,
        )
    }

    /// Subscribes file `f` to (`idx`, `event`), or unsubscribes it. A file's first subscription puts it on the
    /// hub's list (`EUSERS` when the camera has `max_subscribers` already), its last one takes it off.
    pub(crate) fn subscribe(
        &self,
        f: &Arc<FileEvents>,
        idx: usize,
        event: u32,
        on: bool,
    ) -> Result {
        let b = bit(idx, event)?;
        let mut gone = None;
        {
            let mut inner = self.inner.lock();
            let mut q = f.queue.lock();
            let subs = if on { q.subs | b } else { q.subs & !b };
            if q.subs == 0 && subs != 0 {
                inner
                    .files
                    .push_within_capacity(f.clone())
                    .map_err(|_| EUSERS)?;
            } else if q.subs != 0 && subs == 0 {
                let i = inner.files.iter().position(|x| Arc::ptr_eq(x, f));
                gone = i.and_then(|i| inner.files.remove(i).ok());
                // Nothing more can come: the stream ends once it delivered what is queued.
                if let Some(stream) = &mut q.stream {
                    stream.end(0);
                }
            }
            // Queued events of a kind unsubscribed stay: they were delivered already.
            q.subs = subs;
        }
        // The list's reference goes outside the locks (never the last one: the caller holds `f`).
        drop(gone);
        Ok(())
    }

    /// Forgets a file (on close).
    pub(crate) fn close(&self, f: &Arc<FileEvents>) {
        let gone = {
            let mut inner = self.inner.lock();
            inner
                .files
                .iter()
                .position(|x| Arc::ptr_eq(x, f))
                .and_then(|i| inner.files.remove(i).ok())
        };
        drop(gone);
    }

    /// Emits `event` from the entity at index `idx` (id `id`) with `data`.
    pub(crate) fn emit(&self, idx: usize, id: u32, event: u32, data: u64) {
        let Ok(b) = bit(idx, event) else {
            return;
        };
        let mut inner = self.inner.lock();
        let Some(seq) = inner
            .seq
            .get_mut(idx)
            .and_then(|s| s.get_mut(event as usize))
        else {
            return;
        };
        let sequence = *seq;
        *seq += 1;
        let ev = Event {
            entity_id: id,
            event,
            sequence,
            timestamp_ns: now_ns(),
            data: [data, 0],
            ..Event::default()
        };
        for f in inner.files.iter() {
            let mut q = f.queue.lock();
            if q.subs & b == 0 {
                continue;
            }
            q.push(ev);
            drop(q);
            f.readable.notify_all();
        }
        drop(inner);
        self.waker.kick();
    }

    /// Emits `event` (with `data` and `status`) from the entity at index `idx` (id `id`) to file `f` only, if it
    /// subscribed to it, numbered in that file's own sequence (see the module documentation).
    pub(crate) fn emit_to(
        &self,
        f: &FileEvents,
        idx: usize,
        id: u32,
        event: u32,
        data: [u64; 2],
        status: i32,
    ) {
        let Ok(b) = bit(idx, event) else {
            return;
        };
        {
            // `WAIT_EVENT` waits for any event of the entity: it counts this one too.
            let mut inner = self.inner.lock();
            if let Some(seq) = inner
                .seq
                .get_mut(idx)
                .and_then(|s| s.get_mut(event as usize))
            {
                *seq += 1;
            }
        }
        let pushed = {
            let mut q = f.queue.lock();
            if q.subs & b == 0 {
                false
            } else if let Some(seq) = q.own_seq.get_mut(idx) {
                let sequence = *seq;
                *seq += 1;
                q.push(Event {
                    entity_id: id,
                    event,
                    sequence,
                    timestamp_ns: now_ns(),
                    data,
                    status,
                    ..Event::default()
                });
                true
            } else {
                false
            }
        };
        if pushed {
            f.readable.notify_all();
        }
        self.waker.kick();
    }

    /// Arms an event stream on file `f`, which `hook` tells about events and the end (see the module
    /// documentation). `ENODEV` after removal, `EINVAL` without a subscription, `EBUSY` if one is armed.
    pub(crate) fn arm_stream(&self, f: &FileEvents, hook: Hook) -> Result {
        let inner = self.inner.lock();
        if inner.removed {
            return Err(ENODEV);
        }
        let mut q = f.queue.lock();
        if q.subs == 0 {
            return Err(EINVAL);
        }
        if q.stream.is_some() {
            return Err(EBUSY);
        }
        let waiting = !q.events.is_empty();
        // INVARIANT: The new hook was never called.
        let stream = q.stream.insert(Stream {
            hook,
            told: false,
            end: None,
        });
        if waiting {
            stream.tell();
        }
        drop(q);
        drop(inner);
        Ok(())
    }

    /// Removal: every stream ends with `ENODEV` (after what is queued), no new one starts, and pollers wake up.
    pub(crate) fn shutdown(&self) {
        {
            let mut inner = self.inner.lock();
            inner.removed = true;
            for f in inner.files.iter() {
                if let Some(stream) = &mut f.queue.lock().stream {
                    stream.end(ENODEV.to_errno());
                }
            }
        }
        self.gone.notify_all();
    }

    /// Woken on removal (for `poll`).
    pub(crate) fn gone(&self) -> &PollCondVar {
        &self.gone
    }

    fn next_seq(&self, idx: usize, event: u32) -> Result<u64> {
        self.inner
            .lock()
            .seq
            .get(idx)
            .and_then(|s| s.get(event as usize))
            .copied()
            .ok_or(EINVAL)
    }

    /// Waits for the next `event` of entity `idx`, at most `timeout_ns`, unless the list is cancelled.
    pub(crate) fn wait(&self, cx: &RunCtx<'_>, idx: usize, event: u32, timeout_ns: u64) -> Result {
        let start = self.next_seq(idx, event)?;
        self.waker.wait_until(Sleep::Interruptible(timeout_ns), || {
            cx.cancelled().or_else(|| match self.next_seq(idx, event) {
                Ok(s) if s > start => Some(Ok(())),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
        })
    }
}

impl Queue {
    /// Queues `ev`; on overflow the oldest goes, and the reader is told how many.
    fn push(&mut self, ev: Event) {
        if self.events.len() >= QUEUE_LEN {
            let _ = self.events.remove(0);
            self.dropped = self.dropped.saturating_add(1);
        }
        // Within the capacity the queue was given at open (one was removed above if it was full).
        let _ = self.events.push_within_capacity(ev);
        if let Some(stream) = &mut self.stream {
            stream.tell();
        }
    }
}

impl FileEvents {
    /// Registers a `poll` of `file` on this file's events.
    pub(crate) fn poll_wait(&self, file: &File, table: &PollTable<'_>) {
        table.register_wait(file, &self.readable);
    }

    /// Whether events are queued.
    pub(crate) fn has_events(&self) -> bool {
        !self.queue.lock().events.is_empty()
    }

    /// Ends the file's stream with `status` once it delivered what is queued; whether there was one.
    pub(crate) fn end_stream(&self, status: i32) -> bool {
        match &mut self.queue.lock().stream {
            Some(stream) => {
                stream.end(status);
                true
            }
            None => false,
        }
    }

    /// For the stream's owner, told by its hook: what to do next.
    ///
    /// # Safety
    ///
    /// Only the stream's owner calls it, acting on the last call of the stream's hook (an io_uring command: in the
    /// task work that call queued): this answers that call.
    pub(crate) unsafe fn stream_step(&self) -> StreamStep {
        let mut q = self.queue.lock();
        let events = !q.events.is_empty();
        let Some(stream) = &mut q.stream else {
            // Not armed (taken by `stream_take`): nothing to deliver to.
            return StreamStep::End(ECANCELED.to_errno());
        };
        if events {
            return StreamStep::Event;
        }
        match stream.end {
            Some(status) => {
                q.stream = None;
                StreamStep::End(status)
            }
            None => {
                // INVARIANT: The owner acts on the last call (the function's safety requirement): it is answered.
                stream.told = false;
                StreamStep::Idle
            }
        }
    }

    /// Disarms the stream at once (its owner ends it: an error, or its task exits); whether one was armed.
    pub(crate) fn stream_take(&self) -> bool {
        self.queue.lock().stream.take().is_some()
    }

    /// The owner stops for now although events wait (to let others run): its hook is called again at once.
    ///
    /// # Safety
    ///
    /// As for [`FileEvents::stream_step`].
    pub(crate) unsafe fn stream_yield(&self) {
        if let Some(stream) = &mut self.queue.lock().stream {
            // It was told and has not come back: its next turn comes by the hook.
            // SAFETY: The owner acts on the last call (the function's safety requirement), which is thus answered.
            // `told` stays true, so `tell` does not call before the owner answers this call by its next
            // `stream_step` or `stream_yield`.
            unsafe { stream.hook.call_and_keep() };
        }
    }

    /// Hands the oldest queued event, with the number dropped since the last dequeue, to `deliver` (which copies it
    /// to userspace, outside the lock), and takes it off the queue only if that worked.
    pub(crate) fn dequeue(&self, deliver: impl FnOnce(&Event) -> Result) -> Result {
        let e = {
            let q = self.queue.lock();
            let mut e = *q.events.first().ok_or(EAGAIN)?;
            e.dropped = q.dropped;
            e
        };
        deliver(&e)?;
        let mut q = self.queue.lock();
        // Another thread of this file may have taken it meanwhile: then there is nothing left to do.
        if q.events.first().is_some_and(|f| {
            f.sequence == e.sequence && f.entity_id == e.entity_id && f.event == e.event
        }) {
            let _ = q.events.remove(0);
            q.dropped -= e.dropped.min(q.dropped);
        }
        Ok(())
    }
}
