//! `nfdoctor restore` under real conditions, on both back ends, each in a
//! fresh namespace: packets flow through the rules it writes; a bad line is
//! refused by number and leaves the kernel's rules byte for byte as they
//! were; `--test` changes nothing; and while an `iptables -A` loop runs in
//! the same namespace, repeated `restore --noflush` runs lose none of
//! either side's rules.

#![allow(clippy::unwrap_used)]

mod support;
use std::path::Path;
use support::sandbox;

const BACKENDS: [&str; 2] = ["nft", "legacy"];

#[test]
fn packets_flow_through_restored_rules() {
    if !sandbox::available() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scripts/packets-through-restored-rules.sh");
    for backend in BACKENDS {
        let out = sandbox::run(&format!("BACKEND={backend} sh '{}'", script.display()));
        assert!(
            out.status.success(),
            "{backend}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

const BASE: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER - [0:0]\n\
-A FORWARD -o docker0 -j DOCKER\n-A DOCKER -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n\
*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n";

#[test]
fn a_bad_line_is_named_and_nothing_changes() {
    if !sandbox::available() {
        return;
    }
    let scratch = sandbox::Scratch::new("badline");
    let base = scratch.file("base.rules", BASE);
    // Line 7 is wrong; the nat block before it would be valid.
    let bad = scratch.file(
        "bad.rules",
        "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j RETURN\nCOMMIT\n*filter\n-A INPUT -j ACCEPT\n\
         -A INPUT -p tcp --dport 80:20 -j ACCEPT\nCOMMIT\n",
    );
    for backend in BACKENDS {
        for noflush in ["", "--noflush"] {
            let out = sandbox::run(&format!(
                "iptables-{backend}-restore '{base}'\n\
                 iptables-{backend}-save -c | grep -v '^#' > '{dir}/before'\n\
                 if \"$NFDOCTOR\" restore --backend {backend} {noflush} '{bad}' 2> '{dir}/err'; then echo restore-accepted; exit 1; fi\n\
                 iptables-{backend}-save -c | grep -v '^#' > '{dir}/after'\n\
                 cmp '{dir}/before' '{dir}/after'\n\
                 cat '{dir}/err'\n",
                base = base.display(),
                bad = bad.display(),
                dir = scratch.dir.display()
            ));
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{backend} {noflush}: rules changed or input accepted:\n{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                stdout.contains("line 7") && stdout.contains("80:20"),
                "{backend}: error does not name line 7 and its token: {stdout}"
            );
        }
    }
}

#[test]
fn test_mode_changes_nothing() {
    if !sandbox::available() {
        return;
    }
    let scratch = sandbox::Scratch::new("testmode");
    let base = scratch.file("base.rules", BASE);
    let change = scratch.file(
        "change.rules",
        "*filter\n-A INPUT -s 10.0.0.0/8 -j DROP\nCOMMIT\n*raw\n-A PREROUTING -j ACCEPT\nCOMMIT\n",
    );
    for backend in BACKENDS {
        for noflush in ["", "--noflush"] {
            let out = sandbox::run(&format!(
                "iptables-{backend}-restore '{base}'\n\
                 iptables-{backend}-save -c | grep -v '^#' > '{dir}/before'\n\
                 \"$NFDOCTOR\" restore --backend {backend} --test {noflush} '{change}'\n\
                 iptables-{backend}-save -c | grep -v '^#' > '{dir}/after'\n\
                 cmp '{dir}/before' '{dir}/after'\n",
                base = base.display(),
                change = change.display(),
                dir = scratch.dir.display()
            ));
            assert!(
                out.status.success(),
                "{backend} {noflush}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn concurrent_writers_lose_nothing() {
    if !sandbox::available() {
        return;
    }
    let scratch = sandbox::Scratch::new("concurrent");
    for backend in BACKENDS {
        // The loop appends 150 INPUT rules with the real iptables (which
        // waits for the xtables lock on legacy); meanwhile 15 restores each
        // append one FORWARD rule with --noflush.
        let out = sandbox::run(&format!(
            "iptables-{backend} -L -n >/dev/null\n\
             ( for i in $(seq 1 150); do iptables-{backend} -w -A INPUT -s 10.1.0.$i -j ACCEPT; done ) &\n\
             loop=$!\n\
             for i in $(seq 1 15); do\n\
               printf '*filter\\n-A FORWARD -s 10.2.0.%s -j DROP\\nCOMMIT\\n' $i > '{dir}/r'\n\
               \"$NFDOCTOR\" restore --backend {backend} --noflush --wait 10 '{dir}/r'\n\
             done\n\
             wait $loop\n\
             echo input=$(iptables-{backend}-save | grep -c '^-A INPUT -s 10.1.0.')\n\
             echo forward=$(iptables-{backend}-save | grep -c '^-A FORWARD -s 10.2.0.')\n",
            dir = scratch.dir.display()
        ));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{backend}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("input=150") && stdout.contains("forward=15"),
            "{backend}: lost rules: {stdout}"
        );
    }
}

#[test]
fn a_batch_bigger_than_the_default_socket_buffer_loads() {
    if !sandbox::available() {
        return;
    }
    // 1000 Docker-like ports make a ~1.5 MB nf_tables batch: far more than
    // the 208 KiB default send buffer, within what a user namespace may ask.
    let scratch = sandbox::Scratch::new("bigbatch");
    let mut text = String::from(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER - [0:0]\n",
    );
    for i in 0..1000 {
        text.push_str(&format!(
            "-A DOCKER -d 172.17.{}.{}/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n",
            i / 256,
            i % 256
        ));
    }
    text.push_str("COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n");
    for i in 0..1000 {
        text.push_str(&format!(
            "-A DOCKER ! -i docker0 -p tcp -m tcp --dport {} -j DNAT --to-destination 172.17.{}.{}:80\n",
            10_000 + i,
            i / 256,
            i % 256
        ));
    }
    text.push_str("COMMIT\n");
    let rules = scratch.file("big.rules", &text);
    for backend in BACKENDS {
        let out = sandbox::run(&format!(
            "\"$NFDOCTOR\" restore --backend {backend} '{rules}'\n\
             echo rules=$(iptables-{backend}-save | grep -c '^-A DOCKER ')\n",
            rules = rules.display()
        ));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("rules=2000"),
            "{backend}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn noflush_appends_go_after_the_rules_already_there() {
    if !sandbox::available() {
        return;
    }
    // Only -A lines and a new chain: nf_tables takes the path that reads
    // chains but not rules; the new rules must still land at the end, in
    // order, after the rules of the existing chain. -I goes the other path.
    let scratch = sandbox::Scratch::new("appends");
    let appends = scratch.file(
        "appends.rules",
        "*filter\n:NEW - [0:0]\n-A FORWARD -s 10.0.0.3/32 -j ACCEPT\n-A FORWARD -s 10.0.0.4/32 -j NEW\n-A NEW -j RETURN\nCOMMIT\n",
    );
    let insert = scratch.file(
        "insert.rules",
        "*filter\n-I FORWARD 2 -s 10.0.0.9/32 -j DROP\nCOMMIT\n",
    );
    for backend in BACKENDS {
        let out = sandbox::run(&format!(
            "iptables-{backend} -A FORWARD -s 10.0.0.1/32 -j ACCEPT\n\
             iptables-{backend} -A FORWARD -s 10.0.0.2/32 -j ACCEPT\n\
             \"$NFDOCTOR\" restore --backend {backend} --noflush '{appends}'\n\
             \"$NFDOCTOR\" restore --backend {backend} --noflush '{insert}'\n\
             iptables-{backend} -S FORWARD; iptables-{backend} -S NEW\n",
            appends = appends.display(),
            insert = insert.display()
        ));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout,
            "-P FORWARD ACCEPT\n\
             -A FORWARD -s 10.0.0.1/32 -j ACCEPT\n\
             -A FORWARD -s 10.0.0.9/32 -j DROP\n\
             -A FORWARD -s 10.0.0.2/32 -j ACCEPT\n\
             -A FORWARD -s 10.0.0.3/32 -j ACCEPT\n\
             -A FORWARD -s 10.0.0.4/32 -j NEW\n\
             -N NEW\n\
             -A NEW -j RETURN\n",
            "{backend}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
