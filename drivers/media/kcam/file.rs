// SPDX-License-Identifier: GPL-2.0

//! An open `/dev/kcamN`: its ioctls, its asynchronous submissions, its event subscriptions and `poll`.
//!
//! Files share the camera, not their event subscriptions and queues, nor their submissions and buffers: another
//! file can neither wait for them, cancel them nor see their results, nor name its buffers. Closing a file cancels
//! its queued and running lists and takes its buffers back from the camera. The io_uring commands of a file
//! (`uring.rs`) go through the same submission steps ([`KcamFile::check_header`], [`KcamFile::read_list`],
//! [`KcamDevice::queue_job`]).

use crate::{
    buffer::Buffers,
    device::{KcamDevice, MAX_PENDING},
    dmabuf::MappedDmaBuf,
    events::FileEvents,
    fence::FenceFd,
    limits::ListSlot,
    list::{self, List},
    registry,
    sched::Job,
    shared::{
        uapi::{
            self, BufferImport, BufferRelease, Cancel, Caps, EntityDesc, Event, EventSub, RegDesc,
            Reset, Submit, Wait,
        },
        validate,
    },
    uring,
};
use kernel::{
    fs::File,
    ioctl::{_IOC_NR, _IOC_TYPE, _IOR, _IOW, _IOWR},
    miscdevice::{MiscDevice, MiscDeviceRegistration},
    new_mutex,
    prelude::*,
    sync::{poll::PollTable, Arc, Mutex},
    uaccess::{UserPtr, UserSlice},
};

const MAGIC: u32 = uapi::IOC_MAGIC;
const IOC_QUERY_CAPS: u32 = _IOR::<Caps>(MAGIC, uapi::IOC_NR_QUERY_CAPS);
const IOC_ENUM_ENTITY: u32 = _IOWR::<EntityDesc>(MAGIC, uapi::IOC_NR_ENUM_ENTITY);
const IOC_ENUM_REG: u32 = _IOWR::<RegDesc>(MAGIC, uapi::IOC_NR_ENUM_REG);
pub(crate) const IOC_SUBMIT: u32 = _IOWR::<Submit>(MAGIC, uapi::IOC_NR_SUBMIT);
const IOC_WAIT: u32 = _IOWR::<Wait>(MAGIC, uapi::IOC_NR_WAIT);
const IOC_SUBSCRIBE: u32 = _IOW::<EventSub>(MAGIC, uapi::IOC_NR_SUBSCRIBE);
const IOC_UNSUBSCRIBE: u32 = _IOW::<EventSub>(MAGIC, uapi::IOC_NR_UNSUBSCRIBE);
pub(crate) const IOC_DQEVENT: u32 = _IOR::<Event>(MAGIC, uapi::IOC_NR_DQEVENT);
const IOC_RESET: u32 = _IOW::<Reset>(MAGIC, uapi::IOC_NR_RESET);
const IOC_IMPORT_BUFFER: u32 = _IOWR::<BufferImport>(MAGIC, uapi::IOC_NR_IMPORT_BUFFER);
const IOC_RELEASE_BUFFER: u32 = _IOW::<BufferRelease>(MAGIC, uapi::IOC_NR_RELEASE_BUFFER);
pub(crate) const IOC_CANCEL: u32 = _IOW::<Cancel>(MAGIC, uapi::IOC_NR_CANCEL);

/// Whether `cmd` is one of ours with another size or direction than we know (an old or new struct layout).
pub(crate) fn is_ours_misshapen(cmd: u32) -> bool {
    _IOC_TYPE(cmd) == MAGIC && _IOC_NR(cmd) <= uapi::IOC_NR_LAST
}

/// Longest `KCAM_IOC_WAIT` a caller may ask for: the longest list.
const MAX_WAIT_NS: u64 = crate::camera::MAX_WAIT_NS * crate::device::MAX_OPS as u64;

/// Per-open state.
#[pin_data(PinnedDrop)]
pub(crate) struct KcamFile {
    pub(crate) dev: Arc<KcamDevice>,
    /// The owner id of this file's jobs.
    pub(crate) id: u64,
    pub(crate) events: Arc<FileEvents>,
    /// Asynchronous submissions not yet reaped by `KCAM_IOC_WAIT`.
    #[pin]
    pending: Mutex<KVec<Arc<Job>>>,
    /// Imported buffers, by handle.
    #[pin]
    buffers: Mutex<Buffers>,
}

