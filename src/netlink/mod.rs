//! Our own netlink layer: framing, attributes, request/dump exchanges and
//! the socket they run over. Shared by nf_tables (`NETLINK_NETFILTER`) and
//! rtnetlink (`NETLINK_ROUTE`).

pub mod attr;
pub mod batch;
pub mod connection;
pub mod error;
pub mod message;
pub mod replay;
pub mod socket;

pub use attr::{Attr, AttrError, AttrWriter, Attrs, ByKind};
pub use batch::{Batch, BatchError};
pub use connection::{Connection, DumpEnd, DumpStep, Exchange};
pub use error::NetlinkError;
pub use message::{Message, Messages};
pub use socket::{NetlinkSocket, Transport};
