//! Benchmark: `nfdoctor check` on a healthy host, and `nfdoctor fix` of
//! 1000 missing port mappings against Docker's own one-`iptables`-process-
//! per-rule way.
//!
//! ```text
//! cargo bench --bench check_fix                      # everything, ~5 min on 2 cores
//! cargo bench --bench check_fix -- --backends nft --fix-bases 10000 --samples 3
//! cargo bench --bench check_fix -- --no-fix          # check only
//! ```
//!
//! Runs in a fresh network namespace (`unshare -n` as root, else
//! `unshare -rn`) holding a `docker0` bridge, against a fake Docker Engine
//! (a thread of this program answering the Engine API on a unix socket as
//! Docker 28.5 does: `/version`, `/info`, `/networks`, `/containers/json`
//! and one inspect per container). The rules are the ones nfdoctor itself
//! expects of that engine: each case starts with `nfdoctor fix` building
//! them from nothing, and `check` must then report a healthy host (exit 0).
//!
//! * **check**: 50 containers publishing 100 ports (tcp and udp), both back
//!   ends; `nfdoctor check --quiet`, spawn to exit. Target: under 50 ms.
//!   For scale, the same run times the back end's `iptables-save` and
//!   `ip6tables-save`, which a script-based check would run first.
//! * **fix**: a host of 10k and 50k ports (100 ports per container), from
//!   which the rules of 1000 ports (10 containers: their nat DNAT and
//!   filter ACCEPT; Docker 28 adds no hairpin MASQUERADE while the userland
//!   proxy is on) are deleted; then one `nfdoctor fix`
//!   (read, plan, one commit, and the check it prints after). The result
//!   must equal the ruleset before the deletion. Docker's way is an
//!   `iptables -C` and an `iptables -A` process per missing rule:
//!   `--samples` such pairs per table (nat DNAT, filter ACCEPT) are timed on
//!   the same broken ruleset, and each table's median is extrapolated to
//!   that table's missing rules (the figure is extrapolated). Our runs and
//!   the pairs take turns, so that a drift of the machine's speed falls on
//!   both sides alike. Targets: at least 1000x faster on nf_tables, 100x on
//!   legacy.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

const CHECK_LIMIT: Duration = Duration::from_millis(50);
const CHECK_CONTAINERS: usize = 50;
const CHECK_PORTS: usize = 100;
const DEFAULT_FIX_BASES: [usize; 2] = [10_000, 50_000];
/// Ports per container in the fix cases.
const PORTS_PER_CONTAINER: usize = 100;
/// Port mappings whose rules the fix cases delete.
const MISSING: usize = 1_000;

#[derive(Debug, Clone)]
struct Options {
    backends: Vec<String>,
    fix_bases: Vec<usize>,
    /// `nfdoctor` runs per case; `None`: 20 for check, 5 for fix.
    runs: Option<usize>,
    /// `iptables -C`/`-A` pairs timed per fix case.
    samples: usize,
    check: bool,
    fix: bool,
}

impl Options {
    fn parse(args: &[String]) -> Options {
        let mut o = Options {
            backends: vec![s("nft"), s("legacy")],
            fix_bases: DEFAULT_FIX_BASES.to_vec(),
            runs: None,
            samples: 5,
            check: true,
            fix: true,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().cloned().unwrap_or_default();
            match a.as_str() {
                "--backends" => o.backends = value().split(',').map(str::to_string).collect(),
                "--fix-bases" => {
                    o.fix_bases = value()
                        .split(',')
                        .filter_map(|v| v.trim().parse().ok())
                        .collect()
                }
                "--runs" => o.runs = value().parse().ok(),
                "--samples" => o.samples = value().parse().unwrap_or(5).max(1),
                "--no-check" => o.check = false,
                "--no-fix" => o.fix = false,
                // `cargo bench` passes `--bench`; filters are not supported.
                _ => {}
            }
        }
        o
    }

