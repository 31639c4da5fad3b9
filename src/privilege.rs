//! The shared "not enough privilege" advice: which capability the kernel
//! wants, and where we stand (root, user namespace).

/// CAP_NET_ADMIN's bit in the capability sets.
const CAP_NET_ADMIN: u32 = 12;

/// Whether this process runs in a user namespace other than the initial one
/// (`/proc/self/uid_map` is not the identity map of all ids).
pub fn in_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| {
            let fields: Vec<&str> = m.split_whitespace().collect();
            fields != ["0", "0", "4294967295"]
        })
        .unwrap_or(false)
}

fn effective_caps() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("CapEff:"))?;
    u64::from_str_radix(line.split_whitespace().nth(1)?, 16).ok()
}

/// One paragraph: what is missing and what to run instead.
pub fn advice() -> String {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let has_admin = effective_caps().map(|c| c & (1 << CAP_NET_ADMIN) != 0);
    let userns = in_user_namespace();
    let mut s = String::from(
        "Reading and changing netfilter rules needs CAP_NET_ADMIN (and CAP_NET_RAW for the legacy back end) \
         in the user namespace that owns this network namespace.",
    );
    match (has_admin, userns) {
        (Some(false), _) => s.push_str(&format!(
            " This process (uid {euid}) does not hold CAP_NET_ADMIN: run it with sudo, or give the binary \
             the capability (setcap cap_net_admin,cap_net_raw+ep)."
        )),
        (Some(true), true) => s.push_str(
            " This process holds CAP_NET_ADMIN only inside a user namespace, which does not own the network \
             namespace it is in (e.g. `unshare -r` without `-n`, or a rootless container): run it as real root \
             on the host, or enter the network namespace you mean to inspect with --netns.",
        ),
        _ => {}
    }
    s
}
