//! The extension corpus: every `tests/corpus/*.rules` (IPv4) and
//! `*.rules6` (IPv6) file is an iptables-restore file covering typed
//! extensions with inversions, ranges, lists and IPv6 forms. Each is loaded
//! with the real `iptables-restore` of each back end in a fresh namespace,
//! and `nfdoctor save` must print exactly what `iptables-save` prints.
//!
//! Lines starting with `#! ` are shell commands run before loading (e.g.
//! `#! ipset create myset hash:ip`). Files named `*.legacy.rules[6]` hold
//! forms only the legacy back end accepts.

#![allow(clippy::unwrap_used)]

mod support;
use std::path::{Path, PathBuf};
use support::sandbox as netns;

fn corpus_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rules" || x == "rules6"))
        .collect();
    files.sort();
    files
}

fn compare(file: &Path, backend: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let setup: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("#! "))
        .map(|l| format!("{l}\n"))
        .collect();
    let v6 = file.extension().is_some_and(|x| x == "rules6");
    let (cmd, flag) = if v6 {
        ("ip6tables", "-6")
    } else {
        ("iptables", "-4")
    };
    let script = format!(
        "{setup}{cmd}-{backend}-restore '{f}'\n\
         echo '=== iptables'; {cmd}-{backend}-save\n\
         echo '=== nfdoctor'; \"$NFDOCTOR\" save {flag} --backend {backend}\n",
        f = file.display()
    );
    let out = netns::run(&script);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "script failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            stdout
        ));
    }
    let (ipt, ours) = stdout
        .split_once("=== nfdoctor\n")
        .ok_or("missing marker")?;
    let ipt = netns::without_comments(ipt.trim_start_matches("=== iptables\n"));
    if ipt != ours {
        return Err(netns::diff(&ipt, ours));
    }
    Ok(())
}

#[test]
fn every_corpus_rule_prints_like_iptables_save() {
    if !netns::available() {
        return;
    }
    let files = corpus_files();
    assert!(!files.is_empty(), "no corpus files");
    let mut failures = Vec::new();
    for file in &files {
        let legacy_only = file.to_string_lossy().contains(".legacy.");
        for backend in ["nft", "legacy"] {
            if legacy_only && backend == "nft" {
                continue;
            }
            if let Err(e) = compare(file, backend) {
                failures.push(format!("{} ({backend}):\n{e}", file.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
