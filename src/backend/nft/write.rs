//! Writing tables to nf_tables: the difference between the table as read
//! and the table wanted becomes one batch, checked against the generation
//! the table was read at. Rules that survive keep their handle and are not
//! touched; new rules are placed relative to surviving ones.

use super::encode::{put_rule, EncodeError};
use crate::netlink::{Batch, BatchError, Connection, Transport};
use crate::ruleset::{Chain, Policy, Table};
use crate::Family;
use nfdoctor_sys::netlink::{NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_NONREC};
use nfdoctor_sys::nf_tables::*;
use std::collections::{HashMap, HashSet};

/// The largest batch sent at once; bigger ones are split (and say so).
pub const MAX_BATCH: usize = 64 << 20;

/// How a table gets from `before` to `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Delete the table and write `after` from scratch (iptables-nft-restore
    /// without `--noflush`).
    Replace,
    /// Change only what differs; rules with a handle in `after` are kept.
    Update,
    /// `before` holds the chains only, not their rules (they were not
    /// read): create the chains `after` adds, set changed policies, and
    /// append every rule of `after` at its chain's end. Nothing is deleted.
    Append,
}

#[derive(Debug, Clone)]
pub struct TableChange<'a> {
    /// The table as read, `None` when it does not exist.
    pub before: Option<&'a Table>,
    pub after: &'a Table,
    pub mode: Mode,
}

/// What a write did (or, for a test run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WriteReport {
    pub tables_replaced: usize,
    pub chains_created: usize,
    pub chains_deleted: usize,
    pub policies_set: usize,
    pub rules_added: usize,
    pub rules_deleted: usize,
    /// Messages in the batch.
    pub messages: usize,
    /// Bytes of the batch.
    pub bytes: usize,
    /// More than one when the batch had to be split (see `split_reason`).
    pub parts: usize,
    pub split_reason: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// The batch was split and a later part failed: earlier parts stay.
    #[error("applied {applied} of {parts} parts, then: {source}")]
    Partial {
        applied: usize,
        parts: usize,
        #[source]
        source: BatchError,
    },
}

fn base_chain_msg(batch: &mut Batch, family: Family, table: &str, c: &Chain, create: bool) {
    let Some(base) = &c.base else { return };
    // iptables' own hook/priority/type for the chain, unless the model says
    // (a table read from the legacy back end, or built in code, does not).
    let builtin = crate::ruleset::BUILTIN_CHAINS
        .iter()
        .find(|(t, n, _, _, _)| *t == table && *n == c.name);
    let priority = base.priority.or(builtin.map(|b| b.4)).unwrap_or(0);
    let chain_type = base
        .chain_type
        .as_deref()
        .or(builtin.map(|b| b.3))
        .unwrap_or("filter");
    let what = format!(
        "{} {table} chain {} (hook, policy {})",
        family.nft_name(),
        c.name,
        base.policy.as_str()
    );
    let flags = if create { NLM_F_CREATE } else { 0 };
    batch.push(NFT_MSG_NEWCHAIN, flags, family.nfproto(), what, |w| {
        w.put_str(NFTA_CHAIN_TABLE, table);
        w.put_str(NFTA_CHAIN_NAME, &c.name);
        let hook = w.begin_nest(NFTA_CHAIN_HOOK);
        w.put_be_u32(NFTA_HOOK_HOOKNUM, base.hook);
        w.put_be_u32(NFTA_HOOK_PRIORITY, priority as u32);
        w.end_nest(hook);
        w.put_be_u32(
            NFTA_CHAIN_POLICY,
            if base.policy == Policy::Drop { 0 } else { 1 },
        );
        // Policy counters, as iptables-nft 1.8.10+ creates them.
        let ctr = w.begin_nest(NFTA_CHAIN_COUNTERS);
        w.put_be_u64(NFTA_COUNTER_PACKETS, c.counters.packets);
        w.put_be_u64(NFTA_COUNTER_BYTES, c.counters.bytes);
        w.end_nest(ctr);
        w.put_str(NFTA_CHAIN_TYPE, chain_type);
    });
}

