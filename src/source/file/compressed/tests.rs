//! The decompressing reader on data compressed by the same crates' encoders; real archives
//! made by `gzip`, `zstd` and `lz4` are checked by the integration tests (fixtures/compressed).

use super::*;
use std::io::Write;

fn sample() -> Vec<u8> {
    (0..300_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

/// 64 KiB blocks, so that a cut stream still has whole blocks before the cut.
fn lz4(data: &[u8]) -> Vec<u8> {
    use lz4_flex::frame::{BlockSize, FrameEncoder, FrameInfo};
    let info = FrameInfo::new().block_size(BlockSize::Max64KB);
    let mut enc = FrameEncoder::with_frame_info(info, Vec::new());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Everything the reader gives (it must not fail), and what it learnt.
fn read_all(input: Vec<u8>) -> (Vec<u8>, Option<Compressed>) {
    let (mut reader, compressed) = sniff(Box::new(Cursor::new(input))).unwrap();
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    (out, compressed)
}

#[test]
fn formats_are_told_by_their_magic_bytes() {
    assert_eq!(
        Compression::from_magic(&[0x1F, 0x8B, 8, 0]),
        Some(Compression::Gzip)
    );
    assert_eq!(
        Compression::from_magic(&[0x28, 0xB5, 0x2F, 0xFD]),
        Some(Compression::Zstd)
    );
    assert_eq!(
        Compression::from_magic(&[0x5E, 0x2A, 0x4D, 0x18]),
        Some(Compression::Zstd)
    );
    assert_eq!(
        Compression::from_magic(&[0x04, 0x22, 0x4D, 0x18]),
        Some(Compression::Lz4)
    );
    assert_eq!(
        Compression::from_magic(&[0xD4, 0xC3, 0xB2, 0xA1]),
        None,
        "pcap"
    );
    assert_eq!(
        Compression::from_magic(&[0x0A, 0x0D, 0x0D, 0x0A]),
        None,
        "pcapng"
    );
    assert_eq!(Compression::from_magic(&[0x1F]), None, "too short to tell");
}

#[test]
fn each_format_decompresses_to_the_original_and_counts_compressed_bytes() {
    let data = sample();
    for (format, packed) in [
        (Compression::Gzip, gzip(&data)),
        (Compression::Zstd, zstd(&data)),
        (Compression::Lz4, lz4(&data)),
    ] {
        let len = packed.len() as u64;
        let (out, compressed) = read_all(packed);
        let c = compressed.expect("compressed");
        assert_eq!(c.format, format);
        assert!(out == data, "{format:?}: {} bytes", out.len());
        assert_eq!(c.state.bytes_read(), len, "{format:?}");
        assert_eq!(c.state.damage(), None, "{format:?}");
    }
}

#[test]
fn uncompressed_input_is_given_back_whole() {
    let (out, compressed) = read_all(b"\xD4\xC3\xB2\xA1 a pcap".to_vec());
    assert_eq!(out, b"\xD4\xC3\xB2\xA1 a pcap");
    assert!(compressed.is_none());
    assert_eq!(read_all(b"ab".to_vec()).0, b"ab", "shorter than a magic");
}

#[test]
fn concatenated_members_and_frames_are_all_read() {
    let (a, b) = (b"first part, ".as_slice(), b"second part".as_slice());
    let whole = [a, b].concat();
    assert_eq!(
        read_all([gzip(a), gzip(b)].concat()).0,
        whole,
        "gzip members"
    );
    assert_eq!(read_all([lz4(a), lz4(b)].concat()).0, whole, "lz4 frames");
    // A zstd skippable frame (RFC 8878 §3.1.2) between two frames.
    let skippable = [&[0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0][..], b"xyz"].concat();
    let (out, c) = read_all([zstd(a), skippable, zstd(b)].concat());
    assert_eq!(out, whole, "zstd frames");
    assert_eq!(c.unwrap().state.damage(), None);
}

#[test]
fn a_cut_stream_ends_the_input_with_its_reason_kept() {
    let data = sample();
    for packed in [gzip(&data), zstd(&data), lz4(&data)] {
        let cut = packed.len() * 2 / 3;
        let (out, c) = read_all(packed[..cut].to_vec());
        let c = c.unwrap();
        assert!(!out.is_empty() && out.len() < data.len(), "{:?}", c.format);
        assert!(data.starts_with(&out), "{:?}: a prefix", c.format);
        let why = c.state.damage().expect("a reason");
        let start = format!(
            "the {} stream is cut or corrupt after {cut} compressed bytes",
            c.format.name()
        );
        assert!(why.starts_with(&start), "{why}");
        assert_eq!(c.state.damage(), None, "told once");
    }
}

/// A reader that gives `n` bytes, then fails as a disk would.
struct Failing(Cursor<Vec<u8>>, usize);

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.1 == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        let room = buf.len().min(self.1);
        let n = self.0.read(&mut buf[..room])?;
        self.1 -= n;
        Ok(n)
    }
}

#[test]
fn an_input_error_stays_an_error() {
    let packed = gzip(&sample());
    let (mut reader, c) = sniff(Box::new(Failing(Cursor::new(packed), 1000))).unwrap();
    let mut out = Vec::new();
    let err = reader.read_to_end(&mut out).unwrap_err();
    assert!(err.to_string().contains("disk on fire"), "{err}");
    assert_eq!(c.unwrap().state.damage(), None);
}

#[test]
fn a_zstd_window_over_the_limit_is_refused_not_allocated() {
    // Frame header (RFC 8878 §3.1.1.1): no single segment, window descriptor 0xA0 = 2^30 bytes.
    let frame = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0xA0, 0x01, 0x00, 0x00].to_vec();
    let (out, c) = read_all(frame);
    assert!(out.is_empty());
    let why = c.unwrap().state.damage().expect("a reason");
    assert!(
        why.contains("1073741824") && why.contains(&MAX_ZSTD_WINDOW.to_string()),
        "{why}"
    );
}
