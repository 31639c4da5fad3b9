//! Test support: a lab of real Docker engines, each in network namespaces of its own.
//!
//! Include it from an integration test with `mod support;`. Prepare the machine once
//! with `.ci/setup-lab` (as root). A test starts with
//! `let Some(lab) = Lab::require() else { return };`, which skips (with a message) on
//! a machine without the lab, or fails when `NFDOCTOR_REQUIRE_LAB=1` (CI).
//!
//! * [`lab`]: the prepared lab folder and the prerequisites check.
//! * [`engine`]: a real dockerd in its own network, mount and pid namespaces.
//! * [`netns`]: a held network namespace; the engine's and the client's.
//! * [`workload`]: containers that serve published TCP and UDP ports.
//! * [`counters`]: packet counters of rules, from `iptables-save -c`.
//! * [`rundir`]: an engine's state folder and the clean-up of all it started.
//! * [`cmd`]: running commands and showing what they said.

// Each integration test uses a different part of the support code.
#![allow(dead_code, unused_imports)]

pub mod cmd;
pub mod counters;
pub mod engine;
pub mod lab;
pub mod netns;
pub mod rundir;
pub mod workload;

pub use engine::{Backend, DockerVersion, Engine, EngineSpec};
pub use lab::Lab;
pub use netns::Netns;
pub use netns::{CLIENT_ADDR, ENGINE_ADDR};
pub use workload::{Network, Proto, Server, INDEX_HTML};
