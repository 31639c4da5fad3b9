//! Test support: a lab of real Docker engines, each in network namespaces of its own.
//!
//! Include it from an integration test with `mod support;`. Prepare the machine once
//! with `.ci/setup-lab` (as root). A test starts with
//! `let Some(lab) = Lab::require() else { return };`, which skips (with a message) on
//! a machine without the lab, or fails when `NFDOCTOR_REQUIRE_LAB=1` (CI).
//!
//! ```text
//! sudo .ci/setup-lab                        # once; ~40 s fresh, ~1 s when done
//! sudo cargo test --test lab_smoke          # ~20 s: 3 engines x 2 backends, proxy, restart
//! NFDOCTOR_LAB_DIR=/elsewhere …             # both use /var/cache/nfdoctor-lab otherwise
//! ```
//!
//! ```ignore
//! let Some(lab) = Lab::require() else { return };
//! let spec = EngineSpec { userland_proxy: false, ..EngineSpec::new(DockerVersion::V28_5, Backend::Nft) };
//! let engine = Engine::start(&lab, spec);
//! let server = engine.run_server(Network::Default, 8080, 5353);
//! assert_eq!(engine.client().http_get(ENGINE_ADDR, 8080).as_deref(), Ok(INDEX_HTML));
//! engine.netns_exec_ok(["iptables", "-t", "nat", "-S"]); // the engine's backend, in its netns
//! engine.stop();
//! ```
//!
//! * [`lab`]: the prepared lab folder and the prerequisites check.
//! * [`engine`]: a real dockerd in its own network, mount and pid namespaces.
//! * [`netns`]: a held network namespace; the engine's and the client's.
//! * [`workload`]: containers that serve published TCP and UDP ports.
//! * [`counters`]: packet counters of rules, from `iptables-save -c`.
//! * [`rundir`]: an engine's state folder and the clean-up of all it started.
//! * [`cmd`]: running commands and showing what they said.
//! * [`sandbox`]: throw-away `unshare -rn` namespaces for tests that need no
//!   Docker (real iptables tools as oracles).

// Each integration test uses a different part of the support code.
#![allow(dead_code, unused_imports)]

pub mod cmd;
pub mod counters;
pub mod engine;
pub mod lab;
pub mod netns;
pub mod rundir;
pub mod sandbox;
pub mod workload;

pub use engine::{Backend, DockerVersion, Engine, EngineSpec};
pub use lab::Lab;
pub use netns::Netns;
pub use netns::{CLIENT_ADDR, ENGINE_ADDR};
pub use workload::{Network, Proto, Server, INDEX_HTML};
