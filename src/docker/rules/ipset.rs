//! 28.0.0 only (generation V28_0_0), docker-rules.md §4.2: FORWARD matches
//! the ipsets `docker-ext-bridges-v4/-v6`, per-bridge default DROP in
//! filter DOCKER, per-port raw DROP, isolation rules for both families.
//!
//! Sources: moby v28.0.0 `libnetwork/drivers/bridge/{bridge_linux,
//! setup_ip_tables_linux,setup_ip_forwarding,port_mapping_linux}.go`,
//! `libnetwork/firewall_linux.go`; iptablesdoc @ v28.0.0.
//!
//! The `set` match stores the kernel's index of the set; the expected rules
//! use stand-in indexes ([`super::text::STANDIN_SET_INDEXES`]).

use super::common::{Build, GwMode};
use super::text::Line;
use super::Source;
use crate::docker::Network;
use crate::Family;

const STAGE1: &str = "DOCKER-ISOLATION-STAGE-1";
const STAGE2: &str = "DOCKER-ISOLATION-STAGE-2";

fn set_name(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "docker-ext-bridges-v4",
        Family::Ipv6 => "docker-ext-bridges-v6",
    }
}

pub(crate) fn build(b: &mut Build<'_>) {
    let d = Source::Daemon;
    b.sim.new_chain("nat", "DOCKER");
    b.sim.new_chain("filter", "DOCKER");
    b.sim.new_chain("filter", STAGE1);
    b.sim.new_chain("filter", STAGE2);
    b.nat_jumps(&d);
    let set = set_name(b.fam);
    b.sim.ensure_jump(
        "FORWARD",
        Line::new()
            .m(&format!("-m set --match-set {set} dst"))
            .j("DOCKER"),
        &d,
        format!("packets to a Docker bridge subnet (ipset {set}) are checked by DOCKER"),
    );
    b.sim.ensure_jump(
        "FORWARD",
        Line::new().j(STAGE1),
        &d,
        "inter-network isolation",
    );
    b.sim.ensure_jump(
        "FORWARD",
        Line::new()
            .m(&format!("-m set --match-set {set} dst"))
            .m("-m conntrack --ctstate RELATED,ESTABLISHED")
            .j("ACCEPT"),
        &d,
        format!("accept replies to Docker bridge subnets (ipset {set})"),
    );
    b.wsl2_loopback();
    b.user_chain();

    for n in &b.st.networks {
        if let Some(prefix) = b.prefix(n) {
            b.network_forward_drop();
            network(b, n, &prefix);
        }
        if !b.internal(n) && (b.p.isolation_all_families || b.prefix(n).is_some()) {
            isolation(b, n);
        }
    }
    for (n, ep, bindings) in b.port_bindings() {
        for bound in bindings {
            b.port_28(n, ep, &bound);
        }
    }
}

fn network(b: &mut Build<'_>, n: &Network, prefix: &str) {
    let src = Build::net_source(n);
    let br = n.bridge.as_str();
    if b.internal(n) {
        b.sim.insert(
            "filter",
            STAGE1,
            b.internal_drops(br, prefix).0,
            &src,
            format!(
                "internal network {}: nothing leaves {br} but to {prefix}",
                n.name
            ),
        );
        b.sim.insert(
            "filter",
            STAGE1,
            b.internal_drops(br, prefix).1,
            &src,
            format!(
                "internal network {}: nothing enters {br} but from {prefix}",
                n.name
            ),
        );
        let target = if n.icc { "ACCEPT" } else { "DROP" };
        b.sim.append(
            "filter",
            "FORWARD",
            Line::new().i(br).o(br).j(target),
            &src,
            format!("icc on internal network {}: {target}", n.name),
        );
        return;
    }
    let gw = b.gw(n);
    let nat = gw != GwMode::Routed;
    if b.masq(n) && nat {
        b.masquerade(n, prefix);
    }
    if !nat || (b.masq(n) && b.proxy()) {
        b.skip_dnat(n);
    }
    if b.hairpin() {
        b.host_masquerade(n);
    }
    if !n.icc {
        b.sim.append(
            "filter",
            "FORWARD",
            Line::new().i(br).o(br).j("DROP"),
            &src,
            format!("containers on {br} may not talk to each other (icc=false)"),
        );
    }
    if !nat {
        b.sim.append(
            "filter",
            "DOCKER",
            Line::new().o(br).p(super::text::icmp(b.fam)).j("ACCEPT"),
            &src,
            format!("routed network {}: ICMP may reach it", n.name),
        );
    }
    let out = if n.icc {
        Line::new().i(br).j("ACCEPT")
    } else {
        Line::new().i(br).not_o(br).j("ACCEPT")
    };
    b.sim.append(
        "filter",
        "FORWARD",
        out,
        &src,
        format!("accept traffic leaving {br}"),
    );
    let verdict = if gw == GwMode::NatUnprotected {
        "ACCEPT"
    } else {
        "DROP"
    };
    b.sim.append(
        "filter",
        "DOCKER",
        Line::new().not_i(br).o(br).j(verdict),
        &src,
        format!("{verdict} anything else forwarded into {br} (unpublished ports)"),
    );
}

/// `setINC`, for both families whatever the network has (fixed in 28.0.1).
fn isolation(b: &mut Build<'_>, n: &Network) {
    let br = n.bridge.as_str();
    let src = Build::net_source(n);
    if b.gw(n) == GwMode::Routed {
        b.sim.insert(
            "filter",
            STAGE1,
            Line::new().o(br).j("RETURN"),
            &src,
            format!(
                "routed network {}: anything may enter at this stage",
                n.name
            ),
        );
        b.sim.insert(
            "filter",
            STAGE1,
            Line::new()
                .i(br)
                .m("-m conntrack --ctstate RELATED,ESTABLISHED")
                .j("ACCEPT"),
            &src,
            format!("routed network {}: replies may leave it", n.name),
        );
    }
    b.sim.append(
        "filter",
        STAGE1,
        Line::new().i(br).not_o(br).j(STAGE2),
        &src,
        format!("traffic from {br} to elsewhere is checked by stage 2"),
    );
    b.sim.insert(
        "filter",
        STAGE2,
        Line::new().o(br).j("DROP"),
        &src,
        format!("no traffic from another Docker network into {br}"),
    );
}
