//! The `env` and `modules` reports: everything the probes found, as
//! `serde::Serialize` structs (the `--json` output; schemas in
//! `docs/host-reports.md`) and as plain text for people.

use super::alternatives::{probe_alternatives, AlternativesReport, IptablesVariant};
use super::backends::{BackendReport, Verdict};
use super::bridges::{probe_bridges, BridgesReport};
use super::dockerd::{probe_dockerd, DockerdReport};
use super::firewalld::{probe_firewalld, FirewalldReport};
use super::modules::index::Compression;
use super::modules::load::{loading_unavailable, ModuleSyscalls};
use super::modules::state::{probe_required, ModuleIndex, ModuleState, ModuleStatus};
use super::modules::NeededBy;
use super::netns::not_enough_privilege;
use super::privileges::{probe_privileges, Capability, Privileges};
use super::process::own_netns;
use super::root::HostRoot;
use super::rootless::{probe_rootless, RootlessReport};
use super::sysctl::{probe_sysctls, Sysctl};
use super::ufw::{probe_ufw, UfwReport};
use super::wsl::{probe_wsl, WslReport};
use serde::Serialize;
use std::fmt::Write as _;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// One conclusion drawn from the probes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Stable identifier (`ip-forward-off`, `daemon-json-invalid`, …).
    pub code: &'static str,
    pub message: String,
}

/// `nfdoctor env`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvReport {
    /// `"nfdoctor.env/1"`.
    pub schema: &'static str,
    pub kernel_release: Option<String>,
    /// False when read from a fake root (tests).
    pub live: bool,
    /// The network namespace probed (`net:[…]`).
    pub netns: Option<String>,
    pub privileges: Privileges,
    pub wsl: WslReport,
    pub rootless: RootlessReport,
    pub sysctls: Vec<Sysctl>,
    pub bridges: BridgesReport,
    pub firewalld: FirewalldReport,
    pub ufw: UfwReport,
    pub alternatives: AlternativesReport,
    pub dockerd: DockerdReport,
    /// Which back end holds the rules, per family (IPv4, then IPv6); empty
    /// until [`EnvReport::add_backends`] (the kernel's rules are not part of
    /// a fake root).
    pub backends: Vec<BackendReport>,
    pub findings: Vec<Finding>,
}

/// Inputs of the env probe that do not come from the root.
#[derive(Debug, Clone, Default)]
pub struct EnvOptions {
    /// The caller's `$XDG_RUNTIME_DIR`.
    pub xdg_runtime_dir: Option<String>,
}

impl EnvOptions {
    /// From this process's environment.
    pub fn from_env() -> Self {
        EnvOptions {
            xdg_runtime_dir: std::env::var("XDG_RUNTIME_DIR").ok(),
        }
    }
}

/// Runs every env probe.
pub fn collect_env(root: &HostRoot, opts: &EnvOptions) -> EnvReport {
    let bridges = probe_bridges(root);
    let bridge_names: Vec<String> = bridges
        .bridges
        .iter()
        .filter(|b| b.docker)
        .map(|b| b.name.clone())
        .collect();
    let mut r = EnvReport {
        schema: "nfdoctor.env/1",
        kernel_release: root.kernel_release(),
        live: root.is_live(),
        netns: own_netns(root),
        privileges: probe_privileges(root),
        wsl: probe_wsl(root),
        rootless: probe_rootless(root, opts.xdg_runtime_dir.as_deref()),
        sysctls: probe_sysctls(root, &bridge_names),
        bridges,
        firewalld: probe_firewalld(root),
        ufw: probe_ufw(root),
        alternatives: probe_alternatives(root),
        dockerd: probe_dockerd(root),
        backends: Vec::new(),
        findings: Vec::new(),
    };
    r.findings = env_findings(&r);
    r
}

