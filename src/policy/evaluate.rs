//! The rules: facts + policy + what the capture taught → findings. [`judge`](super::judge) calls
//! them as items leave its window; [`evaluate`] runs them over a whole capture at once.
//!
//! Rules (see DESIGN.md "Findings"):
//! - `plaintext-to-https-endpoint`: an HTTP request whose host (or server IP, for IP-literal
//!   endpoints) belongs to an HTTPS endpoint of the policy, whatever the port.
//! - `plaintext-to-tls-port`: an HTTP request to a server address that speaks TLS: the capture
//!   has a TLS session to the same IP:port, the reply was TLS bytes, the server said so in text
//!   (nginx's 400 "The plain HTTP request was sent to HTTPS port", …), or it reset without a word
//!   on the port an HTTPS endpoint names. One request may give both kinds.
//! - `refused-plaintext-attempt`: a refused/unanswered connection to an HTTPS endpoint's host
//!   (known by IP from the capture's own requests and SNIs, or an IP-literal endpoint) on a port
//!   other than its TLS port. Each attempt is reported; the operation is guessed from the next
//!   request of the same client.
//! - `credentials-in-cleartext`: an HTTP request with a signature, session token or presigned
//!   credentials — unless it went to an endpoint configured `http://` on purpose and nothing says
//!   the host or port is HTTPS (no HTTPS endpoint for the host, no TLS on the port).
//!
//! Nothing that travelled inside TLS is a finding. Every lookup here is a hash lookup in
//! [`Knowledge`] or a scan of a bounded candidate list: the cost of a rule does not depend on how
//! many requests came before.

use super::aws_hosts::is_aws_s3_host;
use super::endpoints::{Endpoint, Policy, Scheme, parse_host_header};
use super::finding::{AttemptFacts, Finding, FindingKind, OperationGuess, RequestFacts, TlsFacts};
use super::hints;
use super::judge::{Judge, Judged, inferred_endpoint};
use super::knowledge::{Knowledge, related_hosts};
use super::redirects::Redirect;
use crate::facts::{Request, Shared};
use crate::time::Timestamp;
use std::borrow::Cow;
use std::collections::HashSet;
use std::net::SocketAddr;

/// An endpoint per host the capture shows speaking TLS: by SNI, or by server IP when no SNI was
/// sent (IP-literal endpoints). The port is the TLS server's. One entry per host and port.
pub fn infer_endpoints(tls: &[TlsFacts]) -> Vec<Endpoint> {
    let mut seen = HashSet::new();
    tls.iter()
        .map(inferred_endpoint)
        .filter(|e| seen.insert((e.host.clone(), e.port)))
        .collect()
}

/// All findings of a whole capture against `policy` exactly as given (endpoints inferred from
/// `tls` are not added: see [`infer_endpoints`]), ordered by time (stable: a request's findings
/// keep the order of the kinds). The streaming [`Judge`] with a window as large as the capture.
pub fn evaluate(
    policy: &Policy,
    requests: &[RequestFacts],
    attempts: &[AttemptFacts],
    tls: &[TlsFacts],
) -> Vec<Finding> {
    let mut judge = Judge::new(policy.clone(), usize::MAX);
    for t in tls {
        judge.learn_tls(t);
    }
    let mut judged = Vec::new();
    for r in requests {
        judge.request(Box::new(r.clone()), &mut judged);
    }
    for a in attempts {
        judge.attempt(a.clone(), &mut judged);
    }
    judge.finish(&mut judged);
    let mut out: Vec<Finding> = judged
        .into_iter()
        .flat_map(|j| match j {
            Judged::Request(_, f) => f,
            Judged::Attempt(_, _, f) => f.into_iter().map(|f| *f).collect(),
        })
        .collect();
    out.sort_by_key(|f| f.time);
    out
}

/// What an attempt's guess needs of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: u64,
    pub time: Timestamp,
    pub scheme: Scheme,
    pub server: SocketAddr,
    pub host: Option<Shared>,
    pub method: crate::proto::http::Token,
    pub operation: Option<&'static str>,
    pub user_agent: Option<Shared>,
}

impl Candidate {
    pub fn of(r: &Request) -> Candidate {
        Candidate {
            id: r.id,
            time: r.time,
            scheme: r.scheme,
            server: r.server,
            host: r.host.clone(),
            method: r.method.clone(),
            operation: r.operation_name(),
            user_agent: r.user_agent.clone(),
        }
    }
}