fn user_chain_msg(batch: &mut Batch, family: Family, table: &str, name: &str) {
    let what = format!("{} {table}: create chain {name}", family.nft_name());
    batch.push(
        NFT_MSG_NEWCHAIN,
        NLM_F_CREATE | NLM_F_EXCL,
        family.nfproto(),
        what,
        |w| {
            w.put_str(NFTA_CHAIN_TABLE, table);
            w.put_str(NFTA_CHAIN_NAME, name);
        },
    );
}

/// Where a new rule goes: at the head, or after a surviving rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Anchor {
    Head,
    After(u64),
    /// A new chain, or after the last surviving rule: appended in order.
    End,
}

fn add_rules(
    batch: &mut Batch,
    family: Family,
    table: &str,
    chain: &Chain,
    new_chain: bool,
    report: &mut WriteReport,
) -> Result<(), EncodeError> {
    // Group new rules by anchor, keeping their order.
    let mut groups: Vec<(Anchor, Vec<usize>)> = Vec::new();
    let mut anchor = if new_chain { Anchor::End } else { Anchor::Head };
    for (i, r) in chain.rules.iter().enumerate() {
        match r.handle {
            Some(h) if !new_chain => anchor = Anchor::After(h),
            _ => match groups.last_mut() {
                Some((a, v)) if *a == anchor => v.push(i),
                _ => groups.push((anchor, vec![i])),
            },
        }
    }
    // Rules after the last surviving one go at the chain's end: appended
    // in order without a position, as for a new chain. (A position makes
    // the kernel walk the chain to find the handle, for every rule.)
    let tail = chain
        .rules
        .iter()
        .rev()
        .find_map(|r| r.handle)
        .filter(|_| !new_chain)
        .map(Anchor::After);
    for (anchor, indexes) in groups {
        let anchor = if Some(anchor) == tail {
            Anchor::End
        } else {
            anchor
        };
        // Head and after-handle insertions put each rule right at the
        // anchor, so emit them last first.
        let ordered: Vec<usize> = match anchor {
            Anchor::End => indexes,
            _ => indexes.into_iter().rev().collect(),
        };
        for i in ordered {
            let rule = &chain.rules[i];
            let mut body = Vec::new();
            put_rule(
                &mut crate::netlink::AttrWriter::new(&mut body),
                family,
                rule,
            )?;
            let (flags, position) = match anchor {
                Anchor::End => (NLM_F_CREATE | NLM_F_APPEND, None),
                Anchor::Head => (NLM_F_CREATE, None),
                Anchor::After(h) => (NLM_F_CREATE | NLM_F_APPEND, Some(h)),
            };
            let what = format!(
                "{} {table} {}: rule {}",
                family.nft_name(),
                chain.name,
                i + 1
            );
            batch.push(NFT_MSG_NEWRULE, flags, family.nfproto(), what, |w| {
                w.put_str(NFTA_RULE_TABLE, table);
                w.put_str(NFTA_RULE_CHAIN, &chain.name);
                if let Some(h) = position {
                    w.put_be_u64(NFTA_RULE_POSITION, h);
                }
                // put_rule wrote EXPRESSIONS and COMPAT into `body`.
                w.raw(&body);
            });
            report.rules_added += 1;
        }
    }
    Ok(())
}

