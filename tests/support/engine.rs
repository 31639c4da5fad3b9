//! A real dockerd — 20.10, 26.1 or 28.5, writing iptables-nft or iptables-legacy rules —
//! in namespaces of its own.
//!
//! Layout of one engine:
//! * a network namespace held by a [`Netns`] (so it outlives dockerd across
//!   [`Engine::restart`]), with `eth0` 192.0.2.1/24 joined to a client namespace;
//! * dockerd in it, started as
//!   `nsenter -t HOLDER -n -- unshare --mount --pid --fork --kill-child --mount-proc …`:
//!   dockerd is pid 1 of a new pid namespace, so killing it kills its containerd, the
//!   shims, docker-proxy and every container at once, and all their mounts are made in
//!   a private mount namespace that disappears with them. Inside, `/run` is a private
//!   tmpfs, except for `/run/xtables.lock`, which stays the host's so that
//!   iptables-legacy calls of dockerd and of the tests exclude each other. Why: a
//!   dockerd uses a host containerd if `/run/containerd/containerd.sock` exists
//!   instead of starting its own (private, under the exec root); containerd puts shim
//!   sockets in `/run/containerd/s`; dockerd creates `/run/docker/plugins`.
//! * data root, exec root (with containerd's socket and state), socket, pidfile, log
//!   and `daemon.json` in a private [`RunDir`]; `--storage-driver vfs` (no overlay
//!   mounts), `--exec-opt native.cgroupdriver=cgroupfs` and a cgroup parent of its own.
//! * `PATH` starts with the engine's `bin` folder (dockerd, docker-proxy, containerd,
//!   shim, runc of that version) and the backend's `iptables*` links: dockerd runs the
//!   first `iptables` in its `PATH`.

use super::cmd::{run, run_ok, said};
use super::counters;
use super::lab::Lab;
use super::netns::Netns;
use super::rundir::RunDir;
use super::workload::Proto;
use nfdoctor::Family;
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The tag the test image is imported as in every engine.
pub const IMAGE: &str = "nfdoctor-lab:latest";

/// The engines the lab has, each from Debian (see `.ci/setup-lab`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DockerVersion {
    /// 20.10.24, bookworm; containerd 1.6. The classic rules (§4.1 of docker-rules.md).
    V20_10,
    /// 26.1.5, trixie; containerd 1.7. Classic rules too, newer daemon.
    V26_1,
    /// 28.5.2, sid; containerd 1.7. DOCKER-FORWARD/-CT/-BRIDGE and raw rules (§4.3).
    V28_5,
}

impl DockerVersion {
    pub const ALL: [DockerVersion; 3] = [Self::V20_10, Self::V26_1, Self::V28_5];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V20_10 => "20.10",
            Self::V26_1 => "26.1",
            Self::V28_5 => "28.5",
        }
    }
}

/// Which iptables dockerd (and the tests' `iptables`) runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// iptables-nft: rules in nf_tables tables `ip nat`, `ip filter`, …
    Nft,
    /// iptables-legacy: rules in the x_tables tables of the kernel.
    Legacy,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Self::Nft, Self::Legacy];

    pub fn name(self) -> &'static str {
        match self {
            Self::Nft => "nft",
            Self::Legacy => "legacy",
        }
    }

    /// `iptables-nft-save`, `ip6tables-legacy-save`, …
    pub fn save_command(self, family: Family) -> String {
        format!("{}-{}-save", family.command(), self.name())
    }
}

/// What engine to start.
#[derive(Debug, Clone)]
pub struct EngineSpec {
    pub version: DockerVersion,
    pub backend: Backend,
    /// dockerd's `--userland-proxy`. With it off, a published port answers only
    /// through the DNAT rule, which is what tests of the rules want.
    pub userland_proxy: bool,
    /// More dockerd flags.
    pub extra_args: Vec<String>,
}

