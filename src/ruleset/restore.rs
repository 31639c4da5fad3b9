//! The `iptables-restore` file format: `*table` blocks of `:CHAIN POLICY
//! [p:b]` declarations and commands, each ended by `COMMIT`. Parsing checks
//! every line before anything is applied; errors name the line and token.

use super::command::{
    check_chain_name, parse_args, parse_command, split_args, split_unquoted, Command, CommandError,
};
use super::{Counters, Policy, BUILTIN_CHAINS};
use crate::xt::parse::ParseCtx;
use std::ops::ControlFlow;

/// A whole input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script {
    pub tables: Vec<TableBlock>,
}

/// One `*table` … `COMMIT` block.
#[derive(Debug, Clone, PartialEq)]
pub struct TableBlock {
    pub name: String,
    pub line: usize,
    pub chains: Vec<ChainDecl>,
    pub commands: Vec<(usize, Command)>,
}

/// `:NAME POLICY [packets:bytes]`; `policy` is `None` for `-` (user chain).
#[derive(Debug, Clone, PartialEq)]
pub struct ChainDecl {
    pub name: String,
    pub policy: Option<Policy>,
    pub counters: Option<Counters>,
    pub line: usize,
}

/// A problem in the input, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {}", if token.is_empty() { reason.clone() } else { format!("`{token}': {reason}") })]
pub struct ScriptError {
    pub line: usize,
    pub token: String,
    pub reason: String,
}

fn err(line: usize, token: &str, reason: impl Into<String>) -> ScriptError {
    ScriptError {
        line,
        token: token.to_string(),
        reason: reason.into(),
    }
}

const TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];

/// `[packets:bytes]`
fn parse_counters(s: &str) -> Option<Counters> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    let (p, b) = inner.split_once(':')?;
    Some(Counters {
        packets: p.parse().ok()?,
        bytes: b.parse().ok()?,
    })
}

/// What a parse hands on as it goes, in the input's order. A `Break`
/// stops the parse: the consumer wants the rest no more.
pub trait ScriptSink {
    /// `*name` on line `line`.
    fn table(&mut self, name: &str, line: usize) -> ControlFlow<()>;
    fn chain(&mut self, decl: ChainDecl) -> ControlFlow<()>;
    fn command(&mut self, line: usize, command: Command) -> ControlFlow<()>;
    /// `COMMIT` of the open table.
    fn commit(&mut self) -> ControlFlow<()>;
}

/// Parses `text`. `ctx` supplies the family and name resolution; its table
/// is replaced by each block's. With `counters`, `[p:b]` prefixes and chain
/// counters are kept (iptables-restore `--counters`), else ignored.
pub fn parse_script(text: &str, ctx: &ParseCtx<'_>, counters: bool) -> Result<Script, ScriptError> {
    let mut builder = ScriptBuilder::default();
    parse_script_into(text, ctx, counters, &mut builder)?;
    Ok(builder.script)
}

/// Collects a whole [`Script`].
#[derive(Debug, Default)]
struct ScriptBuilder {
    script: Script,
    open: Option<TableBlock>,
}

impl ScriptSink for ScriptBuilder {
    fn table(&mut self, name: &str, line: usize) -> ControlFlow<()> {
        self.open = Some(TableBlock {
            name: name.to_string(),
            line,
            chains: Vec::new(),
            commands: Vec::new(),
        });
        ControlFlow::Continue(())
    }

    fn chain(&mut self, decl: ChainDecl) -> ControlFlow<()> {
        if let Some(b) = self.open.as_mut() {
            b.chains.push(decl);
        }
        ControlFlow::Continue(())
    }

    fn command(&mut self, line: usize, command: Command) -> ControlFlow<()> {
        if let Some(b) = self.open.as_mut() {
            b.commands.push((line, command));
        }
        ControlFlow::Continue(())
    }

    fn commit(&mut self) -> ControlFlow<()> {
        if let Some(b) = self.open.take() {
            self.script.tables.push(b);
        }
        ControlFlow::Continue(())
    }
}

/// The block being parsed.
struct OpenBlock<'t> {
    name: &'t str,
    /// Chains declared so far (a second declaration is an error).
    declared: Vec<&'t str>,
}

