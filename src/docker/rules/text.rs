//! Rule text in iptables-save's canonical spelling, and turning it into
//! model rules with the rules-file parser (so expected rules are byte for
//! byte what the kernel holds when Docker made them).
//!
//! iptables-save prints a rule's parts in a fixed order — `-s`, `-d`, `-i`,
//! `-o`, `-p`, the matches in the order given, then `-j` and the target's
//! options — with `!` before each inverted part, addresses with their prefix
//! length (`/32`, `/128`) and the protocol match made explicit (`-m tcp`).
//! `Line` writes rules in that order, so two rules are the same rule
//! exactly when their texts are equal.

use crate::ruleset::command::{parse_command, split_args, split_unquoted, Command};
use crate::ruleset::protocols::ProtoNames;
use crate::ruleset::save::{push_ipv4, push_u64, Printer};
use crate::ruleset::Rule;
use crate::small::ShortStr;
use crate::xt::parse::ParseCtx;
use crate::xt::Services;
use crate::Family;
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

/// The ipsets Docker 28.0.0 creates, with the index a fresh network
/// namespace gives them (Docker creates the IPv4 set first). The kernel's
/// `set` match stores the index, not the name; expected rules use these
/// stand-in indexes, so compare `set` matches by name (print both sides
/// with their own index → name maps), not by their bytes.
pub const STANDIN_SET_INDEXES: [(&str, u16); 2] =
    [("docker-ext-bridges-v4", 0), ("docker-ext-bridges-v6", 1)];

/// Name of a stand-in set index (see [`STANDIN_SET_INDEXES`]).
pub fn standin_set_name(index: u16) -> Option<String> {
    STANDIN_SET_INDEXES
        .iter()
        .find(|(_, i)| *i == index)
        .map(|(n, _)| (*n).to_string())
}

fn standin_set_index(name: &str) -> Option<u16> {
    STANDIN_SET_INDEXES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, i)| *i)
}

/// Protocol names: iptables' own list covers everything Docker uses (tcp,
/// udp, sctp, icmp, ipv6-icmp), so no `/etc/protocols` is needed.
fn protocols() -> &'static ProtoNames {
    static P: OnceLock<ProtoNames> = OnceLock::new();
    P.get_or_init(|| ProtoNames::from_etc_protocols(""))
}

/// Docker's rules use numeric ports only.
fn services() -> &'static Services {
    static S: OnceLock<Services> = OnceLock::new();
    S.get_or_init(Services::default)
}

/// Parses one `-A CHAIN …` line of `table` into a rule. Panics when the
/// text does not parse: every line comes from this module's builders, so a
/// failure is a bug in them (or an extension the parser lacks).
pub(crate) fn parse_rule(family: Family, table: &str, line: &str) -> Rule {
    let ctx = ParseCtx {
        family,
        proto: 0,
        proto_invert: false,
        table,
        protocols: protocols(),
        services: services(),
        set_index: &standin_set_index,
    };
    // The builders never quote: split in place instead of copying every
    // word (this runs for each of tens of thousands of port rules).
    let parsed = if line.contains('"') {
        parse_command(&split_args(line), &ctx)
    } else {
        parse_command(&split_unquoted(line).collect::<Vec<_>>(), &ctx)
    };
    match parsed {
        Ok(Command::Append { mut rules, .. }) if rules.len() == 1 => rules.remove(0),
        Ok(other) => panic!("expected rule `{line}' is not one -A rule: {other:?}"),
        Err(e) => panic!("expected rule `{line}' ({family}, {table}) does not parse: {e}"),
    }
}

/// A printer for expected rules (stand-in set names, iptables' protocol
/// names).
pub fn printer(family: Family) -> Printer<'static> {
    Printer {
        family,
        counters: false,
        protocols: protocols(),
        set_name: &standin_set_name,
    }
}

/// An address with its full prefix, as iptables-save prints a host.
pub(crate) fn host(ip: IpAddr) -> String {
    let mut out = String::with_capacity(24);
    push_ip(&mut out, ip);
    out.push_str(if ip.is_ipv4() { "/32" } else { "/128" });
    out
}

