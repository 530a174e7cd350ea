//! `s3wire::app::engine::Engine`: a capture as `frames` records (link type, time step, snaplen
//! flag, bytes; or a key log / truncation note), with the fixtures' key logs loaded → decode →
//! flow table and reassembly → proto (TLS decrypted) → s3 → typed facts → the streaming judge
//! (a small look-ahead window) → report rows through the redactor, then the end of input. Small
//! bounds so eviction, out-of-order limits, expiry and early judgement are reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3wire::app::engine::{Engine, Limits};
use s3wire::app::records::{Classifier, Fact};
use s3wire::flow::FlowLimits;
use s3wire::policy::{FailOn, Judge, Judged, Policy};
use s3wire::proto::ProtoLimits;
use s3wire::report::rows::Redactor;
use s3wire::s3::HostHints;
use s3wire::source::{Frame, SourceNote};
use s3wire::time::Timestamp;
use s3wire_fuzz::RecordKind;

fn limits() -> Limits {
    Limits {
        flow: FlowLimits {
            max_connections: 8,
            max_out_of_order_bytes: 4096,
            max_table_bytes: 64 << 10,
            idle_timeout_ns: 60_000_000_000,
            syn_timeout_ns: 3_000_000_000,
        },
        proto: ProtoLimits {
            max_header_bytes: 4096,
            max_pending_requests: 8,
            ..ProtoLimits::default()
        },
    }
}

/// Every fact drained into the judge, every judged item made into rows.
fn pump(engine: &mut Engine, judge: &mut Judge) {
    let mut judged = Vec::new();
    for fact in engine.drain() {
        match fact {
            Fact::Hello(h) => judge.tls(&h),
            Fact::Request(r) => judge.request(r, &mut judged),
            Fact::Attempt(a) => judge.attempt(*a, &mut judged),
            Fact::Session(_) => {}
            Fact::Exchange(_) => unreachable!("the records classify unless told not to"),
        }
    }
    rows(judged);
}

fn rows(judged: Vec<Judged>) {
    let redactor = Redactor { on: true };
    for j in judged {
        let findings = match j {
            Judged::Request(r, f) => {
                let _ = redactor.request(*r);
                f
            }
            Judged::Attempt(_, a, f) => {
                let _ = redactor.attempt(&a);
                f.into_iter().map(|f| *f).collect()
            }
        };
        for f in findings {
            let severity = FailOn::default().severity(f.kind);
            let _ = redactor.finding(f, severity);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let hints = HostHints::new(["s3.local.test".to_string()]);
    let mut engine = Engine::new(limits(), hints);
    let endpoint = s3wire::policy::Endpoint::parse(
        "https://s3.local.test",
        s3wire::policy::Origin::Flag,
        "fuzz",
    )
    .expect("a valid endpoint");
    let mut judge = Judge::new(Policy::new(vec![endpoint]), 8);
    engine.add_keylog(&s3wire_fuzz::FIXTURE_KEYLOGS.join("\n"), "fixtures");
    let mut ts = Timestamp::from_secs_nanos(1_764_000_000, 0);
    for f in s3wire_fuzz::frames(data) {
        ts = Timestamp(ts.0.saturating_add(i64::from(f.delta_ms) * 1_000_000));
        match f.kind {
            RecordKind::Frame => {}
            RecordKind::KeyLogNote => {
                engine.note(SourceNote::KeyLog(f.data.to_vec()));
                continue;
            }
            RecordKind::TruncatedNote => {
                engine.note(SourceNote::Truncated {
                    detail: "fuzz".to_string(),
                });
                continue;
            }
        }
        let extra = if f.truncated { 100 } else { 0 };
        engine.frame(&Frame {
            ts,
            link: f.link,
            data: f.data,
            orig_len: u32::try_from(f.data.len())
                .unwrap_or(u32::MAX)
                .saturating_add(extra),
        });
        pump(&mut engine, &mut judge);
    }
    engine.tick(Timestamp(ts.0.saturating_add(120_000_000_000)));
    engine.close_all();
    pump(&mut engine, &mut judge);
    let mut judged = Vec::new();
    judge.finish(&mut judged);
    rows(judged);
    let (intake, _flows, records) = engine.finish();
    assert!(intake.packets <= data.len() as u64);
    let _ = records
        .classifier()
        .operation_counts(&Classifier::new(HostHints::default()));
});
