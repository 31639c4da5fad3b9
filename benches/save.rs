//! Benchmark: `nfdoctor save` against `iptables-save` (nft), `nft list
//! ruleset`, `iptables-legacy-save` and the bare kernel dumps (the floors),
//! on Docker-like rulesets of 1k, 10k and 50k published ports.
//!
//! ```text
//! cargo bench --bench save                      # everything (~4 min, most of it nft loading and `nft list ruleset`)
//! cargo bench --bench save -- --sizes 1000,10000 --backends nft --runs 5
//! cargo bench --bench save -- --nft-list-runs 0 # skip `nft list ruleset`
//! cargo bench --bench save -- --threads 2       # NFDOCTOR_THREADS for nfdoctor
//! ```
//!
//! Each back end gets a fresh user + network namespace (`unshare -rn`, the
//! bench re-runs itself inside); nothing touches the host's firewall. A size
//! is loaded once (nft: appended to the previous size with
//! `iptables-nft-restore --noflush` in batches that fit a user namespace's
//! socket buffer; legacy: one `iptables-legacy-restore`) and every tool then
//! runs against the same ruleset, round-robin, `--runs` times. Every port
//! has three rules: a DNAT in nat `DOCKER`, a MASQUERADE in nat
//! `POSTROUTING` and an ACCEPT in filter `DOCKER`.
//!
//! Wall time is from spawn to exit of each child, stdout to `/dev/null`;
//! CPU time and peak RSS come from `wait4`. The floors are this program
//! run as a child:
//! * `floor-nft`: GETCHAIN, then one GETRULE dump per chain, one after the
//!   other on one socket, nothing decoded (what iptables-nft-save asks of
//!   the kernel);
//! * `floor-nft --threads N`: the same dumps spread over N sockets in N
//!   threads, biggest chain first (what parallel dumping can reach);
//!   `--verbose` prints each chain's dump time;
//! * `floor-legacy`: GET_INFO and GET_ENTRIES of each table, nothing decoded.
//!
//! Before timing, the output of `nfdoctor save` is compared with the real
//! `*-save` (minus `#` lines); a difference is reported in the table.
//!
//! nfdoctor dumps on as many threads as CPUs are free when it starts (the
//! others' runnable tasks in `/proc/loadavg`), so its times depend on what
//! else the machine runs: each size's line shows `/proc/loadavg` before
//! its runs, and `--threads N` fixes the count.
//!
//! `capture DIR TAG [-6]` (run inside a namespace holding rules) writes the
//! namespace's rule dumps and table blobs as fuzzing seeds
//! (`fuzz/seeds/README.md`).

#![allow(clippy::unwrap_used)]

use nfdoctor::netlink::message::put_nfnl_message;
use nfdoctor::netlink::{Messages, NetlinkSocket, Transport};
use nfdoctor_sys::ip_tables::{ipt_get_entries, ipt_getinfo, IPT_SO_GET_ENTRIES, IPT_SO_GET_INFO};
use nfdoctor_sys::netlink::{NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP, NLM_F_REQUEST};
use nfdoctor_sys::nf_tables::{
    NFTA_CHAIN_NAME, NFTA_CHAIN_TABLE, NFTA_CHAIN_USE, NFTA_RULE_CHAIN, NFTA_RULE_TABLE,
    NFT_MSG_GETCHAIN, NFT_MSG_GETRULE,
};
use nfdoctor_sys::nfnetlink::NFNL_SUBSYS_NFTABLES;
use nfdoctor_sys::Pod;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{
    capture, filter_rules, measure_ok, nat_rules, run_child_mode, sh_ok, Sample, FILTER_HEAD,
    NAT_HEAD, NFDOCTOR,
};
const DEFAULT_SIZES: [usize; 3] = [1_000, 10_000, 50_000];
/// Ports per `iptables-nft-restore` batch: 3 rules each must fit the
/// default 208 KiB socket send buffer a user namespace cannot raise.
const NFT_LOAD_CHUNK: usize = 200;

#[derive(Debug, Clone)]
struct Options {
    sizes: Vec<usize>,
    backends: Vec<String>,
    /// Runs per tool; `None`: 7 up to 1k ports, 5 up to 10k, 3 above.
    runs: Option<usize>,
    /// Runs of `nft list ruleset` above 10k ports (it takes about a minute
    /// at 50k); `None`: 1.
    nft_list_runs: Option<usize>,
    /// NFDOCTOR_THREADS for the nfdoctor runs.
    threads: Option<usize>,
}

