//! The bodies of the fuzz targets, shared with `tests/corrupt_input.rs`,
//! which runs them on stable Rust over the seeds in `fuzz/seeds` and their
//! truncations and mutations. Every input must end in errors, never in a
//! panic; inputs that decode must also print.

#![allow(dead_code)]

use nfdoctor::backend::legacy::blob::{self, BlobError, Hooks, TableIndex};
use nfdoctor::backend::nft::read::decode_rule_datagram;
use nfdoctor::ruleset::protocols::ProtoNames;
use nfdoctor::ruleset::save::Printer;
use nfdoctor::ruleset::{IpSpec, Rule, Target};
use nfdoctor::Family;

/// Table names by their byte in a `legacy_blob` input.
pub const TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];

/// Bytes before the blob in a `legacy_blob` input.
pub const LEGACY_HEADER: usize = 2 + 4 * 11;

pub fn family(byte: u8) -> Family {
    if byte & 1 == 0 {
        Family::Ipv4
    } else {
        Family::Ipv6
    }
}

fn print(family: Family, chain: &str, rule: &Rule, text: &mut String) {
    let protocols = ProtoNames::from_etc_protocols("tcp 6 TCP\nudp 17 UDP\n");
    let set_name = |index: u16| (index & 1 == 0).then(|| format!("set{index}"));
    for counters in [false, true] {
        let printer = Printer {
            family,
            counters,
            protocols: &protocols,
            set_name: &set_name,
        };
        printer.rule(chain, rule, text);
    }
}

/// `[family][datagram]`: every NEWRULE message of one rule dump datagram,
/// decoded, and printed when it decodes. Returns (rules decoded, errors).
pub fn nft_rule(data: &[u8]) -> (usize, usize) {
    let Some((&f, datagram)) = data.split_first() else {
        return (0, 0);
    };
    let family = family(f);
    let mut text = String::new();
    let (mut ok, mut failed) = (0, 0);
    for rule in decode_rule_datagram(family, datagram) {
        match rule {
            Ok(rule) => {
                print(family, "CHAIN", &rule, &mut text);
                ok += 1;
            }
            Err(_) => failed += 1,
        }
    }
    (ok, failed)
}

/// `[family][table][valid_hooks][hook_entry x5][underflow x5][blob]`, the
/// u32s in host order: the blob indexed, every rule decoded on its own and
/// printed, and the whole table decoded, which must agree.
pub fn legacy_blob(data: &[u8]) -> Result<usize, BlobError> {
    if data.len() < LEGACY_HEADER {
        return Ok(0);
    }
    let family = family(data[0]);
    let table = TABLES[usize::from(data[1]) % TABLES.len()];
    let word = |i: usize| {
        let at = 2 + 4 * i;
        u32::from_ne_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
    };
    let hooks = Hooks {
        valid_hooks: word(0),
        hook_entry: std::array::from_fn(|h| word(1 + h)),
        underflow: std::array::from_fn(|h| word(6 + h)),
    };
    let blob = &data[LEGACY_HEADER..];
    let parsed = blob::parse_entries(family, table, blob);
    let decoded = blob::decode_table(family, table, &hooks, blob);
    let index = match TableIndex::new(family, table, &hooks, blob) {
        Ok(index) => index,
        Err(e) => {
            assert_eq!(
                decoded.err(),
                Some(e.clone()),
                "decode_table and TableIndex disagree"
            );
            return Err(e);
        }
    };
    assert!(parsed.is_ok(), "an indexed blob must split into entries");
    let mut rule = Rule::new(IpSpec::default(), Vec::new(), Target::Continue);
    let mut text = String::new();
    let mut rules = 0;
    for (c, chain) in index.chains.iter().enumerate() {
        for entry in index.rule_entries(c) {
            index
                .fill_rule(blob, entry, &mut rule)
                .expect("every entry of an indexed blob decodes");
            print(family, &chain.name, &rule, &mut text);
            rules += 1;
        }
    }
    assert_eq!(
        index.table(blob).ok(),
        decoded.ok(),
        "decode_table and TableIndex disagree"
    );
    Ok(rules)
}
