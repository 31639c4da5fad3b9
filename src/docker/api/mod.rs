//! The Docker Engine API over the daemon's unix socket: our own small
//! HTTP/1.1 client ([`http`]), socket discovery ([`discover`](mod@discover)), and the
//! [`Snapshot`] of a daemon (facts, [`DockerState`](crate::docker::DockerState),
//! containers) built from its answers.
//!
//! ```no_run
//! use nfdoctor::docker::api::{self, ClientOptions};
//! let (discovery, snapshot) = api::snapshot(None, ClientOptions::default())?;
//! for e in &snapshot.state.endpoints {
//!     println!("{} on {}: {:?}", e.container_name, e.network, e.ipv4);
//! }
//! # Ok::<(), api::ApiError>(())
//! ```
//!
//! Requests, in order: `GET /version` (unversioned: every daemon serves
//! it), then in the negotiated version ([`version`]): `/info`, `/networks`,
//! `/containers/json`, `/containers/{id}/json` for each running container
//! (start time, port bindings, links), and `/networks/{id}` for each bridge
//! network the list gave without its endpoints (addresses as fallback).
//!
//! What the API cannot tell about the daemon's options is explicit in
//! [`OptionFacts`] (see [`facts`]).

pub mod discover;
pub mod error;
pub mod facts;
pub mod http;
pub mod state;
pub mod time;
pub mod version;
pub mod wire;

pub use discover::{discover, Discovery, DiscoveryEnv, DEFAULT_SOCKET};
pub use error::{ApiError, HostSource, Phase};
pub use facts::{ApiFacts, Component, OptionFacts};
pub use http::{Client, ClientOptions, Connector, Response, Stream, UnixConnector};
pub use state::{ContainerInfo, LinkInfo, PublishedPort, RequestedPort, Responses, Snapshot};
pub use version::{ApiVersion, NEWEST_KNOWN, OLDEST_SUPPORTED};

use crate::host::HostRoot;
use http::{decode_json, encode_segment};
use wire::{ContainerInspect, ContainerSummary, NetworkResource, SummaryId, VersionResponse};

/// The bodies of every answer, as received: for fixtures and debugging.
/// [`decode`](Self::decode) gives what [`Snapshot::build`] needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawResponses {
    /// `GET /version`.
    pub version: Vec<u8>,
    pub info: Vec<u8>,
    pub networks: Vec<u8>,
    /// `(network id, GET /networks/{id})`.
    pub network_details: Vec<(String, Vec<u8>)>,
    pub containers: Vec<u8>,
    /// `(container id, GET /containers/{id}/json)`.
    pub inspects: Vec<(String, Vec<u8>)>,
    pub spoken_api_version: Option<ApiVersion>,
    pub notes: Vec<String>,
}

impl RawResponses {
    pub fn decode(&self) -> Result<Responses, ApiError> {
        self.decode_with(None)
    }

    /// [`Self::decode`], but for what was decoded while fetching.
    fn decode_with(&self, decoded: Option<Decoded>) -> Result<Responses, ApiError> {
        let p = self.prefix();
        let (containers, inspects) = match decoded {
            Some(d) => (d.containers, Some(d.inspects)),
            None => (None, None),
        };
        Ok(Responses {
            version: decode_json("/version", &self.version)?,
            info: decode_json(&format!("{p}/info"), &self.info)?,
            networks: decode_json(&format!("{p}/networks"), &self.networks)?,
            network_details: self
                .network_details
                .iter()
                .map(|(id, body)| decode_json(&format!("{p}/networks/{id}"), body))
                .collect::<Result<_, _>>()?,
            containers: match containers {
                Some(list) => list,
                None => decode_json(&format!("{p}/containers/json"), &self.containers)?,
            },
            inspects: match inspects {
                Some(decoded) => decoded.into_iter().collect::<Result<_, _>>()?,
                None => self
                    .inspects
                    .iter()
                    .map(|(id, body)| decode_inspect(&p, id, body))
                    .collect::<Result<_, _>>()?,
            },
            spoken_api_version: self.spoken_api_version,
            notes: self.notes.clone(),
        })
    }

