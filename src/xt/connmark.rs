//! SKELETON (to be implemented): connmark match (revision 1); CONNMARK target (revisions 1, 2).

use super::parse::{OptSpec, Parse, ParseCtx};
use super::{Codec, SaveCtx, XtError};
use crate::Family;
use serde::Serialize;

/// connmark match (revision 1)
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Connmark {}

impl Codec for Connmark {
    fn decode(_: u8, _: Family, _: &[u8]) -> Result<Option<Self>, XtError> {
        Ok(None)
    }

    fn encode(&self, _: u8, _: Family) -> Vec<u8> {
        Vec::new()
    }

    fn save(&self, _: &SaveCtx<'_>, _: &mut String) {}
}

impl Parse for Connmark {
    const OPTIONS: &'static [OptSpec] = &[];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Connmark::default()
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

/// CONNMARK target (revisions 1, 2)
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ConnmarkTarget {}

impl Codec for ConnmarkTarget {
    fn decode(_: u8, _: Family, _: &[u8]) -> Result<Option<Self>, XtError> {
        Ok(None)
    }

    fn encode(&self, _: u8, _: Family) -> Vec<u8> {
        Vec::new()
    }

    fn save(&self, _: &SaveCtx<'_>, _: &mut String) {}
}

impl Parse for ConnmarkTarget {
    const OPTIONS: &'static [OptSpec] = &[];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        ConnmarkTarget::default()
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
