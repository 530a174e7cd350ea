//! Finding the record framing again after a hole in a decrypted direction.
//!
//! A 5-byte record header (RFC 8446 §5.1) is a weak signature on its own, so a candidate is only
//! proposed here; the caller proves it by opening the record with the direction's AEAD under the
//! next few sequence numbers (a forged or misplaced record fails the tag, RFC 5116 §2.2). This
//! module is the pure part: it buffers at most one whole record past the hole, proposes each
//! plausible header whose body is complete, and gives up after a bounded number of bytes.

use super::TlsVersion;
use super::record::{ContentType, MAX_RECORD_LEN, RecordHeader};

/// Bytes after a hole searched for a record that opens before the direction is given up: a real
/// boundary comes within one record of the hole, so four records' worth leaves room for a few
/// records that fail for other reasons (a key update we could not read).
pub const MAX_SCAN_BYTES: u64 = 4 * (5 + MAX_RECORD_LEN as u64);

/// AEAD trials spent on one hole before the direction is given up: 16 candidate records at
/// `RESYNC_SEQ_TRIES` each (a false candidate is rare: a random 5-byte run passes
/// [`Expect::plausible`] about once in 2^26 bytes).
pub const MAX_TRIES_PER_HOLE: u64 = 1024;

/// Header capacity plus the longest body: the buffer never holds more.
const CAP: usize = 5 + MAX_RECORD_LEN as usize;

/// What a plausible protected record header looks like in this direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    /// `legacy_record_version` of the direction's records (0x0303 for TLS 1.2 and 1.3).
    pub version: TlsVersion,
    /// Smallest body the AEAD allows (its tag, plus any explicit nonce).
    pub min_len: u16,
    /// Largest body: 2^14 + 256 in TLS 1.3 (RFC 8446 §5.2), 2^14 + 2048 before.
    pub max_len: u16,
}

impl Expect {
    /// Application data (the only type a TLS 1.3 record shows, and what a TLS 1.2 direction
    /// carries once data flows), the direction's version, a length the AEAD can have produced.
    pub fn plausible(&self, b: [u8; 5]) -> Option<RecordHeader> {
        let h = RecordHeader::parse(b).ok()?;
        let ok = h.content_type == ContentType::APPLICATION_DATA
            && h.version == self.version
            && (self.min_len..=self.max_len).contains(&h.len);
        ok.then_some(h)
    }
}

/// One outcome of [`Resync::step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// A plausible header whose body is whole: open it, then [`Resync::reject`] or
    /// [`Resync::finish`].
    Candidate {
        header: RecordHeader,
        body: &'a [u8],
    },
    /// Every buffered byte was searched: push more.
    NeedMore,
    /// [`MAX_SCAN_BYTES`] searched without a record that opened.
    GiveUp,
}

/// The search state of one direction after a hole.
#[derive(Debug, Clone)]
pub struct Resync {
    expect: Expect,
    buf: Vec<u8>,
    /// Where in `buf` the next header is looked for.
    pos: usize,
    /// Bytes dropped from the front of `buf` since the hole.
    dropped: u64,
    /// AEAD trials spent so far.
    tries: u64,
}

impl Resync {
    pub fn new(expect: Expect) -> Self {
        Resync {
            expect,
            buf: Vec::new(),
            pos: 0,
            dropped: 0,
            tries: 0,
        }
    }

    /// Take as many bytes of `input` as the buffer has room for (it is advanced past them).
    pub fn push(&mut self, input: &mut &[u8]) {
        let room = CAP.saturating_sub(self.buf.len());
        let (head, tail) = input.split_at(room.min(input.len()));
        self.buf.extend_from_slice(head);
        *input = tail;
    }

