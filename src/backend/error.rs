//! Back-end errors, with the context a user needs to act on them.

use super::legacy::blob::BlobError;
use super::legacy::encode::EncodeError;
use super::legacy::lock::LockError;
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
    /// The table changed since the caller read it: nothing was written;
    /// re-read, re-plan and retry.
    #[error("{backend} ({family}): table {table} changed since it was read ({detail}); nothing was written, re-read it and retry")]
    Conflict {
        backend: Backend,
        family: Family,
        table: String,
        detail: String,
    },
    #[error("legacy: {0}")]
    Lock(#[from] LockError),
    #[error("legacy: can't encode {0}")]
    Encode(#[from] EncodeError),
    /// The kernel refused a new table; the old one is still in place.
    #[error("{backend} ({family}): the kernel refused the new {table} table: {source}; {hint}; the table is unchanged")]
    Refused {
        backend: Backend,
        family: Family,
        table: String,
        hint: String,
        #[source]
        source: io::Error,
    },
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

    /// Whether the caller should re-read, re-plan and retry.
    pub fn is_conflict(&self) -> bool {
        matches!(self, BackendError::Conflict { .. })
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
