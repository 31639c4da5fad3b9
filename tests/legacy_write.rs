//! The legacy x_tables writer against the real kernel and the real
//! iptables-legacy tools, always inside `unshare -rn` (a user and network
//! namespace of the test's own), never in the host's namespace.
//!
//! Each case re-executes this test binary under `unshare -rn` with
//! `NFDOCTOR_LEGACY_CHILD=<case>`; the `child` test then runs the case's
//! own logic in the namespace (after an optional shell setup, e.g. loading
//! a fixture with `iptables-legacy-restore`) and prints result lines
//! starting with `RESULT:` for the parent to check.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use nfdoctor::backend::legacy::blob::{decode_table, Hooks};
use nfdoctor::backend::legacy::{
    encode_table, read_table, table_names, write_table, EntryKind, LockWait, RawSocket,
    WriteOptions, XtKernel, XtLock,
};
use nfdoctor::backend::BackendError;
use nfdoctor::ruleset::edit::{plan_block, Flush};
use nfdoctor::ruleset::protocols::ProtoNames;
use nfdoctor::ruleset::restore::parse_script;
use nfdoctor::ruleset::Table;
use nfdoctor::xt::{ParseCtx, Services};
use nfdoctor::Family;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::sandbox;

const CHILD: &str = "NFDOCTOR_LEGACY_CHILD";
const MARK: &str = "RESULT:";

// ---------------------------------------------------------------- harness

/// Runs `setup` (shell, `sh -e`) then case `case` of this binary inside a
/// fresh `unshare -rn`, with a private xtables lock.
fn in_netns(case: &str, setup: &str, env: &[(&str, String)]) -> Output {
    let exe = std::env::current_exe().expect("test binary path");
    let script = format!("set -e\n{setup}\nexec \"$0\" --exact child --nocapture --test-threads=1");
    let lock = std::env::temp_dir().join(format!(
        "nfdoctor-legacy-write-{}-{case}.lock",
        std::process::id()
    ));
    let mut cmd = Command::new("unshare");
    cmd.args(["-rn", "sh", "-c", &script])
        .arg(&exe)
        .env(CHILD, case)
        .env("XTABLES_LOCKFILE", &lock)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run unshare");
    let _ = std::fs::remove_file(&lock);
    out
}

/// Like [`in_netns`], panicking unless the child succeeds; returns the
/// `RESULT:` lines.
fn in_netns_ok(case: &str, setup: &str, env: &[(&str, String)]) -> Vec<String> {
    let out = in_netns(case, setup, env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {case} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| l.split_once(MARK).map(|(_, r)| r.trim().to_string()))
        .collect()
}

fn legacy_available() -> bool {
    if !sandbox::available() {
        return false;
    }
    let ok = Command::new("sh")
        .args([
            "-c",
            "command -v iptables-legacy-restore && command -v flock",
        ])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIP: iptables-legacy-restore or flock is not installed");
    }
    ok
}

fn family_of(path: &Path) -> Family {
    if path.extension().is_some_and(|x| x == "rules6") {
        Family::Ipv6
    } else {
        Family::Ipv4
    }
}

fn cmd(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "iptables",
        Family::Ipv6 => "ip6tables",
    }
}

