//! The sysctls Docker's networking depends on, read (and written) through
//! `/proc/sys/net`, which shows the network namespace of the reader: after
//! `--netns` these are the target namespace's values.

use super::root::HostRoot;
use serde::Serialize;
use std::io;

/// The sysctls the env report shows, with what Docker expects.
pub const SYSCTLS: &[(&str, &str, &str)] = &[
    (
        "net.ipv4.ip_forward",
        "1",
        "routing between containers and the outside (Docker sets it unless --ip-forward=false)",
    ),
    (
        "net.ipv6.conf.all.forwarding",
        "1",
        "IPv6 routing (with ip6tables / IPv6 networks)",
    ),
    (
        "net.bridge.bridge-nf-call-iptables",
        "1",
        "bridged IPv4 traffic passes iptables (needs br_netfilter)",
    ),
    (
        "net.bridge.bridge-nf-call-ip6tables",
        "1",
        "bridged IPv6 traffic passes ip6tables (needs br_netfilter)",
    ),
    (
        "net.ipv4.conf.all.route_localnet",
        "",
        "127.0.0.0/8 routable (Docker sets it per bridge without userland-proxy)",
    ),
];

/// One sysctl's value, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sysctl {
    pub name: String,
    /// The value, trimmed; `None` when absent or unreadable.
    pub value: Option<String>,
    /// Docker's expectation ("" when none).
    pub expected: String,
    /// `value == expected` (None when there is no expectation or no value).
    pub as_expected: Option<bool>,
    /// Why the value is missing: `absent` (e.g. br_netfilter not loaded,
    /// IPv6 disabled) or the read error.
    pub error: Option<String>,
    pub meaning: String,
}

/// `net.ipv4.ip_forward` → `/proc/sys/net/ipv4/ip_forward`. Interface names
/// containing dots are written with `/` in sysctl(8) notation; this takes
/// the dotted form only for the fixed names above and per-interface names
/// built with [`interface_sysctl_path`].
pub fn sysctl_path(name: &str) -> String {
    format!("/proc/sys/{}", name.replace('.', "/"))
}

/// `/proc/sys/net/ipv4/conf/IFACE/KEY` (interface names may contain dots).
pub fn interface_sysctl_path(family: &str, iface: &str, key: &str) -> String {
    format!("/proc/sys/net/{family}/conf/{iface}/{key}")
}

pub fn read_sysctl(root: &HostRoot, name: &str, expected: &str, meaning: &str) -> Sysctl {
    read_path(root, name, &sysctl_path(name), expected, meaning)
}

fn read_path(root: &HostRoot, name: &str, path: &str, expected: &str, meaning: &str) -> Sysctl {
    let (value, error) = match root.read_value(path) {
        Ok(v) => (Some(v), None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => (None, Some("absent".to_string())),
        Err(e) => (None, Some(e.to_string())),
    };
    let as_expected = match (&value, expected) {
        (Some(v), e) if !e.is_empty() => Some(v == e),
        _ => None,
    };
    Sysctl {
        name: name.to_string(),
        value,
        expected: expected.to_string(),
        as_expected,
        error,
        meaning: meaning.to_string(),
    }
}

/// The fixed sysctls plus `route_localnet` of each bridge in `bridges`.
pub fn probe_sysctls(root: &HostRoot, bridges: &[String]) -> Vec<Sysctl> {
    let mut out: Vec<Sysctl> = SYSCTLS
        .iter()
        .map(|(n, e, m)| read_sysctl(root, n, e, m))
        .collect();
    for b in bridges {
        let name = format!("net.ipv4.conf.{b}.route_localnet");
        out.push(read_path(
            root,
            &name,
            &interface_sysctl_path("ipv4", b, "route_localnet"),
            "",
            "set to 1 by Docker on the bridge when the userland proxy is off",
        ));
    }
    out
}

/// Writes a sysctl (as `sysctl -w` would). Needs CAP_NET_ADMIN over the
/// current network namespace; the caller decides whether it may.
pub fn write_sysctl(root: &HostRoot, name: &str, value: &str) -> io::Result<()> {
    use std::io::Write;
    let path = root.path(sysctl_path(name));
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(format!("{value}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::root::testing::FakeTree;

    #[test]
    fn reads_values_absence_and_expectations() {
        let t = FakeTree::new();
        t.file("/proc/sys/net/ipv4/ip_forward", "0\n")
            .file("/proc/sys/net/ipv6/conf/all/forwarding", "1\n")
            .file("/proc/sys/net/ipv4/conf/all/route_localnet", "0\n")
            .file(
                "/proc/sys/net/ipv4/conf/br-0123456789ab/route_localnet",
                "1\n",
            );
        let s = probe_sysctls(&t.root(), &["br-0123456789ab".into(), "docker0".into()]);
        assert_eq!(s[0].value.as_deref(), Some("0"));
        assert_eq!(s[0].as_expected, Some(false));
        assert_eq!(s[1].as_expected, Some(true));
        assert_eq!(s[2].error.as_deref(), Some("absent"));
        assert_eq!(s[2].name, "net.bridge.bridge-nf-call-iptables");
        assert_eq!(s[4].as_expected, None);
        assert_eq!(s[5].value.as_deref(), Some("1"));
        assert_eq!(s[6].error.as_deref(), Some("absent"));
    }

    #[test]
    fn writes_through_the_root() {
        let t = FakeTree::new();
        t.file("/proc/sys/net/ipv4/ip_forward", "0\n");
        write_sysctl(&t.root(), "net.ipv4.ip_forward", "1").unwrap();
        assert_eq!(
            t.root()
                .read_value("/proc/sys/net/ipv4/ip_forward")
                .unwrap(),
            "1"
        );
        assert!(write_sysctl(&t.root(), "net.nope", "1").is_err());
    }
}
