//! nfdoctor: read, write, diagnose and repair Linux netfilter rules, natively.
//!
//! Layers, each using only those before it: `sys` (kernel ABI, its own
//! crate) → [`netlink`] → [`xt`] and [`ruleset`] → [`backend`] →
//! [`docker`], [`host`] → [`doctor`], [`repair`] → [`cli`].

pub mod backend;
pub mod cli;
pub mod docker;
pub mod doctor;
pub mod family;
pub mod host;
pub mod netlink;
pub mod repair;
pub mod ruleset;
pub mod small;
pub mod xt;

pub use family::Family;

/// Version and commit, from build.rs.
pub const VERSION: &str = env!("NFDOCTOR_VERSION");
