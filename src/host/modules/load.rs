//! Loading modules without modprobe: resolve names and aliases, order
//! dependencies (`modules.dep`), and load with `finit_module` — behind the
//! small [`ModuleSyscalls`] trait, so the planner and loader are tested
//! with a recording fake.
//!
//! `/etc/modprobe.d` options, blacklists and softdeps are not applied.

use super::decompress::decompress;
use super::index::{module_name_from_path, normalize, Compression};
use super::state::{module_file, ModuleIndex};
use crate::host::netns::not_enough_privilege;
use crate::host::privileges::{Capability, Privileges};
use crate::host::root::HostRoot;
use nfdoctor_sys::host::MODULE_INIT_COMPRESSED_FILE;
use serde::Serialize;
use std::collections::BTreeSet;
use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// The three module syscalls.
pub trait ModuleSyscalls {
    /// `finit_module(fd, params, flags)`.
    fn finit_module(&mut self, file: &File, params: &CStr, flags: u32) -> io::Result<()>;
    /// `init_module(image, len, params)`.
    fn init_module(&mut self, image: &[u8], params: &CStr) -> io::Result<()>;
    /// Whether loading can work at all: `finit_module(-1, "", 0)` fails
    /// with `ENOSYS` (no module support), `EPERM` (no privilege, or
    /// `modules_disabled`) before it looks at the descriptor, and `EBADF`
    /// when loading is possible. Nothing is loaded.
    fn probe(&mut self) -> io::Result<()>;
}

/// The real kernel.
#[derive(Debug, Default)]
pub struct KernelSyscalls;

impl ModuleSyscalls for KernelSyscalls {
    fn finit_module(&mut self, file: &File, params: &CStr, flags: u32) -> io::Result<()> {
        // SAFETY: the descriptor is open for the duration of the call and
        // `params` is a NUL-terminated string that outlives it.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_finit_module,
                file.as_raw_fd(),
                params.as_ptr(),
                flags as libc::c_uint,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn init_module(&mut self, image: &[u8], params: &CStr) -> io::Result<()> {
        // SAFETY: pointer and length describe `image`; `params` is
        // NUL-terminated; both outlive the call, which only reads them.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_init_module,
                image.as_ptr(),
                image.len() as libc::c_ulong,
                params.as_ptr(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn probe(&mut self) -> io::Result<()> {
        // SAFETY: an invalid descriptor and an empty parameter string: the
        // kernel checks privilege, then fails on the descriptor.
        let rc = unsafe { libc::syscall(libc::SYS_finit_module, -1, c"".as_ptr(), 0) };
        let err = io::Error::last_os_error();
        if rc >= 0 || err.raw_os_error() == Some(libc::EBADF) {
            return Ok(());
        }
        Err(err)
    }
}

/// How a requested name was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
    pub request: String,
    /// The module(s) it names; empty when unknown.
    pub modules: Vec<String>,
    /// `name`, `alias` (modules.alias), `builtin_alias`
    /// (modules.builtin.modinfo) or `unknown`.
    pub via: &'static str,
}

/// Why a step needs no loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    BuiltIn,
    AlreadyLoaded,
}

/// One module to load, dependencies first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadStep {
    pub module: String,
    /// The file (absolute host path).
    pub file: Option<String>,
    pub compression: Compression,
    pub skip: Option<Skip>,
}

/// The ordered steps for a `modules load` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoadPlan {
    pub resolutions: Vec<Resolution>,
    pub steps: Vec<LoadStep>,
    /// Names that could not be resolved, dependency loops, missing files.
    pub problems: Vec<String>,
}

