//! Protocol detection from a stream's first bytes (never from the port).
//!
//! TLS is a record header (RFC 8446 §5.1): content type handshake (22) or alert (21) followed by
//! a version whose major byte is 3. HTTP/1.x is a request line (RFC 9112 §3: `method SP
//! request-target SP HTTP-version`, where the method is any RFC 9110 §5.6.2 token, not only the
//! registered ones) or a status line (RFC 9112 §4: `HTTP/1.x`). Anything else is `Other`.

/// What a direction of a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    Http,
    Tls,
    Other,
}

/// The verdict on the first bytes seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detection {
    /// Too few bytes to tell.
    NeedMore,
    Found(Protocol),
}

/// A request line longer than this is not waited for: the stream is `Other`.
pub const MAX_DETECT_BYTES: usize = 8 << 10;

/// TLS record content types that may open a stream in clear (RFC 8446 §5.1).
const TLS_ALERT: u8 = 21;
const TLS_HANDSHAKE: u8 = 22;

const HTTP_VERSION_PREFIX: &[u8] = b"HTTP/1.";

/// Decide from a stream's first bytes.
pub fn detect(first: &[u8]) -> Detection {
    match first.first() {
        None => Detection::NeedMore,
        Some(&TLS_HANDSHAKE | &TLS_ALERT) => tls_record(first),
        Some(_) => match response_prefix(first) {
            Detection::Found(Protocol::Other) => request_line(first),
            verdict => verdict,
        },
    }
}

fn tls_record(first: &[u8]) -> Detection {
    match first.get(1) {
        None => Detection::NeedMore,
        Some(3) => Detection::Found(Protocol::Tls),
        Some(_) => Detection::Found(Protocol::Other),
    }
}

/// `HTTP/1.` at the start (a status line, RFC 9112 §4).
fn response_prefix(first: &[u8]) -> Detection {
    let n = first.len().min(HTTP_VERSION_PREFIX.len());
    match (first.get(..n), HTTP_VERSION_PREFIX.get(..n)) {
        (Some(a), Some(b)) if a == b && n == HTTP_VERSION_PREFIX.len() => {
            Detection::Found(Protocol::Http)
        }
        (Some(a), Some(b)) if a == b => Detection::NeedMore,
        _ => Detection::Found(Protocol::Other),
    }
}

/// Is this the start of a request line (`TOKEN SP target SP HTTP/1.`, RFC 9112 §3)?
/// `Found(Http)` once ` HTTP/1.` is seen, `NeedMore` while the line could still become one
/// (bounded by [`MAX_DETECT_BYTES`]), `Found(Other)` as soon as it cannot.
pub fn request_line(bytes: &[u8]) -> Detection {
    let verdict = request_line_unbounded(bytes);
    if verdict == Detection::NeedMore && bytes.len() >= MAX_DETECT_BYTES {
        Detection::Found(Protocol::Other)
    } else {
        verdict
    }
}

fn request_line_unbounded(bytes: &[u8]) -> Detection {
    let method_len = bytes.iter().take_while(|b| is_tchar(**b)).count();
    let Some(rest) = bytes.get(method_len..) else {
        return Detection::NeedMore;
    };
    match rest.first() {
        None => return Detection::NeedMore,
        Some(b' ') if method_len > 0 => {}
        Some(_) => return Detection::Found(Protocol::Other),
    }
    let rest = rest.get(1..).unwrap_or_default();
    // The target: any visible bytes (httparse also admits obs-text), at least one.
    let target_len = rest.iter().take_while(|b| is_target_byte(**b)).count();
    let Some(after) = rest.get(target_len..) else {
        return Detection::NeedMore;
    };
    match after.first() {
        None => return Detection::NeedMore,
        Some(b' ') if target_len > 0 => {}
        Some(_) => return Detection::Found(Protocol::Other),
    }
    let version = after.get(1..).unwrap_or_default();
    response_prefix_or_need(version)
}

fn response_prefix_or_need(version: &[u8]) -> Detection {
    if version.is_empty() {
        Detection::NeedMore
    } else {
        response_prefix(version)
    }
}

