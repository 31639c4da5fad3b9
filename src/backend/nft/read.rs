//! Reading nf_tables: the generation, the iptables tables of a family, their
//! chains, and each chain's rules in its own dump (the kernel restarts a
//! rule dump from the chain's first rule for every reply datagram, so one
//! family-wide dump would cost quadratic time).
//!
//! Big rulesets spend nearly all their time in the kernel walking those
//! chains, so [`dump_parallel`] dumps several chains at once, each on its
//! own socket in its own thread, and hands their rules over in output order
//! (see [`DumpPlan`]). Every reply carries the generation it was made in
//! (`res_id`); a reply from another generation, or one flagged
//! `NLM_F_DUMP_INTR`, means the ruleset changed under the dump, and the
//! reader starts again.

use super::retry::Retry;
use super::rule::{decode_rule, RuleError};
use crate::backend::{Backend, BackendError};
use crate::netlink::{
    Attrs, Connection, DumpEnd, DumpStep, Exchange, Message, NetlinkError, NetlinkSocket, Transport,
};
use crate::ruleset::{
    BaseChain, Chain, Counters, Policy, Rule, Ruleset, Table, TableCompat, BUILTIN_CHAINS,
    NFT_TABLE_ORDER,
};
use crate::Family;
use nfdoctor_sys::netlink::{NETLINK_NETFILTER, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use nfdoctor_sys::nf_tables::*;
use nfdoctor_sys::nfnetlink::{nfnl_msg_type, NFNL_SUBSYS_NFTABLES};
use std::ops::ControlFlow;

/// A chain as dumped, before rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainInfo {
    pub table: String,
    pub name: String,
    pub handle: u64,
    /// Hook number and priority of a base chain.
    pub hook: Option<(u32, i32)>,
    pub chain_type: Option<String>,
    pub policy: Option<u32>,
    pub counters: Counters,
}

pub fn msg_type(msg: u8) -> u16 {
    nfnl_msg_type(NFNL_SUBSYS_NFTABLES, msg)
}

/// A netlink conversation with nf_tables.
#[derive(Debug)]
pub struct NftReader<T> {
    conn: Connection<T>,
    family: Family,
}

impl NftReader<NetlinkSocket> {
    pub fn open(family: Family) -> Result<Self, BackendError> {
        let sock = NetlinkSocket::open(NETLINK_NETFILTER).map_err(|e| {
            BackendError::classify(Backend::Nft, family, "opening a netlink socket".into(), e)
        })?;
        // Dumps are paced by the reader (one datagram in flight), but the
        // kernel may queue notifications and a big non-dump reply: a roomy
        // buffer costs nothing until used.
        let _ = sock.set_recv_buffer(1 << 20);
        Ok(NftReader::new(sock, family))
    }
}

impl<T: Transport> NftReader<T> {
    pub fn new(transport: T, family: Family) -> Self {
        NftReader {
            conn: Connection::new(transport),
            family,
        }
    }

