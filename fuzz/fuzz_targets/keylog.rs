//! `s3wire::proto::tls::KeyLog::parse`: NSS key log text (SSLKEYLOGFILE). Malformed lines become
//! errors with a line number; no input may panic, and every parsed entry can be looked up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3wire::proto::tls::KeyLog;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (log, errors) = KeyLog::parse(text);
    assert!(errors.len() <= text.lines().count());
    let _ = log.get(&[0u8; 32]);
    // Lines appended later (a growing key log) go through `add`.
    let _ = log.add(text, 1_000);
    let _ = log.len();
});
