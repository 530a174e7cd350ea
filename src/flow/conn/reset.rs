//! A RST the capture shows before the connection's last bytes.
//!
//! The reordering that can put a connection's first data before its SYN (see [`super::early`])
//! can as well put its last data after the RST that ended it: the RST's own sequence number says
//! where its sender's stream ended, and its ACK number how much of the peer's stream the sender
//! had received (RFC 9293 §3.10.7.4, §3.4). When either lies beyond what has been delivered, the
//! connection lingers: it still takes segments, and closes with [`CloseReason::Rst`] once both
//! streams reach those points or [`ACK_GRACE_NS`] of packet time has passed since the RST
//! (checked on its next segment and by the table's deadline queue). A RST that leaves nothing
//! outstanding closes at once, as always. The RST's numbers are not trusted further: bytes that
//! never show up are not reported as a gap on its word alone.

use super::{Conn, Direction, Out, Verdict};
use crate::decode::Segment;
use crate::flow::CloseReason;
use crate::flow::reassembly::{ACK_GRACE_NS, MAX_AHEAD};
use crate::time::Timestamp;

/// A RST seen while bytes it accounts for were still missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reset {
    ts: Timestamp,
    /// Stream offset where each direction must be delivered to for the close: client→server,
    /// server→client.
    c2s_end: u64,
    s2c_end: u64,
}

impl Conn {
    /// The open connection got a RST from `dir`: `Linger` if it accounts for bytes not yet seen,
    /// else the connection ends now.
    pub(super) fn on_open_rst(
        &mut self,
        seg: &Segment<'_>,
        dir: Direction,
        ts: Timestamp,
        out: &mut Out<'_>,
    ) -> Verdict {
        if self.reset.is_some() {
            // A second RST: the first one's deadline stands (as for a closed connection's late
            // segment, it counts as ignored).
            out.stats.ignored_segments += 1;
            return self.after_reset(ts, out);
        }
        let own = self.half(dir);
        let own_end = u64::try_from(own.seq_offset(seg.seq))
            .ok()
            .filter(|_| own.is_synced())
            .filter(|end| *end <= own.reach().saturating_add(MAX_AHEAD))
            .unwrap_or(0);
        let peer_end = if seg.flags.ack() {
            self.half(dir.reverse()).ack_offset(seg.ack)
        } else {
            0
        };
        let (c2s_end, s2c_end) = match dir {
            Direction::ClientToServer => (own_end, peer_end),
            Direction::ServerToClient => (peer_end, own_end),
        };
        self.reset = Some(Reset {
            ts,
            c2s_end,
            s2c_end,
        });
        match self.after_reset(ts, out) {
            Verdict::Keep => Verdict::Linger,
            v => v,
        }
    }

    /// After a segment of a lingering connection: close once nothing the RST accounts for is
    /// missing, or once the grace is over.
    pub(super) fn after_reset(&mut self, ts: Timestamp, out: &mut Out<'_>) -> Verdict {
        let Some(r) = self.reset else {
            return Verdict::Keep;
        };
        let complete = self.c2s.reach() >= r.c2s_end && self.s2c.reach() >= r.s2c_end;
        if !complete && ts.since(r.ts) < ACK_GRACE_NS {
            return Verdict::Keep;
        }
        self.end(CloseReason::Rst, ts.max(r.ts), out);
        Verdict::Done
    }

    /// The lingering connection's grace is over at `now`.
    pub(in crate::flow) fn reset_due(&self, now: Timestamp) -> bool {
        self.reset.is_some_and(|r| now.since(r.ts) >= ACK_GRACE_NS)
    }
}
