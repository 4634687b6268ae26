// SPDX-License-Identifier: GPL-2.0
//! PulseView session files (`.pvs`): `pulseview -s capture.pvs capture.sr` opens the capture with protocol
//! decoders attached and their channels assigned.
//!
//! Decoders are given in sigrok-cli's `-P` syntax: `i2c:scl=SCL:sda=SDA` (a decoder id, then `key=value` pairs:
//! a decoder channel and the probe it reads, or a decoder option), with `,` stacking decoders
//! (`i2c,eeprom24xx`). Each is checked against the table of libsigrokdecode's decoders in
//! `data/decoders.txt` (generated from libsigrokdecode 0.5.3 by `data/gen-decoders.py`): the decoder and its
//! channels and options must exist, the option's value must have the option's type, stacked decoders must
//! consume what the one below produces, and every required channel must have a probe (a channel not given
//! takes the probe of the same name, as PulseView's auto-assignment does).
//!
//! The session is the INI file PulseView 0.4.2 saves (`pv/session.cpp`, `pv/data/decodesignal.cpp`): under
//! `[decode_signalN]` the stack (`decoderK\id`, options as `decoderK\optionJ\name`, `\type` a GVariant type
//! string and `\value` the GVariant's serialized bytes as a Qt `@ByteArray`), then the channels in the order
//! PulseView numbers them (each decoder's required channels, then its optional ones, up the stack) with
//! `channelI\assigned_signal_name` naming the probe. Values are escaped as QSettings writes them.

use anyhow::{bail, Result};
use std::fmt::Write as _;

/// The decoder table (see the module documentation).
const TABLE: &str = include_str!("../data/decoders.txt");

/// One decoder of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoder {
    /// Its id (`i2c`).
    pub id: &'static str,
    /// Its display name (`I²C`).
    pub name: &'static str,
    inputs: Vec<&'static str>,
    outputs: Vec<&'static str>,
    channels: Vec<&'static str>,
    optional: Vec<&'static str>,
    options: Vec<(&'static str, char)>,
}

fn list(s: &'static str) -> Vec<&'static str> {
    s.split(',').filter(|x| !x.is_empty()).collect()
}

/// Looks decoder `id` up in the table.
pub fn decoder(id: &str) -> Option<Decoder> {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('|').collect::<Vec<_>>())
        .find(|f| f.len() == 7 && f[0] == id)
        .map(|f| Decoder {
            id: f[0],
            name: f[1],
            inputs: list(f[2]),
            outputs: list(f[3]),
            channels: list(f[4]),
            optional: list(f[5]),
            options: list(f[6])
                .into_iter()
                .filter_map(|o| {
                    let (id, t) = o.split_once(':')?;
                    Some((id, t.chars().next()?))
                })
                .collect(),
        })
}

/// A decoder option's value, typed as libsigrokdecode wants it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// GVariant `s`.
    Str(String),
    /// GVariant `x`.
    Int(i64),
    /// GVariant `d`.
    Float(f64),
}

impl Value {
    fn gvariant_type(&self) -> &'static str {
        match self {
            Value::Str(_) => "s",
            Value::Int(_) => "x",
            Value::Float(_) => "d",
        }
    }

    /// The GVariant serialization (what `g_variant_get_data` returns): a string with its NUL, or 8
    /// little-endian bytes.
    fn gvariant_bytes(&self) -> Vec<u8> {
        match self {
            Value::Str(s) => {
                let mut b = s.as_bytes().to_vec();
                b.push(0);
                b
            }
            Value::Int(i) => i.to_le_bytes().to_vec(),
            Value::Float(f) => f.to_le_bytes().to_vec(),
        }
    }
}

/// One decoder of a stack, with its options and channel assignments.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The decoder.
    pub decoder: Decoder,
    /// Options that were given.
    pub options: Vec<(String, Value)>,
    /// For each channel in PulseView's order (required, then optional): the probe assigned, if any.
    pub assigned: Vec<(&'static str, Option<String>)>,
}

