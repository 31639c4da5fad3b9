//! NAT targets: `DNAT`, `SNAT` (revisions 0–2), `MASQUERADE` and `REDIRECT`
//! (revision 0). Every layout is read into one `nf_nat_range2`-like value,
//! as libxt_NAT does before printing.

use super::options::Seen;
use super::parse::{inet_pton, strtoul_prefix, xt_opt, OptSpec, Parse, ParseCtx, Services, MAND};
use super::text;
use super::Payload;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::netfilter::nf_inet_addr;
use nfdoctor_sys::xt::{
    nf_nat_ipv4_multi_range_compat, nf_nat_ipv4_range, nf_nat_range, nf_nat_range2,
    NF_NAT_RANGE_MAP_IPS, NF_NAT_RANGE_PERSISTENT, NF_NAT_RANGE_PROTO_OFFSET,
    NF_NAT_RANGE_PROTO_RANDOM, NF_NAT_RANGE_PROTO_RANDOM_FULLY, NF_NAT_RANGE_PROTO_SPECIFIED,
};
use serde::Serialize;
use std::fmt::Write;

/// `struct nf_nat_range2` in host terms (ports host order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct NatRange {
    /// `NF_NAT_RANGE_*` bits.
    pub flags: u32,
    pub min_addr: [u8; 16],
    pub max_addr: [u8; 16],
    pub min_port: u16,
    pub max_port: u16,
    pub base_port: u16,
}

impl NatRange {
    /// One address and one port (`--to-destination ADDR:PORT`).
    pub fn single(addr: std::net::IpAddr, port: u16) -> NatRange {
        let mut bytes = [0u8; 16];
        match addr {
            std::net::IpAddr::V4(a) => bytes[..4].copy_from_slice(&a.octets()),
            std::net::IpAddr::V6(a) => bytes = a.octets(),
        }
        NatRange {
            flags: NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED,
            min_addr: bytes,
            max_addr: bytes,
            min_port: port,
            max_port: port,
            base_port: 0,
        }
    }

    /// Which layout `revision` of a NAT target uses in `family`.
    fn decode(name: &str, revision: u8, family: Family, data: &[u8]) -> Result<Self, XtError> {
        match (revision, family) {
            (0, Family::Ipv4) => {
                let m: nf_nat_ipv4_multi_range_compat = read_payload(name, revision, data)?;
                let r = m.range[0];
                let mut min_addr = [0; 16];
                let mut max_addr = [0; 16];
                min_addr[..4].copy_from_slice(&r.min_ip);
                max_addr[..4].copy_from_slice(&r.max_ip);
                Ok(NatRange {
                    flags: r.flags,
                    min_addr,
                    max_addr,
                    min_port: u16::from_be(r.min),
                    max_port: u16::from_be(r.max),
                    base_port: 0,
                })
            }
            (0 | 1, _) => {
                let r: nf_nat_range = read_payload(name, revision, data)?;
                Ok(NatRange {
                    flags: r.flags,
                    min_addr: r.min_addr.bytes,
                    max_addr: r.max_addr.bytes,
                    min_port: u16::from_be(r.min_proto),
                    max_port: u16::from_be(r.max_proto),
                    base_port: 0,
                })
            }
            _ => {
                let r: nf_nat_range2 = read_payload(name, revision, data)?;
                Ok(NatRange {
                    flags: r.flags,
                    min_addr: r.min_addr.bytes,
                    max_addr: r.max_addr.bytes,
                    min_port: u16::from_be(r.min_proto),
                    max_port: u16::from_be(r.max_proto),
                    base_port: u16::from_be(r.base_proto),
                })
            }
        }
    }

