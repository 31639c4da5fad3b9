//! Which netfilter back end holds the rules, judged from kernel state (the
//! `iptables --version` text and the alternatives link are only hints):
//! iptables-nft's tables in nf_tables, legacy x_tables tables, where
//! Docker's chains are, Docker 29's own `docker-bridges` table, and the
//! conflicts a mixed setup brings.

use crate::backend::{legacy, nft, Backend};
use crate::ruleset::{Policy, Ruleset, Target};
use crate::Family;
use serde::Serialize;

/// Docker's chains in iptables tables, by table (any Docker version).
pub const DOCKER_CHAINS: &[(&str, &str)] = &[
    ("nat", "DOCKER"),
    ("nat", "DOCKER-INGRESS"),
    ("filter", "DOCKER"),
    ("filter", "DOCKER-USER"),
    ("filter", "DOCKER-FORWARD"),
    ("filter", "DOCKER-BRIDGE"),
    ("filter", "DOCKER-CT"),
    ("filter", "DOCKER-INTERNAL"),
    ("filter", "DOCKER-INGRESS"),
    ("filter", "DOCKER-ISOLATION"),
    ("filter", "DOCKER-ISOLATION-STAGE-1"),
    ("filter", "DOCKER-ISOLATION-STAGE-2"),
];

/// What one back end holds for one family.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BackendSide {
    /// The back end could be read.
    pub readable: bool,
    /// Why not (privilege, kernel without it).
    pub error: Option<String>,
    /// iptables tables present (nf_tables: tables iptables-nft treats as its
    /// own; legacy: instantiated tables).
    pub tables: Vec<String>,
    /// Rules in those tables.
    pub rules: usize,
    /// nf_tables only: some rule carries an x_tables extension (a compat
    /// `match`/`target`, the mark of iptables-nft).
    pub xt_extensions: bool,
    /// nf_tables tables iptables cannot list (foreign expressions).
    pub incompatible_tables: Vec<String>,
    /// Docker's chains found, as `table/CHAIN`.
    pub docker_chains: Vec<String>,
    /// Chains that rules jump to but that are missing here (`table/CHAIN`).
    pub dangling_jumps: Vec<String>,
    /// The filter FORWARD policy, when the chain exists.
    pub forward_policy: Option<Policy>,
    /// Docker's ACCEPT rules for forwarded traffic are present here.
    pub docker_forward_accepts: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Nft,
    Legacy,
    Both,
    None,
}

/// A concrete way the two back ends get in each other's way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// Stable identifier: `docker-chains-split`, `jump-to-other-backend`,
    /// `forward-drop-defeats-accepts`, `nftables-and-iptables-docker`.
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendReport {
    pub family: Family,
    pub nft: BackendSide,
    pub legacy: BackendSide,
    /// nf_tables holds Docker 29's own `docker-bridges` table
    /// (`--firewall-backend=nftables`).
    pub docker_nftables_table: bool,
    pub verdict: Verdict,
    /// Where Docker's chains are.
    pub docker_backend: Option<Backend>,
    pub conflicts: Vec<Conflict>,
}

fn side(rs: Result<&Ruleset, String>) -> BackendSide {
    let rs = match rs {
        Ok(rs) => rs,
        Err(e) => {
            return BackendSide {
                error: Some(e),
                ..BackendSide::default()
            }
        }
    };
    let mut s = BackendSide {
        readable: true,
        ..BackendSide::default()
    };
    for t in &rs.tables {
        s.tables.push(t.name.clone());
        if let crate::ruleset::TableCompat::Incompatible { .. } = t.compat {
            s.incompatible_tables.push(t.name.clone());
        }
        for c in &t.chains {
            s.rules += c.rules.len();
            if DOCKER_CHAINS.contains(&(t.name.as_str(), c.name.as_str())) {
                s.docker_chains.push(format!("{}/{}", t.name, c.name));
            }
            for r in &c.rules {
                if !r.matches.is_empty() || matches!(r.target, Target::Ext(_)) {
                    s.xt_extensions = true;
                }
                if let Some(to) = r.target.chain() {
                    if t.chain(to).is_none() {
                        s.dangling_jumps.push(format!("{}/{to}", t.name));
                    }
                }
                if t.name == "filter"
                    && r.target == Target::Accept
                    && matches!(c.name.as_str(), "FORWARD" | "DOCKER-FORWARD" | "DOCKER-CT")
                    && !r.spec.out_iface.is_any()
                    || (t.name == "filter"
                        && c.name == "DOCKER-FORWARD"
                        && r.target == Target::Accept)
                {
                    s.docker_forward_accepts |= !s.docker_chains.is_empty() || c.name != "FORWARD";
                }
            }
            if t.name == "filter" && c.name == "FORWARD" {
                s.forward_policy = c.base.as_ref().map(|b| b.policy);
            }
        }
    }
    s
}

