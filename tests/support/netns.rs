//! A network namespace held open by a process of ours, and the tools the tests run
//! inside it.
//!
//! The holder is `unshare --net sleep infinity`, a child of the test process. Holding
//! the [`Child`] un-reaped guarantees its pid is never recycled, and `nsenter -t PID
//! -n` into a dead (zombie) holder fails rather than falling back to the host
//! namespace. A command is only ever entered into a namespace that was checked to be
//! not the host's: nothing a test runs here can touch the host's firewall.
//!
//! An engine uses two: its own (dockerd's, the "host" with `eth0` 192.0.2.1/24) and a
//! client's (192.0.2.2/24, default route via the engine), joined by a veth pair, so that
//! a published port is reached from outside as 192.0.2.1:PORT through Docker's DNAT.

use super::cmd::run;
use super::lab::Lab;
use std::ffi::OsStr;
use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The engine's address on its uplink, where published ports are reached from outside.
pub const ENGINE_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The client's address.
pub const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

#[derive(Debug)]
pub struct Netns {
    holder: Child,
    /// The test image's static tools (busybox, udp-echo), used as probes.
    tools: PathBuf,
}

impl Netns {
    /// A fresh network namespace with `lo` up.
    pub fn new(lab: &Lab) -> Netns {
        let holder = Command::new("unshare")
            .args(["--net", "sleep", "infinity"])
            // Nothing inherited: a holder must never keep a pipe of the test run open.
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run unshare: {e}"));
        let mut netns = Netns {
            holder,
            tools: lab.tools_dir(),
        };
        netns.wait_until_unshared();
        netns.exec_ok(["ip", "link", "set", "lo", "up"]);
        netns
    }

    /// `unshare` enters the new namespace, then becomes `sleep`: until then, entering
    /// its namespace would enter the host's.
    fn wait_until_unshared(&mut self) {
        let pid = self.pid();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "sleep" {
                let ours = fs::read_link("/proc/self/ns/net").expect("own netns");
                let its = fs::read_link(format!("/proc/{pid}/ns/net")).expect("holder netns");
                assert_ne!(
                    ours, its,
                    "the holder {pid} is in the test's own network namespace"
                );
                return;
            }
            if let Ok(Some(status)) = self.holder.try_wait() {
                panic!("unshare --net failed: {status}");
            }
            assert!(Instant::now() < deadline, "unshare --net did not start");
            sleep(Duration::from_millis(5));
        }
    }

    /// The holder's pid: `nsenter -t PID -n` enters this namespace.
    pub fn pid(&self) -> u32 {
        self.holder.id()
    }

    /// `program args…` to be run inside this namespace (nothing else of it is entered).
    pub fn command<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &self.pid().to_string(), "-n", "--"])
            .arg(program)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `args[0] args[1..]` inside this namespace.
    pub fn exec<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Output {
        let mut args = args.into_iter();
        let program = args.next().expect("a command");
        run(&mut self.command(program, args))
    }

    /// [`exec`](Self::exec), panicking unless it succeeds; returns stdout.
    pub fn exec_ok<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> String {
        let mut args = args.into_iter();
        let program = args.next().expect("a command");
        super::cmd::run_ok(&mut self.command(program, args))
    }

    /// `GET /` from `ip:port` (busybox wget, 3 s at most): the body, or what went wrong.
    ///
    /// A port that lost its DNAT rule does not refuse: dockerd (even with the proxy off)
    /// keeps a listening socket on every published port to reserve it, and never
    /// accepts — such a GET ends with the time-out (exit status 124).
    pub fn http_get(&self, ip: Ipv4Addr, port: u16) -> Result<String, String> {
        // busybox 1.35's own `wget -T` crashes on a refused connection: use timeout(1).
        let mut cmd = self.command("timeout", ["3"]);
        cmd.arg(self.tools.join("busybox")).args([
            "wget",
            "-q",
            "-O-",
            &format!("http://{ip}:{port}/"),
        ]);
        let out = run(&mut cmd);
        answer(out)
    }

    /// Sends `text` in one UDP datagram to `ip:port` and returns the answer (the lab's
    /// servers echo it); fails after 3 s of silence.
    pub fn udp_roundtrip(&self, ip: Ipv4Addr, port: u16, text: &str) -> Result<String, String> {
        let ask = [ip.to_string(), port.to_string(), text.to_string()];
        let mut cmd = self.command(self.tools.join("udp-echo"), ["ask"]);
        let out = run(cmd.args(ask));
        answer(out).map(|s| s.trim_end_matches('\n').to_string())
    }

    /// Joins this namespace (the engine's: `eth0` 192.0.2.1/24, default route via the
    /// client) and `client` (`eth0` 192.0.2.2/24, default route via the engine) with a
    /// veth pair.
    pub fn link_client(&self, client: &Netns) {
        let client_pid = client.pid().to_string();
        self.exec_ok([
            "ip",
            "link",
            "add",
            "eth0",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &client_pid,
        ]);
        for (ns, me, peer) in [
            (self, ENGINE_ADDR, CLIENT_ADDR),
            (client, CLIENT_ADDR, ENGINE_ADDR),
        ] {
            ns.exec_ok(["ip", "addr", "add", &format!("{me}/24"), "dev", "eth0"]);
            ns.exec_ok(["ip", "link", "set", "eth0", "up"]);
            ns.exec_ok(["ip", "route", "add", "default", "via", &peer.to_string()]);
        }
    }

    /// Ends the holder; the namespace goes when nothing else is in it.
    pub fn kill(&mut self) {
        if let Ok(None) = self.holder.try_wait() {
            let _ = self.holder.kill();
            let _ = self.holder.wait();
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.kill();
    }
}

fn answer(out: Output) -> Result<String, String> {
    if out.status.success() {
        Ok(super::cmd::stdout(&out))
    } else {
        Err(super::cmd::said(&out))
    }
}
