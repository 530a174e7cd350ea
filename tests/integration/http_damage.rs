//! Issue 10, HTTP parts: damaged copies of real captures (`fixtures/damaged/`, made by
//! `fixtures/gen/mangle.py` as `fixtures/README.md` says) give the requests the wire still shows,
//! checked against the labels the clients recorded for the undamaged originals.

use crate::harness::{
    Fixture, analyze_damaged as analyze, finding_kinds, fixtures_dir, split_url, str_field,
};
use serde_json::Value;

fn requests(report: &Value) -> &Vec<Value> {
    report["requests"].as_array().expect("requests")
}

/// `mangle.py snap --len 200` of boto3-plain: each request line is whole in its first segment,
/// the rest of every head is cut. Every request is listed, truncated, with the status the client
/// got; all but three are named as the client named them.
#[test]
fn snaplen_200_lists_every_request_and_names_it_from_the_request_line() {
    let original = Fixture::load("boto3-plain");
    let (_, report) = analyze("boto3-plain-snap200.pcap", &[]);
    let got = requests(&report);
    assert_eq!(got.len(), original.labels.len());
    let mut unnamed = Vec::new();
    for (r, label) in got.iter().zip(&original.labels) {
        let url = split_url(str_field(label, "url"));
        assert_eq!(
            (&r["method"], &r["status"]),
            (&label["method"], &label["status"])
        );
        assert_eq!(r["truncated"], true);
        let target = str_field(r, "target");
        assert!(url.target.starts_with(target), "{target} vs {}", url.target);
        if r["operation"] != label["operation"] {
            unnamed.push((
                r["operation"].clone(),
                str_field(label, "operation").to_string(),
            ));
        }
    }
    // Told apart by a header the snaplen cut (x-amz-copy-source), or a target cut in its query
    // (the presigned URL): named by the request line alone, or not named.
    let want: Vec<(Value, String)> = vec![
        ("PutObject".into(), "CopyObject".into()),
        ("UploadPart".into(), "UploadPartCopy".into()),
        (Value::Null, "GetObject".into()),
    ];
    assert_eq!(unnamed, want);
    assert_eq!(report["quality"]["requests_cut"], 39);
    assert_eq!(report["quality"]["requests_lost"], 0);
}

/// `mangle.py snap --len 200` of mixed: the plaintext DeleteObject is named and judged; the TLS
/// session, whose ClientHello the snaplen cut, is listed with the reason it is not decrypted.
#[test]
fn snaplen_200_plaintext_request_is_a_finding_and_tls_says_why_not_decrypted() {
    let keys = fixtures_dir().join("captures/mixed.keys");
    let keys = keys.to_string_lossy();
    let args = [
        "--keylog",
        &keys,
        "--endpoint",
        "https://s3.local.test:8443",
    ];
    let (code, report) = analyze("mixed-snap200.pcap", &args);
    assert_eq!(code, 1);
    let got = requests(&report);
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(
        (
            str_field(r, "method"),
            str_field(r, "target"),
            str_field(r, "operation")
        ),
        ("DELETE", "/fx-mixed/reports/2026/q4.csv", "DeleteObject")
    );
    assert_eq!(
        (&r["truncated"], &r["status"]),
        (&Value::Bool(true), &Value::from(204))
    );
    let kinds = finding_kinds(&report);
    assert_eq!(kinds, ["plaintext-to-https-endpoint"]);
    let tls = report["tls"].as_array().unwrap();
    assert_eq!(tls.len(), 1);
    assert_eq!(tls[0]["decrypted"], false);
    assert!(str_field(&tls[0], "decryption").starts_with("ClientHello not captured whole"));
    assert_eq!(report["quality"]["tls_not_decrypted"], 1);
}

/// The committed snaplen-96 fixture: 30 payload bytes per segment still show
/// `DELETE /fx-mixed-snaplen96/rep`, reported as a partial request with its bucket.
#[test]
fn snaplen_96_still_reports_the_cut_request_line() {
    let f = Fixture::load("mixed-snaplen96");
    let (_, report) = f.analyze(&["--no-redact"]);
    let got = requests(&report);
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(
        (str_field(r, "method"), str_field(r, "target")),
        ("DELETE", "/fx-mixed-snaplen96/rep")
    );
    assert_eq!(
        (&r["truncated"], &r["operation"]),
        (&Value::Bool(true), &Value::Null)
    );
    assert_eq!(
        (str_field(r, "bucket"), &r["key"]),
        ("fx-mixed-snaplen96", &Value::Null)
    );
    assert_eq!(r["status"], 204);
    assert_eq!(report["tls"][0]["version"], "unknown");
}

/// `mangle.py drop-head --percent 38` of downgrade-forwarded: the capture starts inside the
/// PutObject body, whose response comes first; every later request is found and paired.
#[test]
fn capture_started_inside_a_body_finds_every_later_request() {
    let original = Fixture::load("downgrade-forwarded");
    let (_, report) = analyze("downgrade-forwarded-late-start.pcap", &[]);
    assert_eq!(seen(&report), labelled(&original.labels[2..]));
    assert_eq!(report["quality"]["midstream_streams"], 1);
}

