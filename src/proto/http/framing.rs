//! Message body length (RFC 9112 §6.3) and the body reader that counts and skips it.

use super::chunked::{ChunkedDecoder, ChunkedError};
use super::{Field, Headers, HttpResponse};

/// How a message's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body (HEAD responses, 1xx/204/304, requests without Content-Length or chunked).
    Empty,
    Length(u64),
    Chunked,
    /// Response body delimited by the connection closing (RFC 9112 §6.3 item 8).
    UntilClose,
    /// `CONNECT` answered by 2xx: the connection becomes a tunnel (RFC 9110 §9.3.6).
    Tunnel,
    /// `101 Switching Protocols` (RFC 9110 §15.2.2): the connection stops speaking HTTP/1.1.
    Upgrade,
}

/// Why a message's body length cannot be determined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("invalid Content-Length {0:?}")]
    BadContentLength(String),
    #[error("request Transfer-Encoding does not end in chunked")]
    RequestNotChunked,
}

/// What a request head says about its body and what may follow it, read in one pass over the
/// fields (every request comes through here: no field is looked up twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestBody {
    pub framing: Result<Framing, FramingError>,
    /// The first `Expect` field is `100-continue` (RFC 9110 §10.1.1): the body may not come.
    pub expect_continue: bool,
    /// An `Upgrade` field is present: the request may switch protocols once answered.
    pub upgrade: bool,
}

/// RFC 9112 §6.3 for requests: chunked, else Content-Length, else no body.
pub(crate) fn request_body(headers: &Headers) -> RequestBody {
    let framing = match usual_length(headers) {
        Some(length) => Ok(length.map_or(Framing::Empty, Framing::Length)),
        None => request_framing(headers),
    };
    let expect = headers.field(Field::Expect);
    RequestBody {
        framing,
        expect_continue: expect.is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue")),
        upgrade: headers.field(Field::Upgrade).is_some(),
    }
}

/// [`request_body`]'s framing for any request, the usual ones too.
#[inline(never)]
fn request_framing(headers: &Headers) -> Result<Framing, FramingError> {
    let (coding, length) = body_fields(headers);
    match coding {
        // Item 4: a request whose final coding is not chunked cannot be delimited.
        Some(false) => Err(FramingError::RequestNotChunked),
        Some(true) => Ok(Framing::Chunked),
        None => length.map(|l| l.map_or(Framing::Empty, Framing::Length)),
    }
}

/// RFC 9112 §6.3 for responses; `method` is the matched request's, when known.
pub(crate) fn response_framing(
    method: Option<&str>,
    status: u16,
    headers: &Headers,
) -> Result<Framing, FramingError> {
    if let Some(framing) = status_framing(method, status) {
        return Ok(framing);
    }
    match usual_length(headers) {
        Some(length) => Ok(usual_framing(length)),
        None => response_body_framing(headers),
    }
}

/// The framing of `response`, read either way: from its fields, or, when they were not kept,
/// from the length they gave ([`HttpResponse::framing_length`]). The one place that choice is
/// made: a response without its fields has empty `headers`, which [`response_framing`] would
/// read as a body until the connection closes.
pub(crate) fn framing_of_response(
    method: Option<&str>,
    response: &HttpResponse,
) -> Result<Framing, FramingError> {
    match response.framing_length {
        Some(length) => Ok(response_framing_of_length(method, response.status, length)),
        None => response_framing(method, response.status, &response.headers),
    }
}

/// [`response_framing`] for a response whose fields were not kept, from the length they gave
/// (`HttpResponse::framing_length`, as [`usual_length`] reads it).
fn response_framing_of_length(method: Option<&str>, status: u16, length: Option<u64>) -> Framing {
    status_framing(method, status).unwrap_or(usual_framing(length))
}