/// Runs a shell command inside the child's namespace; returns stdout.
fn sh(script: &str) -> String {
    let out = Command::new("sh")
        .args(["-ec", script])
        .stdin(Stdio::null())
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "`{script}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sh_status(script: &str) -> (bool, String) {
    let out = Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .output()
        .expect("sh");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn save(family: Family, table: &str, counters: bool) -> String {
    let c = if counters { " -c" } else { "" };
    sandbox::without_comments(&sh(&format!("{}-legacy-save -t {table}{c}", cmd(family))))
}

/// Parses a restore script for `family` and plans its first block against
/// `current` with `--noflush` semantics.
fn plan(family: Family, current: &Table, script: &str, counters: bool) -> Table {
    let protocols = ProtoNames::system();
    let services = Services::system();
    let ctx = ParseCtx {
        family,
        proto: 0,
        proto_invert: false,
        table: "",
        protocols: &protocols,
        services: &services,
        set_index: &|_| None,
    };
    let parsed = parse_script(script, &ctx, counters).expect("parse");
    let (_, after) = plan_block(current, &parsed.tables[0], Flush::None, true).expect("plan block");
    after
}

fn fixture_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    for dir in [sandbox::fixtures_dir(), corpus] {
        for e in std::fs::read_dir(&dir).expect("fixture dir") {
            let p = e.expect("dir entry").path();
            if p.extension().is_some_and(|x| x == "rules" || x == "rules6") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("{key} not set"))
}

/// The child side: does nothing unless started by a parent case.
#[test]
fn child() {
    let Ok(case) = std::env::var(CHILD) else {
        return;
    };
    match case.as_str() {
        "roundtrip" => child_roundtrip(),
        "write" => child_write(),
        "counters" => child_counters(),
        "lock" => child_lock(),
        "lock_eacces" => child_lock_eacces(),
        "conflict" => child_conflict(),
        "refused" => child_refused(),
        other => panic!("unknown child case {other}"),
    }
}

// ------------------------------------------------------ round trip (bytes)

/// Offset of `comefrom` in an entry: the one field the kernel fills in.
fn comefrom_at(family: Family) -> usize {
    match family {
        Family::Ipv4 => 92,
        Family::Ipv6 => 144,
    }
}

fn child_roundtrip() {
    let family = match env("NFD_FAMILY").as_str() {
        "6" => Family::Ipv6,
        _ => Family::Ipv4,
    };
    let names = table_names(family);
    assert!(!names.is_empty(), "no legacy table after the restore");
    let mut sock = RawSocket::open(family).expect("raw socket");
    for name in names {
        let info = sock.get_info(&name).expect("GET_INFO");
        let kernel = sock.get_entries(&name, info.size).expect("GET_ENTRIES");
        let hooks = Hooks {
            valid_hooks: info.valid_hooks,
            hook_entry: info.hook_entry,
            underflow: info.underflow,
        };
        let table = decode_table(family, &name, &hooks, &kernel).expect("decode");
        let enc = encode_table(family, &table).expect("encode");
        assert_eq!(enc.valid_hooks, info.valid_hooks, "{name}: valid_hooks");
        assert_eq!(enc.num_entries(), info.num_entries, "{name}: num_entries");
        assert_eq!(enc.size(), info.size, "{name}: size");
        for h in 0..5 {
            if info.valid_hooks & (1 << h) != 0 {
                assert_eq!(
                    enc.hook_entry[h], info.hook_entry[h],
                    "{name}: hook_entry[{h}]"
                );
                assert_eq!(
                    enc.underflow[h], info.underflow[h],
                    "{name}: underflow[{h}]"
                );
            }
        }
        // The kernel's blob with `comefrom` cleared in every entry.
        let mut expected = kernel.clone();
        let mut comefrom_nonzero = 0;
        for e in &enc.entries {
            let at = e.offset as usize + comefrom_at(family);
            if expected[at..at + 4] != [0; 4] {
                comefrom_nonzero += 1;
            }
            expected[at..at + 4].fill(0);
            // A user chain's RETURN footer counts the packets that fell
            // off the chain; the model has no place for that (iptables
            // never shows it, and libiptc zeroes it on every commit).
            if e.kind == EntryKind::ChainFooter {
                let c = comefrom_at(family) + if family == Family::Ipv4 { 4 } else { 8 };
                expected[e.offset as usize + c..e.offset as usize + c + 16].fill(0);
            }
        }
        if let Some(i) =
            (0..expected.len().max(enc.blob.len())).find(|&i| expected.get(i) != enc.blob.get(i))
        {
            let entry = enc
                .entries
                .iter()
                .rposition(|e| e.offset as usize <= i)
                .unwrap_or(0);
            let start = enc.entries[entry].offset as usize;
            let end = (start + 512).min(expected.len()).min(enc.blob.len());
            panic!(
                "{name}: first difference at byte {i} (entry {entry} at {start}, +{}):\nkernel: {:02x?}\nours:   {:02x?}",
                i - start,
                &expected[start..end],
                &enc.blob[start..end]
            );
        }
        let counted = table
            .chains
            .iter()
            .flat_map(|c| c.rules.iter().map(|r| r.counters).chain([c.counters]))
            .filter(|c| c.packets != 0)
            .count();
        println!(
            "{MARK} {name} entries={} bytes={} comefrom_set={comefrom_nonzero} counted={counted} identical",
            info.num_entries, info.size
        );
        if std::env::var("NFD_COUNTED").is_ok() && name != "raw" {
            assert!(counted > 0, "{name}: traffic moved no counter");
        }
    }
}

/// A corpus file's `#! ` lines: commands to run before loading it.
fn setup_lines(file: &Path) -> String {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("#! "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn every_fixture_round_trips_byte_for_byte() {
    if !legacy_available() {
        return;
    }
    let mut tables = 0;
    let mut summary = Vec::new();
    for file in fixture_files() {
        let family = family_of(&file);
        let setup = format!(
            "{}{}-legacy-restore < '{}'",
            setup_lines(&file),
            cmd(family),
            file.display()
        );
        let v = if family == Family::Ipv6 { "6" } else { "4" };
        let lines = in_netns_ok("roundtrip", &setup, &[("NFD_FAMILY", v.to_string())]);
        assert!(!lines.is_empty(), "{}: no table checked", file.display());
        tables += lines.len();
        summary.push(format!(
            "{}: {}",
            file.file_name().unwrap().to_string_lossy(),
            lines.join("; ")
        ));
    }
    // With counters moved by real traffic: still identical, counters
    // included (the model carries them and the encoder writes them).
    let mut with_traffic = 0;
    for file in fixture_files() {
        if family_of(&file) != Family::Ipv4 || !file.starts_with(sandbox::fixtures_dir()) {
            continue;
        }
        let lines = in_netns_ok(
            "roundtrip",
            &traffic_setup(&file),
            &[
                ("NFD_FAMILY", "4".to_string()),
                ("NFD_COUNTED", "1".to_string()),
            ],
        );
        with_traffic += lines.len();
        summary.push(format!(
            "{} after traffic: {}",
            file.file_name().unwrap().to_string_lossy(),
            lines.join("; ")
        ));
    }
    eprintln!("{}", summary.join("\n"));
    eprintln!(
        "{tables} tables round-tripped byte for byte, and {with_traffic} more with moved counters"
    );
    assert!(tables >= 20, "only {tables} tables checked");
    assert!(
        with_traffic >= 10,
        "only {with_traffic} tables checked after traffic"
    );
}

// ------------------------------------------------- write, -C, -D, save

fn family_env() -> Family {
    match env("NFD_FAMILY").as_str() {
        "6" => Family::Ipv6,
        _ => Family::Ipv4,
    }
}

fn default_options() -> WriteOptions<'static> {
    WriteOptions::take_lock(LockWait::Up(Duration::from_secs(10)))
}

/// `-A CHAIN spec` / `-I CHAIN [N] spec` → (`CHAIN`, `spec`).
fn rule_lines(script: &str) -> Vec<(String, String)> {
    script
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("-A ").or_else(|| l.strip_prefix("-I "))?;
            let (chain, spec) = rest.split_once(' ')?;
            let spec = match spec.split_once(' ') {
                Some((n, s)) if l.starts_with("-I ") && n.parse::<u32>().is_ok() => s,
                _ => spec,
            };
            Some((chain.to_string(), spec.to_string()))
        })
        .collect()
}

