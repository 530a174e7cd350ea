//! Recently closed connections, remembered briefly so that their late segments (retransmitted
//! data, the last ACK of a FIN, a retransmitted SYN of a refused attempt) are dropped instead of
//! starting a "mid-stream" connection. Bounded in number and in (packet) time.

use super::FastHash;
use super::key::FlowKey;
use crate::time::Timestamp;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

/// How long a closed connection's late segments are recognised (capture time).
pub(super) const TOMBSTONE_NS: i64 = 30 * 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tomb {
    pub(super) until: Timestamp,
    pub(super) client: SocketAddr,
    /// The client's ISN, when its SYN was seen: a SYN with another ISN is a new connection.
    pub(super) client_isn: Option<u32>,
    generation: u64,
}

#[derive(Debug)]
pub(super) struct Tombstones {
    map: HashMap<FlowKey, Tomb, FastHash>,
    /// Burial order, for expiry and the count bound; entries whose generation no longer matches
    /// the map are stale and skipped.
    order: VecDeque<(FlowKey, u64)>,
    cap: usize,
    generation: u64,
}

impl Tombstones {
    pub(super) fn new(cap: usize) -> Self {
        Tombstones {
            // Sized for the bound up front: growing by doubling would hold the old table and the
            // new at once, and pages not yet written cost no memory.
            map: HashMap::with_capacity_and_hasher(cap.max(1), FastHash::default()),
            order: VecDeque::with_capacity(cap.max(1) + 1),
            cap: cap.max(1),
            generation: 0,
        }
    }

    pub(super) fn bury(
        &mut self,
        key: FlowKey,
        client: SocketAddr,
        isn: Option<u32>,
        now: Timestamp,
    ) {
        self.generation += 1;
        let tomb = Tomb {
            until: Timestamp(now.0.saturating_add(TOMBSTONE_NS)),
            client,
            client_isn: isn,
            generation: self.generation,
        };
        self.map.insert(key, tomb);
        self.order.push_back((key, self.generation));
        while self.order.len() > self.cap {
            self.pop_front();
        }
    }

    /// The tomb of `key`, if it is still recent at `now`.
    pub(super) fn get(&self, key: &FlowKey, now: Timestamp) -> Option<Tomb> {
        self.map.get(key).filter(|t| t.until >= now).copied()
    }

    pub(super) fn remove(&mut self, key: &FlowKey) {
        self.map.remove(key);
    }

    pub(super) fn expire(&mut self, now: Timestamp) {
        while let Some((key, generation)) = self.order.front() {
            let live = self.map.get(key).filter(|t| t.generation == *generation);
            if live.is_some_and(|t| t.until >= now) {
                return;
            }
            self.pop_front();
        }
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    fn pop_front(&mut self) {
        if let Some((key, generation)) = self.order.pop_front()
            && self
                .map
                .get(&key)
                .is_some_and(|t| t.generation == generation)
        {
            self.map.remove(&key);
        }
    }
}
