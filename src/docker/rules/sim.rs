//! Replays Docker's iptables calls on an in-memory ruleset: the builders say
//! what dockerd runs (`-N`, append-if-missing, insert-if-missing, ensure
//! jump, delete) in the order it runs them, and the result is the ruleset it
//! leaves behind — ordering and provenance included. Rules are compared by
//! their canonical text, as `iptables -C` compares them.

use super::typed::Typed;
use super::{ExpectedPolicy, ExpectedRule, Mode, Origin, Source, Why};
use crate::ruleset::BUILTIN_CHAINS;
use crate::ruleset::{IpSpec, KeyIsHash, Rule, SpecHasher, Target};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A chain as Docker's calls leave it. Its rules are held as the expected
/// rules they become, so finishing the chain copies none of them (a host
/// publishing thousands of ports has thousands in a chain, of hundreds of
/// bytes each): a rule a typed builder made ([`typed`](super::typed)) is
/// complete; any other holds an empty rule until
/// [`SimChain::into_rules`]'s caller parses its line.
#[derive(Debug, Clone)]
pub(crate) struct SimChain {
    pub name: String,
    pub builtin: bool,
    /// Docker inserts many rules at the top (`-I CHAIN 1`) and appends
    /// many: both ends grow without moving the rules there.
    rules: TwoEnded<ExpectedRule>,
    /// Per rule: whether it was built typed (else its line is to be parsed).
    typed: TwoEnded<bool>,
    /// How many rules have arguments of each hash: `-C` without a scan (a
    /// host publishes thousands of ports), and without a copy of each
    /// rule's text. A hash held confirms by a scan.
    present: HashMap<u64, usize, BuildHasherDefault<KeyIsHash>>,
}

fn text_hash(args: &str) -> u64 {
    let mut h = SpecHasher::default();
    h.write(args.as_bytes());
    h.finish()
}

impl SimChain {
    fn new(name: &str, builtin: bool) -> SimChain {
        SimChain {
            name: name.to_string(),
            builtin,
            rules: TwoEnded::default(),
            typed: TwoEnded::default(),
            present: HashMap::default(),
        }
    }

    /// Room for `n` more rules: the chain's buffers grow once, not by
    /// doubling and copying.
    fn reserve(&mut self, n: usize) {
        self.rules.reserve(n);
        self.typed.reserve(n);
        self.present.reserve(n);
    }

    /// The length of `-A CHAIN ` in front of each rule's arguments.
    fn prefix_len(&self) -> usize {
        "-A ".len() + self.name.len() + 1
    }

    /// The arguments after `-A CHAIN` of a rule of this chain.
    fn args<'r>(&self, rule: &'r ExpectedRule) -> &'r str {
        rule.line.get(self.prefix_len()..).unwrap_or_default()
    }

    /// Adds the rule with arguments `args` first in the chain (`-I CHAIN
    /// 1`) or last: the finished rule when `typed` has it, else its line.
    fn add(&mut self, first: bool, args: String, typed: Option<Typed>, origin: Origin) {
        *self.present.entry(text_hash(&args)).or_default() += 1;
        // The rule's own text with the chain in front: no new string
        // (`Line` left room for it).
        let mut line = args;
        for part in [" ", self.name.as_str(), "-A "] {
            line.insert_str(0, part);
        }
        let built = typed.is_some();
        let (rule, kind) = match typed {
            Some(t) => (t.rule, Some(t.kind)),
            None => (
                Rule::new(IpSpec::default(), Vec::new(), Target::Continue),
                None,
            ),
        };
        let rule = ExpectedRule {
            line,
            rule,
            origin,
            kind,
        };
        if first {
            self.rules.push_front(rule);
            self.typed.push_front(built);
        } else {
            self.rules.push_back(rule);
            self.typed.push_back(built);
        }
    }

    fn remove(&mut self, i: usize) {
        let Some(rule) = self.rules.remove(i) else {
            return;
        };
        self.typed.remove(i);
        let hash = text_hash(self.args(&rule));
        if let Some(n) = self.present.get_mut(&hash) {
            *n -= 1;
            if *n == 0 {
                self.present.remove(&hash);
            }
        }
    }

    /// Where the first rule with `args` is.
    fn position(&self, args: &str) -> Option<usize> {
        if !self.present.contains_key(&text_hash(args)) {
            return None;
        }
        self.rules.iter().position(|r| self.args(r) == args)
    }

    /// The rules in order, and for each whether it was built typed: the
    /// others still need their line parsed.
    pub fn into_rules(self) -> (Vec<ExpectedRule>, Vec<bool>) {
        (self.rules.into_vec(), self.typed.into_vec())
    }
}

