//! `LOG` target, revision 0 (`xt_log_info`: level, flags, 30-byte prefix).

use super::options::{self, Seen};
use super::parse::{parse_uint, xt_opt, OptSpec, Parse, ParseCtx};
use super::text;
use super::Payload;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::{
    xt_log_info, XT_LOG_IPOPT, XT_LOG_MACDECODE, XT_LOG_TCPOPT, XT_LOG_TCPSEQ, XT_LOG_UID,
};
use serde::Serialize;

/// The level iptables leaves out of `iptables-save` (`LOG_WARNING`).
pub const LOG_DEFAULT_LEVEL: u8 = 4;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Log {
    /// Syslog level 0–7.
    pub level: u8,
    /// `XT_LOG_*` bits.
    pub logflags: u8,
    pub prefix: String,
    #[serde(skip)]
    seen: Seen,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            level: LOG_DEFAULT_LEVEL,
            logflags: 0,
            prefix: String::new(),
            seen: Seen::default(),
        }
    }
}

impl Codec for Log {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 0 {
            return Ok(None);
        }
        let l: xt_log_info = read_payload("LOG", 0, data)?;
        Ok(Some(Log {
            level: l.level,
            logflags: l.logflags,
            prefix: text::c_string(&l.prefix),
            seen: Seen::default(),
        }))
    }

    fn encode(&self, _: u8, _: Family) -> Payload {
        write_payload(&xt_log_info {
            level: self.level,
            logflags: self.logflags,
            prefix: text::c_field(&self.prefix),
        })
    }

    /// libxt_LOG's `LOG_save`.
    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        if !self.prefix.is_empty() {
            out.push_str(" --log-prefix");
            text::save_string(out, &self.prefix);
        }
        if self.level != LOG_DEFAULT_LEVEL {
            out.push_str(" --log-level ");
            out.push_str(&self.level.to_string());
        }
        for (bit, option) in [
            (XT_LOG_TCPSEQ, " --log-tcp-sequence"),
            (XT_LOG_TCPOPT, " --log-tcp-options"),
            (XT_LOG_IPOPT, " --log-ip-options"),
            (XT_LOG_UID, " --log-uid"),
            (XT_LOG_MACDECODE, " --log-macdecode"),
        ] {
            if self.logflags & bit != 0 {
                out.push_str(option);
            }
        }
    }
}

/// libxtables' `XTTYPE_SYSLOGLEVEL`: 0–7 (strtoul base 0) or a name.
fn parse_level(arg: &str) -> Result<u8, String> {
    if let Ok(n) = parse_uint(arg, 7) {
        return Ok(n as u8);
    }
    Ok(match arg {
        "emerg" | "panic" => 0,
        "alert" => 1,
        "crit" => 2,
        "error" => 3,
        "warning" => 4,
        "notice" => 5,
        "info" => 6,
        "debug" => 7,
        _ => return Err(format!("log level \"{arg}\" unknown")),
    })
}

const O_LOG_LEVEL: u8 = 6;
const O_LOG_PREFIX: u8 = 7;

