//! What nfdoctor knows about a Docker daemon: its version and options, its
//! bridge networks and its containers' endpoints and published ports. The
//! Engine API client fills it; the expected-rules engine reads it. Plain
//! data, no I/O.

use serde::Serialize;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A Docker Engine version (`28.5.2`, `20.10.24`; a `+dfsg1`-style suffix
/// is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// Parses `28.5.2`, `20.10.24+dfsg1`, `v29.0.0`, `26.1.5-1`.
    pub fn parse(text: &str) -> Option<Version> {
        let t = text.trim().trim_start_matches('v');
        let mut parts = t
            .split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(Version {
            major,
            minor,
            patch,
        })
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The daemon options that shape its rules (docker-rules.md §8–9), with
/// Docker's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaemonOptions {
    /// `--iptables` (false: Docker writes no rules at all).
    pub iptables: bool,
    /// `--ip6tables` (default on from 27.0; off before).
    pub ip6tables: bool,
    /// `--userland-proxy` (default on). Off = "hairpin mode".
    pub userland_proxy: bool,
    /// `--ip-forward` (default on).
    pub ip_forward: bool,
    /// `--ip-masq` (default on).
    pub ip_masq: bool,
    /// `--ip-forward-no-drop` (28.0+).
    pub ip_forward_no_drop: bool,
    /// `--allow-direct-routing` (28.2+).
    pub allow_direct_routing: bool,
    /// `--firewall-backend`: `iptables` (default) or `nftables` (29+).
    pub firewall_backend: String,
    /// `--bridge-accept-fwmark` (29+), as given.
    pub bridge_accept_fwmark: Option<String>,
    /// Running under WSL2 with mirrored networking (adds loopback0 rules).
    pub wsl2_mirrored: bool,
    /// `DOCKER_INSECURE_NO_IPTABLES_RAW=1` (28.0.2+: no raw-table rules).
    pub no_raw_rules: bool,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            iptables: true,
            ip6tables: false,
            userland_proxy: true,
            ip_forward: true,
            ip_masq: true,
            ip_forward_no_drop: false,
            allow_direct_routing: false,
            firewall_backend: "iptables".into(),
            bridge_accept_fwmark: None,
            wsl2_mirrored: false,
            no_raw_rules: false,
        }
    }
}

/// An IPv4 or IPv6 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Subnet<A> {
    pub addr: A,
    pub prefix: u8,
}

/// A bridge network (driver `bridge`; other drivers have no host rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Network {
    pub id: String,
    pub name: String,
    /// The Linux bridge: `docker0`, `br-` + 12 hex digits of the id, or the
    /// `com.docker.network.bridge.name` option.
    pub bridge: String,
    pub ipv4: Option<Subnet<Ipv4Addr>>,
    pub ipv6: Option<Subnet<Ipv6Addr>>,
    /// `--internal`.
    pub internal: bool,
    /// `com.docker.network.bridge.enable_icc` (default true).
    pub icc: bool,
    /// `com.docker.network.bridge.enable_ip_masquerade` (default true).
    pub masquerade: bool,
    /// `com.docker.network.bridge.host_ipv4` / `host_ipv6`: SNAT instead of
    /// MASQUERADE.
    pub host_ipv4: Option<Ipv4Addr>,
    pub host_ipv6: Option<Ipv6Addr>,
    /// `com.docker.network.bridge.gateway_mode_ipv4`/`_ipv6`: `nat`
    /// (default), `nat-unprotected`, `routed`, `isolated`.
    pub gateway_mode_ipv4: String,
    pub gateway_mode_ipv6: String,
    /// `com.docker.network.bridge.trusted_host_interfaces` (28.2+).
    pub trusted_host_interfaces: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }
}

/// One published port (`-p [HOSTIP:]HOSTPORT:CPORT[/PROTO]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct PortBinding {
    pub proto: Proto,
    /// `None`: any address of both families (`-p 8080:80`). `0.0.0.0` or
    /// `::`: any address of that family only; the Engine API lists `-p
    /// 8080:80` as both, which counts as `None`.
    pub host_ip: Option<std::net::IpAddr>,
    /// 0 when the binding has no host port (routed mode).
    pub host_port: u16,
    pub container_port: u16,
}

/// A container attached to a bridge network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub container_id: String,
    pub container_name: String,
    /// `Network::name`.
    pub network: String,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    /// Published ports, in the order the Engine API lists them. Only the
    /// endpoint that gives the container its gateway carries them.
    pub ports: Vec<PortBinding>,
    /// Legacy `--link` peers (container ids), for the link rules.
    pub links: Vec<String>,
}

/// Everything the expected rules depend on. `networks` and `endpoints`
/// are in creation / start order (Docker's rules follow it).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct DockerState {
    pub version: Option<Version>,
    pub options: DaemonOptions,
    pub networks: Vec<Network>,
    pub endpoints: Vec<Endpoint>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(Version::parse("28.5.2"), Some(Version::new(28, 5, 2)));
        assert_eq!(
            Version::parse("20.10.24+dfsg1"),
            Some(Version::new(20, 10, 24))
        );
        assert_eq!(Version::parse("v29.0"), Some(Version::new(29, 0, 0)));
        assert!(Version::new(28, 2, 2) > Version::new(28, 2, 1));
        assert_eq!(Version::parse("dev"), None);
    }
}
