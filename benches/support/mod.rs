//! Shared by the benchmarks (`harness = false`): running the benchmark in a
//! throw-away network namespace, timing a child process with `wait4`
//! (wall, CPU, peak RSS), statistics and table printing, and the
//! Docker-like rulesets of `benches/save.rs` (same generator, so the
//! figures of the benchmarks compare).

#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const NFDOCTOR: &str = env!("CARGO_BIN_EXE_nfdoctor");

// ---------------------------------------------------------------------------
// The namespace.

/// Where a benchmark runs: never in the host's own network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ns {
    /// `unshare -n` as real root: a new network namespace owned by the
    /// initial user namespace, so socket buffers may be raised past
    /// `net.core.wmem_max` (`SO_SNDBUFFORCE`), as on a real host.
    Root,
    /// `unshare -rn`: a new user and network namespace, for non-root
    /// users. Socket buffers are capped at `net.core.wmem_max`.
    User,
}

impl Ns {
    pub fn describe(self) -> &'static str {
        match self {
            Ns::Root => "`unshare -n` (new network namespace, real root: socket buffers as on a host)",
            Ns::User => "`unshare -rn` (new user + network namespace: socket buffers capped at net.core.wmem_max)",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Ns::Root => "-n",
            Ns::User => "-rn",
        }
    }

    /// The namespace this process runs in (set by [`reexec`]).
    pub fn current() -> Ns {
        match std::env::var("NFDOCTOR_BENCH_NS").as_deref() {
            Ok("root") => Ns::Root,
            _ => Ns::User,
        }
    }
}

