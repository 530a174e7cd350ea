//! The bounded connection table. STUB: replaced by the flow owner.

use super::{FlowLimits, FlowStats, StreamEvent};
use crate::decode::Segment;
use crate::time::Timestamp;

#[derive(Debug)]
pub struct FlowTable {
    limits: FlowLimits,
    stats: FlowStats,
}

impl FlowTable {
    pub fn new(limits: FlowLimits) -> Self {
        FlowTable {
            limits,
            stats: FlowStats::default(),
        }
    }

    /// Feed one segment captured at `ts`; events are handed to `sink` in stream order.
    pub fn ingest(
        &mut self,
        seg: &Segment<'_>,
        ts: Timestamp,
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        let _ = (seg, ts, sink, self.limits);
    }

    /// Expire what packet time says is idle (call with the latest timestamp).
    pub fn expire(&mut self, now: Timestamp, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        let _ = (now, sink);
    }

    /// End of input: close every connection, settle pending attempts.
    pub fn finish(&mut self, now: Timestamp, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        let _ = (now, sink);
    }

    pub fn stats(&self) -> FlowStats {
        self.stats
    }
}
