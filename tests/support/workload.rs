//! Containers that serve published ports: busybox `httpd` on 80/tcp and `udp-echo`
//! on 53/udp, on the default bridge or on a user-defined one.

use super::engine::{Engine, IMAGE};
use std::net::Ipv4Addr;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The container port `httpd` serves on.
pub const HTTP_PORT: u16 = 80;
/// The container port `udp-echo` answers on.
pub const UDP_PORT: u16 = 53;
/// What `GET /` returns (the test image's `/www/index.html`).
pub const INDEX_HTML: &str = "hello from the nfdoctor lab\n";

/// The servers, under a shell that ends on SIGTERM (a pid 1 without a handler ignores
/// it, and `docker stop` would wait 10 s).
const SERVE: &str = "trap 'exit 0' TERM; httpd -f -p 80 -h /www & udp-echo serve 53 & wait";

/// Where a container is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network<'a> {
    /// Docker's default `bridge` network (docker0).
    Default,
    /// A network made with [`Engine::create_network`].
    Named(&'a str),
}

/// A running server container and its published ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub id: String,
    /// Its address on its network.
    pub ip: Ipv4Addr,
    /// Host port published for [`HTTP_PORT`].
    pub tcp_port: u16,
    /// Host port published for [`UDP_PORT`].
    pub udp_port: u16,
}

/// A transport protocol, spelled as iptables does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

impl Engine {
    /// `docker network create NAME` (a user-defined bridge); returns its id.
    pub fn create_network(&self, name: &str) -> String {
        self.docker_ok(["network", "create", name])
            .trim()
            .to_string()
    }

    /// Runs a server publishing `tcp_port` → 80/tcp and `udp_port` → 53/udp, and waits
    /// until both answer on the container's own address. Panics if `docker run` fails.
    pub fn run_server(&self, network: Network, tcp_port: u16, udp_port: u16) -> Server {
        self.try_run_server(network, tcp_port, udp_port)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`run_server`](Self::run_server), returning what docker said when `docker run`
    /// fails (e.g. "No chain/target/match by that name" when Docker's chains are gone).
    pub fn try_run_server(
        &self,
        network: Network,
        tcp_port: u16,
        udp_port: u16,
    ) -> Result<Server, String> {
        let mut args = vec!["run".to_string(), "-d".into()];
        if let Network::Named(name) = network {
            args.push(format!("--network={name}"));
        }
        args.extend([
            format!("--publish={tcp_port}:{HTTP_PORT}/tcp"),
            format!("--publish={udp_port}:{UDP_PORT}/udp"),
            IMAGE.into(),
            "sh".into(),
            "-c".into(),
            SERVE.into(),
        ]);
        let out = self.docker(&args);
        if !out.status.success() {
            return Err(format!("docker {args:?}: {}", super::cmd::said(&out)));
        }
        let id = super::cmd::stdout(&out).trim().to_string();
        let ip = self
            .docker_ok([
                "inspect",
                "-f",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                &id,
            ])
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("no IPv4 address for container {id}: {e}"));
        let server = Server {
            id,
            ip,
            tcp_port,
            udp_port,
        };
        self.wait_until_serving(&server);
        Ok(server)
    }

    /// Polls the container directly from the engine's namespace (routed over the
    /// bridge, no NAT: the DNAT counters stay untouched).
    fn wait_until_serving(&self, server: &Server) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let http = self.netns().http_get(server.ip, HTTP_PORT);
            let udp = self.netns().udp_roundtrip(server.ip, UDP_PORT, "ready?");
            if http.is_ok() && udp.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "container {} does not serve: http {http:?}, udp {udp:?}",
                server.id
            );
            sleep(Duration::from_millis(50));
        }
    }
}
