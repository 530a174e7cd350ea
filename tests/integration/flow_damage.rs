//! Issue 10, flow parts: damaged copies of real captures (`fixtures/damaged/`, made by
//! `fixtures/gen/mangle.py` as `fixtures/README.md` says), checked against the labels the clients
//! recorded for the undamaged originals.

use crate::harness::{Fixture, analyze_damaged as analyze, finding_kinds, split_url, str_field};
use serde_json::Value;

fn finding<'a>(report: &'a Value, kind: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} finding: {}", report["findings"]))
}

/// tls-port's plaintext DeleteObject connection alone, with nginx's `400` replaced by a RST
/// (`mangle.py rst`): no TLS session in the capture, no text from the server. The reset on the
/// port the HTTPS endpoint names is what shows the port speaks TLS.
#[test]
fn reset_without_response_on_the_https_port_is_a_plaintext_to_tls_port_finding() {
    let original = Fixture::load("tls-port");
    let label = &original.labels[5];
    let (code, report) = analyze(
        "tls-port-reset.pcap",
        &["--endpoint", "https://s3.local.test:8443"],
    );
    assert_eq!(code, 1);
    let got = report["requests"].as_array().expect("requests");
    assert_eq!(got.len(), 1);
    let r = &got[0];
    let url = split_url(str_field(label, "url"));
    assert_eq!(
        (str_field(r, "method"), str_field(r, "target")),
        (str_field(label, "method"), url.target.as_str())
    );
    assert_eq!(r["operation"], label["operation"]);
    assert_eq!(r["status"], Value::Null);
    let f = finding(&report, "plaintext-to-tls-port");
    assert_eq!(f["request"], r["id"]);
    let hint = str_field(f, "hint");
    assert!(
        hint.starts_with("the server reset the connection without a response"),
        "{hint}"
    );
}

/// The same capture with the HTTPS endpoint on another port: a reset on a port nobody named
/// for TLS proves nothing about TLS (a plain server may reset too).
#[test]
fn a_reset_on_a_port_no_https_endpoint_names_is_not_tls_evidence() {
    let (_, report) = analyze(
        "tls-port-reset.pcap",
        &["--endpoint", "https://s3.local.test:9443"],
    );
    let kinds = finding_kinds(&report);
    assert!(!kinds.contains(&"plaintext-to-tls-port"), "{kinds:?}");
}

/// The committed snaplen-96 fixture: the plaintext DeleteObject's head is cut before its Host
/// (`DELETE /fx-mixed-snaplen96/rep`) and the ClientHello before its SNI, so nothing in the
/// capture names 127.0.0.1. `--resolve` does: the cut request is tied to the HTTPS endpoint.
#[test]
fn snaplen_96_cut_request_without_host_is_tied_to_its_endpoint_by_resolve() {
    let f = Fixture::load("mixed-snaplen96");
    let label = &f.labels[f.expect_list("plaintext_to_https")[0]];
    let (code, report) = f.analyze(&["--no-redact"]);
    assert_eq!((code, report["findings"].as_array().unwrap().len()), (0, 0));
    let (code, report) = f.analyze(&["--no-redact", "--resolve", "s3.local.test=127.0.0.1"]);
    assert_eq!(code, 1);
    let got = report["requests"].as_array().expect("requests");
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r["host"], Value::Null);
    assert_eq!(str_field(r, "method"), str_field(label, "method"));
    let url = split_url(str_field(label, "url"));
    assert!(url.target.starts_with(str_field(r, "target")));
    let found = finding(&report, "plaintext-to-https-endpoint");
    assert_eq!(found["request"], r["id"]);
    assert_eq!(str_field(found, "endpoint"), "https://s3.local.test:8443");
    assert!(str_field(found, "hint").starts_with(
        "no Host header captured: tied by its server address to s3.local.test \
         (s3.local.test → 127.0.0.1 --resolve)"
    ));
}

/// `damaged/boto3-plain-snap200.pcap` judged against `https://s3.local.test`: four heads (two
/// UploadParts, an UploadPartCopy and a GetObject) lost their Host to the snaplen; the other requests name
/// 127.0.0.1 `s3.local.test`, which ties those four too. Every labelled request is a finding.
#[test]
fn snaplen_200_requests_without_host_are_tied_by_the_name_other_requests_give_the_address() {
    let original = Fixture::load("boto3-plain");
    let (code, report) = analyze(
        "boto3-plain-snap200.pcap",
        &["--endpoint", "https://s3.local.test"],
    );
    assert_eq!(code, 1);
    let got = report["requests"].as_array().expect("requests");
    assert_eq!(got.len(), original.labels.len());
    let hostless: Vec<(&str, &str)> = got
        .iter()
        .zip(&original.labels)
        .filter(|(r, _)| r["host"].is_null())
        .map(|(r, l)| (str_field(r, "method"), str_field(l, "operation")))
        .collect();
    assert_eq!(
        hostless,
        [
            ("PUT", "UploadPart"),
            ("PUT", "UploadPart"),
            ("PUT", "UploadPartCopy"),
            ("GET", "GetObject")
        ]
    );
    let findings = report["findings"].as_array().unwrap();
    for r in got {
        let f = findings
            .iter()
            .find(|f| f["kind"] == "plaintext-to-https-endpoint" && f["request"] == r["id"])
            .unwrap_or_else(|| panic!("request {} has no finding", r["id"]));
        let tied = str_field(f, "hint").starts_with(
            "no Host header captured: tied by its server address to s3.local.test, the name \
             other traffic in the capture gives 127.0.0.1",
        );
        assert_eq!(tied, r["host"].is_null(), "request {}", r["id"]);
    }
}
