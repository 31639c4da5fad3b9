//! `conntrack` match revisions 1–3 (`xt_conntrack_mtinfo1..3`), printed as
//! `-m state --state …` when the state-alias flag is set (how iptables 1.8
//! writes `-m state`), and the old `state` match (revision 0,
//! `xt_state_info`).

use super::options::Seen;
use super::parse::{
    abbreviates, numeric_host, opt, parse_uint, strtoul_prefix, xt_opt, Arg, OptSpec, Parse,
    ParseCtx, Services, INVERT, MAND,
};
use super::text;
use super::Payload;
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
    #[serde(skip)]
    seen: Seen,
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

    fn encode(&self, revision: u8, _: Family) -> Payload {
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
    out.push_str(&text::inet(family, &am.addr));
    out.push_str(&text::inet_mask_suffix(family, &am.mask));
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

    fn encode(&self, _: u8, _: Family) -> Payload {
        write_payload(&xt_state_info {
            statemask: self.state_mask,
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        out.push_str(" --state ");
        // libxt_conntrack's `state_print_state` tests the conntrack bits,
        // UNTRACKED included (0x100, where the kernel's state match has
        // 0x40, which iptables 1.8.9 never prints).
        states(self.state_mask as u16, "", false, out);
    }
}

/// Option ids as libxt_conntrack numbers them.
const O_CTSTATE: u8 = 0;
const O_CTPROTO: u8 = 1;
const O_CTORIGSRC: u8 = 2;
const O_CTORIGDST: u8 = 3;
const O_CTREPLSRC: u8 = 4;
const O_CTREPLDST: u8 = 5;
const O_CTORIGSRCPORT: u8 = 6;
const O_CTORIGDSTPORT: u8 = 7;
const O_CTREPLSRCPORT: u8 = 8;
const O_CTREPLDSTPORT: u8 = 9;
const O_CTSTATUS: u8 = 10;
const O_CTEXPIRE: u8 = 11;
const O_CTDIR: u8 = 12;

/// `XT_INV_PROTO`; libxt_conntrack tests it against `invert_flags`, where it
/// is the `--ctstatus` bit (an iptables quirk we keep).
const XT_INV_PROTO: u16 = 0x40;

/// `--ctstate` names in libxt_conntrack's lookup order.
const CT_STATES: [(&str, u16); 7] = [
    ("INVALID", state::INVALID),
    ("NEW", state::NEW),
    ("ESTABLISHED", state::ESTABLISHED),
    ("RELATED", state::RELATED),
    ("UNTRACKED", state::UNTRACKED),
    ("SNAT", state::SNAT),
    ("DNAT", state::DNAT),
];

/// `--ctstatus` names (`NONE` adds no bit).
const CT_STATUSES: [(&str, u16); 5] = [
    ("NONE", 0),
    ("EXPECTED", IPS_EXPECTED),
    ("SEEN_REPLY", IPS_SEEN_REPLY),
    ("ASSURED", IPS_ASSURED),
    ("CONFIRMED", IPS_CONFIRMED),
];

/// The bit of the first name `word` is a case-insensitive prefix of
/// (`strncasecmp(word, NAME, strlen(word))`).
fn lookup_prefix(table: &[(&str, u16)], word: &str) -> Option<u16> {
    table
        .iter()
        .find(|(name, _)| abbreviates(word, name))
        .map(|(_, bit)| *bit)
}

/// A comma list as libxt_conntrack parses it; errors quote the list from
/// the bad word on. `empty_last` is the message for a trailing comma.
fn parse_list(
    table: &[(&str, u16)],
    arg: &str,
    bad: &str,
    empty_last: Option<&str>,
) -> Result<u16, String> {
    let mut mask = 0;
    let mut rest = arg;
    while let Some(comma) = rest.find(',') {
        match lookup_prefix(table, &rest[..comma]) {
            Some(bit) if comma > 0 => mask |= bit,
            _ => return Err(format!("Bad {bad} \"{rest}\"")),
        }
        rest = &rest[comma + 1..];
    }
    if rest.is_empty() {
        if let Some(msg) = empty_last {
            return Err(msg.to_string());
        }
    }
    match lookup_prefix(table, rest) {
        Some(bit) if !rest.is_empty() => Ok(mask | bit),
        _ => Err(format!("Bad {bad} \"{rest}\"")),
    }
}

/// `-m state --state LIST` (the names the state match knows).
fn parse_state_list(arg: &str) -> Result<u16, String> {
    parse_list(
        &CT_STATES[..5],
        arg,
        "state",
        Some("\"--state\" requires a list of states with no spaces, e.g. ESTABLISHED,RELATED"),
    )
}

/// libxtables' `XTTYPE_HOSTMASK`: the address is kept as given (not
/// masked); no `/` means a mask of all ones over the whole 16 bytes; a
/// prefix length or contiguous dotted mask sets that many leading bits; a
/// non-contiguous mask ends up as all ones too. Host names are not
/// resolved (nfdoctor never does DNS).
fn parse_hostmask(arg: &str, family: Family, ext: &str, option: &str) -> Result<AddrMask, String> {
    let (host, mask) = match arg.split_once('/') {
        Some((h, m)) => (h, Some(m)),
        None => (arg, None),
    };
    let addr = numeric_host(host, family)
        .ok_or_else(|| format!("host/network `{host}' not found (numeric addresses only)"))?;
    let hlen: u32 = match family {
        Family::Ipv4 => 32,
        Family::Ipv6 => 128,
    };
    let bits = match mask {
        None => None,
        Some(m) => match parse_uint(m, u64::from(hlen)) {
            Ok(n) => Some(n as u32),
            Err(_) => {
                let full = numeric_host(m, family).ok_or_else(|| {
                    format!(
                        "{ext}: bad value for option \"--{option}\", neither a valid network \
                         mask nor valid CIDR (0-{hlen})."
                    )
                })?;
                let m = match family {
                    Family::Ipv4 => {
                        u128::from(u32::from_be_bytes([full[0], full[1], full[2], full[3]])) << 96
                    }
                    Family::Ipv6 => u128::from_be_bytes(full),
                };
                let ones = m.leading_ones();
                (m.checked_shl(ones).unwrap_or(0) == 0).then_some(ones)
            }
        },
    };
    let mask = match bits {
        None => u128::MAX,
        Some(0) => 0,
        Some(n) => u128::MAX << (128 - n),
    };
    Ok(AddrMask {
        addr,
        mask: mask.to_be_bytes(),
    })
}

/// `xtables_getportbyname`: a decimal number (cut to 16 bits, as
/// `getaddrinfo` does) or a service name of any protocol.
fn port_by_name(name: &str, services: &Services) -> Option<u16> {
    let t = name.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let t = t.strip_prefix('+').unwrap_or(t);
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let v = t.parse::<u64>().ok()?;
        return i32::try_from(v as u32).ok().map(|v| v as u16);
    }
    ["tcp", "udp", "dccp", "udplite", "sctp"]
        .iter()
        .find_map(|proto| services.port(name, proto))
}

/// `XTTYPE_PORTRC`: `PORT`, `LOW:HIGH`, `LOW:`, `:HIGH` or `:` (no check
/// that LOW ≤ HIGH).
fn parse_port_rc(
    arg: &str,
    services: &Services,
    ext: &str,
    option: &str,
) -> Result<(u16, u16), String> {
    let words: Vec<&str> = arg.split(':').collect();
    if words.len() > 2 {
        return Err(format!(
            "{ext}: Too many components for option \"--{option}\" (max: 2)"
        ));
    }
    let mut range = [0u16, u16::MAX];
    for (i, w) in words.iter().enumerate() {
        if w.is_empty() {
            continue;
        }
        range[i] = port_by_name(w, services)
            .ok_or_else(|| format!("Port \"{w}\" does not resolve to anything."))?;
    }
    if words.len() == 1 {
        range[1] = range[0];
    }
    Ok((range[0], range[1]))
}

/// `XTTYPE_UINT32RC`: `N`, `MIN:MAX`, `MIN:` (to 2^32-1) or `:MAX`.
fn parse_u32_rc(arg: &str, ext: &str, option: &str) -> Result<(u32, u32), String> {
    let mut vals: Vec<u32> = Vec::with_capacity(2);
    let mut rest = arg;
    loop {
        if vals.len() == 2 {
            return Err(format!(
                "{ext}: Too many components for option \"--{option}\" (max: 2)"
            ));
        }
        let (value, end) = if rest.is_empty() || rest.starts_with(':') {
            (if vals.len() == 1 { u32::MAX } else { 0 }, rest)
        } else {
            let (v, end) = strtoul_prefix(rest)
                .and_then(|(v, end)| Some((v.filter(|v| *v <= u64::from(u32::MAX))?, end)))
                .ok_or_else(|| {
                    format!(
                        "{ext}: bad value for option \"--{option}\" near \"{rest}\", or out \
                         of range (0-{}).",
                        u32::MAX
                    )
                })?;
            if !end.is_empty() && !end.starts_with(':') {
                return Err(format!(
                    "{ext}: Argument to \"--{option}\" has unexpected characters near \"{end}\"."
                ));
            }
            (v as u32, end)
        };
        vals.push(value);
        match end.strip_prefix(':') {
            Some(next) => rest = next,
            None => break,
        }
    }
    Ok((vals[0], vals.get(1).copied().unwrap_or(vals[0])))
}

/// `xtables_parse_protocol`: a number 0–255 or a protocol name.
fn parse_protocol(arg: &str, ctx: &ParseCtx<'_>) -> Result<u16, String> {
    if let Ok(n) = parse_uint(arg, 255) {
        return Ok(n as u16);
    }
    ctx.protocols
        .number(arg)
        .ok_or_else(|| format!("unknown protocol \"{arg}\" specified"))
}

/// `-m conntrack` takes every option but the last, `-m state` only that
/// one (`--state`).
const CONNTRACK_OPTS: &[OptSpec] = split_state_option().0;
const STATE_OPTS: &[OptSpec] = split_state_option().1;

const fn split_state_option() -> (&'static [OptSpec], &'static [OptSpec]) {
    let all = <Conntrack as Parse>::OPTIONS;
    all.split_at(all.len() - 1)
}

impl Parse for Conntrack {
    /// conntrack's options, then `state` for the `-m state` alias.
    const OPTIONS: &'static [OptSpec] = &[
        xt_opt("ctstate", O_CTSTATE, true, INVERT, 0),
        xt_opt("ctproto", O_CTPROTO, true, INVERT, 0),
        xt_opt("ctorigsrc", O_CTORIGSRC, true, INVERT, 0),
        xt_opt("ctorigdst", O_CTORIGDST, true, INVERT, 0),
        xt_opt("ctreplsrc", O_CTREPLSRC, true, INVERT, 0),
        xt_opt("ctrepldst", O_CTREPLDST, true, INVERT, 0),
        xt_opt("ctorigsrcport", O_CTORIGSRCPORT, true, INVERT, 0),
        xt_opt("ctorigdstport", O_CTORIGDSTPORT, true, INVERT, 0),
        xt_opt("ctreplsrcport", O_CTREPLSRCPORT, true, INVERT, 0),
        xt_opt("ctrepldstport", O_CTREPLDSTPORT, true, INVERT, 0),
        xt_opt("ctstatus", O_CTSTATUS, true, INVERT, 0),
        xt_opt("ctexpire", O_CTEXPIRE, true, INVERT, 0),
        xt_opt("ctdir", O_CTDIR, true, 0, 0),
        xt_opt("state", O_CTSTATE, true, INVERT | MAND, 0),
    ];

    /// `-m state` is conntrack revision 3 with the state-alias flag, which
    /// also marks the value as taking only `--state`.
    fn start(name: &str, _: &ParseCtx<'_>) -> Self {
        let mut c = Conntrack::default();
        if name == "state" {
            c.match_flags = XT_CONNTRACK_STATE_ALIAS;
        }
        c
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        ctx: &ParseCtx<'_>,
    ) -> Result<(), String> {
        if self.has(XT_CONNTRACK_STATE_ALIAS) {
            let (_, arg) = self.seen.take("state", STATE_OPTS, name, arg, invert)?;
            self.match_flags = XT_CONNTRACK_STATE | XT_CONNTRACK_STATE_ALIAS;
            self.state_mask = parse_state_list(arg)?;
            if invert {
                self.invert_flags |= XT_CONNTRACK_STATE;
            }
            return Ok(());
        }
        let (entry, arg) = self
            .seen
            .take("conntrack", CONNTRACK_OPTS, name, arg, invert)?;
        let flag = match entry.id {
            O_CTSTATE => {
                self.state_mask |= parse_list(&CT_STATES, arg, "ctstate", None)?;
                XT_CONNTRACK_STATE
            }
            O_CTPROTO => {
                self.l4proto = parse_protocol(arg, ctx)?;
                if self.l4proto == 0 && self.invert_flags & XT_INV_PROTO != 0 {
                    return Err("conntrack: rule would never match protocol".into());
                }
                XT_CONNTRACK_PROTO
            }
            O_CTORIGSRC => {
                self.origsrc = parse_hostmask(arg, ctx.family, "conntrack", name)?;
                XT_CONNTRACK_ORIGSRC
            }
            O_CTORIGDST => {
                self.origdst = parse_hostmask(arg, ctx.family, "conntrack", name)?;
                XT_CONNTRACK_ORIGDST
            }
            O_CTREPLSRC => {
                self.replsrc = parse_hostmask(arg, ctx.family, "conntrack", name)?;
                XT_CONNTRACK_REPLSRC
            }
            O_CTREPLDST => {
                self.repldst = parse_hostmask(arg, ctx.family, "conntrack", name)?;
                XT_CONNTRACK_REPLDST
            }
            O_CTORIGSRCPORT => {
                self.origsrc_port = parse_port_rc(arg, ctx.services, "conntrack", name)?;
                XT_CONNTRACK_ORIGSRC_PORT
            }
            O_CTORIGDSTPORT => {
                self.origdst_port = parse_port_rc(arg, ctx.services, "conntrack", name)?;
                XT_CONNTRACK_ORIGDST_PORT
            }
            O_CTREPLSRCPORT => {
                self.replsrc_port = parse_port_rc(arg, ctx.services, "conntrack", name)?;
                XT_CONNTRACK_REPLSRC_PORT
            }
            O_CTREPLDSTPORT => {
                self.repldst_port = parse_port_rc(arg, ctx.services, "conntrack", name)?;
                XT_CONNTRACK_REPLDST_PORT
            }
            O_CTSTATUS => {
                self.status_mask |= parse_list(&CT_STATUSES, arg, "ctstatus", None)?;
                XT_CONNTRACK_STATUS
            }
            O_CTEXPIRE => {
                (self.expires_min, self.expires_max) = parse_u32_rc(arg, "conntrack", name)?;
                XT_CONNTRACK_EXPIRES
            }
            _ => {
                // --ctdir: REPLY is stored as an inverted direction test.
                if arg.eq_ignore_ascii_case("ORIGINAL") {
                    self.invert_flags &= !XT_CONNTRACK_DIRECTION;
                } else if arg.eq_ignore_ascii_case("REPLY") {
                    self.invert_flags |= XT_CONNTRACK_DIRECTION;
                } else {
                    return Err(format!(
                        "conntrack: Bad value for \"--ctdir\" option: \"{arg}\""
                    ));
                }
                self.match_flags |= XT_CONNTRACK_DIRECTION;
                return Ok(());
            }
        };
        self.match_flags |= flag;
        if invert {
            self.invert_flags |= flag;
        }
        Ok(())
    }

    /// iptables 1.8.9 writes revision 3 for both `-m conntrack` and
    /// `-m state`.
    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        if self.has(XT_CONNTRACK_STATE_ALIAS) {
            self.seen.check("state", STATE_OPTS)?;
        } else if !self.seen.any() {
            return Err("conntrack: At least one option is required".into());
        }
        Ok(3)
    }
}

