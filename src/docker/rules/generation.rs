//! Docker's rule generations (docker-rules.md §2): which releases share one
//! rule shape, and what distinguishes them, as data. The builders
//! (`classic`, `ipset`, `forward`) read a generation's `Profile`; a new
//! Docker release that changes a detail is one more variant and one more
//! profile here.

use crate::docker::Version;
use serde::Serialize;

/// A family of Docker releases whose rules have the same shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Generation {
    /// 17.06 … 26.1.x: `FORWARD -o BR -j DOCKER` per bridge, isolation
    /// chains with trailing `-j RETURN`, DOCKER-USER with `-j RETURN`.
    /// (Before 18.03.1 the isolation chain was a single `DOCKER-ISOLATION`,
    /// which is not modelled.)
    Classic,
    /// 27.0 … 27.5.x: classic shape, ip6tables on by default, per-port rules
    /// sorted by container port.
    V27,
    /// 28.0.0: ipsets `docker-ext-bridges-v4/-v6` matched from FORWARD,
    /// per-bridge default DROP, per-port raw DROP.
    V28_0_0,
    /// 28.0.1 … 28.1.x: DOCKER-FORWARD/-BRIDGE/-CT, per-port raw DROP,
    /// DOCKER-USER with `-j RETURN`.
    V28_0_1,
    /// 28.2.0 … 28.2.1: per-container raw DROP, DOCKER-USER with `-j RETURN`.
    V28_2_0,
    /// 28.2.2 … 28.5.x: as 28.2.0 without DOCKER-USER's `-j RETURN`.
    V28_2_2,
    /// 29.0 … 29.7.x: no isolation chains (DOCKER-INTERNAL instead), no
    /// skip-DNAT rule; optionally the nftables backend (`docker-bridges`).
    V29,
}

impl Generation {
    /// Every generation, oldest first.
    pub const ALL: [Generation; 7] = [
        Generation::Classic,
        Generation::V27,
        Generation::V28_0_0,
        Generation::V28_0_1,
        Generation::V28_2_0,
        Generation::V28_2_2,
        Generation::V29,
    ];

    /// The generation a release belongs to. Releases newer than the last
    /// verified one (29.7.x) are assumed to keep 29's rules.
    pub fn of(v: Version) -> Generation {
        let v3 = |a, b, c| Version::new(a, b, c);
        if v.major < 27 {
            Generation::Classic
        } else if v.major == 27 {
            Generation::V27
        } else if v.major == 28 {
            if v == v3(28, 0, 0) {
                Generation::V28_0_0
            } else if v < v3(28, 2, 0) {
                Generation::V28_0_1
            } else if v < v3(28, 2, 2) {
                Generation::V28_2_0
            } else {
                Generation::V28_2_2
            }
        } else {
            Generation::V29
        }
    }

    /// The releases it covers, for messages.
    pub fn releases(self) -> &'static str {
        match self {
            Generation::Classic => "17.06 … 26.1.x",
            Generation::V27 => "27.0 … 27.5.x",
            Generation::V28_0_0 => "28.0.0",
            Generation::V28_0_1 => "28.0.1 … 28.1.x",
            Generation::V28_2_0 => "28.2.0 … 28.2.1",
            Generation::V28_2_2 => "28.2.2 … 28.5.x",
            Generation::V29 => "29.0 … 29.7.x",
        }
    }

    /// The newest release of the generation that was checked; used when
    /// only the generation is known (a fingerprint, no Engine API).
    pub fn representative(self) -> Version {
        match self {
            Generation::Classic => Version::new(26, 1, 5),
            Generation::V27 => Version::new(27, 5, 1),
            Generation::V28_0_0 => Version::new(28, 0, 0),
            Generation::V28_0_1 => Version::new(28, 1, 1),
            Generation::V28_2_0 => Version::new(28, 2, 1),
            Generation::V28_2_2 => Version::new(28, 5, 2),
            Generation::V29 => Version::new(29, 7, 2),
        }
    }

    /// What the builders need to know about the generation.
    pub(crate) fn profile(self) -> &'static Profile {
        match self {
            Generation::Classic => &CLASSIC,
            Generation::V27 => &V27,
            Generation::V28_0_0 => &V28_0_0,
            Generation::V28_0_1 => &V28_0_1,
            Generation::V28_2_0 => &V28_2_0,
            Generation::V28_2_2 => &V28_2_2,
            Generation::V29 => &V29,
        }
    }
}

impl std::fmt::Display for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.releases())
    }
}

/// Which builder lays out the filter table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Per-bridge rules inserted into FORWARD (≤27).
    Classic,
    /// FORWARD matches ipsets (28.0.0).
    Ipset,
    /// FORWARD jumps to DOCKER-FORWARD (28.0.1+).
    ForwardChain,
}

/// How a container's published ports are ordered before rules are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortOrder {
    /// go-connections `nat.SortPortMap` in the daemon (≤26).
    SortPortMap,
    /// The bridge driver's `cmpPortBinding`: container port, protocol,
    /// host port, host address (27+).
    ByContainerPort,
}