/// Judges the back ends from what was read (pure).
pub fn classify(
    family: Family,
    nft: Result<&Ruleset, String>,
    legacy: Result<&Ruleset, String>,
    nft_table_names: &[String],
) -> BackendReport {
    let n = side(nft);
    let l = side(legacy);
    let docker_nftables_table = nft_table_names.iter().any(|t| t == "docker-bridges");
    let holds = |s: &BackendSide| s.rules > 0 || !s.docker_chains.is_empty();
    let verdict = match (holds(&n), holds(&l)) {
        (true, true) => Verdict::Both,
        (true, false) => Verdict::Nft,
        (false, true) => Verdict::Legacy,
        (false, false) => Verdict::None,
    };
    let docker_backend = match (n.docker_chains.is_empty(), l.docker_chains.is_empty()) {
        (false, true) => Some(Backend::Nft),
        (true, false) => Some(Backend::Legacy),
        (false, false) => Some(if n.docker_chains.len() >= l.docker_chains.len() {
            Backend::Nft
        } else {
            Backend::Legacy
        }),
        (true, true) => None,
    };
    let mut conflicts = Vec::new();
    if !n.docker_chains.is_empty() && !l.docker_chains.is_empty() {
        conflicts.push(Conflict {
            code: "docker-chains-split",
            message: format!(
                "Docker's chains exist in both back ends: nf_tables has {}; legacy has {}",
                n.docker_chains.join(", "),
                l.docker_chains.join(", ")
            ),
        });
    }
    for (here, there, here_name, there_name) in [
        (&n, &l, "nf_tables", "legacy"),
        (&l, &n, "legacy", "nf_tables"),
    ] {
        for j in &here.dangling_jumps {
            if there.docker_chains.contains(j) {
                conflicts.push(Conflict {
                    code: "jump-to-other-backend",
                    message: format!(
                        "a {here_name} rule jumps to {j}, which exists only in {there_name}"
                    ),
                });
            }
        }
        if here.forward_policy == Some(Policy::Drop)
            && there.docker_forward_accepts
            && !here.docker_forward_accepts
        {
            conflicts.push(Conflict {
                code: "forward-drop-defeats-accepts",
                message: format!(
                    "{here_name}'s FORWARD policy is DROP while Docker's forwarding ACCEPT rules are in {there_name}: \
                     both hooks run, so {here_name} drops container traffic that {there_name} accepts"
                ),
            });
        }
    }
    if docker_nftables_table && docker_backend.is_some() {
        conflicts.push(Conflict {
            code: "nftables-and-iptables-docker",
            message: "nf_tables holds Docker 29's own `docker-bridges` tables and Docker's iptables chains exist too: \
                      a daemon switched firewall back ends without cleaning up"
                .into(),
        });
    }
    BackendReport {
        family,
        nft: n,
        legacy: l,
        docker_nftables_table,
        verdict,
        docker_backend,
        conflicts,
    }
}

/// Both back ends' iptables tables of `family`, and nf_tables' table names.
#[derive(Debug, Clone)]
pub struct BothRead {
    pub nft: Result<Ruleset, String>,
    /// The nf_tables generation `nft` was read at.
    pub nft_genid: Option<u32>,
    pub legacy: Result<Ruleset, String>,
    pub nft_table_names: Vec<String>,
}

/// Reads both back ends of `family`.
pub fn read_both(family: Family) -> BothRead {
    read_both_knowing(family, None)
}

/// [`read_both`], with the nf_tables rules already known (a commit just
/// confirmed them at that generation): only the table names are read.
pub fn read_both_knowing(family: Family, known_nft: Option<(Ruleset, u32)>) -> BothRead {
    let nft_read = nft::NftReader::open(family).and_then(|mut r| {
        let names = r.tables()?;
        if let Some((rs, genid)) = known_nft {
            return Ok((rs, genid, names));
        }
        // Several chains at a time: Docker's chains hold thousands of rules
        // on a busy host, and each costs the kernel quadratic time to dump.
        let (rs, genid) = nft::read::read_ruleset_at(family, None)?;
        Ok((rs, genid, names))
    });
    let legacy_read = (|| {
        // The socket is opened even when no table exists, so that a lack of
        // privilege shows (reading nothing proves nothing).
        let mut sock = legacy::RawSocket::open(family).map_err(|e| {
            crate::backend::BackendError::legacy_io(family, "opening a raw socket".into(), e)
        })?;
        let names = legacy::table_names(family);
        legacy::read_ruleset(&mut sock, family, &names)
    })();
    let (nft, nft_genid, nft_table_names) = match nft_read {
        Ok((rs, genid, names)) => (Ok(rs), Some(genid), names),
        Err(e) => (Err(e.to_string()), None, Vec::new()),
    };
    BothRead {
        nft,
        nft_genid,
        legacy: legacy_read.map_err(|e| e.to_string()),
        nft_table_names,
    }
}

impl BothRead {
    pub fn classify(&self, family: Family) -> BackendReport {
        classify(
            family,
            self.nft.as_ref().map_err(Clone::clone),
            self.legacy.as_ref().map_err(Clone::clone),
            &self.nft_table_names,
        )
    }
}

/// Reads both back ends of `family` and classifies them.
pub fn detect(family: Family) -> BackendReport {
    read_both(family).classify(family)
}
