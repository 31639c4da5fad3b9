//! SKELETON (to be implemented): set match (revisions 1-4).

use super::parse::{OptSpec, Parse, ParseCtx};
use super::{Codec, SaveCtx, XtError};
use crate::Family;
use serde::Serialize;

/// set match (revisions 1-4)
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Set {}

impl Codec for Set {
    fn decode(_: u8, _: Family, _: &[u8]) -> Result<Option<Self>, XtError> {
        Ok(None)
    }

    fn encode(&self, _: u8, _: Family) -> Vec<u8> {
        Vec::new()
    }

    fn save(&self, _: &SaveCtx<'_>, _: &mut String) {}
}

impl Parse for Set {
    const OPTIONS: &'static [OptSpec] = &[];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Set::default()
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
