//! The backend-neutral model of an iptables ruleset, close to what iptables
//! itself holds for a rule (`struct ipt_entry` / `iptables_command_state`):
//! both back ends decode into it, the printer and the rules-file parser work
//! on it, and the writers encode it.

pub mod command;
pub mod edit;
pub mod json;
pub mod protocols;
pub mod restore;
pub mod save;

use crate::xt::revision::{RevisionProbe, Revisions};
use crate::xt::{Extension, Kind};
use crate::Family;
use serde::Serialize;
use std::hash::BuildHasherDefault;

/// Packet and byte counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// All tables of one family, from one back end.
#[derive(Debug, Clone, PartialEq)]
pub struct Ruleset {
    pub family: Family,
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub chains: Vec<Chain>,
    pub compat: TableCompat,
}

impl Table {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    pub fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        self.chains.iter_mut().find(|c| c.name == name)
    }
}

/// Whether iptables syntax can express the table (nf_tables tables written
/// by other tools may not be).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TableCompat {
    Compatible,
    /// Some rule uses expressions iptables cannot show; like iptables-nft,
    /// the table is not printed at all.
    Incompatible {
        reason: String,
    },
    /// Some base chains do not have iptables' hook/priority/type; they are
    /// left out and the rest is shown.
    IncompatibleBaseChains {
        chains: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    pub name: String,
    /// Set for built-in (hooked) chains.
    pub base: Option<BaseChain>,
    /// Policy counters (always zero for user chains).
    pub counters: Counters,
    pub rules: Vec<Rule>,
}

impl Chain {
    pub fn is_builtin(&self) -> bool {
        self.base.is_some()
    }
}

/// What makes a chain built in: its hook and policy (and, for nf_tables, the
/// base chain's type and priority).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseChain {
    pub hook: u32,
    pub policy: Policy,
    /// nf_tables only.
    pub priority: Option<i32>,
    /// nf_tables only: "filter", "nat" or "route".
    pub chain_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Policy {
    #[serde(rename = "ACCEPT")]
    Accept,
    #[serde(rename = "DROP")]
    Drop,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Accept => "ACCEPT",
            Policy::Drop => "DROP",
        }
    }
}

/// One rule: header selectors, matches in order, target, counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub spec: IpSpec,
    pub matches: Vec<Extension>,
    pub target: Target,
    pub counters: Counters,
    /// The rule's kernel identity when it was read: the nf_tables rule
    /// handle, or the legacy entry's index in its table. `None` for rules
    /// not (yet) in the kernel. Writers use it to tell surviving rules from
    /// new ones.
    pub handle: Option<u64>,
}

impl Rule {
    pub fn new(spec: IpSpec, matches: Vec<Extension>, target: Target) -> Self {
        Rule {
            spec,
            matches,
            target,
            counters: Counters::default(),
            handle: None,
        }
    }

    /// Same selectors, matches and target (what `iptables -C`/`-D` compare);
    /// counters and handles are ignored.
    pub fn same_spec(&self, other: &Rule) -> bool {
        self.spec == other.spec && self.matches == other.matches && self.target == other.target
    }

    /// Puts each match and target at a revision the kernel has
    /// ([`Revisions::adapt`]); returns whether any changed.
    pub fn adapt_revisions<P: RevisionProbe>(
        &mut self,
        family: Family,
        revisions: &mut Revisions<P>,
    ) -> bool {
        let mut changed = false;
        for m in &mut self.matches {
            changed |= revisions.adapt(Kind::Match, m, family);
        }
        if let Target::Ext(t) = &mut self.target {
            changed |= revisions.adapt(Kind::Target, t, family);
        }
        changed
    }
}

