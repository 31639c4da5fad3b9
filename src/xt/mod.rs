//! One codec for x_tables match and target payloads, shared by both back
//! ends: the legacy blob carries them after each entry, nf_tables carries the
//! same bytes in its compat `match`/`target` expressions.
//!
//! An [`Extension`] always keeps the kernel's bytes, so any extension, known
//! or not, round-trips unchanged. [`MatchValue`] and [`TargetValue`] are typed
//! views decoded from those bytes by (name, revision, family); they print the
//! `iptables-save` arguments and are built by the rules-file parser.

pub mod parse;
pub mod revision;
pub mod text;

mod addrtype;
mod comment;
mod connmark;
mod conntrack;
mod ct;
pub mod icmp;
mod iprange;
mod limit;
mod log;
mod mac;
mod mark;
mod multiport;
mod nat;
mod options;
mod owner;
mod physdev;
mod pkttype;
mod reject;
mod set;
mod tcpudp;
#[cfg(test)]
mod testing;

pub use addrtype::Addrtype;
pub use comment::Comment;
pub use connmark::{Connmark, ConnmarkTarget};
pub use conntrack::{Conntrack, State};
pub use ct::Ct;
pub use icmp::{Icmp, Icmp6, IcmpSpec};
pub use iprange::Iprange;
pub use limit::Limit;
pub use log::Log;
pub use mac::Mac;
pub use mark::{Mark, MarkTarget};
pub use multiport::Multiport;
pub use nat::{Dnat, Masquerade, NatRange, Redirect, Snat};
pub use owner::Owner;
pub use parse::{Arg, OptSpec, ParseCtx, Services};
pub use physdev::Physdev;
pub use pkttype::Pkttype;
pub use reject::Reject;
pub use set::Set;
pub use tcpudp::{PortRange, Tcp, Udp};

use crate::Family;
use nfdoctor_sys::xt_align;
use parse::Parse;
use serde::Serialize;
use std::borrow::Cow;

/// Which side of a rule an extension sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Match,
    Target,
}

/// An extension's payload bytes. Nearly every payload on a Docker host is
/// a few dozen bytes (`tcp` 16, `DNAT` 48, `MASQUERADE` 24, `addrtype` 16)
/// and is kept inline; larger ones (`comment` 256, `conntrack` 168) live on
/// the heap. 48 is `XT_ALIGN(sizeof(struct nf_nat_range2))`.
pub type Payload = crate::small::SmallBytes<48>;

/// A match or target exactly as the kernel holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extension {
    /// The names this codec knows are shared, not copied per rule.
    pub name: Cow<'static, str>,
    pub revision: u8,
    /// The payload after the 32-byte header, padded to `XT_ALIGN`.
    pub data: Payload,
}

impl Extension {
    pub fn new(name: impl Into<Cow<'static, str>>, revision: u8, data: impl Into<Payload>) -> Self {
        Extension {
            name: known_name(name.into()),
            revision,
            data: data.into(),
        }
    }
}

/// An extension name as the kernel gives it (lossily decoded): the codec's
/// own string when it knows it, without copying.
pub fn name_from_bytes(bytes: &[u8]) -> Cow<'static, str> {
    match std::str::from_utf8(bytes).ok().and_then(static_name) {
        Some(n) => Cow::Borrowed(n),
        None => Cow::Owned(String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// `name`, as the codec's own `'static` name when it knows it.
fn known_name(name: Cow<'static, str>) -> Cow<'static, str> {
    match name {
        Cow::Owned(n) => static_name(&n).map_or(Cow::Owned(n), Cow::Borrowed),
        borrowed => borrowed,
    }
}

/// The codec's own string for a match or target name it knows.
fn static_name(name: &str) -> Option<&'static str> {
    MatchValue::static_name(name).or_else(|| TargetValue::static_name(name))
}

/// A payload that does not decode as its (name, revision) says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} revision {revision}: {reason}")]
pub struct XtError {
    pub name: String,
    pub revision: u8,
    pub reason: String,
}

impl XtError {
    pub fn new(name: &str, revision: u8, reason: impl Into<String>) -> Self {
        XtError {
            name: name.to_string(),
            revision,
            reason: reason.into(),
        }
    }
}

/// What printing an extension needs from its rule and from the kernel.
pub struct SaveCtx<'a> {
    pub family: Family,
    /// The rule's `-p` protocol (0 = any), which some extensions consult.
    pub proto: u16,
    /// ipset index → name; the `set` match stores indexes.
    pub set_name: &'a dyn Fn(u16) -> Option<String>,
}

impl std::fmt::Debug for SaveCtx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaveCtx")
            .field("family", &self.family)
            .field("proto", &self.proto)
            .finish_non_exhaustive()
    }
}