/// `target` (a table read from the kernel) as a change of `before`: rules
/// found in `before`'s chain of the same name, in order, keep their handle
/// and counters (they survive); the others are new.
fn adopt_handles(before: &Table, target: &Table) -> Table {
    let mut after = target.clone();
    for c in &mut after.chains {
        let old = before.chain(&c.name);
        c.counters = old.map(|o| o.counters).unwrap_or_default();
        let mut from = 0;
        for r in &mut c.rules {
            r.handle = None;
            r.counters = Default::default();
            let Some(o) = old else { continue };
            if let Some(k) = o.rules[from..].iter().position(|x| x.same_spec(r)) {
                r.handle = o.rules[from + k].handle;
                r.counters = o.rules[from + k].counters;
                from += k + 1;
            }
        }
    }
    after
}

fn raw_blob(sock: &mut RawSocket, table: &str) -> Vec<u8> {
    let info = sock.get_info(table).expect("GET_INFO");
    sock.get_entries(table, info.size).expect("GET_ENTRIES")
}

fn child_write() {
    let family = family_env();
    let table = env("NFD_TABLE");
    let fixture = env("NFD_FIXTURE");
    let script = env("NFD_SCRIPT");
    let script_file = env("NFD_SCRIPT_FILE");
    let ipt = format!("{}-legacy", cmd(family));
    let mut sock = RawSocket::open(family).expect("raw socket");
    let fixture_state = save(family, &table, false);

    // What is left once our rules are deleted again: the fixture with only
    // the script's -D applied.
    for l in script.lines().filter(|l| l.starts_with("-D ")) {
        sh(&format!("{ipt} -t {table} {l}"));
    }
    let expected_final = save(family, &table, false);
    // The oracle: the change made by iptables-legacy-restore --noflush.
    sh(&format!("{ipt}-restore < '{fixture}'"));
    sh(&format!("{ipt}-restore --noflush < '{script_file}'"));
    let expected = save(family, &table, false);
    let expected_blob = raw_blob(&mut sock, &table);
    let target = read_table(&mut sock, family, &table).expect("read target");
    // Back to the fixture; plan the same change as a model edit.
    sh(&format!("{ipt}-restore < '{fixture}'"));
    assert_eq!(save(family, &table, false), fixture_state);
    let before = read_table(&mut sock, family, &table).expect("read");
    let after = adopt_handles(&before, &target);

    let t = Instant::now();
    let report =
        write_table(&mut sock, family, &before, &after, &default_options()).expect("write");
    println!(
        "{MARK} wrote {table}: {} -> {} entries, {} -> {} bytes, kept {} added {} removed {} in {:?}",
        report.entries_before,
        report.entries_after,
        report.bytes_before,
        report.bytes_after,
        report.rules_kept,
        report.rules_added,
        report.rules_removed,
        t.elapsed()
    );
    assert!(report.replaced);
    assert!(report.rules_added > 0 && report.rules_removed > 0 && report.rules_kept > 0);
    let ours = save(family, &table, false);
    assert!(
        ours == expected,
        "our write differs from iptables-legacy-restore's:\n{}",
        sandbox::diff(&expected, &ours)
    );
    // The kernel holds exactly the bytes it held after iptables' own
    // restore (comefrom included: same layout, same hooks).
    let ours_blob = raw_blob(&mut sock, &table);
    assert!(ours_blob == expected_blob, "kernel blobs differ");
    println!(
        "{MARK} save output and kernel blob ({} bytes) identical to iptables-legacy-restore's",
        ours_blob.len()
    );

    // iptables-legacy finds each rule we wrote (-C), deletes it (-D), and
    // then no longer finds it.
    let lines = rule_lines(&script);
    for (chain, spec) in &lines {
        let check = format!("{ipt} -t {table} -C {chain} {spec}");
        let (ok, msg) = sh_status(&check);
        assert!(ok, "`{check}` did not find our rule: {msg}");
        sh(&format!("{ipt} -t {table} -D {chain} {spec}"));
        let (ok, _) = sh_status(&check);
        assert!(!ok, "`{check}` still finds the rule after -D");
    }
    for l in script.lines() {
        if let Some(decl) = l.strip_prefix(':') {
            let chain = decl.split_whitespace().next().unwrap();
            sh(&format!("{ipt} -t {table} -X {chain}"));
        }
    }
    let fin = save(family, &table, false);
    assert!(
        fin == expected_final,
        "after deleting our rules with iptables -D:\n{}",
        sandbox::diff(&expected_final, &fin)
    );
    println!(
        "{MARK} {} rules found and deleted with {ipt} -C/-D, chains removed with -X",
        lines.len()
    );
}

