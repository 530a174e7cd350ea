//! The pieces a reassembler handles — borrowed from a segment or held (copied) — and the emitter
//! that hands chunks out, merging adjacent gaps.

use super::{Chunk, ENTRY_COST};
use crate::time::Timestamp;

/// Stream content: bytes, or a known number of bytes that were not captured.
#[derive(Debug, Clone, Copy)]
pub(super) enum Body<'a> {
    Bytes(&'a [u8]),
    Lost(u64),
}

impl Body<'_> {
    pub(super) fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::Lost(n) => *n,
        }
    }

    /// The sub-range `[from, to)` of this body (offsets relative to its start).
    pub(super) fn slice(&self, from: u64, to: u64) -> Self {
        match *self {
            Body::Bytes(b) => {
                let (f, t) = (usize::try_from(from), usize::try_from(to));
                Body::Bytes(match (f, t) {
                    (Ok(f), Ok(t)) => b.get(f..t).unwrap_or_default(),
                    _ => &[],
                })
            }
            Body::Lost(_) => Body::Lost(to.saturating_sub(from)),
        }
    }
}

/// An owned body.
#[derive(Debug)]
pub(super) enum HeldBody {
    Bytes(Box<[u8]>),
    Lost(u64),
}

/// A held piece: copied content, when it arrived, and how far the peer's stream must be
/// delivered before it may go (the peer offset its segment acknowledged; 0 for none).
#[derive(Debug)]
pub(super) struct Held {
    pub(super) body: HeldBody,
    pub(super) ts: Timestamp,
    pub(super) barrier: u64,
}

impl Held {
    pub(super) fn new(body: Body<'_>, ts: Timestamp, barrier: u64) -> Self {
        let body = match body {
            Body::Bytes(b) => HeldBody::Bytes(b.into()),
            Body::Lost(n) => HeldBody::Lost(n),
        };
        Held { body, ts, barrier }
    }

    pub(super) fn len(&self) -> u64 {
        match &self.body {
            HeldBody::Bytes(b) => b.len() as u64,
            HeldBody::Lost(n) => *n,
        }
    }

    pub(super) fn cost(&self) -> usize {
        match &self.body {
            HeldBody::Bytes(b) => b.len().saturating_add(ENTRY_COST),
            HeldBody::Lost(_) => ENTRY_COST,
        }
    }
}

/// Hands chunks to the caller, merging adjacent gaps and announcing an unknown start once.
pub(super) struct Emitter<'s> {
    pub(super) out: &'s mut dyn FnMut(Chunk<'_>),
    pub(super) gap: u64,
    pub(super) gap_ts: Timestamp,
    /// A `Gap { len: 0 }` is owed before anything else (the stream began before the capture).
    pub(super) unknown: bool,
}

impl Emitter<'_> {
    pub(super) fn gap(&mut self, ts: Timestamp, len: u64) {
        if len == 0 {
            return;
        }
        if self.gap == 0 {
            self.gap_ts = ts;
        }
        self.gap = self.gap.saturating_add(len);
    }

    pub(super) fn data(&mut self, ts: Timestamp, bytes: &[u8]) {
        self.settle();
        if !bytes.is_empty() {
            self.announce_unknown(ts);
            (self.out)(Chunk::Data { ts, bytes });
        }
    }

    pub(super) fn body(&mut self, ts: Timestamp, body: Body<'_>) {
        match body {
            Body::Bytes(b) => self.data(ts, b),
            Body::Lost(n) => self.gap(ts, n),
        }
    }

    pub(super) fn settle(&mut self) {
        if self.unknown && self.gap > 0 {
            self.announce_unknown(self.gap_ts);
        }
        if self.gap > 0 {
            (self.out)(Chunk::Gap {
                ts: self.gap_ts,
                len: self.gap,
            });
            self.gap = 0;
        }
    }

    fn announce_unknown(&mut self, ts: Timestamp) {
        if self.unknown {
            self.unknown = false;
            (self.out)(Chunk::Gap { ts, len: 0 });
        }
    }
}
