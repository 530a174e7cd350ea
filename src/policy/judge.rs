//! Findings judged as the capture streams by, in bounded memory and constant work per request.
//!
//! A request or attempt is not judged the moment it completes: what proves a host HTTPS (its
//! TLS session), the request a refused attempt was for, or the next retry may come a little
//! later. So each waits in a look-ahead window and is judged when it leaves it — when `window`
//! later items have arrived, or at the end of the capture. A capture smaller than the window is
//! judged with everything it holds, exactly as a whole; a larger one with everything up to a
//! window past each item. What the capture teaches ([`Knowledge`]) is kept for the whole run,
//! indexed, and grows with distinct hosts, not with requests.

use super::endpoints::{Endpoint, Origin, Policy, Scheme, normalised};
use super::evaluate::{AttemptView, Candidate, attempt_finding, request_findings};
use super::finding::Finding;
use super::knowledge::Knowledge;
use super::retry_times::RetryTimes;
use super::verdict::Verdicts;
use crate::facts::{Attempt, Request, TlsHello};
use crate::flow::FastHash;
use crate::time::Timestamp;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// A request to the same host within this long after an attempt is its likely operation.
pub(super) const GUESS_WINDOW_NS: i64 = 10 * 1_000_000_000;
/// Attempts from one client to one server address this close together are one operation's retries.
pub(super) const RETRY_WINDOW_NS: i64 = 30 * 1_000_000_000;
/// Requests close to an attempt kept as its candidates (the earliest ones).
const MAX_CANDIDATES: usize = 32;
/// How far before an attempt a request that completed before the attempt was known may have
/// begun and still be looked at (a request that began earlier than the attempt is no candidate;
/// the margin covers requests that complete out of the order they began).
pub(super) const LOOK_BACK_NS: i64 = 60 * 1_000_000_000;

/// The default look-ahead: items (requests and attempts) judged this many items late at most.
pub const DEFAULT_WINDOW: usize = 4096;

/// One judged item, in the order items arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    Request(Box<Request>, Vec<Finding>),
    /// The attempt's index among all attempts (0-based, arrival order), and its finding.
    Attempt(usize, Attempt, Option<Box<Finding>>),
}

enum Pending {
    Request(Box<Request>),
    Attempt(Box<PendingAttempt>),
}

impl Pending {
    fn time(&self) -> Timestamp {
        match self {
            Pending::Request(r) => r.time,
            Pending::Attempt(a) => a.attempt.time,
        }
    }
}

struct PendingAttempt {
    attempt: Attempt,
    index: usize,
    /// Requests of the same client IP within [`GUESS_WINDOW_NS`] after it, earliest first.
    near: Vec<Candidate>,
    /// The earliest request of the same client IP after it.
    first: Option<Candidate>,
}

impl PendingAttempt {
    /// Take `r` into account; false once no later request can change anything.
    fn offer(&mut self, r: &Request) -> bool {
        let a = self.attempt.time;
        if r.time < a {
            return true;
        }
        if self.first.as_ref().is_none_or(|f| r.time < f.time) {
            self.first = Some(Candidate::of(r));
        }
        if r.time.since(a) > GUESS_WINDOW_NS {
            return false;
        }
        let at = self.near.partition_point(|c| c.time <= r.time);
        if at < MAX_CANDIDATES {
            self.near.insert(at, Candidate::of(r));
            self.near.truncate(MAX_CANDIDATES);
        }
        true
    }
}

/// Counters of how the window worked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JudgeStats {
    /// Items judged before the end of the capture because the window was full.
    pub judged_early: u64,
    /// Plaintext requests judged (early) before a later TLS session proved their host HTTPS:
    /// they would have been findings with the whole capture in view. Per host, with the time
    /// of the proof.
    pub judged_before_proof: Vec<(String, u64, Timestamp)>,
    /// Host names the knowledge's per-key caps left out.
    pub names_capped: u64,
    /// Clients whose TLS names the knowledge forgot to stay bounded (the first seen first).
    pub tls_clients_forgotten: u64,
    /// Hosts proven HTTPS by a ClientHello that the policy forgot to stay bounded (the least
    /// recently proven first).
    pub proofs_forgotten: u64,
    /// TLS servers and named server IPs the knowledge forgot to stay bounded.
    pub servers_forgotten: u64,
    /// Attempt times forgotten before their retry window passed (too many attempts at once):
    /// retries counted after them may be short.
    pub retry_times_dropped: u64,
    /// Stored items visited (window slots, candidate lists, retry times): the judge's work,
    /// which a test holds to a constant per request so that no scan can grow with the capture.
    pub visits: u64,
}