    /// The path prefix of the API version spoken (`/v1.45`), or none.
    fn prefix(&self) -> String {
        self.spoken_api_version
            .map(ApiVersion::prefix)
            .unwrap_or_default()
    }
}

fn decode_inspect(prefix: &str, id: &str, body: &[u8]) -> Result<ContainerInspect, ApiError> {
    decode_json(&format!("{prefix}/containers/{id}/json"), body)
}

/// `GET /version`, then sets the client's API prefix to the version to
/// speak. Returns the answer's body and the version chosen (`None`: the
/// daemon gave no readable `ApiVersion`, unversioned paths are used).
pub fn negotiate(client: &mut Client) -> Result<(Vec<u8>, Option<ApiVersion>), ApiError> {
    client.set_api_prefix("");
    let body = client.get("/version")?.body;
    let v: VersionResponse = decode_json("/version", &body)?;
    let spoken = match ApiVersion::parse(&v.api_version) {
        Some(server) => {
            let min = ApiVersion::parse(&v.min_api_version);
            let chosen = version::negotiate(server, min).ok_or_else(|| ApiError::ApiTooOld {
                api_version: server,
                minimum: OLDEST_SUPPORTED,
                server_version: Some(v.version.clone()).filter(|s| !s.is_empty()),
            })?;
            client.set_api_prefix(chosen.prefix());
            Some(chosen)
        }
        None => None,
    };
    Ok((body, spoken))
}

fn is_gone(e: &ApiError) -> bool {
    matches!(e, ApiError::Http { status: 404, .. })
}

/// Asks the daemon everything a [`Snapshot`] needs.
pub fn fetch_raw(client: &mut Client) -> Result<RawResponses, ApiError> {
    Ok(fetch(client, false)?.0)
}

/// What [`fetch`] decoded on the way: the container list (unless it did
/// not decode, which [`RawResponses::decode`] then reports in its turn),
/// and each inspect, in the order of [`RawResponses::inspects`].
struct Decoded {
    containers: Option<Vec<ContainerSummary>>,
    inspects: Vec<Result<ContainerInspect, ApiError>>,
}

/// [`fetch_raw`], and with `decode`, what the snapshot needs decoded on the
/// way: the container list once (its ids name the inspects), and the
/// inspects as they arrive, on the connections' threads while the others
/// are still answered (a host with thousands of published ports sends
/// megabytes of them).
fn fetch(client: &mut Client, decode: bool) -> Result<(RawResponses, Option<Decoded>), ApiError> {
    let (version, spoken) = negotiate(client)?;
    let mut raw = RawResponses {
        version,
        spoken_api_version: spoken,
        ..RawResponses::default()
    };
    if spoken.is_none() {
        raw.notes
            .push("the daemon gave no readable ApiVersion: unversioned requests were used".into());
    }
    raw.info = client.get("/info")?.body;
    raw.networks = client.get("/networks")?.body;
    let networks: Vec<NetworkResource> =
        decode_json(&format!("{}/networks", client.api_prefix()), &raw.networks)?;
    raw.containers = client.get("/containers/json")?.body;
    let request = format!("{}/containers/json", client.api_prefix());
    let list: Option<Vec<ContainerSummary>> = decode
        .then(|| decode_json(&request, &raw.containers).ok())
        .flatten();
    // Otherwise only what the requests need.
    let ids: Vec<SummaryId> = match &list {
        Some(_) => Vec::new(),
        None => decode_json(&request, &raw.containers)?,
    };
    fn named<'a>(id: &'a str, names: &'a [String]) -> (&'a str, Option<&'a str>) {
        (id, names.first().map(String::as_str))
    }
    let named: Vec<(&str, Option<&str>)> = match &list {
        Some(list) => list.iter().map(|c| named(&c.id, &c.names)).collect(),
        None => ids.iter().map(|c| named(&c.id, &c.names)).collect(),
    };
    let paths: Vec<String> = named
        .iter()
        .map(|(id, _)| format!("/containers/{}/json", encode_segment(id)))
        .collect();
    let prefix = raw.prefix();
    let answers = get_parallel(client, &paths, INSPECT_CONNECTIONS, &|i, r| {
        let decoded = decode.then(|| decode_inspect(&prefix, named[i].0, &r.body));
        (r.body, decoded)
    });
    let mut inspects = Vec::new();
    for ((id, name), answer) in named.iter().zip(answers) {
        match answer {
            Ok((body, inspect)) => {
                raw.inspects.push((id.to_string(), body));
                inspects.extend(inspect);
            }
            Err(e) if is_gone(&e) => raw.notes.push(format!(
                "container {} was removed while being read, skipped",
                name.unwrap_or(id)
            )),
            Err(e) => return Err(e),
        }
    }
    for n in networks
        .iter()
        .filter(|n| n.driver == "bridge" && n.containers.is_empty())
    {
        match client.get(&format!("/networks/{}", encode_segment(&n.id))) {
            Ok(r) => raw.network_details.push((n.id.clone(), r.body)),
            Err(e) if is_gone(&e) => raw.notes.push(format!(
                "network {} was removed while being read, skipped",
                n.name
            )),
            Err(e) => return Err(e),
        }
    }
    let decoded = decode.then_some(Decoded {
        containers: list,
        inspects,
    });
    Ok((raw, decoded))
}

