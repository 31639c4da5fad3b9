//! `physdev` match, revision 0 (`xt_physdev_info`): bridge port names with
//! interface-style masks, and the is-in/is-out/is-bridged tests.

use super::options::Seen;
use super::parse::{xt_opt, OptSpec, Parse, ParseCtx, INVERT};
use super::text;
use super::Payload;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::netfilter::IFNAMSIZ;
use nfdoctor_sys::xt::{
    xt_physdev_info, XT_PHYSDEV_OP_BRIDGED, XT_PHYSDEV_OP_IN, XT_PHYSDEV_OP_ISIN,
    XT_PHYSDEV_OP_ISOUT, XT_PHYSDEV_OP_OUT,
};
use serde::{Serialize, Serializer};

fn hex<S: Serializer>(bytes: &[u8; IFNAMSIZ], s: S) -> Result<S::Ok, S::Error> {
    let mut out = String::with_capacity(2 * IFNAMSIZ);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    s.serialize_str(&out)
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Physdev {
    pub physindev: String,
    /// Bytes compared, as an interface mask (`ff` per significant byte).
    #[serde(serialize_with = "hex")]
    pub in_mask: [u8; IFNAMSIZ],
    pub physoutdev: String,
    #[serde(serialize_with = "hex")]
    pub out_mask: [u8; IFNAMSIZ],
    /// `XT_PHYSDEV_OP_*` bits that are inverted.
    pub invert: u8,
    /// `XT_PHYSDEV_OP_*` bits that are tested.
    pub bitmask: u8,
    #[serde(skip)]
    seen: Seen,
}

fn name_field(name: &str) -> [u8; IFNAMSIZ] {
    let mut f = [0u8; IFNAMSIZ];
    let b = name.as_bytes();
    let n = b.len().min(IFNAMSIZ);
    f[..n].copy_from_slice(&b[..n]);
    f
}

impl Codec for Physdev {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 0 {
            return Ok(None);
        }
        let p: xt_physdev_info = read_payload("physdev", 0, data)?;
        Ok(Some(Physdev {
            physindev: text::c_string(&p.physindev),
            in_mask: p.in_mask,
            physoutdev: text::c_string(&p.physoutdev),
            out_mask: p.out_mask,
            invert: p.invert,
            bitmask: p.bitmask,
            seen: Seen::default(),
        }))
    }

    fn encode(&self, _: u8, _: Family) -> Payload {
        write_payload(&xt_physdev_info {
            physindev: name_field(&self.physindev),
            in_mask: self.in_mask,
            physoutdev: name_field(&self.physoutdev),
            out_mask: self.out_mask,
            invert: self.invert,
            bitmask: self.bitmask,
        })
    }

    /// libxt_physdev's `physdev_save` (names printed as they are).
    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        let not = |bit: u8| if self.invert & bit != 0 { " !" } else { "" };
        if self.bitmask & XT_PHYSDEV_OP_ISIN != 0 {
            out.push_str(not(XT_PHYSDEV_OP_ISIN));
            out.push_str(" --physdev-is-in");
        }
        if self.bitmask & XT_PHYSDEV_OP_IN != 0 {
            out.push_str(not(XT_PHYSDEV_OP_IN));
            out.push_str(" --physdev-in ");
            out.push_str(&self.physindev);
        }
        if self.bitmask & XT_PHYSDEV_OP_ISOUT != 0 {
            out.push_str(not(XT_PHYSDEV_OP_ISOUT));
            out.push_str(" --physdev-is-out");
        }
        if self.bitmask & XT_PHYSDEV_OP_OUT != 0 {
            out.push_str(not(XT_PHYSDEV_OP_OUT));
            out.push_str(" --physdev-out ");
            out.push_str(&self.physoutdev);
        }
        if self.bitmask & XT_PHYSDEV_OP_BRIDGED != 0 {
            out.push_str(not(XT_PHYSDEV_OP_BRIDGED));
            out.push_str(" --physdev-is-bridged");
        }
    }
}

