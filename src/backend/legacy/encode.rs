//! The legacy table blob, written: the inverse of [`super::blob`]. Pure
//! code: model in, bytes out, laid out exactly as libiptc's `TC_COMMIT`
//! lays them out (netfilter-abi.md A.3), so that a table we write is
//! byte-for-byte the table `iptables-legacy-restore` would have written,
//! and `iptables-legacy -C`/`-D` find our rules.
//!
//! Order: the built-in chains in hook order, each as its rules then its
//! policy entry; the user chains sorted by name (strcmp order), each as an
//! `ERROR` head naming the chain, its rules and a `RETURN` footer; a final
//! `ERROR "ERROR"` entry. Jumps are byte offsets of the first entry after
//! the target chain's head.

use crate::ruleset::{Chain, Counters, IpSpec, Policy, Rule, Table, Target};
use crate::xt::Extension;
use crate::Family;
use nfdoctor_sys::ip6_tables::{ip6t_entry, ip6t_ip6, IP6T_F_GOTO, IP6T_F_PROTO, IP6T_F_TOS};
use nfdoctor_sys::ip_tables::{
    ipt_entry, ipt_ip, ipt_replace, IPT_F_FRAG, IPT_F_GOTO, IPT_INV_DSTIP, IPT_INV_FRAG,
    IPT_INV_PROTO, IPT_INV_SRCIP, IPT_INV_TOS, IPT_INV_VIA_IN, IPT_INV_VIA_OUT,
};
use nfdoctor_sys::netfilter::{NF_ACCEPT, NF_DROP, NF_INET_NUMHOOKS, NF_QUEUE};
use nfdoctor_sys::x_tables::{
    xt_counters, xt_entry_match, xt_entry_target, xt_error_target, xt_standard_target,
    XT_ERROR_TARGET, XT_EXTENSION_MAXNAMELEN, XT_FUNCTION_MAXNAMELEN, XT_RETURN,
    XT_TABLE_MAXNAMELEN,
};
use nfdoctor_sys::{c_name, xt_align, Pod};
use std::collections::HashMap;
use std::mem::size_of;

const MATCH_HEADER: usize = size_of::<xt_entry_match>();
const TARGET_HEADER: usize = size_of::<xt_entry_target>();
const STANDARD_TARGET: usize = size_of::<xt_standard_target>();
const ERROR_TARGET: usize = size_of::<xt_error_target>();

/// The hooks a legacy table always has (netfilter-abi.md A.3): the kernel
/// refuses a replace whose `valid_hooks` differ from the table's.
pub fn table_valid_hooks(table: &str) -> Option<u32> {
    Some(match table {
        "filter" | "security" => 0x0e,
        "nat" => 0x1b,
        "mangle" => 0x1f,
        "raw" => 0x09,
        _ => return None,
    })
}

/// What an entry of the blob stands for. The writer uses it to carry
/// counters over a replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A rule: `table.chains[chain].rules[rule]`; `handle` is that rule's
    /// [`Rule::handle`] (its entry index when it was read), `None` for a
    /// rule not yet in the kernel.
    Rule {
        chain: usize,
        rule: usize,
        handle: Option<u64>,
    },
    /// The policy entry of the built-in chain at `hook`.
    Policy { hook: u32 },
    /// A user chain's `ERROR` head.
    ChainHead,
    /// A user chain's `RETURN` footer.
    ChainFooter,
    /// The final `ERROR "ERROR"` entry.
    End,
}

/// One entry of an encoded blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryInfo {
    /// Byte offset in the blob.
    pub offset: u32,
    pub kind: EntryKind,
    /// The counters the model gives the entry (also written into the blob,
    /// though the kernel zeroes them on replace).
    pub counters: Counters,
}

/// A table ready for `SO_SET_REPLACE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedTable {
    pub name: String,
    pub valid_hooks: u32,
    /// Offset of each valid hook's first entry; 0 for other hooks (as
    /// libiptc sends them; the kernel reports them as `0xFFFFFFFF`).
    pub hook_entry: [u32; NF_INET_NUMHOOKS],
    /// Offset of each valid hook's policy entry; 0 for other hooks.
    pub underflow: [u32; NF_INET_NUMHOOKS],
    pub blob: Vec<u8>,
    /// One per entry, in blob order.
    pub entries: Vec<EntryInfo>,
}

