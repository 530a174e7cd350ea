//! HTTP/1.x (RFC 9112): incremental request and response parsing over a reassembled stream,
//! with correct body framing, so that every exchange on a keep-alive or pipelined connection is
//! found and bodies are skipped rather than buffered.
//!
//! [`HttpConnection`] takes both directions of one stream in any chunking and emits an
//! [`HttpExchange`] when a response is complete (or at close). How it decides:
//! - A head that arrives whole is parsed where it lies, `httparse` finding its end; any other is
//!   buffered up to `ProtoLimits::max_header_bytes` until the empty line (CRLF or bare LF), then
//!   parsed once with `httparse`. A head's fields live in one buffer ([`Headers`]): the head's
//!   own text when it is UTF-8, else values decoded lossily. Bodies are counted, never kept,
//!   except the first `body_prefix_bytes` of an error response's (decoded) payload (see
//!   `ProtoLimits::body_prefix_from_status`).
//! - Body length per RFC 9112 §6.3: requests chunked > Content-Length > none; responses to HEAD,
//!   1xx, 204 and 304 have none, CONNECT 2xx opens a tunnel, 101 ends HTTP, else chunked >
//!   Content-Length > until close. Chunked is decoded by a state machine (extensions, trailers).
//! - Responses pair FIFO with requests (bounded by `max_pending_requests`: beyond it the oldest
//!   request is reported without its response, and that response is skipped when it comes; a
//!   skipped response costs one small slot, so pairing survives pipelining 8 times deeper).
//!   1xx statuses go to `interim`. A final status before any byte of an `Expect: 100-continue`
//!   body lets the client skip the body: a request line next ends it (body_len 0).
//! - Gaps: inside a body they only make `body_len` unknown; elsewhere the side resynchronises
//!   on the next request/status line. Lost client bytes may hide whole requests, lost server
//!   bytes whole responses: once that uncertainty is reached, pairing stops for the connection
//!   and requests are reported without responses rather than with someone else's. After lost
//!   server bytes pairing goes on when the next response can only be one request's (one
//!   request waits, or the client never pipelined: see `ExchangeQueue::after_hole`). A gap before
//!   any byte (capture started mid-connection) costs nothing: early responses are unmatched.
//!   After unknown bytes a request line is also found glued to the end of a body (a body need
//!   not end with a line break), when its method is a registered one.
//! - A head cut by a gap, a snaplen or the end of the capture is reported as far as it shows
//!   (`partial.rs`): a request with [`HttpRequest::cut`] set, a response with its status.

mod chunked;
mod client;
mod connection;
mod framing;
mod head;
mod partial;
mod queue;
mod reader;
mod resync;
mod server;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_edge;
#[cfg(test)]
pub(crate) mod transcript;

pub use chunked::{ChunkedDecoder, ChunkedError};
pub use connection::{Handoff, HttpConnection, HttpStats, Switch};
pub use framing::FramingError;
pub use head::HeadError;

use crate::time::Timestamp;
use std::borrow::Cow;

/// Do these first bytes of a stream, cut short by a hole, show the start of a request line
/// (`METHOD SP /target…`)? Then the stream is HTTP though the line never ended.
pub fn shows_cut_request(first: &[u8]) -> bool {
    partial::request(first, Timestamp::ZERO).is_some()
}

/// A header as seen on the wire (name kept as sent; value lossily decoded as UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

/// The header fields of one message, in wire order, kept in one buffer: a head costs two
/// allocations however many fields it has, and a lookup allocates nothing. The fields every
/// message is asked for (each [`Field`]) are found by index, without a search.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    /// Each field's name then value, back to back.
    text: String,
    spans: Vec<Span>,
    /// For each [`Field`]: 1 + the position of its first field; 0 when there is none; [`FAR`]
    /// when the first one is beyond what a byte holds (then it is searched for).
    first: [u8; Field::ALL.len()],
    /// Bit `i`: `Field::ALL[i]` names more than one field.
    repeated: u16,
}