    /// The next candidate record in the buffer, if any is whole.
    pub fn step(&mut self) -> Step<'_> {
        if self.tries >= MAX_TRIES_PER_HOLE {
            return Step::GiveUp;
        }
        while let Some(b) = self.header_at(self.pos) {
            if let Some(header) = self.expect.plausible(b) {
                let start = self.pos.saturating_add(5);
                let end = start.saturating_add(usize::from(header.len));
                if end > self.buf.len() {
                    // Keep the candidate at the front: CAP holds any record whole.
                    self.compact();
                    return Step::NeedMore;
                }
                let body = self.buf.get(start..end).unwrap_or_default();
                return Step::Candidate { header, body };
            }
            self.pos = self.pos.saturating_add(1);
        }
        self.compact();
        if self.dropped > MAX_SCAN_BYTES {
            return Step::GiveUp;
        }
        Step::NeedMore
    }

    /// The candidate just proposed did not open after `tries` trials: search on from its next
    /// byte.
    pub fn reject(&mut self, tries: u64) {
        self.tries = self.tries.saturating_add(tries);
        self.pos = self.pos.saturating_add(1);
    }

    /// The candidate just proposed opened: the framing is found again. Returns the bytes that
    /// follow that record, to be framed as usual.
    pub fn finish(self) -> Vec<u8> {
        let len = self
            .header_at(self.pos)
            .and_then(|b| self.expect.plausible(b))
            .map_or(0, |h| usize::from(h.len));
        let end = self.pos.saturating_add(5).saturating_add(len);
        self.buf.get(end..).unwrap_or_default().to_vec()
    }

    /// Bytes searched since the hole.
    pub fn scanned(&self) -> u64 {
        self.dropped.saturating_add(self.pos as u64)
    }

    fn header_at(&self, pos: usize) -> Option<[u8; 5]> {
        self.buf.get(pos..pos.checked_add(5)?)?.try_into().ok()
    }

    /// Drop the bytes before `pos`: no header can start there any more.
    fn compact(&mut self) {
        let pos = self.pos.min(self.buf.len());
        self.buf.drain(..pos);
        self.dropped = self.dropped.saturating_add(pos as u64);
        self.pos = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPECT: Expect = Expect {
        version: TlsVersion::TLS1_2,
        min_len: 17,
        max_len: (1 << 14) + 256,
    };

    fn record(len: u16, fill: u8) -> Vec<u8> {
        let mut r = vec![23, 3, 3];
        r.extend(len.to_be_bytes());
        r.extend(std::iter::repeat_n(fill, usize::from(len)));
        r
    }

    #[test]
    fn plausible_headers_only() {
        assert!(EXPECT.plausible([23, 3, 3, 0, 17]).is_some());
        assert!(EXPECT.plausible([23, 3, 3, 0x41, 0x00]).is_some());
        assert!(
            EXPECT.plausible([23, 3, 3, 0x41, 0x01]).is_none(),
            "too long"
        );
        assert!(
            EXPECT.plausible([23, 3, 3, 0, 16]).is_none(),
            "shorter than a tag"
        );
        assert!(
            EXPECT.plausible([22, 3, 3, 0, 40]).is_none(),
            "not application data"
        );
        assert!(
            EXPECT.plausible([23, 3, 1, 0, 40]).is_none(),
            "another version"
        );
    }

    #[test]
    fn finds_the_record_after_junk_split_anywhere_and_hands_back_the_rest() {
        // The tail of a lost record (with a fake header-like run that is too short), a real
        // record, then the start of the next one.
        let mut stream = vec![0xaa, 23, 3, 3, 0, 3, 0x55];
        stream.extend(record(40, 7));
        stream.extend([23, 3, 3]);
        for cut in 0..stream.len() {
            let mut r = Resync::new(EXPECT);
            let (mut a, mut b) = stream.split_at(cut);
            r.push(&mut a);
            let seen = loop {
                match r.step() {
                    Step::Candidate { header, body } => break Some((header.len, body.to_vec())),
                    Step::NeedMore if !b.is_empty() => r.push(&mut b),
                    other => panic!("cut {cut}: {other:?}"),
                }
            };
            assert_eq!(seen, Some((40, vec![7; 40])), "cut {cut}");
            assert_eq!(r.scanned(), 7);
            let mut rest = r.finish();
            rest.extend(b);
            assert_eq!(rest, [23, 3, 3]);
        }
    }

    #[test]
    fn a_rejected_candidate_is_searched_past() {
        let mut stream = record(20, 23);
        stream.extend(record(30, 9));
        let mut r = Resync::new(EXPECT);
        r.push(&mut stream.as_slice());
        let mut lens = Vec::new();
        while let Step::Candidate { header, .. } = r.step() {
            lens.push(header.len);
            r.reject(1);
        }
        assert_eq!(lens, [20, 30]);
        let mut r = Resync::new(EXPECT);
        r.push(&mut stream.as_slice());
        r.reject(MAX_TRIES_PER_HOLE);
        assert_eq!(r.step(), Step::GiveUp, "the trial budget is spent");
    }

    #[test]
    fn gives_up_after_the_scan_limit_in_bounded_memory() {
        let mut r = Resync::new(EXPECT);
        let junk = vec![0u8; 100_000];
        let mut input = junk.as_slice();
        let mut steps = 0;
        loop {
            r.push(&mut input);
            assert!(r.buf.len() <= CAP);
            match r.step() {
                Step::GiveUp => break,
                Step::NeedMore if !input.is_empty() => {}
                other => panic!("{other:?}"),
            }
            steps += 1;
        }
        assert!(r.scanned() > MAX_SCAN_BYTES && steps > 3);
    }
}
