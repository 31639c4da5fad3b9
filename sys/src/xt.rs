//! Payloads of the x_tables extensions nfdoctor decodes, from
//! `linux/netfilter/xt_*.h`, `nf_nat.h`, `ipt_REJECT.h` and `ip6t_REJECT.h`.
//! The kernel pads each payload to `XT_ALIGN(sizeof)`; these structs are the
//! unpadded C types. Fields documented "network order" are big-endian.

use crate::netfilter::{nf_inet_addr, IFNAMSIZ};

macro_rules! pod {
    ($($t:ident),* $(,)?) => {$(
        // SAFETY: `$t` is `#[repr(C)]`, made of integers and integer arrays,
        // with every padding byte spelled out as a `_pad` field.
        unsafe impl crate::Pod for $t {}
    )*};
}

// ---- xt_tcpudp.h
pub const XT_TCP_INV_SRCPT: u8 = 0x01;
pub const XT_TCP_INV_DSTPT: u8 = 0x02;
pub const XT_TCP_INV_FLAGS: u8 = 0x04;
pub const XT_TCP_INV_OPTION: u8 = 0x08;
pub const XT_TCP_INV_MASK: u8 = 0x0F;
pub const XT_UDP_INV_SRCPT: u8 = 0x01;
pub const XT_UDP_INV_DSTPT: u8 = 0x02;
pub const XT_UDP_INV_MASK: u8 = 0x03;

/// Ports are host order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_tcp {
    pub spts: [u16; 2],
    pub dpts: [u16; 2],
    pub option: u8,
    pub flg_mask: u8,
    pub flg_cmp: u8,
    pub invflags: u8,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_udp {
    pub spts: [u16; 2],
    pub dpts: [u16; 2],
    pub invflags: u8,
    pub _pad: [u8; 1],
}

// ---- xt_multiport.h
pub const XT_MULTIPORT_SOURCE: u8 = 0;
pub const XT_MULTIPORT_DESTINATION: u8 = 1;
pub const XT_MULTIPORT_EITHER: u8 = 2;
pub const XT_MULTI_PORTS: usize = 15;

/// Revision 0. Ports are host order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_multiport {
    pub flags: u8,
    pub count: u8,
    pub ports: [u16; XT_MULTI_PORTS],
}

/// Revision 1: `pflags[i]` set means `ports[i]..=ports[i+1]` is a range.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_multiport_v1 {
    pub flags: u8,
    pub count: u8,
    pub ports: [u16; XT_MULTI_PORTS],
    pub pflags: [u8; XT_MULTI_PORTS],
    pub invert: u8,
}

// ---- xt_addrtype.h
pub const XT_ADDRTYPE_INVERT_SOURCE: u32 = 0x0001;
pub const XT_ADDRTYPE_INVERT_DEST: u32 = 0x0002;
pub const XT_ADDRTYPE_LIMIT_IFACE_IN: u32 = 0x0004;
pub const XT_ADDRTYPE_LIMIT_IFACE_OUT: u32 = 0x0008;

/// Revision 0 (IPv4 only).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_addrtype_info {
    pub source: u16,
    pub dest: u16,
    pub invert_source: u32,
    pub invert_dest: u32,
}

/// Revision 1. Type masks are `1 << RTN_*`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_addrtype_info_v1 {
    pub source: u16,
    pub dest: u16,
    pub flags: u32,
}

// ---- xt_conntrack.h
pub const XT_CONNTRACK_STATE: u16 = 1 << 0;
pub const XT_CONNTRACK_PROTO: u16 = 1 << 1;
pub const XT_CONNTRACK_ORIGSRC: u16 = 1 << 2;
pub const XT_CONNTRACK_ORIGDST: u16 = 1 << 3;
pub const XT_CONNTRACK_REPLSRC: u16 = 1 << 4;
pub const XT_CONNTRACK_REPLDST: u16 = 1 << 5;
pub const XT_CONNTRACK_STATUS: u16 = 1 << 6;
pub const XT_CONNTRACK_EXPIRES: u16 = 1 << 7;
pub const XT_CONNTRACK_ORIGSRC_PORT: u16 = 1 << 8;
pub const XT_CONNTRACK_ORIGDST_PORT: u16 = 1 << 9;
pub const XT_CONNTRACK_REPLSRC_PORT: u16 = 1 << 10;
pub const XT_CONNTRACK_REPLDST_PORT: u16 = 1 << 11;
pub const XT_CONNTRACK_DIRECTION: u16 = 1 << 12;
pub const XT_CONNTRACK_STATE_ALIAS: u16 = 1 << 13;

