//! `nfdoctor restore` against `iptables-restore`: for every Docker fixture
//! and every corpus file, on each back end, in fresh namespaces, the real
//! `iptables-save` must print the same ruleset after either tool loaded it;
//! `iptables -S` must list every table (no "incompatible" error), and
//! `iptables -C` / `iptables -D` with each rule's own spec must find and
//! delete every rule we wrote.

#![allow(clippy::unwrap_used)]

mod support;
use std::path::{Path, PathBuf};
use support::sandbox;

fn inputs() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        sandbox::fixtures_dir(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"),
    ] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rules" || x == "rules6") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn setup_lines(file: &Path) -> String {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("#! "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `iptables-save` after loading `file` with `loader` (a shell command
/// reading the file from `$F`).
fn saved_after(file: &Path, loader: &str, save: &str) -> Result<String, String> {
    let script = format!(
        "{setup}F='{f}'\n{loader}\n{save}\n",
        setup = setup_lines(file),
        f = file.display()
    );
    let out = sandbox::run(&script);
    if !out.status.success() {
        return Err(format!(
            "{loader} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(sandbox::without_comments(&String::from_utf8_lossy(
        &out.stdout,
    )))
}

/// After our restore: every listed rule can be checked and deleted by the
/// real iptables, and the table is then empty of rules.
fn deletable(file: &Path, cmd: &str, backend: &str, flag: &str) -> Result<(), String> {
    let script = format!(
        "{setup}\"$NFDOCTOR\" restore {flag} --backend {backend} '{f}'\n\
         for t in filter nat mangle raw security; do\n\
           {cmd}-{backend} -t $t -S >/dev/null 2>&1 || continue\n\
           {cmd}-{backend} -t $t -S | grep '^-A ' | while read -r line; do\n\
             eval \"{cmd}-{backend} -t $t -C ${{line#-A }}\" || {{ echo \"-C failed: $t $line\" >&2; exit 1; }}\n\
             eval \"{cmd}-{backend} -t $t -D ${{line#-A }}\" || {{ echo \"-D failed: $t $line\" >&2; exit 1; }}\n\
           done\n\
           left=$({cmd}-{backend} -t $t -S | grep -c '^-A ' || true)\n\
           [ \"$left\" = 0 ] || {{ echo \"$left rules left in $t\" >&2; exit 1; }}\n\
         done\n",
        setup = setup_lines(file),
        f = file.display()
    );
    let out = sandbox::run(&script);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn check(backend: &str) {
    if !sandbox::available() {
        return;
    }
    let mut failures = Vec::new();
    for file in inputs() {
        let legacy_only = file.to_string_lossy().contains(".legacy.");
        if legacy_only && backend == "nft" {
            continue;
        }
        let v6 = file.extension().is_some_and(|x| x == "rules6");
        let (cmd, flag) = if v6 {
            ("ip6tables", "-6")
        } else {
            ("iptables", "-4")
        };
        let save = format!("{cmd}-{backend}-save");
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let theirs = saved_after(
            &file,
            &format!("grep -v '^#' \"$F\" | {cmd}-{backend}-restore"),
            &save,
        );
        let ours = saved_after(
            &file,
            &format!("\"$NFDOCTOR\" restore {flag} --backend {backend} \"$F\""),
            &save,
        );
        match (theirs, ours) {
            (Ok(a), Ok(b)) if a == b => {}
            (Ok(a), Ok(b)) => {
                failures.push(format!("{name} ({backend}):\n{}", sandbox::diff(&a, &b)))
            }
            (Err(e), _) => failures.push(format!("{name} ({backend}): oracle: {e}")),
            (_, Err(e)) => failures.push(format!("{name} ({backend}): {e}")),
        }
        if let Err(e) = deletable(&file, cmd, backend, flag) {
            failures.push(format!("{name} ({backend}): iptables -C/-D: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn nft_restore_matches_iptables_restore() {
    check("nft");
}
