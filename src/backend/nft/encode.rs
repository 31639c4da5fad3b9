//! Encoding a model rule as nf_tables expressions, in the profile every
//! iptables-nft from 1.8.7 to 1.8.13 can list and delete (netfilter-abi.md
//! B.9–B.11): interfaces, protocol, addresses and fragments as native
//! `meta`/`payload`/`bitwise`/`cmp` in 1.8.9's order; every match and
//! target as a compat `match`/`target` expression (ports included, which
//! 1.8.7 cannot parse natively); a `counter`; verdicts as `immediate`; and
//! `NFTA_RULE_COMPAT` with the protocol. Pure code.

use crate::netlink::AttrWriter;
use crate::ruleset::{AddrSel, IfaceSel, Rule, Target};
use crate::xt::Extension;
use crate::Family;
use nfdoctor_sys::netfilter::{NF_ACCEPT, NF_DROP, NF_QUEUE};
use nfdoctor_sys::nf_tables::*;

/// A rule nf_tables (as iptables-nft uses it) cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EncodeError(pub String);

fn expr(w: &mut AttrWriter<'_>, name: &str, body: impl FnOnce(&mut AttrWriter<'_>)) {
    let elem = w.begin_nest(NFTA_LIST_ELEM);
    w.put_str(NFTA_EXPR_NAME, name);
    let data = w.begin_nest(NFTA_EXPR_DATA);
    body(w);
    w.end_nest(data);
    w.end_nest(elem);
}

fn data_value(w: &mut AttrWriter<'_>, kind: u16, value: &[u8]) {
    let n = w.begin_nest(kind);
    w.put(NFTA_DATA_VALUE, value);
    w.end_nest(n);
}

fn meta(w: &mut AttrWriter<'_>, key: u32) {
    expr(w, "meta", |w| {
        w.put_be_u32(NFTA_META_KEY, key);
        w.put_be_u32(NFTA_META_DREG, NFT_REG_1);
    });
}

fn payload(w: &mut AttrWriter<'_>, base: u32, offset: u32, len: u32) {
    expr(w, "payload", |w| {
        w.put_be_u32(NFTA_PAYLOAD_DREG, NFT_REG_1);
        w.put_be_u32(NFTA_PAYLOAD_BASE, base);
        w.put_be_u32(NFTA_PAYLOAD_OFFSET, offset);
        w.put_be_u32(NFTA_PAYLOAD_LEN, len);
    });
}

fn bitwise(w: &mut AttrWriter<'_>, mask: &[u8]) {
    expr(w, "bitwise", |w| {
        w.put_be_u32(NFTA_BITWISE_SREG, NFT_REG_1);
        w.put_be_u32(NFTA_BITWISE_DREG, NFT_REG_1);
        w.put_be_u32(NFTA_BITWISE_LEN, mask.len() as u32);
        data_value(w, NFTA_BITWISE_MASK, mask);
        data_value(w, NFTA_BITWISE_XOR, &vec![0u8; mask.len()]);
    });
}

fn cmp(w: &mut AttrWriter<'_>, op: u32, value: &[u8]) {
    expr(w, "cmp", |w| {
        w.put_be_u32(NFTA_CMP_SREG, NFT_REG_1);
        w.put_be_u32(NFTA_CMP_OP, op);
        data_value(w, NFTA_CMP_DATA, value);
    });
}

fn eq_or_neq(invert: bool) -> u32 {
    if invert {
        NFT_CMP_NEQ
    } else {
        NFT_CMP_EQ
    }
}

/// `add_iniface`/`add_outiface`: exact names compare with their NUL, `eth+`
/// compares the prefix; `! -i +` becomes a never-matching name, as
/// iptables-nft 1.8.9+ writes it.
fn iface(w: &mut AttrWriter<'_>, key: u32, sel: &IfaceSel) {
    if sel.is_any() {
        if sel.invert && sel.name[0] == b'+' {
            meta(w, key);
            cmp(w, NFT_CMP_EQ, b"INVAL/D\0");
        }
        return;
    }
    let text = sel.text();
    meta(w, key);
    match text.strip_suffix('+') {
        Some(prefix) => {
            if !prefix.is_empty() {
                cmp(w, eq_or_neq(sel.invert), prefix.as_bytes());
            }
        }
        None => {
            let mut v = text.into_bytes();
            v.push(0);
            cmp(w, eq_or_neq(sel.invert), &v);
        }
    }
}

