//! What the generation builders share: the state being built from, network
//! and endpoint helpers, rule texts used by several generations (NAT jumps,
//! MASQUERADE, DOCKER-USER) and the 28+ per-endpoint and per-port rules.

use super::generation::{Generation, Profile, RawDirect};
use super::ports::{self, Bound};
use super::sim::Sim;
use super::text::{host, join_host_port, loopback, subnet4, subnet6, Line};
use super::typed;
use super::{ExpectedPolicy, Mode, PolicyCondition, Source, Why};
use crate::docker::{DockerState, Endpoint, Network, Version};
use crate::ruleset::Policy;
use crate::Family;
use std::net::IpAddr;

/// A network's gateway mode for one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GwMode {
    Nat,
    NatUnprotected,
    Routed,
    /// An internal network without a bridge address (28+).
    Isolated,
}

impl GwMode {
    fn parse(s: &str) -> GwMode {
        match s.trim().to_ascii_lowercase().as_str() {
            "routed" => GwMode::Routed,
            "nat-unprotected" => GwMode::NatUnprotected,
            "isolated" => GwMode::Isolated,
            _ => GwMode::Nat,
        }
    }
}

/// One expectation being built: the input, the family and generation, and
/// the simulated ruleset.
#[derive(Debug)]
pub(crate) struct Build<'a> {
    pub st: &'a DockerState,
    pub fam: Family,
    pub ver: Version,
    pub gen: Generation,
    pub p: &'static Profile,
    pub sim: Sim,
}

impl<'a> Build<'a> {
    pub fn new(st: &'a DockerState, fam: Family, ver: Version, gen: Generation) -> Build<'a> {
        Build {
            st,
            fam,
            ver,
            gen,
            p: gen.profile(),
            sim: Sim::new(),
        }
    }

    pub fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        self.ver >= Version::new(major, minor, patch)
    }

    /// Whether Docker programs `family` at all (`--iptables`/`--ip6tables`).
    pub fn enabled(&self, family: Family) -> bool {
        match family {
            Family::Ipv4 => self.st.options.iptables,
            Family::Ipv6 => self.st.options.ip6tables,
        }
    }

    pub fn proxy(&self) -> bool {
        self.st.options.userland_proxy
    }

    pub fn hairpin(&self) -> bool {
        !self.st.options.userland_proxy
    }

    /// The network's prefix in this build's family, masked.
    pub fn prefix(&self, n: &Network) -> Option<String> {
        match self.fam {
            Family::Ipv4 => n.ipv4.map(|s| subnet4(s.addr, s.prefix)),
            Family::Ipv6 => n.ipv6.map(|s| subnet6(s.addr, s.prefix)),
        }
    }

    pub fn gw(&self, n: &Network) -> GwMode {
        GwMode::parse(match self.fam {
            Family::Ipv4 => &n.gateway_mode_ipv4,
            Family::Ipv6 => &n.gateway_mode_ipv6,
        })
    }

    /// `--internal`, or gateway mode `isolated` (an internal network
    /// without a gateway address).
    pub fn internal(&self, n: &Network) -> bool {
        n.internal || self.gw(n) == GwMode::Isolated
    }

