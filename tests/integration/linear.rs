//! Work grows linearly with the capture, checked by counting work, not time: a real capture
//! replayed 16 and 128 times in a row (each copy later than the last, so its connections are
//! new ones) goes through the whole pipeline — engine, judge (with a look-ahead smaller than
//! the long run, so early judgement is exercised), rows through the redactor, the streaming JSON
//! writer — and the heap allocations and judge visits per request must be the same for both.
//! A scan over earlier requests (the quadratic of issue 9) makes the long run's ratio grow.

use crate::harness::fixtures_dir;
use s3wire::app::engine::{Engine, Limits};
use s3wire::app::records::Fact;
use s3wire::policy::{Endpoint, Judge, Judged, Origin, Policy};
use s3wire::report::ToolInfo;
use s3wire::report::rows::Redactor;
use s3wire::report::sink::{JsonSink, Sink};
use s3wire::source::file::FileSource;
use s3wire::source::{Frame, FrameSource, LinkType, SourceItem};
use s3wire::time::Timestamp;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts this thread's allocations (tests run in parallel: only our own thread's count).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counter is a
// thread-local `Cell` with a const initialiser, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn frames(name: &str) -> Vec<(Timestamp, LinkType, Vec<u8>)> {
    let mut src = FileSource::open(&fixtures_dir().join("captures").join(name)).unwrap();
    let mut out = Vec::new();
    while let Ok(Some(item)) = src.next_item() {
        if let SourceItem::Frame(f) = item {
            out.push((f.ts, f.link, f.data.to_vec()));
        }
    }
    out
}

/// (requests, allocations, judge visits) for `copies` replays of `frames`.
fn run(
    frames: &[(Timestamp, LinkType, Vec<u8>)],
    keys: Option<&str>,
    copies: i64,
) -> (u64, u64, u64) {
    let first = frames[0].0;
    let span = frames.last().unwrap().0.since(first) + 120_000_000_000;
    let endpoint = Endpoint::parse("https://s3.local.test", Origin::Flag, "test").unwrap();
    let mut engine = Engine::new(
        Limits::default_for_tests(),
        s3wire::s3::HostHints::default(),
    );
    if let Some(keys) = keys {
        engine.add_keylog(keys, "fixture");
    }
    let mut judge = Judge::new(Policy::new(vec![endpoint]), 1024);
    let tool = ToolInfo {
        version: "test".into(),
        command: vec![],
        redacted: true,
    };
    let mut sink = JsonSink::new(std::io::sink(), &tool).unwrap();
    let redactor = Redactor { on: true };
    let mut judged = Vec::new();
    let mut requests = 0;
    let mut write = |judged: &mut Vec<Judged>, sink: &mut JsonSink<_>| {
        for j in judged.drain(..) {
            if let Judged::Request(r, f) = j {
                requests += 1;
                sink.request(&redactor.request(*r)).unwrap();
                for f in f {
                    sink.finding(&redactor.finding(f, s3wire::policy::Severity::Error))
                        .unwrap();
                }
            }
        }
    };
    let pump = |engine: &mut Engine,
                judge: &mut Judge,
                judged: &mut Vec<Judged>,
                sink: &mut JsonSink<_>| {
        for fact in engine.drain() {
            match fact {
                Fact::Hello(h) => judge.tls(&h),
                Fact::Request(r) => judge.request(r, judged),
                Fact::Attempt(a) => judge.attempt(*a, judged),
                Fact::Session(t) => sink.tls(&t).unwrap(),
                Fact::Exchange(_) => unreachable!("the records classify unless told not to"),
            }
        }
    };
    let before = ALLOCATIONS.with(Cell::get);
    for k in 0..copies {
        for (ts, link, data) in frames {
            let frame = Frame {
                ts: Timestamp(ts.0 + k * span),
                link: *link,
                data,
                orig_len: data.len() as u32,
            };
            engine.frame(&frame);
            pump(&mut engine, &mut judge, &mut judged, &mut sink);
            write(&mut judged, &mut sink);
        }
    }
    engine.close_all();
    pump(&mut engine, &mut judge, &mut judged, &mut sink);
    judge.finish(&mut judged);
    write(&mut judged, &mut sink);
    let allocations = ALLOCATIONS.with(Cell::get) - before;
    (requests, allocations, judge.stats().visits)
}

#[test]
fn work_per_request_does_not_grow_with_the_capture() {
    // Plaintext requests with findings (the downgrade) and refused attempts with guesses.
    for name in [
        "downgrade-forwarded.pcap",
        "refused.pcap",
        "boto3-plain.pcap",
    ] {
        let fr = frames(name);
        let keys = std::fs::read_to_string(
            fixtures_dir()
                .join("captures")
                .join(name.replace(".pcap", ".keys")),
        )
        .ok();
        let (r1, a1, v1) = run(&fr, keys.as_deref(), 16);
        let (r8, a8, v8) = run(&fr, keys.as_deref(), 128);
        assert!(
            r1 > 0 && r8 == 8 * r1,
            "{name}: {r1} then {r8} requests judged"
        );
        let per = |n: u64, r: u64| n as f64 / r as f64;
        let (short, long) = (per(a1, r1), per(a8, r8));
        assert!(
            long <= short * 1.05,
            "{name}: {short:.1} allocations per request over {r1}, {long:.1} over {r8}"
        );
        let (short, long) = (per(v1, r1), per(v8, r8));
        assert!(
            long <= short * 1.05 + 0.5,
            "{name}: {short:.2} judge visits per request over {r1}, {long:.2} over {r8}"
        );
    }
}
