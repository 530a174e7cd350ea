//! Conversation over captured connections and hand-made edge cases.

use super::*;
use crate::proto::http::transcript::{self, Segment};
use crate::proto::{Anomaly, http::HttpExchange};
use Direction::{ClientToServer as C2S, ServerToClient as S2C};

fn replay(segments: &[Segment]) -> (Conversation, Vec<ProtoEvent>) {
    let mut conv = Conversation::new(ProtoLimits::default());
    let mut out = Vec::new();
    for s in segments {
        conv.on_data(s.dir, s.ts, &s.bytes, &mut out);
    }
    conv.on_close(Timestamp(99), &mut out);
    (conv, out)
}

fn detected(events: &[ProtoEvent]) -> Vec<(Direction, Protocol)> {
    events
        .iter()
        .filter_map(|e| match e {
            ProtoEvent::Detected { dir, protocol, .. } => Some((*dir, *protocol)),
            _ => None,
        })
        .collect()
}

fn exchanges(events: &[ProtoEvent]) -> Vec<&HttpExchange> {
    events
        .iter()
        .filter_map(|e| match e {
            ProtoEvent::Http(x) => Some(x.as_ref()),
            _ => None,
        })
        .collect()
}

#[test]
fn plain_http_detected_both_ways() {
    let (conv, events) = replay(&transcript::parse(transcript::KEEPALIVE_TWO_GETS));
    assert_eq!(
        detected(&events),
        [(C2S, Protocol::Http), (S2C, Protocol::Http)]
    );
    assert_eq!(exchanges(&events).len(), 2);
    assert_eq!(conv.protocol(), Some(Protocol::Http));
    assert_eq!(conv.http_stats().responses, 2);
}

#[test]
fn every_split_and_byte_by_byte_give_the_same_events() {
    let whole = transcript::parse(transcript::KEEPALIVE_TWO_GETS);
    let (_, expected) = replay(&whole);
    let bytewise: Vec<Segment> = whole
        .iter()
        .flat_map(|s| {
            s.bytes.iter().map(|b| Segment {
                bytes: vec![*b],
                ..s.clone()
            })
        })
        .collect();
    assert_eq!(replay(&bytewise).1, expected);
    for (i, target) in whole.iter().enumerate() {
        for cut in 1..target.bytes.len() {
            let mut split = whole.clone();
            split[i].bytes.truncate(cut);
            let rest = target.bytes.get(cut..).unwrap_or_default().to_vec();
            split.insert(
                i + 1,
                Segment {
                    bytes: rest,
                    ..target.clone()
                },
            );
            assert_eq!(replay(&split).1, expected, "segment {i} cut at {cut}");
        }
    }
}

#[test]
fn connect_tunnel_then_tls_client_hello() {
    let (conv, events) = replay(&transcript::parse(transcript::CONNECT_TUNNEL_TLS));
    let connect = exchanges(&events)[0];
    assert_eq!(connect.request.method, "CONNECT");
    assert_eq!(connect.response.as_ref().map(|r| r.status), Some(200));
    let tunnel = events.iter().find_map(|e| match e {
        ProtoEvent::Tunnel { target, .. } => Some(target.as_str()),
        _ => None,
    });
    assert_eq!(tunnel, Some("127.0.0.1:18443"));
    assert_eq!(
        detected(&events),
        [
            (C2S, Protocol::Http),
            (S2C, Protocol::Http),
            (C2S, Protocol::Tls),
            (S2C, Protocol::Tls)
        ]
    );
    assert_eq!((conv.protocol(), conv.tunnels()), (Some(Protocol::Tls), 1));
    assert!(conv.tls().is_some());
}

#[test]
fn tls_bytes_pipelined_after_connect_reach_the_tunnel() {
    let mut conv = Conversation::new(ProtoLimits::default());
    let mut out = Vec::new();
    let mut connect = b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n".to_vec();
    connect.extend_from_slice(&[0x16, 0x03, 0x01, 0x00, 0x05]);
    conv.on_data(C2S, Timestamp(0), &connect, &mut out);
    let ok = b"HTTP/1.1 200 OK\r\n\r\n";
    conv.on_data(S2C, Timestamp(1), ok, &mut out);
    assert_eq!(detected(&out).last(), Some(&(C2S, Protocol::Tls)));
    assert_eq!(conv.protocol(), Some(Protocol::Tls));
}