#[pinned_drop]
impl PinnedDrop for KcamFile {
    fn drop(self: Pin<&mut Self>) {
        // Closing cancels this file's work and waits for its running list to stop; lists stop at their next op
        // or wait, so this is short, and a process being killed does not wait at all.
        let id = self.id;
        if let Some(running) = self.dev.cancel(|owner| owner == id, ECANCELED) {
            let _ = self.dev.wait_stopped(&running);
        }
        // Released first, so that a list still holding one (a killed submitter's, still stopping) cannot queue it
        // again; then taken back from the camera, which waits for a write in progress to stop.
        let buffers = self.buffers.lock().take_all();
        for b in buffers.iter() {
            b.release();
        }
        self.dev.cancel_buffers(&|b| b.owner == id);
        drop(buffers);
        self.dev.camera.events.close(&self.events);
    }
}

/// What a submission left to do once its reply reached userspace.
#[derive(Default)]
struct Submitted {
    /// The out-fence's fd, to install.
    fd: Option<FenceFd>,
    /// The asynchronous job, to cancel if the reply cannot be written.
    job: Option<Arc<Job>>,
}

/// What `poll` reports.
pub(crate) struct PollState {
    /// Events are queued.
    pub(crate) readable: bool,
    /// The camera was removed.
    pub(crate) gone: bool,
}

impl KcamFile {
    /// The first step of every submission (ioctl or io_uring): resets the reply fields and checks the header, with
    /// `implied` flags added (io_uring implies `ASYNC`); a `TEST_ONLY` list is validated whole here, and `false`
    /// says that nothing more is to be done.
    pub(crate) fn check_header(&self, s: &mut Submit, implied: u32) -> Result<bool> {
        let dev = &self.dev;
        let reserved_zero = s.reserved0 == 0 && s.reserved == [0; 2];
        s.error_idx = s.count;
        s.error_reason = uapi::Reason::None as u32;
        s.out_fence_fd = -1;
        s.seqno = 0;
        if let Err(r) = validate::check_submit(
            s.flags | implied,
            s.count,
            reserved_zero,
            &dev.camera.limits,
        ) {
            return Err(list::reject(s, r));
        }
        if s.flags & uapi::SUBMIT_TEST_ONLY != 0 {
            List::read(&dev.camera, s, None, |h| self.buffers.lock().get(h))?;
            return Ok(false);
        }
        Ok(true)
    }

    /// The second step of a submission that runs: a place among the camera's lists in flight (`ENOSPC`), then the
    /// list, validated, with everything it needs copied in.
    pub(crate) fn read_list(&self, s: &mut Submit) -> Result<(List, ListSlot)> {
        let slot = self.dev.budget.take_list()?;
        let list = List::read(&self.dev.camera, s, Some(&self.dev.budget), |h| {
            self.buffers.lock().get(h)
        })?;
        Ok((list, slot))
    }

    /// `KCAM_IOC_SUBMIT`: validate the whole list and copy in what it needs, then (unless `TEST_ONLY`) queue it; a
    /// synchronous submission waits for its results, which are written back to the list.
    fn submit(&self, s: &mut Submit) -> Result<Submitted> {
        let dev = &self.dev;
        if !self.check_header(s, 0)? {
            return Ok(Submitted::default());
        }
        let is_async = s.flags & uapi::SUBMIT_ASYNC != 0;
        if is_async && self.pending.lock().len() >= MAX_PENDING {
            return Err(EBUSY);
        }
        let (mut list, slot) = self.read_list(s)?;
        if is_async {
            let mut pending = self.pending.lock();
            // Checked again under the lock: another thread of this file may have submitted meanwhile.
            if pending.len() >= MAX_PENDING {
                return Err(EBUSY);
            }
            pending.reserve(1, GFP_KERNEL_ACCOUNT)?;
            let out_fence = s.flags & uapi::SUBMIT_OUT_FENCE != 0;
            let (job, fd) = dev.queue_job(self.id, s.ops_ptr, list, out_fence, slot)?;
            s.seqno = job.seqno;
            s.out_fence_fd = fd.as_ref().map_or(-1, |f| f.fd());
            // Within the capacity reserved above.
            let _ = pending.push_within_capacity(job.clone());
            return Ok(Submitted { fd, job: Some(job) });
        }
        let (seqno, failed) = match dev.run_direct(self.id, &mut list)? {
            Some(done) => {
                list::write_results(&list.ops, s.ops_ptr)?;
                done
            }
            None => {
                // Busy: queue it behind the others and wait.
                let (job, _) = dev.queue_job(self.id, s.ops_ptr, list, false, slot)?;
                if let Err(e) = job.wait(dev.waker(), u64::MAX) {
                    // A signal: the list leaves the queue at once, or, running, stops at its next op (the one
                    // waiting gets EINTR, the rest ECANCELED); its results still go back unless we are killed.
                    dev.stop_job(&job, e);
                    dev.wait_stopped(&job)?;
                }
                let data = job.data.lock();
                list::write_results(&data.list.ops, s.ops_ptr)?;
                (job.seqno, data.failed)
            }
        };
        s.seqno = seqno;
        if let Some(i) = failed {
            // CAST: `i` < `count`, a u32.
            s.error_idx = i as u32;
        }
        dev.check_present()?;
        Ok(Submitted::default())
    }

