//! Facts + policy → findings, and endpoints inferred from the TLS the capture shows.
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
//! Nothing that travelled inside TLS is a finding.

use super::endpoints::{Endpoint, Origin, Policy, Scheme, normalise_host, parse_host_header};
use super::finding::{AttemptFacts, Finding, FindingKind, OperationGuess, RequestFacts, TlsFacts};
use super::hints;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

/// A request to the same host within this long after an attempt is its likely operation.
const GUESS_WINDOW_NS: i64 = 10 * 1_000_000_000;
/// Attempts from one client to one server address this close together are one operation's retries.
const RETRY_WINDOW_NS: i64 = 30 * 1_000_000_000;

/// An endpoint per host the capture shows speaking TLS: by SNI, or by server IP when no SNI was
/// sent (IP-literal endpoints). The port is the TLS server's. One entry per host and port.
pub fn infer_endpoints(tls: &[TlsFacts]) -> Vec<Endpoint> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for t in tls {
        let (host, detail) = match t.sni.as_deref().map(normalise_host) {
            Some(sni) if !sni.is_empty() => {
                let d = format!(
                    "TLS seen: SNI {sni} to {} at {}",
                    t.server,
                    t.time.rfc3339()
                );
                (sni, d)
            }
            _ => {
                let d = format!(
                    "TLS seen: no SNI, server {} at {}",
                    t.server,
                    t.time.rfc3339()
                );
                (t.server.ip().to_string(), d)
            }
        };
        if seen.insert((host.clone(), t.server.port())) {
            out.push(Endpoint {
                scheme: Scheme::Https,
                host,
                port: Some(t.server.port()),
                origin: Origin::Inferred,
                detail,
            });
        }
    }
    out
}

/// All findings, ordered by time (stable: a request's findings keep the order of the kinds).
pub fn evaluate(
    policy: &Policy,
    requests: &[RequestFacts],
    attempts: &[AttemptFacts],
    tls: &[TlsFacts],
) -> Vec<Finding> {
    let ctx = Context::new(policy, requests, tls);
    let mut out = Vec::new();
    // A CONNECT is the plaintext half of a proxy tunnel whose payload is (normally) TLS: the
    // tunnel's own requests are judged, not the CONNECT.
    let plaintext = requests
        .iter()
        .filter(|r| r.scheme == Scheme::Http && !r.method.eq_ignore_ascii_case("CONNECT"));
    for r in plaintext {
        ctx.request_findings(r, &mut out);
    }
    for (i, a) in attempts.iter().enumerate() {
        out.extend(ctx.attempt_finding(i, a, attempts));
    }
    out.sort_by_key(|f| f.time);
    out
}

/// Why a plaintext request is known to have hit a TLS port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsPortEvidence {
    ServerText(&'static str),
    ReplyWasTls,
    TlsSessionSeen,
    ResetOnHttpsPort,
}

struct Context<'a> {
    policy: &'a Policy,
    requests: &'a [RequestFacts],
    tls: &'a [TlsFacts],
    tls_servers: HashSet<SocketAddr>,
    /// Host names the capture ties to each server IP (Host headers, SNIs).
    hosts_by_ip: HashMap<IpAddr, BTreeSet<String>>,
}

impl<'a> Context<'a> {
    fn new(policy: &'a Policy, requests: &'a [RequestFacts], tls: &'a [TlsFacts]) -> Self {
        let mut hosts_by_ip: HashMap<IpAddr, BTreeSet<String>> = HashMap::new();
        let named = requests
            .iter()
            .filter_map(|r| Some((r.server.ip(), parse_host_header(r.host.as_deref()?).0)))
            .chain(
                tls.iter()
                    .filter_map(|t| Some((t.server.ip(), normalise_host(t.sni.as_deref()?)))),
            );
        for (ip, host) in named.filter(|(_, h)| !h.is_empty()) {
            hosts_by_ip.entry(ip).or_default().insert(host);
        }
        Context {
            policy,
            requests,
            tls,
            tls_servers: tls.iter().map(|t| t.server).collect(),
            hosts_by_ip,
        }
    }

