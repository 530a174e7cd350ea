//! One TLS connection, both directions: record framing (RFC 8446 §5.1), handshake reassembly,
//! hello parsing, clear-text alerts, and a count of the application data that goes by.
//!
//! What is parsed stops where encryption starts: in TLS ≤ 1.2 at a direction's
//! ChangeCipherSpec (RFC 5246 §7.1), in TLS 1.3 at the ServerHello for both directions (RFC 8446
//! §2: everything after it is protected; its ChangeCipherSpec records are only for middlebox
//! compatibility, Appendix D.4). Application data is counted and skipped, never buffered.
//! A gap or a malformed record header loses a direction's framing for good (no resync: a
//! 5-byte record header is too weak a signature to search for in ciphertext).

use crate::flow::Direction;
use crate::proto::{Anomaly, ProtoEvent, ProtoLimits};
use crate::time::Timestamp;

use super::handshake::{CLIENT_HELLO, HandshakeOutput, HandshakeReader, SERVER_HELLO};
use super::hello::{parse_client_hello, parse_server_hello};
use super::record::{ContentType, Fragment, RecordReader};
use super::{ClientHello, ServerHello, TlsVersion};

/// Records and bytes of application data seen in one direction (still encrypted). In TLS 1.3
/// this includes the encrypted handshake, which travels as application_data records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppDataCount {
    pub records: u64,
    /// Sum of the records' `length` fields (ciphertext, without the 5-byte headers).
    pub bytes: u64,
}

/// One direction's parsing state.
#[derive(Debug, Clone)]
struct Side {
    records: RecordReader,
    handshake: HandshakeReader,
    /// The level byte of an alert whose description has not arrived yet.
    alert_level: Option<u8>,
    /// This direction's records are encrypted from here on.
    protected: bool,
    app_data: AppDataCount,
}

impl Side {
    fn new(max_handshake_bytes: usize) -> Self {
        Side {
            records: RecordReader::default(),
            handshake: HandshakeReader::new(max_handshake_bytes),
            alert_level: None,
            protected: false,
            app_data: AppDataCount::default(),
        }
    }

    /// From now on this direction's handshake and alerts are ciphertext: drop partial state.
    fn protect(&mut self) {
        self.protected = true;
        self.handshake.reset();
        self.alert_level = None;
    }
}

/// A TLS connection as seen from the wire.
#[derive(Debug, Clone)]
pub struct TlsConnection {
    sides: [Side; 2],
    client_hello: Option<ClientHello>,
    server_hello: Option<ServerHello>,
}

impl TlsConnection {
    pub fn new(limits: &ProtoLimits) -> Self {
        TlsConnection {
            sides: [
                Side::new(limits.max_handshake_bytes),
                Side::new(limits.max_handshake_bytes),
            ],
            client_hello: None,
            server_hello: None,
        }
    }

    /// In-order bytes of one direction, any chunking. Hellos, clear alerts and anomalies are
    /// appended to `out`.
    pub fn on_data(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) {
        let mut input = bytes;
        loop {
            match self.side(dir).records.next(&mut input) {
                Ok(Some(fragment)) => self.on_fragment(dir, ts, fragment, out),
                Ok(None) => return,
                Err(e) => {
                    self.side(dir).handshake.reset();
                    out.push(bad_tls(dir, ts, e.to_string()));
                    return;
                }
            }
        }
    }

    /// Bytes of `dir` are missing before the next data: its record framing is lost.
    pub fn on_gap(&mut self, dir: Direction) {
        let side = self.side(dir);
        side.records.lose();
        side.handshake.reset();
        side.alert_level = None;
    }

    /// The latest ClientHello (after a HelloRetryRequest, the second one).
    pub fn client_hello(&self) -> Option<&ClientHello> {
        self.client_hello.as_ref()
    }

    /// The latest ServerHello: the real one once seen, else a HelloRetryRequest.
    pub fn server_hello(&self) -> Option<&ServerHello> {
        self.server_hello.as_ref()
    }

    /// The negotiated version, once a ServerHello is seen.
    pub fn version(&self) -> Option<TlsVersion> {
        self.server_hello.as_ref().map(|s| s.version)
    }

    /// Application-data records and bytes seen in one direction.
    pub fn app_data(&self, dir: Direction) -> AppDataCount {
        self.sides[dir_index(dir)].app_data
    }

    /// True once a gap or a malformed record header stopped the parsing of `dir`.
    pub fn is_lost(&self, dir: Direction) -> bool {
        self.sides[dir_index(dir)].records.is_lost()
    }

