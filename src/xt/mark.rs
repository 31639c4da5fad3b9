//! `mark` match (revision 1, `xt_mark_mtinfo1`) and `MARK` target
//! (revision 2, `xt_mark_tginfo2`; the obsolete revisions 0 and 1 with their
//! `unsigned long` mark are decoded too).

use super::options::{self, Seen};
use super::parse::{xt_opt, OptSpec, Parse, ParseCtx, INVERT, MAND};
use super::Payload;
use super::{invert_flag, read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::{xt_mark_mtinfo1, xt_mark_tginfo2};
use serde::Serialize;
use std::fmt::Write;

/// `xtables_print_mark_mask`: ` 0xV` or ` 0xV/0xM` unless the mask is all
/// ones.
pub(crate) fn save_mark_mask(mark: u32, mask: u32, out: &mut String) {
    if mask == u32::MAX {
        let _ = write!(out, " {mark:#x}");
    } else {
        let _ = write!(out, " {mark:#x}/{mask:#x}");
    }
}

/// `mark` match: `(nfmark & mask) == mark`, inverted by `!`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Mark {
    pub mark: u32,
    pub mask: u32,
    pub invert: bool,
    /// Parse bookkeeping: the options seen (not serialised, ignored by
    /// equality).
    #[serde(skip)]
    pub(crate) seen: Seen,
}

impl Codec for Mark {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 1 {
            return Ok(None);
        }
        let m: xt_mark_mtinfo1 = read_payload("mark", 1, data)?;
        Ok(Some(Mark {
            mark: m.mark,
            mask: m.mask,
            invert: invert_flag("mark", 1, m.invert)?,
            seen: Seen::default(),
        }))
    }

    fn encode(&self, _: u8, _: Family) -> Payload {
        write_payload(&xt_mark_mtinfo1 {
            mark: self.mark,
            mask: self.mask,
            invert: u8::from(self.invert),
            _pad: [0; 3],
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --mark");
        save_mark_mask(self.mark, self.mask, out);
    }
}

impl Parse for Mark {
    const OPTIONS: &'static [OptSpec] = &[xt_opt("mark", 0, true, MAND | INVERT, 0)];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Mark::default()
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let (_, arg) = self.seen.take("mark", Self::OPTIONS, name, arg, invert)?;
        let (mark, mask) = options::mark_mask("mark", "mark", arg)?;
        self.mark = mark;
        self.mask = mask;
        if invert {
            self.invert = true;
        }
        Ok(())
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        self.seen.check("mark", Self::OPTIONS)?;
        Ok(1)
    }
}

/// The obsolete `MARK` revisions 0 (`{unsigned long mark}`) and 1 (`{unsigned
/// long mark; u8 mode}`), which kernels since 2.6.35 no longer accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OldMark {
    pub mark: u64,
    /// Revision 1 only: `XT_MARK_SET` 0, `XT_MARK_AND` 1, `XT_MARK_OR` 2.
    pub mode: Option<u8>,
}

/// `MARK` target. Revision 2: `nfmark = (nfmark & ~mask) ^ mark`; every
/// command-line form (`--set-mark`, `--and-mark`…) is stored that way.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct MarkTarget {
    pub mark: u32,
    pub mask: u32,
    /// Set when decoded from revision 0 or 1 (then `mark`/`mask` are 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<OldMark>,
    /// Parse bookkeeping: the options seen (not serialised, ignored by
    /// equality).
    #[serde(skip)]
    pub(crate) seen: Seen,
}

/// Size of `unsigned long` in the obsolete layouts (64-bit user space).
const OLD_V0_LEN: usize = 8;
const OLD_V1_LEN: usize = 16;

fn u64_ne(data: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&data[..8]);
    u64::from_ne_bytes(b)
}

