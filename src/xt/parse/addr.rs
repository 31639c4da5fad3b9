//! IPv4 and IPv6 addresses as the different parsers in iptables read
//! them. They do not agree, and each caller must use the one iptables
//! uses: `xtables_numeric_to_ipaddr` (`-s`/`-d`, iprange: `10.1` is
//! 10.1.0.0), glibc's `inet_aton` behind `getaddrinfo` (options of type
//! `XTTYPE_HOST*` such as conntrack's `--ctorigsrc`: `10.1` is 10.0.0.1)
//! and the strict `inet_pton` (NAT's `--to-destination`). Host names are
//! never resolved: nfdoctor does no DNS.

use super::number::{parse_uint, strtoul, strtoul_full};
use crate::Family;
use std::net::{Ipv4Addr, Ipv6Addr};

/// `xtables_numeric_to_ipaddr`: up to four dot-separated `strtoul` base-0
/// bytes of at most the first 19 characters; missing trailing bytes are 0
/// (`10.1` is 10.1.0.0).
pub(crate) fn numeric_to_ipaddr(s: &str) -> Option<[u8; 4]> {
    numeric_dotted(s, false)
}

/// `xtables_numeric_to_ipmask`: the same, but all four bytes must be there.
fn numeric_to_ipmask(s: &str) -> Option<[u8; 4]> {
    numeric_dotted(s, true)
}

/// libxtables' `__numeric_to_ipaddr`.
fn numeric_dotted(s: &str, is_mask: bool) -> Option<[u8; 4]> {
    if let Some(a) = plain_dotted_quad(s.as_bytes()) {
        return Some(a);
    }
    let buf = &s.as_bytes()[..s.len().min(19)];
    let buf = std::str::from_utf8(buf).ok()?;
    let byte = |p: &str| strtoul_full(p).filter(|v| *v <= 255).map(|v| v as u8);
    let mut addr = [0u8; 4];
    let mut parts = buf.splitn(4, '.');
    for (i, slot) in addr.iter_mut().enumerate() {
        match parts.next() {
            Some(p) => *slot = byte(p)?,
            None if i > 0 && !is_mask => return Some(addr),
            None => return None,
        }
    }
    Some(addr)
}

