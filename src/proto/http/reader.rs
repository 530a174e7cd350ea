//! One direction's message reader, shared by the client and server sides of an
//! [`HttpConnection`](super::HttpConnection): it buffers a head until its empty line, parses it,
//! resynchronises on the next start line after a gap or an unreadable head, shows what a cut
//! head still says (`partial.rs`), and counts the heads it lost. The sides keep only what
//! differs: body framing and pairing responses with requests.

use std::borrow::Cow;

use super::head::{
    HeadBuffer, HeadError, HeadStep, httparse_whole_request, httparse_whole_response,
    parse_request, parse_response, parse_whole,
};
use super::plain::{self, Names, Plain};
use super::resync::{Resync, ResyncStep, StartLine};
use super::{HttpExchange, HttpResponse, partial};
use crate::flow::Direction;
use crate::proto::{Anomaly, ProtoEvent};
use crate::time::Timestamp;

/// What one direction carries: requests from the client, responses from the server. Static,
/// so the reader is compiled once per side with no dispatch on the per-message path.
pub(crate) trait Message: Sized {
    const DIR: Direction;
    const START: StartLine;
    /// A complete head (ending with its empty line), its first byte seen at `ts`.
    fn parse(block: &[u8], ts: Timestamp) -> Result<Self, HeadError>;
    /// A head whole at the start of `window`, parsed in place, and its length (see
    /// [`parse_whole`]); None sends the input the usual way. `names` are the field names of
    /// the heads read before (see [`Names`]). `keep`: a response keeps its fields (see
    /// `ProtoLimits::keep_response_fields`; a request always does).
    fn parse_whole(
        window: &[u8],
        ts: Timestamp,
        names: &mut Names,
        keep: bool,
    ) -> Option<(Self, usize)>;
    /// What the first bytes of a head the capture cut short still show, if anything.
    fn partial(seen: &[u8], ts: Timestamp) -> Option<Self>;
}

/// A request is read into the exchange it is reported in, built in its box: moved on its own, a
/// request (144 bytes) was copied twice on its way to the queue (into `parse_whole`'s Option,
/// then into the box), ~110 instructions a request with what the copies held up.
impl Message for Box<HttpExchange> {
    const DIR: Direction = Direction::ClientToServer;
    const START: StartLine = StartLine::Request;

    fn parse(block: &[u8], ts: Timestamp) -> Result<Self, HeadError> {
        parse_request(block, ts).map(Box::from)
    }

    fn parse_whole(
        window: &[u8],
        ts: Timestamp,
        names: &mut Names,
        _keep: bool,
    ) -> Option<(Self, usize)> {
        // Read into an exchange given back (`spare.rs`) when there is one.
        let plain = match super::spare::take() {
            Some(mut ex) => match plain::request_into(window, ts, names, &mut ex) {
                Plain::Whole((), len) => Plain::Whole(ex, len),
                Plain::Short => {
                    super::spare::give_back(ex);
                    Plain::Short
                }
                Plain::Unsure => {
                    super::spare::give_back(ex);
                    Plain::Unsure
                }
            },
            None => plain::request(window, ts, names),
        };
        parse_whole(plain, || {
            let (request, len) = httparse_whole_request(window, ts)?;
            Some((Box::from(request), len))
        })
    }

    fn partial(seen: &[u8], ts: Timestamp) -> Option<Self> {
        partial::request(seen, ts).map(Box::from)
    }
}

/// A response is read into a box of its own, which the server side passes on until its body
/// ends and its exchange then keeps: moved on its own, a response (144 bytes) was copied four
/// times on its way into its exchange (into `parse_whole`'s Option, twice through the server
/// side, into the exchange); boxed, once, into the box, which the exchange now holds (moved out
/// of the box into the exchange, it was copied once more).
impl Message for Box<HttpResponse> {
    const DIR: Direction = Direction::ServerToClient;
    const START: StartLine = StartLine::Status;

    fn parse(block: &[u8], ts: Timestamp) -> Result<Self, HeadError> {
        parse_response(block, ts).map(Box::new)
    }

    fn parse_whole(
        window: &[u8],
        ts: Timestamp,
        names: &mut Names,
        keep: bool,
    ) -> Option<(Self, usize)> {
        let plain = plain::response(window, ts, names, keep);
        parse_whole(plain, || {
            let (response, len) = httparse_whole_response(window, ts)?;
            Some((Box::new(response), len))
        })
    }

    fn partial(seen: &[u8], ts: Timestamp) -> Option<Self> {
        partial::response(seen, ts).map(Box::new)
    }
}

/// Where the reader is: in a head (possibly not begun), or looking for the next start line.
#[derive(Debug)]
enum Place {
    Head(HeadBuffer),
    Resync(Resync),
}

