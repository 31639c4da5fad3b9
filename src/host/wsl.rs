//! Windows Subsystem for Linux: detected from the kernel release (and
//! `/proc/version`), with the WSL interop markers as supporting evidence.

use super::root::HostRoot;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WslReport {
    pub is_wsl: bool,
    /// 1 (no real netfilter: Docker cannot work) or 2 (a real kernel).
    pub version: Option<u8>,
    pub kernel_release: Option<String>,
    /// What gave it away.
    pub evidence: Vec<String>,
}

pub fn probe_wsl(root: &HostRoot) -> WslReport {
    let release = root.kernel_release();
    let version_text = root.read_value("/proc/version").unwrap_or_default();
    let mut evidence = Vec::new();
    let rel_lower = release.as_deref().unwrap_or("").to_ascii_lowercase();
    let mut version = None;
    if rel_lower.contains("microsoft") {
        evidence.push(format!(
            "kernel release {}",
            release.as_deref().unwrap_or_default()
        ));
        // WSL2 kernels: "5.15.90.1-microsoft-standard-WSL2"; WSL1 reports
        // a fake "4.4.0-19041-Microsoft".
        version = Some(
            if rel_lower.contains("wsl2") || rel_lower.contains("microsoft-standard") {
                2
            } else {
                1
            },
        );
    } else if version_text.to_ascii_lowercase().contains("microsoft") {
        evidence.push("/proc/version mentions Microsoft".into());
        version = Some(2);
    }
    for marker in ["/proc/sys/fs/binfmt_misc/WSLInterop", "/run/WSL"] {
        if root.exists(marker) {
            evidence.push(marker.to_string());
        }
    }
    let is_wsl = version.is_some() || !evidence.is_empty();
    if is_wsl && version.is_none() {
        version = Some(2);
    }
    WslReport {
        is_wsl,
        version,
        kernel_release: release,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::root::testing::FakeTree;

    #[test]
    fn wsl2_wsl1_and_not_wsl() {
        let t = FakeTree::new();
        t.file(
            "/proc/sys/kernel/osrelease",
            "5.15.153.1-microsoft-standard-WSL2\n",
        )
        .file("/proc/sys/fs/binfmt_misc/WSLInterop", "enabled\n");
        let r = probe_wsl(&t.root());
        assert!(r.is_wsl);
        assert_eq!(r.version, Some(2));
        assert_eq!(r.evidence.len(), 2);

        let t = FakeTree::new();
        t.file("/proc/sys/kernel/osrelease", "4.4.0-19041-Microsoft\n");
        assert_eq!(probe_wsl(&t.root()).version, Some(1));

        let t = FakeTree::new();
        t.file("/proc/sys/kernel/osrelease", "6.18.44-fc-v782\n")
            .file("/proc/version", "Linux version 6.18.44 (gcc)\n");
        let r = probe_wsl(&t.root());
        assert!(!r.is_wsl && r.version.is_none() && r.evidence.is_empty());
    }
}
