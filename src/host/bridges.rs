//! Docker's bridges (`docker0`, `br-*`) over rtnetlink: whether they exist
//! and are up, their addresses and their veth members. Uses the project's
//! netlink layer; a link dump and an address dump, nothing written.

use super::root::HostRoot;
use crate::netlink::message::put_message;
use crate::netlink::{
    Attrs, Connection, Exchange, Message, NetlinkError, NetlinkSocket, Transport,
};
use nfdoctor_sys::netlink::{NETLINK_ROUTE, NLM_F_DUMP, NLM_F_REQUEST};
use nfdoctor_sys::rtnetlink::{
    ifaddrmsg, ifinfomsg, IFA_ADDRESS, IFA_LOCAL, IFF_LOWER_UP, IFF_UP, IFLA_IFNAME,
    IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MASTER, IFLA_OPERSTATE, IF_OPER_DORMANT, IF_OPER_DOWN,
    IF_OPER_LOWERLAYERDOWN, IF_OPER_NOTPRESENT, IF_OPER_TESTING, IF_OPER_UP, RTM_GETADDR,
    RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK,
};
use nfdoctor_sys::{nl_align, Pod};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One network interface from the link dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `IFLA_INFO_KIND`: `bridge`, `veth`, … (`None` for physical devices).
    pub kind: Option<String>,
    /// The bridge (or bond) this interface is enslaved to.
    pub master: Option<u32>,
    /// `IFF_*` flags.
    pub flags: u32,
    pub operstate: Option<u8>,
}

/// One address from the address dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    pub index: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
}

/// A bridge member (usually a container's veth).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BridgeMember {
    pub name: String,
    pub index: u32,
    pub kind: Option<String>,
    pub up: bool,
}

/// One bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BridgeInfo {
    pub name: String,
    pub index: u32,
    /// `docker0` or `br-<12 hex>` (a Docker network's bridge).
    pub docker: bool,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Carrier (`IFF_LOWER_UP`): a bridge has it once a member is up.
    pub lower_up: bool,
    /// `up`, `down`, `lowerlayerdown`, `unknown`, …
    pub oper_state: String,
    /// `172.17.0.1/16`.
    pub ipv4: Vec<String>,
    pub ipv6: Vec<String>,
    pub members: Vec<BridgeMember>,
}

/// The bridge probe's findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BridgesReport {
    /// False on a fake root (no kernel to ask) or when the dump failed.
    pub probed: bool,
    pub error: Option<String>,
    pub docker0_present: bool,
    /// Every bridge in the namespace, Docker's first.
    pub bridges: Vec<BridgeInfo>,
}

/// Is `name` one of Docker's bridge names?
pub fn is_docker_bridge(name: &str) -> bool {
    name == "docker0"
        || name
            .strip_prefix("br-")
            .is_some_and(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Dumps every link.
pub fn dump_links<T: Transport>(conn: &mut Connection<T>) -> Result<Vec<Link>, NetlinkError> {
    let mut links = Vec::new();
    conn.exchange(
        &|| "listing network interfaces (RTM_GETLINK)".to_string(),
        Exchange::Dump,
        |buf, seq| {
            put_message(
                buf,
                RTM_GETLINK,
                NLM_F_REQUEST | NLM_F_DUMP,
                seq,
                &ifinfomsg::default(),
                |_| {},
            )
        },
        |msg| {
            if let Some(l) = parse_link(msg) {
                links.push(l);
            }
            Ok(())
        },
    )?;
    Ok(links)
}

/// Dumps every address (IPv4 and IPv6).
pub fn dump_addresses<T: Transport>(
    conn: &mut Connection<T>,
) -> Result<Vec<Address>, NetlinkError> {
    let mut out = Vec::new();
    conn.exchange(
        &|| "listing addresses (RTM_GETADDR)".to_string(),
        Exchange::Dump,
        |buf, seq| {
            put_message(
                buf,
                RTM_GETADDR,
                NLM_F_REQUEST | NLM_F_DUMP,
                seq,
                &ifaddrmsg::default(),
                |_| {},
            )
        },
        |msg| {
            if let Some(a) = parse_address(msg) {
                out.push(a);
            }
            Ok(())
        },
    )?;
    Ok(out)
}

fn parse_link(msg: &Message<'_>) -> Option<Link> {
    if msg.header.nlmsg_type != RTM_NEWLINK {
        return None;
    }
    let ifi = ifinfomsg::read_from_prefix(msg.payload)?;
    let attrs = Attrs::new(
        msg.payload
            .get(nl_align(std::mem::size_of::<ifinfomsg>())..)?,
    );
    let name = attrs.find(IFLA_IFNAME)?.str().ok()?.to_string();
    let kind = attrs
        .find(IFLA_LINKINFO)
        .and_then(|li| li.nested().find(IFLA_INFO_KIND))
        .and_then(|k| k.str().ok())
        .map(str::to_string);
    Some(Link {
        index: u32::try_from(ifi.ifi_index).ok()?,
        name,
        kind,
        master: attrs.find(IFLA_MASTER).and_then(|a| a.ne_u32().ok()),
        flags: ifi.ifi_flags,
        operstate: attrs.find(IFLA_OPERSTATE).and_then(|a| a.u8().ok()),
    })
}

fn parse_address(msg: &Message<'_>) -> Option<Address> {
    if msg.header.nlmsg_type != RTM_NEWADDR {
        return None;
    }
    let ifa = ifaddrmsg::read_from_prefix(msg.payload)?;
    let attrs = Attrs::new(
        msg.payload
            .get(nl_align(std::mem::size_of::<ifaddrmsg>())..)?,
    );
    // IFA_LOCAL is the local address on point-to-point links; else both agree.
    let raw = attrs.find(IFA_LOCAL).or_else(|| attrs.find(IFA_ADDRESS))?;
    let addr = match (i32::from(ifa.ifa_family), raw.payload.len()) {
        (libc::AF_INET, 4) => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(raw.payload).ok()?)),
        (libc::AF_INET6, 16) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(raw.payload).ok()?)),
        _ => return None,
    };
    Some(Address {
        index: ifa.ifa_index,
        addr,
        prefix_len: ifa.ifa_prefixlen,
    })
}

