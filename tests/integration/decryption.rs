//! Issue 6: TLS decrypted from key logs, checked byte for byte against tshark's own decryption
//! (fixtures/labels/<name>.tshark.tsv, made by fixtures/gen/tshark_truth.sh), and every session
//! that cannot be decrypted says why.

use crate::harness::{Fixture, fixtures_dir, s3wire, str_field};
use serde_json::Value;
use std::collections::BTreeMap;

/// (method, target) → count, for the https requests of a report.
fn https_requests(report: &Value) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for r in report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["scheme"] == "https")
    {
        *m.entry((
            str_field(r, "method").to_string(),
            str_field(r, "target").to_string(),
        ))
        .or_default() += 1;
    }
    m
}

fn tshark_requests(name: &str) -> Option<BTreeMap<(String, String), usize>> {
    let text = std::fs::read_to_string(
        fixtures_dir()
            .join("labels")
            .join(format!("{name}.tshark.tsv")),
    )
    .ok()?;
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.first() == Some(&"https") && f.len() == 3 {
            *m.entry((f[1].to_string(), f[2].to_string())).or_default() += 1;
        }
    }
    Some(m)
}

#[test]
fn decrypted_requests_match_tshark_byte_for_byte() {
    let mut compared = 0;
    for f in Fixture::all() {
        let Some(theirs) = tshark_requests(&f.name) else {
            continue;
        };
        let (_, report) = f.analyze(&["--no-redact"]);
        let ours = https_requests(&report);
        for (req, n) in &theirs {
            assert!(
                ours.get(req).copied().unwrap_or(0) >= *n,
                "{}: tshark decrypted {req:?} ×{n}, we did not",
                f.name
            );
        }
        // Where tshark decrypted every labelled TLS request, we must find exactly the same.
        if theirs.values().sum::<usize>() == f.expect_list("tls_requests").len() {
            assert_eq!(
                ours, theirs,
                "{}: decrypted requests differ from tshark's",
                f.name
            );
        }
        compared += theirs.values().sum::<usize>();
    }
    assert!(
        compared > 100,
        "only {compared} tshark-decrypted requests compared"
    );
}

#[test]
fn reordered_tls_is_decrypted_where_tshark_loses_it() {
    let f = Fixture::load("boto3-tls-reordered");
    let tshark = tshark_requests(&f.name).unwrap();
    let (_, report) = f.analyze(&[]);
    let ours: usize = https_requests(&report).values().sum();
    assert_eq!(
        ours,
        f.expect_list("tls_requests").len(),
        "{}",
        report["quality"]
    );
    assert!(
        tshark.values().sum::<usize>() < ours,
        "tshark now manages this capture: make it harder"
    );
    assert_eq!(report["quality"]["gaps"], 0);
}

#[test]
fn sessions_say_why_they_were_not_decrypted() {
    let f = Fixture::load("boto3-tls");
    let run = |extra: &[&str]| {
        let mut args = vec!["analyze", "--format", "json", "--no-aws-config"];
        let cap = f.capture();
        args.push(&cap);
        args.extend_from_slice(extra);
        let out = s3wire(&args);
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let without = run(&[]);
    assert!(
        without["tls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| str_field(t, "decryption").starts_with("no key log"))
    );
    assert_eq!(
        without["quality"]["tls_not_decrypted"],
        without["tls"].as_array().unwrap().len()
    );
    assert_eq!(https_requests(&without).len(), 0);

    let other_keys = fixtures_dir().join("captures/mixed.keys");
    let wrong = run(&["--keylog", other_keys.to_str().unwrap()]);
    assert!(
        wrong["tls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| str_field(t, "decryption").contains("no secrets")),
        "{}",
        wrong["tls"]
    );
}

#[test]
fn malformed_key_log_lines_are_reported_with_their_line_number() {
    let f = Fixture::load("mixed");
    let dir = tempfile::tempdir().unwrap();
    let keys = std::fs::read_to_string(fixtures_dir().join("captures/mixed.keys")).unwrap();
    let bad = format!("# comment\nCLIENT_RANDOM nothex 00\n{keys}");
    let path = dir.path().join("bad.keys");
    std::fs::write(&path, bad).unwrap();
    let (_, report) = {
        let out = s3wire(&[
            "analyze",
            &f.capture(),
            "--keylog",
            path.to_str().unwrap(),
            "--format",
            "json",
            "--no-aws-config",
        ]);
        (
            out.status.code(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        )
    };
    let warnings = report["quality"]["warnings"].to_string();
    assert!(warnings.contains("bad.keys line 2"), "{warnings}");
    // The good lines still decrypt.
    assert_eq!(
        https_requests(&report).values().sum::<usize>(),
        f.expect_list("tls_requests").len()
    );
}

#[test]
fn secrets_embedded_in_pcapng_decrypt_without_a_flag() {
    let f = Fixture::load("mixed-dsb");
    let out = s3wire(&[
        "analyze",
        &f.capture(),
        "--format",
        "json",
        "--no-aws-config",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        https_requests(&report).values().sum::<usize>(),
        f.expect_list("tls_requests").len()
    );
    assert!(
        report["tls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["decrypted"] == true)
    );
}
