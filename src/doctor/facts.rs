//! Everything `check` looks at, gathered once: host probes, module states,
//! both back ends' rules for both families, and the Docker daemon's view of
//! its networks and containers. The checks are pure functions of this.

use super::checks::rules::Expectations;
use crate::backend::Backend;
use crate::docker::{DockerState, Network};
use crate::host::backends::BackendReport;
use crate::host::report::ModulesReport;
use crate::host::EnvReport;
use crate::ruleset::Ruleset;
use crate::Family;

/// One back end's rules for one family, or why they could not be read.
#[derive(Debug, Clone)]
pub struct ReadRuleset {
    pub backend: Backend,
    pub family: Family,
    pub result: Result<Ruleset, String>,
    /// nf_tables: the generation the rules were read at (a repair planned
    /// on them commits only if nothing changed since).
    pub genid: Option<u32>,
}

/// Why the Docker daemon could not be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerUnreachable {
    /// Stable finding id (`docker-socket-missing`, `docker-permission-denied`, …).
    pub id: &'static str,
    pub message: String,
    pub fix: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Facts {
    pub env: EnvReport,
    pub modules: ModulesReport,
    /// One per family.
    pub backends: Vec<BackendReport>,
    pub rulesets: Vec<ReadRuleset>,
    pub docker: Result<DockerState, DockerUnreachable>,
    /// Docker's rules for the Engine API's state, when built while the
    /// kernel's rules were read (on a host with thousands of published
    /// ports both take a while); else the checks build them.
    pub expected: Option<Expectations>,
}

impl Facts {
    /// The host's and Docker's facts without any rules (to read them again
    /// with [`super::gather::reread_rulesets`] while these are in use).
    pub fn without_rules(&self) -> Facts {
        Facts {
            env: self.env.clone(),
            modules: self.modules.clone(),
            backends: Vec::new(),
            rulesets: Vec::new(),
            docker: self.docker.clone(),
            expected: None,
        }
    }

    /// Whether the Engine API answered; `None` if it was not asked.
    pub fn docker_api_ok(&self) -> Option<bool> {
        Some(self.docker.is_ok())
    }

    /// Docker is (or was) here: its API answers, a dockerd runs, or its
    /// chains exist in some back end.
    pub fn docker_present(&self) -> bool {
        self.docker.is_ok()
            || self.local_dockerd()
            || self.backends.iter().any(|b| b.docker_backend.is_some())
    }

    /// A dockerd runs in the network namespace nfdoctor looks at.
    pub fn local_dockerd(&self) -> bool {
        self.local_dockerd_process().is_some()
    }

    /// The configuration view of the daemon in this namespace.
    pub fn local_daemon_view(&self) -> Option<&crate::host::dockerd::DaemonView> {
        local_daemon_view(&self.env)
    }

    /// The dockerd in this network namespace.
    pub fn local_dockerd_process(&self) -> Option<&crate::host::dockerd::DockerdProcess> {
        local_dockerd_process(&self.env)
    }

    pub fn docker_networks(&self) -> &[Network] {
        match &self.docker {
            Ok(s) => &s.networks,
            Err(_) => &[],
        }
    }

    /// Docker writes IPv6 rules (ip6tables on and some network has IPv6).
    pub fn uses_ipv6(&self) -> bool {
        match &self.docker {
            Ok(s) => s.options.ip6tables && s.networks.iter().any(|n| n.ipv6.is_some()),
            Err(_) => false,
        }
    }

    pub fn ruleset(&self, backend: Backend, family: Family) -> Option<&ReadRuleset> {
        self.rulesets
            .iter()
            .find(|r| r.backend == backend && r.family == family)
    }

    pub fn backend_report(&self, family: Family) -> Option<&BackendReport> {
        self.backends.iter().find(|b| b.family == family)
    }
}

/// The dockerd in the probed network namespace (one whose namespace could
/// not be read counts when none is known to be there).
pub fn local_dockerd_process(env: &EnvReport) -> Option<&crate::host::dockerd::DockerdProcess> {
    let procs = &env.dockerd.processes;
    procs
        .iter()
        .find(|p| p.same_netns == Some(true))
        .or_else(|| procs.iter().find(|p| p.same_netns.is_none()))
}

/// The configuration view (flags, daemon.json) of that daemon, or the
/// unit's and defaults when no dockerd runs at all.
pub fn local_daemon_view(env: &EnvReport) -> Option<&crate::host::dockerd::DaemonView> {
    let d = &env.dockerd;
    match local_dockerd_process(env) {
        Some(p) => d
            .processes
            .iter()
            .position(|q| q.pid == p.pid)
            .and_then(|i| d.daemons.get(i)),
        None if d.processes.is_empty() => d.daemons.first(),
        None => None,
    }
}