struct WriteCase {
    fixture: &'static str,
    family: Family,
    table: &'static str,
    script: &'static str,
}

const WRITE_CASES: &[WriteCase] = &[
    WriteCase {
        fixture: "docker-28-default.rules",
        family: Family::Ipv4,
        table: "filter",
        script: r#"*filter
:NFD-TEST - [0:0]
-D DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p udp -m udp --dport 53 -j ACCEPT
-I FORWARD 1 -j NFD-TEST
-A NFD-TEST -s 10.1.0.0/16 -p tcp -m tcp --dport 22 -j ACCEPT
-A NFD-TEST -m conntrack --ctstate INVALID -j DROP
-A NFD-TEST -i eth+ -m comment --comment "nfdoctor test" -j RETURN
-A NFD-TEST -p udp -m udp --sport 1000:2000 -j REJECT --reject-with icmp-port-unreachable
-A NFD-TEST -d 192.0.2.0/24 -g DOCKER-ISOLATION-STAGE-2
-A NFD-TEST -o docker0 -m state --state NEW
-A NFD-TEST ! -s 198.51.100.7/32 -p tcp -m tcp ! --dport 443 -j DOCKER
COMMIT
"#,
    },
    WriteCase {
        fixture: "docker-28-default.rules",
        family: Family::Ipv4,
        table: "nat",
        script: r#"*nat
:NFD-DNAT - [0:0]
:NFD-SNAT - [0:0]
-D DOCKER ! -i docker0 -p udp -m udp --dport 5353 -j DNAT --to-destination 172.17.0.2:53
-A PREROUTING -m addrtype --dst-type LOCAL -j NFD-DNAT
-A POSTROUTING -j NFD-SNAT
-A NFD-DNAT ! -i docker0 -p tcp -m tcp --dport 9090 -j DNAT --to-destination 172.17.0.3:90
-A NFD-DNAT -i docker0 -j RETURN
-A NFD-SNAT -s 172.18.0.0/16 ! -o br-test -j MASQUERADE
COMMIT
"#,
    },
    WriteCase {
        fixture: "docker-28-default.rules6",
        family: Family::Ipv6,
        table: "filter",
        script: r#"*filter
:NFD-TEST - [0:0]
-D DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -j NFD-TEST
-A NFD-TEST -s fd00:1::/64 -p tcp -m tcp --dport 22 -j ACCEPT
-A NFD-TEST -i br+ -p udp -m udp --dport 53 -j REJECT --reject-with icmp6-port-unreachable
-A NFD-TEST -d fd00::2/128 -m conntrack --ctstate RELATED,ESTABLISHED -g DOCKER
-A NFD-TEST ! -p udp -j DOCKER-USER
COMMIT
"#,
    },
];

#[test]
fn written_tables_match_iptables_and_iptables_finds_our_rules() {
    if !legacy_available() {
        return;
    }
    for case in WRITE_CASES {
        let fixture = sandbox::fixtures_dir().join(case.fixture);
        let ipt = format!("{}-legacy", cmd(case.family));
        let scratch = sandbox::Scratch::new("legacy-write");
        let script_file = scratch.file("script", case.script);
        let v = if case.family == Family::Ipv6 {
            "6"
        } else {
            "4"
        };
        let lines = in_netns_ok(
            "write",
            &format!("{ipt}-restore < '{}'", fixture.display()),
            &[
                ("NFD_FAMILY", v.into()),
                ("NFD_TABLE", case.table.into()),
                ("NFD_FIXTURE", fixture.display().to_string()),
                ("NFD_SCRIPT", case.script.into()),
                ("NFD_SCRIPT_FILE", script_file.display().to_string()),
            ],
        );
        eprintln!("{} {}: {}", case.fixture, case.table, lines.join("; "));
    }
}

// ------------------------------------------------------------- counters

/// Loads a fixture, adds a counting rule, and sends traffic through it.
fn traffic_setup(fixture: &Path) -> String {
    format!(
        r#"iptables-legacy-restore < '{}'
iptables-legacy -A OUTPUT -d 10.9.9.9/32
sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
ip link add d0 type veth peer name d1; ip link set lo up
ip link set d1 up; ip link set d0 up
ip addr add 10.9.9.9/24 dev d0
busybox nc -w 1 10.9.9.9 8080 </dev/null >/dev/null 2>&1 || true
busybox ping -c 2 -W 1 10.9.9.9 >/dev/null 2>&1 || true
"#,
        fixture.display()
    )
}

