//! The `iptables-save` text format, byte for byte as iptables 1.8.9 prints
//! it (minus the `#` header lines): tables, chain declarations with policies
//! and counters, rules with arguments in iptables' order and spelling.

use super::protocols::ProtoNames;
use super::{AddrSel, Chain, IpSpec, Rule, Table, TableCompat, Target};
use crate::xt::{text, Extension, MatchValue, SaveCtx, TargetValue};
use crate::Family;
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
        let _ = writeln!(
            out,
            ":{} {} [{}:{}]",
            chain.name, policy, chain.counters.packets, chain.counters.bytes
        );
    }

    /// One `-A CHAIN …` line.
    pub fn rule(&self, chain: &str, rule: &Rule, out: &mut String) {
        if self.counters {
            let _ = write!(out, "[{}:{}] ", rule.counters.packets, rule.counters.bytes);
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
            let _ = write!(out, " -{letter} {}", iface.text());
        }
        if spec.proto > 0 {
            if spec.proto_invert {
                out.push_str(" !");
            }
            match self.protocols.name(spec.proto) {
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
