//! One x_tables entry, appended to a blob as libiptc lays it out
//! (netfilter-abi.md A.3): the fixed header, the matches, the target, each
//! extension zero-padded to `XT_ALIGN`. Both the model encoder
//! ([`super::encode`]) and the whole-table loader ([`super::fresh`]) write
//! entries only through here, so their bytes cannot drift apart.

use crate::ruleset::{Counters, IpSpec, Rule, Target};
use crate::xt::Extension;
use crate::Family;
use nfdoctor_sys::ip6_tables::{ip6t_entry, ip6t_ip6, IP6T_F_GOTO, IP6T_F_PROTO, IP6T_F_TOS};
use nfdoctor_sys::ip_tables::{
    ipt_entry, ipt_ip, IPT_F_FRAG, IPT_F_GOTO, IPT_INV_DSTIP, IPT_INV_FRAG, IPT_INV_PROTO,
    IPT_INV_SRCIP, IPT_INV_TOS, IPT_INV_VIA_IN, IPT_INV_VIA_OUT,
};
use nfdoctor_sys::netfilter::{NF_ACCEPT, NF_DROP, NF_QUEUE};
use nfdoctor_sys::x_tables::{
    xt_counters, xt_entry_match, xt_entry_target, xt_error_target, xt_standard_target,
    XT_ERROR_TARGET, XT_EXTENSION_MAXNAMELEN, XT_FUNCTION_MAXNAMELEN, XT_RETURN,
};
use nfdoctor_sys::{c_name, xt_align, Pod};
use std::mem::size_of;

pub(super) const MATCH_HEADER: usize = size_of::<xt_entry_match>();
pub(super) const TARGET_HEADER: usize = size_of::<xt_entry_target>();
pub(super) const STANDARD_TARGET: usize = size_of::<xt_standard_target>();
pub(super) const ERROR_TARGET: usize = size_of::<xt_error_target>();

/// Size of the fixed entry header for `family`.
pub(super) fn header_len(family: Family) -> usize {
    match family {
        Family::Ipv4 => size_of::<ipt_entry>(),
        Family::Ipv6 => size_of::<ip6t_entry>(),
    }
}

/// A policy or chain footer entry.
pub(super) fn standard_entry_len(family: Family) -> usize {
    header_len(family) + STANDARD_TARGET
}

/// A chain head or the final entry.
pub(super) fn error_entry_len(family: Family) -> usize {
    header_len(family) + ERROR_TARGET
}

fn ext_size(x: &Extension) -> usize {
    MATCH_HEADER + xt_align(x.data.len())
}

/// A rule entry's (`target_offset`, `next_offset`).
pub(super) fn rule_size(family: Family, rule: &Rule) -> (usize, usize) {
    let target_offset = header_len(family) + rule.matches.iter().map(ext_size).sum::<usize>();
    let target = match &rule.target {
        Target::Ext(x) => TARGET_HEADER + xt_align(x.data.len()),
        _ => STANDARD_TARGET,
    };
    (target_offset, target_offset + target)
}

/// A rule's standard verdict that only the table's layout can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pending<'r> {
    /// Nothing left to fill in.
    Done,
    /// A fall-through (no `-j`): the verdict at byte `at` of the output
    /// was written as the next entry's offset counted from the output's
    /// start; a caller writing a chain apart adds the chain's place.
    Next { at: usize },
    /// A jump or goto: the verdict at byte `at` (written as 0) must become
    /// the offset of the first entry after `chain`'s head.
    Chain { at: usize, chain: &'r str },
}

/// Appends rule `r` to `out`.
pub(super) fn put_rule<'r>(
    out: &mut Vec<u8>,
    family: Family,
    r: &'r Rule,
) -> Result<Pending<'r>, String> {
    let (target_offset, next_offset) = rule_size(family, r);
    let start = out.len();
    out.reserve(next_offset);
    let goto = matches!(r.target, Target::Goto(_));
    put_header(
        out,
        family,
        &r.spec,
        goto,
        target_offset,
        next_offset,
        r.counters,
    )?;
    for m in &r.matches {
        put_extension(out, m, "match")?;
    }
    debug_assert_eq!(out.len(), start + target_offset);
    let verdict_at = out.len() + TARGET_HEADER;
    let (verdict, pending) = match &r.target {
        Target::Ext(x) => {
            if x.name.is_empty() || x.name == XT_ERROR_TARGET {
                return Err(format!("invalid target name {:?}", x.name));
            }
            put_extension(out, x, "target")?;
            return Ok(Pending::Done);
        }
        Target::Continue => (
            (start + next_offset) as i32,
            Pending::Next { at: verdict_at },
        ),
        Target::Accept => (-NF_ACCEPT - 1, Pending::Done),
        Target::Drop => (-NF_DROP - 1, Pending::Done),
        Target::Queue => (-NF_QUEUE - 1, Pending::Done),
        Target::Return => (XT_RETURN, Pending::Done),
        Target::Jump(c) | Target::Goto(c) => (
            0,
            Pending::Chain {
                at: verdict_at,
                chain: c,
            },
        ),
    };
    out.extend_from_slice(standard_target(verdict).as_bytes());
    debug_assert_eq!(out.len(), start + next_offset);
    Ok(pending)
}

/// Appends an unconditional entry with a standard target (a built-in
/// chain's policy, or a user chain's `RETURN` footer).
pub(super) fn put_standard(out: &mut Vec<u8>, family: Family, verdict: i32, counters: Counters) {
    let hdr = header_len(family);
    put_header(
        out,
        family,
        &IpSpec::default(),
        false,
        hdr,
        hdr + STANDARD_TARGET,
        counters,
    )
    .expect("fixed-size entry fits");
    out.extend_from_slice(standard_target(verdict).as_bytes());
}

/// Appends an unconditional `ERROR` entry: a user chain's head naming it,
/// or the final entry (`errorname` "ERROR"). `errorname` must be shorter
/// than `XT_FUNCTION_MAXNAMELEN` (checked by the callers).
pub(super) fn put_error(out: &mut Vec<u8>, family: Family, errorname: &str) {
    let hdr = header_len(family);
    put_header(
        out,
        family,
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
        errorname: c_name(errorname).unwrap_or([0; XT_FUNCTION_MAXNAMELEN]),
        _pad: [0; 2],
    };
    out.extend_from_slice(t.as_bytes());
}

/// The verdict of a built-in chain's policy entry.
pub(super) fn policy_verdict(policy: crate::ruleset::Policy) -> i32 {
    match policy {
        crate::ruleset::Policy::Drop => -NF_DROP - 1,
        crate::ruleset::Policy::Accept => -NF_ACCEPT - 1,
    }
}

/// Appends the entry header.
fn put_header(
    out: &mut Vec<u8>,
    family: Family,
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
    match family {
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
            out.extend_from_slice(e.as_bytes());
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
            out.extend_from_slice(e.as_bytes());
        }
    }
    Ok(())
}

/// Appends a match or target header plus its payload, zero-padded to
/// `XT_ALIGN`.
fn put_extension(out: &mut Vec<u8>, x: &Extension, what: &str) -> Result<(), String> {
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
    let end = out.len() + size;
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(&x.data);
    out.resize(end, 0);
    Ok(())
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
