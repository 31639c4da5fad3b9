//! The legacy x_tables back end (`iptables-legacy`): get/setsockopt on raw
//! sockets, table blobs.

pub mod blob;
pub mod encode;
mod entry;
pub mod fresh;
pub mod load;
pub mod lock;
pub mod read;
pub mod sockopt;
pub mod write;

pub use encode::{encode_table, EncodeError, EncodedTable, EntryInfo, EntryKind};
pub use lock::{LockError, LockWait, XtLock};
pub use read::{fetch_table, read_ruleset, read_table, table_names, x_tables_list, TableBlob};
pub use sockopt::{RawSocket, XtKernel};
pub use write::{
    read_locked, update_table, write_locked, write_table, CounterMode, LockedTable, Locking,
    WriteOptions, WriteReport,
};
