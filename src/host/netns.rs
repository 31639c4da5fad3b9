//! Entering another network namespace (`--netns PID|PATH`), and the one
//! "not enough privilege" text every command shares.

use super::privileges::{Capability, NetnsOwner, Privileges};
use std::fmt;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::str::FromStr;

/// What `--netns` names: a process (its `/proc/PID/ns/net`) or a namespace
/// file (`/run/netns/NAME`, RootlessKit's `$STATE_DIR/netns`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetnsTarget {
    Pid(u32),
    Path(PathBuf),
}

impl NetnsTarget {
    /// The namespace file to open.
    pub fn file(&self) -> PathBuf {
        match self {
            NetnsTarget::Pid(pid) => PathBuf::from(format!("/proc/{pid}/ns/net")),
            NetnsTarget::Path(p) => p.clone(),
        }
    }
}

impl FromStr for NetnsTarget {
    type Err = NetnsError;

    /// All digits is a PID, anything else a path.
    fn from_str(s: &str) -> Result<Self, NetnsError> {
        if s.is_empty() {
            return Err(NetnsError::Empty);
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return s
                .parse()
                .map(NetnsTarget::Pid)
                .map_err(|_| NetnsError::Empty);
        }
        Ok(NetnsTarget::Path(PathBuf::from(s)))
    }
}

impl fmt::Display for NetnsTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetnsTarget::Pid(pid) => write!(f, "process {pid}"),
            NetnsTarget::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("--netns needs a PID or a path to a network namespace file")]
    Empty,
    #[error("cannot open the network namespace of {target} ({file}): {source}")]
    Open {
        target: NetnsTarget,
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{target} ({file}) is not a network namespace")]
    NotNetns { target: NetnsTarget, file: String },
    #[error("{0}")]
    Privilege(String),
    #[error("cannot enter the network namespace of {target}: {source}")]
    Setns {
        target: NetnsTarget,
        #[source]
        source: std::io::Error,
    },
}

/// Moves the calling thread into `target`'s network namespace.
///
/// Call it from the main thread before any other thread starts: the network
/// namespace is per thread. Sockets and `/proc/sys/net` follow the calling
/// thread, but `/proc/self/net` (and `/proc/net`) show the main thread's.
/// `privileges` (probed before the switch) makes an `EPERM` explain itself.
pub fn enter_netns(
    target: &NetnsTarget,
    privileges: Option<&Privileges>,
) -> Result<(), NetnsError> {
    let file = target.file();
    let shown = file.display().to_string();
    let f = std::fs::File::open(&file).map_err(|source| NetnsError::Open {
        target: target.clone(),
        file: shown.clone(),
        source,
    })?;
    // SAFETY: `f` is an open descriptor; setns only changes this thread's
    // namespace membership and reports failure through errno.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        return Ok(());
    }
    let mut err = std::io::Error::last_os_error();
    // Not root, but the namespace belongs to a user namespace we own
    // (rootless Docker, `unshare -rn`): join that user namespace first, as
    // `nsenter -U -n` does, and try again.
    if err.raw_os_error() == Some(libc::EPERM) && join_owner_userns(&f).unwrap_or(false) {
        // SAFETY: as above.
        if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } == 0 {
            return Ok(());
        }
        err = std::io::Error::last_os_error();
    }
    match err.raw_os_error() {
        Some(libc::EINVAL) => Err(NetnsError::NotNetns {
            target: target.clone(),
            file: shown,
        }),
        Some(libc::EPERM) => Err(NetnsError::Privilege(not_enough_privilege(
            Capability::CapSysAdmin,
            &format!("entering the network namespace of {target}"),
            privileges,
        ))),
        _ => Err(NetnsError::Setns {
            target: target.clone(),
            source: err,
        }),
    }
}

/// Joins the user namespace that owns network namespace `netns`, when it is
/// not ours. `Ok(false)`: nothing to join (ours, or its owner is out of our
/// reach). Only a single-threaded process may change its user namespace.
fn join_owner_userns(netns: &std::fs::File) -> std::io::Result<bool> {
    use nfdoctor_sys::host::NS_GET_USERNS;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::fs::MetadataExt;

    // SAFETY: NS_GET_USERNS takes no argument and returns a new descriptor
    // or -1; `netns` is a live descriptor.
    let rc = unsafe { libc::ioctl(netns.as_raw_fd(), NS_GET_USERNS as _) };
    if rc < 0 {
        return Ok(false);
    }
    // SAFETY: the kernel just returned this descriptor; we own it.
    let owner = unsafe { OwnedFd::from_raw_fd(rc) };
    let own = std::fs::metadata("/proc/self/ns/user")?;
    let theirs = std::fs::File::from(owner.try_clone()?).metadata()?;
    if theirs.ino() == own.ino() && theirs.dev() == own.dev() {
        return Ok(false);
    }
    // SAFETY: `owner` is an open user-namespace descriptor; setns reports
    // failure through errno and changes nothing then.
    let rc = unsafe { libc::setns(owner.as_raw_fd(), libc::CLONE_NEWUSER) };
    Ok(rc == 0)
}

