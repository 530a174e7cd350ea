//! Decryption of real curl/OpenSSL conversations with the key logs they wrote
//! (see testdata/decrypt.rs); expected requests are what `curl -v` printed.

use std::sync::Arc;

use super::*;
use crate::proto::tls::testdata::decrypt as td;
use crate::proto::tls::testdata::hex;
use crate::proto::tls::{EarlyDataCount, KeyLog, ResyncCount, TlsConnection};
use crate::proto::{ProtoEvent, ProtoLimits};
use crate::time::Timestamp;
use Direction::{ClientToServer as C, ServerToClient as S};

const RESPONSE: &str = "HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\nhello s3wire\n";

fn request(port: u16) -> String {
    format!(
        "GET /bucket/key.txt HTTP/1.1\r\nHost: s3.example.test:{port}\r\n\
         Accept: */*\r\nUser-Agent: s3wire-test\r\n\r\n"
    )
}

fn with_log(keylog: &str) -> TlsConnection {
    let (log, errors) = KeyLog::parse(keylog);
    assert!(errors.is_empty(), "{errors:?}");
    TlsConnection::with_keylog(&ProtoLimits::default(), Some(Arc::new(log)))
}

/// Length of the first record of a stream.
fn first_record_len(stream: &[u8]) -> usize {
    5 + usize::from(u16::from_be_bytes([stream[3], stream[4]]))
}

/// Feed the ClientHello record, then the server's bytes, then the rest of the client's, in
/// chunks of `chunk` bytes; collect each direction's plaintext.
fn run(
    conn: &mut TlsConnection,
    client: &[u8],
    server: &[u8],
    chunk: usize,
) -> (Vec<Plaintext>, Vec<Plaintext>) {
    let (hello, rest) = client.split_at(first_record_len(client));
    let (mut events, mut cp, mut sp) = (Vec::<ProtoEvent>::new(), Vec::new(), Vec::new());
    for (dir, bytes) in [(C, hello), (S, server), (C, rest)] {
        let plain = if dir == C { &mut cp } else { &mut sp };
        for piece in bytes.chunks(chunk) {
            conn.on_data_plain(dir, Timestamp(0), piece, &mut events, plain);
        }
    }
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ProtoEvent::Anomaly { .. })),
        "{events:?}"
    );
    (cp, sp)
}

fn data(s: &str) -> Vec<Plaintext> {
    vec![Plaintext::Data(s.as_bytes().to_vec())]
}

#[test]
fn tls13_aes128_gcm_both_directions() {
    let mut conn = with_log(td::D13_AES128_KEYLOG);
    let (c, s) = (hex(td::D13_AES128_CLIENT), hex(td::D13_AES128_SERVER));
    let (cp, sp) = run(&mut conn, &c, &s, usize::MAX);
    assert_eq!(cp, data(&request(44341)));
    assert_eq!(sp, data(RESPONSE));
    assert_eq!(conn.decryption(), Decryption::Decrypted);
    // Client: Finished, request, close_notify. Server: EE, Certificate, CertificateVerify,
    // Finished, two NewSessionTickets, response, close_notify.
    let want = DecryptCount {
        records: 3,
        bytes: request(44341).len() as u64,
        failed: 0,
        early_missed: 0,
    };
    assert_eq!(conn.decrypted(C), want);
    assert_eq!(conn.decrypted(S).records, 8);
}

#[test]
fn tls13_byte_by_byte() {
    let mut conn = with_log(td::D13_AES128_KEYLOG);
    let (c, s) = (hex(td::D13_AES128_CLIENT), hex(td::D13_AES128_SERVER));
    let (cp, sp) = run(&mut conn, &c, &s, 1);
    assert_eq!((cp, sp), (data(&request(44341)), data(RESPONSE)));
}

#[test]
fn tls13_aes256_gcm_and_chacha20() {
    let cases = [
        (
            td::D13_AES256_KEYLOG,
            td::D13_AES256_CLIENT,
            td::D13_AES256_SERVER_HELLO,
            44342,
        ),
        (
            td::D13_CHACHA_KEYLOG,
            td::D13_CHACHA_CLIENT,
            td::D13_CHACHA_SERVER_HELLO,
            44343,
        ),
    ];
    for (log, client, sh, port) in cases {
        let mut conn = with_log(log);
        let (cp, _) = run(&mut conn, &hex(client), &hex(sh), usize::MAX);
        assert_eq!(cp, data(&request(port)), "port {port}");
    }
}

