//! SKELETON (to be implemented): owner match (revision 1).

use super::parse::{OptSpec, Parse, ParseCtx};
use super::{Codec, SaveCtx, XtError};
use crate::Family;
use serde::Serialize;

/// owner match (revision 1)
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Owner {}

impl Codec for Owner {
    fn decode(_: u8, _: Family, _: &[u8]) -> Result<Option<Self>, XtError> {
        Ok(None)
    }

    fn encode(&self, _: u8, _: Family) -> Vec<u8> {
        Vec::new()
    }

    fn save(&self, _: &SaveCtx<'_>, _: &mut String) {}
}

impl Parse for Owner {
    const OPTIONS: &'static [OptSpec] = &[];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Owner::default()
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
