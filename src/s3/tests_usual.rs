//! The usual request's path ([`usual_request`], by what the memo remembers) classifies as every
//! step of the general path does ([`classify_anew`]), for requests of every kind one after the
//! other through one memo.

use super::tests_ops::request;
use super::*;
use crate::proto::http::Cut;
use proptest::prelude::*;

const SIGV4_S3: &str = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, \
                        SignedHeaders=host, Signature=ab";

/// Requests of the kinds the usual path takes, and of every kind next to them.
fn head() -> impl Strategy<Value = HttpRequest> {
    let method = prop::sample::select(vec![
        "GET", "PUT", "DELETE", "HEAD", "POST", "PATCH", "OPTIONS", "CONNECT",
    ]);
    let target = prop::sample::select(vec![
        "/b/k",
        "/b/dir/k-1",
        "/b",
        "/b/",
        "/",
        "/b/k?",
        "/b/k?tagging",
        "/b?list-type=2&prefix=a",
        "/b?list-type=2&prefix=b",
        "/b?location",
        "/b?acl&tagging",
        "/b?tagging",
        "/b?uploads",
        "/b?delete",
        "/b/k?uploadId=1&partNumber=2",
        "/b/k?uploadId=1",
        "/b/k?x-id=GetObject",
        "/b/k?x-id=GetObjectTagging",
        "/b/k?x%2Did=GetObjectTagging",
        "/b/k?X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fsqs%2Faws4_request",
        "/b/k?X-Amz-Signature=1",
        "/b/k?AWSAccessKeyId=AKID&Signature=1&Expires=1",
        "/b?Tagging",
        "/?list-type=2",
        "/b/k%20x",
        "/b%41/k",
        "/b/%FF",
        "/b/k#frag",
        "/b/a:b",
        "/b/x://y",
        "http://h.test/b/k",
        "/WriteGetObjectResponse",
        "*",
        "b/k",
    ]);
    let host = prop::sample::select(vec![
        Some("127.0.0.1:18080"),
        Some("s3.local.test:9000"),
        Some("bkt.s3.local.test:9000"),
        Some("s3.us-west-2.amazonaws.com"),
        Some("photos.s3.us-west-2.amazonaws.com"),
        Some("s3express-control.us-west-2.amazonaws.com"),
        Some("b--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com"),
        Some("b.s3-website-us-east-1.amazonaws.com"),
        Some("sts.amazonaws.com"),
        Some("b.localhost:4566"),
        Some("Example.TEST."),
        Some("h:port"),
        None,
    ]);
    let auth = prop::sample::select(vec![
        Some(SIGV4_S3),
        Some("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request, Signature=1"),
        Some("AWS AKID:sig"),
        Some("Bearer x"),
        None,
    ]);
    let extra = prop::sample::subsequence(
        vec![
            ("x-amz-copy-source", "/src/k"),
            ("X-Amz-Copy-Source", "/src/k2"),
            ("Content-Type", "multipart/form-data; boundary=x"),
            ("x-amz-date", "20260101T000000Z"),
            ("x-amz-request-route", "r"),
            ("x-amz-mfa", "1 2"),
        ],
        0..3,
    );
    let cut = prop::sample::select(vec![None, Some(Cut::Fields), Some(Cut::Target)]);
    (method, target, host, auth, extra, cut).prop_map(|(m, t, host, auth, extra, cut)| {
        let mut headers: Vec<(&str, &str)> = Vec::new();
        headers.extend(host.map(|h| ("Host", h)));
        headers.extend(auth.map(|a| ("Authorization", a)));
        headers.extend(extra);
        let mut req = request(m, t, &headers);
        req.cut = cut;
        req
    })
}

fn hints() -> impl Strategy<Value = HostHints> {
    prop::sample::select(vec![
        vec![],
        vec!["s3.local.test:9000"],
        vec!["127.0.0.1:18080"],
    ])
    .prop_map(|h| HostHints::new(h.into_iter().map(String::from)))
}

/// Every step of the general path, with nothing remembered.
fn anew(req: &HttpRequest, hints: &HostHints, detail: Detail) -> S3Request {
    let memo = &mut HostMemo::default();
    classify_anew(
        req,
        parse_target(req),
        Seen::of(req),
        hints,
        detail,
        memo,
        false,
    )
}

/// Requests with a query, signed for S3, to a few hosts: the same queries again and again with
/// the headers and host kinds their match reads, so that what one teaches the usual path is
/// asked again with a difference.
fn queried_head() -> impl Strategy<Value = HttpRequest> {
    let method = prop::sample::select(vec!["GET", "PUT", "PUT", "POST"]);
    let target = prop::sample::select(vec![
        "/b?list-type=2&prefix=a",
        "/b?uploads",
        "/b?tagging&acl",
        "/b/k?uploadId=1&partNumber=2",
        "/b/k?tagging",
        "/b/k?x-id=GetObjectTagging",
        "/b/k?X-Amz-Signature=1",
        "/?list-type=2",
    ]);
    let host = prop::sample::select(vec![
        "127.0.0.1:18080",
        "s3express-control.us-west-2.amazonaws.com",
        "b.localhost:4566",
    ]);
    let extra = prop::sample::subsequence(
        vec![
            ("x-amz-copy-source", "/src/k"),
            ("Content-Type", "multipart/form-data; boundary=x"),
            ("x-amz-mfa", "1 2"),
        ],
        0..2,
    );
    (method, target, host, extra).prop_map(|(m, t, host, extra)| {
        let mut headers = vec![("Host", host), ("Authorization", SIGV4_S3)];
        headers.extend(extra);
        request(m, t, &headers)
    })
}