/// Raw-table DROP of packets routed straight to a container (28+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawDirect {
    None,
    /// `-d CIP ! -i BR -p P --dport CPORT -j DROP` per published port
    /// (28.0.0 … 28.1.x).
    PerPort,
    /// `-d CIP ! -i BR -j DROP` per endpoint (28.2.0+).
    PerEndpoint,
}

/// The distinguishing details of one generation.
#[derive(Debug)]
pub(crate) struct Profile {
    pub shape: Shape,
    /// DOCKER-ISOLATION-STAGE-1/2 exist.
    pub stage_chains: bool,
    /// They end with `-j RETURN` (≤27).
    pub stage_returns: bool,
    /// Where an internal network's DROP rules go.
    pub internal_chain: &'static str,
    /// DOCKER-USER gets `-j RETURN`.
    pub user_chain_return: bool,
    /// Isolation rules for both families whatever the network has (≤28.0.0).
    pub isolation_all_families: bool,
    /// The nat `DOCKER -i BR -j RETURN` rule (with the proxy on) exists.
    pub skip_dnat: bool,
    /// The per-port `-s CIP -d CIP … -j MASQUERADE` also with the proxy on.
    pub self_masquerade_always: bool,
    /// Per-port filter ACCEPTs are inserted (28+) rather than appended.
    pub port_accept_insert: bool,
    pub raw_direct: RawDirect,
    /// Raw DROP for ports published on an IPv4 loopback address (28+).
    pub loopback_raw: bool,
    pub port_order: PortOrder,
    /// IPv6 FORWARD policy DROP whenever ip6tables is on (≤27), rather
    /// than only when Docker enabled IPv6 forwarding.
    pub v6_forward_drop_always: bool,
    /// IPv6 DNAT rules carry `! -s fe80::/10` (28+).
    pub dnat_v6_not_link_local: bool,
    /// mangle CHECKSUM rule for SCTP ports (≤27; 28.x only with an
    /// environment variable the daemon does not report).
    pub sctp_checksum: bool,
    /// `--bridge-accept-fwmark` (29+).
    pub fwmark: bool,
}

const CLASSIC: Profile = Profile {
    shape: Shape::Classic,
    stage_chains: true,
    stage_returns: true,
    internal_chain: "DOCKER-ISOLATION-STAGE-1",
    user_chain_return: true,
    isolation_all_families: true,
    skip_dnat: true,
    self_masquerade_always: true,
    port_accept_insert: false,
    raw_direct: RawDirect::None,
    loopback_raw: false,
    port_order: PortOrder::SortPortMap,
    v6_forward_drop_always: true,
    dnat_v6_not_link_local: false,
    sctp_checksum: true,
    fwmark: false,
};

const V27: Profile = Profile {
    port_order: PortOrder::ByContainerPort,
    ..CLASSIC
};

const V28_0_0: Profile = Profile {
    shape: Shape::Ipset,
    stage_chains: true,
    stage_returns: false,
    internal_chain: "DOCKER-ISOLATION-STAGE-1",
    user_chain_return: true,
    isolation_all_families: true,
    skip_dnat: true,
    self_masquerade_always: false,
    port_accept_insert: true,
    raw_direct: RawDirect::PerPort,
    loopback_raw: true,
    port_order: PortOrder::ByContainerPort,
    v6_forward_drop_always: false,
    dnat_v6_not_link_local: true,
    sctp_checksum: false,
    fwmark: false,
};

const V28_0_1: Profile = Profile {
    shape: Shape::ForwardChain,
    isolation_all_families: false,
    ..V28_0_0
};

const V28_2_0: Profile = Profile {
    raw_direct: RawDirect::PerEndpoint,
    ..V28_0_1
};

const V28_2_2: Profile = Profile {
    user_chain_return: false,
    ..V28_2_0
};

const V29: Profile = Profile {
    stage_chains: false,
    internal_chain: "DOCKER-INTERNAL",
    skip_dnat: false,
    fwmark: true,
    ..V28_2_2
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_map_to_generations() {
        let g = |s: &str| Generation::of(Version::parse(s).unwrap());
        assert_eq!(g("17.06.2"), Generation::Classic);
        assert_eq!(g("20.10.24"), Generation::Classic);
        assert_eq!(g("26.1.5"), Generation::Classic);
        assert_eq!(g("27.0.1"), Generation::V27);
        assert_eq!(g("27.5.1"), Generation::V27);
        assert_eq!(g("28.0.0"), Generation::V28_0_0);
        assert_eq!(g("28.0.1"), Generation::V28_0_1);
        assert_eq!(g("28.1.1"), Generation::V28_0_1);
        assert_eq!(g("28.2.0"), Generation::V28_2_0);
        assert_eq!(g("28.2.1"), Generation::V28_2_0);
        assert_eq!(g("28.2.2"), Generation::V28_2_2);
        assert_eq!(g("28.5.2"), Generation::V28_2_2);
        assert_eq!(g("29.0.0"), Generation::V29);
        assert_eq!(g("29.7.2"), Generation::V29);
        for gen in Generation::ALL {
            assert_eq!(Generation::of(gen.representative()), gen);
        }
    }
}
