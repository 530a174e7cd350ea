//! **flow**: TCP segments → ordered byte streams, both ways, per connection.
//!
//! A bounded table of connections keyed by 4-tuple ([`FlowTable`]) learns who is the client,
//! reassembles each direction by sequence number ([`reassembly`]: out-of-order data held within a
//! bounded window, retransmissions and overlaps resolved first-wins, gaps recorded and skipped)
//! and tracks the handshake, so that a SYN answered by RST or by nothing becomes an [`Attempt`].
//! Time is the packet's; expiry is driven by it.
//!
//! Who is the client: the sender of a SYN without ACK; the receiver of a SYN-ACK seen first.
//! Mid-stream (no handshake seen, [`OpenedBy::Midstream`]) a connection starts only on a segment
//! carrying data: if exactly one of its ports is a service port (below 1024, or a usual HTTP/S3
//! alternate such as 8080 or 9000, see [`key::is_service_port`]) that side is the server, else
//! the sender of that first data is the client. Each mid-stream direction then begins with a
//! `Gap { len: 0 }`.
//!
//! Delayed starts: a capture may show a connection's first data before its SYN (multi-queue
//! NICs, `-i any`, merged files). So data on an untracked 4-tuple opens nothing at once: the
//! connection's segments are held (copied; bounded per connection by count and
//! `max_out_of_order_bytes`, and charged to `max_table_bytes`) for
//! [`reassembly::ACK_GRACE_NS`] of packet time. A SYN or SYN-ACK arriving within it whose
//! sequence and ACK numbers agree with the held segments opens the connection as
//! [`OpenedBy::Handshake`] and the held segments go through in sequence order, nothing lost.
//! Otherwise (grace over on a later packet, `expire` or `finish`; a RST; a bound exceeded; a SYN
//! that disagrees) it opens mid-stream exactly as it would have at once, only later. A server's
//! data after the SYN but before the SYN-ACK is held the same way. Counted in
//! [`FlowStats::delayed_starts`] and [`FlowStats::late_handshakes`]; details in `conn/early.rs`.
//!
//! The end mirrors the start: a RST whose sequence or ACK number accounts for bytes not yet
//! captured lets the connection linger up to the same grace for them, then `Closed { Rst }`
//! (`conn/reset.rs`); a RST leaving nothing outstanding closes at once.
//!
//! Event order per connection: `Opened`, then `Data`/`Gap` of either direction, then `Closed`;
//! or a lone `Attempt` for a SYN refused or unanswered that carried no data. Across directions
//! the order is the conversation's: bytes are held until the peer bytes their segment's ACK
//! covers have been delivered, so a response follows its request even in a reordered capture.
//! `Opened` waits for the handshake's ACK or the first data, so a bare SYN never opens; a start
//! without a handshake waits up to the delayed-start grace. Held segments keep their own time, so
//! a connection's events can carry times up to 200 ms older than events already emitted for
//! other connections.

mod conn;
pub mod handshake;
pub mod key;
mod lru;
pub mod reassembly;
mod table;
mod tombstone;

pub use handshake::{Attempt, AttemptOutcome};

/// The hasher of the connection tables: foldhash, several times faster than std's SipHash on
/// 4-tuples and connection ids, and randomly seeded per table, so crafted addresses cannot be
/// made to collide (the table is keyed by what the network sends).
pub type FastHash = foldhash::fast::RandomState;
pub use key::{ConnId, Direction, FlowKey};
pub use table::FlowTable;

use crate::time::Timestamp;
use std::net::SocketAddr;

/// Bounds on what the flow stage holds. What a bound drops is counted in [`FlowStats`].
#[derive(Debug, Clone, Copy)]
pub struct FlowLimits {
    /// Connections tracked at once; the least recently active is evicted beyond this.
    pub max_connections: usize,
    /// Bytes held out of order per direction before the oldest hole is declared a gap.
    pub max_out_of_order_bytes: usize,
    /// Estimated bytes all tracked connections may cost together, in every stage and with the
    /// bytes they hold out of order (table.rs `cost`); beyond it the least recently active is
    /// evicted, as beyond `max_connections`, to make room for a connection to open, and a
    /// connection whose held bytes do not fit the room the others leave skips its holes. The
    /// bound that keeps a flood of cheap connections, or of connections each holding data
    /// behind a hole, from growing memory without end.
    pub max_table_bytes: usize,
    /// A connection idle this long (capture time, ns) is closed.
    pub idle_timeout_ns: i64,
    /// A SYN with no answer for this long (capture time, ns) is an unanswered attempt.
    pub syn_timeout_ns: i64,
}

