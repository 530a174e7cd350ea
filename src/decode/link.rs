//! Link layers (and Ethernet inside tunnels) → the next layer: IP or an MPLS stack.
//!
//! Every header here is a few fixed fields, so they are read by hand with bounds-checked reads:
//! etherparse has no Linux cooked v2 (SLL2), and slices Linux cooked v1 only for Ethernet-like
//! devices, while `lo` captured with `-i any` is ARPHRD_LOOPBACK. Reading Ethernet ourselves also
//! lets any number of VLAN tags through (etherparse keeps a fixed number of link extensions).
//! Link type values are the file's LINKTYPE_* (<https://www.tcpdump.org/linktypes.html>).

use super::{Carrier, Skip};
use crate::source::LinkType;

/// EtherTypes (IEEE 802 numbers) that matter here.
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
/// MPLS unicast and multicast (RFC 3032 §5).
const ETHERTYPE_MPLS: [u16; 2] = [0x8847, 0x8848];
/// 802.1Q customer tag, 802.1ad service tag, and the pre-standard QinQ tag still seen in the wild.
const VLAN_TPIDS: [u16; 3] = [0x8100, 0x88A8, 0x9100];

/// BSD/Linux address families seen in NULL/LOOP headers: AF_INET is 2 everywhere; AF_INET6 is 10
/// on Linux, 24 on NetBSD/OpenBSD, 28 on FreeBSD and 30 on macOS (libpcap's `BSD_AFNUM_INET6_*`).
const AF_INET: u32 = 2;
const AF_INET6: [u32; 4] = [10, 24, 28, 30];

/// Which IP version a header announced, to be checked against the packet itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IpVersion {
    V4,
    V6,
    /// RAW (LINKTYPE_RAW): the version nibble decides.
    Either,
}

/// What the bytes after a header are: the next thing to decode. Tunnels (`tunnel.rs`) hand back
/// the same values, so one loop in `decode` walks any stack of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layer<'a> {
    Ip(IpVersion, &'a [u8]),
    /// An Ethernet frame inside a tunnel (VXLAN, Geneve, GRE bridging, ERSPAN, pseudowire).
    Ethernet(&'a [u8]),
    /// An MPLS label stack (RFC 3032).
    Mpls(&'a [u8]),
}

/// The first layer inside a frame of the given link type.
pub(super) fn first_layer(link: LinkType, data: &[u8]) -> Result<Layer<'_>, Skip> {
    match link {
        LinkType::ETHERNET => ethernet(data),
        LinkType::LINUX_SLL => linux_sll(data),
        LinkType::LINUX_SLL2 => linux_sll2(data),
        LinkType::NULL => null(data),
        LinkType::LOOP => bsd_loop(data),
        LinkType::RAW => Ok(Layer::Ip(IpVersion::Either, data)),
        LinkType::IPV4 => Ok(Layer::Ip(IpVersion::V4, data)),
        LinkType::IPV6 => Ok(Layer::Ip(IpVersion::V6, data)),
        _ => Err(Skip::UnsupportedLink),
    }
}

/// The IP version nibble (RFC 791 §3.1, RFC 8200 §3) must agree with the header that announced
/// it; for RAW a nibble other than 4 or 6 means the frame is not IP at all.
pub(super) fn check_version(expected: IpVersion, ip: &[u8]) -> Result<(), Skip> {
    let nibble = ip.first().map(|b| b >> 4).ok_or(Skip::Malformed)?;
    match (expected, nibble) {
        (IpVersion::V4, 4) | (IpVersion::V6, 6) | (IpVersion::Either, 4 | 6) => Ok(()),
        (IpVersion::Either, n) => Err(Skip::NotIp(Carrier::IpVersion(n))),
        _ => Err(Skip::Malformed),
    }
}

/// What an EtherType carries; anything but IP and MPLS (ARP, LLDP, an 802.3 length field, …) is
/// not analysed, and the EtherType says what it was.
pub(super) fn by_ethertype(ethertype: u16, rest: &[u8]) -> Result<Layer<'_>, Skip> {
    match ethertype {
        ETHERTYPE_IPV4 => Ok(Layer::Ip(IpVersion::V4, rest)),
        ETHERTYPE_IPV6 => Ok(Layer::Ip(IpVersion::V6, rest)),
        t if ETHERTYPE_MPLS.contains(&t) => Ok(Layer::Mpls(rest)),
        t => Err(Skip::NotIp(Carrier::EtherType(t))),
    }
}

