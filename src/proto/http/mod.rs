//! HTTP/1.x (RFC 9112): incremental request and response parsing over a reassembled stream,
//! with correct body framing, so that every exchange on a keep-alive or pipelined connection is
//! found and bodies are skipped rather than buffered.
//!
//! [`HttpConnection`] takes both directions of one stream in any chunking and emits an
//! [`HttpExchange`] when a response is complete (or at close). How it decides:
//! - A head that arrives whole is parsed where it lies, `httparse` finding its end; any other is
//!   buffered up to `ProtoLimits::max_header_bytes` until the empty line (CRLF or bare LF), then
//!   parsed once with `httparse`. A head's fields live in one buffer ([`Headers`]): the head's
//!   own text (from the first field to the last) when it is UTF-8, else values decoded
//!   lossily. Bodies are counted, never kept, except the first `body_prefix_bytes` of an error
//!   response's (decoded) payload (see `ProtoLimits::body_prefix_from_status`). A short body
//!   that comes with its head is read with it.
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
mod plain;
mod queue;
mod reader;
mod resync;
mod server;
pub(crate) mod spare;
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
    /// Each field's name then value: back to back when pushed; for a parsed head, the head's
    /// own text from its first field's name to its last field's value.
    text: String,
    spans: Vec<Span>,
    index: Index,
}

/// Where the [`Field`]s of a head are.
#[derive(Debug, Clone, Copy, Default)]
struct Index {
    /// For each [`Field`]: 1 + the position of its first field; 0 when there is none; [`FAR`]
    /// when the first one is beyond what a byte holds (then it is searched for).
    first: [u8; Field::ALL.len()],
    /// Bit `i`: `Field::ALL[i]` names more than one field.
    repeated: u16,
}

/// [`Index::first`] for a field first seen past position 253.
const FAR: u8 = u8::MAX;

impl Index {
    /// Field `at` (in wire order) is named `name`: index it if it is a [`Field`]. Inlined: a
    /// loop of its own over a head's names calls it (a call per field cost a fifth of that
    /// loop; inlined into the loop that makes the spans, it spilled that loop's registers).
    #[inline(always)]
    fn note(&mut self, at: usize, name: &[u8]) {
        self.note_field(at, Field::of(name));
    }

    /// Field `at` (in wire order) is `field`, already known from its name.
    #[inline(always)]
    fn note_field(&mut self, at: usize, field: Option<Field>) {
        if let Some(f) = field {
            let slot = &mut self.first[f as usize];
            match *slot {
                0 => *slot = u8::try_from(at + 1).unwrap_or(FAR),
                _ => self.repeated |= 1 << f as usize,
            }
        }
    }
}

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
    /// it could be, its first and last letters turn away nearly every other name of that
    /// length, then three words compare it whole (see [`Probe`]).
    #[inline]
    pub(crate) fn of(name: &[u8]) -> Option<Field> {
        let i = usize::from(*BY_LENGTH.get(name.len())?).checked_sub(1)?;
        let probe = PROBES.get(i)?;
        // Every field's name starts and ends with a letter: setting bit 5 folds its case, and
        // makes no other byte that letter.
        let ends = [name.first()?, name.last()?].map(|b| b | 0x20);
        if ends != probe.ends {
            return None;
        }
        let differ = (0..3).fold(0, |d, k| {
            d | ((Probe::word(name, k) | probe.fold[k]) ^ probe.words[k])
        });
        (differ == 0).then_some(Field::ALL[i])
    }
}

/// For each name length: 1 + the position in [`Field::ALL`] of the field of that length; 0 when
/// none has it (their lengths differ).
const BY_LENGTH: [u8; 21] = {
    let mut by = [0; 21];
    let mut i = 0;
    while i < Field::ALL.len() {
        let len = Field::ALL[i].name().len();
        assert!(by[len] == 0, "two fields of one length");
        by[len] = i as u8 + 1;
        i += 1;
    }
    by
};

