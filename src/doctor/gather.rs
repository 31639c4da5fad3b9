//! Gathering the facts `check` judges: the only I/O of the doctor.

use super::checks::rules::expectations_from_api;
use super::facts::{DockerUnreachable, Facts, ReadRuleset};
use crate::backend::Backend;
use crate::docker::api;
use crate::docker::DockerState;
use crate::host::backends::{read_both_knowing, BackendReport};
use crate::host::dockerd::Source;
use crate::host::{collect_env, collect_modules, EnvOptions, EnvReport, HostRoot};
use crate::ruleset::Ruleset;
use crate::Family;

#[derive(Debug, Clone, Default)]
pub struct GatherOptions {
    /// `--docker-host`: the Engine API socket (`unix:///…`).
    pub docker_host: Option<String>,
}

pub fn gather(opts: &GatherOptions) -> Facts {
    let root = HostRoot::live();
    let env = collect_env(&root, &EnvOptions::from_env());
    // The Engine API answers while the kernel dumps the rules: on a host
    // with thousands of published ports each takes tens of milliseconds.
    let (docker, modules, (backends, rulesets)) = std::thread::scope(|s| {
        let docker = s.spawn(|| {
            let docker = query_docker(opts.docker_host.as_deref(), &env);
            let expected = docker.as_ref().ok().and_then(expectations_from_api);
            (docker, expected)
        });
        let modules = collect_modules(&root, None, Some(&env.privileges));
        let read = read_rulesets();
        // A panic there is a bug: let it go on as if it had happened here.
        let docker = docker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (docker, modules, read)
    });
    let (docker, expected) = docker;
    Facts {
        env,
        modules,
        backends,
        rulesets,
        docker,
        expected,
    }
}

/// The facts, with the Docker daemon's state already known (the demo
/// supplies its own; `gather` asks the Engine API).
pub fn gather_with(env: EnvReport, docker: Result<DockerState, DockerUnreachable>) -> Facts {
    let root = HostRoot::live();
    let modules = collect_modules(&root, None, Some(&env.privileges));
    let (backends, rulesets) = read_rulesets();
    Facts {
        env,
        modules,
        backends,
        rulesets,
        docker,
        expected: None,
    }
}

/// `facts` with both back ends' rules read again (after `fix` changed
/// them); the host and Docker's state are kept as they were read. The
/// nf_tables rules of a family in `known_nft` are taken as given (a commit
/// confirmed them at that generation) instead of dumped again.
pub fn reread_rulesets(facts: Facts, known_nft: Vec<(Family, Ruleset, u32)>) -> Facts {
    let (backends, rulesets) = read_rulesets_knowing(known_nft);
    Facts {
        backends,
        rulesets,
        ..facts
    }
}

/// Both back ends' rules for both families, and what they say about which
/// back end is in use.
fn read_rulesets() -> (Vec<BackendReport>, Vec<ReadRuleset>) {
    read_rulesets_knowing(Vec::new())
}

fn read_rulesets_knowing(
    mut known_nft: Vec<(Family, Ruleset, u32)>,
) -> (Vec<BackendReport>, Vec<ReadRuleset>) {
    let mut backends = Vec::new();
    let mut rulesets = Vec::new();
    for family in Family::ALL {
        let known = known_nft
            .iter()
            .position(|(f, _, _)| *f == family)
            .map(|i| known_nft.swap_remove(i))
            .map(|(_, rs, genid)| (rs, genid));
        let both = read_both_knowing(family, known);
        backends.push(both.classify(family));
        rulesets.push(ReadRuleset {
            backend: Backend::Nft,
            family,
            result: both.nft,
            genid: both.nft_genid,
        });
        rulesets.push(ReadRuleset {
            backend: Backend::Legacy,
            family,
            result: both.legacy,
            genid: None,
        });
    }
    (backends, rulesets)
}

/// The daemon's networks and containers, from the Engine API, with the
/// options the API does not tell taken from dockerd's command line and
/// daemon.json.
fn query_docker(host: Option<&str>, env: &EnvReport) -> Result<DockerState, DockerUnreachable> {
    match api::snapshot(host, api::ClientOptions::default()) {
        Ok((_, snapshot)) => {
            let mut state = snapshot.state;
            merge_daemon_settings(&mut state, env);
            Ok(state)
        }
        Err(e) => Err(DockerUnreachable {
            id: e.code(),
            message: e.to_string(),
            fix: None,
        }),
    }
}

/// Fills the options the Engine API cannot tell from the daemon nfdoctor
/// sees (its command line, daemon.json), and version-aware defaults
/// (`--ip6tables` is on by default from Docker 27).
pub fn merge_daemon_settings(state: &mut DockerState, env: &EnvReport) {
    let view = super::facts::local_daemon_view(env);
    let setting = |name: &str| {
        view.and_then(|v| v.settings.iter().find(|s| s.name == name))
            .filter(|s| s.source != Source::Default)
            .map(|s| s.value.as_str())
    };
    let flag = |name: &str| setting(name).map(|v| v != "false");
    let o = &mut state.options;
    if let Some(v) = flag("iptables") {
        o.iptables = v;
    }
    o.ip6tables = flag("ip6tables").unwrap_or_else(|| state.version.is_some_and(|v| v.major >= 27));
    if let Some(v) = flag("userland-proxy") {
        o.userland_proxy = v;
    }
    if let Some(v) = flag("ip-forward") {
        o.ip_forward = v;
    }
    if let Some(v) = setting("firewall-backend") {
        o.firewall_backend = v.to_string();
    }
}
