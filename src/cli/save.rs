//! `nfdoctor save`: print the kernel's rules as iptables-save does.
//!
//! Text output streams: nf_tables chains are dumped (several at a time
//! when CPUs are free) and printed as their rules arrive; legacy tables are
//! printed one rule at a time straight from their blobs. Memory stays small
//! whatever the ruleset's size. The first
//! [`HOLD_LIMIT`] bytes are held back: up to there, a ruleset that changes
//! under the dump is read again and a table that turns out to be
//! incompatible is replaced by iptables' comment, exactly as iptables-save
//! does. Past it, either ends the command with an error (the output is then
//! incomplete, without its final `COMMIT`).

use super::output::Stdout;
use crate::backend::legacy::blob::TableIndex;
use crate::backend::nft::read::{
    dump_parallel, ChainJob, Delivery, DumpPlan, NftReader, ParallelOptions,
};
use crate::backend::nft::retry::Retry;
use crate::backend::{legacy, ordered, Backend, BackendError};
use crate::ruleset::protocols::ProtoNames;
use crate::ruleset::save::Printer;
use crate::ruleset::{json, Rule, Ruleset, Table, TableCompat};
use crate::Family;
use clap::{Args, ValueEnum};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Output held back (and retractable) before streaming starts.
pub const HOLD_LIMIT: usize = 1 << 20;

/// Text a parallel dump may buffer for chains not printed yet, before its
/// workers wait for the printer.
const BUFFER_BUDGET: usize = 8 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    Nft,
    Legacy,
    /// Every back end that holds rules.
    Auto,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Which kernel back end to read.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// IPv4 rules (iptables-save; the default).
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    ipv4: bool,
    /// IPv6 rules (ip6tables-save).
    #[arg(short = '6', long = "ipv6")]
    ipv6: bool,
    /// Only this table.
    #[arg(short = 't', long = "table")]
    table: Option<String>,
    /// Print packet and byte counters with each rule.
    #[arg(short = 'c', long)]
    counters: bool,
    /// Print the model as JSON (schema in the README).
    #[arg(long)]
    json: bool,
}

pub fn run(args: &SaveArgs) -> i32 {
    let family = if args.ipv6 {
        Family::Ipv6
    } else {
        Family::Ipv4
    };
    let backends = match args.backend {
        BackendChoice::Nft => vec![Backend::Nft],
        BackendChoice::Legacy => vec![Backend::Legacy],
        BackendChoice::Auto => vec![Backend::Nft, Backend::Legacy],
    };
    let auto = args.backend == BackendChoice::Auto;
    let table = args.table.as_deref();
    let fail = |e: &BackendError| {
        eprintln!("nfdoctor: {e}");
        if e.is_permission() {
            4
        } else {
            1
        }
    };
    if args.json {
        let mut read = Vec::new();
        for backend in backends {
            match read_backend(backend, family, table, auto) {
                Ok(rs) => read.push((backend, rs)),
                Err(e) if auto && e.is_unavailable() => {}
                Err(e) => return fail(&e),
            }
        }
        if auto {
            read = holding(read, |(_, rs)| !rs.tables.is_empty());
        }
        let protocols = ProtoNames::system();
        let mut out = Stdout::new();
        if let Err(e) = print_json(&read, family, &protocols, &mut out).and_then(|_| out.flush()) {
            eprintln!("nfdoctor: writing output: {e}");
            return 1;
        }
        return 0;
    }
    // What each back end holds, before anything is printed.
    let mut sources = Vec::new();
    for backend in backends {
        match Source::probe(backend, family, table, auto) {
            Ok(source) => sources.push(source),
            Err(e) if auto && e.is_unavailable() => {}
            Err(e) => return fail(&e),
        }
    }
    if auto {
        sources = holding(sources, Source::holds_tables);
    }
    let protocols = ProtoNames::system();
    let mut out = Stdout::new();
    out.hold(HOLD_LIMIT);
    let style = Style {
        family,
        counters: args.counters,
        protocols: &protocols,
    };
    let several = sources.len() > 1;
    for source in sources {
        let result = match source {
            Source::Nft(reader, plan) => save_nft(reader, plan, table, several, &style, &mut out),
            Source::Legacy(names) => save_legacy(&names, several, &style, &mut out),
        };
        match result {
            Ok(()) if out.is_closed() => return 0,
            Ok(()) => {}
            Err(Failure::Backend(e)) => {
                let _ = out.flush();
                return fail(&e);
            }
            Err(Failure::Output(e)) => {
                eprintln!("nfdoctor: writing output: {e}");
                return 1;
            }
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("nfdoctor: writing output: {e}");
        return 1;
    }
    0
}

/// With `--backend auto`: only back ends that hold something (nft first,
/// as iptables-nft is what `iptables` means on current distributions), or
/// all of them when none does and only one answered.
fn holding<T>(read: Vec<T>, holds: impl Fn(&T) -> bool) -> Vec<T> {
    if read.iter().any(&holds) || read.len() > 1 {
        read.into_iter().filter(|x| holds(x)).collect()
    } else {
        read
    }
}

/// A back end to print, as far as known before its rules are read.
enum Source {
    Nft(NftReader<crate::netlink::NetlinkSocket>, DumpPlan),
    /// The tables to read.
    Legacy(Vec<String>),
}

impl Source {
    fn probe(
        backend: Backend,
        family: Family,
        table: Option<&str>,
        auto: bool,
    ) -> Result<Self, BackendError> {
        match backend {
            Backend::Nft => {
                let mut reader = NftReader::open(family)?;
                let plan = reader.plan(table)?;
                Ok(Source::Nft(reader, plan))
            }
            Backend::Legacy => Ok(Source::Legacy(legacy_tables(family, table, auto))),
        }
    }

    fn holds_tables(&self) -> bool {
        match self {
            Source::Nft(_, plan) => !plan.tables.is_empty(),
            Source::Legacy(names) => !names.is_empty(),
        }
    }
}

enum Failure {
    Backend(BackendError),
    Output(std::io::Error),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Output(e)
    }
}

