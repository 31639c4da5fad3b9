//! `modules load --persist`: records the modules in
//! `/etc/modules-load.d/nfdoctor.conf` so systemd-modules-load loads them at
//! boot. Written atomically (temporary file + rename) and never through a
//! symlink: a symlink at the target is replaced, not followed, and a
//! symlinked directory is refused.

use crate::host::root::HostRoot;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

pub const MODULES_LOAD_DIR: &str = "/etc/modules-load.d";
pub const PERSIST_FILE: &str = "/etc/modules-load.d/nfdoctor.conf";

/// Adds `modules` to the persist file (keeping the names already there,
/// without duplicates) and returns the file's path under `root`.
pub fn persist_modules(root: &HostRoot, modules: &[String]) -> io::Result<PathBuf> {
    let dir = root.path(MODULES_LOAD_DIR);
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(io::Error::other(format!(
                "{} is a symbolic link; refusing to write through it",
                dir.display()
            )))
        }
        Ok(m) if !m.is_dir() => {
            return Err(io::Error::other(format!(
                "{} is not a directory",
                dir.display()
            )))
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&dir)?,
        Err(e) => return Err(e),
    }
    let target = root.path(PERSIST_FILE);
    let mut names: Vec<String> = Vec::new();
    // Read the old list without following a symlink at the target.
    if let Ok(m) = std::fs::symlink_metadata(&target) {
        if m.is_file() {
            let old = root.read_string(PERSIST_FILE)?;
            names.extend(
                old.lines()
                    .map(|l| l.trim())
                    .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
                    .map(str::to_string),
            );
        }
    }
    for m in modules {
        if valid_name(m) && !names.contains(m) {
            names.push(m.clone());
        }
    }
    let mut text = String::from(
        "# Written by nfdoctor (modules load --persist): kernel modules Docker's\n\
         # netfilter rules need, loaded at boot by systemd-modules-load.\n",
    );
    for n in &names {
        text.push_str(n);
        text.push('\n');
    }
    let tmp = dir.join(format!(".nfdoctor.conf.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let write = || -> io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        // rename(2) replaces a symlink at the target instead of following it.
        std::fs::rename(&tmp, &target)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(target)
}

/// Module names are plain words; anything else would corrupt the file.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::root::testing::FakeTree;

    #[test]
    fn creates_merges_and_replaces_symlinks() {
        let t = FakeTree::new();
        let r = t.root();
        let p = persist_modules(&r, &["xt_nat".into(), "bad name\n".into()]).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.ends_with("xt_nat\n"), "{text}");
        assert!(!text.contains("bad"));
        persist_modules(&r, &["br_netfilter".into(), "xt_nat".into()]).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>(),
            ["xt_nat", "br_netfilter"]
        );

        // A symlink at the target is replaced, its target left untouched.
        t.file("/victim", "precious\n");
        t.link(PERSIST_FILE, t.dir.join("victim"));
        persist_modules(&r, &["veth".into()]).unwrap();
        assert_eq!(
            std::fs::read_to_string(t.dir.join("victim")).unwrap(),
            "precious\n"
        );
        assert!(!std::fs::symlink_metadata(&p)
            .unwrap()
            .file_type()
            .is_symlink());
        // No temporary file is left behind.
        assert_eq!(
            r.read_dir_names(MODULES_LOAD_DIR).unwrap(),
            ["nfdoctor.conf"]
        );
    }

    #[test]
    fn refuses_a_symlinked_directory() {
        let t = FakeTree::new();
        t.dir("/elsewhere")
            .link("/etc/modules-load.d", t.dir.join("elsewhere"));
        assert!(persist_modules(&t.root(), &["veth".into()]).is_err());
        assert!(t.root().read_dir_names("/elsewhere").unwrap().is_empty());
    }
}
