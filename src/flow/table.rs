//! The bounded connection table: 4-tuple → connection, recency order for eviction and idle
//! expiry, a queue of SYN deadlines, and tombstones of recently closed connections.
//!
//! Costs: an in-order segment of a known connection is one lookup (usually in a small cache of
//! recent slots, else a hash lookup), an O(1) move to the front of the recency list and a
//! zero-copy delivery, taken by a plain lane that skips the state machine: no allocation.
//! Expiry is checked when packet time advances by a second (or when [`FlowTable::expire`] is
//! called) and only looks at what expires: the recency list's oldest end and the SYN queue's
//! front. The index's hasher is foldhash, randomly seeded: the 4-tuples come from the network,
//! so a DoS-resistant hash is worth its few ns (the cache in front of it needs none: a
//! collision there is a miss). Packet time that runs backwards only delays expiry (the oldest
//! end is checked first).

use super::FastHash;
use super::conn::{Conn, Out, Phase, Verdict};
use super::key::FlowKey;
use super::lru::Lru;
use super::reassembly::ACK_GRACE_NS;
use super::tombstone::Tombstones;
use super::{CloseReason, ConnId, Direction, FlowLimits, FlowStats, StreamEvent};
use crate::decode::Segment;
use crate::time::Timestamp;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

const SECOND_NS: i64 = 1_000_000_000;

/// Estimated bytes a tracked connection costs besides its `Conn`: its index entry, slab slot
/// and deadline (measured with heaptrack on `scripts/bench-hostile`'s SYN flood).
pub(super) const TRACKING_COST: usize = 160;
/// Estimated bytes a connection that carried bytes costs in the later stages (the app's
/// per-connection record, the HTTP parser and its head buffer: 720 + 1,680 + ~80 bytes, the
/// first two `size_of`, the last measured with heaptrack on the half-sent capture), rounded up
/// for the allocator. They make that state on a connection's first bytes, so a handshake alone
/// costs the flow stage only (and the records stage its two addresses, counted in
/// `TRACKING_COST`'s rounding). Checked against the peak RSS of `scripts/bench-hostile`'s
/// half-sent capture at `--connection-memory` 12 and 48 MiB: 3,827 bytes more for each
/// connection more, against the 568 + 2,880 charged. (It was 1,536 while the HTTP parser was
/// 536 bytes; its field-name memos made it 1,408, then 1,680, and the estimate fell behind:
/// each MiB of the bound then held 1.8 MiB of connections.)
pub(super) const OPENED_COST: usize = 2880;

/// Tombstones kept at most: one per connection the table may hold, within an eighth of its
/// byte budget (a tombstone is its map entry and its place in the expiry order, ~200 bytes).
fn tomb_cap(limits: &FlowLimits) -> usize {
    let each = std::mem::size_of::<(FlowKey, super::tombstone::Tomb)>()
        + std::mem::size_of::<(FlowKey, u64)>();
    limits
        .max_connections
        .min(limits.max_table_bytes / 8 / each)
        .max(1)
}

/// What a connection is charged against `FlowLimits::max_table_bytes`: a SYN, a held start or
/// a handshake without data costs the flow stage only (and what it holds out of order); once
/// it carried bytes, the protocol stages hold state for it too.
fn cost(conn: &Conn) -> usize {
    let base = std::mem::size_of::<Conn>() + TRACKING_COST + conn.held();
    if conn.carried() {
        base + OPENED_COST
    } else {
        base
    }
}

/// An opened connection's cost without what it holds out of order.
const OPEN_SHELL: usize = std::mem::size_of::<Conn>() + TRACKING_COST + OPENED_COST;

/// When a SYN-only connection is to be declared unanswered, or a delayed start stops waiting
/// for its handshake.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: Timestamp,
    slot: usize,
    id: ConnId,
}

