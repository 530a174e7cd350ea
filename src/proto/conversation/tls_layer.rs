//! A TLS layer of a conversation: record and hello parsing by [`TlsConnection`], and, with a
//! key log, its decrypted application data through the same HTTP/1.x parser as plaintext.

use std::sync::Arc;

use crate::flow::Direction;
use crate::proto::detect::{self, Detection, Protocol};
use crate::proto::http::HttpConnection;
use crate::proto::tls::{KeyLog, Plaintext, TlsConnection};
use crate::proto::{ProtoEvent, ProtoLimits};
use crate::time::Timestamp;

/// ALPN protocol id of HTTP/2 (RFC 7540 §3.3), whose frames the HTTP/1.x parser cannot read.
const ALPN_H2: &str = "h2";

#[derive(Debug)]
pub(super) struct TlsLayer {
    tls: TlsConnection,
    /// Created with the first decrypted bytes.
    http: Option<HttpConnection>,
    limits: ProtoLimits,
    /// Per direction: plaintext has had a hole, and no record starting with a message head has
    /// come since.
    seeking: [bool; 2],
    /// Per direction: a hole HTTP is not told of yet (when it began). The TLS search after it
    /// ends with a [`Plaintext::Lost`] that says how much plaintext it cost, if that is known:
    /// HTTP then counts a body through it and keeps pairing.
    pending: [Option<Timestamp>; 2],
    /// Per direction: a Content-Length body is counted through a hole of a computed length.
    /// Message heads start records, so the body must end where a record ends; one that would
    /// end inside a record shows the count was wrong (TLS 1.3 padding, a post-handshake
    /// message in the hole), and the hole is then taken as one of unknown length.
    checking: [bool; 2],
}

impl TlsLayer {
    pub(super) fn new(limits: &ProtoLimits, keylog: Option<Arc<KeyLog>>) -> Self {
        TlsLayer {
            tls: TlsConnection::with_keylog(limits, keylog),
            http: None,
            limits: *limits,
            seeking: [false; 2],
            pending: [None; 2],
            checking: [false; 2],
        }
    }

    pub(super) fn tls(&self) -> &TlsConnection {
        &self.tls
    }

    pub(super) fn http(&self) -> Option<&HttpConnection> {
        self.http.as_ref()
    }

    pub(super) fn on_data(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) {
        let mut plain = Vec::new();
        self.tls.on_data_plain(dir, ts, bytes, out, &mut plain);
        // Early data the server's answer released was sent before anything of this call.
        if let Some((at, early)) = self.tls.take_early_plain() {
            self.feed(Direction::ClientToServer, at, early, out);
        }
        self.feed(dir, ts, plain, out);
    }

    /// Decrypted application data of one direction, in order, to the HTTP parser.
    fn feed(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        plain: Vec<Plaintext>,
        out: &mut Vec<ProtoEvent>,
    ) {
        // A search's end before any data has nothing to tell HTTP (it was never told of it).
        let only_marks = plain.iter().all(|p| matches!(p, Plaintext::Lost { .. }));
        if (only_marks && self.http.is_none()) || self.negotiated_h2() {
            return;
        }
        let limits = self.limits;
        let http = self
            .http
            .get_or_insert_with(|| HttpConnection::new(&limits));
        let seeking = &mut self.seeking[dir.index()];
        let checking = &mut self.checking[dir.index()];
        for piece in plain {
            match piece {
                Plaintext::Data(data) => {
                    if *checking {
                        let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
                        let left = http.body_left(dir);
                        // Settled once the body ends with a record (or is not counted).
                        *checking = left.is_some_and(|left| left > len);
                        if left.is_some_and(|left| left < len) {
                            *seeking = true;
                            http.on_gap(dir, ts, 0, out);
                        }
                    }
                    // After a hole HTTP searches for a message start at line starts; a record
                    // that begins with one is such a start even when the record before it (a
                    // body) did not end a line, so the search is restarted there.
                    if *seeking && starts_message(dir, &data) {
                        *seeking = false;
                        http.on_gap(dir, ts, 0, out);
                    }
                    http.on_data(dir, ts, &data, out);
                }
                Plaintext::Gap { .. } => {
                    *seeking = true;
                    http.on_gap(dir, ts, 0, out);
                }
                Plaintext::Lost { bytes } => {
                    if let Some(at) = self.pending[dir.index()].take() {
                        http.on_gap(dir, at, bytes.unwrap_or(0), out);
                        // A length HTTP could count through keeps its framing; where it could
                        // not (a hole in a head, or past a body's end), a record starting with
                        // a message head is where its search restarts.
                        *seeking = bytes.is_none() || http.is_seeking(dir);
                        *checking = bytes.is_some() && http.body_left(dir).is_some();
                    }
                }
            }
        }
        // A CONNECT sent inside TLS (to an HTTPS proxy) is reported, its tunnel not followed.
        let _ = http.take_handoff();
    }

