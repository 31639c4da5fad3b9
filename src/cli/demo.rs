//! `nfdoctor demo`: a safe first try. In a throw-away user + network
//! namespace (no root needed where unprivileged user namespaces are
//! allowed), it lays out what Docker 28.5 builds for one container
//! publishing two ports, breaks it the way a firewall reload does, runs
//! `check`, then `fix`, and shows the rules before and after. The host's
//! rules are never touched: the namespace disappears when the command ends.

use crate::backend::nft::write::{read_for_write, write_tables, Mode, TableChange};
use crate::backend::nft::NftReader;
use crate::backend::revisions::KernelRevisions;
use crate::docker::rules::expected;
use crate::docker::{
    DaemonOptions, DockerState, Endpoint, Network, PortBinding, Proto, Subnet, Version,
};
use crate::doctor::diagnose;
use crate::doctor::gather::gather_with;
use crate::doctor::report::use_color;
use crate::host::{collect_env, EnvOptions, HostRoot};
use crate::ruleset::edit::{apply, Edit};
use crate::ruleset::protocols::ProtoNames;
use crate::ruleset::save::Printer;
use crate::ruleset::{Ruleset, Table};
use crate::xt::revision::Revisions;
use crate::Family;
use clap::Args;
use std::net::Ipv4Addr;

#[derive(Debug, Args)]
pub struct DemoArgs {}

