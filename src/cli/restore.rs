//! `nfdoctor restore`: load an iptables-restore file into the kernel, with
//! iptables-restore's semantics, atomically and checked against concurrent
//! changes.

use super::restore_fresh::Fresh;
use crate::backend::legacy::lock::{LockWait, XtLock};
use crate::backend::legacy::write::{CounterMode, WriteOptions};
use crate::backend::nft::read::read_planned;
use crate::backend::nft::retry::Retry;
use crate::backend::nft::write::{write_tables, Mode, TableChange, WriteError, MAX_BATCH};
use crate::backend::nft::NftReader;
use crate::backend::revisions::KernelRevisions;
use crate::backend::{legacy, Backend};
use crate::netlink::BatchError;
use crate::ruleset::command::Command;
use crate::ruleset::edit::{builtin_table, plan_block_into, Flush};
use crate::ruleset::protocols::ProtoNames;
use crate::ruleset::restore::{parse_script, Script};
use crate::ruleset::{Chain, Ruleset, Table, TableCompat};
use crate::xt::parse::{ParseCtx, Services};
use crate::xt::revision::Revisions;
use crate::Family;
use clap::{Args, ValueEnum};
use std::cell::RefCell;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Nft,
    Legacy,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The rules file (iptables-save format); `-` or absent: standard input.
    pub(super) file: Option<PathBuf>,
    /// Which kernel back end to write (default: nft).
    #[arg(long, value_enum, default_value = "nft")]
    pub(super) backend: BackendArg,
    /// IPv4 rules (iptables-restore; the default).
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub(super) ipv4: bool,
    /// IPv6 rules (ip6tables-restore).
    #[arg(short = '6', long = "ipv6")]
    pub(super) ipv6: bool,
    /// Do not flush the tables first; declared user chains are flushed.
    #[arg(short = 'n', long)]
    pub(super) noflush: bool,
    /// Check the input against the kernel without changing anything.
    #[arg(short = 't', long)]
    pub(super) test: bool,
    /// Set the counters the file gives (`[packets:bytes]`).
    #[arg(short = 'c', long)]
    pub(super) counters: bool,
    /// Wait up to SECONDS for the xtables lock (legacy back end); without a
    /// value, wait as long as it takes.
    #[arg(short = 'w', long, num_args = 0..=1, default_missing_value = "-1")]
    pub(super) wait: Option<f64>,
    /// Print what was changed.
    #[arg(short = 'v', long)]
    pub(super) verbose: bool,
}

impl RestoreArgs {
    /// How long to wait for the xtables lock (`-w`).
    pub(super) fn lock_wait(&self) -> LockWait {
        match self.wait {
            None => LockWait::NoWait,
            Some(s) if s < 0.0 => LockWait::Forever,
            Some(s) => LockWait::Up(Duration::from_secs_f64(s)),
        }
    }
}

/// The legacy back end's socket, or why there is none.
pub(super) fn open_raw_socket(family: Family) -> Result<legacy::RawSocket, String> {
    legacy::RawSocket::open(family).map_err(|e| {
        crate::backend::BackendError::legacy_io(family, "opening a raw socket".into(), e)
            .to_string()
    })
}

pub fn run(args: &RestoreArgs) -> i32 {
    let family = if args.ipv6 {
        Family::Ipv6
    } else {
        Family::Ipv4
    };
    let text = match read_input(args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("nfdoctor restore: {e}");
            return 1;
        }
    };
    if args.backend == BackendArg::Legacy && !args.noflush {
        // A whole-table load, as nearly every legacy restore is: encoded
        // as parsed, unless the script needs the general path.
        match super::restore_fresh::restore(family, &text, args) {
            Fresh::Done(result) => {
                exit_without_freeing(text);
                return report(result);
            }
            Fresh::BadInput(e) => {
                eprintln!("nfdoctor restore: {e}; nothing was changed");
                return 1;
            }
            Fresh::General => {}
        }
    }
    let mut script = match parse_input(&text, family, args.counters) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("nfdoctor restore: {e}; nothing was changed");
            return 1;
        }
    };
    let mut adapt = at_kernel_revisions(family);
    for (_, command) in script.tables.iter_mut().flat_map(|t| &mut t.commands) {
        adapt(command);
    }
    let backend = match args.backend {
        BackendArg::Nft => Backend::Nft,
        BackendArg::Legacy => Backend::Legacy,
    };
    let result = match backend {
        Backend::Nft => restore_nft(family, &script, args),
        Backend::Legacy => restore_legacy(family, &script, args),
    };
    exit_without_freeing(script);
    exit_without_freeing(text);
    report(result)
}

