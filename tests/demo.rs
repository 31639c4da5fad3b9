//! `nfdoctor demo`: break Docker's rules and repair them, in a throw-away
//! namespace, as an unprivileged user. The demo is the product's promise in
//! one command, so its own verdict (exit 0, "identical to step 1") is checked,
//! and the host's ruleset must be exactly what it was.

#![allow(clippy::unwrap_used)]

mod support;
use std::process::{Command, Output};
use support::sandbox;

fn host_ruleset() -> Option<String> {
    let out = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs the demo as an ordinary user: as `nobody` when the tests run as root.
fn run_demo_unprivileged() -> Output {
    let mut cmd = if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            sandbox::nfdoctor(),
        ]);
        c
    } else {
        Command::new(sandbox::nfdoctor())
    };
    cmd.arg("demo").env("NO_COLOR", "1").output().unwrap()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn demo_repairs_what_a_reload_broke_without_touching_the_host() {
    if !sandbox::available() {
        return;
    }
    let host_before = host_ruleset();
    let out = run_demo_unprivileged();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for step in [
        "== 3. nfdoctor check",
        "nat-docker-chain-missing",
        "== 4. nfdoctor fix",
        "-t nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80",
        "healthy (0 errors, 0 warnings",
        "identical to step 1",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    assert_eq!(
        host_ruleset(),
        host_before,
        "the demo changed the host's ruleset"
    );
}