    fn to_args(&self) -> Vec<String> {
        let bases: Vec<String> = self.fix_bases.iter().map(usize::to_string).collect();
        let mut v = vec![
            s("--backends"),
            self.backends.join(","),
            s("--fix-bases"),
            bases.join(","),
            s("--samples"),
            self.samples.to_string(),
        ];
        if let Some(r) = self.runs {
            v.extend([s("--runs"), r.to_string()]);
        }
        if !self.check {
            v.push(s("--no-check"));
        }
        if !self.fix {
            v.push(s("--no-fix"));
        }
        v
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if run_child_mode(&args) {
        return;
    }
    match args.first().map(String::as_str) {
        Some("inner") => inner(&Options::parse(&args[1..])),
        _ => outer(&Options::parse(&args)),
    }
}

fn outer(opts: &Options) {
    let Some(ns) = choose_ns() else {
        println!("SKIP: neither `unshare -n` (root) nor `unshare -rn` works here");
        return;
    };
    if !have_tools(&[
        "ip",
        "nft",
        "iptables-nft",
        "iptables-nft-save",
        "ip6tables-nft-save",
        "iptables-legacy",
        "iptables-legacy-save",
        "ip6tables-legacy-save",
    ]) {
        return;
    }
    print_context("nfdoctor check/fix benchmark", ns);
    println!("  times: median and min of wall time (spawn to exit); cpu = user+sys median; RSS = max over runs");
    let status = reexec_with(ns, &["-m"], &opts.to_args());
    if !status.success() {
        println!("the benchmark failed ({status})");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------
// The fake Docker Engine.

/// One container of the fake engine: on the default bridge, publishing
/// `ports` (proto, host port, container port) on 0.0.0.0 and `::`.
#[derive(Debug, Clone)]
struct Container {
    id: String,
    name: String,
    ip: String,
    ports: Vec<(&'static str, u16, u16)>,
}

const BRIDGE_ID: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";

/// `count` containers sharing `ports` published ports (host ports from
/// 10000 up); `udp_every`: every n-th port is udp (0: none).
fn fleet(count: usize, ports: usize, udp_every: usize) -> Vec<Container> {
    let per = ports.div_ceil(count);
    (0..count)
        .map(|c| {
            let n = c + 2;
            let first = c * per;
            let last = ((c + 1) * per).min(ports);
            Container {
                id: format!("{:064x}", c + 1),
                name: format!("bench{c}"),
                ip: format!("172.17.{}.{}", n / 256, n % 256),
                ports: (first..last)
                    .map(|p| {
                        let proto = if udp_every > 0 && p % udp_every == udp_every - 1 {
                            "udp"
                        } else {
                            "tcp"
                        };
                        (proto, (10_000 + p) as u16, (1_000 + p - first) as u16)
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Response bodies by request path (without `/vX.Y`).
type Answers = std::collections::HashMap<String, Arc<Vec<u8>>>;

/// The Engine API's answers for a fleet, by path (without `/vX.Y`).
fn answers(fleet: &[Container]) -> Answers {
    let endpoint = |c: &Container| {
        json!({"bridge": {
            "Aliases": null, "Links": null, "NetworkID": BRIDGE_ID,
            "EndpointID": format!("e{}", &c.id[1..]), "Gateway": "172.17.0.1",
            "IPAddress": c.ip, "IPPrefixLen": 16, "IPv6Gateway": "",
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "GwPriority": 0,
            "MacAddress": "02:42:ac:11:00:02"
        }})
    };
    let bridge = json!({
        "Name": "bridge", "Id": BRIDGE_ID, "Created": "2026-11-27T00:00:00Z",
        "Scope": "local", "Driver": "bridge", "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": null,
                 "Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]},
        "Internal": false, "Ingress": false, "ConfigOnly": false,
        "Containers": fleet.iter().map(|c| (c.id.clone(), json!({
            "Name": c.name, "EndpointID": format!("e{}", &c.id[1..]),
            "IPv4Address": format!("{}/16", c.ip), "IPv6Address": ""
        }))).collect::<serde_json::Map<String, Value>>(),
        "Options": {
            "com.docker.network.bridge.default_bridge": "true",
            "com.docker.network.bridge.enable_icc": "true",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
            "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
            "com.docker.network.bridge.name": "docker0",
            "com.docker.network.driver.mtu": "1500"
        }
    });
    let summaries: Vec<Value> = fleet
        .iter()
        .map(|c| {
            json!({
                "Id": c.id, "Names": [format!("/{}", c.name)], "State": "running",
                "Ports": c.ports.iter().flat_map(|&(proto, host, port)| [
                    json!({"IP": "0.0.0.0", "PrivatePort": port, "PublicPort": host, "Type": proto}),
                    json!({"IP": "::", "PrivatePort": port, "PublicPort": host, "Type": proto}),
                ]).collect::<Vec<_>>(),
                "HostConfig": {"NetworkMode": "bridge"},
                "NetworkSettings": {"Networks": endpoint(c)}
            })
        })
        .collect();
    let mut out = vec![
        (
            s("/version"),
            json!({
                "Version": "28.5.2", "ApiVersion": "1.51", "MinAPIVersion": "1.24",
                "Os": "linux", "Arch": "amd64", "KernelVersion": sh_out("uname -r"),
                "GitCommit": "bench", "Components": [{"Name": "Engine", "Version": "28.5.2"}]
            }),
        ),
        (
            s("/info"),
            json!({
                "ServerVersion": "28.5.2", "Driver": "overlay2", "CgroupDriver": "systemd",
                "CgroupVersion": "2", "KernelVersion": sh_out("uname -r"),
                "OperatingSystem": "Debian GNU/Linux 12 (bookworm)",
                "DockerRootDir": "/var/lib/docker", "SecurityOptions": [],
                "FirewallBackend": {"Driver": "iptables"}, "LiveRestoreEnabled": false,
                "Swarm": {"LocalNodeState": "inactive"}, "Warnings": null
            }),
        ),
        (s("/networks"), json!([bridge.clone()])),
        (format!("/networks/{BRIDGE_ID}"), bridge),
        (s("/containers/json"), Value::Array(summaries)),
    ];
    for c in fleet {
        let mut bindings = serde_json::Map::new();
        let mut published = serde_json::Map::new();
        for &(proto, host, port) in &c.ports {
            let key = format!("{port}/{proto}");
            bindings.insert(
                key.clone(),
                json!([{"HostIp": "", "HostPort": host.to_string()}]),
            );
            published.insert(
                key,
                json!([{"HostIp": "0.0.0.0", "HostPort": host.to_string()},
                       {"HostIp": "::", "HostPort": host.to_string()}]),
            );
        }
        out.push((
            format!("/containers/{}/json", c.id),
            json!({
                "Id": c.id, "Name": format!("/{}", c.name), "Created": "2026-11-27T00:00:00Z",
                "State": {"Status": "running", "Running": true, "Paused": false,
                          "StartedAt": "2026-11-27T00:00:01Z"},
                "HostConfig": {"NetworkMode": "bridge", "PortBindings": bindings,
                               "PublishAllPorts": false, "Links": null},
                "NetworkSettings": {"Ports": published, "Networks": endpoint(c)}
            }),
        ));
    }
    out.into_iter()
        .map(|(path, body)| (path, Arc::new(serde_json::to_vec(&body).unwrap())))
        .collect()
}

/// A thread answering the Engine API from the current fleet's answers
/// (HTTP/1.1, keep-alive, `Content-Length`).
struct FakeEngine {
    socket: PathBuf,
    answers: Arc<Mutex<Answers>>,
}

impl FakeEngine {
    fn start(dir: &Path) -> FakeEngine {
        let socket = dir.join("docker.sock");
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).expect("bind the fake engine's socket");
        let answers: Arc<Mutex<Answers>> = Arc::default();
        let shared = answers.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        FakeEngine { socket, answers }
    }

    fn serve_fleet(&self, fleet: &[Container]) {
        *self.answers.lock().unwrap() = answers(fleet);
    }

    fn host_arg(&self) -> String {
        format!("--docker-host=unix://{}", self.socket.display())
    }
}

fn serve(stream: UnixStream, answers: &Mutex<Answers>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        let mut close = false;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" || header == "\n" {
                break;
            }
            close |= header.to_ascii_lowercase().starts_with("connection: close");
        }
        let target = request.split(' ').nth(1).unwrap_or("/");
        let path = target.split('?').next().unwrap_or("/");
        // Strip a `/v1.51` prefix.
        let path = match path.strip_prefix("/v") {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => {
                rest.find('/').map_or("/", |i| &rest[i..])
            }
            _ => path,
        };
        // Looked up like the daemon does (by id), not by a scan: the fake
        // runs on the CPUs nfdoctor is measured on.
        let found = answers.lock().unwrap().get(path).cloned();
        let (status, body) = match found {
            Some(body) => ("200 OK", body),
            None => (
                "404 Not Found",
                Arc::new(br#"{"message":"page not found"}"#.to_vec()),
            ),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nApi-Version: 1.51\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
            return;
        }
        if close {
            return;
        }
    }
}

// ---------------------------------------------------------------------------
// Inside the namespace.

fn inner(opts: &Options) {
    let dir = scratch_dir("check-fix");
    // The host side of Docker's default bridge, as dockerd leaves it.
    for cmd in [
        "ip link set lo up",
        "ip link add docker0 type bridge",
        "ip addr add 172.17.0.1/16 dev docker0",
        "ip link set docker0 up",
    ] {
        let parts: Vec<&str> = cmd.split(' ').collect();
        run_ok(&parts);
    }
    let _ = std::fs::write("/proc/sys/net/ipv4/ip_forward", "1");
    private_alternatives();
    let engine = FakeEngine::start(&dir);
    let mut summary = Summary::default();
    for backend in &opts.backends {
        println!();
        println!("==== {backend} back end");
        point_iptables_at(backend);
        if opts.check {
            check_case(backend, opts, &engine, &mut summary);
        }
        if opts.fix {
            for &base in &opts.fix_bases {
                fix_case(backend, base, opts, &engine, &dir, &mut summary);
            }
        }
    }
    summary.print("check/fix: targets");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `/etc/alternatives` becomes a copy of itself on a tmpfs of this mount
/// namespace, so that `iptables` can point at the back end under test (a
/// real dockerd follows that link; nfdoctor reads it to know which back end
/// Docker writes to).
fn private_alternatives() {
    let dir = Path::new("/etc/alternatives");
    let links: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| Some((e.file_name().into(), std::fs::read_link(e.path()).ok()?)))
                .collect()
        })
        .unwrap_or_default();
    run_ok(&["mount", "--make-rprivate", "/"]);
    run_ok(&[
        "mount",
        "-t",
        "tmpfs",
        "bench-alternatives",
        "/etc/alternatives",
    ]);
    for (name, target) in links {
        std::os::unix::fs::symlink(target, dir.join(name)).expect("copy an alternative");
    }
}

fn point_iptables_at(backend: &str) {
    for cmd in ["iptables", "ip6tables"] {
        let link = Path::new("/etc/alternatives").join(cmd);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(format!("/usr/sbin/{cmd}-{backend}"), &link)
            .expect("point iptables at the back end");
    }
}

/// No rules in either back end; for legacy, Docker's nat `DOCKER` chain
/// alone, so that nfdoctor finds Docker on legacy and builds there.
fn reset(backend: &str) {
    run_ok(&["nft", "flush", "ruleset"]);
    empty_legacy_tables(&["iptables-legacy-restore", "ip6tables-legacy-restore"]);
    if backend == "legacy" {
        run_ok(&["iptables-legacy", "-t", "nat", "-N", "DOCKER"]);
    }
}

fn nfdoctor(engine: &FakeEngine, args: &[&str]) -> Vec<String> {
    let mut v = vec![s(NFDOCTOR)];
    v.extend(args.iter().map(|a| s(a)));
    v.push(engine.host_arg());
    v
}

/// Both families' rules of `backend`, normalized.
fn both_saved(backend: &str) -> String {
    saved(backend) + &normalize_save(&capture(&[&format!("ip6tables-{backend}-save")]))
}

/// Builds the rules the fake engine needs (`nfdoctor fix` from nothing)
/// and makes sure `check` then finds nothing wrong.
fn build_healthy(backend: &str, engine: &FakeEngine) {
    reset(backend);
    let fix = nfdoctor(engine, &["fix"]);
    let refs: Vec<&str> = fix.iter().map(String::as_str).collect();
    let _ = Command::new(refs[0]).args(&refs[1..]).output();
    let check = nfdoctor(engine, &["check", "--json"]);
    let out = Command::new(&check[0]).args(&check[1..]).output().unwrap();
    if out.status.code() != Some(0) {
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let ids: Vec<String> = report["findings"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter(|f| f["severity"] != "ok" && f["severity"] != "info")
                    .map(|f| format!("{} ({})", f["id"], f["severity"]))
                    .collect()
            })
            .unwrap_or_default();
        eprintln!(
            "check does not find the built host healthy (exit {:?}): {}\n{}",
            out.status.code(),
            ids.join(", "),
            String::from_utf8_lossy(&out.stderr)
        );
        std::process::exit(1);
    }
    let ruleset = both_saved(backend);
    assert!(
        ruleset.contains("-j DNAT"),
        "fix built no DNAT rules in {backend}:\n{ruleset}"
    );
}

fn check_case(backend: &str, opts: &Options, engine: &FakeEngine, summary: &mut Summary) {
    let fleet = fleet(CHECK_CONTAINERS, CHECK_PORTS, 4);
    engine.serve_fleet(&fleet);
    build_healthy(backend, engine);
    let runs = opts.runs.unwrap_or(20).max(1);
    let ours = nfdoctor(engine, &["check", "--quiet"]);
    let peer_v4 = vec![format!("iptables-{backend}-save")];
    let peer_v6 = vec![format!("ip6tables-{backend}-save")];
    let (mut us, mut v4, mut v6) = (Samples::default(), Samples::default(), Samples::default());
    for _ in 0..runs {
        us.push(measure_ok(&ours));
        v4.push(measure_ok(&peer_v4));
        v6.push(measure_ok(&peer_v6));
    }
    header(&format!(
        "check, healthy host: {CHECK_CONTAINERS} containers, {CHECK_PORTS} published ports ({backend})"
    ));
    row("nfdoctor check --quiet", &us, "exit 0 (healthy)");
    row(&format!("iptables-{backend}-save (for scale)"), &v4, "");
    row(&format!("ip6tables-{backend}-save (for scale)"), &v6, "");
    summary.under(
        &format!("check, {CHECK_CONTAINERS} containers/{CHECK_PORTS} ports, {backend}"),
        us.median(),
        CHECK_LIMIT,
        "",
    );
}

/// Whether a saved rule line belongs to one of `ips`' port mappings.
fn mapping_rule(line: &str, ips: &[String]) -> bool {
    line.starts_with("-A ")
        && (line.contains("--dport ") || line.contains("--to-destination "))
        && ips.iter().any(|ip| {
            line.contains(&format!("-d {ip}/32 "))
                || line.contains(&format!("--to-destination {ip}:"))
        })
}

fn fix_case(
    backend: &str,
    base: usize,
    opts: &Options,
    engine: &FakeEngine,
    dir: &Path,
    summary: &mut Summary,
) {
    let containers = base / PORTS_PER_CONTAINER;
    let fleet = fleet(containers, base, 0);
    engine.serve_fleet(&fleet);
    let t = Instant::now();
    build_healthy(backend, engine);
    let built = t.elapsed();
    let healthy = both_saved(backend);
    // The rules of the last containers' ports go missing.
    let gone: Vec<String> = fleet[containers - MISSING / PORTS_PER_CONTAINER..]
        .iter()
        .map(|c| c.ip.clone())
        .collect();
    let v4 = saved(backend);
    let (mut broken, mut missing) = (String::new(), Vec::new());
    let mut table = "";
    for line in v4.lines() {
        if let Some(t) = line.strip_prefix('*') {
            table = if t == "nat" { "nat" } else { "filter" };
        }
        if mapping_rule(line, &gone) {
            missing.push((table, line.to_string()));
        } else {
            broken.push_str(line);
            broken.push('\n');
        }
    }
    assert_eq!(
        missing.len(),
        2 * MISSING,
        "expected a DNAT and an ACCEPT per missing port"
    );
    let broken_file = write_file(&dir.join(format!("broken-{base}.rules")), &broken);
    let load_broken = || run_ok(&[NFDOCTOR, "restore", "--backend", backend, &broken_file]);

    // Ours and Docker's way take turns, round by round, each from the
    // broken ruleset, and which goes first alternates: this machine's speed
    // drifts by a fifth within minutes, and timing all of one side and
    // then all of the other would let that drift decide the ratio.
    let runs = opts.runs.unwrap_or(5).max(1);
    let ours = nfdoctor(engine, &["fix"]);
    let mut us = Samples::default();
    let tables: Vec<(&str, Vec<&String>)> = ["nat", "filter"]
        .into_iter()
        .map(|table| {
            let lines: Vec<&String> = missing
                .iter()
                .filter(|(t, _)| *t == table)
                .map(|(_, l)| l)
                .collect();
            let step = (lines.len() / opts.samples.max(1)).max(1);
            let chosen = lines.into_iter().step_by(step).take(opts.samples).collect();
            (table, chosen)
        })
        .collect();
    let mut pairs: Vec<Vec<Duration>> = vec![Vec::new(); tables.len()];
    let mut fix_run = |run: usize| {
        load_broken();
        us.push(measure_ok(&ours));
        if run == 0 {
            let after = both_saved(backend);
            if after != healthy {
                eprintln!(
                    "fix did not restore the ruleset before the break ({backend}, {base} ports)"
                );
                std::process::exit(1);
            }
        }
    };
    // Docker's way: `iptables -C` (fails: the rule is missing), then `-A`.
    // A pair costs what reading its chain costs, and the filter DOCKER
    // chain's rules are bigger than nat DOCKER's: each table's pairs are
    // timed and extrapolated to that table's missing rules.
    let mut peer_round = |round: usize| {
        load_broken();
        for ((table, lines), timed) in tables.iter().zip(pairs.iter_mut()) {
            if let Some(line) = lines.get(round) {
                timed.push(per_rule_pair(backend, table, line));
            }
        }
    };
    for round in 0..runs.max(opts.samples) {
        let ours_first = round % 2 == 0;
        if ours_first && round < runs {
            fix_run(round);
        }
        peer_round(round);
        if !ours_first && round < runs {
            fix_run(round);
        }
    }
    let per_table: Vec<(&str, Vec<Duration>, usize)> = tables
        .iter()
        .zip(pairs)
        .map(|((table, _), mut timed)| {
            timed.sort_unstable();
            let count = missing.iter().filter(|(t, _)| t == table).count();
            (*table, timed, count)
        })
        .collect();
    let per_rule_way: Duration = per_table
        .iter()
        .map(|(_, pairs, count)| median(pairs) * *count as u32)
        .sum();

    header(&format!(
        "fix: {MISSING} of {base} port mappings missing ({} rules) ({backend})",
        missing.len()
    ));
    row("nfdoctor fix", &us, "read, plan, one commit, check after");
    for (table, pairs, count) in &per_table {
        row_wall(
            &format!("iptables-{backend} -C + -A, one {table} rule"),
            pairs,
            &format!(
                "x{count} rules = {} (extrapolated)",
                fmt_d(median(pairs) * *count as u32)
            ),
        );
    }
    println!(
        "   (building the {base}-port host with nfdoctor fix took {})",
        fmt_d(built)
    );
    let target = if backend == "nft" { 1000.0 } else { 100.0 };
    summary.ratio(
        &format!("fix {MISSING} missing at {base} ports, {backend}"),
        us.median(),
        per_rule_way,
        target,
        "peer extrapolated from each table's -C/-A pairs",
    );
}

/// Docker's way for one missing rule `line` (`-A CHAIN …`) of `table`:
/// `iptables -C`, which must fail, then `iptables -A`; their wall time.
fn per_rule_pair(backend: &str, table: &str, line: &str) -> Duration {
    let spec: Vec<&str> = line.split(' ').skip(1).collect();
    let mut check = vec!["-w", "-t", table, "-C"];
    check.extend(&spec);
    let mut append = vec!["-w", "-t", table, "-A"];
    append.extend(&spec);
    let cmd = format!("iptables-{backend}");
    let t = Instant::now();
    let status = Command::new(&cmd)
        .args(&check)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "iptables -C found a missing rule: {line}"
    );
    let status = Command::new(&cmd).args(&append).status().unwrap();
    assert!(status.success(), "iptables -A failed: {line}");
    t.elapsed()
}