impl Codec for MarkTarget {
    fn decode(revision: u8, family: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        let old = |len: usize| -> Result<(), XtError> {
            if data.len() != len {
                return Err(XtError::new(
                    "MARK",
                    revision,
                    format!("payload is {} bytes, expected {len}", data.len()),
                ));
            }
            Ok(())
        };
        match revision {
            0 => {
                old(OLD_V0_LEN)?;
                Ok(Some(MarkTarget {
                    old: Some(OldMark {
                        mark: u64_ne(data),
                        mode: None,
                    }),
                    ..MarkTarget::default()
                }))
            }
            // iptables registers revision 1 for IPv4 only.
            1 if family == Family::Ipv4 => {
                old(OLD_V1_LEN)?;
                Ok(Some(MarkTarget {
                    old: Some(OldMark {
                        mark: u64_ne(data),
                        mode: Some(data[8]),
                    }),
                    ..MarkTarget::default()
                }))
            }
            2 => {
                let t: xt_mark_tginfo2 = read_payload("MARK", 2, data)?;
                Ok(Some(MarkTarget {
                    mark: t.mark,
                    mask: t.mask,
                    ..MarkTarget::default()
                }))
            }
            _ => Ok(None),
        }
    }

    fn encode(&self, revision: u8, _: Family) -> Payload {
        match revision {
            // A revision-2 value asked for in an old layout keeps its mark
            // as a plain set (the old layouts have no mask).
            0 | 1 => {
                let old = self.old.unwrap_or(OldMark {
                    mark: u64::from(self.mark),
                    mode: None,
                });
                let mut out = old.mark.to_ne_bytes().to_vec();
                if revision == 1 {
                    out.push(old.mode.unwrap_or(0));
                    out.resize(OLD_V1_LEN, 0);
                }
                out.into()
            }
            _ => write_payload(&xt_mark_tginfo2 {
                mark: self.mark,
                mask: self.mask,
            }),
        }
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        match self.old {
            None => {
                let _ = write!(out, " --set-xmark {:#x}/{:#x}", self.mark, self.mask);
            }
            Some(old) => {
                match old.mode {
                    None | Some(0) => out.push_str(" --set-mark"),
                    Some(1) => out.push_str(" --and-mark"),
                    Some(2) => out.push_str(" --or-mark"),
                    Some(_) => {}
                }
                let _ = write!(out, " {:#x}", old.mark);
            }
        }
    }
}

// libxt_MARK's ids: O_SET_MARK 0, AND 1, OR 2, XOR 3, SET_XMARK 4.
const F_ANY_MARK: u32 = 0x1f;

