//! nfnetlink batches: `BATCH_BEGIN` (with the generation the batch was
//! planned against), the messages, `BATCH_END`. The kernel applies a batch
//! all or nothing; without `BATCH_END` it only validates. Errors come back
//! per message; a barrier request after the batch collects them all.

use super::connection::Connection;
use super::error::NetlinkError;
use super::message::{put_nfnl_message, Messages};
use super::socket::Transport;
use super::AttrWriter;
use nfdoctor_sys::netlink::{NLMSG_ERROR, NLM_F_ACK, NLM_F_REQUEST};
use nfdoctor_sys::nfnetlink::{
    nfnl_msg_type, NFNL_BATCH_GENID, NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NFNL_SUBSYS_NFTABLES,
};

/// One message of a batch and what it does, for error reports.
#[derive(Debug, Clone)]
pub struct BatchItem {
    pub seq: u32,
    pub what: String,
}

/// A batch being built.
#[derive(Debug)]
pub struct Batch {
    buf: Vec<u8>,
    /// Offsets of message starts (after BEGIN), to split on.
    starts: Vec<usize>,
    items: Vec<BatchItem>,
    next_seq: u32,
}

/// Why a batch did not apply.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The ruleset changed since it was read (`ERESTART` on the batch
    /// begin): nothing was applied; read again and re-plan.
    #[error("the ruleset changed since it was read (generation {expected} is stale); nothing was applied")]
    Conflict { expected: u32 },
    /// Some messages were refused; nothing was applied.
    #[error("the kernel refused the change; nothing was applied:\n{}", .failures.iter().map(|(w, e)| format!("  {w}: {e}")).collect::<Vec<_>>().join("\n"))]
    Refused { failures: Vec<(String, String)> },
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
}

impl Batch {
    pub fn new() -> Self {
        Batch {
            buf: Vec::with_capacity(64 * 1024),
            starts: Vec::new(),
            items: Vec::new(),
            next_seq: 0,
        }
    }

    /// Appends an nf_tables message (`msg` is the `NFT_MSG_*` number).
    pub fn push(
        &mut self,
        msg: u8,
        flags: u16,
        family: u8,
        what: impl Into<String>,
        body: impl FnOnce(&mut AttrWriter<'_>),
    ) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.starts.push(self.buf.len());
        let msg_type = nfnl_msg_type(NFNL_SUBSYS_NFTABLES, msg);
        put_nfnl_message(
            &mut self.buf,
            msg_type,
            flags | NLM_F_REQUEST,
            seq,
            family,
            0,
            body,
        );
        self.items.push(BatchItem {
            seq,
            what: what.into(),
        });
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Bytes of the messages (without begin/end).
    pub fn size(&self) -> usize {
        self.buf.len()
    }

    /// The messages, as the kernel will read them (sequence numbers aside).
    pub fn messages(&self) -> Messages<'_> {
        Messages::new(&self.buf)
    }

    /// Splits into parts of at most `max_bytes` of messages each (a single
    /// larger message makes a part of its own), preferring cuts before a
    /// message `k` for which `cut_ok(k)` holds.
    pub fn split(self, max_bytes: usize, cut_ok: impl Fn(usize) -> bool) -> Vec<Batch> {
        if self.buf.len() <= max_bytes {
            return vec![self];
        }
        let n = self.items.len();
        let end_of = |k: usize| self.starts.get(k + 1).copied().unwrap_or(self.buf.len());
        let mut parts = Vec::new();
        let mut s = 0;
        while s < n {
            let base = self.starts[s];
            let mut e = s + 1;
            while e < n && end_of(e) - base <= max_bytes {
                e += 1;
            }
            if e < n {
                if let Some(c) = (s + 1..e).rev().find(|&k| cut_ok(k)) {
                    e = c;
                }
            }
            let end = self.starts.get(e).copied().unwrap_or(self.buf.len());
            parts.push(Batch {
                buf: self.buf[base..end].to_vec(),
                starts: self.starts[s..e].iter().map(|x| x - base).collect(),
                items: self.items[s..e].to_vec(),
                next_seq: self.next_seq,
            });
            s = e;
        }
        parts
    }
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new()
    }
}

fn control(buf: &mut Vec<u8>, msg_type: u16, seq: u32, genid: Option<u32>) {
    put_nfnl_message(
        buf,
        msg_type,
        NLM_F_REQUEST,
        seq,
        0,
        u16::from(NFNL_SUBSYS_NFTABLES),
        |w| {
            if let Some(g) = genid {
                w.put_be_u32(NFNL_BATCH_GENID, g);
            }
        },
    );
}

