//! Writing a legacy table (netfilter-abi.md A.5): under the xtables lock,
//! re-read the table and check it is still the one the change was planned
//! on, replace it whole with `SO_SET_REPLACE`, then give the entries their
//! counters back with `SO_SET_ADD_COUNTERS`, the way libiptc's `TC_COMMIT`
//! does.

use super::blob::{decode_table, entry_header_len, Hooks};
use super::encode::{encode_table, EncodeError, EncodedTable, EntryKind};
use super::lock::{LockWait, XtLock};
use super::sockopt::XtKernel;
use crate::backend::{Backend, BackendError};
use crate::ruleset::{Counters, Rule, Table};
use crate::Family;
use nfdoctor_sys::ip6_tables::ip6t_entry;
use nfdoctor_sys::ip_tables::{ipt_entry, ipt_getinfo};
use nfdoctor_sys::x_tables::xt_counters;
use std::path::PathBuf;
use std::time::Duration;

/// What happens to counters over a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CounterMode {
    /// Like libiptc: rules that survive (same handle, same spec, counters
    /// untouched in the model) and unchanged policies keep the kernel's
    /// counters, including what they counted since the table was read;
    /// everything else starts from the model's counters (zero for new
    /// rules, or what `restore --counters` / `-c` gave).
    #[default]
    Keep,
    /// Every entry starts from zero (no `SO_SET_ADD_COUNTERS`).
    Zero,
}

/// Who takes the xtables lock.
#[derive(Debug, Clone)]
pub enum Locking<'a> {
    /// The caller holds it, e.g. across the tables of one restore.
    Held(&'a XtLock),
    /// Take it for this write only, at `path` (default
    /// [`XtLock::default_path`]), waiting as `wait` says.
    Take {
        path: Option<PathBuf>,
        wait: LockWait,
    },
}

#[derive(Debug, Clone)]
pub struct WriteOptions<'a> {
    pub lock: Locking<'a>,
    pub counters: CounterMode,
}

impl<'a> WriteOptions<'a> {
    /// Under a lock the caller holds.
    pub fn with_lock(lock: &'a XtLock) -> Self {
        WriteOptions {
            lock: Locking::Held(lock),
            counters: CounterMode::Keep,
        }
    }

