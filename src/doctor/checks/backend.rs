//! Checks on the back ends: Docker's rules in the back end its `iptables`
//! command does not use, rules split across both, and kernel modules the
//! back end in use needs.

use crate::backend::Backend;
use crate::doctor::facts::Facts;
use crate::doctor::finding::{Finding, Severity};
use crate::host::alternatives::IptablesVariant;

/// The back end Docker's `iptables` command writes to: the one along the
/// local dockerd's `PATH`, else the system's `iptables`.
pub fn command_backend(facts: &Facts) -> Option<Backend> {
    let variant = facts
        .local_dockerd_process()
        .and_then(|p| p.iptables.as_ref().map(|l| l.variant))
        .unwrap_or(facts.env.alternatives.variant);
    match variant {
        IptablesVariant::Nft => Some(Backend::Nft),
        IptablesVariant::Legacy => Some(Backend::Legacy),
        IptablesVariant::Unknown | IptablesVariant::Absent => None,
    }
}

/// How the `iptables` Docker runs resolves, for evidence.
fn command_chain(facts: &Facts) -> String {
    facts
        .local_dockerd_process()
        .and_then(|p| p.iptables.as_ref())
        .unwrap_or(&facts.env.alternatives.iptables)
        .chain
        .join(" -> ")
}

fn other(b: Backend) -> Backend {
    match b {
        Backend::Nft => Backend::Legacy,
        Backend::Legacy => Backend::Nft,
    }
}

pub fn backends(facts: &Facts, out: &mut Vec<Finding>) {
    let command = command_backend(facts);
    for report in &facts.backends {
        let fam = report.family;
        let cmd = fam.command();
        if let (Some(rules_in), Some(cmd_in)) = (report.docker_backend, command) {
            let docker_here = match rules_in {
                Backend::Nft => &report.nft.docker_chains,
                Backend::Legacy => &report.legacy.docker_chains,
            };
            let docker_there = match cmd_in {
                Backend::Nft => &report.nft.docker_chains,
                Backend::Legacy => &report.legacy.docker_chains,
            };
            if rules_in != cmd_in && docker_there.is_empty() {
                out.push(
                    Finding::new(
                        "backend-mismatch",
                        Severity::Error,
                        format!(
                            "Docker's {fam} chains are in the {rules_in} back end, but the `{cmd}` command Docker runs uses {cmd_in}: \
                             every new `docker run -p` fails with \"No chain/target/match by that name\""
                        ),
                    )
                    .evidence(format!("{rules_in}: {}", docker_here.join(", ")))
                    .evidence(format!("{cmd_in}: no Docker chains"))
                    .evidence(format!("`{cmd}` resolves to: {}", command_chain(facts)))
                    .fix(format!(
                        "point `{cmd}` back at {rules_in}: sudo update-alternatives --set iptables /usr/sbin/iptables-{rules_in} && \
                         sudo update-alternatives --set ip6tables /usr/sbin/ip6tables-{rules_in} (the running dockerd follows the \
                         link on its next call); or keep {cmd_in}: empty the stale {rules_in} rules and restart Docker, which \
                         rebuilds them in {cmd_in}"
                    ))
                );
            }
        }
        for c in &report.conflicts {
            let severity = match c.code {
                "forward-drop-defeats-accepts" | "docker-chains-split" => Severity::Error,
                _ => Severity::Warning,
            };
            let mut f = Finding::new(
                match c.code {
                    "docker-chains-split" => "backend-split",
                    "jump-to-other-backend" => "backend-jump-across",
                    "forward-drop-defeats-accepts" => "backend-forward-drop",
                    _ => "backend-conflict",
                },
                severity,
                format!("{fam}: the nf_tables and legacy back ends both hold rules that interfere"),
            )
            .evidence(c.message.clone());
            if let Some(cmd_in) = command {
                f = f.fix(format!(
                    "keep Docker's rules in {cmd_in} (what `{cmd}` uses): sudo nfdoctor fix; then empty the other back end's \
                     Docker chains (sudo {cmd}-{} -t nat -F DOCKER, etc.)",
                    other(cmd_in)
                ));
            }
            out.push(f);
        }
        if report.docker_nftables_table {
            out.push(
                Finding::new(
                    "docker-nftables-backend",
                    Severity::Info,
                    format!("{fam}: Docker 29's nftables firewall back end is in use (table {} docker-bridges)", fam.nft_name()),
                )
                .evidence("nf_tables table docker-bridges exists"),
            );
        }
    }
}

/// Kernel modules the back end in use needs.
pub fn modules(facts: &Facts, out: &mut Vec<Finding>) {
    let backend = facts
        .backends
        .iter()
        .find_map(|b| b.docker_backend)
        .or_else(|| command_backend(facts))
        .unwrap_or(Backend::Nft);
    let readiness = match backend {
        Backend::Nft => &facts.modules.nft,
        Backend::Legacy => &facts.modules.legacy,
    };
    if !readiness.missing.is_empty() {
        out.push(
            Finding::new(
                "modules-missing",
                Severity::Error,
                format!("kernel modules the {backend} back end needs are missing from this kernel"),
            )
            .evidence(format!("missing: {}", readiness.missing.join(", ")))
            .fix("install the kernel's extra modules package (e.g. linux-modules-extra-$(uname -r)) or use a kernel built with them"),
        );
    }
    if !readiness.loadable.is_empty() {
        out.push(
            Finding::new(
                "modules-not-loaded",
                Severity::Warning,
                format!("kernel modules the {backend} back end needs are not loaded (the kernel usually autoloads them)"),
            )
            .evidence(format!("on disk, not loaded: {}", readiness.loadable.join(", ")))
            .fix(format!("sudo nfdoctor modules load {} --persist", readiness.loadable.join(" "))),
        );
    }
}
