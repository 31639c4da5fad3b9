//! Who we are: uids, capability sets, and whether our capabilities reach
//! the network namespace we are in (they do not when we run in a user
//! namespace that does not own it, e.g. `unshare -r` without `-n`).

use super::root::HostRoot;
use nfdoctor_sys::host::{
    CAP_LAST_CAP, CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN, CAP_SYS_MODULE, NS_GET_PARENT,
    NS_GET_USERNS,
};
use serde::{Serialize, Serializer};

/// Capabilities the probes and repairs care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Capability {
    /// Reading and writing netfilter rules, sysctls under `net.`.
    CapNetAdmin,
    /// Raw sockets (the legacy x_tables interface).
    CapNetRaw,
    /// Loading kernel modules (only ever in the initial user namespace).
    CapSysModule,
    /// Entering other namespaces (`setns`).
    CapSysAdmin,
}

impl Capability {
    pub fn number(self) -> u32 {
        match self {
            Capability::CapNetAdmin => CAP_NET_ADMIN,
            Capability::CapNetRaw => CAP_NET_RAW,
            Capability::CapSysModule => CAP_SYS_MODULE,
            Capability::CapSysAdmin => CAP_SYS_ADMIN,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Capability::CapNetAdmin => "CAP_NET_ADMIN",
            Capability::CapNetRaw => "CAP_NET_RAW",
            Capability::CapSysModule => "CAP_SYS_MODULE",
            Capability::CapSysAdmin => "CAP_SYS_ADMIN",
        }
    }
}

/// Names of capability bits, index = capability number.
const CAP_NAMES: [&str; 41] = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// A capability mask as in `/proc/PID/status`. Serialised as the hex text
/// the kernel prints (`"000001ffffffffff"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapMask(pub u64);

impl CapMask {
    pub fn has(self, cap: Capability) -> bool {
        self.0 & (1u64 << cap.number()) != 0
    }

    /// `cap_net_admin`-style names of the bits set (unknown bits as `cap_N`).
    pub fn names(self) -> Vec<String> {
        (0..64u32)
            .filter(|b| self.0 & (1u64 << b) != 0)
            .map(|b| match CAP_NAMES.get(b as usize) {
                Some(n) if b <= CAP_LAST_CAP => format!("cap_{n}"),
                _ => format!("cap_{b}"),
            })
            .collect()
    }
}

impl Serialize for CapMask {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:016x}", self.0))
    }
}

/// One line of `/proc/self/uid_map`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IdMapping {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// Who owns the network namespace we are in, relative to our user namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetnsOwner {
    /// Our own user namespace: our capabilities apply to it.
    OwnUserns,
    /// A user namespace below ours: our capabilities apply to it too.
    ChildUserns,
    /// A user namespace above ours (or unrelated): our capabilities do not
    /// reach it, whatever `CapEff` says.
    OtherUserns,
    /// Not determined (fake root, or the ioctls are unavailable).
    Unknown,
}

/// The privilege probe's findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Privileges {
    /// Real and effective uid (from `/proc/self/status`).
    pub uid: Option<u32>,
    pub euid: Option<u32>,
    /// Effective uid 0 (inside our user namespace).
    pub root: bool,
    pub effective: CapMask,
    pub permitted: CapMask,
    pub bounding: CapMask,
    /// Names of the effective capabilities.
    pub effective_names: Vec<String>,
    /// `/proc/self/uid_map`.
    pub uid_map: Vec<IdMapping>,
    /// True when `uid_map` is the identity map of the initial user namespace
    /// (`0 0 4294967295`); false inside `unshare -r`, rootless Docker, most
    /// containers. `None` when `uid_map` could not be read.
    pub initial_user_namespace: Option<bool>,
    pub netns_owner: NetnsOwner,
    /// CAP_NET_ADMIN held *over the current network namespace* (effective and
    /// the namespace is owned by our user namespace or one below it).
    /// `None` when the owner could not be determined.
    pub net_admin_over_netns: Option<bool>,
    /// CAP_SYS_MODULE effective *and* in the initial user namespace: the
    /// only way the kernel accepts `finit_module`.
    pub can_load_modules: bool,
    /// Problems met while probing.
    pub errors: Vec<String>,
}

