//! `nfdoctor fix` against real Docker engines (20.10, 26.1, 28.5, on the
//! nft and legacy back ends). For each break that is a rule problem: after
//! `fix`, `check` is healthy; `iptables-save` equals the ruleset before the
//! break (Docker's chain order included; rules that are not Docker's are
//! identical); a container started before the break answers through its
//! DNAT rule (the counter moves; the userland proxy is off); a new
//! `docker run -p` works and `docker rm -f` removes its rules cleanly; a
//! second `fix` and `fix --dry-run` change nothing.
//!
//! Needs root and `.ci/setup-lab`; skips otherwise (fails with
//! NFDOCTOR_REQUIRE_LAB=1).

#![allow(clippy::unwrap_used)]

mod support;

use nfdoctor::Family;
use serde_json::Value;
use support::{
    Backend, DockerVersion, Engine, EngineSpec, Lab, Network, Proto, ENGINE_ADDR, INDEX_HTML,
};

fn nfdoctor(engine: &Engine, args: &[&str]) -> (i32, String) {
    let socket = format!("unix://{}", engine.socket_path().display());
    let mut argv = vec![env!("CARGO_BIN_EXE_nfdoctor")];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--docker-host", &socket]);
    let out = engine.netns_exec(&argv);
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn save_all(engine: &Engine) -> String {
    let b = engine.spec().backend;
    format!(
        "{}{}",
        engine.iptables_save(Family::Ipv4, b),
        engine.iptables_save(Family::Ipv6, b)
    )
}

/// Rules that are not Docker's, added before the break: in FORWARD, INPUT
/// and a user chain.
const USER_RULES: &[&str] = &[
    "-N MYCHAIN",
    "-A MYCHAIN -s 198.51.100.0/24 -j RETURN",
    "-A INPUT -p tcp --dport 2222 -j MYCHAIN",
    "-A FORWARD -s 198.51.100.7/32 -j DROP",
];

/// The same rules as iptables-save prints them.
const USER_RULES_SAVED: &[&str] = &[
    "-A MYCHAIN -s 198.51.100.0/24 -j RETURN",
    "-A INPUT -p tcp -m tcp --dport 2222 -j MYCHAIN",
    "-A FORWARD -s 198.51.100.7/32 -j DROP",
];

fn ipt(engine: &Engine, args: &str) {
    engine.netns_exec_ok(["sh", "-c", &format!("iptables {args}")]);
}

struct Break {
    name: &'static str,
    apply: fn(&Engine),
    /// Whether the break also removes the user's rules (then they are not
    /// expected back).
    removes_user_rules: bool,
}

const BREAKS: &[Break] = &[
    Break {
        name: "nat DOCKER flushed and deleted",
        apply: |e| {
            ipt(e, "-t nat -F DOCKER; iptables -t nat -F PREROUTING; iptables -t nat -F OUTPUT; iptables -t nat -X DOCKER")
        },
        removes_user_rules: false,
    },
    Break {
        name: "iptables -F of filter and nat",
        apply: |e| ipt(e, "-t filter -F; iptables -t nat -F"),
        removes_user_rules: true,
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
        removes_user_rules: false,
    },
];

fn without_counters_and_comments(save: &str) -> String {
    save.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            // `:CHAIN POLICY [p:b]`: policy counters move with traffic.
            match l.rfind(" [") {
                Some(i) if l.starts_with(':') => format!("{}\n", &l[..i]),
                _ => format!("{l}\n"),
            }
        })
        .collect()
}

