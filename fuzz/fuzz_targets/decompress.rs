//! `s3wire::source::file::compressed::sniff`, then `FileSource` over it: the input is a file that
//! may be gzip, zstd (with skippable frames) or lz4 compressed. Any stream gives bytes and then
//! an end (a cut or corrupt stream ends the input with its reason kept) or an I/O error, never a
//! panic; at most the input's own bytes are counted as read; and a decompression bomb costs
//! time, not memory (the output is read in 64 KiB steps and dropped, capped at 16 MiB per run).
#![no_main]

use std::io::{Cursor, Read};

use libfuzzer_sys::fuzz_target;
use s3wire::source::file::compressed::sniff;
use s3wire::source::{FileSource, FrameSource, SourceItem};

const MAX_OUT: usize = 16 << 20;

fuzz_target!(|data: &[u8]| {
    let Ok((mut reader, compressed)) = sniff(Box::new(Cursor::new(data.to_vec()))) else {
        return;
    };
    let mut buf = vec![0u8; 64 << 10];
    let mut out = 0;
    while out < MAX_OUT {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out += n,
        }
    }
    if let Some(c) = &compressed {
        assert!(c.state.bytes_read() <= data.len() as u64);
        let _ = c.state.damage();
    } else {
        assert_eq!(out, data.len(), "an uncompressed input is given back whole");
    }
    // The whole reader on the same bytes: a compressed capture, or not one.
    let reader = Box::new(Cursor::new(data.to_vec()));
    let Ok(mut source) = FileSource::from_reader("fuzz".to_string(), reader) else {
        return;
    };
    for _ in 0..100_000 {
        match source.next_item() {
            Ok(Some(SourceItem::Frame(f))) => assert!(f.data.len() <= MAX_OUT),
            Ok(Some(SourceItem::Note(_))) => {}
            Ok(None) | Err(_) => break,
        }
    }
    assert!(source.bytes_read() <= data.len() as u64);
});
