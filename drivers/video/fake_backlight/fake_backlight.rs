// SPDX-License-Identifier: GPL-2.0

//! A fake backlight provider for testing display-brightness code: backlight class devices created, broken and
//! removed on demand through `/sys/kernel/debug/fake_backlight/control`:
//!
//! ```text
//! add name=NAME [type=raw|platform|firmware] [max=N] [brightness=N] [clamp=N]   register (late, whenever asked)
//! remove name=NAME                                                             unregister
//! fail name=NAME errno=N                                                       update_status fails with -N (0: ok)
//! hotkey name=NAME brightness=N                                                the hardware changes it itself
//! ```
//!
//! Defaults: type raw, max 100, brightness = max, clamp = max (`clamp` is the hardware's ceiling: a higher value
//! is accepted and shows as `clamp`). Names are 1 to 63 of `[A-Za-z0-9_.:+-]`, not `.` or `..` (they become sysfs
//! directories). Reading the file lists the devices. A bad command is `EINVAL` and changes nothing; `add` of an
//! existing name is `EEXIST`, `remove` of an unknown one `ENOENT`.

use kernel::{new_mutex, prelude::*, sync::Mutex, uaccess::UserSliceReader};

#[allow(dead_code)]
#[path = "../../common/owned_debugfs.rs"]
mod owned_debugfs;

use owned_debugfs::{read_write, Dir, File, Ops};

module! {
    type: FakeBacklight,
    name: "fake_backlight",
    authors: ["rfl-bringup developers"],
    description: "Backlight class devices on demand, for testing",
    license: "GPL",
}

mod ffi {
    use core::ffi::c_char;

    #[repr(C)]
    pub(super) struct Fbl {
        _private: [u8; 0],
    }

    extern "C" {
        pub(super) fn fbl_register(
            name: *const c_char,
            type_: u32,
            max: u32,
            brightness: u32,
            clamp: u32,
        ) -> *mut Fbl;
        pub(super) fn fbl_unregister(f: *mut Fbl);
        pub(super) fn fbl_set_fail(f: *mut Fbl, err: i32);
        pub(super) fn fbl_brightness(f: *mut Fbl) -> u32;
        pub(super) fn fbl_hotkey(f: *mut Fbl, brightness: u32);
    }
}

/// One registered backlight device.
///
/// # Invariants
///
/// `raw` was returned by a successful `fbl_register` and is unregistered only in `drop`.
struct Device {
    /// NUL-terminated.
    name: KVec<u8>,
    type_: u32,
    max: u32,
    clamp: u32,
    fail: u32,
    raw: *mut ffi::Fbl,
}

// SAFETY: The backlight device may be used and unregistered from any thread; the glue locks as the core does.
unsafe impl Send for Device {}

impl Device {
    fn brightness(&self) -> u32 {
        // SAFETY: `raw` is live by the type invariant.
        unsafe { ffi::fbl_brightness(self.raw) }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // SAFETY: By the type invariant; nothing uses `raw` after this.
        unsafe { ffi::fbl_unregister(self.raw) };
    }
}

#[pin_data]
struct Devices {
    #[pin]
    list: Mutex<KVec<Device>>,
}

fn type_name(t: u32) -> &'static str {
    match t {
        1 => "raw",
        2 => "platform",
        3 => "firmware",
        _ => "?",
    }
}

fn show(d: &Pin<KBox<Devices>>, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    for dev in d.list.lock().iter() {
        let name = core::str::from_utf8(&dev.name[..dev.name.len() - 1]).unwrap_or("?");
        writeln!(
            f,
            "{name} type={} max={} brightness={} clamp={} fail={}",
            type_name(dev.type_),
            dev.max,
            dev.brightness(),
            dev.clamp,
            dev.fail
        )?;
    }
    Ok(())
}

/// A parsed command's `key=value` arguments.
#[derive(Default)]
struct Args<'a> {
    name: Option<&'a str>,
    type_: Option<u32>,
    max: Option<u32>,
    brightness: Option<u32>,
    clamp: Option<u32>,
    errno: Option<u32>,
}

/// Whether `name` can name a backlight device: it becomes a sysfs directory and a C string, so 1 to 63 of
/// `[A-Za-z0-9_.:+-]`, and neither `.` nor `..`.
fn valid_name(name: &str) -> bool {
    (1..64).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:+-".contains(&b))
}

fn parse_args<'a>(words: impl Iterator<Item = &'a str>) -> Result<Args<'a>> {
    let mut a = Args::default();
    for w in words {
        let (k, v) = w.split_once('=').ok_or(EINVAL)?;
        let num = || v.parse::<u32>().map_err(|_| EINVAL);
        match k {
            "name" if valid_name(v) => a.name = Some(v),
            "type" => {
                a.type_ = Some(match v {
                    "raw" => 1,
                    "platform" => 2,
                    "firmware" => 3,
                    _ => return Err(EINVAL),
                })
            }
            "max" => a.max = Some(num()?),
            "brightness" => a.brightness = Some(num()?),
            "clamp" => a.clamp = Some(num()?),
            "errno" if num()? < 4096 => a.errno = Some(num()?),
            _ => return Err(EINVAL),
        }
    }
    Ok(a)
}

