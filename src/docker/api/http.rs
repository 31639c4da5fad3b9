//! A small HTTP/1.1 client for the daemon's unix socket: `GET` requests,
//! answers with `Content-Length`, chunked or close-delimited bodies, size
//! caps, connect/write/read timeouts, keep-alive with one transparent retry
//! when the daemon had closed an idle connection.
//!
//! The socket sits behind [`Connector`] and [`Stream`], so the parser and
//! the client are tested on recorded byte streams and fake daemons.

use super::error::{ApiError, Phase};
use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Connect, write and read-silence timeout unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// A whole request (send, then read the full answer).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Status line plus headers.
pub const DEFAULT_MAX_HEAD: usize = 64 * 1024;
/// A body (a `/containers/json` of a few thousand containers fits).
pub const DEFAULT_MAX_BODY: usize = 32 * 1024 * 1024;
/// What the docker CLI sends as `Host` on a unix socket.
pub const HOST_HEADER: &str = "api.moby.localhost";

/// A connected byte stream (a [`UnixStream`], or a recording in tests).
pub trait Stream: Read + Write + Send {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Stream for UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_write_timeout(self, timeout)
    }
}

/// Opens connections to one daemon.
pub trait Connector: Send {
    /// The socket, for messages.
    fn path(&self) -> &Path;
    /// A new connection, or the reason there is none (already a finding).
    fn connect(&self, timeout: Duration) -> Result<Box<dyn Stream>, ApiError>;
    /// Another connector to the same daemon (for a second client that asks
    /// in parallel).
    fn duplicate(&self) -> Box<dyn Connector>;
}

/// The daemon's unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixConnector {
    path: PathBuf,
}

impl UnixConnector {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        UnixConnector { path: path.into() }
    }
}

impl Connector for UnixConnector {
    fn path(&self) -> &Path {
        &self.path
    }

    fn duplicate(&self) -> Box<dyn Connector> {
        Box::new(self.clone())
    }

    fn connect(&self, timeout: Duration) -> Result<Box<dyn Stream>, ApiError> {
        match connect_with_timeout(&self.path, timeout) {
            Ok(s) => Ok(Box::new(s)),
            Err(e) => Err(classify_connect_error(&self.path, e, timeout)),
        }
    }
}

/// `UnixStream::connect` blocks while the listener's backlog is full (a
/// stopped daemon): connect on a helper thread and stop waiting after
/// `timeout`. A thread left waiting drops its stream whenever it connects.
fn connect_with_timeout(path: &Path, timeout: Duration) -> io::Result<UnixStream> {
    let (tx, rx) = mpsc::channel();
    let target = path.to_path_buf();
    std::thread::Builder::new()
        .name("nfdoctor-docker-connect".into())
        .spawn(move || {
            let _ = tx.send(UnixStream::connect(target));
        })?;
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "connect did not complete",
        )),
        Err(RecvTimeoutError::Disconnected) => Err(io::Error::other(
            "the connecting thread ended without a result",
        )),
    }
}

/// Turns a failed `connect()` into the finding it means.
pub fn classify_connect_error(path: &Path, e: io::Error, timeout: Duration) -> ApiError {
    let path_buf = path.to_path_buf();
    match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => ApiError::SocketMissing { path: path_buf },
        Some(libc::EACCES) | Some(libc::EPERM) => {
            let (owner, group) = socket_owner(path);
            ApiError::PermissionDenied {
                path: path_buf,
                owner,
                group,
            }
        }
        Some(libc::ECONNREFUSED) | Some(libc::ENOTSOCK) => match file_kind(path) {
            Some(kind) if kind != "socket" => ApiError::NotASocket {
                path: path_buf,
                kind: kind.to_string(),
            },
            _ => ApiError::ConnectionRefused { path: path_buf },
        },
        _ if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock => {
            ApiError::Timeout {
                path: path_buf,
                phase: Phase::Connect,
                timeout,
            }
        }
        _ => ApiError::Io {
            path: path_buf,
            phase: Phase::Connect,
            source: e,
        },
    }
}

fn file_kind(path: &Path) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = std::fs::metadata(path).ok()?.file_type();
    Some(if t.is_socket() {
        "socket"
    } else if t.is_dir() {
        "directory"
    } else if t.is_file() {
        "regular file"
    } else {
        "special file"
    })
}

