//! `REJECT` target, revision 0 (`ipt_reject_info` / `ip6t_reject_info`:
//! one u32 whose meaning differs between IPv4 and IPv6).

use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::ipt_reject_info;
use serde::Serialize;
use std::fmt::Write;

/// `--reject-with` names indexed by the kernel value. `None` marks values
/// iptables 1.8.9 compiles out of its table (it then prints glibc's
/// "(null)").
const IPV4_NAMES: [Option<&str>; 9] = [
    Some("icmp-net-unreachable"),
    Some("icmp-host-unreachable"),
    Some("icmp-proto-unreachable"),
    Some("icmp-port-unreachable"),
    None, // echo-reply
    Some("icmp-net-prohibited"),
    Some("icmp-host-prohibited"),
    Some("tcp-reset"),
    Some("icmp-admin-prohibited"),
];

const IPV6_NAMES: [Option<&str>; 9] = [
    Some("icmp6-no-route"),
    Some("icmp6-adm-prohibited"),
    None, // not-neighbour
    Some("icmp6-addr-unreachable"),
    Some("icmp6-port-unreachable"),
    None, // echo-reply
    Some("tcp-reset"),
    Some("icmp6-policy-fail"),
    Some("icmp6-reject-route"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reject {
    /// `IPT_ICMP_*` / `IP6T_ICMP6_*` value.
    pub with: u32,
}

impl Reject {
    /// The `--reject-with` keyword for `with` in `family`.
    pub fn name(with: u32, family: Family) -> Option<&'static str> {
        let table = match family {
            Family::Ipv4 => &IPV4_NAMES,
            Family::Ipv6 => &IPV6_NAMES,
        };
        table.get(with as usize).copied().flatten()
    }

    /// All keywords of `family`, with their values.
    pub fn names(family: Family) -> impl Iterator<Item = (u32, &'static str)> {
        let table = match family {
            Family::Ipv4 => &IPV4_NAMES,
            Family::Ipv6 => &IPV6_NAMES,
        };
        table
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (i as u32, n)))
    }
}

impl Codec for Reject {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 0 {
            return Ok(None);
        }
        let r: ipt_reject_info = read_payload("REJECT", 0, data)?;
        Ok(Some(Reject { with: r.with }))
    }

    fn encode(&self, _: u8, _: Family) -> Vec<u8> {
        write_payload(&ipt_reject_info { with: self.with })
    }

    fn save(&self, ctx: &SaveCtx<'_>, out: &mut String) {
        match Reject::name(self.with, ctx.family) {
            Some(name) => {
                let _ = write!(out, " --reject-with {name}");
            }
            None if self.with < 9 => out.push_str(" --reject-with (null)"),
            None => {
                let _ = write!(out, " --reject-with {}", self.with);
            }
        }
    }
}

// SKELETON parse (to be implemented)
use super::parse::{OptSpec, Parse, ParseCtx};
impl Parse for Reject {
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