/// Every TCP connection of a capture, bounded by [`FlowLimits`]: feed it segments in capture
/// order with [`FlowTable::ingest`], end with [`FlowTable::finish`].
#[derive(Debug)]
pub struct FlowTable {
    limits: FlowLimits,
    stats: FlowStats,
    index: HashMap<FlowKey, usize, FastHash>,
    conns: Lru<Conn>,
    syn_deadlines: VecDeque<Deadline>,
    /// Delayed starts (conn/early.rs) and connections lingering after a RST (conn/reset.rs), in
    /// the order they began: each ends its grace at `at`.
    early_deadlines: VecDeque<Deadline>,
    tombs: Tombstones,
    next_id: u64,
    next_check: Timestamp,
    /// Out-of-order bytes held by all connections (part of `charged_total`, see `cost`).
    held_total: usize,
    /// Sum of every tracked connection's `charged` (see `FlowLimits::max_table_bytes`), held
    /// out-of-order bytes included.
    charged_total: usize,
    /// The input ended ([`FlowTable::finish_some`]): no late segment can come, keep no
    /// tombstones (a full table closed at the end would otherwise fill them all at once).
    ending: bool,
    /// The slot last found for each bucket of 4-tuples (`recent_bucket`; `usize::MAX` for none):
    /// the flows of a capture's busy connections are found here without hashing their key
    /// (hashing and probing the index was ~130 instructions a packet). Checked against the
    /// connection's ends before use, so a stale or colliding entry is only a miss.
    recent: Box<[usize; RECENT]>,
    /// The plain lane (`recent` and `Conn::on_plain_segment`) is taken; tests turn it off to
    /// hold it to the general path.
    plain_lane: bool,
}

/// Buckets of [`FlowTable::recent`].
const RECENT: usize = 256;

/// A 4-tuple's bucket in [`FlowTable::recent`], the same both ways (its two ends are mixed with
/// XOR). Not DoS-resistant, and need not be: a collision costs a miss, then the index's lookup.
fn recent_bucket(seg: &Segment<'_>) -> usize {
    fn mix(a: SocketAddr) -> u32 {
        let ip = match a.ip() {
            IpAddr::V4(ip) => ip.to_bits(),
            IpAddr::V6(ip) => ip.to_bits() as u32,
        };
        ip ^ u32::from(a.port())
    }
    let h = (mix(seg.src) ^ mix(seg.dst)).wrapping_mul(0x9E37_79B1);
    (h >> (32 - RECENT.trailing_zeros())) as usize
}

impl FlowTable {
    pub fn new(limits: FlowLimits) -> Self {
        let limits = FlowLimits {
            max_connections: limits.max_connections.max(1),
            ..limits
        };
        FlowTable {
            limits,
            stats: FlowStats {
                max_table_bytes: limits.max_table_bytes as u64,
                ..FlowStats::default()
            },
            index: HashMap::default(),
            conns: Lru::new(),
            syn_deadlines: VecDeque::new(),
            early_deadlines: VecDeque::new(),
            tombs: Tombstones::new(tomb_cap(&limits)),
            next_id: 0,
            next_check: Timestamp(i64::MIN),
            held_total: 0,
            charged_total: 0,
            ending: false,
            recent: Box::new([usize::MAX; RECENT]),
            plain_lane: true,
        }
    }

    /// Feed one segment captured at `ts`; events are handed to `sink` in stream order. Once per
    /// second of packet time this also runs [`FlowTable::expire`].
    ///
    /// The usual segment, with nothing due and its connection where its `recent` bucket says,
    /// is delivered from here, inlined into the caller; anything else takes
    /// [`FlowTable::ingest_generally`], which looks the same segment up the same way. (Inlining
    /// the whole of it cost more than the call saved: ~23 instructions a packet more.)
    #[inline(always)]
    pub fn ingest(
        &mut self,
        seg: &Segment<'_>,
        ts: Timestamp,
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        if !self.due(ts)
            && let Some((slot, dir)) = self.recent_hit(seg)
        {
            return self.deliver(slot, Some(dir), seg, ts, sink);
        }
        self.ingest_generally(seg, ts, sink);
    }

    /// [`FlowTable::ingest`] of any segment: what is due expired, its connection looked up (or
    /// started).
    #[inline(never)]
    fn ingest_generally(
        &mut self,
        seg: &Segment<'_>,
        ts: Timestamp,
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        if self.early_deadlines.front().is_some_and(|d| d.at <= ts) {
            self.expire_early(ts, sink);
        }
        if ts >= self.next_check {
            self.expire(ts, sink);
            self.next_check = Timestamp(ts.0.saturating_add(SECOND_NS));
        }
        match self.lookup(seg) {
            Ok((slot, dir)) => self.deliver(slot, dir, seg, ts, sink),
            Err(key) => self.start(key, seg, ts, sink),
        }
    }

    /// Whether a segment at `ts` has expiry to run first (see [`FlowTable::ingest_generally`]).
    #[inline(always)]
    fn due(&self, ts: Timestamp) -> bool {
        self.early_deadlines.front().is_some_and(|d| d.at <= ts) || ts >= self.next_check
    }

