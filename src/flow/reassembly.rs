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
//!   never showed is a gap at the end. Bytes a snaplen cut off (`missing`) are a gap at their place
//!   in the stream. Adjacent gaps are merged.
//! - **Before the capture.** A direction whose start was not seen (no SYN) begins with a
//!   `Gap { len: 0 }` — unknown length — before its first bytes. Its first segment carrying data or
//!   a FIN sets its origin; an earlier segment arriving after it counts as a retransmission.
//! - **Across directions.** A segment's ACK number says how much of the peer's stream was sent
//!   before it. Its bytes wait (held, copied) until the peer's stream is delivered that far, so a
//!   response never reaches `proto` before its request, even when the capture shows them out of
//!   order; if the peer's bytes never show up within [`ACK_GRACE_NS`], the caller skips them as a
//!   gap ([`Reassembler::waiting`], [`Reassembler::skip_to`]). Standalone use passes
//!   `peer_reach = u64::MAX` and nothing waits.
//! - **Sanity window.** Segments more than [`MAX_AHEAD`] bytes beyond the next expected byte (the
//!   largest scaled window, RFC 7323 §2.3) are dropped as out of window.

mod piece;

use crate::time::Timestamp;
use piece::{Body, Emitter, Held, HeldBody};
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
    /// The peer's stream offset this segment acknowledges ([`Reassembler::ack_offset`] of the
    /// peer; 0 for none): its bytes are not delivered before the peer's bytes up to there.
    pub after_peer: u64,
}

