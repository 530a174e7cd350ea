//! HttpConnection on gaps, resync, bounds, protocol switches and malformed input.

use super::tests::{CLOSE_TS, anomalies, exchanges, run, run_with, s, seg, summary};
use super::*;
use crate::flow::Direction::{ClientToServer as C2S, ServerToClient as S2C};
use crate::proto::{Anomaly, ProtoEvent, ProtoLimits};

/// A connection met mid-way: both directions start with a gap of unknown length.
fn met_mid_connection() -> (HttpConnection, Vec<ProtoEvent>) {
    let mut conn = HttpConnection::new(&ProtoLimits::default());
    let mut out = Vec::new();
    conn.on_gap(C2S, Timestamp(0), 0, &mut out);
    conn.on_gap(S2C, Timestamp(0), 0, &mut out);
    (conn, out)
}

#[test]
fn gap_inside_a_body_shortens_it() {
    let limits = ProtoLimits::default();
    let mut conn = HttpConnection::new(&limits);
    let mut out = Vec::new();
    conn.on_data(
        C2S,
        Timestamp(0),
        b"PUT /b/k HTTP/1.1\r\nContent-Length: 10\r\n\r\n012",
        &mut out,
    );
    conn.on_gap(C2S, Timestamp(1), 4, &mut out);
    conn.on_data(C2S, Timestamp(2), b"789GET /n HTTP/1.1\r\n\r\n", &mut out);
    conn.on_data(
        S2C,
        Timestamp(3),
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n01",
        &mut out,
    );
    conn.on_gap(S2C, Timestamp(4), 1, &mut out);
    conn.on_data(
        S2C,
        Timestamp(5),
        b"3HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        &mut out,
    );
    conn.on_close(CLOSE_TS, &mut out);
    assert_eq!(
        summary(&out),
        [
            s("PUT", "/b/k", None, Some(200), None),
            s("GET", "/n", Some(0), Some(404), Some(0))
        ]
    );
    assert!(!conn.pairing_lost());
}

#[test]
fn gap_in_a_request_head_resyncs_and_drops_pairing() {
    let mut conn = HttpConnection::new(&ProtoLimits::default());
    let mut out = Vec::new();
    conn.on_data(
        C2S,
        Timestamp(0),
        b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /lost HT",
        &mut out,
    );
    conn.on_gap(C2S, Timestamp(1), 30, &mut out);
    conn.on_data(
        C2S,
        Timestamp(2),
        b"ent: x\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n",
        &mut out,
    );
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for ts in 3..6 {
        conn.on_data(S2C, Timestamp(ts), ok, &mut out);
    }
    conn.on_close(CLOSE_TS, &mut out);
    // /a is answered by the first response, the cut /lost by the next; after the hole nobody
    // knows which response is /c's.
    assert_eq!(
        summary(&out),
        [
            s("GET", "/a", Some(0), Some(200), Some(0)),
            s("GET", "/lost", None, Some(200), Some(0)),
            s("GET", "/c", Some(0), None, None)
        ]
    );
    assert!(anomalies(&out).contains(&&Anomaly::Resynced { skipped: 10 }));
    let stats = conn.stats();
    assert_eq!((stats.lost_requests, stats.cut_requests), (0, 1));
    assert_eq!(stats.unmatched_responses, 1);
    assert!(conn.pairing_lost());
}

#[test]
fn gap_in_a_response_head_resyncs_on_status_line() {
    let mut conn = HttpConnection::new(&ProtoLimits::default());
    let mut out = Vec::new();
    conn.on_data(
        C2S,
        Timestamp(0),
        b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
        &mut out,
    );
    conn.on_data(
        S2C,
        Timestamp(1),
        b"HTTP/1.1 200 OK\r\nContent-Le",
        &mut out,
    );
    conn.on_gap(S2C, Timestamp(2), 100, &mut out);
    conn.on_data(
        S2C,
        Timestamp(3),
        b"xx\r\nHTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n",
        &mut out,
    );
    conn.on_close(CLOSE_TS, &mut out);
    // The cut head still shows /a's status; its body length is unknown. /b is the only request
    // left unanswered, so the first response after the hole is its own.
    assert_eq!(
        summary(&out),
        [
            s("GET", "/a", Some(0), Some(200), None),
            s("GET", "/b", Some(0), Some(500), Some(0))
        ]
    );
    assert!(anomalies(&out).contains(&&Anomaly::Resynced { skipped: 4 }));
    assert_eq!(conn.stats().lost_responses, 0);
    assert!(!conn.pairing_lost());
}

