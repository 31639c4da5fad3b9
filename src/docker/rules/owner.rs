//! Which chains and rules are Docker's, so that `fix` knows what it may
//! touch: Docker's own chains (flushed and rebuilt by dockerd at every
//! start), DOCKER-USER (Docker's jump, the user's rules), and the rules
//! Docker puts into built-in chains — recognised by their shape, so a rule
//! Docker made for a container that has since gone (an old address) is
//! still known as Docker's.

use crate::ruleset::command::split_args;
use crate::ruleset::{Rule, BUILTIN_CHAINS};
use crate::small::ShortStr;
use crate::Family;
use serde::Serialize;

/// Who a chain belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainOwner {
    /// A built-in chain: Docker adds rules to it, and so may anyone.
    Builtin,
    /// Created by Docker, flushed and rebuilt at every daemon start; every
    /// rule in it is Docker's.
    Docker,
    /// `DOCKER-USER`: Docker creates it and keeps the jump to it at the top
    /// of FORWARD; its rules are the user's (Docker only ever adds `-j
    /// RETURN`, ≤28.2.1). Never flush it.
    DockerUser,
    /// Not Docker's.
    Other,
}

/// Chains Docker creates, per table (all versions, swarm's DOCKER-INGRESS
/// included).
const DOCKER_CHAINS: &[(&str, &str)] = &[
    ("nat", "DOCKER"),
    ("nat", "DOCKER-INGRESS"),
    ("filter", "DOCKER"),
    ("filter", "DOCKER-ISOLATION"),
    ("filter", "DOCKER-ISOLATION-STAGE-1"),
    ("filter", "DOCKER-ISOLATION-STAGE-2"),
    ("filter", "DOCKER-FORWARD"),
    ("filter", "DOCKER-BRIDGE"),
    ("filter", "DOCKER-CT"),
    ("filter", "DOCKER-INTERNAL"),
    ("filter", "DOCKER-INGRESS"),
];

pub fn chain_owner(table: &str, chain: &str) -> ChainOwner {
    if BUILTIN_CHAINS
        .iter()
        .any(|(t, c, _, _, _)| *t == table && *c == chain)
    {
        ChainOwner::Builtin
    } else if table == "filter" && chain == "DOCKER-USER" {
        ChainOwner::DockerUser
    } else if DOCKER_CHAINS
        .iter()
        .any(|(t, c)| *t == table && *c == chain)
    {
        ChainOwner::Docker
    } else {
        ChainOwner::Other
    }
}

/// A chain whose whole content is Docker's ([`ChainOwner::Docker`]).
pub fn is_docker_chain(table: &str, chain: &str) -> bool {
    chain_owner(table, chain) == ChainOwner::Docker
}

