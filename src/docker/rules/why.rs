//! Why Docker has a rule, in words. A host publishing thousands of ports
//! has two or three rules per port, and only the few that `check` reports
//! or `fix` puts back are ever shown: a port rule keeps only what its
//! [`Source`] does not say (its container's address), and its sentence is
//! written when shown ([`Reason`]).

use super::{Origin, Source};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// What a rule is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    Text(String),
    Static(&'static str),
    /// nat DOCKER DNAT of its [`Source::Port`] to this container address.
    Dnat(IpAddr),
    /// filter DOCKER ACCEPT of its [`Source::Port`] at this container
    /// address.
    PortAccept(IpAddr),
    /// nat POSTROUTING MASQUERADE of a container reaching its own
    /// [`Source::Port`].
    SelfMasquerade,
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

/// A rule's reason as shown, e.g. "DNAT 8080/tcp → web (172.17.0.2:80)":
/// its [`Why`] read with its [`Source`].
#[derive(Debug, Clone, Copy)]
pub struct Reason<'a> {
    why: &'a Why,
    source: &'a Source,
}

impl<'a> Reason<'a> {
    pub fn new(why: &'a Why, source: &'a Source) -> Reason<'a> {
        Reason { why, source }
    }
}

impl Origin {
    /// Why Docker has the rule, in words.
    pub fn reason(&self) -> Reason<'_> {
        Reason::new(&self.why, &self.source)
    }
}

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let port = match self.source {
            Source::Port {
                container,
                proto,
                host_ip,
                host_port,
                container_port,
                ..
            } => Some((
                container,
                proto.as_str(),
                host_ip,
                host_port,
                *container_port,
            )),
            _ => None,
        };
        match (self.why, port) {
            (Why::Text(s), _) => f.write_str(s),
            (Why::Static(s), _) => f.write_str(s),
            (Why::Dnat(ip), Some((container, proto, host_ip, host_port, port))) => {
                f.write_str("DNAT ")?;
                match host_ip {
                    Some(IpAddr::V6(a)) => write!(f, "[{a}]:")?,
                    Some(a) => write!(f, "{a}:")?,
                    None => {}
                }
                let to = SocketAddr::new(*ip, port);
                write!(f, "{host_port}/{proto} → {container} ({to})")
            }
            (Why::PortAccept(ip), Some((container, proto, _, _, port))) => write!(
                f,
                "accept forwarded packets to {container}'s published port {port}/{proto} ({ip})"
            ),
            (Why::SelfMasquerade, Some((container, proto, _, _, port))) => write!(
                f,
                "{container} reaching its own published port {port}/{proto} through the host"
            ),
            // Port rules come from ports: this is not reached.
            (_, None) => write!(f, "a published port of {}", self.source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::Proto;

    #[test]
    fn port_rules_read_as_before() {
        let port = |host_ip: Option<&str>, proto| Source::Port {
            container: "web".into(),
            network: "bridge".into(),
            proto,
            host_ip: host_ip.map(|h| h.parse().expect("ip")),
            host_port: 8080,
            container_port: 80,
        };
        let v4: IpAddr = "172.17.0.2".parse().expect("ip");
        let v6: IpAddr = "fd00::2".parse().expect("ip");
        let text = |why: Why, source: &Source| Reason::new(&why, source).to_string();
        let any = port(None, Proto::Tcp);
        assert_eq!(
            text(Why::Dnat(v4), &any),
            "DNAT 8080/tcp → web (172.17.0.2:80)"
        );
        assert_eq!(
            text(Why::Dnat(v4), &port(Some("127.0.0.1"), Proto::Tcp)),
            "DNAT 127.0.0.1:8080/tcp → web (172.17.0.2:80)"
        );
        assert_eq!(
            text(Why::Dnat(v6), &port(Some("::1"), Proto::Tcp)),
            "DNAT [::1]:8080/tcp → web ([fd00::2]:80)"
        );
        assert_eq!(
            text(Why::PortAccept(v6), &port(None, Proto::Udp)),
            "accept forwarded packets to web's published port 80/udp (fd00::2)"
        );
        assert_eq!(
            text(Why::SelfMasquerade, &any),
            "web reaching its own published port 80/tcp through the host"
        );
        assert_eq!(text(Why::Static("jump"), &Source::Daemon), "jump");
    }
}