fn oper_name(state: Option<u8>) -> &'static str {
    match state {
        Some(IF_OPER_UP) => "up",
        Some(IF_OPER_DOWN) => "down",
        Some(IF_OPER_LOWERLAYERDOWN) => "lowerlayerdown",
        Some(IF_OPER_DORMANT) => "dormant",
        Some(IF_OPER_TESTING) => "testing",
        Some(IF_OPER_NOTPRESENT) => "notpresent",
        _ => "unknown",
    }
}

/// Builds the report from dumped links and addresses.
pub fn bridges_from(links: &[Link], addrs: &[Address]) -> BridgesReport {
    let mut bridges: Vec<BridgeInfo> = links
        .iter()
        .filter(|l| l.kind.as_deref() == Some("bridge"))
        .map(|b| {
            let of = |v6: bool| {
                addrs
                    .iter()
                    .filter(|a| a.index == b.index && a.addr.is_ipv6() == v6)
                    .map(|a| format!("{}/{}", a.addr, a.prefix_len))
                    .collect()
            };
            BridgeInfo {
                name: b.name.clone(),
                index: b.index,
                docker: is_docker_bridge(&b.name),
                up: b.flags & IFF_UP != 0,
                lower_up: b.flags & IFF_LOWER_UP != 0,
                oper_state: oper_name(b.operstate).to_string(),
                ipv4: of(false),
                ipv6: of(true),
                members: links
                    .iter()
                    .filter(|m| m.master == Some(b.index))
                    .map(|m| BridgeMember {
                        name: m.name.clone(),
                        index: m.index,
                        kind: m.kind.clone(),
                        up: m.flags & IFF_UP != 0,
                    })
                    .collect(),
            }
        })
        .collect();
    bridges.sort_by(|a, b| (!a.docker, &a.name).cmp(&(!b.docker, &b.name)));
    BridgesReport {
        probed: true,
        error: None,
        docker0_present: bridges.iter().any(|b| b.name == "docker0"),
        bridges,
    }
}

/// Dumps links and addresses over `conn` and builds the report.
pub fn probe_bridges_with<T: Transport>(conn: &mut Connection<T>) -> BridgesReport {
    let result = dump_links(conn).and_then(|l| Ok((l, dump_addresses(conn)?)));
    match result {
        Ok((links, addrs)) => bridges_from(&links, &addrs),
        Err(e) => BridgesReport {
            error: Some(e.to_string()),
            ..BridgesReport::default()
        },
    }
}