fn child_counters() {
    let family = Family::Ipv4;
    let a = save(family, "filter", true);
    let mut sock = RawSocket::open(family).expect("raw socket");
    let before = read_table(&mut sock, family, "filter").expect("read");
    let script = "*filter\n:NFD-NEW - [0:0]\n[5:500] -A NFD-NEW -s 203.0.113.0/24 -j RETURN\n\
                  -I INPUT 1 -s 203.0.113.9/32 -j DROP\n-D FORWARD -j DOCKER-USER\nCOMMIT\n";
    let after = plan(family, &before, script, true);
    let report =
        write_table(&mut sock, family, &before, &after, &default_options()).expect("write");
    let b = save(family, "filter", true);
    println!(
        "{MARK} kept {} added {} removed {}",
        report.rules_kept, report.rules_added, report.rules_removed
    );
    let moved: Vec<&str> = a
        .lines()
        .filter(|l| (l.starts_with('[') || l.starts_with(':')) && !l.ends_with("[0:0]"))
        .filter(|l| !l.starts_with("[0:0]"))
        .collect();
    println!("{MARK} moved counters before the write: {moved:?}");
    assert!(
        moved.iter().any(|l| l.starts_with('[')) && moved.iter().any(|l| l.starts_with(':')),
        "traffic moved no rule or no policy counter; the test proves nothing:\n{a}"
    );
    // A with the deleted rule gone and the new chain and rules where
    // iptables-save prints them: INPUT's rule first, the chain after
    // DOCKER-USER, its rule after the last DOCKER-* rule.
    let mut expected: Vec<String> = a
        .lines()
        .filter(|l| *l != "[0:0] -A FORWARD -j DOCKER-USER")
        .map(str::to_string)
        .collect();
    let at = expected
        .iter()
        .position(|l| l.starts_with(":DOCKER-USER"))
        .unwrap();
    expected.insert(at + 1, ":NFD-NEW - [0:0]".into());
    let at = expected.iter().position(|l| l.contains(" -A ")).unwrap();
    expected.insert(at, "[0:0] -A INPUT -s 203.0.113.9/32 -j DROP".into());
    let at = expected
        .iter()
        .rposition(|l| l.contains("-A DOCKER-ISOLATION-STAGE-2"))
        .unwrap();
    expected.insert(
        at + 1,
        "[5:500] -A NFD-NEW -s 203.0.113.0/24 -j RETURN".into(),
    );
    let expected: String = expected.iter().map(|l| format!("{l}\n")).collect();
    assert!(
        b == expected,
        "counters did not survive the write:\n{}",
        sandbox::diff(&expected, &b)
    );
    println!(
        "{MARK} filter: {} moved counter lines identical",
        moved.len()
    );

    // nat: the DNAT rule that the connection hit sits after the deleted
    // rule, so its entry index changes.
    let a = save(family, "nat", true);
    let before = read_table(&mut sock, family, "nat").expect("read nat");
    let script = "*nat\n:NFD-NAT - [0:0]\n[9:900] -A NFD-NAT -j RETURN\n\
                  -D DOCKER -i docker0 -j RETURN\nCOMMIT\n";
    let after = plan(family, &before, script, true);
    let report =
        write_table(&mut sock, family, &before, &after, &default_options()).expect("write nat");
    assert_eq!(report.rules_removed, 1);
    let b = save(family, "nat", true);
    let moved: Vec<&str> = a
        .lines()
        .filter(|l| l.starts_with('[') && !l.starts_with("[0:0]"))
        .collect();
    println!("{MARK} nat rule counters before the write: {moved:?}");
    assert!(
        moved.iter().any(|l| l.contains("DNAT")),
        "no DNAT rule counted:\n{a}"
    );
    let mut expected: Vec<String> = a
        .lines()
        .filter(|l| !l.ends_with("-A DOCKER -i docker0 -j RETURN"))
        .map(str::to_string)
        .collect();
    let at = expected.iter().rposition(|l| l.starts_with(':')).unwrap();
    expected.insert(at + 1, ":NFD-NAT - [0:0]".into());
    let at = expected.iter().rposition(|l| l.starts_with('[')).unwrap();
    expected.insert(at + 1, "[9:900] -A NFD-NAT -j RETURN".into());
    let expected: String = expected.iter().map(|l| format!("{l}\n")).collect();
    assert!(
        b == expected,
        "nat counters did not survive the write:\n{}",
        sandbox::diff(&expected, &b)
    );
    println!("{MARK} nat: {} moved rule counters identical", moved.len());
}

#[test]
fn counters_of_untouched_rules_survive_a_write() {
    if !legacy_available() {
        return;
    }
    let fixture = sandbox::fixtures_dir().join("docker-28-default.rules");
    let lines = in_netns_ok("counters", &traffic_setup(&fixture), &[]);
    eprintln!("{}", lines.join("\n"));
}

// ----------------------------------------------------------------- lock

/// Starts `flock PATH sleep SECS` and returns once it holds the lock.
fn hold_lock(path: &Path, secs: f64) -> std::process::Child {
    use std::io::BufRead;
    let mut child = Command::new("flock")
        .arg(path)
        .args(["-c", &format!("echo locked; exec sleep {secs}")])
        .stdout(Stdio::piped())
        .spawn()
        .expect("flock");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    child
}

