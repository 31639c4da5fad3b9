//! The legacy table blob, written: the inverse of [`super::blob`]. Pure
//! code: model in, bytes out, laid out exactly as libiptc's `TC_COMMIT`
//! lays them out (netfilter-abi.md A.3), so that a table we write is
//! byte-for-byte the table `iptables-legacy-restore` would have written,
//! and `iptables-legacy -C`/`-D` find our rules.
//!
//! Order: the built-in chains in hook order, each as its rules then its
//! policy entry; the user chains sorted by name (strcmp order), each as an
//! `ERROR` head naming the chain, its rules and a `RETURN` footer; a final
//! `ERROR "ERROR"` entry. Jumps are byte offsets of the first entry after
//! the target chain's head.

use super::entry::{self, policy_verdict, rule_size, Pending};
use crate::ruleset::{Chain, Counters, Policy, Rule, Table};
use crate::Family;
use nfdoctor_sys::c_name;
use nfdoctor_sys::ip_tables::ipt_replace;
use nfdoctor_sys::netfilter::NF_INET_NUMHOOKS;
use nfdoctor_sys::x_tables::{
    XT_ERROR_TARGET, XT_FUNCTION_MAXNAMELEN, XT_RETURN, XT_TABLE_MAXNAMELEN,
};
use std::collections::HashMap;

/// The hooks a legacy table always has (netfilter-abi.md A.3): the kernel
/// refuses a replace whose `valid_hooks` differ from the table's.
pub fn table_valid_hooks(table: &str) -> Option<u32> {
    Some(match table {
        "filter" | "security" => 0x0e,
        "nat" => 0x1b,
        "mangle" => 0x1f,
        "raw" => 0x09,
        _ => return None,
    })
}

/// What an entry of the blob stands for. The writer uses it to carry
/// counters over a replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A rule: `table.chains[chain].rules[rule]`; `handle` is that rule's
    /// [`Rule::handle`] (its entry index when it was read), `None` for a
    /// rule not yet in the kernel.
    Rule {
        chain: usize,
        rule: usize,
        handle: Option<u64>,
    },
    /// The policy entry of the built-in chain at `hook`.
    Policy { hook: u32 },
    /// A user chain's `ERROR` head.
    ChainHead,
    /// A user chain's `RETURN` footer.
    ChainFooter,
    /// The final `ERROR "ERROR"` entry.
    End,
}

/// One entry of an encoded blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryInfo {
    /// Byte offset in the blob.
    pub offset: u32,
    pub kind: EntryKind,
    /// The counters the model gives the entry (also written into the blob,
    /// though the kernel zeroes them on replace).
    pub counters: Counters,
}

/// A table ready for `SO_SET_REPLACE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedTable {
    pub name: String,
    pub valid_hooks: u32,
    /// Offset of each valid hook's first entry; 0 for other hooks (as
    /// libiptc sends them; the kernel reports them as `0xFFFFFFFF`).
    pub hook_entry: [u32; NF_INET_NUMHOOKS],
    /// Offset of each valid hook's policy entry; 0 for other hooks.
    pub underflow: [u32; NF_INET_NUMHOOKS],
    pub blob: Vec<u8>,
    /// One per entry, in blob order.
    pub entries: Vec<EntryInfo>,
}

impl EncodedTable {
    pub fn num_entries(&self) -> u32 {
        self.entries.len() as u32
    }

    pub fn size(&self) -> u32 {
        self.blob.len() as u32
    }

