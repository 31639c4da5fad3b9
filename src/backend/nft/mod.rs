//! The nf_tables back end (`iptables-nft`): netlink dumps and batches, and
//! the expression encodings iptables-nft reads and writes.

pub mod read;
pub mod rule;

pub use read::{read_ruleset, NftReader};
