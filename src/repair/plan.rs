//! The repair plan for one table: the chains Docker is missing, then every
//! missing Docker rule put back where Docker keeps it, and every rule that
//! points at a container's old address replaced in place. Nothing that is
//! not Docker's is touched, and a complete table gives an empty plan.

use super::place::{plan_chain, Placement, Step, Wanted};
use crate::docker::rules::{Expected, Judgement, Mode, Source};
use crate::ruleset::edit::{apply, Edit, EditError};
use crate::ruleset::Table;

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
    let mut current = table.clone();
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
                why: &r.origin.why,
            })
            .collect();
        let actual = current
            .chain(&ec.name)
            .map(|c| c.rules.clone())
            .unwrap_or_default();
        let stale = |a: &crate::ruleset::Rule, w: &crate::ruleset::Rule| {
            knowledge == Knowledge::Full
                && matches!(
                    expected.judge(&table.name, &ec.name, a),
                    Judgement::Stale { replaced_by: Some(r), .. } if r.rule.same_spec(w)
                )
        };
        let planned = plan_chain(&ec.name, &actual, &wanted, stale);
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