/// What a Docker-made rule is, with the values that identify it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleKind {
    /// nat PREROUTING/OUTPUT `-m addrtype --dst-type LOCAL -j DOCKER`.
    NatJump,
    /// nat DOCKER DNAT of a published port.
    Dnat {
        proto: ShortStr,
        /// `None`: any host address.
        host_ip: Option<ShortStr>,
        host_port: u16,
        /// `ADDR:PORT` or `[ADDR6]:PORT`.
        to: ShortStr,
        /// `! -i BR` (proxy on), if present.
        bridge: Option<ShortStr>,
    },
    /// nat DOCKER `-i BR -j RETURN`.
    SkipDnat { bridge: ShortStr },
    /// nat DOCKER `-d 127.0.0.0/8 -i loopback0 -j RETURN` (WSL2).
    Wsl2Loopback,
    /// nat POSTROUTING `-s SUBNET ! -o BR -j MASQUERADE|SNAT`.
    SubnetMasquerade { subnet: ShortStr, bridge: ShortStr },
    /// nat POSTROUTING `-o BR -m addrtype --src-type LOCAL -j MASQUERADE|SNAT`.
    HostMasquerade { bridge: ShortStr },
    /// nat POSTROUTING `-s CIP -d CIP -p P --dport N -j MASQUERADE`.
    SelfMasquerade {
        ip: ShortStr,
        proto: ShortStr,
        port: u16,
    },
    /// filter DOCKER `-d CIP ! -i BR -o BR -p P --dport N -j ACCEPT`.
    PortAccept {
        ip: ShortStr,
        bridge: ShortStr,
        proto: ShortStr,
        port: u16,
    },
    /// filter DOCKER `! -i BR -o BR -j DROP|ACCEPT` (28+).
    BridgeDefault { bridge: ShortStr, accept: bool },
    /// filter DOCKER `-o BR -p icmp -j ACCEPT` (routed networks).
    RoutedIcmp { bridge: ShortStr },
    /// A legacy `--link` ACCEPT in filter DOCKER.
    Link { bridge: ShortStr },
    /// An unconditional jump between Docker's chains (`-j DOCKER-USER`,
    /// `-j DOCKER-FORWARD`, `-j DOCKER-ISOLATION-STAGE-1`, …).
    Jump { to: ShortStr },
    /// `-o BR -j DOCKER` (FORWARD ≤27, DOCKER-BRIDGE 28+).
    BridgeJump { bridge: ShortStr },
    /// `-o BR -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`.
    Conntrack { bridge: ShortStr },
    /// `-i BR ! -o BR -j ACCEPT` or (28+, icc) `-i BR -j ACCEPT`.
    Outgoing { bridge: ShortStr },
    /// `-i BR -o BR -j ACCEPT|DROP`.
    Icc { bridge: ShortStr, accept: bool },
    /// STAGE-1 `-i BR ! -o BR -j …STAGE-2` or STAGE-2 `-o BR -j DROP`.
    Isolation { bridge: ShortStr, stage: u8 },
    /// STAGE-1 rules of a routed network (28.x).
    IsolationRouted { bridge: ShortStr },
    /// An internal network's DROPs (STAGE-1 or DOCKER-INTERNAL).
    InternalDrop { bridge: ShortStr, subnet: ShortStr },
    /// `-j RETURN` ending an isolation chain or DOCKER-USER.
    Return,
    /// 28.0.0's FORWARD rules matching `docker-ext-bridges-v4/-v6`.
    Ipset,
    /// raw PREROUTING `-d CIP ! -i BR [-p P --dport N] -j DROP`.
    RawDirectDrop {
        ip: ShortStr,
        bridge: ShortStr,
        /// 28.0.x–28.1.x per-port form.
        port: Option<(ShortStr, u16)>,
    },
    /// raw PREROUTING `-d CIP -i IF -j ACCEPT` (trusted host interface).
    RawTrustedAccept { ip: ShortStr, iface: ShortStr },
    /// raw PREROUTING `-d 127.x/32 ! -i lo -p P --dport N -j DROP`.
    RawLoopbackDrop {
        ip: ShortStr,
        proto: ShortStr,
        port: u16,
    },
    /// raw PREROUTING `… -i loopback0 … -j ACCEPT` (WSL2).
    RawWsl2Accept {
        ip: ShortStr,
        proto: ShortStr,
        port: u16,
    },
    /// mangle POSTROUTING `-p sctp --sport N -j CHECKSUM --checksum-fill`.
    SctpChecksum { port: u16 },
    /// DOCKER-FORWARD `-m mark --mark M -j ACCEPT` (29).
    FwMark,
}

/// A rule recognised as Docker's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DockerRule {
    pub table: String,
    pub chain: String,
    pub kind: RuleKind,
}

impl DockerRule {
    /// The bridge the rule is about, if any.
    pub fn bridge(&self) -> Option<&str> {
        use RuleKind::*;
        match &self.kind {
            Dnat { bridge, .. } => bridge.as_deref(),
            SkipDnat { bridge }
            | SubnetMasquerade { bridge, .. }
            | HostMasquerade { bridge }
            | PortAccept { bridge, .. }
            | BridgeDefault { bridge, .. }
            | RoutedIcmp { bridge }
            | Link { bridge }
            | BridgeJump { bridge }
            | Conntrack { bridge }
            | Outgoing { bridge }
            | Icc { bridge, .. }
            | Isolation { bridge, .. }
            | IsolationRouted { bridge }
            | InternalDrop { bridge, .. }
            | RawDirectDrop { bridge, .. } => Some(bridge),
            _ => None,
        }
    }