/// Hosts remembered for [`JudgeStats::judged_before_proof`] (more are not tracked).
const MAX_EARLY_HOSTS: usize = 4096;

pub struct Judge {
    policy: Policy,
    known: Knowledge,
    window: usize,
    pending: VecDeque<Pending>,
    /// Sequence number of `pending`'s front item.
    front_seq: u64,
    /// Pending requests per client IP (sequence numbers), for attempts that arrive after them.
    requests_by_client: HashMap<IpAddr, VecDeque<u64>, FastHash>,
    /// Pending attempts still looking for their request, per client IP.
    attempts_by_client: HashMap<IpAddr, Vec<u64>, FastHash>,
    /// Attempt times per (client IP, server), to count retries.
    attempt_times: RetryTimes,
    attempts_seen: usize,
    /// Plaintext requests judged early without being a plaintext-to-https finding, per host
    /// name or server IP: a later TLS proof for one of them is reported, not silently lost.
    early_plain: HashMap<String, u64, FastHash>,
    early_ips: HashMap<IpAddr, u64, FastHash>,
    /// The latest run of early-judged plaintext requests with one Host and server IP, not yet
    /// counted in `early_plain` and `early_ips`: a client's requests mostly repeat both, and
    /// comparing the Host costs a fraction of reading it and looking it up twice.
    early_run: EarlyRun,
    stats: JudgeStats,
    /// Requests' findings made lean ([`Judge::lean_findings`]).
    lean: bool,
    /// The last plaintext request's lean findings, to be given again to the next ones like it.
    verdicts: Verdicts,
}

/// Early-judged plaintext requests with the same Host header (as sent) and server IP, counted
/// as one batch: [`Judge::remember_early`] for each of them gives what counting them at once
/// gives, as long as nothing else touches the maps in between (only [`Judge::tls`] does, and it
/// counts the run first).
#[derive(Default)]
struct EarlyRun {
    /// The Host header as sent, and the host name it gives (None without a Host).
    host: Option<(String, String)>,
    ip: Option<IpAddr>,
    /// Requests of the run not yet counted.
    n: u64,
}

impl EarlyRun {
    fn is(&self, raw: Option<&str>, ip: IpAddr) -> bool {
        self.ip == Some(ip) && self.host.as_ref().map(|(h, _)| h.as_str()) == raw
    }
}

impl Judge {
    pub fn new(policy: Policy, window: usize) -> Judge {
        Judge {
            policy,
            known: Knowledge::default(),
            window: window.max(1),
            pending: VecDeque::new(),
            front_seq: 0,
            requests_by_client: HashMap::default(),
            attempts_by_client: HashMap::default(),
            attempt_times: RetryTimes::default(),
            attempts_seen: 0,
            early_plain: HashMap::default(),
            early_ips: HashMap::default(),
            early_run: EarlyRun::default(),
            stats: JudgeStats::default(),
            lean: false,
            verdicts: Verdicts::default(),
        }
    }

    /// From now on a request's findings are made lean ([`Finding::lean_for_request`]): its
    /// [`Judged::Request`] holds the request's strings once, in the request, for a caller that
    /// makes the findings' rows from the request's (or [`Finding::fill`]s them first).
    pub fn lean_findings(&mut self) {
        self.lean = true;
    }

