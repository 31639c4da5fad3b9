//! `conntrack` match revisions 1–3 (`xt_conntrack_mtinfo1..3`), printed as
//! `-m state --state …` when the state-alias flag is set (how iptables 1.8
//! writes `-m state`), and the old `state` match (revision 0,
//! `xt_state_info`).

use super::text;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::netfilter::nf_inet_addr;
use nfdoctor_sys::xt::*;
use serde::Serialize;
use std::fmt::Write;

/// `XT_CONNTRACK_STATE_*` bits of `state_mask`.
pub mod state {
    pub const INVALID: u16 = 1 << 0;
    pub const ESTABLISHED: u16 = 1 << 1;
    pub const RELATED: u16 = 1 << 2;
    pub const NEW: u16 = 1 << 3;
    pub const SNAT: u16 = 1 << 6;
    pub const DNAT: u16 = 1 << 7;
    pub const UNTRACKED: u16 = 1 << 8;
}

/// `IPS_*` conntrack status bits `--ctstatus` prints.
const IPS_EXPECTED: u16 = 1 << 0;
const IPS_SEEN_REPLY: u16 = 1 << 1;
const IPS_ASSURED: u16 = 1 << 2;
const IPS_CONFIRMED: u16 = 1 << 3;

/// An address and mask (network order, IPv4 in the first 4 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct AddrMask {
    pub addr: [u8; 16],
    pub mask: [u8; 16],
}

/// The union of revisions 1–3, in revision 3's terms (ports host order).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Conntrack {
    pub origsrc: AddrMask,
    pub origdst: AddrMask,
    pub replsrc: AddrMask,
    pub repldst: AddrMask,
    pub expires_min: u32,
    pub expires_max: u32,
    pub l4proto: u16,
    pub origsrc_port: (u16, u16),
    pub origdst_port: (u16, u16),
    pub replsrc_port: (u16, u16),
    pub repldst_port: (u16, u16),
    /// `XT_CONNTRACK_*` bits saying which tests are active.
    pub match_flags: u16,
    pub invert_flags: u16,
    pub state_mask: u16,
    pub status_mask: u16,
}

fn am(addr: nf_inet_addr, mask: nf_inet_addr) -> AddrMask {
    AddrMask {
        addr: addr.bytes,
        mask: mask.bytes,
    }
}

fn inet(bytes: [u8; 16]) -> nf_inet_addr {
    nf_inet_addr { bytes }
}

macro_rules! common_fields {
    ($c:expr) => {
        Conntrack {
            origsrc: am($c.origsrc_addr, $c.origsrc_mask),
            origdst: am($c.origdst_addr, $c.origdst_mask),
            replsrc: am($c.replsrc_addr, $c.replsrc_mask),
            repldst: am($c.repldst_addr, $c.repldst_mask),
            expires_min: $c.expires_min,
            expires_max: $c.expires_max,
            l4proto: $c.l4proto,
            match_flags: $c.match_flags,
            invert_flags: $c.invert_flags,
            state_mask: u16::from($c.state_mask),
            status_mask: u16::from($c.status_mask),
            ..Conntrack::default()
        }
    };
}

impl Conntrack {
    pub fn has(&self, flag: u16) -> bool {
        self.match_flags & flag != 0
    }

    fn inv(&self, flag: u16) -> bool {
        self.invert_flags & flag != 0
    }
}