/// What reading some input gave.
#[derive(Debug)]
pub(crate) enum ReadStep<M> {
    /// All the input was used; no head is complete yet.
    NeedMore,
    /// A head was read from the first `consumed` bytes of the input.
    Message { message: M, consumed: usize },
    /// A head could not be read (too large, or malformed after `consumed` bytes): counted lost,
    /// its anomaly reported, and the reader now looks for the next start line. Its message
    /// still answers or is answered: the side keeps the pairing for it.
    Lost { consumed: usize },
}

/// Counters of one direction's reader, for [`HttpStats`](super::HttpStats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ReaderStats {
    /// Heads cut, too large or unreadable, and not shown as a cut message.
    pub lost: u64,
    pub resyncs: u64,
    /// Bytes passed over while looking for the next start line.
    pub skipped: u64,
}

/// The head reader of one direction; see the module doc.
#[derive(Debug)]
pub(crate) struct MessageReader<M> {
    place: Place,
    /// Bytes were ever seen (a gap before any data is a mid-connection start).
    seen: bool,
    stats: ReaderStats,
    /// Field names of the heads read in place before (see `Names`).
    names: Names,
    /// Whether a response read in place keeps its fields (see `Message::parse_whole`).
    keep_fields: bool,
    message: std::marker::PhantomData<fn() -> M>,
}

impl<M: Message> Default for MessageReader<M> {
    fn default() -> Self {
        MessageReader {
            place: Place::Head(HeadBuffer::default()),
            seen: false,
            stats: ReaderStats::default(),
            names: Names::default(),
            keep_fields: true,
            message: std::marker::PhantomData,
        }
    }
}

impl<M: Message> MessageReader<M> {
    /// A reader whose responses keep their fields only when `keep` (see
    /// `ProtoLimits::keep_response_fields`).
    pub(crate) fn keeping_fields(keep: bool) -> Self {
        MessageReader {
            keep_fields: keep,
            ..MessageReader::default()
        }
    }

    pub(crate) fn stats(&self) -> ReaderStats {
        self.stats
    }

    /// Bytes of this direction were seen at some point.
    pub(crate) fn has_seen(&self) -> bool {
        self.seen
    }

    /// Looking for the next start line (after a hole or an unreadable head).
    pub(crate) fn is_resyncing(&self) -> bool {
        matches!(self.place, Place::Resync(_))
    }

    pub(crate) fn note_seen(&mut self) {
        self.seen = true;
    }

    /// Read from the start of `input` (the head so far, or the resync scan, goes on). Inlined
    /// into each side's loop: returned through a call, each message was copied twice more.
    #[inline(always)]
    pub(crate) fn read(
        &mut self,
        ts: Timestamp,
        input: &[u8],
        limit: usize,
        out: &mut Vec<ProtoEvent>,
    ) -> ReadStep<M> {
        let mut used = 0;
        loop {
            let rest = input.get(used..).unwrap_or_default();
            match &mut self.place {
                Place::Head(head) => {
                    // Nearly every head arrives whole: parsed where it lies.
                    if head.is_empty() {
                        let (window, skipped) = HeadBuffer::window(rest, limit);
                        let head_ts = head.ts();
                        let names = &mut self.names;
                        if let Some((message, len)) =
                            M::parse_whole(window, head_ts.unwrap_or(ts), names, self.keep_fields)
                        {
                            // A head begun by a resync with nothing kept yet still had its time:
                            // the next one starts afresh, as after the usual way.
                            if head_ts.is_some() {
                                self.place = Place::Head(HeadBuffer::default());
                            }
                            return ReadStep::Message {
                                message,
                                consumed: used + skipped + len,
                            };
                        }
                    }
                    return match head.feed(ts, rest, limit) {
                        Ok(HeadStep::NeedMore) => ReadStep::NeedMore,
                        Ok(HeadStep::Complete { block, consumed }) => {
                            let head_ts = head.ts().unwrap_or(ts);
                            self.place = Place::Head(HeadBuffer::default());
                            self.parsed(block, head_ts, ts, used + consumed, out)
                        }
                        Err(_) => {
                            anomaly::<M>(ts, Anomaly::HeaderTooLarge, out);
                            self.stats.lost = self.stats.lost.saturating_add(1);
                            self.resync(false);
                            // The bytes that overflowed are scanned for the next start line.
                            ReadStep::Lost { consumed: used }
                        }
                    };
                }
                Place::Resync(resync) => match resync.feed(ts, rest) {
                    ResyncStep::NeedMore => return ReadStep::NeedMore,
                    ResyncStep::Found {
                        start,
                        ts: start_ts,
                        consumed,
                        skipped,
                    } => {
                        self.stats.resyncs = self.stats.resyncs.saturating_add(1);
                        self.stats.skipped = self.stats.skipped.saturating_add(skipped);
                        if skipped > 0 {
                            anomaly::<M>(ts, Anomaly::Resynced { skipped }, out);
                        }
                        self.place = Place::Head(HeadBuffer::with_prefix(start, start_ts));
                        used += consumed;
                        if used >= input.len() {
                            return ReadStep::NeedMore;
                        }
                    }
                },
            }
        }
    }

