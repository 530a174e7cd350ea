//! FileSource over in-memory captures built with [`super::writer`], plus one real capture. Each
//! capture is read twice where it can be: from memory through a reader, and from a file on
//! disk, which is mapped ([`super::map`]); both must give the same items.

use std::io::{self, Read, Seek, Write};

use proptest::prelude::*;

mod compressed;
mod damage;
#[cfg(target_os = "linux")]
mod mapped;

use super::writer::{Pcap, PcapNg};
use super::{FileSource, MAX_BLOCK, Polled};
use crate::source::{FrameSource, LinkType, SourceError, SourceItem, SourceNote};
use crate::time::Timestamp;

/// An owned copy of what the source yielded, so tests compare whole sequences.
#[derive(Debug, PartialEq, Eq)]
enum Got {
    Frame {
        ts: Timestamp,
        link: LinkType,
        data: Vec<u8>,
        orig_len: u32,
    },
    Note(SourceNote),
    Error(String),
}

fn frame(ts: i64, link: LinkType, data: &[u8], orig_len: u32) -> Got {
    Got::Frame {
        ts: Timestamp(ts),
        link,
        data: data.to_vec(),
        orig_len,
    }
}

/// A reader handing out at most `step` bytes per call, like a pipe.
struct Chunked {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Chunked {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(out.len()).min(self.data.len() - self.at);
        out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn open(bytes: Vec<u8>) -> Result<FileSource, SourceError> {
    FileSource::from_reader("test.pcap".to_string(), Box::new(io::Cursor::new(bytes)))
}

/// The same bytes as a file on disk, opened the way a path is: mapped when it can be.
fn open_file(bytes: &[u8]) -> Result<FileSource, SourceError> {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(bytes).unwrap();
    file.rewind().unwrap();
    FileSource::from_file("test.pcap".to_string(), file)
}

/// A capture read from memory and from a file, which is mapped unless it is empty or
/// compressed (or maps do not exist here).
fn both(bytes: Vec<u8>) -> [Result<FileSource, SourceError>; 2] {
    let file = open_file(&bytes);
    if let Ok(src) = &file {
        let mappable = !bytes.is_empty()
            && super::compressed::Compression::from_magic(&bytes).is_none()
            && cfg!(target_os = "linux");
        assert_eq!(src.is_mapped(), mappable, "a file that can be is mapped");
    }
    [open(bytes), file]
}

/// Everything the source yields until `Ok(None)` (checked to stay `None`); an error ends it too.
/// Bounded, so a source that never ends fails the test instead of hanging it.
fn drain(src: &mut FileSource) -> Vec<Got> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        match src.next_item() {
            Ok(Some(SourceItem::Frame(f))) => out.push(Got::Frame {
                ts: f.ts,
                link: f.link,
                data: f.data.to_vec(),
                orig_len: f.orig_len,
            }),
            Ok(Some(SourceItem::Note(n))) => out.push(Got::Note(n)),
            Ok(None) => {
                assert!(matches!(src.next_item(), Ok(None)), "stays ended");
                return out;
            }
            Err(e) => {
                out.push(Got::Error(e.to_string()));
                assert!(matches!(src.next_item(), Ok(None)), "ends after an error");
                return out;
            }
        }
    }
    panic!("source did not end");
}

/// Every item, read from memory and from a mapped file (checked to be the same).
fn read_all(bytes: Vec<u8>) -> Vec<Got> {
    let [read, mapped] = both(bytes).map(|src| drain(&mut src.expect("a capture")));
    assert_eq!(read, mapped, "read and mapped");
    read
}

const A: &[u8] = b"first frame";
const B: &[u8] = b"second, a longer frame";