/// Revision 1: 8-bit state and status masks. Ports are network order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_conntrack_mtinfo1 {
    pub origsrc_addr: nf_inet_addr,
    pub origsrc_mask: nf_inet_addr,
    pub origdst_addr: nf_inet_addr,
    pub origdst_mask: nf_inet_addr,
    pub replsrc_addr: nf_inet_addr,
    pub replsrc_mask: nf_inet_addr,
    pub repldst_addr: nf_inet_addr,
    pub repldst_mask: nf_inet_addr,
    pub expires_min: u32,
    pub expires_max: u32,
    pub l4proto: u16,
    pub origsrc_port: u16,
    pub origdst_port: u16,
    pub replsrc_port: u16,
    pub repldst_port: u16,
    pub match_flags: u16,
    pub invert_flags: u16,
    pub state_mask: u8,
    pub status_mask: u8,
}

/// Revision 2: 16-bit state and status masks. Ports are network order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_conntrack_mtinfo2 {
    pub origsrc_addr: nf_inet_addr,
    pub origsrc_mask: nf_inet_addr,
    pub origdst_addr: nf_inet_addr,
    pub origdst_mask: nf_inet_addr,
    pub replsrc_addr: nf_inet_addr,
    pub replsrc_mask: nf_inet_addr,
    pub repldst_addr: nf_inet_addr,
    pub repldst_mask: nf_inet_addr,
    pub expires_min: u32,
    pub expires_max: u32,
    pub l4proto: u16,
    pub origsrc_port: u16,
    pub origdst_port: u16,
    pub replsrc_port: u16,
    pub repldst_port: u16,
    pub match_flags: u16,
    pub invert_flags: u16,
    pub state_mask: u16,
    pub status_mask: u16,
    pub _pad: [u8; 2],
}

/// Revision 3: port ranges (`*_port_high`). Ports are host order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_conntrack_mtinfo3 {
    pub origsrc_addr: nf_inet_addr,
    pub origsrc_mask: nf_inet_addr,
    pub origdst_addr: nf_inet_addr,
    pub origdst_mask: nf_inet_addr,
    pub replsrc_addr: nf_inet_addr,
    pub replsrc_mask: nf_inet_addr,
    pub repldst_addr: nf_inet_addr,
    pub repldst_mask: nf_inet_addr,
    pub expires_min: u32,
    pub expires_max: u32,
    pub l4proto: u16,
    pub origsrc_port: u16,
    pub origdst_port: u16,
    pub replsrc_port: u16,
    pub repldst_port: u16,
    pub match_flags: u16,
    pub invert_flags: u16,
    pub state_mask: u16,
    pub status_mask: u16,
    pub origsrc_port_high: u16,
    pub origdst_port_high: u16,
    pub replsrc_port_high: u16,
    pub repldst_port_high: u16,
    pub _pad: [u8; 2],
}

// ---- xt_state.h
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_state_info {
    pub statemask: u32,
}

// ---- xt_comment.h
pub const XT_MAX_COMMENT_LEN: usize = 256;
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct xt_comment_info {
    pub comment: [u8; XT_MAX_COMMENT_LEN],
}

// ---- xt_mark.h
/// `mark` match revision 1.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_mark_mtinfo1 {
    pub mark: u32,
    pub mask: u32,
    pub invert: u8,
    pub _pad: [u8; 3],
}

/// `MARK` target revision 2.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_mark_tginfo2 {
    pub mark: u32,
    pub mask: u32,
}

