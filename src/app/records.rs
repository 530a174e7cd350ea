//! Stream and protocol events → typed facts, in the order they complete: one [`Fact`] per HTTP
//! request, TLS hello, finished TLS session and connection attempt. This is where `proto`'s
//! exchanges meet `s3`'s classification. Nothing is kept per request: the facts wait in a small
//! outbox that the caller drains every few frames; only counters and per-connection state stay.
//!
//! A request is classified when the outbox is drained, not when its exchange completes: then the
//! requests of many frames are classified in one run. The parser, the flow table and the
//! classifier together are too big for the instruction cache, and interleaving them packet by
//! packet made the analysis thread wait on fetching its own code (a simulated 32 KiB cache
//! missed 7.7 M times on 50,000 packets of a request-dense capture; in runs, 0.6 M). What a
//! request's record needs from its connection is taken when the exchange completes, so the
//! facts are the same whenever the drain comes.

use super::engine::Limits;
use super::shared_texts::SharedTexts;
use crate::facts::{Attempt as AttemptFact, Evidence, Request, RequestTls, Shared, TlsHello};
use crate::flow::{Attempt, CloseReason, ConnId, Direction, StreamEvent};
use crate::proto::http::{Field, HttpExchange};
use crate::proto::tls::{Decryption, KeyLog, ResyncCount};
use crate::proto::{Conversation, ProtoEvent, Protocol};
use crate::report::{OperationCount, Scheme, TlsRecord};
use crate::s3::{self, HostHints};
use crate::sanitize::{ConnEvent, Wire};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

/// What the records stage hands on, in completion order. Every kind is boxed, so a fact is two
/// words: the writer's batches (512 facts, handed between threads) are then 8 KiB, and the
/// analysis thread's stores into a batch the writer last read stalled on each cache line it
/// took over (at 208 bytes a fact, a TLS session held inline, moving facts into batches was 3%
/// of the run's time on a request-dense capture).
#[derive(Debug, Clone)]
pub enum Fact {
    /// A ClientHello: what the policy learns about a host as soon as it is seen.
    Hello(Box<TlsHello>),
    Request(Box<Request>),
    Attempt(Box<AttemptFact>),
    /// A TLS session, complete at its connection's close (bytes, decryption outcome).
    Session(Box<TlsRecord>),
    /// A request still to be classified, by the writer ([`Records::classify_on_writer`]).
    Exchange(Box<Deferred>),
}

/// An outbox entry: a fact, or an exchange whose classification waits for the drain (held
/// inline: the outbox is this thread's own and reused, so an entry costs no allocation; it is
/// boxed only to leave as a [`Fact::Exchange`]).
enum Outgoing {
    Fact(Fact),
    Exchange(Deferred),
}

/// An exchange, with what its request's record needs from its connection as it was when the
/// exchange completed.
#[derive(Debug, Clone)]
pub struct Deferred {
    id: u64,
    conn: ConnId,
    scheme: Scheme,
    view: ConnView,
    ex: Box<HttpExchange>,
}

/// A connection's part in its requests' records, taken when each completes.
#[derive(Debug, Clone)]
struct ConnView {
    client: SocketAddr,
    server: SocketAddr,
    tls: Option<Box<RequestTls>>,
    server_replied_tls: bool,
    reset: bool,
}

struct Conn {
    client: SocketAddr,
    server: SocketAddr,
    conv: Conversation,
    client_protocol: Option<Protocol>,
    /// This connection's TLS session (after a CONNECT tunnel: the inner one), until close.
    tls: Option<TlsRecord>,
    server_replied_tls: bool,
    /// This connection's ClientHello was read (its TLS session can be matched with keys).
    hello_read: bool,
    /// The flow stage closed the connection for a RST (`CloseReason::Rst`): requests flushed
    /// at that close without a response were answered by a reset.
    reset: bool,
    bytes: [u64; 2],
}

/// A connection as this stage holds it: its ends from `Opened`, then, from its first bytes,
/// everything else (the HTTP parser and TLS state). A connection that never carries a byte —
/// a flood of handshakes, a half-open one — costs only its ends.
enum Slot {
    Opened(Box<(SocketAddr, SocketAddr)>),
    Live(Box<Conn>),
}

