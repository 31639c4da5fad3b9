//! The lab `.ci/setup-lab` prepares under `$NFDOCTOR_LAB_DIR` (default
//! `/var/cache/nfdoctor-lab`): a `bin` folder per engine, one folder per iptables
//! backend, the test image, and `run/` for the state of running engines.

use super::cmd::run;
use super::engine::{Backend, DockerVersion};
use super::rundir::RunDir;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

/// `NFDOCTOR_REQUIRE_LAB=1` (CI): a missing prerequisite fails the test instead of skipping it.
pub const REQUIRE_ENV: &str = "NFDOCTOR_REQUIRE_LAB";
/// Where `.ci/setup-lab` put the lab.
pub const DIR_ENV: &str = "NFDOCTOR_LAB_DIR";
const DEFAULT_DIR: &str = "/var/cache/nfdoctor-lab";

/// A prepared lab on a machine that can run it (real root, namespaces).
#[derive(Debug, Clone)]
pub struct Lab {
    dir: PathBuf,
}

impl Lab {
    /// The lab, or `None` after printing why this machine cannot run it (the test
    /// should then return). Panics instead when `NFDOCTOR_REQUIRE_LAB=1`.
    ///
    /// The first call in a test process also cleans up after earlier runs that were
    /// killed before they could stop their engines.
    pub fn require() -> Option<Lab> {
        match Lab::check() {
            Ok(lab) => {
                static SWEEP: Once = Once::new();
                SWEEP.call_once(|| RunDir::sweep_stale(&lab));
                Some(lab)
            }
            Err(why) if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") => {
                panic!("the Docker lab is required ({REQUIRE_ENV}=1) but {why}")
            }
            Err(why) => {
                // Straight to stderr: libtest captures eprintln! of passing tests.
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: {why} (prepare the lab with `sudo .ci/setup-lab`; \
                     {REQUIRE_ENV}=1 turns this skip into a failure)"
                );
                None
            }
        }
    }

    fn check() -> Result<Lab, String> {
        if !is_root()? {
            return Err("the lab needs real root (dockerd)".into());
        }
        let dir = PathBuf::from(std::env::var(DIR_ENV).unwrap_or_else(|_| DEFAULT_DIR.into()));
        let lab = Lab { dir };
        let mut needed = vec![lab.image_tar(), lab.tool("busybox"), lab.tool("udp-echo")];
        for version in DockerVersion::ALL {
            for bin in ["dockerd", "docker", "docker-proxy", "containerd", "runc"] {
                needed.push(lab.engine_bin(version).join(bin));
            }
        }
        for backend in Backend::ALL {
            needed.push(lab.iptables_dir(backend).join("iptables"));
        }
        if let Some(missing) = needed.iter().find(|p| !p.exists()) {
            return Err(format!("{} is missing", missing.display()));
        }
        // The namespaces every engine needs; fails in a container without CAP_SYS_ADMIN.
        let probe = Command::new("unshare")
            .args([
                "--net",
                "--mount",
                "--pid",
                "--fork",
                "--mount-proc",
                "true",
            ])
            .output()
            .map_err(|e| format!("cannot run unshare: {e}"))?;
        if !probe.status.success() {
            return Err(format!(
                "cannot create namespaces: {}",
                String::from_utf8_lossy(&probe.stderr).trim()
            ));
        }
        for tool in ["nsenter", "ip", "kill", "timeout"] {
            if !run(Command::new("sh").args(["-c", &format!("command -v {tool}")]))
                .status
                .success()
            {
                return Err(format!("{tool} is not installed"));
            }
        }
        Ok(lab)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// dockerd, docker, docker-proxy, containerd, its shim and runc of one engine.
    pub fn engine_bin(&self, version: DockerVersion) -> PathBuf {
        self.dir.join(format!("engine-{}/bin", version.as_str()))
    }

    /// `iptables*` and `ip6tables*` of one backend: first in PATH, they decide what
    /// dockerd (and a test's `iptables`) writes.
    pub fn iptables_dir(&self, backend: Backend) -> PathBuf {
        self.dir.join(format!("iptables-{}", backend.name()))
    }

    /// The test image (static busybox, udp-echo, /www/index.html), for `docker import`.
    pub fn image_tar(&self) -> PathBuf {
        self.dir.join("image.tar")
    }

    /// A static tool of the test image (`busybox`, `udp-echo`), also usable outside
    /// containers.
    pub fn tool(&self, name: &str) -> PathBuf {
        self.tools_dir().join(name)
    }

    /// The test image's `/bin`.
    pub fn tools_dir(&self) -> PathBuf {
        self.dir.join("image/bin")
    }

    /// Where engines keep their state while they run.
    pub fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }
}

/// Effective uid 0, read from /proc (no unsafe libc call needed).
fn is_root() -> Result<bool, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .ok_or("no Uid line in /proc/self/status")?;
    Ok(euid == "0")
}
