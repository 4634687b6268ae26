// SPDX-License-Identifier: GPL-2.0
//! A KCAM camera as a client sees it: `/dev/kcamN` opened, its entities and registers enumerated, and its ioctls
//! (lists, asynchronous lists and fences, events, reset, buffers) as methods.

use crate::ioctl as kio;
use crate::uapi::{
    self, BufferImport, BufferRelease, Caps, EntityDesc, Event, EventSub, Op, Opcode, RegDesc,
    Reset, Submit, Wait,
};
use anyhow::{bail, Context, Result};
use std::{
    fs::File,
    io,
    os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd},
    path::Path,
    time::Duration,
};

/// Runs ioctl `cmd` on `file` with `arg`.
pub fn ioctl<T>(file: &File, cmd: libc::Ioctl, arg: &mut T) -> io::Result<()> {
    // SAFETY: `arg` points to a live `T` whose size the ioctl number encodes; the kernel reads and writes only it.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), cmd as _, arg as *mut T) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A NUL-terminated name of a uAPI struct as a string.
pub fn name_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b.split(|c| *c == 0).next().unwrap_or(b)).into_owned()
}

/// What `kcam_submit.error_reason` says, in words.
pub fn reason_name(r: u32) -> &'static str {
    const NAMES: [&str; 20] = [
        "none",
        "bad opcode",
        "unknown entity",
        "unknown register",
        "register not readable",
        "register not writable",
        "value outside the writable mask",
        "bad dependency",
        "parameter too long",
        "bad parameter",
        "event not emitted",
        "timeout required",
        "reserved or unused field not zero",
        "bad flags",
        "too many ops",
        "no ops",
        "value too wide",
        "bad fence",
        "entity writes no buffers",
        "bad buffer",
    ];
    NAMES.get(r as usize).copied().unwrap_or("unknown")
}

/// An asynchronous submission; its ops stay here until waited for (the kernel writes results back to them).
pub struct Pending {
    pub ops: Vec<Op>,
    pub seqno: u64,
    /// The out-fence (a sync_file), if one was asked for.
    pub fence: Option<OwnedFd>,
}

/// An asynchronous submission of `ops` on any open camera file.
pub fn submit_async_on(file: &File, ops: Vec<Op>, out_fence: bool) -> io::Result<Pending> {
    let mut p = Pending {
        ops,
        seqno: 0,
        fence: None,
    };
    let mut s = Submit {
        flags: uapi::SUBMIT_ASYNC | if out_fence { uapi::SUBMIT_OUT_FENCE } else { 0 },
        count: p.ops.len() as u32,
        ops_ptr: p.ops.as_mut_ptr() as u64,
        ..Submit::default()
    };
    ioctl(file, kio::IOC_SUBMIT, &mut s)?;
    p.seqno = s.seqno;
    if s.out_fence_fd >= 0 {
        // SAFETY: The kernel just installed this fd for us; nothing else owns it.
        p.fence = Some(unsafe { OwnedFd::from_raw_fd(s.out_fence_fd) });
    }
    Ok(p)
}

/// An open camera with its topology.
pub struct Camera {
    pub file: File,
    pub caps: Caps,
    /// Every entity with its registers, in enumeration order (parents first).
    pub entities: Vec<(EntityDesc, Vec<RegDesc>)>,
}

impl Camera {
    /// Opens the camera at `path` and enumerates it; refuses one of another API version.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::options()
            .read(true)
            .write(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        let mut caps = Caps::default();
        ioctl(&file, kio::IOC_QUERY_CAPS, &mut caps).context("KCAM_IOC_QUERY_CAPS")?;
        if caps.api_version != uapi::API_VERSION {
            bail!(
                "camera speaks KCAM API {}, this tool {}",
                caps.api_version,
                uapi::API_VERSION
            );
        }
        let mut entities = Vec::new();
        for index in 0..caps.num_entities {
            let mut e = EntityDesc::query(index);
            ioctl(&file, kio::IOC_ENUM_ENTITY, &mut e).context("KCAM_IOC_ENUM_ENTITY")?;
            let mut regs = Vec::new();
            for reg in 0..e.num_regs {
                let mut r = RegDesc::query(e.id, reg);
                ioctl(&file, kio::IOC_ENUM_REG, &mut r).context("KCAM_IOC_ENUM_REG")?;
                regs.push(r);
            }
            entities.push((e, regs));
        }
        Ok(Self {
            file,
            caps,
            entities,
        })
    }

    /// The entity named `name` (or numbered, as text).
    pub fn entity_by_name(&self, name: &str) -> Result<&(EntityDesc, Vec<RegDesc>)> {
        if let Ok(id) = name.parse::<u32>() {
            if let Some(e) = self.entities.iter().find(|e| e.0.id == id) {
                return Ok(e);
            }
        }
        self.entities
            .iter()
            .find(|e| name_of(&e.0.name) == name)
            .with_context(|| format!("no entity '{name}' (see kcamctl list)"))
    }

    /// The index of register `reg` (a name, or a number as text) of entity `entity`.
    pub fn reg_index(&self, entity: u32, reg: &str) -> Result<u32> {
        if let Ok(n) = reg.parse::<u32>() {
            return Ok(n);
        }
        let e = self
            .entities
            .iter()
            .find(|e| e.0.id == entity)
            .context("no such entity")?;
        let i =
            e.1.iter()
                .position(|r| name_of(&r.name) == reg)
                .with_context(|| format!("no register '{reg}' on {}", name_of(&e.0.name)))?;
        Ok(i as u32)
    }

    /// Entity `entity`'s id and the index of its register `reg` (names or numbers).
    pub fn reg(&self, entity: &str, reg: &str) -> Result<(u32, u32)> {
        let id = self.entity_by_name(entity)?.0.id;
        Ok((id, self.reg_index(id, reg)?))
    }

