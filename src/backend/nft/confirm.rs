//! Committing a change and knowing, without reading the ruleset again, that
//! the kernel now holds exactly the planned tables. Dumping a chain of tens
//! of thousands of rules costs the kernel seconds; the proof here costs
//! nothing extra: the kernel echoes every rule it added (`NLM_F_ECHO`, the
//! rule as a dump would show it), and the generation read right behind the
//! batch shows whether anybody else committed around it.

use super::rule::decode_rule;
use super::write::{build_batch, send_built, send_room, TableChange, WriteError, WriteReport};
use crate::netlink::batch::Echo;
use crate::netlink::{Connection, Transport};
use crate::ruleset::{spec_hash, Rule};
use crate::Family;
use nfdoctor_sys::nf_tables::{NFTA_RULE_CHAIN, NFTA_RULE_TABLE, NFT_MSG_NEWRULE};
use std::collections::HashMap;

/// Whether the kernel's tables after a commit are known to be the planned
/// ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// Nobody else committed between the read the plan was made on and the
    /// generation read right after ours (it moved by exactly one), and the
    /// kernel echoed every rule it added as planned.
    Confirmed { genid: u32 },
    /// Why not: read the rules again to know them.
    Unconfirmed(String),
}

/// [`super::write::write_tables`] (committing), confirmed as above when the change is one
/// batch and the socket can queue the kernel's echo.
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
    let sent = conn.send_batch_echoed(&batch, genid)?;
    report.parts = 1;
    let next = genid.wrapping_add(1);
    let confirmation = match (sent.genid_after, &sent.echoes) {
        (Some(g), _) if g != next => Confirmation::Unconfirmed(format!(
            "another change was committed right after ours (generation {g}, ours {next})"
        )),
        (None, _) => Confirmation::Unconfirmed("the generation after the commit is unknown".into()),
        (_, None) => Confirmation::Unconfirmed(
            "the socket could not queue the kernel's echo of the change".into(),
        ),
        (Some(_), Some(echoes)) => match echoed_as_planned(family, changes, echoes) {
            Ok(()) => Confirmation::Confirmed { genid: next },
            Err(why) => Confirmation::Unconfirmed(why),
        },
    };
    Ok((report, confirmation))
}

/// Every rule the change adds (those without a handle in `after`) was
/// echoed, as the same rule, in the same table and chain, and nothing else
/// was added.
pub fn echoed_as_planned(
    family: Family,
    changes: &[TableChange<'_>],
    echoes: &[Echo],
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
    let mut echoed = 0usize;
    for e in echoes.iter().filter(|e| e.header.nlmsg_type == newrule) {
        let msg = e.message();
        let (_, attrs) = msg
            .nfgen()
            .map_err(|err| format!("an echoed rule is malformed: {err}"))?;
        let name = |kind: u16| {
            attrs
                .find(kind)
                .and_then(|a| a.str().ok())
                .unwrap_or_default()
        };
        let (table, chain) = (name(NFTA_RULE_TABLE), name(NFTA_RULE_CHAIN));
        let rule = decode_rule(family, &attrs).map_err(|err| {
            format!("a rule the kernel echoed in {table} {chain} does not decode: {err}")
        })?;
        let found = planned
            .get_mut(&(table, chain, spec_hash(&rule)))
            .and_then(|v| {
                let at = v.iter().position(|p| p.same_spec(&rule))?;
                Some(v.swap_remove(at))
            });
        if found.is_none() {
            return Err(format!(
                "the kernel holds a rule in {table} {chain} that was not planned as such"
            ));
        }
        echoed += 1;
    }
    if echoed != count {
        return Err(format!(
            "the kernel echoed {echoed} of the {count} rules added"
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

    /// The kernel's echo of `rule` added to filter DOCKER (with a handle,
    /// as the kernel sends it).
    fn echo(rule: &Rule, chain: &str) -> Echo {
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
                w.put_be_u64(nfdoctor_sys::nf_tables::NFTA_RULE_HANDLE, 42);
                put_rule(w, Family::Ipv4, rule).unwrap();
            },
        );
        let msg = Messages::new(&buf).next().unwrap().unwrap();
        Echo {
            header: msg.header,
            payload: msg.payload.to_vec(),
        }
    }

    #[test]
    fn the_added_rules_must_come_back_as_planned() {
        let mut kept = rule("RETURN");
        kept.handle = Some(3);
        let (a, b) = (rule("ACCEPT"), rule("DROP"));
        let after = table(vec![kept, a.clone(), b.clone()]);
        let changes = [TableChange {
            before: None,
            after: &after,
            mode: Mode::Update,
        }];
        let check = |echoes: &[Echo]| echoed_as_planned(Family::Ipv4, &changes, echoes);
        // In any order (head insertions come back last first).
        assert_eq!(check(&[echo(&b, "DOCKER"), echo(&a, "DOCKER")]), Ok(()));
        // One missing, one different, one in another chain, one too many.
        assert!(check(&[echo(&a, "DOCKER")]).is_err());
        assert!(check(&[echo(&a, "DOCKER"), echo(&rule("REJECT"), "DOCKER")]).is_err());
        assert!(check(&[echo(&a, "DOCKER"), echo(&b, "FORWARD")]).is_err());
        assert!(check(&[echo(&a, "DOCKER"), echo(&b, "DOCKER"), echo(&b, "DOCKER")]).is_err());
    }
}
