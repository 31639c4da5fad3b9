//! `restore --backend legacy` of whole tables (no `--noflush`), the usual
//! `iptables-restore FILE`: rules are encoded as they are parsed
//! ([`legacy::fresh`]) and only what survives a flush is read of the
//! kernel's tables ([`legacy::load`]). A script this path does not take,
//! or a kernel table it cannot read that way, goes to the general path
//! before anything is written.

use super::restore::{
    at_kernel_revisions, exit_without_freeing, open_raw_socket, tell_written, with_parse_ctx,
    RestoreArgs,
};
use crate::backend::legacy::fresh::{parse_fresh, FreshTable, KernelPolicy};
use crate::backend::legacy::load::{read_kernel_table, replace_fresh, KernelTable};
use crate::backend::legacy::{self, CounterMode, RawSocket, XtLock};
use crate::ruleset::{Counters, Policy};
use crate::Family;
use nfdoctor_sys::netfilter::NF_INET_NUMHOOKS;

/// What became of a restore on this path.
pub(super) enum Fresh {
    /// Written (or failed while writing, or checked with `--test`).
    Done(Result<(), String>),
    /// A line that does not parse; nothing was changed.
    BadInput(String),
    /// The general path must do it; nothing was changed.
    General,
}

/// Attempts to restore `text` into whole legacy tables.
pub(super) fn restore(family: Family, text: &str, args: &RestoreArgs) -> Fresh {
    let mut adapt = at_kernel_revisions(family);
    let parsed = with_parse_ctx(family, |ctx| {
        parse_fresh(text, ctx, args.counters, &mut adapt)
    });
    let tables = match parsed {
        Ok(Some(tables)) => tables,
        Ok(None) => return Fresh::General,
        Err(e) => return Fresh::BadInput(e.to_string()),
    };
    let outcome = load(family, &tables, args);
    exit_without_freeing(tables);
    match outcome {
        Some(result) => Fresh::Done(result),
        None => Fresh::General,
    }
}

/// The built-in chains of a table the kernel creates: ACCEPT, no traffic.
const CREATED: [Option<KernelPolicy>; NF_INET_NUMHOOKS] = [Some(KernelPolicy {
    policy: Policy::Accept,
    counters: Counters {
        packets: 0,
        bytes: 0,
    },
}); NF_INET_NUMHOOKS];

/// Reads every table the namespace has (under the lock) and joins every
/// table before writing any, so nothing is written when one cannot be.
/// `None`: a kernel table needs the general path (nothing was written).
fn load(family: Family, tables: &[FreshTable], args: &RestoreArgs) -> Option<Result<(), String>> {
    let mut kernel = match open_raw_socket(family) {
        Ok(k) => k,
        Err(e) => return Some(Err(e)),
    };
    let existing = legacy::table_names(family);
    let lock = if args.test {
        None
    } else {
        match XtLock::acquire(args.lock_wait()) {
            Ok(lock) => Some(lock),
            Err(e) => return Some(Err(e.to_string())),
        }
    };
    let mut ready = Vec::with_capacity(tables.len());
    for t in tables {
        // A table the namespace does not have yet is read right before it
        // is written: reading creates it. Until then it is taken as the
        // kernel creates it.
        let current = if existing.iter().any(|n| n == t.name()) {
            match read(&mut kernel, family, t) {
                Ok(Some(c)) => Some(c),
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            }
        } else {
            None
        };
        let policies = current.as_ref().map_or(CREATED, |c| c.policies);
        let joined = t.join(&policies)?;
        ready.push((current, joined));
    }
    let Some(lock) = lock else {
        // --test: checked, nothing written.
        return Some(Ok(()));
    };
    let mut result = Ok(());
    for (t, (current, joined)) in tables.iter().zip(ready) {
        if let Err(e) = write(&mut kernel, family, t, current, joined, args) {
            result = Err(e);
            break;
        }
    }
    drop(lock);
    Some(result)
}

/// The kernel's table `t` names; `Ok(None)` if this path cannot take it.
fn read(
    kernel: &mut RawSocket,
    family: Family,
    t: &FreshTable,
) -> Result<Option<KernelTable>, String> {
    let current = read_kernel_table(kernel, family, t.name()).map_err(|e| e.to_string())?;
    Ok(current.filter(|c| c.valid_hooks == t.valid_hooks()))
}

fn write(
    kernel: &mut RawSocket,
    family: Family,
    t: &FreshTable,
    current: Option<KernelTable>,
    joined: legacy::fresh::JoinedTable,
    args: &RestoreArgs,
) -> Result<(), String> {
    let name = t.name();
    let (current, joined) = match current {
        Some(c) => (c, joined),
        None => {
            let c = read(kernel, family, t)?.ok_or_else(|| {
                format!("table {name} was created with built-in chains iptables does not make")
            })?;
            let joined = t
                .join(&c.policies)
                .ok_or_else(|| format!("table {name}: its built-in chains changed"))?;
            (c, joined)
        }
    };
    let report = replace_fresh(kernel, family, t, current, joined, CounterMode::Keep, 5)
        .map_err(|e| e.to_string())?;
    tell_written(name, &report, args.verbose);
    Ok(())
}
