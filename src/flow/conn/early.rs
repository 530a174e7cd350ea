//! Delayed starts: the start of a connection reordered by the capture.
//!
//! Multi-queue NICs, `-i any` and merged files can show a connection's first data before its
//! SYN. Opening such a connection mid-stream at once guesses the client, begins each side with
//! an unknown-length gap, and loses that data when the SYN then starts a second connection. So a
//! segment carrying data on an untracked 4-tuple opens nothing yet: the connection's segments are
//! held, copied, in [`Phase::Held`] for [`ACK_GRACE_NS`] of packet time (200 ms, TCP's minimum
//! RTO, the grace reassembly gives any reordering).
//!
//! - **A handshake within the grace.** A SYN or SYN-ACK whose numbers agree with everything held
//!   is this connection's own: each side's held sequence numbers lie at most [`EARLY_REGION`]
//!   past its ISN + 1, and so do their ACK numbers for the peer's ISN (RFC 9293 §3.4; only the
//!   ISNs the segment tells are checked). The connection then starts as
//!   [`OpenedBy::Handshake`](crate::flow::OpenedBy) does, and the held segments of each direction
//!   go through the normal path in sequence order as soon as that direction's first sequence
//!   number is known (from the SYN, the SYN-ACK, or the ACK completing the handshake); until then
//!   later data of that direction is held too. A SYN that disagrees belongs to another
//!   connection: what is held opens mid-stream first, as it would have without the grace.
//! - **Data before the SYN-ACK.** The same holding covers a server's data that comes after the
//!   SYN but before anything says where the server's stream starts (SYN-ACK, or the client's ACK).
//! - **Handshake seen, a direction still unplaced.** When the grace ends, its held segments go
//!   through in sequence order and that direction starts at the lowest, after a `Gap { len: 0 }`.
//! - **No handshake.** When the grace ends (checked on every packet's time, on `expire` and on
//!   `finish`), when a RST arrives, or when a bound is exceeded, the held segments go through
//!   exactly as before: opened mid-stream at the first one's time, then in capture order, each
//!   with its own timestamp. A pure mid-stream capture gives the same events, at most 200 ms of
//!   packet time later. (Past the grace, the late-SYN rule of `conn` still applies.)
//! - **Bounds.** At most [`MAX_EARLY_SEGMENTS`] segments and `max_out_of_order_bytes` (payload
//!   plus [`ENTRY_COST`] each) per connection, charged to the table's byte budget.
//!   Counted in `FlowStats::delayed_starts`; `FlowStats::late_handshakes` counts those the
//!   handshake placed entirely. Established connections never hold: their fast path is a check of
//!   an `Option` and of the phase.

use super::{Conn, Out, Phase, Verdict};
use crate::decode::{Segment, TcpFlags};
use crate::flow::FlowLimits;
use crate::flow::reassembly::{ACK_GRACE_NS, ENTRY_COST};
use crate::time::Timestamp;
use std::net::SocketAddr;

/// Segments one delayed start may hold.
pub(in crate::flow) const MAX_EARLY_SEGMENTS: usize = 64;
/// How far past ISN + 1 a held sequence or ACK number may lie for a late SYN to claim it: more
/// than any connection sends within the grace under the byte bound, and a random ISN of another
/// connection falls inside with odds of 1 in 256.
pub(in crate::flow) const EARLY_REGION: u32 = 1 << 24;

/// A held segment, its payload copied.
#[derive(Debug)]
struct EarlySeg {
    ts: Timestamp,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    payload: Box<[u8]>,
    missing: u32,
}

impl EarlySeg {
    fn new(seg: &Segment<'_>, ts: Timestamp) -> Self {
        EarlySeg {
            ts,
            src: seg.src,
            dst: seg.dst,
            seq: seg.seq,
            ack: seg.ack,
            flags: seg.flags,
            payload: seg.payload.into(),
            missing: seg.missing,
        }
    }

    fn segment(&self) -> Segment<'_> {
        Segment {
            src: self.src,
            dst: self.dst,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            payload: &self.payload,
            missing: self.missing,
        }
    }

    fn cost(&self) -> usize {
        self.payload.len().saturating_add(ENTRY_COST)
    }
}

/// What a delayed start holds.
#[derive(Debug)]
pub(super) struct Early {
    /// Time of the first held segment: the grace runs from here.
    since: Timestamp,
    segs: Vec<EarlySeg>,
    cost: usize,
    limit: usize,
}

