//! Creating a bridge with an address over rtnetlink (the project's own
//! netlink layer): what `nfdoctor demo` needs to give its throw-away
//! namespace a Docker-like `docker0`.

use crate::netlink::message::put_message;
use crate::netlink::{Connection, Exchange, NetlinkError, NetlinkSocket, Transport};
use nfdoctor_sys::netlink::{NETLINK_ROUTE, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};
use nfdoctor_sys::rtnetlink::{
    ifaddrmsg, ifinfomsg, IFA_ADDRESS, IFA_LOCAL, IFF_UP, IFLA_IFNAME, IFLA_INFO_KIND,
    IFLA_LINKINFO, RTM_NEWADDR, RTM_NEWLINK,
};
use std::net::Ipv4Addr;

fn request<T: Transport>(
    conn: &mut Connection<T>,
    what: &str,
    build: impl FnOnce(&mut Vec<u8>, u32),
) -> Result<(), NetlinkError> {
    conn.exchange(&|| what.to_string(), Exchange::Acked, build, |_| Ok(()))
}

/// Creates bridge `name`, brings it up and gives it `addr/prefix`.
pub fn create_bridge(name: &str, addr: Ipv4Addr, prefix: u8) -> Result<(), NetlinkError> {
    let sock =
        NetlinkSocket::open(NETLINK_ROUTE).map_err(|e| NetlinkError::io("opening rtnetlink", e))?;
    let mut conn = Connection::new(sock);
    let flags = NLM_F_REQUEST | NLM_F_ACK;
    request(&mut conn, &format!("creating bridge {name}"), |buf, seq| {
        put_message(
            buf,
            RTM_NEWLINK,
            flags | NLM_F_CREATE | NLM_F_EXCL,
            seq,
            &ifinfomsg::default(),
            |w| {
                w.put_str(IFLA_IFNAME, name);
                let info = w.begin_nest(IFLA_LINKINFO);
                w.put_str(IFLA_INFO_KIND, "bridge");
                w.end_nest(info);
            },
        )
    })?;
    request(&mut conn, &format!("bringing {name} up"), |buf, seq| {
        let up = ifinfomsg {
            ifi_flags: IFF_UP,
            ifi_change: IFF_UP,
            ..ifinfomsg::default()
        };
        put_message(buf, RTM_NEWLINK, flags, seq, &up, |w| {
            w.put_str(IFLA_IFNAME, name);
        })
    })?;
    let index = std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .or_else(|| {
            let c = std::ffi::CString::new(name).ok()?;
            // SAFETY: `c` is a valid NUL-terminated string for the call.
            let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
            (i != 0).then_some(i)
        })
        .ok_or_else(|| NetlinkError::malformed(format!("bridge {name}"), "no interface index"))?;
    request(&mut conn, &format!("addressing {name}"), |buf, seq| {
        let msg = ifaddrmsg {
            ifa_family: libc::AF_INET as u8,
            ifa_prefixlen: prefix,
            ifa_index: index,
            ..ifaddrmsg::default()
        };
        put_message(
            buf,
            RTM_NEWADDR,
            flags | NLM_F_CREATE | NLM_F_EXCL,
            seq,
            &msg,
            |w| {
                w.put(IFA_LOCAL, &addr.octets());
                w.put(IFA_ADDRESS, &addr.octets());
            },
        )
    })
}
