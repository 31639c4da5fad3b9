//! 28.0.1 … 29.x with iptables (generations V28_0_1, V28_2_0, V28_2_2,
//! V29), docker-rules.md §4.3–4.4: FORWARD jumps to DOCKER-USER and
//! DOCKER-FORWARD; per-bridge rules appended to DOCKER-FORWARD, DOCKER-CT,
//! DOCKER-BRIDGE and filter DOCKER; per-port ACCEPTs inserted; raw DROPs per
//! port (28.0.1 … 28.1) or per container (28.2+). 29 drops the isolation
//! chains (DOCKER-INTERNAL holds internal networks' rules) and the
//! skip-DNAT rule, and adds `--bridge-accept-fwmark`.
//!
//! Sources: moby v28.5.2 `libnetwork/drivers/bridge/internal/iptabler/
//! {iptabler,network,port,endpoint,wsl2}.go`, `libnetwork/firewall_linux.go`,
//! `libnetwork/drivers/bridge/{bridge_linux,setup_ip_forwarding,
//! port_mapping_linux}.go`; v28.0.1 / v28.2.0 `libnetwork/drivers/bridge/`;
//! docker-v29.0.0 `daemon/libnetwork/drivers/bridge/internal/iptabler/`.

use super::common::{Build, GwMode};
use super::text::{icmp, Line};
use super::Source;
use crate::docker::{Network, Version};

const STAGE1: &str = "DOCKER-ISOLATION-STAGE-1";
const STAGE2: &str = "DOCKER-ISOLATION-STAGE-2";

pub(crate) fn build(b: &mut Build<'_>) {
    init(b);
    // 28.3+: no DOCKER-USER when DOCKER_FIREWALL_BACKEND=nftables (28.x's
    // experimental switch, which only moved DOCKER-USER and the DNS rules).
    let nft_user = b.gen < super::Generation::V29
        && b.at_least(28, 3, 0)
        && b.st
            .options
            .firewall_backend
            .eq_ignore_ascii_case("nftables");
    if !nft_user {
        b.user_chain();
    }
    let st = b.st;
    for n in &st.networks {
        // Families a network does not have get no rules (28.0.1+).
        let Some(prefix) = b.prefix(n) else { continue };
        b.network_forward_drop();
        if b.internal(n) {
            internal(b, n, &prefix);
        } else {
            external(b, n, &prefix);
        }
    }
    for (n, ep, bindings) in b.port_bindings() {
        b.endpoint_raw(n, ep);
        for bound in bindings {
            b.port_28(n, ep, &bound);
        }
    }
}

/// `setupIPChains`: chains, nat jumps, DOCKER-FORWARD's three jumps.
fn init(b: &mut Build<'_>) {
    let d = Source::Daemon;
    b.sim.new_chain("nat", "DOCKER");
    let mut chains = vec!["DOCKER", "DOCKER-FORWARD", "DOCKER-BRIDGE", "DOCKER-CT"];
    if b.p.stage_chains {
        chains.extend([STAGE1, STAGE2]);
    } else {
        chains.push(b.p.internal_chain);
    }
    for c in chains {
        b.sim.new_chain("filter", c);
    }
    b.nat_jumps(&d);
    b.sim.ensure_jump(
        "FORWARD",
        Line::new().j("DOCKER-FORWARD"),
        &d,
        "Docker's forwarding rules (DOCKER-FORWARD)",
    );
    b.sim.ensure_jump(
        "DOCKER-FORWARD",
        Line::new().j("DOCKER-BRIDGE"),
        &d,
        "per-bridge checks of packets into bridges (DOCKER-BRIDGE → DOCKER)",
    );
    let isolation = if b.p.stage_chains {
        STAGE1
    } else {
        b.p.internal_chain
    };
    b.sim.ensure_jump(
        "DOCKER-FORWARD",
        Line::new().j(isolation),
        &d,
        if b.p.stage_chains {
            "inter-network isolation (DOCKER-ISOLATION-STAGE-1)"
        } else {
            "internal networks' restrictions (DOCKER-INTERNAL)"
        },
    );
    b.sim.ensure_jump(
        "DOCKER-FORWARD",
        Line::new().j("DOCKER-CT"),
        &d,
        "replies to connections into bridges first (DOCKER-CT)",
    );
    b.wsl2_loopback();
}

fn internal(b: &mut Build<'_>, n: &Network, prefix: &str) {
    let src = Build::net_source(n);
    let br = n.bridge.as_str();
    let chain = b.p.internal_chain;
    let (in_drop, out_drop) = b.internal_drops(br, prefix);
    b.sim.insert(
        "filter",
        chain,
        in_drop,
        &src,
        format!(
            "internal network {}: nothing leaves {br} but to {prefix}",
            n.name
        ),
    );
    b.sim.insert(
        "filter",
        chain,
        out_drop,
        &src,
        format!(
            "internal network {}: nothing enters {br} but from {prefix}",
            n.name
        ),
    );
    let target = if n.icc { "ACCEPT" } else { "DROP" };
    b.sim.append(
        "filter",
        "DOCKER-FORWARD",
        Line::new().i(br).o(br).j(target),
        &src,
        format!("icc on internal network {}: {target}", n.name),
    );
}