    /// The policy completed by the endpoints the capture proved so far, for the report.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.policy.listing()
    }

    /// How the window worked, and what the knowledge's caps left out.
    pub fn stats(&self) -> JudgeStats {
        JudgeStats {
            names_capped: self.known.capped,
            tls_clients_forgotten: self.known.clients_forgotten,
            proofs_forgotten: self.policy.proofs_forgotten(),
            servers_forgotten: self.known.servers_forgotten,
            retry_times_dropped: self.attempt_times.dropped(),
            ..self.stats.clone()
        }
    }

    /// A ClientHello: the host it names (or its server IP) is HTTPS from now on.
    pub fn tls(&mut self, t: &TlsHello) {
        self.learn_tls(t);
        // One endpoint per host and port: most sessions repeat one already proven (asked
        // before the endpoint's detail is written).
        let proof = proven_endpoint(t);
        if self.policy.prove_again(&proof) {
            return;
        }
        let e = Endpoint {
            detail: proof_detail(t, &proof.host),
            ..proof
        };
        self.count_early_run();
        let early = match e.host.parse::<IpAddr>() {
            Ok(ip) => self.early_ips.remove(&ip),
            Err(_) => self.early_plain.remove(&e.host),
        };
        if let Some(n) = early {
            self.stats
                .judged_before_proof
                .push((e.host.clone(), n, t.time));
        }
        self.policy.prove(e);
        self.verdicts.forget();
    }

    /// A ClientHello as knowledge only (its server speaks TLS, its names), without making its
    /// host an HTTPS endpoint: for judging against a policy exactly as given.
    pub(super) fn learn_tls(&mut self, t: &TlsHello) {
        self.known.learn_tls(t);
    }

    pub fn request(&mut self, r: Box<Request>, out: &mut Vec<Judged>) {
        self.known.learn_request(&r);
        self.offer_to_attempts(&r);
        let seq = self.next_seq();
        self.requests_by_client
            .entry(r.client.ip())
            .or_default()
            .push_back(seq);
        self.pending.push_back(Pending::Request(r));
        self.overflow(out);
    }

    pub fn attempt(&mut self, a: Attempt, out: &mut Vec<Judged>) {
        self.attempt_times.add(a.client.ip(), a.server, a.time);
        let mut p = PendingAttempt {
            attempt: a,
            index: self.attempts_seen,
            near: Vec::new(),
            first: None,
        };
        self.attempts_seen += 1;
        // Requests that completed before the attempt was known (an unanswered SYN is known only
        // when it times out) but are still in the window.
        // Newest first, stopping at one that began LOOK_BACK_NS before the attempt: requests
        // complete roughly in the order they began, so older ones cannot be after it.
        let mut looking = true;
        for seq in self
            .requests_by_client
            .get(&p.attempt.client.ip())
            .into_iter()
            .flatten()
            .rev()
        {
            self.stats.visits += 1;
            if let Some(Pending::Request(r)) = self.pending.get((seq - self.front_seq) as usize) {
                if p.attempt.time.since(r.time) > LOOK_BACK_NS {
                    break;
                }
                looking &= p.offer(r);
            }
        }
        let seq = self.next_seq();
        if looking {
            self.attempts_by_client
                .entry(p.attempt.client.ip())
                .or_default()
                .push(seq);
        }
        self.pending.push_back(Pending::Attempt(Box::new(p)));
        self.overflow(out);
    }

    /// End of the capture: judge everything still waiting.
    pub fn finish(&mut self, out: &mut Vec<Judged>) {
        while let Some(p) = self.pop() {
            out.push(self.judge(p));
        }
    }

    fn next_seq(&self) -> u64 {
        self.front_seq + self.pending.len() as u64
    }

    fn offer_to_attempts(&mut self, r: &Request) {
        let Some(seqs) = self.attempts_by_client.get_mut(&r.client.ip()) else {
            return;
        };
        let (pending, front) = (&mut self.pending, self.front_seq);
        self.stats.visits += seqs.len() as u64;
        seqs.retain(|&seq| match pending.get_mut((seq - front) as usize) {
            Some(Pending::Attempt(a)) => a.offer(r),
            _ => false,
        });
        if seqs.is_empty() {
            self.attempts_by_client.remove(&r.client.ip());
        }
    }

    fn overflow(&mut self, out: &mut Vec<Judged>) {
        while self.pending.len() > self.window {
            let Some(p) = self.pop() else { break };
            self.stats.judged_early += 1;
            let j = self.judge(p);
            self.remember_early(&j);
            out.push(j);
        }
    }

    /// Live capture: judge what has waited since before `t` (capture time), so that rows do
    /// not lag behind a quiet network.
    pub fn flush_before(&mut self, t: Timestamp, out: &mut Vec<Judged>) {
        while self.pending.front().is_some_and(|p| p.time() < t) {
            let Some(p) = self.pop() else { break };
            self.stats.judged_early += 1;
            let j = self.judge(p);
            self.remember_early(&j);
            out.push(j);
        }
    }

    fn remember_early(&mut self, j: &Judged) {
        let Judged::Request(r, f) = j else { return };
        let flagged = f
            .iter()
            .any(|f| f.kind == super::FindingKind::PlaintextToHttpsEndpoint);
        if r.scheme != Scheme::Http || flagged {
            return;
        }
        let (raw, ip) = (r.host.as_deref(), r.server.ip());
        if !self.early_run.is(raw, ip) {
            self.count_early_run();
            let host = raw.map(|h| {
                let name = super::endpoints::parse_host_header(h).0.into_owned();
                (h.to_string(), name)
            });
            self.early_run = EarlyRun {
                host,
                ip: Some(ip),
                n: 0,
            };
        }
        self.early_run.n += 1;
    }

    /// Count the early run's requests in `early_plain` and `early_ips` (each the way one
    /// request at a time would: the first of them finds room or not, the rest find its entry).
    fn count_early_run(&mut self) {
        let run = &mut self.early_run;
        let n = std::mem::take(&mut run.n);
        let Some(ip) = run.ip.filter(|_| n > 0) else {
            return;
        };
        let room = self.early_plain.len() + self.early_ips.len() < MAX_EARLY_HOSTS;
        if let Some((_, host)) = &run.host {
            match self.early_plain.get_mut(host.as_str()) {
                Some(k) => *k += n,
                None if room => {
                    self.early_plain.insert(host.clone(), n);
                }
                None => {}
            }
        }
        // TLS without SNI proves the server IP.
        match self.early_ips.get_mut(&ip) {
            Some(k) => *k += n,
            None if room => {
                self.early_ips.insert(ip, n);
            }
            None => {}
        }
    }

    fn pop(&mut self) -> Option<Pending> {
        let p = self.pending.pop_front()?;
        let seq = self.front_seq;
        self.front_seq += 1;
        let (map, ip) = match &p {
            Pending::Request(r) => (&mut self.requests_by_client, r.client.ip()),
            Pending::Attempt(a) => {
                let ip = a.attempt.client.ip();
                if let Some(v) = self.attempts_by_client.get_mut(&ip) {
                    self.stats.visits += v.len() as u64;
                    v.retain(|&s| s != seq);
                    if v.is_empty() {
                        self.attempts_by_client.remove(&ip);
                    }
                }
                return Some(p);
            }
        };
        if let Some(q) = map.get_mut(&ip) {
            q.pop_front();
            if q.is_empty() {
                map.remove(&ip);
            }
        }
        Some(p)
    }

    fn judge(&mut self, p: Pending) -> Judged {
        match p {
            Pending::Request(r) => {
                // Room for the usual one finding; a Vec's first growth makes room for four.
                let mut findings = Vec::with_capacity(1);
                match self.lean {
                    true => self
                        .verdicts
                        .findings(&self.policy, &self.known, &r, &mut findings),
                    false => request_findings(&self.policy, &self.known, &r, false, &mut findings),
                }
                Judged::Request(r, findings)
            }
            Pending::Attempt(a) => {
                let retries = self.retries(&a.attempt);
                let view = AttemptView {
                    index: a.index,
                    attempt: &a.attempt,
                    near: &a.near,
                    first: a.first.as_ref(),
                    retries,
                };
                let f = attempt_finding(&self.policy, &self.known, &view).map(Box::new);
                Judged::Attempt(a.index, a.attempt, f)
            }
        }
    }

    /// Attempts from the same client IP to the same server within 30 s either way (itself
    /// included); older times are dropped as they can no longer count.
    fn retries(&mut self, a: &Attempt) -> usize {
        self.attempt_times
            .retries(a.client.ip(), a.server, a.time, &mut self.stats.visits)
    }
}