    pub fn connection(&mut self) -> &mut Connection<T> {
        &mut self.conn
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// The ruleset generation (bumped by every commit).
    pub fn genid(&mut self) -> Result<u32, BackendError> {
        let mut genid = None;
        self.conn
            .exchange(
                &|| "reading the nf_tables generation".to_string(),
                Exchange::Acked,
                |buf, seq| {
                    crate::netlink::message::put_nfnl_message(
                        buf,
                        msg_type(NFT_MSG_GETGEN),
                        NLM_F_REQUEST | NLM_F_ACK,
                        seq,
                        0,
                        0,
                        |_| {},
                    )
                },
                |msg| {
                    let (_, attrs) = msg
                        .nfgen()
                        .map_err(|e| NetlinkError::malformed("NEWGEN", e))?;
                    genid = attrs.find(NFTA_GEN_ID).and_then(|a| a.be_u32().ok());
                    Ok(())
                },
            )
            .map_err(|e| self.classify(e))?;
        genid.ok_or_else(|| {
            BackendError::Malformed("nf_tables: NEWGEN without a generation id".into())
        })
    }

    fn classify(&self, e: NetlinkError) -> BackendError {
        match e.errno() {
            Some(libc::EPERM) | Some(libc::EACCES) => BackendError::Permission {
                backend: Backend::Nft,
                family: self.family,
                advice: crate::backend::error::privilege_advice(e.context()),
                action: e.context().to_string(),
            },
            Some(libc::EAFNOSUPPORT) | Some(libc::EPROTONOSUPPORT) => BackendError::Unavailable {
                backend: Backend::Nft,
                family: self.family,
                action: e.to_string(),
                detail: "nf_tables is not available".into(),
            },
            _ => BackendError::Netlink(e),
        }
    }

    /// Names of the family's tables.
    pub fn tables(&mut self) -> Result<Vec<String>, BackendError> {
        Ok(self.tables_at()?.0)
    }

    /// Table names, and the generations the kernel answered from.
    fn tables_at(&mut self) -> Result<(Vec<String>, GenSeen), BackendError> {
        let family = self.family;
        retry_interrupted(|| {
            let mut names = Vec::new();
            let mut gen = GenSeen::default();
            self.conn
                .exchange(
                    &|| format!("listing {} nf_tables tables", family.nft_name()),
                    Exchange::Dump,
                    |buf, seq| {
                        crate::netlink::message::put_nfnl_message(
                            buf,
                            msg_type(NFT_MSG_GETTABLE),
                            NLM_F_REQUEST | NLM_F_DUMP,
                            seq,
                            family.nfproto(),
                            0,
                            |_| {},
                        )
                    },
                    |msg| {
                        let (nfgen, attrs) = msg
                            .nfgen()
                            .map_err(|e| NetlinkError::malformed("NEWTABLE", e))?;
                        gen.see(nfgen.res_id);
                        if let Some(name) = attrs.find(NFTA_TABLE_NAME).and_then(|a| a.str().ok()) {
                            names.push(name.to_string());
                        }
                        Ok(())
                    },
                )
                .map_err(|e| self.classify(e))?;
            Ok((names, gen))
        })
    }

    /// The family's chains (of one table, if given).
    pub fn chains(&mut self, table: Option<&str>) -> Result<Vec<ChainInfo>, BackendError> {
        Ok(self
            .chains_at(table)?
            .0
            .into_iter()
            .map(|(c, _)| c)
            .collect())
    }

    /// Chains with their use count (rules plus references: how big a
    /// chain is, before dumping it), and the generation as in
    /// [`Self::tables_at`].
    fn chains_at(
        &mut self,
        table: Option<&str>,
    ) -> Result<(Vec<(ChainInfo, u32)>, GenSeen), BackendError> {
        let family = self.family;
        let (mut chains, gen) = retry_interrupted(|| {
            let mut chains = Vec::new();
            let mut gen = GenSeen::default();
            self.conn
                .exchange(
                    &|| format!("listing {} nf_tables chains", family.nft_name()),
                    Exchange::Dump,
                    |buf, seq| {
                        crate::netlink::message::put_nfnl_message(
                            buf,
                            msg_type(NFT_MSG_GETCHAIN),
                            NLM_F_REQUEST | NLM_F_DUMP,
                            seq,
                            family.nfproto(),
                            0,
                            |w| {
                                if let Some(t) = table {
                                    w.put_str(NFTA_CHAIN_TABLE, t);
                                }
                            },
                        )
                    },
                    |msg| {
                        let (nfgen, attrs) = msg
                            .nfgen()
                            .map_err(|e| NetlinkError::malformed("NEWCHAIN", e))?;
                        gen.see(nfgen.res_id);
                        let uses = attrs
                            .find(NFTA_CHAIN_USE)
                            .and_then(|a| a.be_u32().ok())
                            .unwrap_or(0);
                        chains.push((
                            chain_info(&attrs)
                                .map_err(|e| NetlinkError::malformed("NEWCHAIN", e))?,
                            uses,
                        ));
                        Ok(())
                    },
                )
                .map_err(|e| self.classify(e))?;
            Ok((chains, gen))
        })?;
        if let Some(t) = table {
            chains.retain(|(c, _)| c.table == t);
        }
        Ok((chains, gen))
    }

    /// Dumps one chain's rules, handing each decoded rule to `on_rule`.
    pub fn rules(
        &mut self,
        table: &str,
        chain: &str,
        mut on_rule: impl FnMut(Result<Rule, RuleError>),
    ) -> Result<(), BackendError> {
        let family = self.family;
        let result = self.conn.exchange(
            &|| format!("dumping rules of {} {table} {chain}", family.nft_name()),
            Exchange::Dump,
            |buf, seq| put_getrule(buf, seq, family, table, chain),
            |msg| {
                let (_, attrs) = msg
                    .nfgen()
                    .map_err(|e| NetlinkError::malformed("NEWRULE", e))?;
                on_rule(decode_rule(family, &attrs));
                Ok(())
            },
        );
        result.map_err(|e| self.classify(e))
    }

    /// Dumps one chain's rules, handing each decoded rule to `on_rule`,
    /// which may stop the dump early. With `genid`, a reply from another
    /// generation (or flagged `NLM_F_DUMP_INTR`) ends the dump with
    /// [`ChainDumpEnd::Changed`]. After anything but
    /// [`ChainDumpEnd::Complete`] the socket is mid-dump: check
    /// [`Self::is_usable`] before reusing the reader.
    pub fn dump_rules(
        &mut self,
        table: &str,
        chain: &str,
        genid: Option<u32>,
        mut on_rule: impl FnMut(Result<Rule, RuleError>) -> DumpStep,
    ) -> Result<ChainDumpEnd, BackendError> {
        let family = self.family;
        let mut changed = false;
        let result = self.conn.dump(
            &|| format!("dumping rules of {} {table} {chain}", family.nft_name()),
            |buf, seq| put_getrule(buf, seq, family, table, chain),
            |msg| {
                let (nfgen, attrs) = msg
                    .nfgen()
                    .map_err(|e| NetlinkError::malformed("NEWRULE", e))?;
                if genid.is_some_and(|g| u16::from_be(nfgen.res_id) != g as u16) {
                    changed = true;
                    return Ok(DumpStep::Stop);
                }
                Ok(on_rule(decode_rule(family, &attrs)))
            },
        );
        match result {
            Ok(DumpEnd::Done) => Ok(ChainDumpEnd::Complete),
            Ok(DumpEnd::Stopped) if changed => Ok(ChainDumpEnd::Changed),
            Ok(DumpEnd::Stopped) => Ok(ChainDumpEnd::Stopped),
            Err(NetlinkError::DumpInterrupted(_)) => Ok(ChainDumpEnd::Changed),
            Err(e) => Err(self.classify(e)),
        }
    }

    /// False once a dump was left half-way on this reader's socket.
    pub fn is_usable(&self) -> bool {
        !self.conn.is_abandoned()
    }

    /// Everything a dump of the family's iptables tables (or only `only`)
    /// needs before the rules: the generation, and each table's chains in
    /// output order. Retried while the ruleset changes under it.
    pub fn plan(&mut self, only: Option<&str>) -> Result<DumpPlan, BackendError> {
        let mut retry = Retry::new();
        while retry.again() {
            let genid = self.genid()?;
            let (present, tables_gen) = self.tables_at()?;
            let wanted: Vec<&str> = NFT_TABLE_ORDER
                .into_iter()
                .filter(|name| only.map_or(true, |o| o == *name))
                .filter(|name| present.iter().any(|t| t == name))
                .collect();
            let (chains, chains_gen) = if wanted.is_empty() {
                (Vec::new(), GenSeen::default())
            } else {
                self.chains_at(None)?
            };
            if !tables_gen.all_from(genid) || !chains_gen.all_from(genid) {
                continue;
            }
            let infos: Vec<ChainInfo> = chains.iter().map(|(c, _)| c.clone()).collect();
            let tables = wanted
                .into_iter()
                .map(|name| {
                    let lay = layout(name, &infos);
                    let weights = lay
                        .chains
                        .iter()
                        .map(|c| {
                            chains
                                .iter()
                                .find(|(i, _)| i.table == name && i.name == c.name)
                                .map_or(0, |(_, uses)| *uses)
                        })
                        .collect();
                    PlannedTable {
                        name: name.to_string(),
                        compat: if lay.foreign_base_chains.is_empty() {
                            TableCompat::Compatible
                        } else {
                            TableCompat::IncompatibleBaseChains {
                                chains: lay.foreign_base_chains,
                            }
                        },
                        chains: lay.chains,
                        weights,
                    }
                })
                .collect();
            return Ok(DumpPlan {
                family: self.family,
                genid,
                tables,
            });
        }
        Err(changing())
    }
}

fn changing() -> BackendError {
    BackendError::Malformed("nf_tables: the ruleset kept changing while it was read".into())
}

/// Runs a dump again when the kernel says it was interrupted.
fn retry_interrupted<T>(
    mut dump: impl FnMut() -> Result<T, BackendError>,
) -> Result<T, BackendError> {
    let mut retry = Retry::new();
    loop {
        match dump() {
            Err(BackendError::Netlink(NetlinkError::DumpInterrupted(_))) if retry.again() => {}
            other => return other,
        }
    }
}

/// The generations (`res_id`) seen in a dump's replies.
#[derive(Debug, Default)]
struct GenSeen {
    first: Option<u16>,
    mixed: bool,
}

impl GenSeen {
    fn see(&mut self, res_id: u16) {
        let gen = u16::from_be(res_id);
        match self.first {
            None => self.first = Some(gen),
            Some(g) if g != gen => self.mixed = true,
            Some(_) => {}
        }
    }

