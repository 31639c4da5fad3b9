//! `linux/netfilter_ipv6/ip6_tables.h`: the IPv6 legacy table ABI.

use crate::netfilter::IFNAMSIZ;
use crate::x_tables::{xt_counters, XT_TABLE_MAXNAMELEN};

pub const IP6T_BASE_CTL: i32 = 64;
pub const IP6T_SO_SET_REPLACE: i32 = IP6T_BASE_CTL;
pub const IP6T_SO_SET_ADD_COUNTERS: i32 = IP6T_BASE_CTL + 1;
pub const IP6T_SO_GET_INFO: i32 = IP6T_BASE_CTL;
pub const IP6T_SO_GET_ENTRIES: i32 = IP6T_BASE_CTL + 1;
/// Note: 68/69 for IPv6, not 66/67 as for IPv4.
pub const IP6T_SO_GET_REVISION_MATCH: i32 = IP6T_BASE_CTL + 4;
pub const IP6T_SO_GET_REVISION_TARGET: i32 = IP6T_BASE_CTL + 5;

/// `ip6t_ip6.flags`
pub const IP6T_F_PROTO: u8 = 0x01;
pub const IP6T_F_TOS: u8 = 0x02;
pub const IP6T_F_GOTO: u8 = 0x04;
pub const IP6T_F_MASK: u8 = 0x07;

/// `ip6t_ip6.invflags`
pub const IP6T_INV_VIA_IN: u8 = 0x01;
pub const IP6T_INV_VIA_OUT: u8 = 0x02;
pub const IP6T_INV_TOS: u8 = 0x04;
pub const IP6T_INV_SRCIP: u8 = 0x08;
pub const IP6T_INV_DSTIP: u8 = 0x10;
pub const IP6T_INV_FRAG: u8 = 0x20;
pub const IP6T_INV_PROTO: u8 = 0x40;
pub const IP6T_INV_MASK: u8 = 0x7F;

/// `struct ip6t_ip6`: the IPv6 header selector of an entry.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ip6t_ip6 {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub smsk: [u8; 16],
    pub dmsk: [u8; 16],
    pub iniface: [u8; IFNAMSIZ],
    pub outiface: [u8; IFNAMSIZ],
    pub iniface_mask: [u8; IFNAMSIZ],
    pub outiface_mask: [u8; IFNAMSIZ],
    pub proto: u16,
    pub tos: u8,
    pub flags: u8,
    pub invflags: u8,
    pub _pad: [u8; 3],
}
// SAFETY: integers only, 136 bytes with explicit tail padding (C aligns the
// struct to 4 because `struct in6_addr` holds u32 words).
unsafe impl crate::Pod for ip6t_ip6 {}

/// `struct ip6t_entry`; matches and the target follow.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ip6t_entry {
    pub ipv6: ip6t_ip6,
    pub nfcache: u32,
    pub target_offset: u16,
    pub next_offset: u16,
    pub comefrom: u32,
    pub _pad: [u8; 4],
    pub counters: xt_counters,
}
// SAFETY: integers only, 168 bytes, explicit padding before the 8-aligned counters.
unsafe impl crate::Pod for ip6t_entry {}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ip6t_getinfo {
    pub name: [u8; XT_TABLE_MAXNAMELEN],
    pub valid_hooks: u32,
    pub hook_entry: [u32; 5],
    pub underflow: [u32; 5],
    pub num_entries: u32,
    pub size: u32,
}
// SAFETY: integers only, 84 bytes, no padding.
unsafe impl crate::Pod for ip6t_getinfo {}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ip6t_get_entries {
    pub name: [u8; XT_TABLE_MAXNAMELEN],
    pub size: u32,
    pub _pad: [u8; 4],
}
// SAFETY: integers only, 40 bytes, explicit padding.
unsafe impl crate::Pod for ip6t_get_entries {}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ip6t_replace {
    pub name: [u8; XT_TABLE_MAXNAMELEN],
    pub valid_hooks: u32,
    pub num_entries: u32,
    pub size: u32,
    pub hook_entry: [u32; 5],
    pub underflow: [u32; 5],
    pub num_counters: u32,
    pub counters: u64,
}
// SAFETY: integers only, 96 bytes, no padding.
unsafe impl crate::Pod for ip6t_replace {}

/// `struct ip6t_icmp`: payload of the `icmp6` match.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ip6t_icmp {
    pub r#type: u8,
    pub code: [u8; 2],
    pub invflags: u8,
}
// SAFETY: integers only, 4 bytes, no padding.
unsafe impl crate::Pod for ip6t_icmp {}
pub const IP6T_ICMP_INV: u8 = 0x01;
