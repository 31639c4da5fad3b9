//! The legacy table blob (netfilter-abi.md A.3): a run of `ipt_entry` /
//! `ip6t_entry` records, chains implied by position, jumps as byte offsets.
//! Pure code: bytes in, model out.

use crate::ruleset::{
    builtin_chain, AddrSel, BaseChain, Chain, Counters, IfaceSel, IpSpec, Policy, Rule, Table,
    TableCompat, Target,
};
use crate::xt::Extension;
use crate::Family;
use nfdoctor_sys::ip6_tables::{ip6t_entry, IP6T_F_GOTO, IP6T_F_PROTO, IP6T_F_TOS};
use nfdoctor_sys::ip_tables::{
    ipt_entry, IPT_F_FRAG, IPT_F_GOTO, IPT_INV_DSTIP, IPT_INV_FRAG, IPT_INV_PROTO, IPT_INV_SRCIP,
    IPT_INV_TOS, IPT_INV_VIA_IN, IPT_INV_VIA_OUT,
};
use nfdoctor_sys::netfilter::{NF_ACCEPT, NF_DROP, NF_INET_NUMHOOKS, NF_QUEUE};
use nfdoctor_sys::x_tables::{xt_entry_match, xt_entry_target, XT_RETURN};
use nfdoctor_sys::{c_name_bytes, Pod};
use std::collections::HashMap;

/// Where each hook's chain starts and where its policy entry sits, from
/// `GET_INFO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hooks {
    pub valid_hooks: u32,
    pub hook_entry: [u32; NF_INET_NUMHOOKS],
    pub underflow: [u32; NF_INET_NUMHOOKS],
}

