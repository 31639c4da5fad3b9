//! Helpers for the extensions' tests: parse like the rules-file reader
//! does, print like `iptables-save`, and compare with payloads captured
//! from iptables 1.8.9.

use super::parse::{Parse, ParseCtx, Services};
use super::{Codec, SaveCtx};
use crate::ruleset::protocols::ProtoNames;
use crate::Family;

/// Bytes from hex text; whitespace is ignored, so long captures can be
/// wrapped.
pub fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Where a rule sits: family, `-p` (negative = inverted), table.
#[derive(Clone, Copy)]
pub struct Rule {
    pub family: Family,
    pub proto: i32,
    pub table: &'static str,
}

pub const V4: Rule = Rule {
    family: Family::Ipv4,
    proto: 0,
    table: "filter",
};

pub const V6: Rule = Rule {
    family: Family::Ipv6,
    ..V4
};

impl Rule {
    pub fn proto(self, proto: i32) -> Rule {
        Rule { proto, ..self }
    }
    pub fn table(self, table: &'static str) -> Rule {
        Rule { table, ..self }
    }
}

/// `-m/-j NAME OPTS…` parsed and finished like the rules parser does:
/// the value and its revision. Names resolve against a few `/etc/services`
/// and `/etc/protocols` lines, and sets `myset` (index 0) and `other` (1).
pub fn parse<T: Parse>(
    rule: Rule,
    name: &str,
    opts: &[(&str, Option<&str>, bool)],
) -> Result<(T, u8), String> {
    let protocols = ProtoNames::from_etc_protocols("gre 47 GRE\n");
    let services = Services::from_etc_services(
        "http 80/tcp www\nhttp 80/udp\nssh 22/tcp\ndomain 53/tcp\ndomain 53/udp\n\
         syslog 514/udp\n",
    );
    let set_index = |name: &str| match name {
        "myset" => Some(0),
        "other" => Some(1),
        _ => None,
    };
    let ctx = ParseCtx {
        family: rule.family,
        proto: rule.proto.unsigned_abs() as u16,
        proto_invert: rule.proto < 0,
        table: rule.table,
        protocols: &protocols,
        services: &services,
        set_index: &set_index,
    };
    let mut v = T::start(name, &ctx);
    for (o, a, inv) in opts {
        v.option(o, *a, *inv, &ctx)?;
    }
    let rev = v.finish(&ctx)?;
    Ok((v, rev))
}

/// What `save` appends, with sets 0 and 1 named `myset` and `other`.
pub fn save<T: Codec>(v: &T, family: Family) -> String {
    let mut s = String::new();
    let ctx = SaveCtx {
        family,
        proto: 0,
        set_name: &|i| match i {
            0 => Some("myset".to_string()),
            1 => Some("other".to_string()),
            _ => None,
        },
    };
    v.save(&ctx, &mut s);
    s
}

/// Decodes `data` as revision `rev`, checks it encodes back to the same
/// bytes and prints `want`.
pub fn roundtrip<T: Codec + std::fmt::Debug>(rev: u8, family: Family, data: &str, want: &str) -> T {
    let bytes = unhex(data);
    let v = T::decode(rev, family, &bytes)
        .expect("decodes")
        .expect("typed");
    assert_eq!(v.encode(rev, family), bytes, "{v:?}");
    assert_eq!(save(&v, family), want);
    v
}

/// The round trip every captured rule must make: the parsed value
/// encodes to the kernel's bytes at the revision iptables chose, and
/// those bytes decode, re-encode identically and print as `text`.
pub fn captured<T: Parse + Codec + std::fmt::Debug>(
    rule: Rule,
    name: &str,
    opts: &[(&str, Option<&str>, bool)],
    revision: u8,
    hex: &str,
    text: &str,
) {
    let bytes = unhex(hex);
    let (parsed, rev) = parse::<T>(rule, name, opts).unwrap();
    assert_eq!(rev, revision, "revision for {opts:?}");
    assert_eq!(
        parsed.encode(rev, rule.family),
        bytes,
        "encoding of {opts:?}: {parsed:?}"
    );
    let decoded = T::decode(revision, rule.family, &bytes).unwrap().unwrap();
    assert_eq!(decoded.encode(revision, rule.family), bytes);
    assert_eq!(save(&decoded, rule.family), text, "{opts:?}");
}
