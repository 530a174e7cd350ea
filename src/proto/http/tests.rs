//! HttpConnection over captured connections (testdata/) and hand-made edge cases.

use super::transcript::{self, Segment};
use super::*;
use crate::flow::Direction::{self, ClientToServer as C2S, ServerToClient as S2C};
use crate::proto::{Anomaly, ProtoEvent, ProtoLimits};

pub(super) const CLOSE_TS: Timestamp = Timestamp(99);

pub(super) fn run_with(limits: ProtoLimits, segments: &[Segment]) -> Vec<ProtoEvent> {
    let mut conn = HttpConnection::new(&limits);
    let mut out = Vec::new();
    for s in segments {
        conn.on_data(s.dir, s.ts, &s.bytes, &mut out);
    }
    conn.on_close(CLOSE_TS, &mut out);
    out
}

/// The usual limits, but every response keeps its body's first bytes (only error documents do
/// by default): the tests tell responses apart by their bodies.
pub(super) fn every_body() -> ProtoLimits {
    ProtoLimits {
        body_prefix_from_status: 0,
        ..ProtoLimits::default()
    }
}

pub(super) fn run(segments: &[Segment]) -> Vec<ProtoEvent> {
    run_with(every_body(), segments)
}

/// By default only an error document's first bytes are kept: a 200's body is counted, not
/// copied; a 400's and a 403's are kept, chunked or not.
#[test]
fn only_error_documents_keep_their_first_bytes() {
    let events = run_with(
        ProtoLimits::default(),
        &[
            seg(
                C2S,
                0,
                b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
            ),
            seg(C2S, 0, b"GET /c HTTP/1.1\r\nHost: h\r\n\r\n"),
            seg(
                S2C,
                1,
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
                  HTTP/1.1 400 Bad Request\r\nContent-Length: 8\r\n\r\nrefused!\
                  HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n\
                  6\r\ndenied\r\n0\r\n\r\n",
            ),
        ],
    );
    let kept: Vec<_> = exchanges(&events)
        .iter()
        .map(|x| {
            let r = x.response.as_ref().unwrap();
            (r.status, r.body_len, r.body_prefix.clone())
        })
        .collect();
    assert_eq!(
        kept,
        [
            (200, Some(5), Vec::new()),
            (400, Some(8), b"refused!".to_vec()),
            (403, Some(6), b"denied".to_vec()),
        ]
    );
}

/// Without `keep_response_fields` (the analysis), a response framed the usual way keeps only
/// the length its fields gave, and is framed and paired as with them; a redirect (for its
/// `Location`), a chunked response and one with two Content-Lengths keep their fields.
#[test]
fn responses_keep_only_the_fields_something_reads() {
    let segments = [
        seg(
            C2S,
            0,
            b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n\
              HEAD /c HTTP/1.1\r\nHost: h\r\n\r\nGET /d HTTP/1.1\r\nHost: h\r\n\r\n\
              GET /e HTTP/1.1\r\nHost: h\r\n\r\nGET /f HTTP/1.1\r\nHost: h\r\n\r\n",
        ),
        seg(
            S2C,
            1,
            b"HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 5\r\n\r\nhello\
              HTTP/1.1 302 Found\r\nLocation: https://h/b\r\nContent-Length: 0\r\n\r\n\
              HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n\
              HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
              HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nno\
              HTTP/1.1 500 Oops\r\nServer: s\r\n\r\nrest",
        ),
    ];
    type Read = (String, u16, Option<u64>, Option<Option<u64>>, Vec<String>);
    let read = |keep_response_fields: bool| -> Vec<Read> {
        let limits = ProtoLimits {
            keep_response_fields,
            ..ProtoLimits::default()
        };
        exchanges(&run_with(limits, &segments))
            .iter()
            .map(|x| {
                let r = x.response.as_ref().unwrap();
                let names = r.headers.iter().map(|h| h.name.to_string()).collect();
                let target = x.request.target.clone();
                (target, r.status, r.body_len, r.framing_length, names)
            })
            .collect()
    };
    let lean = read(false);
    let fields = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let expected: Vec<Read> = vec![
        ("/a".into(), 200, Some(5), Some(Some(5)), vec![]),
        (
            "/b".into(),
            302,
            Some(0),
            None,
            fields(&["Location", "Content-Length"]),
        ),
        // A HEAD's response has no body, whatever its length says.
        ("/c".into(), 200, Some(0), Some(Some(99)), vec![]),
        (
            "/d".into(),
            200,
            Some(3),
            None,
            fields(&["Transfer-Encoding"]),
        ),
        (
            "/e".into(),
            404,
            Some(2),
            None,
            fields(&["Content-Length", "Content-Length"]),
        ),
        // No length: read until the connection closes.
        ("/f".into(), 500, Some(4), Some(None), vec![]),
    ];
    assert_eq!(lean, expected);
    // Kept, every response has its fields, and the exchanges are framed the same way.
    let kept = read(true);
    assert!(kept.iter().all(|x| x.3.is_none() && !x.4.is_empty()));
    let framed = |v: &[Read]| {
        v.iter()
            .map(|x| (x.0.clone(), x.1, x.2))
            .collect::<Vec<_>>()
    };
    assert_eq!(framed(&lean), framed(&kept));
}

