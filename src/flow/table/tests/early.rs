//! The start of a connection reordered by the capture: data before the handshake is held for a
//! late SYN / SYN-ACK (conn/early.rs), and opens mid-stream as before when none comes.

use super::*;

const REQ: &[u8] = b"GET /b/k HTTP/1.1\r\nHost: s3\r\n\r\n";
const RESP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

fn gaps(events: &[Ev]) -> usize {
    events.iter().filter(|e| matches!(e, Ev::Gap(..))).count()
}

#[test]
fn server_data_before_the_syn_joins_the_handshake() {
    let mut h = H::new();
    let req_end = 1001 + REQ.len() as u32;
    let resp_end = 5001 + RESP.len() as u32;
    // The order of boto3-tls-reordered.pcap's first frames.
    h.s(0, PSH, 5001, req_end, RESP); // the response, before everything
    h.c(1, SYN, 1000, 0, b"");
    h.c(2, ACK, 1001, 5001, b"");
    h.c(3, PSH, 1001, 5001, REQ);
    h.s(4, ACK, 5001, req_end, b"");
    h.s(5, SYNACK, 5000, 1001, b"");
    h.c(6, FIN, req_end, resp_end, b"");
    h.s(7, FIN, resp_end, req_end + 1, b"");
    let id = ConnId(0);
    assert_eq!(
        h.events,
        vec![
            Ev::Opened(id, client(), server(), OpenedBy::Handshake),
            Ev::Data(id, C2S, REQ.to_vec()),
            Ev::Data(id, S2C, RESP.to_vec()),
            Ev::Closed(id, CloseReason::Fin),
        ]
    );
    let st = h.table.stats();
    assert_eq!((st.connections, st.midstream, st.gaps), (1, 0, 0), "{st:?}");
    assert_eq!((st.delayed_starts, st.late_handshakes), (1, 1));
    assert_eq!(h.table.held_bytes(), 0);
}

#[test]
fn client_data_before_a_syn_ack_seen_first_joins_it() {
    let mut h = H::new();
    h.c(0, PSH, 1001, 5001, &REQ[..10]);
    h.c(1, PSH, 1011, 5001, &REQ[10..]);
    assert!(h.events.is_empty());
    h.s(2, SYNACK, 5000, 1001, b""); // the client's SYN escaped the capture
    assert_eq!(
        h.events[0],
        Ev::Opened(ConnId(0), client(), server(), OpenedBy::Handshake)
    );
    assert_eq!(h.bytes(C2S), REQ);
    assert_eq!(gaps(&h.events), 0);
    assert_eq!(h.table.held_bytes(), 0);
}

#[test]
fn server_data_waits_until_the_handshake_says_where_its_stream_starts() {
    let mut h = H::new();
    h.s(0, PSH, 5001, 1001, b"220 ready\r\n");
    h.c(1, SYN, 1000, 0, b"");
    assert!(
        h.events.is_empty(),
        "the SYN does not tell the server's ISN"
    );
    h.s(2, SYNACK, 5000, 1001, b"");
    assert_eq!(
        h.events,
        vec![
            Ev::Opened(ConnId(0), client(), server(), OpenedBy::Handshake),
            Ev::Data(ConnId(0), S2C, b"220 ready\r\n".to_vec()),
        ]
    );
}

#[test]
fn a_syn_whose_numbers_disagree_opens_the_held_data_midstream_first() {
    let mut h = H::new();
    h.c(0, PSH, 70_000, 3000, b"GET /");
    h.c(1, SYN, 5_000_000, 0, b""); // its data would start 4.9 MB past the held bytes
    let id = ConnId(0);
    assert_eq!(
        h.events,
        vec![
            Ev::Opened(id, client(), server(), OpenedBy::Midstream),
            Ev::Gap(id, C2S, 0),
            Ev::Data(id, C2S, b"GET /".to_vec()),
            Ev::Closed(id, CloseReason::Idle),
        ]
    );
    let st = h.table.stats();
    assert_eq!(
        (st.delayed_starts, st.late_handshakes, st.midstream),
        (1, 0, 1)
    );
    assert_eq!(h.table.len(), 1, "the SYN started its own connection");
}

#[test]
fn without_a_handshake_the_grace_ends_on_the_next_packet_of_any_connection() {
    let mut h = H::new();
    h.s(0, PSH, 70_000, 3000, b"HTTP/1.1 200 OK\r\n");
    h.s(GRACE - 1, PSH, 70_017, 3000, b"\r\n");
    assert!(h.events.is_empty());
    h.send(GRACE, addr("10.9.9.9:1234"), server(), ACK, 1, 1, b"", 0);
    let id = ConnId(0);
    assert_eq!(
        h.events,
        vec![
            Ev::Opened(id, client(), server(), OpenedBy::Midstream),
            Ev::Gap(id, S2C, 0),
            Ev::Data(id, S2C, b"HTTP/1.1 200 OK\r\n".to_vec()),
            Ev::Data(id, S2C, b"\r\n".to_vec()),
        ]
    );
    assert_eq!(h.table.stats().midstream, 1);
}

