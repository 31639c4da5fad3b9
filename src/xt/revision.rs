//! Which revision of a match or target to write: one the running kernel
//! has. `iptables` asks the kernel about each extension it loads and uses
//! the newest revision both know, so on an older kernel Docker's rules hold
//! older revisions (DNAT's revision 2 arrived in Linux 4.18; before it,
//! revision 1). nfdoctor builds and parses every extension at the newest
//! revision it knows; [`Revisions::adapt`] lowers one the kernel lacks to
//! the newest it has that says the same thing, so expected rules compare
//! equal to Docker's and writes are accepted. Pure: the kernel is asked
//! through [`RevisionProbe`].

use super::{Extension, Kind, MatchValue, TargetValue};
use crate::Family;

/// Asks the kernel about extension revisions.
pub trait RevisionProbe {
    /// Whether the kernel has `revision` of the match or target `name`;
    /// `None` when it cannot be told.
    fn has_revision(&mut self, kind: Kind, name: &str, revision: u8) -> Option<bool>;
}

/// A [`RevisionProbe`]'s answers, each asked once.
#[derive(Debug)]
pub struct Revisions<P> {
    probe: P,
    answers: Vec<(Kind, String, u8, Option<bool>)>,
}

impl<P: RevisionProbe> Revisions<P> {
    pub fn new(probe: P) -> Self {
        Revisions {
            probe,
            answers: Vec::new(),
        }
    }

    pub fn probe(&self) -> &P {
        &self.probe
    }

    fn has(&mut self, kind: Kind, name: &str, revision: u8) -> Option<bool> {
        if let Some(&(.., known)) = self
            .answers
            .iter()
            .find(|(k, n, r, _)| *k == kind && *r == revision && n == name)
        {
            return known;
        }
        let answer = self.probe.has_revision(kind, name, revision);
        self.answers
            .push((kind, name.to_string(), revision, answer));
        answer
    }

    /// Lowers `ext` to a revision the kernel has, when the kernel says it
    /// lacks this one and an older revision it has encodes the same value.
    /// Returns whether `ext` changed. Revision 0, an answer the kernel
    /// cannot give, and an extension nfdoctor does not type stay as they
    /// are (the kernel then refuses the write, and says so).
    pub fn adapt(&mut self, kind: Kind, ext: &mut Extension, family: Family) -> bool {
        if ext.revision == 0 || self.has(kind, &ext.name, ext.revision) != Some(false) {
            return false;
        }
        let name = ext.name.clone();
        let older = (0..ext.revision)
            .rev()
            .filter(|&r| self.has(kind, &name, r) == Some(true));
        let lowered = match kind {
            Kind::Match => match MatchValue::decode(ext, family) {
                Ok(Some(v)) => older
                    .map(|r| v.encode(r, family))
                    .find(|e| MatchValue::decode(e, family).ok().flatten().as_ref() == Some(&v)),
                _ => None,
            },
            Kind::Target => match TargetValue::decode(ext, family) {
                Ok(Some(v)) => older
                    .map(|r| v.encode(r, family))
                    .find(|e| TargetValue::decode(e, family).ok().flatten().as_ref() == Some(&v)),
                _ => None,
            },
        };
        match lowered {
            Some(e) => {
                *ext = e;
                true
            }
            None => false,
        }
    }
}

/// A kernel that answers from a list: `(kind, name, revisions it has)`;
/// `None` for names not in it. For tests.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct ListedRevisions {
    pub has: Vec<(Kind, &'static str, Vec<u8>)>,
    pub asked: usize,
}

#[cfg(test)]
impl RevisionProbe for ListedRevisions {
    fn has_revision(&mut self, kind: Kind, name: &str, revision: u8) -> Option<bool> {
        self.asked += 1;
        self.has
            .iter()
            .find(|(k, n, _)| *k == kind && *n == name)
            .map(|(.., revs)| revs.contains(&revision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::{Dnat, NatRange};

    fn dnat(family: Family, revision: u8) -> Extension {
        let ip = match family {
            Family::Ipv4 => "172.17.0.2".parse().expect("ip"),
            Family::Ipv6 => "fd00::2".parse().expect("ip"),
        };
        TargetValue::Dnat(Dnat::new(NatRange::single(ip, 80), family)).encode(revision, family)
    }

    fn kernel(dnat: Vec<u8>) -> Revisions<ListedRevisions> {
        Revisions::new(ListedRevisions {
            has: vec![
                (Kind::Target, "DNAT", dnat),
                (Kind::Match, "addrtype", vec![0, 1]),
            ],
            asked: 0,
        })
    }

    #[test]
    fn a_revision_the_kernel_lacks_is_lowered_to_the_newest_it_has() {
        for family in Family::ALL {
            // Linux 4.15: DNAT revisions 0 and 1.
            let mut k = kernel(vec![0, 1]);
            let mut ext = dnat(family, 2);
            assert!(k.adapt(Kind::Target, &mut ext, family));
            assert_eq!(ext, dnat(family, 1), "{family}");
            // Asked about 2 and 1 once each, however many rules follow.
            let mut again = dnat(family, 2);
            assert!(k.adapt(Kind::Target, &mut again, family));
            assert_eq!(k.probe.asked, 2);
        }
        // IPv4 only has revision 0 (its own layout): used when 1 is missing.
        let mut k = kernel(vec![0]);
        let mut ext = dnat(Family::Ipv4, 2);
        assert!(k.adapt(Kind::Target, &mut ext, Family::Ipv4));
        assert_eq!(ext, dnat(Family::Ipv4, 0));
        assert_ne!(ext.data, dnat(Family::Ipv4, 1).data);
    }

    #[test]
    fn what_cannot_be_lowered_stays_as_it_is() {
        let family = Family::Ipv4;
        // The kernel has it, cannot tell, or has no older revision.
        for has in [vec![0, 1, 2], vec![2]] {
            let mut ext = dnat(family, 2);
            assert!(!kernel(has).adapt(Kind::Target, &mut ext, family));
            assert_eq!(ext, dnat(family, 2));
        }
        let mut unknown = Revisions::new(ListedRevisions::default());
        let mut ext = dnat(family, 2);
        assert!(!unknown.adapt(Kind::Target, &mut ext, family));
        // Revision 0 is not even asked about.
        let mut ext = dnat(family, 0);
        assert!(!unknown.adapt(Kind::Target, &mut ext, family));
        assert_eq!(unknown.probe.asked, 1);
        // A DNAT with a port shift (revision 2 only) has no older form.
        let shifted = TargetValue::Dnat(Dnat::new(
            NatRange {
                base_port: 1000,
                ..NatRange::single("10.0.0.1".parse().expect("ip"), 80)
            },
            family,
        ))
        .encode(2, family);
        let mut ext = shifted.clone();
        assert!(!kernel(vec![0, 1]).adapt(Kind::Target, &mut ext, family));
        assert_eq!(ext, shifted);
        // Bytes nfdoctor does not type are kept.
        let mut raw = Extension::new("FOO", 3, vec![1u8; 8]);
        assert!(!Revisions::new(ListedRevisions {
            has: vec![(Kind::Target, "FOO", vec![0, 1, 2])],
            asked: 0,
        })
        .adapt(Kind::Target, &mut raw, family));
        assert_eq!(raw.revision, 3);
    }
}
