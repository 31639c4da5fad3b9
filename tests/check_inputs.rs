//! `nfdoctor check` with bad inputs: no Docker socket, no privileges.
//! Clear findings, the documented exit codes, never a panic.

#![allow(clippy::unwrap_used)]

mod support;
use serde_json::Value;
use std::process::Command;
use support::sandbox;

fn json_of(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(stdout)))
}

#[test]
fn unreachable_docker_socket_is_a_finding() {
    if !sandbox::available() {
        return;
    }
    let out =
        sandbox::run("\"$NFDOCTOR\" check --json --docker-host unix:///nonexistent/docker.sock");
    let report = json_of(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "dockerd-not-running" || f["id"] == "docker-socket-missing")
        .unwrap_or_else(|| panic!("no socket finding: {report:#}"));
    let text = f.to_string();
    assert!(
        text.contains("/nonexistent/docker.sock"),
        "the finding does not name the socket: {f:#}"
    );
}

#[test]
fn no_privilege_means_could_not_check() {
    // A user namespace over the host's network namespace: capabilities do
    // not count there, so no rule can be read.
    let ok = Command::new("unshare")
        .args(["-r", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIP: unshare -r does not work here");
        return;
    }
    let out = Command::new("unshare")
        .args([
            "-r",
            sandbox::nfdoctor(),
            "check",
            "--json",
            "--docker-host",
            "unix:///nonexistent.sock",
        ])
        .output()
        .unwrap();
    let report = json_of(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{report:#}");
    assert_eq!(report["status"], "unchecked");
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "not-enough-privilege")
        .unwrap_or_else(|| panic!("{report:#}"));
    let text = f.to_string();
    assert!(
        text.contains("CAP_NET_ADMIN") && text.contains("user namespace"),
        "{f:#}"
    );
    // The human form says the same, and nothing panics.
    let human = Command::new("unshare")
        .args(["-r", sandbox::nfdoctor(), "check"])
        .output()
        .unwrap();
    assert_eq!(human.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&human.stdout).contains("could not check"));
}