fn env_findings(r: &EnvReport) -> Vec<Finding> {
    let mut f = Vec::new();
    let mut add = |severity, code, message: String| {
        f.push(Finding {
            severity,
            code,
            message,
        })
    };
    if r.privileges.net_admin_over_netns == Some(false) {
        add(
            Severity::Error,
            "no-net-admin",
            not_enough_privilege(
                Capability::CapNetAdmin,
                "reading and repairing netfilter rules",
                Some(&r.privileges),
            ),
        );
    }
    if r.wsl.version == Some(1) {
        add(
            Severity::Error,
            "wsl1",
            "WSL 1 has no Linux kernel and no netfilter: Docker's networking cannot work; use WSL 2".into(),
        );
    } else if r.wsl.is_wsl {
        add(
            Severity::Info,
            "wsl2",
            "running under WSL 2: the kernel is Microsoft's; missing netfilter features need a different WSL kernel, not modprobe".into(),
        );
    }
    for d in &r.dockerd.daemons {
        for e in &d.startup_errors {
            add(
                Severity::Error,
                "dockerd-config",
                format!("{}: {e}", d.origin),
            );
        }
        let get = |n: &str| d.settings.iter().find(|s| s.name == n);
        if let Some(s) = get("iptables").filter(|s| s.value == "false") {
            add(
                Severity::Warning,
                "iptables-disabled",
                format!(
                    "{}: iptables=false (from {:?}): Docker does not create or repair its rules; published ports and outbound NAT need rules made by hand",
                    d.origin, s.source
                ),
            );
        }
        if let Some(s) = get("firewall-backend").filter(|s| s.value == "nftables") {
            add(
                Severity::Info,
                "nftables-backend",
                format!("{}: firewall-backend=nftables (from {:?}): Docker's rules are in the nf_tables tables ip/ip6 docker-bridges", d.origin, s.source),
            );
        }
    }
    let forward = r.sysctls.iter().find(|s| s.name == "net.ipv4.ip_forward");
    if forward.and_then(|s| s.value.as_deref()) == Some("0") {
        add(
            Severity::Warning,
            "ip-forward-off",
            "net.ipv4.ip_forward is 0: containers cannot reach the outside (Docker sets it at start unless --ip-forward=false)".into(),
        );
    }
    if r.sysctls.iter().any(|s| {
        s.name == "net.bridge.bridge-nf-call-iptables" && s.error.as_deref() == Some("absent")
    }) {
        add(
            Severity::Info,
            "br-netfilter-absent",
            "net.bridge.bridge-nf-call-iptables is absent: br_netfilter is not loaded (Docker loads it when it needs it, e.g. icc=false)".into(),
        );
    }
    if r.firewalld.running {
        let zone = if r.firewalld.docker_zone.is_some() {
            "its docker zone is configured"
        } else {
            "no docker zone in its permanent config yet"
        };
        add(
            Severity::Info,
            "firewalld",
            format!(
                "firewalld runs (backend {}): Docker sends its iptables calls through firewalld, and a firewalld reload removes Docker's rules until Docker re-applies them; {zone}",
                r.firewalld.backend.as_deref().unwrap_or("unknown")
            ),
        );
    }
    if r.ufw.enabled && r.ufw.default_forward_policy.as_deref() == Some("DROP") {
        add(
            Severity::Info,
            "ufw-forward-drop",
            "ufw is enabled with DEFAULT_FORWARD_POLICY=DROP: container traffic relies on Docker's own ACCEPT rules".into(),
        );
    }
    for i in &r.rootless.instances {
        add(Severity::Info, "rootless", i.rules_location.clone());
    }
    if matches!(
        r.alternatives.variant,
        IptablesVariant::Absent | IptablesVariant::Unknown
    ) && !r.dockerd.processes.is_empty()
    {
        add(
            Severity::Warning,
            "iptables-command",
            format!(
                "the iptables command Docker runs is {:?} ({}): Docker's iptables backend needs a working iptables in PATH",
                r.alternatives.variant,
                r.alternatives.iptables.chain.join(" -> ")
            ),
        );
    }
    f
}

/// Whether modules can be loaded here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loading {
    pub available: bool,
    /// Why not, in one clear paragraph.
    pub reason: Option<String>,
}

/// Whether each rule path has what it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathReadiness {
    /// Every module it needs is built in or loaded.
    pub ready: bool,
    /// Modules that are on disk but not loaded (autoload or
    /// `modules load` brings them).
    pub loadable: Vec<String>,
    pub missing: Vec<String>,
    pub unknown: Vec<String>,
}

/// `nfdoctor modules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModulesReport {
    /// `"nfdoctor.modules/1"`.
    pub schema: &'static str,
    pub kernel_release: Option<String>,
    pub module_dir: Option<String>,
    pub config_source: Option<String>,
    /// `CONFIG_MODULES` (or `/proc/modules` present); `None` unknown.
    pub module_support: Option<bool>,
    /// `/proc/sys/kernel/modules_disabled`.
    pub modules_disabled: Option<bool>,
    pub loading: Loading,
    pub legacy: PathReadiness,
    pub nft: PathReadiness,
    pub modules: Vec<ModuleStatus>,
    pub errors: Vec<String>,
}