/// `xtables_parse_interface`: the name, and a mask covering its bytes and
/// the terminating NUL, or only the bytes before a trailing `+`.
pub(crate) fn parse_interface(arg: &str) -> Result<(String, [u8; IFNAMSIZ]), String> {
    if arg.len() + 1 > IFNAMSIZ {
        return Err(format!(
            "interface name `{arg}' must be shorter than IFNAMSIZ ({})",
            IFNAMSIZ - 1
        ));
    }
    let mut mask = [0u8; IFNAMSIZ];
    let n = match arg.strip_suffix('+') {
        Some(prefix) => prefix.len(),
        None if arg.is_empty() => 0,
        None => arg.len() + 1,
    };
    mask[..n].fill(0xff);
    Ok((arg.to_string(), mask))
}

impl Parse for Physdev {
    // libxt_physdev's ids: O_PHYSDEV_IN 0, O_PHYSDEV_OUT 1, O_PHYSDEV_IS_IN 2,
    // O_PHYSDEV_IS_OUT 3, O_PHYSDEV_IS_BRIDGED 4.
    const OPTIONS: &'static [OptSpec] = &[
        xt_opt("physdev-in", 0, true, INVERT, 0),
        xt_opt("physdev-out", 1, true, INVERT, 0),
        xt_opt("physdev-is-in", 2, false, INVERT, 0),
        xt_opt("physdev-is-out", 3, false, INVERT, 0),
        xt_opt("physdev-is-bridged", 4, false, INVERT, 0),
    ];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Physdev::default()
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let (entry, arg) = self
            .seen
            .take("physdev", Self::OPTIONS, name, arg, invert)?;
        let bit = match entry.id {
            0 => XT_PHYSDEV_OP_IN,
            1 => XT_PHYSDEV_OP_OUT,
            2 => XT_PHYSDEV_OP_ISIN,
            3 => XT_PHYSDEV_OP_ISOUT,
            _ => XT_PHYSDEV_OP_BRIDGED,
        };
        match bit {
            XT_PHYSDEV_OP_IN => {
                let (n, m) = parse_interface(arg)?;
                self.physindev = n;
                self.in_mask = m;
            }
            XT_PHYSDEV_OP_OUT => {
                let (n, m) = parse_interface(arg)?;
                self.physoutdev = n;
                self.out_mask = m;
            }
            _ => {}
        }
        if invert {
            self.invert |= bit;
        }
        self.bitmask |= bit;
        Ok(())
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        if !self.seen.any() {
            return Err("PHYSDEV: no physdev option specified".into());
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{captured, parse, V4, V6};

    const NONE: Option<&str> = None;

    #[test]
    fn captured_rules() {
        captured::<Physdev>(
            V4,
            "physdev",
            &[
                ("physdev-in", Some("veth1"), false),
                ("physdev-is-bridged", NONE, false),
            ],
            0,
            "76657468310000000000000000000000ffffffffffff00000000000000000000
             0000000000000000000000000000000000000000000000000000000000000000
             0005000000000000",
            " --physdev-in veth1 --physdev-is-bridged",
        );
        captured::<Physdev>(
            V6,
            "physdev",
            &[
                ("physdev-out", Some("br+"), true),
                ("physdev-is-in", NONE, true),
                ("physdev-is-out", NONE, false),
            ],
            0,
            "0000000000000000000000000000000000000000000000000000000000000000
             62722b00000000000000000000000000ffff0000000000000000000000000000
             0a1a000000000000",
            " ! --physdev-is-in --physdev-is-out ! --physdev-out br+",
        );
        // An empty name matches anything and prints as nothing.
        captured::<Physdev>(
            V4,
            "physdev",
            &[("physdev-in", Some(""), false)],
            0,
            "0000000000000000000000000000000000000000000000000000000000000000
             0000000000000000000000000000000000000000000000000000000000000000
             0001000000000000",
            " --physdev-in ",
        );
    }

    #[test]
    fn errors_like_iptables() {
        let err = |opts: &[(&str, Option<&str>, bool)]| {
            parse::<Physdev>(V4, "physdev", opts).unwrap_err()
        };
        assert_eq!(err(&[]), "PHYSDEV: no physdev option specified");
        assert_eq!(
            err(&[
                ("physdev-in", Some("a"), false),
                ("physdev-in", Some("b"), false)
            ]),
            "physdev: option \"--physdev-in\" can only be used once."
        );
        assert_eq!(
            err(&[("physdev-in", Some("0123456789abcdef"), false)]),
            "interface name `0123456789abcdef' must be shorter than IFNAMSIZ (15)"
        );
    }
}