    /// Whether every reply came from generation `genid` (trivially true
    /// without replies).
    fn all_from(&self, genid: u32) -> bool {
        !self.mixed && self.first.map_or(true, |g| g == genid as u16)
    }
}

fn put_getrule(buf: &mut Vec<u8>, seq: u32, family: Family, table: &str, chain: &str) {
    crate::netlink::message::put_nfnl_message(
        buf,
        msg_type(NFT_MSG_GETRULE),
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        family.nfproto(),
        0,
        |w| {
            w.put_str(NFTA_RULE_TABLE, table);
            w.put_str(NFTA_RULE_CHAIN, chain);
        },
    )
}

/// How [`NftReader::dump_rules`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainDumpEnd {
    /// Every rule was handed over.
    Complete,
    /// The handler stopped it.
    Stopped,
    /// The ruleset changed during the dump: what was handed over may mix
    /// generations.
    Changed,
}

/// Decodes the `NEWRULE` messages of one captured dump datagram (a fuzzing
/// and test entry point: no socket involved). Frame and attribute errors
/// come back as errors; nothing panics on any input.
pub fn decode_rule_datagram(family: Family, datagram: &[u8]) -> Vec<Result<Rule, RuleError>> {
    let mut out = Vec::new();
    for msg in crate::netlink::Messages::new(datagram) {
        match msg {
            Ok(msg) => out.push(decode_rule_message(family, &msg)),
            Err(e) => out.push(Err(RuleError::Malformed(e.to_string()))),
        }
    }
    out
}

fn decode_rule_message(family: Family, msg: &Message<'_>) -> Result<Rule, RuleError> {
    let (_, attrs) = msg
        .nfgen()
        .map_err(|e| RuleError::Malformed(e.to_string()))?;
    decode_rule(family, &attrs)
}

