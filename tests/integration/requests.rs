//! Issue 2: `analyze` finds every labelled request on the wire (method, target, scheme, status)
//! and invents none, on every fixture, whatever its link type, format or damage.

use crate::harness::{Fixture, split_url, str_field};
use serde_json::Value;

/// Fixtures whose snaplen cuts request heads: checked by their own test.
fn heads_survive(f: &Fixture) -> bool {
    f.meta["snaplen"].as_u64().unwrap_or(u64::MAX) >= 1500
}

fn plaintext_requests(report: &Value) -> Vec<&Value> {
    report["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter(|r| r["scheme"] == "http")
        .collect()
}

/// Match each labelled request that reached the wire (plaintext, or TLS decrypted with the
/// client's key log) to a distinct request in the report, scheme included.
fn unmatched_labels(f: &Fixture, report: &Value) -> Vec<String> {
    let mut pool: Vec<&Value> = report["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .collect();
    let mut missing = Vec::new();
    // Packets removed (meta `damage`): a response after a hole is not paired, never guessed.
    let damaged = f.meta["damage"].is_string();
    for i in wire_labels(f) {
        let label = &f.labels[i];
        let url = split_url(str_field(label, "url"));
        let found = pool.iter().position(|r| {
            r["method"] == label["method"]
                && str_field(r, "target") == url.target
                && (r["status"] == label["status"] || (damaged && r["status"].is_null()))
                && str_field(r, "scheme") == url.scheme
        });
        match found {
            Some(p) => {
                pool.remove(p);
            }
            None => missing.push(format!(
                "{} label {i}: {} {} {} status {}",
                f.name, url.scheme, label["method"], url.target, label["status"]
            )),
        }
    }
    missing.extend(pool.iter().map(|r| {
        format!(
            "{}: invented request {} {} {} status {}",
            f.name, r["scheme"], r["method"], r["target"], r["status"]
        )
    }));
    missing
}

/// Labels of requests whose bytes are readable in the capture: plaintext ones, and TLS ones
/// when the scenario ships the client's key log.
fn wire_labels(f: &Fixture) -> Vec<usize> {
    let mut wanted = f.expect_list("plaintext_requests");
    if f.keylog().is_some() || f.meta["keylog_embedded"].is_string() {
        wanted.extend(f.expect_list("tls_requests"));
    }
    wanted.sort();
    wanted
}

#[test]
fn every_labelled_request_is_found_decrypted_or_not_and_none_invented() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for f in Fixture::all().iter().filter(|f| heads_survive(f)) {
        let (_, report) = f.analyze(&["--no-redact"]);
        problems.extend(unmatched_labels(f, &report));
        checked += wire_labels(f).len();
    }
    assert!(
        checked > 50,
        "only {checked} labelled plaintext requests: fixtures missing?"
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_tls_session_is_seen_with_its_sni() {
    for f in Fixture::all().iter().filter(|f| heads_survive(f)) {
        let tls_labels = f.expect_list("tls_requests");
        if tls_labels.is_empty() {
            continue;
        }
        let (_, report) = f.analyze(&[]);
        let snis: Vec<&str> = report["tls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| str_field(t, "sni"))
            .collect();
        for i in tls_labels {
            let host = split_url(str_field(&f.labels[i], "url")).host;
            assert!(
                snis.contains(&host.as_str()),
                "{}: label {i} host {host} not among TLS SNIs {snis:?}",
                f.name
            );
        }
    }
}

#[test]
fn link_type_and_format_are_reported_as_in_the_file() {
    for f in Fixture::all() {
        let (_, report) = f.analyze(&[]);
        let want = str_field(&f.meta, "link_type");
        let got: Vec<&str> = report["capture"]["link_types"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert!(
            got.contains(&want),
            "{}: link types {got:?}, want {want}",
            f.name
        );
        assert!(
            report["capture"]["packets"].as_u64().unwrap() > 10,
            "{}: packets",
            f.name
        );
    }
}

#[test]
fn refused_connections_are_attempts() {
    for f in Fixture::all() {
        let want = f.meta["expect"]["refused_attempts"].as_u64().unwrap_or(0);
        let (_, report) = f.analyze(&[]);
        let refused = report["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["outcome"] == "refused")
            .count();
        assert_eq!(refused as u64, want, "{}: refused attempts", f.name);
    }
}

#[test]
fn reordered_and_duplicated_capture_reassembles_to_the_same_requests() {
    let f = Fixture::load("downgrade-forwarded-reordered");
    let (_, report) = f.analyze(&[]);
    assert!(report["quality"]["out_of_order_segments"].as_u64().unwrap() > 0);
    assert!(
        report["quality"]["retransmitted_segments"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(report["quality"]["gaps"], 0);
    assert!(unmatched_labels(&f, &report).is_empty());
}

#[test]
fn truncated_file_yields_what_it_holds_and_says_so() {
    let f = Fixture::load("mixed-truncated");
    let (_, report) = f.analyze(&[]);
    assert_eq!(report["quality"]["truncated_files"], 1);
    let warnings = report["quality"]["warnings"].to_string();
    assert!(warnings.contains("truncated"), "{warnings}");
    assert!(unmatched_labels(&f, &report).is_empty());
}

#[test]
fn snaplen_cut_capture_counts_truncation_and_invents_nothing() {
    let f = Fixture::load("mixed-snaplen96");
    let (_, report) = f.analyze(&[]);
    assert!(report["quality"]["truncated"].as_u64().unwrap() > 0);
    for r in plaintext_requests(&report) {
        // Whatever is reported must be a prefix of something the client really sent.
        let target = str_field(r, "target");
        assert!(
            f.labels
                .iter()
                .any(|l| split_url(str_field(l, "url")).target.starts_with(target)),
            "invented {target}"
        );
    }
}

/// Issue 3: every labelled plaintext request is named as the client itself named it, with the
/// bucket the client used (path-style or virtual-hosted), on every client's fixtures.
#[test]
fn every_labelled_request_is_named_as_its_client_named_it() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for f in Fixture::all().iter().filter(|f| heads_survive(f)) {
        let (_, report) = f.analyze(&["--no-redact"]);
        let requests: Vec<&Value> = report["requests"].as_array().unwrap().iter().collect();
        for i in wire_labels(f) {
            let label = &f.labels[i];
            let url = split_url(str_field(label, "url"));
            let Some(r) = requests.iter().find(|r| {
                r["method"] == label["method"]
                    && str_field(r, "target") == url.target
                    && str_field(r, "scheme") == url.scheme
            }) else {
                continue; // reported by the test above
            };
            checked += 1;
            let want_op = str_field(label, "operation");
            // Labels from SDKs use the model's name; a browser-style presigned fetch is GetObject.
            if str_field(r, "operation") != want_op {
                wrong.push(format!(
                    "{} label {i}: {} {} named {:?} ({}), client says {want_op}",
                    f.name,
                    label["method"],
                    url.target,
                    r["operation"],
                    str_field(r, "operation_note")
                ));
            }
            if let Some(bucket) = expected_bucket(f, &url)
                && r["bucket"] != bucket.as_str()
            {
                wrong.push(format!(
                    "{} label {i}: bucket {:?}, client used {bucket}",
                    f.name, r["bucket"]
                ));
            }
        }
    }
    assert!(checked > 50, "only {checked} named requests checked");
    assert!(
        wrong.is_empty(),
        "{} misnamed of {checked}:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The bucket a label's URL addresses: the labels before a configured endpoint's host
/// (virtual-hosted), else the first path segment (path-style); None for service-level calls.
fn expected_bucket(f: &Fixture, url: &crate::harness::Url) -> Option<String> {
    for e in f.meta["endpoints_configured"].as_array()? {
        let endpoint_host = split_url(e.as_str()?).host;
        if let Some(prefix) = url.host.strip_suffix(&format!(".{endpoint_host}")) {
            return Some(prefix.to_string());
        }
    }
    let path = url.target.split('?').next()?;
    let first = path.trim_start_matches('/').split('/').next()?;
    (!first.is_empty()).then(|| first.to_string())
}

/// Without `--endpoint` or AWS config, a virtual-hosted client of a custom endpoint is still read
/// right: `PUT /` or `GET /?list-type=2` is no S3 operation path-style, so the host carries the
/// bucket, and the service host it proves makes later object requests split the same way.
#[test]
fn virtual_hosted_clients_are_read_right_without_any_configuration() {
    for name in ["virtual", "s3cmd-virtual"] {
        let f = Fixture::load(name);
        let keylog = f.keylog().unwrap();
        let out = crate::harness::s3wire(&[
            "analyze",
            &f.capture(),
            "--keylog",
            &keylog,
            "--format",
            "json",
            "--no-aws-config",
            "--no-redact",
        ]);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let requests = report["requests"].as_array().unwrap();
        assert_eq!(requests.len(), wire_labels(&f).len(), "{name}");
        for (r, i) in requests.iter().zip(wire_labels(&f)) {
            let label = &f.labels[i];
            let url = split_url(str_field(label, "url"));
            assert_eq!(
                str_field(r, "operation"),
                str_field(label, "operation"),
                "{name} label {i}"
            );
            let bucket = url.host.split('.').next().unwrap();
            assert_eq!(
                r["bucket"], bucket,
                "{name} label {i}: {} {}",
                r["method"], r["target"]
            );
            assert_eq!(r["addressing"], "virtual-hosted", "{name} label {i}");
        }
    }
}
