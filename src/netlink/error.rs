//! Netlink errors, always with the request they belong to.

use super::attr::AttrError;
use super::message::FrameError;
use std::io;

#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// The kernel answered a request with a negative errno.
    #[error("{context}: {}{}", errno_text(*errno), ext.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Kernel {
        context: String,
        errno: i32,
        ext: Option<String>,
    },
    #[error("{context}: malformed reply: {detail}")]
    Malformed { context: String, detail: String },
    /// `NLM_F_DUMP_INTR`: the ruleset changed while it was dumped; retry.
    #[error("{0}: the ruleset changed during the dump")]
    DumpInterrupted(String),
}

impl NetlinkError {
    /// The errno, for kernel and I/O errors.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Kernel { errno, .. } => Some(*errno),
            NetlinkError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// What was being done when the error happened.
    pub fn context(&self) -> &str {
        match self {
            NetlinkError::Io { context, .. }
            | NetlinkError::Kernel { context, .. }
            | NetlinkError::Malformed { context, .. }
            | NetlinkError::DumpInterrupted(context) => context,
        }
    }

    pub fn malformed(context: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        NetlinkError::Malformed {
            context: context.into(),
            detail: detail.to_string(),
        }
    }

    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        NetlinkError::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<(String, FrameError)> for NetlinkError {
    fn from((context, e): (String, FrameError)) -> Self {
        NetlinkError::malformed(context, e)
    }
}

impl From<(String, AttrError)> for NetlinkError {
    fn from((context, e): (String, AttrError)) -> Self {
        NetlinkError::malformed(context, e)
    }
}

/// "EPERM (Operation not permitted)": the symbolic name users search for,
/// and the libc text.
pub fn errno_text(errno: i32) -> String {
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::E2BIG => "E2BIG",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::ENOBUFS => "ENOBUFS",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::EPROTOTYPE => "EPROTOTYPE",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::ERESTART => "ERESTART",
        _ => "",
    };
    let text = io::Error::from_raw_os_error(errno).to_string();
    let text = text
        .rsplit_once(" (os error")
        .map(|(t, _)| t.to_string())
        .unwrap_or(text);
    if name.is_empty() {
        format!("errno {errno} ({text})")
    } else {
        format!("{name} ({text})")
    }
}
