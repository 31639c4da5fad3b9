//! Stamps the binary with its version and the commit it was built from, for
//! `nfdoctor --version` and bug reports. Reads `.git` directly (no `git`
//! process) so it also works in minimal build containers.

use std::fs;
use std::path::Path;

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let commit = git_commit(Path::new(".git")).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=NFDOCTOR_VERSION={version} (commit {commit})");
    println!("cargo:rerun-if-changed=.git/HEAD");
    if let Some(r) = head_ref(Path::new(".git")) {
        println!("cargo:rerun-if-changed=.git/{r}");
    }
    println!("cargo:rerun-if-changed=.git/packed-refs");
}

fn head_ref(git: &Path) -> Option<String> {
    let head = fs::read_to_string(git.join("HEAD")).ok()?;
    head.trim().strip_prefix("ref: ").map(str::to_string)
}

/// The short hash HEAD points to, following one symbolic ref and
/// `packed-refs`; `None` outside a git checkout.
fn git_commit(git: &Path) -> Option<String> {
    let git = if git.is_file() {
        // A worktree: `.git` is a file naming the real directory.
        let text = fs::read_to_string(git).ok()?;
        Path::new(text.trim().strip_prefix("gitdir: ")?).to_path_buf()
    } else {
        git.to_path_buf()
    };
    let head = fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    let hash = match head.strip_prefix("ref: ") {
        None => head.to_string(),
        Some(r) => {
            let common = fs::read_to_string(git.join("commondir"))
                .map(|c| git.join(c.trim()))
                .unwrap_or_else(|_| git.clone());
            fs::read_to_string(git.join(r))
                .or_else(|_| fs::read_to_string(common.join(r)))
                .ok()
                .map(|s| s.trim().to_string())
                .or_else(|| {
                    let packed = fs::read_to_string(common.join("packed-refs")).ok()?;
                    packed
                        .lines()
                        .find(|l| l.ends_with(r))
                        .and_then(|l| l.split_whitespace().next())
                        .map(str::to_string)
                })?
        }
    };
    Some(hash.chars().take(12).collect())
}
