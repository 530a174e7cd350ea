//! Issue 4: the exact findings on every labelled fixture, no false alarms, the exit status, and
//! no secret from the capture in any output format.

use crate::harness::{Fixture, s3wire, str_field};
use serde_json::Value;

fn findings<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .collect()
}

#[test]
fn plaintext_requests_to_https_endpoints_are_exactly_the_labelled_ones() {
    let mut checked = 0;
    for f in Fixture::all()
        .iter()
        .filter(|f| f.meta["snaplen"].as_u64().unwrap_or(0) >= 1500)
    {
        // downgrade-refused holds only SYNs and RSTs to 127.0.0.1:80: nothing in it names the
        // host, so the engineer says what address the endpoint had (as with curl --resolve).
        let resolve: &[&str] = if f.name == "downgrade-refused" {
            &["--resolve", "s3.local.test=127.0.0.1"]
        } else {
            &[]
        };
        let (code, report) = f.analyze(resolve);
        let want: Vec<&str> = f
            .expect_list("plaintext_to_https")
            .iter()
            .map(|&i| str_field(&f.labels[i], "operation"))
            .collect();
        let mut got: Vec<&str> = findings(&report, "plaintext-to-https-endpoint")
            .iter()
            .map(|x| str_field(x, "operation"))
            .collect();
        let mut want_sorted = want.clone();
        want_sorted.sort();
        got.sort();
        assert_eq!(
            got, want_sorted,
            "{}: plaintext-to-https-endpoint findings",
            f.name
        );
        let tls_port = findings(&report, "plaintext-to-tls-port").len();
        assert_eq!(
            tls_port,
            f.expect_list("plaintext_to_tls_port").len(),
            "{}: plaintext-to-tls-port",
            f.name
        );
        let refused = findings(&report, "refused-plaintext-attempt").len() as u64;
        let want_refused = f.meta["expect"]["refused_attempts"].as_u64().unwrap_or(0);
        assert_eq!(
            refused, want_refused,
            "{}: refused-plaintext-attempt",
            f.name
        );
        let any = !report["findings"].as_array().unwrap().is_empty();
        assert_eq!(code, if any { 1 } else { 0 }, "{}: exit status", f.name);
        checked += want.len();
    }
    assert!(
        checked >= 10,
        "only {checked} labelled plaintext-to-https requests"
    );
}

#[test]
fn clean_sessions_have_no_finding_and_exit_0() {
    for name in ["clean-https", "clean-http", "boto3-tls"] {
        let f = Fixture::load(name);
        let (code, report) = f.analyze(&[]);
        assert_eq!(report["findings"], serde_json::json!([]), "{name}");
        assert_eq!(code, 0, "{name}");
    }
}