    /// The container address the rule points at, if any (DNAT target,
    /// published-port ACCEPT, self-MASQUERADE, raw direct-access rules).
    pub fn container_ip(&self) -> Option<&str> {
        use RuleKind::*;
        match &self.kind {
            Dnat { to, .. } => Some(
                to.strip_prefix('[')
                    .and_then(|t| t.split_once(']'))
                    .map(|(a, _)| a)
                    .unwrap_or_else(|| to.rsplit_once(':').map(|(a, _)| a).unwrap_or(to)),
            ),
            SelfMasquerade { ip, .. }
            | PortAccept { ip, .. }
            | RawDirectDrop { ip, .. }
            | RawTrustedAccept { ip, .. } => Some(ip),
            _ => None,
        }
    }

    /// What must be unique: two rules with the same slot cannot both be
    /// right. A DNAT's slot is its protocol, host address and host port — a
    /// DNAT for the same host port to another destination is the stale rule
    /// of a container that is gone or was re-addressed.
    pub fn slot(&self) -> Option<String> {
        match &self.kind {
            RuleKind::Dnat {
                proto,
                host_ip,
                host_port,
                ..
            } => Some(format!(
                "nat DOCKER dnat {proto} {}:{host_port}",
                host_ip.as_deref().unwrap_or("*")
            )),
            RuleKind::RawLoopbackDrop { ip, proto, port } => {
                Some(format!("raw loopback {proto} {ip}:{port}"))
            }
            _ => None,
        }
    }

    /// Same slot, different rule (see [`slot`](Self::slot)).
    pub fn conflicts_with(&self, other: &DockerRule) -> bool {
        self != other && self.slot().is_some() && self.slot() == other.slot()
    }
}

/// The parts of a save line.
#[derive(Debug, Default)]
struct Parts {
    chain: String,
    s: Option<(bool, String)>,
    d: Option<(bool, String)>,
    i: Option<(bool, String)>,
    o: Option<(bool, String)>,
    p: Option<(bool, String)>,
    /// `-m NAME` and the words after it.
    matches: Vec<(String, Vec<String>)>,
    target: String,
    target_args: Vec<String>,
}

impl Parts {
    fn parse(line: &str) -> Option<Parts> {
        let args = split_args(line);
        let mut it = args.iter().peekable();
        let mut p = Parts::default();
        let mut not = false;
        let mut in_target = false;
        while let Some(a) = it.next() {
            match a.as_str() {
                "-A" => p.chain = it.next()?.clone(),
                "!" => not = true,
                "-s" | "-d" | "-i" | "-o" | "-p" if !in_target && p.matches.is_empty() => {
                    let v = Some((std::mem::take(&mut not), it.next()?.clone()));
                    match a.as_str() {
                        "-s" => p.s = v,
                        "-d" => p.d = v,
                        "-i" => p.i = v,
                        "-o" => p.o = v,
                        _ => p.p = v,
                    }
                }
                "-m" if !in_target => p.matches.push((it.next()?.clone(), Vec::new())),
                "-j" | "-g" => {
                    in_target = true;
                    p.target = it.next()?.clone();
                }
                other => {
                    let word = if std::mem::take(&mut not) {
                        format!("! {other}")
                    } else {
                        other.to_string()
                    };
                    if in_target {
                        p.target_args.push(word);
                    } else {
                        p.matches.last_mut()?.1.push(word);
                    }
                }
            }
        }
        Some(p)
    }

    fn pos(sel: &Option<(bool, String)>) -> Option<&str> {
        match sel {
            Some((false, v)) => Some(v),
            _ => None,
        }
    }

    fn neg(sel: &Option<(bool, String)>) -> Option<&str> {
        match sel {
            Some((true, v)) => Some(v),
            _ => None,
        }
    }

    fn has_match(&self, name: &str) -> bool {
        self.matches.iter().any(|(m, _)| m == name)
    }

    /// The value of `--opt` in any match.
    fn opt(&self, opt: &str) -> Option<&str> {
        self.matches.iter().find_map(|(_, words)| {
            words
                .iter()
                .position(|w| w == opt)
                .and_then(|i| words.get(i + 1))
                .map(String::as_str)
        })
    }

    fn dport(&self) -> Option<u16> {
        self.opt("--dport")?.parse().ok()
    }

    fn only_match(&self, name: &str, words: &[&str]) -> bool {
        self.matches.len() == 1 && self.matches[0].0 == name && self.matches[0].1 == words
    }

