//! The two kernel back ends, behind one model.

pub mod error;
pub mod legacy;
pub mod nft;
pub mod ordered;
pub mod revisions;

pub use error::BackendError;

use serde::Serialize;

/// Which kernel interface holds the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// nf_tables over netlink (`iptables-nft`).
    Nft,
    /// x_tables over get/setsockopt (`iptables-legacy`).
    Legacy,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Nft => "nft",
            Backend::Legacy => "legacy",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
