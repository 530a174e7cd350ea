//! Finding the next message start after bytes were lost: a request line (`TOKEN SP target SP
//! HTTP/1.x`, RFC 9112 §3) on the client side, a status line (`HTTP/1.x NNN`, RFC 9112 §4) on
//! the server side, at the start of a line. The position right after a gap counts as a line
//! start, since segments usually begin with a message.

use crate::proto::detect::{self, Detection, Protocol};
use crate::time::Timestamp;

/// Which start line to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartLine {
    Request,
    Status,
}

/// Scanner state across reads; holds at most one candidate line (bounded by
/// [`detect::MAX_DETECT_BYTES`]).
#[derive(Debug)]
pub(crate) struct Resync {
    kind: StartLine,
    line: Vec<u8>,
    line_ts: Timestamp,
    at_line_start: bool,
    /// The last read ended inside a line that was not a candidate (a body's tail): a request
    /// line that starts the next read follows it directly, on a segment boundary.
    ended_mid_line: bool,
    skipped: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ResyncStep {
    NeedMore,
    /// A start line begins with `start` (the bytes of it seen so far); `consumed` bytes of the
    /// input were used; `skipped` bytes were passed over since the resync began.
    Found {
        start: Vec<u8>,
        ts: Timestamp,
        consumed: usize,
        skipped: u64,
    },
}

impl Resync {
    pub(crate) fn new(kind: StartLine) -> Self {
        Resync {
            kind,
            line: Vec::new(),
            line_ts: Timestamp::ZERO,
            at_line_start: true,
            ended_mid_line: false,
            skipped: 0,
        }
    }

    /// The next byte is inside a line (e.g. after a malformed head): look from the next line.
    pub(crate) fn skip_to_next_line(&mut self) {
        self.at_line_start = false;
    }

    /// The line being read from a line start, if any, and when it began: what a gap cut short.
    pub(crate) fn candidate(&self) -> Option<(&[u8], Timestamp)> {
        (!self.line.is_empty()).then_some((self.line.as_slice(), self.line_ts))
    }

    /// More bytes were lost: the next byte is again a candidate line start.
    pub(crate) fn on_gap(&mut self) {
        self.skipped = self.skipped.saturating_add(self.line.len() as u64);
        self.line.clear();
        self.at_line_start = true;
    }

    pub(crate) fn feed(&mut self, ts: Timestamp, input: &[u8]) -> ResyncStep {
        let mut pos = 0;
        let on_boundary = std::mem::take(&mut self.ended_mid_line);
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            if !self.at_line_start {
                let Some(nl) = memchr::memchr(b'\n', rest) else {
                    self.skip(rest.len());
                    self.ended_mid_line = !rest.is_empty() || on_boundary;
                    return ResyncStep::NeedMore;
                };
                let line = rest.get(..=nl).unwrap_or_default();
                let at_start_ok = on_boundary && pos == 0;
                if let Some(found) = self.embedded(line, ts, pos + nl + 1, at_start_ok) {
                    return found;
                }
                self.skip(nl + 1);
                pos += nl + 1;
                self.at_line_start = true;
                continue;
            }
            if rest.is_empty() {
                return ResyncStep::NeedMore;
            }
            if self.line.is_empty() {
                self.line_ts = ts;
            }
            let take = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
            self.line
                .extend_from_slice(rest.get(..take).unwrap_or_default());
            pos += take;
            let ended = self.line.last() == Some(&b'\n');
            match self.verdict() {
                Detection::Found(Protocol::Http) => {
                    let mut start = std::mem::take(&mut self.line);
                    let lead = self.leading_junk(&start);
                    self.skip(lead);
                    start.drain(..lead);
                    return ResyncStep::Found {
                        start,
                        ts: self.line_ts,
                        consumed: pos,
                        skipped: std::mem::take(&mut self.skipped),
                    };
                }
                Detection::NeedMore if !ended => return ResyncStep::NeedMore,
                _ if ended && self.kind == StartLine::Request => {
                    let line = std::mem::take(&mut self.line);
                    if let Some(found) = self.embedded(&line, self.line_ts, pos, false) {
                        return found;
                    }
                    self.skip(line.len());
                }
                _ => {
                    self.skip(self.line.len());
                    self.line.clear();
                    self.at_line_start = ended;
                    // Not ended: this read is used up inside the line.
                    self.ended_mid_line = !ended;
                }
            }
        }
    }

