//! Protocol names for `-p`, as iptables prints them: its own short list
//! first, then the system's `/etc/protocols` (what `getprotobynumber` reads
//! with the usual `files` NSS source), else the number.

use std::collections::HashMap;

/// `xtables_chain_protos`, in iptables' lookup order.
const BUILTIN: &[(&str, u16)] = &[
    ("tcp", 6),
    ("sctp", 132),
    ("udp", 17),
    ("udplite", 136),
    ("icmp", 1),
    ("ipv6-icmp", 58),
    ("icmpv6", 58),
    ("esp", 50),
    ("ah", 51),
    ("mobility-header", 135),
    ("ipv6-mh", 135),
    ("mh", 135),
    ("all", 0),
];

#[derive(Debug, Clone, Default)]
pub struct ProtoNames {
    by_number: HashMap<u16, String>,
    by_name: HashMap<String, u16>,
}

impl ProtoNames {
    /// Parses `/etc/protocols` text: `name number [aliases…] [# comment]`.
    /// The first line for a number wins, as with `getprotobynumber`.
    pub fn from_etc_protocols(text: &str) -> Self {
        let mut names = ProtoNames::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split_whitespace();
            let (Some(name), Some(num)) = (fields.next(), fields.next()) else {
                continue;
            };
            let Ok(num) = num.parse::<u16>() else {
                continue;
            };
            names
                .by_number
                .entry(num)
                .or_insert_with(|| name.to_string());
            names.by_name.entry(name.to_string()).or_insert(num);
            for alias in fields {
                names.by_name.entry(alias.to_string()).or_insert(num);
            }
        }
        names
    }

    /// Reads the system's `/etc/protocols`; empty when it is absent.
    pub fn system() -> Self {
        std::fs::read_to_string("/etc/protocols")
            .map(|t| Self::from_etc_protocols(&t))
            .unwrap_or_default()
    }

    /// `proto_to_name(proto, 0)`.
    pub fn name(&self, proto: u16) -> Option<&str> {
        BUILTIN
            .iter()
            .find(|(_, n)| *n == proto)
            .map(|(name, _)| *name)
            .or_else(|| {
                if proto == 0 {
                    None
                } else {
                    self.by_number.get(&proto).map(String::as_str)
                }
            })
    }

    /// `xtables_parse_protocol` for a name (numbers are parsed by the caller).
    pub fn number(&self, name: &str) -> Option<u16> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
            .or_else(|| self.by_name.get(name).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_list_wins_then_file() {
        let p = ProtoNames::from_etc_protocols(
            "ip 0 IP\nicmp 1 ICMP\ngre 47 GRE # comment\nipv6-icmp 58 IPv6-ICMP\n",
        );
        assert_eq!(p.name(6), Some("tcp"));
        assert_eq!(p.name(58), Some("ipv6-icmp"));
        assert_eq!(p.name(47), Some("gre"));
        assert_eq!(p.name(0), Some("all"));
        assert_eq!(p.name(200), None);
        assert_eq!(p.number("GRE"), Some(47));
    }
}
