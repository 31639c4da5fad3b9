//! NAT targets: `DNAT`, `SNAT` (revisions 0–2), `MASQUERADE` and `REDIRECT`
//! (revision 0). Every layout is read into one `nf_nat_range2`-like value,
//! as libxt_NAT does before printing.

use super::text;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::netfilter::nf_inet_addr;
use nfdoctor_sys::xt::{
    nf_nat_ipv4_multi_range_compat, nf_nat_ipv4_range, nf_nat_range, nf_nat_range2,
    NF_NAT_RANGE_MAP_IPS, NF_NAT_RANGE_PERSISTENT, NF_NAT_RANGE_PROTO_OFFSET,
    NF_NAT_RANGE_PROTO_RANDOM, NF_NAT_RANGE_PROTO_RANDOM_FULLY, NF_NAT_RANGE_PROTO_SPECIFIED,
};
use serde::Serialize;
use std::fmt::Write;

/// `struct nf_nat_range2` in host terms (ports host order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct NatRange {
    /// `NF_NAT_RANGE_*` bits.
    pub flags: u32,
    pub min_addr: [u8; 16],
    pub max_addr: [u8; 16],
    pub min_port: u16,
    pub max_port: u16,
    pub base_port: u16,
}

impl NatRange {
    /// Which layout `revision` of a NAT target uses in `family`.
    fn decode(name: &str, revision: u8, family: Family, data: &[u8]) -> Result<Self, XtError> {
        match (revision, family) {
            (0, Family::Ipv4) => {
                let m: nf_nat_ipv4_multi_range_compat = read_payload(name, revision, data)?;
                let r = m.range[0];
                let mut min_addr = [0; 16];
                let mut max_addr = [0; 16];
                min_addr[..4].copy_from_slice(&r.min_ip);
                max_addr[..4].copy_from_slice(&r.max_ip);
                Ok(NatRange {
                    flags: r.flags,
                    min_addr,
                    max_addr,
                    min_port: u16::from_be(r.min),
                    max_port: u16::from_be(r.max),
                    base_port: 0,
                })
            }
            (0 | 1, _) => {
                let r: nf_nat_range = read_payload(name, revision, data)?;
                Ok(NatRange {
                    flags: r.flags,
                    min_addr: r.min_addr.bytes,
                    max_addr: r.max_addr.bytes,
                    min_port: u16::from_be(r.min_proto),
                    max_port: u16::from_be(r.max_proto),
                    base_port: 0,
                })
            }
            _ => {
                let r: nf_nat_range2 = read_payload(name, revision, data)?;
                Ok(NatRange {
                    flags: r.flags,
                    min_addr: r.min_addr.bytes,
                    max_addr: r.max_addr.bytes,
                    min_port: u16::from_be(r.min_proto),
                    max_port: u16::from_be(r.max_proto),
                    base_port: u16::from_be(r.base_proto),
                })
            }
        }
    }

    fn encode(&self, revision: u8, family: Family) -> Vec<u8> {
        match (revision, family) {
            (0, Family::Ipv4) => write_payload(&nf_nat_ipv4_multi_range_compat {
                rangesize: 1,
                range: [nf_nat_ipv4_range {
                    flags: self.flags,
                    min_ip: [
                        self.min_addr[0],
                        self.min_addr[1],
                        self.min_addr[2],
                        self.min_addr[3],
                    ],
                    max_ip: [
                        self.max_addr[0],
                        self.max_addr[1],
                        self.max_addr[2],
                        self.max_addr[3],
                    ],
                    min: self.min_port.to_be(),
                    max: self.max_port.to_be(),
                }],
            }),
            (0 | 1, _) => write_payload(&nf_nat_range {
                flags: self.flags,
                min_addr: nf_inet_addr {
                    bytes: self.min_addr,
                },
                max_addr: nf_inet_addr {
                    bytes: self.max_addr,
                },
                min_proto: self.min_port.to_be(),
                max_proto: self.max_port.to_be(),
            }),
            _ => write_payload(&nf_nat_range2 {
                flags: self.flags,
                min_addr: nf_inet_addr {
                    bytes: self.min_addr,
                },
                max_addr: nf_inet_addr {
                    bytes: self.max_addr,
                },
                min_proto: self.min_port.to_be(),
                max_proto: self.max_port.to_be(),
                base_proto: self.base_port.to_be(),
                _pad: [0; 2],
            }),
        }
    }

    /// libxt_NAT's `sprint_range`.
    fn range_text(&self, family: Family) -> String {
        let brackets = family == Family::Ipv6 && self.flags & NF_NAT_RANGE_PROTO_SPECIFIED != 0;
        let addr = |a: &[u8; 16]| match family {
            Family::Ipv4 => text::ipv4([a[0], a[1], a[2], a[3]]),
            Family::Ipv6 => text::ipv6(*a),
        };
        let mut s = String::new();
        if self.flags & NF_NAT_RANGE_MAP_IPS != 0 {
            if brackets {
                s.push('[');
            }
            s.push_str(&addr(&self.min_addr));
            if self.min_addr != self.max_addr {
                s.push('-');
                s.push_str(&addr(&self.max_addr));
            }
            if brackets {
                s.push(']');
            }
        }
        if self.flags & NF_NAT_RANGE_PROTO_SPECIFIED != 0 {
            let _ = write!(s, ":{}", self.min_port);
            if self.max_port != self.min_port {
                let _ = write!(s, "-{}", self.max_port);
            }
            if self.flags & NF_NAT_RANGE_PROTO_OFFSET != 0 {
                let _ = write!(s, "/{}", self.base_port);
            }
        }
        s
    }