    /// The reply of an asynchronous submission could not be written: userspace never learns its seqno, so the
    /// list is cancelled and forgotten.
    fn abandon(&self, job: &Arc<Job>) {
        self.pending.lock().retain(|j| !Arc::ptr_eq(j, job));
        self.dev.stop_job(job, ECANCELED);
    }

    /// `KCAM_IOC_IMPORT_BUFFER`: maps the dma-buf `imp.fd` for entity `imp.entity_id` and gives it a handle of this
    /// file (see `include/uapi/linux/kcam.h` for the errors). `imp.size` is set once the dma-buf is known.
    fn import(&self, imp: &mut BufferImport) -> Result {
        if imp.handle != 0 || imp.flags != 0 || imp.size != 0 || imp.reserved != [0; 2] {
            return Err(EINVAL);
        }
        let dev = &self.dev;
        let idx = dev.camera.index_of(imp.entity_id)?;
        let need = dev.camera.backend.buffer_size(idx).ok_or(EINVAL)?;
        let dmabuf = MappedDmaBuf::import(imp.fd)?;
        imp.size = dmabuf.size() as u64;
        if dmabuf.size() < need {
            return Err(ENOSPC);
        }
        let slot = dev.budget.take_buffer()?;
        let buf = self
            .buffers
            .lock()
            .add(dmabuf, self.id, idx, self.events.clone(), slot)?;
        imp.handle = buf.handle;
        Ok(())
    }

    /// Undoes an import whose reply could not be written (userspace never learnt the handle), or releases a
    /// buffer (`KCAM_IOC_RELEASE_BUFFER`): the camera takes it back if queued, and never writes it again.
    fn release(&self, handle: u32) -> Result {
        let buf = self.buffers.lock().remove(handle)?;
        buf.release();
        self.dev.cancel_buffers(&|b| core::ptr::eq(b, &*buf));
        Ok(())
    }

    /// `KCAM_IOC_CANCEL`: a list of this file, by seqno, or its event stream.
    pub(crate) fn cancel(&self, c: &Cancel) -> Result {
        if c.reserved0 != 0 || c.reserved != [0; 2] || c.flags & !uapi::CANCEL_EVENTS != 0 {
            return Err(EINVAL);
        }
        if c.flags & uapi::CANCEL_EVENTS != 0 {
            if c.seqno != 0 {
                return Err(EINVAL);
            }
            return match self.events.end_stream(ECANCELED.to_errno()) {
                true => Ok(()),
                false => Err(ENOENT),
            };
        }
        self.dev.cancel_list(self.id, c.seqno)
    }

    /// `poll`: registers `table` on what can change the answer (this file's events, the camera's removal), then
    /// answers.
    pub(crate) fn poll(&self, file: &File, table: &PollTable<'_>) -> PollState {
        self.events.poll_wait(file, table);
        table.register_wait(file, self.dev.camera.events.gone());
        PollState {
            readable: self.events.has_events(),
            gone: self.dev.check_present().is_err(),
        }
    }

    /// `KCAM_IOC_WAIT`: waits for an asynchronous submission of this file, writes its results back to its list
    /// (in the waiting process) and reaps it.
    fn wait(&self, w: &mut Wait) -> Result {
        if w.reserved != [0; 2] || w.status != 0 || w.error_idx != 0 {
            return Err(EINVAL);
        }
        let job = self
            .pending
            .lock()
            .iter()
            .find(|j| j.seqno == w.seqno)
            .cloned()
            .ok_or(EINVAL)?;
        if !job.is_done() {
            // An ended job (its fence may have signalled) is waited for even with timeout 0: see `Job::wait`.
            if w.timeout_ns == 0 && !job.is_ended() {
                return Err(EAGAIN);
            }
            job.wait(self.dev.waker(), w.timeout_ns.min(MAX_WAIT_NS))?;
        }
        // Results first: if they cannot be written, the submission stays to be waited for again.
        let data = job.data.lock();
        list::write_results(&data.list.ops, job.ops_ptr)?;
        w.status = data.first_status().unwrap_or(0);
        // CAST: indexes of a list of at most MAX_OPS ops.
        w.error_idx = data.failed.unwrap_or(data.list.ops.len()) as u32;
        drop(data);
        self.pending.lock().retain(|j| !Arc::ptr_eq(j, &job));
        Ok(())
    }
}

