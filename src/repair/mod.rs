//! `fix`: plan the edits that put Docker's rules back where Docker keeps
//! them, touching nothing else, and apply them atomically per back end.

pub mod apply;
pub mod place;
pub mod plan;

use crate::doctor::checks::rules::{docker_backend, Expectations};
use crate::doctor::facts::Facts;
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
}

/// Repairs Docker's rules towards `expected` (built from `facts`; see
/// [`crate::doctor::checks::rules::expectations`]), and with `all`, modules
/// and IP forwarding, as `facts` show them to be.
pub fn fix(facts: &Facts, expected: &Expectations, dry_run: bool, all: bool) -> FixReport {
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
            Ok(actions) => report.actions.extend(actions),
            Err(e) => report
                .problems
                .push(format!("{} {backend}: {e}", exp.family)),
        }
    }
    if all {
        host::fix_host(facts, dry_run, &mut report);
    }
    report
}

pub mod host;