fn chain_info(attrs: &Attrs<'_>) -> Result<ChainInfo, crate::netlink::AttrError> {
    let hook = match attrs.find(NFTA_CHAIN_HOOK) {
        Some(h) => {
            let h = h.nested();
            let num = h.get(NFTA_HOOK_HOOKNUM, "chain hook")?.be_u32()?;
            let prio = h.get(NFTA_HOOK_PRIORITY, "chain hook")?.be_u32()? as i32;
            Some((num, prio))
        }
        None => None,
    };
    let counters = match attrs.find(NFTA_CHAIN_COUNTERS) {
        Some(c) => {
            let c = c.nested();
            Counters {
                packets: c
                    .find(NFTA_COUNTER_PACKETS)
                    .map(|a| a.be_u64())
                    .transpose()?
                    .unwrap_or(0),
                bytes: c
                    .find(NFTA_COUNTER_BYTES)
                    .map(|a| a.be_u64())
                    .transpose()?
                    .unwrap_or(0),
            }
        }
        None => Counters::default(),
    };
    Ok(ChainInfo {
        table: attrs.get(NFTA_CHAIN_TABLE, "chain")?.str()?.to_string(),
        name: attrs.get(NFTA_CHAIN_NAME, "chain")?.str()?.to_string(),
        handle: attrs
            .find(NFTA_CHAIN_HANDLE)
            .map(|a| a.be_u64())
            .transpose()?
            .unwrap_or(0),
        hook,
        chain_type: attrs
            .find(NFTA_CHAIN_TYPE)
            .map(|a| a.str().map(str::to_string))
            .transpose()?,
        policy: attrs
            .find(NFTA_CHAIN_POLICY)
            .map(|a| a.be_u32())
            .transpose()?,
        counters,
    })
}

/// How iptables-nft sees a table's chains: built-in chains it recognises
/// (by hook order), user chains (by name), and base chains it does not.
#[derive(Debug, Default)]
pub struct TableLayout {
    pub chains: Vec<Chain>,
    pub foreign_base_chains: Vec<String>,
}

/// Sorts `chains` of `table` as iptables-nft-save lists them.
pub fn layout(table: &str, chains: &[ChainInfo]) -> TableLayout {
    let mut base: Vec<(u32, Chain)> = Vec::new();
    let mut user: Vec<Chain> = Vec::new();
    let mut foreign = Vec::new();
    for c in chains.iter().filter(|c| c.table == table) {
        match c.hook {
            Some((hook, prio)) => {
                let known = BUILTIN_CHAINS
                    .iter()
                    .find(|(t, _, h, _, _)| *t == table && *h == hook);
                let compatible = known.is_some_and(|(_, name, _, ty, p)| {
                    *name == c.name && *p == prio && c.chain_type.as_deref() == Some(*ty)
                });
                if !compatible || base.iter().any(|(h, _)| *h == hook) {
                    foreign.push(c.name.clone());
                    continue;
                }
                base.push((
                    hook,
                    Chain {
                        name: c.name.clone(),
                        base: Some(BaseChain {
                            hook,
                            policy: if c.policy == Some(0) {
                                Policy::Drop
                            } else {
                                Policy::Accept
                            },
                            priority: Some(prio),
                            chain_type: c.chain_type.clone(),
                        }),
                        counters: c.counters,
                        rules: Vec::new(),
                    },
                ));
            }
            None => user.push(Chain {
                name: c.name.clone(),
                base: None,
                counters: c.counters,
                rules: Vec::new(),
            }),
        }
    }
    base.sort_by_key(|(h, _)| *h);
    user.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let mut out: Vec<Chain> = base.into_iter().map(|(_, c)| c).collect();
    out.extend(user);
    TableLayout {
        chains: out,
        foreign_base_chains: foreign,
    }
}

/// Reads every iptables table of `family` (or only `only`), chain by chain,
/// on one connection, draining every dump (the parallel reader is
/// [`read_ruleset`]).
pub fn read_ruleset_with<T: Transport>(
    reader: &mut NftReader<T>,
    only: Option<&str>,
) -> Result<Ruleset, BackendError> {
    let family = reader.family;
    // A ruleset that changes while we read it is read again.
    let mut retry = Retry::new();
    'attempt: while retry.again() {
        let plan = reader.plan(only)?;
        let mut tables = plan.empty_tables();
        for (t, c) in plan.jobs() {
            if matches!(tables[t].compat, TableCompat::Incompatible { .. }) {
                continue;
            }
            let chain_name = tables[t].chains[c].name.clone();
            let mut failure = None;
            let rules = &mut tables[t].chains[c].rules;
            let read = reader.rules(&plan.tables[t].name, &chain_name, |r| match r {
                Ok(rule) if failure.is_none() => rules.push(rule),
                Ok(_) => {}
                Err(e) => {
                    failure.get_or_insert(e);
                }
            });
            match read {
                Err(BackendError::Netlink(NetlinkError::DumpInterrupted(_))) => continue 'attempt,
                other => other?,
            }
            if let Some(e) = failure {
                tables[t].compat = incompatible(&chain_name, &e);
            }
        }
        if reader.genid()? == plan.genid {
            return Ok(Ruleset { family, tables });
        }
    }
    Err(changing())
}

