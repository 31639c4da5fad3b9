//! The legacy table blob (netfilter-abi.md A.3): a run of `ipt_entry` /
//! `ip6t_entry` records, chains implied by position, jumps as byte offsets.
//! Pure code: bytes in, model out.
//!
//! [`TableIndex`] checks a whole blob and finds its chains without decoding
//! any rule, so that rules can then be decoded one at a time, straight from
//! the kernel's bytes ([`TableIndex::fill_rule`]): printing a table of any
//! size holds the blob and one rule. [`decode_table`] decodes all of them.
//! Every input, however malformed, gives an error, never a panic.

use crate::ruleset::{
    builtin_chain, AddrSel, BaseChain, Chain, Counters, IfaceSel, IpSpec, Policy, Rule, Table,
    TableCompat, Target,
};
use crate::xt::{name_from_bytes, Extension};
use crate::Family;
use nfdoctor_sys::ip6_tables::{ip6t_entry, IP6T_F_GOTO, IP6T_F_PROTO, IP6T_F_TOS};
use nfdoctor_sys::ip_tables::{
    ipt_entry, IPT_F_FRAG, IPT_F_GOTO, IPT_INV_DSTIP, IPT_INV_FRAG, IPT_INV_PROTO, IPT_INV_SRCIP,
    IPT_INV_TOS, IPT_INV_VIA_IN, IPT_INV_VIA_OUT,
};
use nfdoctor_sys::netfilter::{NF_ACCEPT, NF_DROP, NF_INET_NUMHOOKS, NF_QUEUE};
use nfdoctor_sys::x_tables::{xt_entry_match, xt_entry_target, XT_EXTENSION_MAXNAMELEN, XT_RETURN};
use nfdoctor_sys::{c_name_bytes, Pod};
use std::borrow::Cow;
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

/// One entry's framing, checked: its bytes and where its target starts.
#[derive(Debug, Clone, Copy)]
struct Frame<'b> {
    offset: usize,
    /// The entry, `next_offset` bytes.
    bytes: &'b [u8],
    target_offset: usize,
    target_size: usize,
}

impl<'b> Frame<'b> {
    /// The target's name (empty for the standard target).
    fn target_name(&self) -> &'b [u8] {
        // The walk checked that a whole target header is there: the name
        // follows `target_size` and runs to its NUL (29 bytes at most).
        let at = self.target_offset + 2;
        self.bytes
            .get(at..at + XT_EXTENSION_MAXNAMELEN)
            .map(c_name_bytes)
            .unwrap_or(&[])
    }

    fn target_data(&self) -> &'b [u8] {
        &self.bytes[self.target_offset + 32..self.target_offset + self.target_size]
    }

    fn target_revision(&self) -> u8 {
        self.bytes[self.target_offset + 31]
    }

    /// Matches as (name, revision, payload), in order.
    fn matches(&self, header_len: usize) -> impl Iterator<Item = (&'b [u8], u8, &'b [u8])> {
        let bytes = self.bytes;
        let end = self.target_offset;
        let mut at = header_len;
        std::iter::from_fn(move || {
            if at >= end {
                return None;
            }
            let m = xt_entry_match::read_from_prefix(&bytes[at..end])?;
            let size = usize::from(m.match_size);
            let name = c_name_bytes(&m.name);
            let item = (
                &bytes[at + 2..at + 2 + name.len()],
                m.revision,
                &bytes[at + 32..at + size],
            );
            at += size;
            Some(item)
        })
    }

    /// The standard target's verdict, or `None` for a named target.
    fn verdict(&self) -> Option<i32> {
        if !self.target_name().is_empty() {
            return None;
        }
        let v = self.target_data().get(..4)?;
        Some(i32::from_ne_bytes([v[0], v[1], v[2], v[3]]))
    }
}