    /// Taking the lock at the default path for this write.
    pub fn take_lock(wait: LockWait) -> Self {
        WriteOptions {
            lock: Locking::Take { path: None, wait },
            counters: CounterMode::Keep,
        }
    }
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReport {
    pub family: Family,
    pub table: String,
    /// False when `after` equalled the kernel's table: nothing was sent.
    pub replaced: bool,
    pub entries_before: u32,
    pub entries_after: u32,
    pub bytes_before: u32,
    pub bytes_after: u32,
    /// Rules of `before` that are in `after` and kept their counters.
    pub rules_kept: usize,
    /// Rules of `after` that are new (or changed).
    pub rules_added: usize,
    /// Rules of `before` that are gone (or changed).
    pub rules_removed: usize,
    /// How long we waited for the lock (zero when the caller held it).
    pub lock_waited: Duration,
    /// `SO_SET_ADD_COUNTERS` failed after the new table was in place: the
    /// rules are written, only their counters were lost.
    pub counters_error: Option<String>,
}

/// Replaces table `after.name` with `after`, provided the kernel's table
/// still is `before` (the table as read, which `after` was planned from).
///
/// Under the lock: re-reads the table; if it differs from `before`
/// (another writer got there first), returns [`BackendError::Conflict`]
/// and writes nothing, so the caller re-reads, re-plans and retries. A
/// replace that the kernel answers with `EAGAIN` (its entry count changed
/// under us, i.e. a writer that ignores the lock) is a conflict too.
pub fn write_table<K: XtKernel>(
    kernel: &mut K,
    family: Family,
    before: &Table,
    after: &Table,
    options: &WriteOptions<'_>,
) -> Result<WriteReport, BackendError> {
    let name = after.name.as_str();
    if before.name != after.name {
        return Err(BackendError::Malformed(format!(
            "legacy: can't write table {} over table {}",
            after.name, before.name
        )));
    }
    let taken;
    let lock_waited = match &options.lock {
        Locking::Held(_) => Duration::ZERO,
        Locking::Take { path, wait } => {
            let path = path.clone().unwrap_or_else(XtLock::default_path);
            taken = XtLock::acquire_at(path, *wait)?;
            taken.waited()
        }
    };

    let snap = read_raw(kernel, family, name)?;
    // Fast check: the kernel holds the very blob `before` encodes to
    // (counters and comefrom aside). Otherwise (a table laid out by another
    // tool, or changed) compare decoded content.
    let unchanged_bytes =
        encode_table(family, before).is_ok_and(|e| same_blob(family, &e, &snap.info, &snap.blob));
    if !unchanged_bytes {
        let current = decode_table(family, name, &snap.hooks(), &snap.blob)?;
        if let Some(detail) = difference(before, &current) {
            return Err(conflict(family, name, detail));
        }
    }
    let encoded = encode_table(family, after)?;
    replace_checked(
        kernel,
        family,
        before,
        after,
        &encoded,
        &snap,
        options.counters,
        lock_waited,
    )
}

/// The write proper, once the kernel's table (`snap`, read under the
/// lock) is known to be `before`.
#[allow(clippy::too_many_arguments)]
fn replace_checked<K: XtKernel>(
    kernel: &mut K,
    family: Family,
    before: &Table,
    after: &Table,
    encoded: &EncodedTable,
    snap: &Snapshot,
    mode: CounterMode,
    lock_waited: Duration,
) -> Result<WriteReport, BackendError> {
    let name = after.name.as_str();
    let (info, blob, hooks) = (&snap.info, snap.blob.as_slice(), snap.hooks());
    if encoded.valid_hooks != info.valid_hooks {
        return Err(BackendError::Encode(EncodeError {
            table: name.to_string(),
            chain: None,
            reason: format!(
                "its built-in chains make hooks {:#04x}, the kernel's table has {:#04x}",
                encoded.valid_hooks, info.valid_hooks
            ),
        }));
    }
    let mut report = WriteReport {
        family,
        table: name.to_string(),
        replaced: false,
        entries_before: info.num_entries,
        entries_after: encoded.num_entries(),
        bytes_before: info.size,
        bytes_after: encoded.size(),
        rules_kept: 0,
        rules_added: 0,
        rules_removed: 0,
        lock_waited,
        counters_error: None,
    };
    if same_chains(after, before) {
        report.rules_kept = before.chains.iter().map(|c| c.rules.len()).sum();
        return Ok(report);
    }

    let header = encoded.replace_header(info.num_entries);
    let old = match kernel.replace(&header, &encoded.blob) {
        Ok(old) => old,
        Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
            return Err(conflict(
                family,
                name,
                format!(
                    "the kernel no longer has {} entries (EAGAIN from SO_SET_REPLACE)",
                    info.num_entries
                ),
            ))
        }
        Err(e) => return Err(replace_error(family, name, e)),
    };
    report.replaced = true;

    // Counters, as libiptc maps them: survivors get what the replace handed
    // back for their old entry, the rest what the model says.
    let before_rules = rules_by_handle(before, info.num_entries as usize);
    let policy_index = policy_indexes(family, blob, &hooks);
    let mut carried = vec![false; before_rules.len()];
    let mut counters = vec![xt_counters::default(); encoded.entries.len()];
    let mut rules_after = 0;
    for (slot, entry) in counters.iter_mut().zip(&encoded.entries) {
        let value = match entry.kind {
            EntryKind::Rule {
                chain,
                rule,
                handle,
            } => {
                rules_after += 1;
                let r = &after.chains[chain].rules[rule];
                let survivor = handle.and_then(|h| usize::try_from(h).ok()).filter(|&h| {
                    h < carried.len()
                        && !carried[h]
                        && before_rules[h]
                            .is_some_and(|b| b.same_spec(r) && b.counters == r.counters)
                });
                match survivor {
                    Some(h) => {
                        carried[h] = true;
                        report.rules_kept += 1;
                        old.get(h).copied().unwrap_or_default()
                    }
                    None => to_xt(r.counters),
                }
            }
            EntryKind::Policy { hook } => {
                let was = before
                    .chains
                    .iter()
                    .find(|c| c.base.as_ref().is_some_and(|b| b.hook == hook));
                let idx = policy_index[hook as usize];
                match (was, idx) {
                    (Some(c), Some(i)) if c.counters == entry.counters => {
                        old.get(i).copied().unwrap_or_default()
                    }
                    _ => to_xt(entry.counters),
                }
            }
            EntryKind::ChainHead | EntryKind::ChainFooter | EntryKind::End => {
                xt_counters::default()
            }
        };
        *slot = value;
    }
    report.rules_added = rules_after - report.rules_kept;
    report.rules_removed = before_rules.iter().flatten().count() - report.rules_kept;
    if mode == CounterMode::Keep && counters.iter().any(|c| c.pcnt != 0 || c.bcnt != 0) {
        // The kernel zeroed every counter on replace; this adds ours.
        if let Err(e) = kernel.add_counters(name, &counters) {
            report.counters_error = Some(format!(
                "SO_SET_ADD_COUNTERS of table {name}: {e} (the new table is in place with zeroed counters)"
            ));
        }
    }
    Ok(report)
}

