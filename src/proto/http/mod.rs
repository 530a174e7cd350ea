//! HTTP/1.x (RFC 9112): incremental request and response parsing over a reassembled stream,
//! with correct body framing, so that every exchange on a keep-alive or pipelined connection is
//! found and bodies are skipped rather than buffered.
//!
//! [`HttpConnection`] takes both directions of one stream in any chunking and emits an
//! [`HttpExchange`] when a response is complete (or at close). How it decides:
//! - Heads are buffered up to `ProtoLimits::max_header_bytes` until the empty line (CRLF or bare
//!   LF), then parsed once with `httparse`. Bodies are counted, never kept, except the first
//!   `body_prefix_bytes` of a response's (decoded) payload.
//! - Body length per RFC 9112 §6.3: requests chunked > Content-Length > none; responses to HEAD,
//!   1xx, 204 and 304 have none, CONNECT 2xx opens a tunnel, 101 ends HTTP, else chunked >
//!   Content-Length > until close. Chunked is decoded by a state machine (extensions, trailers).
//! - Responses pair FIFO with requests (bounded by `max_pending_requests`: beyond it the oldest
//!   request is reported without its response, and that response is skipped when it comes).
//!   1xx statuses go to `interim`. A final status before any byte of an `Expect: 100-continue`
//!   body lets the client skip the body: a request line next ends it (body_len 0).
//! - Gaps: inside a body they only make `body_len` unknown; elsewhere the side resynchronises
//!   on the next request/status line. Lost client bytes may hide whole requests, lost server
//!   bytes whole responses: once that uncertainty is reached, pairing stops for the connection
//!   and requests are reported without responses rather than with someone else's. A gap before
//!   any byte (capture started mid-connection) costs nothing: early responses are unmatched.

mod chunked;
mod client;
mod connection;
mod framing;
mod head;
mod queue;
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

/// A header as seen on the wire (name kept as sent; value lossily decoded as UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Time of the segment that carried the request line.
    pub ts: Timestamp,
    pub method: String,
    /// The request target exactly as sent (origin-form `/b/k?x`, absolute-form `http://h/b/k`,
    /// authority-form for CONNECT, `*`).
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    pub headers: Vec<Header>,
    /// Body length as framed (Content-Length or the sum of chunk sizes); None if unknown/cut.
    pub body_len: Option<u64>,
}

impl HttpRequest {
    /// First header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub ts: Timestamp,
    pub status: u16,
    pub reason: String,
    pub version: u8,
    pub headers: Vec<Header>,
    pub body_len: Option<u64>,
    /// The first bytes of the body (bounded), e.g. an S3 error document.
    pub body_prefix: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
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

fn find_header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}
