//! The Docker Engine API client (`nfdoctor::docker::api`):
//! * against fake daemons (a `UnixListener` thread serving canned answers:
//!   chunked, slow, hung, closed, garbage, errors), for every failure the
//!   client must turn into a clear finding;
//! * offline, on the JSON the real engines gave (`tests/fixtures/docker-api/`);
//! * against the real engines of the lab (20.10, 26.1, 28.5): the
//!   `DockerState` built through the client must match what `docker
//!   inspect`, `docker port`, `ip link`/`ip addr` and the DNAT rules say.
//!
//! The real-engine tests need root and `.ci/setup-lab` (they skip otherwise,
//! fail with NFDOCTOR_REQUIRE_LAB=1). `NFDOCTOR_CAPTURE_FIXTURES=1` makes them
//! rewrite the fixtures from the engines' answers.

mod support;

use nfdoctor::docker::api::{
    self, fetch_raw, fetch_snapshot, ApiError, ApiVersion, Client, ClientOptions, Phase,
    PublishedPort, RawResponses, Snapshot,
};
use nfdoctor::docker::{Network, Proto};
use nfdoctor::Family;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, sleep};
use std::time::{Duration, Instant};
use support::{Backend, DockerVersion, Engine, EngineSpec, Lab};

// ---------------------------------------------------------------------------
// A fake daemon.

/// What the fake daemon does with one request.
#[derive(Debug, Clone)]
enum Action {
    /// Writes these bytes and waits for the next request.
    Send(Vec<u8>),
    /// Writes these bytes and closes.
    SendClose(Vec<u8>),
    /// Writes one byte per interval, then closes.
    Trickle(Vec<u8>, Duration),
    /// Never answers (for a while).
    Hang,
    /// Closes without answering.
    Close,
}

type Handler = Arc<dyn Fn(&str) -> Action + Send + Sync>;

#[derive(Debug)]
struct FakeDaemon {
    dir: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
}

fn temp_dir(label: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "nfdoctor-api-{}-{}-{label}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

impl FakeDaemon {
    fn start(handler: impl Fn(&str) -> Action + Send + Sync + 'static) -> FakeDaemon {
        let dir = temp_dir("fake");
        let listener = UnixListener::bind(dir.join("docker.sock")).expect("bind");
        let handler: Handler = Arc::new(handler);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (r, c) = (requests.clone(), connections.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                c.fetch_add(1, Ordering::SeqCst);
                let (h, r) = (handler.clone(), r.clone());
                thread::spawn(move || serve(stream, h, r));
            }
        });
        FakeDaemon {
            dir,
            requests,
            connections,
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }

    fn client(&self, options: ClientOptions) -> Client {
        Client::unix(self.socket(), options)
    }

    /// Request heads received so far.
    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn serve(stream: UnixStream, handler: Handler, requests: Arc<Mutex<Vec<String>>>) {
    let mut out = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => head.push_str(&line),
            }
        }
        requests.lock().expect("lock").push(head.clone());
        let close = head.to_ascii_lowercase().contains("connection: close");
        match handler(&head) {
            Action::Send(bytes) => {
                if out.write_all(&bytes).is_err() {
                    return;
                }
            }
            Action::SendClose(bytes) => {
                let _ = out.write_all(&bytes);
                return;
            }
            Action::Trickle(bytes, every) => {
                for b in bytes {
                    if out.write_all(&[b]).is_err() {
                        return;
                    }
                    sleep(every);
                }
                return;
            }
            Action::Hang => {
                sleep(Duration::from_secs(5));
                return;
            }
            Action::Close => return,
        }
        if close {
            return;
        }
    }
}

/// The path of a request head (`GET /v1.41/info HTTP/1.1` → `/v1.41/info`).
fn target(head: &str) -> &str {
    head.split_whitespace().nth(1).unwrap_or("")
}

