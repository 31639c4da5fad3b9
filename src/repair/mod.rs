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
    fix_confirmed::<()>(facts, expected, dry_run, all, None).report
}

/// A fix, and what was learnt while the kernel committed it.
#[derive(Debug)]
pub struct Fixed<R> {
    pub report: FixReport,
    /// The nf_tables rules per family as the commits left them, where the
    /// kernel confirmed them (the check after needs not dump them).
    pub confirmed: Vec<Known>,
    /// What `speculate` made of the rules as the commits would leave them,
    /// when they did (every change was one confirmed nf_tables commit).
    pub speculated: Option<R>,
}

pub use crate::doctor::gather::Known;

/// Called before the kernel commits a family's rules, on the thread that
/// planned them, with the families whose nf_tables rules are known after
/// the commit, and what starts the commit and then gives those rules (the
/// families confirmed before, and this one as planned): the check after can
/// run while the kernel commits instead of after.
pub type Speculate<'a, R> = &'a mut dyn FnMut(&[Family], &mut dyn FnMut() -> Vec<Known>) -> R;

/// [`fix`], with the nf_tables rules per family as its commits left them,
/// and what `speculate` (if given) made of them. Its result is kept only if
/// the commit was confirmed and nothing changed after it.
pub fn fix_confirmed<R>(
    facts: &Facts,
    expected: &Expectations,
    dry_run: bool,
    all: bool,
    mut speculate: Option<Speculate<'_, R>>,
) -> Fixed<R> {
    let mut confirmed: Vec<Known> = Vec::new();
    let mut speculated = None;
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
        let mut latest = None;
        let result = {
            let earlier = &confirmed;
            let mut during = |predicted: &Ruleset, genid: u32, start: &mut dyn FnMut()| {
                if let Some(speculate) = speculate.as_mut() {
                    let mut families: Vec<Family> = earlier.iter().map(|k| k.0).collect();
                    families.push(exp.family);
                    let mut start_then_known = || {
                        start();
                        // Copies the earlier families only when more than
                        // one changed.
                        let mut known = earlier.clone();
                        known.push((exp.family, predicted.clone(), genid));
                        known
                    };
                    latest = Some(speculate(&families, &mut start_then_known));
                }
            };
            apply::repair_family(exp, backend, knowledge, dry_run, known, Some(&mut during))
        };
        match result {
            Ok(repaired) => {
                if repaired.confirmed.is_some() && latest.is_some() {
                    speculated = latest;
                } else if !repaired.actions.is_empty() || latest.is_some() {
                    // Changed without confirmation, or a commit was tried
                    // and lost to another one: read again.
                    speculated = None;
                }
                report.actions.extend(repaired.actions);
                if let Some((rs, genid)) = repaired.confirmed {
                    report.confirmed.push(format!(
                        "{} nf_tables rules at generation {genid}: the kernel accepted every \
                         rule sent, each decodes as planned, and nothing else was committed",
                        exp.family
                    ));
                    confirmed.push((exp.family, rs, genid));
                }
            }
            Err(e) => {
                speculated = None;
                report
                    .problems
                    .push(format!("{} {backend}: {e}", exp.family));
            }
        }
    }
    if all {
        host::fix_host(facts, dry_run, &mut report);
        speculated = None;
    }
    Fixed {
        report,
        confirmed,
        speculated,
    }
}

pub mod host;
