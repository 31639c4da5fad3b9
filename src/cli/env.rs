//! `nfdoctor env`: the host facts that decide whether Docker's rules can
//! work (privileges, namespaces, rootless Docker, sysctls, bridges, WSL,
//! firewalld, ufw, the iptables alternative, dockerd's flags and config, and
//! which netfilter back end holds the rules).

use super::output::Stdout;
use crate::host::backends::detect;
use crate::host::{collect_env, EnvOptions, HostRoot};
use crate::Family;
use clap::Args;

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Print the report as JSON (schema in the README).
    #[arg(long)]
    json: bool,
}

pub fn run(args: &EnvArgs) -> i32 {
    let root = HostRoot::live();
    let mut report = collect_env(&root, &EnvOptions::from_env());
    report.add_backends(Family::ALL.iter().map(|f| detect(*f)).collect());
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
