use super::*;
use proptest::prelude::*;

/// A piece of a row: text of its own, or an entry's.
#[derive(Debug, Clone)]
enum Piece {
    Text(Vec<u8>),
    Entry(u8, u64),
}

/// The text of an entry: the same for the same slot and version, different for another
/// version; slot 7's is longer than a `DEF` holds.
fn entry_text(slot: u8, version: u64) -> Vec<u8> {
    let mut t = format!("<{slot}:{version}>").into_bytes();
    let times = match slot {
        7 => 70_000 / t.len(),
        _ => 1 + (version % 4) as usize,
    };
    t = t.repeat(times);
    t
}

fn write_row<O: RowOut>(out: &mut O, row: &[Piece]) {
    for piece in row {
        match piece {
            Piece::Text(t) => out.text().put(t),
            Piece::Entry(slot, version) => {
                let text = match version {
                    0 => b"(not an entry)".to_vec(),
                    v => entry_text(*slot, *v),
                };
                out.entry(Entry::new(*slot, *version), |t| t.put(&text));
            }
        }
    }
}

/// A frame's operations, unpacked (with its head checked: its length, and a bound on its
/// text's).
fn unpacked(frame: &[u8]) -> Vec<u8> {
    let (head, ops) = frame.split_at(FRAME_HEAD);
    let word = |at: usize| u32::from_le_bytes(head[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!(word(0), ops.len());
    let mut out = Vec::new();
    unpack(ops, ops.len(), &mut out).unwrap();
    assert!(out.len() <= word(4), "{} > {}", out.len(), word(4));
    out
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Piece::Text),
        1 => (0u8..3).prop_map(|b| Piece::Text(vec![b'x' + b; 70_000])),
        6 => (0u8..8, 0u64..4).prop_map(|(slot, version)| Piece::Entry(slot, version)),
        1 => (0u8..SLOTS as u8, 1u64..3).prop_map(|(slot, version)| Piece::Entry(slot, version)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Rows packed into frames (a new frame after some of them) and unpacked are the rows
    /// written as text: entries referred to or defined again in a new frame or for a new
    /// version, texts and entries longer than a 16-bit length (made `RAW32`), empty ones.
    #[test]
    fn packed_rows_unpack_to_the_rows_written_as_text(
        rows in proptest::collection::vec(
            (proptest::collection::vec(piece(), 0..12), any::<bool>()),
            0..30,
        )
    ) {
        let (mut plain, mut packer, mut text) = (JsonBuf::new(), Packer::default(), Vec::new());
        for (row, end_frame) in &rows {
            write_row(&mut plain, row);
            write_row(&mut packer, row);
            if *end_frame {
                text.extend(unpacked(packer.frame()));
                packer.clear();
            }
        }
        text.extend(unpacked(packer.frame()));
        prop_assert_eq!(text, plain.as_bytes());
    }

    /// Any bytes: unpacked or refused, never a panic.
    #[test]
    fn unpack_takes_any_bytes(frame in proptest::collection::vec(any::<u8>(), 0..200), cut in 0usize..240) {
        let mut out = Vec::new();
        let _ = unpack(&frame, cut.min(frame.len()), &mut out);
        let _ = unpack(&frame, cut, &mut out);
    }
}

/// What a packer writes: an entry's text once, then one byte for it; text between them under
/// a header; a new frame defines its entries again.
#[test]
fn an_entry_is_written_once_a_frame() {
    let mut p = Packer::default();
    let row = [
        Piece::Entry(3, 1),
        Piece::Text(b"ab".to_vec()),
        Piece::Entry(3, 1),
    ];
    write_row(&mut p, &row);
    write_row(&mut p, &row);
    let t = entry_text(3, 1);
    let mut want = vec![DEF, 3, t.len() as u8, 0];
    want.extend(&t);
    want.extend([RAW16, 2, 0, b'a', b'b', 3, 3, RAW16, 2, 0, b'a', b'b', 3]);
    assert_eq!(&p.frame()[FRAME_HEAD..], want.as_slice());
    p.clear();
    write_row(&mut p, &row[..1]);
    assert_eq!(p.frame()[FRAME_HEAD], DEF, "a new frame defines it again");
}

#[test]
fn damaged_frames_are_refused() {
    let mut out = Vec::new();
    for (ops, why) in [
        (&[5][..], "an entry used before it was defined"),
        (&[0xF7][..], "an unknown operation"),
        (&[RAW16, 9, 0, b'a'][..], "a text past its end"),
        (&[RAW32, 1][..], "a header past its end"),
        (&[DEF, 1, 3, 0, b'a'][..], "a text past its end"),
    ] {
        let e = unpack(ops, ops.len(), &mut out).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains(why), "{e}");
    }
    let e = unpack(&[RAW16, 0, 0], 4, &mut out).unwrap_err();
    assert!(e.to_string().contains("shorter than its length"), "{e}");
    assert!(out.is_empty(), "nothing is written from a damaged frame");
}