pub struct Records {
    limits: Limits,
    classifier: Classifier,
    /// Exchanges go out unclassified, for the writer to classify ([`Records::classify_on_writer`]).
    defer: bool,
    /// Shared with every conversation created after it exists; grows in place (pcapng blocks,
    /// live key logs), so connections already open can use secrets that arrive later.
    keylog: Option<Arc<KeyLog>>,
    /// Boxed: a map grows by doubling, and its empty slots then cost a pointer, not a `Conn`.
    conns: HashMap<ConnId, Slot, crate::flow::FastHash>,
    events: Vec<ProtoEvent>,
    /// Facts completed since the caller last drained them; requests still to be classified.
    outbox: Vec<Outgoing>,
    /// What `--write-sanitized` needs, since last drained; None (nothing kept) without it.
    wire: Option<Vec<Wire>>,
    pub requests_seen: u64,
    pub requests_without_response: u64,
    /// Requests whose head a gap or error destroyed (counted by the HTTP parser, never reported).
    pub requests_lost: u64,
    /// Requests reported from a head the capture cut short (`truncated` requests).
    pub requests_cut: u64,
    pub streams: u64,
    pub unparsed_streams: u64,
    pub http_anomalies: u64,
    pub tls_not_decrypted: u64,
    /// Searches after holes in decrypted TLS streams, summed over closed connections.
    pub tls_resyncs: ResyncCount,
    /// TLS 1.3 early-data records the server rejected (their plaintext dropped: the client
    /// sent the request again after the handshake, and that copy is the one listed).
    pub tls_early_rejected: u64,
}

impl Records {
    pub fn new(mut limits: Limits, hints: HostHints) -> Self {
        // A request's record reads of its response only the status, the length, a redirect's
        // `Location` and a refusal's body (see `ProtoLimits::keep_response_fields`).
        limits.proto.keep_response_fields = false;
        Records {
            limits,
            classifier: Classifier::new(hints),
            defer: false,
            keylog: None,
            conns: HashMap::default(),
            events: Vec::new(),
            outbox: Vec::new(),
            wire: None,
            requests_seen: 0,
            requests_without_response: 0,
            requests_lost: 0,
            requests_cut: 0,
            streams: 0,
            unparsed_streams: 0,
            http_anomalies: 0,
            tls_not_decrypted: 0,
            tls_resyncs: ResyncCount::default(),
            tls_early_rejected: 0,
        }
    }

