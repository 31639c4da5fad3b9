//! Benchmark: `nfdoctor restore` against `iptables-nft-restore` and
//! `iptables-legacy-restore`, and against Docker's one-`iptables`-process-
//! per-rule way, on Docker-like rulesets (the generator of
//! `benches/save.rs`: per port a DNAT in nat `DOCKER`, a hairpin MASQUERADE
//! in nat `POSTROUTING`, an ACCEPT in filter `DOCKER`).
//!
//! ```text
//! cargo bench --bench restore                        # everything, ~6 min on 2 cores
//! cargo bench --bench restore -- --sizes 1000,10000 --runs 3 --backends nft
//! cargo bench --bench restore -- --no-append         # loads only
//! cargo bench --bench restore -- --no-load --append-bases 10000 --samples 10
//! ```
//!
//! Two measurements per back end, each in a fresh network namespace
//! (`unshare -n` when run as root, so socket buffers behave as on a host;
//! `unshare -rn` otherwise; the output says which). The host's firewall is
//! never touched.
//!
//! * **load**: 1k, 10k, 50k ports into empty tables (nf_tables: no tables
//!   at all; legacy: empty built-in tables), before every run. Tools:
//!   `nfdoctor restore [--backend legacy] FILE` and
//!   `iptables-{nft,legacy}-restore FILE`. Targets: at least 2x faster than
//!   iptables-nft-restore at 10k and 50k, 1.5x than iptables-legacy-restore.
//! * **append**: 1000 port mappings (3000 rules) onto a ruleset holding 10k
//!   and 50k ports: one `nfdoctor restore --noflush` of a file with the
//!   3000 `-A` lines, against one `iptables -w -t T -A …` process per
//!   mapping as Docker runs them. `--samples` (default 20) such processes
//!   are timed against the same ruleset and their median is extrapolated
//!   to 1000 processes (the issue's count) — the figure is extrapolated,
//!   and Docker really runs three per mapping (plus an `-C` each). Target:
//!   at least 100x faster, both back ends.
//!
//! The **floor** rows are the kernel's share: the same batch (nf_tables)
//! or blobs (legacy) nfdoctor would send, built beforehand by a child of
//! this program through the library, with only the send/commit timed
//! (nf_tables: `send_batch` of each part, waiting for the kernel's answer;
//! legacy: `SO_SET_REPLACE` per table).
//!
//! Before timing, the rules each tool leaves are compared through the back
//! end's `iptables-save` (no `#` lines, counters zeroed); a difference
//! aborts the benchmark. Wall time is spawn to exit; CPU and peak RSS come
//! from `wait4`.
//!
//! In a user namespace `iptables-nft-restore` cannot send a batch bigger
//! than `net.core.wmem_default` (it only tries `SO_SNDBUFFORCE`); it is
//! then measured loading the file in 200-port chunks, one process each,
//! and the output says so.

#![allow(clippy::unwrap_used)]

mod support;

use nfdoctor::backend::legacy::{self, XtKernel};
use nfdoctor::backend::nft::write::{build_batch, read_for_write, Mode, TableChange, MAX_BATCH};
use nfdoctor::backend::nft::NftReader;
use nfdoctor::cli::restore::{parse_input, plan, plan_table};
use nfdoctor::netlink::Transport;
use nfdoctor::ruleset::edit::Flush;
use nfdoctor::Family;
use std::path::Path;
use std::time::{Duration, Instant};
use support::*;

const DEFAULT_SIZES: [usize; 3] = [1_000, 10_000, 50_000];
const DEFAULT_APPEND_BASES: [usize; 2] = [10_000, 50_000];
/// Port mappings appended.
const APPEND: usize = 1_000;
/// Ports per `iptables-nft-restore` process where it cannot take more (a
/// user namespace's socket buffer).
const NFT_CHUNK: usize = 200;

#[derive(Debug, Clone)]
struct Options {
    sizes: Vec<usize>,
    backends: Vec<String>,
    /// Runs per tool; `None`: 5 up to 1k ports, 3 above.
    runs: Option<usize>,
    append_bases: Vec<usize>,
    /// `iptables -A` processes timed per base.
    samples: usize,
    load: bool,
    append: bool,
}

