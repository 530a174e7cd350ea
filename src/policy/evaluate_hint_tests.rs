//! Which cause a plaintext finding's hint names: a redirect it followed, the client's own http
//! settings (from its User-Agent), and their precedence.

use super::tests::{BOTO_BUGGY, BOTO_SETTINGS, ep, req};
use super::*;
use crate::policy::Origin;

/// `GET https://s3.local.test:8443/b1/k1` (decrypted) answered 301 to `location`.
fn redirected(id: u64, ms: i64, location: &str) -> RequestFacts {
    RequestFacts {
        scheme: Scheme::Https,
        method: "GET".into(),
        operation: Ok("GetObject"),
        status: Some(301),
        location: Some(location.into()),
        ..req(
            id,
            ms,
            "10.0.0.1:40000",
            "10.0.0.9:8443",
            Some("s3.local.test:8443"),
        )
    }
}

/// A plaintext `GET http://s3.local.test/{target}` from the same client, later.
fn follow(id: u64, ms: i64, target: &str) -> RequestFacts {
    RequestFacts {
        method: "GET".into(),
        operation: Ok("GetObject"),
        target: target.into(),
        ..req(
            id,
            ms,
            "10.0.0.1:40001",
            "10.0.0.9:80",
            Some("s3.local.test"),
        )
    }
}

fn policy() -> Policy {
    Policy::new(vec![ep("https://s3.local.test:8443", Origin::Flag)])
}

fn hint_of(f: &[Finding], id: u64) -> &str {
    let x = f
        .iter()
        .find(|f| f.request == Some(id) && f.kind == FindingKind::PlaintextToHttpsEndpoint)
        .expect("a plaintext-to-https-endpoint finding");
    &x.hint
}

const FOLLOWED: &str = "followed a redirect from https://s3.local.test:8443/b1/k1 (request #1, 301) to http://s3.local.test/b1/k1: the server sent the client to plaintext; fix the redirect, not the client";

#[test]
fn a_plaintext_request_after_an_https_301_to_http_says_it_followed_it() {
    let r = [
        redirected(1, 0, "http://s3.local.test/b1/k1"),
        follow(2, 40, "/b1/k1"),
    ];
    let f = evaluate(&policy(), &r, &[], &[]);
    // The evidence stands alone: neither "two configurations" (the client used HTTPS before it
    // was redirected) nor the client's settings guess is added.
    assert_eq!(hint_of(&f, 2), FOLLOWED);
}

#[test]
fn the_redirect_is_remembered_after_it_left_the_judges_window() {
    let mut judge = Judge::new(policy(), 1);
    let mut out = Vec::new();
    judge.request(
        Box::new(redirected(1, 0, "http://s3.local.test/b1/k1")),
        &mut out,
    );
    judge.request(Box::new(follow(2, 10, "/other")), &mut out);
    judge.request(Box::new(follow(3, 40, "/b1/k1?x-id=GetObject")), &mut out);
    judge.finish(&mut out);
    let hints: Vec<(u64, String)> = out
        .iter()
        .filter_map(|j| match j {
            Judged::Request(r, f) => f
                .iter()
                .find(|f| f.kind == FindingKind::PlaintextToHttpsEndpoint)
                .map(|f| (r.id, f.hint.to_string())),
            Judged::Attempt(..) => None,
        })
        .collect();
    assert_eq!(
        hints,
        [
            (
                2,
                format!(
                    "{}; {BOTO_SETTINGS}",
                    hints::mixed_schemes_hint("s3.local.test")
                )
            ),
            (3, FOLLOWED.to_string())
        ],
        "another path is no follower (the same client also used HTTPS); the query does not matter"
    );
}

#[test]
fn a_plaintext_redirect_counts_too() {
    let mut r = redirected(1, 0, "http://s3.local.test/b1/k1");
    r.scheme = Scheme::Http;
    r.server = "10.0.0.9:80".parse().unwrap();
    r.host = Some("s3.local.test".into());
    r.target = "/b1/k1-old".into();
    let f = evaluate(&policy(), &[r, follow(2, 40, "/b1/k1")], &[], &[]);
    assert_eq!(
        hint_of(&f, 2),
        "followed a redirect from http://s3.local.test/b1/k1-old (request #1, 301) to http://s3.local.test/b1/k1: the server sent the client to plaintext; fix the redirect, not the client"
    );
}

#[test]
fn an_affected_botocore_comes_first_then_the_redirect() {
    let mut r = [
        redirected(1, 0, "http://s3.local.test/b1/k1"),
        follow(2, 40, "/b1/k1"),
    ];
    r[1].user_agent = Some(BOTO_BUGGY.into());
    r[0].user_agent = Some(BOTO_BUGGY.into());
    let f = evaluate(&policy(), &r, &[], &[]);
    let h = hint_of(&f, 2);
    assert!(h.starts_with("botocore 1.40.14 rewrites"), "{h}");
    assert!(h.ends_with(&format!("; {FOLLOWED}")), "{h}");
}

#[test]
fn without_a_known_user_agent_the_default_hint_stays() {
    for ua in [None, Some("curl/7.88.1")] {
        let mut r = follow(2, 40, "/b1/k1");
        r.user_agent = ua.map(|u| u.to_string().into());
        let f = evaluate(&policy(), &[r], &[], &[]);
        assert_eq!(hint_of(&f, 2), hints::DEFAULT_HINT, "{ua:?}");
    }
    let f = evaluate(&policy(), &[follow(2, 40, "/b1/k1")], &[], &[]);
    assert_eq!(hint_of(&f, 2), BOTO_SETTINGS);
}
