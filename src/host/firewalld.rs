//! firewalld: whether it runs (from `/proc`), its configured backend, and
//! Docker's `docker` zone and `docker-forwarding` policy in its config.
//! Whether its nf_tables table or iptables chains are in the kernel needs
//! the rule reader: [`FirewalldReport::ruleset`] is the hook for that.

use super::process::{find_processes, Process};
use super::root::HostRoot;
use serde::Serialize;

/// What the rule reader found of firewalld in the kernel (filled by the
/// caller that owns a ruleset reader; `None` until then).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FirewalldRuleset {
    /// `table inet firewalld` exists (nftables backend).
    pub nft_table: bool,
    /// firewalld's iptables chains (`INPUT_direct`, `FWD_*`, …) in the
    /// legacy or iptables-nft tables (iptables backend).
    pub iptables_chains: Vec<String>,
}

/// Docker's zone, as firewalld's permanent config holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneConfig {
    pub file: String,
    /// The zone's `target` (`ACCEPT` for Docker's zone).
    pub target: Option<String>,
    pub interfaces: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirewalldReport {
    pub running: bool,
    pub pids: Vec<u32>,
    /// `FirewallBackend=` of `/etc/firewalld/firewalld.conf` (`nftables`
    /// when unset, firewalld's default since 0.6).
    pub backend: Option<String>,
    pub config_present: bool,
    /// `/etc/firewalld/zones/docker.xml`.
    pub docker_zone: Option<ZoneConfig>,
    /// `/etc/firewalld/policies/docker-forwarding.xml` exists (Docker 27+).
    pub docker_forwarding_policy: bool,
    /// Filled by the rule reader; see [`FirewalldRuleset`].
    pub ruleset: Option<FirewalldRuleset>,
}

fn is_firewalld(p: &Process) -> bool {
    // A Python script: comm is the script's name, argv[0] the interpreter.
    p.comm == "firewalld"
        || p.argv
            .iter()
            .take(3)
            .any(|a| a.rsplit('/').next() == Some("firewalld"))
}

pub fn probe_firewalld(root: &HostRoot) -> FirewalldReport {
    let procs = find_processes(root, is_firewalld);
    let conf = root.read_string("/etc/firewalld/firewalld.conf").ok();
    let backend = conf.as_deref().and_then(|c| {
        c.lines()
            .map(str::trim)
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| l.strip_prefix("FirewallBackend="))
            .map(|v| v.trim().trim_matches('"').to_string())
    });
    let zone_file = "/etc/firewalld/zones/docker.xml";
    let docker_zone = root.read_string(zone_file).ok().map(|xml| ZoneConfig {
        file: zone_file.to_string(),
        target: xml_attr(&xml, "zone", "target"),
        interfaces: xml_all_attrs(&xml, "interface", "name"),
    });
    FirewalldReport {
        running: !procs.is_empty(),
        pids: procs.iter().map(|p| p.pid).collect(),
        backend: backend.or_else(|| conf.as_ref().map(|_| "nftables".to_string())),
        config_present: conf.is_some() || root.is_dir("/etc/firewalld"),
        docker_zone,
        docker_forwarding_policy: root.exists("/etc/firewalld/policies/docker-forwarding.xml"),
        ruleset: None,
    }
}

/// The value of `attr` in the first `<tag …>` element (a tiny reader for
/// firewalld's flat XML; no entities beyond what zone files use).
fn xml_attr(xml: &str, tag: &str, attr: &str) -> Option<String> {
    xml_elements(xml, tag)
        .next()
        .and_then(|e| attr_value(e, attr))
}

fn xml_all_attrs(xml: &str, tag: &str, attr: &str) -> Vec<String> {
    xml_elements(xml, tag)
        .filter_map(|e| attr_value(e, attr))
        .collect()
}

/// The inside of each `<tag ...>` start tag.
fn xml_elements<'a>(xml: &'a str, tag: &str) -> impl Iterator<Item = &'a str> + 'a {
    let open = format!("<{tag}");
    let mut found = Vec::new();
    for (i, _) in xml.match_indices(open.as_str()) {
        let rest = &xml[i + open.len()..];
        let Some(next) = rest.chars().next() else {
            continue;
        };
        if !(next.is_whitespace() || next == '>' || next == '/') {
            continue;
        }
        if let Some(end) = rest.find('>') {
            found.push(&rest[..end]);
        }
    }
    found.into_iter()
}

fn attr_value(element: &str, attr: &str) -> Option<String> {
    let mut rest = element;
    while let Some(i) = rest.find(attr) {
        let before_ok = i == 0 || rest[..i].ends_with(char::is_whitespace);
        let after = rest[i + attr.len()..].trim_start();
        if before_ok {
            if let Some(v) = after.strip_prefix('=') {
                let v = v.trim_start();
                let q = v.chars().next()?;
                if q == '"' || q == '\'' {
                    let body = &v[1..];
                    return body.find(q).map(|end| body[..end].to_string());
                }
            }
        }
        rest = &rest[i + attr.len()..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::root::testing::FakeTree;

    #[test]
    fn running_with_docker_zone_and_policy() {
        let t = FakeTree::new();
        t.process(
            812,
            "firewalld",
            &["/usr/bin/python3", "-s", "/usr/sbin/firewalld", "--nofork", "--nopid"],
            0,
        )
        .process(900, "sshd", &["sshd: /usr/sbin/sshd -D"], 0)
        .file(
            "/etc/firewalld/firewalld.conf",
            "# comment\nDefaultZone=public\nFirewallBackend=iptables\n",
        )
        .file(
            "/etc/firewalld/zones/docker.xml",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone version=\"1.0\" target=\"ACCEPT\">\n  <short>docker</short>\n  <interface name=\"docker0\"/>\n  <interface name='br-0123456789ab'/>\n</zone>\n",
        )
        .file("/etc/firewalld/policies/docker-forwarding.xml", "<policy/>");
        let r = probe_firewalld(&t.root());
        assert!(r.running);
        assert_eq!(r.pids, [812]);
        assert_eq!(r.backend.as_deref(), Some("iptables"));
        let z = r.docker_zone.unwrap();
        assert_eq!(z.target.as_deref(), Some("ACCEPT"));
        assert_eq!(z.interfaces, ["docker0", "br-0123456789ab"]);
        assert!(r.docker_forwarding_policy);
        assert!(r.ruleset.is_none());
    }

    #[test]
    fn absent_or_default_backend() {
        let t = FakeTree::new();
        let r = probe_firewalld(&t.root());
        assert!(!r.running && !r.config_present && r.backend.is_none());
        t.file("/etc/firewalld/firewalld.conf", "DefaultZone=public\n");
        assert_eq!(
            probe_firewalld(&t.root()).backend.as_deref(),
            Some("nftables")
        );
    }

    #[test]
    fn tiny_xml_reader() {
        assert_eq!(attr_value(" a=\"1\" xa=\"2\"", "a").as_deref(), Some("1"));
        assert_eq!(attr_value(" xa=\"2\" a='3'", "a").as_deref(), Some("3"));
        assert_eq!(attr_value(" a=\"unterminated", "a"), None);
        assert_eq!(
            xml_attr("<zones><zone target=\"DROP\">", "zone", "target").as_deref(),
            Some("DROP")
        );
    }
}