    pub fn network(&self, name: &str) -> Option<&'a Network> {
        self.st.networks.iter().find(|n| n.name == name)
    }

    pub fn net_source(n: &Network) -> Source {
        Source::Network {
            network: n.name.clone(),
            bridge: n.bridge.clone(),
        }
    }

    /// The endpoint's address in this build's family.
    pub fn ep_ip(&self, ep: &Endpoint) -> Option<IpAddr> {
        match self.fam {
            Family::Ipv4 => ep.ipv4.map(IpAddr::V4),
            Family::Ipv6 => ep.ipv6.map(IpAddr::V6),
        }
    }

    /// The bindings of `ep` whose rules belong to this build's family, in
    /// Docker's order.
    pub fn bindings(&self, ep: &Endpoint) -> Vec<Bound> {
        ports::bindings(ep, self.p.port_order, self.proxy())
            .into_iter()
            .filter(|b| b.family() == self.fam)
            .collect()
    }

    /// Each endpoint of a network in this family with its bindings, for
    /// the per-port rules; the chains those rules go to get room for them
    /// at once (a host may publish thousands of ports).
    pub fn port_bindings(&mut self) -> Vec<(&'a Network, &'a Endpoint, Vec<Bound>)> {
        let all: Vec<_> = self
            .endpoints()
            .into_iter()
            .filter(|(n, _)| self.prefix(n).is_some())
            .map(|(n, ep)| (n, ep, self.bindings(ep)))
            .collect();
        let ports = all
            .iter()
            .filter(|(n, _, _)| !self.internal(n))
            .map(|(_, _, b)| b.len())
            .sum();
        self.sim.reserve("nat", "DOCKER", ports);
        self.sim.reserve("filter", "DOCKER", ports);
        if self.p.self_masquerade_always || self.hairpin() {
            self.sim.reserve("nat", "POSTROUTING", ports);
        }
        all
    }

    /// nat PREROUTING and OUTPUT jumps to DOCKER (append-if-missing).
    pub fn nat_jumps(&mut self, src: &Source) {
        self.sim.append(
            "nat",
            "PREROUTING",
            Line::new().m("-m addrtype --dst-type LOCAL").j("DOCKER"),
            src,
            "send packets for local addresses through nat DOCKER (published ports)",
        );
        let (line, why) = if self.proxy() {
            (
                Line::new()
                    .not_d(loopback(self.fam))
                    .m("-m addrtype --dst-type LOCAL")
                    .j("DOCKER"),
                "locally generated packets for local addresses (but loopback, which \
                 docker-proxy serves) go through nat DOCKER",
            )
        } else {
            (
                Line::new().m("-m addrtype --dst-type LOCAL").j("DOCKER"),
                "locally generated packets for local addresses, loopback included \
                 (hairpin mode), go through nat DOCKER",
            )
        };
        self.sim.append("nat", "OUTPUT", line, src, why);
    }

    /// Whether the network masquerades: its own option, and for the default
    /// network `bridge` also the daemon's `--ip-masq` (the Engine API shows
    /// it as the network's option too).
    pub fn masq(&self, n: &Network) -> bool {
        n.masquerade && (n.name != "bridge" || self.st.options.ip_masq)
    }

    /// `-A POSTROUTING -s SUBNET ! -o BR -j MASQUERADE` (or SNAT), inserted.
    pub fn masquerade(&mut self, n: &Network, prefix: &str) {
        let target = match self.snat_to(n) {
            Some(a) => format!("SNAT --to-source {a}"),
            None => "MASQUERADE".into(),
        };
        self.sim.insert(
            "nat",
            "POSTROUTING",
            Line::new().s(prefix).not_o(&n.bridge).j(&target),
            &Self::net_source(n),
            format!(
                "{target} traffic from network {} ({prefix}) leaving through another interface",
                n.name
            ),
        );
    }

    /// Hairpin mode: masquerade the host's own traffic into the bridge.
    pub fn host_masquerade(&mut self, n: &Network) {
        let target = match self.snat_to(n) {
            Some(a) => format!("SNAT --to-source {a}"),
            None => "MASQUERADE".into(),
        };
        self.sim.insert(
            "nat",
            "POSTROUTING",
            Line::new()
                .o(&n.bridge)
                .m("-m addrtype --src-type LOCAL")
                .j(&target),
            &Self::net_source(n),
            format!(
                "hairpin mode: {target} host-originated packets DNATed into {}",
                n.bridge
            ),
        );
    }

    fn snat_to(&self, n: &Network) -> Option<String> {
        match self.fam {
            Family::Ipv4 => n.host_ipv4.map(|a| a.to_string()),
            Family::Ipv6 => n.host_ipv6.map(|a| a.to_string()),
        }
    }

    /// An internal network's two DROP rules (incoming: nothing leaves the
    /// bridge but to its subnet; outgoing: nothing enters but from it).
    /// IPv6 (24.0+) adds `! -o BR` / `! -i BR` so ICC still works.
    pub fn internal_drops(&self, br: &str, prefix: &str) -> (String, String) {
        if self.fam == Family::Ipv6 && self.at_least(24, 0, 0) {
            (
                Line::new().not_d(prefix).i(br).not_o(br).j("DROP"),
                Line::new().not_s(prefix).not_i(br).o(br).j("DROP"),
            )
        } else {
            (
                Line::new().not_d(prefix).i(br).j("DROP"),
                Line::new().not_s(prefix).o(br).j("DROP"),
            )
        }
    }

    /// nat `DOCKER -i BR -j RETURN`: with the proxy on, packets from the
    /// bridge are not DNATed (docker-proxy serves them), inserted.
    pub fn skip_dnat(&mut self, n: &Network) {
        self.sim.insert(
            "nat",
            "DOCKER",
            Line::new().i(&n.bridge).j("RETURN"),
            &Self::net_source(n),
            format!(
                "no DNAT for packets from {} (docker-proxy serves published ports to containers)",
                n.bridge
            ),
        );
    }

    /// DOCKER-USER: created, `-j RETURN` (where the generation has it),
    /// jump moved to the top of FORWARD.
    pub fn user_chain(&mut self) {
        let src = Source::Daemon;
        self.sim.new_chain("filter", "DOCKER-USER");
        if self.p.user_chain_return {
            self.sim.append(
                "filter",
                "DOCKER-USER",
                Line::new().j("RETURN"),
                &src,
                "DOCKER-USER's default: back to FORWARD (users add rules above it)",
            );
        }
        self.sim.ensure_jump(
            "FORWARD",
            Line::new().j("DOCKER-USER"),
            &src,
            "users' own rules (DOCKER-USER) come before all of Docker's",
        );
    }

    /// The FORWARD policy Docker sets when it enables forwarding.
    pub fn forward_drop(&mut self, condition: PolicyCondition) {
        let why = match condition {
            PolicyCondition::Always => {
                "ip6tables on (≤27): dockerd sets the IPv6 FORWARD policy to DROP at every start"
            }
            PolicyCondition::IfDockerEnabledForwarding => {
                "dockerd sets FORWARD to DROP when it turns forwarding on itself (it was off \
                 before); if forwarding was already on, the policy stays as it was"
            }
        };
        self.sim.policy(ExpectedPolicy {
            table: "filter".into(),
            chain: "FORWARD".into(),
            policy: Policy::Drop,
            condition,
            why: why.into(),
        });
    }

    /// 28+: the policy a network of this family triggers (forwarding is
    /// enabled per network, per family).
    pub fn network_forward_drop(&mut self) {
        if self.st.options.ip_forward && !self.st.options.ip_forward_no_drop {
            self.forward_drop(PolicyCondition::IfDockerEnabledForwarding);
        }
    }

    /// WSL2 mirrored networking with the proxy on: loopback0 is not DNATed.
    pub fn wsl2_loopback(&mut self) {
        if self.st.options.wsl2_mirrored && self.proxy() && self.fam == Family::Ipv4 {
            self.sim.insert(
                "nat",
                "DOCKER",
                Line::new().d("127.0.0.0/8").i("loopback0").j("RETURN"),
                &Source::Daemon,
                "WSL2 mirrored mode: Windows' loopback traffic is served by docker-proxy",
            );
        }
    }

    /// Whether Docker writes raw-table rules (28.0.2+ honours
    /// `DOCKER_INSECURE_NO_IPTABLES_RAW=1`).
    pub fn raw_rules(&self) -> bool {
        !(self.st.options.no_raw_rules && self.at_least(28, 0, 2))
    }

    /// 28.2+: a container's endpoint gets a raw DROP for packets addressed
    /// straight to it from anywhere but its bridge (and trusted interfaces).
    pub fn endpoint_raw(&mut self, n: &Network, ep: &Endpoint) {
        if self.p.raw_direct != RawDirect::PerEndpoint
            || self.internal(n)
            || matches!(self.gw(n), GwMode::NatUnprotected | GwMode::Routed)
            || self.st.options.allow_direct_routing
            || !self.raw_rules()
        {
            return;
        }
        let Some(ip) = self.ep_ip(ep) else { return };
        let src = Source::Endpoint {
            container: ep.container_name.clone(),
            network: n.name.clone(),
        };
        for ifname in &n.trusted_host_interfaces {
            self.sim.append(
                "raw",
                "PREROUTING",
                Line::new().d(host(ip)).i(ifname).j("ACCEPT"),
                &src,
                format!(
                    "trusted interface {ifname} may reach {} ({ip}) directly",
                    ep.container_name
                ),
            );
        }
        self.sim.append(
            "raw",
            "PREROUTING",
            Line::new().d(host(ip)).not_i(&n.bridge).j("DROP"),
            &src,
            format!(
                "drop packets routed straight to {} ({ip}) from outside {}",
                ep.container_name, n.bridge
            ),
        );
    }

    /// 28+ per-port rules of one binding (docker-rules.md §4.3 "Per port
    /// binding"; 28.0.0 the same with its per-port raw rule).
    pub fn port_28(&mut self, n: &Network, ep: &Endpoint, b: &Bound) {
        if self.internal(n) {
            return;
        }
        let src = port_source(n, ep, b);
        let gw = self.gw(n);
        let proto = b.proto.as_str();
        let cport = b.container_port;
        let host_port = if gw == GwMode::Routed { 0 } else { b.host_port };
        if self.p.loopback_raw && self.raw_rules() && host_port != 0 {
            if let Some(IpAddr::V4(hip)) = b.host_ip {
                if hip.is_loopback() {
                    let d = host(IpAddr::V4(hip));
                    if self.st.options.wsl2_mirrored {
                        self.sim.append(
                            "raw",
                            "PREROUTING",
                            Line::new()
                                .d(&d)
                                .i("loopback0")
                                .port(proto, "--dport", host_port)
                                .j("ACCEPT"),
                            &src,
                            format!("WSL2 mirrored mode: Windows may reach {hip}:{host_port}"),
                        );
                    }
                    self.sim.append(
                        "raw",
                        "PREROUTING",
                        Line::new()
                            .d(&d)
                            .not_i("lo")
                            .port(proto, "--dport", host_port)
                            .j("DROP"),
                        &src,
                        format!(
                            "{hip}:{host_port}/{proto} is published on loopback only: drop it from \
                             other interfaces"
                        ),
                    );
                }
            }
        }
        if self.p.raw_direct == RawDirect::PerPort
            && !matches!(gw, GwMode::NatUnprotected | GwMode::Routed)
        {
            self.sim.append(
                "raw",
                "PREROUTING",
                Line::new()
                    .d(host(b.container_ip))
                    .not_i(&n.bridge)
                    .port(proto, "--dport", cport)
                    .j("DROP"),
                &src,
                format!(
                    "drop packets routed straight to {}:{cport}/{proto} from outside {}",
                    b.container_ip, n.bridge
                ),
            );
        }
        if b.proxied_6to4() {
            return;
        }
        if host_port != 0 {
            self.dnat(n, b, &src, host_port);
        }
        if host_port != 0 && (self.p.self_masquerade_always || self.hairpin()) {
            self.self_masquerade(b, &src);
        }
        if gw != GwMode::NatUnprotected {
            self.port_accept(n, b, &src, self.p.port_accept_insert);
        }
    }

    /// nat DOCKER DNAT for a binding (append-if-missing).
    pub fn dnat(&mut self, n: &Network, b: &Bound, src: &Source, host_port: u16) {
        let mut line = Line::new();
        if self.fam == Family::Ipv6 && self.p.dnat_v6_not_link_local {
            line = line.not_s("fe80::/10");
        }
        if let Some(hip) = b.host_ip {
            line = line.d(host(hip));
        }
        if self.proxy() {
            line = line.not_i(&n.bridge);
        }
        let to = join_host_port(b.container_ip, b.container_port);
        let typed = typed::dnat(
            self.fam,
            self.fam == Family::Ipv6 && self.p.dnat_v6_not_link_local,
            b.host_ip,
            self.proxy().then_some(n.bridge.as_str()),
            b.proto,
            host_port,
            (b.container_ip, b.container_port),
            &to,
        );
        self.sim.add(
            "nat",
            "DOCKER",
            Mode::Append,
            line.port(b.proto.as_str(), "--dport", host_port)
                .j(&format!("DNAT --to-destination {to}")),
            typed,
            src,
            Why::Dnat(b.container_ip),
        );
    }

    /// filter DOCKER ACCEPT for a published port (appended ≤27, inserted
    /// 28+).
    pub fn port_accept(&mut self, n: &Network, b: &Bound, src: &Source, insert: bool) {
        let line = Line::new()
            .d(host(b.container_ip))
            .not_i(&n.bridge)
            .o(&n.bridge)
            .port(b.proto.as_str(), "--dport", b.container_port)
            .j("ACCEPT");
        let why = Why::PortAccept(b.container_ip);
        let typed = typed::port_accept(
            self.fam,
            b.container_ip,
            &n.bridge,
            b.proto,
            b.container_port,
        );
        let mode = if insert { Mode::Insert } else { Mode::Append };
        self.sim
            .add("filter", "DOCKER", mode, line, typed, src, why);
    }

    /// nat POSTROUTING `-s CIP -d CIP … -j MASQUERADE`: a container reaching
    /// its own published port.
    pub fn self_masquerade(&mut self, b: &Bound, src: &Source) {
        let h = host(b.container_ip);
        let typed = typed::self_masquerade(self.fam, b.container_ip, b.proto, b.container_port);
        self.sim.add(
            "nat",
            "POSTROUTING",
            Mode::Append,
            Line::new()
                .s(&h)
                .d(&h)
                .port(b.proto.as_str(), "--dport", b.container_port)
                .j("MASQUERADE"),
            typed,
            src,
            Why::SelfMasquerade,
        );
    }

    /// The endpoints of bridge networks Docker knows, in start order, with
    /// their network.
    pub fn endpoints(&self) -> Vec<(&'a Network, &'a Endpoint)> {
        self.st
            .endpoints
            .iter()
            .filter_map(|ep| self.network(&ep.network).map(|n| (n, ep)))
            .collect()
    }
}

