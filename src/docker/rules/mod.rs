//! The expected-rules engine: from a Docker daemon's version, options,
//! networks and containers ([`DockerState`]), the exact ruleset that Docker
//! version leaves after building it from a fresh start — per family, per
//! table, chains and rules in the order `iptables-save` shows them, each rule
//! with its provenance (who made it, how Docker adds it, why) — plus the
//! FORWARD policy Docker may set, which chains and rules are Docker's, and a
//! fingerprint of the generation from a live ruleset (docker-rules.md).
//!
//! How: the builders replay dockerd's own call sequence (driver init, the
//! controller's DOCKER-USER, each network in creation order, each container
//! in start order; append/insert-if-missing and ensure-jump exactly as
//! dockerd issues them) on an in-memory ruleset (`sim`), with the rule
//! text spelled as iptables-save prints it ([`text`]). The text is then
//! parsed with the rules-file parser, so expected rules compare equal
//! ([`Rule::same_spec`]) to what the kernel holds. The per-port rules
//! (thousands on a busy host) are also built as model rules by their
//! builders (`typed`), which skips parsing them; debug builds check that
//! both ways agree.
//!
//! One place per generation: [`generation`] holds each generation's
//! distinguishing details as data; `classic` builds ≤27, `ipset` 28.0.0,
//! `forward` 28.0.1 … 29 (iptables), [`nft`] describes 29's nftables
//! backend. [`owner`] says which chains and rules are Docker's;
//! [`mod@fingerprint`] recognises a generation from a live ruleset.

mod classic;
mod common;
pub mod fingerprint;
mod forward;
pub mod generation;
mod ipset;
pub mod nft;
pub mod owner;
mod ports;
mod sim;
pub mod text;
mod typed;
mod why;

pub use fingerprint::{fingerprint, fingerprint_families, Confidence, Fingerprint};
pub use generation::Generation;
pub use nft::NftExpectation;
pub use owner::{
    chain_owner, classify, classify_rule, is_docker_chain, must_precede, ChainOwner, DockerRule,
    RuleKind,
};
pub use why::{Reason, Why};

use crate::docker::{DockerState, Proto, Version};
use crate::ruleset::{BaseChain, Chain, Counters, Policy, Rule, Table, TableCompat};
use crate::ruleset::{BUILTIN_CHAINS, NFT_TABLE_ORDER};
use crate::xt::revision::{RevisionProbe, Revisions};
use crate::Family;
use serde::Serialize;
use std::net::IpAddr;

/// Which firewall Docker programs (`--firewall-backend`, 29+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FirewallBackend {
    Iptables,
    /// 29+: tables `ip docker-bridges` / `ip6 docker-bridges`, no iptables
    /// rules (see [`NftExpectation`]).
    Nftables,
}

/// Who makes a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// The daemon itself: bridge driver initialisation, or the controller
    /// (DOCKER-USER).
    Daemon,
    /// A bridge network, when it is created (or re-created at start).
    Network { network: String, bridge: String },
    /// A container's attachment to a network (28.2+ raw rules).
    Endpoint { container: String, network: String },
    /// One published port of a container. The names are shared by the
    /// port's two or three rules.
    Port {
        container: std::sync::Arc<str>,
        network: std::sync::Arc<str>,
        proto: Proto,
        /// `None`: any address of the family.
        host_ip: Option<IpAddr>,
        host_port: u16,
        container_port: u16,
    },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Daemon => f.write_str("daemon"),
            Source::Network { network, .. } => write!(f, "network {network}"),
            Source::Endpoint { container, network } => {
                write!(f, "container {container} on {network}")
            }
            Source::Port {
                container,
                proto,
                host_port,
                ..
            } => write!(
                f,
                "container {container} port {host_port}/{}",
                proto.as_str()
            ),
        }
    }
}

/// How Docker adds a rule, which says where it lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `-C`, then `-A` if missing: at the end of the chain at that moment.
    Append,
    /// `-C`, then `-I CHAIN 1` if missing: at the top at that moment.
    Insert,
    /// Deleted if present, then `-I CHAIN 1`: moved to the top every time
    /// Docker runs it.
    EnsureJump,
}

