//! A throw-away user + network namespace for this process (what
//! `unshare -rn` gives a shell), entered in-process: no root needed where
//! unprivileged user namespaces are allowed, and the host's rules are never
//! touched. Used by `nfdoctor demo`.

use std::io;

fn write(path: &str, text: &str) -> io::Result<()> {
    std::fs::write(path, text).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))
}

/// Moves this (single-threaded) process into a new user namespace where it
/// is root, owning a new, empty network namespace.
pub fn enter_throwaway_namespace() -> io::Result<()> {
    // SAFETY: getuid/getgid have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // SAFETY: unshare only changes this process's namespaces; the flags are
    // constants. It fails (EINVAL) if the process has other threads.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!(
                "creating a user and network namespace failed ({e}); this system may not allow unprivileged user \
                 namespaces (see /proc/sys/kernel/unprivileged_userns_clone or user.max_user_namespaces)"
            ),
        ));
    }
    // Map ourselves to root inside, as `unshare -r` does.
    write("/proc/self/setgroups", "deny")?;
    write("/proc/self/uid_map", &format!("0 {uid} 1"))?;
    write("/proc/self/gid_map", &format!("0 {gid} 1"))?;
    Ok(())
}