/// [`Headers::first`] for a field first seen past position 253.
const FAR: u8 = u8::MAX;

/// The names looked up in nearly every head: by the framing (each message), the records and the
/// classifier (each request). Each lookup was a search over the fields, ten or so per request:
/// 12% of the analysis thread on a request-dense capture. Their lengths differ, so a name's
/// length alone says which one it could be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Host,
    Expect,
    Upgrade,
    Location,
    UserAgent,
    ContentType,
    Authorization,
    ContentLength,
    TransferEncoding,
    SecurityToken,
}

impl Field {
    pub(crate) const ALL: [Field; 10] = [
        Field::Host,
        Field::Expect,
        Field::Upgrade,
        Field::Location,
        Field::UserAgent,
        Field::ContentType,
        Field::Authorization,
        Field::ContentLength,
        Field::TransferEncoding,
        Field::SecurityToken,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Field::Host => "host",
            Field::Expect => "expect",
            Field::Upgrade => "upgrade",
            Field::Location => "location",
            Field::UserAgent => "user-agent",
            Field::ContentType => "content-type",
            Field::Authorization => "authorization",
            Field::ContentLength => "content-length",
            Field::TransferEncoding => "transfer-encoding",
            Field::SecurityToken => "x-amz-security-token",
        }
    }

    /// Which field `name` is (ASCII case-insensitive), if it is one: its length picks the one
    /// it could be, then three words compare it whole (see [`Probe`]).
    pub(crate) fn of(name: &[u8]) -> Option<Field> {
        let i = match name.len() {
            4 => 0,
            6 => 1,
            7 => 2,
            8 => 3,
            10 => 4,
            12 => 5,
            13 => 6,
            14 => 7,
            17 => 8,
            20 => 9,
            _ => return None,
        };
        let probe = &PROBES[i];
        let differ = (0..3).fold(0, |d, k| {
            d | ((Probe::word(name, k) | probe.fold[k]) ^ probe.words[k])
        });
        (differ == 0).then_some(Field::ALL[i])
    }
}

/// A [`Field`]'s name as three (overlapping) words, with the bits that fold case. Every byte of
/// a name of 4 to 24 bytes lies in one of the words [`Probe::word`] reads. Case is folded by
/// setting bit 5 where the name has a letter: exact for letters (only `A` and `a` become `a`);
/// other bytes (`-`) are compared as they are. This costs a few instructions a field where a
/// byte loop cost ~50: every field of every head is looked at.
struct Probe {
    words: [u64; 3],
    fold: [u64; 3],
}

const PROBES: [Probe; 10] = {
    let mut probes = [const {
        Probe {
            words: [0; 3],
            fold: [0; 3],
        }
    }; 10];
    let mut i = 0;
    while i < Field::ALL.len() {
        let name = Field::ALL[i].name().as_bytes();
        let mut k = 0;
        while k < 3 {
            let (at, width) = Probe::span(name.len(), k);
            let mut j = 0;
            while j < width {
                let b = name[at + j];
                probes[i].words[k] |= (b as u64) << (8 * j);
                if b.is_ascii_lowercase() {
                    probes[i].fold[k] |= 0x20 << (8 * j);
                }
                j += 1;
            }
            k += 1;
        }
        i += 1;
    }
    probes
};

impl Probe {
    /// Word `k` of a name of `len` bytes: where it starts and how many bytes it holds. At least
    /// eight bytes: the first eight, the last eight and the eight after the first (or the last
    /// eight again); fewer: the first four and the last four.
    const fn span(len: usize, k: usize) -> (usize, usize) {
        match (len >= 8, k) {
            (true, 0) => (0, 8),
            (true, 1) => (len - 8, 8),
            (true, _) => (if len >= 16 { 8 } else { len - 8 }, 8),
            (false, 1) => (len - 4, 4),
            (false, _) => (0, 4),
        }
    }

