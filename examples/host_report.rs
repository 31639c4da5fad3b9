//! Prints the env and modules reports of this host (text, or JSON with
//! `--json`). Optional `--netns PID|PATH` first. Used by the integration
//! tests and handy until the CLI commands land.

use nfdoctor::host::modules::load::KernelSyscalls;
use nfdoctor::host::{
    collect_env, collect_modules, enter_netns, probe_privileges, EnvOptions, HostRoot, NetnsTarget,
};

fn main() {
    let mut json = false;
    let mut what = "env".to_string();
    let mut args = std::env::args().skip(1);
    let root = HostRoot::live();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json" => json = true,
            "--netns" => {
                let target: NetnsTarget = match args.next().unwrap_or_default().parse() {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("{e}");
                        std::process::exit(2);
                    }
                };
                let p = probe_privileges(&root);
                if let Err(e) = enter_netns(&target, Some(&p)) {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
            other => what = other.to_string(),
        }
    }
    let out = match what.as_str() {
        "privileges" => serde_json::to_string_pretty(&probe_privileges(&root)).unwrap_or_default(),
        "modules" => {
            let p = probe_privileges(&root);
            let r = collect_modules(&root, Some(&mut KernelSyscalls), Some(&p));
            if json {
                serde_json::to_string_pretty(&r).unwrap_or_default()
            } else {
                r.render()
            }
        }
        _ => {
            let r = collect_env(&root, &EnvOptions::from_env());
            if json {
                serde_json::to_string_pretty(&r).unwrap_or_default()
            } else {
                r.render()
            }
        }
    };
    println!("{out}");
}