#[test]
fn tls13_without_handshake_secrets_finds_the_application_keys() {
    let log: String = td::D13_AES128_KEYLOG
        .lines()
        .filter(|l| !l.contains("HANDSHAKE"))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut conn = with_log(&log);
    let (c, s) = (hex(td::D13_AES128_CLIENT), hex(td::D13_AES128_SERVER));
    let (cp, sp) = run(&mut conn, &c, &s, 7);
    assert_eq!((cp, sp), (data(&request(44341)), data(RESPONSE)));
    assert_eq!(conn.decrypted(C).failed, 0);
}

#[test]
fn tls13_key_update() {
    let mut conn = with_log(td::D13_KEYUPDATE_KEYLOG);
    let c = hex(td::D13_KEYUPDATE_CLIENT);
    let (cp, _) = run(
        &mut conn,
        &c,
        &hex(td::D13_KEYUPDATE_SERVER_HELLO),
        usize::MAX,
    );
    // One piece per record.
    let want = [
        "GET /one HTTP/1.1\r\nHost: s3.example.test\r\n\r\n",
        "PUT /two HTTP/1.1\r\nHost: s3.example.test\r\n\r\n",
    ];
    assert_eq!(cp, [data(want[0]), data(want[1])].concat());
    assert_eq!(conn.decrypted(C).failed, 0);
}

#[test]
fn a_corrupted_record_after_data_is_a_hole() {
    let mut conn = with_log(td::D13_KEYUPDATE_KEYLOG);
    let mut c = hex(td::D13_KEYUPDATE_CLIENT);
    // Records: ClientHello 321, CCS 6, Finished 74, GET 66, KeyUpdate 27, PUT 66, alert 24.
    let put = 321 + 6 + 74 + 66 + 27;
    c[put + 10] ^= 0x01;
    let (cp, _) = run(
        &mut conn,
        &c,
        &hex(td::D13_KEYUPDATE_SERVER_HELLO),
        usize::MAX,
    );
    let get = "GET /one HTTP/1.1\r\nHost: s3.example.test\r\n\r\n";
    let want = vec![Plaintext::Data(get.into()), Plaintext::Gap { records: 1 }];
    assert_eq!(cp, want);
    assert_eq!(conn.decrypted(C).failed, 1);
    assert_eq!(conn.decryption(), Decryption::Decrypted);
}

/// Split a stream into whole records.
fn records(stream: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = stream;
    while rest.len() >= 5 {
        let (r, tail) = rest.split_at(first_record_len(rest).min(rest.len()));
        out.push(r);
        rest = tail;
    }
    out
}

/// A hole's [`Plaintext::Lost`] mark: its direction and the plaintext it was counted to cost.
type Mark = (Direction, Option<u64>);

/// Feed the client's hello, a hole where `client_lost` records of the rest were, then the
/// remaining client records; likewise the server. Each hole is told with its byte count.
/// Returns each direction's plaintext without its [`Plaintext::Lost`] marks, which come apart
/// (direction and the plaintext the hole was counted to have cost).
fn run_with_holes(
    conn: &mut TlsConnection,
    (client, client_lost): (&[u8], std::ops::Range<usize>),
    (server, server_lost): (&[u8], std::ops::Range<usize>),
    chunk: usize,
) -> (Vec<Plaintext>, Vec<Plaintext>, Vec<Mark>) {
    let (mut events, mut cp, mut sp) = (Vec::new(), Vec::new(), Vec::new());
    let (c, s) = (records(client), records(server));
    let steps = [
        (C, c[..1].to_vec(), 0),
        (S, s[..server_lost.start].to_vec(), 0),
        (
            S,
            s[server_lost.end..].to_vec(),
            s[server_lost].concat().len(),
        ),
        (C, c[1..client_lost.start].to_vec(), 0),
        (
            C,
            c[client_lost.end..].to_vec(),
            c[client_lost].concat().len(),
        ),
    ];
    for (dir, recs, hole) in steps {
        let plain = if dir == C { &mut cp } else { &mut sp };
        if hole > 0 {
            conn.on_gap(dir, hole as u64);
        }
        for piece in recs.concat().chunks(chunk) {
            conn.on_data_plain(dir, Timestamp(0), piece, &mut events, plain);
        }
    }
    let mut marks = Vec::new();
    for (dir, plain) in [(C, &mut cp), (S, &mut sp)] {
        plain.retain(|p| match p {
            Plaintext::Lost { bytes } => {
                marks.push((dir, *bytes));
                false
            }
            _ => true,
        });
    }
    (cp, sp, marks)
}

