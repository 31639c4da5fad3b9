//! Committing a change and knowing, without reading the ruleset again, that
//! the kernel now holds exactly the planned tables. Dumping a chain of tens
//! of thousands of rules costs the kernel seconds; the proof here costs the
//! commit nothing: the kernel acknowledges every message of the batch, the
//! generation read right behind it shows whether anybody else committed
//! around it, and every rule the batch adds is decoded back, while the
//! kernel commits, and must be the planned rule.
//!
//! (The kernel could echo each rule it adds instead, `NLM_F_ECHO`, but
//! filling those notifications made the commit of 2000 rules 20 ms slower,
//! and it holds an added rule as the expressions it was sent.)

use super::rule::decode_rule;
use super::write::{build_batch, send_built, send_room, TableChange, WriteError, WriteReport};
use crate::netlink::{Connection, Message, Transport};
use crate::ruleset::{spec_hash, Rule};
use crate::Family;
use nfdoctor_sys::nf_tables::{NFTA_RULE_CHAIN, NFTA_RULE_TABLE, NFT_MSG_NEWRULE};
use std::collections::HashMap;

/// Whether the kernel's tables after a commit are known to be the planned
/// ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// Nobody else committed between the read the plan was made on and the
    /// generation read right after ours (it moved by exactly one), the
    /// kernel accepted every message, and every rule the batch added
    /// decodes as planned.
    Confirmed { genid: u32 },
    /// Why not: read the rules again to know them.
    Unconfirmed(String),
}