/// A decoder stack: the bottom decoder reads the probes, each one above reads the one below.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Bottom first.
    pub layers: Vec<Layer>,
}

impl Stack {
    /// Parses `spec` (sigrok-cli's `-P` syntax) for a capture whose probes are `probes`.
    pub fn parse(spec: &str, probes: &[String]) -> Result<Self> {
        let mut layers: Vec<Layer> = Vec::new();
        for part in spec.split(',') {
            let mut fields = part.split(':');
            let id = fields.next().unwrap_or("").trim();
            if id.is_empty() {
                bail!("--decode '{spec}': a decoder id is missing");
            }
            let Some(dec) = decoder(id) else {
                bail!("--decode '{spec}': no protocol decoder '{id}' (see sigrok-cli -L)");
            };
            if let Some(below) = layers.last() {
                if !below.decoder.outputs.iter().any(|o| dec.inputs.contains(o)) {
                    bail!(
                        "--decode '{spec}': {} cannot be stacked on {} (it takes {}, {} gives {})",
                        dec.id,
                        below.decoder.id,
                        dec.inputs.join("/"),
                        below.decoder.id,
                        if below.decoder.outputs.is_empty() {
                            "nothing".to_string()
                        } else {
                            below.decoder.outputs.join("/")
                        }
                    );
                }
            } else if !dec.inputs.contains(&"logic") {
                bail!(
                    "--decode '{spec}': {} does not read logic signals (it takes {}); stack it on a decoder that gives that, e.g. i2c,{}",
                    dec.id,
                    dec.inputs.join("/"),
                    dec.id
                );
            }
            let mut assigned: Vec<(&'static str, Option<String>)> = dec
                .channels
                .iter()
                .chain(dec.optional.iter())
                .map(|c| (*c, None))
                .collect();
            let mut options = Vec::new();
            for kv in fields {
                let Some((k, v)) = kv.split_once('=') else {
                    bail!("--decode '{spec}': '{kv}' is not key=value");
                };
                if let Some(slot) = assigned.iter_mut().find(|(c, _)| *c == k) {
                    slot.1 = Some(find_probe(spec, probes, v)?);
                } else if let Some((_, t)) = dec.options.iter().find(|(o, _)| *o == k) {
                    options.push((k.to_string(), typed(spec, k, *t, v)?));
                } else {
                    let mut known: Vec<&str> = assigned.iter().map(|(c, _)| *c).collect();
                    known.extend(dec.options.iter().map(|(o, _)| *o));
                    bail!(
                        "--decode '{spec}': {} has no channel or option '{k}' (it has: {})",
                        dec.id,
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    );
                }
            }
            // A channel not given takes the probe of the same name, as PulseView assigns them.
            for (c, slot) in &mut assigned {
                if slot.is_none() {
                    *slot = probes.iter().find(|p| p.eq_ignore_ascii_case(c)).cloned();
                }
            }
            if let Some((c, _)) = assigned[..dec.channels.len()]
                .iter()
                .find(|(_, s)| s.is_none())
            {
                bail!(
                    "--decode '{spec}': {} needs channel {c}: add {c}=PROBE (probes: {})",
                    dec.id,
                    probes.join(", ")
                );
            }
            layers.push(Layer {
                decoder: dec,
                options,
                assigned,
            });
        }
        Ok(Self { layers })
    }
}

fn find_probe(spec: &str, probes: &[String], name: &str) -> Result<String> {
    if let Some(p) = probes.iter().find(|p| *p == name) {
        return Ok(p.clone());
    }
    let folded: Vec<&String> = probes
        .iter()
        .filter(|p| p.eq_ignore_ascii_case(name))
        .collect();
    if let [p] = folded[..] {
        return Ok(p.clone());
    }
    bail!(
        "--decode '{spec}': no probe named '{name}' (probes: {})",
        probes.join(", ")
    );
}

fn typed(spec: &str, key: &str, t: char, v: &str) -> Result<Value> {
    Ok(match t {
        'x' => Value::Int(v.parse().map_err(|_| {
            anyhow::anyhow!("--decode '{spec}': option {key} takes an integer, not '{v}'")
        })?),
        'd' => Value::Float(v.parse().map_err(|_| {
            anyhow::anyhow!("--decode '{spec}': option {key} takes a number, not '{v}'")
        })?),
        _ => Value::Str(v.to_string()),
    })
}

/// Escapes `bytes` for a QSettings INI value: printable ASCII other than `\`, `"`, `,`, `;`, `=` and `@` as is,
/// everything else as `\xNN`, and a hex digit right after such an escape escaped too (QSettings reads hex
/// digits greedily). With `text`, non-ASCII characters become `\x` escapes of their code points.
fn ini_escape(s: &str, out: &mut String) {
    let mut after_escape = false;
    for c in s.chars() {
        let plain = c.is_ascii_graphic() && !"\\\",;=@#[]".contains(c) || c == ' ';
        if plain && !(after_escape && c.is_ascii_hexdigit()) {
            out.push(c);
            after_escape = false;
        } else {
            let _ = write!(out, "\\x{:x}", c as u32);
            after_escape = true;
        }
    }
}

/// A byte array as QSettings writes a QByteArray: `@ByteArray(...)` with every byte escaped, so the value
/// survives whatever it holds.
fn ini_bytes(b: &[u8]) -> String {
    let mut s = String::from("@ByteArray(");
    for x in b {
        let _ = write!(s, "\\x{x:x}");
    }
    s.push(')');
    s
}

fn ini_str(s: &str) -> String {
    let mut out = String::new();
    ini_escape(s, &mut out);
    // Leading or trailing blanks would be trimmed when read.
    if out.starts_with(' ') || out.ends_with(' ') {
        return format!("\"{out}\"");
    }
    out
}

/// The `.pvs` text for the stacks.
pub fn session(stacks: &[Stack]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "[General]");
    let _ = writeln!(s, "decode_signals={}", stacks.len());
    let _ = writeln!(s, "meta_objs=0");
    let _ = writeln!(s, "views=0");
    for (i, st) in stacks.iter().enumerate() {
        let _ = writeln!(s, "\n[decode_signal{i}]");
        let name = st.layers.first().map_or("", |l| l.decoder.name);
        let _ = writeln!(s, "name={}", ini_str(name));
        let _ = writeln!(s, "enabled=true");
        let _ = writeln!(s, "decoders={}", st.layers.len());
        for (k, l) in st.layers.iter().enumerate() {
            let _ = writeln!(s, "decoder{k}\\id={}", l.decoder.id);
            let _ = writeln!(s, "decoder{k}\\visible=true");
            let _ = writeln!(s, "decoder{k}\\options={}", l.options.len());
            for (j, (name, v)) in l.options.iter().enumerate() {
                let _ = writeln!(s, "decoder{k}\\option{j}\\name={}", ini_str(name));
                let _ = writeln!(s, "decoder{k}\\option{j}\\type={}", v.gvariant_type());
                let _ = writeln!(
                    s,
                    "decoder{k}\\option{j}\\value={}",
                    ini_bytes(&v.gvariant_bytes())
                );
            }
        }
        let channels: Vec<_> = st.layers.iter().flat_map(|l| l.assigned.iter()).collect();
        let _ = writeln!(s, "channels={}", channels.len());
        for (c, (id, probe)) in channels.iter().enumerate() {
            let _ = writeln!(s, "channel{c}\\name={}", ini_str(id));
            // SRD_INITIAL_PIN_SAME_AS_SAMPLE0, PulseView's default.
            let _ = writeln!(s, "channel{c}\\initial_pin_state=2");
            if let Some(p) = probe {
                let _ = writeln!(s, "channel{c}\\assigned_signal_name={}", ini_str(p));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probes(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn i2c_session_as_pulseview_saves_it() {
        let st = Stack::parse("i2c:scl=SCL:sda=SDA", &probes(&["SCL", "SDA"])).unwrap();
        let s = session(&[st]);
        assert_eq!(
            s,
            "[General]\ndecode_signals=1\nmeta_objs=0\nviews=0\n\n[decode_signal0]\nname=I\\xb2\\x43\n\
             enabled=true\ndecoders=1\ndecoder0\\id=i2c\ndecoder0\\visible=true\ndecoder0\\options=0\n\
             channels=2\nchannel0\\name=scl\nchannel0\\initial_pin_state=2\nchannel0\\assigned_signal_name=SCL\n\
             channel1\\name=sda\nchannel1\\initial_pin_state=2\nchannel1\\assigned_signal_name=SDA\n"
        );
    }

    #[test]
    fn channel_order_is_pulseviews_not_the_users() {
        // spi: clk required, then miso, mosi, cs optional; given in another order, on scattered probes.
        let p = probes(&["D0", "CS", "D2", "MOSI", "D4", "CLK", "MISO"]);
        let st = Stack::parse(
            "spi:cs=CS:mosi=MOSI:clk=CLK:miso=MISO:cpol=1:bitorder=lsb-first",
            &p,
        )
        .unwrap();
        let a: Vec<_> = st.layers[0]
            .assigned
            .iter()
            .map(|(c, p)| format!("{c}={}", p.as_deref().unwrap_or("-")))
            .collect();
        assert_eq!(a, ["clk=CLK", "miso=MISO", "mosi=MOSI", "cs=CS"]);
        let s = session(&[st]);
        assert!(s.contains("decoder0\\option0\\name=cpol\ndecoder0\\option0\\type=x\n\
                            decoder0\\option0\\value=@ByteArray(\\x1\\x0\\x0\\x0\\x0\\x0\\x0\\x0)\n"));
        assert!(s.contains("decoder0\\option1\\type=s\n"));
    }

    #[test]
    fn stacks_and_auto_assignment() {
        let st = Stack::parse("i2c,eeprom24xx", &probes(&["scl", "SDA", "X"])).unwrap();
        assert_eq!(st.layers.len(), 2);
        assert_eq!(st.layers[0].assigned[0].1.as_deref(), Some("scl"));
        let s = session(&[
            st.clone(),
            Stack::parse("uart:rx=X:baudrate=9600", &probes(&["X"])).unwrap(),
        ]);
        assert!(s.contains("decode_signals=2\n"));
        assert!(s.contains("[decode_signal1]\nname=UART\n"));
        assert!(s.contains("decoder1\\id=eeprom24xx\n"));
    }

    #[test]
    fn bad_specs_say_why() {
        let p = probes(&["SCL", "SDA"]);
        let err = |s: &str| format!("{:#}", Stack::parse(s, &p).unwrap_err());
        assert!(err("i2x").contains("no protocol decoder 'i2x'"));
        assert!(err("i2c:scl=SCK").contains("no probe named 'SCK'"));
        assert!(err("i2c:clk=SCL").contains("no channel or option 'clk'"));
        assert!(err("i2c:scl").contains("not key=value"));
        assert!(err("spi:cpol=x:clk=SCL").contains("takes an integer"));
        assert!(err("spi").contains("needs channel clk"));
        assert!(err("eeprom24xx").contains("does not read logic signals"));
        assert!(err("i2c,uart").contains("cannot be stacked on i2c"));
        assert!(err("").contains("decoder id is missing"));
    }

    #[test]
    fn escaping() {
        assert_eq!(ini_str("SCL"), "SCL");
        assert_eq!(ini_str("a,b"), "a\\x2c\\x62");
        assert_eq!(ini_str("@x"), "\\x40x");
        assert_eq!(ini_str(" x"), "\" x\"");
        assert_eq!(ini_bytes(b"ab\0"), "@ByteArray(\\x61\\x62\\x0)");
    }
}
