//! pcap and pcapng captures from a file or stdin, read in pure Rust with `pcap-parser`.
//!
//! The input is streamed through a bounded buffer ([`INITIAL_BUFFER`], grown only to hold one
//! larger block, never past [`MAX_BLOCK`]), so a pipe from `tcpdump -w -` works and memory stays
//! flat. A regular, uncompressed file is mapped instead ([`map`]): the map is the buffer, read
//! where it lies, with no copy and no thread. Block framing (how long the next record is,
//! whether the file ends inside it) is read here so a cut file yields every whole frame, then a
//! [`SourceNote::Truncated`] saying where it was cut; `pcap-parser` then parses each whole
//! block.
//!
//! An input that is not a regular file (a pipe that stays open, a FIFO) can be *followed*
//! ([`FileSource::follow`]): read on a thread of its own, with [`FileSource::poll`] saying
//! [`Polled::Idle`] when no bytes came for a while, so the caller can flush what it holds and
//! notice Ctrl-C instead of blocking in a read; [`FileSource::cut`] then ends it at what was read.
//!
//! Formats: legacy pcap (<https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html>) in
//! both byte orders with microsecond or nanosecond timestamps, and pcapng
//! (draft-ietf-opsawg-pcapng) with any number of sections and interfaces, see [`pcapng`].

mod ahead;
mod buffer;
pub mod compressed;
mod damage;
#[cfg(target_os = "linux")]
mod map;
#[cfg(not(target_os = "linux"))]
#[path = "file/map_none.rs"]
mod map;
#[cfg(target_os = "linux")]
mod pager;
mod pcapng;
mod resync;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod writer;

use std::fs::File;
use std::io::{self, Read};
use std::mem;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use pcap_parser::pcapng::{parse_block_be, parse_block_le};
use pcap_parser::{
    LegacyPcapBlock, PcapError, parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified,
    parse_pcap_header,
};

use self::buffer::ReadBuffer;
use self::compressed::Compressed;
use self::damage::Damage;
pub use self::damage::RESYNC_LIMIT;
use self::map::Map;
use self::pcapng::{SHB_TYPE, Section};
use super::{Frame, FrameSource, LinkType, SourceError, SourceItem, SourceNote};
use crate::time::Timestamp;

/// Read size and the buffer's usual size.
pub const INITIAL_BUFFER: usize = 1 << 20;
/// The largest record or block accepted. Real packets are at most 256 KiB (libpcap's
/// MAXIMUM_SNAPLEN); a larger length field means a corrupt file, not a packet to buffer.
pub const MAX_BLOCK: usize = 16 << 20;

/// libpcap's MAXIMUM_SNAPLEN: no real packet record is longer, whatever the file header says,
/// so a resynchronising scan looks for nothing longer.
const MAX_PACKET: u32 = 256 << 10;

/// The link type field of a pcap header also carries FCS information in its upper bits
/// (draft-ietf-opsawg-pcap §4, LinkType and additional information).
const LINKTYPE_MASK: u32 = 0x03FF_FFFF;

/// A pcap or pcapng capture read from any reader.
pub struct FileSource {
    name: String,
    buf: ReadBuffer,
    format: Format,
    /// Length of the block handed out last; consumed on the next call, when its borrow is over.
    pending: usize,
    link_types: Vec<LinkType>,
    /// Set while the bytes after a damaged record are searched for the next plausible one.
    damage: Option<Damage>,
    /// A gzip/zstd/lz4 input: offsets are then in the decompressed stream.
    compressed: Option<Compressed>,
    /// A mapped file that shrank while it was read: the note saying so was given.
    shrink_told: bool,
}

enum Format {
    Legacy(Legacy),
    Ng(Section),
    Ended,
}

/// What the legacy pcap file header says about every record.
#[derive(Debug, Clone, Copy)]
struct Legacy {
    link: LinkType,
    big_endian: bool,
    nanos: bool,
    /// Alexey Kuznetzov's patched format: 8 more bytes per record header.
    modified: bool,
    /// The longest record believed: the file's snaplen, at least [`MAX_PACKET`], at most
    /// [`MAX_BLOCK`]; a longer one is damage.
    max_caplen: u32,
    /// Seconds of the last record read, for judging candidates after damage.
    last_secs: Option<u32>,
}