/// Runs the module probe. `sys` (the live kernel, or a fake) is asked
/// whether loading can work; without it only files decide.
pub fn collect_modules(
    root: &HostRoot,
    sys: Option<&mut dyn ModuleSyscalls>,
    privileges: Option<&Privileges>,
) -> ModulesReport {
    let idx = ModuleIndex::load(root);
    let modules = probe_required(root, &idx);
    let modules_disabled = root
        .read_value("/proc/sys/kernel/modules_disabled")
        .ok()
        .map(|v| v == "1");
    let mut reason = loading_unavailable(&idx, sys, privileges);
    if reason.is_none() && modules_disabled == Some(true) {
        reason = Some(
            "module loading is switched off until reboot (/proc/sys/kernel/modules_disabled = 1)"
                .into(),
        );
    }
    if reason.is_none() {
        if let Some(p) = privileges.filter(|p| !p.can_load_modules) {
            reason = Some(not_enough_privilege(
                Capability::CapSysModule,
                "loading kernel modules",
                Some(p),
            ));
        }
    }
    if reason.is_none() && idx.module_dir.is_none() {
        reason = Some(format!(
            "no module directory for kernel {} (/lib/modules/{0} is missing): there are no module files to load",
            idx.kernel_release.as_deref().unwrap_or("?")
        ));
    }
    let readiness = |path: NeededBy| {
        let mine: Vec<&ModuleStatus> = modules
            .iter()
            .filter(|m| m.needed_by == path || m.needed_by == NeededBy::Both)
            .collect();
        let pick = |s: ModuleState| -> Vec<String> {
            mine.iter()
                .filter(|m| m.state == s)
                .map(|m| m.name.clone())
                .collect()
        };
        PathReadiness {
            ready: mine
                .iter()
                .all(|m| matches!(m.state, ModuleState::BuiltIn | ModuleState::Loaded)),
            loadable: pick(ModuleState::Available),
            missing: pick(ModuleState::Missing),
            unknown: pick(ModuleState::Unknown),
        }
    };
    ModulesReport {
        schema: "nfdoctor.modules/1",
        kernel_release: idx.kernel_release.clone(),
        module_dir: idx.module_dir.clone(),
        config_source: idx.config_source.clone(),
        module_support: idx.kernel_has_modules(),
        modules_disabled,
        loading: Loading {
            available: reason.is_none(),
            reason,
        },
        legacy: readiness(NeededBy::Legacy),
        nft: readiness(NeededBy::Nft),
        modules,
        errors: idx.errors.clone(),
    }
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

impl ModulesReport {
    /// Plain text for people.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "Kernel {}   module support: {}   config: {}   module directory: {}",
            self.kernel_release.as_deref().unwrap_or("?"),
            yes_no(self.module_support),
            self.config_source.as_deref().unwrap_or("none found"),
            self.module_dir.as_deref().unwrap_or("none")
        );
        let _ = writeln!(o);
        let _ = writeln!(o, "{:<16} {:<7} {:<10} EVIDENCE", "MODULE", "PATH", "STATE");
        for m in &self.modules {
            let state = match m.state {
                ModuleState::BuiltIn => "built-in",
                ModuleState::Loaded => "loaded",
                ModuleState::Available => "on disk",
                ModuleState::Missing => "MISSING",
                ModuleState::Unknown => "unknown",
            };
            let mut ev = m.evidence.clone();
            if let Some(p) = &m.provided_by {
                ev = format!("provided by {p}; {ev}");
            }
            if let Some(c) = m.compression.filter(|c| *c != Compression::None) {
                ev = format!("{ev} ({c:?} compressed)");
            }
            let path = match m.needed_by {
                NeededBy::Legacy => "legacy",
                NeededBy::Nft => "nft",
                NeededBy::Both => "both",
            };
            let _ = writeln!(o, "{:<16} {:<7} {:<10} {ev}", m.name, path, state);
        }
        let _ = writeln!(o);
        for (name, r) in [
            ("iptables-legacy", &self.legacy),
            ("iptables-nft / nftables", &self.nft),
        ] {
            let mut line = format!("{name}: {}", if r.ready { "ready" } else { "not ready" });
            if !r.loadable.is_empty() {
                line.push_str(&format!("; loadable: {}", r.loadable.join(", ")));
            }
            if !r.missing.is_empty() {
                line.push_str(&format!("; missing: {}", r.missing.join(", ")));
            }
            if !r.unknown.is_empty() {
                line.push_str(&format!("; unknown: {}", r.unknown.join(", ")));
            }
            let _ = writeln!(o, "{line}");
        }
        match &self.loading.reason {
            None => {
                let _ = writeln!(
                    o,
                    "Loading modules: available (nfdoctor modules load NAME…)"
                );
            }
            Some(r) => {
                let _ = writeln!(o, "Loading modules: unavailable: {r}");
            }
        }
        for e in &self.errors {
            let _ = writeln!(o, "error: {e}");
        }
        o
    }
}

