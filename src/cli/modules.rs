//! `nfdoctor modules`: which kernel modules Docker's rules need, and their
//! state (built in, loaded, on disk, missing); `modules load` loads them
//! without modprobe.

use super::output::Stdout;
use crate::host::modules::load::{execute_plan, plan_load, KernelSyscalls};
use crate::host::modules::persist::persist_modules;
use crate::host::modules::state::{ModuleIndex, ModuleState, ModuleStatus};
use crate::host::{collect_modules, probe_privileges, HostRoot};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ModulesArgs {
    #[command(subcommand)]
    action: Option<ModulesAction>,
    /// Print the report as JSON (schema in the README).
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum ModulesAction {
    /// Load modules (names or aliases such as ipt_MASQUERADE) and their
    /// dependencies with finit_module.
    Load {
        #[arg(required = true)]
        names: Vec<String>,
        /// Also list them in /etc/modules-load.d/nfdoctor.conf.
        #[arg(long)]
        persist: bool,
    },
}

pub fn run(args: &ModulesArgs) -> i32 {
    let root = HostRoot::live();
    let privileges = probe_privileges(&root);
    let mut out = Stdout::new();
    match &args.action {
        None => {
            let report = collect_modules(&root, Some(&mut KernelSyscalls), Some(&privileges));
            let text = if args.json {
                serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
            } else {
                report.render()
            };
            let _ = out.write(&text);
            let _ = out.flush();
            // 0: both paths ready; 1: something missing.
            i32::from(!(report.legacy.ready && report.nft.ready))
        }
        Some(ModulesAction::Load { names, persist }) => {
            // Modules the kernel already has (built in, e.g. known from its
            // config when there is no module database) need nothing.
            let report = collect_modules(&root, None, Some(&privileges));
            let present: Vec<&ModuleStatus> = names
                .iter()
                .filter_map(|n| {
                    let n = n.replace('-', "_");
                    report.modules.iter().find(|m| {
                        m.name == n && matches!(m.state, ModuleState::BuiltIn | ModuleState::Loaded)
                    })
                })
                .collect();
            if present.len() == names.len() {
                if args.json {
                    let v = serde_json::json!({"already_present": present});
                    let _ =
                        out.write(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
                } else {
                    for m in &present {
                        let state = if m.state == ModuleState::BuiltIn {
                            "built into the kernel"
                        } else {
                            "already loaded"
                        };
                        let _ = out.write(&format!(
                            "{}: {state} ({}); nothing to load\n",
                            m.name, m.evidence
                        ));
                    }
                }
                let _ = out.flush();
                return 0;
            }
            let idx = ModuleIndex::load(&root);
            let plan = plan_load(&idx, names);
            let mut outcome =
                execute_plan(&root, &idx, plan, &mut KernelSyscalls, Some(&privileges));
            if outcome.unavailable.is_none() && !outcome.plan.problems.is_empty() {
                // Nothing resolved: say why loading could not work anyway.
                outcome.unavailable = crate::host::modules::load::loading_unavailable(
                    &idx,
                    Some(&mut KernelSyscalls),
                    Some(&privileges),
                );
            }
            let mut persisted = None;
            if *persist && outcome.ok {
                match persist_modules(&root, names) {
                    Ok(p) => persisted = Some(p.display().to_string()),
                    Err(e) => {
                        eprintln!("nfdoctor modules load: --persist: {e}");
                        return 1;
                    }
                }
            }
            if args.json {
                let mut v = serde_json::to_value(&outcome).unwrap_or_default();
                if let (Some(p), serde_json::Value::Object(m)) = (&persisted, &mut v) {
                    m.insert("persisted".into(), serde_json::json!(p));
                }
                let _ = out.write(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
            } else {
                if let Some(why) = &outcome.unavailable {
                    let _ = out.write(&format!("Loading modules is not possible here: {why}\n"));
                }
                for p in &outcome.plan.problems {
                    let _ = out.write(&format!("problem: {p}\n"));
                }
                for s in &outcome.steps {
                    let _ = out.write(&format!("{}: {:?}\n", s.module, s.result));
                }
                if let Some(p) = &persisted {
                    let _ = out.write(&format!("listed in {p}\n"));
                }
            }
            let _ = out.flush();
            if outcome.unavailable.is_some() {
                2
            } else {
                i32::from(!outcome.ok)
            }
        }
    }
}