/// Appends `ip` as its `Display` writes it. Every published port has its
/// container's address written several times: an IPv4 address is written
/// as the save printer writes one, without the formatting machinery.
pub(crate) fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => push_ipv4(out, a.octets()),
        IpAddr::V6(a) => {
            use std::fmt::Write;
            let _ = write!(out, "{a}");
        }
    }
}

/// `ip` as its `Display` writes it, kept inline (the kind of each of a
/// port's rules names its container's address: tens of thousands on a
/// busy host).
pub(crate) fn ip_short(ip: IpAddr) -> ShortStr {
    use std::io::Write;
    // The longest text: eight groups, or six and an IPv4 tail.
    let mut buf = [0u8; 45];
    let mut rest = &mut buf[..];
    let _ = write!(rest, "{ip}");
    let len = 45 - rest.len();
    ShortStr::from(std::str::from_utf8(&buf[..len]).unwrap_or_default())
}

/// The IPv4 netmask of a prefix length (capped at 32).
pub(crate) fn mask4(prefix: u8) -> u32 {
    match prefix.min(32) {
        0 => 0,
        p => u32::MAX << (32 - p),
    }
}

/// The IPv6 netmask of a prefix length (capped at 128).
pub(crate) fn mask6(prefix: u8) -> u128 {
    match prefix.min(128) {
        0 => 0,
        p => u128::MAX << (128 - p),
    }
}

/// A subnet with its host bits cleared (Docker masks it).
pub(crate) fn subnet4(addr: Ipv4Addr, prefix: u8) -> String {
    let p = prefix.min(32);
    format!("{}/{p}", Ipv4Addr::from(u32::from(addr) & mask4(p)))
}

pub(crate) fn subnet6(addr: Ipv6Addr, prefix: u8) -> String {
    let p = prefix.min(128);
    format!("{}/{p}", Ipv6Addr::from(u128::from(addr) & mask6(p)))
}

/// `ADDR:PORT`, `[ADDR6]:PORT` (Go's `net.JoinHostPort`).
pub(crate) fn join_host_port(ip: IpAddr, port: u16) -> String {
    let mut out = String::with_capacity(24);
    if ip.is_ipv6() {
        out.push('[');
    }
    push_ip(&mut out, ip);
    out.push_str(if ip.is_ipv6() { "]:" } else { ":" });
    push_u64(&mut out, port.into());
    out
}

/// The loopback range the nat OUTPUT jump excludes with the proxy on.
pub(crate) fn loopback(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "127.0.0.0/8",
        Family::Ipv6 => "::1/128",
    }
}

/// ICMP's protocol name as iptables-save prints it.
pub(crate) fn icmp(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "icmp",
        Family::Ipv6 => "ipv6-icmp",
    }
}