fn list(v: &str) -> Vec<usize> {
    let mut l: Vec<usize> = v.split(',').filter_map(|s| s.trim().parse().ok()).collect();
    l.sort_unstable();
    l
}

impl Options {
    fn parse(args: &[String]) -> Options {
        let mut o = Options {
            sizes: DEFAULT_SIZES.to_vec(),
            backends: vec![s("nft"), s("legacy")],
            runs: None,
            append_bases: DEFAULT_APPEND_BASES.to_vec(),
            samples: 20,
            load: true,
            append: true,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().cloned().unwrap_or_default();
            match a.as_str() {
                "--sizes" => o.sizes = list(&value()),
                "--backends" => o.backends = value().split(',').map(str::to_string).collect(),
                "--runs" => o.runs = value().parse().ok(),
                "--append-bases" => o.append_bases = list(&value()),
                "--samples" => o.samples = value().parse().unwrap_or(20).max(1),
                "--no-load" => o.load = false,
                "--no-append" => o.append = false,
                // `cargo bench` passes `--bench`; filters are not supported.
                _ => {}
            }
        }
        o
    }

    fn to_args(&self) -> Vec<String> {
        let join = |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        let mut v = vec![
            s("--sizes"),
            join(&self.sizes),
            s("--backends"),
            self.backends.join(","),
            s("--append-bases"),
            join(&self.append_bases),
            s("--samples"),
            self.samples.to_string(),
        ];
        if let Some(r) = self.runs {
            v.extend([s("--runs"), r.to_string()]);
        }
        if !self.load {
            v.push(s("--no-load"));
        }
        if !self.append {
            v.push(s("--no-append"));
        }
        v
    }

