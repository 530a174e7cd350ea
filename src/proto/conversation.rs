//! One connection's protocol state: detection, then HTTP or TLS (or a CONNECT tunnel into TLS).

use super::{ProtoEvent, ProtoLimits};
use crate::flow::Direction;
use crate::time::Timestamp;

/// Per-connection protocol analyser. STUB: replaced by the proto owner.
#[derive(Debug)]
pub struct Conversation {
    limits: ProtoLimits,
}

impl Conversation {
    pub fn new(limits: ProtoLimits) -> Self {
        Conversation { limits }
    }

    /// In-order bytes of one direction.
    pub fn on_data(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) {
        let _ = (dir, ts, bytes, out, self.limits);
    }

    /// `len` bytes (0 = unknown) of one direction are missing before the next data.
    pub fn on_gap(&mut self, dir: Direction, ts: Timestamp, len: u64, out: &mut Vec<ProtoEvent>) {
        let _ = (dir, ts, len, out);
    }

    /// The connection ended: flush requests still waiting for a response.
    pub fn on_close(&mut self, ts: Timestamp, out: &mut Vec<ProtoEvent>) {
        let _ = (ts, out);
    }
}