#[vtable]
impl MiscDevice for KcamFile {
    type Ptr = Pin<KBox<Self>>;

    fn open(file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        let dev = registry::device_of(misc)?;
        dev.check_present()?;
        let events = dev.camera.events.open()?;
        let id = dev.next_file_id();
        // The file gets `poll` and `uring_cmd` (see `uring.rs`).
        // SAFETY: `file` is a camera file being opened (this is its `open`), and the module's init ran
        // `uring::init` before it registered the camera.
        unsafe { uring::install_fops(file)? };
        KBox::pin_init(
            try_pin_init!(KcamFile {
                dev,
                id,
                events,
                pending <- new_mutex!(KVec::new(), "KcamFile::pending"),
                buffers <- new_mutex!(Buffers::new(), "KcamFile::buffers"),
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    fn ioctl(me: Pin<&KcamFile>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let dev = &me.dev;
        let user = |size: usize| UserSlice::new(UserPtr::from_addr(arg), size);
        dev.check_present()?;
        // The waits for a list end on signals, not on io_uring task work (see `NoNotifySignal`).
        let _no_notify = matches!(cmd, IOC_SUBMIT | IOC_WAIT).then(uring::NoNotifySignal::new);
        match cmd {
            IOC_QUERY_CAPS => user(size_of::<Caps>()).writer().write(&dev.caps())?,
            IOC_ENUM_ENTITY => {
                let (mut r, mut w) = user(size_of::<EntityDesc>()).reader_writer();
                let mut d = r.read::<EntityDesc>()?;
                dev.enum_entity(&mut d)?;
                w.write(&d)?;
            }
            IOC_ENUM_REG => {
                let (mut r, mut w) = user(size_of::<RegDesc>()).reader_writer();
                let mut d = r.read::<RegDesc>()?;
                dev.enum_reg(&mut d)?;
                w.write(&d)?;
            }
            IOC_SUBMIT => {
                let (mut r, mut w) = user(size_of::<Submit>()).reader_writer();
                let mut s = r.read::<Submit>()?;
                let res = me.submit(&mut s);
                // The outcome fields (error_idx, error_reason, seqno) go back even when the ioctl fails.
                if let Err(e) = w.write(&s) {
                    if let Some(job) = res.as_ref().ok().and_then(|r| r.job.as_ref()) {
                        me.abandon(job);
                    }
                    return Err(e);
                }
                // Only now that userspace has its number does the fd exist (dropping it undoes it).
                if let Some(fd) = res?.fd {
                    fd.install();
                }
            }
            IOC_WAIT => {
                let (mut r, mut w) = user(size_of::<Wait>()).reader_writer();
                let mut wait = r.read::<Wait>()?;
                me.wait(&mut wait)?;
                w.write(&wait)?;
            }
            IOC_SUBSCRIBE | IOC_UNSUBSCRIBE => {
                let sub = user(size_of::<EventSub>()).reader().read::<EventSub>()?;
                let idx = dev.event_source(&sub)?;
                dev.camera
                    .events
                    .subscribe(&me.events, idx, sub.event, cmd == IOC_SUBSCRIBE)?;
            }
            IOC_DQEVENT => me
                .events
                .dequeue(|e| user(size_of::<Event>()).writer().write(e))?,
            IOC_IMPORT_BUFFER => {
                let (mut r, mut w) = user(size_of::<BufferImport>()).reader_writer();
                let mut imp = r.read::<BufferImport>()?;
                let res = me.import(&mut imp);
                // `size` goes back even when the buffer is too small, so the caller learns what it gave.
                if let Err(e) = w.write(&imp) {
                    if res.is_ok() {
                        let _ = me.release(imp.handle);
                    }
                    return Err(e);
                }
                res?;
            }
            IOC_RELEASE_BUFFER => {
                let rel = user(size_of::<BufferRelease>())
                    .reader()
                    .read::<BufferRelease>()?;
                if rel.flags != 0 || rel.reserved != [0; 2] {
                    return Err(EINVAL);
                }
                me.release(rel.handle)?;
            }
            IOC_RESET => {
                let reset = user(size_of::<Reset>()).reader().read::<Reset>()?;
                if reset.flags != 0 || reset.reserved0 != 0 || reset.reserved != [0; 2] {
                    return Err(EINVAL);
                }
                dev.reset();
            }
            IOC_CANCEL => me.cancel(&user(size_of::<Cancel>()).reader().read::<Cancel>()?)?,
            // One of ours with another size or direction (an old or new struct layout): a bad argument, not an
            // unknown ioctl.
            _ if is_ours_misshapen(cmd) => return Err(EINVAL),
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }
}
