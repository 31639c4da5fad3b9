//! Parsing one iptables command (`-A CHAIN rule-spec`, `-N CHAIN`, …) the
//! way iptables 1.8.9's `do_parse` does: short and long options, `!` before
//! an option, `-p` loading its protocol match implicitly when a protocol
//! option (`--dport`) follows, extension options dispatched to the first
//! loaded extension that takes them, comma lists in `-s`/`-d` expanding to
//! several rules. Pure code: the context supplies names and set indexes.

use super::{AddrSel, Counters, IfaceSel, IpSpec, Policy, Rule, Target};
use crate::xt::parse::{parse_addr_mask, parse_uint, Arg, ParseCtx};
use crate::xt::revision::{RevisionProbe, Revisions};
use crate::xt::{MatchValue, TargetValue};
use crate::Family;

/// A parsed command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `-A`: one rule per `-s`/`-d` combination.
    Append { chain: String, rules: Vec<Rule> },
    /// `-I CHAIN [N]`, `N` 1-based.
    Insert {
        chain: String,
        position: usize,
        rules: Vec<Rule>,
    },
    /// `-D CHAIN rule-spec`.
    DeleteSpec { chain: String, rules: Vec<Rule> },
    /// `-D CHAIN N`.
    DeleteNum { chain: String, position: usize },
    /// `-R CHAIN N rule-spec`.
    Replace {
        chain: String,
        position: usize,
        rule: Box<Rule>,
    },
    /// `-C CHAIN rule-spec`.
    Check { chain: String, rules: Vec<Rule> },
    /// `-N CHAIN`.
    NewChain(String),
    /// `-X [CHAIN]`.
    DeleteChain(Option<String>),
    /// `-F [CHAIN]`.
    Flush(Option<String>),
    /// `-Z [CHAIN]`.
    Zero(Option<String>),
    /// `-P CHAIN POLICY`.
    Policy {
        chain: String,
        policy: Policy,
        counters: Option<Counters>,
    },
    /// `-E OLD NEW`.
    Rename { old: String, new: String },
}

impl Command {
    /// The rules the command carries (none for chain and table commands).
    pub fn rules_mut(&mut self) -> &mut [Rule] {
        match self {
            Command::Append { rules, .. }
            | Command::Insert { rules, .. }
            | Command::DeleteSpec { rules, .. }
            | Command::Check { rules, .. } => rules,
            Command::Replace { rule, .. } => std::slice::from_mut(&mut **rule),
            _ => &mut [],
        }
    }

    /// Puts the matches and targets of the command's rules at revisions
    /// the kernel has ([`Rule::adapt_revisions`]), as iptables does before
    /// it writes them. Returns whether any changed.
    pub fn adapt_revisions<P: RevisionProbe>(
        &mut self,
        family: Family,
        revisions: &mut Revisions<P>,
    ) -> bool {
        let mut changed = false;
        for r in self.rules_mut() {
            changed |= r.adapt_revisions(family, revisions);
        }
        changed
    }
}

/// A command-line problem: the offending token and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{token}': {reason}")]
pub struct CommandError {
    pub token: String,
    pub reason: String,
}

fn err(token: &str, reason: impl Into<String>) -> CommandError {
    CommandError {
        token: token.to_string(),
        reason: reason.into(),
    }
}

