//! Putting the plan into the kernel: per back end and family, read the
//! tables with their generation (nf_tables) or under the xtables lock
//! (legacy), plan against exactly that state, and write it in one batch or
//! one replace per table; a concurrent change means planning again.

use super::place::Step;
use super::plan::{plan_table, Knowledge};
use crate::backend::legacy::lock::{LockWait, XtLock};
use crate::backend::legacy::write::{update_table, WriteOptions};
use crate::backend::nft::confirm::{write_tables_confirmed, Confirmation};
use crate::backend::nft::read::read_ruleset_at;
use crate::backend::nft::write::{Mode, TableChange, WriteError, WriteReport, MAX_BATCH};
use crate::backend::nft::NftReader;
use crate::backend::{legacy, Backend, BackendError};
use crate::docker::rules::Expected;
use crate::netlink::{BatchError, Connection, NetlinkSocket};
use crate::ruleset::edit::{Edit, EditError};
use crate::ruleset::{Ruleset, Table, TableCompat};
use crate::Family;
use serde::Serialize;
use std::borrow::Cow;
use std::cell::RefCell;

/// One planned (or made) change, as an iptables command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub family: Family,
    pub backend: Backend,
    pub table: String,
    /// `-t nat -I DOCKER 2 …`, `-t filter -N DOCKER-USER`.
    pub command: String,
    pub why: String,
}

fn empty(name: &str) -> Table {
    Table {
        name: name.to_string(),
        chains: Vec::new(),
        compat: TableCompat::Compatible,
    }
}

/// Renders `steps` (applied in order to `table`) as iptables commands.
pub fn describe(family: Family, backend: Backend, table: &Table, steps: &[Step]) -> Vec<Action> {
    let protocols = crate::ruleset::protocols::ProtoNames::system();
    let no_sets = |_: u16| None;
    let printer = crate::ruleset::save::Printer {
        family,
        counters: false,
        protocols: &protocols,
        set_name: &no_sets,
    };
    // Only the chains' lengths matter here (`-A` or `-I N`); tracking them
    // instead of applying each edit to a copy keeps this linear.
    let mut lengths: std::collections::HashMap<&str, usize> = table
        .chains
        .iter()
        .map(|c| (c.name.as_str(), c.rules.len()))
        .collect();
    let mut out = Vec::new();
    for s in steps {
        let t = &table.name;
        let spec = |chain: &str, rule: &crate::ruleset::Rule| {
            let mut line = String::new();
            printer.rule(chain, rule, &mut line);
            line.trim_end()
                .trim_start_matches("-A ")
                .trim_start_matches(chain)
                .trim_start()
                .to_string()
        };
        let command = match &s.edit {
            Edit::CreateChain { chain } => format!("-t {t} -N {chain}"),
            Edit::EnsureBuiltin { chain, .. } => {
                format!("-t {t} -L {chain}   (creates the built-in chain)")
            }
            Edit::Insert { chain, index, rule } => {
                let len = lengths.get(chain.as_str()).copied().unwrap_or(0);
                if *index == len {
                    format!("-t {t} -A {chain} {}", spec(chain, rule))
                } else {
                    format!("-t {t} -I {chain} {} {}", index + 1, spec(chain, rule))
                }
            }
            Edit::Replace { chain, index, rule } => {
                format!("-t {t} -R {chain} {} {}", index + 1, spec(chain, rule))
            }
            Edit::Append { chain, rule } => format!("-t {t} -A {chain} {}", spec(chain, rule)),
            other => format!("-t {t} {other:?}"),
        };
        match &s.edit {
            Edit::CreateChain { chain } | Edit::EnsureBuiltin { chain, .. } => {
                lengths.entry(chain).or_insert(0);
            }
            Edit::DeleteChain { chain } => {
                lengths.remove(chain.as_str());
            }
            Edit::Flush { chain } => {
                lengths.insert(chain, 0);
            }
            Edit::Append { chain, .. } | Edit::Insert { chain, .. } => {
                *lengths.entry(chain).or_insert(0) += 1;
            }
            Edit::Delete { chain, .. } => {
                if let Some(n) = lengths.get_mut(chain.as_str()) {
                    *n = n.saturating_sub(1);
                }
            }
            Edit::Replace { .. } | Edit::SetPolicy { .. } | Edit::Zero { .. } => {}
        }
        out.push(Action {
            family,
            backend,
            table: table.name.clone(),
            command,
            why: s.why.clone(),
        });
    }
    out
}