impl EngineSpec {
    /// Docker's defaults (userland proxy on), no extra flags.
    pub fn new(version: DockerVersion, backend: Backend) -> EngineSpec {
        EngineSpec {
            version,
            backend,
            userland_proxy: true,
            extra_args: Vec::new(),
        }
    }
}

#[derive(Debug)]
pub struct Engine {
    lab: Lab,
    spec: EngineSpec,
    run: RunDir,
    netns: Netns,
    client: Netns,
    daemon: Option<Daemon>,
    stopped: bool,
}

/// A running dockerd: the `unshare` (our child) whose child, dockerd, is pid 1 of the
/// engine's pid namespace.
#[derive(Debug)]
struct Daemon {
    unshare: Child,
    dockerd: u32,
}

/// Shell run by `unshare` before dockerd: a private /run that keeps the host's
/// xtables lock (a bind mount of the file opened before /run is covered).
const PRIVATE_RUN: &str = "set -e
touch /run/xtables.lock
exec 9</run/xtables.lock
mount -n -t tmpfs -o mode=0755 nfdoctor-lab-run /run
: >/run/xtables.lock
mount -n --bind /proc/self/fd/9 /run/xtables.lock
exec 9<&-
exec \"$@\"";

impl Engine {
    /// Starts dockerd in fresh namespaces and imports the test image as [`IMAGE`];
    /// returns once the engine answers. Panics (with dockerd's log) when it does not.
    pub fn start(lab: &Lab, spec: EngineSpec) -> Engine {
        let run = RunDir::create(
            lab,
            &format!("{}-{}", spec.version.as_str(), spec.backend.name()),
        );
        // Built first, so that its Drop cleans up whatever is started after.
        let mut engine = Engine {
            lab: lab.clone(),
            netns: Netns::new(lab),
            client: Netns::new(lab),
            spec,
            run,
            daemon: None,
            stopped: false,
        };
        engine.run.own(engine.netns.pid());
        engine.run.own(engine.client.pid());
        engine.netns.link_client(&engine.client);
        let dir = engine.run.path();
        fs::write(dir.join("daemon.json"), "{}\n").expect("daemon.json");
        fs::create_dir_all(dir.join("docker-cli")).expect("docker-cli config folder");
        engine.start_daemon();
        let image = lab.image_tar();
        engine.docker_ok([OsStr::new("import"), image.as_os_str(), OsStr::new(IMAGE)]);
        engine
    }