/// [`parse_script`], handing each table, declaration and command to `sink`
/// as it is parsed. Every line up to where the sink stops is checked;
/// returns whether the whole text was parsed (false: the sink stopped).
pub fn parse_script_into<S: ScriptSink>(
    text: &str,
    ctx: &ParseCtx<'_>,
    counters: bool,
    sink: &mut S,
) -> Result<bool, ScriptError> {
    let mut open: Option<OpenBlock<'_>> = None;
    // One token list for every line: no allocation per line.
    let mut tokens: Vec<&str> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('*') {
            if let Some(t) = &open {
                return Err(err(
                    line,
                    trimmed,
                    format!("table `{}' was not committed", t.name),
                ));
            }
            if !TABLES.contains(&name) {
                return Err(err(line, name, "unknown table"));
            }
            open = Some(OpenBlock {
                name,
                declared: Vec::new(),
            });
            if sink.table(name, line).is_break() {
                return Ok(false);
            }
            continue;
        }
        let Some(block) = open.as_mut() else {
            return Err(err(
                line,
                trimmed,
                "no table specified (missing `*table' line)",
            ));
        };
        if trimmed == "COMMIT" {
            open = None;
            if sink.commit().is_break() {
                return Ok(false);
            }
            continue;
        }
        if let Some(decl) = trimmed.strip_prefix(':') {
            let mut parts = decl.split_whitespace();
            let name = parts.next().unwrap_or("");
            check_chain_name(name).map_err(|e| err(line, &e.token, e.reason))?;
            let policy_text = parts
                .next()
                .ok_or_else(|| err(line, name, "chain declaration without policy"))?;
            let builtin = BUILTIN_CHAINS
                .iter()
                .any(|(t, c, _, _, _)| *t == block.name && *c == name);
            let policy = match policy_text {
                "-" => None,
                "ACCEPT" => Some(Policy::Accept),
                "DROP" => Some(Policy::Drop),
                other => return Err(err(line, other, "bad policy name (use ACCEPT, DROP or -)")),
            };
            if policy.is_some() && !builtin {
                return Err(err(
                    line,
                    name,
                    format!("can't set policy on user chain in table {}", block.name),
                ));
            }
            if block.declared.contains(&name) {
                return Err(err(line, name, "chain declared twice"));
            }
            block.declared.push(name);
            let ctr = match parts.next() {
                Some(c) => {
                    Some(parse_counters(c).ok_or_else(|| err(line, c, "invalid chain counters"))?)
                }
                None => None,
            };
            let decl = ChainDecl {
                name: name.to_string(),
                policy,
                counters: if counters { ctr } else { None },
                line,
            };
            if sink.chain(decl).is_break() {
                return Ok(false);
            }
            continue;
        }
        // A command, maybe prefixed by `[packets:bytes]`.
        let (prefix, rest) = if trimmed.starts_with('[') {
            let end = trimmed
                .find(']')
                .ok_or_else(|| err(line, trimmed, "bad counter prefix"))?;
            let c = parse_counters(&trimmed[..=end])
                .ok_or_else(|| err(line, &trimmed[..=end], "bad counter prefix"))?;
            (Some(c), &trimmed[end + 1..])
        } else {
            (None, trimmed)
        };
        let table_ctx = ParseCtx {
            table: block.name,
            ..*ctx
        };
        let parsed = if rest.contains('"') {
            parse_command(&split_args(rest), &table_ctx)
        } else {
            tokens.clear();
            tokens.extend(split_unquoted(rest));
            parse_args(&tokens, &table_ctx)
        };
        let mut command =
            parsed.map_err(|CommandError { token, reason }| err(line, &token, reason))?;
        if let (true, Some(c)) = (counters, prefix) {
            set_counters(&mut command, c);
        }
        if !counters {
            clear_counters(&mut command);
        }
        if sink.command(line, command).is_break() {
            return Ok(false);
        }
    }
    if let Some(t) = open {
        return Err(err(
            text.lines().count(),
            "",
            format!("table `{}' was not committed (missing COMMIT)", t.name),
        ));
    }
    Ok(true)
}

fn set_counters(c: &mut Command, counters: Counters) {
    for r in c.rules_mut() {
        r.counters = counters;
    }
}

fn clear_counters(c: &mut Command) {
    for r in c.rules_mut() {
        r.counters = Counters::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::protocols::ProtoNames;
    use crate::xt::Services;
    use crate::Family;

    fn parse(text: &str) -> Result<Script, ScriptError> {
        let protocols = ProtoNames::from_etc_protocols("tcp 6\nudp 17\n");
        let services = Services::default();
        let ctx = ParseCtx {
            family: Family::Ipv4,
            proto: 0,
            proto_invert: false,
            table: "",
            protocols: &protocols,
            services: &services,
            set_index: &|_| None,
        };
        parse_script(text, &ctx, true)
    }

    #[test]
    fn blocks_declarations_and_commands() {
        let s = parse("# c\n*filter\n:INPUT ACCEPT [1:2]\n:X - [0:0]\n[3:4] -A X -j ACCEPT\nCOMMIT\n*nat\nCOMMIT\n").unwrap();
        assert_eq!(s.tables.len(), 2);
        let f = &s.tables[0];
        assert_eq!(f.chains[0].policy, Some(Policy::Accept));
        assert_eq!(
            f.chains[0].counters,
            Some(Counters {
                packets: 1,
                bytes: 2
            })
        );
        assert_eq!(f.commands[0].0, 5);
        let Command::Append { rules, .. } = &f.commands[0].1 else {
            panic!()
        };
        assert_eq!(rules[0].counters.packets, 3);
    }

    #[test]
    fn errors_name_the_line() {
        let e =
            parse("*filter\n-A INPUT -j ACCEPT\n-A INPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n")
                .unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(e.token, "99999");
        assert_eq!(
            parse("*filter\n-A INPUT\n").unwrap_err().reason,
            "table `filter' was not committed (missing COMMIT)"
        );
        assert_eq!(parse("-A INPUT\n").unwrap_err().line, 1);
        assert_eq!(parse("*bogus\nCOMMIT\n").unwrap_err().token, "bogus");
        assert_eq!(parse("*filter\n:X ACCEPT\nCOMMIT\n").unwrap_err().line, 2);
    }
}
