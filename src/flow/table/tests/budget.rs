//! The byte budget (`FlowLimits::max_table_bytes`): a SYN costs the flow stage only, an opened
//! connection the later stages too, and what does not fit is evicted and counted.

use super::*;
use crate::flow::table::{OPENED_COST, TRACKING_COST};

const SHELL: usize = std::mem::size_of::<Conn>() + TRACKING_COST;
const OPEN: usize = SHELL + OPENED_COST;
// The held-starts test needs three of them to fit where two opened ones do.
const _: () = assert!(2 * SHELL <= OPEN);
// Six handshakes and a newcomer's room fit where three connections with data do.
const _: () = assert!(6 * SHELL + OPEN <= 3 * OPEN);

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
        h.send(ts + 2, c, server(), PSH, 1001, 5001, b"x", 0);
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
fn handshakes_without_data_cost_the_flow_stage_only_until_their_first_byte() {
    let mut h = budgeted(3 * OPEN);
    for i in 0..6u16 {
        let (c, ts) = (port(40_000 + i), i64::from(i) * 10);
        h.send(ts, c, server(), SYN, 1000, 0, b"", 0);
        h.send(ts + 1, server(), c, SYNACK, 5000, 1001, b"", 0);
        h.send(ts + 2, c, server(), ACK, 1001, 5001, b"", 0);
    }
    assert_eq!((h.table.len(), h.table.charged_bytes()), (6, 6 * SHELL));
    assert_eq!(h.table.stats().evicted, 0);
    h.send(100, port(40_005), server(), PSH, 1001, 5001, b"x", 0);
    assert_eq!(h.table.charged_bytes(), 5 * SHELL + OPEN);
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
    // Each is charged its held segment too.
    let early = 4 + crate::flow::reassembly::ENTRY_COST;
    assert_eq!(
        (h.table.len(), h.table.charged_bytes()),
        (3, 3 * (SHELL + early))
    );
    h.expire(3 + GRACE);
    // All three opened mid-stream; the least recent went to make the budget.
    assert_eq!((h.table.len(), h.table.charged_bytes()), (2, 2 * OPEN));
    assert_eq!(h.table.stats().evicted_for_memory, 1);
    assert!(
        h.events
            .contains(&Ev::Closed(ConnId(0), CloseReason::Evicted))
    );
}

/// What one connection holds out of order beside a hole (600 bytes and one piece's cost).
const HELD: usize = 600 + crate::flow::reassembly::ENTRY_COST;

#[test]
fn held_bytes_use_the_room_connections_leave_and_beyond_it_skip_their_holes() {
    let mut h = budgeted(2 * OPEN + HELD + HELD / 2);
    let other = addr("192.0.2.10:51001");
    h.send(0, client(), server(), PSH, 1, 1, b"a", 0);
    h.send(0, other, server(), PSH, 1, 1, b"a", 0);
    h.expire(GRACE); // both open mid-stream
    h.send(GRACE + 1, client(), server(), PSH, 11, 1, &[b'x'; 600], 0); // held
    assert_eq!(h.table.held_bytes(), HELD);
    assert_eq!(h.table.charged_bytes(), 2 * OPEN + HELD);
    h.send(GRACE + 2, other, server(), PSH, 21, 1, &[b'y'; 600], 0); // no room: released
    assert_eq!(
        h.events[h.events.len() - 2..],
        [
            Ev::Gap(ConnId(1), C2S, 19),
            Ev::Data(ConnId(1), C2S, vec![b'y'; 600]),
        ]
    );
    assert_eq!(h.table.held_bytes(), HELD);
    assert_eq!(h.table.charged_bytes(), 2 * OPEN + HELD);
    let s = h.table.stats();
    assert_eq!((s.out_of_order_released, s.evicted), (1, 0));
    h.finish(GRACE + 3);
    assert_eq!((h.table.held_bytes(), h.table.charged_bytes()), (0, 0));
    assert_eq!(h.bytes(C2S).len(), 2 + 1200);
}

#[test]
fn a_connection_that_alone_holds_more_than_the_budget_leaves_it_skips_its_holes() {
    let mut h = budgeted(OPEN + HELD + HELD / 2);
    h.send(0, client(), server(), PSH, 1, 1, b"a", 0);
    h.expire(GRACE);
    h.send(GRACE + 1, client(), server(), PSH, 11, 1, &[b'x'; 600], 0); // held: fits
    assert_eq!(h.table.held_bytes(), HELD);
    h.send(GRACE + 2, client(), server(), PSH, 1000, 1, &[b'y'; 600], 0); // 2 × HELD: over
    assert_eq!(
        h.events[h.events.len() - 4..],
        [
            Ev::Gap(ConnId(0), C2S, 9),
            Ev::Data(ConnId(0), C2S, vec![b'x'; 600]),
            Ev::Gap(ConnId(0), C2S, 1000 - 611),
            Ev::Data(ConnId(0), C2S, vec![b'y'; 600]),
        ]
    );
    assert_eq!(h.table.held_bytes(), 0);
    assert_eq!(h.table.charged_bytes(), OPEN);
    let s = h.table.stats();
    assert_eq!((s.out_of_order_released, s.evicted), (1, 0));
}
