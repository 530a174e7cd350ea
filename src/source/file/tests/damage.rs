//! Damaged records and blocks: everything before them is read, a note says where, and reading
//! goes on at the next plausible record when there is one.

use proptest::prelude::*;

use super::super::writer::{Pcap, PcapNg};
use super::{A, B, Got, frame, read_all};
use crate::source::{LinkType, SourceNote};

const S: i64 = 1_000_000_000;

/// Five records a second apart with distinct payloads, as a capture would have them.
fn five() -> (Vec<u8>, Vec<usize>) {
    let mut pcap = Pcap::new(false, false, 1);
    let mut offsets = Vec::new();
    for i in 0..5u32 {
        offsets.push(pcap.bytes.len());
        let data = format!("frame number {i} of five");
        pcap = pcap.record(1000 + i, 10 * i, data.as_bytes(), 100);
    }
    (pcap.bytes, offsets)
}

fn frame_i(i: u32) -> Got {
    let data = format!("frame number {i} of five");
    frame(
        (1000 + i64::from(i)) * S + 10_000 * i64::from(i),
        LinkType::ETHERNET,
        data.as_bytes(),
        100,
    )
}

#[test]
fn legacy_record_claiming_4_gib_is_skipped_and_reading_goes_on() {
    let (mut bytes, at) = five();
    bytes[at[2] + 8..at[2] + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let skipped = at[3] - at[2];
    assert_eq!(
        read_all(bytes),
        vec![
            frame_i(0),
            frame_i(1),
            Got::Note(SourceNote::Damaged {
                detail: format!(
                    "packet record claims 4294967295 bytes, more than the 262144-byte limit at \
                     offset {}: skipped {skipped} bytes to the next plausible record at offset {}",
                    at[2], at[3]
                ),
                skipped: skipped as u64,
            }),
            frame_i(3),
            frame_i(4),
        ]
    );
}

#[test]
fn legacy_damage_with_nothing_plausible_after_it_ends_the_file_like_a_truncation() {
    let (mut bytes, at) = five();
    bytes[at[3] + 8..at[3] + 12].copy_from_slice(&0x4000_0000u32.to_le_bytes());
    bytes.truncate(at[4] + 10); // the last record is cut: nothing whole after the damage
    let got = read_all(bytes);
    assert_eq!(got[..3], [frame_i(0), frame_i(1), frame_i(2)]);
    assert_eq!(
        got[3..],
        [Got::Note(SourceNote::Truncated {
            detail: format!(
                "packet record claims 1073741824 bytes, more than the 262144-byte limit at \
                 offset {}: no plausible record in the {} bytes from there, so the rest of the \
                 input was not read",
                at[3],
                at[4] + 10 - at[3]
            )
        })]
    );
}

#[test]
fn pcapng_block_with_a_bad_length_is_skipped_and_reading_goes_on() {
    let file = PcapNg::new(false).idb(1, 0, None, None).epb(0, 1, A, 11);
    let damaged_at = file.bytes.len();
    let mut bytes = file.epb(0, 2, B, 22).epb(0, 3, A, 11).bytes;
    bytes[damaged_at + 4] = 0x31; // 56 → 49: not a multiple of 4
    assert_eq!(
        read_all(bytes),
        vec![
            frame(1_000, LinkType::ETHERNET, A, 11),
            Got::Note(SourceNote::Damaged {
                detail: format!(
                    "enhanced packet block with impossible length 49 at offset {damaged_at}: \
                     skipped 56 bytes to the next plausible record at offset {}",
                    damaged_at + 56
                ),
                skipped: 56,
            }),
            frame(3_000, LinkType::ETHERNET, A, 11),
        ]
    );
}

#[test]
fn pcapng_block_whose_end_length_disagrees_is_searched_past() {
    let file = PcapNg::new(false).idb(1, 0, None, None).epb(0, 1, A, 11);
    let damaged_at = file.bytes.len();
    let mut bytes = file.epb(0, 2, B, 22).epb(0, 3, A, 11).bytes;
    bytes[damaged_at + 4] = 60; // 56 → 60: the trailing length is 4 bytes earlier
    let got = read_all(bytes);
    assert_eq!(got[0], frame(1_000, LinkType::ETHERNET, A, 11));
    assert!(
        matches!(&got[1], Got::Note(SourceNote::Damaged { skipped: 56, .. })),
        "{got:?}"
    );
    assert_eq!(got[2..], [frame(3_000, LinkType::ETHERNET, A, 11)]);
}

#[test]
fn pcapng_packet_for_an_undeclared_interface_is_stepped_over() {
    let file = PcapNg::new(false).idb(1, 0, None, None).epb(0, 1, A, 11);
    let at = file.bytes.len();
    let bytes = file.epb(3, 2, B, 22).epb(0, 3, A, 11).bytes;
    assert_eq!(
        read_all(bytes),
        vec![
            frame(1_000, LinkType::ETHERNET, A, 11),
            Got::Note(SourceNote::Damaged {
                detail: format!(
                    "enhanced packet block: packet for interface 3, but the section describes \
                     1 interface(s) at offset {at}: skipped it, reading on at offset {}",
                    at + 56
                ),
                skipped: 56,
            }),
            frame(3_000, LinkType::ETHERNET, A, 11),
        ]
    );
}

proptest! {
    /// Whichever record's length is damaged, and to whatever absurd value, exactly that
    /// record is lost: the others all come out, in order, with one note between.
    #[test]
    fn one_damaged_legacy_length_loses_exactly_that_record(
        k in 0usize..5,
        len in 262_145u32..,
    ) {
        let (mut bytes, at) = five();
        bytes[at[k] + 8..at[k] + 12].copy_from_slice(&len.to_le_bytes());
        let got = read_all(bytes);
        let frames: Vec<&Got> = got.iter().filter(|g| matches!(g, Got::Frame { .. })).collect();
        let want: Vec<Got> = (0..5u32).filter(|&i| i as usize != k).map(frame_i).collect();
        prop_assert_eq!(frames, want.iter().collect::<Vec<_>>());
        let notes = got.len() - want.len();
        prop_assert_eq!(notes, 1);
    }
}