/// [`super::write::write_tables`] (committing), confirmed as above when the
/// change is one batch.
pub fn write_tables_confirmed<T: Transport>(
    conn: &mut Connection<T>,
    family: Family,
    genid: u32,
    changes: &[TableChange<'_>],
    max_batch: usize,
) -> Result<(WriteReport, Confirmation), WriteError> {
    let (batch, cuts, mut report) = build_batch(family, changes)?;
    if batch.is_empty() {
        report.parts = 0;
        return Ok((report, Confirmation::Confirmed { genid }));
    }
    let room = send_room(conn, &batch).unwrap_or(0);
    if batch.size() > max_batch.min(room) {
        // Split in parts: the general writer says how.
        let report = send_built(conn, genid, batch, &cuts, report, true, max_batch)?;
        let why = "the change was committed in several parts".to_string();
        return Ok((report, Confirmation::Unconfirmed(why)));
    }
    // The decoding runs beside the commit: the kernel's work is on this
    // thread.
    let (sent, decoded) = std::thread::scope(|s| {
        // (A message of ours that did not frame would end the messages
        // early: fewer rules than planned, so unconfirmed.)
        let decoding = s.spawn(|| added_as_planned(family, changes, batch.messages().flatten()));
        let sent = conn.commit_batch(&batch, genid);
        let decoded = decoding
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (sent, decoded)
    });
    let genid_after = sent?;
    report.parts = 1;
    let next = genid.wrapping_add(1);
    let confirmation = match (genid_after, decoded) {
        (Some(g), _) if g != next => Confirmation::Unconfirmed(format!(
            "another change was committed right after ours (generation {g}, ours {next})"
        )),
        (None, _) => Confirmation::Unconfirmed("the generation after the commit is unknown".into()),
        (Some(_), Ok(())) => Confirmation::Confirmed { genid: next },
        (Some(_), Err(why)) => Confirmation::Unconfirmed(why),
    };
    Ok((report, confirmation))
}

/// The `NEWRULE` messages among `messages` add exactly the rules the change
/// adds (those without a handle in `after`): each decodes to one of them,
/// in its table and chain, and none is left over.
pub fn added_as_planned<'m>(
    family: Family,
    changes: &[TableChange<'_>],
    messages: impl IntoIterator<Item = Message<'m>>,
) -> Result<(), String> {
    let mut planned: HashMap<(&str, &str, u64), Vec<&Rule>> = HashMap::new();
    let mut count = 0usize;
    for ch in changes {
        for c in &ch.after.chains {
            for r in c.rules.iter().filter(|r| r.handle.is_none()) {
                planned
                    .entry((ch.after.name.as_str(), c.name.as_str(), spec_hash(r)))
                    .or_default()
                    .push(r);
                count += 1;
            }
        }
    }
    let newrule = super::read::msg_type(NFT_MSG_NEWRULE);
    let mut added = 0usize;
    for msg in messages
        .into_iter()
        .filter(|m| m.header.nlmsg_type == newrule)
    {
        let (_, attrs) = msg
            .nfgen()
            .map_err(|err| format!("a rule message is malformed: {err}"))?;
        let name = |kind: u16| {
            attrs
                .find(kind)
                .and_then(|a| a.str().ok())
                .unwrap_or_default()
        };
        let (table, chain) = (name(NFTA_RULE_TABLE), name(NFTA_RULE_CHAIN));
        let rule = decode_rule(family, &attrs)
            .map_err(|err| format!("a rule sent to {table} {chain} does not decode: {err}"))?;
        let found = planned
            .get_mut(&(table, chain, spec_hash(&rule)))
            .and_then(|v| {
                let at = v.iter().position(|p| p.same_spec(&rule))?;
                Some(v.swap_remove(at))
            });
        if found.is_none() {
            return Err(format!(
                "a rule sent to {table} {chain} decodes as a rule that was not planned there"
            ));
        }
        added += 1;
    }
    if added != count {
        return Err(format!(
            "the batch adds {added} of the {count} planned rules"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::nft::encode::put_rule;
    use crate::backend::nft::write::Mode;
    use crate::netlink::message::put_nfnl_message;
    use crate::netlink::Messages;
    use crate::ruleset::{Chain, IpSpec, Table, TableCompat, Target};

    fn rule(target: &str) -> Rule {
        Rule::new(IpSpec::default(), Vec::new(), Target::Jump(target.into()))
    }

    fn table(rules: Vec<Rule>) -> Table {
        Table {
            name: "filter".into(),
            compat: TableCompat::Compatible,
            chains: vec![Chain {
                name: "DOCKER".into(),
                base: None,
                counters: Default::default(),
                rules,
            }],
        }
    }

    /// A message adding `rule` to filter `chain`.
    fn added(rule: &Rule, chain: &str) -> Vec<u8> {
        let mut buf = Vec::new();
        put_nfnl_message(
            &mut buf,
            super::super::read::msg_type(NFT_MSG_NEWRULE),
            0,
            7,
            Family::Ipv4.nfproto(),
            0,
            |w| {
                w.put_str(NFTA_RULE_TABLE, "filter");
                w.put_str(NFTA_RULE_CHAIN, chain);
                put_rule(w, Family::Ipv4, rule).unwrap();
            },
        );
        buf
    }

    #[test]
    fn the_added_rules_must_decode_as_planned() {
        let mut kept = rule("RETURN");
        kept.handle = Some(3);
        let (a, b) = (rule("ACCEPT"), rule("DROP"));
        let after = table(vec![kept, a.clone(), b.clone()]);
        let changes = [TableChange {
            before: None,
            after: &after,
            mode: Mode::Update,
        }];
        let check = |sent: &[Vec<u8>]| {
            let messages = sent
                .iter()
                .map(|m| Messages::new(m).next().unwrap().unwrap());
            added_as_planned(Family::Ipv4, &changes, messages)
        };
        // In any order (head insertions are sent last first).
        assert_eq!(check(&[added(&b, "DOCKER"), added(&a, "DOCKER")]), Ok(()));
        // One missing, one different, one in another chain, one too many.
        assert!(check(&[added(&a, "DOCKER")]).is_err());
        assert!(check(&[added(&a, "DOCKER"), added(&rule("REJECT"), "DOCKER")]).is_err());
        assert!(check(&[added(&a, "DOCKER"), added(&b, "FORWARD")]).is_err());
        assert!(check(&[
            added(&a, "DOCKER"),
            added(&b, "DOCKER"),
            added(&b, "DOCKER")
        ])
        .is_err());
    }
}