#[test]
fn capture_alone_proves_the_host_speaks_tls() {
    // No --endpoint, no AWS config: the TLS sessions to s3.local.test make it an HTTPS host.
    let f = Fixture::load("mixed");
    let out = s3wire(&[
        "analyze",
        &f.capture(),
        "--format",
        "json",
        "--no-aws-config",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = findings(&report, "plaintext-to-https-endpoint");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["operation"], "DeleteObject");
    assert_eq!(found[0]["origin"], "inferred");
    assert!(str_field(found[0], "endpoint_detail").contains("s3.local.test"));
}

#[test]
fn refused_attempts_name_a_guess_marked_as_such() {
    let f = Fixture::load("refused");
    let (_, report) = f.analyze(&[]);
    let refused = findings(&report, "refused-plaintext-attempt");
    assert_eq!(refused.len(), 3);
    for r in refused {
        assert_eq!(
            r["operation"],
            Value::Null,
            "no bytes left: the operation is not known"
        );
        assert!(r["attempt"].is_u64());
        // The client's next request (the key log decrypts it) was the DeleteObject retried over
        // HTTPS: that is the guess, and it says it is one.
        assert_eq!(r["guess"]["operation"], "DeleteObject", "{r}");
        assert!(r["guess"]["request"].is_u64());
        assert!(str_field(&r["guess"], "reason").contains("guess"), "{r}");
    }
}

#[test]
fn downgrade_hint_names_the_botocore_bug() {
    let f = Fixture::load("downgrade-forwarded");
    let (_, report) = f.analyze(&[]);
    let found = findings(&report, "plaintext-to-https-endpoint");
    assert!(!found.is_empty());
    for x in found {
        let hint = str_field(x, "hint");
        assert!(
            hint.contains("1.40.14") && hint.contains("use_ssl"),
            "{hint}"
        );
    }
}

#[test]
fn no_secret_from_the_capture_appears_in_any_format() {
    for name in ["downgrade-forwarded", "boto3-plain", "tls-port"] {
        let f = Fixture::load(name);
        let (_, raw) = f.analyze(&["--no-redact"]);
        let secrets = secrets_in(&raw);
        assert!(
            !secrets.is_empty(),
            "{name}: no signature seen with --no-redact"
        );
        for format in ["table", "json", "jsonl", "markdown"] {
            let mut args = vec![
                "analyze".to_string(),
                f.capture(),
                "--format".into(),
                format.into(),
                "-v".into(),
            ];
            for e in f.https_endpoints() {
                args.push("--endpoint".into());
                args.push(e);
            }
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = String::from_utf8(s3wire(&argv).stdout).unwrap();
            for s in &secrets {
                assert!(
                    !out.contains(s.as_str()),
                    "{name} {format}: secret {s} leaked"
                );
            }
        }
    }
}

/// Signatures and access key ids as they appear unredacted.
fn secrets_in(report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for r in report["requests"].as_array().unwrap() {
        let auth = str_field(r, "authorization");
        if let Some(sig) = auth.split("Signature=").nth(1) {
            out.push(sig.trim().to_string());
        }
        if let Some(cred) = auth.split("Credential=").nth(1) {
            out.push(cred.split('/').next().unwrap().to_string());
        }
        let target = str_field(r, "target");
        for p in ["Signature=", "X-Amz-Signature="] {
            if let Some(v) = target.split(p).nth(1) {
                out.push(v.split('&').next().unwrap().to_string());
            }
        }
    }
    out.retain(|s| s.len() >= 16);
    out
}

/// `--max-requests` bounds only the rows a human report lists: every request is still judged,
/// JSON lists them all, and the table says how many it left out.
#[test]
fn max_requests_bounds_the_listing_never_the_judgement() {
    let f = Fixture::load("mixed");
    let (code, report) = f.analyze(&["--max-requests", "0"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report, "plaintext-to-https-endpoint").len(), 1);
    assert_eq!(report["requests"].as_array().unwrap().len(), 8);
    assert_eq!(report["summary"]["requests"], 8);
    assert!(
        f.keylog().is_some(),
        "mixed has a key log: its HTTPS requests are counted"
    );
    let out = f.run("table", &["--max-requests", "3"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("… 5 more requests: use -v"), "{text}");
    assert!(text.contains("8 requests (1 plaintext)"), "{text}");
}

/// Issue 12: every fixture's findings keep the hint they had (its cause, first); where there is
/// room, the client's own way of ending up on http follows, named from its User-Agent. s3cmd
/// sends no User-Agent: its hint is unchanged.
#[test]
fn fixture_findings_keep_their_hints_and_name_the_clients_http_settings() {
    let mixed = |host: &str| {
        format!(
            "this client reached {host} over HTTPS too: two differently configured clients or a \
             per-operation endpoint override"
        )
    };
    let boto = "boto3/botocore 1.44.8: endpoint_url=\"http://…\" (use_ssl=False is ignored with \
                one) (boto3 docs, Session.client)";
    let https = "plaintext-to-https-endpoint";
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "downgrade-forwarded",
            vec![(
                https,
                "botocore 1.40.14 rewrites an https endpoint_url to http when use_ssl is \
                 False/None (boto/botocore#3542, fixed in 1.40.15): upgrade botocore or drop \
                 use_ssl"
                    .into(),
            )],
        ),
        (
            "mixed",
            vec![(https, format!("{}; {boto}", mixed("s3.local.test")))],
        ),
        (
            "js-mixed",
            vec![(
                https,
                format!(
                    "{}; AWS SDK for JavaScript v3 3.1168.0: endpoint: \"http://…\", or tls: \
                     false (@smithy/config-resolver EndpointsInputConfig)",
                    mixed("s3.local.test")
                ),
            )],
        ),
        (
            "awscli-mixed",
            vec![(
                https,
                format!(
                    "{}; AWS CLI 1.46.3: --endpoint-url http://… or endpoint_url in the profile \
                     (--no-verify-ssl keeps https) (aws help, GLOBAL OPTIONS)",
                    mixed("s3.local.test")
                ),
            )],
        ),
        (
            "s3cmd-virtual",
            vec![(https, mixed("fx-s3cmd.s3.local.test"))],
        ),
        (
            "tls-port",
            vec![
                (https, format!("{}; {boto}", mixed("s3.local.test"))),
                (
                    "plaintext-to-tls-port",
                    format!(
                        "the server answered \"The plain HTTP request was sent to HTTPS port\": \
                         plain HTTP was sent to the TLS port 8443 — the endpoint URL's scheme is \
                         http but the port speaks TLS; {}",
                        mixed("s3.local.test")
                    ),
                ),
            ],
        ),
        (
            "redirect-http",
            vec![(
                https,
                "followed a redirect from \
                 https://s3.local.test:8445/fx-redirect-http/shared/report.csv (request #3, 301) \
                 to http://s3.local.test:5000/fx-redirect-http/shared/report.csv: the server sent \
                 the client to plaintext; fix the redirect, not the client"
                    .into(),
            )],
        ),
        (
            "refused",
            vec![(
                "refused-plaintext-attempt",
                format!(
                    "connection to plaintext port 80 of https://s3.local.test:8443 refused (3 \
                     attempt(s) from 127.0.0.1 within 30 s): no request bytes were sent; the \
                     client was configured with, or rewritten to, http://; the guessed request's \
                     User-Agent: {boto}"
                ),
            )],
        ),
    ];
    for (name, want) in cases {
        let (_, report) = Fixture::load(name).analyze(&[]);
        let mut got: Vec<(&str, String)> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] != "credentials-in-cleartext")
            .map(|f| (str_field(f, "kind"), str_field(f, "hint").to_string()))
            .collect();
        got.sort();
        got.dedup();
        assert_eq!(got, want, "{name}");
    }
}

