//! `nfdoctor restore`: load an iptables-restore file into the kernel, with
//! iptables-restore's semantics, atomically and checked against concurrent
//! changes.

use crate::backend::legacy::lock::{LockWait, XtLock};
use crate::backend::legacy::write::WriteOptions;
use crate::backend::nft::retry::Retry;
use crate::backend::nft::write::{
    read_for_write_parallel, write_tables, Mode, TableChange, WriteError,
};
use crate::backend::nft::NftReader;
use crate::backend::{legacy, Backend};
use crate::netlink::BatchError;
use crate::ruleset::edit::{plan_block, Flush};
use crate::ruleset::protocols::ProtoNames;
use crate::ruleset::restore::{parse_script, Script};
use crate::ruleset::{Ruleset, Table, TableCompat};
use crate::xt::parse::{ParseCtx, Services};
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
    file: Option<PathBuf>,
    /// Which kernel back end to write (default: nft).
    #[arg(long, value_enum, default_value = "nft")]
    backend: BackendArg,
    /// IPv4 rules (iptables-restore; the default).
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    ipv4: bool,
    /// IPv6 rules (ip6tables-restore).
    #[arg(short = '6', long = "ipv6")]
    ipv6: bool,
    /// Do not flush the tables first; declared user chains are flushed.
    #[arg(short = 'n', long)]
    noflush: bool,
    /// Check the input against the kernel without changing anything.
    #[arg(short = 't', long)]
    test: bool,
    /// Set the counters the file gives (`[packets:bytes]`).
    #[arg(short = 'c', long)]
    counters: bool,
    /// Wait up to SECONDS for the xtables lock (legacy back end); without a
    /// value, wait as long as it takes.
    #[arg(short = 'w', long, num_args = 0..=1, default_missing_value = "-1")]
    wait: Option<f64>,
    /// Print what was changed.
    #[arg(short = 'v', long)]
    verbose: bool,
}

/// The largest batch we try in one send before splitting.
pub const MAX_BATCH: usize = 64 << 20;

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
    let script = match parse_input(&text, family, args.counters) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("nfdoctor restore: {e}; nothing was changed");
            return 1;
        }
    };
    let backend = match args.backend {
        BackendArg::Nft => Backend::Nft,
        BackendArg::Legacy => Backend::Legacy,
    };
    let result = match backend {
        Backend::Nft => restore_nft(family, &script, args),
        Backend::Legacy => restore_legacy(family, &script, args),
    };
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
    parse_script(text, &ctx, counters).map_err(|e| e.to_string())
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

/// Plans every block against `current` (nf_tables: built-in chains exist
/// only where declared); returns (table name, before, after).
pub fn plan(
    script: &Script,
    current: &Ruleset,
    flush: Flush,
    builtins_persist: bool,
) -> Result<Vec<(String, Option<Table>, Table)>, String> {
    let mut out: Vec<(String, Option<Table>, Table)> = Vec::new();
    for block in &script.tables {
        let before = match out.iter().find(|(n, _, _)| n == &block.name) {
            Some((_, _, after)) => Some(after.clone()),
            None => current
                .tables
                .iter()
                .find(|t| t.name == block.name)
                .cloned(),
        };
        if flush == Flush::None {
            if let Some(TableCompat::Incompatible { reason }) = before.as_ref().map(|t| &t.compat) {
                return Err(format!(
                    "table {} holds rules iptables cannot express ({reason}); refusing to edit it with --noflush",
                    block.name
                ));
            }
        }
        let start = before.clone().unwrap_or_else(|| empty_table(&block.name));
        let (_, after) = plan_block(&start, block, flush, builtins_persist)
            .map_err(|e| format!("{e}; nothing was changed"))?;
        match out.iter_mut().find(|(n, _, _)| n == &block.name) {
            Some(entry) => entry.2 = after,
            None => out.push((block.name.clone(), before, after)),
        }
    }
    Ok(out)
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
        let (current, genid) = read_for_write_parallel(family).map_err(|e| e.to_string())?;
        let planned = plan(script, &current, flush, false)?;
        let mode = if args.noflush {
            Mode::Update
        } else {
            Mode::Replace
        };
        let changes: Vec<TableChange<'_>> = planned
            .iter()
            .map(|(_, before, after)| TableChange {
                before: before.as_ref(),
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
    let wait = match args.wait {
        None => LockWait::NoWait,
        Some(s) if s < 0.0 => LockWait::Forever,
        Some(s) => LockWait::Up(Duration::from_secs_f64(s)),
    };
    let mut kernel = legacy::RawSocket::open(family).map_err(|e| {
        crate::backend::BackendError::legacy_io(family, "opening a raw socket".into(), e)
            .to_string()
    })?;
    // Tables in the order the input first names them; each gets every
    // block written for it.
    let mut names: Vec<&str> = Vec::new();
    for b in &script.tables {
        if !names.contains(&b.name.as_str()) {
            names.push(&b.name);
        }
    }
    // Check every table against the kernel's current state before writing
    // any, so a wrong line changes nothing.
    let mut planned = Vec::new();
    let existing = legacy::table_names(family);
    for name in &names {
        // Reading a table the namespace does not have yet would create it:
        // plan against its empty form instead (a test run changes nothing).
        let current = if existing.iter().any(|t| t == name) {
            legacy::read_table(&mut kernel, family, name).map_err(|e| e.to_string())?
        } else {
            crate::ruleset::edit::builtin_table(name)
        };
        let after = plan_table(script, name, &current, flush)?;
        legacy::encode::encode_table(family, &after).map_err(|e| e.to_string())?;
        planned.push((name, after));
    }
    if args.test {
        return Ok(());
    }
    let lock = XtLock::acquire(wait).map_err(|e| e.to_string())?;
    for (name, _) in &planned {
        let report = legacy::write::update_table(
            &mut kernel,
            family,
            name,
            &WriteOptions::with_lock(&lock),
            5,
            |current: &Table| plan_table(script, name, current, flush).map_err(PlanOrWrite::Plan),
        )
        .map_err(|e| e.to_string())?;
        if let Some(e) = &report.counters_error {
            eprintln!("nfdoctor restore: note: table {name} was written, but carrying its counters over failed: {e}");
        }
        if args.verbose {
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
    Ok(())
}

/// Applies every block for table `name` to `current` (legacy: built-in
/// chains always exist).
pub fn plan_table(
    script: &Script,
    name: &str,
    current: &Table,
    flush: Flush,
) -> Result<Table, String> {
    let mut table = current.clone();
    for block in script.tables.iter().filter(|b| b.name == name) {
        let (_, after) = plan_block(&table, block, flush, true)
            .map_err(|e| format!("{e}; nothing was changed"))?;
        table = after;
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
