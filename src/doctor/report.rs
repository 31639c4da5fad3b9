//! The check report: findings grouped by severity for people (colored on a
//! terminal unless `NO_COLOR` is set), or JSON with a stable schema
//! (`nfdoctor.check/1`, documented in the README).

use super::finding::{Finding, Severity};
use serde::Serialize;
use std::fmt::Write;

/// What `check` concluded overall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// No error or warning.
    Healthy,
    /// At least one error or warning.
    Problems,
    /// Nothing could be checked (no rules readable).
    Unchecked,
}

impl Status {
    /// 0 healthy, 1 problems found, 2 could not check.
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Healthy => 0,
            Status::Problems => 1,
            Status::Unchecked => 2,
        }
    }
}

/// What was checked against what, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Scope {
    /// Docker version and where it came from (`api`, `fingerprint`).
    pub docker_version: Option<String>,
    pub version_source: Option<&'static str>,
    /// The Docker generation whose rules were expected.
    pub generation: Option<String>,
    /// Where Docker's rules are.
    pub backend: Option<String>,
    pub networks: usize,
    pub containers: usize,
    pub published_ports: usize,
    pub rules_expected: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub status: Status,
    pub exit_code: i32,
    pub scope: Scope,
    pub summary: Summary,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Report {
    pub fn new(mut findings: Vec<Finding>, scope: Scope, checked: bool) -> Report {
        findings.sort_by_key(|f| f.severity);
        let summary = Summary {
            errors: findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count(),
            warnings: findings
                .iter()
                .filter(|f| f.severity == Severity::Warning)
                .count(),
            infos: findings
                .iter()
                .filter(|f| f.severity == Severity::Info)
                .count(),
        };
        let status = if !checked {
            Status::Unchecked
        } else if summary.errors + summary.warnings > 0 {
            Status::Problems
        } else {
            Status::Healthy
        };
        Report {
            schema: "nfdoctor.check/1",
            status,
            exit_code: status.exit_code(),
            scope,
            summary,
            findings,
        }
    }

    /// The human report. `color`: ANSI colors for a terminal.
    pub fn render(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let mut o = String::new();
        let headline = match self.status {
            Status::Healthy => paint("1;32", "healthy"),
            Status::Problems => paint("1;31", "problems found"),
            Status::Unchecked => paint("1;33", "could not check"),
        };
        let _ = writeln!(
            o,
            "nfdoctor check: {headline} ({}, {}, {})",
            counted(self.summary.errors, "error"),
            counted(self.summary.warnings, "warning"),
            counted(self.summary.infos, "note")
        );
        let s = &self.scope;
        let mut scope = Vec::new();
        if let Some(v) = &s.docker_version {
            scope.push(format!(
                "Docker {v}{}",
                s.version_source
                    .map(|x| format!(" (from the {x})"))
                    .unwrap_or_default()
            ));
        }
        if let Some(g) = &s.generation {
            scope.push(format!("rules of generation {g}"));
        }
        if let Some(b) = &s.backend {
            scope.push(format!("in the {b} back end"));
        }
        if s.networks + s.containers > 0 {
            scope.push(format!(
                "{}, {}, {}",
                counted(s.networks, "network"),
                counted(s.containers, "container"),
                counted(s.published_ports, "published port")
            ));
        }
        if !scope.is_empty() {
            let _ = writeln!(o, "checked: {}", scope.join("; "));
        }
        for severity in [Severity::Error, Severity::Warning, Severity::Info] {
            let group: Vec<&Finding> = self
                .findings
                .iter()
                .filter(|f| f.severity == severity)
                .collect();
            if group.is_empty() {
                continue;
            }
            let (code, title) = match severity {
                Severity::Error => ("1;31", "Errors"),
                Severity::Warning => ("1;33", "Warnings"),
                Severity::Info => ("1;36", "Notes"),
            };
            let _ = writeln!(o, "\n{}", paint(code, title));
            for f in group {
                let _ = writeln!(o, "  {} [{}]", f.title, f.id);
                for e in &f.evidence {
                    let _ = writeln!(o, "      seen: {e}");
                }
                if let Some(fix) = &f.fix {
                    let _ = writeln!(o, "      {} {fix}", paint("1", "fix:"));
                }
            }
        }
        o
    }
}

/// Colors only for a terminal, and never with `NO_COLOR` set.
pub fn use_color() -> bool {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    // SAFETY: isatty only inspects the descriptor; 1 is stdout.
    unsafe { libc::isatty(1) == 1 }
}

/// `1 error`, `2 errors`: a count with its noun.
pub(crate) fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_take_the_plural_but_for_one() {
        assert_eq!(super::counted(0, "error"), "0 errors");
        assert_eq!(super::counted(1, "network"), "1 network");
        assert_eq!(super::counted(2, "published port"), "2 published ports");
    }
}
