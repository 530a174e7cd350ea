//! pcapng sections (draft-ietf-opsawg-pcapng): what one block means given the current section.
//!
//! Blocks are parsed by `pcap-parser`; this module keeps the state the file format leaves to the
//! reader: each Section Header Block starts a new byte order and a new list of interfaces, and each
//! Interface Description Block brings its own link type, timestamp resolution and offset.

use std::ops::Range;

use pcap_parser::pcapng::{
    Block, DecryptionSecretsBlock, EnhancedPacketBlock, InterfaceDescriptionBlock, OptionCode,
    SecretsType, SimplePacketBlock, UnknownBlock,
};

use super::{FrameAt, Parsed};
use crate::source::{LinkType, SourceNote};
use crate::time::Timestamp;

/// Block types (draft-ietf-opsawg-pcapng §11.1).
pub(super) const SHB_TYPE: u32 = 0x0A0D_0D0A;
const OBSOLETE_PACKET_TYPE: u32 = 0x0000_0002;
const EPB_TYPE: u32 = 0x0000_0006;

/// One interface of the current section (§4.2).
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    /// Timestamp units per second, from `if_tsresol` (§4.2, option 9; default 10^6).
    units_per_sec: u128,
    /// Seconds added to every timestamp, from `if_tsoffset` (§4.2, option 14).
    offset_secs: i64,
    snaplen: u32,
}

impl Interface {
    /// Timestamps are a 64-bit count of units since `if_tsoffset` (§4.3). Converted to whole
    /// nanoseconds: exact for every power of 10 up to 10^9, truncated below a nanosecond otherwise.
    #[inline(always)]
    fn timestamp(&self, high: u32, low: u32) -> Timestamp {
        // The two resolutions nearly every capture has, in 64-bit arithmetic (the general case
        // divides 128-bit numbers, a library call, twice per packet), each by a constant: the
        // compiler multiplies instead of dividing (a `div` by a divisor known only at run time
        // takes tens of cycles, twice per packet). Inlined, with the rest out of line: as a
        // call it was ~29 instructions a packet of its own.
        let units = (u64::from(high) << 32) | u64::from(low);
        let (secs, nanos) = match self.units_per_sec {
            1_000_000 => (units / 1_000_000, units % 1_000_000 * 1_000),
            1_000_000_000 => (units / 1_000_000_000, units % 1_000_000_000),
            _ => return self.timestamp_generally(units),
        };
        let secs = i64::try_from(secs).unwrap_or(i64::MAX);
        let nanos = u32::try_from(nanos).unwrap_or(0);
        Timestamp::from_secs_nanos(secs.saturating_add(self.offset_secs), nanos)
    }

    /// [`Interface::timestamp`] for any resolution.
    #[inline(never)]
    fn timestamp_generally(&self, units: u64) -> Timestamp {
        let units = u128::from(units);
        let secs = i64::try_from(units / self.units_per_sec).unwrap_or(i64::MAX);
        // `units % units_per_sec` < 2^64, so the product stays far below 2^128.
        let nanos = (units % self.units_per_sec) * 1_000_000_000 / self.units_per_sec;
        Timestamp::from_secs_nanos(
            secs.saturating_add(self.offset_secs),
            u32::try_from(nanos).unwrap_or(0),
        )
    }
}

/// Why a block could not be used; the caller adds the file name and offset.
pub(super) type BlockError = String;

/// The state of the current section.
#[derive(Debug, Default)]
pub(super) struct Section {
    pub(super) big_endian: bool,
    interfaces: Vec<Interface>,
    /// A Simple Packet Block has no timestamp (§4.4); it takes the previous packet's, so that time
    /// driven expiry downstream neither jumps to 1970 nor stalls.
    last_ts: Timestamp,
}

impl Section {
    /// What a whole block (`block`, starting at its type field) means. `Parsed::Frame` ranges are
    /// relative to `block`'s start.
    pub(super) fn interpret(
        &mut self,
        block: &[u8],
        parsed: Block<'_>,
    ) -> Result<Parsed, BlockError> {
        match parsed {
            Block::SectionHeader(shb) => {
                *self = Section {
                    big_endian: shb.big_endian(),
                    interfaces: Vec::new(),
                    last_ts: self.last_ts,
                };
                Ok(Parsed::Nothing)
            }
            Block::InterfaceDescription(idb) => self.add_interface(&idb),
            Block::EnhancedPacket(epb) => self.enhanced_packet(block, &epb),
            Block::SimplePacket(spb) => self.simple_packet(block, &spb),
            Block::DecryptionSecrets(dsb) => Ok(key_log(&dsb)),
            Block::Unknown(ub) if ub.block_type == OBSOLETE_PACKET_TYPE => {
                self.obsolete_packet(block, &ub)
            }
            _ => Ok(Parsed::Nothing),
        }
    }

