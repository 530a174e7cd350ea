//! Issue 10: damaged capture files. A corrupt record or block costs that record, not the file:
//! everything before it is reported, a warning names its byte offset, and reading goes on at
//! the next plausible record when there is one.

use crate::harness::{Fixture, s3wire, split_url, str_field};
use serde_json::Value;

/// (method, target, status, scheme, operation) of every request, in report order.
fn requests(report: &Value) -> Vec<(String, String, Value, String, Value)> {
    report["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| {
            (
                str_field(r, "method").to_string(),
                str_field(r, "target").to_string(),
                r["status"].clone(),
                str_field(r, "scheme").to_string(),
                r["operation"].clone(),
            )
        })
        .collect()
}

fn quality(report: &Value, field: &str) -> u64 {
    report["quality"][field].as_u64().expect(field)
}

/// `mangle.py corrupt` fixtures: the damaged packet is a bare ACK, so every request of the
/// original is still there, named the same; the report says exactly what was skipped.
#[test]
fn corrupt_record_costs_that_record_and_every_request_is_still_reported() {
    // (fixture, original, packets in the original, damage offset, bytes skipped)
    let cases = [
        ("boto3-plain-corrupt", "boto3-plain", 466, 22336, 16 + 66),
        ("mixed-pcapng-corrupt", "mixed-pcapng", 45, 14804, 100),
    ];
    for (name, original, packets, offset, skipped) in cases {
        let (code, report) = Fixture::load(name).analyze(&["--no-redact"]);
        let (want_code, want) = Fixture::load(original).analyze(&["--no-redact"]);
        assert_eq!(requests(&report), requests(&want), "{name}");
        assert_eq!(code, want_code, "{name}: exit status follows the findings");
        assert_eq!(report["findings"], want["findings"], "{name}");
        assert_eq!(report["capture"]["packets"], packets - 1, "{name}");
        assert_eq!(quality(&report, "damaged_records"), 1, "{name}");
        assert_eq!(quality(&report, "skipped_capture_bytes"), skipped, "{name}");
        assert_eq!(quality(&report, "truncated_files"), 1, "{name}");
        let warnings = report["quality"]["warnings"].to_string();
        let at = format!("at offset {offset}: skipped {skipped} bytes");
        assert!(warnings.contains(&at), "{name}: {warnings}");
    }
}

/// Issue 10's own case: a pcap whose record 87 claims 4 GiB and nothing readable after it
/// (tcpdump and tshark report the 86 records before it; s3wire used to exit 2 with nothing).
#[test]
fn corrupt_record_with_nothing_readable_after_it_reports_the_requests_before_it() {
    let f = Fixture::load("boto3-plain-corrupt");
    let mut bytes = std::fs::read(f.capture()).unwrap();
    bytes[22336 + 16..].fill(0xFF);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rest-lost.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let path = path.to_str().unwrap();
    let out = s3wire(&["analyze", path, "--format", "json", "--no-aws-config"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "no finding: plaintext by configuration"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The client's first 7 requests completed before record 87 (the 8th is in record 88).
    let got: Vec<(String, String, Value)> = requests(&report)
        .into_iter()
        .map(|(m, t, s, ..)| (m, t, s))
        .collect();
    let want: Vec<(String, String, Value)> = f.labels[..7]
        .iter()
        .map(|l| {
            let url = split_url(str_field(l, "url"));
            (
                str_field(l, "method").to_string(),
                url.target,
                l["status"].clone(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(report["capture"]["packets"], 86);
    assert_eq!(quality(&report, "truncated_files"), 1);
    assert_eq!(quality(&report, "damaged_records"), 0);
    let warnings = report["quality"]["warnings"].to_string();
    assert!(
        warnings.contains(
            "capture truncated: packet record claims 4294967295 bytes, more than the \
             262144-byte limit at offset 22336: no plausible record in the"
        ),
        "{warnings}"
    );
}