/// How many connections inspect containers at once: the daemon answers
/// each on its own goroutine, and one after another thousands of round
/// trips add up to a large part of `check` on a busy host.
const INSPECT_CONNECTIONS: usize = 4;

/// `GET` of each of `paths`, over up to `width` connections at once (the
/// first is `client`'s), the answers in the order of `paths`, each answer
/// (to `paths[i]`) turned by `f` on the thread that received it.
pub fn get_parallel<T: Send>(
    client: &mut Client,
    paths: &[String],
    width: usize,
    f: &(dyn Fn(usize, http::Response) -> T + Sync),
) -> Vec<Result<T, ApiError>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Below a few requests per connection, opening them costs more.
    let width = width.min(paths.len() / 8).max(1);
    if width == 1 {
        return paths
            .iter()
            .enumerate()
            .map(|(i, p)| client.get(p).map(|r| f(i, r)))
            .collect();
    }
    let next = AtomicUsize::new(0);
    let work = |c: &mut Client| {
        let mut got = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(path) = paths.get(i) else {
                return got;
            };
            got.push((i, c.get(path).map(|r| f(i, r))));
        }
    };
    let mut siblings: Vec<Client> = (1..width).map(|_| client.sibling()).collect();
    let mut answered = std::thread::scope(|s| {
        let others: Vec<_> = siblings.iter_mut().map(|c| s.spawn(|| work(c))).collect();
        let mut all = work(client);
        for o in others {
            // A panic there is a bug: let it go on as if it had happened here.
            all.extend(o.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all
    });
    answered.sort_unstable_by_key(|(i, _)| *i);
    answered.into_iter().map(|(_, a)| a).collect()
}

/// Reads a [`Snapshot`] of the daemon behind `client`.
pub fn fetch_snapshot(client: &mut Client) -> Result<Snapshot, ApiError> {
    let (raw, inspects) = fetch(client, true)?;
    let mut snapshot = Snapshot::build(&raw.decode_with(inspects)?);
    snapshot.socket = client.socket().to_path_buf();
    Ok(snapshot)
}

/// Discovers the socket on this host (`docker_host`: `--docker-host`), and
/// reads a [`Snapshot`]. Connection errors are made precise with what
/// discovery saw (a rootless daemon's socket instead of the system one).
pub fn snapshot(
    docker_host: Option<&str>,
    options: ClientOptions,
) -> Result<(Discovery, Snapshot), ApiError> {
    let discovery = discover(
        &HostRoot::live(),
        docker_host,
        &DiscoveryEnv::from_process(),
    )?;
    let mut client = Client::unix(&discovery.socket, options);
    match fetch_snapshot(&mut client) {
        Ok(s) => Ok((discovery, s)),
        Err(e) => Err(discovery.explain(e)),
    }
}
