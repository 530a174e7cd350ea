//! The times of connection attempts per (client IP, server), to count an attempt's retries: the
//! attempts from the same client to the same server within [`RETRY_WINDOW_NS`] either way.
//!
//! Bounded by time and by count. A pair's times were dropped only when one of its own attempts
//! was judged, so a pair with one attempt (each source of a SYN flood, each client of a service
//! that stopped answering) kept its entry for the rest of the run: ~240 bytes an attempt, and a
//! capture of 800,000 unanswered SYNs from distinct clients a millisecond apart peaked at 222
//! MiB. Each time is now also queued in the order it came, and dropped once it is older than
//! the newest judged attempt by more than the window and the judge's look-back together: no
//! attempt judged later can count it, unless attempts reach the judge more than a minute out
//! of the order they began (the judge's [`LOOK_BACK_NS`], which requests rely on already).
//! Past [`MAX_TIMES`] times within that span, the oldest are dropped before their time, and
//! counted when an attempt judged later could still have counted them
//! ([`RetryTimes::dropped`]): retries may then be counted short, and the report says so.

use crate::flow::FastHash;
use crate::time::Timestamp;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use super::judge::{LOOK_BACK_NS, RETRY_WINDOW_NS};

/// Times kept per (client IP, server) at most.
const MAX_RETRY_TIMES: usize = 4096;
/// Times kept in all at most (~300 bytes each with their queue entry).
const MAX_TIMES: usize = 16_384;

type Pair = (IpAddr, SocketAddr);

#[derive(Debug, Default)]
pub(super) struct RetryTimes {
    /// Each pair's attempt times, with how many attempts share each time.
    by_pair: HashMap<Pair, BTreeMap<Timestamp, u32>, FastHash>,
    /// Every time added, in the order it was: what is dropped first.
    order: VecDeque<(Timestamp, Pair)>,
    /// The time of the newest attempt judged so far.
    newest_judged: Option<Timestamp>,
    /// Times dropped by the count bound while within the window of the newest attempt judged
    /// (or newer): an attempt judged later may have counted them.
    dropped: u64,
}

impl RetryTimes {
    /// An attempt from `client` to `server` at `time` arrived (it is judged later).
    pub(super) fn add(&mut self, client: IpAddr, server: SocketAddr, time: Timestamp) {
        let times = self.by_pair.entry((client, server)).or_default();
        if times.len() >= MAX_RETRY_TIMES {
            times.pop_first();
        }
        *times.entry(time).or_default() += 1;
        self.order.push_back((time, (client, server)));
        while self.order.len() > MAX_TIMES {
            let (time, live) = self.drop_front();
            let counted_later = self
                .newest_judged
                .is_none_or(|newest| time.0.saturating_add(RETRY_WINDOW_NS) >= newest.0);
            self.dropped += u64::from(live && counted_later);
        }
    }

    /// The retries of an attempt from `client` to `server` at `time` being judged: the attempts
    /// of the pair within the window either way, itself included (at least 1). Times of the pair
    /// before the window are dropped, as no later attempt of it can count them; so are every
    /// pair's times too old for any attempt judged later (see the module's note). `visits`
    /// counts the times looked at.
    pub(super) fn retries(
        &mut self,
        client: IpAddr,
        server: SocketAddr,
        time: Timestamp,
        visits: &mut u64,
    ) -> usize {
        let newest = self.newest_judged.map_or(time, |t| t.max(time));
        self.newest_judged = Some(newest);
        self.forget_before(Timestamp(
            newest
                .0
                .saturating_sub(RETRY_WINDOW_NS)
                .saturating_sub(LOOK_BACK_NS),
        ));
        let key = (client, server);
        let Some(times) = self.by_pair.get_mut(&key) else {
            return 1;
        };
        let from = Timestamp(time.0.saturating_sub(RETRY_WINDOW_NS));
        let to = Timestamp(time.0.saturating_add(RETRY_WINDOW_NS));
        *times = times.split_off(&from);
        let mut n = 0;
        for (_, count) in times.range(from..=to) {
            *visits += 1;
            n += *count as usize;
        }
        if times.is_empty() {
            self.by_pair.remove(&key);
        }
        n.max(1)
    }