    fn encode(&self, revision: u8, family: Family) -> Payload {
        match (revision, family) {
            (0, Family::Ipv4) => write_payload(&nf_nat_ipv4_multi_range_compat {
                rangesize: 1,
                range: [nf_nat_ipv4_range {
                    flags: self.flags,
                    min_ip: [
                        self.min_addr[0],
                        self.min_addr[1],
                        self.min_addr[2],
                        self.min_addr[3],
                    ],
                    max_ip: [
                        self.max_addr[0],
                        self.max_addr[1],
                        self.max_addr[2],
                        self.max_addr[3],
                    ],
                    min: self.min_port.to_be(),
                    max: self.max_port.to_be(),
                }],
            }),
            (0 | 1, _) => write_payload(&nf_nat_range {
                flags: self.flags,
                min_addr: nf_inet_addr {
                    bytes: self.min_addr,
                },
                max_addr: nf_inet_addr {
                    bytes: self.max_addr,
                },
                min_proto: self.min_port.to_be(),
                max_proto: self.max_port.to_be(),
            }),
            _ => write_payload(&nf_nat_range2 {
                flags: self.flags,
                min_addr: nf_inet_addr {
                    bytes: self.min_addr,
                },
                max_addr: nf_inet_addr {
                    bytes: self.max_addr,
                },
                min_proto: self.min_port.to_be(),
                max_proto: self.max_port.to_be(),
                base_proto: self.base_port.to_be(),
                _pad: [0; 2],
            }),
        }
    }

    /// libxt_NAT's `sprint_range`.
    fn range_text(&self, family: Family) -> String {
        let brackets = family == Family::Ipv6 && self.flags & NF_NAT_RANGE_PROTO_SPECIFIED != 0;
        let addr = |a: &[u8; 16]| text::inet(family, a);
        let mut s = String::new();
        if self.flags & NF_NAT_RANGE_MAP_IPS != 0 {
            if brackets {
                s.push('[');
            }
            s.push_str(&addr(&self.min_addr));
            if self.min_addr != self.max_addr {
                s.push('-');
                s.push_str(&addr(&self.max_addr));
            }
            if brackets {
                s.push(']');
            }
        }
        if self.flags & NF_NAT_RANGE_PROTO_SPECIFIED != 0 {
            let _ = write!(s, ":{}", self.min_port);
            if self.max_port != self.min_port {
                let _ = write!(s, "-{}", self.max_port);
            }
            if self.flags & NF_NAT_RANGE_PROTO_OFFSET != 0 {
                let _ = write!(s, "/{}", self.base_port);
            }
        }
        s
    }

    /// libxt_NAT's `__NAT_print` in save form.
    fn save(&self, family: Family, option: &str, skip_colon: bool, out: &mut String) {
        let range = self.range_text(family);
        if !range.is_empty() {
            let range = if skip_colon {
                range.strip_prefix(':').unwrap_or(&range)
            } else {
                &range
            };
            let _ = write!(out, " {option} {range}");
        }
        if self.flags & NF_NAT_RANGE_PROTO_RANDOM != 0 {
            out.push_str(" --random");
        }
        if self.flags & NF_NAT_RANGE_PROTO_RANDOM_FULLY != 0 {
            out.push_str(" --random-fully");
        }
        if self.flags & NF_NAT_RANGE_PERSISTENT != 0 {
            out.push_str(" --persistent");
        }
    }
}

macro_rules! nat_target {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $option:literal, $skip_colon:expr, $max_rev:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
        pub struct $ty {
            #[serde(flatten)]
            pub range: NatRange,
            /// The family the payload was decoded for; printing needs it.
            #[serde(skip)]
            pub family: Option<Family>,
            #[serde(skip)]
            seen: Seen,
        }

        impl $ty {
            /// The target for `range` in `family`, as the rules-file
            /// parser leaves it.
            pub fn new(range: NatRange, family: Family) -> Self {
                $ty {
                    range,
                    family: Some(family),
                    seen: Seen::default(),
                }
            }
        }

        impl Codec for $ty {
            fn decode(revision: u8, family: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
                if revision > $max_rev {
                    return Ok(None);
                }
                Ok(Some($ty {
                    range: NatRange::decode($name, revision, family, data)?,
                    family: Some(family),
                    seen: Seen::default(),
                }))
            }

            fn encode(&self, revision: u8, family: Family) -> Payload {
                self.range.encode(revision, family)
            }

            fn save(&self, ctx: &SaveCtx<'_>, out: &mut String) {
                self.range.save(ctx.family, $option, $skip_colon, out);
            }
        }
    };
}

