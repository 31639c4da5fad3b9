//! The one place netlink touches the kernel: a socket behind a small trait,
//! so everything above it can be tested with recorded replies.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nfdoctor_sys::netlink::{NETLINK_CAP_ACK, NETLINK_EXT_ACK, SOL_NETLINK};

/// Sends and receives whole netlink datagrams.
pub trait Transport {
    /// Sends one datagram (one batch, one request).
    fn send(&mut self, datagram: &[u8]) -> io::Result<()>;
    /// Receives one datagram into `buf` and returns its length. A datagram
    /// larger than `buf` is an error, never silently truncated.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Makes room to send datagrams of `bytes`; returns the largest datagram
    /// the transport can send now, which may be less (a user namespace caps
    /// socket buffers at `net.core.wmem_max`).
    fn reserve_send(&mut self, bytes: usize) -> io::Result<usize> {
        let _ = bytes;
        Ok(usize::MAX)
    }
}

/// netlink refuses a datagram longer than the send buffer less this.
const NETLINK_SEND_SLACK: usize = 32;

/// A bound `AF_NETLINK` socket.
#[derive(Debug)]
pub struct NetlinkSocket {
    fd: OwnedFd,
}

impl NetlinkSocket {
    /// Opens and binds a socket for `protocol` (`NETLINK_NETFILTER`,
    /// `NETLINK_ROUTE`), with extended acks and capped acks enabled.
    pub fn open(protocol: i32) -> io::Result<Self> {
        // SAFETY: plain syscall with constant arguments; the result is checked.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor we own exclusively.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_nl is plain data; zero is a valid initial value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: `addr` is a valid sockaddr_nl and the length matches it.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        let sock = NetlinkSocket { fd };
        // Both are best effort: old kernels lack them and they only make
        // error replies smaller and more informative.
        let _ = sock.set_int(SOL_NETLINK, NETLINK_EXT_ACK, 1);
        let _ = sock.set_int(SOL_NETLINK, NETLINK_CAP_ACK, 1);
        Ok(sock)
    }

    /// Asks for a receive buffer of `bytes`; returns what the kernel granted.
    pub fn set_recv_buffer(&self, bytes: usize) -> io::Result<usize> {
        self.set_buffer(libc::SO_RCVBUF, libc::SO_RCVBUFFORCE, bytes)
    }

    /// Asks for a send buffer of `bytes` (a batch must fit one send); returns
    /// what the kernel granted, which a user namespace caps at `wmem_max`.
    pub fn set_send_buffer(&self, bytes: usize) -> io::Result<usize> {
        self.set_buffer(libc::SO_SNDBUF, libc::SO_SNDBUFFORCE, bytes)
    }

    fn set_buffer(&self, opt: i32, force_opt: i32, bytes: usize) -> io::Result<usize> {
        let want = i32::try_from(bytes).unwrap_or(i32::MAX);
        // The FORCE variant needs CAP_NET_ADMIN in the initial namespace;
        // fall back to the capped one.
        if self.set_int(libc::SOL_SOCKET, force_opt, want).is_err() {
            self.set_int(libc::SOL_SOCKET, opt, want)?;
        }
        // The kernel doubles the value for bookkeeping and reports that.
        Ok(self.get_int(libc::SOL_SOCKET, opt)? as usize / 2)
    }

    fn set_int(&self, level: i32, opt: i32, value: i32) -> io::Result<()> {
        // SAFETY: passes a pointer to a live i32 and its exact size.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                opt,
                (&value as *const i32).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn get_int(&self, level: i32, opt: i32) -> io::Result<i32> {
        let mut value: i32 = 0;
        let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
        // SAFETY: `value` and `len` are live and describe a buffer of `len` bytes.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                level,
                opt,
                (&mut value as *mut i32).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(value)
    }
}

impl Transport for NetlinkSocket {
    fn reserve_send(&mut self, bytes: usize) -> io::Result<usize> {
        let room = |s: &Self| -> io::Result<usize> {
            let buffer = s.get_int(libc::SOL_SOCKET, libc::SO_SNDBUF)?;
            Ok((buffer as usize).saturating_sub(NETLINK_SEND_SLACK))
        };
        let now = room(self)?;
        if now >= bytes {
            return Ok(now);
        }
        // The kernel doubles the value asked for.
        self.set_send_buffer((bytes + NETLINK_SEND_SLACK).div_ceil(2))?;
        room(self)
    }

    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        loop {
            // SAFETY: the pointer and length describe `datagram`; the kernel
            // address is implicit (a zeroed destination means the kernel).
            let rc = unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    datagram.as_ptr().cast(),
                    datagram.len(),
                    0,
                )
            };
            if rc >= 0 {
                if rc as usize != datagram.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "netlink send was truncated",
                    ));
                }
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: the pointer and length describe `buf`, which outlives
            // the call. MSG_TRUNC makes the kernel report the real length.
            let rc = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_TRUNC,
                )
            };
            if rc >= 0 {
                let n = rc as usize;
                if n > buf.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "netlink datagram of {n} bytes exceeds the {} byte buffer",
                            buf.len()
                        ),
                    ));
                }
                return Ok(n);
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}