/// Plaintext bytes in whole TLS 1.3 records (a record's body less its tag and inner type).
fn tls13_plaintext_of(recs: &[&[u8]]) -> u64 {
    recs.iter().map(|r| r.len() as u64 - 5 - 17).sum()
}

#[test]
fn after_a_hole_the_next_record_is_found_and_its_sequence_number_proved() {
    // Server records: ServerHello, CCS, EE, Certificate, CertificateVerify, Finished, two
    // NewSessionTickets (application key, sequence 0 and 1), response (2), close_notify.
    let (c, s) = (hex(td::D13_AES128_CLIENT), hex(td::D13_AES128_SERVER));
    assert_eq!(records(&s).len(), 10);
    for chunk in [1, 7, usize::MAX] {
        let mut conn = with_log(td::D13_AES128_KEYLOG);
        // Both tickets lost, and half of the response record's header-less body before them.
        let (cp, sp, marks) = run_with_holes(&mut conn, (&c, 2..2), (&s, 6..8), chunk);
        assert_eq!((&cp, &sp), (&data(&request(44341)), &data(RESPONSE)));
        // The hole came before the server's application phase: records of the handshake key,
        // of unknown plaintext size, could be in it, so its length is not counted.
        assert_eq!(marks, [(S, None)], "chunk {chunk}");
        let want = ResyncCount {
            resynced: 1,
            abandoned: 0,
            tries: 3,
        };
        assert_eq!(conn.resyncs(), want, "chunk {chunk}");
    }
}

#[test]
fn a_hole_in_the_application_phase_is_counted_in_plaintext_bytes() {
    // Server records 8 (the response, sequence 2 of the application key) lost whole; the
    // close_notify (3) opens after it. Tickets 6 and 7 had started the application phase.
    let (c, s) = (hex(td::D13_AES128_CLIENT), hex(td::D13_AES128_SERVER));
    for chunk in [1, 7, usize::MAX] {
        let mut conn = with_log(td::D13_AES128_KEYLOG);
        let (_, sp, marks) = run_with_holes(&mut conn, (&c, 2..2), (&s, 8..9), chunk);
        assert_eq!(sp, vec![]);
        let lost = tls13_plaintext_of(&records(&s)[8..9]);
        assert_eq!(lost, RESPONSE.len() as u64);
        assert_eq!(marks, [(S, Some(lost))], "chunk {chunk}");
    }
}

#[test]
fn a_hole_inside_a_record_counts_the_whole_record_and_checks_its_header() {
    // The response record is cut after its header and 25 body bytes; 20 bytes are lost; the
    // rest of it is searched past. A TCP count that does not fit the cut header is not trusted.
    let (c, s) = (hex(td::D13_AES128_CLIENT), hex(td::D13_AES128_SERVER));
    let recs = records(&s);
    let before: usize = recs[..8].iter().map(|r| r.len()).sum();
    let (cut, lost) = (before + 30, 20);
    for (told, want) in [(20, Some(RESPONSE.len() as u64)), (19, None), (0, None)] {
        let mut conn = with_log(td::D13_AES128_KEYLOG);
        let (mut events, mut cp, mut sp) = (Vec::new(), Vec::new(), Vec::new());
        let (hello, rest) = c.split_at(first_record_len(&c));
        conn.on_data_plain(C, Timestamp(0), hello, &mut events, &mut cp);
        conn.on_data_plain(S, Timestamp(0), &s[..cut], &mut events, &mut sp);
        conn.on_data_plain(C, Timestamp(0), rest, &mut events, &mut cp);
        conn.on_gap(S, told);
        assert!(conn.is_resyncing(S));
        conn.on_data_plain(S, Timestamp(1), &s[cut + lost..], &mut events, &mut sp);
        assert_eq!(sp, [Plaintext::Lost { bytes: want }], "told {told}");
        assert!(!conn.is_resyncing(S));
        assert_eq!(conn.resyncs().resynced, 1);
    }
}

