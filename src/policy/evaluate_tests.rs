use super::*;
use crate::flow::AttemptOutcome;
use crate::policy::Origin;
use crate::time::Timestamp;

pub(super) const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
pub(super) const BOTO_FIXED: &str = "Boto3/1.40.15 md/Botocore#1.40.15 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.40.15";
/// The client hint [`BOTO_FIXED`] gets: its own ways of ending up on http.
pub(super) const BOTO_SETTINGS: &str = "boto3/botocore 1.40.15: endpoint_url=\"http://…\" (use_ssl=False is ignored with one) (boto3 docs, Session.client)";
pub(super) const BOTO_BUGGY: &str = "Boto3/1.40.14 md/Botocore#1.40.14 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.40.14";
pub(super) const NGINX_400: &str = "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS port</center>\r\n";

pub(super) fn at(ms: i64) -> Timestamp {
    Timestamp(T0 * 1_000_000_000 + ms * 1_000_000)
}

pub(super) fn sa(s: &str) -> SocketAddr {
    s.parse().expect(s)
}

pub(super) fn ep(url: &str, origin: Origin) -> Endpoint {
    Endpoint::parse(url, origin, "test").expect(url)
}

pub(super) fn req(
    id: u64,
    ms: i64,
    client: &str,
    server: &str,
    host: Option<&str>,
) -> RequestFacts {
    RequestFacts {
        host: host.map(|h| h.to_string().into()),
        user_agent: Some(BOTO_FIXED.into()),
        connection: 1,
        ..RequestFacts::sample(id, at(ms), client, server)
    }
}

pub(super) fn tls(ms: i64, client: &str, server: &str, sni: Option<&str>) -> TlsFacts {
    TlsFacts {
        time: at(ms),
        client: sa(client),
        server: sa(server),
        sni: sni.map(str::to_string),
    }
}

pub(super) fn attempt(ms: i64, client: &str, server: &str) -> AttemptFacts {
    AttemptFacts {
        time: at(ms),
        client: sa(client),
        server: sa(server),
        outcome: AttemptOutcome::Refused,
        syns: 1,
        owner: None,
    }
}

pub(super) fn kinds(f: &[Finding]) -> Vec<FindingKind> {
    f.iter().map(|f| f.kind).collect()
}

#[test]
fn infers_by_sni_or_by_ip_once_per_host_and_port() {
    let t = [
        tls(
            0,
            "127.0.0.1:40000",
            "127.0.0.1:8443",
            Some("S3.Local.Test"),
        ),
        tls(
            5,
            "127.0.0.1:40001",
            "127.0.0.1:8443",
            Some("s3.local.test"),
        ),
        tls(9, "[::1]:40002", "[::1]:9443", None),
    ];
    let e = infer_endpoints(&t);
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].url(), "https://s3.local.test:8443");
    assert_eq!(e[0].origin, Origin::Inferred);
    assert_eq!(
        e[0].detail,
        "TLS seen: SNI s3.local.test to 127.0.0.1:8443 at 2026-01-01T00:00:00.000000Z"
    );
    assert_eq!(e[1].url(), "https://[::1]:9443");
    assert!(
        e[1].detail
            .starts_with("TLS seen: no SNI, server [::1]:9443")
    );
}

#[test]
fn mixed_schemes_from_one_client() {
    let t = [tls(
        0,
        "127.0.0.1:40000",
        "127.0.0.1:8443",
        Some("s3.local.test"),
    )];
    let mut policy = Policy::new(vec![]);
    policy.extend(infer_endpoints(&t));
    let mut r = req(
        7,
        100,
        "127.0.0.1:40010",
        "127.0.0.1:80",
        Some("b1.s3.local.test"),
    );
    r.evidence.sigv4_auth = true;
    let f = evaluate(&policy, &[r], &[], &t);
    assert_eq!(
        kinds(&f),
        [
            FindingKind::PlaintextToHttpsEndpoint,
            FindingKind::CredentialsInCleartext
        ]
    );
    let x = &f[0];
    assert_eq!(
        (x.request, x.endpoint.as_deref(), x.origin),
        (
            Some(7),
            Some("https://s3.local.test:8443"),
            Some(Origin::Inferred)
        )
    );
    assert_eq!(x.operation, Some("PutObject"));
    assert_eq!(
        x.hint,
        format!(
            "this client reached b1.s3.local.test over HTTPS too: two differently configured clients or a per-operation endpoint override; {BOTO_SETTINGS}"
        )
    );
    assert_eq!(
        x.seen().as_deref(),
        Some("PUT http://b1.s3.local.test/b1/k1")
    );
    assert!(
        f[1].hint
            .starts_with("a request signature crossed the network in cleartext")
    );
}