fn fix_after(version: DockerVersion, backend: Backend, brk: &Break) {
    let Some(lab) = Lab::require() else { return };
    let spec = EngineSpec {
        userland_proxy: false,
        ..EngineSpec::new(version, backend)
    };
    let ctx = format!("{version:?} {backend:?} after `{}`", brk.name);
    let engine = Engine::start(&lab, spec);
    engine.create_network("nfd-user");
    let web = engine.run_server(Network::Default, 8080, 5353);
    engine.run_server(Network::Named("nfd-user"), 8081, 5354);
    for r in USER_RULES {
        ipt(&engine, r);
    }
    let before = without_counters_and_comments(&save_all(&engine));

    (brk.apply)(&engine);
    let broken = without_counters_and_comments(&save_all(&engine));
    assert_ne!(before, broken, "{ctx}: the break changed nothing");

    // A dry run changes nothing.
    let (_, plan) = nfdoctor(&engine, &["fix", "--dry-run"]);
    assert_eq!(
        without_counters_and_comments(&save_all(&engine)),
        broken,
        "{ctx}: fix --dry-run changed the rules:\n{plan}"
    );

    let (code, out) = nfdoctor(&engine, &["fix"]);
    if std::env::var_os("NFDOCTOR_SHOW").is_some() {
        eprintln!("=== {ctx}\n--- fix --dry-run:\n{plan}\n--- fix:\n{out}");
    }
    assert_eq!(code, 0, "{ctx}: fix did not end healthy:\n{out}");
    if matches!(backend, Backend::Nft) && out.contains("changed") {
        // The check after took the rules as the confirmed commit left them…
        assert!(
            out.contains("checked without dumping again"),
            "{ctx}: the nf_tables commit was not confirmed:\n{out}"
        );
    }
    // …and a check that dumps everything agrees with it.
    let (fresh, fresh_out) = nfdoctor(&engine, &["check"]);
    assert_eq!(
        fresh, 0,
        "{ctx}: a fresh check after fix is not healthy:\n{fresh_out}\n--- fix said:\n{out}"
    );
    let after = without_counters_and_comments(&save_all(&engine));
    let expected = if brk.removes_user_rules {
        // The flush took the user's rules too; only their chain stays.
        before
            .lines()
            .filter(|l| !USER_RULES_SAVED.contains(l))
            .map(|l| format!("{l}\n"))
            .collect()
    } else {
        before.clone()
    };
    assert_eq!(
        after, expected,
        "{ctx}: rules after fix differ from before the break\n--- fix said:\n{out}"
    );

    // The container started before the break answers through its DNAT rule.
    let count = engine.dnat_packets(Proto::Tcp, web.tcp_port);
    let got = engine.client().http_get(ENGINE_ADDR, web.tcp_port);
    assert_eq!(
        got.as_deref(),
        Ok(INDEX_HTML),
        "{ctx}: published port does not answer after fix"
    );
    assert!(
        engine.dnat_packets(Proto::Tcp, web.tcp_port) > count,
        "{ctx}: the DNAT counter did not move"
    );

    // A second fix changes nothing.
    let (_, again) = nfdoctor(&engine, &["fix", "--json"]);
    let v: Value = serde_json::from_str(
        again
            .lines()
            .skip_while(|l| !l.starts_with('{'))
            .collect::<Vec<_>>()
            .join("\n")
            .as_str(),
    )
    .unwrap_or_else(|e| panic!("{ctx}: fix --json: {e}\n{again}"));
    assert_eq!(
        v["actions"].as_array().map(|a| a.len()),
        Some(0),
        "{ctx}: second fix changed things:\n{again}"
    );
    assert_eq!(
        without_counters_and_comments(&save_all(&engine)),
        after,
        "{ctx}: second fix changed the rules"
    );

    // Docker manages the rules we wrote as its own.
    let before_new = without_counters_and_comments(&save_all(&engine));
    let new = engine
        .try_run_server(Network::Default, 8090, 5390)
        .unwrap_or_else(|e| panic!("{ctx}: docker run -p after fix failed: {e}"));
    engine.docker_ok(["rm", "-f", &new.id]);
    assert_eq!(
        without_counters_and_comments(&save_all(&engine)),
        before_new,
        "{ctx}: docker rm -f did not remove the new container's rules cleanly"
    );
    engine.stop();
}

fn all_breaks(version: DockerVersion, backend: Backend) {
    for brk in BREAKS {
        fix_after(version, backend, brk);
    }
}

#[test]
fn fix_20_10_nft() {
    all_breaks(DockerVersion::V20_10, Backend::Nft);
}

#[test]
fn fix_20_10_legacy() {
    all_breaks(DockerVersion::V20_10, Backend::Legacy);
}

#[test]
fn fix_26_1_nft() {
    all_breaks(DockerVersion::V26_1, Backend::Nft);
}

#[test]
fn fix_26_1_legacy() {
    all_breaks(DockerVersion::V26_1, Backend::Legacy);
}

#[test]
fn fix_28_5_nft() {
    all_breaks(DockerVersion::V28_5, Backend::Nft);
}

#[test]
fn fix_28_5_legacy() {
    all_breaks(DockerVersion::V28_5, Backend::Legacy);
}