    /// For each entry, the handle of the rule it came from (`None` for new
    /// rules, policies, chain heads and footers and the final entry).
    pub fn handles(&self) -> impl Iterator<Item = Option<u64>> + '_ {
        self.entries.iter().map(|e| match e.kind {
            EntryKind::Rule { handle, .. } => handle,
            _ => None,
        })
    }

    /// The `ipt_replace` / `ip6t_replace` header (one layout) for this
    /// table; `num_counters` must be the kernel's current entry count. The
    /// `counters` pointer is left for the caller to fill.
    pub fn replace_header(&self, num_counters: u32) -> ipt_replace {
        let mut name = [0u8; XT_TABLE_MAXNAMELEN];
        let bytes = self.name.as_bytes();
        let n = bytes.len().min(XT_TABLE_MAXNAMELEN - 1);
        name[..n].copy_from_slice(&bytes[..n]);
        ipt_replace {
            name,
            valid_hooks: self.valid_hooks,
            num_entries: self.num_entries(),
            size: self.size(),
            hook_entry: self.hook_entry,
            underflow: self.underflow,
            num_counters,
            counters: 0,
        }
    }
}

/// Why a table cannot be put in a blob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("table {table}{}: {reason}", chain.as_ref().map(|c| format!(", chain {c}")).unwrap_or_default())]
pub struct EncodeError {
    pub table: String,
    pub chain: Option<String>,
    pub reason: String,
}

/// Encodes `table` for `family`.
pub fn encode_table(family: Family, table: &Table) -> Result<EncodedTable, EncodeError> {
    let err = |chain: Option<&str>, reason: String| EncodeError {
        table: table.name.clone(),
        chain: chain.map(str::to_string),
        reason,
    };
    if table.name.is_empty() || c_name::<XT_TABLE_MAXNAMELEN>(&table.name).is_none() {
        return Err(err(None, "invalid table name".into()));
    }

    // Chains in blob order: built-in by hook, user chains by name.
    // (index in table.chains, chain)
    let mut builtin: [Option<(usize, &Chain)>; NF_INET_NUMHOOKS] = [None; NF_INET_NUMHOOKS];
    let mut user: Vec<(usize, &Chain)> = Vec::new();
    for (ci, c) in table.chains.iter().enumerate() {
        match &c.base {
            Some(b) => {
                let h = b.hook as usize;
                if h >= NF_INET_NUMHOOKS {
                    return Err(err(
                        Some(&c.name),
                        format!("hook {} does not exist", b.hook),
                    ));
                }
                if let Some((_, other)) = builtin[h] {
                    return Err(err(
                        Some(&c.name),
                        format!("chain {} has the same hook {h}", other.name),
                    ));
                }
                builtin[h] = Some((ci, c));
            }
            None => {
                let n = c.name.as_bytes();
                if n.is_empty()
                    || n.len() >= XT_FUNCTION_MAXNAMELEN
                    || n.contains(&0)
                    || c.name == XT_ERROR_TARGET
                {
                    return Err(err(Some(&c.name), "invalid user chain name".into()));
                }
                user.push((ci, c));
            }
        }
    }
    let valid_hooks = builtin
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_some())
        .fold(0u32, |m, (h, _)| m | 1 << h);
    if let Some(expected) = table_valid_hooks(&table.name) {
        if valid_hooks != expected {
            let missing: Vec<&str> = (0..NF_INET_NUMHOOKS)
                .filter(|h| expected & (1 << h) != 0 && builtin[*h].is_none())
                .map(|h| crate::ruleset::HOOK_CHAINS[h])
                .collect();
            let extra: Vec<&str> = (0..NF_INET_NUMHOOKS)
                .filter(|h| expected & (1 << h) == 0 && builtin[*h].is_some())
                .map(|h| crate::ruleset::HOOK_CHAINS[h])
                .collect();
            return Err(err(
                None,
                format!(
                    "a legacy {} table has hooks {expected:#04x}; missing built-in chains: [{}], unexpected: [{}]",
                    table.name,
                    missing.join(", "),
                    extra.join(", ")
                ),
            ));
        }
    }
    if valid_hooks == 0 {
        return Err(err(None, "no built-in chain".into()));
    }
    user.sort_by(|a, b| a.1.name.as_bytes().cmp(b.1.name.as_bytes()));
    if let Some(w) = user.windows(2).find(|w| w[0].1.name == w[1].1.name) {
        return Err(err(Some(&w[0].1.name), "chain defined twice".into()));
    }
    if let Some((_, c)) = user
        .iter()
        .find(|(_, u)| builtin.iter().flatten().any(|(_, b)| b.name == u.name))
    {
        return Err(err(
            Some(&c.name),
            "user chain has a built-in chain's name".into(),
        ));
    }

    let policy_size = entry::standard_entry_len(family);
    let head_size = entry::error_entry_len(family);

    // First pass: offsets, and where each user chain's first entry is.
    let mut entry_count = 1usize; // the final ERROR entry
    let mut size = 0usize;
    for (_, c) in builtin.iter().flatten() {
        for r in &c.rules {
            size += rule_size(family, r).1;
        }
        size += policy_size;
        entry_count += c.rules.len() + 1;
    }
    let mut chain_start: HashMap<&str, u32> = HashMap::with_capacity(user.len());
    for (_, c) in &user {
        chain_start.insert(&c.name, (size + head_size) as u32);
        size += head_size;
        for r in &c.rules {
            size += rule_size(family, r).1;
        }
        size += policy_size;
        entry_count += c.rules.len() + 2;
    }
    size += head_size;
    if size > u32::MAX as usize {
        return Err(err(None, format!("table too large ({size} bytes)")));
    }

    // Second pass: the bytes.
    let mut out = Writer {
        family,
        blob: Vec::with_capacity(size),
        entries: Vec::with_capacity(entry_count),
    };
    let mut hook_entry = [0u32; NF_INET_NUMHOOKS];
    let mut underflow = [0u32; NF_INET_NUMHOOKS];
    for (h, c) in builtin.iter().enumerate() {
        let Some((ci, c)) = c else { continue };
        hook_entry[h] = out.blob.len() as u32;
        for (ri, r) in c.rules.iter().enumerate() {
            out.rule(r, (*ci, ri), &chain_start)
                .map_err(|reason| err(Some(&c.name), reason))?;
        }
        underflow[h] = out.blob.len() as u32;
        let policy = c.base.as_ref().map_or(Policy::Accept, |b| b.policy);
        out.standard(
            policy_verdict(policy),
            EntryKind::Policy { hook: h as u32 },
            c.counters,
        );
    }
    for (ci, c) in &user {
        out.error(&c.name, EntryKind::ChainHead);
        for (ri, r) in c.rules.iter().enumerate() {
            out.rule(r, (*ci, ri), &chain_start)
                .map_err(|reason| err(Some(&c.name), reason))?;
        }
        out.standard(XT_RETURN, EntryKind::ChainFooter, Counters::default());
    }
    out.error(XT_ERROR_TARGET, EntryKind::End);
    debug_assert_eq!(out.blob.len(), size);
    debug_assert_eq!(out.entries.len(), entry_count);

    Ok(EncodedTable {
        name: table.name.clone(),
        valid_hooks,
        hook_entry,
        underflow,
        blob: out.blob,
        entries: out.entries,
    })
}