impl Early {
    /// Budget in use (bytes plus per-segment cost).
    pub(super) fn cost(&self) -> usize {
        self.cost
    }

    fn fits(&self, seg: &Segment<'_>) -> bool {
        let cost = seg.payload.len().saturating_add(ENTRY_COST);
        self.segs.len() < MAX_EARLY_SEGMENTS && self.cost.saturating_add(cost) <= self.limit
    }
}

/// `n` lies at most [`EARLY_REGION`] past `isn + 1`.
fn near(n: u32, isn: u32) -> bool {
    n.wrapping_sub(isn.wrapping_add(1)) <= EARLY_REGION
}

impl Conn {
    /// Data on an untracked 4-tuple, no handshake seen: hold it for a late one. A segment over
    /// the bound by itself opens mid-stream at once.
    pub(super) fn delay(
        &mut self,
        seg: &Segment<'_>,
        ts: Timestamp,
        limits: &FlowLimits,
        out: &mut Out<'_>,
    ) {
        let early = Early {
            since: ts,
            segs: Vec::new(),
            cost: 0,
            limit: limits.max_out_of_order_bytes,
        };
        if !early.fits(seg) {
            self.open_midstream(ts, out);
            self.step(seg, ts, out);
            return;
        }
        out.stats.delayed_starts += 1;
        self.phase = Phase::Held;
        self.early = Some(Box::new(early));
        self.hold(seg, ts, out);
    }

    /// The grace of what is held is over at `now`.
    pub(in crate::flow) fn early_due(&self, now: Timestamp) -> bool {
        self.early
            .as_ref()
            .is_some_and(|e| now.since(e.since) >= ACK_GRACE_NS)
    }

    /// A segment while something is held (see the module doc).
    pub(super) fn on_early_segment(
        &mut self,
        seg: &Segment<'_>,
        ts: Timestamp,
        out: &mut Out<'_>,
    ) -> Verdict {
        if self.early_due(ts) || seg.flags.rst() {
            return self.resolve_then(seg, ts, out);
        }
        self.last_ts = self.last_ts.max(ts);
        let syn = seg.flags.syn();
        if self.phase == Phase::Held {
            if !syn {
                return self.hold(seg, ts, out);
            }
            if !self.fits_handshake(seg) {
                return self.resolve_then(seg, ts, out);
            }
            self.handshake(seg, ts, out);
            return self.release_synced(out);
        }
        if !syn && !self.synced(self.dir_of(seg.src)) {
            return self.hold(seg, ts, out);
        }
        match self.step(seg, ts, out) {
            Verdict::Keep => self.release_synced(out),
            Verdict::Done => {
                self.drop_early(out);
                Verdict::Done
            }
            v => v,
        }
    }

    /// Everything held goes through now: mid-stream if no handshake came (exactly as without the
    /// grace), else in sequence order.
    pub(in crate::flow) fn resolve_early(&mut self, out: &mut Out<'_>) -> Verdict {
        let Some(early) = self.early.take() else {
            return Verdict::Keep;
        };
        self.report_held(out);
        let segs = if self.phase == Phase::Held {
            self.open_midstream(early.since, out);
            early.segs
        } else {
            self.in_seq_order(early.segs)
        };
        self.replay(segs, out)
    }

    /// Hold `seg` (copied). Over a bound, everything held goes through now, then `seg`.
    fn hold(&mut self, seg: &Segment<'_>, ts: Timestamp, out: &mut Out<'_>) -> Verdict {
        let Some(early) = self.early.as_mut().filter(|e| e.fits(seg)) else {
            return self.resolve_then(seg, ts, out);
        };
        let held = EarlySeg::new(seg, ts);
        early.cost = early.cost.saturating_add(held.cost());
        early.segs.push(held);
        self.report_held(out);
        if self.held() <= out.held_cap {
            return Verdict::Keep;
        }
        // More than the table's byte budget leaves it: it stops waiting.
        let v = self.resolve_early(out);
        if v == Verdict::Keep {
            self.account_held(ts, out);
        }
        v
    }

    /// Settle what is held, then take `seg` normally. `Ended` if what was held closed it.
    fn resolve_then(&mut self, seg: &Segment<'_>, ts: Timestamp, out: &mut Out<'_>) -> Verdict {
        match self.resolve_early(out) {
            Verdict::Keep => self.step(seg, ts, out),
            _ => Verdict::Ended,
        }
    }

