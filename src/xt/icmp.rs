//! `icmp` (IPv4) and `icmp6` (IPv6) matches, revision 0 (`struct ipt_icmp`
//! / `ip6t_icmp`: a type and a code range).

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

    fn encode(&self, _: u8, _: Family) -> Vec<u8> {
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

    fn encode(&self, _: u8, _: Family) -> Vec<u8> {
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

// SKELETON parse (to be implemented)
use super::parse::{OptSpec, Parse, ParseCtx};
impl Parse for Icmp {
    const OPTIONS: &'static [OptSpec] = &[];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        unimplemented!("skeleton")
    }

    fn option(
        &mut self,
        name: &str,
        _: Option<&str>,
        _: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        Err(format!("unknown option --{name}"))
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        Err("not implemented".into())
    }
}

impl Parse for Icmp6 {
    const OPTIONS: &'static [OptSpec] = &[];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        unimplemented!("skeleton")
    }

    fn option(
        &mut self,
        name: &str,
        _: Option<&str>,
        _: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        Err(format!("unknown option --{name}"))
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        Err("not implemented".into())
    }
}
