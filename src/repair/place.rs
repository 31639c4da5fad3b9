//! Where a missing Docker rule goes back: next to the Docker rules that are
//! still there, in Docker's order; with none left, where Docker itself puts
//! it (the top for rules Docker inserts, the end for rules it appends).
//! Rules that are not Docker's never move. Pure code.

use crate::docker::rules::Reason;
use crate::ruleset::edit::Edit;
use crate::ruleset::{Rule, SpecIndex};

/// How Docker adds a rule to its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// `iptables -I CHAIN` (position 1).
    Insert,
    /// `iptables -A CHAIN`.
    Append,
}

/// One rule Docker must have in a chain, in Docker's order.
#[derive(Debug, Clone)]
pub struct Wanted<'a> {
    pub rule: &'a Rule,
    pub placement: Placement,
    /// Why Docker has it (shown with the plan).
    pub why: Reason<'a>,
}

/// A planned change with its reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub edit: Edit,
    pub why: String,
}

/// Plans the edits that make every `wanted` rule present in `chain`, whose
/// rules are now `actual`. `replacement(actual_rule)` is the wanted rule an
/// actual rule is Docker's older version of, if any (e.g. a DNAT for the
/// same port to a container's previous address): it is replaced in place.
/// Docker rules that are present are left where they are.
///
/// Linear in the chain's length (plus a log factor): the chain is a linked
/// list while planning, and each edit's position is counted afterwards,
/// because a chain holds tens of thousands of port rules.
pub fn plan_chain<'w>(
    chain: &str,
    actual: &[Rule],
    wanted: &[Wanted<'w>],
    replacement: impl Fn(&Rule) -> Option<&'w Rule>,
) -> ChainPlan {
    let (n, m) = (actual.len(), wanted.len());
    // Which actual rule each wanted one is (first unused match).
    let index = SpecIndex::new(actual);
    let mut tag: Vec<Option<usize>> = vec![None; n];
    let mut holder: Vec<Option<usize>> = vec![None; m];
    for (i, w) in wanted.iter().enumerate() {
        if let Some(at) = index
            .matching(actual, |r| r, w.rule)
            .find(|&at| tag[at].is_none())
        {
            tag[at] = Some(i);
            holder[i] = Some(at);
        }
    }
    if holder.iter().all(Option::is_some) {
        return ChainPlan {
            steps: Vec::new(),
            rules: actual.to_vec(),
        };
    }
    // Outdated Docker rules among the untagged ones, by the spec of the
    // wanted rule that replaces them, in chain order.
    let mut outdated: std::collections::HashMap<u64, Vec<(usize, &Rule)>> =
        std::collections::HashMap::new();
    for (a, r) in actual.iter().enumerate() {
        if tag[a].is_none() {
            if let Some(new) = replacement(r) {
                outdated
                    .entry(crate::ruleset::spec_hash(new))
                    .or_default()
                    .push((a, new));
            }
        }
    }
    // The chain as a linked list of nodes: `a < n` is actual[a] (or the
    // wanted rule replacing it), `n + i` is inserted wanted rule i.
    let mut list = Chain::new(n, n + m);
    enum Made {
        Inserted(usize),
        Replaced(usize),
    }
    let mut made = Vec::new();
    let mut replaced_by: Vec<Option<usize>> = vec![None; n];
    for (i, w) in wanted.iter().enumerate() {
        if holder[i].is_some() {
            continue;
        }
        let old = outdated
            .get(&crate::ruleset::spec_hash(w.rule))
            .and_then(|v| {
                v.iter()
                    .find(|&&(a, new)| tag[a].is_none() && new.same_spec(w.rule))
            })
            .map(|&(a, _)| a);
        if let Some(a) = old {
            tag[a] = Some(i);
            holder[i] = Some(a);
            replaced_by[a] = Some(i);
            made.push((Made::Replaced(a), i));
            continue;
        }
        let node = n + i;
        if i > 0 {
            // Every earlier wanted rule is in the chain by now: right after
            // the one before it.
            let prev = holder[i - 1].unwrap_or(node);
            list.insert_after(prev, node);
        } else if let Some(next) = (1..m).find_map(|k| holder[k]) {
            list.insert_before(next, node);
        } else {
            match w.placement {
                Placement::Insert => list.insert_before(list.first(), node),
                Placement::Append => list.push_back(node),
            }
        }
        holder[i] = Some(node);
        made.push((Made::Inserted(node), i));
    }
    // Final positions, then each edit's index as the edits are applied in
    // order: the nodes in the chain at that time that come before it.
    let order = list.order();
    let mut position = vec![0; n + m];
    for (p, &node) in order.iter().enumerate() {
        position[node] = p;
    }
    let mut present = Counts::new(order.len());
    for &p in &position[..n] {
        present.add(p);
    }
    let mut steps = Vec::with_capacity(made.len());
    for (what, i) in made {
        let w = &wanted[i];
        let mut rule = w.rule.clone();
        rule.handle = None;
        let step = match what {
            Made::Replaced(a) => Step {
                why: format!(
                    "{} (replaces an outdated rule: {})",
                    w.why,
                    brief(&actual[a])
                ),
                edit: Edit::Replace {
                    chain: chain.to_string(),
                    index: present.before(position[a]),
                    rule,
                },
            },
            Made::Inserted(node) => {
                let index = present.before(position[node]);
                present.add(position[node]);
                Step {
                    why: w.why.to_string(),
                    edit: Edit::Insert {
                        chain: chain.to_string(),
                        index,
                        rule,
                    },
                }
            }
        };
        steps.push(step);
    }
    let rules = order
        .into_iter()
        .map(|node| {
            let wanted_rule = |i: usize| {
                let mut rule = wanted[i].rule.clone();
                rule.handle = None;
                rule
            };
            if node >= n {
                wanted_rule(node - n)
            } else {
                replaced_by[node].map_or_else(|| actual[node].clone(), wanted_rule)
            }
        })
        .collect();
    ChainPlan { steps, rules }
}

