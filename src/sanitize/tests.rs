//! The sanitizer end to end: wire events in, a pcapng out, read back through the same engine
//! `analyze` uses.

use super::*;
use crate::app::engine::{Engine, Limits};
use crate::app::records::Fact;
use crate::facts::Request;
use crate::proto::http::{Headers, HttpRequest, HttpResponse};
use crate::proto::tls::TlsVersion;
use crate::source::{FileSource, FrameSource, SourceItem};

const CLIENT: &str = "192.0.2.10:40000";
const SERVER: &str = "192.0.2.20:80";

fn t(ms: i64) -> Timestamp {
    Timestamp(1_767_225_600_000_000_000 + ms * 1_000_000)
}

fn on(conn: u64, event: ConnEvent) -> Wire {
    Wire::Conn {
        conn: ConnId(conn),
        client: CLIENT.parse().unwrap(),
        server: SERVER.parse().unwrap(),
        event,
    }
}

fn exchange(
    at: i64,
    method: &str,
    target: &str,
    req_headers: &[(&str, &str)],
    body: u64,
    interim: Vec<u16>,
    status: Option<u16>,
) -> ConnEvent {
    let response = status.map(|status| HttpResponse {
        ts: t(at + 5),
        status,
        reason: "OK".into(),
        version: 1,
        headers: [("Transfer-Encoding", "chunked")].into_iter().collect(),
        framing_length: None,
        body_len: Some(4096),
        body_prefix: b"object bytes".to_vec(),
    });
    ConnEvent::Exchange(Box::new(HttpExchange {
        request: HttpRequest {
            ts: t(at),
            method: method.to_string().into(),
            target: target.into(),
            version: 1,
            headers: req_headers.iter().copied().collect::<Headers>(),
            body_len: Some(body),
            cut: None,
        },
        interim,
        response: response.map(Box::new),
    }))
}

fn closed(at: i64) -> ConnEvent {
    ConnEvent::Closed {
        ts: t(at),
        reason: CloseReason::Fin,
    }
}

/// The sanitized file's bytes and the facts a fresh analysis of it gives.
fn roundtrip(wires: Vec<Wire>, names: Option<Names>) -> (Vec<u8>, Vec<Fact>) {
    let mut z = Sanitizer::new(Vec::new(), names).unwrap();
    for w in wires {
        z.wire(w).unwrap();
    }
    let (bytes, _) = z.finish().unwrap();
    let mut src =
        FileSource::from_reader("mem".into(), Box::new(io::Cursor::new(bytes.clone()))).unwrap();
    let hints = crate::s3::HostHints::new(["s3.local.test".to_string()]);
    let mut engine = Engine::new(Limits::default_for_tests(), hints);
    let mut facts = Vec::new();
    while let Some(item) = src.next_item().unwrap() {
        if let SourceItem::Frame(f) = item {
            assert_eq!(f.link, LinkType::RAW);
            engine.frame(&f);
            facts.extend(engine.drain());
        }
    }
    engine.close_all();
    facts.extend(engine.drain());
    let (_, _, records) = engine.finish();
    assert_eq!(records.http_anomalies, 0, "the copy parses cleanly");
    (bytes, facts)
}

fn requests(facts: &[Fact]) -> Vec<&Request> {
    facts
        .iter()
        .filter_map(|f| match f {
            Fact::Request(r) => Some(&**r),
            _ => None,
        })
        .collect()
}

#[test]
fn pipelined_exchanges_with_interim_and_chunked_bodies_read_back_in_order() {
    let put = exchange(
        0,
        "PUT",
        "/b/k",
        &[
            ("Host", "s3.local.test"),
            ("Expect", "100-continue"),
            ("Transfer-Encoding", "chunked"),
        ],
        70_000,
        vec![100],
        Some(200),
    );
    let get = exchange(
        10,
        "GET",
        "/b/k",
        &[("Host", "s3.local.test")],
        0,
        vec![],
        Some(200),
    );
    let (bytes, facts) = roundtrip(vec![on(1, put), on(1, get), on(1, closed(20))], None);
    let reqs = requests(&facts);
    let seen: Vec<_> = reqs
        .iter()
        .map(|r| {
            (
                r.method.as_ref(),
                r.target.as_str(),
                r.status,
                r.interim.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("PUT", "/b/k", Some(200), vec![100]),
            ("GET", "/b/k", Some(200), vec![])
        ]
    );
    assert_eq!(reqs[0].operation_name(), Some("PutObject"));
    assert_eq!(reqs[0].time, t(0));
    assert_eq!(reqs[1].response_time, Some(t(15)));
    // The bodies are gone: what is left frames none, and the removed size is said.
    assert_eq!(reqs[0].request_body_bytes, Some(0));
    assert_eq!(reqs[1].response_body_bytes, Some(0));
    assert!(memchr::memmem::find(&bytes, b"X-S3wire-Body-Removed: 70000").is_some());
    assert!(memchr::memmem::find(&bytes, b"object bytes").is_none());
}

#[test]
fn a_tls_alert_answering_plaintext_is_written_after_the_request() {
    // The alert arrives before the exchange completes (at close, without a response).
    let alert = ConnEvent::Alert {
        dir: Direction::ServerToClient,
        ts: t(1),
        level: 2,
        description: 80,
    };
    let req = exchange(0, "GET", "/b", &[("Host", "h")], 0, vec![], None);
    let (bytes, facts) = roundtrip(vec![on(7, alert), on(7, req), on(7, closed(2))], None);
    let at = |needle: &[u8]| memchr::memmem::find(&bytes, needle).expect("written");
    assert!(
        at(b"GET /b HTTP/1.1") < at(&[21, 3, 3, 0, 2, 2, 80]),
        "request, then alert"
    );
    let reqs = requests(&facts);
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].evidence.server_replied_tls);
    assert_eq!(reqs[0].status, None);
}

