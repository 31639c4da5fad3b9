//! Asking nf_tables which revisions of a match or target the kernel has,
//! as iptables-nft does before it writes one (`nft_compat`'s
//! `NFNL_MSG_COMPAT_GET`: answered when the revision exists, refused with
//! `EPROTONOSUPPORT` when only others do, `ENOENT` when none does).

use super::NftReader;
use crate::netlink::{Exchange, Transport};
use crate::xt::revision::RevisionProbe;
use crate::xt::Kind;
use nfdoctor_sys::netlink::{NLM_F_ACK, NLM_F_REQUEST};
use nfdoctor_sys::nfnetlink::{
    nfnl_msg_type, NFNL_MSG_COMPAT_GET, NFNL_SUBSYS_NFT_COMPAT, NFTA_COMPAT_NAME, NFTA_COMPAT_REV,
    NFTA_COMPAT_TYPE,
};

impl<T: Transport> RevisionProbe for NftReader<T> {
    fn has_revision(&mut self, kind: Kind, name: &str, revision: u8) -> Option<bool> {
        let family = self.family();
        let msg_type = nfnl_msg_type(NFNL_SUBSYS_NFT_COMPAT, NFNL_MSG_COMPAT_GET);
        let target = match kind {
            Kind::Match => 0,
            Kind::Target => 1,
        };
        let asked = self.connection().exchange(
            &|| format!("asking nf_tables for revision {revision} of {name}"),
            Exchange::Acked,
            |buf, seq| {
                crate::netlink::message::put_nfnl_message(
                    buf,
                    msg_type,
                    NLM_F_REQUEST | NLM_F_ACK,
                    seq,
                    family.nfproto(),
                    0,
                    |w| {
                        w.put_str(NFTA_COMPAT_NAME, name);
                        w.put_be_u32(NFTA_COMPAT_REV, u32::from(revision));
                        w.put_be_u32(NFTA_COMPAT_TYPE, target);
                    },
                )
            },
            |_| Ok(()),
        );
        match asked {
            Ok(()) => Some(true),
            Err(e) if matches!(e.errno(), Some(libc::EPROTONOSUPPORT | libc::ENOENT)) => {
                Some(false)
            }
            Err(_) => None,
        }
    }
}
