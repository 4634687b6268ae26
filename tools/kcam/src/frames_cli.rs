// SPDX-License-Identifier: GPL-2.0
//! kcamctl's frame commands: `capture` (frames into dma-bufs, written as PNG or PPM), `3a` (the AE/AWB loop on
//! the statistics) and `frame-bench` (frames per second and render time per frame size).

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use kcam::aaa::{Aaa, Config, Settings, Step};
use kcam::camera::Camera;
use kcam::dmabuf::Allocator;
use kcam::frame;
use kcam::image::{self, FileFormat};
use kcam::stream::{write_regs, Delivered, Setup, Sink, Stream, DMA, ISP, SENSOR};
use kcam::uapi::{Op, Opcode};
use kcam::vcam_uapi::{self as v, IspParams};
use std::{
    path::Path,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

/// How long to wait for a buffer: frames are slow under emulation, and big frames slower.
const BUFFER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Format {
    Rgb24,
    Yuyv,
}

impl Format {
    fn raw(self) -> u32 {
        match self {
            Self::Rgb24 => v::FMT_RGB24,
            Self::Yuyv => v::FMT_YUYV,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Pattern {
    Bars,
    Gradient,
    Box,
    Grey,
}

impl Pattern {
    fn raw(self) -> u32 {
        match self {
            Self::Bars => v::PATTERN_BARS,
            Self::Gradient => v::PATTERN_GRADIENT,
            Self::Box => v::PATTERN_BOX,
            Self::Grey => v::PATTERN_GREY,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Illuminant {
    Neutral,
    Warm,
    Cool,
}

impl Illuminant {
    fn raw(self) -> u32 {
        match self {
            Self::Neutral => v::ILLUM_NEUTRAL,
            Self::Warm => v::ILLUM_WARM,
            Self::Cool => v::ILLUM_COOL,
        }
    }
}

/// The scene and the frame (shared by `capture` and `3a`).
#[derive(Args, Clone, Debug)]
pub(crate) struct SceneArgs {
    /// Frame width (a multiple of 32, 64..=1920).
    #[arg(long, default_value_t = 320)]
    width: u32,
    /// Frame height (a multiple of 8, 48..=1080).
    #[arg(long, default_value_t = 240)]
    height: u32,
    #[arg(long, value_enum, default_value = "rgb24")]
    format: Format,
    /// Test pattern (default: as the sensor is set).
    #[arg(long, value_enum)]
    pattern: Option<Pattern>,
    /// The light on the scene (default: as the sensor is set; after reset, warm).
    #[arg(long, value_enum)]
    illuminant: Option<Illuminant>,
    /// Where buffers come from.
    #[arg(long, value_enum, default_value = "heap")]
    alloc: Allocator,
}

impl SceneArgs {
    fn apply(&self, cam: &Camera) -> Result<()> {
        let mut regs = Vec::new();
        if let Some(p) = self.pattern {
            regs.push((SENSOR, "TEST_PATTERN", u64::from(p.raw())));
        }
        if let Some(i) = self.illuminant {
            regs.push((SENSOR, "ILLUMINANT", u64::from(i.raw())));
        }
        if !regs.is_empty() {
            write_regs(cam, &regs)?;
        }
        Ok(())
    }

    fn setup(&self, image_buffers: usize, stats_buffers: usize) -> Setup {
        Setup {
            width: self.width,
            height: self.height,
            format: self.format.raw(),
            image_buffers,
            stats_buffers,
            alloc: self.alloc,
        }
    }
}

/// `kcamctl capture`.
#[derive(Args, Debug)]
pub(crate) struct CaptureArgs {
    /// Frames to write.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    frames: u32,
    /// Output files: %d, %03d, ... is replaced by the frame's index in the capture (0, 1, ...).
    #[arg(short, long, default_value = "frame-%03d.png")]
    output: String,
    /// Write binary PPM (P6) instead of PNG.
    #[arg(long)]
    ppm: bool,
    #[command(flatten)]
    scene: SceneArgs,
    /// Sensor exposure in microseconds (default: as set).
    #[arg(long)]
    exposure: Option<u32>,
    /// Sensor gain, 16 = 1x (default: as set).
    #[arg(long)]
    gain: Option<u32>,
    /// White-balance gains R,G,B, 256 = 1.0 (default: 256,256,256); the ISP also subtracts the sensor's black
    /// level unless --raw-black.
    #[arg(long, value_delimiter = ',', num_args = 3)]
    wb: Option<Vec<u32>>,
    /// Leave the black level in (the ISP subtracts nothing).
    #[arg(long)]
    raw_black: bool,
    /// Run the 3A loop until it converges first (AE and AWB), then capture with its settings.
    #[arg(long = "3a")]
    aaa: bool,
    /// Frames to let pass before the first one written.
    #[arg(long, default_value_t = 0)]
    skip: u32,
    /// Image buffers to queue.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=16))]
    buffers: u32,
}

/// The ISP parameters as a parameter buffer's bytes.
fn params_bytes(p: &IspParams) -> Vec<u8> {
    // SAFETY: `IspParams` is plain integers without padding (the invariant of vcam_uapi.rs).
    unsafe {
        std::slice::from_raw_parts((p as *const IspParams).cast::<u8>(), size_of::<IspParams>())
    }
    .to_vec()
}

/// Programs `s` (exposure, gain, ISP parameters) as one list.
pub(crate) fn program(cam: &Camera, s: &Settings) -> Result<()> {
    let bytes = params_bytes(&s.isp.to_params());
    let isp = cam.entity_by_name(ISP)?.0.id;
    let mut x = Op::new(Opcode::XferParam, isp, 0);
    x.param_ptr = bytes.as_ptr() as u64;
    x.param_len = bytes.len() as u32;
    let mut ops = [
        cam.op(Opcode::Write, SENSOR, "EXPOSURE", u64::from(s.exposure))?,
        cam.op(Opcode::Write, SENSOR, "GAIN", u64::from(s.gain))?,
        x,
    ];
    cam.run(&mut ops)
}

/// Fails early if no file can be created where the `count` files of `pattern` go.
fn check_writable(pattern: &str, count: u64) -> Result<()> {
    let first = image::numbered(pattern, 0, count)?;
    let dest = Path::new(&first);
    if dest.is_dir() {
        bail!("cannot write {first}: it is a directory");
    }
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix(".kcamctl-")
        .tempfile_in(dir)
        .map_err(|e| anyhow::anyhow!("cannot write {first}: {}", image::reason(&e)))?;
    Ok(())
}

/// Mean R, G, B of an RGB picture, below the frame stamp.
fn mean_rgb(rgb: &[u8], width: u32) -> [f64; 3] {
    let skip = (v::STAMP_ROWS * width * 3) as usize;
    let body = rgb.get(skip..).unwrap_or(&[]);
    let mut s = [0f64; 3];
    for px in body.chunks_exact(3) {
        for c in 0..3 {
            s[c] += f64::from(px[c]);
        }
    }
    let n = (body.len() / 3).max(1) as f64;
    s.map(|x| x / n)
}

pub(crate) fn capture(cam: &Camera, a: &CaptureArgs, stop: &AtomicBool) -> Result<()> {
    check_writable(&a.output, u64::from(a.frames))?;
    a.scene.apply(cam)?;
    let black = if a.raw_black {
        0
    } else {
        u32::try_from(cam.read_reg(SENSOR, "BLACK_LEVEL")?)?
    };
    if a.aaa {
        let s = converge(cam, &a.scene, &Config::default(), 90, 5, stop, false)?;
        println!(
            "3a: exposure {} us, gain {:.2}x, white balance {:?}",
            s.exposure,
            f64::from(s.gain) / 16.0,
            s.isp.wb_gain
        );
    } else {
        let wb = match &a.wb {
            Some(g) => [g[0], g[1], g[2]],
            None => [v::GAIN_ONE; 3],
        };
        let s = Settings {
            exposure: match a.exposure {
                Some(e) => e,
                None => u32::try_from(cam.read_reg(SENSOR, "EXPOSURE")?)?,
            },
            gain: match a.gain {
                Some(g) => g,
                None => u32::try_from(cam.read_reg(SENSOR, "GAIN")?)?,
            },
            isp: frame::IspConfig {
                black_level: black,
                wb_gain: wb,
            },
        };
        program(cam, &s)?;
    }
    let mut st = Stream::new(cam, &a.scene.setup(a.buffers as usize, 0))?;
    st.start()?;
    // Copied out and queued again at once, written to files afterwards: the camera never waits for a PNG encoder.
    let mut got: Vec<(Delivered, Vec<u8>)> = Vec::new();
    let mut skip = a.skip;
    while got.len() < a.frames as usize {
        let d = st.next(BUFFER_TIMEOUT, stop)?;
        if d.status != 0 {
            bail!(
                "frame {}: buffer {} came back unwritten: {}",
                d.frame,
                d.handle,
                std::io::Error::from_raw_os_error(-d.status)
            );
        }
        if skip > 0 {
            skip -= 1;
        } else {
            got.push((
                d,
                st.image(d.handle)?
                    .get(..st.frame_bytes)
                    .unwrap_or(&[])
                    .to_vec(),
            ));
        }
        st.requeue(Sink::Image, d.handle)?;
    }
    st.stop()?;
    let (w, h, fmt) = (st.width, st.height, st.format);
    drop(st);
    let kind = if a.ppm {
        FileFormat::Ppm
    } else {
        FileFormat::Png
    };
    for (i, (d, bytes)) in got.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        let name = image::numbered(&a.output, i as u64, u64::from(a.frames))?;
        let rgb = image::to_rgb(fmt, w, h, bytes)?;
        image::write_picture(Path::new(&name), kind, w, h, &rgb)?;
        let stamp = frame::read_stamp(fmt, w, bytes);
        let m = mean_rgb(&rgb, w);
        println!(
            "{name}: frame {} stamp {} mean {:.1} {:.1} {:.1}",
            d.frame,
            stamp.map_or("none".to_string(), |s| s.to_string()),
            m[0],
            m[1],
            m[2]
        );
    }
    Ok(())
}

/// `kcamctl 3a`.
#[derive(Args, Debug)]
pub(crate) struct AaaArgs {
    /// Give up after this many frames.
    #[arg(long, default_value_t = 90)]
    frames: u32,
    /// Mean output luma to reach (fraction of full scale).
    #[arg(long, default_value_t = 0.4)]
    target: f64,
    /// Frames the result must stay on target and neutral to count as converged.
    #[arg(long, default_value_t = 10)]
    stay: u32,
    /// Starting exposure (us): the default is a dark start.
    #[arg(long, default_value_t = 100)]
    exposure: u32,
    /// Starting gain (16 = 1x).
    #[arg(long, default_value_t = 16)]
    gain: u32,
    /// Longest exposure the loop uses (us).
    #[arg(long, default_value_t = 33_000)]
    max_exposure: u32,
    /// Also write the last frame as a PNG.
    #[arg(short, long)]
    output: Option<String>,
    #[command(flatten)]
    scene: SceneArgs,
}

/// Runs the 3A loop from `start` until `stay` frames in a row are converged; returns the settings it ended with.
/// Prints each step when `verbose`.
fn converge(
    cam: &Camera,
    scene: &SceneArgs,
    cfg: &Config,
    max_frames: u32,
    stay: u32,
    stop: &AtomicBool,
    verbose: bool,
) -> Result<Settings> {
    run_3a(cam, scene, cfg, None, max_frames, stay, stop, verbose).map(|r| r.settings)
}

struct Outcome {
    settings: Settings,
    /// First frame of the run, first frame of the converged streak.
    first: u32,
    converged: u32,
    last: Step,
    image: Option<(u32, Vec<u8>)>,
}

#[allow(clippy::too_many_arguments)]
fn run_3a(
    cam: &Camera,
    scene: &SceneArgs,
    cfg: &Config,
    start: Option<Settings>,
    max_frames: u32,
    stay: u32,
    stop: &AtomicBool,
    verbose: bool,
) -> Result<Outcome> {
    scene.apply(cam)?;
    let aaa = Aaa::new(*cfg);
    let mut current = match start {
        Some(s) => s,
        None => aaa.initial(
            u32::try_from(cam.read_reg(SENSOR, "EXPOSURE")?)?,
            u32::try_from(cam.read_reg(SENSOR, "GAIN")?)?,
        ),
    };
    program(cam, &current)?;
    let mut st = Stream::new(cam, &scene.setup(2, 4))?;
    st.start()?;
    let mut first = None;
    let mut streak: Option<u32> = None;
    let mut latest_image: Option<(u32, Vec<u8>)> = None;
    let mut seen = 0;
    loop {
        let d = st.next(BUFFER_TIMEOUT, stop)?;
        if d.status != 0 {
            bail!(
                "frame {}: buffer came back unwritten: {}",
                d.frame,
                std::io::Error::from_raw_os_error(-d.status)
            );
        }
        if d.sink == Sink::Image {
            latest_image = Some((
                d.frame,
                st.image(d.handle)?
                    .get(..st.frame_bytes)
                    .unwrap_or(&[])
                    .to_vec(),
            ));
            st.requeue(Sink::Image, d.handle)?;
            continue;
        }
        let stats = st.stats(d.handle)?;
        st.requeue(Sink::Stats, d.handle)?;
        let first = *first.get_or_insert(d.frame);
        seen += 1;
        let step = aaa.step(&stats);
        if verbose {
            let m = &step.measured;
            println!(
                "frame {:4}: exposure {:5} us gain {:5.2}x wb {:.2} {:.2} {:.2}  luma {:.3}  R/G {:.3} B/G {:.3}{}",
                d.frame,
                stats.exposure,
                f64::from(stats.gain) / 16.0,
                f64::from(stats.wb_gain[0]) / 256.0,
                f64::from(stats.wb_gain[1]) / 256.0,
                f64::from(stats.wb_gain[2]) / 256.0,
                m.luma,
                m.balance[0],
                m.balance[1],
                if step.converged { "  converged" } else { "" }
            );
        }
        if step.converged {
            let since = *streak.get_or_insert(d.frame);
            if d.frame.wrapping_sub(since) + 1 >= stay {
                st.stop()?;
                let image = latest_image.filter(|(f, _)| *f >= since);
                return Ok(Outcome {
                    settings: current,
                    first,
                    converged: since,
                    last: step,
                    image,
                });
            }
        } else {
            streak = None;
        }
        if step.next != current {
            program(cam, &step.next)?;
            current = step.next;
        }
        if seen >= max_frames {
            bail!("the 3A loop did not converge within {max_frames} frames");
        }
    }
}

pub(crate) fn aaa(cam: &Camera, a: &AaaArgs, stop: &AtomicBool) -> Result<()> {
    if !(0.05..=0.95).contains(&a.target) {
        bail!("--target {} is outside 0.05..=0.95", a.target);
    }
    if let Some(o) = &a.output {
        check_writable(o, 1)?;
    }
    let cfg = Config {
        target: a.target,
        max_exposure: a.max_exposure,
        black_level: u32::try_from(cam.read_reg(SENSOR, "BLACK_LEVEL")?)?,
        ..Config::default()
    };
    let start = Aaa::new(cfg).initial(a.exposure, a.gain);
    let scene = &a.scene;
    let out = run_3a(cam, scene, &cfg, Some(start), a.frames, a.stay, stop, true)?;
    let m = &out.last.measured;
    println!(
        "converged at frame {} ({} frames after the start at frame {}, from exposure {} us gain {:.2}x) and stayed \
         {} frames: exposure {} us, gain {:.2}x, wb {:?}, luma {:.3} (target {}), R/G {:.3}, B/G {:.3}",
        out.converged,
        out.converged.wrapping_sub(out.first),
        out.first,
        a.exposure,
        f64::from(a.gain) / 16.0,
        a.stay,
        out.settings.exposure,
        f64::from(out.settings.gain) / 16.0,
        out.settings.isp.wb_gain,
        m.luma,
        a.target,
        m.balance[0],
        m.balance[1]
    );
    if let Some(o) = &a.output {
        let (f, bytes) = out
            .image
            .context("no image of the converged frames came back")?;
        let fmt = scene.format.raw();
        let rgb = image::to_rgb(fmt, scene.width, scene.height, &bytes)?;
        let name = image::numbered(o, u64::from(f), 1)?;
        image::write_picture(
            Path::new(&name),
            FileFormat::Png,
            scene.width,
            scene.height,
            &rgb,
        )?;
        let mean = mean_rgb(&rgb, scene.width);
        println!(
            "{name}: frame {f}, mean {:.1} {:.1} {:.1}",
            mean[0], mean[1], mean[2]
        );
    }
    Ok(())
}

/// `kcamctl frame-bench`.
#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// Frame sizes, WIDTHxHEIGHT, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "160x120,320x240,640x480,1280x720"
    )]
    sizes: Vec<String>,
    /// Frames to time per size.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(2..=10_000))]
    frames: u32,
    #[arg(long, value_enum, default_value = "rgb24")]
    format: Format,
    #[arg(long, value_enum, default_value = "heap")]
    alloc: Allocator,
}

pub(crate) fn bench(cam: &Camera, a: &BenchArgs, stop: &AtomicBool) -> Result<()> {
    // The frame period is measured, not read from the module parameter (Rust modules of 7.3 have no sysfs
    // parameters): from the frame numbers and timestamps of the buffers that come back, dropped frames included.
    println!("4 image buffers, {:?}", a.format);
    println!(
        "      size | generator fps |  written fps | dropped | render ms | render share of a period"
    );
    for size in &a.sizes {
        let (w, h) = size
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
            .with_context(|| format!("'{size}' is not WIDTHxHEIGHT"))?;
        let scene = SceneArgs {
            width: w,
            height: h,
            format: a.format,
            pattern: Some(Pattern::Bars),
            illuminant: None,
            alloc: a.alloc,
        };
        let mut st = Stream::new(cam, &scene.setup(4, 0))?;
        let dropped0 = cam.read_reg(DMA, "FRAMES_DROPPED")?;
        st.start()?;
        let mut times = Vec::new();
        let mut render_us = Vec::new();
        // The first two frames warm up (page faults of fresh buffers).
        for i in 0..a.frames + 2 {
            let d = st.next(BUFFER_TIMEOUT * 3, stop)?;
            if d.status != 0 {
                bail!(
                    "a buffer came back unwritten: {}",
                    std::io::Error::from_raw_os_error(-d.status)
                );
            }
            if i >= 2 {
                times.push((d.frame, d.timestamp_ns));
                render_us.push(cam.read_reg(DMA, "RENDER_US")? as f64);
            }
            st.requeue(Sink::Image, d.handle)?;
        }
        st.stop()?;
        let dropped = cam
            .read_reg(DMA, "FRAMES_DROPPED")?
            .saturating_sub(dropped0);
        drop(st);
        let (first, last) = (
            times.first().copied().unwrap_or_default(),
            times.last().copied().unwrap_or_default(),
        );
        let span_s = last.1.saturating_sub(first.1) as f64 / 1e9;
        let written = (times.len() - 1) as f64 / span_s.max(1e-9);
        let generated = f64::from(last.0.wrapping_sub(first.0)) / span_s.max(1e-9);
        let period_us = 1e6 / generated.max(1e-9);
        let render = render_us.iter().sum::<f64>() / render_us.len().max(1) as f64;
        println!(
            "{:>10} | {generated:13.1} | {written:12.1} | {dropped:7} | {:9.2} | {:5.1} %",
            size,
            render / 1000.0,
            100.0 * render / period_us
        );
    }
    Ok(())
}