    fn parsed(
        &mut self,
        block: Cow<'_, [u8]>,
        head_ts: Timestamp,
        ts: Timestamp,
        consumed: usize,
        out: &mut Vec<ProtoEvent>,
    ) -> ReadStep<M> {
        match M::parse(&block, head_ts) {
            Ok(message) => ReadStep::Message { message, consumed },
            Err(e) => {
                anomaly::<M>(ts, Anomaly::BadHttp(e.to_string()), out);
                self.stats.lost = self.stats.lost.saturating_add(1);
                // The head ended with its empty line: the next byte starts a line.
                self.resync(true);
                ReadStep::Lost { consumed }
            }
        }
    }

    /// Look for the next start line, from the next byte when `at_line_start`, else from the
    /// next line (the next byte is inside a line, e.g. of a body whose framing broke).
    pub(crate) fn resync(&mut self, at_line_start: bool) {
        let mut r = Resync::new(M::START);
        if !at_line_start {
            r.skip_to_next_line();
        }
        self.place = Place::Resync(r);
    }

    /// Bytes were lost while the side was reading heads. Returns whether a head's framing was
    /// lost (a head had begun or was due: whole messages may be in the hole), and the message
    /// the cut head or the cut candidate start line still shows. A cut head that shows
    /// nothing is counted lost. The reader then looks for the next start line.
    pub(crate) fn on_gap(&mut self, ts: Timestamp) -> (bool, Option<M>) {
        match &mut self.place {
            Place::Head(head) => {
                let shown = M::partial(head.seen(), head.ts().unwrap_or(ts));
                if shown.is_none() && !head.is_empty() {
                    self.stats.lost = self.stats.lost.saturating_add(1);
                }
                self.resync(true);
                (true, shown)
            }
            Place::Resync(resync) => {
                let shown = resync
                    .candidate()
                    .and_then(|(line, line_ts)| M::partial(line, line_ts));
                resync.on_gap();
                (false, shown)
            }
        }
    }

    /// The stream ended. A head begun and not ended is returned (its bytes' message as far as
    /// they show it, when `show`, and when its first byte came), else counted lost.
    pub(crate) fn close(&mut self, show: bool) -> Option<(M, Timestamp)> {
        let place = std::mem::replace(&mut self.place, Place::Head(HeadBuffer::default()));
        let Place::Head(head) = place else {
            return None;
        };
        if head.is_empty() {
            return None;
        }
        let ts = head.ts().unwrap_or(Timestamp::ZERO);
        let shown = show.then(|| M::partial(head.seen(), ts)).flatten();
        if shown.is_none() {
            self.stats.lost = self.stats.lost.saturating_add(1);
        }
        shown.map(|m| (m, ts))
    }
}