/// Resolves `requests` (module names or aliases such as `ipt_MASQUERADE`,
/// `nft-expr-masq`) and orders every module and dependency to load.
pub fn plan_load(idx: &ModuleIndex, requests: &[String]) -> LoadPlan {
    let mut plan = LoadPlan::default();
    let mut seen = BTreeSet::new();
    for req in requests {
        let n = normalize(req);
        let (modules, via) = if idx.dep.entries.contains_key(&n) || idx.builtin.contains(&n) {
            (vec![n], "name")
        } else {
            let a = idx.alias.resolve(req);
            if !a.is_empty() {
                (a, "alias")
            } else {
                let b = idx.builtin_alias.resolve(req);
                if b.is_empty() {
                    (b, "unknown")
                } else {
                    (b, "builtin_alias")
                }
            }
        };
        if modules.is_empty() {
            plan.problems.push(format!(
                "{req}: no such module or alias in {}",
                idx.module_dir
                    .as_deref()
                    .unwrap_or("the module database (none found)")
            ));
        }
        for m in &modules {
            visit(idx, m, &mut seen, &mut Vec::new(), &mut plan);
        }
        plan.resolutions.push(Resolution {
            request: req.clone(),
            modules,
            via,
        });
    }
    plan
}

fn visit(
    idx: &ModuleIndex,
    name: &str,
    seen: &mut BTreeSet<String>,
    stack: &mut Vec<String>,
    plan: &mut LoadPlan,
) {
    if seen.contains(name) {
        return;
    }
    if stack.iter().any(|s| s == name) {
        plan.problems
            .push(format!("dependency loop: {} -> {name}", stack.join(" -> ")));
        return;
    }
    if stack.len() > 64 {
        plan.problems
            .push(format!("dependencies of {name} nest too deeply"));
        return;
    }
    let loaded = idx.loaded.as_ref().is_some_and(|l| l.contains_key(name));
    if idx.builtin.contains(name) || loaded {
        seen.insert(name.to_string());
        plan.steps.push(LoadStep {
            module: name.to_string(),
            file: None,
            compression: Compression::None,
            skip: Some(if loaded {
                Skip::AlreadyLoaded
            } else {
                Skip::BuiltIn
            }),
        });
        return;
    }
    let Some(entry) = idx.dep.get(name) else {
        plan.problems
            .push(format!("{name}: not in modules.dep, cannot load it"));
        seen.insert(name.to_string());
        return;
    };
    stack.push(name.to_string());
    // modules.dep lists the dependencies to load right to left.
    for dep in entry.deps.iter().rev() {
        visit(idx, &module_name_from_path(dep), seen, stack, plan);
    }
    stack.pop();
    seen.insert(name.to_string());
    plan.steps.push(LoadStep {
        module: name.to_string(),
        file: Some(module_file(idx, &entry.path)),
        compression: Compression::from_path(&entry.path),
        skip: None,
    });
}

/// How a module got loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadMethod {
    /// `finit_module` on the plain file.
    Finit,
    /// `finit_module` with `MODULE_INIT_COMPRESSED_FILE`.
    FinitCompressed,
    /// Decompressed here, then `init_module`.
    InitDecompressed,
}

/// What happened to one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum StepResult {
    Loaded {
        method: LoadMethod,
    },
    /// `EEXIST`: someone loaded it meanwhile.
    AlreadyLoaded,
    Skipped {
        reason: Skip,
    },
    Failed {
        errno: Option<i32>,
        message: String,
    },
    /// Not attempted because an earlier step failed.
    NotAttempted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepOutcome {
    pub module: String,
    #[serde(flatten)]
    pub result: StepResult,
}

/// The result of a `modules load`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadOutcome {
    pub plan: LoadPlan,
    /// Loading is impossible here (no module support, no privilege):
    /// the clear reason, and no step was attempted.
    pub unavailable: Option<String>,
    pub steps: Vec<StepOutcome>,
    /// Every requested module is now present.
    pub ok: bool,
}