    /// Word `k` of `name` (four to 24 bytes), little-endian.
    fn word(name: &[u8], k: usize) -> u64 {
        let (at, width) = Probe::span(name.len(), k);
        let bytes = &name[at..at + width];
        match width {
            8 => u64::from_le_bytes(bytes.try_into().expect("eight bytes")),
            _ => u64::from(u32::from_le_bytes(bytes.try_into().expect("four bytes"))),
        }
    }
}

/// Where one field lies in `Headers::text`: name `start..name_end`, value `value_start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    name_end: usize,
    value_start: usize,
    end: usize,
}

impl Headers {
    /// Room for `fields` fields of `bytes` bytes in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Self {
        Headers {
            text: String::with_capacity(bytes),
            spans: Vec::with_capacity(fields),
            ..Headers::default()
        }
    }

    pub fn push(&mut self, name: &str, value: &str) {
        let start = self.text.len();
        self.text.push_str(name);
        let name_end = self.text.len();
        self.text.push_str(value);
        self.push_span(
            Span {
                start,
                name_end,
                value_start: name_end,
                end: self.text.len(),
            },
            name.as_bytes(),
        );
    }

    fn push_span(&mut self, span: Span, name: &[u8]) {
        if let Some(f) = Field::of(name) {
            let slot = &mut self.first[f as usize];
            match *slot {
                0 => *slot = u8::try_from(self.spans.len() + 1).unwrap_or(FAR),
                _ => self.repeated |= 1 << f as usize,
            }
        }
        self.spans.push(span);
    }

    /// A field whose value is raw wire bytes: decoded as UTF-8, lossily only when it is not.
    pub fn push_bytes(&mut self, name: &str, value: &[u8]) {
        match std::str::from_utf8(value) {
            Ok(v) => self.push(name, v),
            Err(_) => self.push(name, &String::from_utf8_lossy(value)),
        }
    }

    /// The fields of a head that is valid UTF-8 (nearly every head), kept as the head's own
    /// text: fields are found in it by position, so nothing is copied or checked per field.
    /// `None` when a field does not lie inside `head` on character boundaries.
    pub(crate) fn within<'h>(
        head: &str,
        fields: impl ExactSizeIterator<Item = (&'h [u8], &'h [u8])>,
    ) -> Option<Headers> {
        let mut headers = Headers {
            spans: Vec::with_capacity(fields.len()),
            ..Headers::default()
        };
        for (name, value) in fields {
            let (start, name_end) = position(head, name)?;
            let (value_start, end) = position(head, value)?;
            let span = Span {
                start,
                name_end,
                value_start,
                end,
            };
            headers.push_span(span, name);
        }
        headers.text = head.to_string();
        Some(headers)
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The fields in wire order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Header<'_>> + ExactSizeIterator + '_ {
        self.spans.iter().map(|s| Header {
            name: self.text.get(s.start..s.name_end).unwrap_or_default(),
            value: self.value(s),
        })
    }

    /// First field with this name (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        match Field::of(name.as_bytes()) {
            Some(f) => self.field(f),
            None => self.search(name),
        }
    }

    /// The first field of `f`'s name, found by index.
    pub fn field(&self, f: Field) -> Option<&str> {
        match self.first[f as usize] {
            0 => None,
            FAR => self.search(f.name()),
            at => self.spans.get(usize::from(at) - 1).map(|s| self.value(s)),
        }
    }

    fn search(&self, name: &str) -> Option<&str> {
        // Not `all(name).next()`: the plain search is ~10% cheaper.
        let s = self.spans.iter().find(|s| self.is_named(s, name))?;
        Some(self.value(s))
    }

    /// Whether at most one field has `f`'s name: then [`Headers::field`] is all there is of it.
    pub(crate) fn at_most_once(&self, f: Field) -> bool {
        self.repeated & (1 << f as usize) == 0
    }

    /// The values of every field with this name (ASCII case-insensitive), in wire order.
    pub fn all<'h>(&'h self, name: &str) -> impl DoubleEndedIterator<Item = &'h str> {
        self.spans
            .iter()
            .filter(move |s| self.is_named(s, name))
            .map(|s| self.value(s))
    }

    /// Whether a field has this name. Lengths first, from the span alone: most fields differ
    /// there, and their bytes are never read.
    fn is_named(&self, s: &Span, name: &str) -> bool {
        s.name_end.wrapping_sub(s.start) == name.len()
            && self
                .text
                .as_bytes()
                .get(s.start..s.name_end)
                .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    }

    fn value(&self, s: &Span) -> &str {
        self.text.get(s.value_start..s.end).unwrap_or_default()
    }
}

