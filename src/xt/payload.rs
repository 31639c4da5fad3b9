//! An extension's payload bytes. Nearly every payload on a Docker host is
//! a few dozen bytes (`tcp` 16, `DNAT` 48, `MASQUERADE` 24, `addrtype` 16):
//! they are kept inline, so that reading, planning and copying tens of
//! thousands of port rules allocates nothing for them. Larger ones
//! (`comment` 256, `conntrack` 168) live on the heap.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

/// The most bytes kept inline (`XT_ALIGN(sizeof(struct nf_nat_range2))`).
const INLINE: usize = 48;

/// Bytes, compared, hashed and printed as the slice they hold.
#[derive(Clone)]
pub struct Payload(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Vec<u8>),
}

impl Payload {
    pub const fn new() -> Payload {
        Payload(Repr::Inline {
            len: 0,
            bytes: [0; INLINE],
        })
    }

    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Heap(v) => v,
        }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Repr::Inline { len, bytes } => &mut bytes[..usize::from(*len)],
            Repr::Heap(v) => v,
        }
    }

    pub fn clear(&mut self) {
        *self = Payload::new();
    }

    pub fn extend_from_slice(&mut self, more: &[u8]) {
        match &mut self.0 {
            Repr::Inline { len, bytes } => {
                let (at, end) = (usize::from(*len), usize::from(*len) + more.len());
                if end <= INLINE {
                    bytes[at..end].copy_from_slice(more);
                    // `end <= INLINE`, which fits a u8.
                    *len = end as u8;
                } else {
                    let mut v = Vec::with_capacity(end);
                    v.extend_from_slice(&bytes[..at]);
                    v.extend_from_slice(more);
                    self.0 = Repr::Heap(v);
                }
            }
            Repr::Heap(v) => v.extend_from_slice(more),
        }
    }

    /// Grows (with `value`) or shrinks to `new_len` bytes.
    pub fn resize(&mut self, new_len: usize, value: u8) {
        let len = self.len();
        if new_len <= len {
            match &mut self.0 {
                // `new_len <= len <= INLINE`.
                Repr::Inline { len, .. } => *len = new_len as u8,
                Repr::Heap(v) => v.truncate(new_len),
            }
        } else {
            let fill = vec![value; new_len - len];
            self.extend_from_slice(&fill);
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.as_slice().to_vec()
    }
}

impl Default for Payload {
    fn default() -> Self {
        Payload::new()
    }
}

impl Deref for Payload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl DerefMut for Payload {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

impl AsRef<[u8]> for Payload {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<&[u8]> for Payload {
    fn from(bytes: &[u8]) -> Self {
        let mut p = Payload::new();
        p.extend_from_slice(bytes);
        p
    }
}

impl From<Vec<u8>> for Payload {
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= INLINE {
            Payload::from(v.as_slice())
        } else {
            Payload(Repr::Heap(v))
        }
    }
}

impl<const N: usize> From<[u8; N]> for Payload {
    fn from(bytes: [u8; N]) -> Self {
        Payload::from(&bytes[..])
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Payload {}

impl PartialEq<[u8]> for Payload {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Payload {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<&[u8]> for Payload {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl PartialEq<Vec<u8>> for Payload {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Hash for Payload {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_slice().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_payloads_stay_inline_and_large_ones_move_to_the_heap() {
        let mut p = Payload::from(vec![1u8; 40]);
        assert!(matches!(p.0, Repr::Inline { len: 40, .. }));
        p.extend_from_slice(&[2; 8]);
        assert!(matches!(p.0, Repr::Inline { len: 48, .. }));
        p.extend_from_slice(&[3]);
        assert!(matches!(p.0, Repr::Heap(_)));
        let mut want = vec![1u8; 40];
        want.extend_from_slice(&[2; 8]);
        want.push(3);
        assert_eq!(p, want);
        p.resize(52, 9);
        want.resize(52, 9);
        assert_eq!(p, want);
        p.resize(4, 0);
        assert_eq!(p.as_slice(), &[1, 1, 1, 1]);
        p.clear();
        assert!(p.is_empty());
    }

    #[test]
    fn equal_bytes_are_equal_and_hash_alike_wherever_they_live() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |p: &Payload| {
            let mut h = DefaultHasher::new();
            p.hash(&mut h);
            h.finish()
        };
        let inline = Payload::from(&[7u8; 16][..]);
        let heap = Payload(Repr::Heap(vec![7u8; 16]));
        assert_eq!(inline, heap);
        assert_eq!(hash(&inline), hash(&heap));
        assert_eq!(format!("{inline:?}"), format!("{:?}", vec![7u8; 16]));
        let mut shorter = inline.clone();
        shorter.resize(15, 0);
        assert_ne!(inline, shorter);
    }
}
