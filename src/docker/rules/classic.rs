//! ≤27 (generations Classic and V27), docker-rules.md §4.1: per-bridge rules
//! inserted into FORWARD, isolation chains with a trailing RETURN,
//! DOCKER-USER re-ensured after every network.
//!
//! Sources: moby v20.10.24 `vendor/github.com/docker/libnetwork/drivers/
//! bridge/setup_ip_tables.go`, v26.1.5 / v27.5.1 `libnetwork/drivers/bridge/
//! {bridge_linux,setup_ip_tables_linux,setup_ip_forwarding,
//! port_mapping_linux}.go`, `libnetwork/iptables/iptables.go`
//! (`ProgramChain`, `Forward`), `libnetwork/firewall_linux.go`.

use super::common::{port_source, Build, GwMode};
use super::generation::Generation;
use super::text::Line;
use super::{PolicyCondition, Source};
use crate::docker::{Network, Proto};
use crate::Family;

const STAGE1: &str = "DOCKER-ISOLATION-STAGE-1";
const STAGE2: &str = "DOCKER-ISOLATION-STAGE-2";

pub(crate) fn build(b: &mut Build<'_>) {
    init(b);
    let networks = &b.st.networks;
    for n in networks {
        if b.prefix(n).is_some() {
            setup_ip_tables(b, n);
        }
        // isolateNetwork: for every non-internal network, whatever its
        // families (IPv6 rules even for an IPv4-only network).
        if !b.internal(n) && (b.p.isolation_all_families || b.prefix(n).is_some()) {
            isolation(b, n);
        }
        // Controller.NewNetwork: DOCKER-USER after every network
        // (IPv6 from 23.0).
        if b.fam == Family::Ipv4 || b.at_least(23, 0, 0) {
            b.user_chain();
        }
    }
    for (n, ep, bindings) in b.port_bindings() {
        if b.internal(n) {
            continue;
        }
        for bound in bindings {
            if bound.proxied_6to4() {
                continue; // docker-proxy only
            }
            let src = port_source(n, ep, &bound);
            let host_port = if b.gw(n) == GwMode::Routed {
                0
            } else {
                bound.host_port
            };
            if host_port != 0 {
                b.dnat(n, &bound, &src, host_port);
            }
            b.port_accept(n, &bound, &src, b.p.port_accept_insert);
            if host_port != 0 && (b.p.self_masquerade_always || b.hairpin()) {
                b.self_masquerade(&bound, &src);
            }
            if bound.proto == Proto::Sctp && b.p.sctp_checksum {
                b.sim.append(
                    "mangle",
                    "POSTROUTING",
                    Line::new()
                        .port("sctp", "--sport", bound.container_port)
                        .j("CHECKSUM --checksum-fill"),
                    &src,
                    format!(
                        "fill in SCTP checksums from {}'s port {} (old veth offload bug)",
                        ep.container_name, bound.container_port
                    ),
                );
            }
        }
    }
}

/// Driver init (`setupIPChains`) and `setupIPForwarding`.
fn init(b: &mut Build<'_>) {
    let d = Source::Daemon;
    b.sim.new_chain("nat", "DOCKER");
    b.sim.new_chain("filter", "DOCKER");
    b.sim.new_chain("filter", STAGE1);
    b.sim.new_chain("filter", STAGE2);
    for chain in [STAGE1, STAGE2].into_iter().filter(|_| b.p.stage_returns) {
        b.sim.append(
            "filter",
            chain,
            Line::new().j("RETURN"),
            &d,
            "end of the isolation chain: back to FORWARD",
        );
    }
    if b.gen == Generation::V27 && b.at_least(27, 3, 0) {
        b.wsl2_loopback();
    }
    if b.st.options.ip_forward {
        match b.fam {
            Family::Ipv6 if b.p.v6_forward_drop_always => b.forward_drop(PolicyCondition::Always),
            _ => b.forward_drop(PolicyCondition::IfDockerEnabledForwarding),
        }
    }
}

/// `setupIPTables` for one network in this family.
fn setup_ip_tables(b: &mut Build<'_>, n: &Network) {
    let Some(prefix) = b.prefix(n) else { return };
    let src = Build::net_source(n);
    let br = n.bridge.as_str();
    if b.internal(n) {
        let (in_drop, out_drop) = b.internal_drops(br, &prefix);
        b.sim.insert(
            "filter",
            STAGE1,
            in_drop,
            &src,
            format!(
                "internal network {}: nothing leaves {br} but to {prefix}",
                n.name
            ),
        );
        b.sim.insert(
            "filter",
            STAGE1,
            out_drop,
            &src,
            format!(
                "internal network {}: nothing enters {br} but from {prefix}",
                n.name
            ),
        );
        set_icc(b, n);
    } else {
        // setupIPTablesInternal
        let nat = b.gw(n) != GwMode::Routed;
        if b.masq(n) && nat {
            b.masquerade(n, &prefix);
            if b.proxy() {
                b.skip_dnat(n);
            }
        }
        if b.hairpin() {
            b.host_masquerade(n);
        }
        set_icc(b, n);
        b.sim.insert(
            "filter",
            "FORWARD",
            Line::new().i(br).not_o(br).j("ACCEPT"),
            &src,
            format!("accept traffic from {br} to other interfaces"),
        );
        // ProgramChain(nat), ProgramChain(filter)
        b.nat_jumps(&src);
        b.sim.insert(
            "filter",
            "FORWARD",
            Line::new().o(br).j("DOCKER"),
            &src,
            format!("packets forwarded into {br} are checked by DOCKER (published ports)"),
        );
        b.sim.insert(
            "filter",
            "FORWARD",
            Line::new()
                .o(br)
                .m("-m conntrack --ctstate RELATED,ESTABLISHED")
                .j("ACCEPT"),
            &src,
            format!("accept replies into {br}"),
        );
    }
    b.sim.ensure_jump(
        "FORWARD",
        Line::new().j(STAGE1),
        &src,
        "inter-network isolation comes first in FORWARD (after DOCKER-USER)",
    );
}

/// `setIcc`: ACCEPT inserted, or DROP appended.
fn set_icc(b: &mut Build<'_>, n: &Network) {
    let br = n.bridge.as_str();
    let src = Build::net_source(n);
    let accept = Line::new().i(br).o(br).j("ACCEPT");
    let drop = Line::new().i(br).o(br).j("DROP");
    if n.icc {
        b.sim.delete("filter", "FORWARD", &drop);
        b.sim.insert(
            "filter",
            "FORWARD",
            accept,
            &src,
            format!("containers on {br} may talk to each other (icc)"),
        );
    } else {
        b.sim.delete("filter", "FORWARD", &accept);
        b.sim.append(
            "filter",
            "FORWARD",
            drop,
            &src,
            format!("containers on {br} may not talk to each other (icc=false)"),
        );
    }
}

/// `setINC`: both rules inserted.
fn isolation(b: &mut Build<'_>, n: &Network) {
    let br = n.bridge.as_str();
    let src = Build::net_source(n);
    b.sim.insert(
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
