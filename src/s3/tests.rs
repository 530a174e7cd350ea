//! Addressing, disambiguation and unknowns, on requests shaped like real clients' ones.

use super::tests_ops::request;
use super::*;

const SIGV4: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, \
                     SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0123abcd";

fn go(method: &str, host: &str, target: &str) -> S3Request {
    go_with(method, target, &[("Host", host)])
}

fn go_with(method: &str, target: &str, headers: &[(&str, &str)]) -> S3Request {
    classify(&request(method, target, headers), &HostHints::default())
}

fn op(r: &S3Request) -> &str {
    r.operation.as_ref().copied().unwrap_or("<unknown>")
}

fn reason(r: &S3Request) -> &str {
    r.operation
        .as_ref()
        .err()
        .map_or("<known>", |u| u.reason.as_ref())
}

fn bk(r: &S3Request) -> (Option<&str>, Option<&str>) {
    (r.bucket.as_deref(), r.key.as_deref())
}

#[test]
fn tagging_is_bucket_level_path_style_and_object_level_virtual_hosted() {
    let p = go("GET", "s3.amazonaws.com", "/x?tagging");
    assert_eq!(
        (op(&p), bk(&p), p.addressing),
        ("GetBucketTagging", (Some("x"), None), Addressing::Path)
    );
    let v = go("GET", "b.s3.amazonaws.com", "/x?tagging");
    assert_eq!(
        (op(&v), bk(&v), v.addressing),
        (
            "GetObjectTagging",
            (Some("b"), Some("x")),
            Addressing::VirtualHosted
        )
    );
    // `GET /`: the service on the service host, the bucket on a bucket host.
    assert_eq!(op(&go("GET", "s3.amazonaws.com", "/")), "ListBuckets");
    assert_eq!(op(&go("GET", "b.s3.amazonaws.com", "/")), "ListObjects");
}

#[test]
fn every_aws_host_form_puts_the_bucket_where_it_belongs() {
    let cases = [
        ("b.s3.amazonaws.com", "b", Addressing::VirtualHosted),
        (
            "b.s3.us-west-2.amazonaws.com",
            "b",
            Addressing::VirtualHosted,
        ),
        (
            "b.s3-us-west-2.amazonaws.com",
            "b",
            Addressing::VirtualHosted,
        ),
        (
            "b.s3.dualstack.us-west-2.amazonaws.com",
            "b",
            Addressing::VirtualHosted,
        ),
        (
            "b.s3-fips.us-east-1.amazonaws.com",
            "b",
            Addressing::VirtualHosted,
        ),
        (
            "b.s3-fips.dualstack.us-east-1.amazonaws.com",
            "b",
            Addressing::VirtualHosted,
        ),
        (
            "b.s3-accelerate.amazonaws.com",
            "b",
            Addressing::VirtualHosted,
        ),
        (
            "b.s3-accelerate.dualstack.amazonaws.com",
            "b",
            Addressing::VirtualHosted,
        ),
        (
            "my.dotted.b.s3.cn-northwest-1.amazonaws.com.cn",
            "my.dotted.b",
            Addressing::VirtualHosted,
        ),
        (
            "ap-123456789012.s3-accesspoint.us-west-2.amazonaws.com",
            "ap-123456789012",
            Addressing::AccessPoint,
        ),
        (
            "ap-123456789012.s3-object-lambda.us-west-2.amazonaws.com",
            "ap-123456789012",
            Addressing::AccessPoint,
        ),
        (
            "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com",
            "mfzwi23gnjvgw.mrap",
            Addressing::MultiRegionAccessPoint,
        ),
        (
            "b--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com",
            "b--usw2-az1--x-s3",
            Addressing::ExpressZonal,
        ),
    ];
    for (host, bucket, addressing) in cases {
        let r = go("GET", &format!("{host}:80"), "/dir/photo.jpg");
        assert_eq!(
            (op(&r), bk(&r), r.addressing),
            (
                "GetObject",
                (Some(bucket), Some("dir/photo.jpg")),
                addressing
            ),
            "{host}"
        );
    }
    for host in [
        "s3.amazonaws.com",
        "s3.eu-west-1.amazonaws.com",
        "s3-eu-west-1.amazonaws.com",
        "s3.dualstack.eu-west-1.amazonaws.com",
    ] {
        let r = go("DELETE", host, "/b/k");
        assert_eq!(
            (op(&r), bk(&r), r.addressing),
            ("DeleteObject", (Some("b"), Some("k")), Addressing::Path),
            "{host}"
        );
    }
}