/// The blob being written, with what each entry stands for.
struct Writer {
    family: Family,
    blob: Vec<u8>,
    entries: Vec<EntryInfo>,
}

impl Writer {
    fn rule(
        &mut self,
        r: &Rule,
        (chain, rule): (usize, usize),
        chain_start: &HashMap<&str, u32>,
    ) -> Result<(), String> {
        let start = self.blob.len();
        match entry::put_rule(&mut self.blob, self.family, r)? {
            // The blob is the whole table: the offset is final.
            Pending::Done | Pending::Next { .. } => {}
            Pending::Chain { at, chain } => {
                let to = *chain_start
                    .get(chain)
                    .ok_or_else(|| format!("jump to {chain}, which is not a user chain here"))?;
                self.blob[at..at + 4].copy_from_slice(&(to as i32).to_ne_bytes());
            }
        }
        self.entries.push(EntryInfo {
            offset: start as u32,
            kind: EntryKind::Rule {
                chain,
                rule,
                handle: r.handle,
            },
            counters: r.counters,
        });
        Ok(())
    }

    /// An unconditional entry with a standard target (policy or footer).
    fn standard(&mut self, verdict: i32, kind: EntryKind, counters: Counters) {
        self.entries.push(EntryInfo {
            offset: self.blob.len() as u32,
            kind,
            counters,
        });
        entry::put_standard(&mut self.blob, self.family, verdict, counters);
    }