/// Splits a rules-file line into arguments as iptables-restore does:
/// whitespace separates, double quotes group, `\` escapes inside quotes.
pub fn split_args(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let (mut in_quote, mut escaped, mut quoted) = (false, false, false);
    for c in line.chars() {
        if in_quote {
            if escaped {
                cur.push(c);
                escaped = false;
                continue;
            }
            match c {
                '\\' => escaped = true,
                '"' => {
                    in_quote = false;
                }
                _ => cur.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                in_quote = true;
                quoted = true;
            }
            ' ' | '\t' | '\n' | '\r' => {
                if !cur.is_empty() || quoted {
                    args.push(std::mem::take(&mut cur));
                    quoted = false;
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() || quoted {
        args.push(cur);
    }
    args
}

/// [`split_args`] for a line without a double quote (nearly every line):
/// the same tokens, borrowed from the line instead of copied.
pub fn split_unquoted(line: &str) -> impl Iterator<Item = &str> {
    debug_assert!(!line.contains('"'));
    // Byte by byte: the separators are ASCII, and a pattern of several
    // chars is much slower.
    let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let bytes = line.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() && blank(bytes[at]) {
            at += 1;
        }
        if at == bytes.len() {
            return None;
        }
        let start = at;
        while at < bytes.len() && !blank(bytes[at]) {
            at += 1;
        }
        // Both ends sit next to an ASCII byte or at the line's ends: char
        // boundaries.
        Some(&line[start..at])
    })
}

/// An extension being parsed, with the options already given (bit `i`:
/// its option `i`; no extension has 64 options).
enum Loaded {
    Match(MatchValue, u64),
    Target(TargetValue, u64),
}

impl Loaded {
    /// Which of the extension's options `option` is, and its argument.
    fn takes(&self, option: &str) -> Option<(usize, Arg)> {
        let opts = match self {
            Loaded::Match(m, _) => m.options(),
            Loaded::Target(t, _) => t.options(),
        };
        debug_assert!(opts.len() <= 64);
        opts.iter()
            .position(|o| o.name == option)
            .map(|i| (i, opts[i].arg))
    }
}

/// Parses a command's arguments (without the program name). `ctx` gives
/// family, table and name resolution; its `proto` is ignored (the rule's
/// own `-p` is used).
pub fn parse_command<S: AsRef<str>>(
    args: &[S],
    ctx: &ParseCtx<'_>,
) -> Result<Command, CommandError> {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    parse_args(&args, ctx)
}

/// [`parse_command`] on borrowed arguments.
pub fn parse_args(args: &[&str], ctx: &ParseCtx<'_>) -> Result<Command, CommandError> {
    let family = ctx.family;
    let mut i = 0;
    let mut invert = false;
    let mut verb: Option<(char, &str)> = None;
    let mut verb_args: &[&str] = &[];
    let mut srcs: Vec<([u8; 16], [u8; 16])> = Vec::new();
    let mut dsts: Vec<([u8; 16], [u8; 16])> = Vec::new();
    let mut spec = IpSpec::default();
    // The `-s`, `-d`, … given, as bits of `ONCE`.
    let mut seen = 0u8;
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut proto_loaded = false;
    let mut jump: Option<(&str, bool)> = None;
    let mut counters: Option<Counters> = None;

    let next = |i: &mut usize, opt: &str| -> Result<&str, CommandError> {
        *i += 1;
        args.get(*i)
            .copied()
            .ok_or_else(|| err(opt, "option requires an argument"))
    };

    while i < args.len() {
        let arg = args[i];
        if arg == "!" {
            if invert {
                return Err(err(arg, "multiple `!' flags not allowed"));
            }
            invert = true;
            i += 1;
            continue;
        }
        // Normalise `--long=value` and long names to one spelling.
        let (name, inline): (&str, Option<&str>) = if arg.starts_with("--") {
            match arg.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (arg, None),
            }
        } else {
            (arg, None)
        };
        let short = match name {
            "-A" | "--append" => Some('A'),
            "-C" | "--check" => Some('C'),
            "-D" | "--delete" => Some('D'),
            "-I" | "--insert" => Some('I'),
            "-R" | "--replace" => Some('R'),
            "-N" | "--new-chain" | "--new" => Some('N'),
            "-X" | "--delete-chain" => Some('X'),
            "-F" | "--flush" => Some('F'),
            "-Z" | "--zero" => Some('Z'),
            "-P" | "--policy" => Some('P'),
            "-E" | "--rename-chain" => Some('E'),
            "-L" | "--list" | "-S" | "--list-rules" => {
                return Err(err(name, "listing is not a rules-file command"))
            }
            _ => None,
        };
        if let Some(v) = short {
            if verb.is_some() {
                return Err(err(name, "only one command allowed"));
            }
            if invert {
                return Err(err(name, "cannot have ! before a command"));
            }
            verb = Some((v, name));
            // Collect positional arguments (chain, number, policy, name).
            let first = i + 1;
            while let Some(&a) = args.get(i + 1) {
                if a.starts_with('-') && a.len() > 1 || a == "!" {
                    break;
                }
                i += 1;
            }
            verb_args = &args[first..=i];
            i += 1;
            continue;
        }
        let value = |i: &mut usize| -> Result<&str, CommandError> {
            match inline {
                Some(v) => Ok(v),
                None => next(i, name),
            }
        };
        let mut once = |key: &'static str| -> Result<(), CommandError> {
            let bit = ONCE.iter().position(|k| *k == key).map_or(0, |b| 1u8 << b);
            if seen & bit != 0 {
                return Err(err(name, format!("multiple -{key} flags not allowed")));
            }
            seen |= bit;
            Ok(())
        };
        match name {
            "-s" | "--source" | "--src" => {
                once("s")?;
                let v = value(&mut i)?;
                for part in v.split(',') {
                    srcs.push(parse_addr_mask(part, family).map_err(|r| err(part, r))?);
                }
                spec.src.invert = std::mem::take(&mut invert);
            }
            "-d" | "--destination" | "--dst" => {
                once("d")?;
                let v = value(&mut i)?;
                for part in v.split(',') {
                    dsts.push(parse_addr_mask(part, family).map_err(|r| err(part, r))?);
                }
                spec.dst.invert = std::mem::take(&mut invert);
            }
            "-i" | "--in-interface" => {
                once("i")?;
                let v = value(&mut i)?;
                spec.in_iface = IfaceSel::parse(v, std::mem::take(&mut invert))
                    .ok_or_else(|| err(v, "interface name must be shorter than IFNAMSIZ (15)"))?;
            }
            "-o" | "--out-interface" => {
                once("o")?;
                let v = value(&mut i)?;
                spec.out_iface = IfaceSel::parse(v, std::mem::take(&mut invert))
                    .ok_or_else(|| err(v, "interface name must be shorter than IFNAMSIZ (15)"))?;
            }
            "-p" | "--protocol" => {
                once("p")?;
                let v = value(&mut i)?;
                let v: std::borrow::Cow<'_, str> = if v.bytes().any(|b| b.is_ascii_uppercase()) {
                    v.to_ascii_lowercase().into()
                } else {
                    v.into()
                };
                spec.proto = parse_protocol(&v, ctx).ok_or_else(|| err(&v, "unknown protocol"))?;
                spec.proto_invert = std::mem::take(&mut invert);
                if spec.proto_invert && spec.proto == 0 {
                    return Err(err(&v, "rule would never match protocol"));
                }
            }
            "-f" | "--fragment" => {
                once("f")?;
                if family == Family::Ipv6 {
                    return Err(err(name, "-f is not supported by ip6tables"));
                }
                spec.fragment = true;
                spec.fragment_invert = std::mem::take(&mut invert);
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                if invert {
                    return Err(err(name, "cannot have ! before -j"));
                }
                if jump.is_some() {
                    return Err(err(name, "multiple -j flags not allowed"));
                }
                let v = value(&mut i)?;
                let goto = name == "-g" || name == "--goto";
                if !goto {
                    if let Some(t) = TargetValue::start(v, &ctx_with(ctx, &spec)) {
                        loaded.push(Loaded::Target(t, 0));
                    }
                }
                jump = Some((v, goto));
            }
            "-m" | "--match" => {
                if invert {
                    return Err(err(name, "unexpected ! flag before --match"));
                }
                let v = value(&mut i)?;
                let m = MatchValue::start(v, &ctx_with(ctx, &spec))
                    .ok_or_else(|| err(v, "no such match (or not supported by nfdoctor)"))?;
                loaded.push(Loaded::Match(m, 0));
            }
            "-c" | "--set-counters" => {
                let p = value(&mut i)?;
                let b = next(&mut i, name)?;
                counters = Some(Counters {
                    packets: parse_uint(p, u64::MAX).map_err(|r| err(p, r))?,
                    bytes: parse_uint(b, u64::MAX).map_err(|r| err(b, r))?,
                });
            }
            "-4" | "--ipv4" if family == Family::Ipv4 => {}
            "-6" | "--ipv6" if family == Family::Ipv6 => {}
            "-4" | "--ipv4" | "-6" | "--ipv6" => {
                return Err(err(name, format!("this rule is not for {family}")))
            }
            "-w" | "--wait" | "-W" | "--wait-interval" | "-n" | "--numeric" | "-v"
            | "--verbose" | "-x" | "--exact" | "--line-numbers" => {
                // Accepted and ignored, as iptables-restore does; -w/-W may
                // carry a number.
                if matches!(name, "-w" | "--wait" | "-W" | "--wait-interval")
                    && args.get(i + 1).is_some_and(|a| a.parse::<f64>().is_ok())
                {
                    i += 1;
                }
            }
            _ if name.starts_with("--") => {
                let opt = &name[2..];
                // The last loaded extension that takes the option; else the
                // protocol's own match, loaded implicitly (`-p tcp --dport`).
                // As in iptables, the extension loaded last takes precedence
                // (its options are merged in front of the older ones).
                let mut at = loaded.iter().rposition(|l| l.takes(opt).is_some());
                if at.is_none() && !proto_loaded && spec.proto != 0 {
                    proto_loaded = true;
                    if let Some(pname) = proto_match_name(spec.proto, family) {
                        if let Some(m) = MatchValue::start(pname, &ctx_with(ctx, &spec)) {
                            if !loaded.iter().any(|l| matches!(l, Loaded::Match(x, _) if x.kernel_name() == m.kernel_name())) {
                                loaded.push(Loaded::Match(m, 0));
                            }
                            at = loaded.iter().rposition(|l| l.takes(opt).is_some());
                        }
                    }
                }
                let at = at.ok_or_else(|| err(name, "unknown option"))?;
                let (index, kind) = loaded[at].takes(opt).unwrap_or((0, Arg::None));
                let bit = 1u64 << index;
                let arg: Option<std::borrow::Cow<'_, str>> = match kind {
                    Arg::None => None,
                    Arg::Required => Some(value(&mut i)?.into()),
                    Arg::Optional => match (inline, args.get(i + 1)) {
                        (Some(v), _) => Some(v.into()),
                        (None, Some(&a)) if !a.starts_with('-') && a != "!" => {
                            i += 1;
                            Some(a.into())
                        }
                        _ => None,
                    },
                    Arg::Two => {
                        let a = value(&mut i)?;
                        let b = next(&mut i, name)?;
                        Some(format!("{a} {b}").into())
                    }
                };
                let inv = std::mem::take(&mut invert);
                let rctx = ctx_with(ctx, &spec);
                match &mut loaded[at] {
                    Loaded::Match(m, given) => {
                        if *given & bit != 0 {
                            return Err(err(name, "option can only be used once"));
                        }
                        *given |= bit;
                        m.option(opt, arg.as_deref(), inv, &rctx)
                            .map_err(|r| err(arg.as_deref().unwrap_or(name), r))?;
                    }
                    Loaded::Target(t, given) => {
                        if *given & bit != 0 {
                            return Err(err(name, "option can only be used once"));
                        }
                        *given |= bit;
                        t.option(opt, arg.as_deref(), inv, &rctx)
                            .map_err(|r| err(arg.as_deref().unwrap_or(name), r))?;
                    }
                }
            }
            _ => return Err(err(name, "unknown argument")),
        }
        i += 1;
    }
    if invert {
        return Err(err("!", "`!' must precede an option"));
    }
    let (v, vname) = verb.ok_or_else(|| err("", "no command specified (e.g. -A)"))?;
    let chain = |n: usize| -> Result<String, CommandError> {
        let c = verb_args
            .get(n)
            .copied()
            .ok_or_else(|| err(vname, "chain name required"))?;
        check_chain_name(c)?;
        Ok(c.to_string())
    };
    let position = |n: usize| -> Result<Option<usize>, CommandError> {
        match verb_args.get(n) {
            None => Ok(None),
            Some(p) => p
                .parse::<usize>()
                .ok()
                .filter(|&p| p > 0)
                .map(Some)
                .ok_or_else(|| err(p, "invalid rule number")),
        }
    };

    // Commands that take no rule specification.
    let no_spec = |cmd: Command| -> Result<Command, CommandError> {
        if !loaded.is_empty()
            || jump.is_some()
            || spec != IpSpec::default()
            || !srcs.is_empty()
            || !dsts.is_empty()
        {
            return Err(err(vname, "this command takes no rule specification"));
        }
        Ok(cmd)
    };
    match v {
        'N' => return no_spec(Command::NewChain(chain(0)?)),
        'X' => {
            return no_spec(Command::DeleteChain(
                verb_args.first().map(|c| c.to_string()),
            ))
        }
        'F' => return no_spec(Command::Flush(verb_args.first().map(|c| c.to_string()))),
        'Z' => return no_spec(Command::Zero(verb_args.first().map(|c| c.to_string()))),
        'E' => {
            let old = chain(0)?;
            let new = chain(1)?;
            return no_spec(Command::Rename { old, new });
        }
        'P' => {
            let c = chain(0)?;
            let p = verb_args
                .get(1)
                .ok_or_else(|| err(vname, "policy required"))?;
            let policy = match *p {
                "ACCEPT" => Policy::Accept,
                "DROP" => Policy::Drop,
                _ => return Err(err(p, "bad policy name (use ACCEPT or DROP)")),
            };
            return no_spec(Command::Policy {
                chain: c,
                policy,
                counters,
            });
        }
        _ => {}
    }
    if v == 'D' && verb_args.len() == 2 && loaded.is_empty() && jump.is_none() {
        if let Some(p) = position(1)? {
            return no_spec(Command::DeleteNum {
                chain: chain(0)?,
                position: p,
            });
        }
    }

    // A rule.
    let rctx = ctx_with(ctx, &spec);
    // Exactly the room the matches need: pushed one by one they would get
    // room for four, kept by every rule of a restored ruleset.
    let loaded_matches = loaded.iter().filter(|l| matches!(l, Loaded::Match(..)));
    let mut matches = Vec::with_capacity(loaded_matches.count());
    let mut target = Target::Continue;
    for l in &mut loaded {
        match l {
            Loaded::Match(m, _) => {
                let rev = m.finish(&rctx).map_err(|r| err(m.kernel_name(), r))?;
                matches.push(m.encode(rev, family));
            }
            Loaded::Target(t, _) => {
                let rev = t.finish(&rctx).map_err(|r| err(t.kernel_name(), r))?;
                target = Target::Ext(t.encode(rev, family));
            }
        }
    }
    if let Some((name, goto)) = &jump {
        if !matches!(target, Target::Ext(_)) {
            target = match (*name, goto) {
                ("ACCEPT", false) => Target::Accept,
                ("DROP", false) => Target::Drop,
                ("RETURN", false) => Target::Return,
                ("QUEUE", false) => Target::Queue,
                (n, _) if is_standard(n) => return Err(err(n, "cannot goto a verdict")),
                (n, g) => {
                    check_chain_name(n)?;
                    if *g {
                        Target::Goto(n.to_string())
                    } else {
                        Target::Jump(n.to_string())
                    }
                }
            };
        }
    }
    // No -s or -d: any address, without a list to allocate.
    let any = [([0; 16], [0; 16])];
    let srcs: &[_] = if srcs.is_empty() { &any } else { &srcs };
    let dsts: &[_] = if dsts.is_empty() { &any } else { &dsts };
    let mut rules = Vec::with_capacity(srcs.len() * dsts.len());
    let mut left = srcs.len() * dsts.len();
    for (sa, sm) in srcs {
        for (da, dm) in dsts {
            left -= 1;
            let mut s = spec;
            s.src = AddrSel {
                addr: *sa,
                mask: *sm,
                invert: spec.src.invert,
            };
            s.dst = AddrSel {
                addr: *da,
                mask: *dm,
                invert: spec.dst.invert,
            };
            // The last rule takes the extensions, the others copies.
            let mut r = if left == 0 {
                Rule::new(
                    s,
                    std::mem::take(&mut matches),
                    std::mem::replace(&mut target, Target::Continue),
                )
            } else {
                Rule::new(s, matches.clone(), target.clone())
            };
            if let Some(c) = counters {
                r.counters = c;
            }
            rules.push(r);
        }
    }
    match v {
        'A' => Ok(Command::Append {
            chain: chain(0)?,
            rules,
        }),
        'C' => Ok(Command::Check {
            chain: chain(0)?,
            rules,
        }),
        'D' => Ok(Command::DeleteSpec {
            chain: chain(0)?,
            rules,
        }),
        'I' => Ok(Command::Insert {
            chain: chain(0)?,
            position: position(1)?.unwrap_or(1),
            rules,
        }),
        'R' => {
            let p = position(1)?.ok_or_else(|| err(vname, "rule number required"))?;
            if rules.len() != 1 {
                return Err(err(vname, "-R needs exactly one source and destination"));
            }
            Ok(Command::Replace {
                chain: chain(0)?,
                position: p,
                rule: Box::new(rules.remove(0)),
            })
        }
        _ => Err(err(vname, "unsupported command")),
    }
}