fn answer(status: &str, body: &[u8]) -> Vec<u8> {
    [
        format!(
            "HTTP/1.1 {status}\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
        body,
    ]
    .concat()
}

/// A chunked answer, the body cut in pieces of the given sizes (cycled).
fn chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    let mut rest = body;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        i += 1;
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

const VERSION_1_41: &str =
    r#"{"Version":"20.10.24+dfsg1","ApiVersion":"1.41","MinAPIVersion":"1.12","Os":"linux"}"#;

fn fast() -> ClientOptions {
    ClientOptions::with_timeout(Duration::from_millis(300))
}

// ---------------------------------------------------------------------------
// The client against fake daemons.

#[test]
fn chunked_answers_and_version_negotiation() {
    let daemon = FakeDaemon::start(|head| match target(head) {
        "/version" => Action::Send(chunked(VERSION_1_41.as_bytes(), &[1, 7, 3])),
        "/v1.41/info" => Action::Send(chunked(br#"{"ServerVersion":"20.10.24"}"#, &[5])),
        _ => Action::Send(answer("404 Not Found", br#"{"message":"page not found"}"#)),
    });
    let mut client = daemon.client(fast());
    let (body, spoken) = api::negotiate(&mut client).expect("negotiate");
    assert_eq!(body, VERSION_1_41.as_bytes());
    assert_eq!(spoken, Some(ApiVersion::new(1, 41)));
    assert_eq!(client.api_prefix(), "/v1.41");
    let info: serde_json::Value = client.get_json("/info").expect("info");
    assert_eq!(info["ServerVersion"], "20.10.24");
    let heads = daemon.requests();
    assert_eq!(
        heads.iter().map(|h| target(h)).collect::<Vec<_>>(),
        ["/version", "/v1.41/info"]
    );
    assert!(heads[0].starts_with("GET /version HTTP/1.1\r\n"));
    assert!(heads[0].contains("\r\nHost: api.moby.localhost\r\n"));
}

#[test]
fn keep_alive_uses_one_connection_and_close_one_each() {
    let daemon = FakeDaemon::start(|_| Action::Send(answer("200 OK", b"{}")));
    let mut client = daemon.client(fast());
    for _ in 0..3 {
        client.get("/_ping").expect("get");
    }
    assert_eq!((daemon.connections(), client.connections_opened()), (1, 1));

    let daemon = FakeDaemon::start(|_| Action::Send(answer("200 OK", b"{}")));
    let mut client = daemon.client(ClientOptions {
        keep_alive: false,
        ..fast()
    });
    for _ in 0..3 {
        client.get("/_ping").expect("get");
    }
    assert_eq!(daemon.connections(), 3);
    assert!(daemon
        .requests()
        .iter()
        .all(|h| h.contains("\r\nConnection: close\r\n")));
}

/// Many requests (a host's containers) go over a few connections at once;
/// the answers come back in the order asked, an error in its place.
#[test]
fn parallel_gets_keep_the_order_asked() {
    let daemon = FakeDaemon::start(|head| match target(head) {
        "/v1.41/p13" => Action::Send(answer("404 Not Found", br#"{"message":"no p13"}"#)),
        t => Action::Send(answer("200 OK", t.as_bytes())),
    });
    let mut client = daemon.client(fast());
    client.set_api_prefix("/v1.41");
    let paths: Vec<String> = (0..40).map(|i| format!("/p{i}")).collect();
    let answers = api::get_parallel(&mut client, &paths, 4, &|_, r| r);
    assert_eq!(answers.len(), 40);
    for (i, a) in answers.iter().enumerate() {
        match a {
            Ok(r) => assert_eq!(r.body, format!("/v1.41/p{i}").as_bytes()),
            Err(e) => assert!(i == 13 && e.to_string().contains("no p13"), "{i}: {e}"),
        }
    }
    assert!(answers[13].is_err());
    assert_eq!(daemon.connections(), 4, "four connections at once");
    // Few requests: one connection, the client's own.
    let daemon = FakeDaemon::start(|head| Action::Send(answer("200 OK", target(head).as_bytes())));
    let mut client = daemon.client(fast());
    let answers = api::get_parallel(&mut client, &paths[..5], 4, &|_, r| r);
    assert!(answers.iter().all(Result::is_ok));
    assert_eq!((daemon.connections(), client.connections_opened()), (1, 1));
}

#[test]
fn a_closed_idle_connection_is_reopened_once() {
    // Answers without "Connection: close", then closes anyway (as a daemon
    // restarting between two requests would).
    let daemon = FakeDaemon::start(|_| Action::SendClose(answer("200 OK", b"{\"n\":1}")));
    let mut client = daemon.client(fast());
    for _ in 0..3 {
        let r = client.get("/info").expect("get after a closed connection");
        assert_eq!(r.body, b"{\"n\":1}");
    }
    assert_eq!(daemon.connections(), 3);
}

#[test]
fn a_hung_daemon_times_out() {
    let daemon = FakeDaemon::start(|_| Action::Hang);
    let mut client = daemon.client(fast());
    let start = Instant::now();
    let e = client.get("/version").expect_err("no answer");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(
        matches!(
            e,
            ApiError::Timeout {
                phase: Phase::Read,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), "docker-api-timeout");
    let text = e.to_string();
    assert!(
        text.contains("did not answer within 0.3 s") && text.contains("hung"),
        "{text}"
    );
}

#[test]
fn a_trickling_daemon_hits_the_request_deadline() {
    // One byte every 50 ms never trips the 300 ms silence limit, but the
    // whole answer must come within the request deadline.
    let body = answer("200 OK", &[b' '; 200]);
    let daemon =
        FakeDaemon::start(move |_| Action::Trickle(body.clone(), Duration::from_millis(50)));
    let options = ClientOptions {
        request_timeout: Duration::from_millis(800),
        ..fast()
    };
    let mut client = daemon.client(options);
    let start = Instant::now();
    let e = client.get("/containers/json").expect_err("too slow");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(3),
        "{took:?}"
    );
    match e {
        ApiError::Timeout { phase, timeout, .. } => {
            assert_eq!((phase, timeout), (Phase::Read, Duration::from_millis(800)));
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn closed_truncated_and_garbage_answers() {
    let daemon = FakeDaemon::start(|head| match target(head) {
        "/closed" => Action::Close,
        "/truncated" => {
            Action::SendClose(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"Id\":".to_vec())
        }
        "/truncated-chunk" => Action::SendClose(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"Id\":".to_vec(),
        ),
        "/garbage" => Action::SendClose(b"SSH-2.0-OpenSSH_9.2p1\r\n".to_vec()),
        "/not-json" => Action::Send(answer("200 OK", b"<html>hello</html>")),
        _ => Action::Close,
    });
    let mut client = daemon.client(fast());
    for (path, code, words) in [
        (
            "/closed",
            "docker-api-protocol",
            "closed the connection without answering",
        ),
        (
            "/truncated",
            "docker-api-protocol",
            "cut short (the body: 94 of 100 bytes missing)",
        ),
        ("/truncated-chunk", "docker-api-protocol", "cut short"),
        (
            "/garbage",
            "docker-api-protocol",
            "not an HTTP status line: \"SSH-2.0",
        ),
    ] {
        let e = client.get(path).expect_err(path);
        let text = e.to_string();
        assert_eq!(e.code(), code, "{path}: {text}");
        assert!(text.contains(words), "{path}: {text}");
        assert!(
            text.contains(&daemon.socket().display().to_string()),
            "{text}"
        );
    }
    let e = client
        .get_json::<serde_json::Value>("/not-json")
        .expect_err("not JSON");
    assert_eq!(e.code(), "docker-api-json");
    assert!(e
        .to_string()
        .starts_with("unexpected JSON in the answer to GET /not-json: "));
}

#[test]
fn error_status_carries_dockers_message() {
    let daemon = FakeDaemon::start(|head| match target(head) {
        "/version" => Action::Send(answer("200 OK", VERSION_1_41.as_bytes())),
        _ => Action::Send(answer(
            "500 Internal Server Error",
            br#"{"message":"Cannot connect to containerd: context deadline exceeded"}"#,
        )),
    });
    let mut client = daemon.client(fast());
    let e = fetch_snapshot(&mut client).expect_err("info fails");
    match &e {
        ApiError::Http {
            request,
            status,
            message,
            ..
        } => {
            assert_eq!((request.as_str(), *status), ("/v1.41/info", 500));
            assert_eq!(
                message,
                "Cannot connect to containerd: context deadline exceeded"
            );
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(
        e.to_string(),
        "Docker API GET /v1.41/info failed with 500 Internal Server Error: Cannot connect to \
         containerd: context deadline exceeded"
    );
}

#[test]
fn too_old_api() {
    let daemon = FakeDaemon::start(|_| {
        Action::Send(answer(
            "200 OK",
            br#"{"Version":"17.06.2-ce","ApiVersion":"1.30","MinAPIVersion":"1.12"}"#,
        ))
    });
    let e = fetch_snapshot(&mut daemon.client(fast())).expect_err("too old");
    assert_eq!(e.code(), "docker-api-too-old");
    assert_eq!(
        e.to_string(),
        "the Docker daemon speaks Engine API 1.30 (Docker 17.06.2-ce); nfdoctor needs API 1.37 \
         or newer (Docker 18.03 or newer)"
    );
}

#[test]
fn answers_larger_than_the_cap() {
    let big = vec![b'x'; 5000];
    let daemon = FakeDaemon::start(move |_| Action::Send(chunked(&big, &[1000])));
    let mut client = daemon.client(ClientOptions {
        max_body: 4096,
        ..fast()
    });
    let e = client.get("/containers/json").expect_err("too large");
    assert_eq!(e.code(), "docker-api-too-large");
    assert!(e.to_string().contains("larger than 4096 bytes"), "{e}");
}

#[test]
fn missing_stale_and_wrong_sockets() {
    let dir = temp_dir("sockets");
    let missing = dir.join("missing.sock");
    let e = Client::unix(&missing, fast())
        .get("/version")
        .expect_err("missing");
    assert_eq!(e.code(), "docker-socket-missing");
    assert!(e.to_string().contains("another mount namespace"), "{e}");

    // A listener that went away leaves its file: connection refused.
    let stale = dir.join("stale.sock");
    drop(UnixListener::bind(&stale).expect("bind"));
    let e = Client::unix(&stale, fast())
        .get("/version")
        .expect_err("stale");
    assert_eq!(e.code(), "docker-socket-refused");
    assert!(e.to_string().contains("stale socket"), "{e}");

    let file = dir.join("file.sock");
    fs::write(&file, "").expect("file");
    let e = Client::unix(&file, fast())
        .get("/version")
        .expect_err("file");
    assert_eq!(e.code(), "docker-socket-not-a-socket");
    assert!(
        e.to_string().ends_with("is not a socket (a regular file)"),
        "{e}"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn permission_denied_says_what_to_do() {
    // Root passes any permission check, so the errno is handed over as
    // connect() would return it for a user outside the socket's group.
    let dir = temp_dir("perm");
    let sock = dir.join("docker.sock");
    let _listener = UnixListener::bind(&sock).expect("bind");
    let e = api::http::classify_connect_error(
        &sock,
        std::io::Error::from_raw_os_error(libc::EACCES),
        Duration::from_secs(2),
    );
    assert_eq!(e.code(), "docker-socket-permission-denied");
    let text = e.to_string();
    assert!(
        text.contains("(owned by root:") && text.contains("run nfdoctor as root"),
        "{text}"
    );
    let e = ApiError::PermissionDenied {
        path: sock.clone(),
        owner: Some("root:docker mode 0660".into()),
        group: Some("docker".into()),
    };
    assert_eq!(
        e.to_string(),
        format!(
            "permission denied connecting to {} (owned by root:docker mode 0660): run nfdoctor as \
             root (sudo), or add this user to the `docker` group (then log in again)",
            sock.display()
        )
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn connect_times_out_when_the_backlog_is_full() {
    // A daemon that stopped accepting: once its backlog is full, connect()
    // blocks. Backlog 0 admits one pending connection.
    let dir = temp_dir("backlog");
    let sock = dir.join("docker.sock");
    let listener = UnixListener::bind(&sock).expect("bind");
    {
        use std::os::fd::AsRawFd;
        // SAFETY: listen(2) on a socket this test owns, with a plain integer
        // argument; no memory is passed.
        let rc = unsafe { libc::listen(listener.as_raw_fd(), 0) };
        assert_eq!(rc, 0);
    }
    let mut held = Vec::new();
    let mut timed_out = None;
    for _ in 0..64 {
        let mut client = Client::unix(
            &sock,
            ClientOptions::with_timeout(Duration::from_millis(200)),
        );
        match client.get("/version") {
            Err(
                e @ ApiError::Timeout {
                    phase: Phase::Connect,
                    ..
                },
            ) => {
                timed_out = Some(e);
                break;
            }
            Err(ApiError::Timeout {
                phase: Phase::Read, ..
            }) => held.push(client),
            other => panic!("{other:?}"),
        }
    }
    let e = timed_out.expect("connect never blocked");
    assert!(e.to_string().contains("while connecting"), "{e}");
    drop(listener);
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// Fixtures: the real engines' answers.

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docker-api")
}

/// Writes an engine's answers: `version.json`, `info.json`,
/// `networks.json`, `containers.json`, `inspect/<name>.json`,
/// `network/<name>.json`.
fn save_fixtures(dir: &Path, raw: &RawResponses) {
    let _ = fs::remove_dir_all(dir);
    for sub in ["inspect", "network"] {
        fs::create_dir_all(dir.join(sub)).expect("fixture dir");
    }
    let pretty = |body: &[u8]| -> Vec<u8> {
        let v: serde_json::Value = serde_json::from_slice(body).expect("JSON");
        let mut out = serde_json::to_vec_pretty(&v).expect("pretty");
        out.push(b'\n');
        out
    };
    let name_of = |body: &[u8], key: &str| -> String {
        let v: serde_json::Value = serde_json::from_slice(body).expect("JSON");
        v[key]
            .as_str()
            .expect("name")
            .trim_start_matches('/')
            .to_string()
    };
    for (file, body) in [
        ("version.json", &raw.version),
        ("info.json", &raw.info),
        ("networks.json", &raw.networks),
        ("containers.json", &raw.containers),
    ] {
        fs::write(dir.join(file), pretty(body)).expect("write fixture");
    }
    for (_, body) in &raw.inspects {
        let name = name_of(body, "Name");
        fs::write(
            dir.join("inspect").join(format!("{name}.json")),
            pretty(body),
        )
        .expect("write");
    }
    for (_, body) in &raw.network_details {
        let name = name_of(body, "Name");
        fs::write(
            dir.join("network").join(format!("{name}.json")),
            pretty(body),
        )
        .expect("write");
    }
}

fn load_fixtures(dir: &Path) -> RawResponses {
    let read = |p: PathBuf| fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let many = |sub: &str| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir.join(sub))
            .expect("fixture dir")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let body = read(p);
                let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
                (v["Id"].as_str().expect("Id").to_string(), body)
            })
            .collect()
    };
    let version = read(dir.join("version.json"));
    let v: serde_json::Value = serde_json::from_slice(&version).expect("JSON");
    let api = |k: &str| ApiVersion::parse(v[k].as_str().unwrap_or_default());
    RawResponses {
        spoken_api_version: api("ApiVersion")
            .and_then(|a| api::version::negotiate(a, api("MinAPIVersion"))),
        version,
        info: read(dir.join("info.json")),
        networks: read(dir.join("networks.json")),
        network_details: many("network"),
        containers: read(dir.join("containers.json")),
        inspects: many("inspect"),
        notes: Vec::new(),
    }
}

const FIXTURE_VERSIONS: [(&str, &str, &str); 3] = [
    ("20.10", "20.10.24+dfsg1", "1.41"),
    ("26.1", "26.1.5+dfsg1", "1.45"),
    ("28.5", "28.5.2+dfsg4", "1.51"),
];

fn endpoint_of<'a>(
    s: &'a Snapshot,
    container: &str,
    network: &str,
) -> &'a nfdoctor::docker::Endpoint {
    s.state
        .endpoints
        .iter()
        .find(|e| e.container_name == container && e.network == network)
        .unwrap_or_else(|| panic!("no endpoint {container} on {network}"))
}

fn container<'a>(s: &'a Snapshot, name: &str) -> &'a api::ContainerInfo {
    s.containers
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no container {name}"))
}

fn network<'a>(s: &'a Snapshot, name: &str) -> &'a Network {
    s.state
        .networks
        .iter()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no network {name}"))
}

/// `(proto, host address or "any" + family, host port, container port)`.
fn port_view(p: &PublishedPort) -> String {
    format!(
        "{}/{} {}:{}",
        p.container_port,
        p.proto.as_str(),
        p.host_ip.map(|ip| ip.to_string()).unwrap_or_default(),
        p.host_port
    )
}

/// What the scenario (see [`scenario`]) must give on every engine.
fn check_scenario(s: &Snapshot, version: &str) {
    // Networks: bridge drivers only, oldest first (the default bridge is
    // created at daemon start, before any user network).
    let names: Vec<&str> = s.state.networks.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        ["bridge", "nfd-user", "nfd-v6", "nfd-int"],
        "{version}"
    );
    let bridge = network(s, "bridge");
    assert_eq!(bridge.bridge, "docker0");
    assert_eq!(
        bridge.ipv4.map(|n| n.to_string_view()),
        Some("172.17.0.0/16".into())
    );
    assert!(bridge.icc && bridge.masquerade && !bridge.internal);
    let user = network(s, "nfd-user");
    assert_eq!(user.bridge, format!("br-{}", &user.id[..12]));
    assert_eq!(user.ipv6, None);
    let v6 = network(s, "nfd-v6");
    assert_eq!(v6.bridge, "nfd-v6br");
    assert_eq!(
        v6.ipv4.map(|n| n.to_string_view()),
        Some("172.30.0.0/24".into())
    );
    assert_eq!(
        v6.ipv6.map(|n| n.to_string_view()),
        Some("fd00:30::/64".into())
    );
    assert!(!v6.icc && !v6.masquerade);
    assert_eq!(v6.gateway_mode_ipv4, "nat");
    let int = network(s, "nfd-int");
    assert!(int.internal);
    assert_eq!(
        int.ipv4.map(|n| n.to_string_view()),
        Some("172.31.0.0/24".into())
    );

    // Containers in start order; the host-network one has no endpoint, the
    // created-but-not-started one is not there.
    let order: Vec<&str> = s.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        order,
        ["web", "app", "v6", "linked", "multi", "hostnet"],
        "{version}"
    );
    let eps: Vec<(&str, &str)> = s
        .state
        .endpoints
        .iter()
        .map(|e| (e.container_name.as_str(), e.network.as_str()))
        .collect();
    assert_eq!(
        eps,
        [
            ("web", "bridge"),
            ("app", "nfd-user"),
            ("v6", "nfd-v6"),
            ("linked", "bridge"),
            ("linked", "nfd-int"),
            ("linked", "nfd-user"),
            ("multi", "bridge"),
            ("multi", "nfd-user"),
        ],
        "{version}"
    );
    assert_eq!(container(s, "hostnet").networks, ["host"]);

    // Ports, with their family: -p 8080:80 gives 0.0.0.0 and ::.
    let web = container(s, "web");
    let web_ports: BTreeSet<String> = web.ports.iter().map(port_view).collect();
    let want: BTreeSet<String> = [
        "80/tcp 0.0.0.0:8080",
        "80/tcp :::8080",
        "53/udp 0.0.0.0:5353",
        "53/udp :::5353",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(web_ports, want, "{version}");
    let model: Vec<_> = endpoint_of(s, "web", "bridge").ports.clone();
    assert_eq!(model.len(), 4);
    // Each listed family's unspecified address stays (the rules engine
    // joins the pair into one binding for both families).
    let unspecified: Vec<String> = model
        .iter()
        .map(|p| p.host_ip.map(|ip| ip.to_string()).unwrap_or_default())
        .collect();
    assert_eq!(
        unspecified.iter().filter(|ip| *ip == "0.0.0.0").count(),
        2,
        "{model:?}"
    );
    assert_eq!(
        unspecified.iter().filter(|ip| *ip == "::").count(),
        2,
        "{model:?}"
    );
    let v6c = container(s, "v6");
    let v6_ports: BTreeSet<String> = v6c.ports.iter().map(port_view).collect();
    let want: BTreeSet<String> = [
        "80/tcp 127.0.0.1:8082",
        "80/tcp :::8083",
        "9000/udp 0.0.0.0:9000",
        "9000/udp :::9000",
        "9001/udp 0.0.0.0:9001",
        "9001/udp :::9001",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(v6_ports, want, "{version}");
    let families: BTreeSet<_> = v6c
        .ports
        .iter()
        .filter(|p| p.host_port == 8083)
        .map(|p| p.family())
        .collect();
    assert_eq!(
        families,
        BTreeSet::from([Some(Family::Ipv6)]),
        "[::]:8083 is IPv6 only"
    );
    let v6_model = &endpoint_of(s, "v6", "nfd-v6").ports;
    assert!(v6_model
        .iter()
        .any(|p| p.host_ip == Some("127.0.0.1".parse().expect("address"))
            && p.host_port == 8082
            && p.proto == Proto::Tcp));
    assert!(
        v6_model
            .iter()
            .filter(|p| p.host_port == 8083)
            .all(|p| p.host_ip == Some("::".parse().expect("address"))),
        "[::]:8083 stays IPv6 only in the model: {v6_model:?}"
    );
    // So Docker's IPv4 rules, which have no port 8083, are expected as
    // they are.
    let four = nfdoctor::docker::rules::expected(&s.state, Family::Ipv4).save_text(false);
    assert!(four.contains("--dport 9000 "), "{version}:\n{four}");
    assert!(!four.contains("--dport 8083 "), "{version}:\n{four}");
    assert!(endpoint_of(s, "v6", "nfd-v6").ipv6.is_some());
    assert_eq!(
        v6c.requested_ports
            .iter()
            .map(|p| format!(
                "{}/{} {}:{}",
                p.container_port,
                p.proto.as_str(),
                p.host_ip,
                p.host_port
            ))
            .collect::<BTreeSet<_>>(),
        [
            "80/tcp 127.0.0.1:8082",
            "80/tcp :::8083",
            "9000/udp :9000",
            "9001/udp :9001"
        ]
        .into_iter()
        .map(String::from)
        .collect()
    );

    // The published ports of a container on two networks belong to the
    // endpoint that is its gateway: "bridge" sorts before "nfd-user".
    let multi = container(s, "multi");
    assert_eq!(multi.gateway_network.as_deref(), Some("bridge"));
    assert_eq!(endpoint_of(s, "multi", "bridge").ports.len(), 2);
    assert!(endpoint_of(s, "multi", "nfd-user").ports.is_empty());
    // Ports only on one endpoint of each container.
    assert!(endpoint_of(s, "linked", "nfd-int").ports.is_empty());

    // Legacy links: on the default bridge endpoint, as the peer's id.
    let linked = container(s, "linked");
    assert_eq!(linked.links.len(), 1);
    assert_eq!(linked.links[0].alias, "db");
    assert_eq!(linked.links[0].peer_name, "web");
    assert_eq!(
        endpoint_of(s, "linked", "bridge").links,
        vec![web.id.clone()]
    );
    assert!(endpoint_of(s, "linked", "nfd-user").links.is_empty());

    // Facts.
    let f = &s.facts;
    assert_eq!(f.default_bridge.as_deref(), Some("docker0"));
    assert_eq!(f.options.ip_masq, Some(true));
    assert_eq!(f.default_icc, Some(true));
    assert_eq!(f.rootless, Some(false));
    assert_eq!(f.options.firewall_backend.as_deref(), Some("iptables"));
    assert_eq!(f.storage_driver.as_deref(), Some("vfs"));
    assert_eq!(f.cgroup_driver.as_deref(), Some("cgroupfs"));
    for unknown in ["iptables", "ip6tables", "userland-proxy", "ip-forward"] {
        assert!(f.options.unknown().contains(&unknown), "{unknown}");
    }
    assert!(s.notes.is_empty(), "{:?}", s.notes);
}

trait SubnetView {
    fn to_string_view(&self) -> String;
}

impl<A: std::fmt::Display> SubnetView for nfdoctor::docker::Subnet<A> {
    fn to_string_view(&self) -> String {
        format!("{}/{}", self.addr, self.prefix)
    }
}

#[test]
fn fixtures_of_the_real_engines() {
    for (dir, server, api_version) in FIXTURE_VERSIONS {
        let raw = load_fixtures(&fixtures_dir().join(dir));
        let s = Snapshot::build(&raw.decode().expect("decode"));
        assert_eq!(s.facts.server_version.as_deref(), Some(server));
        assert_eq!(
            s.facts.api_version.map(|v| v.to_string()).as_deref(),
            Some(api_version)
        );
        assert_eq!(s.facts.spoken_api_version, s.facts.api_version);
        assert_eq!(
            s.state.version.map(|v| (v.major, v.minor)),
            s.facts.version.map(|v| (v.major, v.minor))
        );
        check_scenario(&s, dir);
        // Per-version facts.
        match dir {
            "28.5" => {
                assert_eq!(s.facts.firewall_driver.as_deref(), Some("iptables"));
                assert_eq!(s.facts.firewalld, Some(false));
                assert_eq!(s.facts.bridge_nf_iptables, None, "no longer reported");
                assert_eq!(endpoint_of(&s, "web", "bridge").ipv6, None);
            }
            _ => {
                assert_eq!(s.facts.firewall_driver, None);
                assert_eq!(s.facts.firewalld, None);
                assert!(s.facts.bridge_nf_iptables.is_some());
            }
        }
    }
}

/// A fake 28.5 daemon (API 1.51) answering with `raw`'s bodies, each sent
/// in chunks of `cuts`.
fn serving(raw: &RawResponses, cuts: &'static [usize]) -> FakeDaemon {
    let mut routes: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    routes.insert("/version".into(), raw.version.clone());
    routes.insert("/v1.51/info".into(), raw.info.clone());
    routes.insert("/v1.51/networks".into(), raw.networks.clone());
    routes.insert("/v1.51/containers/json".into(), raw.containers.clone());
    for (id, body) in &raw.inspects {
        routes.insert(format!("/v1.51/containers/{id}/json"), body.clone());
    }
    for (id, body) in &raw.network_details {
        routes.insert(format!("/v1.51/networks/{id}"), body.clone());
    }
    FakeDaemon::start(move |head| match routes.get(target(head)) {
        Some(body) => Action::Send(chunked(body, cuts)),
        None => Action::Send(answer("404 Not Found", br#"{"message":"page not found"}"#)),
    })
}

/// The 28.5 answers served by a fake daemon, in odd chunks: the client and
/// the offline build agree.
#[test]
fn fixtures_served_by_a_fake_daemon() {
    let dir = fixtures_dir().join("28.5");
    let raw = load_fixtures(&dir);
    let offline = Snapshot::build(&raw.decode().expect("decode"));
    let daemon = serving(&raw, &[1, 100, 7, 4096]);
    let mut client = daemon.client(ClientOptions::default());
    let mut online = fetch_snapshot(&mut client).expect("snapshot");
    assert_eq!(online.socket, daemon.socket());
    online.socket = PathBuf::new();
    assert_eq!(online, offline);
    assert_eq!(client.connections_opened(), 1, "one kept-alive connection");
}

/// Enough containers to be inspected over more than one connection (as
/// the threads happen to take them), each answer decoded on the thread that
/// received it: the snapshot equals the offline build of the same answers,
/// and a malformed inspect fails as it does offline (naming its request).
#[test]
fn inspects_decoded_as_they_arrive_match_the_offline_decode() {
    let mut raw = load_fixtures(&fixtures_dir().join("28.5"));
    let (mut list, mut inspects) = (Vec::new(), Vec::new());
    for i in 0..20 {
        let id = format!("{i:064x}");
        list.push(format!(
            r#"{{"Id":"{id}","Names":["/c{i}"],"State":"running","HostConfig":{{"NetworkMode":"bridge"}}}}"#
        ));
        let body = format!(
            r#"{{"Id":"{id}","Name":"/c{i}","State":{{"Status":"running","Running":true,"StartedAt":"2026-11-27T00:00:{i:02}Z"}},"HostConfig":{{"NetworkMode":"bridge","PortBindings":{{"80/tcp":[{{"HostIp":"","HostPort":"{port}"}}]}}}},"NetworkSettings":{{"Ports":{{"80/tcp":[{{"HostIp":"0.0.0.0","HostPort":"{port}"}}]}},"Networks":{{"bridge":{{"IPAddress":"172.17.0.{ip}","IPPrefixLen":16}}}}}}}}"#,
            port = 8000 + i,
            ip = i + 2
        );
        inspects.push((id, body.into_bytes()));
    }
    raw.containers = format!("[{}]", list.join(",")).into_bytes();
    let serve = |raw: &RawResponses| {
        let daemon = serving(raw, &[1000]);
        fetch_snapshot(&mut daemon.client(ClientOptions::default()))
    };
    raw.inspects = inspects.clone();
    let offline = Snapshot::build(&raw.decode().expect("decode"));
    assert_eq!(offline.state.endpoints.len(), 20);
    let mut online = serve(&raw).expect("snapshot");
    online.socket = PathBuf::new();
    assert_eq!(online, offline);

    inspects[13].1 = br#"{"Id":13}"#.to_vec();
    raw.inspects = inspects;
    let offline = raw.decode().expect_err("a malformed inspect");
    let online = serve(&raw).expect_err("a malformed inspect");
    assert_eq!(online.to_string(), offline.to_string());
    assert!(
        online
            .to_string()
            .contains(&format!("/v1.51/containers/{:064x}/json", 13)),
        "{online}"
    );

    // A list whose ids read but whose ports do not: the containers are
    // still inspected, and the list's error is the one reported.
    list[4] = list[4].replace(r#""State":"running""#, r#""State":"running","Ports":7"#);
    raw.containers = format!("[{}]", list.join(",")).into_bytes();
    let offline = raw.decode().expect_err("a malformed list");
    let online = serve(&raw).expect_err("a malformed list");
    assert_eq!(online.to_string(), offline.to_string());
    assert!(
        online.to_string().contains("/v1.51/containers/json"),
        "{online}"
    );
}

/// Raw answers (as the daemon sent them on the wire) parse the same cut
/// anywhere.
#[test]
fn raw_answers_of_the_real_engines() {
    for (dir, server, _) in FIXTURE_VERSIONS {
        let bytes = fs::read(fixtures_dir().join(dir).join("info.http")).expect("info.http");
        let whole = api::http::parse_response(&bytes[..], Default::default()).expect("parse");
        assert_eq!(whole.header("transfer-encoding"), Some("chunked"), "{dir}");
        let info: serde_json::Value = serde_json::from_slice(&whole.body).expect("JSON");
        assert_eq!(info["ServerVersion"], server);
        for step in [1, 2, 3, 5, 8, 13, 100, 1000] {
            let pieces = Pieces {
                data: &bytes,
                pos: 0,
                step,
            };
            let got = api::http::parse_response(pieces, Default::default()).expect("pieces");
            assert_eq!(got, whole, "{dir}, pieces of {step}");
        }
        for cut in (0..bytes.len()).step_by(7) {
            let e = api::http::parse_response(&bytes[..cut], Default::default())
                .expect_err("cut short");
            assert!(
                matches!(
                    e,
                    api::http::HttpError::Truncated(_) | api::http::HttpError::ClosedEarly
                ),
                "{dir}, cut at {cut}: {e}"
            );
        }
    }
}

struct Pieces<'a> {
    data: &'a [u8],
    pos: usize,
    step: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

// ---------------------------------------------------------------------------
// Real engines.

/// Networks `nfd-user`, `nfd-v6` (IPv6, own bridge name, no ICC, no
/// masquerade), `nfd-int` (internal); containers started in this order:
/// `web` (default bridge, 8080/tcp 5353/udp), `app` (nfd-user, 8081/tcp
/// 5354/udp), `v6` (nfd-v6: 127.0.0.1:8082, [::]:8083, 9000-9001/udp),
/// `linked` (default bridge, `--link web:db`, then also on nfd-user and
/// nfd-int), `multi` (nfd-user and the default bridge, 8084/tcp), `hostnet`
/// (host network); `idle` created, never started.
fn scenario(engine: &Engine) {
    let image = support::engine::IMAGE;
    engine.docker_ok(["network", "create", "nfd-user"]);
    engine.docker_ok([
        "network",
        "create",
        "--ipv6",
        "--subnet=172.30.0.0/24",
        "--subnet=fd00:30::/64",
        "--opt=com.docker.network.bridge.name=nfd-v6br",
        "--opt=com.docker.network.bridge.enable_icc=false",
        "--opt=com.docker.network.bridge.enable_ip_masquerade=false",
        "nfd-v6",
    ]);
    engine.docker_ok([
        "network",
        "create",
        "--internal",
        "--subnet=172.31.0.0/24",
        "nfd-int",
    ]);
    let run = |args: &[&str]| {
        let mut all = vec!["run", "-d"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[image, "sleep", "3600"]);
        engine.docker_ok(all);
    };
    run(&["--name=web", "-p", "8080:80/tcp", "-p", "5353:53/udp"]);
    run(&[
        "--name=app",
        "--network=nfd-user",
        "-p",
        "8081:80",
        "-p",
        "5354:53/udp",
    ]);
    run(&[
        "--name=v6",
        "--network=nfd-v6",
        "-p",
        "127.0.0.1:8082:80",
        "-p",
        "[::]:8083:80",
        "-p",
        "9000-9001:9000-9001/udp",
    ]);
    run(&["--name=linked", "--link=web:db"]);
    engine.docker_ok(["network", "connect", "nfd-user", "linked"]);
    engine.docker_ok(["network", "connect", "nfd-int", "linked"]);
    engine.docker_ok([
        "create",
        "--name=multi",
        "--network=nfd-user",
        "-p",
        "8084:80",
        image,
        "sleep",
        "3600",
    ]);
    engine.docker_ok(["network", "connect", "bridge", "multi"]);
    engine.docker_ok(["start", "multi"]);
    run(&["--name=hostnet", "--network=host"]);
    engine.docker_ok(["create", "--name=idle", image, "sleep", "3600"]);
}

fn inspect_json(engine: &Engine, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["inspect"];
    all.extend_from_slice(args);
    serde_json::from_str(&engine.docker_ok(all)).expect("docker inspect JSON")
}

/// The bytes of one answer exactly as the daemon sends them.
fn raw_exchange(socket: &Path, target: &str) -> Vec<u8> {
    let mut s = UnixStream::connect(socket).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: api.moby.localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    out
}

/// `docker port` lines: `80/tcp -> 0.0.0.0:8080`, `80/tcp -> :::8080`
/// (20.10) or `80/tcp -> [::]:8080`.
fn docker_port(engine: &Engine, name: &str) -> BTreeSet<String> {
    engine
        .docker_ok(["port", name])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (cport, host) = l.split_once(" -> ").expect("docker port line");
            let (ip, port) = host.rsplit_once(':').expect("host:port");
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            format!("{cport} {ip}:{port}")
        })
        .collect()
}

/// The DNAT rules of nat `DOCKER`: `(dport, to-destination)`.
fn dnat_rules(engine: &Engine, family: Family) -> BTreeSet<(String, String)> {
    let save = engine.iptables_save(family, Backend::Nft);
    save.lines()
        .filter(|l| l.starts_with("-A DOCKER ") && l.contains("-j DNAT"))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let after = |flag: &str| {
                words
                    .iter()
                    .position(|w| *w == flag)
                    .and_then(|i| words.get(i + 1))
                    .map(|w| w.to_string())
                    .unwrap_or_default()
            };
            (after("--dport"), after("--to-destination"))
        })
        .collect()
}

fn real_engine(version: DockerVersion) {
    let Some(lab) = Lab::require() else { return };
    let engine = Engine::start(&lab, EngineSpec::new(version, Backend::Nft));
    scenario(&engine);

    let mut client = Client::unix(engine.socket_path(), ClientOptions::default());
    let raw = fetch_raw(&mut client).expect("the API answers");
    let mut s = Snapshot::build(&raw.decode().expect("decodes"));
    s.socket = engine.socket_path();
    assert_eq!(
        client.connections_opened(),
        1,
        "keep-alive with a real dockerd"
    );

    if std::env::var("NFDOCTOR_CAPTURE_FIXTURES").as_deref() == Ok("1") {
        let dir = fixtures_dir().join(version.as_str());
        save_fixtures(&dir, &raw);
        let prefix = raw.spoken_api_version.expect("version").prefix();
        let wire = raw_exchange(&engine.socket_path(), &format!("{prefix}/info"));
        fs::write(dir.join("info.http"), wire).expect("write info.http");
    }

    check_scenario(&s, version.as_str());

    // Versions, as the docker CLI reports them.
    let server = engine.docker_ok([
        "version",
        "--format",
        "{{.Server.Version}} {{.Server.APIVersion}}",
    ]);
    let (v, a) = server.trim().split_once(' ').expect("version line");
    assert_eq!(s.facts.server_version.as_deref(), Some(v));
    assert_eq!(
        s.facts.api_version.map(|x| x.to_string()).as_deref(),
        Some(a)
    );
    assert_eq!(
        s.facts.spoken_api_version, s.facts.api_version,
        "its own version"
    );

    // Networks against `docker network inspect` and the kernel's bridges.
    let names: Vec<&str> = s.state.networks.iter().map(|n| n.name.as_str()).collect();
    let mut args = vec!["network"];
    args.push("inspect");
    args.extend(names.iter().copied());
    let inspected: Vec<serde_json::Value> =
        serde_json::from_str(&engine.docker_ok(args)).expect("network inspect JSON");
    for n in &s.state.networks {
        let j = inspected
            .iter()
            .find(|j| j["Name"] == n.name.as_str())
            .expect("inspected");
        assert_eq!(j["Id"], n.id.as_str());
        assert_eq!(j["Internal"].as_bool(), Some(n.internal));
        let subnets: BTreeSet<String> = j["IPAM"]["Config"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(|c| c["Subnet"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let ours: BTreeSet<String> = n
            .ipv4
            .map(|s| s.to_string_view())
            .into_iter()
            .chain(n.ipv6.map(|s| s.to_string_view()))
            .collect();
        assert_eq!(ours, subnets, "{}", n.name);
        // The bridge exists, and carries the gateway of the IPv4 subnet.
        let link = engine.netns_exec_ok(["ip", "-d", "link", "show", "dev", &n.bridge]);
        assert!(
            link.contains(" bridge "),
            "{} is not a bridge: {link}",
            n.bridge
        );
        let addr = engine.netns_exec_ok(["ip", "-4", "-o", "addr", "show", "dev", &n.bridge]);
        if let Some(net) = n.ipv4 {
            let prefix = net.to_string_view();
            let (base, len) = prefix.split_once('/').expect("prefix");
            let gw = j["IPAM"]["Config"][0]["Gateway"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| {
                    let mut o: Vec<u8> =
                        base.split('.').map(|x| x.parse().expect("octet")).collect();
                    o[3] += 1;
                    format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3])
                });
            assert!(
                addr.contains(&format!("inet {gw}/{len}")),
                "{}: {addr}",
                n.bridge
            );
        }
    }

    // Containers: start order, addresses, ports, links against `docker
    // inspect` and `docker port`.
    let ids: Vec<&str> = s.containers.iter().map(|c| c.id.as_str()).collect();
    let inspected = inspect_json(&engine, &ids);
    let mut started: Vec<(String, String)> = inspected
        .iter()
        .map(|j| {
            (
                j["State"]["StartedAt"]
                    .as_str()
                    .expect("StartedAt")
                    .to_string(),
                j["Name"]
                    .as_str()
                    .expect("Name")
                    .trim_start_matches('/')
                    .to_string(),
            )
        })
        .collect();
    started.sort_by_key(|(t, _)| api::time::Timestamp::parse(t));
    let order: Vec<&str> = s.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        started.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
        order
    );
    for e in &s.state.endpoints {
        let j = inspected
            .iter()
            .find(|j| j["Id"] == e.container_id.as_str())
            .expect("inspected container");
        let ep = &j["NetworkSettings"]["Networks"][&e.network];
        assert_eq!(
            e.ipv4.map(|a| a.to_string()).unwrap_or_default(),
            ep["IPAddress"].as_str().unwrap_or_default(),
            "{} on {}",
            e.container_name,
            e.network
        );
        assert_eq!(
            e.ipv6.map(|a| a.to_string()).unwrap_or_default(),
            ep["GlobalIPv6Address"].as_str().unwrap_or_default()
        );
    }
    for c in &s.containers {
        let ours: BTreeSet<String> = c.ports.iter().map(port_view).collect();
        assert_eq!(ours, docker_port(&engine, &c.name), "{}", c.name);
    }

    // Where the ports really went: every IPv4 binding has a DNAT rule to the
    // address of the endpoint that carries it (the gateway endpoint). The
    // family comes from `ContainerInfo::ports`: in the model's
    // `PortBinding`, `::` (IPv6 only: no IPv4 DNAT) is "any" like `0.0.0.0`.
    let dnat4 = dnat_rules(&engine, Family::Ipv4);
    for c in &s.containers {
        let Some(gateway) = c.gateway_network.as_deref().filter(|n| *n != "host") else {
            continue;
        };
        let e = endpoint_of(&s, &c.name, gateway);
        assert_eq!(e.ports.len(), c.ports.len());
        for p in c.ports.iter().filter(|p| p.family() == Some(Family::Ipv4)) {
            let want = (
                p.host_port.to_string(),
                format!("{}:{}", e.ipv4.expect("IPv4"), p.container_port),
            );
            assert!(
                dnat4.contains(&want),
                "{} on {}: no DNAT {want:?} in {dnat4:?}",
                e.container_name,
                e.network
            );
        }
    }
    let v4_bindings = s
        .containers
        .iter()
        .flat_map(|c| &c.ports)
        .filter(|p| p.family() == Some(Family::Ipv4))
        .count();
    assert_eq!(
        dnat4.len(),
        v4_bindings,
        "one DNAT per IPv4 binding: {dnat4:?}"
    );
    // 28.5 writes ip6tables rules by default: the IPv6 bindings of the
    // container with an IPv6 address have IPv6 DNATs, the others none.
    if version == DockerVersion::V28_5 {
        let dnat6 = dnat_rules(&engine, Family::Ipv6);
        let v6 = endpoint_of(&s, "v6", "nfd-v6");
        let addr6 = v6.ipv6.expect("IPv6 address");
        let info = container(&s, "v6");
        for p in info
            .ports
            .iter()
            .filter(|p| p.family() == Some(Family::Ipv6))
        {
            let want = (
                p.host_port.to_string(),
                format!("[{addr6}]:{}", p.container_port),
            );
            assert!(dnat6.contains(&want), "no IPv6 DNAT {want:?} in {dnat6:?}");
        }
        assert!(
            !dnat6.iter().any(|(port, _)| port == "8080"),
            "web has no IPv6 address: {dnat6:?}"
        );
    }

    // Links as docker sees them.
    let linked = inspect_json(&engine, &["linked"]);
    assert_eq!(linked[0]["HostConfig"]["Links"][0], "/web:/linked/db");
    engine.stop();
}

#[test]
fn engine_20_10() {
    real_engine(DockerVersion::V20_10);
}

#[test]
fn engine_26_1() {
    real_engine(DockerVersion::V26_1);
}

#[test]
fn engine_28_5() {
    real_engine(DockerVersion::V28_5);
}

/// `--ip-masq=false --icc=false` show on the default network, hence in the
/// facts; `--userland-proxy=false` and `--iptables=false` do not.
#[test]
fn daemon_options_the_api_reveals() {
    let Some(lab) = Lab::require() else { return };
    for version in [DockerVersion::V20_10, DockerVersion::V28_5] {
        let spec = EngineSpec {
            userland_proxy: false,
            extra_args: vec!["--ip-masq=false".into(), "--icc=false".into()],
            ..EngineSpec::new(version, Backend::Nft)
        };
        let engine = Engine::start(&lab, spec);
        let mut client = Client::unix(engine.socket_path(), ClientOptions::default());
        let s = fetch_snapshot(&mut client).expect("snapshot");
        assert_eq!(s.facts.options.ip_masq, Some(false));
        assert_eq!(s.facts.default_icc, Some(false));
        assert!(!s.state.options.ip_masq);
        let bridge = network(&s, "bridge");
        assert!(!bridge.masquerade && !bridge.icc);
        assert_eq!(s.facts.options.userland_proxy, None);
        assert!(
            s.state.options.userland_proxy,
            "unknown: the model's default stays"
        );
        assert_eq!(s.facts.options.iptables, None);
        assert_eq!(
            s.facts.default_binding_ipv4,
            Some(IpAddr::from([0, 0, 0, 0]))
        );
        engine.stop();
    }
}

/// A stopped (SIGSTOP) dockerd still completes connections in the kernel,
/// but never answers: a read timeout. A killed one leaves its socket file:
/// connection refused.
#[test]
fn hung_and_dead_daemon() {
    let Some(lab) = Lab::require() else { return };
    let engine = Engine::start(&lab, EngineSpec::new(DockerVersion::V28_5, Backend::Nft));
    let socket = engine.socket_path();
    let pid = engine.pid().to_string();
    let kill = |signal: &str| {
        let out = std::process::Command::new("kill")
            .args([signal, &pid])
            .output()
            .expect("kill");
        assert!(out.status.success(), "kill {signal} {pid}");
    };

    kill("-STOP");
    let options = ClientOptions::with_timeout(Duration::from_millis(500));
    let start = Instant::now();
    let e = fetch_snapshot(&mut Client::unix(&socket, options)).expect_err("hung");
    kill("-CONT");
    assert!(
        matches!(
            e,
            ApiError::Timeout {
                phase: Phase::Read,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    fetch_snapshot(&mut Client::unix(&socket, ClientOptions::default()))
        .expect("answers again after SIGCONT");

    kill("-KILL");
    let deadline = Instant::now() + Duration::from_secs(10);
    let e = loop {
        match fetch_snapshot(&mut Client::unix(&socket, options)) {
            Err(e @ ApiError::ConnectionRefused { .. }) => break e,
            Err(e) if Instant::now() > deadline => panic!("{e:?}"),
            Ok(_) if Instant::now() > deadline => panic!("dockerd still answers"),
            _ => sleep(Duration::from_millis(50)),
        }
    };
    assert!(socket.exists(), "the socket file stays behind");
    assert!(e.to_string().contains("stale socket"), "{e}");
    engine.stop();
}