    fn side(&mut self, dir: Direction) -> &mut Side {
        &mut self.sides[dir_index(dir)]
    }

    fn is_tls13(&self) -> bool {
        self.server_hello
            .as_ref()
            .is_some_and(|s| s.hello_retry || s.version == TlsVersion::TLS1_3)
    }

    fn on_fragment(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        f: Fragment<'_>,
        out: &mut Vec<ProtoEvent>,
    ) {
        let tls13 = self.is_tls13();
        let side = self.side(dir);
        match f.header.content_type {
            ContentType::APPLICATION_DATA if f.first => {
                side.app_data.records = side.app_data.records.saturating_add(1);
                let len = u64::from(f.header.len);
                side.app_data.bytes = side.app_data.bytes.saturating_add(len);
            }
            ContentType::CHANGE_CIPHER_SPEC if f.last && !tls13 => side.protect(),
            ContentType::ALERT if !side.protected => on_alert(side, dir, ts, f.bytes, out),
            ContentType::HANDSHAKE if !side.protected => self.on_handshake(dir, ts, f.bytes, out),
            _ => {}
        }
    }

    /// Reassemble handshake messages; parse the hellos; stop where this direction turns
    /// encrypted (a TLS 1.3 ServerHello).
    fn on_handshake(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        mut bytes: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) {
        while !self.side(dir).protected {
            match self.side(dir).handshake.next(ts, &mut bytes) {
                None => return,
                Some(HandshakeOutput::TooLarge { msg_type, len }) => {
                    let why = format!(
                        "handshake message type {msg_type} of {len} bytes exceeds the limit"
                    );
                    out.push(bad_tls(dir, ts, why));
                }
                Some(HandshakeOutput::Message { msg_type, body, ts }) => {
                    self.on_hello(dir, msg_type, &body, ts, out);
                }
            }
        }
    }

    fn on_hello(
        &mut self,
        dir: Direction,
        msg_type: u8,
        body: &[u8],
        ts: Timestamp,
        out: &mut Vec<ProtoEvent>,
    ) {
        let parsed = match msg_type {
            CLIENT_HELLO => parse_client_hello(body, ts).map(|h| {
                out.push(ProtoEvent::ClientHello(Box::new(h.clone())));
                self.client_hello = Some(h);
            }),
            SERVER_HELLO => parse_server_hello(body, ts).map(|h| {
                out.push(ProtoEvent::ServerHello(Box::new(h.clone())));
                let retry = h.hello_retry;
                self.server_hello = Some(h);
                if self.is_tls13() && !retry {
                    self.sides.iter_mut().for_each(Side::protect);
                }
            }),
            _ => Ok(()),
        };
        if let Err(e) = parsed {
            out.push(bad_tls(dir, ts, e.to_string()));
        }
    }
}

/// Alerts in clear (RFC 8446 §6, RFC 5246 §7.2): two bytes, level then description, which may
/// in principle be split across records.
fn on_alert(
    side: &mut Side,
    dir: Direction,
    ts: Timestamp,
    bytes: &[u8],
    out: &mut Vec<ProtoEvent>,
) {
    for &b in bytes {
        match side.alert_level.take() {
            None => side.alert_level = Some(b),
            Some(level) => out.push(ProtoEvent::TlsAlert {
                dir,
                ts,
                level,
                description: b,
            }),
        }
    }
}

fn bad_tls(dir: Direction, ts: Timestamp, why: String) -> ProtoEvent {
    ProtoEvent::Anomaly {
        dir,
        ts,
        what: Anomaly::BadTls(why),
    }
}