    /// A whole request line at the end of `line` (which ends with LF) but not at its start:
    /// after unknown bytes the next request may follow the end of a body directly (a body
    /// need not end with a line break, RFC 9112 §6). Only a registered method is believed there.
    /// `at_start_ok`: the line begins a read that follows a body's tail directly, so a request
    /// line may start at its first byte.
    fn embedded(
        &mut self,
        line: &[u8],
        ts: Timestamp,
        consumed: usize,
        at_start_ok: bool,
    ) -> Option<ResyncStep> {
        if self.kind != StartLine::Request {
            return None;
        }
        let at = embedded_request_line(line, at_start_ok)?;
        self.skip(at);
        Some(ResyncStep::Found {
            start: line.get(at..)?.to_vec(),
            ts,
            consumed,
            skipped: std::mem::take(&mut self.skipped),
        })
    }

    /// Bytes before a registered method glued to the start of a found request line
    /// (`…body-endPUT /k HTTP/1.1`): the method token as found is not one a client sends.
    fn leading_junk(&self, line: &[u8]) -> usize {
        if self.kind != StartLine::Request {
            return 0;
        }
        let token = line.split(|b| *b == b' ').next().unwrap_or_default();
        if METHODS.contains(&token) {
            return 0;
        }
        known_method_suffix(token).map_or(0, |m| token.len() - m)
    }

    fn verdict(&self) -> Detection {
        match self.kind {
            StartLine::Request => detect::request_line(&self.line),
            StartLine::Status => detect::status_line(&self.line),
        }
    }

    fn skip(&mut self, n: usize) {
        self.skipped = self.skipped.saturating_add(n as u64);
    }
}

/// The registered methods (RFC 9110 §9.3) S3 clients and proxies send, longest first, so that
/// the first suffix match is the longest.
const METHODS: [&[u8]; 8] = [
    b"OPTIONS", b"DELETE", b"CONNECT", b"PATCH", b"POST", b"HEAD", b"GET", b"PUT",
];

/// The length of the registered method `token` ends with, if any.
fn known_method_suffix(token: &[u8]) -> Option<usize> {
    METHODS.iter().find(|m| token.ends_with(m)).map(|m| m.len())
}

