//! `linux/netfilter/nfnetlink.h` and `nfnetlink_compat.h`/`nf_tables_compat.h`.

pub const NFNETLINK_V0: u8 = 0;

pub const NFNL_SUBSYS_NONE: u8 = 0;
pub const NFNL_SUBSYS_IPSET: u8 = 6;
pub const NFNL_SUBSYS_NFTABLES: u8 = 10;
pub const NFNL_SUBSYS_NFT_COMPAT: u8 = 11;

/// The `nlmsg_type` of message `msg` of subsystem `subsys` (the kernel's
/// `nfnl_msg_type()`; `NFNL_SUBSYS_ID()` and `NFNL_MSG_TYPE()` take it
/// apart).
pub const fn nfnl_msg_type(subsys: u8, msg: u8) -> u16 {
    ((subsys as u16) << 8) | msg as u16
}

/// Batch delimiters (`NLMSG_MIN_TYPE`, `NLMSG_MIN_TYPE + 1`).
pub const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
pub const NFNL_MSG_BATCH_END: u16 = 0x11;

/// `NFNL_BATCH_GENID`: attribute of the batch begin message (be32).
pub const NFNL_BATCH_GENID: u16 = 1;

/// `struct nfgenmsg`: the 4-byte header after `nlmsghdr` in every nfnetlink
/// message. `res_id` is big-endian.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct nfgenmsg {
    pub nfgen_family: u8,
    pub version: u8,
    pub res_id: u16,
}
// SAFETY: integers only, 4 bytes, no padding.
unsafe impl crate::Pod for nfgenmsg {}

/// `NFNL_MSG_COMPAT_GET` in subsystem `NFNL_SUBSYS_NFT_COMPAT`.
pub const NFNL_MSG_COMPAT_GET: u8 = 0;
pub const NFTA_COMPAT_NAME: u16 = 1;
pub const NFTA_COMPAT_REV: u16 = 2;
pub const NFTA_COMPAT_TYPE: u16 = 3;
pub const NFT_COMPAT_MATCH: u32 = 0;
pub const NFT_COMPAT_TARGET: u32 = 1;
