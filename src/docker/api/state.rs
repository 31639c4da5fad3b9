//! From the API's answers to [`DockerState`]: bridge networks in creation
//! order, endpoints in container start order with their addresses, ports
//! and links; plus [`ApiFacts`] and a lossless per-container view.

use super::facts::{
    has_security_option, ApiFacts, Component, BRIDGE_NF_UNREPORTED, FIREWALL_BACKEND_REPORTED,
};
use super::time::Timestamp;
use super::version::ApiVersion;
use super::wire::{
    ContainerInspect, ContainerSummary, EndpointSettings, InfoResponse, NetworkResource, PortMap,
    VersionResponse,
};
use crate::docker::model::{
    DaemonOptions, DockerState, Endpoint, Network, PortBinding, Proto, Subnet, Version,
};
use crate::small::ShortStr;
use crate::Family;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

/// Bridge driver options (docker-rules.md §9).
pub mod opt {
    pub const NAME: &str = "com.docker.network.bridge.name";
    pub const DEFAULT_BRIDGE: &str = "com.docker.network.bridge.default_bridge";
    pub const ENABLE_ICC: &str = "com.docker.network.bridge.enable_icc";
    pub const ENABLE_IP_MASQUERADE: &str = "com.docker.network.bridge.enable_ip_masquerade";
    pub const HOST_BINDING_IPV4: &str = "com.docker.network.bridge.host_binding_ipv4";
    pub const HOST_IPV4: &str = "com.docker.network.bridge.host_ipv4";
    pub const HOST_IPV6: &str = "com.docker.network.bridge.host_ipv6";
    pub const GATEWAY_MODE_IPV4: &str = "com.docker.network.bridge.gateway_mode_ipv4";
    pub const GATEWAY_MODE_IPV6: &str = "com.docker.network.bridge.gateway_mode_ipv6";
    pub const TRUSTED_HOST_INTERFACES: &str = "com.docker.network.bridge.trusted_host_interfaces";
}

/// The swarm's bridge network, which never gives a container its gateway.
const GWBRIDGE: &str = "docker_gwbridge";

/// Every answer the state is built from (decoded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Responses {
    pub version: VersionResponse,
    pub info: InfoResponse,
    /// `GET /networks`.
    pub networks: Vec<NetworkResource>,
    /// `GET /networks/{id}` of the bridge networks the list gave without
    /// their containers.
    pub network_details: Vec<NetworkResource>,
    /// `GET /containers/json`.
    pub containers: Vec<ContainerSummary>,
    /// `GET /containers/{id}/json` of each listed container that still
    /// existed.
    pub inspects: Vec<ContainerInspect>,
    /// The API version the answers were asked in.
    pub spoken_api_version: Option<ApiVersion>,
    /// What happened while asking (containers gone before their inspect, …).
    pub notes: Vec<String>,
}

/// One published port exactly as Docker reports it (`0.0.0.0` is an IPv4
/// binding, `::` an IPv6 one; `-p 8080:80` makes both, `-p
/// 0.0.0.0:8080:80` only the first). The report's view; the rules engine
/// takes it as a [`PortBinding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct PublishedPort {
    pub proto: Proto,
    /// `None` only when Docker gave no address at all.
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_port: u16,
}

impl PublishedPort {
    /// The family of the host side, when there is an address.
    pub fn family(&self) -> Option<Family> {
        self.host_ip.map(|ip| match ip {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        })
    }

    /// The model's binding, address included: `-p 0.0.0.0:8080:80`
    /// publishes on IPv4 only, and the rules must not open the port on
    /// IPv6 (the rules engine joins a `0.0.0.0` and `::` pair back into one
    /// binding for both families).
    pub fn to_binding(&self) -> PortBinding {
        PortBinding {
            proto: self.proto,
            host_ip: self.host_ip,
            host_port: self.host_port,
            container_port: self.container_port,
        }
    }
}

/// A `-p` as requested (`HostConfig.PortBindings`): host IP may be empty,
/// host port empty (Docker picks one) or a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestedPort {
    pub proto: Proto,
    pub container_port: u16,
    pub host_ip: ShortStr,
    pub host_port: ShortStr,
}

/// A legacy `--link`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkInfo {
    pub peer_name: String,
    /// `None` when the peer is not running.
    pub peer_id: Option<String>,
    pub alias: String,
}