/// `user:group mode` of the socket and its group's name, when readable.
fn socket_owner(path: &Path) -> (Option<String>, Option<String>) {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(path) else {
        return (None, None);
    };
    let user = id_name("/etc/passwd", m.uid()).unwrap_or_else(|| m.uid().to_string());
    let group = id_name("/etc/group", m.gid());
    let owner = format!(
        "{user}:{} mode {:04o}",
        group.clone().unwrap_or_else(|| m.gid().to_string()),
        m.mode() & 0o7777
    );
    (Some(owner), group)
}

/// The name of `id` in `/etc/passwd` or `/etc/group` (`name:x:id:…`).
fn id_name(file: &str, id: u32) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    name_for_id(&text, id)
}

fn name_for_id(text: &str, id: u32) -> Option<String> {
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _password = f.next()?;
        (f.next()?.parse::<u32>().ok()? == id).then(|| name.to_string())
    })
}

/// How long to wait, and how much to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Connecting to the socket.
    pub connect_timeout: Duration,
    /// Sending a request.
    pub write_timeout: Duration,
    /// The longest silence while reading an answer.
    pub read_timeout: Duration,
    /// One whole request: send, then read the full answer.
    pub request_timeout: Duration,
    /// Status line and headers.
    pub max_head: usize,
    /// A body.
    pub max_body: usize,
    /// Reuse the connection (HTTP/1.1 keep-alive); otherwise every request
    /// says `Connection: close`.
    pub keep_alive: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: DEFAULT_TIMEOUT,
            write_timeout: DEFAULT_TIMEOUT,
            read_timeout: DEFAULT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_head: DEFAULT_MAX_HEAD,
            max_body: DEFAULT_MAX_BODY,
            keep_alive: true,
        }
    }
}

impl ClientOptions {
    /// Every timeout set to `timeout` (the request limit to 5×).
    pub fn with_timeout(timeout: Duration) -> Self {
        ClientOptions {
            connect_timeout: timeout,
            write_timeout: timeout,
            read_timeout: timeout,
            request_timeout: timeout * 5,
            ..ClientOptions::default()
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_head: self.max_head,
            max_body: self.max_body,
        }
    }
}

/// Size caps of the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_head: usize,
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: DEFAULT_MAX_HEAD,
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub minor_version: u8,
    pub status: u16,
    pub reason: String,
    /// In the order received, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Docker's error text: the `message` of its JSON error body, else the
    /// body as text (shortened), else the reason phrase.
    pub fn error_message(&self) -> String {
        #[derive(serde::Deserialize)]
        struct DockerError {
            message: String,
        }
        if let Ok(e) = serde_json::from_slice::<DockerError>(&self.body) {
            return e.message;
        }
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        if text.is_empty() {
            return if self.reason.is_empty() {
                "(no message)".into()
            } else {
                self.reason.clone()
            };
        }
        let mut short: String = text.chars().take(300).collect();
        if short.len() < text.len() {
            short.push('…');
        }
        short
    }
}

/// Why an answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Not one byte of an answer before the connection closed.
    #[error("the daemon closed the connection without answering")]
    ClosedEarly,
    #[error("the answer was cut short ({0})")]
    Truncated(String),
    #[error("{0}")]
    Malformed(String),
    #[error("{what} is larger than {limit} bytes")]
    TooLarge { what: &'static str, limit: usize },
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Buffered reading of HTTP messages from a byte stream; keeps what it read
/// past one answer for the next (keep-alive).
#[derive(Debug)]
pub struct ResponseReader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    /// Bytes taken from the stream since the last [`read_response`] began.
    taken: usize,
}

