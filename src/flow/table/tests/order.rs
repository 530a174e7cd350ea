//! Requests and responses reach `proto` in the order they happened, even when the capture shows
//! them out of order: bytes wait for the peer bytes their segment acknowledged.

use super::*;

/// Data events as runs per direction: the transcript proto sees.
pub(super) fn transcript(events: &[Ev]) -> Vec<(Direction, Vec<u8>)> {
    let mut runs: Vec<(Direction, Vec<u8>)> = Vec::new();
    for e in events {
        if let Ev::Data(_, dir, b) = e {
            match runs.last_mut() {
                Some((d, v)) if d == dir => v.extend_from_slice(b),
                _ => runs.push((*dir, b.clone())),
            }
        }
    }
    runs
}

#[test]
fn response_captured_before_its_request_is_delivered_after_it() {
    let mut h = H::new();
    h.handshake();
    // The request's second segment shows first, then the response (ACKing the whole request),
    // then the request's first segment: capture reordering.
    h.c(3, PSH, 1006, 5001, b" HTTP/1.1\r\n\r\n");
    h.s(4, PSH, 5001, 1019, b"HTTP/1.1 200 OK\r\n\r\n");
    assert!(
        transcript(&h.events).is_empty(),
        "the response waits for its request"
    );
    h.c(5, PSH, 1001, 5001, b"GET /");
    assert_eq!(
        transcript(&h.events),
        vec![
            (C2S, b"GET / HTTP/1.1\r\n\r\n".to_vec()),
            (S2C, b"HTTP/1.1 200 OK\r\n\r\n".to_vec()),
        ]
    );
}

#[test]
fn response_waiting_for_a_request_never_captured_goes_after_the_grace() {
    let mut h = H::new();
    h.handshake();
    h.s(3, PSH, 5001, 1020, b"HTTP/1.1 200 OK\r\n\r\n"); // ACKs 19 request bytes never seen
    assert!(transcript(&h.events).is_empty());
    h.c(
        3 + crate::flow::reassembly::ACK_GRACE_NS,
        ACK,
        1020,
        5020,
        b"",
    );
    let id = ConnId(0);
    assert_eq!(
        h.events[1..],
        [
            Ev::Gap(id, C2S, 19),
            Ev::Data(id, S2C, b"HTTP/1.1 200 OK\r\n\r\n".to_vec()),
        ]
    );
}

#[test]
fn at_close_a_waiting_response_still_follows_its_request_gap() {
    let mut h = H::new();
    h.handshake();
    h.c(3, PSH, 1001, 5001, b"GET /");
    // " HTTP/1.1\r\n\r\n" (13 bytes) escaped the capture; the response ACKs it.
    h.s(4, PSH, 5001, 1019, b"HTTP/1.1 200 OK\r\n\r\n");
    h.s(5, FIN, 5020, 1019, b"");
    h.c(6, FIN, 1019, 5021, b"");
    let id = ConnId(0);
    assert_eq!(
        h.events[1..],
        [
            Ev::Data(id, C2S, b"GET /".to_vec()),
            Ev::Gap(id, C2S, 13),
            Ev::Data(id, S2C, b"HTTP/1.1 200 OK\r\n\r\n".to_vec()),
            Ev::Closed(id, CloseReason::Fin),
        ]
    );
}