/// Is this the start of a status line (`HTTP/1.x NNN`, RFC 9112 §4)? Used to resynchronise the
/// server side after a gap, where a bare `HTTP/1.` inside a body is too weak a sign.
pub fn status_line(bytes: &[u8]) -> Detection {
    const SHAPE_LEN: usize = 12; // "HTTP/1.1 200"
    for (i, &b) in bytes.iter().take(SHAPE_LEN).enumerate() {
        let ok = match i {
            0..=6 => HTTP_VERSION_PREFIX.get(i) == Some(&b),
            8 => b == b' ',
            _ => b.is_ascii_digit(),
        };
        if !ok {
            return Detection::Found(Protocol::Other);
        }
    }
    if bytes.len() < SHAPE_LEN {
        Detection::NeedMore
    } else {
        Detection::Found(Protocol::Http)
    }
}

/// RFC 9110 §5.6.2 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_target_byte(b: u8) -> bool {
    b > b' ' && b != 0x7f
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTTP: Detection = Detection::Found(Protocol::Http);
    const TLS: Detection = Detection::Found(Protocol::Tls);
    const OTHER: Detection = Detection::Found(Protocol::Other);

    #[test]
    fn curl_request_line_is_http() {
        let first = b"GET /a HTTP/1.1\r\nHost: 127.0.0.1:18080\r\nUser-Agent: curl/7.88.1\r\n";
        assert_eq!(detect(first), HTTP);
    }

    #[test]
    fn unknown_method_token_is_http() {
        assert_eq!(detect(b"PROPFIND /dav/ HTTP/1.1\r\n"), HTTP);
        assert_eq!(detect(b"X-CUSTOM! * HTTP/1.0\r\n"), HTTP);
    }

    #[test]
    fn incomplete_request_line_needs_more() {
        for end in 1..b"PUT /b/k HTTP/1.".len() {
            assert_eq!(
                detect(&b"PUT /b/k HTTP/1.1\r\n"[..end]),
                Detection::NeedMore,
                "{end}"
            );
        }
    }

    #[test]
    fn overlong_request_line_is_other() {
        let mut line = b"GET /".to_vec();
        line.resize(MAX_DETECT_BYTES + 10, b'a');
        assert_eq!(detect(&line), OTHER);
    }

    #[test]
    fn not_a_request_line() {
        assert_eq!(detect(b"GET  / HTTP/1.1\r\n"), OTHER);
        assert_eq!(detect(b"GET / FTP/1.1\r\n"), OTHER);
        assert_eq!(detect(b"GET /\r\n"), OTHER);
        assert_eq!(detect(b"SSH-2.0-OpenSSH_9.2\r\n"), OTHER);
        assert_eq!(detect(b"PRI * HTTP/2.0\r\n"), OTHER);
        assert_eq!(detect(b"\x00\x01"), OTHER);
    }

    #[test]
    fn status_line_is_http() {
        assert_eq!(detect(b"HTTP/1.1 200 Connection established\r\n\r\n"), HTTP);
        assert_eq!(detect(b"HTTP/1"), Detection::NeedMore);
        assert_eq!(detect(b"HTTP/2 200"), OTHER);
        // "HEAD" starts like "HTTP" but is a request.
        assert_eq!(detect(b"HEAD /bucket/obj HTTP/1.1\r\n"), HTTP);
    }

    #[test]
    fn tls_client_hello_and_alert() {
        // First bytes of curl 7.88.1's ClientHello (record version 3.1), from a loopback capture.
        assert_eq!(detect(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), TLS);
        assert_eq!(detect(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]), TLS);
        assert_eq!(detect(&[0x16]), Detection::NeedMore);
        assert_eq!(detect(&[0x16, 0x02]), OTHER);
        assert_eq!(detect(&[0x17, 0x03, 0x03]), OTHER);
    }

    #[test]
    fn status_line_shape() {
        assert_eq!(status_line(b"HTTP/1.1 403 Forbidden"), HTTP);
        assert_eq!(status_line(b"HTTP/1.0 20"), Detection::NeedMore);
        assert_eq!(status_line(b"HTTP/1.1 2x0"), OTHER);
        assert_eq!(status_line(b"HTTP/1.1"), Detection::NeedMore);
    }

    #[test]
    fn empty_needs_more() {
        assert_eq!(detect(b""), Detection::NeedMore);
        assert_eq!(request_line(b""), Detection::NeedMore);
    }
}