impl From<BackendError> for Failure {
    fn from(e: BackendError) -> Self {
        Failure::Backend(e)
    }
}

/// How rules are printed: what a [`Printer`] needs besides the set
/// resolver, which each thread makes for itself.
struct Style<'a> {
    family: Family,
    counters: bool,
    protocols: &'a ProtoNames,
}

fn backend_line(backend: Backend) -> String {
    format!("# Backend: {backend}\n")
}

/// Prints the nf_tables tables of `plan`, streaming each chain's rules as
/// they are dumped. Starts again from a new plan when the ruleset changes
/// while the output can still be taken back.
fn save_nft(
    mut reader: NftReader<crate::netlink::NetlinkSocket>,
    mut plan: DumpPlan,
    only: Option<&str>,
    several: bool,
    style: &Style<'_>,
    out: &mut Stdout,
) -> Result<(), Failure> {
    let start = out.position();
    let mut options = ParallelOptions::default();
    options.engine.budget = BUFFER_BUDGET;
    let mut retry = Retry::new();
    while retry.again() {
        if several {
            out.write(&backend_line(Backend::Nft))?;
        }
        match stream_nft(&plan, &options, style, out)? {
            NftEnd::Complete => return Ok(()),
            NftEnd::Changed if out.rewind(start) => plan = reader.plan(only)?,
            NftEnd::Changed => {
                return Err(BackendError::Malformed(
                    "nf_tables: the ruleset changed while it was printed; the output above is \
                     incomplete, run again"
                        .into(),
                )
                .into())
            }
        }
    }
    Err(
        BackendError::Malformed("nf_tables: the ruleset kept changing while it was read".into())
            .into(),
    )
}

enum NftEnd {
    Complete,
    Changed,
}

