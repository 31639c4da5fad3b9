//! `nfdoctor save` on rulesets bigger than the output it holds back (so
//! it streams), against `iptables-save`, on both back ends; a reader that
//! goes away (`| head`); tables iptables cannot show, before and after the
//! output started. Each case runs in a fresh `unshare -rn` namespace.

#![allow(clippy::unwrap_used)]

mod support;
use support::sandbox as netns;

/// Ports in the big ruleset: three rules each, about 2 MB of text (the nat
/// table alone 1.4 MB), past the 1 MiB nfdoctor holds back.
const PORTS: usize = 8000;

/// A shell snippet that loads a Docker-like ruleset of `ports` published
/// ports with `iptables-BACKEND-restore` (nft: in batches that fit a user
/// namespace's socket buffer).
fn load(backend: &str, ports: usize) -> String {
    let batch = if backend == "nft" { 200 } else { ports };
    format!(
        r#"printf '*filter\n:DOCKER - [0:0]\n-A FORWARD -o docker0 -j DOCKER\nCOMMIT\n*nat\n:DOCKER - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\nCOMMIT\n' | iptables-{backend}-restore
i=0
while [ $i -lt {ports} ]; do
  end=$((i + {batch})); [ $end -gt {ports} ] && end={ports}
  awk -v s=$i -v e=$end 'BEGIN {{
    print "*filter"
    for (n = s; n < e; n++) printf "-A DOCKER -d 172.17.%d.%d/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n", (n+2)/256, (n+2)%256
    print "COMMIT"; print "*nat"
    for (n = s; n < e; n++) printf "-A POSTROUTING -s 172.17.%d.%d/32 -d 172.17.%d.%d/32 -p tcp -m tcp --dport 80 -j MASQUERADE\n", (n+2)/256, (n+2)%256, (n+2)/256, (n+2)%256
    for (n = s; n < e; n++) printf "-A DOCKER ! -i docker0 -p tcp -m tcp --dport %d -j DNAT --to-destination 172.17.%d.%d:80\n", 10000+n, (n+2)/256, (n+2)%256
    print "COMMIT" }}' | iptables-{backend}-restore --noflush
  i=$end
done
"#
    )
}

fn compare_big(backend: &str, args: &str) {
    let script = format!(
        "{load}echo '=== iptables'; iptables-{backend}-save {args}\n\
         echo '=== nfdoctor'; \"$NFDOCTOR\" save --backend {backend} {args}\n",
        load = load(backend, PORTS)
    );
    let out = netns::run_ok(&script);
    let (ipt, ours) = out.split_once("=== nfdoctor\n").unwrap();
    let ipt = netns::without_comments(ipt.trim_start_matches("=== iptables\n"));
    assert!(ipt.len() > 1 << 20, "the ruleset is too small to stream");
    assert!(ipt == ours, "{backend}:\n{}", netns::diff(&ipt, ours));
}

#[test]
fn a_streamed_nft_ruleset_prints_like_iptables_save() {
    if netns::available() {
        compare_big("nft", "");
        compare_big("nft", "-t nat");
    }
}

#[test]
fn a_streamed_legacy_ruleset_prints_like_iptables_save() {
    if netns::available() {
        compare_big("legacy", "");
        compare_big("legacy", "-t nat");
    }
}

/// `nfdoctor save | head -n LINES`: nfdoctor's exit status and stderr.
fn closed_pipe(backend: &str, ports: usize, lines: usize) -> (String, String) {
    let script = format!(
        "{load}(\"$NFDOCTOR\" save --backend {backend} 2>/tmp/nfd-err.$$; echo $? > /tmp/nfd-rc.$$) \
         | head -n {lines} > /dev/null\n\
         cat /tmp/nfd-rc.$$; echo '==='; cat /tmp/nfd-err.$$; rm -f /tmp/nfd-rc.$$ /tmp/nfd-err.$$\n",
        load = load(backend, ports)
    );
    let out = netns::run_ok(&script);
    let (rc, err) = out.split_once("===\n").unwrap();
    (rc.trim().to_string(), err.to_string())
}

#[test]
fn a_reader_that_goes_away_ends_save_quietly() {
    if !netns::available() {
        return;
    }
    for backend in ["nft", "legacy"] {
        for (ports, lines) in [(PORTS, 1), (PORTS, 20_000), (20, 1)] {
            let (rc, err) = closed_pipe(backend, ports, lines);
            assert_eq!(
                (rc.as_str(), err.as_str()),
                ("0", ""),
                "{backend}, {ports} ports, head -n {lines}"
            );
        }
    }
}

/// A native nft rule iptables cannot parse, in filter FORWARD (which comes
/// before the Docker chains).
const FOREIGN_RULE: &str = "nft add rule ip filter FORWARD ct state established accept\n";

#[test]
fn an_incompatible_table_is_a_comment_while_output_is_held() {
    if !netns::available() {
        return;
    }
    let script = format!(
        "{load}{FOREIGN_RULE}echo '=== iptables'; iptables-nft-save\n\
         echo '=== nfdoctor'; \"$NFDOCTOR\" save --backend nft\n",
        load = load("nft", 20)
    );
    let out = netns::run_ok(&script);
    let (ipt, ours) = out.split_once("=== nfdoctor\n").unwrap();
    let ipt = netns::without_comments(ipt.trim_start_matches("=== iptables\n"));
    let comment = "# Table `filter' is incompatible, use 'nft' tool.\n";
    assert!(ours.starts_with(comment), "{ours}");
    // iptables-save's own comment lines are dropped above; ours is kept.
    assert_eq!(ipt, ours.replacen(comment, "", 1));
}

#[test]
fn an_incompatible_table_found_after_streaming_started_is_an_error() {
    if !netns::available() {
        return;
    }
    // The foreign rule sits at the end of a chain printed after more than
    // the held megabyte: the filter table, printed first, is already out.
    let script = format!(
        "{load}nft add rule ip filter DOCKER ct state established accept\n\
         \"$NFDOCTOR\" save --backend nft > /dev/null 2> /tmp/nfd-err.$$ && echo rc=0 || echo rc=$?\n\
         cat /tmp/nfd-err.$$; rm -f /tmp/nfd-err.$$\n",
        load = load("nft", 2 * PORTS)
    );
    let out = netns::run_ok(&script);
    assert!(out.starts_with("rc=1\n"), "{out}");
    assert!(out.contains("cannot be shown by iptables"), "{out}");
}
