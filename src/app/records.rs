//! Stream and protocol events → the records the report keeps: one per HTTP request, TLS session
//! and connection attempt. This is where `proto`'s exchanges meet `s3`'s classification and the
//! one place secrets are redacted before anything is stored.

use super::engine::Limits;
use crate::flow::{Attempt, ConnId, Direction, StreamEvent};
use crate::proto::http::HttpExchange;
use crate::proto::tls::{Decryption, KeyLog};
use crate::proto::{Conversation, ProtoEvent, Protocol};
use crate::report::{
    AttemptRecord, OperationCount, RequestRecord, RequestTls, Scheme, TlsRecord, redact,
};
use crate::s3::{self, HostHints};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

/// What the policy stage needs about a request beyond its (redacted) record.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub sigv4_auth: bool,
    pub session_token: bool,
    pub presigned: bool,
    /// The server answered these plaintext bytes with TLS (an alert or a handshake).
    pub server_replied_tls: bool,
    /// The start of the response body, when it is short text worth quoting (error documents).
    pub response_text: Option<String>,
    pub client_addr: SocketAddr,
    pub server_addr: SocketAddr,
    /// The connection was reset before any response came back.
    pub reset_without_response: bool,
}

struct Conn {
    client: SocketAddr,
    server: SocketAddr,
    conv: Conversation,
    client_protocol: Option<Protocol>,
    /// Index into `tls` of this connection's TLS session (after a CONNECT tunnel: the inner one).
    tls: Option<usize>,
    server_replied_tls: bool,
    /// Set when the flow stage reports a RST, so requests flushed at close know it.
    reset: bool,
    bytes: [u64; 2],
}

pub struct Records {
    limits: Limits,
    hints: HostHints,
    redact: bool,
    /// Shared with every conversation created after it exists; grows in place (pcapng blocks,
    /// live key logs), so connections already open can use secrets that arrive later.
    keylog: Option<Arc<KeyLog>>,
    conns: HashMap<ConnId, Conn>,
    events: Vec<ProtoEvent>,
    pub requests: Vec<(RequestRecord, Evidence)>,
    pub attempts: Vec<AttemptRecord>,
    pub attempt_facts: Vec<crate::policy::finding::AttemptFacts>,
    /// The policy's view of each TLS session (typed addresses), parallel to `tls`.
    pub tls_facts: Vec<crate::policy::finding::TlsFacts>,
    pub tls: Vec<TlsRecord>,
    /// Requests per operation (the model's names are static; "unknown" for the rest).
    pub operations: BTreeMap<(&'static str, Scheme), u64>,
    pub requests_seen: u64,
    pub requests_not_kept: u64,
    /// Plaintext requests past the quota: counted, not judged (findings may be missing).
    pub plaintext_not_judged: u64,
    /// Requests kept so far, per scheme (`scheme_index`).
    kept: [usize; 2],
    pub requests_without_response: u64,
    /// Requests whose head a gap or error destroyed (counted by the HTTP parser, never reported).
    pub requests_lost: u64,
    pub streams: u64,
    pub unparsed_streams: u64,
    pub http_anomalies: u64,
    /// Index of the first request not yet handed out by `take_new`.
    reported: usize,
}

impl Records {
    pub fn new(limits: Limits, hints: HostHints, redact: bool) -> Self {
        Records {
            limits,
            hints,
            redact,
            keylog: None,
            conns: HashMap::new(),
            events: Vec::new(),
            requests: Vec::new(),
            attempts: Vec::new(),
            attempt_facts: Vec::new(),
            tls_facts: Vec::new(),
            tls: Vec::new(),
            operations: BTreeMap::new(),
            requests_seen: 0,
            requests_not_kept: 0,
            plaintext_not_judged: 0,
            kept: [0, 0],
            requests_without_response: 0,
            requests_lost: 0,
            streams: 0,
            unparsed_streams: 0,
            http_anomalies: 0,
            reported: 0,
        }
    }