/// Reads the table under the lock (`before`), lets `plan` compute the new
/// table from it, and writes that. A [`BackendError::Conflict`] (only
/// possible when another writer ignores the lock) re-reads and re-plans,
/// up to `attempts` times in all.
pub fn update_table<K, E, F>(
    kernel: &mut K,
    family: Family,
    name: &str,
    options: &WriteOptions<'_>,
    attempts: usize,
    mut plan: F,
) -> Result<WriteReport, E>
where
    K: XtKernel,
    E: From<BackendError>,
    F: FnMut(&Table) -> Result<Table, E>,
{
    // Held until we return (by the caller, or by `taken`).
    let taken;
    let waited = match &options.lock {
        Locking::Held(_) => Duration::ZERO,
        Locking::Take { path, wait } => {
            let path = path.clone().unwrap_or_else(XtLock::default_path);
            taken = XtLock::acquire_at(path, *wait).map_err(BackendError::from)?;
            taken.waited()
        }
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        // Read, plan and replace under the lock, as iptables does: the read
        // is the check (a writer ignoring the lock still gets EAGAIN).
        let snap = read_raw(kernel, family, name)?;
        let before =
            decode_table(family, name, &snap.hooks(), &snap.blob).map_err(BackendError::from)?;
        let after = plan(&before)?;
        if after.name != before.name {
            return Err(BackendError::Malformed(format!(
                "legacy: can't write table {} over table {}",
                after.name, before.name
            ))
            .into());
        }
        let encoded = encode_table(family, &after).map_err(BackendError::from)?;
        match replace_checked(
            kernel,
            family,
            &before,
            &after,
            &encoded,
            &snap,
            options.counters,
            waited,
        ) {
            Err(e) if e.is_conflict() && attempt < attempts.max(1) => continue,
            Ok(r) => return Ok(r),
            Err(e) => return Err(e.into()),
        }
    }
}

/// A table read for a write, under the xtables lock the caller holds: the
/// model to plan from, and the kernel's raw state to write against.
#[derive(Debug)]
pub struct LockedTable {
    pub table: Table,
    snap: Snapshot,
}

/// Reads table `name` for [`write_locked`] (the caller holds the lock).
/// Reading a table the namespace does not have creates it, as iptables
/// does.
pub fn read_locked<K: XtKernel>(
    kernel: &mut K,
    family: Family,
    name: &str,
) -> Result<LockedTable, BackendError> {
    let snap = read_raw(kernel, family, name)?;
    let table = decode_table(family, name, &snap.hooks(), &snap.blob)?;
    Ok(LockedTable { table, snap })
}

/// Replaces `read`'s table with `after` (planned from `read.table` and
/// already encoded as `encoded`), still under the lock `read` was taken
/// under. Lets a caller plan and encode several tables before writing any.
/// A [`BackendError::Conflict`] (a writer that ignores the lock) means
/// read, plan and write again.
pub fn write_locked<K: XtKernel>(
    kernel: &mut K,
    family: Family,
    read: &LockedTable,
    after: &Table,
    encoded: &EncodedTable,
    counters: CounterMode,
) -> Result<WriteReport, BackendError> {
    if read.table.name != after.name {
        return Err(BackendError::Malformed(format!(
            "legacy: can't write table {} over table {}",
            after.name, read.table.name
        )));
    }
    replace_checked(
        kernel,
        family,
        &read.table,
        after,
        encoded,
        &read.snap,
        counters,
        Duration::ZERO,
    )
}

fn to_xt(c: Counters) -> xt_counters {
    xt_counters {
        pcnt: c.packets,
        bcnt: c.bytes,
    }
}

fn conflict(family: Family, table: &str, detail: String) -> BackendError {
    BackendError::Conflict {
        backend: Backend::Legacy,
        family,
        table: table.to_string(),
        detail,
    }
}

/// A table as the kernel returned it.
#[derive(Debug)]
struct Snapshot {
    info: ipt_getinfo,
    blob: Vec<u8>,
}

impl Snapshot {
    fn hooks(&self) -> Hooks {
        Hooks {
            valid_hooks: self.info.valid_hooks,
            hook_entry: self.info.hook_entry,
            underflow: self.info.underflow,
        }
    }
}