nat_target!(
    /// `-j DNAT --to-destination …`
    Dnat, "DNAT", "--to-destination", false, 2
);
nat_target!(
    /// `-j SNAT --to-source …`
    Snat, "SNAT", "--to-source", false, 2
);
nat_target!(
    /// `-j MASQUERADE [--to-ports …]`
    Masquerade, "MASQUERADE", "--to-ports", true, 0
);
nat_target!(
    /// `-j REDIRECT [--to-ports …]`
    Redirect, "REDIRECT", "--to-ports", true, 0
);

/// Option ids as libxt_NAT numbers them.
const O_TO_DEST: u8 = 0;
const O_TO_SRC: u8 = 1;
const O_TO_PORTS: u8 = 2;
const O_RANDOM: u8 = 3;
const O_RANDOM_FULLY: u8 = 4;
const O_PERSISTENT: u8 = 5;

/// `xtables_strtoui(s, &end, min, max)`: a number in range, and the rest.
fn number_prefix(s: &str, min: u64, max: u64) -> Option<(u16, &str)> {
    match strtoul_prefix(s)? {
        (Some(v), rest) if (min..=max).contains(&v) => Some((v as u16, rest)),
        _ => None,
    }
}

/// `xtables_service_to_port(name, NULL)`: `getservbyname` for any protocol.
fn service_port(name: &str, services: &Services) -> Option<u16> {
    ["tcp", "udp", "sctp", "dccp"]
        .iter()
        .find_map(|proto| services.port(name, proto))
}

/// libxt_NAT's `parse_ports`: `PORT`, `MIN-MAX` or `MIN-MAX/BASE`.
fn parse_ports(
    arg: &str,
    portok: bool,
    range: &mut NatRange,
    services: &Services,
) -> Result<(), String> {
    if !portok {
        return Err("Need TCP, UDP, SCTP or DCCP with port specification".into());
    }
    range.flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
    let (port, end) = match number_prefix(arg, 0, 65535) {
        Some(v) => v,
        None => (
            service_port(arg, services).ok_or_else(|| format!("Port `{arg}' not valid"))?,
            "",
        ),
    };
    let arg = match end.chars().next() {
        None => {
            range.min_port = port;
            range.max_port = port;
            return Ok(());
        }
        Some('-') => &end[1..],
        Some(':') => return Err("Invalid port:port syntax - use dash".into()),
        Some(_) => return Err(format!("Garbage after port value: `{end}'")),
    };
    // A range: no service names here.
    let (maxport, end) =
        number_prefix(arg, 0, 65535).ok_or_else(|| format!("Port `{arg}' not valid"))?;
    if maxport < port {
        return Err(format!("Port range `{arg}' funky"));
    }
    range.min_port = port;
    range.max_port = maxport;
    let arg = match end.chars().next() {
        None => return Ok(()),
        Some('/') => &end[1..],
        Some(_) => return Err(format!("Garbage after port range: `{end}'")),
    };
    // Anything after the base number is ignored, as in iptables.
    let base = match number_prefix(arg, 1, 65535) {
        Some((v, _)) => v,
        None => service_port(arg, services).ok_or_else(|| format!("Port `{arg}' not valid"))?,
    };
    range.flags |= NF_NAT_RANGE_PROTO_OFFSET;
    range.base_port = base;
    Ok(())
}