#[test]
fn a_hole_before_the_first_protected_record_is_crossed_too() {
    // TLS 1.2 AES-GCM client: ClientHello, ClientKeyExchange, CCS, Finished (sequence 0),
    // request (1), close_notify (2). The Finished is lost: sequence 0, then 1, are tried
    // (OpenSSL's explicit nonces are not the sequence number).
    let (c, s) = (hex(td::D12_AES128_CLIENT), hex(td::D12_AES128_SERVER));
    let mut conn = with_log(td::D12_AES128_KEYLOG);
    let (cp, sp, marks) = run_with_holes(&mut conn, (&c, 3..4), (&s, 0..0), usize::MAX);
    assert_eq!((cp, sp), (data(&request(44344)), data(RESPONSE)));
    // The Finished record (16 bytes of handshake) less its header, explicit nonce and tag.
    let finished = records(&c)[3].len() as u64 - 5 - 8 - 16;
    assert_eq!((marks, finished), (vec![(C, Some(16))], 16));
    assert_eq!(conn.resyncs().tries, 2);
    // The request and close_notify opened; nothing failed.
    let got = conn.decrypted(C);
    assert_eq!((got.records, got.failed), (2, 0));
}

#[test]
fn junk_after_a_hole_is_searched_past_and_a_hopeless_one_given_up() {
    let (c, s) = (hex(td::D13_AES128_CLIENT), hex(td::D13_AES128_SERVER));
    let mut conn = with_log(td::D13_AES128_KEYLOG);
    let (mut events, mut plain) = (Vec::new(), Vec::new());
    run_with_holes(&mut conn, (&c, 2..2), (&s, 0..0), usize::MAX);
    conn.on_gap(C, 500);
    // The tail of a lost record, holding a header-like run, then no real record at all.
    let mut junk = vec![0x42, 23, 3, 3, 0, 40];
    junk.extend(vec![0x17; 200_000]);
    conn.on_data_plain(C, Timestamp(3), &junk, &mut events, &mut plain);
    assert_eq!(
        plain,
        [Plaintext::Lost { bytes: None }],
        "given up: length unknown"
    );
    let r = conn.resyncs();
    assert_eq!((r.resynced, r.abandoned), (0, 1));
    assert!(r.tries >= 64 && r.tries <= 1024, "{r:?}");
}

#[test]
fn without_keys_a_gap_stops_the_direction() {
    let (c, s) = (hex(td::D13_AES128_CLIENT), hex(td::D13_AES128_SERVER));
    let mut conn = with_log(td::D13_CHACHA_KEYLOG);
    let (cp, _, marks) = run_with_holes(&mut conn, (&c, 2..3), (&s, 0..0), usize::MAX);
    assert_eq!((cp, marks), (vec![], vec![]));
    assert_eq!(conn.resyncs(), ResyncCount::default());
}

#[test]
fn tls12_aes128_gcm_both_directions() {
    let mut conn = with_log(td::D12_AES128_KEYLOG);
    let (c, s) = (hex(td::D12_AES128_CLIENT), hex(td::D12_AES128_SERVER));
    let (cp, sp) = run(&mut conn, &c, &s, 5);
    assert_eq!((cp, sp), (data(&request(44344)), data(RESPONSE)));
    // Finished, request, close_notify each way.
    assert_eq!(conn.decrypted(C).records, 3);
    assert_eq!(conn.decrypted(S).records, 3);
}

#[test]
fn tls12_aes256_gcm_and_chacha20() {
    let cases = [
        (
            td::D12_AES256_KEYLOG,
            td::D12_AES256_CLIENT,
            td::D12_AES256_SERVER_HELLO,
            44345,
        ),
        (
            td::D12_CHACHA_KEYLOG,
            td::D12_CHACHA_CLIENT,
            td::D12_CHACHA_SERVER_HELLO,
            44346,
        ),
    ];
    for (log, client, sh, port) in cases {
        let mut conn = with_log(log);
        let (cp, _) = run(&mut conn, &hex(client), &hex(sh), usize::MAX);
        assert_eq!(cp, data(&request(port)), "port {port}");
    }
}

