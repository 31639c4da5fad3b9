//! Kernel modules without modprobe: which of the modules Docker's rules need
//! are built in, loaded, on disk or missing ([`state`]), and loading them
//! with `finit_module` ([`load`]), from the module database parsed by
//! [`index`].

pub mod decompress;
pub mod index;
pub mod load;
pub mod persist;
pub mod state;

use serde::Serialize;

/// Which rule path needs a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NeededBy {
    /// iptables-legacy (x_tables over raw sockets).
    Legacy,
    /// iptables-nft and Docker's nftables backend.
    Nft,
    /// Both.
    Both,
}

/// A module the Docker rule paths need, with the kernel config symbols that
/// build it (the first symbol the configuration mentions decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequiredModule {
    pub name: &'static str,
    pub needed_by: NeededBy,
    pub config: &'static [&'static str],
    pub purpose: &'static str,
}

const fn m(
    name: &'static str,
    needed_by: NeededBy,
    config: &'static [&'static str],
    purpose: &'static str,
) -> RequiredModule {
    RequiredModule {
        name,
        needed_by,
        config,
        purpose,
    }
}

use NeededBy::{Both, Legacy, Nft};

/// The modules `modules` reports on, in display order.
pub const REQUIRED_MODULES: &[RequiredModule] = &[
    m(
        "ip_tables",
        Legacy,
        &["IP_NF_IPTABLES_LEGACY", "IP_NF_IPTABLES"],
        "IPv4 x_tables tables",
    ),
    m(
        "iptable_filter",
        Legacy,
        &["IP_NF_FILTER"],
        "IPv4 filter table",
    ),
    m("iptable_nat", Legacy, &["IP_NF_NAT"], "IPv4 nat table"),
    m(
        "iptable_raw",
        Legacy,
        &["IP_NF_RAW"],
        "IPv4 raw table (Docker 28+ direct-access drops)",
    ),
    m(
        "iptable_mangle",
        Legacy,
        &["IP_NF_MANGLE"],
        "IPv4 mangle table",
    ),
    m(
        "ip6_tables",
        Legacy,
        &["IP6_NF_IPTABLES_LEGACY", "IP6_NF_IPTABLES"],
        "IPv6 x_tables tables",
    ),
    m(
        "ip6table_filter",
        Legacy,
        &["IP6_NF_FILTER"],
        "IPv6 filter table",
    ),
    m("ip6table_nat", Legacy, &["IP6_NF_NAT"], "IPv6 nat table"),
    m("ip6table_raw", Legacy, &["IP6_NF_RAW"], "IPv6 raw table"),
    m(
        "nfnetlink",
        Nft,
        &["NETFILTER_NETLINK"],
        "netlink transport of nf_tables",
    ),
    m("nf_tables", Nft, &["NF_TABLES"], "nf_tables core"),
    m(
        "nft_compat",
        Nft,
        &["NFT_COMPAT"],
        "xt matches/targets inside nf_tables (iptables-nft)",
    ),
    m("nft_chain_nat", Nft, &["NFT_NAT"], "nat base chains"),
    m(
        "nft_nat",
        Nft,
        &["NFT_NAT"],
        "native dnat/snat (Docker nftables backend)",
    ),
    m(
        "nft_masq",
        Nft,
        &["NFT_MASQ"],
        "native masquerade (Docker nftables backend)",
    ),
    m(
        "nft_ct",
        Nft,
        &["NFT_CT"],
        "native ct state (Docker nftables backend)",
    ),
    m(
        "x_tables",
        Both,
        &["NETFILTER_XTABLES"],
        "xt match/target core",
    ),
    m(
        "xt_tcpudp",
        Both,
        &["NETFILTER_XTABLES"],
        "-p tcp/udp --dport",
    ),
    m(
        "xt_addrtype",
        Both,
        &["NETFILTER_XT_MATCH_ADDRTYPE"],
        "-m addrtype --dst-type LOCAL",
    ),
    m(
        "xt_conntrack",
        Both,
        &["NETFILTER_XT_MATCH_CONNTRACK"],
        "-m conntrack --ctstate",
    ),
    m(
        "xt_comment",
        Both,
        &["NETFILTER_XT_MATCH_COMMENT"],
        "-m comment",
    ),
    m("xt_nat", Both, &["NETFILTER_XT_NAT"], "-j DNAT / -j SNAT"),
    m(
        "xt_MASQUERADE",
        Both,
        &["NETFILTER_XT_TARGET_MASQUERADE"],
        "-j MASQUERADE",
    ),
    m(
        "xt_set",
        Both,
        &["NETFILTER_XT_SET"],
        "-m set (Docker 28.0)",
    ),
    m("ip_set", Both, &["IP_SET"], "ipsets (Docker 28.0)"),
    m("nf_nat", Both, &["NF_NAT"], "NAT core"),
    m(
        "nf_conntrack",
        Both,
        &["NF_CONNTRACK"],
        "connection tracking",
    ),
    m(
        "br_netfilter",
        Both,
        &["BRIDGE_NETFILTER"],
        "netfilter on bridged traffic, bridge-nf-call-* sysctls",
    ),
    m("bridge", Both, &["BRIDGE"], "Linux bridges (docker0, br-*)"),
    m("veth", Both, &["VETH"], "container interfaces"),
];

/// The entry for `name`, if it is one of [`REQUIRED_MODULES`].
pub fn required(name: &str) -> Option<&'static RequiredModule> {
    let n = index::normalize(name);
    REQUIRED_MODULES
        .iter()
        .find(|r| index::normalize(r.name) == n)
}
