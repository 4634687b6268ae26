// SPDX-License-Identifier: GPL-2.0
//! Access to analyzer instances through debugfs, for the Rust driver and the upstream C one alike.

use anyhow::{bail, Context, Result};
use std::{
    collections::BTreeMap,
    fs,
    io::Write,
    path::{Path, PathBuf},
};

/// Root directory of the analyzers in debugfs.
pub const LA_DIR: &str = "gpio-sloppy-logic-analyzer";

/// One analyzer instance.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Directory name (device name, or the name given to `new_device`).
    pub name: String,
    /// Its debugfs directory.
    pub dir: PathBuf,
    /// Probe names, probe 1 first.
    pub probes: Vec<String>,
    /// Whether this is the Rust driver (it has `trigger_expr`, `stats`, `unitsize`); else the upstream C driver.
    pub extended: bool,
    /// Bytes per sample.
    pub unitsize: usize,
}

/// Parses `meta_data` (`probeNN=name` lines) into names in probe order.
pub fn parse_meta(text: &str) -> Result<Vec<String>> {
    let mut probes: Vec<(u32, String)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (k, v) = line
            .split_once('=')
            .with_context(|| format!("meta_data line '{line}' is not key=value"))?;
        let n: u32 = k
            .strip_prefix("probe")
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("meta_data key '{k}' is not probeNN"))?;
        probes.push((n, v.to_string()));
    }
    probes.sort_by_key(|p| p.0);
    for (i, (n, _)) in probes.iter().enumerate() {
        if *n as usize != i + 1 {
            bail!("meta_data probes are not numbered 1..{}", probes.len());
        }
    }
    if probes.is_empty() {
        bail!("meta_data names no probes");
    }
    Ok(probes.into_iter().map(|p| p.1).collect())
}

impl Instance {
    /// Opens the instance in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let meta = fs::read_to_string(dir.join("meta_data"))
            .with_context(|| format!("reading {}/meta_data", dir.display()))?;
        let probes = parse_meta(&meta)?;
        let extended = dir.join("trigger_expr").exists();
        let unitsize = if extended {
            fs::read_to_string(dir.join("unitsize"))?
                .trim()
                .parse()
                .context("reading unitsize")?
        } else {
            la_core::samples::unit_size(probes.len() as u32)
        };
        Ok(Self {
            name,
            dir: dir.to_path_buf(),
            probes,
            extended,
            unitsize,
        })
    }

    /// Writes `value` to one of the instance's files in a single write, as the driver expects.
    pub fn write(&self, file: &str, value: &[u8]) -> Result<()> {
        let path = self.dir.join(file);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        f.write_all(value).with_context(|| {
            format!(
                "writing {} to {}",
                String::from_utf8_lossy(value).trim(),
                path.display()
            )
        })
    }

    /// Reads one of the instance's text files.
    pub fn read(&self, file: &str) -> Result<String> {
        let path = self.dir.join(file);
        fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    }

    /// The `stats` of the last capture as key/value pairs (empty for the upstream driver).
    pub fn stats(&self) -> Result<BTreeMap<String, String>> {
        if !self.extended {
            return Ok(BTreeMap::new());
        }
        Ok(self
            .read("stats")?
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }
}

/// All instances under `debugfs`, sorted by name.
pub fn list(debugfs: &Path) -> Result<Vec<Instance>> {
    let root = debugfs.join(LA_DIR);
    let rd = fs::read_dir(&root).with_context(|| {
        format!(
            "no analyzer at {} (is the driver loaded and debugfs mounted there?)",
            root.display()
        )
    })?;
    let mut v = Vec::new();
    for e in rd {
        let p = e?.path();
        if p.is_dir() {
            v.push(Instance::open(&p)?);
        }
    }
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

/// The named instance, or the first one as upstream's script picks it.
pub fn find(debugfs: &Path, name: Option<&str>) -> Result<Instance> {
    let all = list(debugfs)?;
    match name {
        Some(n) => all.into_iter().find(|i| i.name == n).with_context(|| {
            format!("no analyzer instance '{n}' (see `gpio-la list`)")
        }),
        None => all.into_iter().next().context("no analyzer instance exists (create one with new_device, or bind one from the device tree)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta() {
        assert_eq!(
            parse_meta("probe02=SDA\nprobe01=SCL\n").unwrap(),
            ["SCL", "SDA"]
        );
        assert!(parse_meta("probe01=A\nprobe03=C\n").is_err());
        assert!(parse_meta("").is_err());
        assert!(parse_meta("foo\n").is_err());
        assert!(parse_meta("x01=a\n").is_err());
    }

    #[test]
    fn listing_a_fake_debugfs() {
        let t = tempfile::tempdir().unwrap();
        let la = t.path().join(LA_DIR);
        fs::create_dir_all(la.join("b")).unwrap();
        fs::write(la.join("b/meta_data"), "probe01=X\n").unwrap();
        fs::create_dir_all(la.join("a")).unwrap();
        fs::write(la.join("a/meta_data"), "probe01=SCL\nprobe02=SDA\n").unwrap();
        fs::write(la.join("a/trigger_expr"), "").unwrap();
        fs::write(la.join("a/unitsize"), "1\n").unwrap();
        fs::write(la.join("new_device"), "").unwrap();
        let all = list(t.path()).unwrap();
        assert_eq!(
            all.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(all[0].extended && !all[1].extended);
        assert_eq!(find(t.path(), None).unwrap().name, "a");
        assert!(format!("{:#}", find(t.path(), Some("zz")).unwrap_err())
            .contains("no analyzer instance 'zz'"));
        assert!(list(&t.path().join("nope")).is_err());
    }
}
