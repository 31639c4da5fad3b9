//! The legacy x_tables back end (`iptables-legacy`): get/setsockopt on raw
//! sockets, table blobs.

pub mod blob;
pub mod read;
pub mod sockopt;

pub use read::{fetch_table, read_ruleset, read_table, table_names, TableBlob};
pub use sockopt::{RawSocket, XtKernel};
