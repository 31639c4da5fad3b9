//! `comment` match, revision 0 (`xt_comment_info`: 256 bytes of text).

use super::text;
use super::Payload;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::{xt_comment_info, XT_MAX_COMMENT_LEN};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub text: String,
}

impl Codec for Comment {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 0 {
            return Ok(None);
        }
        let c: xt_comment_info = read_payload("comment", 0, data)?;
        // iptables forces a NUL into the last byte before printing.
        Ok(Some(Comment {
            text: text::c_string(&c.comment[..XT_MAX_COMMENT_LEN - 1]),
        }))
    }

    fn encode(&self, _: u8, _: Family) -> Payload {
        write_payload(&xt_comment_info {
            comment: text::c_field(&self.text),
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        out.push_str(" --comment");
        text::save_string(out, &self.text);
    }
}

// ---- Parsing.

use super::options::{self};
use super::parse::{xt_opt, OptSpec, Parse, ParseCtx, MAND};

/// The text of a value `start` made and no `--comment` filled yet: a
/// command line cannot carry a NUL, so no real comment looks like it.
const UNSET: &str = "\0";

impl Parse for Comment {
    const OPTIONS: &'static [OptSpec] = &[xt_opt("comment", 0, true, MAND, 0)];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Comment {
            text: UNSET.to_string(),
        }
    }

    /// Like iptables, keeps at most 255 bytes (encode cuts there; when
    /// the cut falls inside a UTF-8 character the text is kept whole so the
    /// encoded bytes are still exactly iptables').
    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        let mut seen = options::Seen(u32::from(self.text != UNSET));
        let (_, arg) = seen.take("comment", Self::OPTIONS, name, arg, invert)?;
        self.text = options::put_string(arg, XT_MAX_COMMENT_LEN);
        Ok(())
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        options::Seen(u32::from(self.text != UNSET)).check("comment", Self::OPTIONS)?;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{self, roundtrip, unhex, V4};

    fn padded(text: &str) -> String {
        let mut h: String = text.bytes().map(|b| format!("{b:02x}")).collect();
        h.push_str(&"0".repeat(512 - h.len()));
        h
    }

    fn parse(args: &[(&str, Option<&str>, bool)]) -> Result<Comment, String> {
        testing::parse::<Comment>(V4, "comment", args).map(|(c, rev)| {
            assert_eq!(rev, 0);
            c
        })
    }

    // Payloads captured from iptables 1.8.9 (legacy and nft identical).
    #[test]
    fn captures() {
        for (arg, text) in [
            ("hello world", " --comment \"hello world\""),
            ("plain", " --comment plain"),
        ] {
            roundtrip::<Comment>(0, Family::Ipv4, &padded(arg), text);
            let c = parse(&[("comment", Some(arg), false)]).expect("parses");
            assert_eq!(c.encode(0, Family::Ipv4), unhex(&padded(arg)));
        }
    }

    #[test]
    fn long_and_missing() {
        let long = "a".repeat(300);
        let c = parse(&[("comment", Some(&long), false)]).expect("parses");
        assert_eq!(c.text.len(), 255);
        // A cut inside "é" (2 bytes at 254..256): bytes as iptables writes.
        let mut s = "a".repeat(254);
        s.push('é');
        let c = parse(&[("comment", Some(&s), false)]).expect("parses");
        let bytes = c.encode(0, Family::Ipv4);
        assert_eq!(&bytes[..255], &s.as_bytes()[..255]);
        assert_eq!(bytes[255], 0);
        assert_eq!(
            parse(&[("comment", Some(""), false)]).expect("empty").text,
            ""
        );
        assert_eq!(
            parse(&[]).map(|_| ()),
            Err("comment: option \"--comment\" must be specified".into())
        );
        assert_eq!(
            parse(&[("comment", Some("a"), false), ("comment", Some("b"), false)]).map(|_| ()),
            Err("comment: option \"--comment\" can only be used once.".into())
        );
        assert_eq!(
            parse(&[("comment", Some("a"), true)]).map(|_| ()),
            Err("comment: option \"--comment\" cannot be inverted.".into())
        );
    }
}
