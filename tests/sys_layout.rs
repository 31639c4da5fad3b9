//! Checks `nfdoctor-sys` against the pinned kernel headers in
//! `vendor/linux-uapi`: every struct's size and field offsets, and every
//! literal constant whose name the headers define. A small C probe is
//! generated, compiled with the system C compiler against the vendored
//! headers only (the libc headers come from the system), and run.

use nfdoctor_sys::ip6_tables::*;
use nfdoctor_sys::ip_tables::*;
use nfdoctor_sys::ipset::*;
use nfdoctor_sys::netfilter::*;
use nfdoctor_sys::netlink::*;
use nfdoctor_sys::nfnetlink::*;
use nfdoctor_sys::rtnetlink::*;
use nfdoctor_sys::x_tables::*;
use nfdoctor_sys::xt::*;
use nfdoctor_sys::Pod;
use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Layout {
    c_type: &'static str,
    size: usize,
    /// (C field name, Rust offset)
    fields: Vec<(&'static str, usize)>,
    /// Sum of the sizes of every Rust field, padding fields included.
    field_bytes: usize,
}

macro_rules! layout {
    ($t:ident as $c:literal { $($f:ident $(= $cf:literal)?),* } pad { $($p:ident),* }) => {{
        let v = <$t as Pod>::zeroed();
        let field_bytes = 0 $(+ std::mem::size_of_val(&v.$f))* $(+ std::mem::size_of_val(&v.$p))*;
        Layout {
            c_type: $c,
            size: size_of::<$t>(),
            fields: vec![$((c_field(stringify!($f), &[$($cf)?]), offset_of!($t, $f))),*],
            field_bytes,
        }
    }};
}

/// The C member designator: the Rust field name, unless spelled out.
fn c_field(rust: &'static str, c: &[&'static str]) -> &'static str {
    c.first().copied().unwrap_or(rust.trim_start_matches("r#"))
}

