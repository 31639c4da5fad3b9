//! A legacy table loaded whole: what a flushing restore (`iptables-restore
//! FILE`, no `--noflush`) makes of a table one block writes. Nothing of the
//! kernel's table survives but its built-in chains' policies and counters,
//! so the rules need no model of the table, no plan and no copy: each rule
//! is encoded as it is parsed, into its chain's run of entries, and the runs
//! are joined into the blob once the kernel's policies are known
//! ([`FreshTable::join`]).
//!
//! Only what such a load is made of is taken: chain declarations, `-N` and
//! `-A`, one block per table. Anything else, or anything the general path
//! would refuse (a jump to a missing chain, an entry that cannot be
//! encoded), makes the parse give up, and the caller plans the script the
//! general way, which also words the error.

use super::encode::table_valid_hooks;
use super::entry::{self, policy_verdict, Pending};
use crate::ruleset::command::Command;
use crate::ruleset::restore::{parse_script_into, ChainDecl, ScriptError, ScriptSink};
use crate::ruleset::{Counters, Policy, Rule, BUILTIN_CHAINS};
use crate::xt::parse::ParseCtx;
use crate::Family;
use nfdoctor_sys::ip_tables::ipt_replace;
use nfdoctor_sys::netfilter::NF_INET_NUMHOOKS;
use nfdoctor_sys::x_tables::{XT_ERROR_TARGET, XT_FUNCTION_MAXNAMELEN, XT_RETURN};
use std::collections::HashMap;
use std::mem::size_of;
use std::ops::ControlFlow;

/// Room left in front of a joined blob for the `SO_SET_REPLACE` header, so
/// the blob is sent from where it was written.
pub const REPLACE_HEADER: usize = size_of::<ipt_replace>();

/// One table's rules, encoded chain by chain as the script gave them.
#[derive(Debug)]
pub struct FreshTable {
    name: String,
    family: Family,
    valid_hooks: u32,
    /// Built-in chains first (hook order), then user chains as created.
    chains: Vec<ChainRun>,
    by_name: HashMap<String, usize>,
    rules: usize,
    /// Whether some rule carries counters (`restore --counters`).
    rule_counters: bool,
}

/// A chain's entries, written apart from the table.
#[derive(Debug)]
struct ChainRun {
    name: String,
    hook: Option<u32>,
    /// What the script declares; `None` keeps the kernel's.
    policy: Option<Policy>,
    counters: Option<Counters>,
    bytes: Vec<u8>,
    entries: usize,
    fixups: Vec<Fixup>,
}

/// A verdict that depends on where the chain lands in the blob.
#[derive(Debug, Clone, Copy)]
enum Fixup {
    /// A fall-through verdict at this byte of the run, counted from the
    /// run's start.
    Next(usize),
    /// A jump at this byte of the run to chain `.1` (an index of `chains`).
    Chain(usize, usize),
}

/// A built-in chain as the kernel has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelPolicy {
    pub policy: Policy,
    pub counters: Counters,
}

/// A joined table, ready for `SO_SET_REPLACE`.
#[derive(Debug)]
pub struct JoinedTable {
    /// [`REPLACE_HEADER`] free bytes, then the blob.
    pub buf: Vec<u8>,
    pub num_entries: u32,
    pub valid_hooks: u32,
    pub hook_entry: [u32; NF_INET_NUMHOOKS],
    pub underflow: [u32; NF_INET_NUMHOOKS],
    /// Per hook: the entry index of the policy entry and the counters the
    /// chain is given (the kernel's unless the script declares others).
    pub policies: [Option<(usize, Counters)>; NF_INET_NUMHOOKS],
}

impl JoinedTable {
    pub fn blob(&self) -> &[u8] {
        &self.buf[REPLACE_HEADER..]
    }
}

