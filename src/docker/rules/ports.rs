//! A container's published ports as Docker processes them: normalised
//! (one "any address" binding per `-p`, whichever way the Engine API listed
//! it), ordered as the daemon or the bridge driver orders them, then
//! expanded into one binding per address family.

use super::generation::PortOrder;
use crate::docker::{Endpoint, PortBinding, Proto};
use crate::Family;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The host side of a configured binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostIp {
    /// No address (`-p 8080:80`): both families.
    Any,
    /// `0.0.0.0` only.
    AnyV4,
    /// `::` only.
    AnyV6,
    /// A specific address.
    Addr(IpAddr),
}

impl HostIp {
    fn of(ip: Option<IpAddr>) -> HostIp {
        match ip {
            None => HostIp::Any,
            Some(IpAddr::V6(a)) => match a.to_ipv4_mapped() {
                Some(v4) => HostIp::of(Some(IpAddr::V4(v4))),
                None if a.is_unspecified() => HostIp::AnyV6,
                None => HostIp::Addr(IpAddr::V6(a)),
            },
            Some(IpAddr::V4(a)) if a.is_unspecified() => HostIp::AnyV4,
            Some(ip) => HostIp::Addr(ip),
        }
    }

    /// The address Docker gives the binding of `family`, if it makes one
    /// (`None` inside means "any": Docker passes `-d 0/0`).
    fn for_family(self, family: Family) -> Option<Option<IpAddr>> {
        match (self, family) {
            (HostIp::Any, _) => Some(None),
            (HostIp::AnyV4, Family::Ipv4) | (HostIp::AnyV6, Family::Ipv6) => Some(None),
            (HostIp::Addr(a @ IpAddr::V4(_)), Family::Ipv4)
            | (HostIp::Addr(a @ IpAddr::V6(_)), Family::Ipv6) => Some(Some(a)),
            _ => None,
        }
    }

    /// `netip.Addr.Compare` order of the configured host IP (27+): no
    /// address first, then IPv4, then IPv6.
    fn rank(self) -> (u8, u128) {
        match self {
            HostIp::Any => (0, 0),
            HostIp::AnyV4 => (1, 0),
            HostIp::Addr(IpAddr::V4(a)) => (1, u128::from(u32::from(a))),
            HostIp::AnyV6 => (2, 0),
            HostIp::Addr(IpAddr::V6(a)) => (2, u128::from(a)),
        }
    }
}

/// One configured `-p` binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Config {
    pub proto: Proto,
    pub host_ip: HostIp,
    pub host_port: u16,
    pub container_port: u16,
}

impl Config {
    /// `p` as configured: its host address read as Docker reads it.
    fn of(p: &PortBinding) -> Config {
        Config {
            proto: p.proto,
            host_ip: HostIp::of(p.host_ip),
            host_port: p.host_port,
            container_port: p.container_port,
        }
    }
}

/// One binding as the bridge driver programs it: a host address family and
/// the container address it forwards to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bound {
    pub proto: Proto,
    /// The host address family of the binding.
    pub host_family: Family,
    /// `None`: any address of that family.
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_ip: IpAddr,
    pub container_port: u16,
    /// The configured binding's host address as the user gave it.
    pub configured: Option<IpAddr>,
}

