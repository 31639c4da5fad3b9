//! The edit API: small changes to a table (create a chain, append, insert
//! at a position, delete, replace, flush, set a policy), checked against the
//! table's current state and applied to the model. Writers then put the
//! resulting table into the kernel atomically, touching only what changed.
//! Rules keep their kernel identity (`Rule::handle`), so a writer can tell
//! surviving rules from new ones.

use super::command::Command;
use super::restore::{ChainDecl, ScriptError, TableBlock};
use super::{BaseChain, Chain, Counters, Policy, Rule, Table, TableCompat, BUILTIN_CHAINS};

/// One change to a table. Positions are 0-based and refer to the chain as
/// it is when the edit is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// A user chain; an error if it exists.
    CreateChain {
        chain: String,
    },
    /// A built-in chain, created if absent (nf_tables creates them lazily),
    /// with its policy.
    EnsureBuiltin {
        chain: String,
        policy: Option<Policy>,
        counters: Option<Counters>,
    },
    DeleteChain {
        chain: String,
    },
    Flush {
        chain: String,
    },
    Append {
        chain: String,
        rule: Rule,
    },
    Insert {
        chain: String,
        index: usize,
        rule: Rule,
    },
    Delete {
        chain: String,
        index: usize,
    },
    Replace {
        chain: String,
        index: usize,
        rule: Rule,
    },
    SetPolicy {
        chain: String,
        policy: Policy,
        counters: Option<Counters>,
    },
    /// Zero the counters of one chain's rules, or of all chains.
    Zero {
        chain: Option<String>,
    },
}

/// Why an edit does not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{chain}: {reason}")]
pub struct EditError {
    pub chain: String,
    pub reason: String,
}

fn eerr(chain: &str, reason: impl Into<String>) -> EditError {
    EditError {
        chain: chain.to_string(),
        reason: reason.into(),
    }
}

fn builtin_of(table: &str, chain: &str) -> Option<(u32, &'static str, i32)> {
    BUILTIN_CHAINS
        .iter()
        .find(|(t, c, _, _, _)| *t == table && *c == chain)
        .map(|(_, _, h, ty, p)| (*h, *ty, *p))
}

fn chain_mut<'a>(table: &'a mut Table, name: &str) -> Result<&'a mut Chain, EditError> {
    table
        .chains
        .iter_mut()
        .find(|c| c.name == name)
        .ok_or_else(|| eerr(name, "no chain by that name"))
}

/// Applies one edit to `table`.
pub fn apply(table: &mut Table, edit: &Edit) -> Result<(), EditError> {
    apply_owned(table, edit.clone())
}

