//! Requests as real clients sent them (recorded on loopback; provenance at the top of each
//! `testdata/*-requests.txt`), each labelled by the client with the operation it meant.

use super::tests_ops::request;
use super::*;

const KEY: &str = "dir/a b \u{2713}+.txt";

/// A recorded request: the client's label line (without `# label: `), and the request.
struct Recorded<'t> {
    label: &'t str,
    req: HttpRequest,
}

impl Recorded<'_> {
    /// The operation name of the label (`GetObject (presigned v4 url)` → `GetObject`).
    fn op(&self) -> &str {
        self.label.split(' ').next().unwrap_or_default()
    }

    fn host(&self) -> &str {
        self.req.header("host").unwrap_or_default()
    }
}

/// Parses `# label:` blocks: label line, request line, `Name: value` header lines.
fn recorded(text: &str) -> Vec<Recorded<'_>> {
    let mut out = Vec::new();
    let is_block = |b: &&str| b.lines().any(|l| l.starts_with("# label: "));
    for block in text.split("\n\n").filter(is_block) {
        let mut lines = block.lines().skip_while(|l| !l.starts_with("# label: "));
        let label = lines.next().unwrap().trim_start_matches("# label: ");
        let line: Vec<&str> = lines.next().unwrap().split(' ').collect();
        assert_eq!(line.len(), 3, "{label}");
        let headers: Vec<(&str, &str)> = lines.filter_map(|l| l.split_once(": ")).collect();
        out.push(Recorded {
            label,
            req: request(line[0], line[1], &headers),
        });
    }
    out
}

fn endpoint_of(text: &str) -> HostHints {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("# endpoint: "))
        .unwrap();
    HostHints::new([line.to_string()])
}

/// What a request with this label must classify to: deprecated ops are reported as their
/// current twin, with a note saying so.
fn expected(label: &str, got: &S3Request) -> &'static str {
    let op = table::by_name(label).unwrap_or_else(|| panic!("{label} not in the table"));
    match op.current_twin {
        Some(current) => {
            let note = got.note.as_deref().unwrap_or_default();
            assert!(
                note.contains(&format!("deprecated {label} ")),
                "{label}: {note}"
            );
            current
        }
        None => op.name,
    }
}

/// The addressing the client used, read off the Host it sent (custom endpoint `s3.local.test`);
/// without the endpoint as a hint, a request route in the Host cannot be told from path style.
fn custom_addressing(r: &Recorded<'_>, hinted: bool) -> Addressing {
    match r.host() {
        h if h.starts_with("amzn-s3-demo-bucket.") => Addressing::VirtualHosted,
        h if h.starts_with("route-1.") && hinted => Addressing::ObjectLambda,
        _ => Addressing::Path,
    }
}

fn check_custom(text: &str, hints: &HostHints) -> usize {
    let all = recorded(text);
    for r in &all {
        let got = classify(&r.req, hints);
        assert_eq!(operation(&r.req, hints), got.operation, "{}", r.label);
        let want = match r.op() {
            // botocore sends no x-id: to a custom endpoint this is `GET /`, exactly ListBuckets.
            "ListDirectoryBuckets" if !r.req.target.contains("x-id=") => "ListBuckets",
            label => expected(label, &got),
        };
        assert_eq!(got.operation, Ok(want), "{}: {got:?}", r.label);
        let hinted = hints != &HostHints::default();
        assert_eq!(got.addressing, custom_addressing(r, hinted), "{}", r.label);
        let bucket_op =
            table::by_name(want).is_some_and(|op| op.request_uri.starts_with("/{Bucket}"));
        let bucket = bucket_op.then_some("amzn-s3-demo-bucket");
        assert_eq!(got.bucket.as_deref(), bucket, "{}", r.label);
        let key = got.key.as_deref();
        assert!(key.is_none() || key == Some(KEY), "{}: {key:?}", r.label);
    }
    all.len()
}

/// Every command of @aws-sdk/client-s3 3.1175.0 (the 112 of the Smithy model), path style and
/// virtual-hosted, classifies to the command that sent it.
#[test]
fn real_js_v3_requests_match_the_command_that_sent_them() {
    let path = include_str!("testdata/js-v3-path-requests.txt");
    assert_eq!(check_custom(path, &endpoint_of(path)), 112);
    // Path style needs no hint: SigV4 for `s3` says it is S3.
    assert_eq!(check_custom(path, &HostHints::default()), 112);
    let virt = include_str!("testdata/js-v3-virtual-requests.txt");
    assert_eq!(check_custom(virt, &endpoint_of(virt)), 112);
}