    /// A segment of the connection in `slot` (`dir`: its direction, when known): through the
    /// plain lane when it takes it, else the state machine.
    #[inline(always)]
    fn deliver(
        &mut self,
        slot: usize,
        dir: Option<Direction>,
        seg: &Segment<'_>,
        ts: Timestamp,
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        self.conns.touch(slot);
        if self.plain_lane
            && let Some(dir) = dir
            && let Some(conn) = self.conns.get_mut(slot)
            && conn.on_plain_segment(seg, dir, ts, sink)
        {
            // Its cost is unchanged; what the general path's `Keep` does after.
            return self.shed(ts, sink);
        }
        self.step(slot, seg, ts, sink);
    }

    /// A segment of the connection in `slot` through its state machine, and what its verdict
    /// means for the table.
    #[inline(never)]
    fn step(
        &mut self,
        slot: usize,
        seg: &Segment<'_>,
        ts: Timestamp,
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        let held_cap = self.held_room(slot);
        let mut out = Out {
            stats: &mut self.stats,
            sink: &mut *sink,
            held_total: &mut self.held_total,
            held_cap,
        };
        let Some(conn) = self.conns.get_mut(slot) else {
            return;
        };
        let (id, key) = (conn.id, conn.key);
        let verdict = conn.on_segment(seg, ts, &mut out);
        self.recharge(slot);
        match verdict {
            Verdict::Keep => self.shed(ts, sink),
            Verdict::Linger => {
                self.push_early_deadline(slot, id, ts);
                self.shed(ts, sink);
            }
            Verdict::Done => self.bury(slot, ts),
            Verdict::Restart => {
                self.close(slot, CloseReason::Idle, ts, sink);
                self.tombs.remove(&key);
                self.start(key, seg, ts, sink);
            }
            Verdict::Ended => {
                self.bury(slot, ts);
                self.start(key, seg, ts, sink);
            }
        }
    }

    /// The connection the last lookup of a segment's `recent` bucket found, when it is the
    /// segment's (its two ends are compared with the connection's, so a bucket left stale by a
    /// closed connection only misses), and the segment's direction in it.
    #[inline(always)]
    fn recent_hit(&self, seg: &Segment<'_>) -> Option<(usize, Direction)> {
        let slot = *self.recent.get(recent_bucket(seg))?;
        let dir = self.conns.get(slot)?.direction_of(seg)?;
        Some((slot, dir))
    }

    /// The connection of a segment's 4-tuple and the segment's direction in it (known unless
    /// the connection's ends disagree with its key, which they never do), or the 4-tuple's key
    /// when none is tracked. A connection the last lookup of its `recent` bucket found is found
    /// there without hashing the key.
    fn lookup(&mut self, seg: &Segment<'_>) -> Result<(usize, Option<Direction>), FlowKey> {
        if let Some((slot, dir)) = self.recent_hit(seg) {
            return Ok((slot, Some(dir)));
        }
        let key = FlowKey::new(seg.src, seg.dst);
        let &slot = self.index.get(&key).ok_or(key)?;
        if self.plain_lane
            && let Some(r) = self.recent.get_mut(recent_bucket(seg))
        {
            *r = slot;
        }
        Ok((slot, self.conns.get(slot).and_then(|c| c.direction_of(seg))))
    }

    /// Expire what packet time says is over (call with the latest timestamp): SYNs unanswered
    /// for `syn_timeout_ns`, connections idle for `idle_timeout_ns`, old tombstones.
    pub fn expire(&mut self, now: Timestamp, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        self.expire_early(now, sink);
        self.expire_syns(now, sink);
        while let Some(slot) = self.conns.oldest() {
            let idle = self.conns.get(slot).map(|c| now.since(c.last_ts));
            if idle.is_none_or(|idle| idle < self.limits.idle_timeout_ns)
                || !self.close(slot, CloseReason::Idle, now, sink)
            {
                break;
            }
        }
        self.tombs.expire(now);
    }

    /// End of input: close every connection, settle pending attempts (as unanswered).
    pub fn finish(&mut self, now: Timestamp, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        while self.finish_some(now, usize::MAX, sink) {}
    }

