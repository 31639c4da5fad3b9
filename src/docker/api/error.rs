//! What can go wrong talking to the Docker daemon, each with a message a
//! finding can show as it is, and a stable [`ApiError::code`].

use super::version::ApiVersion;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Where the socket address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostSource {
    /// `--docker-host`.
    Flag,
    /// `$DOCKER_HOST`.
    Env,
    /// `/var/run/docker.sock`.
    Default,
}

impl fmt::Display for HostSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostSource::Flag => "--docker-host",
            HostSource::Env => "DOCKER_HOST",
            HostSource::Default => "the default socket",
        })
    }
}

/// Which step of a request ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Connect,
    Write,
    Read,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connecting",
            Phase::Write => "sending the request",
            Phase::Read => "waiting for the answer",
        })
    }
}

/// A failure of the Engine API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `DOCKER_HOST` or `--docker-host` names something other than a unix
    /// socket.
    #[error(
        "{source_name} is {value:?}: {why}; nfdoctor talks to the daemon only over its unix socket \
         (unix:///var/run/docker.sock) on this host"
    )]
    UnsupportedHost {
        value: String,
        source_name: HostSource,
        why: String,
    },
    /// No socket file: no daemon, or a daemon whose files live in another
    /// mount namespace.
    #[error(
        "no Docker socket at {path}: the daemon is not running, or it runs in another mount \
         namespace (inside a container, a snap, a VM or Docker Desktop) where this path is a \
         different file"
    )]
    SocketMissing { path: PathBuf },
    /// The default socket is missing but a rootless daemon's socket exists.
    #[error(
        "no system Docker socket at {system}, but a rootless Docker daemon's socket is at {}: \
         its rules live in RootlessKit's network namespace, not here; to check that daemon, run \
         nfdoctor as its user with --docker-host unix://{} (and --netns for its namespace, see \
         `nfdoctor env`)",
        rootless.first().map(|p| p.display().to_string()).unwrap_or_default(),
        rootless.first().map(|p| p.display().to_string()).unwrap_or_default()
    )]
    RootlessSocketOnly {
        system: PathBuf,
        rootless: Vec<PathBuf>,
    },
    /// `EACCES` on connect: not root and not in the socket's group.
    #[error("permission denied connecting to {path}{}: {}", owner_text(.owner), access_advice(.group))]
    PermissionDenied {
        path: PathBuf,
        /// `user:group mode` of the socket, when it could be read.
        owner: Option<String>,
        /// The socket's group name (`docker` normally).
        group: Option<String>,
    },
    /// `ECONNREFUSED`: the file is there but nobody listens.
    #[error(
        "connection refused on {path}: the socket file exists but no daemon listens on it (a stale \
         socket left behind by a daemon that exited or crashed)"
    )]
    ConnectionRefused { path: PathBuf },
    /// The path exists but is not a socket.
    #[error("{path} is not a socket (a {kind})")]
    NotASocket { path: PathBuf, kind: String },
    /// No answer in time.
    #[error(
        "the Docker daemon at {path} did not answer within {} while {phase}: it is hung or \
         overloaded",
        seconds(.timeout)
    )]
    Timeout {
        path: PathBuf,
        phase: Phase,
        timeout: Duration,
    },
    /// The daemon answered with an error status.
    #[error("Docker API GET {request} failed with {status}{}: {message}", reason_text(.reason))]
    Http {
        request: String,
        status: u16,
        reason: String,
        /// Docker's JSON `message` (or the body's text).
        message: String,
    },
    /// The daemon is older than any engine whose rules nfdoctor knows.
    #[error(
        "the Docker daemon speaks Engine API {api_version}{}; nfdoctor needs API {minimum} or \
         newer (Docker 18.03 or newer)",
        server_text(.server_version)
    )]
    ApiTooOld {
        api_version: ApiVersion,
        minimum: ApiVersion,
        server_version: Option<String>,
    },
    /// Not HTTP, or HTTP cut short.
    #[error("malformed answer from the Docker daemon at {path} to GET {request}: {detail}")]
    Protocol {
        path: PathBuf,
        request: String,
        detail: String,
    },
    /// The answer is larger than the configured cap.
    #[error("the answer to GET {request} is larger than {limit} bytes (the client's cap)")]
    TooLarge { request: String, limit: usize },
    /// Valid HTTP, but not the JSON the Engine API documents.
    #[error("unexpected JSON in the answer to GET {request}: {detail}")]
    Json { request: String, detail: String },
    /// Any other I/O failure.
    #[error("I/O error talking to the Docker daemon at {path} ({phase}): {source}")]
    Io {
        path: PathBuf,
        phase: Phase,
        #[source]
        source: io::Error,
    },
}

fn owner_text(owner: &Option<String>) -> String {
    owner
        .as_ref()
        .map(|o| format!(" (owned by {o})"))
        .unwrap_or_default()
}

fn access_advice(group: &Option<String>) -> String {
    match group.as_deref() {
        Some("root") | None => "run nfdoctor as root (sudo)".to_string(),
        Some(g) => format!(
            "run nfdoctor as root (sudo), or add this user to the `{g}` group (then log in again)"
        ),
    }
}

fn reason_text(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" {reason}")
    }
}

fn server_text(v: &Option<String>) -> String {
    v.as_ref()
        .map(|v| format!(" (Docker {v})"))
        .unwrap_or_default()
}

fn seconds(d: &Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

impl ApiError {
    /// A stable identifier for findings and JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::UnsupportedHost { .. } => "docker-host-unsupported",
            ApiError::SocketMissing { .. } => "docker-socket-missing",
            ApiError::RootlessSocketOnly { .. } => "docker-socket-rootless-only",
            ApiError::PermissionDenied { .. } => "docker-socket-permission-denied",
            ApiError::ConnectionRefused { .. } => "docker-socket-refused",
            ApiError::NotASocket { .. } => "docker-socket-not-a-socket",
            ApiError::Timeout { .. } => "docker-api-timeout",
            ApiError::Http { .. } => "docker-api-http-error",
            ApiError::ApiTooOld { .. } => "docker-api-too-old",
            ApiError::Protocol { .. } => "docker-api-protocol",
            ApiError::TooLarge { .. } => "docker-api-too-large",
            ApiError::Json { .. } => "docker-api-json",
            ApiError::Io { .. } => "docker-api-io",
        }
    }

    /// True when no daemon could be reached at all (as opposed to a daemon
    /// that answered badly).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            ApiError::UnsupportedHost { .. }
                | ApiError::SocketMissing { .. }
                | ApiError::RootlessSocketOnly { .. }
                | ApiError::PermissionDenied { .. }
                | ApiError::ConnectionRefused { .. }
                | ApiError::NotASocket { .. }
        )
    }
}
