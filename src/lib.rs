//! nfdoctor: read, write, diagnose and repair Linux netfilter rules, natively.

pub mod family;
pub mod host;
pub mod netlink;

pub use family::Family;
pub mod backend;
pub mod cli;
pub mod ruleset;
pub mod xt;

/// Version and commit, from build.rs.
pub const VERSION: &str = env!("NFDOCTOR_VERSION");
pub mod docker;
pub mod doctor;