fn client_hello(sni: &str) -> ConnEvent {
    ConnEvent::ClientHello(Box::new(ClientHello {
        ts: t(0),
        legacy_version: TlsVersion(0x0303),
        supported_versions: vec![TlsVersion(0x0304)],
        random: [5; 32],
        session_id: vec![6; 32],
        cipher_suites: vec![0x1301],
        sni: Some(sni.into()),
        alpn: vec!["http/1.1".into()],
    }))
}

#[test]
fn tls_keeps_its_hellos_only_and_names_map_everywhere() {
    let server_hello = ConnEvent::ServerHello(Box::new(ServerHello {
        ts: t(1),
        legacy_version: TlsVersion(0x0303),
        version: TlsVersion(0x0304),
        random: [7; 32],
        session_id: vec![6; 32],
        cipher_suite: 0x1301,
        alpn: None,
        hello_retry: false,
    }));
    // Decrypted from the session: must not appear in the copy.
    let inside = exchange(2, "GET", "/secret-bucket/k", &[], 0, vec![], Some(200));
    let names = Names::new(["s3.local.test"]);
    let wires = vec![
        on(3, client_hello("s3.local.test")),
        on(3, server_hello),
        on(3, inside),
        on(3, closed(3)),
    ];
    let (bytes, facts) = roundtrip(wires, Some(names));
    assert!(requests(&facts).is_empty());
    assert!(memchr::memmem::find(&bytes, b"secret-bucket").is_none());
    assert!(memchr::memmem::find(&bytes, b"s3.local.test").is_none());
    let hello = facts.iter().find_map(|f| match f {
        Fact::Hello(h) => Some(h),
        _ => None,
    });
    let hello = hello.expect("a ClientHello fact");
    assert_eq!(hello.sni.as_deref(), Some("host1.example"));
    assert_eq!(hello.client.to_string(), "10.0.0.1:40000");
    assert_eq!(hello.server.to_string(), "10.0.0.2:80");
    let session = facts.iter().find_map(|f| match f {
        Fact::Session(s) => Some(s),
        _ => None,
    });
    assert_eq!(session.map(|s| s.version.as_str()), Some("TLSv1.3"));
}

#[test]
fn refused_attempt_reads_back_as_refused_with_its_syns() {
    let w = Wire::Attempt {
        ts: t(0),
        client: CLIENT.parse().unwrap(),
        server: SERVER.parse().unwrap(),
        outcome: AttemptOutcome::Refused,
        syns: 2,
    };
    let (_, facts) = roundtrip(vec![w], None);
    let attempts: Vec<_> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::Attempt(a) => Some((a.time, a.outcome, a.syns)),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, vec![(t(0), AttemptOutcome::Refused, 2)]);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn header() -> impl Strategy<Value = (String, String)> {
        // Visible ASCII and obs-text, as a head may carry; no leading or trailing space
        // (httparse trims it, so it would not survive the round trip anyway).
        let value = "[!-~]([ -~\u{80}-\u{ff}]{0,30}[!-~])?";
        let named = |n: &'static str| (Just(n.to_string()), value);
        prop_oneof![
            named("Authorization"),
            named("Cookie"),
            named("Location"),
            named("X-Forwarded-For"),
            named("Expect"),
            (Just("Content-Length".to_string()), "[0-9]{1,6}"),
            (
                Just("Transfer-Encoding".to_string()),
                "(chunked|gzip, chunked)"
            ),
            ("[A-Za-z][A-Za-z0-9-]{0,12}", value),
        ]
    }

    proptest! {
        /// Whatever an exchange holds, the sanitizer writes packets s3wire reads back into
        /// the same request line and status, without panicking, with or without placeholders.
        #[test]
        fn any_exchange_reads_back_as_the_same_request(
            method in "(GET|PUT|POST|HEAD|DELETE|[A-Z]{1,8})",
            target in "/[!-~]{0,60}",
            headers in proptest::collection::vec(header(), 0..8),
            body in proptest::option::of(0u64..1 << 40),
            status in 200u16..600,
            interim in proptest::collection::vec(100u16..200, 0..3),
            map in any::<bool>(),
        ) {
            // Two framings of one body are malformed before any sanitizing (RFC 9112 §6.3).
            let count = |n: &str| headers.iter().filter(|(h, _)| h.eq_ignore_ascii_case(n)).count();
            prop_assume!(count("content-length") <= 1 && count("transfer-encoding") <= 1);
            let host = [("Host".to_string(), "s3.local.test".to_string())];
            let fields: Vec<(&str, &str)> =
                host.iter().chain(&headers).map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let interim: Vec<u16> = interim.into_iter().filter(|s| *s != 101).collect();
            let ex = exchange(0, &method, &target, &fields, body.unwrap_or(0), interim.clone(), Some(status));
            let names = map.then(|| Names::new(["s3.local.test"]));
            let (_, facts) = roundtrip(vec![on(1, ex), on(1, closed(9))], names);
            let reqs = requests(&facts);
            prop_assert_eq!(reqs.len(), 1);
            prop_assert_eq!(&reqs[0].method, &method);
            prop_assert_eq!(reqs[0].status, Some(status));
            prop_assert_eq!(&reqs[0].interim, &interim);
        }
    }
}
