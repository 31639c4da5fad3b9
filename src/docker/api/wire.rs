//! The Engine API's JSON, as far as nfdoctor reads it. Lenient: every
//! field may be missing or `null` (Go writes `null` for empty slices and
//! maps, and fields come and go between API versions); unknown fields are
//! ignored.

use crate::small::ShortStr;
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// `null` as the type's default.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `GET /version`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct VersionResponse {
    #[serde(rename = "Version", deserialize_with = "nullable")]
    pub version: String,
    #[serde(rename = "ApiVersion", deserialize_with = "nullable")]
    pub api_version: String,
    #[serde(rename = "MinAPIVersion", deserialize_with = "nullable")]
    pub min_api_version: String,
    #[serde(rename = "Os", deserialize_with = "nullable")]
    pub os: String,
    #[serde(rename = "Arch", deserialize_with = "nullable")]
    pub arch: String,
    #[serde(rename = "KernelVersion", deserialize_with = "nullable")]
    pub kernel_version: String,
    #[serde(rename = "GitCommit", deserialize_with = "nullable")]
    pub git_commit: String,
    #[serde(rename = "Components", deserialize_with = "nullable")]
    pub components: Vec<ComponentVersion>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ComponentVersion {
    #[serde(rename = "Name", deserialize_with = "nullable")]
    pub name: String,
    #[serde(rename = "Version", deserialize_with = "nullable")]
    pub version: String,
}

/// `GET /info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct InfoResponse {
    #[serde(rename = "ServerVersion", deserialize_with = "nullable")]
    pub server_version: String,
    #[serde(rename = "Driver", deserialize_with = "nullable")]
    pub driver: String,
    #[serde(rename = "CgroupDriver", deserialize_with = "nullable")]
    pub cgroup_driver: String,
    #[serde(rename = "CgroupVersion", deserialize_with = "nullable")]
    pub cgroup_version: String,
    #[serde(rename = "KernelVersion", deserialize_with = "nullable")]
    pub kernel_version: String,
    #[serde(rename = "OperatingSystem", deserialize_with = "nullable")]
    pub operating_system: String,
    #[serde(rename = "DockerRootDir", deserialize_with = "nullable")]
    pub docker_root_dir: String,
    #[serde(rename = "SecurityOptions", deserialize_with = "nullable")]
    pub security_options: Vec<String>,
    /// API 1.49+ (Docker 28.1+).
    #[serde(rename = "FirewallBackend")]
    pub firewall_backend: Option<FirewallInfo>,
    #[serde(rename = "IPv4Forwarding")]
    pub ipv4_forwarding: Option<bool>,
    /// Real up to 27.x; always false from 28.0, gone from API 1.50.
    #[serde(rename = "BridgeNfIptables")]
    pub bridge_nf_iptables: Option<bool>,
    #[serde(rename = "BridgeNfIp6tables")]
    pub bridge_nf_ip6tables: Option<bool>,
    #[serde(rename = "LiveRestoreEnabled")]
    pub live_restore_enabled: Option<bool>,
    #[serde(rename = "Swarm")]
    pub swarm: Option<SwarmInfo>,
    #[serde(rename = "Warnings", deserialize_with = "nullable")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FirewallInfo {
    /// `iptables`, `iptables+firewalld`, `nftables`.
    #[serde(rename = "Driver", deserialize_with = "nullable")]
    pub driver: String,
    /// `[["ReloadedAt", "2025-…"]]`.
    #[serde(rename = "Info", deserialize_with = "nullable")]
    pub info: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SwarmInfo {
    /// `inactive`, `pending`, `active`, `error`, `locked`.
    #[serde(rename = "LocalNodeState", deserialize_with = "nullable")]
    pub local_node_state: String,
}

