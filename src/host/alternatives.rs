//! Which iptables the host's `iptables` command is: the alternatives link
//! (`/etc/alternatives/iptables`) and the binary's link chain
//! (`/usr/sbin/iptables` → … → `xtables-nft-multi`), read, not executed.
//! This is what Docker (≤ 28, and 29 with the iptables backend) runs.

use super::root::HostRoot;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What a link chain ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IptablesVariant {
    Nft,
    Legacy,
    /// A file whose name says neither (old distributions ship plain legacy
    /// binaries), or a dangling link.
    Unknown,
    /// No such file.
    Absent,
}

/// One command's resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandLink {
    /// `/usr/sbin/iptables`.
    pub path: String,
    /// Every hop, starting with `path`.
    pub chain: Vec<String>,
    pub variant: IptablesVariant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlternativesReport {
    /// `/etc/alternatives/iptables` (Debian/Ubuntu `update-alternatives`).
    pub alternative: Option<CommandLink>,
    /// The first of `/usr/sbin/iptables`, `/sbin/iptables`,
    /// `/usr/bin/iptables` that exists.
    pub iptables: CommandLink,
    pub ip6tables: CommandLink,
    /// The variant Docker would get (from `iptables`).
    pub variant: IptablesVariant,
}

/// Follows symlinks under `root` (absolute targets are re-rooted), at most
/// 16 hops.
pub fn resolve_chain(root: &HostRoot, path: &str) -> CommandLink {
    let mut chain = vec![path.to_string()];
    let mut cur = PathBuf::from(path);
    if !root.exists(&cur) {
        return CommandLink {
            path: path.to_string(),
            chain,
            variant: IptablesVariant::Absent,
        };
    }
    for _ in 0..16 {
        let Ok(target) = root.read_link(&cur) else {
            break;
        };
        let next = if target.is_absolute() {
            target
        } else {
            cur.parent().unwrap_or(Path::new("/")).join(target)
        };
        chain.push(next.to_string_lossy().into_owned());
        cur = next;
    }
    let variant = if !root.path(&cur).exists() {
        IptablesVariant::Unknown
    } else {
        classify(&cur.to_string_lossy())
    };
    CommandLink {
        path: path.to_string(),
        chain,
        variant,
    }
}

fn classify(path: &str) -> IptablesVariant {
    let base = path.rsplit('/').next().unwrap_or(path);
    if base.contains("nft") {
        IptablesVariant::Nft
    } else if base.contains("legacy") {
        IptablesVariant::Legacy
    } else {
        IptablesVariant::Unknown
    }
}

fn first_existing(root: &HostRoot, name: &str) -> CommandLink {
    let candidates = [
        format!("/usr/sbin/{name}"),
        format!("/sbin/{name}"),
        format!("/usr/bin/{name}"),
    ];
    candidates
        .iter()
        .find(|c| root.exists(c.as_str()))
        .map(|c| resolve_chain(root, c))
        .unwrap_or_else(|| resolve_chain(root, &candidates[0]))
}

pub fn probe_alternatives(root: &HostRoot) -> AlternativesReport {
    let alt = "/etc/alternatives/iptables";
    let alternative = root.exists(alt).then(|| resolve_chain(root, alt));
    let iptables = first_existing(root, "iptables");
    let ip6tables = first_existing(root, "ip6tables");
    AlternativesReport {
        variant: iptables.variant,
        alternative,
        iptables,
        ip6tables,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::root::testing::FakeTree;

    #[test]
    fn debian_alternatives_to_nft_and_legacy() {
        let t = FakeTree::new();
        t.file("/usr/sbin/xtables-nft-multi", "ELF")
            .file("/usr/sbin/xtables-legacy-multi", "ELF")
            .link("/usr/sbin/iptables-nft", "xtables-nft-multi")
            .link("/usr/sbin/ip6tables-legacy", "xtables-legacy-multi")
            .link("/etc/alternatives/iptables", "/usr/sbin/iptables-nft")
            .link("/etc/alternatives/ip6tables", "/usr/sbin/ip6tables-legacy")
            .link("/usr/sbin/iptables", "/etc/alternatives/iptables")
            .link("/usr/sbin/ip6tables", "/etc/alternatives/ip6tables");
        let r = probe_alternatives(&t.root());
        assert_eq!(r.variant, IptablesVariant::Nft);
        assert_eq!(
            r.iptables.chain,
            [
                "/usr/sbin/iptables",
                "/etc/alternatives/iptables",
                "/usr/sbin/iptables-nft",
                "/usr/sbin/xtables-nft-multi"
            ]
        );
        assert_eq!(r.alternative.unwrap().variant, IptablesVariant::Nft);
        assert_eq!(r.ip6tables.variant, IptablesVariant::Legacy);
    }

    #[test]
    fn absent_plain_dangling_and_loops() {
        let t = FakeTree::new();
        let r = probe_alternatives(&t.root());
        assert_eq!(r.variant, IptablesVariant::Absent);
        assert!(r.alternative.is_none());

        t.file("/sbin/iptables", "ELF")
            .link("/usr/sbin/ip6tables", "/nowhere");
        let r = probe_alternatives(&t.root());
        assert_eq!(r.iptables.path, "/sbin/iptables");
        assert_eq!(r.variant, IptablesVariant::Unknown);
        assert_eq!(r.ip6tables.variant, IptablesVariant::Unknown);

        t.link("/usr/sbin/a", "b").link("/usr/sbin/b", "a");
        let c = resolve_chain(&t.root(), "/usr/sbin/a");
        assert_eq!(c.chain.len(), 17);
    }
}