impl Options {
    fn parse(args: &[String]) -> Options {
        let mut o = Options {
            sizes: DEFAULT_SIZES.to_vec(),
            backends: vec!["nft".into(), "legacy".into()],
            runs: None,
            nft_list_runs: None,
            threads: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().cloned().unwrap_or_default();
            match a.as_str() {
                "--sizes" => {
                    o.sizes = value()
                        .split(',')
                        .filter_map(|s| s.trim().parse().ok())
                        .collect();
                    o.sizes.sort_unstable();
                }
                "--backends" => o.backends = value().split(',').map(str::to_string).collect(),
                "--runs" => o.runs = value().parse().ok(),
                "--nft-list-runs" => o.nft_list_runs = value().parse().ok(),
                "--threads" => o.threads = value().parse().ok(),
                // `cargo bench` passes `--bench`; filters are not supported.
                _ => {}
            }
        }
        o
    }

    fn to_args(&self) -> Vec<String> {
        let mut v = vec![
            "--sizes".to_string(),
            self.sizes
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ];
        if let Some(r) = self.runs {
            v.extend(["--runs".into(), r.to_string()]);
        }
        if let Some(r) = self.nft_list_runs {
            v.extend(["--nft-list-runs".into(), r.to_string()]);
        }
        if let Some(t) = self.threads {
            v.extend(["--threads".into(), t.to_string()]);
        }
        v
    }