/// The shared "not enough privilege" message: what needed `cap`, what we
/// have, whether a user namespace is why, and what to run instead.
pub fn not_enough_privilege(cap: Capability, action: &str, p: Option<&Privileges>) -> String {
    let name = cap.name();
    let mut msg = match cap {
        Capability::CapNetAdmin | Capability::CapNetRaw => {
            format!("{action} needs {name} over the current network namespace")
        }
        Capability::CapSysModule => {
            format!("{action} needs {name} in the initial (host) user namespace")
        }
        Capability::CapSysAdmin => {
            format!("{action} needs {name} over the target namespace and in our own user namespace")
        }
    };
    let Some(p) = p else {
        msg.push_str(". Run nfdoctor as root (for example with sudo).");
        return msg;
    };
    let who = match p.euid {
        Some(0) => "root".to_string(),
        Some(u) => format!("uid {u}"),
        None => "an unknown user".to_string(),
    };
    let has = p.effective.has(cap);
    if p.in_user_namespace() {
        let map = p
            .uid_map
            .first()
            .map(|m| format!(" (uid_map: {} {} {})", m.inside, m.outside, m.count))
            .unwrap_or_default();
        msg.push_str(&format!(
            "; this process runs as {who} in a user namespace{map}, so its capabilities only count \
             in namespaces that user namespace owns"
        ));
        match cap {
            Capability::CapSysModule => msg.push_str(
                ", and module loading is checked against the host's user namespace, which no \
                 container, `unshare -r` or rootless setup can have. Run `sudo nfdoctor modules load …` \
                 on the host instead.",
            ),
            _ if p.netns_owner == NetnsOwner::OtherUserns => msg.push_str(
                "; the current network namespace belongs to another (typically the host's) user \
                 namespace. Run nfdoctor as root on the host (sudo nfdoctor …), or with \
                 `--netns` for a namespace this user namespace owns (as `unshare -rn` creates).",
            ),
            _ if !has => msg.push_str(&format!(
                " and {name} is not in its effective set. Run it as root inside the namespace."
            )),
            _ => msg.push('.'),
        }
    } else if has {
        msg.push_str(&format!(
            "; this process ({who}) has {name} but the kernel still refused: a security module \
             (SELinux, AppArmor), lockdown or a seccomp filter may be blocking it."
        ));
    } else {
        msg.push_str(&format!(
            "; this process runs as {who} without {name}. Run it as root: sudo nfdoctor …"
        ));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::super::privileges::{CapMask, IdMapping};
    use super::*;

    fn privs(euid: u32, eff: u64, map: (u32, u32, u32), owner: NetnsOwner) -> Privileges {
        let uid_map = vec![IdMapping {
            inside: map.0,
            outside: map.1,
            count: map.2,
        }];
        let initial = map == (0, 0, u32::MAX);
        Privileges {
            uid: Some(euid),
            euid: Some(euid),
            root: euid == 0,
            effective: CapMask(eff),
            permitted: CapMask(eff),
            bounding: CapMask(eff),
            effective_names: CapMask(eff).names(),
            uid_map,
            initial_user_namespace: Some(initial),
            netns_owner: owner,
            net_admin_over_netns: None,
            can_load_modules: initial && eff != 0,
            errors: vec![],
        }
    }

    #[test]
    fn parses_targets() {
        assert_eq!(
            "1234".parse::<NetnsTarget>().unwrap(),
            NetnsTarget::Pid(1234)
        );
        assert_eq!(
            "/run/netns/x".parse::<NetnsTarget>().unwrap().file(),
            PathBuf::from("/run/netns/x")
        );
        assert_eq!(NetnsTarget::Pid(7).file(), PathBuf::from("/proc/7/ns/net"));
        assert!("".parse::<NetnsTarget>().is_err());
    }

    #[test]
    fn messages_name_capability_userns_and_remedy() {
        let p = privs(1000, 0, (0, 0, u32::MAX), NetnsOwner::OwnUserns);
        let m = not_enough_privilege(Capability::CapNetAdmin, "reading the ruleset", Some(&p));
        assert!(m.contains("CAP_NET_ADMIN") && m.contains("uid 1000") && m.contains("sudo"));

        let p = privs(0, u64::MAX, (0, 1000, 1), NetnsOwner::OtherUserns);
        let m = not_enough_privilege(Capability::CapNetAdmin, "reading the ruleset", Some(&p));
        assert!(m.contains("user namespace (uid_map: 0 1000 1)"), "{m}");
        assert!(m.contains("--netns"), "{m}");

        let m = not_enough_privilege(Capability::CapSysModule, "loading xt_nat", Some(&p));
        assert!(
            m.contains("initial (host) user namespace") && m.contains("sudo nfdoctor modules load")
        );

        let m = not_enough_privilege(Capability::CapSysAdmin, "entering process 1", None);
        assert!(m.contains("CAP_SYS_ADMIN") && m.contains("root"));
    }

    #[test]
    fn missing_namespace_is_reported() {
        let e = enter_netns(&NetnsTarget::Path("/nonexistent/ns".into()), None).unwrap_err();
        assert!(matches!(e, NetnsError::Open { .. }));
        // A regular file is not a namespace: EINVAL, no switch happens.
        let e = enter_netns(&NetnsTarget::Path("/proc/self/status".into()), None).unwrap_err();
        assert!(matches!(e, NetnsError::NotNetns { .. }), "{e}");
    }
}
