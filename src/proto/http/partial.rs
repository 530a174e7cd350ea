//! Heads the capture cut short (a snaplen, a lost segment, the end of the file): what the wire
//! still shows of a request or response head is read as far as it goes, so a request line that
//! arrived whole (or half) is still reported, marked cut, instead of being lost with the rest.
//!
//! Only whole lines are trusted (RFC 9112 §2.1: a head is lines ending in LF); of a cut request
//! line the method and the target as far as seen are kept, since a request line is
//! `method SP request-target SP HTTP-version` (RFC 9112 §3) and its first bytes already say what
//! was asked.

use super::{Cut, Headers, HttpRequest, HttpResponse};
use crate::proto::detect;
use crate::time::Timestamp;

/// The request the first bytes of a cut head show, if they are a request line's start: at
/// least `METHOD SP` and one byte of the target.
pub(crate) fn request(bytes: &[u8], ts: Timestamp) -> Option<HttpRequest> {
    let (line, rest) = split_line(bytes);
    let (method, after) = method(line)?;
    let target_len = after.iter().take_while(|b| is_target_byte(**b)).count();
    let target = after.get(..target_len).filter(|t| !t.is_empty())?;
    let tail = after.get(target_len..).unwrap_or_default();
    let (version, cut) = match (rest, tail) {
        (Some(_), [b' ', version @ ..]) => (version_of(version)?, Cut::Fields),
        // The line ends, but not as a request line does.
        (Some(_), _) => return None,
        // Without the version, the line must look like what clients send, or any text with a
        // space in it would pass.
        _ if !usual(method, target) => return None,
        // A space after the target: the target is whole; the version may be cut.
        (None, [b' ', version @ ..]) => (version_of(version)?, Cut::Fields),
        (None, []) => (1, Cut::Target),
        (None, _) => return None,
    };
    Some(HttpRequest {
        ts,
        method: String::from_utf8_lossy(method).into_owned().into(),
        target: String::from_utf8_lossy(target).into_owned(),
        version,
        headers: rest.map(fields).unwrap_or_default(),
        body_len: None,
        cut: Some(cut),
    })
}

/// The response a cut head shows, if its status line (`HTTP/1.x NNN`, RFC 9112 §4) is whole
/// up to the status code.
pub(crate) fn response(bytes: &[u8], ts: Timestamp) -> Option<HttpResponse> {
    let (line, rest) = split_line(bytes);
    if detect::status_line(line) != detect::Detection::Found(detect::Protocol::Http) {
        return None;
    }
    let version = version_of(line.get(..8)?)?;
    let code = std::str::from_utf8(line.get(9..12)?).ok()?.parse().ok()?;
    let reason = line.get(13..).unwrap_or_default();
    Some(HttpResponse {
        ts,
        status: code,
        reason: String::from_utf8_lossy(trim_eol(reason))
            .into_owned()
            .into(),
        version,
        headers: rest.map(fields).unwrap_or_default(),
        framing_length: None,
        body_len: None,
        body_prefix: Vec::new(),
    })
}

/// The first line (without its LF) and, when it ended, what follows it.
fn split_line(bytes: &[u8]) -> (&[u8], Option<&[u8]>) {
    match memchr::memchr(b'\n', bytes) {
        Some(nl) => (
            trim_eol(bytes.get(..nl).unwrap_or_default()),
            bytes.get(nl + 1..),
        ),
        None => (bytes, None),
    }
}

/// `METHOD SP`: a token (RFC 9110 §5.6.2) then one space; returns the method and what follows.
fn method(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = line.iter().take_while(|b| detect::is_tchar(**b)).count();
    match line.get(len..) {
        Some([b' ', after @ ..]) if len > 0 => Some((line.get(..len)?, after)),
        _ => None,
    }
}

/// An upper-case method (as every registered one is, RFC 9110 §9.1) and a target in origin
/// form (`/…`), absolute form (`http…`) or `*` (RFC 9112 §3.2).
fn usual(method: &[u8], target: &[u8]) -> bool {
    method.iter().all(u8::is_ascii_uppercase) && matches!(target.first(), Some(b'/' | b'h' | b'*'))
}

/// `HTTP/1.0` → 0, `HTTP/1.1` → 1, as far as seen (a cut version is taken as 1.1).
fn version_of(v: &[u8]) -> Option<u8> {
    let v = trim_eol(v);
    let prefix = b"HTTP/1.";
    let n = v.len().min(prefix.len());
    if v.get(..n) != prefix.get(..n) {
        return None;
    }
    match v.get(prefix.len()) {
        Some(b'0') => Some(0),
        Some(b'1') | None => Some(1),
        Some(_) => None,
    }
}

/// The header fields on the whole lines of `rest`; a cut last line is left out.
fn fields(rest: &[u8]) -> Headers {
    let mut headers = Headers::default();
    let mut lines = rest.split(|b| *b == b'\n');
    let mut line = lines.next();
    while let (Some(l), Some(next)) = (line, lines.next()) {
        let l = trim_eol(l);
        if l.is_empty() {
            break;
        }
        if let Some(colon) = memchr::memchr(b':', l) {
            let name = l.get(..colon).unwrap_or_default();
            if !name.is_empty() && name.iter().all(|b| detect::is_tchar(*b)) {
                let value = l.get(colon + 1..).unwrap_or_default().trim_ascii();
                headers.push_bytes(&String::from_utf8_lossy(name), value);
            }
        }
        line = Some(next);
    }
    headers
}

