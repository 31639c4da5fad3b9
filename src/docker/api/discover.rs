//! Which socket to talk to: `--docker-host`, else `$DOCKER_HOST`, else
//! `/var/run/docker.sock`; and the sockets of rootless daemons
//! (`$XDG_RUNTIME_DIR/docker.sock`, `/run/user/UID/docker.sock`) seen on the
//! way (docker-rules.md §12). Only unix sockets: nfdoctor diagnoses the
//! host it runs on, and a `tcp://` daemon may be any other host.

use super::error::{ApiError, HostSource};
use crate::host::HostRoot;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The system daemon's socket.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// What discovery reads from the process environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoveryEnv {
    /// `$DOCKER_HOST`.
    pub docker_host: Option<String>,
    /// `$XDG_RUNTIME_DIR`.
    pub xdg_runtime_dir: Option<String>,
    /// Our effective uid.
    pub uid: Option<u32>,
}

impl DiscoveryEnv {
    /// This process's environment and effective uid (the owner of
    /// `/proc/self`).
    pub fn from_process() -> Self {
        use std::os::unix::fs::MetadataExt;
        DiscoveryEnv {
            docker_host: std::env::var("DOCKER_HOST").ok(),
            xdg_runtime_dir: std::env::var("XDG_RUNTIME_DIR").ok(),
            uid: std::fs::metadata("/proc/self").ok().map(|m| m.uid()),
        }
    }
}

/// The socket chosen, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discovery {
    pub socket: PathBuf,
    pub source: HostSource,
    /// The `--docker-host` / `DOCKER_HOST` value as given.
    pub given: Option<String>,
    /// Whether something exists at `socket`.
    pub socket_present: bool,
    /// Sockets of rootless daemons that exist, other than `socket`.
    pub rootless_sockets: Vec<PathBuf>,
    /// `socket` is where a rootless daemon puts its socket.
    pub socket_is_rootless_path: bool,
}

impl Discovery {
    /// Makes a connection failure more precise: no system socket, but a
    /// rootless daemon's, is [`ApiError::RootlessSocketOnly`].
    pub fn explain(&self, e: ApiError) -> ApiError {
        match e {
            ApiError::SocketMissing { path }
                if self.source == HostSource::Default && !self.rootless_sockets.is_empty() =>
            {
                ApiError::RootlessSocketOnly {
                    system: path,
                    rootless: self.rootless_sockets.clone(),
                }
            }
            e => e,
        }
    }
}

/// The unix socket path in a `--docker-host` / `DOCKER_HOST` value
/// (`unix:///run/docker.sock`, or a bare absolute path).
pub fn parse_host(value: &str, source: HostSource) -> Result<PathBuf, ApiError> {
    let unsupported = |why: &str| ApiError::UnsupportedHost {
        value: value.to_string(),
        source_name: source,
        why: why.to_string(),
    };
    let v = value.trim();
    if let Some(path) = v.strip_prefix("unix://") {
        return Ok(PathBuf::from(if path.is_empty() {
            DEFAULT_SOCKET
        } else {
            path
        }));
    }
    if v.starts_with('/') {
        return Ok(PathBuf::from(v));
    }
    let scheme = v.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    Err(match scheme.as_deref() {
        Some("tcp") | Some("http") | Some("https") => {
            unsupported("a TCP address (a remote or TLS-protected daemon) is not supported")
        }
        Some("ssh") => unsupported("an SSH address (a daemon on another host) is not supported"),
        Some("npipe") => unsupported("a Windows named pipe is not supported"),
        Some("fd") => unsupported("socket activation (fd://) is a daemon-side address"),
        Some(other) => unsupported(&format!("the scheme {other}:// is not supported")),
        None => unsupported("not a unix:// address (a bare host:port means TCP to Docker)"),
    })
}

/// Chooses the socket and looks for rootless daemons' sockets under `root`.
pub fn discover(
    root: &HostRoot,
    flag: Option<&str>,
    env: &DiscoveryEnv,
) -> Result<Discovery, ApiError> {
    let nonempty = |v: Option<&str>| v.filter(|s| !s.trim().is_empty()).map(str::to_string);
    let (socket, source, given) = if let Some(v) = nonempty(flag) {
        (parse_host(&v, HostSource::Flag)?, HostSource::Flag, Some(v))
    } else if let Some(v) = nonempty(env.docker_host.as_deref()) {
        (parse_host(&v, HostSource::Env)?, HostSource::Env, Some(v))
    } else {
        (PathBuf::from(DEFAULT_SOCKET), HostSource::Default, None)
    };
    let candidates = rootless_candidates(root, env);
    let socket_is_rootless_path = candidates.iter().any(|c| c == &socket);
    let rootless_sockets = candidates
        .into_iter()
        .filter(|c| c != &socket && root.exists(c))
        .collect();
    Ok(Discovery {
        socket_present: root.exists(&socket),
        socket,
        source,
        given,
        rootless_sockets,
        socket_is_rootless_path,
    })
}