#[test]
fn downgrade_user_agent_gives_the_botocore_hint() {
    let policy = Policy::new(vec![ep("https://s3.local.test", Origin::Env)]);
    let mut r = req(
        1,
        0,
        "127.0.0.1:40010",
        "127.0.0.1:80",
        Some("s3.local.test"),
    );
    r.user_agent = Some(BOTO_BUGGY.into());
    r.status = Some(403);
    let f = evaluate(&policy, &[r], &[], &[]);
    assert_eq!(kinds(&f), [FindingKind::PlaintextToHttpsEndpoint]);
    assert_eq!(f[0].origin, Some(Origin::Env));
    assert_eq!(
        f[0].hint,
        "botocore 1.40.14 rewrites an https endpoint_url to http when use_ssl is False/None (boto/botocore#3542, fixed in 1.40.15): upgrade botocore or drop use_ssl; a 403 here may be an aws:SecureTransport bucket policy refusing plaintext"
    );
}

#[test]
fn plain_http_to_nginx_tls_port_configured_http() {
    let policy = Policy::new(vec![ep("http://s3.local.test:8443", Origin::Flag)]);
    let mut r = req(
        3,
        0,
        "127.0.0.1:40010",
        "127.0.0.1:8443",
        Some("s3.local.test:8443"),
    );
    r.status = Some(400);
    r.evidence.response_text = Some(NGINX_400.into());
    r.evidence.sigv4_auth = true;
    let f = evaluate(&policy, std::slice::from_ref(&r), &[], &[]);
    // Configured http:// on purpose: not "to an HTTPS endpoint", but the port speaks TLS, and the
    // signature went out in clear all the same.
    assert_eq!(
        kinds(&f),
        [
            FindingKind::PlaintextToTlsPort,
            FindingKind::CredentialsInCleartext
        ]
    );
    assert_eq!(f[0].endpoint.as_deref(), Some("http://s3.local.test:8443"));
    // The same words in a 200 (an object's content) prove nothing.
    let mut r2 = r;
    r2.status = Some(200);
    assert!(
        evaluate(&policy, &[r2], &[], &[])
            .iter()
            .all(|f| f.kind != FindingKind::PlaintextToTlsPort)
    );
    assert_eq!(
        f[0].hint,
        format!(
            "the server answered \"The plain HTTP request was sent to HTTPS port\": plain HTTP was sent to the TLS port 8443 — the endpoint URL's scheme is http but the port speaks TLS; {BOTO_SETTINGS}"
        )
    );
}

#[test]
fn https_endpoint_port_reset_and_tls_reply_are_tls_port_evidence() {
    let policy = Policy::new(vec![ep("https://s3.local.test:8443", Origin::Flag)]);
    let mut r = req(
        1,
        0,
        "127.0.0.1:40010",
        "127.0.0.1:8443",
        Some("s3.local.test:8443"),
    );
    r.status = None;
    r.evidence.reset_without_response = true;
    let f = evaluate(&policy, std::slice::from_ref(&r), &[], &[]);
    assert_eq!(
        kinds(&f),
        [
            FindingKind::PlaintextToHttpsEndpoint,
            FindingKind::PlaintextToTlsPort
        ]
    );
    assert!(
        f[1].hint
            .starts_with("the server reset the connection without a response")
    );

    // A reset on another port is not evidence of TLS.
    let mut r2 = req(
        2,
        0,
        "127.0.0.1:40011",
        "127.0.0.1:80",
        Some("s3.local.test"),
    );
    r2.status = None;
    r2.evidence.reset_without_response = true;
    assert_eq!(
        kinds(&evaluate(&policy, std::slice::from_ref(&r2), &[], &[])),
        [FindingKind::PlaintextToHttpsEndpoint]
    );
    r2.evidence.server_replied_tls = true;
    let f = evaluate(&policy, &[r2], &[], &[]);
    assert_eq!(
        kinds(&f),
        [
            FindingKind::PlaintextToHttpsEndpoint,
            FindingKind::PlaintextToTlsPort
        ]
    );
    assert!(f[1].hint.starts_with("the server answered with TLS bytes"));
}

#[test]
fn tls_session_at_the_same_address_is_tls_port_evidence_even_unconfigured() {
    let t = [tls(0, "10.0.0.2:40000", "10.0.0.9:9000", None)];
    let r = req(
        1,
        50,
        "10.0.0.3:40010",
        "10.0.0.9:9000",
        Some("minio.internal:9000"),
    );
    // No policy entry at all (not even inferred): still HTTP bytes to a TLS port.
    let f = evaluate(&Policy::new(vec![]), &[r], &[], &t);
    assert_eq!(kinds(&f), [FindingKind::PlaintextToTlsPort]);
    assert_eq!(f[0].endpoint, None);
    assert!(
        f[0].hint
            .starts_with("the capture shows TLS on this address")
    );
}