/// Items 1 and 2 of [`response_framing`]: the framing the status and method decide alone.
#[inline(always)]
fn status_framing(method: Option<&str>, status: u16) -> Option<Framing> {
    // Item 1: HEAD responses, 1xx, 204 and 304 never carry a body.
    if status == 101 {
        return Some(Framing::Upgrade);
    }
    if method == Some("HEAD") || (100..200).contains(&status) || status == 204 || status == 304 {
        return Some(Framing::Empty);
    }
    // Item 2: a 2xx to CONNECT switches to tunnel mode.
    if method == Some("CONNECT") && (200..300).contains(&status) {
        return Some(Framing::Tunnel);
    }
    None
}

/// Item 6 or 8 of [`response_framing`] for the usual response ([`usual_length`]): its length, or
/// until the connection closes.
#[inline(always)]
fn usual_framing(length: Option<u64>) -> Framing {
    length.map_or(Framing::UntilClose, Framing::Length)
}

/// Items 3 to 8 of [`response_framing`] for any response, the usual ones too.
#[inline(never)]
fn response_body_framing(headers: &Headers) -> Result<Framing, FramingError> {
    let (coding, length) = body_fields(headers);
    match coding {
        Some(true) => Ok(Framing::Chunked),
        // Item 4: a final coding other than chunked is read until close.
        Some(false) => Ok(Framing::UntilClose),
        None => Ok(length?.map_or(Framing::UntilClose, Framing::Length)),
    }
}

/// The body length of the usual message, from the fields' index alone: without
/// Transfer-Encoding, with no Content-Length (`Some(None)`) or one of plain digits. None for
/// any other message, which [`body_fields`] reads (and reads these the same way). Every message
/// comes through here: going to [`body_fields`] (two calls, a pair with an error in it returned
/// through memory) cost ~58 instructions a head more (2.9 M on a capture of 25,000 requests).
#[inline(always)]
fn usual_length(headers: &Headers) -> Option<Option<u64>> {
    let coded = headers.field(Field::TransferEncoding).is_some();
    let value = headers.field(Field::ContentLength).map(str::as_bytes);
    let lengths = match headers.at_most_once(Field::ContentLength) {
        true => usize::from(value.is_some()),
        false => 2,
    };
    usual(coded, lengths, value)
}

/// The rule of [`usual_length`], from what a head's fields showed: a Transfer-Encoding or not,
/// how many Content-Lengths (counted up to 2 will do), and the first one's value. Shared with
/// the reading that keeps none of the fields (`plain::framing_fields`).
#[inline(always)]
pub(super) fn usual(coded: bool, lengths: usize, value: Option<&[u8]>) -> Option<Option<u64>> {
    if coded || lengths > 1 {
        return None;
    }
    match value {
        None => Some(None),
        Some(value) => plain_length(value).map(Some),
    }
}

/// Transfer-Encoding and Content-Length: from the fields' index when each names at most one
/// field, else in one pass over the fields.
///
/// The coding is `Some(true)` when Transfer-Encoding is present and its final coding is chunked
/// (item 3: it overrides Content-Length), `Some(false)` when present otherwise, `None` when
/// absent. The length follows item 5: every Content-Length value (also comma lists of one
/// repeated value) must agree; the first that does not is the error.
fn body_fields(headers: &Headers) -> (Option<bool>, Result<Option<u64>, FramingError>) {
    // Nearly every message has at most one of each: then the fields are not searched.
    if headers.at_most_once(Field::TransferEncoding) && headers.at_most_once(Field::ContentLength) {
        let last_coding = headers.field(Field::TransferEncoding).and_then(last_coding);
        let length = headers
            .field(Field::ContentLength)
            .map_or(Ok(None), |v| lengths(None, v));
        return (last_coding.map(is_chunked), length);
    }
    let mut last: Option<&str> = None;
    let mut length: Result<Option<u64>, FramingError> = Ok(None);
    for h in headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            last = last_coding(h.value).or(last);
        } else if h.name.eq_ignore_ascii_case("content-length")
            && let Ok(found) = length
        {
            length = lengths(found, h.value);
        }
    }
    (last.map(is_chunked), length)
}