/// How a segment was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Nothing to place (no payload; a FIN alone is noted).
    Empty,
    /// New bytes were delivered in order.
    InOrder,
    /// New bytes are held until the hole before them is filled or skipped, or until the peer's
    /// stream reaches what their segment acknowledged.
    OutOfOrder,
    /// Nothing new: every byte was already delivered or held.
    Retransmission,
    /// Too far from the stream to be believed; dropped.
    OutOfWindow,
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

    /// The bound on out-of-order bytes this direction was made with.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether data starting at `first_seq` would begin at or before this direction's origin
    /// (within the window): a SYN the capture showed after its connection's first data.
    pub fn precedes_origin(&self, first_seq: u32) -> bool {
        self.synced && u64::from(self.base.wrapping_sub(first_seq)) <= MAX_AHEAD
    }

    /// Stream offset of `seq` (negative before the origin): orders segments of this direction.
    pub fn seq_offset(&self, seq: u32) -> i64 {
        self.signed_offset(seq)
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

    /// Nothing held out of order, and nothing charged for it: there is nothing to pump, wait
    /// for or release.
    pub fn holds_nothing(&self) -> bool {
        self.held.is_empty() && self.held_cost == 0
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
    /// `peer_reach` is how far the other direction has been delivered ([`Reassembler::reach`]):
    /// bytes whose segment acknowledged more of the peer than that wait (see the module doc).
    pub fn segment(
        &mut self,
        seg: SegmentData<'_>,
        peer_reach: u64,
        ts: Timestamp,
        out: &mut dyn FnMut(Chunk<'_>),
    ) -> Disposition {
        if self.next_in_order(&seg, peer_reach) {
            // Nothing held, nothing owed: the general path would hand out just these bytes.
            out(Chunk::Data {
                ts,
                bytes: seg.payload,
            });
            self.next = self.next.saturating_add(seg.payload.len() as u64);
            return Disposition::InOrder;
        }
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
        let before = self.next;
        if start <= self.next {
            self.deliver(&pieces, seg.after_peer, peer_reach, ts, &mut em);
        }
        let held = end > self.next && self.hold(&pieces, seg.after_peer, ts);
        self.skip_acked_holes(peer_reach, ts, &mut em);
        self.enforce_budget(ts, &mut em);
        self.close_emitter(em);
        match (self.next > before, held) {
            (true, _) => Disposition::InOrder,
            (false, true) => Disposition::OutOfOrder,
            (false, false) => Disposition::Retransmission,
        }
    }

    /// The usual segment of an established stream: whole (nothing cut, no FIN), starting exactly
    /// at the next byte, with nothing held and no start-of-capture gap still owed, and not
    /// waiting for the peer. Then [`Reassembler::segment`]'s general path delivers its payload
    /// as one chunk and changes nothing else (no hole to skip, no budget in use); taking it
    /// directly saves that path's bookkeeping on nearly every packet of a busy capture.
    fn next_in_order(&self, seg: &SegmentData<'_>, peer_reach: u64) -> bool {
        self.synced
            && self.held.is_empty()
            && !self.unknown_start
            && !seg.payload.is_empty()
            && seg.missing == 0
            && !seg.fin
            && seg.after_peer <= peer_reach
            && seg.seq == self.base.wrapping_add(self.next as u32)
    }

    /// Whether [`Reassembler::segment`] would only deliver a whole segment (no FIN, nothing cut)
    /// starting at `seq` with `len` payload bytes, acknowledging the peer up to `after_peer`:
    /// nothing is held or owed, it starts exactly at the next byte, and bytes do not wait for
    /// the peer (an empty one starting there is [`Disposition::Empty`] and changes nothing). Then
    /// [`Reassembler::advance`] is all that call does.
    pub fn takes_plainly(&self, seq: u32, len: usize, after_peer: u64, peer_reach: u64) -> bool {
        self.synced
            && self.holds_nothing()
            && !self.unknown_start
            && seq == self.base.wrapping_add(self.next as u32)
            && (len == 0 || after_peer <= peer_reach)
    }

    /// `len` bytes were delivered (see [`Reassembler::takes_plainly`]).
    pub fn advance(&mut self, len: usize) {
        self.next = self.next.saturating_add(len as u64);
    }

    /// [`Reassembler::ack`] when nothing is held: it only notes how far the peer got, at
    /// `offset` ([`Reassembler::ack_offset`] of its ACK number).
    pub fn ack_nothing_held(&mut self, offset: u64) {
        self.acked = self.acked.max(offset);
    }

    /// The peer acknowledged everything before `ack` (RFC 9293 §3.4): a hole it covers reached
    /// the peer but not the capture, so once the bytes after it have waited [`ACK_GRACE_NS`] it is
    /// skipped as a gap of known length.
    pub fn ack(
        &mut self,
        ack: u32,
        peer_reach: u64,
        ts: Timestamp,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        let off = self.ack_offset(ack);
        self.acked = self.acked.max(off);
        if self.held.is_empty() {
            return;
        }
        let mut em = self.emitter(out, ts);
        self.skip_acked_holes(peer_reach, ts, &mut em);
        self.close_emitter(em);
    }

    /// The stream offset an ACK number of the peer stands for; 0 when unknown or out of window.
    #[inline(always)]
    pub fn ack_offset(&self, ack: u32) -> u64 {
        if !self.synced {
            return 0;
        }
        self.offset(ack)
            .filter(|off| *off <= self.next.saturating_add(MAX_AHEAD))
            .unwrap_or(0)
    }

    /// How far the peer's ACKs can have reached: the next byte, plus one once the FIN is
    /// delivered (it takes a sequence number, RFC 9293 §3.4).
    pub fn reach(&self) -> u64 {
        self.next.saturating_add(u64::from(self.finished()))
    }

    /// Deliver held pieces that were waiting for the peer, now that it reached `peer_reach`.
    /// True if anything moved.
    pub fn pump(&mut self, peer_reach: u64, ts: Timestamp, out: &mut dyn FnMut(Chunk<'_>)) -> bool {
        if self
            .held
            .first_key_value()
            .is_none_or(|(k, _)| *k > self.next)
        {
            return false;
        }
        let before = self.next;
        let mut em = self.emitter(out, ts);
        self.deliver(&[], 0, peer_reach, ts, &mut em);
        self.close_emitter(em);
        self.next > before
    }

    /// The peer offset the next bytes wait for, and since when, if they wait.
    pub fn waiting(&self, peer_reach: u64) -> Option<(u64, Timestamp)> {
        let (k, h) = self.held.first_key_value()?;
        (*k <= self.next && h.barrier > peer_reach).then_some((h.barrier, h.ts))
    }

    /// Everything before `offset` counts as delivered: held pieces there go out now, holes become
    /// gaps (the peer proved it received those bytes; the capture never showed them).
    pub fn skip_to(
        &mut self,
        offset: u64,
        peer_reach: u64,
        ts: Timestamp,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        let mut em = self.emitter(out, ts);
        while self.next < offset {
            match self.held.first_key_value().map(|(k, _)| *k) {
                Some(k) if k <= self.next => self.deliver_first(ts, &mut em),
                Some(k) => self.skip_gap(ts, k.min(offset), &mut em),
                None => self.skip_gap(ts, offset, &mut em),
            }
        }
        self.deliver(&[], 0, peer_reach, ts, &mut em);
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
            self.skip_gap(now, acked_end, &mut em);
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
            let at = held.ts;
            if first > self.next {
                self.skip_gap(at, first, em);
            }
            self.deliver_first(at, em);
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

    /// Deliver from `next`: held pieces and the current segment's pieces (acknowledging the peer
    /// up to `barrier`), interleaved, while contiguous and not waiting for the peer. Segment
    /// bytes are handed out by reference (no copy).
    fn deliver(
        &mut self,
        pieces: &[(u64, Body<'_>)],
        barrier: u64,
        peer_reach: u64,
        ts: Timestamp,
        em: &mut Emitter<'_>,
    ) {
        loop {
            if let Some((&k, held)) = self.held.first_key_value()
                && k <= self.next
            {
                if held.barrier > peer_reach {
                    return;
                }
                self.deliver_first(ts, em);
                continue;
            }
            if barrier > peer_reach {
                return;
            }
            let limit = self.held.first_key_value().map_or(u64::MAX, |(k, _)| *k);
            let Some(&(start, body)) = pieces
                .iter()
                .find(|(s, b)| *s <= self.next && s.saturating_add(b.len()) > self.next)
            else {
                return;
            };
            let to = start.saturating_add(body.len()).min(limit);
            em.body(ts, body.slice(self.next - start, to - start));
            self.next = to;
        }
    }

    /// Take the first held piece out and emit the part of it at or after `next`.
    fn deliver_first(&mut self, ts: Timestamp, em: &mut Emitter<'_>) {
        let Some((at, held)) = self.held.pop_first() else {
            return;
        };
        self.held_cost = self.held_cost.saturating_sub(held.cost());
        let end = at.saturating_add(held.len());
        if end <= self.next {
            return;
        }
        let skip = self.next.saturating_sub(at);
        match &held.body {
            HeldBody::Bytes(b) => {
                let from = usize::try_from(skip).unwrap_or(usize::MAX);
                em.data(ts, b.get(from..).unwrap_or_default());
            }
            HeldBody::Lost(n) => em.gap(ts, n.saturating_sub(skip)),
        }
        self.next = end;
    }

    /// A hole from `next` to `to` is skipped as a gap.
    fn skip_gap(&mut self, ts: Timestamp, to: u64, em: &mut Emitter<'_>) {
        em.gap(ts, to.saturating_sub(self.next));
        self.next = self.next.max(to);
    }

    /// Copy the parts of `pieces` at or after `next` that no held piece covers yet (first wins).
    /// True if anything was new.
    fn hold(&mut self, pieces: &[(u64, Body<'_>)], barrier: u64, ts: Timestamp) -> bool {
        let mut new = false;
        for &(start, body) in pieces {
            let end = start.saturating_add(body.len());
            for (from, to) in self.uncovered(start.max(self.next), end) {
                let held = Held::new(body.slice(from - start, to - start), ts, barrier);
                self.held_cost = self.held_cost.saturating_add(held.cost());
                self.held.insert(from, held);
                new = true;
            }
        }
        new
    }

    /// Sub-ranges of `[start, end)` not covered by held pieces.
    fn uncovered(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut free = Vec::new();
        if start >= end {
            return free;
        }
        let mut cur = start;
        if let Some((k, h)) = self.held.range(..start).next_back() {
            cur = cur.max(k.saturating_add(h.len()));
        }
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
    fn skip_acked_holes(&mut self, peer_reach: u64, ts: Timestamp, em: &mut Emitter<'_>) {
        while let Some((&first, held)) = self.held.first_key_value() {
            let hole = first > self.next && first <= self.acked;
            if !hole || ts.since(held.ts) < ACK_GRACE_NS {
                return;
            }
            self.skip_gap(ts, first, em);
            self.deliver(&[], 0, peer_reach, ts, em);
        }
    }

    /// Held bytes over the bound: the oldest hole is declared a gap and what follows goes, even
    /// if it was waiting for the peer.
    fn enforce_budget(&mut self, ts: Timestamp, em: &mut Emitter<'_>) {
        while self.held_cost > self.limit {
            let Some((&first, _)) = self.held.first_key_value() else {
                return;
            };
            self.skip_gap(ts, first, em);
            self.deliver_first(ts, em);
        }
    }
}

#[cfg(test)]
mod tests;