fn child_lock() {
    let path = XtLock::default_path();
    assert_eq!(path, PathBuf::from(env("XTABLES_LOCKFILE")));
    let family = Family::Ipv4;
    let mut sock = RawSocket::open(family).expect("raw socket");
    let before = read_table(&mut sock, family, "filter").expect("read");
    let after = plan(
        family,
        &before,
        "*filter\n-A INPUT -s 192.0.2.1/32 -j DROP\nCOMMIT\n",
        false,
    );

    // Held by another process: fail at once, naming the path and holder.
    let mut holder = hold_lock(&path, 1.5);
    let t = Instant::now();
    let e = XtLock::acquire(LockWait::NoWait).unwrap_err();
    let fail_fast = t.elapsed();
    let msg = e.to_string();
    assert!(e.is_busy(), "{msg}");
    assert!(
        msg.starts_with("Another app is currently holding the xtables lock"),
        "{msg}"
    );
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(
        msg.contains(&format!("held by pid {}", holder.id())),
        "{msg}"
    );
    assert!(fail_fast < Duration::from_millis(100), "{fail_fast:?}");
    println!("{MARK} no wait: failed after {fail_fast:?}: {msg}");

    // A write that may not wait writes nothing.
    let opts = WriteOptions::take_lock(LockWait::NoWait);
    let e = write_table(&mut sock, family, &before, &after, &opts).unwrap_err();
    assert!(matches!(&e, BackendError::Lock(l) if l.is_busy()), "{e}");
    assert_eq!(read_table(&mut sock, family, "filter").unwrap(), before);

    // A bounded wait gives up after its time.
    let t = Instant::now();
    let e = XtLock::acquire(LockWait::Up(Duration::from_millis(300))).unwrap_err();
    let gave_up = t.elapsed();
    assert!(e.is_busy(), "{e}");
    assert!(
        gave_up >= Duration::from_millis(300) && gave_up < Duration::from_millis(800),
        "{gave_up:?}"
    );
    println!("{MARK} wait 300ms: gave up after {gave_up:?}: {e}");

    // A longer wait gets the lock once the holder exits, and the write goes through.
    let t = Instant::now();
    let opts = WriteOptions::take_lock(LockWait::Up(Duration::from_secs(10)));
    let r = write_table(&mut sock, family, &before, &after, &opts).expect("write after waiting");
    assert!(r.replaced);
    assert!(
        r.lock_waited >= Duration::from_millis(500),
        "{:?}",
        r.lock_waited
    );
    println!(
        "{MARK} wait 10s: got the lock after {:?}, then wrote in {:?}",
        r.lock_waited,
        t.elapsed()
    );
    holder.wait().unwrap();

    // Forever: blocks until the holder is gone.
    let mut holder = hold_lock(&path, 0.7);
    let t = Instant::now();
    let lock = XtLock::acquire(LockWait::Forever).expect("forever");
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    holder.wait().unwrap();
    println!("{MARK} wait forever: got the lock after {waited:?}");

    // While we hold it, iptables-legacy waits for us (and gives up).
    let (ok, out) = sh_status("iptables-legacy -w 1 -A INPUT -s 192.0.2.2/32 -j DROP");
    assert!(!ok, "iptables-legacy ignored our lock: {out}");
    assert!(
        out.contains("Another app is currently holding the xtables lock"),
        "{out}"
    );
    println!(
        "{MARK} iptables-legacy -w 1 while we hold the lock: {}",
        out.trim()
    );
    drop(lock);
    sh("iptables-legacy -w 1 -A INPUT -s 192.0.2.2/32 -j DROP");
    println!("{MARK} iptables-legacy -w 1 after we released it: ok");

    // One lock held across the tables of one restore.
    let lock = XtLock::acquire(LockWait::NoWait).expect("lock");
    for (table, script) in [
        (
            "filter",
            "*filter\n-A OUTPUT -d 192.0.2.3/32 -j DROP\nCOMMIT\n",
        ),
        (
            "nat",
            "*nat\n-A POSTROUTING -s 10.0.0.0/8 -j RETURN\nCOMMIT\n",
        ),
    ] {
        let before = read_table(&mut sock, family, table).expect("read");
        let after = plan(family, &before, script, false);
        let r = write_table(
            &mut sock,
            family,
            &before,
            &after,
            &WriteOptions::with_lock(&lock),
        )
        .expect("write under a held lock");
        assert!(r.replaced && r.lock_waited.is_zero());
    }
    let (ok, _) = sh_status("iptables-legacy -w 1 -t nat -A POSTROUTING -j RETURN");
    assert!(!ok, "iptables-legacy got in while we held the lock");
    drop(lock);
    let now = sh("iptables-legacy-save");
    assert!(now.contains("-A OUTPUT -d 192.0.2.3/32 -j DROP"), "{now}");
    assert!(
        now.contains("-A POSTROUTING -s 10.0.0.0/8 -j RETURN"),
        "{now}"
    );
    println!("{MARK} two tables written under one held lock");
}

#[test]
fn the_lock_waits_fails_and_interoperates_with_iptables() {
    if !legacy_available() {
        return;
    }
    let lines = in_netns_ok("lock", "", &[]);
    eprintln!("{}", lines.join("\n"));
}