/// A rule's provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub source: Source,
    pub mode: Mode,
    /// What the rule is for ([`Origin::reason`] says it in words).
    pub why: Why,
}

/// One expected rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedRule {
    /// `-A CHAIN …` as iptables-save prints it.
    pub line: String,
    /// The rule as the kernel holds it (counters zero, no handle).
    pub rule: Rule,
    pub origin: Origin,
    /// What kind of Docker rule it is ([`classify`]).
    pub kind: Option<RuleKind>,
}

/// Who a chain belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedChain {
    pub name: String,
    pub builtin: bool,
    pub owner: ChainOwner,
    /// In order. Fixed once built: [`ExpectedChain::find`] indexes them.
    pub rules: Vec<ExpectedRule>,
    /// `rules` by spec, built on first use.
    index: RuleIndex,
    /// `rules` by slot ([`DockerRule::slot`]), built on first use.
    slots: SlotIndex,
}

/// Positions of the expected rules by slot. Equal to any other (it is
/// derived from the rules, which are compared).
#[derive(Debug, Clone, Default)]
struct SlotIndex(std::sync::OnceLock<std::collections::HashMap<String, Vec<usize>>>);

impl PartialEq for SlotIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The expected rules' [`SpecIndex`](crate::ruleset::SpecIndex), built on first use. Equal to any
/// other (it is derived from the rules, which are compared).
#[derive(Debug, Clone, Default)]
struct RuleIndex(std::sync::OnceLock<crate::ruleset::SpecIndex>);

impl PartialEq for RuleIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl ExpectedChain {
    pub fn new(name: String, builtin: bool, owner: ChainOwner, rules: Vec<ExpectedRule>) -> Self {
        ExpectedChain {
            name,
            builtin,
            owner,
            rules,
            index: RuleIndex::default(),
            slots: SlotIndex::default(),
        }
    }

    /// The first expected rule in the same slot as `rule` (a Docker rule of
    /// this chain, in `table`) that is not `rule` itself: what replaces it.
    /// Through an index, as after a mass restart thousands of rules point at
    /// old addresses.
    pub fn replacing(&self, table: &str, rule: &DockerRule) -> Option<&ExpectedRule> {
        let slot = rule.slot()?;
        let as_docker = |k: &RuleKind| DockerRule {
            table: table.to_string(),
            chain: self.name.clone(),
            kind: k.clone(),
        };
        let slots = self.slots.0.get_or_init(|| {
            let mut slots: std::collections::HashMap<String, Vec<usize>> =
                std::collections::HashMap::new();
            for (i, r) in self.rules.iter().enumerate() {
                if let Some(s) = r.kind.as_ref().and_then(|k| as_docker(k).slot()) {
                    slots.entry(s).or_default().push(i);
                }
            }
            slots
        });
        slots.get(&slot)?.iter().map(|&i| &self.rules[i]).find(|r| {
            r.kind
                .as_ref()
                .is_some_and(|k| rule.conflicts_with(&as_docker(k)))
        })
    }

    /// The expected rule with `rule`'s spec ([`Rule::same_spec`]).
    pub fn find(&self, rule: &Rule) -> Option<&ExpectedRule> {
        let index = self
            .index
            .0
            .get_or_init(|| crate::ruleset::SpecIndex::new(self.rules.iter().map(|r| &r.rule)));
        index
            .matching(&self.rules, |r| &r.rule, rule)
            .next()
            .map(|i| &self.rules[i])
    }

