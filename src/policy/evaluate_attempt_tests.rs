//! Findings about connection attempts (refused / unanswered), and ordering.

use super::tests::{BOTO_BUGGY, attempt, ep, kinds, req, tls};
use super::*;
use crate::flow::AttemptOutcome;
use crate::policy::Origin;

#[test]
fn refused_attempts_with_retries_and_a_guess() {
    let policy = Policy::new(vec![ep("https://s3.local.test", Origin::Flag)]);
    let t = [tls(
        0,
        "127.0.0.1:40000",
        "127.0.0.1:443",
        Some("s3.local.test"),
    )];
    let attempts = [
        attempt(1000, "127.0.0.1:40100", "127.0.0.1:80"),
        attempt(1500, "127.0.0.1:40101", "127.0.0.1:80"),
        attempt(2500, "127.0.0.1:40102", "127.0.0.1:80"),
        attempt(2600, "127.0.0.1:40103", "127.0.0.1:443"), // the TLS port itself: not plaintext
        attempt(2700, "127.0.0.1:40104", "127.0.0.2:80"),  // nothing ties 127.0.0.2 to an endpoint
    ];
    let mut next = req(
        9,
        3000,
        "127.0.0.1:40200",
        "127.0.0.1:443",
        Some("s3.local.test"),
    );
    next.scheme = Scheme::Https;
    next.operation = Ok("DeleteObject");
    next.user_agent = Some(BOTO_BUGGY.into());
    let f = evaluate(&policy, &[next], &attempts, &t);
    assert_eq!(kinds(&f), [FindingKind::RefusedPlaintextAttempt; 3]);
    assert_eq!(
        f.iter().map(|f| f.attempt).collect::<Vec<_>>(),
        [Some(0), Some(1), Some(2)]
    );
    let first = &f[0];
    assert_eq!(
        (first.endpoint.as_deref(), first.host.as_deref()),
        (Some("https://s3.local.test:443"), Some("s3.local.test"))
    );
    assert_eq!(first.outcome, Some(AttemptOutcome::Refused));
    let g = first.guess.as_ref().unwrap();
    assert_eq!((g.operation, g.request), (Some("DeleteObject"), 9));
    assert_eq!(
        g.reason,
        "guess: the next request from 127.0.0.1 to s3.local.test, 2.000 s later (https PUT)"
    );
    assert!(first.hint.starts_with("connection to plaintext port 80 of https://s3.local.test:443 refused (3 attempt(s) from 127.0.0.1 within 30 s)"), "{}", first.hint);
    assert!(first.hint.contains("botocore 1.40.14 rewrites"));
    assert!(
        !first.hint.contains("boto3/botocore"),
        "the downgrade names the cause"
    );
    // A botocore outside the downgrade range: the guessed request's client and its settings.
    let mut fixed = evaluate(
        &policy,
        &[req(
            9,
            3000,
            "127.0.0.1:40200",
            "127.0.0.1:443",
            Some("s3.local.test"),
        )],
        &attempts,
        &t,
    );
    let hint = fixed.remove(0).hint;
    assert!(
        hint.ends_with(&format!(
            "; the guessed request's User-Agent: {}",
            super::tests::BOTO_SETTINGS
        )),
        "{hint}"
    );
}

#[test]
fn weak_guess_when_nothing_close_to_the_same_host() {
    let policy = Policy::new(vec![ep("https://127.0.0.1:8443", Origin::Flag)]);
    let a = [attempt(0, "127.0.0.1:40100", "127.0.0.1:80")];
    let other = req(
        4,
        60_000,
        "127.0.0.1:40200",
        "127.0.0.1:9000",
        Some("other.test:9000"),
    );
    let f = evaluate(
        &Policy::new(vec![ep("http://other.test:9000", Origin::Flag)]),
        std::slice::from_ref(&other),
        &a,
        &[],
    );
    assert!(
        f.is_empty(),
        "nothing ties 127.0.0.1 to an HTTPS endpoint here"
    );
    let f = evaluate(&policy, &[other], &a, &[]);
    let refused: Vec<_> = f
        .iter()
        .filter(|f| f.kind == FindingKind::RefusedPlaintextAttempt)
        .collect();
    assert_eq!(refused.len(), 1);
    let g = refused[0].guess.as_ref().unwrap();
    assert_eq!(
        g.reason,
        "weak guess: the next request from 127.0.0.1 in the capture, 60.000 s later, to other.test:9000"
    );
}

