//! Writing to stdout: buffered, able to hold back the start of the output
//! (so that a reader can still take it back), and quiet when the reader
//! goes away (`nfdoctor save | head`).

use std::io::{self, Write};

/// Buffered stdout that remembers whether the pipe closed.
pub struct Stdout {
    inner: io::BufWriter<io::StdoutLock<'static>>,
    closed: bool,
    /// Output held back, while holding.
    held: Option<Vec<u8>>,
    /// Holding stops (and `held` is written) beyond this many bytes.
    hold_limit: usize,
    /// Bytes written so far, held ones included.
    position: u64,
}

impl Stdout {
    pub fn new() -> Self {
        Stdout {
            inner: io::BufWriter::with_capacity(64 * 1024, io::stdout().lock()),
            closed: false,
            held: None,
            hold_limit: 0,
            position: 0,
        }
    }

    /// Holds output back until more than `limit` bytes are pending (or
    /// [`Stdout::flush`]); until then [`Stdout::rewind`] can take any of it
    /// back.
    pub fn hold(&mut self, limit: usize) {
        if self.held.is_none() && self.position == 0 {
            self.held = Some(Vec::new());
            self.hold_limit = limit;
        }
    }

    /// Bytes written so far (a mark for [`Stdout::rewind`]).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Takes back everything written after `mark`, if none of it has left
    /// the process yet. False (and nothing changes) otherwise.
    pub fn rewind(&mut self, mark: u64) -> bool {
        match &mut self.held {
            Some(held) if mark <= self.position => {
                held.truncate(mark as usize);
                self.position = mark;
                true
            }
            _ => false,
        }
    }

    /// Writes `text`; after a broken pipe, further writes are dropped.
    /// Other errors are returned.
    pub fn write(&mut self, text: &str) -> io::Result<()> {
        self.write_bytes(text.as_bytes())
    }

    pub fn write_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.position += bytes.len() as u64;
        if let Some(held) = &mut self.held {
            held.extend_from_slice(bytes);
            if held.len() <= self.hold_limit {
                return Ok(());
            }
            return self.release();
        }
        self.write_out(bytes)
    }

    /// Stops holding: what was held goes out.
    fn release(&mut self) -> io::Result<()> {
        match self.held.take() {
            Some(held) => self.write_out(&held),
            None => Ok(()),
        }
    }

    fn write_out(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.inner.write_all(bytes) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.release()?;
        if self.closed {
            return Ok(());
        }
        match self.inner.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }

    /// True once the reader has gone.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

impl std::fmt::Debug for Stdout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stdout")
            .field("closed", &self.closed)
            .field("position", &self.position)
            .field("holding", &self.held.is_some())
            .finish()
    }
}
