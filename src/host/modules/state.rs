//! What this host has: the module database and kernel config read through
//! a [`HostRoot`], and the state of each module Docker's rules need.

use super::decompress::decompress_limited;
use super::index::{
    normalize, parse_builtin_modinfo, parse_kernel_config, parse_modules_alias,
    parse_modules_builtin, parse_modules_dep, parse_proc_modules, AliasTable, Compression,
    KernelConfig, LoadedModule, ModulesDep,
};
use super::{NeededBy, RequiredModule, REQUIRED_MODULES};
use crate::host::root::HostRoot;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Everything known about the host's modules, read once.
#[derive(Debug, Clone, Default)]
pub struct ModuleIndex {
    pub kernel_release: Option<String>,
    /// `/lib/modules/RELEASE` (or `/usr/lib/modules/RELEASE`), if present.
    pub module_dir: Option<String>,
    pub dep: ModulesDep,
    pub alias: AliasTable,
    /// From `modules.builtin` and `modules.builtin.modinfo`.
    pub builtin: BTreeSet<String>,
    pub builtin_alias: AliasTable,
    pub config: Option<KernelConfig>,
    /// Where the kernel config came from (`/proc/config.gz`, `/boot/config-…`).
    pub config_source: Option<String>,
    /// `/proc/modules`, when the file exists.
    pub loaded: Option<BTreeMap<String, LoadedModule>>,
    /// Problems met while reading (unreadable or corrupt files).
    pub errors: Vec<String>,
}