/// One pass of [`save_nft`].
fn stream_nft(
    plan: &DumpPlan,
    options: &ParallelOptions,
    style: &Style<'_>,
    out: &mut Stdout,
) -> Result<NftEnd, Failure> {
    // As iptables-nft-save shows them: with the built-in chains the kernel
    // lacks (they have no rules, so the jobs do not change).
    let tables: Vec<Table> = plan
        .tables
        .iter()
        .map(|t| Table {
            name: t.name.clone(),
            chains: t.declared_chains(),
            compat: t.compat.clone(),
        })
        .collect();
    let jobs = plan.jobs();
    // Header and chain declarations go out when the first chain of a table
    // is reached; COMMIT when the next table starts.
    let mut cursor = TableCursor {
        tables: &tables,
        marks: vec![0; tables.len()],
        skipped: vec![false; tables.len()],
        next: 0,
    };
    let set_name = set_resolver();
    let printer = style.printer(&set_name);
    let mut result: Result<NftEnd, Failure> = Ok(NftEnd::Complete);
    dump_parallel(
        plan,
        options,
        || {
            let set_name = set_resolver();
            move |job: &ChainJob<'_>, rule: Rule, text: &mut String| {
                style.printer(&set_name).rule(job.chain, &rule, text);
            }
        },
        |job, delivery| {
            let (t, _) = jobs[job];
            let step = (|| -> Result<ControlFlow<()>, Failure> {
                cursor.reach(t, &printer, out)?;
                if cursor.skipped[t] {
                    return Ok(ControlFlow::Continue(()));
                }
                match delivery {
                    Delivery::Rules(text) => out.write(&text)?,
                    Delivery::Done => {}
                    Delivery::Unsupported(e) => {
                        // Like iptables-nft-save: only a comment for the table.
                        if !out.rewind(cursor.marks[t]) {
                            return Err(BackendError::Malformed(format!(
                                "nf_tables: table {} cannot be shown by iptables ({e}), which \
                                 was found after part of it was printed; the output above is \
                                 incomplete",
                                tables[t].name
                            ))
                            .into());
                        }
                        let table = Table {
                            compat: TableCompat::Incompatible {
                                reason: e.to_string(),
                            },
                            ..tables[t].clone()
                        };
                        let mut text = String::new();
                        printer.table_header(&table, &mut text);
                        out.write(&text)?;
                        cursor.skipped[t] = true;
                    }
                    Delivery::Changed => {
                        result = Ok(NftEnd::Changed);
                        return Ok(ControlFlow::Break(()));
                    }
                    Delivery::Failed(e) => return Err(e.into()),
                }
                Ok(if out.is_closed() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                })
            })();
            step.unwrap_or_else(|e| {
                result = Err(e);
                ControlFlow::Break(())
            })
        },
    );
    if !matches!(result, Ok(NftEnd::Complete)) || out.is_closed() {
        return result;
    }
    cursor.reach(tables.len(), &printer, out)?;
    result
}

/// Walks the tables of a streamed dump in order, writing each one's head
/// and its COMMIT.
struct TableCursor<'t> {
    tables: &'t [Table],
    /// Where each opened table's text starts.
    marks: Vec<u64>,
    /// Tables shown as a comment only.
    skipped: Vec<bool>,
    /// The next table to open.
    next: usize,
}

impl TableCursor<'_> {
    /// Closes the open table and opens every table up to `t` (tables
    /// without chains open and close at once).
    fn reach(&mut self, t: usize, printer: &Printer<'_>, out: &mut Stdout) -> std::io::Result<()> {
        while self.next <= t.min(self.tables.len()) {
            if self.next > 0 && !self.skipped[self.next - 1] {
                out.write("COMMIT\n")?;
            }
            if self.next == self.tables.len() {
                self.next += 1;
                break;
            }
            let table = &self.tables[self.next];
            self.marks[self.next] = out.position();
            let mut text = String::new();
            if printer.table_header(table, &mut text) {
                for chain in &table.chains {
                    printer.chain_decl(chain, &mut text);
                }
            } else {
                self.skipped[self.next] = true;
            }
            out.write(&text)?;
            self.next += 1;
        }
        Ok(())
    }
}

impl Style<'_> {
    fn printer<'p>(&'p self, set_name: &'p dyn Fn(u16) -> Option<String>) -> Printer<'p> {
        Printer {
            family: self.family,
            counters: self.counters,
            protocols: self.protocols,
            set_name,
        }
    }
}

