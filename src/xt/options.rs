//! libxtables' option handling for the extensions declared with option
//! tables ([`OptSpec`] entries built by `xt_opt`): what
//! `xtables_option_parse` and `xtables_options_fcheck` enforce ([`Seen`]:
//! an option given twice, `!` before an option that takes none, a missing
//! argument, a mandatory option left out, two exclusive options together)
//! and the `XTTYPE_*` argument readers several extensions share. Messages
//! are iptables 1.8.9's (without the trailing newline).

use super::parse::{strtoul_full, strtoul_prefix, Arg, OptSpec, INVERT, MAND, MULTI};

/// The options seen so far (`xflags`). Parse bookkeeping only: it is
/// neither serialised nor compared (two values are equal whatever
/// options built them).
#[derive(Debug, Clone, Copy, Default)]
pub struct Seen(pub u32);

impl PartialEq for Seen {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Seen {}

fn canonical(table: &[OptSpec], id: u8) -> Option<&OptSpec> {
    table.iter().find(|e| e.id == id)
}

impl Seen {
    pub fn any(&self) -> bool {
        self.0 != 0
    }

    /// Looks `name` up and applies `xtables_option_parse`'s checks;
    /// returns the entry and the argument ("" for options without).
    pub fn take<'a, 'b>(
        &mut self,
        ext: &str,
        table: &'a [OptSpec],
        name: &str,
        arg: Option<&'b str>,
        invert: bool,
    ) -> Result<(&'a OptSpec, &'b str), String> {
        let found = table
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| format!("unknown option --{name}"))?;
        let entry = canonical(table, found.id).unwrap_or(found);
        let bit = 1u32 << entry.id;
        if (entry.flags & MULTI == 0 || entry.excl & bit != 0) && self.0 & bit != 0 {
            return Err(format!(
                "{ext}: option \"--{}\" can only be used once.",
                entry.name
            ));
        }
        if invert && entry.flags & INVERT == 0 {
            return Err(format!(
                "{ext}: option \"--{}\" cannot be inverted.",
                entry.name
            ));
        }
        let arg = match (entry.arg, arg) {
            (Arg::None, _) | (Arg::Optional, None) => "",
            (_, Some(a)) => a,
            (_, None) => {
                return Err(format!(
                    "{ext}: option \"--{}\" requires an argument.",
                    entry.name
                ))
            }
        };
        self.0 |= bit;
        Ok((entry, arg))
    }

    /// `xtables_options_fcheck`: mandatory options and exclusions.
    pub fn check(&self, ext: &str, table: &[OptSpec]) -> Result<(), String> {
        for entry in table {
            let bit = 1u32 << entry.id;
            if entry.flags & MAND != 0 && self.0 & bit == 0 {
                return Err(format!(
                    "{ext}: option \"--{}\" must be specified",
                    entry.name
                ));
            }
            // Only an option that excludes others can clash.
            if self.0 & bit == 0 || entry.excl == 0 {
                continue;
            }
            for i in 0..32u8 {
                if i == entry.id {
                    continue;
                }
                let Some(other) = canonical(table, i) else {
                    continue;
                };
                let of = 1u32 << i;
                if entry.excl & of != 0 && self.0 & (bit | of) == bit | of {
                    return Err(format!(
                        "{ext}: option \"--{}\" cannot be used together with \"--{}\".",
                        entry.name, other.name
                    ));
                }
            }
        }
        Ok(())
    }
}

/// `XTTYPE_STRING` with `XTOPT_PUT` into a C string field of `size` bytes:
/// the kernel gets at most `size - 1` bytes, cut wherever that falls. When
/// the cut would split a UTF-8 character the text is kept whole (a
/// `String` cannot end in half a character) and `text::c_field` makes the
/// same byte cut when encoding, so the payload is still iptables'.
pub fn put_string(arg: &str, size: usize) -> String {
    let max = size - 1;
    if arg.len() > max && arg.is_char_boundary(max) {
        arg[..max].to_string()
    } else {
        arg.to_string()
    }
}

/// `xtopt_parse_int` for `XTTYPE_UINT32` (range `min..=max`).
pub fn uint(ext: &str, name: &str, arg: &str, min: u64, max: u64) -> Result<u64, String> {
    match strtoul_full(arg) {
        Some(v) if v >= min && v <= max => Ok(v),
        _ => Err(format!(
            "{ext}: bad value for option \"--{name}\", or out of range ({min}-{max})."
        )),
    }
}

/// `xtables_parse_mark_mask` (`XTTYPE_MARKMASK32`): `value[/mask]`,
/// mask all ones when absent.
pub fn mark_mask(ext: &str, name: &str, arg: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{ext}: bad integer value for option \"--{name}\", or out of range.");
    let garbage = || format!("{ext}: trailing garbage after value for option \"--{name}\".");
    let u32_of = |v: Option<u64>| v.filter(|v| *v <= u64::from(u32::MAX)).map(|v| v as u32);
    let (v, rest) = strtoul_prefix(arg).ok_or_else(bad)?;
    let value = u32_of(v).ok_or_else(bad)?;
    if rest.is_empty() {
        return Ok((value, u32::MAX));
    }
    let Some(m) = rest.strip_prefix('/') else {
        return Err(garbage());
    };
    let (m, rest) = strtoul_prefix(m).ok_or_else(bad)?;
    let mask = u32_of(m).ok_or_else(bad)?;
    if !rest.is_empty() {
        return Err(garbage());
    }
    Ok((value, mask))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::parse::xt_opt;

    #[test]
    fn marks_and_masks() {
        assert_eq!(mark_mask("m", "mark", "5"), Ok((5, u32::MAX)));
        assert_eq!(mark_mask("m", "mark", "0x5/0xff"), Ok((5, 0xff)));
        assert_eq!(mark_mask("m", "mark", "4294967295/0"), Ok((u32::MAX, 0)));
        assert_eq!(
            mark_mask("m", "mark", "5x"),
            Err("m: trailing garbage after value for option \"--mark\".".into())
        );
        assert!(mark_mask("m", "mark", "5/").is_err());
        assert!(mark_mask("m", "mark", "5/1x").is_err());
        assert!(mark_mask("m", "mark", "4294967296").is_err());
        assert!(mark_mask("m", "mark", "").is_err());
    }

    #[test]
    fn once_invert_and_exclusions() {
        const T: &[OptSpec] = &[
            xt_opt("source-ports", 0, true, INVERT, 3),
            xt_opt("sports", 0, true, INVERT, 3),
            xt_opt("dports", 1, true, 0, 3),
            xt_opt("must", 2, false, MAND, 0),
        ];
        let mut s = Seen::default();
        assert_eq!(s.take("x", T, "sports", Some("1"), true), Ok((&T[0], "1")));
        assert_eq!(
            s.take("x", T, "sports", Some("1"), false),
            Err("x: option \"--source-ports\" can only be used once.".into())
        );
        assert_eq!(
            s.take("x", T, "dports", Some("1"), true),
            Err("x: option \"--dports\" cannot be inverted.".into())
        );
        assert!(s.take("x", T, "dports", None, false).is_err());
        assert!(s.take("x", T, "dports", Some("2"), false).is_ok());
        assert_eq!(
            s.check("x", T),
            Err("x: option \"--source-ports\" cannot be used together with \"--dports\".".into())
        );
        let s = Seen(1);
        assert_eq!(
            s.check("x", T),
            Err("x: option \"--must\" must be specified".into())
        );
        assert!(Seen(4).check("x", T).is_ok());
    }
}
