//! The Docker Engine API over the daemon's unix socket: our own small
//! HTTP/1.1 client ([`http`]), the API version to speak ([`version`]) and
//! socket discovery ([`discover`]).

pub mod discover;
pub mod error;
pub mod http;
pub mod version;

pub use discover::{discover, Discovery, DiscoveryEnv, DEFAULT_SOCKET};
pub use error::{ApiError, HostSource, Phase};
pub use http::{Client, ClientOptions, Connector, Response, Stream, UnixConnector};
pub use version::{ApiVersion, NEWEST_KNOWN, OLDEST_SUPPORTED};