    fn runs_for(&self, ports: usize) -> usize {
        self.runs.unwrap_or(match ports {
            0..=1_000 => 7,
            1_001..=10_000 => 5,
            _ => 3,
        })
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if run_child_mode(&args) {
        return;
    }
    match args.first().map(String::as_str) {
        Some("floor-nft") => {
            let threads = args
                .iter()
                .position(|a| a == "--threads")
                .and_then(|i| args.get(i + 1))
                .and_then(|t| t.parse().ok())
                .unwrap_or(1);
            floor_nft(threads, args.iter().any(|a| a == "--verbose"));
        }
        Some("floor-legacy") => floor_legacy(),
        Some("capture") => capture_seeds(&args[1..]),
        Some("inner") => {
            let backend = args.get(1).cloned().unwrap_or_default();
            inner(&backend, &Options::parse(&args[2..]));
        }
        _ => outer(&Options::parse(&args)),
    }
}

// ---------------------------------------------------------------------------
// Outside the namespace: checks, then one namespace per back end.

fn outer(opts: &Options) {
    if !sh_ok("unshare -rn true") {
        println!("SKIP: `unshare -rn` does not work here (user namespaces disabled?)");
        return;
    }
    for tool in [
        "iptables-nft-save",
        "iptables-nft-restore",
        "iptables-legacy-save",
        "iptables-legacy-restore",
        "nft",
    ] {
        if !sh_ok(&format!("command -v {tool}")) {
            println!("SKIP: {tool} is not installed");
            return;
        }
    }
    let version = |cmd: &str| {
        Command::new("sh")
            .args(["-c", cmd])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    println!("nfdoctor save benchmark");
    println!(
        "  kernel {}, {} CPUs, load average {}",
        version("uname -r"),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        version("cut -d' ' -f1-3 /proc/loadavg")
    );
    println!(
        "  {}; {}",
        version("iptables-nft-save --version"),
        version("nft --version")
    );
    println!("  nfdoctor: {NFDOCTOR}");
    println!("  times are medians of wall time (spawn to exit); cpu = user+sys median; RSS = max over runs");
    let exe = std::env::current_exe().expect("own path");
    for backend in &opts.backends {
        let _ = std::io::stdout().flush();
        let status = Command::new("unshare")
            .arg("-rn")
            .arg(&exe)
            .arg("inner")
            .arg(backend)
            .args(opts.to_args())
            .status()
            .expect("run unshare");
        if !status.success() {
            println!("{backend}: the benchmark failed ({status})");
            std::process::exit(1);
        }
    }
}

// ---------------------------------------------------------------------------
// Inside the namespace: load, check, measure, print.

fn restore(cmd: &str, args: &[&str], text: &str) {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write rules");
    let status = child.wait().expect("wait");
    assert!(status.success(), "{cmd} failed: {status}");
}

/// Brings the namespace's ruleset from `from` to `to` ports.
fn load(backend: &str, from: usize, to: usize) {
    if backend == "legacy" {
        let mut text = String::from(FILTER_HEAD);
        filter_rules(0..to, &mut text);
        text.push_str("COMMIT\n");
        text.push_str(NAT_HEAD);
        nat_rules(0..to, &mut text);
        text.push_str("COMMIT\n");
        restore("iptables-legacy-restore", &[], &text);
        return;
    }
    if from == 0 {
        restore(
            "iptables-nft-restore",
            &[],
            &format!("{FILTER_HEAD}COMMIT\n{NAT_HEAD}COMMIT\n"),
        );
    }
    let mut start = from;
    while start < to {
        let end = (start + NFT_LOAD_CHUNK).min(to);
        let mut text = String::from("*filter\n");
        filter_rules(start..end, &mut text);
        text.push_str("COMMIT\n*nat\n");
        nat_rules(start..end, &mut text);
        text.push_str("COMMIT\n");
        restore("iptables-nft-restore", &["--noflush"], &text);
        start = end;
    }
}

#[derive(Debug, Clone)]
struct Tool {
    label: String,
    argv: Vec<String>,
    /// Runs at this size (0: skipped).
    runs: usize,
}

#[derive(Debug, Default, Clone)]
struct Samples {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
    rss_kib: Vec<u64>,
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn without_comments(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn inner(backend: &str, opts: &Options) {
    let lock = std::env::temp_dir().join(format!("nfdoctor-bench-{}.lock", std::process::id()));
    std::env::set_var("XTABLES_LOCKFILE", &lock);
    if let Some(t) = opts.threads {
        std::env::set_var("NFDOCTOR_THREADS", t.to_string());
    }
    let me = std::env::current_exe()
        .expect("own path")
        .to_string_lossy()
        .into_owned();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!();
    println!(
        "== {backend} ==  {:>5} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "", "median", "min", "cpu", "peak RSS", "vs floor"
    );
    let mut loaded = 0;
    for &ports in &opts.sizes {
        let t = Instant::now();
        load(backend, loaded, ports);
        loaded = ports;
        let load_time = t.elapsed();
        let runs = opts.runs_for(ports);
        let s = |x: &str| x.to_string();
        let tools: Vec<Tool> = match backend {
            "nft" => vec![
                Tool {
                    label: s("floor: GETRULE dump per chain"),
                    argv: vec![me.clone(), s("floor-nft")],
                    runs,
                },
                Tool {
                    label: format!("floor: same on {cpus} sockets"),
                    argv: vec![me.clone(), s("floor-nft"), s("--threads"), cpus.to_string()],
                    runs,
                },
                Tool {
                    label: s("nfdoctor save --backend nft"),
                    argv: vec![s(NFDOCTOR), s("save"), s("--backend"), s("nft")],
                    runs,
                },
                Tool {
                    label: s("iptables-nft-save"),
                    argv: vec![s("iptables-nft-save")],
                    runs,
                },
                Tool {
                    label: s("nft list ruleset"),
                    argv: vec![s("nft"), s("list"), s("ruleset")],
                    runs: if ports > 10_000 {
                        opts.nft_list_runs.unwrap_or(1)
                    } else {
                        opts.nft_list_runs.unwrap_or(runs).min(runs)
                    },
                },
            ],
            _ => vec![
                Tool {
                    label: s("floor: GET_INFO+GET_ENTRIES"),
                    argv: vec![me.clone(), s("floor-legacy")],
                    runs,
                },
                Tool {
                    label: s("nfdoctor save --backend legacy"),
                    argv: vec![s(NFDOCTOR), s("save"), s("--backend"), s("legacy")],
                    runs,
                },
                Tool {
                    label: s("iptables-legacy-save"),
                    argv: vec![s("iptables-legacy-save")],
                    runs,
                },
            ],
        };
        // Same output, or the comparison means nothing.
        let save = if backend == "nft" {
            "iptables-nft-save"
        } else {
            "iptables-legacy-save"
        };
        let theirs = without_comments(&capture(&[save]));
        let ours = capture(&[NFDOCTOR, "save", "--backend", backend]);
        let same = if theirs == ours {
            "identical".to_string()
        } else {
            format!("DIFFERENT ({} vs {} bytes)", ours.len(), theirs.len())
        };
        let rules = theirs.lines().filter(|l| l.starts_with("-A ")).count();
        println!(
            "-- {ports} ports, {rules} rules (loaded in {:.1} s); output of nfdoctor vs {save}: {same}; loadavg {}",
            load_time.as_secs_f64(),
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .split_whitespace()
                .take(4)
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut samples = vec![Samples::default(); tools.len()];
        let max_runs = tools.iter().map(|t| t.runs).max().unwrap_or(0);
        for run in 0..max_runs {
            for (tool, s) in tools.iter().zip(samples.iter_mut()) {
                if run >= tool.runs {
                    continue;
                }
                let Sample {
                    wall,
                    cpu,
                    rss_kib: rss,
                } = measure_ok(&tool.argv);
                s.wall.push(wall);
                s.cpu.push(cpu);
                s.rss_kib.push(rss);
            }
        }
        let floor = median(&samples[0].wall);
        let find = |label: &str| {
            tools
                .iter()
                .position(|t| t.label.starts_with(label))
                .filter(|&i| !samples[i].wall.is_empty())
                .map(|i| median(&samples[i].wall))
        };
        for (tool, s) in tools.iter().zip(&samples) {
            if s.wall.is_empty() {
                println!("   {:<34} skipped", tool.label);
                continue;
            }
            let m = median(&s.wall);
            println!(
                "   {:<34} {:>7.3}s {:>7.3}s {:>7.3}s {:>6.1} MiB {:>8.2}x  (n={})",
                tool.label,
                m.as_secs_f64(),
                s.wall
                    .iter()
                    .min()
                    .copied()
                    .unwrap_or_default()
                    .as_secs_f64(),
                median(&s.cpu).as_secs_f64(),
                *s.rss_kib.iter().max().unwrap_or(&0) as f64 / 1024.0,
                m.as_secs_f64() / floor.as_secs_f64(),
                s.wall.len()
            );
        }
        let ours = find("nfdoctor").unwrap_or_default().as_secs_f64();
        let ours_rss = samples[tools
            .iter()
            .position(|t| t.label.starts_with("nfdoctor"))
            .unwrap_or(0)]
        .rss_kib
        .iter()
        .max()
        .copied()
        .unwrap_or(0) as f64
            / 1024.0;
        let mut summary = format!(
            "   => nfdoctor: {:.2}x the per-chain floor, {:.2}x faster than {save}",
            ours / floor.as_secs_f64(),
            find(save).unwrap_or_default().as_secs_f64() / ours,
        );
        if backend == "legacy" {
            summary = format!(
                "   => nfdoctor: {:.2}x the GET_ENTRIES floor, {:.2}x faster than {save}",
                ours / floor.as_secs_f64(),
                find(save).unwrap_or_default().as_secs_f64() / ours,
            );
        }
        if let Some(nft) = find("nft list") {
            summary.push_str(&format!(
                ", {:.1}x faster than nft list ruleset",
                nft.as_secs_f64() / ours
            ));
        }
        summary.push_str(&format!(", peak RSS {ours_rss:.1} MiB"));
        println!("{summary}");
    }
    let _ = std::fs::remove_file(&lock);
}

// ---------------------------------------------------------------------------
// The floors: the kernel's share of the work, nothing decoded.

fn nft_type(msg: u8) -> u16 {
    (u16::from(NFNL_SUBSYS_NFTABLES) << 8) | u16::from(msg)
}

/// Sends one dump request and reads replies until `NLMSG_DONE`, handing
/// each datagram to `each`.
fn dump(sock: &mut NetlinkSocket, request: &[u8], buf: &mut [u8], mut each: impl FnMut(&[u8])) {
    sock.send(request).expect("send");
    loop {
        let n = sock.recv(buf).expect("recv");
        let datagram = &buf[..n];
        each(datagram);
        for m in Messages::new(datagram) {
            let m = m.expect("frame");
            match m.header.nlmsg_type {
                NLMSG_DONE => return,
                NLMSG_ERROR => panic!("dump failed"),
                _ => {}
            }
        }
    }
}

fn floor_nft(threads: usize, verbose: bool) {
    let mut sock = NetlinkSocket::open(libc::NETLINK_NETFILTER).expect("netlink socket");
    let mut buf = vec![0u8; 64 * 1024];
    let mut req = Vec::new();
    put_nfnl_message(
        &mut req,
        nft_type(NFT_MSG_GETCHAIN),
        NLM_F_REQUEST | NLM_F_DUMP,
        1,
        libc::NFPROTO_IPV4 as u8,
        0,
        |_| {},
    );
    let mut chains: Vec<(String, String, u32)> = Vec::new();
    dump(&mut sock, &req, &mut buf, |d| {
        for m in Messages::new(d).flatten() {
            if let Ok((_, a)) = m.nfgen() {
                let s = |k| {
                    a.find(k)
                        .and_then(|x| x.str().ok())
                        .unwrap_or("")
                        .to_string()
                };
                let weight = a
                    .find(NFTA_CHAIN_USE)
                    .and_then(|x| x.be_u32().ok())
                    .unwrap_or(0);
                chains.push((s(NFTA_CHAIN_TABLE), s(NFTA_CHAIN_NAME), weight));
            }
        }
    });
    let rules = |sock: &mut NetlinkSocket, buf: &mut [u8], table: &str, chain: &str| {
        let mut req = Vec::new();
        put_nfnl_message(
            &mut req,
            nft_type(NFT_MSG_GETRULE),
            NLM_F_REQUEST | NLM_F_DUMP,
            2,
            libc::NFPROTO_IPV4 as u8,
            0,
            |w| {
                w.put_str(NFTA_RULE_TABLE, table);
                w.put_str(NFTA_RULE_CHAIN, chain);
            },
        );
        let start = Instant::now();
        let mut bytes = 0;
        dump(sock, &req, buf, |d| bytes += d.len());
        if verbose {
            eprintln!(
                "{table} {chain}: {bytes} bytes in {:.3} s",
                start.elapsed().as_secs_f64()
            );
        }
    };
    if threads <= 1 {
        for (table, chain, _) in &chains {
            rules(&mut sock, &mut buf, table, chain);
        }
        return;
    }
    chains.sort_by_key(|c| std::cmp::Reverse(c.2));
    let queue = std::sync::Mutex::new(chains.into_iter());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut sock = NetlinkSocket::open(libc::NETLINK_NETFILTER).expect("socket");
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let Some((table, chain, _)) = queue.lock().unwrap().next() else {
                        break;
                    };
                    rules(&mut sock, &mut buf, &table, &chain);
                }
            });
        }
    });
}

