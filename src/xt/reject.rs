//! `REJECT` target, revision 0 (`ipt_reject_info` / `ip6t_reject_info`:
//! one u32 whose meaning differs between IPv4 and IPv6).

use super::options::Seen;
use super::parse::{abbreviates, xt_opt, OptSpec, Parse, ParseCtx};
use super::Payload;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::{
    ipt_reject_info, IP6T_ICMP6_PORT_UNREACH, IP6T_TCP_RESET, IPT_ICMP_PORT_UNREACHABLE,
    IPT_TCP_RESET,
};
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
    #[serde(skip)]
    seen: Seen,
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
        Ok(Some(Reject {
            with: r.with,
            seen: Seen::default(),
        }))
    }

    fn encode(&self, _: u8, _: Family) -> Payload {
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

/// The alias iptables also accepts for each keyword, by kernel value.
const IPV4_ALIASES: [Option<&str>; 9] = [
    Some("net-unreach"),
    Some("host-unreach"),
    Some("proto-unreach"),
    Some("port-unreach"),
    None,
    Some("net-prohib"),
    Some("host-prohib"),
    Some("tcp-rst"),
    Some("admin-prohib"),
];

const IPV6_ALIASES: [Option<&str>; 9] = [
    Some("no-route"),
    Some("adm-prohibited"),
    None,
    Some("addr-unreach"),
    Some("port-unreach"),
    None,
    Some("tcp-reset"),
    Some("policy-fail"),
    Some("reject-route"),
];

impl Reject {
    /// The value for `--reject-with WORD` in `family`, as libipt_REJECT /
    /// libip6t_REJECT look it up: the first keyword or alias (in kernel
    /// value order) that starts with WORD, ignoring case — so `tcp`, `ICMP-H`
    /// and even the empty word are accepted.
    pub fn lookup(word: &str, family: Family) -> Option<u32> {
        let (names, aliases) = match family {
            Family::Ipv4 => (&IPV4_NAMES, &IPV4_ALIASES),
            Family::Ipv6 => (&IPV6_NAMES, &IPV6_ALIASES),
        };
        let prefix_of = |full: &str| abbreviates(word, full);
        (0..names.len()).find_map(|i| {
            let (Some(name), Some(alias)) = (names[i], aliases[i]) else {
                return None;
            };
            (prefix_of(name) || prefix_of(alias)).then_some(i as u32)
        })
    }

    fn default_for(family: Family) -> u32 {
        match family {
            Family::Ipv4 => IPT_ICMP_PORT_UNREACHABLE,
            Family::Ipv6 => IP6T_ICMP6_PORT_UNREACH,
        }
    }

    fn tcp_reset(family: Family) -> u32 {
        match family {
            Family::Ipv4 => IPT_TCP_RESET,
            Family::Ipv6 => IP6T_TCP_RESET,
        }
    }
}

impl Parse for Reject {
    const OPTIONS: &'static [OptSpec] = &[xt_opt("reject-with", 0, true, 0, 0)];

    /// `REJECT_init`: port unreachable by default.
    fn start(_: &str, ctx: &ParseCtx<'_>) -> Self {
        Reject {
            with: Reject::default_for(ctx.family),
            seen: Seen::default(),
        }
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        ctx: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let (_, arg) = self.seen.take("REJECT", Self::OPTIONS, name, arg, invert)?;
        self.with = Reject::lookup(arg, ctx.family)
            .ok_or_else(|| format!("unknown reject type \"{arg}\""))?;
        Ok(())
    }

    /// The kernel refuses `tcp-reset` unless the rule matches `-p tcp`
    /// (not inverted).
    fn finish(&mut self, ctx: &ParseCtx<'_>) -> Result<u8, String> {
        if self.with == Reject::tcp_reset(ctx.family) && (ctx.proto != 6 || ctx.proto_invert) {
            return Err("--reject-with tcp-reset requires `-p tcp' (without `!')".into());
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{self, save, Rule, V4};

    /// `-p PROTO -j REJECT [--reject-with WITH]`, always revision 0.
    fn parse(family: Family, proto: u16, with: Option<&str>) -> Result<Reject, String> {
        let rule = Rule {
            family,
            proto: proto.into(),
            ..V4
        };
        let opts: Vec<_> = with
            .map(|w| ("reject-with", Some(w), false))
            .into_iter()
            .collect();
        let (r, rev) = testing::parse::<Reject>(rule, "REJECT", &opts)?;
        assert_eq!(rev, 0);
        Ok(r)
    }

    #[test]
    fn captured_payloads() {
        // iptables 1.8.9: -j REJECT (default) and -p tcp -j REJECT --reject-with tcp-reset
        let dflt = [3, 0, 0, 0, 0, 0, 0, 0];
        let r = Reject::decode(0, Family::Ipv4, &dflt).unwrap().unwrap();
        assert_eq!(r.encode(0, Family::Ipv4), dflt);
        assert_eq!(
            save(&r, Family::Ipv4),
            " --reject-with icmp-port-unreachable"
        );
        assert_eq!(
            parse(Family::Ipv4, 0, None)
                .unwrap()
                .encode(0, Family::Ipv4),
            dflt
        );
        let rst = [7, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            parse(Family::Ipv4, 6, Some("tcp-reset"))
                .unwrap()
                .encode(0, Family::Ipv4),
            rst
        );
        // ip6tables: default is icmp6-port-unreachable (4), tcp-reset is 6.
        assert_eq!(parse(Family::Ipv6, 0, None).unwrap().with, 4);
        let r6 = parse(Family::Ipv6, 6, Some("tcp-reset")).unwrap();
        assert_eq!(r6.encode(0, Family::Ipv6), [6, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(save(&r6, Family::Ipv6), " --reject-with tcp-reset");
    }

    #[test]
    fn names_aliases_and_prefixes() {
        for (word, want) in [
            ("icmp-net-unreachable", 0),
            ("net-unreach", 0),
            ("HOST-UNREACH", 1),
            ("proto-unreach", 2),
            ("icmp-proto-unreachable", 2),
            ("port-unreach", 3),
            ("net-prohib", 5),
            ("icmp-host-prohibited", 6),
            ("host-prohib", 6),
            ("tcp-rst", 7),
            ("tcp", 7),
            ("admin-prohib", 8),
            ("icmp-admin-prohibited", 8),
            ("icmp-h", 1),
            ("", 0),
        ] {
            assert_eq!(Reject::lookup(word, Family::Ipv4), Some(want), "{word}");
        }
        for (word, want) in [
            ("icmp6-no-route", 0),
            ("no-route", 0),
            ("adm-prohibited", 1),
            ("icmp6-adm-prohibited", 1),
            ("addr-unreach", 3),
            ("icmp6-addr-unreachable", 3),
            ("port-unreach", 4),
            ("icmp6-port-unreachable", 4),
            ("tcp-reset", 6),
            ("policy-fail", 7),
            ("reject-route", 8),
            ("icmp6-reject-route", 8),
        ] {
            assert_eq!(Reject::lookup(word, Family::Ipv6), Some(want), "{word}");
        }
        assert_eq!(Reject::lookup("echo-reply", Family::Ipv4), None);
        assert_eq!(Reject::lookup("icmp-port-unreachable", Family::Ipv6), None);
        assert_eq!(Reject::lookup("tcp-reset-x", Family::Ipv4), None);
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(Family::Ipv4, 0, Some("bogus")).unwrap_err(),
            "unknown reject type \"bogus\""
        );
        assert!(parse(Family::Ipv4, 17, Some("tcp-reset")).is_err());
        assert!(parse(Family::Ipv6, 0, Some("tcp-reset")).is_err());
    }
}
