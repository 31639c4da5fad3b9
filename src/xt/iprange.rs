//! `iprange` match: revision 1 (`xt_iprange_mtinfo`, IPv4 and IPv6) and
//! the IPv4-only revision 0 (`ipt_iprange_info`, which current kernels no
//! longer accept). Addresses are network order.

use super::options::{self};
use super::parse::{inet_pton, numeric_to_ipaddr, xt_opt, OptSpec, Parse, ParseCtx, INVERT};
use super::text;
use super::Payload;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::netfilter::nf_inet_addr;
use nfdoctor_sys::xt::{
    xt_iprange_mtinfo, IPRANGE_DST, IPRANGE_DST_INV, IPRANGE_SRC, IPRANGE_SRC_INV,
};
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Iprange {
    /// `IPRANGE_SRC` 0x01, `IPRANGE_DST` 0x02, `IPRANGE_SRC_INV` 0x10,
    /// `IPRANGE_DST_INV` 0x20, kept as the kernel holds them.
    pub flags: u8,
    /// IPv4 addresses use the first 4 bytes.
    pub src_min: [u8; 16],
    pub src_max: [u8; 16],
    pub dst_min: [u8; 16],
    pub dst_max: [u8; 16],
}

/// `sizeof(struct ipt_iprange_info)` (17, padded to 20) aligned to 8.
const REV0_LEN: usize = 24;

fn v4(bytes: &[u8]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&bytes[..4]);
    a
}

impl Codec for Iprange {
    fn decode(revision: u8, family: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        match revision {
            0 if family == Family::Ipv4 => {
                if data.len() != REV0_LEN {
                    return Err(XtError::new(
                        "iprange",
                        0,
                        format!("payload is {} bytes, expected {REV0_LEN}", data.len()),
                    ));
                }
                Ok(Some(Iprange {
                    flags: data[16],
                    src_min: v4(&data[0..]),
                    src_max: v4(&data[4..]),
                    dst_min: v4(&data[8..]),
                    dst_max: v4(&data[12..]),
                }))
            }
            1 => {
                let r: xt_iprange_mtinfo = read_payload("iprange", 1, data)?;
                Ok(Some(Iprange {
                    flags: r.flags,
                    src_min: r.src_min.bytes,
                    src_max: r.src_max.bytes,
                    dst_min: r.dst_min.bytes,
                    dst_max: r.dst_max.bytes,
                }))
            }
            _ => Ok(None),
        }
    }

    fn encode(&self, revision: u8, _: Family) -> Payload {
        if revision == 0 {
            let mut out = Vec::with_capacity(REV0_LEN);
            for a in [&self.src_min, &self.src_max, &self.dst_min, &self.dst_max] {
                out.extend_from_slice(&a[..4]);
            }
            out.push(self.flags);
            out.resize(REV0_LEN, 0);
            return out.into();
        }
        let inet = |bytes: [u8; 16]| nf_inet_addr { bytes };
        write_payload(&xt_iprange_mtinfo {
            src_min: inet(self.src_min),
            src_max: inet(self.src_max),
            dst_min: inet(self.dst_min),
            dst_max: inet(self.dst_max),
            flags: self.flags,
            _pad: [0; 3],
        })
    }

    /// `iprange_mt4_save` / `iprange_mt6_save` (revision 0 prints alike).
    fn save(&self, ctx: &SaveCtx<'_>, out: &mut String) {
        let addr = |a: &[u8; 16]| text::inet(ctx.family, a);
        for (bit, inv, option, min, max) in [
            (
                IPRANGE_SRC,
                IPRANGE_SRC_INV,
                "--src-range",
                &self.src_min,
                &self.src_max,
            ),
            (
                IPRANGE_DST,
                IPRANGE_DST_INV,
                "--dst-range",
                &self.dst_min,
                &self.dst_max,
            ),
        ] {
            if self.flags & bit == 0 {
                continue;
            }
            if self.flags & inv != 0 {
                out.push_str(" !");
            }
            let _ = write!(out, " {option} {}-{}", addr(min), addr(max));
        }
    }
}

