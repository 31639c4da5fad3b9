//! Parsing extension options from an iptables command line or rules file:
//! the trait each typed extension implements, the context it gets, the
//! options it declares, and the readers libxtables offers with its
//! semantics: numbers (`number`: strtoul base 0), addresses (`addr`:
//! the parsers iptables mixes, CIDR or dotted masks) and ports (service
//! names, ranges).

mod addr;
mod number;

pub use addr::parse_addr_mask;
pub(crate) use addr::{inet_pton, numeric_host, numeric_to_ipaddr};
// conntrack's tests check the getaddrinfo forms directly.
#[cfg(test)]
pub(crate) use addr::inet_aton;
pub use number::parse_uint;
pub(crate) use number::{strtoul, strtoul_full, strtoul_prefix};

use crate::ruleset::protocols::ProtoNames;
use crate::Family;
use std::collections::HashMap;

/// What parsing an extension's options may consult.
#[derive(Clone, Copy)]
pub struct ParseCtx<'a> {
    pub family: Family,
    /// The rule's `-p` (0 = any) and whether it was inverted.
    pub proto: u16,
    pub proto_invert: bool,
    /// The table the rule goes to (some targets only work in one).
    pub table: &'a str,
    pub protocols: &'a ProtoNames,
    pub services: &'a Services,
    /// ipset name → index (the `set` match stores indexes), or `None` when
    /// the set does not exist.
    pub set_index: &'a dyn Fn(&str) -> Option<u16>,
}

impl std::fmt::Debug for ParseCtx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParseCtx")
            .field("family", &self.family)
            .field("proto", &self.proto)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl ParseCtx<'_> {
    /// The kernel only takes protocol matches (tcp, udp, icmp…) under their
    /// own `-p`, not inverted; `ext` is the match, `name` the `-p` word.
    pub(crate) fn require_proto(&self, proto: u16, ext: &str, name: &str) -> Result<(), String> {
        if self.proto != proto || self.proto_invert {
            return Err(format!("{ext} match requires `-p {name}' (without `!')"));
        }
        Ok(())
    }
}

/// Whether an option takes an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    None,
    Required,
    /// Takes the next word only when it does not start with `-` or `!`.
    Optional,
    /// Takes the next two words (`--tcp-flags MASK COMP`), passed joined
    /// by a space.
    Two,
}

/// `XTOPT_INVERT`: `!` may precede the option.
pub const INVERT: u8 = 1 << 0;
/// `XTOPT_MAND`: the option must be given.
pub const MAND: u8 = 1 << 1;
/// `XTOPT_MULTI`: the option may be repeated.
pub const MULTI: u8 = 1 << 2;

/// A long option an extension accepts (`--dport`) and its argument; for
/// the extensions libxtables parses from an option table, also the rest
/// of its `struct xt_option_entry`, which the extension checks with
/// `options::Seen`.
///
/// The rule parser (`ruleset::command`) reads only `name` and `arg`. It
/// does not enforce the flags itself: the messages name the extension and
/// come from each one's parser, and tcp, udp, icmp and set have no table
/// (their checks and messages are their own). Its own check that an option
/// name is not repeated runs first, so for a repeated name its message
/// wins over the extension's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptSpec {
    pub name: &'static str,
    pub arg: Arg,
    /// The entry's id; aliases share it, and messages use the first
    /// entry with the id, as libxtables does.
    pub id: u8,
    /// [`INVERT`], [`MAND`], [`MULTI`].
    pub flags: u8,
    /// Bits `1 << id` of the options this one excludes.
    pub excl: u32,
}

/// An option of an extension that does its own bookkeeping (no table
/// checks: id, flags and exclusions are 0).
pub const fn opt(name: &'static str, arg: Arg) -> OptSpec {
    OptSpec {
        name,
        arg,
        id: 0,
        flags: 0,
        excl: 0,
    }
}

/// One `struct xt_option_entry`: `has_arg` says [`Arg::Required`] or
/// [`Arg::None`].
pub const fn xt_opt(name: &'static str, id: u8, has_arg: bool, flags: u8, excl: u32) -> OptSpec {
    OptSpec {
        name,
        arg: if has_arg { Arg::Required } else { Arg::None },
        id,
        flags,
        excl,
    }
}