#[test]
fn why_nothing_was_decrypted() {
    let (c, sh) = (hex(td::D13_AES256_CLIENT), hex(td::D13_AES256_SERVER_HELLO));
    let mut plain_conn = TlsConnection::new(&ProtoLimits::default());
    run(&mut plain_conn, &c, &sh, usize::MAX);
    assert_eq!(plain_conn.decryption(), Decryption::NoKeyLog);

    let mut other_log = with_log(td::D13_CHACHA_KEYLOG);
    assert_eq!(run(&mut other_log, &c, &sh, usize::MAX).0, vec![]);
    assert_eq!(other_log.decryption(), Decryption::NoSecrets);

    let mut no_server_hello = with_log(td::D13_AES256_KEYLOG);
    run(&mut no_server_hello, &c, &[], usize::MAX);
    assert_eq!(no_server_hello.decryption(), Decryption::NoHello);

    // Right client random, wrong secrets: every record fails.
    let wrong: String = td::D13_AES256_KEYLOG
        .lines()
        .map(|l| {
            format!(
                "{}{}\n",
                &l[..l.len() - 1],
                if l.ends_with('0') { '1' } else { '0' }
            )
        })
        .collect();
    let mut bad_keys = with_log(&wrong);
    assert_eq!(run(&mut bad_keys, &c, &sh, usize::MAX).0, vec![]);
    assert_eq!(bad_keys.decryption(), Decryption::Failed);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics_on_mutated_encrypted_streams(
            pos in 0usize..2669, val in any::<u8>(), chunk in 1usize..300
        ) {
            let mut conn = with_log(td::D12_AES128_KEYLOG);
            let (mut c, mut s) = (hex(td::D12_AES128_CLIENT), hex(td::D12_AES128_SERVER));
            match pos.checked_sub(c.len()) {
                None => c[pos] = val,
                Some(p) => if let Some(b) = s.get_mut(p) { *b = val },
            }
            let (mut events, mut plain) = (Vec::new(), Vec::new());
            for (dir, bytes) in [(C, &c), (S, &s)] {
                for piece in bytes.chunks(chunk) {
                    conn.on_data_plain(dir, Timestamp(0), piece, &mut events, &mut plain);
                }
            }
        }
    }
}

/// The GET s_client sent in the 0-RTT captures, early and again.
const ZRTT_GET: &str = "GET /fx-openssl/hello.txt HTTP/1.1\r\nHost: s3.local.test:44380\r\nUser-Agent: openssl-s_client\r\n\r\n";

/// A key log without the server's handshake secret: the server's answer to early data
/// (EncryptedExtensions) cannot be read, only the client's side of it.
fn without_server_handshake(keylog: &str) -> String {
    let lines = keylog
        .lines()
        .filter(|l| !l.starts_with("SERVER_HANDSHAKE"));
    lines.map(|l| format!("{l}\n")).collect()
}

/// What one step of [`zrtt`] gave: the client's plaintext, and the early data released.
type ZrttStep = (Vec<Plaintext>, Option<(Timestamp, Vec<Plaintext>)>);

/// A 0-RTT session: the client's first flight (its first `first` bytes), the server's bytes,
/// then the rest of the client's. Returns the client plaintext of each client step, and the
/// early data released after each step.
fn zrtt(conn: &mut TlsConnection, client: &str, first: usize, server: &str) -> [ZrttStep; 3] {
    let (client, server) = (hex(client), hex(server));
    let (flight, rest) = client.split_at(first);
    let mut events = Vec::new();
    let mut step = |dir, ts, bytes: &[u8]| {
        let mut plain = Vec::new();
        conn.on_data_plain(dir, Timestamp(ts), bytes, &mut events, &mut plain);
        let plain = if dir == C { plain } else { Vec::new() };
        (plain, conn.take_early_plain())
    };
    [step(C, 1, flight), step(S, 2, &server), step(C, 3, rest)]
}

