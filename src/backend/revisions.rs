//! The running kernel's extension revisions, for
//! [`Revisions`](crate::xt::revision::Revisions): asked of nf_tables (a
//! netlink socket needs no `CAP_NET_RAW`), else of x_tables over a raw
//! socket; both ask the same registry. Nothing is opened until something is
//! asked.
//!
//! Asking about an extension the kernel has not registered makes it load
//! the module. A check changes nothing, so it asks only about registered
//! ones (listed in `/proc/net/ip{,6}_tables_{matches,targets}`), and notes
//! that it left others unasked; a fix, which writes them, asks about all.

use super::legacy::{x_tables_list, RawSocket, XtKernel};
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
    /// `Some`: ask only about these registered extensions (read on first
    /// use). `None`: ask about any.
    registered: Option<Option<Vec<(Kind, String)>>>,
    /// An extension was not asked about because it is not registered.
    pub unasked: bool,
}

impl KernelRevisions {
    /// Asks about any extension (its module is loaded if need be).
    pub fn new(family: Family) -> KernelRevisions {
        KernelRevisions {
            family,
            nft: None,
            legacy: None,
            registered: None,
            unasked: false,
        }
    }

    /// Asks only about extensions the kernel has registered.
    pub fn registered_only(family: Family) -> KernelRevisions {
        KernelRevisions {
            registered: Some(None),
            ..KernelRevisions::new(family)
        }
    }

    fn may_ask(&mut self, kind: Kind, name: &str) -> bool {
        let family = self.family;
        let Some(registered) = &mut self.registered else {
            return true;
        };
        let listed = registered.get_or_insert_with(|| registered_extensions(family));
        listed.iter().any(|(k, n)| *k == kind && n == name)
    }
}

/// The matches and targets x_tables lists for `family` (none when it is
/// not loaded).
fn registered_extensions(family: Family) -> Vec<(Kind, String)> {
    let mut out = Vec::new();
    for (kind, what) in [(Kind::Match, "matches"), (Kind::Target, "targets")] {
        out.extend(once_each(kind, x_tables_list(family, what)));
    }
    out
}

/// The names, each once: x_tables lists a name per revision and family
/// that registers it.
fn once_each(kind: Kind, names: Vec<String>) -> Vec<(Kind, String)> {
    let mut out: Vec<(Kind, String)> = Vec::new();
    for name in names {
        if !out.iter().any(|(_, n)| *n == name) {
            out.push((kind, name));
        }
    }
    out
}

impl RevisionProbe for KernelRevisions {
    fn has_revision(&mut self, kind: Kind, name: &str, revision: u8) -> Option<bool> {
        if !self.may_ask(kind, name) {
            self.unasked = true;
            return None;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_names_are_listed_once() {
        let listed = ["DNAT", "SNAT", "DNAT", "MASQUERADE"]
            .map(String::from)
            .to_vec();
        let names: Vec<String> = once_each(Kind::Target, listed)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(names, ["DNAT", "SNAT", "MASQUERADE"]);
    }

    #[test]
    fn an_unregistered_extension_is_not_asked_about() {
        let mut k = KernelRevisions {
            registered: Some(Some(once_each(Kind::Target, vec!["DNAT".into()]))),
            ..KernelRevisions::new(Family::Ipv4)
        };
        assert_eq!(k.has_revision(Kind::Match, "DNAT", 1), None);
        assert_eq!(k.has_revision(Kind::Target, "NOSUCH", 1), None);
        assert!(k.unasked);
        // Nothing was opened to answer.
        assert!(k.nft.is_none() && k.legacy.is_none());
    }
}
