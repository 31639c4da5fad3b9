//! Engine API versions and the choice of the one to speak.
//!
//! Why negotiate rather than pin `/v1.41` (the newest API of 20.10, the
//! oldest engine in the lab): a daemon answers a versioned path in that
//! version's shape, and hides what came later. Pinned at 1.41, 28.x would
//! drop `FirewallBackend` from `/info` (added in 1.49), and Docker 29 refuses
//! anything below 1.44 ("client version 1.41 is too old"). Unversioned paths
//! have the opposite problem: a future daemon would answer in a shape nobody
//! here has seen. So, like the docker CLI: `GET /version` (unversioned,
//! which every daemon serves), then speak `min(daemon's ApiVersion,
//! [`NEWEST_KNOWN`])`, but not below the daemon's `MinAPIVersion`. That gives
//! 1.41 on 20.10, 1.45 on 26.1, 1.51 on 28.5 and 29.x.

use serde::Serialize;
use std::fmt;

/// An Engine API version, `1.41`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    pub major: u32,
    pub minor: u32,
}

impl ApiVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        ApiVersion { major, minor }
    }

    /// Parses `1.41` (and `v1.41`).
    pub fn parse(text: &str) -> Option<ApiVersion> {
        let t = text.trim().trim_start_matches('v');
        let (major, minor) = t.split_once('.')?;
        Some(ApiVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    /// The path prefix, `/v1.41`.
    pub fn prefix(self) -> String {
        format!("/v{self}")
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Serialize for ApiVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Docker 18.03 (the oldest engine docker-rules.md describes).
pub const OLDEST_SUPPORTED: ApiVersion = ApiVersion::new(1, 37);
/// Docker 28.5: the newest response shapes this client was written against.
pub const NEWEST_KNOWN: ApiVersion = ApiVersion::new(1, 51);

/// What to speak to a daemon whose `/version` says `server` (`ApiVersion`)
/// and `server_min` (`MinAPIVersion`). `None` when the daemon is older than
/// [`OLDEST_SUPPORTED`].
pub fn negotiate(server: ApiVersion, server_min: Option<ApiVersion>) -> Option<ApiVersion> {
    if server < OLDEST_SUPPORTED {
        return None;
    }
    let chosen = server.min(NEWEST_KNOWN);
    Some(match server_min {
        Some(min) if min > chosen && min <= server => min,
        _ => chosen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_show() {
        assert_eq!(ApiVersion::parse("1.41"), Some(ApiVersion::new(1, 41)));
        assert_eq!(ApiVersion::parse("v1.51"), Some(ApiVersion::new(1, 51)));
        assert_eq!(ApiVersion::parse("1"), None);
        assert_eq!(ApiVersion::parse("one.two"), None);
        assert_eq!(ApiVersion::new(1, 9).to_string(), "1.9");
        assert!(ApiVersion::new(1, 9) < ApiVersion::new(1, 41));
        assert_eq!(ApiVersion::new(1, 41).prefix(), "/v1.41");
    }

    #[test]
    fn negotiation() {
        let v = |m| ApiVersion::new(1, m);
        // 20.10, 26.1, 28.5: their own version.
        assert_eq!(negotiate(v(41), Some(v(12))), Some(v(41)));
        assert_eq!(negotiate(v(45), Some(v(24))), Some(v(45)));
        assert_eq!(negotiate(v(51), Some(v(24))), Some(v(51)));
        // 29.x: capped at the newest known, which it still accepts.
        assert_eq!(negotiate(v(52), Some(v(44))), Some(v(51)));
        // A future daemon that refuses 1.51: its minimum.
        assert_eq!(negotiate(v(60), Some(v(55))), Some(v(55)));
        // Too old.
        assert_eq!(negotiate(v(36), Some(v(12))), None);
        assert_eq!(negotiate(v(37), None), Some(v(37)));
    }
}
