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

/// Runs `args` as `nobody` when the tests run as root, else as is.
fn as_ordinary_user(args: &[&str]) -> Command {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(args);
        c
    } else {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]);
        c
    }
}

#[test]
fn a_rootless_users_check_looks_in_rootlesskits_namespace() {
    if !sandbox::available() {
        return;
    }
    // A stand-in for rootless Docker: RootlessKit's child in its own user
    // and network namespace holding Docker 28's rules, its state directory
    // with `child_pid`, and a process named `rootlesskit` pointing there.
    let scratch = sandbox::Scratch::new("rootless");
    let run = scratch.path("run");
    let state = run.join("dockerd-rootless");
    std::fs::create_dir_all(&state).unwrap();
    let kit = scratch.file("rootlesskit", "#!/bin/sh\nsleep 60\n");
    let mut perms = vec![(scratch.dir.clone(), 0o755), (kit.clone(), 0o755)];
    perms.push((run.clone(), 0o777));
    perms.push((state.clone(), 0o777));
    for (p, mode) in perms {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let fixture = sandbox::fixtures_dir().join("docker-28-default.rules");
    let script = format!(
        "iptables-nft-restore {} && echo ready && exec sleep 60",
        fixture.display()
    );
    let mut child = as_ordinary_user(&["unshare", "-rn", "sh", "-c", &script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    std::fs::write(state.join("child_pid"), child.id().to_string()).unwrap();
    let state_arg = format!("--state-dir={}", state.display());
    let mut kit_proc = as_ordinary_user(&[kit.to_str().unwrap(), &state_arg, "--net=slirp4netns"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));

    let socket = format!("unix://{}/docker.sock", run.display());
    let out = as_ordinary_user(&[
        sandbox::nfdoctor(),
        "check",
        "--json",
        "--docker-host",
        &socket,
    ])
    .env("XDG_RUNTIME_DIR", &run)
    .output()
    .unwrap();
    let _ = kit_proc.kill();
    let _ = child.kill();
    let _ = kit_proc.wait();
    let _ = child.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = json_of(&out.stdout);
    assert!(
        stderr.contains("looking at your rootless Docker"),
        "stderr: {stderr}\n{report:#}"
    );
    // The rules were read there: no privilege problem, and Docker's version
    // was recognised from them (the API socket does not answer).
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(!ids.contains(&"not-enough-privilege"), "{report:#}");
    assert_eq!(
        report["scope"]["version_source"], "ruleset fingerprint",
        "{report:#}"
    );
    assert!(
        report["scope"]["backend"]
            .as_str()
            .is_some_and(|b| b.starts_with("nft")),
        "{report:#}"
    );
}