/// libxt_NAT's `parse_to`: `[ADDR[-ADDR]][:PORTS]`, IPv6 addresses in
/// brackets when ports follow.
fn parse_to(
    arg: &str,
    portok: bool,
    range: &mut NatRange,
    family: Family,
    services: &Services,
) -> Result<(), String> {
    let bracketed = arg.contains('[');
    let (mut start, colon) = match arg.find('[') {
        Some(lb) => {
            let inner = &arg[lb + 1..];
            let rb = match inner.find(']') {
                Some(rb) if family == Family::Ipv6 => rb,
                _ => return Err("Invalid address format".into()),
            };
            let after = lb + 1 + rb + 1;
            (&inner[..rb], arg[after..].find(':').map(|c| after + c))
        }
        None => {
            // One colon is a port; more mean an IPv6 address.
            let colon = arg.find(':').filter(|&c| !arg[c + 1..].contains(':'));
            (arg, colon)
        }
    };
    if let Some(c) = colon {
        parse_ports(&arg[c + 1..], portok, range, services)?;
        // Nothing (or `[]`) before the colon: ports only. iptables tests
        // the position, so `ab:80` is ports only as well.
        if c == 0 || c == 2 {
            return Ok(());
        }
        if !bracketed {
            start = &arg[..c];
        }
    }
    range.flags |= NF_NAT_RANGE_MAP_IPS;
    let (min, max) = match start.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (start, None),
    };
    range.min_addr = inet_pton(min, family).ok_or_else(|| format!("Bad IP address \"{min}\""))?;
    range.max_addr = match max {
        Some(b) => inet_pton(b, family).ok_or_else(|| format!("Bad IP address \"{b}\""))?,
        None => range.min_addr,
    };
    Ok(())
}

/// libxt_NAT's `__NAT_parse` for option `id`, after the option-table
/// checks.
fn nat_option(range: &mut NatRange, id: u8, arg: &str, ctx: &ParseCtx<'_>) -> Result<(), String> {
    // The rule's protocol, inverted or not (iptables ignores `!` here).
    let portok = matches!(ctx.proto, 6 | 17 | 132 | 33 | 1);
    match id {
        O_TO_DEST | O_TO_SRC => parse_to(arg, portok, range, ctx.family, ctx.services)?,
        O_TO_PORTS => parse_ports(arg, portok, range, ctx.services)?,
        O_PERSISTENT => range.flags |= NF_NAT_RANGE_PERSISTENT,
        O_RANDOM => range.flags |= NF_NAT_RANGE_PROTO_RANDOM,
        _ => range.flags |= NF_NAT_RANGE_PROTO_RANDOM_FULLY,
    }
    Ok(())
}

/// The kernel registers every NAT target for the `nat` table only.
fn nat_table(ext: &str, ctx: &ParseCtx<'_>) -> Result<(), String> {
    if ctx.table != "nat" {
        return Err(format!(
            "the {ext} target is only valid in the nat table, not in {}",
            ctx.table
        ));
    }
    Ok(())
}

