//! Host probes: everything about the machine that decides whether Docker's
//! netfilter rules can work, read from the kernel and from files, never by
//! running a program. Every probe reads through a [`HostRoot`], so tests
//! point it at a fake tree.

pub mod alternatives;
pub mod backends;
pub mod bridges;
pub mod dockerd;
pub mod firewalld;
pub mod links;
pub mod modules;
pub mod netns;
pub mod privileges;
pub mod process;
pub mod report;
pub mod root;
pub mod rootless;
pub mod sysctl;
pub mod ufw;
pub mod userns;
pub mod wsl;

pub use netns::{enter_netns, not_enough_privilege, NetnsTarget};
pub use privileges::{probe_privileges, Capability, Privileges};
pub use report::{collect_env, collect_modules, EnvOptions, EnvReport, ModulesReport};
pub use root::HostRoot;
