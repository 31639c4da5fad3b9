//! `owner` match, revision 1 (`xt_owner_match_info`: uid and gid ranges,
//! `XT_OWNER_*` match and invert bits). Revision 0 (pid/sid/command) is
//! long gone from the kernel and not typed.

use super::options::Seen;
use super::parse::{strtoul_prefix, xt_opt, OptSpec, Parse, ParseCtx, INVERT};
use super::Payload;
use super::{read_payload, write_payload, Codec, SaveCtx, XtError};
use crate::Family;
use nfdoctor_sys::xt::{
    xt_owner_match_info, XT_OWNER_GID, XT_OWNER_SOCKET, XT_OWNER_SUPPL_GROUPS, XT_OWNER_UID,
};
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Owner {
    pub uid_min: u32,
    pub uid_max: u32,
    pub gid_min: u32,
    pub gid_max: u32,
    /// `XT_OWNER_UID` 1, `GID` 2, `SOCKET` 4, `SUPPL_GROUPS` 8.
    pub match_flags: u8,
    /// The same bits, set for the tests under `!`.
    pub invert_flags: u8,
}

impl Codec for Owner {
    fn decode(revision: u8, _: Family, data: &[u8]) -> Result<Option<Self>, XtError> {
        if revision != 1 {
            return Ok(None);
        }
        let o: xt_owner_match_info = read_payload("owner", 1, data)?;
        Ok(Some(Owner {
            uid_min: o.uid_min,
            uid_max: o.uid_max,
            gid_min: o.gid_min,
            gid_max: o.gid_max,
            match_flags: o.r#match,
            invert_flags: o.invert,
        }))
    }

    fn encode(&self, _: u8, _: Family) -> Payload {
        write_payload(&xt_owner_match_info {
            uid_min: self.uid_min,
            uid_max: self.uid_max,
            gid_min: self.gid_min,
            gid_max: self.gid_max,
            r#match: self.match_flags,
            invert: self.invert_flags,
            _pad: [0; 2],
        })
    }

    /// `owner_mt_save`: numeric ids, in socket/uid/gid/groups order.
    fn save(&self, _: &SaveCtx<'_>, out: &mut String) {
        for (flag, label) in [
            (XT_OWNER_SOCKET, "--socket-exists"),
            (XT_OWNER_UID, "--uid-owner"),
            (XT_OWNER_GID, "--gid-owner"),
            (XT_OWNER_SUPPL_GROUPS, "--suppl-groups"),
        ] {
            if self.match_flags & flag == 0 {
                continue;
            }
            if self.invert_flags & flag != 0 {
                out.push_str(" !");
            }
            let _ = write!(out, " {label}");
            let range = match flag {
                XT_OWNER_UID => (self.uid_min, self.uid_max),
                XT_OWNER_GID => (self.gid_min, self.gid_max),
                _ => continue,
            };
            if range.0 != range.1 {
                let _ = write!(out, " {}-{}", range.0, range.1);
            } else {
                let _ = write!(out, " {}", range.0);
            }
        }
    }
}

/// The id of `name` in a `/etc/passwd` or `/etc/group` text (third
/// field), as `getpwnam`/`getgrnam` find it in the files database.
fn id_in_db(db: &str, name: &str) -> Option<u32> {
    db.lines().find_map(|line| {
        let mut f = line.split(':');
        (f.next()? == name).then_some(())?;
        f.next()?;
        f.next()?.trim().parse().ok()
    })
}

fn system_id(file: &str, name: &str) -> Option<u32> {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|db| id_in_db(&db, name))
}

