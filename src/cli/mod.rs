//! Command-line interface: argument parsing and one file per subcommand.

mod output;
mod restore;
mod save;

use clap::{Parser, Subcommand};

/// Diagnose and repair Docker's netfilter rules by talking to the kernel
/// directly (no iptables binary needed).
#[derive(Debug, Parser)]
#[command(name = "nfdoctor", version = crate::VERSION, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the kernel's rules exactly as iptables-save would.
    Save(save::SaveArgs),
    /// Load rules in iptables-save format, as iptables-restore would.
    Restore(restore::RestoreArgs),
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
    match cli.command {
        Command::Save(args) => save::run(&args),
        Command::Restore(args) => restore::run(&args),
    }
}