/// Issue 12: urllib followed an HTTPS front door's `301 Location: http://…` (fixture
/// `redirect-http`): the redirecting request keeps its Location (redacted like a target), and the
/// plaintext GET that followed it is a finding whose hint names that request.
#[test]
fn a_followed_redirect_to_http_is_named_and_its_location_kept() {
    let f = Fixture::load("redirect-http");
    let (code, report) = f.analyze(&[]);
    assert_eq!(code, 1);
    let requests = report["requests"].as_array().unwrap();
    let redirect = &requests[2];
    assert_eq!(
        (redirect["scheme"].as_str(), redirect["status"].as_u64()),
        (Some("https"), Some(301))
    );
    let location = str_field(redirect, "location");
    assert!(
        location.starts_with(
            "http://s3.local.test:5000/fx-redirect-http/shared/report.csv?AWSAccessKeyId=AKIA…&Signature=<redacted>"
        ),
        "{location}"
    );
    assert!(requests.iter().filter(|r| !r["location"].is_null()).count() == 1);
    // Unredacted, it is the URL urllib followed (the client's label for the next hop).
    let (_, raw) = f.analyze(&["--no-redact"]);
    let followed = str_field(&f.labels[3], "url");
    assert_eq!(str_field(&raw["requests"][2], "location"), followed);
    let found = findings(&report, "plaintext-to-https-endpoint");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["request"], 4);
    assert_eq!(found[0]["operation"], "GetObject");
    assert!(
        str_field(found[0], "hint")
            .starts_with("followed a redirect from https://s3.local.test:8445/"),
        "{}",
        found[0]
    );
}
