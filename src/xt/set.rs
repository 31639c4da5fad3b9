//! `set` match, revisions 1–4 (`xt_set_info_match_v1` … `_v4`). The payload
//! holds the ipset **index**; printing asks the kernel for the name
//! ([`SaveCtx::set_name`]) and parsing for the index ([`ParseCtx::set_index`]).
//! Revision 0 (IPv4 only, a different layout) is never written by iptables
//! 1.8.x on a current kernel and is left untyped.

use super::parse::{opt, parse_uint, Arg, OptSpec, Parse, ParseCtx};
use super::Payload;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::ipset::{IPSET_DIM_MAX, IPSET_INV_MATCH, IPSET_MAXNAMELEN};
use nfdoctor_sys::xt::{
    ip_set_counter_match, ip_set_counter_match0, xt_set_info, xt_set_info_match_v3,
    xt_set_info_match_v4, IPSET_COUNTER_EQ, IPSET_COUNTER_GT, IPSET_COUNTER_LT, IPSET_COUNTER_NE,
    IPSET_COUNTER_NONE, IPSET_FLAG_RETURN_NOMATCH, IPSET_FLAG_SKIP_COUNTER_UPDATE,
    IPSET_FLAG_SKIP_SUBCOUNTER_UPDATE,
};
use serde::Serialize;
use std::fmt::Write;

/// `IPSET_RETURN_NOMATCH` in `match_set.flags` (revision 2 keeps
/// `--return-nomatch` there; revisions 3 and 4 in the separate `flags`).
pub const IPSET_RETURN_NOMATCH: u8 = 1 << 7;

/// A `--packets-*` / `--bytes-*` test (`IPSET_COUNTER_*` op, value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SetCounter {
    pub op: u8,
    pub value: u64,
}

/// The union of revisions 1–4.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Set {
    /// The revision the value was decoded from (or is parsed for); it
    /// decides what is printed (revision 1 has no `--return-nomatch`, …).
    pub revision: u8,
    /// The ipset index.
    pub index: u16,
    /// Number of `src`/`dst` words.
    pub dim: u8,
    /// `match_set.flags`: `IPSET_INV_MATCH` (bit 0), bit `i` set when word
    /// `i` (1-based) is `src`, and revision 2's `IPSET_RETURN_NOMATCH`.
    pub flags: u8,
    /// Revisions 3–4.
    pub packets: SetCounter,
    pub bytes: SetCounter,
    /// Revisions 3–4: `IPSET_FLAG_*`.
    pub counter_flags: u32,
}

impl Set {
    pub fn invert(&self) -> bool {
        self.flags & IPSET_INV_MATCH != 0
    }

    /// The `src`/`dst` words, as libxt_set prints them.
    pub fn directions(&self) -> Vec<&'static str> {
        (1..=u32::from(self.dim))
            .map(|i| {
                if u32::from(self.flags).checked_shr(i).unwrap_or(0) & 1 != 0 {
                    "src"
                } else {
                    "dst"
                }
            })
            .collect()
    }
}

fn counter0(c: ip_set_counter_match0) -> SetCounter {
    SetCounter {
        op: c.op,
        value: c.value,
    }
}

fn counter(c: ip_set_counter_match) -> SetCounter {
    SetCounter {
        op: c.op,
        value: c.value,
    }
}

