//! `addrtype` match: revision 0 (IPv4 only, `xt_addrtype_info`) and 1
//! (`xt_addrtype_info_v1`). Type masks are `1 << RTN_*`.

use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::{
    xt_addrtype_info, xt_addrtype_info_v1, XT_ADDRTYPE_INVERT_DEST, XT_ADDRTYPE_INVERT_SOURCE,
    XT_ADDRTYPE_LIMIT_IFACE_IN, XT_ADDRTYPE_LIMIT_IFACE_OUT,
};
use serde::Serialize;

/// Route types in bit order (`RTN_UNSPEC` = bit 0 …).
pub const TYPE_NAMES: [&str; 12] = [
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Addrtype {
    pub source: u16,
    pub dest: u16,
    pub invert_source: bool,
    pub invert_dest: bool,
    pub limit_iface_in: bool,
    pub limit_iface_out: bool,
}

fn types(mask: u16, out: &mut String) {
    let mut sep = "";
    for (i, name) in TYPE_NAMES.iter().enumerate() {
        if mask & (1 << i) != 0 {
            out.push_str(sep);
            out.push_str(name);
            sep = ",";
        }
    }
}

impl Codec for Addrtype {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        match revision {
            0 => {
                let a: xt_addrtype_info = read_payload("addrtype", 0, data)?;
                Ok(Some(Addrtype {
                    source: a.source,
                    dest: a.dest,
                    invert_source: a.invert_source != 0,
                    invert_dest: a.invert_dest != 0,
                    ..Addrtype::default()
                }))
            }
            1 => {
                let a: xt_addrtype_info_v1 = read_payload("addrtype", 1, data)?;
                Ok(Some(Addrtype {
                    source: a.source,
                    dest: a.dest,
                    invert_source: a.flags & XT_ADDRTYPE_INVERT_SOURCE != 0,
                    invert_dest: a.flags & XT_ADDRTYPE_INVERT_DEST != 0,
                    limit_iface_in: a.flags & XT_ADDRTYPE_LIMIT_IFACE_IN != 0,
                    limit_iface_out: a.flags & XT_ADDRTYPE_LIMIT_IFACE_OUT != 0,
                }))
            }
            _ => Ok(None),
        }
    }

    fn encode(&self, revision: u8, _: Family) -> Vec<u8> {
        if revision == 0 {
            return write_payload(&xt_addrtype_info {
                source: self.source,
                dest: self.dest,
                invert_source: u32::from(self.invert_source),
                invert_dest: u32::from(self.invert_dest),
            });
        }
        let mut flags = 0;
        if self.invert_source {
            flags |= XT_ADDRTYPE_INVERT_SOURCE;
        }
        if self.invert_dest {
            flags |= XT_ADDRTYPE_INVERT_DEST;
        }
        if self.limit_iface_in {
            flags |= XT_ADDRTYPE_LIMIT_IFACE_IN;
        }
        if self.limit_iface_out {
            flags |= XT_ADDRTYPE_LIMIT_IFACE_OUT;
        }
        write_payload(&xt_addrtype_info_v1 {
            source: self.source,
            dest: self.dest,
            flags,
        })
    }

    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        if self.source != 0 {
            if self.invert_source {
                out.push_str(" !");
            }
            out.push_str(" --src-type ");
            types(self.source, out);
        }
        if self.dest != 0 {
            if self.invert_dest {
                out.push_str(" !");
            }
            out.push_str(" --dst-type ");
            types(self.dest, out);
        }
        if self.limit_iface_in {
            out.push_str(" --limit-iface-in");
        }
        if self.limit_iface_out {
            out.push_str(" --limit-iface-out");
        }
    }
}

// SKELETON parse (to be implemented)
use super::parse::{OptSpec, Parse, ParseCtx};
impl Parse for Addrtype {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dst_type_local() {
        let bytes = [0, 0, 4, 0, 0, 0, 0, 0];
        let a = Addrtype::decode(1, Family::Ipv4, &bytes).unwrap().unwrap();
        assert_eq!(a.encode(1, Family::Ipv4), bytes);
        let mut s = String::new();
        let ctx = SaveCtx {
            family: Family::Ipv4,
            proto: 0,
            set_name: &|_| None,
        };
        a.save(&ctx, &mut s);
        assert_eq!(s, " --dst-type LOCAL");
    }
}