fn getsockopt(fd: i32, opt: i32, buf: &mut [u8]) {
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `buf` is valid for `len` bytes of reads and writes during the
    // call and `len` is a live socklen_t.
    let rc = unsafe { libc::getsockopt(fd, libc::SOL_IP, opt, buf.as_mut_ptr().cast(), &mut len) };
    assert!(rc == 0, "getsockopt: {}", std::io::Error::last_os_error());
}

fn floor_legacy() {
    // SAFETY: plain syscall with constant arguments; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    let names = std::fs::read_to_string("/proc/net/ip_tables_names").unwrap_or_default();
    for name in names.lines().filter(|l| !l.is_empty()) {
        let mut info = ipt_getinfo::zeroed();
        info.name[..name.len()].copy_from_slice(name.as_bytes());
        let mut buf = info.as_bytes().to_vec();
        getsockopt(fd, IPT_SO_GET_INFO, &mut buf);
        let info = ipt_getinfo::read_from_prefix(&buf).expect("GET_INFO reply");
        let head = ipt_get_entries {
            name: info.name,
            size: info.size,
            _pad: [0; 4],
        };
        let mut buf = vec![0u8; head.as_bytes().len() + info.size as usize];
        buf[..head.as_bytes().len()].copy_from_slice(head.as_bytes());
        getsockopt(fd, IPT_SO_GET_ENTRIES, &mut buf);
        std::hint::black_box(&buf);
    }
    // SAFETY: `fd` is ours and closed once.
    unsafe { libc::close(fd) };
}