pub(super) fn be16(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(bytes.try_into().ok()?))
}

fn bytes4(data: &[u8]) -> Option<[u8; 4]> {
    data.get(..4)?.try_into().ok()
}

/// Ethernet II (destination, source, EtherType), then any number of 4-byte VLAN tags, each
/// ending in the next EtherType (IEEE 802.1Q §9.6; 802.1ad QinQ stacks them). Each tag consumes
/// 4 bytes, so the loop ends.
pub(super) fn ethernet(data: &[u8]) -> Result<Layer<'_>, Skip> {
    let mut at = 12;
    let mut ethertype = be16(data, at).ok_or(Skip::Malformed)?;
    while VLAN_TPIDS.contains(&ethertype) {
        at += 4;
        ethertype = be16(data, at).ok_or(Skip::Malformed)?;
    }
    by_ethertype(ethertype, data.get(at + 2..).ok_or(Skip::Malformed)?)
}

/// An Ethernet frame without VLAN tags carrying plain TCP in IPv4 or IPv6 (see
/// `segment::plain_tcp`): nearly every frame of a capture on a host or a mirror port. What
/// [`ethernet`] and `plain_tcp` make of it, read in one go; `None` for any other frame.
#[inline]
pub(super) fn plain_ethernet(data: &[u8]) -> Option<super::Segment<'_>> {
    let ip = data.get(14..)?;
    match be16(data, 12)? {
        ETHERTYPE_IPV4 => super::segment::plain_tcp(IpVersion::V4, ip),
        ETHERTYPE_IPV6 => super::segment::plain_tcp(IpVersion::V6, ip),
        _ => None,
    }
}

/// Linux cooked v1 (<https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html>): 16 bytes, the
/// protocol field at offset 14 is an EtherType for IP on every device type, `lo` included.
fn linux_sll(data: &[u8]) -> Result<Layer<'_>, Skip> {
    let protocol = be16(data, 14).ok_or(Skip::Malformed)?;
    by_ethertype(protocol, data.get(16..).ok_or(Skip::Malformed)?)
}

/// Linux cooked v2 (<https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html>): 20 bytes,
/// protocol type first.
fn linux_sll2(data: &[u8]) -> Result<Layer<'_>, Skip> {
    let protocol = be16(data, 0).ok_or(Skip::Malformed)?;
    by_ethertype(protocol, data.get(20..).ok_or(Skip::Malformed)?)
}

/// LINKTYPE_NULL: a 4-byte address family in the byte order of the machine that wrote the file,
/// which may not be ours. Families are small numbers, so a value with high bits set is the other
/// byte order (the same test libpcap and Wireshark make).
fn null(data: &[u8]) -> Result<Layer<'_>, Skip> {
    let raw = bytes4(data).ok_or(Skip::Malformed)?;
    let le = u32::from_le_bytes(raw);
    let family = if le & 0xFFFF_0000 == 0 {
        le
    } else {
        u32::from_be_bytes(raw)
    };
    by_family(family, data.get(4..).ok_or(Skip::Malformed)?)
}

/// LINKTYPE_LOOP (OpenBSD loopback): like NULL, but the family is always in network byte order.
fn bsd_loop(data: &[u8]) -> Result<Layer<'_>, Skip> {
    let family = u32::from_be_bytes(bytes4(data).ok_or(Skip::Malformed)?);
    by_family(family, data.get(4..).ok_or(Skip::Malformed)?)
}

fn by_family(family: u32, rest: &[u8]) -> Result<Layer<'_>, Skip> {
    if family == AF_INET {
        Ok(Layer::Ip(IpVersion::V4, rest))
    } else if AF_INET6.contains(&family) {
        Ok(Layer::Ip(IpVersion::V6, rest))
    } else {
        Err(Skip::NotIp(Carrier::AddressFamily(family)))
    }
}
