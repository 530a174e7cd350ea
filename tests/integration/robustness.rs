//! No panic on any byte sequence: random and mutated frames through decode → flow → proto → s3
//! → the judge (a small look-ahead, so early judgement is reached) → report rows through the
//! redactor and the JSON writer, starting from the real fixtures so mutations land in realistic
//! places.

use crate::harness::fixtures_dir;
use proptest::prelude::*;
use s3wire::app::engine::{Engine, Limits};
use s3wire::app::records::Fact;
use s3wire::flow::FlowLimits;
use s3wire::policy::{Endpoint, Judge, Judged, Origin, Policy};
use s3wire::proto::ProtoLimits;
use s3wire::report::fastjson::WriteJson;
use s3wire::report::rows::Redactor;
use s3wire::source::file::FileSource;
use s3wire::source::{Frame, FrameSource, LinkType, SourceItem};
use s3wire::time::Timestamp;

/// Frames of a real capture, owned.
fn frames(name: &str) -> Vec<(Timestamp, LinkType, Vec<u8>)> {
    let path = fixtures_dir().join("captures").join(name);
    let mut src = FileSource::open(&path).unwrap();
    let mut out = Vec::new();
    while let Ok(Some(item)) = src.next_item() {
        if let SourceItem::Frame(f) = item {
            out.push((f.ts, f.link, f.data.to_vec()));
        }
    }
    out
}

fn engine() -> Engine {
    let limits = Limits {
        // Small bounds so eviction and out-of-order limits are exercised too.
        flow: FlowLimits {
            max_connections: 8,
            max_out_of_order_bytes: 4096,
            ..FlowLimits::default()
        },
        proto: ProtoLimits::default(),
    };
    Engine::new(limits, s3wire::s3::HostHints::default())
}

fn run(frames: &[(Timestamp, LinkType, Vec<u8>)]) {
    let mut e = engine();
    let endpoint = Endpoint::parse("https://s3.local.test", Origin::Flag, "test").unwrap();
    let mut judge = Judge::new(Policy::new(vec![endpoint]), 4);
    let mut judged = Vec::new();
    for (ts, link, data) in frames {
        let frame = Frame {
            ts: *ts,
            link: *link,
            data,
            orig_len: data.len() as u32,
        };
        e.frame(&frame);
        judge_all(&mut e, &mut judge, &mut judged);
    }
    e.close_all();
    judge_all(&mut e, &mut judge, &mut judged);
    judge.finish(&mut judged);
    rows(&mut judged);
    let _ = e.finish();
}

fn judge_all(e: &mut Engine, judge: &mut Judge, judged: &mut Vec<Judged>) {
    for fact in e.drain() {
        match fact {
            Fact::Hello(h) => judge.tls(&h),
            Fact::Request(r) => judge.request(r, judged),
            Fact::Attempt(a) => judge.attempt(*a, judged),
            Fact::Session(_) => {}
            Fact::Exchange(_) => unreachable!("the records classify unless told not to"),
        }
    }
    rows(judged);
}

/// Every judged item as rows, written as JSON.
fn rows(judged: &mut Vec<Judged>) {
    let r = Redactor { on: true };
    let mut out = Vec::new();
    for j in judged.drain(..) {
        let findings = match j {
            Judged::Request(q, f) => {
                r.request(*q).write_json(&mut out);
                f
            }
            Judged::Attempt(_, a, f) => {
                let _ = r.attempt(&a);
                f.into_iter().map(|f| *f).collect()
            }
        };
        for f in findings {
            r.finding(f, s3wire::policy::Severity::Warning)
                .write_json(&mut out);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Flip bytes, cut frames short, drop and duplicate frames of a real capture.
    #[test]
    fn mutated_real_frames_never_panic(
        seed_flips in proptest::collection::vec((any::<usize>(), any::<usize>(), any::<u8>()), 0..200),
        cuts in proptest::collection::vec((any::<usize>(), any::<usize>()), 0..50),
        swaps in proptest::collection::vec((any::<usize>(), any::<usize>()), 0..50),
        which in 0usize..4,
    ) {
        let name = ["mixed.pcap", "boto3-plain.pcap", "mixed-any-sll2.pcap", "ipv6.pcap"][which];
        let mut fr = frames(name);
        let n = fr.len();
        for (i, j, b) in seed_flips {
            let data = &mut fr[i % n].2;
            if !data.is_empty() {
                let k = j % data.len();
                data[k] ^= b;
            }
        }
        for (i, len) in cuts {
            let data = &mut fr[i % n].2;
            let keep = len % (data.len() + 1);
            data.truncate(keep);
        }
        for (i, j) in swaps {
            fr.swap(i % n, j % n);
        }
        run(&fr);
    }

    /// Arbitrary bytes under every supported link type.
    #[test]
    fn random_frames_never_panic(
        frames in proptest::collection::vec((0usize..8, proptest::collection::vec(any::<u8>(), 0..200)), 1..100)
    ) {
        let links = [0u32, 1, 101, 108, 113, 228, 229, 276];
        let owned: Vec<_> = frames
            .into_iter()
            .enumerate()
            .map(|(i, (l, d))| (Timestamp(i as i64 * 1_000_000), LinkType(links[l]), d))
            .collect();
        run(&owned);
    }
}
