//! One connection's protocol state: detection, then HTTP or TLS (or a CONNECT tunnel into TLS).
//!
//! Each direction's first bytes are classified ([`detect`]); the connection's protocol is the
//! client's verdict, or the server's when the client's bytes say nothing (a capture that began
//! mid-connection: a response shows the stream is HTTP, and the client side resynchronises on
//! the next request line). Bytes that arrive before the protocol is known are held (bounded) and
//! replayed once it is. A `CONNECT` answered by 2xx starts detection afresh on the tunnel's bytes;
//! a `101` ends HTTP on the connection.

mod tls_layer;

use std::sync::Arc;

use super::detect::{self, Detection, Protocol};
use super::http::{self, Handoff, HttpConnection, HttpStats, Switch};
use super::tls::{KeyLog, TlsConnection};
use super::{ProtoEvent, ProtoLimits};
use crate::flow::Direction;
use crate::time::Timestamp;
use tls_layer::TlsLayer;

/// Held bytes or a hole, replayed in order once the protocol is known.
#[derive(Debug)]
enum Held {
    Data(Timestamp, Vec<u8>),
    Gap(Timestamp, u64),
}

/// One direction's detection state.
#[derive(Debug, Default)]
struct Probe {
    /// Bytes since the start (or the last gap) while the verdict is pending.
    first: Vec<u8>,
    first_ts: Option<Timestamp>,
    verdict: Option<Protocol>,
    held: Vec<Held>,
    held_bytes: usize,
    seen_data: bool,
}

#[derive(Debug)]
enum Mode {
    Detecting,
    Http(Box<HttpConnection>),
    Tls(Box<TlsLayer>),
    Other,
}

/// One protocol layer: the connection itself, or the inside of a CONNECT tunnel.
#[derive(Debug)]
struct Layer {
    probes: [Probe; 2],
    mode: Mode,
    /// HTTP was sent and the server answered with TLS records (plaintext to a TLS port).
    server_tls: Vec<u8>,
    server_answered_tls: bool,
}

impl Layer {
    fn new() -> Self {
        Layer {
            probes: [Probe::default(), Probe::default()],
            mode: Mode::Detecting,
            server_tls: Vec::new(),
            server_answered_tls: false,
        }
    }
}

/// Per-connection protocol analyser.
#[derive(Debug)]
pub struct Conversation {
    limits: ProtoLimits,
    /// Secrets to decrypt TLS layers with (from `SSLKEYLOGFILE`), when given.
    keylog: Option<Arc<KeyLog>>,
    layer: Layer,
    handoff: Option<Handoff>,
    tunnels: u32,
    ignored_bytes: u64,
    /// HTTP counters of layers already left (before a tunnel).
    past_http: HttpStats,
    /// Whether each direction has delivered a byte yet (see `on_gap`).
    started: [bool; 2],
}

impl Conversation {
    pub fn new(limits: ProtoLimits) -> Self {
        Conversation::with_keylog(limits, None)
    }

    /// A conversation whose TLS layers are decrypted with `keylog` when it has their secrets;
    /// decrypted HTTP/1.x goes through the same parser as plaintext.
    pub fn with_keylog(limits: ProtoLimits, keylog: Option<Arc<KeyLog>>) -> Self {
        Conversation {
            limits,
            keylog,
            layer: Layer::new(),
            handoff: None,
            tunnels: 0,
            ignored_bytes: 0,
            past_http: HttpStats::default(),
            started: [false, false],
        }
    }

    /// In-order bytes of one direction.
    pub fn on_data(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) {
        self.started[dir.index()] |= !bytes.is_empty();
        self.probe_data(dir, ts, bytes, out);
        self.follow_handoffs(out);
    }

    /// `len` bytes (0 = unknown) of one direction are missing before the next data.
    pub fn on_gap(&mut self, dir: Direction, ts: Timestamp, len: u64, out: &mut Vec<ProtoEvent>) {
        // An unknown-length hole before a direction's first byte only says "the capture may have
        // started late"; the flow stage says it before a late SYN can prove otherwise (capture
        // reordering). Nothing was lost to parse: the first bytes decide, as at any start, and a
        // real mid-stream start shows up as bytes that are not a message or record start.
        if len == 0 && !self.started[dir.index()] {
            return;
        }
        let probe = &mut self.layer.probes[dir.index()];
        if probe.verdict.is_none() && http::shows_cut_request(&probe.first) {
            // A request line the hole cut short (a snaplen shorter than the line): it is HTTP,
            // and the parser reports what it shows.
            self.settle(dir, Protocol::Http, ts, out);
            self.hold(dir, Held::Gap(ts, len));
            if !matches!(self.layer.mode, Mode::Detecting) {
                self.replay_all(out);
            }
            return self.follow_handoffs(out);
        }
        let probe = &mut self.layer.probes[dir.index()];
        if probe.verdict.is_none() {
            // Detection starts over on the bytes after the hole.
            probe.first.clear();
            probe.first_ts = None;
            return self.hold(dir, Held::Gap(ts, len));
        }
        self.dispatch_gap(dir, ts, len, out);
        self.follow_handoffs(out);
    }