#[test]
fn s3_express_control_and_zonal_requests() {
    let ctl = "s3express-control.us-west-2.amazonaws.com";
    assert_eq!(op(&go("GET", ctl, "/")), "ListDirectoryBuckets");
    let r = go("PUT", ctl, "/b--usw2-az1--x-s3");
    assert_eq!(
        (op(&r), bk(&r), r.addressing),
        (
            "CreateBucket",
            (Some("b--usw2-az1--x-s3"), None),
            Addressing::ExpressControl
        )
    );
    // CreateSession: `GET /?session` on the zonal host, with its session-mode header.
    let zonal = "b--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com";
    let r = go_with(
        "GET",
        "/?session",
        &[("Host", zonal), ("x-amz-create-session-mode", "ReadWrite")],
    );
    assert_eq!(
        (op(&r), bk(&r), r.addressing),
        (
            "CreateSession",
            (Some("b--usw2-az1--x-s3"), None),
            Addressing::ExpressZonal
        )
    );
    // ListBuckets' own optional query keeps it ListBuckets; the directory one's picks the other.
    assert_eq!(
        op(&go(
            "GET",
            "s3.amazonaws.com",
            "/?max-buckets=10&bucket-region=us-east-1"
        )),
        "ListBuckets"
    );
    assert_eq!(
        op(&go("GET", "s3.amazonaws.com", "/?max-directory-buckets=10")),
        "ListDirectoryBuckets"
    );
}

#[test]
fn custom_endpoints_by_hint_and_localhost() {
    let hints = HostHints::new([
        "localhost:4566".to_string(),
        "http://minio.local:9000".to_string(),
    ]);
    let with =
        |host: &str, target: &str| classify(&request("GET", target, &[("Host", host)]), &hints);
    let r = with("b.localhost:4566", "/k?tagging");
    assert_eq!(
        (op(&r), bk(&r), r.addressing),
        (
            "GetObjectTagging",
            (Some("b"), Some("k")),
            Addressing::VirtualHosted
        )
    );
    let r = with("localhost:4566", "/b/k");
    assert_eq!(
        (op(&r), bk(&r), r.addressing),
        ("GetObject", (Some("b"), Some("k")), Addressing::Path)
    );
    let r = with("minio.local:9000", "/b?list-type=2&prefix=a%2F");
    assert_eq!((op(&r), bk(&r)), ("ListObjectsV2", (Some("b"), None)));
    // `*.localhost` is virtual-hosted without a hint, once the request says it is S3.
    let r = go_with(
        "GET",
        "/k",
        &[("Host", "b.localhost:9000"), ("Authorization", SIGV4)],
    );
    assert_eq!(
        (op(&r), bk(&r), r.addressing),
        (
            "GetObject",
            (Some("b"), Some("k")),
            Addressing::VirtualHosted
        )
    );
    let mut hints = HostHints::default();
    hints.add("S3.Example.Test");
    let r = classify(
        &request("HEAD", "/k", &[("Host", "bkt.s3.example.test")]),
        &hints,
    );
    assert_eq!((op(&r), bk(&r)), ("HeadObject", (Some("bkt"), Some("k"))));
}

