//! TlsConnection on real OpenSSL bytes (see testdata.rs), reframed, cut and fuzzed.
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
fn transport_names_sni_and_version_once_negotiated() {
    let (c, s) = (hex(testdata::TLS13_CLIENT), hex(testdata::TLS13_SERVER));
    let mut conn = new_conn();
    run(&mut conn, &[(C, &c)]);
    assert_eq!(conn.transport(), None);
    run(&mut conn, &[(S, &s)]);
    let want = Transport::Tls {
        sni: Some("s3.example.test".into()),
        version: TlsVersion::TLS1_3,
    };
    assert_eq!(conn.transport(), Some(want));
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
    conn.on_gap(C, 0);
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
