//! The request target's query (RFC 3986 §3.4) as S3 reads it: `&`-separated keys, with or without
//! `=value`, percent-decoded, case-sensitive; and query-string authentication (presigned URLs).

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// Query parameters in wire order; a key sent without `=` has no value (`?acl`), one sent as
/// `key=` has an empty value. Repeated keys are all kept. Keys are percent-decoded as the query
/// is read (borrowed from the target unless decoding changed them); values are kept as sent and
/// decoded only when read ([`Query::get`]): most are never read (`prefix`, `uploadId`), and
/// decoding them was most of the cost of reading a query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Query<'a> {
    params: Vec<(Cow<'a, str>, Option<&'a str>)>,
}

impl<'a> Query<'a> {
    pub fn parse(raw: &'a str) -> Query<'a> {
        let mut params = Vec::new();
        if raw.is_empty() {
            return Query { params };
        }
        // One pass over the bytes finds each piece's `&`, its first `=` and whether its key has
        // a `%` (all ASCII, so every piece is on character boundaries): on these short texts
        // a byte loop costs less than a memchr call per search.
        let mut piece = Piece::default();
        for (i, b) in raw.bytes().enumerate() {
            match b {
                b'&' => {
                    piece.push_to(&mut params, raw, i);
                    piece = Piece {
                        start: i + 1,
                        ..Piece::default()
                    };
                }
                b'=' if piece.eq.is_none() => piece.eq = Some(i),
                b'%' if piece.eq.is_none() => piece.key_escaped = true,
                _ => {}
            }
        }
        piece.push_to(&mut params, raw, raw.len());
        Query { params }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    pub fn has(&self, key: &str) -> bool {
        self.params.iter().any(|(k, _)| k == key)
    }

    /// The value of the first occurrence of `key`, percent-decoded (`Some(None)` for a bare
    /// key). Inlined: most requests have no query, and each asks for `x-id`.
    #[inline]
    pub fn get(&self, key: &str) -> Option<Option<Cow<'a, str>>> {
        if self.is_empty() {
            return None;
        }
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.map(decode_lossy))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.params.iter().map(|(k, _)| k.as_ref())
    }

    /// Every key with its value as sent, not decoded (`None` for a bare key), in wire order:
    /// decode a value with [`decode`] when it is read.
    pub fn raw_params(&self) -> impl Iterator<Item = (&str, Option<&'a str>)> {
        self.params.iter().map(|(k, v)| (k.as_ref(), *v))
    }
}

/// One `&`-separated piece of a query being read: where it starts, its first `=`, and whether
/// its key has a `%` to decode.
#[derive(Default)]
struct Piece {
    start: usize,
    eq: Option<usize>,
    key_escaped: bool,
}

impl Piece {
    /// The piece ends at `end`: add it to `params` unless it is empty.
    fn push_to<'a>(
        &self,
        params: &mut Vec<(Cow<'a, str>, Option<&'a str>)>,
        raw: &'a str,
        end: usize,
    ) {
        if end <= self.start {
            return;
        }
        let key_end = self.eq.unwrap_or(end);
        let key = raw.get(self.start..key_end).unwrap_or_default();
        let key = match self.key_escaped {
            true => decode_lossy(key),
            false => Cow::Borrowed(key),
        };
        let value = self.eq.map(|e| raw.get(e + 1..end).unwrap_or_default());
        params.push((key, value));
    }
}

/// Percent-decodes (RFC 3986 §2.1) into UTF-8; `+` stays `+` (S3 paths take it literally).
/// Returns the text (borrowed when there was nothing to decode) and whether it had to be
/// decoded lossily.
pub(crate) fn decode(s: &str) -> (Cow<'_, str>, bool) {
    if !s.contains('%') {
        return (Cow::Borrowed(s), false);
    }
    match percent_decode_str(s).decode_utf8() {
        Ok(text) => (text, false),
        Err(_) => (percent_decode_str(s).decode_utf8_lossy(), true),
    }
}

fn decode_lossy(s: &str) -> Cow<'_, str> {
    decode(s).0
}

/// Which query-string authentication a presigned URL used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigVersion {
    /// `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=…&X-Amz-Signature=…`.
    V4,
    /// `AWSAccessKeyId=…&Signature=…&Expires=…` (SigV2 query auth).
    V2,
}

/// A presigned request: query-string authentication instead of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    pub version: SigVersion,
    /// The authentication parameter names present, as sent.
    pub params: Vec<String>,
}

const V4_PARAMS: &[&str] = &[
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];
const V2_PARAMS: &[&str] = &[
    "AWSAccessKeyId",
    "Signature",
    "Expires",
    "x-amz-security-token",
];

/// SigV4 query auth needs a credential or signature; SigV2 needs `AWSAccessKeyId` and `Signature`
/// (AWS S3 user guide, "Authenticating Requests: Using Query Parameters").
#[inline]
pub(crate) fn presigned(q: &Query) -> Option<Presigned> {
    match q.is_empty() {
        true => None, // most requests: no call
        false => presigned_by(q),
    }
}