/// The hash of a rule's spec (what [`Rule::same_spec`] compares). Rules
/// with equal specs hash alike; it reads the selectors' addresses and
/// names a word at a time and leaves out what rarely tells two rules apart
/// (masks, rarely used header flags), which the comparison still checks:
/// fix and check hash tens of thousands of rules on the way.
pub fn spec_hash(rule: &Rule) -> u64 {
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
    let mut h = SpecHasher::default();
    let s = &rule.spec;
    for bytes in [
        &s.src.addr,
        &s.dst.addr,
        &s.in_iface.name,
        &s.out_iface.name,
    ] {
        h.add(word(&bytes[..8]));
        h.add(word(&bytes[8..]));
    }
    h.add(
        u64::from(s.proto)
            | u64::from(s.src.invert) << 16
            | u64::from(s.dst.invert) << 17
            | u64::from(s.in_iface.invert) << 18
            | u64::from(s.out_iface.invert) << 19
            | u64::from(s.proto_invert) << 20
            | (rule.matches.len() as u64) << 32,
    );
    let mut ext = |e: &crate::xt::Extension| {
        std::hash::Hasher::write(&mut h, e.name.as_bytes());
        h.add(u64::from(e.revision));
        std::hash::Hasher::write(&mut h, &e.data);
    };
    for m in &rule.matches {
        ext(m);
    }
    match &rule.target {
        Target::Ext(e) => ext(e),
        Target::Jump(c) | Target::Goto(c) => std::hash::Hasher::write(&mut h, c.as_bytes()),
        _ => {}
    }
    h.add(match &rule.target {
        Target::Continue => 1,
        Target::Accept => 2,
        Target::Drop => 3,
        Target::Queue => 4,
        Target::Return => 5,
        Target::Jump(_) => 6,
        Target::Goto(_) => 7,
        Target::Ext(_) => 8,
    });
    std::hash::Hasher::finish(&h)
}

/// A fast non-cryptographic hasher (FxHash's multiply-rotate) for rule
/// specs: the rules come from the kernel or our own expectations, not from
/// an adversary flooding a table, and SipHash was a tenth of `fix`'s time
/// on 10k ports.
#[derive(Debug, Default, Clone, Copy)]
pub struct SpecHasher(u64);

impl SpecHasher {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl std::hash::Hasher for SpecHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Positions of rules by spec hash: "the rules like this one" without
/// comparing every pair. It holds no rules itself (so a struct can keep
/// one next to its rules); the lookups take the rules it was built from.
///
/// The positions with one hash are a list threaded through `next`, so
/// building the index of tens of thousands of rules allocates twice, not
/// once per rule; the keys are spec hashes already, used as they are.
#[derive(Debug, Clone, Default)]
pub struct SpecIndex {
    /// The first position with each hash.
    first: std::collections::HashMap<u64, u32, BuildHasherDefault<KeyIsHash>>,
    /// The next position with the same hash as this one ([`NONE`] ends).
    next: Vec<u32>,
}

/// The end of a list in [`SpecIndex::next`].
const NONE: u32 = u32::MAX;

impl SpecIndex {
    pub fn new<'r>(rules: impl IntoIterator<Item = &'r Rule>) -> Self {
        let hashes: Vec<u64> = rules.into_iter().map(spec_hash).collect();
        let mut first = std::collections::HashMap::with_capacity_and_hasher(
            hashes.len(),
            BuildHasherDefault::<KeyIsHash>::default(),
        );
        let mut next = vec![NONE; hashes.len()];
        // From the last, so that each list is in order.
        for (i, h) in hashes.iter().enumerate().rev() {
            if let Some(old) = first.insert(*h, i as u32) {
                next[i] = old;
            }
        }
        SpecIndex { first, next }
    }

    /// The positions in `items` (the sequence the index was built from,
    /// seen through `rule_of`) of the rules like `rule`, in order.
    pub fn matching<'s, T>(
        &'s self,
        items: &'s [T],
        rule_of: impl Fn(&T) -> &Rule + 's,
        rule: &'s Rule,
    ) -> impl Iterator<Item = usize> + 's {
        let mut at = self.first.get(&spec_hash(rule)).copied().unwrap_or(NONE);
        std::iter::from_fn(move || {
            while at != NONE {
                let i = at as usize;
                at = self.next.get(i).copied().unwrap_or(NONE);
                if items.get(i).is_some_and(|x| rule_of(x).same_spec(rule)) {
                    return Some(i);
                }
            }
            None
        })
    }
}

