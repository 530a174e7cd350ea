//! The usual `Host` text, `name[:port]`, read in one pass. Both the classifier (`s3`, once per
//! request) and the endpoint policy (`policy`, about three times per request on the report side)
//! read every request's Host; their general readers (trims, a search for a second colon,
//! `str::parse`) cost several hundred instructions each, and nearly every Host is this plain
//! shape. Each keeps its own general reader and its own port rules; tests hold each fast path to
//! its general reader.

/// A plain `name[:port]`: the name in lower-case letters, digits, `-`, `_` and `.`, not empty and
/// not ending in a dot, and the port (as written, possibly empty) in the same bytes. None for
/// anything else: upper case, brackets, spaces, a second colon, a `+`.
pub(crate) fn plain(value: &str) -> Option<(&str, Option<&str>)> {
    const PLAIN: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            t[b] = matches!(b as u8, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.');
            b += 1;
        }
        t
    };
    let is_plain = |s: &str| s.bytes().all(|b| PLAIN[usize::from(b)]);
    let (name, port) = match memchr::memchr(b':', value.as_bytes()) {
        Some(i) => (value.get(..i)?, Some(value.get(i + 1..)?)),
        None => (value, None),
    };
    if name.is_empty() || name.ends_with('.') || !is_plain(name) || !port.is_none_or(is_plain) {
        return None;
    }
    Some((name, port))
}

/// One to five ASCII digits as a number (at most 99,999: the caller checks its own range).
pub(crate) fn digits(p: &str) -> Option<u32> {
    ((1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
        .then(|| p.bytes().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_hosts_and_the_rest() {
        assert_eq!(
            plain("s3.local.test:9000"),
            Some(("s3.local.test", Some("9000")))
        );
        assert_eq!(plain("127.0.0.1"), Some(("127.0.0.1", None)));
        assert_eq!(plain("h:"), Some(("h", Some(""))));
        for other in [
            "", ":80", "h.:80", "H:80", "[::1]:80", "h:8:0", "h: 80", "h:+80", " h",
        ] {
            assert_eq!(plain(other), None, "{other:?}");
        }
        assert_eq!(digits("00080"), Some(80));
        assert_eq!(digits("99999"), Some(99_999));
        for other in ["", "123456", "8a", "+8"] {
            assert_eq!(digits(other), None, "{other:?}");
        }
    }
}
