//! Property tests of the table: random segments, shuffled exchanges, endless captures.

use super::order::transcript;
use super::*;

#[test]
fn endless_capture_keeps_memory_flat() {
    let mut h = H::with(FlowLimits {
        max_connections: 64,
        ..FlowLimits::default()
    });
    for i in 0..5000u32 {
        let c = SocketAddr::new(client().ip(), 1024 + (i % 60000) as u16);
        let ts = i64::from(i) * 1000;
        h.send(ts, c, server(), SYN, i, 0, b"", 0);
        if i % 3 == 0 {
            h.send(ts, c, server(), PSH, i + 1, 0, b"GET", 0);
        }
        h.events.clear();
        assert!(h.table.len() <= 64);
        assert!(h.table.tombstones() <= 64);
        assert!(h.table.syn_deadlines.len() <= 2 * 64 + 16);
        assert!(h.table.index.len() <= 64);
    }
}

/// Checks each connection's events come as Opened, Data/Gap…, Closed.
#[derive(Default)]
struct Order {
    /// Opened connections: closed yet?
    open: std::collections::HashMap<ConnId, bool>,
    bad: Option<String>,
}

impl Order {
    fn check(&mut self, e: StreamEvent<'_>) {
        let (conn, opening, closing) = match e {
            StreamEvent::Opened { conn, .. } => (conn, true, false),
            StreamEvent::Data { conn, .. } | StreamEvent::Gap { conn, .. } => (conn, false, false),
            StreamEvent::Closed { conn, .. } => (conn, false, true),
            StreamEvent::Attempt(_) => return,
        };
        let state = self.open.get(&conn).copied();
        let ok = match (opening, state) {
            (true, None) => true,
            (true, Some(_)) | (false, None) | (false, Some(true)) => false,
            (false, Some(false)) => true,
        };
        if !ok && self.bad.is_none() {
            self.bad = Some(format!("{conn:?}: unexpected event in state {state:?}"));
        }
        self.open.insert(conn, closing);
    }
}