/// Walks the blob's entries, checking every size and offset (the checks
/// and errors of [`parse_entries`]), handing each one's frame to `each`.
fn walk_entries<'b>(
    family: Family,
    table: &str,
    blob: &'b [u8],
    mut each: impl FnMut(Frame<'b>) -> Result<(), BlobError>,
) -> Result<(), BlobError> {
    let err = |offset: usize, reason: String| BlobError {
        table: table.to_string(),
        offset,
        reason,
    };
    let header_len = entry_header_len(family);
    let mut offset = 0;
    while offset < blob.len() {
        let rest = &blob[offset..];
        let (target_offset, next_offset) = header_offsets(family, rest)
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
        let mut at = header_len;
        while at < target_offset {
            let m = xt_entry_match::read_from_prefix(&rest[at..target_offset])
                .ok_or_else(|| err(offset, format!("truncated match header at +{at}")))?;
            let size = usize::from(m.match_size);
            if size < std::mem::size_of::<xt_entry_match>() || at + size > target_offset {
                return Err(err(offset, format!("bad match size {size} at +{at}")));
            }
            at += size;
        }
        let t = xt_entry_target::read_from_prefix(&rest[target_offset..next_offset])
            .ok_or_else(|| err(offset, "truncated target".into()))?;
        let t_size = usize::from(t.target_size);
        if t_size < 32 || target_offset + t_size > next_offset {
            return Err(err(offset, format!("bad target size {t_size}")));
        }
        let frame = Frame {
            offset,
            bytes: &rest[..next_offset],
            target_offset,
            target_size: t_size,
        };
        if c_name_bytes(&t.name).is_empty() && frame.target_data().len() < 4 {
            return Err(err(offset, "standard target without verdict".into()));
        }
        each(frame)?;
        offset += next_offset;
    }
    Ok(())
}

/// `target_offset` and `next_offset` of the entry at the start of `bytes`.
fn header_offsets(family: Family, bytes: &[u8]) -> Option<(u16, u16)> {
    // Read in place: copying the whole header for two fields shows in big
    // tables.
    let at = match family {
        Family::Ipv4 => std::mem::offset_of!(ipt_entry, target_offset),
        Family::Ipv6 => std::mem::offset_of!(ip6t_entry, target_offset),
    };
    if bytes.len() < entry_header_len(family) {
        return None;
    }
    let b = &bytes[at..at + 4];
    Some((
        u16::from_ne_bytes([b[0], b[1]]),
        u16::from_ne_bytes([b[2], b[3]]),
    ))
}

/// Sets `name` to `bytes` (lossily decoded), unless it is that already.
fn set_name(name: &mut Cow<'static, str>, bytes: &[u8]) {
    if name.as_bytes() != bytes {
        *name = name_from_bytes(bytes);
    }
}

