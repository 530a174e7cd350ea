//! One request per operation of the model, built from its request URI and required members
//! (`testdata/operations.tsv`, copied from the model notes, independent of the generated table),
//! classified path-style, virtual-hosted, and in the Smithy SDKs' `?x-id=` form.

use super::*;
use crate::time::Timestamp;

const MODEL_ROWS: &str = include_str!("testdata/operations.tsv");
const BUCKET: &str = "amzn-s3-demo-bucket";
/// `photos/2026/a b ✓+.jpg`, as SDKs encode it (`+` sent literally).
const RAW_KEY: &str = "photos/2026/a%20b%20%E2%9C%93+.jpg";
const KEY: &str = "photos/2026/a b \u{2713}+.jpg";

struct Row<'a> {
    name: &'a str,
    method: &'a str,
    uri: &'a str,
    required_query: Vec<&'a str>,
    required_headers: Vec<&'a str>,
    deprecated: bool,
    smithy_uri: &'a str,
}

fn rows() -> Vec<Row<'static>> {
    let list = |s: &'static str| s.split(',').filter(|x| !x.is_empty()).collect::<Vec<_>>();
    MODEL_ROWS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 7, "{l}");
            Row {
                name: f[0],
                method: f[1],
                uri: f[2],
                required_query: list(f[3]),
                required_headers: list(f[4]),
                deprecated: f[5] == "yes",
                smithy_uri: f[6],
            }
        })
        .collect()
}

pub(super) fn request(method: &str, target: &str, headers: &[(&str, &str)]) -> HttpRequest {
    HttpRequest {
        ts: Timestamp::default(),
        method: method.to_string().into(),
        target: target.to_string(),
        version: 1,
        headers: headers.iter().copied().collect(),
        body_len: Some(0),
        cut: None,
    }
}

fn member_value(member: &str) -> &'static str {
    match member {
        "uploadId" => "VXBsb2FkIElE",
        "partNumber" => "3",
        "id" => "report-1",
        _ => "n1",
    }
}

fn header_value(header: &str) -> &'static str {
    match header {
        "x-amz-copy-source" => "/source-bucket/src%20key.txt",
        "x-amz-object-attributes" => "ETag,ObjectSize",
        "x-amz-rename-source" => "/amzn-s3-demo-bucket/old%20name",
        _ => "token-1",
    }
}

/// The request target for a URI template, with the required query members appended.
fn target(template: &str, row: &Row<'_>) -> String {
    let mut t = template
        .replace("{Bucket}", BUCKET)
        .replace("{Key+}", RAW_KEY);
    for m in &row.required_query {
        t.push(if t.contains('?') { '&' } else { '?' });
        t.push_str(&format!("{m}={}", member_value(m)));
    }
    t
}

/// The host an SDK would use for this op: control-plane ops of directory buckets go to
/// `s3express-control`; WriteGetObjectResponse to its request route.
fn host_for(row: &Row<'_>, virtual_hosted: bool) -> String {
    match row.name {
        "ListDirectoryBuckets" => "s3express-control.us-west-2.amazonaws.com".to_string(),
        "WriteGetObjectResponse" => "route-1.s3-object-lambda.us-west-2.amazonaws.com".to_string(),
        _ if virtual_hosted && row.uri.starts_with("/{Bucket}") => {
            format!("{BUCKET}.s3.us-west-2.amazonaws.com")
        }
        _ => "s3.us-west-2.amazonaws.com".to_string(),
    }
}

fn classify_row(row: &Row<'_>, host: &str, target: &str) -> S3Request {
    let mut headers: Vec<(&str, &str)> = vec![("Host", host)];
    for h in &row.required_headers {
        headers.push((h, header_value(h)));
    }
    classify(
        &request(row.method, target, &headers),
        &HostHints::default(),
    )
}