impl Privileges {
    /// True when `cap` is effective and counts where it is needed:
    /// CAP_NET_ADMIN over this netns, CAP_SYS_MODULE in the initial userns.
    pub fn holds(&self, cap: Capability) -> bool {
        match cap {
            Capability::CapNetAdmin | Capability::CapNetRaw => {
                self.effective.has(cap) && self.net_admin_over_netns.unwrap_or(true)
            }
            Capability::CapSysModule => self.can_load_modules,
            Capability::CapSysAdmin => self.effective.has(cap),
        }
    }

    /// In a user namespace other than the host's.
    pub fn in_user_namespace(&self) -> bool {
        self.initial_user_namespace == Some(false)
    }
}

/// Probes `/proc/self/status` and `/proc/self/uid_map` under `root`; on a
/// live root also asks the kernel who owns the current network namespace.
pub fn probe_privileges(root: &HostRoot) -> Privileges {
    let mut errors = Vec::new();
    let status = root.read_string("/proc/self/status").unwrap_or_else(|e| {
        errors.push(format!("/proc/self/status: {e}"));
        String::new()
    });
    let line = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    let mask = |name: &str| {
        CapMask(
            line(name)
                .and_then(|v| u64::from_str_radix(v, 16).ok())
                .unwrap_or(0),
        )
    };
    let uids: Vec<u32> = line("Uid:")
        .map(|v| {
            v.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let effective = mask("CapEff:");
    let uid_map = match root.read_string("/proc/self/uid_map") {
        Ok(text) => parse_id_map(&text),
        Err(e) => {
            errors.push(format!("/proc/self/uid_map: {e}"));
            Vec::new()
        }
    };
    let initial_user_namespace = if uid_map.is_empty() {
        None
    } else {
        Some(is_initial_map(&uid_map))
    };
    let netns_owner = if root.is_live() {
        match live_netns_owner() {
            Ok(o) => o,
            Err(e) => {
                errors.push(format!("network namespace owner: {e}"));
                NetnsOwner::Unknown
            }
        }
    } else if initial_user_namespace == Some(true) {
        // In the initial user namespace every netns is ours or below.
        NetnsOwner::OwnUserns
    } else {
        NetnsOwner::Unknown
    };
    let net_admin_over_netns = match netns_owner {
        NetnsOwner::OwnUserns | NetnsOwner::ChildUserns => {
            Some(effective.has(Capability::CapNetAdmin))
        }
        NetnsOwner::OtherUserns => Some(false),
        NetnsOwner::Unknown => None,
    };
    let euid = uids.get(1).copied();
    Privileges {
        uid: uids.first().copied(),
        euid,
        root: euid == Some(0),
        effective,
        permitted: mask("CapPrm:"),
        bounding: mask("CapBnd:"),
        effective_names: effective.names(),
        uid_map,
        initial_user_namespace,
        netns_owner,
        net_admin_over_netns,
        can_load_modules: effective.has(Capability::CapSysModule)
            && initial_user_namespace == Some(true),
        errors,
    }
}

/// Parses `uid_map`/`gid_map` text; malformed lines are skipped.
pub fn parse_id_map(text: &str) -> Vec<IdMapping> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace().map(|v| v.parse::<u32>());
            match (it.next(), it.next(), it.next()) {
                (Some(Ok(inside)), Some(Ok(outside)), Some(Ok(count))) => Some(IdMapping {
                    inside,
                    outside,
                    count,
                }),
                _ => None,
            }
        })
        .collect()
}

fn is_initial_map(map: &[IdMapping]) -> bool {
    map == [IdMapping {
        inside: 0,
        outside: 0,
        count: u32::MAX,
    }]
}

