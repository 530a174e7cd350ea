//! `s3wire::app::engine::Engine`: a capture as `frames` records (link type, time step, snaplen
//! flag, bytes; or a key log / truncation note), with the fixtures' key logs loaded → decode →
//! flow table and reassembly → proto (TLS decrypted) → s3 → request records, then the end of
//! input. Small flow bounds so eviction, out-of-order limits and expiry are reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3wire::app::engine::{Engine, Limits};
use s3wire::flow::FlowLimits;
use s3wire::proto::ProtoLimits;
use s3wire::s3::HostHints;
use s3wire::source::{Frame, SourceNote};
use s3wire::time::Timestamp;
use s3wire_fuzz::RecordKind;

fn limits() -> Limits {
    Limits {
        flow: FlowLimits {
            max_connections: 8,
            max_out_of_order_bytes: 4096,
            max_total_out_of_order_bytes: 16_384,
            idle_timeout_ns: 60_000_000_000,
            syn_timeout_ns: 3_000_000_000,
        },
        proto: ProtoLimits {
            max_header_bytes: 4096,
            max_pending_requests: 8,
            ..ProtoLimits::default()
        },
        max_requests: 16,
    }
}

fuzz_target!(|data: &[u8]| {
    let hints = HostHints::new(["s3.local.test".to_string()]);
    let mut engine = Engine::new(limits(), hints, true);
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
    }
    engine.tick(Timestamp(ts.0.saturating_add(120_000_000_000)));
    let (intake, _flows, records) = engine.finish();
    assert!(intake.packets <= data.len() as u64);
    let _ = records.operation_counts();
});