/// Every operation of botocore 1.44.8's model (116, deprecated ones included), path style and
/// virtual-hosted (botocore still sends GetBucketLocation path style).
#[test]
fn real_botocore_requests_match_the_operation_that_sent_them() {
    let path = include_str!("testdata/botocore-path-requests.txt");
    assert_eq!(check_custom(path, &endpoint_of(path)), 116);
    let virt = include_str!("testdata/botocore-virtual-requests.txt");
    assert_eq!(check_custom(virt, &endpoint_of(virt)), 116);
    let lone = recorded(virt)
        .into_iter()
        .find(|r| r.op() == "ListDirectoryBuckets")
        .unwrap();
    let note = classify(&lone.req, &endpoint_of(virt))
        .note
        .unwrap_or_default();
    assert!(
        note.contains("ListDirectoryBuckets sends the identical request"),
        "{note}"
    );
}

/// The addressing AWS's host forms imply, read off the Host botocore sent.
fn aws_addressing(host: &str) -> Addressing {
    match host {
        h if h.starts_with("amzn-s3-demo-bucket.") => Addressing::VirtualHosted,
        h if h.starts_with("myap-123456789012.s3-accesspoint.") => Addressing::AccessPoint,
        h if h.contains(".s3express-usw2-az1.") => Addressing::ExpressZonal,
        h if h.starts_with("s3express-control.") => Addressing::ExpressControl,
        h if h.contains(".s3-object-lambda.") => Addressing::ObjectLambda,
        _ => Addressing::Path,
    }
}

/// botocore to AWS's own hosts (regional, global, dualstack, FIPS, accelerate, China, access
/// point, S3 Express zonal and control, Object Lambda; presigned V4 and V2), with no hints.
#[test]
fn real_botocore_requests_to_aws_host_forms() {
    let text = include_str!("testdata/botocore-aws-hosts-requests.txt");
    let all = recorded(text);
    for r in &all {
        let got = classify(&r.req, &HostHints::default());
        assert_eq!(
            got.operation,
            Ok(expected(r.op(), &got)),
            "{}: {got:?}",
            r.label
        );
        assert_eq!(got.addressing, aws_addressing(r.host()), "{}", r.label);
        let presigned = got.presigned.as_ref().map(|p| p.version);
        let want = match r.label {
            l if l.ends_with("(presigned v4 url)") => Some(SigVersion::V4),
            l if l.ends_with("(presigned v2 url)") => Some(SigVersion::V2),
            _ => None,
        };
        assert_eq!(presigned, want, "{}", r.label);
        let key = got.key.as_deref();
        assert!(
            key.is_none() || key == Some(KEY) || key == Some("dir/a b.txt"),
            "{key:?}"
        );
    }
    assert_eq!(all.len(), 166);
    let ops = |case: &str| all.iter().filter(|r| r.label.ends_with(case)).count();
    assert_eq!(
        ops("(regional virtual)"),
        116,
        "every operation of the model"
    );
    let zonal = all
        .iter()
        .find(|r| r.label == "GetObject (express)")
        .unwrap();
    assert_eq!(
        classify(&zonal.req, &HostHints::default())
            .bucket
            .as_deref(),
        Some("mybkt--usw2-az1--x-s3")
    );
}

/// The plaintext requests of the committed fixture `boto3-plain.pcap` (boto3 1.44.8 to moto),
/// labelled by botocore in `fixtures/labels/boto3-plain.jsonl`.
#[test]
fn real_boto3_fixture_requests_match_their_client_labels() {
    let text = include_str!("testdata/boto3-plain-requests.txt");
    let hints = HostHints::new(["s3.local.test:5000".to_string()]);
    let all = recorded(text);
    for r in &all {
        for h in [&HostHints::default(), &hints] {
            let got = classify(&r.req, h);
            assert_eq!(got.operation, Ok(r.op()), "{}: {got:?}", r.label);
            let bucket = (r.op() != "ListBuckets").then_some("fx-plain");
            assert_eq!(
                (got.bucket.as_deref(), got.addressing),
                (bucket, Addressing::Path)
            );
        }
    }
    assert_eq!(all.len(), 28);
}