    /// The connection ended: flush requests still waiting for a response.
    pub fn on_close(&mut self, ts: Timestamp, out: &mut Vec<ProtoEvent>) {
        match &mut self.layer.mode {
            Mode::Http(http) => http.on_close(ts, out),
            Mode::Tls(tls) => tls.on_close(ts, out),
            Mode::Detecting | Mode::Other => {}
        }
    }

    /// The protocol of the innermost layer (inside a tunnel, the tunnel's); None while unknown.
    pub fn protocol(&self) -> Option<Protocol> {
        match self.layer.mode {
            Mode::Detecting => None,
            Mode::Http(_) => Some(Protocol::Http),
            Mode::Tls(_) => Some(Protocol::Tls),
            Mode::Other => Some(Protocol::Other),
        }
    }

    /// CONNECT tunnels entered on this connection.
    pub fn tunnels(&self) -> u32 {
        self.tunnels
    }

    /// HTTP was sent on this connection and the server answered with TLS records.
    pub fn answered_with_tls(&self) -> bool {
        matches!(self.layer.mode, Mode::Http(_)) && self.layer.server_answered_tls
    }

    /// Bytes not parsed: neither HTTP nor TLS, after an upgrade, or beyond the hold bound.
    pub fn ignored_bytes(&self) -> u64 {
        self.ignored_bytes
    }

    /// HTTP counters over every layer of the connection.
    pub fn http_stats(&self) -> HttpStats {
        let mut stats = self.past_http;
        match &self.layer.mode {
            Mode::Http(http) => stats.merge(&http.stats()),
            Mode::Tls(tls) => {
                if let Some(http) = tls.http() {
                    stats.merge(&http.stats());
                }
            }
            Mode::Detecting | Mode::Other => {}
        }
        stats
    }

    /// The TLS state of the innermost layer, when it is TLS.
    pub fn tls(&self) -> Option<&TlsConnection> {
        match &self.layer.mode {
            Mode::Tls(tls) => Some(tls.tls()),
            _ => None,
        }
    }

    fn probe_data(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) {
        if bytes.is_empty() {
            return;
        }
        let probe = &mut self.layer.probes[dir.index()];
        probe.seen_data = true;
        if probe.verdict.is_some() {
            return self.dispatch_data(dir, ts, bytes, out);
        }
        let take = detect::MAX_DETECT_BYTES
            .saturating_sub(probe.first.len())
            .min(bytes.len());
        probe.first_ts.get_or_insert(ts);
        probe
            .first
            .extend_from_slice(bytes.get(..take).unwrap_or_default());
        let protocol = match detect::detect(&probe.first) {
            Detection::NeedMore => return,
            Detection::Found(protocol) => protocol,
        };
        self.settle(dir, protocol, ts, out);
        let rest = bytes.get(take..).unwrap_or_default();
        if matches!(self.layer.mode, Mode::Detecting) {
            return self.hold(dir, Held::Data(ts, rest.to_vec()));
        }
        self.replay_all(out);
        self.dispatch_data(dir, ts, rest, out);
    }

    /// One direction's protocol is known: its first bytes join what is held for replay.
    fn settle(
        &mut self,
        dir: Direction,
        protocol: Protocol,
        ts: Timestamp,
        out: &mut Vec<ProtoEvent>,
    ) {
        let probe = &mut self.layer.probes[dir.index()];
        probe.verdict = Some(protocol);
        let first = std::mem::take(&mut probe.first);
        let first_ts = probe.first_ts.take().unwrap_or(ts);
        if protocol == Protocol::Other {
            // Not a message start: if the connection turns out to be HTTP, this side began
            // mid-message (the capture started mid-connection) and must resynchronise.
            probe.held.insert(0, Held::Gap(ts, 0));
        }
        probe.held.push(Held::Data(first_ts, first));
        out.push(ProtoEvent::Detected { dir, protocol, ts });
        if dir == Direction::ServerToClient && protocol == Protocol::Tls {
            // Meaningful when the client spoke HTTP: plaintext sent to a TLS port.
            self.layer.server_answered_tls = true;
        }
        self.decide();
    }