pub(super) fn seg(dir: Direction, secs: i64, bytes: &[u8]) -> Segment {
    Segment {
        dir,
        ts: Timestamp::from_secs_nanos(secs, 0),
        bytes: bytes.to_vec(),
    }
}

pub(super) fn exchanges(events: &[ProtoEvent]) -> Vec<&HttpExchange> {
    events
        .iter()
        .filter_map(|e| match e {
            ProtoEvent::Http(x) => Some(x.as_ref()),
            _ => None,
        })
        .collect()
}

pub(super) fn anomalies(events: &[ProtoEvent]) -> Vec<&Anomaly> {
    events
        .iter()
        .filter_map(|e| match e {
            ProtoEvent::Anomaly { what, .. } => Some(what),
            _ => None,
        })
        .collect()
}

/// (method, target, request body_len, status, response body_len) of each exchange.
pub(super) type Summary = (String, String, Option<u64>, Option<u16>, Option<u64>);

pub(super) fn summary(events: &[ProtoEvent]) -> Vec<Summary> {
    exchanges(events)
        .iter()
        .map(|x| {
            let r = x.response.as_ref();
            (
                x.request.method.to_string(),
                x.request.target.clone(),
                x.request.body_len,
                r.map(|r| r.status),
                r.and_then(|r| r.body_len),
            )
        })
        .collect()
}

pub(super) fn s(
    method: &str,
    target: &str,
    req: Option<u64>,
    status: Option<u16>,
    resp: Option<u64>,
) -> Summary {
    (method.into(), target.into(), req, status, resp)
}

#[test]
fn keepalive_two_gets_pair_in_order() {
    let events = run(&transcript::parse(transcript::KEEPALIVE_TWO_GETS));
    let xs = exchanges(&events);
    assert_eq!(xs.len(), 2);
    let first = xs[0];
    assert_eq!(first.request.header("User-Agent"), Some("curl/7.88.1"));
    assert_eq!(first.request.ts, Timestamp::from_secs_nanos(0, 0));
    let resp = first.response.as_ref().unwrap();
    assert_eq!(
        (resp.status, resp.reason.as_ref(), resp.version),
        (200, "OK", 1)
    );
    assert_eq!(resp.ts, Timestamp::from_secs_nanos(1, 0));
    assert_eq!(resp.body_prefix, b"body of /a\n");
    assert_eq!(
        summary(&events),
        [
            s("GET", "/a", Some(0), Some(200), Some(11)),
            s("GET", "/b", Some(0), Some(200), Some(11))
        ]
    );
    assert!(anomalies(&events).is_empty());
}

#[test]
fn byte_by_byte_gives_the_same_exchanges() {
    let whole = transcript::parse(transcript::KEEPALIVE_TWO_GETS);
    let expected = run(&whole);
    let bytewise: Vec<Segment> = whole
        .iter()
        .flat_map(|s| s.bytes.iter().map(|b| seg(s.dir, s.ts.secs(), &[*b])))
        .collect();
    assert_eq!(run(&bytewise), expected);
}

#[test]
fn every_split_point_gives_the_same_exchanges() {
    let whole = transcript::parse(transcript::KEEPALIVE_TWO_GETS);
    let expected = run(&whole);
    for (i, target) in whole.iter().enumerate() {
        for cut in 1..target.bytes.len() {
            let mut split = whole.clone();
            let (a, b) = target.bytes.split_at(cut);
            split[i].bytes = a.to_vec();
            split.insert(i + 1, seg(target.dir, target.ts.secs(), b));
            assert_eq!(run(&split), expected, "segment {i} cut at {cut}");
        }
    }
}

