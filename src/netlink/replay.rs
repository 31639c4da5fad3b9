//! A scripted [`Transport`] for tests: records what was sent and answers each
//! request with prepared datagrams, rewriting their sequence numbers to the
//! request's so captured kernel replies can be replayed as they are.

use super::message::Messages;
use super::socket::Transport;
use std::collections::VecDeque;
use std::io;

#[derive(Debug, Default)]
pub struct ReplayTransport {
    /// Every datagram sent, in order.
    pub sent: Vec<Vec<u8>>,
    /// For each request, in order: the datagrams that answer it.
    script: VecDeque<Vec<Vec<u8>>>,
    queue: VecDeque<Vec<u8>>,
}

impl ReplayTransport {
    pub fn new(script: Vec<Vec<Vec<u8>>>) -> Self {
        ReplayTransport {
            sent: Vec::new(),
            script: script.into(),
            queue: VecDeque::new(),
        }
    }
}

impl Transport for ReplayTransport {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        self.sent.push(datagram.to_vec());
        let seq = Messages::new(datagram)
            .next()
            .and_then(Result::ok)
            .map(|m| m.header.nlmsg_seq)
            .unwrap_or(0);
        let replies = self.script.pop_front().unwrap_or_default();
        for mut d in replies {
            let mut off = 0;
            while off + 16 <= d.len() {
                let len = u32::from_ne_bytes([d[off], d[off + 1], d[off + 2], d[off + 3]]) as usize;
                d[off + 8..off + 12].copy_from_slice(&seq.to_ne_bytes());
                if len < 16 {
                    break;
                }
                off += (len + 3) & !3;
            }
            self.queue.push_back(d);
        }
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let d = self
            .queue
            .pop_front()
            .ok_or_else(|| io::Error::new(io::ErrorKind::WouldBlock, "no scripted reply left"))?;
        if d.len() > buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "datagram too large",
            ));
        }
        buf[..d.len()].copy_from_slice(&d);
        Ok(d.len())
    }
}