// ---- xt_connmark.h
pub const XT_CONNMARK_SET: u8 = 0;
pub const XT_CONNMARK_SAVE: u8 = 1;
pub const XT_CONNMARK_RESTORE: u8 = 2;
pub const D_SHIFT_LEFT: u8 = 0;
pub const D_SHIFT_RIGHT: u8 = 1;

/// `connmark` match revision 1.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_connmark_mtinfo1 {
    pub mark: u32,
    pub mask: u32,
    pub invert: u8,
    pub _pad: [u8; 3],
}

/// `CONNMARK` target revision 1.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_connmark_tginfo1 {
    pub ctmark: u32,
    pub ctmask: u32,
    pub nfmask: u32,
    pub mode: u8,
    pub _pad: [u8; 3],
}

/// `CONNMARK` target revision 2 (adds shifts).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_connmark_tginfo2 {
    pub ctmark: u32,
    pub ctmask: u32,
    pub nfmask: u32,
    pub shift_dir: u8,
    pub shift_bits: u8,
    pub mode: u8,
    pub _pad: [u8; 1],
}

// ---- xt_mac.h
pub const ETH_ALEN: usize = 6;
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_mac_info {
    pub srcaddr: [u8; ETH_ALEN],
    pub _pad: [u8; 2],
    pub invert: i32,
}

// ---- xt_iprange.h
pub const IPRANGE_SRC: u8 = 1 << 0;
pub const IPRANGE_DST: u8 = 1 << 1;
pub const IPRANGE_SRC_INV: u8 = 1 << 4;
pub const IPRANGE_DST_INV: u8 = 1 << 5;

/// `iprange` revision 1.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_iprange_mtinfo {
    pub src_min: nf_inet_addr,
    pub src_max: nf_inet_addr,
    pub dst_min: nf_inet_addr,
    pub dst_max: nf_inet_addr,
    pub flags: u8,
    pub _pad: [u8; 3],
}

// ---- xt_limit.h
pub const XT_LIMIT_SCALE: u32 = 10000;

/// `limit` revision 0. Everything after `burst` is kernel-private and dumped
/// as zeros; `master` is a kernel pointer.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_rateinfo {
    pub avg: u32,
    pub burst: u32,
    pub prev: u64,
    pub credit: u32,
    pub credit_cap: u32,
    pub cost: u32,
    pub _pad: [u8; 4],
    pub master: u64,
}

// ---- xt_physdev.h
pub const XT_PHYSDEV_OP_IN: u8 = 0x01;
pub const XT_PHYSDEV_OP_OUT: u8 = 0x02;
pub const XT_PHYSDEV_OP_BRIDGED: u8 = 0x04;
pub const XT_PHYSDEV_OP_ISIN: u8 = 0x08;
pub const XT_PHYSDEV_OP_ISOUT: u8 = 0x10;
pub const XT_PHYSDEV_OP_MASK: u8 = 0x20 - 1;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_physdev_info {
    pub physindev: [u8; IFNAMSIZ],
    pub in_mask: [u8; IFNAMSIZ],
    pub physoutdev: [u8; IFNAMSIZ],
    pub out_mask: [u8; IFNAMSIZ],
    pub invert: u8,
    pub bitmask: u8,
}

// ---- xt_set.h
pub const IPSET_SRC: u8 = 0x01;
pub const IPSET_DST: u8 = 0x02;
pub const IPSET_MATCH_INV: u8 = 0x04;
pub const IPSET_COUNTER_NONE: u8 = 0;
pub const IPSET_COUNTER_EQ: u8 = 1;
pub const IPSET_COUNTER_NE: u8 = 2;
pub const IPSET_COUNTER_LT: u8 = 3;
pub const IPSET_COUNTER_GT: u8 = 4;
pub const IPSET_FLAG_MATCH_COUNTERS: u32 = 1 << 5;
pub const IPSET_FLAG_RETURN_NOMATCH: u32 = 1 << 7;
pub const IPSET_FLAG_SKIP_COUNTER_UPDATE: u32 = 1 << 3;
pub const IPSET_FLAG_SKIP_SUBCOUNTER_UPDATE: u32 = 1 << 4;

