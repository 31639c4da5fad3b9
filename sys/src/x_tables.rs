//! `linux/netfilter/x_tables.h`: the match/target headers shared by every
//! legacy table and by nf_tables' compat expressions.

pub const XT_FUNCTION_MAXNAMELEN: usize = 30;
pub const XT_EXTENSION_MAXNAMELEN: usize = 29;
pub const XT_TABLE_MAXNAMELEN: usize = 32;

/// Standard-target verdicts as stored in a legacy blob: `-NF_x - 1`.
pub const XT_RETURN: i32 = -crate::netfilter::NF_REPEAT - 1;
pub const XT_CONTINUE: i32 = 0xFFFF_FFFF_u32 as i32;

pub const XT_STANDARD_TARGET: &str = "";
pub const XT_ERROR_TARGET: &str = "ERROR";

/// `XT_INV_PROTO`: invert the protocol test (same bit in `ipt_ip` and `ip6t_ip6`).
pub const XT_INV_PROTO: u8 = 0x40;

/// The user-space view of `struct xt_entry_match`'s header; `data` follows.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct xt_entry_match {
    pub match_size: u16,
    pub name: [u8; XT_EXTENSION_MAXNAMELEN],
    pub revision: u8,
}
// SAFETY: integers only, 32 bytes, no padding.
unsafe impl crate::Pod for xt_entry_match {}

/// The user-space view of `struct xt_entry_target`'s header; `data` follows.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct xt_entry_target {
    pub target_size: u16,
    pub name: [u8; XT_EXTENSION_MAXNAMELEN],
    pub revision: u8,
}
// SAFETY: integers only, 32 bytes, no padding.
unsafe impl crate::Pod for xt_entry_target {}

/// `struct xt_standard_target`: target header with an empty name + verdict.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct xt_standard_target {
    pub target: xt_entry_target,
    pub verdict: i32,
    pub _pad: [u8; 4],
}
// SAFETY: integers only, 40 bytes, explicit tail padding.
unsafe impl crate::Pod for xt_standard_target {}

/// `struct xt_error_target`: target "ERROR" naming a user chain (or "ERROR"
/// for the table terminator).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct xt_error_target {
    pub target: xt_entry_target,
    pub errorname: [u8; XT_FUNCTION_MAXNAMELEN],
    pub _pad: [u8; 2],
}
// SAFETY: integers only, 64 bytes, explicit tail padding.
unsafe impl crate::Pod for xt_error_target {}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xt_counters {
    pub pcnt: u64,
    pub bcnt: u64,
}
// SAFETY: integers only, 16 bytes, no padding.
unsafe impl crate::Pod for xt_counters {}

/// Header of the `SO_SET_ADD_COUNTERS` argument; `xt_counters` follow.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct xt_counters_info {
    pub name: [u8; XT_TABLE_MAXNAMELEN],
    pub num_counters: u32,
    pub _pad: [u8; 4],
}
// SAFETY: integers only, 40 bytes, explicit tail padding.
unsafe impl crate::Pod for xt_counters_info {}

/// Argument of `SO_GET_REVISION_MATCH`/`_TARGET`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct xt_get_revision {
    pub name: [u8; XT_EXTENSION_MAXNAMELEN],
    pub revision: u8,
}
// SAFETY: integers only, 30 bytes, no padding.
unsafe impl crate::Pod for xt_get_revision {}
