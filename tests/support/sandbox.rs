//! Throw-away network namespaces for tests: every test that touches
//! netfilter runs its script inside `unshare -rn` (a new user and network
//! namespace), so the host's firewall is never touched and no root is
//! needed. Real iptables/nft tools serve as oracles inside.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The nfdoctor binary under test.
pub fn nfdoctor() -> &'static str {
    env!("CARGO_BIN_EXE_nfdoctor")
}

/// A private scratch directory, removed on drop.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "nfdoctor-test-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch { dir }
    }

    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, contents).expect("write scratch file");
        p
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the tools the namespace tests need are here; prints why not.
pub fn available() -> bool {
    let ok = Command::new("unshare")
        .args(["-rn", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIP: `unshare -rn` does not work here (user namespaces disabled?)");
        return false;
    }
    for tool in ["iptables-nft-save", "iptables-legacy-save", "nft"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            eprintln!("SKIP: {tool} is not installed (the README's test command installs it)");
            return false;
        }
    }
    true
}

/// Runs `script` with `sh -e` in a fresh user+network namespace. The
/// environment names the binary under test (`$NFDOCTOR`) and a private
/// xtables lock (`$XTABLES_LOCKFILE`), so legacy tools never contend with
/// the host's lock.
pub fn run(script: &str) -> Output {
    let lock =
        std::env::temp_dir().join(format!("nfdoctor-test-xtables-{}.lock", std::process::id()));
    Command::new("unshare")
        .args(["-rn", "sh", "-ec", script])
        .env("NFDOCTOR", nfdoctor())
        .env("XTABLES_LOCKFILE", lock)
        .env("NO_COLOR", "1")
        .output()
        .expect("run unshare")
}

/// Like [`run`], but panics with the script's output unless it succeeds,
/// and returns stdout.
pub fn run_ok(script: &str) -> String {
    let out = run(script);
    assert!(
        out.status.success(),
        "namespace script failed ({}):\n--- script\n{script}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Drops iptables-save's `#` lines.
pub fn without_comments(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A line-by-line diff good enough for test failures.
pub fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i).copied(), a.get(i).copied());
        if x != y {
            out.push_str(&format!(
                "line {}:\n  iptables: {:?}\n  nfdoctor: {:?}\n",
                i + 1,
                x,
                y
            ));
        }
    }
    out
}

/// The Docker fixtures: `tests/fixtures/docker`, a copy of the project's
/// shared fixtures (`../shared/fixtures/docker`, used when there is no copy).
pub fn fixtures_dir() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for candidate in [
        here.join("tests/fixtures/docker"),
        here.join("../shared/fixtures/docker"),
    ] {
        if candidate.is_dir() {
            return candidate;
        }
    }
    panic!("Docker fixtures not found (tests/fixtures/docker)");
}
