//! Docker: what a daemon is (version, options, networks, containers), what
//! rules it must have, and how to ask it (the Engine API).

pub mod api;
pub mod model;
pub mod rules;

pub use model::{
    DaemonOptions, DockerState, Endpoint, Network, PortBinding, Proto, Subnet, Version,
};