/// Carries out `plan`. Stops at the first failure (later modules depend on
/// earlier ones). `privileges` makes `EPERM` explain itself.
pub fn execute_plan(
    root: &HostRoot,
    idx: &ModuleIndex,
    plan: LoadPlan,
    sys: &mut dyn ModuleSyscalls,
    privileges: Option<&Privileges>,
) -> LoadOutcome {
    let pending = plan.steps.iter().any(|s| s.skip.is_none());
    let unavailable = if pending {
        loading_unavailable(idx, Some(sys), privileges)
    } else {
        None
    };
    let mut steps = Vec::new();
    let mut failed = unavailable.is_some();
    for step in &plan.steps {
        let result = if let Some(reason) = step.skip {
            StepResult::Skipped { reason }
        } else if failed {
            StepResult::NotAttempted
        } else {
            let r = load_one(root, step, sys).map_err(|e| {
                let what = format!("loading {}", step.module);
                StepResult::Failed {
                    errno: e.raw_os_error(),
                    message: explain(idx, &what, &e, privileges),
                }
            });
            match r {
                Ok(r) => r,
                Err(f) => {
                    failed = true;
                    f
                }
            }
        };
        steps.push(StepOutcome {
            module: step.module.clone(),
            result,
        });
    }
    let ok = !failed
        && plan.problems.is_empty()
        && steps.iter().all(|s| {
            !matches!(
                s.result,
                StepResult::Failed { .. } | StepResult::NotAttempted
            )
        });
    LoadOutcome {
        plan,
        unavailable,
        steps,
        ok,
    }
}

fn load_one(
    root: &HostRoot,
    step: &LoadStep,
    sys: &mut dyn ModuleSyscalls,
) -> io::Result<StepResult> {
    let path = step
        .file
        .as_deref()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no module file"))?;
    let file = File::open(root.path(path))?;
    let done = |method| Ok(StepResult::Loaded { method });
    let exists = |e: &io::Error| e.raw_os_error() == Some(libc::EEXIST);
    if step.compression == Compression::None {
        return match sys.finit_module(&file, c"", 0) {
            Ok(()) => done(LoadMethod::Finit),
            Err(e) if exists(&e) => Ok(StepResult::AlreadyLoaded),
            Err(e) => Err(e),
        };
    }
    match sys.finit_module(&file, c"", MODULE_INIT_COMPRESSED_FILE) {
        Ok(()) => return done(LoadMethod::FinitCompressed),
        Err(e) if exists(&e) => return Ok(StepResult::AlreadyLoaded),
        // EOPNOTSUPP: no CONFIG_MODULE_DECOMPRESS; EINVAL: flag unknown
        // (before 5.17) or this algorithm not built in. Decompress here.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EOPNOTSUPP) | Some(libc::EINVAL)
            ) => {}
        Err(e) => return Err(e),
    }
    let data = root.read_bytes(path)?;
    let image = decompress(step.compression, &data)?;
    match sys.init_module(&image, c"") {
        Ok(()) => done(LoadMethod::InitDecompressed),
        Err(e) if exists(&e) => Ok(StepResult::AlreadyLoaded),
        Err(e) => Err(e),
    }
}

/// Why modules cannot be loaded here, or `None` when they can: a kernel
/// without module support (from its config), or what the harmless
/// [`ModuleSyscalls::probe`] says (when `sys` is given).
pub fn loading_unavailable(
    idx: &ModuleIndex,
    sys: Option<&mut dyn ModuleSyscalls>,
    privileges: Option<&Privileges>,
) -> Option<String> {
    if idx.kernel_has_modules() == Some(false) {
        return Some(no_module_support(idx));
    }
    match sys.map(|s| s.probe()) {
        Some(Err(e)) => Some(explain(idx, "loading kernel modules", &e, privileges)),
        _ => None,
    }
}

fn no_module_support(idx: &ModuleIndex) -> String {
    let release = idx.kernel_release.as_deref().unwrap_or("this kernel");
    format!(
        "kernel {release} was built without loadable module support (CONFIG_MODULES is not set): \
         nothing can be loaded, and everything it supports is built in; a module reported missing \
         needs a different kernel"
    )
}