/// The exit code of a restore, its error printed.
fn report(result: Result<(), String>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(msg) => {
            eprintln!("nfdoctor restore: {msg}");
            1
        }
    }
}

/// Parses an `iptables-save` text as `restore` does (names resolved from
/// the system's files, ipsets from the kernel).
pub fn parse_input(text: &str, family: Family, counters: bool) -> Result<Script, String> {
    with_parse_ctx(family, |ctx| {
        parse_script(text, ctx, counters).map_err(|e| e.to_string())
    })
}

/// Puts a command's rules at the revisions this kernel has, as
/// iptables-restore writes them (both load paths).
pub(super) fn at_kernel_revisions(family: Family) -> impl FnMut(&mut Command) {
    let mut revisions = Revisions::new(KernelRevisions::new(family));
    move |c: &mut Command| {
        c.adapt_revisions(family, &mut revisions);
    }
}

/// Runs `f` with the context `restore` parses in (names resolved from the
/// system's files, ipsets from the kernel, looked up on first use).
pub(super) fn with_parse_ctx<R>(family: Family, f: impl FnOnce(&ParseCtx<'_>) -> R) -> R {
    let protocols = ProtoNames::system();
    let services = Services::system();
    let sets: RefCell<Option<legacy::RawSocket>> = RefCell::new(None);
    let set_index = |name: &str| -> Option<u16> {
        let mut s = sets.borrow_mut();
        if s.is_none() {
            *s = legacy::RawSocket::open(Family::Ipv4).ok();
        }
        s.as_mut()
            .and_then(|s| legacy::XtKernel::set_index(s, name).ok().flatten())
    };
    let ctx = ParseCtx {
        family,
        proto: 0,
        proto_invert: false,
        table: "",
        protocols: &protocols,
        services: &services,
        set_index: &set_index,
    };
    f(&ctx)
}

/// Leaves a large value for the process's exit to reclaim: freeing a
/// ruleset of 150k rules rule by rule takes a tenth of a second, for
/// nothing, as the process ends right after.
pub(super) fn exit_without_freeing<T>(value: T) {
    std::mem::forget(value);
}

fn read_input(args: &RestoreArgs) -> std::io::Result<String> {
    let mut text = String::new();
    match &args.file {
        Some(p) if p.as_os_str() != "-" => {
            text = std::fs::read_to_string(p)?;
        }
        _ => {
            std::io::stdin().read_to_string(&mut text)?;
        }
    }
    Ok(text)
}

fn empty_table(name: &str) -> Table {
    Table {
        name: name.to_string(),
        chains: Vec::new(),
        compat: TableCompat::Compatible,
    }
}

/// A planned table: its name, the table as read (if it exists), after.
pub type PlannedTable<'a> = (String, Option<&'a Table>, Table);

/// Plans every block against `current` (nf_tables: built-in chains exist
/// only where declared); returns (table name, the table as read, after).
pub fn plan<'a>(
    script: &Script,
    current: &'a Ruleset,
    flush: Flush,
    builtins_persist: bool,
) -> Result<Vec<PlannedTable<'a>>, String> {
    let mut out: Vec<PlannedTable<'a>> = Vec::new();
    for block in &script.tables {
        let seen = out.iter().position(|(n, _, _)| n == &block.name);
        let read = current.tables.iter().find(|t| t.name == block.name);
        // Where this block starts: the previous block's result, else the
        // table as read (nothing of it when the block flushes a table that
        // is deleted and written anew).
        let start = match seen {
            Some(i) => std::mem::replace(&mut out[i].2, empty_table(&block.name)),
            None if flush == Flush::Table && !builtins_persist => empty_table(&block.name),
            None => read.cloned().unwrap_or_else(|| empty_table(&block.name)),
        };
        if flush == Flush::None {
            if let TableCompat::Incompatible { reason } = &start.compat {
                return Err(format!(
                    "table {} holds rules iptables cannot express ({reason}); refusing to edit it with --noflush",
                    block.name
                ));
            }
        }
        let after = plan_block_into(start, block, flush, builtins_persist)
            .map_err(|e| format!("{e}; nothing was changed"))?;
        match seen {
            Some(i) => out[i].2 = after,
            None => out.push((block.name.clone(), read, after)),
        }
    }
    Ok(out)
}