/// The last coding a `Transfer-Encoding` value names, if it names any.
fn last_coding(value: &str) -> Option<&str> {
    value.split(',').map(str::trim).rfind(|c| !c.is_empty())
}

fn is_chunked(coding: &str) -> bool {
    let coding = coding.split(';').next().unwrap_or_default().trim();
    coding.eq_ignore_ascii_case("chunked")
}

/// One `Content-Length` field's value (a list, all equal, is allowed), checked against `found`.
fn lengths(found: Option<u64>, value: &str) -> Result<Option<u64>, FramingError> {
    // Nearly every value is digits alone (httparse trimmed the spaces around it): read in one
    // pass, without looking for a comma or trimming first.
    if let Some(n) = plain_length(value.as_bytes())
        && found.is_none_or(|f| f == n)
    {
        return Ok(Some(n));
    }
    // A list only when there is a comma (nearly never): str's split costs more than the rest of
    // the framing.
    match memchr::memchr(b',', value.as_bytes()) {
        None => agreed_length(found, value),
        Some(_) => value.split(',').try_fold(found, agreed_length),
    }
}

/// A value of 1 to 19 digits and nothing else (19 digits always fit a u64), read; None for
/// anything else, which [`agreed_length`] reads (and reads these the same way).
fn plain_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        let digit = b.wrapping_sub(b'0');
        (digit <= 9).then(|| n * 10 + u64::from(digit))
    })
}

/// One Content-Length value, checked against the ones before it.
fn agreed_length(found: Option<u64>, raw: &str) -> Result<Option<u64>, FramingError> {
    let text = raw.trim();
    let bad = || FramingError::BadContentLength(text.to_string());
    // Digits only, read as they are checked (`str::parse` would look at each again, and take a
    // sign); too many for a u64 is as bad as a letter.
    let n = text.bytes().try_fold(None, |n: Option<u64>, b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.unwrap_or(0)
            .checked_mul(10)?
            .checked_add(u64::from(digit))
            .map(Some)
    });
    let Some(Some(n)) = n else {
        return Err(bad());
    };
    if found.is_some_and(|f| f != n) {
        return Err(bad());
    }
    Ok(Some(n))
}

/// Counts (and skips) one body. Bytes are never kept, except the first `prefix_limit` of the
/// payload when the caller asks (response bodies, for error documents).
#[derive(Debug)]
pub(crate) struct BodyReader {
    kind: BodyKind,
    /// Payload bytes seen (decoded for chunked).
    seen: u64,
    /// Bytes of the body were lost to a gap: its length is unknown.
    cut: bool,
}

#[derive(Debug)]
enum BodyKind {
    Length { remaining: u64 },
    Chunked(ChunkedDecoder),
    UntilClose,
}

/// What a `BodyReader::feed` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyStep {
    pub consumed: usize,
    pub done: bool,
}

impl BodyReader {
    /// A reader for a body framed as `framing`; `None` for framings without a body to read.
    pub(crate) fn new(framing: Framing) -> Option<Self> {
        let kind = match framing {
            Framing::Length(n) if n > 0 => BodyKind::Length { remaining: n },
            Framing::Chunked => BodyKind::Chunked(ChunkedDecoder::default()),
            Framing::UntilClose => BodyKind::UntilClose,
            _ => return None,
        };
        Some(BodyReader {
            kind,
            seen: 0,
            cut: false,
        })
    }

    pub(crate) fn seen(&self) -> u64 {
        self.seen
    }

    /// The body length to report: what was counted, or None when a gap cut it.
    pub(crate) fn body_len(&self) -> Option<u64> {
        (!self.cut).then_some(self.seen)
    }