    fn proto_match(&self) -> bool {
        match &self.p {
            Some((false, p)) => self.matches.len() == 1 && &self.matches[0].0 == p,
            _ => false,
        }
    }
}

fn strip_host(a: &str) -> ShortStr {
    a.strip_suffix("/32")
        .or_else(|| a.strip_suffix("/128"))
        .unwrap_or(a)
        .into()
}

/// Recognises a Docker-made rule from its iptables-save line (`-A CHAIN
/// …`) in `table`. Rules in Docker's own chains that match no known shape
/// are still Docker's by ownership ([`is_docker_chain`]) — they return
/// `None` here.
pub fn classify(table: &str, line: &str) -> Option<DockerRule> {
    let p = Parts::parse(line)?;
    let kind = classify_parts(table, &p)?;
    Some(DockerRule {
        table: table.to_string(),
        chain: p.chain,
        kind,
    })
}

/// [`classify`] for a model rule (printed first).
pub fn classify_rule(family: Family, table: &str, chain: &str, rule: &Rule) -> Option<DockerRule> {
    let mut line = String::new();
    super::text::printer(family).rule(chain, rule, &mut line);
    classify(table, line.trim_end())
}

fn classify_parts(table: &str, p: &Parts) -> Option<RuleKind> {
    use RuleKind::*;
    let chain = p.chain.as_str();
    let t = p.target.as_str();
    let none = |x: &Option<(bool, String)>| x.is_none();
    match (table, chain) {
        ("nat", "PREROUTING" | "OUTPUT")
            if t == "DOCKER"
                && none(&p.s)
                && none(&p.i)
                && none(&p.o)
                && p.only_match("addrtype", &["--dst-type", "LOCAL"]) =>
        {
            Some(NatJump)
        }
        ("nat", "DOCKER") if t == "DNAT" => {
            let to = p
                .target_args
                .iter()
                .position(|w| w == "--to-destination")
                .and_then(|i| p.target_args.get(i + 1))?
                .clone();
            Some(Dnat {
                proto: Parts::pos(&p.p)?.into(),
                host_ip: Parts::pos(&p.d).map(strip_host),
                host_port: p.dport()?,
                to: to.into(),
                bridge: Parts::neg(&p.i).map(ShortStr::from),
            })
        }
        ("nat", "DOCKER") if t == "RETURN" && p.matches.is_empty() => {
            if Parts::pos(&p.i) == Some("loopback0") {
                Some(Wsl2Loopback)
            } else {
                Some(SkipDnat {
                    bridge: Parts::pos(&p.i)?.into(),
                })
            }
        }
        ("nat", "POSTROUTING") if t == "MASQUERADE" || t == "SNAT" => {
            if let (Some(s), Some(o)) = (Parts::pos(&p.s), Parts::neg(&p.o)) {
                if p.matches.is_empty() && none(&p.d) {
                    return Some(SubnetMasquerade {
                        subnet: s.into(),
                        bridge: o.into(),
                    });
                }
            }
            if let Some(o) = Parts::pos(&p.o) {
                if p.only_match("addrtype", &["--src-type", "LOCAL"]) {
                    return Some(HostMasquerade { bridge: o.into() });
                }
            }
            let (s, d) = (Parts::pos(&p.s)?, Parts::pos(&p.d)?);
            if s == d && t == "MASQUERADE" && p.proto_match() {
                return Some(SelfMasquerade {
                    ip: strip_host(s),
                    proto: Parts::pos(&p.p)?.into(),
                    port: p.dport()?,
                });
            }
            None
        }
        ("filter", "DOCKER") => {
            if let (Some(d), Some(i), Some(o)) =
                (Parts::pos(&p.d), Parts::neg(&p.i), Parts::pos(&p.o))
            {
                if i == o && t == "ACCEPT" && p.proto_match() {
                    return Some(PortAccept {
                        ip: strip_host(d),
                        bridge: o.into(),
                        proto: Parts::pos(&p.p)?.into(),
                        port: p.dport()?,
                    });
                }
            }
            if let (Some(i), Some(o)) = (Parts::neg(&p.i), Parts::pos(&p.o)) {
                if i == o && p.matches.is_empty() && none(&p.s) && none(&p.d) {
                    return Some(BridgeDefault {
                        bridge: o.into(),
                        accept: t == "ACCEPT",
                    });
                }
            }
            if let (Some(o), true) = (Parts::pos(&p.o), none(&p.i)) {
                if t == "ACCEPT"
                    && matches!(Parts::pos(&p.p), Some("icmp" | "ipv6-icmp"))
                    && p.matches.is_empty()
                {
                    return Some(RoutedIcmp { bridge: o.into() });
                }
            }
            if let (Some(i), Some(o)) = (Parts::pos(&p.i), Parts::pos(&p.o)) {
                if i == o && t == "ACCEPT" && Parts::pos(&p.s).is_some() {
                    return Some(Link { bridge: o.into() });
                }
            }
            None
        }
        ("filter", _) => classify_filter(p),
        ("raw", "PREROUTING") => {
            let d = Parts::pos(&p.d)?;
            let ip = strip_host(d);
            match (t, Parts::pos(&p.i), Parts::neg(&p.i)) {
                ("DROP", None, Some("lo")) if p.proto_match() => Some(RawLoopbackDrop {
                    ip,
                    proto: Parts::pos(&p.p)?.into(),
                    port: p.dport()?,
                }),
                ("DROP", None, Some(br)) if p.matches.is_empty() && none(&p.p) => {
                    Some(RawDirectDrop {
                        ip,
                        bridge: br.into(),
                        port: None,
                    })
                }
                ("DROP", None, Some(br)) if p.proto_match() => Some(RawDirectDrop {
                    ip,
                    bridge: br.into(),
                    port: Some((Parts::pos(&p.p)?.into(), p.dport()?)),
                }),
                ("ACCEPT", Some("loopback0"), None) if p.proto_match() => Some(RawWsl2Accept {
                    ip,
                    proto: Parts::pos(&p.p)?.into(),
                    port: p.dport()?,
                }),
                ("ACCEPT", Some(iface), None) if p.matches.is_empty() && none(&p.p) => {
                    Some(RawTrustedAccept {
                        ip,
                        iface: iface.into(),
                    })
                }
                _ => None,
            }
        }
        ("mangle", "POSTROUTING")
            if t == "CHECKSUM" && Parts::pos(&p.p) == Some("sctp") && p.has_match("sctp") =>
        {
            Some(SctpChecksum {
                port: p.opt("--sport")?.parse().ok()?,
            })
        }
        _ => None,
    }
}