#[test]
fn legacy_little_endian_microseconds() {
    let bytes = Pcap::new(false, false, 1)
        .record(1_700_000_000, 123_456, A, 60)
        .record(1_700_000_001, 999_999, B, B.len() as u32)
        .bytes;
    let len = bytes.len() as u64;
    for src in both(bytes) {
        let mut src = src.unwrap();
        assert_eq!(src.link_types(), vec![LinkType::ETHERNET]);
        assert_eq!(
            drain(&mut src),
            vec![
                frame(1_700_000_000_123_456_000, LinkType::ETHERNET, A, 60),
                frame(1_700_000_001_999_999_000, LinkType::ETHERNET, B, 22),
            ]
        );
        assert_eq!(src.bytes_read(), len);
    }
}

#[test]
fn legacy_big_endian_nanoseconds() {
    let bytes = Pcap::new(true, true, 113)
        .record(1_700_000_000, 987_654_321, A, 1514)
        .bytes;
    assert_eq!(&bytes[..4], &[0xA1, 0xB2, 0x3C, 0x4D]);
    assert_eq!(
        read_all(bytes),
        vec![frame(
            1_700_000_000_987_654_321,
            LinkType::LINUX_SLL,
            A,
            1514
        )]
    );
}

#[test]
fn legacy_little_endian_nanoseconds_and_fcs_bits_in_link_type() {
    // Bits 28-31 of the link type field give an FCS length (draft-ietf-opsawg-pcap §4).
    let bytes = Pcap::new(false, true, 0x1000_0000 | 1)
        .record(5, 7, A, 11)
        .bytes;
    assert_eq!(&bytes[..4], &[0x4D, 0x3C, 0xB2, 0xA1]);
    assert_eq!(
        read_all(bytes),
        vec![frame(5_000_000_007, LinkType::ETHERNET, A, 11)]
    );
}

#[test]
fn pcapng_interfaces_with_different_link_types_and_resolutions() {
    let bytes = PcapNg::new(false)
        .idb(1, 0, None, None) // Ethernet, default microseconds
        .idb(101, 0, Some(9), Some(1_000)) // RAW, nanoseconds, +1000 s
        .idb(276, 0, Some(0x84), None) // SLL2, 1/16 s units
        .epb(0, 1_700_000_000_123_456, A, 60)
        .epb(1, 1_700_000_000_987_654_321, B, 22)
        .epb(2, 16 * 5 + 3, A, 11)
        .epb(0, 1, B, 22)
        .bytes;
    for src in both(bytes) {
        let mut src = src.unwrap();
        assert_eq!(
            drain(&mut src),
            vec![
                frame(1_700_000_000_123_456_000, LinkType::ETHERNET, A, 60),
                frame(
                    1_700_000_000_987_654_321 + 1_000_000_000_000,
                    LinkType::RAW,
                    B,
                    22
                ),
                frame(5_187_500_000, LinkType::LINUX_SLL2, A, 11),
                frame(1_000, LinkType::ETHERNET, B, 22),
            ]
        );
        assert_eq!(
            src.link_types(),
            vec![LinkType::ETHERNET, LinkType::RAW, LinkType::LINUX_SLL2]
        );
    }
}

#[test]
fn pcapng_sections_switch_byte_order_and_reset_interfaces() {
    let bytes = PcapNg::new(true)
        .idb(1, 0, Some(3), Some(-5))
        .epb(0, 7_250, A, 60)
        .shb(false)
        .idb(0, 0, None, None)
        .epb(0, 2_000_001, B, 22)
        .bytes;
    assert_eq!(&bytes[8..12], &[0x1A, 0x2B, 0x3C, 0x4D]);
    assert_eq!(
        read_all(bytes),
        vec![
            frame(2_250_000_000, LinkType::ETHERNET, A, 60),
            frame(2_000_001_000, LinkType::NULL, B, 22),
        ]
    );
}

#[test]
fn pcapng_simple_and_obsolete_packet_blocks() {
    let bytes = PcapNg::new(false)
        .idb(1, 4, None, None)
        .opb(0, 3_000_000, B, 40)
        .spb(A, 100) // snaplen 4 of interface 0 cuts it
        .bytes;
    assert_eq!(
        read_all(bytes),
        vec![
            frame(3_000_000_000, LinkType::ETHERNET, B, 40),
            // No timestamp in an SPB: the previous packet's.
            frame(3_000_000_000, LinkType::ETHERNET, &A[..4], 100),
        ]
    );
}

