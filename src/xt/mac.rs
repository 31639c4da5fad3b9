//! SKELETON (to be implemented): mac match (revision 0).

use super::parse::{OptSpec, Parse, ParseCtx};
use super::{Codec, SaveCtx, XtError};
use crate::Family;
use serde::Serialize;

/// mac match (revision 0)
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Mac {}

impl Codec for Mac {
    fn decode(_: u8, _: Family, _: &[u8]) -> Result<Option<Self>, XtError> {
        Ok(None)
    }

    fn encode(&self, _: u8, _: Family) -> Vec<u8> {
        Vec::new()
    }

    fn save(&self, _: &SaveCtx<'_>, _: &mut String) {}
}

impl Parse for Mac {
    const OPTIONS: &'static [OptSpec] = &[];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Mac::default()
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
