//! `multiport` match: revision 0 (`struct xt_multiport`, port list) and
//! revision 1 (`xt_multiport_v1`, ranges and inversion). Ports host order.

use super::Payload;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::{
    xt_multiport, xt_multiport_v1, XT_MULTIPORT_DESTINATION, XT_MULTIPORT_EITHER,
    XT_MULTIPORT_SOURCE, XT_MULTI_PORTS,
};
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Multiport {
    /// `XT_MULTIPORT_SOURCE` (0), `DESTINATION` (1) or `EITHER` (2).
    pub direction: u8,
    /// The `count` used entries of `ports`.
    pub ports: Vec<u16>,
    /// Revision 1: `range_start[i]` means `ports[i]:ports[i+1]`.
    pub range_start: Vec<bool>,
    pub invert: bool,
}

impl Codec for Multiport {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        match revision {
            0 => {
                let m: xt_multiport = read_payload("multiport", 0, data)?;
                let count = usize::from(m.count).min(XT_MULTI_PORTS);
                Ok(Some(Multiport {
                    direction: m.flags,
                    ports: m.ports[..count].to_vec(),
                    range_start: vec![false; count],
                    invert: false,
                }))
            }
            1 => {
                let m: xt_multiport_v1 = read_payload("multiport", 1, data)?;
                let count = usize::from(m.count).min(XT_MULTI_PORTS);
                Ok(Some(Multiport {
                    direction: m.flags,
                    ports: m.ports[..count].to_vec(),
                    range_start: m.pflags[..count].iter().map(|&f| f != 0).collect(),
                    invert: m.invert != 0,
                }))
            }
            _ => Ok(None),
        }
    }

    fn encode(&self, revision: u8, _: Family) -> Payload {
        let count = self.ports.len().min(XT_MULTI_PORTS);
        let mut ports = [0u16; XT_MULTI_PORTS];
        ports[..count].copy_from_slice(&self.ports[..count]);
        if revision == 0 {
            return write_payload(&xt_multiport {
                flags: self.direction,
                count: count as u8,
                ports,
            });
        }
        let mut pflags = [0u8; XT_MULTI_PORTS];
        for (i, r) in self.range_start.iter().take(count).enumerate() {
            pflags[i] = u8::from(*r);
        }
        write_payload(&xt_multiport_v1 {
            flags: self.direction,
            count: count as u8,
            ports,
            pflags,
            invert: u8::from(self.invert),
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        match self.direction {
            XT_MULTIPORT_SOURCE => out.push_str(" --sports "),
            XT_MULTIPORT_DESTINATION => out.push_str(" --dports "),
            XT_MULTIPORT_EITHER => out.push_str(" --ports "),
            _ => {}
        }
        let mut i = 0;
        while i < self.ports.len() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{}", self.ports[i]);
            if self.range_start.get(i).copied().unwrap_or(false) {
                i += 1;
                out.push(':');
                let _ = write!(out, "{}", self.ports.get(i).copied().unwrap_or(0));
            }
            i += 1;
        }
    }
}

// ---- Parsing: libxt_multiport revision 1 (what iptables 1.8.9 writes).

use super::options::{self};
use super::parse::{parse_port, xt_opt, OptSpec, Parse, ParseCtx, INVERT};

// libxt_multiport's ids: O_SOURCE_PORTS 0, O_DEST_PORTS 1, O_SD_PORTS 2.
const F_ANY: u32 = 0b111;

