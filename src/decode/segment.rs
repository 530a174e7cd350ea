//! The TCP segment view handed to `flow`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use etherparse::{IpNumber, LaxIpSlice, TcpSlice};

use super::Skip;
use super::link::IpVersion;

/// TCP control bits (RFC 9293 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;

    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
}

/// One TCP segment, borrowing its payload from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// The payload bytes that were captured.
    pub payload: &'a [u8],
    /// Payload bytes the IP header says were sent but the snaplen cut off (0 when whole).
    pub missing: u32,
}

/// What an IP packet carries: a TCP segment, or another protocol's payload (which may be a
/// tunnel: `tunnel.rs` decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    Tcp(Segment<'a>),
    Other {
        /// The IP protocol number (RFC 791 §3.1 Protocol, RFC 8200 §3 Next Header, after any
        /// extension headers).
        protocol: u8,
        payload: &'a [u8],
        /// Part of a fragmented datagram: its payload is not the whole upper-layer message.
        fragmented: bool,
        /// The packet's addresses: a tunnel's endpoints when it is one.
        src: std::net::IpAddr,
        dst: std::net::IpAddr,
    },
}

/// Parse an IPv4/IPv6 packet (the version nibble decides) down to its transport.
///
/// etherparse's lax slicing is used so that a packet cut by the snaplen still yields its TCP
/// header and the captured part of the payload; the IP length fields (RFC 791 §3.1 Total Length,
/// RFC 8200 §3 Payload Length) bound the payload, so Ethernet trailer padding never enters it.
/// When an IPv4 Total Length is smaller than its own header (0 is common on outgoing packets
/// captured before TCP segmentation offload fills it in), etherparse falls back to the captured
/// length, which is the best available answer. Borrows only: no allocation.
pub fn transport(ip: &[u8]) -> Result<Transport<'_>, Skip> {
    let (sliced, stopped) = LaxIpSlice::from_slice(ip).map_err(|_| Skip::Malformed)?;
    let inner = sliced.payload();
    if stopped.is_some() {
        // An IPv6 extension header (RFC 8200 §4) or IPv4 AH (RFC 4302) was cut or broken, so
        // where TCP would start is unknown.
        return Err(Skip::Malformed);
    }
    if inner.ip_number != IpNumber::TCP {
        return Ok(Transport::Other {
            protocol: inner.ip_number.0,
            payload: inner.payload,
            fragmented: inner.fragmented,
            src: sliced.source_addr(),
            dst: sliced.destination_addr(),
        });
    }
    if inner.fragmented {
        // Any fragment, the first included: we do not reassemble IP (RFC 791 §3.2), and a first
        // fragment's payload would hand `flow` a segment whose length disagrees with its
        // sequence space. Counted so the report can say fragments were seen.
        return Err(Skip::Fragment);
    }
    let tcp = TcpSlice::from_slice(inner.payload).map_err(|_| Skip::Malformed)?;
    let missing = if inner.incomplete {
        declared_ip_len(ip).saturating_sub(u32::try_from(ip.len()).unwrap_or(u32::MAX))
    } else {
        0
    };
    Ok(Transport::Tcp(Segment {
        src: SocketAddr::new(sliced.source_addr(), tcp.source_port()),
        dst: SocketAddr::new(sliced.destination_addr(), tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: flags_of(&tcp),
        payload: tcp.payload(),
        missing,
    }))
}