#[test]
fn keys_are_percent_decoded_and_keep_slashes_and_plus() {
    let r = go("GET", "s3.amazonaws.com", "/b/dir/sub/a%20b+c%E2%9C%93.txt");
    assert_eq!(bk(&r), (Some("b"), Some("dir/sub/a b+c\u{2713}.txt")));
    let r = go("GET", "b.s3.amazonaws.com", "/a%2Fb//c");
    assert_eq!(bk(&r), (Some("b"), Some("a/b//c")));
    let r = go("PUT", "s3.amazonaws.com", "/b/bad%FF.bin");
    assert_eq!(
        (op(&r), r.key.as_deref()),
        ("PutObject", Some("bad\u{FFFD}.bin"))
    );
    assert!(r.note.unwrap().contains("not UTF-8"));
}

#[test]
fn multipart_and_copy_are_told_apart_by_query_members_and_headers() {
    let h = "s3.amazonaws.com";
    let copy = [("Host", h), ("x-amz-copy-source", "/src/k")];
    assert_eq!(op(&go("PUT", h, "/b/k")), "PutObject");
    assert_eq!(
        op(&go("PUT", h, "/b/k?partNumber=1&uploadId=U")),
        "UploadPart"
    );
    assert_eq!(op(&go_with("PUT", "/b/k", &copy)), "CopyObject");
    assert_eq!(
        op(&go_with("PUT", "/b/k?partNumber=1&uploadId=U", &copy)),
        "UploadPartCopy"
    );
    assert_eq!(op(&go("POST", h, "/b/k?uploads")), "CreateMultipartUpload");
    assert_eq!(op(&go("POST", h, "/b/k?uploads=")), "CreateMultipartUpload");
    assert_eq!(op(&go("GET", h, "/b?uploads")), "ListMultipartUploads");
    assert_eq!(
        op(&go("POST", h, "/b/k?uploadId=U")),
        "CompleteMultipartUpload"
    );
    assert_eq!(op(&go("GET", h, "/b/k?uploadId=U")), "ListParts");
    assert_eq!(
        op(&go("GET", h, "/b/k?partNumber=2&versionId=v")),
        "GetObject"
    );
    assert_eq!(
        op(&go("DELETE", h, "/b/k?uploadId=U")),
        "AbortMultipartUpload"
    );
    assert_eq!(op(&go("DELETE", h, "/b/k?versionId=v")), "DeleteObject");
    assert_eq!(op(&go("GET", h, "/b?versions")), "ListObjectVersions");
    assert_eq!(op(&go("GET", h, "/b?list-type=2")), "ListObjectsV2");
    assert_eq!(
        op(&go("GET", h, "/b?prefix=x&encoding-type=url")),
        "ListObjects"
    );
    assert_eq!(
        op(&go("GET", h, "/b?analytics&id=r1")),
        "GetBucketAnalyticsConfiguration"
    );
    assert_eq!(
        op(&go("GET", h, "/b?analytics")),
        "ListBucketAnalyticsConfigurations"
    );
    assert_eq!(
        op(&go("POST", h, "/b/k?select&select-type=2")),
        "SelectObjectContent"
    );
    assert_eq!(op(&go("POST", h, "/b?delete")), "DeleteObjects");
}

#[test]
fn deprecated_twins_resolve_to_the_current_name_with_a_note() {
    let r = go("GET", "s3.amazonaws.com", "/b?lifecycle");
    assert_eq!(op(&r), "GetBucketLifecycleConfiguration");
    assert!(r.note.unwrap().contains("deprecated GetBucketLifecycle "));
    let r = go("PUT", "b.s3.amazonaws.com", "/?notification");
    assert_eq!(op(&r), "PutBucketNotificationConfiguration");
    assert!(
        r.note
            .unwrap()
            .contains("deprecated PutBucketNotification ")
    );
}

