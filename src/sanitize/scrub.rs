//! Secrets out of heads: the report's own redactor decides what is secret (so a sanitized
//! capture hides exactly what a report hides), and its placeholders are then made valid where
//! they land. A header value may hold `<redacted>` and `AKIA…` as they are (RFC 9110 §5.5 allows
//! visible characters and obs-text), but a request target may not (RFC 3986 §2: no `<`, `>` or
//! raw non-ASCII), so there they are percent-encoded; re-analysing the file redacts them back to
//! the same text.

use crate::report::redact::{REDACTED, redact_header, redact_target};
use std::borrow::Cow;

/// Headers the report does not show but that carry a credential all the same: the EC2
/// instance metadata session token (IMDSv2) a client may fetch in clear before calling S3.
const EXTRA_SECRET_HEADERS: &[&str] = &[
    "x-aws-ec2-metadata-token",
    "x-aws-ec2-metadata-token-ttl-seconds",
];

/// One header value with its secrets replaced.
pub fn header<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    if EXTRA_SECRET_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
    {
        return Cow::Borrowed(REDACTED);
    }
    redact_header(name, value)
}

/// A request target with its secret parameters replaced by placeholders valid in a target.
pub fn target(target: &str) -> Cow<'_, str> {
    match redact_target(target) {
        Cow::Borrowed(t) => Cow::Borrowed(t),
        Cow::Owned(t) => Cow::Owned(encode_placeholders(&t)),
    }
}

/// `<`, `>` and non-ASCII bytes (the redactor's `<redacted>` and `…`) percent-encoded.
fn encode_placeholders(t: &str) -> String {
    let mut out = String::with_capacity(t.len() + 16);
    for b in t.bytes() {
        if b.is_ascii() && b != b'<' && b != b'>' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A presigned GET as urllib sent it in `js-mixed.pcap` (values shortened).
    const PRESIGNED: &str = "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
        &X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600\
        &X-Amz-Security-Token=FwoGZXIvYXdzEJr&X-Amz-Signature=0f1e2d3c4b5a\
        &X-Amz-SignedHeaders=host";

    #[test]
    fn presigned_target_loses_its_secrets_and_stays_a_valid_target() {
        let t = target(PRESIGNED);
        assert!(
            !t.contains("FwoGZXIvYXdzEJr") && !t.contains("0f1e2d3c4b5a"),
            "{t}"
        );
        assert!(!t.contains("IOSFODNN7EXAMPLE"), "{t}");
        assert!(t.contains("X-Amz-Signature=%3Credacted%3E"), "{t}");
        assert!(
            t.contains("X-Amz-Credential=AKIA%E2%80%A6%2F20260101%2F"),
            "{t}"
        );
        assert!(t.bytes().all(|b| b.is_ascii_graphic()), "{t}");
        // What a report of the sanitized file shows is what a report of the original shows.
        assert_eq!(redact_target(&t), redact_target(PRESIGNED));
    }

    #[test]
    fn a_target_without_secrets_is_kept_byte_for_byte() {
        let t = "/b/a%20b?list-type=2&prefix=x<y";
        assert!(matches!(target(t), Cow::Borrowed(s) if s == t));
    }

    #[test]
    fn credentials_headers_go_and_shape_stays() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/s3/\
                    aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef0123";
        let h = header("Authorization", auth);
        assert!(
            h.starts_with("AWS4-HMAC-SHA256 Credential=AKIA…/20260101/"),
            "{h}"
        );
        assert!(
            h.ends_with("Signature=<redacted>") && !h.contains("abcdef0123"),
            "{h}"
        );
        for name in [
            "X-Amz-Security-Token",
            "Cookie",
            "Set-Cookie",
            "X-aws-ec2-metadata-token",
        ] {
            assert_eq!(header(name, "secret-value"), REDACTED, "{name}");
        }
        assert_eq!(header("Content-Type", "text/plain"), "text/plain");
    }
}