    /// Pairs `(i, j)` of indexes into `actual` (the live chain's rules, in
    /// order) where `actual[i]` is an expected rule that Docker needs
    /// *after* the expected rule `actual[j]`, yet `i < j` ([`must_precede`]).
    /// The rest of the fresh-start order is not significant.
    pub fn misordered(&self, table: &str, actual: &[Rule]) -> Vec<(usize, usize)> {
        // Each rule's (rank, scope) once; then, for each rule, the earlier
        // rules of a higher rank in a scope it shares. Linear in the rules
        // plus the pairs found (a chain holds thousands of port rules).
        let keys: Vec<Option<(u8, Option<&str>)>> = actual
            .iter()
            .map(|a| {
                self.find(a)
                    .and_then(|r| r.kind.as_ref())
                    .map(|k| owner::order_key(table, &self.name, k))
            })
            .collect();
        // Per rank: indexes seen so far, unscoped, and by scope.
        type Seen<'s> = (Vec<usize>, std::collections::HashMap<&'s str, Vec<usize>>);
        let mut seen: Vec<Seen<'_>> = Vec::new();
        let mut all_by_rank: Vec<Vec<usize>> = Vec::new();
        let mut out = Vec::new();
        for (j, key) in keys.iter().enumerate() {
            let Some((rank, scope)) = *key else { continue };
            for r in (rank as usize + 1)..seen.len() {
                let earlier: Vec<usize> = match scope {
                    None => all_by_rank[r].clone(),
                    Some(s) => {
                        let mut v = seen[r].0.clone();
                        v.extend(seen[r].1.get(s).into_iter().flatten());
                        v
                    }
                };
                out.extend(earlier.into_iter().map(|i| (i, j)));
            }
            let r = rank as usize;
            if seen.len() <= r {
                seen.resize_with(r + 1, Default::default);
                all_by_rank.resize_with(r + 1, Vec::new);
            }
            match scope {
                None => seen[r].0.push(j),
                Some(s) => seen[r].1.entry(s).or_default().push(j),
            }
            all_by_rank[r].push(j);
        }
        out.sort_unstable();
        out
    }
}

/// One table's expected content.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedTable {
    pub name: String,
    /// Built-in chains first (in iptables' order), then Docker's chains by
    /// name, as iptables-save lists them.
    pub chains: Vec<ExpectedChain>,
}

impl ExpectedTable {
    pub fn chain(&self, name: &str) -> Option<&ExpectedChain> {
        self.chains.iter().find(|c| c.name == name)
    }
}

/// When Docker sets a built-in chain's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyCondition {
    /// Whenever the daemon starts (≤27: IPv6 FORWARD with ip6tables on).
    Always,
    /// Only if forwarding for the family was off and Docker turned it on
    /// (IPv4 at start ≤27; per family at the first network of that family
    /// 28+). Docker never sets it back to ACCEPT.
    IfDockerEnabledForwarding,
}

/// A policy Docker sets (docker-rules.md §7.3): conditional, because it
/// depends on the host's sysctls before dockerd ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedPolicy {
    pub table: String,
    pub chain: String,
    pub policy: Policy,
    pub condition: PolicyCondition,
    pub why: String,
}

impl ExpectedPolicy {
    /// The policy to expect, given whether the family's forwarding was
    /// already on before dockerd enabled it (ACCEPT is the kernel's
    /// default; Docker only ever sets DROP).
    pub fn resolve(&self, forwarding_was_enabled: bool) -> Policy {
        match self.condition {
            PolicyCondition::Always => self.policy,
            PolicyCondition::IfDockerEnabledForwarding if !forwarding_was_enabled => self.policy,
            PolicyCondition::IfDockerEnabledForwarding => Policy::Accept,
        }
    }
}

/// What one family of a Docker daemon must have.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub family: Family,
    /// The version the rules were built for.
    pub version: Option<Version>,
    pub generation: Option<Generation>,
    pub backend: FirewallBackend,
    /// The iptables tables Docker creates or adds to, in iptables-nft-save
    /// order. Empty when Docker writes no iptables rules for the family.
    pub tables: Vec<ExpectedTable>,
    /// Built-in chain policies Docker may set.
    pub policies: Vec<ExpectedPolicy>,
    /// 29 with `--firewall-backend=nftables`: Docker's nftables table.
    pub nft: Option<NftExpectation>,
    /// What the expectation does not model for this state, and options it
    /// cannot see (e.g. environment variables of the daemon).
    pub caveats: Vec<String>,
    /// The bridges of the state's networks (to tell Docker's rules in
    /// built-in chains from look-alikes on other interfaces).
    pub bridges: Vec<String>,
}

