//! Message heads (RFC 9112 §2.1: start-line, header fields, empty line): parsed where they lie
//! when they arrive whole, else buffered up to a bound until the empty line arrives, then parsed
//! once with `httparse`.

use std::borrow::Cow;
use std::mem::MaybeUninit;
use std::sync::LazyLock;

use memchr::memmem;

use super::plain::{self, Names, Plain};
use super::{Headers, HttpRequest, HttpResponse, KNOWN_METHODS, KNOWN_REASONS, token};
use crate::time::Timestamp;

/// Why a head could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error("header block larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Malformed(String),
}

/// Progress of one head being accumulated.
#[derive(Debug)]
pub(crate) enum HeadStep<'a> {
    /// All input consumed; the empty line has not arrived yet.
    NeedMore,
    /// The head ends after `consumed` bytes of the input just fed; `block` is the whole head,
    /// borrowed from the input when it arrived in one piece (the usual case: no copy).
    Complete {
        block: Cow<'a, [u8]>,
        consumed: usize,
    },
}

/// The bytes of a head seen so far, bounded; leading empty lines are skipped (RFC 9112 §2.2).
#[derive(Debug, Default)]
pub(crate) struct HeadBuffer {
    buf: Vec<u8>,
    /// Time of the chunk that carried the head's first byte.
    ts: Option<Timestamp>,
    /// Offset up to which the buffer has been searched for the empty line.
    scanned: usize,
}

impl HeadBuffer {
    /// A head started from bytes already set aside (e.g. a start line found by resync).
    pub(crate) fn with_prefix(prefix: Vec<u8>, ts: Timestamp) -> Self {
        HeadBuffer {
            buf: prefix,
            ts: Some(ts),
            scanned: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The bytes of the head seen so far (for a head the capture cut short).
    pub(crate) fn seen(&self) -> &[u8] {
        &self.buf
    }

    pub(crate) fn ts(&self) -> Option<Timestamp> {
        self.ts
    }

    /// The input a head that begins in it would be read from: without the empty lines that may
    /// precede a head, and no longer than a head may be (what [`HeadBuffer::feed`] looks at when
    /// nothing is buffered). Returns it and how many bytes were skipped before it.
    pub(crate) fn window(input: &[u8], limit: usize) -> (&[u8], usize) {
        let skipped = leading_empty_lines(input);
        let rest = input.get(skipped..).unwrap_or_default();
        let room = limit.saturating_add(1);
        (
            rest.get(..room.min(rest.len())).unwrap_or_default(),
            skipped,
        )
    }

    /// Append `input`; report where the head ends if the empty line is now present.
    pub(crate) fn feed<'a>(
        &mut self,
        ts: Timestamp,
        input: &'a [u8],
        limit: usize,
    ) -> Result<HeadStep<'a>, HeadError> {
        let old_len = self.buf.len();
        let (input, skipped) = match old_len {
            0 => HeadBuffer::window(input, limit),
            _ => (input, 0),
        };
        if input.is_empty() {
            return Ok(HeadStep::NeedMore);
        }
        self.ts.get_or_insert(ts);
        let room = limit.saturating_add(1).saturating_sub(old_len);
        // The whole head in this input: parse it in place.
        if old_len == 0
            && let Some(end) = find_head_end(input, 0)
        {
            return Ok(HeadStep::Complete {
                block: Cow::Borrowed(input.get(..end).unwrap_or_default()),
                consumed: skipped + end,
            });
        }
        self.buf
            .extend_from_slice(input.get(..room.min(input.len())).unwrap_or_default());
        match find_head_end(&self.buf, self.scanned.saturating_sub(2)) {
            Some(end) => {
                self.buf.truncate(end);
                let consumed = skipped + end.saturating_sub(old_len);
                Ok(HeadStep::Complete {
                    block: Cow::Owned(std::mem::take(&mut self.buf)),
                    consumed,
                })
            }
            None if self.buf.len() > limit => Err(HeadError::TooLarge(limit)),
            None => {
                self.scanned = self.buf.len();
                Ok(HeadStep::NeedMore)
            }
        }
    }
}

/// How many CR and LF bytes `input` starts with (empty lines before a head, RFC 9112 §2.2).
fn leading_empty_lines(input: &[u8]) -> usize {
    input
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count()
}

