//! Writes what live capture saw as pcapng (draft-ietf-opsawg-pcapng): one Section Header Block,
//! one Interface Description Block per link type as it first appears, an Enhanced Packet Block per
//! frame, and optionally a Decryption Secrets Block with the TLS key log. libpcap's own dump files
//! are pcap, which cannot mix link types or carry secrets; this writer is small enough to own.
//!
//! Everything is written in native byte order (the byte-order magic tells readers which) and
//! timestamps in nanoseconds (`if_tsresol` = 9), so nothing the capture recorded is lost.

use super::{Frame, LinkType};
use std::io::{self, Write};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const DSB: u32 = 0x0000_000A;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// `if_tsresol` option (§4.2): code 9, one byte, 9 = 10^-9 s.
const OPT_IF_TSRESOL: u16 = 9;
/// Decryption Secrets Block type for an NSS key log (§4.7): "TLSK".
const SECRETS_TLS_KEY_LOG: u32 = 0x544C_534B;

/// A pcapng file being written; interfaces are numbered in order of first appearance.
pub struct PcapngWriter<W: Write> {
    out: W,
    interfaces: Vec<LinkType>,
    snaplen: u32,
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a section (writes the Section Header Block).
    pub fn new(mut out: W, snaplen: u32) -> io::Result<Self> {
        let mut body = Vec::with_capacity(16);
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_ne_bytes());
        body.extend_from_slice(&1u16.to_ne_bytes()); // major version
        body.extend_from_slice(&0u16.to_ne_bytes()); // minor version
        body.extend_from_slice(&(-1i64).to_ne_bytes()); // section length: not given
        write_block(&mut out, SHB, &body)?;
        Ok(PcapngWriter {
            out,
            interfaces: Vec::new(),
            snaplen,
        })
    }

    /// One frame as an Enhanced Packet Block (and its interface's IDB the first time).
    pub fn write_frame(&mut self, frame: &Frame<'_>) -> io::Result<()> {
        let iface = self.interface(frame.link)?;
        let captured = u32::try_from(frame.data.len()).unwrap_or(u32::MAX);
        let ts = u64::try_from(frame.ts.0).unwrap_or(0);
        let mut body = Vec::with_capacity(20 + frame.data.len() + 3);
        body.extend_from_slice(&iface.to_ne_bytes());
        body.extend_from_slice(&((ts >> 32) as u32).to_ne_bytes());
        body.extend_from_slice(&(ts as u32).to_ne_bytes());
        body.extend_from_slice(&captured.to_ne_bytes());
        body.extend_from_slice(&frame.orig_len.max(captured).to_ne_bytes());
        body.extend_from_slice(frame.data);
        pad(&mut body);
        write_block(&mut self.out, EPB, &body)
    }

    /// An NSS key log as a Decryption Secrets Block, so the file decrypts on its own.
    pub fn write_keylog(&mut self, keylog: &[u8]) -> io::Result<()> {
        let len = u32::try_from(keylog.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "key log over 4 GiB"))?;
        let mut body = Vec::with_capacity(8 + keylog.len() + 3);
        body.extend_from_slice(&SECRETS_TLS_KEY_LOG.to_ne_bytes());
        body.extend_from_slice(&len.to_ne_bytes());
        body.extend_from_slice(keylog);
        pad(&mut body);
        write_block(&mut self.out, DSB, &body)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn interface(&mut self, link: LinkType) -> io::Result<u32> {
        if let Some(i) = self.interfaces.iter().position(|l| *l == link) {
            return Ok(i as u32);
        }
        let mut body = Vec::with_capacity(20);
        // LINKTYPE_* values above 16 bits do not exist (the field is 16 bits, §4.2).
        body.extend_from_slice(&(link.0 as u16).to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes()); // reserved
        body.extend_from_slice(&self.snaplen.to_ne_bytes());
        body.extend_from_slice(&OPT_IF_TSRESOL.to_ne_bytes());
        body.extend_from_slice(&1u16.to_ne_bytes());
        body.extend_from_slice(&[9, 0, 0, 0]); // value + padding to 32 bits
        body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        write_block(&mut self.out, IDB, &body)?;
        self.interfaces.push(link);
        Ok(self.interfaces.len() as u32 - 1)
    }
}

