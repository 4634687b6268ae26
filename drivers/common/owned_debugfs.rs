// SPDX-License-Identifier: GPL-2.0

//! debugfs directories and files that pin their module while open.
//!
//! The 7.3 `kernel::debugfs` files have `file_operations` without an owner: a file opened before `rmmod` and
//! closed after it oopses in debugfs' `full_proxy_release()`. These files use the `file_operations` of
//! `owned_debugfs_glue.h` (`.owner = THIS_MODULE`), so an open file holds a module reference; removal waits for
//! running callbacks (debugfs' full proxy), so a file's data outlives every call into it.
//!
//! Kernel-side code shared by the project's modules (included with `#[path]`); Kbuild compiles
//! `owned_debugfs_glue.c` into each of them, and generates the declarations of `owned_debugfs_glue.h`
//! (`owned_debugfs_glue_bindings.rs`) that `ffi` includes.
//!
//! The upstream change that would remove this file: `.owner = THIS_MODULE` (through a `ThisModule` given to
//! `kernel::debugfs::Dir`) in the `file_operations` of `rust/kernel/debugfs/file_ops.rs`.

use core::{ffi::c_void, fmt, marker::PhantomPinned};
use kernel::bindings::{dentry, loff_t, seq_file};
use kernel::{
    error::from_err_ptr,
    fs::file::Offset,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    types::Opaque,
    uaccess::{UserPtr, UserSlice, UserSliceReader, UserSliceWriter},
};

/// The declarations of `owned_debugfs_glue.h`, generated at build time.
#[allow(
    improper_ctypes,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    unreachable_pub,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]
mod ffi {
    include!("owned_debugfs_glue_bindings.rs");
}

/// A debugfs directory, removed (with anything left in it) when dropped.
///
/// # Invariants
///
/// `dentry` was returned by a successful `debugfs_create_dir()` and is removed only in `drop`.
pub(crate) struct Dir {
    dentry: *mut dentry,
}

// SAFETY: A dentry may be used and removed from any thread.
unsafe impl Send for Dir {}
// SAFETY: `Dir` has no shared-reference operations besides being a parent, which debugfs locks itself.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates directory `name` in `parent` (the debugfs root if `None`).
    pub(crate) fn new(name: &CStr, parent: Option<&Dir>) -> Result<Self> {
        let parent = parent.map_or(core::ptr::null_mut(), |p| p.dentry);
        // SAFETY: `name` is a valid C string (copied by debugfs); `parent` is null or a live directory by the
        // type invariant of `Dir`.
        let dentry = from_err_ptr(unsafe { ffi::odf_create_dir(name.as_char_ptr(), parent) })?;
        // INVARIANT: `dentry` was just created.
        Ok(Self { dentry })
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the dentry is live and removed only here.
        unsafe { ffi::odf_remove(self.dentry) };
    }
}

/// Prints a text file's contents.
pub(crate) type ShowFn<T> = fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result;
/// Handles one `write(2)` to a file; the whole user buffer is in the reader. `Ok` means all bytes were taken.
pub(crate) type StoreFn<T> = fn(&T, &mut UserSliceReader) -> Result;
/// Copies a binary file's bytes from `offset` on; returns how many.
pub(crate) type ReadFn<T> = fn(&T, &mut UserSliceWriter, &mut Offset) -> Result<usize>;

/// What a file does: text read (`show`), binary read (`read`), and/or `store`.
pub(crate) struct Ops<T> {
    /// Text contents, through a seq_file.
    pub(crate) show: Option<ShowFn<T>>,
    /// Binary contents (ignored if `show` is set).
    pub(crate) read: Option<ReadFn<T>>,
    /// Write handler.
    pub(crate) store: Option<StoreFn<T>>,
}