/// A hasher for keys that are hashes already ([`spec_hash`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyIsHash(u64);

impl std::hash::Hasher for KeyIsHash {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// An address selector (`-s`/`-d`): network-order address and mask. IPv4
/// uses the first four bytes. All zero and not inverted means "any".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct AddrSel {
    pub addr: [u8; 16],
    pub mask: [u8; 16],
    pub invert: bool,
}

impl AddrSel {
    pub fn is_any(&self) -> bool {
        !self.invert && self.addr == [0; 16] && self.mask == [0; 16]
    }
}

/// An interface selector (`-i`/`-o`) as x_tables holds it: the name (which
/// keeps a trailing `+`) and a byte mask saying how much of it to compare.
/// A zero mask means "any".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct IfaceSel {
    pub name: [u8; 16],
    pub mask: [u8; 16],
    pub invert: bool,
}

impl IfaceSel {
    /// `xtables_parse_interface`: `eth0` compares 5 bytes (with the NUL),
    /// `eth+` compares the 3-byte prefix.
    pub fn parse(text: &str, invert: bool) -> Option<IfaceSel> {
        let bytes = text.as_bytes();
        if bytes.len() >= 16 || bytes.contains(&0) {
            return None;
        }
        let mut sel = IfaceSel {
            invert,
            ..IfaceSel::default()
        };
        sel.name[..bytes.len()].copy_from_slice(bytes);
        if bytes.is_empty() {
            return Some(sel);
        }
        let compared = if bytes[bytes.len() - 1] == b'+' {
            bytes.len() - 1
        } else {
            bytes.len() + 1
        };
        sel.mask[..compared].fill(0xff);
        Some(sel)
    }

    pub fn is_any(&self) -> bool {
        self.mask[0] == 0
    }

    /// The name as iptables prints it (`save_iface`), `+` for a wildcard.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for i in 0..16 {
            if self.mask[i] != 0 {
                if self.name[i] != 0 {
                    s.push(self.name[i] as char);
                }
            } else {
                if i > 0 && self.name[i - 1] != 0 {
                    s.push('+');
                }
                break;
            }
        }
        s
    }
}

/// The header part of a rule (`struct ipt_ip` / `ip6t_ip6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct IpSpec {
    pub src: AddrSel,
    pub dst: AddrSel,
    pub in_iface: IfaceSel,
    pub out_iface: IfaceSel,
    /// IP protocol number, 0 = any.
    pub proto: u16,
    pub proto_invert: bool,
    /// IPv4 `-f` (second and later fragments).
    pub fragment: bool,
    pub fragment_invert: bool,
    /// IPv6 `tos` field with `IP6T_F_TOS` (no iptables option sets it; kept
    /// so foreign entries round-trip).
    pub ipv6_tos: Option<u8>,
    /// `IPT_INV_TOS` (likewise never set by iptables).
    pub tos_invert: bool,
}

/// Where a rule sends a packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// No `-j`: the rule only counts.
    Continue,
    Accept,
    Drop,
    Queue,
    Return,
    Jump(String),
    Goto(String),
    /// A target extension (`DNAT`, `MASQUERADE`, `REJECT`, …).
    Ext(Extension),
}

impl Target {
    /// The chain a jump or goto leads to.
    pub fn chain(&self) -> Option<&str> {
        match self {
            Target::Jump(c) | Target::Goto(c) => Some(c),
            _ => None,
        }
    }
}

/// The tables of each family that iptables knows, in the order
/// iptables-nft-save prints them.
pub const NFT_TABLE_ORDER: [&str; 5] = ["mangle", "security", "raw", "filter", "nat"];

