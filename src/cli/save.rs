//! `nfdoctor save`: print the kernel's rules as iptables-save does.

use super::output::Stdout;
use crate::backend::{legacy, Backend, BackendError};
use crate::ruleset::protocols::ProtoNames;
use crate::ruleset::save::Printer;
use crate::ruleset::{json, Ruleset};
use crate::Family;
use clap::{Args, ValueEnum};
use std::cell::RefCell;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    Nft,
    Legacy,
    /// Every back end that holds rules.
    Auto,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Which kernel back end to read.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// IPv4 rules (iptables-save; the default).
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    ipv4: bool,
    /// IPv6 rules (ip6tables-save).
    #[arg(short = '6', long = "ipv6")]
    ipv6: bool,
    /// Only this table.
    #[arg(short = 't', long = "table")]
    table: Option<String>,
    /// Print packet and byte counters with each rule.
    #[arg(short = 'c', long)]
    counters: bool,
    /// Print the model as JSON (schema in the README).
    #[arg(long)]
    json: bool,
}

pub fn run(args: &SaveArgs) -> i32 {
    let family = if args.ipv6 {
        Family::Ipv6
    } else {
        Family::Ipv4
    };
    let backends = match args.backend {
        BackendChoice::Nft => vec![Backend::Nft],
        BackendChoice::Legacy => vec![Backend::Legacy],
        BackendChoice::Auto => vec![Backend::Nft, Backend::Legacy],
    };
    let auto = args.backend == BackendChoice::Auto;
    let mut read = Vec::new();
    for backend in backends {
        match read_backend(backend, family, args.table.as_deref()) {
            Ok(rs) => read.push((backend, rs)),
            Err(e) if auto && e.is_unavailable() => {}
            Err(e) => {
                eprintln!("nfdoctor: {e}");
                return if e.is_permission() { 4 } else { 1 };
            }
        }
    }
    if auto {
        // Only back ends that hold something; nft first, as iptables-nft
        // is what `iptables` means on current distributions.
        let holding: Vec<_> = read
            .iter()
            .filter(|(_, rs)| !rs.tables.is_empty())
            .cloned()
            .collect();
        if !holding.is_empty() || read.len() > 1 {
            read = holding;
        }
    }
    let protocols = ProtoNames::system();
    let mut out = Stdout::new();
    let result = if args.json {
        print_json(&read, family, &protocols, &mut out)
    } else {
        print_text(&read, family, args.counters, &protocols, &mut out)
    };
    if let Err(e) = result.and_then(|_| out.flush()) {
        eprintln!("nfdoctor: writing output: {e}");
        return 1;
    }
    0
}

fn read_backend(
    backend: Backend,
    family: Family,
    table: Option<&str>,
) -> Result<Ruleset, BackendError> {
    match backend {
        Backend::Legacy => {
            let names = match table {
                Some(t) => vec![t.to_string()],
                None => legacy::table_names(family),
            };
            if names.is_empty() {
                return Ok(Ruleset {
                    family,
                    tables: Vec::new(),
                });
            }
            let mut sock = legacy::RawSocket::open(family)
                .map_err(|e| BackendError::legacy_io(family, "opening a raw socket".into(), e))?;
            legacy::read_ruleset(&mut sock, family, &names)
        }
        Backend::Nft => crate::backend::nft::read_ruleset(family, table),
    }
}

/// Resolves ipset indexes through the kernel, once each.
fn set_resolver() -> impl Fn(u16) -> Option<String> {
    let cache: RefCell<HashMap<u16, Option<String>>> = RefCell::new(HashMap::new());
    let sock: RefCell<Option<legacy::RawSocket>> = RefCell::new(None);
    move |index| {
        if let Some(hit) = cache.borrow().get(&index) {
            return hit.clone();
        }
        let mut sock = sock.borrow_mut();
        if sock.is_none() {
            *sock = legacy::RawSocket::open(Family::Ipv4).ok();
        }
        let name = sock
            .as_mut()
            .and_then(|s| legacy::XtKernel::set_name(s, index).ok().flatten());
        cache.borrow_mut().insert(index, name.clone());
        name
    }
}

fn print_text(
    read: &[(Backend, Ruleset)],
    family: Family,
    counters: bool,
    protocols: &ProtoNames,
    out: &mut Stdout,
) -> std::io::Result<()> {
    let set_name = set_resolver();
    let printer = Printer {
        family,
        counters,
        protocols,
        set_name: &set_name,
    };
    let several = read.len() > 1;
    let mut text = String::with_capacity(64 * 1024);
    for (backend, rs) in read {
        if several {
            out.write(&format!("# Backend: {backend}\n"))?;
        }
        for table in &rs.tables {
            text.clear();
            printer.table(table, &mut text);
            out.write(&text)?;
            if out.is_closed() {
                return Ok(());
            }
        }
    }
    Ok(())
}

fn print_json(
    read: &[(Backend, Ruleset)],
    family: Family,
    protocols: &ProtoNames,
    out: &mut Stdout,
) -> std::io::Result<()> {
    let set_name = set_resolver();
    let printer = Printer {
        family,
        counters: false,
        protocols,
        set_name: &set_name,
    };
    let value = serde_json::Value::Array(
        read.iter()
            .map(|(b, rs)| json::ruleset(rs, b.as_str(), &printer))
            .collect(),
    );
    out.write(&serde_json::to_string_pretty(&value).unwrap_or_default())?;
    out.write("\n")
}