/// `add_addr`: the load is cut to the mask's whole bytes unless the mask
/// needs a `bitwise`.
fn addr(w: &mut AttrWriter<'_>, offset: u32, len: usize, sel: &AddrSel) -> Result<(), EncodeError> {
    if sel.is_any() {
        return Ok(());
    }
    let mask = &sel.mask[..len];
    let full = mask.iter().take_while(|&&b| b == 0xff).count();
    let needs_bitwise = mask[full..].iter().any(|&b| b != 0);
    let load = if needs_bitwise { len } else { full };
    if load == 0 {
        return Err(EncodeError(
            "an inverted match on all addresses (`! -s 0/0`) cannot be written to nf_tables".into(),
        ));
    }
    payload(w, NFT_PAYLOAD_NETWORK_HEADER, offset, load as u32);
    if needs_bitwise {
        bitwise(w, mask);
    }
    cmp(w, eq_or_neq(sel.invert), &sel.addr[..load]);
    Ok(())
}

fn compat(w: &mut AttrWriter<'_>, kind: &str, ext: &Extension) {
    expr(w, kind, |w| {
        w.put_str(NFTA_MATCH_NAME, &ext.name);
        w.put_be_u32(NFTA_MATCH_REV, u32::from(ext.revision));
        w.put(NFTA_MATCH_INFO, &ext.data);
    });
}

fn verdict(w: &mut AttrWriter<'_>, code: i32, chain: Option<&str>) {
    expr(w, "immediate", |w| {
        w.put_be_u32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
        let data = w.begin_nest(NFTA_IMMEDIATE_DATA);
        let v = w.begin_nest(NFTA_DATA_VERDICT);
        w.put_be_u32(NFTA_VERDICT_CODE, code as u32);
        if let Some(c) = chain {
            w.put_str(NFTA_VERDICT_CHAIN, c);
        }
        w.end_nest(v);
        w.end_nest(data);
    });
}

