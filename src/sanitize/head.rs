//! HTTP heads rewritten for a sanitized capture: secrets scrubbed ([`super::scrub`]), names
//! mapped when asked, and the body framing changed so the body can go while the bytes that
//! follow stay parseable (RFC 9112 §6.3): a `Content-Length` becomes `0`, a chunked body becomes
//! its last chunk alone (`0\r\n\r\n`), a body delimited by the close gets `Content-Length: 0`.
//! [`REMOVED_HEADER`] says how many body bytes went (or `unknown`), so a reader of the capture
//! still sees the size that travelled.
//!
//! One exception keeps body text: a server's well-known refusal of plaintext on a TLS port
//! (nginx's "The plain HTTP request was sent to HTTPS port"), because the analysis reads it as
//! evidence. The body is then replaced by that fixed phrase, never by the bytes that came.

use super::names::Names;
use super::scrub;
use crate::policy::hints::plain_http_rejection;
use crate::proto::http::{Cut, Header, Headers, HttpRequest, HttpResponse};
use std::fmt::Write as _;

/// Added to a head whose body was removed; its value is the body's length in bytes.
pub const REMOVED_HEADER: &str = "X-S3wire-Body-Removed";
/// The last chunk of a chunked body, with no trailer (RFC 9112 §7.1).
const LAST_CHUNK: &str = "0\r\n\r\n";

/// What replaces a message's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// The message has no body by its framing, or an empty one: the head stays as it was.
    Unchanged,
    /// The body goes; `Some(n)` bytes were framed (None: unknown, e.g. cut by a gap).
    Removed(Option<u64>),
    /// The body becomes this fixed text.
    Text(&'static str),
}

/// A request head (and the last chunk when chunked), ready to send.
pub fn request(req: &HttpRequest, names: Option<&mut Names>) -> Vec<u8> {
    let target = scrub::target(&req.target);
    let mut names = names;
    let target = match names.as_deref_mut() {
        Some(n) => n.target(&req.method, &target),
        None => target.into_owned(),
    };
    if req.cut == Some(Cut::Target) {
        return format!("{} {target}", req.method).into_bytes();
    }
    let mut out = format!("{} {target} HTTP/1.{}\r\n", req.method, req.version);
    if req.cut.is_some() {
        // Only the whole lines the capture showed: no empty line ends the head.
        for h in req.headers.iter() {
            let v = scrub::header(h.name, h.value);
            let mapped = names.as_deref_mut().and_then(|n| n.header(h.name, &v));
            let _ = write!(out, "{}: {}\r\n", h.name, mapped.as_deref().unwrap_or(&v));
        }
        return out.into_bytes();
    }
    let body = match req.body_len {
        Some(0) => Body::Unchanged,
        n if framed(req.headers.iter()) => Body::Removed(n),
        _ => Body::Unchanged,
    };
    fields(&mut out, &req.headers, body, names);
    out.into_bytes()
}

/// A final response head to a request made with `method`.
pub fn response(resp: &HttpResponse, method: &str, names: Option<&mut Names>) -> Vec<u8> {
    let reason = resp.reason.replace(['\r', '\n'], " ");
    let mut out = format!("HTTP/1.{} {} {reason}\r\n", resp.version, resp.status);
    let no_body = method.eq_ignore_ascii_case("HEAD")
        || matches!(resp.status, 100..=199 | 204 | 304)
        || (method.eq_ignore_ascii_case("CONNECT") && (200..300).contains(&resp.status));
    let body = if no_body || resp.body_len == Some(0) {
        Body::Unchanged
    } else if let Some(text) = rejection(resp) {
        Body::Text(text)
    } else {
        Body::Removed(resp.body_len)
    };
    fields(&mut out, &resp.headers, body, names);
    out.into_bytes()
}

/// An interim (1xx) response; only its status was kept.
pub fn interim(status: u16, version: u8) -> Vec<u8> {
    let reason = match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        _ => "",
    };
    format!("HTTP/1.{version} {status} {reason}\r\n\r\n").into_bytes()
}

/// The well-known refusal text this response's body holds, when it is plain text.
fn rejection(resp: &HttpResponse) -> Option<&'static str> {
    if resp.header("content-encoding").is_some() {
        return None;
    }
    plain_http_rejection(Some(&String::from_utf8_lossy(&resp.body_prefix)))
}

/// True when the fields frame a body: chunked, or a Content-Length other than 0.
fn framed<'a>(mut headers: impl Iterator<Item = Header<'a>>) -> bool {
    headers.any(|h| is_chunked(h) || (is(h, "content-length") && h.value.trim() != "0"))
}

fn is(h: Header<'_>, name: &str) -> bool {
    h.name.eq_ignore_ascii_case(name)
}

fn is_chunked(h: Header<'_>) -> bool {
    is(h, "transfer-encoding") && h.value.to_ascii_lowercase().contains("chunked")
}