impl EnvReport {
    /// Adds what the back ends hold (`host::backends::detect`), with a
    /// finding for each conflict between them.
    pub fn add_backends(&mut self, reports: Vec<BackendReport>) {
        for b in &reports {
            if b.verdict == Verdict::Both {
                self.findings.push(Finding {
                    severity: Severity::Warning,
                    code: "backend-split",
                    message: format!(
                        "{}: both the nf_tables and the legacy back end hold iptables rules ({} and {}); \
                         both run for every packet",
                        b.family, b.nft.rules, b.legacy.rules
                    ),
                });
            }
            for c in &b.conflicts {
                self.findings.push(Finding {
                    severity: Severity::Error,
                    code: c.code,
                    message: format!("{}: {}", b.family, c.message),
                });
            }
        }
        self.backends = reports;
    }

    /// Plain text for people.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let p = &self.privileges;
        let _ = writeln!(
            o,
            "Kernel {}{}   network namespace {}",
            self.kernel_release.as_deref().unwrap_or("?"),
            if self.wsl.is_wsl {
                format!(" (WSL {})", self.wsl.version.unwrap_or(2))
            } else {
                String::new()
            },
            self.netns.as_deref().unwrap_or("?")
        );
        let _ = writeln!(
            o,
            "Privileges: {} (euid {}), user namespace: {}, CAP_NET_ADMIN over this netns: {}, can load modules: {}",
            if p.root { "root" } else { "not root" },
            p.euid.map(|u| u.to_string()).unwrap_or_else(|| "?".into()),
            match p.initial_user_namespace {
                Some(true) => "initial (host)",
                Some(false) => "non-initial (capabilities are scoped to it)",
                None => "unknown",
            },
            yes_no(p.net_admin_over_netns),
            if p.can_load_modules { "yes" } else { "no" }
        );
        let _ = writeln!(o, "\nSysctls:");
        for s in &self.sysctls {
            let v = s
                .value
                .clone()
                .unwrap_or_else(|| format!("({})", s.error.as_deref().unwrap_or("?")));
            let mark = match s.as_expected {
                Some(false) => format!("   expected {}", s.expected),
                _ => String::new(),
            };
            let _ = writeln!(o, "  {:<40} {v}{mark}", s.name);
        }
        let _ = writeln!(o, "\nBridges:");
        if let Some(e) = &self.bridges.error {
            let _ = writeln!(o, "  not listed: {e}");
        } else if self.bridges.bridges.is_empty() {
            let _ = writeln!(o, "  none");
        }
        for b in &self.bridges.bridges {
            let addrs: Vec<&str> = b
                .ipv4
                .iter()
                .chain(b.ipv6.iter())
                .map(String::as_str)
                .collect();
            let members: Vec<&str> = b.members.iter().map(|m| m.name.as_str()).collect();
            let _ = writeln!(
                o,
                "  {:<16} {:<5} {}{}  members: {}",
                b.name,
                if b.up { "up" } else { "DOWN" },
                if addrs.is_empty() {
                    "no address".to_string()
                } else {
                    addrs.join(" ")
                },
                if b.docker { "" } else { "  (not Docker's)" },
                if members.is_empty() {
                    "none".to_string()
                } else {
                    members.join(", ")
                }
            );
        }
        let _ = writeln!(o, "\nDocker daemon:");
        if self.dockerd.processes.is_empty() {
            let _ = writeln!(o, "  no dockerd process");
        }
        for d in &self.dockerd.daemons {
            let settings: Vec<String> = d
                .settings
                .iter()
                .map(|s| format!("{}={}", s.name, s.value))
                .collect();
            let elsewhere = d
                .pid
                .and_then(|pid| self.dockerd.processes.iter().find(|p| p.pid == pid))
                .is_some_and(|p| p.same_netns == Some(false));
            let _ = writeln!(
                o,
                "  {}{}{}: {}",
                d.origin,
                if d.rootless { " (rootless)" } else { "" },
                if elsewhere {
                    " (in another network namespace)"
                } else {
                    ""
                },
                settings.join(" ")
            );
            let cfg = &d.config;
            let _ = writeln!(
                o,
                "    config {}: {}",
                cfg.path,
                if !cfg.present {
                    "absent".to_string()
                } else if let Some(e) = &cfg.parse_error {
                    format!(
                        "INVALID at line {}, column {}: {}",
                        e.line, e.column, e.message
                    )
                } else {
                    "valid".to_string()
                }
            );
        }
        if let Some(u) = &self.dockerd.unit.unit_file {
            let _ = writeln!(
                o,
                "  unit {u}{}",
                if self.dockerd.unit.dropins.is_empty() {
                    String::new()
                } else {
                    format!(" + {}", self.dockerd.unit.dropins.join(", "))
                }
            );
        }
        let _ = writeln!(o, "\nFirewalls and tools:");
        let _ = writeln!(
            o,
            "  firewalld: {}",
            if self.firewalld.running {
                format!(
                    "running (pid {}), backend {}",
                    self.firewalld
                        .pids
                        .iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                    self.firewalld.backend.as_deref().unwrap_or("?")
                )
            } else {
                "not running".into()
            }
        );
        let _ = writeln!(
            o,
            "  ufw: {}",
            if self.ufw.enabled {
                "enabled"
            } else if self.ufw.installed {
                "installed, disabled"
            } else {
                "not installed"
            }
        );
        let _ = writeln!(
            o,
            "  iptables command: {:?} ({})",
            self.alternatives.variant,
            self.alternatives.iptables.chain.join(" -> ")
        );
        let _ = writeln!(
            o,
            "  rootless Docker: {}",
            if self.rootless.detected {
                "detected"
            } else {
                "not found"
            }
        );
        if !self.backends.is_empty() {
            let _ = writeln!(o, "\nBack ends:");
        }
        for b in &self.backends {
            let side = |s: &super::backends::BackendSide| {
                if let Some(e) = &s.error {
                    format!("not readable ({e})")
                } else {
                    format!("{} rules in [{}]", s.rules, s.tables.join(", "))
                }
            };
            let _ = writeln!(
                o,
                "  {}: nf_tables {}; legacy {}; Docker's chains: {}{}",
                b.family,
                side(&b.nft),
                side(&b.legacy),
                b.docker_backend
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "none".into()),
                if b.docker_nftables_table {
                    "; Docker 29's nftables table docker-bridges"
                } else {
                    ""
                }
            );
        }
        if !self.findings.is_empty() {
            let _ = writeln!(o, "\nFindings:");
            for f in &self.findings {
                let _ = writeln!(o, "  [{:?}] {}", f.severity, f.message);
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::modules::decompress::tests::gzip;
    use crate::host::root::testing::FakeTree;

    #[test]
    fn modules_on_a_kernel_without_module_support() {
        let t = FakeTree::new();
        t.file("/proc/sys/kernel/osrelease", "6.18.44-test\n").file(
            "/proc/config.gz",
            gzip(b"# CONFIG_MODULES is not set\nCONFIG_NF_TABLES=y\nCONFIG_NETFILTER_XTABLES=y\n"),
        );
        let r = collect_modules(&t.root(), None, None);
        assert_eq!(r.module_support, Some(false));
        assert!(!r.loading.available);
        assert!(r
            .loading
            .reason
            .as_deref()
            .unwrap()
            .contains("CONFIG_MODULES is not set"));
        let nf = r.modules.iter().find(|m| m.name == "nf_tables").unwrap();
        assert_eq!(nf.state, ModuleState::BuiltIn);
        assert!(!r.nft.ready);
        assert!(r.nft.missing.contains(&"nft_compat".to_string()));
        let text = r.render();
        assert!(text.contains("nf_tables") && text.contains("built-in"));
        assert!(text.contains("Loading modules: unavailable"));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["schema"], "nfdoctor.modules/1");
        assert_eq!(json["modules"][0]["state"], "missing");
    }

    #[test]
    fn modules_on_a_modular_host() {
        let t = crate::host::modules::state::tests::modular_tree();
        t.file("/proc/sys/kernel/modules_disabled", "0\n");
        let r = collect_modules(&t.root(), None, None);
        assert!(r.loading.available, "{:?}", r.loading.reason);
        assert!(r.nft.loadable.contains(&"nft_compat".to_string()));
        t.file("/proc/sys/kernel/modules_disabled", "1\n");
        let r = collect_modules(&t.root(), None, None);
        assert!(r.loading.reason.unwrap().contains("modules_disabled"));
    }

    #[test]
    fn env_on_a_fake_firewalld_host() {
        let t = FakeTree::new();
        t.file(
            "/proc/sys/kernel/osrelease",
            "5.15.153.1-microsoft-standard-WSL2\n",
        )
        .file(
            "/proc/self/status",
            "Uid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\n",
        )
        .file("/proc/self/uid_map", "0 0 4294967295\n")
        .file("/proc/sys/net/ipv4/ip_forward", "0\n")
        .process(
            500,
            "firewalld",
            &["/usr/bin/python3", "/usr/sbin/firewalld", "--nofork"],
            0,
        )
        .file(
            "/etc/firewalld/firewalld.conf",
            "FirewallBackend=nftables\n",
        )
        .process(600, "dockerd", &["/usr/bin/dockerd", "--iptables=false"], 0)
        .file("/etc/docker/daemon.json", "{\"iptables\": tru}");
        let r = collect_env(&t.root(), &EnvOptions::default());
        assert!(!r.live);
        assert!(r.wsl.is_wsl);
        assert!(r.firewalld.running);
        let codes: Vec<&str> = r.findings.iter().map(|f| f.code).collect();
        for c in [
            "wsl2",
            "dockerd-config",
            "iptables-disabled",
            "ip-forward-off",
            "firewalld",
            "iptables-command",
        ] {
            assert!(codes.contains(&c), "{c} missing from {codes:?}");
        }
        let text = r.render();
        assert!(
            text.contains("firewalld: running (pid 500), backend nftables"),
            "{text}"
        );
        assert!(text.contains("INVALID at line 1"), "{text}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["schema"], "nfdoctor.env/1");
        assert_eq!(json["dockerd"]["processes"][0]["flags"]["iptables"], false);
        assert_eq!(json["firewalld"]["ruleset"], serde_json::Value::Null);
    }

    #[test]
    fn garbage_everywhere_does_not_panic() {
        // Pseudo-random bytes (a fixed LCG) in every file the probes read.
        let mut x: u32 = 12345;
        let mut junk = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect()
        };
        let t = FakeTree::new();
        t.file("/proc/sys/kernel/osrelease", "6.1.0-junk\n");
        for f in [
            "/proc/self/status",
            "/proc/self/uid_map",
            "/proc/modules",
            "/proc/config.gz",
            "/proc/version",
            "/proc/1/comm",
            "/proc/1/cmdline",
            "/proc/1/status",
            "/proc/1/environ",
            "/proc/sys/net/ipv4/ip_forward",
            "/lib/modules/6.1.0-junk/modules.dep",
            "/lib/modules/6.1.0-junk/modules.alias",
            "/lib/modules/6.1.0-junk/modules.builtin",
            "/lib/modules/6.1.0-junk/modules.builtin.modinfo",
            "/boot/config-6.1.0-junk",
            "/etc/docker/daemon.json",
            "/etc/firewalld/firewalld.conf",
            "/etc/firewalld/zones/docker.xml",
            "/etc/ufw/ufw.conf",
            "/etc/default/ufw",
            "/etc/ufw/after.rules",
            "/lib/systemd/system/docker.service",
            "/run/user/1000/dockerd-rootless/child_pid",
        ] {
            t.file(f, junk(4096));
        }
        t.file("/proc/1/comm", "dockerd\n")
            .file("/proc/2/comm", "firewalld\n");
        t.file("/proc/2/cmdline", junk(100));
        let r = collect_env(&t.root(), &EnvOptions::default());
        let _ = r.render();
        let _ = serde_json::to_string(&r).unwrap();
        let m = collect_modules(&t.root(), None, None);
        let _ = m.render();
        let plan = crate::host::modules::load::plan_load(
            &crate::host::modules::state::ModuleIndex::load(&t.root()),
            &["*".into(), "[".into(), "".into()],
        );
        let _ = serde_json::to_string(&plan).unwrap();
    }

    #[test]
    fn env_on_this_host_does_not_fail() {
        let r = collect_env(&HostRoot::live(), &EnvOptions::from_env());
        assert!(r.live);
        assert!(r.kernel_release.is_some());
        let _ = r.render();
        let m = collect_modules(
            &HostRoot::live(),
            Some(&mut crate::host::modules::load::KernelSyscalls),
            Some(&r.privileges),
        );
        let _ = m.render();
    }
}
