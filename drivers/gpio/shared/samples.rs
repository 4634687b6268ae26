// SPDX-License-Identifier: GPL-2.0

//! Sample layout: one unit of 1, 2 or 4 little-endian bytes per sample, bit `k` = probe `k + 1`, the layout
//! libsigrok reads (`unitsize`). 8 probes or fewer keep upstream's one byte per sample.

/// Bytes per sample for `probes` probes (1..=32).
pub const fn unit_size(probes: u32) -> usize {
    if probes <= 8 {
        1
    } else if probes <= 16 {
        2
    } else {
        4
    }
}

/// Stores `state` as sample `idx` of `buf`. Returns `false` (and stores nothing) if it does not fit.
#[inline(always)]
pub fn put(buf: &mut [u8], unit: usize, idx: usize, state: u32) -> bool {
    let Some(dst) = idx.checked_mul(unit).and_then(|o| buf.get_mut(o..o + unit)) else {
        return false;
    };
    dst.copy_from_slice(&state.to_le_bytes()[..unit]);
    true
}

/// Reads sample `idx` of `buf`.
pub fn get(buf: &[u8], unit: usize, idx: usize) -> Option<u32> {
    let src = buf.get(idx.checked_mul(unit)?..)?.get(..unit)?;
    let mut b = [0u8; 4];
    b[..unit].copy_from_slice(src);
    Some(u32::from_le_bytes(b))
}

/// A pre-trigger ring of `len` samples at the front of the capture buffer.
///
/// Before the trigger fires, samples go round the ring; [`PreRing::linearize`] then rotates it so the oldest
/// sample comes first and returns how many samples it holds (the trigger sample's index).
#[derive(Debug, Clone, Copy)]
pub struct PreRing {
    len: usize,
    next: usize,
    filled: usize,
}

impl PreRing {
    /// A ring of `len` samples (0 = no pre-trigger samples).
    pub const fn new(len: usize) -> Self {
        Self {
            len,
            next: 0,
            filled: 0,
        }
    }

    /// Index at which to store the next pre-trigger sample, or `None` when the ring has no room at all.
    #[inline(always)]
    pub fn slot(&mut self) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let slot = self.next;
        self.next = if self.next + 1 == self.len {
            0
        } else {
            self.next + 1
        };
        self.filled = (self.filled + 1).min(self.len);
        Some(slot)
    }

    /// Samples the ring holds; after the trigger, also the index of the trigger sample. Until the ring has
    /// wrapped its samples are already in order at the front, so samples after the trigger can follow them.
    pub fn filled(&self) -> usize {
        self.filled
    }

    /// Puts the ring in time order at the front of `buf` and returns the number of samples in it.
    pub fn linearize(&self, buf: &mut [u8], unit: usize) -> usize {
        if self.filled == self.len && self.len > 0 {
            if let Some(ring) = buf.get_mut(..self.len * unit) {
                ring.rotate_left(self.next * unit);
            }
        }
        self.filled
    }
}
