//! Endpoints that carry the bucket (issue 10): `--endpoint https://my-bucket.s3.local:8443`, as
//! object_store/obstore configurations write it, and `my-bucket.s3.us-east-1.amazonaws.com`.
//! Read path-style, every request to them is misnamed (`POST /?delete` nothing, `GET
//! /?list-type=2` ListBuckets, `PUT /docs/` CreateBucket).

use super::tests_ops::request;
use super::*;

const SIGNED: (&str, &str) = (
    "authorization",
    "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/s3/aws4_request, \
     SignedHeaders=host, Signature=00",
);

fn bk(r: &S3Request) -> (Option<&str>, Option<&str>) {
    (r.bucket.as_deref(), r.key.as_deref())
}

fn to(hints: &HostHints, host: &str, method: &str, target: &str) -> S3Request {
    classify(&request(method, target, &[("host", host), SIGNED]), hints)
}

/// (operation, bucket, key, addressing) of each request, in order.
fn named(
    hints: &HostHints,
    host: &str,
) -> Vec<(String, Option<String>, Option<String>, Addressing)> {
    [
        ("PUT", "/"),
        ("POST", "/?delete"),
        ("GET", "/?list-type=2&prefix=docs%2F"),
        ("PUT", "/docs/"),
        ("GET", "/docs/a%20b.txt"),
        ("DELETE", "/"),
    ]
    .iter()
    .map(|(m, t)| {
        let r = to(hints, host, m, t);
        let op = r
            .operation
            .map_or_else(|u| format!("<{u}>"), str::to_string);
        (op, r.bucket, r.key, r.addressing)
    })
    .collect()
}

fn want(bucket: &str) -> Vec<(String, Option<String>, Option<String>, Addressing)> {
    let b = || Some(bucket.to_string());
    let v = Addressing::VirtualHosted;
    vec![
        ("CreateBucket".into(), b(), None, v),
        ("DeleteObjects".into(), b(), None, v),
        ("ListObjectsV2".into(), b(), None, v),
        ("PutObject".into(), b(), Some("docs/".into()), v),
        ("GetObject".into(), b(), Some("docs/a b.txt".into()), v),
        ("DeleteBucket".into(), b(), None, v),
    ]
}

#[test]
fn an_endpoint_named_bucket_dot_s3_host_is_read_virtual_hosted() {
    let hints = HostHints::new(["https://my-bucket.s3.local:8443".to_string()]);
    assert_eq!(named(&hints, "my-bucket.s3.local:8443"), want("my-bucket"));
    // Plaintext to another port of the same name: the same bucket.
    assert_eq!(named(&hints, "my-bucket.s3.local:5000"), want("my-bucket"));
    // The service host itself stays path-style.
    let get = to(&hints, "s3.local:8443", "GET", "/other/k");
    assert_eq!(
        (get.operation.clone(), get.addressing),
        (Ok("GetObject"), Addressing::Path)
    );
    assert_eq!(bk(&get), (Some("other"), Some("k")));
    // A bucket with dots, and localhost.
    let dotted = HostHints::new(["https://logs.2026.s3.example.test".to_string()]);
    assert_eq!(
        named(&dotted, "logs.2026.s3.example.test"),
        want("logs.2026")
    );
    let local = HostHints::new(["http://fxl.localhost:4566".to_string()]);
    assert_eq!(named(&local, "fxl.localhost:4566"), want("fxl"));
}

#[test]
fn an_aws_endpoint_with_its_bucket_is_read_virtual_hosted() {
    let host = "my-bucket.s3.us-east-1.amazonaws.com";
    let hints = HostHints::new([format!("https://{host}")]);
    assert_eq!(named(&hints, host), want("my-bucket"));
    assert_eq!(named(&HostHints::default(), host), want("my-bucket"));
}

#[test]
fn an_endpoint_without_a_bucket_shape_stays_path_style() {
    // `minio.example.test` is a service host: `minio` is not a bucket.
    let hints = HostHints::new(["https://minio.example.test:9000".to_string()]);
    let get = to(&hints, "minio.example.test:9000", "GET", "/b/k");
    assert_eq!(
        (get.operation.clone(), bk(&get)),
        (Ok("GetObject"), (Some("b"), Some("k")))
    );
    let create = to(&hints, "minio.example.test:9000", "PUT", "/b");
    assert_eq!(
        (create.operation.clone(), bk(&create)),
        (Ok("CreateBucket"), (Some("b"), None))
    );
    assert_eq!(create.learned_bucket_host, None);
    // `s3.example.test` is a service host too (nothing before its `s3` label).
    let hints = HostHints::new(["https://s3.example.test".to_string()]);
    let list = to(&hints, "s3.example.test", "GET", "/");
    assert_eq!(list.operation, Ok("ListBuckets"));
}

#[test]
fn a_configured_host_whose_requests_only_make_sense_virtual_hosted_is_learned() {
    let mut hints = HostHints::new(["https://files.example.test".to_string()]);
    // Before any proof, `PUT /docs/` reads as CreateBucket: the pass is one-way.
    let early = to(&hints, "files.example.test", "PUT", "/docs/");
    assert_eq!(
        (early.operation.clone(), bk(&early)),
        (Ok("CreateBucket"), (Some("docs"), None))
    );
    let list = to(&hints, "files.example.test", "GET", "/?list-type=2");
    assert_eq!(
        (list.operation.clone(), bk(&list)),
        (Ok("ListObjectsV2"), (Some("files"), None))
    );
    assert_eq!(list.addressing, Addressing::VirtualHosted);
    assert_eq!(
        list.learned_bucket_host.as_deref(),
        Some("files.example.test")
    );
    assert_eq!(list.learned_service_host.as_deref(), Some("example.test"));
    hints.learn(&list);
    assert_eq!(named(&hints, "files.example.test"), want("files"));
}
