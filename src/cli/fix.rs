//! `nfdoctor fix`: put Docker's rules back without restarting Docker, then
//! check again. `--dry-run` shows the plan and changes nothing.

use super::output::Stdout;
use crate::doctor::checks::rules::{adapt_to_kernel, expectations, Asking};
use crate::doctor::gather::{gather, read_rulesets_except, reread_rulesets, GatherOptions};
use crate::doctor::report::Report;
use crate::doctor::report::{counted, use_color};
use crate::doctor::{diagnose, diagnose_against};
use crate::repair::{fix_confirmed, Known, Speculate};
use crate::Family;
use clap::Args;
use std::fmt::Write;

#[derive(Debug, Args)]
pub struct FixArgs {
    /// Show what would change (as iptables commands, with reasons); change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also load missing kernel modules and turn IP forwarding on.
    #[arg(long)]
    all: bool,
    /// Print the result as JSON (schema in the README).
    #[arg(long)]
    json: bool,
    /// The Docker Engine API socket (default: $DOCKER_HOST, else
    /// unix:///var/run/docker.sock).
    #[arg(long, value_name = "unix:///PATH")]
    docker_host: Option<String>,
}

pub fn run(args: &FixArgs) -> i32 {
    let opts = GatherOptions {
        docker_host: args.docker_host.clone(),
    };
    let facts = gather(&opts);
    if facts.rulesets.iter().all(|r| r.result.is_err()) {
        let report = diagnose(&facts);
        eprint!("{}", report.render(false));
        return 2;
    }
    let mut facts = facts;
    let mut expected = facts
        .expected
        .take()
        .unwrap_or_else(|| expectations(&facts));
    // The check's expectation asked the kernel only about extensions it
    // has loaded; a fix writes the others too.
    if expected.revisions_unasked {
        adapt_to_kernel(&mut expected, Asking::Everything);
    }
    let api = facts.docker.is_ok();
    // Only rules change (without --all): the check afterwards can judge
    // them as the commit leaves them while the kernel commits, and read
    // again only the rules no commit confirmed. The judgement is kept only
    // if the commit confirms those rules.
    let mut judge = |known: &[Family], start_commit: &mut dyn FnMut() -> Vec<Known>| {
        // The other rules are read before the commit, which would contend
        // with the reads.
        let others = read_rulesets_except(known);
        let facts = others.finish(facts.without_rules(), start_commit());
        let report = diagnose_against(&facts, api.then_some(&expected));
        super::restore::exit_without_freeing(facts);
        report
    };
    let speculate: Option<Speculate<'_, Report>> =
        (!args.dry_run && !args.all).then_some(&mut judge);
    let fixed = fix_confirmed(&facts, &expected, args.dry_run, args.all, speculate);
    let result = fixed.report;
    let after = (!args.dry_run).then(|| {
        if let Some(report) = fixed.speculated {
            super::restore::exit_without_freeing((facts, fixed.confirmed));
            return report;
        }
        if args.all {
            // Modules and sysctls may have changed too.
            return diagnose(&gather(&opts));
        }
        // Read the rules again (but not the nf_tables rules a commit
        // confirmed) and judge them against the same expectations (rebuilt
        // when they came from the ruleset's fingerprint rather than the
        // Engine API).
        let facts = reread_rulesets(facts, fixed.confirmed);
        let report = diagnose_against(&facts, api.then_some(&expected));
        // Freeing tens of thousands of rules one by one is time for nothing
        // at the process's end.
        super::restore::exit_without_freeing(facts);
        report
    });
    super::restore::exit_without_freeing(expected);
    let mut out = Stdout::new();
    if args.json {
        let mut v = serde_json::to_value(&result).unwrap_or_default();
        if let (Some(check), serde_json::Value::Object(m)) = (&after, &mut v) {
            m.insert(
                "check".into(),
                serde_json::to_value(check).unwrap_or_default(),
            );
        }
        let _ = out.write(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
    } else {
        let mut text = String::new();
        let n = result.actions.len() + result.host_actions.len();
        let changes = counted(n, "change");
        if n == 0 {
            let _ = writeln!(
                text,
                "nfdoctor fix: nothing to do: Docker's rules are complete"
            );
        } else if args.dry_run {
            let _ = writeln!(
                text,
                "nfdoctor fix: would make {changes} (dry run: nothing was changed)"
            );
        } else {
            let _ = writeln!(text, "nfdoctor fix: made {changes}");
        }
        let mut last = None;
        for a in &result.actions {
            let head = (a.family, a.backend);
            if last != Some(head) {
                let _ = writeln!(text, "{} ({} back end):", a.family, a.backend);
                last = Some(head);
            }
            let _ = writeln!(text, "  {}\n      # {}", a.command, a.why);
        }
        for h in &result.host_actions {
            let _ = writeln!(text, "  {h}");
        }
        for p in &result.problems {
            let _ = writeln!(text, "could not fix: {p}");
        }
        if let Some(check) = &after {
            let _ = writeln!(text, "\nafterwards:");
            for c in &result.confirmed {
                let _ = writeln!(text, "  (checked without dumping again: {c})");
            }
            text.push_str(&check.render(use_color()));
        }
        let _ = out.write(&text);
    }
    let _ = out.flush();
    match &after {
        _ if !result.problems.is_empty() => 1,
        Some(check) => check.exit_code,
        None => 0,
    }
}