fn presigned_by(q: &Query) -> Option<Presigned> {
    let found = |names: &[&str]| -> Vec<String> {
        q.keys()
            .filter(|k| names.iter().any(|n| n.eq_ignore_ascii_case(k)))
            .map(str::to_string)
            .collect()
    };
    let has_ci = |name: &str| q.keys().any(|k| k.eq_ignore_ascii_case(name));
    if has_ci("X-Amz-Credential") || has_ci("X-Amz-Signature") {
        return Some(Presigned {
            version: SigVersion::V4,
            params: found(V4_PARAMS),
        });
    }
    if q.has("AWSAccessKeyId") && q.has("Signature") {
        return Some(Presigned {
            version: SigVersion::V2,
            params: found(V2_PARAMS),
        });
    }
    None
}

/// The SigV4 credential scope's service: `AKID/20260101/us-east-1/s3/aws4_request` → `s3`
/// (SigV4a scopes have no region; the service is still second from the end).
pub(crate) fn credential_service(credential: &str) -> Option<&str> {
    // `…/{service}/aws4_request`: the segment before the last, found from the end by byte
    // (the scope is read from every signed request).
    let scope = credential.trim().strip_suffix("/aws4_request")?;
    let start = memchr::memrchr(b'/', scope.as_bytes()).map_or(0, |i| i + 1);
    scope.get(start..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_and_without_values() {
        let q = Query::parse("acl&tagging=&list-type=2&prefix=a%2Fb&&versionId=1&versionId=2");
        let get = |k| q.get(k).map(|v| v.map(Cow::into_owned));
        assert_eq!(get("acl"), Some(None));
        assert_eq!(get("tagging"), Some(Some("".into())));
        assert_eq!(get("list-type"), Some(Some("2".into())));
        assert_eq!(get("prefix"), Some(Some("a/b".into())));
        assert_eq!(get("versionId"), Some(Some("1".into())));
        assert_eq!(get("missing"), None);
        assert_eq!(q.keys().count(), 6);
        assert!(!q.has("ACL"));
    }

    #[test]
    fn decoding_keeps_plus_and_reports_lossy() {
        assert_eq!(
            decode("a+b%20c%E2%9C%93"),
            (Cow::from("a+b c\u{2713}"), false)
        );
        assert_eq!(decode("bad%FFbyte"), (Cow::from("bad\u{FFFD}byte"), true));
        assert_eq!(decode("%zz%"), (Cow::from("%zz%"), false));
        assert!(matches!(
            decode("plain+key"),
            (Cow::Borrowed("plain+key"), false)
        ));
    }

    #[test]
    fn presigned_v4_and_v2() {
        let v4 = Query::parse(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=abc",
        );
        let p = presigned(&v4).unwrap();
        assert_eq!(p.version, SigVersion::V4);
        assert_eq!(p.params.len(), 6);
        let v2 = Query::parse("AWSAccessKeyId=AKID&Signature=abc%3D&Expires=1700000000");
        let p = presigned(&v2).unwrap();
        assert_eq!((p.version, p.params.len()), (SigVersion::V2, 3));
        assert_eq!(presigned(&Query::parse("Signature=x")), None);
    }

    proptest::proptest! {
        /// The byte loop reads every query as `str::split` does, and a value read is the
        /// value decoded.
        #[test]
        fn parse_splits_as_str_split_does(raw in "[a-zA-Z0-9&=%./é-]{0,24}") {
            let q = Query::parse(&raw);
            let by_str: Vec<(Cow<str>, Option<Cow<str>>)> = raw
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (decode_lossy(k), Some(decode_lossy(v))),
                    None => (decode_lossy(p), None),
                })
                .collect();
            let read: Vec<(Cow<str>, Option<Cow<str>>)> = q
                .raw_params()
                .map(|(k, v)| (Cow::Borrowed(k), v.map(decode_lossy)))
                .collect();
            proptest::prop_assert_eq!(&read, &by_str);
            for (k, _) in &by_str {
                let first = by_str.iter().find(|(k2, _)| k2 == k).map(|(_, v)| v.clone());
                proptest::prop_assert_eq!(q.get(k), first, "{}", k);
            }
        }
    }

    #[test]
    fn credential_scope_service() {
        assert_eq!(
            credential_service("AKID/20260101/us-east-1/s3/aws4_request"),
            Some("s3")
        );
        assert_eq!(
            credential_service("AKID/20260101/s3express/aws4_request"),
            Some("s3express")
        );
        assert_eq!(credential_service("AKID/20260101/us-east-1/s3"), None);
        // The segment before the last, however few there are.
        assert_eq!(credential_service(" s3/aws4_request\t"), Some("s3"));
        assert_eq!(credential_service("/aws4_request"), Some(""));
        assert_eq!(credential_service("aws4_request"), None);
        assert_eq!(credential_service("AKID/x/aws4_request/"), None);
    }
}
