//! Requests whose head the capture cut short (snaplen, lost bytes): what the request line still
//! says is enough to name the operation when the line is whole (method, path and query keys
//! decide; the few operations told apart by a header alone are named by their group's default),
//! and only the bucket, when the target itself is cut.

use super::S3Request;
use super::addressing::HostKind;
use crate::proto::http::{Cut, HttpRequest};

/// Stands for the Host of a cut head that lost it: read path-style, as for any host that is
/// not a known S3 endpoint (`.invalid` can name no real host, RFC 2606 §2).
pub(super) const UNSEEN_HOST: &str = "host-not-captured.invalid";

/// A cut head may have lost the fields that showed it was S3 (signature, `x-amz-*`): the
/// request line is taken at its word, except on hosts known to be something else.
pub(super) fn may_lack_signal(req: &HttpRequest, kind: &HostKind) -> bool {
    req.cut.is_some() && matches!(kind, HostKind::Localhost { .. } | HostKind::Other)
}

/// Adjust the classification of a cut request: a note when the line is whole; when the target
/// is cut, no key and no operation (the rest of the path or query could change both), and the
/// bucket only if its path segment ended in what was seen.
pub(super) fn judge(
    req: &HttpRequest,
    out: &mut S3Request,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    match req.cut {
        None => Ok(()),
        Some(Cut::Fields) => {
            notes.push("head cut by the capture: named from the request line".into());
            Ok(())
        }
        Some(Cut::Target) => {
            out.key = None;
            if out.addressing == super::Addressing::Path && !bucket_segment_ended(&req.target) {
                out.bucket = None;
            }
            Err("request line cut by the capture: the target is incomplete".into())
        }
    }
}

/// `/bucket/…` or `/bucket?…`: the first path segment is whole.
fn bucket_segment_ended(target: &str) -> bool {
    let path = target.split_once("://").map_or(target, |(_, rest)| {
        rest.find('/')
            .map_or("", |i| rest.get(i..).unwrap_or_default())
    });
    path.get(1..).is_some_and(|p| p.contains(['/', '?']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::{HostHints, classify};
    use crate::time::Timestamp;

    fn cut(method: &str, target: &str, host: Option<&str>, cut: Cut) -> S3Request {
        let req = HttpRequest {
            ts: Timestamp::ZERO,
            method: method.to_string().into(),
            target: target.into(),
            version: 1,
            headers: host.map(|h| ("Host", h)).into_iter().collect(),
            body_len: None,
            cut: Some(cut),
        };
        classify(&req, &HostHints::default())
    }

    #[test]
    fn a_whole_request_line_without_signal_or_host_is_named() {
        let r = cut(
            "POST",
            "/fx-plain?delete",
            Some("s3.local.test:5000"),
            Cut::Fields,
        );
        assert_eq!(r.operation.as_ref().ok(), Some(&"DeleteObjects"));
        assert_eq!(r.bucket.as_deref(), Some("fx-plain"));
        let r = cut(
            "PUT",
            "/fx-plain/mp/big.bin?uploadId=4m3r&partNumber=2",
            None,
            Cut::Fields,
        );
        assert_eq!(r.operation.as_ref().ok(), Some(&"UploadPart"));
        assert_eq!(
            (r.bucket.as_deref(), r.key.as_deref()),
            (Some("fx-plain"), Some("mp/big.bin"))
        );
        assert!(r.note.unwrap_or_default().contains("cut by the capture"));
    }

    #[test]
    fn a_cut_target_names_no_operation_and_no_key() {
        let r = cut("DELETE", "/fx-mixed/reports/2026", None, Cut::Target);
        assert!(r.operation.is_err());
        assert_eq!((r.bucket.as_deref(), r.key), (Some("fx-mixed"), None));
        let r = cut("GET", "/fx-mix", None, Cut::Target);
        assert_eq!((r.bucket, r.key), (None, None));
    }

    #[test]
    fn a_whole_request_without_signal_is_still_not_named() {
        let mut req = crate::s3::tests_ops::request("GET", "/b/k", &[("Host", "example.test")]);
        assert!(classify(&req, &HostHints::default()).operation.is_err());
        req.cut = Some(Cut::Fields);
        assert!(classify(&req, &HostHints::default()).operation.is_ok());
    }
}
