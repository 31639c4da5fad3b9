//! Text helpers that reproduce libxtables' formatting byte for byte:
//! addresses as glibc's `inet_ntop` writes them, masks, quoted strings.

use crate::Family;
use std::fmt::Write;
use std::net::Ipv4Addr;

/// Dotted quad, as `inet_ntop(AF_INET)`.
pub fn ipv4(bytes: [u8; 4]) -> String {
    Ipv4Addr::from(bytes).to_string()
}

/// An IPv6 address exactly as glibc's `inet_ntop(AF_INET6)` writes it: the
/// longest run (first on ties) of two or more zero words becomes `::`, and an
/// address whose first 96 bits are zero (but not `::` or `::1`-style runs of
/// seven) or that is IPv4-mapped ends in dotted-quad form.
pub fn ipv6(bytes: [u8; 16]) -> String {
    let words: [u16; 8] =
        std::array::from_fn(|i| u16::from_be_bytes([bytes[2 * i], bytes[2 * i + 1]]));
    // Longest run of zero words.
    let (mut best_base, mut best_len) = (usize::MAX, 0usize);
    let (mut cur_base, mut cur_len) = (usize::MAX, 0usize);
    for (i, w) in words.iter().enumerate() {
        if *w == 0 {
            if cur_base == usize::MAX {
                cur_base = i;
                cur_len = 1;
            } else {
                cur_len += 1;
            }
        } else if cur_base != usize::MAX {
            if best_base == usize::MAX || cur_len > best_len {
                best_base = cur_base;
                best_len = cur_len;
            }
            cur_base = usize::MAX;
        }
    }
    if cur_base != usize::MAX && (best_base == usize::MAX || cur_len > best_len) {
        best_base = cur_base;
        best_len = cur_len;
    }
    if best_base != usize::MAX && best_len < 2 {
        best_base = usize::MAX;
    }
    let mut out = String::with_capacity(40);
    let mut i = 0;
    while i < 8 {
        if best_base != usize::MAX && i >= best_base && i < best_base + best_len {
            if i == best_base {
                out.push(':');
            }
            i += 1;
            continue;
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff)) {
            let _ = write!(
                out,
                "{}.{}.{}.{}",
                bytes[12], bytes[13], bytes[14], bytes[15]
            );
            return out;
        }
        let _ = write!(out, "{:x}", words[i]);
        i += 1;
    }
    if best_base != usize::MAX && best_base + best_len == 8 {
        out.push(':');
    }
    out
}

/// Prefix length of a contiguous IPv4 mask, or `None`.
pub fn ipv4_mask_cidr(mask: [u8; 4]) -> Option<u32> {
    let m = u32::from_be_bytes(mask);
    let ones = m.leading_ones();
    (m.checked_shl(ones).unwrap_or(0) == 0).then_some(ones)
}

/// Prefix length of a contiguous IPv6 mask, or `None`.
pub fn ipv6_mask_cidr(mask: [u8; 16]) -> Option<u32> {
    let m = u128::from_be_bytes(mask);
    let ones = m.leading_ones();
    (m.checked_shl(ones).unwrap_or(0) == 0).then_some(ones)
}

/// `xtables_ipmask_to_numeric`: "" for /32, "/N" or "/a.b.c.d".
pub fn ipv4_mask_suffix(mask: [u8; 4]) -> String {
    match ipv4_mask_cidr(mask) {
        Some(32) => String::new(),
        Some(n) => format!("/{n}"),
        None => format!("/{}", ipv4(mask)),
    }
}

/// `xtables_ip6mask_to_numeric`: "" for /128, "/N" or "/addr".
pub fn ipv6_mask_suffix(mask: [u8; 16]) -> String {
    match ipv6_mask_cidr(mask) {
        Some(128) => String::new(),
        Some(n) => format!("/{n}"),
        None => format!("/{}", ipv6(mask)),
    }
}

/// An `nf_inet_addr` (IPv4 in its first 4 bytes) as `inet_ntop` writes it.
pub fn inet(family: Family, addr: &[u8; 16]) -> String {
    match family {
        Family::Ipv4 => ipv4([addr[0], addr[1], addr[2], addr[3]]),
        Family::Ipv6 => ipv6(*addr),
    }
}

/// The mask suffix of an `nf_inet_addr` mask (see [`ipv4_mask_suffix`],
/// [`ipv6_mask_suffix`]).
pub fn inet_mask_suffix(family: Family, mask: &[u8; 16]) -> String {
    match family {
        Family::Ipv4 => ipv4_mask_suffix([mask[0], mask[1], mask[2], mask[3]]),
        Family::Ipv6 => ipv6_mask_suffix(*mask),
    }
}

/// `xtables_save_string`: a space, then the value bare if it is only
/// `[A-Za-z0-9_-]`, else double-quoted with `"`, `\` and `'` escaped.
pub fn save_string(out: &mut String, value: &str) {
    let bare = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    out.push(' ');
    if bare {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// A NUL-terminated C string field as Rust text (bytes up to the first NUL,
/// lossily decoded).
pub fn c_string(field: &[u8]) -> String {
    String::from_utf8_lossy(nfdoctor_sys::c_name_bytes(field)).into_owned()
}

/// `s` as a NUL-terminated C string field of `N` bytes: at most `N - 1`
/// bytes of it (cut wherever that falls, as `strncpy` does), zero-padded.
pub fn c_field<const N: usize>(s: &str) -> [u8; N] {
    let mut field = [0u8; N];
    let bytes = s.as_bytes();
    let n = bytes.len().min(N - 1);
    field[..n].copy_from_slice(&bytes[..n]);
    field
}

/// `xtables_print_mac`: lowercase, colon separated.
pub fn mac(bytes: &[u8; 6]) -> String {
    let mut s = String::with_capacity(17);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> [u8; 16] {
        s.parse::<std::net::Ipv6Addr>().unwrap().octets()
    }

    #[test]
    fn ipv6_matches_glibc() {
        for (input, want) in [
            ("::", "::"),
            ("::1", "::1"),
            ("fd00::2", "fd00::2"),
            ("fd00:0:0:1::", "fd00:0:0:1::"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::2:3", "::0.2.0.3"),
            ("1::", "1::"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
            ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
            ("ffff:ffff:ffff:ffff::", "ffff:ffff:ffff:ffff::"),
        ] {
            assert_eq!(ipv6(v6(input)), want, "{input}");
        }
    }

    #[test]
    fn masks() {
        assert_eq!(ipv4_mask_suffix([255, 255, 255, 255]), "");
        assert_eq!(ipv4_mask_suffix([255, 255, 254, 0]), "/23");
        assert_eq!(ipv4_mask_suffix([0, 0, 0, 0]), "/0");
        assert_eq!(ipv4_mask_suffix([255, 0, 255, 0]), "/255.0.255.0");
        assert_eq!(ipv6_mask_suffix(v6("ffff:ffff:ffff:ffff::")), "/64");
        assert_eq!(ipv6_mask_suffix(v6("ffff::ffff")), "/ffff::ffff");
    }

    #[test]
    fn quoting() {
        let mut s = String::new();
        save_string(&mut s, "abc-1_2");
        save_string(&mut s, "a b\"c'\\");
        save_string(&mut s, "");
        assert_eq!(s, r#" abc-1_2 "a b\"c\'\\" """#);
    }
}