proptest! {
    /// Random segments on a few 4-tuples never panic and never exceed the bounds.
    #[test]
    fn random_segments_never_panic(
        segs in proptest::collection::vec(
            (0u8..4, any::<bool>(), any::<u8>(), any::<u32>(), any::<u32>(), 0usize..100, 0u32..2000, 0i64..5_000_000_000),
            0..300),
    ) {
        let ends = [addr("10.0.0.1:50000"), addr("10.0.0.2:80"), addr("10.0.0.3:443"), addr("[::1]:9000")];
        let mut table = FlowTable::new(FlowLimits {
            max_connections: 3,
            max_out_of_order_bytes: 500,
            max_table_bytes: 16 << 10,
            idle_timeout_ns: 2_000_000_000,
            syn_timeout_ns: 1_000_000_000,
        });
        let data = [b'z'; 100];
        let mut ts = 0i64;
        let mut order = Order::default();
        for (pair, rev, flags, seq, ack, len, missing, dt) in segs {
            let (a, b) = (ends[usize::from(pair)], ends[(usize::from(pair) + 1) % 4]);
            let (src, dst) = if rev { (b, a) } else { (a, b) };
            let near = if seq % 3 == 0 { seq % 4096 } else { seq };
            ts += dt % 1_500_000_000;
            let seg = Segment { src, dst, seq: near, ack: ack % 8192, flags: TcpFlags(flags & 0x1f), payload: &data[..len], missing: missing % 300 };
            table.ingest(&seg, Timestamp(ts), &mut |e| order.check(e));
            prop_assert!(table.len() <= 3);
            // Each direction holds at most `max_out_of_order_bytes` (with its pieces' cost),
            // and held bytes are part of the connections' charge, within the table's budget.
            // There is no table-wide bound of held bytes of their own since 626de27: the 800
            // asserted here until then was that removed bound, which two connections holding
            // 594 + 207 passed (the seed in proptest-regressions).
            prop_assert!(table.held_bytes() <= table.len() * 2 * 500);
            prop_assert!(table.held_bytes() <= table.charged_bytes());
            prop_assert!(table.charged_bytes() <= 16 << 10);
        }
        table.finish(Timestamp(ts), &mut |e| order.check(e));
        prop_assert!(table.is_empty());
        prop_assert_eq!(order.bad, None);
        prop_assert!(order.open.values().all(|closed| *closed), "every Opened is Closed");
        prop_assert_eq!(table.held_bytes(), 0);
    }

    /// A real exchange cut anyhow and shuffled (after the handshake) arrives whole both ways.
    #[test]
    fn shuffled_exchange_rebuilds_both_streams(
        req in proptest::collection::vec(any::<u8>(), 1..1500),
        resp in proptest::collection::vec(any::<u8>(), 1..1500),
        cut in 1usize..300,
        isn_c in any::<u32>(),
        isn_s in any::<u32>(),
        seed in any::<u64>(),
    ) {
        let mut h = H::new();
        h.c(0, SYN, isn_c, 0, b"");
        h.s(1, SYNACK, isn_s, isn_c.wrapping_add(1), b"");
        let mut segs = Vec::new();
        for (from_client, stream, isn) in [(true, &req, isn_c), (false, &resp, isn_s)] {
            for at in (0..stream.len()).step_by(cut) {
                let end = (at + cut).min(stream.len());
                segs.push((from_client, isn.wrapping_add(1).wrapping_add(at as u32), stream[at..end].to_vec()));
            }
        }
        let mut state = seed | 1;
        for i in (1..segs.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            segs.swap(i, (state % (i as u64 + 1)) as usize);
        }
        for (i, (from_client, seq, bytes)) in segs.iter().enumerate() {
            let (src, dst) = if *from_client { (client(), server()) } else { (server(), client()) };
            // The server's segments ACK the whole request (it answers once it has it all).
            let ack = if *from_client { isn_s.wrapping_add(1) } else { isn_c.wrapping_add(1).wrapping_add(req.len() as u32) };
            h.send(2 + i as i64, src, dst, PSH, *seq, ack, bytes, 0);
        }
        prop_assert_eq!(
            transcript(&h.events),
            vec![(C2S, req.clone()), (S2C, resp.clone())],
            "the response never overtakes its request"
        );
        h.finish(10_000);
        prop_assert_eq!(h.bytes(C2S), req);
        prop_assert_eq!(h.bytes(S2C), resp);
        prop_assert_eq!(h.table.stats().gaps, 0);
    }
    /// The same exchange with its handshake shuffled in too (all within the delayed-start grace,
    /// at most 61 segments held, under its bound of 64): one connection opened by its handshake,
    /// both streams whole, no gap of any kind.
    #[test]
    fn shuffled_start_with_its_handshake_rebuilds_both_streams(
        req in proptest::collection::vec(any::<u8>(), 1..1500),
        resp in proptest::collection::vec(any::<u8>(), 1..1500),
        cut in 50usize..300,
        isn_c in any::<u32>(),
        isn_s in any::<u32>(),
        seed in any::<u64>(),
    ) {
        let (c0, s0) = (isn_c.wrapping_add(1), isn_s.wrapping_add(1));
        let req_end = c0.wrapping_add(req.len() as u32);
        // (from client, flags, seq, ack, bytes)
        let mut segs = vec![
            (true, SYN, isn_c, 0, Vec::new()),
            (false, SYNACK, isn_s, c0, Vec::new()),
            (true, ACK, c0, s0, Vec::new()),
        ];
        for (from_client, stream, first, ack) in [(true, &req, c0, s0), (false, &resp, s0, req_end)] {
            for at in (0..stream.len()).step_by(cut) {
                let end = (at + cut).min(stream.len());
                segs.push((from_client, PSH, first.wrapping_add(at as u32), ack, stream[at..end].to_vec()));
            }
        }
        let mut state = seed | 1;
        for i in (1..segs.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            segs.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let mut h = H::new();
        for (i, (from_client, flags, seq, ack, bytes)) in segs.iter().enumerate() {
            let (src, dst) = if *from_client { (client(), server()) } else { (server(), client()) };
            h.send(i as i64, src, dst, *flags, *seq, *ack, bytes, 0);
        }
        h.finish(10_000);
        prop_assert_eq!(
            transcript(&h.events),
            vec![(C2S, req.clone()), (S2C, resp.clone())]
        );
        prop_assert_eq!(&h.events[0], &Ev::Opened(ConnId(0), client(), server(), OpenedBy::Handshake));
        prop_assert!(!h.events.iter().any(|e| matches!(e, Ev::Gap(..))), "{:?}", h.table.stats());
        prop_assert_eq!((h.table.stats().connections, h.table.stats().midstream), (1, 0));
        prop_assert_eq!(h.table.held_bytes(), 0);
    }
}

/// What a table did: every event in full (times included), and its counters and sizes after.
fn run_table(table: &mut FlowTable, segs: &[(Segment<'_>, i64)]) -> (Vec<String>, String) {
    let mut events = Vec::new();
    let mut sizes = Vec::new();
    for (seg, ts) in segs {
        table.ingest(seg, Timestamp(*ts), &mut |e| events.push(format!("{e:?}")));
        sizes.push((
            table.len(),
            table.charged_bytes(),
            table.held_bytes(),
            table.tombstones(),
        ));
    }
    let end = segs.last().map_or(0, |s| s.1);
    table.finish(Timestamp(end), &mut |e| events.push(format!("{e:?}")));
    (events, format!("{:?} {sizes:?}", table.stats()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Segments of a few connections that mostly follow their streams (in order both ways,
    /// acknowledging what the peer sent, pure ACKs), with SYNs, FINs, RSTs, retransmissions,
    /// holes, cut payloads, ACKs of unsent bytes and missing ACK flags mixed in, and time
    /// running past grace and idle timeouts: the plain lane (`recent` and
    /// `Conn::on_plain_segment`) gives every event and counter the general path gives.
    #[test]
    fn plain_lane_is_the_general_path(
        isns in proptest::collection::vec(any::<u32>(), 6),
        steps in proptest::collection::vec(
            (0usize..3, any::<bool>(), 0u8..20, 0usize..60, 0i64..4, 0u32..3),
            0..300),
        tight in any::<bool>(),
    ) {
        let ends = [
            (addr("10.0.0.1:50000"), addr("10.0.0.2:80")),
            (addr("10.0.0.1:50001"), addr("10.0.0.2:80")),
            (addr("[::1]:50002"), addr("[::1]:9000")),
        ];
        let limits = FlowLimits {
            max_connections: 2,
            max_out_of_order_bytes: 500,
            max_table_bytes: if tight { 6 << 10 } else { 64 << 10 },
            idle_timeout_ns: 2_000_000_000,
            syn_timeout_ns: 1_000_000_000,
        };
        let data = [b'q'; 60];
        // The next sequence number each side sends, [pair][0 client, 1 server].
        let mut sent: Vec<[u32; 2]> = isns.chunks(2).map(|c| [c[0], c[1]]).collect();
        let mut segs = Vec::new();
        let mut ts = 0i64;
        for (pair, from_server, kind, len, dt, odd) in steps {
            let side = usize::from(from_server);
            let (mut src, mut dst) = ends[pair];
            if from_server {
                (src, dst) = (dst, src);
            }
            let (own, peer) = (sent[pair][side], sent[pair][1 - side]);
            let payload = &data[..len];
            // (flags, seq, ack, payload, missing, how far `own` moves)
            let (flags, seq, ack, payload, missing, moved) = match kind {
                0 => (SYN, own.wrapping_sub(1), 0, &data[..0], 0, 0),
                1 => (SYNACK, own.wrapping_sub(1), peer, &data[..0], 0, 0),
                2 => (FIN, own, peer, payload, 0, len as u32 + 1),
                3 => (if odd == 0 { RST } else { RSTACK }, own.wrapping_add(odd), peer, &data[..0], 0, 0),
                4 => (PSH, own, peer, payload, 7 * odd + 1, len as u32 + 7 * odd + 1),
                5 => (PSH, own.wrapping_sub(len as u32 + odd), peer, payload, 0, 0),
                6 => (PSH, own.wrapping_add(9 + odd), peer, payload, 0, len as u32 + 9 + odd),
                7 => (PSH, own, peer.wrapping_add(40 * odd + 1), payload, 0, len as u32),
                8 => (TcpFlags::PSH, own, 0, payload, 0, len as u32),
                9 => (ACK, own, peer.wrapping_sub(odd * 5), &data[..0], 0, 0),
                _ => (PSH, own, peer, payload, 0, len as u32),
            };
            sent[pair][side] = own.wrapping_add(moved);
            ts += [1_000, 50_000_000, 300_000_000, 2_500_000_000][dt as usize];
            segs.push((Segment { src, dst, seq, ack, flags: TcpFlags(flags), payload, missing }, ts));
        }
        let mut plain = FlowTable::new(limits);
        let mut general = FlowTable::new(limits);
        general.plain_lane = false;
        let (plain_events, plain_counts) = run_table(&mut plain, &segs);
        let (general_events, general_counts) = run_table(&mut general, &segs);
        prop_assert_eq!(plain_events, general_events);
        prop_assert_eq!(plain_counts, general_counts);
    }
}