fn layouts() -> Vec<Layout> {
    vec![
        layout!(nlmsghdr as "struct nlmsghdr" { nlmsg_len, nlmsg_type, nlmsg_flags, nlmsg_seq, nlmsg_pid } pad {}),
        layout!(nlmsgerr as "struct nlmsgerr" { error, msg } pad {}),
        layout!(nlattr as "struct nlattr" { nla_len, nla_type } pad {}),
        layout!(nfgenmsg as "struct nfgenmsg" { nfgen_family, version, res_id } pad {}),
        layout!(nf_inet_addr as "union nf_inet_addr" { bytes = "in6" } pad {}),
        layout!(xt_entry_match as "struct xt_entry_match" { match_size = "u.user.match_size", name = "u.user.name", revision = "u.user.revision" } pad {}),
        layout!(xt_entry_target as "struct xt_entry_target" { target_size = "u.user.target_size", name = "u.user.name", revision = "u.user.revision" } pad {}),
        layout!(xt_standard_target as "struct xt_standard_target" { target, verdict } pad { _pad }),
        layout!(xt_error_target as "struct xt_error_target" { target, errorname } pad { _pad }),
        layout!(xt_counters as "struct xt_counters" { pcnt, bcnt } pad {}),
        layout!(xt_counters_info as "struct xt_counters_info" { name, num_counters } pad { _pad }),
        layout!(xt_get_revision as "struct xt_get_revision" { name, revision } pad {}),
        layout!(ipt_ip as "struct ipt_ip" { src, dst, smsk, dmsk, iniface, outiface, iniface_mask, outiface_mask, proto, flags, invflags } pad {}),
        layout!(ipt_entry as "struct ipt_entry" { ip, nfcache, target_offset, next_offset, comefrom, counters } pad {}),
        layout!(ipt_getinfo as "struct ipt_getinfo" { name, valid_hooks, hook_entry, underflow, num_entries, size } pad {}),
        layout!(ipt_get_entries as "struct ipt_get_entries" { name, size } pad { _pad }),
        layout!(ipt_replace as "struct ipt_replace" { name, valid_hooks, num_entries, size, hook_entry, underflow, num_counters, counters } pad {}),
        layout!(ipt_icmp as "struct ipt_icmp" { r#type, code, invflags } pad {}),
        layout!(ip6t_ip6 as "struct ip6t_ip6" { src, dst, smsk, dmsk, iniface, outiface, iniface_mask, outiface_mask, proto, tos, flags, invflags } pad { _pad }),
        layout!(ip6t_entry as "struct ip6t_entry" { ipv6, nfcache, target_offset, next_offset, comefrom, counters } pad { _pad }),
        layout!(ip6t_getinfo as "struct ip6t_getinfo" { name, valid_hooks, hook_entry, underflow, num_entries, size } pad {}),
        layout!(ip6t_get_entries as "struct ip6t_get_entries" { name, size } pad { _pad }),
        layout!(ip6t_replace as "struct ip6t_replace" { name, valid_hooks, num_entries, size, hook_entry, underflow, num_counters, counters } pad {}),
        layout!(ip6t_icmp as "struct ip6t_icmp" { r#type, code, invflags } pad {}),
        layout!(xt_tcp as "struct xt_tcp" { spts, dpts, option, flg_mask, flg_cmp, invflags } pad {}),
        layout!(xt_udp as "struct xt_udp" { spts, dpts, invflags } pad { _pad }),
        layout!(xt_multiport as "struct xt_multiport" { flags, count, ports } pad {}),
        layout!(xt_multiport_v1 as "struct xt_multiport_v1" { flags, count, ports, pflags, invert } pad {}),
        layout!(xt_addrtype_info as "struct xt_addrtype_info" { source, dest, invert_source, invert_dest } pad {}),
        layout!(xt_addrtype_info_v1 as "struct xt_addrtype_info_v1" { source, dest, flags } pad {}),
        layout!(xt_conntrack_mtinfo1 as "struct xt_conntrack_mtinfo1" { origsrc_addr, origsrc_mask, origdst_addr, origdst_mask, replsrc_addr, replsrc_mask, repldst_addr, repldst_mask, expires_min, expires_max, l4proto, origsrc_port, origdst_port, replsrc_port, repldst_port, match_flags, invert_flags, state_mask, status_mask } pad {}),
        layout!(xt_conntrack_mtinfo2 as "struct xt_conntrack_mtinfo2" { origsrc_addr, origsrc_mask, origdst_addr, origdst_mask, replsrc_addr, replsrc_mask, repldst_addr, repldst_mask, expires_min, expires_max, l4proto, origsrc_port, origdst_port, replsrc_port, repldst_port, match_flags, invert_flags, state_mask, status_mask } pad { _pad }),
        layout!(xt_conntrack_mtinfo3 as "struct xt_conntrack_mtinfo3" { origsrc_addr, origsrc_mask, origdst_addr, origdst_mask, replsrc_addr, replsrc_mask, repldst_addr, repldst_mask, expires_min, expires_max, l4proto, origsrc_port, origdst_port, replsrc_port, repldst_port, match_flags, invert_flags, state_mask, status_mask, origsrc_port_high, origdst_port_high, replsrc_port_high, repldst_port_high } pad { _pad }),
        layout!(xt_state_info as "struct xt_state_info" { statemask } pad {}),
        layout!(xt_comment_info as "struct xt_comment_info" { comment } pad {}),
        layout!(xt_mark_mtinfo1 as "struct xt_mark_mtinfo1" { mark, mask, invert } pad { _pad }),
        layout!(xt_mark_tginfo2 as "struct xt_mark_tginfo2" { mark, mask } pad {}),
        layout!(xt_connmark_mtinfo1 as "struct xt_connmark_mtinfo1" { mark, mask, invert } pad { _pad }),
        layout!(xt_connmark_tginfo1 as "struct xt_connmark_tginfo1" { ctmark, ctmask, nfmask, mode } pad { _pad }),
        layout!(xt_connmark_tginfo2 as "struct xt_connmark_tginfo2" { ctmark, ctmask, nfmask, shift_dir, shift_bits, mode } pad { _pad }),
        layout!(xt_mac_info as "struct xt_mac_info" { srcaddr, invert } pad { _pad }),
        layout!(xt_iprange_mtinfo as "struct xt_iprange_mtinfo" { src_min, src_max, dst_min, dst_max, flags } pad { _pad }),
        layout!(xt_rateinfo as "struct xt_rateinfo" { avg, burst, prev, credit, credit_cap, cost, master } pad { _pad }),
        layout!(xt_physdev_info as "struct xt_physdev_info" { physindev, in_mask, physoutdev, out_mask, invert, bitmask } pad {}),
        layout!(xt_set_info as "struct xt_set_info" { index, dim, flags } pad {}),
        layout!(ip_set_counter_match0 as "struct ip_set_counter_match0" { op, value } pad { _pad }),
        layout!(ip_set_counter_match as "struct ip_set_counter_match" { value, op } pad { _pad }),
        layout!(xt_set_info_match_v3 as "struct xt_set_info_match_v3" { match_set, packets, bytes, flags } pad { _pad, _pad2 }),
        layout!(xt_set_info_match_v4 as "struct xt_set_info_match_v4" { match_set, packets, bytes, flags } pad { _pad, _pad2 }),
        layout!(xt_owner_match_info as "struct xt_owner_match_info" { uid_min, uid_max, gid_min, gid_max, r#match, invert } pad { _pad }),
        layout!(xt_pkttype_info as "struct xt_pkttype_info" { pkttype, invert } pad {}),
        layout!(xt_log_info as "struct xt_log_info" { level, logflags, prefix } pad {}),
        layout!(xt_ct_target_info as "struct xt_ct_target_info" { flags, zone, ct_events, exp_events, helper, ct } pad { _pad }),
        layout!(xt_ct_target_info_v1 as "struct xt_ct_target_info_v1" { flags, zone, ct_events, exp_events, helper, timeout, ct } pad { _pad }),
        layout!(nf_nat_ipv4_range as "struct nf_nat_ipv4_range" { flags, min_ip, max_ip, min, max } pad {}),
        layout!(nf_nat_ipv4_multi_range_compat as "struct nf_nat_ipv4_multi_range_compat" { rangesize, range } pad {}),
        layout!(nf_nat_range as "struct nf_nat_range" { flags, min_addr, max_addr, min_proto, max_proto } pad {}),
        layout!(nf_nat_range2 as "struct nf_nat_range2" { flags, min_addr, max_addr, min_proto, max_proto, base_proto } pad { _pad }),
        layout!(ipt_reject_info as "struct ipt_reject_info" { with } pad {}),
        layout!(ip_set_req_version as "struct ip_set_req_version" { op, version } pad {}),
        layout!(ip_set_req_get_set as "struct ip_set_req_get_set" { op, version, set } pad {}),
        layout!(ip_set_req_get_set_family as "struct ip_set_req_get_set_family" { op, version, family, set } pad {}),
        layout!(ifinfomsg as "struct ifinfomsg" { ifi_family, __ifi_pad, ifi_type, ifi_index, ifi_flags, ifi_change } pad {}),
        layout!(ifaddrmsg as "struct ifaddrmsg" { ifa_family, ifa_prefixlen, ifa_flags, ifa_scope, ifa_index } pad {}),
    ]
}

const HEADERS: &[&str] = &[
    "linux/netlink.h",
    "linux/netfilter.h",
    "linux/netfilter/nfnetlink.h",
    "linux/netfilter/nfnetlink_compat.h",
    "linux/netfilter/nf_tables.h",
    "linux/netfilter/nf_tables_compat.h",
    "linux/netfilter/x_tables.h",
    "linux/netfilter_ipv4/ip_tables.h",
    "linux/netfilter_ipv6/ip6_tables.h",
    "linux/netfilter/xt_tcpudp.h",
    "linux/netfilter/xt_multiport.h",
    "linux/netfilter/xt_addrtype.h",
    "linux/netfilter/xt_conntrack.h",
    "linux/netfilter/xt_state.h",
    "linux/netfilter/xt_comment.h",
    "linux/netfilter/xt_mark.h",
    "linux/netfilter/xt_connmark.h",
    "linux/netfilter/xt_mac.h",
    "linux/netfilter/xt_iprange.h",
    "linux/netfilter/xt_limit.h",
    "linux/netfilter/xt_physdev.h",
    "linux/netfilter/xt_set.h",
    "linux/netfilter/xt_owner.h",
    "linux/netfilter/xt_pkttype.h",
    "linux/netfilter/xt_LOG.h",
    "linux/netfilter/xt_CT.h",
    "linux/netfilter/nf_nat.h",
    "linux/netfilter_ipv4/ipt_REJECT.h",
    "linux/netfilter_ipv6/ip6t_REJECT.h",
    "linux/netfilter/ipset/ip_set.h",
    "linux/rtnetlink.h",
    "linux/if_link.h",
    "linux/if_addr.h",
    "linux/if.h",
    "linux/capability.h",
    "linux/module.h",
    "linux/nsfs.h",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every identifier the vendored headers mention, to pick out the Rust
/// constants that mirror a C one.
fn header_identifiers() -> std::collections::BTreeSet<String> {
    let mut ids = std::collections::BTreeSet::new();
    let inc = root().join("vendor/linux-uapi/include");
    for h in HEADERS {
        let text = std::fs::read_to_string(inc.join(h)).expect("vendored header");
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with(|c: char| c.is_ascii_uppercase()) {
                ids.insert(word.to_string());
            }
        }
    }
    ids
}

/// `pub const NAME: T = <integer literal>;` items of the sys crate.
fn literal_constants() -> Vec<(String, i128)> {
    let mut out = Vec::new();
    let dir = root().join("sys/src");
    for entry in std::fs::read_dir(&dir).expect("sys/src") {
        let path = entry.expect("dir entry").path();
        let text = std::fs::read_to_string(&path).expect("source");
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("pub const ") else {
                continue;
            };
            let Some((name, rest)) = rest.split_once(':') else {
                continue;
            };
            let Some((_, expr)) = rest.split_once('=') else {
                continue;
            };
            let expr = expr.trim().trim_end_matches(';').replace('_', "");
            if let Some(v) = parse_literal(&expr) {
                out.push((name.trim().to_string(), v));
            }
        }
    }
    out
}

fn parse_literal(expr: &str) -> Option<i128> {
    let expr = expr.trim();
    if let Some((a, b)) = expr.split_once("<<") {
        return Some(parse_literal(a)? << parse_literal(b)?);
    }
    if let Some(neg) = expr.strip_prefix('-') {
        return parse_literal(neg).map(|v| -v);
    }
    if let Some(hex) = expr.strip_prefix("0x") {
        return i128::from_str_radix(hex, 16).ok();
    }
    expr.parse().ok()
}

fn compile_and_run(c_source: &str, dir: &Path) -> String {
    let src = dir.join("probe.c");
    let bin = dir.join("probe");
    std::fs::write(&src, c_source).expect("write probe");
    let inc = root().join("vendor/linux-uapi/include");
    let out = Command::new("cc")
        .arg("-I")
        .arg(&inc)
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("a C compiler (cc) must be installed to check the kernel ABI");
    assert!(
        out.status.success(),
        "probe did not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&bin).output().expect("run probe");
    assert!(run.status.success());
    String::from_utf8(run.stdout).expect("utf8")
}

#[test]
fn structs_and_constants_match_the_pinned_headers() {
    let layouts = layouts();
    for l in &layouts {
        assert_eq!(
            l.size, l.field_bytes,
            "{}: Rust fields cover {} of {} bytes: implicit padding would make as_bytes unsound",
            l.c_type, l.field_bytes, l.size
        );
    }
    let ids = header_identifiers();
    let consts: Vec<_> = literal_constants()
        .into_iter()
        .filter(|(n, _)| ids.contains(n))
        .collect();
    assert!(consts.len() > 250, "only {} constants found", consts.len());

    let mut c = String::from("#include <stdio.h>\n#include <stddef.h>\n");
    for h in HEADERS {
        c.push_str(&format!("#include <{h}>\n"));
    }
    c.push_str("int main(void) {\n");
    for l in &layouts {
        c.push_str(&format!("printf(\"{0} %zu\\n\", sizeof({0}));\n", l.c_type));
        for (f, _) in &l.fields {
            c.push_str(&format!(
                "printf(\"{0}.{1} %zu\\n\", offsetof({0}, {1}));\n",
                l.c_type, f
            ));
        }
    }
    for (name, _) in &consts {
        c.push_str(&format!(
            "printf(\"{name} %lld\\n\", (long long)({name}));\n"
        ));
    }
    c.push_str("return 0;\n}\n");

    let dir = std::env::temp_dir().join(format!("nfdoctor-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let output = compile_and_run(&c, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let c_values: BTreeMap<&str, i128> = output
        .lines()
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k, v.parse().ok()?))
        })
        .collect();

    let mut errors = Vec::new();
    for l in &layouts {
        if c_values.get(l.c_type) != Some(&(l.size as i128)) {
            errors.push(format!(
                "sizeof({}): C {:?}, Rust {}",
                l.c_type,
                c_values.get(l.c_type),
                l.size
            ));
        }
        for (f, off) in &l.fields {
            let key = format!("{}.{}", l.c_type, f);
            if c_values.get(key.as_str()) != Some(&(*off as i128)) {
                errors.push(format!(
                    "offsetof({key}): C {:?}, Rust {off}",
                    c_values.get(key.as_str())
                ));
            }
        }
    }
    for (name, v) in &consts {
        let cv = c_values.get(name.as_str()).copied();
        // C prints unsigned values that do not fit a signed Rust literal as
        // negative numbers and vice versa; compare modulo 2^32 for those.
        let same = cv == Some(*v) || cv.map(|c| (c - v) % (1i128 << 32) == 0).unwrap_or(false);
        if !same {
            errors.push(format!("{name}: C {cv:?}, Rust {v}"));
        }
    }
    assert!(
        errors.is_empty(),
        "kernel ABI mismatches:\n{}",
        errors.join("\n")
    );
}
