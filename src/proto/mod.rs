//! **proto**: each connection's protocol, told from its bytes (never its port), and parsed.
//!
//! A [`Conversation`] receives one connection's [`crate::flow::StreamEvent`]s (both directions)
//! and emits [`ProtoEvent`]s: finished HTTP exchanges, TLS hellos, anomalies. HTTP is parsed
//! incrementally with bounded buffers (bodies are counted and skipped, never buffered). TLS
//! application data, once decrypted, goes through the same HTTP parser; a `CONNECT` tunnel answered
//! by `200` turns the rest of the stream into a fresh detection (normally TLS).

mod conversation;
pub mod detect;
pub mod http;
pub mod tls;

pub use conversation::Conversation;
pub use detect::Protocol;

use crate::time::Timestamp;

/// Bounds on what `proto` holds per connection. What a bound drops is counted.
#[derive(Debug, Clone, Copy)]
pub struct ProtoLimits {
    /// Largest request/response header block accepted (bytes); bigger is an anomaly.
    pub max_header_bytes: usize,
    /// Requests awaiting a response on one connection (pipelining depth).
    pub max_pending_requests: usize,
    /// Largest TLS handshake message reassembled for hello parsing.
    pub max_handshake_bytes: usize,
    /// Bytes of a response body kept for the report (error documents such as S3's `<Code>`).
    pub body_prefix_bytes: usize,
    /// Responses of a lower status keep none of their body: only error documents are read (the
    /// policy reads a 400's, a refusal of plain HTTP), and keeping every 200's first bytes cost
    /// an allocation and a copy per response (0.8% of the analysis thread on a request-dense
    /// capture).
    /// 0 keeps every response's: the sanitizer keeps a refusal's text whatever its status.
    pub body_prefix_from_status: u16,
    /// Whether a response keeps its fields. Without (`false`), the fields of a 2xx, 4xx or 5xx
    /// response head read where it lies (the plain reader's, nearly every head) and framed the
    /// usual way (no Transfer-Encoding, at most one Content-Length of plain digits) are read
    /// and checked as ever, but not copied: only the length they give is kept
    /// ([`http::HttpResponse::framing_length`]); a head read another way keeps its fields.
    /// The analysis reads nothing else of them but a redirect's `Location` (a 3xx keeps its
    /// fields); copying them was two allocations, two frees and ~210 instructions a response
    /// on a request-dense capture. The sanitizer writes every field back: it keeps them.
    pub keep_response_fields: bool,
}

impl Default for ProtoLimits {
    fn default() -> Self {
        ProtoLimits {
            max_header_bytes: 64 << 10,
            max_pending_requests: 16_384,
            max_handshake_bytes: 64 << 10,
            body_prefix_bytes: 512,
            body_prefix_from_status: 400,
            keep_response_fields: true,
        }
    }
}

/// How the bytes of an HTTP exchange travelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Plain,
    /// Inside TLS; `decrypted` is always true for exchanges we could read.
    Tls {
        sni: Option<String>,
        version: tls::TlsVersion,
    },
}

/// What `proto` tells the rest of the pipeline about one connection.
#[derive(Debug, Clone, PartialEq)]
pub enum ProtoEvent {
    /// The protocol of one direction was decided from its first bytes.
    Detected {
        dir: crate::flow::Direction,
        protocol: Protocol,
        ts: Timestamp,
    },
    /// A request and, when seen, its response.
    Http(Box<http::HttpExchange>),
    ClientHello(Box<tls::ClientHello>),
    ServerHello(Box<tls::ServerHello>),
    /// A TLS alert record (in clear: before encryption or in reply to non-TLS bytes).
    TlsAlert {
        dir: crate::flow::Direction,
        ts: Timestamp,
        level: u8,
        description: u8,
    },
    /// A `CONNECT host:port` answered by 2xx: the rest of the stream is the tunnel's.
    Tunnel {
        target: String,
        ts: Timestamp,
    },
    /// Something the parser could not make sense of; the connection goes on where possible.
    Anomaly {
        dir: crate::flow::Direction,
        ts: Timestamp,
        what: Anomaly,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// A header block larger than `max_header_bytes`.
    HeaderTooLarge,
    /// Bytes that are not valid HTTP where HTTP was expected (with httparse's reason).
    BadHttp(String),
    /// After a gap the parser skipped `skipped` bytes to find the next message start.
    Resynced { skipped: u64 },
    /// Responses without a request to match (capture started mid-connection, or a gap).
    UnmatchedResponse,
    /// Pipelined requests beyond `max_pending_requests` were dropped.
    TooManyPending,
    /// Malformed TLS handshake.
    BadTls(String),
}