fn dir_index(dir: Direction) -> usize {
    match dir {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tls::testdata::{self, hex};
    use Direction::{ClientToServer as C, ServerToClient as S};

    /// Split a stream into whole records.
    fn records(stream: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        let mut rest = stream;
        while rest.len() >= 5 {
            let n = 5 + usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            let (r, tail) = rest.split_at(n.min(rest.len()));
            out.push(r);
            rest = tail;
        }
        out
    }

    /// Feed (direction, bytes) in order, each as one chunk at ts = its index.
    fn run(conn: &mut TlsConnection, steps: &[(Direction, &[u8])]) -> Vec<ProtoEvent> {
        let mut out = Vec::new();
        for (i, (dir, bytes)) in steps.iter().enumerate() {
            conn.on_data(*dir, Timestamp(i as i64), bytes, &mut out);
        }
        out
    }

    fn new_conn() -> TlsConnection {
        TlsConnection::new(&ProtoLimits::default())
    }

    fn kinds(events: &[ProtoEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                ProtoEvent::ClientHello(h) => format!("CH {:?}", h.sni),
                ProtoEvent::ServerHello(h) => {
                    format!("SH {} retry={}", h.version.name(), h.hello_retry)
                }
                ProtoEvent::TlsAlert {
                    level, description, ..
                } => format!("alert {level}/{description}"),
                ProtoEvent::Anomaly { what, .. } => format!("anomaly {what:?}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn tls13_handshake_then_application_data_is_counted() {
        let (c, s) = (hex(testdata::TLS13_CLIENT), hex(testdata::TLS13_SERVER));
        let (c, s) = (records(&c), records(&s));
        let mut conn = new_conn();
        let events = run(
            &mut conn,
            &[(C, c[0]), (S, &s.concat()), (C, &c[1..].concat())],
        );
        let want = ["CH Some(\"s3.example.test\")", "SH TLSv1.3 retry=false"];
        assert_eq!(kinds(&events), want);
        assert_eq!(conn.version(), Some(TlsVersion::TLS1_3));
        assert_eq!(conn.server_hello().map(|h| h.cipher_suite), Some(0x1302));
        assert_eq!(
            conn.client_hello().map(|h| h.alpn.clone()),
            Some(vec!["http/1.1".into()])
        );
        assert_eq!(
            conn.app_data(C),
            AppDataCount {
                records: 2,
                bytes: 69 + 19
            }
        );
        assert_eq!(
            conn.app_data(S),
            AppDataCount {
                records: 1,
                bytes: 38
            }
        );
    }

    #[test]
    fn byte_by_byte_gives_the_same_result_timed_by_the_first_byte() {
        let c = hex(testdata::TLS13_CLIENT);
        let mut conn = new_conn();
        let steps: Vec<(Direction, &[u8])> = c.chunks(1).map(|b| (C, b)).collect();
        let events = run(&mut conn, &steps);
        let [ProtoEvent::ClientHello(h)] = &events[..] else {
            panic!("{events:?}")
        };
        // The handshake header starts after the 5-byte record header.
        assert_eq!(h.ts, Timestamp(5));
        assert_eq!(h.sni.as_deref(), Some("s3.example.test"));
        assert_eq!(
            conn.app_data(C),
            AppDataCount {
                records: 2,
                bytes: 88
            }
        );
    }

    /// Re-frame one record's handshake bytes into two records cut at `at`.
    fn split_record(record: &[u8], at: usize) -> Vec<u8> {
        let body = &record[5..];
        let mut out = Vec::new();
        for part in [&body[..at], &body[at..]] {
            out.extend([22, 3, 1]);
            out.extend((part.len() as u16).to_be_bytes());
            out.extend(part);
        }
        out
    }

    #[test]
    fn client_hello_spanning_two_records() {
        let c = hex(testdata::TLS13_CLIENT);
        let first = records(&c)[0];
        for at in [1, 3, 4, 100, first.len() - 6] {
            let mut conn = new_conn();
            let events = run(&mut conn, &[(C, &split_record(first, at))]);
            assert_eq!(
                kinds(&events),
                ["CH Some(\"s3.example.test\")"],
                "split at {at}"
            );
        }
    }

    #[test]
    fn two_handshake_messages_in_one_record() {
        // The TLS 1.2 ServerHello followed by a ServerHelloDone (type 14, empty) in the same record.
        let mut sh = hex(testdata::TLS12_SERVER_HELLO);
        sh.extend([14, 0, 0, 0]);
        let len = (sh.len() - 5) as u16;
        sh[3..5].copy_from_slice(&len.to_be_bytes());
        let mut conn = new_conn();
        let events = run(&mut conn, &[(S, &sh)]);
        assert_eq!(kinds(&events), ["SH TLSv1.2 retry=false"]);
        assert_eq!(
            conn.server_hello().and_then(|h| h.alpn.as_deref()),
            Some("http/1.1")
        );
    }

    #[test]
    fn tls12_encrypted_finished_and_alert_are_not_parsed() {
        let c = hex(testdata::TLS12_CLIENT);
        let mut conn = new_conn();
        let events = run(
            &mut conn,
            &[(S, &hex(testdata::TLS12_SERVER_HELLO)), (C, &c)],
        );
        let want = ["SH TLSv1.2 retry=false", "CH Some(\"s3.example.test\")"];
        assert_eq!(kinds(&events), want);
        assert_eq!(conn.app_data(C), AppDataCount::default());
        assert!(!conn.is_lost(C));
    }

    #[test]
    fn hello_retry_request_then_second_client_hello() {
        let (c, s) = (hex(testdata::HRR_CLIENT), hex(testdata::HRR_SERVER));
        let (c, s) = (records(&c), records(&s));
        let mut conn = new_conn();
        let steps = [
            (C, c[0]),
            (S, &s[..2].concat()),
            (C, &c[1..].concat()),
            (S, s[2]),
        ];
        let events = run(&mut conn, &steps);
        let want = [
            "CH Some(\"s3.example.test\")",
            "SH TLSv1.3 retry=true",
            "CH Some(\"s3.example.test\")",
            "SH TLSv1.3 retry=false",
        ];
        assert_eq!(kinds(&events), want);
        assert_eq!(conn.client_hello().map(|h| h.ts), Some(Timestamp(2)));
        assert_eq!(conn.server_hello().map(|h| h.hello_retry), Some(false));
    }

    #[test]
    fn alert_in_clear() {
        let mut conn = new_conn();
        let events = run(&mut conn, &[(S, &hex(testdata::ALERT_SERVER))]);
        assert_eq!(kinds(&events), ["alert 2/70"]);
    }

    #[test]
    fn truncated_hello_inside_a_whole_message_is_an_anomaly() {
        let c = hex(testdata::TLS13_CLIENT);
        let mut rec = records(&c)[0].to_vec();
        rec.truncate(rec.len() - 10);
        let rlen = (rec.len() - 5) as u16;
        rec[3..5].copy_from_slice(&rlen.to_be_bytes());
        let hlen = (rec.len() - 9) as u32;
        rec[6..9].copy_from_slice(&hlen.to_be_bytes()[1..]);
        let mut conn = new_conn();
        let events = run(&mut conn, &[(C, &rec)]);
        assert_eq!(
            kinds(&events),
            ["anomaly BadTls(\"ClientHello: truncated extensions\")"]
        );
        assert!(conn.client_hello().is_none());
    }

    #[test]
    fn hello_cut_by_a_gap_is_dropped_without_anomaly() {
        let c = hex(testdata::TLS13_CLIENT);
        let mut conn = new_conn();
        let mut events = run(&mut conn, &[(C, &c[..100])]);
        conn.on_gap(C);
        conn.on_data(C, Timestamp(9), &c[200..], &mut events);
        assert!(events.is_empty(), "{events:?}");
        assert!(conn.is_lost(C) && !conn.is_lost(S));
    }

    #[test]
    fn garbage_is_one_anomaly_then_ignored() {
        let mut conn = new_conn();
        let events = run(
            &mut conn,
            &[(C, b"GET / HTTP/1.1\r\n"), (C, b"Host: x\r\n\r\n")],
        );
        assert_eq!(
            kinds(&events),
            ["anomaly BadTls(\"record content type 71 is not 20..=24\")"]
        );
        assert!(conn.is_lost(C));
    }

    #[test]
    fn sslv2_compatible_hello_is_reported() {
        let mut conn = new_conn();
        let events = run(
            &mut conn,
            &[(C, &[0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15])],
        );
        let want = ["anomaly BadTls(\"SSLv2-compatible ClientHello is not supported\")"];
        assert_eq!(kinds(&events), want);
    }

    #[test]
    fn hello_over_the_limit_is_skipped_but_framing_goes_on() {
        let limits = ProtoLimits {
            max_handshake_bytes: 100,
            ..ProtoLimits::default()
        };
        let mut conn = TlsConnection::new(&limits);
        let c = hex(testdata::TLS13_CLIENT);
        let events = run(&mut conn, &[(C, &c)]);
        let want = ["anomaly BadTls(\"handshake message type 1 of 327 bytes exceeds the limit\")"];
        assert_eq!(kinds(&events), want);
        assert_eq!(conn.app_data(C).records, 2);
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn never_panics_on_random_bytes(chunks in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..64)), 0..16)) {
                let mut conn = new_conn();
                let mut out = Vec::new();
                for (i, (server, bytes)) in chunks.iter().enumerate() {
                    let dir = if *server { S } else { C };
                    conn.on_data(dir, Timestamp(i as i64), bytes, &mut out);
                }
            }

            #[test]
            fn never_panics_on_mutated_real_hellos(pos in 0usize..440, val in any::<u8>(), cut in 1usize..64) {
                let mut c = hex(testdata::TLS13_CLIENT);
                c[pos] = val;
                let mut conn = new_conn();
                let mut out = Vec::new();
                for chunk in c.chunks(cut) {
                    conn.on_data(C, Timestamp(0), chunk, &mut out);
                }
                conn.on_data(S, Timestamp(1), &hex(testdata::HRR_SERVER), &mut out);
            }
        }
    }
}