/// A rule's arguments, assembled in iptables-save's order. The parts are
/// kept as given (borrowed or owned) and joined once by [`Line::j`]: tens
/// of thousands of port rules are written this way.
#[derive(Debug, Default, Clone)]
pub(crate) struct Line<'a> {
    s: Option<(bool, Cow<'a, str>)>,
    d: Option<(bool, Cow<'a, str>)>,
    i: Option<(bool, Cow<'a, str>)>,
    o: Option<(bool, Cow<'a, str>)>,
    p: Option<Cow<'a, str>>,
    m: String,
}

/// `-A ` + a chain name (at most 28 bytes) + a space.
const PREFIX_ROOM: usize = 32;

impl<'a> Line<'a> {
    pub fn new() -> Line<'a> {
        Line::default()
    }
    pub fn s(mut self, v: impl Into<Cow<'a, str>>) -> Line<'a> {
        self.s = Some((false, v.into()));
        self
    }
    pub fn not_s(mut self, v: impl Into<Cow<'a, str>>) -> Line<'a> {
        self.s = Some((true, v.into()));
        self
    }
    pub fn d(mut self, v: impl Into<Cow<'a, str>>) -> Line<'a> {
        self.d = Some((false, v.into()));
        self
    }
    pub fn not_d(mut self, v: impl Into<Cow<'a, str>>) -> Line<'a> {
        self.d = Some((true, v.into()));
        self
    }
    pub fn i(mut self, v: impl Into<Cow<'a, str>>) -> Line<'a> {
        self.i = Some((false, v.into()));
        self
    }
    pub fn not_i(mut self, v: impl Into<Cow<'a, str>>) -> Line<'a> {
        self.i = Some((true, v.into()));
        self
    }
    pub fn o(mut self, v: impl Into<Cow<'a, str>>) -> Line<'a> {
        self.o = Some((false, v.into()));
        self
    }
    pub fn not_o(mut self, v: impl Into<Cow<'a, str>>) -> Line<'a> {
        self.o = Some((true, v.into()));
        self
    }
    /// `-p PROTO` without a match.
    pub fn p(mut self, proto: impl Into<Cow<'a, str>>) -> Line<'a> {
        self.p = Some(proto.into());
        self
    }
    /// `-p PROTO -m PROTO --dport N` (or `--sport`).
    pub fn port(mut self, proto: &'a str, option: &str, port: u16) -> Line<'a> {
        self.p = Some(Cow::Borrowed(proto));
        for part in [" -m ", proto, " ", option, " "] {
            self.m.push_str(part);
        }
        push_u64(&mut self.m, port.into());
        self
    }
    /// A match with its options, e.g. `-m addrtype --dst-type LOCAL`.
    pub fn m(mut self, text: &str) -> Line<'a> {
        self.m.push(' ');
        self.m.push_str(text);
        self
    }
    /// Finishes with `-j TARGET [options]`; returns the arguments after
    /// `-A CHAIN` (with room to put that in front without a copy).
    pub fn j(self, target: &str) -> String {
        let sels = [
            ("-s", &self.s),
            ("-d", &self.d),
            ("-i", &self.i),
            ("-o", &self.o),
        ];
        let len = sels
            .iter()
            .filter_map(|(_, v)| v.as_ref().map(|(_, v)| v.len() + 6))
            .sum::<usize>()
            + self.p.as_ref().map_or(0, |p| p.len() + 4)
            + self.m.len()
            + target.len()
            + 4;
        // Room for the `-A CHAIN ` the expected rule's line puts in front.
        let mut out = String::with_capacity(len + PREFIX_ROOM);
        for (flag, v) in sels {
            if let Some((not, v)) = v {
                if *not {
                    out.push_str(" !");
                }
                out.push(' ');
                out.push_str(flag);
                out.push(' ');
                out.push_str(v);
            }
        }
        if let Some(p) = &self.p {
            out.push_str(" -p ");
            out.push_str(p);
        }
        out.push_str(&self.m);
        out.push_str(" -j ");
        out.push_str(target);
        // Every part starts with a space: drop the first one in place.
        out.remove(0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_numbers_are_written_as_display_writes_them() {
        for n in [0u16, 7, 9, 10, 99, 100, 255, 1000, 9999, 10000, 65535] {
            let mut s = String::new();
            push_u64(&mut s, n.into());
            assert_eq!(s, n.to_string());
        }
        for ip in [
            "0.0.0.0",
            "10.0.0.1",
            "172.17.0.2",
            "192.168.100.255",
            "255.255.255.255",
            "::",
            "::1",
            "fd00:dead:beef::2",
            "::ffff:10.0.0.1",
            "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
            "fd00:1111:2222:3333:4444:5555:6666:7777",
        ] {
            let ip: IpAddr = ip.parse().expect("address");
            let mut s = String::new();
            push_ip(&mut s, ip);
            assert_eq!(s, ip.to_string());
            assert_eq!(ip_short(ip).as_str(), s);
            let prefix = if ip.is_ipv4() { 32 } else { 128 };
            assert_eq!(host(ip), format!("{ip}/{prefix}"));
            assert_eq!(
                join_host_port(ip, 8080),
                std::net::SocketAddr::new(ip, 8080).to_string()
            );
        }
    }

    #[test]
    fn canonical_order() {
        assert_eq!(
            Line::new()
                .port("tcp", "--dport", 80)
                .o("docker0")
                .not_i("docker0")
                .d("172.17.0.2/32")
                .j("ACCEPT"),
            "-d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT"
        );
        assert_eq!(Line::new().j("RETURN"), "-j RETURN");
        assert_eq!(subnet4("172.17.0.1".parse().unwrap(), 16), "172.17.0.0/16");
        assert_eq!(
            subnet6("fd00:dead:beef::1".parse().unwrap(), 64),
            "fd00:dead:beef::/64"
        );
        assert_eq!(
            join_host_port("fd00::2".parse().unwrap(), 80),
            "[fd00::2]:80"
        );
    }
}
