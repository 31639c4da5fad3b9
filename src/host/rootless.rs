//! Rootless Docker: RootlessKit's state directory, the user's
//! `docker.sock`, the rootlesskit process and its child's network
//! namespace — where a rootless daemon's rules live (never in the host
//! namespace; see docker-rules.md §12).

use super::process::{find_processes, own_netns, read_process, Process};
use super::root::HostRoot;
use serde::Serialize;
use std::collections::BTreeMap;

/// One rootless Docker setup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RootlessInstance {
    pub uid: Option<u32>,
    /// RootlessKit's `--state-dir` (default
    /// `$XDG_RUNTIME_DIR/dockerd-rootless`).
    pub state_dir: Option<String>,
    /// `$XDG_RUNTIME_DIR/docker.sock`, when present.
    pub socket: Option<String>,
    pub rootlesskit_pid: Option<u32>,
    /// `--net=` (`slirp4netns`, `vpnkit`, `pasta`, …).
    pub net_driver: Option<String>,
    pub port_driver: Option<String>,
    /// `--detach-netns`: dockerd stays outside, the namespace is the
    /// `netns` file in the state directory.
    pub detach_netns: bool,
    /// `STATE_DIR/child_pid`: the process inside the namespace.
    pub child_pid: Option<u32>,
    pub child_netns: Option<String>,
    /// `STATE_DIR/netns` (detach-netns mode).
    pub netns_file: Option<String>,
    /// What to pass to `nfdoctor --netns` to see this daemon's rules.
    pub netns_arg: Option<String>,
    /// We already run inside that namespace.
    pub inside: bool,
    /// One sentence: where the rules are.
    pub rules_location: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RootlessReport {
    pub detected: bool,
    /// Our own network namespace (`net:[…]`).
    pub current_netns: Option<String>,
    pub instances: Vec<RootlessInstance>,
}

fn arg_value(argv: &[String], name: &str) -> Option<String> {
    let eq = format!("{name}=");
    argv.iter().enumerate().find_map(|(i, a)| {
        if let Some(v) = a.strip_prefix(&eq) {
            Some(v.to_string())
        } else if a == name {
            argv.get(i + 1).cloned()
        } else {
            None
        }
    })
}

fn is_rootlesskit(p: &Process) -> bool {
    p.comm == "rootlesskit" || p.program() == "rootlesskit"
}

/// `/run/user/1000/...` → 1000.
fn uid_from_path(path: &str) -> Option<u32> {
    path.strip_prefix("/run/user/")?
        .split('/')
        .next()?
        .parse()
        .ok()
}

/// Probes for rootless Docker. `xdg_runtime_dir` is the caller's
/// `$XDG_RUNTIME_DIR` (a rootless user's own run directory), if set.
pub fn probe_rootless(root: &HostRoot, xdg_runtime_dir: Option<&str>) -> RootlessReport {
    let current_netns = own_netns(root);
    let mut by_dir: BTreeMap<String, RootlessInstance> = BTreeMap::new();
    for p in find_processes(root, is_rootlesskit) {
        let state_dir = arg_value(&p.argv, "--state-dir");
        let key = state_dir
            .clone()
            .unwrap_or_else(|| format!("pid:{}", p.pid));
        let inst = by_dir.entry(key).or_default();
        inst.state_dir = state_dir;
        inst.rootlesskit_pid = Some(p.pid);
        inst.uid = p.uid;
        inst.net_driver = arg_value(&p.argv, "--net");
        inst.port_driver = arg_value(&p.argv, "--port-driver");
        inst.detach_netns = p
            .argv
            .iter()
            .any(|a| a == "--detach-netns" || a == "--detach-netns=true");
    }
    let mut run_dirs: Vec<String> = root
        .read_dir_names("/run/user")
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.parse::<u32>().is_ok())
        .map(|n| format!("/run/user/{n}"))
        .collect();
    if let Some(x) = xdg_runtime_dir {
        if !run_dirs.iter().any(|d| d == x) {
            run_dirs.push(x.trim_end_matches('/').to_string());
        }
    }
    for run in &run_dirs {
        let state = format!("{run}/dockerd-rootless");
        let sock = format!("{run}/docker.sock");
        let has_state = root.is_dir(&state);
        let has_sock = root.exists(&sock);
        if !has_state && !has_sock {
            continue;
        }
        let key = if has_state || by_dir.contains_key(&state) {
            state.clone()
        } else {
            sock.clone()
        };
        let inst = by_dir.entry(key).or_default();
        if has_state {
            inst.state_dir = Some(state);
        }
        if has_sock {
            inst.socket = Some(sock);
        }
        inst.uid = inst.uid.or_else(|| uid_from_path(run));
    }
    let instances: Vec<RootlessInstance> = by_dir
        .into_values()
        .map(|mut inst| {
            if let Some(dir) = inst.state_dir.clone() {
                if inst.socket.is_none() {
                    let parent = dir.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
                    let sock = format!("{parent}/docker.sock");
                    if root.exists(&sock) {
                        inst.socket = Some(sock);
                    }
                }
                inst.child_pid = root
                    .read_value(format!("{dir}/child_pid"))
                    .ok()
                    .and_then(|v| v.parse().ok());
                let nsfile = format!("{dir}/netns");
                if root.exists(&nsfile) {
                    inst.netns_file = Some(nsfile);
                    inst.detach_netns = true;
                }
                if inst.uid.is_none() {
                    inst.uid = uid_from_path(&dir);
                }
            }
            inst.child_netns = inst
                .child_pid
                .and_then(|pid| read_process(root, pid))
                .and_then(|p| p.netns);
            inst.netns_arg = match (&inst.netns_file, inst.child_pid) {
                (Some(f), _) => Some(f.clone()),
                (None, Some(pid)) => Some(pid.to_string()),
                _ => None,
            };
            inst.inside = inst.child_netns.is_some() && inst.child_netns == current_netns;
            inst.rules_location = describe(&inst);
            inst
        })
        .collect();
    RootlessReport {
        detected: !instances.is_empty(),
        current_netns,
        instances,
    }
}

