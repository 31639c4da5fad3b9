//! `linux/rtnetlink.h`, `linux/if_link.h`, `linux/if_addr.h`, `linux/if.h`:
//! the parts of rtnetlink (`NETLINK_ROUTE`) used to list links and addresses.

pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_DELADDR: u16 = 21;
pub const RTM_GETADDR: u16 = 22;

/// `struct ifinfomsg`: the fixed header of link messages.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ifinfomsg {
    pub ifi_family: u8,
    pub __ifi_pad: u8,
    /// `ARPHRD_*`.
    pub ifi_type: u16,
    pub ifi_index: i32,
    /// `IFF_*` flags.
    pub ifi_flags: u32,
    pub ifi_change: u32,
}
// SAFETY: integers only, 16 bytes, no implicit padding (`__ifi_pad` is explicit).
unsafe impl crate::Pod for ifinfomsg {}

/// `struct ifaddrmsg`: the fixed header of address messages.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ifaddrmsg {
    pub ifa_family: u8,
    pub ifa_prefixlen: u8,
    pub ifa_flags: u8,
    pub ifa_scope: u8,
    pub ifa_index: u32,
}
// SAFETY: integers only, 8 bytes, no padding.
unsafe impl crate::Pod for ifaddrmsg {}

// Link attributes (`IFLA_*`).
pub const IFLA_ADDRESS: u16 = 1;
pub const IFLA_IFNAME: u16 = 3;
pub const IFLA_MTU: u16 = 4;
pub const IFLA_LINK: u16 = 5;
pub const IFLA_MASTER: u16 = 10;
pub const IFLA_OPERSTATE: u16 = 16;
pub const IFLA_LINKINFO: u16 = 18;
pub const IFLA_NET_NS_PID: u16 = 19;
pub const IFLA_LINK_NETNSID: u16 = 37;

// Nested in `IFLA_LINKINFO`.
pub const IFLA_INFO_KIND: u16 = 1;
pub const IFLA_INFO_DATA: u16 = 2;
pub const IFLA_INFO_SLAVE_KIND: u16 = 4;

// Address attributes (`IFA_*`).
pub const IFA_ADDRESS: u16 = 1;
pub const IFA_LOCAL: u16 = 2;
pub const IFA_LABEL: u16 = 3;
pub const IFA_FLAGS: u16 = 8;

// `IFF_*` link flags (`linux/if.h`).
pub const IFF_UP: u32 = 0x1;
pub const IFF_RUNNING: u32 = 0x40;
pub const IFF_LOWER_UP: u32 = 1 << 16;

// `IF_OPER_*` (RFC 2863 operational state, `IFLA_OPERSTATE`).
pub const IF_OPER_UNKNOWN: u8 = 0;
pub const IF_OPER_NOTPRESENT: u8 = 1;
pub const IF_OPER_DOWN: u8 = 2;
pub const IF_OPER_LOWERLAYERDOWN: u8 = 3;
pub const IF_OPER_TESTING: u8 = 4;
pub const IF_OPER_DORMANT: u8 = 5;
pub const IF_OPER_UP: u8 = 6;