/// [`apply`], moving the edit's rule into the table.
pub fn apply_owned(table: &mut Table, edit: Edit) -> Result<(), EditError> {
    match edit {
        Edit::CreateChain { chain } => {
            if table.chain(&chain).is_some() {
                return Err(eerr(&chain, "chain already exists"));
            }
            if builtin_of(&table.name, &chain).is_some() {
                return Err(eerr(&chain, "is a built-in chain"));
            }
            table.chains.push(Chain {
                name: chain,
                base: None,
                counters: Counters::default(),
                rules: Vec::new(),
            });
            sort_chains(table);
        }
        Edit::EnsureBuiltin {
            chain,
            policy,
            counters,
        } => {
            let (hook, ty, prio) = builtin_of(&table.name, &chain).ok_or_else(|| {
                eerr(
                    &chain,
                    format!("not a built-in chain of table {}", table.name),
                )
            })?;
            match table.chain_mut(&chain) {
                Some(c) => {
                    if let (Some(b), Some(p)) = (c.base.as_mut(), policy) {
                        b.policy = p;
                    }
                    if let Some(ctr) = counters {
                        c.counters = ctr;
                    }
                }
                None => {
                    table.chains.push(Chain {
                        name: chain,
                        base: Some(BaseChain {
                            hook,
                            policy: policy.unwrap_or(Policy::Accept),
                            priority: Some(prio),
                            chain_type: Some(ty.to_string()),
                        }),
                        counters: counters.unwrap_or_default(),
                        rules: Vec::new(),
                    });
                    sort_chains(table);
                }
            }
        }
        Edit::DeleteChain { chain } => {
            let c = table
                .chain(&chain)
                .ok_or_else(|| eerr(&chain, "no chain by that name"))?;
            if c.is_builtin() {
                return Err(eerr(&chain, "can't delete a built-in chain"));
            }
            if !c.rules.is_empty() {
                return Err(eerr(&chain, "chain is not empty"));
            }
            if let Some(user) = referrer(table, &chain) {
                return Err(eerr(&chain, format!("chain is still referenced by {user}")));
            }
            table.chains.retain(|c| c.name != chain);
        }
        Edit::Flush { chain } => chain_mut(table, &chain)?.rules.clear(),
        Edit::Append { chain, rule } => {
            check_target(table, &chain, &rule)?;
            chain_mut(table, &chain)?.rules.push(rule);
        }
        Edit::Insert { chain, index, rule } => {
            check_target(table, &chain, &rule)?;
            let c = chain_mut(table, &chain)?;
            if index > c.rules.len() {
                return Err(eerr(
                    &chain,
                    format!("index of insertion too big ({} rules)", c.rules.len()),
                ));
            }
            c.rules.insert(index, rule);
        }
        Edit::Delete { chain, index } => {
            let c = chain_mut(table, &chain)?;
            if index >= c.rules.len() {
                return Err(eerr(
                    &chain,
                    format!("index of deletion too big ({} rules)", c.rules.len()),
                ));
            }
            c.rules.remove(index);
        }
        Edit::Replace { chain, index, rule } => {
            check_target(table, &chain, &rule)?;
            let c = chain_mut(table, &chain)?;
            if index >= c.rules.len() {
                return Err(eerr(
                    &chain,
                    format!("index of replacement too big ({} rules)", c.rules.len()),
                ));
            }
            c.rules[index] = rule;
        }
        Edit::SetPolicy {
            chain,
            policy,
            counters,
        } => {
            let c = chain_mut(table, &chain)?;
            let base = c
                .base
                .as_mut()
                .ok_or_else(|| eerr(&chain, "can't set a policy on a user chain"))?;
            base.policy = policy;
            if let Some(ctr) = counters {
                c.counters = ctr;
            }
        }
        Edit::Zero { chain } => {
            for c in table.chains.iter_mut() {
                if chain.as_ref().is_some_and(|n| *n != c.name) {
                    continue;
                }
                for r in &mut c.rules {
                    // New counters mean a new rule for nf_tables.
                    r.counters = Counters::default();
                    r.handle = None;
                }
                c.counters = Counters::default();
            }
            if let Some(n) = chain {
                if table.chain(&n).is_none() {
                    return Err(eerr(&n, "no chain by that name"));
                }
            }
        }
    }
    Ok(())
}

/// Which chain jumps to `chain`, if any.
fn referrer(table: &Table, chain: &str) -> Option<String> {
    table
        .chains
        .iter()
        .find(|c| c.rules.iter().any(|r| r.target.chain() == Some(chain)))
        .map(|c| c.name.clone())
}

fn check_target(table: &Table, chain: &str, rule: &Rule) -> Result<(), EditError> {
    if let Some(t) = rule.target.chain() {
        if table.chain(t).is_none() {
            return Err(eerr(
                chain,
                format!("jump to `{t}': no chain/target/match by that name"),
            ));
        }
        if builtin_of(&table.name, t).is_some() {
            return Err(eerr(chain, format!("can't jump to built-in chain `{t}'")));
        }
    }
    Ok(())
}

/// A table as the legacy kernel creates it: every built-in chain, empty,
/// policy ACCEPT.
pub fn builtin_table(name: &str) -> Table {
    let mut t = Table {
        name: name.to_string(),
        chains: Vec::new(),
        compat: TableCompat::Compatible,
    };
    for (table, chain, _, _, _) in BUILTIN_CHAINS {
        if *table == name {
            let e = Edit::EnsureBuiltin {
                chain: chain.to_string(),
                policy: None,
                counters: None,
            };
            let _ = apply(&mut t, &e);
        }
    }
    t
}