/// Block type, total length, body (already padded), total length again (§3.1).
fn write_block(out: &mut impl Write, kind: u32, body: &[u8]) -> io::Result<()> {
    let total = u32::try_from(body.len() + 12)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pcapng block over 4 GiB"))?;
    out.write_all(&kind.to_ne_bytes())?;
    out.write_all(&total.to_ne_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_ne_bytes())
}

fn pad(body: &mut Vec<u8>) {
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileSource, FrameSource, SourceItem, SourceNote};
    use crate::time::Timestamp;

    /// A real frame: the SYN of `curl http://127.0.0.1:5999/` captured with `tcpdump -i lo`
    /// (the loopback device's all-zero Ethernet header, IPv4, TCP with options).
    const SYN: [u8; 74] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x45,
        0x00, 0x00, 0x3c, 0xdc, 0x2d, 0x40, 0x00, 0x40, 0x06, 0x60, 0x8c, 0x7f, 0x00, 0x00, 0x01,
        0x7f, 0x00, 0x00, 0x01, 0xda, 0x52, 0x17, 0x6f, 0xa9, 0xca, 0xbf, 0x0c, 0x00, 0x00, 0x00,
        0x00, 0xa0, 0x02, 0xff, 0xd7, 0xfe, 0x30, 0x00, 0x00, 0x02, 0x04, 0xff, 0xd7, 0x04, 0x02,
        0x08, 0x0a, 0x74, 0x32, 0xc6, 0x43, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
    ];

    /// A frame read back: timestamp, link type, captured bytes, length on the wire.
    type Owned = (Timestamp, LinkType, Vec<u8>, u32);

    fn read_back(bytes: Vec<u8>) -> (Vec<Owned>, Vec<SourceNote>) {
        let mut src =
            FileSource::from_reader("mem".into(), Box::new(std::io::Cursor::new(bytes))).unwrap();
        let (mut frames, mut notes) = (Vec::new(), Vec::new());
        while let Some(item) = src.next_item().unwrap() {
            match item {
                SourceItem::Frame(f) => frames.push((f.ts, f.link, f.data.to_vec(), f.orig_len)),
                SourceItem::Note(n) => notes.push(n),
            }
        }
        (frames, notes)
    }

    #[test]
    fn frames_of_two_link_types_read_back_exactly() {
        let mut w = PcapngWriter::new(Vec::new(), 262_144).unwrap();
        let ts1 = Timestamp::from_secs_nanos(1_767_225_600, 123_456_789);
        let ts2 = Timestamp::from_secs_nanos(1_767_225_601, 5);
        let eth = Frame {
            ts: ts1,
            link: LinkType::ETHERNET,
            data: &SYN,
            orig_len: 74,
        };
        // The same IP packet without its Ethernet header, as a raw-IP interface would give it,
        // cut to 30 bytes of a 60-byte packet.
        let raw = Frame {
            ts: ts2,
            link: LinkType::RAW,
            data: &SYN[14..44],
            orig_len: 60,
        };
        w.write_frame(&eth).unwrap();
        w.write_frame(&raw).unwrap();
        w.write_frame(&eth).unwrap();
        let (frames, notes) = read_back(w.into_inner());
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0], (ts1, LinkType::ETHERNET, SYN.to_vec(), 74));
        assert_eq!(frames[1], (ts2, LinkType::RAW, SYN[14..44].to_vec(), 60));
        assert_eq!(frames[2].1, LinkType::ETHERNET);
    }

    #[test]
    fn keylog_travels_in_a_secrets_block() {
        let mut w = PcapngWriter::new(Vec::new(), 65_535).unwrap();
        let keys = b"CLIENT_RANDOM 0102 0304\n";
        w.write_keylog(keys).unwrap();
        let bytes = w.into_inner();
        assert_eq!(bytes.len() % 4, 0);
        let (frames, notes) = read_back(bytes);
        assert!(frames.is_empty());
        assert_eq!(notes, vec![SourceNote::KeyLog(keys.to_vec())]);
    }
}
