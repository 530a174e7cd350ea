//! Compressed captures through the whole reader: the same items as the plain file, and a cut
//! stream read like a cut file.

use std::io::Write;

use super::super::writer::Pcap;
use super::{Got, both, drain, open, read_all};
use crate::source::SourceNote;

fn capture() -> Vec<u8> {
    let mut pcap = Pcap::new(false, false, 1);
    for i in 0..2000u32 {
        let data = format!("frame {i} {}", "x".repeat((i % 700) as usize));
        pcap = pcap.record(1000 + i / 100, i % 100, data.as_bytes(), 2000);
    }
    pcap.bytes
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn gzip_zstd_and_lz4_captures_give_the_plain_files_items() {
    let plain = capture();
    let want = read_all(plain.clone());
    assert_eq!(want.len(), 2000);
    let zstd = ruzstd::encoding::compress_to_vec(
        plain.as_slice(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let mut lz4 = lz4_flex::frame::FrameEncoder::new(Vec::new());
    lz4.write_all(&plain).unwrap();
    for packed in [gzip(&plain), zstd, lz4.finish().unwrap()] {
        let len = packed.len() as u64;
        // From memory, and from a file (decompressed as it is read, not mapped).
        for src in both(packed.clone()) {
            let mut src = src.expect("a capture");
            let format = src.compression().expect("compressed");
            assert!(drain(&mut src) == want, "{format:?}");
            assert_eq!(src.bytes_read(), len, "{format:?}: compressed bytes");
        }
    }
}

#[test]
fn cut_gzip_capture_yields_its_whole_records_then_a_truncation_with_the_reason() {
    let plain = capture();
    let packed = gzip(&plain);
    let cut = packed.len() / 2;
    let got = read_all(packed[..cut].to_vec());
    let (note, frames) = got.split_last().unwrap();
    assert!(frames.len() > 500, "{}", frames.len());
    assert!(read_all(plain).starts_with(frames));
    let Got::Note(SourceNote::Truncated { detail }) = note else {
        panic!("{note:?}")
    };
    assert!(
        detail.contains("of the decompressed gzip stream: the gzip stream is cut or corrupt")
            && detail.contains(&format!("after {cut} compressed bytes")),
        "{detail}"
    );
}

#[test]
fn compressed_file_that_is_not_a_capture_says_both() {
    let err = |bytes: Vec<u8>| match open(bytes) {
        Err(crate::source::SourceError::NotACapture { detail, .. }) => detail,
        other => panic!("expected NotACapture, got {:?}", other.map(|_| ())),
    };
    assert!(
        err(gzip(b"{\"Records\": []}"))
            .starts_with("gzip-compressed, and its content starts with bytes 7b 22"),
    );
    assert!(err(gzip(b"")).starts_with("gzip-compressed, and its content is empty"));
    let cut = err(vec![0x1F, 0x8B, 8, 0]);
    assert!(
        cut.contains("is empty (the gzip stream is cut or corrupt"),
        "{cut}"
    );
}