impl Bound {
    /// The family of the rules it gets (the container address's).
    pub fn family(&self) -> Family {
        match self.container_ip {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// A host-IPv6 binding forwarded to an IPv4 container by docker-proxy:
    /// no NAT or filter rules.
    pub fn proxied_6to4(&self) -> bool {
        self.host_family != self.family()
    }
}

/// The endpoint's bindings, one per `-p`: entries listed once per family by
/// the Engine API (`0.0.0.0` and `::` for the same port) become one "any"
/// binding; duplicates go.
pub(crate) fn normalise(ports: &[PortBinding]) -> Vec<Config> {
    let mut out: Vec<Config> = Vec::with_capacity(ports.len());
    // Each binding meets only the earlier ones of its port (a container
    // may publish hundreds): per (proto, host port, container port) the
    // first in `out`, and per entry of `out` the next of its port.
    let mut first: HashMap<(Proto, u16, u16), usize> = HashMap::with_capacity(ports.len());
    let mut next: Vec<Option<usize>> = Vec::with_capacity(ports.len());
    for p in ports {
        let c = Config::of(p);
        let key = (c.proto, c.host_port, c.container_port);
        let (mut at, mut last, mut twin) = (first.get(&key).copied(), None, None);
        let mut duplicate = false;
        while let Some(i) = at {
            if out[i].host_ip == c.host_ip {
                duplicate = true;
                break;
            }
            if twin.is_none() && twins(out[i].host_ip, c.host_ip) {
                twin = Some(i);
            }
            last = Some(i);
            at = next[i];
        }
        if duplicate {
            continue;
        }
        match twin {
            Some(i) => out[i].host_ip = HostIp::Any,
            None => {
                match last {
                    Some(l) => next[l] = Some(out.len()),
                    None => {
                        first.insert(key, out.len());
                    }
                }
                out.push(c);
                next.push(None);
            }
        }
    }
    out
}

/// Two host sides of one port that make a single "any" binding: `0.0.0.0`
/// and `::` (either order), or "any" and either of them (it absorbs both).
fn twins(a: HostIp, b: HostIp) -> bool {
    matches!(
        (a, b),
        (HostIp::AnyV4, HostIp::AnyV6)
            | (HostIp::AnyV6, HostIp::AnyV4)
            | (HostIp::Any, HostIp::AnyV4 | HostIp::AnyV6)
            | (HostIp::AnyV4 | HostIp::AnyV6, HostIp::Any)
    )
}

/// go-connections `nat.SortPortMap`'s comparison. It is not a strict weak
/// order (`8080:53` and `5353:80` are each "less" than the other), so, like
/// Go's insertion sort for short slices, the result then depends on the
/// input order — which in the daemon is Go map order, i.e. random.
fn sort_port_map_less(a: &Config, b: &Config) -> bool {
    a.host_port > b.host_port
        || a.container_port > b.container_port
        || (a.container_port == b.container_port && a.proto == Proto::Tcp)
}

fn sort_port_map(cfg: &[Config]) -> Vec<Config> {
    // Go's sort.Sort uses insertion sort for up to 12 elements; emulate it
    // for any length (the comparison is what decides the result).
    let mut s = cfg.to_vec();
    for i in 1..s.len() {
        let mut j = i;
        while j > 0 && sort_port_map_less(&s[j], &s[j - 1]) {
            s.swap(j, j - 1);
            j -= 1;
        }
    }
    // The daemon then walks the ports in order of first appearance, with
    // each port's bindings in sorted order.
    let mut out: Vec<Config> = Vec::with_capacity(s.len());
    let mut seen: Vec<(u16, Proto)> = Vec::new();
    for c in &s {
        let key = (c.container_port, c.proto);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        out.extend(
            s.iter()
                .filter(|o| (o.container_port, o.proto) == key)
                .copied(),
        );
    }
    out
}

/// The bridge driver's `cmpPortBinding` (27+).
fn cmp_port_binding(a: &Config, b: &Config) -> Ordering {
    let range = |c: &Config| c.host_port == 0;
    range(a)
        .cmp(&range(b))
        .then(a.container_port.cmp(&b.container_port))
        .then(proto_rank(a.proto).cmp(&proto_rank(b.proto)))
        .then(a.host_port.cmp(&b.host_port))
        .then(a.host_ip.rank().cmp(&b.host_ip.rank()))
}

/// Docker's `types.Protocol` numbers: tcp 6 < udp 17 < sctp 132.
fn proto_rank(p: Proto) -> u8 {
    match p {
        Proto::Tcp => 6,
        Proto::Udp => 17,
        Proto::Sctp => 132,
    }
}

/// The bindings of `ep` in the order Docker programs them, each expanded
/// into its IPv4 binding then its IPv6 twin.
pub(crate) fn bindings(ep: &Endpoint, order: PortOrder, proxy: bool) -> Vec<Bound> {
    let cfg = normalise(&ep.ports);
    let sorted = match order {
        PortOrder::SortPortMap => sort_port_map(&cfg),
        PortOrder::ByContainerPort => {
            let mut s = cfg;
            s.sort_by(cmp_port_binding);
            s
        }
    };
    let mut out = Vec::new();
    for c in sorted {
        let configured = match c.host_ip {
            HostIp::Any => None,
            HostIp::AnyV4 => Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            HostIp::AnyV6 => Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
            HostIp::Addr(a) => Some(a),
        };
        if let (Some(host_ip), Some(cip)) = (c.host_ip.for_family(Family::Ipv4), ep.ipv4) {
            out.push(Bound {
                proto: c.proto,
                host_family: Family::Ipv4,
                host_ip,
                host_port: c.host_port,
                container_ip: IpAddr::V4(cip),
                container_port: c.container_port,
                configured,
            });
        }
        if let Some(host_ip) = c.host_ip.for_family(Family::Ipv6) {
            // Without an IPv6 address, docker-proxy (if any) forwards the
            // host's IPv6 port to the container's IPv4 address.
            let cip = match (ep.ipv6, ep.ipv4) {
                (Some(a), _) => Some(IpAddr::V6(a)),
                (None, Some(a)) if proxy => Some(IpAddr::V4(a)),
                _ => None,
            };
            if let Some(container_ip) = cip {
                out.push(Bound {
                    proto: c.proto,
                    host_family: Family::Ipv6,
                    host_ip,
                    host_port: c.host_port,
                    container_ip,
                    container_port: c.container_port,
                    configured,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pb(proto: Proto, host_ip: Option<&str>, hp: u16, cp: u16) -> PortBinding {
        PortBinding {
            proto,
            host_ip: host_ip.map(|s| s.parse().unwrap()),
            host_port: hp,
            container_port: cp,
        }
    }

    fn ep(ports: Vec<PortBinding>, v6: bool) -> Endpoint {
        Endpoint {
            container_id: "c".into(),
            container_name: "web".into(),
            network: "bridge".into(),
            ipv4: Some("172.17.0.2".parse().unwrap()),
            ipv6: v6.then(|| "fd00::2".parse().unwrap()),
            ports,
            links: vec![],
        }
    }

    fn order(b: &[Bound]) -> Vec<(u16, Proto, Family)> {
        b.iter()
            .map(|b| (b.container_port, b.proto, b.host_family))
            .collect()
    }

    #[test]
    fn api_twins_collapse() {
        let n = normalise(&[
            pb(Proto::Udp, Some("0.0.0.0"), 5353, 53),
            pb(Proto::Udp, Some("::"), 5353, 53),
            pb(Proto::Tcp, Some("127.0.0.1"), 8080, 80),
            pb(Proto::Tcp, None, 9000, 90),
            pb(Proto::Tcp, Some("::"), 9000, 90),
        ]);
        assert_eq!(n.len(), 3);
        assert_eq!(n[0].host_ip, HostIp::Any);
        assert_eq!(n[2].host_ip, HostIp::Any);
    }

    /// The linear `normalise` gives what comparing each binding with every
    /// earlier one gives, on random bindings of a few ports and addresses
    /// (duplicates, twins in either order, "any" absorbing both).
    #[test]
    fn normalise_matches_the_pairwise_definition() {
        fn pairwise(ports: &[PortBinding]) -> Vec<Config> {
            let mut out: Vec<Config> = Vec::new();
            for p in ports {
                let c = Config::of(p);
                let same = |o: &Config| {
                    o.proto == c.proto
                        && o.host_port == c.host_port
                        && o.container_port == c.container_port
                };
                if out.iter().any(|o| same(o) && o.host_ip == c.host_ip) {
                    continue;
                }
                let twin = out
                    .iter_mut()
                    .find(|o| same(o) && twins(o.host_ip, c.host_ip));
                match twin {
                    Some(o) => o.host_ip = HostIp::Any,
                    None => out.push(c),
                }
            }
            out
        }
        let ips = [
            None,
            Some("0.0.0.0"),
            Some("::"),
            Some("127.0.0.1"),
            Some("::1"),
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..500 {
            let mut ports = Vec::new();
            for _ in 0..(seed % 24) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let proto = if seed & 1 == 0 {
                    Proto::Tcp
                } else {
                    Proto::Udp
                };
                let ip = ips[(seed >> 8) as usize % ips.len()];
                let port = 80 + (seed >> 16) as u16 % 3;
                ports.push(pb(proto, ip, 8000 + port % 2, port));
            }
            assert_eq!(normalise(&ports), pairwise(&ports), "{ports:?}");
            seed = seed.wrapping_add(0x2545_f491);
        }
    }

    #[test]
    fn classic_and_27_orders() {
        let e = ep(
            vec![
                pb(Proto::Udp, None, 5353, 53),
                pb(Proto::Tcp, None, 8080, 80),
            ],
            false,
        );
        // ≤26: larger host port first → 80/tcp, then 53/udp; IPv6 twins are
        // proxied (no IPv6 address) and only exist with the proxy on.
        let b = bindings(&e, PortOrder::SortPortMap, false);
        assert_eq!(
            order(&b),
            [
                (80, Proto::Tcp, Family::Ipv4),
                (53, Proto::Udp, Family::Ipv4)
            ]
        );
        let b = bindings(&e, PortOrder::ByContainerPort, true);
        assert_eq!(
            order(&b),
            [
                (53, Proto::Udp, Family::Ipv4),
                (53, Proto::Udp, Family::Ipv6),
                (80, Proto::Tcp, Family::Ipv4),
                (80, Proto::Tcp, Family::Ipv6)
            ]
        );
        assert!(b[1].proxied_6to4());
        assert!(!b[0].proxied_6to4());
    }

    #[test]
    fn same_container_port_tcp_first() {
        let e = ep(
            vec![pb(Proto::Udp, None, 53, 53), pb(Proto::Tcp, None, 53, 53)],
            true,
        );
        let b = bindings(&e, PortOrder::SortPortMap, true);
        assert_eq!(b[0].proto, Proto::Tcp);
        assert_eq!(b[1].container_ip, "fd00::2".parse::<IpAddr>().unwrap());
        let b = bindings(&e, PortOrder::ByContainerPort, true);
        assert_eq!(b[0].proto, Proto::Tcp);
    }
}