    /// Interfaces declared so far in this section.
    pub(super) fn interface_count(&self) -> usize {
        self.interfaces.len()
    }

    fn add_interface(&mut self, idb: &InterfaceDescriptionBlock<'_>) -> Result<Parsed, BlockError> {
        let id = self.interfaces.len();
        let mut units_per_sec = 1_000_000;
        let mut offset_secs = 0;
        // pcap-parser decodes these two options little-endian only and rejects powers of 2, so
        // they are read here in the section's byte order.
        for opt in &idb.options {
            let Ok(value) = opt.as_bytes() else { continue };
            if opt.code == OptionCode::IfTsresol {
                let resol = value.first().copied().unwrap_or(6);
                units_per_sec = resolution(resol).ok_or_else(|| {
                    format!("interface {id} has if_tsresol {resol:#04x}, out of range")
                })?;
            } else if opt.code == OptionCode::IfTsoffset
                && let Ok(raw) = <[u8; 8]>::try_from(value)
            {
                offset_secs = self.i64_of(raw);
            }
        }
        // The field is 16 bits on the wire (§4.2); pcap-parser widens it to i32.
        let link = LinkType(u32::try_from(idb.linktype.0).unwrap_or(u32::MAX));
        self.interfaces.push(Interface {
            link,
            units_per_sec,
            offset_secs,
            snaplen: idb.snaplen,
        });
        Ok(Parsed::Interface(link))
    }

    fn i64_of(&self, raw: [u8; 8]) -> i64 {
        if self.big_endian {
            i64::from_be_bytes(raw)
        } else {
            i64::from_le_bytes(raw)
        }
    }

    /// The first `N` 32-bit words of `body`, in the section's byte order.
    #[inline]
    fn words<const N: usize>(&self, body: &[u8]) -> Option<[u32; N]> {
        let all = body.get(..N * 4)?;
        let mut out = [0; N];
        for (word, &raw) in out.iter_mut().zip(all.as_chunks::<4>().0) {
            *word = match self.big_endian {
                true => u32::from_be_bytes(raw),
                false => u32::from_le_bytes(raw),
            };
        }
        Some(out)
    }