fn child_lock_eacces() {
    let path = XtLock::default_path();
    let e = XtLock::acquire(LockWait::NoWait).unwrap_err();
    let msg = e.to_string();
    println!("{MARK} {msg}");
    assert!(
        msg.starts_with(&format!(
            "can't open the xtables lock file {}: Permission denied",
            path.display()
        )),
        "{msg}"
    );
    assert!(msg.contains("runs in a user namespace"), "{msg}");
    assert!(msg.contains("XTABLES_LOCKFILE"), "{msg}");
    // The writer reports the same and writes nothing.
    let mut sock = RawSocket::open(Family::Ipv4).expect("raw socket");
    let before = read_table(&mut sock, Family::Ipv4, "filter").expect("read");
    let after = plan(
        Family::Ipv4,
        &before,
        "*filter\n-A INPUT -j DROP\nCOMMIT\n",
        false,
    );
    let e = write_table(&mut sock, Family::Ipv4, &before, &after, &default_options()).unwrap_err();
    assert!(matches!(e, BackendError::Lock(_)), "{e}");
    assert_eq!(
        read_table(&mut sock, Family::Ipv4, "filter").unwrap(),
        before
    );
    // iptables-legacy fails the same way.
    let (ok, out) = sh_status("iptables-legacy -w -A INPUT -j DROP");
    assert!(!ok && out.contains("can't open lock file"), "{out}");
    println!("{MARK} iptables-legacy: {}", out.trim());
}

/// In a user namespace, a lock file owned by a user the namespace does not
/// map can't be opened even as (namespaced) root: the situation of
/// `/run/xtables.lock` under rootless tools.
#[test]
fn a_lock_file_we_may_not_open_is_explained() {
    if !legacy_available() {
        return;
    }
    let scratch = sandbox::Scratch::new("legacy-lock-eacces");
    let lock = scratch.file("xtables.lock", "");
    let c = std::ffi::CString::new(lock.display().to_string()).unwrap();
    // SAFETY: `c` is a valid C string for the duration of the call.
    if unsafe { libc::chown(c.as_ptr(), 54321, 54321) } != 0 {
        eprintln!("SKIP: can't chown the test lock file (not root)");
        return;
    }
    std::fs::set_permissions(&lock, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let lines = in_netns_ok(
        "lock_eacces",
        "",
        &[("XTABLES_LOCKFILE", lock.display().to_string())],
    );
    eprintln!("{}", lines.join("\n"));
}

// ------------------------------------------------------------- conflicts

/// The kernel, with another writer that ignores our lock changing the
/// table right before our replace.
struct Rogue<'a> {
    inner: &'a mut RawSocket,
    before_replace: Option<String>,
}

impl XtKernel for Rogue<'_> {
    fn get_info(&mut self, t: &str) -> std::io::Result<nfdoctor_sys::ip_tables::ipt_getinfo> {
        self.inner.get_info(t)
    }
    fn get_entries(&mut self, t: &str, size: u32) -> std::io::Result<Vec<u8>> {
        self.inner.get_entries(t, size)
    }
    fn replace(
        &mut self,
        h: &nfdoctor_sys::ip_tables::ipt_replace,
        blob: &[u8],
    ) -> std::io::Result<Vec<nfdoctor_sys::x_tables::xt_counters>> {
        if let Some(cmd) = self.before_replace.take() {
            sh(&cmd);
        }
        self.inner.replace(h, blob)
    }
    fn add_counters(
        &mut self,
        t: &str,
        c: &[nfdoctor_sys::x_tables::xt_counters],
    ) -> std::io::Result<()> {
        self.inner.add_counters(t, c)
    }
    fn has_revision(&mut self, n: &str, r: u8, t: bool) -> std::io::Result<bool> {
        self.inner.has_revision(n, r, t)
    }
    fn set_name(&mut self, i: u16) -> std::io::Result<Option<String>> {
        self.inner.set_name(i)
    }
    fn set_index(&mut self, n: &str) -> std::io::Result<Option<u16>> {
        self.inner.set_index(n)
    }
}