/// A [`Field`]'s name as three (overlapping) words, with the bits that fold case. Every byte of
/// a name of 4 to 24 bytes lies in one of the words [`Probe::word`] reads. Case is folded by
/// setting bit 5 where the name has a letter: exact for letters (only `A` and `a` become `a`);
/// other bytes (`-`) are compared as they are. This costs a few instructions a field where a
/// byte loop cost ~50: every field of every head is looked at.
struct Probe {
    words: [u64; 3],
    fold: [u64; 3],
    /// The name's first and last bytes (lowercase letters).
    ends: [u8; 2],
}

const PROBES: [Probe; 10] = {
    let mut probes = [const {
        Probe {
            words: [0; 3],
            fold: [0; 3],
            ends: [0; 2],
        }
    }; 10];
    let mut i = 0;
    while i < Field::ALL.len() {
        let name = Field::ALL[i].name().as_bytes();
        let ends = [name[0], name[name.len() - 1]];
        assert!(ends[0].is_ascii_lowercase() && ends[1].is_ascii_lowercase());
        probes[i].ends = ends;
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
/// Offsets are 32 bits (a head is bounded far below 4 GiB): a field takes 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    name_end: u32,
    value_start: u32,
    end: u32,
}

impl Span {
    fn name(&self) -> std::ops::Range<usize> {
        self.start as usize..self.name_end as usize
    }

    fn value(&self) -> std::ops::Range<usize> {
        self.value_start as usize..self.end as usize
    }
}

/// A text offset as a [`Span`] holds it; one past 4 GiB (never on the wire) saturates, and the
/// field then reads as empty rather than as other text.
fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
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
        let start = offset(self.text.len());
        self.text.push_str(name);
        let name_end = offset(self.text.len());
        self.text.push_str(value);
        self.push_span(
            Span {
                start,
                name_end,
                value_start: name_end,
                end: offset(self.text.len()),
            },
            name.as_bytes(),
        );
    }

    fn push_span(&mut self, span: Span, name: &[u8]) {
        self.index.note(self.spans.len(), name);
        self.spans.push(span);
    }

    /// A field whose value is raw wire bytes: decoded as UTF-8, lossily only when it is not.
    pub fn push_bytes(&mut self, name: &str, value: &[u8]) {
        match std::str::from_utf8(value) {
            Ok(v) => self.push(name, v),
            Err(_) => self.push(name, &String::from_utf8_lossy(value)),
        }
    }

    /// The fields of a head, kept as the text of the head they lie in (`region`: nearly every
    /// head is ASCII, then checked in bulk, not byte by byte as UTF-8): fields are found in it by
    /// position, in two tight loops (the spans, then the names' index) that neither copy nor
    /// check a field's bytes. `None` when `region` is not UTF-8 or a field does not lie inside
    /// it on character boundaries.
    pub(crate) fn within<'h>(
        region: &'h [u8],
        fields: impl ExactSizeIterator<Item = (&'h [u8], &'h [u8])> + Clone,
    ) -> Option<Headers> {
        let ascii = is_ascii(region);
        let text = match ascii {
            // SAFETY: ASCII bytes are valid UTF-8.
            true => unsafe { std::str::from_utf8_unchecked(region) },
            false => std::str::from_utf8(region).ok()?,
        };
        // Offsets below the length fit a span's 32 bits.
        u32::try_from(region.len()).ok()?;
        let base = region.as_ptr() as usize;
        let mut inside = true;
        // One exact allocation, no per-field capacity check (the iterator's length is known).
        let spans: Vec<Span> = fields
            .clone()
            .map(|(name, value)| {
                let (start, name_end) = bounds(base, name);
                let (value_start, end) = bounds(base, value);
                inside &= start <= name_end && value_start <= end && end <= region.len();
                inside &= name_end <= region.len();
                Span {
                    start: start as u32,
                    name_end: name_end as u32,
                    value_start: value_start as u32,
                    end: end as u32,
                }
            })
            .collect();
        let mut index = Index::default();
        for (at, (name, _)) in fields.enumerate() {
            index.note(at, name);
        }
        let on_boundaries = |s: &Span| {
            [s.start, s.name_end, s.value_start, s.end]
                .iter()
                .all(|&at| text.is_char_boundary(at as usize))
        };
        if !inside || (!ascii && !spans.iter().all(on_boundaries)) {
            return None;
        }
        Some(Headers {
            text: text.to_owned(),
            spans,
            index,
        })
    }

    /// No fields, with room for `spans` of them (a plain head's, `plain.rs`, to be read into).
    #[inline(always)]
    fn with_room(spans: usize) -> Headers {
        Headers {
            spans: Vec::with_capacity(spans),
            ..Headers::default()
        }
    }

    /// No fields, the room for them kept: the text and spans to fill, then to be indexed
    /// ([`Headers::set_index`]). A spare exchange's head is read over its last one this way
    /// (`spare.rs`).
    #[inline(always)]
    fn cleared(&mut self) -> (&mut String, &mut Vec<Span>) {
        self.text.clear();
        self.spans.clear();
        self.index = Index::default();
        (&mut self.text, &mut self.spans)
    }

    fn set_index(&mut self, index: Index) {
        self.index = index;
    }

    /// The room its text and spans hold, in bytes.
    fn room(&self) -> usize {
        self.text.capacity() + self.spans.capacity() * std::mem::size_of::<Span>()
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
            name: self.text.get(s.name()).unwrap_or_default(),
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
        match self.index.first[f as usize] {
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
        self.index.repeated & (1 << f as usize) == 0
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
        s.name().len() == name.len()
            && self
                .text
                .as_bytes()
                .get(s.name())
                .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    }

    fn value(&self, s: &Span) -> &str {
        self.text.get(s.value()).unwrap_or_default()
    }
}