/// A running container as the API describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    /// `running`, `paused`, `restarting`.
    pub status: String,
    /// `State.StartedAt` as given.
    pub started_at: Option<String>,
    /// `HostConfig.NetworkMode` (`default`/`bridge`, a network, `host`,
    /// `none`, `container:ID`).
    pub network_mode: String,
    /// Every network it is attached to (any driver), by name.
    pub networks: Vec<String>,
    /// The network whose endpoint gives the container its gateway and
    /// carries its published ports; `None` without any endpoint.
    pub gateway_network: Option<String>,
    /// The bindings Docker made (`NetworkSettings.Ports`): port keys sorted,
    /// each port's bindings in Docker's order.
    pub ports: Vec<PublishedPort>,
    /// The bindings asked for (`HostConfig.PortBindings`).
    pub requested_ports: Vec<RequestedPort>,
    pub links: Vec<LinkInfo>,
}

/// Everything read from one daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// The socket it was read from (empty when built offline).
    pub socket: PathBuf,
    pub facts: ApiFacts,
    /// `options` are [`DaemonOptions::default`] with what the API revealed
    /// applied (see [`ApiFacts::options`] for which).
    pub state: DockerState,
    /// Running containers in start order.
    pub containers: Vec<ContainerInfo>,
    /// What was skipped or could not be read, one sentence each.
    pub notes: Vec<String>,
}

impl Snapshot {
    /// Builds the snapshot from decoded answers. Never fails: what cannot be
    /// understood is skipped and noted.
    pub fn build(r: &Responses) -> Snapshot {
        let mut notes = r.notes.clone();
        let facts = facts(r, &mut notes);
        let networks = bridge_networks(&r.networks, &mut notes);
        let mut options = DaemonOptions::default();
        facts.options.apply(&mut options);
        let (endpoints, containers) = endpoints(r, &networks, facts.version, &mut notes);
        Snapshot {
            socket: PathBuf::new(),
            state: DockerState {
                version: facts.version,
                options,
                networks,
                endpoints,
            },
            facts,
            containers,
            notes,
        }
    }
}

fn nonempty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Go's `strconv.ParseBool`.
fn go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn is_default_network(n: &NetworkResource) -> bool {
    n.options
        .get(opt::DEFAULT_BRIDGE)
        .and_then(|v| go_bool(v))
        .unwrap_or(false)
}

fn facts(r: &Responses, notes: &mut Vec<String>) -> ApiFacts {
    let v = &r.version;
    let i = &r.info;
    let server_version = nonempty(&v.version).or_else(|| nonempty(&i.server_version));
    let version = server_version.as_deref().and_then(Version::parse);
    if server_version.is_some() && version.is_none() {
        notes.push(format!(
            "the daemon's version {:?} is not a version number",
            server_version.as_deref().unwrap_or_default()
        ));
    }
    let mut f = ApiFacts {
        server_version,
        version,
        api_version: ApiVersion::parse(&v.api_version),
        min_api_version: ApiVersion::parse(&v.min_api_version),
        spoken_api_version: r.spoken_api_version,
        os: nonempty(&v.os),
        arch: nonempty(&v.arch),
        kernel_version: nonempty(&v.kernel_version).or_else(|| nonempty(&i.kernel_version)),
        components: v
            .components
            .iter()
            .map(|c| Component {
                name: c.name.clone(),
                version: c.version.clone(),
            })
            .collect(),
        storage_driver: nonempty(&i.driver),
        cgroup_driver: nonempty(&i.cgroup_driver),
        cgroup_version: nonempty(&i.cgroup_version),
        operating_system: nonempty(&i.operating_system),
        docker_root_dir: nonempty(&i.docker_root_dir),
        rootless: Some(has_security_option(&i.security_options, "rootless")),
        security_options: i.security_options.clone(),
        ipv4_forwarding: i.ipv4_forwarding,
        live_restore: i.live_restore_enabled,
        swarm_active: i.swarm.as_ref().map(|s| s.local_node_state == "active"),
        warnings: i.warnings.clone(),
        ..ApiFacts::default()
    };
    if version.is_some_and(|v| v < BRIDGE_NF_UNREPORTED) {
        f.bridge_nf_iptables = i.bridge_nf_iptables;
        f.bridge_nf_ip6tables = i.bridge_nf_ip6tables;
    }
    match &i.firewall_backend {
        Some(fb) if !fb.driver.is_empty() => {
            f.firewall_driver = Some(fb.driver.clone());
            f.firewalld = Some(fb.driver.split('+').any(|p| p == "firewalld"));
            f.options.firewall_backend = fb.driver.split('+').next().map(str::to_string);
            f.firewalld_reloaded_at = fb
                .info
                .iter()
                .find(|kv| kv.first().map(String::as_str) == Some("ReloadedAt"))
                .and_then(|kv| kv.get(1).cloned());
        }
        _ if version.is_some_and(|v| v < FIREWALL_BACKEND_REPORTED) => {
            f.options.firewall_backend = Some("iptables".into());
        }
        _ => {}
    }
    if let Some(default) = r
        .networks
        .iter()
        .find(|n| n.driver == "bridge" && is_default_network(n))
    {
        f.default_bridge = default.options.get(opt::NAME).cloned();
        f.options.ip_masq = default
            .options
            .get(opt::ENABLE_IP_MASQUERADE)
            .and_then(|v| go_bool(v));
        f.default_icc = default
            .options
            .get(opt::ENABLE_ICC)
            .and_then(|v| go_bool(v));
        f.default_binding_ipv4 = default
            .options
            .get(opt::HOST_BINDING_IPV4)
            .and_then(|v| v.parse().ok());
    }
    f
}