impl ModuleIndex {
    /// Reads the module database, kernel config and `/proc/modules`.
    pub fn load(root: &HostRoot) -> ModuleIndex {
        let mut idx = ModuleIndex {
            kernel_release: root.kernel_release(),
            ..ModuleIndex::default()
        };
        if let Some(rel) = idx.kernel_release.clone() {
            for base in ["/lib/modules", "/usr/lib/modules"] {
                let dir = format!("{base}/{rel}");
                if root.is_dir(&dir) {
                    idx.module_dir = Some(dir);
                    break;
                }
            }
        }
        if let Some(dir) = idx.module_dir.clone() {
            let mut read = |name: &str| -> Option<String> {
                match root.read_string(format!("{dir}/{name}")) {
                    Ok(t) => Some(t),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => {
                        idx.errors.push(format!("{dir}/{name}: {e}"));
                        None
                    }
                }
            };
            if let Some(t) = read("modules.dep") {
                idx.dep = parse_modules_dep(&t);
            }
            if let Some(t) = read("modules.alias") {
                idx.alias = parse_modules_alias(&t);
            }
            if let Some(t) = read("modules.builtin") {
                idx.builtin = parse_modules_builtin(&t);
            }
            if let Ok(b) = root.read_bytes(format!("{dir}/modules.builtin.modinfo")) {
                let (names, aliases) = parse_builtin_modinfo(&b);
                idx.builtin.extend(names);
                idx.builtin_alias = aliases;
            }
        }
        idx.read_config(root);
        match root.read_string("/proc/modules") {
            Ok(t) => idx.loaded = Some(parse_proc_modules(&t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => idx.errors.push(format!("/proc/modules: {e}")),
        }
        idx
    }

    fn read_config(&mut self, root: &HostRoot) {
        match root.read_bytes("/proc/config.gz") {
            Ok(gz) => match decompress_limited(Compression::Gzip, &gz, 64 << 20) {
                Ok(text) => {
                    self.config = Some(parse_kernel_config(&String::from_utf8_lossy(&text)));
                    self.config_source = Some("/proc/config.gz".into());
                    return;
                }
                Err(e) => self.errors.push(format!("/proc/config.gz: {e}")),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => self.errors.push(format!("/proc/config.gz: {e}")),
        }
        if let Some(rel) = &self.kernel_release {
            let path = format!("/boot/config-{rel}");
            if let Ok(text) = root.read_string(&path) {
                self.config = Some(parse_kernel_config(&text));
                self.config_source = Some(path);
            }
        }
    }

    /// `CONFIG_MODULES`: `Some(false)` for a kernel without module support.
    /// Without a config, a present `/proc/modules` means support.
    pub fn kernel_has_modules(&self) -> Option<bool> {
        match self.config.as_ref().and_then(|c| c.get("MODULES")) {
            Some(v) => Some(v != "n"),
            None if self.loaded.is_some() => Some(true),
            None => None,
        }
    }

    /// The module an alias or name resolves to: itself when the database or
    /// config knows it, else through `modules.alias` and the built-in
    /// aliases. Empty when nothing matches.
    pub fn resolve(&self, name: &str) -> Vec<String> {
        let n = normalize(name);
        if self.dep.entries.contains_key(&n) || self.builtin.contains(&n) {
            return vec![n];
        }
        let via = self.alias.resolve(name);
        if !via.is_empty() {
            return via;
        }
        self.builtin_alias.resolve(name)
    }
}

/// The state of one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleState {
    /// Compiled into the kernel: always there, nothing to load.
    BuiltIn,
    /// Loaded (listed in `/proc/modules` or with `initstate` `live`/`coming`).
    Loaded,
    /// Not loaded, but its file is on disk: `modules load` can load it.
    Available,
    /// Neither built in, loaded nor on disk.
    Missing,
    /// Not enough information to tell (no config, no module database).
    Unknown,
}

/// One module's row in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleStatus {
    pub name: String,
    pub needed_by: NeededBy,
    pub purpose: String,
    pub state: ModuleState,
    /// What the verdict rests on, e.g. `CONFIG_NF_TABLES=y (/proc/config.gz)`.
    pub evidence: String,
    /// When the name is provided by another module (an alias, a merged
    /// module), that module.
    pub provided_by: Option<String>,
    /// The module file (absolute host path), when on disk.
    pub file: Option<String>,
    pub compression: Option<Compression>,
    /// `/sys/module/NAME/initstate` when present.
    pub initstate: Option<String>,
}

/// The state of every module in [`REQUIRED_MODULES`].
pub fn probe_required(root: &HostRoot, idx: &ModuleIndex) -> Vec<ModuleStatus> {
    REQUIRED_MODULES
        .iter()
        .map(|r| module_status(root, idx, r))
        .collect()
}

/// The state of one module.
pub fn module_status(root: &HostRoot, idx: &ModuleIndex, req: &RequiredModule) -> ModuleStatus {
    let name = normalize(req.name);
    let mut st = ModuleStatus {
        name: req.name.to_string(),
        needed_by: req.needed_by,
        purpose: req.purpose.to_string(),
        state: ModuleState::Unknown,
        evidence: String::new(),
        provided_by: None,
        file: None,
        compression: None,
        initstate: None,
    };
    // The module that provides this name (itself, or via an alias).
    let target = {
        let r = idx.resolve(req.name);
        match r.first() {
            Some(t) if *t != name => {
                st.provided_by = Some(t.clone());
                t.clone()
            }
            _ => name.clone(),
        }
    };
    let sys = format!("/sys/module/{target}");
    st.initstate = root.read_value(format!("{sys}/initstate")).ok();

    if let Some(m) = idx.loaded.as_ref().and_then(|l| l.get(&target)) {
        st.state = ModuleState::Loaded;
        st.evidence = format!("/proc/modules ({})", m.state);
    } else if matches!(st.initstate.as_deref(), Some("live") | Some("coming")) {
        st.state = ModuleState::Loaded;
        st.evidence = format!("{sys}/initstate");
    } else if idx.builtin.contains(&target) {
        st.state = ModuleState::BuiltIn;
        st.evidence = "modules.builtin".into();
    } else if let Some((sym, v)) = config_value(idx, req) {
        let src = idx.config_source.as_deref().unwrap_or("kernel config");
        match v.as_str() {
            "y" => {
                st.state = ModuleState::BuiltIn;
                st.evidence = format!("CONFIG_{sym}=y ({src})");
            }
            "m" => st.evidence = format!("CONFIG_{sym}=m ({src})"),
            _ => {
                st.state = ModuleState::Missing;
                st.evidence = format!("CONFIG_{sym} is not set ({src})");
            }
        }
    }
    if matches!(st.state, ModuleState::Unknown) {
        if let Some(entry) = idx.dep.get(&target) {
            let file = module_file(idx, &entry.path);
            if root.exists(&file) {
                st.state = ModuleState::Available;
                st.compression = Some(Compression::from_path(&entry.path));
                st.evidence = join_evidence(&st.evidence, "modules.dep");
            } else {
                st.state = ModuleState::Missing;
                st.evidence =
                    join_evidence(&st.evidence, "listed in modules.dep but the file is gone");
            }
            st.file = Some(file);
        } else if idx.module_dir.is_some() || idx.config.is_some() {
            st.state = ModuleState::Missing;
            let why = if idx.module_dir.is_some() {
                "not in modules.dep or modules.builtin"
            } else {
                "no module directory for this kernel"
            };
            st.evidence = join_evidence(&st.evidence, why);
        } else if root.is_dir(&sys) {
            // A built-in with parameters has /sys/module/NAME but no initstate.
            st.state = ModuleState::BuiltIn;
            st.evidence = format!("{sys} without initstate");
        } else {
            st.evidence = "no kernel config, module database or /proc/modules to go by".into();
        }
    }
    st
}

fn join_evidence(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}; {b}")
    }
}

