//! The xtables lock (netfilter-abi.md A.8): every iptables-legacy binary,
//! and Docker through them, serialises its read-modify-write of a table on
//! `flock(LOCK_EX)` of `/run/xtables.lock` (or `$XTABLES_LOCKFILE`), opened
//! `O_RDONLY|O_CREAT` with mode 0600. We take the same lock, so that they
//! wait for us and we for them.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where iptables keeps the lock unless told otherwise.
pub const DEFAULT_LOCK_PATH: &str = "/run/xtables.lock";
/// The environment variable that moves it (iptables ≥ 1.8.6).
pub const LOCKFILE_ENV: &str = "XTABLES_LOCKFILE";

/// How long to wait when another process holds the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    /// Fail at once (iptables without `-w`, ≥ 1.8.10).
    NoWait,
    /// Wait up to this long (`-w SECONDS`).
    Up(Duration),
    /// Wait as long as it takes (`-w`).
    Forever,
}

impl LockWait {
    /// `None` = don't wait, `Some(d)` = wait up to `d`.
    pub fn from_timeout(timeout: Option<Duration>) -> Self {
        match timeout {
            None => LockWait::NoWait,
            Some(d) => LockWait::Up(d),
        }
    }
}

/// Who holds a lock, from `/proc/locks` (best effort).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// As seen from our pid namespace.
    pub pid: i32,
    /// `/proc/PID/comm`, when readable.
    pub command: Option<String>,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.command {
            Some(c) => write!(f, "pid {} ({c})", self.pid),
            None => write!(f, "pid {}", self.pid),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The lock file cannot be opened or created.
    #[error("can't open the xtables lock file {}: {source}{advice}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
        /// What to do about it (empty when there is nothing to add).
        advice: String,
    },
    /// Someone else holds the lock and we did not (or no longer) wait.
    #[error(
        "Another app is currently holding the xtables lock ({}{}); {}",
        path.display(),
        holder.as_ref().map(|h| format!(", held by {h}")).unwrap_or_default(),
        match waited {
            None => "not waiting for it (ask to wait, like iptables -w)".to_string(),
            Some(d) => format!("stopped waiting after {:.1}s", d.as_secs_f64()),
        }
    )]
    Busy {
        path: PathBuf,
        holder: Option<LockHolder>,
        /// `None` when we did not wait at all.
        waited: Option<Duration>,
    },
    /// `flock` itself failed.
    #[error("can't lock {}: {source}", path.display())]
    Flock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl LockError {
    pub fn is_busy(&self) -> bool {
        matches!(self, LockError::Busy { .. })
    }
}

/// The held lock; released when dropped.
#[derive(Debug)]
pub struct XtLock {
    fd: OwnedFd,
    path: PathBuf,
    waited: Duration,
}

impl XtLock {
    /// `$XTABLES_LOCKFILE` when set and not empty, else `/run/xtables.lock`
    /// (what iptables-legacy uses).
    pub fn default_path() -> PathBuf {
        match std::env::var_os(LOCKFILE_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => PathBuf::from(DEFAULT_LOCK_PATH),
        }
    }

    /// Takes the lock at [`XtLock::default_path`].
    pub fn acquire(wait: LockWait) -> Result<XtLock, LockError> {
        Self::acquire_at(Self::default_path(), wait)
    }

