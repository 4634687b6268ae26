// SPDX-License-Identifier: GPL-2.0
//! Raw deflate of whole sample chunks with zlib-rs (through its zlib C API, `libz-rs-sys`), tuned so that files
//! are no larger than `zip -6`'s at several times its speed.
//!
//! Measured on 4 MiB chunks of captures (2-core development machine, one core; `make bench` and README):
//! libdeflate (libdeflater) at any level was slower than zlib-rs for the same size; zlib-rs level 6 is the
//! fastest but 2.7 % larger than `zip -6` on a repeated I2C transfer, because it stops a hash chain at 128
//! entries. The lazy matcher (level 8's `deflate_slow`) with a chain of 256 and a nice length of 258 is
//! smaller than `zip -6` on every capture tried (6 % on the repeated transfer, 11 % on varied I2C traffic)
//! and faster than it on each.

use libz_rs_sys as z;

/// The matcher's parameters on top of level 8: good length, lazy match, nice length, chain length.
const TUNE: (i32, i32, i32, i32) = (8, 16, 258, 256);
const LEVEL: i32 = 8;

/// One compressor, reused for chunk after chunk (a worker thread owns one).
pub struct Deflater {
    // Boxed: zlib's state points back at the stream, which therefore never moves after init.
    strm: Box<z::z_stream>,
}

// SAFETY: the stream and its state are owned by this value alone and used through `&mut self` only.
unsafe impl Send for Deflater {}

impl Deflater {
    /// A raw-deflate (no zlib header) compressor.
    pub fn new() -> anyhow::Result<Self> {
        // SAFETY: an all-zero z_stream is the documented initial state (null allocators select the defaults).
        let mut strm: Box<z::z_stream> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `strm` is a valid, zeroed stream; the version and size are the library's own.
        let rc = unsafe {
            z::deflateInit2_(
                &mut *strm,
                LEVEL,
                z::Z_DEFLATED,
                -15,
                8,
                z::Z_DEFAULT_STRATEGY,
                z::zlibVersion(),
                std::mem::size_of::<z::z_stream>() as i32,
            )
        };
        if rc != z::Z_OK {
            anyhow::bail!("cannot set up the deflate compressor (zlib error {rc})");
        }
        Ok(Self { strm })
    }

    /// Compresses `input` as one complete raw deflate stream into `out` (its length set to the result). Returns
    /// false, with `out` unspecified, when the result would not be smaller than `input` (the caller stores it
    /// instead). `out`'s capacity is reused and never zero-filled, so only the pages written become resident.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> anyhow::Result<bool> {
        // Above 4 GiB the 32-bit counters of the C API would not do; chunks are 4 MiB.
        let Ok(avail_in) = u32::try_from(input.len()) else {
            return Ok(false);
        };
        out.clear();
        out.reserve(input.len());
        // SAFETY: the stream was initialised in `new` and is not in use elsewhere (`&mut self`); reset keeps
        // the level, and the tuning (which reset undoes) is applied again.
        let rc = unsafe {
            let r = z::deflateReset(&mut *self.strm);
            if r == z::Z_OK {
                z::deflateTune(&mut *self.strm, TUNE.0, TUNE.1, TUNE.2, TUNE.3)
            } else {
                r
            }
        };
        if rc != z::Z_OK {
            anyhow::bail!("cannot reset the deflate compressor (zlib error {rc})");
        }
        self.strm.next_in = input.as_ptr();
        self.strm.avail_in = avail_in;
        self.strm.next_out = out.spare_capacity_mut().as_mut_ptr().cast();
        self.strm.avail_out = avail_in;
        // SAFETY: next_in/avail_in describe `input` and next_out/avail_out describe `out`, both live and
        // unaliased for the duration of the call; the pointers are cleared right after.
        let rc = unsafe { z::deflate(&mut *self.strm, z::Z_FINISH) };
        let produced = input.len() - self.strm.avail_out as usize;
        self.strm.next_in = std::ptr::null();
        self.strm.avail_in = 0;
        self.strm.next_out = std::ptr::null_mut();
        self.strm.avail_out = 0;
        match rc {
            z::Z_STREAM_END if produced < input.len() => {
                // SAFETY: deflate wrote `produced` bytes at the start of the spare capacity, which holds at
                // least `input.len()` bytes (reserved above).
                unsafe { out.set_len(produced) };
                Ok(true)
            }
            // Out of room: the data does not compress.
            z::Z_STREAM_END | z::Z_OK | z::Z_BUF_ERROR => Ok(false),
            e => anyhow::bail!("deflate failed (zlib error {e})"),
        }
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        // SAFETY: the stream was initialised in `new` and is ended exactly once, here.
        unsafe { z::deflateEnd(&mut *self.strm) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Decompresses with an independent inflater (miniz_oxide, through flate2).
    fn inflate(c: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(c)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn roundtrip_reuse_and_incompressible() {
        let mut d = Deflater::new().unwrap();
        let mut out = Vec::new();
        let runs: Vec<u8> = (0..1_000_000u32).map(|i| ((i / 7) % 4) as u8).collect();
        assert!(d.compress(&runs, &mut out).unwrap());
        assert!(out.len() < runs.len() / 20);
        assert_eq!(inflate(&out), runs);
        // Reused, same result (tuning is applied again after the reset).
        let first = out.clone();
        assert!(d.compress(&runs, &mut out).unwrap());
        assert_eq!(out, first);
        // Noise does not compress: stored by the caller.
        let mut x = 0x1234_5678u32;
        let noise: Vec<u8> = (0..100_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        assert!(!d.compress(&noise, &mut out).unwrap());
        assert!(d.compress(&[], &mut out).is_ok());
    }
}