fn child_conflict() {
    let family = Family::Ipv4;
    let mut sock = RawSocket::open(family).expect("raw socket");
    let ours = "*filter\n:NFD-OURS - [0:0]\n-A NFD-OURS -j RETURN\n-A INPUT -j NFD-OURS\nCOMMIT\n";

    // 1. Changed between our read and our write (by a writer that took the
    // lock properly): Conflict, nothing clobbered.
    let before = read_table(&mut sock, family, "filter").expect("read");
    let after = plan(family, &before, ours, false);
    sh("iptables-legacy -w -A FORWARD -s 192.0.2.1/32 -j DROP");
    let theirs = save(family, "filter", false);
    let e = write_table(&mut sock, family, &before, &after, &default_options()).unwrap_err();
    assert!(e.is_conflict(), "{e}");
    println!("{MARK} changed before the write: {e}");
    assert_eq!(save(family, "filter", false), theirs);

    // 2. Changed inside our read-modify-write by a writer that ignores the
    // lock: the kernel's EAGAIN becomes a Conflict, nothing clobbered.
    let before = read_table(&mut sock, family, "filter").expect("read");
    let after = plan(family, &before, ours, false);
    let rogue_cmd = "XTABLES_LOCKFILE=/tmp/nfdoctor-rogue.lock iptables-legacy -A FORWARD -s 192.0.2.2/32 -j DROP";
    let mut rogue = Rogue {
        inner: &mut sock,
        before_replace: Some(rogue_cmd.into()),
    };
    let e = write_table(&mut rogue, family, &before, &after, &default_options()).unwrap_err();
    assert!(e.is_conflict(), "{e}");
    assert!(e.to_string().contains("EAGAIN"), "{e}");
    println!("{MARK} changed during the write: {e}");
    let now = save(family, "filter", false);
    assert!(now.contains("-A FORWARD -s 192.0.2.2/32 -j DROP"), "{now}");
    assert!(!now.contains("NFD-OURS"), "{now}");

    // 3. update_table re-reads, re-plans and retries.
    let mut rogue = Rogue {
        inner: &mut sock,
        before_replace: Some(rogue_cmd.replace("192.0.2.2", "192.0.2.3")),
    };
    let mut plans = 0;
    let r = nfdoctor::backend::legacy::update_table(
        &mut rogue,
        family,
        "filter",
        &default_options(),
        3,
        |t: &Table| -> Result<Table, BackendError> {
            plans += 1;
            Ok(plan(family, t, ours, false))
        },
    )
    .expect("update_table");
    assert!(r.replaced);
    assert_eq!(plans, 2);
    let now = save(family, "filter", false);
    for rule in [
        "-s 192.0.2.1/32",
        "-s 192.0.2.2/32",
        "-s 192.0.2.3/32",
        "-A INPUT -j NFD-OURS",
    ] {
        assert!(now.contains(rule), "{rule} missing:\n{now}");
    }
    println!("{MARK} update_table: planned {plans} times, everyone's rules kept");
    let _ = std::fs::remove_file("/tmp/nfdoctor-rogue.lock");
}

#[test]
fn a_table_changed_by_someone_else_is_never_clobbered() {
    if !legacy_available() {
        return;
    }
    let fixture = sandbox::fixtures_dir().join("docker-28-default.rules");
    let lines = in_netns_ok(
        "conflict",
        &format!("iptables-legacy-restore < '{}'", fixture.display()),
        &[],
    );
    eprintln!("{}", lines.join("\n"));
}

// --------------------------------------------------------- refused tables

fn child_refused() {
    let family = Family::Ipv4;
    let mut sock = RawSocket::open(family).expect("raw socket");
    let before = read_table(&mut sock, family, "filter").expect("read");
    let saved = save(family, "filter", false);
    let with = |script: &str, edit: &dyn Fn(&mut Table)| {
        let mut t = plan(family, &before, script, false);
        edit(&mut t);
        t
    };
    let cases: Vec<(&str, Table, &str)> = vec![
        (
            "tcp match without -p tcp",
            with(
                "*filter\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n",
                &|t| t.chain_mut("INPUT").unwrap().rules.last_mut().unwrap().spec.proto = 0,
            ),
            "Invalid argument",
        ),
        (
            "unknown match",
            with("*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", &|t| {
                let r = t.chain_mut("INPUT").unwrap().rules.last_mut().unwrap();
                r.matches
                    .push(nfdoctor::xt::Extension::new("nfdoctornope", 0, vec![0; 8]));
            }),
            "No such file or directory",
        ),
        (
            "unsupported revision",
            with("*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", &|t| {
                // conntrack --ctstate NEW, but as revision 0.
                let mut data = vec![0u8; 168];
                data[146] = 1;
                data[150] = 8;
                let r = t.chain_mut("INPUT").unwrap().rules.last_mut().unwrap();
                r.matches
                    .push(nfdoctor::xt::Extension::new("conntrack", 0, data));
            }),
            "revision is not supported",
        ),
        (
            "jump loop",
            with(
                "*filter\n:LA - [0:0]\n:LB - [0:0]\n-A LA -j LB\n-A LB -j LA\n-A INPUT -j LA\nCOMMIT\n",
                &|_| {},
            ),
            "form a loop",
        ),
        (
            "DNAT in filter",
            with(
                "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n",
                &|t| {
                    let mut data = vec![0u8; 48];
                    data[0] = 1;
                    t.chain_mut("INPUT").unwrap().rules.last_mut().unwrap().target =
                        nfdoctor::ruleset::Target::Ext(nfdoctor::xt::Extension::new("DNAT", 2, data));
                },
            ),
            "Invalid argument",
        ),
    ];
    for (what, after, expect) in cases {
        let e = write_table(&mut sock, family, &before, &after, &default_options()).unwrap_err();
        let msg = e.to_string();
        println!("{MARK} {what}: {msg}");
        assert!(matches!(e, BackendError::Refused { .. }), "{what}: {msg}");
        assert!(msg.contains(expect), "{what}: {msg}");
        assert!(msg.ends_with("the table is unchanged"), "{msg}");
        assert_eq!(
            save(family, "filter", false),
            saved,
            "{what}: the table changed"
        );
    }
}

#[test]
fn a_table_the_kernel_refuses_is_explained_and_nothing_changes() {
    if !legacy_available() {
        return;
    }
    let fixture = sandbox::fixtures_dir().join("docker-28-default.rules");
    let lines = in_netns_ok(
        "refused",
        &format!("iptables-legacy-restore < '{}'", fixture.display()),
        &[],
    );
    eprintln!("{}", lines.join("\n"));
}