/// Builds the batch for `changes`. Returns it with, for each message, whether
/// a split before it keeps whole tables together (preferred cut points).
pub fn build_batch(
    family: Family,
    changes: &[TableChange<'_>],
) -> Result<(Batch, Vec<bool>, WriteReport), EncodeError> {
    let mut batch = Batch::new();
    let mut report = WriteReport::default();
    let mut cuts = Vec::new();
    let nf = family.nfproto();
    for ch in changes {
        let table = ch.after.name.as_str();
        let mark = |batch: &Batch, cuts: &mut Vec<bool>| {
            cuts.resize(batch.len(), false);
            cuts.push(true);
        };
        mark(&batch, &mut cuts);
        let replace = ch.mode == Mode::Replace;
        if replace && ch.before.is_some() {
            batch.push(
                NFT_MSG_DELTABLE,
                0,
                nf,
                format!("{} {table}: delete table", family.nft_name()),
                |w| {
                    w.put_str(NFTA_TABLE_NAME, table);
                },
            );
            report.tables_replaced += 1;
        }
        batch.push(
            NFT_MSG_NEWTABLE,
            NLM_F_CREATE,
            nf,
            format!("{} {table}: create table", family.nft_name()),
            |w| {
                w.put_str(NFTA_TABLE_NAME, table);
            },
        );
        let before: HashMap<&str, &Chain> = match (ch.before, replace) {
            (Some(b), false) => b.chains.iter().map(|c| (c.name.as_str(), c)).collect(),
            _ => HashMap::new(),
        };
        // Chains: new ones, and policy changes of built-in ones.
        for c in &ch.after.chains {
            match before.get(c.name.as_str()) {
                None => {
                    if c.is_builtin() {
                        base_chain_msg(&mut batch, family, table, c, true);
                    } else {
                        user_chain_msg(&mut batch, family, table, &c.name);
                    }
                    report.chains_created += 1;
                }
                Some(old) => {
                    if c.base != old.base || (c.is_builtin() && c.counters != old.counters) {
                        base_chain_msg(&mut batch, family, table, c, false);
                        report.policies_set += 1;
                    }
                }
            }
        }
        // Rules that go.
        let after_names: HashSet<&str> = ch.after.chains.iter().map(|c| c.name.as_str()).collect();
        let appending = ch.mode == Mode::Append;
        for (name, old) in before.iter().filter(|_| !appending) {
            if !after_names.contains(name) {
                if !old.rules.is_empty() {
                    batch.push(
                        NFT_MSG_DELRULE,
                        0,
                        nf,
                        format!("{} {table} {name}: flush", family.nft_name()),
                        |w| {
                            w.put_str(NFTA_RULE_TABLE, table);
                            w.put_str(NFTA_RULE_CHAIN, name);
                        },
                    );
                    report.rules_deleted += old.rules.len();
                }
                continue;
            }
            let kept: Vec<u64> = ch
                .after
                .chain(name)
                .map(|c| c.rules.iter().filter_map(|r| r.handle).collect())
                .unwrap_or_default();
            // Usually every rule stays, in order: no set of thousands of
            // handles to build then.
            if kept
                .iter()
                .copied()
                .eq(old.rules.iter().filter_map(|r| r.handle))
            {
                continue;
            }
            let kept: HashSet<u64> = kept.into_iter().collect();
            for (i, r) in old.rules.iter().enumerate() {
                let Some(h) = r.handle else { continue };
                if kept.contains(&h) {
                    continue;
                }
                batch.push(
                    NFT_MSG_DELRULE,
                    0,
                    nf,
                    format!(
                        "{} {table} {name}: delete rule {}",
                        family.nft_name(),
                        i + 1
                    ),
                    |w| {
                        w.put_str(NFTA_RULE_TABLE, table);
                        w.put_str(NFTA_RULE_CHAIN, name);
                        w.put_be_u64(NFTA_RULE_HANDLE, h);
                    },
                );
                report.rules_deleted += 1;
            }
        }
        // Rules that come.
        for c in &ch.after.chains {
            let new_chain = appending || !before.contains_key(c.name.as_str());
            add_rules(&mut batch, family, table, c, new_chain, &mut report)?;
        }
        // Chains that go (their rules and the jumps to them are gone by now).
        for name in before.keys().filter(|_| !appending) {
            if !after_names.contains(name) {
                batch.push(
                    NFT_MSG_DELCHAIN,
                    NLM_F_NONREC,
                    nf,
                    format!("{} {table}: delete chain {name}", family.nft_name()),
                    |w| {
                        w.put_str(NFTA_CHAIN_TABLE, table);
                        w.put_str(NFTA_CHAIN_NAME, name);
                    },
                );
                report.chains_deleted += 1;
            }
        }
    }
    cuts.resize(batch.len(), false);
    report.messages = batch.len();
    report.bytes = batch.size();
    Ok((batch, cuts, report))
}

/// Sends the changes as one batch checked against `genid` (or, if it does
/// not fit in `max_batch` bytes, as several, each checked against the
/// generation the previous one produced). `commit: false` validates only.
pub fn write_tables<T: Transport>(
    conn: &mut Connection<T>,
    family: Family,
    genid: u32,
    changes: &[TableChange<'_>],
    commit: bool,
    max_batch: usize,
) -> Result<WriteReport, WriteError> {
    let (batch, cuts, report) = build_batch(family, changes)?;
    send_built(conn, genid, batch, &cuts, report, commit, max_batch)
}

/// [`write_tables`] of a batch [`build_batch`] made (with its cut points
/// and report).
pub fn send_built<T: Transport>(
    conn: &mut Connection<T>,
    genid: u32,
    batch: Batch,
    cuts: &[bool],
    mut report: WriteReport,
    commit: bool,
    max_batch: usize,
) -> Result<WriteReport, WriteError> {
    if batch.is_empty() {
        report.parts = 0;
        return Ok(report);
    }
    let room = send_room(conn, &batch).unwrap_or(max_batch);
    let cap = if room < max_batch {
        "the socket send buffer this namespace allows (net.core.wmem_max in a user namespace)"
    } else {
        "the largest batch sent at once"
    };
    let max_batch = max_batch.min(room).max(1);
    let parts = batch.split(max_batch, |k| cuts.get(k).copied().unwrap_or(false));
    report.parts = parts.len();
    if parts.len() > 1 {
        report.split_reason = Some(format!(
            "the change ({} bytes) does not fit one netlink send here (at most {max_batch} bytes, \
             {cap}), so it was applied in {} parts, each atomic and each checked against the \
             previous part's generation",
            report.bytes,
            parts.len()
        ));
        if !commit {
            // Later parts depend on earlier ones; a dry run can only check
            // the first.
            conn.send_batch(&parts[0], Some(genid), false)?;
            return Ok(report);
        }
    }
    let mut gen = genid;
    for (k, part) in parts.iter().enumerate() {
        match conn.send_batch(part, Some(gen), commit) {
            Ok(()) => gen = gen.wrapping_add(1),
            Err(e) if k == 0 => return Err(e.into()),
            Err(e) => {
                return Err(WriteError::Partial {
                    applied: k,
                    parts: parts.len(),
                    source: e,
                })
            }
        }
    }
    Ok(report)
}

/// The largest batch the connection can send at once, after raising its
/// send buffer towards `batch`'s size as far as the namespace allows (the
/// buffer must hold the whole datagram: messages, BATCH_BEGIN with the
/// generation, BATCH_END). `None` if the transport could not tell.
pub fn send_room<T: Transport>(conn: &mut Connection<T>, batch: &Batch) -> Option<usize> {
    const CONTROL_BYTES: usize = 64;
    conn.transport_mut()
        .reserve_send(batch.size() + CONTROL_BYTES)
        .ok()
        .map(|r| r.saturating_sub(CONTROL_BYTES))
}

/// Reads the family's iptables tables together with the generation they
/// were read at, for planning a write, on one connection (any transport).
pub fn read_for_write<T: Transport>(
    reader: &mut super::NftReader<T>,
) -> Result<(crate::ruleset::Ruleset, u32), crate::backend::BackendError> {
    let mut retry = super::retry::Retry::new();
    loop {
        let before = reader.genid()?;
        let rs = match super::read::read_ruleset_with(reader, None) {
            Ok(rs) => rs,
            // Another writer committed during a dump (NLM_F_DUMP_INTR): read again.
            Err(crate::backend::BackendError::Netlink(
                crate::netlink::NetlinkError::DumpInterrupted(_),
            )) if retry.again() => continue,
            Err(e) => return Err(e),
        };
        if reader.genid()? == before {
            return Ok((rs, before));
        }
        if !retry.again() {
            return Err(crate::backend::BackendError::Malformed(
                "nf_tables: the ruleset kept changing while it was read".into(),
            ));
        }
    }
}
