//! Docker's per-port rules built straight into model rules, next to their
//! text: a host with thousands of published ports has two or three of them
//! per port, and parsing their text back (and classifying it) was most of
//! the time spent building its expectation.
//!
//! Each builder returns the rule exactly as the rules-file parser reads its
//! text and the kind [`classify`](super::classify) gives it, or `None` for
//! a case it does not cover (the text is then parsed as before). Debug
//! builds check every typed rule against its parsed text, so the tests over
//! all the generations and scenarios prove the two paths agree.

use super::owner::RuleKind;
use super::text::{mask4, mask6};
use crate::docker::Proto;
use crate::ruleset::{AddrSel, IfaceSel, IpSpec, Rule, Target};
use crate::small::ShortStr;
use crate::xt::{Dnat, Extension, Masquerade, MatchValue, NatRange, PortRange, TargetValue};
use crate::xt::{Tcp, Udp};
use crate::Family;
use std::net::IpAddr;

/// A rule built as a model rule, with its kind.
#[derive(Debug, Clone)]
pub(crate) struct Typed {
    pub rule: Rule,
    pub kind: RuleKind,
}

/// The revisions the parser writes: DNAT 2, MASQUERADE 0, tcp/udp 0.
const DNAT_REVISION: u8 = 2;
const MASQUERADE_REVISION: u8 = 0;
const PORT_MATCH_REVISION: u8 = 0;

/// `[!] -s/-d IP/PREFIX` in `family`; `None` for an address of the other
/// family.
fn addr(family: Family, ip: IpAddr, prefix: u8, invert: bool) -> Option<AddrSel> {
    let mut sel = AddrSel {
        invert,
        ..AddrSel::default()
    };
    match (family, ip) {
        (Family::Ipv4, IpAddr::V4(a)) => {
            let mask = mask4(prefix);
            sel.addr[..4].copy_from_slice(&(u32::from(a) & mask).to_be_bytes());
            sel.mask[..4].copy_from_slice(&mask.to_be_bytes());
        }
        (Family::Ipv6, IpAddr::V6(a)) => {
            let mask = mask6(prefix);
            sel.addr = (u128::from(a) & mask).to_be_bytes();
            sel.mask = mask.to_be_bytes();
        }
        _ => return None,
    }
    Some(sel)
}

/// `-d IP/32` (or `/128`).
fn host(family: Family, ip: IpAddr) -> Option<AddrSel> {
    addr(family, ip, if ip.is_ipv4() { 32 } else { 128 }, false)
}

/// `-p PROTO -m PROTO --dport PORT`: the protocol number and the match;
/// `None` for sctp (no typed codec: its text is parsed).
fn dport(family: Family, proto: Proto, port: u16) -> Option<(u16, Extension)> {
    let (number, value) = match proto {
        Proto::Tcp => (
            6,
            MatchValue::Tcp(Tcp {
                dport: PortRange::single(port),
                ..Tcp::default()
            }),
        ),
        Proto::Udp => (
            17,
            MatchValue::Udp(Udp {
                dport: PortRange::single(port),
                ..Udp::default()
            }),
        ),
        Proto::Sctp => return None,
    };
    Some((number, value.encode(PORT_MATCH_REVISION, family)))
}

fn rule(spec: IpSpec, port_match: Extension, target: Target) -> Rule {
    Rule::new(spec, vec![port_match], target)
}

/// nat DOCKER `[! -s fe80::/10] [-d HOSTIP] [! -i BR] -p P -m P --dport
/// HOSTPORT -j DNAT --to-destination TO` (TO is `to_text`, the address and
/// port as Docker joins them).
#[allow(clippy::too_many_arguments)]
pub(crate) fn dnat(
    family: Family,
    not_link_local: bool,
    host_ip: Option<IpAddr>,
    not_bridge: Option<&str>,
    proto: Proto,
    host_port: u16,
    to: (IpAddr, u16),
    to_text: &str,
) -> Option<Typed> {
    let mut spec = IpSpec::default();
    if not_link_local {
        let link_local = std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0);
        spec.src = addr(family, IpAddr::V6(link_local), 10, true)?;
    }
    if let Some(h) = host_ip {
        spec.dst = host(family, h)?;
    }
    if let Some(br) = not_bridge {
        spec.in_iface = IfaceSel::parse(br, true)?;
    }
    let (number, port_match) = dport(family, proto, host_port)?;
    spec.proto = number;
    if to.0.is_ipv4() != (family == Family::Ipv4) {
        return None;
    }
    let target = TargetValue::Dnat(Dnat::new(NatRange::single(to.0, to.1), family))
        .encode(DNAT_REVISION, family);
    Some(Typed {
        rule: rule(spec, port_match, Target::Ext(target)),
        kind: RuleKind::Dnat {
            proto: proto.as_str().into(),
            host_ip: host_ip.map(super::text::ip_short),
            host_port,
            to: to_text.into(),
            bridge: not_bridge.map(ShortStr::from),
        },
    })
}

