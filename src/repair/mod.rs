//! `fix`: plan the edits that put Docker's rules back where Docker keeps
//! them, touching nothing else, and apply them atomically per back end.

pub mod apply;
pub mod place;
pub mod plan;

use crate::doctor::checks::rules::{docker_backend, Expectations};
use crate::doctor::facts::Facts;
use crate::ruleset::Ruleset;
use crate::Family;
use apply::Action;
use plan::Knowledge;
use serde::Serialize;

/// What `fix` did, or (dry run) would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FixReport {
    pub schema: &'static str,
    pub dry_run: bool,
    /// Rule and chain changes, in order.
    pub actions: Vec<Action>,
    /// `--all`: modules loaded, sysctls set.
    pub host_actions: Vec<String>,
    /// Why some family or back end could not be repaired.
    pub problems: Vec<String>,
    /// Rules the check afterwards takes as the commit left them instead of
    /// dumping them again, and why that is safe.
    pub confirmed: Vec<String>,
}

/// Repairs Docker's rules towards `expected` (built from `facts`; see
/// [`crate::doctor::checks::rules::expectations`]), and with `all`, modules
/// and IP forwarding, as `facts` show them to be.
pub fn fix(facts: &Facts, expected: &Expectations, dry_run: bool, all: bool) -> FixReport {
    fix_confirmed(facts, expected, dry_run, all).0
}

/// [`fix`], with the nf_tables rules per family as its commits left them,
/// where the kernel confirmed them (the check after needs not dump them).
pub fn fix_confirmed(
    facts: &Facts,
    expected: &Expectations,
    dry_run: bool,
    all: bool,
) -> (FixReport, Vec<(Family, Ruleset, u32)>) {
    let mut confirmed = Vec::new();
    let mut report = FixReport {
        schema: "nfdoctor.fix/1",
        dry_run,
        ..FixReport::default()
    };
    let knowledge = if facts.docker.is_ok() {
        Knowledge::Full
    } else {
        Knowledge::DaemonOnly
    };
    for exp in &expected.families {
        if exp.tables.is_empty() || exp.backend != crate::docker::rules::FirewallBackend::Iptables {
            continue;
        }
        let backend = docker_backend(facts, exp.family);
        // What `check` just read, if the generation says it is current:
        // reading a ruleset of thousands of rules again costs seconds.
        let known = facts.ruleset(backend, exp.family).and_then(|r| {
            let genid = r.genid?;
            r.result.as_ref().ok().map(|rs| (rs, genid))
        });
        match apply::repair_family(exp, backend, knowledge, dry_run, known) {
            Ok(repaired) => {
                report.actions.extend(repaired.actions);
                if let Some((rs, genid)) = repaired.confirmed {
                    report.confirmed.push(format!(
                        "{} nf_tables rules at generation {genid}: the kernel echoed every \
                         rule it added as planned, and nothing else was committed",
                        exp.family
                    ));
                    confirmed.push((exp.family, rs, genid));
                }
            }
            Err(e) => report
                .problems
                .push(format!("{} {backend}: {e}", exp.family)),
        }
    }
    if all {
        host::fix_host(facts, dry_run, &mut report);
    }
    (report, confirmed)
}

pub mod host;
