//! `nfdoctor check`: find why Docker's published ports or container
//! networking fail, and say exactly how to fix each cause.

use super::output::Stdout;
use crate::doctor::diagnose;
use crate::doctor::gather::{gather, GatherOptions};
use crate::doctor::report::use_color;
use clap::Args;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print the report as JSON (schema in the README).
    #[arg(long)]
    json: bool,
    /// Print nothing; only the exit code tells (0 healthy, 1 problems, 2
    /// could not check).
    #[arg(short, long)]
    quiet: bool,
    /// The Docker Engine API socket (default: $DOCKER_HOST, else
    /// unix:///var/run/docker.sock).
    #[arg(long, value_name = "unix:///PATH")]
    docker_host: Option<String>,
}

pub fn run(args: &CheckArgs) -> i32 {
    let facts = gather(&GatherOptions {
        docker_host: args.docker_host.clone(),
    });
    let report = diagnose(&facts);
    if !args.quiet {
        let text = if args.json {
            serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
        } else {
            report.render(use_color())
        };
        let mut out = Stdout::new();
        let _ = out.write(&text);
        let _ = out.flush();
    }
    report.exit_code
}