/// How a live rule relates to the expectation ([`Expected::judge`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement<'a> {
    /// It is this expected rule.
    Expected(&'a ExpectedRule),
    /// Docker made it (by its shape, on a Docker bridge), but it is not
    /// expected now: left behind by a container, port or network that is
    /// gone or changed (e.g. a DNAT to an old container address), or by
    /// another Docker version. `replaced_by` is the expected rule in the
    /// same slot (the DNAT for the same host port), if any.
    Stale {
        rule: DockerRule,
        replaced_by: Option<&'a ExpectedRule>,
    },
    /// In one of Docker's own chains, but no shape Docker makes: someone
    /// else's rule in Docker's chain.
    Unknown,
    /// Not Docker's (includes the user's rules in DOCKER-USER).
    NotDockers,
}

impl Expected {
    pub fn table(&self, name: &str) -> Option<&ExpectedTable> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Puts every expected rule's matches and target at revisions the
    /// kernel has, as Docker's `iptables` wrote them
    /// ([`Revisions::adapt`](crate::xt::revision::Revisions::adapt)).
    /// Returns how many rules changed.
    pub fn adapt_revisions<P: RevisionProbe>(&mut self, revisions: &mut Revisions<P>) -> usize {
        let family = self.family;
        let mut changed = 0;
        for chain in self.tables.iter_mut().flat_map(|t| &mut t.chains) {
            let before = changed;
            for r in &mut chain.rules {
                changed += usize::from(r.rule.adapt_revisions(family, revisions));
            }
            if changed != before {
                // The indexes hash the rules as they were.
                chain.index = RuleIndex::default();
                chain.slots = SlotIndex::default();
            }
        }
        changed
    }

    /// The expected `policy` rule for `table`/`chain`, if Docker sets one.
    pub fn policy(&self, table: &str, chain: &str) -> Option<&ExpectedPolicy> {
        self.policies
            .iter()
            .find(|p| p.table == table && p.chain == chain)
    }