/// A sequence that grows at both ends in place: the rules put in front, in
/// the order they came (the first rule is the last one there), then those
/// put at the back. Finishing it reverses the front in its own buffer and
/// moves the shorter end onto the longer; a `VecDeque`, whose buffer wraps
/// around, moved every rule of a chain of thousands when made contiguous,
/// into untouched pages when its room was reserved generously.
#[derive(Debug, Clone)]
struct TwoEnded<T> {
    front: Vec<T>,
    back: Vec<T>,
}

impl<T> Default for TwoEnded<T> {
    fn default() -> Self {
        TwoEnded {
            front: Vec::new(),
            back: Vec::new(),
        }
    }
}

impl<T> TwoEnded<T> {
    fn len(&self) -> usize {
        self.front.len() + self.back.len()
    }

    /// Room for `n` more at whichever end they come to.
    fn reserve(&mut self, n: usize) {
        self.front.reserve(n);
        self.back.reserve(n);
    }

    fn push_front(&mut self, item: T) {
        self.front.push(item);
    }

    fn push_back(&mut self, item: T) {
        self.back.push(item);
    }

    /// Where the `i`th (in order) is: at the front (its index there), or
    /// at the back.
    fn locate(&self, i: usize) -> Result<usize, usize> {
        match self.front.len().checked_sub(i + 1) {
            Some(f) => Ok(f),
            None => Err(i - self.front.len()),
        }
    }

    fn remove(&mut self, i: usize) -> Option<T> {
        if i >= self.len() {
            return None;
        }
        Some(match self.locate(i) {
            Ok(f) => self.front.remove(f),
            Err(b) => self.back.remove(b),
        })
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.front.iter().rev().chain(&self.back)
    }