/// Equal when the fields are, however they are laid out in the buffer.
impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

/// Where `part` (a slice of `whole`'s bytes) lies in `whole`, if it is text there.
fn position(whole: &str, part: &[u8]) -> Option<(usize, usize)> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    whole.get(start..end).map(|_| (start, end))
}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut headers = Headers::default();
        for (n, v) in iter {
            headers.push(n.as_ref(), v.as_ref());
        }
        headers
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Time of the segment that carried the request line.
    pub ts: Timestamp,
    pub method: Token,
    /// The request target exactly as sent (origin-form `/b/k?x`, absolute-form `http://h/b/k`,
    /// authority-form for CONNECT, `*`).
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    pub headers: Headers,
    /// Body length as framed (Content-Length or the sum of chunk sizes); None if unknown/cut.
    pub body_len: Option<u64>,
    /// Set when the capture cut the head short (snaplen, lost bytes, end of capture): the
    /// request is what the wire shows of it.
    pub cut: Option<Cut>,
}

/// A short word of a head (a method, a reason phrase): the usual ones are static text, so
/// nearly every head keeps them without an allocation of its own.
pub type Token = Cow<'static, str>;

/// `s` as a [`Token`]: borrowed from `known` when it is one of them, else copied.
pub(crate) fn token(s: &str, known: &[&'static str]) -> Token {
    known
        .iter()
        .find(|k| **k == s)
        .map_or_else(|| Cow::Owned(s.to_string()), |k| Cow::Borrowed(*k))
}

/// Methods kept as static text (the others are copied).
pub(crate) const KNOWN_METHODS: [&str; 8] = [
    "GET", "PUT", "POST", "HEAD", "DELETE", "OPTIONS", "CONNECT", "PATCH",
];

/// Reason phrases kept as static text: those of the statuses S3 servers send.
pub(crate) const KNOWN_REASONS: [&str; 14] = [
    "OK",
    "No Content",
    "Partial Content",
    "Continue",
    "Not Found",
    "Forbidden",
    "Bad Request",
    "Not Modified",
    "Moved Permanently",
    "Temporary Redirect",
    "Conflict",
    "Precondition Failed",
    "Internal Server Error",
    "Service Unavailable",
];

/// How much of a cut request head the capture shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The request line is whole (method, target, query); header fields are missing, all or
    /// some (the whole lines seen are kept).
    Fields,
    /// The request line itself is cut: the target is only its first bytes.
    Target,
}

impl HttpRequest {
    /// First header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub ts: Timestamp,
    pub status: u16,
    pub reason: Token,
    pub version: u8,
    pub headers: Headers,
    pub body_len: Option<u64>,
    /// The first bytes of the body (bounded), e.g. an S3 error document.
    pub body_prefix: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

/// One request and what answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpExchange {
    pub request: HttpRequest,
    /// Interim (1xx) statuses received before the final response, e.g. `100 Continue`.
    pub interim: Vec<u16>,
    /// None when the connection ended (or a gap hit) before a response was seen.
    pub response: Option<HttpResponse>,
}