/// End (exclusive) of the empty line that closes a head: `\n\r\n` or `\n\n` (RFC 9112 §2.2 lets
/// a recipient accept a bare LF as a line terminator).
/// Two substring searches instead of stopping at every line's LF: the usual CRLF end first, then
/// a bare-LF end only before it.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    static CRLF_END: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"\n\r\n"));
    static LF_END: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"\n\n"));
    let tail = buf.get(from..)?;
    let crlf = CRLF_END.find(tail);
    // A bare-LF end counts only if it starts before the CRLF one (`\n\n` may overlap it by
    // nothing: its second byte differs).
    let before = crlf.map_or(tail.len(), |i| i.saturating_add(1).min(tail.len()));
    let lf = tail.get(..before).and_then(|t| LF_END.find(t));
    let end = match (lf, crlf) {
        (Some(i), _) => i.checked_add(2)?,
        (None, Some(i)) => i.checked_add(3)?,
        (None, None) => return None,
    };
    from.checked_add(end)
}

/// Header slots tried first; a head with more gets a buffer sized for it.
pub(crate) const USUAL_HEADERS: usize = 64;

/// Parse a complete request head (`block` ends with the empty line): with the usual slots,
/// else again with room for every field, which reads a head of many fields and says why a
/// malformed one is (the slots' number changes nothing else).
pub(crate) fn parse_request(block: &[u8], ts: Timestamp) -> Result<HttpRequest, HeadError> {
    let plain = plain::request(block, ts, &mut Names::default());
    if let Some((req, _)) = parse_whole(plain, || httparse_whole_request(block, ts)) {
        return Ok(req);
    }
    let mut many = vec![httparse::EMPTY_HEADER; max_headers(block)];
    let mut req = httparse::Request::new(&mut many);
    match req.parse(block) {
        Ok(httparse::Status::Complete(_)) => Ok(request_from(block, &req, ts)),
        other => Err(malformed(other)),
    }
}

/// A head that is whole at the start of `window` (see [`HeadBuffer::window`]), parsed where it
/// lies, and its length: `plain` is its plain reading (`plain.rs`), `general` httparse's, which
/// finds the head's end as it parses, so the empty line is not searched for first (that search
/// was 4% of the analysis thread on a request-dense capture). A head httparse completes ends
/// at the first empty line, where [`HeadBuffer::feed`] ends it too (a test holds the two ways
/// together). None when the head is not whole in `window`, or is one only the usual way reads
/// (more than [`USUAL_HEADERS`] fields, malformed): the caller then goes that way, which reads
/// it exactly as before.
pub(crate) fn parse_whole<M>(
    plain: Plain<M>,
    general: impl FnOnce() -> Option<(M, usize)>,
) -> Option<(M, usize)> {
    match plain {
        Plain::Whole(message, len) => Some((message, len)),
        Plain::Short => None,
        Plain::Unsure => general(),
    }
}