/// Only for completeness: iptables 1.8.9 never writes the `state` match
/// itself (`-m state` becomes conntrack), but its parser would fill it so.
impl Parse for State {
    const OPTIONS: &'static [OptSpec] = &[opt("state", Arg::Required)];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        State { state_mask: 0 }
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        if name != "state" {
            return Err(format!("unknown option --{name}"));
        }
        let mask = u32::from(parse_state_list(arg.unwrap_or(""))?);
        self.state_mask = if invert { !mask } else { mask };
        Ok(())
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        if self.state_mask == 0 {
            return Err("state: option \"--state\" must be specified".into());
        }
        Ok(0)
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
        let s = save(&c, Family::Ipv4);
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
        let s = save(&c, Family::Ipv4);
        assert_eq!(s, " --state NEW");
        assert_eq!(c.alias(), Some("state"));
    }

    use crate::xt::parse::inet_aton;
    use crate::xt::testing::{captured, parse, save, V4, V6};

    #[test]
    fn ipv4_captures() {
        captured::<Conntrack>(
            V4,
            "conntrack",
            &[("ctorigsrc", Some("10.1.2.3"), false)],
            3,
            "0a010203000000000000000000000000ffffffffffffffffffffffffffffffff00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000",
            " --ctorigsrc 10.1.2.3",
        );
        captured::<Conntrack>(
            V4,
            "conntrack",
            &[("ctorigsrc", Some("10.1.2.3/24"), false)],
            3,
            "0a010203000000000000000000000000ffffff0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000",
            " --ctorigsrc 10.1.2.3/24",
        );
        captured::<Conntrack>(
            V4,
            "conntrack",
            &[("ctorigsrc", Some("10.1.2.3/32"), false)],
            3,
            "0a010203000000000000000000000000ffffffff00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000",
            " --ctorigsrc 10.1.2.3",
        );
        captured::<Conntrack>(
            V4,
            "conntrack",
            &[("ctrepldst", Some("10.1.2.3/255.0.255.0"), true)],
            3,
            "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a010203000000000000000000000000ffffffffffffffffffffffffffffffff00000000000000000000000000000000000020002000000000000000000000000000000000000000",
            " ! --ctrepldst 10.1.2.3",
        );
        captured::<Conntrack>(
            V4,
            "conntrack",
            &[("ctrepldst", Some("10.1.2.3/255.255.0.0"), false)],
            3,
            "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a010203000000000000000000000000ffff000000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000",
            " --ctrepldst 10.1.2.3/16",
        );
        captured::<Conntrack>(
            V4,
            "conntrack",
            &[("ctexpire", Some("5:"), false), ("ctorigsrcport", Some("10:5"), false), ("ctorigdstport", Some(":"), false), ("ctreplsrcport", Some("http"), false), ("ctrepldstport", Some("22"), false)],
            3,
            "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005000000ffffffff00000a00000050001600800f0000000000000500ffff50001600000000000000",
            " --ctorigsrcport 10:5 --ctorigdstport 0:65535 --ctreplsrcport 80 --ctrepldstport 22 --ctexpire 5:4294967295",
        );
        captured::<Conntrack>(
            V4,
            "conntrack",
            &[("ctstate", Some("n,e,untr"), false), ("ctstatus", Some("none,EXP"), false), ("ctproto", Some("tcp"), false), ("ctdir", Some("REPLY"), false)],
            3,
            "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000000000000000000431000100a0101000000000000000000000000000000",
            " --ctstate NEW,ESTABLISHED,UNTRACKED --ctproto 6 --ctstatus EXPECTED --ctdir REPLY",
        );
        captured::<Conntrack>(
            V4,
            "state",
            &[("state", Some("NEW,est"), true)],
            3,
            "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000012001000a0000000000000000000000000000000000",
            " ! --state NEW,ESTABLISHED",
        );
    }

    #[test]
    fn ipv6_captures() {
        captured::<Conntrack>(
            V6,
            "conntrack",
            &[("ctorigsrc", Some("fd00::1"), false), ("ctorigdst", Some("fd00::/64"), true), ("ctreplsrc", Some("fd00::1/ffff:ffff::"), false), ("ctrepldst", Some("fd00::1/ffff::ffff"), false)],
            3,
            "fd000000000000000000000000000001fffffffffffffffffffffffffffffffffd000000000000000000000000000000ffffffffffffffff0000000000000000fd000000000000000000000000000001ffffffff000000000000000000000000fd000000000000000000000000000001ffffffffffffffffffffffffffffffff0000000000000000000000000000000000003c000800000000000000000000000000000000000000",
            " --ctorigsrc fd00::1 ! --ctorigdst fd00::/64 --ctreplsrc fd00::1/32 --ctrepldst fd00::1",
        );
        captured::<Conntrack>(
            V6,
            "conntrack",
            &[("ctstate", Some("INVALID,SNAT,DNAT"), true), ("ctproto", Some("ipv6-icmp"), true), ("ctstatus", Some("SEEN_REPLY,ASSURED,CONFIRMED"), true), ("ctexpire", Some(":7"), true), ("ctdir", Some("original"), false)],
            3,
            "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000070000003a000000000000000000c310c300c1000e000000000000000000000000000000",
            " ! --ctstate INVALID,SNAT,DNAT ! --ctproto 58 ! --ctstatus SEEN_REPLY,ASSURED,CONFIRMED ! --ctexpire 0:7 --ctdir ORIGINAL",
        );
        captured::<Conntrack>(
            V6,
            "state",
            &[("state", Some("related,UNTRACKED,INVALID"), false)],
            3,
            "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001200000050100000000000000000000000000000000",
            " --state INVALID,RELATED,UNTRACKED",
        );
        captured::<Conntrack>(
            V6,
            "conntrack",
            &[("ctorigsrcport", Some("22"), true), ("ctrepldstport", Some("1000:2000"), true), ("ctproto", Some("gre"), false)],
            3,
            "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000002f00160000000000e8030209000900000000160000000000d007000000000000",
            " --ctproto 47 ! --ctorigsrcport 22 ! --ctrepldstport 1000:2000",
        );
    }

    #[test]
    fn errors_like_iptables() {
        let err = |name: &str, opts: &[(&str, Option<&str>, bool)]| {
            parse::<Conntrack>(V4, name, opts).unwrap_err()
        };
        assert_eq!(
            err("conntrack", &[]),
            "conntrack: At least one option is required"
        );
        assert_eq!(
            err("state", &[]),
            "state: option \"--state\" must be specified"
        );
        assert_eq!(
            err("state", &[("ctstate", Some("NEW"), false)]),
            "unknown option --ctstate"
        );
        assert_eq!(
            err("conntrack", &[("state", Some("NEW"), false)]),
            "unknown option --state"
        );
        assert_eq!(
            err("conntrack", &[("ctstate", Some("NEW,FOO,BAR"), false)]),
            "Bad ctstate \"FOO,BAR\""
        );
        assert_eq!(
            err("conntrack", &[("ctstate", Some("NEW,"), false)]),
            "Bad ctstate \"\""
        );
        assert_eq!(
            err("conntrack", &[("ctstate", Some("NEWX"), false)]),
            "Bad ctstate \"NEWX\""
        );
        assert_eq!(
            err("state", &[("state", Some("NEW,SNAT"), false)]),
            "Bad state \"SNAT\""
        );
        assert_eq!(
            err("state", &[("state", Some("NEW,"), false)]),
            "\"--state\" requires a list of states with no spaces, e.g. ESTABLISHED,RELATED"
        );
        assert_eq!(
            err("conntrack", &[("ctstatus", Some(",NONE"), false)]),
            "Bad ctstatus \",NONE\""
        );
        assert_eq!(
            err("conntrack", &[("ctproto", Some("bogus"), false)]),
            "unknown protocol \"bogus\" specified"
        );
        // libxt_conntrack tests XT_INV_PROTO (the --ctstatus bit) here.
        assert_eq!(
            err(
                "conntrack",
                &[
                    ("ctstatus", Some("NONE"), true),
                    ("ctproto", Some("0"), false)
                ]
            ),
            "conntrack: rule would never match protocol"
        );
        assert!(parse::<Conntrack>(V4, "conntrack", &[("ctproto", Some("0"), true)]).is_ok());
        assert_eq!(
            err("conntrack", &[("ctdir", Some("BOTH"), false)]),
            "conntrack: Bad value for \"--ctdir\" option: \"BOTH\""
        );
        assert_eq!(
            err("conntrack", &[("ctdir", Some("REPLY"), true)]),
            "conntrack: option \"--ctdir\" cannot be inverted."
        );
        assert_eq!(
            err("conntrack", &[("ctexpire", Some("1:2:3"), false)]),
            "conntrack: Too many components for option \"--ctexpire\" (max: 2)"
        );
        assert_eq!(
            err("conntrack", &[("ctexpire", Some("x"), false)]),
            "conntrack: bad value for option \"--ctexpire\" near \"x\", or out of range (0-4294967295)."
        );
        assert_eq!(
            err("conntrack", &[("ctexpire", Some("5x"), false)]),
            "conntrack: Argument to \"--ctexpire\" has unexpected characters near \"x\"."
        );
        assert_eq!(
            err("conntrack", &[("ctorigsrcport", Some("0x10"), false)]),
            "Port \"0x10\" does not resolve to anything."
        );
        assert_eq!(
            err("conntrack", &[("ctorigsrcport", Some("1:2:3"), false)]),
            "conntrack: Too many components for option \"--ctorigsrcport\" (max: 2)"
        );
        assert_eq!(
            err("conntrack", &[("ctorigsrc", Some("10.0.0.1/x"), false)]),
            "conntrack: bad value for option \"--ctorigsrc\", neither a valid network mask nor valid CIDR (0-32)."
        );
        assert_eq!(
            err(
                "conntrack",
                &[
                    ("ctorigsrc", Some("10.0.0.1"), false),
                    ("ctorigsrc", Some("10.0.0.2"), false)
                ]
            ),
            "conntrack: option \"--ctorigsrc\" can only be used once."
        );
    }

    #[test]
    fn getaddrinfo_number_forms() {
        // What iptables accepted in a capture: 70000 is 4464, " 010" is 10,
        // "" is 0, 0x0a000001/0xffff0000 is 10.0.0.1/16.
        let (c, _) = parse::<Conntrack>(
            V4,
            "conntrack",
            &[
                ("ctorigsrcport", Some("70000"), false),
                ("ctorigdstport", Some(" 010"), false),
                ("ctreplsrcport", Some(""), false),
                ("ctorigdst", Some("0x0a000001/0xffff0000"), false),
                ("ctorigsrc", Some("10.1"), false),
                ("ctexpire", Some(""), false),
            ],
        )
        .unwrap();
        assert_eq!(c.origsrc_port, (4464, 4464));
        assert_eq!(c.origdst_port, (10, 10));
        assert_eq!(c.replsrc_port, (0, 0));
        assert_eq!(&c.origdst.addr[..4], &[10, 0, 0, 1]);
        assert_eq!(&c.origdst.mask[..4], &[255, 255, 0, 0]);
        assert_eq!(&c.origsrc.addr[..4], &[10, 0, 0, 1]);
        assert_eq!((c.expires_min, c.expires_max), (0, 0));
        assert_eq!(inet_aton("10.256"), Some([10, 0, 1, 0]));
        // `/33` is the mask 0.0.0.33 for getaddrinfo: non-contiguous, so
        // all ones (iptables prints it as no mask at all).
        let (c, _) = parse::<Conntrack>(
            V4,
            "conntrack",
            &[("ctorigsrc", Some("10.0.0.1/33"), false)],
        )
        .unwrap();
        assert_eq!(c.origsrc.mask, [0xff; 16]);
        assert_eq!(inet_aton("1.2.3.256"), None);
        assert_eq!(inet_aton("1..2"), None);
        assert_eq!(inet_aton("0+5.1"), None);
        assert_eq!(inet_aton("0x+5"), None);
        assert_eq!(inet_aton("0x"), None);
        assert_eq!(inet_aton("0"), Some([0, 0, 0, 0]));
        assert_eq!(inet_aton("012.0x10.0.1"), Some([10, 16, 0, 1]));
        assert_eq!(inet_aton("1.2.3.4.5"), None);
    }

    #[test]
    fn state_revision_0() {
        // iptables 1.8.9 prints the old state match with the conntrack
        // bits: UNTRACKED is 0x100, the kernel's 0x40 is not printed.
        let s = State { state_mask: 0x14e };
        let out = save(&s, Family::Ipv4);
        assert_eq!(out, " --state NEW,RELATED,ESTABLISHED,UNTRACKED");
        let (p, rev) = parse::<State>(V4, "state", &[("state", Some("NEW"), true)]).unwrap();
        assert_eq!((p.state_mask, rev), (!8, 0));
    }
}
