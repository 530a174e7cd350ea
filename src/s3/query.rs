//! The request target's query (RFC 3986 §3.4) as S3 reads it: `&`-separated keys, with or without
//! `=value`, percent-decoded, case-sensitive; and query-string authentication (presigned URLs).

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use super::table;

/// Query parameters in wire order; a key sent without `=` has no value (`?acl`), one sent as
/// `key=` has an empty value. Repeated keys are all kept. Keys are percent-decoded as the query
/// is read (borrowed from the target unless decoding changed them); values are kept as sent and
/// decoded only when read ([`Query::get`]): most are never read (`prefix`, `uploadId`), and
/// decoding them was most of the cost of reading a query. Whether each key is a literal query
/// key of the model is found once, as it is read: the matcher asks it of every key twice (the
/// query's literal keys, then its signature).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Query<'a> {
    params: Vec<Param<'a>>,
    /// The literal query keys among the keys, one bit each ([`table::literal_bit`]).
    literals: u64,
}

/// One `key[=value]` of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param<'a> {
    /// Percent-decoded.
    pub key: Cow<'a, str>,
    /// As sent, not decoded (`None` for a bare key): decode it with [`decode`] when it is read.
    pub value: Option<&'a str>,
    /// The key is a literal query key of some operation (`acl`, `uploads`, `list-type`).
    pub literal: bool,
}

/// The bytes where reading a query has something to do: `&` ends a piece, the first `=` ends
/// its key, a `%` in the key wants decoding. Looking each byte up once cost ~3 instructions a
/// byte less than comparing it with the three.
const STOPS: [bool; 256] = {
    let mut t = [false; 256];
    t[b'&' as usize] = true;
    t[b'=' as usize] = true;
    t[b'%' as usize] = true;
    t
};

impl<'a> Query<'a> {
    /// The query of a target without one.
    pub const EMPTY: Query<'static> = Query {
        params: Vec::new(),
        literals: 0,
    };

    pub fn parse(raw: &'a str) -> Query<'a> {
        let mut q = Query::default();
        if raw.is_empty() {
            return q;
        }
        // Room for the usual few keys at once (growing from none was a call of its own).
        q.params.reserve(4);
        // One pass over the bytes finds each piece's `&`, its first `=` and whether its key has
        // a `%` (all ASCII, so every piece is on character boundaries): on these short texts
        // a byte loop costs less than a memchr call per search.
        let mut piece = Piece::default();
        for (i, b) in raw.bytes().enumerate() {
            if !STOPS[usize::from(b)] {
                continue;
            }
            match b {
                b'&' => {
                    piece.push_to(&mut q, raw, i);
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
        piece.push_to(&mut q, raw, raw.len());
        q
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    pub fn has(&self, key: &str) -> bool {
        self.params.iter().any(|p| p.key == key)
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
            .find(|p| p.key == key)
            .map(|p| p.value.map(decode_lossy))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.params.iter().map(|p| p.key.as_ref())
    }

    /// Every parameter in wire order.
    pub fn params(&self) -> &[Param<'a>] {
        &self.params
    }

    /// The literal query keys among the keys, one bit each: which operations' keys a query has
    /// is then a mask test per operation, not a search of the query per key (GET on a bucket
    /// alone has 34 operations to tell apart).
    pub fn literals(&self) -> u64 {
        self.literals
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
    /// The piece ends at `end`: add it to `q` unless it is empty.
    fn push_to<'a>(&self, q: &mut Query<'a>, raw: &'a str, end: usize) {
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
        let bit = table::literal_bit(&key);
        q.literals |= bit.map_or(0, |b| 1 << b);
        q.params.push(Param {
            key,
            value,
            literal: bit.is_some(),
        });
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
        let literal: Vec<bool> = q.params().iter().map(|p| p.literal).collect();
        assert_eq!(literal, [true, true, true, false, false, false]);
        let bit = |k| 1u64 << table::literal_bit(k).unwrap();
        assert_eq!(q.literals(), bit("acl") | bit("tagging") | bit("list-type"));
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
                .params()
                .iter()
                .map(|p| (Cow::Borrowed(p.key.as_ref()), p.value.map(decode_lossy)))
                .collect();
            proptest::prop_assert_eq!(&read, &by_str);
            // Each key's literal flag and the query's bits are the table's answer for it.
            let mut bits = 0u64;
            for p in q.params() {
                let bit = table::literal_bit(&p.key);
                proptest::prop_assert_eq!(p.literal, bit.is_some(), "{}", p.key);
                bits |= bit.map_or(0, |b| 1 << b);
            }
            proptest::prop_assert_eq!(q.literals(), bits);
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