/// GET_INFO + GET_ENTRIES, again while the table changes in between.
fn read_raw<K: XtKernel>(
    kernel: &mut K,
    family: Family,
    name: &str,
) -> Result<Snapshot, BackendError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let info = kernel
            .get_info(name)
            .map_err(|e| BackendError::legacy_io(family, format!("GET_INFO of table {name}"), e))?;
        match kernel.get_entries(name, info.size) {
            Ok(blob) => return Ok(Snapshot { info, blob }),
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && attempts < 10 => continue,
            Err(e) => {
                return Err(BackendError::legacy_io(
                    family,
                    format!("GET_ENTRIES of table {name}"),
                    e,
                ))
            }
        }
    }
}

/// Explains a refused `SO_SET_REPLACE`.
pub(super) fn replace_error(family: Family, table: &str, e: std::io::Error) -> BackendError {
    let hint = match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) | Some(libc::ENOPROTOOPT) => {
            return BackendError::legacy_io(family, format!("SO_SET_REPLACE of table {table}"), e)
        }
        Some(libc::EINVAL) => "an entry is invalid for this kernel: an extension's payload size or options, a match without the protocol it needs (tcp without -p tcp), a target outside the table or chain it is valid in (DNAT outside nat), or a bad verdict or offset; the kernel log (dmesg) usually names the extension",
        Some(libc::ENOENT) => "a match or target is unknown to this kernel (its module is missing or can't be loaded)",
        Some(libc::EPROTOTYPE) => "a match or target revision is not supported by this kernel",
        Some(libc::ELOOP) => "the jumps between chains form a loop",
        Some(libc::ENOMEM) | Some(libc::E2BIG) => "the table is too large for the kernel",
        _ => "see the kernel log (dmesg)",
    };
    BackendError::Refused {
        backend: Backend::Legacy,
        family,
        table: table.to_string(),
        hint: hint.to_string(),
        source: e,
    }
}

/// Whether the kernel's table (`info`, `blob`) is byte for byte the
/// encoding of `before`, counters and `comefrom` aside, with every rule's
/// handle its entry index.
fn same_blob(family: Family, before: &EncodedTable, info: &ipt_getinfo, blob: &[u8]) -> bool {
    if before.num_entries() != info.num_entries
        || before.size() != info.size
        || before.blob.len() != blob.len()
        || before.valid_hooks != info.valid_hooks
    {
        return false;
    }
    let hooks_match = (0..5).all(|h| {
        info.valid_hooks & (1 << h) == 0
            || (before.hook_entry[h] == info.hook_entry[h]
                && before.underflow[h] == info.underflow[h])
    });
    if !hooks_match {
        return false;
    }
    // Per entry: everything but `comefrom` (kernel bookkeeping) and the
    // counters (traffic) must match.
    let (comefrom, counters) = match family {
        Family::Ipv4 => (
            std::mem::offset_of!(ipt_entry, comefrom),
            std::mem::offset_of!(ipt_entry, counters),
        ),
        Family::Ipv6 => (
            std::mem::offset_of!(ip6t_entry, comefrom),
            std::mem::offset_of!(ip6t_entry, counters),
        ),
    };
    let ends = before
        .entries
        .iter()
        .skip(1)
        .map(|e| e.offset as usize)
        .chain(std::iter::once(blob.len()));
    before
        .entries
        .iter()
        .zip(ends)
        .enumerate()
        .all(|(i, (e, end))| {
            let at = e.offset as usize;
            let own_handle = match e.kind {
                EntryKind::Rule { handle, .. } => handle == Some(i as u64),
                _ => true,
            };
            own_handle
                && before.blob[at..at + comefrom] == blob[at..at + comefrom]
                && before.blob[at + comefrom + 4..at + counters]
                    == blob[at + comefrom + 4..at + counters]
                && before.blob[at + counters + 16..end] == blob[at + counters + 16..end]
        })
}

/// Where `current` differs from `before`, ignoring counters (traffic moves
/// them); `None` when it does not.
fn difference(before: &Table, current: &Table) -> Option<String> {
    for c in &current.chains {
        let Some(b) = before.chain(&c.name) else {
            return Some(format!("chain {} was created", c.name));
        };
        if b.base.as_ref().map(|x| (x.hook, x.policy))
            != c.base.as_ref().map(|x| (x.hook, x.policy))
        {
            return Some(format!("chain {}: the policy changed", c.name));
        }
        if b.rules.len() != c.rules.len() {
            return Some(format!(
                "chain {} has {} rules, not {}",
                c.name,
                c.rules.len(),
                b.rules.len()
            ));
        }
        if let Some(i) = b
            .rules
            .iter()
            .zip(&c.rules)
            .position(|(x, y)| !x.same_spec(y) || x.handle != y.handle)
        {
            return Some(format!("chain {}: rule {} changed", c.name, i + 1));
        }
    }
    if let Some(b) = before
        .chains
        .iter()
        .find(|b| current.chain(&b.name).is_none())
    {
        return Some(format!("chain {} was deleted", b.name));
    }
    None
}