/// A doubly linked list over node ids `0..capacity`, holding `0..initial`
/// in order at first.
struct Chain {
    prev: Vec<usize>,
    next: Vec<usize>,
}

impl Chain {
    /// Id of the sentinel: before the first node and after the last.
    fn end(&self) -> usize {
        self.next.len() - 1
    }

    fn new(initial: usize, capacity: usize) -> Chain {
        let end = capacity;
        let mut prev = vec![end; capacity + 1];
        let mut next = vec![end; capacity + 1];
        for i in 0..initial {
            prev[i] = if i == 0 { end } else { i - 1 };
            next[i] = if i + 1 == initial { end } else { i + 1 };
        }
        if initial > 0 {
            next[end] = 0;
            prev[end] = initial - 1;
        }
        Chain { prev, next }
    }

    fn first(&self) -> usize {
        self.next[self.end()]
    }

    fn insert_after(&mut self, at: usize, node: usize) {
        let after = self.next[at];
        self.next[at] = node;
        self.prev[node] = at;
        self.next[node] = after;
        self.prev[after] = node;
    }

    fn insert_before(&mut self, at: usize, node: usize) {
        self.insert_after(self.prev[at], node);
    }

    fn push_back(&mut self, node: usize) {
        self.insert_before(self.end(), node);
    }

    fn order(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = self.first();
        while at != self.end() {
            out.push(at);
            at = self.next[at];
        }
        out
    }
}

/// How many of the positions `0..len` are taken, before a given one
/// (a Fenwick tree).
struct Counts {
    tree: Vec<usize>,
}

impl Counts {
    fn new(len: usize) -> Counts {
        Counts {
            tree: vec![0; len + 1],
        }
    }

    fn add(&mut self, position: usize) {
        let mut i = position + 1;
        while i < self.tree.len() {
            self.tree[i] += 1;
            i += i & i.wrapping_neg();
        }
    }