/// Writes `changes` into the demo namespace in one batch.
fn commit(
    reader: &mut NftReader<crate::netlink::NetlinkSocket>,
    genid: u32,
    changes: &[TableChange<'_>],
) -> Result<(), String> {
    write_tables(
        reader.connection(),
        Family::Ipv4,
        genid,
        changes,
        true,
        crate::backend::nft::write::MAX_BATCH,
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// Docker 28.5 on a fresh host: the default bridge and one container
/// publishing 8080→80/tcp and 5353→53/udp.
fn demo_state() -> DockerState {
    DockerState {
        version: Some(Version::new(28, 5, 2)),
        options: DaemonOptions::default(),
        networks: vec![Network {
            id: "demo".into(),
            name: "bridge".into(),
            bridge: "docker0".into(),
            ipv4: Some(Subnet {
                addr: Ipv4Addr::new(172, 17, 0, 0),
                prefix: 16,
            }),
            ipv6: None,
            internal: false,
            icc: true,
            masquerade: true,
            host_ipv4: None,
            host_ipv6: None,
            gateway_mode_ipv4: "nat".into(),
            gateway_mode_ipv6: "nat".into(),
            trusted_host_interfaces: Vec::new(),
        }],
        endpoints: vec![Endpoint {
            container_id: "demo-web".into(),
            container_name: "web".into(),
            network: "bridge".into(),
            ipv4: Some(Ipv4Addr::new(172, 17, 0, 2)),
            ipv6: None,
            ports: vec![
                PortBinding {
                    proto: Proto::Tcp,
                    host_ip: None,
                    host_port: 8080,
                    container_port: 80,
                },
                PortBinding {
                    proto: Proto::Udp,
                    host_ip: None,
                    host_port: 5353,
                    container_port: 53,
                },
            ],
            links: Vec::new(),
        }],
    }
}

/// The rules in iptables-save form, with counters zeroed: packets the kernel
/// itself sends in a fresh namespace would otherwise make the comparison fail.
fn save_text(rs: &Ruleset) -> String {
    let protocols = ProtoNames::system();
    let printer = Printer {
        family: Family::Ipv4,
        counters: false,
        protocols: &protocols,
        set_name: &|_| None,
    };
    let mut out = String::new();
    for t in &rs.tables {
        let mut t = t.clone();
        for c in &mut t.chains {
            c.counters = Default::default();
        }
        printer.table(&t, &mut out);
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// What a firewall reload leaves: every chain flushed, user chains gone.
fn reload(table: &Table) -> Table {
    let mut t = table.clone();
    for c in table.chains.clone() {
        let _ = apply(
            &mut t,
            &Edit::Flush {
                chain: c.name.clone(),
            },
        );
    }
    t.chains.retain(|c| c.is_builtin());
    t
}

fn step(n: u32, text: &str) {
    println!("\n== {n}. {text}");
}

fn run_demo() -> Result<bool, String> {
    crate::host::userns::enter_throwaway_namespace().map_err(|e| e.to_string())?;
    println!("nfdoctor demo: working in a throw-away network namespace; the host's rules are not touched.");
    let root = HostRoot::live();
    crate::host::sysctl::write_sysctl(&root, "net.ipv4.ip_forward", "1")
        .map_err(|e| format!("ip_forward: {e}"))?;
    crate::host::links::create_bridge("docker0", Ipv4Addr::new(172, 17, 0, 1), 16)
        .map_err(|e| e.to_string())?;

    let state = demo_state();
    let mut exp = expected(&state, Family::Ipv4);
    // The demo writes the rules: at the revisions this kernel has.
    exp.adapt_revisions(&mut Revisions::new(KernelRevisions::new(Family::Ipv4)));
    let mut reader = NftReader::open(Family::Ipv4).map_err(|e| e.to_string())?;

    step(1, "Docker 28.5 starts with the default bridge and a container `web` publishing 8080/tcp and 5353/udp");
    let docker_tables = exp.to_tables(false);
    let (current, genid) = read_for_write(&mut reader).map_err(|e| e.to_string())?;
    let changes: Vec<TableChange<'_>> = docker_tables
        .iter()
        .map(|t| TableChange {
            before: current.tables.iter().find(|c| c.name == t.name),
            after: t,
            mode: Mode::Replace,
        })
        .collect();
    commit(&mut reader, genid, &changes)?;
    let (before, _) = read_for_write(&mut reader).map_err(|e| e.to_string())?;
    print!("{}", indent(&save_text(&before)));

    step(2, "a firewall reload (e.g. `firewall-cmd --reload`) flushes every chain and deletes Docker's chains");
    let (current, genid) = read_for_write(&mut reader).map_err(|e| e.to_string())?;
    let reloaded: Vec<Table> = current.tables.iter().map(reload).collect();
    let changes: Vec<TableChange<'_>> = current
        .tables
        .iter()
        .zip(&reloaded)
        .map(|(b, a)| TableChange {
            before: Some(b),
            after: a,
            mode: Mode::Update,
        })
        .collect();
    commit(&mut reader, genid, &changes)?;
    let (broken, _) = read_for_write(&mut reader).map_err(|e| e.to_string())?;
    print!("{}", indent(&save_text(&broken)));

    step(3, "nfdoctor check");
    let env = || collect_env(&root, &EnvOptions::from_env());
    let facts = gather_with(env(), Ok(state.clone()));
    print!("{}", indent(&diagnose(&facts).render(use_color())));

    step(4, "nfdoctor fix");
    let expected = crate::doctor::checks::rules::expectations(&facts);
    let result = crate::repair::fix(&facts, &expected, false, false);
    for a in &result.actions {
        println!("    {}\n        # {}", a.command, a.why);
    }
    for p in &result.problems {
        println!("    could not fix: {p}");
    }

    step(5, "nfdoctor check, again");
    let after_facts = gather_with(env(), Ok(state));
    let report = diagnose(&after_facts);
    print!("{}", indent(&report.render(use_color())));
    let (after, _) = read_for_write(&mut reader).map_err(|e| e.to_string())?;
    let same = save_text(&after) == save_text(&before);
    step(6, "the rules now, compared with step 1");
    print!("{}", indent(&save_text(&after)));
    println!(
        "\n{}",
        if same {
            "identical to step 1: Docker's rules are back, in Docker's order, without restarting Docker."
        } else {
            "NOT identical to step 1."
        }
    );
    Ok(same && report.exit_code == 0)
}

pub fn run(_: &DemoArgs) -> i32 {
    match run_demo() {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("nfdoctor demo: {e}");
            2
        }
    }
}
