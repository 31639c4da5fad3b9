//! `tcp` and `udp` matches (revision 0, `struct xt_tcp` / `xt_udp`).
//! Ports are host byte order.

use super::parse::{
    opt, parse_port_range, parse_uint, proto_name_for_ports, Arg, OptSpec, Parse, ParseCtx,
};
use super::Payload;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::{
    xt_tcp, xt_udp, XT_TCP_INV_DSTPT, XT_TCP_INV_FLAGS, XT_TCP_INV_OPTION, XT_TCP_INV_SRCPT,
    XT_UDP_INV_DSTPT, XT_UDP_INV_SRCPT,
};
use serde::Serialize;
use std::fmt::Write;

/// An inclusive port range; `0..=65535` means "any".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PortRange {
    pub min: u16,
    pub max: u16,
    pub invert: bool,
}

impl PortRange {
    pub const ANY: PortRange = PortRange {
        min: 0,
        max: 0xffff,
        invert: false,
    };

    pub fn single(port: u16) -> Self {
        PortRange {
            min: port,
            max: port,
            invert: false,
        }
    }

    fn is_any(&self) -> bool {
        self.min == 0 && self.max == 0xffff
    }

    /// ` [!] --sport A[:B]`, printed unless the range is "any" (an inverted
    /// "any" is not printed either, exactly as libxt_tcp does).
    fn save(&self, option: &str, out: &mut String) {
        if self.is_any() {
            return;
        }
        if self.invert {
            out.push_str(" !");
        }
        if self.min != self.max {
            let _ = write!(out, " {option} {}:{}", self.min, self.max);
        } else {
            let _ = write!(out, " {option} {}", self.min);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tcp {
    pub sport: PortRange,
    pub dport: PortRange,
    pub option: u8,
    pub option_invert: bool,
    pub flags_mask: u8,
    pub flags_cmp: u8,
    pub flags_invert: bool,
}

impl Default for Tcp {
    fn default() -> Self {
        Tcp {
            sport: PortRange::ANY,
            dport: PortRange::ANY,
            option: 0,
            option_invert: false,
            flags_mask: 0,
            flags_cmp: 0,
            flags_invert: false,
        }
    }
}

impl Codec for Tcp {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 0 {
            return Ok(None);
        }
        let t: xt_tcp = read_payload("tcp", revision, data)?;
        Ok(Some(Tcp {
            sport: PortRange {
                min: t.spts[0],
                max: t.spts[1],
                invert: t.invflags & XT_TCP_INV_SRCPT != 0,
            },
            dport: PortRange {
                min: t.dpts[0],
                max: t.dpts[1],
                invert: t.invflags & XT_TCP_INV_DSTPT != 0,
            },
            option: t.option,
            option_invert: t.invflags & XT_TCP_INV_OPTION != 0,
            flags_mask: t.flg_mask,
            flags_cmp: t.flg_cmp,
            flags_invert: t.invflags & XT_TCP_INV_FLAGS != 0,
        }))
    }

    fn encode(&self, _: u8, _: Family) -> Payload {
        let mut invflags = 0;
        if self.sport.invert {
            invflags |= XT_TCP_INV_SRCPT;
        }
        if self.dport.invert {
            invflags |= XT_TCP_INV_DSTPT;
        }
        if self.option_invert {
            invflags |= XT_TCP_INV_OPTION;
        }
        if self.flags_invert {
            invflags |= XT_TCP_INV_FLAGS;
        }
        write_payload(&xt_tcp {
            spts: [self.sport.min, self.sport.max],
            dpts: [self.dport.min, self.dport.max],
            option: self.option,
            flg_mask: self.flags_mask,
            flg_cmp: self.flags_cmp,
            invflags,
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        self.sport.save("--sport", out);
        self.dport.save("--dport", out);
        if self.option != 0 || self.option_invert {
            if self.option_invert {
                out.push_str(" !");
            }
            let _ = write!(out, " --tcp-option {}", self.option);
        }
        if self.flags_mask != 0 || self.flags_invert {
            if self.flags_invert {
                out.push_str(" !");
            }
            out.push_str(" --tcp-flags ");
            tcp_flags(self.flags_mask, out);
            out.push(' ');
            tcp_flags(self.flags_cmp, out);
        }
    }
}

/// libxt_tcp's `print_tcpf`: names of the set bits in FIN..URG order.
fn tcp_flags(flags: u8, out: &mut String) {
    const NAMES: [(&str, u8); 6] = [
        ("FIN", 0x01),
        ("SYN", 0x02),
        ("RST", 0x04),
        ("PSH", 0x08),
        ("ACK", 0x10),
        ("URG", 0x20),
    ];
    let mut first = true;
    for (name, bit) in NAMES {
        if flags & bit != 0 {
            if !first {
                out.push(',');
            }
            out.push_str(name);
            first = false;
        }
    }
    // Bits above URG (ECE, CWR) have no name in iptables 1.8.9.
    if flags & 0xc0 != 0 {
        if !first {
            out.push(',');
        }
        let _ = write!(out, "{:#x}", flags & 0xc0);
        first = false;
    }
    if first {
        out.push_str("NONE");
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Udp {
    pub sport: PortRange,
    pub dport: PortRange,
}

impl Default for Udp {
    fn default() -> Self {
        Udp {
            sport: PortRange::ANY,
            dport: PortRange::ANY,
        }
    }
}

impl Codec for Udp {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 0 {
            return Ok(None);
        }
        let u: xt_udp = read_payload("udp", revision, data)?;
        Ok(Some(Udp {
            sport: PortRange {
                min: u.spts[0],
                max: u.spts[1],
                invert: u.invflags & XT_UDP_INV_SRCPT != 0,
            },
            dport: PortRange {
                min: u.dpts[0],
                max: u.dpts[1],
                invert: u.invflags & XT_UDP_INV_DSTPT != 0,
            },
        }))
    }

    fn encode(&self, _: u8, _: Family) -> Payload {
        let mut invflags = 0;
        if self.sport.invert {
            invflags |= XT_UDP_INV_SRCPT;
        }
        if self.dport.invert {
            invflags |= XT_UDP_INV_DSTPT;
        }
        write_payload(&xt_udp {
            spts: [self.sport.min, self.sport.max],
            dpts: [self.dport.min, self.dport.max],
            invflags,
            _pad: [0],
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        self.sport.save("--sport", out);
        self.dport.save("--dport", out);
    }
}

/// libxt_tcp's flag names for `--tcp-flags`.
fn parse_tcp_flags(list: &str) -> Result<u8, String> {
    let mut flags = 0u8;
    for name in list.split(',') {
        flags |= match name.to_ascii_uppercase().as_str() {
            "FIN" => 0x01,
            "SYN" => 0x02,
            "RST" => 0x04,
            "PSH" => 0x08,
            "ACK" => 0x10,
            "URG" => 0x20,
            "ALL" => 0x3f,
            "NONE" => 0,
            _ => return Err(format!("Unknown TCP flag `{name}'")),
        };
    }
    Ok(flags)
}

impl Parse for Tcp {
    const OPTIONS: &'static [OptSpec] = &[
        opt("source-port", Arg::Required),
        opt("sport", Arg::Required),
        opt("destination-port", Arg::Required),
        opt("dport", Arg::Required),
        opt("syn", Arg::None),
        opt("tcp-flags", Arg::Two),
        opt("tcp-option", Arg::Required),
    ];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Tcp::default()
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        ctx: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let arg = arg.unwrap_or("");
        match name {
            "source-port" | "sport" => {
                let (lo, hi) =
                    parse_port_range(arg, proto_name_for_ports(ctx.proto), ctx.services)?;
                self.sport = PortRange {
                    min: lo,
                    max: hi,
                    invert,
                };
            }
            "destination-port" | "dport" => {
                let (lo, hi) =
                    parse_port_range(arg, proto_name_for_ports(ctx.proto), ctx.services)?;
                self.dport = PortRange {
                    min: lo,
                    max: hi,
                    invert,
                };
            }
            "syn" => {
                self.flags_mask = 0x17;
                self.flags_cmp = 0x02;
                self.flags_invert = invert;
            }
            "tcp-flags" => {
                let (mask, cmp) = arg
                    .split_once(' ')
                    .ok_or("--tcp-flags requires two args.")?;
                self.flags_mask = parse_tcp_flags(mask)?;
                self.flags_cmp = parse_tcp_flags(cmp)?;
                self.flags_invert = invert;
            }
            "tcp-option" => {
                self.option = parse_uint(arg, 255)? as u8;
                self.option_invert = invert;
            }
            _ => return Err(format!("unknown option --{name}")),
        }
        Ok(())
    }

    fn finish(&mut self, ctx: &ParseCtx<'_>) -> Result<u8, String> {
        ctx.require_proto(6, "tcp", "tcp")?;
        Ok(0)
    }
}

impl Parse for Udp {
    const OPTIONS: &'static [OptSpec] = &[
        opt("source-port", Arg::Required),
        opt("sport", Arg::Required),
        opt("destination-port", Arg::Required),
        opt("dport", Arg::Required),
    ];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Udp::default()
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        ctx: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let arg = arg.unwrap_or("");
        let (lo, hi) = parse_port_range(arg, proto_name_for_ports(ctx.proto), ctx.services)?;
        let range = PortRange {
            min: lo,
            max: hi,
            invert,
        };
        match name {
            "source-port" | "sport" => self.sport = range,
            "destination-port" | "dport" => self.dport = range,
            _ => return Err(format!("unknown option --{name}")),
        }
        Ok(())
    }

    fn finish(&mut self, ctx: &ParseCtx<'_>) -> Result<u8, String> {
        ctx.require_proto(17, "udp", "udp")?;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::save;

    #[test]
    fn dport_80_matches_capture() {
        // netfilter-abi.md A.7.1
        let bytes = [0, 0, 0xff, 0xff, 0x50, 0, 0x50, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let t = Tcp::decode(0, Family::Ipv4, &bytes).unwrap().unwrap();
        assert_eq!(t.dport, PortRange::single(80));
        assert_eq!(t.encode(0, Family::Ipv4), bytes);
        let s = save(&t, Family::Ipv4);
        assert_eq!(s, " --dport 80");
    }

    #[test]
    fn flags_and_ranges_print_like_iptables() {
        let t = Tcp {
            sport: PortRange {
                min: 1000,
                max: 2000,
                invert: true,
            },
            flags_mask: 0x17,
            flags_cmp: 0x02,
            flags_invert: true,
            ..Tcp::default()
        };
        let s = save(&t, Family::Ipv4);
        assert_eq!(s, " ! --sport 1000:2000 ! --tcp-flags FIN,SYN,RST,ACK SYN");
    }

    #[test]
    fn wrong_size_is_an_error() {
        assert!(Udp::decode(0, Family::Ipv4, &[0; 8]).is_err());
        assert_eq!(Udp::decode(1, Family::Ipv4, &[0; 16]).unwrap(), None);
    }
}
