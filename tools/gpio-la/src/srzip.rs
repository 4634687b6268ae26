// SPDX-License-Identifier: GPL-2.0
//! A streaming ZIP writer for session files: members are written one after the other, each already complete
//! (stored, or deflated elsewhere, with its CRC-32 known), then the central directory. ZIP64 records are added
//! only where a size, an offset or the member count outgrows the classic fields, as libzip (libsigrok's ZIP
//! library) reads them; a session file of a few GiB of noise needs them.

use std::io::{self, Write};

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const END_SIG: u32 = 0x0605_4b50;
const ZIP64_END_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATED: u16 = 8;
/// "made by" Unix (3), spec 4.5 (ZIP64).
const VERSION_MADE_BY: u16 = (3 << 8) | 45;
const VERSION_NEEDED: u16 = 20;
const VERSION_NEEDED_ZIP64: u16 = 45;

/// Offsets, sizes and counts at or above this need ZIP64 fields; tests lower it to exercise them.
#[cfg(not(test))]
const LIMIT32: u64 = 0xffff_ffff;
#[cfg(test)]
const LIMIT32: u64 = 64;
#[cfg(not(test))]
const LIMIT16: u64 = 0xffff;
#[cfg(test)]
const LIMIT16: u64 = 2;

struct Entry {
    name: String,
    method: u16,
    crc: u32,
    size: u64,
    packed_size: u64,
    offset: u64,
}

/// Writes a ZIP archive to `W` member by member.
pub struct ZipOut<'a, W: Write> {
    w: &'a mut W,
    offset: u64,
    entries: Vec<Entry>,
    dos_time: u16,
    dos_date: u16,
}

fn le16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn le32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn le64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn clamp32(x: u64) -> u32 {
    if x >= LIMIT32 {
        0xffff_ffff
    } else {
        x as u32
    }
}

/// The local time now in MS-DOS form (what `unzip -l` shows).
fn dos_now() -> (u16, u16) {
    // SAFETY: time(NULL) has no preconditions; localtime_r writes only into `tm`, a local.
    let tm = unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return (0, 0x21); // 1980-01-01
        }
        tm
    };
    let year = (tm.tm_year + 1900).clamp(1980, 2107) - 1980;
    let time = (tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2);
    let date = (year << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday;
    (time as u16, date as u16)
}

impl<'a, W: Write> ZipOut<'a, W> {
    /// An archive written to `w` from its current position (offset 0).
    pub fn new(w: &'a mut W) -> Self {
        let (dos_time, dos_date) = dos_now();
        Self {
            w,
            offset: 0,
            entries: Vec::new(),
            dos_time,
            dos_date,
        }
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.w.write_all(b)?;
        self.offset += b.len() as u64;
        Ok(())
    }

    /// Adds a member stored as is.
    pub fn add_stored(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        self.add_stored_crc(name, crc32fast::hash(data), data)
    }

    /// Adds a member stored as is, whose CRC-32 is known.
    pub fn add_stored_crc(&mut self, name: &str, crc: u32, data: &[u8]) -> io::Result<()> {
        self.add(name, METHOD_STORED, crc, data.len() as u64, data)
    }

    /// Adds a member of `size` bytes with CRC-32 `crc`, already compressed as raw deflate into `packed`.
    pub fn add_deflated(
        &mut self,
        name: &str,
        crc: u32,
        size: u64,
        packed: &[u8],
    ) -> io::Result<()> {
        self.add(name, METHOD_DEFLATED, crc, size, packed)
    }

    fn add(
        &mut self,
        name: &str,
        method: u16,
        crc: u32,
        size: u64,
        packed: &[u8],
    ) -> io::Result<()> {
        let packed_size = packed.len() as u64;
        let zip64 = size >= LIMIT32 || packed_size >= LIMIT32;
        let mut h = Vec::with_capacity(30 + name.len() + 20);
        le32(&mut h, LOCAL_SIG);
        le16(
            &mut h,
            if zip64 {
                VERSION_NEEDED_ZIP64
            } else {
                VERSION_NEEDED
            },
        );
        le16(&mut h, 0); // flags
        le16(&mut h, method);
        le16(&mut h, self.dos_time);
        le16(&mut h, self.dos_date);
        le32(&mut h, crc);
        le32(&mut h, clamp32(packed_size));
        le32(&mut h, clamp32(size));
        le16(&mut h, name.len() as u16);
        le16(&mut h, if zip64 { 20 } else { 0 });
        h.extend_from_slice(name.as_bytes());
        if zip64 {
            le16(&mut h, 1);
            le16(&mut h, 16);
            le64(&mut h, size);
            le64(&mut h, packed_size);
        }
        let offset = self.offset;
        self.put(&h)?;
        self.put(packed)?;
        self.entries.push(Entry {
            name: name.to_string(),
            method,
            crc,
            size,
            packed_size,
            offset,
        });
        Ok(())
    }