    /// The facts completed since the last call, oldest first; the requests among them
    /// classified in place first (see [`Classifier::request`]), unless the writer classifies.
    pub fn drain(&mut self) -> impl Iterator<Item = Fact> + '_ {
        if !self.defer {
            self.settle();
        }
        self.outbox.drain(..).map(|o| match o {
            Outgoing::Fact(f) => f,
            Outgoing::Exchange(d) => Fact::Exchange(Box::new(d)),
        })
    }

    /// Requests leave unclassified ([`Fact::Exchange`]) for the writer's [`Classifier`], made
    /// with the same hosts: the analysis thread then parses, and the writer classifies, judges
    /// and writes. Only where nothing reads a request before the writer (a file, no lines
    /// printed as requests complete) and the writer has room: the human formats keep only what
    /// they show, and there the analysis thread alone set the wall time. Whole dense benchmark
    /// capture, table: analysis thread 1.06 -> 0.89 s, writer 0.43 -> 0.72 s, wall 1.10 ->
    /// 1.00 s; peak RSS 23 -> 38 MiB (the exchanges in flight hold their heads). For JSON the
    /// writer would set the wall time instead: it has no room (with the pager it fills the
    /// other core; see docs/architecture.md). Even handing it only the request's fields, moved
    /// into the record (not copied; the rest of the exchange freed here), made the whole dense
    /// capture 9% slower (median 547 -> 596 ms) for 9% fewer instructions on this thread.
    /// Before the first frame.
    pub fn classify_on_writer(&mut self) {
        self.defer = true;
    }

    /// Facts (and the sanitizer's events) waiting to be drained: the caller drains them before
    /// they are too many, so that what waits stays small whatever one frame brings.
    pub fn waiting(&self) -> usize {
        self.outbox.len() + self.wire.as_ref().map_or(0, Vec::len)
    }

    /// Every waiting exchange classified, in order, in place.
    fn settle(&mut self) {
        // Never with the writer classifying: the hosts each side learns would differ from
        // one order of all requests.
        debug_assert!(!self.defer, "requests are classified on the writer's side");
        for o in &mut self.outbox {
            if let Outgoing::Exchange(d) = o {
                let r = self.classifier.request(d);
                let done = std::mem::replace(o, Outgoing::Fact(Fact::Request(r)));
                // Its box and head's room read the next heads (see `spare.rs`).
                if let Outgoing::Exchange(d) = done {
                    crate::proto::http::spare::give_back(d.ex);
                }
            }
        }
    }

    /// Also keep the [`Wire`] events a sanitized capture is written from.
    pub fn keep_wire(&mut self) {
        self.wire.get_or_insert_with(Vec::new);
        // The sanitizer keeps a refusal's text whatever the response's status, and writes
        // every field of every head back.
        self.limits.proto.body_prefix_from_status = 0;
        self.limits.proto.keep_response_fields = true;
    }

    /// The wire events since the last call (none unless [`Records::keep_wire`]).
    pub fn drain_wire(&mut self) -> impl Iterator<Item = Wire> + '_ {
        self.wire.iter_mut().flat_map(|w| w.drain(..))
    }

    /// Facts waiting in the outbox (live capture labels them with their process); the requests
    /// among them are classified first.
    pub fn pending_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut Fact> + '_ {
        self.settle();
        self.outbox.iter_mut().filter_map(|o| match o {
            Outgoing::Fact(f) => Some(f),
            Outgoing::Exchange(_) => None, // none left: settled above
        })
    }

    pub fn on_stream(&mut self, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Opened {
                conn,
                client,
                server,
                ..
            } => {
                self.conns
                    .insert(conn, Slot::Opened(Box::new((client, server))));
            }
            StreamEvent::Data {
                conn,
                dir,
                ts,
                bytes,
            } => {
                // The connection is looked up once for its bytes and the events they make.
                let (c, events, mut out) = self.live(conn);
                if let Some(c) = c {
                    c.bytes[dir.index()] += bytes.len() as u64;
                    c.conv.on_data(dir, ts, bytes, events);
                    out.proto_events(c, conn, events);
                }
            }
            StreamEvent::Gap { conn, dir, ts, len } => {
                let (c, events, mut out) = self.live(conn);
                if let Some(c) = c {
                    c.conv.on_gap(dir, ts, len, events);
                    out.proto_events(c, conn, events);
                }
            }
            StreamEvent::Closed { conn, ts, reason } => {
                let mut events = std::mem::take(&mut self.events);
                if let Some(c) = self.conn_mut(conn) {
                    // Before the close flushes the requests still waiting for a response:
                    // those are the ones the RST left unanswered.
                    c.reset = reason == CloseReason::Rst;
                    c.conv.on_close(ts, &mut events);
                }
                self.events = events;
                self.drain_events(conn);
                let Some(slot) = self.conns.remove(&conn) else {
                    return;
                };
                let (client, server) = match &slot {
                    Slot::Opened(ends) => **ends,
                    Slot::Live(c) => (c.client, c.server),
                };
                if let Some(w) = &mut self.wire {
                    let event = ConnEvent::Closed { ts, reason };
                    w.push(Wire::Conn {
                        conn,
                        client,
                        server,
                        event,
                    });
                }
                if let Slot::Live(c) = slot {
                    self.close(*c);
                }
            }
            StreamEvent::Attempt(a) => self.attempt(a),
        }
    }

    /// The connection's full state, made on its first bytes (see [`Slot`]), with the list its
    /// protocol events go into (empty) and where they go from there.
    #[inline(always)]
    fn live(&mut self, id: ConnId) -> (Option<&mut Conn>, &mut Vec<ProtoEvent>, Outlets<'_>) {
        let p = self.parts();
        let (proto, keylog) = (p.limits.proto, p.keylog);
        let c = p.conns.get_mut(&id).and_then(|slot| {
            if let Slot::Opened(ends) = slot {
                let (client, server) = **ends;
                *slot = Slot::Live(Box::new(Conn {
                    client,
                    server,
                    conv: Conversation::with_keylog(proto, keylog.clone()),
                    client_protocol: None,
                    tls: None,
                    server_replied_tls: false,
                    hello_read: false,
                    reset: false,
                    bytes: [0, 0],
                }));
            }
            match slot {
                Slot::Live(c) => Some(&mut **c),
                Slot::Opened(_) => None,
            }
        });
        (c, p.events, p.out)
    }

    /// The records' parts, borrowed apart.
    fn parts(&mut self) -> Parts<'_> {
        let Records {
            limits,
            keylog,
            conns,
            events,
            outbox,
            wire,
            requests_seen,
            requests_without_response,
            http_anomalies,
            ..
        } = self;
        Parts {
            limits,
            keylog,
            conns,
            events,
            out: Outlets {
                outbox,
                wire,
                requests_seen,
                requests_without_response,
                http_anomalies,
            },
        }
    }

    /// The connection's full state, if it carried any bytes.
    fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        match self.conns.get_mut(&id)? {
            Slot::Live(c) => Some(c),
            Slot::Opened(_) => None,
        }
    }

    /// The key log conversations decrypt with, created on first use.
    pub fn keylog(&mut self) -> Arc<KeyLog> {
        self.keylog
            .get_or_insert_with(|| Arc::new(KeyLog::default()))
            .clone()
    }

    /// The requests classified here.
    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    fn close(&mut self, c: Conn) {
        if c.bytes != [0, 0] {
            self.streams += 1;
            if !matches!(c.client_protocol, Some(Protocol::Http | Protocol::Tls)) {
                self.unparsed_streams += 1;
            }
        }
        let http = c.conv.http_stats();
        self.requests_lost += http.lost_requests;
        self.requests_cut += http.cut_requests;
        if let Some(t) = c.conv.tls() {
            let rejected = t.early_data().rejected_records;
            self.tls_early_rejected = self.tls_early_rejected.saturating_add(rejected);
            let r = t.resyncs();
            let sum = &mut self.tls_resyncs;
            sum.resynced = sum.resynced.saturating_add(r.resynced);
            sum.abandoned = sum.abandoned.saturating_add(r.abandoned);
            sum.tries = sum.tries.saturating_add(r.tries);
        }
        if let Some(mut t) = c.tls {
            t.client_bytes = c.bytes[0];
            t.server_bytes = c.bytes[1];
            let d = c
                .conv
                .tls()
                .map_or(Decryption::NoKeyLog, |t| t.decryption());
            t.decrypted = matches!(d, Decryption::Decrypted | Decryption::DecryptedButEarlyData);
            t.decryption = if !c.hello_read {
                "ClientHello not captured whole (snaplen or lost bytes): keys cannot be matched"
                    .into()
            } else {
                decryption_text(d)
            };
            self.tls_not_decrypted += u64::from(!t.decrypted);
            self.outbox.push(Outgoing::Fact(Fact::Session(Box::new(t))));
        }
    }

    fn attempt(&mut self, a: Attempt) {
        if let Some(w) = &mut self.wire {
            let (ts, client, server, outcome, syns) = (a.ts, a.client, a.server, a.outcome, a.syns);
            w.push(Wire::Attempt {
                ts,
                client,
                server,
                outcome,
                syns,
            });
        }
        self.outbox
            .push(Outgoing::Fact(Fact::Attempt(Box::new(AttemptFact {
                time: a.ts,
                client: a.client,
                server: a.server,
                outcome: a.outcome,
                syns: a.syns,
                owner: None,
            }))));
    }

    /// The events of a connection the caller did not look up (its close).
    fn drain_events(&mut self, id: ConnId) {
        let mut p = self.parts();
        match p.conns.get_mut(&id) {
            Some(Slot::Live(c)) => p.out.proto_events(c, id, p.events),
            _ => p.events.clear(),
        }
    }
}

