//! Replays Docker's iptables calls on an in-memory ruleset: the builders say
//! what dockerd runs (`-N`, append-if-missing, insert-if-missing, ensure
//! jump, delete) in the order it runs them, and the result is the ruleset it
//! leaves behind — ordering and provenance included. Rules are compared by
//! their canonical text, as `iptables -C` compares them.

use super::{ExpectedPolicy, Mode, Origin, Source};
use crate::ruleset::BUILTIN_CHAINS;

#[derive(Debug, Clone)]
pub(crate) struct SimRule {
    /// The arguments after `-A CHAIN`.
    pub args: String,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub(crate) struct SimChain {
    pub name: String,
    pub builtin: bool,
    pub rules: Vec<SimRule>,
}

#[derive(Debug, Clone)]
pub(crate) struct SimTable {
    pub name: &'static str,
    pub chains: Vec<SimChain>,
}

#[derive(Debug)]
pub(crate) struct Sim {
    pub tables: Vec<SimTable>,
    pub policies: Vec<ExpectedPolicy>,
    pub caveats: Vec<String>,
}

fn is_builtin(table: &str, chain: &str) -> bool {
    BUILTIN_CHAINS
        .iter()
        .any(|(t, c, _, _, _)| *t == table && *c == chain)
}

impl Sim {
    pub fn new() -> Sim {
        Sim {
            tables: Vec::new(),
            policies: Vec::new(),
            caveats: Vec::new(),
        }
    }

    fn table(&mut self, table: &'static str) -> &mut SimTable {
        if let Some(i) = self.tables.iter().position(|t| t.name == table) {
            return &mut self.tables[i];
        }
        self.tables.push(SimTable {
            name: table,
            chains: Vec::new(),
        });
        self.tables.last_mut().expect("just pushed")
    }

    fn chain_mut(&mut self, table: &'static str, chain: &str) -> &mut SimChain {
        let t = self.table(table);
        if let Some(i) = t.chains.iter().position(|c| c.name == chain) {
            return &mut t.chains[i];
        }
        let builtin = is_builtin(table, chain);
        debug_assert!(builtin, "{table} {chain} used before -N");
        t.chains.push(SimChain {
            name: chain.to_string(),
            builtin,
            rules: Vec::new(),
        });
        t.chains.last_mut().expect("just pushed")
    }

    fn find(&self, table: &str, chain: &str, args: &str) -> Option<usize> {
        self.tables
            .iter()
            .find(|t| t.name == table)?
            .chains
            .iter()
            .find(|c| c.name == chain)?
            .rules
            .iter()
            .position(|r| r.args == args)
    }

    /// `iptables -N CHAIN` (if it does not exist yet).
    pub fn new_chain(&mut self, table: &'static str, chain: &str) {
        let t = self.table(table);
        if !t.chains.iter().any(|c| c.name == chain) {
            t.chains.push(SimChain {
                name: chain.to_string(),
                builtin: false,
                rules: Vec::new(),
            });
        }
    }

    /// `-C` then `-A`.
    pub fn append(
        &mut self,
        table: &'static str,
        chain: &str,
        args: String,
        source: &Source,
        why: impl Into<String>,
    ) {
        if self.find(table, chain, &args).is_some() {
            return;
        }
        let origin = Origin {
            source: source.clone(),
            mode: Mode::Append,
            why: why.into(),
        };
        self.chain_mut(table, chain)
            .rules
            .push(SimRule { args, origin });
    }

    /// `-C` then `-I CHAIN 1`.
    pub fn insert(
        &mut self,
        table: &'static str,
        chain: &str,
        args: String,
        source: &Source,
        why: impl Into<String>,
    ) {
        if self.find(table, chain, &args).is_some() {
            return;
        }
        let origin = Origin {
            source: source.clone(),
            mode: Mode::Insert,
            why: why.into(),
        };
        self.chain_mut(table, chain)
            .rules
            .insert(0, SimRule { args, origin });
    }

    /// Delete if present, then `-I CHAIN 1` (filter table).
    pub fn ensure_jump(
        &mut self,
        chain: &str,
        args: String,
        source: &Source,
        why: impl Into<String>,
    ) {
        self.delete("filter", chain, &args);
        let origin = Origin {
            source: source.clone(),
            mode: Mode::EnsureJump,
            why: why.into(),
        };
        self.chain_mut("filter", chain)
            .rules
            .insert(0, SimRule { args, origin });
    }

    /// `-C` then `-D`.
    pub fn delete(&mut self, table: &'static str, chain: &str, args: &str) {
        if let Some(i) = self.find(table, chain, args) {
            if let Some(c) = self
                .tables
                .iter_mut()
                .find(|t| t.name == table)
                .and_then(|t| t.chains.iter_mut().find(|c| c.name == chain))
            {
                c.rules.remove(i);
            }
        }
    }

    pub fn policy(&mut self, p: ExpectedPolicy) {
        if !self
            .policies
            .iter()
            .any(|q| q.table == p.table && q.chain == p.chain)
        {
            self.policies.push(p);
        }
    }

    pub fn caveat(&mut self, text: impl Into<String>) {
        let text = text.into();
        if !self.caveats.contains(&text) {
            self.caveats.push(text);
        }
    }
}
