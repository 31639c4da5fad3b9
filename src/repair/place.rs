//! Where a missing Docker rule goes back: next to the Docker rules that are
//! still there, in Docker's order; with none left, where Docker itself puts
//! it (the top for rules Docker inserts, the end for rules it appends).
//! Rules that are not Docker's never move. Pure code.

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
    pub why: &'a str,
}

/// A planned change with its reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub edit: Edit,
    pub why: String,
}

/// Plans the edits that make every `wanted` rule present in `chain`, whose
/// rules are now `actual`. `stale(actual_rule, wanted_rule)` says an actual
/// rule is Docker's older version of a wanted one (e.g. a DNAT for the same
/// port to a container's previous address): it is replaced in place.
/// Docker rules that are present are left where they are.
pub fn plan_chain(
    chain: &str,
    actual: &[Rule],
    wanted: &[Wanted<'_>],
    stale: impl Fn(&Rule, &Rule) -> bool,
) -> ChainPlan {
    // The chain as it evolves, as small references (a chain holds
    // thousands of port rules; moving whole rules on every insert made
    // this quadratic in bytes): `Slot::Actual(i)` is `actual[i]`, and the
    // tag `Some(w)` marks wanted rule `w`.
    #[derive(Clone, Copy)]
    enum Slot {
        Actual(usize),
        Wanted(usize),
    }
    let mut rules: Vec<(Slot, Option<usize>)> =
        (0..actual.len()).map(|i| (Slot::Actual(i), None)).collect();
    // Match present wanted rules to actual ones (first unused match),
    // through an index.
    let index = SpecIndex::new(actual);
    let mut present = vec![false; wanted.len()];
    for (i, w) in wanted.iter().enumerate() {
        if let Some(at) = index
            .matching(actual, |r| r, w.rule)
            .find(|&at| rules[at].1.is_none())
        {
            rules[at].1 = Some(i);
            present[i] = true;
        }
    }
    let rule_of = |slot: Slot| match slot {
        Slot::Actual(i) => &actual[i],
        Slot::Wanted(w) => wanted[w].rule,
    };
    let mut steps = Vec::new();
    for (i, w) in wanted.iter().enumerate() {
        if present[i] {
            continue;
        }
        if let Some(at) = rules
            .iter()
            .position(|&(r, tag)| tag.is_none() && stale(rule_of(r), w.rule))
        {
            let old = rule_of(rules[at].0);
            let why = format!("{} (replaces an outdated rule: {})", w.why, brief(old));
            rules[at] = (Slot::Wanted(i), Some(i));
            let mut rule = w.rule.clone();
            rule.handle = None;
            steps.push(Step {
                edit: Edit::Replace {
                    chain: chain.to_string(),
                    index: at,
                    rule,
                },
                why,
            });
            continue;
        }
        let after = (0..i)
            .rev()
            .find_map(|j| rules.iter().position(|(_, tag)| *tag == Some(j)))
            .map(|p| p + 1);
        let before = || {
            (i + 1..wanted.len()).find_map(|k| rules.iter().position(|(_, tag)| *tag == Some(k)))
        };
        let index = after.or_else(before).unwrap_or(match w.placement {
            Placement::Insert => 0,
            Placement::Append => rules.len(),
        });
        rules.insert(index, (Slot::Wanted(i), Some(i)));
        let mut rule = w.rule.clone();
        rule.handle = None;
        steps.push(Step {
            edit: Edit::Insert {
                chain: chain.to_string(),
                index,
                rule,
            },
            why: w.why.to_string(),
        });
    }
    let rules = rules
        .into_iter()
        .map(|(slot, _)| match slot {
            Slot::Actual(i) => actual[i].clone(),
            Slot::Wanted(w) => {
                let mut rule = wanted[w].rule.clone();
                rule.handle = None;
                rule
            }
        })
        .collect();
    ChainPlan { steps, rules }
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
    fn plan(
        actual: &[Rule],
        wanted: &[Wanted<'_>],
        stale: impl Fn(&Rule, &Rule) -> bool,
    ) -> Vec<Step> {
        let p = plan_chain("CHAIN", actual, wanted, stale);
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
                why: "a",
            },
            Wanted {
                rule: &b,
                placement: Placement::Append,
                why: "b",
            },
            Wanted {
                rule: &c,
                placement: Placement::Append,
                why: "c",
            },
        ];
        // B missing between A and C, a user rule at the end.
        let actual = vec![a.clone(), c.clone(), user.clone()];
        let steps = plan(&actual, &wanted, |_, _| false);
        assert_eq!(names(&apply(&actual, &steps)), ["A", "B", "C", "USER"]);
        // Nothing of Docker left: inserted rules to the top, appended ones
        // after them, user rules untouched and in their order.
        let actual = vec![user.clone(), r("USER2")];
        let steps = plan(&actual, &wanted, |_, _| false);
        assert_eq!(
            names(&apply(&actual, &steps)),
            ["A", "B", "C", "USER", "USER2"]
        );
        // Complete: nothing to do.
        let actual = vec![a.clone(), b.clone(), c.clone()];
        assert!(plan(&actual, &wanted, |_, _| false).is_empty());
    }

    #[test]
    fn stale_rules_are_replaced_in_place() {
        let (old, new, other) = (r("OLD"), r("NEW"), r("OTHER"));
        let wanted = [Wanted {
            rule: &new,
            placement: Placement::Append,
            why: "dnat",
        }];
        let actual = vec![other.clone(), old.clone()];
        let steps = plan(&actual, &wanted, |a, _| a.target.chain() == Some("OLD"));
        assert!(matches!(steps[0].edit, Edit::Replace { index: 1, .. }));
        assert_eq!(names(&apply(&actual, &steps)), ["OTHER", "NEW"]);
    }
}