/// The bridges of the current network namespace (live root only).
pub fn probe_bridges(root: &HostRoot) -> BridgesReport {
    if !root.is_live() {
        return BridgesReport {
            error: Some("not probed: rtnetlink needs the live system".into()),
            ..BridgesReport::default()
        };
    }
    match NetlinkSocket::open(NETLINK_ROUTE) {
        Ok(sock) => probe_bridges_with(&mut Connection::new(sock)),
        Err(e) => BridgesReport {
            error: Some(format!("opening a NETLINK_ROUTE socket: {e}")),
            ..BridgesReport::default()
        },
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::netlink::replay::ReplayTransport;
    use crate::netlink::AttrWriter;
    use nfdoctor_sys::netlink::{nlmsghdr, NLMSG_DONE, NLM_F_MULTI};

    fn done() -> Vec<u8> {
        let h = nlmsghdr {
            nlmsg_len: 20,
            nlmsg_type: NLMSG_DONE,
            nlmsg_flags: NLM_F_MULTI,
            nlmsg_seq: 0,
            nlmsg_pid: 0,
        };
        let mut v = h.as_bytes().to_vec();
        v.extend_from_slice(&0i32.to_ne_bytes());
        v
    }

    fn link(
        buf: &mut Vec<u8>,
        index: i32,
        name: &str,
        kind: Option<&str>,
        master: Option<u32>,
        flags: u32,
    ) {
        let ifi = ifinfomsg {
            ifi_index: index,
            ifi_flags: flags,
            ..ifinfomsg::default()
        };
        put_message(
            buf,
            RTM_NEWLINK,
            NLM_F_MULTI,
            0,
            &ifi,
            |w: &mut AttrWriter<'_>| {
                w.put_str(IFLA_IFNAME, name);
                if let Some(m) = master {
                    w.put(IFLA_MASTER, &m.to_ne_bytes());
                }
                w.put(IFLA_OPERSTATE, &[IF_OPER_UP]);
                if let Some(k) = kind {
                    let n = w.begin_nest(IFLA_LINKINFO);
                    w.put_str(IFLA_INFO_KIND, k);
                    w.end_nest(n);
                }
            },
        );
    }

    fn addr(buf: &mut Vec<u8>, index: u32, family: i32, prefix: u8, bytes: &[u8]) {
        let ifa = ifaddrmsg {
            ifa_family: family as u8,
            ifa_prefixlen: prefix,
            ifa_index: index,
            ..ifaddrmsg::default()
        };
        put_message(
            buf,
            RTM_NEWADDR,
            NLM_F_MULTI,
            0,
            &ifa,
            |w: &mut AttrWriter<'_>| {
                w.put(IFA_ADDRESS, bytes);
                if family == libc::AF_INET {
                    w.put(IFA_LOCAL, bytes);
                }
            },
        );
    }

    /// Link and address dumps of a host with docker0 (up, one veth), a
    /// user network bridge that is down, and a non-Docker bridge.
    pub(crate) fn scripted() -> ReplayTransport {
        let mut links = Vec::new();
        link(&mut links, 1, "lo", None, None, IFF_UP);
        link(
            &mut links,
            3,
            "docker0",
            Some("bridge"),
            None,
            IFF_UP | IFF_LOWER_UP,
        );
        link(
            &mut links,
            4,
            "vethab12cd",
            Some("veth"),
            Some(3),
            IFF_UP | IFF_LOWER_UP,
        );
        link(&mut links, 5, "br-0123456789ab", Some("bridge"), None, 0);
        link(&mut links, 6, "virbr0", Some("bridge"), None, IFF_UP);
        let mut addrs = Vec::new();
        addr(&mut addrs, 1, libc::AF_INET, 8, &[127, 0, 0, 1]);
        addr(&mut addrs, 3, libc::AF_INET, 16, &[172, 17, 0, 1]);
        let mut v6 = [0u8; 16];
        v6[0] = 0xfe;
        v6[1] = 0x80;
        v6[15] = 1;
        addr(&mut addrs, 3, libc::AF_INET6, 64, &v6);
        ReplayTransport::new(vec![vec![links, done()], vec![addrs, done()]])
    }

    #[test]
    fn finds_docker_bridges_addresses_and_members() {
        let mut conn = Connection::new(scripted());
        let r = probe_bridges_with(&mut conn);
        assert!(r.probed, "{:?}", r.error);
        assert!(r.docker0_present);
        let names: Vec<_> = r.bridges.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["br-0123456789ab", "docker0", "virbr0"]);
        let d = &r.bridges[1];
        assert!(d.up && d.lower_up && d.docker);
        assert_eq!(d.oper_state, "up");
        assert_eq!(d.ipv4, ["172.17.0.1/16"]);
        assert_eq!(d.ipv6, ["fe80::1/64"]);
        assert_eq!(d.members[0].name, "vethab12cd");
        assert_eq!(d.members[0].kind.as_deref(), Some("veth"));
        assert!(!r.bridges[0].up && r.bridges[0].members.is_empty());
        assert!(!r.bridges[2].docker);
        // Two dump requests went out: links, then addresses.
        let sent = &conn.transport().sent;
        assert_eq!(sent.len(), 2);
        assert_eq!(u16::from_ne_bytes([sent[0][4], sent[0][5]]), RTM_GETLINK);
        assert_eq!(u16::from_ne_bytes([sent[1][4], sent[1][5]]), RTM_GETADDR);
    }

    #[test]
    fn names_and_failures() {
        assert!(is_docker_bridge("docker0"));
        assert!(is_docker_bridge("br-0123456789ab"));
        assert!(!is_docker_bridge("br-lan"));
        let mut conn = Connection::new(ReplayTransport::new(vec![]));
        let r = probe_bridges_with(&mut conn);
        assert!(!r.probed && r.error.is_some());
        assert!(probe_bridges(&HostRoot::at("/nonexistent")).error.is_some());
    }

    #[test]
    fn live_dump_of_this_namespace() {
        let r = probe_bridges(&HostRoot::live());
        assert!(r.probed, "{:?}", r.error);
    }
}
