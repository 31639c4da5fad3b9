//! Netlink attributes (TLVs): a zero-copy reader and a builder. Pure code, no
//! I/O. nf_tables attribute values are big-endian; the helpers say which
//! byte order they use.

use nfdoctor_sys::netlink::{NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK};
use nfdoctor_sys::nl_align;

/// A malformed attribute stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttrError {
    #[error("attribute header truncated at byte {offset}")]
    TruncatedHeader { offset: usize },
    #[error("attribute {kind} at byte {offset} claims {len} bytes, only {available} left")]
    BadLength {
        kind: u16,
        offset: usize,
        len: usize,
        available: usize,
    },
    #[error("attribute {kind}: expected {expected} bytes, found {found}")]
    WrongSize {
        kind: u16,
        expected: usize,
        found: usize,
    },
    #[error("attribute {kind}: string is not NUL-terminated UTF-8")]
    BadString { kind: u16 },
    #[error("missing attribute {kind} in {context}")]
    Missing { kind: u16, context: &'static str },
}

/// One attribute: its type (flags masked off) and its payload (without padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    pub kind: u16,
    /// `NLA_F_NESTED` was set. The kernel does not set it in nf_tables dumps,
    /// so readers must not rely on it.
    pub nested_flag: bool,
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    pub fn be_u32(&self) -> Result<u32, AttrError> {
        Ok(u32::from_be_bytes(self.fixed::<4>()?))
    }

    pub fn be_u64(&self) -> Result<u64, AttrError> {
        Ok(u64::from_be_bytes(self.fixed::<8>()?))
    }

    pub fn be_u16(&self) -> Result<u16, AttrError> {
        Ok(u16::from_be_bytes(self.fixed::<2>()?))
    }

    pub fn u8(&self) -> Result<u8, AttrError> {
        Ok(self.fixed::<1>()?[0])
    }

    /// Host-order u32 (rtnetlink uses host order).
    pub fn ne_u32(&self) -> Result<u32, AttrError> {
        Ok(u32::from_ne_bytes(self.fixed::<4>()?))
    }

    fn fixed<const N: usize>(&self) -> Result<[u8; N], AttrError> {
        self.payload.try_into().map_err(|_| AttrError::WrongSize {
            kind: self.kind,
            expected: N,
            found: self.payload.len(),
        })
    }

    /// A NUL-terminated string's bytes, without the NUL (which may be
    /// missing, as for [`Self::str`]).
    pub fn c_bytes(&self) -> &'a [u8] {
        let bytes = self.payload;
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        &bytes[..end]
    }

    /// A NUL-terminated string (the NUL is part of the payload; a missing NUL
    /// is tolerated, as the kernel does for `NLA_STRING`).
    pub fn str(&self) -> Result<&'a str, AttrError> {
        std::str::from_utf8(self.c_bytes()).map_err(|_| AttrError::BadString { kind: self.kind })
    }

    /// The attributes nested in this one.
    pub fn nested(&self) -> Attrs<'a> {
        Attrs::new(self.payload)
    }
}

/// Iterator over a buffer of attributes. Yields an error once, then stops.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    buf: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> Attrs<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Attrs {
            buf,
            offset: 0,
            failed: false,
        }
    }

    /// The first attribute of type `kind`, if any (errors are skipped).
    pub fn find(&self, kind: u16) -> Option<Attr<'a>> {
        self.clone().flatten().find(|a| a.kind == kind)
    }

    /// The first attribute of type `kind`, or an error naming `context`.
    pub fn get(&self, kind: u16, context: &'static str) -> Result<Attr<'a>, AttrError> {
        self.find(kind).ok_or(AttrError::Missing { kind, context })
    }

    /// The same lookups, from one pass over the attributes: for a nest
    /// whose attributes are read one by one (an expression's, tens of
    /// thousands of times in a dump).
    pub fn by_kind(&self) -> ByKind<'a> {
        let mut first = [None; BY_KIND];
        for a in self.clone().flatten() {
            if let Some(slot) = first.get_mut(usize::from(a.kind)) {
                slot.get_or_insert(a);
            }
        }
        ByKind {
            first,
            attrs: self.clone(),
        }
    }
}

/// Attribute types [`ByKind`] indexes (nf_tables expressions use fewer).
const BY_KIND: usize = 16;

/// [`Attrs::find`] and [`Attrs::get`] over attributes indexed by type.
#[derive(Debug, Clone)]
pub struct ByKind<'a> {
    first: [Option<Attr<'a>>; BY_KIND],
    attrs: Attrs<'a>,
}

impl<'a> ByKind<'a> {
    /// As [`Attrs::find`].
    pub fn find(&self, kind: u16) -> Option<Attr<'a>> {
        match self.first.get(usize::from(kind)) {
            Some(a) => *a,
            None => self.attrs.find(kind),
        }
    }

    /// As [`Attrs::get`].
    pub fn get(&self, kind: u16, context: &'static str) -> Result<Attr<'a>, AttrError> {
        self.find(kind).ok_or(AttrError::Missing { kind, context })
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, AttrError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.buf.len() {
            return None;
        }
        let rest = &self.buf[self.offset..];
        if rest.len() < NLA_HDRLEN {
            self.failed = true;
            return Some(Err(AttrError::TruncatedHeader {
                offset: self.offset,
            }));
        }
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let raw_kind = u16::from_ne_bytes([rest[2], rest[3]]);
        let kind = raw_kind & NLA_TYPE_MASK;
        if len < NLA_HDRLEN || len > rest.len() {
            self.failed = true;
            return Some(Err(AttrError::BadLength {
                kind,
                offset: self.offset,
                len,
                available: rest.len(),
            }));
        }
        let attr = Attr {
            kind,
            nested_flag: raw_kind & NLA_F_NESTED != 0,
            payload: &rest[NLA_HDRLEN..len],
        };
        self.offset += nl_align(len).min(rest.len());
        Some(Ok(attr))
    }
}

