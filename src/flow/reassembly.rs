//! One direction's reassembly: TCP sequence numbers → an ordered byte stream.
//!
//! Sequence numbers are compared modulo 2^32 (RFC 9293 §3.4): a segment's place is its signed
//! 32-bit distance from the next expected sequence number, turned into a 64-bit stream offset, so
//! the stream may wrap the sequence space any number of times.
//!
//! Policy (the same as most OS stacks and Zeek's default):
//! - **First wins.** Bytes already delivered, or already held out of order, are never replaced: a
//!   retransmission whose bytes differ only contributes the part nobody has covered yet.
//! - **In-order data passes through without a copy** (the [`Chunk::Data`] borrows the segment);
//!   only out-of-order bytes are copied, and held up to `max_out_of_order_bytes` (each held piece
//!   also costs [`ENTRY_COST`], so many tiny pieces are bounded too).
//! - **Gaps.** A hole becomes a [`Chunk::Gap`] of its exact length, and what follows it is delivered,
//!   when (a) the held bytes exceed the bound, (b) the receiver acknowledged the whole hole (the bytes
//!   reached the peer but not the capture) and the bytes after it have waited [`ACK_GRACE_NS`], or
//!   (c) the stream ends ([`Reassembler::flush`]); a tail the peer acknowledged but the capture
//!   never showed is a gap at the end. Bytes a
//!   snaplen cut off (`missing`) are a gap at their place in the stream. Adjacent gaps are merged.
//! - **Before the capture.** A direction whose start was not seen (no SYN) begins with a
//!   `Gap { len: 0 }` — unknown length — before its first bytes. Its first segment carrying data or
//!   a FIN sets its origin; an earlier segment arriving after it counts as a retransmission.
//! - **Sanity window.** Segments more than [`MAX_AHEAD`] bytes beyond the next expected byte (the
//!   largest scaled window, RFC 7323 §2.3) are dropped as out of window.

use crate::time::Timestamp;
use std::collections::BTreeMap;

/// Budget charged per held piece on top of its bytes (map node and bookkeeping, roughly).
pub const ENTRY_COST: usize = 64;
/// How long (packet time) bytes held after a hole the peer has acknowledged wait for the hole to
/// show up before it is declared lost. A capture can show an ACK before the data it acknowledges
/// (multi-queue capture, merged files); a receiver's ACK cannot precede the data on one wire, so
/// a short wait separates reordering from loss. 200 ms is TCP's minimum RTO (RFC 6298 §2.4).
pub const ACK_GRACE_NS: i64 = 200_000_000;
/// Farthest ahead of the next expected byte a segment may start: 2^30, the largest window.
pub const MAX_AHEAD: u64 = 1 << 30;

/// What a reassembler hands out, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk<'a> {
    Data {
        ts: Timestamp,
        bytes: &'a [u8],
    },
    /// `len` bytes are missing here; 0 means unknown (the stream began before the capture).
    Gap {
        ts: Timestamp,
        len: u64,
    },
}

/// The part of a TCP segment one direction cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentData<'a> {
    /// Sequence number of the first payload byte (a SYN's own number excluded).
    pub seq: u32,
    pub payload: &'a [u8],
    /// Payload bytes cut off by the snaplen after `payload`.
    pub missing: u32,
    /// FIN: consumes one sequence number after the payload (RFC 9293 §3.4).
    pub fin: bool,
}

/// How a segment was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Nothing to place (no payload; a FIN alone is noted).
    Empty,
    /// New bytes were delivered in order.
    InOrder,
    /// New bytes are held until the hole before them is filled or skipped.
    OutOfOrder,
    /// Nothing new: every byte was already delivered or held.
    Retransmission,
    /// Too far from the stream to be believed; dropped.
    OutOfWindow,
}

/// A piece of stream content: bytes, or a known number of bytes that were not captured.
#[derive(Debug, Clone, Copy)]
enum Body<'a> {
    Bytes(&'a [u8]),
    Lost(u64),
}

