//! ufw: whether it is enabled (its config; ufw is not a daemon), its
//! forward policy, and whether its rules files mention Docker. Whether its
//! chains (`ufw-*`) are in the kernel needs the rule reader:
//! [`UfwReport::chains`] is the hook.

use super::root::HostRoot;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UfwReport {
    /// `/etc/ufw/ufw.conf` exists.
    pub installed: bool,
    /// `ENABLED=yes` in `/etc/ufw/ufw.conf`.
    pub enabled: bool,
    /// `DEFAULT_FORWARD_POLICY` of `/etc/default/ufw` (`DROP` blocks
    /// container traffic unless Docker's own rules accept it first).
    pub default_forward_policy: Option<String>,
    /// `/etc/ufw/after.rules` has `DOCKER-USER` rules (the "ufw-docker"
    /// recipe).
    pub after_rules_mention_docker_user: bool,
    /// Filled by the rule reader: the `ufw-*` chains present in the kernel.
    pub chains: Option<Vec<String>>,
}

fn conf_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_string())
}

pub fn probe_ufw(root: &HostRoot) -> UfwReport {
    let conf = root.read_string("/etc/ufw/ufw.conf").ok();
    let enabled = conf
        .as_deref()
        .and_then(|c| conf_value(c, "ENABLED"))
        .is_some_and(|v| v.eq_ignore_ascii_case("yes"));
    let default_forward_policy = root
        .read_string("/etc/default/ufw")
        .ok()
        .and_then(|t| conf_value(&t, "DEFAULT_FORWARD_POLICY"));
    let after = root.read_string("/etc/ufw/after.rules").unwrap_or_default();
    UfwReport {
        installed: conf.is_some(),
        enabled,
        default_forward_policy,
        after_rules_mention_docker_user: after
            .lines()
            .any(|l| !l.trim_start().starts_with('#') && l.contains("DOCKER-USER")),
        chains: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::root::testing::FakeTree;

    #[test]
    fn enabled_with_drop_forward() {
        let t = FakeTree::new();
        t.file(
            "/etc/ufw/ufw.conf",
            "# ufw.conf\nENABLED=yes\nLOGLEVEL=low\n",
        )
        .file(
            "/etc/default/ufw",
            "IPV6=yes\nDEFAULT_FORWARD_POLICY=\"DROP\"\n",
        )
        .file(
            "/etc/ufw/after.rules",
            "*filter\n:DOCKER-USER - [0:0]\n-A DOCKER-USER -j ufw-user-forward\nCOMMIT\n",
        );
        let r = probe_ufw(&t.root());
        assert!(r.installed && r.enabled && r.after_rules_mention_docker_user);
        assert_eq!(r.default_forward_policy.as_deref(), Some("DROP"));
        let t = FakeTree::new();
        t.file("/etc/ufw/ufw.conf", "ENABLED=no\n");
        let r = probe_ufw(&t.root());
        assert!(r.installed && !r.enabled && r.default_forward_policy.is_none());
    }
}
