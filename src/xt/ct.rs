//! `CT` target, revisions 0–2 (`xt_ct_target_info` and `_v1`), and its
//! `NOTRACK` alias: iptables 1.8.9 writes `-j NOTRACK` as CT revision 2
//! with `XT_CT_NOTRACK | XT_CT_NOTRACK_ALIAS`, and prints such a target back
//! as `-j NOTRACK` (revision 2 only; revisions 0 and 1 have no alias and
//! print nothing after `-j CT` when the alias bit is set).

use super::options::{self, Seen};
use super::parse::{parse_uint, xt_opt, OptSpec, Parse, ParseCtx};
use super::text;
use super::Payload;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::{
    xt_ct_target_info, xt_ct_target_info_v1, XT_CT_NOTRACK, XT_CT_NOTRACK_ALIAS,
    XT_CT_ZONE_DIR_ORIG, XT_CT_ZONE_DIR_REPL, XT_CT_ZONE_MARK,
};
use serde::Serialize;
use std::fmt::Write;

/// `--ctevents` names and their `IPCT_*` bit numbers, in print order.
const CT_EVENTS: [(&str, u32); 10] = [
    ("new", 0),
    ("related", 1),
    ("destroy", 2),
    ("reply", 3),
    ("assured", 4),
    ("protoinfo", 5),
    ("helper", 6),
    ("mark", 7),
    ("natseqinfo", 8),
    ("secmark", 9),
];

/// `--expevents` names (`IPEXP_*`).
const EXP_EVENTS: [(&str, u32); 1] = [("new", 0)];

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Ct {
    /// The revision decoded from (or parsed for): revision 0 has no
    /// timeout, and only revision 2 prints as `NOTRACK`.
    pub revision: u8,
    /// `XT_CT_*` bits.
    pub flags: u16,
    pub zone: u16,
    /// Bit `1 << IPCT_*` per conntrack event.
    pub ct_events: u32,
    /// Bit `1 << IPEXP_*` per expectation event.
    pub exp_events: u32,
    pub helper: String,
    /// Timeout policy name (revisions 1–2).
    pub timeout: String,
    #[serde(skip)]
    seen: Seen,
}

impl Codec for Ct {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        Ok(Some(match revision {
            0 => {
                let c: xt_ct_target_info = read_payload("CT", 0, data)?;
                Ct {
                    revision,
                    flags: c.flags,
                    zone: c.zone,
                    ct_events: c.ct_events,
                    exp_events: c.exp_events,
                    helper: text::c_string(&c.helper),
                    ..Ct::default()
                }
            }
            1 | 2 => {
                let c: xt_ct_target_info_v1 = read_payload("CT", revision, data)?;
                Ct {
                    revision,
                    flags: c.flags,
                    zone: c.zone,
                    ct_events: c.ct_events,
                    exp_events: c.exp_events,
                    helper: text::c_string(&c.helper),
                    timeout: text::c_string(&c.timeout),
                    seen: Seen::default(),
                }
            }
            _ => return Ok(None),
        }))
    }

    /// The kernel's `ct` pointer is never dumped (it reads as zero).
    fn encode(&self, revision: u8, _: Family) -> Payload {
        if revision == 0 {
            write_payload(&xt_ct_target_info {
                flags: self.flags,
                zone: self.zone,
                ct_events: self.ct_events,
                exp_events: self.exp_events,
                helper: text::c_field(&self.helper),
                _pad: [0; 4],
                ct: 0,
            })
        } else {
            write_payload(&xt_ct_target_info_v1 {
                flags: self.flags,
                zone: self.zone,
                ct_events: self.ct_events,
                exp_events: self.exp_events,
                helper: text::c_field(&self.helper),
                timeout: text::c_field(&self.timeout),
                _pad: [0; 4],
                ct: 0,
            })
        }
    }

    /// libxt_CT's `ct_save` / `ct_save_v1`.
    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        if self.flags & XT_CT_NOTRACK_ALIAS != 0 {
            return;
        }
        if self.flags & XT_CT_NOTRACK != 0 {
            out.push_str(" --notrack");
        }
        if !self.helper.is_empty() {
            let _ = write!(out, " --helper {}", self.helper);
        }
        if self.revision != 0 && !self.timeout.is_empty() {
            let _ = write!(out, " --timeout {}", self.timeout);
        }
        if self.ct_events != 0 {
            events(" --ctevents ", &CT_EVENTS, self.ct_events, out);
        }
        if self.exp_events != 0 {
            events(" --expevents ", &EXP_EVENTS, self.exp_events, out);
        }
        if self.flags & XT_CT_ZONE_MARK != 0 || self.zone != 0 {
            out.push_str(" --zone");
            match self.flags & (XT_CT_ZONE_DIR_ORIG | XT_CT_ZONE_DIR_REPL) {
                XT_CT_ZONE_DIR_ORIG => out.push_str("-orig"),
                XT_CT_ZONE_DIR_REPL => out.push_str("-reply"),
                _ => {}
            }
            if self.flags & XT_CT_ZONE_MARK != 0 {
                out.push_str(" mark");
            } else {
                let _ = write!(out, " {}", self.zone);
            }
        }
    }

    fn alias(&self) -> Option<&'static str> {
        (self.revision == 2 && self.flags & XT_CT_NOTRACK_ALIAS != 0).then_some("NOTRACK")
    }
}

