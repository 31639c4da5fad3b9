//! `nfdoctor save` against `iptables-save` for every Docker fixture, on both
//! back ends, IPv4 and IPv6, each in a fresh network namespace; also with
//! `--counters` after real traffic has moved them.

#![allow(clippy::unwrap_used)]

mod support;
use support::sandbox as netns;

fn fixtures() -> Vec<(String, std::path::PathBuf)> {
    let mut out: Vec<_> = std::fs::read_dir(netns::fixtures_dir())
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rules" || x == "rules6"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    out.sort();
    assert!(
        out.len() >= 8,
        "expected the Docker fixtures, found {}",
        out.len()
    );
    out
}

/// Loads `fixture` with the real `*-restore` of `backend`, optionally sends
/// traffic through it, then prints `iptables-save` and `nfdoctor save`.
fn compare(fixture: &std::path::Path, backend: &str, counters: bool) -> Result<(), String> {
    let v6 = fixture.extension().is_some_and(|x| x == "rules6");
    let (cmd, flag) = if v6 {
        ("ip6tables", "-6")
    } else {
        ("iptables", "-4")
    };
    let c = if counters { "-c" } else { "" };
    let traffic = if counters {
        // IPv4: a local address that is not loopback, so OUTPUT's
        // addrtype-LOCAL jump to DOCKER and the DNAT rules see the packets.
        // IPv6: loopback only, because a veth's link-local chatter (DAD,
        // MLD, router solicitations) would move counters between the two
        // saves.
        r#"sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
ip link add d0 type veth peer name d1; ip link set lo up
ip link set d1 up; ip link set d0 up
ip addr add 10.9.9.9/24 dev d0
busybox nc -w 1 10.9.9.9 8080 </dev/null >/dev/null 2>&1 || true
busybox ping -c 1 -W 1 10.9.9.9 >/dev/null 2>&1 || true
busybox ping -6 -c 1 -W 1 ::1 >/dev/null 2>&1 || true
"#
    } else {
        ""
    };
    // One rule of our own in a chain every local packet crosses, so that
    // rule counters move whatever the fixture holds.
    let counting_rule = match (counters, v6) {
        (false, _) => String::new(),
        (true, false) => format!("{cmd}-{backend} -A OUTPUT -d 10.9.9.9/32\n"),
        (true, true) => format!("{cmd}-{backend} -A OUTPUT -d ::1/128\n"),
    };
    let script = format!(
        "grep -v '^#' '{f}' | {cmd}-{backend}-restore\n{counting_rule}{traffic}\
         echo '=== iptables'; {cmd}-{backend}-save {c}\n\
         echo '=== nfdoctor'; \"$NFDOCTOR\" save {flag} --backend {backend} {c}\n",
        f = fixture.display()
    );
    let out = netns::run_ok(&script);
    let (ipt, ours) = out.split_once("=== nfdoctor\n").ok_or("missing marker")?;
    let ipt = netns::without_comments(ipt.trim_start_matches("=== iptables\n"));
    if ipt != ours {
        return Err(netns::diff(&ipt, ours));
    }
    if counters
        && !ipt
            .lines()
            .any(|l| l.starts_with('[') && !l.starts_with("[0:0]"))
    {
        return Err("traffic did not move any rule counter; the test proves nothing".into());
    }
    Ok(())
}

fn check_all(counters: bool) {
    if !netns::available() {
        return;
    }
    let mut failures = Vec::new();
    for (name, path) in fixtures() {
        for backend in ["nft", "legacy"] {
            if let Err(e) = compare(&path, backend, counters) {
                failures.push(format!("{name} ({backend}):\n{e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn docker_fixtures_print_like_iptables_save() {
    check_all(false);
}

#[test]
fn docker_fixtures_with_moved_counters_print_like_iptables_save_c() {
    check_all(true);
}

#[test]
fn json_carries_the_schema_and_every_rule_line() {
    if !netns::available() {
        return;
    }
    let fixture = netns::fixtures_dir().join("docker-28-default.rules");
    // Rules in nf_tables only; `--backend auto -t nat` must then neither
    // list legacy nor create a legacy nat table by asking for it.
    let out = netns::run_ok(&format!(
        "grep -v '^#' '{f}' | iptables-nft-restore\n\
         \"$NFDOCTOR\" save --json\n\
         echo '=== save'; iptables-nft-save | grep '^-A '\n\
         \"$NFDOCTOR\" save --json -t nat > /dev/null\n\
         echo \"=== legacy tables: $(cat /proc/net/ip_tables_names | tr '\\n' ' ')\"\n",
        f = fixture.display()
    ));
    let (json, rest) = out.split_once("=== save\n").unwrap();
    let (lines, legacy) = rest.split_once("=== legacy tables:").unwrap();
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["schema"], "nfdoctor.save/1", "{v:#}");
    assert_eq!(v["family"], "ipv4");
    let backends = v["backends"].as_array().unwrap();
    assert_eq!(backends.len(), 1, "only nf_tables holds rules: {v:#}");
    assert_eq!(backends[0]["backend"], "nft");
    let texts: Vec<String> = backends[0]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["chains"].as_array().unwrap().iter())
        .flat_map(|c| c["rules"].as_array().unwrap().iter())
        .map(|r| r["text"].as_str().unwrap().trim_end().to_string())
        .collect();
    let mut expected: Vec<String> = lines.lines().map(str::to_string).collect();
    let mut got = texts.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    assert!(
        !legacy.contains("nat"),
        "save -t nat created the legacy nat table:{legacy}"
    );
}
