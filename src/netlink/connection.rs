//! Request/reply and dump exchanges over a [`Transport`].

use super::error::NetlinkError;
use super::message::{Message, Messages};
use super::socket::Transport;
use nfdoctor_sys::netlink::{NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_DUMP_INTR};

/// Receive buffer size. The kernel sizes dump datagrams from the reader's
/// buffer, capped just under 32 KiB; smaller buffers make large dumps several
/// times slower, larger ones only matter for big non-dump replies.
pub const RECV_BUFFER: usize = 64 * 1024;

/// What a [`Connection::dump`] handler wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpStep {
    Continue,
    /// Stop reading now. The kernel is left in the middle of the dump, so
    /// the connection cannot be used again: drop it.
    Stop,
}

/// How a [`Connection::dump`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpEnd {
    /// `NLMSG_DONE`: every message was handed over.
    Done,
    /// The handler said [`DumpStep::Stop`]; the connection is unusable.
    Stopped,
}

/// How a request ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exchange {
    /// A dump: replies until `NLMSG_DONE`.
    Dump,
    /// A request sent with `NLM_F_ACK`: replies until the ACK (or error).
    Acked,
}

/// A netlink conversation: a transport, a sequence counter and a buffer.
#[derive(Debug)]
pub struct Connection<T> {
    transport: T,
    seq: u32,
    recv_buf: Vec<u8>,
    send_buf: Vec<u8>,
    /// Set when a dump was abandoned half-way: the kernel would answer the
    /// rest of it (and refuse a new dump with `EBUSY`).
    abandoned: bool,
}

