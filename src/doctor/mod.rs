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
    let mut scope = Scope::default();
    let findings = checks::run_all(facts, &mut scope);
    let checked = facts.rulesets.iter().any(|r| r.result.is_ok());
    Report::new(findings, scope, checked)
}
