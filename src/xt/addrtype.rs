//! `addrtype` match: revision 0 (IPv4 only, `xt_addrtype_info`) and 1
//! (`xt_addrtype_info_v1`). Type masks are `1 << RTN_*`.

use super::Payload;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::{
    xt_addrtype_info, xt_addrtype_info_v1, XT_ADDRTYPE_INVERT_DEST, XT_ADDRTYPE_INVERT_SOURCE,
    XT_ADDRTYPE_LIMIT_IFACE_IN, XT_ADDRTYPE_LIMIT_IFACE_OUT,
};
use serde::Serialize;

/// Route types in bit order (`RTN_UNSPEC` = bit 0 …).
pub const TYPE_NAMES: [&str; 12] = [
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Addrtype {
    pub source: u16,
    pub dest: u16,
    pub invert_source: bool,
    pub invert_dest: bool,
    pub limit_iface_in: bool,
    pub limit_iface_out: bool,
}

fn types(mask: u16, out: &mut String) {
    let mut sep = "";
    for (i, name) in TYPE_NAMES.iter().enumerate() {
        if mask & (1 << i) != 0 {
            out.push_str(sep);
            out.push_str(name);
            sep = ",";
        }
    }
}

impl Codec for Addrtype {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        match revision {
            0 => {
                let a: xt_addrtype_info = read_payload("addrtype", 0, data)?;
                Ok(Some(Addrtype {
                    source: a.source,
                    dest: a.dest,
                    invert_source: a.invert_source != 0,
                    invert_dest: a.invert_dest != 0,
                    ..Addrtype::default()
                }))
            }
            1 => {
                let a: xt_addrtype_info_v1 = read_payload("addrtype", 1, data)?;
                Ok(Some(Addrtype {
                    source: a.source,
                    dest: a.dest,
                    invert_source: a.flags & XT_ADDRTYPE_INVERT_SOURCE != 0,
                    invert_dest: a.flags & XT_ADDRTYPE_INVERT_DEST != 0,
                    limit_iface_in: a.flags & XT_ADDRTYPE_LIMIT_IFACE_IN != 0,
                    limit_iface_out: a.flags & XT_ADDRTYPE_LIMIT_IFACE_OUT != 0,
                }))
            }
            _ => Ok(None),
        }
    }

    fn encode(&self, revision: u8, _: Family) -> Payload {
        if revision == 0 {
            return write_payload(&xt_addrtype_info {
                source: self.source,
                dest: self.dest,
                invert_source: u32::from(self.invert_source),
                invert_dest: u32::from(self.invert_dest),
            });
        }
        let mut flags = 0;
        if self.invert_source {
            flags |= XT_ADDRTYPE_INVERT_SOURCE;
        }
        if self.invert_dest {
            flags |= XT_ADDRTYPE_INVERT_DEST;
        }
        if self.limit_iface_in {
            flags |= XT_ADDRTYPE_LIMIT_IFACE_IN;
        }
        if self.limit_iface_out {
            flags |= XT_ADDRTYPE_LIMIT_IFACE_OUT;
        }
        write_payload(&xt_addrtype_info_v1 {
            source: self.source,
            dest: self.dest,
            flags,
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        if self.source != 0 {
            if self.invert_source {
                out.push_str(" !");
            }
            out.push_str(" --src-type ");
            types(self.source, out);
        }
        if self.dest != 0 {
            if self.invert_dest {
                out.push_str(" !");
            }
            out.push_str(" --dst-type ");
            types(self.dest, out);
        }
        if self.limit_iface_in {
            out.push_str(" --limit-iface-in");
        }
        if self.limit_iface_out {
            out.push_str(" --limit-iface-out");
        }
    }
}

// ---- Parsing: libxt_addrtype revision 1 (what iptables 1.8.9 writes).

use super::options::{self};
use super::parse::{abbreviates, xt_opt, OptSpec, Parse, ParseCtx, INVERT};

/// libxt_addrtype's `parse_types`: comma-separated type names, each any
/// case-insensitive prefix of a name (the first in `RTN_*` order wins).
fn parse_types(arg: &str) -> Result<u16, String> {
    let mut mask = 0u16;
    let mut rest = arg;
    loop {
        let (item, more) = match rest.split_once(',') {
            Some((item, more)) => (item, Some(more)),
            None => (rest, None),
        };
        let bit = TYPE_NAMES
            .iter()
            .position(|name| !item.is_empty() && abbreviates(item, name));
        match (bit, more) {
            (Some(bit), _) => mask |= 1 << bit,
            (None, Some(_)) => return Err(format!("addrtype: bad type `{rest}'")),
            (None, None) => return Err(format!("addrtype: bad type \"{rest}\"")),
        }
        match more {
            Some(more) => rest = more,
            None => return Ok(mask),
        }
    }
}

impl Addrtype {
    /// The options a value built by [`Parse`] has seen: each leaves a mark.
    fn seen(&self) -> options::Seen {
        let bit = |set: bool, id: u8| if set { 1u32 << id } else { 0 };
        options::Seen(
            bit(self.source != 0, 0)
                | bit(self.dest != 0, 1)
                | bit(self.limit_iface_in, 2)
                | bit(self.limit_iface_out, 3),
        )
    }
}

impl Parse for Addrtype {
    // libxt_addrtype's ids: O_SRC_TYPE 0, O_DST_TYPE 1, O_LIMIT_IFACE_IN 2,
    // O_LIMIT_IFACE_OUT 3.
    const OPTIONS: &'static [OptSpec] = &[
        xt_opt("src-type", 0, true, INVERT, 0),
        xt_opt("dst-type", 1, true, INVERT, 0),
        xt_opt("limit-iface-in", 2, false, 0, 1 << 3),
        xt_opt("limit-iface-out", 3, false, 0, 1 << 2),
    ];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Addrtype::default()
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let mut seen = self.seen();
        let (entry, arg) = seen.take("addrtype", Self::OPTIONS, name, arg, invert)?;
        match entry.id {
            0 => {
                self.source |= parse_types(arg)?;
                self.invert_source |= invert;
            }
            1 => {
                self.dest |= parse_types(arg)?;
                self.invert_dest |= invert;
            }
            2 => self.limit_iface_in = true,
            _ => self.limit_iface_out = true,
        }
        Ok(())
    }

    /// Also refuses early what the kernel refuses for IPv6 (BLACKHOLE,
    /// BROADCAST and the types from PROHIBIT on).
    fn finish(&mut self, ctx: &ParseCtx<'_>) -> Result<u8, String> {
        if self.source == 0 && self.dest == 0 {
            return Err("addrtype: you must specify --src-type or --dst-type".into());
        }
        self.seen().check("addrtype", Self::OPTIONS)?;
        if ctx.family == crate::Family::Ipv6 {
            let types = self.source | self.dest;
            if types & (1 << 6) != 0 {
                return Err("addrtype: ipv6 BLACKHOLE matching not supported".into());
            }
            if types >= 1 << 8 {
                return Err(
                    "addrtype: ipv6 PROHIBIT (THROW, NAT ..) matching not supported".into(),
                );
            }
            if types & (1 << 3) != 0 {
                return Err("addrtype: ipv6 does not support BROADCAST matching".into());
            }
        }
        Ok(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{self, roundtrip, save, unhex, Rule, V4};

    #[test]
    fn dst_type_local() {
        let bytes = [0, 0, 4, 0, 0, 0, 0, 0];
        let a = Addrtype::decode(1, Family::Ipv4, &bytes).unwrap().unwrap();
        assert_eq!(a.encode(1, Family::Ipv4), bytes);
        let s = save(&a, Family::Ipv4);
        assert_eq!(s, " --dst-type LOCAL");
    }

    type Args<'a> = &'a [(&'a str, Option<&'a str>, bool)];

    fn parse(family: Family, args: Args<'_>) -> Result<Vec<u8>, String> {
        let (a, rev) = testing::parse::<Addrtype>(Rule { family, ..V4 }, "addrtype", args)?;
        assert_eq!(rev, 1);
        Ok(a.encode(1, family).to_vec())
    }

    // Payloads captured from iptables 1.8.9 (legacy and nft identical).
    #[test]
    fn captures() {
        let cases: &[(Family, Args<'_>, &str, &str)] = &[
            (
                Family::Ipv4,
                &[
                    ("src-type", Some("LOCAL,unicast"), true),
                    ("dst-type", Some("multi"), false),
                    ("limit-iface-in", None, false),
                ],
                "0600200005000000",
                " ! --src-type UNICAST,LOCAL --dst-type MULTICAST --limit-iface-in",
            ),
            (
                Family::Ipv4,
                &[("dst-type", Some("BROADCAST"), false)],
                "0000080000000000",
                " --dst-type BROADCAST",
            ),
            (
                Family::Ipv6,
                &[
                    ("src-type", Some("LOCAL"), false),
                    ("limit-iface-out", None, false),
                ],
                "0400000008000000",
                " --src-type LOCAL --limit-iface-out",
            ),
        ];
        for (family, args, data, text) in cases {
            roundtrip::<Addrtype>(1, *family, data, text);
            assert_eq!(parse(*family, args), Ok(unhex(data)));
        }
    }

    #[test]
    fn errors() {
        assert_eq!(parse_types("u"), Ok(1));
        assert_eq!(parse_types("x,l"), Ok(0x804));
        assert_eq!(
            parse_types("LOCALX"),
            Err("addrtype: bad type \"LOCALX\"".into())
        );
        assert_eq!(
            parse_types(",LOCAL"),
            Err("addrtype: bad type `,LOCAL'".into())
        );
        assert_eq!(
            parse_types("q,LOCAL"),
            Err("addrtype: bad type `q,LOCAL'".into())
        );
        assert_eq!(parse_types("LOCAL,"), Err("addrtype: bad type \"\"".into()));
        assert_eq!(
            parse(Family::Ipv4, &[("limit-iface-in", None, false)]),
            Err("addrtype: you must specify --src-type or --dst-type".into())
        );
        assert_eq!(
            parse(
                Family::Ipv4,
                &[("src-type", Some("LOCAL"), false), ("limit-iface-in", None, false), ("limit-iface-out", None, false)]
            ),
            Err("addrtype: option \"--limit-iface-in\" cannot be used together with \"--limit-iface-out\".".into())
        );
        assert_eq!(
            parse(
                Family::Ipv4,
                &[
                    ("src-type", Some("LOCAL"), false),
                    ("src-type", Some("LOCAL"), false)
                ]
            ),
            Err("addrtype: option \"--src-type\" can only be used once.".into())
        );
        assert!(parse(Family::Ipv6, &[("src-type", Some("BROADCAST"), false)]).is_err());
        assert!(parse(Family::Ipv6, &[("dst-type", Some("BLACKHOLE"), false)]).is_err());
        assert!(parse(Family::Ipv6, &[("dst-type", Some("PROHIBIT"), false)]).is_err());
        assert!(parse(
            Family::Ipv6,
            &[("dst-type", Some("UNREACHABLE,ANYCAST,UNSPEC"), false)]
        )
        .is_ok());
    }
}
