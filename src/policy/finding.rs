//! What the policy stage is told (plain facts gathered by `app` from the earlier stages) and what
//! it concludes (findings).

use super::endpoints::{Endpoint, Origin};
use crate::flow::AttemptOutcome;
use crate::time::Timestamp;
use serde::Serialize;
use std::borrow::Cow;
use std::net::SocketAddr;

/// The policy's names for the typed records it judges (see [`crate::facts`]).
pub use crate::facts::{Attempt as AttemptFacts, Request as RequestFacts, TlsHello as TlsFacts};

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
    /// Every kind, most serious first: a request with several findings is filed under the
    /// first of its kinds in this order.
    pub const ALL: [FindingKind; 4] = [
        FindingKind::PlaintextToHttpsEndpoint,
        FindingKind::PlaintextToTlsPort,
        FindingKind::RefusedPlaintextAttempt,
        FindingKind::CredentialsInCleartext,
    ];

    /// Position in [`FindingKind::ALL`]: lower is more serious.
    pub fn rank(self) -> usize {
        self as usize
    }

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
    pub operation: Option<&'static str>,
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
    /// The model's name (static text: findings are made by the hundred thousand).
    pub operation: Option<&'static str>,
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
    pub method: Option<crate::proto::http::Token>,
    pub target: Option<String>,
    pub user_agent: Option<String>,
    pub status: Option<u16>,
    /// For attempts: refused or unanswered.
    pub outcome: Option<AttemptOutcome>,
    /// One line towards the cause, from what the wire shows.
    /// What to do about it. Static text when it quotes nothing from the wire (nothing in it to
    /// redact): one hint is made per plaintext request.
    pub hint: Cow<'static, str>,
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
            operation: r.operation_name(),
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
            hint: Cow::Borrowed(""),
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
            hint: Cow::Borrowed(""),
            guess: None,
        }
    }

    /// The request as seen: `GET http://host:port/bucket/key?…` (absolute-form targets as
    /// sent). Not redacted: pass it through `report::redact::redact_target`.
    pub fn seen(&self) -> Option<String> {
        self.seen_as(self.target.as_deref()?)
    }

    /// [`Finding::seen`] with another rendering of the target (e.g. redacted).
    pub fn seen_as(&self, target: &str) -> Option<String> {
        let method = self.method.as_deref()?;
        let server;
        let authority = match (&self.host, target.starts_with('/')) {
            (_, false) => "",
            (Some(h), true) => h.as_str(),
            (None, true) => {
                server = self.server.to_string();
                server.as_str()
            }
        };
        let mut seen = String::with_capacity(method.len() + authority.len() + target.len() + 9);
        seen.push_str(method);
        seen.push(' ');
        if target.starts_with('/') {
            seen.push_str("http://");
            seen.push_str(authority);
        }
        seen.push_str(target);
        Some(seen)
    }
}
