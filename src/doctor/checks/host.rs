//! Checks on the host around the rules: the daemon's settings and config,
//! IP forwarding, bridges, firewall managers, WSL, rootless Docker, and
//! what could not be checked for lack of privilege.

use crate::doctor::facts::Facts;
use crate::doctor::finding::{Finding, Severity};
use crate::host::dockerd::Source;
use crate::host::{not_enough_privilege, Capability};

fn source(s: &Source) -> &'static str {
    match s {
        Source::Flag => "command line",
        Source::DaemonJson => "daemon.json",
        Source::Environment => "environment",
        Source::Default => "default",
    }
}

/// `--iptables=false` / `"iptables": false`, daemon.json errors, dockerd
/// not running.
pub fn daemon(facts: &Facts, out: &mut Vec<Finding>) {
    if let Some(view) = facts.local_daemon_view() {
        for e in &view.startup_errors {
            out.push(
                Finding::new(
                    "daemon-config-invalid",
                    Severity::Error,
                    format!(
                        "dockerd cannot start with its configuration ({})",
                        view.origin
                    ),
                )
                .evidence(e.clone())
                .fix(format!(
                    "correct {} (then `sudo systemctl restart docker`)",
                    view.config.path
                )),
            );
        }
        let get = |n: &str| view.settings.iter().find(|s| s.name == n);
        if let Some(s) = get("iptables").filter(|s| s.value == "false") {
            let how = match s.source {
                Source::Flag => "remove --iptables=false from dockerd's command line (docker.service ExecStart or its drop-in)".to_string(),
                Source::DaemonJson => format!("set \"iptables\": true (or remove the key) in {}", view.config.path),
                _ => "enable iptables in dockerd's configuration".to_string(),
            };
            out.push(
                Finding::new(
                    "iptables-disabled",
                    Severity::Warning,
                    "Docker is told not to manage iptables: it creates no rules, so published ports and outbound NAT do not work unless rules are made by hand",
                )
                .evidence(format!("{}: iptables=false (from {})", view.origin, source(&s.source)))
                .fix(format!("{how}, then `sudo systemctl restart docker`")),
            );
        }
    }
    match &facts.docker {
        Err(u) if !facts.local_dockerd() => out.push(
            Finding::new(
                "dockerd-not-running",
                Severity::Warning,
                "no Docker daemon runs here (no dockerd in this network namespace, and its API does not answer)",
            )
            .evidence("no dockerd process in /proc shares this network namespace")
            .evidence(u.message.clone())
            .fix("sudo systemctl start docker (or point --docker-host at the daemon's socket)"),
        ),
        Err(u) => {
            let mut f = Finding::new(
                u.id,
                Severity::Warning,
                "the Docker daemon's API could not be asked: per-container rules are checked only as far as the rules themselves show",
            )
            .evidence(u.message.clone());
            if let Some(fix) = &u.fix {
                f = f.fix(fix.clone());
            }
            out.push(f);
        }
        Ok(_) => {}
    }
}

/// IP forwarding (Docker needs it for containers to reach out).
pub fn forwarding(facts: &Facts, out: &mut Vec<Finding>) {
    if !facts.docker_present() {
        return;
    }
    let ip_forward_wanted = facts
        .local_daemon_view()
        .into_iter()
        .flat_map(|d| d.settings.iter())
        .find(|s| s.name == "ip-forward")
        .map(|s| s.value != "false")
        .unwrap_or(true);
    for (name, family) in [
        ("net.ipv4.ip_forward", "IPv4"),
        ("net.ipv6.conf.all.forwarding", "IPv6"),
    ] {
        let Some(s) = facts.env.sysctls.iter().find(|s| s.name == name) else {
            continue;
        };
        if s.value.as_deref() != Some("0") {
            continue;
        }
        // IPv6 forwarding only matters when Docker uses IPv6.
        if family == "IPv6" && !facts.uses_ipv6() {
            continue;
        }
        let mut f = Finding::new(
            "ip-forward-off",
            Severity::Error,
            format!("{family} forwarding is off: containers cannot reach anything beyond the host, and published ports do not answer from outside"),
        )
        .evidence(format!("{name} = 0"))
        .fix(format!("nfdoctor fix --all (or: sudo sysctl -w {name}=1, and add `{name} = 1` to /etc/sysctl.d/99-docker.conf)"));
        if !ip_forward_wanted {
            f = f.evidence(
                "dockerd runs with --ip-forward=false, so it does not turn forwarding on itself",
            );
        }
        out.push(f);
    }
}

