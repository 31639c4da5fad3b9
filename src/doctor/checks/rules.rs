//! Docker's chains and rules against what the running Docker version must
//! have for its networks and containers: missing chains, missing jumps,
//! masquerading, and per published port the DNAT, filter ACCEPT, raw DROP
//! and hairpin MASQUERADE; rules pointing at a container's old address;
//! FORWARD dropping what Docker's missing rules would accept.

use super::backend::command_backend;
use crate::backend::revisions::KernelRevisions;
use crate::backend::Backend;
use crate::docker::rules::{
    expected, expected_for, fingerprint_families, Expected, FirewallBackend, Judgement, RuleKind,
};
use crate::docker::DockerState;
use crate::doctor::facts::Facts;
use crate::doctor::finding::{Finding, Severity};
use crate::doctor::report::{counted, Scope};
use crate::ruleset::{Policy, Ruleset, Table};
use crate::xt::revision::Revisions;
use crate::Family;
use std::collections::BTreeMap;

/// The back end Docker's rules of `family` are in, or would be written to.
pub fn docker_backend(facts: &Facts, family: Family) -> Backend {
    facts
        .backend_report(family)
        .and_then(|b| b.docker_backend)
        .or_else(|| {
            // Docker's chains in one family say where the other's go.
            facts.backends.iter().find_map(|b| b.docker_backend)
        })
        .or_else(|| command_backend(facts))
        .unwrap_or(Backend::Nft)
}

/// The rules Docker must have, per family, and where its version came
/// from. Built once per run: on a host with thousands of published ports
/// building them costs more than reading the kernel's rules.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    pub families: Vec<Expected>,
    /// What the report's scope says about Docker's version.
    pub docker_version: Option<String>,
    pub version_source: Option<&'static str>,
    pub generation: Option<String>,
    /// Some extension's revision was not asked of the kernel, whose module
    /// is not loaded ([`Asking::Registered`]).
    pub revisions_unasked: bool,
}

impl Expectations {
    fn new(families: Vec<Expected>, version: String, source: &'static str) -> Expectations {
        Expectations {
            generation: families
                .first()
                .and_then(|e| e.generation)
                .map(|g| g.releases().to_string()),
            docker_version: Some(version),
            version_source: Some(source),
            families,
            revisions_unasked: false,
        }
    }

    fn describe(&self, scope: &mut Scope) {
        scope.docker_version.clone_from(&self.docker_version);
        scope.version_source = self.version_source;
        scope.generation.clone_from(&self.generation);
    }
}

/// The rules Docker must have for the state the Engine API told, with its
/// version (they depend on nothing else); `None` without a version.
pub fn expectations_from_api(state: &DockerState) -> Option<Expectations> {
    let v = state.version?;
    if !state.options.iptables {
        return Some(Expectations::default());
    }
    let families = Family::ALL.iter().map(|&f| expected(state, f)).collect();
    Some(Expectations::new(families, v.to_string(), "Engine API"))
}

/// Whom [`adapt_to_kernel`] may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asking {
    /// Only about extensions the kernel has registered: asking about
    /// another loads its module, and a check changes nothing.
    Registered,
    /// About every extension (a fix writes them).
    Everything,
}

/// Puts each expected match and target at the revision this kernel has,
/// which is the one Docker's `iptables` chose (DNAT's newest is missing
/// before Linux 4.18). The kernel is asked once per extension and revision
/// above 0, not per rule.
pub fn adapt_to_kernel(expected: &mut Expectations, asking: Asking) {
    let mut unasked = false;
    for e in &mut expected.families {
        let kernel = match asking {
            Asking::Registered => KernelRevisions::registered_only(e.family),
            Asking::Everything => KernelRevisions::new(e.family),
        };
        let mut revisions = Revisions::new(kernel);
        e.adapt_revisions(&mut revisions);
        unasked |= revisions.probe().unasked;
    }
    expected.revisions_unasked = unasked;
}

/// The rules Docker must have: for the Engine API's state, else for the
/// Docker generation the live rules' fingerprint shows.
pub fn expectations(facts: &Facts) -> Expectations {
    let mut e = expectations_at_newest_revisions(facts);
    adapt_to_kernel(&mut e, Asking::Registered);
    e
}

