//! `pkttype` match, revision 0 (`xt_pkttype_info`: the skb's
//! `PACKET_*` type and an `int` inversion flag).

use super::options::Seen;
use super::parse::{xt_opt, OptSpec, Parse, ParseCtx, INVERT, MAND};
use super::Payload;
use super::{invert_flag, read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::xt_pkttype_info;
use serde::Serialize;
use std::fmt::Write;

/// libxt_pkttype's names in its table order (aliases last): printing
/// takes the first name of a type, parsing any (case-insensitive).
const TYPES: [(&str, i32); 7] = [
    ("unicast", 0),
    ("broadcast", 1),
    ("multicast", 2),
    ("otherhost", 3),
    ("bcast", 1),
    ("mcast", 2),
    ("host", 0),
];

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Pkttype {
    /// `PACKET_HOST` 0, `BROADCAST` 1, `MULTICAST` 2, `OTHERHOST` 3…
    pub pkttype: i32,
    pub invert: bool,
    /// Parse bookkeeping: the options seen (not serialised, ignored by
    /// equality).
    #[serde(skip)]
    pub(crate) seen: Seen,
}

impl Codec for Pkttype {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 0 {
            return Ok(None);
        }
        let p: xt_pkttype_info = read_payload("pkttype", 0, data)?;
        let invert = invert_flag("pkttype", 0, p.invert)?;
        Ok(Some(Pkttype {
            pkttype: p.pkttype,
            invert,
            seen: Seen::default(),
        }))
    }

    fn encode(&self, _: u8, _: Family) -> Payload {
        write_payload(&xt_pkttype_info {
            pkttype: self.pkttype,
            invert: i32::from(self.invert),
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --pkt-type ");
        match TYPES.iter().find(|(_, t)| *t == self.pkttype) {
            Some((name, _)) => out.push_str(name),
            None => {
                let _ = write!(out, "{}", self.pkttype);
            }
        }
    }
}

impl Parse for Pkttype {
    const OPTIONS: &'static [OptSpec] = &[xt_opt("pkt-type", 0, true, MAND | INVERT, 0)];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Pkttype::default()
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let (_, arg) = self
            .seen
            .take("pkttype", Self::OPTIONS, name, arg, invert)?;
        self.pkttype = TYPES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(arg))
            .map(|(_, t)| *t)
            .ok_or_else(|| format!("Bad packet type '{arg}'"))?;
        if invert {
            self.invert = true;
        }
        Ok(())
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        self.seen.check("pkttype", Self::OPTIONS)?;
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
                "broadcast",
                false,
                "0100000000000000",
                " --pkt-type broadcast",
            ),
            ("host", true, "0000000001000000", " ! --pkt-type unicast"),
            ("MCAST", false, "0200000000000000", " --pkt-type multicast"),
        ] {
            roundtrip::<Pkttype>(0, Family::Ipv4, data, text);
            let (p, rev) = parse::<Pkttype>(V4, "pkttype", &[("pkt-type", Some(arg), invert)])
                .expect("parses");
            assert_eq!(rev, 0);
            assert_eq!(p.encode(0, Family::Ipv4), unhex(data));
        }
        roundtrip::<Pkttype>(0, Family::Ipv6, "0700000000000000", " --pkt-type 7");
        assert!(Pkttype::decode(0, Family::Ipv4, &unhex("0000000002000000")).is_err());
    }

    #[test]
    fn errors() {
        let p = |a: &[(&str, Option<&str>, bool)]| parse::<Pkttype>(V4, "pkttype", a).map(|_| ());
        assert_eq!(
            p(&[("pkt-type", Some("outgoing"), false)]),
            Err("Bad packet type 'outgoing'".into())
        );
        assert_eq!(
            p(&[]),
            Err("pkttype: option \"--pkt-type\" must be specified".into())
        );
    }
}
