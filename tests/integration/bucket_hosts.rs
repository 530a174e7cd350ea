//! An endpoint configured with its bucket in the host (`--endpoint https://fx-virtual.s3.local.
//! test:8443`, how object_store/obstore configurations are written) names every request of the
//! real virtual-hosted captures as their clients labelled them: operation, bucket, key (issue 10).

use crate::harness::{Fixture, s3wire, split_url, str_field};
use serde_json::Value;

/// `analyze` with the fixture's key log and, as the only endpoints, the bucket-carrying form of
/// each endpoint its clients used.
fn analyze_with_bucket_endpoints(f: &Fixture) -> (i32, Value, Vec<String>) {
    let mut endpoints: Vec<String> = Vec::new();
    for l in &f.labels {
        let url = str_field(l, "url");
        let (scheme, rest) = url.split_once("://").unwrap();
        let authority = rest.split('/').next().unwrap();
        let e = format!("{scheme}://{authority}");
        if scheme == "https" && !endpoints.contains(&e) {
            endpoints.push(e);
        }
    }
    let capture = f.capture();
    let keylog = f.keylog().unwrap();
    let mut args = vec![
        "analyze",
        capture.as_str(),
        "--keylog",
        keylog.as_str(),
        "--no-aws-config",
        "--no-redact",
        "--format",
        "json",
    ];
    for e in &endpoints {
        args.extend(["--endpoint", e.as_str()]);
    }
    let out = s3wire(&args);
    let report = serde_json::from_slice(&out.stdout).unwrap();
    (out.status.code().unwrap(), report, endpoints)
}

/// The key a label's URL names: its path without the leading `/`, percent-decoded.
fn label_key(target: &str) -> Option<String> {
    let path = target.split('?').next().unwrap().trim_start_matches('/');
    (!path.is_empty()).then(|| path.replace("%20", " "))
}

#[test]
fn a_bucket_carrying_endpoint_names_the_virtual_hosted_captures_as_labelled() {
    for name in ["virtual", "s3cmd-virtual"] {
        let f = Fixture::load(name);
        let (code, report, endpoints) = analyze_with_bucket_endpoints(&f);
        assert!(
            endpoints[0].starts_with("https://fx-"),
            "{name}: {endpoints:?}"
        );
        let requests = report["requests"].as_array().unwrap();
        assert_eq!(requests.len(), f.labels.len(), "{name}");
        for (l, r) in f.labels.iter().zip(requests) {
            let url = split_url(str_field(l, "url"));
            let bucket = url.host.split('.').next().unwrap();
            let want = (
                str_field(l, "method"),
                url.target.as_str(),
                str_field(l, "operation"),
                Some(bucket),
                label_key(&url.target),
            );
            let got = (
                str_field(r, "method"),
                str_field(r, "target"),
                str_field(r, "operation"),
                r["bucket"].as_str(),
                r["key"].as_str().map(str::to_string),
            );
            assert_eq!(got, want, "{name}: label {}", l["index"]);
            assert_eq!(r["addressing"], "virtual-hosted", "{name}");
        }
        // The plaintext DeleteObject is still the finding, against the endpoint as given.
        let plain: Vec<&Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["kind"] == "plaintext-to-https-endpoint")
            .collect();
        let want: Vec<usize> = f.expect_list("plaintext_to_https");
        assert_eq!(plain.len(), want.len(), "{name}");
        for (x, i) in plain.iter().zip(want) {
            assert_eq!(x["operation"], f.labels[i]["operation"], "{name}");
            assert_eq!(x["endpoint"], endpoints[0].as_str(), "{name}");
        }
        assert_eq!(code, 1, "{name}");
    }
}