    /// [`FlowTable::finish`] for at most `n` connections, oldest first, so that a caller can
    /// hand on what each batch produced before the next (a full table closed at once would
    /// hold every connection's last facts together); false once none is left.
    pub fn finish_some(
        &mut self,
        now: Timestamp,
        n: usize,
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) -> bool {
        if !self.ending {
            self.ending = true;
            self.tombs = Tombstones::new(1);
        }
        for _ in 0..n {
            let Some(slot) = self.conns.oldest() else {
                break;
            };
            if !self.close(slot, CloseReason::EndOfCapture, now, sink) {
                break;
            }
        }
        let more = self.conns.oldest().is_some();
        if !more {
            self.syn_deadlines.clear();
            self.early_deadlines.clear();
        }
        more
    }

    pub fn stats(&self) -> FlowStats {
        self.stats
    }

    /// Connections tracked right now (for memory checks and the report).
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.len() == 0
    }

    /// Estimated bytes the tracked connections cost, as charged against `max_table_bytes`.
    pub fn charged_bytes(&self) -> usize {
        self.charged_total
    }

    /// Out-of-order bytes (plus per-piece cost) held by all connections right now.
    pub fn held_bytes(&self) -> usize {
        self.held_total
    }

    /// Closed connections remembered to drop their late segments.
    pub fn tombstones(&self) -> usize {
        self.tombs.len()
    }

    /// A segment of an untracked 4-tuple: start a connection if it may, making room first.
    fn start(
        &mut self,
        key: FlowKey,
        seg: &Segment<'_>,
        ts: Timestamp,
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        if let Some(tomb) = self.tombs.get(&key, ts) {
            // Only a SYN with a new ISN (or a SYN-ACK) revives a closed 4-tuple.
            let same_syn = seg.src == tomb.client && tomb.client_isn == Some(seg.seq);
            if !seg.flags.syn() || (!seg.flags.ack() && same_syn) {
                self.stats.ignored_segments += 1;
                return;
            }
            self.tombs.remove(&key);
        }
        if !Conn::can_start(seg) {
            self.stats.ignored_segments += 1;
            return;
        }
        // Room first, so an evicted connection's events come before the new one's.
        self.make_room(ts, sink);
        let id = ConnId(self.next_id);
        let held_cap = self.held_room(usize::MAX);
        let mut out = Out {
            stats: &mut self.stats,
            sink: &mut *sink,
            held_total: &mut self.held_total,
            held_cap,
        };
        let Some(conn) = Conn::start(id, seg, ts, &self.limits, &mut out) else {
            self.stats.ignored_segments += 1;
            return;
        };
        self.next_id += 1;
        let phase = conn.phase;
        let slot = self.conns.insert(conn);
        self.index.insert(key, slot);
        self.recharge(slot);
        match phase {
            Phase::SynSent { last, .. } => self.push_syn_deadline(slot, id, last),
            Phase::Held => self.push_early_deadline(slot, id, ts),
            _ => {}
        }
    }

    /// Evict the least recently active connections until one more fits, in number and in
    /// bytes (room for it to open).
    fn make_room(&mut self, ts: Timestamp, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        let newcomer = OPEN_SHELL;
        loop {
            let by_count = self.conns.len() >= self.limits.max_connections;
            let by_bytes =
                self.charged_total.saturating_add(newcomer) > self.limits.max_table_bytes;
            if !(by_count || by_bytes) || !self.evict_oldest(!by_count, ts, sink) {
                return;
            }
        }
    }

    /// A connection grew (it carried its first bytes): evict the least recently active others while the table
    /// is over its byte budget. The one that grew was just touched, so it goes last.
    fn shed(&mut self, ts: Timestamp, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        while self.charged_total > self.limits.max_table_bytes
            && self.conns.len() > 1
            && self.evict_oldest(true, ts, sink)
        {}
    }

    fn evict_oldest(
        &mut self,
        for_memory: bool,
        ts: Timestamp,
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) -> bool {
        let Some(oldest) = self.conns.oldest() else {
            return false;
        };
        self.stats.evicted += 1;
        self.stats.evicted_for_memory += u64::from(for_memory);
        self.close(oldest, CloseReason::Evicted, ts, sink)
    }

    /// The most the connection in `slot` (none: a newcomer) may hold out of order: the byte
    /// budget less every other connection's cost and its own as an opened one. Held bytes only
    /// use the room connections leave: a connection that needs more skips its holes (a hole's
    /// bytes are lost) rather than evict others (all their later bytes would be).
    fn held_room(&self, slot: usize) -> usize {
        let own = self.conns.get(slot).map_or(0, |c| c.charged);
        let others = self.charged_total.saturating_sub(own);
        self.limits
            .max_table_bytes
            .saturating_sub(others.saturating_add(OPEN_SHELL))
    }

    /// Bring the charge of the connection in `slot` up to date with its phase.
    fn recharge(&mut self, slot: usize) {
        if let Some(conn) = self.conns.get_mut(slot) {
            let now = cost(conn);
            self.charged_total = self.charged_total - conn.charged + now;
            conn.charged = now;
        }
    }

    /// End the connection in `slot` for `reason`, emit what that means, and forget it.
    /// False if the slot was empty.
    fn close(
        &mut self,
        slot: usize,
        reason: CloseReason,
        now: Timestamp,
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) -> bool {
        let mut out = Out {
            stats: &mut self.stats,
            sink: &mut *sink,
            held_total: &mut self.held_total,
            // Its end delivers everything it holds.
            held_cap: usize::MAX,
        };
        let Some(conn) = self.conns.get_mut(slot) else {
            return false;
        };
        conn.end(reason, now, &mut out);
        self.bury(slot, now);
        true
    }

    /// Forget the connection in `slot`, keeping a tombstone for its late segments.
    fn bury(&mut self, slot: usize, now: Timestamp) {
        if let Some(conn) = self.conns.remove(slot) {
            self.charged_total -= conn.charged;
            self.index.remove(&conn.key);
            if !self.ending {
                self.tombs.bury(conn.key, conn.client, conn.client_isn, now);
            }
        }
    }

    fn push_syn_deadline(&mut self, slot: usize, id: ConnId, last_syn: Timestamp) {
        let at = Timestamp(last_syn.0.saturating_add(self.limits.syn_timeout_ns));
        self.syn_deadlines.push_back(Deadline { at, slot, id });
        self.drop_stale(false);
    }

    fn push_early_deadline(&mut self, slot: usize, id: ConnId, since: Timestamp) {
        let at = Timestamp(since.0.saturating_add(ACK_GRACE_NS));
        self.early_deadlines.push_back(Deadline { at, slot, id });
        self.drop_stale(true);
    }

    /// Entries of connections gone since are stale; drop them before they outnumber the table.
    fn drop_stale(&mut self, early: bool) {
        let queue = if early {
            &mut self.early_deadlines
        } else {
            &mut self.syn_deadlines
        };
        // Twice what is tracked now (not the bound: the byte budget may keep far fewer), so
        // each retain at least halves the queue and the cost stays linear.
        let cap = self.conns.len().saturating_mul(2).saturating_add(16);
        if queue.len() > cap {
            let conns = &self.conns;
            queue.retain(|d| conns.get(d.slot).is_some_and(|c| c.id == d.id));
        }
    }

    /// Delayed starts whose grace is over stop waiting for their handshake (conn/early.rs);
    /// connections lingering after a RST close (conn/reset.rs).
    fn expire_early(&mut self, now: Timestamp, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        while let Some(&d) = self.early_deadlines.front() {
            if d.at > now {
                break;
            }
            self.early_deadlines.pop_front();
            let held_cap = self.held_room(d.slot);
            let mut out = Out {
                stats: &mut self.stats,
                sink: &mut *sink,
                held_total: &mut self.held_total,
                held_cap,
            };
            let Some(conn) = self.conns.get_mut(d.slot).filter(|c| c.id == d.id) else {
                continue;
            };
            if conn.early_due(now) && conn.resolve_early(&mut out) != Verdict::Keep {
                self.bury(d.slot, now);
            } else if conn.reset_due(now) {
                conn.end(CloseReason::Rst, now, &mut out);
                self.bury(d.slot, now);
            } else {
                // A held start may have opened.
                self.recharge(d.slot);
            }
        }
        // Held starts that opened grew: stay within the byte budget.
        self.shed(now, sink);
    }

    /// SYNs whose last retransmission is `syn_timeout_ns` old become unanswered attempts.
    fn expire_syns(&mut self, now: Timestamp, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        while let Some(&d) = self.syn_deadlines.front() {
            if d.at > now {
                return;
            }
            self.syn_deadlines.pop_front();
            let Some(conn) = self.conns.get(d.slot).filter(|c| c.id == d.id) else {
                continue;
            };
            let Phase::SynSent { last, .. } = conn.phase else {
                continue;
            };
            if now.since(last) >= self.limits.syn_timeout_ns {
                self.close(d.slot, CloseReason::Idle, now, sink);
            } else {
                // A retransmitted SYN moved the deadline.
                self.push_syn_deadline(d.slot, d.id, last);
            }
        }
    }
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
