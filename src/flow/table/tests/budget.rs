//! The byte budget (`FlowLimits::max_table_bytes`): a SYN costs the flow stage only, an opened
//! connection the later stages too, and what does not fit is evicted and counted.

use super::*;
use crate::flow::table::{OPENED_COST, TRACKING_COST};

const SHELL: usize = std::mem::size_of::<Conn>() + TRACKING_COST;
const OPEN: usize = SHELL + OPENED_COST;
// The held-starts test needs three of them to fit where two opened ones do.
const _: () = assert!(2 * SHELL <= OPEN);

fn budgeted(bytes: usize) -> H {
    H::with(FlowLimits {
        max_table_bytes: bytes,
        ..FlowLimits::default()
    })
}

fn port(p: u16) -> SocketAddr {
    SocketAddr::new(client().ip(), p)
}

#[test]
fn syns_are_charged_the_flow_stage_only() {
    let mut h = budgeted(4 * OPEN);
    for i in 0..40u16 {
        h.send(0, port(40_000 + i), server(), SYN, 100, 0, b"", 0);
    }
    // A newcomer needs room to open: the k-th fits while (k - 1) shells + one open fit.
    let fit = (4 * OPEN - OPEN) / SHELL + 1;
    assert!(fit > 4, "more SYNs fit than opened connections");
    assert_eq!(h.table.len(), fit);
    assert_eq!(h.table.charged_bytes(), fit * SHELL);
    let s = h.table.stats();
    assert_eq!(
        (s.evicted, s.evicted_for_memory),
        (40 - fit as u64, 40 - fit as u64)
    );
}

#[test]
fn opening_connections_evict_the_least_recent_beyond_the_budget() {
    let mut h = budgeted(3 * OPEN);
    for i in 0..6u16 {
        let (c, ts) = (port(40_000 + i), i64::from(i) * 10);
        h.send(ts, c, server(), SYN, 1000, 0, b"", 0);
        h.send(ts + 1, server(), c, SYNACK, 5000, 1001, b"", 0);
        h.send(ts + 2, c, server(), ACK, 1001, 5001, b"", 0);
    }
    assert_eq!(h.table.len(), 3);
    assert_eq!(h.table.charged_bytes(), 3 * OPEN);
    assert_eq!(h.table.stats().evicted_for_memory, 3);
    // The first three went, oldest first; the last three are still open.
    for id in 0..3 {
        assert!(
            h.events
                .contains(&Ev::Closed(ConnId(id), CloseReason::Evicted))
        );
    }
    assert!(
        !h.events
            .iter()
            .any(|e| matches!(e, Ev::Closed(ConnId(3..), _)))
    );
    h.table.finish(Timestamp(100), &mut |_| {});
    assert_eq!((h.table.charged_bytes(), h.table.tombstones()), (0, 0));
}

#[test]
fn held_starts_that_open_at_their_grace_are_shed_beyond_the_budget() {
    let mut h = budgeted(2 * OPEN);
    for i in 0..3u16 {
        h.send(
            i64::from(i),
            port(40_000 + i),
            server(),
            PSH,
            100,
            1,
            b"data",
            0,
        );
    }
    assert_eq!((h.table.len(), h.table.charged_bytes()), (3, 3 * SHELL));
    h.expire(3 + GRACE);
    // All three opened mid-stream; the least recent went to make the budget.
    assert_eq!((h.table.len(), h.table.charged_bytes()), (2, 2 * OPEN));
    assert_eq!(h.table.stats().evicted_for_memory, 1);
    assert!(
        h.events
            .contains(&Ev::Closed(ConnId(0), CloseReason::Evicted))
    );
}