#[test]
fn mid_connection_start_response_without_request() {
    let (mut conn, mut out) = met_mid_connection();
    conn.on_data(
        S2C,
        Timestamp(1),
        b"ody tail\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        &mut out,
    );
    conn.on_data(C2S, Timestamp(2), b"GET /next HTTP/1.1\r\n\r\n", &mut out);
    conn.on_data(
        S2C,
        Timestamp(3),
        b"HTTP/1.1 204 No Content\r\n\r\n",
        &mut out,
    );
    conn.on_close(CLOSE_TS, &mut out);
    assert_eq!(
        summary(&out),
        [s("GET", "/next", Some(0), Some(204), Some(0))]
    );
    assert_eq!(
        anomalies(&out),
        [
            &Anomaly::Resynced { skipped: 10 },
            &Anomaly::UnmatchedResponse
        ]
    );
    assert!(!conn.pairing_lost());
}

#[test]
fn header_block_too_large_is_skipped() {
    let limits = ProtoLimits {
        max_header_bytes: 64,
        ..ProtoLimits::default()
    };
    let mut big = b"GET /big HTTP/1.1\r\nX-Pad: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 100));
    big.extend_from_slice(b"\r\n\r\nGET /small HTTP/1.1\r\n\r\n");
    let events = run_with(
        limits,
        &[
            seg(C2S, 0, &big),
            seg(
                S2C,
                1,
                b"HTTP/1.1 431 Too Large\r\nContent-Length: 0\r\n\r\n",
            ),
            seg(S2C, 2, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ],
    );
    assert_eq!(anomalies(&events)[0], &Anomaly::HeaderTooLarge);
    // The unreadable request's response (431) is absorbed; /small keeps its own.
    assert_eq!(
        summary(&events),
        [s("GET", "/small", Some(0), Some(200), Some(0))]
    );
}

#[test]
fn pending_bound_reports_oldest_without_mispairing() {
    let limits = ProtoLimits {
        max_pending_requests: 2,
        ..super::tests::every_body()
    };
    let ok = |n: &str| format!("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n{n}");
    let events = run_with(
        limits,
        &[
            seg(
                C2S,
                0,
                b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n",
            ),
            seg(
                S2C,
                1,
                format!("{}{}{}", ok("1"), ok("2"), ok("3")).as_bytes(),
            ),
        ],
    );
    assert_eq!(anomalies(&events), [&Anomaly::TooManyPending]);
    let bodies: Vec<_> = exchanges(&events)
        .iter()
        .map(|x| {
            (
                x.request.target.clone(),
                x.response.as_ref().map(|r| r.body_prefix.clone()),
            )
        })
        .collect();
    assert_eq!(
        bodies,
        [
            ("/1".to_string(), None),
            ("/2".to_string(), Some(b"2".to_vec())),
            ("/3".to_string(), Some(b"3".to_vec()))
        ]
    );
}

#[test]
fn nginx_plain_http_to_https_port_keeps_error_text() {
    let events = run(&[
        seg(C2S, 0, b"GET /bucket/key HTTP/1.1\r\nHost: s3.local:443\r\n\r\n"),
        seg(S2C, 1, b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 62\r\nConnection: close\r\n\r\n<head><title>400 The plain HTTP request was sent to HTTPS port"),
    ]);
    let resp = exchanges(&events)[0].response.clone().unwrap();
    assert_eq!((resp.status, resp.body_len), (400, Some(62)));
    assert!(
        String::from_utf8_lossy(&resp.body_prefix)
            .contains("plain HTTP request was sent to HTTPS port")
    );
}

#[test]
fn upgrade_101_stops_http() {
    let mut conn = HttpConnection::new(&ProtoLimits::default());
    let mut out = Vec::new();
    let req = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello";
    conn.on_data(C2S, Timestamp(0), req, &mut out);
    conn.on_data(
        S2C,
        Timestamp(1),
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi",
        &mut out,
    );
    assert_eq!(
        summary(&out),
        [s("GET", "/ws", Some(0), Some(101), Some(0))]
    );
    let handoff = conn.take_handoff().unwrap();
    assert_eq!(handoff.switch, Switch::Upgrade);
    assert_eq!(
        (
            handoff.client_bytes.as_slice(),
            handoff.server_bytes.as_slice()
        ),
        (&b"\x81\x05hello"[..], &b"\x81\x02hi"[..])
    );
    assert!(conn.is_stopped());
}

#[test]
fn connect_refused_releases_held_requests() {
    let events = run(&[
        seg(C2S, 0, b"CONNECT s3.amazonaws.com:443 HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n"),
        seg(S2C, 1, b"HTTP/1.1 407 Proxy Auth Required\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ]);
    assert_eq!(
        summary(&events),
        [
            s(
                "CONNECT",
                "s3.amazonaws.com:443",
                Some(0),
                Some(407),
                Some(0)
            ),
            s("GET", "/x", Some(0), Some(200), Some(0))
        ]
    );
}

#[test]
fn malformed_and_garbage_input_does_not_panic() {
    let inputs: [&[u8]; 6] = [
        b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        b"\x00\xff\r\n\r\n\r\n\n\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
    ];
    for input in inputs {
        let events = run(&[seg(C2S, 0, input), seg(S2C, 1, input)]);
        assert!(
            !anomalies(&events).is_empty(),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn unanswered_upgrade_request_does_not_swallow_later_requests() {
    // Only the client side was captured: curl's h2c upgrade offer, then another request.
    let events = run(&[seg(
        C2S,
        0,
        b"GET /a HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
    )]);
    assert_eq!(
        summary(&events),
        [
            s("GET", "/a", Some(0), None, None),
            s("GET", "/b", Some(0), None, None)
        ]
    );
}

/// Pipelining far deeper than the bound: the oldest requests are reported unanswered, their
/// responses absorbed in order, and the newest ones keep their own responses (no desync).
#[test]
fn pipelining_deeper_than_the_bound_still_pairs_the_newest() {
    let limits = ProtoLimits {
        max_pending_requests: 4,
        ..ProtoLimits::default()
    };
    // Within the orphan bound (8 per held request): 30 requests, 4 held.
    let n = 30;
    let requests: String = (0..n)
        .map(|i| format!("GET /{i} HTTP/1.1\r\n\r\n"))
        .collect();
    let responses: String = (0..n)
        .map(|i| format!("HTTP/1.1 {} OK\r\nContent-Length: 0\r\n\r\n", 200 + i))
        .collect();
    let events = run_with(
        limits,
        &[
            seg(C2S, 0, requests.as_bytes()),
            seg(S2C, 1, responses.as_bytes()),
        ],
    );
    let got: Vec<(String, Option<u16>)> = exchanges(&events)
        .iter()
        .map(|x| {
            (
                x.request.target.clone(),
                x.response.as_ref().map(|r| r.status),
            )
        })
        .collect();
    let want: Vec<(String, Option<u16>)> = (0..n)
        .map(|i| (format!("/{i}"), (i >= n - 4).then(|| 200 + i as u16)))
        .collect();
    assert_eq!(got, want);
    assert_eq!(anomalies(&events).len(), n - 4);
}

/// A client that waits for each response (boto3, curl) and a server-side hole holding two
/// whole responses: the requests sent meanwhile are answered inside the hole, so the first
/// response after it is the newest request's, and pairing goes on in order.
#[test]
fn after_a_server_hole_a_waiting_client_pairs_again() {
    let mut conn = HttpConnection::new(&ProtoLimits::default());
    let mut out = Vec::new();
    let ok = |status: &str| format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\n\r\nhi");
    conn.on_data(C2S, Timestamp(0), b"GET /a HTTP/1.1\r\n\r\n", &mut out);
    conn.on_data(S2C, Timestamp(1), ok("200 OK").as_bytes(), &mut out);
    conn.on_data(C2S, Timestamp(2), b"GET /b HTTP/1.1\r\n\r\n", &mut out);
    conn.on_gap(S2C, Timestamp(3), 0, &mut out);
    conn.on_data(C2S, Timestamp(4), b"GET /c HTTP/1.1\r\n\r\n", &mut out);
    conn.on_gap(S2C, Timestamp(5), 0, &mut out);
    conn.on_data(C2S, Timestamp(6), b"PUT /d HTTP/1.1\r\n\r\n", &mut out);
    conn.on_data(S2C, Timestamp(7), ok("201 Created").as_bytes(), &mut out);
    conn.on_data(C2S, Timestamp(8), b"DELETE /e HTTP/1.1\r\n\r\n", &mut out);
    conn.on_data(
        S2C,
        Timestamp(9),
        b"HTTP/1.1 204 No Content\r\n\r\n",
        &mut out,
    );
    conn.on_close(CLOSE_TS, &mut out);
    assert_eq!(
        summary(&out),
        [
            s("GET", "/a", Some(0), Some(200), Some(2)),
            s("GET", "/b", Some(0), None, None),
            s("GET", "/c", Some(0), None, None),
            s("PUT", "/d", Some(0), Some(201), Some(2)),
            s("DELETE", "/e", Some(0), Some(204), Some(0)),
        ]
    );
    assert!(!conn.pairing_lost());
    assert_eq!(conn.stats().unmatched_responses, 0);
}

/// A pipelining client and a server-side hole: how many responses the hole held is unknown
/// when more than one request waits, so pairing stops and the response counts as unmatched.
#[test]
fn after_a_server_hole_a_pipelining_client_is_not_guessed() {
    let mut conn = HttpConnection::new(&ProtoLimits::default());
    let mut out = Vec::new();
    let pipelined = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
    conn.on_data(C2S, Timestamp(0), pipelined, &mut out);
    conn.on_data(
        S2C,
        Timestamp(1),
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        &mut out,
    );
    conn.on_gap(S2C, Timestamp(2), 0, &mut out);
    conn.on_data(
        S2C,
        Timestamp(3),
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        &mut out,
    );
    conn.on_close(CLOSE_TS, &mut out);
    assert_eq!(
        summary(&out),
        [
            s("GET", "/a", Some(0), Some(200), Some(0)),
            s("GET", "/b", Some(0), None, None),
            s("GET", "/c", Some(0), None, None),
        ]
    );
    assert!(conn.pairing_lost());
    assert_eq!(conn.stats().unmatched_responses, 1);
}

/// A capture that starts just after a HEAD request: its answer says `Content-Length: 307200`
/// but has no body. Read by that length it would swallow the next response and leave every
/// later request unpaired; the status line right after its head shows it had none.
#[test]
fn mid_connection_start_after_a_head_does_not_swallow_the_next_response() {
    let (mut conn, mut out) = met_mid_connection();
    let head_answer = b"HTTP/1.1 200 OK\r\nContent-Length: 307200\r\n\r\n";
    conn.on_data(S2C, Timestamp(1), head_answer, &mut out);
    conn.on_data(C2S, Timestamp(2), b"HEAD /b HTTP/1.1\r\n\r\n", &mut out);
    conn.on_data(
        S2C,
        Timestamp(3),
        b"HTTP/1.1 200 OK\r\nContent-Length: 505\r\n\r\n",
        &mut out,
    );
    conn.on_data(C2S, Timestamp(4), b"GET /c HTTP/1.1\r\n\r\n", &mut out);
    conn.on_data(
        S2C,
        Timestamp(5),
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno",
        &mut out,
    );
    conn.on_close(CLOSE_TS, &mut out);
    assert_eq!(
        summary(&out),
        [
            s("HEAD", "/b", Some(0), Some(200), Some(0)),
            s("GET", "/c", Some(0), Some(404), Some(2)),
        ]
    );
    assert_eq!(anomalies(&out), [&Anomaly::UnmatchedResponse]);
    assert!(!conn.pairing_lost());
}

/// The same answer to an unknown request with a real body is still read by its length, even
/// when a status line appears inside the body (only its first bytes decide).
#[test]
fn mid_connection_start_response_body_is_read_by_its_length() {
    let (mut conn, mut out) = met_mid_connection();
    conn.on_data(
        S2C,
        Timestamp(1),
        b"HTTP/1.1 200 OK\r\nContent-Length: 24\r\n\r\n",
        &mut out,
    );
    conn.on_data(
        S2C,
        Timestamp(1),
        b"x\nHTTP/1.1 204 OK\r\n\r\nyyy",
        &mut out,
    );
    conn.on_data(C2S, Timestamp(2), b"GET /c HTTP/1.1\r\n\r\n", &mut out);
    conn.on_data(
        S2C,
        Timestamp(3),
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        &mut out,
    );
    conn.on_close(CLOSE_TS, &mut out);
    assert_eq!(summary(&out), [s("GET", "/c", Some(0), Some(200), Some(2))]);
    assert_eq!(anomalies(&out), [&Anomaly::UnmatchedResponse]);
}

/// A capture that starts after a pipelining client sent requests still unanswered: the first
/// response comes while two seen requests wait, and it may answer one sent before the capture.
/// Both are reported without a response rather than with another request's.
#[test]
fn mid_connection_start_behind_pipelined_requests_pairs_no_response() {
    let (mut conn, mut out) = met_mid_connection();
    conn.on_data(
        C2S,
        Timestamp(1),
        b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
        &mut out,
    );
    for (ts, body) in [(2, "lost"), (3, "a"), (4, "b")] {
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        conn.on_data(S2C, Timestamp(ts), response.as_bytes(), &mut out);
    }
    conn.on_close(CLOSE_TS, &mut out);
    assert_eq!(
        summary(&out),
        [
            s("GET", "/a", Some(0), None, None),
            s("GET", "/b", Some(0), None, None),
        ]
    );
    assert!(conn.pairing_lost());
}

/// The same start with one request waiting at the first response: a client that does not
/// pipeline sent it after every earlier answer, so the pairing holds.
#[test]
fn mid_connection_start_with_one_waiting_request_pairs_it() {
    let (mut conn, mut out) = met_mid_connection();
    conn.on_data(C2S, Timestamp(1), b"GET /a HTTP/1.1\r\n\r\n", &mut out);
    conn.on_data(
        S2C,
        Timestamp(2),
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
        &mut out,
    );
    conn.on_data(
        C2S,
        Timestamp(3),
        b"GET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n",
        &mut out,
    );
    conn.on_data(
        S2C,
        Timestamp(4),
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        &mut out,
    );
    conn.on_data(
        S2C,
        Timestamp(5),
        b"HTTP/1.1 204 No Content\r\n\r\n",
        &mut out,
    );
    conn.on_close(CLOSE_TS, &mut out);
    assert_eq!(
        summary(&out),
        [
            s("GET", "/a", Some(0), Some(200), Some(1)),
            s("GET", "/b", Some(0), Some(404), Some(0)),
            s("GET", "/c", Some(0), Some(204), Some(0)),
        ]
    );
    assert!(!conn.pairing_lost());
}

/// Lookups through the name index give what a search over the fields gives: indexed and other
/// names, in any case, repeated, absent; for fields pushed one by one and for fields found in a
/// head's own text.
mod header_index {
    use super::super::{Field, Headers};
    use proptest::prelude::*;

    fn name() -> impl Strategy<Value = String> {
        let indexed = (0..Field::ALL.len(), any::<u32>()).prop_map(|(i, case)| {
            Field::ALL[i]
                .name()
                .chars()
                .enumerate()
                .map(|(k, c)| match case >> (k % 32) & 1 {
                    1 => c.to_ascii_uppercase(),
                    _ => c,
                })
                .collect()
        });
        prop_oneof![indexed, "[a-z-]{1,21}"]
    }

    fn searched<'h>(h: &'h Headers, name: &str) -> Option<&'h str> {
        h.iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value)
    }

    proptest! {
        #[test]
        fn indexed_lookups_are_the_search(
            fields in proptest::collection::vec((name(), "[ -~]{0,8}"), 0..12),
            asked in proptest::collection::vec(name(), 1..6),
        ) {
            let pushed: Headers = fields.iter().cloned().collect();
            let head: String = fields.iter().map(|(n, v)| format!("{n}:{v}\r\n")).collect();
            let mut at = 0;
            let spans: Vec<(&[u8], &[u8])> = fields
                .iter()
                .map(|(n, v)| {
                    let name = &head.as_bytes()[at..at + n.len()];
                    let value = &head.as_bytes()[at + n.len() + 1..at + n.len() + 1 + v.len()];
                    at += n.len() + v.len() + 3;
                    (name, value)
                })
                .collect();
            let within = Headers::within(head.as_bytes(), spans.into_iter()).expect("fields lie in the head");
            for h in [&pushed, &within] {
                let all: Vec<String> = Field::ALL.iter().map(|f| f.name().to_string()).collect();
                for name in asked.iter().chain(&all) {
                    prop_assert_eq!(h.get(name), searched(h, name), "{}", name);
                    let repeats = h.iter().filter(|f| f.name.eq_ignore_ascii_case(name)).count() > 1;
                    if let Some(&f) = Field::ALL.iter().find(|f| f.name().eq_ignore_ascii_case(name)) {
                        prop_assert_eq!(h.at_most_once(f), !repeats, "{}", name);
                        prop_assert_eq!(h.field(f), searched(h, name), "{}", name);
                    }
                }
            }
        }
    }
}

/// Each indexed name is known in any case, and a name one byte off is not: every byte of it
/// changed to each other byte (so a word that missed a byte, or a fold that took `-` for `\r`,
/// would be seen).
#[test]
fn a_field_name_is_known_exactly() {
    use super::Field;
    for f in Field::ALL {
        let name = f.name().as_bytes();
        assert_eq!(Field::of(name), Some(f));
        assert_eq!(Field::of(f.name().to_ascii_uppercase().as_bytes()), Some(f));
        for at in 0..name.len() {
            for b in 0..=u8::MAX {
                let mut other = name.to_vec();
                other[at] = b;
                let same = other.eq_ignore_ascii_case(name);
                assert_eq!(
                    Field::of(&other),
                    same.then_some(f),
                    "{:?}",
                    String::from_utf8_lossy(&other)
                );
            }
        }
    }
}

/// A field first seen past what a byte of the index holds is searched for, and still found.
#[test]
fn a_field_past_the_index_is_found() {
    use super::{Field, Headers};
    for at in [252, 253, 254, 255, 300] {
        let mut h = Headers::default();
        for i in 0..at {
            h.push(&format!("x-f{i}"), "v");
        }
        h.push("HOST", "far");
        h.push("host", "second");
        assert_eq!(h.field(Field::Host), Some("far"), "{at}");
        assert_eq!(h.get("Host"), Some("far"), "{at}");
        assert!(!h.at_most_once(Field::Host));
        assert_eq!(h.field(Field::Location), None);
    }
}

/// The bulk ASCII check sees a byte with its high bit set wherever it lies (in the 32-byte
/// steps, in the overlapping last step, in a text shorter than a step), and only then.
#[test]
fn a_non_ascii_byte_is_seen_anywhere() {
    use super::is_ascii;
    for len in 0..100 {
        let text = vec![b'a'; len];
        assert!(is_ascii(&text), "{len}");
        for at in 0..len {
            for b in [0x80, 0xc3, 0xff] {
                let mut odd = text.clone();
                odd[at] = b;
                assert!(!is_ascii(&odd), "{len} {at}");
            }
        }
    }
}

/// Fields kept by position: in ASCII text, in UTF-8 text (a field must lie on character
/// boundaries), never in text that is not UTF-8 or for a field outside the text.
#[test]
fn fields_are_kept_in_place_only_when_they_lie_in_text() {
    use super::Headers;
    let head = "Host: h\r\nX-Caf\u{e9}: caf\u{e9}\r\n".as_bytes();
    let field = |at: usize, len: usize| &head[at..at + len];
    let fields = [(field(0, 4), field(6, 1)), (field(9, 7), field(18, 5))];
    let h = Headers::within(head, fields.into_iter()).expect("UTF-8 head");
    let kept: Vec<_> = h.iter().map(|f| (f.name, f.value)).collect();
    assert_eq!(kept, [("Host", "h"), ("X-Caf\u{e9}", "caf\u{e9}")]);
    assert_eq!(h.get("host"), Some("h"));
    // A value cut inside `é`.
    let cut = [(field(0, 4), field(18, 4))];
    assert!(Headers::within(head, cut.into_iter()).is_none());
    // A field outside the text it is said to lie in.
    let elsewhere = b"Host: h".to_vec();
    let outside = [(&elsewhere[..4], &elsewhere[6..])];
    assert!(Headers::within(head, outside.into_iter()).is_none());
    assert!(Headers::within(&head[..20], fields.into_iter()).is_none());
    // Not UTF-8.
    let raw = b"X-A: \xff\r\n";
    assert!(Headers::within(raw, [(&raw[..3], &raw[5..6])].into_iter()).is_none());
    // No fields at all.
    assert!(Headers::within(&[], std::iter::empty()).is_some_and(|h| h.is_empty()));
}

/// A Content-Length body that arrives with its head is read at once, and that reads what the
/// body reader reads when the body comes in pieces: lengths, an error document's first bytes
/// (fewer kept than the body has), bodies after a non-switching answer to CONNECT that held the
/// client's next request, a response to an unread request, and a HEAD's.
#[test]
fn a_body_read_with_its_head_is_the_body_read_in_pieces() {
    let limits = ProtoLimits {
        body_prefix_bytes: 4,
        ..ProtoLimits::default()
    };
    let client = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n\
                   GET /b HTTP/1.1\r\nHost: h\r\n\r\n\
                   HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n\
                   GET / HTTP/9.9\r\n\r\n\
                   CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n\
                   GET /d HTTP/1.1\r\nHost: h\r\n\r\n";
    let server = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789\
                   HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found!\
                   HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n\
                   HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad\
                   HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 5\r\n\r\nauth!\
                   HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nd";
    let whole = [seg(C2S, 1, client), seg(S2C, 2, server)];
    let expected = run_with(limits, &whole);
    let statuses: Vec<_> = exchanges(&expected)
        .iter()
        .map(|x| {
            let r = x.response.as_ref().expect("answered");
            (
                x.request.target.clone(),
                r.status,
                r.body_len,
                r.body_prefix.clone(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("/a".to_string(), 200, Some(10), Vec::new()),
            ("/b".to_string(), 404, Some(10), b"not ".to_vec()),
            ("/c".to_string(), 200, Some(0), Vec::new()),
            ("h:443".to_string(), 407, Some(5), b"auth".to_vec()),
            ("/d".to_string(), 200, Some(1), Vec::new()),
        ]
    );
    for cut in 1..server.len() {
        let (a, b) = server.split_at(cut);
        let split = [seg(C2S, 1, client), seg(S2C, 2, a), seg(S2C, 2, b)];
        assert_eq!(run_with(limits, &split), expected, "cut at {cut}");
    }
}