pub fn sh_ok(script: &str) -> bool {
    Command::new("sh")
        .args(["-c", script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

pub fn sh_out(script: &str) -> String {
    Command::new("sh")
        .args(["-c", script])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// `unshare -n` when we are root, else `unshare -rn`; `None` when neither
/// works.
pub fn choose_ns() -> Option<Ns> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if root && sh_ok("unshare -n true") {
        Some(Ns::Root)
    } else if sh_ok("unshare -rn true") {
        Some(Ns::User)
    } else {
        None
    }
}

/// Runs this benchmark again as `inner ARGS…` in a new namespace, with a
/// private xtables lock (legacy tools never wait for the host's).
pub fn reexec(ns: Ns, args: &[String]) -> ExitStatus {
    reexec_with(ns, &[], args)
}

/// [`reexec`] with more `unshare` flags (e.g. `-m` for a private mount
/// namespace).
pub fn reexec_with(ns: Ns, flags: &[&str], args: &[String]) -> ExitStatus {
    let exe = std::env::current_exe().expect("own path");
    let lock = std::env::temp_dir().join(format!("nfdoctor-bench-{}.lock", std::process::id()));
    let _ = std::io::stdout().flush();
    let status = Command::new("unshare")
        .arg(ns.flag())
        .args(flags)
        .arg(&exe)
        .arg("inner")
        .args(args)
        .env(
            "NFDOCTOR_BENCH_NS",
            if ns == Ns::Root { "root" } else { "user" },
        )
        .env("XTABLES_LOCKFILE", &lock)
        .status()
        .expect("run unshare");
    let _ = std::fs::remove_file(&lock);
    status
}

/// The tools a benchmark needs; prints SKIP and returns false if one is
/// missing.
pub fn have_tools(tools: &[&str]) -> bool {
    for tool in tools {
        if !sh_ok(&format!("command -v {tool}")) {
            println!("SKIP: {tool} is not installed");
            return false;
        }
    }
    true
}

/// Kernel, CPUs, load, tool versions: the context of the figures.
pub fn print_context(title: &str, ns: Ns) {
    println!("{title}");
    println!(
        "  kernel {}, {} CPUs, load average {} (other work on the machine skews the figures)",
        sh_out("uname -r"),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        sh_out("cut -d' ' -f1-3 /proc/loadavg")
    );
    println!(
        "  {}; {}",
        sh_out("iptables-nft --version"),
        sh_out("iptables-legacy --version")
    );
    println!("  nfdoctor: {NFDOCTOR}");
    println!("  namespace: {}", ns.describe());
}

// ---------------------------------------------------------------------------
// Timing a child.

/// One run of a process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub wall: Duration,
    pub cpu: Duration,
    pub rss_kib: u64,
}

/// Runs of one tool.
#[derive(Debug, Clone, Default)]
pub struct Samples(pub Vec<Sample>);

impl Samples {
    pub fn push(&mut self, s: Sample) {
        self.0.push(s);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    fn sorted(&self, f: impl Fn(&Sample) -> Duration) -> Vec<Duration> {
        let mut v: Vec<Duration> = self.0.iter().map(f).collect();
        v.sort_unstable();
        v
    }
    pub fn median(&self) -> Duration {
        median(&self.sorted(|s| s.wall))
    }
    pub fn min(&self) -> Duration {
        self.sorted(|s| s.wall).first().copied().unwrap_or_default()
    }
    pub fn max(&self) -> Duration {
        self.sorted(|s| s.wall).last().copied().unwrap_or_default()
    }
    pub fn cpu(&self) -> Duration {
        median(&self.sorted(|s| s.cpu))
    }
    pub fn rss_mib(&self) -> f64 {
        self.0.iter().map(|s| s.rss_kib).max().unwrap_or(0) as f64 / 1024.0
    }
}

/// The median of sorted durations (the upper one of an even count).
pub fn median(sorted: &[Duration]) -> Duration {
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

fn tv(t: libc::timeval) -> Duration {
    Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000)
}

/// Runs `argv` (stdout to /dev/null, stderr shown on failure) and returns
/// its wall time, CPU time and peak RSS; `Err` with its stderr when it
/// fails. Done in a fresh `run` child of this program, because a child's
/// peak RSS starts at the RSS of the process that spawned it and this
/// process holds rulesets.
pub fn measure(argv: &[String]) -> Result<Sample, String> {
    let me = std::env::current_exe().expect("own path");
    let out = Command::new(me)
        .arg("run")
        .args(argv)
        .output()
        .expect("run measuring child");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<u64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    assert_eq!(v.len(), 3, "bad measurement {text:?}");
    Ok(Sample {
        wall: Duration::from_nanos(v[0]),
        cpu: Duration::from_nanos(v[1]),
        rss_kib: v[2],
    })
}

/// [`measure`], exiting on failure.
pub fn measure_ok(argv: &[String]) -> Sample {
    measure(argv).unwrap_or_else(|e| {
        eprintln!("{argv:?} failed:\n{e}");
        std::process::exit(1);
    })
}

/// Handles the `run ARGV…` child mode (call first in `main`): spawn,
/// `wait4`, print `wall_ns cpu_ns maxrss_kib`. Returns false for any
/// other mode.
// The child is reaped by `wait4` (for its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
pub fn run_child_mode(args: &[String]) -> bool {
    if args.first().map(String::as_str) != Some("run") {
        return false;
    }
    let argv = &args[1..];
    let err = std::env::temp_dir().join(format!("nfdoctor-bench-stderr-{}", std::process::id()));
    let err_file = std::fs::File::create(&err).expect("stderr file");
    let start = Instant::now();
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_file)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", argv[0]));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` are live for the call; `pid` is our
    // unreaped child (std's `Child` never waits on drop).
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(rc, pid, "wait4: {}", std::io::Error::last_os_error());
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    let _ = std::fs::remove_file(&err);
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        eprint!("{stderr}");
        eprintln!("{argv:?} failed (status {status:#x})");
        std::process::exit(1);
    }
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    println!("{} {} {}", wall.as_nanos(), cpu.as_nanos(), usage.ru_maxrss);
    true
}

/// Runs a floor child (a mode of this program that prints the nanoseconds
/// of the part it times, e.g. one kernel commit) and returns that time.
pub fn measure_floor(argv: &[String]) -> Duration {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .stderr(Stdio::inherit())
        .output()
        .expect("run floor child");
    assert!(out.status.success(), "{argv:?} failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let ns: u64 = text
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("floor printed {text:?}"));
    Duration::from_nanos(ns)
}

// ---------------------------------------------------------------------------
// Running tools.

pub fn s(x: &str) -> String {
    x.to_string()
}

pub fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

/// Runs `argv`, returns its stdout; exits on failure.
pub fn capture(argv: &[&str]) -> String {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", argv[0]));
    if !out.status.success() {
        eprintln!(
            "{argv:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        std::process::exit(1);
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `argv` quietly; `Err(stderr)` on failure.
pub fn run_quiet(argv: &[&str]) -> Result<(), String> {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", argv[0]));
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Runs `argv` quietly; exits on failure.
pub fn run_ok(argv: &[&str]) {
    if let Err(e) = run_quiet(argv) {
        eprintln!("{argv:?} failed: {e}");
        std::process::exit(1);
    }
}

/// `iptables-save` text without `#` lines, counters zeroed: what two
/// loads of the same rules must agree on.
pub fn normalize_save(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if line.starts_with(':') {
            if let Some(open) = line.rfind(" [") {
                out.push_str(&line[..open]);
                out.push_str(" [0:0]\n");
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The back end's `iptables-save`, normalized.
pub fn saved(backend: &str) -> String {
    normalize_save(&capture(&[&format!("iptables-{backend}-save")]))
}

/// Where the benchmark keeps its rule files.
pub fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nfdoctor-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

pub fn write_file(path: &Path, text: &str) -> String {
    std::fs::write(path, text).expect("write rules file");
    path.to_string_lossy().into_owned()
}

// ---------------------------------------------------------------------------
// Docker-like rulesets: `benches/save.rs`'s generator. Every port has three
// rules: a DNAT in nat `DOCKER`, a hairpin MASQUERADE in nat `POSTROUTING`
// and an ACCEPT in filter `DOCKER`; plus Docker's fixed chains and jumps.

/// The container address of port `i`.
pub fn ip(i: usize) -> String {
    let n = i + 2;
    format!("172.17.{}.{}", n / 256, n % 256)
}

pub const FILTER_HEAD: &str =
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:DOCKER - [0:0]\n:DOCKER-USER - [0:0]\n\
-A FORWARD -j DOCKER-USER\n-A FORWARD -o docker0 -j DOCKER\n\
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT\n-A FORWARD -i docker0 -o docker0 -j ACCEPT\n";
pub const NAT_HEAD: &str =
    "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n\
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n\
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER\n\
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n-A DOCKER -i docker0 -j RETURN\n";

/// The filter `DOCKER` ACCEPT of port `i`, without `-A DOCKER`.
pub fn accept_spec(i: usize) -> String {
    format!(
        "-d {}/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT",
        ip(i)
    )
}

/// The nat `POSTROUTING` hairpin MASQUERADE of port `i`.
pub fn masquerade_spec(i: usize) -> String {
    let a = ip(i);
    format!("-s {a}/32 -d {a}/32 -p tcp -m tcp --dport 80 -j MASQUERADE")
}

/// The nat `DOCKER` DNAT of port `i` (host port 10000 + i).
pub fn dnat_spec(i: usize) -> String {
    format!(
        "! -i docker0 -p tcp -m tcp --dport {} -j DNAT --to-destination {}:80",
        10_000 + i,
        ip(i)
    )
}

pub fn filter_rules(range: std::ops::Range<usize>, out: &mut String) {
    for i in range {
        out.push_str("-A DOCKER ");
        out.push_str(&accept_spec(i));
        out.push('\n');
    }
}

pub fn nat_rules(range: std::ops::Range<usize>, out: &mut String) {
    for i in range.clone() {
        out.push_str("-A POSTROUTING ");
        out.push_str(&masquerade_spec(i));
        out.push('\n');
    }
    for i in range {
        out.push_str("-A DOCKER ");
        out.push_str(&dnat_spec(i));
        out.push('\n');
    }
}

/// A whole ruleset of `ports` ports (an `iptables-restore` file).
pub fn full_ruleset(ports: usize) -> String {
    let mut text = String::from(FILTER_HEAD);
    filter_rules(0..ports, &mut text);
    text.push_str("COMMIT\n");
    text.push_str(NAT_HEAD);
    nat_rules(0..ports, &mut text);
    text.push_str("COMMIT\n");
    text
}

/// Ports `range` only, for `iptables-restore --noflush` onto a ruleset
/// holding the ports before them.
pub fn port_block(range: std::ops::Range<usize>) -> String {
    let mut text = String::from("*filter\n");
    filter_rules(range.clone(), &mut text);
    text.push_str("COMMIT\n*nat\n");
    nat_rules(range, &mut text);
    text.push_str("COMMIT\n");
    text
}

/// The `iptables -A` arguments of rule `k` of ports starting at `first`:
/// rules cycle through DNAT, MASQUERADE and ACCEPT, port by port (what
/// Docker adds for one published port).
pub fn append_args(first: usize, k: usize) -> Vec<String> {
    let i = first + k / 3;
    let (table, chain, spec) = match k % 3 {
        0 => ("nat", "DOCKER", dnat_spec(i)),
        1 => ("nat", "POSTROUTING", masquerade_spec(i)),
        _ => ("filter", "DOCKER", accept_spec(i)),
    };
    let mut v = vec![s("-w"), s("-t"), s(table), s("-A"), s(chain)];
    v.extend(spec.split(' ').map(str::to_string));
    v
}

/// Empty built-in tables (`iptables-restore` of this flushes everything
/// and deletes user chains).
pub const EMPTY_TABLES: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n\
*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n";

/// Empties the legacy tables with `restore` commands
/// (`iptables-legacy-restore`, `ip6tables-legacy-restore`) of [`EMPTY_TABLES`].
pub fn empty_legacy_tables(restore: &[&str]) {
    let path = std::env::temp_dir().join(format!("nfdoctor-bench-empty-{}", std::process::id()));
    let file = write_file(&path, EMPTY_TABLES);
    for cmd in restore {
        run_ok(&[cmd, &file]);
    }
    let _ = std::fs::remove_file(path);
}

// ---------------------------------------------------------------------------
// Printing.

/// `1.234 s` above a second, `12.3 ms` below.
pub fn fmt_d(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 1.0 {
        format!("{secs:.3} s")
    } else if secs >= 0.001 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{:.0} µs", secs * 1e6)
    }
}

pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "MISS"
    }
}

pub fn header(title: &str) {
    println!();
    println!(
        "-- {title}\n   {:<44} {:>10} {:>10} {:>10} {:>9}  runs",
        "", "median", "min", "cpu", "peak RSS"
    );
}

/// One line of a results table.
pub fn row(label: &str, samples: &Samples, note: &str) {
    if samples.is_empty() {
        println!("   {label:<44} {:>10}  {note}", "skipped");
        return;
    }
    println!(
        "   {label:<44} {:>10} {:>10} {:>10} {:>6.1} MiB  {:>3}  {note}",
        fmt_d(samples.median()),
        fmt_d(samples.min()),
        fmt_d(samples.cpu()),
        samples.rss_mib(),
        samples.len()
    );
}

/// A line for in-process timings (no CPU or RSS of their own).
pub fn row_wall(label: &str, walls: &[Duration], note: &str) {
    let mut v = walls.to_vec();
    v.sort_unstable();
    println!(
        "   {label:<44} {:>10} {:>10} {:>10} {:>9}  {:>3}  {note}",
        fmt_d(median(&v)),
        fmt_d(v.first().copied().unwrap_or_default()),
        "-",
        "-",
        v.len()
    );
}

/// Lines collected for the summary at the end.
#[derive(Debug, Default)]
pub struct Summary(pub Vec<String>);

impl Summary {
    /// `what`: ours against `theirs`, `ratio` = theirs / ours, against
    /// `target` (at least that many times faster).
    pub fn ratio(&mut self, what: &str, ours: Duration, theirs: Duration, target: f64, note: &str) {
        let ratio = theirs.as_secs_f64() / ours.as_secs_f64().max(1e-9);
        self.0.push(format!(
            "{what:<46} {:>10} {:>11} {:>9.2}x {:>7} {}  {note}",
            fmt_d(ours),
            fmt_d(theirs),
            ratio,
            format!(">={target}x"),
            verdict(ratio >= target)
        ));
    }

    /// `what` must take under `limit`.
    pub fn under(&mut self, what: &str, ours: Duration, limit: Duration, note: &str) {
        self.0.push(format!(
            "{what:<46} {:>10} {:>11} {:>10} {:>7} {}  {note}",
            fmt_d(ours),
            "-",
            "-",
            format!("<{}", fmt_d(limit)),
            verdict(ours < limit)
        ));
    }

    pub fn print(&self, title: &str) {
        println!();
        println!("== {title}");
        println!(
            "{:<46} {:>10} {:>11} {:>10} {:>7}",
            "", "nfdoctor", "peer", "speed-up", "target"
        );
        for l in &self.0 {
            println!("{l}");
        }
    }
}