#[test]
fn three_pipelined_requests_pair_fifo() {
    let events = run(&transcript::parse(transcript::PIPELINED_THREE));
    assert_eq!(
        summary(&events),
        [
            s("GET", "/p1", Some(0), Some(200), Some(12)),
            s("HEAD", "/p2", Some(0), Some(200), Some(0)),
            s("GET", "/p3", Some(0), Some(200), Some(12))
        ]
    );
    let xs = exchanges(&events);
    assert_eq!(
        xs[2].response.as_ref().unwrap().body_prefix,
        b"body of /p3\n"
    );
}

#[test]
fn head_response_has_no_body_despite_content_length() {
    let events = run(&transcript::parse(transcript::HEAD));
    assert_eq!(
        summary(&events),
        [s("HEAD", "/bucket/obj", Some(0), Some(200), Some(0))]
    );
    let resp = exchanges(&events)[0].response.clone().unwrap();
    assert_eq!(resp.header("content-length"), Some("1234"));
}

#[test]
fn no_content_and_not_modified_have_no_body() {
    let events = run(&transcript::parse(transcript::NO_CONTENT_NOT_MODIFIED));
    assert_eq!(
        summary(&events),
        [
            s("GET", "/nocontent", Some(0), Some(204), Some(0)),
            s("GET", "/notmod", Some(0), Some(304), Some(0))
        ]
    );
}

#[test]
fn chunked_response_with_extension_and_trailer() {
    let events = run(&transcript::parse(transcript::CHUNKED_TRAILERS));
    assert_eq!(
        summary(&events),
        [s("GET", "/chunked", Some(0), Some(200), Some(12))]
    );
    let resp = exchanges(&events)[0].response.clone().unwrap();
    assert_eq!(resp.body_prefix, b"hello, world");
}

#[test]
fn aws_chunked_put_after_100_continue() {
    let events = run(&transcript::parse(transcript::AWS_CHUNKED_PUT));
    assert_eq!(
        summary(&events),
        [s(
            "PUT",
            "/examplebucket/chunkObject.txt",
            Some(1024),
            Some(200),
            Some(0)
        )]
    );
    let x = exchanges(&events)[0];
    assert_eq!(x.interim, [100]);
    assert_eq!(x.request.header("content-encoding"), Some("aws-chunked"));
    assert_eq!(
        x.response.as_ref().unwrap().header("etag"),
        Some("\"1024\"")
    );
}

#[test]
fn expect_100_then_body_then_200() {
    let events = run(&transcript::parse(transcript::EXPECT_CONTINUE_PUT));
    assert_eq!(
        summary(&events),
        [s("PUT", "/bucket/f.txt", Some(11), Some(200), Some(0))]
    );
    assert_eq!(exchanges(&events)[0].interim, [100]);
}

#[test]
fn expect_denied_body_never_sent_then_next_request() {
    let events = run(&transcript::parse(transcript::EXPECT_DENIED_THEN_GET));
    assert_eq!(
        summary(&events),
        [
            s("PUT", "/deny/key.txt", Some(0), Some(403), Some(111)),
            s("GET", "/after", Some(0), Some(200), Some(15))
        ]
    );
    let denied = exchanges(&events)[0].response.clone().unwrap();
    assert!(String::from_utf8_lossy(&denied.body_prefix).contains("<Code>AccessDenied</Code>"));
    assert!(anomalies(&events).is_empty());
}