impl EncodedTable {
    pub fn num_entries(&self) -> u32 {
        self.entries.len() as u32
    }

    pub fn size(&self) -> u32 {
        self.blob.len() as u32
    }

    /// For each entry, the handle of the rule it came from (`None` for new
    /// rules, policies, chain heads and footers and the final entry).
    pub fn handles(&self) -> impl Iterator<Item = Option<u64>> + '_ {
        self.entries.iter().map(|e| match e.kind {
            EntryKind::Rule { handle, .. } => handle,
            _ => None,
        })
    }

    /// The `ipt_replace` / `ip6t_replace` header (one layout) for this
    /// table; `num_counters` must be the kernel's current entry count. The
    /// `counters` pointer is left for the caller to fill.
    pub fn replace_header(&self, num_counters: u32) -> ipt_replace {
        let mut name = [0u8; XT_TABLE_MAXNAMELEN];
        let bytes = self.name.as_bytes();
        let n = bytes.len().min(XT_TABLE_MAXNAMELEN - 1);
        name[..n].copy_from_slice(&bytes[..n]);
        ipt_replace {
            name,
            valid_hooks: self.valid_hooks,
            num_entries: self.num_entries(),
            size: self.size(),
            hook_entry: self.hook_entry,
            underflow: self.underflow,
            num_counters,
            counters: 0,
        }
    }
}

/// Why a table cannot be put in a blob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("table {table}{}: {reason}", chain.as_ref().map(|c| format!(", chain {c}")).unwrap_or_default())]
pub struct EncodeError {
    pub table: String,
    pub chain: Option<String>,
    pub reason: String,
}

/// Size of the fixed entry header for `family`.
fn header_len(family: Family) -> usize {
    match family {
        Family::Ipv4 => size_of::<ipt_entry>(),
        Family::Ipv6 => size_of::<ip6t_entry>(),
    }
}

fn ext_size(x: &Extension) -> usize {
    MATCH_HEADER + xt_align(x.data.len())
}

fn rule_size(family: Family, rule: &Rule) -> (usize, usize) {
    let target_offset = header_len(family) + rule.matches.iter().map(ext_size).sum::<usize>();
    let target = match &rule.target {
        Target::Ext(x) => TARGET_HEADER + xt_align(x.data.len()),
        _ => STANDARD_TARGET,
    };
    (target_offset, target_offset + target)
}