impl Codec for Conntrack {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        Ok(Some(match revision {
            1 => {
                let c: xt_conntrack_mtinfo1 = read_payload("conntrack", 1, data)?;
                Conntrack {
                    origsrc_port: (u16::from_be(c.origsrc_port), 0),
                    origdst_port: (u16::from_be(c.origdst_port), 0),
                    replsrc_port: (u16::from_be(c.replsrc_port), 0),
                    repldst_port: (u16::from_be(c.repldst_port), 0),
                    ..common_fields!(c)
                }
            }
            2 => {
                let c: xt_conntrack_mtinfo2 = read_payload("conntrack", 2, data)?;
                Conntrack {
                    origsrc_port: (u16::from_be(c.origsrc_port), 0),
                    origdst_port: (u16::from_be(c.origdst_port), 0),
                    replsrc_port: (u16::from_be(c.replsrc_port), 0),
                    repldst_port: (u16::from_be(c.repldst_port), 0),
                    ..common_fields!(c)
                }
            }
            3 => {
                let c: xt_conntrack_mtinfo3 = read_payload("conntrack", 3, data)?;
                Conntrack {
                    origsrc_port: (c.origsrc_port, c.origsrc_port_high),
                    origdst_port: (c.origdst_port, c.origdst_port_high),
                    replsrc_port: (c.replsrc_port, c.replsrc_port_high),
                    repldst_port: (c.repldst_port, c.repldst_port_high),
                    ..common_fields!(c)
                }
            }
            _ => return Ok(None),
        }))
    }

    fn encode(&self, revision: u8, _: Family) -> Vec<u8> {
        match revision {
            1 => write_payload(&xt_conntrack_mtinfo1 {
                origsrc_addr: inet(self.origsrc.addr),
                origsrc_mask: inet(self.origsrc.mask),
                origdst_addr: inet(self.origdst.addr),
                origdst_mask: inet(self.origdst.mask),
                replsrc_addr: inet(self.replsrc.addr),
                replsrc_mask: inet(self.replsrc.mask),
                repldst_addr: inet(self.repldst.addr),
                repldst_mask: inet(self.repldst.mask),
                expires_min: self.expires_min,
                expires_max: self.expires_max,
                l4proto: self.l4proto,
                origsrc_port: self.origsrc_port.0.to_be(),
                origdst_port: self.origdst_port.0.to_be(),
                replsrc_port: self.replsrc_port.0.to_be(),
                repldst_port: self.repldst_port.0.to_be(),
                match_flags: self.match_flags,
                invert_flags: self.invert_flags,
                state_mask: self.state_mask as u8,
                status_mask: self.status_mask as u8,
            }),
            2 => write_payload(&xt_conntrack_mtinfo2 {
                origsrc_addr: inet(self.origsrc.addr),
                origsrc_mask: inet(self.origsrc.mask),
                origdst_addr: inet(self.origdst.addr),
                origdst_mask: inet(self.origdst.mask),
                replsrc_addr: inet(self.replsrc.addr),
                replsrc_mask: inet(self.replsrc.mask),
                repldst_addr: inet(self.repldst.addr),
                repldst_mask: inet(self.repldst.mask),
                expires_min: self.expires_min,
                expires_max: self.expires_max,
                l4proto: self.l4proto,
                origsrc_port: self.origsrc_port.0.to_be(),
                origdst_port: self.origdst_port.0.to_be(),
                replsrc_port: self.replsrc_port.0.to_be(),
                repldst_port: self.repldst_port.0.to_be(),
                match_flags: self.match_flags,
                invert_flags: self.invert_flags,
                state_mask: self.state_mask,
                status_mask: self.status_mask,
                _pad: [0; 2],
            }),
            _ => write_payload(&xt_conntrack_mtinfo3 {
                origsrc_addr: inet(self.origsrc.addr),
                origsrc_mask: inet(self.origsrc.mask),
                origdst_addr: inet(self.origdst.addr),
                origdst_mask: inet(self.origdst.mask),
                replsrc_addr: inet(self.replsrc.addr),
                replsrc_mask: inet(self.replsrc.mask),
                repldst_addr: inet(self.repldst.addr),
                repldst_mask: inet(self.repldst.mask),
                expires_min: self.expires_min,
                expires_max: self.expires_max,
                l4proto: self.l4proto,
                origsrc_port: self.origsrc_port.0,
                origdst_port: self.origdst_port.0,
                replsrc_port: self.replsrc_port.0,
                repldst_port: self.repldst_port.0,
                match_flags: self.match_flags,
                invert_flags: self.invert_flags,
                state_mask: self.state_mask,
                status_mask: self.status_mask,
                origsrc_port_high: self.origsrc_port.1,
                origdst_port_high: self.origdst_port.1,
                replsrc_port_high: self.replsrc_port.1,
                repldst_port_high: self.repldst_port.1,
                _pad: [0; 2],
            }),
        }
    }

    /// libxt_conntrack's `conntrack_dump` with prefix `--`, numeric.
    fn save(&self, ctx: &SaveCtx<'_>, out: &mut String) {
        if self.has(XT_CONNTRACK_STATE) {
            if self.inv(XT_CONNTRACK_STATE) {
                out.push_str(" !");
            }
            out.push_str(if self.has(XT_CONNTRACK_STATE_ALIAS) {
                " --state"
            } else {
                " --ctstate"
            });
            states(self.state_mask, " ", true, out);
        }
        if self.has(XT_CONNTRACK_PROTO) {
            if self.inv(XT_CONNTRACK_PROTO) {
                out.push_str(" !");
            }
            let _ = write!(out, " --ctproto {}", self.l4proto);
        }
        for (flag, option, am) in [
            (XT_CONNTRACK_ORIGSRC, "--ctorigsrc", &self.origsrc),
            (XT_CONNTRACK_ORIGDST, "--ctorigdst", &self.origdst),
            (XT_CONNTRACK_REPLSRC, "--ctreplsrc", &self.replsrc),
            (XT_CONNTRACK_REPLDST, "--ctrepldst", &self.repldst),
        ] {
            if self.has(flag) {
                if self.inv(flag) {
                    out.push_str(" !");
                }
                let _ = write!(out, " {option} ");
                addr_mask(ctx.family, am, out);
            }
        }
        for (flag, option, (low, high)) in [
            (
                XT_CONNTRACK_ORIGSRC_PORT,
                "--ctorigsrcport",
                self.origsrc_port,
            ),
            (
                XT_CONNTRACK_ORIGDST_PORT,
                "--ctorigdstport",
                self.origdst_port,
            ),
            (
                XT_CONNTRACK_REPLSRC_PORT,
                "--ctreplsrcport",
                self.replsrc_port,
            ),
            (
                XT_CONNTRACK_REPLDST_PORT,
                "--ctrepldstport",
                self.repldst_port,
            ),
        ] {
            if self.has(flag) {
                if self.inv(flag) {
                    out.push_str(" !");
                }
                if high == 0 || low == high {
                    let _ = write!(out, " {option} {low}");
                } else {
                    let _ = write!(out, " {option} {low}:{high}");
                }
            }
        }
        if self.has(XT_CONNTRACK_STATUS) {
            if self.inv(XT_CONNTRACK_STATUS) {
                out.push_str(" !");
            }
            out.push_str(" --ctstatus");
            let mut sep = " ";
            for (bit, name) in [
                (IPS_EXPECTED, "EXPECTED"),
                (IPS_SEEN_REPLY, "SEEN_REPLY"),
                (IPS_ASSURED, "ASSURED"),
                (IPS_CONFIRMED, "CONFIRMED"),
            ] {
                if self.status_mask & bit != 0 {
                    out.push_str(sep);
                    out.push_str(name);
                    sep = ",";
                }
            }
            if self.status_mask == 0 {
                out.push_str(" NONE");
            }
        }
        if self.has(XT_CONNTRACK_EXPIRES) {
            if self.inv(XT_CONNTRACK_EXPIRES) {
                out.push_str(" !");
            }
            if self.expires_min == self.expires_max {
                let _ = write!(out, " --ctexpire {}", self.expires_min);
            } else {
                let _ = write!(out, " --ctexpire {}:{}", self.expires_min, self.expires_max);
            }
        }
        if self.has(XT_CONNTRACK_DIRECTION) {
            out.push_str(if self.inv(XT_CONNTRACK_DIRECTION) {
                " --ctdir REPLY"
            } else {
                " --ctdir ORIGINAL"
            });
        }
    }

    fn alias(&self) -> Option<&'static str> {
        self.has(XT_CONNTRACK_STATE_ALIAS).then_some("state")
    }
}

