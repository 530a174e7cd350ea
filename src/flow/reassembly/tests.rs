use super::*;
use proptest::prelude::*;

/// What came out, flattened: data bytes and gaps, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Data(Vec<u8>),
    Gap(u64),
}

#[derive(Default)]
struct Collect {
    got: Vec<Got>,
}

impl Collect {
    fn push(&mut self, c: Chunk<'_>) {
        match c {
            Chunk::Data { bytes, .. } => match self.got.last_mut() {
                Some(Got::Data(v)) => v.extend_from_slice(bytes),
                _ => self.got.push(Got::Data(bytes.to_vec())),
            },
            Chunk::Gap { len, .. } => self.got.push(Got::Gap(len)),
        }
    }
}

fn seg(seq: u32, payload: &[u8]) -> SegmentData<'_> {
    SegmentData {
        seq,
        payload,
        missing: 0,
        fin: false,
        after_peer: 0,
    }
}

fn feed(r: &mut Reassembler, c: &mut Collect, s: SegmentData<'_>) -> Disposition {
    r.segment(s, u64::MAX, Timestamp(1), &mut |ch| c.push(ch))
}

fn synced(isn: u32) -> Reassembler {
    let mut r = Reassembler::new(1 << 20);
    r.sync(isn.wrapping_add(1));
    r
}

#[test]
fn in_order_passes_through_borrowing_the_segment() {
    let mut r = synced(1000);
    let payload = b"GET / HTTP/1.1\r\n".to_vec();
    let mut seen = None;
    let d = r.segment(seg(1001, &payload), u64::MAX, Timestamp(7), &mut |c| {
        if let Chunk::Data { bytes, ts } = c {
            seen = Some((bytes.as_ptr(), bytes.len(), ts));
        }
    });
    assert_eq!(d, Disposition::InOrder);
    // Same address as the segment's payload: no copy.
    assert_eq!(seen, Some((payload.as_ptr(), payload.len(), Timestamp(7))));
    assert_eq!(r.position(), 16);
}

#[test]
fn reordered_segments_come_out_in_order() {
    let mut r = synced(0);
    let mut c = Collect::default();
    assert_eq!(
        feed(&mut r, &mut c, seg(7, b"ghi")),
        Disposition::OutOfOrder
    );
    assert_eq!(
        feed(&mut r, &mut c, seg(4, b"def")),
        Disposition::OutOfOrder
    );
    assert!(c.got.is_empty());
    assert_eq!(feed(&mut r, &mut c, seg(1, b"abc")), Disposition::InOrder);
    assert_eq!(c.got, vec![Got::Data(b"abcdefghi".to_vec())]);
    assert_eq!(r.held_cost(), 0);
}

/// A direction holds nothing until a segment is held out of order, and again once the hole is
/// filled (a connection then skips settling: `Conn::holds_nothing`).
#[test]
fn holds_nothing_until_a_segment_waits_and_again_once_delivered() {
    let mut r = synced(0);
    let mut c = Collect::default();
    assert!(r.holds_nothing());
    feed(&mut r, &mut c, seg(4, b"def"));
    assert!(!r.holds_nothing());
    assert!(!r.pump(u64::MAX, Timestamp(1), &mut |ch| c.push(ch)));
    feed(&mut r, &mut c, seg(1, b"abc"));
    assert!(r.holds_nothing());
    assert_eq!(r.waiting(u64::MAX), None);
}

#[test]
fn duplicates_are_dropped() {
    let mut r = synced(0);
    let mut c = Collect::default();
    feed(&mut r, &mut c, seg(1, b"abc"));
    assert_eq!(
        feed(&mut r, &mut c, seg(1, b"abc")),
        Disposition::Retransmission
    );
    feed(&mut r, &mut c, seg(9, b"xyz"));
    assert_eq!(
        feed(&mut r, &mut c, seg(9, b"xyz")),
        Disposition::Retransmission
    );
    feed(&mut r, &mut c, seg(4, b"defgh"));
    assert_eq!(c.got, vec![Got::Data(b"abcdefghxyz".to_vec())]);
}

#[test]
fn overlap_keeps_first_delivered_bytes() {
    let mut r = synced(0);
    let mut c = Collect::default();
    feed(&mut r, &mut c, seg(1, b"abcd"));
    // Retransmission covering 3 delivered bytes with different content, plus 2 new ones.
    assert_eq!(feed(&mut r, &mut c, seg(2, b"XXXef")), Disposition::InOrder);
    assert_eq!(c.got, vec![Got::Data(b"abcdef".to_vec())]);
}

