//! `nfdoctor restore` against `iptables-restore`: for every Docker fixture
//! and every corpus file, on each back end, in fresh namespaces, the real
//! `iptables-save` must print the same ruleset after either tool loaded it;
//! and `iptables -C` / `iptables -D` with each rule's own spec must find
//! and delete every rule we wrote (which also proves iptables can list the
//! tables: no "incompatible" error).

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

/// Loads `file` with `loader`, then checks (`-C`) and deletes (`-D`) every
/// listed rule with the real iptables and its own spec; returns the lines
/// that failed. The commands go through `iptables-restore --noflush`, whose
/// parser takes iptables-save's quoting. Some rules fail even when
/// iptables wrote them (its save text is lossy for a few extensions, e.g.
/// two CONNMARK spellings print alike), so callers compare with the
/// oracle's own failures.
fn undeletable(file: &Path, loader: &str, cmd: &str, backend: &str) -> Result<Vec<String>, String> {
    let script = format!(
        r#"{setup}F='{f}'
{loader}
{cmd}-{backend}-save > "$TMPDIR/saved"
t=""
while IFS= read -r line; do
  case "$line" in
    '*'*) t=${{line#\*}} ;;
    '-A '*)
      for op in -C -D; do
        if ! printf '%s\n' "*$t" "$op ${{line#-A }}" COMMIT | {cmd}-{backend}-restore --noflush 2>"$TMPDIR/err"; then
          echo "$op $t $line"
          break
        fi
      done ;;
  esac
done < "$TMPDIR/saved"
"#,
        setup = setup_lines(file),
        f = file.display()
    );
    let scratch = sandbox::Scratch::new("deletable");
    let script = format!("TMPDIR='{}'\n{script}", scratch.dir.display());
    let out = sandbox::run(&script);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
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
        let oracle_loader = format!("grep -v '^#' \"$F\" | {cmd}-{backend}-restore");
        let our_loader = format!("\"$NFDOCTOR\" restore {flag} --backend {backend} \"$F\"");
        match (
            undeletable(&file, &oracle_loader, cmd, backend),
            undeletable(&file, &our_loader, cmd, backend),
        ) {
            (Ok(theirs), Ok(ours)) => {
                let extra: Vec<_> = ours.iter().filter(|l| !theirs.contains(l)).collect();
                if !extra.is_empty() {
                    failures.push(format!("{name} ({backend}): iptables cannot -C/-D these rules we wrote:\n{extra:#?}"));
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                failures.push(format!("{name} ({backend}): -C/-D run: {e}"))
            }
        }
        match (theirs, ours) {
            (Ok(a), Ok(b)) if a == b => {}
            (Ok(a), Ok(b)) => {
                failures.push(format!("{name} ({backend}):\n{}", sandbox::diff(&a, &b)))
            }
            (Err(e), _) => failures.push(format!("{name} ({backend}): oracle: {e}")),
            (_, Err(e)) => failures.push(format!("{name} ({backend}): {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn nft_restore_matches_iptables_restore() {
    check("nft");
}

#[test]
fn legacy_restore_matches_iptables_restore() {
    check("legacy");
}
