//! Short strings kept inline: the Engine API's port maps (`"80/tcp"`,
//! `"0.0.0.0"`, `"8080"`, `"::"`; a container publishing a hundred ports
//! sends about four hundred of them in each of its port maps), and the
//! addresses, bridges and protocols of the Docker rules expected for them.
//! A host with ten thousand ports would otherwise allocate one per string.

use super::SmallBytes;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::{Serialize, Serializer};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// The longest string kept inline (an IPv4 address with a port and more).
const INLINE: usize = 22;

/// A string, compared, printed and serialized as the `str` it holds.
#[derive(Clone, Default)]
pub struct ShortStr(SmallBytes<INLINE>);

impl ShortStr {
    pub fn as_str(&self) -> &str {
        // SAFETY: a `ShortStr` is only made from a whole `&str` or `String`
        // (the `From` impls below), so its bytes are UTF-8.
        unsafe { std::str::from_utf8_unchecked(self.0.as_slice()) }
    }
}

impl From<&str> for ShortStr {
    fn from(s: &str) -> Self {
        ShortStr(SmallBytes::from(s.as_bytes()))
    }
}

impl From<String> for ShortStr {
    fn from(s: String) -> Self {
        ShortStr(SmallBytes::from(s.into_bytes()))
    }
}

impl Deref for ShortStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for ShortStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for ShortStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ShortStr {}

impl PartialEq<str> for ShortStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ShortStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// As the `str` (which [`Borrow`] requires).
impl Hash for ShortStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for ShortStr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ShortStr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for ShortStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ShortStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ShortStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ShortStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = ShortStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ShortStr, E> {
                Ok(ShortStr::from(s))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<ShortStr, E> {
                Ok(ShortStr::from(s))
            }
        }
        d.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_strings_read_and_compare_as_their_text() {
        let short: ShortStr = serde_json::from_str(r#""80/tcp""#).unwrap();
        assert!(short.0.is_inline());
        assert_eq!(short.as_str(), "80/tcp");
        let long = "2001:db8:1234:5678:9abc:def0:1:2";
        let heap: ShortStr = serde_json::from_str(&format!("{long:?}")).unwrap();
        assert!(!heap.0.is_inline());
        assert_eq!(heap.as_str(), long);
        assert_eq!(short.cmp(&ShortStr::from("443/tcp")), Ordering::Greater);
        assert_eq!(format!("{short:?}"), r#""80/tcp""#);
        assert_eq!(serde_json::to_string(&heap).unwrap(), format!("{long:?}"));
        assert!(serde_json::from_str::<ShortStr>("8080").is_err());
        let map: std::collections::BTreeMap<ShortStr, u8> =
            serde_json::from_str(r#"{"80/tcp":1,"53/udp":2}"#).unwrap();
        assert_eq!(map.get("53/udp"), Some(&2));
    }
}
