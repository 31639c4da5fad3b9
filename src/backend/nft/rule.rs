//! Decoding one nf_tables rule into the model, following how iptables-nft
//! parses the expressions iptables-nft 1.8.7–1.8.13 write: registers loaded
//! by `meta`/`payload` (optionally masked by `bitwise`) and consumed by
//! `cmp`/`range`; `counter`; `immediate` verdicts; compat `match`/`target`;
//! native `limit`. Pure code over netlink attributes.

use crate::netlink::{Attr, AttrError, Attrs, ByKind};
use crate::ruleset::{Counters, IfaceSel, IpSpec, Rule, Target};
use crate::xt::{Extension, MatchValue};
use crate::Family;
use nfdoctor_sys::netfilter::{NF_ACCEPT, NF_DROP};
use nfdoctor_sys::nf_tables::*;
use nfdoctor_sys::xt::{xt_mark_mtinfo1, xt_pkttype_info, xt_rateinfo, XT_LIMIT_SCALE};
use nfdoctor_sys::Pod;

/// Why iptables syntax cannot express a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// An expression iptables-nft does not accept at all: like iptables,
    /// the whole table is then "incompatible".
    #[error("expression `{0}` has no iptables equivalent")]
    Unsupported(String),
    /// Known expressions in a form iptables cannot parse back.
    #[error("{0}")]
    Unparsable(String),
    #[error("malformed rule: {0}")]
    Malformed(String),
}

impl From<AttrError> for RuleError {
    fn from(e: AttrError) -> Self {
        RuleError::Malformed(e.to_string())
    }
}

/// What a register holds, as far as iptables' parser tracks it.
#[derive(Debug, Clone, Default)]
enum Reg {
    #[default]
    Undef,
    Meta(u32),
    Payload {
        base: u32,
        offset: u32,
        len: u32,
    },
    Immediate,
}

#[derive(Debug, Clone, Default)]
struct RegState {
    reg: Reg,
    /// `bitwise` mask applied to the loaded value.
    mask: Option<Vec<u8>>,
}

/// Matches built while decoding: typed ones are encoded at the end, so that
/// several port expressions can fill one `tcp` match, as in iptables.
enum PendingMatch {
    Ext(Extension),
    Typed(MatchValue, u8),
}

struct Decoder {
    family: Family,
    /// By [`reg_index`]; not on the heap, as a decoder is made per rule.
    regs: [RegState; 32],
    spec: IpSpec,
    matches: Vec<PendingMatch>,
    /// Index in `matches` of the `tcp`/`udp` match native ports go to.
    tcpudp: Option<usize>,
    target: Target,
    counters: Counters,
}

/// A decoded `cmp` operation.
struct Cmp<'a> {
    op: u32,
    data: &'a [u8],
}

fn reg_index(reg: u32) -> usize {
    // NFT_REG_1..4 alias NFT_REG32_00.. in steps of four; iptables only
    // needs registers kept apart, not their aliasing.
    (reg as usize).min(31)
}

/// Attributes of the expression data nest, by type.
fn data_value(a: Attr<'_>) -> Result<&[u8], RuleError> {
    Ok(a.nested().get(NFTA_DATA_VALUE, "data")?.payload)
}

impl Decoder {
    fn new(family: Family) -> Self {
        Decoder {
            family,
            regs: Default::default(),
            spec: IpSpec::default(),
            matches: Vec::new(),
            tcpudp: None,
            target: Target::Continue,
            counters: Counters::default(),
        }
    }

    fn set_dreg(&mut self, reg: u32, value: Reg) {
        self.regs[reg_index(reg)] = RegState {
            reg: value,
            mask: None,
        };
    }