    fn start_daemon(&mut self) {
        let dir = self.run.path().to_path_buf();
        let path = format!(
            "{}:{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            self.lab.engine_bin(self.spec.version).display(),
            self.lab.iptables_dir(self.spec.backend).display()
        );
        // dockerd 20.10 refuses to start when its pidfile names a live process, and
        // in its pid namespace the stale "1" always does.
        let _ = fs::remove_file(dir.join("dockerd.pid"));
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("dockerd.log"))
            .expect("dockerd.log");
        let d = |name: &str| dir.join(name).display().to_string();
        let mut args = vec![
            "--config-file".to_string(),
            d("daemon.json"),
            "--data-root".into(),
            d("data"),
            "--exec-root".into(),
            d("exec"),
            "--host".into(),
            format!("unix://{}", d("docker.sock")),
            "--pidfile".into(),
            d("dockerd.pid"),
            "--storage-driver".into(),
            "vfs".into(),
            "--exec-opt".into(),
            "native.cgroupdriver=cgroupfs".into(),
            "--cgroup-parent".into(),
            self.run.cgroup_parent(),
            format!("--userland-proxy={}", self.spec.userland_proxy),
        ];
        args.extend(self.spec.extra_args.iter().cloned());
        let mut cmd = self.netns.command(
            "unshare",
            [
                "--mount",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "sh",
                "-c",
                PRIVATE_RUN,
                "sh",
                "dockerd",
            ],
        );
        cmd.args(&args)
            .env_clear()
            .env("PATH", path)
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        let mut unshare = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        self.run.own(unshare.id());
        let dockerd = match dockerd_of(&mut unshare) {
            Ok(pid) => pid,
            Err(why) => {
                let _ = unshare.kill(); // --kill-child: whatever it started goes too
                let _ = unshare.wait();
                panic!("{why}:\n{}", self.log_tail(40));
            }
        };
        self.run.own(dockerd);
        self.daemon = Some(Daemon { unshare, dockerd });
        self.wait_until_answering();
    }

    fn wait_until_answering(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.ping() {
            let daemon = self.daemon.as_mut().expect("dockerd was started");
            if let Ok(Some(status)) = daemon.unshare.try_wait() {
                self.daemon = None;
                panic!(
                    "dockerd exited during start-up ({status}):\n{}",
                    self.log_tail(40)
                );
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not answer within 60 s:\n{}",
                self.log_tail(40)
            );
            sleep(Duration::from_millis(50));
        }
    }

    /// Whether `GET /version` on the socket answers 200.
    fn ping(&self) -> bool {
        let Ok(mut socket) = UnixStream::connect(self.socket_path()) else {
            return false;
        };
        let _ = socket.set_read_timeout(Some(Duration::from_secs(5)));
        let mut answer = String::new();
        socket
            .write_all(b"GET /version HTTP/1.0\r\nHost: docker\r\n\r\n")
            .is_ok()
            && socket.read_to_string(&mut answer).is_ok()
            && answer.split_whitespace().nth(1) == Some("200")
    }

    pub fn spec(&self) -> &EngineSpec {
        &self.spec
    }

    /// dockerd's pid (in the test's pid namespace); `nsenter -t PID -n` enters the
    /// engine's network namespace. Changes with [`restart`](Self::restart).
    pub fn pid(&self) -> u32 {
        self.daemon
            .as_ref()
            .expect("dockerd is not running")
            .dockerd
    }

    /// The engine's network namespace ("the host" of its containers).
    pub fn netns(&self) -> &Netns {
        &self.netns
    }

    /// A namespace outside the engine, linked to it: 192.0.2.2, reaching the engine as
    /// [`ENGINE_ADDR`](super::netns::ENGINE_ADDR).
    pub fn client(&self) -> &Netns {
        &self.client
    }

    pub fn socket_path(&self) -> PathBuf {
        self.run.path().join("docker.sock")
    }

    /// The engine's state folder (data root, exec root, `dockerd.log`, …).
    pub fn dir(&self) -> PathBuf {
        self.run.path().to_path_buf()
    }

    /// Runs a command in the engine's network namespace, with the engine's iptables
    /// backend first in `PATH` (so `iptables` means what dockerd uses).
    pub fn netns_exec<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Output {
        let mut args = args.into_iter();
        let program = args.next().expect("a command");
        let mut cmd = self.netns.command(program, args);
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env(
            "PATH",
            format!(
                "{}:{path}",
                self.lab.iptables_dir(self.spec.backend).display()
            ),
        );
        run(&mut cmd)
    }

    /// [`netns_exec`](Self::netns_exec), panicking unless it succeeds; returns stdout.
    pub fn netns_exec_ok<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> String {
        let args: Vec<S> = args.into_iter().collect();
        let out = self.netns_exec(&args);
        let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
        assert!(
            out.status.success(),
            "{shown:?} in the engine's netns failed: {}",
            said(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The engine's own docker CLI against its socket (at most 2 minutes).
    pub fn docker<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Output {
        run(&mut self.docker_command(args))
    }

    /// [`docker`](Self::docker), panicking unless it succeeds; returns stdout.
    pub fn docker_ok<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> String {
        run_ok(&mut self.docker_command(args))
    }

    fn docker_command<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Command {
        let mut cmd = Command::new("timeout");
        cmd.arg("120")
            .arg(self.lab.engine_bin(self.spec.version).join("docker"))
            .args(args)
            .env(
                "DOCKER_HOST",
                format!("unix://{}", self.socket_path().display()),
            )
            .env("DOCKER_CONFIG", self.run.path().join("docker-cli"))
            .stdin(Stdio::null());
        cmd
    }

    /// `iptables-save` (or `ip6tables-save`) of `backend` in the engine's namespace,
    /// without the `#` lines (they carry a time stamp).
    pub fn iptables_save(&self, family: Family, backend: Backend) -> String {
        let out = self.netns_exec_ok([backend.save_command(family)]);
        out.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// Packets counted so far by nat `DOCKER`'s DNAT rule(s) for `proto` host port `port` (IPv4; a nat rule counts the first packet of each
    /// connection). Panics when there is no such rule.
    pub fn dnat_packets(&self, proto: Proto, port: u16) -> u64 {
        let save = self.netns_exec_ok([
            self.spec.backend.save_command(Family::Ipv4).as_str(),
            "-c",
            "-t",
            "nat",
        ]);
        let port = port.to_string();
        let rules: Vec<_> = counters::parse(&save)
            .into_iter()
            .filter(|r| {
                r.chain == "DOCKER"
                    && r.has("-j", "DNAT")
                    && r.has("-p", proto.name())
                    && r.has("--dport", &port)
            })
            .collect();
        assert!(
            !rules.is_empty(),
            "no DNAT rule for {}/{port} in nat DOCKER:\n{save}",
            proto.name()
        );
        rules.iter().map(|r| r.packets).sum()
    }

    /// The end of dockerd's log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = fs::read_to_string(self.run.path().join("dockerd.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Stops dockerd as a service manager would (SIGTERM: it stops its containers
    /// first) and starts it again, in the same network namespace with the same state:
    /// the rules it left behind are still there, as on a real host.
    pub fn restart(&mut self) {
        self.stop_daemon("-TERM", Duration::from_secs(30));
        self.start_daemon();
    }

    /// Sends `signal` to dockerd and waits up to `grace` for everything in its pid
    /// namespace to end (then SIGKILL).
    fn stop_daemon(&mut self, signal: &str, grace: Duration) {
        let Some(mut daemon) = self.daemon.take() else {
            return;
        };
        let deadline = Instant::now() + grace;
        let _ = Command::new("kill")
            .args([signal, &daemon.dockerd.to_string()])
            .output();
        while let Ok(None) = daemon.unshare.try_wait() {
            if Instant::now() >= deadline {
                // --kill-child: dockerd, and with it its pid namespace, goes too.
                let _ = daemon.unshare.kill();
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Kills dockerd and everything it started, removes the namespaces, the
    /// containers' cgroups and the state folder. Panics if anything is left behind.
    pub fn stop(mut self) {
        if let Err(e) = self.teardown() {
            panic!("engine did not stop cleanly: {e}");
        }
    }

    fn teardown(&mut self) -> Result<(), String> {
        if std::mem::replace(&mut self.stopped, true) {
            return Ok(());
        }
        // SIGKILL to pid 1 of the engine's pid namespace takes every process in it.
        self.stop_daemon("-KILL", Duration::from_secs(10));
        self.client.kill();
        self.netns.kill();
        self.run.remove()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.stopped {
            eprintln!(
                "--- dockerd log ({}):\n{}",
                self.run.path().display(),
                self.log_tail(30)
            );
        }
        if let Err(e) = self.teardown() {
            eprintln!("engine did not stop cleanly: {e}");
        }
    }
}

/// dockerd's pid: the child of `unshare` (after `sh` has exec'd it).
fn dockerd_of(unshare: &mut Child) -> Result<u32, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(pid) = child_named(unshare.id(), "dockerd") {
            return Ok(pid);
        }
        if let Ok(Some(status)) = unshare.try_wait() {
            return Err(format!("dockerd did not start ({status})"));
        }
        if Instant::now() > deadline {
            return Err("dockerd did not start within 30 s".into());
        }
        sleep(Duration::from_millis(10));
    }
}

/// The child of `parent` whose command name is `name`.
fn child_named(parent: u32, name: &str) -> Option<u32> {
    fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (comm, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
        let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
        (ppid == parent && comm == name).then_some(pid)
    })
}
