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

use super::Parsed;
use crate::source::{LinkType, SourceNote};
use crate::time::Timestamp;

/// Block types (draft-ietf-opsawg-pcapng §11.1).
pub(super) const SHB_TYPE: u32 = 0x0A0D_0D0A;
const OBSOLETE_PACKET_TYPE: u32 = 0x0000_0002;

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
    fn timestamp(&self, high: u32, low: u32) -> Timestamp {
        let units = (u128::from(high) << 32) | u128::from(low);
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

    fn u32_at(&self, body: &[u8], at: usize) -> Option<u32> {
        let raw: [u8; 4] = body.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        })
    }

    fn interface(&self, id: u32) -> Result<Interface, BlockError> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.interfaces.get(i))
            .copied()
            .ok_or_else(|| {
                format!(
                    "packet for interface {id}, but the section describes {} interface(s)",
                    self.interfaces.len()
                )
            })
    }

    fn frame(
        &mut self,
        iface: Interface,
        ts: Timestamp,
        data: Range<usize>,
        orig_len: u32,
    ) -> Parsed {
        self.last_ts = ts;
        Parsed::Frame {
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