impl Hooks {
    pub fn is_valid(&self, hook: usize) -> bool {
        self.valid_hooks & (1 << hook) != 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{table}: entry at byte {offset}: {reason}")]
pub struct BlobError {
    pub table: String,
    pub offset: usize,
    pub reason: String,
}

/// One entry as laid out in the blob, before chains are assembled.
#[derive(Debug, Clone)]
pub struct RawEntry {
    pub offset: usize,
    pub size: usize,
    pub spec: IpSpec,
    pub goto: bool,
    pub counters: Counters,
    pub matches: Vec<Extension>,
    pub target: RawTarget,
    /// True when the header selects everything and there are no matches
    /// (policy entries, chain heads and footers are unconditional).
    pub unconditional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawTarget {
    /// Standard target: a negative verdict or a jump offset.
    Standard(i32),
    /// `ERROR` target: a user chain head, or "ERROR" for the terminator.
    Error(String),
    Ext(Extension),
}

/// Size of the fixed entry header for `family`.
pub fn entry_header_len(family: Family) -> usize {
    match family {
        Family::Ipv4 => std::mem::size_of::<ipt_entry>(),
        Family::Ipv6 => std::mem::size_of::<ip6t_entry>(),
    }
}

/// Splits the blob into entries, checking every size and offset.
pub fn parse_entries(family: Family, table: &str, blob: &[u8]) -> Result<Vec<RawEntry>, BlobError> {
    let err = |offset: usize, reason: String| BlobError {
        table: table.to_string(),
        offset,
        reason,
    };
    let header_len = entry_header_len(family);
    let mut entries = Vec::new();
    let mut offset = 0;
    while offset < blob.len() {
        let rest = &blob[offset..];
        let (spec, goto, target_offset, next_offset, counters) = decode_header(family, rest)
            .ok_or_else(|| err(offset, "truncated entry header".into()))?;
        let (target_offset, next_offset) = (usize::from(target_offset), usize::from(next_offset));
        if next_offset > rest.len()
            || next_offset % 8 != 0
            || target_offset < header_len
            || target_offset + std::mem::size_of::<xt_entry_target>() > next_offset
        {
            return Err(err(
                offset,
                format!("bad offsets: target at {target_offset}, next at {next_offset}"),
            ));
        }
        let mut matches = Vec::new();
        let mut at = header_len;
        while at < target_offset {
            let m = xt_entry_match::read_from_prefix(&rest[at..target_offset])
                .ok_or_else(|| err(offset, format!("truncated match header at +{at}")))?;
            let size = usize::from(m.match_size);
            if size < std::mem::size_of::<xt_entry_match>() || at + size > target_offset {
                return Err(err(offset, format!("bad match size {size} at +{at}")));
            }
            matches.push(Extension::new(
                String::from_utf8_lossy(c_name_bytes(&m.name)).into_owned(),
                m.revision,
                rest[at + 32..at + size].to_vec(),
            ));
            at += size;
        }
        let t = xt_entry_target::read_from_prefix(&rest[target_offset..next_offset])
            .ok_or_else(|| err(offset, "truncated target".into()))?;
        let t_size = usize::from(t.target_size);
        if t_size < 32 || target_offset + t_size > next_offset {
            return Err(err(offset, format!("bad target size {t_size}")));
        }
        let t_data = &rest[target_offset + 32..target_offset + t_size];
        let name = c_name_bytes(&t.name);
        let target = match name {
            b"" => {
                let v = t_data
                    .get(..4)
                    .ok_or_else(|| err(offset, "standard target without verdict".into()))?;
                RawTarget::Standard(i32::from_ne_bytes([v[0], v[1], v[2], v[3]]))
            }
            b"ERROR" => RawTarget::Error(crate::xt::text::c_string(t_data)),
            _ => RawTarget::Ext(Extension::new(
                String::from_utf8_lossy(name).into_owned(),
                t.revision,
                t_data.to_vec(),
            )),
        };
        let unconditional = matches.is_empty() && spec == IpSpec::default() && !goto;
        entries.push(RawEntry {
            offset,
            size: next_offset,
            spec,
            goto,
            counters,
            matches,
            target,
            unconditional,
        });
        offset += next_offset;
    }
    Ok(entries)
}

type Header = (IpSpec, bool, u16, u16, Counters);

fn decode_header(family: Family, bytes: &[u8]) -> Option<Header> {
    match family {
        Family::Ipv4 => {
            let e = ipt_entry::read_from_prefix(bytes)?;
            let ip = e.ip;
            let mut src = AddrSel::default();
            src.addr[..4].copy_from_slice(&ip.src);
            src.mask[..4].copy_from_slice(&ip.smsk);
            src.invert = ip.invflags & IPT_INV_SRCIP != 0;
            let mut dst = AddrSel::default();
            dst.addr[..4].copy_from_slice(&ip.dst);
            dst.mask[..4].copy_from_slice(&ip.dmsk);
            dst.invert = ip.invflags & IPT_INV_DSTIP != 0;
            let spec = IpSpec {
                src,
                dst,
                in_iface: IfaceSel {
                    name: ip.iniface,
                    mask: ip.iniface_mask,
                    invert: ip.invflags & IPT_INV_VIA_IN != 0,
                },
                out_iface: IfaceSel {
                    name: ip.outiface,
                    mask: ip.outiface_mask,
                    invert: ip.invflags & IPT_INV_VIA_OUT != 0,
                },
                proto: ip.proto,
                proto_invert: ip.invflags & IPT_INV_PROTO != 0,
                fragment: ip.flags & IPT_F_FRAG != 0,
                fragment_invert: ip.invflags & IPT_INV_FRAG != 0,
                ipv6_tos: None,
                tos_invert: ip.invflags & IPT_INV_TOS != 0,
            };
            let counters = Counters {
                packets: e.counters.pcnt,
                bytes: e.counters.bcnt,
            };
            Some((
                spec,
                ip.flags & IPT_F_GOTO != 0,
                e.target_offset,
                e.next_offset,
                counters,
            ))
        }
        Family::Ipv6 => {
            let e = ip6t_entry::read_from_prefix(bytes)?;
            let ip = e.ipv6;
            let spec = IpSpec {
                src: AddrSel {
                    addr: ip.src,
                    mask: ip.smsk,
                    invert: ip.invflags & IPT_INV_SRCIP != 0,
                },
                dst: AddrSel {
                    addr: ip.dst,
                    mask: ip.dmsk,
                    invert: ip.invflags & IPT_INV_DSTIP != 0,
                },
                in_iface: IfaceSel {
                    name: ip.iniface,
                    mask: ip.iniface_mask,
                    invert: ip.invflags & IPT_INV_VIA_IN != 0,
                },
                out_iface: IfaceSel {
                    name: ip.outiface,
                    mask: ip.outiface_mask,
                    invert: ip.invflags & IPT_INV_VIA_OUT != 0,
                },
                proto: ip.proto,
                proto_invert: ip.invflags & IPT_INV_PROTO != 0,
                // ip6tables has no -f; the frag inversion bit is not used.
                fragment: false,
                fragment_invert: ip.invflags & IPT_INV_FRAG != 0,
                ipv6_tos: (ip.flags & IP6T_F_TOS != 0).then_some(ip.tos),
                tos_invert: ip.invflags & IPT_INV_TOS != 0,
            };
            // IP6T_F_PROTO is implied by proto != 0 and rebuilt on write.
            let _ = IP6T_F_PROTO;
            let counters = Counters {
                packets: e.counters.pcnt,
                bytes: e.counters.bcnt,
            };
            Some((
                spec,
                ip.flags & IP6T_F_GOTO != 0,
                e.target_offset,
                e.next_offset,
                counters,
            ))
        }
    }
}

/// Assembles chains from the entries of table `name`.
pub fn decode_table(
    family: Family,
    name: &str,
    hooks: &Hooks,
    blob: &[u8],
) -> Result<Table, BlobError> {
    let entries = parse_entries(family, name, blob)?;
    let err = |offset: usize, reason: String| BlobError {
        table: name.to_string(),
        offset,
        reason,
    };
    // Jump targets: the entry after each user chain's ERROR head.
    let mut chain_at: HashMap<usize, String> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let RawTarget::Error(chain) = &e.target {
            if chain != "ERROR" {
                let first = entries
                    .get(i + 1)
                    .ok_or_else(|| err(e.offset, format!("chain {chain} has no footer")))?;
                chain_at.insert(first.offset, chain.clone());
            }
        }
    }
    let mut builtin: Vec<Chain> = Vec::new();
    let mut user: Vec<Chain> = Vec::new();
    let mut current: Option<(Chain, Option<usize>)> = None; // chain, hook
    let mut ended = false;
    for (i, e) in entries.iter().enumerate() {
        if ended {
            return Err(err(
                e.offset,
                "entry after the table's final ERROR entry".into(),
            ));
        }
        // A hook's chain starts here?
        if let Some(hook) = (0..NF_INET_NUMHOOKS)
            .find(|&h| hooks.is_valid(h) && hooks.hook_entry[h] as usize == e.offset)
        {
            if let Some((c, _)) = current.take() {
                return Err(err(e.offset, format!("chain {} not terminated", c.name)));
            }
            let chain_name = builtin_chain(name, hook as u32)
                .map(str::to_string)
                .unwrap_or_else(|| crate::ruleset::HOOK_CHAINS[hook].to_string());
            current = Some((
                Chain {
                    name: chain_name,
                    base: None,
                    counters: Counters::default(),
                    rules: Vec::new(),
                },
                Some(hook),
            ));
        }
        if let RawTarget::Error(chain) = &e.target {
            if let Some((c, _)) = current.take() {
                return Err(err(e.offset, format!("chain {} not terminated", c.name)));
            }
            if chain == "ERROR" {
                ended = true;
            } else {
                current = Some((
                    Chain {
                        name: chain.clone(),
                        base: None,
                        counters: Counters::default(),
                        rules: Vec::new(),
                    },
                    None,
                ));
            }
            continue;
        }
        let Some((chain, hook)) = current.as_mut() else {
            return Err(err(e.offset, "entry outside any chain".into()));
        };
        // Built-in chain policy?
        if let Some(h) = *hook {
            if hooks.underflow[h] as usize == e.offset {
                let policy = match e.target {
                    RawTarget::Standard(v) if v == -NF_ACCEPT - 1 => Policy::Accept,
                    RawTarget::Standard(v) if v == -NF_DROP - 1 => Policy::Drop,
                    _ => return Err(err(e.offset, "policy entry is not ACCEPT or DROP".into())),
                };
                chain.base = Some(BaseChain {
                    hook: h as u32,
                    policy,
                    priority: None,
                    chain_type: None,
                });
                chain.counters = e.counters;
                if let Some((c, _)) = current.take() {
                    builtin.push(c);
                }
                continue;
            }
        } else if e.unconditional
            && e.target == RawTarget::Standard(XT_RETURN)
            && matches!(
                entries.get(i + 1).map(|n| &n.target),
                Some(RawTarget::Error(_))
            )
        {
            // A user chain's RETURN footer.
            if let Some((c, _)) = current.take() {
                user.push(c);
            }
            continue;
        }
        let target = match &e.target {
            RawTarget::Standard(v) => standard_target(*v, e, &chain_at)
                .ok_or_else(|| err(e.offset, format!("jump to byte {v}, which starts no chain")))?,
            RawTarget::Ext(x) => Target::Ext(x.clone()),
            RawTarget::Error(_) => unreachable!("handled above"),
        };
        chain.rules.push(Rule {
            spec: e.spec,
            matches: e.matches.clone(),
            target,
            counters: e.counters,
            // The entry's index: the identity the writer uses to carry this
            // rule's counters over a table replace.
            handle: Some(i as u64),
        });
    }
    if let Some((c, _)) = current {
        return Err(err(blob.len(), format!("chain {} not terminated", c.name)));
    }
    if !ended {
        return Err(err(blob.len(), "no final ERROR entry".into()));
    }
    // libiptc lists built-in chains in hook order, then user chains by name.
    builtin.sort_by_key(|c| c.base.as_ref().map(|b| b.hook));
    user.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    builtin.extend(user);
    Ok(Table {
        name: name.to_string(),
        chains: builtin,
        compat: TableCompat::Compatible,
    })
}

fn standard_target(
    verdict: i32,
    e: &RawEntry,
    chain_at: &HashMap<usize, String>,
) -> Option<Target> {
    Some(match verdict {
        v if v == -NF_ACCEPT - 1 => Target::Accept,
        v if v == -NF_DROP - 1 => Target::Drop,
        v if v == -NF_QUEUE - 1 => Target::Queue,
        XT_RETURN => Target::Return,
        v if v >= 0 && v as usize == e.offset + e.size => Target::Continue,
        v if v >= 0 => {
            let chain = chain_at.get(&(v as usize))?.clone();
            if e.goto {
                Target::Goto(chain)
            } else {
                Target::Jump(chain)
            }
        }
        _ => return None,
    })
}