/// The header fields, scrubbed, with the framing `body` needs, the end of the head and the
/// body's replacement.
fn fields(out: &mut String, headers: &Headers, body: Body, mut names: Option<&mut Names>) {
    let chunked = headers.iter().any(is_chunked);
    let text = match body {
        Body::Text(t) => Some(t),
        _ => None,
    };
    let mut has_length = false;
    for h in headers.iter() {
        let value = if is(h, "content-length") && body != Body::Unchanged {
            has_length = true;
            if chunked {
                continue; // RFC 9112 §6.3: chunked wins; a stale length only confuses readers
            }
            text.map_or(0, str::len).to_string()
        } else {
            let v = scrub::header(h.name, h.value);
            let mapped = names.as_deref_mut().and_then(|n| n.header(h.name, &v));
            mapped.unwrap_or_else(|| v.into_owned())
        };
        let _ = write!(out, "{}: {value}\r\n", h.name);
    }
    match body {
        Body::Unchanged => {}
        Body::Removed(n) => {
            if !chunked && !has_length {
                out.push_str("Content-Length: 0\r\n");
            }
            let n = n.map_or_else(|| "unknown".to_string(), |n| n.to_string());
            let _ = write!(out, "{REMOVED_HEADER}: {n}\r\n");
        }
        Body::Text(t) if !chunked && !has_length => {
            let _ = write!(out, "Content-Length: {}\r\n", t.len());
        }
        Body::Text(_) => {}
    }
    out.push_str("\r\n");
    match (body, chunked) {
        (Body::Unchanged, _) => {}
        (Body::Removed(_), true) => out.push_str(LAST_CHUNK),
        (Body::Removed(_), false) => {}
        (Body::Text(t), true) => {
            let _ = write!(out, "{:x}\r\n{t}\r\n{LAST_CHUNK}", t.len());
        }
        (Body::Text(t), false) => out.push_str(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn req(method: &str, target: &str, headers: &[(&str, &str)], body: Option<u64>) -> HttpRequest {
        HttpRequest {
            ts: Timestamp(0),
            method: method.to_string().into(),
            target: target.into(),
            version: 1,
            headers: headers.iter().copied().collect::<Headers>(),
            body_len: body,
            cut: None,
        }
    }

    fn resp(
        status: u16,
        headers: &[(&str, &str)],
        body: Option<u64>,
        prefix: &[u8],
    ) -> HttpResponse {
        HttpResponse {
            ts: Timestamp(0),
            status,
            reason: "OK".into(),
            version: 1,
            headers: headers.iter().copied().collect::<Headers>(),
            framing_length: None,
            body_len: body,
            body_prefix: prefix.to_vec(),
        }
    }

    fn text(b: Vec<u8>) -> String {
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn put_loses_its_body_length_and_signature() {
        let r = req(
            "PUT",
            "/b/k",
            &[
                ("Host", "s3.local.test"),
                ("Content-Length", "2048"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAX/1/r/s3/aws4_request, SignedHeaders=host, Signature=deadbeef",
                ),
                ("x-amz-security-token", "tok"),
            ],
            Some(2048),
        );
        let h = text(request(&r, None));
        assert_eq!(
            h,
            "PUT /b/k HTTP/1.1\r\nHost: s3.local.test\r\nContent-Length: 0\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=AKIA…/1/r/s3/aws4_request, \
             SignedHeaders=host, Signature=<redacted>\r\nx-amz-security-token: <redacted>\r\n\
             X-S3wire-Body-Removed: 2048\r\n\r\n"
        );
    }

    #[test]
    fn chunked_body_becomes_its_last_chunk() {
        let r = req("PUT", "/b/k", &[("Transfer-Encoding", "chunked")], None);
        assert_eq!(
            text(request(&r, None)),
            "PUT /b/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-S3wire-Body-Removed: unknown\r\n\r\n0\r\n\r\n"
        );
    }

    #[test]
    fn bodiless_messages_keep_their_heads() {
        let r = req("GET", "/b/k", &[("Host", "h")], Some(0));
        assert_eq!(
            text(request(&r, None)),
            "GET /b/k HTTP/1.1\r\nHost: h\r\n\r\n"
        );
        // HEAD's Content-Length describes the object, not a body on this connection.
        let ok = resp(200, &[("Content-Length", "99")], Some(0), b"");
        assert_eq!(
            text(response(&ok, "HEAD", None)),
            "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
        );
    }

    #[test]
    fn response_body_goes_even_delimited_by_close() {
        let r = resp(
            200,
            &[("Content-Type", "text/plain")],
            Some(11),
            b"hello world",
        );
        let h = text(response(&r, "GET", None));
        assert_eq!(
            h,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\
             X-S3wire-Body-Removed: 11\r\n\r\n"
        );
    }

    #[test]
    fn nginx_refusal_keeps_its_fixed_phrase_only() {
        let body = b"<html><head><title>400 The plain HTTP request was sent to HTTPS port</title>";
        let r = resp(400, &[("Content-Length", "255")], Some(255), body);
        let h = text(response(&r, "PUT", None));
        let (head, rest) = h.split_once("\r\n\r\n").unwrap();
        assert_eq!(rest, "The plain HTTP request was sent to HTTPS port");
        assert!(
            head.ends_with(&format!("Content-Length: {}", rest.len())),
            "{head}"
        );
        assert_eq!(
            plain_http_rejection(Some(rest)),
            plain_http_rejection(Some(
                "<title>400 The plain HTTP request was sent to HTTPS port"
            ))
        );
    }

    #[test]
    fn names_are_mapped_in_host_and_absolute_targets() {
        let mut n = Names::new(["s3.local.test"]);
        let r = req(
            "GET",
            "http://b.s3.local.test/k?X-Amz-Signature=abc",
            &[("Host", "b.s3.local.test:80")],
            Some(0),
        );
        assert_eq!(
            text(request(&r, Some(&mut n))),
            "GET http://b.host1.example/k?X-Amz-Signature=%3Credacted%3E HTTP/1.1\r\n\
             Host: b.host1.example:80\r\n\r\n"
        );
    }

    #[test]
    fn interim_heads_are_rebuilt_from_their_status() {
        assert_eq!(text(interim(100, 1)), "HTTP/1.1 100 Continue\r\n\r\n");
    }
}