    pub fn on_stream(&mut self, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Opened {
                conn,
                client,
                server,
                ..
            } => {
                let c = Conn {
                    client,
                    server,
                    conv: Conversation::with_keylog(self.limits.proto, self.keylog.clone()),
                    client_protocol: None,
                    tls: None,
                    server_replied_tls: false,
                    reset: false,
                    bytes: [0, 0],
                };
                self.conns.insert(conn, c);
            }
            StreamEvent::Data {
                conn,
                dir,
                ts,
                bytes,
            } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                c.bytes[dir_index(dir)] += bytes.len() as u64;
                c.conv.on_data(dir, ts, bytes, &mut self.events);
                self.drain(conn);
            }
            StreamEvent::Gap { conn, dir, ts, len } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                c.conv.on_gap(dir, ts, len, &mut self.events);
                self.drain(conn);
            }
            StreamEvent::Closed { conn, ts, .. } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                c.conv.on_close(ts, &mut self.events);
                self.drain(conn);
                if let Some(c) = self.conns.remove(&conn) {
                    self.close(c);
                }
            }
            StreamEvent::Attempt(a) => self.attempt(a),
        }
    }

    /// The key log conversations decrypt with, created on first use.
    pub fn keylog(&mut self) -> Arc<KeyLog> {
        self.keylog
            .get_or_insert_with(|| Arc::new(KeyLog::default()))
            .clone()
    }

    /// Requests added since the last call (for live output).
    pub fn take_new(&mut self) -> impl Iterator<Item = (&RequestRecord, &Evidence)> {
        let from = self.reported.min(self.requests.len());
        self.reported = self.requests.len();
        self.requests[from..].iter().map(|(r, e)| (r, e))
    }

    pub fn operation_counts(&self) -> Vec<OperationCount> {
        self.operations
            .iter()
            .map(|((op, scheme), n)| OperationCount {
                operation: op.to_string(),
                scheme: *scheme,
                count: *n,
            })
            .collect()
    }

    fn close(&mut self, c: Conn) {
        if c.bytes != [0, 0] {
            self.streams += 1;
            if !matches!(c.client_protocol, Some(Protocol::Http | Protocol::Tls)) {
                self.unparsed_streams += 1;
            }
        }
        self.requests_lost += c.conv.http_stats().lost_requests;
        if let Some(t) = c.tls.and_then(|i| self.tls.get_mut(i)) {
            t.client_bytes = c.bytes[0];
            t.server_bytes = c.bytes[1];
            let d = c
                .conv
                .tls()
                .map_or(Decryption::NoKeyLog, |t| t.decryption());
            t.decrypted = d == Decryption::Decrypted;
            t.decryption = decryption_text(d);
        }
    }

    fn attempt(&mut self, a: Attempt) {
        self.attempt_facts
            .push(crate::policy::finding::AttemptFacts {
                time: a.ts,
                client: a.client,
                server: a.server,
                outcome: a.outcome,
                syns: a.syns,
            });
        self.attempts.push(AttemptRecord {
            time: a.ts,
            client: a.client.to_string(),
            server: a.server.to_string(),
            outcome: match a.outcome {
                crate::flow::AttemptOutcome::Refused => "refused".into(),
                crate::flow::AttemptOutcome::Unanswered => "unanswered".into(),
            },
            syns: a.syns,
        });
    }

    fn drain(&mut self, conn: ConnId) {
        let mut events = std::mem::take(&mut self.events);
        for ev in events.drain(..) {
            self.proto_event(conn, ev);
        }
        self.events = events;
    }

    fn proto_event(&mut self, id: ConnId, ev: ProtoEvent) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        match ev {
            ProtoEvent::Detected {
                dir: Direction::ClientToServer,
                protocol,
                ..
            } => {
                c.client_protocol = Some(protocol);
            }
            ProtoEvent::Detected {
                dir: Direction::ServerToClient,
                protocol,
                ..
            } => {
                if protocol == Protocol::Tls && c.client_protocol == Some(Protocol::Http) {
                    c.server_replied_tls = true;
                }
            }
            ProtoEvent::TlsAlert {
                dir: Direction::ServerToClient,
                ..
            } if c.tls.is_none() => {
                c.server_replied_tls = true;
            }
            ProtoEvent::Http(ex) => self.exchange(id, *ex),
            ProtoEvent::ClientHello(h) => {
                let rec = TlsRecord {
                    time: h.ts,
                    client: c.client.to_string(),
                    server: c.server.to_string(),
                    sni: h.sni.clone(),
                    alpn: h.alpn.clone(),
                    version: h
                        .supported_versions
                        .iter()
                        .max()
                        .copied()
                        .unwrap_or(h.legacy_version)
                        .name(),
                    cipher: None,
                    decrypted: false,
                    decryption: String::new(),
                    client_bytes: 0,
                    server_bytes: 0,
                    connection: id.0,
                };
                c.tls = Some(self.tls.len());
                self.tls.push(rec);
                self.tls_facts.push(crate::policy::finding::TlsFacts {
                    time: h.ts,
                    client: c.client,
                    server: c.server,
                    sni: h.sni.clone(),
                });
            }
            ProtoEvent::ServerHello(h) => {
                if let Some(t) = c.tls.and_then(|i| self.tls.get_mut(i)) {
                    t.version = h.version.name();
                    t.cipher = Some(
                        crate::proto::tls::cipher_suite_name(h.cipher_suite)
                            .map_or_else(|| format!("0x{:04x}", h.cipher_suite), str::to_string),
                    );
                    if let Some(a) = &h.alpn {
                        t.alpn = vec![a.clone()];
                    }
                }
            }
            ProtoEvent::Anomaly { .. } => self.http_anomalies += 1,
            ProtoEvent::TlsAlert { .. } | ProtoEvent::Tunnel { .. } => {}
        }
    }

    fn exchange(&mut self, id: ConnId, ex: HttpExchange) {
        let Some(c) = self.conns.get(&id) else { return };
        self.requests_seen += 1;
        if ex.response.is_none() {
            self.requests_without_response += 1;
        }
        let tls = c.tls.and_then(|i| self.tls.get(i));
        let scheme = if tls.is_some() {
            Scheme::Https
        } else {
            Scheme::Http
        };
        // Findings are judged on plaintext requests only, so each scheme has its own quota: a
        // flood of HTTPS requests never pushes a plaintext one out of judgement.
        if self.kept[scheme_index(scheme)] >= self.limits.max_requests {
            // Not kept: the report only counts its operation.
            if scheme == Scheme::Http {
                self.plaintext_not_judged += 1;
            }
            let op = s3::operation(&ex.request, &self.hints).unwrap_or("unknown");
            *self.operations.entry((op, scheme)).or_default() += 1;
            self.requests_not_kept += 1;
            return;
        }
        let s3 = s3::classify(&ex.request, &self.hints);
        if let Some(service) = &s3.learned_service_host {
            // A request that only makes sense virtual-hosted proved the service host: later
            // requests to other names under it split bucket and key the same way.
            self.hints.add(service);
        }
        let op = s3.operation.as_ref().map_or("unknown", |op| *op);
        *self.operations.entry((op, scheme)).or_default() += 1;
        let evidence = evidence(&ex, c, &s3);
        let op_name = s3.operation.as_ref().ok().map(|s| s.to_string());
        let record = self.record(id, c, tls, scheme, ex, s3, op_name);
        self.kept[scheme_index(scheme)] += 1;
        self.requests.push((record, evidence));
    }

    #[allow(clippy::too_many_arguments)] // the pieces of one record, gathered in one place
    fn record(
        &self,
        id: ConnId,
        c: &Conn,
        tls: Option<&TlsRecord>,
        scheme: Scheme,
        ex: HttpExchange,
        s3: s3::S3Request,
        operation: Option<String>,
    ) -> RequestRecord {
        let req = &ex.request;
        let redact_on = self.redact;
        let target = if redact_on {
            redact::redact_target(&req.target).into_owned()
        } else {
            req.target.clone()
        };
        let authorization = req.header("authorization").map(|v| {
            if redact_on {
                redact::redact_header("authorization", v).into_owned()
            } else {
                v.to_string()
            }
        });
        let note = match &s3.operation {
            Ok(_) => s3.note.clone(),
            Err(u) => Some(u.reason.clone()),
        };
        RequestRecord {
            id: self.requests_seen,
            time: req.ts,
            scheme,
            client: c.client.to_string(),
            server: c.server.to_string(),
            host: req.header("host").map(str::to_string),
            method: req.method.clone(),
            target,
            operation,
            bucket: s3.bucket,
            key: s3.key,
            operation_note: note,
            addressing: Some(format!("{:?}", s3.addressing).to_lowercase()),
            status: ex.response.as_ref().map(|r| r.status),
            interim: ex.interim.clone(),
            user_agent: req.header("user-agent").map(str::to_string),
            authorization,
            request_body_bytes: req.body_len,
            response_body_bytes: ex.response.as_ref().and_then(|r| r.body_len),
            response_time: ex.response.as_ref().map(|r| r.ts),
            tls: tls.map(|t| RequestTls {
                sni: t.sni.clone(),
                version: t.version.clone(),
                decrypted: true,
            }),
            connection: id.0,
            process: None,
        }
    }
}

