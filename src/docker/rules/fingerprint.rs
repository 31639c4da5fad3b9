//! Which Docker generation made a live ruleset (docker-rules.md §14), for
//! when the Engine API does not answer. Each test adds evidence; the
//! confidence says how much a user's own edits or an unusual configuration
//! could mislead it.

use super::generation::Generation;
use super::owner::{classify_rule, RuleKind};
use super::FirewallBackend;
use crate::ruleset::{Chain, Policy, Rule, Table, Target};
use crate::Family;
use serde::Serialize;

/// How sure a fingerprint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// A guess from weak hints (or from the absence of something).
    Low,
    /// Several hints agree, or one that a user is unlikely to fake.
    Medium,
    /// A feature only that generation has.
    High,
}

/// The generation a ruleset looks like, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fingerprint {
    pub generation: Generation,
    pub backend: FirewallBackend,
    pub confidence: Confidence,
    /// Human-readable reasons, strongest first.
    pub evidence: Vec<String>,
    /// `--userland-proxy`, as the nat OUTPUT jump to DOCKER tells it (it
    /// excludes loopback only with the proxy on); `None` without that jump.
    /// The Engine API does not report this option.
    pub userland_proxy: Option<bool>,
    /// `--ip6tables`: whether the IPv6 tables hold Docker's chains (only
    /// known from [`fingerprint_families`]).
    pub ip6tables: Option<bool>,
}

/// The proxy setting from nat OUTPUT's jump to DOCKER.
fn userland_proxy(tables: &[Table]) -> Option<bool> {
    chain(tables, "nat", "OUTPUT")?
        .rules
        .iter()
        .find(|r| jumps_to(r, "DOCKER") && r.matches.iter().any(|m| m.name == "addrtype"))
        .map(|r| r.spec.dst.invert && !r.spec.dst.is_any())
}

fn has_docker_chains(tables: &[Table]) -> bool {
    chain(tables, "filter", "DOCKER").is_some() || chain(tables, "nat", "DOCKER").is_some()
}

fn table<'a>(tables: &'a [Table], name: &str) -> Option<&'a Table> {
    tables.iter().find(|t| t.name == name)
}

fn chain<'a>(tables: &'a [Table], t: &str, c: &str) -> Option<&'a Chain> {
    table(tables, t)?.chain(c)
}

fn is_bare(r: &Rule) -> bool {
    r.matches.is_empty() && r.spec == Default::default()
}

fn jumps_to(r: &Rule, to: &str) -> bool {
    matches!(&r.target, Target::Jump(c) if c == to)
}

fn has_set_match(r: &Rule) -> bool {
    r.matches.iter().any(|m| m.name == "set")
}

fn user_return(tables: &[Table]) -> Option<bool> {
    chain(tables, "filter", "DOCKER-USER").map(|c| {
        c.rules
            .iter()
            .any(|r| r.target == Target::Return && is_bare(r))
    })
}

/// Fingerprints one family's tables (as read from the kernel: `filter`,
/// `nat`, `raw`, and any other table the reader lists — a table named
/// `docker-bridges` means Docker 29's nftables backend). IPv4 is assumed
/// for reading addresses; see [`fingerprint_families`] for both.
pub fn fingerprint(tables: &[Table]) -> Option<Fingerprint> {
    fingerprint_family(Family::Ipv4, tables)
}