    /// Settle the layer's protocol once the verdicts allow it.
    fn decide(&mut self) {
        if !matches!(self.layer.mode, Mode::Detecting) {
            return;
        }
        let [client, server] = &self.layer.probes;
        let mode = match (client.verdict, server.verdict) {
            (Some(Protocol::Http), _) => Protocol::Http,
            (Some(Protocol::Tls), _) => Protocol::Tls,
            (Some(Protocol::Other), Some(Protocol::Http)) => Protocol::Http,
            (Some(Protocol::Other), Some(_)) => Protocol::Other,
            (None, Some(p @ (Protocol::Http | Protocol::Tls))) if !client.seen_data => p,
            // A response may still show the stream is HTTP, or the client may still speak.
            _ => return,
        };
        self.layer.mode = match mode {
            Protocol::Http => Mode::Http(Box::new(HttpConnection::new(&self.limits))),
            Protocol::Tls => Mode::Tls(Box::new(TlsLayer::new(&self.limits, self.keylog.clone()))),
            Protocol::Other => Mode::Other,
        };
    }

    /// Keep bytes (or a hole) until the protocol is known; beyond the bound bytes become a
    /// hole, and consecutive holes merge, so memory stays bounded.
    fn hold(&mut self, dir: Direction, item: Held) {
        let probe = &mut self.layer.probes[dir.index()];
        let item = match item {
            Held::Data(_, ref bytes) if bytes.is_empty() => return,
            Held::Data(ts, bytes)
                if probe.held_bytes.saturating_add(bytes.len()) > self.limits.max_header_bytes =>
            {
                self.ignored_bytes = self.ignored_bytes.saturating_add(bytes.len() as u64);
                Held::Gap(ts, bytes.len() as u64)
            }
            item => item,
        };
        match (probe.held.last_mut(), item) {
            (Some(Held::Gap(_, total)), Held::Gap(_, len)) => *total = total.saturating_add(len),
            (_, item) => {
                if let Held::Data(_, bytes) = &item {
                    probe.held_bytes = probe.held_bytes.saturating_add(bytes.len());
                }
                probe.held.push(item);
            }
        }
    }

    /// Whether these client bytes, on a connection whose client began mid-message and whose
    /// server has not spoken, hold a whole HTTP request line at the start of a line.
    fn client_resumes_http(&self, dir: Direction, bytes: &[u8]) -> bool {
        let [client, server] = &self.layer.probes;
        if dir != Direction::ClientToServer
            || client.verdict != Some(Protocol::Other)
            || server.verdict.is_some()
        {
            return false;
        }
        let is_request_line =
            |line: &[u8]| detect::request_line(line) == Detection::Found(Protocol::Http);
        // A segment may begin a line: when what is held so far ends one.
        let after_line_end =
            matches!(client.held.last(), Some(Held::Data(_, b)) if b.ends_with(b"\n"));
        (after_line_end && is_request_line(bytes))
            || memchr::memchr_iter(b'\n', bytes)
                .any(|at| is_request_line(bytes.get(at + 1..).unwrap_or_default()))
    }