/// One entry of `GET /networks`, or `GET /networks/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct NetworkResource {
    #[serde(rename = "Name", deserialize_with = "nullable")]
    pub name: String,
    #[serde(rename = "Id", deserialize_with = "nullable")]
    pub id: String,
    #[serde(rename = "Created", deserialize_with = "nullable")]
    pub created: String,
    #[serde(rename = "Scope", deserialize_with = "nullable")]
    pub scope: String,
    #[serde(rename = "Driver", deserialize_with = "nullable")]
    pub driver: String,
    /// API 1.48+; IPv4 is on when absent.
    #[serde(rename = "EnableIPv4")]
    pub enable_ipv4: Option<bool>,
    #[serde(rename = "EnableIPv6", deserialize_with = "nullable")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM", deserialize_with = "nullable")]
    pub ipam: Ipam,
    #[serde(rename = "Internal", deserialize_with = "nullable")]
    pub internal: bool,
    #[serde(rename = "Ingress", deserialize_with = "nullable")]
    pub ingress: bool,
    #[serde(rename = "ConfigOnly", deserialize_with = "nullable")]
    pub config_only: bool,
    /// Empty in the list (API 1.28+); filled by `GET /networks/{id}`.
    #[serde(rename = "Containers", deserialize_with = "nullable")]
    pub containers: BTreeMap<String, NetworkContainer>,
    #[serde(rename = "Options", deserialize_with = "nullable")]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Ipam {
    #[serde(rename = "Driver", deserialize_with = "nullable")]
    pub driver: String,
    #[serde(rename = "Config", deserialize_with = "nullable")]
    pub config: Vec<IpamConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct IpamConfig {
    #[serde(rename = "Subnet", deserialize_with = "nullable")]
    pub subnet: String,
    #[serde(rename = "Gateway", deserialize_with = "nullable")]
    pub gateway: String,
}

/// An endpoint as `GET /networks/{id}` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct NetworkContainer {
    #[serde(rename = "Name", deserialize_with = "nullable")]
    pub name: String,
    #[serde(rename = "EndpointID", deserialize_with = "nullable")]
    pub endpoint_id: String,
    /// `172.17.0.2/16`.
    #[serde(rename = "IPv4Address", deserialize_with = "nullable")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address", deserialize_with = "nullable")]
    pub ipv6_address: String,
}

/// One entry of `GET /containers/json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ContainerSummary {
    #[serde(rename = "Id", deserialize_with = "nullable")]
    pub id: String,
    /// `/name`, and `/other/alias` for each legacy link to it.
    #[serde(rename = "Names", deserialize_with = "nullable")]
    pub names: Vec<String>,
    #[serde(rename = "State", deserialize_with = "nullable")]
    pub state: String,
    /// Unordered before 28.x (built from a Go map).
    #[serde(rename = "Ports", deserialize_with = "nullable")]
    pub ports: Vec<SummaryPort>,
    #[serde(rename = "HostConfig", deserialize_with = "nullable")]
    pub host_config: SummaryHostConfig,
    #[serde(rename = "NetworkSettings", deserialize_with = "nullable")]
    pub network_settings: SummaryNetworkSettings,
}