/// Reads the C struct `T` from a payload that must be exactly
/// `XT_ALIGN(sizeof(T))` bytes, as the kernel dumps it.
pub(crate) fn read_payload<T: nfdoctor_sys::Pod>(
    name: &str,
    revision: u8,
    data: &[u8],
) -> Result<T, XtError> {
    let want = xt_align(std::mem::size_of::<T>());
    if data.len() != want {
        return Err(XtError::new(
            name,
            revision,
            format!("payload is {} bytes, expected {want}", data.len()),
        ));
    }
    T::read_from_prefix(data).ok_or_else(|| XtError::new(name, revision, "payload too short"))
}

/// A 0/1 inversion field, as the matches that have one store it; anything
/// else is not a payload iptables writes.
pub(crate) fn invert_flag(name: &str, revision: u8, raw: impl Into<i64>) -> Result<bool, XtError> {
    match raw.into() {
        0 => Ok(false),
        1 => Ok(true),
        n => Err(XtError::new(name, revision, format!("invert flag {n}"))),
    }
}

/// The payload bytes of `value`, zero-padded to `XT_ALIGN`.
pub(crate) fn write_payload<T: nfdoctor_sys::Pod>(value: &T) -> Payload {
    let bytes = value.as_bytes();
    let mut out = Payload::from(bytes);
    out.resize(xt_align(bytes.len()), 0);
    out
}

macro_rules! typed_values {
    ($(#[$meta:meta])* $enum:ident, { $($variant:ident($ty:ty) = $name:literal parse [$($pname:literal),*]),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "extension", rename_all = "lowercase")]
        pub enum $enum {
            $($variant($ty)),*
        }

        impl $enum {
            /// Decodes `ext`; `Ok(None)` for extensions or revisions this
            /// codec does not type (their bytes are kept as they are).
            pub fn decode(ext: &Extension, family: Family) -> Result<Option<Self>, XtError> {
                match &*ext.name {
                    $($name => <$ty as Codec>::decode(ext.revision, family, &ext.data).map(|v| v.map($enum::$variant)),)*
                    _ => Ok(None),
                }
            }

            /// Encodes the value as `revision` of its extension.
            pub fn encode(&self, revision: u8, family: Family) -> Extension {
                match self {
                    $($enum::$variant(v) => Extension::new($name, revision, v.encode(revision, family)),)*
                }
            }

            /// Appends the `iptables-save` arguments (each preceded by a
            /// space) that follow `-m NAME` / `-j NAME`.
            pub fn save(&self, ctx: &SaveCtx<'_>, out: &mut String) {
                match self {
                    $($enum::$variant(v) => v.save(ctx, out),)*
                }
            }

            /// The name printed after `-m`/`-j` when it differs from the
            /// kernel's (e.g. `state` for conntrack's state alias).
            pub fn alias(&self) -> Option<&'static str> {
                match self {
                    $($enum::$variant(v) => v.alias(),)*
                }
            }

            /// Whether `name` is an extension this codec knows.
            pub fn knows(name: &str) -> bool {
                matches!(name, $($name)|*)
            }

            /// `name` as this codec's own string, when it knows it.
            pub fn static_name(name: &str) -> Option<&'static str> {
                match name {
                    $($name => Some($name),)*
                    _ => None,
                }
            }

            /// The kernel's name for the extension.
            pub fn kernel_name(&self) -> &'static str {
                match self {
                    $($enum::$variant(_) => $name,)*
                }
            }

            /// Starts parsing `-m NAME` / `-j NAME`; `None` if no typed
            /// extension goes by that command-line name.
            pub fn start(name: &str, ctx: &ParseCtx<'_>) -> Option<Self> {
                match name {
                    $(n if [$($pname),*].contains(&n) => Some($enum::$variant(<$ty as Parse>::start(name, ctx))),)*
                    _ => None,
                }
            }

            /// The long options this extension takes.
            pub fn options(&self) -> &'static [OptSpec] {
                match self {
                    $($enum::$variant(_) => <$ty as Parse>::OPTIONS,)*
                }
            }

            /// Applies one option; `invert` when a `!` preceded it. The error
            /// names what is wrong with the value.
            pub fn option(&mut self, name: &str, arg: Option<&str>, invert: bool, ctx: &ParseCtx<'_>) -> Result<(), String> {
                match self {
                    $($enum::$variant(v) => <$ty as Parse>::option(v, name, arg, invert, ctx),)*
                }
            }

            /// Final checks; returns the revision to write.
            pub fn finish(&mut self, ctx: &ParseCtx<'_>) -> Result<u8, String> {
                match self {
                    $($enum::$variant(v) => <$ty as Parse>::finish(v, ctx),)*
                }
            }
        }
    };
}