fn expectations_at_newest_revisions(facts: &Facts) -> Expectations {
    let mut state = match &facts.docker {
        Ok(s) => {
            if let Some(e) = expectations_from_api(s) {
                return e;
            }
            if !s.options.iptables {
                return Expectations::default();
            }
            s.clone()
        }
        Err(_) => DockerState::default(),
    };
    let tables = |family: Family| -> Vec<Table> {
        let b = docker_backend(facts, family);
        facts
            .ruleset(b, family)
            .and_then(|r| r.result.as_ref().ok())
            .map(|rs| rs.tables.clone())
            .unwrap_or_default()
    };
    let Some(fp) = fingerprint_families(&tables(Family::Ipv4), &tables(Family::Ipv6)) else {
        return Expectations::default();
    };
    if let Some(p) = fp.userland_proxy {
        state.options.userland_proxy = p;
    }
    if let Some(v6) = fp.ip6tables {
        state.options.ip6tables = v6;
    }
    let families = Family::ALL
        .iter()
        .map(|&f| expected_for(&state, f, fp.generation))
        .collect();
    let version = fp.generation.releases().to_string();
    Expectations::new(families, version, "ruleset fingerprint")
}

/// What is missing, grouped by finding.
#[derive(Default)]
struct Missing {
    /// finding id → evidence lines
    by_id: BTreeMap<&'static str, Vec<String>>,
}

impl Missing {
    fn add(&mut self, id: &'static str, line: String) {
        self.by_id.entry(id).or_default().push(line);
    }
}

fn missing_id(kind: Option<&RuleKind>) -> &'static str {
    match kind {
        Some(RuleKind::NatJump) => "nat-jump-missing",
        Some(RuleKind::Jump { .. }) | Some(RuleKind::BridgeJump { .. }) => "docker-jump-missing",
        Some(RuleKind::SubnetMasquerade { .. }) => "masquerade-missing",
        Some(RuleKind::Dnat { .. }) => "dnat-missing",
        Some(RuleKind::PortAccept { .. }) => "port-accept-missing",
        Some(RuleKind::RawDirectDrop { .. }) | Some(RuleKind::RawLoopbackDrop { .. }) => {
            "raw-drop-missing"
        }
        Some(RuleKind::SelfMasquerade { .. }) | Some(RuleKind::HostMasquerade { .. }) => {
            "hairpin-masquerade-missing"
        }
        Some(RuleKind::Conntrack { .. })
        | Some(RuleKind::Outgoing { .. })
        | Some(RuleKind::Icc { .. }) => "forward-accept-missing",
        _ => "docker-rule-missing",
    }
}

fn missing_finding(id: &'static str, family: Family, count: usize) -> Finding {
    let (severity, title) = match id {
        "nat-jump-missing" => (
            Severity::Error,
            format!("{family}: nat PREROUTING/OUTPUT no longer send traffic to Docker's DOCKER chain: no published port answers"),
        ),
        "docker-jump-missing" => (
            Severity::Error,
            format!("{family}: jumps between Docker's chains are missing: container traffic skips Docker's rules"),
        ),
        "masquerade-missing" => (
            Severity::Error,
            format!("{family}: a bridge network's MASQUERADE rule is missing: its containers cannot reach the outside"),
        ),
        "dnat-missing" => (
            Severity::Error,
            format!("{family}: {} without a DNAT rule: no answer on them (or only through docker-proxy)", counted(count, "published port")),
        ),
        "port-accept-missing" => (
            Severity::Error,
            format!("{family}: {} without a filter ACCEPT in DOCKER: forwarded connections are dropped", counted(count, "published port")),
        ),
        "raw-drop-missing" => (
            Severity::Warning,
            format!("{family}: {} missing: containers are reachable directly, bypassing port publishing", counted(count, "raw PREROUTING DROP rule")),
        ),
        "hairpin-masquerade-missing" => (
            Severity::Warning,
            format!("{family}: {} missing: containers cannot reach their own published ports via the host", counted(count, "hairpin MASQUERADE rule")),
        ),
        "forward-accept-missing" => (
            Severity::Error,
            format!("{family}: Docker's FORWARD ACCEPT rules for its bridges are missing: container traffic is not let through"),
        ),
        _ => (
            Severity::Error,
            format!("{family}: {count} of Docker's rules are missing"),
        ),
    };
    Finding::new(id, severity, title)
}

fn limit(mut lines: Vec<String>, max: usize) -> Vec<String> {
    if lines.len() > max {
        let more = lines.len() - max;
        lines.truncate(max);
        lines.push(format!("… and {more} more"));
    }
    lines
}