/// Where a request line (`METHOD SP target SP HTTP/1.x`, RFC 9112 §3) ending `line` starts, if
/// one does and it is not the whole line.
fn embedded_request_line(line: &[u8], at_start_ok: bool) -> Option<usize> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let before_version = line
        .strip_suffix(b" HTTP/1.1")
        .or_else(|| line.strip_suffix(b" HTTP/1.0"))?;
    let target_len = before_version
        .iter()
        .rev()
        .take_while(|b| **b > b' ' && **b != 0x7f)
        .count();
    let target_at = before_version.len().checked_sub(target_len)?;
    if !matches!(before_version.get(target_at), Some(b'/' | b'h' | b'*')) {
        return None;
    }
    let token = before_version.get(..target_at)?.strip_suffix(b" ")?;
    let method = known_method_suffix(token)?;
    let at = token.len() - method;
    if at == 0 {
        return at_start_ok.then_some(0);
    }
    // Glued to what precedes it: a method after a space is a sentence that quotes one.
    let before = at.checked_sub(1).and_then(|i| token.get(i));
    before
        .is_some_and(|b| !matches!(b, b' ' | b'\t'))
        .then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(start: &[u8], consumed: usize, skipped: u64) -> ResyncStep {
        ResyncStep::Found {
            start: start.to_vec(),
            ts: Timestamp(0),
            consumed,
            skipped,
        }
    }

    #[test]
    fn finds_request_line_after_body_tail() {
        let mut r = Resync::new(StartLine::Request);
        let input = b"dy tail\r\nmore body\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            r.feed(Timestamp(0), input),
            found(b"GET /b HTTP/1.1\r\n", 36, 19)
        );
    }

    #[test]
    fn candidate_split_across_reads() {
        let mut r = Resync::new(StartLine::Status);
        r.on_gap();
        assert_eq!(
            r.feed(Timestamp(0), b"xx\nHTTP/1.1 2"),
            ResyncStep::NeedMore
        );
        assert_eq!(
            r.feed(Timestamp(5), b"04 No Content\r\n"),
            found(b"HTTP/1.1 204 No Content\r\n", 15, 3)
        );
    }

    #[test]
    fn a_request_glued_to_the_end_of_a_body_is_found() {
        // A JSON body with no final line break, then the next request, as the JS SDK sends it.
        let mut r = Resync::new(StartLine::Request);
        r.skip_to_next_line();
        let input =
            b"\"data\": [1, 2]}PUT /fx-js/js/stream.txt?x-id=PutObject HTTP/1.1\r\nHost: h\r\n";
        assert_eq!(
            r.feed(Timestamp(0), input),
            found(
                b"PUT /fx-js/js/stream.txt?x-id=PutObject HTTP/1.1\r\n",
                65,
                15
            )
        );
        // At a line start (right after a gap), the body's tail is not taken for the method.
        let mut r = Resync::new(StartLine::Request);
        assert_eq!(
            r.feed(Timestamp(0), b"tail-of-bodyGET /b/k HTTP/1.1\r\n"),
            found(b"GET /b/k HTTP/1.1\r\n", 31, 12)
        );
        let mut r = Resync::new(StartLine::Request);
        assert_eq!(
            r.feed(Timestamp(0), b"x{}DELETE /b HTTP/1.0\n"),
            found(b"DELETE /b HTTP/1.0\n", 22, 3)
        );
    }

    #[test]
    fn a_request_in_the_segment_after_a_body_tail_is_found() {
        // The JS SDK writes the body, then the next request head in a write of its own.
        let mut r = Resync::new(StartLine::Request);
        assert_eq!(
            r.feed(Timestamp(0), b"ody tail, no line break"),
            ResyncStep::NeedMore
        );
        assert_eq!(r.feed(Timestamp(1), b"more body}"), ResyncStep::NeedMore);
        assert_eq!(
            r.feed(Timestamp(2), b"PUT /b/stream.txt HTTP/1.1\r\nHost: h\r\n"),
            ResyncStep::Found {
                start: b"PUT /b/stream.txt HTTP/1.1\r\n".to_vec(),
                ts: Timestamp(2),
                consumed: 28,
                skipped: 33,
            }
        );
        // Inside a malformed head's line (not a read boundary), a line's own start is not one.
        let mut r = Resync::new(StartLine::Request);
        r.skip_to_next_line();
        assert_eq!(
            r.feed(Timestamp(0), b"GET /x HTTP/1.1\r\n"),
            ResyncStep::NeedMore
        );
    }

    #[test]
    fn text_that_only_mentions_http_is_not_a_request() {
        for line in [
            &b"see RFC 9112 for GET / HTTP/1.1\n"[..],
            b"xGET / HTTP/1.1 trailing\n",
            b"xFETCH / HTTP/1.1\n",
            b"xGET relative HTTP/1.1\n",
            b" GET / HTTP/1.1\n",
        ] {
            let mut r = Resync::new(StartLine::Request);
            r.skip_to_next_line();
            assert_eq!(r.feed(Timestamp(0), line), ResyncStep::NeedMore, "{line:?}");
        }
    }

    #[test]
    fn not_at_line_start_is_skipped() {
        let mut r = Resync::new(StartLine::Request);
        assert_eq!(
            r.feed(Timestamp(0), b"xyz GET / HTTP/1.1"),
            ResyncStep::NeedMore
        );
        assert_eq!(
            r.feed(Timestamp(0), b"\nPUT /k HTTP/1.1\r\n"),
            found(b"PUT /k HTTP/1.1\r\n", 18, 19)
        );
    }
}