    /// Takes the lock at `path`.
    pub fn acquire_at(path: impl AsRef<Path>, wait: LockWait) -> Result<XtLock, LockError> {
        let path = path.as_ref().to_path_buf();
        let fd = open_lock_file(&path)?;
        let start = Instant::now();
        match wait {
            LockWait::Forever => loop {
                match flock(&fd, libc::LOCK_EX) {
                    Ok(()) => break,
                    Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                    Err(source) => return Err(LockError::Flock { path, source }),
                }
            },
            LockWait::NoWait | LockWait::Up(_) => {
                let limit = match wait {
                    LockWait::Up(d) => Some(d),
                    _ => None,
                };
                let mut pause = Duration::from_millis(1);
                loop {
                    match flock(&fd, libc::LOCK_EX | libc::LOCK_NB) {
                        Ok(()) => break,
                        Err(e)
                            if e.raw_os_error() == Some(libc::EWOULDBLOCK)
                                || e.raw_os_error() == Some(libc::EINTR) =>
                        {
                            let waited = start.elapsed();
                            let remaining = limit.and_then(|l| l.checked_sub(waited));
                            match remaining {
                                Some(r) if !r.is_zero() => {
                                    std::thread::sleep(pause.min(r));
                                    pause = (pause * 2).min(Duration::from_millis(50));
                                }
                                _ => {
                                    return Err(LockError::Busy {
                                        holder: lock_holder(&fd),
                                        path,
                                        waited: limit.map(|_| waited),
                                    })
                                }
                            }
                        }
                        Err(source) => return Err(LockError::Flock { path, source }),
                    }
                }
            }
        }
        Ok(XtLock {
            fd,
            path,
            waited: start.elapsed(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How long taking the lock took.
    pub fn waited(&self) -> Duration {
        self.waited
    }
}

impl Drop for XtLock {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock too; unlocking first also
        // covers a copy of the descriptor inherited across a fork.
        let _ = flock(&self.fd, libc::LOCK_UN);
    }
}

fn open_lock_file(path: &Path) -> Result<OwnedFd, LockError> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| LockError::Open {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"),
        advice: String::new(),
    })?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call;
    // the mode argument is the one O_CREAT reads.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_CREAT | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    };
    if fd < 0 {
        let source = io::Error::last_os_error();
        let advice = open_advice(path, &source);
        return Err(LockError::Open {
            path: path.to_path_buf(),
            source,
            advice,
        });
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Why the lock file can't be opened, and what to do.
fn open_advice(path: &Path, e: &io::Error) -> String {
    let denied = matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM));
    if !denied {
        return String::new();
    }
    let from_env = std::env::var_os(LOCKFILE_ENV).is_some_and(|p| !p.is_empty());
    let userns = crate::host::probe_privileges(&crate::host::HostRoot::live()).in_user_namespace();
    let mut advice = String::new();
    if userns {
        advice.push_str(
            "; this process runs in a user namespace (not as the host's real root), where it can't open files of users the namespace does not map, such as the host's /run/xtables.lock",
        );
    }
    if from_env {
        advice.push_str(&format!(
            "; {LOCKFILE_ENV} names this path: point it at a file this user can create"
        ));
    } else {
        advice.push_str(&format!(
            "; set {LOCKFILE_ENV} to a private lock file (e.g. {LOCKFILE_ENV}=/tmp/xtables.lock, as iptables ≥ 1.8.6 honours) or run as real root"
        ));
    }
    if path == Path::new(DEFAULT_LOCK_PATH) && !userns {
        advice.push_str(" (only processes sharing one lock file wait for each other)");
    }
    advice
}

fn flock(fd: &OwnedFd, op: i32) -> io::Result<()> {
    // SAFETY: `fd` is a live descriptor owned by the caller; flock takes no
    // pointers.
    let rc = unsafe { libc::flock(fd.as_raw_fd(), op) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Finds the process holding the flock on `fd`'s file in `/proc/locks`.
fn lock_holder(fd: &OwnedFd) -> Option<LockHolder> {
    // SAFETY: an all-zero `stat` is a valid value to be overwritten.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is live and `st` is a writable `stat` for the call.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } < 0 {
        return None;
    }
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let pid = holder_in_proc_locks(&locks, st.st_dev, st.st_ino)?;
    let command = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim_end().to_string());
    Some(LockHolder { pid, command })
}

/// The pid of the granted FLOCK on (`dev`, `ino`) in `/proc/locks` text
/// (lines like `1: FLOCK  ADVISORY  WRITE 1234 00:19:5678 0 EOF`; waiting
/// requests are marked `->` and skipped).
fn holder_in_proc_locks(text: &str, dev: u64, ino: u64) -> Option<i32> {
    // The kernel's MAJOR/MINOR of a dev_t (glibc's encoding of it).
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let want = format!("{major:02x}:{minor:02x}:{ino}");
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.get(1) != Some(&"FLOCK") || f.get(5) != Some(&want.as_str()) {
            return None;
        }
        f.get(4)?.parse().ok().filter(|p: &i32| *p > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_locks_lines() {
        let text = "1: POSIX  ADVISORY  WRITE 99 00:19:777 0 EOF\n\
                    2: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF\n\
                    2: -> FLOCK  ADVISORY  WRITE 4321 fd:01:5678 0 EOF\n";
        let dev = (0xfd << 8) | 0x01;
        assert_eq!(holder_in_proc_locks(text, dev, 5678), Some(1234));
        assert_eq!(holder_in_proc_locks(text, dev, 777), None);
        assert_eq!(holder_in_proc_locks(text, 0x19, 777), None);
    }

    #[test]
    fn busy_message_names_path_holder_and_wait() {
        let e = LockError::Busy {
            path: PathBuf::from("/run/xtables.lock"),
            holder: Some(LockHolder {
                pid: 42,
                command: Some("dockerd".into()),
            }),
            waited: Some(Duration::from_millis(1500)),
        };
        assert_eq!(
            e.to_string(),
            "Another app is currently holding the xtables lock (/run/xtables.lock, held by pid 42 (dockerd)); stopped waiting after 1.5s"
        );
        let e = LockError::Busy {
            path: PathBuf::from("/x"),
            holder: None,
            waited: None,
        };
        assert!(e.to_string().contains("not waiting"), "{e}");
    }

    #[test]
    fn two_descriptors_exclude_each_other() {
        let dir = std::env::temp_dir().join(format!("nfdoctor-lock-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("xtables.lock");
        let held = XtLock::acquire_at(&path, LockWait::NoWait).expect("first lock");
        // flock locks belong to the open file description: a second open in
        // the same process contends like another process would.
        let e = XtLock::acquire_at(&path, LockWait::NoWait).expect_err("second lock");
        assert!(e.is_busy(), "{e}");
        let t = Instant::now();
        let e = XtLock::acquire_at(&path, LockWait::Up(Duration::from_millis(120)))
            .expect_err("timed lock");
        assert!(t.elapsed() >= Duration::from_millis(120), "{e}");
        assert!(e.to_string().contains("stopped waiting after"), "{e}");
        // The holder is us.
        match e {
            LockError::Busy {
                holder: Some(h), ..
            } => assert_eq!(h.pid, std::process::id() as i32),
            other => panic!("no holder found: {other}"),
        }
        drop(held);
        let again = XtLock::acquire_at(&path, LockWait::NoWait).expect("after release");
        assert_eq!(again.path(), path);
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
