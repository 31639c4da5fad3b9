//! Command-line interface: argument parsing and one file per subcommand.

mod check;
mod demo;
mod env;
mod fix;
mod modules;
mod output;
pub mod restore;
mod restore_fresh;
mod save;

use clap::{Parser, Subcommand};

/// Diagnose and repair Docker's netfilter rules by talking to the kernel
/// directly (no iptables binary needed).
#[derive(Debug, Parser)]
#[command(name = "nfdoctor", version = crate::VERSION, about)]
pub struct Cli {
    /// Work inside another network namespace: a PID (a container's or
    /// RootlessKit's process) or a path such as /run/netns/NAME.
    #[arg(long, global = true, value_name = "PID|PATH")]
    netns: Option<crate::host::NetnsTarget>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Diagnose Docker's netfilter setup and say how to fix each problem.
    Check(check::CheckArgs),
    /// Put Docker's missing rules back, without restarting Docker.
    Fix(fix::FixArgs),
    /// A safe first try: break and repair Docker's rules in a throw-away
    /// namespace (no root needed).
    Demo(demo::DemoArgs),
    /// Print the kernel's rules exactly as iptables-save would.
    Save(save::SaveArgs),
    /// Load rules in iptables-save format, as iptables-restore would.
    Restore(restore::RestoreArgs),
    /// Report the host: privileges, namespaces, rootless Docker, sysctls,
    /// bridges, WSL, firewalld, ufw, iptables alternative, dockerd.
    Env(env::EnvArgs),
    /// Report the kernel modules Docker's rules need; `modules load` loads them.
    Modules(modules::ModulesArgs),
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    // Namespaces are per thread: enter it first, before anything else runs.
    if let Some(target) = &cli.netns {
        let root = crate::host::HostRoot::live();
        let privileges = crate::host::probe_privileges(&root);
        if let Err(e) = crate::host::enter_netns(target, Some(&privileges)) {
            eprintln!("nfdoctor: --netns: {e}");
            return 2;
        }
    }
    if cli.netns.is_none() && matches!(cli.command, Command::Check(_) | Command::Fix(_)) {
        enter_own_rootless_netns();
    }
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Fix(args) => fix::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Save(args) => save::run(&args),
        Command::Restore(args) => restore::run(&args),
        Command::Env(args) => env::run(&args),
        Command::Modules(args) => modules::run(&args),
    }
}

/// Not root and no say over this namespace's rules, but the caller's own
/// rootless Docker runs: its rules are in RootlessKit's namespace, which the
/// caller may enter. `check` and `fix` then look there, and say so.
fn enter_own_rootless_netns() {
    let root = crate::host::HostRoot::live();
    let privileges = crate::host::probe_privileges(&root);
    if privileges.root || privileges.net_admin_over_netns != Some(false) {
        return;
    }
    let xdg = std::env::var("XDG_RUNTIME_DIR").ok();
    let rootless = crate::host::rootless::probe_rootless(&root, xdg.as_deref());
    let mine: Vec<_> = rootless
        .instances
        .iter()
        .filter(|i| !i.inside && i.uid.is_some() && i.uid == privileges.euid)
        .filter_map(|i| i.netns_arg.as_deref())
        .collect();
    let [arg] = mine.as_slice() else { return };
    let Ok(target) = arg.parse::<crate::host::NetnsTarget>() else {
        return;
    };
    match crate::host::enter_netns(&target, Some(&privileges)) {
        Ok(()) => eprintln!(
            "nfdoctor: looking at your rootless Docker: RootlessKit's network namespace ({target}); \
             --netns chooses another"
        ),
        Err(e) => eprintln!("nfdoctor: could not enter your rootless Docker's namespace ({target}): {e}"),
    }
}
