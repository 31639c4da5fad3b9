//! The legacy x_tables kernel interface: get/setsockopt on a raw IP socket.
//! Everything above talks to [`XtKernel`], so it can be tested without a
//! kernel.

use crate::Family;
use nfdoctor_sys::ip6_tables::{
    IP6T_SO_GET_ENTRIES, IP6T_SO_GET_INFO, IP6T_SO_GET_REVISION_MATCH, IP6T_SO_GET_REVISION_TARGET,
    IP6T_SO_SET_ADD_COUNTERS, IP6T_SO_SET_REPLACE,
};
use nfdoctor_sys::ip_tables::{
    ipt_get_entries, ipt_getinfo, ipt_replace, IPT_SO_GET_ENTRIES, IPT_SO_GET_INFO,
    IPT_SO_GET_REVISION_MATCH, IPT_SO_GET_REVISION_TARGET, IPT_SO_SET_ADD_COUNTERS,
    IPT_SO_SET_REPLACE,
};
use nfdoctor_sys::ipset::{
    ip_set_req_get_set, ip_set_req_version, IPSET_INVALID_ID, IPSET_MAXNAMELEN,
    IP_SET_OP_GET_BYINDEX, IP_SET_OP_GET_BYNAME, IP_SET_OP_VERSION, SO_IP_SET,
};
use nfdoctor_sys::x_tables::{xt_counters, xt_counters_info, xt_get_revision, XT_TABLE_MAXNAMELEN};
use nfdoctor_sys::{c_name, c_name_bytes, Pod};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// What the legacy back end asks of the kernel. `ipt_getinfo` and
/// `ip6t_getinfo` share one layout, as do the replace headers.
pub trait XtKernel {
    fn get_info(&mut self, table: &str) -> io::Result<ipt_getinfo>;
    /// The entry blob; `size` must be the one `get_info` returned (the kernel
    /// answers `EAGAIN` if the table changed in between).
    fn get_entries(&mut self, table: &str, size: u32) -> io::Result<Vec<u8>>;
    /// [`XtKernel::get_entries`], but the blob may start at an offset of the
    /// returned buffer (returned too): moving a large blob to the front of
    /// its buffer costs time.
    fn get_entries_buf(&mut self, table: &str, size: u32) -> io::Result<(Vec<u8>, usize)> {
        self.get_entries(table, size).map(|blob| (blob, 0))
    }
    /// `SO_SET_REPLACE`; returns the old entries' counters.
    fn replace(&mut self, header: &ipt_replace, blob: &[u8]) -> io::Result<Vec<xt_counters>>;
    /// [`XtKernel::replace`] of a blob that follows room for the header
    /// in `buf` (`size_of::<ipt_replace>()` bytes, overwritten): a large
    /// blob is sent from where it was written.
    fn replace_prefixed(
        &mut self,
        header: &ipt_replace,
        buf: &mut [u8],
    ) -> io::Result<Vec<xt_counters>> {
        let room = std::mem::size_of::<ipt_replace>();
        self.replace(header, &buf[room..])
    }
    /// `SO_SET_ADD_COUNTERS`: adds `counters[i]` to new entry `i`.
    fn add_counters(&mut self, table: &str, counters: &[xt_counters]) -> io::Result<()>;
    /// Whether the kernel has revision `revision` of a match or target.
    fn has_revision(&mut self, name: &str, revision: u8, target: bool) -> io::Result<bool>;
    /// The name of ipset `index` (the `set` match stores indexes).
    fn set_name(&mut self, index: u16) -> io::Result<Option<String>>;
    /// The index of the ipset called `name`, if it exists.
    fn set_index(&mut self, name: &str) -> io::Result<Option<u16>>;
}

/// A raw socket of one family (plus an IPv4 one for ipset queries, which
/// the kernel only answers there).
#[derive(Debug)]
pub struct RawSocket {
    family: Family,
    fd: OwnedFd,
    ipset_fd: Option<OwnedFd>,
}