    pub(super) fn u32_at(&self, body: &[u8], at: usize) -> Option<u32> {
        let raw: [u8; 4] = body.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        })
    }

    #[inline]
    fn interface(&self, id: u32) -> Result<Interface, BlockError> {
        self.described(id).ok_or_else(|| {
            format!(
                "packet for interface {id}, but the section describes {} interface(s)",
                self.interfaces.len()
            )
        })
    }

    /// Interface `id`, when the section described it.
    #[inline(always)]
    fn described(&self, id: u32) -> Option<Interface> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.interfaces.get(i))
            .copied()
    }

    fn frame(
        &mut self,
        iface: Interface,
        ts: Timestamp,
        data: Range<usize>,
        orig_len: u32,
    ) -> Parsed {
        Parsed::Frame(self.frame_at(iface, ts, data, orig_len))
    }

    /// A packet's frame, its time kept as the section's last.
    #[inline(always)]
    fn frame_at(
        &mut self,
        iface: Interface,
        ts: Timestamp,
        data: Range<usize>,
        orig_len: u32,
    ) -> FrameAt {
        self.last_ts = ts;
        FrameAt {
            ts,
            link: iface.link,
            data,
            orig_len,
        }
    }

    /// §4.3: interface id, 64-bit timestamp, captured and original lengths, padded data.
    fn enhanced_packet(
        &mut self,
        block: &[u8],
        epb: &EnhancedPacketBlock<'_>,
    ) -> Result<Parsed, BlockError> {
        let iface = self.interface(epb.if_id)?;
        let data = sub_range(block, epb.data, epb.caplen)?;
        let ts = iface.timestamp(epb.ts_high, epb.ts_low);
        Ok(self.frame(iface, ts, data, epb.origlen))
    }

    /// An Enhanced Packet Block read directly, without `pcap-parser`: the packets of a pcapng
    /// file are nearly all EPBs, and the generic parser (nom combinators, options collected into
    /// a `Vec`) was a quarter of a body-heavy capture's analysis thread. `None` whenever
    /// `pcap-parser` could see the block differently — options present, or any check it makes
    /// failing — and the caller parses it the general way, so that damage is reported the same.
    pub(super) fn enhanced_packet_fast(
        &mut self,
        block: &[u8],
    ) -> Option<Result<Parsed, BlockError>> {
        let epb = self.plain_epb(block)?;
        Some(self.interface(epb.if_id).map(|iface| {
            let ts = iface.timestamp(epb.ts_high, epb.ts_low);
            self.frame(iface, ts, epb.data, epb.origlen)
        }))
    }

    /// [`Section::enhanced_packet_fast`] for the usual block, where it lies in the read
    /// buffer: its frame, or `None` for anything else, a block for an interface the section
    /// did not describe included (the general path then says so). No `Result` to build and
    /// take apart, and inlined into its caller: ~60 instructions a packet less than through
    /// `enhanced_packet_fast` (dense-50k as pcapng, callgrind: 205.4 -> 202.3 M).
    #[inline(always)]
    pub(super) fn plain_epb_frame(&mut self, block: &[u8]) -> Option<FrameAt> {
        let epb = self.plain_epb(block)?;
        let iface = self.described(epb.if_id)?;
        let ts = iface.timestamp(epb.ts_high, epb.ts_low);
        Some(self.frame_at(iface, ts, epb.data, epb.origlen))
    }

    /// An Enhanced Packet Block's fields, when it is one with no options that passes every
    /// check `pcap-parser` makes.
    #[inline(always)]
    fn plain_epb(&self, block: &[u8]) -> Option<PlainEpb> {
        // The fields read at once: one by one, each with its own bounds and byte-order checks,
        // they were ~35 instructions a packet.
        let [block_type, len, if_id, ts_high, ts_low, caplen, origlen] = self.words(block)?;
        if block_type != EPB_TYPE {
            return None;
        }
        // pcap-parser's checks: the block holds its 32 bytes of fields, the captured length is
        // sane, the padded data fits, and the length is repeated at the end.
        if len < 32 || usize::try_from(len).ok()? != block.len() || caplen >= u32::MAX - 4 {
            return None;
        }
        let padded = caplen.checked_add(3)? & !3;
        // Exactly the fields and the data: no options, whose parsing this path would skip.
        if padded.checked_add(32)? != len || self.u32_at(block, block.len() - 4)? != len {
            return None;
        }
        Some(PlainEpb {
            if_id,
            ts_high,
            ts_low,
            data: 28..28 + usize::try_from(caplen).ok()?,
            origlen,
        })
    }

    /// §4.4: interface 0, no timestamp; the captured length is the smallest of the original
    /// length, the interface's snaplen and what the block holds.
    fn simple_packet(
        &mut self,
        block: &[u8],
        spb: &SimplePacketBlock<'_>,
    ) -> Result<Parsed, BlockError> {
        let iface = self.interface(0)?;
        let mut caplen = spb
            .origlen
            .min(u32::try_from(spb.data.len()).unwrap_or(u32::MAX));
        if iface.snaplen > 0 {
            caplen = caplen.min(iface.snaplen);
        }
        let data = sub_range(block, spb.data, caplen)?;
        Ok(self.frame(iface, self.last_ts, data, spb.origlen))
    }

    /// The obsolete Packet Block (Appendix A of the draft): a 16-bit interface id and drops
    /// count, then the same fields as an Enhanced Packet Block. pcap-parser returns it unparsed.
    fn obsolete_packet(
        &mut self,
        block: &[u8],
        ub: &UnknownBlock<'_>,
    ) -> Result<Parsed, BlockError> {
        let body = ub.data;
        let short = || "obsolete packet block too short".to_string();
        let head = self.u32_at(body, 0).ok_or_else(short)?;
        let if_id = if self.big_endian {
            head >> 16
        } else {
            head & 0xFFFF
        };
        let iface = self.interface(if_id)?;
        let ts_high = self.u32_at(body, 4).ok_or_else(short)?;
        let ts_low = self.u32_at(body, 8).ok_or_else(short)?;
        let caplen = self.u32_at(body, 12).ok_or_else(short)?;
        let orig_len = self.u32_at(body, 16).ok_or_else(short)?;
        let data = sub_range(block, body.get(20..).unwrap_or_default(), caplen)?;
        let ts = iface.timestamp(ts_high, ts_low);
        Ok(self.frame(iface, ts, data, orig_len))
    }
}