    /// One expression, by its name's bytes (matched without checking them
    /// as UTF-8 first: every rule has several).
    fn expr(&mut self, name: &[u8], data: ByKind<'_>) -> Result<(), RuleError> {
        match name {
            b"counter" => {
                self.counters = Counters {
                    packets: data
                        .find(NFTA_COUNTER_PACKETS)
                        .map(|a| a.be_u64())
                        .transpose()?
                        .unwrap_or(0),
                    bytes: data
                        .find(NFTA_COUNTER_BYTES)
                        .map(|a| a.be_u64())
                        .transpose()?
                        .unwrap_or(0),
                };
            }
            b"payload" => {
                let dreg = data.get(NFTA_PAYLOAD_DREG, "payload")?.be_u32()?;
                let reg = Reg::Payload {
                    base: data.get(NFTA_PAYLOAD_BASE, "payload")?.be_u32()?,
                    offset: data.get(NFTA_PAYLOAD_OFFSET, "payload")?.be_u32()?,
                    len: data.get(NFTA_PAYLOAD_LEN, "payload")?.be_u32()?,
                };
                self.set_dreg(dreg, reg);
            }
            b"meta" => {
                let key = data.get(NFTA_META_KEY, "meta")?.be_u32()?;
                if data.find(NFTA_META_SREG).is_some() {
                    return self.meta_set(key);
                }
                let dreg = data.get(NFTA_META_DREG, "meta")?.be_u32()?;
                self.set_dreg(dreg, Reg::Meta(key));
            }
            b"bitwise" => {
                let sreg = data.get(NFTA_BITWISE_SREG, "bitwise")?.be_u32()?;
                let dreg = data.get(NFTA_BITWISE_DREG, "bitwise")?.be_u32()?;
                if let Some(op) = data.find(NFTA_BITWISE_OP) {
                    if op.be_u32()? != NFT_BITWISE_MASK_XOR {
                        return Err(RuleError::Unparsable("bitwise shift".into()));
                    }
                }
                let mask = data_value(data.get(NFTA_BITWISE_MASK, "bitwise")?)?.to_vec();
                let mut state = self.regs[reg_index(sreg)].clone();
                state.mask = Some(mask);
                self.regs[reg_index(dreg)] = state;
            }
            b"cmp" => {
                let sreg = data.get(NFTA_CMP_SREG, "cmp")?.be_u32()?;
                let cmp = Cmp {
                    op: data.get(NFTA_CMP_OP, "cmp")?.be_u32()?,
                    data: data_value(data.get(NFTA_CMP_DATA, "cmp")?)?,
                };
                let state = self.regs[reg_index(sreg)].clone();
                self.cmp(&state, &cmp)?;
            }
            b"range" => {
                let sreg = data.get(NFTA_RANGE_SREG, "range")?.be_u32()?;
                let op = data.get(NFTA_RANGE_OP, "range")?.be_u32()?;
                let from = data_value(data.get(NFTA_RANGE_FROM_DATA, "range")?)?;
                let to = data_value(data.get(NFTA_RANGE_TO_DATA, "range")?)?;
                let state = self.regs[reg_index(sreg)].clone();
                self.range(&state, op, from, to)?;
            }
            b"immediate" => {
                let dreg = data.get(NFTA_IMMEDIATE_DREG, "immediate")?.be_u32()?;
                let value = data.get(NFTA_IMMEDIATE_DATA, "immediate")?.nested();
                if dreg != NFT_REG_VERDICT {
                    self.set_dreg(dreg, Reg::Immediate);
                    return Ok(());
                }
                let verdict = value.get(NFTA_DATA_VERDICT, "immediate")?.nested();
                let code = verdict.get(NFTA_VERDICT_CODE, "verdict")?.be_u32()? as i32;
                let chain = || -> Result<String, RuleError> {
                    Ok(verdict
                        .get(NFTA_VERDICT_CHAIN, "verdict")?
                        .str()?
                        .to_string())
                };
                self.target = match code {
                    NF_ACCEPT => Target::Accept,
                    NF_DROP => Target::Drop,
                    NFT_RETURN => Target::Return,
                    NFT_JUMP => Target::Jump(chain()?),
                    NFT_GOTO => Target::Goto(chain()?),
                    _ => Target::Continue,
                };
            }
            b"match" => {
                let ext = compat(data, "match")?;
                self.matches.push(PendingMatch::Ext(ext));
            }
            b"target" => {
                self.target = Target::Ext(compat(data, "target")?);
            }
            b"limit" => self.limit(data)?,
            other => {
                return Err(match std::str::from_utf8(other) {
                    Ok(name) => RuleError::Unsupported(name.to_string()),
                    Err(_) => AttrError::BadString {
                        kind: NFTA_EXPR_NAME,
                    }
                    .into(),
                })
            }
        }
        Ok(())
    }