    /// The length to report when the body stops being read: complete (or delimited by the
    /// close) and not cut by a gap, else unknown.
    pub(crate) fn final_len(&self) -> Option<u64> {
        let whole = self.is_done() || matches!(self.kind, BodyKind::UntilClose);
        if whole { self.body_len() } else { None }
    }

    /// Bytes still expected of a Content-Length body.
    pub(crate) fn remaining(&self) -> Option<u64> {
        match &self.kind {
            BodyKind::Length { remaining } => Some(*remaining),
            _ => None,
        }
    }

    /// The whole body has been accounted for (a gap may have covered its end).
    pub(crate) fn is_done(&self) -> bool {
        match &self.kind {
            BodyKind::Length { remaining } => *remaining == 0,
            BodyKind::Chunked(dec) => dec.is_done(),
            BodyKind::UntilClose => false,
        }
    }

    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        prefix: &mut Vec<u8>,
        prefix_limit: usize,
    ) -> Result<BodyStep, ChunkedError> {
        let mut keep = |data: &[u8]| {
            let room = prefix_limit.saturating_sub(prefix.len());
            prefix.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
        };
        let step = match &mut self.kind {
            BodyKind::Length { remaining } => {
                let take = usize::try_from(*remaining).map_or(input.len(), |r| r.min(input.len()));
                keep(input.get(..take).unwrap_or_default());
                *remaining = remaining.saturating_sub(take as u64);
                self.seen = self.seen.saturating_add(take as u64);
                BodyStep {
                    consumed: take,
                    done: *remaining == 0,
                }
            }
            BodyKind::Chunked(dec) => {
                let consumed = dec.feed(input, keep)?;
                self.seen = dec.data_len();
                BodyStep {
                    consumed,
                    done: dec.is_done(),
                }
            }
            BodyKind::UntilClose => {
                keep(input);
                self.seen = self.seen.saturating_add(input.len() as u64);
                BodyStep {
                    consumed: input.len(),
                    done: false,
                }
            }
        };
        Ok(step)
    }

    /// `len` bytes (0 = unknown) are missing. True when the body goes on (the gap fell inside
    /// it); false when its framing is lost and the stream must be resynchronised.
    pub(crate) fn skip_gap(&mut self, len: u64) -> bool {
        self.cut = true;
        match &mut self.kind {
            BodyKind::Length { remaining } if len > 0 && len <= *remaining => {
                *remaining -= len;
                true
            }
            BodyKind::Chunked(dec) => dec.skip_gap(len),
            BodyKind::UntilClose => true,
            BodyKind::Length { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &str, value: &str) -> (String, String) {
        (name.into(), value.into())
    }

    fn request_framing(fields: &[(String, String)]) -> Result<Framing, FramingError> {
        super::request_body(&fields.iter().cloned().collect()).framing
    }

    fn response_framing(
        method: Option<&str>,
        status: u16,
        fields: &[(String, String)],
    ) -> Result<Framing, FramingError> {
        super::response_framing(method, status, &fields.iter().cloned().collect())
    }

    #[test]
    fn request_framing_rules() {
        assert_eq!(request_framing(&[]), Ok(Framing::Empty));
        assert_eq!(
            request_framing(&[h("Content-Length", "11")]),
            Ok(Framing::Length(11))
        );
        let both = [h("Content-Length", "11"), h("Transfer-Encoding", "chunked")];
        assert_eq!(request_framing(&both), Ok(Framing::Chunked));
        assert_eq!(
            request_framing(&[h("Transfer-Encoding", "gzip")]),
            Err(FramingError::RequestNotChunked)
        );
        assert_eq!(
            request_framing(&[h("Content-Length", "5, 5")]),
            Ok(Framing::Length(5))
        );
        assert!(request_framing(&[h("Content-Length", "5"), h("content-length", "6")]).is_err());
        assert!(request_framing(&[h("Content-Length", "-1")]).is_err());
        assert!(request_framing(&[h("Content-Length", "+5")]).is_err());
        assert!(request_framing(&[h("Content-Length", "")]).is_err());
        assert!(request_framing(&[h("Content-Length", "99999999999999999999999")]).is_err());
        // Up to u64::MAX and not past it; spaces around the digits are allowed.
        assert_eq!(
            request_framing(&[h("Content-Length", "18446744073709551615")]),
            Ok(Framing::Length(u64::MAX))
        );
        assert!(request_framing(&[h("Content-Length", "18446744073709551616")]).is_err());
        assert_eq!(
            request_framing(&[h("Content-Length", " 0012 ")]),
            Ok(Framing::Length(12))
        );
    }

    #[test]
    fn response_framing_rules() {
        let cl = [h("Content-Length", "1234")];
        assert_eq!(response_framing(Some("HEAD"), 200, &cl), Ok(Framing::Empty));
        assert_eq!(
            response_framing(Some("GET"), 200, &cl),
            Ok(Framing::Length(1234))
        );
        for status in [100, 103, 204, 304] {
            assert_eq!(
                response_framing(Some("GET"), status, &cl),
                Ok(Framing::Empty)
            );
        }
        assert_eq!(
            response_framing(Some("GET"), 101, &[]),
            Ok(Framing::Upgrade)
        );
        assert_eq!(
            response_framing(Some("CONNECT"), 200, &[]),
            Ok(Framing::Tunnel)
        );
        assert_eq!(
            response_framing(Some("CONNECT"), 407, &cl),
            Ok(Framing::Length(1234))
        );
        assert_eq!(response_framing(None, 200, &[]), Ok(Framing::UntilClose));
        let te = [
            h("Transfer-Encoding", "gzip, chunked"),
            h("Content-Length", "3"),
        ];
        assert_eq!(response_framing(None, 200, &te), Ok(Framing::Chunked));
        let gz = [h("Transfer-Encoding", "chunked, gzip")];
        assert_eq!(response_framing(None, 200, &gz), Ok(Framing::UntilClose));
    }

    #[test]
    fn length_body_keeps_bounded_prefix() {
        let mut body = BodyReader::new(Framing::Length(10)).unwrap();
        let mut prefix = Vec::new();
        let step = body.feed(b"0123456789GET", &mut prefix, 4).unwrap();
        assert_eq!(
            step,
            BodyStep {
                consumed: 10,
                done: true
            }
        );
        assert_eq!(
            (prefix.as_slice(), body.body_len()),
            (&b"0123"[..], Some(10))
        );
    }

    #[test]
    fn gap_shortens_a_length_body() {
        let mut body = BodyReader::new(Framing::Length(10)).unwrap();
        let mut prefix = Vec::new();
        body.feed(b"012", &mut prefix, 0).unwrap();
        assert!(body.skip_gap(4));
        let step = body.feed(b"789X", &mut prefix, 0).unwrap();
        assert_eq!(
            step,
            BodyStep {
                consumed: 3,
                done: true
            }
        );
        assert_eq!(body.body_len(), None);
        let mut whole = BodyReader::new(Framing::Length(10)).unwrap();
        assert!(!whole.skip_gap(0), "unknown gap length loses the framing");
    }
}

/// The index-based framing against a plain pass over every field, as it was read before the
/// index existed: any mix of the two framing fields, repeated, in any case, among others.
#[cfg(test)]
mod index_tests {
    use super::*;
    use proptest::prelude::*;

    fn scanned(headers: &Headers) -> (Option<bool>, Result<Option<u64>, FramingError>) {
        let mut last: Option<&str> = None;
        let mut length: Result<Option<u64>, FramingError> = Ok(None);
        for h in headers.iter() {
            if h.name.eq_ignore_ascii_case("transfer-encoding") {
                last = h
                    .value
                    .split(',')
                    .map(str::trim)
                    .rfind(|c| !c.is_empty())
                    .or(last);
            } else if h.name.eq_ignore_ascii_case("content-length")
                && let Ok(found) = length
            {
                length = h.value.split(',').try_fold(found, agreed_length);
            }
        }
        (last.map(is_chunked), length)
    }

    fn field() -> impl Strategy<Value = (String, String)> {
        let name = prop_oneof![
            Just("Content-Length"),
            Just("content-length"),
            Just("Transfer-Encoding"),
            Just("transfer-ENCODING"),
            Just("Expect"),
            Just("Upgrade"),
            Just("Host"),
            Just("x-other"),
        ];
        let value = prop_oneof![
            Just(""),
            Just("0"),
            Just("12"),
            Just("007"),
            Just("18446744073709551615"),
            Just("18446744073709551616"),
            Just(" 12 "),
            Just("12, 12"),
            Just("12,13"),
            Just("-1"),
            Just("chunked"),
            Just("gzip, chunked"),
            Just("chunked, gzip"),
            Just("Chunked;q=1"),
            Just("100-continue"),
        ];
        (name, value).prop_map(|(n, v)| (n.to_string(), v.to_string()))
    }

    /// A Content-Length value the way it was read before: checked for digits, then parsed.
    fn length_by_parse(raw: &str) -> Option<u64> {
        let text = raw.trim();
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
    }

    proptest! {
        /// Read digit by digit, a value is what checking then parsing it gave: digits with
        /// spaces around, signs, letters, empty, and lengths past u64 (a 20-digit value on both
        /// sides of `u64::MAX`).
        #[test]
        fn content_length_is_read_as_parse_reads_it(
            raw in "[ \t]{0,2}[+-]?[0-9]{0,21}[a-f ]{0,2}|18446744073709551615|18446744073709551616|[0-9]{19,20}"
        ) {
            let read = super::agreed_length(None, &raw).ok().flatten();
            prop_assert_eq!(read, length_by_parse(&raw));
        }

        /// The plain digits' shortcut reads what the general way reads, or leaves the value
        /// to it.
        #[test]
        fn a_plain_length_is_the_agreed_length(
            raw in "[0-9]{0,21}|[ +,a0-9]{0,6}|18446744073709551615|9999999999999999999"
        ) {
            if let Some(n) = plain_length(raw.as_bytes()) {
                prop_assert_eq!(agreed_length(None, &raw), Ok(Some(n)));
                prop_assert_eq!(lengths(Some(n), &raw), Ok(Some(n)));
                prop_assert!(lengths(Some(n ^ 1), &raw).is_err());
            }
        }

        /// The usual messages' length, from the index, is what the general way reads: for
        /// requests and responses, framing fields or not, repeated, listed, cased any way.
        #[test]
        fn the_usual_length_is_the_general_framing(
            fields in proptest::collection::vec(field(), 0..6)
        ) {
            let headers: Headers = fields.iter().cloned().collect();
            if let Some(length) = usual_length(&headers) {
                prop_assert_eq!(body_fields(&headers), (None, Ok(length)));
            }
            prop_assert_eq!(request_body(&headers).framing, request_framing(&headers));
            prop_assert_eq!(
                response_framing(Some("GET"), 200, &headers),
                response_body_framing(&headers)
            );
        }

        #[test]
        fn indexed_framing_is_the_scan(fields in proptest::collection::vec(field(), 0..6)) {
            let headers: Headers = fields.iter().cloned().collect();
            prop_assert_eq!(body_fields(&headers), scanned(&headers));
            let expect = headers.iter().find(|h| h.name.eq_ignore_ascii_case("expect"));
            let upgrade = headers.iter().any(|h| h.name.eq_ignore_ascii_case("upgrade"));
            let body = request_body(&headers);
            prop_assert_eq!(body.upgrade, upgrade);
            prop_assert_eq!(
                body.expect_continue,
                expect.is_some_and(|h| h.value.trim().eq_ignore_ascii_case("100-continue"))
            );
        }
    }
}
