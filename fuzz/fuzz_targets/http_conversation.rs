//! `s3wire::proto::Conversation`: a two-way byte stream in `chunks` records (client/server data
//! and gaps) → detection, HTTP/1.x parsing, CONNECT tunnels, TLS hellos. Then the connection
//! closes. Every chunk of input is fed; nothing may panic. The input's length chooses whether
//! responses keep their fields (the sanitizer's way) or not (the analysis's).
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3wire::proto::{Conversation, ProtoLimits};
use s3wire::time::Timestamp;
use s3wire_fuzz::Chunk;

fuzz_target!(|data: &[u8]| {
    let limits = ProtoLimits {
        keep_response_fields: data.len() % 2 == 0,
        ..ProtoLimits::default()
    };
    let mut conv = Conversation::new(limits);
    let mut out = Vec::new();
    let mut ts = Timestamp::from_secs_nanos(1_764_000_000, 0);
    for chunk in s3wire_fuzz::chunks(data) {
        ts = Timestamp(ts.0.saturating_add(1_000));
        match chunk {
            Chunk::Data(dir, bytes) => conv.on_data(dir, ts, bytes, &mut out),
            Chunk::Gap(dir, len) => conv.on_gap(dir, ts, len, &mut out),
        }
    }
    conv.on_close(ts, &mut out);
    let _ = (
        conv.protocol(),
        conv.tunnels(),
        conv.ignored_bytes(),
        conv.http_stats(),
    );
});