#[test]
fn overlap_keeps_first_held_bytes() {
    let mut r = synced(0);
    let mut c = Collect::default();
    feed(&mut r, &mut c, seg(5, b"efgh"));
    feed(&mut r, &mut c, seg(3, b"YYYYYYij")); // covers held "efgh" with other bytes
    feed(&mut r, &mut c, seg(1, b"abZZ")); // "ZZ" overlaps the held "YY" at offsets 2..4
    assert_eq!(c.got, vec![Got::Data(b"abYYefghij".to_vec())]);
}

#[test]
fn lost_segment_becomes_a_gap_of_its_length_at_flush() {
    let mut r = synced(0);
    let mut c = Collect::default();
    feed(&mut r, &mut c, seg(1, b"abc"));
    feed(&mut r, &mut c, seg(14, b"xyz")); // 10 bytes lost
    r.flush(Timestamp(9), &mut |ch| c.push(ch));
    assert_eq!(
        c.got,
        vec![
            Got::Data(b"abc".to_vec()),
            Got::Gap(10),
            Got::Data(b"xyz".to_vec())
        ]
    );
    // Data after the gap continues the stream.
    feed(&mut r, &mut c, seg(17, b"!"));
    assert_eq!(c.got.last(), Some(&Got::Data(b"xyz!".to_vec())));
}

#[test]
fn hole_acknowledged_by_peer_is_skipped_after_the_grace() {
    let mut r = synced(0);
    let mut c = Collect::default();
    feed(&mut r, &mut c, seg(1, b"abc"));
    feed(&mut r, &mut c, seg(9, b"ijk")); // held at t=1
    r.ack(12, u64::MAX, Timestamp(2), &mut |ch| c.push(ch)); // peer has bytes 1..12: "defgh" were lost…
    assert_eq!(
        c.got,
        vec![Got::Data(b"abc".to_vec())],
        "…or the capture is late"
    );
    r.ack(12, u64::MAX, Timestamp(1 + ACK_GRACE_NS), &mut |ch| {
        c.push(ch)
    });
    assert_eq!(
        c.got,
        vec![
            Got::Data(b"abc".to_vec()),
            Got::Gap(5),
            Got::Data(b"ijk".to_vec())
        ]
    );
}

#[test]
fn ack_seen_before_the_data_it_covers_is_not_a_gap() {
    let mut r = synced(0);
    let mut c = Collect::default();
    feed(&mut r, &mut c, seg(1, b"abc"));
    r.ack(12, u64::MAX, Timestamp(1), &mut |ch| c.push(ch)); // the capture shows the ACK first
    feed(&mut r, &mut c, seg(9, b"ijk"));
    feed(&mut r, &mut c, seg(4, b"defgh"));
    assert_eq!(c.got, vec![Got::Data(b"abcdefghijk".to_vec())]);
}

#[test]
fn ack_beyond_the_last_byte_is_a_tail_gap_at_flush() {
    let mut r = synced(0);
    let mut c = Collect::default();
    feed(&mut r, &mut c, seg(1, b"abc"));
    r.ack(11, u64::MAX, Timestamp(2), &mut |ch| c.push(ch));
    assert_eq!(c.got, vec![Got::Data(b"abc".to_vec())]); // may still arrive
    r.flush(Timestamp(3), &mut |ch| c.push(ch));
    assert_eq!(c.got.last(), Some(&Got::Gap(7)));
}

#[test]
fn ack_of_fin_is_not_a_gap() {
    let mut r = synced(0);
    let mut c = Collect::default();
    let mut s = seg(1, b"abc");
    s.fin = true;
    feed(&mut r, &mut c, s);
    assert!(r.finished());
    r.ack(5, u64::MAX, Timestamp(2), &mut |ch| c.push(ch)); // abc + FIN
    r.flush(Timestamp(9), &mut |ch| c.push(ch));
    assert_eq!(c.got, vec![Got::Data(b"abc".to_vec())]);
}

#[test]
fn snaplen_cut_is_a_gap_of_missing_bytes() {
    let mut r = synced(0);
    let mut c = Collect::default();
    let mut s = seg(1, b"abcd");
    s.missing = 96;
    assert_eq!(feed(&mut r, &mut c, s), Disposition::InOrder);
    feed(&mut r, &mut c, seg(101, b"next"));
    assert_eq!(
        c.got,
        vec![
            Got::Data(b"abcd".to_vec()),
            Got::Gap(96),
            Got::Data(b"next".to_vec())
        ]
    );
}