/// Splits the blob into entries, checking every size and offset.
pub fn parse_entries(family: Family, table: &str, blob: &[u8]) -> Result<Vec<RawEntry>, BlobError> {
    let header_len = entry_header_len(family);
    let mut entries = Vec::new();
    walk_entries(family, table, blob, |f| {
        let (spec, goto, _, _, counters) =
            decode_header(family, f.bytes).ok_or_else(|| BlobError {
                table: table.to_string(),
                offset: f.offset,
                reason: "truncated entry header".into(),
            })?;
        let matches: Vec<Extension> = f
            .matches(header_len)
            .map(|(name, rev, data)| Extension::new(name_from_bytes(name), rev, data))
            .collect();
        let target = match f.verdict() {
            Some(v) => RawTarget::Standard(v),
            None => match f.target_name() {
                b"ERROR" => RawTarget::Error(crate::xt::text::c_string(f.target_data())),
                name => RawTarget::Ext(Extension::new(
                    name_from_bytes(name),
                    f.target_revision(),
                    f.target_data(),
                )),
            },
        };
        let unconditional = matches.is_empty() && spec == IpSpec::default() && !goto;
        entries.push(RawEntry {
            offset: f.offset,
            size: f.bytes.len(),
            spec,
            goto,
            counters,
            matches,
            target,
            unconditional,
        });
        Ok(())
    })?;
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
    TableIndex::new(family, name, hooks, blob)?.table(blob)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SlimTarget {
    Standard(i32),
    /// A user chain head ("ERROR" for the table's end).
    Error(String),
    Ext,
}

/// The target of the (already checked) entry `bytes`.
fn slim_target(bytes: &[u8], family: Family) -> SlimTarget {
    let Some((target_offset, _)) = header_offsets(family, bytes) else {
        return SlimTarget::Ext;
    };
    let target_offset = usize::from(target_offset);
    let Some(t) = bytes
        .get(target_offset..)
        .and_then(xt_entry_target::read_from_prefix)
    else {
        return SlimTarget::Ext;
    };
    let data = bytes
        .get(target_offset + 32..target_offset + usize::from(t.target_size))
        .unwrap_or(&[]);
    match c_name_bytes(&t.name) {
        b"" => match data.get(..4) {
            Some(v) => SlimTarget::Standard(i32::from_ne_bytes([v[0], v[1], v[2], v[3]])),
            None => SlimTarget::Ext,
        },
        b"ERROR" => SlimTarget::Error(crate::xt::text::c_string(data)),
        _ => SlimTarget::Ext,
    }
}

/// A checked table blob: its chains in output order and which entries are
/// each chain's rules, found without decoding a single rule. The blob
/// itself is not kept; pass the same one to the methods.
#[derive(Debug, Clone)]
pub struct TableIndex {
    pub family: Family,
    pub name: String,
    /// In output order (built-in chains by hook, then user chains by
    /// name), without rules.
    pub chains: Vec<Chain>,
    /// Per chain, the indexes of its rule entries.
    spans: Vec<std::ops::Range<usize>>,
    /// Where each entry starts, then the blob's end.
    offsets: Vec<u32>,
    /// Jump targets: the offset of each user chain's first entry.
    chain_at: HashMap<usize, String>,
}

impl TableIndex {
    /// Checks the blob of table `name` and finds its chains (netfilter-abi.md
    /// A.4), with the errors of [`decode_table`].
    pub fn new(family: Family, name: &str, hooks: &Hooks, blob: &[u8]) -> Result<Self, BlobError> {
        let err = |offset: usize, reason: String| BlobError {
            table: name.to_string(),
            offset,
            reason,
        };
        if u32::try_from(blob.len()).is_err() {
            return Err(err(0, "blob larger than 4 GiB".into()));
        }
        let header_len = entry_header_len(family);
        let mut offsets = Vec::new();
        // Jump targets: the entry after each user chain's ERROR head.
        let mut heads: Vec<(usize, String)> = Vec::new();
        walk_entries(family, name, blob, |f| {
            if f.verdict().is_none() && f.target_name() == b"ERROR" {
                let chain = crate::xt::text::c_string(f.target_data());
                if chain != "ERROR" {
                    heads.push((offsets.len(), chain));
                }
            }
            offsets.push(f.offset as u32);
            Ok(())
        })?;
        offsets.push(blob.len() as u32);
        let count = offsets.len() - 1;
        let span = |i: usize| offsets[i] as usize..offsets[i + 1] as usize;
        let mut chain_at: HashMap<usize, String> = HashMap::new();
        for (i, chain) in heads {
            if i + 1 >= count {
                return Err(err(
                    offsets[i] as usize,
                    format!("chain {chain} has no footer"),
                ));
            }
            chain_at.insert(offsets[i + 1] as usize, chain);
        }
        let target = |i: usize| slim_target(&blob[span(i)], family);
        // The header says nothing and there are no matches?
        let unconditional = |i: usize| {
            let bytes = &blob[span(i)];
            header_offsets(family, bytes).is_some_and(|(t, _)| usize::from(t) == header_len)
                && decode_header(family, bytes)
                    .is_some_and(|(spec, goto, ..)| spec == IpSpec::default() && !goto)
        };
        let counters_of = |i: usize| {
            decode_header(family, &blob[span(i)])
                .map(|h| h.4)
                .unwrap_or_default()
        };
        // (chain, hook, first rule entry, end)
        let mut builtin: Vec<(Chain, usize, usize, usize)> = Vec::new();
        let mut user: Vec<(Chain, usize, usize)> = Vec::new();
        let mut current: Option<(Chain, Option<usize>, usize)> = None;
        let mut ended = false;
        let mut next_target = (count > 0).then(|| target(0));
        for (i, &start) in offsets[..count].iter().enumerate() {
            let offset = start as usize;
            let this = next_target.take().unwrap_or(SlimTarget::Ext);
            next_target = (i + 1 < count).then(|| target(i + 1));
            if ended {
                return Err(err(
                    offset,
                    "entry after the table's final ERROR entry".into(),
                ));
            }
            // A hook's chain starts here?
            if let Some(hook) = (0..NF_INET_NUMHOOKS)
                .find(|&h| hooks.is_valid(h) && hooks.hook_entry[h] as usize == offset)
            {
                if let Some((c, _, _)) = current.take() {
                    return Err(err(offset, format!("chain {} not terminated", c.name)));
                }
                let chain_name = builtin_chain(name, hook as u32)
                    .map(str::to_string)
                    .unwrap_or_else(|| crate::ruleset::HOOK_CHAINS[hook].to_string());
                current = Some((empty_chain(chain_name), Some(hook), i));
            }
            if let SlimTarget::Error(chain) = this {
                if let Some((c, _, _)) = current.take() {
                    return Err(err(offset, format!("chain {} not terminated", c.name)));
                }
                if chain == "ERROR" {
                    ended = true;
                } else {
                    current = Some((empty_chain(chain), None, i + 1));
                }
                continue;
            }
            let Some((chain, hook, first)) = current.as_mut() else {
                return Err(err(offset, "entry outside any chain".into()));
            };
            // Built-in chain policy?
            if let Some(h) = *hook {
                if hooks.underflow[h] as usize == offset {
                    let policy = match this {
                        SlimTarget::Standard(v) if v == -NF_ACCEPT - 1 => Policy::Accept,
                        SlimTarget::Standard(v) if v == -NF_DROP - 1 => Policy::Drop,
                        _ => return Err(err(offset, "policy entry is not ACCEPT or DROP".into())),
                    };
                    chain.base = Some(BaseChain {
                        hook: h as u32,
                        policy,
                        priority: None,
                        chain_type: None,
                    });
                    chain.counters = counters_of(i);
                    let first = *first;
                    if let Some((c, _, _)) = current.take() {
                        builtin.push((c, h, first, i));
                    }
                    continue;
                }
            } else if this == SlimTarget::Standard(XT_RETURN)
                && matches!(next_target, Some(SlimTarget::Error(_)))
                && unconditional(i)
            {
                // A user chain's RETURN footer.
                let first = *first;
                if let Some((c, _, _)) = current.take() {
                    user.push((c, first, i));
                }
                continue;
            }
            if let SlimTarget::Standard(v) = this {
                let size = span(i).len();
                if standard_verdict(v, offset, size, false, &chain_at).is_none() {
                    return Err(err(
                        offset,
                        format!("jump to byte {v}, which starts no chain"),
                    ));
                }
            }
        }
        if let Some((c, _, _)) = current {
            return Err(err(blob.len(), format!("chain {} not terminated", c.name)));
        }
        if !ended {
            return Err(err(blob.len(), "no final ERROR entry".into()));
        }
        // libiptc lists built-in chains in hook order, then user chains by name.
        builtin.sort_by_key(|(_, hook, _, _)| *hook);
        user.sort_by(|a, b| a.0.name.as_bytes().cmp(b.0.name.as_bytes()));
        let mut chains = Vec::with_capacity(builtin.len() + user.len());
        let mut spans = Vec::with_capacity(chains.capacity());
        for (c, _, first, end) in builtin {
            chains.push(c);
            spans.push(first..end);
        }
        for (c, first, end) in user {
            chains.push(c);
            spans.push(first..end);
        }
        Ok(TableIndex {
            family,
            name: name.to_string(),
            chains,
            spans,
            offsets,
            chain_at,
        })
    }

    /// The entries (indexes for [`Self::fill_rule`]) of chain `chain`'s
    /// rules, in order.
    pub fn rule_entries(&self, chain: usize) -> std::ops::Range<usize> {
        self.spans.get(chain).cloned().unwrap_or(0..0)
    }

    /// Decodes the rule at entry `entry` into `rule`, reusing its
    /// allocations. `blob` must be the blob the index was made from.
    pub fn fill_rule(&self, blob: &[u8], entry: usize, rule: &mut Rule) -> Result<(), BlobError> {
        let err = |offset: usize, reason: &str| BlobError {
            table: self.name.clone(),
            offset,
            reason: reason.to_string(),
        };
        let (Some(&start), Some(&end)) = (self.offsets.get(entry), self.offsets.get(entry + 1))
        else {
            return Err(err(blob.len(), "no such entry"));
        };
        let (offset, size) = (start as usize, end.saturating_sub(start) as usize);
        let bytes = blob
            .get(offset..offset + size)
            .ok_or_else(|| err(offset, "entry beyond the blob"))?;
        let (spec, goto, target_offset, _, counters) =
            decode_header(self.family, bytes).ok_or_else(|| err(offset, "truncated entry"))?;
        let frame = Frame {
            offset,
            bytes,
            target_offset: usize::from(target_offset),
            target_size: xt_entry_target::read_from_prefix(
                bytes
                    .get(usize::from(target_offset)..)
                    .ok_or_else(|| err(offset, "truncated target"))?,
            )
            .map(|t| usize::from(t.target_size))
            .filter(|&n| n >= 32 && usize::from(target_offset) + n <= bytes.len())
            .ok_or_else(|| err(offset, "truncated target"))?,
        };
        rule.spec = spec;
        rule.counters = counters;
        rule.handle = Some(entry as u64);
        let header_len = entry_header_len(self.family);
        // Room for exactly this rule's matches when it has less: pushed one
        // by one they would get room for four, several hundred bytes per
        // rule that a table of 10k rules keeps for as long as it lives.
        let count = frame.matches(header_len).count();
        rule.matches
            .reserve_exact(count.saturating_sub(rule.matches.len()));
        let mut n = 0;
        for (name, revision, data) in frame.matches(header_len) {
            match rule.matches.get_mut(n) {
                Some(m) => {
                    set_name(&mut m.name, name);
                    m.revision = revision;
                    m.data.clear();
                    m.data.extend_from_slice(data);
                }
                None => rule
                    .matches
                    .push(Extension::new(name_from_bytes(name), revision, data)),
            }
            n += 1;
        }
        rule.matches.truncate(n);
        rule.target = match frame.verdict() {
            Some(v) => standard_verdict(v, offset, size, goto, &self.chain_at)
                .ok_or_else(|| err(offset, "jump to a byte which starts no chain"))?,
            None if frame.target_name() == b"ERROR" => {
                return Err(err(offset, "a chain head is not a rule"))
            }
            None => {
                let (name, revision, data) = (
                    frame.target_name(),
                    frame.target_revision(),
                    frame.target_data(),
                );
                match std::mem::replace(&mut rule.target, Target::Continue) {
                    Target::Ext(mut x) => {
                        set_name(&mut x.name, name);
                        x.revision = revision;
                        x.data.clear();
                        x.data.extend_from_slice(data);
                        Target::Ext(x)
                    }
                    _ => Target::Ext(Extension::new(name_from_bytes(name), revision, data)),
                }
            }
        };
        Ok(())
    }

    /// The rule at entry `entry`.
    pub fn rule(&self, blob: &[u8], entry: usize) -> Result<Rule, BlobError> {
        let mut rule = Rule::new(IpSpec::default(), Vec::new(), Target::Continue);
        self.fill_rule(blob, entry, &mut rule)?;
        Ok(rule)
    }

    /// The whole table, every rule decoded.
    pub fn table(&self, blob: &[u8]) -> Result<Table, BlobError> {
        let mut chains = self.chains.clone();
        for (i, chain) in chains.iter_mut().enumerate() {
            chain.rules = self
                .rule_entries(i)
                .map(|e| self.rule(blob, e))
                .collect::<Result<_, _>>()?;
        }
        Ok(Table {
            name: self.name.clone(),
            chains,
            compat: TableCompat::Compatible,
        })
    }
}

fn empty_chain(name: String) -> Chain {
    Chain {
        name,
        base: None,
        counters: Counters::default(),
        rules: Vec::new(),
    }
}

fn standard_verdict(
    verdict: i32,
    offset: usize,
    size: usize,
    goto: bool,
    chain_at: &HashMap<usize, String>,
) -> Option<Target> {
    Some(match verdict {
        v if v == -NF_ACCEPT - 1 => Target::Accept,
        v if v == -NF_DROP - 1 => Target::Drop,
        v if v == -NF_QUEUE - 1 => Target::Queue,
        XT_RETURN => Target::Return,
        v if v >= 0 && v as usize == offset + size => Target::Continue,
        v if v >= 0 => {
            let chain = chain_at.get(&(v as usize))?.clone();
            if goto {
                Target::Goto(chain)
            } else {
                Target::Jump(chain)
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decoder before TableIndex (commit ab9ac46), as the reference the
    /// new one must agree with on every input.
    mod oracle {
        use super::super::*;

        pub fn parse_entries(
            family: Family,
            table: &str,
            blob: &[u8],
        ) -> Result<Vec<RawEntry>, BlobError> {
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
                let (spec, goto, target_offset, next_offset, counters) =
                    decode_header(family, rest)
                        .ok_or_else(|| err(offset, "truncated entry header".into()))?;
                let (target_offset, next_offset) =
                    (usize::from(target_offset), usize::from(next_offset));
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
                        name_from_bytes(c_name_bytes(&m.name)),
                        m.revision,
                        &rest[at + 32..at + size],
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
                    _ => RawTarget::Ext(Extension::new(name_from_bytes(name), t.revision, t_data)),
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
                            _ => {
                                return Err(err(
                                    e.offset,
                                    "policy entry is not ACCEPT or DROP".into(),
                                ))
                            }
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
                    RawTarget::Standard(v) => {
                        standard_target(*v, e, &chain_at).ok_or_else(|| {
                            err(e.offset, format!("jump to byte {v}, which starts no chain"))
                        })?
                    }
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
    }

    /// The `legacy_blob` seeds (`fuzz/seeds`): family, table, hooks, blob.
    fn seeds() -> Vec<(String, Family, &'static str, Hooks, Vec<u8>)> {
        const TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/legacy_blob");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("seeds") {
            let path = entry.expect("seed").path();
            let data = std::fs::read(&path).expect("seed");
            let word = |i: usize| {
                let at = 2 + 4 * i;
                u32::from_ne_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
            };
            let hooks = Hooks {
                valid_hooks: word(0),
                hook_entry: std::array::from_fn(|h| word(1 + h)),
                underflow: std::array::from_fn(|h| word(6 + h)),
            };
            let family = if data[0] & 1 == 0 {
                Family::Ipv4
            } else {
                Family::Ipv6
            };
            out.push((
                path.display().to_string(),
                family,
                TABLES[usize::from(data[1]) % 5],
                hooks,
                data[46..].to_vec(),
            ));
        }
        assert!(out.len() > 10);
        out
    }

    fn same_as_oracle(family: Family, table: &str, hooks: &Hooks, blob: &[u8]) -> bool {
        let new = decode_table(family, table, hooks, blob);
        let old = oracle::decode_table(family, table, hooks, blob);
        let entries = |r: Result<Vec<RawEntry>, BlobError>| format!("{r:?}");
        new == old
            && entries(parse_entries(family, table, blob))
                == entries(oracle::parse_entries(family, table, blob))
    }

    #[test]
    fn captured_tables_decode_as_before() {
        for (name, family, table, hooks, blob) in seeds() {
            assert!(
                oracle::decode_table(family, table, &hooks, &blob).is_ok(),
                "{name}"
            );
            assert!(same_as_oracle(family, table, &hooks, &blob), "{name}");
        }
    }

    #[test]
    fn corrupted_tables_fail_as_before() {
        // xorshift: the same corruptions every run.
        let mut x: u64 = 0x0bad_b10b_5eed_0001;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut differ = Vec::new();
        for (name, family, table, hooks, blob) in seeds() {
            for _ in 0..200 {
                let mut b = blob.clone();
                let mut h = hooks;
                match next() % 4 {
                    0 => {
                        let at = next() as usize % b.len();
                        b[at] ^= 1 << (next() % 8);
                    }
                    1 => {
                        let at = next() as usize % (b.len() - 1);
                        let v = [0u16, 8, 32, 0xfff8, 0xffff][next() as usize % 5];
                        b[at..at + 2].copy_from_slice(&v.to_ne_bytes());
                    }
                    2 => {
                        b.truncate(next() as usize % b.len());
                    }
                    _ => {
                        let hook = next() as usize % 5;
                        let v = next() as u32 % (b.len() as u32 + 16);
                        if next() % 2 == 0 {
                            h.hook_entry[hook] = v;
                        } else {
                            h.underflow[hook] = v;
                        }
                        h.valid_hooks ^= (next() % 2) as u32 * (1 << hook);
                    }
                }
                if !same_as_oracle(family, table, &h, &b) {
                    differ.push(name.clone());
                }
            }
        }
        assert!(
            differ.is_empty(),
            "the decoders disagree on corruptions of {differ:?}"
        );
    }

    #[test]
    fn rules_decode_one_by_one_reusing_the_previous_one() {
        for (name, family, table, hooks, blob) in seeds() {
            let index = TableIndex::new(family, table, &hooks, &blob).expect("index");
            let whole = decode_table(family, table, &hooks, &blob).expect("table");
            let mut rule = Rule::new(IpSpec::default(), Vec::new(), Target::Continue);
            // Backwards, so that every kind of rule overwrites every other.
            for (c, chain) in whole.chains.iter().enumerate().rev() {
                for (r, entry) in index.rule_entries(c).enumerate().rev() {
                    index.fill_rule(&blob, entry, &mut rule).expect("rule");
                    assert_eq!(rule, chain.rules[r], "{name}: {} rule {r}", chain.name);
                    // A table keeps every rule's matches as long as it
                    // lives: no room for more than they are.
                    let fresh = index.rule(&blob, entry).expect("rule");
                    assert_eq!(fresh.matches.capacity(), fresh.matches.len());
                }
            }
        }
    }
}