impl FreshTable {
    /// An empty load of table `name`; `None` for a table without legacy
    /// built-in chains.
    fn new(family: Family, name: &str) -> Option<FreshTable> {
        let valid_hooks = table_valid_hooks(name)?;
        let mut chains: Vec<ChainRun> = BUILTIN_CHAINS
            .iter()
            .filter(|(t, ..)| *t == name)
            .map(|(_, c, hook, _, _)| ChainRun::new(c, Some(*hook)))
            .collect();
        chains.sort_by_key(|c| c.hook);
        let by_name = chains
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        Some(FreshTable {
            name: name.to_string(),
            family,
            valid_hooks,
            chains,
            by_name,
            rules: 0,
            rule_counters: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn valid_hooks(&self) -> u32 {
        self.valid_hooks
    }

    /// Rules loaded.
    pub fn rules(&self) -> usize {
        self.rules
    }

    /// Whether some rule carries counters of its own.
    pub fn rule_counters(&self) -> bool {
        self.rule_counters
    }

    /// Whether the table is only its built-in chains, without rules.
    pub fn is_bare(&self) -> bool {
        self.rules == 0 && self.chains.iter().all(|c| c.hook.is_some())
    }

    /// The policy and counters the script gives the built-in chain at
    /// `hook`, over the kernel's `current`.
    pub fn policy(&self, hook: u32, current: KernelPolicy) -> KernelPolicy {
        let c = self.chains.iter().find(|c| c.hook == Some(hook));
        KernelPolicy {
            policy: c.and_then(|c| c.policy).unwrap_or(current.policy),
            counters: c.and_then(|c| c.counters).unwrap_or(current.counters),
        }
    }

    /// `:NAME POLICY [p:b]`. False: not a declaration this load takes.
    fn declare(&mut self, decl: &ChainDecl) -> bool {
        match self.by_name.get(&decl.name) {
            Some(&i) if self.chains[i].hook.is_some() => {
                let c = &mut self.chains[i];
                c.policy = decl.policy.or(c.policy);
                c.counters = decl.counters.or(c.counters);
                true
            }
            Some(_) => false,
            None => self.create(&decl.name),
        }
    }

    /// A new user chain; false if it exists or its name cannot be encoded.
    fn create(&mut self, name: &str) -> bool {
        if self.by_name.contains_key(name)
            || name.is_empty()
            || name.len() >= XT_FUNCTION_MAXNAMELEN
            || name.contains('\0')
            || name == XT_ERROR_TARGET
        {
            return false;
        }
        self.by_name.insert(name.to_string(), self.chains.len());
        self.chains.push(ChainRun::new(name, None));
        true
    }

    /// One command. False: not a command this load takes.
    fn command(&mut self, command: &Command) -> bool {
        match command {
            Command::NewChain(name) => self.create(name),
            Command::Append { chain, rules } => {
                let Some(&at) = self.by_name.get(chain.as_str()) else {
                    return false;
                };
                rules.iter().all(|r| self.append(at, r))
            }
            _ => false,
        }
    }

    fn append(&mut self, at: usize, rule: &Rule) -> bool {
        // A jump goes to a user chain that exists by now (as the general
        // path's edit checks).
        let target = match rule.target.chain() {
            None => None,
            Some(t) => match self.by_name.get(t) {
                Some(&i) if self.chains[i].hook.is_none() => Some(i),
                _ => return false,
            },
        };
        let run = &mut self.chains[at];
        let start = run.bytes.len();
        match entry::put_rule(&mut run.bytes, self.family, rule) {
            Ok(Pending::Done) => {}
            Ok(Pending::Next { at }) => run.fixups.push(Fixup::Next(at)),
            Ok(Pending::Chain { at, .. }) => match target {
                Some(i) => run.fixups.push(Fixup::Chain(at, i)),
                None => {
                    run.bytes.truncate(start);
                    return false;
                }
            },
            Err(_) => {
                run.bytes.truncate(start);
                return false;
            }
        }
        run.entries += 1;
        self.rules += 1;
        self.rule_counters |= rule.counters != Counters::default();
        true
    }

    /// The blob, laid out as [`super::encode`] lays out a table (built-in
    /// chains by hook, user chains by name, jumps resolved), with the
    /// built-in chains' policies and counters from `current` (per hook)
    /// where the script leaves them. `None` if a built-in chain has no
    /// entry in `current`, or the blob would be too large.
    pub fn join(&self, current: &[Option<KernelPolicy>; NF_INET_NUMHOOKS]) -> Option<JoinedTable> {
        let family = self.family;
        let footer = entry::standard_entry_len(family);
        let head = entry::error_entry_len(family);
        let mut order: Vec<usize> = (0..self.chains.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (&self.chains[a], &self.chains[b]);
            match (x.hook, y.hook) {
                (Some(h), Some(k)) => h.cmp(&k),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => x.name.as_bytes().cmp(y.name.as_bytes()),
            }
        });
        // Where each chain's rules start.
        let mut start = vec![0usize; self.chains.len()];
        let mut size = 0usize;
        for &i in &order {
            let c = &self.chains[i];
            if c.hook.is_none() {
                size += head;
            }
            start[i] = size;
            size += c.bytes.len() + footer;
        }
        size += head;
        if size > u32::MAX as usize {
            return None;
        }
        let mut buf = Vec::with_capacity(REPLACE_HEADER + size);
        buf.resize(REPLACE_HEADER, 0);
        let mut hook_entry = [0u32; NF_INET_NUMHOOKS];
        let mut underflow = [0u32; NF_INET_NUMHOOKS];
        let mut policies = [None; NF_INET_NUMHOOKS];
        let mut entries = 0usize;
        for &i in &order {
            let c = &self.chains[i];
            if c.hook.is_none() {
                entry::put_error(&mut buf, family, &c.name);
                entries += 1;
            }
            let at = buf.len();
            debug_assert_eq!(at - REPLACE_HEADER, start[i]);
            buf.extend_from_slice(&c.bytes);
            for f in &c.fixups {
                let (pos, verdict) = match *f {
                    Fixup::Next(pos) => (pos, read_i32(&c.bytes, pos) + start[i] as i32),
                    Fixup::Chain(pos, to) => (pos, start[to] as i32),
                };
                buf[at + pos..at + pos + 4].copy_from_slice(&verdict.to_ne_bytes());
            }
            entries += c.entries;
            match c.hook {
                Some(h) => {
                    let h = h as usize;
                    let now = self.policy(h as u32, (*current.get(h)?)?);
                    hook_entry[h] = start[i] as u32;
                    underflow[h] = (buf.len() - REPLACE_HEADER) as u32;
                    policies[h] = Some((entries, now.counters));
                    entry::put_standard(&mut buf, family, policy_verdict(now.policy), now.counters);
                }
                None => {
                    entry::put_standard(&mut buf, family, XT_RETURN, Counters::default());
                }
            }
            entries += 1;
        }
        entry::put_error(&mut buf, family, XT_ERROR_TARGET);
        entries += 1;
        debug_assert_eq!(buf.len(), REPLACE_HEADER + size);
        Some(JoinedTable {
            buf,
            num_entries: u32::try_from(entries).ok()?,
            valid_hooks: self.valid_hooks,
            hook_entry,
            underflow,
            policies,
        })
    }
}

impl ChainRun {
    fn new(name: &str, hook: Option<u32>) -> ChainRun {
        ChainRun {
            name: name.to_string(),
            hook,
            policy: None,
            counters: None,
            bytes: Vec::new(),
            entries: 0,
            fixups: Vec::new(),
        }
    }
}

fn read_i32(b: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The parse's consumer: tables as their blocks come, until something
/// this load does not take.
struct FreshScript<'a> {
    family: Family,
    tables: Vec<FreshTable>,
    open: Option<FreshTable>,
    /// Applied to each command before its rules are encoded.
    adapt: &'a mut dyn FnMut(&mut Command),
}

impl ScriptSink for FreshScript<'_> {
    fn table(&mut self, name: &str, _line: usize) -> ControlFlow<()> {
        // A second block for a table: the general path merges them.
        if self.tables.iter().any(|t| t.name == name) {
            return ControlFlow::Break(());
        }
        self.open = FreshTable::new(self.family, name);
        taken(self.open.is_some())
    }

    fn chain(&mut self, decl: ChainDecl) -> ControlFlow<()> {
        taken(self.open.as_mut().is_some_and(|t| t.declare(&decl)))
    }

    fn command(&mut self, _line: usize, mut command: Command) -> ControlFlow<()> {
        (self.adapt)(&mut command);
        let ok = self.open.as_mut().is_some_and(|t| t.command(&command));
        // Freed as they come: the allocator hands the same memory to the
        // next line.
        drop(command);
        taken(ok)
    }

    fn commit(&mut self) -> ControlFlow<()> {
        match self.open.take() {
            Some(t) => {
                self.tables.push(t);
                ControlFlow::Continue(())
            }
            None => ControlFlow::Break(()),
        }
    }
}

fn taken(ok: bool) -> ControlFlow<()> {
    if ok {
        ControlFlow::Continue(())
    } else {
        ControlFlow::Break(())
    }
}

/// Parses a restore script for a flushing load of legacy tables, encoding
/// rules as it goes, each command after `adapt` (e.g.
/// [`Command::adapt_revisions`]). `Ok(None)`: the script does something
/// this load does not take (the caller uses the general path, which parses
/// it again). `Err`: a line that does not parse, exactly as
/// [`parse_script_into`] words it.
pub fn parse_fresh(
    text: &str,
    ctx: &ParseCtx<'_>,
    counters: bool,
    adapt: &mut dyn FnMut(&mut Command),
) -> Result<Option<Vec<FreshTable>>, ScriptError> {
    let mut sink = FreshScript {
        family: ctx.family,
        tables: Vec::new(),
        open: None,
        adapt,
    };
    let whole = parse_script_into(text, ctx, counters, &mut sink)?;
    Ok(whole.then_some(sink.tables))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::legacy::encode::{encode_table, EntryKind};
    use crate::cli::restore::plan_table;
    use crate::ruleset::edit::{builtin_table, Flush};
    use crate::ruleset::protocols::ProtoNames;
    use crate::ruleset::restore::parse_script;
    use crate::ruleset::Table;
    use crate::xt::Services;

    fn with_ctx<R>(family: Family, f: impl FnOnce(&ParseCtx<'_>) -> R) -> R {
        let protocols = ProtoNames::from_etc_protocols("tcp 6\nudp 17\nipv6-icmp 58\n");
        let services = Services::default();
        let ctx = ParseCtx {
            family,
            proto: 0,
            proto_invert: false,
            table: "",
            protocols: &protocols,
            services: &services,
            set_index: &|_| None,
        };
        f(&ctx)
    }

    fn fresh(family: Family, text: &str, counters: bool) -> Option<Vec<FreshTable>> {
        with_ctx(family, |ctx| parse_fresh(text, ctx, counters, &mut |_| {})).expect("parses")
    }

    /// The kernel's table: built-in, FORWARD (if any) dropping, with
    /// traffic on every policy.
    fn kernel_table(name: &str) -> Table {
        let mut t = builtin_table(name);
        for (i, c) in t.chains.iter_mut().enumerate() {
            c.counters = Counters {
                packets: i as u64 + 1,
                bytes: 100 * (i as u64 + 1),
            };
            if c.name == "FORWARD" {
                if let Some(b) = c.base.as_mut() {
                    b.policy = Policy::Drop;
                }
            }
        }
        t
    }

    fn policies_of(t: &Table) -> [Option<KernelPolicy>; NF_INET_NUMHOOKS] {
        let mut out = [None; NF_INET_NUMHOOKS];
        for c in &t.chains {
            if let Some(b) = &c.base {
                out[b.hook as usize] = Some(KernelPolicy {
                    policy: b.policy,
                    counters: c.counters,
                });
            }
        }
        out
    }

    /// The fresh load of `text` is, byte for byte, what planning the
    /// script onto the kernel's table and encoding the result gives.
    fn same_as_planned(family: Family, text: &str, counters: bool) {
        let tables = fresh(family, text, counters).expect("a fresh load");
        let script = with_ctx(family, |ctx| parse_script(text, ctx, counters)).unwrap();
        assert_eq!(tables.len(), script.tables.len());
        for t in &tables {
            let current = kernel_table(t.name());
            let planned = plan_table(&script, t.name(), &current, Flush::Table).unwrap();
            let want = encode_table(family, &planned).unwrap();
            let got = t.join(&policies_of(&current)).unwrap();
            assert_eq!(got.blob(), &want.blob[..], "{}", t.name());
            assert_eq!(got.num_entries, want.num_entries());
            assert_eq!(got.valid_hooks, want.valid_hooks);
            assert_eq!(got.hook_entry, want.hook_entry);
            assert_eq!(got.underflow, want.underflow);
            for (i, e) in want.entries.iter().enumerate() {
                if let EntryKind::Policy { hook } = e.kind {
                    assert_eq!(got.policies[hook as usize], Some((i, e.counters)));
                }
            }
            assert_eq!(
                t.rules(),
                planned.chains.iter().map(|c| c.rules.len()).sum::<usize>()
            );
        }
    }

    /// A kernel without DNAT's revision 2 gets revision 1, in the fresh
    /// load as in the general path.
    #[test]
    fn the_fresh_load_writes_the_revisions_the_kernel_has() {
        use crate::xt::revision::{ListedRevisions, Revisions};
        use crate::xt::Kind;
        let family = Family::Ipv4;
        let text = "*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n\
            -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\n\
            COMMIT\n";
        let old_kernel = || {
            Revisions::new(ListedRevisions {
                has: vec![(Kind::Target, "DNAT", vec![0, 1])],
                asked: 0,
            })
        };
        let mut revisions = old_kernel();
        let mut adapted = 0;
        let tables = with_ctx(family, |ctx| {
            parse_fresh(text, ctx, false, &mut |c| {
                adapted += usize::from(c.adapt_revisions(family, &mut revisions));
            })
        })
        .expect("parses")
        .expect("a fresh load");
        assert_eq!(adapted, 1);
        let mut script = with_ctx(family, |ctx| parse_script(text, ctx, false)).unwrap();
        let mut revisions = old_kernel();
        for (_, c) in script.tables.iter_mut().flat_map(|t| &mut t.commands) {
            c.adapt_revisions(family, &mut revisions);
        }
        let current = kernel_table("nat");
        let planned = plan_table(&script, "nat", &current, Flush::Table).unwrap();
        let dnat = &planned
            .chains
            .iter()
            .find(|c| c.name == "DOCKER")
            .unwrap()
            .rules[0];
        let crate::ruleset::Target::Ext(t) = &dnat.target else {
            panic!("DNAT is a target extension")
        };
        assert_eq!(t.revision, 1);
        let want = encode_table(family, &planned).unwrap();
        let got = tables[0].join(&policies_of(&current)).unwrap();
        assert_eq!(got.blob(), &want.blob[..]);
    }

    const SCRIPT: &str = "\
*filter
:INPUT DROP [1:2]
:FORWARD - [0:0]
:OUTPUT ACCEPT [5:5]
:B-CHAIN - [0:0]
:A-CHAIN - [0:0]
-A INPUT -s 10.0.0.0/8,192.168.0.1 -j A-CHAIN
-A INPUT -p tcp --dport 22
-A FORWARD -g B-CHAIN
-N C-CHAIN
-A C-CHAIN -p udp -m udp --sport 53 -j RETURN
-A A-CHAIN -j C-CHAIN
[5:6] -A B-CHAIN -m comment --comment \"x y\" -j DROP
-A OUTPUT -o lo -j ACCEPT
-A A-CHAIN
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
";

    #[test]
    fn joins_what_the_planner_and_encoder_make() {
        same_as_planned(Family::Ipv4, SCRIPT, false);
        same_as_planned(Family::Ipv4, SCRIPT, true);
        same_as_planned(
            Family::Ipv4,
            "*raw\nCOMMIT\n*mangle\n:X - [0:0]\nCOMMIT\n",
            false,
        );
        let v6 = "*filter\n:X - [0:0]\n-A INPUT -s ::1/128 -p tcp --dport 1 -j X\n-A X\nCOMMIT\n";
        same_as_planned(Family::Ipv6, v6, false);
    }

    #[test]
    fn gives_up_where_the_general_path_is_needed() {
        for text in [
            "*filter\n-I INPUT -j ACCEPT\nCOMMIT\n",
            "*filter\n-A INPUT -j ACCEPT\n-D INPUT 1\nCOMMIT\n",
            "*filter\n-A INPUT -j NOWHERE\nCOMMIT\n",
            "*filter\n-A INPUT -j FORWARD\nCOMMIT\n",
            "*filter\n-A NOWHERE -j ACCEPT\nCOMMIT\n",
            "*filter\n-A INPUT -j X\n:X - [0:0]\nCOMMIT\n",
            "*filter\n:X - [0:0]\n-N X\nCOMMIT\n",
            "*filter\n:ERROR - [0:0]\nCOMMIT\n",
            "*filter\nCOMMIT\n*filter\nCOMMIT\n",
            "*filter\n-F\nCOMMIT\n",
            "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n*nat\n-X\nCOMMIT\n",
        ] {
            assert!(fresh(Family::Ipv4, text, false).is_none(), "{text}");
        }
    }

    #[test]
    fn bad_lines_are_errors_as_in_the_general_parse() {
        let text = "*filter\n-A INPUT -j ACCEPT\n-A INPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n";
        let e = with_ctx(Family::Ipv4, |ctx| {
            parse_fresh(text, ctx, false, &mut |_| {})
        })
        .unwrap_err();
        let want = with_ctx(Family::Ipv4, |ctx| parse_script(text, ctx, false)).unwrap_err();
        assert_eq!(e, want);
    }
}
