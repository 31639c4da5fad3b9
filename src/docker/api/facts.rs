//! What the API says about the daemon itself (`/version`, `/info`, the
//! default network's options), and, as explicitly, what it cannot say.
//!
//! The Engine API does not expose dockerd's configuration. Of the options
//! in [`DaemonOptions`], it reveals only:
//! * `ip_masq`: the default `bridge` network carries `--ip-masq` as its
//!   `com.docker.network.bridge.enable_ip_masquerade` option (as it carries
//!   `--icc`, `--ip` and `-b`, see [`ApiFacts`]);
//! * `firewall_backend`: `/info`'s `FirewallBackend` from 28.1 (API 1.49);
//!   engines before 28.1 had no other back end than iptables.
//!
//! Everything else (`iptables`, `ip6tables`, `userland-proxy`,
//! `ip-forward`, `ip-forward-no-drop`, `allow-direct-routing`,
//! `bridge-accept-fwmark`, the raw-rules environment variable, WSL2
//! mirroring) is `None` in [`OptionFacts`]: unknown, to be merged with
//! `host::dockerd`'s flags and daemon.json. `/info`'s `IPv4Forwarding` and
//! `BridgeNfIptables` are the host's sysctls, not options.

use super::version::ApiVersion;
use crate::docker::model::{DaemonOptions, Version};
use serde::Serialize;
use std::net::IpAddr;

/// The daemon options as the API reveals them: `Some` when the running
/// daemon told us, `None` when the API cannot tell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OptionFacts {
    /// Never in the API.
    pub iptables: Option<bool>,
    /// Never in the API (neither in `/info` nor in the networks).
    pub ip6tables: Option<bool>,
    /// Never in the API.
    pub userland_proxy: Option<bool>,
    /// Never in the API (`/info` `IPv4Forwarding` is the sysctl).
    pub ip_forward: Option<bool>,
    /// The default bridge network's `enable_ip_masquerade` option.
    pub ip_masq: Option<bool>,
    /// Never in the API.
    pub ip_forward_no_drop: Option<bool>,
    /// Never in the API.
    pub allow_direct_routing: Option<bool>,
    /// `iptables` or `nftables`: `/info` `FirewallBackend` (28.1+), or
    /// `iptables` for older engines (the only back end they have).
    pub firewall_backend: Option<String>,
    /// Never in the API. `Some(None)` would mean "known to be unset".
    pub bridge_accept_fwmark: Option<Option<String>>,
    /// Never in the API (a host fact).
    pub wsl2_mirrored: Option<bool>,
    /// Never in the API (dockerd's environment).
    pub no_raw_rules: Option<bool>,
}

impl OptionFacts {
    /// Overwrites the fields of `options` that the API revealed.
    pub fn apply(&self, options: &mut DaemonOptions) {
        let set = |slot: &mut bool, v: Option<bool>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut options.iptables, self.iptables);
        set(&mut options.ip6tables, self.ip6tables);
        set(&mut options.userland_proxy, self.userland_proxy);
        set(&mut options.ip_forward, self.ip_forward);
        set(&mut options.ip_masq, self.ip_masq);
        set(&mut options.ip_forward_no_drop, self.ip_forward_no_drop);
        set(&mut options.allow_direct_routing, self.allow_direct_routing);
        set(&mut options.wsl2_mirrored, self.wsl2_mirrored);
        set(&mut options.no_raw_rules, self.no_raw_rules);
        if let Some(b) = &self.firewall_backend {
            options.firewall_backend = b.clone();
        }
        if let Some(m) = &self.bridge_accept_fwmark {
            options.bridge_accept_fwmark = m.clone();
        }
    }

    /// The daemon.json names of the options the API did not reveal.
    pub fn unknown(&self) -> Vec<&'static str> {
        self.entries()
            .into_iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k)
            .collect()
    }

    /// `(daemon.json name, value)` of the options the API revealed.
    pub fn known(&self) -> Vec<(&'static str, String)> {
        self.entries()
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    }

    fn entries(&self) -> Vec<(&'static str, Option<String>)> {
        let b = |v: Option<bool>| v.map(|v| v.to_string());
        vec![
            ("iptables", b(self.iptables)),
            ("ip6tables", b(self.ip6tables)),
            ("userland-proxy", b(self.userland_proxy)),
            ("ip-forward", b(self.ip_forward)),
            ("ip-masq", b(self.ip_masq)),
            ("ip-forward-no-drop", b(self.ip_forward_no_drop)),
            ("allow-direct-routing", b(self.allow_direct_routing)),
            ("firewall-backend", self.firewall_backend.clone()),
            (
                "bridge-accept-fwmark",
                self.bridge_accept_fwmark
                    .clone()
                    .map(|m| m.unwrap_or_default()),
            ),
            ("wsl2-mirrored", b(self.wsl2_mirrored)),
            ("no-raw-rules", b(self.no_raw_rules)),
        ]
    }
}