/// A debugfs file that owns its data; removed when dropped, after any running callback returned.
///
/// # Invariants
///
/// - `raw` is the first field (`repr(C)`), so a pointer to it is a pointer to the `File`.
/// - `dentry` was returned by a successful `debugfs_create_file()` for `raw`, and is removed in `drop` before
///   any other field is dropped.
#[repr(C)]
#[pin_data(PinnedDrop)]
pub(crate) struct File<T: Send + Sync> {
    #[pin]
    raw: Opaque<ffi::odf_file>,
    data: T,
    ops: Ops<T>,
    dentry: *mut dentry,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: The raw pointers are a dentry and a self pointer, usable from any thread; `T` is `Send`.
unsafe impl<T: Send + Sync> Send for File<T> {}
// SAFETY: Callbacks only get `&T`, and `T` is `Sync`.
unsafe impl<T: Send + Sync> Sync for File<T> {}

struct ShowAdapter<'a, T: Send + Sync>(&'a File<T>, ShowFn<T>);

impl<T: Send + Sync> kernel::fmt::Display for ShowAdapter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.1)(&self.0.data, f)
    }
}

/// # Safety
///
/// `data` must point to a live `File<T>` and `seq` to the `seq_file` being shown.
unsafe extern "C" fn show_tramp<T: Send + Sync>(
    data: *const c_void,
    seq: *mut seq_file,
) -> kernel::ffi::c_int {
    // SAFETY: By the function's safety contract `data` points to a live `File<T>`.
    let file = unsafe { &*data.cast::<File<T>>() };
    let Some(show) = file.ops.show else {
        return EINVAL.to_errno();
    };
    // SAFETY: By the function's safety contract `seq` is the seq_file of this read, used only in this call.
    let seq = unsafe { SeqFile::from_raw(seq) };
    seq_print!(seq, "{}", ShowAdapter(file, show));
    0
}