/// Whether `script` only appends rules and creates chains that do not exist
/// in `chains` (the tables' chains, without rules): then nothing it does
/// depends on the rules already there. (Declaring an existing chain flushes
/// it under --noflush, and -I/-D/-R/-F/-X/-Z/-P need the rules.)
fn only_appends(script: &Script, chains: &Ruleset) -> bool {
    script.tables.iter().all(|block| {
        let table = chains.tables.iter().find(|t| t.name == block.name);
        let exists = |name: &str| table.is_some_and(|t| t.chain(name).is_some());
        block.chains.iter().all(|d| !exists(&d.name))
            && block.commands.iter().all(|(_, c)| match c {
                Command::Append { .. } => true,
                Command::NewChain(name) => !exists(name),
                _ => false,
            })
    })
}

fn restore_nft(family: Family, script: &Script, args: &RestoreArgs) -> Result<(), String> {
    let flush = if args.noflush {
        Flush::None
    } else {
        Flush::Table
    };
    let mut reader = NftReader::open(family).map_err(|e| e.to_string())?;
    let mut retry = Retry::new();
    while retry.again() {
        // A --noflush script that only appends needs the chains, not the
        // rules already in them (iptables-nft -A reads no rules either):
        // on a host of thousands of rules, reading them is most of the cost.
        let dump_plan = reader.plan(None).map_err(|e| e.to_string())?;
        let genid = dump_plan.genid;
        let chains_only = Ruleset {
            family,
            tables: dump_plan.empty_tables(),
        };
        let append_only = args.noflush && only_appends(script, &chains_only);
        let current = if append_only {
            chains_only
        } else {
            match read_planned(&dump_plan).map_err(|e| e.to_string())? {
                Some(rs) => rs,
                None => continue,
            }
        };
        let planned = plan(script, &current, flush, false)?;
        let mode = match (args.noflush, append_only) {
            (true, true) => Mode::Append,
            (true, false) => Mode::Update,
            (false, _) => Mode::Replace,
        };
        let changes: Vec<TableChange<'_>> = planned
            .iter()
            .map(|(_, before, after)| TableChange {
                before: *before,
                after,
                mode,
            })
            .collect();
        match write_tables(
            reader.connection(),
            family,
            genid,
            &changes,
            !args.test,
            MAX_BATCH,
        ) {
            Ok(report) => {
                exit_without_freeing(changes);
                exit_without_freeing(planned);
                exit_without_freeing(current);
                if let Some(why) = &report.split_reason {
                    eprintln!("nfdoctor restore: note: {why}");
                }
                if args.verbose {
                    eprintln!(
                        "nfdoctor restore: {} tables replaced, {} chains created, {} deleted, {} policies set, \
                         {} rules added, {} deleted ({} messages, {} bytes){}",
                        report.tables_replaced,
                        report.chains_created,
                        report.chains_deleted,
                        report.policies_set,
                        report.rules_added,
                        report.rules_deleted,
                        report.messages,
                        report.bytes,
                        if args.test { "; test only, nothing committed" } else { "" }
                    );
                }
                return Ok(());
            }
            Err(WriteError::Batch(BatchError::Conflict { .. })) => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!(
        "the ruleset kept changing under us; gave up after {} attempts (nothing was changed)",
        retry.attempts()
    ))
}

fn restore_legacy(family: Family, script: &Script, args: &RestoreArgs) -> Result<(), String> {
    let flush = if args.noflush {
        Flush::None
    } else {
        Flush::Table
    };
    let wait = args.lock_wait();
    let mut kernel = open_raw_socket(family)?;
    // Tables in the order the input first names them; each gets every
    // block written for it.
    let mut names: Vec<&str> = Vec::new();
    for b in &script.tables {
        if !names.contains(&b.name.as_str()) {
            names.push(&b.name);
        }
    }
    let existing = legacy::table_names(family);
    let lock = if args.test {
        None
    } else {
        Some(XtLock::acquire(wait).map_err(|e| e.to_string())?)
    };
    // Read (under the lock), plan and encode every table before writing
    // any, so a wrong line changes nothing. A table the namespace does not
    // have yet is planned against its empty form: reading it would create
    // it.
    let mut planned = Vec::new();
    for name in &names {
        let read = if lock.is_some() && existing.iter().any(|t| t == name) {
            Some(legacy::read_locked(&mut kernel, family, name).map_err(|e| e.to_string())?)
        } else {
            None
        };
        let other;
        let current = match &read {
            Some(r) => &r.table,
            // --test: read without the lock (it writes nothing).
            None if existing.iter().any(|t| t == name) => {
                other = legacy::read_table(&mut kernel, family, name).map_err(|e| e.to_string())?;
                &other
            }
            None => {
                other = builtin_table(name);
                &other
            }
        };
        let after = plan_table(script, name, current, flush)?;
        let encoded = legacy::encode_table(family, &after).map_err(|e| e.to_string())?;
        planned.push((*name, read, after, encoded));
    }
    let Some(lock) = lock else {
        // --test: checked, nothing written.
        return Ok(());
    };
    for (name, read, after, encoded) in &mut planned {
        let name = *name;
        if read.is_none() {
            let r = legacy::read_locked(&mut kernel, family, name).map_err(|e| e.to_string())?;
            if r.table != builtin_table(name) {
                // Someone else created it meanwhile: plan against it.
                *after = plan_table(script, name, &r.table, flush)?;
                *encoded = legacy::encode_table(family, after).map_err(|e| e.to_string())?;
            }
            *read = Some(r);
        }
        let Some(read) = read.as_ref() else { continue };
        let report = match legacy::write_locked(
            &mut kernel,
            family,
            read,
            after,
            encoded,
            CounterMode::Keep,
        ) {
            // A writer that ignores the lock changed the table since it
            // was read: read, plan and write it again.
            Err(e) if e.is_conflict() => legacy::write::update_table(
                &mut kernel,
                family,
                name,
                &WriteOptions::with_lock(&lock),
                5,
                |current: &Table| {
                    plan_table(script, name, current, flush).map_err(PlanOrWrite::Plan)
                },
            )
            .map_err(|e| e.to_string())?,
            r => r.map_err(|e| e.to_string())?,
        };
        tell_written(name, &report, args.verbose);
    }
    exit_without_freeing(planned);
    Ok(())
}

/// What became of a legacy table written: a counters problem always,
/// the counts with `-v`.
pub(super) fn tell_written(name: &str, report: &legacy::write::WriteReport, verbose: bool) {
    if let Some(e) = &report.counters_error {
        eprintln!("nfdoctor restore: note: table {name} was written, but carrying its counters over failed: {e}");
    }
    if verbose {
        eprintln!(
            "nfdoctor restore: {name}: {} rules kept, {} added, {} removed ({} -> {} entries)",
            report.rules_kept,
            report.rules_added,
            report.rules_removed,
            report.entries_before,
            report.entries_after
        );
    }
}

/// Applies every block for table `name` to `current` (legacy: built-in
/// chains always exist).
pub fn plan_table(
    script: &Script,
    name: &str,
    current: &Table,
    flush: Flush,
) -> Result<Table, String> {
    let mut blocks = script.tables.iter().filter(|b| b.name == name).peekable();
    // A flushing block keeps only the built-in chains (policies and their
    // counters): copy nothing else.
    let mut table = if flush == Flush::Table && blocks.peek().is_some() {
        Table {
            name: current.name.clone(),
            chains: current
                .chains
                .iter()
                .filter(|c| c.is_builtin())
                .map(|c| Chain {
                    name: c.name.clone(),
                    base: c.base.clone(),
                    counters: c.counters,
                    rules: Vec::new(),
                })
                .collect(),
            compat: TableCompat::Compatible,
        }
    } else {
        current.clone()
    };
    for block in blocks {
        table = plan_block_into(table, block, flush, true)
            .map_err(|e| format!("{e}; nothing was changed"))?;
    }
    Ok(table)
}

/// A restore step's failure: the input against the current table, or the
/// kernel write.
#[derive(Debug, thiserror::Error)]
enum PlanOrWrite {
    #[error("{0}")]
    Plan(String),
    #[error(transparent)]
    Write(#[from] crate::backend::BackendError),
}