/// An attempt with the requests of its client that came after it.
pub struct AttemptView<'a> {
    pub index: usize,
    pub attempt: &'a AttemptFacts,
    /// Within [`GUESS_WINDOW_NS`](super::judge::GUESS_WINDOW_NS), earliest first.
    pub near: &'a [Candidate],
    /// The earliest at all.
    pub first: Option<&'a Candidate>,
    /// Attempts from the same client IP to the same server within 30 s (itself included).
    pub retries: usize,
}

/// Why a plaintext request is known to have hit a TLS port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsPortEvidence {
    ServerText(&'static str),
    ReplyWasTls,
    TlsSessionSeen,
    ResetOnHttpsPort,
}

/// The findings about one request (lean ones when `lean`: see [`Finding::lean_for_request`]).
/// A CONNECT is the plaintext half of a proxy tunnel whose payload is (normally) TLS: the
/// tunnel's own requests are judged, not the CONNECT.
pub fn request_findings(
    p: &Policy,
    k: &Knowledge,
    r: &RequestFacts,
    lean: bool,
    out: &mut Vec<Finding>,
) {
    let made = match lean {
        true => Finding::lean_for_request,
        false => Finding::for_request,
    };
    if r.scheme != Scheme::Http || r.method.eq_ignore_ascii_case("CONNECT") {
        return;
    }
    // A head the capture cut before its Host is tied by its server address instead.
    let tied = r
        .host
        .is_none()
        .then(|| host_by_address(p, k, r.server))
        .flatten();
    let (host, explicit_port) = match (r.host.as_deref(), &tied) {
        (Some(h), _) => {
            let (h, p) = parse_host_header(h);
            (Some(h), p)
        }
        (None, Some((h, _))) => (Some(Cow::Borrowed(h.as_str())), None),
        (None, None) => (None, None),
    };
    let port = explicit_port.unwrap_or(r.server.port());
    let https = p.https_for_name(host.as_deref(), explicit_port, r.server);
    let http_cfg = p.plaintext_configured(host.as_deref(), r.server.ip(), port);
    let evidence = tls_port_evidence(k, r, https.as_deref(), port);
    let mixed = host
        .as_deref()
        .filter(|h| k.client_used_tls(r.client.ip(), h, r.server.ip()));
    let causes = Causes {
        mixed,
        redirect: k.redirect_followed(r),
        to_aws_host: host.as_deref().is_some_and(is_aws_s3_host),
    };
    let tie = |hint: String| match &tied {
        Some((_, how)) => format!("{how}; {hint}"),
        None => hint,
    };
    if let Some(e) = https.as_deref() {
        let mut f = made(FindingKind::PlaintextToHttpsEndpoint, r, Some(e));
        f.hint = tie(cause_hint(r, &causes, None)).into();
        out.push(f);
    }
    if let Some(ev) = evidence {
        let e = https.as_deref().or(http_cfg);
        let mut f = made(FindingKind::PlaintextToTlsPort, r, e);
        f.hint = tie(cause_hint(r, &causes, Some((ev, port)))).into();
        out.push(f);
    }
    let ev = &r.evidence;
    let carried = ev.sigv4_auth || ev.session_token || ev.presigned;
    if carried && (https.is_some() || evidence.is_some() || http_cfg.is_none()) {
        let e = https.as_deref().or(http_cfg);
        let mut f = made(FindingKind::CredentialsInCleartext, r, e);
        f.hint = hints::credentials_hint(ev.sigv4_auth, ev.session_token, ev.presigned).into();
        out.push(f);
    }
}

fn tls_port_evidence(
    k: &Knowledge,
    r: &RequestFacts,
    https: Option<&Endpoint>,
    port: u16,
) -> Option<TlsPortEvidence> {
    let rejection = hints::plain_http_rejection(r.evidence.response_text.as_deref());
    let rejected = matches!(r.status, Some(hints::PLAIN_HTTP_REJECTION_STATUS) | None);
    if let Some(text) = rejection.filter(|_| rejected) {
        return Some(TlsPortEvidence::ServerText(text));
    }
    if r.evidence.server_replied_tls {
        return Some(TlsPortEvidence::ReplyWasTls);
    }
    if k.is_tls_server(r.server) {
        return Some(TlsPortEvidence::TlsSessionSeen);
    }
    let on_https_port = https.is_some_and(|e| e.port == Some(port));
    (r.evidence.reset_without_response && r.status.is_none() && on_https_port)
        .then_some(TlsPortEvidence::ResetOnHttpsPort)
}

