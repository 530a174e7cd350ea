use super::*;
use crate::decode::TcpFlags;
use crate::flow::{AttemptOutcome, Direction, OpenedBy};
use proptest::prelude::*;
use std::net::SocketAddr;

const SYN: u8 = TcpFlags::SYN;
const SYNACK: u8 = TcpFlags::SYN | TcpFlags::ACK;
const ACK: u8 = TcpFlags::ACK;
const PSH: u8 = TcpFlags::PSH | TcpFlags::ACK;
const FIN: u8 = TcpFlags::FIN | TcpFlags::ACK;
const RST: u8 = TcpFlags::RST;
const RSTACK: u8 = TcpFlags::RST | TcpFlags::ACK;
const SEC: i64 = 1_000_000_000;
/// How long a start without a handshake waits for a late one (conn/early.rs).
const GRACE: i64 = crate::flow::reassembly::ACK_GRACE_NS;

/// An owned copy of a [`StreamEvent`], for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Opened(ConnId, SocketAddr, SocketAddr, OpenedBy),
    Data(ConnId, Direction, Vec<u8>),
    Gap(ConnId, Direction, u64),
    Closed(ConnId, CloseReason),
    Attempt(AttemptOutcome, u32, SocketAddr, SocketAddr, Timestamp),
}