#[test]
fn decryption_secrets_block_yields_the_key_log() {
    let keylog = b"CLIENT_RANDOM 0102 0304\n";
    let bytes = PcapNg::new(false)
        .dsb(0x544C_534B, keylog)
        .dsb(0x5747_4B4C, b"wireguard keys")
        .block(0x0000_0BAD, vec![1, 2, 3, 4, 5, 6, 7, 8]) // custom block
        .block(0x0000_0004, vec![0xFF; 5]) // damaged name resolution block
        .idb(1, 0, None, None)
        .epb(0, 0, A, 11)
        .bytes;
    assert_eq!(
        read_all(bytes),
        vec![
            Got::Note(SourceNote::KeyLog(keylog.to_vec())),
            frame(0, LinkType::ETHERNET, A, 11),
        ]
    );
}

#[test]
fn truncated_legacy_file_yields_frames_then_a_note() {
    let whole = Pcap::new(false, false, 1)
        .record(1, 0, A, 11)
        .record(2, 0, B, 22)
        .bytes;
    let cut = whole[..whole.len() - 5].to_vec();
    assert_eq!(
        read_all(cut),
        vec![
            frame(1_000_000_000, LinkType::ETHERNET, A, 11),
            Got::Note(SourceNote::Truncated {
                detail: "file ends 33 bytes into a 38-byte packet record at offset 51".into()
            }),
        ]
    );
    let cut = whole[..24 + 27 + 7].to_vec();
    assert_eq!(
        read_all(cut)[1],
        Got::Note(SourceNote::Truncated {
            detail: "file ends 7 bytes into a 16-byte packet record header at offset 51".into()
        })
    );
}

#[test]
fn truncated_pcapng_file_yields_frames_then_a_note() {
    let whole = PcapNg::new(false)
        .idb(1, 0, None, None)
        .epb(0, 0, A, 11)
        .epb(0, 0, B, 22)
        .bytes;
    let second = whole.len() - 56;
    let got = read_all(whole[..whole.len() - 1].to_vec());
    assert_eq!(
        got,
        vec![
            frame(0, LinkType::ETHERNET, A, 11),
            Got::Note(SourceNote::Truncated {
                detail: format!(
                    "file ends 55 bytes into a 56-byte enhanced packet block at offset {second}"
                )
            }),
        ]
    );
    let got = read_all(whole[..second + 6].to_vec());
    assert_eq!(
        got[1],
        Got::Note(SourceNote::Truncated {
            detail: format!("file ends 6 bytes into a pcapng block header at offset {second}")
        })
    );
}

/// Polls a followed source until it has yielded `n` items (quiet spells in between are
/// waited out); bounded, so a source that never yields them fails the test.
fn poll_items(src: &mut FileSource, n: usize) -> Vec<Got> {
    let mut out = Vec::new();
    for _ in 0..2_000 {
        if out.len() == n {
            return out;
        }
        match src.poll() {
            Ok(Polled::Item(SourceItem::Frame(f))) => {
                out.push(frame(f.ts.0, f.link, f.data, f.orig_len))
            }
            Ok(Polled::Item(SourceItem::Note(note))) => out.push(Got::Note(note)),
            Ok(Polled::Idle) => {}
            Ok(Polled::End) => panic!("ended after {out:?}"),
            Err(e) => panic!("{e} after {out:?}"),
        }
    }
    panic!("only {out:?}");
}

/// Header, the first record and 5 bytes of the second: what `tcpdump -w -` has written so far.
fn followed_pipe() -> (Vec<u8>, FileSource, io::PipeWriter) {
    use std::io::Write;
    let whole = Pcap::new(false, false, 1)
        .record(1, 0, A, 11)
        .record(2, 0, B, 22)
        .bytes;
    let (reader, mut writer) = io::pipe().unwrap();
    writer.write_all(&whole[..24 + 27 + 5]).unwrap();
    let mut src = FileSource::from_reader("pipe".into(), Box::new(reader)).unwrap();
    src.follow(std::time::Duration::from_millis(10));
    (whole, src, writer)
}

