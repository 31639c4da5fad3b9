//! Go's RFC 3339 time stamps (`2026-11-27T05:11:00.147183812Z`,
//! `2024-05-01T12:00:00.5+02:00`), as points in time for ordering. Strings
//! do not sort: Go trims trailing zeros of the fraction, and a daemon with a
//! `TZ` writes local offsets.

use serde::Serialize;

/// Nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Timestamp(pub i128);

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let b = text.trim().as_bytes();
        let num = |from: usize, len: usize| -> Option<i64> {
            let s = b.get(from..from + len)?;
            if !s.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(s).ok()?.parse().ok()
        };
        let sep = |at: usize, c: u8| b.get(at) == Some(&c);
        if !(sep(4, b'-') && sep(7, b'-') && (sep(10, b'T') || sep(10, b't') || sep(10, b' '))) {
            return None;
        }
        if !(sep(13, b':') && sep(16, b':')) {
            return None;
        }
        let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
        let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut i = 19;
        let mut nanos: i64 = 0;
        if sep(i, b'.') || sep(i, b',') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                if i - start < 9 {
                    nanos = nanos * 10 + i64::from(b[i] - b'0');
                }
                i += 1;
            }
            let digits = i - start;
            if digits == 0 {
                return None;
            }
            for _ in digits..9 {
                nanos *= 10;
            }
        }
        let offset_secs = match b.get(i) {
            Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
            Some(&c @ (b'+' | b'-')) if i + 6 == b.len() && sep(i + 3, b':') => {
                let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
                let s = h * 3600 + m * 60;
                if c == b'-' {
                    -s
                } else {
                    s
                }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_secs;
        Some(Timestamp(
            i128::from(secs) * 1_000_000_000 + i128::from(nanos),
        ))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> i128 {
        Timestamp::parse(s).unwrap_or_else(|| panic!("{s}")).0
    }

    #[test]
    fn parses_go_time_stamps() {
        assert_eq!(t("1970-01-01T00:00:00Z"), 0);
        assert_eq!(t("1970-01-02T00:00:01.5Z"), 86_401_500_000_000);
        assert_eq!(t("2000-03-01T00:00:00Z"), 951_868_800 * 1_000_000_000);
        assert_eq!(
            t("2026-11-27T05:11:00.147183812Z"),
            t("2026-11-27T06:11:00.147183812+01:00")
        );
        assert_eq!(t("2026-11-27T05:11:00Z"), t("2026-11-27T00:11:00-05:00"));
        // Go's zero time sorts first.
        assert!(t("0001-01-01T00:00:00Z") < 0);
        // More than nanosecond digits are cut, not rounded.
        assert_eq!(t("1970-01-01T00:00:00.1234567899Z"), 123_456_789);
    }

    #[test]
    fn trimmed_fractions_order_correctly() {
        // As strings, ".1Z" > ".12Z"; as times, 0.1 s < 0.12 s.
        assert!(t("2026-11-27T05:11:00.1Z") < t("2026-11-27T05:11:00.12Z"));
        assert!(t("2026-11-27T05:11:00Z") < t("2026-11-27T05:11:00.000000001Z"));
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "yesterday",
            "2026-11-27",
            "2026-11-27T05:11:00",
            "2026-13-01T00:00:00Z",
            "2026-11-27T25:00:00Z",
            "2026-11-27T05:11:00.Z",
            "2026-11-27T05:11:00+0100",
            "2026-11-27T05:11:00Zjunk",
            "２０２６-11-27T05:11:00Z",
        ] {
            assert_eq!(Timestamp::parse(s), None, "{s}");
        }
    }
}