    /// An unconditional `ERROR` entry (user chain head or the final entry).
    fn error(&mut self, errorname: &str, kind: EntryKind) {
        self.entries.push(EntryInfo {
            offset: self.blob.len() as u32,
            kind,
            counters: Counters::default(),
        });
        entry::put_error(&mut self.blob, self.family, errorname);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::legacy::blob::{decode_table, Hooks};
    use crate::ruleset::{AddrSel, BaseChain, IfaceSel, TableCompat};
    use crate::ruleset::{IpSpec, Target};
    use crate::xt::Extension;
    use nfdoctor_sys::ip6_tables::{IP6T_F_GOTO, IP6T_F_PROTO, IP6T_F_TOS};
    use nfdoctor_sys::ip_tables::{
        IPT_F_FRAG, IPT_F_GOTO, IPT_INV_PROTO, IPT_INV_SRCIP, IPT_INV_VIA_IN,
    };
    use nfdoctor_sys::xt_align;

    fn builtin(name: &str, hook: u32, policy: Policy) -> Chain {
        Chain {
            name: name.into(),
            base: Some(BaseChain {
                hook,
                policy,
                priority: None,
                chain_type: None,
            }),
            counters: Counters::default(),
            rules: Vec::new(),
        }
    }

    fn user(name: &str, rules: Vec<Rule>) -> Chain {
        Chain {
            name: name.into(),
            base: None,
            counters: Counters::default(),
            rules,
        }
    }

    fn table(name: &str) -> Table {
        let chains = crate::ruleset::BUILTIN_CHAINS
            .iter()
            .filter(|(t, ..)| *t == name)
            .map(|(_, c, h, _, _)| builtin(c, *h, Policy::Accept))
            .collect();
        Table {
            name: name.into(),
            chains,
            compat: TableCompat::Compatible,
        }
    }

    fn hooks_of(e: &EncodedTable) -> Hooks {
        Hooks {
            valid_hooks: e.valid_hooks,
            hook_entry: e.hook_entry,
            underflow: e.underflow,
        }
    }

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_ne_bytes([b[at], b[at + 1]])
    }

