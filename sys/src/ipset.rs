//! `linux/netfilter/ipset/ip_set.h`: the `SO_IP_SET` socket option that
//! resolves set names to the indexes the `set` match stores, and back.

pub const SO_IP_SET: i32 = 83;
pub const IPSET_MAXNAMELEN: usize = 32;
pub const IPSET_DIM_MAX: usize = 6;
pub const IPSET_INV_MATCH: u8 = 1 << 0;
pub const IPSET_DIM_ONE_SRC: u8 = 1 << 1;
/// `IPSET_INVALID_ID`
pub const IPSET_INVALID_ID: u16 = 65535;

pub const IP_SET_OP_GET_BYNAME: u32 = 0x0000_0006;
pub const IP_SET_OP_GET_BYINDEX: u32 = 0x0000_0007;
pub const IP_SET_OP_GET_FNAME: u32 = 0x0000_0008;
pub const IP_SET_OP_VERSION: u32 = 0x0000_0100;

/// `struct ip_set_req_version`
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ip_set_req_version {
    pub op: u32,
    pub version: u32,
}
// SAFETY: integers only, 8 bytes, no padding.
unsafe impl crate::Pod for ip_set_req_version {}

/// `struct ip_set_req_get_set`; `set` is `union ip_set_name_index` (a name,
/// or a u16 index in its first two bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ip_set_req_get_set {
    pub op: u32,
    pub version: u32,
    pub set: [u8; IPSET_MAXNAMELEN],
}
// SAFETY: integers only, 40 bytes, no padding.
unsafe impl crate::Pod for ip_set_req_get_set {}

/// `struct ip_set_req_get_set_family`
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ip_set_req_get_set_family {
    pub op: u32,
    pub version: u32,
    pub family: u32,
    pub set: [u8; IPSET_MAXNAMELEN],
}
// SAFETY: integers only, 44 bytes, no padding.
unsafe impl crate::Pod for ip_set_req_get_set_family {}