/// The options of the rule proper that may be given once.
const ONCE: [&str; 6] = ["s", "d", "i", "o", "p", "f"];

fn is_standard(name: &str) -> bool {
    matches!(name, "ACCEPT" | "DROP" | "RETURN" | "QUEUE")
}

/// iptables' `assert_valid_chain_name`.
pub fn check_chain_name(name: &str) -> Result<(), CommandError> {
    if name.len() >= nfdoctor_sys::x_tables::XT_EXTENSION_MAXNAMELEN {
        return Err(err(name, "chain name too long (must be under 29 chars)"));
    }
    if name.starts_with('-') || name.starts_with('!') {
        return Err(err(name, "chain name not allowed to start with `-' or `!'"));
    }
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(err(name, "invalid chain name"));
    }
    Ok(())
}

/// `xtables_parse_protocol`: a number, `all`, or a name.
fn parse_protocol(s: &str, ctx: &ParseCtx<'_>) -> Option<u16> {
    if let Ok(n) = parse_uint(s, 255) {
        return Some(n as u16);
    }
    ctx.protocols.number(s)
}

/// The match `-p` loads implicitly for its options.
fn proto_match_name(proto: u16, family: Family) -> Option<&'static str> {
    match (proto, family) {
        (6, _) => Some("tcp"),
        (17, _) => Some("udp"),
        (1, Family::Ipv4) => Some("icmp"),
        (58, Family::Ipv6) => Some("icmp6"),
        _ => None,
    }
}

