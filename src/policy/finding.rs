//! What the policy stage is told (plain facts gathered by `app` from the earlier stages) and what
//! it concludes (findings).

use super::endpoints::{Endpoint, Origin};
use crate::facts::Shared;
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

/// The strings a lean finding leaves to its request (see [`Finding::fill_with`]).
pub struct RequestStrings {
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub host: Option<Shared>,
    pub method: crate::proto::http::Token,
    pub target: String,
    pub user_agent: Option<Shared>,
}

/// A finding's endpoint: as configured, its origin and where exactly it came from.
struct EndpointPlace {
    url: Option<String>,
    origin: Option<Origin>,
    detail: Option<String>,
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
    pub host: Option<Shared>,
    pub method: Option<crate::proto::http::Token>,
    pub target: Option<String>,
    pub user_agent: Option<Shared>,
    pub status: Option<u16>,
    /// For attempts: refused or unanswered.
    pub outcome: Option<AttemptOutcome>,
    /// One line towards the cause, from what the wire shows.
    /// What to do about it. Static text when it quotes nothing from the wire (nothing in it to
    /// redact): one hint is made per plaintext request.
    pub hint: Cow<'static, str>,
    /// For attempts: what the operation may have been (marked as a guess).
    pub guess: Option<OperationGuess>,
    /// Made lean ([`Finding::lean_for_request`]): the request's strings (bucket, key, host,
    /// method, target, User-Agent) are left to the request, not copied here.
    #[serde(skip)]
    lean: bool,
}

impl Finding {
    /// A finding about a plaintext request, the hint to be filled in.
    pub(crate) fn for_request(
        kind: FindingKind,
        r: &RequestFacts,
        endpoint: Option<&Endpoint>,
    ) -> Finding {
        let mut f = Finding::lean_for_request(kind, r, endpoint);
        f.fill(r);
        f
    }

    /// [`Finding::for_request`] without the request's strings: they stay the request's (its
    /// row's), and whoever holds the finding holds that request with it (see
    /// [`Finding::is_lean`]). A request-dense capture makes one finding per request: copying
    /// six strings into each, then freeing them, then checking them against the request's row
    /// again was a tenth of the report's work.
    pub(crate) fn lean_for_request(
        kind: FindingKind,
        r: &RequestFacts,
        endpoint: Option<&Endpoint>,
    ) -> Finding {
        let place = EndpointPlace {
            url: endpoint.map(Endpoint::url),
            origin: endpoint.map(|e| e.origin),
            detail: endpoint.map(|e| e.detail.clone()),
        };
        Finding::lean(kind, r, place, Cow::Borrowed(""))
    }

    /// A lean finding about `r`: the fields it takes from the request, and the rest given.
    fn lean(
        kind: FindingKind,
        r: &RequestFacts,
        endpoint: EndpointPlace,
        hint: Cow<'static, str>,
    ) -> Finding {
        Finding {
            kind,
            request: Some(r.id),
            attempt: None,
            operation: r.operation_name(),
            bucket: None,
            key: None,
            endpoint: endpoint.url,
            origin: endpoint.origin,
            endpoint_detail: endpoint.detail,
            time: r.time,
            client: r.client,
            server: r.server,
            host: None,
            method: None,
            target: None,
            user_agent: None,
            status: r.status,
            outcome: None,
            hint,
            guess: None,
            lean: true,
        }
    }

    /// This lean finding made for another request `r` whose findings are worked out from the
    /// same Host, server, User-Agent, status and evidence (see `policy::verdict`): the fields
    /// [`Finding::lean_for_request`] takes from the request are `r`'s, the rest this one's.
    /// Only the fields a lean finding has are copied (a whole clone was 150 instructions a
    /// request, this ~40).
    pub(crate) fn again_for(&self, r: &RequestFacts) -> Finding {
        let place = EndpointPlace {
            url: self.endpoint.clone(),
            origin: self.origin,
            detail: self.endpoint_detail.clone(),
        };
        Finding::lean(self.kind, r, place, self.hint.clone())
    }

    /// Made by [`Finding::lean_for_request`] and not filled since: its bucket, key, host,
    /// method, target and User-Agent are its request's, and read as None here.
    pub fn is_lean(&self) -> bool {
        self.lean
    }

    /// A lean finding made whole from its request: what [`Finding::for_request`] would have
    /// made. A whole finding is left as it is.
    pub fn fill(&mut self, r: &RequestFacts) {
        if self.lean {
            self.fill_with(RequestStrings {
                bucket: r.bucket.clone(),
                key: r.key.clone(),
                host: r.host.clone(),
                method: r.method.clone(),
                target: r.target.clone(),
                user_agent: r.user_agent.clone(),
            });
        }
    }

    /// A lean finding made whole with its request's strings (the target may be given
    /// redacted: a finding's row shows it redacted, and redaction leaves a redacted target as
    /// it is).
    pub fn fill_with(&mut self, s: RequestStrings) {
        self.bucket = s.bucket;
        self.key = s.key;
        self.host = s.host;
        self.method = Some(s.method);
        self.target = Some(s.target);
        self.user_agent = s.user_agent;
        self.lean = false;
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
            host: host.map(Shared::Owned),
            method: None,
            target: None,
            user_agent: None,
            status: None,
            outcome: Some(a.outcome),
            hint: Cow::Borrowed(""),
            guess: None,
            lean: false,
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
        Some(seen_line(method, self.host.as_deref(), self.server, target))
    }
}

/// The request as seen (see [`Finding::seen`]) from its parts: `METHOD http://host/target`, the
/// server's address for a missing Host, an absolute-form target as it is.
pub fn seen_line(method: &str, host: Option<&str>, server: SocketAddr, target: &str) -> String {
    let text;
    let authority = match (host, target.starts_with('/')) {
        (_, false) => "",
        (Some(h), true) => h,
        (None, true) => {
            text = server.to_string();
            text.as_str()
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
    seen
}