/// Equal when the fields are, however they are laid out in the buffer.
impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

/// Where `part` lies from `base` (the address of the text it is a slice of): its start and end
/// offsets, which a part outside the text makes decreasing or past the text's end.
fn bounds(base: usize, part: &[u8]) -> (usize, usize) {
    let start = (part.as_ptr() as usize).wrapping_sub(base);
    (start, start.wrapping_add(part.len()))
}

/// Whether every byte is ASCII: 32 bytes a step, ORed as four words (which the compiler makes
/// two vector ORs), the last step overlapping the one before; a head of 400 bytes costs some
/// 60 instructions where UTF-8 validation cost 380.
fn is_ascii(bytes: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let fold = |acc: [u64; 4], chunk: &[u8; 32]| {
        let mut acc = acc;
        for (a, w) in acc.iter_mut().zip(chunk.as_chunks::<8>().0) {
            *a |= u64::from_le_bytes(*w);
        }
        acc
    };
    let Some(last) = bytes.last_chunk::<32>() else {
        return bytes.iter().fold(0, |a, b| a | b) < 0x80;
    };
    let acc = bytes
        .as_chunks::<32>()
        .0
        .iter()
        .fold(fold([0; 4], last), fold);
    (acc[0] | acc[1] | acc[2] | acc[3]) & HIGH == 0
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
    /// Set when the fields were read but not kept (`ProtoLimits::keep_response_fields`;
    /// `headers` is then empty): the body's length they gave, `None` for none given. Such a
    /// response had no Transfer-Encoding and at most one Content-Length, of plain digits.
    pub framing_length: Option<Option<u64>>,
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
    /// None when the connection ended (or a gap hit) before a response was seen. In the box it
    /// was read into (see `reader.rs`): moved in, not copied out of it.
    pub response: Option<Box<HttpResponse>>,
}

/// A request, boxed as it is reported, before anything answered it.
impl From<HttpRequest> for Box<HttpExchange> {
    fn from(request: HttpRequest) -> Box<HttpExchange> {
        Box::new(HttpExchange {
            request,
            interim: Vec::new(),
            response: None,
        })
    }
}