/// libxt_multiport's `check_proto`: the service protocol for the rule's
/// `-p`.
fn ports_proto(ctx: &ParseCtx<'_>) -> Result<&'static str, String> {
    const ONLY: &str = "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP";
    if ctx.proto_invert {
        return Err(ONLY.into());
    }
    match ctx.proto {
        6 => Ok("tcp"),
        17 => Ok("udp"),
        136 => Ok("udplite"),
        132 => Ok("sctp"),
        33 => Ok("dccp"),
        0 => Err("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'".into()),
        _ => Err(ONLY.into()),
    }
}

/// `parse_multi_ports_v1`: up to 15 ports, `A:B` ranges taking two slots.
fn parse_ports_v1(
    arg: &str,
    proto: &str,
    ctx: &ParseCtx<'_>,
) -> Result<(Vec<u16>, Vec<bool>), String> {
    const TOO_MANY: &str = "too many ports specified";
    let mut ports = Vec::new();
    let mut range_start = Vec::new();
    for item in arg.split(',') {
        if ports.len() >= XT_MULTI_PORTS {
            return Err(TOO_MANY.into());
        }
        match item.split_once(':') {
            None => {
                ports.push(parse_port(item, proto, ctx.services)?);
                range_start.push(false);
            }
            Some((lo, hi)) => {
                if ports.len() == XT_MULTI_PORTS - 1 {
                    return Err(TOO_MANY.into());
                }
                let lo = parse_port(lo, proto, ctx.services)?;
                let hi = parse_port(hi, proto, ctx.services)?;
                if lo >= hi {
                    return Err("invalid portrange specified".into());
                }
                ports.extend([lo, hi]);
                range_start.extend([true, false]);
            }
        }
    }
    Ok((ports, range_start))
}

impl Parse for Multiport {
    const OPTIONS: &'static [OptSpec] = &[
        xt_opt("source-ports", 0, true, INVERT, F_ANY),
        xt_opt("sports", 0, true, INVERT, F_ANY),
        xt_opt("destination-ports", 1, true, INVERT, F_ANY),
        xt_opt("dports", 1, true, INVERT, F_ANY),
        xt_opt("ports", 2, true, INVERT, F_ANY),
    ];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Multiport {
            direction: XT_MULTIPORT_SOURCE,
            ports: Vec::new(),
            range_start: Vec::new(),
            invert: false,
        }
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        ctx: &ParseCtx<'_>,
    ) -> Result<(), String> {
        // Every option excludes the others, so a value with ports already
        // had exactly one option, the one its direction says.
        let mut seen = options::Seen(if self.ports.is_empty() {
            0
        } else {
            1 << self.direction.min(2)
        });
        let (entry, arg) = seen.take("multiport", Self::OPTIONS, name, arg, invert)?;
        seen.check("multiport", Self::OPTIONS)?;
        let proto = ports_proto(ctx)?;
        let (ports, range_start) = parse_ports_v1(arg, proto, ctx)?;
        self.ports = ports;
        self.range_start = range_start;
        self.direction = match entry.id {
            0 => XT_MULTIPORT_SOURCE,
            1 => XT_MULTIPORT_DESTINATION,
            _ => XT_MULTIPORT_EITHER,
        };
        if invert {
            self.invert = true;
        }
        Ok(())
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        if self.ports.is_empty() {
            return Err("multiport expection an option".into());
        }
        Ok(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{self, roundtrip, unhex, V4};

    type Args<'a> = &'a [(&'a str, Option<&'a str>, bool)];

    fn parse(proto: u16, args: Args<'_>) -> Result<Multiport, String> {
        let (m, rev) = testing::parse::<Multiport>(V4.proto(proto.into()), "multiport", args)?;
        assert_eq!(rev, 1);
        Ok(m)
    }

    // Payloads captured from iptables 1.8.9 (legacy and nft identical).
    #[test]
    fn captures() {
        for (proto, args, data, text) in [
            (
                6,
                &[("dports", Some("22,80:90,http"), true)][..],
                "0104160050005a0050000000000000000000000000000000000000000000000000010000000000000000000000000001",
                " ! --dports 22,80:90,80",
            ),
            (
                17,
                &[("source-ports", Some("53,1000:2000"), false)][..],
                "00033500e803d00700000000000000000000000000000000000000000000000000010000000000000000000000000000",
                " --sports 53,1000:2000",
            ),
            (
                6,
                &[("ports", Some("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15"), false)][..],
                "020f0100020003000400050006000700080009000a000b000c000d000e000f0000000000000000000000000000000000",
                " --ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
            ),
        ] {
            roundtrip::<Multiport>(1, Family::Ipv4, data, text);
            assert_eq!(parse(proto, args).expect("parses").encode(1, Family::Ipv4), unhex(data));
        }
    }

    #[test]
    fn errors() {
        let err = |proto, args| parse(proto, args).map(|_| ()).expect_err("fails");
        assert_eq!(
            err(6, &[("sports", Some("1"), false), ("dports", Some("2"), false)]),
            "multiport: option \"--source-ports\" cannot be used together with \"--destination-ports\"."
        );
        assert_eq!(
            err(
                6,
                &[
                    ("sports", Some("1"), false),
                    ("source-ports", Some("2"), false)
                ]
            ),
            "multiport: option \"--source-ports\" can only be used once."
        );
        assert_eq!(
            err(0, &[("ports", Some("1"), false)]),
            "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'"
        );
        assert_eq!(
            err(1, &[("ports", Some("1"), false)]),
            "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP"
        );
        assert_eq!(
            err(6, &[("ports", Some("2:2"), false)]),
            "invalid portrange specified"
        );
        assert_eq!(
            err(
                6,
                &[(
                    "ports",
                    Some("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16"),
                    false
                )]
            ),
            "too many ports specified"
        );
        assert_eq!(
            err(
                6,
                &[(
                    "ports",
                    Some("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15:16"),
                    false
                )]
            ),
            "too many ports specified"
        );
        assert_eq!(
            err(6, &[("ports", Some("1,,2"), false)]),
            "invalid port/service `' specified"
        );
        assert_eq!(err(6, &[]), "multiport expection an option");
        let m = parse(
            6,
            &[("ports", Some("1,2,3,4,5,6,7,8,9,10,11,12,13,14:15"), false)],
        )
        .expect("ok");
        assert_eq!(m.ports.len(), 15);
    }
}