fn external(b: &mut Build<'_>, n: &Network, prefix: &str) {
    let src = Build::net_source(n);
    let br = n.bridge.as_str();
    let gw = b.gw(n);
    let nat = gw != GwMode::Routed;
    if b.p.fwmark {
        if let Some(mark) =
            b.st.options
                .bridge_accept_fwmark
                .as_deref()
                .and_then(fwmark)
        {
            b.sim.insert(
                "filter",
                "DOCKER-FORWARD",
                Line::new().m(&format!("-m mark --mark {mark}")).j("ACCEPT"),
                &src,
                format!("--bridge-accept-fwmark: packets marked {mark} are accepted"),
            );
        }
    }
    if b.masq(n) && nat {
        b.masquerade(n, prefix);
    }
    // 28.0.1 also skipped DNAT for every routed network (fixed in 28.0.2).
    let routed_skip = !nat && b.ver <= Version::new(28, 0, 1);
    if b.p.skip_dnat && ((b.masq(n) && b.proxy()) || routed_skip) {
        b.skip_dnat(n);
    }
    if b.hairpin() {
        b.host_masquerade(n);
    }
    if !n.icc {
        b.sim.append(
            "filter",
            "DOCKER-FORWARD",
            Line::new().i(br).o(br).j("DROP"),
            &src,
            format!("containers on {br} may not talk to each other (icc=false)"),
        );
    }
    if !nat {
        b.sim.append(
            "filter",
            "DOCKER",
            Line::new().o(br).p(icmp(b.fam)).j("ACCEPT"),
            &src,
            format!("routed network {}: ICMP may reach it", n.name),
        );
    }
    let (out, why) = if n.icc {
        (
            Line::new().i(br).j("ACCEPT"),
            format!("accept traffic leaving {br} (and between its containers)"),
        )
    } else {
        (
            Line::new().i(br).not_o(br).j("ACCEPT"),
            format!("accept traffic leaving {br} for other interfaces"),
        )
    };
    b.sim.append("filter", "DOCKER-FORWARD", out, &src, why);
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
    b.sim.append(
        "filter",
        "DOCKER-CT",
        Line::new()
            .o(br)
            .m("-m conntrack --ctstate RELATED,ESTABLISHED")
            .j("ACCEPT"),
        &src,
        format!("accept replies into {br}"),
    );
    b.sim.append(
        "filter",
        "DOCKER-BRIDGE",
        Line::new().o(br).j("DOCKER"),
        &src,
        format!("packets forwarded into {br} are checked by DOCKER"),
    );
    if b.p.stage_chains {
        isolation(b, n, gw);
    }
}

/// `setINC` (28.x): STAGE-1 appended, STAGE-2 inserted.
fn isolation(b: &mut Build<'_>, n: &Network, gw: GwMode) {
    let br = n.bridge.as_str();
    let src = Build::net_source(n);
    if gw == GwMode::Routed {
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

/// `--bridge-accept-fwmark=MARK[/MASK]` (Go `ParseUint(s, 0, 32)`) as
/// iptables-save prints the mark match: `0xMARK[/0xMASK]`, the mask only
/// when it is not all ones.
pub(crate) fn fwmark(text: &str) -> Option<String> {
    fn num(s: &str) -> Option<u32> {
        let s = s.trim();
        if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            u32::from_str_radix(h, 16).ok()
        } else if let Some(b) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
            u32::from_str_radix(b, 2).ok()
        } else if let Some(o) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
            u32::from_str_radix(o, 8).ok()
        } else if s.len() > 1 && s.starts_with('0') {
            u32::from_str_radix(&s[1..], 8).ok()
        } else {
            s.parse().ok()
        }
    }
    let (mark, mask) = match text.split_once('/') {
        Some((m, k)) => (num(m)?, num(k)?),
        None => (num(text)?, u32::MAX),
    };
    Some(if mask == u32::MAX {
        format!("0x{mark:x}")
    } else {
        format!("0x{mark:x}/0x{mask:x}")
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn fwmarks() {
        assert_eq!(super::fwmark("1").as_deref(), Some("0x1"));
        assert_eq!(super::fwmark("0x10/0xff").as_deref(), Some("0x10/0xff"));
        assert_eq!(super::fwmark("16/255").as_deref(), Some("0x10/0xff"));
        assert_eq!(super::fwmark("010").as_deref(), Some("0x8"));
        assert_eq!(super::fwmark("x"), None);
    }
}