    /// Taken positions below `position`.
    fn before(&self, position: usize) -> usize {
        let (mut i, mut sum) = (position, 0);
        while i > 0 {
            sum += self.tree[i];
            i -= i & i.wrapping_neg();
        }
        sum
    }
}

/// What [`plan_chain`] found: the edits, and the chain they make (built
/// once here, rather than by applying each edit to a copy of a long chain).
#[derive(Debug, Clone)]
pub struct ChainPlan {
    pub steps: Vec<Step>,
    pub rules: Vec<Rule>,
}

fn brief(rule: &Rule) -> String {
    format!("{:?}", rule.target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::rules::{Source, Why};
    use crate::ruleset::{IpSpec, Target};

    fn r(chain: &str) -> Rule {
        Rule::new(IpSpec::default(), Vec::new(), Target::Jump(chain.into()))
    }

    fn apply(actual: &[Rule], steps: &[Step]) -> Vec<Rule> {
        let mut v = actual.to_vec();
        for s in steps {
            match &s.edit {
                Edit::Insert { index, rule, .. } => v.insert(*index, rule.clone()),
                Edit::Replace { index, rule, .. } => v[*index] = rule.clone(),
                other => panic!("unexpected {other:?}"),
            }
        }
        v
    }

    /// Plans, and checks that the chain the plan reports is the one its
    /// steps make, applied one by one.
    fn plan<'w>(
        actual: &[Rule],
        wanted: &[Wanted<'w>],
        replacement: impl Fn(&Rule) -> Option<&'w Rule>,
    ) -> Vec<Step> {
        let p = plan_chain("CHAIN", actual, wanted, replacement);
        assert_eq!(p.rules, apply(actual, &p.steps));
        p.steps
    }

    fn names(v: &[Rule]) -> Vec<String> {
        v.iter()
            .map(|r| r.target.chain().unwrap_or("?").to_string())
            .collect()
    }

    #[test]
    fn missing_rules_go_between_their_docker_neighbours() {
        let (a, b, c, user) = (r("A"), r("B"), r("C"), r("USER"));
        let wanted = [
            Wanted {
                rule: &a,
                placement: Placement::Insert,
                why: Reason::new(&Why::Static("a"), &Source::Daemon),
            },
            Wanted {
                rule: &b,
                placement: Placement::Append,
                why: Reason::new(&Why::Static("b"), &Source::Daemon),
            },
            Wanted {
                rule: &c,
                placement: Placement::Append,
                why: Reason::new(&Why::Static("c"), &Source::Daemon),
            },
        ];
        // B missing between A and C, a user rule at the end.
        let actual = vec![a.clone(), c.clone(), user.clone()];
        let steps = plan(&actual, &wanted, |_| None);
        assert_eq!(names(&apply(&actual, &steps)), ["A", "B", "C", "USER"]);
        // Nothing of Docker left: inserted rules to the top, appended ones
        // after them, user rules untouched and in their order.
        let actual = vec![user.clone(), r("USER2")];
        let steps = plan(&actual, &wanted, |_| None);
        assert_eq!(
            names(&apply(&actual, &steps)),
            ["A", "B", "C", "USER", "USER2"]
        );
        // Complete: nothing to do.
        let actual = vec![a.clone(), b.clone(), c.clone()];
        assert!(plan(&actual, &wanted, |_| None).is_empty());
    }

    #[test]
    fn stale_rules_are_replaced_in_place() {
        let (old, new, other) = (r("OLD"), r("NEW"), r("OTHER"));
        let wanted = [Wanted {
            rule: &new,
            placement: Placement::Append,
            why: Reason::new(&Why::Static("dnat"), &Source::Daemon),
        }];
        let actual = vec![other.clone(), old.clone()];
        let steps = plan(&actual, &wanted, |a| {
            (a.target.chain() == Some("OLD")).then_some(&new)
        });
        assert!(matches!(steps[0].edit, Edit::Replace { index: 1, .. }));
        assert_eq!(names(&apply(&actual, &steps)), ["OTHER", "NEW"]);
    }

    /// The plan as first written: the chain as a vector, each edit applied
    /// at once (quadratic, obviously right).
    fn reference<'w>(
        actual: &[Rule],
        wanted: &[Wanted<'w>],
        replacement: impl Fn(&Rule) -> Option<&'w Rule>,
    ) -> Vec<(bool, usize, String)> {
        let mut rules: Vec<(Rule, Option<usize>)> =
            actual.iter().map(|r| (r.clone(), None)).collect();
        for (i, w) in wanted.iter().enumerate() {
            if let Some(at) = rules
                .iter()
                .position(|(r, t)| t.is_none() && r.same_spec(w.rule))
            {
                rules[at].1 = Some(i);
            }
        }
        let present: Vec<bool> = (0..wanted.len())
            .map(|i| rules.iter().any(|(_, t)| *t == Some(i)))
            .collect();
        let mut out = Vec::new();
        for (i, w) in wanted.iter().enumerate() {
            if present[i] {
                continue;
            }
            if let Some(at) = rules.iter().position(|(r, t)| {
                t.is_none() && replacement(r).is_some_and(|new| new.same_spec(w.rule))
            }) {
                rules[at] = (w.rule.clone(), Some(i));
                out.push((false, at, w.why.to_string()));
                continue;
            }
            let after = (0..i)
                .rev()
                .find_map(|j| rules.iter().position(|(_, t)| *t == Some(j)))
                .map(|p| p + 1);
            let before = || {
                (i + 1..wanted.len()).find_map(|k| rules.iter().position(|(_, t)| *t == Some(k)))
            };
            let index = after.or_else(before).unwrap_or(match w.placement {
                Placement::Insert => 0,
                Placement::Append => rules.len(),
            });
            rules.insert(index, (w.rule.clone(), Some(i)));
            out.push((true, index, w.why.to_string()));
        }
        out
    }

    #[test]
    fn linked_list_plan_agrees_with_the_vector_one() {
        // Rules named by a letter; wanted rules are A..H in order, an actual
        // rule "x" (lower case) is an outdated version of "X".
        let names: Vec<String> = ('A'..='H')
            .chain('a'..='h')
            .chain(['U', 'V'])
            .map(String::from)
            .collect();
        let whys: Vec<Why> = names.iter().map(|n| Why::Text(n.clone())).collect();
        let daemon = Source::Daemon;
        let rules: Vec<Rule> = names.iter().map(|n| r(n)).collect();
        let by_name = |n: &str| &rules[names.iter().position(|x| x == n).unwrap_or(0)];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..3000 {
            let m = 1 + next(8) as usize;
            let wanted: Vec<Wanted<'_>> = (0..m)
                .map(|i| Wanted {
                    rule: &rules[i],
                    placement: if next(2) == 0 {
                        Placement::Insert
                    } else {
                        Placement::Append
                    },
                    why: Reason::new(&whys[i], &daemon),
                })
                .collect();
            let len = next(10) as usize;
            let actual: Vec<Rule> = (0..len)
                .map(|_| rules[next(rules.len() as u64) as usize].clone())
                .collect();
            let replacement = |a: &Rule| {
                let n = a.target.chain()?;
                let upper = n.to_ascii_uppercase();
                (n != upper && !n.starts_with(['U', 'V'])).then(|| by_name(&upper))
            };
            let p = plan_chain("CHAIN", &actual, &wanted, replacement);
            let got: Vec<(bool, usize, String)> = p
                .steps
                .iter()
                .map(|s| match &s.edit {
                    Edit::Insert { index, .. } => (true, *index, s.why.clone()),
                    Edit::Replace { index, .. } => (
                        false,
                        *index,
                        s.why.split(' ').next().unwrap_or("").to_string(),
                    ),
                    other => panic!("unexpected {other:?}"),
                })
                .collect();
            let want = reference(&actual, &wanted, replacement);
            assert_eq!(got, want, "actual {:?}", names_of(&actual));
            assert_eq!(p.rules, apply(&actual, &p.steps));
        }
    }

    fn names_of(v: &[Rule]) -> Vec<String> {
        names(v)
    }
}
