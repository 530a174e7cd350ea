//! What the policy stage is told (plain facts gathered by `app` from the earlier stages) and what
//! it concludes (findings).

use super::endpoints::{Endpoint, Origin, Scheme};
use crate::flow::AttemptOutcome;
use crate::time::Timestamp;
use serde::Serialize;
use std::net::SocketAddr;

/// One HTTP request as the wire showed it, with what answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    /// The request's id in the report.
    pub id: u64,
    /// Time of the request line.
    pub time: Timestamp,
    /// Http: sent in clear. Https: read from inside TLS (decrypted).
    pub scheme: Scheme,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// The `Host` header, or the authority of an absolute-form target (may carry `:port`).
    pub host: Option<String>,
    /// SNI of the TLS session that carried it (Https only).
    pub sni: Option<String>,
    pub method: String,
    /// The request target exactly as sent.
    pub target: String,
    pub operation: Option<String>,
    pub bucket: Option<String>,
    pub key: Option<String>,
    /// Final response status; None when no response was seen.
    pub status: Option<u16>,
    pub user_agent: Option<String>,
    /// `Authorization` carried an AWS signature (SigV4, SigV4a or SigV2).
    pub has_sigv4_auth: bool,
    /// `x-amz-security-token` header (or query parameter).
    pub has_session_token: bool,
    /// Presigned-URL credentials in the query (`X-Amz-Credential`/`X-Amz-Signature`,
    /// `AWSAccessKeyId`/`Signature`).
    pub presigned: bool,
    /// The start of the response body as text, when there was one (error documents, nginx's
    /// "The plain HTTP request was sent to HTTPS port").
    pub response_body_prefix: Option<String>,
    /// The server answered these plaintext bytes with TLS (an alert or handshake record).
    pub server_replied_tls: bool,
    /// The server reset the connection without any response.
    pub reset_without_response: bool,
}

/// A connection attempt that carried no data: refused (RST) or unanswered SYNs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFacts {
    /// Time of the first SYN.
    pub time: Timestamp,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub outcome: AttemptOutcome,
    /// SYNs sent (1 + retransmissions).
    pub syns: u32,
}

/// A TLS session's ClientHello, in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFacts {
    pub time: Timestamp,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub sni: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// A request went over HTTP to a host configured (or proven) HTTPS.
    PlaintextToHttpsEndpoint,
    /// HTTP bytes were sent to a port that speaks TLS.
    PlaintextToTlsPort,
    /// A connection to an HTTPS endpoint's plaintext port was refused or unanswered.
    RefusedPlaintextAttempt,
    /// A plaintext request carried a signature, session token or presigned credentials.
    CredentialsInCleartext,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::PlaintextToHttpsEndpoint => "plaintext-to-https-endpoint",
            FindingKind::PlaintextToTlsPort => "plaintext-to-tls-port",
            FindingKind::RefusedPlaintextAttempt => "refused-plaintext-attempt",
            FindingKind::CredentialsInCleartext => "credentials-in-cleartext",
        }
    }
}

/// What a refused attempt's operation may have been. Always a guess: no request bytes exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationGuess {
    pub operation: Option<String>,
    /// The request the guess is taken from.
    pub request: u64,
    /// Why this request, and how far it is from the attempt.
    pub reason: String,
}

/// One finding, with everything a reader needs to act on it. Values are as seen on the wire;
/// redaction happens in `report`, before rendering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// The request's id, for findings about a request.
    pub request: Option<u64>,
    /// The index into the attempts, for refused/unanswered attempts.
    pub attempt: Option<usize>,
    pub operation: Option<String>,
    pub bucket: Option<String>,
    pub key: Option<String>,
    /// The endpoint as configured (`https://host:port`), its origin and where exactly it came
    /// from. None only when no endpoint names the host (credentials to an unlisted host, HTTP
    /// to a TLS port nobody configured).
    pub endpoint: Option<String>,
    pub origin: Option<Origin>,
    pub endpoint_detail: Option<String>,
    pub time: Timestamp,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub host: Option<String>,
    pub method: Option<String>,
    pub target: Option<String>,
    pub user_agent: Option<String>,
    pub status: Option<u16>,
    /// For attempts: refused or unanswered.
    pub outcome: Option<AttemptOutcome>,
    /// One line towards the cause, from what the wire shows.
    pub hint: String,
    /// For attempts: what the operation may have been (marked as a guess).
    pub guess: Option<OperationGuess>,
}

impl Finding {
    /// A finding about a plaintext request, the hint to be filled in.
    pub(crate) fn for_request(
        kind: FindingKind,
        r: &RequestFacts,
        endpoint: Option<&Endpoint>,
    ) -> Finding {
        Finding {
            kind,
            request: Some(r.id),
            attempt: None,
            operation: r.operation.clone(),
            bucket: r.bucket.clone(),
            key: r.key.clone(),
            endpoint: endpoint.map(Endpoint::url),
            origin: endpoint.map(|e| e.origin),
            endpoint_detail: endpoint.map(|e| e.detail.clone()),
            time: r.time,
            client: r.client,
            server: r.server,
            host: r.host.clone(),
            method: Some(r.method.clone()),
            target: Some(r.target.clone()),
            user_agent: r.user_agent.clone(),
            status: r.status,
            outcome: None,
            hint: String::new(),
            guess: None,
        }
    }

    /// A finding about a connection attempt, hint and guess to be filled in.
    pub(crate) fn for_attempt(
        index: usize,
        a: &AttemptFacts,
        endpoint: &Endpoint,
        host: Option<String>,
    ) -> Finding {
        Finding {
            kind: FindingKind::RefusedPlaintextAttempt,
            request: None,
            attempt: Some(index),
            operation: None,
            bucket: None,
            key: None,
            endpoint: Some(endpoint.url()),
            origin: Some(endpoint.origin),
            endpoint_detail: Some(endpoint.detail.clone()),
            time: a.time,
            client: a.client,
            server: a.server,
            host,
            method: None,
            target: None,
            user_agent: None,
            status: None,
            outcome: Some(a.outcome),
            hint: String::new(),
            guess: None,
        }
    }

    /// The request as seen: `GET http://host:port/bucket/key?…` (absolute-form targets as
    /// sent). Not redacted: pass it through `report::redact::redact_target`.
    pub fn seen(&self) -> Option<String> {
        let method = self.method.as_deref()?;
        let target = self.target.as_deref()?;
        if target.starts_with('/') {
            let authority = self.host.clone().unwrap_or_else(|| self.server.to_string());
            Some(format!("{method} http://{authority}{target}"))
        } else {
            Some(format!("{method} {target}"))
        }
    }
}