fn fix_command(facts: &Facts) -> String {
    let netns = if facts.env.privileges.initial_user_namespace == Some(false) {
        ""
    } else {
        "sudo "
    };
    format!("{netns}nfdoctor fix   (preview: nfdoctor fix --dry-run)")
}

/// One family's comparison.
fn compare(
    facts: &Facts,
    exp: &Expected,
    actual: &Ruleset,
    backend: Backend,
    api: bool,
    out: &mut Vec<Finding>,
) {
    let family = exp.family;
    let mut missing = Missing::default();
    let mut chains_missing: Vec<(String, String, usize)> = Vec::new();
    let mut stale: Vec<String> = Vec::new();
    let mut misordered: Vec<String> = Vec::new();
    for et in &exp.tables {
        let at = actual.tables.iter().find(|t| t.name == et.name);
        for ec in &et.chains {
            let ac = at.and_then(|t| t.chain(&ec.name));
            let Some(ac) = ac else {
                if !ec.builtin {
                    chains_missing.push((et.name.clone(), ec.name.clone(), ec.rules.len()));
                    continue;
                }
                // A built-in chain nf_tables has not created yet: all its
                // Docker rules are missing.
                for r in &ec.rules {
                    missing.add(
                        missing_id(r.kind.as_ref()),
                        format!("{}: {}  ({})", et.name, r.line, r.origin.reason()),
                    );
                }
                continue;
            };
            let present = crate::ruleset::SpecIndex::new(&ac.rules);
            for r in &ec.rules {
                // Without the API, only the daemon's own rules can be expected.
                if !api && !matches!(r.origin.source, crate::docker::rules::Source::Daemon) {
                    continue;
                }
                if present.matching(&ac.rules, |a| a, &r.rule).next().is_none() {
                    missing.add(
                        missing_id(r.kind.as_ref()),
                        format!("{}: {}  ({})", et.name, r.line, r.origin.reason()),
                    );
                }
            }
            if api {
                for a in &ac.rules {
                    if let Judgement::Stale {
                        replaced_by: Some(new),
                        ..
                    } = exp.judge(&et.name, &ec.name, a)
                    {
                        let mut text = String::new();
                        crate::docker::rules::text::printer(family).rule(&ec.name, a, &mut text);
                        stale.push(format!(
                            "{}: {}  → expected: {}",
                            et.name,
                            text.trim_end(),
                            new.line
                        ));
                    }
                }
            }
            for (i, j) in ec.misordered(&et.name, &ac.rules) {
                misordered.push(format!(
                    "{} {}: rule {} must come after rule {}",
                    et.name,
                    ec.name,
                    i + 1,
                    j + 1
                ));
            }
        }
    }
    let fix = fix_command(facts);
    for (table, chain, rules) in &chains_missing {
        let id = match (table.as_str(), chain.as_str()) {
            ("nat", "DOCKER") => "nat-docker-chain-missing",
            ("filter", "DOCKER") => "filter-docker-chain-missing",
            _ => "docker-chain-missing",
        };
        let consequence = match id {
            "nat-docker-chain-missing" => ": no published port answers, and every `docker run -p` fails with \"No chain/target/match by that name\"",
            "filter-docker-chain-missing" => ": forwarded connections to published ports are dropped, and `docker run -p` fails",
            _ => "",
        };
        out.push(
            Finding::new(
                id,
                Severity::Error,
                format!("{family}: Docker's chain {table}/{chain} is missing{consequence}"),
            )
            .evidence(format!(
                "{backend} back end, table {table}: no chain {chain} ({} expected in it)",
                counted(*rules, "rule")
            ))
            .fix(fix.clone()),
        );
    }
    for (id, lines) in missing.by_id {
        let count = lines.len();
        let mut f = missing_finding(id, family, count);
        f.evidence = limit(lines, 12);
        f.evidence
            .insert(0, format!("missing from the {backend} back end:"));
        out.push(f.fix(fix.clone()));
    }
    if !stale.is_empty() {
        let mut f = Finding::new(
            "rule-points-to-old-address",
            Severity::Error,
            format!(
                "{family}: {} pointing at an address a container no longer has",
                counted(stale.len(), "Docker rule")
            ),
        );
        f.evidence = limit(stale, 12);
        out.push(f.fix(fix.clone()));
    }
    if !misordered.is_empty() {
        let mut f = Finding::new(
            "docker-rules-misordered",
            Severity::Warning,
            format!("{family}: some of Docker's rules are in an order that changes what they do"),
        );
        f.evidence = limit(misordered, 12);
        out.push(f.fix(fix.clone()));
    }
    // FORWARD dropping what Docker's (missing) accepts would let through.
    let forward = actual
        .tables
        .iter()
        .find(|t| t.name == "filter")
        .and_then(|t| t.chain("FORWARD"))
        .and_then(|c| c.base.as_ref())
        .map(|b| b.policy);
    let accepts_missing = out.iter().any(|f| {
        f.title.starts_with(&format!("{family}:"))
            && matches!(
                f.id,
                "forward-accept-missing"
                    | "docker-jump-missing"
                    | "port-accept-missing"
                    | "filter-docker-chain-missing"
            )
    });
    if forward == Some(Policy::Drop) && accepts_missing {
        out.push(
            Finding::new(
                "forward-drop",
                Severity::Error,
                format!("{family}: FORWARD's policy is DROP and Docker's ACCEPT rules are missing: containers' traffic is dropped"),
            )
            .evidence(format!("{backend} back end: filter FORWARD policy DROP"))
            .fix(fix),
        );
    }
}

