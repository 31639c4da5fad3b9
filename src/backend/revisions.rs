//! The running kernel's extension revisions, for
//! [`Revisions`](crate::xt::revision::Revisions): asked of
//! nf_tables (a netlink socket needs no `CAP_NET_RAW`), else of x_tables
//! over a raw socket; both ask the same registry. Nothing is opened until
//! something is asked.

use super::legacy::{RawSocket, XtKernel};
use super::nft::NftReader;
use crate::netlink::NetlinkSocket;
use crate::xt::revision::RevisionProbe;
use crate::xt::Kind;
use crate::Family;

/// The kernel of one family, asked through either back end.
#[derive(Debug)]
pub struct KernelRevisions {
    family: Family,
    nft: Option<Option<NftReader<NetlinkSocket>>>,
    legacy: Option<Option<RawSocket>>,
}

impl KernelRevisions {
    pub fn new(family: Family) -> KernelRevisions {
        KernelRevisions {
            family,
            nft: None,
            legacy: None,
        }
    }
}

impl RevisionProbe for KernelRevisions {
    fn has_revision(&mut self, kind: Kind, name: &str, revision: u8) -> Option<bool> {
        let family = self.family;
        let nft = self.nft.get_or_insert_with(|| NftReader::open(family).ok());
        if let Some(answer) = nft
            .as_mut()
            .and_then(|r| r.has_revision(kind, name, revision))
        {
            return Some(answer);
        }
        let legacy = self
            .legacy
            .get_or_insert_with(|| RawSocket::open(family).ok());
        legacy
            .as_mut()
            .and_then(|s| s.has_revision(name, revision, kind == Kind::Target).ok())
    }
}
