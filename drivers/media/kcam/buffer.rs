// SPDX-License-Identifier: GPL-2.0

//! Buffers imported into a camera (`KCAM_IOC_IMPORT_BUFFER`): a dma-buf mapped for the CPU, owned by the file that
//! imported it, named by a handle of that file.
//!
//! Lifetime: a file's [`Buffers`] hold its buffers until `KCAM_IOC_RELEASE_BUFFER` or close. Lists that queue or
//! cancel a buffer take a reference at submission (`list.rs`), a driver's queue holds one while the buffer waits
//! for a frame. Releasing or closing marks the buffer [`Buffer::release`]d first, then makes the driver take it
//! back ([`crate::camera::Backend::cancel_buffers`]), so a list still holding it can no longer queue it: drivers
//! check [`Buffer::is_released`] under the lock of their queue. The mapping goes with the last reference, in
//! process context (drivers never drop a buffer in atomic context).

use crate::{
    dmabuf::{CpuWrite, MappedDmaBuf},
    events::FileEvents,
    limits::BufferSlot,
};
use kernel::{
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Release},
        Arc,
    },
};

/// Buffers one file may have imported (more: `EMFILE`).
pub(crate) const MAX_FILE_BUFFERS: usize = 32;

/// See the module documentation.
pub(crate) struct Buffer {
    dmabuf: MappedDmaBuf,
    /// The importing file's id.
    pub(crate) owner: u64,
    /// The importing file's handle for it (never 0).
    pub(crate) handle: u32,
    /// Index of the entity it was imported for.
    pub(crate) entity: usize,
    /// Where its `BUFFER_DONE` events go: the importing file's queue.
    pub(crate) events: Arc<FileEvents>,
    /// Set once by release or close: it must not be queued any more.
    released: Atomic<bool>,
    /// Counts the buffer in the camera's budget for as long as it exists (held for its drop only).
    _slot: BufferSlot,
}

impl Buffer {
    /// The buffer's size in bytes.
    pub(crate) fn size(&self) -> usize {
        self.dmabuf.size()
    }

    /// Starts a CPU write (see [`MappedDmaBuf::begin_write`]).
    pub(crate) fn begin_write(&self) -> Result<CpuWrite<'_>> {
        self.dmabuf.begin_write()
    }

    /// Marks the buffer released; the caller then makes the driver take it back.
    pub(crate) fn release(&self) {
        self.released.store(true, Release);
    }

    /// Whether the buffer was released (its file let go of it): it must not be queued.
    pub(crate) fn is_released(&self) -> bool {
        self.released.load(Acquire)
    }
}

/// One file's buffers, by handle.
pub(crate) struct Buffers {
    list: KVec<Arc<Buffer>>,
    /// The last handle given out.
    last_handle: u32,
}

impl Buffers {
    pub(crate) const fn new() -> Self {
        Self {
            list: KVec::new(),
            last_handle: 0,
        }
    }

    /// Adds the dma-buf `dmabuf`, imported by file `owner` for entity `entity`, and returns it with its new handle;
    /// `EMFILE` if the file has [`MAX_FILE_BUFFERS`] already.
    pub(crate) fn add(
        &mut self,
        dmabuf: MappedDmaBuf,
        owner: u64,
        entity: usize,
        events: Arc<FileEvents>,
        slot: BufferSlot,
    ) -> Result<Arc<Buffer>> {
        if self.list.len() >= MAX_FILE_BUFFERS {
            return Err(EMFILE);
        }
        // Handles are not reused while a file is open (a stale handle is ENOENT, not someone else's buffer),
        // unless 2^32 imports wrapped around.
        let mut handle = self.last_handle;
        loop {
            handle = handle.wrapping_add(1).max(1);
            if !self.list.iter().any(|b| b.handle == handle) {
                break;
            }
        }
        self.list.reserve(1, GFP_KERNEL_ACCOUNT)?;
        let buf = Arc::new(
            Buffer {
                dmabuf,
                owner,
                handle,
                entity,
                events,
                released: Atomic::new(false),
                _slot: slot,
            },
            GFP_KERNEL_ACCOUNT,
        )?;
        // Within the capacity reserved above.
        let _ = self.list.push_within_capacity(buf.clone());
        self.last_handle = handle;
        Ok(buf)
    }

    /// The buffer `handle`.
    pub(crate) fn get(&self, handle: u32) -> Option<Arc<Buffer>> {
        self.list.iter().find(|b| b.handle == handle).cloned()
    }

    /// Takes buffer `handle` out (`ENOENT` if there is none).
    pub(crate) fn remove(&mut self, handle: u32) -> Result<Arc<Buffer>> {
        let i = self
            .list
            .iter()
            .position(|b| b.handle == handle)
            .ok_or(ENOENT)?;
        self.list.remove(i).map_err(|_| ENOENT)
    }

    /// Takes every buffer out.
    pub(crate) fn take_all(&mut self) -> KVec<Arc<Buffer>> {
        core::mem::take(&mut self.list)
    }
}
