//! `limit` match, revision 0 (`xt_rateinfo`). Only `avg` (the period
//! between packets, in 1/10000 s) and `burst` are user data; the kernel
//! dumps the rest (its private state) as zeros.

use super::options::{self, Seen};
use super::parse::{abbreviates, xt_opt, OptSpec, Parse, ParseCtx};
use super::Payload;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::{xt_rateinfo, XT_LIMIT_SCALE};
use serde::Serialize;
use std::fmt::Write;

/// iptables' default `--limit-burst`.
pub const DEFAULT_BURST: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limit {
    /// Average period between matches, in `1 / XT_LIMIT_SCALE` seconds.
    pub avg: u32,
    pub burst: u32,
    /// Parse bookkeeping: the options seen (not serialised, ignored by
    /// equality).
    #[serde(skip)]
    pub(crate) seen: Seen,
}

impl Default for Limit {
    /// `limit_init`: 3/hour, burst 5.
    fn default() -> Self {
        Limit {
            avg: XT_LIMIT_SCALE * 60 * 60 / 3,
            burst: DEFAULT_BURST,
            seen: Seen::default(),
        }
    }
}

impl Codec for Limit {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 0 {
            return Ok(None);
        }
        let r: xt_rateinfo = read_payload("limit", 0, data)?;
        Ok(Some(Limit {
            avg: r.avg,
            burst: r.burst,
            seen: Seen::default(),
        }))
    }

    fn encode(&self, _: u8, _: Family) -> Payload {
        write_payload(&xt_rateinfo {
            avg: self.avg,
            burst: self.burst,
            ..xt_rateinfo::default()
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        out.push_str(" --limit");
        rate(self.avg, out);
        if self.burst != DEFAULT_BURST {
            let _ = write!(out, " --limit-burst {}", self.burst);
        }
    }
}

const RATES: [(&str, u32); 4] = [
    ("day", XT_LIMIT_SCALE * 24 * 60 * 60),
    ("hour", XT_LIMIT_SCALE * 60 * 60),
    ("min", XT_LIMIT_SCALE * 60),
    ("sec", XT_LIMIT_SCALE),
];

/// libxt_limit's `print_rate`: the largest unit that shows the rate
/// without losing more than rounding, as ` N/unit`.
fn rate(period: u32, out: &mut String) {
    if period == 0 {
        // printf("%f", INFINITY)
        out.push_str(" inf");
        return;
    }
    let mut i = 1;
    while i < RATES.len() {
        let mult = RATES[i].1;
        if period > mult || mult / period < mult % period {
            break;
        }
        i += 1;
    }
    let (name, mult) = RATES[i - 1];
    let _ = write!(out, " {}/{name}", mult / period);
}

/// C `atoi`: blanks, a sign, decimal digits; the `long` result truncated
/// to `int` (then stored as `uint32_t` by the caller).
fn atoi(s: &str) -> u32 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for d in t.bytes().take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(d - b'0'));
    }
    // strtol saturates at LONG_MIN/LONG_MAX; atoi keeps the low 32 bits.
    let v = if negative { v.saturating_neg() } else { v };
    v as i32 as u32
}

/// libxt_limit's `parse_rate`: `N[/second|minute|hour|day]`, units
/// abbreviable and case-insensitive. `Ok(None)` is iptables' "bad rate".
fn parse_rate(rate: &str) -> Result<Option<u32>, String> {
    let mut mult: u32 = 1;
    if let Some((_, unit)) = rate.split_once('/') {
        if unit.is_empty() {
            return Ok(None);
        }
        mult = if abbreviates(unit, "second") {
            1
        } else if abbreviates(unit, "minute") {
            60
        } else if abbreviates(unit, "hour") {
            60 * 60
        } else if abbreviates(unit, "day") {
            24 * 60 * 60
        } else {
            return Ok(None);
        };
    }
    let r = atoi(rate);
    if r == 0 {
        return Ok(None);
    }
    let avg = XT_LIMIT_SCALE * mult / r;
    if avg == 0 {
        return Err(format!("Rate too fast \"{rate}\""));
    }
    Ok(Some(avg))
}