impl<T: Transport> Connection<T> {
    /// Sends `batch` in one datagram, checked against generation `genid`
    /// when given; `commit: false` only validates (no `BATCH_END`). Returns
    /// once the kernel has processed it, with every error it reported.
    pub fn send_batch(
        &mut self,
        batch: &Batch,
        genid: Option<u32>,
        commit: bool,
    ) -> Result<(), BatchError> {
        self.send_batch_with(batch, genid, commit).map(|_| ())
    }

    /// [`Self::send_batch`], committing. Returns the generation right after
    /// the batch (from the GETGEN sent behind it): one more than `genid`
    /// when nobody else committed in between.
    pub fn commit_batch(&mut self, batch: &Batch, genid: u32) -> Result<Option<u32>, BatchError> {
        self.send_batch_with(batch, Some(genid), true)
    }

    fn send_batch_with(
        &mut self,
        batch: &Batch,
        genid: Option<u32>,
        commit: bool,
    ) -> Result<Option<u32>, BatchError> {
        let n = batch.items.len() as u32;
        let first = self.take_seq(n + 3);
        let begin_seq = first;
        let end_seq = first + n + 1;
        let barrier_seq = first + n + 2;
        let mut out = Vec::with_capacity(batch.buf.len() + 64);
        control(&mut out, NFNL_MSG_BATCH_BEGIN, begin_seq, genid);
        // Renumber the messages into this conversation's sequence space.
        let base = out.len();
        out.extend_from_slice(&batch.buf);
        for (k, start) in batch.starts.iter().enumerate() {
            let at = base + start + 8;
            out[at..at + 4].copy_from_slice(&(first + 1 + k as u32).to_ne_bytes());
        }
        if commit {
            control(&mut out, NFNL_MSG_BATCH_END, end_seq, None);
        }
        // A GETGEN after the batch: its reply comes after every error the
        // batch produced, which the kernel queues while processing it.
        let barrier_type = (u16::from(NFNL_SUBSYS_NFTABLES) << 8)
            | u16::from(nfdoctor_sys::nf_tables::NFT_MSG_GETGEN);
        let mut barrier = Vec::new();
        put_nfnl_message(
            &mut barrier,
            barrier_type,
            NLM_F_REQUEST | NLM_F_ACK,
            barrier_seq,
            0,
            0,
            |_| {},
        );

        self.transport_mut()
            .send(&out)
            .map_err(|e| NetlinkError::io("sending an nf_tables batch", e))?;
        self.transport_mut()
            .send(&barrier)
            .map_err(|e| NetlinkError::io("sending an nf_tables batch", e))?;

        let mut failures = Vec::new();
        let mut conflict = false;
        let mut genid_after = None;
        let mut buf = vec![0u8; 64 * 1024];
        'recv: loop {
            let len = self
                .transport_mut()
                .recv(&mut buf)
                .map_err(|e| NetlinkError::io("reading the batch's replies", e))?;
            for msg in Messages::new(&buf[..len]) {
                let msg = msg.map_err(|e| NetlinkError::malformed("batch reply", e))?;
                let seq = msg.header.nlmsg_seq;
                if seq == barrier_seq {
                    if msg.header.nlmsg_type == NLMSG_ERROR {
                        break 'recv;
                    }
                    if let Ok((_, attrs)) = msg.nfgen() {
                        genid_after = attrs
                            .find(nfdoctor_sys::nf_tables::NFTA_GEN_ID)
                            .and_then(|a| a.be_u32().ok());
                    }
                    continue;
                }
                if msg.header.nlmsg_type != NLMSG_ERROR {
                    continue;
                }
                let Some(err) = msg
                    .error()
                    .map_err(|e| NetlinkError::malformed("batch reply", e))?
                else {
                    continue;
                };
                if err.error == 0 {
                    continue;
                }
                let errno = -err.error;
                if seq == begin_seq && errno == libc::ERESTART {
                    conflict = true;
                    continue;
                }
                let what = if seq == begin_seq || seq == end_seq {
                    "the batch".to_string()
                } else {
                    seq.checked_sub(first + 1)
                        .and_then(|k| batch.items.get(k as usize))
                        .map(|i| i.what.clone())
                        .unwrap_or_else(|| format!("message {seq}"))
                };
                let mut text = super::error::errno_text(errno);
                if let Some(ext) = err.ext_msg {
                    text.push_str(&format!(" ({ext})"));
                }
                failures.push((what, text));
            }
        }
        if conflict {
            return Err(BatchError::Conflict {
                expected: genid.unwrap_or(0),
            });
        }
        if !failures.is_empty() {
            return Err(BatchError::Refused { failures });
        }
        Ok(genid_after)
    }
}