/// filter DOCKER `-d CIP ! -i BR -o BR -p P -m P --dport PORT -j ACCEPT`.
pub(crate) fn port_accept(
    family: Family,
    ip: IpAddr,
    bridge: &str,
    proto: Proto,
    port: u16,
) -> Option<Typed> {
    let (number, port_match) = dport(family, proto, port)?;
    let spec = IpSpec {
        dst: host(family, ip)?,
        in_iface: IfaceSel::parse(bridge, true)?,
        out_iface: IfaceSel::parse(bridge, false)?,
        proto: number,
        ..IpSpec::default()
    };
    Some(Typed {
        rule: rule(spec, port_match, Target::Accept),
        kind: RuleKind::PortAccept {
            ip: super::text::ip_short(ip),
            bridge: bridge.into(),
            proto: proto.as_str().into(),
            port,
        },
    })
}

/// nat POSTROUTING `-s CIP -d CIP -p P -m P --dport PORT -j MASQUERADE`.
pub(crate) fn self_masquerade(
    family: Family,
    ip: IpAddr,
    proto: Proto,
    port: u16,
) -> Option<Typed> {
    let (number, port_match) = dport(family, proto, port)?;
    let spec = IpSpec {
        src: host(family, ip)?,
        dst: host(family, ip)?,
        proto: number,
        ..IpSpec::default()
    };
    let target = TargetValue::Masquerade(Masquerade::new(NatRange::default(), family))
        .encode(MASQUERADE_REVISION, family);
    Some(Typed {
        rule: rule(spec, port_match, Target::Ext(target)),
        kind: RuleKind::SelfMasquerade {
            ip: super::text::ip_short(ip),
            proto: proto.as_str().into(),
            port,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::classify;
    use super::super::text::{host as host_text, parse_rule, Line};
    use super::*;

    /// Each typed rule equals its text parsed by the rules-file parser, and
    /// its kind is what `classify` reads from that text.
    fn agrees(family: Family, table: &str, chain: &str, args: &str, typed: Option<Typed>) {
        let typed = typed.unwrap_or_else(|| panic!("no typed rule for `{args}'"));
        let line = format!("-A {chain} {args}");
        assert_eq!(typed.rule, parse_rule(family, table, &line), "{line}");
        assert_eq!(
            Some(typed.kind),
            classify(table, &line).map(|d| d.kind),
            "{line}"
        );
    }

    const V4: &str = "172.17.0.2";
    const V6: &str = "fd00:dead:beef::2";

    #[test]
    fn dnat_agrees_with_its_text() {
        let cases: [(Family, &str, Option<&str>); 4] = [
            (Family::Ipv4, V4, None),
            (Family::Ipv4, V4, Some("192.0.2.7")),
            (Family::Ipv6, V6, None),
            (Family::Ipv6, V6, Some("2001:db8::7")),
        ];
        for (family, cip, hip) in cases {
            let cip: IpAddr = cip.parse().unwrap();
            let hip: Option<IpAddr> = hip.map(|h| h.parse().unwrap());
            for proto in [Proto::Tcp, Proto::Udp] {
                for bridge in [None, Some("docker0")] {
                    for link_local in [false, family == Family::Ipv6] {
                        let to = match cip {
                            IpAddr::V6(a) => format!("[{a}]:80"),
                            a => format!("{a}:80"),
                        };
                        let mut line = Line::new();
                        if link_local {
                            line = line.not_s("fe80::/10");
                        }
                        if let Some(h) = hip {
                            line = line.d(host_text(h));
                        }
                        if let Some(b) = bridge {
                            line = line.not_i(b);
                        }
                        let args = line
                            .port(proto.as_str(), "--dport", 8080)
                            .j(&format!("DNAT --to-destination {to}"));
                        let typed =
                            dnat(family, link_local, hip, bridge, proto, 8080, (cip, 80), &to);
                        agrees(family, "nat", "DOCKER", &args, typed);
                    }
                }
            }
        }
    }

    #[test]
    fn port_rules_agree_with_their_text() {
        for (family, cip) in [(Family::Ipv4, V4), (Family::Ipv6, V6)] {
            let cip: IpAddr = cip.parse().unwrap();
            let h = host_text(cip);
            for proto in [Proto::Tcp, Proto::Udp] {
                let p = proto.as_str();
                let accept = Line::new()
                    .d(&h)
                    .not_i("br-0123456789ab")
                    .o("br-0123456789ab")
                    .port(p, "--dport", 443)
                    .j("ACCEPT");
                let typed = port_accept(family, cip, "br-0123456789ab", proto, 443);
                agrees(family, "filter", "DOCKER", &accept, typed);
                let masq = Line::new()
                    .s(&h)
                    .d(&h)
                    .port(p, "--dport", 443)
                    .j("MASQUERADE");
                let typed = self_masquerade(family, cip, proto, 443);
                agrees(family, "nat", "POSTROUTING", &masq, typed);
            }
        }
    }

    #[test]
    fn what_is_not_typed_falls_back_to_the_text() {
        let v4: IpAddr = V4.parse().unwrap();
        // sctp has no typed match; an address of the other family, or a
        // bridge name too long for the kernel, is the parser's to refuse.
        assert!(port_accept(Family::Ipv4, v4, "docker0", Proto::Sctp, 80).is_none());
        assert!(port_accept(Family::Ipv6, v4, "docker0", Proto::Tcp, 80).is_none());
        assert!(port_accept(Family::Ipv4, v4, "a-bridge-name-too-long", Proto::Tcp, 80).is_none());
        assert!(self_masquerade(Family::Ipv6, v4, Proto::Tcp, 80).is_none());
    }
}