    /// Times dropped while an attempt judged later could still have counted them.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Times kept, for tests of the bound.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    /// Every time queued before `horizon` dropped (from the front: the queue is in the order
    /// the times came, which is close to their order; a late one waits behind a newer one).
    fn forget_before(&mut self, horizon: Timestamp) {
        while self.order.front().is_some_and(|(t, _)| *t < horizon) {
            self.drop_front();
        }
    }

    /// The oldest time queued, dropped from its pair; and whether the pair still held it
    /// (judging one of its attempts drops its times before the window).
    fn drop_front(&mut self) -> (Timestamp, bool) {
        let Some((time, pair)) = self.order.pop_front() else {
            return (Timestamp(i64::MIN), false);
        };
        let Entry::Occupied(mut times) = self.by_pair.entry(pair) else {
            return (time, false);
        };
        let Some(n) = times.get_mut().get_mut(&time) else {
            return (time, false);
        };
        *n -= 1;
        if *n == 0 {
            times.get_mut().remove(&time);
            if times.get().is_empty() {
                times.remove();
            }
        }
        (time, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;

    fn at(ns: i64) -> Timestamp {
        Timestamp(1_767_225_600 * SECOND + ns)
    }

    fn client(i: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000u32 + i))
    }

    fn server() -> SocketAddr {
        "10.255.0.1:80".parse().unwrap()
    }

    /// A slow SYN flood from distinct clients, each attempt judged as it comes: each pair's one
    /// time is forgotten once it is out of every later attempt's reach, so what is kept stays
    /// that of the last 90 s (30 s of window, 60 s of look-back), not the whole capture's.
    #[test]
    fn one_attempt_pairs_are_forgotten_once_no_later_attempt_can_count_them() {
        let mut t = RetryTimes::default();
        let mut visits = 0;
        let step = SECOND / 10;
        for i in 0..10_000 {
            t.add(client(i), server(), at(i64::from(i) * step));
            let n = t.retries(client(i), server(), at(i64::from(i) * step), &mut visits);
            assert_eq!(n, 1, "attempt {i} is its pair's only one");
        }
        assert!(t.len() <= 901, "{} times kept after 1,000 s", t.len());
        assert_eq!(t.dropped(), 0);
    }

    /// Retries within 30 s either way are counted whatever came between them, and none from
    /// before the window.
    #[test]
    fn a_pairs_retries_are_counted_across_other_pairs_attempts() {
        let mut t = RetryTimes::default();
        let mut visits = 0;
        let a = client(1);
        let mut other = 2;
        for s in [0, 10, 20, 45] {
            t.add(a, server(), at(s * SECOND));
            for _ in 0..1_000 {
                t.add(client(other), server(), at(s * SECOND + 1));
                other += 1;
            }
        }
        assert_eq!(t.retries(a, server(), at(20 * SECOND), &mut visits), 4);
        assert_eq!(t.retries(a, server(), at(45 * SECOND), &mut visits), 2);
        assert_eq!(t.dropped(), 0);
    }

    /// Past the bound the oldest times go first, and those still in reach are counted.
    #[test]
    fn past_the_bound_the_oldest_times_are_dropped_and_counted() {
        let mut t = RetryTimes::default();
        for i in 0..20_000 {
            t.add(client(i), server(), at(i64::from(i)));
        }
        assert_eq!(t.len(), MAX_TIMES);
        assert_eq!(t.dropped(), 20_000 - MAX_TIMES as u64);
        let mut visits = 0;
        assert_eq!(t.retries(client(0), server(), at(0), &mut visits), 1);
        assert_eq!(
            t.retries(client(19_999), server(), at(19_999), &mut visits),
            1
        );
    }
}