fn ctx_with<'a>(ctx: &ParseCtx<'a>, spec: &IpSpec) -> ParseCtx<'a> {
    ParseCtx {
        family: ctx.family,
        proto: spec.proto,
        proto_invert: spec.proto_invert,
        table: ctx.table,
        protocols: ctx.protocols,
        services: ctx.services,
        set_index: ctx.set_index,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::protocols::ProtoNames;
    use crate::xt::Services;

    fn parse(line: &str) -> Result<Command, CommandError> {
        let protocols = ProtoNames::from_etc_protocols("tcp 6\nudp 17\ngre 47\n");
        let services = Services::from_etc_services("http 80/tcp\n");
        let ctx = ParseCtx {
            family: Family::Ipv4,
            proto: 0,
            proto_invert: false,
            table: "filter",
            protocols: &protocols,
            services: &services,
            set_index: &|_| None,
        };
        parse_command(&split_args(line), &ctx)
    }

    #[test]
    fn every_command_with_rules_is_adapted_to_the_kernels_revisions() {
        use crate::xt::revision::{ListedRevisions, Revisions};
        use crate::xt::Kind;
        let mut revisions = Revisions::new(ListedRevisions {
            has: vec![(Kind::Match, "addrtype", vec![0])],
            asked: 0,
        });
        let spec = "-m addrtype --dst-type LOCAL -j ACCEPT";
        for line in [
            format!("-A X {spec}"),
            format!("-I X 2 {spec}"),
            format!("-R X 1 {spec}"),
            format!("-D X {spec}"),
            format!("-C X {spec}"),
        ] {
            let mut c = parse(&line).unwrap();
            assert!(c.adapt_revisions(Family::Ipv4, &mut revisions), "{line}");
            assert_eq!(c.rules_mut()[0].matches[0].revision, 0, "{line}");
        }
        let mut flush = parse("-F X").unwrap();
        assert!(!flush.adapt_revisions(Family::Ipv4, &mut revisions));
    }

    #[test]
    fn quoting_like_iptables_restore() {
        assert_eq!(
            split_args(r#"-A X -m comment --comment "a b\"c" -j Y"#),
            vec!["-A", "X", "-m", "comment", "--comment", "a b\"c", "-j", "Y"]
        );
        assert_eq!(split_args(r#"--comment """#), vec!["--comment", ""]);
        assert_eq!(split_args("  -A   X  "), vec!["-A", "X"]);
        let line = " -A\tX  -j  Y\r";
        for line in [line, "", "   ", "-A", "é -s ü "] {
            assert_eq!(split_unquoted(line).collect::<Vec<_>>(), split_args(line));
        }
    }

    #[test]
    fn a_rules_matches_get_exactly_their_room() {
        let Command::Append { rules, .. } = parse(
            "-A INPUT -s 10.0.0.1,10.0.0.2 -p tcp --dport 80 -m comment --comment x -j ACCEPT",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(rules.len(), 2);
        for r in &rules {
            assert_eq!(r.matches.len(), 2);
            assert_eq!(r.matches.capacity(), 2);
        }
    }

    #[test]
    fn implicit_protocol_match() {
        let Command::Append { chain, rules } =
            parse("-A INPUT -p tcp --dport http -j ACCEPT").unwrap()
        else {
            panic!()
        };
        assert_eq!(chain, "INPUT");
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].matches[0].name, "tcp");
        assert_eq!(&rules[0].matches[0].data[4..8], &[80, 0, 80, 0]);
        assert_eq!(rules[0].target, Target::Accept);
    }

    #[test]
    fn address_lists_expand() {
        let Command::Append { rules, .. } =
            parse("-A X -s 1.1.1.1,2.2.2.0/24 -d 3.3.3.3 -j Y").unwrap()
        else {
            panic!()
        };
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].spec.src.mask[..4], [255, 255, 255, 0]);
        assert_eq!(rules[0].target, Target::Jump("Y".into()));
    }

    #[test]
    fn errors_name_the_token() {
        let e = parse("-A INPUT -p tcp --dport nope -j ACCEPT").unwrap_err();
        assert_eq!(e.token, "nope");
        let e = parse("-A INPUT --bogus 1").unwrap_err();
        assert_eq!(e.token, "--bogus");
        let e = parse("-A INPUT ! ! -s 1.2.3.4").unwrap_err();
        assert_eq!(e.token, "!");
        assert!(parse("-A INPUT -p udp -m tcp --dport 1").is_err());
    }

    #[test]
    fn chain_commands() {
        assert_eq!(
            parse("-N DOCKER").unwrap(),
            Command::NewChain("DOCKER".into())
        );
        assert_eq!(
            parse("-D DOCKER 3").unwrap(),
            Command::DeleteNum {
                chain: "DOCKER".into(),
                position: 3
            }
        );
        assert!(matches!(
            parse("-P FORWARD DROP").unwrap(),
            Command::Policy {
                policy: Policy::Drop,
                ..
            }
        ));
        assert!(parse("-P FORWARD RETURN").is_err());
        assert!(matches!(
            parse("-I FORWARD 2 -j X").unwrap(),
            Command::Insert { position: 2, .. }
        ));
    }
}