    fn meta_set(&mut self, key: u32) -> Result<(), RuleError> {
        if key == NFT_META_NFTRACE {
            self.target = Target::Ext(Extension::new("TRACE", 0, Vec::new()));
            return Ok(());
        }
        Err(RuleError::Unparsable(format!("meta set of key {key}")))
    }

    fn cmp(&mut self, state: &RegState, cmp: &Cmp<'_>) -> Result<(), RuleError> {
        match state.reg {
            Reg::Meta(key) => self.cmp_meta(key, state, cmp),
            Reg::Payload { base, offset, len } => match base {
                NFT_PAYLOAD_NETWORK_HEADER => self.cmp_network(offset, len, state, cmp),
                NFT_PAYLOAD_TRANSPORT_HEADER => self.cmp_transport(offset, state, cmp),
                _ => Err(RuleError::Unparsable(format!("payload base {base}"))),
            },
            Reg::Undef => Err(RuleError::Unparsable("cmp of an unset register".into())),
            Reg::Immediate => Err(RuleError::Unparsable("cmp of an immediate".into())),
        }
    }

    fn cmp_meta(&mut self, key: u32, state: &RegState, cmp: &Cmp<'_>) -> Result<(), RuleError> {
        let neq = cmp.op == NFT_CMP_NEQ;
        match key {
            NFT_META_L4PROTO => {
                self.spec.proto = u16::from(*cmp.data.first().unwrap_or(&0));
                self.spec.proto_invert = neq;
            }
            NFT_META_IIFNAME | NFT_META_OIFNAME => {
                let sel = ifname(cmp.data, neq);
                if key == NFT_META_IIFNAME {
                    self.spec.in_iface = sel;
                } else {
                    self.spec.out_iface = sel;
                }
            }
            NFT_META_MARK => {
                let value = u32_ne(cmp.data);
                let mask = state.mask.as_deref().map(u32_ne).unwrap_or(u32::MAX);
                let info = xt_mark_mtinfo1 {
                    mark: value,
                    mask,
                    invert: u8::from(neq),
                    _pad: [0; 3],
                };
                self.matches.push(PendingMatch::Ext(Extension::new(
                    "mark",
                    1,
                    crate::xt::write_payload(&info),
                )));
            }
            NFT_META_PKTTYPE => {
                let info = xt_pkttype_info {
                    pkttype: i32::from(*cmp.data.first().unwrap_or(&0)),
                    invert: i32::from(neq),
                };
                self.matches.push(PendingMatch::Ext(Extension::new(
                    "pkttype",
                    0,
                    crate::xt::write_payload(&info),
                )));
            }
            _ => return Err(RuleError::Unparsable(format!("meta key {key}"))),
        }
        Ok(())
    }

    fn cmp_network(
        &mut self,
        offset: u32,
        len: u32,
        state: &RegState,
        cmp: &Cmp<'_>,
    ) -> Result<(), RuleError> {
        let neq = cmp.op == NFT_CMP_NEQ;
        let (src_off, dst_off, proto_off, addr_len) = match self.family {
            Family::Ipv4 => (12, 16, 9, 4usize),
            Family::Ipv6 => (8, 24, 6, 16usize),
        };
        if offset == src_off || offset == dst_off {
            let mut addr = [0u8; 16];
            let n = cmp.data.len().min(addr_len);
            addr[..n].copy_from_slice(&cmp.data[..n]);
            let mut mask = [0u8; 16];
            match &state.mask {
                Some(m) => {
                    let n = m.len().min(addr_len);
                    mask[..n].copy_from_slice(&m[..n]);
                }
                None => mask[..(len as usize).min(addr_len)].fill(0xff),
            }
            let sel = if offset == src_off {
                &mut self.spec.src
            } else {
                &mut self.spec.dst
            };
            sel.addr = addr;
            sel.mask = mask;
            sel.invert = neq;
            return Ok(());
        }
        if offset == proto_off {
            self.spec.proto = u16::from(*cmp.data.first().unwrap_or(&0));
            self.spec.proto_invert = neq;
            return Ok(());
        }
        if self.family == Family::Ipv4 && offset == 6 {
            // -f: frag_off & 0x1fff != 0; `! -f` compares for equality.
            if state.mask.is_none() {
                return Err(RuleError::Unparsable("fragment offset without mask".into()));
            }
            self.spec.fragment = true;
            self.spec.fragment_invert = cmp.op == NFT_CMP_EQ;
            return Ok(());
        }
        Err(RuleError::Unparsable(format!(
            "network header offset {offset}"
        )))
    }

