//! `s3wire::source::file::FileSource::from_reader`: the input is a capture file (pcap, pcapng,
//! either byte order; compressed ones are the `decompress` target's). Every frame and note is
//! read to the end or the first error; a frame's captured bytes never exceed what an
//! uncompressed file held.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3wire::source::{FileSource, FrameSource, SourceItem};

fuzz_target!(|data: &[u8]| {
    let reader = Box::new(std::io::Cursor::new(data.to_vec()));
    let Ok(mut source) = FileSource::from_reader("fuzz".to_string(), reader) else {
        return;
    };
    let plain = source.compression().is_none();
    loop {
        match source.next_item() {
            Ok(Some(SourceItem::Frame(f))) => {
                assert!(!plain || f.data.len() <= data.len());
                let _ = s3wire::decode::decode(f.link, f.data);
            }
            Ok(Some(SourceItem::Note(_))) => {}
            Ok(None) | Err(_) => break,
        }
    }
    assert!(source.bytes_read() <= data.len() as u64);
    let _ = source.link_types();
});