#[test]
fn expect_denied_but_body_sent_anyway() {
    let events = run(&[
        seg(
            C2S,
            0,
            b"PUT /b/k HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        ),
        seg(
            S2C,
            1,
            b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n",
        ),
        seg(C2S, 2, b"hello"),
        seg(C2S, 3, b"GET /n HTTP/1.1\r\n\r\n"),
        seg(S2C, 4, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ]);
    assert_eq!(
        summary(&events),
        [
            s("PUT", "/b/k", Some(5), Some(417), Some(0)),
            s("GET", "/n", Some(0), Some(200), Some(0))
        ]
    );
}

#[test]
fn response_read_until_close_is_emitted_at_close() {
    let segments = transcript::parse(transcript::READ_UNTIL_CLOSE);
    let mut conn = HttpConnection::new(&ProtoLimits::default());
    let mut out = Vec::new();
    for s in &segments {
        conn.on_data(s.dir, s.ts, &s.bytes, &mut out);
    }
    assert!(
        exchanges(&out).is_empty(),
        "body delimited by close is not over yet"
    );
    conn.on_close(CLOSE_TS, &mut out);
    assert_eq!(
        summary(&out),
        [s("GET", "/close", Some(0), Some(200), Some(51))]
    );
    assert_eq!(exchanges(&out)[0].response.as_ref().unwrap().version, 0);
}

#[test]
fn interim_103_is_recorded() {
    let events = run(&[
        seg(C2S, 0, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
        seg(S2C, 1, b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ]);
    assert_eq!(
        summary(&events),
        [s("GET", "/", Some(0), Some(200), Some(2))]
    );
    assert_eq!(exchanges(&events)[0].interim, [103]);
}

/// Every transcript, re-chunked at random points (within each segment, so the interleaving of
/// directions is kept), gives exactly the events of the original chunking.
mod rechunking {
    use super::*;
    use proptest::prelude::*;

    const ALL: [&[u8]; 9] = [
        transcript::KEEPALIVE_TWO_GETS,
        transcript::HEAD,
        transcript::CHUNKED_TRAILERS,
        transcript::NO_CONTENT_NOT_MODIFIED,
        transcript::READ_UNTIL_CLOSE,
        transcript::EXPECT_CONTINUE_PUT,
        transcript::PIPELINED_THREE,
        transcript::EXPECT_DENIED_THEN_GET,
        transcript::AWS_CHUNKED_PUT,
    ];

    fn rechunk(segments: &[Segment], cuts: &[usize]) -> Vec<Segment> {
        let mut out = Vec::new();
        let mut cuts = cuts.iter().cycle();
        for s in segments {
            let mut rest = s.bytes.as_slice();
            while !rest.is_empty() {
                let n = (cuts.next().copied().unwrap_or(1) % rest.len()).max(1);
                let (a, b) = rest.split_at(n);
                out.push(seg(s.dir, s.ts.secs(), a));
                rest = b;
            }
        }
        out
    }

    proptest! {
        #[test]
        fn random_rechunking_changes_nothing(
            which in 0..ALL.len(),
            cuts in proptest::collection::vec(1usize..200, 1..20),
        ) {
            let whole = transcript::parse(ALL[which]);
            prop_assert_eq!(run(&rechunk(&whole, &cuts)), run(&whole));
        }

        /// Responses that do not keep their fields (the analysis's way) give every
        /// transcript's events, cut anywhere, as responses that keep them do, but for the
        /// fields themselves and the length kept in their place.
        #[test]
        fn responses_without_their_fields_change_nothing_else(
            which in 0..ALL.len(),
            cuts in proptest::collection::vec(1usize..200, 1..20),
        ) {
            let whole = transcript::parse(ALL[which]);
            let lean = ProtoLimits {
                keep_response_fields: false,
                ..every_body()
            };
            let fields_left_out = |mut events: Vec<ProtoEvent>| {
                for ev in &mut events {
                    if let ProtoEvent::Http(ex) = ev
                        && let Some(r) = ex.response.as_mut()
                    {
                        r.headers = Headers::default();
                        r.framing_length = None;
                    }
                }
                events
            };
            // As captured (nearly every head whole in a segment, read in place), then cut.
            for segments in [whole.clone(), rechunk(&whole, &cuts)] {
                prop_assert_eq!(
                    fields_left_out(run_with(lean, &segments)),
                    fields_left_out(run(&segments))
                );
            }
        }
    }
}

#[test]
fn a_lookup_gives_the_first_field_of_a_name_in_any_case() {
    let headers: Headers = [
        ("Host", "a.test"),
        ("X-Amz-Date", "20260101T000000Z"),
        ("user-agent", "one"),
        ("User-Agent", "two"),
        ("AUTHORIZATION", "AWS4-HMAC-SHA256 Credential=x"),
    ]
    .into_iter()
    .collect();
    assert_eq!(headers.get("host"), Some("a.test"));
    assert_eq!(
        headers.get("user-agent"),
        Some("one"),
        "the first of two fields"
    );
    assert_eq!(
        headers.get("authorization"),
        Some("AWS4-HMAC-SHA256 Credential=x")
    );
    assert_eq!(headers.get("x-amz-security-token"), None);
    // A name that is not indexed is searched for.
    assert_eq!(headers.get("x-amz-date"), Some("20260101T000000Z"));
}