/// Deprecated twins resolve to the current name and say so.
fn check(row: &Row<'_>, got: &S3Request, how: &str) {
    let rows = rows();
    let expected = if row.deprecated {
        let twin = rows
            .iter()
            .find(|r| !r.deprecated && r.method == row.method && r.uri == row.uri)
            .expect("current twin");
        let note = got.note.as_deref().unwrap_or_default();
        assert!(
            note.contains(&format!("deprecated {}", row.name)),
            "{how} {}: {note}",
            row.name
        );
        twin.name
    } else {
        row.name
    };
    assert_eq!(got.operation, Ok(expected), "{how} {}: {got:?}", row.name);
    if row.uri.starts_with("/{Bucket}") {
        assert_eq!(got.bucket.as_deref(), Some(BUCKET), "{how} {}", row.name);
    }
    let key = row.uri.contains("{Key+}").then_some(KEY);
    assert_eq!(got.key.as_deref(), key, "{how} {}", row.name);
}

#[test]
fn test_data_has_every_operation_of_the_table() {
    let rows = rows();
    assert_eq!(rows.len(), 116);
    for (row, op) in rows.iter().zip(ops::OPERATIONS.iter()) {
        assert_eq!(
            (row.name, row.method, row.uri),
            (op.name, op.method, op.request_uri)
        );
    }
}

#[test]
fn every_operation_classifies_to_itself_path_style() {
    for row in rows() {
        let got = classify_row(&row, &host_for(&row, false), &target(row.uri, &row));
        check(&row, &got, "path-style");
        let want = if host_for(&row, false).starts_with("s3express-control") {
            Addressing::ExpressControl
        } else if row.name == "WriteGetObjectResponse" {
            Addressing::ObjectLambda
        } else {
            Addressing::Path
        };
        assert_eq!(got.addressing, want, "{}", row.name);
    }
}

#[test]
fn every_bucket_operation_classifies_to_itself_virtual_hosted() {
    for row in rows().iter().filter(|r| r.uri.starts_with("/{Bucket}")) {
        let template = row.uri.replacen("/{Bucket}", "", 1);
        let template = if template.starts_with('/') {
            template
        } else {
            format!("/{template}")
        };
        let got = classify_row(row, &host_for(row, true), &target(&template, row));
        check(row, &got, "virtual-hosted");
        assert_eq!(got.addressing, Addressing::VirtualHosted, "{}", row.name);
    }
}

#[test]
fn every_smithy_uri_classifies_to_itself_with_x_id() {
    let mut with_x_id = 0;
    for row in rows().iter().filter(|r| !r.deprecated) {
        with_x_id += usize::from(row.smithy_uri.contains("x-id="));
        let got = classify_row(row, &host_for(row, true), &target(row.smithy_uri, row));
        check(row, &got, "smithy");
        let note = got.note.unwrap_or_default();
        assert!(
            !note.contains("x-id"),
            "x-id agrees with the structure: {}: {note}",
            row.name
        );
    }
    assert_eq!(with_x_id, 20);
}

#[test]
fn x_id_operations_on_an_unknown_custom_host_infer_virtual_hosting() {
    // Signed for s3, but the host is no hint: path style first, then x-id fixes the split. Only
    // a key without `/` shows it: `/a/b` fits `/{Bucket}/{Key+}` either way.
    let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, \
                SignedHeaders=host;x-amz-date, Signature=abc";
    for row in rows()
        .iter()
        .filter(|r| r.smithy_uri.starts_with("/{Key+}?x-id="))
    {
        let host = format!("{BUCKET}.storage.example.test:9000");
        let mut headers: Vec<(&str, &str)> = vec![("Host", &host), ("Authorization", auth)];
        for h in &row.required_headers {
            headers.push((h, header_value(h)));
        }
        let t = target(row.smithy_uri, row).replace(RAW_KEY, "a%20b.jpg");
        let got = classify(&request(row.method, &t, &headers), &HostHints::default());
        assert_eq!(got.operation, Ok(row.name), "{got:?}");
        assert_eq!(got.bucket.as_deref(), Some(BUCKET), "{}", row.name);
        assert_eq!(got.key.as_deref(), Some("a b.jpg"), "{}", row.name);
        assert_eq!(got.addressing, Addressing::VirtualHosted, "{}", row.name);
    }
}