fn open_raw(domain: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with constant arguments; the result is checked.
    let fd = unsafe {
        libc::socket(
            domain,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_RAW,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor we own exclusively.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl RawSocket {
    /// Needs CAP_NET_RAW (to open) and CAP_NET_ADMIN (for every call) in the
    /// user namespace owning the current network namespace.
    pub fn open(family: Family) -> io::Result<Self> {
        let domain = match family {
            Family::Ipv4 => libc::AF_INET,
            Family::Ipv6 => libc::AF_INET6,
        };
        Ok(RawSocket {
            family,
            fd: open_raw(domain)?,
            ipset_fd: None,
        })
    }

    fn level(&self) -> i32 {
        match self.family {
            Family::Ipv4 => libc::SOL_IP,
            Family::Ipv6 => libc::SOL_IPV6,
        }
    }

    fn opt(&self, v4: i32, v6: i32) -> i32 {
        match self.family {
            Family::Ipv4 => v4,
            Family::Ipv6 => v6,
        }
    }

    fn ipset_fd(&mut self) -> io::Result<i32> {
        if self.family == Family::Ipv4 {
            return Ok(self.fd.as_raw_fd());
        }
        if self.ipset_fd.is_none() {
            self.ipset_fd = Some(open_raw(libc::AF_INET)?);
        }
        Ok(self.ipset_fd.as_ref().map(|f| f.as_raw_fd()).unwrap_or(-1))
    }
}

/// `getsockopt` into `buf`, which holds the request on entry.
fn getsockopt(fd: i32, level: i32, opt: i32, buf: &mut [u8]) -> io::Result<usize> {
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `buf` is valid for `len` bytes of reads and writes for the
    // duration of the call, and `len` is a live socklen_t.
    let rc = unsafe { libc::getsockopt(fd, level, opt, buf.as_mut_ptr().cast(), &mut len) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(len as usize)
}

fn setsockopt(fd: i32, level: i32, opt: i32, buf: &[u8]) -> io::Result<()> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes during the call.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            buf.as_ptr().cast(),
            buf.len() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn table_name(table: &str) -> io::Result<[u8; XT_TABLE_MAXNAMELEN]> {
    c_name(table).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "table name too long"))
}

impl XtKernel for RawSocket {
    fn get_info(&mut self, table: &str) -> io::Result<ipt_getinfo> {
        let mut info = ipt_getinfo::zeroed();
        info.name = table_name(table)?;
        let mut buf = info.as_bytes().to_vec();
        getsockopt(
            self.fd.as_raw_fd(),
            self.level(),
            self.opt(IPT_SO_GET_INFO, IP6T_SO_GET_INFO),
            &mut buf,
        )?;
        ipt_getinfo::read_from_prefix(&buf)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "short GET_INFO reply"))
    }

    fn get_entries(&mut self, table: &str, size: u32) -> io::Result<Vec<u8>> {
        let (mut buf, start) = self.get_entries_buf(table, size)?;
        buf.drain(..start);
        Ok(buf)
    }

    fn get_entries_buf(&mut self, table: &str, size: u32) -> io::Result<(Vec<u8>, usize)> {
        let header = ipt_get_entries {
            name: table_name(table)?,
            size,
            _pad: [0; 4],
        };
        let head_len = header.as_bytes().len();
        let mut buf = vec![0u8; head_len + size as usize];
        buf[..head_len].copy_from_slice(header.as_bytes());
        getsockopt(
            self.fd.as_raw_fd(),
            self.level(),
            self.opt(IPT_SO_GET_ENTRIES, IP6T_SO_GET_ENTRIES),
            &mut buf,
        )?;
        Ok((buf, head_len))
    }

    fn replace(&mut self, header: &ipt_replace, blob: &[u8]) -> io::Result<Vec<xt_counters>> {
        let room = std::mem::size_of::<ipt_replace>();
        let mut buf = Vec::with_capacity(room + blob.len());
        buf.resize(room, 0);
        buf.extend_from_slice(blob);
        self.replace_prefixed(header, &mut buf)
    }

    fn replace_prefixed(
        &mut self,
        header: &ipt_replace,
        buf: &mut [u8],
    ) -> io::Result<Vec<xt_counters>> {
        let mut old = vec![xt_counters::default(); header.num_counters as usize];
        let mut h = *header;
        h.counters = old.as_mut_ptr() as u64;
        let room = std::mem::size_of::<ipt_replace>();
        buf[..room].copy_from_slice(h.as_bytes());
        setsockopt(
            self.fd.as_raw_fd(),
            self.level(),
            self.opt(IPT_SO_SET_REPLACE, IP6T_SO_SET_REPLACE),
            buf,
        )?;
        // The kernel wrote the old counters through the pointer in `h`,
        // into `old`, which outlived the call.
        Ok(old)
    }

    fn add_counters(&mut self, table: &str, counters: &[xt_counters]) -> io::Result<()> {
        let info = xt_counters_info {
            name: table_name(table)?,
            num_counters: counters.len() as u32,
            _pad: [0; 4],
        };
        let mut buf = info.as_bytes().to_vec();
        for c in counters {
            buf.extend_from_slice(c.as_bytes());
        }
        setsockopt(
            self.fd.as_raw_fd(),
            self.level(),
            self.opt(IPT_SO_SET_ADD_COUNTERS, IP6T_SO_SET_ADD_COUNTERS),
            &buf,
        )
    }

    fn has_revision(&mut self, name: &str, revision: u8, target: bool) -> io::Result<bool> {
        let req = xt_get_revision {
            name: c_name(name).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "extension name too long")
            })?,
            revision,
        };
        let opt = match (target, self.family) {
            (false, Family::Ipv4) => IPT_SO_GET_REVISION_MATCH,
            (true, Family::Ipv4) => IPT_SO_GET_REVISION_TARGET,
            (false, Family::Ipv6) => IP6T_SO_GET_REVISION_MATCH,
            (true, Family::Ipv6) => IP6T_SO_GET_REVISION_TARGET,
        };
        let mut buf = req.as_bytes().to_vec();
        match getsockopt(self.fd.as_raw_fd(), self.level(), opt, &mut buf) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EPROTONOSUPPORT) => Ok(false),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn set_name(&mut self, index: u16) -> io::Result<Option<String>> {
        let fd = self.ipset_fd()?;
        let version = ipset_version(fd)?;
        let mut set = [0u8; IPSET_MAXNAMELEN];
        set[..2].copy_from_slice(&index.to_ne_bytes());
        let mut req = ip_set_req_get_set {
            op: IP_SET_OP_GET_BYINDEX,
            version,
            set,
        }
        .as_bytes()
        .to_vec();
        getsockopt(fd, libc::SOL_IP, SO_IP_SET, &mut req)?;
        let reply = ip_set_req_get_set::read_from_prefix(&req)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "short SO_IP_SET reply"))?;
        let name = c_name_bytes(&reply.set);
        Ok((!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned()))
    }

    fn set_index(&mut self, name: &str) -> io::Result<Option<u16>> {
        let fd = self.ipset_fd()?;
        let version = ipset_version(fd)?;
        let Some(set) = c_name::<IPSET_MAXNAMELEN>(name) else {
            return Ok(None);
        };
        let mut req = ip_set_req_get_set {
            op: IP_SET_OP_GET_BYNAME,
            version,
            set,
        }
        .as_bytes()
        .to_vec();
        getsockopt(fd, libc::SOL_IP, SO_IP_SET, &mut req)?;
        let reply = ip_set_req_get_set::read_from_prefix(&req)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "short SO_IP_SET reply"))?;
        let index = u16::from_ne_bytes([reply.set[0], reply.set[1]]);
        Ok((index != IPSET_INVALID_ID).then_some(index))
    }
}

/// The ipset protocol version the kernel speaks (`IP_SET_OP_VERSION`).
fn ipset_version(fd: i32) -> io::Result<u32> {
    let mut ver = ip_set_req_version {
        op: IP_SET_OP_VERSION,
        version: 0,
    }
    .as_bytes()
    .to_vec();
    getsockopt(fd, libc::SOL_IP, SO_IP_SET, &mut ver)?;
    Ok(ip_set_req_version::read_from_prefix(&ver)
        .map(|v| v.version)
        .unwrap_or(0))
}