impl Default for FlowLimits {
    fn default() -> Self {
        FlowLimits {
            max_connections: 100_000,
            max_out_of_order_bytes: 4 << 20,
            max_table_bytes: 20 << 20,
            idle_timeout_ns: 300 * 1_000_000_000,
            syn_timeout_ns: 3 * 1_000_000_000,
        }
    }
}

/// How the flow stage first saw a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpenedBy {
    /// We saw the three-way handshake (client known for sure).
    Handshake,
    /// The capture started mid-connection; the client was guessed.
    Midstream,
}

/// Why a connection's events ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloseReason {
    Fin,
    Rst,
    Idle,
    Evicted,
    EndOfCapture,
}

/// What the flow stage tells `proto`. Data borrows from the segment or the reassembly buffer.
#[derive(Debug)]
pub enum StreamEvent<'a> {
    Opened {
        conn: ConnId,
        client: SocketAddr,
        server: SocketAddr,
        ts: Timestamp,
        by: OpenedBy,
    },
    /// In-order bytes of one direction.
    Data {
        conn: ConnId,
        dir: Direction,
        ts: Timestamp,
        bytes: &'a [u8],
    },
    /// `len` bytes of one direction are missing (lost, cut by snaplen, or before the capture began
    /// — then `len` is 0 because it is unknown); the next Data event follows the hole.
    Gap {
        conn: ConnId,
        dir: Direction,
        ts: Timestamp,
        len: u64,
    },
    Closed {
        conn: ConnId,
        ts: Timestamp,
        reason: CloseReason,
    },
    /// A connection attempt that never carried data: refused or unanswered.
    Attempt(Attempt),
}

/// Counters for the report's `quality` section.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlowStats {
    pub connections: u64,
    pub midstream: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Segments whose payload the snaplen cut (each is also a gap of the cut bytes).
    pub truncated_segments: u64,
    /// Segments that brought nothing new (all bytes already delivered or held).
    pub retransmitted_segments: u64,
    /// Segments held: a hole before them, or waiting for the peer bytes their ACK covers.
    pub out_of_order_segments: u64,
    /// Connections evicted at `max_connections` or `max_table_bytes` (including unanswered
    /// SYNs, then not reported).
    pub evicted: u64,
    /// Of those, connections evicted because the table was at `max_table_bytes`.
    pub evicted_for_memory: u64,
    /// The memory bound those were evicted at (`FlowLimits::max_table_bytes`), for the warning.
    pub max_table_bytes: u64,
    /// Connection attempts reported (refused or unanswered SYNs).
    pub attempts: u64,
    /// SYNs answered by a SYN-ACK that then ended with neither the client's ACK nor data: no
    /// event is emitted for them.
    pub half_open: u64,
    /// Segments more than 1 GiB away from their stream (`reassembly::MAX_AHEAD`): dropped.
    pub out_of_window_segments: u64,
    /// Times a connection skipped its holes early because it held more out of order than
    /// `max_table_bytes` leaves it beside the other connections.
    pub out_of_order_released: u64,
    /// Segments that belong to nothing: a bare ACK/FIN/RST on an untracked 4-tuple, a late
    /// segment of a closed connection, a SYN-ACK or RST that does not acknowledge the SYN.
    pub ignored_segments: u64,
    /// Connections whose data came before the handshake said where it starts (before the SYN,
    /// or a server's before its SYN-ACK) and was held for it, up to `reassembly::ACK_GRACE_NS`.
    pub delayed_starts: u64,
    /// Of those, connections whose handshake then placed all held data within the grace (the
    /// rest open mid-stream, counted in `midstream`, or start a direction at its lowest held
    /// byte).
    pub late_handshakes: u64,
}