impl<R: Read> ResponseReader<R> {
    pub fn new(inner: R) -> Self {
        ResponseReader {
            inner,
            buf: Vec::new(),
            pos: 0,
            taken: 0,
        }
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Reads more from the stream; 0 at end of stream.
    fn fill(&mut self) -> Result<usize, HttpError> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 64 * 1024 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.inner.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.taken += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(HttpError::Io(e)),
            }
        }
    }

    /// One line without its `\r\n` (or bare `\n`), at most `limit` bytes.
    fn read_line(&mut self, limit: usize, what: &'static str) -> Result<Vec<u8>, HttpError> {
        let mut searched = 0;
        loop {
            if let Some(i) = self.buffered()[searched..].iter().position(|&b| b == b'\n') {
                let end = self.pos + searched + i;
                let mut line = self.buf[self.pos..end].to_vec();
                self.pos = end + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            searched = self.buffered().len();
            if searched > limit {
                return Err(HttpError::TooLarge { what, limit });
            }
            if self.fill()? == 0 {
                return Err(if self.taken == 0 {
                    HttpError::ClosedEarly
                } else {
                    HttpError::Truncated(format!("in the {what}"))
                });
            }
        }
    }

    /// Appends exactly `n` bytes to `out`.
    fn read_exact_into(
        &mut self,
        n: usize,
        out: &mut Vec<u8>,
        what: &str,
    ) -> Result<(), HttpError> {
        let mut left = n;
        while left > 0 {
            if self.buffered().is_empty() && self.fill()? == 0 {
                return Err(HttpError::Truncated(format!(
                    "{what}: {} of {n} bytes missing",
                    left
                )));
            }
            let take = left.min(self.buffered().len());
            out.extend_from_slice(&self.buf[self.pos..self.pos + take]);
            self.pos += take;
            left -= take;
        }
        Ok(())
    }

    /// Appends everything up to the end of the stream.
    fn read_to_end_into(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), HttpError> {
        loop {
            let have = self.buffered().len();
            if out.len() + have > limit {
                return Err(HttpError::TooLarge {
                    what: "the body",
                    limit,
                });
            }
            out.extend_from_slice(&self.buf[self.pos..]);
            self.pos = self.buf.len();
            if self.fill()? == 0 {
                return Ok(());
            }
        }
    }
}

/// Whether the connection can carry another request after this answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    KeepAlive,
    Close,
}

/// Reads one answer (skipping `1xx` interim answers). `head` when the
/// request was `HEAD` (no body follows whatever the headers say).
pub fn read_response<R: Read>(
    reader: &mut ResponseReader<R>,
    limits: Limits,
    head: bool,
) -> Result<(Response, Reuse), HttpError> {
    reader.taken = reader.buffered().len();
    loop {
        let mut response = read_head(reader, limits)?;
        if (100..200).contains(&response.status) {
            continue;
        }
        let close = response.minor_version == 0
            || response
                .header("connection")
                .is_some_and(|v| has_token(v, "close"));
        let body_len = if head || response.status == 204 || response.status == 304 {
            BodyLength::Known(0)
        } else {
            body_length(&response)?
        };
        let reuse = match body_len {
            BodyLength::Known(n) => {
                if n > limits.max_body {
                    return Err(HttpError::TooLarge {
                        what: "the body",
                        limit: limits.max_body,
                    });
                }
                reader.read_exact_into(n, &mut response.body, "the body")?;
                if close {
                    Reuse::Close
                } else {
                    Reuse::KeepAlive
                }
            }
            BodyLength::Chunked => {
                read_chunked(reader, &mut response.body, limits)?;
                if close {
                    Reuse::Close
                } else {
                    Reuse::KeepAlive
                }
            }
            BodyLength::UntilClose => {
                reader.read_to_end_into(&mut response.body, limits.max_body)?;
                Reuse::Close
            }
        };
        return Ok((response, reuse));
    }
}

/// Parses one complete answer from `input` (tests, recorded streams).
pub fn parse_response(input: impl Read, limits: Limits) -> Result<Response, HttpError> {
    let mut reader = ResponseReader::new(input);
    read_response(&mut reader, limits, false).map(|(r, _)| r)
}

enum BodyLength {
    Known(usize),
    Chunked,
    UntilClose,
}

fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn read_head<R: Read>(
    reader: &mut ResponseReader<R>,
    limits: Limits,
) -> Result<Response, HttpError> {
    let mut used = 0usize;
    let mut line = |reader: &mut ResponseReader<R>, what| -> Result<Vec<u8>, HttpError> {
        let l = reader
            .read_line(limits.max_head.saturating_sub(used), what)
            .map_err(|e| match e {
                HttpError::TooLarge { .. } => HttpError::TooLarge {
                    what: "the header",
                    limit: limits.max_head,
                },
                e => e,
            })?;
        used += l.len() + 2;
        if used > limits.max_head {
            return Err(HttpError::TooLarge {
                what: "the header",
                limit: limits.max_head,
            });
        }
        Ok(l)
    };
    let status_line = line(reader, "status line")?;
    let status_text = String::from_utf8_lossy(&status_line);
    let (minor_version, status, reason) = parse_status_line(&status_text)?;
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let l = line(reader, "header")?;
        if l.is_empty() {
            break;
        }
        let text = String::from_utf8_lossy(&l);
        if text.starts_with([' ', '\t']) {
            // obs-fold: a continuation of the previous header's value.
            match headers.last_mut() {
                Some((_, v)) => {
                    v.push(' ');
                    v.push_str(text.trim());
                    continue;
                }
                None => {
                    return Err(HttpError::Malformed(format!(
                        "a header line starts with white space: {:?}",
                        shorten(&text)
                    )))
                }
            }
        }
        let Some((name, value)) = text.split_once(':') else {
            return Err(HttpError::Malformed(format!(
                "not a header line: {:?}",
                shorten(&text)
            )));
        };
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(HttpError::Malformed(format!(
                "bad header name: {:?}",
                shorten(name)
            )));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok(Response {
        minor_version,
        status,
        reason,
        headers,
        body: Vec::new(),
    })
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn shorten(s: &str) -> String {
    let mut t: String = s.chars().take(80).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t
}

fn parse_status_line(line: &str) -> Result<(u8, u16, String), HttpError> {
    let bad = || HttpError::Malformed(format!("not an HTTP status line: {:?}", shorten(line)));
    let (proto, rest) = line.split_once(' ').ok_or_else(bad)?;
    let minor = match proto {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        _ => return Err(bad()),
    };
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let status: u16 = code.parse().map_err(|_| bad())?;
    if !(100..600).contains(&status) {
        return Err(bad());
    }
    Ok((minor, status, reason.trim().to_string()))
}

fn body_length(response: &Response) -> Result<BodyLength, HttpError> {
    if let Some(te) = response.header("transfer-encoding") {
        // The last coding decides: chunked, or else the body runs to the end.
        let last = te.rsplit(',').next().unwrap_or("").trim();
        return Ok(if last.eq_ignore_ascii_case("chunked") {
            BodyLength::Chunked
        } else {
            BodyLength::UntilClose
        });
    }
    let mut length: Option<usize> = None;
    for (name, value) in &response.headers {
        if !name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        for v in value.split(',') {
            let v = v.trim();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HttpError::Malformed(format!("bad Content-Length: {v:?}")));
            }
            let n: usize = v
                .parse()
                .map_err(|_| HttpError::Malformed(format!("Content-Length too large: {v}")))?;
            if length.is_some_and(|l| l != n) {
                return Err(HttpError::Malformed(
                    "conflicting Content-Length headers".into(),
                ));
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(n) => BodyLength::Known(n),
        None => BodyLength::UntilClose,
    })
}

/// A chunked body: `SIZE[;ext]\r\n DATA\r\n` … `0\r\n [trailers] \r\n`.
fn read_chunked<R: Read>(
    reader: &mut ResponseReader<R>,
    out: &mut Vec<u8>,
    limits: Limits,
) -> Result<(), HttpError> {
    loop {
        let line = reader.read_line(1024, "chunk size line")?;
        let text = String::from_utf8_lossy(&line);
        let size_text = text.split(';').next().unwrap_or("").trim();
        if size_text.is_empty()
            || size_text.len() > 15
            || !size_text.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(HttpError::Malformed(format!(
                "bad chunk size: {:?}",
                shorten(&text)
            )));
        }
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| HttpError::Malformed(format!("bad chunk size: {size_text:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            let mut trailer_bytes = 0;
            loop {
                let t = reader.read_line(limits.max_head, "trailer")?;
                if t.is_empty() {
                    return Ok(());
                }
                trailer_bytes += t.len();
                if trailer_bytes > limits.max_head {
                    return Err(HttpError::TooLarge {
                        what: "the trailer",
                        limit: limits.max_head,
                    });
                }
            }
        }
        if out.len().saturating_add(size) > limits.max_body {
            return Err(HttpError::TooLarge {
                what: "the body",
                limit: limits.max_body,
            });
        }
        reader.read_exact_into(size, out, "a chunk")?;
        let end = reader.read_line(2, "chunk end")?;
        if !end.is_empty() {
            return Err(HttpError::Malformed(
                "a chunk is longer than its size line says".into(),
            ));
        }
    }
}