    /// libxt_NAT's `__NAT_print` in save form.
    fn save(&self, family: Family, option: &str, skip_colon: bool, out: &mut String) {
        let range = self.range_text(family);
        if !range.is_empty() {
            let range = if skip_colon {
                range.strip_prefix(':').unwrap_or(&range)
            } else {
                &range
            };
            let _ = write!(out, " {option} {range}");
        }
        if self.flags & NF_NAT_RANGE_PROTO_RANDOM != 0 {
            out.push_str(" --random");
        }
        if self.flags & NF_NAT_RANGE_PROTO_RANDOM_FULLY != 0 {
            out.push_str(" --random-fully");
        }
        if self.flags & NF_NAT_RANGE_PERSISTENT != 0 {
            out.push_str(" --persistent");
        }
    }
}

macro_rules! nat_target {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $option:literal, $skip_colon:expr, $max_rev:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
        pub struct $ty {
            #[serde(flatten)]
            pub range: NatRange,
            /// The family the payload was decoded for; printing needs it.
            #[serde(skip)]
            pub family: Option<Family>,
        }

        impl Codec for $ty {
            fn decode(revision: u8, family: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
                if revision > $max_rev {
                    return Ok(None);
                }
                Ok(Some($ty {
                    range: NatRange::decode($name, revision, family, data)?,
                    family: Some(family),
                }))
            }

            fn encode(&self, revision: u8, family: Family) -> Vec<u8> {
                self.range.encode(revision, family)
            }

            fn save(&self, ctx: &SaveCtx<'_>, out: &mut String) {
                self.range.save(ctx.family, $option, $skip_colon, out);
            }
        }
    };
}

nat_target!(
    /// `-j DNAT --to-destination …`
    Dnat, "DNAT", "--to-destination", false, 2
);
nat_target!(
    /// `-j SNAT --to-source …`
    Snat, "SNAT", "--to-source", false, 2
);
nat_target!(
    /// `-j MASQUERADE [--to-ports …]`
    Masquerade, "MASQUERADE", "--to-ports", true, 0
);
nat_target!(
    /// `-j REDIRECT [--to-ports …]`
    Redirect, "REDIRECT", "--to-ports", true, 0
);

// SKELETON parse (to be implemented)
use super::parse::{OptSpec, Parse, ParseCtx};
impl Parse for Dnat {
    const OPTIONS: &'static [OptSpec] = &[];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        unimplemented!("skeleton")
    }

    fn option(
        &mut self,
        name: &str,
        _: Option<&str>,
        _: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        Err(format!("unknown option --{name}"))
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        Err("not implemented".into())
    }
}

impl Parse for Snat {
    const OPTIONS: &'static [OptSpec] = &[];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        unimplemented!("skeleton")
    }

    fn option(
        &mut self,
        name: &str,
        _: Option<&str>,
        _: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        Err(format!("unknown option --{name}"))
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        Err("not implemented".into())
    }
}

impl Parse for Masquerade {
    const OPTIONS: &'static [OptSpec] = &[];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        unimplemented!("skeleton")
    }

    fn option(
        &mut self,
        name: &str,
        _: Option<&str>,
        _: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        Err(format!("unknown option --{name}"))
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        Err("not implemented".into())
    }
}

impl Parse for Redirect {
    const OPTIONS: &'static [OptSpec] = &[];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        unimplemented!("skeleton")
    }

    fn option(
        &mut self,
        name: &str,
        _: Option<&str>,
        _: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        Err(format!("unknown option --{name}"))
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        Err("not implemented".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save<T: Codec>(v: &T, family: Family) -> String {
        let mut s = String::new();
        let ctx = SaveCtx {
            family,
            proto: 6,
            set_name: &|_| None,
        };
        v.save(&ctx, &mut s);
        s
    }

    #[test]
    fn dnat_rev2_matches_capture() {
        // netfilter-abi.md A.7.6: --to-destination 172.17.0.2:80
        let mut bytes = vec![3, 0, 0, 0, 172, 17, 0, 2];
        bytes.extend([0; 12]);
        bytes.extend([172, 17, 0, 2]);
        bytes.extend([0; 12]);
        bytes.extend([0, 80, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0]);
        let d = Dnat::decode(2, Family::Ipv4, &bytes).unwrap().unwrap();
        assert_eq!(d.encode(2, Family::Ipv4), bytes);
        assert_eq!(save(&d, Family::Ipv4), " --to-destination 172.17.0.2:80");
    }

    #[test]
    fn ipv6_dnat_uses_brackets() {
        let mut a = [0u8; 16];
        a[0] = 0xfd;
        a[15] = 2;
        let d = Dnat {
            range: NatRange {
                flags: NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED,
                min_addr: a,
                max_addr: a,
                min_port: 80,
                max_port: 80,
                base_port: 0,
            },
            family: Some(Family::Ipv6),
        };
        assert_eq!(save(&d, Family::Ipv6), " --to-destination [fd00::2]:80");
    }

    #[test]
    fn masquerade_ports_and_random() {
        // A.7.6: --to-ports 1024-2048 --random
        let bytes = [
            1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 8, 0, 0, 0, 0, 0,
        ];
        let m = Masquerade::decode(0, Family::Ipv4, &bytes)
            .unwrap()
            .unwrap();
        assert_eq!(save(&m, Family::Ipv4), " --to-ports 1024-2048 --random");
        let plain = Masquerade::decode(0, Family::Ipv6, &[0; 40])
            .unwrap()
            .unwrap();
        assert_eq!(save(&plain, Family::Ipv6), "");
    }
}