impl Parse for MarkTarget {
    const OPTIONS: &'static [OptSpec] = &[
        xt_opt("set-xmark", 4, true, 0, F_ANY_MARK),
        xt_opt("set-mark", 0, true, 0, F_ANY_MARK),
        xt_opt("and-mark", 1, true, 0, F_ANY_MARK),
        xt_opt("or-mark", 2, true, 0, F_ANY_MARK),
        xt_opt("xor-mark", 3, true, 0, F_ANY_MARK),
    ];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        MarkTarget::default()
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let (entry, arg) = self.seen.take("MARK", Self::OPTIONS, name, arg, invert)?;
        let int =
            || options::uint("MARK", entry.name, arg, 0, u64::from(u32::MAX)).map(|v| v as u32);
        match entry.id {
            4 => (self.mark, self.mask) = options::mark_mask("MARK", entry.name, arg)?,
            0 => {
                let (mark, mask) = options::mark_mask("MARK", entry.name, arg)?;
                self.mark = mark;
                self.mask = mark | mask;
            }
            1 => {
                self.mark = 0;
                self.mask = !int()?;
            }
            2 => {
                let v = int()?;
                self.mark = v;
                self.mask = v;
            }
            _ => {
                self.mark = int()?;
                self.mask = 0;
            }
        }
        Ok(())
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        if !self.seen.any() {
            return Err(
                "MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required".into(),
            );
        }
        self.seen.check("MARK", Self::OPTIONS)?;
        Ok(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{parse, roundtrip, save, unhex, V4};

    fn parses_to<T: Parse + Codec>(
        ext: &str,
        args: &[(&str, Option<&str>, bool)],
        rev: u8,
        data: &str,
    ) {
        let (v, r) = parse::<T>(V4, ext, args).expect("parses");
        assert_eq!(r, rev);
        assert_eq!(v.encode(r, Family::Ipv4), unhex(data), "{args:?}");
    }

    // Payloads captured from iptables 1.8.9 (legacy and nft identical).
    #[test]
    fn mark_match_captures() {
        let m: Mark = roundtrip(
            1,
            Family::Ipv4,
            "05000000ffffffff0000000000000000",
            " --mark 0x5",
        );
        assert!(!m.invert);
        roundtrip::<Mark>(
            1,
            Family::Ipv4,
            "05000000ff0000000100000000000000",
            " ! --mark 0x5/0xff",
        );
        parses_to::<Mark>(
            "mark",
            &[("mark", Some("0x5"), false)],
            1,
            "05000000ffffffff0000000000000000",
        );
        parses_to::<Mark>(
            "mark",
            &[("mark", Some("5/0xff"), true)],
            1,
            "05000000ff0000000100000000000000",
        );
        assert!(Mark::decode(1, Family::Ipv4, &[0; 12]).is_err());
        assert!(Mark::decode(1, Family::Ipv4, &unhex("05000000ff0000000200000000000000")).is_err());
        assert_eq!(Mark::decode(0, Family::Ipv4, &[0; 24]), Ok(None));
    }

    #[test]
    fn mark_match_errors() {
        assert_eq!(
            parse::<Mark>(V4, "mark", &[]).map(|_| ()),
            Err("mark: option \"--mark\" must be specified".into())
        );
        assert_eq!(
            parse::<Mark>(
                V4,
                "mark",
                &[("mark", Some("1"), false), ("mark", Some("2"), false)]
            )
            .map(|_| ()),
            Err("mark: option \"--mark\" can only be used once.".into())
        );
        assert!(parse::<Mark>(V4, "mark", &[("mark", Some("nope"), false)]).is_err());
    }

    #[test]
    fn mark_target_captures() {
        for (args, data, text) in [
            (
                ("set-mark", "0x7"),
                "07000000ffffffff",
                " --set-xmark 0x7/0xffffffff",
            ),
            (
                ("set-xmark", "0x7/0xf"),
                "070000000f000000",
                " --set-xmark 0x7/0xf",
            ),
            (
                ("and-mark", "0xf0"),
                "000000000fffffff",
                " --set-xmark 0x0/0xffffff0f",
            ),
            (
                ("or-mark", "0x3"),
                "0300000003000000",
                " --set-xmark 0x3/0x3",
            ),
            (
                ("xor-mark", "0x3"),
                "0300000000000000",
                " --set-xmark 0x3/0x0",
            ),
            (
                ("set-mark", "5/0xff"),
                "05000000ff000000",
                " --set-xmark 0x5/0xff",
            ),
        ] {
            roundtrip::<MarkTarget>(2, Family::Ipv4, data, text);
            parses_to::<MarkTarget>("MARK", &[(args.0, Some(args.1), false)], 2, data);
        }
    }

    #[test]
    fn mark_target_errors() {
        let p = |a: &[(&str, Option<&str>, bool)]| parse::<MarkTarget>(V4, "MARK", a).map(|_| ());
        assert_eq!(
            p(&[]),
            Err("MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required".into())
        );
        assert_eq!(
            p(&[
                ("set-mark", Some("1"), false),
                ("and-mark", Some("2"), false)
            ]),
            Err("MARK: option \"--set-mark\" cannot be used together with \"--and-mark\".".into())
        );
        assert_eq!(
            p(&[("set-mark", Some("1"), true)]),
            Err("MARK: option \"--set-mark\" cannot be inverted.".into())
        );
        assert_eq!(
            p(&[("and-mark", Some("1/2"), false)]),
            Err(
                "MARK: bad value for option \"--and-mark\", or out of range (0-4294967295).".into()
            )
        );
    }

    #[test]
    fn old_mark_revisions() {
        let mut v0 = vec![0x2a, 0, 0, 0, 0, 0, 0, 0];
        let t = MarkTarget::decode(0, Family::Ipv4, &v0)
            .expect("ok")
            .expect("typed");
        assert_eq!(t.encode(0, Family::Ipv4), v0);
        assert_eq!(save(&t, Family::Ipv4), " --set-mark 0x2a");
        v0.extend([2, 0, 0, 0, 0, 0, 0, 0]);
        let t = MarkTarget::decode(1, Family::Ipv4, &v0)
            .expect("ok")
            .expect("typed");
        assert_eq!(t.encode(1, Family::Ipv4), v0);
        assert_eq!(save(&t, Family::Ipv4), " --or-mark 0x2a");
        assert_eq!(MarkTarget::decode(1, Family::Ipv6, &v0), Ok(None));
        assert!(MarkTarget::decode(1, Family::Ipv4, &v0[..8]).is_err());
    }
}