/// A stream that gives up when its request's deadline passes or the daemon
/// stays silent for too long.
struct DeadlineStream {
    inner: Box<dyn Stream>,
    deadline: Instant,
    idle: Duration,
    /// The timeout that applied to the last wait (for the message).
    last_limit: Duration,
    total: Duration,
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.last_limit = self.total;
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request deadline passed",
            ));
        }
        self.last_limit = if left < self.idle {
            self.total
        } else {
            self.idle
        };
        self.inner.set_read_timeout(Some(left.min(self.idle)))?;
        self.inner.read(buf)
    }
}

/// One open connection.
struct Conn {
    reader: ResponseReader<DeadlineStream>,
}

/// A client of one daemon. Not shared between threads; requests take
/// `&mut self`.
pub struct Client {
    connector: Box<dyn Connector>,
    options: ClientOptions,
    conn: Option<Conn>,
    prefix: String,
    /// Connections opened so far (tests check keep-alive with it).
    connections: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("socket", &self.connector.path())
            .field("options", &self.options)
            .field("prefix", &self.prefix)
            .field("connected", &self.conn.is_some())
            .finish()
    }
}

enum Failure {
    /// The connection failed before any byte of an answer: on a reused
    /// connection, the daemon had closed it while idle.
    Stale(ApiError),
    Final(ApiError),
}

impl Client {
    pub fn new(connector: Box<dyn Connector>, options: ClientOptions) -> Client {
        Client {
            connector,
            options,
            conn: None,
            prefix: String::new(),
            connections: 0,
        }
    }

    /// A client of the daemon listening on the unix socket `path`.
    pub fn unix(path: impl Into<PathBuf>, options: ClientOptions) -> Client {
        Client::new(Box::new(UnixConnector::new(path)), options)
    }

