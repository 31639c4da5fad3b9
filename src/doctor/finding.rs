//! A finding: one problem (or notable fact) with its evidence and the exact
//! way to fix it.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Breaks Docker's networking (ports unreachable, `docker run -p`
    /// fails, containers cut off).
    Error,
    /// Likely to break it, or a setting that disables parts of it.
    Warning,
    /// Worth knowing; needs no action.
    Info,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier (listed in the README), e.g. `nat-docker-chain-missing`.
    pub id: &'static str,
    pub severity: Severity,
    /// One line saying what is wrong.
    pub title: String,
    /// What was seen that shows it (rules, files, values).
    pub evidence: Vec<String>,
    /// The exact command or edit that fixes it; `None` when nothing needs
    /// doing (info) or nothing can be done from here.
    pub fix: Option<String>,
}

impl Finding {
    pub fn new(id: &'static str, severity: Severity, title: impl Into<String>) -> Self {
        Finding {
            id,
            severity,
            title: title.into(),
            evidence: Vec::new(),
            fix: None,
        }
    }

    pub fn evidence(mut self, line: impl Into<String>) -> Self {
        self.evidence.push(line.into());
        self
    }

    pub fn fix(mut self, how: impl Into<String>) -> Self {
        self.fix = Some(how.into());
        self
    }
}
