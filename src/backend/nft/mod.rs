//! The nf_tables back end (`iptables-nft`): netlink dumps and batches, and
//! the expression encodings iptables-nft reads and writes.

pub mod confirm;
pub mod encode;
pub mod read;
pub mod retry;
pub mod revision;
pub mod rule;
pub mod write;

pub use read::{read_ruleset, NftReader};