pub(crate) fn port_source(n: &Network, ep: &Endpoint, b: &Bound) -> Source {
    Source::Port {
        container: ep.container_name.as_str().into(),
        network: n.name.as_str().into(),
        proto: b.proto,
        host_ip: b.host_ip,
        host_port: b.host_port,
        container_port: b.container_port,
    }
}

/// Caveats about what the state asks for and this engine does not model.
pub(crate) fn general_caveats(b: &mut Build<'_>) {
    if b.st.endpoints.iter().any(|e| !e.links.is_empty()) {
        b.sim.caveat(
            "legacy --link rules (filter DOCKER ACCEPTs between linked containers) are not \
             modelled: the state does not carry the linked ports",
        );
    }
    if b.gen == Generation::Classic && b.ver < Version::new(18, 3, 1) {
        b.sim.caveat(
            "before 18.03.1 Docker used one DOCKER-ISOLATION chain instead of \
             DOCKER-ISOLATION-STAGE-1/2; this expectation shows the 18.03.1+ chains",
        );
    }
    if b.ver.major == 19 && b.ver.minor == 3 && b.ver.patch == 3 {
        b.sim
            .caveat("19.03.3 did not create DOCKER-USER (docker/for-linux#810)");
    }
    if b.gen == Generation::V29 && b.ver > Version::new(29, 7, 99) {
        b.sim.caveat(format!(
            "{} is newer than the last release checked (29.7.2); 29.x rules assumed",
            b.ver
        ));
    }
    if b.ver.major >= 28
        && b.st.endpoints.iter().any(|e| {
            e.ports
                .iter()
                .any(|p| p.proto == crate::docker::Proto::Sctp)
        })
    {
        b.sim.caveat(
            "SCTP ports: 28.x adds a mangle CHECKSUM rule only with \
             DOCKER_IPTABLES_SCTP_CHECKSUM=1 (not visible to nfdoctor; not expected)",
        );
    }
    if b.p.port_order == super::generation::PortOrder::SortPortMap && ambiguous_order(b) {
        b.sim.caveat(
            "a container's published ports compare inconsistently under the daemon's \
             SortPortMap (≤26), so their order in each chain is random per start; compare \
             those per-port rules as a set",
        );
    }
}

/// Two bindings of one container where SortPortMap's comparison says each
/// is less than the other.
fn ambiguous_order(b: &Build<'_>) -> bool {
    b.st.endpoints.iter().any(|e| {
        let cfg = ports::normalise(&e.ports);
        cfg.iter().enumerate().any(|(i, a)| {
            cfg.iter().skip(i + 1).any(|c| {
                let less = |x: &ports::Config, y: &ports::Config| {
                    x.host_port > y.host_port
                        || x.container_port > y.container_port
                        || (x.container_port == y.container_port
                            && x.proto == crate::docker::Proto::Tcp)
                };
                less(a, c) == less(c, a)
            })
        })
    })
}