/// A frame read from a record or block, owned, so that its bytes are borrowed only once it is
/// returned.
#[derive(Debug)]
struct FrameAt {
    ts: Timestamp,
    link: LinkType,
    /// Where its bytes lie, relative to the first byte of the record or block.
    data: Range<usize>,
    orig_len: u32,
}

/// One block's meaning, owned, so that the frame's bytes are borrowed only once it is returned.
#[derive(Debug)]
enum Parsed {
    Frame(FrameAt),
    Note(SourceNote),
    Interface(LinkType),
    Nothing,
    /// Followed input: no bytes for a while; nothing consumed, ask again.
    Idle,
    End,
}

/// What [`FileSource::poll`] gives.
#[derive(Debug)]
pub enum Polled<'a> {
    Item(SourceItem<'a>),
    /// A followed input brought no bytes for a while, and is still open.
    Idle,
    End,
}

impl FileSource {
    /// Open a capture file and check that it is one.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let name = path.display().to_string();
        match File::open(path) {
            Ok(file) => Self::from_file(name, file),
            Err(source) => Err(SourceError::Open { path: name, source }),
        }
    }

    /// An open file, read from its start: mapped when it is a regular file that is not
    /// compressed and a map can be had (see [`map`]), else read like any reader.
    fn from_file(name: String, file: File) -> Result<Self, SourceError> {
        let file = match compressed_file(&file) {
            true => file,
            false => match Map::open(file) {
                Ok(map) => return Self::with_buffer(name, ReadBuffer::mapped(map), None),
                Err(file) => file,
            },
        };
        Self::from_reader(name, Box::new(file))
    }

    /// A command-line argument: `-` is stdin, anything else a path.
    pub fn open_arg(arg: &str) -> Result<Self, SourceError> {
        if arg == "-" {
            Self::from_reader("stdin".to_string(), Box::new(io::stdin()))
        } else {
            Self::open(Path::new(arg))
        }
    }

    /// Read a capture from `reader`; `name` is used in errors. Reads the first bytes to tell the
    /// format (decompressing gzip, zstd or lz4 as it goes, see [`compressed`]), so a file that
    /// is not a capture fails here.
    pub fn from_reader(name: String, reader: Box<dyn Read + Send>) -> Result<Self, SourceError> {
        let (reader, compressed) = match compressed::sniff(reader) {
            Ok(sniffed) => sniffed,
            Err(source) => return Err(SourceError::Read { path: name, source }),
        };
        Self::with_buffer(name, ReadBuffer::new(reader, INITIAL_BUFFER), compressed)
    }

    fn with_buffer(
        name: String,
        buf: ReadBuffer,
        compressed: Option<Compressed>,
    ) -> Result<Self, SourceError> {
        let mut source = FileSource {
            compressed,
            name,
            buf,
            format: Format::Ended,
            pending: 0,
            link_types: Vec::new(),
            damage: None,
            shrink_told: false,
        };
        source.format = source.sniff()?;
        Ok(source)
    }

    /// Whether the input is read through a map.
    #[cfg(test)]
    fn is_mapped(&self) -> bool {
        self.buf.is_mapped()
    }

    /// A mapped input's first byte, once the advice for the reader's last place was given.
    #[cfg(test)]
    fn settled_map(&self) -> Option<usize> {
        self.buf.settled_map()
    }

    /// Read the rest of the input ahead on a thread of its own, overlapping the kernel's copy of
    /// the file with the analysis. A mapped file is not copied: the thread gives the kernel its
    /// advice on the map's pages instead (maps those ahead, drops those behind; see
    /// `file/pager.rs`), which the analysis thread otherwise gives itself.
    pub fn read_ahead(&mut self) {
        self.buf.read_ahead(None);
    }

    /// Follow the input (a pipe that may stay open and quiet): read on a thread of its own,
    /// bytes handed over as they come, and [`FileSource::poll`] says [`Polled::Idle`] after
    /// `idle` without any. [`FrameSource::next_item`] still blocks until the next item.
    pub fn follow(&mut self, idle: Duration) {
        self.buf.read_ahead(Some(idle));
    }

    /// End the input at what has been read so far: whole records still come out, then a
    /// [`SourceNote::Truncated`] if the cut fell inside one, then the end.
    pub fn cut(&mut self) {
        self.buf.cut();
    }

    /// The next item, or [`Polled::Idle`] while a followed input is quiet. The usual legacy
    /// record becomes its frame here, inlined into the caller's loop (handed on through
    /// [`Parsed`] and matched again, it cost some 60 instructions a packet more); anything
    /// else takes the general path.
    #[inline]
    pub fn poll(&mut self) -> Result<Polled<'_>, SourceError> {
        let parsed = match self.usual_record() {
            Ok(at) => return Ok(Polled::Item(SourceItem::Frame(self.frame_at(at)))),
            Err(unchecked) => self.parsed_generally(unchecked, true)?,
        };
        Ok(self.polled(parsed))
    }

    /// The usual legacy record ([`Self::buffered_legacy_record`]), checked to have been read
    /// from the file (see [`FileSource::shrank`]); otherwise what the general path starts
    /// from: that record when only its check failed.
    #[inline]
    fn usual_record(&mut self) -> Result<FrameAt, Option<Parsed>> {
        let usual = match self.format {
            Format::Ng(_) => self.buffered_ng_record(),
            _ => self.buffered_legacy_record(),
        };
        match usual {
            Some(at) if self.buf.intact(self.pending) => Ok(at),
            unchecked => Err(unchecked.map(Parsed::Frame)),
        }
    }

    /// The next block's meaning, when it is not the usual record: an error ends the stream
    /// (never read past one). A followed input's quiet spells are waited out unless `idle_ok`.
    /// Each is checked to have been read from the file before it is given (see
    /// [`FileSource::shrank`]). `unchecked`: a record read by the fast path whose check failed.
    #[inline(never)]
    fn parsed_generally(
        &mut self,
        mut unchecked: Option<Parsed>,
        idle_ok: bool,
    ) -> Result<Parsed, SourceError> {
        loop {
            let parsed = match unchecked.take() {
                Some(frame) => frame,
                None => self.next_waited(idle_ok)?,
            };
            if self.buf.intact(self.pending) {
                return Ok(parsed);
            }
            if let Some(parsed) = self.shrank(parsed) {
                return Ok(parsed);
            }
        }
    }

    fn next_waited(&mut self, idle_ok: bool) -> Result<Parsed, SourceError> {
        loop {
            match self.next_parsed() {
                Ok(Parsed::Idle) if !idle_ok => {}
                Ok(parsed) => return Ok(parsed),
                Err(e) => {
                    self.format = Format::Ended;
                    return Err(e);
                }
            }
        }
    }

    /// A mapped file shrank under `parsed` (another program truncated it): from now on only
    /// the bytes still in the file are read. `parsed` is still given when all its bytes lie
    /// in them. Otherwise it was read (partly) from bytes the file no longer has, and is
    /// dropped: read again from what is left when nothing of it was consumed (None; the
    /// truncation note then says where the file now ends), else the input ends here.
    fn shrank(&mut self, parsed: Parsed) -> Option<Parsed> {
        let upto = self.buf.offset().saturating_add(self.pending as u64);
        let left = self.buf.shrink();
        let given = matches!(
            parsed,
            Parsed::Frame(_) | Parsed::Note(SourceNote::KeyLog(_) | SourceNote::Damaged { .. })
        );
        if given && upto <= left {
            self.buf.gave(self.pending);
            return Some(parsed);
        }
        if self.pending > 0 && !matches!(self.format, Format::Ended) {
            self.pending = 0;
            return None;
        }
        self.format = Format::Ended;
        Some(self.with_shrink(Parsed::End))
    }

    /// At the end of a mapped file that shrank while it was read: the end is a truncation,
    /// and the note says so (once), after what the parser found there when that was in what
    /// is left of the file.
    fn with_shrink(&mut self, parsed: Parsed) -> Parsed {
        let Some(shrunk) = self.buf.shrunk().filter(|_| !self.shrink_told) else {
            return parsed;
        };
        self.shrink_told = true;
        let mut why = format!(
            "the file shrank while it was read ({} bytes when opened, {} now)",
            shrunk.opened, shrunk.now
        );
        if let Some(end) = shrunk.cut_record {
            why.push_str(&format!(
                "; the record ending at offset {end}, being analysed as it shrank, may have \
                 been read with zeros past offset {}",
                shrunk.left
            ));
        }
        // Past the new end, what the parser saw (a damaged record, a cut one) was not the
        // file's: only the shrink is said.
        let past = self.buf.offset() > shrunk.left;
        let detail = match parsed {
            Parsed::Note(SourceNote::Truncated { detail }) if !past => format!("{detail}: {why}"),
            _ => format!(
                "{why}: the records before offset {} were read",
                self.buf.given_to()
            ),
        };
        Parsed::Note(SourceNote::Truncated { detail })
    }

    fn polled(&self, parsed: Parsed) -> Polled<'_> {
        match parsed {
            Parsed::Frame(at) => Polled::Item(SourceItem::Frame(self.frame_at(at))),
            Parsed::Note(note) => Polled::Item(SourceItem::Note(note)),
            Parsed::Idle => Polled::Idle,
            Parsed::Interface(_) | Parsed::Nothing | Parsed::End => Polled::End,
        }
    }

    /// The frame read at `at`, its bytes borrowed where they lie.
    #[inline]
    fn frame_at(&self, at: FrameAt) -> Frame<'_> {
        Frame {
            ts: at.ts,
            link: at.link,
            data: self.buf.available().get(at.data).unwrap_or_default(),
            orig_len: at.orig_len,
        }
    }

    /// Bytes read from the input so far (compressed bytes for a compressed input, so that
    /// progress is measured against the file's size).
    pub fn bytes_read(&self) -> u64 {
        match &self.compressed {
            Some(c) => c.state.bytes_read(),
            None => self.buf.bytes_read(),
        }
    }

    /// The input's compression, if it is compressed.
    pub fn compression(&self) -> Option<compressed::Compression> {
        self.compressed.as_ref().map(|c| c.format)
    }

    /// "offset N", saying which stream the offset is in when it is not the file's.
    fn at(&self, offset: u64) -> String {
        match &self.compressed {
            Some(c) => format!(
                "offset {offset} of the decompressed {} stream",
                c.format.name()
            ),
            None => format!("offset {offset}"),
        }
    }

    /// The distinct link types of the capture's interfaces, in the order they were seen.
    pub fn link_types(&self) -> Vec<LinkType> {
        self.link_types.clone()
    }

    /// The name given at construction (the path, or `stdin`).
    pub fn name(&self) -> &str {
        &self.name
    }

    fn fill(&mut self, want: usize) -> Result<usize, SourceError> {
        self.buf.fill(want).map_err(|source| SourceError::Read {
            path: self.name.clone(),
            source,
        })
    }

    fn malformed(&self, detail: String) -> SourceError {
        SourceError::Malformed {
            path: self.name.clone(),
            offset: self.buf.offset(),
            detail,
        }
    }

    fn truncated(&self, have: usize, what: &str) -> Parsed {
        let detail = format!(
            "file ends {have} bytes into {what} at {}",
            self.at(self.buf.offset())
        );
        Parsed::Note(SourceNote::Truncated { detail })
    }

    fn note_link(&mut self, link: LinkType) {
        if !self.link_types.contains(&link) {
            self.link_types.push(link);
        }
    }

    /// Tell the format from the magic number, without consuming anything but a pcap header.
    fn sniff(&mut self) -> Result<Format, SourceError> {
        let have = self.fill(24)?;
        let head = self.buf.available();
        let magic: Option<[u8; 4]> = head.get(..4).and_then(|m| m.try_into().ok());
        match magic {
            Some([0x0A, 0x0D, 0x0D, 0x0A]) => self.sniff_pcapng(have),
            Some(m) if is_legacy_magic(m) => self.legacy_header(have),
            _ => Err(SourceError::NotACapture {
                path: self.name.clone(),
                detail: self.not_a_capture(head),
            }),
        }
    }

    /// Why the (decompressed) start is not a capture.
    fn not_a_capture(&self, head: &[u8]) -> String {
        let Some(c) = &self.compressed else {
            return describe_start(head);
        };
        let content = match head.is_empty() {
            true => "is empty".to_string(),
            false => describe_start(head),
        };
        let why = c
            .state
            .damage()
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        format!(
            "{}-compressed, and its content {content}{why}",
            c.format.name()
        )
    }

    /// The 24-byte pcap file header (draft-ietf-opsawg-pcap §4).
    fn legacy_header(&mut self, have: usize) -> Result<Format, SourceError> {
        let head = self.buf.available();
        let (_, header) = match head.get(..24).map(parse_pcap_header) {
            Some(Ok(parsed)) => parsed,
            _ => {
                let detail = format!("file ends {have} bytes into the 24-byte pcap file header");
                return Err(self.malformed(detail));
            }
        };
        let link = LinkType(u32::from_ne_bytes(header.network.0.to_ne_bytes()) & LINKTYPE_MASK);
        let legacy = Legacy {
            link,
            big_endian: header.is_bigendian(),
            nanos: header.is_nanosecond_precision(),
            modified: header.is_modified_format(),
            max_caplen: header.snaplen.clamp(MAX_PACKET, MAX_BLOCK as u32),
            last_secs: None,
        };
        self.buf.consume(24);
        self.note_link(link);
        Ok(Format::Legacy(legacy))
    }

    /// pcapng starts with a Section Header Block; its byte-order magic must be readable.
    fn sniff_pcapng(&mut self, have: usize) -> Result<Format, SourceError> {
        let head = self.buf.available();
        match head.get(8..12) {
            Some([0x1A, 0x2B, 0x3C, 0x4D] | [0x4D, 0x3C, 0x2B, 0x1A]) => {
                Ok(Format::Ng(Section::default()))
            }
            Some(bom) => Err(SourceError::NotACapture {
                path: self.name.clone(),
                detail: format!(
                    "starts with the pcapng magic 0a0d0d0a but its byte-order magic is {}, \
                     neither 1a2b3c4d nor 4d3c2b1a",
                    hex_bytes(bom)
                ),
            }),
            None => Err(self.malformed(format!(
                "file ends {have} bytes into the pcapng section header block"
            ))),
        }
    }

    /// The next meaningful block: a frame, a note, or the end.
    fn next_parsed(&mut self) -> Result<Parsed, SourceError> {
        loop {
            self.buf.consume(mem::take(&mut self.pending));
            let parsed = match (&self.format, &self.damage) {
                (Format::Ended, _) => Ok(Parsed::End),
                (_, Some(_)) => self.resync(),
                (Format::Legacy(legacy), None) => self.legacy_record(*legacy),
                (Format::Ng(_), None) => self.ng_block(),
            };
            // A followed input went quiet inside a block: what was read stays buffered, and
            // the block is framed again from its start on the next call.
            let parsed = match parsed {
                Err(SourceError::Read { source, .. }) if ahead::Idle::is(&source) => Parsed::Idle,
                other => other?,
            };
            match parsed {
                Parsed::Interface(link) => self.note_link(link),
                Parsed::Nothing => {}
                Parsed::End | Parsed::Note(SourceNote::Truncated { .. }) => {
                    self.format = Format::Ended;
                    let parsed = self.with_stream_damage(parsed);
                    return Ok(self.with_shrink(parsed));
                }
                _ => return Ok(parsed),
            }
        }
    }

    /// At the end of a compressed input: a stream that was cut or corrupt makes the end a
    /// truncation, or says why the file seemed to end inside a record.
    fn with_stream_damage(&self, parsed: Parsed) -> Parsed {
        let Some(why) = self.compressed.as_ref().and_then(|c| c.state.damage()) else {
            return parsed;
        };
        let detail = match parsed {
            Parsed::Note(SourceNote::Truncated { detail }) => format!("{detail}: {why}"),
            _ => why,
        };
        Parsed::Note(SourceNote::Truncated { detail })
    }

    /// One legacy record: a 16-byte header (ts_sec, ts_frac, caplen, orig_len) and the data.
    fn legacy_record(&mut self, legacy: Legacy) -> Result<Parsed, SourceError> {
        let header_len = if legacy.modified { 24 } else { 16 };
        let have = self.fill(header_len)?;
        if have == 0 {
            return Ok(Parsed::End);
        }
        if have < header_len {
            let what = format!("a {header_len}-byte packet record header");
            return Ok(self.truncated(have, &what));
        }
        let caplen = read_u32(self.buf.available(), 8, legacy.big_endian).unwrap_or(u32::MAX);
        if caplen > legacy.max_caplen {
            let what = too_large("packet record", caplen, legacy.max_caplen);
            return Ok(self.damaged(what, 1));
        }
        let total = caplen as usize + header_len;
        let have = self.fill(total)?;
        if have < total {
            return Ok(self.truncated(have, &format!("a {total}-byte packet record")));
        }
        let parse = match (legacy.modified, legacy.big_endian) {
            (true, _) => parse_pcap_frame_modified,
            (false, true) => parse_pcap_frame_be,
            (false, false) => parse_pcap_frame,
        };
        let record: LegacyPcapBlock<'_> = match self.buf.available().get(..total).map(parse) {
            Some(Ok((_, record))) => record,
            _ => return Ok(self.damaged("unreadable packet record".to_string(), 1)),
        };
        // Seconds are unsigned 32-bit (good until 2106); the fraction is µs or ns per the magic.
        let unit = if legacy.nanos { 1 } else { 1_000 };
        let ts = i64::from(record.ts_sec)
            .saturating_mul(1_000_000_000)
            .saturating_add(i64::from(record.ts_usec).saturating_mul(unit));
        let orig_len = record.origlen;
        if let Format::Legacy(l) = &mut self.format {
            l.last_secs = Some(record.ts_sec);
        }
        self.pending = total;
        Ok(Parsed::Frame(FrameAt {
            ts: Timestamp(ts),
            link: legacy.link,
            data: header_len..total,
            orig_len,
        }))
    }

    /// The usual next item of a legacy capture, read where it lies: a record wholly in the
    /// buffer, of a believable length, after no damage. It is the frame [`Self::legacy_record`]
    /// would give (nothing is read, so no read can fail or go idle), without its steps for the
    /// other cases; None for anything else, which the general path reads. Reading each record
    /// through the general path was some 250 instructions a packet.
    fn buffered_legacy_record(&mut self) -> Option<FrameAt> {
        let Format::Legacy(legacy) = &mut self.format else {
            return None;
        };
        if legacy.modified || self.damage.is_some() {
            return None;
        }
        let record = self.buf.available().get(self.pending..)?;
        let word = |at: usize| read_u32(record, at, legacy.big_endian);
        let (secs, frac, caplen, orig_len) = (word(0)?, word(4)?, word(8)?, word(12)?);
        let total = 16 + caplen as usize;
        if caplen > legacy.max_caplen || record.len() < total {
            return None;
        }
        let unit = if legacy.nanos { 1 } else { 1_000 };
        let ts = i64::from(secs) * 1_000_000_000 + i64::from(frac) * unit;
        legacy.last_secs = Some(secs);
        let link = legacy.link;
        self.buf.consume(mem::replace(&mut self.pending, total));
        Some(FrameAt {
            ts: Timestamp(ts),
            link,
            data: 16..total,
            orig_len,
        })
    }

    /// The usual next item of a pcapng capture, read where it lies: an Enhanced Packet Block
    /// without options wholly in the buffer, after no damage, for an interface the section
    /// described, read by [`Section::plain_epb_frame`]: the frame [`Self::ng_block`] would
    /// give through [`Section::enhanced_packet_fast`] (a property test holds the two together;
    /// nothing is read, so no read can fail or go idle);
    /// None for any other block, which the general path reads. Reading each block through the
    /// general path was ~380 instructions a packet more than a legacy record's (dense-50k as
    /// pcapng: analysis thread 217.6 M against 198.6 M as pcap, callgrind).
    fn buffered_ng_record(&mut self) -> Option<FrameAt> {
        let Format::Ng(section) = &mut self.format else {
            return None;
        };
        if self.damage.is_some() {
            return None;
        }
        let rest = self.buf.available().get(self.pending..)?;
        let len = usize::try_from(section.u32_at(rest, 4)?).ok()?;
        let block = rest.get(..len).filter(|_| len <= MAX_BLOCK)?;
        let at = section.plain_epb_frame(block)?;
        self.buf.consume(mem::replace(&mut self.pending, len));
        Some(at)
    }

    /// One pcapng block (draft-ietf-opsawg-pcapng §3.1): type, total length, body, total length.
    fn ng_block(&mut self) -> Result<Parsed, SourceError> {
        let have = self.fill(12)?;
        if have == 0 {
            return Ok(Parsed::End);
        }
        let head = self.buf.available();
        let (block_type, big_endian, len) = match self.ng_framing(head) {
            Ok(Some(framing)) => framing,
            Ok(None) => return Ok(self.truncated(have, "a pcapng block header")),
            Err(what) => return Ok(self.damaged(what, 4)),
        };
        let total = usize::try_from(len).unwrap_or(usize::MAX);
        let have = self.fill(total)?;
        if have < total {
            let what = format!("a {total}-byte {}", block_name(block_type));
            return Ok(self.truncated(have, &what));
        }
        let FileSource { buf, format, .. } = self;
        let (Format::Ng(section), Some(block)) = (format, buf.available().get(..total)) else {
            return Ok(Parsed::Nothing);
        };
        match section.enhanced_packet_fast(block) {
            Some(Ok(parsed)) => {
                self.pending = total;
                return Ok(parsed);
            }
            Some(Err(why)) => {
                let what = format!("{}: {why}", block_name(block_type));
                return Ok(self.skip_block(what, total));
            }
            None => {}
        }
        let parsed = if big_endian {
            parse_block_be(block)
        } else {
            parse_block_le(block)
        };
        let name = block_name(block_type);
        match parsed {
            Ok((_, parsed)) => match section.interpret(block, parsed) {
                Ok(parsed) => {
                    self.pending = total;
                    Ok(parsed)
                }
                // Its framing is sound, so the next block is found by its length.
                Err(why) => Ok(self.skip_block(format!("{name}: {why}"), total)),
            },
            // The framing may be wrong (a length that does not match the one at the end):
            // search for the next plausible block.
            Err(e) if is_essential(block_type) => {
                let what = format!("{name}: {}", parse_error(&e));
                Ok(self.damaged(what, 4))
            }
            // A damaged block we would not use anyway (statistics, name resolution, custom…) is
            // skipped: its length is known, so the next block is still found.
            Err(_) => {
                self.pending = total;
                Ok(Parsed::Nothing)
            }
        }
    }

    /// Block type, byte order and checked total length; `None` if the file ends before them,
    /// and what is wrong with them if they are damaged.
    /// A Section Header Block carries its own byte order (§4.1); other blocks use the section's.
    fn ng_framing(&self, head: &[u8]) -> Result<Option<(u32, bool, u32)>, String> {
        let Format::Ng(section) = &self.format else {
            return Ok(None);
        };
        let Some(raw_type) = read_u32(head, 0, false) else {
            return Ok(None);
        };
        let big_endian = if raw_type == SHB_TYPE {
            match head.get(8..12) {
                Some([0x1A, 0x2B, 0x3C, 0x4D]) => true,
                Some([0x4D, 0x3C, 0x2B, 0x1A]) => false,
                Some(bom) => {
                    return Err(format!(
                        "section header with byte-order magic {}",
                        hex_bytes(bom)
                    ));
                }
                None => return Ok(None),
            }
        } else {
            section.big_endian
        };
        let (Some(block_type), Some(len)) =
            (read_u32(head, 0, big_endian), read_u32(head, 4, big_endian))
        else {
            return Ok(None);
        };
        if len < 12 || !len.is_multiple_of(4) {
            return Err(format!(
                "{} with impossible length {len}",
                block_name(block_type)
            ));
        }
        if usize::try_from(len).map_or(true, |l| l > MAX_BLOCK) {
            return Err(too_large(block_name(block_type), len, MAX_BLOCK as u32));
        }
        Ok(Some((block_type, big_endian, len)))
    }
}