/// Four decimal bytes without leading zeros (`172.17.0.2`), as nearly
/// every address is written; `None` for anything else, which
/// [`numeric_dotted`] reads the general way (and reads these alike).
fn plain_dotted_quad(b: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = b.split(|&c| c == b'.');
    for slot in out.iter_mut() {
        let p = parts.next()?;
        let plain = matches!(p.len(), 1..=3)
            && (p[0] != b'0' || p.len() == 1)
            && p.iter().all(u8::is_ascii_digit);
        if !plain {
            return None;
        }
        let v = p.iter().fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
        *slot = u8::try_from(v).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// glibc's `inet_aton` as `getaddrinfo` uses it for IPv4 literals (the
/// whole string must be read): one to four parts, each starting with a
/// digit and read by `strtoul` base 0, the last filling the remaining
/// bytes (`10.1` is 10.0.0.1, `0x0a000001` too).
pub(crate) fn inet_aton(s: &str) -> Option<[u8; 4]> {
    let mut parts = Vec::with_capacity(4);
    for p in s.split('.') {
        if !p.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        match strtoul(p, 0)? {
            (Some(v), "") => parts.push(u32::try_from(v).ok()?),
            _ => return None,
        }
    }
    let (last, head) = parts.split_last()?;
    if head.len() > 3 || head.iter().any(|&v| v > 0xff) {
        return None;
    }
    let room = 32 - 8 * head.len() as u32;
    if room < 32 && *last >> room != 0 {
        return None;
    }
    let mut v = *last;
    for (i, p) in head.iter().enumerate() {
        v |= p << (24 - 8 * i as u32);
    }
    Some(v.to_be_bytes())
}

/// What `getaddrinfo` makes of a numeric host of `family` (an
/// `XTTYPE_HOST` argument), in `nf_inet_addr` form.
pub(crate) fn numeric_host(s: &str, family: Family) -> Option<[u8; 16]> {
    let mut a = [0u8; 16];
    match family {
        Family::Ipv4 => a[..4].copy_from_slice(&inet_aton(s)?),
        Family::Ipv6 => a = s.parse::<Ipv6Addr>().ok()?.octets(),
    }
    Some(a)
}

/// `inet_pton(family, s)` into the 16-byte address form.
pub(crate) fn inet_pton(s: &str, family: Family) -> Option<[u8; 16]> {
    let mut a = [0u8; 16];
    match family {
        Family::Ipv4 => a[..4].copy_from_slice(&s.parse::<Ipv4Addr>().ok()?.octets()),
        Family::Ipv6 => a = s.parse::<Ipv6Addr>().ok()?.octets(),
    }
    Some(a)
}

/// `-s`/`-d`: an address with an optional `/prefix` or `/mask`, as
/// `xtables_ipparse_multiple` / `xtables_ip6parse_multiple` read one item.
/// Returns the address already ANDed with the mask, as iptables stores it.
pub fn parse_addr_mask(s: &str, family: Family) -> Result<([u8; 16], [u8; 16]), String> {
    let (addr, mask) = match s.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    let mut a = [0u8; 16];
    let mut m = [0u8; 16];
    match family {
        Family::Ipv4 => {
            a[..4].copy_from_slice(&ipv4_host(addr)?);
            let mask = match mask {
                None => u32::MAX,
                Some(ms) => match numeric_to_ipmask(ms) {
                    Some(dotted) => u32::from_be_bytes(dotted),
                    None => {
                        let bits = parse_uint(ms, 32)
                            .map_err(|_| format!("invalid mask `{ms}' specified"))?;
                        if bits == 0 {
                            0
                        } else {
                            u32::MAX << (32 - bits)
                        }
                    }
                },
            };
            m[..4].copy_from_slice(&mask.to_be_bytes());
            for i in 0..4 {
                a[i] &= m[i];
            }
        }
        Family::Ipv6 => {
            let ip: Ipv6Addr = addr
                .parse()
                .map_err(|_| format!("host/network `{addr}' not found"))?;
            a = ip.octets();
            let mask = match mask {
                None => u128::MAX,
                Some(ms) if ms.contains(':') => u128::from(
                    ms.parse::<Ipv6Addr>()
                        .map_err(|_| format!("invalid mask `{ms}' specified"))?,
                ),
                Some(ms) => {
                    let bits = parse_uint(ms, 128)
                        .map_err(|_| format!("invalid mask `{ms}' specified"))?;
                    if bits == 0 {
                        0
                    } else {
                        u128::MAX << (128 - bits)
                    }
                }
            };
            m = mask.to_be_bytes();
            for i in 0..16 {
                a[i] &= m[i];
            }
        }
    }
    Ok((a, m))
}

/// `ipparse_hostnetwork` without name services: xtables' own dotted form
/// first, then what `getaddrinfo` accepts for a numeric host (`inet_aton`:
/// `0x0a000001`, `10.256`). Network names from `/etc/networks` and host
/// names are not looked up.
fn ipv4_host(s: &str) -> Result<[u8; 4], String> {
    numeric_to_ipaddr(s)
        .or_else(|| inet_aton(s))
        .ok_or_else(|| format!("host/network `{s}' not found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_quads_read_as_the_general_way_reads_them() {
        for s in [
            "172.17.0.2",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.",
            "+1.2.3.4",
            " 1.2.3.4",
            "1.2.3.0x4",
            "1000.1.1.1",
        ] {
            if let Some(a) = plain_dotted_quad(s.as_bytes()) {
                let general = s.split('.').map(|p| strtoul_full(p).map(|v| v as u8));
                let general: Option<Vec<u8>> = general.collect();
                assert_eq!(Some(a.to_vec()), general, "{s}");
            }
        }
        assert_eq!(plain_dotted_quad(b"172.17.0.2"), Some([172, 17, 0, 2]));
        assert_eq!(plain_dotted_quad(b"256.1.1.1"), None);
        assert_eq!(plain_dotted_quad(b"01.2.3.4"), None);
        assert_eq!(plain_dotted_quad(b"1.2.3"), None);
        assert_eq!(numeric_dotted("01.2.3.4", true), Some([1, 2, 3, 4]));
    }

    #[test]
    fn addresses_are_masked() {
        let (a, m) = parse_addr_mask("10.1.2.3/23", Family::Ipv4).unwrap();
        assert_eq!(&a[..4], &[10, 1, 2, 0]);
        assert_eq!(&m[..4], &[255, 255, 254, 0]);
        let (_, m) = parse_addr_mask("10.0.0.0/255.0.255.0", Family::Ipv4).unwrap();
        assert_eq!(&m[..4], &[255, 0, 255, 0]);
        let (a, m) = parse_addr_mask("fd00::1/64", Family::Ipv6).unwrap();
        assert_eq!(a[15], 0);
        assert_eq!(m[7], 0xff);
        assert_eq!(m[8], 0);
        assert!(parse_addr_mask("example.com", Family::Ipv4).is_err());
    }

    #[test]
    fn numeric_addresses_like_xtables() {
        assert_eq!(numeric_to_ipaddr("10.1"), Some([10, 1, 0, 0]));
        assert_eq!(numeric_to_ipaddr("10"), Some([10, 0, 0, 0]));
        assert_eq!(numeric_to_ipaddr("0x0a.010.0.1"), Some([10, 8, 0, 1]));
        assert_eq!(numeric_to_ipaddr("1.2.3.4.5"), None);
        assert_eq!(numeric_to_ipaddr("1.2.3.256"), None);
        assert_eq!(numeric_to_ipaddr("1..3"), None);
        assert_eq!(numeric_to_ipaddr(""), None);
        assert_eq!(numeric_to_ipaddr("host.example"), None);
        // Only the first 19 characters count.
        assert_eq!(numeric_to_ipaddr("001.002.003.004xxxx"), None);
        assert_eq!(
            numeric_to_ipaddr("0001.0002.0003.0004xyz"),
            Some([1, 2, 3, 4])
        );
    }

    /// What iptables 1.8.9 stores for `-A INPUT -s ARG` (read back with
    /// `iptables -S` in a scratch network namespace).
    #[test]
    fn source_addresses_like_iptables() {
        let v4 = |s: &str| {
            parse_addr_mask(s, Family::Ipv4).map(|(a, m)| {
                (
                    Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string(),
                    Ipv4Addr::new(m[0], m[1], m[2], m[3]).to_string(),
                )
            })
        };
        let ok = |a: &str, m: &str| Ok((a.to_string(), m.to_string()));
        let host = "255.255.255.255";
        assert_eq!(v4("10.1"), ok("10.1.0.0", host));
        assert_eq!(v4("10"), ok("10.0.0.0", host));
        assert_eq!(v4(" 10.1"), ok("10.1.0.0", host));
        assert_eq!(v4("1.2.3.04"), ok("1.2.3.4", host));
        assert_eq!(v4("012.0x10.0.1"), ok("10.16.0.1", host));
        assert_eq!(v4("0001.0002.0003.0004xyz"), ok("1.2.3.4", host));
        // Not xtables' form, but getaddrinfo's (inet_aton).
        assert_eq!(v4("0x0a000001"), ok("10.0.0.1", host));
        assert_eq!(v4("10.256"), ok("10.0.1.0", host));
        assert_eq!(v4("10.1/16"), ok("10.1.0.0", "255.255.0.0"));
        assert_eq!(v4("1.2.3.4/0x10"), ok("1.2.0.0", "255.255.0.0"));
        assert_eq!(v4("1.2.3.4/255.0.255.0"), ok("1.0.3.0", "255.0.255.0"));
        assert_eq!(
            v4("1.2.3.4.5"),
            Err("host/network `1.2.3.4.5' not found".into())
        );
        assert_eq!(
            v4("0+5.1.1.1"),
            Err("host/network `0+5.1.1.1' not found".into())
        );
        assert_eq!(
            v4("1.2.3.4/255.255"),
            Err("invalid mask `255.255' specified".into())
        );
    }
}