/// Built-in chains: (table, chain, hook, nf_tables type, priority), as
/// iptables-nft creates them (netfilter-abi.md B.5).
pub const BUILTIN_CHAINS: &[(&str, &str, u32, &str, i32)] = &[
    ("raw", "PREROUTING", 0, "filter", -300),
    ("raw", "OUTPUT", 3, "filter", -300),
    ("mangle", "PREROUTING", 0, "filter", -150),
    ("mangle", "INPUT", 1, "filter", -150),
    ("mangle", "FORWARD", 2, "filter", -150),
    ("mangle", "OUTPUT", 3, "route", -150),
    ("mangle", "POSTROUTING", 4, "filter", -150),
    ("filter", "INPUT", 1, "filter", 0),
    ("filter", "FORWARD", 2, "filter", 0),
    ("filter", "OUTPUT", 3, "filter", 0),
    ("security", "INPUT", 1, "filter", 150),
    ("security", "FORWARD", 2, "filter", 150),
    ("security", "OUTPUT", 3, "filter", 150),
    ("nat", "PREROUTING", 0, "nat", -100),
    ("nat", "INPUT", 1, "nat", 100),
    ("nat", "OUTPUT", 3, "nat", -100),
    ("nat", "POSTROUTING", 4, "nat", 100),
];

/// The built-in chain of `table` at `hook`, if iptables has one.
pub fn builtin_chain(table: &str, hook: u32) -> Option<&'static str> {
    BUILTIN_CHAINS
        .iter()
        .find(|(t, _, h, _, _)| *t == table && *h == hook)
        .map(|(_, c, _, _, _)| *c)
}

/// Hook names in hook order.
pub const HOOK_CHAINS: [&str; 5] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_index_finds_every_equal_rule_in_order() {
        let rule = |proto: u16, handle: u64| Rule {
            handle: Some(handle),
            ..Rule::new(
                IpSpec {
                    proto,
                    ..IpSpec::default()
                },
                Vec::new(),
                Target::Accept,
            )
        };
        let rules = [rule(6, 1), rule(17, 2), rule(6, 3), rule(1, 4), rule(6, 5)];
        let index = SpecIndex::new(&rules);
        let found = |r: &Rule| index.matching(&rules, |x| x, r).collect::<Vec<_>>();
        // Handles and counters do not count, as for `iptables -C`.
        assert_eq!(found(&rule(6, 99)), [0, 2, 4]);
        assert_eq!(found(&rule(17, 99)), [1]);
        assert!(found(&rule(132, 99)).is_empty());
        assert!(SpecIndex::new(&[])
            .matching(&rules, |x| x, &rules[0])
            .next()
            .is_none());
    }

    #[test]
    fn spec_hash_tells_docker_like_rules_apart() {
        // A thousand published ports: rules that differ only in a match's
        // port, or only in the destination address, all hash apart.
        let mut seen = std::collections::HashSet::new();
        for port in 0..1000u16 {
            for dst in [[172, 17, 0, 2], [172, 17, 0, 3]] {
                let mut spec = IpSpec {
                    proto: 6,
                    ..IpSpec::default()
                };
                spec.dst.addr[..4].copy_from_slice(&dst);
                let mut data = vec![0u8; 16];
                data[4..6].copy_from_slice(&port.to_ne_bytes());
                let r = Rule::new(spec, vec![Extension::new("tcp", 0, data)], Target::Accept);
                assert!(seen.insert(spec_hash(&r)), "port {port} collides");
                let mut counted = r.clone();
                counted.counters.packets = 7;
                counted.handle = Some(9);
                assert_eq!(spec_hash(&r), spec_hash(&counted));
            }
        }
    }

    #[test]
    fn iface_masks_follow_iptables() {
        let exact = IfaceSel::parse("docker0", false).unwrap();
        assert_eq!(
            &exact.mask[..9],
            &[255, 255, 255, 255, 255, 255, 255, 255, 0]
        );
        assert_eq!(exact.text(), "docker0");
        let wild = IfaceSel::parse("eth+", false).unwrap();
        assert_eq!(&wild.mask[..4], &[255, 255, 255, 0]);
        assert_eq!(wild.text(), "eth+");
        assert!(IfaceSel::parse("", false).unwrap().is_any());
        assert!(IfaceSel::parse("0123456789abcdef", false).is_none());
    }
}