/// Built-in chains by hook, then user chains by name: the order both
/// iptables-save variants print.
pub fn sort_chains(table: &mut Table) {
    table.chains.sort_by(|a, b| match (&a.base, &b.base) {
        (Some(x), Some(y)) => x.hook.cmp(&y.hook),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.name.as_bytes().cmp(b.name.as_bytes()),
    });
}

/// Where a block starts from: the kernel's table unless the block flushes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// iptables-restore's default: the table is emptied first.
    Table,
    /// `--noflush`: only declared user chains are flushed.
    None,
}

/// Plans one restore block against `current` (the kernel's table, or an
/// empty one when absent): the edits, in order, and the resulting table.
/// `builtins_persist`: legacy tables always have all built-in chains;
/// nf_tables only has the ones declared (iptables-nft-restore deletes and
/// recreates the table).
pub fn plan_block(
    current: &Table,
    block: &TableBlock,
    flush: Flush,
    builtins_persist: bool,
) -> Result<(Vec<Edit>, Table), ScriptError> {
    let mut edits = Vec::new();
    let table = plan_block_with(
        current.clone(),
        block,
        flush,
        builtins_persist,
        &mut Edits::Record(&mut edits),
    )?;
    Ok((edits, table))
}

/// [`plan_block`] on a table the caller gives up, without the list of
/// edits (what a restore needs: no copy of the table or of its rules).
pub fn plan_block_into(
    table: Table,
    block: &TableBlock,
    flush: Flush,
    builtins_persist: bool,
) -> Result<Table, ScriptError> {
    plan_block_with(table, block, flush, builtins_persist, &mut Edits::Skip)
}

/// Whether a plan keeps its edits.
enum Edits<'a> {
    Record(&'a mut Vec<Edit>),
    Skip,
}

impl Edits<'_> {
    fn push(&mut self, e: Edit) {
        if let Edits::Record(v) = self {
            v.push(e);
        }
    }
}