#[test]
fn snaplen_cut_held_out_of_order_keeps_its_place() {
    let mut r = synced(0);
    let mut c = Collect::default();
    let mut s = seg(4, b"de");
    s.missing = 3;
    feed(&mut r, &mut c, s);
    feed(&mut r, &mut c, seg(9, b"ij"));
    feed(&mut r, &mut c, seg(1, b"abc"));
    assert_eq!(
        c.got,
        vec![
            Got::Data(b"abcde".to_vec()),
            Got::Gap(3),
            Got::Data(b"ij".to_vec())
        ]
    );
}

#[test]
fn sequence_numbers_wrap_at_2_pow_32() {
    let mut r = synced(u32::MAX - 1); // first byte at 2^32 - 1
    let mut c = Collect::default();
    feed(&mut r, &mut c, seg(2, b"defg")); // after the wrap, out of order
    feed(&mut r, &mut c, seg(u32::MAX, b"abc")); // 0xffffffff, 0, 1
    assert_eq!(c.got, vec![Got::Data(b"abcdefg".to_vec())]);
    assert_eq!(r.position(), 7);
    assert_eq!(
        feed(&mut r, &mut c, seg(u32::MAX, b"abc")),
        Disposition::Retransmission
    );
}

#[test]
fn over_budget_declares_the_oldest_hole() {
    let mut r = Reassembler::new(100);
    r.sync(1);
    let mut c = Collect::default();
    feed(&mut r, &mut c, seg(11, &[b'x'; 20]));
    assert!(c.got.is_empty());
    feed(&mut r, &mut c, seg(51, &[b'y'; 30])); // 20+30+2*64 > 100
    assert_eq!(c.got, vec![Got::Gap(10), Got::Data(vec![b'x'; 20])]);
    assert_eq!(r.held_cost(), 30 + ENTRY_COST, "back under the bound");
    r.flush(Timestamp(9), &mut |ch| c.push(ch));
    assert_eq!(c.got[2..], [Got::Gap(20), Got::Data(vec![b'y'; 30])]);
    assert_eq!(r.held_cost(), 0);
    // The skipped bytes arriving late are old news.
    assert_eq!(
        feed(&mut r, &mut c, seg(1, &[b'z'; 10])),
        Disposition::Retransmission
    );
}

#[test]
fn midstream_start_announces_unknown_gap_once() {
    let mut r = Reassembler::new(1 << 20);
    let mut c = Collect::default();
    assert_eq!(
        feed(&mut r, &mut c, seg(5000, b"")),
        Disposition::Empty,
        "a pure ACK does not set the origin"
    );
    assert!(!r.is_synced());
    feed(&mut r, &mut c, seg(777, b"HTTP/1.1 200"));
    feed(&mut r, &mut c, seg(789, b" OK"));
    assert_eq!(
        c.got,
        vec![Got::Gap(0), Got::Data(b"HTTP/1.1 200 OK".to_vec())]
    );
}

#[test]
fn far_future_segment_is_out_of_window() {
    let mut r = synced(0);
    let mut c = Collect::default();
    let far = 1u32.wrapping_add((MAX_AHEAD as u32) + 10);
    assert_eq!(
        feed(&mut r, &mut c, seg(far, b"x")),
        Disposition::OutOfWindow
    );
    assert_eq!(r.held_cost(), 0);
}