    /// The elements in order.
    fn into_vec(self) -> Vec<T> {
        let TwoEnded {
            mut front,
            mut back,
        } = self;
        front.reverse();
        if back.is_empty() {
            front
        } else if front.len() >= back.len() {
            front.append(&mut back);
            front
        } else {
            back.splice(0..0, front);
            back
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SimTable {
    pub name: &'static str,
    pub chains: Vec<SimChain>,
}

#[derive(Debug)]
pub(crate) struct Sim {
    pub tables: Vec<SimTable>,
    pub policies: Vec<ExpectedPolicy>,
    pub caveats: Vec<String>,
}

fn is_builtin(table: &str, chain: &str) -> bool {
    BUILTIN_CHAINS
        .iter()
        .any(|(t, c, _, _, _)| *t == table && *c == chain)
}

impl Sim {
    pub fn new() -> Sim {
        Sim {
            tables: Vec::new(),
            policies: Vec::new(),
            caveats: Vec::new(),
        }
    }

    fn table(&mut self, table: &'static str) -> &mut SimTable {
        if let Some(i) = self.tables.iter().position(|t| t.name == table) {
            return &mut self.tables[i];
        }
        self.tables.push(SimTable {
            name: table,
            chains: Vec::new(),
        });
        self.tables.last_mut().expect("just pushed")
    }

    fn chain_mut(&mut self, table: &'static str, chain: &str) -> &mut SimChain {
        let t = self.table(table);
        if let Some(i) = t.chains.iter().position(|c| c.name == chain) {
            return &mut t.chains[i];
        }
        let builtin = is_builtin(table, chain);
        debug_assert!(builtin, "{table} {chain} used before -N");
        t.chains.push(SimChain::new(chain, builtin));
        t.chains.last_mut().expect("just pushed")
    }

    fn chain(&self, table: &str, chain: &str) -> Option<&SimChain> {
        self.tables
            .iter()
            .find(|t| t.name == table)?
            .chains
            .iter()
            .find(|c| c.name == chain)
    }

    /// `table` `chain` if it exists (unlike [`Sim::chain_mut`], which
    /// makes a built-in chain).
    fn existing_mut(&mut self, table: &str, chain: &str) -> Option<&mut SimChain> {
        self.tables
            .iter_mut()
            .find(|t| t.name == table)?
            .chains
            .iter_mut()
            .find(|c| c.name == chain)
    }

    /// `iptables -C`.
    fn exists(&self, table: &str, chain: &str, args: &str) -> bool {
        self.find(table, chain, args).is_some()
    }

    fn find(&self, table: &str, chain: &str, args: &str) -> Option<usize> {
        self.chain(table, chain)?.position(args)
    }

    /// `iptables -N CHAIN` (if it does not exist yet).
    pub fn new_chain(&mut self, table: &'static str, chain: &str) {
        let t = self.table(table);
        if !t.chains.iter().any(|c| c.name == chain) {
            t.chains.push(SimChain::new(chain, false));
        }
    }

    /// `-C` then `-A`.
    pub fn append(
        &mut self,
        table: &'static str,
        chain: &str,
        args: String,
        source: &Source,
        why: impl Into<Why>,
    ) {
        self.add(table, chain, Mode::Append, args, None, source, why);
    }

    /// `-C` then `-I CHAIN 1`.
    pub fn insert(
        &mut self,
        table: &'static str,
        chain: &str,
        args: String,
        source: &Source,
        why: impl Into<Why>,
    ) {
        self.add(table, chain, Mode::Insert, args, None, source, why);
    }

    /// Delete if present, then `-I CHAIN 1` (filter table).
    pub fn ensure_jump(&mut self, chain: &str, args: String, source: &Source, why: impl Into<Why>) {
        self.add("filter", chain, Mode::EnsureJump, args, None, source, why);
    }

    /// Adds a rule as Docker does in `mode`: append or insert if missing,
    /// or move to the top ([`Mode::EnsureJump`]). `typed` is the same rule
    /// already built as a model rule, when its builder can
    /// ([`typed`](super::typed)).
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        table: &'static str,
        chain: &str,
        mode: Mode,
        args: String,
        typed: Option<Typed>,
        source: &Source,
        why: impl Into<Why>,
    ) {
        let first = match mode {
            Mode::EnsureJump => {
                self.delete(table, chain, &args);
                true
            }
            _ if self.exists(table, chain, &args) => return,
            Mode::Append => false,
            Mode::Insert => true,
        };
        let origin = Origin {
            source: source.clone(),
            mode,
            why: why.into(),
        };
        self.chain_mut(table, chain).add(first, args, typed, origin);
    }

    /// Room for `n` more rules in `table` `chain`, if it exists, before a
    /// builder adds about that many.
    pub fn reserve(&mut self, table: &str, chain: &str, n: usize) {
        if let Some(c) = self.existing_mut(table, chain) {
            c.reserve(n);
        }
    }

    /// `-C` then `-D`.
    pub fn delete(&mut self, table: &'static str, chain: &str, args: &str) {
        if let Some(i) = self.find(table, chain, args) {
            if let Some(c) = self.existing_mut(table, chain) {
                c.remove(i);
            }
        }
    }

    pub fn policy(&mut self, p: ExpectedPolicy) {
        if !self
            .policies
            .iter()
            .any(|q| q.table == p.table && q.chain == p.chain)
        {
            self.policies.push(p);
        }
    }

    pub fn caveat(&mut self, text: impl Into<String>) {
        let text = text.into();
        if !self.caveats.contains(&text) {
            self.caveats.push(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::typed;
    use super::*;
    use crate::docker::Proto;
    use crate::Family;

    /// A `TwoEnded` holds what a `VecDeque` given the same pushes and
    /// removals holds, and finishes as the same vector.
    #[test]
    fn two_ended_keeps_a_deques_order() {
        use std::collections::VecDeque;
        let mut model = VecDeque::new();
        let mut ours = TwoEnded::default();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for n in 0..3000u32 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let pick = (seed >> 8) as usize % (model.len() + 1);
            match seed % 5 {
                0 | 1 => {
                    ours.push_front(n);
                    model.push_front(n);
                }
                2 | 3 => {
                    ours.push_back(n);
                    model.push_back(n);
                }
                _ => assert_eq!(ours.remove(pick), model.remove(pick)),
            }
            assert_eq!(ours.len(), model.len());
            if n % 101 == 0 {
                assert!(ours.iter().eq(model.iter()));
                assert_eq!(ours.clone().into_vec(), Vec::from(model.clone()));
            }
        }
        assert_eq!(ours.into_vec(), Vec::from(model));
        // Each way of finishing: one end empty, or either end the longer.
        for (fronts, backs) in [(3, 0), (0, 3), (3, 1), (1, 3)] {
            let mut ours = TwoEnded::default();
            let mut model = VecDeque::new();
            for n in 0..fronts {
                ours.push_front(n);
                model.push_front(n);
            }
            for n in 10..10 + backs {
                ours.push_back(n);
                model.push_back(n);
            }
            assert_eq!(ours.into_vec(), Vec::from(model));
        }
    }

    const ACCEPT: &str =
        "-d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT";

    fn accept() -> Option<Typed> {
        let ip = "172.17.0.2".parse().unwrap();
        typed::port_accept(Family::Ipv4, ip, "docker0", Proto::Tcp, 80)
    }

    /// Rules added, moved and deleted keep their lines, their typed rules
    /// and their "still to parse" marks together.
    #[test]
    fn rules_keep_their_typed_mark_through_inserts_moves_and_deletes() {
        let mut sim = Sim::new();
        let src = Source::Daemon;
        sim.new_chain("filter", "DOCKER");
        sim.reserve("filter", "DOCKER", 4);
        sim.append("filter", "DOCKER", "-j RETURN".into(), &src, "last");
        let typed = accept();
        assert!(typed.is_some());
        let mode = Mode::Insert;
        sim.add("filter", "DOCKER", mode, ACCEPT.into(), typed, &src, "port");
        sim.ensure_jump("DOCKER", "-j DROP".into(), &src, "first");
        // Already there: -C finds it, nothing is added.
        sim.append("filter", "DOCKER", "-j RETURN".into(), &src, "again");
        sim.delete("filter", "DOCKER", "-j RETURN");
        sim.append("filter", "DOCKER", "-j RETURN".into(), &src, "back");

        let table = sim.tables.remove(0);
        let chain = table.chains.into_iter().find(|c| c.name == "DOCKER");
        let (rules, typed) = chain.expect("DOCKER").into_rules();
        let lines: Vec<&str> = rules.iter().map(|r| r.line.as_str()).collect();
        let accept_line = format!("-A DOCKER {ACCEPT}");
        assert_eq!(
            lines,
            ["-A DOCKER -j DROP", &accept_line, "-A DOCKER -j RETURN"]
        );
        assert_eq!(typed, [false, true, false]);
        assert_eq!(Some(&rules[1].rule), accept().map(|t| t.rule).as_ref());
        assert_eq!(rules[2].origin.reason().to_string(), "back");
    }
}