/// `struct xt_set_info` (revisions 1+); also `xt_set_info_match_v1`/`_v2`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_set_info {
    pub index: u16,
    pub dim: u8,
    pub flags: u8,
}

/// `struct ip_set_counter_match0` (revision 3 layout: op first).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ip_set_counter_match0 {
    pub op: u8,
    pub _pad: [u8; 7],
    pub value: u64,
}

/// `struct ip_set_counter_match` (revision 4 layout: value first).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ip_set_counter_match {
    pub value: u64,
    pub op: u8,
    pub _pad: [u8; 7],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_set_info_match_v3 {
    pub match_set: xt_set_info,
    pub _pad: [u8; 4],
    pub packets: ip_set_counter_match0,
    pub bytes: ip_set_counter_match0,
    pub flags: u32,
    pub _pad2: [u8; 4],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_set_info_match_v4 {
    pub match_set: xt_set_info,
    pub _pad: [u8; 4],
    pub packets: ip_set_counter_match,
    pub bytes: ip_set_counter_match,
    pub flags: u32,
    pub _pad2: [u8; 4],
}

// ---- xt_owner.h
pub const XT_OWNER_UID: u8 = 1 << 0;
pub const XT_OWNER_GID: u8 = 1 << 1;
pub const XT_OWNER_SOCKET: u8 = 1 << 2;
pub const XT_OWNER_SUPPL_GROUPS: u8 = 1 << 3;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_owner_match_info {
    pub uid_min: u32,
    pub uid_max: u32,
    pub gid_min: u32,
    pub gid_max: u32,
    pub r#match: u8,
    pub invert: u8,
    pub _pad: [u8; 2],
}

// ---- xt_pkttype.h
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_pkttype_info {
    pub pkttype: i32,
    pub invert: i32,
}

// ---- xt_LOG.h
pub const XT_LOG_TCPSEQ: u8 = 0x01;
pub const XT_LOG_TCPOPT: u8 = 0x02;
pub const XT_LOG_IPOPT: u8 = 0x04;
pub const XT_LOG_UID: u8 = 0x08;
pub const XT_LOG_NFLOG: u8 = 0x10;
pub const XT_LOG_MACDECODE: u8 = 0x20;
pub const XT_LOG_MASK: u8 = 0x2f;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_log_info {
    pub level: u8,
    pub logflags: u8,
    pub prefix: [u8; 30],
}

// ---- xt_CT.h
pub const XT_CT_NOTRACK: u16 = 1 << 0;
pub const XT_CT_NOTRACK_ALIAS: u16 = 1 << 1;
pub const XT_CT_ZONE_DIR_ORIG: u16 = 1 << 2;
pub const XT_CT_ZONE_DIR_REPL: u16 = 1 << 3;
pub const XT_CT_ZONE_MARK: u16 = 1 << 4;

/// `CT` revision 0. `ct` is a kernel pointer, dumped as zero.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_ct_target_info {
    pub flags: u16,
    pub zone: u16,
    pub ct_events: u32,
    pub exp_events: u32,
    pub helper: [u8; 16],
    pub _pad: [u8; 4],
    pub ct: u64,
}

/// `CT` revisions 1 and 2 (timeout policy name).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct xt_ct_target_info_v1 {
    pub flags: u16,
    pub zone: u16,
    pub ct_events: u32,
    pub exp_events: u32,
    pub helper: [u8; 16],
    pub timeout: [u8; 32],
    pub _pad: [u8; 4],
    pub ct: u64,
}

// ---- nf_nat.h
pub const NF_NAT_RANGE_MAP_IPS: u32 = 1 << 0;
pub const NF_NAT_RANGE_PROTO_SPECIFIED: u32 = 1 << 1;
pub const NF_NAT_RANGE_PROTO_RANDOM: u32 = 1 << 2;
pub const NF_NAT_RANGE_PERSISTENT: u32 = 1 << 3;
pub const NF_NAT_RANGE_PROTO_RANDOM_FULLY: u32 = 1 << 4;
pub const NF_NAT_RANGE_PROTO_OFFSET: u32 = 1 << 5;
pub const NF_NAT_RANGE_NETMAP: u32 = 1 << 6;