/// Fingerprints with both families: the IPv6 tables settle 27 vs ≤26
/// (ip6tables is on by default only from 27).
pub fn fingerprint_families(v4: &[Table], v6: &[Table]) -> Option<Fingerprint> {
    let mut fp = fingerprint_family(Family::Ipv4, v4);
    let fp6 = fingerprint_family(Family::Ipv6, v6);
    let ip6tables = Some(has_docker_chains(v6) || v6.iter().any(|t| t.name == "docker-bridges"));
    let proxy = userland_proxy(v4).or_else(|| userland_proxy(v6));
    let out = match (&mut fp, fp6) {
        (None, fp6) => fp6,
        (Some(f), Some(f6)) if matches!(f.generation, Generation::Classic | Generation::V27) => {
            // IPv6 Docker chains with the classic shape: ip6tables is on,
            // the default from 27 (≤26 needed `experimental`).
            if matches!(f6.generation, Generation::Classic | Generation::V27) {
                if f.generation == Generation::Classic && f.confidence < Confidence::Medium {
                    f.generation = Generation::V27;
                    f.confidence = Confidence::Medium;
                }
                f.evidence.push(
                    "ip6tables chains exist: ip6tables is on, the default from 27.0 \
                     (≤26 needed experimental mode)"
                        .into(),
                );
            }
            fp
        }
        (Some(f), None) => {
            if matches!(f.generation, Generation::Classic | Generation::V27) {
                f.evidence
                    .push("no IPv6 Docker chains: ip6tables off, the default up to 26.1".into());
            }
            fp
        }
        _ => fp,
    };
    out.map(|f| Fingerprint {
        ip6tables,
        userland_proxy: proxy,
        ..f
    })
}

fn fingerprint_family(family: Family, tables: &[Table]) -> Option<Fingerprint> {
    let proxy = userland_proxy(tables);
    let fp = |generation, confidence, evidence: Vec<String>| {
        Some(Fingerprint {
            generation,
            backend: FirewallBackend::Iptables,
            confidence,
            evidence,
            userland_proxy: proxy,
            ip6tables: None,
        })
    };
    if tables.iter().any(|t| t.name == "docker-bridges") {
        return Some(Fingerprint {
            generation: Generation::V29,
            backend: FirewallBackend::Nftables,
            confidence: Confidence::High,
            evidence: vec![format!(
                "table {} docker-bridges exists: Docker 29 with firewall-backend=nftables",
                family.nft_name()
            )],
            userland_proxy: None,
            ip6tables: None,
        });
    }
    let filter = table(tables, "filter");
    let has = |c: &str| filter.and_then(|t| t.chain(c)).is_some();
    let stage = has("DOCKER-ISOLATION-STAGE-1") || has("DOCKER-ISOLATION-STAGE-2");
    let forward = chain(tables, "filter", "FORWARD");
    let raw = chain(tables, "raw", "PREROUTING");
    let mut ev = Vec::new();

    if has("DOCKER-INTERNAL") && !stage {
        ev.push("filter chain DOCKER-INTERNAL and no DOCKER-ISOLATION-STAGE chains".into());
        return fp(Generation::V29, Confidence::High, ev);
    }
    if has("DOCKER-FORWARD") {
        ev.push("filter chain DOCKER-FORWARD (28.0.1+)".into());
        let kinds: Vec<RuleKind> = raw
            .map(|c| {
                c.rules
                    .iter()
                    .filter_map(|r| classify_rule(family, "raw", "PREROUTING", r))
                    .map(|d| d.kind)
                    .collect()
            })
            .unwrap_or_default();
        let per_port = kinds
            .iter()
            .any(|k| matches!(k, RuleKind::RawDirectDrop { port: Some(_), .. }));
        let per_container = kinds
            .iter()
            .any(|k| matches!(k, RuleKind::RawDirectDrop { port: None, .. }));
        let ret = user_return(tables);
        if per_port {
            ev.push("raw PREROUTING DROPs per container port (28.0.1 … 28.1.x)".into());
            return fp(Generation::V28_0_1, Confidence::High, ev);
        }
        match (per_container, ret) {
            (true, Some(true)) => {
                ev.push("raw PREROUTING DROPs per container address (28.2+)".into());
                ev.push("DOCKER-USER ends with -j RETURN (≤28.2.1)".into());
                fp(Generation::V28_2_0, Confidence::High, ev)
            }
            (true, _) => {
                ev.push("raw PREROUTING DROPs per container address (28.2+)".into());
                ev.push("DOCKER-USER has no -j RETURN (28.2.2+)".into());
                fp(Generation::V28_2_2, Confidence::High, ev)
            }
            (false, Some(true)) => {
                ev.push(
                    "DOCKER-USER ends with -j RETURN (≤28.2.1); no container rules in raw to \
                     tell 28.0.1–28.1.x from 28.2.0–28.2.1"
                        .into(),
                );
                fp(Generation::V28_0_1, Confidence::Medium, ev)
            }
            (false, _) => {
                ev.push("DOCKER-USER has no -j RETURN (28.2.2+)".into());
                fp(Generation::V28_2_2, Confidence::Medium, ev)
            }
        }
    } else if forward.is_some_and(|c| c.rules.iter().any(has_set_match)) {
        ev.push("FORWARD matches the ipset docker-ext-bridges (28.0.0 only)".into());
        fp(Generation::V28_0_0, Confidence::High, ev)
    } else if stage {
        let returns = ["DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2"]
            .iter()
            .all(|c| {
                chain(tables, "filter", c)
                    .and_then(|c| c.rules.last())
                    .is_some_and(|r| r.target == Target::Return && is_bare(r))
            });
        let per_bridge = forward.is_some_and(|c| {
            c.rules
                .iter()
                .any(|r| jumps_to(r, "DOCKER") && !r.spec.out_iface.is_any())
        });
        if returns {
            ev.push("isolation chains end with -j RETURN (≤27)".into());
        }
        if per_bridge {
            ev.push("FORWARD -o BRIDGE -j DOCKER per bridge (≤27)".into());
        }
        let (gen, why) = port_order_hint(family, tables);
        let confidence = match (returns || per_bridge, gen.is_some()) {
            (true, true) => Confidence::Medium,
            _ => Confidence::Low,
        };
        if let Some(why) = why {
            ev.push(why);
        }
        if family == Family::Ipv6 {
            let policy_drop = forward
                .and_then(|c| c.base.as_ref())
                .is_some_and(|b| b.policy == Policy::Drop);
            if policy_drop {
                ev.push("IPv6 FORWARD policy DROP (set unconditionally with ip6tables ≤27)".into());
            }
        }
        fp(gen.unwrap_or(Generation::Classic), confidence, ev)
    } else if has("DOCKER-ISOLATION") {
        ev.push("single DOCKER-ISOLATION chain (before 18.03.1)".into());
        fp(Generation::Classic, Confidence::Medium, ev)
    } else if has("DOCKER") || chain(tables, "nat", "DOCKER").is_some() || has("DOCKER-USER") {
        ev.push("Docker chains without the isolation chains: too little to tell".into());
        fp(Generation::Classic, Confidence::Low, ev)
    } else {
        None
    }
}