    fn tcpudp(&mut self) -> Result<&mut MatchValue, RuleError> {
        let value = match self.spec.proto {
            6 => MatchValue::Tcp(Default::default()),
            17 => MatchValue::Udp(Default::default()),
            p => {
                return Err(RuleError::Unparsable(format!(
                    "transport ports for protocol {p}"
                )))
            }
        };
        let index = match self.tcpudp {
            Some(i) => i,
            None => {
                self.matches.push(PendingMatch::Typed(value, 0));
                self.matches.len() - 1
            }
        };
        self.tcpudp = Some(index);
        match &mut self.matches[index] {
            PendingMatch::Typed(v, _) => Ok(v),
            PendingMatch::Ext(_) => unreachable!("tcpudp index points at a typed match"),
        }
    }

    fn cmp_transport(
        &mut self,
        offset: u32,
        state: &RegState,
        cmp: &Cmp<'_>,
    ) -> Result<(), RuleError> {
        match self.spec.proto {
            6 | 17 => {}
            1 | 58 => return self.icmp(offset, cmp),
            p => {
                return Err(RuleError::Unparsable(format!(
                    "transport header of protocol {p}"
                )))
            }
        }
        let op = cmp.op;
        match (offset, cmp.data.len()) {
            (0, 2) => {
                let port = u16::from_be_bytes([cmp.data[0], cmp.data[1]]);
                self.ports(Some(port), None, op)
            }
            (0, 4) => {
                let both = u32::from_be_bytes([cmp.data[0], cmp.data[1], cmp.data[2], cmp.data[3]]);
                self.ports(Some((both >> 16) as u16), Some(both as u16), op)
            }
            (2, 2) => {
                let port = u16::from_be_bytes([cmp.data[0], cmp.data[1]]);
                self.ports(None, Some(port), op)
            }
            (13, 1) if self.spec.proto == 6 => {
                let flags = cmp.data[0];
                let mask = state
                    .mask
                    .as_ref()
                    .and_then(|m| m.first().copied())
                    .unwrap_or(0xff);
                if let MatchValue::Tcp(t) = self.tcpudp()? {
                    t.flags_cmp = flags;
                    t.flags_mask = mask;
                    t.flags_invert = op == NFT_CMP_NEQ;
                }
                Ok(())
            }
            _ => Err(RuleError::Unparsable(format!(
                "transport header offset {offset}"
            ))),
        }
    }

    /// `port_match_single_to_range` for each given port.
    fn ports(&mut self, sport: Option<u16>, dport: Option<u16>, op: u32) -> Result<(), RuleError> {
        let value = self.tcpudp()?;
        let (s, d) = match value {
            MatchValue::Tcp(t) => (&mut t.sport, &mut t.dport),
            MatchValue::Udp(u) => (&mut u.sport, &mut u.dport),
            _ => unreachable!("tcpudp() returns tcp or udp"),
        };
        for (range, port) in [(s, sport), (d, dport)] {
            let Some(port) = port else { continue };
            match op {
                NFT_CMP_NEQ => {
                    range.invert = true;
                    range.min = port;
                    range.max = port;
                }
                NFT_CMP_EQ => {
                    range.min = port;
                    range.max = port;
                }
                NFT_CMP_LT => range.max = port.saturating_sub(1).max(1),
                NFT_CMP_LTE => range.max = port,
                NFT_CMP_GT => range.min = port.saturating_add(1),
                NFT_CMP_GTE => range.min = port,
                _ => {}
            }
        }
        Ok(())
    }

