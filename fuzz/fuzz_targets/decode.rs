//! `s3wire::decode::decode`: the first byte picks the link type (see `link_type`), the rest is the
//! frame. Decoding must never panic, and a segment's payload must lie inside the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((link, frame)) = data.split_first() else {
        return;
    };
    if let Ok(seg) = s3wire::decode::decode(s3wire_fuzz::link_type(*link), frame) {
        assert!(seg.payload.len() <= frame.len());
        let _ = (
            seg.src,
            seg.dst,
            seg.seq,
            seg.ack,
            seg.flags.syn(),
            seg.missing,
        );
    }
});