fn parse_subnet<A: std::str::FromStr>(text: &str, max: u8) -> Option<Subnet<A>> {
    let (addr, prefix) = text.trim().split_once('/')?;
    let prefix: u8 = prefix.parse().ok()?;
    (prefix <= max).then_some(())?;
    Some(Subnet {
        addr: addr.parse().ok()?,
        prefix,
    })
}

fn bridge_name(n: &NetworkResource) -> String {
    if let Some(name) = n.options.get(opt::NAME).filter(|s| !s.is_empty()) {
        return name.clone();
    }
    if is_default_network(n) {
        return "docker0".into();
    }
    let short: String = n.id.chars().take(12).collect();
    format!("br-{short}")
}

/// The bridge networks, oldest first (`Created`; name breaks ties).
fn bridge_networks(list: &[NetworkResource], notes: &mut Vec<String>) -> Vec<Network> {
    let mut bridges: Vec<(Option<Timestamp>, &NetworkResource)> = list
        .iter()
        .filter(|n| n.driver == "bridge" && !n.config_only)
        .map(|n| (Timestamp::parse(&n.created), n))
        .collect();
    // Unreadable creation times go last.
    bridges
        .sort_by(|(ta, a), (tb, b)| (ta.is_none(), ta, &a.name).cmp(&(tb.is_none(), tb, &b.name)));
    bridges
        .into_iter()
        .map(|(created, n)| {
            if created.is_none() {
                notes.push(format!(
                    "network {}: creation time {:?} unreadable, ordered last",
                    n.name, n.created
                ));
            }
            network(n, notes)
        })
        .collect()
}

