//! One connection's state machine: handshake (RFC 9293 §3.5), who is the client, both directions'
//! reassembly, and how it ends. Events go straight to the sink; the table does the bookkeeping.
//! A start without a handshake is first held for a late one ([`early`]); a RST before the last
//! bytes lets them arrive ([`reset`]).

mod early;
mod reset;
#[cfg(test)]
pub(super) use early::MAX_EARLY_SEGMENTS;

use super::key::{FlowKey, sender_is_client};
use super::reassembly::{ACK_GRACE_NS, Chunk, Disposition, Reassembler, SegmentData};
use super::{
    Attempt, AttemptOutcome, CloseReason, ConnId, Direction, FlowLimits, FlowStats, OpenedBy,
    StreamEvent,
};
use crate::decode::{Segment, TcpFlags};
use crate::time::Timestamp;
use std::net::SocketAddr;

/// How long after a mid-stream start a SYN may still turn out to be that connection's own
/// (capture reordering around the handshake).
const LATE_SYN_NS: i64 = 1_000_000_000;

/// Where the events of a call go, and the counters they move.
pub(super) struct Out<'s> {
    pub(super) stats: &'s mut FlowStats,
    pub(super) sink: &'s mut dyn FnMut(StreamEvent<'_>),
    /// Out-of-order bytes (with per-piece cost) held by all connections together.
    pub(super) held_total: &'s mut usize,
    /// The most this connection may hold out of order: the room the table's byte budget leaves
    /// it (table.rs `held_room`).
    pub(super) held_cap: usize,
}

impl Out<'_> {
    fn chunk(&mut self, conn: ConnId, dir: Direction, chunk: Chunk<'_>) {
        match chunk {
            Chunk::Data { ts, bytes } => (self.sink)(StreamEvent::Data {
                conn,
                dir,
                ts,
                bytes,
            }),
            Chunk::Gap { ts, len } => {
                if len > 0 {
                    self.stats.gaps += 1;
                    self.stats.gap_bytes = self.stats.gap_bytes.saturating_add(len);
                }
                (self.sink)(StreamEvent::Gap { conn, dir, ts, len });
            }
        }
    }

    fn count(&mut self, d: Disposition) {
        match d {
            Disposition::Retransmission => self.stats.retransmitted_segments += 1,
            Disposition::OutOfOrder => self.stats.out_of_order_segments += 1,
            Disposition::OutOfWindow => self.stats.out_of_window_segments += 1,
            Disposition::Empty | Disposition::InOrder => {}
        }
    }
}

/// Where the handshake stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Data came first: its segments are held for a late handshake ([`early`]); nothing emitted.
    Held,
    /// The client's SYN, unanswered so far.
    SynSent {
        isn: u32,
        first: Timestamp,
        last: Timestamp,
        syns: u32,
    },
    /// The server's SYN-ACK was seen; waiting for the client's ACK or any data.
    SynReceived,
    /// `Opened` was emitted.
    Open,
}

/// What the table should do with the connection after a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Keep,
    /// Its events are over (Closed or Attempt emitted): remove it and keep a tombstone.
    Done,
    /// A SYN with a new ISN: the old connection ends and the segment starts a new one.
    Restart,
    /// Its events ended (Closed emitted) before this segment, when what it held went through:
    /// remove it, keep a tombstone, and take the segment as one of an untracked 4-tuple.
    Ended,
    /// Keep the connection and check it again `ACK_GRACE_NS` after this segment: a RST came
    /// before bytes it accounts for ([`reset`]), or data waits for the handshake to place it
    /// ([`early`]).
    Linger,
}