/// The published ports of `state`, one per `-p`.
fn published_ports(state: &DockerState) -> usize {
    state
        .endpoints
        .iter()
        .map(crate::docker::rules::published_port_count)
        .sum()
}

/// Judges the rules against `expected` (see [`expectations`]).
pub fn rules(facts: &Facts, expected: &Expectations, out: &mut Vec<Finding>, scope: &mut Scope) {
    let api = facts.docker.is_ok();
    if let Ok(s) = &facts.docker {
        scope.networks = s.networks.len();
        scope.containers = s
            .endpoints
            .iter()
            .map(|e| &e.container_id)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        scope.published_ports = published_ports(s);
    }
    expected.describe(scope);
    let mut backends = Vec::new();
    for exp in &expected.families {
        let family = exp.family;
        if exp.backend == FirewallBackend::Nftables {
            if let Some(report) = facts.backend_report(family) {
                if !report.docker_nftables_table
                    && exp.nft.as_ref().is_some_and(|n| n.for_family(family))
                {
                    out.push(
                        Finding::new(
                            "docker-nftables-table-missing",
                            Severity::Error,
                            format!("{family}: Docker runs with --firewall-backend=nftables but its table {} docker-bridges is missing", family.nft_name()),
                        )
                        .fix("sudo systemctl restart docker (nfdoctor does not rebuild Docker's nftables tables)"),
                    );
                }
            }
            continue;
        }
        if exp.tables.is_empty() {
            continue;
        }
        scope.rules_expected += exp
            .tables
            .iter()
            .flat_map(|t| &t.chains)
            .map(|c| c.rules.len())
            .sum::<usize>();
        let backend = docker_backend(facts, family);
        backends.push(format!("{backend} ({family})"));
        let Some(Ok(actual)) = facts.ruleset(backend, family).map(|r| r.result.as_ref()) else {
            continue;
        };
        compare(facts, exp, actual, backend, api, out);
    }
    if !backends.is_empty() {
        scope.backend = Some(backends.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::{Endpoint, PortBinding, Proto};

    #[test]
    fn a_port_listed_once_per_family_counts_once() {
        let port = |proto, ip: Option<&str>, host_port, container_port| PortBinding {
            proto,
            host_ip: ip.map(|ip| ip.parse().expect("address")),
            host_port,
            container_port,
        };
        let state = DockerState {
            endpoints: vec![Endpoint {
                container_id: "c".into(),
                container_name: "web".into(),
                network: "bridge".into(),
                ipv4: None,
                ipv6: None,
                ports: vec![
                    port(Proto::Tcp, Some("0.0.0.0"), 8080, 80),
                    port(Proto::Tcp, Some("::"), 8080, 80),
                    port(Proto::Tcp, Some("0.0.0.0"), 9090, 90),
                    port(Proto::Udp, None, 5353, 53),
                    port(Proto::Tcp, Some("127.0.0.1"), 7070, 70),
                ],
                links: Vec::new(),
            }],
            ..DockerState::default()
        };
        assert_eq!(published_ports(&state), 4);
    }
}