impl<T: Transport> Connection<T> {
    pub fn new(transport: T) -> Self {
        Connection {
            transport,
            // Start away from 0 so replies to other processes' requests (seq
            // 0 on a shared socket never happens, but stale datagrams might)
            // are easy to tell apart.
            seq: std::process::id().wrapping_mul(1000),
            recv_buf: vec![0; RECV_BUFFER],
            send_buf: Vec::with_capacity(4096),
            abandoned: false,
        }
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Reserves `count` consecutive sequence numbers and returns the first.
    pub fn take_seq(&mut self, count: u32) -> u32 {
        let first = self.seq.wrapping_add(1);
        self.seq = self.seq.wrapping_add(count);
        first
    }

    /// Sends the request written by `build` (given the buffer and its
    /// sequence number) and hands every reply message to `on_reply`, until the
    /// exchange ends. Kernel errors become [`NetlinkError::Kernel`] with
    /// `context`; an interrupted dump is drained, then reported as
    /// [`NetlinkError::DumpInterrupted`] so the caller can retry.
    pub fn exchange(
        &mut self,
        context: &dyn Fn() -> String,
        mode: Exchange,
        build: impl FnOnce(&mut Vec<u8>, u32),
        mut on_reply: impl FnMut(&Message<'_>) -> Result<(), NetlinkError>,
    ) -> Result<(), NetlinkError> {
        self.check_usable(context)?;
        let seq = self.take_seq(1);
        self.send_buf.clear();
        build(&mut self.send_buf, seq);
        self.transport
            .send(&self.send_buf)
            .map_err(|e| NetlinkError::io(context(), e))?;
        let mut interrupted = false;
        let mut pending: Option<NetlinkError> = None;
        loop {
            let n = self
                .transport
                .recv(&mut self.recv_buf)
                .map_err(|e| NetlinkError::io(context(), e))?;
            if n == 0 {
                return Err(NetlinkError::malformed(context(), "empty datagram"));
            }
            let datagram = &self.recv_buf[..n];
            for msg in Messages::new(datagram) {
                let msg = msg.map_err(|e| (context(), e))?;
                if msg.header.nlmsg_seq != seq {
                    // A late reply to an earlier request: not ours to handle.
                    continue;
                }
                if msg.header.nlmsg_flags & NLM_F_DUMP_INTR != 0 {
                    interrupted = true;
                }
                match msg.header.nlmsg_type {
                    NLMSG_NOOP | NLMSG_OVERRUN => continue,
                    NLMSG_DONE => {
                        // Newer kernels put a (negative) error in DONE.
                        let code = msg
                            .payload
                            .get(..4)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .unwrap_or(0);
                        if code < 0 {
                            return Err(NetlinkError::Kernel {
                                context: context(),
                                errno: -code,
                                ext: None,
                            });
                        }
                        if mode == Exchange::Dump {
                            return finish(pending, interrupted, context);
                        }
                    }
                    NLMSG_ERROR => {
                        let err = msg.error().map_err(|e| (context(), e))?.ok_or_else(|| {
                            NetlinkError::malformed(context(), "error message without payload")
                        })?;
                        if err.error != 0 {
                            return Err(NetlinkError::Kernel {
                                context: context(),
                                errno: -err.error,
                                ext: err.ext_msg.map(str::to_string),
                            });
                        }
                        if mode == Exchange::Acked {
                            return finish(pending, interrupted, context);
                        }
                    }
                    _ => {
                        if pending.is_none() {
                            // Keep reading to the end of the exchange even if
                            // the handler fails, so the socket stays in step.
                            if let Err(e) = on_reply(&msg) {
                                pending = Some(e);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whether an abandoned dump made this connection unusable.
    pub fn is_abandoned(&self) -> bool {
        self.abandoned
    }

    fn check_usable(&self, context: &dyn Fn() -> String) -> Result<(), NetlinkError> {
        if self.abandoned {
            return Err(NetlinkError::malformed(
                context(),
                "the socket was left in the middle of a dump",
            ));
        }
        Ok(())
    }

    /// A dump that the handler can cut short: every reply message to the
    /// request is handed to `on_message`, until `NLMSG_DONE` or until the
    /// handler says [`DumpStep::Stop`] (then the connection is abandoned).
    /// A message flagged `NLM_F_DUMP_INTR` ends the dump at once with
    /// [`NetlinkError::DumpInterrupted`] (the connection is abandoned too):
    /// what was read so far mixes two generations, so the caller starts
    /// again on a fresh connection instead of reading the rest.
    pub fn dump(
        &mut self,
        context: &dyn Fn() -> String,
        build: impl FnOnce(&mut Vec<u8>, u32),
        mut on_message: impl FnMut(&Message<'_>) -> Result<DumpStep, NetlinkError>,
    ) -> Result<DumpEnd, NetlinkError> {
        self.check_usable(context)?;
        let seq = self.take_seq(1);
        self.send_buf.clear();
        build(&mut self.send_buf, seq);
        self.transport
            .send(&self.send_buf)
            .map_err(|e| NetlinkError::io(context(), e))?;
        // Until DONE arrives the kernel holds a dump for this socket.
        self.abandoned = true;
        loop {
            let n = self
                .transport
                .recv(&mut self.recv_buf)
                .map_err(|e| NetlinkError::io(context(), e))?;
            if n == 0 {
                return Err(NetlinkError::malformed(context(), "empty datagram"));
            }
            for msg in Messages::new(&self.recv_buf[..n]) {
                let msg = msg.map_err(|e| (context(), e))?;
                if msg.header.nlmsg_seq != seq {
                    continue;
                }
                if msg.header.nlmsg_flags & NLM_F_DUMP_INTR != 0 {
                    return Err(NetlinkError::DumpInterrupted(context()));
                }
                match msg.header.nlmsg_type {
                    NLMSG_NOOP | NLMSG_OVERRUN => {}
                    NLMSG_DONE => {
                        self.abandoned = false;
                        let code = msg
                            .payload
                            .get(..4)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .unwrap_or(0);
                        if code < 0 {
                            return Err(NetlinkError::Kernel {
                                context: context(),
                                errno: -code,
                                ext: None,
                            });
                        }
                        return Ok(DumpEnd::Done);
                    }
                    NLMSG_ERROR => {
                        let err = msg.error().map_err(|e| (context(), e))?.ok_or_else(|| {
                            NetlinkError::malformed(context(), "error message without payload")
                        })?;
                        if err.error != 0 {
                            // The kernel ends a failed dump with the error.
                            self.abandoned = false;
                            return Err(NetlinkError::Kernel {
                                context: context(),
                                errno: -err.error,
                                ext: err.ext_msg.map(str::to_string),
                            });
                        }
                    }
                    _ => {
                        if on_message(&msg)? == DumpStep::Stop {
                            return Ok(DumpEnd::Stopped);
                        }
                    }
                }
            }
        }
    }
}

fn finish(
    pending: Option<NetlinkError>,
    interrupted: bool,
    context: &dyn Fn() -> String,
) -> Result<(), NetlinkError> {
    if interrupted {
        return Err(NetlinkError::DumpInterrupted(context()));
    }
    match pending {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