#[test]
fn query_keys_are_case_sensitive_and_noise_does_not_confuse() {
    let r = go("GET", "s3.amazonaws.com", "/b?ACL");
    assert_eq!(op(&r), "ListObjects");
    assert!(r.note.unwrap().contains("case-sensitive"));
    let noisy = "/b/k?response-content-type=text%2Fplain&x-id=GetObject&X-Amz-Expires=60&Expires=1";
    let r = go("GET", "s3.amazonaws.com", noisy);
    assert_eq!((op(&r), r.note.as_deref()), ("GetObject", None));
    let r = go("GET", "s3.amazonaws.com", "/b/k?versioning");
    assert_eq!(op(&r), "GetObject");
    assert!(
        r.note
            .unwrap()
            .contains("`versioning` is not a subresource of GetObject")
    );
}

#[test]
fn x_id_confirms_or_overrides_with_a_note() {
    let r = go("GET", "s3.amazonaws.com", "/?x-id=ListDirectoryBuckets");
    assert_eq!(op(&r), "ListDirectoryBuckets");
    assert!(r.note.unwrap().contains("shape alone gives ListBuckets"));
    let r = go("GET", "s3.amazonaws.com", "/b/k?x-id=PutObject");
    assert_eq!(op(&r), "GetObject");
    assert!(r.note.unwrap().contains("is a PUT operation; ignored"));
    let r = go("GET", "s3.amazonaws.com", "/b/k?x-id=NoSuchOp");
    assert!(r.note.unwrap().contains("not an operation of the model"));
    // Older Go v2 models sent `POST /?delete&x-id=DeleteObjects`.
    assert_eq!(
        op(&go(
            "POST",
            "b.s3.amazonaws.com",
            "/?delete&x-id=DeleteObjects"
        )),
        "DeleteObjects"
    );
}

#[test]
fn presigned_v4_and_v2_urls() {
    let v4 = "/k%20x.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=tok&X-Amz-Signature=abcd";
    let r = go("PUT", "b.s3.us-east-1.amazonaws.com", v4);
    assert_eq!(
        (op(&r), bk(&r)),
        ("PutObject", (Some("b"), Some("k x.txt")))
    );
    let p = r.presigned.unwrap();
    assert_eq!((p.version, p.params.len()), (SigVersion::V4, 7));
    // On a host nobody named, the presigned query alone says S3.
    let v2 = "/b/k?AWSAccessKeyId=AKIDEXAMPLE&Signature=abc%2Bdef%3D&Expires=1767225600";
    let r = go("GET", "127.0.0.1:9000", v2);
    assert_eq!((op(&r), bk(&r)), ("GetObject", (Some("b"), Some("k"))));
    assert_eq!(
        r.presigned.unwrap().params,
        ["AWSAccessKeyId", "Signature", "Expires"]
    );
    // A presigned URL for another service is not S3.
    let sts = "/?Action=GetCallerIdentity&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Signature=a";
    assert!(reason(&go("GET", "127.0.0.1", sts)).contains("service `sts`"));
}

#[test]
fn absolute_form_target_names_the_host() {
    let r = go_with(
        "GET",
        "http://b.s3.amazonaws.com/k?acl",
        &[("Host", "proxy.local:3128")],
    );
    assert_eq!((op(&r), bk(&r)), ("GetObjectAcl", (Some("b"), Some("k"))));
    let r = go_with("PUT", "http://s3.us-east-1.amazonaws.com:80/b?acl", &[]);
    assert_eq!((op(&r), bk(&r)), ("PutBucketAcl", (Some("b"), None)));
    let r = go_with("GET", "HTTP://s3.amazonaws.com", &[]);
    assert_eq!(op(&r), "ListBuckets");
}