impl Parse for Log {
    // libxt_LOG's ids; a flag option's id is its XT_LOG_* bit number.
    const OPTIONS: &'static [OptSpec] = &[
        xt_opt("log-level", O_LOG_LEVEL, true, 0, 0),
        xt_opt("log-prefix", O_LOG_PREFIX, true, 0, 0),
        xt_opt("log-tcp-sequence", 0, false, 0, 0),
        xt_opt("log-tcp-options", 1, false, 0, 0),
        xt_opt("log-ip-options", 2, false, 0, 0),
        xt_opt("log-uid", 3, false, 0, 0),
        xt_opt("log-macdecode", 5, false, 0, 0),
    ];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Log::default()
    }

    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let (entry, arg) = self.seen.take("LOG", Self::OPTIONS, name, arg, invert)?;
        match entry.id {
            O_LOG_LEVEL => self.level = parse_level(arg)?,
            O_LOG_PREFIX => {
                if arg.is_empty() {
                    return Err("Argument must have a minimum length of 1 characters".into());
                }
                // Silently cut to what fits `xt_log_info.prefix`.
                self.prefix = options::put_string(arg, 30);
                if arg.contains('\n') {
                    return Err("Newlines not allowed in --log-prefix".into());
                }
            }
            bit => self.logflags |= 1 << bit,
        }
        Ok(())
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{self, captured, unhex, V4, V6};

    /// `-j LOG OPTS…`, which is always revision 0.
    fn parse(opts: &[(&str, Option<&str>, bool)]) -> Result<Log, String> {
        let (l, rev) = testing::parse::<Log>(V4, "LOG", opts)?;
        assert_eq!(rev, 0);
        Ok(l)
    }

    fn save(l: &Log) -> String {
        testing::save(l, Family::Ipv4)
    }

    #[test]
    fn prefix_level_uid_matches_capture() {
        // iptables 1.8.9: -j LOG --log-prefix "hi there" --log-level 7 --log-uid
        let bytes = unhex("0708686920746865726500000000000000000000000000000000000000000000");
        let l = Log::decode(0, Family::Ipv4, &bytes).unwrap().unwrap();
        assert_eq!(l.encode(0, Family::Ipv4), bytes);
        assert_eq!(
            save(&l),
            " --log-prefix \"hi there\" --log-level 7 --log-uid"
        );
        let p = parse(&[
            ("log-prefix", Some("hi there"), false),
            ("log-level", Some("debug"), false),
            ("log-uid", None, false),
        ])
        .unwrap();
        assert_eq!(p.encode(0, Family::Ipv4), bytes);
    }

    #[test]
    fn levels_flags_and_errors() {
        let l = parse(&[
            ("log-level", Some("0x3"), false),
            ("log-tcp-sequence", None, false),
            ("log-tcp-options", None, false),
            ("log-ip-options", None, false),
            ("log-macdecode", None, false),
        ])
        .unwrap();
        assert_eq!((l.level, l.logflags), (3, 0x27));
        assert_eq!(
            save(&l),
            " --log-level 3 --log-tcp-sequence --log-tcp-options --log-ip-options --log-macdecode"
        );
        assert_eq!(
            parse(&[("log-level", Some("warning"), false)]).unwrap(),
            Log::default()
        );
        assert_eq!(save(&Log::default()), "");
        assert_eq!(
            parse(&[("log-level", Some("8"), false)]).unwrap_err(),
            "log level \"8\" unknown"
        );
        assert_eq!(
            parse(&[("log-uid", None, true)]).unwrap_err(),
            "LOG: option \"--log-uid\" cannot be inverted."
        );
        assert_eq!(
            parse(&[("log-prefix", Some("a\nb"), false)]).unwrap_err(),
            "Newlines not allowed in --log-prefix"
        );
        let long = parse(&[("log-prefix", Some(&"x".repeat(40)), false)]).unwrap();
        assert_eq!(long.prefix.len(), 29);
    }

    /// iptables 1.8.9: `-j LOG --log-level 0+5` fails with this message.
    #[test]
    fn level_numbers_end_where_strtoul_stops() {
        assert_eq!(
            parse(&[("log-level", Some("0+5"), false)]).unwrap_err(),
            "log level \"0+5\" unknown"
        );
    }

    /// iptables 1.8.9 cuts the prefix at 29 bytes even inside a UTF-8
    /// character: for 28 `a` and `é` it stores the `é`'s first byte.
    #[test]
    fn prefix_cut_inside_a_character_keeps_its_first_byte() {
        let arg = format!("{}é", "a".repeat(28));
        let l = parse(&[("log-prefix", Some(&arg), false)]).unwrap();
        let mut want = vec![4, 0];
        want.extend([b'a'; 28]);
        want.extend([0xc3, 0]);
        assert_eq!(l.encode(0, Family::Ipv4), want);
    }

    #[test]
    fn quoting_flags_and_truncation_match_captures() {
        captured::<Log>(
            V4,
            "LOG",
            &[
                ("log-level", Some("alert"), false),
                ("log-prefix", Some("a\"b\\c'd "), false),
                ("log-tcp-sequence", None, false),
                ("log-tcp-options", None, false),
                ("log-ip-options", None, false),
                ("log-macdecode", None, false),
            ],
            0,
            "01276122625c6327642000000000000000000000000000000000000000000000",
            " --log-prefix \"a\\\"b\\\\c\\'d \" --log-level 1 --log-tcp-sequence \
             --log-tcp-options --log-ip-options --log-macdecode",
        );
        captured::<Log>(
            V6,
            "LOG",
            &[(
                "log-prefix",
                Some("0123456789012345678901234567890123456789"),
                false,
            )],
            0,
            "0400303132333435363738393031323334353637383930313233343536373800",
            " --log-prefix 01234567890123456789012345678",
        );
    }
}