const JUMP_TARGETS: &[&str] = &[
    "DOCKER-USER",
    "DOCKER-FORWARD",
    "DOCKER-BRIDGE",
    "DOCKER-CT",
    "DOCKER-INTERNAL",
    "DOCKER-ISOLATION",
    "DOCKER-ISOLATION-STAGE-1",
    "DOCKER-ISOLATION-STAGE-2",
    "DOCKER-INGRESS",
];

/// filter FORWARD and Docker's filter chains other than DOCKER.
fn classify_filter(p: &Parts) -> Option<RuleKind> {
    use RuleKind::*;
    let chain = p.chain.as_str();
    let t = p.target.as_str();
    let bare = p.s.is_none() && p.d.is_none() && p.p.is_none();
    if p.has_match("set")
        && p.opt("--match-set")
            .is_some_and(|s| s.starts_with("docker-ext-bridges"))
    {
        return Some(Ipset);
    }
    if bare && p.i.is_none() && p.o.is_none() && p.matches.is_empty() {
        if JUMP_TARGETS.contains(&t) {
            return Some(Jump { to: t.into() });
        }
        if t == "RETURN"
            && matches!(
                chain,
                "DOCKER-USER" | "DOCKER-ISOLATION-STAGE-1" | "DOCKER-ISOLATION-STAGE-2"
            )
        {
            return Some(Return);
        }
    }
    if chain == "DOCKER-FORWARD" && t == "ACCEPT" && p.has_match("mark") && p.i.is_none() {
        return Some(FwMark);
    }
    let (i, o) = (Parts::pos(&p.i), Parts::pos(&p.o));
    let (ni, no) = (Parts::neg(&p.i), Parts::neg(&p.o));
    if matches!(chain, "DOCKER-ISOLATION-STAGE-1" | "DOCKER-INTERNAL") && t == "DROP" {
        if let Some(sub) = Parts::neg(&p.d).or(Parts::neg(&p.s)) {
            return Some(InternalDrop {
                bridge: i.or(o)?.into(),
                subnet: sub.into(),
            });
        }
    }
    if !bare {
        return None;
    }
    let ct = p.only_match("conntrack", &["--ctstate", "RELATED,ESTABLISHED"]);
    match (chain, t) {
        ("FORWARD" | "DOCKER-BRIDGE", "DOCKER") if p.matches.is_empty() && p.i.is_none() => {
            Some(BridgeJump { bridge: o?.into() })
        }
        ("FORWARD" | "DOCKER-CT", "ACCEPT") if ct && p.i.is_none() && o.is_some() => {
            Some(Conntrack { bridge: o?.into() })
        }
        ("DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2") => match (i, no) {
            (Some(a), Some(b)) if a == b => Some(Isolation {
                bridge: a.into(),
                stage: 1,
            }),
            _ => None,
        },
        ("DOCKER-ISOLATION-STAGE-2", "DROP") if p.i.is_none() && p.matches.is_empty() => {
            Some(Isolation {
                bridge: o?.into(),
                stage: 2,
            })
        }
        ("DOCKER-ISOLATION-STAGE-1", "RETURN" | "ACCEPT") => Some(IsolationRouted {
            bridge: i.or(o)?.into(),
        }),
        ("FORWARD" | "DOCKER-FORWARD", "ACCEPT" | "DROP") if p.matches.is_empty() => {
            match (i, o, no, ni) {
                (Some(a), Some(b), None, None) if a == b => Some(Icc {
                    bridge: a.into(),
                    accept: t == "ACCEPT",
                }),
                (Some(a), None, Some(b), None) if a == b && t == "ACCEPT" => {
                    Some(Outgoing { bridge: a.into() })
                }
                (Some(a), None, None, None) if t == "ACCEPT" && chain == "DOCKER-FORWARD" => {
                    Some(Outgoing { bridge: a.into() })
                }
                // 28.0.0 put the icc=true outgoing rule in FORWARD.
                (Some(a), None, None, None) if t == "ACCEPT" => Some(Outgoing { bridge: a.into() }),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether Docker rule `a` must come before `b` in `table`/`chain` for the
/// chain to work as Docker means it (DOCKER-USER's jump before Docker's,
/// a bridge's published-port ACCEPTs before its default DROP, skip-DNAT
/// before the DNATs, a routed network's RETURN before the jumps to stage 2,
/// a trusted interface's ACCEPT before the container's raw DROP, RETURN
/// last, …). Any other order of Docker's rules is not significant — it is
/// creation order, which differs after a daemon restart (docker-rules.md
/// §5.5).
pub fn must_precede(table: &str, chain: &str, a: &RuleKind, b: &RuleKind) -> bool {
    let (ra, sa) = order_key(table, chain, a);
    let (rb, sb) = order_key(table, chain, b);
    ra < rb && (sa.is_none() || sb.is_none() || sa == sb)
}

/// (rank, scope): lower ranks first, among rules of the same scope (a
/// bridge or a container address; `None` concerns every rule).
pub(crate) fn order_key<'k>(table: &str, chain: &str, kind: &'k RuleKind) -> (u8, Option<&'k str>) {
    use RuleKind::*;
    match (table, chain, kind) {
        ("filter", "FORWARD", Jump { to }) if to == "DOCKER-USER" => (0, None),
        ("filter", "FORWARD", Jump { .. } | Ipset) => (1, None),
        ("filter", "FORWARD", _) => (2, None),
        (
            "filter",
            "DOCKER",
            PortAccept { bridge, .. } | RoutedIcmp { bridge } | Link { bridge },
        ) => (0, Some(bridge.as_str())),
        ("filter", "DOCKER", BridgeDefault { bridge, .. }) => (1, Some(bridge.as_str())),
        ("nat", "DOCKER", SkipDnat { .. } | Wsl2Loopback) => (0, None),
        ("nat", "DOCKER", Dnat { .. }) => (1, None),
        (_, "DOCKER-ISOLATION-STAGE-1", IsolationRouted { .. }) => (0, None),
        (_, "DOCKER-ISOLATION-STAGE-1", Isolation { .. } | InternalDrop { .. }) => (1, None),
        (_, "DOCKER-ISOLATION-STAGE-1" | "DOCKER-ISOLATION-STAGE-2" | "DOCKER-USER", Return) => {
            (2, None)
        }
        ("filter", "DOCKER-FORWARD", FwMark) => (0, None),
        ("filter", "DOCKER-FORWARD", Jump { to }) => match to.as_str() {
            "DOCKER-CT" => (1, None),
            "DOCKER-BRIDGE" => (3, None),
            _ => (2, None),
        },
        ("filter", "DOCKER-FORWARD", _) => (4, None),
        ("raw", "PREROUTING", RawTrustedAccept { ip, .. } | RawWsl2Accept { ip, .. }) => {
            (0, Some(ip.as_str()))
        }
        ("raw", "PREROUTING", RawDirectDrop { ip, .. } | RawLoopbackDrop { ip, .. }) => {
            (1, Some(ip.as_str()))
        }
        _ => (0, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(table: &str, line: &str) -> Option<RuleKind> {
        classify(table, line).map(|r| r.kind)
    }

    #[test]
    fn owners() {
        assert_eq!(chain_owner("filter", "FORWARD"), ChainOwner::Builtin);
        assert_eq!(chain_owner("filter", "DOCKER-USER"), ChainOwner::DockerUser);
        assert!(is_docker_chain("nat", "DOCKER"));
        assert!(is_docker_chain("filter", "DOCKER-CT"));
        assert!(!is_docker_chain("nat", "DOCKER-USER"));
        assert!(!is_docker_chain("filter", "f2b-sshd"));
    }

    #[test]
    fn recognises_docker_rules() {
        let dnat = classify(
            "nat",
            "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80",
        )
        .unwrap();
        assert_eq!(dnat.container_ip(), Some("172.17.0.2"));
        let old = classify(
            "nat",
            "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.9:80",
        )
        .unwrap();
        assert!(old.conflicts_with(&dnat));
        let v6 = classify(
            "nat",
            "-A DOCKER ! -s fe80::/10 ! -i br-1 -p tcp -m tcp --dport 8081 -j DNAT --to-destination [fd00::2]:80",
        )
        .unwrap();
        assert_eq!(v6.container_ip(), Some("fd00::2"));
        assert!(!v6.conflicts_with(&dnat));
        assert_eq!(
            kind(
                "nat",
                "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"
            ),
            Some(RuleKind::SubnetMasquerade {
                subnet: "172.17.0.0/16".into(),
                bridge: "docker0".into()
            })
        );
        assert_eq!(
            kind(
                "nat",
                "-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p udp -m udp --dport 53 -j MASQUERADE"
            ),
            Some(RuleKind::SelfMasquerade {
                ip: "172.17.0.2".into(),
                proto: "udp".into(),
                port: 53
            })
        );
        assert_eq!(
            kind("raw", "-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP"),
            Some(RuleKind::RawDirectDrop {
                ip: "172.17.0.2".into(),
                bridge: "docker0".into(),
                port: None
            })
        );
        assert_eq!(
            kind(
                "raw",
                "-A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 8080 -j DROP"
            ),
            Some(RuleKind::RawLoopbackDrop {
                ip: "127.0.0.1".into(),
                proto: "tcp".into(),
                port: 8080
            })
        );
        assert_eq!(
            kind("filter", "-A FORWARD -j DOCKER-USER"),
            Some(RuleKind::Jump {
                to: "DOCKER-USER".into()
            })
        );
        assert_eq!(
            kind(
                "filter",
                "-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
            ),
            Some(RuleKind::Conntrack {
                bridge: "docker0".into()
            })
        );
        assert_eq!(
            kind("filter", "-A DOCKER-FORWARD -i docker0 -j ACCEPT"),
            Some(RuleKind::Outgoing {
                bridge: "docker0".into()
            })
        );
        assert_eq!(
            kind("filter", "-A FORWARD -i eth0 -o eth1 -p tcp -j ACCEPT"),
            None
        );
        assert_eq!(kind("filter", "-A INPUT -i lo -j ACCEPT"), None);
        assert_eq!(
            kind("nat", "-A POSTROUTING -o eth0 -j MASQUERADE"),
            None,
            "a host's own masquerade is not Docker's"
        );
    }
}