#[test]
fn clean_https_and_configured_http_give_nothing() {
    let policy = Policy::new(vec![
        ep("https://s3.local.test:8443", Origin::Flag),
        ep("http://minio.test:9000", Origin::Flag),
    ]);
    let t = [tls(
        0,
        "127.0.0.1:40000",
        "127.0.0.1:8443",
        Some("s3.local.test"),
    )];
    let mut https = req(
        1,
        1,
        "127.0.0.1:40000",
        "127.0.0.1:8443",
        Some("s3.local.test:8443"),
    );
    https.scheme = Scheme::Https;
    https.evidence.sigv4_auth = true;
    let mut plain = req(
        2,
        2,
        "127.0.0.1:40001",
        "127.0.0.2:9000",
        Some("minio.test:9000"),
    );
    plain.evidence.sigv4_auth = true;
    plain.evidence.session_token = true;
    assert!(evaluate(&policy, &[https, plain], &[], &t).is_empty());
}

#[test]
fn credentials_to_an_unlisted_host() {
    let mut r = req(
        5,
        0,
        "10.0.0.2:40000",
        "10.0.0.7:80",
        Some("files.example.test"),
    );
    r.method = "GET".into();
    r.target =
        "/b/k?X-Amz-Credential=AKIA%2F20260101&X-Amz-Security-Token=tok&X-Amz-Signature=abc".into();
    r.evidence.presigned = true;
    r.evidence.session_token = true;
    let f = evaluate(&Policy::new(vec![]), &[r], &[], &[]);
    assert_eq!(kinds(&f), [FindingKind::CredentialsInCleartext]);
    assert_eq!((f[0].endpoint.as_ref(), f[0].origin), (None, None));
    assert!(
        f[0].hint
            .starts_with("a session token and presigned-URL credentials crossed")
    );
}

#[test]
fn aws_s3_host_over_http_with_403() {
    let r = {
        let mut r = req(
            1,
            0,
            "10.0.0.2:40000",
            "52.218.1.1:80",
            Some("b1.s3.us-west-2.amazonaws.com"),
        );
        r.status = Some(403);
        r
    };
    let f = evaluate(&Policy::new(vec![]), &[r], &[], &[]);
    assert_eq!(kinds(&f), [FindingKind::PlaintextToHttpsEndpoint]);
    assert_eq!(f[0].origin, Some(Origin::AwsDefault));
    // AWS's own host: the SDK built the URL, so its TLS switch comes first.
    assert_eq!(
        f[0].hint,
        format!(
            "{}; boto3/botocore 1.40.15: use_ssl=False, or endpoint_url=\"http://…\" (boto3 docs, Session.client)",
            hints::SECURE_TRANSPORT_HINT
        )
    );
    let json = serde_json::to_value(&f[0]).unwrap();
    assert_eq!(json["kind"], "plaintext-to-https-endpoint");
    assert_eq!(json["origin"], "aws-default");
    assert_eq!(json["time"], "2026-01-01T00:00:00.000000Z");
}

#[test]
fn connect_to_a_proxy_is_not_a_plaintext_request() {
    let policy = Policy::new(vec![ep("https://s3.local.test", Origin::Flag)]);
    let mut r = req(
        1,
        0,
        "127.0.0.1:40010",
        "127.0.0.1:3128",
        Some("s3.local.test:443"),
    );
    r.method = "CONNECT".into();
    r.target = "s3.local.test:443".into();
    assert!(evaluate(&policy, &[r], &[], &[]).is_empty());
}

#[test]
fn both_schemes_configured_for_one_host_still_finds_the_plaintext_one() {
    // As in the fixtures `mixed` / `refused`: main client https://s3.local.test:8443, the other
    // client http://s3.local.test:5000 (a DeleteObject) or http://s3.local.test:80 (refused).
    let policy = Policy::new(vec![
        ep("https://s3.local.test:8443", Origin::Flag),
        ep("http://s3.local.test:5000", Origin::Flag),
        ep("http://s3.local.test:80", Origin::Flag),
    ]);
    let t = [tls(
        0,
        "127.0.0.1:40000",
        "127.0.0.1:8443",
        Some("s3.local.test"),
    )];
    let mut del = req(
        5,
        100,
        "127.0.0.1:40010",
        "127.0.0.1:5000",
        Some("s3.local.test:5000"),
    );
    del.method = "DELETE".into();
    del.operation = Ok("DeleteObject");
    del.status = Some(204);
    del.evidence.sigv4_auth = true;
    let a = [attempt(50, "127.0.0.1:40005", "127.0.0.1:80")];
    let f = evaluate(&policy, &[del], &a, &t);
    assert_eq!(
        kinds(&f),
        [
            FindingKind::RefusedPlaintextAttempt,
            FindingKind::PlaintextToHttpsEndpoint,
            FindingKind::CredentialsInCleartext
        ]
    );
    assert_eq!(f[1].endpoint.as_deref(), Some("https://s3.local.test:8443"));
    assert!(
        f[1].hint
            .starts_with("this client reached s3.local.test over HTTPS too")
    );
    let g = f[0].guess.as_ref().unwrap();
    assert_eq!((g.operation, g.request), (Some("DeleteObject"), 5));
}

