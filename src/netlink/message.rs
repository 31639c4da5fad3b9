//! Netlink message framing: `nlmsghdr` (+ `nfgenmsg` for nfnetlink) and the
//! error/ack payload. Pure code, no I/O.

use super::attr::{AttrWriter, Attrs};
use nfdoctor_sys::netlink::{
    nlmsgerr, nlmsghdr, NLMSGERR_ATTR_MSG, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_ACK_TLVS, NLM_F_CAPPED,
};
use nfdoctor_sys::nfnetlink::{nfgenmsg, NFNETLINK_V0};
use nfdoctor_sys::{nl_align, Pod};

/// A datagram that does not parse as netlink messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("netlink header truncated at byte {offset}")]
    TruncatedHeader { offset: usize },
    #[error("netlink message at byte {offset} claims {len} bytes, only {available} left")]
    BadLength {
        offset: usize,
        len: usize,
        available: usize,
    },
    #[error("netlink message type {msg_type:#x} too short for its fixed header")]
    ShortPayload { msg_type: u16 },
}

/// One message of a datagram.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub header: nlmsghdr,
    /// Everything after the `nlmsghdr`.
    pub payload: &'a [u8],
}

impl<'a> Message<'a> {
    /// The `nfgenmsg` header and the attributes after it.
    pub fn nfgen(&self) -> Result<(nfgenmsg, Attrs<'a>), FrameError> {
        let gen = nfgenmsg::read_from_prefix(self.payload).ok_or(FrameError::ShortPayload {
            msg_type: self.header.nlmsg_type,
        })?;
        Ok((gen, Attrs::new(&self.payload[4..])))
    }

    /// For `NLMSG_ERROR`: the error code (0 = ACK, else -errno) and the
    /// extended-ack message, if the kernel sent one.
    pub fn error(&self) -> Result<Option<ErrorMessage<'a>>, FrameError> {
        if self.header.nlmsg_type != NLMSG_ERROR {
            return Ok(None);
        }
        let err = nlmsgerr::read_from_prefix(self.payload).ok_or(FrameError::ShortPayload {
            msg_type: NLMSG_ERROR,
        })?;
        let mut ext_msg = None;
        if self.header.nlmsg_flags & NLM_F_ACK_TLVS != 0 {
            // The TLVs follow the echoed request: its header only when capped,
            // the whole request otherwise.
            let echoed = if self.header.nlmsg_flags & NLM_F_CAPPED != 0 {
                NLMSG_HDRLEN
            } else {
                err.msg.nlmsg_len as usize
            };
            let tlv_start = nl_align(4 + echoed);
            if let Some(tlvs) = self.payload.get(tlv_start..) {
                ext_msg = Attrs::new(tlvs)
                    .find(NLMSGERR_ATTR_MSG)
                    .and_then(|a| a.str().ok());
            }
        }
        Ok(Some(ErrorMessage {
            error: err.error,
            request: err.msg,
            ext_msg,
        }))
    }
}

/// The payload of an `NLMSG_ERROR` message.
#[derive(Debug, Clone, Copy)]
pub struct ErrorMessage<'a> {
    /// 0 for an ACK, else a negative errno.
    pub error: i32,
    /// The header of the request this answers.
    pub request: nlmsghdr,
    /// The kernel's extended-ack text, when it gave one.
    pub ext_msg: Option<&'a str>,
}

/// Iterates over the messages of one datagram.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    buf: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> Messages<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Messages {
            buf,
            offset: 0,
            failed: false,
        }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.buf.len() {
            return None;
        }
        let rest = &self.buf[self.offset..];
        let Some(header) = nlmsghdr::read_from_prefix(rest) else {
            self.failed = true;
            return Some(Err(FrameError::TruncatedHeader {
                offset: self.offset,
            }));
        };
        let len = header.nlmsg_len as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            self.failed = true;
            return Some(Err(FrameError::BadLength {
                offset: self.offset,
                len,
                available: rest.len(),
            }));
        }
        self.offset += nl_align(len).min(rest.len());
        Some(Ok(Message {
            header,
            payload: &rest[NLMSG_HDRLEN..len],
        }))
    }
}