/// `ct_print_events`: known names of the set bits (unknown bits print
/// nothing, so an all-unknown mask leaves the trailing space).
fn events(prefix: &str, table: &[(&str, u32)], mask: u32, out: &mut String) {
    out.push_str(prefix);
    let mut sep = "";
    for (name, bit) in table {
        if mask & (1 << bit) != 0 {
            out.push_str(sep);
            out.push_str(name);
            sep = ",";
        }
    }
}

fn parse_events(table: &[(&str, u32)], arg: &str) -> Result<u32, String> {
    let mut mask = 0;
    for word in arg.split(',') {
        let (_, bit) = table
            .iter()
            .find(|(n, _)| *n == word)
            .ok_or_else(|| format!("Unknown event type \"{word}\""))?;
        mask |= 1 << bit;
    }
    Ok(mask)
}

/// Option ids as libxt_CT numbers them.
const O_NOTRACK: u8 = 0;
const O_HELPER: u8 = 1;
const O_TIMEOUT: u8 = 2;
const O_CTEVENTS: u8 = 3;
const O_EXPEVENTS: u8 = 4;
const O_ZONE: u8 = 5;
const O_ZONE_ORIG: u8 = 6;
const O_ZONE_REPLY: u8 = 7;

impl Parse for Ct {
    const OPTIONS: &'static [OptSpec] = &[
        xt_opt("notrack", O_NOTRACK, false, 0, 0),
        xt_opt("helper", O_HELPER, true, 0, 0),
        xt_opt("timeout", O_TIMEOUT, true, 0, 0),
        xt_opt("ctevents", O_CTEVENTS, true, 0, 0),
        xt_opt("expevents", O_EXPEVENTS, true, 0, 0),
        xt_opt("zone-orig", O_ZONE_ORIG, true, 0, 0),
        xt_opt("zone-reply", O_ZONE_REPLY, true, 0, 0),
        xt_opt("zone", O_ZONE, true, 0, 0),
    ];

    /// `CT` is parsed as revision 2; `NOTRACK` is revision 2 with the
    /// notrack and alias flags and takes no options.
    fn start(name: &str, _: &ParseCtx<'_>) -> Self {
        let flags = if name == "NOTRACK" {
            XT_CT_NOTRACK | XT_CT_NOTRACK_ALIAS
        } else {
            0
        };
        Ct {
            revision: 2,
            flags,
            ..Ct::default()
        }
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        if self.flags & XT_CT_NOTRACK_ALIAS != 0 {
            return Err(format!("unknown option --{name}"));
        }
        let (entry, arg) = self.seen.take("CT", Self::OPTIONS, name, arg, invert)?;
        let id = entry.id;
        match id {
            O_NOTRACK => self.flags |= XT_CT_NOTRACK,
            O_HELPER => self.helper = options::put_string(arg, 16),
            O_TIMEOUT => self.timeout = options::put_string(arg, 32),
            O_CTEVENTS => self.ct_events = parse_events(&CT_EVENTS, arg)?,
            O_EXPEVENTS => self.exp_events = parse_events(&EXP_EVENTS, arg)?,
            _ => {
                if id == O_ZONE_ORIG {
                    self.flags |= XT_CT_ZONE_DIR_ORIG;
                }
                if id == O_ZONE_REPLY {
                    self.flags |= XT_CT_ZONE_DIR_REPL;
                }
                self.zone = 0;
                if arg.eq_ignore_ascii_case("mark") {
                    self.flags |= XT_CT_ZONE_MARK;
                } else {
                    self.zone = parse_uint(arg, u64::from(u16::MAX))
                        .map_err(|_| format!("Cannot parse {arg} as a zone ID"))?
                        as u16;
                }
            }
        }
        Ok(())
    }

    /// The kernel accepts CT only in the `raw` table.
    fn finish(&mut self, ctx: &ParseCtx<'_>) -> Result<u8, String> {
        if ctx.table != "raw" {
            let name = if self.flags & XT_CT_NOTRACK_ALIAS != 0 {
                "NOTRACK"
            } else {
                "CT"
            };
            return Err(format!(
                "the {name} target is only valid in the raw table, not in {}",
                ctx.table
            ));
        }
        Ok(self.revision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{captured, parse, save, unhex, V4, V6};

    const NONE: Option<&str> = None;

    /// A 72-byte revision 1/2 payload starting with `head`.
    fn v1(head: &str) -> String {
        format!("{head:0<144}")
    }

    #[test]
    fn notrack_is_ct_revision_2_with_the_alias_flag() {
        let raw = V4.table("raw");
        captured::<Ct>(raw, "NOTRACK", &[], 2, &v1("03"), "");
        let (n, _) = parse::<Ct>(raw, "NOTRACK", &[]).unwrap();
        assert_eq!(n.alias(), Some("NOTRACK"));
        captured::<Ct>(
            raw,
            "CT",
            &[("notrack", NONE, false)],
            2,
            &v1("01"),
            " --notrack",
        );
        let (c, _) = parse::<Ct>(raw, "CT", &[("notrack", NONE, false)]).unwrap();
        assert_eq!(c.alias(), None);
        // The alias exists only in revision 2; revision 1 prints plain CT
        // with nothing after it.
        let r1 = Ct::decode(1, Family::Ipv4, &unhex(&v1("03")))
            .unwrap()
            .unwrap();
        assert_eq!((r1.alias(), save(&r1, Family::Ipv4).as_str()), (None, ""));
    }

    #[test]
    fn options_match_captures() {
        let raw = V6.table("raw");
        captured::<Ct>(
            raw.proto(6),
            "CT",
            &[
                (
                    "ctevents",
                    Some("new,related,destroy,reply,assured,protoinfo,helper,mark,natseqinfo,secmark"),
                    false,
                ),
                ("expevents", Some("new"), false),
                ("zone-orig", Some("5"), false),
            ],
            2,
            &v1("04000500ff03000001000000"),
            " --ctevents new,related,destroy,reply,assured,protoinfo,helper,mark,natseqinfo,\
             secmark --expevents new --zone-orig 5",
        );
        captured::<Ct>(
            raw.proto(6),
            "CT",
            &[
                ("helper", Some("ftp"), false),
                ("ctevents", Some("mark"), false),
                ("expevents", Some("new"), false),
            ],
            2,
            &v1("000000008000000001000000667470"),
            " --helper ftp --ctevents mark --expevents new",
        );
        let raw = V4.table("raw");
        captured::<Ct>(
            raw,
            "CT",
            &[("zone", Some("mark"), false)],
            2,
            &v1("1000"),
            " --zone mark",
        );
        captured::<Ct>(
            raw,
            "CT",
            &[("zone-reply", Some("MARK"), false)],
            2,
            &v1("1800"),
            " --zone-reply mark",
        );
        captured::<Ct>(
            raw,
            "CT",
            &[
                ("zone", Some("0x10"), false),
                ("zone-orig", Some("7"), false),
            ],
            2,
            &v1("04000700"),
            " --zone-orig 7",
        );
        captured::<Ct>(
            raw,
            "CT",
            &[("zone-orig", Some("0"), false)],
            2,
            &v1("0400"),
            "",
        );
    }

    #[test]
    fn revision_0_and_timeouts() {
        // Revision 0: 40 bytes, no timeout.
        let mut r0 = unhex("0100020000000000000000007369700000000000000000000000000000000000");
        r0.extend([0; 8]);
        let c = Ct::decode(0, Family::Ipv4, &r0).unwrap().unwrap();
        assert_eq!(c.encode(0, Family::Ipv4), r0);
        assert_eq!(save(&c, Family::Ipv4), " --notrack --helper sip --zone 2");
        let t = Ct {
            revision: 2,
            timeout: "slow".into(),
            ..Ct::default()
        };
        assert_eq!(save(&t, Family::Ipv4), " --timeout slow");
        let back = Ct::decode(2, Family::Ipv4, &t.encode(2, Family::Ipv4))
            .unwrap()
            .unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn errors_like_iptables() {
        let raw = V4.table("raw");
        let err = |name: &str, opts: &[(&str, Option<&str>, bool)]| {
            parse::<Ct>(raw, name, opts).unwrap_err()
        };
        assert_eq!(
            err("CT", &[("ctevents", Some("new,bogus"), false)]),
            "Unknown event type \"bogus\""
        );
        assert_eq!(
            err("CT", &[("expevents", Some("related"), false)]),
            "Unknown event type \"related\""
        );
        assert_eq!(
            err("CT", &[("zone", Some("65536"), false)]),
            "Cannot parse 65536 as a zone ID"
        );
        assert_eq!(
            err("CT", &[("notrack", NONE, true)]),
            "CT: option \"--notrack\" cannot be inverted."
        );
        assert_eq!(
            err(
                "CT",
                &[("zone", Some("1"), false), ("zone", Some("2"), false)]
            ),
            "CT: option \"--zone\" can only be used once."
        );
        assert_eq!(
            err("NOTRACK", &[("notrack", NONE, false)]),
            "unknown option --notrack"
        );
        assert_eq!(
            parse::<Ct>(V4, "NOTRACK", &[]).unwrap_err(),
            "the NOTRACK target is only valid in the raw table, not in filter"
        );
        // Long names are cut to the field, as iptables does.
        let (c, _) = parse::<Ct>(
            raw,
            "CT",
            &[("helper", Some("0123456789abcdefghij"), false)],
        )
        .unwrap();
        assert_eq!(c.helper, "0123456789abcde");
    }
}