#[test]
fn followed_pipe_yields_frames_as_written_idle_while_quiet_and_ends_when_closed() {
    use std::io::Write;
    let (whole, mut src, mut writer) = followed_pipe();
    let first = frame(1_000_000_000, LinkType::ETHERNET, A, 11);
    assert_eq!(poll_items(&mut src, 1), vec![first]);
    // Half a record header waits for the rest: neither an error nor the end.
    assert!(matches!(src.poll(), Ok(Polled::Idle)));
    assert!(matches!(src.poll(), Ok(Polled::Idle)));
    writer.write_all(&whole[24 + 27 + 5..]).unwrap();
    let second = frame(2_000_000_000, LinkType::ETHERNET, B, 22);
    assert_eq!(poll_items(&mut src, 1), vec![second]);
    drop(writer);
    let mut end = None;
    for _ in 0..2_000 {
        match src.poll() {
            Ok(Polled::Idle) => {}
            other => {
                end = Some(format!("{other:?}"));
                break;
            }
        }
    }
    assert_eq!(end.as_deref(), Some("Ok(End)"));
}

#[test]
fn cut_followed_pipe_yields_what_was_read_then_a_truncation_note() {
    let (_, mut src, _writer) = followed_pipe();
    assert_eq!(poll_items(&mut src, 1).len(), 1);
    assert!(matches!(src.poll(), Ok(Polled::Idle)));
    // The writer stays open: only the cut ends the input.
    src.cut();
    let note = Got::Note(SourceNote::Truncated {
        detail: "file ends 5 bytes into a 16-byte packet record header at offset 51".into(),
    });
    assert_eq!(poll_items(&mut src, 1), vec![note]);
    assert!(matches!(src.poll(), Ok(Polled::End)));
}

