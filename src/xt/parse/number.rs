//! Numbers as iptables reads them: glibc's `strtoul`, and libxtables'
//! `xtables_strtoul` on top of it (base 0: decimal, `0x` hex or
//! leading-`0` octal; a minus sign refused). Every number an extension
//! parses goes through [`strtoul`], so they all agree on the corner cases.

/// What C's `isspace` skips before a number.
const C_SPACE: [char; 6] = [' ', '\t', '\n', '\r', '\x0b', '\x0c'];

/// glibc `strtoul(s, &end, base)` for base 0 or 16: blanks, a sign, a
/// `0x` prefix (only when a hex digit follows; else the `0` is the number),
/// digits. Returns the value and the unparsed rest, or `None` when no digit
/// was read (C's `end == s`). The value is `None` on overflow (C's
/// `ULONG_MAX` with `ERANGE`) and is negated modulo 2^64 after a `-`.
pub(crate) fn strtoul(s: &str, base: u32) -> Option<(Option<u64>, &str)> {
    debug_assert!(base == 0 || base == 16, "base {base}");
    let t = s.trim_start_matches(C_SPACE);
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let b = t.as_bytes();
    let hex_prefix =
        b.len() > 2 && b[0] == b'0' && (b[1] | 0x20) == b'x' && b[2].is_ascii_hexdigit();
    let (radix, skip) = match base {
        _ if hex_prefix => (16, 2),
        0 if b.first() == Some(&b'0') => (8, 0),
        0 => (10, 0),
        _ => (base, 0),
    };
    let digits = t[skip..]
        .bytes()
        .take_while(|c| char::from(*c).is_digit(radix))
        .count();
    if digits == 0 {
        return None;
    }
    let value = u64::from_str_radix(&t[skip..skip + digits], radix)
        .ok()
        .map(|v| if negative { v.wrapping_neg() } else { v });
    Some((value, &t[skip + digits..]))
}

/// `xtables_strtoul` with an end pointer: a base-0 number at the start of
/// `s` (leading blanks and `+` allowed, `-` refused); returns the value
/// (`None` above `u64`) and the unparsed rest, or `None` when no digit was
/// read.
pub(crate) fn strtoul_prefix(s: &str) -> Option<(Option<u64>, &str)> {
    if s.trim_start_matches(C_SPACE).starts_with('-') {
        return None;
    }
    strtoul(s, 0)
}

/// `xtables_strtoul` without an end pointer: the whole string.
pub(crate) fn strtoul_full(s: &str) -> Option<u64> {
    // Plain decimal (no sign, blank or leading 0), short enough not to
    // overflow: nearly every number of a rules file.
    let b = s.as_bytes();
    if (1..=19).contains(&b.len()) && b[0] != b'0' && b.iter().all(u8::is_ascii_digit) {
        return Some(b.iter().fold(0, |v, d| v * 10 + u64::from(d - b'0')));
    }
    match strtoul_prefix(s) {
        Some((Some(v), "")) => Some(v),
        _ => None,
    }
}

/// `strtoul_full` with a bound and error messages: decimal, `0x` hex or
/// leading-`0` octal; no sign.
pub fn parse_uint(s: &str, max: u64) -> Result<u64, String> {
    let v = strtoul_full(s).ok_or_else(|| format!("`{s}' is not a valid number"))?;
    if v > max {
        return Err(format!("`{s}' is out of range (at most {max})"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_like_strtoul() {
        assert_eq!(strtoul_prefix("0x1f/3"), Some((Some(31), "/3")));
        assert_eq!(strtoul_prefix(" +010"), Some((Some(8), "")));
        assert_eq!(strtoul_prefix("0x"), Some((Some(0), "x")));
        assert_eq!(strtoul_prefix("09"), Some((Some(0), "9")));
        assert_eq!(strtoul_prefix("-1"), None);
        assert_eq!(strtoul_prefix("x"), None);
        assert_eq!(strtoul_prefix("99999999999999999999"), Some((None, "")));
        assert_eq!(strtoul_full("12"), Some(12));
        assert_eq!(strtoul_full("12a"), None);
        assert_eq!(
            strtoul_full("1234567890123456789"),
            Some(1234567890123456789)
        );
        assert_eq!(strtoul_full("18446744073709551615"), Some(u64::MAX));
        assert_eq!(strtoul_full("18446744073709551616"), None);
    }

    #[test]
    fn parse_uint_like_strtoul() {
        assert_eq!(parse_uint("10", 100), Ok(10));
        assert_eq!(parse_uint("0x10", 100), Ok(16));
        assert_eq!(parse_uint("010", 100), Ok(8));
        assert_eq!(parse_uint("0", 100), Ok(0));
        assert!(parse_uint("-1", 100).is_err());
        assert!(parse_uint("101", 100).is_err());
        assert!(parse_uint("1x", 100).is_err());
    }

    /// iptables 1.8.9 refuses these (`-j LOG --log-level 0+5`: `log level
    /// "0+5" unknown`): strtoumax stops at the `+`, or at the `x` of a `0x`
    /// with no hex digit after it.
    #[test]
    fn parse_uint_stops_where_strtoul_does() {
        assert!(parse_uint("0+5", 100).is_err());
        assert!(parse_uint("0x+5", 100).is_err());
        assert!(parse_uint("0x", 100).is_err());
        assert_eq!(parse_uint(" +0x1f", 100), Ok(31));
    }
}