/// `owner_parse_range`: `N`, `N-M` or `N:M`, each at most 2^32 - 2.
fn parse_range(s: &str, option: &str) -> Result<(u32, u32), String> {
    let bad = || format!("owner: Bad value for \"{option}\" option: \"{s}\"");
    let num = |t: &str| -> Result<(u32, usize), String> {
        match strtoul_prefix(t) {
            Some((Some(v), rest)) if v <= u64::from(u32::MAX - 1) => {
                Ok((v as u32, t.len() - rest.len()))
            }
            _ => Err(bad()),
        }
    };
    let (from, used) = num(s)?;
    let mut rest = &s[used..];
    let mut to = from;
    if let Some(r) = rest.strip_prefix(['-', ':']) {
        let (v, used) = num(r)?;
        to = v;
        rest = &r[used..];
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok((from, to))
}

impl Owner {
    fn seen(&self) -> Seen {
        let m = self.match_flags;
        let bit = |flag: u8, id: u8| if m & flag != 0 { 1u32 << id } else { 0 };
        Seen(
            bit(XT_OWNER_UID, 0)
                | bit(XT_OWNER_GID, 1)
                | bit(XT_OWNER_SOCKET, 2)
                | bit(XT_OWNER_SUPPL_GROUPS, 6),
        )
    }

    /// `owner_mt_parse` with the user and group databases given as text.
    fn apply(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        lookup: &dyn Fn(&str, &str) -> Option<u32>,
    ) -> Result<(), String> {
        let mut seen = self.seen();
        let (entry, arg) = seen.take("owner", Self::OPTIONS, name, arg, invert)?;
        let flag = match entry.id {
            0 => {
                let (from, to) = match lookup("/etc/passwd", arg) {
                    Some(uid) => (uid, uid),
                    None => parse_range(arg, "--uid-owner")?,
                };
                (self.uid_min, self.uid_max) = (from, to);
                XT_OWNER_UID
            }
            1 => {
                let (from, to) = match lookup("/etc/group", arg) {
                    Some(gid) => (gid, gid),
                    None => parse_range(arg, "--gid-owner")?,
                };
                (self.gid_min, self.gid_max) = (from, to);
                XT_OWNER_GID
            }
            2 => XT_OWNER_SOCKET,
            _ => {
                if self.match_flags & XT_OWNER_GID == 0 {
                    return Err("owner: Bad value for \"--suppl-groups\" option: \"you need to use --gid-owner first\"".into());
                }
                XT_OWNER_SUPPL_GROUPS
            }
        };
        self.match_flags |= flag;
        if invert {
            self.invert_flags |= flag;
        }
        Ok(())
    }
}

impl Parse for Owner {
    // libxt_owner's ids: O_USER 0, O_GROUP 1, O_SOCK_EXISTS 2, O_SUPPL_GROUPS 6.
    const OPTIONS: &'static [OptSpec] = &[
        xt_opt("uid-owner", 0, true, INVERT, 0),
        xt_opt("gid-owner", 1, true, INVERT, 0),
        xt_opt("socket-exists", 2, false, INVERT, 0),
        xt_opt("suppl-groups", 6, false, 0, 0),
    ];

    fn start(_: &str, _: &ParseCtx<'_>) -> Self {
        Owner::default()
    }

    /// User and group names are looked up in `/etc/passwd` and
    /// `/etc/group` (the files NSS database; other sources are not read).
    fn option(
        &mut self,
        name: &str,
        arg: Option<&str>,
        invert: bool,
        _: &ParseCtx<'_>,
    ) -> Result<(), String> {
        self.apply(name, arg, invert, &system_id)
    }

    fn finish(&mut self, _: &ParseCtx<'_>) -> Result<u8, String> {
        if self.match_flags == 0 {
            return Err(
                "owner: At least one of --uid-owner, --gid-owner or --socket-exists is required"
                    .into(),
            );
        }
        Ok(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xt::testing::{roundtrip, save, unhex};

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n1000:x:5:5::/:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nadm:x:4:syslog\n";

    fn lookup(file: &str, name: &str) -> Option<u32> {
        id_in_db(if file == "/etc/passwd" { PASSWD } else { GROUP }, name)
    }

    fn parse(args: &[(&str, Option<&str>, bool)]) -> Result<Owner, String> {
        let mut o = Owner::default();
        for (n, a, i) in args {
            o.apply(n, *a, *i, &lookup)?;
        }
        if o.match_flags == 0 {
            return Err("none".into());
        }
        Ok(o)
    }

    // Payloads captured from iptables 1.8.9 (legacy and nft identical) in a
    // user namespace where only uid/gid 0 is mapped.
    #[test]
    fn captures() {
        for (args, data, text) in [
            (
                &[
                    ("uid-owner", Some("0-0"), false),
                    ("gid-owner", Some("0"), true),
                    ("suppl-groups", None, false),
                ][..],
                "000000000000000000000000000000000b02000000000000",
                " --uid-owner 0 ! --gid-owner 0 --suppl-groups",
            ),
            (
                &[("socket-exists", None, true)][..],
                "000000000000000000000000000000000404000000000000",
                " ! --socket-exists",
            ),
            (
                &[("uid-owner", Some("root"), false)][..],
                "000000000000000000000000000000000100000000000000",
                " --uid-owner 0",
            ),
        ] {
            roundtrip::<Owner>(1, Family::Ipv4, data, text);
            assert_eq!(
                parse(args).expect("parses").encode(1, Family::Ipv4),
                unhex(data)
            );
        }
    }

    #[test]
    fn ranges_and_names() {
        let o = parse(&[
            ("uid-owner", Some("1000-2000"), false),
            ("gid-owner", Some("adm"), false),
        ])
        .expect("ok");
        assert_eq!(
            (o.uid_min, o.uid_max, o.gid_min, o.gid_max),
            (1000, 2000, 4, 4)
        );
        assert_eq!(
            save(&o, Family::Ipv6),
            " --uid-owner 1000-2000 --gid-owner 4"
        );
        let o = parse(&[("uid-owner", Some("0x10:020"), true)]).expect("ok");
        assert_eq!((o.uid_min, o.uid_max), (16, 16));
        assert_eq!(save(&o, Family::Ipv4), " ! --uid-owner 16");
        // getpwnam first: a user literally named "1000".
        assert_eq!(
            parse(&[("uid-owner", Some("1000"), false)])
                .expect("ok")
                .uid_min,
            5
        );
        assert_eq!(
            parse(&[("uid-owner", Some("www-data"), false)])
                .expect("ok")
                .uid_min,
            33
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(&[("uid-owner", Some("nobody-such"), false)]).map(|_| ()),
            Err("owner: Bad value for \"--uid-owner\" option: \"nobody-such\"".into())
        );
        assert!(parse(&[("uid-owner", Some("4294967295"), false)]).is_err());
        assert!(parse(&[("uid-owner", Some("1-"), false)]).is_err());
        assert!(parse(&[("gid-owner", Some("1-2x"), false)]).is_err());
        assert_eq!(
            parse(&[("suppl-groups", None, false)]).map(|_| ()),
            Err("owner: Bad value for \"--suppl-groups\" option: \"you need to use --gid-owner first\"".into())
        );
        assert_eq!(
            parse(&[("suppl-groups", None, true)]).map(|_| ()),
            Err("owner: option \"--suppl-groups\" cannot be inverted.".into())
        );
        assert_eq!(
            parse(&[
                ("socket-exists", None, false),
                ("socket-exists", None, false)
            ])
            .map(|_| ()),
            Err("owner: option \"--socket-exists\" can only be used once.".into())
        );
    }
}