/// The rules of `current`'s family as the commit of `afters` (planned
/// tables) leaves them: each planned table in the place of the one it
/// replaces (new ones last), the others as they were read. With the index
/// of each of `afters` in it.
fn predict(current: &Ruleset, afters: Vec<Table>) -> (Ruleset, Vec<usize>) {
    let mut afters: Vec<Option<Table>> = afters.into_iter().map(Some).collect();
    let mut slots = vec![0; afters.len()];
    let mut tables = Vec::with_capacity(current.tables.len() + afters.len());
    for t in &current.tables {
        match afters
            .iter()
            .position(|a| a.as_ref().is_some_and(|a| a.name == t.name))
        {
            Some(k) => {
                slots[k] = tables.len();
                tables.extend(afters[k].take());
            }
            None => tables.push(t.clone()),
        }
    }
    for (k, after) in afters.into_iter().enumerate() {
        if let Some(after) = after {
            slots[k] = tables.len();
            tables.push(after);
        }
    }
    let family = current.family;
    (Ruleset { family, tables }, slots)
}

/// Commits `changes` (planned against `genid`, leaving `predicted`) on
/// another thread, started by `during` (or at once without it), while this
/// thread runs `during`, then `meanwhile`.
fn commit_beside<'d, A>(
    conn: &mut Connection<NetlinkSocket>,
    genid: u32,
    changes: &[TableChange<'_>],
    predicted: &Ruleset,
    during: Option<&mut DuringCommitFn<'d>>,
    meanwhile: impl FnOnce() -> A,
) -> (Result<(WriteReport, Confirmation), WriteError>, A) {
    std::thread::scope(|s| {
        let mut conn = Some(conn);
        let mut commit = None;
        let mut start = || {
            if let Some(c) = conn.take() {
                commit = Some(s.spawn(move || {
                    write_tables_confirmed(c, predicted.family, genid, changes, MAX_BATCH)
                }));
            }
        };
        if let Some(during) = during {
            during(predicted, genid.wrapping_add(1), &mut start);
        }
        start();
        let done = meanwhile();
        // A panic there is a bug: let it go on as if it had happened here.
        let committed = commit
            .take()
            .expect("the commit was started")
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (committed, done)
    })
}

