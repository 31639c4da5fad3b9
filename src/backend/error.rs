//! Back-end errors, with the context a user needs to act on them.

use super::legacy::blob::BlobError;
use super::Backend;
use crate::netlink::NetlinkError;
use crate::Family;
use std::io;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Not enough privilege: names the capability and the namespace
    /// situation.
    #[error("{backend} ({family}): {advice}")]
    Permission {
        backend: Backend,
        family: Family,
        action: String,
        advice: String,
    },
    /// The kernel lacks this back end (module not loaded, or compiled out).
    #[error("{backend} ({family}): {action}: this kernel does not offer it ({detail})")]
    Unavailable {
        backend: Backend,
        family: Family,
        action: String,
        detail: String,
    },
    #[error("{backend} ({family}): {action}: {source}")]
    Io {
        backend: Backend,
        family: Family,
        action: String,
        #[source]
        source: io::Error,
    },
    #[error("nft: {0}")]
    Netlink(#[from] NetlinkError),
    #[error("legacy: malformed table: {0}")]
    Blob(#[from] BlobError),
    #[error("{0}")]
    Malformed(String),
}

impl BackendError {
    pub fn legacy_io(family: Family, action: String, e: io::Error) -> Self {
        Self::classify(Backend::Legacy, family, action, e)
    }

    pub fn classify(backend: Backend, family: Family, action: String, e: io::Error) -> Self {
        match e.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => BackendError::Permission {
                backend,
                family,
                advice: privilege_advice(&action),
                action,
            },
            Some(libc::ENOPROTOOPT) | Some(libc::EPROTONOSUPPORT) | Some(libc::EAFNOSUPPORT) => {
                BackendError::Unavailable {
                    backend,
                    family,
                    action,
                    detail: e.to_string(),
                }
            }
            _ => BackendError::Io {
                backend,
                family,
                action,
                source: e,
            },
        }
    }

    /// Whether the error only says the back end is absent.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, BackendError::Unavailable { .. })
    }

    pub fn is_permission(&self) -> bool {
        match self {
            BackendError::Permission { .. } => true,
            BackendError::Netlink(e) => e.errno() == Some(libc::EPERM),
            _ => false,
        }
    }
}

/// The shared "not enough privilege" text for `action`: the capability,
/// where this process stands (root, user namespace), what to run instead.
pub fn privilege_advice(action: &str) -> String {
    let root = crate::host::HostRoot::live();
    let privileges = crate::host::probe_privileges(&root);
    crate::host::not_enough_privilege(
        crate::host::Capability::CapNetAdmin,
        action,
        Some(&privileges),
    )
}
