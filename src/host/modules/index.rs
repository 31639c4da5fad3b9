//! Pure parsers for the module database under `/lib/modules/$(uname -r)`
//! (`modules.dep`, `modules.alias`, `modules.builtin`,
//! `modules.builtin.modinfo`) and for the kernel configuration. No I/O.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Module names compare with `-` and `_` equal; this is the `_` form.
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// How a module file is compressed, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
}

impl Compression {
    pub fn from_path(path: &str) -> Compression {
        if path.ends_with(".ko.gz") {
            Compression::Gzip
        } else if path.ends_with(".ko.xz") {
            Compression::Xz
        } else if path.ends_with(".ko.zst") {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// `kernel/net/netfilter/xt_nat.ko.zst` → `xt_nat`.
pub fn module_name_from_path(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stem = [".ko.gz", ".ko.xz", ".ko.zst", ".ko"]
        .iter()
        .find_map(|ext| base.strip_suffix(ext))
        .unwrap_or(base);
    normalize(stem)
}

/// One `modules.dep` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepEntry {
    /// The module file, relative to the module directory (or absolute, as
    /// old module-init-tools wrote it).
    pub path: String,
    /// Its dependencies' files, in the file's order: load right to left.
    pub deps: Vec<String>,
}

/// `modules.dep`: module name → file and dependencies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModulesDep {
    pub entries: BTreeMap<String, DepEntry>,
}

impl ModulesDep {
    pub fn get(&self, name: &str) -> Option<&DepEntry> {
        self.entries.get(&normalize(name))
    }
}

pub fn parse_modules_dep(text: &str) -> ModulesDep {
    let mut entries = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((path, deps)) = line.split_once(':') else {
            continue;
        };
        let path = path.trim();
        if path.is_empty() {
            continue;
        }
        entries.insert(
            module_name_from_path(path),
            DepEntry {
                path: path.to_string(),
                deps: deps.split_whitespace().map(str::to_string).collect(),
            },
        );
    }
    ModulesDep { entries }
}

/// `alias PATTERN MODULE` lines (from `modules.alias`, or `mod.alias=` of
/// `modules.builtin.modinfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AliasTable {
    /// (glob pattern, module name), in file order.
    pub entries: Vec<(String, String)>,
}

impl AliasTable {
    /// The modules whose aliases match `name`, in file order, without
    /// duplicates. Patterns are compared as written and with `-`/`_`
    /// normalised, as kmod does.
    pub fn resolve(&self, name: &str) -> Vec<String> {
        let norm = normalize(name);
        let mut out: Vec<String> = Vec::new();
        for (pattern, module) in &self.entries {
            if (fnmatch(pattern, name) || fnmatch(&normalize(pattern), &norm))
                && !out.contains(module)
            {
                out.push(module.clone());
            }
        }
        out
    }
}

pub fn parse_modules_alias(text: &str) -> AliasTable {
    let entries = text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            match (it.next(), it.next(), it.next()) {
                (Some("alias"), Some(p), Some(m)) => Some((p.to_string(), normalize(m))),
                _ => None,
            }
        })
        .collect();
    AliasTable { entries }
}

/// `modules.builtin`: one path per line → module names.
pub fn parse_modules_builtin(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(module_name_from_path)
        .collect()
}

/// `modules.builtin.modinfo`: NUL-separated `module.key=value` records.
/// Returns the module names seen and their `alias` records.
pub fn parse_builtin_modinfo(bytes: &[u8]) -> (BTreeSet<String>, AliasTable) {
    let mut names = BTreeSet::new();
    let mut aliases = Vec::new();
    for rec in bytes.split(|&b| b == 0) {
        let Ok(rec) = std::str::from_utf8(rec) else {
            continue;
        };
        let Some((key, value)) = rec.split_once('=') else {
            continue;
        };
        let Some((module, field)) = key.split_once('.') else {
            continue;
        };
        if module.is_empty() {
            continue;
        }
        let module = normalize(module);
        if field == "alias" {
            aliases.push((value.to_string(), module.clone()));
        }
        names.insert(module);
    }
    (names, AliasTable { entries: aliases })
}