/// §4.7: only TLS key logs are used; other secrets (WireGuard, SSH, …) are skipped.
fn key_log(dsb: &DecryptionSecretsBlock<'_>) -> Parsed {
    if dsb.secrets_type != SecretsType::TlsKeyLog {
        return Parsed::Nothing;
    }
    let len = usize::try_from(dsb.secrets_len).unwrap_or(usize::MAX);
    match dsb.data.get(..len) {
        Some(secrets) => Parsed::Note(SourceNote::KeyLog(secrets.to_vec())),
        None => Parsed::Nothing,
    }
}

/// `if_tsresol`: the low 7 bits are a negative power of 10, or of 2 when the top bit is set.
fn resolution(resol: u8) -> Option<u128> {
    let exp = u32::from(resol & 0x7F);
    if resol & 0x80 == 0 {
        10u128.checked_pow(exp)
    } else {
        1u128.checked_shl(exp)
    }
}

/// Where the first `len` bytes of `data` (a slice of `block`) sit within `block`.
fn sub_range(block: &[u8], data: &[u8], len: u32) -> Result<Range<usize>, BlockError> {
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > data.len() {
        return Err(format!(
            "packet claims {len} captured bytes but its block holds {}",
            data.len()
        ));
    }
    let start = (data.as_ptr() as usize).wrapping_sub(block.as_ptr() as usize);
    let end = start.checked_add(len).filter(|&e| e <= block.len());
    end.map(|end| start..end)
        .ok_or_else(|| "packet data lies outside its block".to_string())
}

/// The fields of an Enhanced Packet Block without options ([`Section::plain_epb`]).
struct PlainEpb {
    if_id: u32,
    ts_high: u32,
    ts_low: u32,
    /// Where the packet's bytes lie in the block.
    data: Range<usize>,
    origlen: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_parser::pcapng::{parse_block_be, parse_block_le};
    use proptest::prelude::*;