    /// Writes the central directory and the end records. Returns the archive's size.
    pub fn finish(mut self) -> io::Result<u64> {
        let cd_start = self.offset;
        let mut cd = Vec::new();
        for e in &self.entries {
            // The ZIP64 extra field holds, in this order, only the fields that overflowed.
            let mut extra = Vec::new();
            if e.size >= LIMIT32 {
                le64(&mut extra, e.size);
            }
            if e.packed_size >= LIMIT32 {
                le64(&mut extra, e.packed_size);
            }
            if e.offset >= LIMIT32 {
                le64(&mut extra, e.offset);
            }
            le32(&mut cd, CENTRAL_SIG);
            le16(&mut cd, VERSION_MADE_BY);
            le16(
                &mut cd,
                if extra.is_empty() {
                    VERSION_NEEDED
                } else {
                    VERSION_NEEDED_ZIP64
                },
            );
            le16(&mut cd, 0);
            le16(&mut cd, e.method);
            le16(&mut cd, self.dos_time);
            le16(&mut cd, self.dos_date);
            le32(&mut cd, e.crc);
            le32(&mut cd, clamp32(e.packed_size));
            le32(&mut cd, clamp32(e.size));
            le16(&mut cd, e.name.len() as u16);
            le16(
                &mut cd,
                if extra.is_empty() {
                    0
                } else {
                    extra.len() as u16 + 4
                },
            );
            le16(&mut cd, 0); // comment
            le16(&mut cd, 0); // disk
            le16(&mut cd, 0); // internal attributes
            le32(&mut cd, 0o100644 << 16); // a regular file, rw-r--r--
            le32(&mut cd, clamp32(e.offset));
            cd.extend_from_slice(e.name.as_bytes());
            if !extra.is_empty() {
                le16(&mut cd, 1);
                le16(&mut cd, extra.len() as u16);
                cd.extend_from_slice(&extra);
            }
        }
        self.put(&cd)?;
        let cd_size = cd.len() as u64;
        let count = self.entries.len() as u64;
        let mut end = Vec::new();
        if count >= LIMIT16 || cd_size >= LIMIT32 || cd_start >= LIMIT32 {
            let zip64_end = self.offset;
            le32(&mut end, ZIP64_END_SIG);
            le64(&mut end, 44);
            le16(&mut end, VERSION_MADE_BY);
            le16(&mut end, VERSION_NEEDED_ZIP64);
            le32(&mut end, 0);
            le32(&mut end, 0);
            le64(&mut end, count);
            le64(&mut end, count);
            le64(&mut end, cd_size);
            le64(&mut end, cd_start);
            le32(&mut end, ZIP64_LOCATOR_SIG);
            le32(&mut end, 0);
            le64(&mut end, zip64_end);
            le32(&mut end, 1);
        }
        let count16 = if count >= LIMIT16 {
            0xffff
        } else {
            count as u16
        };
        le32(&mut end, END_SIG);
        le16(&mut end, 0);
        le16(&mut end, 0);
        le16(&mut end, count16);
        le16(&mut end, count16);
        le32(&mut end, clamp32(cd_size));
        le32(&mut end, clamp32(cd_start));
        le16(&mut end, 0);
        self.put(&end)?;
        Ok(self.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut d = crate::deflate::Deflater::new().unwrap();
        let mut out = Vec::new();
        assert!(d.compress(data, &mut out).unwrap());
        out
    }

    /// Small limits in tests: this archive needs every ZIP64 record (offsets, count), and the zip crate, an
    /// independent reader, must read it back.
    #[test]
    fn zip64_records_read_back() {
        let mut buf = Vec::new();
        let mut z = ZipOut::new(&mut buf);
        z.add_stored("version", b"2").unwrap();
        let big: Vec<u8> = (0..1000u32).map(|i| (i / 10) as u8).collect();
        let packed = deflate(&big);
        z.add_deflated(
            "logic-1-1",
            crc32fast::hash(&big),
            big.len() as u64,
            &packed,
        )
        .unwrap();
        z.add_stored("logic-1-2", &big[..100]).unwrap();
        z.finish().unwrap();
        let mut a = zip::ZipArchive::new(std::io::Cursor::new(buf)).unwrap();
        assert_eq!(a.len(), 3);
        let mut v = String::new();
        a.by_name("version")
            .unwrap()
            .read_to_string(&mut v)
            .unwrap();
        assert_eq!(v, "2");
        let mut d = Vec::new();
        a.by_name("logic-1-1").unwrap().read_to_end(&mut d).unwrap();
        assert_eq!(d, big);
        d.clear();
        a.by_name("logic-1-2").unwrap().read_to_end(&mut d).unwrap();
        assert_eq!(d, &big[..100]);
    }
}