impl Codec for Set {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        Ok(Some(match revision {
            1 | 2 => {
                let s: xt_set_info = read_payload("set", revision, data)?;
                Set {
                    revision,
                    index: s.index,
                    dim: s.dim,
                    flags: s.flags,
                    ..Set::default()
                }
            }
            3 => {
                let s: xt_set_info_match_v3 = read_payload("set", revision, data)?;
                Set {
                    revision,
                    index: s.match_set.index,
                    dim: s.match_set.dim,
                    flags: s.match_set.flags,
                    packets: counter0(s.packets),
                    bytes: counter0(s.bytes),
                    counter_flags: s.flags,
                }
            }
            4 => {
                let s: xt_set_info_match_v4 = read_payload("set", revision, data)?;
                Set {
                    revision,
                    index: s.match_set.index,
                    dim: s.match_set.dim,
                    flags: s.match_set.flags,
                    packets: counter(s.packets),
                    bytes: counter(s.bytes),
                    counter_flags: s.flags,
                }
            }
            _ => return Ok(None),
        }))
    }

    fn encode(&self, revision: u8, _: Family) -> Payload {
        let match_set = xt_set_info {
            index: self.index,
            dim: self.dim,
            flags: self.flags,
        };
        match revision {
            0..=2 => write_payload(&match_set),
            3 => write_payload(&xt_set_info_match_v3 {
                match_set,
                _pad: [0; 4],
                packets: ip_set_counter_match0 {
                    op: self.packets.op,
                    _pad: [0; 7],
                    value: self.packets.value,
                },
                bytes: ip_set_counter_match0 {
                    op: self.bytes.op,
                    _pad: [0; 7],
                    value: self.bytes.value,
                },
                flags: self.counter_flags,
                _pad2: [0; 4],
            }),
            _ => write_payload(&xt_set_info_match_v4 {
                match_set,
                _pad: [0; 4],
                packets: ip_set_counter_match {
                    value: self.packets.value,
                    op: self.packets.op,
                    _pad: [0; 7],
                },
                bytes: ip_set_counter_match {
                    value: self.bytes.value,
                    op: self.bytes.op,
                    _pad: [0; 7],
                },
                flags: self.counter_flags,
                _pad2: [0; 4],
            }),
        }
    }

    /// libxt_set's `print_match` plus the revision's extra flags.
    /// iptables-save aborts when the kernel does not know the index; we
    /// print `[set index N]` in place of the name instead.
    fn save(&self, ctx: &SaveCtx<'_>, out: &mut String) {
        if self.invert() {
            out.push_str(" !");
        }
        out.push_str(" --match-set ");
        match (ctx.set_name)(self.index) {
            Some(name) => out.push_str(&name),
            None => {
                let _ = write!(out, "[set index {}]", self.index);
            }
        }
        for (i, dir) in self.directions().into_iter().enumerate() {
            out.push_str(if i == 0 { " " } else { "," });
            out.push_str(dir);
        }
        match self.revision {
            2 if self.flags & IPSET_RETURN_NOMATCH != 0 => {
                out.push_str(" --return-nomatch");
            }
            3 | 4 => {
                if self.counter_flags & IPSET_FLAG_RETURN_NOMATCH != 0 {
                    out.push_str(" --return-nomatch");
                }
                if self.counter_flags & IPSET_FLAG_SKIP_COUNTER_UPDATE != 0 {
                    out.push_str(" ! --update-counters");
                }
                if self.counter_flags & IPSET_FLAG_SKIP_SUBCOUNTER_UPDATE != 0 {
                    out.push_str(" ! --update-subcounters");
                }
                save_counter(&self.packets, "packets", out);
                save_counter(&self.bytes, "bytes", out);
            }
            _ => {}
        }
    }
}

fn save_counter(c: &SetCounter, name: &str, out: &mut String) {
    let (neg, op) = match c.op {
        IPSET_COUNTER_EQ => ("", "eq"),
        IPSET_COUNTER_NE => (" !", "eq"),
        IPSET_COUNTER_LT => ("", "lt"),
        IPSET_COUNTER_GT => ("", "gt"),
        _ => return,
    };
    let _ = write!(out, "{neg} --{name}-{op} {}", c.value);
}

/// libxt_set's `parse_dirs`: up to six comma-separated words, each only
/// compared on its first three letters (`srcfoo` counts as `src`).
fn parse_dirs(arg: &str, set: &mut Set) -> Result<(), String> {
    let mut words = arg.split(',');
    let mut rest = words.next();
    while usize::from(set.dim) < IPSET_DIM_MAX {
        let Some(word) = rest else { break };
        set.dim += 1;
        if word.as_bytes().starts_with(b"src") {
            set.flags |= 1 << set.dim;
        } else if !word.as_bytes().starts_with(b"dst") {
            return Err(
                "You must spefify (the comma separated list of) 'src' or 'dst'.".to_string(),
            );
        }
        rest = words.next();
    }
    if rest.is_some() {
        return Err(format!(
            "Can't be more src/dst options than {IPSET_DIM_MAX}."
        ));
    }
    Ok(())
}