// ---------------------------------------------------------------------------
// Seeds for the fuzz targets, from the rules of the current namespace.

/// `capture DIR TAG [-6]`: every GETRULE dump datagram of every chain as
/// `DIR/nft_rule/TAG-N` (`[family][datagram]`), every legacy table as
/// `DIR/legacy_blob/TAG-TABLE` (`[family][table][hooks][blob]`), in the
/// formats of `fuzz/fuzz_targets/common.rs`.
fn capture_seeds(args: &[String]) {
    let dir = std::path::PathBuf::from(args.first().expect("capture DIR TAG [-6]"));
    let tag = args.get(1).expect("capture DIR TAG [-6]");
    let v6 = args.iter().any(|a| a == "-6");
    let (nfproto, family_byte) = if v6 {
        (libc::NFPROTO_IPV6 as u8, 1u8)
    } else {
        (libc::NFPROTO_IPV4 as u8, 0u8)
    };
    let nft_dir = dir.join("nft_rule");
    let legacy_dir = dir.join("legacy_blob");
    std::fs::create_dir_all(&nft_dir).expect("seed dir");
    std::fs::create_dir_all(&legacy_dir).expect("seed dir");
    // nf_tables: each chain's dump, datagram by datagram.
    let mut sock = NetlinkSocket::open(libc::NETLINK_NETFILTER).expect("netlink socket");
    let mut buf = vec![0u8; 64 * 1024];
    let mut req = Vec::new();
    put_nfnl_message(
        &mut req,
        nft_type(NFT_MSG_GETCHAIN),
        NLM_F_REQUEST | NLM_F_DUMP,
        1,
        nfproto,
        0,
        |_| {},
    );
    let mut chains = Vec::new();
    dump(&mut sock, &req, &mut buf, |d| {
        for m in Messages::new(d).flatten() {
            if let Ok((_, a)) = m.nfgen() {
                let s = |k| a.find(k).and_then(|x| x.str().ok()).map(str::to_string);
                if let (Some(t), Some(c)) = (s(NFTA_CHAIN_TABLE), s(NFTA_CHAIN_NAME)) {
                    chains.push((t, c));
                }
            }
        }
    });
    let mut n = 0;
    for (table, chain) in &chains {
        let mut req = Vec::new();
        put_nfnl_message(
            &mut req,
            nft_type(NFT_MSG_GETRULE),
            NLM_F_REQUEST | NLM_F_DUMP,
            2,
            nfproto,
            0,
            |w| {
                w.put_str(NFTA_RULE_TABLE, table);
                w.put_str(NFTA_RULE_CHAIN, chain);
            },
        );
        dump(&mut sock, &req, &mut buf, |d| {
            if Messages::new(d)
                .flatten()
                .all(|m| m.header.nlmsg_type == NLMSG_DONE)
            {
                return;
            }
            let mut seed = vec![family_byte];
            seed.extend_from_slice(d);
            std::fs::write(nft_dir.join(format!("{tag}-{n}")), seed).expect("write seed");
            n += 1;
        });
    }
    // Legacy: each table's blob and hooks.
    let (domain, level, names, get_info, get_entries) = if v6 {
        (
            libc::AF_INET6,
            libc::SOL_IPV6,
            "/proc/net/ip6_tables_names",
            nfdoctor_sys::ip6_tables::IP6T_SO_GET_INFO,
            nfdoctor_sys::ip6_tables::IP6T_SO_GET_ENTRIES,
        )
    } else {
        (
            libc::AF_INET,
            libc::SOL_IP,
            "/proc/net/ip_tables_names",
            IPT_SO_GET_INFO,
            IPT_SO_GET_ENTRIES,
        )
    };
    // SAFETY: plain syscall with constant arguments; the result is checked.
    let fd = unsafe { libc::socket(domain, libc::SOCK_RAW, libc::IPPROTO_RAW) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    for name in std::fs::read_to_string(names).unwrap_or_default().lines() {
        let Some(table_byte) = TABLES.iter().position(|t| *t == name) else {
            continue;
        };
        let mut info = ipt_getinfo::zeroed();
        info.name[..name.len()].copy_from_slice(name.as_bytes());
        let mut b = info.as_bytes().to_vec();
        getsockopt_at(fd, level, get_info, &mut b);
        let info = ipt_getinfo::read_from_prefix(&b).expect("GET_INFO reply");
        let head = ipt_get_entries {
            name: info.name,
            size: info.size,
            _pad: [0; 4],
        };
        let mut b = vec![0u8; head.as_bytes().len() + info.size as usize];
        b[..head.as_bytes().len()].copy_from_slice(head.as_bytes());
        getsockopt_at(fd, level, get_entries, &mut b);
        let mut seed = vec![family_byte, table_byte as u8];
        seed.extend_from_slice(&info.valid_hooks.to_ne_bytes());
        for x in info.hook_entry.iter().chain(&info.underflow) {
            seed.extend_from_slice(&x.to_ne_bytes());
        }
        seed.extend_from_slice(&b[head.as_bytes().len()..]);
        std::fs::write(legacy_dir.join(format!("{tag}-{name}")), seed).expect("write seed");
    }
    // SAFETY: `fd` is ours and closed once.
    unsafe { libc::close(fd) };
}

/// Table names by their byte in a `legacy_blob` seed.
const TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];

fn getsockopt_at(fd: i32, level: i32, opt: i32, buf: &mut [u8]) {
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `buf` is valid for `len` bytes of reads and writes during the
    // call and `len` is a live socklen_t.
    let rc = unsafe { libc::getsockopt(fd, level, opt, buf.as_mut_ptr().cast(), &mut len) };
    assert!(rc == 0, "getsockopt: {}", std::io::Error::last_os_error());
}