    pub fn socket(&self) -> &Path {
        self.connector.path()
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// A client of the same daemon speaking the same API version, with its
    /// own connection: to ask in parallel.
    pub fn sibling(&self) -> Client {
        let mut c = Client::new(self.connector.duplicate(), self.options);
        c.prefix = self.prefix.clone();
        c
    }

    /// How many connections were opened so far.
    pub fn connections_opened(&self) -> usize {
        self.connections
    }

    /// The API version prefix put before the paths of [`get`](Self::get)
    /// (`/v1.41`; empty for unversioned requests).
    pub fn set_api_prefix(&mut self, prefix: impl Into<String>) {
        self.prefix = prefix.into();
    }

    pub fn api_prefix(&self) -> &str {
        &self.prefix
    }

    /// `GET prefix+path`; an error status becomes [`ApiError::Http`].
    pub fn get(&mut self, path: &str) -> Result<Response, ApiError> {
        let target = format!("{}{}", self.prefix, path);
        let response = self.request("GET", &target)?;
        if response.is_success() {
            Ok(response)
        } else {
            Err(ApiError::Http {
                request: target,
                status: response.status,
                reason: response.reason.clone(),
                message: response.error_message(),
            })
        }
    }

    /// [`get`](Self::get), the body decoded as JSON.
    pub fn get_json<T: serde::de::DeserializeOwned>(&mut self, path: &str) -> Result<T, ApiError> {
        let response = self.get(path)?;
        decode_json(&format!("{}{path}", self.prefix), &response.body)
    }

    /// Sends `METHOD target` exactly as given and returns any answer,
    /// whatever its status.
    pub fn request(&mut self, method: &str, target: &str) -> Result<Response, ApiError> {
        if !target.starts_with('/') || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(ApiError::Protocol {
                path: self.socket().to_path_buf(),
                request: target.to_string(),
                detail: "not a valid request target (must start with / and hold no spaces \
                         or control characters)"
                    .into(),
            });
        }
        let deadline = Instant::now() + self.options.request_timeout;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let reused = self.conn.is_some();
            let mut conn = match self.conn.take() {
                Some(c) => c,
                None => self.open(deadline)?,
            };
            match self.exchange(&mut conn, method, target, deadline) {
                Ok((response, reuse)) => {
                    if reuse == Reuse::KeepAlive && self.options.keep_alive {
                        self.conn = Some(conn);
                    }
                    return Ok(response);
                }
                Err(Failure::Stale(_)) if reused && attempt == 1 => continue,
                Err(Failure::Stale(e)) | Err(Failure::Final(e)) => return Err(e),
            }
        }
    }

    /// Drops the kept-alive connection, if any.
    pub fn disconnect(&mut self) {
        self.conn = None;
    }

    fn open(&mut self, deadline: Instant) -> Result<Conn, ApiError> {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = self.options.connect_timeout.min(left);
        if timeout.is_zero() {
            return Err(ApiError::Timeout {
                path: self.socket().to_path_buf(),
                phase: Phase::Connect,
                timeout: self.options.request_timeout,
            });
        }
        let stream = self.connector.connect(timeout)?;
        self.connections += 1;
        Ok(Conn {
            reader: ResponseReader::new(DeadlineStream {
                inner: stream,
                deadline,
                idle: self.options.read_timeout,
                last_limit: self.options.read_timeout,
                total: self.options.request_timeout,
            }),
        })
    }

    fn exchange(
        &self,
        conn: &mut Conn,
        method: &str,
        target: &str,
        deadline: Instant,
    ) -> Result<(Response, Reuse), Failure> {
        let path = self.socket().to_path_buf();
        let stream = conn.reader.get_mut();
        stream.deadline = deadline;
        let mut request = format!(
            "{method} {target} HTTP/1.1\r\nHost: {HOST_HEADER}\r\nUser-Agent: nfdoctor/{}\r\nAccept: application/json\r\n",
            crate::VERSION
        );
        if !self.options.keep_alive {
            request.push_str("Connection: close\r\n");
        }
        request.push_str("\r\n");

        let left = deadline.saturating_duration_since(Instant::now());
        let write_limit = self.options.write_timeout.min(left);
        let written = stream
            .inner
            .set_write_timeout(Some(write_limit.max(Duration::from_millis(1))))
            .and_then(|()| stream.inner.write_all(request.as_bytes()))
            .and_then(|()| stream.inner.flush());
        if let Err(e) = written {
            return Err(match e.kind() {
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                    Failure::Final(ApiError::Timeout {
                        path,
                        phase: Phase::Write,
                        timeout: write_limit,
                    })
                }
                io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted => Failure::Stale(ApiError::Io {
                    path,
                    phase: Phase::Write,
                    source: e,
                }),
                _ => Failure::Final(ApiError::Io {
                    path,
                    phase: Phase::Write,
                    source: e,
                }),
            });
        }

        let head = method.eq_ignore_ascii_case("HEAD");
        match read_response(&mut conn.reader, self.options.limits(), head) {
            Ok(ok) => Ok(ok),
            Err(e) => {
                let timeout = conn.reader.get_mut().last_limit;
                Err(self.read_failure(e, target, timeout))
            }
        }
    }

    fn read_failure(&self, e: HttpError, target: &str, timeout: Duration) -> Failure {
        let path = self.socket().to_path_buf();
        let protocol = |detail: String| ApiError::Protocol {
            path: path.clone(),
            request: target.to_string(),
            detail,
        };
        match e {
            HttpError::ClosedEarly => Failure::Stale(protocol(HttpError::ClosedEarly.to_string())),
            HttpError::Io(io)
                if matches!(
                    io.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                Failure::Final(ApiError::Timeout {
                    path,
                    phase: Phase::Read,
                    timeout,
                })
            }
            HttpError::Io(io) if io.kind() == io::ErrorKind::ConnectionReset => {
                Failure::Stale(ApiError::Io {
                    path,
                    phase: Phase::Read,
                    source: io,
                })
            }
            HttpError::Io(io) => Failure::Final(ApiError::Io {
                path,
                phase: Phase::Read,
                source: io,
            }),
            HttpError::TooLarge { limit, .. } => Failure::Final(ApiError::TooLarge {
                request: target.to_string(),
                limit,
            }),
            e @ (HttpError::Truncated(_) | HttpError::Malformed(_)) => {
                Failure::Final(protocol(e.to_string()))
            }
        }
    }
}

