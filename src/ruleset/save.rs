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
                    Some(n) => push_u64(out, u64::from(n)),
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
        if matches!(ext.name.as_str(), "set" | "SET") {
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
            && self.data == ext.data
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
        for bytes in [ext.name.as_bytes(), &ext.data] {
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
fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(buf[i..].iter().map(|&b| char::from(b)));
}

/// A dotted quad, as `inet_ntop(AF_INET)` (and [`text::ipv4`]) writes it.
fn push_ipv4(out: &mut String, a: [u8; 4]) {
    for (i, b) in a.into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_u64(out, u64::from(b));
    }
}

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
