//! Host probes: everything about the machine that decides whether Docker's
//! netfilter rules can work, read from the kernel and from files, never by
//! running a program. Every probe reads through a [`HostRoot`], so tests
//! point it at a fake tree.

pub mod modules;
pub mod netns;
pub mod privileges;
pub mod process;
pub mod root;

pub use root::HostRoot;
