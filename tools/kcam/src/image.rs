// SPDX-License-Identifier: GPL-2.0
//! Frames as pictures: conversion of vcam's formats to RGB, PNG and PPM files written whole or not at all, and
//! numbered file names (`frame-%03d.png`).

use crate::frame;
use crate::vcam_uapi::{FMT_RGB24, FMT_YUYV};
use anyhow::{bail, Context, Result};
use std::{
    io::{BufWriter, Write},
    os::unix::fs::PermissionsExt,
    path::Path,
};

/// A frame of `format`, `width` x `height`, as packed 8-bit RGB.
pub fn to_rgb(format: u32, width: u32, height: u32, data: &[u8]) -> Result<Vec<u8>> {
    let need = frame::frame_bytes(format, width, height).context("unknown format")?;
    let Some(data) = data.get(..need) else {
        bail!(
            "{} bytes, a {width}x{height} frame needs {need}",
            data.len()
        );
    };
    match format {
        FMT_RGB24 => Ok(data.to_vec()),
        FMT_YUYV => {
            let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
            for px in data.chunks_exact(4) {
                rgb.extend_from_slice(&frame::yuv_to_rgb([px[0], px[1], px[3]]));
                rgb.extend_from_slice(&frame::yuv_to_rgb([px[2], px[1], px[3]]));
            }
            Ok(rgb)
        }
        _ => bail!("unknown format {format}"),
    }
}

/// Expands the frame-number conversion of `pattern` (`%d`, `%03d`; `%%` is a percent sign) with `n`, the index of
/// one of `count` files. A pattern without one is the file's name if it is the only one; otherwise each file gets
/// `-N` before its extension, so that they never overwrite each other.
pub fn numbered(pattern: &str, n: u64, count: u64) -> Result<String> {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    let mut used = false;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut spec = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            spec.push(*d);
            chars.next();
        }
        if chars.next() != Some('d') || used {
            bail!("'{pattern}': the only conversion allowed is one %d (e.g. frame-%03d.png)");
        }
        let width: usize = if spec.is_empty() { 0 } else { spec.parse()? };
        if spec.starts_with('0') {
            out += &format!("{n:0width$}");
        } else {
            out += &format!("{n:width$}");
        }
        used = true;
    }
    if !used && count > 1 {
        let p = Path::new(&out);
        let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned());
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
        let name = match (stem, p.extension()) {
            (Some(s), Some(e)) => format!("{s}-{n}.{}", e.to_string_lossy()),
            (Some(s), None) => format!("{s}-{n}"),
            _ => bail!("'{pattern}' is not a file name"),
        };
        out = match dir {
            Some(d) => d.join(name).to_string_lossy().into_owned(),
            None => name,
        };
    }
    Ok(out)
}

/// An error's reason without the temporary file's path or std's `(os error N)`: the user named the destination.
pub fn reason(e: &dyn std::fmt::Display) -> String {
    let s = e.to_string();
    let s = s.split(" at path ").next().unwrap_or(&s);
    s.split(" (os error ").next().unwrap_or(s).to_string()
}

/// Picture file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Png,
    /// Binary PPM (P6).
    Ppm,
}