proptest! {
    /// Any cut of a stream into segments, shuffled and partly duplicated, comes out whole.
    #[test]
    fn shuffled_segments_rebuild_the_stream(
        stream in proptest::collection::vec(any::<u8>(), 1..3000),
        cuts in proptest::collection::vec(1usize..400, 1..40),
        isn in any::<u32>(),
        order in any::<u64>(),
        dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut pieces = Vec::new();
        let mut at = 0usize;
        for cut in cuts.iter().cycle() {
            if at >= stream.len() { break; }
            let end = (at + cut).min(stream.len());
            pieces.push((at, end));
            at = end;
        }
        for d in &dups {
            pieces.push(pieces[d.index(pieces.len())]);
        }
        // Deterministic shuffle from `order`.
        let mut state = order | 1;
        for i in (1..pieces.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            pieces.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let mut r = Reassembler::new(1 << 20);
        r.sync(isn.wrapping_add(1));
        let mut c = Collect::default();
        for (a, b) in pieces {
            let s = seg(isn.wrapping_add(1).wrapping_add(a as u32), &stream[a..b]);
            r.segment(s, u64::MAX, Timestamp(1), &mut |ch| c.push(ch));
        }
        r.flush(Timestamp(9), &mut |ch| c.push(ch));
        prop_assert_eq!(c.got, vec![Got::Data(stream)]);
    }

    /// Random segments never panic and never hold more than the bound (plus one segment).
    #[test]
    fn random_segments_stay_bounded(
        segs in proptest::collection::vec(
            (any::<u32>(), 0usize..200, any::<u32>(), any::<bool>(), any::<u32>()), 0..200),
        limit in 0usize..2000,
        start in any::<u32>(),
    ) {
        let mut r = Reassembler::new(limit);
        r.sync(start);
        let data = [7u8; 200];
        let mut delivered = 0u64;
        for (seq, len, missing, fin, ack) in segs {
            let near = if seq % 2 == 0 { start.wrapping_add(seq % 5000) } else { seq };
            let s = SegmentData { seq: near, payload: &data[..len], missing: missing % 3000, fin, after_peer: 0 };
            r.segment(s, u64::MAX, Timestamp(1), &mut |ch| if let Chunk::Data { bytes, .. } = ch {
                delivered += bytes.len() as u64;
            });
            prop_assert!(r.held_cost() <= limit);
            r.ack(if ack % 3 == 0 { start.wrapping_add(ack % 8000) } else { ack }, u64::MAX, Timestamp(2), &mut |_| {});
        }
        r.flush(Timestamp(9), &mut |_| {});
        prop_assert!(delivered <= r.position());
    }
}

#[test]
fn held_bytes_take_the_time_of_the_segment_that_completes_them() {
    let mut r = synced(0);
    let mut got = Vec::new();
    let mut push = |c: Chunk<'_>| {
        if let Chunk::Data { ts, bytes } = c {
            got.push((ts, bytes.to_vec()));
        }
    };
    r.segment(seg(4, b"def"), u64::MAX, Timestamp(5), &mut push);
    r.segment(seg(1, b"abc"), u64::MAX, Timestamp(6), &mut push);
    r.segment(seg(10, b"jkl"), u64::MAX, Timestamp(7), &mut push);
    r.flush(Timestamp(9), &mut push);
    assert_eq!(
        got,
        vec![
            (Timestamp(6), b"abc".to_vec()),
            (Timestamp(6), b"def".to_vec()),
            // Skipped to at the end: nothing completed it later than its own arrival.
            (Timestamp(7), b"jkl".to_vec()),
        ]
    );
}

#[test]
fn segment_straddling_a_midstream_origin_delivers_its_new_tail() {
    let mut r = Reassembler::new(1 << 20);
    let mut c = Collect::default();
    feed(&mut r, &mut c, seg(1000, b"cd")); // origin: 1000
    assert_eq!(
        feed(&mut r, &mut c, seg(998, b"ab")),
        Disposition::Retransmission,
        "wholly before the origin"
    );
    // A resegmented retransmission from before the origin, reaching past what was delivered.
    assert_eq!(
        feed(&mut r, &mut c, seg(998, b"abcdef")),
        Disposition::InOrder
    );
    assert_eq!(c.got, vec![Got::Gap(0), Got::Data(b"cdef".to_vec())]);
    let mut fin = seg(990, b"");
    fin.fin = true;
    feed(&mut r, &mut c, fin);
    assert!(
        !r.fin_seen(),
        "a FIN before the origin is not this stream's end"
    );
}

#[test]
fn bytes_acknowledging_unseen_peer_bytes_wait_for_them() {
    let mut r = synced(0);
    let mut c = Collect::default();
    let mut reply = seg(1, b"HTTP/1.1 200 OK");
    reply.after_peer = 40; // the peer's bytes up to offset 40 were received before this was sent
    assert_eq!(
        r.segment(reply, 25, Timestamp(3), &mut |ch| c.push(ch)),
        Disposition::OutOfOrder
    );
    assert!(c.got.is_empty());
    assert_eq!(r.waiting(25), Some((40, Timestamp(3))));
    assert!(!r.pump(39, Timestamp(4), &mut |ch| c.push(ch)));
    assert!(r.pump(40, Timestamp(5), &mut |ch| c.push(ch)));
    assert_eq!(c.got, vec![Got::Data(b"HTTP/1.1 200 OK".to_vec())]);
    assert_eq!(r.waiting(40), None);
}

#[test]
fn skip_to_turns_unseen_acknowledged_bytes_into_a_gap() {
    let mut r = synced(0);
    let mut c = Collect::default();
    feed(&mut r, &mut c, seg(1, b"abc"));
    feed(&mut r, &mut c, seg(7, b"ghi"));
    r.skip_to(12, u64::MAX, Timestamp(2), &mut |ch| c.push(ch));
    assert_eq!(
        c.got,
        vec![
            Got::Data(b"abc".to_vec()),
            Got::Gap(3),
            Got::Data(b"ghi".to_vec()),
            Got::Gap(3)
        ]
    );
    assert_eq!(r.position(), 12); // stream offsets, not sequence numbers
}