fn addr_mask(family: Family, am: &AddrMask, out: &mut String) {
    match family {
        Family::Ipv4 => {
            let a: [u8; 4] = [am.addr[0], am.addr[1], am.addr[2], am.addr[3]];
            let m: [u8; 4] = [am.mask[0], am.mask[1], am.mask[2], am.mask[3]];
            out.push_str(&text::ipv4(a));
            out.push_str(&text::ipv4_mask_suffix(m));
        }
        Family::Ipv6 => {
            out.push_str(&text::ipv6(am.addr));
            out.push_str(&text::ipv6_mask_suffix(am.mask));
        }
    }
}

/// State names in libxt_conntrack's order. `nat_states`: conntrack prints
/// SNAT and DNAT, the `state` match does not know them.
fn states(mask: u16, first_sep: &str, nat_states: bool, out: &mut String) {
    let mut sep = first_sep;
    let mut names: Vec<(u16, &str)> = vec![
        (state::INVALID, "INVALID"),
        (state::NEW, "NEW"),
        (state::RELATED, "RELATED"),
        (state::ESTABLISHED, "ESTABLISHED"),
        (state::UNTRACKED, "UNTRACKED"),
    ];
    if nat_states {
        names.push((state::SNAT, "SNAT"));
        names.push((state::DNAT, "DNAT"));
    }
    for (bit, name) in names {
        if mask & bit != 0 {
            out.push_str(sep);
            out.push_str(name);
            sep = ",";
        }
    }
}

