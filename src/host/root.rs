//! The root every probe reads through: `/` on a live host, a directory of
//! fake `/proc`, `/sys`, `/etc`, `/lib/modules`, `/run` files in tests.
//!
//! Probes never open an absolute path directly; they ask a [`HostRoot`] for
//! it. Anything that is not a file read (syscalls, netlink) runs only when
//! the root is live.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

/// The largest file a probe reads whole. Larger files are truncated to this
/// (and flagged by [`HostRoot::read_bytes`]) instead of filling memory.
pub const MAX_FILE: u64 = 32 * 1024 * 1024;

/// Where probes read the host's files from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoot {
    base: PathBuf,
    live: bool,
}

impl HostRoot {
    /// The running system: paths are read as they are, syscalls allowed.
    pub fn live() -> Self {
        HostRoot {
            base: PathBuf::from("/"),
            live: true,
        }
    }

    /// A fake tree rooted at `base`: `/proc/modules` is read from
    /// `base/proc/modules`. Probes that need the kernel itself (netlink,
    /// ioctls, `finit_module`) report "not probed" instead.
    pub fn at(base: impl Into<PathBuf>) -> Self {
        HostRoot {
            base: base.into(),
            live: false,
        }
    }

    /// Whether this is the running system (syscalls allowed).
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// The directory absolute paths are resolved under.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// `abs` (an absolute host path) under this root. `..` components are
    /// dropped so a path from a file in the tree cannot escape it.
    pub fn path(&self, abs: impl AsRef<Path>) -> PathBuf {
        let mut out = self.base.clone();
        for c in abs.as_ref().components() {
            if let Component::Normal(part) = c {
                out.push(part);
            }
        }
        out
    }

    /// Reads at most `limit` bytes; the flag says whether the file was longer.
    pub fn read_bytes_limited(
        &self,
        abs: impl AsRef<Path>,
        limit: u64,
    ) -> io::Result<(Vec<u8>, bool)> {
        let file = File::open(self.path(abs))?;
        let mut buf = Vec::new();
        // /proc and /sys files report size 0: read to EOF, bounded.
        file.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
        let truncated = buf.len() as u64 > limit;
        if truncated {
            buf.truncate(limit as usize);
        }
        Ok((buf, truncated))
    }

    /// A whole file (up to [`MAX_FILE`]).
    pub fn read_bytes(&self, abs: impl AsRef<Path>) -> io::Result<Vec<u8>> {
        Ok(self.read_bytes_limited(abs, MAX_FILE)?.0)
    }

    /// A whole file as text; invalid UTF-8 is replaced, never an error.
    pub fn read_string(&self, abs: impl AsRef<Path>) -> io::Result<String> {
        let bytes = self.read_bytes(abs)?;
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// The first line of a small file, trimmed (`/proc/sys/...` values).
    pub fn read_value(&self, abs: impl AsRef<Path>) -> io::Result<String> {
        let (bytes, _) = self.read_bytes_limited(abs, 4096)?;
        let text = String::from_utf8_lossy(&bytes);
        Ok(text.lines().next().unwrap_or("").trim().to_string())
    }

    /// The target of a symbolic link, as stored (not resolved).
    pub fn read_link(&self, abs: impl AsRef<Path>) -> io::Result<PathBuf> {
        std::fs::read_link(self.path(abs))
    }

    pub fn exists(&self, abs: impl AsRef<Path>) -> bool {
        std::fs::symlink_metadata(self.path(abs)).is_ok()
    }

    pub fn is_dir(&self, abs: impl AsRef<Path>) -> bool {
        self.path(abs).is_dir()
    }

    /// Names in a directory, sorted; non-UTF-8 names are skipped.
    pub fn read_dir_names(&self, abs: impl AsRef<Path>) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(self.path(abs))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// The running kernel's release (`uname -r`), from
    /// `/proc/sys/kernel/osrelease`.
    pub fn kernel_release(&self) -> Option<String> {
        self.read_value("/proc/sys/kernel/osrelease")
            .ok()
            .filter(|s| !s.is_empty())
    }
}

impl Default for HostRoot {
    fn default() -> Self {
        HostRoot::live()
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A fake tree in a fresh temporary directory, removed on drop.

    use super::HostRoot;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    static NEXT: AtomicUsize = AtomicUsize::new(0);

    #[derive(Debug)]
    pub struct FakeTree {
        pub dir: PathBuf,
    }

    impl FakeTree {
        pub fn new() -> Self {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("nfdoctor-host-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            FakeTree { dir }
        }

        pub fn root(&self) -> HostRoot {
            HostRoot::at(&self.dir)
        }

        fn full(&self, abs: &str) -> PathBuf {
            self.root().path(abs)
        }

        /// Writes `abs` (creating parents) and returns self for chaining.
        pub fn file(&self, abs: &str, contents: impl AsRef<[u8]>) -> &Self {
            let p = self.full(abs);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, contents).unwrap();
            self
        }

        pub fn dir(&self, abs: &str) -> &Self {
            std::fs::create_dir_all(self.full(abs)).unwrap();
            self
        }

        /// A symlink at `abs` pointing to `target` (stored as given).
        pub fn link(&self, abs: &str, target: impl AsRef<Path>) -> &Self {
            let p = self.full(abs);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            let _ = std::fs::remove_file(&p);
            std::os::unix::fs::symlink(target, p).unwrap();
            self
        }

        /// A process: `comm`, NUL-separated `cmdline`, `status` with uid.
        pub fn process(&self, pid: u32, comm: &str, argv: &[&str], uid: u32) -> &Self {
            let mut cmdline = argv.join("\0");
            cmdline.push('\0');
            self.file(&format!("/proc/{pid}/comm"), format!("{comm}\n"))
                .file(&format!("/proc/{pid}/cmdline"), cmdline)
                .file(
                    &format!("/proc/{pid}/status"),
                    format!("Name:\t{comm}\nPPid:\t1\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"),
                )
        }
    }

    impl Drop for FakeTree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::FakeTree;
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let r = HostRoot::at("/tmp/x");
        assert_eq!(
            r.path("/proc/modules"),
            PathBuf::from("/tmp/x/proc/modules")
        );
        assert_eq!(
            r.path("/../../etc/passwd"),
            PathBuf::from("/tmp/x/etc/passwd")
        );
        assert!(!r.is_live());
        assert!(HostRoot::live().is_live());
    }

    #[test]
    fn reads_are_bounded_and_lossy() {
        let t = FakeTree::new();
        t.file("/a", b"hello\xffworld\n")
            .file("/big", vec![b'x'; 100]);
        let r = t.root();
        assert_eq!(r.read_string("/a").unwrap(), "hello\u{fffd}world\n");
        let (b, truncated) = r.read_bytes_limited("/big", 10).unwrap();
        assert_eq!(b.len(), 10);
        assert!(truncated);
        assert!(r.read_string("/missing").is_err());
        assert_eq!(r.kernel_release(), None);
    }
}