#[test]
fn a_rst_settles_a_held_start_as_before() {
    let mut h = H::new();
    h.c(0, PSH, 70_000, 3000, b"PUT");
    h.s(1, RSTACK, 3000, 70_003, b"");
    let id = ConnId(0);
    assert_eq!(
        h.events,
        vec![
            Ev::Opened(id, client(), server(), OpenedBy::Midstream),
            Ev::Gap(id, C2S, 0),
            Ev::Data(id, C2S, b"PUT".to_vec()),
            Ev::Closed(id, CloseReason::Rst),
        ]
    );
    assert!(h.table.is_empty());
}

#[test]
fn a_whole_connection_within_the_grace_then_its_last_ack_is_a_late_segment() {
    let mut h = H::new();
    h.c(0, PSH, 1001, 5001, b"GET");
    h.s(1, PSH, 5001, 1004, b"200");
    h.c(2, FIN, 1004, 5004, b"");
    h.s(3, FIN, 5004, 1005, b"");
    assert!(h.events.is_empty());
    h.c(GRACE, ACK, 1005, 5005, b""); // ends the grace; the connection is over before it
    let id = ConnId(0);
    assert_eq!(
        h.events[0],
        Ev::Opened(id, client(), server(), OpenedBy::Midstream)
    );
    assert_eq!(h.events.last(), Some(&Ev::Closed(id, CloseReason::Fin)));
    assert_eq!(
        (h.bytes(C2S), h.bytes(S2C)),
        (b"GET".to_vec(), b"200".to_vec())
    );
    let st = h.table.stats();
    assert_eq!((st.ignored_segments, st.connections), (1, 1));
    assert!(h.table.is_empty());
}

#[test]
fn over_the_segment_bound_the_held_start_opens_midstream_at_once() {
    let mut h = H::new();
    let n = crate::flow::conn::MAX_EARLY_SEGMENTS as u32;
    for i in 0..=n {
        h.c(i64::from(i), PSH, 100 + i, 1, b"x");
    }
    assert_eq!(
        h.events[0],
        Ev::Opened(ConnId(0), client(), server(), OpenedBy::Midstream)
    );
    assert_eq!(h.bytes(C2S), vec![b'x'; n as usize + 1]);
    assert_eq!(h.table.held_bytes(), 0);
}

#[test]
fn a_held_start_that_alone_holds_more_than_the_budget_leaves_it_opens_at_once() {
    use crate::flow::table::{OPENED_COST, TRACKING_COST};
    let held = 600 + crate::flow::reassembly::ENTRY_COST;
    let open = std::mem::size_of::<Conn>() + TRACKING_COST + OPENED_COST;
    let mut h = H::with(FlowLimits {
        max_table_bytes: open + held + held / 2,
        ..FlowLimits::default()
    });
    h.c(0, PSH, 1001, 5001, &[b'a'; 600]);
    assert_eq!(h.table.held_bytes(), held);
    assert!(h.events.is_empty(), "within the budget: still waiting");
    h.c(1, PSH, 1601, 5001, &[b'b'; 600]); // twice: over what the budget leaves it
    assert_eq!(
        h.events[0],
        Ev::Opened(ConnId(0), client(), server(), OpenedBy::Midstream)
    );
    assert_eq!(h.table.held_bytes(), 0);
    assert_eq!(h.bytes(C2S), [[b'a'; 600], [b'b'; 600]].concat());
    assert_eq!(h.table.stats().evicted, 0);
}

#[test]
fn server_data_after_the_syn_waits_for_the_syn_ack() {
    let mut h = H::new();
    h.c(0, SYN, 1000, 0, b"");
    h.s(1, PSH, 5012, 1001, b"world"); // its second segment first
    h.s(2, PSH, 5001, 1001, b"220 hello, ");
    assert!(
        h.events.is_empty(),
        "no SYN-ACK yet: where it starts is unknown"
    );
    h.s(3, SYNACK, 5000, 1001, b"");
    assert_eq!(
        h.events[0],
        Ev::Opened(ConnId(0), client(), server(), OpenedBy::Handshake)
    );
    assert_eq!(h.bytes(S2C), b"220 hello, world");
    assert_eq!(gaps(&h.events), 0);
    let st = h.table.stats();
    assert_eq!(
        (st.delayed_starts, st.late_handshakes, st.midstream),
        (1, 1, 0)
    );
}