impl Body<'_> {
    fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::Lost(n) => *n,
        }
    }

    /// The sub-range `[from, to)` of this body (offsets relative to its start).
    fn slice(&self, from: u64, to: u64) -> Self {
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

/// A held out-of-order piece (owned copy).
#[derive(Debug)]
enum Held {
    Bytes(Box<[u8]>, Timestamp),
    Lost(u64, Timestamp),
}

impl Held {
    fn len(&self) -> u64 {
        match self {
            Held::Bytes(b, _) => b.len() as u64,
            Held::Lost(n, _) => *n,
        }
    }

    fn cost(&self) -> usize {
        match self {
            Held::Bytes(b, _) => b.len().saturating_add(ENTRY_COST),
            Held::Lost(..) => ENTRY_COST,
        }
    }
}

/// Hands chunks to the caller, merging adjacent gaps and announcing an unknown start once.
struct Emitter<'s> {
    out: &'s mut dyn FnMut(Chunk<'_>),
    gap: u64,
    gap_ts: Timestamp,
    /// A `Gap { len: 0 }` is owed before anything else (the stream began before the capture).
    unknown: bool,
}

impl Emitter<'_> {
    fn gap(&mut self, ts: Timestamp, len: u64) {
        if len == 0 {
            return;
        }
        if self.gap == 0 {
            self.gap_ts = ts;
        }
        self.gap = self.gap.saturating_add(len);
    }

    fn data(&mut self, ts: Timestamp, bytes: &[u8]) {
        self.settle();
        if !bytes.is_empty() {
            self.announce_unknown(ts);
            (self.out)(Chunk::Data { ts, bytes });
        }
    }

    fn settle(&mut self) {
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

/// One direction of a TCP connection.
#[derive(Debug)]
pub struct Reassembler {
    /// Sequence number of stream offset 0; meaningful once `synced`.
    base: u32,
    synced: bool,
    /// Stream offset of the next byte to deliver.
    next: u64,
    /// The stream began before the capture: a `Gap { len: 0 }` is still owed.
    unknown_start: bool,
    /// Stream offset of the FIN, once seen (first wins).
    fin_at: Option<u64>,
    /// Highest stream offset the peer acknowledged.
    acked: u64,
    held: BTreeMap<u64, Held>,
    held_cost: usize,
    limit: usize,
}

impl Reassembler {
    /// A direction not yet synchronised; `limit` bounds the out-of-order bytes held.
    pub fn new(limit: usize) -> Self {
        Reassembler {
            base: 0,
            synced: false,
            next: 0,
            unknown_start: false,
            fin_at: None,
            acked: 0,
            held: BTreeMap::new(),
            held_cost: 0,
            limit,
        }
    }

    /// The first data byte's sequence number is known (ISN + 1, from the SYN).
    pub fn sync(&mut self, first_seq: u32) {
        if !self.synced {
            self.base = first_seq;
            self.synced = true;
        }
    }

    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Whether data starting at `first_seq` would begin at or before this direction's origin
    /// (within the window): a SYN the capture showed after its connection's first data.
    pub fn precedes_origin(&self, first_seq: u32) -> bool {
        self.synced && u64::from(self.base.wrapping_sub(first_seq)) <= MAX_AHEAD
    }

    /// Bytes delivered or skipped so far (the stream offset of the next byte).
    pub fn position(&self) -> u64 {
        self.next
    }

    /// The FIN was seen and every byte before it delivered or skipped.
    pub fn finished(&self) -> bool {
        self.fin_at.is_some_and(|f| self.next >= f)
    }

    /// A FIN was seen (the stream may still have a hole before it).
    pub fn fin_seen(&self) -> bool {
        self.fin_at.is_some()
    }

    /// Out-of-order budget in use (bytes plus per-piece cost).
    pub fn held_cost(&self) -> usize {
        self.held_cost
    }

    /// Stream offset of `seq`, by its signed distance from the next expected byte (RFC 9293 §3.4);
    /// negative when it lies before the stream's origin.
    fn signed_offset(&self, seq: u32) -> i64 {
        let cur = self.base.wrapping_add(self.next as u32);
        let rel = i64::from(seq.wrapping_sub(cur) as i32);
        i64::try_from(self.next)
            .unwrap_or(i64::MAX)
            .saturating_add(rel)
    }

    /// Stream offset of `seq`; `None` when it lies before the origin.
    fn offset(&self, seq: u32) -> Option<u64> {
        u64::try_from(self.signed_offset(seq)).ok()
    }

    /// Where a segment's content starts, with whatever lies before the origin cut off; `None`
    /// when all of it (FIN included) lies before the origin.
    fn place<'a>(&self, seg: &SegmentData<'a>) -> Option<(u64, &'a [u8], u64)> {
        let start = self.signed_offset(seg.seq);
        let missing = u64::from(seg.missing);
        let Ok(cut) = u64::try_from(start.saturating_neg()) else {
            return Some((start.unsigned_abs(), seg.payload, missing)); // start > 0
        };
        let len = (seg.payload.len() as u64).saturating_add(missing);
        if cut > 0 && cut >= len.saturating_add(u64::from(seg.fin)) {
            return None;
        }
        let from_payload = usize::try_from(cut)
            .unwrap_or(usize::MAX)
            .min(seg.payload.len());
        let rest = seg.payload.get(from_payload..).unwrap_or_default();
        let from_missing = cut.saturating_sub(from_payload as u64);
        Some((0, rest, missing.saturating_sub(from_missing)))
    }

    /// Place one segment of this direction; chunks that become deliverable go to `out`.
    pub fn segment(
        &mut self,
        seg: SegmentData<'_>,
        ts: Timestamp,
        out: &mut dyn FnMut(Chunk<'_>),
    ) -> Disposition {
        if !self.synced {
            if seg.payload.is_empty() && seg.missing == 0 && !seg.fin {
                return Disposition::Empty;
            }
            self.sync(seg.seq);
            self.unknown_start = true;
        }
        let Some((start, payload, missing)) = self.place(&seg) else {
            return Disposition::Retransmission;
        };
        let len = (payload.len() as u64).saturating_add(missing);
        if start > self.next.saturating_add(MAX_AHEAD) {
            return Disposition::OutOfWindow;
        }
        let end = start.saturating_add(len);
        if seg.fin && self.fin_at.is_none() {
            self.fin_at = Some(end);
        }
        if len == 0 {
            return Disposition::Empty;
        }
        if end <= self.next {
            return Disposition::Retransmission;
        }
        let pieces = [
            (start, Body::Bytes(payload)),
            (
                start.saturating_add(payload.len() as u64),
                Body::Lost(missing),
            ),
        ];
        let mut em = self.emitter(out, ts);
        let disposition = if start <= self.next {
            self.deliver(&pieces, ts, &mut em);
            Disposition::InOrder
        } else if self.hold(&pieces, ts) {
            Disposition::OutOfOrder
        } else {
            Disposition::Retransmission
        };
        self.skip_acked_holes(ts, &mut em);
        self.enforce_budget(ts, &mut em);
        self.close_emitter(em);
        disposition
    }

    /// The peer acknowledged everything before `ack` (RFC 9293 §3.4): a hole it covers reached
    /// the peer but not the capture, so once the bytes after it have waited [`ACK_GRACE_NS`] it is
    /// skipped as a gap of known length.
    pub fn ack(&mut self, ack: u32, ts: Timestamp, out: &mut dyn FnMut(Chunk<'_>)) {
        if !self.synced {
            return;
        }
        let Some(off) = self.offset(ack) else { return };
        if off <= self.next.saturating_add(MAX_AHEAD) {
            self.acked = self.acked.max(off);
        }
        if self.held.is_empty() {
            return;
        }
        let mut em = self.emitter(out, ts);
        self.skip_acked_holes(ts, &mut em);
        self.close_emitter(em);
    }

    /// The stream ends at `now`: skip every hole, deliver everything held, and report bytes the
    /// peer acknowledged that were never seen.
    pub fn flush(&mut self, now: Timestamp, out: &mut dyn FnMut(Chunk<'_>)) {
        let mut em = self.emitter(out, now);
        self.release_held(&mut em);
        // The peer's ACK also counts our FIN (RFC 9293 §3.4): bytes end where the FIN sits.
        let acked_end = self.fin_at.map_or(self.acked, |f| self.acked.min(f));
        if acked_end > self.next {
            em.gap(now, acked_end - self.next);
            self.next = acked_end;
        }
        self.close_emitter(em);
    }

    /// Skip every hole and deliver everything held now (memory is needed elsewhere).
    pub fn release(&mut self, now: Timestamp, out: &mut dyn FnMut(Chunk<'_>)) {
        let mut em = self.emitter(out, now);
        self.release_held(&mut em);
        self.close_emitter(em);
    }

    /// Held pieces keep their own arrival time: nothing later completed them.
    fn release_held(&mut self, em: &mut Emitter<'_>) {
        while let Some((&first, held)) = self.held.first_key_value() {
            let at = held_ts(held);
            em.gap(at, first.saturating_sub(self.next));
            self.next = self.next.max(first);
            self.deliver(&[], at, em);
        }
    }

    fn emitter<'s>(&self, out: &'s mut dyn FnMut(Chunk<'_>), ts: Timestamp) -> Emitter<'s> {
        Emitter {
            out,
            gap: 0,
            gap_ts: ts,
            unknown: self.unknown_start,
        }
    }

    fn close_emitter(&mut self, mut em: Emitter<'_>) {
        em.settle();
        self.unknown_start = em.unknown;
    }

    /// Deliver from `next`: held pieces and the current segment's pieces, interleaved, as long as
    /// they are contiguous. Segment bytes are handed out by reference (no copy).
    fn deliver(&mut self, pieces: &[(u64, Body<'_>)], ts: Timestamp, em: &mut Emitter<'_>) {
        loop {
            if let Some(entry) = self.held.first_entry()
                && *entry.key() <= self.next
            {
                let (at, held) = entry.remove_entry();
                self.held_cost = self.held_cost.saturating_sub(held.cost());
                self.emit_held(at, &held, ts, em);
                continue;
            }
            let limit = self.held.first_key_value().map_or(u64::MAX, |(k, _)| *k);
            let Some(&(start, body)) = pieces
                .iter()
                .find(|(s, b)| *s <= self.next && s.saturating_add(b.len()) > self.next)
            else {
                return;
            };
            let to = start.saturating_add(body.len()).min(limit);
            let part = body.slice(self.next - start, to - start);
            match part {
                Body::Bytes(b) => em.data(ts, b),
                Body::Lost(n) => em.gap(ts, n),
            }
            self.next = to;
        }
    }

    /// Emit the part of a held piece that lies at or after `next`.
    fn emit_held(&mut self, at: u64, held: &Held, ts: Timestamp, em: &mut Emitter<'_>) {
        let end = at.saturating_add(held.len());
        if end <= self.next {
            return;
        }
        let skip = self.next - at;
        match held {
            Held::Bytes(b, _) => {
                let from = usize::try_from(skip).unwrap_or(usize::MAX);
                em.data(ts, b.get(from..).unwrap_or_default());
            }
            Held::Lost(n, _) => em.gap(ts, n.saturating_sub(skip)),
        }
        self.next = end;
    }

    /// Copy the parts of `pieces` no held piece covers yet (first wins). True if anything was new.
    fn hold(&mut self, pieces: &[(u64, Body<'_>)], ts: Timestamp) -> bool {
        let mut new = false;
        for &(start, body) in pieces {
            for (from, to) in self.uncovered(start, start.saturating_add(body.len())) {
                let held = match body.slice(from - start, to - start) {
                    Body::Bytes(b) => Held::Bytes(b.into(), ts),
                    Body::Lost(n) => Held::Lost(n, ts),
                };
                self.held_cost = self.held_cost.saturating_add(held.cost());
                self.held.insert(from, held);
                new = true;
            }
        }
        new
    }

    /// Sub-ranges of `[start, end)` not covered by held pieces.
    fn uncovered(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut cur = start;
        if let Some((k, h)) = self.held.range(..start).next_back() {
            cur = cur.max(k.saturating_add(h.len()));
        }
        let mut free = Vec::new();
        for (&k, h) in self.held.range(start..end) {
            if k > cur {
                free.push((cur, k));
            }
            cur = cur.max(k.saturating_add(h.len()));
        }
        if cur < end {
            free.push((cur, end));
        }
        free
    }

    /// Skip holes the peer has acknowledged in full, once what follows them has waited long
    /// enough that the capture is not merely late in showing them.
    fn skip_acked_holes(&mut self, ts: Timestamp, em: &mut Emitter<'_>) {
        while let Some((&first, held)) = self.held.first_key_value() {
            if first > self.acked || ts.since(held_ts(held)) < ACK_GRACE_NS {
                return;
            }
            self.skip_first_hole(ts, em);
        }
    }

    /// Held bytes over the bound: the oldest hole is declared a gap, so what follows can go.
    fn enforce_budget(&mut self, ts: Timestamp, em: &mut Emitter<'_>) {
        while self.held_cost > self.limit && !self.held.is_empty() {
            self.skip_first_hole(ts, em);
        }
    }

    fn skip_first_hole(&mut self, ts: Timestamp, em: &mut Emitter<'_>) {
        if let Some((&first, _)) = self.held.first_key_value() {
            em.gap(ts, first.saturating_sub(self.next));
            self.next = self.next.max(first);
            self.deliver(&[], ts, em);
        }
    }
}

fn held_ts(held: &Held) -> Timestamp {
    match held {
        Held::Bytes(_, ts) | Held::Lost(_, ts) => *ts,
    }
}

#[cfg(test)]
mod tests;
