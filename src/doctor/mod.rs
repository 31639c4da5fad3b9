//! `check`: gather the facts, run the checks, report.

pub mod checks;
pub mod facts;
pub mod finding;
pub mod gather;
pub mod report;

pub use facts::Facts;
pub use finding::{Finding, Severity};
pub use report::{Report, Scope, Status};

/// Judges `facts` (pure).
pub fn diagnose(facts: &Facts) -> Report {
    diagnose_against(facts, None)
}

/// [`diagnose`] with Docker's rules already built for the facts' Docker
/// state (`fix` checks again against the rules it repaired towards).
pub fn diagnose_against(facts: &Facts, expected: Option<&checks::rules::Expectations>) -> Report {
    let mut scope = Scope::default();
    let findings = checks::run_all(facts, expected, &mut scope);
    let checked = facts.rulesets.iter().any(|r| r.result.is_ok());
    Report::new(findings, scope, checked)
}