    fn icmp(&mut self, offset: u32, cmp: &Cmp<'_>) -> Result<(), RuleError> {
        use crate::xt::{Icmp, Icmp6, IcmpSpec};
        let mut spec = IcmpSpec {
            icmp_type: 0xff,
            code_min: 0,
            code_max: 0xff,
            invert: false,
        };
        let mut data = cmp.data;
        if data.is_empty() {
            return Err(RuleError::Unparsable("empty icmp comparison".into()));
        }
        match offset {
            0 => {
                spec.icmp_type = data[0];
                if data.len() > 1 {
                    data = &data[1..];
                    if data.len() > 1 {
                        return Err(RuleError::Unparsable("icmp comparison too long".into()));
                    }
                    spec.code_min = data[0];
                    spec.code_max = data[0];
                }
            }
            1 if data.len() == 1 => {
                spec.code_min = data[0];
                spec.code_max = data[0];
            }
            _ => return Err(RuleError::Unparsable("icmp payload offset".into())),
        }
        let value = match self.family {
            Family::Ipv4 => MatchValue::Icmp(Icmp(spec)),
            Family::Ipv6 => {
                if spec.icmp_type == 0xff {
                    return Err(RuleError::Unparsable("icmp6 code with any type".into()));
                }
                MatchValue::Icmp6(Icmp6(spec))
            }
        };
        self.matches.push(PendingMatch::Typed(value, 0));
        Ok(())
    }

    fn range(
        &mut self,
        state: &RegState,
        op: u32,
        from: &[u8],
        to: &[u8],
    ) -> Result<(), RuleError> {
        let Reg::Payload {
            base: NFT_PAYLOAD_TRANSPORT_HEADER,
            offset,
            ..
        } = state.reg
        else {
            return Err(RuleError::Unparsable(
                "range on something other than ports".into(),
            ));
        };
        if from.len() != 2 || to.len() != 2 {
            return Ok(());
        }
        let from = u16::from_be_bytes([from[0], from[1]]);
        let to = u16::from_be_bytes([to[0], to[1]]);
        if !matches!(self.spec.proto, 6 | 17) {
            return Ok(());
        }
        let value = self.tcpudp()?;
        let (s, d) = match value {
            MatchValue::Tcp(t) => (&mut t.sport, &mut t.dport),
            MatchValue::Udp(u) => (&mut u.sport, &mut u.dport),
            _ => unreachable!("tcpudp() returns tcp or udp"),
        };
        let range = match offset {
            0 => s,
            2 => d,
            _ => return Ok(()),
        };
        range.min = from;
        range.max = to;
        range.invert = op == NFT_RANGE_NEQ;
        Ok(())
    }

    fn limit(&mut self, data: ByKind<'_>) -> Result<(), RuleError> {
        let kind = data
            .find(NFTA_LIMIT_TYPE)
            .map(|a| a.be_u32())
            .transpose()?
            .unwrap_or(0);
        let flags = data
            .find(NFTA_LIMIT_FLAGS)
            .map(|a| a.be_u32())
            .transpose()?
            .unwrap_or(0);
        if kind != NFT_LIMIT_PKTS || flags != 0 {
            return Err(RuleError::Unsupported("limit".into()));
        }
        let rate = data.get(NFTA_LIMIT_RATE, "limit")?.be_u64()?;
        let unit = data.get(NFTA_LIMIT_UNIT, "limit")?.be_u64()?;
        let burst = data.get(NFTA_LIMIT_BURST, "limit")?.be_u32()?;
        if rate == 0 {
            return Err(RuleError::Unparsable("limit with rate 0".into()));
        }
        let info = xt_rateinfo {
            // u64 arithmetic as in iptables (C): wraps on absurd units.
            avg: (u64::from(XT_LIMIT_SCALE).wrapping_mul(unit) / rate) as u32,
            burst,
            ..xt_rateinfo::zeroed()
        };
        self.matches.push(PendingMatch::Ext(Extension::new(
            "limit",
            0,
            crate::xt::write_payload(&info),
        )));
        Ok(())
    }
}

fn u32_ne(bytes: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    let n = bytes.len().min(4);
    b[..n].copy_from_slice(&bytes[..n]);
    u32::from_ne_bytes(b)
}

/// iptables' `parse_ifname` + the `INVAL/D` trick for `! -i +`.
fn ifname(data: &[u8], neq: bool) -> IfaceSel {
    let mut sel = IfaceSel {
        invert: neq,
        ..IfaceSel::default()
    };
    let len = data.len().min(16);
    if len == 0 {
        return sel;
    }
    sel.name[..len].copy_from_slice(&data[..len]);
    if data[len - 1] == 0 {
        let strlen = data.iter().position(|&b| b == 0).unwrap_or(len);
        sel.mask[..(strlen + 1).min(16)].fill(0xff);
    } else if len < 15 {
        sel.name[len] = b'+';
        sel.mask[..len].fill(0xff);
    } else {
        // A 15- or 16-byte prefix: iptables leaves the mask empty.
        if len < 16 {
            sel.name[len] = b'+';
        }
    }
    if !neq && &sel.name[..8] == b"INVAL/D\0" {
        sel = IfaceSel {
            invert: true,
            ..IfaceSel::default()
        };
        sel.name[0] = b'+';
        sel.mask[0] = 0xff;
        sel.mask[1] = 0xff;
    }
    sel
}