/// Decodes a JSON body, naming the request in the error.
pub fn decode_json<T: serde::de::DeserializeOwned>(
    request: &str,
    body: &[u8],
) -> Result<T, ApiError> {
    let error = |detail: String| ApiError::Json {
        request: request.to_string(),
        detail,
    };
    // The body checked as UTF-8 once, in one pass: `from_slice` checks
    // every string on its own, which was a fifth of decoding port maps.
    let text = std::str::from_utf8(body).map_err(|e| error(format!("not UTF-8: {e}")))?;
    serde_json::from_str(text).map_err(|e| error(e.to_string()))
}

/// Percent-encodes one path segment (a container or network id or name).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives its bytes in pieces of the given sizes (cycled), then EOF.
    struct Pieces {
        data: Vec<u8>,
        pos: usize,
        sizes: Vec<usize>,
        next: usize,
    }

    impl Pieces {
        fn new(data: &[u8], sizes: &[usize]) -> Self {
            Pieces {
                data: data.to_vec(),
                pos: 0,
                sizes: sizes.to_vec(),
                next: 0,
            }
        }
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let size = self.sizes[self.next % self.sizes.len()];
            self.next += 1;
            let n = size.min(buf.len()).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn parse(bytes: &[u8]) -> Result<Response, HttpError> {
        parse_response(bytes, Limits::default())
    }

    /// Parses `bytes` cut at every single position and in many piece sizes;
    /// all must give the same answer.
    fn parse_all_ways(bytes: &[u8]) -> Response {
        let whole = parse(bytes).expect("parses whole");
        for sizes in [&[1][..], &[2], &[3, 1], &[7], &[13, 1, 2], &[4096]] {
            let got = parse_response(Pieces::new(bytes, sizes), Limits::default())
                .unwrap_or_else(|e| panic!("pieces {sizes:?}: {e}"));
            assert_eq!(got, whole, "pieces {sizes:?}");
        }
        for cut in 0..bytes.len() {
            let reader = (&bytes[..cut]).chain(&bytes[cut..]);
            assert_eq!(
                parse_response(reader, Limits::default()).unwrap(),
                whole,
                "cut at {cut}"
            );
        }
        whole
    }

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nApi-Version: 1.51\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[{\"a\"\r\n9;ext=1\r\n:1},{\"b\":\r\n3\r\n2}]\r\n1\r\n\n\r\n0\r\nX-Trailer: yes\r\n\r\n";

    #[test]
    fn chunked_bodies_at_awkward_boundaries() {
        let r = parse_all_ways(CHUNKED);
        assert_eq!(r.status, 200);
        assert_eq!(r.minor_version, 1);
        assert_eq!(r.reason, "OK");
        assert_eq!(r.header("api-version"), Some("1.51"));
        assert_eq!(r.body, b"[{\"a\":1},{\"b\":2}]\n");
    }

    #[test]
    fn content_length_bodies() {
        let r = parse_all_ways(
            b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n{\"message\":\"No such container: abc123\"}",
        );
        assert_eq!(r.status, 404);
        assert!(!r.is_success());
        assert_eq!(r.error_message(), "No such container: abc123");
        // Equal repeated lengths are fine, bare LF line ends too.
        let r =
            parse(b"HTTP/1.1 200 OK\nContent-Length: 2, 2\nContent-Length: 2\n\nokEXTRA").unwrap();
        assert_eq!(r.body, b"ok");
    }

    #[test]
    fn bodies_until_close_and_empty_ones() {
        let r = parse(b"HTTP/1.0 200 OK\r\n\r\nall of it").unwrap();
        assert_eq!((r.minor_version, r.body.as_slice()), (0, &b"all of it"[..]));
        let r = parse(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n").unwrap();
        assert!(r.body.is_empty());
        // 1xx answers are skipped.
        let r =
            parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
                .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"x"[..]));
        // Folded header lines join the previous one; no reason phrase.
        let r = parse(b"HTTP/1.1 500\r\nX-A: one\r\n two\r\nContent-Length: 0\r\n\r\n").unwrap();
        assert_eq!((r.status, r.reason.as_str()), (500, ""));
        assert_eq!(r.header("x-a"), Some("one two"));
    }

    #[test]
    fn keep_alive_reads_answers_one_after_another() {
        let two = [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"[..],
            CHUNKED,
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nthree",
        ]
        .concat();
        let mut reader = ResponseReader::new(Pieces::new(&two, &[5]));
        let (a, ra) = read_response(&mut reader, Limits::default(), false).unwrap();
        let (b, rb) = read_response(&mut reader, Limits::default(), false).unwrap();
        let (c, rc) = read_response(&mut reader, Limits::default(), false).unwrap();
        assert_eq!((a.body.as_slice(), ra), (&b"one"[..], Reuse::KeepAlive));
        assert_eq!(b.body.len(), 18);
        assert_eq!(rb, Reuse::KeepAlive);
        assert_eq!((c.body.as_slice(), rc), (&b"three"[..], Reuse::Close));
        assert!(matches!(
            read_response(&mut reader, Limits::default(), false),
            Err(HttpError::ClosedEarly)
        ));
    }

    #[test]
    fn truncated_answers() {
        assert!(matches!(parse(b""), Err(HttpError::ClosedEarly)));
        for cut in 1..CHUNKED.len() {
            let e = parse(&CHUNKED[..cut]).expect_err("cut short");
            assert!(matches!(e, HttpError::Truncated(_)), "cut at {cut}: {e}");
        }
        let e = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the answer was cut short (the body: 5 of 10 bytes missing)"
        );
    }

    #[test]
    fn garbage() {
        for bytes in [
            &b"SSH-2.0-OpenSSH_9.2\r\n"[..],
            b"HTTP/2 200\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n folded-first: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
            b"\x00\x01\x02\xff\xfe\r\n\r\n",
        ] {
            let e = parse(bytes).expect_err("garbage parsed");
            assert!(
                matches!(e, HttpError::Malformed(_)),
                "{:?}: {e}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn size_caps() {
        let small = Limits {
            max_head: 64,
            max_body: 10,
        };
        let e = parse_response(
            &b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890"[..],
            small,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                HttpError::TooLarge {
                    what: "the body",
                    ..
                }
            ),
            "{e}"
        );
        let e = parse_response(
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n012345\r\n0\r\n\r\n"[..],
            small,
        )
        .unwrap_err();
        assert!(matches!(e, HttpError::TooLarge { .. }), "{e}");
        let e = parse_response(&b"HTTP/1.1 200 OK\r\n\r\n0123456789abc"[..], small).unwrap_err();
        assert!(matches!(e, HttpError::TooLarge { .. }), "{e}");
        let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "y".repeat(100));
        let e = parse_response(long.as_bytes(), small).unwrap_err();
        assert!(
            matches!(
                e,
                HttpError::TooLarge {
                    what: "the header",
                    ..
                }
            ),
            "{e}"
        );
        // An endless header line is refused without reading it all.
        let endless = std::iter::repeat(b'a').take(1 << 20).collect::<Vec<_>>();
        let e = parse_response(&endless[..], Limits::default()).unwrap_err();
        assert!(matches!(e, HttpError::TooLarge { .. }), "{e}");
    }

    #[test]
    fn error_messages() {
        let r = |body: &[u8]| Response {
            minor_version: 1,
            status: 500,
            reason: "Internal Server Error".into(),
            headers: vec![],
            body: body.to_vec(),
        };
        assert_eq!(r(b"{\"message\":\"boom\"}").error_message(), "boom");
        assert_eq!(r(b"  page not found\n").error_message(), "page not found");
        assert_eq!(r(b"").error_message(), "Internal Server Error");
        assert!(r(&[b'x'; 1000]).error_message().ends_with('…'));
    }

    #[test]
    fn names_from_passwd_and_group_files() {
        let group = "root:x:0:\ndocker:x:998:alice,bob\nbroken\n";
        assert_eq!(name_for_id(group, 998).as_deref(), Some("docker"));
        assert_eq!(name_for_id(group, 5), None);
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("abc-123_x.y"), "abc-123_x.y");
        assert_eq!(encode_segment("a b/c?d"), "a%20b%2Fc%3Fd");
    }
}
