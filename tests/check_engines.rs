//! `nfdoctor check` against real Docker engines (20.10 and 28.5, on the nft
//! and legacy back ends): healthy with two containers, then each break a
//! user meets in the wild gives the right finding and fix, and exit 1.
//!
//! Needs root and `.ci/setup-lab`; skips otherwise (fails with
//! NFDOCTOR_REQUIRE_LAB=1).

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::{Backend, DockerVersion, Engine, EngineSpec, Lab, Network};

/// Runs `nfdoctor check --json` inside the engine's network namespace.
fn check(engine: &Engine) -> (i32, Value) {
    let socket = format!("unix://{}", engine.socket_path().display());
    let out = engine.netns_exec([
        env!("CARGO_BIN_EXE_nfdoctor"),
        "check",
        "--json",
        "--docker-host",
        &socket,
    ]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check printed no JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

fn ids(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

fn finding<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no finding {id} in {report:#}"))
}

/// An engine with two containers publishing tcp and udp ports, one on the
/// default bridge and one on a user-defined bridge.
fn healthy_engine(lab: &Lab, version: DockerVersion, backend: Backend, extra: &[&str]) -> Engine {
    let spec = EngineSpec {
        userland_proxy: false,
        extra_args: extra.iter().map(|s| s.to_string()).collect(),
        ..EngineSpec::new(version, backend)
    };
    let engine = Engine::start(lab, spec);
    engine.create_network("nfd-user");
    engine.run_server(Network::Default, 8080, 5353);
    engine.run_server(Network::Named("nfd-user"), 8081, 5354);
    engine
}

fn ipt(engine: &Engine, args: &str) {
    let cmd = format!("iptables {args}");
    engine.netns_exec_ok(["sh", "-c", &cmd]);
}

/// One break: what to do in the engine's namespace, and the finding ids
/// that must appear.
struct Break {
    name: &'static str,
    apply: fn(&Engine),
    expect: &'static [&'static str],
}

const BREAKS: &[Break] = &[
    Break {
        name: "nat DOCKER flushed and deleted",
        apply: |e| {
            ipt(e, "-t nat -F DOCKER; iptables -t nat -F PREROUTING; iptables -t nat -F OUTPUT; iptables -t nat -X DOCKER")
        },
        expect: &["nat-docker-chain-missing", "nat-jump-missing"],
    },
    Break {
        name: "iptables -F of filter and nat",
        apply: |e| ipt(e, "-t filter -F; iptables -t nat -F"),
        expect: &["nat-jump-missing", "dnat-missing", "docker-jump-missing"],
    },
    Break {
        name: "one container's DNAT deleted",
        apply: |e| {
            let save = e.netns_exec_ok(["iptables-save", "-t", "nat"]);
            let line = save
                .lines()
                .find(|l| {
                    l.starts_with("-A DOCKER") && l.contains("--dport 8080") && l.contains("DNAT")
                })
                .unwrap()
                .to_string();
            ipt(e, &format!("-t nat -D {}", line.trim_start_matches("-A ")));
        },
        expect: &["dnat-missing"],
    },
    Break {
        name: "Docker's rules moved to the other back end",
        apply: |e| {
            // What a switch of the iptables alternative after Docker started
            // leaves: Docker's rules only in the back end dockerd does not use.
            let (from, to) = match e.spec().backend {
                Backend::Nft => ("nft", "legacy"),
                Backend::Legacy => ("legacy", "nft"),
            };
            let cmd = format!(
                "iptables-{from}-save | iptables-{to}-restore && \
                 for t in filter nat raw mangle; do iptables-{from} -t $t -F; iptables-{from} -t $t -X; done"
            );
            e.netns_exec_ok(["sh", "-c", &cmd]);
        },
        expect: &["backend-mismatch"],
    },
    Break {
        name: "IP forwarding off",
        apply: |e| {
            e.netns_exec_ok(["sysctl", "-qw", "net.ipv4.ip_forward=0"]);
        },
        expect: &["ip-forward-off"],
    },
    Break {
        name: "docker0 down",
        apply: |e| {
            e.netns_exec_ok(["ip", "link", "set", "docker0", "down"]);
        },
        expect: &["bridge-down"],
    },
];

fn healthy_then_breaks(version: DockerVersion, backend: Backend) {
    let Some(lab) = Lab::require() else { return };
    for brk in BREAKS {
        let engine = healthy_engine(&lab, version, backend, &[]);
        if std::env::var_os("NFDOCTOR_SHOW_ENV").is_some() {
            let out = engine.netns_exec([env!("CARGO_BIN_EXE_nfdoctor"), "env", "--json"]);
            eprintln!("{}", String::from_utf8_lossy(&out.stdout));
        }
        let (code, report) = check(&engine);
        assert_eq!(
            (code, ids(&report)),
            (0, Vec::<String>::new()),
            "{version:?} {backend:?}: a healthy engine is not reported healthy:\n{report:#}"
        );
        // Two containers with two `-p` each (listed once per family).
        assert_eq!(
            (
                &report["scope"]["containers"],
                &report["scope"]["published_ports"]
            ),
            (&Value::from(2), &Value::from(4)),
            "{version:?} {backend:?}: {:#}",
            report["scope"]
        );
        (brk.apply)(&engine);
        let (code, report) = check(&engine);
        if std::env::var_os("NFDOCTOR_SHOW").is_some() {
            let socket = format!("unix://{}", engine.socket_path().display());
            let human = engine.netns_exec([
                env!("CARGO_BIN_EXE_nfdoctor"),
                "check",
                "--docker-host",
                &socket,
            ]);
            eprintln!(
                "=== {version:?} {backend:?} after `{}`:\n{}",
                brk.name,
                String::from_utf8_lossy(&human.stdout)
            );
        }
        assert_eq!(
            code, 1,
            "{version:?} {backend:?} after `{}`:\n{report:#}",
            brk.name
        );
        for id in brk.expect {
            let f = finding(&report, id);
            assert!(f["fix"].is_string(), "{id} has no fix: {f:#}");
        }
        engine.stop();
    }
}

/// `--iptables=false`: Docker makes no rules; check says why, and does not
/// report the rules as missing.
fn iptables_disabled(version: DockerVersion, backend: Backend) {
    let Some(lab) = Lab::require() else { return };
    let spec = EngineSpec {
        extra_args: vec!["--iptables=false".into()],
        ..EngineSpec::new(version, backend)
    };
    let engine = Engine::start(&lab, spec);
    let (code, report) = check(&engine);
    assert_eq!(code, 1, "{report:#}");
    finding(&report, "iptables-disabled");
    assert!(
        !ids(&report).iter().any(|i| i.ends_with("-missing")),
        "rules reported missing although Docker makes none: {report:#}"
    );
    engine.stop();
}

#[test]
fn check_iptables_disabled() {
    iptables_disabled(DockerVersion::V20_10, Backend::Nft);
    iptables_disabled(DockerVersion::V28_5, Backend::Legacy);
}

#[test]
fn check_20_10_nft() {
    healthy_then_breaks(DockerVersion::V20_10, Backend::Nft);
}

#[test]
fn check_20_10_legacy() {
    healthy_then_breaks(DockerVersion::V20_10, Backend::Legacy);
}

#[test]
fn check_28_5_nft() {
    healthy_then_breaks(DockerVersion::V28_5, Backend::Nft);
}

#[test]
fn check_28_5_legacy() {
    healthy_then_breaks(DockerVersion::V28_5, Backend::Legacy);
}

/// A daemon.json dockerd cannot parse (it would refuse to start next time):
/// reported with its position, exit 1, and the rules are still checked.
#[test]
fn check_broken_daemon_json() {
    let Some(lab) = Lab::require() else { return };
    let engine = healthy_engine(&lab, DockerVersion::V28_5, Backend::Nft, &[]);
    std::fs::write(
        engine.dir().join("daemon.json"),
        "{\n  \"iptables\": true,\n  \"bip\" \"172.26.0.1/16\"\n}\n",
    )
    .unwrap();
    let (code, report) = check(&engine);
    assert_eq!(code, 1, "{report:#}");
    let f = finding(&report, "daemon-config-invalid");
    let text = f.to_string();
    assert!(text.contains("line 3"), "no position in {f:#}");
    assert!(f["fix"].as_str().unwrap().contains("daemon.json"), "{f:#}");
    // Nothing else is wrong with the running daemon's rules.
    assert_eq!(
        ids(&report),
        vec!["daemon-config-invalid".to_string()],
        "{report:#}"
    );
    engine.stop();
}
