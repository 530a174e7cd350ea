//! One HTTP/1.x connection, both directions: heads parsed, bodies counted and skipped, responses
//! paired with requests, exchanges emitted when complete. Used for plain TCP streams and, by the
//! TLS side, for decrypted application data.

use super::framing::BodyReader;
use super::queue::ExchangeQueue;
use super::reader::MessageReader;
use super::{HttpExchange, HttpResponse};
use crate::flow::Direction;
use crate::proto::{Anomaly, ProtoEvent, ProtoLimits};
use crate::time::Timestamp;

/// Counters of one connection, for the report's quality section.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpStats {
    pub requests: u64,
    pub responses: u64,
    /// Request heads cut by a gap, too large, or unreadable: requests not reported.
    /// (Counted by the request reader, as are `lost_responses`, `resyncs` and `skipped_bytes`.)
    pub lost_requests: u64,
    /// Request heads cut short by the capture (snaplen, lost bytes) but reported as far as
    /// they show (included in `requests`).
    pub cut_requests: u64,
    /// Response heads cut by a gap, too large, or unreadable.
    pub lost_responses: u64,
    pub unmatched_responses: u64,
    pub resyncs: u64,
    /// Bytes passed over while looking for the next message after a gap or error.
    pub skipped_bytes: u64,
}

/// Why the connection stopped speaking HTTP/1.x.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Switch {
    /// `CONNECT target` answered by 2xx (RFC 9110 §9.3.6).
    Tunnel { target: String },
    /// `101 Switching Protocols` (RFC 9110 §15.2.2), e.g. WebSocket or h2c.
    Upgrade,
}

/// The bytes that followed the switch, for whoever reads the new protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handoff {
    pub switch: Switch,
    pub ts: Timestamp,
    /// Client bytes sent after the request, before the answer (held back until then).
    pub client_bytes: Vec<u8>,
    /// Client bytes were lost before or among `client_bytes`.
    pub client_gap: bool,
    /// Server bytes after the switching response's head, in the same read.
    pub server_bytes: Vec<u8>,
    /// Server bytes were lost among `server_bytes`.
    pub server_gap: bool,
}

/// Client side reading state.
#[derive(Debug)]
pub(super) enum ClientState {
    /// The request reader has the side: a head, or the search for the next request line.
    Reading,
    Body {
        id: u64,
        body: BodyReader,
        /// The request may switch protocols once answered (CONNECT, Upgrade).
        switch: bool,
        /// Set when a final response came before any body byte of an `Expect: 100-continue`
        /// request: the client may skip the body (RFC 9110 §10.1.1). Holds the next bytes until
        /// they show whether they are a new request line.
        probe: Option<Vec<u8>>,
    },
    /// After a CONNECT or Upgrade request: later bytes are held until the answer says whether
    /// they are HTTP or the new protocol.
    Hold {
        id: u64,
        held: Vec<u8>,
        held_ts: Timestamp,
        lost: bool,
    },
}

/// Server side reading state.
#[derive(Debug)]
pub(super) enum ServerState {
    /// The response reader has the side: a head, or the search for the next status line.
    Reading,
    Body {
        target: Option<u64>,
        response: Option<Box<HttpResponse>>,
        body: BodyReader,
        /// The request is unknown (lost before the capture began, or in a hole): a HEAD's
        /// answer carries a Content-Length but no body, so a status line right after the head
        /// ends this response instead (`server.rs`, `bodiless_after_all`).
        method_unknown: bool,
    },
}

/// An HTTP/1.x connection parser over both directions of one stream.
#[derive(Debug)]
pub struct HttpConnection {
    pub(super) limits: ProtoLimits,
    pub(super) client: ClientState,
    pub(super) server: ServerState,
    pub(super) requests: MessageReader<Box<HttpExchange>>,
    pub(super) responses: MessageReader<Box<HttpResponse>>,
    pub(super) queue: ExchangeQueue,
    pub(super) stats: HttpStats,
    pub(super) handoff: Option<Handoff>,
    /// No longer HTTP (switched protocols or closed): further bytes are ignored.
    pub(super) stopped: bool,
}