/// Prints the legacy tables `names`, one rule at a time straight from each
/// table's blob. Tables are fetched in parallel, and each table's rules
/// are printed in as many parts as there are threads, in parallel too.
fn save_legacy(
    names: &[String],
    several: bool,
    style: &Style<'_>,
    out: &mut Stdout,
) -> Result<(), Failure> {
    if several {
        out.write(&backend_line(Backend::Legacy))?;
    }
    if names.is_empty() {
        return Ok(());
    }
    let options = ordered::Options {
        budget: BUFFER_BUDGET,
        ..ordered::Options::default()
    };
    let tables = LegacyTables {
        names,
        style,
        parts: options.threads,
        fetched: names.iter().map(|_| Mutex::new(None)).collect(),
        unprinted: names
            .iter()
            .map(|_| AtomicUsize::new(options.threads))
            .collect(),
    };
    let mut failure = None;
    ordered::run(&tables, names.len() * tables.parts, &options, |_, d| {
        match d {
            ordered::Delivery::Chunk(text) => {
                if let Err(e) = out.write(&text) {
                    failure = Some(Failure::Output(e));
                    return ControlFlow::Break(());
                }
            }
            ordered::Delivery::End(LegacyEnd::Done) => {}
            ordered::Delivery::End(LegacyEnd::Failed(e)) => {
                failure = Some(Failure::Backend(e));
                return ControlFlow::Break(());
            }
        }
        if out.is_closed() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

/// Text is handed over in pieces of about this size.
const CHUNK: usize = 64 * 1024;

/// A fetched legacy table, ready to print.
struct Fetched {
    table: legacy::TableBlob,
    index: TableIndex,
    /// Rules before each chain, in output order (and the total at the end).
    starts: Vec<usize>,
}

/// What fetching a table left for its printers: the table, or its error
/// (taken by the first part that finds it).
type FetchSlot = Mutex<Option<Result<Arc<Fetched>, Option<BackendError>>>>;

/// Legacy tables as [`ordered`] jobs: fetching each table is a prep; job
/// `t * parts + k` prints part `k` of table `t` (the header with part 0,
/// `COMMIT` with the last).
struct LegacyTables<'a> {
    names: &'a [String],
    style: &'a Style<'a>,
    parts: usize,
    fetched: Vec<FetchSlot>,
    /// Per table, parts not printed yet: the last one lets the blob go.
    unprinted: Vec<AtomicUsize>,
}

enum LegacyEnd {
    Done,
    Failed(BackendError),
}

/// A printing thread's own things.
struct LegacyWorker {
    sock: Option<legacy::RawSocket>,
    set_name: Box<dyn Fn(u16) -> Option<String>>,
    rule: Rule,
}

impl LegacyTables<'_> {
    fn fetch(&self, worker: &mut LegacyWorker, t: usize) -> Result<Fetched, BackendError> {
        let family = self.style.family;
        let sock =
            match &mut worker.sock {
                Some(s) => s,
                None => worker
                    .sock
                    .insert(legacy::RawSocket::open(family).map_err(|e| {
                        BackendError::legacy_io(family, "opening a raw socket".into(), e)
                    })?),
            };
        let name = &self.names[t];
        let fetched = legacy::fetch_table(sock, family, name)?;
        let index = TableIndex::new(family, name, &fetched.hooks, fetched.blob())?;
        let mut starts = Vec::with_capacity(index.chains.len() + 1);
        let mut total = 0;
        for c in 0..index.chains.len() {
            starts.push(total);
            total += index.rule_entries(c).len();
        }
        starts.push(total);
        Ok(Fetched {
            table: fetched,
            index,
            starts,
        })
    }

    fn lock(
        &self,
        t: usize,
    ) -> std::sync::MutexGuard<'_, Option<Result<Arc<Fetched>, Option<BackendError>>>> {
        self.fetched[t].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Rules `[from, to)` (in output order) that part `k` of a table prints.
    fn part(&self, f: &Fetched, k: usize) -> (usize, usize) {
        let total = f.starts.last().copied().unwrap_or(0);
        (total * k / self.parts, total * (k + 1) / self.parts)
    }
}

impl ordered::Jobs for LegacyTables<'_> {
    type Chunk = String;
    type End = LegacyEnd;
    type Worker = LegacyWorker;

    fn worker(&self) -> LegacyWorker {
        LegacyWorker {
            sock: None,
            set_name: Box::new(set_resolver()),
            rule: Rule::new(
                Default::default(),
                Vec::new(),
                crate::ruleset::Target::Continue,
            ),
        }
    }

    fn preps(&self) -> usize {
        self.names.len()
    }

    fn prep(&self, worker: &mut LegacyWorker, t: usize) {
        let result = self.fetch(worker, t).map(Arc::new).map_err(Some);
        *self.lock(t) = Some(result);
    }

    fn needs(&self, job: usize) -> Option<usize> {
        Some(job / self.parts)
    }

    fn weight(&self, job: usize) -> u64 {
        match &*self.lock(job / self.parts) {
            Some(Ok(f)) => {
                let (from, to) = self.part(f, job % self.parts);
                (to - from) as u64
            }
            _ => 0,
        }
    }

    fn run(
        &self,
        worker: &mut LegacyWorker,
        job: usize,
        emit: &mut dyn FnMut(String) -> bool,
    ) -> LegacyEnd {
        let end = self.print_part(worker, job, emit);
        let t = job / self.parts;
        if self.unprinted[t].fetch_sub(1, Ordering::AcqRel) == 1 {
            // Every part is printed: the blob can go (once the last part's
            // own reference does).
            *self.lock(t) = None;
        }
        end
    }
}

