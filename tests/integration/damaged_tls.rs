//! Issue 10: a hole in a decrypted TLS stream costs only the requests whose records it holds.
//! The captures are boto3-tls.pcap and boto3-tls-session.pcap with real packets removed
//! (fixtures/README.md says which); what must be recovered is read from the original fixture's
//! labels.

use crate::harness::{Fixture, fixtures_dir, s3wire, split_url, str_field};
use serde_json::Value;

/// `analyze` on a capture derived from boto3-tls, with that fixture's key log.
fn analyze_derived(capture: &str) -> Value {
    analyze_with_keys(capture, "boto3-tls.keys")
}

/// `analyze` on a capture with a key log, both in fixtures/captures.
fn analyze_with_keys(capture: &str, keys: &str) -> Value {
    let dir = fixtures_dir().join("captures");
    let capture = dir.join(capture).to_string_lossy().into_owned();
    let keys = dir.join(keys).to_string_lossy().into_owned();
    let out = s3wire(&[
        "analyze",
        &capture,
        "--keylog",
        &keys,
        "--format",
        "json",
        "--no-redact",
        "--no-aws-config",
        "--endpoint",
        "https://s3.local.test:8443",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (method, target) of each labelled request of boto3-tls but the `lost` ones, in label order.
fn labels_but(lost: &[usize]) -> Vec<(String, String, Value)> {
    labels_of_but("boto3-tls", lost)
}

/// (method, target, status) of each labelled request of fixture `name` but the `lost` ones.
fn labels_of_but(name: &str, lost: &[usize]) -> Vec<(String, String, Value)> {
    let f = Fixture::load(name);
    let mut want = Vec::new();
    for (i, l) in f
        .labels
        .iter()
        .enumerate()
        .filter(|(i, _)| !lost.contains(i))
    {
        let url = split_url(str_field(l, "url"));
        want.push((
            str_field(l, "method").to_string(),
            url.target,
            l["status"].clone(),
        ));
        assert_eq!(l["index"], i, "labels in order");
    }
    want
}

/// The report's requests match `want` one to one (order aside), none invented; a status is
/// either the one the client saw or unknown (pairing after a hole is not guessed), never wrong.
fn assert_requests(report: &Value, want: &[(String, String, Value)]) {
    match_requests(report, want, |got, want| got.is_null() || got == want);
}

/// As `assert_requests`, but each status exactly as given (null: reported without response).
fn assert_exact_statuses(report: &Value, want: &[(String, String, Value)]) {
    match_requests(report, want, |got, want| got == want);
}

/// Each of `want` found once among the report's HTTPS requests with a status `status_ok`
/// accepts, and nothing left over.
fn match_requests(
    report: &Value,
    want: &[(String, String, Value)],
    status_ok: impl Fn(&Value, &Value) -> bool,
) {
    let mut got: Vec<&Value> = report["requests"].as_array().unwrap().iter().collect();
    for (method, target, status) in want {
        let at = got.iter().position(|r| {
            str_field(r, "method") == method
                && str_field(r, "target") == target
                && status_ok(&r["status"], status)
                && r["scheme"] == "https"
        });
        let at = at.unwrap_or_else(|| panic!("missing {method} {target} ({status})"));
        got.remove(at);
    }
    assert!(got.is_empty(), "invented: {got:?}");
}

#[test]
fn tls_hole_in_client_stream_loses_only_the_requests_inside_it() {
    let report = analyze_derived("boto3-tls-gap-c2s.pcap");
    // Frames 53 and 55 carried requests 13 (DeleteObjectTagging) and 14 (PutBucketTagging,
    // whose body record, frame 56, arrived); request 15, right after that body, is found.
    assert_requests(&report, &labels_but(&[13, 14]));
    let q = &report["quality"];
    assert_eq!((&q["gaps"], &q["gap_bytes"]), (&1.into(), &1634.into()));
    assert_eq!(q["tls_resyncs"], 1);
    assert_eq!(q["tls_resync_failures"], 0);
    // Two records lost whole: the third sequence number opened the next one.
    assert_eq!(q["tls_resync_tries"], 3);
    assert_eq!(q["tls_not_decrypted"], 0);
}

#[test]
fn tls_hole_in_server_stream_keeps_every_request_and_pairs_after_it() {
    let report = analyze_derived("boto3-tls-gap-s2c.pcap");
    // Frames 70 and 72 held the responses to requests 18 (ListObjectVersions) and 19
    // (GetBucketAcl); boto3 waits for each response, so the first response after the hole is
    // request 20's and every later one pairs in order, each with the status the client saw.
    let mut want = labels_but(&[]);
    for lost in [18, 19] {
        want[lost].2 = Value::Null;
    }
    assert_exact_statuses(&report, &want);
    let q = &report["quality"];
    assert_eq!(q["gaps"], 2);
    // Both holes come before the server's next data: one search crosses them.
    assert_eq!(q["tls_resyncs"], 1);
    assert_eq!(q["tls_resync_failures"], 0);
    assert_eq!(q["requests_without_response"], 2);
    assert_eq!(q["http_anomalies"], 0, "{q}");
}

#[test]
fn tls_session_with_a_packet_missing_each_way_keeps_all_92_requests_and_their_statuses() {
    // One data packet of each direction removed mid-session, 66,357 bytes inside the big
    // PutObject (client) and GetObject (server) bodies. No request head is in either hole, so
    // every request is listed (tshark lists 42). Each hole ends inside a record that the search
    // proves, and the plaintext lost is counted from the ciphertext span and the records in it,
    // so HTTP counts both bodies through their holes and every request keeps the status the
    // client saw.
    let report = analyze_with_keys("boto3-tls-session-gap.pcap", "boto3-tls-session.keys");
    let want = labels_of_but("boto3-tls-session", &[]);
    assert_eq!(want.len(), 92);
    assert!(want.iter().all(|(_, _, status)| !status.is_null()));
    assert_exact_statuses(&report, &want);
    let q = &report["quality"];
    assert_eq!((&q["gaps"], &q["gap_bytes"]), (&2.into(), &66357.into()));
    assert_eq!(
        (&q["tls_resyncs"], &q["tls_resync_failures"]),
        (&2.into(), &0.into())
    );
    assert_eq!(q["requests_lost"], 0);
    assert_eq!(q["requests_without_response"], 0);
    assert_eq!(q["http_anomalies"], 0, "{q}");
    // The two messages with a hole in their body have no body length (it was cut), as over a
    // plaintext TCP gap.
    let cut: Vec<(&str, &str)> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["request_body_bytes"].is_null() || r["response_body_bytes"].is_null())
        .map(|r| (str_field(r, "method"), str_field(r, "operation")))
        .collect();
    assert_eq!(cut, [("PUT", "PutObject"), ("GET", "GetObject")]);
}