/// Compares the user namespace owning our netns with our own user
/// namespace, walking up from the owner with `NS_GET_PARENT`.
fn live_netns_owner() -> std::io::Result<NetnsOwner> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::MetadataExt;

    let own = std::fs::metadata("/proc/self/ns/user")?;
    let netns = std::fs::File::open("/proc/thread-self/ns/net")?;
    let ioctl = |fd: &dyn AsRawFd, req: u32| -> std::io::Result<OwnedFd> {
        // SAFETY: NS_GET_USERNS / NS_GET_PARENT take no argument and return
        // a new descriptor or -1; `fd` is a live descriptor.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), req as _) };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the kernel just returned this descriptor; we own it.
        Ok(unsafe { OwnedFd::from_raw_fd(rc) })
    };
    let mut owner = match ioctl(&netns, NS_GET_USERNS) {
        Ok(fd) => fd,
        // EPERM: the owner is outside our user namespace's scope (an
        // ancestor, as after `unshare -r` in the host netns).
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => return Ok(NetnsOwner::OtherUserns),
        Err(e) => return Err(e),
    };
    for depth in 0..64 {
        let meta = std::fs::File::from(owner.try_clone()?).metadata()?;
        if meta.ino() == own.ino() && meta.dev() == own.dev() {
            return Ok(if depth == 0 {
                NetnsOwner::OwnUserns
            } else {
                NetnsOwner::ChildUserns
            });
        }
        match ioctl(&owner, NS_GET_PARENT) {
            Ok(parent) => owner = parent,
            // EPERM: the parent is outside our reach, so the owner is not
            // below us.
            Err(_) => return Ok(NetnsOwner::OtherUserns),
        }
    }
    Ok(NetnsOwner::OtherUserns)
}

#[cfg(test)]
mod tests {
    use super::super::root::testing::FakeTree;
    use super::*;

    const ROOT_STATUS: &str = "Name:\tnfdoctor\nUid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n";

    #[test]
    fn host_root_has_everything() {
        let t = FakeTree::new();
        t.file("/proc/self/status", ROOT_STATUS)
            .file("/proc/self/uid_map", "         0          0 4294967295\n");
        let p = probe_privileges(&t.root());
        assert!(p.root);
        assert_eq!(p.initial_user_namespace, Some(true));
        assert_eq!(p.net_admin_over_netns, Some(true));
        assert!(p.can_load_modules);
        assert!(p.holds(Capability::CapNetAdmin));
        assert!(p.effective_names.contains(&"cap_net_admin".to_string()));
        assert_eq!(
            serde_json::to_value(p.effective).unwrap(),
            "000001ffffffffff"
        );
    }

    #[test]
    fn user_namespace_root_cannot_load_modules() {
        let t = FakeTree::new();
        t.file("/proc/self/status", ROOT_STATUS)
            .file("/proc/self/uid_map", "0 1000 1\n");
        let p = probe_privileges(&t.root());
        assert!(p.root);
        assert!(p.in_user_namespace());
        assert!(!p.can_load_modules);
        assert!(!p.holds(Capability::CapSysModule));
        // The owner of the netns is unknown from files alone.
        assert_eq!(p.netns_owner, NetnsOwner::Unknown);
        assert_eq!(p.uid_map[0].outside, 1000);
    }

    #[test]
    fn unprivileged_user_and_garbage() {
        let t = FakeTree::new();
        t.file(
            "/proc/self/status",
            "Uid:\t1000\t1000\t1000\t1000\nCapEff:\tzzzz\nCapPrm:\t0000000000000000\n",
        )
        .file("/proc/self/uid_map", "garbage\n0 0 4294967295\n");
        let p = probe_privileges(&t.root());
        assert!(!p.root);
        assert_eq!(p.effective, CapMask(0));
        assert_eq!(p.net_admin_over_netns, Some(false));
        let empty = FakeTree::new();
        let p = probe_privileges(&empty.root());
        assert_eq!(p.initial_user_namespace, None);
        assert_eq!(p.errors.len(), 2);
    }

    #[test]
    fn live_probe_runs() {
        let p = probe_privileges(&HostRoot::live());
        assert!(p.uid.is_some());
        assert_ne!(p.netns_owner, NetnsOwner::Unknown, "{:?}", p.errors);
    }
}