fn store(d: &Pin<KBox<Devices>>, r: &mut UserSliceReader) -> Result {
    let buf = read_write(r, 256)?;
    let text = core::str::from_utf8(&buf).map_err(|_| EINVAL)?;
    let mut words = text.split_ascii_whitespace();
    let cmd = words.next().ok_or(EINVAL)?;
    let a = parse_args(words)?;
    let name = a.name.ok_or(EINVAL)?;
    let mut list = d.list.lock();
    let pos = list
        .iter()
        .position(|x| &x.name[..x.name.len() - 1] == name.as_bytes());
    match cmd {
        "add" => {
            if a.errno.is_some() {
                return Err(EINVAL);
            }
            if pos.is_some() {
                return Err(EEXIST);
            }
            let max = a.max.unwrap_or(100);
            let brightness = a.brightness.unwrap_or(max);
            let clamp = a.clamp.unwrap_or(max);
            // The backlight core keeps levels in an `int`.
            if max == 0 || max > i32::MAX as u32 || brightness > max || clamp > max {
                return Err(EINVAL);
            }
            let type_ = a.type_.unwrap_or(1);
            let mut cname = KVec::with_capacity(name.len() + 1, GFP_KERNEL)?;
            cname.extend_from_slice(name.as_bytes(), GFP_KERNEL)?;
            cname.push(0, GFP_KERNEL)?;
            list.reserve(1, GFP_KERNEL)?;
            // SAFETY: `cname` is NUL-terminated and outlives the call (the core copies the name).
            let raw = unsafe {
                ffi::fbl_register(
                    cname.as_ptr().cast(),
                    type_,
                    max,
                    brightness.min(clamp),
                    clamp,
                )
            };
            let err = kernel::error::from_err_ptr(raw)?;
            // INVARIANT: A successful registration.
            let dev = Device {
                name: cname,
                type_,
                max,
                clamp,
                fail: 0,
                raw: err,
            };
            // Within the capacity reserved above.
            let _ = list.push_within_capacity(dev);
        }
        "remove" => {
            let i = pos.ok_or(ENOENT)?;
            drop(list.remove(i)?);
        }
        "fail" => {
            let dev = list.get_mut(pos.ok_or(ENOENT)?).ok_or(ENOENT)?;
            let errno = a.errno.ok_or(EINVAL)?;
            dev.fail = errno;
            // CAST: errno < 4096.
            // SAFETY: `raw` is live by the type invariant of `Device`.
            unsafe { ffi::fbl_set_fail(dev.raw, -(errno as i32)) };
        }
        "hotkey" => {
            let dev = list.get(pos.ok_or(ENOENT)?).ok_or(ENOENT)?;
            let b = a.brightness.ok_or(EINVAL)?;
            // SAFETY: `raw` is live by the type invariant of `Device`.
            unsafe { ffi::fbl_hotkey(dev.raw, b.min(dev.max)) };
        }
        _ => return Err(EINVAL),
    }
    Ok(())
}

struct FakeBacklight {
    // Dropped in declaration order: the file first, so no command runs while the devices go.
    _control: Pin<KBox<File<Pin<KBox<Devices>>>>>,
    _dir: Dir,
}

impl kernel::Module for FakeBacklight {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let devices = KBox::pin_init(
            pin_init!(Devices { list <- new_mutex!(KVec::new(), "Devices::list") }),
            GFP_KERNEL,
        )?;
        let dir = Dir::new(c"fake_backlight", None)?;
        let control = KBox::pin_init(
            File::new(&dir, c"control", devices, Ops::show_store(show, store)),
            GFP_KERNEL,
        )?;
        Ok(Self {
            _control: control,
            _dir: dir,
        })
    }
}

#[kunit_tests(fake_backlight_commands)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Args<'_>> {
        parse_args(text.split_ascii_whitespace())
    }

    #[test]
    fn arguments_parse() -> Result {
        let a = parse("name=panel type=firmware max=255 brightness=10 clamp=200")?;
        assert_eq!(a.name, Some("panel"));
        assert_eq!(a.type_, Some(3));
        assert_eq!(
            (a.max, a.brightness, a.clamp),
            (Some(255), Some(10), Some(200))
        );
        assert_eq!(parse("name=x errno=5")?.errno, Some(5));
        Ok(())
    }

    #[test]
    fn bad_arguments_are_einval() {
        for bad in [
            "name",
            "name=",
            "name=a/b",
            "type=laser",
            "max=-1",
            "max=1e3",
            "errno=4096",
            "colour=red",
            // Names become sysfs directories (and C strings): the directory entries, NULs (registered under the
            // name before the NUL, while the list kept the whole one, so a second `add` of that name
            // registered a duplicate) and control characters are refused.
            "name=.",
            "name=..",
            "name=a\0b",
            "name=a\0",
            "name=a\x01",
        ] {
            assert!(parse(bad).is_err_and(|e| e == EINVAL));
        }
    }
}