    fn i32_at(b: &[u8], at: usize) -> i32 {
        i32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn empty_tables_have_the_kernels_sizes() {
        // netfilter-abi.md A.3: what GET_INFO reports in a fresh netns.
        for (name, v4, v6) in [
            ("filter", (4, 632), (4, 856)),
            ("nat", (5, 784), (5, 1064)),
            ("mangle", (6, 936), (6, 1272)),
            ("raw", (3, 480), (3, 648)),
            ("security", (4, 632), (4, 856)),
        ] {
            let t = table(name);
            let e4 = encode_table(Family::Ipv4, &t).unwrap();
            assert_eq!((e4.num_entries(), e4.size()), v4, "{name}");
            assert_eq!(Some(e4.valid_hooks), table_valid_hooks(name));
            let e6 = encode_table(Family::Ipv6, &t).unwrap();
            assert_eq!((e6.num_entries(), e6.size()), v6, "{name}");
        }
        let e = encode_table(Family::Ipv4, &table("filter")).unwrap();
        assert_eq!(e.hook_entry, [0, 0, 0x98, 0x130, 0]);
        assert_eq!(e.underflow, [0, 0, 0x98, 0x130, 0]);
        // The terminator: ERROR target, errorname "ERROR".
        let end = &e.blob[0x1c8..];
        assert_eq!(&end[112..114], &[64, 0]);
        assert_eq!(&end[114..120], b"ERROR\0");
        assert_eq!(&end[144..150], b"ERROR\0");
    }

    /// The annotated capture of netfilter-abi.md A.5: `iptables-legacy -A
    /// FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j
    /// ACCEPT` on an empty filter table.
    #[test]
    fn matches_the_annotated_capture() {
        let mut t = table("filter");
        let mut ct = vec![0u8; 168];
        ct[146..152].copy_from_slice(&[1, 0, 0, 0, 6, 0]);
        let spec = IpSpec {
            out_iface: IfaceSel::parse("docker0", false).unwrap(),
            ..IpSpec::default()
        };
        t.chain_mut("FORWARD").unwrap().rules.push(Rule::new(
            spec,
            vec![Extension::new("conntrack", 3, ct)],
            Target::Accept,
        ));
        let e = encode_table(Family::Ipv4, &t).unwrap();
        assert_eq!((e.num_entries(), e.size()), (5, 984));
        assert_eq!(e.hook_entry, [0, 0, 0x98, 0x290, 0]);
        assert_eq!(e.underflow, [0, 0, 0x1f8, 0x290, 0]);
        let r = &e.blob[0x98..0x98 + 0x160];
        assert_eq!(&r[0x20..0x28], b"docker0\0");
        assert_eq!(&r[0x40..0x49], &[255, 255, 255, 255, 255, 255, 255, 255, 0]);
        assert_eq!((u16_at(r, 0x58), u16_at(r, 0x5a)), (0x138, 0x160));
        assert_eq!(u16_at(r, 0x70), 200);
        assert_eq!(&r[0x72..0x7c], b"conntrack\0");
        assert_eq!(r[0x8f], 3);
        assert_eq!(&r[0x90 + 146..0x90 + 152], &[1, 0, 0, 0, 6, 0]);
        assert_eq!(u16_at(r, 0x138), 40);
        assert_eq!(&r[0x13a..0x158], &[0; 30]);
        assert_eq!(i32_at(r, 0x158), -2);
        assert_eq!(
            e.entries.iter().map(|x| x.kind).collect::<Vec<_>>(),
            vec![
                EntryKind::Policy { hook: 1 },
                EntryKind::Rule {
                    chain: 1,
                    rule: 0,
                    handle: None
                },
                EntryKind::Policy { hook: 2 },
                EntryKind::Policy { hook: 3 },
                EntryKind::End,
            ]
        );
    }

    fn sample(family: Family) -> Table {
        let mut t = table("filter");
        let any = IpSpec {
            proto: 6,
            ..IpSpec::default()
        };
        let mut src = IpSpec {
            src: AddrSel {
                addr: [10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                mask: [255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                invert: true,
            },
            in_iface: IfaceSel::parse("eth+", true).unwrap(),
            proto: 17,
            proto_invert: true,
            ..IpSpec::default()
        };
        if family == Family::Ipv4 {
            src.fragment = true;
        } else {
            src.ipv6_tos = Some(0x10);
        }
        let tcp = Extension::new("tcp", 0, vec![0, 0, 255, 255, 80, 0, 80, 0, 0, 0, 0, 0]);
        let mut rules_zzz = vec![
            Rule::new(any, vec![tcp.clone()], Target::Goto("AAA".into())),
            Rule::new(src, vec![], Target::Continue),
            Rule::new(IpSpec::default(), vec![], Target::Return),
        ];
        rules_zzz[1].counters = Counters {
            packets: 3,
            bytes: 300,
        };
        t.chains.push(user("ZZZ", rules_zzz));
        t.chains.push(user("AAA", vec![]));
        t.chains.push(user(
            "DOCKER-USER",
            vec![Rule::new(
                IpSpec::default(),
                vec![],
                Target::Ext(Extension::new("REJECT", 0, vec![3, 0, 0, 0])),
            )],
        ));
        let fwd = t.chain_mut("FORWARD").unwrap();
        fwd.base.as_mut().unwrap().policy = Policy::Drop;
        fwd.counters = Counters {
            packets: 7,
            bytes: 700,
        };
        fwd.rules = vec![
            Rule::new(
                IpSpec::default(),
                vec![],
                Target::Jump("DOCKER-USER".into()),
            ),
            Rule::new(IpSpec::default(), vec![], Target::Jump("ZZZ".into())),
            Rule::new(IpSpec::default(), vec![], Target::Queue),
            Rule::new(IpSpec::default(), vec![], Target::Drop),
        ];
        t
    }

    #[test]
    fn the_decoder_reads_back_what_we_write() {
        for family in Family::ALL {
            let t = sample(family);
            let e = encode_table(family, &t).unwrap();
            let back = decode_table(family, "filter", &hooks_of(&e), &e.blob).unwrap();
            // The decoder numbers rules by entry index and sorts chains.
            let mut expected = t.clone();
            crate::ruleset::edit::sort_chains(&mut expected);
            let handles: Vec<Option<u64>> = e.handles().collect();
            let mut at = 0;
            for c in &mut expected.chains {
                if c.base.is_none() {
                    at += 1; // head
                }
                for r in &mut c.rules {
                    r.handle = Some(at as u64);
                    at += 1;
                    // Payloads come back padded to XT_ALIGN.
                    for x in r.matches.iter_mut().chain(match &mut r.target {
                        Target::Ext(x) => Some(x),
                        _ => None,
                    }) {
                        x.data.resize(xt_align(x.data.len()), 0);
                    }
                }
                at += 1; // policy or footer
            }
            assert_eq!(back, expected, "{family}");
            assert!(handles.iter().all(Option::is_none));
            // And the same bytes again from what was read.
            let again = encode_table(family, &back).unwrap();
            assert_eq!(again.blob, e.blob, "{family}");
            assert_eq!(
                again.handles().flatten().count(),
                back.chains.iter().map(|c| c.rules.len()).sum::<usize>()
            );
        }
    }

    #[test]
    fn layout_details() {
        let t = sample(Family::Ipv4);
        let e = encode_table(Family::Ipv4, &t).unwrap();
        // User chains sorted: AAA, DOCKER-USER, ZZZ after the built-ins.
        let heads: Vec<u32> = e
            .entries
            .iter()
            .filter(|x| x.kind == EntryKind::ChainHead)
            .map(|x| x.offset)
            .collect();
        let names: Vec<&[u8]> = heads
            .iter()
            .map(|&o| &e.blob[o as usize + 144..o as usize + 144 + 11])
            .collect();
        assert_eq!(
            names,
            [
                &b"AAA\0\0\0\0\0\0\0\0"[..],
                b"DOCKER-USER",
                b"ZZZ\0\0\0\0\0\0\0\0"
            ]
        );
        // FORWARD's first rule jumps to the entry after DOCKER-USER's head.
        let fwd0 = e.hook_entry[2] as usize;
        assert_eq!(i32_at(&e.blob, fwd0 + 112 + 32), (heads[1] + 176) as i32);
        // The goto in ZZZ points after AAA's head (its footer) with IPT_F_GOTO.
        let zzz0 = heads[2] as usize + 176;
        assert_eq!(e.blob[zzz0 + 82], IPT_F_GOTO);
        let to = u16_at(&e.blob, zzz0 + 88) as usize;
        assert_eq!(i32_at(&e.blob, zzz0 + to + 32), (heads[0] + 176) as i32);
        // A rule without a target continues to the next entry.
        let zzz1 = zzz0 + u16_at(&e.blob, zzz0 + 90) as usize;
        assert_eq!(
            i32_at(&e.blob, zzz1 + 112 + 32),
            (zzz1 + u16_at(&e.blob, zzz1 + 90) as usize) as i32
        );
        // Its flags and inversions, and the model's counters.
        assert_eq!(e.blob[zzz1 + 82], IPT_F_FRAG);
        assert_eq!(
            e.blob[zzz1 + 83],
            IPT_INV_SRCIP | IPT_INV_VIA_IN | IPT_INV_PROTO
        );
        assert_eq!(&e.blob[zzz1 + 96..zzz1 + 97], &[3]);
        // The FORWARD policy: DROP, with its counters.
        let p = e.underflow[2] as usize;
        assert_eq!(i32_at(&e.blob, p + 112 + 32), -1);
        assert_eq!(&e.blob[p + 96..p + 97], &[7]);
        // The 12-byte tcp payload is padded to 16.
        assert_eq!(u16_at(&e.blob, zzz0 + 112), 48);

        let e6 = encode_table(Family::Ipv6, &sample(Family::Ipv6)).unwrap();
        let heads6: Vec<usize> = e6
            .entries
            .iter()
            .filter(|x| x.kind == EntryKind::ChainHead)
            .map(|x| x.offset as usize)
            .collect();
        let z0 = heads6[2] + 232;
        assert_eq!(e6.blob[z0 + 131], IP6T_F_PROTO | IP6T_F_GOTO);
        let z1 = z0 + u16_at(&e6.blob, z0 + 142) as usize;
        assert_eq!(e6.blob[z1 + 128], 17);
        assert_eq!(e6.blob[z1 + 130], 0x10);
        assert_eq!(e6.blob[z1 + 131], IP6T_F_PROTO | IP6T_F_TOS);
    }

    #[test]
    fn refuses_what_the_blob_cannot_hold() {
        let msg = |t: &Table, f: Family| encode_table(f, t).unwrap_err().to_string();
        let mut t = table("nat");
        t.chains.retain(|c| c.name != "INPUT");
        assert!(msg(&t, Family::Ipv4).contains("missing built-in chains: [INPUT]"));

        let mut t = table("filter");
        t.chains[0].rules.push(Rule::new(
            IpSpec::default(),
            vec![],
            Target::Jump("NOPE".into()),
        ));
        assert_eq!(
            msg(&t, Family::Ipv4),
            "table filter, chain INPUT: jump to NOPE, which is not a user chain here"
        );

        let mut t = table("filter");
        t.chains[0].rules.push(Rule::new(
            IpSpec::default(),
            vec![],
            Target::Jump("OUTPUT".into()),
        ));
        assert!(msg(&t, Family::Ipv4).contains("not a user chain"));

        let mut t = table("filter");
        t.chains.push(user("X", vec![]));
        t.chains.push(user("X", vec![]));
        assert!(msg(&t, Family::Ipv4).contains("defined twice"));

        let mut t = table("filter");
        t.chains.push(user("ERROR", vec![]));
        assert!(msg(&t, Family::Ipv4).contains("invalid user chain name"));
        let mut t = table("filter");
        t.chains.push(user(&"A".repeat(30), vec![]));
        assert!(msg(&t, Family::Ipv4).contains("invalid user chain name"));
        let mut t = table("filter");
        t.chains.push(user(&"A".repeat(29), vec![]));
        assert!(encode_table(Family::Ipv4, &t).is_ok());

        let mut t = table("filter");
        let frag = IpSpec {
            fragment: true,
            ..IpSpec::default()
        };
        t.chains[0]
            .rules
            .push(Rule::new(frag, vec![], Target::Accept));
        assert!(msg(&t, Family::Ipv6).contains("no fragment flag"));

        let mut t = table("filter");
        t.chains[0].rules.push(Rule::new(
            IpSpec::default(),
            vec![Extension::new("x".repeat(29), 0, vec![])],
            Target::Accept,
        ));
        assert!(msg(&t, Family::Ipv4).contains("invalid match name"));

        let mut t = table("filter");
        t.chains[0].rules.push(Rule::new(
            IpSpec::default(),
            vec![Extension::new("comment", 0, vec![0; 70000])],
            Target::Accept,
        ));
        assert!(msg(&t, Family::Ipv4).contains("too large"));
    }
}
