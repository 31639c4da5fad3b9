//! Gathering the facts `check` judges: the only I/O of the doctor.

use super::checks::rules::{adapt_to_kernel, expectations_from_api, Asking};
use super::facts::{DockerUnreachable, Facts, ReadRuleset};
use crate::backend::Backend;
use crate::docker::api;
use crate::docker::DockerState;
use crate::host::backends::{read_both_knowing, BackendReport, BothRead};
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
    // The kernel dumps the rules from the first moment; meanwhile the
    // Engine API answers (on a host with thousands of published ports each
    // takes tens of milliseconds) and the host is probed.
    let (env, modules, docker, expected, (backends, rulesets)) = std::thread::scope(|s| {
        let host = s.spawn(|| {
            let env = collect_env(&root, &EnvOptions::from_env());
            let modules = collect_modules(&root, None, Some(&env.privileges));
            (env, modules)
        });
        // The dumps get another CPU once the Engine API has answered (see
        // `ordered::busy`): on a big host the expectation built from the
        // answers takes less than dumping the biggest chain left, so that
        // dump starts then, sharing the CPUs with the build, rather than
        // after it.
        let busy = crate::backend::ordered::busy();
        let docker = s.spawn(move || {
            let snapshot =
                api::snapshot(opts.docker_host.as_deref(), api::ClientOptions::default());
            drop(busy);
            // The daemon's options the API does not tell come from the host.
            let (env, modules) = host.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            let docker = docker_state(snapshot, &env);
            let mut expected = docker.as_ref().ok().and_then(expectations_from_api);
            if let Some(e) = expected.as_mut() {
                adapt_to_kernel(e, Asking::Registered);
            }
            (env, modules, docker, expected)
        });
        let read = read_rulesets();
        // A panic there is a bug: let it go on as if it had happened here.
        let (env, modules, docker, expected) = docker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (env, modules, docker, expected, read)
    });
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

/// A family's nf_tables rules known without reading them (a commit left
/// them so), with their generation.
pub type Known = (Family, Ruleset, u32);

/// `facts` with both back ends' rules read again (after `fix` changed
/// them); the host and Docker's state are kept as they were read. The
/// nf_tables rules of a family in `known_nft` are taken as given (a commit
/// confirmed them at that generation) instead of dumped again.
pub fn reread_rulesets(facts: Facts, known_nft: Vec<Known>) -> Facts {
    let families: Vec<Family> = known_nft.iter().map(|(f, _, _)| *f).collect();
    read_rulesets_except(&families).finish(facts, known_nft)
}

/// Both back ends' rules for both families, and what they say about which
/// back end is in use.
fn read_rulesets() -> (Vec<BackendReport>, Vec<ReadRuleset>) {
    let read = read_rulesets_except(&[]);
    read.finish_parts(Vec::new())
}

/// Both back ends' rules read but for the nf_tables rules of some families,
/// which [`PartialRead::finish`] takes as given: the reads can be made
/// before those rules are known (before a commit that makes them starts).
#[derive(Debug)]
pub struct PartialRead {
    read: Vec<(Family, BothRead)>,
}

/// Reads both back ends of every family, except the nf_tables rules of
/// `known_nft` (their table names are still listed).
pub fn read_rulesets_except(known_nft: &[Family]) -> PartialRead {
    let read = Family::ALL
        .into_iter()
        .map(|family| {
            let placeholder = known_nft.contains(&family).then(|| {
                let empty = Ruleset {
                    family,
                    tables: Vec::new(),
                };
                (empty, 0)
            });
            (family, read_both_knowing(family, placeholder))
        })
        .collect();
    PartialRead { read }
}

impl PartialRead {
    /// `facts` with the rules read, and the nf_tables rules of `known_nft`.
    pub fn finish(self, facts: Facts, known_nft: Vec<Known>) -> Facts {
        let (backends, rulesets) = self.finish_parts(known_nft);
        Facts {
            backends,
            rulesets,
            ..facts
        }
    }

    fn finish_parts(mut self, known_nft: Vec<Known>) -> (Vec<BackendReport>, Vec<ReadRuleset>) {
        for (family, rs, genid) in known_nft {
            if let Some((_, both)) = self.read.iter_mut().find(|(f, _)| *f == family) {
                // Tables the commit created were not listed before it.
                for t in &rs.tables {
                    if !both.nft_table_names.contains(&t.name) {
                        both.nft_table_names.push(t.name.clone());
                    }
                }
                both.nft = Ok(rs);
                both.nft_genid = Some(genid);
            }
        }
        let mut backends = Vec::new();
        let mut rulesets = Vec::new();
        for (family, both) in self.read {
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
}

/// The daemon's networks and containers, from the Engine API, with the
/// options the API does not tell taken from dockerd's command line and
/// daemon.json.
fn docker_state(
    snapshot: Result<(api::Discovery, api::Snapshot), api::ApiError>,
    env: &EnvReport,
) -> Result<DockerState, DockerUnreachable> {
    match snapshot {
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
