//! `s3wire::s3::classify`: the input is `METHOD TARGET \0 hint hosts (comma separated) \0
//! headers (Name: value lines)`. Any request classifies to an operation or a non-empty reason.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3wire::proto::http::HttpRequest;
use s3wire::s3::HostHints;
use s3wire::time::Timestamp;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let [line, hints, headers] = s3wire_fuzz::fields::<3>(text);
    let (method, target) = line.split_once(' ').unwrap_or((line, ""));
    let req = HttpRequest {
        ts: Timestamp::ZERO,
        method: method.to_string().into(),
        target: target.to_string(),
        version: 1,
        headers: headers
            .lines()
            .map(|l| {
                let (name, value) = l.split_once(':').unwrap_or((l, ""));
                (name, value.trim())
            })
            .collect(),
        body_len: None,
        cut: None,
    };
    let hints = HostHints::new(
        hints
            .split(',')
            .filter(|h| !h.is_empty())
            .map(str::to_string),
    );
    let s3 = s3wire::s3::classify(&req, &hints);
    if let Err(unknown) = &s3.operation {
        assert!(!unknown.reason.is_empty(), "Unknown without a reason");
    }
});