/// [`Records`]' connections, with the list their protocol events go into and where they go
/// from there.
struct Parts<'r> {
    limits: &'r Limits,
    keylog: &'r Option<Arc<KeyLog>>,
    conns: &'r mut HashMap<ConnId, Slot, crate::flow::FastHash>,
    events: &'r mut Vec<ProtoEvent>,
    out: Outlets<'r>,
}

/// Where a connection's protocol events go: the outbox, the sanitizer's events and the
/// counters, borrowed apart from the connection table so that a connection is looked up once
/// for a stream event and all the protocol events it makes (it was looked up again for each
/// protocol event and each exchange: 2% of the analysis thread on a request-dense capture).
struct Outlets<'r> {
    outbox: &'r mut Vec<Outgoing>,
    wire: &'r mut Option<Vec<Wire>>,
    requests_seen: &'r mut u64,
    requests_without_response: &'r mut u64,
    http_anomalies: &'r mut u64,
}

impl Outlets<'_> {
    /// Every event in `events` (emptied), made by connection `id`. Half of a request-dense
    /// capture's segments make none (a request's first segments, a response's body): for them
    /// nothing is set up to drain, and the look-up of the connection ([`Records::live`]) is
    /// inlined.
    #[inline(always)]
    fn proto_events(&mut self, c: &mut Conn, id: ConnId, events: &mut Vec<ProtoEvent>) {
        if !events.is_empty() {
            self.drain_proto_events(c, id, events);
        }
    }

    fn drain_proto_events(&mut self, c: &mut Conn, id: ConnId, events: &mut Vec<ProtoEvent>) {
        for ev in events.drain(..) {
            self.proto_event(c, id, ev);
        }
    }

    fn proto_event(&mut self, c: &mut Conn, id: ConnId, ev: ProtoEvent) {
        if let Some(w) = self.wire {
            w.extend(Wire::from_proto(id, c.client, c.server, &ev));
        }
        match ev {
            ProtoEvent::Detected {
                dir: Direction::ClientToServer,
                protocol,
                ts,
            } => {
                c.client_protocol = Some(protocol);
                if protocol == Protocol::Tls && c.tls.is_none() {
                    // Listed even if its ClientHello never reads whole (a snaplen, a hole): a
                    // ClientHello replaces this.
                    c.tls = Some(unread_session(ts, c, id));
                }
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
            ProtoEvent::Http(ex) => self.exchange(c, id, ex),
            ProtoEvent::ClientHello(h) => {
                c.hello_read = true;
                c.tls = Some(TlsRecord {
                    sni: h.sni.clone(),
                    alpn: h.alpn.clone(),
                    version: h
                        .supported_versions
                        .iter()
                        .max()
                        .copied()
                        .unwrap_or(h.legacy_version)
                        .name(),
                    ..unread_session(h.ts, c, id)
                });
                self.outbox
                    .push(Outgoing::Fact(Fact::Hello(Box::new(TlsHello {
                        time: h.ts,
                        client: c.client,
                        server: c.server,
                        sni: h.sni.clone(),
                    }))));
            }
            ProtoEvent::ServerHello(h) => {
                if let Some(t) = &mut c.tls {
                    t.version = h.version.name();
                    t.cipher = Some(crate::proto::tls::cipher_suite_label(h.cipher_suite));
                    if let Some(a) = &h.alpn {
                        t.alpn = vec![a.clone()];
                    }
                }
            }
            ProtoEvent::Anomaly { .. } => *self.http_anomalies += 1,
            ProtoEvent::TlsAlert { .. } | ProtoEvent::Tunnel { .. } => {}
        }
    }

    fn exchange(&mut self, c: &Conn, id: ConnId, ex: Box<HttpExchange>) {
        *self.requests_seen += 1;
        if ex.response.is_none() {
            *self.requests_without_response += 1;
        }
        let scheme = if c.tls.is_some() {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let view = ConnView {
            client: c.client,
            server: c.server,
            tls: c.tls.as_ref().map(|t| {
                Box::new(RequestTls {
                    sni: t.sni.clone(),
                    version: t.version.clone(),
                    decrypted: true,
                })
            }),
            server_replied_tls: c.server_replied_tls,
            reset: c.reset,
        };
        self.outbox.push(Outgoing::Exchange(Deferred {
            id: *self.requests_seen,
            conn: id,
            scheme,
            view,
            ex,
        }));
    }
}

/// Requests classified in completion order (what a request proves about a host informs the
/// classification of those after it), and counted per operation. One per analysis does the
/// work: the records' own, or the writer's ([`Records::classify_on_writer`]).
#[derive(Debug, Clone)]
pub struct Classifier {
    hints: HostHints,
    /// The last Host read under these hints (cleared when they change).
    memo: s3::HostMemo,
    /// Requests per operation (the model's names are static; "unknown" for the rest).
    operations: OperationCounts,
    /// The Hosts and User-Agents the records share.
    texts: SharedTexts,
}

/// Requests per operation and scheme, in the order each was first seen. A capture has a few
/// of them, found again by the name's address before its text: counting in a map ordered by
/// name compared texts several times per request (1% of the analysis thread on a
/// request-dense capture).
#[derive(Debug, Clone, Default)]
struct OperationCounts(Vec<((&'static str, Scheme), u64)>);

impl OperationCounts {
    fn count(&mut self, op: &'static str, scheme: Scheme) {
        let same = |(o, s): &(&'static str, Scheme)| *s == scheme && std::ptr::eq(*o, op);
        let at = match self.0.iter().position(|(k, _)| same(k)) {
            Some(at) => Some(at),
            // The same name at another address (a name is one text, but the compiler may
            // hold it twice).
            None => self
                .0
                .iter()
                .position(|((o, s), _)| *s == scheme && *o == op),
        };
        match at.and_then(|at| self.0.get_mut(at)) {
            Some((_, n)) => *n += 1,
            None => self.0.push(((op, scheme), 1)),
        }
    }

    /// By operation name, then scheme.
    fn sorted(&self) -> BTreeMap<(&'static str, Scheme), u64> {
        let mut all = BTreeMap::new();
        for (k, n) in &self.0 {
            *all.entry(*k).or_default() += n;
        }
        all
    }
}

impl Classifier {
    pub fn new(hints: HostHints) -> Classifier {
        Classifier {
            hints,
            memo: s3::HostMemo::default(),
            operations: OperationCounts::default(),
            texts: SharedTexts::default(),
        }
    }

    /// A deferred exchange classified into its request's record; what the record takes is
    /// taken out of `d` (its connection's TLS session), and the exchange is left to be dropped
    /// where it lies. By reference, not by value: moved out of the outbox, an entry was copied
    /// onto the stack in sixteen-byte pieces two bytes off its fields (past the enum's tag),
    /// and each field read back across two of those stores waited for both to reach the cache
    /// (a store-forwarding stall). In paired profiles of the whole request-dense benchmark
    /// capture (`perf record`), this function's share of the samples went from 8.8–9.3% to
    /// 5.6–7.0%.
    pub fn request(&mut self, d: &mut Deferred) -> Box<Request> {
        let Deferred {
            id,
            conn,
            scheme,
            view,
            ex,
        } = d;
        let (id, conn, scheme) = (*id, *conn, *scheme);
        // The fields the record and the classification both read, looked up once.
        let fields = Fields::of(&ex.request.headers);
        let seen = s3::Seen {
            host: fields.host,
            authorization: fields.authorization,
        };
        let s3 = s3::classify_seen(&ex.request, seen, &self.hints, &mut self.memo);
        // A request that only makes sense virtual-hosted proved the service host: later
        // requests to other names under it split bucket and key the same way.
        if s3.learned_service_host.is_some() || s3.learned_bucket_host.is_some() {
            self.hints.learn(&s3);
            self.memo.clear();
        }
        let op = s3.operation.as_ref().map_or("unknown", |op| *op);
        self.operations.count(op, scheme);
        let owned = fields.owned(&mut self.texts);
        // The exchange stays where it is: its parts are taken out of it, not the whole moved.
        request(id, conn, view, scheme, ex, s3, owned)
    }

    /// The counts per operation of this classifier and `other`'s (the one that did not
    /// classify has none).
    pub fn operation_counts(&self, other: &Classifier) -> Vec<OperationCount> {
        let mut all = self.operations.sorted();
        for (k, n) in other.operations.sorted() {
            *all.entry(k).or_default() += n;
        }
        all.into_iter()
            .map(|((op, scheme), count)| OperationCount {
                operation: op.to_string(),
                scheme,
                count,
            })
            .collect()
    }
}

/// The request's fields its record reads, found by the headers' index once.
struct Fields<'h> {
    host: Option<&'h str>,
    user_agent: Option<&'h str>,
    authorization: Option<&'h str>,
    token: bool,
}

impl<'h> Fields<'h> {
    fn of(h: &'h crate::proto::http::Headers) -> Fields<'h> {
        Fields {
            host: h.field(Field::Host),
            user_agent: h.field(Field::UserAgent),
            authorization: h.field(Field::Authorization),
            token: h.field(Field::SecurityToken).is_some(),
        }
    }

    /// The texts the record keeps (the Host and User-Agent shared, the Authorization copied),
    /// and what the evidence needs of them (taken before the exchange is taken apart).
    fn owned(&self, texts: &mut SharedTexts) -> Owned {
        let auth = self.authorization.unwrap_or("");
        Owned {
            host: texts.host(self.host),
            user_agent: texts.user_agent(self.user_agent),
            authorization: self.authorization.map(str::to_string),
            token: self.token,
            sigv4_auth: auth.starts_with("AWS4-") || auth.starts_with("AWS "),
        }
    }
}

/// The texts a record keeps of its request's fields ([`Fields::owned`]).
struct Owned {
    host: Option<Shared>,
    user_agent: Option<Shared>,
    authorization: Option<String>,
    token: bool,
    sigv4_auth: bool,
}

/// One typed request: the exchange, its classification and the connection's evidence.
fn request(
    id: u64,
    conn: ConnId,
    c: &mut ConnView,
    scheme: Scheme,
    ex: &mut HttpExchange,
    s3: s3::S3Request,
    fields: Owned,
) -> Box<Request> {
    let evidence = evidence(ex, c, &s3, fields.sigv4_auth, fields.token);
    let interim = std::mem::take(&mut ex.interim);
    let (req, response) = (&mut ex.request, ex.response.as_deref());
    // Box::write rather than Box::new: on dense-50k the record's construction went from
    // ~117 to ~103 instructions a request (callgrind, per instruction); most of what is left
    // is writing its fields.
    let record = Box::new_uninit();
    Box::write(
        record,
        Request {
            id,
            time: req.ts,
            scheme,
            client: c.client,
            server: c.server,
            host: fields.host,
            user_agent: fields.user_agent,
            authorization: fields.authorization,
            operation: s3.operation.map_err(|u| u.reason),
            operation_note: s3.note,
            bucket: s3.bucket,
            key: s3.key,
            addressing: s3.addressing,
            status: response.map(|r| r.status),
            location: redirect_location(response),
            interim,
            request_body_bytes: req.body_len,
            response_body_bytes: response.and_then(|r| r.body_len),
            response_time: response.map(|r| r.ts),
            tls: c.tls.take(),
            connection: conn.0,
            process: None,
            owner: None,
            evidence,
            truncated: req.cut.is_some(),
            method: std::mem::take(&mut req.method),
            target: std::mem::take(&mut req.target),
        },
    )
}

/// A 3xx response's `Location` (RFC 9110 §10.2.2): kept only for redirects, the one place the
/// policy uses it.
fn redirect_location(response: Option<&crate::proto::http::HttpResponse>) -> Option<String> {
    let r = response.filter(|r| (300..400).contains(&r.status))?;
    r.headers
        .field(Field::Location)
        .map(|l| l.trim().to_string())
}

/// A TLS session known only from its first record header.
/// A session as known before its hello is read (a cut ClientHello keeps it so).
fn unread_session(time: crate::time::Timestamp, c: &Conn, id: ConnId) -> TlsRecord {
    TlsRecord {
        time,
        client: c.client.to_string(),
        server: c.server.to_string(),
        sni: None,
        alpn: Vec::new(),
        // Until a ServerHello says which.
        version: "unknown".into(),
        cipher: None,
        decrypted: false,
        decryption: String::new(),
        client_bytes: 0,
        server_bytes: 0,
        connection: id.0,
    }
}

/// Why a TLS session was or was not decrypted, for the report.
fn decryption_text(d: Decryption) -> String {
    match d {
        Decryption::NoKeyLog => "no key log given (--keylog, or a pcapng with secrets)".into(),
        Decryption::NotYet => "no encrypted records seen".into(),
        Decryption::Decrypted => "decrypted".into(),
        Decryption::DecryptedButEarlyData => {
            "decrypted, but not its 0-RTT early data: no CLIENT_EARLY_TRAFFIC_SECRET in the key log"
                .into()
        }
        Decryption::NoHello => "hello not captured: keys cannot be matched".into(),
        Decryption::NoSecrets => "the key log has no secrets for this session".into(),
        Decryption::UnsupportedSuite(s) => {
            format!(
                "cipher suite {} is not decrypted",
                crate::proto::tls::cipher_suite_label(s)
            )
        }
        Decryption::ImplicitIvCbc(s, v) => format!(
            "cipher suite {} is not decrypted in {} (implicit CBC IVs)",
            crate::proto::tls::cipher_suite_label(s),
            v.name()
        ),
        Decryption::Failed => "keys did not authenticate the records".into(),
    }
}

/// `sigv4_auth` and `token`: whether the request's `Authorization` is an AWS signature and
/// whether it has an `X-Amz-Security-Token`, looked up with its other fields.
fn evidence(
    ex: &HttpExchange,
    c: &ConnView,
    s3: &s3::S3Request,
    sigv4_auth: bool,
    token: bool,
) -> Evidence {
    // Only a rejection's body is ever read (`policy::evaluate`): decoding every GetObject's
    // first bytes was 3% of a body-heavy capture's analysis.
    let rejection = ex
        .response
        .as_ref()
        .filter(|r| r.status == crate::policy::hints::PLAIN_HTTP_REJECTION_STATUS);
    let response_text = rejection.and_then(|r| {
        let text = String::from_utf8_lossy(&r.body_prefix);
        let end = text.char_indices().nth(300).map_or(text.len(), |(i, _)| i);
        (!text.trim().is_empty()).then(|| text[..end].to_string())
    });
    Evidence {
        sigv4_auth,
        session_token: token,
        presigned: s3.presigned.is_some(),
        server_replied_tls: c.server_replied_tls,
        response_text,
        reset_without_response: c.reset && ex.response.is_none(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::flow::{CloseReason, OpenedBy};
    use crate::time::Timestamp;

    /// Operations are counted by name and scheme, whatever the address of the name's text,
    /// and listed by name.
    #[test]
    fn operations_are_counted_by_name() {
        let mut counts = OperationCounts::default();
        let other: &'static str = String::from("GetObject").leak();
        for (op, scheme) in [
            ("PutObject", Scheme::Http),
            ("GetObject", Scheme::Http),
            (other, Scheme::Http),
            ("GetObject", Scheme::Https),
            ("PutObject", Scheme::Http),
        ] {
            counts.count(op, scheme);
        }
        let sorted: Vec<_> = counts.sorted().into_iter().collect();
        assert_eq!(
            sorted,
            [
                (("GetObject", Scheme::Http), 2),
                (("GetObject", Scheme::Https), 1),
                (("PutObject", Scheme::Http), 2),
            ]
        );
    }

    /// A fact is a tag and a pointer: a kind held inline would make every batch handed to the
    /// writer that much larger (see [`Fact`]).
    #[test]
    fn a_fact_is_two_words() {
        assert_eq!(
            std::mem::size_of::<Fact>(),
            2 * std::mem::size_of::<usize>()
        );
    }

    const SIGNED: &str = "Authorization: AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/\
                          us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\n";

    /// Connection `id` (at time `id`) from `client` to `server`: opened, `head`, its `answer`,
    /// then a close by `reason`.
    pub(crate) fn connection<'a>(
        id: u64,
        (client, server): (SocketAddr, SocketAddr),
        head: &'a str,
        answer: &'a str,
        reason: CloseReason,
    ) -> [StreamEvent<'a>; 4] {
        let (conn, ts) = (ConnId(id), Timestamp(id as i64));
        [
            StreamEvent::Opened {
                conn,
                client,
                server,
                ts,
                by: OpenedBy::Handshake,
            },
            StreamEvent::Data {
                conn,
                dir: Direction::ClientToServer,
                ts,
                bytes: head.as_bytes(),
            },
            StreamEvent::Data {
                conn,
                dir: Direction::ServerToClient,
                ts,
                bytes: answer.as_bytes(),
            },
            StreamEvent::Closed { conn, ts, reason },
        ]
    }

    /// A sanitized capture keeps a refusal's text whatever the response's status, so the
    /// exchanges it is written from keep a 200's first body bytes too (by default only an error
    /// response's are kept: `proto::http` tests).
    #[test]
    fn the_sanitizer_sees_every_response_body() {
        let mut records = Records::new(Limits::default_for_tests(), HostHints::default());
        records.keep_wire();
        let ends = (
            SocketAddr::from(([10, 0, 0, 1], 40000)),
            SocketAddr::from(([10, 0, 0, 2], 80)),
        );
        let head = "GET /b/k HTTP/1.1\r\nHost: h\r\n\r\n";
        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        for ev in connection(1, ends, head, answer, CloseReason::Fin) {
            records.on_stream(ev);
        }
        assert_eq!(records.drain().count(), 1, "one request");
        let bodies: Vec<_> = records
            .drain_wire()
            .filter_map(|w| match w {
                Wire::Conn {
                    event: crate::sanitize::ConnEvent::Exchange(x),
                    ..
                } => x.response.map(|r| r.body_prefix),
                _ => None,
            })
            .collect();
        assert_eq!(bodies, [b"hello".to_vec()]);
    }

    /// Requests classified when the outbox is drained, many at once, are the requests classified
    /// one by one: what an earlier request taught about a host (a service host proved by a
    /// CreateBucket) informs the later ones in the same order, and what each record takes from
    /// its connection is as it was when the exchange completed, though the connection is gone by
    /// the drain.
    #[test]
    fn facts_are_the_same_however_seldom_the_outbox_is_drained() {
        let head = |line: &str, host: &str| {
            format!("{line} HTTP/1.1\r\nHost: {host}.store.example.test:9000\r\n{SIGNED}\r\n")
        };
        let conns = [
            (head("GET /?list-type=2", "a"), CloseReason::Fin),
            (head("PUT /", "photos"), CloseReason::Fin),
            (head("GET /?list-type=2", "b"), CloseReason::Rst),
            (head("PUT /docs/", "b"), CloseReason::Rst),
        ];
        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        // Classified by the records, or (`on_writer`) drained unclassified and classified the
        // way the writer does: the same requests, hosts learned and counts either way.
        let run = |drain_every: usize, on_writer: bool| {
            let mut records = Records::new(Limits::default_for_tests(), HostHints::default());
            let mut writer = Classifier::new(HostHints::default());
            if on_writer {
                records.classify_on_writer();
            }
            let mut classify = |f: Fact| match f {
                Fact::Exchange(mut d) => format!("{:?}", Fact::Request(writer.request(&mut d))),
                f => format!("{f:?}"),
            };
            let mut facts = Vec::new();
            let all = conns.iter().enumerate().flat_map(|(i, (head, reason))| {
                let id = i as u64 + 1;
                let client = SocketAddr::from(([10, 0, 0, 1], 40000 + id as u16));
                let server = SocketAddr::from(([10, 0, 0, 2], 9000));
                connection(id, (client, server), head, answer, *reason)
            });
            for (i, ev) in all.enumerate() {
                records.on_stream(ev);
                if (i + 1) % drain_every == 0 {
                    facts.extend(records.drain().map(&mut classify));
                }
            }
            facts.extend(records.drain().map(&mut classify));
            let mut learned = vec![format!("{:?}", records.classifier())];
            if on_writer {
                // The records' own learned nothing: the writer's did it all.
                learned = vec![format!("{writer:?}")];
                assert_eq!(
                    format!("{:?}", records.classifier()),
                    format!("{:?}", Classifier::new(HostHints::default()))
                );
            }
            (facts, learned)
        };
        let (one_by_one, ops) = run(1, false);
        assert_eq!(one_by_one.len(), 4, "{one_by_one:#?}");
        assert!(one_by_one[1].contains("CreateBucket"), "{}", one_by_one[1]);
        // The last request is read under the service host the second one proved: bucket `b`,
        // key `docs/`. Without that proof, `PUT /docs/` reads as CreateBucket of `docs`.
        assert!(
            one_by_one[3].contains("PutObject") && one_by_one[3].contains("key: Some(\"docs/\")"),
            "{}",
            one_by_one[3]
        );
        for (every, on_writer) in [
            (2, false),
            (3, false),
            (5, false),
            (16, false),
            (1, true),
            (5, true),
        ] {
            assert_eq!(
                run(every, on_writer),
                (one_by_one.clone(), ops.clone()),
                "drained every {every}, classified on the writer's side: {on_writer}"
            );
        }
    }
}
