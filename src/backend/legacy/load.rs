//! Writing a table built by [`super::fresh`] (netfilter-abi.md A.5): read
//! the kernel's table raw, only for what a flushing load keeps of it (its
//! built-in chains' policies and counters, its entry count), join the
//! blob, replace the table with `SO_SET_REPLACE` and give the policies
//! their counters back with `SO_SET_ADD_COUNTERS`, as libiptc's
//! `TC_COMMIT` does. The old rules are never decoded: none of them
//! survives.

use super::fresh::{FreshTable, JoinedTable, KernelPolicy, REPLACE_HEADER};
use super::read::fetch_table;
use super::sockopt::XtKernel;
use super::write::{CounterMode, WriteReport};
use crate::backend::{Backend, BackendError};
use crate::ruleset::{Counters, Policy};
use crate::Family;
use nfdoctor_sys::ip6_tables::ip6t_entry;
use nfdoctor_sys::ip_tables::{ipt_entry, ipt_replace};
use nfdoctor_sys::netfilter::{NF_ACCEPT, NF_DROP, NF_INET_NUMHOOKS};
use nfdoctor_sys::x_tables::{xt_counters, xt_entry_target, XT_ERROR_TARGET};
use nfdoctor_sys::{c_name, c_name_bytes};
use std::mem::{offset_of, size_of};
use std::time::Duration;

/// What a flushing load needs of the kernel's table.
#[derive(Debug, Clone)]
pub struct KernelTable {
    pub valid_hooks: u32,
    /// Entries, i.e. the `num_counters` a replace must name.
    pub entries: u32,
    pub size: u32,
    /// Rules (entries that are not policies, chain heads, footers or the
    /// final entry).
    pub rules: usize,
    /// Per hook: the built-in chain's policy and counters.
    pub policies: [Option<KernelPolicy>; NF_INET_NUMHOOKS],
    /// Per hook: the index of the policy entry.
    policy_index: [Option<usize>; NF_INET_NUMHOOKS],
    /// No user chain, no rule.
    bare: bool,
}

/// Where the fields an entry walk needs sit in `family`'s entry header.
struct Layout {
    header: usize,
    target_offset: usize,
    next_offset: usize,
    counters: usize,
}

impl Layout {
    fn of(family: Family) -> Layout {
        match family {
            Family::Ipv4 => Layout {
                header: size_of::<ipt_entry>(),
                target_offset: offset_of!(ipt_entry, target_offset),
                next_offset: offset_of!(ipt_entry, next_offset),
                counters: offset_of!(ipt_entry, counters),
            },
            Family::Ipv6 => Layout {
                header: size_of::<ip6t_entry>(),
                target_offset: offset_of!(ip6t_entry, target_offset),
                next_offset: offset_of!(ip6t_entry, next_offset),
                counters: offset_of!(ip6t_entry, counters),
            },
        }
    }

    /// Offsets of the entries of `blob`, in order; stops at a malformed
    /// entry.
    fn entries<'b>(&'b self, blob: &'b [u8]) -> impl Iterator<Item = usize> + 'b {
        let mut at = 0usize;
        std::iter::from_fn(move || {
            if at + self.header > blob.len() {
                return None;
            }
            let here = at;
            let next = usize::from(u16_at(blob, here + self.next_offset));
            at = if next == 0 { blob.len() } else { here + next };
            Some(here)
        })
    }

