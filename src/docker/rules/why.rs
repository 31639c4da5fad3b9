//! Why Docker has a rule, in words. A host publishing thousands of ports
//! has two or three rules per port, and only the few that `check` reports
//! or `fix` puts back are ever shown: a port rule keeps what its sentence
//! is made of and writes it when shown.

use crate::docker::Proto;
use serde::{Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// What a rule is for, e.g. "DNAT 8080/tcp → web (172.17.0.2:80)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    Text(String),
    Static(&'static str),
    /// nat DOCKER DNAT of a published port.
    Dnat {
        container: Arc<str>,
        /// `None`: any address of the family.
        host_ip: Option<IpAddr>,
        host_port: u16,
        proto: Proto,
        to: SocketAddr,
    },
    /// filter DOCKER ACCEPT of a published port.
    PortAccept {
        container: Arc<str>,
        proto: Proto,
        to: SocketAddr,
    },
    /// nat POSTROUTING MASQUERADE of a container reaching its own port.
    SelfMasquerade {
        container: Arc<str>,
        proto: Proto,
        port: u16,
    },
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Text(s) => f.write_str(s),
            Why::Static(s) => f.write_str(s),
            Why::Dnat {
                container,
                host_ip,
                host_port,
                proto,
                to,
            } => {
                f.write_str("DNAT ")?;
                match host_ip {
                    Some(IpAddr::V6(a)) => write!(f, "[{a}]:")?,
                    Some(a) => write!(f, "{a}:")?,
                    None => {}
                }
                write!(f, "{host_port}/{} → {container} ({to})", proto.as_str())
            }
            Why::PortAccept {
                container,
                proto,
                to,
            } => write!(
                f,
                "accept forwarded packets to {container}'s published port {}/{} ({})",
                to.port(),
                proto.as_str(),
                to.ip()
            ),
            Why::SelfMasquerade {
                container,
                proto,
                port,
            } => write!(
                f,
                "{container} reaching its own published port {port}/{} through the host",
                proto.as_str()
            ),
        }
    }
}

impl From<String> for Why {
    fn from(s: String) -> Why {
        Why::Text(s)
    }
}

impl From<&'static str> for Why {
    fn from(s: &'static str) -> Why {
        Why::Static(s)
    }
}

impl Serialize for Why {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_rules_read_as_before() {
        let web: Arc<str> = Arc::from("web");
        let to4: SocketAddr = "172.17.0.2:80".parse().expect("address");
        let to6: SocketAddr = "[fd00::2]:80".parse().expect("address");
        let dnat = |host_ip: Option<IpAddr>, to| Why::Dnat {
            container: web.clone(),
            host_ip,
            host_port: 8080,
            proto: Proto::Tcp,
            to,
        };
        assert_eq!(
            dnat(None, to4).to_string(),
            "DNAT 8080/tcp → web (172.17.0.2:80)"
        );
        assert_eq!(
            dnat(Some("127.0.0.1".parse().expect("ip")), to4).to_string(),
            "DNAT 127.0.0.1:8080/tcp → web (172.17.0.2:80)"
        );
        assert_eq!(
            dnat(Some("::1".parse().expect("ip")), to6).to_string(),
            "DNAT [::1]:8080/tcp → web ([fd00::2]:80)"
        );
        let accept = Why::PortAccept {
            container: web.clone(),
            proto: Proto::Udp,
            to: to6,
        };
        assert_eq!(
            accept.to_string(),
            "accept forwarded packets to web's published port 80/udp (fd00::2)"
        );
        let hairpin = Why::SelfMasquerade {
            container: web,
            proto: Proto::Tcp,
            port: 80,
        };
        assert_eq!(
            hairpin.to_string(),
            "web reaching its own published port 80/tcp through the host"
        );
        assert_eq!(
            serde_json::to_string(&Why::Static("x")).expect("json"),
            "\"x\""
        );
    }
}