    /// An operation on register `reg` of `entity`.
    pub fn op(&self, opcode: Opcode, entity: &str, reg: &str, value: u64) -> Result<Op> {
        let (id, r) = self.reg(entity, reg)?;
        let mut op = Op::new(opcode, id, r);
        op.value = value;
        Ok(op)
    }

    /// Runs one register op as a list of its own; its result, or its status as the error.
    pub fn reg_op(&self, opcode: Opcode, entity: &str, reg: &str, value: u64) -> Result<u64> {
        let mut ops = [self.op(opcode, entity, reg, value)?];
        self.submit(&mut ops, 0)?;
        if ops[0].status != 0 {
            let what = if opcode == Opcode::Read {
                "read"
            } else {
                "write"
            };
            bail!(
                "{what} of {entity} {reg} failed: {}",
                io::Error::from_raw_os_error(-ops[0].status)
            );
        }
        Ok(ops[0].result)
    }

    /// Reads register `reg` of `entity`.
    pub fn read_reg(&self, entity: &str, reg: &str) -> Result<u64> {
        self.reg_op(Opcode::Read, entity, reg, 0)
    }

    /// Writes register `reg` of `entity`.
    pub fn write_reg(&self, entity: &str, reg: &str, value: u64) -> Result<()> {
        self.reg_op(Opcode::Write, entity, reg, value).map(|_| ())
    }

    /// Submits `ops`; on rejection names the op and the reason.
    pub fn submit(&self, ops: &mut [Op], flags: u32) -> Result<Submit> {
        let mut s = Submit {
            flags,
            count: ops.len() as u32,
            ops_ptr: ops.as_mut_ptr() as u64,
            ..Submit::default()
        };
        if let Err(e) = ioctl(&self.file, kio::IOC_SUBMIT, &mut s) {
            bail!(
                "list rejected at op {} (reason {}): {e}",
                s.error_idx,
                reason_name(s.error_reason)
            );
        }
        Ok(s)
    }

    /// Submits `ops` synchronously and fails with the first failing op's status.
    pub fn run(&self, ops: &mut [Op]) -> Result<()> {
        let s = self.submit(ops, 0)?;
        if let Some(op) = ops.get(s.error_idx as usize) {
            bail!(
                "op {} ({}) failed: {}",
                s.error_idx,
                op.opcode,
                io::Error::from_raw_os_error(-op.status)
            );
        }
        Ok(())
    }

    /// Submits `ops` asynchronously, with an out-fence if asked.
    pub fn submit_async(&self, ops: Vec<Op>, out_fence: bool) -> io::Result<Pending> {
        submit_async_on(&self.file, ops, out_fence)
    }

    /// `KCAM_IOC_QUERY_CAPS`.
    pub fn caps(&self) -> Result<Caps> {
        let mut caps = Caps::default();
        ioctl(&self.file, kio::IOC_QUERY_CAPS, &mut caps).context("KCAM_IOC_QUERY_CAPS")?;
        Ok(caps)
    }

    /// `KCAM_IOC_WAIT`: the submission's status (0 or a negative errno) and first failing op.
    pub fn wait(&self, seqno: u64, timeout: Duration) -> io::Result<Wait> {
        let mut w = Wait {
            seqno,
            timeout_ns: timeout.as_nanos() as u64,
            ..Wait::default()
        };
        ioctl(&self.file, kio::IOC_WAIT, &mut w)?;
        Ok(w)
    }

    /// `KCAM_IOC_RESET`.
    pub fn reset(&self) -> Result<()> {
        let mut r = Reset::default();
        ioctl(&self.file, kio::IOC_RESET, &mut r).context("KCAM_IOC_RESET")
    }

    /// Subscribes to (or, `on` false, unsubscribes from) `event` of entity `entity_id`.
    pub fn subscribe(&self, entity_id: u32, event: u32, on: bool) -> io::Result<()> {
        let mut sub = EventSub {
            entity_id,
            event,
            ..EventSub::default()
        };
        let cmd = if on {
            kio::IOC_SUBSCRIBE
        } else {
            kio::IOC_UNSUBSCRIBE
        };
        ioctl(&self.file, cmd, &mut sub)
    }

    /// The oldest queued event, `None` if there is none.
    pub fn dqevent(&self) -> io::Result<Option<Event>> {
        let mut e = Event::default();
        match ioctl(&self.file, kio::IOC_DQEVENT, &mut e) {
            Ok(()) => Ok(Some(e)),
            Err(err) if err.raw_os_error() == Some(libc::EAGAIN) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// `KCAM_IOC_IMPORT_BUFFER` of dma-buf `fd` for entity `entity_id`: the reply (handle and size). On failure,
    /// the error and the reply (whose `size` says how big the buffer is, once known).
    pub fn import_buffer(
        &self,
        entity_id: u32,
        fd: BorrowedFd<'_>,
    ) -> Result<BufferImport, (io::Error, BufferImport)> {
        let mut imp = BufferImport {
            entity_id,
            fd: fd.as_raw_fd(),
            ..BufferImport::default()
        };
        match ioctl(&self.file, kio::IOC_IMPORT_BUFFER, &mut imp) {
            Ok(()) => Ok(imp),
            Err(e) => Err((e, imp)),
        }
    }

    /// `KCAM_IOC_RELEASE_BUFFER`.
    pub fn release_buffer(&self, handle: u32) -> io::Result<()> {
        let mut r = BufferRelease {
            handle,
            ..BufferRelease::default()
        };
        ioctl(&self.file, kio::IOC_RELEASE_BUFFER, &mut r)
    }
}