/// Encodes `table` for `family`.
pub fn encode_table(family: Family, table: &Table) -> Result<EncodedTable, EncodeError> {
    let err = |chain: Option<&str>, reason: String| EncodeError {
        table: table.name.clone(),
        chain: chain.map(str::to_string),
        reason,
    };
    if table.name.is_empty() || c_name::<XT_TABLE_MAXNAMELEN>(&table.name).is_none() {
        return Err(err(None, "invalid table name".into()));
    }

    // Chains in blob order: built-in by hook, user chains by name.
    // (index in table.chains, chain)
    let mut builtin: [Option<(usize, &Chain)>; NF_INET_NUMHOOKS] = [None; NF_INET_NUMHOOKS];
    let mut user: Vec<(usize, &Chain)> = Vec::new();
    for (ci, c) in table.chains.iter().enumerate() {
        match &c.base {
            Some(b) => {
                let h = b.hook as usize;
                if h >= NF_INET_NUMHOOKS {
                    return Err(err(
                        Some(&c.name),
                        format!("hook {} does not exist", b.hook),
                    ));
                }
                if let Some((_, other)) = builtin[h] {
                    return Err(err(
                        Some(&c.name),
                        format!("chain {} has the same hook {h}", other.name),
                    ));
                }
                builtin[h] = Some((ci, c));
            }
            None => {
                let n = c.name.as_bytes();
                if n.is_empty()
                    || n.len() >= XT_FUNCTION_MAXNAMELEN
                    || n.contains(&0)
                    || c.name == XT_ERROR_TARGET
                {
                    return Err(err(Some(&c.name), "invalid user chain name".into()));
                }
                user.push((ci, c));
            }
        }
    }
    let valid_hooks = builtin
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_some())
        .fold(0u32, |m, (h, _)| m | 1 << h);
    if let Some(expected) = table_valid_hooks(&table.name) {
        if valid_hooks != expected {
            let missing: Vec<&str> = (0..NF_INET_NUMHOOKS)
                .filter(|h| expected & (1 << h) != 0 && builtin[*h].is_none())
                .map(|h| crate::ruleset::HOOK_CHAINS[h])
                .collect();
            let extra: Vec<&str> = (0..NF_INET_NUMHOOKS)
                .filter(|h| expected & (1 << h) == 0 && builtin[*h].is_some())
                .map(|h| crate::ruleset::HOOK_CHAINS[h])
                .collect();
            return Err(err(
                None,
                format!(
                    "a legacy {} table has hooks {expected:#04x}; missing built-in chains: [{}], unexpected: [{}]",
                    table.name,
                    missing.join(", "),
                    extra.join(", ")
                ),
            ));
        }
    }
    if valid_hooks == 0 {
        return Err(err(None, "no built-in chain".into()));
    }
    user.sort_by(|a, b| a.1.name.as_bytes().cmp(b.1.name.as_bytes()));
    if let Some(w) = user.windows(2).find(|w| w[0].1.name == w[1].1.name) {
        return Err(err(Some(&w[0].1.name), "chain defined twice".into()));
    }
    if let Some((_, c)) = user
        .iter()
        .find(|(_, u)| builtin.iter().flatten().any(|(_, b)| b.name == u.name))
    {
        return Err(err(
            Some(&c.name),
            "user chain has a built-in chain's name".into(),
        ));
    }

    let hdr = header_len(family);
    let policy_size = hdr + STANDARD_TARGET;
    let head_size = hdr + ERROR_TARGET;

    // First pass: offsets, and where each user chain's first entry is.
    let mut entry_count = 1usize; // the final ERROR entry
    let mut size = 0usize;
    for (_, c) in builtin.iter().flatten() {
        for r in &c.rules {
            size += rule_size(family, r).1;
        }
        size += policy_size;
        entry_count += c.rules.len() + 1;
    }
    let mut chain_start: HashMap<&str, u32> = HashMap::with_capacity(user.len());
    for (_, c) in &user {
        chain_start.insert(&c.name, (size + head_size) as u32);
        size += head_size;
        for r in &c.rules {
            size += rule_size(family, r).1;
        }
        size += policy_size;
        entry_count += c.rules.len() + 2;
    }
    size += head_size;
    if size > u32::MAX as usize {
        return Err(err(None, format!("table too large ({size} bytes)")));
    }

    // Second pass: the bytes.
    let mut out = Writer {
        family,
        blob: vec![0u8; size],
        at: 0,
        entries: Vec::with_capacity(entry_count),
    };
    let mut hook_entry = [0u32; NF_INET_NUMHOOKS];
    let mut underflow = [0u32; NF_INET_NUMHOOKS];
    for (h, c) in builtin.iter().enumerate() {
        let Some((ci, c)) = c else { continue };
        hook_entry[h] = out.at as u32;
        for (ri, r) in c.rules.iter().enumerate() {
            out.rule(r, (*ci, ri), &chain_start)
                .map_err(|reason| err(Some(&c.name), reason))?;
        }
        underflow[h] = out.at as u32;
        let verdict = match c.base.as_ref().map(|b| b.policy) {
            Some(Policy::Drop) => -NF_DROP - 1,
            _ => -NF_ACCEPT - 1,
        };
        out.standard(verdict, EntryKind::Policy { hook: h as u32 }, c.counters);
    }
    for (ci, c) in &user {
        out.error(&c.name, EntryKind::ChainHead);
        for (ri, r) in c.rules.iter().enumerate() {
            out.rule(r, (*ci, ri), &chain_start)
                .map_err(|reason| err(Some(&c.name), reason))?;
        }
        out.standard(XT_RETURN, EntryKind::ChainFooter, Counters::default());
    }
    out.error(XT_ERROR_TARGET, EntryKind::End);
    debug_assert_eq!(out.at, size);
    debug_assert_eq!(out.entries.len(), entry_count);

    Ok(EncodedTable {
        name: table.name.clone(),
        valid_hooks,
        hook_entry,
        underflow,
        blob: out.blob,
        entries: out.entries,
    })
}

