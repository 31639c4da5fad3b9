//! Host probes against the real kernel, inside namespaces made for the
//! test: `unshare -rn` (own user + network namespace), `unshare -r` (own
//! user namespace, host network namespace) and `--netns` entry. The host's
//! own network namespace is only read, never changed.
//!
//! Each case re-executes this test binary under `unshare` with
//! `NFDOCTOR_HOST_CHILD=<case>`; the `child` test then runs the probe and
//! prints its JSON on a line starting with `NFDOCTOR-JSON:`.

use nfdoctor::host::bridges::probe_bridges;
use nfdoctor::host::modules::load::KernelSyscalls;
use nfdoctor::host::process::own_netns;
use nfdoctor::host::sysctl::{read_sysctl, write_sysctl};
use nfdoctor::host::{collect_modules, enter_netns, probe_privileges, HostRoot, NetnsTarget};
use serde_json::{json, Value};
use std::process::{Command, Stdio};

const MARK: &str = "NFDOCTOR-JSON:";

/// The child side: does nothing unless started by a parent case.
#[test]
fn child() {
    let Ok(case) = std::env::var("NFDOCTOR_HOST_CHILD") else {
        return;
    };
    let root = HostRoot::live();
    let out: Value = match case.as_str() {
        "privileges" => serde_json::to_value(probe_privileges(&root)).unwrap(),
        "sysctl" => {
            let before = read_sysctl(&root, "net.ipv4.ip_forward", "", "").value;
            let written =
                write_sysctl(&root, "net.ipv4.ip_forward", "1").map_err(|e| e.to_string());
            let after = read_sysctl(&root, "net.ipv4.ip_forward", "", "").value;
            json!({"before": before, "written": written.is_ok(), "error": written.err(), "after": after})
        }
        "bridges" => serde_json::to_value(probe_bridges(&root)).unwrap(),
        "modules" => {
            let p = probe_privileges(&root);
            serde_json::to_value(collect_modules(&root, Some(&mut KernelSyscalls), Some(&p)))
                .unwrap()
        }
        "netns" => {
            let target: NetnsTarget = std::env::var("NFDOCTOR_HOST_TARGET")
                .unwrap()
                .parse()
                .unwrap();
            let before = own_netns(&root);
            let entered = enter_netns(&target, None).map_err(|e| e.to_string());
            json!({
                "before": before,
                "entered": entered.is_ok(),
                "error": entered.err(),
                "after": own_netns(&root),
                "bridges": serde_json::to_value(probe_bridges(&root)).unwrap(),
            })
        }
        "revisions" => {
            use nfdoctor::backend::legacy::{RawSocket, XtKernel};
            use nfdoctor::backend::nft::NftReader;
            use nfdoctor::xt::revision::RevisionProbe;
            use nfdoctor::xt::Kind;
            let asked = [
                (Kind::Target, "DNAT", 2),
                (Kind::Target, "DNAT", 3),
                (Kind::Target, "MASQUERADE", 0),
                (Kind::Match, "conntrack", 3),
                (Kind::Match, "conntrack", 9),
                (Kind::Match, "addrtype", 1),
            ];
            let mut nft = NftReader::open(nfdoctor::Family::Ipv4).unwrap();
            let mut legacy = RawSocket::open(nfdoctor::Family::Ipv4).unwrap();
            let answers: Vec<Value> = asked
                .iter()
                .map(|&(kind, name, rev)| {
                    json!({
                        "asked": format!("{kind:?} {name} {rev}"),
                        "nft": nft.has_revision(kind, name, rev),
                        "legacy": legacy.has_revision(name, rev, kind == Kind::Target).ok(),
                    })
                })
                .collect();
            json!(answers)
        }
        other => panic!("unknown child case {other}"),
    };
    println!("{MARK}{out}");
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs `prefix… <this test binary> child` with the case; returns its JSON.
fn run_child(prefix: &[&str], case: &str, env: &[(&str, String)]) -> Value {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(prefix[0]);
    cmd.args(&prefix[1..])
        .arg(&exe)
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env("NFDOCTOR_HOST_CHILD", case);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {case} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once(MARK).map(|(_, j)| j))
        .unwrap_or_else(|| panic!("no JSON from child {case}: {stdout}"));
    serde_json::from_str(line).expect("child JSON")
}

