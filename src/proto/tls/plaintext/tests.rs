//! Decryption of real curl/OpenSSL conversations with the key logs they wrote
//! (see testdata/decrypt.rs); expected requests are what `curl -v` printed.

use std::sync::Arc;

use super::*;
use crate::proto::tls::testdata::decrypt as td;
use crate::proto::tls::testdata::hex;
use crate::proto::tls::{KeyLog, TlsConnection};
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
    let want = "GET /one HTTP/1.1\r\nHost: s3.example.test\r\n\r\n\
                PUT /two HTTP/1.1\r\nHost: s3.example.test\r\n\r\n";
    assert_eq!(cp, data(want));
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

#[test]
fn a_gap_stops_decryption_of_that_direction() {
    let mut conn = with_log(td::D13_AES128_KEYLOG);
    let (c, s) = (hex(td::D13_AES128_CLIENT), hex(td::D13_AES128_SERVER));
    let (mut events, mut plain) = (Vec::new(), Vec::new());
    conn.on_data_plain(C, Timestamp(0), &c[..517], &mut events, &mut plain);
    conn.on_data_plain(S, Timestamp(1), &s, &mut events, &mut plain);
    assert_eq!(plain, data(RESPONSE));
    conn.on_gap(C);
    plain.clear();
    conn.on_data_plain(C, Timestamp(2), &c[517..], &mut events, &mut plain);
    assert_eq!(
        (plain, conn.decrypted(C)),
        (vec![], DecryptCount::default())
    );
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