fn anomaly<M: Message>(ts: Timestamp, what: Anomaly, out: &mut Vec<ProtoEvent>) {
    out.push(ProtoEvent::Anomaly {
        dir: M::DIR,
        ts,
        what,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: &[u8] = b"GET /b/k HTTP/1.1\r\nHost: h\r\n\r\n";
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

    /// Feed `input` as the side's loop does; returns the messages read, in order, and how many
    /// heads were reported lost on the way.
    fn read_all<M: Message>(
        r: &mut MessageReader<M>,
        ts: Timestamp,
        input: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) -> (Vec<M>, usize) {
        let (mut messages, mut lost, mut rest) = (Vec::new(), 0, input);
        for _ in 0..100 {
            if rest.is_empty() {
                break;
            }
            let used = match r.read(ts, rest, 64, out) {
                ReadStep::NeedMore => rest.len(),
                ReadStep::Message { message, consumed } => {
                    messages.push(message);
                    consumed
                }
                ReadStep::Lost { consumed } => {
                    lost += 1;
                    consumed
                }
            };
            rest = rest.get(used..).unwrap_or_default();
        }
        (messages, lost)
    }

    #[test]
    fn a_head_split_at_every_byte_is_read_once_with_its_first_bytes_time() {
        for split in 1..GET.len() {
            let mut r = MessageReader::<Box<HttpExchange>>::default();
            let mut out = Vec::new();
            let (a, b) = GET.split_at(split);
            let (first, _) = read_all(&mut r, Timestamp(1), a, &mut out);
            assert!(first.is_empty(), "split {split}");
            let (second, lost) = read_all(&mut r, Timestamp(2), b, &mut out);
            let [ex] = second.as_slice() else {
                panic!("split {split}: {second:?}");
            };
            let req = &ex.request;
            assert_eq!((req.method.as_ref(), req.target.as_str()), ("GET", "/b/k"));
            assert_eq!(
                (req.ts, req.header("host"), lost),
                (Timestamp(1), Some("h"), 0)
            );
            assert_eq!((out.len(), r.stats()), (0, ReaderStats::default()));
        }
    }

    #[test]
    fn after_a_gap_garbage_is_skipped_to_the_next_status_line() {
        let mut r = MessageReader::<Box<HttpResponse>>::default();
        let mut out = Vec::new();
        r.note_seen();
        // The gap hits between messages: framing is lost, nothing was cut.
        assert!(matches!(r.on_gap(Timestamp(0)), (true, None)));
        let mut input = b"tail of a body\r\n<xml/>".to_vec();
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(OK);
        let (messages, lost) = read_all(&mut r, Timestamp(3), &input, &mut out);
        let statuses: Vec<u16> = messages.iter().map(|m| m.status).collect();
        assert_eq!((statuses, lost), (vec![200], 0));
        let skipped = input.len() - OK.len();
        let stats = r.stats();
        assert_eq!(
            (stats.resyncs, stats.skipped, stats.lost),
            (1, skipped as u64, 0)
        );
        assert!(matches!(
            out.as_slice(),
            [ProtoEvent::Anomaly {
                dir: Direction::ServerToClient,
                what: Anomaly::Resynced { skipped: s },
                ..
            }] if *s == skipped as u64
        ));
        assert!(r.has_seen());
    }

    #[test]
    fn a_resync_candidate_cut_by_a_gap_shows_its_request() {
        let mut r = MessageReader::<Box<HttpExchange>>::default();
        r.resync(true);
        let mut out = Vec::new();
        let (messages, _) = read_all(&mut r, Timestamp(4), b"PUT /b/big-obj", &mut out);
        assert!(messages.is_empty());
        let (framing_lost, shown) = r.on_gap(Timestamp(5));
        let shown = shown.map(|m| (m.request.method, m.request.target, m.request.ts));
        assert!(!framing_lost);
        assert_eq!(
            shown,
            Some(("PUT".into(), "/b/big-obj".into(), Timestamp(4)))
        );
        assert_eq!(r.stats().lost, 0);
    }

    #[test]
    fn lost_heads_are_counted_once_each() {
        let mut r = MessageReader::<Box<HttpExchange>>::default();
        let mut out = Vec::new();
        // 1: malformed; the next line starts the search, so the request after it is read.
        let mut input = b"GET / HTTP/9.9\r\n\r\n".to_vec();
        input.extend_from_slice(GET);
        // 2: larger than the limit (64); the search then finds the request after it.
        input.extend_from_slice(b"GET /big HTTP/1.1\r\nx-pad: ");
        input.extend_from_slice(&[b'a'; 80]);
        input.extend_from_slice(b"\r\n\r\n");
        input.extend_from_slice(GET);
        let (messages, lost) = read_all(&mut r, Timestamp(0), &input, &mut out);
        let targets: Vec<&str> = messages.iter().map(|m| m.request.target.as_str()).collect();
        assert_eq!((targets, lost), (vec!["/b/k", "/b/k"], 2));
        // 3: a head a gap cuts before its request line ends.
        let _ = read_all(&mut r, Timestamp(0), b"\x16\x03garbage", &mut out);
        assert!(matches!(r.on_gap(Timestamp(0)), (true, None)));
        // 4: a head the end of the stream cuts, not shown.
        let _ = read_all(
            &mut r,
            Timestamp(0),
            GET.get(..20).unwrap_or_default(),
            &mut out,
        );
        assert!(r.close(false).is_none());
        assert_eq!(r.stats().lost, 4);
        // Shown at close, it is not lost.
        let _ = read_all(
            &mut r,
            Timestamp(0),
            GET.get(..20).unwrap_or_default(),
            &mut out,
        );
        let shown = r
            .close(true)
            .map(|(m, _)| (m.request.target, m.request.cut));
        assert_eq!(
            shown,
            Some(("/b/k".into(), Some(super::super::Cut::Fields)))
        );
        assert_eq!(r.stats().lost, 4);
        let kinds: Vec<_> = out
            .iter()
            .filter_map(|e| match e {
                ProtoEvent::Anomaly { what, .. } => Some(std::mem::discriminant(what)),
                _ => None,
            })
            .collect();
        // The malformed head, the large one, and the bytes skipped after the large one (the
        // malformed head ended at its empty line: the search began on the next request line).
        let want = [
            Anomaly::BadHttp(String::new()),
            Anomaly::HeaderTooLarge,
            Anomaly::Resynced { skipped: 0 },
        ];
        assert_eq!(
            kinds,
            want.iter().map(std::mem::discriminant).collect::<Vec<_>>()
        );
    }
}
