//! What a reader acts on: one summary line per cause, one entry per request, and an exit status
//! that answers the question s3wire exists for (warnings shown, not failing, unless asked).

use crate::harness::{Fixture, s3wire};
use serde_json::Value;

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `analyze CAPTURE --no-aws-config ARGS…` (no `--endpoint` unless given).
fn analyze(capture: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["analyze", capture, "--no-aws-config"];
    all.extend_from_slice(args);
    s3wire(&all)
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

/// A boto3 client on plain http to an endpoint nobody configured as HTTPS (a local MinIO, say):
/// its signatures crossed the network in clear, which every format shows as a warning, but the
/// answer to "did S3 traffic go in plaintext to an HTTPS endpoint?" is no: exit 0.
#[test]
fn cleartext_credentials_to_an_unconfigured_host_warn_and_exit_0() {
    let capture = Fixture::load("clean-http").capture();
    let out = analyze(&capture, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = json(&out);
    let findings = r["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 7);
    for f in findings {
        assert_eq!(f["kind"], "credentials-in-cleartext");
        assert_eq!(f["severity"], "warning");
        assert_eq!(f["origin"], "unconfigured", "never `-`: {f}");
        assert_eq!(f["endpoint"], "http://s3.local.test:5000");
    }
    let s = &r["summary"];
    assert_eq!(
        (
            s["failing_findings"].as_u64(),
            s["warning_findings"].as_u64()
        ),
        (Some(0), Some(7))
    );
    assert_eq!(s["warned_requests"], 7);
    assert_eq!(
        s["fail_on"],
        serde_json::json!([
            "plaintext-to-https-endpoint",
            "plaintext-to-tls-port",
            "refused-plaintext-attempt"
        ])
    );
    let groups = s["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["severity"], "warning");
    assert_eq!(groups[0]["requests"], 7);
    assert_eq!(groups[0]["user_agent"], "Boto3/1.44.8");

    let table = text(&analyze(&capture, &["--format", "table"]));
    assert!(table.contains("⚠ 7 requests carried credentials in cleartext to http://s3.local.test:5000 (not configured as HTTPS) from 127.0.0.1 Boto3/1.44.8"), "{table}");
    assert!(
        table.trim_end().ends_with(
            "No plaintext S3 traffic to an HTTPS endpoint found. Warning: 7 requests carried \
         credentials in cleartext to an endpoint not configured as HTTPS (not failing the run; \
         --fail-on credentials-in-cleartext makes it fail)."
        ),
        "{table}"
    );
    assert!(!table.contains("(endpoint - from -)") && !table.contains("expected: -"));
    let md = text(&analyze(&capture, &["--format", "markdown"]));
    assert!(
        md.contains(
            "**Verdict:** No plaintext S3 traffic to an HTTPS endpoint found. Warning: 7 requests"
        ),
        "{md}"
    );
    assert!(
        md.contains("| warning | `credentials-in-cleartext` |"),
        "{md}"
    );
    let jsonl = text(&analyze(&capture, &["--format", "jsonl"]));
    let summary: Value = jsonl
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "summary")
        .expect("summary record");
    assert_eq!(summary["groups"][0]["severity"], "warning");
    assert_eq!(
        analyze(&capture, &["--format", "jsonl", "-q"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn fail_on_makes_a_warning_kind_fail() {
    let capture = Fixture::load("clean-http").capture();
    for flag in [
        "credentials-in-cleartext",
        "all",
        "plaintext-to-tls-port,credentials-in-cleartext",
    ] {
        let out = analyze(&capture, &["--format", "json", "--fail-on", flag]);
        assert_eq!(out.status.code(), Some(1), "--fail-on {flag}");
        let r = json(&out);
        assert_eq!(r["summary"]["failing_findings"], 7, "--fail-on {flag}");
        assert_eq!(r["findings"][0]["severity"], "error");
        assert_eq!(r["summary"]["groups"][0]["severity"], "error");
    }
    let out = analyze(
        &capture,
        &["--format", "table", "--fail-on", "credentials-in-cleartext"],
    );
    assert!(text(&out).trim_end().ends_with(
        "7 requests carried credentials in cleartext to an endpoint not configured as HTTPS."
    ));
    let bad = analyze(&capture, &["--fail-on", "everything"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("possible values"));
}

/// The seed capture: 7 plaintext requests, each with two finding kinds. One cause, one summary
/// line; one row and one evidence block per request, not per finding.
#[test]
fn one_summary_line_per_cause_and_one_entry_per_request() {
    let f = Fixture::load("downgrade-forwarded");
    let (code, r) = f.analyze(&[]);
    assert_eq!(code, 1);
    let groups = r["summary"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    let g = &groups[0];
    assert_eq!(g["kind"], "plaintext-to-https-endpoint");
    assert_eq!(g["severity"], "error");
    assert_eq!(g["requests"], 7);
    assert_eq!(g["client"], "127.0.0.1");
    assert_eq!(g["user_agent"], "Boto3/1.40.14");
    assert_eq!(g["origin"], "flag");
    assert_eq!(
        g["kinds"],
        serde_json::json!({"plaintext-to-https-endpoint": 7, "credentials-in-cleartext": 7})
    );
    let ops: Vec<(String, u64)> = g["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["operation"].as_str().unwrap().to_string(),
                o["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ops.len(), 7);
    assert!(ops.contains(&("DeleteObject".into(), 1)));
    assert_eq!(g["request_ids"], serde_json::json!([1, 2, 3, 4, 5, 6, 7]));
    assert!(
        g["hints"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("boto/botocore#3542")
    );
    // findings[] keeps one entry per kind and request, as documented.
    assert_eq!(r["findings"].as_array().unwrap().len(), 14);
    assert_eq!(r["summary"]["failing_requests"], 7);
    assert_eq!(r["summary"]["warned_requests"], 0);

    let table = text(&f.run("table", &[]));
    let summary_lines: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("✗ 7 requests"))
        .collect();
    assert_eq!(summary_lines.len(), 1, "{table}");
    assert!(summary_lines[0].starts_with(
        "✗ 7 requests went over http to https://s3.local.test:443 (configured by --endpoint) \
         from 127.0.0.1 Boto3/1.40.14: "
    ));
    let blocks = table
        .lines()
        .filter(|l| {
            l.starts_with("✗ ")
                && l.contains("[plaintext-to-https-endpoint, credentials-in-cleartext]")
        })
        .count();
    assert_eq!(blocks, 7, "one block per request: {table}");
    assert!(
        table
            .trim_end()
            .ends_with("7 requests went in plaintext to an endpoint configured or proven HTTPS.")
    );

    let md = text(&f.run("markdown", &[]));
    let summary_at = md
        .find("- ❌ 7 requests went over http")
        .expect("summary bullet");
    let table_at = md.find("| request | severity |").expect("findings table");
    assert!(summary_at < table_at, "the summary comes first");
    let rows = md.lines().filter(|l| l.starts_with("| #")).count();
    assert_eq!(rows, 7, "one row per request: {md}");
    let evidence = md
        .lines()
        .filter(|l| l.starts_with('#') && l.contains(" → 127.0.0.1:80"))
        .count();
    assert_eq!(evidence, 7, "one evidence block per request");
}

/// Refused attempts are their own cause, with the guessed operations marked as guesses.
#[test]
fn refused_attempts_are_a_cause_of_their_own() {
    let f = Fixture::load("refused");
    let (code, r) = f.analyze(&[]);
    assert_eq!(code, 1);
    let groups = r["summary"]["groups"].as_array().unwrap();
    let g = groups
        .iter()
        .find(|g| g["kind"] == "refused-plaintext-attempt")
        .expect("a refused-attempt group");
    assert_eq!(g["attempts"], 3);
    assert_eq!(g["scheme"], Value::Null);
    assert_eq!(g["operations"][0]["operation"], "DeleteObject?");
    assert!(
        g["text"]
            .as_str()
            .unwrap()
            .contains("operations are guesses")
    );
    assert_eq!(r["summary"]["failing_attempts"], 3);
}