impl LegacyTables<'_> {
    fn print_part(
        &self,
        worker: &mut LegacyWorker,
        job: usize,
        emit: &mut dyn FnMut(String) -> bool,
    ) -> LegacyEnd {
        let (t, k) = (job / self.parts, job % self.parts);
        let fetched = match &mut *self.lock(t) {
            Some(Ok(f)) => Arc::clone(f),
            Some(Err(e)) => {
                return match e.take() {
                    Some(e) => LegacyEnd::Failed(e),
                    None => LegacyEnd::Done,
                }
            }
            None => {
                return LegacyEnd::Failed(BackendError::Malformed(format!(
                    "legacy: table {} was not fetched",
                    self.names[t]
                )))
            }
        };
        let f = &*fetched;
        let index = &f.index;
        let printer = self.style.printer(&*worker.set_name);
        let mut text = String::with_capacity(CHUNK + 4096);
        if k == 0 {
            let table = Table {
                name: index.name.clone(),
                chains: Vec::new(),
                compat: TableCompat::Compatible,
            };
            printer.table_header(&table, &mut text);
            for chain in &index.chains {
                printer.chain_decl(chain, &mut text);
            }
        }
        let (from, to) = self.part(f, k);
        // The chain holding rule `from`, and the rest from there.
        let mut c = f.starts.partition_point(|&s| s <= from).saturating_sub(1);
        let mut n = from;
        while n < to && c < index.chains.len() {
            let entries = index.rule_entries(c);
            let skip = n - f.starts[c];
            let take = (f.starts[c + 1] - n).min(to - n);
            for entry in entries.skip(skip).take(take) {
                if let Err(e) = index.fill_rule(f.table.blob(), entry, &mut worker.rule) {
                    return LegacyEnd::Failed(e.into());
                }
                printer.rule(&index.chains[c].name, &worker.rule, &mut text);
                if text.len() >= CHUNK
                    && !emit(std::mem::replace(
                        &mut text,
                        String::with_capacity(CHUNK + 4096),
                    ))
                {
                    return LegacyEnd::Done;
                }
            }
            n += take;
            c += 1;
        }
        if k + 1 == self.parts {
            text.push_str("COMMIT\n");
        }
        if !text.is_empty() {
            emit(text);
        }
        LegacyEnd::Done
    }
}

/// The legacy tables to read: `table` if asked for (with `--backend auto`,
/// only if the kernel already has it: asking x_tables for a table by name
/// makes the kernel create it, and looking must not change the host), else
/// every table the kernel has.
fn legacy_tables(family: Family, table: Option<&str>, auto: bool) -> Vec<String> {
    let present = legacy::table_names(family);
    match table {
        Some(t) if auto => present.into_iter().filter(|p| p == t).collect(),
        Some(t) => vec![t.to_string()],
        None => present,
    }
}

fn read_backend(
    backend: Backend,
    family: Family,
    table: Option<&str>,
    auto: bool,
) -> Result<Ruleset, BackendError> {
    match backend {
        Backend::Legacy => {
            let names = legacy_tables(family, table, auto);
            if names.is_empty() {
                return Ok(Ruleset {
                    family,
                    tables: Vec::new(),
                });
            }
            let mut sock = legacy::RawSocket::open(family)
                .map_err(|e| BackendError::legacy_io(family, "opening a raw socket".into(), e))?;
            legacy::read_ruleset(&mut sock, family, &names)
        }
        Backend::Nft => crate::backend::nft::read_ruleset(family, table),
    }
}

/// Resolves ipset indexes through the kernel, once each.
fn set_resolver() -> impl Fn(u16) -> Option<String> {
    let cache: RefCell<HashMap<u16, Option<String>>> = RefCell::new(HashMap::new());
    let sock: RefCell<Option<legacy::RawSocket>> = RefCell::new(None);
    move |index| {
        if let Some(hit) = cache.borrow().get(&index) {
            return hit.clone();
        }
        let mut sock = sock.borrow_mut();
        if sock.is_none() {
            *sock = legacy::RawSocket::open(Family::Ipv4).ok();
        }
        let name = sock
            .as_mut()
            .and_then(|s| legacy::XtKernel::set_name(s, index).ok().flatten());
        cache.borrow_mut().insert(index, name.clone());
        name
    }
}

fn print_json(
    read: &[(Backend, Ruleset)],
    family: Family,
    protocols: &ProtoNames,
    out: &mut Stdout,
) -> std::io::Result<()> {
    let set_name = set_resolver();
    let printer = Printer {
        family,
        counters: false,
        protocols,
        set_name: &set_name,
    };
    let value = serde_json::json!({
        "schema": "nfdoctor.save/1",
        "family": family,
        "backends": read
            .iter()
            .map(|(b, rs)| json::ruleset(rs, b.as_str(), &printer))
            .collect::<Vec<_>>(),
    });
    out.write(&serde_json::to_string_pretty(&value).unwrap_or_default())?;
    out.write("\n")
}