/// An entry of `GET /containers/json`, only as far as naming it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SummaryId {
    #[serde(rename = "Id", deserialize_with = "nullable")]
    pub id: String,
    #[serde(rename = "Names", deserialize_with = "nullable")]
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SummaryPort {
    #[serde(rename = "IP", deserialize_with = "nullable")]
    pub ip: ShortStr,
    #[serde(rename = "PrivatePort", deserialize_with = "nullable")]
    pub private_port: u16,
    #[serde(rename = "PublicPort", deserialize_with = "nullable")]
    pub public_port: u16,
    #[serde(rename = "Type", deserialize_with = "nullable")]
    pub kind: ShortStr,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SummaryHostConfig {
    #[serde(rename = "NetworkMode", deserialize_with = "nullable")]
    pub network_mode: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SummaryNetworkSettings {
    #[serde(rename = "Networks", deserialize_with = "nullable")]
    pub networks: BTreeMap<String, EndpointSettings>,
}

/// A container's endpoint on one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct EndpointSettings {
    #[serde(rename = "Links", deserialize_with = "nullable")]
    pub links: Vec<String>,
    #[serde(rename = "Aliases", deserialize_with = "nullable")]
    pub aliases: Vec<String>,
    #[serde(rename = "NetworkID", deserialize_with = "nullable")]
    pub network_id: String,
    #[serde(rename = "EndpointID", deserialize_with = "nullable")]
    pub endpoint_id: String,
    #[serde(rename = "Gateway", deserialize_with = "nullable")]
    pub gateway: String,
    #[serde(rename = "IPAddress", deserialize_with = "nullable")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen", deserialize_with = "nullable")]
    pub ip_prefix_len: u8,
    #[serde(rename = "IPv6Gateway", deserialize_with = "nullable")]
    pub ipv6_gateway: String,
    #[serde(rename = "GlobalIPv6Address", deserialize_with = "nullable")]
    pub global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen", deserialize_with = "nullable")]
    pub global_ipv6_prefix_len: u8,
    /// API 1.48+ (28.0+): the gateway priority (`--network name,gw-priority=N`).
    #[serde(rename = "GwPriority", deserialize_with = "nullable")]
    pub gw_priority: i64,
}

/// `GET /containers/{id}/json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ContainerInspect {
    #[serde(rename = "Id", deserialize_with = "nullable")]
    pub id: String,
    /// `/name`.
    #[serde(rename = "Name", deserialize_with = "nullable")]
    pub name: String,
    #[serde(rename = "Created", deserialize_with = "nullable")]
    pub created: String,
    #[serde(rename = "State", deserialize_with = "nullable")]
    pub state: ContainerState,
    #[serde(rename = "HostConfig", deserialize_with = "nullable")]
    pub host_config: InspectHostConfig,
    #[serde(rename = "NetworkSettings", deserialize_with = "nullable")]
    pub network_settings: InspectNetworkSettings,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ContainerState {
    #[serde(rename = "Status", deserialize_with = "nullable")]
    pub status: String,
    #[serde(rename = "Running", deserialize_with = "nullable")]
    pub running: bool,
    #[serde(rename = "Paused", deserialize_with = "nullable")]
    pub paused: bool,
    #[serde(rename = "StartedAt", deserialize_with = "nullable")]
    pub started_at: String,
}

/// `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`.
pub type PortMap = BTreeMap<ShortStr, Option<Vec<PortBindingWire>>>;

/// A [`PortMap`], `null` as empty, each port's bindings in a vector of
/// exactly their number (one, or two with IPv6). Collected one by one they
/// would get room for four: a container inspect lists two maps of every
/// published port, and a host with 10k ports kept megabytes of that room.
fn port_map<'de, D: Deserializer<'de>>(d: D) -> Result<PortMap, D::Error> {
    struct Ports(PortMap);
    struct Bindings(Vec<PortBindingWire>);
    struct PortsVisitor;
    struct BindingsVisitor;

    impl<'de> Visitor<'de> for PortsVisitor {
        type Value = Ports;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of ports to their bindings")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ports, A::Error> {
            let mut ports = PortMap::new();
            while let Some((port, bindings)) = map.next_entry::<ShortStr, Option<Bindings>>()? {
                ports.insert(port, bindings.map(|b| b.0));
            }
            Ok(Ports(ports))
        }
    }

    impl<'de> Visitor<'de> for BindingsVisitor {
        type Value = Bindings;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of port bindings")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bindings, A::Error> {
            let Some(first) = seq.next_element()? else {
                return Ok(Bindings(Vec::new()));
            };
            let Some(second) = seq.next_element()? else {
                return Ok(Bindings(vec![first]));
            };
            let mut all = Vec::with_capacity(2 + seq.size_hint().unwrap_or(0));
            all.extend([first, second]);
            while let Some(more) = seq.next_element()? {
                all.push(more);
            }
            Ok(Bindings(all))
        }
    }

    impl<'de> Deserialize<'de> for Ports {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(PortsVisitor)
        }
    }

    impl<'de> Deserialize<'de> for Bindings {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_seq(BindingsVisitor)
        }
    }

    Ok(Option::<Ports>::deserialize(d)?
        .map(|p| p.0)
        .unwrap_or_default())
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PortBindingWire {
    #[serde(rename = "HostIp", deserialize_with = "nullable")]
    pub host_ip: ShortStr,
    #[serde(rename = "HostPort", deserialize_with = "nullable")]
    pub host_port: ShortStr,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct InspectHostConfig {
    /// `default` (20.10) or `bridge` for the default network, a network
    /// name, `host`, `none`, `container:ID`.
    #[serde(rename = "NetworkMode", deserialize_with = "nullable")]
    pub network_mode: String,
    /// As requested (`-p`): host IP may be empty, host port empty or a range.
    #[serde(rename = "PortBindings", deserialize_with = "port_map")]
    pub port_bindings: PortMap,
    #[serde(rename = "PublishAllPorts", deserialize_with = "nullable")]
    pub publish_all_ports: bool,
    /// `/peer:/this/alias`.
    #[serde(rename = "Links", deserialize_with = "nullable")]
    pub links: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct InspectNetworkSettings {
    /// The bindings Docker made: keys sorted, bindings in Docker's order.
    #[serde(rename = "Ports", deserialize_with = "port_map")]
    pub ports: PortMap,
    #[serde(rename = "Networks", deserialize_with = "nullable")]
    pub networks: BTreeMap<String, EndpointSettings>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_and_missing_fields_are_defaults() {
        let c: ContainerInspect = serde_json::from_str(
            r#"{"Id":"x","Name":null,"State":null,"HostConfig":{"PortBindings":null,"Links":null},
                "NetworkSettings":{"Ports":{"80/tcp":null},"Networks":{"bridge":{"IPAddress":null,"Links":null}}}}"#,
        )
        .unwrap();
        assert_eq!(c.id, "x");
        assert_eq!(c.name, "");
        assert!(c.host_config.port_bindings.is_empty());
        assert_eq!(c.network_settings.ports.get("80/tcp"), Some(&None));
        assert_eq!(c.network_settings.networks["bridge"].ip_address, "");
        let n: Vec<NetworkResource> =
            serde_json::from_str(r#"[{"Name":"none","IPAM":{"Config":null},"Options":null}]"#)
                .unwrap();
        assert!(n[0].ipam.config.is_empty() && n[0].enable_ipv4.is_none());
        let i: InfoResponse = serde_json::from_str(r#"{"Warnings":null,"Swarm":{}}"#).unwrap();
        assert!(i.warnings.is_empty() && i.firewall_backend.is_none());
    }

    #[test]
    fn port_bindings_get_exactly_their_room() {
        let c: ContainerInspect = serde_json::from_str(
            r#"{"HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]}},
                "NetworkSettings":{"Ports":{
                    "80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"}],
                    "81/tcp":[{"HostIp":"0.0.0.0","HostPort":"1"},{"HostIp":"::","HostPort":"1"},{"HostIp":"10.0.0.1","HostPort":"2"}],
                    "82/tcp":[],"83/udp":null}}}"#,
        )
        .unwrap();
        let requested = &c.host_config.port_bindings["80/tcp"];
        assert_eq!(
            requested.as_ref().map(|b| (b.len(), b.capacity())),
            Some((1, 1))
        );
        let ports = &c.network_settings.ports;
        let sizes: Vec<Option<usize>> = ports.values().map(|b| b.as_ref().map(Vec::len)).collect();
        assert_eq!(sizes, [Some(2), Some(3), Some(0), None]);
        assert_eq!(ports["80/tcp"].as_ref().map(Vec::capacity), Some(2));
        assert_eq!(ports["81/tcp"].as_ref().unwrap()[2].host_ip, "10.0.0.1");
        assert_eq!(ports["80/tcp"].as_ref().unwrap()[1].host_ip, "::");
    }

    #[test]
    fn wrong_types_are_errors() {
        assert!(serde_json::from_str::<VersionResponse>(r#"{"Version":3}"#).is_err());
        assert!(serde_json::from_str::<Vec<ContainerSummary>>(r#"{"Id":"x"}"#).is_err());
        let ports = r#"{"NetworkSettings":{"Ports":{"80/tcp":{"HostIp":""}}}}"#;
        assert!(serde_json::from_str::<ContainerInspect>(ports).is_err());
        let ports = r#"{"NetworkSettings":{"Ports":[]}}"#;
        assert!(serde_json::from_str::<ContainerInspect>(ports).is_err());
    }
}
