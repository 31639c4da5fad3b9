//! The checks, one file per subject. Each reads [`Facts`] and appends
//! findings; none does I/O.

pub mod backend;
pub mod host;
pub mod rules;

use super::facts::Facts;
use super::finding::Finding;
use super::report::Scope;

/// Runs every check; `scope` records what was checked. `expected` is
/// Docker's rules if already built for these facts' Docker state.
pub fn run_all(
    facts: &Facts,
    expected: Option<&rules::Expectations>,
    scope: &mut Scope,
) -> Vec<Finding> {
    let mut out = Vec::new();
    host::privileges(facts, &mut out);
    host::daemon(facts, &mut out);
    backend::backends(facts, &mut out);
    backend::modules(facts, &mut out);
    if facts.rulesets.iter().any(|r| r.result.is_ok()) {
        let built;
        let expected = match expected.or(facts.expected.as_ref()) {
            Some(e) => e,
            None => {
                built = rules::expectations(facts);
                &built
            }
        };
        rules::rules(facts, expected, &mut out, scope);
    }
    host::forwarding(facts, &mut out);
    host::bridges(facts, &mut out);
    host::firewall_managers(facts, &mut out);
    host::platform(facts, &mut out);
    out
}