/// `iprange_parse_range`: `ADDR` or `ADDR-ADDR`, numeric only.
fn parse_range(arg: &str, family: Family, option: &str) -> Result<([u8; 16], [u8; 16]), String> {
    let (from, to) = arg.split_once('-').unwrap_or((arg, arg));
    let one = |spec: &str| -> Result<[u8; 16], String> {
        let bad = || format!("iprange: Bad value for \"{option}\" option: \"{spec}\"");
        match family {
            Family::Ipv4 => numeric_to_ipaddr(spec).map(|a| v4(&a)).ok_or_else(bad),
            Family::Ipv6 => inet_pton(spec, family).ok_or_else(bad),
        }
    };
    Ok((one(from)?, one(to)?))
}

impl Parse for Iprange {
    // libxt_iprange's ids: O_SRC_RANGE 0, O_DST_RANGE 1.
    const OPTIONS: &'static [OptSpec] = &[
        xt_opt("src-range", 0, true, INVERT, 0),
        xt_opt("dst-range", 1, true, INVERT, 0),
    ];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Iprange::default()
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        ctx: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let mut seen = options::Seen(u32::from(self.flags & (IPRANGE_SRC | IPRANGE_DST)));
        let (entry, arg) = seen.take("iprange", Self::OPTIONS, name, arg, invert)?;
        let option = format!("--{}", entry.name);
        let (min, max) = parse_range(arg, ctx.family, &option)?;
        if entry.id == 0 {
            (self.src_min, self.src_max) = (min, max);
            self.flags |= IPRANGE_SRC;
            if invert {
                self.flags |= IPRANGE_SRC_INV;
            }
        } else {
            (self.dst_min, self.dst_max) = (min, max);
            self.flags |= IPRANGE_DST;
            if invert {
                self.flags |= IPRANGE_DST_INV;
            }
        }
        Ok(())
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        if self.flags & (IPRANGE_SRC | IPRANGE_DST) == 0 {
            return Err("iprange match: You must specify `--src-range' or `--dst-range'".into());
        }
        Ok(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{parse, roundtrip, save, unhex, V4, V6};

    const CAPTURE: &str = "0a0000010000000000000000000000000a0000090000000000000000000000000a0100000000000000000000000000000a0100000000000000000000000000002300000000000000";

    // Captured from iptables 1.8.9 (legacy and nft identical):
    // --src-range 10.0.0.1-10.0.0.9 ! --dst-range 10.1
    #[test]
    fn ipv4_capture() {
        roundtrip::<Iprange>(
            1,
            Family::Ipv4,
            CAPTURE,
            " --src-range 10.0.0.1-10.0.0.9 ! --dst-range 10.1.0.0-10.1.0.0",
        );
        let (r, rev) = parse::<Iprange>(
            V4,
            "iprange",
            &[
                ("src-range", Some("10.0.0.1-10.0.0.9"), false),
                ("dst-range", Some("10.1"), true),
            ],
        )
        .expect("parses");
        assert_eq!(rev, 1);
        assert_eq!(r.encode(1, Family::Ipv4), unhex(CAPTURE));
    }

    #[test]
    fn ipv6_and_revision_0() {
        let (r, _) = parse::<Iprange>(
            V6,
            "iprange",
            &[("dst-range", Some("fd00::1-fd00::ff"), true)],
        )
        .expect("parses");
        assert_eq!(save(&r, Family::Ipv6), " ! --dst-range fd00::1-fd00::ff");
        let old = "0a0000010a00000902000000030000040100000000000000";
        let v: Iprange = roundtrip(0, Family::Ipv4, old, " --src-range 10.0.0.1-10.0.0.9");
        assert_eq!(v.flags, 1);
        assert_eq!(Iprange::decode(0, Family::Ipv6, &unhex(old)), Ok(None));
    }

    #[test]
    fn errors() {
        let p = |a: &[(&str, Option<&str>, bool)]| parse::<Iprange>(V4, "iprange", a).map(|_| ());
        assert_eq!(
            p(&[]),
            Err("iprange match: You must specify `--src-range' or `--dst-range'".into())
        );
        assert_eq!(
            p(&[("src-range", Some("1.2.3.4-nope"), false)]),
            Err("iprange: Bad value for \"--src-range\" option: \"nope\"".into())
        );
        assert_eq!(
            p(&[
                ("src-range", Some("1.2.3.4"), false),
                ("src-range", Some("1.2.3.4"), false)
            ]),
            Err("iprange: option \"--src-range\" can only be used once.".into())
        );
    }
}