/// The behaviour every typed extension implements.
pub(crate) trait Codec: Sized {
    /// `Ok(None)`: a revision this codec does not type.
    fn decode(revision: u8, family: Family, data: &[u8]) -> Result<Option<Self>, XtError>;
    fn encode(&self, revision: u8, family: Family) -> Payload;
    fn save(&self, ctx: &SaveCtx<'_>, out: &mut String);
    fn alias(&self) -> Option<&'static str> {
        None
    }
}

typed_values!(
    /// Typed views of the matches nfdoctor understands.
    MatchValue, {
        Tcp(Tcp) = "tcp" parse ["tcp"],
        Udp(Udp) = "udp" parse ["udp"],
        Icmp(Icmp) = "icmp" parse ["icmp"],
        Icmp6(Icmp6) = "icmp6" parse ["icmp6", "ipv6-icmp", "icmpv6"],
        Multiport(Multiport) = "multiport" parse ["multiport"],
        Addrtype(Addrtype) = "addrtype" parse ["addrtype"],
        // `-m state` is written as conntrack with the state alias flag.
        Conntrack(Conntrack) = "conntrack" parse ["conntrack", "state"],
        State(State) = "state" parse [],
        Comment(Comment) = "comment" parse ["comment"],
        Mark(Mark) = "mark" parse ["mark"],
        Connmark(Connmark) = "connmark" parse ["connmark"],
        Mac(Mac) = "mac" parse ["mac"],
        Iprange(Iprange) = "iprange" parse ["iprange"],
        Limit(Limit) = "limit" parse ["limit"],
        Physdev(Physdev) = "physdev" parse ["physdev"],
        Set(Set) = "set" parse ["set"],
        Owner(Owner) = "owner" parse ["owner"],
        Pkttype(Pkttype) = "pkttype" parse ["pkttype"],
    }
);

typed_values!(
    /// Typed views of the targets nfdoctor understands.
    TargetValue, {
        Dnat(Dnat) = "DNAT" parse ["DNAT"],
        Snat(Snat) = "SNAT" parse ["SNAT"],
        Masquerade(Masquerade) = "MASQUERADE" parse ["MASQUERADE"],
        Redirect(Redirect) = "REDIRECT" parse ["REDIRECT"],
        Reject(Reject) = "REJECT" parse ["REJECT"],
        Log(Log) = "LOG" parse ["LOG"],
        MarkTarget(MarkTarget) = "MARK" parse ["MARK"],
        ConnmarkTarget(ConnmarkTarget) = "CONNMARK" parse ["CONNMARK"],
        // `-j NOTRACK` is written as CT with the notrack alias flag.
        Ct(Ct) = "CT" parse ["CT", "NOTRACK"],
    }
);