/// Appends attributes to a message buffer. Nests are opened with
/// [`AttrWriter::begin_nest`] and closed with [`AttrWriter::end_nest`].
#[derive(Debug)]
pub struct AttrWriter<'b> {
    buf: &'b mut Vec<u8>,
}

/// A nest under construction: the offset of its header.
#[derive(Debug, Clone, Copy)]
#[must_use = "a nest must be closed with end_nest"]
pub struct Nest(usize);

impl<'b> AttrWriter<'b> {
    pub fn new(buf: &'b mut Vec<u8>) -> Self {
        AttrWriter { buf }
    }

    pub fn put(&mut self, kind: u16, payload: &[u8]) -> &mut Self {
        let len = NLA_HDRLEN + payload.len();
        let len16 = u16::try_from(len).expect("netlink attribute larger than 64 KiB");
        self.buf.extend_from_slice(&len16.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
        self
    }

    pub fn put_be_u32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.put(kind, &v.to_be_bytes())
    }

    pub fn put_be_u64(&mut self, kind: u16, v: u64) -> &mut Self {
        self.put(kind, &v.to_be_bytes())
    }

    pub fn put_be_u16(&mut self, kind: u16, v: u16) -> &mut Self {
        self.put(kind, &v.to_be_bytes())
    }

    /// A NUL-terminated string.
    pub fn put_str(&mut self, kind: u16, s: &str) -> &mut Self {
        let len = NLA_HDRLEN + s.len() + 1;
        let len16 = u16::try_from(len).expect("netlink attribute larger than 64 KiB");
        self.buf.extend_from_slice(&len16.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        self.pad();
        self
    }

    /// Appends attributes already encoded (4-byte aligned) by another writer.
    pub fn raw(&mut self, attrs: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(attrs);
        self.pad();
        self
    }

    pub fn begin_nest(&mut self, kind: u16) -> Nest {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        Nest(at)
    }

    pub fn end_nest(&mut self, nest: Nest) {
        let len = self.buf.len() - nest.0;
        let len16 = u16::try_from(len).expect("netlink nest larger than 64 KiB");
        self.buf[nest.0..nest.0 + 2].copy_from_slice(&len16.to_ne_bytes());
    }

    fn pad(&mut self) {
        let aligned = nl_align(self.buf.len());
        self.buf.resize(aligned, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_attribute_matches_kernel_bytes() {
        // netfilter-abi.md B.1: "filter" -> 0b 00 01 00 66 69 6c 74 65 72 00 | 00
        let mut buf = Vec::new();
        AttrWriter::new(&mut buf).put_str(1, "filter");
        assert_eq!(
            buf,
            [0x0b, 0, 1, 0, b'f', b'i', b'l', b't', b'e', b'r', 0, 0]
        );
        let a = Attrs::new(&buf).next().unwrap().unwrap();
        assert_eq!(a.kind, 1);
        assert_eq!(a.str().unwrap(), "filter");
    }

    #[test]
    fn indexed_lookups_find_what_a_scan_finds() {
        let mut buf = Vec::new();
        let mut w = AttrWriter::new(&mut buf);
        w.put_be_u32(3, 1)
            .put_be_u32(40, 2)
            .put_be_u32(3, 3)
            .put_be_u32(0, 4);
        // A truncated header ends the scan, as for `find`.
        buf.extend_from_slice(&[8, 0, 5]);
        let attrs = Attrs::new(&buf);
        let by_kind = attrs.by_kind();
        for kind in [0, 3, 5, 15, 16, 40, 41] {
            assert_eq!(by_kind.find(kind), attrs.find(kind), "kind {kind}");
        }
        assert_eq!(by_kind.find(3).unwrap().be_u32(), Ok(1), "the first one");
        assert!(matches!(
            by_kind.get(5, "test"),
            Err(AttrError::Missing { kind: 5, .. })
        ));
    }

    #[test]
    fn nests_round_trip_and_flag_is_masked() {
        let mut buf = Vec::new();
        let mut w = AttrWriter::new(&mut buf);
        let n = w.begin_nest(4);
        w.put_be_u32(1, 7).put_be_u64(2, 9);
        w.end_nest(n);
        let outer: Vec<_> = Attrs::new(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(outer.len(), 1);
        assert_eq!(outer[0].kind, 4);
        assert!(outer[0].nested_flag);
        let inner: Vec<_> = outer[0].nested().collect::<Result<_, _>>().unwrap();
        assert_eq!(inner[0].be_u32().unwrap(), 7);
        assert_eq!(inner[1].be_u64().unwrap(), 9);
    }

    #[test]
    fn truncated_and_oversized_attributes_are_errors() {
        assert!(matches!(
            Attrs::new(&[1, 0]).next(),
            Some(Err(AttrError::TruncatedHeader { .. }))
        ));
        assert!(matches!(
            Attrs::new(&[9, 0, 1, 0, 1]).next(),
            Some(Err(AttrError::BadLength { .. }))
        ));
        // a zero length would loop forever if accepted
        assert!(matches!(
            Attrs::new(&[0, 0, 1, 0]).next(),
            Some(Err(AttrError::BadLength { .. }))
        ));
        let mut it = Attrs::new(&[0, 0, 1, 0]);
        it.next();
        assert!(it.next().is_none());
    }
}