    fn counters(&self, blob: &[u8], entry: usize) -> Counters {
        let at = entry + self.counters;
        Counters {
            packets: u64_at(blob, at),
            bytes: u64_at(blob, at + 8),
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_ne_bytes(x)
}

/// Reads table `name` for a flushing load (the kernel creates a missing
/// built-in table, as iptables-legacy does). `Ok(None)`: a built-in chain
/// whose policy is neither ACCEPT nor DROP, or a malformed blob; the
/// general path deals with those.
pub fn read_kernel_table<K: XtKernel>(
    kernel: &mut K,
    family: Family,
    name: &str,
) -> Result<Option<KernelTable>, BackendError> {
    let t = fetch_table(kernel, family, name)?;
    let blob = t.blob();
    let layout = Layout::of(family);
    let error_name: [u8; 29] = c_name(XT_ERROR_TARGET).expect("short name");
    let mut policies = [None; NF_INET_NUMHOOKS];
    let mut policy_index = [None; NF_INET_NUMHOOKS];
    let (mut entries, mut heads) = (0usize, 0usize);
    for (index, at) in layout.entries(blob).enumerate() {
        entries += 1;
        let target = at + usize::from(u16_at(blob, at + layout.target_offset));
        let name_at = target + offset_of!(xt_entry_target, name);
        let Some(tname) = blob.get(name_at..name_at + error_name.len()) else {
            return Ok(None);
        };
        if tname == error_name {
            heads += 1;
        }
        for h in 0..NF_INET_NUMHOOKS {
            if t.hooks.is_valid(h) && t.hooks.underflow[h] as usize == at {
                let verdict_at = target + size_of::<xt_entry_target>();
                let Some(v) = blob.get(verdict_at..verdict_at + 4) else {
                    return Ok(None);
                };
                let verdict = i32::from_ne_bytes([v[0], v[1], v[2], v[3]]);
                let policy = match verdict {
                    v if v == -NF_ACCEPT - 1 && c_name_bytes(tname).is_empty() => Policy::Accept,
                    v if v == -NF_DROP - 1 && c_name_bytes(tname).is_empty() => Policy::Drop,
                    _ => return Ok(None),
                };
                policies[h] = Some(KernelPolicy {
                    policy,
                    counters: layout.counters(blob, at),
                });
                policy_index[h] = Some(index);
            }
        }
    }
    let builtins = policies.iter().flatten().count();
    // The final entry is an ERROR entry too; every other one heads a chain
    // that ends in a footer.
    let user_chains = heads.saturating_sub(1);
    let Some(rules) = entries.checked_sub(builtins + 2 * user_chains + 1) else {
        return Ok(None);
    };
    if (0..NF_INET_NUMHOOKS).any(|h| t.hooks.is_valid(h) != policies[h].is_some()) {
        return Ok(None);
    }
    Ok(Some(KernelTable {
        valid_hooks: t.hooks.valid_hooks,
        entries: entries as u32,
        size: blob.len() as u32,
        rules,
        policies,
        policy_index,
        bare: rules == 0 && user_chains == 0,
    }))
}

/// Replaces the kernel's table (`current`, read under the lock the caller
/// holds) with `fresh` joined as `joined` (from `current`'s policies). A
/// replace the kernel answers with `EAGAIN` (its entry count changed: a
/// writer that ignores the lock) reads, joins and tries again, up to
/// `attempts` times in all.
pub fn replace_fresh<K: XtKernel>(
    kernel: &mut K,
    family: Family,
    fresh: &FreshTable,
    mut current: KernelTable,
    mut joined: JoinedTable,
    counters: CounterMode,
    attempts: usize,
) -> Result<WriteReport, BackendError> {
    let name = fresh.name();
    let mut attempt = 1;
    loop {
        let mut report = WriteReport {
            family,
            table: name.to_string(),
            replaced: false,
            entries_before: current.entries,
            entries_after: joined.num_entries,
            bytes_before: current.size,
            bytes_after: joined.blob().len() as u32,
            rules_kept: 0,
            rules_added: fresh.rules(),
            rules_removed: current.rules,
            lock_waited: Duration::ZERO,
            counters_error: None,
        };
        if unchanged(fresh, &current) {
            // What the general path skips too: the same bare table.
            report.rules_added = 0;
            return Ok(report);
        }
        let header = ipt_replace {
            name: c_name(name).unwrap_or_default(),
            valid_hooks: joined.valid_hooks,
            num_entries: joined.num_entries,
            size: joined.blob().len() as u32,
            hook_entry: joined.hook_entry,
            underflow: joined.underflow,
            num_counters: current.entries,
            counters: 0,
        };
        let old = match kernel.replace_prefixed(&header, &mut joined.buf) {
            Ok(old) => old,
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && attempt < attempts.max(1) => {
                attempt += 1;
                current = read_kernel_table(kernel, family, name)?
                    .ok_or_else(|| changed(family, name, "its built-in chains changed".into()))?;
                joined = fresh
                    .join(&current.policies)
                    .ok_or_else(|| changed(family, name, "its built-in chains changed".into()))?;
                continue;
            }
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                return Err(changed(
                    family,
                    name,
                    format!(
                        "the kernel no longer has {} entries (EAGAIN from SO_SET_REPLACE)",
                        current.entries
                    ),
                ))
            }
            Err(e) => return Err(super::write::replace_error(family, name, e)),
        };
        report.replaced = true;
        if counters == CounterMode::Keep {
            let given = new_counters(family, fresh, &current, &joined, &old);
            if given.iter().any(|c| c.pcnt != 0 || c.bcnt != 0) {
                if let Err(e) = kernel.add_counters(name, &given) {
                    report.counters_error = Some(format!(
                        "SO_SET_ADD_COUNTERS of table {name}: {e} (the new table is in place with zeroed counters)"
                    ));
                }
            }
        }
        return Ok(report);
    }
}

/// Whether `fresh` is the kernel's table as it is: only built-in chains,
/// none with rules, same policies and counters.
fn unchanged(fresh: &FreshTable, current: &KernelTable) -> bool {
    current.bare
        && fresh.is_bare()
        && current
            .policies
            .iter()
            .enumerate()
            .all(|(h, p)| p.map_or(true, |p| fresh.policy(h as u32, p) == p))
}

/// The counters of the new entries, as libiptc maps them: a policy whose
/// counters the script leaves gets what the replace handed back for its
/// old entry; everything else what the script gives (zero without
/// `--counters`).
fn new_counters(
    family: Family,
    fresh: &FreshTable,
    current: &KernelTable,
    joined: &JoinedTable,
    old: &[xt_counters],
) -> Vec<xt_counters> {
    let to_xt = |c: Counters| xt_counters {
        pcnt: c.packets,
        bcnt: c.bytes,
    };
    let mut out = vec![xt_counters::default(); joined.num_entries as usize];
    if fresh.rule_counters() {
        let layout = Layout::of(family);
        let blob = joined.blob();
        for (slot, at) in out.iter_mut().zip(layout.entries(blob)) {
            *slot = to_xt(layout.counters(blob, at));
        }
    }
    for h in 0..NF_INET_NUMHOOKS {
        let (Some((index, given)), Some(was)) = (joined.policies[h], current.policies[h]) else {
            continue;
        };
        out[index] = match current.policy_index[h] {
            Some(i) if given == was.counters => old.get(i).copied().unwrap_or_default(),
            _ => to_xt(given),
        };
    }
    out
}

fn changed(family: Family, table: &str, detail: String) -> BackendError {
    BackendError::Conflict {
        backend: Backend::Legacy,
        family,
        table: table.to_string(),
        detail,
    }
}

/// The room [`FreshTable::join`] leaves is the replace header's size.
const _: () = assert!(REPLACE_HEADER == size_of::<ipt_replace>());