/// Addresses and ports network order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct nf_nat_ipv4_range {
    pub flags: u32,
    pub min_ip: [u8; 4],
    pub max_ip: [u8; 4],
    pub min: u16,
    pub max: u16,
}

/// IPv4 DNAT/SNAT revision 0, MASQUERADE and REDIRECT (IPv4).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct nf_nat_ipv4_multi_range_compat {
    pub rangesize: u32,
    pub range: [nf_nat_ipv4_range; 1],
}

/// DNAT/SNAT revision 1; MASQUERADE/REDIRECT for IPv6. Ports network order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct nf_nat_range {
    pub flags: u32,
    pub min_addr: nf_inet_addr,
    pub max_addr: nf_inet_addr,
    pub min_proto: u16,
    pub max_proto: u16,
}

/// DNAT/SNAT revision 2 (adds `base_proto` for port shifting).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct nf_nat_range2 {
    pub flags: u32,
    pub min_addr: nf_inet_addr,
    pub max_addr: nf_inet_addr,
    pub min_proto: u16,
    pub max_proto: u16,
    pub base_proto: u16,
    pub _pad: [u8; 2],
}

// ---- ipt_REJECT.h / ip6t_REJECT.h
pub const IPT_ICMP_NET_UNREACHABLE: u32 = 0;
pub const IPT_ICMP_HOST_UNREACHABLE: u32 = 1;
pub const IPT_ICMP_PROT_UNREACHABLE: u32 = 2;
pub const IPT_ICMP_PORT_UNREACHABLE: u32 = 3;
pub const IPT_ICMP_ECHOREPLY: u32 = 4;
pub const IPT_ICMP_NET_PROHIBITED: u32 = 5;
pub const IPT_ICMP_HOST_PROHIBITED: u32 = 6;
pub const IPT_TCP_RESET: u32 = 7;
pub const IPT_ICMP_ADMIN_PROHIBITED: u32 = 8;

pub const IP6T_ICMP6_NO_ROUTE: u32 = 0;
pub const IP6T_ICMP6_ADM_PROHIBITED: u32 = 1;
pub const IP6T_ICMP6_NOT_NEIGHBOUR: u32 = 2;
pub const IP6T_ICMP6_ADDR_UNREACH: u32 = 3;
pub const IP6T_ICMP6_PORT_UNREACH: u32 = 4;
pub const IP6T_ICMP6_ECHOREPLY: u32 = 5;
pub const IP6T_TCP_RESET: u32 = 6;
pub const IP6T_ICMP6_POLICY_FAIL: u32 = 7;
pub const IP6T_ICMP6_REJECT_ROUTE: u32 = 8;

/// `ipt_reject_info` and `ip6t_reject_info` (same layout).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ipt_reject_info {
    pub with: u32,
}

pod!(
    xt_tcp,
    xt_udp,
    xt_multiport,
    xt_multiport_v1,
    xt_addrtype_info,
    xt_addrtype_info_v1,
    xt_conntrack_mtinfo1,
    xt_conntrack_mtinfo2,
    xt_conntrack_mtinfo3,
    xt_state_info,
    xt_comment_info,
    xt_mark_mtinfo1,
    xt_mark_tginfo2,
    xt_connmark_mtinfo1,
    xt_connmark_tginfo1,
    xt_connmark_tginfo2,
    xt_mac_info,
    xt_iprange_mtinfo,
    xt_rateinfo,
    xt_physdev_info,
    xt_set_info,
    ip_set_counter_match0,
    ip_set_counter_match,
    xt_set_info_match_v3,
    xt_set_info_match_v4,
    xt_owner_match_info,
    xt_pkttype_info,
    xt_log_info,
    xt_ct_target_info,
    xt_ct_target_info_v1,
    nf_nat_ipv4_range,
    nf_nat_ipv4_multi_range_compat,
    nf_nat_range,
    nf_nat_range2,
    ipt_reject_info,
);