#[derive(Debug)]
pub(super) struct Conn {
    pub(super) id: ConnId,
    pub(super) key: FlowKey,
    pub(super) client: SocketAddr,
    pub(super) server: SocketAddr,
    pub(super) client_isn: Option<u32>,
    pub(super) phase: Phase,
    pub(super) last_ts: Timestamp,
    /// When the connection was first seen.
    first_ts: Timestamp,
    /// This connection's share of `Out::held_total`, as last reported.
    held_reported: usize,
    /// What the table charged this connection against its memory budget (table.rs `cost`).
    pub(super) charged: usize,
    c2s: Reassembler,
    s2c: Reassembler,
    /// Segments held while a late handshake may still show up (`None` once settled).
    early: Option<Box<early::Early>>,
    /// A RST seen while bytes it accounts for were missing: the connection lingers for them.
    reset: Option<reset::Reset>,
}

impl Conn {
    fn new(
        id: ConnId,
        client: SocketAddr,
        server: SocketAddr,
        ts: Timestamp,
        limits: &FlowLimits,
    ) -> Self {
        Conn {
            id,
            key: FlowKey::new(client, server),
            client,
            server,
            client_isn: None,
            phase: Phase::SynReceived,
            last_ts: ts,
            first_ts: ts,
            held_reported: 0,
            charged: 0,
            c2s: Reassembler::new(limits.max_out_of_order_bytes),
            s2c: Reassembler::new(limits.max_out_of_order_bytes),
            early: None,
            reset: None,
        }
    }

    /// A segment on a 4-tuple nobody tracks starts a connection if it is a SYN, a SYN-ACK, or
    /// carries data (mid-stream); anything else (bare ACK, FIN, RST) starts nothing.
    pub(super) fn can_start(seg: &Segment<'_>) -> bool {
        let has_data = !seg.payload.is_empty() || seg.missing > 0;
        !seg.flags.rst() && (seg.flags.syn() || has_data)
    }