/// Where rootless daemons put their sockets: `$XDG_RUNTIME_DIR/docker.sock`,
/// `/run/user/UID/docker.sock` for our uid, and, for root (who can see them
/// all), every `/run/user/N/docker.sock`.
fn rootless_candidates(root: &HostRoot, env: &DiscoveryEnv) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut push = |p: PathBuf| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    if let Some(x) = env
        .xdg_runtime_dir
        .as_deref()
        .filter(|x| x.starts_with('/'))
    {
        push(Path::new(x.trim_end_matches('/')).join("docker.sock"));
    }
    if let Some(uid) = env.uid {
        push(PathBuf::from(format!("/run/user/{uid}/docker.sock")));
    }
    if env.uid.map_or(true, |u| u == 0) {
        for n in root.read_dir_names("/run/user").unwrap_or_default() {
            if n.parse::<u32>().is_ok() {
                push(PathBuf::from(format!("/run/user/{n}/docker.sock")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::root::testing::FakeTree;

    fn env(docker_host: Option<&str>, xdg: Option<&str>, uid: u32) -> DiscoveryEnv {
        DiscoveryEnv {
            docker_host: docker_host.map(str::to_string),
            xdg_runtime_dir: xdg.map(str::to_string),
            uid: Some(uid),
        }
    }

    #[test]
    fn host_values() {
        let p = |v| parse_host(v, HostSource::Env);
        assert_eq!(
            p("unix:///run/docker.sock").unwrap(),
            Path::new("/run/docker.sock")
        );
        assert_eq!(p("unix://").unwrap(), Path::new(DEFAULT_SOCKET));
        assert_eq!(p("/tmp/d.sock").unwrap(), Path::new("/tmp/d.sock"));
        for (v, word) in [
            ("tcp://127.0.0.1:2375", "TCP"),
            ("ssh://me@box", "SSH"),
            ("npipe:////./pipe/docker_engine", "named pipe"),
            ("fd://", "socket activation"),
            ("localhost:2375", "bare host:port"),
            ("gopher://x", "gopher"),
        ] {
            let e = p(v).unwrap_err();
            assert_eq!(e.code(), "docker-host-unsupported");
            let text = e.to_string();
            assert!(
                text.contains(word) && text.starts_with("DOCKER_HOST is"),
                "{text}"
            );
        }
    }

    #[test]
    fn precedence_flag_env_default() {
        let t = FakeTree::new();
        let root = t.root();
        let e = env(Some("unix:///from/env.sock"), None, 0);
        let d = discover(&root, Some("unix:///from/flag.sock"), &e).unwrap();
        assert_eq!(
            (d.socket.to_str(), d.source),
            (Some("/from/flag.sock"), HostSource::Flag)
        );
        assert_eq!(d.given.as_deref(), Some("unix:///from/flag.sock"));
        let d = discover(&root, None, &e).unwrap();
        assert_eq!(
            (d.socket.to_str(), d.source),
            (Some("/from/env.sock"), HostSource::Env)
        );
        let d = discover(&root, Some(""), &env(Some(" "), None, 0)).unwrap();
        assert_eq!(
            (d.socket.to_str(), d.source),
            (Some(DEFAULT_SOCKET), HostSource::Default)
        );
        assert!(!d.socket_present);
        let e = discover(&root, Some("tcp://1.2.3.4:2376"), &e).unwrap_err();
        assert!(e.to_string().starts_with("--docker-host is"), "{e}");
    }

    #[test]
    fn rootless_sockets_are_reported() {
        let t = FakeTree::new();
        t.file("/run/user/1000/docker.sock", "")
            .file("/run/user/1001/other", "")
            .file("/var/run/docker.sock", "");
        let root = t.root();
        // Root sees every user's.
        let d = discover(&root, None, &env(None, None, 0)).unwrap();
        assert!(d.socket_present);
        assert_eq!(
            d.rootless_sockets,
            vec![PathBuf::from("/run/user/1000/docker.sock")]
        );
        // A user: only their own, through XDG_RUNTIME_DIR or /run/user/UID.
        let d = discover(&root, None, &env(None, Some("/run/user/1001/"), 1001)).unwrap();
        assert!(d.rootless_sockets.is_empty());
        let d = discover(&root, None, &env(None, Some("/run/user/1000"), 1000)).unwrap();
        assert_eq!(d.rootless_sockets.len(), 1);
        // Talking to the rootless socket itself.
        let d = discover(
            &root,
            None,
            &env(Some("unix:///run/user/1000/docker.sock"), None, 1000),
        )
        .unwrap();
        assert!(d.socket_is_rootless_path && d.rootless_sockets.is_empty());
    }

    #[test]
    fn missing_system_socket_with_a_rootless_one() {
        let t = FakeTree::new();
        t.file("/run/user/1000/docker.sock", "");
        let d = discover(&t.root(), None, &env(None, None, 0)).unwrap();
        let e = d.explain(ApiError::SocketMissing {
            path: d.socket.clone(),
        });
        assert_eq!(e.code(), "docker-socket-rootless-only");
        let text = e.to_string();
        assert!(
            text.contains("/run/user/1000/docker.sock") && text.contains("rootless"),
            "{text}"
        );
        // An explicit socket stays "missing".
        let d = discover(&t.root(), Some("/nowhere.sock"), &env(None, None, 0)).unwrap();
        let e = d.explain(ApiError::SocketMissing {
            path: d.socket.clone(),
        });
        assert_eq!(e.code(), "docker-socket-missing");
    }
}