#[test]
fn plain_http_through_a_tunnel() {
    let mut conv = Conversation::new(ProtoLimits::default());
    let mut out = Vec::new();
    conv.on_data(
        C2S,
        Timestamp(0),
        b"CONNECT s3.local:80 HTTP/1.1\r\n\r\n",
        &mut out,
    );
    conv.on_data(
        S2C,
        Timestamp(1),
        b"HTTP/1.1 200 Connection established\r\n\r\n",
        &mut out,
    );
    conv.on_data(
        C2S,
        Timestamp(2),
        b"GET /b/k HTTP/1.1\r\nHost: s3.local\r\n\r\n",
        &mut out,
    );
    conv.on_data(
        S2C,
        Timestamp(3),
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        &mut out,
    );
    conv.on_close(Timestamp(4), &mut out);
    let x = exchanges(&out);
    let targets: Vec<_> = x.iter().map(|x| x.request.target.as_str()).collect();
    assert_eq!(targets, ["s3.local:80", "/b/k"]);
    assert_eq!(x[1].response.as_ref().map(|r| r.status), Some(200));
    assert_eq!(detected(&out).len(), 4);
    assert_eq!((conv.protocol(), conv.tunnels()), (Some(Protocol::Http), 1));
    assert_eq!(conv.http_stats().requests, 2);
}

#[test]
fn plain_http_answered_by_tls_alert() {
    let mut segments = transcript::parse(transcript::PLAIN_HTTP_TO_TLS_PORT);
    // What a TLS 1.2 server sends on plaintext: fatal (2) protocol_version (70), RFC 8446 §6.
    segments.push(Segment {
        dir: S2C,
        ts: Timestamp(5),
        bytes: vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46],
    });
    let (conv, events) = replay(&segments);
    assert_eq!(
        detected(&events),
        [(C2S, Protocol::Http), (S2C, Protocol::Tls)]
    );
    assert!(events.contains(&ProtoEvent::TlsAlert {
        dir: S2C,
        ts: Timestamp(5),
        level: 2,
        description: 70
    }));
    let x = exchanges(&events);
    assert_eq!(x.len(), 1);
    assert_eq!(
        (x[0].request.target.as_str(), x[0].response.is_none()),
        ("/bucket/key", true)
    );
    assert!(conv.answered_with_tls());
}

#[test]
fn mid_connection_start_detected_from_the_server() {
    let mut conv = Conversation::new(ProtoLimits::default());
    let mut out = Vec::new();
    conv.on_gap(C2S, Timestamp(0), 0, &mut out);
    conv.on_data(C2S, Timestamp(1), b"tail of an upload body", &mut out);
    conv.on_data(
        S2C,
        Timestamp(2),
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        &mut out,
    );
    conv.on_data(
        C2S,
        Timestamp(3),
        b"\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n",
        &mut out,
    );
    conv.on_data(
        S2C,
        Timestamp(4),
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        &mut out,
    );
    conv.on_close(Timestamp(5), &mut out);
    assert_eq!(
        detected(&out),
        [(C2S, Protocol::Other), (S2C, Protocol::Http)]
    );
    let x = exchanges(&out);
    assert_eq!(x.len(), 1);
    assert_eq!(x[0].request.target, "/next");
    assert_eq!(x[0].response.as_ref().map(|r| r.status), Some(404));
    assert!(out.iter().any(|e| matches!(
        e,
        ProtoEvent::Anomaly {
            what: Anomaly::UnmatchedResponse,
            ..
        }
    )));
}

#[test]
fn mid_connection_client_sending_more_than_the_hold_bound_is_read_from_its_own_bytes() {
    // A pipelining client met mid-request sends far more than the hold bound before the server
    // first speaks: its whole request lines say HTTP without waiting for the server.
    let limits = ProtoLimits::default();
    let mut conv = Conversation::new(limits);
    let mut out = Vec::new();
    conv.on_gap(C2S, Timestamp(0), 0, &mut out);
    conv.on_data(
        C2S,
        Timestamp(1),
        b"-000001.txt HTTP/1.1\r\nHost: h\r\n\r\n",
        &mut out,
    );
    let mut sent = 0;
    let mut n = 2;
    while sent <= 2 * limits.max_header_bytes {
        let req = format!("GET /obj-{n:06}.txt HTTP/1.1\r\nHost: h\r\n\r\n");
        sent += req.len();
        conv.on_data(C2S, Timestamp(n), req.as_bytes(), &mut out);
        n += 1;
    }
    conv.on_close(Timestamp(n), &mut out);
    let x = exchanges(&out);
    assert_eq!(
        x.len() as i64,
        n - 2,
        "every whole request after the unknown start"
    );
    assert_eq!(x[0].request.target, "/obj-000002.txt");
    assert!(x.iter().all(|e| e.response.is_none()));
}

#[test]
fn a_client_met_mid_stream_without_a_request_line_waits_for_the_server() {
    let mut conv = Conversation::new(ProtoLimits::default());
    let mut out = Vec::new();
    conv.on_gap(C2S, Timestamp(0), 0, &mut out);
    conv.on_data(
        C2S,
        Timestamp(1),
        b"binary\n\x00\x01 not a request line\r\n",
        &mut out,
    );
    conv.on_data(C2S, Timestamp(2), b"\nGET /half-a-line", &mut out);
    assert!(exchanges(&out).is_empty());
    assert!(matches!(conv.layer.mode, Mode::Detecting));
}

