//! `nfdoctor env`: the host facts that decide whether Docker's rules can
//! work (privileges, namespaces, rootless Docker, sysctls, bridges, WSL,
//! firewalld, ufw, the iptables alternative, dockerd's flags and config).

use super::output::Stdout;
use crate::host::{collect_env, EnvOptions, HostRoot};
use clap::Args;

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Print the report as JSON (schema in the README).
    #[arg(long)]
    json: bool,
}

pub fn run(args: &EnvArgs) -> i32 {
    let root = HostRoot::live();
    let report = collect_env(&root, &EnvOptions::from_env());
    let text = if args.json {
        serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
    } else {
        report.render()
    };
    let mut out = Stdout::new();
    let _ = out.write(&text);
    let _ = out.flush();
    0
}