#[test]
fn tls_port_hint_puts_the_evidence_before_the_mixed_client() {
    let policy = Policy::new(vec![
        ep("https://s3.local.test:8443", Origin::Flag),
        ep("http://s3.local.test:8443", Origin::Flag),
    ]);
    let t = [tls(
        0,
        "127.0.0.1:40000",
        "127.0.0.1:8443",
        Some("s3.local.test"),
    )];
    let mut r = req(
        5,
        100,
        "127.0.0.1:40010",
        "127.0.0.1:8443",
        Some("s3.local.test:8443"),
    );
    r.status = Some(400);
    r.evidence.response_text = Some(NGINX_400.into());
    let f = evaluate(&policy, &[r], &[], &t);
    assert_eq!(
        kinds(&f),
        [
            FindingKind::PlaintextToHttpsEndpoint,
            FindingKind::PlaintextToTlsPort
        ]
    );
    assert!(
        f[0].hint
            .starts_with("this client reached s3.local.test over HTTPS too")
    );
    assert!(
        f[1].hint
            .starts_with("the server answered \"The plain HTTP request was sent to HTTPS port\"")
    );
    assert!(f[1].hint.ends_with("; this client reached s3.local.test over HTTPS too: two differently configured clients or a per-operation endpoint override"));
}

/// A head the snaplen cut before its Host: its server address ties it to the endpoint's host.
#[test]
fn a_request_without_host_is_tied_by_a_resolve_address() {
    let mut policy = Policy::new(vec![ep("https://s3.local.test:8443", Origin::Flag)]);
    let r = req(1, 0, "127.0.0.1:40010", "127.0.0.1:5000", None);
    assert!(evaluate(&policy, std::slice::from_ref(&r), &[], &[]).is_empty());
    policy.add_address("s3.local.test", "127.0.0.1".parse().unwrap(), "--resolve");
    let f = evaluate(&policy, &[r], &[], &[]);
    assert_eq!(kinds(&f), [FindingKind::PlaintextToHttpsEndpoint]);
    assert_eq!(f[0].endpoint.as_deref(), Some("https://s3.local.test:8443"));
    assert_eq!(f[0].host, None);
    assert!(f[0].hint.starts_with(
        "no Host header captured: tied by its server address to s3.local.test \
         (s3.local.test → 127.0.0.1 --resolve); "
    ));
}

#[test]
fn a_request_without_host_is_tied_by_the_name_other_traffic_gives_its_address() {
    let policy = Policy::new(vec![ep("https://s3.local.test", Origin::Flag)]);
    let named = req(1, 0, "10.0.0.1:40010", "10.0.0.5:80", Some("s3.local.test"));
    let cut = req(2, 10, "10.0.0.1:40011", "10.0.0.5:80", None);
    let f = evaluate(&policy, &[named, cut], &[], &[]);
    assert_eq!(
        f.iter().map(|f| (f.kind, f.request)).collect::<Vec<_>>(),
        [
            (FindingKind::PlaintextToHttpsEndpoint, Some(1)),
            (FindingKind::PlaintextToHttpsEndpoint, Some(2)),
        ]
    );
    assert!(!f[0].hint.starts_with("no Host header"));
    assert!(f[1].hint.starts_with(
        "no Host header captured: tied by its server address to s3.local.test, the name other \
         traffic in the capture gives 10.0.0.5; "
    ));
}

#[test]
fn a_request_without_host_to_an_address_of_other_names_is_not_tied() {
    let policy = Policy::new(vec![ep("https://s3.local.test", Origin::Flag)]);
    let named = req(1, 0, "10.0.0.1:40010", "10.0.0.5:80", Some("other.test"));
    let cut = req(2, 10, "10.0.0.1:40011", "10.0.0.5:80", None);
    assert!(evaluate(&policy, &[named, cut], &[], &[]).is_empty());
}