#[test]
fn browser_post_upload_and_object_lambda() {
    let form = [
        ("Host", "b.s3.amazonaws.com"),
        ("Content-Type", "multipart/form-data; boundary=x"),
    ];
    let r = go_with("POST", "/", &form);
    assert_eq!((op(&r), bk(&r)), (POST_OBJECT, (Some("b"), None)));
    assert!(
        r.note
            .unwrap()
            .contains("not an operation of the API model")
    );
    let form = [
        ("Host", "s3.amazonaws.com"),
        ("Content-Type", "multipart/form-data; boundary=x"),
    ];
    assert_eq!(op(&go_with("POST", "/b", &form)), POST_OBJECT);
    let wgor = [
        ("Host", "route-1.s3-object-lambda.us-east-1.amazonaws.com"),
        ("x-amz-request-route", "route-1"),
        ("x-amz-request-token", "t"),
    ];
    let r = go_with("POST", "/WriteGetObjectResponse", &wgor);
    assert_eq!(
        (op(&r), bk(&r), r.addressing),
        (
            "WriteGetObjectResponse",
            (None, None),
            Addressing::ObjectLambda
        )
    );
}

#[test]
fn unknowns_say_why() {
    let h = [("Host", "s3.amazonaws.com")];
    assert_eq!(
        reason(&go_with("OPTIONS", "*", &h)),
        "not an S3 request: target is `*`"
    );
    assert_eq!(reason(&go_with("GET", "/b/k", &[])), "no Host header");
    assert_eq!(
        reason(&go_with("PATCH", "/b/k", &h)),
        "method PATCH is not used by S3"
    );
    assert!(reason(&go_with("OPTIONS", "/b/k", &h)).contains("CORS preflight"));
    assert!(reason(&go_with("CONNECT", "s3.amazonaws.com:443", &h)).contains("CONNECT tunnel"));
    assert_eq!(
        reason(&go_with("POST", "/b/k", &h)),
        "POST /{Bucket}/{Key+} without uploadId or a known query key"
    );
    assert!(reason(&go_with("POST", "/b", &h)).contains("POST /{Bucket}"));
    assert_eq!(
        reason(&go_with("POST", "/", &h)),
        "no S3 operation is POST /"
    );
    assert!(reason(&go_with("PUT", "/b/k?uploadId=U", &h)).contains("lacks `partNumber`"));
    assert!(reason(&go_with("POST", "/b/k?select", &h)).contains("select-type=2"));
    assert!(reason(&go("GET", "sts.amazonaws.com", "/")).contains("another AWS service"));
    assert!(reason(&go("GET", "www.example.com", "/index.html")).starts_with("no S3 signal"));
    assert!(reason(&go("GET", "b.s3-website-us-east-1.amazonaws.com", "/")).contains("website"));
    assert!(reason(&go_with("GET", "ftp://h/x", &h)).contains("`ftp:`"));
    assert!(reason(&go_with("GET", "/b", &[("Host", "h:port")])).contains("not host[:port]"));
    // Signals on a host nobody named: SigV2 says S3; SigV4 for another service says not.
    let v2 = [
        ("Host", "10.0.0.5:9000"),
        ("Authorization", "AWS AKIDEXAMPLE:c2lnbmF0dXJl"),
    ];
    assert_eq!(op(&go_with("GET", "/b/k", &v2)), "GetObject");
    let sts = [
        ("Host", "10.0.0.5"),
        ("X-Amz-Date", "20260101T000000Z"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=a",
        ),
    ];
    assert!(reason(&go_with("POST", "/", &sts)).contains("service `sts`"));
    let ctl = [
        ("Host", "123456789012.s3-control.us-east-1.amazonaws.com"),
        ("Authorization", SIGV4),
    ];
    assert!(
        reason(&go_with(
            "GET",
            "/v20180820/configuration/publicAccessBlock",
            &ctl
        ))
        .contains("another AWS service")
    );
    // A literal subresource without its required member is still named, with a note.
    let r = go_with("DELETE", "/b?analytics", &h);
    assert_eq!(op(&r), "DeleteBucketAnalyticsConfiguration");
    assert!(r.note.unwrap().contains("required `id` missing"));
}