/// The usual packet, read by hand: IPv4 without fragmentation or IPv6 without extension headers,
/// carrying a whole TCP segment, the IP length fields agreeing with the capture (what trails
/// them is link padding). `None` for anything else, which [`transport`] reads the general way;
/// where this answers, it answers exactly as that way does (a property test holds it to it).
/// With the link header, the general way cost ~490 instructions a frame (etherparse's slices,
/// and results moved through each layer), this one ~145 (dense-50k.pcap, 50,000 frames). The
/// fixed headers are taken as arrays once their length is checked, so each field is a plain
/// load.
#[inline]
pub(super) fn plain_tcp(version: IpVersion, ip: &[u8]) -> Option<Segment<'_>> {
    let (src, dst, tcp) = match (*ip.first()? >> 4, version) {
        (4, IpVersion::V4 | IpVersion::Either) => {
            let &[
                first,
                _,
                l0,
                l1,
                _,
                _,
                f0,
                f1,
                _,
                protocol,
                _,
                _,
                s0,
                s1,
                s2,
                s3,
                d0,
                d1,
                d2,
                d3,
            ] = ip.first_chunk::<20>()?;
            let header = usize::from(first & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([l0, l1]));
            // Protocol TCP; neither More Fragments nor an offset (RFC 791 §3.1).
            let fragment = u16::from_be_bytes([f0, f1]) & 0x3fff;
            if header < 20 || total < header || protocol != 6 || fragment != 0 {
                return None;
            }
            (
                IpAddr::V4(Ipv4Addr::new(s0, s1, s2, s3)),
                IpAddr::V4(Ipv4Addr::new(d0, d1, d2, d3)),
                ip.get(header..total)?,
            )
        }
        (6, IpVersion::V6 | IpVersion::Either) => {
            let (fixed, rest) = ip.split_first_chunk::<40>()?;
            let (head, addrs) = fixed.split_first_chunk::<8>()?;
            let &[_, _, _, _, l0, l1, next, _] = head;
            let (src, dst) = addrs.split_first_chunk::<16>()?;
            let dst: &[u8; 16] = dst.try_into().ok()?;
            // Next Header TCP. (A Payload Length of 0, a jumbogram's (RFC 2675), leaves no
            // room for the TCP header here, and goes the general way.)
            if next != 6 {
                return None;
            }
            (
                IpAddr::V6(Ipv6Addr::from(*src)),
                IpAddr::V6(Ipv6Addr::from(*dst)),
                rest.get(..usize::from(u16::from_be_bytes([l0, l1])))?,
            )
        }
        _ => return None,
    };
    let (header, _) = tcp.split_first_chunk::<20>()?;
    let &[
        p0,
        p1,
        q0,
        q1,
        s0,
        s1,
        s2,
        s3,
        a0,
        a1,
        a2,
        a3,
        words,
        flags,
        ..,
    ] = header;
    // Data Offset in words, at least the 20-byte header (RFC 9293 §3.1).
    let offset = usize::from(words >> 4) * 4;
    if offset < 20 {
        return None;
    }
    Some(Segment {
        src: SocketAddr::new(src, u16::from_be_bytes([p0, p1])),
        dst: SocketAddr::new(dst, u16::from_be_bytes([q0, q1])),
        seq: u32::from_be_bytes([s0, s1, s2, s3]),
        ack: u32::from_be_bytes([a0, a1, a2, a3]),
        flags: TcpFlags(flags),
        payload: tcp.get(offset..)?,
        missing: 0,
    })
}

/// The IP packet's length as its header declares it: IPv4 Total Length, or the IPv6 fixed header
/// plus Payload Length. Only called when etherparse found the capture shorter than that.
fn declared_ip_len(ip: &[u8]) -> u32 {
    let field = |at: usize| {
        ip.get(at..at + 2)
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b: [u8; 2]| u32::from(u16::from_be_bytes(b)))
    };
    match ip.first().map(|b| b >> 4) {
        Some(4) => field(2),
        Some(6) => 40 + field(4),
        _ => 0,
    }
}

/// The control-bit byte of the TCP header (RFC 9293 §3.1, with ECE/CWR from RFC 3168 §23.2).
fn flags_of(tcp: &TcpSlice<'_>) -> TcpFlags {
    let bits = [
        tcp.fin(),
        tcp.syn(),
        tcp.rst(),
        tcp.psh(),
        tcp.ack(),
        tcp.urg(),
        tcp.ece(),
        tcp.cwr(),
    ];
    let byte = bits
        .iter()
        .enumerate()
        .fold(0u8, |acc, (i, &set)| acc | (u8::from(set) << i));
    TcpFlags(byte)
}
