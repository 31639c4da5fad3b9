//! `fix --all`: what is not a rule. Loads the kernel modules the back end
//! in use is missing and turns IP forwarding on, listing each action.

use super::FixReport;
use crate::doctor::checks::rules::docker_backend;
use crate::doctor::facts::Facts;
use crate::host::modules::load::{execute_plan, plan_load, KernelSyscalls};
use crate::host::modules::state::ModuleIndex;
use crate::host::sysctl::write_sysctl;
use crate::host::HostRoot;
use crate::Family;

pub fn fix_host(facts: &Facts, dry_run: bool, report: &mut FixReport) {
    let root = HostRoot::live();
    let readiness = match docker_backend(facts, Family::Ipv4) {
        crate::backend::Backend::Nft => &facts.modules.nft,
        crate::backend::Backend::Legacy => &facts.modules.legacy,
    };
    if !readiness.loadable.is_empty() {
        if dry_run {
            report.host_actions.push(format!(
                "would load modules: {}",
                readiness.loadable.join(" ")
            ));
        } else {
            let idx = ModuleIndex::load(&root);
            let plan = plan_load(&idx, &readiness.loadable);
            let outcome = execute_plan(
                &root,
                &idx,
                plan,
                &mut KernelSyscalls,
                Some(&facts.env.privileges),
            );
            match &outcome.unavailable {
                Some(why) => report.problems.push(format!("loading modules: {why}")),
                None => report.host_actions.push(format!(
                    "loaded modules: {}{}",
                    readiness.loadable.join(" "),
                    if outcome.ok {
                        ""
                    } else {
                        " (some failed; see nfdoctor modules)"
                    }
                )),
            }
        }
    }
    for (name, needed) in [
        ("net.ipv4.ip_forward", true),
        ("net.ipv6.conf.all.forwarding", facts.uses_ipv6()),
    ] {
        let off = facts
            .env
            .sysctls
            .iter()
            .any(|s| s.name == name && s.value.as_deref() == Some("0"));
        if !off || !needed {
            continue;
        }
        if dry_run {
            report.host_actions.push(format!("would set {name} = 1"));
            continue;
        }
        match write_sysctl(&root, name, "1") {
            Ok(()) => report.host_actions.push(format!("set {name} = 1")),
            Err(e) => report.problems.push(format!("setting {name}: {e}")),
        }
    }
}