    /// Whether the SYN or SYN-ACK `seg` agrees with every held segment's numbers.
    fn fits_handshake(&self, seg: &Segment<'_>) -> bool {
        let (client, c_isn, s_isn) = if seg.flags.ack() {
            (seg.dst, seg.ack.wrapping_sub(1), Some(seg.seq))
        } else {
            (seg.src, seg.seq, None)
        };
        let Some(early) = &self.early else {
            return false;
        };
        early.segs.iter().all(|s| {
            let (own, peer) = if s.src == client {
                (Some(c_isn), s_isn)
            } else {
                (s_isn, Some(c_isn))
            };
            own.is_none_or(|isn| near(s.seq, isn))
                && (!s.flags.ack() || peer.is_none_or(|isn| near(s.ack, isn)))
        })
    }

    /// After the handshake: held segments of directions now synchronised go through, in
    /// sequence order (which may synchronise the other direction: again, until none is ready);
    /// once nothing is held, holding is over and the handshake placed it all.
    fn release_synced(&mut self, out: &mut Out<'_>) -> Verdict {
        loop {
            let (c2s, s2c, client) = (self.c2s.is_synced(), self.s2c.is_synced(), self.client);
            let ready = |s: &EarlySeg| if s.src == client { c2s } else { s2c };
            let Some(early) = self.early.as_mut() else {
                return Verdict::Keep;
            };
            if early.segs.is_empty() {
                out.stats.late_handshakes += 1;
                self.early = None;
                return Verdict::Keep;
            }
            if !early.segs.iter().any(ready) {
                return Verdict::Keep;
            }
            let (go, stay): (Vec<_>, Vec<_>) =
                std::mem::take(&mut early.segs).into_iter().partition(ready);
            early.cost = stay.iter().map(EarlySeg::cost).sum();
            early.segs = stay;
            self.report_held(out);
            let go = self.in_seq_order(go);
            let v = self.replay(go, out);
            if v != Verdict::Keep {
                return v;
            }
        }
    }

    /// The handshake is under way but has not said where `seg`'s direction starts (a server's
    /// data before its SYN-ACK): hold it like a delayed start, `Linger` for the table's deadline.
    pub(super) fn hold_for_origin(
        &mut self,
        seg: &Segment<'_>,
        ts: Timestamp,
        out: &mut Out<'_>,
    ) -> Verdict {
        self.last_ts = self.last_ts.max(ts);
        out.stats.delayed_starts += 1;
        self.early = Some(Box::new(Early {
            since: ts,
            segs: Vec::new(),
            cost: 0,
            limit: self.c2s.limit(),
        }));
        match self.hold(seg, ts, out) {
            Verdict::Keep => Verdict::Linger,
            v => v,
        }
    }

    /// Each direction's segments by sequence number (stable: a pure ACK stays after the data
    /// before it). A direction not synchronised counts from its first held segment.
    fn in_seq_order(&self, mut segs: Vec<EarlySeg>) -> Vec<EarlySeg> {
        let client = self.client;
        let first_of = |c: bool| segs.iter().find(|s| (s.src == client) == c).map(|s| s.seq);
        let (first_c, first_s) = (first_of(true), first_of(false));
        segs.sort_by_key(|s| {
            let c = s.src == client;
            let half = if c { &self.c2s } else { &self.s2c };
            let first = if c { first_c } else { first_s };
            let off = if half.is_synced() {
                half.seq_offset(s.seq)
            } else {
                i64::from(s.seq.wrapping_sub(first.unwrap_or(s.seq)) as i32)
            };
            (!c, off)
        });
        segs
    }

    /// Held segments through the normal path, each at its own time. Those after the end of the
    /// connection are late segments of a closed one: ignored, as the tombstones would.
    fn replay(&mut self, segs: Vec<EarlySeg>, out: &mut Out<'_>) -> Verdict {
        for (i, s) in segs.iter().enumerate() {
            let v = self.step(&s.segment(), s.ts, out);
            if v != Verdict::Keep {
                let rest = segs.len().saturating_sub(i + 1);
                out.stats.ignored_segments = out.stats.ignored_segments.saturating_add(rest as u64);
                self.drop_early(out);
                return v;
            }
        }
        Verdict::Keep
    }

    /// The connection ended: what is still held will never go through.
    fn drop_early(&mut self, out: &mut Out<'_>) {
        if let Some(early) = self.early.take() {
            let n = early.segs.len() as u64;
            out.stats.ignored_segments = out.stats.ignored_segments.saturating_add(n);
            self.report_held(out);
        }
    }
}