    /// `len` bytes (0 = unknown) of `dir` are missing before the next data.
    pub(super) fn on_gap(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        len: u64,
        out: &mut Vec<ProtoEvent>,
    ) {
        self.tls.on_gap(dir, len);
        let Some(http) = self.http.as_mut() else {
            return;
        };
        let pending = &mut self.pending[dir.index()];
        if self.tls.is_resyncing(dir) && (pending.is_some() || http.in_body(dir)) {
            // Inside a body decryption searches for the next record: HTTP hears of the hole
            // where that search ends, with the plaintext it cost when that is known. The rest
            // of the body follows at once, before the peer answers. Elsewhere a length changes
            // nothing, and HTTP hears of the hole now, in order with the other direction (a
            // request sent after a lost response must come after the hole in the queue).
            pending.get_or_insert(ts);
            return;
        }
        // Records are lost for good, and HTTP framing with them.
        let at = pending.take().unwrap_or(ts);
        self.seeking[dir.index()] = true;
        http.on_gap(dir, at, 0, out);
    }

    pub(super) fn on_close(&mut self, ts: Timestamp, out: &mut Vec<ProtoEvent>) {
        // Early data still awaiting the server's answer was sent: report it undecided.
        self.tls.finish_early();
        if let Some((at, early)) = self.tls.take_early_plain() {
            self.feed(Direction::ClientToServer, at, early, out);
        }
        if let Some(http) = self.http.as_mut() {
            // A hole whose search never ended cost an unknown length.
            for dir in [Direction::ClientToServer, Direction::ServerToClient] {
                if let Some(at) = self.pending[dir.index()].take() {
                    http.on_gap(dir, at, 0, out);
                }
            }
            http.on_close(ts, out);
        }
    }

    fn negotiated_h2(&self) -> bool {
        self.tls
            .server_hello()
            .and_then(|h| h.alpn.as_deref())
            .is_some_and(|a| a == ALPN_H2)
    }
}

/// Does a record's plaintext begin with a request line (client) or a status line (server)?
fn starts_message(dir: Direction, data: &[u8]) -> bool {
    let verdict = match dir {
        Direction::ClientToServer => detect::request_line(data),
        Direction::ServerToClient => detect::status_line(data),
    };
    verdict == Detection::Found(Protocol::Http)
}

#[cfg(test)]
mod tests {
    //! The plaintext side of a hole: what HTTP makes of a counted length, right or wrong.
    use super::*;
    use crate::proto::ProtoEvent;
    use Direction::{ClientToServer as C2S, ServerToClient as S2C};

    fn data(s: &[u8]) -> Plaintext {
        Plaintext::Data(s.to_vec())
    }

    /// A 100-byte PUT body of which 10 bytes come before a hole that really lost 50 and 40
    /// after it (one record), then a GET as its own record; the hole is told as `told`.
    /// Returns (method, target, status) of each request, and whether pairing was lost.
    fn put_across_a_hole(told: Option<u64>) -> (Vec<(String, String, Option<u16>)>, bool) {
        let mut layer = TlsLayer::new(&ProtoLimits::default(), None);
        let mut out = Vec::new();
        let head = b"PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n";
        layer.feed(
            C2S,
            Timestamp(0),
            vec![data(head), data(&[b'a'; 10])],
            &mut out,
        );
        // As `on_gap` leaves it while decryption searches past the hole inside the body.
        assert!(layer.http.as_ref().unwrap().in_body(C2S));
        layer.pending[C2S.index()] = Some(Timestamp(1));
        let after = vec![
            Plaintext::Lost { bytes: told },
            data(&[b'c'; 40]),
            data(b"GET /n HTTP/1.1\r\nHost: h\r\n\r\n"),
        ];
        layer.feed(C2S, Timestamp(2), after, &mut out);
        let responses = vec![
            data(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            data(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
        ];
        layer.feed(S2C, Timestamp(3), responses, &mut out);
        let lost = layer.http.as_ref().unwrap().pairing_lost();
        layer.on_close(Timestamp(9), &mut out);
        let got = out
            .iter()
            .filter_map(|e| match e {
                ProtoEvent::Http(x) => Some((
                    x.request.method.to_string(),
                    x.request.target.clone(),
                    x.response.as_ref().map(|r| r.status),
                )),
                _ => None,
            })
            .collect();
        (got, lost)
    }

    fn req(method: &str, target: &str, status: Option<u16>) -> (String, String, Option<u16>) {
        (method.into(), target.into(), status)
    }

    #[test]
    fn a_right_count_keeps_the_body_and_the_pairing() {
        let (got, lost) = put_across_a_hole(Some(50));
        assert_eq!(
            got,
            [req("PUT", "/b/k", Some(200)), req("GET", "/n", Some(404))]
        );
        assert!(!lost);
    }

    #[test]
    fn a_wrong_count_falls_back_to_a_hole_of_unknown_length() {
        // Too long inside the body (TLS 1.3 padding: the body would end inside the next
        // record), too short, and past the body's end: each is caught, HTTP resyncs on the GET
        // record as after a hole of unknown length, and nothing is paired that it cannot prove.
        let unknown = put_across_a_hole(None);
        assert_eq!(
            unknown,
            (
                vec![req("PUT", "/b/k", Some(200)), req("GET", "/n", None)],
                true
            )
        );
        for told in [60, 45, 95, 1 << 40] {
            assert_eq!(put_across_a_hole(Some(told)), unknown, "told {told}");
        }
    }
}