impl Parse for Set {
    const OPTIONS: &'static [OptSpec] = &[
        opt("match-set", Arg::Two),
        // Deprecated spelling (iptables warns on stderr and accepts it).
        opt("set", Arg::Two),
        opt("return-nomatch", Arg::None),
        opt("update-counters", Arg::None),
        opt("update-subcounters", Arg::None),
        opt("packets-eq", Arg::Required),
        opt("packets-lt", Arg::Required),
        opt("packets-gt", Arg::Required),
        opt("bytes-eq", Arg::Required),
        opt("bytes-lt", Arg::Required),
        opt("bytes-gt", Arg::Required),
    ];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Set {
            revision: 4,
            ..Set::default()
        }
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        ctx: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let arg = arg.unwrap_or("");
        match name {
            "match-set" | "set" => {
                if self.dim != 0 {
                    return Err("--match-set can be specified only once".into());
                }
                if invert {
                    self.flags |= IPSET_INV_MATCH;
                }
                let (set_name, dirs) = match arg.split_once(' ') {
                    Some((n, d)) if !d.starts_with('-') && !d.starts_with('!') => (n, d),
                    _ => return Err("--match-set requires two args.".into()),
                };
                if set_name.len() > IPSET_MAXNAMELEN - 1 {
                    return Err(format!(
                        "setname `{set_name}' too long, max {} characters.",
                        IPSET_MAXNAMELEN - 1
                    ));
                }
                self.index = (ctx.set_index)(set_name)
                    .ok_or_else(|| format!("Set {set_name} doesn't exist."))?;
                parse_dirs(dirs, self)?;
            }
            "return-nomatch" => {
                if invert {
                    return Err("--return-nomatch flag cannot be inverted".into());
                }
                self.counter_flags |= IPSET_FLAG_RETURN_NOMATCH;
            }
            "update-counters" => {
                if invert {
                    self.counter_flags |= IPSET_FLAG_SKIP_COUNTER_UPDATE;
                }
            }
            "update-subcounters" => {
                if invert {
                    self.counter_flags |= IPSET_FLAG_SKIP_SUBCOUNTER_UPDATE;
                }
            }
            "packets-eq" | "packets-lt" | "packets-gt" | "bytes-eq" | "bytes-lt" | "bytes-gt" => {
                let (which, op) = name.split_once('-').unwrap_or((name, ""));
                let c = if which == "packets" {
                    &mut self.packets
                } else {
                    &mut self.bytes
                };
                if c.op != IPSET_COUNTER_NONE {
                    return Err(format!("only one of the --{which}-[eq|lt|gt] is allowed"));
                }
                let op = match (op, invert) {
                    ("eq", false) => IPSET_COUNTER_EQ,
                    ("eq", true) => IPSET_COUNTER_NE,
                    (_, true) => return Err(format!("--{name} option cannot be inverted")),
                    ("lt", false) => IPSET_COUNTER_LT,
                    _ => IPSET_COUNTER_GT,
                };
                let value = parse_uint(arg, u64::MAX)
                    .map_err(|_| format!("Cannot parse {arg} as a counter value"))?;
                *c = SetCounter { op, value };
            }
            _ => return Err(format!("unknown option --{name}")),
        }
        Ok(())
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        if self.dim == 0 {
            return Err("You must specify `--match-set' with proper arguments".into());
        }
        Ok(self.revision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{captured, parse, save, unhex, V4, V6};

    const NONE: Option<&str> = None;

    #[test]
    fn revision_4_captures() {
        captured::<Set>(
            V4,
            "set",
            &[("match-set", Some("myset src"), false)],
            4,
            "000001020000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
            " --match-set myset src",
        );
        captured::<Set>(
            V4,
            "set",
            &[
                ("match-set", Some("other src,dst"), true),
                ("return-nomatch", NONE, false),
                ("update-counters", NONE, true),
                ("update-subcounters", NONE, true),
                ("packets-eq", Some("5"), false),
                ("bytes-gt", Some("100"), false),
            ],
            4,
            "010002030000000005000000000000000100000000000000640000000000000004000000000000009800000000000000",
            " ! --match-set other src,dst --return-nomatch ! --update-counters \
             ! --update-subcounters --packets-eq 5 --bytes-gt 100",
        );
        captured::<Set>(
            V6,
            "set",
            &[
                ("match-set", Some("other dst,dst,src,src,dst,src"), false),
                ("packets-eq", Some("7"), true),
                ("bytes-lt", Some("0x10"), false),
            ],
            4,
            "010006580000000007000000000000000200000000000000100000000000000003000000000000000000000000000000",
            " --match-set other dst,dst,src,src,dst,src ! --packets-eq 7 --bytes-lt 16",
        );
        // Only three letters count; plain --update-counters changes nothing.
        captured::<Set>(
            V4,
            "set",
            &[
                ("match-set", Some("myset srcx,dstfoo"), false),
                ("bytes-eq", Some("010"), false),
                ("packets-lt", Some("3"), false),
                ("update-counters", NONE, false),
                ("update-subcounters", NONE, false),
            ],
            4,
            "000002020000000003000000000000000300000000000000080000000000000001000000000000000000000000000000",
            " --match-set myset src,dst --packets-lt 3 --bytes-eq 8",
        );
        captured::<Set>(
            V4,
            "set",
            &[
                ("set", Some("other dst"), false),
                ("packets-gt", Some("18446744073709551615"), false),
            ],
            4,
            "0100010000000000ffffffffffffffff0400000000000000000000000000000000000000000000000000000000000000",
            " --match-set other dst --packets-gt 18446744073709551615",
        );
    }

    #[test]
    fn older_revisions_print_their_own_options() {
        // Revision 2 keeps --return-nomatch in match_set.flags (0x80).
        let v2 = Set::decode(2, Family::Ipv4, &unhex("0100028400000000"))
            .unwrap()
            .unwrap();
        assert_eq!(
            save(&v2, Family::Ipv4),
            " --match-set other dst,src --return-nomatch"
        );
        assert_eq!(v2.encode(2, Family::Ipv4), unhex("0100028400000000"));
        // Revision 1 does not know it.
        let v1 = Set::decode(1, Family::Ipv4, &unhex("0100028400000000"))
            .unwrap()
            .unwrap();
        assert_eq!(save(&v1, Family::Ipv4), " --match-set other dst,src");
        // Revision 3 puts the counter op before the value.
        let bytes = unhex(
            "0000010000000000010000000000000005000000000000000300000000000000
             0700000000000000800000000000000000",
        );
        let bytes = &bytes[..48];
        let v3 = Set::decode(3, Family::Ipv4, bytes).unwrap().unwrap();
        assert_eq!(v3.packets, SetCounter { op: 1, value: 5 });
        assert_eq!(v3.bytes, SetCounter { op: 3, value: 7 });
        assert_eq!(v3.encode(3, Family::Ipv4), bytes);
        assert_eq!(
            save(&v3, Family::Ipv4),
            " --match-set myset dst --return-nomatch --packets-eq 5 --bytes-lt 7"
        );
        assert_eq!(Set::decode(0, Family::Ipv4, &[0; 32]).unwrap(), None);
        assert!(Set::decode(4, Family::Ipv4, &[0; 40]).is_err());
        // An index the kernel does not know.
        let gone = Set {
            revision: 4,
            index: 9,
            dim: 1,
            ..Set::default()
        };
        assert_eq!(save(&gone, Family::Ipv4), " --match-set [set index 9] dst");
    }

    #[test]
    fn errors_like_iptables() {
        let err = |opts: &[(&str, Option<&str>, bool)]| parse::<Set>(V4, "set", opts).unwrap_err();
        assert_eq!(
            err(&[]),
            "You must specify `--match-set' with proper arguments"
        );
        assert_eq!(
            err(&[("return-nomatch", NONE, false)]),
            "You must specify `--match-set' with proper arguments"
        );
        assert_eq!(
            err(&[("match-set", Some("nosuch src"), false)]),
            "Set nosuch doesn't exist."
        );
        assert_eq!(
            err(&[("match-set", Some("myset"), false)]),
            "--match-set requires two args."
        );
        assert_eq!(
            err(&[("match-set", Some("myset -x"), false)]),
            "--match-set requires two args."
        );
        assert_eq!(
            err(&[("match-set", Some("myset src,foo"), false)]),
            "You must spefify (the comma separated list of) 'src' or 'dst'."
        );
        assert_eq!(
            err(&[(
                "match-set",
                Some("myset src,src,src,src,src,src,src"),
                false
            )]),
            "Can't be more src/dst options than 6."
        );
        assert_eq!(
            err(&[("match-set", Some(&format!("{} src", "x".repeat(32))), false)]),
            format!("setname `{}' too long, max 31 characters.", "x".repeat(32))
        );
        assert_eq!(
            err(&[
                ("match-set", Some("myset src"), false),
                ("match-set", Some("other src"), false)
            ]),
            "--match-set can be specified only once"
        );
        assert_eq!(
            err(&[
                ("match-set", Some("myset src"), false),
                ("bytes-lt", Some("1"), true)
            ]),
            "--bytes-lt option cannot be inverted"
        );
        assert_eq!(
            err(&[
                ("match-set", Some("myset src"), false),
                ("packets-eq", Some("1"), false),
                ("packets-gt", Some("1"), false)
            ]),
            "only one of the --packets-[eq|lt|gt] is allowed"
        );
        assert_eq!(
            err(&[
                ("match-set", Some("myset src"), false),
                ("bytes-eq", Some("x"), false)
            ]),
            "Cannot parse x as a counter value"
        );
        assert_eq!(
            err(&[
                ("match-set", Some("myset src"), false),
                ("return-nomatch", NONE, true)
            ]),
            "--return-nomatch flag cannot be inverted"
        );
    }
}