    /// What `rule`, found in `table`/`chain` of the live ruleset, is.
    pub fn judge(&self, table: &str, chain: &str, rule: &Rule) -> Judgement<'_> {
        let exp_chain = self.table(table).and_then(|t| t.chain(chain));
        if let Some(r) = exp_chain.and_then(|c| c.find(rule)) {
            return Judgement::Expected(r);
        }
        let owner = chain_owner(table, chain);
        let Some(d) = owner::classify_rule(self.family, table, chain, rule) else {
            return match owner {
                ChainOwner::Docker => Judgement::Unknown,
                _ => Judgement::NotDockers,
            };
        };
        let dockerish = |b: &str| {
            self.bridges.iter().any(|x| x == b)
                || b == "docker0"
                || b.strip_prefix("br-")
                    .is_some_and(|h| h.len() == 12 && h.bytes().all(|c| c.is_ascii_hexdigit()))
        };
        let ours = match owner {
            ChainOwner::DockerUser => d.kind == RuleKind::Return,
            ChainOwner::Builtin => d.bridge().map_or(true, dockerish),
            ChainOwner::Docker => true,
            ChainOwner::Other => false,
        };
        if !ours {
            return Judgement::NotDockers;
        }
        let replaced_by = exp_chain.and_then(|c| c.replacing(table, &d));
        Judgement::Stale {
            rule: d,
            replaced_by,
        }
    }

    /// The expected tables as model tables, built-in chain policies
    /// resolved with whether the family's forwarding was on before dockerd
    /// started (docker-rules.md §7.3).
    pub fn to_tables(&self, forwarding_was_enabled: bool) -> Vec<Table> {
        self.tables
            .iter()
            .map(|t| Table {
                name: t.name.clone(),
                compat: TableCompat::Compatible,
                chains: t
                    .chains
                    .iter()
                    .map(|c| Chain {
                        name: c.name.clone(),
                        base: c.builtin.then(|| BaseChain {
                            hook: BUILTIN_CHAINS
                                .iter()
                                .find(|(tn, cn, _, _, _)| *tn == t.name && *cn == c.name)
                                .map(|(_, _, h, _, _)| *h)
                                .unwrap_or(0),
                            policy: self
                                .policy(&t.name, &c.name)
                                .map(|p| p.resolve(forwarding_was_enabled))
                                .unwrap_or(Policy::Accept),
                            priority: None,
                            chain_type: None,
                        }),
                        counters: Counters::default(),
                        rules: c.rules.iter().map(|r| r.rule.clone()).collect(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// The expected ruleset as `iptables-save` prints it (without its `#`
    /// lines), tables in iptables-nft-save order.
    pub fn save_text(&self, forwarding_was_enabled: bool) -> String {
        let printer = text::printer(self.family);
        let mut out = String::new();
        for t in self.to_tables(forwarding_was_enabled) {
            printer.table(&t, &mut out);
        }
        out
    }
}

/// What `state`'s daemon must have for `family`. The generation comes from
/// `state.version`; without a version (the Engine API did not answer) the
/// result has no tables and says so in its caveats — use
/// [`expected_for`] with a [`fingerprint()`]ed generation instead.
pub fn expected(state: &DockerState, family: Family) -> Expected {
    match state.version {
        Some(v) => build(state, family, v, Generation::of(v)),
        None => Expected {
            family,
            version: None,
            generation: None,
            backend: backend(state, None),
            tables: Vec::new(),
            policies: Vec::new(),
            nft: None,
            caveats: vec!["Docker's version is unknown: no rules can be expected \
                           (fingerprint the live ruleset and use expected_for)"
                .into()],
            bridges: state.networks.iter().map(|n| n.bridge.clone()).collect(),
        },
    }
}

/// How many `-p` `ep` publishes: the Engine API lists `-p 8080:80` once
/// per family (`0.0.0.0` and `::`), which is one binding here, as Docker
/// makes it.
pub fn published_port_count(ep: &crate::docker::Endpoint) -> usize {
    ports::normalise(&ep.ports).len()
}

/// [`expected`] for a generation rather than a version (its representative
/// release stands in for the exact version).
pub fn expected_for(state: &DockerState, family: Family, generation: Generation) -> Expected {
    let v = state
        .version
        .filter(|v| Generation::of(*v) == generation)
        .unwrap_or_else(|| generation.representative());
    build(state, family, v, generation)
}

fn backend(state: &DockerState, generation: Option<Generation>) -> FirewallBackend {
    let nft = state
        .options
        .firewall_backend
        .eq_ignore_ascii_case("nftables");
    match generation {
        Some(g) if g < Generation::V29 => FirewallBackend::Iptables,
        _ if nft => FirewallBackend::Nftables,
        _ => FirewallBackend::Iptables,
    }
}

fn build(
    state: &DockerState,
    family: Family,
    version: Version,
    generation: Generation,
) -> Expected {
    let backend = backend(state, Some(generation));
    let mut b = common::Build::new(state, family, version, generation);
    let mut nft = None;
    if backend == FirewallBackend::Nftables {
        nft = nft::expected_nft(&b);
        b.sim.caveat(
            "firewall-backend=nftables: Docker keeps no iptables chains (on start it deletes \
             the ones an iptables run left, except the jump to DOCKER-USER); an iptables \
             FORWARD policy DROP left by an earlier iptables run still applies",
        );
    } else if b.enabled(family) {
        match generation.profile().shape {
            generation::Shape::Classic => classic::build(&mut b),
            generation::Shape::Ipset => ipset::build(&mut b),
            generation::Shape::ForwardChain => forward::build(&mut b),
        }
    } else {
        b.sim.caveat(format!(
            "--{}=false: Docker writes no {} rules",
            family.command(),
            family
        ));
    }
    common::general_caveats(&mut b);
    let sim = b.sim;
    Expected {
        family,
        version: Some(version),
        generation: Some(generation),
        backend,
        tables: finish_tables(family, sim.tables),
        policies: sim.policies,
        nft,
        caveats: sim.caveats,
        bridges: state.networks.iter().map(|n| n.bridge.clone()).collect(),
    }
}

/// Sorts tables and chains as iptables-save lists them, adds the empty
/// built-in chains and finishes every rule.
fn finish_tables(family: Family, mut tables: Vec<sim::SimTable>) -> Vec<ExpectedTable> {
    let mut out = Vec::new();
    for name in NFT_TABLE_ORDER {
        let Some(t) = tables.iter().position(|t| t.name == name) else {
            continue;
        };
        let mut sim_chains = std::mem::take(&mut tables[t].chains);
        let mut chains = Vec::new();
        for (tn, cn, _, _, _) in BUILTIN_CHAINS {
            if *tn != name {
                continue;
            }
            let rules = sim_chains
                .iter()
                .position(|c| c.name == *cn)
                .map(|i| sim_chains.swap_remove(i).into_rules())
                .unwrap_or_default();
            chains.push(finish_chain(family, name, cn, true, rules));
        }
        let mut user: Vec<sim::SimChain> = sim_chains.into_iter().filter(|c| !c.builtin).collect();
        user.sort_by(|a, b| a.name.cmp(&b.name));
        for c in user {
            let chain = c.name.clone();
            chains.push(finish_chain(family, name, &chain, false, c.into_rules()));
        }
        out.push(ExpectedTable {
            name: name.to_string(),
            chains,
        });
    }
    out
}

/// Finishes a rule no typed builder made: its line parsed and classified.
fn parse_rule_in_place(family: Family, table: &str, r: &mut ExpectedRule) {
    r.rule = text::parse_rule(family, table, &r.line);
    r.kind = classify(table, &r.line).map(|d| d.kind);
}

/// Debug builds: a typed rule is exactly what its parsed line gives.
#[cfg(debug_assertions)]
fn assert_typed_as_parsed(family: Family, table: &str, r: &ExpectedRule) {
    let parsed = text::parse_rule(family, table, &r.line);
    assert_eq!(r.rule, parsed, "typed rule differs from `{}'", r.line);
    let kind = classify(table, &r.line).map(|d| d.kind);
    assert_eq!(r.kind, kind, "typed kind of `{}'", r.line);
}

/// A chain of expected rules from the simulated chain's rules, in order,
/// and which of them were built typed (the others are parsed here).
fn finish_chain(
    family: Family,
    table: &str,
    chain: &str,
    builtin: bool,
    (mut rules, typed): (Vec<ExpectedRule>, Vec<bool>),
) -> ExpectedChain {
    #[cfg(debug_assertions)]
    for (r, _) in rules.iter().zip(&typed).filter(|(_, t)| **t) {
        assert_typed_as_parsed(family, table, r);
    }
    // Parsing is most of finishing the rules that have no typed form:
    // long chains of them are finished on as many threads as CPUs are free.
    const PER_THREAD: usize = 2000;
    let untyped = typed.iter().filter(|t| !**t).count();
    let threads = if untyped >= 2 * PER_THREAD {
        crate::backend::ordered::free_cpus().min(untyped / PER_THREAD)
    } else {
        1
    };
    let finish = |rules: &mut [ExpectedRule], typed: &[bool]| {
        for (r, _) in rules.iter_mut().zip(typed).filter(|(_, t)| !**t) {
            parse_rule_in_place(family, table, r);
        }
    };
    if threads > 1 {
        let per = rules.len().div_ceil(threads);
        let finish = &finish;
        std::thread::scope(|s| {
            let parts: Vec<_> = rules
                .chunks_mut(per)
                .zip(typed.chunks(per))
                .map(|(r, t)| s.spawn(move || finish(r, t)))
                .collect();
            for p in parts {
                p.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            }
        });
    } else if untyped > 0 {
        finish(&mut rules, &typed);
    }
    ExpectedChain::new(chain.to_string(), builtin, chain_owner(table, chain), rules)
}
