//! What the wire showed, typed: the records `app` builds from `proto` and `s3`, that `policy`
//! judges and `report` renders. Values are as seen (not redacted); the report's one redactor
//! turns them into strings at the boundary.

use crate::flow::AttemptOutcome;
use crate::policy::Scheme;
use crate::s3::Addressing;
use crate::time::Timestamp;
use serde::Serialize;
use std::net::SocketAddr;

/// A text most requests repeat (their Host, their User-Agent): one copy that every request
/// carrying it shares once it was seen (see `app/shared_texts.rs`), else the request's own.
pub type Shared = std::borrow::Cow<'static, str>;

/// One HTTP request as the wire showed it, with what answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The request's id in the report (1-based, in order of completion).
    pub id: u64,
    /// Time of the request line.
    pub time: Timestamp,
    /// Http: sent in clear. Https: read from inside TLS (decrypted).
    pub scheme: Scheme,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// The `Host` header, or the authority of an absolute-form target (may carry `:port`).
    pub host: Option<Shared>,
    pub method: crate::proto::http::Token,
    /// The request target exactly as sent (not redacted); as far as seen when `truncated`.
    pub target: String,
    /// The capture cut the head short (snaplen, lost bytes): a partial request, as the wire
    /// shows it.
    pub truncated: bool,
    /// The S3 operation (the model's name), or why none could be named.
    pub operation: Result<&'static str, String>,
    /// A note on how the operation was chosen (deprecated twin, ignored keys, …).
    pub operation_note: Option<String>,
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub addressing: Addressing,
    /// Final response status; None when no response was seen.
    pub status: Option<u16>,
    /// Interim 1xx statuses before the final one.
    pub interim: Vec<u16>,
    /// The `Location` header of a 3xx response, as sent (not redacted): where the server
    /// redirected the client.
    pub location: Option<String>,
    pub user_agent: Option<Shared>,
    /// The `Authorization` header as sent (not redacted).
    pub authorization: Option<String>,
    pub request_body_bytes: Option<u64>,
    pub response_body_bytes: Option<u64>,
    pub response_time: Option<Timestamp>,
    /// The TLS session that carried it (Https only). Boxed, as `process` is: each is there on
    /// few requests (decrypted HTTPS; live capture) and held inline they were 112 of the
    /// record's 552 bytes, written for every request and copied with its exchange's view of the
    /// connection (dense-50k, plaintext: ~55 instructions a request less; an HTTPS request's
    /// record makes one allocation more).
    pub tls: Option<Box<RequestTls>>,
    /// Connection id (same value = same TCP connection).
    pub connection: u64,
    /// Live capture: the local process that owned the client socket.
    pub process: Option<Box<ProcessInfo>>,
    /// `s3wire run`: whether the request is the command's; None outside `run`.
    pub owner: Option<Owner>,
    pub evidence: Evidence,
}

impl Request {
    /// The operation's name, when one was named.
    pub fn operation_name(&self) -> Option<&'static str> {
        self.operation.as_ref().ok().copied()
    }

    /// For unit tests: a plaintext `PUT /b1/k1` (PutObject, path-style, answered 200) from
    /// `client` to `server`; each test changes what it is about.
    #[cfg(test)]
    pub(crate) fn sample(id: u64, time: Timestamp, client: &str, server: &str) -> Request {
        Request {
            id,
            time,
            scheme: Scheme::Http,
            client: client.parse().expect(client),
            server: server.parse().expect(server),
            host: None,
            method: "PUT".into(),
            target: "/b1/k1".into(),
            truncated: false,
            operation: Ok("PutObject"),
            operation_note: None,
            bucket: Some("b1".into()),
            key: Some("k1".into()),
            addressing: Addressing::Path,
            status: Some(200),
            interim: vec![],
            location: None,
            user_agent: None,
            authorization: None,
            request_body_bytes: None,
            response_body_bytes: None,
            response_time: None,
            tls: None,
            connection: id,
            process: None,
            owner: None,
            evidence: Evidence::default(),
        }
    }
}

/// What the policy stage needs about a request beyond its fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// `Authorization` carried an AWS signature (SigV4, SigV4a or SigV2).
    pub sigv4_auth: bool,
    /// `x-amz-security-token` header (or query parameter).
    pub session_token: bool,
    /// Presigned-URL credentials in the query.
    pub presigned: bool,
    /// The server answered these plaintext bytes with TLS (an alert or a handshake).
    pub server_replied_tls: bool,
    /// The start of the response body, when it is short text worth quoting (error documents,
    /// nginx's "The plain HTTP request was sent to HTTPS port").
    pub response_text: Option<String>,
    /// The connection was reset before any response came back.
    pub reset_without_response: bool,
}

/// The TLS session a request travelled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestTls {
    pub sni: Option<String>,
    pub version: String,
    pub decrypted: bool,
}

/// A local process, as `/proc` named it when its connection was first seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    pub pid: u32,
    /// The short name (`/proc/PID/comm`), e.g. `python3`.
    pub name: String,
    /// The command line, arguments joined by spaces (redacted like every other field).
    pub cmdline: String,
}

/// A connection attempt that carried no data: refused (RST) or unanswered SYNs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Time of the first SYN.
    pub time: Timestamp,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub outcome: AttemptOutcome,
    /// SYNs sent (1 + retransmissions).
    pub syns: u32,
    /// `s3wire run`: whether the attempt is the command's; None outside `run`.
    pub owner: Option<Owner>,
}

/// `s3wire run`: whose traffic a request or attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Owner {
    /// The command or one of its descendants.
    Command,
    /// `run`'s `/proc` fallback could not name its process (the socket was gone before it was
    /// looked up): listed so nothing is hidden, but never judged as the command's.
    Unknown,
}

impl Owner {
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Command => "command",
            Owner::Unknown => "unknown",
        }
    }
}

/// A TLS session's ClientHello, in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsHello {
    pub time: Timestamp,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub sni: Option<String>,
}