fn plan_block_with(
    mut table: Table,
    block: &TableBlock,
    flush: Flush,
    builtins_persist: bool,
    edits: &mut Edits<'_>,
) -> Result<Table, ScriptError> {
    let line_err = |line: usize, e: EditError| ScriptError {
        line,
        token: e.chain,
        reason: e.reason,
    };
    let push = |table: &mut Table,
                edits: &mut Edits<'_>,
                line: usize,
                e: Edit|
     -> Result<(), ScriptError> {
        match edits {
            Edits::Record(v) => {
                apply(table, &e).map_err(|x| line_err(line, x))?;
                v.push(e);
            }
            Edits::Skip => apply_owned(table, e).map_err(|x| line_err(line, x))?,
        }
        Ok(())
    };
    if flush == Flush::Table {
        table.compat = TableCompat::Compatible;
        if builtins_persist {
            let names: Vec<String> = table.chains.iter().map(|c| c.name.clone()).collect();
            for chain in names {
                push(&mut table, edits, block.line, Edit::Flush { chain })?;
            }
            let users: Vec<String> = table
                .chains
                .iter()
                .filter(|c| !c.is_builtin())
                .map(|c| c.name.clone())
                .collect();
            for chain in users {
                table.chains.retain(|x| x.name != chain);
                edits.push(Edit::DeleteChain { chain });
            }
        } else {
            table.chains.clear();
        }
    }
    for ChainDecl {
        name,
        policy,
        counters,
        line,
    } in &block.chains
    {
        if builtin_of(&block.name, name).is_some() {
            push(
                &mut table,
                edits,
                *line,
                Edit::EnsureBuiltin {
                    chain: name.clone(),
                    policy: *policy,
                    counters: *counters,
                },
            )?;
        } else if table.chain(name).is_some() {
            push(
                &mut table,
                edits,
                *line,
                Edit::Flush {
                    chain: name.clone(),
                },
            )?;
        } else {
            push(
                &mut table,
                edits,
                *line,
                Edit::CreateChain {
                    chain: name.clone(),
                },
            )?;
        }
    }
    for (line, cmd) in &block.commands {
        let line = *line;
        let ensure =
            |table: &mut Table, edits: &mut Edits<'_>, chain: &str| -> Result<(), ScriptError> {
                // nf_tables creates built-in chains on first use.
                if table.chain(chain).is_none() && builtin_of(&block.name, chain).is_some() {
                    let e = Edit::EnsureBuiltin {
                        chain: chain.to_string(),
                        policy: None,
                        counters: None,
                    };
                    apply(table, &e).map_err(|x| line_err(line, x))?;
                    edits.push(e);
                }
                Ok(())
            };
        match cmd {
            Command::Append { chain, rules } => {
                ensure(&mut table, edits, chain)?;
                for r in rules {
                    push(
                        &mut table,
                        edits,
                        line,
                        Edit::Append {
                            chain: chain.clone(),
                            rule: r.clone(),
                        },
                    )?;
                }
            }
            Command::Insert {
                chain,
                position,
                rules,
            } => {
                ensure(&mut table, edits, chain)?;
                for (k, r) in rules.iter().enumerate() {
                    push(
                        &mut table,
                        edits,
                        line,
                        Edit::Insert {
                            chain: chain.clone(),
                            index: position - 1 + k,
                            rule: r.clone(),
                        },
                    )?;
                }
            }
            Command::DeleteSpec { chain, rules } => {
                for r in rules {
                    let c = table
                        .chain(chain)
                        .ok_or_else(|| line_err(line, eerr(chain, "no chain by that name")))?;
                    let index = c.rules.iter().position(|x| x.same_spec(r)).ok_or_else(|| {
                        line_err(
                            line,
                            eerr(
                                chain,
                                "bad rule (does a matching rule exist in that chain?)",
                            ),
                        )
                    })?;
                    push(
                        &mut table,
                        edits,
                        line,
                        Edit::Delete {
                            chain: chain.clone(),
                            index,
                        },
                    )?;
                }
            }
            Command::DeleteNum { chain, position } => {
                push(
                    &mut table,
                    edits,
                    line,
                    Edit::Delete {
                        chain: chain.clone(),
                        index: position - 1,
                    },
                )?;
            }
            Command::Replace {
                chain,
                position,
                rule,
            } => {
                push(
                    &mut table,
                    edits,
                    line,
                    Edit::Replace {
                        chain: chain.clone(),
                        index: position - 1,
                        rule: (**rule).clone(),
                    },
                )?;
            }
            Command::Check { chain, rules } => {
                let c = table
                    .chain(chain)
                    .ok_or_else(|| line_err(line, eerr(chain, "no chain by that name")))?;
                if !rules.iter().all(|r| c.rules.iter().any(|x| x.same_spec(r))) {
                    return Err(line_err(
                        line,
                        eerr(
                            chain,
                            "bad rule (does a matching rule exist in that chain?)",
                        ),
                    ));
                }
            }
            Command::NewChain(chain) => {
                push(
                    &mut table,
                    edits,
                    line,
                    Edit::CreateChain {
                        chain: chain.clone(),
                    },
                )?;
            }
            Command::DeleteChain(Some(chain)) => {
                push(
                    &mut table,
                    edits,
                    line,
                    Edit::DeleteChain {
                        chain: chain.clone(),
                    },
                )?;
            }
            Command::DeleteChain(None) => {
                let users: Vec<String> = table
                    .chains
                    .iter()
                    .filter(|c| !c.is_builtin())
                    .map(|c| c.name.clone())
                    .collect();
                for chain in users {
                    push(&mut table, edits, line, Edit::DeleteChain { chain })?;
                }
            }
            Command::Flush(Some(chain)) => {
                push(
                    &mut table,
                    edits,
                    line,
                    Edit::Flush {
                        chain: chain.clone(),
                    },
                )?;
            }
            Command::Flush(None) => {
                let names: Vec<String> = table.chains.iter().map(|c| c.name.clone()).collect();
                for chain in names {
                    push(&mut table, edits, line, Edit::Flush { chain })?;
                }
            }
            Command::Zero(chain) => {
                push(
                    &mut table,
                    edits,
                    line,
                    Edit::Zero {
                        chain: chain.clone(),
                    },
                )?;
            }
            Command::Policy {
                chain,
                policy,
                counters,
            } => {
                ensure(&mut table, edits, chain)?;
                push(
                    &mut table,
                    edits,
                    line,
                    Edit::SetPolicy {
                        chain: chain.clone(),
                        policy: *policy,
                        counters: *counters,
                    },
                )?;
            }
            Command::Rename { old, .. } => {
                return Err(line_err(
                    line,
                    eerr(old, "renaming chains (-E) is not supported"),
                ));
            }
        }
    }
    // Jumps may point forward to chains declared later in the block; check
    // them once the block is complete.
    for c in &table.chains {
        for r in &c.rules {
            if let Some(t) = r.target.chain() {
                if table.chain(t).is_none() {
                    return Err(ScriptError {
                        line: block.line,
                        token: t.to_string(),
                        reason: format!("chain {} jumps to a chain that does not exist", c.name),
                    });
                }
            }
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::{IpSpec, Target};

    fn table() -> Table {
        let mut t = Table {
            name: "filter".into(),
            chains: Vec::new(),
            compat: TableCompat::Compatible,
        };
        apply(
            &mut t,
            &Edit::EnsureBuiltin {
                chain: "FORWARD".into(),
                policy: Some(Policy::Drop),
                counters: None,
            },
        )
        .unwrap();
        t
    }

    fn rule(target: Target) -> Rule {
        Rule::new(IpSpec::default(), Vec::new(), target)
    }

    #[test]
    fn chains_and_rules() {
        let mut t = table();
        apply(
            &mut t,
            &Edit::CreateChain {
                chain: "DOCKER".into(),
            },
        )
        .unwrap();
        apply(
            &mut t,
            &Edit::Append {
                chain: "FORWARD".into(),
                rule: rule(Target::Jump("DOCKER".into())),
            },
        )
        .unwrap();
        apply(
            &mut t,
            &Edit::Insert {
                chain: "FORWARD".into(),
                index: 0,
                rule: rule(Target::Accept),
            },
        )
        .unwrap();
        assert_eq!(t.chain("FORWARD").unwrap().rules[0].target, Target::Accept);
        assert!(apply(
            &mut t,
            &Edit::DeleteChain {
                chain: "DOCKER".into()
            }
        )
        .is_err());
        assert!(apply(
            &mut t,
            &Edit::Insert {
                chain: "FORWARD".into(),
                index: 5,
                rule: rule(Target::Drop)
            }
        )
        .is_err());
        assert!(apply(
            &mut t,
            &Edit::Append {
                chain: "FORWARD".into(),
                rule: rule(Target::Jump("NOPE".into()))
            }
        )
        .is_err());
        apply(
            &mut t,
            &Edit::Delete {
                chain: "FORWARD".into(),
                index: 1,
            },
        )
        .unwrap();
        apply(
            &mut t,
            &Edit::DeleteChain {
                chain: "DOCKER".into(),
            },
        )
        .unwrap();
        assert_eq!(t.chains.len(), 1);
    }

    #[test]
    fn chains_stay_in_save_order() {
        let mut t = table();
        apply(
            &mut t,
            &Edit::CreateChain {
                chain: "ZZZ".into(),
            },
        )
        .unwrap();
        apply(
            &mut t,
            &Edit::CreateChain {
                chain: "AAA".into(),
            },
        )
        .unwrap();
        apply(
            &mut t,
            &Edit::EnsureBuiltin {
                chain: "INPUT".into(),
                policy: None,
                counters: None,
            },
        )
        .unwrap();
        let names: Vec<_> = t.chains.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["INPUT", "FORWARD", "AAA", "ZZZ"]);
    }
}