/// A NAT target's parser: its option table (`to` is getopt's abbreviation
/// of the address/port option, which iptables accepts, so it is an alias)
/// and its final check, which returns the revision to write.
macro_rules! nat_parse {
    ($ty:ident, $name:literal, $options:expr, $finish:expr) => {
        impl Parse for $ty {
            const OPTIONS: &'static [OptSpec] = $options;

            fn start(_: &str, ctx: &ParseCtx<'_>) -> Self {
                $ty {
                    family: Some(ctx.family),
                    ..$ty::default()
                }
            }

            fn option(
                &mut self,
                name: &str,
                arg: Option<&str>,
                invert: bool,
                ctx: &ParseCtx<'_>,
            ) -> Result<(), String> {
                let (entry, arg) = self.seen.take($name, Self::OPTIONS, name, arg, invert)?;
                nat_option(&mut self.range, entry.id, arg, ctx)
            }

            fn finish(&mut self, ctx: &ParseCtx<'_>) -> Result<u8, String> {
                nat_table($name, ctx)?;
                self.seen.check($name, Self::OPTIONS)?;
                let finish: fn(&mut $ty, &ParseCtx<'_>) -> Result<u8, String> = $finish;
                let revision = finish(self, ctx)?;
                if revision < 2 {
                    // Only `nf_nat_range2` has room for a base port.
                    self.range.base_port = 0;
                }
                Ok(revision)
            }
        }
    };
}

nat_parse!(
    Dnat,
    "DNAT",
    &[
        xt_opt("to-destination", O_TO_DEST, true, MAND, 0),
        xt_opt("to", O_TO_DEST, true, 0, 0),
        xt_opt("random", O_RANDOM, false, 0, 0),
        xt_opt("persistent", O_PERSISTENT, false, 0, 0),
    ],
    |_, _| Ok(2)
);

nat_parse!(
    Snat,
    "SNAT",
    &[
        xt_opt("to-source", O_TO_SRC, true, MAND, 0),
        xt_opt("to", O_TO_SRC, true, 0, 0),
        xt_opt("random", O_RANDOM, false, 0, 0),
        xt_opt("random-fully", O_RANDOM_FULLY, false, 0, 0),
        xt_opt("persistent", O_PERSISTENT, false, 0, 0),
    ],
    |_, ctx| {
        // iptables 1.8.9 has only revision 0 for IPv4 and 1 for IPv6.
        Ok(match ctx.family {
            Family::Ipv4 => 0,
            Family::Ipv6 => 1,
        })
    }
);

nat_parse!(
    Masquerade,
    "MASQUERADE",
    &[
        xt_opt("to-ports", O_TO_PORTS, true, 0, 0),
        xt_opt("to", O_TO_PORTS, true, 0, 0),
        xt_opt("random", O_RANDOM, false, 0, 0),
        xt_opt("random-fully", O_RANDOM_FULLY, false, 0, 0),
    ],
    |_, _| Ok(0)
);

nat_parse!(
    Redirect,
    "REDIRECT",
    &[
        xt_opt("to-ports", O_TO_PORTS, true, 0, 0),
        xt_opt("to", O_TO_PORTS, true, 0, 0),
        xt_opt("random", O_RANDOM, false, 0, 0),
    ],
    |t, _| {
        if t.range.flags & NF_NAT_RANGE_PROTO_OFFSET != 0 {
            return Err("Shifted portmap ranges not supported with this kernel".into());
        }
        Ok(0)
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dnat_rev2_matches_capture() {
        // netfilter-abi.md A.7.6: --to-destination 172.17.0.2:80
        let mut bytes = vec![3, 0, 0, 0, 172, 17, 0, 2];
        bytes.extend([0; 12]);
        bytes.extend([172, 17, 0, 2]);
        bytes.extend([0; 12]);
        bytes.extend([0, 80, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0]);
        let d = Dnat::decode(2, Family::Ipv4, &bytes).unwrap().unwrap();
        assert_eq!(d.encode(2, Family::Ipv4), bytes);
        assert_eq!(save(&d, Family::Ipv4), " --to-destination 172.17.0.2:80");
    }

    #[test]
    fn ipv6_dnat_uses_brackets() {
        let mut a = [0u8; 16];
        a[0] = 0xfd;
        a[15] = 2;
        let d = Dnat {
            range: NatRange {
                flags: NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED,
                min_addr: a,
                max_addr: a,
                min_port: 80,
                max_port: 80,
                base_port: 0,
            },
            family: Some(Family::Ipv6),
            seen: Seen::default(),
        };
        assert_eq!(save(&d, Family::Ipv6), " --to-destination [fd00::2]:80");
    }

    #[test]
    fn masquerade_ports_and_random() {
        // A.7.6: --to-ports 1024-2048 --random
        let bytes = [
            1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 8, 0, 0, 0, 0, 0,
        ];
        let m = Masquerade::decode(0, Family::Ipv4, &bytes)
            .unwrap()
            .unwrap();
        assert_eq!(save(&m, Family::Ipv4), " --to-ports 1024-2048 --random");
        let plain = Masquerade::decode(0, Family::Ipv6, &[0; 40])
            .unwrap()
            .unwrap();
        assert_eq!(save(&plain, Family::Ipv6), "");
    }

    use crate::xt::testing::{captured, parse, save, V4, V6};

    const NONE: Option<&str> = None;

    #[test]
    fn dnat_parses_like_iptables() {
        let nat = V4.table("nat");
        captured::<Dnat>(
            nat.proto(6),
            "DNAT",
            &[
                ("to-destination", Some("10.0.0.1-10.0.0.5:1000-2000/1500"), false),
                ("random", NONE, false),
                ("persistent", NONE, false),
            ],
            2,
            "2f0000000a0000010000000000000000000000000a00000500000000000000000000000003e807d005dc000000000000",
            " --to-destination 10.0.0.1-10.0.0.5:1000-2000/1500 --random --persistent",
        );
        captured::<Dnat>(
            nat.proto(17),
            "DNAT",
            &[("to", Some(":53"), false)],
            2,
            "020000000000000000000000000000000000000000000000000000000000000000000000003500350000000000000000",
            " --to-destination :53",
        );
        captured::<Dnat>(
            nat,
            "DNAT",
            &[("to-destination", Some("10.0.0.9"), false)],
            2,
            "010000000a0000090000000000000000000000000a000009000000000000000000000000000000000000000000000000",
            " --to-destination 10.0.0.9",
        );
        // iptables tests the colon's position: `12:80` is ports only.
        captured::<Dnat>(
            nat.proto(6),
            "DNAT",
            &[("to-destination", Some("12:80"), false)],
            2,
            "020000000000000000000000000000000000000000000000000000000000000000000000005000500000000000000000",
            " --to-destination :80",
        );
        // Service names for a single port, any protocol.
        captured::<Dnat>(
            nat.proto(132),
            "DNAT",
            &[("to-destination", Some("1.2.3.4:http"), false)],
            2,
            "030000000102030400000000000000000000000001020304000000000000000000000000005000500000000000000000",
            " --to-destination 1.2.3.4:80",
        );
    }

    #[test]
    fn ipv6_dnat_parses_like_ip6tables() {
        let nat = V6.table("nat");
        captured::<Dnat>(
            nat.proto(6),
            "DNAT",
            &[
                ("to-destination", Some("[fd00::1-fd00::5]:1000-2000/1500"), false),
                ("random", NONE, false),
                ("persistent", NONE, false),
            ],
            2,
            "2f000000fd000000000000000000000000000001fd00000000000000000000000000000503e807d005dc000000000000",
            " --to-destination [fd00::1-fd00::5]:1000-2000/1500 --random --persistent",
        );
        captured::<Dnat>(
            nat,
            "DNAT",
            &[("to-destination", Some("fd00::9-fd00::10"), false)],
            2,
            "01000000fd000000000000000000000000000009fd000000000000000000000000000010000000000000000000000000",
            " --to-destination fd00::9-fd00::10",
        );
        captured::<Dnat>(
            nat.proto(17),
            "DNAT",
            &[("to", Some("[]:53"), false)],
            2,
            "020000000000000000000000000000000000000000000000000000000000000000000000003500350000000000000000",
            " --to-destination :53",
        );
        captured::<Dnat>(
            nat.proto(6),
            "DNAT",
            &[("to-destination", Some("[::ffff:1.2.3.4]:80"), false)],
            2,
            "0300000000000000000000000000ffff0102030400000000000000000000ffff01020304005000500000000000000000",
            " --to-destination [::ffff:1.2.3.4]:80",
        );
    }

    #[test]
    fn snat_revision_0_and_1() {
        let nat = V4.table("nat");
        captured::<Snat>(
            nat.proto(6),
            "SNAT",
            &[
                ("to-source", Some("1.2.3.4-1.2.3.8:100-200"), false),
                ("random", NONE, false),
                ("random-fully", NONE, false),
                ("persistent", NONE, false),
            ],
            0,
            "010000001f0000000102030401020308006400c800000000",
            " --to-source 1.2.3.4-1.2.3.8:100-200 --random --random-fully --persistent",
        );
        // Revision 0 has no base port: the flag stays, the number is lost.
        captured::<Snat>(
            nat.proto(6),
            "SNAT",
            &[("to-source", Some("1.2.3.4:100-200/150"), false)],
            0,
            "01000000230000000102030401020304006400c800000000",
            " --to-source 1.2.3.4:100-200/0",
        );
        captured::<Snat>(
            nat.proto(33),
            "SNAT",
            &[("to", Some(":0x50"), false)],
            0,
            "010000000200000000000000000000000050005000000000",
            " --to-source :80",
        );
        let nat6 = V6.table("nat");
        captured::<Snat>(
            nat6.proto(6),
            "SNAT",
            &[
                ("to-source", Some("[2001:db8::1]:100-200/7"), false),
                ("random-fully", NONE, false),
            ],
            1,
            "3300000020010db800000000000000000000000120010db8000000000000000000000001006400c8",
            " --to-source [2001:db8::1]:100-200/0 --random-fully",
        );
        captured::<Snat>(
            nat6,
            "SNAT",
            &[("to-source", Some("2001:db8::1"), false)],
            1,
            "0100000020010db800000000000000000000000120010db800000000000000000000000100000000",
            " --to-source 2001:db8::1",
        );
    }

    #[test]
    fn masquerade_and_redirect() {
        let nat = V4.table("nat");
        captured::<Masquerade>(
            nat,
            "MASQUERADE",
            &[("random-fully", NONE, false)],
            0,
            "010000001000000000000000000000000000000000000000",
            " --random-fully",
        );
        captured::<Masquerade>(
            nat.proto(1),
            "MASQUERADE",
            &[("to-ports", Some("5-6"), false), ("random", NONE, false)],
            0,
            "010000000600000000000000000000000005000600000000",
            " --to-ports 5-6 --random",
        );
        captured::<Masquerade>(
            nat.proto(6),
            "MASQUERADE",
            &[("to-ports", Some("5-6/7"), false)],
            0,
            "010000002200000000000000000000000005000600000000",
            " --to-ports 5-6/0",
        );
        captured::<Redirect>(
            nat.proto(6),
            "REDIRECT",
            &[("to-ports", Some("8080"), false), ("random", NONE, false)],
            0,
            "010000000600000000000000000000001f901f9000000000",
            " --to-ports 8080 --random",
        );
        captured::<Redirect>(
            nat,
            "REDIRECT",
            &[],
            0,
            "010000000000000000000000000000000000000000000000",
            "",
        );
        let nat6 = V6.table("nat");
        captured::<Masquerade>(
            nat6,
            "MASQUERADE",
            &[("random", NONE, false)],
            0,
            "04000000000000000000000000000000000000000000000000000000000000000000000000000000",
            " --random",
        );
        captured::<Masquerade>(
            nat6.proto(17),
            "MASQUERADE",
            &[("to", Some("1024"), false)],
            0,
            "02000000000000000000000000000000000000000000000000000000000000000000000004000400",
            " --to-ports 1024",
        );
        captured::<Redirect>(
            nat6.proto(6),
            "REDIRECT",
            &[("to-ports", Some("8080-8090"), false)],
            0,
            "0200000000000000000000000000000000000000000000000000000000000000000000001f901f9a",
            " --to-ports 8080-8090",
        );
        captured::<Redirect>(
            nat6,
            "REDIRECT",
            &[],
            0,
            "00000000000000000000000000000000000000000000000000000000000000000000000000000000",
            "",
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let nat = V4.table("nat");
        let err = |rule, name: &str, opts: &[(&str, Option<&str>, bool)]| -> String {
            match name {
                "DNAT" => parse::<Dnat>(rule, name, opts).unwrap_err(),
                "SNAT" => parse::<Snat>(rule, name, opts).unwrap_err(),
                "MASQUERADE" => parse::<Masquerade>(rule, name, opts).unwrap_err(),
                _ => parse::<Redirect>(rule, name, opts).unwrap_err(),
            }
        };
        let to = |v: &'static str| [("to-destination", Some(v), false)];
        assert_eq!(
            err(nat, "DNAT", &[]),
            "DNAT: option \"--to-destination\" must be specified"
        );
        assert_eq!(
            err(nat, "SNAT", &[("random", NONE, false)]),
            "SNAT: option \"--to-source\" must be specified"
        );
        assert_eq!(
            err(nat, "DNAT", &to("1.2.3.4:80")),
            "Need TCP, UDP, SCTP or DCCP with port specification"
        );
        let tcp = nat.proto(6);
        assert_eq!(
            err(tcp, "DNAT", &to("1.2.3.4:80:90")),
            "Bad IP address \"1.2.3.4:80:90\""
        );
        assert_eq!(
            err(tcp, "DNAT", &to("1.2.3.4:8x")),
            "Garbage after port value: `x'"
        );
        assert_eq!(err(tcp, "DNAT", &to("1.2.3.4:9-8")), "Port range `8' funky");
        assert_eq!(
            err(tcp, "DNAT", &to("1.2.3.4:nope")),
            "Port `nope' not valid"
        );
        assert_eq!(
            err(tcp, "DNAT", &to("1.2.3.4:1-2x")),
            "Garbage after port range: `x'"
        );
        assert_eq!(err(tcp, "DNAT", &to("1.2.3.4:1-2/0")), "Port `0' not valid");
        assert_eq!(
            err(tcp, "DNAT", &to("1.2.3.999")),
            "Bad IP address \"1.2.3.999\""
        );
        assert_eq!(
            err(tcp, "DNAT", &to("01.2.3.4")),
            "Bad IP address \"01.2.3.4\""
        );
        assert_eq!(
            err(tcp, "DNAT", &to("1.2.3.4:080")),
            "Garbage after port value: `80'"
        );
        assert_eq!(err(tcp, "DNAT", &to("1.2.3.4-x")), "Bad IP address \"x\"");
        assert_eq!(
            err(tcp, "DNAT", &to("[1.2.3.4]:80")),
            "Invalid address format"
        );
        assert_eq!(
            err(
                tcp,
                "DNAT",
                &[
                    ("to-destination", Some("1.2.3.4"), false),
                    ("to", Some("1.2.3.5"), false)
                ]
            ),
            "DNAT: option \"--to-destination\" can only be used once."
        );
        assert_eq!(
            err(tcp, "DNAT", &[("random", NONE, true)]),
            "DNAT: option \"--random\" cannot be inverted."
        );
        assert_eq!(
            err(tcp, "DNAT", &[("random-fully", NONE, false)]),
            "unknown option --random-fully"
        );
        assert_eq!(
            err(tcp, "REDIRECT", &[("to-ports", Some("1-2/3"), false)]),
            "Shifted portmap ranges not supported with this kernel"
        );
        assert_eq!(
            err(V4.proto(6), "DNAT", &to("1.2.3.4")),
            "the DNAT target is only valid in the nat table, not in filter"
        );
        // `! -p tcp` still allows ports, as in iptables.
        assert!(parse::<Dnat>(nat.proto(-6), "DNAT", &to("1.2.3.4:80")).is_ok());
    }
}