impl FrameSource for FileSource {
    fn next_item(&mut self) -> Result<Option<SourceItem<'_>>, SourceError> {
        let parsed = match self.usual_record() {
            Ok(at) => Parsed::Frame(at),
            Err(unchecked) => self.parsed_generally(unchecked, false)?,
        };
        Ok(match self.polled(parsed) {
            Polled::Item(item) => Some(item),
            Polled::Idle | Polled::End => None,
        })
    }
}

/// Whether the file starts with a compression magic (then it is decompressed as it is read,
/// not mapped). Read in place: the file's position does not move.
#[cfg(unix)]
fn compressed_file(file: &File) -> bool {
    use std::os::unix::fs::FileExt;
    let mut head = [0u8; 4];
    let mut have = 0;
    while have < head.len() {
        match file.read_at(&mut head[have..], have as u64) {
            Ok(0) => break,
            Ok(n) => have += n.min(head.len() - have),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    compressed::Compression::from_magic(&head[..have]).is_some()
}

#[cfg(not(unix))]
fn compressed_file(_: &File) -> bool {
    true // never mapped: read as before
}

/// Whether `arg` (a path, or `-` for standard input) is a regular file: anything else (a pipe,
/// a FIFO, a socket, a terminal) may stay open with nothing to read, and is followed.
/// Unknown (no such file; no way to ask) counts as regular: it is then read as before.
pub fn is_regular(arg: &str) -> bool {
    let meta = if arg == "-" {
        stdin_metadata()
    } else {
        std::fs::metadata(arg)
    };
    meta.map_or(true, |m| m.file_type().is_file())
}

#[cfg(unix)]
fn stdin_metadata() -> io::Result<std::fs::Metadata> {
    use std::os::fd::AsFd;
    let fd = io::stdin().as_fd().try_clone_to_owned()?;
    File::from(fd).metadata()
}

#[cfg(not(unix))]
fn stdin_metadata() -> io::Result<std::fs::Metadata> {
    Err(io::Error::other("cannot tell what standard input is"))
}

/// Legacy pcap magic numbers as they appear in the file: microsecond and nanosecond, in either
/// byte order, and the little-endian Kuznetzov variant that pcap-parser also reads.
fn is_legacy_magic(magic: [u8; 4]) -> bool {
    matches!(
        magic,
        [0xD4, 0xC3, 0xB2, 0xA1]
            | [0xA1, 0xB2, 0xC3, 0xD4]
            | [0x4D, 0x3C, 0xB2, 0xA1]
            | [0xA1, 0xB2, 0x3C, 0x4D]
            | [0x34, 0xCD, 0xB2, 0xA1]
    )
}

/// Blocks whose damage changes what frames mean; any other damaged block is skipped.
fn is_essential(block_type: u32) -> bool {
    matches!(block_type, SHB_TYPE | 0x1 | 0x2 | 0x3 | 0x6)
}

fn block_name(block_type: u32) -> &'static str {
    match block_type {
        SHB_TYPE => "section header block",
        0x1 => "interface description block",
        0x2 => "packet block",
        0x3 => "simple packet block",
        0x5 => "interface statistics block",
        0x6 => "enhanced packet block",
        0xA => "decryption secrets block",
        _ => "pcapng block",
    }
}

fn too_large(what: &str, len: u32, limit: u32) -> String {
    format!("{what} claims {len} bytes, more than the {limit}-byte limit")
}

/// pcap-parser's error without the input bytes it carries.
fn parse_error(e: &pcap_parser::nom::Err<PcapError<&[u8]>>) -> String {
    match e {
        pcap_parser::nom::Err::Incomplete(_) => "fields run past the end of the block".to_string(),
        pcap_parser::nom::Err::Error(e) | pcap_parser::nom::Err::Failure(e) => match e {
            PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
                format!("unparseable ({})", kind.description())
            }
            other => format!("unparseable ({other:?})"),
        },
    }
}

fn read_u32(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let raw: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    })
}

fn hex_bytes(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.join(" ")
}

/// Why the first bytes are not a capture, for a person who passed the wrong file.
fn describe_start(head: &[u8]) -> String {
    if head.is_empty() {
        return "the input is empty".to_string();
    }
    if head.starts_with(&[0x1F, 0x8B]) {
        return "it is gzip-compressed (starts with 1f 8b); decompress it first".to_string();
    }
    let shown = head.get(..8).unwrap_or(head);
    let more = if head.len() > shown.len() { " …" } else { "" };
    let text = if shown
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        " (text)"
    } else {
        ""
    };
    format!(
        "starts with bytes {}{more}{text}; expected pcap magic a1b2c3d4/d4c3b2a1/a1b23c4d/4d3cb2a1 \
         or pcapng 0a0d0d0a",
        hex_bytes(shown)
    )
}