/// The `state` match proper (revision 0, `xt_state_info`), as written by
/// iptables before 1.8 and still accepted by the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct State {
    pub state_mask: u32,
}

impl Codec for State {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 0 {
            return Ok(None);
        }
        let s: xt_state_info = read_payload("state", 0, data)?;
        Ok(Some(State {
            state_mask: s.statemask,
        }))
    }

    fn encode(&self, _: u8, _: Family) -> Vec<u8> {
        write_payload(&xt_state_info {
            statemask: self.state_mask,
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        out.push_str(" --state ");
        // XT_STATE_UNTRACKED is 1 << (IP_CT_NUMBER + 1) = 0x40 here.
        let mask = self.state_mask;
        let mut bits = (mask & 0xf) as u16;
        if mask & 0x40 != 0 {
            bits |= state::UNTRACKED;
        }
        states(bits, "", false, out);
    }
}

// SKELETON parse (to be implemented)
use super::parse::{OptSpec, Parse, ParseCtx};
impl Parse for Conntrack {
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

impl Parse for State {
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

    #[test]
    fn docker_forward_rule_payload() {
        // netfilter-abi.md A.7.4: --ctstate RELATED,ESTABLISHED
        let mut bytes = vec![0u8; 168];
        bytes[146..152].copy_from_slice(&[1, 0, 0, 0, 6, 0]);
        let c = Conntrack::decode(3, Family::Ipv4, &bytes).unwrap().unwrap();
        assert_eq!(c.encode(3, Family::Ipv4), bytes);
        let mut s = String::new();
        let ctx = SaveCtx {
            family: Family::Ipv4,
            proto: 0,
            set_name: &|_| None,
        };
        c.save(&ctx, &mut s);
        assert_eq!(s, " --ctstate RELATED,ESTABLISHED");
        assert_eq!(c.alias(), None);
    }

    #[test]
    fn state_alias() {
        let c = Conntrack {
            match_flags: XT_CONNTRACK_STATE | XT_CONNTRACK_STATE_ALIAS,
            state_mask: state::NEW,
            ..Conntrack::default()
        };
        let mut s = String::new();
        let ctx = SaveCtx {
            family: Family::Ipv4,
            proto: 0,
            set_name: &|_| None,
        };
        c.save(&ctx, &mut s);
        assert_eq!(s, " --state NEW");
        assert_eq!(c.alias(), Some("state"));
    }
}
