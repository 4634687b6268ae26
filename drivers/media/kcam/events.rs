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

use crate::{
    camera::RunCtx,
    shared::uapi::{Event, EVENT_COUNT},
    waker::{Sleep, Waker},
};
use kernel::{
    new_spinlock_irq,
    prelude::*,
    sync::{Arc, SpinLockIrq},
};

/// Events a file can have queued.
pub(crate) const QUEUE_LEN: usize = 64;

/// One file's subscriptions and queue.
struct Queue {
    /// Bit `entity_index * EVENT_COUNT + event`.
    subs: u64,
    events: KVec<Event>,
    dropped: u32,
    /// Next sequence number of this file's own events (`BUFFER_DONE`), per entity index.
    own_seq: KVec<u64>,
}

/// A file's handle on the hub. (IRQ-safe spinlocks here and in the hub: vcam emits from a timer callback.)
#[pin_data]
pub(crate) struct FileEvents {
    #[pin]
    queue: SpinLockIrq<Queue>,
}

struct HubInner {
    /// Next sequence number per entity index and event type.
    seq: KVec<[u64; EVENT_COUNT as usize]>,
    /// The files with subscriptions; capacity `max_subscribers`, never grown.
    files: KVec<Arc<FileEvents>>,
}

/// The events of one camera.
#[pin_data]
pub(crate) struct EventHub {
    #[pin]
    inner: SpinLockIrq<HubInner>,
    /// Kicked on every event, for `WAIT_EVENT`.
    waker: Arc<Waker>,
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
        Arc::pin_init(
            pin_init!(Self {
                inner <- new_spinlock_irq!(HubInner { seq, files }, "EventHub::inner"),
                waker,
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
                    },
                    "FileEvents::queue"
                ),
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
            if q.subs & b != 0 {
                q.push(ev);
            }
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
        {
            let mut q = f.queue.lock();
            if q.subs & b != 0 {
                if let Some(seq) = q.own_seq.get_mut(idx) {
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
                }
            }
        }
        self.waker.kick();
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
    }
}

impl FileEvents {
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