/// Same chains, rules, handles, policies and counters.
fn same_chains(a: &Table, b: &Table) -> bool {
    a.chains.len() == b.chains.len()
        && a.chains.iter().all(|x| {
            b.chain(&x.name).is_some_and(|y| {
                x.base.as_ref().map(|z| (z.hook, z.policy))
                    == y.base.as_ref().map(|z| (z.hook, z.policy))
                    && x.counters == y.counters
                    && x.rules == y.rules
            })
        })
}

/// The rules of `table` by handle (entry index), for handles below `n`.
fn rules_by_handle(table: &Table, n: usize) -> Vec<Option<&Rule>> {
    let mut by = vec![None; n];
    for r in table.chains.iter().flat_map(|c| &c.rules) {
        if let Some(h) = r.handle.and_then(|h| usize::try_from(h).ok()) {
            if h < n {
                by[h] = Some(r);
            }
        }
    }
    by
}

/// For each valid hook, the index of its policy entry in the kernel's blob.
fn policy_indexes(family: Family, blob: &[u8], hooks: &Hooks) -> [Option<usize>; 5] {
    let mut out = [None; 5];
    let next_at = match family {
        Family::Ipv4 => std::mem::offset_of!(ipt_entry, next_offset),
        Family::Ipv6 => std::mem::offset_of!(ip6t_entry, next_offset),
    };
    let header = entry_header_len(family);
    let (mut offset, mut index) = (0usize, 0usize);
    while offset + header <= blob.len() {
        for (h, slot) in out.iter_mut().enumerate() {
            if hooks.is_valid(h) && hooks.underflow[h] as usize == offset {
                *slot = Some(index);
            }
        }
        let next = u16::from_ne_bytes([blob[offset + next_at], blob[offset + next_at + 1]]);
        if next == 0 {
            break;
        }
        offset += usize::from(next);
        index += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::legacy::blob::parse_entries;
    use crate::backend::legacy::encode::EncodedTable;
    use crate::ruleset::{BaseChain, Chain, IpSpec, Policy, TableCompat, Target};
    use nfdoctor_sys::ip_tables::ipt_replace;
    use std::io;

    /// An in-memory x_tables kernel: one IPv4 table, with the kernel's
    /// replace and counter rules (counters zeroed on replace, EAGAIN on a
    /// stale `num_counters`, ADD_COUNTERS adds).
    struct Fake {
        info: ipt_getinfo,
        blob: Vec<u8>,
        /// Packets counted by entry `i` between our read and the replace.
        traffic: Vec<(usize, u64)>,
        /// Another writer replaces the table right before our replace.
        intruder: bool,
        refuse: Option<i32>,
        replaces: usize,
        add_counters_calls: usize,
    }

    impl Fake {
        fn new(table: &Table) -> Fake {
            let mut f = Fake {
                info: <ipt_getinfo as nfdoctor_sys::Pod>::zeroed(),
                blob: Vec::new(),
                traffic: Vec::new(),
                intruder: false,
                refuse: None,
                replaces: 0,
                add_counters_calls: 0,
            };
            f.install(&encode_table(Family::Ipv4, table).unwrap());
            f
        }

        fn install(&mut self, e: &EncodedTable) {
            self.info.valid_hooks = e.valid_hooks;
            self.info.hook_entry = e.hook_entry;
            self.info.underflow = e.underflow;
            self.info.num_entries = e.num_entries();
            self.info.size = e.size();
            self.blob = e.blob.clone();
        }

        fn offsets(&self) -> Vec<usize> {
            parse_entries(Family::Ipv4, "filter", &self.blob)
                .unwrap()
                .iter()
                .map(|e| e.offset)
                .collect()
        }

        fn bump(&mut self, index: usize, packets: u64) {
            let at = self.offsets()[index] + 96;
            let mut c = u64::from_ne_bytes(self.blob[at..at + 8].try_into().unwrap());
            c += packets;
            self.blob[at..at + 8].copy_from_slice(&c.to_ne_bytes());
            let b = at + 8;
            let mut c = u64::from_ne_bytes(self.blob[b..b + 8].try_into().unwrap());
            c += packets * 100;
            self.blob[b..b + 8].copy_from_slice(&c.to_ne_bytes());
        }

        fn table(&self) -> Table {
            let hooks = Hooks {
                valid_hooks: self.info.valid_hooks,
                hook_entry: self.info.hook_entry,
                underflow: self.info.underflow,
            };
            decode_table(Family::Ipv4, "filter", &hooks, &self.blob).unwrap()
        }
    }

    impl XtKernel for Fake {
        fn get_info(&mut self, _: &str) -> io::Result<ipt_getinfo> {
            Ok(self.info)
        }
        fn get_entries(&mut self, _: &str, size: u32) -> io::Result<Vec<u8>> {
            if size != self.info.size {
                return Err(io::Error::from_raw_os_error(libc::EAGAIN));
            }
            Ok(self.blob.clone())
        }
        fn replace(&mut self, h: &ipt_replace, blob: &[u8]) -> io::Result<Vec<xt_counters>> {
            for (i, p) in std::mem::take(&mut self.traffic) {
                self.bump(i, p);
            }
            if std::mem::take(&mut self.intruder) {
                let mut t = self.table();
                t.chains[0]
                    .rules
                    .push(Rule::new(IpSpec::default(), vec![], Target::Drop));
                self.install(&encode_table(Family::Ipv4, &t).unwrap());
            }
            if let Some(errno) = self.refuse {
                return Err(io::Error::from_raw_os_error(errno));
            }
            if h.num_counters != self.info.num_entries {
                return Err(io::Error::from_raw_os_error(libc::EAGAIN));
            }
            self.replaces += 1;
            let old: Vec<xt_counters> = self
                .offsets()
                .iter()
                .map(|&o| xt_counters {
                    pcnt: u64::from_ne_bytes(self.blob[o + 96..o + 104].try_into().unwrap()),
                    bcnt: u64::from_ne_bytes(self.blob[o + 104..o + 112].try_into().unwrap()),
                })
                .collect();
            self.info.valid_hooks = h.valid_hooks;
            self.info.hook_entry = h.hook_entry;
            self.info.underflow = h.underflow;
            self.info.num_entries = h.num_entries;
            self.info.size = h.size;
            self.blob = blob.to_vec();
            // The kernel zeroes counters (and comefrom) of new entries.
            for o in self.offsets() {
                self.blob[o + 96..o + 112].fill(0);
            }
            Ok(old)
        }
        fn add_counters(&mut self, _: &str, counters: &[xt_counters]) -> io::Result<()> {
            self.add_counters_calls += 1;
            if counters.len() != self.info.num_entries as usize {
                return Err(io::Error::from_raw_os_error(libc::EINVAL));
            }
            for (o, c) in self.offsets().into_iter().zip(counters) {
                let p = u64::from_ne_bytes(self.blob[o + 96..o + 104].try_into().unwrap());
                let b = u64::from_ne_bytes(self.blob[o + 104..o + 112].try_into().unwrap());
                self.blob[o + 96..o + 104].copy_from_slice(&(p + c.pcnt).to_ne_bytes());
                self.blob[o + 104..o + 112].copy_from_slice(&(b + c.bcnt).to_ne_bytes());
            }
            Ok(())
        }
        fn has_revision(&mut self, _: &str, _: u8, _: bool) -> io::Result<bool> {
            Ok(true)
        }
        fn set_name(&mut self, _: u16) -> io::Result<Option<String>> {
            Ok(None)
        }

        fn set_index(&mut self, _: &str) -> io::Result<Option<u16>> {
            Ok(None)
        }
    }

    fn ctr(packets: u64) -> Counters {
        Counters {
            packets,
            bytes: packets * 100,
        }
    }

    fn rule(target: Target, proto: u16, counters: u64) -> Rule {
        let mut r = Rule::new(
            IpSpec {
                proto,
                ..IpSpec::default()
            },
            vec![],
            target,
        );
        r.counters = ctr(counters);
        r
    }

    fn start() -> Table {
        let chain = |name: &str, hook: u32, rules: Vec<Rule>, c: u64| Chain {
            name: name.into(),
            base: Some(BaseChain {
                hook,
                policy: Policy::Accept,
                priority: None,
                chain_type: None,
            }),
            counters: ctr(c),
            rules,
        };
        Table {
            name: "filter".into(),
            chains: vec![
                chain(
                    "INPUT",
                    1,
                    vec![rule(Target::Accept, 6, 10), rule(Target::Drop, 17, 20)],
                    5,
                ),
                chain("FORWARD", 2, vec![], 1),
                chain("OUTPUT", 3, vec![rule(Target::Accept, 1, 30)], 2),
            ],
            compat: TableCompat::Compatible,
        }
    }

    struct LockDir(PathBuf);
    impl LockDir {
        fn new(tag: &str) -> LockDir {
            let d = std::env::temp_dir()
                .join(format!("nfdoctor-write-unit-{}-{tag}", std::process::id()));
            std::fs::create_dir_all(&d).unwrap();
            LockDir(d)
        }
        fn options(&self) -> WriteOptions<'static> {
            WriteOptions {
                lock: Locking::Take {
                    path: Some(self.0.join("xtables.lock")),
                    wait: LockWait::NoWait,
                },
                counters: CounterMode::Keep,
            }
        }
    }
    impl Drop for LockDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn counters_follow_libiptc() {
        let dir = LockDir::new("counters");
        let mut k = Fake::new(&start());
        let before = super::super::read::read_table(&mut k, Family::Ipv4, "filter").unwrap();
        let mut after = before.clone();
        {
            let input = &mut after.chains[0];
            input.rules.remove(1); // deleted
            input.rules.insert(0, rule(Target::Return, 47, 7)); // restore -c [7:700]
            input.rules.push(rule(Target::Drop, 50, 0)); // new, zero
        }
        after.chains[1].counters = ctr(0); // FORWARD policy counters set to zero
        after.chains[2].rules[0].spec.proto = 58; // changed in place: model counters
        after.chains.push(Chain {
            name: "NEW".into(),
            base: None,
            counters: Counters::default(),
            rules: vec![rule(Target::Return, 0, 0)],
        });
        // Traffic between our read and the replace: INPUT rule 0 (entry 0)
        // and the INPUT policy (entry 2).
        k.traffic = vec![(0, 1), (2, 4)];
        let r = write_table(&mut k, Family::Ipv4, &before, &after, &dir.options()).unwrap();
        assert!(r.replaced);
        assert_eq!((r.rules_kept, r.rules_added, r.rules_removed), (1, 4, 2));
        assert_eq!((r.entries_before, r.entries_after), (7, 11));
        assert_eq!(r.counters_error, None);
        let t = k.table();
        let input = &t.chains[0];
        let got: Vec<(u16, Counters)> = input
            .rules
            .iter()
            .map(|r| (r.spec.proto, r.counters))
            .collect();
        assert_eq!(got, vec![(47, ctr(7)), (6, ctr(11)), (50, ctr(0))]);
        assert_eq!(input.counters, ctr(9)); // 5 + 4 during the write
        assert_eq!(t.chains[1].counters, ctr(0));
        assert_eq!(t.chains[2].counters, ctr(2));
        assert_eq!(t.chains[2].rules[0].counters, ctr(30));
        assert_eq!(t.chain("NEW").unwrap().rules.len(), 1);
    }

    #[test]
    fn zero_mode_skips_add_counters() {
        let dir = LockDir::new("zero");
        let mut k = Fake::new(&start());
        let before = super::super::read::read_table(&mut k, Family::Ipv4, "filter").unwrap();
        let mut after = before.clone();
        after.chains[1].rules.push(rule(Target::Drop, 6, 3));
        let mut o = dir.options();
        o.counters = CounterMode::Zero;
        write_table(&mut k, Family::Ipv4, &before, &after, &o).unwrap();
        assert_eq!(k.add_counters_calls, 0);
        assert!(k
            .table()
            .chains
            .iter()
            .flat_map(|c| &c.rules)
            .all(|r| r.counters == Counters::default()));
    }

    #[test]
    fn a_table_changed_since_the_read_is_a_conflict() {
        let dir = LockDir::new("conflict");
        let mut k = Fake::new(&start());
        let before = super::super::read::read_table(&mut k, Family::Ipv4, "filter").unwrap();
        let mut after = before.clone();
        after.chains[1].rules.push(rule(Target::Drop, 6, 0));
        // Someone appended to OUTPUT meanwhile.
        let mut theirs = before.clone();
        theirs.chains[2].rules.push(rule(Target::Drop, 17, 0));
        k.install(&encode_table(Family::Ipv4, &theirs).unwrap());
        let e = write_table(&mut k, Family::Ipv4, &before, &after, &dir.options()).unwrap_err();
        assert!(e.is_conflict(), "{e}");
        assert!(
            e.to_string().contains("chain OUTPUT has 2 rules, not 1"),
            "{e}"
        );
        assert_eq!(k.replaces, 0);
        // Only counters moved: not a conflict.
        let mut k = Fake::new(&start());
        let before = super::super::read::read_table(&mut k, Family::Ipv4, "filter").unwrap();
        k.bump(0, 50);
        write_table(&mut k, Family::Ipv4, &before, &after, &dir.options()).unwrap();
        assert_eq!(k.table().chains[0].rules[0].counters, ctr(60));
    }

    #[test]
    fn a_blob_laid_out_differently_is_compared_by_content() {
        let dir = LockDir::new("foreign");
        let mut k = Fake::new(&start());
        let before = super::super::read::read_table(&mut k, Family::Ipv4, "filter").unwrap();
        // Another tool left nfcache set: the bytes differ, the rules don't.
        k.blob[84] = 1;
        let mut after = before.clone();
        after.chains[1].rules.push(rule(Target::Drop, 6, 0));
        let r = write_table(&mut k, Family::Ipv4, &before, &after, &dir.options()).unwrap();
        assert!(r.replaced);
        // A changed rule is still a conflict.
        let before = super::super::read::read_table(&mut k, Family::Ipv4, "filter").unwrap();
        let at = k.offsets()[0];
        k.blob[at + 80] = 17; // INPUT rule 0: proto 6 -> 17
        let e = write_table(&mut k, Family::Ipv4, &before, &after, &dir.options()).unwrap_err();
        assert!(e.to_string().contains("chain INPUT: rule 1 changed"), "{e}");
    }

    #[test]
    fn eagain_from_replace_is_a_conflict_and_update_table_retries() {
        let dir = LockDir::new("eagain");
        let mut k = Fake::new(&start());
        let before = super::super::read::read_table(&mut k, Family::Ipv4, "filter").unwrap();
        let mut after = before.clone();
        after.chains[1].rules.push(rule(Target::Drop, 6, 0));
        k.intruder = true;
        let e = write_table(&mut k, Family::Ipv4, &before, &after, &dir.options()).unwrap_err();
        assert!(e.is_conflict(), "{e}");
        assert!(e.to_string().contains("EAGAIN"), "{e}");
        assert_eq!(k.table().chains[0].rules.len(), 3); // the intruder's table

        // update_table re-reads and re-plans.
        let mut k = Fake::new(&start());
        k.intruder = true;
        let mut plans = 0;
        let r = update_table(
            &mut k,
            Family::Ipv4,
            "filter",
            &dir.options(),
            3,
            |t: &Table| -> Result<Table, BackendError> {
                plans += 1;
                let mut t = t.clone();
                t.chains[1].rules.push(rule(Target::Drop, 6, 0));
                Ok(t)
            },
        )
        .unwrap();
        assert_eq!(plans, 2);
        assert!(r.replaced);
        let t = k.table();
        assert_eq!((t.chains[0].rules.len(), t.chains[1].rules.len()), (3, 1));
    }

    #[test]
    fn refused_and_unchanged() {
        let dir = LockDir::new("refused");
        let mut k = Fake::new(&start());
        let before = super::super::read::read_table(&mut k, Family::Ipv4, "filter").unwrap();
        let r = write_table(&mut k, Family::Ipv4, &before, &before, &dir.options()).unwrap();
        assert!(!r.replaced);
        assert_eq!(k.replaces, 0);
        let mut after = before.clone();
        after.chains[1].rules.push(rule(Target::Drop, 6, 0));
        k.refuse = Some(libc::EINVAL);
        let e = write_table(&mut k, Family::Ipv4, &before, &after, &dir.options()).unwrap_err();
        let m = e.to_string();
        assert!(
            m.starts_with(
                "legacy (IPv4): the kernel refused the new filter table: Invalid argument"
            ),
            "{m}"
        );
        assert!(m.ends_with("the table is unchanged"), "{m}");
        k.refuse = Some(libc::ELOOP);
        let e = write_table(&mut k, Family::Ipv4, &before, &after, &dir.options()).unwrap_err();
        assert!(e.to_string().contains("form a loop"), "{e}");
        // A held lock is reported, nothing is read or written.
        k.refuse = None;
        let held = XtLock::acquire_at(dir.0.join("xtables.lock"), LockWait::NoWait).unwrap();
        let e = write_table(&mut k, Family::Ipv4, &before, &after, &dir.options()).unwrap_err();
        assert!(matches!(&e, BackendError::Lock(l) if l.is_busy()), "{e}");
        // With the lock handed in, it works.
        let r = write_table(
            &mut k,
            Family::Ipv4,
            &before,
            &after,
            &WriteOptions::with_lock(&held),
        )
        .unwrap();
        assert!(r.replaced);
    }
}