/// A clear sentence for a module syscall error.
fn explain(
    idx: &ModuleIndex,
    what: &str,
    e: &io::Error,
    privileges: Option<&Privileges>,
) -> String {
    match e.raw_os_error() {
        Some(libc::ENOSYS) => no_module_support(idx),
        Some(libc::EPERM) => {
            let mut m = not_enough_privilege(Capability::CapSysModule, what, privileges);
            m.push_str(
                " (EPERM also means /proc/sys/kernel/modules_disabled is 1 or the kernel is locked \
                 down against unsigned modules.)",
            );
            m
        }
        Some(libc::ENOENT) => format!(
            "{what}: the kernel reports a missing symbol (ENOENT): a dependency is not loaded"
        ),
        Some(libc::ENOEXEC) => {
            format!("{what}: not a module for this kernel (ENOEXEC: bad ELF or wrong architecture)")
        }
        Some(libc::EKEYREJECTED) | Some(libc::EBADMSG) => {
            format!("{what}: the kernel rejected the module's signature ({e})")
        }
        _ => format!("{what}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::tests::modular_tree;
    use super::*;

    /// Records calls and answers from a script.
    #[derive(Debug, Default)]
    struct Recorder {
        calls: Vec<String>,
        probe: Option<i32>,
        finit_errno: Vec<(String, i32)>,
        init_errno: Option<i32>,
    }

    impl ModuleSyscalls for Recorder {
        fn finit_module(&mut self, file: &File, _: &CStr, flags: u32) -> io::Result<()> {
            let link = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).unwrap();
            let name = module_name_from_path(&link.to_string_lossy());
            self.calls.push(format!("finit {name} {flags}"));
            match self.finit_errno.iter().find(|(n, _)| *n == name) {
                Some((_, errno)) => Err(io::Error::from_raw_os_error(*errno)),
                None => Ok(()),
            }
        }

        fn init_module(&mut self, image: &[u8], _: &CStr) -> io::Result<()> {
            self.calls
                .push(format!("init {}", String::from_utf8_lossy(image)));
            match self.init_errno {
                Some(e) => Err(io::Error::from_raw_os_error(e)),
                None => Ok(()),
            }
        }

        fn probe(&mut self) -> io::Result<()> {
            match self.probe {
                Some(e) => Err(io::Error::from_raw_os_error(e)),
                None => Ok(()),
            }
        }
    }

    fn names(plan: &LoadPlan) -> Vec<(String, Option<Skip>)> {
        plan.steps
            .iter()
            .map(|s| (s.module.clone(), s.skip))
            .collect()
    }

    #[test]
    fn aliases_and_dependency_order() {
        let t = modular_tree();
        let idx = ModuleIndex::load(&t.root());
        let plan = plan_load(
            &idx,
            &[
                "ipt_MASQUERADE".into(),
                "nft-expr-match".into(),
                "bridge".into(),
                "xt_nat".into(),
            ],
        );
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        assert_eq!(plan.resolutions[0].modules, ["xt_MASQUERADE"]);
        assert_eq!(plan.resolutions[0].via, "alias");
        assert_eq!(plan.resolutions[2].via, "name");
        let n = |s: &str, k: Option<Skip>| (s.to_string(), k);
        assert_eq!(
            names(&plan),
            vec![
                // xt_MASQUERADE: x_tables nf_nat(nf_conntrack), right to left
                n("x_tables", None),
                n("nf_conntrack", None),
                n("nf_nat", None),
                n("xt_MASQUERADE", None),
                // nft_compat: x_tables (done), nfnetlink + nf_tables loaded
                n("nfnetlink", Some(Skip::AlreadyLoaded)),
                n("nf_tables", Some(Skip::AlreadyLoaded)),
                n("nft_compat", None),
                n("bridge", Some(Skip::BuiltIn)),
                n("xt_nat", None),
            ]
        );
    }

    #[test]
    fn unknown_names_are_problems() {
        let t = modular_tree();
        let idx = ModuleIndex::load(&t.root());
        let plan = plan_load(&idx, &["no_such_mod".into()]);
        assert_eq!(plan.resolutions[0].via, "unknown");
        assert!(plan.problems[0].contains("no_such_mod"));
        let mut rec = Recorder::default();
        let out = execute_plan(&t.root(), &idx, plan, &mut rec, None);
        assert!(!out.ok);
        assert!(rec.calls.is_empty());
    }

    #[test]
    fn loads_in_order_with_compressed_flag_and_fallback() {
        let t = modular_tree();
        let idx = ModuleIndex::load(&t.root());
        let plan = plan_load(&idx, &["ipt_MASQUERADE".into()]);
        let mut rec = Recorder {
            // The kernel cannot decompress xz: fall back to init_module.
            finit_errno: vec![
                ("x_tables".into(), libc::EOPNOTSUPP),
                ("nf_nat".into(), libc::EEXIST),
            ],
            ..Recorder::default()
        };
        // The fake x_tables.ko.xz holds "xz", not real xz data: make it real.
        let mut xz = Vec::new();
        lzma_rs::xz_compress(&mut io::BufReader::new(&b"XT-IMAGE"[..]), &mut xz).unwrap();
        t.file(
            "/lib/modules/6.1.0-test/kernel/net/netfilter/x_tables.ko.xz",
            xz,
        );
        let out = execute_plan(&t.root(), &idx, plan, &mut rec, None);
        assert!(out.ok, "{out:?}");
        assert_eq!(
            rec.calls,
            [
                "finit x_tables 4",
                "init XT-IMAGE",
                "finit nf_conntrack 0",
                "finit nf_nat 0",
                "finit xt_MASQUERADE 4",
            ]
        );
        assert_eq!(
            out.steps[0].result,
            StepResult::Loaded {
                method: LoadMethod::InitDecompressed
            }
        );
        assert_eq!(out.steps[2].result, StepResult::AlreadyLoaded);
        assert_eq!(
            out.steps[3].result,
            StepResult::Loaded {
                method: LoadMethod::FinitCompressed
            }
        );
    }

    #[test]
    fn failure_stops_the_rest() {
        let t = modular_tree();
        let idx = ModuleIndex::load(&t.root());
        let plan = plan_load(&idx, &["xt_nat".into()]);
        let mut rec = Recorder {
            finit_errno: vec![("nf_conntrack".into(), libc::ENOEXEC)],
            ..Recorder::default()
        };
        let out = execute_plan(&t.root(), &idx, plan, &mut rec, None);
        assert!(!out.ok);
        let r: Vec<_> = out.steps.iter().map(|s| &s.result).collect();
        assert!(matches!(r[0], StepResult::Loaded { .. }));
        assert!(
            matches!(r[1], StepResult::Failed { errno: Some(libc::ENOEXEC), message } if message.contains("not a module for this kernel"))
        );
        assert_eq!(*r[2], StepResult::NotAttempted);
        assert_eq!(rec.calls.len(), 2);
    }

    #[test]
    fn no_privilege_and_no_support_are_reports() {
        let t = modular_tree();
        let idx = ModuleIndex::load(&t.root());
        let plan = plan_load(&idx, &["veth_missing_alias".into(), "xt_nat".into()]);
        let mut rec = Recorder {
            probe: Some(libc::EPERM),
            ..Recorder::default()
        };
        let out = execute_plan(&t.root(), &idx, plan.clone(), &mut rec, None);
        let why = out.unavailable.unwrap();
        assert!(why.contains("CAP_SYS_MODULE"), "{why}");
        assert!(rec.calls.is_empty());

        rec.probe = Some(libc::ENOSYS);
        let out = execute_plan(&t.root(), &idx, plan, &mut rec, None);
        assert!(out
            .unavailable
            .unwrap()
            .contains("CONFIG_MODULES is not set"));
        assert!(out.steps.iter().all(|s| matches!(
            s.result,
            StepResult::NotAttempted | StepResult::Skipped { .. }
        )));
    }

    #[test]
    fn live_kernel_probe_does_not_crash() {
        // On this project's test kernel (no CONFIG_MODULES) the probe says
        // ENOSYS; on a modular kernel as root it succeeds. Either way it
        // must return, having loaded nothing.
        let r = KernelSyscalls.probe();
        if let Err(e) = r {
            assert!(
                matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM)),
                "{e}"
            );
        }
    }
}
