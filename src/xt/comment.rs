//! `comment` match, revision 0 (`xt_comment_info`: 256 bytes of text).

use super::text;
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

    fn encode(&self, _: u8, _: Family) -> Vec<u8> {
        let mut comment = [0u8; XT_MAX_COMMENT_LEN];
        let bytes = self.text.as_bytes();
        let n = bytes.len().min(XT_MAX_COMMENT_LEN - 1);
        comment[..n].copy_from_slice(&bytes[..n]);
        write_payload(&xt_comment_info { comment })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        out.push_str(" --comment");
        text::save_string(out, &self.text);
    }
}

// SKELETON parse (to be implemented)
use super::parse::{OptSpec, Parse, ParseCtx};
impl Parse for Comment {
    const OPTIONS: &'static [OptSpec] = &[];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        unimplemented!("skeleton")
    }

    fn option(
        &mut self,
        name: &str,
        _: Option<&str>,
        _: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        Err(format!("unknown option --{name}"))
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        Err("not implemented".into())
    }
}
