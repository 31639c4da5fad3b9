//! `linux/netfilter_ipv4/ip_tables.h`: the IPv4 legacy table ABI.

use crate::netfilter::IFNAMSIZ;
use crate::x_tables::{xt_counters, XT_TABLE_MAXNAMELEN};

pub const IPT_BASE_CTL: i32 = 64;
pub const IPT_SO_SET_REPLACE: i32 = IPT_BASE_CTL;
pub const IPT_SO_SET_ADD_COUNTERS: i32 = IPT_BASE_CTL + 1;
pub const IPT_SO_GET_INFO: i32 = IPT_BASE_CTL;
pub const IPT_SO_GET_ENTRIES: i32 = IPT_BASE_CTL + 1;
pub const IPT_SO_GET_REVISION_MATCH: i32 = IPT_BASE_CTL + 2;
pub const IPT_SO_GET_REVISION_TARGET: i32 = IPT_BASE_CTL + 3;

/// `ipt_ip.flags`
pub const IPT_F_FRAG: u8 = 0x01;
pub const IPT_F_GOTO: u8 = 0x02;
pub const IPT_F_MASK: u8 = 0x03;

/// `ipt_ip.invflags`
pub const IPT_INV_VIA_IN: u8 = 0x01;
pub const IPT_INV_VIA_OUT: u8 = 0x02;
pub const IPT_INV_TOS: u8 = 0x04;
pub const IPT_INV_SRCIP: u8 = 0x08;
pub const IPT_INV_DSTIP: u8 = 0x10;
pub const IPT_INV_FRAG: u8 = 0x20;
pub const IPT_INV_PROTO: u8 = 0x40;
pub const IPT_INV_MASK: u8 = 0x7F;

/// `struct ipt_ip`: the IPv4 header selector of an entry. Addresses are in
/// network byte order.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ipt_ip {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub smsk: [u8; 4],
    pub dmsk: [u8; 4],
    pub iniface: [u8; IFNAMSIZ],
    pub outiface: [u8; IFNAMSIZ],
    pub iniface_mask: [u8; IFNAMSIZ],
    pub outiface_mask: [u8; IFNAMSIZ],
    pub proto: u16,
    pub flags: u8,
    pub invflags: u8,
}
// SAFETY: integers only, 84 bytes, no padding.
unsafe impl crate::Pod for ipt_ip {}

/// `struct ipt_entry`; matches and the target follow (`elems`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ipt_entry {
    pub ip: ipt_ip,
    pub nfcache: u32,
    pub target_offset: u16,
    pub next_offset: u16,
    pub comefrom: u32,
    pub counters: xt_counters,
}
// SAFETY: integers only, 112 bytes; `counters` (align 8) starts at 96, so
// there is no implicit padding.
unsafe impl crate::Pod for ipt_entry {}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ipt_getinfo {
    pub name: [u8; XT_TABLE_MAXNAMELEN],
    pub valid_hooks: u32,
    pub hook_entry: [u32; 5],
    pub underflow: [u32; 5],
    pub num_entries: u32,
    pub size: u32,
}
// SAFETY: integers only, 84 bytes, no padding.
unsafe impl crate::Pod for ipt_getinfo {}

/// Header of the `IPT_SO_GET_ENTRIES` argument; the entry blob follows.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ipt_get_entries {
    pub name: [u8; XT_TABLE_MAXNAMELEN],
    pub size: u32,
    pub _pad: [u8; 4],
}
// SAFETY: integers only, 40 bytes, explicit padding before the u64-aligned blob.
unsafe impl crate::Pod for ipt_get_entries {}

/// Header of the `IPT_SO_SET_REPLACE` argument; the entry blob follows.
/// `counters` is a user-space pointer the kernel writes the old counters to.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ipt_replace {
    pub name: [u8; XT_TABLE_MAXNAMELEN],
    pub valid_hooks: u32,
    pub num_entries: u32,
    pub size: u32,
    pub hook_entry: [u32; 5],
    pub underflow: [u32; 5],
    pub num_counters: u32,
    pub counters: u64,
}
// SAFETY: integers only, 96 bytes; `counters` sits at 88, already 8-aligned.
unsafe impl crate::Pod for ipt_replace {}

/// `struct ipt_icmp`: payload of the IPv4 `icmp` match.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ipt_icmp {
    pub r#type: u8,
    pub code: [u8; 2],
    pub invflags: u8,
}
// SAFETY: integers only, 4 bytes, no padding.
unsafe impl crate::Pod for ipt_icmp {}
pub const IPT_ICMP_INV: u8 = 0x01;