/// Writes `NFTA_RULE_EXPRESSIONS` and `NFTA_RULE_COMPAT` for `rule`.
pub fn put_rule(w: &mut AttrWriter<'_>, family: Family, rule: &Rule) -> Result<(), EncodeError> {
    let s = &rule.spec;
    let list = w.begin_nest(NFTA_RULE_EXPRESSIONS);
    iface(w, NFT_META_IIFNAME, &s.in_iface);
    iface(w, NFT_META_OIFNAME, &s.out_iface);
    if s.proto != 0 || s.proto_invert {
        meta(w, NFT_META_L4PROTO);
        cmp(w, eq_or_neq(s.proto_invert), &[s.proto as u8]);
    }
    let (src_off, dst_off) = match family {
        Family::Ipv4 => (12, 16),
        Family::Ipv6 => (8, 24),
    };
    addr(w, src_off, family.addr_len(), &s.src)?;
    addr(w, dst_off, family.addr_len(), &s.dst)?;
    if s.fragment {
        payload(w, NFT_PAYLOAD_NETWORK_HEADER, 6, 2);
        bitwise(w, &0x1fffu16.to_be_bytes());
        cmp(
            w,
            if s.fragment_invert {
                NFT_CMP_EQ
            } else {
                NFT_CMP_NEQ
            },
            &[0, 0],
        );
    }
    if s.ipv6_tos.is_some() || s.tos_invert {
        return Err(EncodeError(
            "an IPv6 tos selector has no nf_tables form".into(),
        ));
    }
    for m in &rule.matches {
        compat(w, "match", m);
    }
    expr(w, "counter", |w| {
        w.put_be_u64(NFTA_COUNTER_BYTES, rule.counters.bytes);
        w.put_be_u64(NFTA_COUNTER_PACKETS, rule.counters.packets);
    });
    match &rule.target {
        Target::Continue => {}
        Target::Accept => verdict(w, NF_ACCEPT, None),
        Target::Drop => verdict(w, NF_DROP, None),
        Target::Queue => verdict(w, NF_QUEUE, None),
        Target::Return => verdict(w, NFT_RETURN, None),
        Target::Jump(c) => verdict(w, NFT_JUMP, Some(c)),
        Target::Goto(c) => verdict(w, NFT_GOTO, Some(c)),
        Target::Ext(t) => compat(w, "target", t),
    }
    w.end_nest(list);
    let c = w.begin_nest(NFTA_RULE_COMPAT);
    w.put_be_u32(NFTA_RULE_COMPAT_PROTO, u32::from(s.proto));
    w.put_be_u32(
        NFTA_RULE_COMPAT_FLAGS,
        if s.proto_invert {
            NFT_RULE_COMPAT_F_INV
        } else {
            0
        },
    );
    w.end_nest(c);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::Attrs;
    use crate::ruleset::IpSpec;

    /// The capture in netfilter-abi.md B.7, minus the table/chain attributes:
    /// `-A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT` as 1.8.9 writes
    /// it uses native ports; our profile uses the compat tcp match, so only
    /// the header part is compared byte for byte.
    #[test]
    fn header_selectors_match_iptables_nft() {
        let mut spec = IpSpec {
            proto: 6,
            ..IpSpec::default()
        };
        spec.src.addr[0] = 10;
        spec.src.mask[0] = 0xff;
        let rule = Rule::new(spec, Vec::new(), Target::Accept);
        let mut buf = Vec::new();
        put_rule(&mut AttrWriter::new(&mut buf), Family::Ipv4, &rule).unwrap();
        let exprs: Vec<String> = Attrs::new(&buf)
            .next()
            .unwrap()
            .unwrap()
            .nested()
            .map(|e| {
                e.unwrap()
                    .nested()
                    .find(NFTA_EXPR_NAME)
                    .unwrap()
                    .str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            exprs,
            ["meta", "cmp", "payload", "cmp", "counter", "immediate"]
        );
        // meta l4proto => reg 1 (B.7 capture bytes)
        let meta_bytes = [
            0x24, 0, 1, 0x80, 9, 0, 1, 0, b'm', b'e', b't', b'a', 0, 0, 0, 0, 0x14, 0, 2, 0x80, 8,
            0, 2, 0, 0, 0, 0, 0x10, 8, 0, 1, 0, 0, 0, 0, 1,
        ];
        assert_eq!(&buf[4..4 + meta_bytes.len()], &meta_bytes);
        // The decoder reads back what we wrote.
        let mut msg = Vec::new();
        AttrWriter::new(&mut msg).put(NFTA_RULE_EXPRESSIONS, &buf[4..]);
        let back = super::super::rule::decode_rule(Family::Ipv4, &Attrs::new(&msg)).unwrap();
        assert_eq!(back.spec, rule.spec);
        assert_eq!(back.target, Target::Accept);
    }

    #[test]
    fn wildcard_and_inverted_interfaces() {
        for (text, invert) in [("eth+", false), ("docker0", true), ("+", true)] {
            let mut spec = IpSpec {
                in_iface: IfaceSel::parse(text, invert).unwrap(),
                ..IpSpec::default()
            };
            if text == "+" {
                spec.in_iface.name[0] = b'+';
            }
            let rule = Rule::new(spec, Vec::new(), Target::Continue);
            let mut buf = Vec::new();
            put_rule(&mut AttrWriter::new(&mut buf), Family::Ipv4, &rule).unwrap();
            let mut msg = Vec::new();
            let exprs = Attrs::new(&buf).next().unwrap().unwrap();
            AttrWriter::new(&mut msg).put(NFTA_RULE_EXPRESSIONS, exprs.payload);
            let back = super::super::rule::decode_rule(Family::Ipv4, &Attrs::new(&msg)).unwrap();
            let expect = if text == "+" { "+" } else { text };
            assert_eq!(back.spec.in_iface.text(), expect, "{text}");
            assert!(back.spec.in_iface.invert == invert);
        }
    }
}
