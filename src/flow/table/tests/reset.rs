//! A RST the capture shows before the connection's last bytes (conn/reset.rs).

use super::*;

#[test]
fn rst_before_the_last_data_waits_for_it() {
    let mut h = H::new();
    h.handshake();
    h.c(3, PSH, 1001, 5001, b"GET");
    h.s(4, PSH, 5001, 1004, b"200 ");
    h.s(5, FIN, 5009, 1004, b""); // after "body" (5005..5009), not captured yet
    h.c(6, RSTACK, 1004, 5010, b""); // the client had it all, FIN included
    assert!(
        !h.events.iter().any(|e| matches!(e, Ev::Closed(..))),
        "the RST waits for the bytes it acknowledges"
    );
    h.s(7, PSH, 5005, 1004, b"body");
    let id = ConnId(0);
    assert_eq!(h.bytes(S2C), b"200 body");
    assert_eq!(h.events.last(), Some(&Ev::Closed(id, CloseReason::Rst)));
    let st = h.table.stats();
    assert_eq!((st.gaps, st.ignored_segments), (0, 0));
    assert!(h.table.is_empty());
}

#[test]
fn rst_whose_bytes_never_come_closes_after_the_grace() {
    let mut h = H::new();
    h.handshake();
    h.c(3, PSH, 1001, 5001, b"GET");
    h.c(4, RSTACK, 1004, 5050, b""); // acknowledges 49 server bytes never captured
    h.s(5, ACK, 5001, 1004, b""); // still the same connection
    assert_eq!(h.table.len(), 1);
    h.send(
        4 + GRACE,
        addr("10.9.9.9:1234"),
        server(),
        ACK,
        1,
        1,
        b"",
        0,
    );
    let id = ConnId(0);
    assert_eq!(
        h.events,
        vec![
            Ev::Opened(id, client(), server(), OpenedBy::Handshake),
            Ev::Data(id, C2S, b"GET".to_vec()),
            Ev::Closed(id, CloseReason::Rst),
        ]
    );
    assert!(h.table.is_empty());
    assert_eq!(h.table.stats().gaps, 0, "the RST's word alone is no gap");
}

#[test]
fn a_lingering_connection_at_end_of_capture_closes_by_its_rst() {
    let mut h = H::new();
    h.handshake();
    h.s(3, RSTACK, 5001, 1010, b""); // the request (9 bytes) not captured yet
    h.finish(4);
    assert_eq!(
        h.events.last(),
        Some(&Ev::Closed(ConnId(0), CloseReason::Rst))
    );
}
