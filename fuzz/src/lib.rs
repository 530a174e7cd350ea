//! The input formats the fuzz targets read, and their encoders (used by the `seeds` binary to
//! turn the fixtures into seed corpora). Every decoder accepts any byte string: a format can
//! steer the fuzzer, never reject its input.

use s3wire::flow::Direction;
use s3wire::source::LinkType;

/// The link types `decode` knows, then one it does not (to reach `UnsupportedLink`).
const LINKS: [LinkType; 9] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
    LinkType(147),
];

/// The bundled captures' TLS key logs, so that seeds made from their sessions decrypt and
/// mutations reach record decryption and the HTTP parser behind it.
pub const FIXTURE_KEYLOGS: &[&str] = &[
    include_str!("../../fixtures/captures/awscli-mixed.keys"),
    include_str!("../../fixtures/captures/boto3-tls.keys"),
    include_str!("../../fixtures/captures/clean-https.keys"),
    include_str!("../../fixtures/captures/curl-chacha.keys"),
    include_str!("../../fixtures/captures/ipv6.keys"),
    include_str!("../../fixtures/captures/js-mixed.keys"),
    include_str!("../../fixtures/captures/mixed-any-sll.keys"),
    include_str!("../../fixtures/captures/mixed-any-sll2.keys"),
    include_str!("../../fixtures/captures/mixed-nano.keys"),
    include_str!("../../fixtures/captures/mixed-pcapng.keys"),
    include_str!("../../fixtures/captures/mixed-snaplen96.keys"),
    include_str!("../../fixtures/captures/mixed.keys"),
    include_str!("../../fixtures/captures/redirect-http.keys"),
    include_str!("../../fixtures/captures/refused.keys"),
    include_str!("../../fixtures/captures/s3cmd-virtual.keys"),
    include_str!("../../fixtures/captures/tls-port.keys"),
    include_str!("../../fixtures/captures/tls12.keys"),
    include_str!("../../fixtures/captures/openssl-cbc-sha.keys"),
    include_str!("../../fixtures/captures/openssl-cbc-sha256-no-etm.keys"),
    include_str!("../../fixtures/captures/openssl-cbc-sha384.keys"),
    include_str!("../../fixtures/captures/openssl-psk-chacha.keys"),
    include_str!("../../fixtures/captures/openssl-early-data.keys"),
    include_str!("../../fixtures/captures/openssl-early-data-rejected.keys"),
    include_str!("../../fixtures/captures/boto3-tls-session.keys"),
    include_str!("../../fixtures/captures/virtual.keys"),
];

/// A selector byte → a link type (`b % 9`).
pub fn link_type(b: u8) -> LinkType {
    LINKS[usize::from(b) % LINKS.len()]
}

/// The selector byte for a link type (the unknown one for links outside the table).
pub fn link_byte(link: LinkType) -> u8 {
    let i = LINKS
        .iter()
        .position(|l| *l == link)
        .unwrap_or(LINKS.len() - 1);
    u8::try_from(i).unwrap_or(0)
}

/// One step of a two-way byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk<'a> {
    Data(Direction, &'a [u8]),
    /// `len` bytes of that direction are missing (0: unknown).
    Gap(Direction, u64),
}

/// A conversation as bytes: records of `[ctl][len lo][len hi][len bytes]`; `ctl` bit 0 is the
/// direction (1 = server to client), bit 1 a gap of `len` bytes (no payload follows). A record
/// cut short by the end of the input keeps what there is.
pub fn chunks(mut data: &[u8]) -> Vec<Chunk<'_>> {
    let mut out = Vec::new();
    while let [ctl, rest @ ..] = data {
        let (len, rest) = match rest {
            [lo, hi, rest @ ..] => (usize::from(u16::from_le_bytes([*lo, *hi])), rest),
            _ => (rest.len(), &[][..]),
        };
        let dir = if ctl & 1 == 0 {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        if ctl & 2 != 0 {
            out.push(Chunk::Gap(dir, len as u64));
            data = rest;
            continue;
        }
        let (bytes, rest) = rest.split_at(len.min(rest.len()));
        out.push(Chunk::Data(dir, bytes));
        data = rest;
    }
    out
}

/// Encodes one data record of [`chunks`] (payloads over 64 KiB are split).
pub fn push_data(out: &mut Vec<u8>, dir: Direction, bytes: &[u8]) {
    for piece in bytes.chunks(usize::from(u16::MAX)) {
        let ctl = u8::from(dir == Direction::ServerToClient);
        out.push(ctl);
        out.extend_from_slice(&(piece.len() as u16).to_le_bytes());
        out.extend_from_slice(piece);
    }
}

/// What an `engine` record is: a frame, or one of the notes a source can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Frame,
    /// The bytes are key log text from a pcapng Decryption Secrets Block.
    KeyLogNote,
    /// The file ended inside a record (the bytes are ignored).
    TruncatedNote,
}

