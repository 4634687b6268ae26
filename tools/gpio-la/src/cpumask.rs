// SPDX-License-Identifier: GPL-2.0
//! CPU masks in the kernel's text form (`/proc/irq/*/smp_affinity`, workqueue `cpumask`): hexadecimal, in 32-bit
//! groups separated by commas, most significant group first (`ff,ffffffff`). Any number of CPUs.

use anyhow::{bail, Result};

/// A set of CPUs; `groups[0]` holds CPUs 0..32.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuMask {
    groups: Vec<u32>,
}

impl CpuMask {
    /// Parses the kernel's text form.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() {
            bail!("empty CPU mask");
        }
        let mut groups = Vec::new();
        for g in s.split(',').rev() {
            if g.is_empty() || g.len() > 8 {
                bail!("malformed CPU mask '{s}'");
            }
            groups.push(
                u32::from_str_radix(g, 16)
                    .map_err(|_| anyhow::anyhow!("malformed CPU mask '{s}'"))?,
            );
        }
        Ok(Self { groups })
    }

    /// Formats like the kernel: as many groups as were parsed, 8 digits each but the first.
    pub fn format(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for (i, g) in self.groups.iter().rev().enumerate() {
            parts.push(if i == 0 {
                format!("{g:x}")
            } else {
                format!("{g:08x}")
            });
        }
        parts.join(",")
    }

    /// Whether `cpu` is in the set.
    pub fn contains(&self, cpu: u32) -> bool {
        self.groups
            .get((cpu / 32) as usize)
            .is_some_and(|g| g & (1 << (cpu % 32)) != 0)
    }

    /// The set without `cpu`.
    pub fn without(&self, cpu: u32) -> Self {
        let mut m = self.clone();
        if let Some(g) = m.groups.get_mut((cpu / 32) as usize) {
            *g &= !(1 << (cpu % 32));
        }
        m
    }

    /// Whether no CPU is in the set.
    pub fn is_empty(&self) -> bool {
        self.groups.iter().all(|g| *g == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_clear() {
        let m = CpuMask::parse("3\n").unwrap();
        assert!(m.contains(1) && m.contains(0) && !m.contains(2));
        assert_eq!(m.without(1).format(), "1");
        let big = CpuMask::parse("ff,ffffffff").unwrap();
        assert!(big.contains(39) && !big.contains(40));
        assert_eq!(big.without(33).format(), "fd,ffffffff");
        assert_eq!(big.without(0).format(), "ff,fffffffe");
        assert!(CpuMask::parse("2").unwrap().without(1).is_empty());
        assert!(CpuMask::parse("").is_err());
        assert!(CpuMask::parse("xyz").is_err());
        assert!(CpuMask::parse("1,,2").is_err());
        // CPU 100 of a 128-CPU mask.
        let m = CpuMask::parse("ffffffff,ffffffff,ffffffff,ffffffff").unwrap();
        assert_eq!(
            m.without(100).format(),
            "ffffffef,ffffffff,ffffffff,ffffffff"
        );
    }
}