/// The finding about one attempt, when it went to an HTTPS endpoint's plaintext port.
pub fn attempt_finding(p: &Policy, k: &Knowledge, v: &AttemptView<'_>) -> Option<Finding> {
    let a = v.attempt;
    if k.is_tls_server(a.server) {
        return None; // a TLS port that refused: the server is down, not a downgrade
    }
    let (host, endpoint) = endpoint_for_attempt(p, k, v)?;
    let resolved = host
        .as_deref()
        .and_then(|h| resolved_only(p, k, h, a.server.ip()));
    let (guess, guessed) = guess(v, host.as_deref()).unzip();
    let ua = guessed.and_then(|c| c.user_agent.as_deref());
    let mut f = Finding::for_attempt(v.index, a, &endpoint, host);
    f.hint = attempt_hint(a, &endpoint, v.retries, ua, resolved.as_deref()).into();
    f.guess = guess;
    Some(f)
}

/// For a request without a Host (its head cut by the capture): the name of an HTTPS endpoint
/// its server address is known by — a name the capture ties to that IP (Host headers, SNIs),
/// else a `--resolve` address — with a note saying how it was tied. None when no name of the
/// address is an HTTPS endpoint's host.
fn host_by_address(p: &Policy, k: &Knowledge, server: SocketAddr) -> Option<(String, String)> {
    let ip = server.ip();
    let https = |h: &str| p.https_for_name(Some(h), None, server).is_some();
    let tied = "no Host header captured: tied by its server address to";
    if let Some(h) = k.hosts_of(ip).find(|h| https(h)) {
        let note = format!("{tied} {h}, the name other traffic in the capture gives {ip}");
        return Some((h.clone(), note));
    }
    let (h, how) = p.names_for_ip(ip).find(|(h, _)| https(h))?;
    Some((h.to_string(), format!("{tied} {h} ({h} → {ip} {how})")))
}

/// `host → ip (how)` when only name resolution outside the capture ties them.
fn resolved_only(p: &Policy, k: &Knowledge, host: &str, ip: std::net::IpAddr) -> Option<String> {
    let how = p.names_for_ip(ip).find(|(n, _)| *n == host);
    how.filter(|_| !k.ip_named(ip, host))
        .map(|(_, how)| format!("{host} → {ip} {how}"))
}

/// The HTTPS endpoint an attempt's server belongs to (by a host name the capture ties to its
/// IP, or an IP-literal endpoint), when the attempt's port is not that endpoint's TLS port.
/// The host the same client named next on that server is tried first (loopback captures tie
/// many names to one IP).
fn endpoint_for_attempt(
    p: &Policy,
    k: &Knowledge,
    v: &AttemptView<'_>,
) -> Option<(Option<String>, Endpoint)> {
    let a = v.attempt;
    let next_host = v
        .near
        .iter()
        .find(|r| r.server.ip() == a.server.ip())
        .and_then(|r| r.host.as_deref())
        .map(|h| parse_host_header(h).0);
    let names = k.hosts_of(a.server.ip()).map(String::as_str);
    let resolved = p.names_for_ip(a.server.ip()).map(|(h, _)| h);
    let candidates = next_host
        .as_deref()
        .into_iter()
        .chain(names)
        .chain(resolved)
        .map(Some)
        .chain([None]);
    candidates.into_iter().find_map(|h| {
        let e = p.https_for_host(h, a.server)?;
        let tls_port = e.port.unwrap_or(Scheme::Https.default_port());
        (tls_port != a.server.port()).then(|| (h.map(str::to_string), e.into_owned()))
    })
}

/// The next request of the same client IP: to the same host (or server IP) within
/// [`GUESS_WINDOW_NS`](super::judge::GUESS_WINDOW_NS), else the next one in the capture at all.
fn guess<'a>(v: &AttemptView<'a>, host: Option<&str>) -> Option<(OperationGuess, &'a Candidate)> {
    let a = v.attempt;
    let same_host = |r: &&Candidate| match (host, r.host.as_deref()) {
        (Some(h), Some(rh)) => related_hosts(&parse_host_header(rh).0, h),
        _ => r.server.ip() == a.server.ip(),
    };
    let close = v.near.iter().find(same_host);
    let (r, strong) = match close {
        Some(r) => (r, true),
        None => (v.first?, false),
    };
    let secs = r.time.since(a.time) as f64 / 1e9;
    let to = r
        .host
        .as_deref()
        .map_or_else(|| r.server.to_string(), str::to_string);
    let reason = if strong {
        format!(
            "guess: the next request from {} to {to}, {secs:.3} s later ({} {})",
            a.client.ip(),
            r.scheme.as_str(),
            r.method
        )
    } else {
        format!(
            "weak guess: the next request from {} in the capture, {secs:.3} s later, to {to}",
            a.client.ip()
        )
    };
    let g = OperationGuess {
        operation: r.operation,
        request: r.id,
        reason,
    };
    Some((g, r))
}

