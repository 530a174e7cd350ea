//! The table over real captures (fixtures/, see fixtures/README.md for their provenance), read
//! through the real source and decode stages.

use super::*;
use crate::flow::{AttemptOutcome, Direction};
use crate::source::{FileSource, FrameSource, SourceItem};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

#[derive(Debug, Default)]
struct Seen {
    /// Per connection (by client address): the bytes of each direction, known gaps as `<gap N>`
    /// (the unknown-length gap of a mid-stream start is left out).
    streams: BTreeMap<(SocketAddr, bool), Vec<u8>>,
    clients: BTreeMap<ConnId, SocketAddr>,
    attempts: Vec<(AttemptOutcome, u32)>,
    /// Per connection (by client address): data as runs per direction, in delivery order (what
    /// proto pairs requests with responses by).
    transcript: BTreeMap<SocketAddr, Vec<(bool, Vec<u8>)>>,
    opened: u64,
    closed: u64,
}

fn run(name: &str) -> (Seen, FlowStats) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/captures")
        .join(name);
    let mut src = FileSource::open(&path).unwrap();
    let mut table = FlowTable::new(FlowLimits::default());
    let mut seen = Seen::default();
    let mut last = Timestamp::ZERO;
    let on = |seen: &mut Seen, e: StreamEvent<'_>| match e {
        StreamEvent::Opened { conn, client, .. } => {
            seen.opened += 1;
            seen.clients.insert(conn, client);
        }
        StreamEvent::Data {
            conn, dir, bytes, ..
        } => {
            let key = (seen.clients[&conn], dir == Direction::ClientToServer);
            seen.streams
                .entry(key)
                .or_default()
                .extend_from_slice(bytes);
            let runs = seen.transcript.entry(key.0).or_default();
            match runs.last_mut() {
                Some((c2s, run)) if *c2s == key.1 => run.extend_from_slice(bytes),
                _ => runs.push((key.1, bytes.to_vec())),
            }
        }
        StreamEvent::Gap { conn, dir, len, .. } => {
            let key = (seen.clients[&conn], dir == Direction::ClientToServer);
            let text = if len == 0 {
                String::new()
            } else {
                format!("<gap {len}>")
            };
            seen.streams
                .entry(key)
                .or_default()
                .extend_from_slice(text.as_bytes());
        }
        StreamEvent::Closed { .. } => seen.closed += 1,
        StreamEvent::Attempt(a) => seen.attempts.push((a.outcome, a.syns)),
    };
    while let Some(item) = src.next_item().unwrap() {
        let SourceItem::Frame(frame) = item else {
            continue;
        };
        last = frame.ts;
        if let Ok(seg) = crate::decode::decode(frame.link, frame.data) {
            table.ingest(&seg, frame.ts, &mut |e| on(&mut seen, e));
        }
    }
    table.finish(last, &mut |e| on(&mut seen, e));
    (seen, table.stats())
}

#[test]
fn refused_capture_has_three_refused_attempts() {
    let (seen, stats) = run("refused.pcap");
    let refused: Vec<_> = seen
        .attempts
        .iter()
        .filter(|a| a.0 == AttemptOutcome::Refused)
        .collect();
    assert_eq!(refused.len(), 3, "{:?}", seen.attempts);
    assert_eq!(seen.attempts.len(), 3);
    assert_eq!(
        (seen.opened, seen.closed),
        (stats.connections, stats.connections)
    );
    assert_eq!(stats.gaps, 0);
}

#[test]
fn reordered_capture_rebuilds_the_same_streams() {
    let (plain, plain_stats) = run("downgrade-forwarded.pcap");
    let (mixed, stats) = run("downgrade-forwarded-reordered.pcap");
    eprintln!("{plain_stats:?}\n{stats:?}");
    assert_eq!(plain_stats.gaps, 0);
    assert!(stats.out_of_order_segments > 0 && stats.retransmitted_segments > 0);
    assert_eq!(
        mixed.streams.keys().collect::<Vec<_>>(),
        plain.streams.keys().collect::<Vec<_>>()
    );
    for (k, v) in &plain.streams {
        assert!(mixed.streams[k] == *v, "{k:?} differs");
    }
    assert_eq!(stats.gaps, 0);
    assert_eq!(
        mixed.transcript, plain.transcript,
        "requests and responses interleave the same"
    );
}

#[test]
fn botocore_retries_from_new_ports_are_separate_refused_attempts() {
    let (seen, stats) = run("downgrade-refused.pcap");
    assert_eq!(seen.attempts.len(), 21, "{:?}", seen.attempts);
    assert!(seen.attempts.iter().all(|a| a.0 == AttemptOutcome::Refused));
    assert_eq!((stats.connections, seen.opened), (0, 0));
}

#[test]
fn snaplen_96_capture_reports_truncated_segments_as_gaps() {
    let (seen, stats) = run("mixed-snaplen96.pcap");
    eprintln!("{stats:?}");
    assert!(stats.truncated_segments > 0);
    assert_eq!(
        stats.gaps, stats.truncated_segments,
        "one gap per cut segment"
    );
    assert_eq!(
        (seen.opened, seen.closed),
        (stats.connections, stats.connections)
    );
}

#[test]
fn capture_with_server_data_before_the_syn_rebuilds_the_same_streams() {
    // boto3-tls.pcap shuffled within windows of 6 (fixtures/gen/mangle.py): its first frame is
    // the server's first 1515 bytes, before the client's SYN.
    let (plain, plain_stats) = run("boto3-tls.pcap");
    let (mixed, stats) = run("boto3-tls-reordered.pcap");
    eprintln!("{plain_stats:?}\n{stats:?}");
    assert_eq!((plain_stats.gaps, plain_stats.midstream), (0, 0));
    assert_eq!(
        mixed.streams.keys().collect::<Vec<_>>(),
        plain.streams.keys().collect::<Vec<_>>()
    );
    for (k, v) in &plain.streams {
        assert!(mixed.streams[k] == *v, "{k:?} differs");
    }
    assert_eq!((stats.gaps, stats.gap_bytes, stats.midstream), (0, 0, 0));
    assert_eq!(stats.connections, plain_stats.connections);
    assert_eq!((stats.delayed_starts, stats.late_handshakes), (1, 1));
    let shape = |s: &Seen| -> Vec<(SocketAddr, Vec<(bool, usize)>)> {
        s.transcript
            .iter()
            .map(|(c, runs)| (*c, runs.iter().map(|(d, b)| (*d, b.len())).collect()))
            .collect()
    };
    assert_eq!(shape(&mixed), shape(&plain));
    assert_eq!(
        mixed.transcript, plain.transcript,
        "requests and responses interleave the same"
    );
    assert_eq!((mixed.opened, mixed.closed), (plain.opened, plain.closed));
}
