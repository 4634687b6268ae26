// SPDX-License-Identifier: GPL-2.0
//! `drmbright`: read and set a display's brightness through its DRM connector's `display_brightness` property,
//! and watch the property uevents.

use anyhow::{bail, ensure, Context, Result};
use brightness::drm::{Card, Property, ATOMIC_TEST_ONLY};
use clap::{Parser, Subcommand};
use std::{path::PathBuf, process::ExitCode, time::Duration};

/// Display brightness through DRM connector properties.
#[derive(Parser)]
#[command(version, long_about = None, after_help = "\
Examples:
  drmbright get                    # display_brightness and display_brightness_max of the first connector with them
  drmbright set 40                 # legacy DRM_IOCTL_MODE_OBJ_SETPROPERTY (needs DRM master)
  drmbright set --atomic 40        # an atomic commit; --test-only checks it without effect
  drmbright watch --count 1        # wait for a property uevent (HOTPLUG=1 CONNECTOR= PROPERTY=)
  drmbright mirror --sysfs /sys/class/backlight/panel --rounds 1000

Max 0 means brightness control is unsupported (no backlight bound, or the display is disconnected); setting is
then refused with ENODEV. A value above max is EINVAL. Exit status: 0 success, 1 failure, 2 usage error.")]
struct Cli {
    /// The DRM card.
    #[arg(short, long, default_value = "/dev/dri/card0")]
    device: PathBuf,
    /// The connector id (default: the first one with display_brightness).
    #[arg(short, long)]
    connector: Option<u32>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print display_brightness and display_brightness_max.
    Get,
    /// Set display_brightness.
    Set {
        value: u64,
        /// Through an atomic commit instead of the legacy set-property ioctl.
        #[arg(long)]
        atomic: bool,
        /// With --atomic: DRM_MODE_ATOMIC_TEST_ONLY (check only, no effect).
        #[arg(long, requires = "atomic")]
        test_only: bool,
        /// Set display_brightness_max instead (always refused: it is immutable; for testing that).
        #[arg(long)]
        max: bool,
    },
    /// Print the DRM hotplug uevents (netlink) until COUNT arrived or TIMEOUT seconds passed, one line each with
    /// its CONNECTOR and PROPERTY ids (a change of display_brightness_max names that property).
    Watch {
        #[arg(long, default_value_t = 1)]
        count: u32,
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
    /// Write alternately through DRM and through the backlight's sysfs ROUNDS times and check that both sides
    /// always read the same level (value + OFFSET on the backlight side).
    Mirror {
        #[arg(long)]
        sysfs: PathBuf,
        #[arg(long, default_value_t = 1000)]
        rounds: u32,
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
}

struct Target {
    card: Card,
    connector: u32,
    brightness: Property,
    max: Property,
}

fn find(cli: &Cli) -> Result<Target> {
    let card =
        Card::open(&cli.device).with_context(|| format!("opening {}", cli.device.display()))?;
    let ids = match cli.connector {
        Some(c) => vec![c],
        None => card.connectors().context("DRM_IOCTL_MODE_GETRESOURCES")?,
    };
    for id in ids {
        let props = card
            .properties(id)
            .with_context(|| format!("properties of connector {id}"))?;
        let get = |n: &str| props.iter().find(|p| p.name == n).cloned();
        if let (Some(brightness), Some(max)) =
            (get("display_brightness"), get("display_brightness_max"))
        {
            return Ok(Target {
                card,
                connector: id,
                brightness,
                max,
            });
        }
    }
    bail!(
        "no connector of {} has display_brightness",
        cli.device.display()
    )
}

fn read(t: &Target) -> Result<(u64, u64)> {
    let props = t.card.properties(t.connector)?;
    let v = |id: u32| {
        props
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.value)
            .context("property vanished")
    };
    Ok((v(t.brightness.id)?, v(t.max.id)?))
}

fn watch(count: u32, timeout: u64) -> Result<()> {
    // SAFETY: Plain socket creation; the fd is owned below.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::NETLINK_KOBJECT_UEVENT,
        )
    };
    ensure!(
        fd >= 0,
        "netlink socket: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `fd` is a new socket we own.
    let sock = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    // SAFETY: Zeroed sockaddr_nl is valid; fields set below.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as u16;
    addr.nl_groups = 1;
    // SAFETY: `addr` is a valid sockaddr_nl of the size given.
    let rc = unsafe {
        libc::bind(
            std::os::fd::AsRawFd::as_raw_fd(&sock),
            (&addr as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        )
    };
    ensure!(
        rc == 0,
        "binding the uevent socket: {}",
        std::io::Error::last_os_error()
    );
    println!("watching");
    let deadline = std::time::Instant::now() + Duration::from_secs(timeout);
    let mut seen = 0;
    let mut buf = vec![0u8; 8192];
    while seen < count {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        ensure!(!left.is_zero(), "timed out after {seen} of {count} events");
        let mut p = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&sock),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: One valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        if n <= 0 {
            continue;
        }
        // SAFETY: `buf` is writable for its length.
        let len = unsafe { libc::recv(p.fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if len <= 0 {
            continue;
        }
        let fields: Vec<&[u8]> = buf[..len as usize].split(|c| *c == 0).collect();
        let text = |k: &str| {
            fields
                .iter()
                .find_map(|f| f.strip_prefix(k.as_bytes()))
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        if text("SUBSYSTEM=").as_deref() != Some("drm") || text("HOTPLUG=").is_none() {
            continue;
        }
        seen += 1;
        println!(
            "uevent HOTPLUG=1 CONNECTOR={} PROPERTY={}",
            text("CONNECTOR=").unwrap_or_default(),
            text("PROPERTY=").unwrap_or_default()
        );
    }
    Ok(())
}

fn run(cli: &Cli) -> Result<()> {
    if let Cmd::Watch { count, timeout } = cli.cmd {
        return watch(count, timeout);
    }
    let t = find(cli)?;
    match &cli.cmd {
        Cmd::Get => {
            let (v, m) = read(&t)?;
            println!(
                "connector {} display_brightness={v} display_brightness_max={m} (properties {} and {})",
                t.connector, t.brightness.id, t.max.id
            );
        }
        Cmd::Set {
            value,
            atomic,
            test_only,
            max,
        } => {
            let prop = if *max { t.max.id } else { t.brightness.id };
            let r = if *atomic {
                t.card.enable_atomic().context("DRM_CLIENT_CAP_ATOMIC")?;
                t.card.atomic_set(
                    t.connector,
                    prop,
                    *value,
                    if *test_only { ATOMIC_TEST_ONLY } else { 0 },
                )
            } else {
                t.card.set_property(t.connector, prop, *value)
            };
            r.with_context(|| format!("setting {value}"))?;
        }
        Cmd::Mirror {
            sysfs,
            rounds,
            offset,
        } => {
            let path = sysfs.join("brightness");
            let (_, max) = read(&t)?;
            ensure!(
                max > 1,
                "display_brightness_max is {max}: nothing to mirror"
            );
            for i in 0..u64::from(*rounds) {
                let v = (i * 7919) % (max + 1);
                if i % 2 == 0 {
                    t.card
                        .set_property(t.connector, t.brightness.id, v)
                        .with_context(|| format!("DRM write {v}"))?;
                    let s = std::fs::read_to_string(&path)?;
                    ensure!(
                        s.trim().parse::<u64>()? == v + offset,
                        "round {i}: DRM {v}, sysfs {}",
                        s.trim()
                    );
                } else {
                    std::fs::write(&path, format!("{}", v + offset))
                        .with_context(|| format!("sysfs write {v}"))?;
                    let (p, _) = read(&t)?;
                    ensure!(p == v, "round {i}: sysfs {}, DRM {p}", v + offset);
                }
            }
            println!("{rounds} alternating writes: DRM and sysfs always equal");
        }
        Cmd::Watch { .. } => unreachable!("handled above"),
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("drmbright: {e:#}");
            ExitCode::from(1)
        }
    }
}
