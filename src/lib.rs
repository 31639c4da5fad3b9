//! nfdoctor: read, write, diagnose and repair Linux netfilter rules, natively.

pub mod family;
pub mod host;
pub mod netlink;

pub use family::Family;