/// # Safety
///
/// `data` must point to a live `File<T>`; `buf` and `len` describe the user buffer of this `write(2)`.
unsafe extern "C" fn write_tramp<T: Send + Sync>(
    data: *const c_void,
    buf: *const kernel::ffi::c_char,
    len: usize,
) -> isize {
    // SAFETY: By the function's safety contract `data` points to a live `File<T>`.
    let file = unsafe { &*data.cast::<File<T>>() };
    let Some(store) = file.ops.store else {
        return EINVAL.to_errno() as isize;
    };
    let mut reader = UserSlice::new(UserPtr::from_addr(buf as usize), len).reader();
    match store(&file.data, &mut reader) {
        // CAST: a write of more than `isize::MAX` bytes cannot reach a file operation.
        Ok(()) => len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// `data` must point to a live `File<T>`; `buf`/`len` describe the user buffer and `pos` the file position
/// of this `read(2)`.
unsafe extern "C" fn read_tramp<T: Send + Sync>(
    data: *const c_void,
    buf: *mut kernel::ffi::c_char,
    len: usize,
    pos: *mut loff_t,
) -> isize {
    // SAFETY: By the function's safety contract `data` points to a live `File<T>`.
    let file = unsafe { &*data.cast::<File<T>>() };
    let Some(read) = file.ops.read else {
        return EINVAL.to_errno() as isize;
    };
    let mut writer = UserSlice::new(UserPtr::from_addr(buf as usize), len).writer();
    // SAFETY: By the function's safety contract `pos` is the valid file position of this read.
    let pos = unsafe { &mut *pos };
    match read(&file.data, &mut writer, pos) {
        // CAST: at most `len` bytes, and `len` fits `isize` (the VFS caps reads at MAX_RW_COUNT).
        Ok(n) => n as isize,
        Err(e) => e.to_errno() as isize,
    }
}

impl<T> Ops<T> {
    /// A read-only text file.
    pub(crate) const fn show(show: ShowFn<T>) -> Self {
        Self {
            show: Some(show),
            read: None,
            store: None,
        }
    }

    /// A write-only file.
    pub(crate) const fn store(store: StoreFn<T>) -> Self {
        Self {
            show: None,
            read: None,
            store: Some(store),
        }
    }

    /// A text file that can be read and written.
    pub(crate) const fn show_store(show: ShowFn<T>, store: StoreFn<T>) -> Self {
        Self {
            show: Some(show),
            read: None,
            store: Some(store),
        }
    }

    /// A read-only binary file.
    pub(crate) const fn read(read: ReadFn<T>) -> Self {
        Self {
            show: None,
            read: Some(read),
            store: None,
        }
    }

    /// Permissions: 0400 if readable, 0200 if writable, as upstream's analyzer files have.
    fn mode(&self) -> u16 {
        let r = if self.show.is_some() || self.read.is_some() {
            0o400
        } else {
            0
        };
        let w = if self.store.is_some() { 0o200 } else { 0 };
        r | w
    }
}

/// Reads the whole of one write to a file, for a [`StoreFn`]; a write longer than `max` bytes is refused with
/// `E2BIG` and nothing is read.
pub(crate) fn read_write(r: &mut UserSliceReader, max: usize) -> Result<KVec<u8>> {
    if r.len() > max {
        return Err(E2BIG);
    }
    let mut buf = KVec::new();
    r.clone_reader().read_all(&mut buf, GFP_KERNEL)?;
    Ok(buf)
}

/// A [`ReadFn`] for data that is a byte buffer.
pub(crate) fn read_bytes<B: core::ops::Deref<Target = [u8]>>(
    data: &B,
    w: &mut UserSliceWriter,
    off: &mut Offset,
) -> Result<usize> {
    w.write_slice_file(data, off)
}

impl<T: Send + Sync> File<T> {
    /// Creates file `name` in `dir`, owning `data`; permissions follow from `ops`.
    pub(crate) fn new<'a>(
        dir: &'a Dir,
        name: &'a CStr,
        data: T,
        ops: Ops<T>,
    ) -> impl PinInit<Self, Error> + 'a
    where
        T: 'a,
    {
        let mode = ops.mode();
        let raw = ffi::odf_file {
            data: core::ptr::null(),
            show: ops
                .show
                .map(|_| show_tramp::<T> as unsafe extern "C" fn(_, _) -> _),
            write: ops
                .store
                .map(|_| write_tramp::<T> as unsafe extern "C" fn(_, _, _) -> _),
            read: ops
                .read
                .map(|_| read_tramp::<T> as unsafe extern "C" fn(_, _, _, _) -> _),
        };
        try_pin_init!(&this in Self {
            raw: Opaque::new(raw),
            data,
            ops,
            // Created last: once it exists the file may be opened, so everything it uses must be in place.
            dentry: {
                let f = Opaque::cast_into(
                    // SAFETY: `this` points to the `File` being initialised; only the address of `raw` is taken.
                    unsafe { core::ptr::addr_of!((*this.as_ptr()).raw) },
                );
                // SAFETY: `raw` was initialised above and is pinned with the `File`, which removes the dentry in
                // `drop` before `raw` goes away. The callbacks get `data` = the `File` address (its first field
                // is `raw`), which therefore stays valid for every call.
                unsafe { (*f).data = this.as_ptr().cast_const().cast() };
                // SAFETY: `name` is a valid C string; `dir.dentry` is live by `Dir`'s invariant; `f` is valid as
                // explained above.
                from_err_ptr(unsafe { ffi::odf_create_file(name.as_char_ptr(), mode, dir.dentry, f) })?
            },
            _pin: PhantomPinned,
        }? Error)
    }
}

impl<T: Send + Sync> core::ops::Deref for File<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

#[pinned_drop]
impl<T: Send + Sync> PinnedDrop for File<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant the dentry is live; removing it waits for running callbacks, after
        // which nothing can reach `raw` or `data`, which are dropped next.
        unsafe { ffi::odf_remove(self.dentry) };
    }
}
