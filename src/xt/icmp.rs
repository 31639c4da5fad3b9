//! `icmp` (IPv4) and `icmp6` (IPv6) matches, revision 0 (`struct ipt_icmp`
//! / `ip6t_icmp`: a type and a code range).

use super::Payload;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::ip6_tables::{ip6t_icmp, IP6T_ICMP_INV};
use nfdoctor_sys::ip_tables::{ipt_icmp, IPT_ICMP_INV};
use serde::Serialize;
use std::fmt::Write;

/// Type 255 ("any" for IPv4) and a code range, as both structs hold them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IcmpSpec {
    pub icmp_type: u8,
    pub code_min: u8,
    pub code_max: u8,
    pub invert: bool,
}

impl IcmpSpec {
    fn save(&self, option: &str, any_keyword: bool, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        if any_keyword && self.icmp_type == 0xff {
            let _ = write!(out, " {option} any");
            return;
        }
        let _ = write!(out, " {option} {}", self.icmp_type);
        if self.code_min != 0 || self.code_max != 0xff {
            let _ = write!(out, "/{}", self.code_min);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Icmp(pub IcmpSpec);

impl Codec for Icmp {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 0 {
            return Ok(None);
        }
        let i: ipt_icmp = read_payload("icmp", revision, data)?;
        Ok(Some(Icmp(IcmpSpec {
            icmp_type: i.r#type,
            code_min: i.code[0],
            code_max: i.code[1],
            invert: i.invflags & IPT_ICMP_INV != 0,
        })))
    }

    fn encode(&self, _: u8, _: Family) -> Payload {
        write_payload(&ipt_icmp {
            r#type: self.0.icmp_type,
            code: [self.0.code_min, self.0.code_max],
            invflags: if self.0.invert { IPT_ICMP_INV } else { 0 },
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        self.0.save("--icmp-type", true, out);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Icmp6(pub IcmpSpec);

impl Codec for Icmp6 {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 0 {
            return Ok(None);
        }
        let i: ip6t_icmp = read_payload("icmp6", revision, data)?;
        Ok(Some(Icmp6(IcmpSpec {
            icmp_type: i.r#type,
            code_min: i.code[0],
            code_max: i.code[1],
            invert: i.invflags & IP6T_ICMP_INV != 0,
        })))
    }

    fn encode(&self, _: u8, _: Family) -> Payload {
        write_payload(&ip6t_icmp {
            r#type: self.0.icmp_type,
            code: [self.0.code_min, self.0.code_max],
            invflags: if self.0.invert { IP6T_ICMP_INV } else { 0 },
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        self.0.save("--icmpv6-type", false, out);
    }
}

// ---- Parsing (`--icmp-type` / `--icmpv6-type`), libxt_icmp.h's tables.

use super::parse::{abbreviates, opt, strtoul_prefix, Arg, OptSpec, Parse, ParseCtx};

/// `(name, type, code_min, code_max)` in iptables' table order.
type IcmpName = (&'static str, u8, u8, u8);

const ICMP_NAMES: &[IcmpName] = &[
    ("any", 0xff, 0, 0xff),
    ("echo-reply", 0, 0, 0xff),
    ("pong", 0, 0, 0xff),
    ("destination-unreachable", 3, 0, 0xff),
    ("network-unreachable", 3, 0, 0),
    ("host-unreachable", 3, 1, 1),
    ("protocol-unreachable", 3, 2, 2),
    ("port-unreachable", 3, 3, 3),
    ("fragmentation-needed", 3, 4, 4),
    ("source-route-failed", 3, 5, 5),
    ("network-unknown", 3, 6, 6),
    ("host-unknown", 3, 7, 7),
    ("network-prohibited", 3, 9, 9),
    ("host-prohibited", 3, 10, 10),
    ("TOS-network-unreachable", 3, 11, 11),
    ("TOS-host-unreachable", 3, 12, 12),
    ("communication-prohibited", 3, 13, 13),
    ("host-precedence-violation", 3, 14, 14),
    ("precedence-cutoff", 3, 15, 15),
    ("source-quench", 4, 0, 0xff),
    ("redirect", 5, 0, 0xff),
    ("network-redirect", 5, 0, 0),
    ("host-redirect", 5, 1, 1),
    ("TOS-network-redirect", 5, 2, 2),
    ("TOS-host-redirect", 5, 3, 3),
    ("echo-request", 8, 0, 0xff),
    ("ping", 8, 0, 0xff),
    ("router-advertisement", 9, 0, 0xff),
    ("router-solicitation", 10, 0, 0xff),
    ("time-exceeded", 11, 0, 0xff),
    ("ttl-exceeded", 11, 0, 0xff),
    ("ttl-zero-during-transit", 11, 0, 0),
    ("ttl-zero-during-reassembly", 11, 1, 1),
    ("parameter-problem", 12, 0, 0xff),
    ("ip-header-bad", 12, 0, 0),
    ("required-option-missing", 12, 1, 1),
    ("timestamp-request", 13, 0, 0xff),
    ("timestamp-reply", 14, 0, 0xff),
    ("address-mask-request", 17, 0, 0xff),
    ("address-mask-reply", 18, 0, 0xff),
];

const ICMPV6_NAMES: &[IcmpName] = &[
    ("destination-unreachable", 1, 0, 0xff),
    ("no-route", 1, 0, 0),
    ("communication-prohibited", 1, 1, 1),
    ("beyond-scope", 1, 2, 2),
    ("address-unreachable", 1, 3, 3),
    ("port-unreachable", 1, 4, 4),
    ("failed-policy", 1, 5, 5),
    ("reject-route", 1, 6, 6),
    ("packet-too-big", 2, 0, 0xff),
    ("time-exceeded", 3, 0, 0xff),
    ("ttl-exceeded", 3, 0, 0xff),
    ("ttl-zero-during-transit", 3, 0, 0),
    ("ttl-zero-during-reassembly", 3, 1, 1),
    ("parameter-problem", 4, 0, 0xff),
    ("bad-header", 4, 0, 0),
    ("unknown-header-type", 4, 1, 1),
    ("unknown-option", 4, 2, 2),
    ("echo-request", 128, 0, 0xff),
    ("ping", 128, 0, 0xff),
    ("echo-reply", 129, 0, 0xff),
    ("pong", 129, 0, 0xff),
    ("router-solicitation", 133, 0, 0xff),
    ("router-advertisement", 134, 0, 0xff),
    ("neighbour-solicitation", 135, 0, 0xff),
    ("neighbor-solicitation", 135, 0, 0xff),
    ("neighbour-advertisement", 136, 0, 0xff),
    ("neighbor-advertisement", 136, 0, 0xff),
    ("redirect", 137, 0, 0xff),
];

/// libxt_icmp.h's `parse_range`: `N[:M]`, base-0 numbers up to 255, and
/// the unparsed rest.
fn byte_range(s: &str) -> Option<((u8, u8), &str)> {
    let byte = |t| match strtoul_prefix(t) {
        Some((Some(v), rest)) if v <= 255 => Some((v as u8, rest)),
        _ => None,
    };
    let (lo, rest) = byte(s)?;
    match rest.strip_prefix(':') {
        Some(r) => {
            let (hi, rest) = byte(r)?;
            Some(((lo, hi), rest))
        }
        None => Some(((lo, lo), rest)),
    }
}

/// `__ipt_parse_icmp`: a name (any unambiguous case-insensitive prefix)
/// or `TYPE[/CODE[:CODE]]`; returns `(type, code_min, code_max)`.
fn parse_icmp(names: &[IcmpName], what: &str, s: &str) -> Result<(u8, u8, u8), String> {
    let mut found: Option<&IcmpName> = None;
    for entry in names {
        let name = entry.0;
        if !abbreviates(s, name) {
            continue;
        }
        if let Some(first) = found {
            return Err(format!(
                "Ambiguous {what} type `{s}': `{}' or `{name}'?",
                first.0
            ));
        }
        found = Some(entry);
    }
    if let Some(&(_, t, lo, hi)) = found {
        return Ok((t, lo, hi));
    }
    let ((t0, t1), rest) = byte_range(s).ok_or_else(|| format!("Unknown {what} type `{s}'"))?;
    let (lo, hi) = if rest.is_empty() {
        (0, 0xff)
    } else if let Some(code) = rest.strip_prefix('/') {
        let (codes, rest) = byte_range(code).ok_or_else(|| format!("Unknown {what} code `{s}'"))?;
        if let Some(c) = rest.chars().next() {
            return Err(format!("unknown character {c}"));
        }
        codes
    } else {
        let c = rest.chars().next().unwrap_or(' ');
        return Err(format!("unknown character {c}"));
    };
    if t0 != t1 {
        return Err(format!("{what} type range not supported"));
    }
    Ok((t0, lo, hi))
}

/// The option both matches take, applied to their spec. Neither struct
/// has room to remember which options were given, so iptables' "must be
/// specified" and "can only be used once" checks are not made here.
fn icmp_option(
    spec: &mut IcmpSpec,
    ext: &str,
    option: &str,
    names: &[IcmpName],
    what: &str,
    (name, arg): (&str, Option<&str>),
) -> Result<(), String> {
    if name != option {
        return Err(format!("unknown option --{name}"));
    }
    let arg = arg.ok_or_else(|| format!("{ext}: option \"--{option}\" requires an argument."))?;
    let (t, lo, hi) = parse_icmp(names, what, arg)?;
    spec.icmp_type = t;
    spec.code_min = lo;
    spec.code_max = hi;
    Ok(())
}

impl Parse for Icmp {
    const OPTIONS: &'static [OptSpec] = &[opt("icmp-type", Arg::Required)];

    /// `icmp_init`: type 255 ("any"), codes 0–255.
    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Icmp(IcmpSpec {
            icmp_type: 0xff,
            code_min: 0,
            code_max: 0xff,
            invert: false,
        })
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        icmp_option(
            &mut self.0,
            "icmp",
            "icmp-type",
            ICMP_NAMES,
            "ICMP",
            (name, arg),
        )?;
        if invert {
            self.0.invert = true;
        }
        Ok(())
    }

    /// The kernel only takes the match under `-p icmp`.
    fn finish(&mut self, ctx: &ParseCtx<'_>) -> Result<u8, String> {
        ctx.require_proto(1, "icmp", "icmp")?;
        Ok(0)
    }
}

impl Parse for Icmp6 {
    const OPTIONS: &'static [OptSpec] = &[opt("icmpv6-type", Arg::Required)];

    /// `icmp6_init`: type 0, codes 0–255.
    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Icmp6(IcmpSpec {
            icmp_type: 0,
            code_min: 0,
            code_max: 0xff,
            invert: false,
        })
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        icmp_option(
            &mut self.0,
            "icmp6",
            "icmpv6-type",
            ICMPV6_NAMES,
            "ICMPv6",
            (name, arg),
        )?;
        if invert {
            self.0.invert = true;
        }
        Ok(())
    }

    /// The kernel only takes the match under `-p ipv6-icmp` (58).
    fn finish(&mut self, ctx: &ParseCtx<'_>) -> Result<u8, String> {
        ctx.require_proto(58, "icmp6", "ipv6-icmp")?;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{parse, roundtrip, unhex, V4, V6};

    fn v4(arg: &str) -> Result<(u8, u8, u8), String> {
        parse_icmp(ICMP_NAMES, "ICMP", arg)
    }

    #[test]
    fn names_numbers_and_codes() {
        assert_eq!(v4("echo-request"), Ok((8, 0, 255)));
        assert_eq!(v4("Echo-Req"), Ok((8, 0, 255)));
        assert_eq!(v4("any"), Ok((255, 0, 255)));
        assert_eq!(v4("port-unr"), Ok((3, 3, 3)));
        assert_eq!(v4("8"), Ok((8, 0, 255)));
        assert_eq!(v4("3/4"), Ok((3, 4, 4)));
        assert_eq!(v4("3/4:9"), Ok((3, 4, 9)));
        assert_eq!(v4("0x3/010"), Ok((3, 8, 8)));
        assert_eq!(
            v4("echo"),
            Err("Ambiguous ICMP type `echo': `echo-reply' or `echo-request'?".into())
        );
        assert_eq!(v4("nope"), Err("Unknown ICMP type `nope'".into()));
        assert_eq!(v4("256"), Err("Unknown ICMP type `256'".into()));
        assert_eq!(v4("3/x"), Err("Unknown ICMP code `3/x'".into()));
        assert_eq!(v4("3x"), Err("unknown character x".into()));
        assert_eq!(v4("3/4x"), Err("unknown character x".into()));
        assert_eq!(v4("3:4"), Err("ICMP type range not supported".into()));
        let v6 = |a| parse_icmp(ICMPV6_NAMES, "ICMPv6", a);
        assert_eq!(v6("neighbor-solicitation"), Ok((135, 0, 255)));
        assert_eq!(v6("ping"), Ok((128, 0, 255)));
        assert_eq!(v6("1/3"), Ok((1, 3, 3)));
        assert!(v6("any").is_err());
    }

    #[test]
    fn parsed_bytes_match_iptables() {
        // Captured from iptables 1.8.9 (legacy): -p icmp -m icmp ! --icmp-type
        // echo-request, --icmp-type 3/4, --icmp-type any; ip6tables
        // --icmpv6-type 1/3 and ! --icmpv6-type ping.
        for (arg, invert, data) in [
            ("echo-request", true, "0800ff0100000000"),
            ("3/4", false, "0304040000000000"),
            ("any", false, "ff00ff0000000000"),
        ] {
            let (v, rev) = parse::<Icmp>(V4.proto(1), "icmp", &[("icmp-type", Some(arg), invert)])
                .expect("parses");
            assert_eq!((rev, v.encode(0, Family::Ipv4).to_vec()), (0, unhex(data)));
        }
        for (arg, invert, data) in [
            ("1/3", false, "0103030000000000"),
            ("ping", true, "8000ff0100000000"),
        ] {
            let (v, rev) =
                parse::<Icmp6>(V6.proto(58), "icmp6", &[("icmpv6-type", Some(arg), invert)])
                    .expect("parses");
            assert_eq!((rev, v.encode(0, Family::Ipv6).to_vec()), (0, unhex(data)));
        }
        roundtrip::<Icmp>(0, Family::Ipv4, "0800ff0100000000", " ! --icmp-type 8");
        roundtrip::<Icmp6>(0, Family::Ipv6, "0103030000000000", " --icmpv6-type 1/3");
        assert_eq!(
            parse::<Icmp>(V4.proto(6), "icmp", &[("icmp-type", Some("8"), false)]).map(|_| ()),
            Err("icmp match requires `-p icmp' (without `!')".into())
        );
    }
}
