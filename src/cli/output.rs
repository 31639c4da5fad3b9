//! Writing to stdout: buffered, able to hold back the start of the output
//! (so that a reader can still take it back), and quiet when the reader
//! goes away (`nfdoctor save | head`).

use std::io::{self, Write};

/// Buffered stdout that remembers whether the pipe closed.
pub type Stdout = Output<io::StdoutLock<'static>>;

impl Stdout {
    pub fn new() -> Self {
        Output::to(io::stdout().lock())
    }
}

/// Buffered output that can hold its start back and remembers whether the
/// reader went away.
pub struct Output<W: Write> {
    inner: io::BufWriter<W>,
    closed: bool,
    /// Output held back, while holding.
    held: Option<Vec<u8>>,
    /// Holding stops (and `held` is written) beyond this many bytes.
    hold_limit: usize,
    /// Bytes written so far, held ones included.
    position: u64,
}

impl<W: Write> Output<W> {
    pub fn to(writer: W) -> Self {
        Output {
            inner: io::BufWriter::with_capacity(64 * 1024, writer),
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

impl<W: Write> std::fmt::Debug for Output<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stdout")
            .field("closed", &self.closed)
            .field("position", &self.position)
            .field("holding", &self.held.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Keeps what it is given; fails with a broken pipe after `limit` bytes.
    #[derive(Clone)]
    struct Pipe {
        got: Rc<RefCell<Vec<u8>>>,
        limit: usize,
    }

    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut got = self.got.borrow_mut();
            if got.len() >= self.limit {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.limit - got.len());
            got.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn pipe(limit: usize) -> (Output<Pipe>, Rc<RefCell<Vec<u8>>>) {
        let got = Rc::new(RefCell::new(Vec::new()));
        (
            Output::to(Pipe {
                got: got.clone(),
                limit,
            }),
            got,
        )
    }

    #[test]
    fn held_output_can_be_taken_back_until_it_leaves() {
        let (mut out, got) = pipe(usize::MAX);
        out.hold(16);
        out.write("*filter\n").unwrap();
        let mark = out.position();
        out.write("-A X\n").unwrap();
        assert!(out.rewind(mark));
        out.write("# comment\n").unwrap();
        // Past the limit everything goes out, and nothing comes back.
        let mark = out.position();
        out.write("COMMIT\n").unwrap();
        assert!(!out.rewind(mark));
        out.flush().unwrap();
        assert_eq!(&*got.borrow(), b"*filter\n# comment\nCOMMIT\n");
    }

    #[test]
    fn a_small_output_is_held_until_flushed() {
        let (mut out, got) = pipe(usize::MAX);
        out.hold(1 << 20);
        out.write("*nat\nCOMMIT\n").unwrap();
        assert!(got.borrow().is_empty());
        assert!(out.rewind(0));
        out.write("*raw\nCOMMIT\n").unwrap();
        out.flush().unwrap();
        assert_eq!(&*got.borrow(), b"*raw\nCOMMIT\n");
    }

    #[test]
    fn a_closed_pipe_is_quiet() {
        let (mut out, got) = pipe(100);
        for _ in 0..100_000 {
            out.write("-A DOCKER -j ACCEPT\n").unwrap();
            if out.is_closed() {
                break;
            }
        }
        assert!(out.is_closed());
        out.flush().unwrap();
        assert_eq!(got.borrow().len(), 100);
    }
}
