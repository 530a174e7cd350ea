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
            skipped: 0,
        }
    }

    /// The next byte is inside a line (e.g. after a malformed head): look from the next line.
    pub(crate) fn skip_to_next_line(&mut self) {
        self.at_line_start = false;
    }

    /// More bytes were lost: the next byte is again a candidate line start.
    pub(crate) fn on_gap(&mut self) {
        self.skipped = self.skipped.saturating_add(self.line.len() as u64);
        self.line.clear();
        self.at_line_start = true;
    }

    pub(crate) fn feed(&mut self, ts: Timestamp, input: &[u8]) -> ResyncStep {
        let mut pos = 0;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            if !self.at_line_start {
                let Some(nl) = memchr::memchr(b'\n', rest) else {
                    self.skip(rest.len());
                    return ResyncStep::NeedMore;
                };
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
                    return ResyncStep::Found {
                        start: std::mem::take(&mut self.line),
                        ts: self.line_ts,
                        consumed: pos,
                        skipped: std::mem::take(&mut self.skipped),
                    };
                }
                Detection::NeedMore if !ended => return ResyncStep::NeedMore,
                _ => {
                    self.skip(self.line.len());
                    self.line.clear();
                    self.at_line_start = ended;
                }
            }
        }
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
