//! `linux/netfilter.h`: protocol families, hooks and verdicts shared by both
//! back ends.

pub const NFPROTO_UNSPEC: u8 = 0;
pub const NFPROTO_INET: u8 = 1;
pub const NFPROTO_IPV4: u8 = 2;
pub const NFPROTO_IPV6: u8 = 10;

pub const NF_INET_PRE_ROUTING: u32 = 0;
pub const NF_INET_LOCAL_IN: u32 = 1;
pub const NF_INET_FORWARD: u32 = 2;
pub const NF_INET_LOCAL_OUT: u32 = 3;
pub const NF_INET_POST_ROUTING: u32 = 4;
pub const NF_INET_NUMHOOKS: usize = 5;

pub const NF_DROP: i32 = 0;
pub const NF_ACCEPT: i32 = 1;
pub const NF_STOLEN: i32 = 2;
pub const NF_QUEUE: i32 = 3;
pub const NF_REPEAT: i32 = 4;
pub const NF_STOP: i32 = 5;

/// `union nf_inet_addr`: an IPv4 or IPv6 address in network byte order,
/// IPv4 in the first four bytes.
#[repr(C, align(4))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct nf_inet_addr {
    pub bytes: [u8; 16],
}
// SAFETY: 16 bytes, no padding, every bit pattern valid.
unsafe impl crate::Pod for nf_inet_addr {}

pub const IFNAMSIZ: usize = 16;