mod total {
    use super::super::tests_ops::request;
    use super::super::*;
    use proptest::prelude::*;

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("/".to_string()),
            Just("?".to_string()),
            Just("&".to_string()),
            Just("=".to_string()),
            Just("%".to_string()),
            Just("%FF".to_string()),
            Just("x-id=GetObject".to_string()),
            Just("uploadId".to_string()),
            Just("WriteGetObjectResponse".to_string()),
            Just("http://".to_string()),
            Just("[".to_string()),
            Just(":".to_string()),
            Just(".".to_string()),
            "[a-z0-9\u{e9}\u{2713}-]{0,6}",
        ]
    }

    proptest! {
        /// classify is total: any method, target and Host give a value, never a panic, and an
        /// unknown always says why.
        #[test]
        fn classify_never_panics(
            method in prop_oneof![Just("GET"), Just("PUT"), Just("POST"), Just("HEAD"), Just("X")],
            target in proptest::collection::vec(piece(), 0..12),
            host in proptest::collection::vec(piece(), 0..6),
            copy in any::<bool>(),
        ) {
            let target = target.concat();
            let host = format!("{}.s3.amazonaws.com", host.concat());
            let mut headers = vec![("Host", host.as_str())];
            if copy {
                headers.push(("x-amz-copy-source", "/b/k"));
            }
            let hints = HostHints::new(["localhost:4566".to_string()]);
            let got = classify(&request(method, &target, &headers), &hints);
            if let Err(u) = &got.operation {
                prop_assert!(!u.reason.is_empty());
            }
        }

        /// A target the quick reading takes is read as the general one reads it, and its
        /// path split as the general split finds it.
        #[test]
        fn plain_targets_are_read_as_any_target(
            target in proptest::collection::vec(piece(), 0..12),
            first in prop_oneof![Just(""), Just("/"), Just("#"), Just("?"), Just("*")],
            host_bucket in prop_oneof![Just(None), Just(Some("hb"))],
        ) {
            let t = format!("{first}{}", target.concat());
            if let Some(plain) = plain_target(&t) {
                let marks = plain.marks.expect("a plain target is marked");
                let unmarked = Target { marks: None, ..plain };
                prop_assert_eq!(Ok(unmarked), any_target(&t, "GET"));
                prop_assert_eq!(marks.percent, plain.path.contains('%'));
                let (a, path) = (Addressing::Path, plain.path);
                prop_assert_eq!(
                    addressing::split_marked(a, host_bucket, path, marks.slash),
                    addressing::split(a, host_bucket, path)
                );
            }
        }

        /// A remembered credential scope is the one read afresh, whatever the values that came
        /// before (the same credential with other signatures, other credentials, values cut
        /// inside or right after the credential, no credential at all).
        #[test]
        fn remembered_scopes_are_read_afresh(
            values in proptest::collection::vec(
                (
                    prop_oneof![
                        Just("AWS4-HMAC-SHA256 Credential="),
                        Just("AWS4-X Credential=Credential="),
                        Just("AWS "),
                        Just(""),
                    ],
                    prop_oneof![
                        Just("AKID/20260101/us-east-1/s3/aws4_request"),
                        Just("AKID/20260101/us-east-1/sts/aws4_request"),
                        Just("AKID/20260101/s3express/aws4_request"),
                        Just("AKID/s3/aws4_reques"),
                        Just("AKID/20260101/us-east-1/s3"),
                    ],
                    prop_oneof![Just(""), Just(","), Just(" "), Just(", Signature=00"), Just("x")],
                ),
                1..12,
            ),
        ) {
            let mut memo = HostMemo::default();
            let q = query::Query::default();
            for (head, cred, tail) in &values {
                let a = format!("{head}{cred}{tail}");
                let fresh = header_scope(&a).and_then(|(service, _)| service);
                let remembered = sigv4_service(Some(&a), &q, &mut memo);
                prop_assert_eq!(remembered.as_deref(), fresh, "{}", a);
            }
        }
    }
}