/// `scripts/gen-pipelined 2000`: a real client writes 2,000 GETs before reading, a real server
/// answers them all after the last. Every request is paired with its own response (the body
/// says `object N`, so its length tells N's response from a neighbour's at 10, 100, 1000).
#[test]
fn two_thousand_pipelined_gets_answered_after_the_last_are_all_paired() {
    let (_, report) = analyze("pipelined-2000.pcap", &[]);
    let got = requests(&report);
    assert_eq!(got.len(), 2000);
    for (i, r) in got.iter().enumerate() {
        assert_eq!(str_field(r, "target"), format!("/fx-pipe/obj-{i:06}.txt"));
        assert_eq!(r["status"], 200, "request {i}");
        let body = format!("object {i}\n").len();
        assert_eq!(r["response_body_bytes"], body, "request {i}");
    }
    assert_eq!(report["quality"]["http_anomalies"], 0);
    assert_eq!(report["quality"]["requests_without_response"], 0);
}

/// (method, target, operation, status) of each reported request, and of each label.
type Seen = (String, String, Value, Value);

fn seen(report: &Value) -> Vec<Seen> {
    requests(report)
        .iter()
        .map(|r| {
            let target = str_field(r, "target").to_string();
            let method = str_field(r, "method").to_string();
            (method, target, r["operation"].clone(), r["status"].clone())
        })
        .collect()
}

fn labelled(labels: &[Value]) -> Vec<Seen> {
    labels
        .iter()
        .map(|l| {
            let target = split_url(str_field(l, "url")).target;
            let method = str_field(l, "method").to_string();
            (method, target, l["operation"].clone(), l["status"].clone())
        })
        .collect()
}

/// `mangle.py drop-head --percent 30` of js-session (the JS SDK v3 over plain http, 41
/// requests on one keep-alive connection): the capture starts inside the 300 KB PutObject body
/// (label 12), whose response comes first; then the streamed `PUT …stream.txt` and 27 more.
/// All 28 are reported as the client named them, each with its own response.
#[test]
fn js_capture_started_inside_a_large_body_reports_the_28_later_requests() {
    let original = Fixture::load("js-session");
    assert!(str_field(&original.labels[12], "url").contains("/app/big.bin?"));
    let (_, report) = analyze("js-session-late-start.pcap", &[]);
    let want = labelled(&original.labels[13..]);
    assert_eq!(want.len(), 28);
    assert_eq!(want[0].1, "/fx-js-session/app/stream.txt?x-id=PutObject");
    assert_eq!(seen(&report), want);
    // The big PUT's answer arrives before the first request seen: paired with it, the
    // response would precede its request.
    for r in requests(&report) {
        assert!(
            str_field(r, "response_time") > str_field(r, "time"),
            "{r:#}"
        );
    }
    let quality = &report["quality"];
    assert_eq!(quality["midstream_streams"], 1);
    assert_eq!(quality["requests_without_response"], 0);
}

/// `mangle.py drop-head --percent 55` of js-session: the capture starts just after a HEAD
/// request, with its answer (`Content-Length: 307200`, no body). Every later request is paired
/// with its own response, not left without one behind a body that was never sent.
#[test]
fn js_capture_started_after_a_head_request_pairs_every_later_response() {
    let original = Fixture::load("js-session");
    assert_eq!(str_field(&original.labels[17], "method"), "HEAD");
    let (_, report) = analyze("js-session-after-head.pcap", &[]);
    let want = labelled(&original.labels[18..]);
    assert_eq!(want.len(), 23);
    assert_eq!(seen(&report), want);
    assert_eq!(report["quality"]["midstream_streams"], 1);
    assert_eq!(report["quality"]["requests_without_response"], 0);
}

/// `mangle.py drop-head --percent 30` of pipelined-2000: the capture starts inside the run of
/// 2,000 pipelined GETs (request 948 is the first whole one), all answered after the last. The
/// first response may answer a request sent before the capture, so none is paired: every
/// request is listed without a response, none with another's. (The requests read end where
/// the connection layer's hold before the server speaks ends: at least 500 of the 1,052.)
#[test]
fn pipelined_capture_started_midway_pairs_no_response_with_the_wrong_request() {
    let (_, report) = analyze("pipelined-2000-late-start.pcap", &[]);
    let got = requests(&report);
    // Every whole request on the wire: the client's bytes tell HTTP by themselves once a whole
    // request line follows the unknown start, long before the server first speaks.
    assert_eq!(got.len(), 1052);
    for (i, r) in got.iter().enumerate() {
        assert_eq!(
            str_field(r, "target"),
            format!("/fx-pipe/obj-{:06}.txt", 948 + i)
        );
        assert_eq!(r["status"], Value::Null, "request {}", 948 + i);
    }
    assert_eq!(report["quality"]["midstream_streams"], 1);
    assert_eq!(report["quality"]["requests_without_response"], got.len());
}