/// Docker's bridges must exist and be up.
pub fn bridges(facts: &Facts, out: &mut Vec<Finding>) {
    if !facts.env.bridges.probed {
        return;
    }
    for net in facts.docker_networks() {
        match facts
            .env
            .bridges
            .bridges
            .iter()
            .find(|b| b.name == net.bridge)
        {
            None => out.push(
                Finding::new(
                    "bridge-missing",
                    Severity::Error,
                    format!(
                        "the bridge {} of Docker network {} does not exist",
                        net.bridge, net.name
                    ),
                )
                .evidence(format!(
                    "no interface named {} (rtnetlink link dump)",
                    net.bridge
                ))
                .fix("sudo systemctl restart docker (Docker recreates its bridges at start)"),
            ),
            Some(b) if !b.up => out.push(
                Finding::new(
                    "bridge-down",
                    Severity::Error,
                    format!(
                        "the bridge {} of Docker network {} is down: its containers are cut off",
                        b.name, net.name
                    ),
                )
                .evidence(format!(
                    "{}: administratively down (state {})",
                    b.name, b.oper_state
                ))
                .fix(format!("sudo ip link set {} up", b.name)),
            ),
            Some(_) => {}
        }
    }
}

/// firewalld and ufw change or remove Docker's rules behind its back.
pub fn firewall_managers(facts: &Facts, out: &mut Vec<Finding>) {
    let fw = &facts.env.firewalld;
    if fw.running {
        let mut f = Finding::new(
            "firewalld-running",
            Severity::Warning,
            "firewalld runs: a `firewall-cmd --reload` (or a firewalld restart) removes Docker's rules until Docker re-applies them",
        )
        .evidence(format!("firewalld process(es): {:?}", fw.pids))
        .evidence(format!("backend: {}", fw.backend.as_deref().unwrap_or("nftables (default)")));
        match &fw.docker_zone {
            Some(z) => f = f.evidence(format!("docker zone: {} (target {:?})", z.file, z.target)),
            None => {
                f = f.evidence(
                    "no `docker` zone in /etc/firewalld/zones: Docker creates it at start (20.10+)",
                )
            }
        }
        out.push(f.fix("after a firewalld reload: nfdoctor fix (or restart docker); Docker 28.1+ re-applies its rules on firewalld reload by itself"));
    }
    let ufw = &facts.env.ufw;
    if ufw.enabled {
        let mut f = Finding::new(
            "ufw-enabled",
            Severity::Info,
            "ufw is enabled: its chains sit in the same tables as Docker's; published ports bypass ufw's INPUT rules",
        )
        .evidence(format!("default forward policy: {}", ufw.default_forward_policy.as_deref().unwrap_or("unknown")));
        if ufw.default_forward_policy.as_deref() == Some("DROP") {
            f = f.evidence("container traffic relies on Docker's own ACCEPT rules in FORWARD");
        }
        out.push(f);
    }
}

/// WSL and rootless Docker change where rules live.
pub fn platform(facts: &Facts, out: &mut Vec<Finding>) {
    let wsl = &facts.env.wsl;
    if wsl.version == Some(1) {
        out.push(
            Finding::new(
                "wsl1",
                Severity::Error,
                "WSL 1 has no Linux kernel and no netfilter: Docker's networking cannot work",
            )
            .evidence(format!(
                "kernel release {}",
                wsl.kernel_release.as_deref().unwrap_or("?")
            ))
            .fix("wsl --set-version <distro> 2 (in Windows), or use Docker Desktop"),
        );
    } else if wsl.is_wsl {
        out.push(
            Finding::new(
                "wsl2",
                Severity::Info,
                "running under WSL 2: the kernel is Microsoft's; a netfilter feature it lacks needs another WSL kernel, not modprobe",
            )
            .evidence(format!("kernel release {}", wsl.kernel_release.as_deref().unwrap_or("?"))),
        );
    }
    for i in &facts.env.rootless.instances {
        if i.inside {
            continue;
        }
        let mut f = Finding::new(
            "rootless-docker",
            Severity::Info,
            "a rootless Docker daemon runs: its rules live in RootlessKit's network namespace, not in this one",
        )
        .evidence(i.rules_location.clone());
        if let Some(arg) = &i.netns_arg {
            // Its owner may enter it without sudo (nfdoctor joins the user
            // namespace that owns it).
            let sudo = if i.uid.is_some() && i.uid == facts.env.privileges.euid {
                ""
            } else {
                "sudo "
            };
            f = f.fix(format!("{sudo}nfdoctor --netns {arg} check"));
        }
        out.push(f);
    }
}

/// What could not be checked, and why.
pub fn privileges(facts: &Facts, out: &mut Vec<Finding>) {
    if facts.env.privileges.net_admin_over_netns == Some(false) {
        out.push(
            Finding::new(
                "not-enough-privilege",
                Severity::Error,
                "the rules could not be read: not enough privilege",
            )
            .evidence(not_enough_privilege(
                Capability::CapNetAdmin,
                "reading netfilter rules",
                Some(&facts.env.privileges),
            ))
            .fix("sudo nfdoctor check"),
        );
    }
}
