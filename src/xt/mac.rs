//! `mac` match, revision 0 (`xt_mac_info`: source MAC and an `int`
//! inversion flag).

use super::options::Seen;
use super::parse::{strtoul, xt_opt, OptSpec, Parse, ParseCtx, INVERT, MAND};
use super::text;
use super::Payload;
use super::{invert_flag, read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::xt_mac_info;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Mac {
    pub source: [u8; 6],
    pub invert: bool,
    /// Parse bookkeeping: the options seen (not serialised, ignored by
    /// equality).
    #[serde(skip)]
    pub(crate) seen: Seen,
}

impl Codec for Mac {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 0 {
            return Ok(None);
        }
        let m: xt_mac_info = read_payload("mac", 0, data)?;
        let invert = invert_flag("mac", 0, m.invert)?;
        Ok(Some(Mac {
            source: m.srcaddr,
            invert,
            seen: Seen::default(),
        }))
    }

    fn encode(&self, _: u8, _: Family) -> Payload {
        write_payload(&xt_mac_info {
            srcaddr: self.source,
            _pad: [0; 2],
            invert: i32::from(self.invert),
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --mac-source ");
        out.push_str(&text::mac(&self.source));
    }
}

/// `xtopt_parse_ethermac`: six `strtoul` base-16 fields of at most two
/// characters each (blanks, signs and empty fields included, as glibc
/// reads them), separated by `:`.
pub(crate) fn parse_mac(arg: &str) -> Result<[u8; 6], String> {
    let bad = || "Invalid MAC address specified.".to_string();
    let mut mac = [0u8; 6];
    let mut rest = arg;
    for (i, byte) in mac.iter_mut().enumerate() {
        // glibc: ULONG_MAX on overflow; the caller keeps the low byte.
        let (v, used) = match strtoul(rest, 16) {
            Some((v, after)) => (v.unwrap_or(u64::MAX) as u8, rest.len() - after.len()),
            None => (0, 0),
        };
        if used > 2 {
            return Err(bad());
        }
        *byte = v;
        let after = &rest[used..];
        if i < 5 {
            rest = after.strip_prefix(':').ok_or_else(bad)?;
        } else if !after.is_empty() {
            return Err(bad());
        }
    }
    Ok(mac)
}

impl Parse for Mac {
    const OPTIONS: &'static [OptSpec] = &[xt_opt("mac-source", 0, true, MAND | INVERT, 0)];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Mac::default()
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let (_, arg) = self.seen.take("mac", Self::OPTIONS, name, arg, invert)?;
        self.source = parse_mac(arg)?;
        if invert {
            self.invert = true;
        }
        Ok(())
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        self.seen.check("mac", Self::OPTIONS)?;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{parse, roundtrip, unhex, V4};

    // Payloads captured from iptables 1.8.9 (legacy and nft identical).
    #[test]
    fn captures() {
        for (arg, invert, data, text) in [
            (
                "00:11:22:AA:bb:cc",
                false,
                "001122aabbcc00000000000000000000",
                " --mac-source 00:11:22:aa:bb:cc",
            ),
            (
                "0:1:2:3:4:5",
                true,
                "00010203040500000100000000000000",
                " ! --mac-source 00:01:02:03:04:05",
            ),
        ] {
            roundtrip::<Mac>(0, Family::Ipv4, data, text);
            let (m, rev) =
                parse::<Mac>(V4, "mac", &[("mac-source", Some(arg), invert)]).expect("parses");
            assert_eq!(rev, 0);
            assert_eq!(m.encode(0, Family::Ipv4), unhex(data));
        }
        assert!(Mac::decode(0, Family::Ipv4, &unhex("00010203040500000200000000000000")).is_err());
    }

    #[test]
    fn mac_syntax_like_glibc() {
        // Checked against iptables 1.8.9.
        assert_eq!(parse_mac(":::::"), Ok([0; 6]));
        assert_eq!(parse_mac("-1:+f: f:1:2:3"), Ok([0xff, 0x0f, 0x0f, 1, 2, 3]));
        assert!(parse_mac("001:2:3:4:5:6").is_err());
        assert!(parse_mac("1:2:3:4:5").is_err());
        assert!(parse_mac("1:2:3:4:5:6:").is_err());
        assert!(parse_mac("1:2:3:4:5:6:7").is_err());
        assert!(parse_mac("0x1:2:3:4:5:6").is_err());
        assert!(parse_mac("g:2:3:4:5:6").is_err());
        assert_eq!(
            parse::<Mac>(V4, "mac", &[]).map(|_| ()),
            Err("mac: option \"--mac-source\" must be specified".into())
        );
    }
}