fn trim_eol(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\r").unwrap_or(b)
}

fn is_target_byte(b: u8) -> bool {
    b > b' ' && b != 0x7f
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first 30 bytes of the DeleteObject in `mixed.pcap` (a 96-byte snaplen leaves them).
    const CUT_96: &[u8] = b"DELETE /fx-mixed/reports/2026";

    #[test]
    fn a_request_line_cut_in_its_target_keeps_method_and_target_so_far() {
        let r = request(CUT_96, Timestamp(3)).expect("partial request");
        assert_eq!(
            (r.method.as_ref(), r.target.as_str()),
            ("DELETE", "/fx-mixed/reports/2026")
        );
        assert_eq!(
            (r.cut, r.ts, r.headers.len()),
            (Some(Cut::Target), Timestamp(3), 0)
        );
    }

    #[test]
    fn a_whole_request_line_with_cut_fields_keeps_the_whole_fields() {
        let head =
            b"GET /b?list-type=2&prefix=a HTTP/1.1\r\nHost: s3.local.test:5000\r\nAccept-Enc";
        let r = request(head, Timestamp(0)).expect("partial request");
        assert_eq!(r.target, "/b?list-type=2&prefix=a");
        assert_eq!((r.cut, r.version), (Some(Cut::Fields), 1));
        assert_eq!(r.header("host"), Some("s3.local.test:5000"));
        assert_eq!(r.headers.len(), 1);
    }

    #[test]
    fn a_target_followed_by_a_space_is_whole() {
        let r = request(b"PUT /b/k HTT", Timestamp(0)).expect("partial request");
        assert_eq!((r.target.as_str(), r.cut), ("/b/k", Some(Cut::Fields)));
        let r = request(b"GET /a HTTP/1.0\r\n", Timestamp(0)).expect("partial request");
        assert_eq!((r.version, r.cut), (0, Some(Cut::Fields)));
    }

    #[test]
    fn bytes_that_are_not_a_request_line_start_are_not_a_request() {
        for bytes in [
            &b""[..],
            b"DELETE",
            b"DELETE ",
            b" /a",
            b"\x16\x03\x01\x02\x00",
            b"GET /a XTTP/1.1\r\n",
            b"GET /a\r\nHost: x\r\n",
            b"GET /a\tb",
            b"body bytes, then {\"json\": 1}",
            b"Get /a",
            b"GET a/b",
            b"GET /a XTT",
        ] {
            assert_eq!(request(bytes, Timestamp(0)), None, "{bytes:?}");
        }
    }

    /// Every cut of a real head (boto3's PutObject through nginx, as sent) shows the method
    /// and a prefix of the target, or nothing; never a field the head did not have.
    #[test]
    fn every_prefix_of_a_real_head_shows_only_what_it_holds() {
        let head: &[u8] = b"PUT /fx-downgrade-forwarded/reports/2026/q4.csv HTTP/1.1\r\n\
            Host: s3.local.test\r\nAccept-Encoding: identity\r\nContent-Type: text/csv\r\n\
            Expect: 100-continue\r\nContent-Length: 2200\r\n\r\n";
        let target = "/fx-downgrade-forwarded/reports/2026/q4.csv";
        let mut fields_seen = 0;
        for cut in 0..head.len() {
            let Some(r) = request(&head[..cut], Timestamp(0)) else {
                assert!(cut < 5, "nothing shown at {cut}");
                continue;
            };
            assert_eq!(r.method, "PUT");
            assert!(target.starts_with(&r.target), "{} at {cut}", r.target);
            assert_eq!(
                r.cut == Some(Cut::Target),
                r.target.len() < target.len() || cut < 48
            );
            assert!(r.headers.len() >= fields_seen, "fields lost at {cut}");
            fields_seen = r.headers.len();
            for h in r.headers.iter() {
                let line = format!("{}: {}\r\n", h.name, h.value);
                assert!(
                    head.windows(line.len()).any(|w| w == line.as_bytes()),
                    "{line:?}"
                );
            }
        }
        assert_eq!(fields_seen, 5);
    }

    #[test]
    fn a_status_line_whole_up_to_the_code_is_a_response() {
        let r = response(b"HTTP/1.1 204 NO CONTENT\r\nServer: Werk", Timestamp(1)).expect("resp");
        assert_eq!(
            (r.status, r.reason.as_ref(), r.version),
            (204, "NO CONTENT", 1)
        );
        assert_eq!(r.headers.len(), 0);
        let r = response(b"HTTP/1.0 200", Timestamp(1)).expect("resp");
        assert_eq!((r.status, r.version), (200, 0));
        assert_eq!(response(b"HTTP/1.1 20", Timestamp(1)), None);
        assert_eq!(response(b"HTTP/2 200 OK\r\n", Timestamp(1)), None);
    }
}