fn incompatible(chain: &str, e: &RuleError) -> TableCompat {
    TableCompat::Incompatible {
        reason: format!("chain {chain}: {e}"),
    }
}

/// Opens sockets and reads the family's iptables tables, several chains at
/// a time.
pub fn read_ruleset(family: Family, only: Option<&str>) -> Result<Ruleset, BackendError> {
    read_ruleset_at(family, only).map(|(rs, _)| rs)
}

/// [`read_ruleset`], with the generation every rule was read at (for a
/// batch that must apply to exactly this ruleset).
pub fn read_ruleset_at(family: Family, only: Option<&str>) -> Result<(Ruleset, u32), BackendError> {
    let mut reader = NftReader::open(family)?;
    let mut retry = Retry::new();
    while retry.again() {
        let plan = reader.plan(only)?;
        if let Some(rs) = read_planned(&plan)? {
            return Ok((rs, plan.genid));
        }
    }
    Err(changing())
}

/// The most rules room is made for in a chain before its dump: a use
/// count is a hint, not a promise.
const MAX_RESERVED_RULES: usize = 1 << 20;

/// The rules of every chain of `plan`, several chains at a time on sockets
/// of their own; `None` if the ruleset changed since `plan` was made (make
/// a new plan and read again).
pub fn read_planned(plan: &DumpPlan) -> Result<Option<Ruleset>, BackendError> {
    let mut tables = plan.empty_tables();
    // Each chain's rules in one buffer, not one that doubles and copies as
    // the chunks come: the kernel's use count (its rules, and the jumps to
    // it) is known before the dump.
    for (table, planned) in tables.iter_mut().zip(&plan.tables) {
        for (chain, uses) in table.chains.iter_mut().zip(&planned.weights) {
            chain
                .rules
                .reserve((*uses as usize).min(MAX_RESERVED_RULES));
        }
    }
    let jobs = plan.jobs();
    let mut changed = false;
    let mut failure = None;
    dump_parallel(
        plan,
        &ParallelOptions::default(),
        || |_: &ChainJob<'_>, rule: Rule, chunk: &mut Vec<Rule>| chunk.push(rule),
        |job, delivery| {
            let (t, c) = jobs[job];
            let table = &mut tables[t];
            if matches!(table.compat, TableCompat::Incompatible { .. }) {
                // Like iptables, stop at the first rule it cannot show.
                return ControlFlow::Continue(());
            }
            match delivery {
                Delivery::Rules(rules) => table.chains[c].rules.extend(rules),
                Delivery::Done => {}
                Delivery::Unsupported(e) => {
                    table.compat = incompatible(&table.chains[c].name, &e);
                }
                Delivery::Changed => {
                    changed = true;
                    return ControlFlow::Break(());
                }
                Delivery::Failed(e) => {
                    failure = Some(e);
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        },
    );
    match failure {
        Some(e) => Err(e),
        None if changed => Ok(None),
        None => Ok(Some(Ruleset {
            family: plan.family,
            tables,
        })),
    }
}

/// A family's iptables tables as [`NftReader::plan`] found them: the
/// generation, and per table its chains (without rules) in output order.
#[derive(Debug, Clone)]
pub struct DumpPlan {
    pub family: Family,
    pub genid: u32,
    pub tables: Vec<PlannedTable>,
}

#[derive(Debug, Clone)]
pub struct PlannedTable {
    pub name: String,
    /// In output order, without rules.
    pub chains: Vec<Chain>,
    /// Per chain, the kernel's use count (rules plus references): how long
    /// its dump will take, before it is dumped.
    pub weights: Vec<u32>,
    /// `Compatible` or `IncompatibleBaseChains`; rules can still make the
    /// table incompatible.
    pub compat: TableCompat,
}

impl PlannedTable {
    /// The chains iptables-nft-save declares: these, plus every built-in
    /// chain of the table that the kernel lacks (iptables-nft creates them
    /// only when used, and 1.8.9 shows the missing ones with policy ACCEPT
    /// and zero counters). In output order.
    pub fn declared_chains(&self) -> Vec<Chain> {
        let mut base: Vec<Chain> = self
            .chains
            .iter()
            .filter(|c| c.base.is_some())
            .cloned()
            .collect();
        for (_, name, hook, ty, prio) in BUILTIN_CHAINS.iter().filter(|b| b.0 == self.name) {
            if !base
                .iter()
                .any(|c| c.base.as_ref().is_some_and(|b| b.hook == *hook))
            {
                base.push(Chain {
                    name: name.to_string(),
                    base: Some(BaseChain {
                        hook: *hook,
                        policy: Policy::Accept,
                        priority: Some(*prio),
                        chain_type: Some(ty.to_string()),
                    }),
                    counters: Counters::default(),
                    rules: Vec::new(),
                });
            }
        }
        base.sort_by_key(|c| c.base.as_ref().map(|b| b.hook));
        base.extend(self.chains.iter().filter(|c| c.base.is_none()).cloned());
        base
    }
}

impl DumpPlan {
    /// Every chain as (table index, chain index), in output order.
    pub fn jobs(&self) -> Vec<(usize, usize)> {
        self.tables
            .iter()
            .enumerate()
            .flat_map(|(t, table)| (0..table.chains.len()).map(move |c| (t, c)))
            .collect()
    }

    /// The tables with their chains and no rules.
    pub fn empty_tables(&self) -> Vec<Table> {
        self.tables
            .iter()
            .map(|t| Table {
                name: t.name.clone(),
                chains: t.chains.clone(),
                compat: t.compat.clone(),
            })
            .collect()
    }
}

/// One chain to dump, as a worker sees it.
#[derive(Debug, Clone, Copy)]
pub struct ChainJob<'p> {
    /// Position in output order ([`DumpPlan::jobs`]).
    pub index: usize,
    pub table: &'p str,
    pub chain: &'p str,
}

pub use crate::backend::ordered::Chunk as RuleChunk;

/// What the consumer of [`dump_parallel`] receives for a chain, in order:
/// any number of `Rules`, then one of the others.
#[derive(Debug)]
pub enum Delivery<C> {
    Rules(C),
    /// The chain is complete.
    Done,
    /// A rule iptables cannot show (its table is incompatible); the rest of
    /// the chain was not read.
    Unsupported(RuleError),
    /// The ruleset changed during the dump (nothing more comes).
    Changed,
    Failed(BackendError),
}

/// How [`dump_parallel`] runs.
#[derive(Debug, Clone)]
pub struct ParallelOptions {
    /// Sockets (and threads) dumping at once, and the bytes of chunks held
    /// for chains the consumer has not reached yet before their workers
    /// wait (the chain being consumed never waits). The kernel's work is
    /// CPU-bound and one chain's dump cannot be split, so more sockets than
    /// CPUs only slow the longest chain down.
    pub engine: crate::backend::ordered::Options,
    /// A worker hands its chunk over when it holds this many bytes.
    pub chunk: usize,
}

impl Default for ParallelOptions {
    fn default() -> Self {
        ParallelOptions {
            engine: crate::backend::ordered::Options::default(),
            chunk: 64 * 1024,
        }
    }
}

/// How one chain's dump ended, for the engine.
#[derive(Debug)]
enum End {
    Done,
    Unsupported(RuleError),
    Changed,
    Failed(BackendError),
}

/// The chains of a plan as jobs for [`crate::backend::ordered`].
struct ChainDumps<'p, M, C> {
    plan: &'p DumpPlan,
    jobs: Vec<(usize, usize)>,
    chunk: usize,
    make_worker: M,
    _chunks: std::marker::PhantomData<fn() -> C>,
}