#[test]
fn other_protocols_are_ignored_and_counted() {
    let mut conv = Conversation::new(ProtoLimits::default());
    let mut out = Vec::new();
    conv.on_data(S2C, Timestamp(0), b"220 smtp.local ESMTP\r\n", &mut out);
    conv.on_data(C2S, Timestamp(1), b"EHLO me\r\n", &mut out);
    conv.on_data(S2C, Timestamp(2), b"250 ok\r\n", &mut out);
    conv.on_close(Timestamp(3), &mut out);
    assert_eq!(conv.protocol(), Some(Protocol::Other));
    assert_eq!(conv.ignored_bytes(), 22 + 9 + 8);
    assert_eq!(
        detected(&out),
        [(S2C, Protocol::Other), (C2S, Protocol::Other)]
    );
}

#[test]
fn upgrade_ends_http() {
    let mut conv = Conversation::new(ProtoLimits::default());
    let mut out = Vec::new();
    conv.on_data(
        C2S,
        Timestamp(0),
        b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
        &mut out,
    );
    conv.on_data(
        S2C,
        Timestamp(1),
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        &mut out,
    );
    conv.on_data(
        C2S,
        Timestamp(2),
        b"GET /not-http HTTP/1.1\r\n\r\n",
        &mut out,
    );
    conv.on_close(Timestamp(3), &mut out);
    assert_eq!(conv.protocol(), Some(Protocol::Other));
    assert_eq!(exchanges(&out).len(), 1);
}

#[test]
fn decrypted_tls_goes_through_the_http_parser() {
    let (log, errors) = KeyLog::parse(transcript::TLS13_KEYLOG_GET_KEYS);
    assert!(errors.is_empty(), "{errors:?}");
    let mut conv = Conversation::with_keylog(ProtoLimits::default(), Some(Arc::new(log)));
    let mut out = Vec::new();
    for s in transcript::parse(transcript::TLS13_KEYLOG_GET) {
        conv.on_data(s.dir, s.ts, &s.bytes, &mut out);
    }
    conv.on_close(Timestamp(99), &mut out);
    assert_eq!(detected(&out), [(C2S, Protocol::Tls), (S2C, Protocol::Tls)]);
    let x = exchanges(&out);
    assert_eq!(x.len(), 1, "{out:?}");
    assert_eq!(
        (x[0].request.method.as_ref(), x[0].request.target.as_str()),
        ("GET", "/bucket/key.txt")
    );
    assert_eq!(x[0].request.header("user-agent"), Some("curl/7.88.1"));
    let resp = x[0].response.as_ref().unwrap();
    assert_eq!((resp.status, resp.version), (200, 0));
    assert!(
        resp.body_len.is_some_and(|n| n > 1000),
        "{:?}",
        resp.body_len
    );
    assert_eq!(conv.http_stats().requests, 1);
}

#[test]
fn tls_without_keylog_gives_no_exchanges() {
    let (_, out) = replay(&transcript::parse(transcript::TLS13_KEYLOG_GET));
    assert!(exchanges(&out).is_empty());
    assert!(
        out.iter()
            .any(|e| matches!(e, ProtoEvent::ClientHello(h) if h.alpn == ["http/1.1"]))
    );
}

/// Pieces of real HTTP/TLS framing: random sequences of them reach the parser's deeper states
/// (bodies, interim responses, Expect, switches) far more often than random bytes do.
const PIECES: [&[u8]; 16] = [
    b"GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
    b"PUT /b/k HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"HEAD /x HTTP/1.1\r\n\r\n",
    b"CONNECT h:1 HTTP/1.1\r\n\r\n",
    b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"HTTP/1.0 200 OK\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
    b"5;chunk-signature=ab\r\nhello\r\n0\r\nx-amz-checksum-crc32:AA==\r\n\r\n",
    b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",
    b"\x15\x03\x03\x00\x02\x02\x46",
    b"\r\n",
];

proptest::proptest! {
    #[test]
    fn random_bytes_and_chunkings_never_panic(
        ops in proptest::collection::vec(
            (0u8..6, proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)),
            0..48,
        ),
    ) {
        let limits = ProtoLimits {
            max_header_bytes: 256,
            max_pending_requests: 2,
            body_prefix_bytes: 8,
            ..ProtoLimits::default()
        };
        let mut conv = Conversation::new(limits);
        let mut out = Vec::new();
        for (i, (op, bytes)) in ops.iter().enumerate() {
            let ts = Timestamp(i as i64);
            let dir = if op % 2 == 0 { C2S } else { S2C };
            let piece = PIECES[usize::from(bytes.first().copied().unwrap_or(0)) % PIECES.len()];
            match op {
                0 | 1 => conv.on_data(dir, ts, bytes, &mut out),
                2 | 3 => conv.on_data(dir, ts, piece, &mut out),
                _ => conv.on_gap(dir, ts, bytes.len() as u64 % 8, &mut out),
            }
        }
        conv.on_close(Timestamp(1000), &mut out);
        // Every request read is reported exactly once, whatever happened around it.
        proptest::prop_assert_eq!(exchanges(&out).len() as u64, conv.http_stats().requests);
    }
}
