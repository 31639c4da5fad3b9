//! The repair plan for one table: the chains Docker is missing, then every
//! missing Docker rule put back where Docker keeps it, and every rule that
//! points at a container's old address replaced in place. Nothing that is
//! not Docker's is touched, and a complete table gives an empty plan.

use super::place::{plan_chain, Placement, Step, Wanted};
use crate::docker::rules::{Expected, Judgement, Mode, Source};
use crate::ruleset::edit::{apply, Edit, EditError};
use crate::ruleset::{Chain, Rule, Table};

/// Which expected rules may be put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knowledge {
    /// The Engine API told networks and containers: every rule.
    Full,
    /// Only the ruleset's fingerprint: the daemon's own chains and rules.
    DaemonOnly,
}

fn placement(mode: Mode) -> Placement {
    match mode {
        Mode::Append => Placement::Append,
        Mode::Insert | Mode::EnsureJump => Placement::Insert,
    }
}

/// Plans `table` (as it is now) against `expected`; returns the steps and
/// the table they produce.
pub fn plan_table(
    expected: &Expected,
    table: &Table,
    knowledge: Knowledge,
) -> Result<(Vec<Step>, Table), EditError> {
    let Some(exp) = expected.table(&table.name) else {
        return Ok((Vec::new(), table.clone()));
    };
    let mut steps = Vec::new();
    // The table's own chains, without the rules of those Docker has: they
    // are planned from `table` below (a copy of thousands of port rules
    // costs as much as planning them).
    let mut current = Table {
        name: table.name.clone(),
        compat: table.compat.clone(),
        chains: table
            .chains
            .iter()
            .map(|c| {
                if exp.chains.iter().any(|ec| ec.name == c.name) {
                    Chain {
                        name: c.name.clone(),
                        base: c.base.clone(),
                        counters: c.counters,
                        rules: Vec::new(),
                    }
                } else {
                    c.clone()
                }
            })
            .collect(),
    };
    // Chains first, so that rules can jump to them.
    for ec in &exp.chains {
        if current.chain(&ec.name).is_some() {
            continue;
        }
        let edit = if ec.builtin {
            Edit::EnsureBuiltin {
                chain: ec.name.clone(),
                policy: None,
                counters: None,
            }
        } else {
            Edit::CreateChain {
                chain: ec.name.clone(),
            }
        };
        apply(&mut current, &edit)?;
        steps.push(Step {
            edit,
            why: format!("Docker's chain {} is missing", ec.name),
        });
    }
    for ec in &exp.chains {
        let wanted: Vec<Wanted<'_>> = ec
            .rules
            .iter()
            .filter(|r| knowledge == Knowledge::Full || matches!(r.origin.source, Source::Daemon))
            .map(|r| Wanted {
                rule: &r.rule,
                placement: placement(r.origin.mode),
                why: r.origin.reason(),
            })
            .collect();
        let actual = table.chain(&ec.name).map_or(&[][..], |c| &c.rules);
        let replacement = |a: &Rule| match expected.judge(&table.name, &ec.name, a) {
            Judgement::Stale {
                replaced_by: Some(r),
                ..
            } if knowledge == Knowledge::Full => Some(&r.rule),
            _ => None,
        };
        let planned = plan_chain(&ec.name, actual, &wanted, replacement);
        match current.chain_mut(&ec.name) {
            Some(c) => c.rules = planned.rules,
            // A built-in chain nf_tables has not created yet: its edits
            // create it.
            None => {
                for step in &planned.steps {
                    apply(&mut current, &step.edit)?;
                }
            }
        }
        steps.extend(planned.steps);
    }
    Ok((steps, current))
}