fn describe(i: &RootlessInstance) -> String {
    let who = i
        .uid
        .map(|u| format!("uid {u}'s rootless Docker"))
        .unwrap_or_else(|| "a rootless Docker".into());
    if i.inside {
        return format!(
            "{who}: its rules are in this network namespace (nfdoctor already runs inside it)"
        );
    }
    match &i.netns_arg {
        Some(arg) => format!(
            "{who}: its rules live in RootlessKit's network namespace, not the host's; \
             look there with `nfdoctor --netns {arg}` (as that user or root)"
        ),
        None => format!(
            "{who}: its rules live in RootlessKit's network namespace, not the host's, but no \
             running rootlesskit child was found (is the daemon stopped?)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::root::testing::FakeTree;

    #[test]
    fn rootlesskit_with_child_namespace() {
        let t = FakeTree::new();
        t.process(
            2000,
            "rootlesskit",
            &[
                "rootlesskit",
                "--state-dir=/run/user/1000/dockerd-rootless",
                "--net=slirp4netns",
                "--mtu=65520",
                "--port-driver=builtin",
                "--copy-up=/etc",
                "/usr/bin/dockerd-rootless.sh",
            ],
            1000,
        )
        .process(2010, "exe", &["/proc/self/exe", "--net=slirp4netns"], 1000)
        .link("/proc/2010/ns/net", "net:[4026532400]")
        .link("/proc/self/ns/net", "net:[4026531840]")
        .file("/run/user/1000/dockerd-rootless/child_pid", "2010\n")
        .file("/run/user/1000/docker.sock", "");
        let r = probe_rootless(&t.root(), None);
        assert!(r.detected);
        assert_eq!(r.instances.len(), 1);
        let i = &r.instances[0];
        assert_eq!(i.uid, Some(1000));
        assert_eq!(i.rootlesskit_pid, Some(2000));
        assert_eq!(i.child_pid, Some(2010));
        assert_eq!(i.child_netns.as_deref(), Some("net:[4026532400]"));
        assert_eq!(i.socket.as_deref(), Some("/run/user/1000/docker.sock"));
        assert_eq!(i.net_driver.as_deref(), Some("slirp4netns"));
        assert_eq!(i.netns_arg.as_deref(), Some("2010"));
        assert!(!i.inside);
        assert!(
            i.rules_location.contains("--netns 2010"),
            "{}",
            i.rules_location
        );
    }

    #[test]
    fn detach_netns_and_inside() {
        let t = FakeTree::new();
        t.file("/run/user/1001/dockerd-rootless/netns", "")
            .file("/run/user/1001/dockerd-rootless/child_pid", "3000")
            .link("/proc/3000/ns/net", "net:[5]")
            .file("/proc/3000/comm", "exe\n")
            .link("/proc/self/ns/net", "net:[5]");
        let r = probe_rootless(&t.root(), None);
        let i = &r.instances[0];
        assert!(i.detach_netns);
        assert_eq!(
            i.netns_arg.as_deref(),
            Some("/run/user/1001/dockerd-rootless/netns")
        );
        assert!(i.inside);
        assert!(i.rules_location.contains("already runs inside"));
    }

    #[test]
    fn socket_only_and_nothing() {
        let t = FakeTree::new();
        assert!(!probe_rootless(&t.root(), Some("/run/user/1000")).detected);
        t.file("/home/u/run/docker.sock", "");
        let r = probe_rootless(&t.root(), Some("/home/u/run/"));
        assert!(r.detected);
        assert!(r.instances[0]
            .rules_location
            .contains("no running rootlesskit child"));
    }
}