impl Parse for Limit {
    // libxt_limit's ids: O_LIMIT 0, O_BURST 1.
    const OPTIONS: &'static [OptSpec] = &[
        xt_opt("limit", 0, true, 0, 0),
        xt_opt("limit-burst", 1, true, 0, 0),
    ];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Limit::default()
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let (entry, arg) = self.seen.take("limit", Self::OPTIONS, name, arg, invert)?;
        if entry.id == 0 {
            self.avg = parse_rate(arg)?.ok_or_else(|| format!("bad rate \"{arg}\"'"))?;
        } else {
            self.burst = options::uint("limit", entry.name, arg, 0, 10000)? as u32;
        }
        Ok(())
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{parse, roundtrip, unhex, V4};

    fn pad(head: &str) -> String {
        format!("{head}{}", "0".repeat(80 - head.len()))
    }

    // Payloads captured from iptables 1.8.9 (legacy; nft writes a native
    // limit the reader turns into the same bytes).
    #[test]
    fn captures() {
        for (args, head, text) in [
            (
                &[("limit", "5/min"), ("limit-burst", "7")][..],
                "c0d4010007000000",
                " --limit 5/min --limit-burst 7",
            ),
            (&[][..], "001bb70005000000", " --limit 3/hour"),
            (
                &[("limit", "7/hour")][..],
                "49794e0005000000",
                " --limit 7/hour",
            ),
        ] {
            let data = pad(head);
            roundtrip::<Limit>(0, Family::Ipv4, &data, text);
            let args: Vec<_> = args.iter().map(|(n, a)| (*n, Some(*a), false)).collect();
            let (l, rev) = parse::<Limit>(V4, "limit", &args).expect("parses");
            assert_eq!(rev, 0);
            assert_eq!(l.encode(0, Family::Ipv4), unhex(&data));
        }
    }

    fn text_of(avg: u32) -> String {
        let mut s = String::new();
        rate(avg, &mut s);
        s
    }

    #[test]
    fn rates_print_like_iptables() {
        assert_eq!(text_of(0), " inf");
        assert_eq!(text_of(10000), " 1/sec");
        assert_eq!(text_of(1), " 10000/sec");
        assert_eq!(text_of(600000 / 7), " 7/min");
        assert_eq!(text_of(864_000_000), " 1/day");
        assert_eq!(text_of(u32::MAX), " 0/day");
        assert_eq!(text_of(10000 / 3), " 3/sec");
        assert_eq!(text_of(36_000_000 / 7), " 7/hour");
    }

    #[test]
    fn rate_syntax() {
        assert_eq!(parse_rate("5"), Ok(Some(2000)));
        assert_eq!(parse_rate("5/s"), Ok(Some(2000)));
        assert_eq!(parse_rate("5/MIN"), Ok(Some(120000)));
        assert_eq!(parse_rate("1/d"), Ok(Some(864_000_000)));
        assert_eq!(parse_rate("2/h"), Ok(Some(18_000_000)));
        assert_eq!(parse_rate("5x/sec"), Ok(Some(2000)));
        assert_eq!(parse_rate("5/seconds"), Ok(None));
        assert_eq!(parse_rate("5/"), Ok(None));
        assert_eq!(parse_rate("0"), Ok(None));
        assert_eq!(parse_rate("abc"), Ok(None));
        assert_eq!(
            parse_rate("20000/sec"),
            Err("Rate too fast \"20000/sec\"".into())
        );
        assert_eq!(parse_rate("-5"), Err("Rate too fast \"-5\"".into()));
    }

    #[test]
    fn errors() {
        let p = |a: &[(&str, Option<&str>, bool)]| parse::<Limit>(V4, "limit", a).map(|_| ());
        assert_eq!(
            p(&[("limit", Some("3"), true)]),
            Err("limit: option \"--limit\" cannot be inverted.".into())
        );
        assert_eq!(
            p(&[("limit", Some("3/x"), false)]),
            Err("bad rate \"3/x\"'".into())
        );
        assert_eq!(
            p(&[("limit-burst", Some("10001"), false)]),
            Err("limit: bad value for option \"--limit-burst\", or out of range (0-10000).".into())
        );
        assert_eq!(
            p(&[("limit", Some("1"), false), ("limit", Some("2"), false)]),
            Err("limit: option \"--limit\" can only be used once.".into())
        );
    }
}
