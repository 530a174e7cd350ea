//! The summary a reader looks at first: findings grouped by cause. Ten thousand plaintext
//! requests from one misconfigured client are one line ("10000 requests went over http to
//! `https://s3.example.com` (configured by --endpoint) from 10.0.0.7 Boto3/1.40.14:
//! PutObject ×9000, …; hint: …"), not ten thousand evidence blocks.
//!
//! A group is one cause: the most serious finding kind of each request, the endpoint as
//! configured (or as seen, when nobody configured it), the client host, its User-Agent product
//! and, in live capture, its process. Aggregated as rows are judged, so memory is bounded by the
//! number of groups (capped) and never by the number of requests.

use super::Scheme;
use super::rows::Redactor;
use crate::facts::{Owner, Request};
use crate::flow::FastHash;
use crate::policy::{FailOn, Finding, FindingKind, Origin, Severity};
use crate::time::Timestamp;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// Groups kept; past this, findings are counted in `Summary::findings_not_grouped`. A capture
/// with more distinct causes than this needs the JSON findings, not a summary.
const MAX_GROUPS: usize = 200;
/// Request ids listed per group (the JSON `findings` have every one).
const MAX_IDS: usize = 10;
/// Distinct hints kept per group.
const MAX_HINTS: usize = 3;
/// Operations named in a group's sentence; the JSON lists them all.
const OPS_IN_TEXT: usize = 8;