/// Writes an 8-bit RGB picture to `dest`, whole or not at all: into a temporary file next to it, renamed over it
/// once complete, with mode 0666 less the umask.
pub fn write_picture(
    dest: &Path,
    kind: FileFormat,
    width: u32,
    height: u32,
    rgb: &[u8],
) -> Result<()> {
    let n = width as usize * height as usize * 3;
    let Some(rgb) = rgb.get(..n) else {
        bail!("{} bytes for a {width}x{height} picture", rgb.len());
    };
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let fail =
        |e: &dyn std::fmt::Display| format!("cannot write {}: {}", dest.display(), reason(e));
    let mut tmp = tempfile::Builder::new()
        .prefix(".kcamctl-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| anyhow::anyhow!(fail(&e)))?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        match kind {
            FileFormat::Ppm => {
                write!(w, "P6\n{width} {height}\n255\n").map_err(|e| anyhow::anyhow!(fail(&e)))?;
                w.write_all(rgb).map_err(|e| anyhow::anyhow!(fail(&e)))?;
            }
            FileFormat::Png => {
                let mut enc = png::Encoder::new(&mut w, width, height);
                enc.set_color(png::ColorType::Rgb);
                enc.set_depth(png::BitDepth::Eight);
                let mut pw = enc.write_header().map_err(|e| anyhow::anyhow!(fail(&e)))?;
                pw.write_image_data(rgb)
                    .map_err(|e| anyhow::anyhow!(fail(&e)))?;
                pw.finish().map_err(|e| anyhow::anyhow!(fail(&e)))?;
            }
        }
        w.flush().map_err(|e| anyhow::anyhow!(fail(&e)))?;
    }
    // SAFETY: umask only changes the process's file creation mask; read back and restored at once.
    let mask = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    };
    let mode = 0o666 & !mask;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| anyhow::anyhow!(fail(&e)))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| anyhow::anyhow!(fail(&e)))?;
    tmp.persist(dest)
        .map_err(|e| anyhow::anyhow!(fail(&e.error)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(numbered("frame-%03d.png", 7, 10).unwrap(), "frame-007.png");
        assert_eq!(numbered("f%d.ppm", 12, 20).unwrap(), "f12.ppm");
        assert_eq!(numbered("100%%-%2d.png", 3, 5).unwrap(), "100%- 3.png");
        // Without a conversion: the name itself for one file, numbered for several.
        assert_eq!(numbered("out/shot.png", 0, 1).unwrap(), "out/shot.png");
        assert_eq!(numbered("out/shot.png", 2, 3).unwrap(), "out/shot-2.png");
        assert!(numbered("%d-%d.png", 0, 2).is_err());
        assert!(numbered("%s.png", 0, 2).is_err());
    }

    #[test]
    fn pictures_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (64u32, 48u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let png_path = dir.path().join("a.png");
        write_picture(&png_path, FileFormat::Png, w, h, &rgb).unwrap();
        let dec = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(&png_path).unwrap(),
        ));
        let mut reader = dec.read_info().unwrap();
        let mut back = vec![0u8; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut back).unwrap();
        assert_eq!(
            (info.width, info.height, info.color_type),
            (w, h, png::ColorType::Rgb)
        );
        assert_eq!(&back[..info.buffer_size()], &rgb[..]);
        let ppm_path = dir.path().join("a.ppm");
        write_picture(&ppm_path, FileFormat::Ppm, w, h, &rgb).unwrap();
        let ppm = std::fs::read(&ppm_path).unwrap();
        assert_eq!(&ppm[..13], b"P6\n64 48\n255\n");
        assert_eq!(&ppm[13..], &rgb[..]);
        // Nothing but the two files: no temporary left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        // Too few bytes, a missing directory: an error naming the destination, nothing written.
        assert!(
            write_picture(&dir.path().join("b.png"), FileFormat::Png, w, h, &rgb[1..]).is_err()
        );
        let e =
            write_picture(&dir.path().join("no/c.png"), FileFormat::Png, w, h, &rgb).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "cannot write {}",
                dir.path().join("no/c.png").display()
            )),
            "{e}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn yuyv_converts() {
        let yuyv = [235u8, 128, 16, 128, 81, 90, 145, 240];
        let rgb = to_rgb(FMT_YUYV, 64, 48, &[yuyv.repeat(64 * 48 / 4)].concat()).unwrap();
        assert_eq!(&rgb[..6], &[255, 255, 255, 0, 0, 0]);
        // BT.601 red.
        assert!(rgb[6] > 250 && rgb[7] < 5 && rgb[8] < 5, "{:?}", &rgb[6..9]);
        assert!(to_rgb(FMT_YUYV, 64, 48, &[0; 10]).is_err());
        assert!(to_rgb(9, 64, 48, &[0; 10_000]).is_err());
    }
}
