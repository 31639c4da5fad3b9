//! `connmark` match (revision 1, `xt_connmark_mtinfo1`) and `CONNMARK`
//! target (revisions 1 and 2, `xt_connmark_tginfo1` / `_tginfo2`; 2 adds
//! the shift and is what iptables 1.8.9 writes on current kernels).

use super::mark::save_mark_mask;
use super::options::{self, Seen};
use super::parse::{xt_opt, OptSpec, Parse, ParseCtx, INVERT, MAND};
use super::Payload;
use super::{invert_flag, read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::{
    xt_connmark_mtinfo1, xt_connmark_tginfo1, xt_connmark_tginfo2, D_SHIFT_LEFT, D_SHIFT_RIGHT,
    XT_CONNMARK_RESTORE, XT_CONNMARK_SAVE, XT_CONNMARK_SET,
};
use serde::Serialize;
use std::fmt::Write;

/// `connmark` match: `(ctmark & mask) == mark`, inverted by `!`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Connmark {
    pub mark: u32,
    pub mask: u32,
    pub invert: bool,
    /// Parse bookkeeping: the options seen (not serialised, ignored by
    /// equality).
    #[serde(skip)]
    pub(crate) seen: Seen,
}

impl Codec for Connmark {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 1 {
            return Ok(None);
        }
        let m: xt_connmark_mtinfo1 = read_payload("connmark", 1, data)?;
        let invert = invert_flag("connmark", 1, m.invert)?;
        Ok(Some(Connmark {
            mark: m.mark,
            mask: m.mask,
            invert,
            seen: Seen::default(),
        }))
    }

    fn encode(&self, _: u8, _: Family) -> Payload {
        write_payload(&xt_connmark_mtinfo1 {
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

impl Parse for Connmark {
    const OPTIONS: &'static [OptSpec] = &[xt_opt("mark", 0, true, MAND | INVERT, 0)];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Connmark::default()
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let (_, arg) = self
            .seen
            .take("connmark", Self::OPTIONS, name, arg, invert)?;
        (self.mark, self.mask) = options::mark_mask("connmark", "mark", arg)?;
        if invert {
            self.invert = true;
        }
        Ok(())
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        self.seen.check("connmark", Self::OPTIONS)?;
        Ok(1)
    }
}

/// `CONNMARK` target, both revisions in revision 2's terms (revision 1
/// has no shift: `shift_dir`/`shift_bits` are 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnmarkTarget {
    /// `XT_CONNMARK_SET` 0, `SAVE` 1, `RESTORE` 2.
    pub mode: u8,
    pub ctmark: u32,
    pub ctmask: u32,
    pub nfmask: u32,
    /// `D_SHIFT_LEFT` 0, `D_SHIFT_RIGHT` 1.
    pub shift_dir: u8,
    pub shift_bits: u8,
    /// Parse bookkeeping: the options seen (not serialised, ignored by
    /// equality).
    #[serde(skip)]
    pub(crate) seen: Seen,
}

impl Default for ConnmarkTarget {
    /// `connmark_tg_init_v2`: both masks all ones, no shift.
    fn default() -> Self {
        ConnmarkTarget {
            mode: XT_CONNMARK_SET,
            ctmark: 0,
            ctmask: u32::MAX,
            nfmask: u32::MAX,
            shift_dir: D_SHIFT_LEFT,
            shift_bits: 0,
            seen: Seen::default(),
        }
    }
}

impl Codec for ConnmarkTarget {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        let t = match revision {
            1 => {
                let t: xt_connmark_tginfo1 = read_payload("CONNMARK", 1, data)?;
                ConnmarkTarget {
                    mode: t.mode,
                    ctmark: t.ctmark,
                    ctmask: t.ctmask,
                    nfmask: t.nfmask,
                    shift_dir: 0,
                    shift_bits: 0,
                    seen: Seen::default(),
                }
            }
            2 => {
                let t: xt_connmark_tginfo2 = read_payload("CONNMARK", 2, data)?;
                // libxt_CONNMARK indexes its two shift names with shift_dir.
                if t.shift_dir > D_SHIFT_RIGHT && t.shift_bits != 0 && t.mode <= XT_CONNMARK_RESTORE
                {
                    return Err(XtError::new(
                        "CONNMARK",
                        2,
                        format!("shift direction {}", t.shift_dir),
                    ));
                }
                ConnmarkTarget {
                    mode: t.mode,
                    ctmark: t.ctmark,
                    ctmask: t.ctmask,
                    nfmask: t.nfmask,
                    shift_dir: t.shift_dir,
                    shift_bits: t.shift_bits,
                    seen: Seen::default(),
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(t))
    }

    fn encode(&self, revision: u8, _: Family) -> Payload {
        if revision == 1 {
            return write_payload(&xt_connmark_tginfo1 {
                ctmark: self.ctmark,
                ctmask: self.ctmask,
                nfmask: self.nfmask,
                mode: self.mode,
                _pad: [0; 3],
            });
        }
        write_payload(&xt_connmark_tginfo2 {
            ctmark: self.ctmark,
            ctmask: self.ctmask,
            nfmask: self.nfmask,
            shift_dir: self.shift_dir,
            shift_bits: self.shift_bits,
            mode: self.mode,
            _pad: [0; 1],
        })
    }

    /// `connmark_tg_save_v2` (revision 1 prints the same, never a shift).
    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        match self.mode {
            XT_CONNMARK_SET => {
                let _ = write!(out, " --set-xmark {:#x}/{:#x}", self.ctmark, self.ctmask);
            }
            XT_CONNMARK_SAVE => {
                let _ = write!(
                    out,
                    " --save-mark --nfmask {:#x} --ctmask {:#x}",
                    self.nfmask, self.ctmask
                );
            }
            XT_CONNMARK_RESTORE => {
                let _ = write!(
                    out,
                    " --restore-mark --nfmask {:#x} --ctmask {:#x}",
                    self.nfmask, self.ctmask
                );
            }
            _ => out.push_str(" ERROR: UNKNOWN CONNMARK MODE"),
        }
        if self.mode <= XT_CONNMARK_RESTORE && self.shift_bits != 0 {
            let op = if self.shift_dir == D_SHIFT_RIGHT {
                "right-shift-mark"
            } else {
                "left-shift-mark"
            };
            let _ = write!(out, " --{op} {}", self.shift_bits);
        }
    }
}

// libxt_CONNMARK's ids.
const O_SET_MARK: u8 = 0;
const O_SAVE_MARK: u8 = 1;
const O_RESTORE_MARK: u8 = 2;
const O_AND_MARK: u8 = 3;
const O_OR_MARK: u8 = 4;
const O_XOR_MARK: u8 = 5;
const O_LEFT_SHIFT_MARK: u8 = 6;
const O_RIGHT_SHIFT_MARK: u8 = 7;
const O_SET_XMARK: u8 = 8;
const O_CTMASK: u8 = 9;
const O_NFMASK: u8 = 10;
const O_MASK: u8 = 11;
const F_OP_ANY: u32 = 1 << O_SET_MARK
    | 1 << O_SAVE_MARK
    | 1 << O_RESTORE_MARK
    | 1 << O_AND_MARK
    | 1 << O_OR_MARK
    | 1 << O_XOR_MARK
    | 1 << O_SET_XMARK;

impl Parse for ConnmarkTarget {
    /// `connmark_tg_opts_v2`, in its order.
    const OPTIONS: &'static [OptSpec] = &[
        xt_opt("set-xmark", O_SET_XMARK, true, 0, F_OP_ANY),
        xt_opt("set-mark", O_SET_MARK, true, 0, F_OP_ANY),
        xt_opt("and-mark", O_AND_MARK, true, 0, F_OP_ANY),
        xt_opt("or-mark", O_OR_MARK, true, 0, F_OP_ANY),
        xt_opt("xor-mark", O_XOR_MARK, true, 0, F_OP_ANY),
        xt_opt("save-mark", O_SAVE_MARK, false, 0, F_OP_ANY),
        xt_opt("restore-mark", O_RESTORE_MARK, false, 0, F_OP_ANY),
        xt_opt("left-shift-mark", O_LEFT_SHIFT_MARK, true, 0, 0),
        xt_opt("right-shift-mark", O_RIGHT_SHIFT_MARK, true, 0, 0),
        xt_opt("ctmask", O_CTMASK, true, 0, 1 << O_MASK),
        xt_opt("nfmask", O_NFMASK, true, 0, 1 << O_MASK),
        xt_opt("mask", O_MASK, true, 0, 1 << O_CTMASK | 1 << O_NFMASK),
    ];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        ConnmarkTarget::default()
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        const EXT: &str = "CONNMARK";
        let (entry, arg) = self.seen.take(EXT, Self::OPTIONS, name, arg, invert)?;
        let int = || options::uint(EXT, entry.name, arg, 0, u64::from(u32::MAX)).map(|v| v as u32);
        match entry.id {
            O_SET_XMARK => {
                self.mode = XT_CONNMARK_SET;
                (self.ctmark, self.ctmask) = options::mark_mask(EXT, entry.name, arg)?;
            }
            O_SET_MARK => {
                let (mark, mask) = options::mark_mask(EXT, entry.name, arg)?;
                self.mode = XT_CONNMARK_SET;
                self.ctmark = mark;
                self.ctmask = mark | mask;
            }
            O_AND_MARK => {
                let v = int()?;
                self.mode = XT_CONNMARK_SET;
                self.ctmark = 0;
                self.ctmask = !v;
            }
            O_OR_MARK => {
                let v = int()?;
                self.mode = XT_CONNMARK_SET;
                self.ctmark = v;
                self.ctmask = v;
            }
            O_XOR_MARK => {
                let v = int()?;
                self.mode = XT_CONNMARK_SET;
                self.ctmark = v;
                self.ctmask = 0;
            }
            O_SAVE_MARK => self.mode = XT_CONNMARK_SAVE,
            O_RESTORE_MARK => self.mode = XT_CONNMARK_RESTORE,
            O_CTMASK => self.ctmask = int()?,
            O_NFMASK => self.nfmask = int()?,
            O_MASK => {
                let v = int()?;
                self.ctmask = v;
                self.nfmask = v;
            }
            O_LEFT_SHIFT_MARK | O_RIGHT_SHIFT_MARK => {
                self.shift_bits = options::uint(EXT, entry.name, arg, 0, 32)? as u8;
                self.shift_dir = if entry.id == O_LEFT_SHIFT_MARK {
                    D_SHIFT_LEFT
                } else {
                    D_SHIFT_RIGHT
                };
            }
            _ => return Err(format!("unknown option --{name}")),
        }
        Ok(())
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        if self.seen.0 & F_OP_ANY == 0 {
            return Err("CONNMARK target: No operation specified".into());
        }
        self.seen.check("CONNMARK", Self::OPTIONS)?;
        Ok(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{parse, roundtrip, unhex, V4};

    type Args<'a> = &'a [(&'a str, Option<&'a str>, bool)];

    fn parsed<T: Parse + Codec>(ext: &str, args: Args<'_>) -> Result<(Vec<u8>, u8), String> {
        parse::<T>(V4, ext, args).map(|(v, r)| (v.encode(r, Family::Ipv4).to_vec(), r))
    }

    // Payloads captured from iptables 1.8.9 (legacy and nft identical).
    #[test]
    fn connmark_match_captures() {
        roundtrip::<Connmark>(
            1,
            Family::Ipv4,
            "01000000ffffffff0000000000000000",
            " --mark 0x1",
        );
        roundtrip::<Connmark>(
            1,
            Family::Ipv6,
            "01000000030000000100000000000000",
            " ! --mark 0x1/0x3",
        );
        assert_eq!(
            parsed::<Connmark>("connmark", &[("mark", Some("1/3"), true)]),
            Ok((unhex("01000000030000000100000000000000"), 1))
        );
        assert_eq!(
            parsed::<Connmark>("connmark", &[]),
            Err("connmark: option \"--mark\" must be specified".into())
        );
    }

    #[test]
    fn connmark_target_captures() {
        let cases: &[(Args<'_>, &str, &str)] = &[
            (
                &[("set-mark", Some("3"), false)],
                "03000000ffffffffffffffff00000000",
                " --set-xmark 0x3/0xffffffff",
            ),
            (
                &[("save-mark", None, false)],
                "00000000ffffffffffffffff00000100",
                " --save-mark --nfmask 0xffffffff --ctmask 0xffffffff",
            ),
            (
                &[("restore-mark", None, false), ("mask", Some("0xff"), false)],
                "00000000ff000000ff00000000000200",
                " --restore-mark --nfmask 0xff --ctmask 0xff",
            ),
            (
                &[
                    ("save-mark", None, false),
                    ("nfmask", Some("0xf"), false),
                    ("ctmask", Some("0xf0"), false),
                ],
                "00000000f00000000f00000000000100",
                " --save-mark --nfmask 0xf --ctmask 0xf0",
            ),
            (
                &[("set-xmark", Some("1/2"), false)],
                "0100000002000000ffffffff00000000",
                " --set-xmark 0x1/0x2",
            ),
            (
                &[("and-mark", Some("1"), false)],
                "00000000feffffffffffffff00000000",
                " --set-xmark 0x0/0xfffffffe",
            ),
            (
                &[("or-mark", Some("1"), false)],
                "0100000001000000ffffffff00000000",
                " --set-xmark 0x1/0x1",
            ),
            (
                &[("xor-mark", Some("1"), false)],
                "0100000000000000ffffffff00000000",
                " --set-xmark 0x1/0x0",
            ),
            (
                &[
                    ("restore-mark", None, false),
                    ("left-shift-mark", Some("3"), false),
                ],
                "00000000ffffffffffffffff00030200",
                " --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff --left-shift-mark 3",
            ),
            (
                &[
                    ("save-mark", None, false),
                    ("right-shift-mark", Some("8"), false),
                    ("mask", Some("0xff00"), false),
                ],
                "0000000000ff000000ff000001080100",
                " --save-mark --nfmask 0xff00 --ctmask 0xff00 --right-shift-mark 8",
            ),
        ];
        for (args, data, text) in cases {
            roundtrip::<ConnmarkTarget>(2, Family::Ipv4, data, text);
            assert_eq!(
                parsed::<ConnmarkTarget>("CONNMARK", args),
                Ok((unhex(data), 2)),
                "{args:?}"
            );
        }
    }

    #[test]
    fn connmark_target_revision_1_and_oddities() {
        let data = "00000000ff000000ff00000002000000";
        let t: ConnmarkTarget = roundtrip(
            1,
            Family::Ipv4,
            data,
            " --restore-mark --nfmask 0xff --ctmask 0xff",
        );
        assert_eq!(t.shift_bits, 0);
        roundtrip::<ConnmarkTarget>(
            2,
            Family::Ipv4,
            "00000000000000000000000000050700",
            " ERROR: UNKNOWN CONNMARK MODE",
        );
        assert!(ConnmarkTarget::decode(
            2,
            Family::Ipv4,
            &unhex("00000000000000000000000002050000")
        )
        .is_err());
        assert_eq!(ConnmarkTarget::decode(0, Family::Ipv4, &[0; 24]), Ok(None));
    }

    #[test]
    fn connmark_target_errors() {
        assert_eq!(
            parsed::<ConnmarkTarget>("CONNMARK", &[("mask", Some("1"), false)]),
            Err("CONNMARK target: No operation specified".into())
        );
        assert_eq!(
            parsed::<ConnmarkTarget>(
                "CONNMARK",
                &[
                    ("save-mark", None, false),
                    ("mask", Some("1"), false),
                    ("ctmask", Some("1"), false)
                ]
            ),
            Err("CONNMARK: option \"--ctmask\" cannot be used together with \"--mask\".".into())
        );
        assert_eq!(
            parsed::<ConnmarkTarget>(
                "CONNMARK",
                &[
                    ("save-mark", None, false),
                    ("left-shift-mark", Some("33"), false)
                ]
            ),
            Err(
                "CONNMARK: bad value for option \"--left-shift-mark\", or out of range (0-32)."
                    .into()
            )
        );
        assert!(parsed::<ConnmarkTarget>(
            "CONNMARK",
            &[("save-mark", None, false), ("restore-mark", None, false)]
        )
        .is_err());
    }
}