fn network(n: &NetworkResource, notes: &mut Vec<String>) -> Network {
    let flag = |key: &str, default: bool, notes: &mut Vec<String>| {
        match n.options.get(key) {
        None => default,
        Some(v) => go_bool(v).unwrap_or_else(|| {
            notes.push(format!(
                "network {}: option {key}={v:?} is not a boolean (Docker refuses it; taken as {default})",
                n.name
            ));
            default
        }),
    }
    };
    let mut ipv4 = None;
    let mut ipv6 = None;
    for c in &n.ipam.config {
        if let Some(s) = parse_subnet::<Ipv4Addr>(&c.subnet, 32) {
            ipv4 = ipv4.or(Some(s));
        } else if let Some(s) = parse_subnet::<Ipv6Addr>(&c.subnet, 128) {
            ipv6 = ipv6.or(Some(s));
        } else if !c.subnet.is_empty() {
            notes.push(format!(
                "network {}: subnet {:?} unreadable",
                n.name, c.subnet
            ));
        }
    }
    if n.enable_ipv4 == Some(false) {
        ipv4 = None;
    }
    if !n.enable_ipv6 {
        ipv6 = None;
    }
    Network {
        id: n.id.clone(),
        name: n.name.clone(),
        bridge: bridge_name(n),
        ipv4,
        ipv6,
        internal: n.internal,
        icc: flag(opt::ENABLE_ICC, true, notes),
        masquerade: flag(opt::ENABLE_IP_MASQUERADE, true, notes),
        host_ipv4: option_addr(n, opt::HOST_IPV4, notes),
        host_ipv6: option_addr(n, opt::HOST_IPV6, notes),
        gateway_mode_ipv4: n
            .options
            .get(opt::GATEWAY_MODE_IPV4)
            .filter(|v| !v.is_empty())
            .cloned()
            .unwrap_or_else(|| "nat".into()),
        gateway_mode_ipv6: n
            .options
            .get(opt::GATEWAY_MODE_IPV6)
            .filter(|v| !v.is_empty())
            .cloned()
            .unwrap_or_else(|| "nat".into()),
        trusted_host_interfaces: n
            .options
            .get(opt::TRUSTED_HOST_INTERFACES)
            .map(|v| {
                v.split(':')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn option_addr<A: std::str::FromStr>(
    n: &NetworkResource,
    key: &str,
    notes: &mut Vec<String>,
) -> Option<A> {
    let v = n.options.get(key).filter(|v| !v.is_empty())?;
    let parsed = v.parse().ok();
    if parsed.is_none() {
        notes.push(format!("network {}: option {key}={v:?} unreadable", n.name));
    }
    parsed
}

fn proto(text: &str) -> Option<Proto> {
    match text.to_ascii_lowercase().as_str() {
        "tcp" | "" => Some(Proto::Tcp),
        "udp" => Some(Proto::Udp),
        "sctp" => Some(Proto::Sctp),
        _ => None,
    }
}

/// `80/tcp` → (80, tcp).
fn port_key(key: &str) -> Option<(u16, Proto)> {
    let (port, p) = key.split_once('/').unwrap_or((key, "tcp"));
    Some((port.parse().ok()?, proto(p)?))
}

/// A host port as Docker writes it: `8080`, empty (none), or a range
/// (its first port).
fn host_port(text: &str) -> Option<u16> {
    let t = text.trim();
    if t.is_empty() {
        return Some(0);
    }
    t.split('-').next()?.parse().ok()
}

fn published_ports(map: &PortMap, container: &str, notes: &mut Vec<String>) -> Vec<PublishedPort> {
    let mut out = Vec::with_capacity(bindings_in(map));
    for (key, bindings) in map {
        let Some(bindings) = bindings else { continue };
        let Some((container_port, proto)) = port_key(key) else {
            notes.push(format!(
                "container {container}: port {key:?} unreadable, skipped"
            ));
            continue;
        };
        for b in bindings {
            let host_ip = match b.host_ip.trim() {
                "" => None,
                ip => match ip.parse::<IpAddr>() {
                    Ok(ip) => Some(ip),
                    Err(_) => {
                        notes.push(format!(
                            "container {container}: host address {ip:?} of {key} unreadable, skipped"
                        ));
                        continue;
                    }
                },
            };
            let Some(host_port) = host_port(&b.host_port) else {
                notes.push(format!(
                    "container {container}: host port {:?} of {key} unreadable, skipped",
                    b.host_port
                ));
                continue;
            };
            out.push(PublishedPort {
                proto,
                host_ip,
                host_port,
                container_port,
            });
        }
    }
    out
}

/// How many bindings `map` lists: the room for them, made once (a
/// container may publish thousands of ports).
fn bindings_in(map: &PortMap) -> usize {
    map.values().flatten().map(Vec::len).sum()
}

fn requested_ports(map: &PortMap) -> Vec<RequestedPort> {
    let mut out = Vec::with_capacity(bindings_in(map));
    for (key, bindings) in map {
        let Some((container_port, proto)) = port_key(key) else {
            continue;
        };
        for b in bindings.iter().flatten() {
            out.push(RequestedPort {
                proto,
                container_port,
                host_ip: b.host_ip.clone(),
                host_port: b.host_port.clone(),
            });
        }
    }
    out
}

fn summary_ports(c: &ContainerSummary) -> Vec<PublishedPort> {
    c.ports
        .iter()
        .filter(|p| p.public_port != 0)
        .filter_map(|p| {
            Some(PublishedPort {
                proto: proto(&p.kind)?,
                host_ip: p.ip.parse().ok(),
                host_port: p.public_port,
                container_port: p.private_port,
            })
        })
        .collect()
}

/// `/peer:/this/alias` → (peer, alias).
fn parse_link(link: &str) -> Option<(String, String)> {
    let (peer, local) = link.split_once(':')?;
    let peer = peer.trim_start_matches('/');
    let alias = local.rsplit('/').next()?;
    (!peer.is_empty() && !alias.is_empty()).then(|| (peer.to_string(), alias.to_string()))
}

fn strip_slash(name: &str) -> String {
    name.trim_start_matches('/').to_string()
}

/// A network as an endpoint refers to it.
struct NetRef<'a> {
    resource: &'a NetworkResource,
    /// Index in the state's networks when it is a bridge network.
    bridge: Option<usize>,
}

/// The gateway endpoint is the first in libnetwork's endpoint order
/// (`Endpoint.Less` @ v20.10.24, v26.1.5, v28.5.2): higher gateway priority
/// (28+), not `docker_gwbridge`, not internal, more gateways (before 28: an
/// IPv6 gateway counts 2, an IPv4 one 1; 28+: 1 each), then network name.
fn gateway_key(
    name: &str,
    ep: &EndpointSettings,
    internal: bool,
    version: Option<Version>,
) -> (i64, bool, bool, i32, String) {
    let gw4 = !ep.gateway.is_empty();
    let gw6 = !ep.ipv6_gateway.is_empty();
    let score = if version.is_some_and(|v| v.major >= 28) {
        i32::from(gw4) + i32::from(gw6)
    } else {
        i32::from(gw4) + 2 * i32::from(gw6)
    };
    (
        -ep.gw_priority,
        name == GWBRIDGE,
        internal,
        -score,
        name.to_string(),
    )
}

/// An endpoint's IPv4 and IPv6 address.
type Addresses = (Option<Ipv4Addr>, Option<Ipv6Addr>);

/// `172.17.0.2/16` → 172.17.0.2.
fn strip_prefix_len<A: std::str::FromStr>(text: &str) -> Option<A> {
    text.split('/').next()?.parse().ok()
}

fn endpoints(
    r: &Responses,
    networks: &[Network],
    version: Option<Version>,
    notes: &mut Vec<String>,
) -> (Vec<Endpoint>, Vec<ContainerInfo>) {
    let by_id: HashMap<&str, NetRef> = r
        .networks
        .iter()
        .map(|n| {
            (
                n.id.as_str(),
                NetRef {
                    resource: n,
                    bridge: networks.iter().position(|b| b.id == n.id),
                },
            )
        })
        .collect();
    let by_name: HashMap<&str, &str> = r
        .networks
        .iter()
        .map(|n| (n.name.as_str(), n.id.as_str()))
        .collect();
    let resolve = |name: &str, ep: &EndpointSettings| -> Option<&NetRef> {
        by_id
            .get(ep.network_id.as_str())
            .or_else(|| by_name.get(name).and_then(|id| by_id.get(id)))
    };
    // Addresses as the networks list them (fallback).
    let mut detail_addrs: HashMap<(&str, &str), Addresses> = HashMap::new();
    for n in &r.network_details {
        for (cid, c) in &n.containers {
            detail_addrs.insert(
                (n.id.as_str(), cid.as_str()),
                (
                    strip_prefix_len(&c.ipv4_address),
                    strip_prefix_len(&c.ipv6_address),
                ),
            );
        }
    }
    let summaries: HashMap<&str, &ContainerSummary> =
        r.containers.iter().map(|c| (c.id.as_str(), c)).collect();
    let names: HashMap<String, &str> = r
        .inspects
        .iter()
        .map(|c| (strip_slash(&c.name), c.id.as_str()))
        .collect();

    let mut order: Vec<(Option<Timestamp>, &ContainerInspect)> = r
        .inspects
        .iter()
        .map(|c| (Timestamp::parse(&c.state.started_at), c))
        .collect();
    order.sort_by(|(ta, a), (tb, b)| (ta.is_none(), ta, &a.id).cmp(&(tb.is_none(), tb, &b.id)));

    let mut endpoints = Vec::new();
    let mut infos = Vec::new();
    for (started, c) in order {
        let name = strip_slash(&c.name);
        if started.is_none() {
            notes.push(format!(
                "container {name}: start time {:?} unreadable, ordered last",
                c.state.started_at
            ));
        }
        let summary = summaries.get(c.id.as_str());
        let mut eps: BTreeMap<String, EndpointSettings> = c.network_settings.networks.clone();
        if eps.is_empty() {
            if let Some(s) = summary {
                eps = s.network_settings.networks.clone();
            }
        }
        let mut ports = published_ports(&c.network_settings.ports, &name, notes);
        if ports.is_empty() {
            if let Some(s) = summary {
                ports = summary_ports(s);
            }
        }
        let links: Vec<LinkInfo> = c
            .host_config
            .links
            .iter()
            .filter_map(|l| parse_link(l))
            .map(|(peer_name, alias)| LinkInfo {
                peer_id: names.get(&peer_name).map(|id| id.to_string()),
                peer_name,
                alias,
            })
            .collect();

        let gateway = eps
            .iter()
            .map(|(net_name, ep)| {
                let internal = resolve(net_name, ep).is_some_and(|n| n.resource.internal);
                (gateway_key(net_name, ep, internal, version), net_name)
            })
            .min()
            .map(|(_, n)| n.clone());

        let status = nonempty(&c.state.status)
            .or_else(|| summary.map(|s| s.state.clone()))
            .unwrap_or_default();
        // A restarting container has no sandbox (and no rules) between runs.
        let attached = matches!(status.as_str(), "running" | "paused");
        if !attached {
            notes.push(format!(
                "container {name} is {}: no endpoints until it runs again",
                if status.is_empty() {
                    "in an unknown state"
                } else {
                    status.as_str()
                }
            ));
        }
        let mut ports_placed = false;
        for (net_name, ep) in eps.iter().filter(|_| attached) {
            let Some(net) = resolve(net_name, ep) else {
                notes.push(format!(
                    "container {name}: network {net_name} is not in the network list, skipped"
                ));
                continue;
            };
            let Some(index) = net.bridge else { continue };
            let network = &networks[index];
            let fallback = detail_addrs
                .get(&(net.resource.id.as_str(), c.id.as_str()))
                .copied()
                .unwrap_or((None, None));
            let is_gateway = gateway.as_deref() == Some(net_name.as_str()) && !network.internal;
            ports_placed |= is_gateway;
            endpoints.push(Endpoint {
                container_id: c.id.clone(),
                container_name: name.clone(),
                network: network.name.clone(),
                ipv4: ep.ip_address.parse().ok().or(fallback.0),
                ipv6: ep.global_ipv6_address.parse().ok().or(fallback.1),
                ports: if is_gateway {
                    ports.iter().map(PublishedPort::to_binding).collect()
                } else {
                    Vec::new()
                },
                links: if is_default_network(net.resource) {
                    links.iter().filter_map(|l| l.peer_id.clone()).collect()
                } else {
                    Vec::new()
                },
            });
        }
        if attached && !ports_placed && !ports.is_empty() {
            notes.push(format!(
                "container {name}: its published ports belong to network {}, which is not a \
                 non-internal bridge network (no port rules expected)",
                gateway.as_deref().unwrap_or("(none)")
            ));
        }
        infos.push(ContainerInfo {
            id: c.id.clone(),
            name,
            status,
            started_at: nonempty(&c.state.started_at),
            network_mode: c.host_config.network_mode.clone(),
            networks: eps.keys().cloned().collect(),
            gateway_network: gateway,
            ports,
            requested_ports: requested_ports(&c.host_config.port_bindings),
            links,
        });
    }
    (endpoints, infos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::api::wire::PortBindingWire;

    #[test]
    fn bridge_names() {
        let mut n = NetworkResource {
            id: "0123456789abcdef0123".into(),
            ..NetworkResource::default()
        };
        assert_eq!(bridge_name(&n), "br-0123456789ab");
        n.options.insert(opt::DEFAULT_BRIDGE.into(), "true".into());
        assert_eq!(bridge_name(&n), "docker0");
        n.options.insert(opt::NAME.into(), "mybr".into());
        assert_eq!(bridge_name(&n), "mybr");
    }

    #[test]
    fn ports_keep_their_family() {
        let mut map = PortMap::new();
        let b = |ip: &str, port: &str| PortBindingWire {
            host_ip: ip.into(),
            host_port: port.into(),
        };
        map.insert(
            "80/tcp".into(),
            Some(vec![b("0.0.0.0", "8080"), b("::", "8080")]),
        );
        map.insert("53/udp".into(), Some(vec![b("127.0.0.1", "5353")]));
        map.insert("443/tcp".into(), None);
        map.insert("9/xyz".into(), Some(vec![b("", "9")]));
        let mut notes = vec![];
        let ports = published_ports(&map, "c", &mut notes);
        assert_eq!(notes.len(), 1, "{notes:?}");
        let shown: Vec<_> = ports
            .iter()
            .map(|p| (p.family(), p.to_binding().host_ip, p.host_port))
            .collect();
        assert_eq!(
            shown,
            vec![
                (Some(Family::Ipv4), Some("127.0.0.1".parse().unwrap()), 5353),
                (Some(Family::Ipv4), Some("0.0.0.0".parse().unwrap()), 8080),
                (Some(Family::Ipv6), Some("::".parse().unwrap()), 8080),
            ]
        );
    }

    #[test]
    fn links_and_ports_keys() {
        assert_eq!(
            parse_link("/web:/app/db"),
            Some(("web".into(), "db".into()))
        );
        assert_eq!(parse_link("garbage"), None);
        assert_eq!(port_key("80"), Some((80, Proto::Tcp)));
        assert_eq!(port_key("5000/sctp"), Some((5000, Proto::Sctp)));
        assert_eq!(port_key("x/tcp"), None);
        assert_eq!(host_port(""), Some(0));
        assert_eq!(host_port("8000-8010"), Some(8000));
        assert_eq!(host_port("http"), None);
    }

    #[test]
    fn gateway_order_follows_libnetwork() {
        let ep = |gw4: bool, gw6: bool, prio: i64| EndpointSettings {
            gateway: if gw4 {
                "172.17.0.1".into()
            } else {
                String::new()
            },
            ipv6_gateway: if gw6 { "fd00::1".into() } else { String::new() },
            gw_priority: prio,
            ..EndpointSettings::default()
        };
        let v26 = Some(Version::new(26, 1, 5));
        let v28 = Some(Version::new(28, 5, 2));
        let k = |n, e: &EndpointSettings, internal, v| gateway_key(n, e, internal, v);
        // Name decides between equals.
        assert!(
            k("bridge", &ep(true, false, 0), false, v26)
                < k("nfd", &ep(true, false, 0), false, v26)
        );
        // Internal networks and docker_gwbridge come last, priority first.
        assert!(k("z", &ep(true, false, 0), false, v26) < k("a", &ep(true, false, 0), true, v26));
        assert!(
            k("z", &ep(true, false, 0), false, v26) < k(GWBRIDGE, &ep(true, false, 0), false, v26)
        );
        assert!(k("z", &ep(true, false, 1), true, v28) < k("a", &ep(true, false, 0), false, v28));
        // An IPv6-only gateway beats an IPv4-only one before 28, not after.
        assert!(k("z", &ep(false, true, 0), false, v26) < k("a", &ep(true, false, 0), false, v26));
        assert!(k("a", &ep(true, false, 0), false, v28) < k("z", &ep(false, true, 0), false, v28));
        assert!(k("z", &ep(true, true, 0), false, v28) < k("a", &ep(true, false, 0), false, v28));
    }

    fn resource(id: &str, name: &str, created: &str, internal: bool) -> NetworkResource {
        let mut n = NetworkResource {
            id: id.into(),
            name: name.into(),
            driver: "bridge".into(),
            created: created.into(),
            internal,
            ..NetworkResource::default()
        };
        n.ipam.config.push(crate::docker::api::wire::IpamConfig {
            subnet: "10.1.0.0/16".into(),
            gateway: String::new(),
        });
        n
    }

    fn inspect(id: &str, status: &str, started: &str, nets: &[(&str, &str)]) -> ContainerInspect {
        let mut c = ContainerInspect {
            id: id.into(),
            name: format!("/{id}"),
            ..ContainerInspect::default()
        };
        c.state.status = status.into();
        c.state.started_at = started.into();
        for (name, net_id) in nets {
            c.network_settings.networks.insert(
                name.to_string(),
                EndpointSettings {
                    network_id: net_id.to_string(),
                    ip_address: "10.1.0.2".into(),
                    gateway: "10.1.0.1".into(),
                    ..EndpointSettings::default()
                },
            );
        }
        c.network_settings.ports.insert(
            "80/tcp".into(),
            Some(vec![PortBindingWire {
                host_ip: "0.0.0.0".into(),
                host_port: "80".into(),
            }]),
        );
        c
    }

    #[test]
    fn odd_states_are_noted_not_guessed() {
        let mut host = resource("hhhh", "host", "2026-01-01T00:00:00Z", false);
        host.driver = "host".into();
        let r = Responses {
            networks: vec![
                resource("bbbb", "late", "2026-01-01T00:00:03+01:00", false),
                resource("aaaa", "early", "2026-01-01T00:00:02Z", false),
                resource("iiii", "inner", "not a time", true),
                host,
            ],
            inspects: vec![
                inspect("c3", "running", "garbage", &[("early", "aaaa")]),
                inspect(
                    "c2",
                    "restarting",
                    "2026-01-01T00:00:05Z",
                    &[("early", "aaaa")],
                ),
                inspect(
                    "c1",
                    "running",
                    "2026-01-01T00:00:04Z",
                    &[("inner", "iiii")],
                ),
                inspect("c0", "paused", "2026-01-01T00:00:03Z", &[("ghost", "gggg")]),
            ],
            ..Responses::default()
        };
        let s = Snapshot::build(&r);
        // "late" is 00:00:03+01:00, an hour before "early".
        let nets: Vec<_> = s.state.networks.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(nets, ["late", "early", "inner"]);
        let order: Vec<_> = s.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(order, ["c0", "c1", "c2", "c3"]);
        let eps: Vec<_> = s
            .state
            .endpoints
            .iter()
            .map(|e| (e.container_name.as_str(), e.network.as_str(), e.ports.len()))
            .collect();
        // c1 only on an internal network: no ports; c2 restarting: nothing.
        assert_eq!(eps, [("c1", "inner", 0), ("c3", "early", 1)]);
        let notes = s.notes.join("\n");
        for words in [
            "network inner: creation time",
            "container c0: network ghost is not in the network list",
            "container c0: its published ports belong to network ghost",
            "container c1: its published ports belong to network inner",
            "container c2 is restarting",
            "container c3: start time \"garbage\" unreadable",
        ] {
            assert!(notes.contains(words), "{words}:\n{notes}");
        }
        assert_eq!(s.notes.len(), 6, "{notes}");
    }

    #[test]
    fn network_options() {
        let mut n = NetworkResource {
            id: "abcdef0123456789".into(),
            name: "n".into(),
            driver: "bridge".into(),
            enable_ipv6: true,
            ..NetworkResource::default()
        };
        for s in ["172.30.0.0/24", "fd00:30::/64", "10.0.0.0/8", "junk"] {
            n.ipam.config.push(super::super::wire::IpamConfig {
                subnet: s.into(),
                gateway: String::new(),
            });
        }
        for (k, v) in [
            (opt::ENABLE_ICC, "false"),
            (opt::ENABLE_IP_MASQUERADE, "maybe"),
            (opt::HOST_IPV4, "192.0.2.7"),
            (opt::GATEWAY_MODE_IPV6, "routed"),
            (opt::TRUSTED_HOST_INTERFACES, "eth1::eth2"),
        ] {
            n.options.insert(k.into(), v.into());
        }
        let mut notes = vec![];
        let got = network(&n, &mut notes);
        assert_eq!(
            got.ipv4.map(|s| (s.addr.to_string(), s.prefix)),
            Some(("172.30.0.0".into(), 24))
        );
        assert_eq!(got.ipv6.map(|s| s.prefix), Some(64));
        assert!(!got.icc && got.masquerade);
        assert_eq!(got.host_ipv4, Some(Ipv4Addr::new(192, 0, 2, 7)));
        assert_eq!(
            (
                got.gateway_mode_ipv4.as_str(),
                got.gateway_mode_ipv6.as_str()
            ),
            ("nat", "routed")
        );
        assert_eq!(got.trusted_host_interfaces, vec!["eth1", "eth2"]);
        assert_eq!(notes.len(), 2, "{notes:?}");
        n.enable_ipv6 = false;
        n.enable_ipv4 = Some(false);
        let got = network(&n, &mut notes);
        assert_eq!((got.ipv4, got.ipv6), (None, None));
    }
}