impl HttpStats {
    /// Add another connection's (or layer's) counters.
    pub fn merge(&mut self, other: &HttpStats) {
        self.requests = self.requests.saturating_add(other.requests);
        self.responses = self.responses.saturating_add(other.responses);
        self.lost_requests = self.lost_requests.saturating_add(other.lost_requests);
        self.cut_requests = self.cut_requests.saturating_add(other.cut_requests);
        self.lost_responses = self.lost_responses.saturating_add(other.lost_responses);
        self.unmatched_responses = self
            .unmatched_responses
            .saturating_add(other.unmatched_responses);
        self.resyncs = self.resyncs.saturating_add(other.resyncs);
        self.skipped_bytes = self.skipped_bytes.saturating_add(other.skipped_bytes);
    }
}

impl HttpConnection {
    pub fn new(limits: &ProtoLimits) -> Self {
        HttpConnection {
            limits: *limits,
            client: ClientState::Reading,
            server: ServerState::Reading,
            requests: MessageReader::default(),
            responses: MessageReader::keeping_fields(limits.keep_response_fields),
            queue: ExchangeQueue::new(limits.max_pending_requests),
            stats: HttpStats::default(),
            handoff: None,
            stopped: false,
        }
    }

    /// In-order bytes of one direction, in any chunking.
    pub fn on_data(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) {
        if self.stopped || bytes.is_empty() {
            return;
        }
        match dir {
            Direction::ClientToServer => {
                self.requests.note_seen();
                self.client_data(ts, bytes, out);
            }
            Direction::ServerToClient => {
                self.responses.note_seen();
                self.server_data(ts, bytes, out);
            }
        }
    }

    /// `len` bytes (0 = unknown) of one direction are missing before the next data.
    pub fn on_gap(&mut self, dir: Direction, ts: Timestamp, len: u64, out: &mut Vec<ProtoEvent>) {
        if self.stopped {
            return;
        }
        match dir {
            Direction::ClientToServer => self.client_gap(ts, len, out),
            Direction::ServerToClient => self.server_gap(ts, len, out),
        }
    }

    /// The connection ended: finish what can be finished (a response read until close) and
    /// report every request still waiting, with its response if one was seen.
    pub fn on_close(&mut self, ts: Timestamp, out: &mut Vec<ProtoEvent>) {
        if self.stopped {
            return;
        }
        self.client_close(out);
        self.server_close(ts, out);
        self.queue.flush(out);
        self.stopped = true;
    }

    /// Set once the connection switched protocols; the caller takes it to go on parsing.
    pub fn take_handoff(&mut self) -> Option<Handoff> {
        self.handoff.take()
    }

    /// Whether [`HttpConnection::take_handoff`] has one to give.
    pub fn has_handoff(&self) -> bool {
        self.handoff.is_some()
    }

    /// True once the connection no longer speaks HTTP/1.x (switched, or closed).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// True while `dir` searches for the next message start (after a hole or a bad head).
    pub fn is_seeking(&self, dir: Direction) -> bool {
        match dir {
            Direction::ClientToServer => self.requests.is_resyncing(),
            Direction::ServerToClient => self.responses.is_resyncing(),
        }
    }

    /// True while `dir` is inside a message body: the only place the length of a gap matters
    /// (a body is counted through it).
    pub fn in_body(&self, dir: Direction) -> bool {
        match dir {
            Direction::ClientToServer => matches!(self.client, ClientState::Body { .. }),
            Direction::ServerToClient => matches!(self.server, ServerState::Body { .. }),
        }
    }

    /// Bytes still expected of the Content-Length body `dir` is in, if it is in one.
    pub fn body_left(&self, dir: Direction) -> Option<u64> {
        match (dir, &self.client, &self.server) {
            (Direction::ClientToServer, ClientState::Body { body, .. }, _)
            | (Direction::ServerToClient, _, ServerState::Body { body, .. }) => body.remaining(),
            _ => None,
        }
    }

    /// Bytes were lost in a way that made response-to-request pairing unreliable: requests
    /// since then are reported without responses.
    pub fn pairing_lost(&self) -> bool {
        self.queue.is_desynced()
    }

    pub fn stats(&self) -> HttpStats {
        let (req, resp) = (self.requests.stats(), self.responses.stats());
        let mut stats = self.stats;
        stats.lost_requests = stats.lost_requests.saturating_add(req.lost);
        stats.lost_responses = stats.lost_responses.saturating_add(resp.lost);
        stats.resyncs = req.resyncs.saturating_add(resp.resyncs);
        stats.skipped_bytes = req.skipped.saturating_add(resp.skipped);
        stats
    }

    pub(super) fn anomaly(dir: Direction, ts: Timestamp, what: Anomaly, out: &mut Vec<ProtoEvent>) {
        out.push(ProtoEvent::Anomaly { dir, ts, what });
    }
}