impl<'p, M, C> ChainDumps<'p, M, C> {
    fn job(&self, index: usize) -> ChainJob<'p> {
        let (t, c) = self.jobs[index];
        let table = &self.plan.tables[t];
        ChainJob {
            index,
            table: &table.name,
            chain: &table.chains[c].name,
        }
    }
}

impl<'p, C, W, M> crate::backend::ordered::Jobs for ChainDumps<'p, M, C>
where
    C: RuleChunk + Default,
    W: FnMut(&ChainJob<'_>, Rule, &mut C),
    M: Fn() -> W + Sync,
{
    type Chunk = C;
    type End = End;
    /// The rule-to-chunk function, and a socket kept between chains.
    type Worker = (W, Option<NftReader<NetlinkSocket>>);

    fn worker(&self) -> Self::Worker {
        ((self.make_worker)(), None)
    }

    fn weight(&self, job: usize) -> u64 {
        let (t, c) = self.jobs[job];
        u64::from(self.plan.tables[t].weights.get(c).copied().unwrap_or(0))
    }

    fn run(
        &self,
        (make_chunk, socket): &mut Self::Worker,
        index: usize,
        emit: &mut dyn FnMut(C) -> bool,
    ) -> End {
        let job = self.job(index);
        let reader = match socket.take().filter(NftReader::is_usable) {
            Some(r) => socket.insert(r),
            None => match NftReader::open(self.plan.family) {
                Ok(r) => socket.insert(r),
                Err(e) => return End::Failed(e),
            },
        };
        let mut chunk = C::default();
        let mut unsupported = None;
        let mut cancelled = false;
        let result = reader.dump_rules(job.table, job.chain, Some(self.plan.genid), |r| match r {
            Ok(rule) => {
                make_chunk(&job, rule, &mut chunk);
                if chunk.bytes() >= self.chunk {
                    let next = chunk.empty_like();
                    if !emit(std::mem::replace(&mut chunk, next)) {
                        cancelled = true;
                        return DumpStep::Stop;
                    }
                }
                DumpStep::Continue
            }
            Err(e) => {
                unsupported = Some(e);
                DumpStep::Stop
            }
        });
        if cancelled {
            return End::Done;
        }
        match result {
            Ok(ChainDumpEnd::Complete) => {
                if chunk.bytes() > 0 {
                    emit(chunk);
                }
                End::Done
            }
            Ok(ChainDumpEnd::Changed) => End::Changed,
            Ok(ChainDumpEnd::Stopped) => {
                if chunk.bytes() > 0 {
                    emit(chunk);
                }
                match unsupported {
                    Some(e) => End::Unsupported(e),
                    None => End::Done,
                }
            }
            Err(e) => End::Failed(e),
        }
    }
}

/// Dumps every chain of `plan` on up to `options.engine.threads` sockets at once,
/// turning rules into chunks with the function `make_worker` gives each
/// thread, and hands them to `consume` on the calling thread in output
/// order (chain by chain, as soon as they arrive for the chain being
/// consumed). Big chains start first. `consume` can stop everything with
/// `Break`; in-flight dumps are then abandoned.
pub fn dump_parallel<C, W, M>(
    plan: &DumpPlan,
    options: &ParallelOptions,
    make_worker: M,
    mut consume: impl FnMut(usize, Delivery<C>) -> ControlFlow<()>,
) where
    C: RuleChunk + Default,
    W: FnMut(&ChainJob<'_>, Rule, &mut C),
    M: Fn() -> W + Sync,
{
    use crate::backend::ordered::{self, Delivery as D};
    let dumps = ChainDumps {
        plan,
        jobs: plan.jobs(),
        chunk: options.chunk,
        make_worker,
        _chunks: std::marker::PhantomData,
    };
    ordered::run(&dumps, dumps.jobs.len(), &options.engine, |job, d| {
        consume(
            job,
            match d {
                D::Chunk(c) => Delivery::Rules(c),
                D::End(End::Done) => Delivery::Done,
                D::End(End::Unsupported(e)) => Delivery::Unsupported(e),
                D::End(End::Changed) => Delivery::Changed,
                D::End(End::Failed(e)) => Delivery::Failed(e),
            },
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::message::put_nfnl_message;
    use crate::netlink::replay::ReplayTransport;
    use nfdoctor_sys::netlink::{nlmsghdr, NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP_INTR, NLM_F_MULTI};
    use nfdoctor_sys::Pod;

    type Script = Vec<Vec<Vec<u8>>>;

    fn done() -> Vec<u8> {
        let h = nlmsghdr {
            nlmsg_len: 20,
            nlmsg_type: NLMSG_DONE,
            nlmsg_flags: NLM_F_MULTI,
            nlmsg_seq: 0,
            nlmsg_pid: 0,
        };
        let mut v = h.as_bytes().to_vec();
        v.extend_from_slice(&0i32.to_ne_bytes());
        v
    }

    fn ack() -> Vec<u8> {
        let h = nlmsghdr {
            nlmsg_len: 36,
            nlmsg_type: NLMSG_ERROR,
            nlmsg_flags: 0,
            nlmsg_seq: 0,
            nlmsg_pid: 0,
        };
        let mut v = h.as_bytes().to_vec();
        v.extend_from_slice(&0i32.to_ne_bytes());
        v.extend_from_slice(h.as_bytes());
        v
    }

    /// Replies to GETGEN.
    fn gen(g: u32) -> Vec<Vec<u8>> {
        let mut m = Vec::new();
        put_nfnl_message(&mut m, msg_type(NFT_MSG_NEWGEN), 0, 0, 0, g as u16, |w| {
            w.put_be_u32(NFTA_GEN_ID, g);
        });
        vec![m, ack()]
    }

    /// Replies to the GETTABLE dump: table `filter`, made in generation `g`.
    fn tables(g: u32) -> Vec<Vec<u8>> {
        let mut m = Vec::new();
        put_nfnl_message(
            &mut m,
            msg_type(NFT_MSG_NEWTABLE),
            NLM_F_MULTI,
            0,
            2,
            g as u16,
            |w| {
                w.put_str(NFTA_TABLE_NAME, "filter");
            },
        );
        vec![m, done()]
    }

    /// Replies to the GETCHAIN dump: filter INPUT (built in) and DOCKER.
    fn chains(g: u32) -> Vec<Vec<u8>> {
        let mut m = Vec::new();
        put_nfnl_message(
            &mut m,
            msg_type(NFT_MSG_NEWCHAIN),
            NLM_F_MULTI,
            0,
            2,
            g as u16,
            |w| {
                w.put_str(NFTA_CHAIN_TABLE, "filter");
                w.put_str(NFTA_CHAIN_NAME, "INPUT");
                let hook = w.begin_nest(NFTA_CHAIN_HOOK);
                w.put_be_u32(NFTA_HOOK_HOOKNUM, 1)
                    .put_be_u32(NFTA_HOOK_PRIORITY, 0);
                w.end_nest(hook);
                w.put_be_u32(NFTA_CHAIN_POLICY, 0);
                w.put_str(NFTA_CHAIN_TYPE, "filter");
                w.put_be_u32(NFTA_CHAIN_USE, 2);
            },
        );
        put_nfnl_message(
            &mut m,
            msg_type(NFT_MSG_NEWCHAIN),
            NLM_F_MULTI,
            0,
            2,
            g as u16,
            |w| {
                w.put_str(NFTA_CHAIN_TABLE, "filter");
                w.put_str(NFTA_CHAIN_NAME, "DOCKER");
                w.put_be_u32(NFTA_CHAIN_USE, 3);
            },
        );
        vec![m, done()]
    }

    /// A dump of `n` ACCEPT rules of `chain`, made in generation `g`;
    /// `intr` flags the last one `NLM_F_DUMP_INTR`.
    fn rules(g: u32, chain: &str, n: u64, intr: bool) -> Vec<Vec<u8>> {
        let mut m = Vec::new();
        for handle in 1..=n {
            let flags = if intr && handle == n {
                NLM_F_MULTI | NLM_F_DUMP_INTR
            } else {
                NLM_F_MULTI
            };
            put_nfnl_message(
                &mut m,
                msg_type(NFT_MSG_NEWRULE),
                flags,
                0,
                2,
                g as u16,
                |w| {
                    w.put_str(NFTA_RULE_TABLE, "filter");
                    w.put_str(NFTA_RULE_CHAIN, chain);
                    w.put_be_u64(NFTA_RULE_HANDLE, handle);
                    let exprs = w.begin_nest(NFTA_RULE_EXPRESSIONS);
                    let elem = w.begin_nest(NFTA_LIST_ELEM);
                    w.put_str(NFTA_EXPR_NAME, "immediate");
                    let data = w.begin_nest(NFTA_EXPR_DATA);
                    w.put_be_u32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
                    let value = w.begin_nest(NFTA_IMMEDIATE_DATA);
                    let verdict = w.begin_nest(NFTA_DATA_VERDICT);
                    w.put_be_u32(NFTA_VERDICT_CODE, 1);
                    w.end_nest(verdict);
                    w.end_nest(value);
                    w.end_nest(data);
                    w.end_nest(elem);
                    w.end_nest(exprs);
                },
            );
        }
        vec![m, done()]
    }

    fn reader(script: Script) -> NftReader<ReplayTransport> {
        NftReader::new(ReplayTransport::new(script), Family::Ipv4)
    }

    fn rule_counts(rs: &Ruleset) -> Vec<(String, usize)> {
        rs.tables[0]
            .chains
            .iter()
            .map(|c| (c.name.clone(), c.rules.len()))
            .collect()
    }

    #[test]
    fn the_plan_lays_out_chains_with_their_sizes() {
        let mut r = reader(vec![gen(7), tables(7), chains(7)]);
        let plan = r.plan(None).unwrap();
        assert_eq!(plan.genid, 7);
        assert_eq!(plan.jobs(), vec![(0, 0), (0, 1)]);
        let t = &plan.tables[0];
        assert_eq!(t.name, "filter");
        assert_eq!(t.chains[0].name, "INPUT");
        assert_eq!(t.chains[1].name, "DOCKER");
        assert_eq!(t.weights, vec![2, 3]);
    }

    #[test]
    fn a_plan_from_two_generations_is_made_again() {
        let mut r = reader(vec![
            gen(7),
            tables(7),
            chains(8),
            gen(8),
            tables(8),
            chains(8),
        ]);
        assert_eq!(r.plan(None).unwrap().genid, 8);
    }

    #[test]
    fn rules_from_another_generation_end_the_dump() {
        let mut r = reader(vec![rules(8, "DOCKER", 3, false)]);
        let mut seen = 0;
        let end = r
            .dump_rules("filter", "DOCKER", Some(7), |_| {
                seen += 1;
                DumpStep::Continue
            })
            .unwrap();
        assert_eq!((end, seen), (ChainDumpEnd::Changed, 0));
        assert!(!r.is_usable());
    }

    #[test]
    fn an_interrupted_dump_is_a_change() {
        let mut r = reader(vec![rules(7, "DOCKER", 3, true)]);
        let end = r
            .dump_rules("filter", "DOCKER", Some(7), |_| DumpStep::Continue)
            .unwrap();
        assert_eq!(end, ChainDumpEnd::Changed);
    }

    #[test]
    fn a_complete_dump_leaves_the_socket_usable() {
        let mut r = reader(vec![rules(7, "DOCKER", 3, false)]);
        let mut seen = 0;
        let end = r
            .dump_rules("filter", "DOCKER", Some(7), |rule| {
                assert_eq!(rule.unwrap().target, crate::ruleset::Target::Accept);
                seen += 1;
                DumpStep::Continue
            })
            .unwrap();
        assert_eq!((end, seen), (ChainDumpEnd::Complete, 3));
        assert!(r.is_usable());
    }

    #[test]
    fn the_one_connection_reader_reads_again_after_an_interrupted_dump() {
        let mut r = reader(vec![
            gen(7),
            tables(7),
            chains(7),
            rules(7, "INPUT", 2, true),
            gen(8),
            tables(8),
            chains(8),
            rules(8, "INPUT", 1, false),
            rules(8, "DOCKER", 4, false),
            gen(8),
        ]);
        let rs = read_ruleset_with(&mut r, None).unwrap();
        assert_eq!(
            rule_counts(&rs),
            vec![("INPUT".to_string(), 1), ("DOCKER".to_string(), 4)]
        );
    }

    #[test]
    fn captured_datagrams_decode() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/nft_rule");
        let mut rules = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            let family = if data[0] & 1 == 0 {
                Family::Ipv4
            } else {
                Family::Ipv6
            };
            for r in decode_rule_datagram(family, &data[1..]) {
                let rule = r.unwrap();
                // A ruleset keeps every rule's matches for as long as it
                // lives: no room for more than they are.
                assert_eq!(rule.matches.capacity(), rule.matches.len(), "{rule:?}");
                rules += 1;
            }
        }
        assert!(rules > 200, "{rules} rules");
    }
}