    /// The protocol is known: what was held goes through, client side first (it spoke first).
    fn replay_all(&mut self, out: &mut Vec<ProtoEvent>) {
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            let probe = &mut self.layer.probes[dir.index()];
            let held = std::mem::take(&mut probe.held);
            probe.held_bytes = 0;
            for item in held {
                match item {
                    Held::Data(ts, bytes) => self.dispatch_data(dir, ts, &bytes, out),
                    Held::Gap(ts, len) => self.dispatch_gap(dir, ts, len, out),
                }
            }
        }
    }

    fn dispatch_data(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) {
        if let Some(handoff) = self.handoff.as_mut() {
            // The layer switched: what follows belongs to the next one.
            return handoff_bytes(handoff, dir).extend_from_slice(bytes);
        }
        let answered_tls = dir == Direction::ServerToClient && self.layer.server_answered_tls;
        let resumes =
            matches!(self.layer.mode, Mode::Detecting) && self.client_resumes_http(dir, bytes);
        match &mut self.layer.mode {
            Mode::Detecting if resumes => {
                // A client met mid-message that goes on to send whole requests (a pipelining
                // client can send far more than the hold bound before the server first
                // speaks): HTTP from here, resynchronising past the unknown start.
                self.hold(dir, Held::Data(ts, bytes.to_vec()));
                self.layer.mode = Mode::Http(Box::new(HttpConnection::new(&self.limits)));
                self.replay_all(out);
            }
            Mode::Detecting => self.hold(dir, Held::Data(ts, bytes.to_vec())),
            Mode::Http(_) if answered_tls => self.tls_answer(ts, bytes, out),
            Mode::Http(http) => {
                http.on_data(dir, ts, bytes, out);
                // Looked at before it is moved: nearly every segment leaves none.
                if http.has_handoff() {
                    self.handoff = http.take_handoff();
                }
            }
            Mode::Tls(tls) => tls.on_data(dir, ts, bytes, out),
            Mode::Other => {
                self.ignored_bytes = self.ignored_bytes.saturating_add(bytes.len() as u64);
            }
        }
    }

    fn dispatch_gap(&mut self, dir: Direction, ts: Timestamp, len: u64, out: &mut Vec<ProtoEvent>) {
        if let Some(handoff) = self.handoff.as_mut() {
            match dir {
                Direction::ClientToServer => handoff.client_gap = true,
                Direction::ServerToClient => handoff.server_gap = true,
            }
            return;
        }
        match &mut self.layer.mode {
            Mode::Detecting => self.hold(dir, Held::Gap(ts, len)),
            Mode::Http(http) => http.on_gap(dir, ts, len, out),
            Mode::Tls(tls) => tls.on_gap(dir, ts, len, out),
            Mode::Other => {}
        }
    }

    /// RFC 8446 §6: a server that got plaintext where it expected a ClientHello may answer with
    /// an alert record (`15 03 0x 00 02 level description`).
    fn tls_answer(&mut self, ts: Timestamp, bytes: &[u8], out: &mut Vec<ProtoEvent>) {
        const ALERT_RECORD_LEN: usize = 7;
        let seen = &mut self.layer.server_tls;
        let before = seen.len();
        let room = ALERT_RECORD_LEN.saturating_sub(before).min(bytes.len());
        seen.extend_from_slice(bytes.get(..room).unwrap_or_default());
        self.ignored_bytes = self.ignored_bytes.saturating_add(bytes.len() as u64);
        if before < ALERT_RECORD_LEN
            && let [21, 3, _, 0, 2, level, description] = seen.as_slice()
        {
            out.push(ProtoEvent::TlsAlert {
                dir: Direction::ServerToClient,
                ts,
                level: *level,
                description: *description,
            });
        }
    }

    /// After CONNECT 2xx, detection starts afresh on the tunnel's bytes; after 101, the rest of
    /// the connection is not parsed.
    fn follow_handoffs(&mut self, out: &mut Vec<ProtoEvent>) {
        // Nearly always none: the check costs less than taking (moving) an empty one.
        while self.handoff.is_some()
            && let Some(handoff) = self.handoff.take()
        {
            if let Mode::Http(http) = &self.layer.mode {
                self.past_http.merge(&http.stats());
            }
            match handoff.switch {
                Switch::Tunnel { .. } => {
                    self.tunnels = self.tunnels.saturating_add(1);
                    self.layer = Layer::new();
                    if handoff.client_gap {
                        self.hold(Direction::ClientToServer, Held::Gap(handoff.ts, 0));
                    }
                    if handoff.server_gap {
                        self.hold(Direction::ServerToClient, Held::Gap(handoff.ts, 0));
                    }
                    let ts = handoff.ts;
                    self.probe_data(Direction::ClientToServer, ts, &handoff.client_bytes, out);
                    self.probe_data(Direction::ServerToClient, ts, &handoff.server_bytes, out);
                }
                Switch::Upgrade => {
                    self.layer.mode = Mode::Other;
                    let n = handoff.client_bytes.len() + handoff.server_bytes.len();
                    self.ignored_bytes = self.ignored_bytes.saturating_add(n as u64);
                }
            }
        }
    }
}

fn handoff_bytes(handoff: &mut Handoff, dir: Direction) -> &mut Vec<u8> {
    match dir {
        Direction::ClientToServer => &mut handoff.client_bytes,
        Direction::ServerToClient => &mut handoff.server_bytes,
    }
}

#[cfg(test)]
mod tests;
