//! The `--json` form of a ruleset (schema documented in the README): the
//! model, each extension both decoded (`value`) and raw (`data`, hex), and
//! each rule's `iptables-save` line.

use super::save::Printer;
use super::{AddrSel, Chain, IfaceSel, Rule, Ruleset, Table, Target};
use crate::xt::{text, Extension, MatchValue, TargetValue};
use crate::Family;
use serde_json::{json, Map, Value};

pub fn ruleset(rs: &Ruleset, backend: &str, printer: &Printer<'_>) -> Value {
    json!({
        "family": rs.family,
        "backend": backend,
        "tables": rs.tables.iter().map(|t| table(t, printer)).collect::<Vec<_>>(),
    })
}

pub fn table(t: &Table, printer: &Printer<'_>) -> Value {
    json!({
        "name": t.name,
        "compat": t.compat,
        "chains": t.chains.iter().map(|c| chain(c, printer)).collect::<Vec<_>>(),
    })
}

pub fn chain(c: &Chain, printer: &Printer<'_>) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(c.name));
    m.insert("builtin".into(), json!(c.base.is_some()));
    if let Some(b) = &c.base {
        m.insert("policy".into(), json!(b.policy));
        m.insert("hook".into(), json!(b.hook));
        if let Some(p) = b.priority {
            m.insert("priority".into(), json!(p));
        }
        if let Some(t) = &b.chain_type {
            m.insert("type".into(), json!(t));
        }
    }
    m.insert("counters".into(), json!(c.counters));
    m.insert(
        "rules".into(),
        Value::Array(c.rules.iter().map(|r| rule(&c.name, r, printer)).collect()),
    );
    Value::Object(m)
}

pub fn rule(chain: &str, r: &Rule, printer: &Printer<'_>) -> Value {
    let family = printer.family;
    let mut m = Map::new();
    if let Some(h) = r.handle {
        m.insert("handle".into(), json!(h));
    }
    m.insert("counters".into(), json!(r.counters));
    let s = &r.spec;
    if !s.src.is_any() {
        m.insert("source".into(), addr(&s.src, family));
    }
    if !s.dst.is_any() {
        m.insert("destination".into(), addr(&s.dst, family));
    }
    if !s.in_iface.is_any() {
        m.insert("in_interface".into(), iface(&s.in_iface));
    }
    if !s.out_iface.is_any() {
        m.insert("out_interface".into(), iface(&s.out_iface));
    }
    if s.proto != 0 {
        m.insert(
            "protocol".into(),
            json!({"number": s.proto, "name": printer.protocols.name(s.proto), "invert": s.proto_invert}),
        );
    }
    if s.fragment {
        m.insert("fragment".into(), json!({"invert": s.fragment_invert}));
    }
    m.insert(
        "matches".into(),
        Value::Array(
            r.matches
                .iter()
                .map(|e| {
                    extension(
                        e,
                        MatchValue::decode(e, family).map(|v| v.map(|v| json!(v))),
                    )
                })
                .collect(),
        ),
    );
    m.insert("target".into(), target(&r.target, family));
    let mut line = String::new();
    let quiet = Printer {
        counters: false,
        ..*printer
    };
    quiet.rule(chain, r, &mut line);
    m.insert("text".into(), json!(line.trim_end()));
    Value::Object(m)
}

fn addr(a: &AddrSel, family: Family) -> Value {
    let (addr, mask) = match family {
        Family::Ipv4 => {
            let a4 = [a.addr[0], a.addr[1], a.addr[2], a.addr[3]];
            let m4 = [a.mask[0], a.mask[1], a.mask[2], a.mask[3]];
            (text::ipv4(a4), text::ipv4_mask_suffix(m4))
        }
        Family::Ipv6 => (text::ipv6(a.addr), text::ipv6_mask_suffix(a.mask)),
    };
    json!({"address": format!("{addr}{mask}"), "invert": a.invert})
}

fn iface(i: &IfaceSel) -> Value {
    json!({"name": i.text(), "invert": i.invert})
}

fn extension(e: &Extension, value: Result<Option<Value>, crate::xt::XtError>) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(e.name));
    m.insert("revision".into(), json!(e.revision));
    match value {
        Ok(Some(v)) => {
            m.insert("value".into(), v);
        }
        Ok(None) => {}
        Err(err) => {
            m.insert("error".into(), json!(err.reason));
        }
    }
    m.insert("data".into(), json!(hex(&e.data)));
    Value::Object(m)
}

fn target(t: &Target, family: Family) -> Value {
    match t {
        Target::Continue => json!({"kind": "continue"}),
        Target::Accept => json!({"kind": "accept"}),
        Target::Drop => json!({"kind": "drop"}),
        Target::Queue => json!({"kind": "queue"}),
        Target::Return => json!({"kind": "return"}),
        Target::Jump(c) => json!({"kind": "jump", "chain": c}),
        Target::Goto(c) => json!({"kind": "goto", "chain": c}),
        Target::Ext(e) => {
            let mut v = extension(
                e,
                TargetValue::decode(e, family).map(|v| v.map(|v| json!(v))),
            );
            if let Value::Object(m) = &mut v {
                m.insert("kind".into(), json!("extension"));
            }
            v
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