#[test]
fn rejected_early_data_is_dropped_and_the_retry_delivered() {
    for keylog in [
        td::ZRTT_REJECTED_KEYLOG.to_string(),
        // Without the server's EncryptedExtensions, the client's Finished under its handshake
        // key, with no EndOfEarlyData before it, tells the same.
        without_server_handshake(td::ZRTT_REJECTED_KEYLOG),
    ] {
        let mut conn = with_log(&keylog);
        let [flight, server, rest] = zrtt(
            &mut conn,
            td::ZRTT_REJECTED_CLIENT,
            469,
            td::ZRTT_REJECTED_SERVER_FLIGHT,
        );
        assert_eq!(flight, (vec![], None), "held until the server answers");
        assert_eq!(server, (vec![], None));
        assert_eq!(rest, (data(ZRTT_GET), None), "only the retry");
        let want = EarlyDataCount {
            records: 1,
            rejected_records: 1,
            rejected_bytes: ZRTT_GET.len() as u64,
        };
        assert_eq!(conn.early_data(), want);
        assert_eq!(conn.decryption(), Decryption::Decrypted);
    }
}

#[test]
fn accepted_early_data_is_released_by_the_servers_answer() {
    let mut conn = with_log(td::ZRTT_ACCEPTED_KEYLOG);
    let [flight, server, rest] = zrtt(
        &mut conn,
        td::ZRTT_ACCEPTED_CLIENT,
        645,
        td::ZRTT_ACCEPTED_SERVER,
    );
    assert_eq!(flight, (vec![], None));
    // Released while the server's bytes are read, before any response could be: timed as sent.
    assert_eq!(server, (vec![], Some((Timestamp(1), data(ZRTT_GET)))));
    assert_eq!(rest, (vec![], None));
    assert_eq!(conn.early_data().rejected_records, 0);
}

#[test]
fn accepted_early_data_without_the_servers_answer_is_released_by_end_of_early_data() {
    let mut conn = with_log(&without_server_handshake(td::ZRTT_ACCEPTED_KEYLOG));
    let [flight, server, rest] = zrtt(
        &mut conn,
        td::ZRTT_ACCEPTED_CLIENT,
        645,
        td::ZRTT_ACCEPTED_SERVER,
    );
    assert_eq!((flight, server), ((vec![], None), (vec![], None)));
    assert_eq!(rest, (vec![], Some((Timestamp(1), data(ZRTT_GET)))));
    assert_eq!(conn.early_data().records, 1);
}

#[test]
fn early_data_never_answered_is_released_when_the_connection_ends() {
    let mut conn = with_log(td::ZRTT_ACCEPTED_KEYLOG);
    let client = hex(td::ZRTT_ACCEPTED_CLIENT);
    let mut events = Vec::new();
    let mut plain = Vec::new();
    conn.on_data_plain(C, Timestamp(1), &client[..645], &mut events, &mut plain);
    assert_eq!((plain, conn.take_early_plain()), (vec![], None));
    conn.finish_early();
    assert_eq!(
        conn.take_early_plain(),
        Some((Timestamp(1), data(ZRTT_GET)))
    );
}

#[test]
fn after_a_hole_early_data_is_not_judged_rejected_by_the_clients_side() {
    // The hole could have held an EndOfEarlyData: a record failing the early key after it
    // proves nothing. Without the server's answer, the held GET is passed on at the end.
    let mut conn = with_log(&without_server_handshake(td::ZRTT_REJECTED_KEYLOG));
    let (client, server) = (
        hex(td::ZRTT_REJECTED_CLIENT),
        hex(td::ZRTT_REJECTED_SERVER_FLIGHT),
    );
    let (mut events, mut cp, mut sp) = (Vec::new(), Vec::new(), Vec::new());
    conn.on_data_plain(C, Timestamp(1), &client[..469], &mut events, &mut cp);
    conn.on_data_plain(S, Timestamp(2), &server, &mut events, &mut sp);
    conn.on_gap(C, 0);
    // The retry opens the search after the hole; the close_notify after it is a record like
    // any other, not proof of a rejection.
    conn.on_data_plain(C, Timestamp(3), &client[469..], &mut events, &mut cp);
    let mut want = vec![Plaintext::Lost { bytes: None }];
    want.extend(data(ZRTT_GET));
    assert_eq!(cp, want, "a hole of unknown length");
    assert_eq!(conn.early_data().rejected_records, 0);
    conn.finish_early();
    assert_eq!(
        conn.take_early_plain(),
        Some((Timestamp(1), data(ZRTT_GET)))
    );
}
