//! Docker 29's nftables backend (`--firewall-backend=nftables`,
//! docker-rules.md §10): the structure of the `ip docker-bridges` /
//! `ip6 docker-bridges` table Docker owns — its base chains, regular
//! chains and verdict-map elements per bridge. The rules inside are not
//! modelled (the table is Docker's alone and re-created at every start;
//! `check` can compare structure, `fix` restarts nothing there).
//!
//! Sources: docker-v29.7.2 `daemon/libnetwork/drivers/bridge/internal/
//! nftabler/{nftabler,network}.go`; nftablesdoc @ docker-v29.7.2.

use super::common::Build;
use crate::Family;
use serde::Serialize;

/// A base chain of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NftBaseChain {
    pub name: String,
    /// `filter` or `nat`.
    pub chain_type: &'static str,
    /// `forward`, `prerouting`, `output`, `postrouting`.
    pub hook: &'static str,
    /// As Docker writes it (numeric).
    pub priority: i32,
}

/// A verdict map keyed by interface name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NftMap {
    pub name: String,
    /// (interface, chain it jumps to), in network creation order.
    pub elements: Vec<(String, String)>,
}

/// What Docker's nftables table must look like for one family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NftExpectation {
    /// `ip` or `ip6`.
    pub family: &'static str,
    /// `docker-bridges`.
    pub table: &'static str,
    pub base_chains: Vec<NftBaseChain>,
    /// Regular chains: `nat-prerouting-and-output`, then four per bridge.
    pub chains: Vec<String>,
    pub maps: Vec<NftMap>,
}

/// Per-bridge chain prefixes, in the order Docker creates them.
const PER_BRIDGE: [&str; 4] = [
    "filter-forward-in__",
    "filter-forward-out__",
    "nat-postrouting-in__",
    "nat-postrouting-out__",
];

const MAPS: [(&str, &str); 4] = [
    ("filter-forward-in-jumps", "filter-forward-in__"),
    ("filter-forward-out-jumps", "filter-forward-out__"),
    ("nat-postrouting-in-jumps", "nat-postrouting-in__"),
    ("nat-postrouting-out-jumps", "nat-postrouting-out__"),
];

pub(crate) fn expected_nft(b: &Build<'_>) -> Option<NftExpectation> {
    if !b.enabled(b.fam) {
        return None;
    }
    let base = |name: &str, chain_type, hook, priority| NftBaseChain {
        name: name.to_string(),
        chain_type,
        hook,
        priority,
    };
    let bridges: Vec<&str> =
        b.st.networks
            .iter()
            .filter(|n| b.prefix(n).is_some())
            .map(|n| n.bridge.as_str())
            .collect();
    let mut chains = vec!["nat-prerouting-and-output".to_string()];
    for br in &bridges {
        chains.extend(PER_BRIDGE.iter().map(|p| format!("{p}{br}")));
    }
    Some(NftExpectation {
        family: b.fam.nft_name(),
        table: "docker-bridges",
        base_chains: vec![
            base("filter-FORWARD", "filter", "forward", 0),
            base("nat-OUTPUT", "nat", "output", -100),
            base("nat-POSTROUTING", "nat", "postrouting", 100),
            base("nat-PREROUTING", "nat", "prerouting", -100),
            base("raw-PREROUTING", "filter", "prerouting", -300),
        ],
        chains,
        maps: MAPS
            .iter()
            .map(|(name, prefix)| NftMap {
                name: name.to_string(),
                elements: bridges
                    .iter()
                    .map(|br| (br.to_string(), format!("{prefix}{br}")))
                    .collect(),
            })
            .collect(),
    })
}

impl NftExpectation {
    /// `table ip docker-bridges`.
    pub fn table_spec(&self) -> String {
        format!("table {} {}", self.family, self.table)
    }

    /// Whether `family`'s table is expected at all.
    pub fn for_family(&self, family: Family) -> bool {
        self.family == family.nft_name()
    }
}