    fn u32s(big_endian: bool, v: u32) -> [u8; 4] {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// A block of `block_type` around `body`, with `len` as both lengths unless given.
    fn block(big_endian: bool, block_type: u32, body: &[u8], len2: Option<u32>) -> Vec<u8> {
        let len = u32::try_from(body.len() + 12).unwrap();
        let mut b = u32s(big_endian, block_type).to_vec();
        b.extend(u32s(big_endian, len));
        b.extend(body);
        b.extend(u32s(big_endian, len2.unwrap_or(len)));
        b
    }

    /// A section with one Ethernet interface (microseconds).
    fn section(big_endian: bool) -> Section {
        let mut s = Section {
            big_endian,
            ..Section::default()
        };
        let mut body = if big_endian {
            1u16.to_be_bytes().to_vec()
        } else {
            1u16.to_le_bytes().to_vec()
        };
        body.extend([0, 0]);
        body.extend(u32s(big_endian, 65535));
        let idb = block(big_endian, 1, &body, None);
        let parsed = if big_endian {
            parse_block_be(&idb)
        } else {
            parse_block_le(&idb)
        };
        s.interpret(&idb, parsed.unwrap().1).unwrap();
        s
    }

    /// What the general path (pcap-parser, then `interpret`) makes of a block.
    fn general(s: &mut Section, block: &[u8]) -> String {
        let parsed = if s.big_endian {
            parse_block_be(block)
        } else {
            parse_block_le(block)
        };
        match parsed {
            Ok((_, b)) => format!("{:?}", s.interpret(block, b)),
            Err(_) => "damaged".to_string(),
        }
    }

    #[derive(Debug, Clone)]
    struct Epb {
        big_endian: bool,
        if_id: u32,
        ts: u64,
        data: Vec<u8>,
        caplen_delta: i8,
        orig_len: u32,
        options: Vec<u8>,
        len2_delta: i8,
    }

    fn epb_block(e: &Epb) -> Vec<u8> {
        let be = e.big_endian;
        let caplen = u32::try_from(e.data.len())
            .unwrap()
            .wrapping_add_signed(i32::from(e.caplen_delta));
        let mut body = u32s(be, e.if_id).to_vec();
        body.extend(u32s(be, (e.ts >> 32) as u32));
        body.extend(u32s(be, e.ts as u32));
        body.extend(u32s(be, caplen));
        body.extend(u32s(be, e.orig_len));
        body.extend(&e.data);
        body.resize(body.len().next_multiple_of(4), 0);
        body.extend(&e.options);
        let len = u32::try_from(body.len() + 12).unwrap();
        block(
            be,
            EPB_TYPE,
            &body,
            Some(len.wrapping_add_signed(i32::from(e.len2_delta))),
        )
    }

    #[test]
    fn a_plain_epb_takes_the_fast_path_with_the_general_paths_meaning() {
        for big_endian in [false, true] {
            let e = Epb {
                big_endian,
                if_id: 0,
                ts: 1_700_000_000_123_456,
                data: b"abcde".to_vec(),
                caplen_delta: 0,
                orig_len: 60,
                options: Vec::new(),
                len2_delta: 0,
            };
            let b = epb_block(&e);
            let mut s = section(big_endian);
            let fast = s.enhanced_packet_fast(&b).expect("fast path");
            let text = format!("{fast:?}");
            assert!(text.contains("data: 28..33"), "{text}");
            assert!(text.contains("orig_len: 60"), "{text}");
            assert_eq!(text, general(&mut section(big_endian), &b));
        }
    }

    #[test]
    fn an_epb_with_options_or_a_bad_trailing_length_goes_the_general_way() {
        let mut e = Epb {
            big_endian: false,
            if_id: 0,
            ts: 5,
            data: vec![1; 8],
            caplen_delta: 0,
            orig_len: 8,
            // epb_flags (code 2, 4 bytes), then opt_endofopt
            options: vec![2, 0, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0],
            len2_delta: 0,
        };
        assert!(
            section(false)
                .enhanced_packet_fast(&epb_block(&e))
                .is_none()
        );
        e.options.clear();
        e.len2_delta = 4;
        assert!(
            section(false)
                .enhanced_packet_fast(&epb_block(&e))
                .is_none()
        );
    }

    proptest! {
        /// Microseconds and nanoseconds, computed in 64 bits, as the general 128-bit way does.
        /// `high` is also drawn below 4,000,000: above ~2,100,000 a microsecond count is past
        /// what a timestamp holds (it saturates, whatever the fraction), and real captures'
        /// counts are near 420,000 (2026 in microseconds).
        #[test]
        fn timestamps_in_64_bits_match_the_general_arithmetic(
            high in prop_oneof![0u32..4_000_000, any::<u32>()],
            low in any::<u32>(), nano in any::<bool>(), offset in -5i64..5,
        ) {
            let units_per_sec: u128 = if nano { 1_000_000_000 } else { 1_000_000 };
            let iface = Interface { link: LinkType(1), units_per_sec, offset_secs: offset, snaplen: 0 };
            let units = (u128::from(high) << 32) | u128::from(low);
            let secs = i64::try_from(units / units_per_sec).unwrap_or(i64::MAX);
            let nanos = (units % units_per_sec) * 1_000_000_000 / units_per_sec;
            let expected = Timestamp::from_secs_nanos(
                secs.saturating_add(offset),
                u32::try_from(nanos).unwrap_or(0),
            );
            prop_assert_eq!(iface.timestamp(high, low), expected);
            let units = (u64::from(high) << 32) | u64::from(low);
            prop_assert_eq!(iface.timestamp_generally(units), expected);
        }

        /// Wherever the fast path answers, the general path answers the same; where it does not,
        /// the general path decides (damage included).
        #[test]
        fn fast_path_agrees_with_pcap_parser(
            big_endian in any::<bool>(),
            if_id in 0u32..3,
            ts in any::<u64>(),
            data in prop::collection::vec(any::<u8>(), 0..40),
            caplen_delta in -6i8..6,
            orig_len in any::<u32>(),
            options in prop::sample::select(vec![Vec::new(), vec![0u8, 0, 0, 0], vec![1, 0, 0, 0]]),
            len2_delta in prop::sample::select(vec![0i8, 0, 0, 4, -4]),
        ) {
            let plain = caplen_delta == 0 && options.is_empty() && len2_delta == 0;
            let e = Epb { big_endian, if_id, ts, data, caplen_delta, orig_len, options, len2_delta };
            let b = epb_block(&e);
            let fast = section(big_endian).enhanced_packet_fast(&b);
            // The buffered path's frame is the fast path's, and it gives one whenever that
            // does (and nothing else: an unknown interface is the general path's to report).
            let framed = section(big_endian).plain_epb_frame(&b).map(Parsed::Frame);
            match (&framed, &fast) {
                (Some(f), Some(Ok(g))) => prop_assert_eq!(format!("{f:?}"), format!("{g:?}")),
                (None, Some(Ok(g))) => prop_assert!(false, "no frame where the fast path read {g:?}"),
                (Some(f), _) => prop_assert!(false, "{f:?} where the fast path read none"),
                (None, _) => {}
            }
            match fast {
                Some(fast) => {
                    prop_assert_eq!(format!("{fast:?}"), general(&mut section(big_endian), &b));
                }
                // A well-formed block without options is always taken the fast way.
                None => prop_assert!(!plain, "{e:?}"),
            }
        }
    }
}