/// fnmatch(3) without flags: `*`, `?`, `[...]` (with `!`/`^` negation and
/// ranges), and `\` escapes. Iterative, so hostile patterns cannot recurse
/// deeply.
pub fn fnmatch(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class_match(&p, pi, t[ti]) {
                        if matched {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        // An unterminated class is a literal '['.
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                '\\' if pi + 1 < p.len() => {
                    if p[pi + 1] == t[ti] {
                        pi += 2;
                        ti += 1;
                        continue;
                    }
                }
                c => {
                    if c == t[ti] {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `p[start] == '['`; returns
/// whether it matched and the index after `]`, or `None` if unterminated.
fn class_match(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

/// A kernel configuration (`.config` text): `CONFIG_X=y|m|value`, and
/// `# CONFIG_X is not set` recorded as `n`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelConfig {
    pub values: BTreeMap<String, String>,
}

impl KernelConfig {
    /// The value of `symbol` (with or without the `CONFIG_` prefix).
    pub fn get(&self, symbol: &str) -> Option<&str> {
        let key = if symbol.starts_with("CONFIG_") {
            symbol.to_string()
        } else {
            format!("CONFIG_{symbol}")
        };
        self.values.get(&key).map(String::as_str)
    }

    pub fn is_set(&self, symbol: &str) -> bool {
        matches!(self.get(symbol), Some(v) if v != "n")
    }
}

pub fn parse_kernel_config(text: &str) -> KernelConfig {
    let mut values = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("# ") {
            if let Some(sym) = rest.strip_suffix(" is not set") {
                if sym.starts_with("CONFIG_") && !sym.contains(' ') {
                    values.insert(sym.to_string(), "n".to_string());
                }
            }
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.starts_with("CONFIG_") {
                values.insert(k.to_string(), v.trim_matches('"').to_string());
            }
        }
    }
    KernelConfig { values }
}

/// One `/proc/modules` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadedModule {
    pub name: String,
    /// `Live`, `Loading` or `Unloading`.
    pub state: String,
    /// Modules that use this one.
    pub used_by: Vec<String>,
}

/// `/proc/modules`: `name size refcnt deps state addr`.
pub fn parse_proc_modules(text: &str) -> BTreeMap<String, LoadedModule> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let name = normalize(f.first()?);
            let used_by = f
                .get(3)
                .map(|d| {
                    d.split(',')
                        .filter(|x| !x.is_empty() && *x != "-")
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let state = f.get(4).unwrap_or(&"Live").to_string();
            Some((
                name.clone(),
                LoadedModule {
                    name,
                    state,
                    used_by,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_compression() {
        assert_eq!(
            module_name_from_path("kernel/net/netfilter/xt_nat.ko.zst"),
            "xt_nat"
        );
        assert_eq!(module_name_from_path("/lib/x/nf-nat.ko"), "nf_nat");
        assert_eq!(Compression::from_path("a.ko.xz"), Compression::Xz);
        assert_eq!(Compression::from_path("a.ko"), Compression::None);
    }

    #[test]
    fn modules_dep_lines() {
        let d = parse_modules_dep(
            "kernel/net/netfilter/nft_compat.ko.zst: kernel/net/netfilter/x_tables.ko.zst kernel/net/netfilter/nf_tables.ko.zst\n\
             garbage line\n: nothing\nkernel/net/bridge/bridge.ko:\n",
        );
        assert_eq!(d.entries.len(), 2);
        let e = d.get("nft-compat").unwrap();
        assert_eq!(e.deps.len(), 2);
        assert!(d.get("bridge").unwrap().deps.is_empty());
    }

    #[test]
    fn aliases_with_globs() {
        let a = parse_modules_alias(
            "# Aliases extracted from modules themselves.\n\
             alias ipt_MASQUERADE xt_MASQUERADE\n\
             alias nft-expr-masq nft_masq\n\
             alias nfnetlink-subsys-10 nf_tables\n\
             alias net-pf-16-proto-12 nfnetlink\n\
             alias pci:v00008086d*sv*sd*bc*sc*i* e1000\n",
        );
        assert_eq!(a.resolve("ipt_MASQUERADE"), ["xt_MASQUERADE"]);
        assert_eq!(a.resolve("nft_expr_masq"), ["nft_masq"]);
        assert_eq!(
            a.resolve("pci:v00008086d00001234sv0sd0bc02sc00i00"),
            ["e1000"]
        );
        assert!(a.resolve("nope").is_empty());
    }

    #[test]
    fn fnmatch_cases() {
        assert!(fnmatch("a*b?c", "axxxbyc"));
        assert!(fnmatch("[a-c]x", "bx"));
        assert!(!fnmatch("[!a-c]x", "bx"));
        assert!(fnmatch("*", ""));
        assert!(!fnmatch("a", "ab"));
        assert!(fnmatch("\\*", "*"));
        assert!(fnmatch("[", "["));
        // Pathological pattern stays linear-ish and terminates.
        assert!(!fnmatch(&"*a".repeat(50), &"a".repeat(40)));
    }

    #[test]
    fn builtin_lists_and_modinfo() {
        let b = parse_modules_builtin(
            "kernel/net/netfilter/nf_tables.ko\nkernel/net/bridge/br_netfilter.ko\n",
        );
        assert!(b.contains("nf_tables") && b.contains("br_netfilter"));
        let (names, aliases) = parse_builtin_modinfo(
            b"nf_tables.alias=nfnetlink-subsys-10\0nf_tables.license=GPL\0\xff\xfe\0junk\0x_tables.alias=ipt_icmp\0",
        );
        assert!(names.contains("nf_tables") && names.contains("x_tables"));
        assert_eq!(aliases.resolve("nfnetlink-subsys-10"), ["nf_tables"]);
    }

    #[test]
    fn kernel_config() {
        let c = parse_kernel_config(
            "#\n# Automatically generated\nCONFIG_NF_TABLES=y\nCONFIG_NFT_COMPAT=m\n# CONFIG_MODULES is not set\nCONFIG_LOCALVERSION=\"-x\"\nnonsense\n",
        );
        assert_eq!(c.get("NF_TABLES"), Some("y"));
        assert_eq!(c.get("CONFIG_NFT_COMPAT"), Some("m"));
        assert_eq!(c.get("MODULES"), Some("n"));
        assert!(!c.is_set("MODULES"));
        assert_eq!(c.get("LOCALVERSION"), Some("-x"));
        assert_eq!(c.get("VETH"), None);
    }

    #[test]
    fn proc_modules() {
        let m = parse_proc_modules(
            "xt_nat 16384 2 - Live 0x0000000000000000\nnf_nat 57344 3 xt_nat,xt_MASQUERADE, Live 0x0\nbr_netfilter 32768 0 - Loading 0x0\n",
        );
        assert_eq!(m["nf_nat"].used_by, ["xt_nat", "xt_MASQUERADE"]);
        assert_eq!(m["br_netfilter"].state, "Loading");
    }
}