fn record(events: &mut Vec<Ev>, e: StreamEvent<'_>) {
    events.push(match e {
        StreamEvent::Opened {
            conn,
            client,
            server,
            by,
            ..
        } => Ev::Opened(conn, client, server, by),
        StreamEvent::Data {
            conn, dir, bytes, ..
        } => Ev::Data(conn, dir, bytes.to_vec()),
        StreamEvent::Gap { conn, dir, len, .. } => Ev::Gap(conn, dir, len),
        StreamEvent::Closed { conn, reason, .. } => Ev::Closed(conn, reason),
        StreamEvent::Attempt(a) => Ev::Attempt(a.outcome, a.syns, a.client, a.server, a.ts),
    });
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn client() -> SocketAddr {
    addr("192.0.2.10:51000")
}

fn server() -> SocketAddr {
    addr("198.51.100.7:80")
}

struct H {
    table: FlowTable,
    events: Vec<Ev>,
}

impl H {
    fn new() -> Self {
        H::with(FlowLimits::default())
    }

    fn with(limits: FlowLimits) -> Self {
        H {
            table: FlowTable::new(limits),
            events: Vec::new(),
        }
    }

    /// A segment from `from` to the other end of the default pair.
    #[allow(clippy::too_many_arguments)] // reason: a segment literal in one line per test step
    fn send(
        &mut self,
        ts: i64,
        src: SocketAddr,
        dst: SocketAddr,
        flags: u8,
        seq: u32,
        ack: u32,
        payload: &[u8],
        missing: u32,
    ) {
        let seg = Segment {
            src,
            dst,
            seq,
            ack,
            flags: TcpFlags(flags),
            payload,
            missing,
        };
        let events = &mut self.events;
        self.table
            .ingest(&seg, Timestamp(ts), &mut |e| record(events, e));
    }

    fn c(&mut self, ts: i64, flags: u8, seq: u32, ack: u32, payload: &[u8]) {
        self.send(ts, client(), server(), flags, seq, ack, payload, 0);
    }

    fn s(&mut self, ts: i64, flags: u8, seq: u32, ack: u32, payload: &[u8]) {
        self.send(ts, server(), client(), flags, seq, ack, payload, 0);
    }

    fn expire(&mut self, ts: i64) {
        let events = &mut self.events;
        self.table.expire(Timestamp(ts), &mut |e| record(events, e));
    }

    fn finish(&mut self, ts: i64) {
        let events = &mut self.events;
        self.table.finish(Timestamp(ts), &mut |e| record(events, e));
    }

    /// All Data bytes of one direction, concatenated.
    fn bytes(&self, dir: Direction) -> Vec<u8> {
        let mut v = Vec::new();
        for e in &self.events {
            if let Ev::Data(_, d, b) = e
                && *d == dir
            {
                v.extend_from_slice(b);
            }
        }
        v
    }

    /// SYN (ISN 1000) / SYN-ACK (ISN 5000) / ACK: client data starts at 1001, server's at 5001.
    fn handshake(&mut self) {
        self.c(0, SYN, 1000, 0, b"");
        self.s(1, SYNACK, 5000, 1001, b"");
        self.c(2, ACK, 1001, 5001, b"");
    }
}

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

#[test]
fn handshake_data_both_ways_and_fin() {
    let mut h = H::new();
    h.handshake();
    h.c(3, PSH, 1001, 5001, b"GET / HTTP/1.1\r\n\r\n");
    h.s(4, PSH, 5001, 1019, b"HTTP/1.1 200 OK\r\n\r\n");
    h.c(5, FIN, 1019, 5020, b"");
    h.s(6, FIN, 5020, 1020, b"");
    h.c(7, ACK, 1020, 5021, b""); // the last ACK: a late segment of a closed connection
    let id = ConnId(0);
    assert_eq!(
        h.events,
        vec![
            Ev::Opened(id, client(), server(), OpenedBy::Handshake),
            Ev::Data(id, C2S, b"GET / HTTP/1.1\r\n\r\n".to_vec()),
            Ev::Data(id, S2C, b"HTTP/1.1 200 OK\r\n\r\n".to_vec()),
            Ev::Closed(id, CloseReason::Fin),
        ]
    );
    let st = h.table.stats();
    assert_eq!(
        (st.connections, st.midstream, st.gaps, st.ignored_segments),
        (1, 0, 0, 1)
    );
    assert!(h.table.is_empty());
}

#[test]
fn syn_ack_seen_first_makes_its_receiver_the_client() {
    let mut h = H::new();
    h.s(1, SYNACK, 5000, 1001, b"");
    h.c(2, PSH, 1001, 5001, b"PUT");
    assert_eq!(
        h.events[0],
        Ev::Opened(ConnId(0), client(), server(), OpenedBy::Handshake)
    );
    assert_eq!(h.bytes(C2S), b"PUT");
}

#[test]
fn shuffled_segments_yield_the_exact_stream() {
    let body: Vec<u8> = (0..200u8).collect();
    let order = [3usize, 0, 4, 1, 2];
    let mut h = H::new();
    h.handshake();
    for i in order {
        let at = i * 40;
        h.c(
            10 + i as i64,
            PSH,
            1001 + at as u32,
            5001,
            &body[at..at + 40],
        );
    }
    assert_eq!(h.bytes(C2S), body);
    let st = h.table.stats();
    assert_eq!((st.out_of_order_segments, st.gaps), (2, 0));
}

#[test]
fn duplicates_are_dropped_and_counted() {
    let mut h = H::new();
    h.handshake();
    h.c(3, PSH, 1001, 5001, b"abc");
    h.c(4, PSH, 1001, 5001, b"abc");
    h.c(5, PSH, 1004, 5001, b"def");
    h.c(6, PSH, 1004, 5001, b"def");
    assert_eq!(h.bytes(C2S), b"abcdef");
    assert_eq!(h.table.stats().retransmitted_segments, 2);
}

#[test]
fn overlapping_retransmission_keeps_first_bytes() {
    let mut h = H::new();
    h.handshake();
    h.c(3, PSH, 1001, 5001, b"abcd");
    h.c(4, PSH, 1003, 5001, b"XYef");
    assert_eq!(h.bytes(C2S), b"abcdef");
}

#[test]
fn lost_segment_is_a_gap_of_its_length_then_data() {
    let mut h = H::new();
    h.handshake();
    h.c(3, PSH, 1001, 5001, b"abc");
    // 1004..1010 never captured; the server's ACK says it got them.
    h.c(5, PSH, 1010, 5001, b"jkl");
    h.s(6, ACK, 5001, 1013, b"");
    // Skipped once the bytes after the hole have waited out the reordering grace.
    h.c(
        5 + crate::flow::reassembly::ACK_GRACE_NS,
        PSH,
        1013,
        5001,
        b"mno",
    );
    let id = ConnId(0);
    assert_eq!(
        h.events[1..],
        [
            Ev::Data(id, C2S, b"abc".to_vec()),
            Ev::Gap(id, C2S, 6),
            Ev::Data(id, C2S, b"jkl".to_vec()),
            Ev::Data(id, C2S, b"mno".to_vec()),
        ]
    );
    let st = h.table.stats();
    assert_eq!((st.gaps, st.gap_bytes), (1, 6));
}

#[test]
fn hole_still_open_at_fin_is_a_gap() {
    let mut h = H::new();
    h.handshake();
    h.c(3, PSH, 1001, 5001, b"abc");
    h.c(4, FIN, 1010, 5001, b"jkl"); // 6 bytes lost before it
    h.s(5, FIN, 5001, 1004, b"");
    let id = ConnId(0);
    assert_eq!(
        h.events[2..],
        [
            Ev::Gap(id, C2S, 6),
            Ev::Data(id, C2S, b"jkl".to_vec()),
            Ev::Closed(id, CloseReason::Fin),
        ]
    );
}

#[test]
fn snaplen_cut_is_a_gap_of_missing_bytes() {
    let mut h = H::new();
    h.handshake();
    h.send(
        3,
        client(),
        server(),
        PSH,
        1001,
        5001,
        b"PUT /b/k HTTP/1.1",
        1400,
    );
    h.c(4, PSH, 1001 + 17 + 1400, 5001, b"next");
    let id = ConnId(0);
    assert_eq!(
        h.events[1..],
        [
            Ev::Data(id, C2S, b"PUT /b/k HTTP/1.1".to_vec()),
            Ev::Gap(id, C2S, 1400),
            Ev::Data(id, C2S, b"next".to_vec()),
        ]
    );
    assert_eq!(h.table.stats().truncated_segments, 1);
}

#[test]
fn sequence_wraps_at_2_pow_32() {
    let mut h = H::new();
    let isn = u32::MAX - 2;
    h.c(0, SYN, isn, 0, b"");
    h.s(1, SYNACK, 7, isn.wrapping_add(1), b"");
    h.c(2, ACK, isn.wrapping_add(1), 8, b"");
    h.c(4, PSH, 1, 8, b"cdef"); // after the wrap, first
    h.c(3, PSH, u32::MAX - 1, 8, b"ab\x00"); // 2^32-2, 2^32-1, 0
    assert_eq!(h.bytes(C2S), b"ab\x00cdef");
}

#[test]
fn syn_answered_by_rst_is_refused() {
    let mut h = H::new();
    h.c(10, SYN, 1000, 0, b"");
    h.s(11, RSTACK, 0, 1001, b"");
    assert_eq!(
        h.events,
        vec![Ev::Attempt(
            AttemptOutcome::Refused,
            1,
            client(),
            server(),
            Timestamp(10)
        )]
    );
    // Its retransmitted SYN is the same attempt; a new ISN is a retry, a new attempt.
    h.c(12, SYN, 1000, 0, b"");
    h.c(13, SYN, 9000, 0, b"");
    h.s(14, RSTACK, 0, 9001, b"");
    assert_eq!(
        h.events[1..],
        [Ev::Attempt(
            AttemptOutcome::Refused,
            1,
            client(),
            server(),
            Timestamp(13)
        )]
    );
    let st = h.table.stats();
    assert_eq!((st.attempts, st.connections), (2, 0));
}

#[test]
fn rst_not_acking_the_syn_is_ignored() {
    let mut h = H::new();
    h.c(10, SYN, 1000, 0, b"");
    h.s(11, RSTACK, 0, 77, b"");
    assert!(h.events.is_empty());
    assert_eq!(h.table.len(), 1);
}

#[test]
fn unanswered_syn_with_retransmission_times_out_once() {
    let mut h = H::new();
    h.c(0, SYN, 1000, 0, b"");
    h.c(SEC, SYN, 1000, 0, b"");
    h.expire(3 * SEC); // 2 s after the last SYN: not yet
    assert!(h.events.is_empty());
    h.expire(4 * SEC);
    assert_eq!(
        h.events,
        vec![Ev::Attempt(
            AttemptOutcome::Unanswered,
            2,
            client(),
            server(),
            Timestamp(0)
        )]
    );
    h.c(5 * SEC, SYN, 1000, 0, b""); // late retransmission: still the same attempt
    h.finish(6 * SEC);
    assert_eq!(h.events.len(), 1);
    assert!(h.table.syn_deadlines.is_empty());
}

#[test]
fn unanswered_at_end_of_capture() {
    let mut h = H::new();
    h.c(0, SYN, 1000, 0, b"");
    h.finish(1);
    assert_eq!(
        h.events,
        vec![Ev::Attempt(
            AttemptOutcome::Unanswered,
            1,
            client(),
            server(),
            Timestamp(0)
        )]
    );
}

#[test]
fn completed_handshake_without_data_is_no_attempt() {
    let mut h = H::new();
    h.handshake();
    h.c(3, RST, 1001, 0, b"");
    assert_eq!(
        h.events,
        vec![
            Ev::Opened(ConnId(0), client(), server(), OpenedBy::Handshake),
            Ev::Closed(ConnId(0), CloseReason::Rst)
        ]
    );
    assert_eq!(h.table.stats().attempts, 0);
}

#[test]
fn half_open_is_counted_without_events() {
    let mut h = H::new();
    h.c(0, SYN, 1000, 0, b"");
    h.s(1, SYNACK, 5000, 1001, b"");
    h.c(2, RST, 1001, 0, b"");
    assert!(h.events.is_empty());
    assert_eq!(h.table.stats().half_open, 1);
}

#[test]
fn midstream_response_first_guesses_the_client_by_port() {
    let mut h = H::new();
    h.s(0, PSH, 70_000, 3000, b"HTTP/1.1 200 OK\r\n");
    h.c(1, PSH, 3000, 70_017, b"GET /next HTTP/1.1\r\n");
    assert!(h.events.is_empty(), "held for a late handshake");
    h.expire(GRACE);
    let id = ConnId(0);
    assert_eq!(
        h.events,
        vec![
            Ev::Opened(id, client(), server(), OpenedBy::Midstream),
            Ev::Gap(id, S2C, 0),
            Ev::Data(id, S2C, b"HTTP/1.1 200 OK\r\n".to_vec()),
            Ev::Gap(id, C2S, 0),
            Ev::Data(id, C2S, b"GET /next HTTP/1.1\r\n".to_vec()),
        ]
    );
    let st = h.table.stats();
    assert_eq!((st.midstream, st.gaps), (1, 0));
}

#[test]
fn midstream_between_ephemeral_ports_first_speaker_is_client() {
    let mut h = H::new();
    let (a, b) = (addr("10.0.0.1:40000"), addr("10.0.0.2:45000"));
    h.send(0, b, a, ACK, 1, 1, b"", 0); // a bare ACK starts nothing
    h.send(1, b, a, PSH, 1, 1, b"hello", 0);
    h.expire(1 + GRACE);
    assert_eq!(
        h.events[0],
        Ev::Opened(ConnId(0), b, a, OpenedBy::Midstream)
    );
    assert_eq!(h.table.stats().ignored_segments, 1);
}

#[test]
fn late_segments_after_rst_do_not_start_a_connection() {
    let mut h = H::new();
    h.handshake();
    h.c(3, PSH, 1001, 5001, b"abc");
    h.s(4, RSTACK, 5001, 1004, b"");
    h.c(5, PSH, 1001, 5001, b"abc");
    assert_eq!(
        h.events.last(),
        Some(&Ev::Closed(ConnId(0), CloseReason::Rst))
    );
    assert_eq!(h.table.stats().connections, 1);
}

#[test]
fn least_recently_active_is_evicted_at_max_connections() {
    let mut h = H::with(FlowLimits {
        max_connections: 2,
        ..FlowLimits::default()
    });
    let srv = server();
    for (i, port) in [40001u16, 40002, 40001, 40003].into_iter().enumerate() {
        let c = SocketAddr::new(client().ip(), port);
        h.send(i as i64, c, srv, PSH, 100 + i as u32 * 10, 1, b"data", 0);
    }
    h.expire(3 + GRACE);
    // 40001 was touched after 40002, so 40002 (conn 1) goes.
    let at = |want: &Ev| h.events.iter().position(|e| e == want);
    let evicted = at(&Ev::Closed(ConnId(1), CloseReason::Evicted));
    let opened = at(&Ev::Opened(
        ConnId(2),
        SocketAddr::new(client().ip(), 40003),
        srv,
        OpenedBy::Midstream,
    ));
    assert!(
        evicted.is_some() && evicted < opened,
        "room is made before the new one opens"
    );
    assert!(
        !h.events
            .iter()
            .any(|e| matches!(e, Ev::Closed(ConnId(0), _)))
    );
    assert_eq!((h.table.len(), h.table.stats().evicted), (2, 1));
}

#[test]
fn idle_connections_expire_by_packet_time() {
    let mut h = H::with(FlowLimits {
        idle_timeout_ns: 10 * SEC,
        ..FlowLimits::default()
    });
    h.handshake();
    h.c(3, PSH, 1001, 5001, b"abc");
    h.send(9 * SEC, addr("10.9.9.9:1234"), server(), PSH, 1, 1, b"x", 0);
    assert!(!h.events.contains(&Ev::Closed(ConnId(0), CloseReason::Idle)));
    h.send(
        11 * SEC,
        addr("10.9.9.9:1234"),
        server(),
        PSH,
        2,
        1,
        b"y",
        0,
    );
    assert!(h.events.contains(&Ev::Closed(ConnId(0), CloseReason::Idle)));
    assert_eq!(h.table.len(), 1);
}

#[test]
fn fast_open_data_on_the_syn_is_a_connection() {
    let mut h = H::new();
    h.c(0, SYN, 1000, 0, b"GET /");
    h.c(1, SYN, 1000, 0, b"GET /"); // retransmitted with its data
    h.s(2, SYNACK, 5000, 1006, b"");
    h.c(3, PSH, 1006, 5001, b" HTTP/1.1");
    assert_eq!(
        h.events[0],
        Ev::Opened(ConnId(0), client(), server(), OpenedBy::Handshake)
    );
    assert_eq!(h.bytes(C2S), b"GET / HTTP/1.1");
    assert_eq!(h.table.stats().attempts, 0);
}

#[test]
fn new_isn_on_an_open_4_tuple_starts_a_new_connection() {
    let mut h = H::new();
    h.handshake();
    h.c(3, PSH, 1001, 5001, b"abc");
    h.c(4, SYN, 777_777, 0, b"");
    h.s(5, SYNACK, 9000, 777_778, b"");
    h.c(6, ACK, 777_778, 9001, b"");
    assert_eq!(
        h.events[2..],
        [
            Ev::Closed(ConnId(0), CloseReason::Idle),
            Ev::Opened(ConnId(1), client(), server(), OpenedBy::Handshake),
        ]
    );
}

mod budget;
mod early;
mod order;
mod props;
mod reset;