struct Writer {
    family: Family,
    blob: Vec<u8>,
    at: usize,
    entries: Vec<EntryInfo>,
}

impl Writer {
    fn put(&mut self, at: usize, bytes: &[u8]) {
        self.blob[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// Writes the entry header at the current offset.
    fn header(
        &mut self,
        spec: &IpSpec,
        goto: bool,
        target_offset: usize,
        next_offset: usize,
        counters: Counters,
    ) -> Result<(), String> {
        let (Ok(target_offset), Ok(next_offset)) =
            (u16::try_from(target_offset), u16::try_from(next_offset))
        else {
            return Err(format!(
                "rule too large for an x_tables entry ({next_offset} bytes, at most 65535)"
            ));
        };
        let counters = xt_counters {
            pcnt: counters.packets,
            bcnt: counters.bytes,
        };
        let mut inv = 0u8;
        if spec.in_iface.invert {
            inv |= IPT_INV_VIA_IN;
        }
        if spec.out_iface.invert {
            inv |= IPT_INV_VIA_OUT;
        }
        if spec.tos_invert {
            inv |= IPT_INV_TOS;
        }
        if spec.src.invert {
            inv |= IPT_INV_SRCIP;
        }
        if spec.dst.invert {
            inv |= IPT_INV_DSTIP;
        }
        if spec.fragment_invert {
            inv |= IPT_INV_FRAG;
        }
        if spec.proto_invert {
            inv |= IPT_INV_PROTO;
        }
        let at = self.at;
        match self.family {
            Family::Ipv4 => {
                if spec.ipv6_tos.is_some() {
                    return Err("an IPv4 rule can't select the IPv6 traffic class".into());
                }
                let mut flags = 0;
                if spec.fragment {
                    flags |= IPT_F_FRAG;
                }
                if goto {
                    flags |= IPT_F_GOTO;
                }
                let four = |a: &[u8; 16]| [a[0], a[1], a[2], a[3]];
                let e = ipt_entry {
                    ip: ipt_ip {
                        src: four(&spec.src.addr),
                        dst: four(&spec.dst.addr),
                        smsk: four(&spec.src.mask),
                        dmsk: four(&spec.dst.mask),
                        iniface: spec.in_iface.name,
                        outiface: spec.out_iface.name,
                        iniface_mask: spec.in_iface.mask,
                        outiface_mask: spec.out_iface.mask,
                        proto: spec.proto,
                        flags,
                        invflags: inv,
                    },
                    nfcache: 0,
                    target_offset,
                    next_offset,
                    comefrom: 0,
                    counters,
                };
                self.put(at, e.as_bytes());
            }
            Family::Ipv6 => {
                if spec.fragment {
                    return Err("ip6tables rules have no fragment flag (-f)".into());
                }
                let mut flags = 0;
                if spec.proto != 0 {
                    flags |= IP6T_F_PROTO;
                }
                if spec.ipv6_tos.is_some() {
                    flags |= IP6T_F_TOS;
                }
                if goto {
                    flags |= IP6T_F_GOTO;
                }
                let e = ip6t_entry {
                    ipv6: ip6t_ip6 {
                        src: spec.src.addr,
                        dst: spec.dst.addr,
                        smsk: spec.src.mask,
                        dmsk: spec.dst.mask,
                        iniface: spec.in_iface.name,
                        outiface: spec.out_iface.name,
                        iniface_mask: spec.in_iface.mask,
                        outiface_mask: spec.out_iface.mask,
                        proto: spec.proto,
                        tos: spec.ipv6_tos.unwrap_or(0),
                        flags,
                        invflags: inv,
                        _pad: [0; 3],
                    },
                    nfcache: 0,
                    target_offset,
                    next_offset,
                    comefrom: 0,
                    _pad: [0; 4],
                    counters,
                };
                self.put(at, e.as_bytes());
            }
        }
        Ok(())
    }

    /// A match or target header plus its payload, zero-padded to XT_ALIGN.
    fn extension(&mut self, at: usize, x: &Extension, what: &str) -> Result<usize, String> {
        let name = c_name::<XT_EXTENSION_MAXNAMELEN>(&x.name)
            .filter(|_| !x.name.is_empty())
            .ok_or_else(|| format!("invalid {what} name {:?}", x.name))?;
        let size = MATCH_HEADER + xt_align(x.data.len());
        let size16 = u16::try_from(size).map_err(|_| format!("{what} {} too large", x.name))?;
        // xt_entry_match and xt_entry_target share one layout.
        let h = xt_entry_match {
            match_size: size16,
            name,
            revision: x.revision,
        };
        self.put(at, h.as_bytes());
        self.put(at + MATCH_HEADER, &x.data);
        Ok(size)
    }

    fn rule(
        &mut self,
        r: &Rule,
        (chain, rule): (usize, usize),
        chain_start: &HashMap<&str, u32>,
    ) -> Result<(), String> {
        let (target_offset, next_offset) = rule_size(self.family, r);
        let start = self.at;
        let goto = matches!(r.target, Target::Goto(_));
        self.header(&r.spec, goto, target_offset, next_offset, r.counters)?;
        let mut at = start + header_len(self.family);
        for m in &r.matches {
            at += self.extension(at, m, "match")?;
        }
        debug_assert_eq!(at, start + target_offset);
        let verdict = match &r.target {
            Target::Ext(x) => {
                if x.name.is_empty() || x.name == XT_ERROR_TARGET {
                    return Err(format!("invalid target name {:?}", x.name));
                }
                self.extension(at, x, "target")?;
                None
            }
            Target::Continue => Some((start + next_offset) as i32),
            Target::Accept => Some(-NF_ACCEPT - 1),
            Target::Drop => Some(-NF_DROP - 1),
            Target::Queue => Some(-NF_QUEUE - 1),
            Target::Return => Some(XT_RETURN),
            Target::Jump(c) | Target::Goto(c) => Some(
                *chain_start
                    .get(c.as_str())
                    .ok_or_else(|| format!("jump to {c}, which is not a user chain here"))?
                    as i32,
            ),
        };
        if let Some(v) = verdict {
            self.put(at, standard_target(v).as_bytes());
        }
        self.entries.push(EntryInfo {
            offset: start as u32,
            kind: EntryKind::Rule {
                chain,
                rule,
                handle: r.handle,
            },
            counters: r.counters,
        });
        self.at = start + next_offset;
        Ok(())
    }

    /// An unconditional entry with a standard target (policy or footer).
    fn standard(&mut self, verdict: i32, kind: EntryKind, counters: Counters) {
        let hdr = header_len(self.family);
        let start = self.at;
        self.header(
            &IpSpec::default(),
            false,
            hdr,
            hdr + STANDARD_TARGET,
            counters,
        )
        .expect("fixed-size entry fits");
        self.put(start + hdr, standard_target(verdict).as_bytes());
        self.entries.push(EntryInfo {
            offset: start as u32,
            kind,
            counters,
        });
        self.at = start + hdr + STANDARD_TARGET;
    }

    /// An unconditional `ERROR` entry (user chain head or the final entry).
    fn error(&mut self, errorname: &str, kind: EntryKind) {
        let hdr = header_len(self.family);
        let start = self.at;
        self.header(
            &IpSpec::default(),
            false,
            hdr,
            hdr + ERROR_TARGET,
            Counters::default(),
        )
        .expect("fixed-size entry fits");
        let t = xt_error_target {
            target: xt_entry_target {
                target_size: ERROR_TARGET as u16,
                name: c_name(XT_ERROR_TARGET).expect("short name"),
                revision: 0,
            },
            // Checked by the caller: shorter than the field.
            errorname: c_name(errorname).unwrap_or([0; XT_FUNCTION_MAXNAMELEN]),
            _pad: [0; 2],
        };
        self.put(start + hdr, t.as_bytes());
        self.entries.push(EntryInfo {
            offset: start as u32,
            kind,
            counters: Counters::default(),
        });
        self.at = start + hdr + ERROR_TARGET;
    }
}

fn standard_target(verdict: i32) -> xt_standard_target {
    xt_standard_target {
        target: xt_entry_target {
            target_size: STANDARD_TARGET as u16,
            name: [0; XT_EXTENSION_MAXNAMELEN],
            revision: 0,
        },
        verdict,
        _pad: [0; 4],
    }
}
