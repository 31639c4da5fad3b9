//! `multiport` match: revision 0 (`struct xt_multiport`, port list) and
//! revision 1 (`xt_multiport_v1`, ranges and inversion). Ports host order.

use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::{
    xt_multiport, xt_multiport_v1, XT_MULTIPORT_DESTINATION, XT_MULTIPORT_EITHER,
    XT_MULTIPORT_SOURCE, XT_MULTI_PORTS,
};
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Multiport {
    /// `XT_MULTIPORT_SOURCE` (0), `DESTINATION` (1) or `EITHER` (2).
    pub direction: u8,
    /// The `count` used entries of `ports`.
    pub ports: Vec<u16>,
    /// Revision 1: `range_start[i]` means `ports[i]:ports[i+1]`.
    pub range_start: Vec<bool>,
    pub invert: bool,
}

impl Codec for Multiport {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        match revision {
            0 => {
                let m: xt_multiport = read_payload("multiport", 0, data)?;
                let count = usize::from(m.count).min(XT_MULTI_PORTS);
                Ok(Some(Multiport {
                    direction: m.flags,
                    ports: m.ports[..count].to_vec(),
                    range_start: vec![false; count],
                    invert: false,
                }))
            }
            1 => {
                let m: xt_multiport_v1 = read_payload("multiport", 1, data)?;
                let count = usize::from(m.count).min(XT_MULTI_PORTS);
                Ok(Some(Multiport {
                    direction: m.flags,
                    ports: m.ports[..count].to_vec(),
                    range_start: m.pflags[..count].iter().map(|&f| f != 0).collect(),
                    invert: m.invert != 0,
                }))
            }
            _ => Ok(None),
        }
    }

    fn encode(&self, revision: u8, _: Family) -> Vec<u8> {
        let count = self.ports.len().min(XT_MULTI_PORTS);
        let mut ports = [0u16; XT_MULTI_PORTS];
        ports[..count].copy_from_slice(&self.ports[..count]);
        if revision == 0 {
            return write_payload(&xt_multiport {
                flags: self.direction,
                count: count as u8,
                ports,
            });
        }
        let mut pflags = [0u8; XT_MULTI_PORTS];
        for (i, r) in self.range_start.iter().take(count).enumerate() {
            pflags[i] = u8::from(*r);
        }
        write_payload(&xt_multiport_v1 {
            flags: self.direction,
            count: count as u8,
            ports,
            pflags,
            invert: u8::from(self.invert),
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        match self.direction {
            XT_MULTIPORT_SOURCE => out.push_str(" --sports "),
            XT_MULTIPORT_DESTINATION => out.push_str(" --dports "),
            XT_MULTIPORT_EITHER => out.push_str(" --ports "),
            _ => {}
        }
        let mut i = 0;
        while i < self.ports.len() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{}", self.ports[i]);
            if self.range_start.get(i).copied().unwrap_or(false) {
                i += 1;
                out.push(':');
                let _ = write!(out, "{}", self.ports.get(i).copied().unwrap_or(0));
            }
            i += 1;
        }
    }
}

// SKELETON parse (to be implemented)
use super::parse::{OptSpec, Parse, ParseCtx};
impl Parse for Multiport {
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