/// `unshare -rn <script>; exec <child>`: runs shell setup inside the
/// namespaces first.
fn run_child_after(setup: &str, case: &str) -> Value {
    let exe = std::env::current_exe().expect("test binary path");
    let script = format!("set -e; {setup}; exec \"$0\" --exact child --nocapture --test-threads=1");
    let out = Command::new("unshare")
        .args(["-rn", "sh", "-c", &script])
        .arg(&exe)
        .env("NFDOCTOR_HOST_CHILD", case)
        .output()
        .expect("run unshare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {case} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once(MARK).map(|(_, j)| j))
        .unwrap_or_else(|| panic!("no JSON from child {case}: {stdout}"));
    serde_json::from_str(line).expect("child JSON")
}

#[test]
fn capabilities_are_scoped_to_the_user_namespace() {
    if !have("unshare") {
        eprintln!("skipped: unshare is not installed");
        return;
    }
    let p = run_child(&["unshare", "-rn"], "privileges", &[]);
    assert_eq!(p["root"], true, "{p:#}");
    assert_eq!(p["initial_user_namespace"], false, "{p:#}");
    assert_eq!(p["uid_map"][0]["count"], 1);
    // The new user namespace owns the new network namespace: CAP_NET_ADMIN
    // counts there, but never for module loading.
    assert_eq!(p["netns_owner"], "own_userns", "{p:#}");
    assert_eq!(p["net_admin_over_netns"], true);
    assert_eq!(p["can_load_modules"], false);
    assert!(p["effective_names"]
        .as_array()
        .unwrap()
        .contains(&json!("cap_net_admin")));
}

#[test]
fn user_namespace_without_its_own_netns_has_no_net_admin_there() {
    if !have("unshare") {
        return;
    }
    let p = run_child(&["unshare", "-r"], "privileges", &[]);
    assert_eq!(p["initial_user_namespace"], false);
    assert_eq!(p["netns_owner"], "other_userns", "{p:#}");
    assert_eq!(p["net_admin_over_netns"], false);
}

#[test]
fn host_privileges_are_not_scoped() {
    let p = probe_privileges(&HostRoot::live());
    if p.initial_user_namespace == Some(true) && p.root {
        assert_eq!(p.net_admin_over_netns, Some(true));
    }
}

#[test]
fn sysctls_are_per_network_namespace() {
    if !have("unshare") {
        return;
    }
    let root = HostRoot::live();
    let host_before = read_sysctl(&root, "net.ipv4.ip_forward", "", "").value;
    let r = run_child(&["unshare", "-rn"], "sysctl", &[]);
    assert_eq!(r["written"], true, "{r:#}");
    assert_eq!(r["after"], "1");
    // The host's value did not move.
    assert_eq!(
        read_sysctl(&root, "net.ipv4.ip_forward", "", "").value,
        host_before
    );
}

#[test]
fn bridges_in_a_private_namespace() {
    if !have("unshare") || !have("ip") {
        eprintln!("skipped: needs unshare and ip");
        return;
    }
    let r = run_child_after(
        "ip link add docker0 type bridge; ip addr add 172.17.0.1/16 dev docker0; \
         ip link add veth0 type veth peer name veth1; ip link set veth0 master docker0; \
         ip link set veth0 up; ip link set veth1 up; ip link set docker0 up; \
         ip link add br-0123456789ab type bridge",
        "bridges",
    );
    assert_eq!(r["probed"], true, "{r:#}");
    assert_eq!(r["docker0_present"], true);
    let b = &r["bridges"];
    assert_eq!(b[0]["name"], "br-0123456789ab");
    assert_eq!(b[0]["up"], false);
    assert_eq!(b[1]["name"], "docker0");
    assert_eq!(b[1]["up"], true);
    assert_eq!(b[1]["ipv4"], json!(["172.17.0.1/16"]));
    assert_eq!(b[1]["members"][0]["name"], "veth0");
    assert_eq!(b[1]["members"][0]["kind"], "veth");
}

#[test]
fn module_loading_is_unavailable_in_a_user_namespace() {
    if !have("unshare") {
        return;
    }
    let m = run_child(&["unshare", "-rn"], "modules", &[]);
    assert_eq!(m["loading"]["available"], false, "{m:#}");
    let reason = m["loading"]["reason"].as_str().unwrap();
    // No module support (this project's kernel) or no CAP_SYS_MODULE in the
    // initial user namespace (a modular kernel): either way, clearly said.
    assert!(
        reason.contains("CONFIG_MODULES is not set") || reason.contains("CAP_SYS_MODULE"),
        "{reason}"
    );
}

#[test]
fn modules_on_this_kernel() {
    let root = HostRoot::live();
    let p = probe_privileges(&root);
    let m = collect_modules(&root, Some(&mut KernelSyscalls), Some(&p));
    if m.module_support == Some(false) {
        // This project's kernel: everything built in, nothing loadable.
        assert!(!m.loading.available);
        assert!(m
            .loading
            .reason
            .as_deref()
            .unwrap()
            .contains("without loadable module support"));
        let nf = m.modules.iter().find(|x| x.name == "nf_tables").unwrap();
        assert_eq!(
            serde_json::to_value(nf.state).unwrap(),
            "built_in",
            "{}",
            m.render()
        );
    }
}

#[test]
fn netns_option_enters_another_namespace() {
    if !have("unshare") {
        return;
    }
    // A namespace to look into: a sleeping process in its own user+net ns.
    let mut holder = Command::new("unshare")
        .args(["-rn", "sleep", "30"])
        .spawn()
        .expect("spawn unshare");
    let pid = holder.id();
    // Wait until the process runs in its new namespace.
    let host_ns = own_netns(&HostRoot::live());
    let target_link = format!("/proc/{pid}/ns/net");
    let mut target_ns = None;
    for _ in 0..100 {
        let ns = std::fs::read_link(&target_link)
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        if ns.is_some() && ns != host_ns {
            target_ns = ns;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let r = run_child(
        &["env"],
        "netns",
        &[("NFDOCTOR_HOST_TARGET", pid.to_string())],
    );
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(r["entered"], true, "{r:#}");
    assert_eq!(r["before"], json!(host_ns));
    assert_eq!(r["after"], json!(target_ns));
    assert_eq!(r["bridges"]["probed"], true);
    assert_eq!(r["bridges"]["bridges"], json!([]));
}

// ---------------------------------------------------------------- back ends

fn fixture(name: &str) -> String {
    fixtures_dir().join(name).display().to_string()
}

fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docker")
}

/// `nfdoctor env --json` in a fresh `unshare -rn` after `setup` (real
/// iptables/nft tools load the rules); returns the IPv4 back-end report and
/// the finding codes.
fn backends_after(setup: &str) -> (Value, Vec<String>) {
    let script = format!("set -e; {setup}; exec \"$0\" env --json");
    let out = Command::new("unshare")
        .args(["-rn", "sh", "-c", &script])
        .arg(env!("CARGO_BIN_EXE_nfdoctor"))
        .output()
        .expect("run unshare");
    assert!(
        out.status.success(),
        "setup {setup:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("env JSON");
    let v4 = report["backends"]
        .as_array()
        .and_then(|b| b.iter().find(|r| r["family"] == "ipv4"))
        .cloned()
        .unwrap_or_else(|| panic!("no IPv4 back-end report: {report:#}"));
    let codes = report["findings"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|f| f["code"].as_str().map(String::from))
        .collect();
    (v4, codes)
}

fn backend_tools() -> bool {
    let ok = have("unshare")
        && have("iptables-nft-restore")
        && have("iptables-legacy-restore")
        && have("nft");
    if !ok {
        eprintln!("SKIP: needs unshare, iptables-nft-restore, iptables-legacy-restore and nft");
    }
    ok
}

#[test]
fn backend_detection_nft_only() {
    if !backend_tools() {
        return;
    }
    let f = fixture("docker-28-default.rules");
    let (b, codes) = backends_after(&format!("iptables-nft-restore {f}"));
    assert_eq!(b["verdict"], "nft", "{b:#}");
    assert_eq!(b["docker_backend"], "nft", "{b:#}");
    assert_eq!(b["nft"]["xt_extensions"], true, "{b:#}");
    assert_eq!(b["legacy"]["readable"], true, "{b:#}");
    assert_eq!(b["legacy"]["rules"], 0, "{b:#}");
    assert!(b["conflicts"].as_array().unwrap().is_empty(), "{b:#}");
    assert!(!codes.iter().any(|c| c == "backend-split"), "{codes:?}");
}

#[test]
fn backend_detection_legacy_only() {
    if !backend_tools() {
        return;
    }
    let f = fixture("docker-28-default.rules");
    let (b, _) = backends_after(&format!("iptables-legacy-restore {f}"));
    assert_eq!(b["verdict"], "legacy", "{b:#}");
    assert_eq!(b["docker_backend"], "legacy", "{b:#}");
    assert_eq!(b["nft"]["rules"], 0, "{b:#}");
    assert!(
        b["legacy"]["docker_chains"]
            .as_array()
            .unwrap()
            .contains(&json!("nat/DOCKER")),
        "{b:#}"
    );
}

#[test]
fn backend_detection_both_names_the_conflicts() {
    if !backend_tools() {
        return;
    }
    // Docker's chains in legacy; a firewall in nf_tables with its own rule
    // and a FORWARD policy of DROP, which drops what legacy accepts.
    let f = fixture("docker-28-default.rules");
    let (b, codes) = backends_after(&format!(
        "iptables-legacy-restore {f}; \
         printf '*filter\\n:FORWARD DROP [0:0]\\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\\nCOMMIT\\n' | iptables-nft-restore"
    ));
    assert_eq!(b["verdict"], "both", "{b:#}");
    assert_eq!(b["docker_backend"], "legacy", "{b:#}");
    let conflicts: Vec<&str> = b["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert!(conflicts.contains(&"forward-drop-defeats-accepts"), "{b:#}");
    assert!(codes.iter().any(|c| c == "backend-split"), "{codes:?}");
    assert!(
        codes.iter().any(|c| c == "forward-drop-defeats-accepts"),
        "{codes:?}"
    );
}

#[test]
fn backend_detection_docker_chains_in_both() {
    if !backend_tools() {
        return;
    }
    let f = fixture("docker-28-default.rules");
    let (b, codes) = backends_after(&format!(
        "iptables-legacy-restore {f}; iptables-nft-restore {f}"
    ));
    assert_eq!(b["verdict"], "both", "{b:#}");
    assert!(
        b["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "docker-chains-split"
                && c["message"].as_str().unwrap().contains("nat/DOCKER")),
        "{b:#}"
    );
    assert!(
        codes.iter().any(|c| c == "docker-chains-split"),
        "{codes:?}"
    );
}

#[test]
fn backend_detection_docker_29_nftables() {
    if !backend_tools() {
        return;
    }
    let f = fixture("docker-29-nftables-default.nft");
    let (b, _) = backends_after(&format!("nft -f {f}"));
    assert_eq!(b["docker_nftables_table"], true, "{b:#}");
    // Docker 29's own table is not an iptables table: no iptables rules,
    // no Docker iptables chains.
    assert_eq!(b["verdict"], "none", "{b:#}");
    assert_eq!(b["docker_backend"], Value::Null, "{b:#}");
    assert!(b["conflicts"].as_array().unwrap().is_empty(), "{b:#}");
}

/// `nfdoctor --netns PID save` shows the rules of another namespace: as
/// root, and as an ordinary user whose own `unshare -rn` holds them (the
/// rootless Docker situation: nfdoctor joins the owning user namespace).
#[test]
fn netns_option_reads_another_namespaces_rules() {
    if !backend_tools() || !have("setpriv") {
        return;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let as_user = |args: &[&str]| -> Command {
        let mut c = if root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
            c.args(args);
            c
        } else {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            c
        };
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    };
    let f = fixture("docker-28-default.rules");
    let expected = Command::new("unshare")
        .args(["-rn", "sh", "-c"])
        .arg(format!(
            "iptables-nft-restore {f} && iptables-nft-save -t nat"
        ))
        .output()
        .expect("iptables-nft-save");
    let expected = String::from_utf8_lossy(&expected.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    assert!(expected.contains("-j DNAT"), "{expected}");

    let mut readers = vec![("user", true)];
    if root {
        readers.push(("root", false));
    }
    for (who, via_user) in readers {
        let script = format!("iptables-nft-restore {f} && echo ready && exec sleep 30");
        let mut holder = as_user(&["unshare", "-rn", "sh", "-c", &script])
            .spawn()
            .expect("spawn holder");
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(holder.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        // The `sleep` replaced the shell: the holder's PID is in the namespace.
        let pid = holder.id().to_string();
        let nfdoctor = env!("CARGO_BIN_EXE_nfdoctor");
        let args = [
            nfdoctor,
            "--netns",
            &pid,
            "save",
            "--backend",
            "nft",
            "-t",
            "nat",
        ];
        let out = if via_user {
            as_user(&args).output()
        } else {
            Command::new(nfdoctor).args(&args[1..]).output()
        }
        .expect("run nfdoctor");
        let _ = holder.kill();
        let _ = holder.wait();
        assert!(
            out.status.success(),
            "{who}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "{who}");
    }
}

/// Both kernel interfaces say which revisions of a match or target the
/// kernel has (what `check` expects Docker's rules at, and `fix` writes).
#[test]
fn the_kernel_tells_which_extension_revisions_it_has() {
    if !have("unshare") {
        eprintln!("skipped: unshare is not installed");
        return;
    }
    let answers = run_child(&["unshare", "-rn"], "revisions", &[]);
    let has = |asked: &str| -> (Value, Value) {
        let a = answers
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["asked"] == asked)
            .unwrap_or_else(|| panic!("no answer for {asked}"));
        (a["nft"].clone(), a["legacy"].clone())
    };
    // Every kernel this runs on is newer than 4.18.
    for (asked, want) in [
        ("Target DNAT 2", true),
        ("Target DNAT 3", false),
        ("Target MASQUERADE 0", true),
        ("Match conntrack 3", true),
        ("Match conntrack 9", false),
        ("Match addrtype 1", true),
    ] {
        assert_eq!(has(asked), (json!(want), json!(want)), "{asked}: {answers}");
    }
}