/// One captured frame of the `engine` format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuzzFrame<'a> {
    pub kind: RecordKind,
    pub link: LinkType,
    /// Milliseconds since the previous frame (0–255).
    pub delta_ms: u8,
    /// The frame was cut by a snaplen: its wire length is larger than `data`.
    pub truncated: bool,
    pub data: &'a [u8],
}

/// A capture as bytes: records of `[link][delta ms][flags][len lo][len hi][len bytes]`; `flags`
/// bit 0 marks a snaplen-cut frame, bit 1 makes the record a key log note, else bit 2 a
/// truncation note. A record cut short keeps what there is.
pub fn frames(mut data: &[u8]) -> Vec<FuzzFrame<'_>> {
    let mut out = Vec::new();
    while let [link, delta, flags, rest @ ..] = data {
        let (len, rest) = match rest {
            [lo, hi, rest @ ..] => (usize::from(u16::from_le_bytes([*lo, *hi])), rest),
            _ => (rest.len(), &[][..]),
        };
        let (bytes, rest) = rest.split_at(len.min(rest.len()));
        let kind = match flags & 6 {
            0 => RecordKind::Frame,
            2 | 6 => RecordKind::KeyLogNote,
            _ => RecordKind::TruncatedNote,
        };
        out.push(FuzzFrame {
            kind,
            link: link_type(*link),
            delta_ms: *delta,
            truncated: flags & 1 != 0,
            data: bytes,
        });
        data = rest;
    }
    out
}

/// Encodes one frame of [`frames`] (frames over 64 KiB are cut).
pub fn push_frame(out: &mut Vec<u8>, link: LinkType, delta_ms: u8, data: &[u8]) {
    let data = &data[..data.len().min(usize::from(u16::MAX))];
    out.extend_from_slice(&[link_byte(link), delta_ms, 0]);
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(data);
}

/// Splits text at NUL bytes into exactly `N` parts (missing ones empty, extra NULs kept in the
/// last part).
pub fn fields<const N: usize>(text: &str) -> [&str; N] {
    let mut out = [""; N];
    let mut rest = text;
    for (i, slot) in out.iter_mut().enumerate() {
        if i + 1 == N {
            *slot = rest;
            break;
        }
        match rest.split_once('\0') {
            Some((head, tail)) => {
                *slot = head;
                rest = tail;
            }
            None => {
                *slot = rest;
                rest = "";
            }
        }
    }
    out
}

/// Encodes a key log note of [`frames`] (text over 64 KiB is cut).
pub fn push_keylog_note(out: &mut Vec<u8>, text: &[u8]) {
    let text = &text[..text.len().min(usize::from(u16::MAX))];
    out.extend_from_slice(&[0, 0, 2]);
    out.extend_from_slice(&(text.len() as u16).to_le_bytes());
    out.extend_from_slice(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip_and_gaps() {
        let mut enc = Vec::new();
        push_data(&mut enc, Direction::ClientToServer, b"GET / HTTP/1.1\r\n");
        push_data(&mut enc, Direction::ServerToClient, b"HTTP/1.1 200 OK\r\n");
        enc.extend_from_slice(&[3, 10, 0]);
        enc.extend_from_slice(&[0, 9, 0, b'x']);
        assert_eq!(
            chunks(&enc),
            vec![
                Chunk::Data(Direction::ClientToServer, b"GET / HTTP/1.1\r\n"),
                Chunk::Data(Direction::ServerToClient, b"HTTP/1.1 200 OK\r\n"),
                Chunk::Gap(Direction::ServerToClient, 10),
                Chunk::Data(Direction::ClientToServer, b"x"),
            ]
        );
    }

    #[test]
    fn frames_round_trip() {
        let mut enc = Vec::new();
        push_frame(&mut enc, LinkType::ETHERNET, 7, b"abc");
        push_frame(&mut enc, LinkType::LINUX_SLL2, 0, b"");
        let got = frames(&enc);
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].link, got[0].delta_ms, got[0].data),
            (LinkType::ETHERNET, 7, &b"abc"[..])
        );
        assert_eq!(got[1].link, LinkType::LINUX_SLL2);
        assert_eq!(got[1].kind, RecordKind::Frame);
        let notes = frames(&[1, 0, 2, 1, 0, b'x', 1, 0, 4, 0, 0]);
        assert_eq!(notes[0].kind, RecordKind::KeyLogNote);
        assert_eq!(notes[1].kind, RecordKind::TruncatedNote);
    }

    #[test]
    fn fields_split_at_nul() {
        assert_eq!(fields::<3>("a\0b\0c\0d"), ["a", "b", "c\0d"]);
        assert_eq!(fields::<3>("a"), ["a", "", ""]);
    }
}