/// A component of `/version` (`Engine`, `containerd`, `runc`,
/// `rootlesskit`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Component {
    pub name: String,
    pub version: String,
}

/// Facts about the daemon from `/version`, `/info` and its default network.
/// `None`: the API did not say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApiFacts {
    /// As the daemon writes it: `28.5.2+dfsg4`.
    pub server_version: Option<String>,
    pub version: Option<Version>,
    /// The newest API the daemon speaks (`ApiVersion`).
    pub api_version: Option<ApiVersion>,
    /// The oldest it accepts (`MinAPIVersion`).
    pub min_api_version: Option<ApiVersion>,
    /// The version this client spoke (see `version.rs`); `None` when it fell
    /// back to unversioned paths.
    pub spoken_api_version: Option<ApiVersion>,
    pub os: Option<String>,
    pub arch: Option<String>,
    pub kernel_version: Option<String>,
    pub components: Vec<Component>,
    /// The storage driver (`/info` `Driver`).
    pub storage_driver: Option<String>,
    pub cgroup_driver: Option<String>,
    pub cgroup_version: Option<String>,
    pub operating_system: Option<String>,
    pub docker_root_dir: Option<String>,
    /// `SecurityOptions` holds `name=rootless`.
    pub rootless: Option<bool>,
    pub security_options: Vec<String>,
    /// `/info` `FirewallBackend.Driver` as given (`iptables`,
    /// `iptables+firewalld`, `nftables`; 28.1+).
    pub firewall_driver: Option<String>,
    /// Docker sends its iptables calls through firewalld (28.1+ says so).
    pub firewalld: Option<bool>,
    /// When Docker last re-applied its rules after a firewalld reload.
    pub firewalld_reloaded_at: Option<String>,
    /// `net.ipv4.ip_forward` as the daemon saw it.
    pub ipv4_forwarding: Option<bool>,
    /// `bridge-nf-call-iptables`/`ip6tables` as the daemon saw them (up to
    /// 27.x; 28.0+ no longer reports them).
    pub bridge_nf_iptables: Option<bool>,
    pub bridge_nf_ip6tables: Option<bool>,
    pub live_restore: Option<bool>,
    /// Swarm mode is active (ingress rules, `docker_gwbridge`).
    pub swarm_active: Option<bool>,
    /// `/info` `Warnings` (e.g. "WARNING: bridge-nf-call-iptables is
    /// disabled", "WARNING: IPv4 forwarding is disabled").
    pub warnings: Vec<String>,
    /// The default network's bridge (`docker0`, or dockerd's `-b`).
    pub default_bridge: Option<String>,
    /// The default network's `enable_icc` (dockerd's `--icc`).
    pub default_icc: Option<bool>,
    /// The default network's `host_binding_ipv4` (dockerd's `--ip`).
    pub default_binding_ipv4: Option<IpAddr>,
    pub options: OptionFacts,
}

/// The engines that came before `FirewallBackend` (28.1) had only iptables.
pub(crate) const FIREWALL_BACKEND_REPORTED: Version = Version::new(28, 1, 0);
/// 28.0 stopped filling `BridgeNfIptables`/`BridgeNfIp6tables`.
pub(crate) const BRIDGE_NF_UNREPORTED: Version = Version::new(28, 0, 0);

/// `SecurityOptions` entries are `name=seccomp,profile=default`,
/// `name=rootless`, … (only names before API 1.25).
pub(crate) fn has_security_option(options: &[String], name: &str) -> bool {
    options.iter().any(|o| {
        o == name
            || o.split(',')
                .any(|kv| kv.split_once('=') == Some(("name", name)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_overwrites_only_what_is_known() {
        let facts = OptionFacts {
            ip_masq: Some(false),
            firewall_backend: Some("nftables".into()),
            ..OptionFacts::default()
        };
        let mut options = DaemonOptions {
            userland_proxy: false,
            ..DaemonOptions::default()
        };
        facts.apply(&mut options);
        assert!(!options.ip_masq);
        assert!(!options.userland_proxy, "unknown: left as it was");
        assert_eq!(options.firewall_backend, "nftables");
        assert_eq!(
            facts.known(),
            vec![
                ("ip-masq", "false".to_string()),
                ("firewall-backend", "nftables".to_string())
            ]
        );
        assert!(facts.unknown().contains(&"userland-proxy"));
        assert_eq!(facts.unknown().len(), 9);
    }

    #[test]
    fn security_options() {
        let opts = vec![
            "name=seccomp,profile=default".to_string(),
            "name=rootless".to_string(),
        ];
        assert!(has_security_option(&opts, "rootless"));
        assert!(has_security_option(&opts, "seccomp"));
        assert!(!has_security_option(&opts, "userns"));
        assert!(has_security_option(&["rootless".to_string()], "rootless"));
    }
}
