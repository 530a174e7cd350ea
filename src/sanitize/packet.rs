//! IPv4/IPv6 + TCP packets built from scratch (LINKTYPE_RAW: the IP header first), with the
//! checksums Wireshark and s3wire check: the IPv4 header checksum (RFC 791 §3.1) and the TCP
//! checksum over the pseudo-header (RFC 9293 §3.1; RFC 8200 §8.1 for IPv6). Pure: bytes out.

use crate::decode::TcpFlags;
use std::net::{IpAddr, SocketAddr};

/// TCP flags (RFC 9293 §3.1), as the decoder names them.
pub const FIN: u8 = TcpFlags::FIN;
pub const SYN: u8 = TcpFlags::SYN;
pub const RST: u8 = TcpFlags::RST;
pub const PSH: u8 = TcpFlags::PSH;
pub const ACK: u8 = TcpFlags::ACK;

const TCP_HEADER: usize = 20;
const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const PROTO_TCP: u8 = 6;
/// Advertised receive window: any value works, this one is what an unscaled stack sends.
const WINDOW: u16 = 65_535;

/// One TCP segment's header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
}

/// The IP packet carrying `seg` and `payload`. Source and destination must be of one family
/// (the sanitizer maps both ends of a connection the same way); a mixed pair is built as IPv6
/// with the IPv4 end mapped (`::ffff:a.b.c.d`), never a panic.
pub fn build(seg: &Segment, payload: &[u8]) -> Vec<u8> {
    match (seg.src.ip(), seg.dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ipv4(s.octets(), d.octets(), seg, payload),
        (s, d) => ipv6(v6(s).octets(), v6(d).octets(), seg, payload),
    }
}

fn v6(ip: IpAddr) -> std::net::Ipv6Addr {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

fn ipv4(src: [u8; 4], dst: [u8; 4], seg: &Segment, payload: &[u8]) -> Vec<u8> {
    let total = IPV4_HEADER + TCP_HEADER + payload.len();
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0]); // version 4, IHL 5; DSCP/ECN 0
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0]); // id 0, Don't Fragment
    p.extend_from_slice(&[64, PROTO_TCP, 0, 0]); // TTL, protocol, checksum (below)
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    let sum = checksum(0, &p[..IPV4_HEADER]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, PROTO_TCP]);
    pseudo.extend_from_slice(&((TCP_HEADER + payload.len()) as u16).to_be_bytes());
    tcp(&mut p, &pseudo, seg, payload);
    p
}

fn ipv6(src: [u8; 16], dst: [u8; 16], seg: &Segment, payload: &[u8]) -> Vec<u8> {
    let len = TCP_HEADER + payload.len();
    let mut p = Vec::with_capacity(IPV6_HEADER + len);
    p.extend_from_slice(&[0x60, 0, 0, 0]); // version 6, no traffic class or flow label
    p.extend_from_slice(&(len as u16).to_be_bytes());
    p.extend_from_slice(&[PROTO_TCP, 64]); // next header, hop limit
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    let mut pseudo = Vec::with_capacity(40);
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&(len as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, PROTO_TCP]);
    tcp(&mut p, &pseudo, seg, payload);
    p
}

/// Appends the TCP header and payload to `p`, checksummed with `pseudo`.
fn tcp(p: &mut Vec<u8>, pseudo: &[u8], seg: &Segment, payload: &[u8]) {
    let start = p.len();
    p.extend_from_slice(&seg.src.port().to_be_bytes());
    p.extend_from_slice(&seg.dst.port().to_be_bytes());
    p.extend_from_slice(&seg.seq.to_be_bytes());
    let ack = if seg.flags & ACK != 0 { seg.ack } else { 0 };
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[(TCP_HEADER as u8 / 4) << 4, seg.flags]);
    p.extend_from_slice(&WINDOW.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0]); // checksum (below), urgent pointer
    p.extend_from_slice(payload);
    let sum = checksum(sum_words(0, pseudo), &p[start..]);
    p[start + 16..start + 18].copy_from_slice(&sum.to_be_bytes());
}

/// The Internet checksum (RFC 1071): one's complement of the one's complement sum, starting
/// from the partial sum `acc` (the pseudo-header's).
fn checksum(acc: u32, bytes: &[u8]) -> u16 {
    let mut sum = sum_words(acc, bytes);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn sum_words(mut acc: u32, bytes: &[u8]) -> u32 {
    let (words, rest) = bytes.as_chunks::<2>();
    for &w in words {
        acc = fold(acc + u32::from(u16::from_be_bytes(w)));
    }
    if let [last] = rest {
        acc = fold(acc + (u32::from(*last) << 8));
    }
    acc
}

/// Keeps the running sum within 17 bits, so it never overflows however long the input.
fn fold(sum: u32) -> u32 {
    (sum & 0xffff) + (sum >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use crate::source::LinkType;

    fn seg(src: &str, dst: &str, flags: u8) -> Segment {
        Segment {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            seq: 1000,
            ack: 2000,
            flags,
        }
    }

    /// The checksum of a packet with its checksum in place sums to zero (RFC 1071 §1).
    fn verifies(pseudo: &[u8], bytes: &[u8]) -> bool {
        checksum(sum_words(0, pseudo), bytes) == 0
    }

    #[test]
    fn ipv4_header_and_tcp_checksums_verify() {
        let p = build(
            &seg("10.0.0.1:40000", "10.0.0.2:80", PSH | ACK),
            b"GET / HTTP/1.1\r\n\r\n",
        );
        assert_eq!(p.len(), 20 + 20 + 18);
        assert!(verifies(&[], &p[..20]), "IPv4 header checksum");
        let mut pseudo = vec![10, 0, 0, 1, 10, 0, 0, 2, 0, 6];
        pseudo.extend_from_slice(&38u16.to_be_bytes());
        assert!(verifies(&pseudo, &p[20..]), "TCP checksum");
    }

    #[test]
    fn odd_length_ipv6_payload_checksum_verifies() {
        let p = build(&seg("[fd00::1]:40000", "[fd00::2]:443", PSH | ACK), b"abc");
        assert_eq!(p.len(), 40 + 20 + 3);
        let mut pseudo = p[8..40].to_vec();
        pseudo.extend_from_slice(&23u32.to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, 6]);
        assert!(verifies(&pseudo, &p[40..]));
    }

    #[test]
    fn the_decoder_reads_back_ports_flags_and_payload() {
        let p = build(&seg("10.0.0.1:40000", "10.0.0.2:80", SYN), b"");
        let s = decode(LinkType::RAW, &p).expect("decodes");
        assert_eq!(s.src.to_string(), "10.0.0.1:40000");
        assert_eq!(s.dst.to_string(), "10.0.0.2:80");
        assert_eq!(s.seq, 1000);
        assert!(s.flags.syn() && !s.flags.ack());
        assert!(s.payload.is_empty());
        let p = build(&seg("[fd00::1]:40000", "[fd00::2]:80", PSH | ACK), b"xyz");
        let s = decode(LinkType::RAW, &p).expect("decodes");
        assert_eq!((s.ack, s.payload), (2000, &b"xyz"[..]));
    }

    #[test]
    fn mixed_families_become_ipv6_instead_of_failing() {
        let p = build(&seg("10.0.0.1:1", "[fd00::2]:2", ACK), b"");
        assert_eq!(p[0] >> 4, 6);
    }
}