/// ≤26 orders a container's ports by host port (descending), 27 by
/// container port (ascending): the DNATs of one container tell which.
fn port_order_hint(family: Family, tables: &[Table]) -> (Option<Generation>, Option<String>) {
    let Some(c) = chain(tables, "nat", "DOCKER") else {
        return (None, None);
    };
    // (destination address, host port, container port) per DNAT, in order.
    let mut dnats: Vec<(String, u16, u16)> = Vec::new();
    for r in &c.rules {
        let Some(d) = classify_rule(family, "nat", "DOCKER", r) else {
            continue;
        };
        let ip = d.container_ip().map(str::to_string);
        if let (Some(ip), RuleKind::Dnat { host_port, to, .. }) = (ip, d.kind) {
            let cport = to.rsplit(':').next().and_then(|p| p.parse().ok());
            if let Some(cport) = cport {
                dnats.push((ip, host_port, cport));
            }
        }
    }
    let (mut classic, mut by_cport) = (0, 0);
    for w in dnats.windows(2) {
        let ((ia, ha, ca), (ib, hb, cb)) = (&w[0], &w[1]);
        if ia != ib || ca == cb {
            continue;
        }
        // 27+: ascending container port. ≤26: host port descending, then
        // container port descending.
        let v27 = ca < cb;
        let v26 = ha > hb || (ha == hb && ca > cb);
        match (v26, v27) {
            (true, false) => classic += 1,
            (false, true) => by_cport += 1,
            _ => {}
        }
    }
    if by_cport > 0 && classic == 0 {
        (
            Some(Generation::V27),
            Some("a container's DNATs ascend by container port (27.x ordering)".into()),
        )
    } else if classic > 0 && by_cport == 0 {
        (
            Some(Generation::Classic),
            Some("a container's DNATs descend by host port (≤26 ordering)".into()),
        )
    } else {
        (None, None)
    }
}