/// Why a TLS session was or was not decrypted, for the report.
fn decryption_text(d: Decryption) -> String {
    match d {
        Decryption::NoKeyLog => "no key log given (--keylog, or a pcapng with secrets)".into(),
        Decryption::NotYet => "no encrypted records seen".into(),
        Decryption::Decrypted => "decrypted".into(),
        Decryption::NoHello => "hello not captured: keys cannot be matched".into(),
        Decryption::NoSecrets => "the key log has no secrets for this session".into(),
        Decryption::UnsupportedSuite(s) => format!("cipher suite 0x{s:04x} is not decrypted"),
        Decryption::Failed => "keys did not authenticate the records".into(),
    }
}

fn scheme_index(s: Scheme) -> usize {
    match s {
        Scheme::Http => 0,
        Scheme::Https => 1,
    }
}

fn dir_index(dir: Direction) -> usize {
    match dir {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

fn evidence(ex: &HttpExchange, c: &Conn, s3: &s3::S3Request) -> Evidence {
    let req = &ex.request;
    let auth = req.header("authorization").unwrap_or("");
    let response_text = ex.response.as_ref().and_then(|r| {
        let text = String::from_utf8_lossy(&r.body_prefix);
        (!text.trim().is_empty()).then(|| text.chars().take(300).collect())
    });
    Evidence {
        sigv4_auth: auth.starts_with("AWS4-") || auth.starts_with("AWS "),
        session_token: req.header("x-amz-security-token").is_some(),
        presigned: s3.presigned.is_some(),
        server_replied_tls: c.server_replied_tls,
        response_text,
        client_addr: c.client,
        server_addr: c.server,
        reset_without_response: c.reset && ex.response.is_none(),
    }
}