/// [`plan_table`] for each of `starts`; the tables of a big ruleset each on
/// its own thread (each plan is a pass over its table alone; Docker's nat
/// and filter tables hold about as many rules each).
fn plan_tables(
    expected: &Expected,
    starts: &[(Option<&Table>, Cow<'_, Table>)],
    knowledge: Knowledge,
) -> Vec<Result<(Vec<Step>, Table), EditError>> {
    const PARALLEL_FROM: usize = 4000;
    let rules: usize = starts
        .iter()
        .flat_map(|(_, t)| &t.chains)
        .map(|c| c.rules.len())
        .sum();
    if starts.len() < 2 || rules < PARALLEL_FROM {
        return starts
            .iter()
            .map(|(_, t)| plan_table(expected, t, knowledge))
            .collect();
    }
    std::thread::scope(|s| {
        let plans: Vec<_> = starts
            .iter()
            .map(|(_, t)| s.spawn(move || plan_table(expected, t, knowledge)))
            .collect();
        plans
            .into_iter()
            // A panic there is a bug: let it go on as if it had happened here.
            .map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// What repairing one family did.
#[derive(Debug, Clone, Default)]
pub struct Repaired {
    pub actions: Vec<Action>,
    /// nf_tables: the family's rules as the kernel holds them after the
    /// commit, with that generation, when the commit confirmed them (see
    /// [`crate::backend::nft::confirm`]); `None` means read them again.
    pub confirmed: Option<(Ruleset, u32)>,
}

impl Repaired {
    fn actions(actions: Vec<Action>) -> Repaired {
        Repaired {
            actions,
            confirmed: None,
        }
    }
}

/// Called with the family's rules as an nf_tables commit will leave them,
/// the generation it will leave, and what starts the commit (on another
/// thread): what the check afterwards can judge while the kernel commits.
/// Reads of other rules belong before the start: the commit contends with
/// them (its compat expressions take the xtables lock that legacy reads
/// take). Called again if the commit is planned again.
pub type DuringCommit<'a> = &'a mut DuringCommitFn<'a>;

/// What a [`DuringCommit`] refers to.
pub type DuringCommitFn<'d> = dyn FnMut(&Ruleset, u32, &mut dyn FnMut()) + 'd;

/// Plans (and unless `dry_run`, applies) one family in `backend`.
pub fn repair_family(
    expected: &Expected,
    backend: Backend,
    knowledge: Knowledge,
    dry_run: bool,
    known: Option<(&Ruleset, u32)>,
    mut during_commit: Option<DuringCommit<'_>>,
) -> Result<Repaired, String> {
    let family = expected.family;
    match backend {
        Backend::Nft => {
            let mut reader = NftReader::open(family).map_err(|e| e.to_string())?;
            let mut retry = crate::backend::nft::retry::Retry::new();
            // The first plan may use the caller's read (its generation
            // guards the commit), as it is: a copy of tens of thousands of
            // rules costs as much as planning them. After a conflict, read
            // again.
            let mut known = known.map(|(rs, genid)| (Cow::Borrowed(rs), genid));
            while retry.again() {
                let (current, genid) = match known.take() {
                    Some(k) => k,
                    None => read_ruleset_at(family, None)
                        .map(|(rs, genid)| (Cow::Owned(rs), genid))
                        .map_err(|e| e.to_string())?,
                };
                let mut starts = Vec::new();
                for et in &expected.tables {
                    let before = current.tables.iter().find(|t| t.name == et.name);
                    if let Some(TableCompat::Incompatible { reason }) = before.map(|t| &t.compat) {
                        return Err(format!(
                            "{family} table {} holds rules iptables cannot express ({reason}); not touching it",
                            et.name
                        ));
                    }
                    let start = before.map_or_else(|| Cow::Owned(empty(&et.name)), Cow::Borrowed);
                    starts.push((before, start));
                }
                let plans = plan_tables(expected, &starts, knowledge);
                let mut planned = Vec::new();
                for ((before, start), plan) in starts.into_iter().zip(plans) {
                    let (steps, after) = plan.map_err(|e| e.to_string())?;
                    if !steps.is_empty() {
                        planned.push((before, start, steps, after));
                    }
                }
                let describe_all = |planned: &[(Cow<'_, Table>, Vec<Step>)]| -> Vec<Action> {
                    planned
                        .iter()
                        .flat_map(|(start, steps)| describe(family, backend, start, steps))
                        .collect()
                };
                let mut befores = Vec::with_capacity(planned.len());
                let mut afters = Vec::with_capacity(planned.len());
                let mut described = Vec::with_capacity(planned.len());
                for (before, start, steps, after) in planned {
                    befores.push(before);
                    afters.push(after);
                    described.push((start, steps));
                }
                if dry_run || described.is_empty() {
                    return Ok(Repaired::actions(describe_all(&described)));
                }
                let (predicted, slots) = predict(&current, afters);
                let changes: Vec<TableChange<'_>> = befores
                    .iter()
                    .zip(&slots)
                    .map(|(before, &slot)| TableChange {
                        before: *before,
                        after: &predicted.tables[slot],
                        mode: Mode::Update,
                    })
                    .collect();
                let (committed, actions) = commit_beside(
                    reader.connection(),
                    genid,
                    &changes,
                    &predicted,
                    during_commit.as_deref_mut(),
                    || describe_all(&described),
                );
                let confirmation = match committed {
                    Ok((_, c)) => c,
                    Err(WriteError::Batch(BatchError::Conflict { .. })) => continue,
                    Err(e) => return Err(e.to_string()),
                };
                let Confirmation::Confirmed { genid } = confirmation else {
                    return Ok(Repaired::actions(actions));
                };
                drop(changes);
                return Ok(Repaired {
                    actions,
                    confirmed: Some((predicted, genid)),
                });
            }
            Err("the ruleset kept changing while it was repaired; nothing was changed".into())
        }
        Backend::Legacy => {
            let mut kernel = legacy::RawSocket::open(family).map_err(|e| {
                BackendError::legacy_io(family, "opening a raw socket".into(), e).to_string()
            })?;
            let existing = legacy::table_names(family);
            let mut actions = Vec::new();
            let lock = if dry_run {
                None
            } else {
                Some(
                    XtLock::acquire(LockWait::Up(std::time::Duration::from_secs(10)))
                        .map_err(|e| e.to_string())?,
                )
            };
            for et in &expected.tables {
                if dry_run {
                    let current = if existing.iter().any(|t| t == &et.name) {
                        legacy::read_table(&mut kernel, family, &et.name)
                            .map_err(|e| e.to_string())?
                    } else {
                        crate::ruleset::edit::builtin_table(&et.name)
                    };
                    let (steps, _) =
                        plan_table(expected, &current, knowledge).map_err(|e| e.to_string())?;
                    actions.extend(describe(family, backend, &current, &steps));
                    continue;
                }
                let made: RefCell<Vec<Action>> = RefCell::new(Vec::new());
                let Some(lock) = &lock else { continue };
                let result = update_table(
                    &mut kernel,
                    family,
                    &et.name,
                    &WriteOptions::with_lock(lock),
                    5,
                    |current: &Table| -> Result<Table, PlanOrWrite> {
                        let (steps, after) = plan_table(expected, current, knowledge)
                            .map_err(|e| PlanOrWrite::Plan(e.to_string()))?;
                        if steps.is_empty() {
                            // Complete: no replace at all (a second fix changes nothing).
                            return Err(PlanOrWrite::NothingToDo);
                        }
                        *made.borrow_mut() = describe(family, backend, current, &steps);
                        Ok(after)
                    },
                );
                match result {
                    Ok(_) | Err(PlanOrWrite::NothingToDo) => actions.extend(made.into_inner()),
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(Repaired::actions(actions))
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum PlanOrWrite {
    #[error("{0}")]
    Plan(String),
    #[error("nothing to do")]
    NothingToDo,
    #[error(transparent)]
    Write(#[from] BackendError),
}
