//! Bytes kept inline up to `N`, on the heap beyond: the short values a
//! Docker host has tens of thousands of (an extension's payload, a port
//! map's `"80/tcp"`) then cost no allocation to make, copy or free.

mod short_str;

pub use short_str::ShortStr;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

/// Bytes, compared, hashed and printed as the slice they hold. `N` must
/// fit a `u8`.
#[derive(Clone)]
pub struct SmallBytes<const N: usize>(Repr<N>);

#[derive(Clone)]
enum Repr<const N: usize> {
    Inline { len: u8, bytes: [u8; N] },
    Heap(Vec<u8>),
}

impl<const N: usize> SmallBytes<N> {
    pub const fn new() -> Self {
        SmallBytes(Repr::Inline {
            len: 0,
            bytes: [0; N],
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

    /// Whether the bytes are held inline.
    #[cfg(test)]
    pub(crate) fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }

    pub fn clear(&mut self) {
        *self = SmallBytes::new();
    }

    pub fn extend_from_slice(&mut self, more: &[u8]) {
        match &mut self.0 {
            Repr::Inline { len, bytes } => {
                let (at, end) = (usize::from(*len), usize::from(*len) + more.len());
                if end <= N {
                    bytes[at..end].copy_from_slice(more);
                    // `end <= N`, which fits a u8.
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
                // `new_len <= len <= N`.
                Repr::Inline { len, .. } => *len = new_len as u8,
                Repr::Heap(v) => v.truncate(new_len),
            }
        } else {
            self.extend_from_slice(&vec![value; new_len - len]);
        }
    }
}

impl<const N: usize> Default for SmallBytes<N> {
    fn default() -> Self {
        SmallBytes::new()
    }
}

impl<const N: usize> Deref for SmallBytes<N> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<const N: usize> DerefMut for SmallBytes<N> {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

impl<const N: usize> From<&[u8]> for SmallBytes<N> {
    fn from(bytes: &[u8]) -> Self {
        let mut b = SmallBytes::new();
        b.extend_from_slice(bytes);
        b
    }
}

impl<const N: usize> From<Vec<u8>> for SmallBytes<N> {
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= N {
            SmallBytes::from(v.as_slice())
        } else {
            SmallBytes(Repr::Heap(v))
        }
    }
}

impl<const N: usize> PartialEq for SmallBytes<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> Eq for SmallBytes<N> {}

impl<const N: usize> PartialEq<[u8]> for SmallBytes<N> {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize, const M: usize> PartialEq<[u8; M]> for SmallBytes<N> {
    fn eq(&self, other: &[u8; M]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<&[u8]> for SmallBytes<N> {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl<const N: usize> PartialEq<Vec<u8>> for SmallBytes<N> {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> Hash for SmallBytes<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl<const N: usize> fmt::Debug for SmallBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_slice().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bytes_stay_inline_and_larger_ones_move_to_the_heap() {
        let mut p = SmallBytes::<48>::from(vec![1u8; 40]);
        assert!(p.is_inline());
        p.extend_from_slice(&[2; 8]);
        assert!(p.is_inline() && p.len() == 48);
        p.extend_from_slice(&[3]);
        assert!(!p.is_inline());
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
        assert!(p.is_empty() && p.is_inline());
    }

    #[test]
    fn equal_bytes_are_equal_and_hash_alike_wherever_they_live() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |p: &SmallBytes<48>| {
            let mut h = DefaultHasher::new();
            p.hash(&mut h);
            h.finish()
        };
        let inline = SmallBytes::<48>::from(&[7u8; 16][..]);
        let heap = SmallBytes::<48>(Repr::Heap(vec![7u8; 16]));
        assert_eq!(inline, heap);
        assert_eq!(hash(&inline), hash(&heap));
        assert_eq!(format!("{inline:?}"), format!("{:?}", vec![7u8; 16]));
        let mut shorter = inline.clone();
        shorter.resize(15, 0);
        assert_ne!(inline, shorter);
    }
}