/// Implemented by every typed extension that can be written from text.
pub(crate) trait Parse: Sized {
    /// The long options (without `--`), aliases included.
    const OPTIONS: &'static [OptSpec];

    /// The value after `-m NAME` / `-j NAME` and before any option.
    /// `name` is the name used on the command line (e.g. `state`).
    fn start(name: &str, ctx: &ParseCtx<'_>) -> Self;

    /// Applies one option; `invert` when a `!` preceded it. The error text
    /// names what is wrong with the value (the caller adds line and token).
    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        ctx: &ParseCtx<'_>,
    ) -> Result<(), String>;

    /// Final checks once the rule is read; returns the revision to write
    /// (the one iptables 1.8.9 would pick on a current kernel).
    fn finish(&mut self, ctx: &ParseCtx<'_>) -> Result<u8, String>;
}

/// `/etc/services`, for port names (`--dport http`), as `getservbyname`.
#[derive(Debug, Clone, Default)]
pub struct Services {
    by_name: HashMap<(String, String), u16>,
}

impl Services {
    pub fn from_etc_services(text: &str) -> Self {
        let mut s = Services::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split_whitespace();
            let (Some(name), Some(port_proto)) = (fields.next(), fields.next()) else {
                continue;
            };
            let Some((port, proto)) = port_proto.split_once('/') else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            for n in std::iter::once(name).chain(fields) {
                s.by_name
                    .entry((n.to_string(), proto.to_string()))
                    .or_insert(port);
            }
        }
        s
    }

    pub fn system() -> Self {
        std::fs::read_to_string("/etc/services")
            .map(|t| Self::from_etc_services(&t))
            .unwrap_or_default()
    }

    pub fn port(&self, name: &str, proto: &str) -> Option<u16> {
        self.by_name
            .get(&(name.to_string(), proto.to_string()))
            .copied()
    }
}

/// `strncasecmp(word, name, strlen(word)) == 0`, how iptables matches
/// abbreviated keywords: `word` is a case-insensitive prefix of `name` (the
/// empty word is a prefix of every name).
pub(crate) fn abbreviates(word: &str, name: &str) -> bool {
    name.len() >= word.len() && name.as_bytes()[..word.len()].eq_ignore_ascii_case(word.as_bytes())
}

/// `xtables_parse_port`: a number or a service name for `proto`.
pub fn parse_port(s: &str, proto: &str, services: &Services) -> Result<u16, String> {
    if let Ok(v) = parse_uint(s, 65535) {
        return Ok(v as u16);
    }
    services
        .port(s, proto)
        .ok_or_else(|| format!("invalid port/service `{s}' specified"))
}

/// `A`, `A:B`, `:B`, `A:` as libxt_tcp's `parse_tcp_ports`.
pub fn parse_port_range(s: &str, proto: &str, services: &Services) -> Result<(u16, u16), String> {
    match s.split_once(':') {
        None => {
            let p = parse_port(s, proto, services)?;
            Ok((p, p))
        }
        Some((a, b)) => {
            let lo = if a.is_empty() {
                0
            } else {
                parse_port(a, proto, services)?
            };
            let hi = if b.is_empty() {
                0xffff
            } else {
                parse_port(b, proto, services)?
            };
            if lo > hi {
                return Err("invalid portrange (min > max)".into());
            }
            Ok((lo, hi))
        }
    }
}

/// The lowercase protocol name libxtables looks ports up with.
pub fn proto_name_for_ports(proto: u16) -> &'static str {
    match proto {
        6 => "tcp",
        17 => "udp",
        132 => "sctp",
        33 => "dccp",
        136 => "udplite",
        _ => "tcp",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_ranges() {
        let s = Services::from_etc_services("http 80/tcp www\nhttp 80/udp\n");
        assert_eq!(parse_port_range("http", "tcp", &s), Ok((80, 80)));
        assert_eq!(parse_port_range("www:", "tcp", &s), Ok((80, 65535)));
        assert_eq!(parse_port_range(":1023", "tcp", &s), Ok((0, 1023)));
        assert!(parse_port_range("9:1", "tcp", &s).is_err());
        assert!(parse_port_range("nope", "tcp", &s).is_err());
    }
}
