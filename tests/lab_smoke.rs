//! Smoke test of the Docker lab (`tests/support`): every engine the lab has (20.10,
//! 26.1, 28.5) on both iptables backends really publishes TCP and UDP ports through its
//! DNAT rules, on the default bridge and on a user-defined one; the seed failure
//! reproduces; the userland proxy and a daemon restart behave as the harness assumes.
//!
//! Needs root and `.ci/setup-lab`; skips otherwise (fails with NFDOCTOR_REQUIRE_LAB=1).

mod support;

use nfdoctor::Family;
use support::{
    Backend, DockerVersion, Engine, EngineSpec, Lab, Network, Proto, Server, ENGINE_ADDR,
    INDEX_HTML,
};

/// A container on docker0 and one on a user-defined bridge, each publishing a TCP and a
/// UDP port, reached from the client namespace as 192.0.2.1:PORT. The userland proxy is
/// off, so an answer can only come through Docker's DNAT rule — and its counter moves.
/// With `seed_failure`, then breaks the engine as the seed report did (below).
fn smoke(version: DockerVersion, backend: Backend, seed_failure: bool) {
    let Some(lab) = Lab::require() else { return };
    let spec = EngineSpec {
        userland_proxy: false,
        ..EngineSpec::new(version, backend)
    };
    let engine = Engine::start(&lab, spec);
    engine.create_network("nfd-user");
    let servers = [
        engine.run_server(Network::Default, 8080, 5353),
        engine.run_server(Network::Named("nfd-user"), 8081, 5354),
    ];
    for server in &servers {
        assert_reached_through_dnat(&engine, server);
    }

    // dockerd wrote its rules with the backend it was given, and only there.
    let other = if backend == Backend::Nft {
        Backend::Legacy
    } else {
        Backend::Nft
    };
    assert!(engine
        .iptables_save(Family::Ipv4, backend)
        .contains("\n-A DOCKER "));
    assert!(!engine.iptables_save(Family::Ipv4, other).contains("DOCKER"));

    if seed_failure {
        assert_seed_failure(&engine, &servers[0]);
    }
    engine.stop();
}

fn assert_reached_through_dnat(engine: &Engine, server: &Server) {
    let client = engine.client();

    let before = engine.dnat_packets(Proto::Tcp, server.tcp_port);
    let got = client.http_get(ENGINE_ADDR, server.tcp_port);
    assert_eq!(got.as_deref(), Ok(INDEX_HTML), "tcp {}", server.tcp_port);
    assert!(
        engine.dnat_packets(Proto::Tcp, server.tcp_port) > before,
        "tcp DNAT counter did not move"
    );

    let before = engine.dnat_packets(Proto::Udp, server.udp_port);
    let got = client.udp_roundtrip(ENGINE_ADDR, server.udp_port, "ping");
    assert_eq!(got.as_deref(), Ok("ping"), "udp {}", server.udp_port);
    assert!(
        engine.dnat_packets(Proto::Udp, server.udp_port) > before,
        "udp DNAT counter did not move"
    );
}

/// The seed failure (shared/lab/README.md): someone flushes nat PREROUTING and OUTPUT
/// and flushes and deletes nat DOCKER behind Docker's back. dockerd does not notice; the
/// next `docker run -p` fails with iptables' "No chain/target/match by that name"
/// (`iptables --wait -t nat -A DOCKER … -j DNAT …`; 28.5 prefixes "Unable to enable DNAT
/// rule"), and the port of the container that was already running stops answering (it
/// hangs: dockerd's own socket reserving the port accepts no connection). This is the
/// breakage nfdoctor must diagnose and repair.
fn assert_seed_failure(engine: &Engine, running: &Server) {
    for args in [
        ["-F", "DOCKER"],
        ["-F", "PREROUTING"],
        ["-F", "OUTPUT"],
        ["-X", "DOCKER"],
    ] {
        engine.netns_exec_ok(["iptables", "-t", "nat", args[0], args[1]]);
    }
    let error = engine
        .try_run_server(Network::Default, 8082, 5355)
        .expect_err("docker run -p succeeded without nat DOCKER");
    assert!(
        error.contains("No chain/target/match by that name"),
        "{error}"
    );
    assert!(engine
        .client()
        .http_get(ENGINE_ADDR, running.tcp_port)
        .is_err());
}

#[test]
fn engine_20_10_nft() {
    smoke(DockerVersion::V20_10, Backend::Nft, true);
}

#[test]
fn engine_20_10_legacy() {
    smoke(DockerVersion::V20_10, Backend::Legacy, true);
}

#[test]
fn engine_26_1_nft() {
    smoke(DockerVersion::V26_1, Backend::Nft, false);
}

#[test]
fn engine_26_1_legacy() {
    smoke(DockerVersion::V26_1, Backend::Legacy, false);
}

#[test]
fn engine_28_5_nft() {
    smoke(DockerVersion::V28_5, Backend::Nft, true);
}

#[test]
fn engine_28_5_legacy() {
    smoke(DockerVersion::V28_5, Backend::Legacy, true);
}

/// With the userland proxy on (Docker's default) the engine's own 127.0.0.1:PORT is
/// served by docker-proxy — nat OUTPUT skips 127.0.0.0/8 — so the DNAT counter stays
/// put; that is why the other tests turn the proxy off. From outside it is still DNAT.
/// Then a restart: same namespace and state, and a new container is reachable again.
#[test]
fn userland_proxy_and_restart() {
    let Some(lab) = Lab::require() else { return };
    let mut engine = Engine::start(&lab, EngineSpec::new(DockerVersion::V28_5, Backend::Nft));
    let server = engine.run_server(Network::Default, 8080, 5353);

    let before = engine.dnat_packets(Proto::Tcp, 8080);
    let local = engine.netns().http_get("127.0.0.1".parse().unwrap(), 8080);
    assert_eq!(local.as_deref(), Ok(INDEX_HTML));
    assert_eq!(
        engine.dnat_packets(Proto::Tcp, 8080),
        before,
        "loopback went through DNAT"
    );
    assert_reached_through_dnat(&engine, &server);

    let old_pid = engine.pid();
    engine.restart();
    assert_ne!(engine.pid(), old_pid);
    let server = engine.run_server(Network::Default, 8090, 5390);
    assert_reached_through_dnat(&engine, &server);
    engine.stop();
}