    fn request_findings(&self, r: &RequestFacts, out: &mut Vec<Finding>) {
        let (host, explicit_port) = match r.host.as_deref() {
            Some(h) => {
                let (h, p) = parse_host_header(h);
                (Some(h), p)
            }
            None => (None, None),
        };
        let port = explicit_port.unwrap_or(r.server.port());
        let https = self.policy.https_for_host(r.host.as_deref(), r.server);
        let http_cfg = self
            .policy
            .plaintext_configured(host.as_deref(), r.server.ip(), port);
        let evidence = self.tls_port_evidence(r, https.as_deref(), port);
        let mixed = host
            .as_deref()
            .filter(|h| self.client_used_tls(r.client.ip(), h, r.server.ip()));
        if let Some(e) = https.as_deref() {
            let mut f = Finding::for_request(FindingKind::PlaintextToHttpsEndpoint, r, Some(e));
            f.hint = cause_hint(r, mixed, None);
            out.push(f);
        }
        if let Some(ev) = evidence {
            let e = https.as_deref().or(http_cfg);
            let mut f = Finding::for_request(FindingKind::PlaintextToTlsPort, r, e);
            f.hint = cause_hint(r, mixed, Some((ev, port)));
            out.push(f);
        }
        let carried = r.has_sigv4_auth || r.has_session_token || r.presigned;
        if carried && (https.is_some() || evidence.is_some() || http_cfg.is_none()) {
            let e = https.as_deref().or(http_cfg);
            let mut f = Finding::for_request(FindingKind::CredentialsInCleartext, r, e);
            f.hint = hints::credentials_hint(r.has_sigv4_auth, r.has_session_token, r.presigned);
            out.push(f);
        }
    }

    fn tls_port_evidence(
        &self,
        r: &RequestFacts,
        https: Option<&Endpoint>,
        port: u16,
    ) -> Option<TlsPortEvidence> {
        // nginx, Apache and Go all say it with a 400; any other status is an object that
        // happens to contain the words.
        let rejection = hints::plain_http_rejection(r.response_body_prefix.as_deref());
        if let Some(text) = rejection.filter(|_| matches!(r.status, Some(400) | None)) {
            return Some(TlsPortEvidence::ServerText(text));
        }
        if r.server_replied_tls {
            return Some(TlsPortEvidence::ReplyWasTls);
        }
        if self.tls_servers.contains(&r.server) {
            return Some(TlsPortEvidence::TlsSessionSeen);
        }
        let on_https_port = https.is_some_and(|e| e.port == Some(port));
        (r.reset_without_response && r.status.is_none() && on_https_port)
            .then_some(TlsPortEvidence::ResetOnHttpsPort)
    }

    /// Did this client IP also speak TLS to `host` (the same name, a subdomain or parent of it,
    /// or the same server IP when no SNI was sent)?
    fn client_used_tls(&self, client: IpAddr, host: &str, server: IpAddr) -> bool {
        let by_tls = self
            .tls
            .iter()
            .filter(|t| t.client.ip() == client)
            .any(|t| match t.sni.as_deref().map(normalise_host) {
                Some(sni) => related_hosts(&sni, host),
                None => t.server.ip() == server,
            });
        let by_request = self.requests.iter().any(|q| {
            q.scheme == Scheme::Https
                && q.client.ip() == client
                && q.host
                    .as_deref()
                    .is_some_and(|h| related_hosts(&parse_host_header(h).0, host))
        });
        by_tls || by_request
    }

    fn attempt_finding(
        &self,
        index: usize,
        a: &AttemptFacts,
        all: &[AttemptFacts],
    ) -> Option<Finding> {
        if self.tls_servers.contains(&a.server) {
            return None; // a TLS port that refused: the server is down, not a downgrade
        }
        let (host, endpoint) = self.endpoint_for_attempt(a)?;
        let resolved = host
            .as_deref()
            .and_then(|h| self.resolved_only(h, a.server.ip()));
        let guess = self.guess(a, host.as_deref());
        let retries = all
            .iter()
            .filter(|b| {
                b.client.ip() == a.client.ip()
                    && b.server == a.server
                    && b.time.since(a.time).saturating_abs() <= RETRY_WINDOW_NS
            })
            .count();
        let ua = guess
            .as_ref()
            .and_then(|g| self.requests.iter().find(|r| r.id == g.request))
            .and_then(|r| r.user_agent.as_deref());
        let mut f = Finding::for_attempt(index, a, &endpoint, host);
        f.hint = attempt_hint(a, &endpoint, retries, ua, resolved.as_deref());
        f.guess = guess;
        Some(f)
    }