/// What the capture shows about a plaintext request beyond its own fields.
struct Causes<'a> {
    /// The host, when the same client also reached it over TLS.
    mixed: Option<&'a str>,
    /// The redirect to `http://` it followed.
    redirect: Option<&'a Redirect>,
    /// It went to one of AWS's own S3 hosts (no endpoint of one's own).
    to_aws_host: bool,
}

/// The hint for a plaintext request: at most two causes, most specific first — an affected
/// botocore, a redirect it followed, the TLS-port evidence (for that kind), a client that also
/// used HTTPS (unless a redirect explains it), a 403, then the client's own http settings (from
/// its User-Agent: a guess, so last, and left out when a botocore or redirect hint names the
/// cause) — or the default.
fn cause_hint(
    r: &RequestFacts,
    c: &Causes<'_>,
    tls_port: Option<(TlsPortEvidence, u16)>,
) -> String {
    let ua = r.user_agent.as_deref();
    let downgrade = hints::downgrade_hint(ua);
    // Evidence of the cause (an affected botocore, a redirect) makes the settings guess moot.
    let guess_settings = downgrade.is_none() && c.redirect.is_none();
    let client = guess_settings
        .then(|| hints::client_hint(ua, c.to_aws_host))
        .flatten();
    let parts: Vec<String> = [
        downgrade,
        c.redirect.map(hints::redirect_hint),
        tls_port.map(|(ev, port)| tls_port_hint(ev, port)),
        // A followed redirect is why one client used both schemes: not two configurations.
        c.mixed
            .filter(|_| c.redirect.is_none())
            .map(hints::mixed_schemes_hint),
        (r.status == Some(403)).then(|| hints::SECURE_TRANSPORT_HINT.to_string()),
        client,
    ]
    .into_iter()
    .flatten()
    .take(2)
    .collect();
    if parts.is_empty() {
        return hints::DEFAULT_HINT.to_string();
    }
    parts.join("; ")
}

fn tls_port_hint(ev: TlsPortEvidence, port: u16) -> String {
    let what = match ev {
        TlsPortEvidence::ServerText(t) => format!("the server answered \"{t}\""),
        TlsPortEvidence::ReplyWasTls => "the server answered with TLS bytes".to_string(),
        TlsPortEvidence::TlsSessionSeen => "the capture shows TLS on this address".to_string(),
        TlsPortEvidence::ResetOnHttpsPort => {
            "the server reset the connection without a response".to_string()
        }
    };
    format!(
        "{what}: plain HTTP was sent to the TLS port {port} — the endpoint URL's scheme is http but \
         the port speaks TLS"
    )
}

fn attempt_hint(
    a: &AttemptFacts,
    e: &Endpoint,
    retries: usize,
    ua: Option<&str>,
    resolved: Option<&str>,
) -> String {
    let how = a.outcome.as_str();
    let mut hint = format!(
        "connection to plaintext port {} of {} {how} ({retries} attempt(s) from {} within 30 s): \
         no request bytes were sent; the client was configured with, or rewritten to, http://",
        a.server.port(),
        e.url(),
        a.client.ip()
    );
    if let Some(r) = resolved {
        hint = format!("{hint} (the capture never names the host: {r})");
    }
    // The guessed request is the same client's (usually its retry): its User-Agent names the
    // client, and so the settings that sent it to http.
    let named = hints::downgrade_hint(ua)
        .or_else(|| hints::client_hint(ua, super::aws_hosts::is_aws_s3_host(&e.host)));
    if let Some(d) = named {
        hint = format!("{hint}; the guessed request's User-Agent: {d}");
    }
    hint
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "evaluate_attempt_tests.rs"]
mod attempt_tests;

#[cfg(test)]
#[path = "evaluate_hint_tests.rs"]
mod hint_tests;