/// The first config symbol of `req` that the configuration mentions.
fn config_value(idx: &ModuleIndex, req: &RequiredModule) -> Option<(String, String)> {
    let cfg = idx.config.as_ref()?;
    req.config
        .iter()
        .find_map(|s| cfg.get(s).map(|v| (s.to_string(), v.to_string())))
}

/// A `modules.dep` path as an absolute host path.
pub fn module_file(idx: &ModuleIndex, dep_path: &str) -> String {
    if dep_path.starts_with('/') {
        dep_path.to_string()
    } else {
        format!(
            "{}/{dep_path}",
            idx.module_dir.as_deref().unwrap_or("/lib/modules")
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::decompress::tests::gzip;
    use super::super::required;
    use super::*;
    use crate::host::root::testing::FakeTree;

    /// A modular host: nf_tables loaded, nft_compat and xt_nat on disk
    /// (compressed), bridge built in, veth absent.
    pub(crate) fn modular_tree() -> FakeTree {
        let t = FakeTree::new();
        let d = "/lib/modules/6.1.0-test";
        t.file("/proc/sys/kernel/osrelease", "6.1.0-test\n")
            .file(
                &format!("{d}/modules.dep"),
                "kernel/net/netfilter/x_tables.ko.xz:\n\
                 kernel/net/netfilter/nf_tables.ko.zst: kernel/net/netfilter/nfnetlink.ko.zst\n\
                 kernel/net/netfilter/nfnetlink.ko.zst:\n\
                 kernel/net/netfilter/nft_compat.ko.zst: kernel/net/netfilter/nf_tables.ko.zst kernel/net/netfilter/nfnetlink.ko.zst kernel/net/netfilter/x_tables.ko.xz\n\
                 kernel/net/netfilter/xt_MASQUERADE.ko.gz: kernel/net/netfilter/nf_nat.ko kernel/net/netfilter/x_tables.ko.xz\n\
                 kernel/net/netfilter/nf_nat.ko: kernel/net/netfilter/nf_conntrack.ko\n\
                 kernel/net/netfilter/nf_conntrack.ko:\n\
                 kernel/net/netfilter/xt_nat.ko.zst: kernel/net/netfilter/nf_nat.ko kernel/net/netfilter/nf_conntrack.ko kernel/net/netfilter/x_tables.ko.xz\n\
                 kernel/net/netfilter/ghost.ko:\n",
            )
            .file(
                &format!("{d}/modules.alias"),
                "alias ipt_MASQUERADE xt_MASQUERADE\nalias nft-expr-match nft_compat\nalias nfnetlink-subsys-10 nf_tables\nalias ipt_SNAT xt_nat\n",
            )
            .file(&format!("{d}/modules.builtin"), "kernel/net/bridge/bridge.ko\n")
            .file(
                "/proc/modules",
                "nf_tables 356352 0 - Live 0x0000000000000000\nnfnetlink 20480 1 nf_tables, Live 0x0\n",
            )
            .file("/sys/module/nf_tables/initstate", "live\n");
        for (f, body) in [
            ("x_tables.ko.xz", "xz"),
            ("nf_tables.ko.zst", "zst"),
            ("nfnetlink.ko.zst", "zst"),
            ("nft_compat.ko.zst", "zst"),
            ("xt_MASQUERADE.ko.gz", "gz"),
            ("nf_nat.ko", "elf"),
            ("nf_conntrack.ko", "elf"),
            ("xt_nat.ko.zst", "zst"),
        ] {
            t.file(&format!("{d}/kernel/net/netfilter/{f}"), body);
        }
        t
    }

    fn status(root: &HostRoot, idx: &ModuleIndex, name: &str) -> ModuleStatus {
        module_status(root, idx, required(name).unwrap())
    }

    #[test]
    fn each_state_on_a_modular_host() {
        let t = modular_tree();
        let r = t.root();
        let idx = ModuleIndex::load(&r);
        assert_eq!(idx.module_dir.as_deref(), Some("/lib/modules/6.1.0-test"));
        assert_eq!(idx.kernel_has_modules(), Some(true));

        let s = status(&r, &idx, "nf_tables");
        assert_eq!(s.state, ModuleState::Loaded);
        assert_eq!(s.initstate.as_deref(), Some("live"));

        let s = status(&r, &idx, "bridge");
        assert_eq!(s.state, ModuleState::BuiltIn);
        assert_eq!(s.evidence, "modules.builtin");

        let s = status(&r, &idx, "nft_compat");
        assert_eq!(s.state, ModuleState::Available);
        assert_eq!(s.compression, Some(Compression::Zstd));
        assert_eq!(
            s.file.as_deref(),
            Some("/lib/modules/6.1.0-test/kernel/net/netfilter/nft_compat.ko.zst")
        );
        assert_eq!(
            status(&r, &idx, "xt_MASQUERADE").compression,
            Some(Compression::Gzip)
        );
        assert_eq!(
            status(&r, &idx, "x_tables").compression,
            Some(Compression::Xz)
        );

        let s = status(&r, &idx, "veth");
        assert_eq!(s.state, ModuleState::Missing);
        assert!(s.evidence.contains("not in modules.dep"));
    }

    #[test]
    fn file_listed_but_gone_is_missing() {
        let t = modular_tree();
        let r = t.root();
        let idx = ModuleIndex::load(&r);
        let req = RequiredModule {
            name: "ghost",
            needed_by: NeededBy::Both,
            config: &[],
            purpose: "",
        };
        let s = module_status(&r, &idx, &req);
        assert_eq!(s.state, ModuleState::Missing);
        assert!(s.evidence.contains("file is gone"));
    }

    #[test]
    fn built_in_from_proc_config_gz_without_module_support() {
        let t = FakeTree::new();
        t.file("/proc/sys/kernel/osrelease", "6.18.44-test\n").file(
            "/proc/config.gz",
            gzip(b"CONFIG_NF_TABLES=y\nCONFIG_NFT_COMPAT=y\nCONFIG_IP_NF_IPTABLES_LEGACY=y\nCONFIG_IP_NF_IPTABLES=m\n# CONFIG_VETH is not set\n# CONFIG_MODULES is not set\n"),
        );
        let r = t.root();
        let idx = ModuleIndex::load(&r);
        assert_eq!(idx.config_source.as_deref(), Some("/proc/config.gz"));
        assert_eq!(idx.kernel_has_modules(), Some(false));
        let s = status(&r, &idx, "nf_tables");
        assert_eq!(s.state, ModuleState::BuiltIn);
        assert_eq!(s.evidence, "CONFIG_NF_TABLES=y (/proc/config.gz)");
        // The first symbol the config mentions decides (6.18 legacy split).
        assert_eq!(status(&r, &idx, "ip_tables").state, ModuleState::BuiltIn);
        let s = status(&r, &idx, "veth");
        assert_eq!(s.state, ModuleState::Missing);
        assert!(s.evidence.contains("CONFIG_VETH is not set"));
        // =m but no module directory: missing.
        let s = status(&r, &idx, "ip6_tables");
        assert_eq!(s.state, ModuleState::Missing, "{s:?}");
    }

    #[test]
    fn boot_config_and_corrupt_config_gz() {
        let t = FakeTree::new();
        t.file("/proc/sys/kernel/osrelease", "5.10.0-x\n")
            .file("/proc/config.gz", b"not gzip at all")
            .file("/boot/config-5.10.0-x", "CONFIG_VETH=m\nCONFIG_MODULES=y\n");
        let idx = ModuleIndex::load(&t.root());
        assert_eq!(idx.config_source.as_deref(), Some("/boot/config-5.10.0-x"));
        assert_eq!(idx.errors.len(), 1, "{:?}", idx.errors);
        let s = status(&t.root(), &idx, "veth");
        assert_eq!(s.state, ModuleState::Missing);
        assert!(s.evidence.starts_with("CONFIG_VETH=m"));
    }

    #[test]
    fn nothing_to_go_by_is_unknown_unless_sysfs_shows_it() {
        let t = FakeTree::new();
        t.dir("/sys/module/bridge/parameters");
        let r = t.root();
        let idx = ModuleIndex::load(&r);
        assert_eq!(idx.kernel_has_modules(), None);
        assert_eq!(status(&r, &idx, "bridge").state, ModuleState::BuiltIn);
        assert_eq!(status(&r, &idx, "veth").state, ModuleState::Unknown);
    }

    #[test]
    fn aliases_name_the_providing_module() {
        let t = modular_tree();
        let r = t.root();
        let idx = ModuleIndex::load(&r);
        assert_eq!(idx.resolve("ipt_MASQUERADE"), ["xt_MASQUERADE"]);
        assert_eq!(idx.resolve("nft-expr-match"), ["nft_compat"]);
        assert_eq!(idx.resolve("nf-tables"), ["nf_tables"]);
        assert!(idx.resolve("nope").is_empty());
    }
}