/// Appends one nfnetlink message (header, `nfgenmsg`, attributes written by
/// `body`) to `buf`, which may already hold other messages of a batch.
pub fn put_nfnl_message(
    buf: &mut Vec<u8>,
    msg_type: u16,
    flags: u16,
    seq: u32,
    family: u8,
    res_id: u16,
    body: impl FnOnce(&mut AttrWriter<'_>),
) {
    let start = buf.len();
    let header = nlmsghdr {
        nlmsg_len: 0,
        nlmsg_type: msg_type,
        nlmsg_flags: flags,
        nlmsg_seq: seq,
        nlmsg_pid: 0,
    };
    buf.extend_from_slice(header.as_bytes());
    let gen = nfgenmsg {
        nfgen_family: family,
        version: NFNETLINK_V0,
        res_id: res_id.to_be(),
    };
    buf.extend_from_slice(gen.as_bytes());
    body(&mut AttrWriter::new(buf));
    let len = u32::try_from(buf.len() - start).expect("netlink message larger than 4 GiB");
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

/// Appends a message with a fixed header struct (rtnetlink style) and
/// attributes written by `body`.
pub fn put_message<H: Pod>(
    buf: &mut Vec<u8>,
    msg_type: u16,
    flags: u16,
    seq: u32,
    fixed: &H,
    body: impl FnOnce(&mut AttrWriter<'_>),
) {
    let start = buf.len();
    let header = nlmsghdr {
        nlmsg_len: 0,
        nlmsg_type: msg_type,
        nlmsg_flags: flags,
        nlmsg_seq: seq,
        nlmsg_pid: 0,
    };
    buf.extend_from_slice(header.as_bytes());
    buf.extend_from_slice(fixed.as_bytes());
    buf.resize(nl_align(buf.len()), 0);
    body(&mut AttrWriter::new(buf));
    let len = u32::try_from(buf.len() - start).expect("netlink message larger than 4 GiB");
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use nfdoctor_sys::netlink::NLM_F_REQUEST;

    #[test]
    fn getgen_request_matches_capture() {
        // netfilter-abi.md B.2
        let mut buf = Vec::new();
        put_nfnl_message(&mut buf, 0x0a10, NLM_F_REQUEST, 0, 0, 0, |_| {});
        assert_eq!(
            buf,
            [0x14, 0, 0, 0, 0x10, 0x0a, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn newgen_reply_parses() {
        let reply: &[u8] = &[
            0x38, 0, 0, 0, 0x0f, 0x0a, 0, 0, 0, 0, 0, 0, 0xa8, 0x43, 0, 0, 0, 0, 0, 1, 8, 0, 1, 0,
            0, 0, 0, 1, 8, 0, 2, 0, 0, 0, 0x43, 0xa8, 0x11, 0, 3, 0, b'i', b'p', b't', b'a', b'b',
            b'l', b'e', b's', b'-', b'n', b'f', b't', 0, 0, 0, 0,
        ];
        let msgs: Vec<_> = Messages::new(reply).collect::<Result<_, _>>().unwrap();
        assert_eq!(msgs.len(), 1);
        let (gen, attrs) = msgs[0].nfgen().unwrap();
        assert_eq!(u16::from_be(gen.res_id), 1);
        assert_eq!(attrs.find(1).unwrap().be_u32().unwrap(), 1);
        assert_eq!(attrs.find(3).unwrap().str().unwrap(), "iptables-nft");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(Messages::new(&[1, 2, 3]).next().unwrap().is_err());
        let mut bad = vec![0u8; 16];
        bad[0] = 200;
        assert!(Messages::new(&bad).next().unwrap().is_err());
        bad[0] = 3;
        assert!(Messages::new(&bad).next().unwrap().is_err());
    }
}