    /// Start a connection from `seg` (see [`Conn::can_start`]); `None` if it cannot.
    pub(super) fn start(
        id: ConnId,
        seg: &Segment<'_>,
        ts: Timestamp,
        limits: &FlowLimits,
        out: &mut Out<'_>,
    ) -> Option<Conn> {
        let f = seg.flags;
        let has_data = !seg.payload.is_empty() || seg.missing > 0;
        if f.rst() {
            return None;
        }
        if f.syn() {
            let mut c = Conn::new(id, seg.src, seg.dst, ts, limits);
            c.handshake(seg, ts, out);
            return Some(c);
        }
        if !has_data {
            return None;
        }
        let (client, server) = if sender_is_client(seg.src, seg.dst) {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let mut c = Conn::new(id, client, server, ts, limits);
        c.delay(seg, ts, limits, out);
        Some(c)
    }

    /// The mid-stream start (no handshake seen): open now, the client guessed.
    fn open_midstream(&mut self, ts: Timestamp, out: &mut Out<'_>) {
        out.stats.midstream += 1;
        self.open(OpenedBy::Midstream, ts, out);
    }

    /// RFC 9293 §3.5: the SYN sender is the client, its data starts at ISN + 1; a SYN-ACK seen
    /// first makes its receiver the client, whose next byte is the ACK number.
    fn handshake(&mut self, seg: &Segment<'_>, ts: Timestamp, out: &mut Out<'_>) {
        if seg.flags.ack() {
            (self.client, self.server) = (seg.dst, seg.src);
            self.client_isn = Some(seg.ack.wrapping_sub(1));
            self.c2s.sync(seg.ack);
            self.s2c.sync(seg.seq.wrapping_add(1));
            self.phase = Phase::SynReceived;
            return;
        }
        (self.client, self.server) = (seg.src, seg.dst);
        self.client_isn = Some(seg.seq);
        self.c2s.sync(seg.seq.wrapping_add(1));
        self.phase = Phase::SynSent {
            isn: seg.seq,
            first: ts,
            last: ts,
            syns: 1,
        };
        if !seg.payload.is_empty() || seg.missing > 0 {
            // TCP Fast Open (RFC 7413): data on the SYN makes it a connection at once.
            self.open(OpenedBy::Handshake, ts, out);
            self.on_open_segment(seg, Direction::ClientToServer, ts, out);
        }
    }

    fn dir_of(&self, src: SocketAddr) -> Direction {
        if src == self.client {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }

    /// One more segment of this connection.
    pub(super) fn on_segment(
        &mut self,
        seg: &Segment<'_>,
        ts: Timestamp,
        out: &mut Out<'_>,
    ) -> Verdict {
        if self.early.is_some() {
            return self.on_early_segment(seg, ts, out);
        }
        if matches!(self.phase, Phase::SynSent { .. }) && self.lacks_origin(seg) {
            return self.hold_for_origin(seg, ts, out);
        }
        let v = self.step(seg, ts, out);
        if v == Verdict::Keep && self.reset.is_some() {
            return self.after_reset(ts, out);
        }
        v
    }

    /// The usual segment of an open connection, taken without the state machine: no SYN, RST
    /// or FIN, nothing cut, nothing held or lingering anywhere, bytes already carried (so its
    /// cost in the table stays), and the segment either empty or next in order and not waiting
    /// for the peer. [`Conn::on_segment`] would then only note its ACK and deliver its bytes
    /// (verdict `Keep`), and this does just that; false, having changed nothing, for any other
    /// segment. `dir` is the segment's direction. Nearly every packet of a busy connection is
    /// one (held to the general path by `table/tests/props.rs`). Inlined into the table's
    /// usual delivery: its call was ~17 instructions a packet.
    #[inline(always)]
    pub(super) fn on_plain_segment(
        &mut self,
        seg: &Segment<'_>,
        dir: Direction,
        ts: Timestamp,
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) -> bool {
        const UNUSUAL: u8 = TcpFlags::SYN | TcpFlags::RST | TcpFlags::FIN;
        if seg.flags.0 & UNUSUAL != 0
            || seg.missing != 0
            || self.early.is_some()
            || self.reset.is_some()
            || self.held_reported != 0
            || !self.carried()
        {
            return false;
        }
        let id = self.id;
        let (this, other) = match dir {
            Direction::ClientToServer => (&mut self.c2s, &mut self.s2c),
            Direction::ServerToClient => (&mut self.s2c, &mut self.c2s),
        };
        // Both FINs seen: the general path ends the connection.
        if this.fin_seen() && other.fin_seen() || !other.holds_nothing() {
            return false;
        }
        let after_peer = if seg.flags.ack() {
            other.ack_offset(seg.ack)
        } else {
            0
        };
        let len = seg.payload.len();
        if !this.takes_plainly(seg.seq, len, after_peer, other.reach()) {
            return false;
        }
        self.last_ts = self.last_ts.max(ts);
        if seg.flags.ack() {
            other.ack_nothing_held(after_peer);
        }
        if len > 0 {
            sink(StreamEvent::Data {
                conn: id,
                dir,
                ts,
                bytes: seg.payload,
            });
            this.advance(len);
        }
        true
    }

    /// The direction of a segment between this connection's two ends; `None` for another
    /// 4-tuple.
    #[inline(always)]
    pub(super) fn direction_of(&self, seg: &Segment<'_>) -> Option<Direction> {
        if seg.src == self.client && seg.dst == self.server {
            Some(Direction::ClientToServer)
        } else if seg.src == self.server && seg.dst == self.client {
            Some(Direction::ServerToClient)
        } else {
            None
        }
    }

    /// Data or a FIN (not a SYN or RST) of a direction whose first sequence number is unknown.
    fn lacks_origin(&self, seg: &Segment<'_>) -> bool {
        let f = seg.flags;
        let content = !seg.payload.is_empty() || seg.missing > 0 || f.fin();
        content && !f.syn() && !f.rst() && !self.synced(self.dir_of(seg.src))
    }

    /// One segment through the state machine (nothing held for a late handshake).
    fn step(&mut self, seg: &Segment<'_>, ts: Timestamp, out: &mut Out<'_>) -> Verdict {
        self.last_ts = self.last_ts.max(ts);
        let dir = self.dir_of(seg.src);
        if seg.flags.syn() {
            return self.on_syn(seg, dir, ts, out);
        }
        if seg.flags.rst() {
            return self.on_rst(seg, dir, ts, out);
        }
        if self.phase != Phase::Open {
            let has_data = !seg.payload.is_empty() || seg.missing > 0;
            // The client's ACK completes the handshake (RFC 9293 §3.5); data proves it happened.
            if !(has_data || seg.flags.ack() && dir == Direction::ClientToServer) {
                return Verdict::Keep;
            }
            if seg.flags.ack() {
                // The SYN-ACK may have escaped the capture: the ACK says where the peer starts.
                self.half(dir.reverse()).sync(seg.ack);
            }
            self.open(OpenedBy::Handshake, ts, out);
        }
        self.on_open_segment(seg, dir, ts, out)
    }

    fn on_open_segment(
        &mut self,
        seg: &Segment<'_>,
        dir: Direction,
        ts: Timestamp,
        out: &mut Out<'_>,
    ) -> Verdict {
        let id = self.id;
        let mut after_peer = 0;
        if seg.flags.ack() {
            // The ACK first: a hole it covers in the other direction is settled before this data.
            let reach = self.half(dir).reach();
            let other = self.half(dir.reverse());
            after_peer = other.ack_offset(seg.ack);
            other.ack(seg.ack, reach, ts, &mut |c| out.chunk(id, dir.reverse(), c));
        }
        if seg.missing > 0 {
            out.stats.truncated_segments += 1;
        }
        // A SYN's own sequence number precedes its data (RFC 9293 §3.4).
        let seq = seg.seq.wrapping_add(u32::from(seg.flags.syn()));
        let data = SegmentData {
            seq,
            payload: seg.payload,
            missing: seg.missing,
            fin: seg.flags.fin(),
            after_peer,
        };
        let peer_reach = self.half(dir.reverse()).reach();
        let d = self
            .half(dir)
            .segment(data, peer_reach, ts, &mut |c| out.chunk(id, dir, c));
        out.count(d);
        if !self.holds_nothing() {
            self.settle(ts, ACK_GRACE_NS, out);
            self.account_held(ts, out);
        }
        if self.c2s.fin_seen() && self.s2c.fin_seen() {
            self.end(CloseReason::Fin, ts, out);
            return Verdict::Done;
        }
        Verdict::Keep
    }

    fn on_syn(
        &mut self,
        seg: &Segment<'_>,
        dir: Direction,
        ts: Timestamp,
        out: &mut Out<'_>,
    ) -> Verdict {
        let client_side = dir == Direction::ClientToServer;
        if !seg.flags.ack() {
            if client_side && self.late_syn(seg.seq, ts) {
                // Reordered capture: the handshake's SYN after the first data. Same connection.
                self.client_isn = Some(seg.seq);
                return Verdict::Keep;
            }
            if !client_side || self.client_isn != Some(seg.seq) {
                return Verdict::Restart;
            }
            // The same ISN again: a retransmitted SYN, part of the same attempt.
            match &mut self.phase {
                Phase::SynSent { syns, last, .. } => {
                    *syns = syns.saturating_add(1);
                    *last = ts;
                }
                Phase::Open if !seg.payload.is_empty() => {
                    return self.on_open_segment(seg, dir, ts, out);
                }
                _ => out.stats.retransmitted_segments += 1,
            }
            return Verdict::Keep;
        }
        // A SYN-ACK must acknowledge the client's SYN (RFC 9293 §3.10.7.3); another is stale.
        let acks_syn = self
            .client_isn
            .is_none_or(|isn| seg.ack == isn.wrapping_add(1));
        if client_side || !acks_syn {
            out.stats.ignored_segments += 1;
            return Verdict::Keep;
        }
        if self.s2c.is_synced() {
            out.stats.retransmitted_segments += 1;
        }
        self.s2c.sync(seg.seq.wrapping_add(1));
        if matches!(self.phase, Phase::SynSent { .. }) {
            self.phase = Phase::SynReceived;
        }
        Verdict::Keep
    }

    /// A SYN (no ISN known yet) just after a mid-stream start, whose data would begin at or
    /// before the first data seen, belongs to this connection.
    fn late_syn(&self, isn: u32, ts: Timestamp) -> bool {
        self.client_isn.is_none()
            && ts.since(self.first_ts) <= LATE_SYN_NS
            && self.c2s.precedes_origin(isn.wrapping_add(1))
    }

    fn on_rst(
        &mut self,
        seg: &Segment<'_>,
        dir: Direction,
        ts: Timestamp,
        out: &mut Out<'_>,
    ) -> Verdict {
        match self.phase {
            Phase::SynSent { isn, .. } => {
                if dir == Direction::ClientToServer {
                    // The client gave up before any answer.
                    self.attempt(AttemptOutcome::Unanswered, out);
                    return Verdict::Done;
                }
                // RFC 9293 §3.10.7.3: in SYN-SENT a RST is acceptable if it ACKs the SYN.
                if seg.flags.ack() && seg.ack != isn.wrapping_add(1) {
                    out.stats.ignored_segments += 1;
                    return Verdict::Keep;
                }
                self.attempt(AttemptOutcome::Refused, out);
            }
            Phase::SynReceived => out.stats.half_open += 1,
            Phase::Open => return self.on_open_rst(seg, dir, ts, out),
            // A RST settles what is held first (see `early`): never reached.
            Phase::Held => {}
        }
        Verdict::Done
    }

    /// Deliver what waited for the other direction: bytes whose segment acknowledged peer bytes
    /// not yet delivered go after them, so a response never precedes its request even when the
    /// capture shows them out of order. A side that waited `grace_ns` for peer bytes the capture
    /// never showed has those declared a gap (the ACK proves they were received).
    fn settle(&mut self, ts: Timestamp, grace_ns: i64, out: &mut Out<'_>) {
        let id = self.id;
        let (c2s, s2c) = (Direction::ClientToServer, Direction::ServerToClient);
        loop {
            let (c_reach, s_reach) = (self.c2s.reach(), self.s2c.reach());
            if self.c2s.pump(s_reach, ts, &mut |c| out.chunk(id, c2s, c))
                || self.s2c.pump(c_reach, ts, &mut |c| out.chunk(id, s2c, c))
            {
                continue;
            }
            let graced =
                |w: Option<(u64, Timestamp)>| w.filter(|(_, since)| ts.since(*since) >= grace_ns);
            if let Some((barrier, _)) = graced(self.c2s.waiting(s_reach)) {
                self.s2c
                    .skip_to(barrier, c_reach, ts, &mut |c| out.chunk(id, s2c, c));
            } else if let Some((barrier, _)) = graced(self.s2c.waiting(c_reach)) {
                self.c2s
                    .skip_to(barrier, s_reach, ts, &mut |c| out.chunk(id, c2s, c));
            } else {
                return;
            }
        }
    }

    /// Keep the table-wide count of held bytes true. Held bytes are charged to the table's
    /// byte budget; a connection holding more than the room it leaves skips its holes now.
    fn account_held(&mut self, ts: Timestamp, out: &mut Out<'_>) {
        self.report_held(out);
        if self.held_reported > out.held_cap {
            out.stats.out_of_order_released += 1;
            let id = self.id;
            let c2s = Direction::ClientToServer;
            self.c2s.release(ts, &mut |c| out.chunk(id, c2s, c));
            self.s2c
                .release(ts, &mut |c| out.chunk(id, c2s.reverse(), c));
            self.report_held(out);
        }
    }

    /// Whether the connection delivered (or skipped) any byte: the later stages then hold
    /// state for it.
    pub(super) fn carried(&self) -> bool {
        self.phase == Phase::Open && (self.c2s.position() > 0 || self.s2c.position() > 0)
    }

    /// Out-of-order bytes (with per-piece cost) this connection holds, as last reported.
    pub(super) fn held(&self) -> usize {
        self.held_reported
    }

    /// Neither direction holds anything, nothing waits for a handshake, and nothing held was
    /// reported: settling would deliver nothing and accounting change no count (the usual
    /// in-order segment of a keep-alive connection skips both).
    fn holds_nothing(&self) -> bool {
        self.c2s.holds_nothing()
            && self.s2c.holds_nothing()
            && self.early.is_none()
            && self.held_reported == 0
    }

    fn report_held(&mut self, out: &mut Out<'_>) {
        let early = self.early.as_ref().map_or(0, |e| e.cost());
        let now = self
            .c2s
            .held_cost()
            .saturating_add(self.s2c.held_cost())
            .saturating_add(early);
        *out.held_total = out
            .held_total
            .saturating_sub(self.held_reported)
            .saturating_add(now);
        self.held_reported = now;
    }

    /// Whether `dir`'s first sequence number is known.
    fn synced(&self, dir: Direction) -> bool {
        match dir {
            Direction::ClientToServer => self.c2s.is_synced(),
            Direction::ServerToClient => self.s2c.is_synced(),
        }
    }

    fn half(&mut self, dir: Direction) -> &mut Reassembler {
        match dir {
            Direction::ClientToServer => &mut self.c2s,
            Direction::ServerToClient => &mut self.s2c,
        }
    }

    fn open(&mut self, by: OpenedBy, ts: Timestamp, out: &mut Out<'_>) {
        self.phase = Phase::Open;
        out.stats.connections += 1;
        (out.sink)(StreamEvent::Opened {
            conn: self.id,
            client: self.client,
            server: self.server,
            ts,
            by,
        });
    }

    fn attempt(&self, outcome: AttemptOutcome, out: &mut Out<'_>) {
        if let Phase::SynSent { first, syns, .. } = self.phase {
            out.stats.attempts += 1;
            (out.sink)(StreamEvent::Attempt(Attempt {
                ts: first,
                client: self.client,
                server: self.server,
                outcome,
                syns,
            }));
        }
    }

    /// The connection ends for `reason` at `ts`. An open one flushes both directions (held data
    /// keeps its arrival time) and emits `Closed`; an unanswered
    /// SYN becomes an attempt (unless evicted: then nothing is known); a half-open one is counted.
    pub(super) fn end(&mut self, reason: CloseReason, ts: Timestamp, out: &mut Out<'_>) {
        // What was held for a late handshake goes through first (mid-stream if none came).
        if self.resolve_early(out) != Verdict::Keep {
            return;
        }
        // A RST was seen: whatever ends the lingering, the RST ended the connection.
        let reason = if self.reset.is_some() {
            CloseReason::Rst
        } else {
            reason
        };
        match self.phase {
            Phase::Open => {
                let id = self.id;
                let c2s = Direction::ClientToServer;
                // Nothing more will come: what waits for the peer goes now, in order.
                self.settle(ts, i64::MIN, out);
                self.c2s.flush(ts, &mut |c| out.chunk(id, c2s, c));
                self.s2c.flush(ts, &mut |c| out.chunk(id, c2s.reverse(), c));
                self.report_held(out);
                (out.sink)(StreamEvent::Closed {
                    conn: id,
                    ts,
                    reason,
                });
            }
            Phase::SynSent { .. } if reason != CloseReason::Evicted => {
                self.attempt(AttemptOutcome::Unanswered, out);
            }
            Phase::SynSent { .. } => {}
            Phase::SynReceived => out.stats.half_open += 1,
            Phase::Held => {}
        }
    }
}