/// The endpoint a ClientHello proves: its SNI's host, or its server IP when no SNI was sent
/// (IP-literal endpoints), on the TLS server's port.
pub fn inferred_endpoint(t: &TlsHello) -> Endpoint {
    let e = proven_endpoint(t);
    Endpoint {
        detail: proof_detail(t, &e.host),
        ..e
    }
}

/// [`inferred_endpoint`] without its detail.
fn proven_endpoint(t: &TlsHello) -> Endpoint {
    Endpoint {
        scheme: Scheme::Https,
        host: proven_host(t),
        port: Some(t.server.port()),
        origin: Origin::Inferred,
        detail: String::new(),
    }
}

/// Where a proven endpoint came from, for its `detail`.
fn proof_detail(t: &TlsHello, host: &str) -> String {
    if sni_named(t) {
        format!(
            "TLS seen: SNI {host} to {} at {}",
            t.server,
            t.time.rfc3339()
        )
    } else {
        format!(
            "TLS seen: no SNI, server {} at {}",
            t.server,
            t.time.rfc3339()
        )
    }
}

fn sni_named(t: &TlsHello) -> bool {
    t.sni.as_deref().is_some_and(|s| !normalised(s).is_empty())
}

/// The host a ClientHello proves HTTPS: its SNI, or its server IP when no SNI was sent
/// (IP-literal endpoints).
fn proven_host(t: &TlsHello) -> String {
    match t.sni.as_deref().map(normalised) {
        Some(sni) if !sni.is_empty() => sni.into_owned(),
        _ => t.server.ip().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp(1_767_225_600_000_000_000 + ms * 1_000_000)
    }

    fn plain(id: u64, ms: i64, host: &str) -> Box<Request> {
        Box::new(Request {
            host: Some(host.to_string().into()),
            ..Request::sample(id, at(ms), "10.0.0.1:40000", "10.0.0.9:80")
        })
    }

    fn hello(ms: i64, sni: &str) -> TlsHello {
        TlsHello {
            time: at(ms),
            client: "10.0.0.1:40001".parse().unwrap(),
            server: "10.0.0.9:443".parse().unwrap(),
            sni: Some(sni.into()),
        }
    }

    fn flagged(j: &[Judged]) -> usize {
        j.iter()
            .filter(|j| matches!(j, Judged::Request(_, f) if !f.is_empty()))
            .count()
    }

    /// Within the window a later TLS session still proves the host; past it, the requests
    /// judged early are counted and named, never silently passed.
    #[test]
    fn tls_proof_after_the_window_is_counted_not_lost() {
        let mut out = Vec::new();
        let mut j = Judge::new(Policy::new(vec![]), 2);
        for id in 1..=4 {
            j.request(plain(id, id as i64, "s3.example.test"), &mut out);
        }
        assert_eq!(out.len(), 2, "two judged early, two still waiting");
        j.tls(&hello(10, "s3.example.test"));
        j.finish(&mut out);
        assert_eq!(
            flagged(&out),
            2,
            "the two still in the window became findings"
        );
        assert_eq!(
            j.stats().judged_before_proof,
            vec![("s3.example.test".to_string(), 2, at(10))]
        );
        assert_eq!(j.stats().judged_early, 2);
        // The same capture with a window as large as it: every request is a finding.
        let mut all = Vec::new();
        let mut whole = Judge::new(Policy::new(vec![]), 8);
        for id in 1..=4 {
            whole.request(plain(id, id as i64, "s3.example.test"), &mut all);
        }
        whole.tls(&hello(10, "s3.example.test"));
        whole.finish(&mut all);
        assert_eq!(flagged(&all), 4);
        assert!(whole.stats().judged_before_proof.is_empty());
    }

    /// Early-judged requests are counted per host in runs: runs that change host and server,
    /// and a TLS proof in the middle of a run, count each request once, where it belongs.
    #[test]
    fn early_runs_count_every_request_once() {
        let mut out = Vec::new();
        let mut j = Judge::new(Policy::new(vec![]), 1);
        let hosts = [
            "a.test",
            "a.test",
            "b.test:80",
            "a.test",
            "b.test",
            "b.test",
        ];
        for (i, h) in hosts.iter().enumerate() {
            j.request(plain(i as u64 + 1, i as i64, h), &mut out);
        }
        // Five judged early: a, a, b:80, a, b (the last b still waits).
        j.tls(&hello(100, "a.test"));
        for id in 7..=9 {
            j.request(plain(id, id as i64 * 10, "a.test"), &mut out);
        }
        // The last b and two a's after the proof: judged early, but a.test is proven now.
        j.tls(&hello(200, "b.test"));
        let mut server = hello(300, "");
        server.sni = None;
        j.tls(&server);
        assert_eq!(
            j.stats().judged_before_proof,
            vec![
                ("a.test".to_string(), 3, at(100)),
                ("b.test".to_string(), 3, at(200)),
                ("10.0.0.9".to_string(), 6, at(300)),
            ]
        );
    }
}