/// The bucket and key are percent-decoded whether they come from the path or the Host, and a
/// path without `%` is taken as it is.
#[test]
fn bucket_and_key_are_decoded_from_the_path_and_the_host() {
    let signed = [("Authorization", SIGV4), ("Host", "s3.amazonaws.com")];
    let r = go_with("GET", "/my%2Dbucket/a%20b/c", &signed);
    assert_eq!(bk(&r), (Some("my-bucket"), Some("a b/c")));
    let r = go_with("GET", "/my-bucket/a+b/c", &signed);
    assert_eq!(bk(&r), (Some("my-bucket"), Some("a+b/c")));
    let r = go("GET", "b%2Dx.s3.amazonaws.com", "/k");
    assert_eq!(bk(&r), (Some("b-x"), Some("k")));
    let path = "/b/k";
    assert!(within(path, &path[1..2]) && within(path, path) && !within(path, "b"));
}

#[test]
fn split_once_lit_is_split_once() {
    for (s, pat) in [
        ("http://h/p", "://"),
        ("/b/k?x=http://y", "://"),
        ("/b/k", "://"),
        (":/:/://", "://"),
        (
            "AWS4-HMAC-SHA256 Credential=A/s3/aws4_request, C",
            "Credential=",
        ),
        ("Credential", "Credential="),
        ("", "://"),
    ] {
        assert_eq!(split_once_lit(s, pat), s.split_once(pat), "{s}");
    }
}

#[test]
fn a_request_that_names_nothing_path_style_is_read_virtual_hosted_on_an_unknown_host() {
    let signed = [(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
    )];
    let hosted = |method: &str, target: &str| {
        let mut h = signed.to_vec();
        h.push(("host", "photos.store.example.test:9000"));
        classify(&request(method, target, &h), &HostHints::default())
    };
    let create = hosted("PUT", "/");
    assert_eq!(op(&create), "CreateBucket");
    assert_eq!(bk(&create), (Some("photos"), None));
    assert_eq!(
        create.learned_service_host.as_deref(),
        Some("store.example.test:9000")
    );
    let list = hosted("GET", "/?list-type=2&prefix=a%2F");
    assert_eq!(op(&list), "ListObjectsV2");
    assert_eq!(bk(&list), (Some("photos"), None));
    // A plausible path-style request is left alone, and teaches nothing.
    let get = hosted("GET", "/photos/a.jpg");
    assert_eq!(
        (op(&get), bk(&get)),
        ("GetObject", (Some("photos"), Some("a.jpg")))
    );
    assert_eq!(get.learned_service_host, None);
    let list_buckets = hosted("GET", "/");
    assert_eq!(op(&list_buckets), "ListBuckets");
}

/// Classifying with the Host and Authorization the caller looked up ([`classify_seen`]) is
/// classifying the request alone, for requests with and without either field, a repeated
/// one (the first counts) and an absolute-form target (whose authority wins over the Host).
#[test]
fn classifying_with_the_fields_seen_is_classifying_the_request() {
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
    let cases: [Case; 6] = [
        (
            "GET",
            "/b/k",
            &[("Host", "127.0.0.1:9000"), ("Authorization", SIGV4)],
        ),
        ("PUT", "/b/k", &[("Authorization", SIGV4)]),
        ("GET", "/b?list-type=2", &[("Host", "b.s3.amazonaws.com")]),
        (
            "GET",
            "/",
            &[("host", "a.test"), ("Host", "s3.amazonaws.com")],
        ),
        (
            "DELETE",
            "http://s3.us-east-1.amazonaws.com/b/k",
            &[("Host", "other.test")],
        ),
        ("GET", "/b/k", &[]),
    ];
    let hints = HostHints::default();
    for (method, target, headers) in cases {
        let req = request(method, target, headers);
        let seen = Seen::of(&req);
        assert_eq!(
            seen.host,
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("host"))
                .map(|(_, v)| *v)
        );
        let mut memo = HostMemo::default();
        assert_eq!(
            classify_seen(&req, seen, &hints, &mut memo),
            classify(&req, &hints),
            "{method} {target}"
        );
    }
}
