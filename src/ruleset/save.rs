//! The `iptables-save` text format, byte for byte as iptables 1.8.9 prints
//! it (minus the `#` header lines): tables, chain declarations with policies
//! and counters, rules with arguments in iptables' order and spelling.

use super::protocols::ProtoNames;
use super::{AddrSel, Chain, IfaceSel, IpSpec, Rule, Table, TableCompat, Target};
use crate::xt::{text, Extension, MatchValue, SaveCtx, TargetValue};
use crate::Family;
use std::cell::RefCell;
use std::fmt::Write;

/// What the printer needs besides the rules.
pub struct Printer<'a> {
    pub family: Family,
    /// `--counters`: prefix each rule with `[packets:bytes]`.
    pub counters: bool,
    pub protocols: &'a ProtoNames,
    /// ipset index → name, for the `set` match.
    pub set_name: &'a dyn Fn(u16) -> Option<String>,
}

impl std::fmt::Debug for Printer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("family", &self.family)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Printer<'_> {
    /// A whole table: `*name`, chain declarations, rules, `COMMIT`.
    pub fn table(&self, table: &Table, out: &mut String) {
        if !self.table_header(table, out) {
            return;
        }
        for chain in &table.chains {
            self.chain_decl(chain, out);
        }
        for chain in &table.chains {
            for rule in &chain.rules {
                self.rule(&chain.name, rule, out);
            }
        }
        out.push_str("COMMIT\n");
    }

    /// The lines before the chain declarations. Returns false when the table
    /// is not printable at all (only a comment line is written).
    pub fn table_header(&self, table: &Table, out: &mut String) -> bool {
        match &table.compat {
            TableCompat::Incompatible { .. } => {
                let _ = writeln!(
                    out,
                    "# Table `{}' is incompatible, use 'nft' tool.",
                    table.name
                );
                return false;
            }
            TableCompat::IncompatibleBaseChains { .. } => {
                let _ = writeln!(
                    out,
                    "# Table `{}' contains incompatible base-chains, use 'nft' tool to list them.",
                    table.name
                );
            }
            TableCompat::Compatible => {}
        }
        let _ = writeln!(out, "*{}", table.name);
        true
    }

    /// `:NAME POLICY [packets:bytes]`, `-` as the policy of user chains.
    pub fn chain_decl(&self, chain: &Chain, out: &mut String) {
        let policy = chain
            .base
            .as_ref()
            .map(|b| b.policy.as_str())
            .unwrap_or("-");
        out.push(':');
        out.push_str(&chain.name);
        out.push(' ');
        out.push_str(policy);
        out.push_str(" [");
        push_u64(out, chain.counters.packets);
        out.push(':');
        push_u64(out, chain.counters.bytes);
        out.push_str("]\n");
    }

    /// One `-A CHAIN …` line.
    pub fn rule(&self, chain: &str, rule: &Rule, out: &mut String) {
        if self.counters {
            out.push('[');
            push_u64(out, rule.counters.packets);
            out.push(':');
            push_u64(out, rule.counters.bytes);
            out.push_str("] ");
        }
        out.push_str("-A ");
        out.push_str(chain);
        self.spec(&rule.spec, out);
        let ctx = SaveCtx {
            family: self.family,
            proto: rule.spec.proto,
            set_name: self.set_name,
        };
        for m in &rule.matches {
            self.extension(m, Side::Match, &ctx, out);
        }
        match &rule.target {
            Target::Continue => {}
            Target::Accept => out.push_str(" -j ACCEPT"),
            Target::Drop => out.push_str(" -j DROP"),
            Target::Queue => out.push_str(" -j QUEUE"),
            Target::Return => out.push_str(" -j RETURN"),
            Target::Jump(c) => {
                out.push_str(" -j ");
                out.push_str(c);
            }
            Target::Goto(c) => {
                out.push_str(" -g ");
                out.push_str(c);
            }
            Target::Ext(t) => self.extension(t, Side::Target, &ctx, out),
        }
        out.push('\n');
    }

    /// `save_ipv4_addr`/`save_ipv6_addr`, then `save_rule_details`.
    fn spec(&self, spec: &IpSpec, out: &mut String) {
        self.addr('s', &spec.src, out);
        self.addr('d', &spec.dst, out);
        for (letter, iface) in [('i', &spec.in_iface), ('o', &spec.out_iface)] {
            if iface.is_any() {
                continue;
            }
            if iface.invert {
                out.push_str(" !");
            }
            out.push_str(" -");
            out.push(letter);
            out.push(' ');
            push_iface(out, iface);
        }
        if spec.proto > 0 {
            if spec.proto_invert {
                out.push_str(" !");
            }
            out.push_str(" -p ");
            match self.protocols.name(spec.proto) {
                Some(name) => out.push_str(name),
                None => push_u64(out, u64::from(spec.proto)),
            }
        }
        if spec.fragment {
            if spec.fragment_invert {
                out.push_str(" !");
            }
            out.push_str(" -f");
        }
    }

    fn addr(&self, letter: char, sel: &AddrSel, out: &mut String) {
        match self.family {
            Family::Ipv4 => {
                let a = [sel.addr[0], sel.addr[1], sel.addr[2], sel.addr[3]];
                let m = [sel.mask[0], sel.mask[1], sel.mask[2], sel.mask[3]];
                if m == [0; 4] && !sel.invert && a == [0; 4] {
                    return;
                }
                if sel.invert {
                    out.push_str(" !");
                }
                out.push_str(" -");
                out.push(letter);
                out.push(' ');
                push_ipv4(out, a);
                out.push('/');
                // Unlike `xtables_ipmask_to_numeric`, save prints "/32".
                match text::ipv4_mask_cidr(m) {
                    Some(n) => out.push_str(BYTES[n as usize & 0xff]),
                    None => push_ipv4(out, m),
                }
            }
            Family::Ipv6 => {
                let cidr = text::ipv6_mask_cidr(sel.mask);
                if !sel.invert && cidr == Some(0) {
                    return;
                }
                if sel.invert {
                    out.push_str(" !");
                }
                let mask = match cidr {
                    Some(n) => n.to_string(),
                    None => text::ipv6(sel.mask),
                };
                let _ = write!(out, " -{letter} {}/{mask}", text::ipv6(sel.addr));
            }
        }
    }

    /// ` -m NAME ARGS` / ` -j NAME ARGS`. The text depends only on the
    /// extension's bytes, the family and the rule's protocol (but for the
    /// set extensions, which ask the kernel for set names), so the last
    /// texts are kept per thread: rulesets repeat the same matches and
    /// targets thousands of times.
    fn extension(&self, ext: &Extension, side: Side, ctx: &SaveCtx<'_>, out: &mut String) {
        if matches!(&*ext.name, "set" | "SET") {
            return self.extension_text(ext, side, ctx, out);
        }
        let key = MemoKey {
            side: side as u8,
            family: self.family,
            proto: ctx.proto,
        };
        MEMO.with(|memo| {
            let Ok(mut memo) = memo.try_borrow_mut() else {
                return self.extension_text(ext, side, ctx, out);
            };
            let slot = memo.slot(&key, ext);
            if slot.matches(&key, ext) {
                out.push_str(&slot.text);
                return;
            }
            slot.text.clear();
            self.extension_text(ext, side, ctx, &mut slot.text);
            slot.fill(key, ext);
            out.push_str(&slot.text);
        })
    }

    fn extension_text(&self, ext: &Extension, side: Side, ctx: &SaveCtx<'_>, out: &mut String) {
        let flag = match side {
            Side::Match => " -m ",
            Side::Target => " -j ",
        };
        match side.decode(ext, self.family) {
            Ok(Some(value)) => {
                out.push_str(flag);
                out.push_str(value.alias().unwrap_or(&ext.name));
                value.save(ctx, out);
            }
            Ok(None) => {
                out.push_str(flag);
                out.push_str(&ext.name);
                if side.knows(&ext.name) {
                    out.push_str(" [unsupported revision]");
                } else if !ext.data.is_empty() {
                    let _ = write!(out, " [unsupported extension: {} bytes]", ext.data.len());
                }
            }
            Err(e) => {
                out.push_str(flag);
                out.push_str(&ext.name);
                let _ = write!(out, " [malformed: {}]", e.reason);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Side {
    Match,
    Target,
}

/// What an extension's text depends on besides its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MemoKey {
    side: u8,
    family: Family,
    proto: u16,
}

#[derive(Debug, Default)]
struct MemoSlot {
    key: Option<MemoKey>,
    name: String,
    revision: u8,
    data: Vec<u8>,
    text: String,
}

impl MemoSlot {
    fn matches(&self, key: &MemoKey, ext: &Extension) -> bool {
        self.key.as_ref() == Some(key)
            && self.revision == ext.revision
            && self.name == ext.name
            && self.data[..] == ext.data[..]
    }

    fn fill(&mut self, key: MemoKey, ext: &Extension) {
        self.key = Some(key);
        self.revision = ext.revision;
        self.name.clear();
        self.name.push_str(&ext.name);
        self.data.clear();
        self.data.extend_from_slice(&ext.data);
    }
}

/// Extension texts by a hash of what they depend on: a small direct-mapped
/// cache (a miss costs one hash and one copy).
#[derive(Debug)]
struct Memo {
    slots: Vec<MemoSlot>,
}

const MEMO_SLOTS: usize = 64;

impl Memo {
    fn slot(&mut self, key: &MemoKey, ext: &Extension) -> &mut MemoSlot {
        // FxHash-style, eight bytes at a time, over everything the text
        // depends on.
        let mut h: u64 = 0;
        let mut eat = |word: u64| {
            h = (h.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
        };
        eat(u64::from(key.side)
            | u64::from(key.family as u8) << 8
            | u64::from(key.proto) << 16
            | u64::from(ext.revision) << 32
            | (ext.data.len() as u64) << 40);
        for bytes in [ext.name.as_bytes(), &ext.data[..]] {
            let mut words = bytes.chunks_exact(8);
            for w in &mut words {
                eat(u64::from_ne_bytes([
                    w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7],
                ]));
            }
            let mut tail = [0u8; 8];
            let rest = words.remainder();
            tail[..rest.len()].copy_from_slice(rest);
            eat(u64::from_ne_bytes(tail) ^ (rest.len() as u64) << 59);
        }
        if self.slots.is_empty() {
            self.slots.resize_with(MEMO_SLOTS, MemoSlot::default);
        }
        &mut self.slots[(h >> 58) as usize % MEMO_SLOTS]
    }
}

thread_local! {
    static MEMO: RefCell<Memo> = const { RefCell::new(Memo { slots: Vec::new() }) };
}

/// Decimal digits of `n`, without going through `fmt`.
pub(crate) fn push_u64(out: &mut String, mut n: u64) {
    if n < 10 {
        out.push(char::from(b'0' + n as u8));
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while n >= 100 {
        let two = (n % 100) as usize;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[2 * two..2 * two + 2]);
    }
    if n >= 10 {
        i -= 2;
        let two = n as usize;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[2 * two..2 * two + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

/// "00" to "99".
const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// A dotted quad, as `inet_ntop(AF_INET)` (and [`text::ipv4`]) writes it.
pub(crate) fn push_ipv4(out: &mut String, a: [u8; 4]) {
    for (i, b) in a.into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(BYTES[usize::from(b)]);
    }
}

/// Every byte's decimal text (address octets, prefix lengths).
#[rustfmt::skip]
const BYTES: [&str; 256] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32", "33", "34", "35", "36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47", "48", "49", "50", "51", "52", "53", "54", "55", "56", "57", "58", "59", "60", "61", "62", "63", "64", "65", "66", "67", "68", "69", "70", "71", "72", "73", "74", "75", "76", "77", "78", "79", "80", "81", "82", "83", "84", "85", "86", "87", "88", "89", "90", "91", "92", "93", "94", "95", "96", "97", "98", "99", "100", "101", "102", "103", "104", "105", "106", "107", "108", "109", "110", "111", "112", "113", "114", "115", "116", "117", "118", "119", "120", "121", "122", "123", "124", "125", "126", "127", "128", "129", "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "140", "141", "142", "143", "144", "145", "146", "147", "148", "149", "150", "151", "152", "153", "154", "155", "156", "157", "158", "159", "160", "161", "162", "163", "164", "165", "166", "167", "168", "169", "170", "171", "172", "173", "174", "175", "176", "177", "178", "179", "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", "190", "191", "192", "193", "194", "195", "196", "197", "198", "199", "200", "201", "202", "203", "204", "205", "206", "207", "208", "209", "210", "211", "212", "213", "214", "215", "216", "217", "218", "219", "220", "221", "222", "223", "224", "225", "226", "227", "228", "229", "230", "231", "232", "233", "234", "235", "236", "237", "238", "239", "240", "241", "242", "243", "244", "245", "246", "247", "248", "249", "250", "251", "252", "253", "254", "255"];

/// [`IfaceSel::text`], appended.
fn push_iface(out: &mut String, sel: &IfaceSel) {
    for i in 0..16 {
        if sel.mask[i] != 0 {
            if sel.name[i] != 0 {
                out.push(char::from(sel.name[i]));
            }
        } else {
            if i > 0 && sel.name[i - 1] != 0 {
                out.push('+');
            }
            break;
        }
    }
}

/// A decoded match or target, printable the same way.
enum Value {
    Match(MatchValue),
    Target(TargetValue),
}

impl Value {
    fn alias(&self) -> Option<&'static str> {
        match self {
            Value::Match(m) => m.alias(),
            Value::Target(t) => t.alias(),
        }
    }

    fn save(&self, ctx: &SaveCtx<'_>, out: &mut String) {
        match self {
            Value::Match(m) => m.save(ctx, out),
            Value::Target(t) => t.save(ctx, out),
        }
    }
}

impl Side {
    fn decode(self, ext: &Extension, family: Family) -> Result<Option<Value>, crate::xt::XtError> {
        Ok(match self {
            Side::Match => MatchValue::decode(ext, family)?.map(Value::Match),
            Side::Target => TargetValue::decode(ext, family)?.map(Value::Target),
        })
    }

    fn knows(self, name: &str) -> bool {
        match self {
            Side::Match => MatchValue::knows(name),
            Side::Target => TargetValue::knows(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::{Chain, Counters, IfaceSel, IpSpec, Rule};

    /// The printer before its speed-up (commit ab9ac46): the reference
    /// output, byte for byte.
    mod oracle {
        use super::super::{Printer, Side};
        use crate::ruleset::{AddrSel, Chain, IpSpec, Rule, Target};
        use crate::xt::{text, Extension, SaveCtx};
        use crate::Family;
        use std::fmt::Write;

        pub struct Old<'p, 'a>(pub &'p Printer<'a>);

        impl Old<'_, '_> {
            /// `:NAME POLICY [packets:bytes]`, `-` as the policy of user chains.
            pub fn chain_decl(&self, chain: &Chain, out: &mut String) {
                let policy = chain
                    .base
                    .as_ref()
                    .map(|b| b.policy.as_str())
                    .unwrap_or("-");
                let _ = writeln!(
                    out,
                    ":{} {} [{}:{}]",
                    chain.name, policy, chain.counters.packets, chain.counters.bytes
                );
            }

            /// One `-A CHAIN …` line.
            pub fn rule(&self, chain: &str, rule: &Rule, out: &mut String) {
                if self.0.counters {
                    let _ = write!(out, "[{}:{}] ", rule.counters.packets, rule.counters.bytes);
                }
                out.push_str("-A ");
                out.push_str(chain);
                self.spec(&rule.spec, out);
                let ctx = SaveCtx {
                    family: self.0.family,
                    proto: rule.spec.proto,
                    set_name: self.0.set_name,
                };
                for m in &rule.matches {
                    self.extension(m, Side::Match, &ctx, out);
                }
                match &rule.target {
                    Target::Continue => {}
                    Target::Accept => out.push_str(" -j ACCEPT"),
                    Target::Drop => out.push_str(" -j DROP"),
                    Target::Queue => out.push_str(" -j QUEUE"),
                    Target::Return => out.push_str(" -j RETURN"),
                    Target::Jump(c) => {
                        out.push_str(" -j ");
                        out.push_str(c);
                    }
                    Target::Goto(c) => {
                        out.push_str(" -g ");
                        out.push_str(c);
                    }
                    Target::Ext(t) => self.extension(t, Side::Target, &ctx, out),
                }
                out.push('\n');
            }

            /// `save_ipv4_addr`/`save_ipv6_addr`, then `save_rule_details`.
            fn spec(&self, spec: &IpSpec, out: &mut String) {
                self.addr('s', &spec.src, out);
                self.addr('d', &spec.dst, out);
                for (letter, iface) in [('i', &spec.in_iface), ('o', &spec.out_iface)] {
                    if iface.is_any() {
                        continue;
                    }
                    if iface.invert {
                        out.push_str(" !");
                    }
                    let _ = write!(out, " -{letter} {}", iface.text());
                }
                if spec.proto > 0 {
                    if spec.proto_invert {
                        out.push_str(" !");
                    }
                    match self.0.protocols.name(spec.proto) {
                        Some(name) => {
                            let _ = write!(out, " -p {name}");
                        }
                        None => {
                            let _ = write!(out, " -p {}", spec.proto);
                        }
                    }
                }
                if spec.fragment {
                    if spec.fragment_invert {
                        out.push_str(" !");
                    }
                    out.push_str(" -f");
                }
            }

            fn addr(&self, letter: char, sel: &AddrSel, out: &mut String) {
                match self.0.family {
                    Family::Ipv4 => {
                        let a = [sel.addr[0], sel.addr[1], sel.addr[2], sel.addr[3]];
                        let m = [sel.mask[0], sel.mask[1], sel.mask[2], sel.mask[3]];
                        if m == [0; 4] && !sel.invert && a == [0; 4] {
                            return;
                        }
                        if sel.invert {
                            out.push_str(" !");
                        }
                        // Unlike `xtables_ipmask_to_numeric`, save prints "/32".
                        let mask = match text::ipv4_mask_cidr(m) {
                            Some(n) => n.to_string(),
                            None => text::ipv4(m),
                        };
                        let _ = write!(out, " -{letter} {}/{mask}", text::ipv4(a));
                    }
                    Family::Ipv6 => {
                        let cidr = text::ipv6_mask_cidr(sel.mask);
                        if !sel.invert && cidr == Some(0) {
                            return;
                        }
                        if sel.invert {
                            out.push_str(" !");
                        }
                        let mask = match cidr {
                            Some(n) => n.to_string(),
                            None => text::ipv6(sel.mask),
                        };
                        let _ = write!(out, " -{letter} {}/{mask}", text::ipv6(sel.addr));
                    }
                }
            }

            fn extension(&self, ext: &Extension, side: Side, ctx: &SaveCtx<'_>, out: &mut String) {
                let flag = match side {
                    Side::Match => " -m ",
                    Side::Target => " -j ",
                };
                match side.decode(ext, self.0.family) {
                    Ok(Some(value)) => {
                        out.push_str(flag);
                        out.push_str(value.alias().unwrap_or(&ext.name));
                        value.save(ctx, out);
                    }
                    Ok(None) => {
                        out.push_str(flag);
                        out.push_str(&ext.name);
                        if side.knows(&ext.name) {
                            out.push_str(" [unsupported revision]");
                        } else if !ext.data.is_empty() {
                            let _ =
                                write!(out, " [unsupported extension: {} bytes]", ext.data.len());
                        }
                    }
                    Err(e) => {
                        out.push_str(flag);
                        out.push_str(&ext.name);
                        let _ = write!(out, " [malformed: {}]", e.reason);
                    }
                }
            }
        }
    }

    fn rules_of_the_seeds() -> Vec<(Family, String, Rule)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(root.join("nft_rule")).expect("seeds") {
            let data = std::fs::read(entry.expect("seed").path()).expect("seed");
            let family = if data[0] & 1 == 0 {
                Family::Ipv4
            } else {
                Family::Ipv6
            };
            for rule in crate::backend::nft::read::decode_rule_datagram(family, &data[1..]) {
                out.push((family, "NFT".to_string(), rule.expect("seed rule")));
            }
        }
        for entry in std::fs::read_dir(root.join("legacy_blob")).expect("seeds") {
            let data = std::fs::read(entry.expect("seed").path()).expect("seed");
            let family = if data[0] & 1 == 0 {
                Family::Ipv4
            } else {
                Family::Ipv6
            };
            let word = |i: usize| {
                let at = 2 + 4 * i;
                u32::from_ne_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
            };
            let hooks = crate::backend::legacy::blob::Hooks {
                valid_hooks: word(0),
                hook_entry: std::array::from_fn(|h| word(1 + h)),
                underflow: std::array::from_fn(|h| word(6 + h)),
            };
            let table = ["filter", "nat", "mangle", "raw", "security"][usize::from(data[1]) % 5];
            let t = crate::backend::legacy::blob::decode_table(family, table, &hooks, &data[46..])
                .expect("seed table");
            for chain in t.chains {
                for rule in chain.rules {
                    out.push((family, chain.name.clone(), rule));
                }
            }
        }
        assert!(out.len() > 500, "only {} rules in the seeds", out.len());
        out
    }

    fn both(family: Family, counters: bool, chain: &str, rule: &Rule) -> (String, String) {
        let protocols = ProtoNames::from_etc_protocols("tcp 6 TCP\nudp 17 UDP\ngre 47 GRE\n");
        let set_name = |i: u16| (i % 2 == 0).then(|| format!("set{i}"));
        let printer = Printer {
            family,
            counters,
            protocols: &protocols,
            set_name: &set_name,
        };
        let (mut new, mut old) = (String::new(), String::new());
        printer.rule(chain, rule, &mut new);
        oracle::Old(&printer).rule(chain, rule, &mut old);
        (new, old)
    }

    #[test]
    fn every_seed_rule_prints_as_before_twice() {
        for (family, chain, rule) in rules_of_the_seeds() {
            for counters in [false, true] {
                let (new, old) = both(family, counters, &chain, &rule);
                assert_eq!(new, old);
                // Again, now from the memo.
                assert_eq!(both(family, counters, &chain, &rule).0, old);
            }
        }
    }

    #[test]
    fn header_selectors_print_as_before() {
        let mut x: u64 = 0x005e_ed0f_5a7e;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let names: [&[u8]; 6] = [
            b"eth0",
            b"docker0",
            b"br-+",
            b"",
            b"\xe9t\xff",
            b"0123456789abcde",
        ];
        for _ in 0..5000 {
            let mut spec = IpSpec::default();
            for sel in [&mut spec.src, &mut spec.dst] {
                let r = next();
                sel.addr = (r as u128 ^ (r as u128) << 64).to_be_bytes();
                let prefix = (next() % 140) as u32;
                sel.mask = if prefix <= 128 {
                    u128::MAX
                        .checked_shl(128 - prefix)
                        .unwrap_or(0)
                        .to_be_bytes()
                } else {
                    (next() as u128).to_be_bytes()
                };
                sel.invert = next() % 3 == 0;
            }
            for sel in [&mut spec.in_iface, &mut spec.out_iface] {
                let name = names[next() as usize % names.len()];
                let mut s = IfaceSel {
                    invert: next() % 3 == 0,
                    ..IfaceSel::default()
                };
                s.name[..name.len()].copy_from_slice(name);
                let masked = next() as usize % 17;
                s.mask[..masked].fill(0xff);
                *sel = s;
            }
            spec.proto = [0, 6, 17, 47, 250, 1, 300][next() as usize % 7];
            spec.proto_invert = next() % 2 == 0;
            spec.fragment = next() % 4 == 0;
            spec.fragment_invert = next() % 2 == 0;
            let rule = Rule {
                spec,
                matches: Vec::new(),
                target: Target::Continue,
                counters: Counters {
                    packets: next(),
                    bytes: next() >> (next() % 64),
                },
                handle: None,
            };
            for family in Family::ALL {
                let (new, old) = both(family, true, "C", &rule);
                assert_eq!(new, old);
            }
        }
    }

    #[test]
    fn numbers_print_as_fmt_does() {
        let mut samples: Vec<u64> = (0..2000).collect();
        samples.extend((1..20).map(|p| 10u64.pow(p)));
        samples.extend((1..20).map(|p| 10u64.pow(p) - 1));
        samples.extend([u64::MAX, u64::MAX - 1, 1 << 32, 65535]);
        for n in samples {
            let mut s = String::from("x");
            push_u64(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }

    #[test]
    fn chain_declarations_print_as_before() {
        let protocols = ProtoNames::default();
        let set_name = |_: u16| None;
        let printer = Printer {
            family: Family::Ipv4,
            counters: false,
            protocols: &protocols,
            set_name: &set_name,
        };
        for (packets, bytes) in [(0, 0), (1, 10), (u64::MAX, 1 << 40)] {
            let chain = Chain {
                name: "DOCKER-USER".into(),
                base: None,
                counters: Counters { packets, bytes },
                rules: Vec::new(),
            };
            let (mut new, mut old) = (String::new(), String::new());
            printer.chain_decl(&chain, &mut new);
            oracle::Old(&printer).chain_decl(&chain, &mut old);
            assert_eq!(new, old);
        }
    }
}