/// Through one memo, request after request and then all of them again, each classification is
/// the general path's with nothing remembered.
fn classified_as_anew(heads: &[HttpRequest], hints: &HostHints) -> Result<(), TestCaseError> {
    let mut memo = HostMemo::default();
    for req in heads.iter().chain(heads) {
        let got = classify_seen(req, Seen::of(req), hints, &mut memo);
        prop_assert_eq!(&got, &anew(req, hints, Detail::Full), "{:?}", req);
        let op = classify_with(req, Seen::of(req), hints, Detail::OperationOnly, &mut memo);
        prop_assert_eq!(&op, &anew(req, hints, Detail::OperationOnly), "{:?}", req);
    }
    Ok(())
}

proptest! {
    /// Through one memo, request after request (the same kinds again, other hosts and
    /// credentials between them), the classification is the general path's.
    #[test]
    fn the_usual_path_classifies_as_the_general_path(
        heads in prop::collection::vec(head(), 1..24),
        hints in hints(),
    ) {
        classified_as_anew(&heads, &hints)?;
    }

    /// The same for requests with a query: what the usual path learned of one query is only
    /// used where the match would read the same.
    #[test]
    fn a_learned_query_classifies_as_the_general_path(
        heads in prop::collection::vec(queried_head(), 1..24),
        hints in hints(),
    ) {
        classified_as_anew(&heads, &hints)?;
    }
}

/// The dense capture's requests take the usual path, and its answers are the operations.
#[test]
fn boto3_object_requests_take_the_usual_path() {
    let hints = HostHints::default();
    let mut memo = HostMemo::default();
    let cases = [
        ("GET", "/bench-bucket/dir/object-1", None, "GetObject"),
        ("PUT", "/bench-bucket/dir/object-1", None, "PutObject"),
        (
            "PUT",
            "/bench-bucket/dir/object-1-copy",
            Some("/bench-bucket/dir/object-1"),
            "CopyObject",
        ),
        ("HEAD", "/bench-bucket/dir/object-1", None, "HeadObject"),
        ("DELETE", "/bench-bucket/dir/object-1", None, "DeleteObject"),
        ("PUT", "/bench-bucket", None, "CreateBucket"),
    ];
    for _ in 0..2 {
        for (method, target, copy, want) in cases {
            let mut headers = vec![("Host", "127.0.0.1:18080"), ("Authorization", SIGV4_S3)];
            headers.extend(copy.map(|c| ("x-amz-copy-source", c)));
            let req = request(method, target, &headers);
            let read = parse_target(&req).expect("origin-form");
            let seen = Seen::of(&req);
            let learn = &mut false;
            let usual = usual_request(&req, &read, seen, &hints, Detail::Full, &mut memo, learn);
            let usual = usual.expect("the usual path");
            assert_eq!(usual.operation.as_deref(), Ok(want), "{method} {target}");
            assert_eq!(usual.bucket.as_deref(), Some("bench-bucket"));
        }
    }
}

/// A request with a query takes the usual path once the general path has classified one with
/// the same query at the same place; one with another query, or with an `x-id`, does not.
#[test]
fn a_query_classified_once_takes_the_usual_path() {
    let hints = HostHints::default();
    let mut memo = HostMemo::default();
    let headers = [("Host", "127.0.0.1:18080"), ("Authorization", SIGV4_S3)];
    let usual = |target: &str, memo: &mut HostMemo| {
        let req = request("GET", target, &headers);
        let read = parse_target(&req).expect("origin-form");
        let learn = &mut false;
        let usual = usual_request(
            &req,
            &read,
            Seen::of(&req),
            &hints,
            Detail::Full,
            memo,
            learn,
        );
        (usual.map(|u| u.operation), *learn)
    };
    let listing = "/bench-bucket?list-type=2&prefix=dir%2F";
    assert_eq!(usual(listing, &mut memo), (None, true), "not learned yet");
    let req = request("GET", listing, &headers);
    let general = classify_seen(&req, Seen::of(&req), &hints, &mut memo);
    assert_eq!(general.operation.as_deref(), Ok("ListObjectsV2"));
    assert_eq!(
        usual(listing, &mut memo),
        (Some(Ok("ListObjectsV2")), false)
    );
    let other = "/bench-bucket?list-type=2&prefix=other%2F";
    assert_eq!(usual(other, &mut memo), (None, true));
    // The same text at another place (an object's, not the bucket's) is learned there too.
    let tagging = |t: &str, memo: &mut HostMemo| {
        let req = request("GET", t, &headers);
        classify_seen(&req, Seen::of(&req), &hints, memo).operation
    };
    assert_eq!(
        tagging("/bench-bucket?tagging", &mut memo).as_deref(),
        Ok("GetBucketTagging")
    );
    assert_eq!(
        usual("/bench-bucket/k?tagging", &mut memo),
        (None, true),
        "new at this place"
    );
    assert_eq!(
        tagging("/bench-bucket/k?tagging", &mut memo).as_deref(),
        Ok("GetObjectTagging")
    );
    assert_eq!(
        usual("/bench-bucket/k?tagging", &mut memo),
        (Some(Ok("GetObjectTagging")), false)
    );
    assert_eq!(
        usual("/bench-bucket?tagging", &mut memo),
        (Some(Ok("GetBucketTagging")), false)
    );
    let named = "/bench-bucket/k?x-id=GetObject";
    let req = request("GET", named, &headers);
    classify_seen(&req, Seen::of(&req), &hints, &mut memo);
    assert_eq!(
        usual(named, &mut memo),
        (None, true),
        "x-id is never learned"
    );
}
