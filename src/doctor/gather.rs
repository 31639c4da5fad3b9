//! Gathering the facts `check` judges: the only I/O of the doctor.

use super::facts::{DockerUnreachable, Facts, ReadRuleset};
use crate::backend::Backend;
use crate::docker::DockerState;
use crate::host::backends::read_both;
use crate::host::{collect_env, collect_modules, EnvOptions, HostRoot};
use crate::Family;

#[derive(Debug, Clone, Default)]
pub struct GatherOptions {
    /// `--docker-host`: the Engine API socket (`unix:///…`).
    pub docker_host: Option<String>,
}

pub fn gather(opts: &GatherOptions) -> Facts {
    let root = HostRoot::live();
    let env = collect_env(&root, &EnvOptions::from_env());
    let modules = collect_modules(&root, None, Some(&env.privileges));
    let mut backends = Vec::new();
    let mut rulesets = Vec::new();
    for family in Family::ALL {
        let both = read_both(family);
        backends.push(both.classify(family));
        rulesets.push(ReadRuleset {
            backend: Backend::Nft,
            family,
            result: both.nft,
        });
        rulesets.push(ReadRuleset {
            backend: Backend::Legacy,
            family,
            result: both.legacy,
        });
    }
    let docker = query_docker(opts.docker_host.as_deref());
    Facts {
        env,
        modules,
        backends,
        rulesets,
        docker,
    }
}

/// The daemon's networks and containers, from the Engine API.
fn query_docker(_host: Option<&str>) -> Result<DockerState, DockerUnreachable> {
    Err(DockerUnreachable {
        id: "docker-api-unavailable",
        message: "the Engine API client is not wired yet".into(),
        fix: None,
    })
}