/// A request head whole at the start of `window`, by httparse alone (any head, plain or not).
pub(super) fn httparse_whole_request(window: &[u8], ts: Timestamp) -> Option<(HttpRequest, usize)> {
    // Uninitialised: httparse writes the slots it uses, and filling all 64 first (2 KiB) was
    // a per-head cost of its own.
    let mut slots = [const { MaybeUninit::uninit() }; USUAL_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(window, &mut slots) {
        Ok(httparse::Status::Complete(n)) => Some((request_from(window.get(..n)?, &req, ts), n)),
        _ => None,
    }
}

/// [`httparse_whole_request`] for a response head.
pub(super) fn httparse_whole_response(
    window: &[u8],
    ts: Timestamp,
) -> Option<(HttpResponse, usize)> {
    let mut slots = [const { MaybeUninit::uninit() }; USUAL_HEADERS];
    let mut resp = httparse::Response::new(&mut []);
    match response_config().parse_response_with_uninit_headers(&mut resp, window, &mut slots) {
        Ok(httparse::Status::Complete(n)) => Some((response_from(window.get(..n)?, &resp, ts), n)),
        _ => None,
    }
}

/// Parse a complete response head, as [`parse_request`] does.
pub(crate) fn parse_response(block: &[u8], ts: Timestamp) -> Result<HttpResponse, HeadError> {
    let plain = plain::response(block, ts, &mut Names::default(), true);
    if let Some((resp, _)) = parse_whole(plain, || httparse_whole_response(block, ts)) {
        return Ok(resp);
    }
    let mut many = vec![httparse::EMPTY_HEADER; max_headers(block)];
    let mut resp = httparse::Response::new(&mut many);
    match response_config().parse_response(&mut resp, block) {
        Ok(httparse::Status::Complete(_)) => Ok(response_from(block, &resp, ts)),
        other => Err(malformed(other)),
    }
}

/// Servers in the wild send obsolete folding and stray spaces; a passive observer accepts them
/// (RFC 9112 §5.2 allows a user agent to replace obs-fold with SP).
fn response_config() -> httparse::ParserConfig {
    let mut config = httparse::ParserConfig::default();
    config
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_spaces_after_header_name_in_responses(true)
        .allow_multiple_spaces_in_response_status_delimiters(true);
    config
}

/// Each header takes at least 3 bytes (`a:` and LF), so this many slots always suffice.
fn max_headers(block: &[u8]) -> usize {
    block.len() / 3 + 1
}

fn malformed(result: httparse::Result<usize>) -> HeadError {
    match result {
        Err(e) => HeadError::Malformed(e.to_string()),
        // The block ends with an empty line, so httparse cannot ask for more.
        Ok(_) => HeadError::Malformed("incomplete head".into()),
    }
}

fn request_from(block: &[u8], req: &httparse::Request<'_, '_>, ts: Timestamp) -> HttpRequest {
    HttpRequest {
        ts,
        method: token(req.method.unwrap_or_default(), &KNOWN_METHODS),
        target: req.path.unwrap_or_default().to_string(),
        version: req.version.unwrap_or_default(),
        headers: headers_from(block, req.headers),
        body_len: None,
        cut: None,
    }
}

fn response_from(block: &[u8], resp: &httparse::Response<'_, '_>, ts: Timestamp) -> HttpResponse {
    HttpResponse {
        ts,
        status: resp.code.unwrap_or_default(),
        reason: token(resp.reason.unwrap_or_default(), &KNOWN_REASONS),
        version: resp.version.unwrap_or_default(),
        headers: headers_from(block, resp.headers),
        framing_length: None,
        body_len: None,
        body_prefix: Vec::new(),
    }
}

/// The fields as text: the part of the head they lie in when it is UTF-8, else each value
/// decoded lossily.
fn headers_from(block: &[u8], headers: &[httparse::Header<'_>]) -> Headers {
    let fields = headers.iter().map(|h| (h.name.as_bytes(), h.value));
    if let Some(h) = Headers::within(fields_region(block, headers), fields) {
        return h;
    }
    let bytes = headers.iter().map(|h| h.name.len() + h.value.len()).sum();
    let mut out = Headers::with_capacity(headers.len(), bytes);
    for h in headers {
        out.push_bytes(h.name, h.value);
    }
    out
}

/// The part of `block` the fields lie in, from the first name to the end of the last value:
/// only it is checked and kept (not the start line, nor the line ends after the last value).
/// The whole block when the fields do not lie in it (they always do: httparse read them
/// there).
fn fields_region<'b>(block: &'b [u8], headers: &[httparse::Header<'_>]) -> &'b [u8] {
    let (Some(first), Some(last)) = (headers.first(), headers.last()) else {
        return &[];
    };
    let base = block.as_ptr() as usize;
    let start = (first.name.as_ptr() as usize).wrapping_sub(base);
    let end = (last.value.as_ptr() as usize)
        .wrapping_sub(base)
        .wrapping_add(last.value.len());
    block.get(start..end).unwrap_or(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURL_GET: &[u8] =
        b"GET /a HTTP/1.1\r\nHost: 127.0.0.1:18080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

    #[test]
    fn head_found_at_every_split_with_trailing_body() {
        let mut input = CURL_GET.to_vec();
        input.extend_from_slice(b"BODY");
        for split in 0..=input.len() {
            let mut head = HeadBuffer::default();
            let (a, b) = input.split_at(split);
            let (block, used) = match head.feed(Timestamp(1), a, 1024).unwrap() {
                HeadStep::Complete { block, consumed } => (block, consumed),
                HeadStep::NeedMore => match head.feed(Timestamp(2), b, 1024).unwrap() {
                    HeadStep::Complete { block, consumed } => (block, split + consumed),
                    HeadStep::NeedMore => panic!("no head at split {split}"),
                },
            };
            assert_eq!((block.as_ref(), used), (CURL_GET, CURL_GET.len()));
            let expected_ts = if split == 0 { 2 } else { 1 };
            assert_eq!(head.ts(), Some(Timestamp(expected_ts)));
        }
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let mut head = HeadBuffer::default();
        let mut input = b"\r\n".to_vec();
        input.extend_from_slice(CURL_GET);
        match head.feed(Timestamp(0), &input, 1024).unwrap() {
            HeadStep::Complete { block, consumed } => {
                assert_eq!((block.as_ref(), consumed), (CURL_GET, input.len()));
            }
            HeadStep::NeedMore => panic!("head not found"),
        }
    }

    #[test]
    fn too_large_head_is_an_error() {
        let mut head = HeadBuffer::default();
        let r = head.feed(Timestamp(0), &CURL_GET[..60], 40);
        assert_eq!(r.err(), Some(HeadError::TooLarge(40)));
    }

    #[test]
    fn parses_request_fields() {
        let req = parse_request(CURL_GET, Timestamp(7)).unwrap();
        assert_eq!((req.method.as_ref(), req.target.as_str()), ("GET", "/a"));
        assert_eq!((req.version, req.ts), (1, Timestamp(7)));
        assert_eq!(req.header("user-agent"), Some("curl/7.88.1"));
        assert_eq!(req.headers.len(), 3);
    }

    #[test]
    fn many_headers_and_bare_lf() {
        let mut block = b"GET / HTTP/1.0\n".to_vec();
        for i in 0..200 {
            block.extend_from_slice(format!("x-h{i}: v\n").as_bytes());
        }
        block.extend_from_slice(b"\n");
        let req = parse_request(&block, Timestamp(0)).unwrap();
        assert_eq!((req.headers.len(), req.version), (200, 0));
    }

    #[test]
    fn parses_response_with_lossy_value() {
        let block = b"HTTP/1.1 403 Forbidden\r\nX-Odd: caf\xe9\r\nContent-Length: 0\r\n\r\n";
        let resp = parse_response(block, Timestamp(0)).unwrap();
        assert_eq!((resp.status, resp.reason.as_ref()), (403, "Forbidden"));
        assert_eq!(resp.header("x-odd"), Some("caf\u{fffd}"));
    }

    #[test]
    fn fields_read_in_place_equal_fields_copied() {
        let req = parse_request(CURL_GET, Timestamp(0)).unwrap();
        let copied: Headers = [
            ("Host", "127.0.0.1:18080"),
            ("User-Agent", "curl/7.88.1"),
            ("Accept", "*/*"),
        ]
        .into_iter()
        .collect();
        assert_eq!(req.headers, copied);
        let names: Vec<_> = req.headers.iter().map(|h| h.name).collect();
        assert_eq!(names, ["Host", "User-Agent", "Accept"]);
        assert_eq!(req.headers.iter().next_back().map(|h| h.value), Some("*/*"));
    }

    #[test]
    fn lookups_ignore_case_and_tell_same_shape_names_apart() {
        let h: Headers = [("X-Ab", "1"), ("x-bb", "2"), ("X-AB", "3"), ("", "4")]
            .into_iter()
            .collect();
        assert_eq!(h.get("x-ab"), Some("1"));
        assert_eq!(h.all("X-aB").collect::<Vec<_>>(), ["1", "3"]);
        assert_eq!(h.get("X-BB"), Some("2"));
        assert_eq!(h.get("x-cb"), None);
        assert_eq!(h.get("x-a"), None);
        assert_eq!(h.get(""), Some("4"));
    }

    /// The definition: the first LF followed by LF or CRLF.
    fn head_end_by_lines(buf: &[u8], from: usize) -> Option<usize> {
        (from..buf.len()).find_map(|at| match buf.get(at..) {
            Some([b'\n', b'\n', ..]) => Some(at + 2),
            Some([b'\n', b'\r', b'\n', ..]) => Some(at + 3),
            _ => None,
        })
    }

    #[test]
    fn head_end_search_agrees_with_its_definition_on_every_short_text() {
        let alphabet = *b"\r\na";
        for len in 0..=8u32 {
            for mut n in 0..3usize.pow(len) {
                let buf: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[n % 3];
                        n /= 3;
                        b
                    })
                    .collect();
                for from in 0..=buf.len() {
                    let want = head_end_by_lines(&buf, from);
                    assert_eq!(find_head_end(&buf, from), want, "{buf:?} from {from}");
                }
            }
        }
    }

    /// The usual way: the empty line found first, then the head parsed; the message and the
    /// bytes it took, or None.
    fn the_usual_way<M>(
        input: &[u8],
        parse: fn(&[u8], Timestamp) -> Result<M, HeadError>,
    ) -> Option<(M, usize)> {
        match HeadBuffer::default().feed(Timestamp(5), input, LIMIT) {
            Ok(HeadStep::Complete { block, consumed }) => {
                parse(&block, Timestamp(5)).ok().map(|m| (m, consumed))
            }
            _ => None,
        }
    }

    /// A message and the bytes it took.
    type Read<M> = Option<(M, usize)>;

    /// A request head whole at the start of `window`, as `MessageReader::read` reads one.
    fn parse_whole_request(window: &[u8], ts: Timestamp, names: &mut Names) -> Read<HttpRequest> {
        parse_whole(plain::request(window, ts, names), || {
            httparse_whole_request(window, ts)
        })
    }

    /// [`parse_whole_request`] for a response head.
    fn parse_whole_response(window: &[u8], ts: Timestamp, names: &mut Names) -> Read<HttpResponse> {
        parse_whole(plain::response(window, ts, names, true), || {
            httparse_whole_response(window, ts)
        })
    }

    /// In place: what `MessageReader::read` tries first.
    fn in_place<M>(
        input: &[u8],
        parse_whole: fn(&[u8], Timestamp, &mut Names) -> Read<M>,
    ) -> Read<M> {
        let (window, skipped) = HeadBuffer::window(input, LIMIT);
        let names = &mut Names::default();
        parse_whole(window, Timestamp(5), names).map(|(m, n)| (m, skipped + n))
    }

    const LIMIT: usize = 120;

    #[test]
    fn whole_heads_are_read_in_place() {
        let mut input = b"\r\n".to_vec();
        input.extend_from_slice(CURL_GET);
        input.extend_from_slice(b"BODY\r\n\r\n");
        let (req, used) = in_place(&input, parse_whole_request).expect("in place");
        assert_eq!(used, 2 + CURL_GET.len());
        assert_eq!(Some((req, used)), the_usual_way(&input, parse_request));
        let bare = b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok";
        let (resp, used) = in_place(bare, parse_whole_response).expect("in place");
        assert_eq!((resp.status, used), (200, bare.len() - 2));
        assert_eq!(Some((resp, used)), the_usual_way(bare, parse_response));
        // Not whole, or past the limit: left to the usual way.
        assert!(in_place(&CURL_GET[..40], parse_whole_request).is_none());
        let mut long = b"GET / HTTP/1.1\r\nX: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', LIMIT));
        long.extend_from_slice(b"\r\n\r\n");
        assert!(in_place(&long, parse_whole_request).is_none());
    }

    mod in_place {
        use super::*;
        use proptest::prelude::*;

        /// Pieces of heads, well and badly formed: start lines, fields, every line end, stray
        /// CR, LF and colons, folded lines, bytes that are not UTF-8.
        fn head(starts: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
            let piece = prop::sample::select(vec![
                "\r\n",
                "\n",
                "\r",
                "\r\n\r\n",
                "\n\n",
                "\n\r\n",
                "Host: h",
                "X-A:b",
                "Content-Length: 3",
                " folded",
                "\t",
                ":",
                " ",
                "a",
                "caf\u{e9}",
                "\u{ff}",
            ]);
            (
                prop::sample::select(starts),
                prop::collection::vec(piece, 0..12),
                any::<bool>(),
            )
                .prop_map(|(start, pieces, raw)| {
                    let mut v = start.as_bytes().to_vec();
                    for p in pieces {
                        v.extend_from_slice(p.as_bytes());
                    }
                    if raw {
                        v.push(0xff);
                    }
                    v
                })
        }

        proptest! {
            #[test]
            fn a_request_read_in_place_is_the_one_read_the_usual_way(
                input in head(&["GET / HTTP/1.1\r\n", "\r\nPUT /b/k HTTP/1.0\n", "GET /", ""])
            ) {
                if let Some(found) = in_place(&input, parse_whole_request) {
                    prop_assert_eq!(Some(found), the_usual_way(&input, parse_request));
                }
            }

            #[test]
            fn a_response_read_in_place_is_the_one_read_the_usual_way(
                input in head(&["HTTP/1.1 200 OK\r\n", "\nHTTP/1.0 404  Not Found\n", "HTTP/1.1 2"])
            ) {
                if let Some(found) = in_place(&input, parse_whole_response) {
                    prop_assert_eq!(Some(found), the_usual_way(&input, parse_response));
                }
            }
        }
    }

    #[test]
    fn malformed_heads() {
        assert!(matches!(
            parse_request(b"GET / HTTP/9.9\r\n\r\n", Timestamp(0)),
            Err(HeadError::Malformed(_))
        ));
        assert!(matches!(
            parse_response(b"HTTP/1.1 abc\r\n\r\n", Timestamp(0)),
            Err(HeadError::Malformed(_))
        ));
    }
}