    fn runs_for(&self, ports: usize) -> usize {
        self.runs
            .unwrap_or(if ports <= 1_000 { 5 } else { 3 })
            .max(1)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if run_child_mode(&args) {
        return;
    }
    match args.first().map(String::as_str) {
        Some("floor-nft") => floor_nft(&args[1..]),
        Some("floor-legacy") => floor_legacy(&args[1..]),
        Some("inner") => inner(&Options::parse(&args[1..])),
        _ => outer(&Options::parse(&args)),
    }
}

fn outer(opts: &Options) {
    let Some(ns) = choose_ns() else {
        println!("SKIP: neither `unshare -n` (root) nor `unshare -rn` works here");
        return;
    };
    if !have_tools(&[
        "iptables-nft",
        "iptables-nft-save",
        "iptables-nft-restore",
        "iptables-legacy",
        "iptables-legacy-save",
        "iptables-legacy-restore",
        "nft",
    ]) {
        return;
    }
    print_context("nfdoctor restore benchmark", ns);
    println!("  times: median and min of wall time (spawn to exit); cpu = user+sys median; RSS = max over runs");
    let status = reexec(ns, &opts.to_args());
    if !status.success() {
        println!("the benchmark failed ({status})");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------
// Inside the namespace.

/// Puts the back end in its empty state: no nf_tables tables at all, or
/// empty legacy built-in tables.
fn reset(backend: &str) {
    if backend == "nft" {
        run_ok(&["nft", "flush", "ruleset"]);
    } else {
        empty_legacy_tables(&["iptables-legacy-restore"]);
    }
}

/// How the peer loads a whole file here.
#[derive(Debug, Clone)]
struct PeerLoad {
    argv: Vec<String>,
    label: String,
}

/// `iptables-nft-restore FILE`, or, where it cannot take the file at once
/// (a user namespace), the file in 200-port chunks.
fn peer_load(backend: &str, dir: &Path, ports: usize, file: &str) -> PeerLoad {
    let cmd = format!("iptables-{backend}-restore");
    if backend == "legacy" || Ns::current() == Ns::Root {
        return PeerLoad {
            argv: vec![cmd.clone(), s(file)],
            label: cmd,
        };
    }
    reset(backend);
    match run_quiet(&[&cmd, file]) {
        Ok(()) => PeerLoad {
            argv: vec![cmd.clone(), s(file)],
            label: cmd,
        },
        Err(e) => {
            let chunks = dir.join(format!("chunks-{ports}"));
            let _ = std::fs::create_dir_all(&chunks);
            let mut start = 0;
            let mut n = 0;
            while start < ports || n == 0 {
                let end = (start + NFT_CHUNK).min(ports);
                let text = if n == 0 {
                    let mut t = String::from(FILTER_HEAD);
                    filter_rules(start..end, &mut t);
                    t.push_str("COMMIT\n");
                    t.push_str(NAT_HEAD);
                    nat_rules(start..end, &mut t);
                    t.push_str("COMMIT\n");
                    t
                } else {
                    port_block(start..end)
                };
                write_file(&chunks.join(format!("{n:06}")), &text);
                n += 1;
                start = end;
            }
            println!(
                "   note: iptables-nft-restore cannot load {ports} ports at once in this user namespace ({}); \
                 it is measured loading them in {n} chunks of {NFT_CHUNK} ports, one process each",
                e.lines().last().unwrap_or("")
            );
            PeerLoad {
                argv: vec![
                    s("sh"),
                    s("-c"),
                    format!(
                        "for f in '{}'/*; do iptables-nft-restore --noflush \"$f\" || exit 1; done",
                        chunks.display()
                    ),
                ],
                label: format!("iptables-nft-restore x{n} ({NFT_CHUNK}-port chunks)"),
            }
        }
    }
}

fn nfdoctor_restore(backend: &str, noflush: bool, file: &str) -> Vec<String> {
    let mut v = vec![s(NFDOCTOR), s("restore"), s("--backend"), s(backend)];
    if noflush {
        v.push(s("--noflush"));
    }
    v.push(s(file));
    v
}

fn floor_argv(backend: &str, noflush: bool, file: &str) -> Vec<String> {
    let me = std::env::current_exe()
        .expect("own path")
        .to_string_lossy()
        .into_owned();
    let mut v = vec![me, format!("floor-{backend}"), s(file)];
    if noflush {
        v.push(s("--noflush"));
    }
    v
}

fn run_argv(argv: &[String]) {
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    run_ok(&refs);
}

fn inner(opts: &Options) {
    let dir = scratch_dir("restore");
    let mut summary = Summary::default();
    for backend in &opts.backends {
        let backend = backend.as_str();
        println!();
        println!("==== {backend} back end");
        if opts.load {
            for &ports in &opts.sizes {
                load_case(backend, ports, opts, &dir, &mut summary);
            }
        }
        if opts.append {
            for &base in &opts.append_bases {
                append_case(backend, base, opts, &dir, &mut summary);
            }
        }
    }
    summary.print("restore: targets");
    let _ = std::fs::remove_dir_all(&dir);
}

fn full_file(dir: &Path, ports: usize) -> String {
    let path = dir.join(format!("full-{ports}.rules"));
    if path.exists() {
        return path.to_string_lossy().into_owned();
    }
    write_file(&path, &full_ruleset(ports))
}

fn load_case(backend: &str, ports: usize, opts: &Options, dir: &Path, summary: &mut Summary) {
    let file = full_file(dir, ports);
    let peer = peer_load(backend, dir, ports, &file);
    let ours = nfdoctor_restore(backend, false, &file);
    // Same rules, or the comparison means nothing.
    reset(backend);
    run_argv(&ours);
    let ours_text = saved(backend);
    reset(backend);
    run_argv(&peer.argv);
    let theirs_text = saved(backend);
    let rules = theirs_text.lines().filter(|l| l.starts_with("-A ")).count();
    if ours_text != theirs_text {
        let dump = dir.join(format!("DIFF-{backend}-{ports}"));
        write_file(&dump.with_extension("ours"), &ours_text);
        write_file(&dump.with_extension("theirs"), &theirs_text);
        println!(
            "!! {backend} {ports} ports: nfdoctor and {} leave different rules",
            peer.label
        );
        std::process::exit(1);
    }
    let runs = opts.runs_for(ports);
    header(&format!(
        "{backend}: load {ports} ports ({rules} rules) into empty tables; iptables-{backend}-save identical after both"
    ));
    let mut floor = Vec::new();
    let mut ours_s = Samples::default();
    let mut theirs_s = Samples::default();
    for _ in 0..runs {
        reset(backend);
        floor.push(measure_floor(&floor_argv(backend, false, &file)));
        reset(backend);
        ours_s.push(measure_ok(&ours));
        reset(backend);
        theirs_s.push(measure_ok(&peer.argv));
    }
    reset(backend);
    let floor_label = if backend == "nft" {
        "floor: commit of the prebuilt batch"
    } else {
        "floor: SO_SET_REPLACE of the prebuilt blobs"
    };
    let mut fv = floor.clone();
    fv.sort_unstable();
    let floor_m = median(&fv);
    row_wall(floor_label, &floor, "");
    let ratio = |d: Duration| d.as_secs_f64() / floor_m.as_secs_f64().max(1e-9);
    row(
        &format!("nfdoctor restore --backend {backend}"),
        &ours_s,
        &format!("{:.2}x floor", ratio(ours_s.median())),
    );
    row(
        &peer.label,
        &theirs_s,
        &format!("{:.2}x floor", ratio(theirs_s.median())),
    );
    let speedup = theirs_s.median().as_secs_f64() / ours_s.median().as_secs_f64();
    let target = if backend == "nft" { 2.0 } else { 1.5 };
    println!(
        "   => nfdoctor {speedup:.2}x faster than {}; its time over the floor: {}",
        peer.label,
        fmt_d(ours_s.median().saturating_sub(floor_m))
    );
    if ports >= 10_000 {
        summary.ratio(
            &format!("{backend} load {}k ports", ports / 1000),
            ours_s.median(),
            theirs_s.median(),
            target,
            &format!(
                "vs {}; floor {} (the peer at most {:.2}x slower than it)",
                peer.label,
                fmt_d(floor_m),
                ratio(theirs_s.median())
            ),
        );
    }
}

fn append_case(backend: &str, base: usize, opts: &Options, dir: &Path, summary: &mut Summary) {
    let base_file = full_file(dir, base);
    let append_file = write_file(
        &dir.join(format!("append-{base}.rules")),
        &port_block(base..base + APPEND),
    );
    // Base states are loaded with the peer where it takes them at once,
    // else with nfdoctor (compared with the peer's in the load part).
    let loader = if backend == "legacy" || Ns::current() == Ns::Root {
        vec![format!("iptables-{backend}-restore"), base_file.clone()]
    } else {
        nfdoctor_restore(backend, false, &base_file)
    };
    let load_base = || {
        reset(backend);
        run_argv(&loader);
    };
    // The expected result: base + 1000 ports loaded whole by the peer.
    let whole = full_file(dir, base + APPEND);
    reset(backend);
    run_argv(&peer_load(backend, dir, base + APPEND, &whole).argv);
    let expected = saved(backend);
    let ours = nfdoctor_restore(backend, true, &append_file);
    load_base();
    run_argv(&ours);
    if saved(backend) != expected {
        println!("!! {backend}: nfdoctor restore --noflush of {APPEND} ports onto {base} does not give the expected rules");
        std::process::exit(1);
    }
    header(&format!(
        "{backend}: append {APPEND} port mappings ({} rules) to {base} ports; result identical to a whole load",
        3 * APPEND
    ));
    let runs = opts.runs_for(base);
    let mut floor = Vec::new();
    let mut ours_s = Samples::default();
    for _ in 0..runs {
        load_base();
        floor.push(measure_floor(&floor_argv(backend, true, &append_file)));
        load_base();
        ours_s.push(measure_ok(&ours));
    }
    // Docker's way: one process per rule, against the same ruleset.
    load_base();
    let cmd = format!("iptables-{backend}");
    let mut per = Samples::default();
    for k in 0..opts.samples {
        let mut argv = vec![cmd.clone()];
        argv.extend(append_args(base, k));
        per.push(measure_ok(&argv));
    }
    reset(backend);
    let mut fv = floor.clone();
    fv.sort_unstable();
    let floor_m = median(&fv);
    row_wall("floor: commit of the prebuilt change", &floor, "");
    row(
        &format!("nfdoctor restore --noflush --backend {backend}"),
        &ours_s,
        &format!(
            "{:.2}x floor",
            ours_s.median().as_secs_f64() / floor_m.as_secs_f64().max(1e-9)
        ),
    );
    row(&format!("{cmd} -A (one process)"), &per, "");
    let extrapolated = per.median() * APPEND as u32;
    println!(
        "   {:<44} {:>10}   (extrapolated: {APPEND} x the median process; {} for all {} rules)",
        format!("{APPEND} x {cmd} -A"),
        fmt_d(extrapolated),
        fmt_d(extrapolated * 3),
        3 * APPEND
    );
    let speedup = extrapolated.as_secs_f64() / ours_s.median().as_secs_f64();
    println!("   => nfdoctor {speedup:.0}x faster than {APPEND} {cmd} processes");
    summary.ratio(
        &format!("{backend} append {APPEND} onto {}k", base / 1000),
        ours_s.median(),
        extrapolated,
        100.0,
        &format!(
            "vs {APPEND} x {cmd} -A (extrapolated from {} processes)",
            per.len()
        ),
    );
}

// ---------------------------------------------------------------------------
// The floors: children that prepare exactly what `nfdoctor restore` would
// send, then time the kernel's part only and print its nanoseconds.

fn floor_nft(args: &[String]) {
    let file = &args[0];
    let noflush = args.iter().any(|a| a == "--noflush");
    let text = std::fs::read_to_string(file).expect("rules file");
    let script = parse_input(&text, Family::Ipv4, false).expect("parse");
    let mut reader = NftReader::open(Family::Ipv4).expect("netlink socket");
    let (current, genid) = read_for_write(&mut reader).expect("read");
    let flush = if noflush { Flush::None } else { Flush::Table };
    let planned = plan(&script, &current, flush, false).expect("plan");
    let mode = if noflush { Mode::Update } else { Mode::Replace };
    let changes: Vec<TableChange<'_>> = planned
        .iter()
        .map(|(_, before, after)| TableChange {
            before: *before,
            after,
            mode,
        })
        .collect();
    let (batch, cuts, _) = build_batch(Family::Ipv4, &changes).expect("encode");
    let conn = reader.connection();
    let room = conn
        .transport_mut()
        .reserve_send(batch.size() + 64)
        .map_or(MAX_BATCH, |r| r.saturating_sub(64));
    let parts = batch.split(MAX_BATCH.min(room), |k| {
        cuts.get(k).copied().unwrap_or(false)
    });
    let start = Instant::now();
    let mut gen = genid;
    for part in &parts {
        conn.send_batch(part, Some(gen), true).expect("commit");
        gen = gen.wrapping_add(1);
    }
    println!("{}", start.elapsed().as_nanos());
}

fn floor_legacy(args: &[String]) {
    let file = &args[0];
    let noflush = args.iter().any(|a| a == "--noflush");
    let text = std::fs::read_to_string(file).expect("rules file");
    let script = parse_input(&text, Family::Ipv4, false).expect("parse");
    let flush = if noflush { Flush::None } else { Flush::Table };
    let mut kernel = legacy::RawSocket::open(Family::Ipv4).expect("raw socket");
    let mut names: Vec<&str> = Vec::new();
    for b in &script.tables {
        if !names.contains(&b.name.as_str()) {
            names.push(&b.name);
        }
    }
    let mut prepared = Vec::new();
    for name in names {
        let current = legacy::read_table(&mut kernel, Family::Ipv4, name).expect("read");
        let after = plan_table(&script, name, &current, flush).expect("plan");
        let encoded = legacy::encode::encode_table(Family::Ipv4, &after).expect("encode");
        let info = kernel.get_info(name).expect("GET_INFO");
        prepared.push((encoded.replace_header(info.num_entries), encoded.blob));
    }
    let start = Instant::now();
    for (header, blob) in &prepared {
        kernel.replace(header, blob).expect("SO_SET_REPLACE");
    }
    println!("{}", start.elapsed().as_nanos());
}
