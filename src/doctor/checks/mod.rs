//! The checks, one file per subject. Each reads [`Facts`] and appends
//! findings; none does I/O.

pub mod backend;
pub mod host;

use super::facts::Facts;
use super::finding::Finding;

/// Runs every check.
pub fn run_all(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    host::privileges(facts, &mut out);
    host::daemon(facts, &mut out);
    backend::backends(facts, &mut out);
    backend::modules(facts, &mut out);
    host::forwarding(facts, &mut out);
    host::bridges(facts, &mut out);
    host::firewall_managers(facts, &mut out);
    host::platform(facts, &mut out);
    out
}