fn compat(data: ByKind<'_>, what: &'static str) -> Result<Extension, RuleError> {
    // NFTA_MATCH_* and NFTA_TARGET_* share numbers.
    let name = crate::xt::name_from_bytes(data.get(NFTA_MATCH_NAME, what)?.str()?.as_bytes());
    let rev = data.get(NFTA_MATCH_REV, what)?.be_u32()?;
    let info = data.get(NFTA_MATCH_INFO, what)?.payload;
    Ok(Extension::new(name, rev as u8, info))
}

/// The comment iptables-nft shows for a rule's userdata (TLV type 0).
fn userdata_comment(udata: &[u8]) -> Option<String> {
    let mut at = 0;
    while at + 2 <= udata.len() {
        let (kind, len) = (udata[at], usize::from(udata[at + 1]));
        let value = udata.get(at + 2..at + 2 + len)?;
        if kind == 0 {
            return Some(crate::xt::text::c_string(value));
        }
        at += 2 + len;
    }
    None
}

/// Decodes a `NEWRULE` message's attributes.
pub fn decode_rule(family: Family, attrs: &Attrs<'_>) -> Result<Rule, RuleError> {
    let mut d = Decoder::new(family);
    if let Some(exprs) = attrs.find(NFTA_RULE_EXPRESSIONS) {
        for elem in exprs.nested() {
            let elem = elem?;
            if elem.kind != NFTA_LIST_ELEM {
                continue;
            }
            let e = elem.nested().by_kind();
            let name = e.get(NFTA_EXPR_NAME, "expression")?;
            let data = e
                .find(NFTA_EXPR_DATA)
                .map(|a| a.nested())
                .unwrap_or_else(|| Attrs::new(&[]));
            d.expr(name.c_bytes(), data.by_kind())?;
        }
    }
    let comment = attrs
        .find(NFTA_RULE_USERDATA)
        .and_then(|udata| userdata_comment(udata.payload));
    // A new vector of the exact size: collecting would keep the pending
    // one's room for four (pushed one by one), several hundred bytes per
    // rule that a ruleset of 10k rules keeps for as long as it lives.
    let mut matches = Vec::with_capacity(d.matches.len() + usize::from(comment.is_some()));
    matches.extend(d.matches.into_iter().map(|m| match m {
        PendingMatch::Ext(e) => e,
        PendingMatch::Typed(v, rev) => v.encode(rev, family),
    }));
    if let Some(text) = comment {
        let c = crate::xt::Comment { text };
        matches.push(MatchValue::Comment(c).encode(0, family));
    }
    let handle = attrs
        .find(NFTA_RULE_HANDLE)
        .map(|a| a.be_u64())
        .transpose()?;
    Ok(Rule {
        spec: d.spec,
        matches,
        target: d.target,
        counters: d.counters,
        handle,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_follow_iptables() {
        let exact = ifname(b"docker0\0", false);
        assert_eq!(exact, IfaceSel::parse("docker0", false).unwrap());
        let wild = ifname(b"eth", false);
        assert_eq!(wild, IfaceSel::parse("eth+", false).unwrap());
        let never = ifname(b"INVAL/D\0", false);
        assert!(never.invert);
        assert_eq!(never.text(), "+");
        let nft_padded = ifname(b"docker0\0\0\0\0\0\0\0\0\0", true);
        assert_eq!(nft_padded.text(), "docker0");
        assert!(nft_padded.invert);
    }

    #[test]
    fn userdata_comment_is_read() {
        assert_eq!(
            userdata_comment(&[0, 8, b'v', b'i', b'a', b'-', b'n', b'f', b't', 0]).as_deref(),
            Some("via-nft")
        );
        assert_eq!(userdata_comment(&[1, 1, 0]), None);
        assert_eq!(userdata_comment(&[0, 200, 1]), None);
    }
}