/// One cause, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupRecord {
    pub severity: Severity,
    /// The most serious finding kind of each request (or attempt) in the group.
    pub kind: FindingKind,
    /// The one-line summary every format shows.
    pub text: String,
    /// Every finding kind in the group, with counts (a plaintext request that also carried a
    /// signature counts under both).
    pub kinds: BTreeMap<FindingKind, u64>,
    pub endpoint: String,
    pub origin: String,
    pub endpoint_detail: String,
    /// The client's address (without the port: each connection has its own).
    pub client: String,
    /// The first token of the User-Agent (`Boto3/1.40.14`, `aws-cli/2.22.0`, …).
    pub user_agent: Option<String>,
    /// Live capture: the client's process name.
    pub process: Option<String>,
    /// `s3wire run`: `command`, or `unknown` (a group apart, always a warning); null elsewhere.
    pub owner: Option<Owner>,
    /// `http` for requests; null for attempts (no bytes left the client).
    pub scheme: Option<Scheme>,
    pub requests: u64,
    pub attempts: u64,
    /// Operations with counts, most frequent first (`unknown` when none could be named; for
    /// attempts the guessed operation with a `?`).
    pub operations: Vec<OperationTally>,
    pub first: Timestamp,
    pub last: Timestamp,
    /// The first request ids (see `requests`), at most 10.
    pub request_ids: Vec<u64>,
    /// Distinct hints with how many findings gave each (at most 3; the rest counted).
    pub hints: Vec<HintTally>,
    pub other_hints: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationTally {
    pub operation: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HintTally {
    pub hint: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    kind: FindingKind,
    /// As configured, or (not `configured`) `http://` and the host as the request went.
    endpoint: String,
    configured: bool,
    client: IpAddr,
    agent: Option<String>,
    process: Option<String>,
    /// `run`: an unknown owner's findings are a group apart, never the command's.
    owner: Option<Owner>,
}

impl Key {
    /// Whether `f` (its request's Host `host`) belongs under this key, compared in place.
    fn is(
        &self,
        f: &Finding,
        host: Option<&str>,
        agent: Option<&str>,
        process: Option<&str>,
        owner: Option<Owner>,
    ) -> bool {
        let endpoint = match (&f.endpoint, self.configured) {
            (Some(url), true) => *url == self.endpoint,
            (None, false) => match host {
                Some(host) => self.endpoint.strip_prefix("http://") == Some(host),
                None => self.endpoint == EndpointView::of_host(f, None).url,
            },
            _ => false,
        };
        endpoint
            && self.kind == f.kind
            && self.client == f.client.ip()
            && self.agent.as_deref() == agent
            && self.process.as_deref() == process
            && self.owner == owner
    }
}

struct Group {
    key: Key,
    origin: String,
    detail: String,
    scheme: Option<Scheme>,
    /// Findings by kind, indexed by [`FindingKind::rank`] (a map's entry per finding cost
    /// more than the rest of a repeat's work).
    kinds: [u64; KINDS],
    requests: u64,
    attempts: u64,
    /// Operations with counts, in the order first seen (the report sorts them).
    operations: Vec<(Cow<'static, str>, u64)>,
    /// The operation the last finding was counted under: a client's requests repeat it.
    last_op: usize,
    first: Timestamp,
    last: Timestamp,
    ids: Vec<u64>,
    /// Each distinct hint as made (to match the next ones on), and as reported (redacted).
    hints: Vec<(Cow<'static, str>, HintTally)>,
    /// The hint the last finding was counted under.
    last_hint: usize,
    other_hints: u64,
}

/// Finding kinds there are.
const KINDS: usize = FindingKind::ALL.len();

impl Group {
    /// Counts one finding under `op`.
    fn count_operation(&mut self, op: Cow<'static, str>) {
        match find_text(&self.operations, &mut self.last_op, &op) {
            Some(i) => {
                if let Some((_, n)) = self.operations.get_mut(i) {
                    *n += 1;
                }
            }
            None => {
                self.last_op = self.operations.len();
                self.operations.push((op, 1));
            }
        }
    }

    /// Counts a finding's hint: true when it was counted (a known hint), false when it is
    /// new (the caller adds it, or counts it among the others).
    fn count_hint(&mut self, hint: &str) -> bool {
        let Some(i) = find_text(&self.hints, &mut self.last_hint, hint) else {
            return false;
        };
        if let Some((_, h)) = self.hints.get_mut(i) {
            h.count += 1;
        }
        true
    }
}

/// Where `text` is among the texts of `items`: the one found last (`last`) is checked first, as
/// a client's findings repeat it; `last` then names the one found.
fn find_text<T>(items: &[(Cow<'static, str>, T)], last: &mut usize, text: &str) -> Option<usize> {
    if items.get(*last).is_some_and(|(t, _)| same_text(t, text)) {
        return Some(*last);
    }
    let i = items.iter().position(|(t, _)| same_text(t, text))?;
    *last = i;
    Some(i)
}

/// Whether two texts are equal: at once when they are the same bytes in memory (a static
/// name or hint, given again), else compared.
fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.as_ptr() == b.as_ptr() || a == b)
}

/// Findings in, groups out.
pub struct Groups {
    fail_on: FailOn,
    redactor: Redactor,
    index: HashMap<Key, usize, FastHash>,
    groups: Vec<Group>,
    /// The group the last findings went to.
    last: Option<usize>,
    /// The last User-Agent's product (see [`LastProduct`]).
    last_agent: LastProduct,
    /// Findings that found no room (more than [`MAX_GROUPS`] causes).
    pub not_grouped: u64,
}

/// How a finding's endpoint reads in a report: as configured, or — nobody configured this
/// host — as the request went (`http://host:port`), marked `unconfigured`.
pub struct EndpointView {
    pub url: String,
    /// Static text but for a configured endpoint's detail: a finding per plaintext request
    /// copied both.
    pub origin: Cow<'static, str>,
    pub detail: Cow<'static, str>,
}

impl EndpointView {
    pub fn of(f: &Finding) -> EndpointView {
        EndpointView::of_host(f, f.host.as_deref())
    }

    /// [`EndpointView::of`] with the Host of the finding's request (a lean finding leaves it
    /// to its request).
    pub fn of_host(f: &Finding, host: Option<&str>) -> EndpointView {
        match (&f.endpoint, f.origin) {
            (Some(url), Some(origin)) => EndpointView {
                url: url.clone(),
                origin: Cow::Borrowed(origin.as_str()),
                detail: Cow::Owned(f.endpoint_detail.clone().unwrap_or_default()),
            },
            _ => EndpointView {
                url: {
                    // The server's address only when there is no Host: writing it out was a
                    // third of this for every plaintext request.
                    let server;
                    let host = match host {
                        Some(h) => h,
                        None => {
                            server = super::rows::AddrText::of(f.server);
                            &server
                        }
                    };
                    let mut url = String::with_capacity(7 + host.len());
                    url.push_str("http://");
                    url.push_str(host);
                    url
                },
                origin: Cow::Borrowed(UNCONFIGURED),
                detail: Cow::Borrowed(UNCONFIGURED_DETAIL),
            },
        }
    }
}

/// The origin shown for an endpoint nobody configured.
pub const UNCONFIGURED: &str = "unconfigured";
/// The detail shown for an endpoint nobody configured.
pub const UNCONFIGURED_DETAIL: &str = "no endpoint names this host: shown as the request went";

impl Groups {
    pub fn new(fail_on: FailOn, redactor: Redactor) -> Groups {
        Groups {
            fail_on,
            redactor,
            index: HashMap::default(),
            groups: Vec::new(),
            last: None,
            last_agent: LastProduct::default(),
            not_grouped: 0,
        }
    }

    /// One request's (or attempt's) findings, all about the same subject. `process` is the
    /// client's process name when live capture knows it.
    pub fn add(&mut self, findings: &[Finding], process: Option<&str>, owner: Option<Owner>) {
        self.add_about(findings, None, process, owner);
    }

    /// [`Groups::add`] of a request's findings, with the request: lean findings
    /// ([`Finding::is_lean`]) take its Host and User-Agent from it.
    pub fn add_about(
        &mut self,
        findings: &[Finding],
        request: Option<&Request>,
        process: Option<&str>,
        owner: Option<Owner>,
    ) {
        let Some(primary) = findings.iter().min_by_key(|f| f.kind.rank()) else {
            return;
        };
        let (host, agent) = match request.filter(|_| primary.is_lean()) {
            Some(r) => (r.host.as_deref(), r.user_agent.as_deref()),
            None => (primary.host.as_deref(), primary.user_agent.as_deref()),
        };
        let agent = agent.and_then(|ua| self.last_agent.product(ua));
        // A client's requests mostly come in a row: the last group is checked in place, with no
        // key built.
        let last = self
            .last
            .filter(|&i| self.groups[i].key.is(primary, host, agent, process, owner));
        let i = match last {
            Some(i) => i,
            None => match self.group_for(primary, host, agent, process, owner) {
                Some(i) => i,
                None => {
                    self.not_grouped += findings.len() as u64;
                    return;
                }
            },
        };
        self.last = Some(i);
        let g = &mut self.groups[i];
        match primary.request {
            Some(id) => {
                g.requests += 1;
                if g.ids.len() < MAX_IDS {
                    g.ids.push(id);
                }
            }
            None => g.attempts += 1,
        }
        let op = match (&primary.operation, &primary.guess) {
            (Some(op), _) => Cow::Borrowed(*op),
            (None, Some(guess)) => match &guess.operation {
                Some(op) => Cow::Owned(format!("{op}?")),
                None => Cow::Borrowed("unknown"),
            },
            (None, None) => Cow::Borrowed("unknown"),
        };
        g.count_operation(op);
        g.first = g.first.min(primary.time);
        g.last = g.last.max(primary.time);
        for f in findings {
            if let Some(n) = g.kinds.get_mut(f.kind.rank()) {
                *n += 1;
            }
            // Matched on the hint as made (redacting it again for every finding would cost
            // more than the rest of the group's work).
            if g.count_hint(&f.hint) {
                continue;
            }
            if g.hints.len() < MAX_HINTS {
                let hint = self.redactor.text(&f.hint).into_owned();
                g.last_hint = g.hints.len();
                g.hints.push((f.hint.clone(), HintTally { hint, count: 1 }));
            } else {
                g.other_hints += 1;
            }
        }
    }

    /// The index of the group for a finding, made if new; None past [`MAX_GROUPS`].
    fn group_for(
        &mut self,
        primary: &Finding,
        host: Option<&str>,
        agent: Option<&str>,
        process: Option<&str>,
        owner: Option<Owner>,
    ) -> Option<usize> {
        let endpoint = EndpointView::of_host(primary, host);
        let key = Key {
            kind: primary.kind,
            endpoint: endpoint.url.clone(),
            configured: primary.endpoint.is_some(),
            client: primary.client.ip(),
            agent: agent.map(str::to_string),
            process: process.map(str::to_string),
            owner,
        };
        Some(match self.index.get(&key) {
            Some(i) => *i,
            None if self.groups.len() >= MAX_GROUPS => return None,
            None => {
                self.index.insert(key.clone(), self.groups.len());
                self.groups.push(Group {
                    scheme: primary.request.map(|_| Scheme::Http),
                    key,
                    origin: endpoint.origin.into_owned(),
                    detail: endpoint.detail.into_owned(),
                    kinds: [0; KINDS],
                    requests: 0,
                    attempts: 0,
                    operations: Vec::new(),
                    last_op: 0,
                    first: primary.time,
                    last: primary.time,
                    ids: Vec::new(),
                    hints: Vec::new(),
                    last_hint: 0,
                    other_hints: 0,
                });
                self.groups.len() - 1
            }
        })
    }

    /// The groups, failing ones first, then the largest, then the earliest.
    pub fn records(&self) -> Vec<GroupRecord> {
        let mut out: Vec<GroupRecord> = self.groups.iter().map(|g| self.record(g)).collect();
        out.sort_by(|a, b| {
            (
                a.severity,
                std::cmp::Reverse(a.requests + a.attempts),
                a.first,
            )
                .cmp(&(
                    b.severity,
                    std::cmp::Reverse(b.requests + b.attempts),
                    b.first,
                ))
        });
        out
    }

    fn record(&self, g: &Group) -> GroupRecord {
        let mut operations: Vec<OperationTally> = g
            .operations
            .iter()
            .map(|(operation, count)| OperationTally {
                operation: operation.to_string(),
                count: *count,
            })
            .collect();
        operations.sort_by(|a, b| b.count.cmp(&a.count).then(a.operation.cmp(&b.operation)));
        let mut r = GroupRecord {
            severity: self.fail_on.severity_for(g.key.kind, g.key.owner),
            kind: g.key.kind,
            text: String::new(),
            kinds: FindingKind::ALL
                .into_iter()
                .zip(g.kinds)
                .filter(|(_, n)| *n > 0)
                .collect(),
            endpoint: g.key.endpoint.clone(),
            origin: g.origin.clone(),
            endpoint_detail: g.detail.clone(),
            client: g.key.client.to_string(),
            user_agent: g.key.agent.clone(),
            process: g.key.process.clone(),
            owner: g.key.owner,
            scheme: g.scheme,
            requests: g.requests,
            attempts: g.attempts,
            operations,
            first: g.first,
            last: g.last,
            request_ids: g.ids.clone(),
            hints: g.hints.iter().map(|(_, h)| h.clone()).collect(),
            other_hints: g.other_hints,
        };
        r.text = sentence(&r);
        r
    }
}

/// The last User-Agent seen and where its product is in it: a client sends the same one with
/// every request. Keyed by the whole User-Agent (compared every time).
#[derive(Default)]
struct LastProduct {
    agent: String,
    /// The product's place in `agent`; None when it has none.
    product: Option<(usize, usize)>,
}

impl LastProduct {
    /// [`product`] of `ua`, found again only when `ua` is not the last User-Agent.
    fn product<'a>(&mut self, ua: &'a str) -> Option<&'a str> {
        if self.agent != ua {
            self.agent.clear();
            self.agent.push_str(ua);
            self.product = product(ua).map(|p| {
                let start = p.as_ptr() as usize - ua.as_ptr() as usize;
                (start, start + p.len())
            });
        }
        let (start, end) = self.product?;
        ua.get(start..end)
    }
}

/// The first token of a User-Agent: the product and its version (`Boto3/1.40.14`). SDKs put
/// themselves first; the rest (OS, language, feature flags) varies per host and would split one
/// cause into many groups.
pub fn product(ua: &str) -> Option<&str> {
    // The first token found by bytes (ASCII whitespace ends it): a token of at most 64 bytes
    // has at most 64 characters, and only a longer one is cut by characters.
    let start = ua.bytes().position(|b| !b.is_ascii_whitespace())?;
    let rest = ua.get(start..)?;
    let end = rest
        .bytes()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    let first = rest.get(..end)?;
    if first.len() <= 64 {
        return Some(first);
    }
    Some(match first.char_indices().nth(64) {
        Some((end, _)) => first.get(..end).unwrap_or(first),
        None => first,
    })
}

/// `6 requests went over http to https://s3.local.test:443 (configured by --endpoint) from
/// 127.0.0.1 Boto3/1.40.14: DeleteObject ×3, …; also credentials-in-cleartext ×6; hint: …`
fn sentence(g: &GroupRecord) -> String {
    let n = g.requests + g.attempts;
    let what = match g.kind {
        FindingKind::PlaintextToHttpsEndpoint => {
            format!("{} went over http to", super::plural(n, "request"))
        }
        FindingKind::PlaintextToTlsPort => format!(
            "{} sent plaintext HTTP to a port that speaks TLS,",
            super::plural(n, "request")
        ),
        FindingKind::RefusedPlaintextAttempt => format!(
            "{} to the plaintext port of",
            super::plural(n, "connection attempt")
        ),
        FindingKind::CredentialsInCleartext => {
            format!(
                "{} carried credentials in cleartext to",
                super::plural(n, "request")
            )
        }
    };
    let origin = match g.origin.as_str() {
        UNCONFIGURED => "not configured as HTTPS".to_string(),
        o if o == Origin::AwsDefault.as_str() => "an AWS S3 host: HTTPS by default".to_string(),
        o if o == Origin::Inferred.as_str() => format!("proven HTTPS: {}", g.endpoint_detail),
        _ => format!("configured by {}", g.endpoint_detail),
    };
    let mut from = g.client.clone();
    for extra in [&g.user_agent, &g.process].into_iter().flatten() {
        from.push(' ');
        from.push_str(extra);
    }
    if g.owner == Some(Owner::Unknown) {
        from.push_str(&format!(" ({})", super::UNKNOWN_OWNER));
    }
    let mut ops: Vec<String> = g
        .operations
        .iter()
        .take(OPS_IN_TEXT)
        .map(|o| format!("{} ×{}", o.operation, o.count))
        .collect();
    if g.operations.len() > OPS_IN_TEXT {
        ops.push(format!("{} more", g.operations.len() - OPS_IN_TEXT));
    }
    let mut text = format!(
        "{what} {} ({origin}) from {from}: {}",
        g.endpoint,
        ops.join(", ")
    );
    if g.attempts > 0 {
        text.push_str(" (no request bytes left the client: operations are guesses)");
    }
    let also: Vec<String> = g
        .kinds
        .iter()
        .filter(|(k, _)| **k != g.kind)
        .map(|(k, c)| format!("{} ×{c}", k.as_str()))
        .collect();
    if !also.is_empty() {
        text.push_str(&format!("; also {}", also.join(", ")));
    }
    if let Some(h) = g.hints.first() {
        text.push_str("; hint: ");
        text.push_str(&h.hint);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Request;
    use crate::policy::{Endpoint, Finding};

    fn finding(
        kind: FindingKind,
        id: u64,
        op: &str,
        t: i64,
        endpoint: Option<&Endpoint>,
    ) -> Finding {
        let mut r = Request::sample(id, Timestamp(t), "10.0.0.7:40000", "10.0.0.9:80");
        r.operation = Ok(Box::leak(op.to_string().into_boxed_str()));
        r.user_agent = Some("Boto3/1.40.14 md/Botocore#1.40.14 ua/2.1".into());
        r.host = Some("s3.local.test".into());
        let mut f = Finding::for_request(kind, &r, endpoint);
        f.hint = format!("hint for {}", kind.as_str()).into();
        f
    }

    #[test]
    fn one_line_per_cause_with_operations_counted() {
        let e = Endpoint::parse("https://s3.local.test", Origin::Flag, "--endpoint").unwrap();
        let mut g = Groups::new(FailOn::default(), Redactor { on: true });
        for (id, op) in [
            (1, "DeleteObject"),
            (2, "ListObjectVersions"),
            (3, "DeleteObject"),
        ] {
            g.add(
                &[
                    finding(
                        FindingKind::PlaintextToHttpsEndpoint,
                        id,
                        op,
                        id as i64,
                        Some(&e),
                    ),
                    finding(
                        FindingKind::CredentialsInCleartext,
                        id,
                        op,
                        id as i64,
                        Some(&e),
                    ),
                ],
                None,
                None,
            );
        }
        let records = g.records();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r.severity, Severity::Error);
        assert_eq!(
            (r.requests, r.first, r.last),
            (3, Timestamp(1), Timestamp(3))
        );
        assert_eq!(r.request_ids, [1, 2, 3]);
        assert_eq!(
            r.text,
            "3 requests went over http to https://s3.local.test:443 (configured by \
             --endpoint) from 10.0.0.7 Boto3/1.40.14: DeleteObject ×2, ListObjectVersions ×1; \
             also credentials-in-cleartext ×3; hint: hint for plaintext-to-https-endpoint"
        );
        assert_eq!(r.hints.len(), 2);
    }

    #[test]
    fn credentials_to_an_unconfigured_host_are_a_warning_group_of_their_own() {
        let e = Endpoint::parse("https://s3.local.test", Origin::Flag, "--endpoint").unwrap();
        let mut g = Groups::new(FailOn::default(), Redactor { on: true });
        g.add(
            &[finding(
                FindingKind::CredentialsInCleartext,
                1,
                "GetObject",
                5,
                None,
            )],
            None,
            None,
        );
        g.add(
            &[finding(
                FindingKind::PlaintextToHttpsEndpoint,
                2,
                "GetObject",
                9,
                Some(&e),
            )],
            None,
            None,
        );
        let records = g.records();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].severity, Severity::Error, "failing groups first");
        let warn = &records[1];
        assert_eq!(warn.severity, Severity::Warning);
        assert_eq!(warn.endpoint, "http://s3.local.test");
        assert_eq!(warn.origin, UNCONFIGURED);
        assert!(warn.text.starts_with(
            "1 request carried credentials in cleartext to http://s3.local.test (not \
             configured as HTTPS) from 10.0.0.7 Boto3/1.40.14: GetObject ×1"
        ));
        let all = Groups::new(FailOn::all(), Redactor { on: true });
        assert_eq!(all.fail_on.severity(warn.kind), Severity::Error);
    }

    #[test]
    fn causes_past_the_cap_are_counted_not_kept() {
        let e = Endpoint::parse("https://s3.local.test", Origin::Flag, "--endpoint").unwrap();
        let mut g = Groups::new(FailOn::default(), Redactor { on: true });
        for i in 0..(MAX_GROUPS as u64 + 5) {
            let mut f = finding(
                FindingKind::PlaintextToHttpsEndpoint,
                i,
                "GetObject",
                0,
                Some(&e),
            );
            f.user_agent = Some(format!("client/{i}").into());
            g.add(&[f], None, None);
        }
        assert_eq!(g.records().len(), MAX_GROUPS);
        assert_eq!(g.not_grouped, 5);
    }

    /// The memos of the last operation and hint: a different value after a hit is counted
    /// under its own name, and a name equal in text but elsewhere in memory under the same.
    #[test]
    fn the_last_operation_and_hint_memos_count_exactly() {
        let e = Endpoint::parse("https://s3.local.test", Origin::Flag, "--endpoint").unwrap();
        let mut g = Groups::new(FailOn::default(), Redactor { on: true });
        // The same text at other addresses: counted under the first one's name.
        let get_again: &'static str = Box::leak("GetObject".to_string().into_boxed_str());
        let hint_a: Cow<'static, str> = Cow::Borrowed("hint A");
        let hint_a_owned: Cow<'static, str> = Cow::Owned("hint A".to_string());
        let hint_b: Cow<'static, str> = Cow::Borrowed("hint B");
        for (id, op, hint) in [
            (1, "GetObject", &hint_a),
            (2, "GetObject", &hint_a),
            (3, "PutObject", &hint_b),
            (4, get_again, &hint_a_owned),
            (5, "PutObject", &hint_a),
            (6, "PutObject", &hint_b),
        ] {
            let mut f = finding(FindingKind::PlaintextToHttpsEndpoint, id, op, 1, Some(&e));
            f.operation = Some(op);
            f.hint = hint.clone();
            g.add(&[f], None, None);
        }
        let r = &g.records()[0];
        let ops: Vec<_> = r
            .operations
            .iter()
            .map(|o| (o.operation.as_str(), o.count))
            .collect();
        assert_eq!(ops, [("GetObject", 3), ("PutObject", 3)]);
        let hints: Vec<_> = r.hints.iter().map(|h| (h.hint.as_str(), h.count)).collect();
        assert_eq!(hints, [("hint A", 4), ("hint B", 2)]);
        assert_eq!(
            r.kinds.iter().collect::<Vec<_>>(),
            [(&FindingKind::PlaintextToHttpsEndpoint, &6)]
        );
    }

    /// The User-Agent memo gives the product of the User-Agent asked about, also when it
    /// changes after a hit.
    #[test]
    fn the_product_memo_follows_the_user_agent() {
        let mut memo = LastProduct::default();
        for ua in [
            "Boto3/1.40.14 md/Botocore",
            "Boto3/1.40.14 md/Botocore",
            "  aws-cli/2.22.0 md/awscrt",
            "",
            "   ",
            "Boto3/1.40.14 md/Botocore",
            "Boto3/1.40.15 md/Botocore",
        ] {
            assert_eq!(memo.product(ua), product(ua), "{ua:?}");
        }
    }

    /// The first token by bytes, as `split_ascii_whitespace` and 64 characters make it.
    #[test]
    fn the_product_is_cut_as_before() {
        let reference = |ua: &str| {
            let first = ua.split_ascii_whitespace().next()?;
            Some(match first.char_indices().nth(64) {
                Some((end, _)) => first[..end].to_string(),
                None => first.to_string(),
            })
        };
        let long = "é".repeat(40) + &"x".repeat(40);
        for ua in [
            "",
            " \t\r\n",
            "Boto3/1.40.14 md/Botocore",
            "\t\x0cBoto3/1.40.14\tmd",
            &"a".repeat(64),
            &"a".repeat(65),
            &format!("  {long} tail"),
            &"é".repeat(33),
        ] {
            assert_eq!(product(ua).map(str::to_string), reference(ua), "{ua:?}");
        }
    }

    #[test]
    fn the_product_is_the_first_token() {
        assert_eq!(
            product("aws-cli/2.22.0 md/awscrt#0.23.4 ua/2.0 os/linux"),
            Some("aws-cli/2.22.0")
        );
        assert_eq!(product("   "), None);
    }
}