    /// `host → ip (how)` when only name resolution outside the capture ties them.
    fn resolved_only(&self, host: &str, ip: IpAddr) -> Option<String> {
        let seen = self.hosts_by_ip.get(&ip).is_some_and(|n| n.contains(host));
        let how = self.policy.names_for_ip(ip).find(|(n, _)| *n == host);
        how.filter(|_| !seen)
            .map(|(_, how)| format!("{host} → {ip} {how}"))
    }

    /// The HTTPS endpoint an attempt's server belongs to (by a host name the capture ties to its
    /// IP, or an IP-literal endpoint), when the attempt's port is not that endpoint's TLS port.
    /// The host the same client named next on that server is tried first (loopback captures tie
    /// many names to one IP).
    fn endpoint_for_attempt(&self, a: &AttemptFacts) -> Option<(Option<String>, Endpoint)> {
        let next_host = self
            .requests
            .iter()
            .filter(|r| r.client.ip() == a.client.ip() && r.server.ip() == a.server.ip())
            .filter(|r| r.time >= a.time && r.time.since(a.time) <= GUESS_WINDOW_NS)
            .min_by_key(|r| r.time)
            .and_then(|r| r.host.as_deref())
            .map(|h| parse_host_header(h).0);
        let names = self.hosts_by_ip.get(&a.server.ip());
        let resolved = self.policy.names_for_ip(a.server.ip()).map(|(h, _)| h);
        let candidates = next_host
            .iter()
            .chain(names.into_iter().flatten())
            .map(String::as_str)
            .chain(resolved)
            .map(Some)
            .chain([None]);
        candidates.into_iter().find_map(|h| {
            let e = self.policy.https_for_host(h, a.server)?;
            let tls_port = e.port.unwrap_or(Scheme::Https.default_port());
            (tls_port != a.server.port()).then(|| (h.map(str::to_string), e.into_owned()))
        })
    }

    /// The next request of the same client IP: to the same host (or server IP) within
    /// [`GUESS_WINDOW_NS`], else the next one in the capture at all.
    fn guess(&self, a: &AttemptFacts, host: Option<&str>) -> Option<OperationGuess> {
        let later = || {
            self.requests
                .iter()
                .filter(move |r| r.client.ip() == a.client.ip() && r.time >= a.time)
        };
        let same_host = |r: &&RequestFacts| match (host, r.host.as_deref()) {
            (Some(h), Some(rh)) => related_hosts(&parse_host_header(rh).0, h),
            _ => r.server.ip() == a.server.ip(),
        };
        let close = later()
            .filter(|r| r.time.since(a.time) <= GUESS_WINDOW_NS)
            .filter(same_host)
            .min_by_key(|r| r.time);
        let (r, strong) = match close {
            Some(r) => (r, true),
            None => (later().min_by_key(|r| r.time)?, false),
        };
        let secs = r.time.since(a.time) as f64 / 1e9;
        let to = r.host.clone().unwrap_or_else(|| r.server.to_string());
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
        Some(OperationGuess {
            operation: r.operation.clone(),
            request: r.id,
            reason,
        })
    }
}

/// Same name, or one a subdomain of the other (virtual-hosted bucket vs. endpoint host).
fn related_hosts(a: &str, b: &str) -> bool {
    let sub = |x: &str, y: &str| x.strip_suffix(y).is_some_and(|p| p.ends_with('.'));
    a == b || sub(a, b) || sub(b, a)
}

/// The hint for a plaintext request: at most two causes, most specific first — an affected
/// botocore, the TLS-port evidence (for that kind), a client that also used HTTPS, a 403 — or
/// the default.
fn cause_hint(
    r: &RequestFacts,
    mixed: Option<&str>,
    tls_port: Option<(TlsPortEvidence, u16)>,
) -> String {
    let parts: Vec<String> = [
        hints::downgrade_hint(r.user_agent.as_deref()),
        tls_port.map(|(ev, port)| tls_port_hint(ev, port)),
        mixed.map(hints::mixed_schemes_hint),
        (r.status == Some(403)).then(|| hints::SECURE_TRANSPORT_HINT.to_string()),
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
    let how = match a.outcome {
        crate::flow::AttemptOutcome::Refused => "refused",
        crate::flow::AttemptOutcome::Unanswered => "unanswered",
    };
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
    if let Some(d) = hints::downgrade_hint(ua) {
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