#[test]
fn ipv6_endpoint_request_and_attempt() {
    let policy = Policy::new(vec![ep("https://[::1]:8443", Origin::AwsConfig)]);
    let r = req(1, 10, "[::1]:40010", "[::1]:80", Some("[::1]"));
    let mut a = attempt(0, "[::1]:40000", "[::1]:80");
    a.outcome = AttemptOutcome::Unanswered;
    let f = evaluate(&policy, &[r], &[a], &[]);
    assert_eq!(
        kinds(&f),
        [
            FindingKind::RefusedPlaintextAttempt,
            FindingKind::PlaintextToHttpsEndpoint
        ]
    );
    assert_eq!(f[0].endpoint.as_deref(), Some("https://[::1]:8443"));
    assert!(f[0].hint.contains(" unanswered "));
    assert_eq!(f[1].seen().as_deref(), Some("PUT http://[::1]/b1/k1"));
    assert_eq!(f[1].hint, super::tests::BOTO_SETTINGS);
}

#[test]
fn findings_are_ordered_by_time() {
    let policy = Policy::new(vec![ep("https://s3.local.test", Origin::Flag)]);
    let t = [tls(
        0,
        "127.0.0.1:1",
        "127.0.0.1:443",
        Some("s3.local.test"),
    )];
    let r = req(
        1,
        500,
        "127.0.0.1:40010",
        "127.0.0.1:80",
        Some("s3.local.test"),
    );
    let a = [
        attempt(100, "127.0.0.1:40000", "127.0.0.1:80"),
        attempt(900, "127.0.0.1:40001", "127.0.0.1:80"),
    ];
    let f = evaluate(&policy, &[r], &a, &t);
    let times: Vec<i64> = f.iter().map(|f| (f.time.0 / 1_000_000) % 1000).collect();
    assert_eq!(times, [100, 500, 900]);
}

#[test]
fn attempt_host_prefers_what_the_same_client_named_next() {
    let policy = Policy::new(vec![
        ep("https://aaa.local.test", Origin::Flag),
        ep("https://s3.local.test", Origin::Flag),
    ]);
    let t = [
        tls(0, "127.0.0.1:1", "127.0.0.1:443", Some("aaa.local.test")),
        tls(0, "127.0.0.1:2", "127.0.0.1:443", Some("s3.local.test")),
    ];
    let mut next = req(
        3,
        1200,
        "127.0.0.1:40200",
        "127.0.0.1:443",
        Some("bkt.s3.local.test"),
    );
    next.scheme = Scheme::Https;
    let a = [attempt(1000, "127.0.0.1:40100", "127.0.0.1:80")];
    let f = evaluate(&policy, &[next], &a, &t);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].host.as_deref(), Some("bkt.s3.local.test"));
    assert_eq!(f[0].endpoint.as_deref(), Some("https://s3.local.test:443"));
}

#[test]
fn refused_attempts_tied_to_a_host_by_resolution_when_the_capture_never_names_it() {
    // The fixture `downgrade-refused`: only SYN → RST to 127.0.0.1:80, nothing else.
    let mut policy = Policy::new(vec![ep("https://s3.local.test", Origin::Flag)]);
    let a = [
        attempt(0, "127.0.0.1:44510", "127.0.0.1:80"),
        attempt(800, "127.0.0.1:44514", "127.0.0.1:80"),
    ];
    assert!(evaluate(&policy, &[], &a, &[]).is_empty());
    policy.add_address(
        "S3.local.test",
        "127.0.0.1".parse().unwrap(),
        "(resolved on this machine)",
    );
    let f = evaluate(&policy, &[], &a, &[]);
    assert_eq!(kinds(&f), [FindingKind::RefusedPlaintextAttempt; 2]);
    assert_eq!(f[0].host.as_deref(), Some("s3.local.test"));
    assert!(
        f[0].hint.ends_with("(the capture never names the host: s3.local.test → 127.0.0.1 (resolved on this machine))"),
        "{}",
        f[0].hint
    );
    assert!(
        f[0].hint
            .contains("(2 attempt(s) from 127.0.0.1 within 30 s)")
    );
}