#[test]
fn not_a_capture_says_what_it_saw() {
    let err = |bytes: &[u8]| {
        let [read, mapped] = both(bytes.to_vec()).map(|src| match src {
            Err(SourceError::NotACapture { detail, .. }) => detail,
            other => panic!("expected NotACapture, got {:?}", other.map(|_| ())),
        });
        assert_eq!(read, mapped);
        read
    };
    assert_eq!(
        err(br#"{"Records": []}"#),
        "starts with bytes 7b 22 52 65 63 6f 72 64 … (text); expected pcap magic \
         a1b2c3d4/d4c3b2a1/a1b23c4d/4d3cb2a1 or pcapng 0a0d0d0a"
    );
    assert_eq!(err(b""), "the input is empty");
    assert!(err(&[0x0A, 0x0D, 0x0D, 0x0A, 28, 0, 0, 0, 1, 2, 3, 4]).contains("01 02 03 04"));
}

#[test]
fn header_cut_short_is_an_error() {
    let header = Pcap::new(false, false, 1).bytes;
    for src in both(header[..10].to_vec()) {
        match src {
            Err(SourceError::Malformed { detail, .. }) => {
                assert_eq!(
                    detail,
                    "file ends 10 bytes into the 24-byte pcap file header"
                )
            }
            other => panic!("unexpected {:?}", other.map(|_| ())),
        }
    }
}

#[test]
fn absurd_lengths_are_damage_not_allocations() {
    let mut bytes = Pcap::new(false, false, 1).record(1, 0, A, 11).bytes;
    bytes[24 + 8..24 + 12].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let got = read_all(bytes);
    assert!(
        matches!(&got[..], [Got::Note(SourceNote::Truncated { detail })]
            if detail.starts_with("packet record claims 4294967280 bytes, more than the \
                                   262144-byte limit at offset 24: no plausible record")),
        "{got:?}"
    );

    let mut bytes = PcapNg::new(false).idb(1, 0, None, None).bytes;
    bytes.extend_from_slice(&[6, 0, 0, 0, 30, 0, 0, 0]); // length not a multiple of 4
    bytes.extend_from_slice(&[0; 24]);
    let got = read_all(bytes);
    assert!(
        matches!(&got[..], [Got::Note(SourceNote::Truncated { detail })]
            if detail.contains("impossible length 30 at offset 52: no plausible record in the 32 bytes")),
        "{got:?}"
    );
}

#[test]
fn one_byte_reads_and_a_block_larger_than_the_buffer() {
    let big: Vec<u8> = (0..super::INITIAL_BUFFER + 4096).map(|i| i as u8).collect();
    let bytes = PcapNg::new(false)
        .idb(1, 0, None, None)
        .epb(0, 0, A, 11)
        .epb(0, 0, &big, big.len() as u32)
        .epb(0, 0, B, 22)
        .bytes;
    let small = PcapNg::new(false)
        .idb(1, 0, None, None)
        .epb(0, 0, A, 11)
        .bytes;
    let reader = Chunked {
        data: small,
        at: 0,
        step: 1,
    };
    let mut src = FileSource::from_reader("pipe".into(), Box::new(reader)).unwrap();
    assert_eq!(drain(&mut src), vec![frame(0, LinkType::ETHERNET, A, 11)]);
    let reader = Chunked {
        data: bytes,
        at: 0,
        step: 65_536,
    };
    let mut src = FileSource::from_reader("pipe".into(), Box::new(reader)).unwrap();
    let got = drain(&mut src);
    assert_eq!(got.len(), 3);
    assert_eq!(got[1], frame(0, LinkType::ETHERNET, &big, big.len() as u32));
    assert_eq!(got[2], frame(0, LinkType::ETHERNET, B, 22));
    assert!(big.len() < MAX_BLOCK);
}

/// `tcpdump -i any -y LINUX_SLL2 -w` on this machine while curl fetched a page from
/// `python3 -m http.server` on 127.0.0.1:18765; `tcpdump -r` lists 12 packets.
const REAL_SLL2: &[&str] = &[
    "d4c3b2a102000400000000000000000000000400140100003c4c0c6bb3f0060050000000500000000800000000000001",
    "0304000600000000000000004500003cab8f40004006912a7f0000017f000001956a494d57710f4800000000a002ffd7",
    "fe3000000204ffd70402080a75b6f390000000000103030a3c4c0c6bc6f0060050000000500000000800000000000001",
    "0304000600000000000000004500003c0000400040063cba7f0000017f000001494d956a3261c22a57710f49a012ffcb",
    "fe3000000204ffd70402080a75faa72275b6f3900103030a3c4c0c6bd8f0060048000000480000000800000000000001",
    "03040006000000000000000045000034ab904000400691317f0000017f000001956a494d57710f493261c22b80100040",
    "fe2800000101080a75b6f39075faa7223c4c0c6be2f20600a1000000a100000008000000000000010304000600000000",
    "000000004500008dab914000400690d77f0000017f000001956a494d57710f493261c22b80180040fe8100000101080a",
    "75b6f39175faa722474554202f696e6465782e68746d6c20485454502f312e310d0a486f73743a203132372e302e302e",
    "313a31383736350d0a557365722d4167656e743a206375726c2f372e38382e310d0a4163636570743a202a2f2a0d0a0d",
    "0a3c4c0c6beaf206004800000048000000080000000000000103040006000000000000000045000034ac064000400690",
    "bb7f0000017f000001494d956a3261c22b57710fa280100040fe2800000101080a75faa72375b6f3913c4c0c6b5d0007",
    "0000010000000100000800000000000001030400060000000000000000450000ecac074000400690027f0000017f0000",
    "01494d956a3261c22b57710fa280180040fee000000101080a75faa72675b6f391485454502f312e3020323030204f4b",
    "0d0a5365727665723a2053696d706c65485454502f302e3620507974686f6e2f332e31312e370d0a446174653a205375",
    "6e2c203239204e6f7620323032362031363a30313a303020474d540d0a436f6e74656e742d747970653a20746578742f",
    "68746d6c0d0a436f6e74656e742d4c656e6774683a20360d0a4c6173742d4d6f6469666965643a2053756e2c20323920",
    "4e6f7620323032362031363a30303a353720474d540d0a0d0a3c4c0c6b69000700480000004800000008000000000000",
    "0103040006000000000000000045000034ab9240004006912f7f0000017f000001956a494d57710fa23261c2e3801000",
    "40fe2800000101080a75b6f39475faa7263c4c0c6bb40007004e0000004e000000080000000000000103040006000000",
    "00000000004500003aac084000400690b37f0000017f000001494d956a3261c2e357710fa280180040fe2e0000010108",
    "0a75faa72675b6f39468656c6c6f0a3c4c0c6bb800070048000000480000000800000000000001030400060000000000",
    "00000045000034ab9340004006912e7f0000017f000001956a494d57710fa23261c2e980100040fe2800000101080a75",
    "b6f39475faa7263c4c0c6bd00007004800000048000000080000000000000103040006000000000000000045000034ab",
    "9440004006912d7f0000017f000001956a494d57710fa23261c2e980110040fe2800000101080a75b6f39475faa7263c",
    "4c0c6bb10307004800000048000000080000000000000103040006000000000000000045000034ac094000400690b87f",
    "0000017f000001494d956a3261c2e957710fa380110040fe2800000101080a75faa72775b6f3943c4c0c6bc003070048",
    "00000048000000080000000000000103040006000000000000000045000034ab9540004006912c7f0000017f00000195",
    "6a494d57710fa33261c2ea80100040fe2800000101080a75b6f39575faa727",
];

fn unhex(lines: &[&str]) -> Vec<u8> {
    let s: String = lines.concat();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn real_tcpdump_capture() {
    let got = read_all(unhex(REAL_SLL2));
    let lens: Vec<usize> = got
        .iter()
        .map(|g| match g {
            Got::Frame { link, data, .. } if *link == LinkType::LINUX_SLL2 => data.len(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(lens, [80, 80, 72, 161, 72, 256, 72, 78, 72, 72, 72, 72]);
    // tcpdump -tt: 1795968060.454835 for the SYN.
    assert!(
        matches!(&got[0], Got::Frame { ts, .. } if *ts == Timestamp(1_795_968_060_454_835_000))
    );
}

proptest! {
    /// Garbage after a valid header ends in frames, a note or an error — never a panic or a hang.
    #[test]
    fn garbage_never_panics_or_hangs(ng in any::<bool>(), body in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut bytes = if ng {
            PcapNg::new(false).idb(1, 0, None, None).bytes
        } else {
            Pcap::new(false, false, 1).bytes
        };
        bytes.extend_from_slice(&body);
        let _ = read_all(bytes);
    }

    /// Any cut of a valid file yields a prefix of its frames, then at most a truncation note.
    #[test]
    fn any_cut_yields_a_prefix(cut in 0usize..200) {
        let whole = PcapNg::new(false)
            .idb(1, 0, None, None)
            .epb(0, 0, A, 11)
            .epb(0, 0, B, 22)
            .bytes;
        let cut = cut.min(whole.len());
        for mut src in both(whole[..cut].to_vec()).into_iter().flatten() {
            let got = drain(&mut src);
            let frames = got.iter().filter(|g| matches!(g, Got::Frame { .. })).count();
            let notes = got.iter().filter(|g| matches!(g, Got::Note(SourceNote::Truncated { .. }))).count();
            prop_assert!(frames + notes == got.len() && notes <= 1);
            // Block boundaries: SHB 28, IDB 24, EPB 44, EPB 56 bytes.
            prop_assert_eq!(notes == 0, [28, 52, 96, 152].contains(&cut));
            prop_assert_eq!(frames, usize::from(cut >= 96) + usize::from(cut >= 152));
        }
    }
}
