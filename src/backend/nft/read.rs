//! Reading nf_tables: the generation, the iptables tables of a family, their
//! chains, and each chain's rules in its own dump (the kernel restarts a
//! rule dump from the chain's first rule for every reply datagram, so one
//! family-wide dump would cost quadratic time).

use super::rule::{decode_rule, RuleError};
use crate::backend::{Backend, BackendError};
use crate::netlink::{Attrs, Connection, Exchange, NetlinkError, NetlinkSocket, Transport};
use crate::ruleset::{
    BaseChain, Chain, Counters, Policy, Rule, Ruleset, Table, TableCompat, BUILTIN_CHAINS,
    NFT_TABLE_ORDER,
};
use crate::Family;
use nfdoctor_sys::netlink::{NETLINK_NETFILTER, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use nfdoctor_sys::nf_tables::*;
use nfdoctor_sys::nfnetlink::NFNL_SUBSYS_NFTABLES;

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
    (u16::from(NFNL_SUBSYS_NFTABLES) << 8) | u16::from(msg)
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
        // Big dumps are paced by the reader; a large buffer avoids overruns.
        let _ = sock.set_recv_buffer(4 << 20);
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
        let family = self.family;
        let mut names = Vec::new();
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
                    let (_, attrs) = msg
                        .nfgen()
                        .map_err(|e| NetlinkError::malformed("NEWTABLE", e))?;
                    if let Some(name) = attrs.find(NFTA_TABLE_NAME).and_then(|a| a.str().ok()) {
                        names.push(name.to_string());
                    }
                    Ok(())
                },
            )
            .map_err(|e| self.classify(e))?;
        Ok(names)
    }

    /// The family's chains (of one table, if given).
    pub fn chains(&mut self, table: Option<&str>) -> Result<Vec<ChainInfo>, BackendError> {
        let family = self.family;
        let mut chains = Vec::new();
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
                    let (_, attrs) = msg
                        .nfgen()
                        .map_err(|e| NetlinkError::malformed("NEWCHAIN", e))?;
                    chains.push(
                        chain_info(&attrs).map_err(|e| NetlinkError::malformed("NEWCHAIN", e))?,
                    );
                    Ok(())
                },
            )
            .map_err(|e| self.classify(e))?;
        if let Some(t) = table {
            chains.retain(|c| c.table == t);
        }
        Ok(chains)
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
            |buf, seq| {
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
            },
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

/// Reads every iptables table of `family` (or only `only`), chain by chain.
pub fn read_ruleset_with<T: Transport>(
    reader: &mut NftReader<T>,
    only: Option<&str>,
) -> Result<Ruleset, BackendError> {
    let family = reader.family;
    // A ruleset that changes while we read it is read again.
    for _ in 0..5 {
        let before = reader.genid()?;
        let present = reader.tables()?;
        let chains = reader.chains(None)?;
        let mut tables = Vec::new();
        for name in NFT_TABLE_ORDER {
            if only.is_some_and(|o| o != name) || !present.iter().any(|t| t == name) {
                continue;
            }
            let lay = layout(name, &chains);
            let mut compat = if lay.foreign_base_chains.is_empty() {
                TableCompat::Compatible
            } else {
                TableCompat::IncompatibleBaseChains {
                    chains: lay.foreign_base_chains.clone(),
                }
            };
            let mut table_chains = lay.chains;
            'chains: for chain in &mut table_chains {
                let mut failure = None;
                let chain_name = chain.name.clone();
                reader.rules(name, &chain_name, |r| match r {
                    Ok(rule) => chain.rules.push(rule),
                    Err(e) => {
                        if failure.is_none() {
                            failure = Some(e);
                        }
                    }
                })?;
                if let Some(e) = failure {
                    compat = TableCompat::Incompatible {
                        reason: format!("chain {chain_name}: {e}"),
                    };
                    break 'chains;
                }
            }
            tables.push(Table {
                name: name.to_string(),
                chains: table_chains,
                compat,
            });
        }
        if reader.genid()? == before {
            return Ok(Ruleset { family, tables });
        }
    }
    Err(BackendError::Malformed(
        "nf_tables: the ruleset kept changing while it was read".into(),
    ))
}

/// Opens a socket and reads the family's iptables tables.
pub fn read_ruleset(family: Family, only: Option<&str>) -> Result<Ruleset, BackendError> {
    let mut reader = NftReader::open(family)?;
    read_ruleset_with(&mut reader, only)
}
