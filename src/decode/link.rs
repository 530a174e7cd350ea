//! Link layers → the network-layer bytes.
//!
//! Every header here is a few fixed fields, so they are read by hand with bounds-checked reads:
//! etherparse has no Linux cooked v2 (SLL2), and slices Linux cooked v1 only for Ethernet-like
//! devices, while `lo` captured with `-i any` is ARPHRD_LOOPBACK. Reading Ethernet ourselves also
//! lets any number of VLAN tags through (etherparse keeps a fixed number of link extensions).
//! Link type values are the file's LINKTYPE_* (<https://www.tcpdump.org/linktypes.html>).

use super::Skip;
use crate::source::LinkType;

/// EtherTypes (IEEE 802 numbers) that matter here.
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
/// 802.1Q customer tag, 802.1ad service tag, and the pre-standard QinQ tag still seen in the wild.
const VLAN_TPIDS: [u16; 3] = [0x8100, 0x88A8, 0x9100];

/// BSD/Linux address families seen in NULL/LOOP headers: AF_INET is 2 everywhere; AF_INET6 is 10
/// on Linux, 24 on NetBSD/OpenBSD, 28 on FreeBSD and 30 on macOS (libpcap's `BSD_AFNUM_INET6_*`).
const AF_INET: u32 = 2;
const AF_INET6: [u32; 4] = [10, 24, 28, 30];

/// Which IP version a link header announced, to be checked against the packet itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IpVersion {
    V4,
    V6,
    /// RAW (LINKTYPE_RAW): the version nibble decides.
    Either,
}

/// The IP packet inside a frame, with its version checked against what the link header announced.
pub fn network_layer(link: LinkType, data: &[u8]) -> Result<&[u8], Skip> {
    let (version, ip) = match link {
        LinkType::ETHERNET => ethernet(data)?,
        LinkType::LINUX_SLL => linux_sll(data)?,
        LinkType::LINUX_SLL2 => linux_sll2(data)?,
        LinkType::NULL => null(data)?,
        LinkType::LOOP => bsd_loop(data)?,
        LinkType::RAW => (IpVersion::Either, data),
        LinkType::IPV4 => (IpVersion::V4, data),
        LinkType::IPV6 => (IpVersion::V6, data),
        _ => return Err(Skip::UnsupportedLink),
    };
    check_version(version, ip)?;
    Ok(ip)
}

/// The IP version nibble (RFC 791 §3.1, RFC 8200 §3) must agree with the link header; for RAW a
/// nibble other than 4 or 6 means the frame is not IP at all.
fn check_version(expected: IpVersion, ip: &[u8]) -> Result<(), Skip> {
    let nibble = ip.first().map(|b| b >> 4).ok_or(Skip::Malformed)?;
    match (expected, nibble) {
        (IpVersion::V4, 4) | (IpVersion::V6, 6) | (IpVersion::Either, 4 | 6) => Ok(()),
        (IpVersion::Either, _) => Err(Skip::NotIp),
        _ => Err(Skip::Malformed),
    }
}

/// Map an EtherType to the IP version it carries; anything else (ARP, LLDP, an 802.3 length
/// field, …) is not IP.
fn by_ethertype(ethertype: u16) -> Result<IpVersion, Skip> {
    match ethertype {
        ETHERTYPE_IPV4 => Ok(IpVersion::V4),
        ETHERTYPE_IPV6 => Ok(IpVersion::V6),
        _ => Err(Skip::NotIp),
    }
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(bytes.try_into().ok()?))
}

fn bytes4(data: &[u8]) -> Option<[u8; 4]> {
    data.get(..4)?.try_into().ok()
}

/// Ethernet II (destination, source, EtherType), then any number of 4-byte VLAN tags, each
/// ending in the next EtherType (IEEE 802.1Q §9.6). Each tag consumes 4 bytes, so the loop ends.
fn ethernet(data: &[u8]) -> Result<(IpVersion, &[u8]), Skip> {
    let mut at = 12;
    let mut ethertype = be16(data, at).ok_or(Skip::Malformed)?;
    while VLAN_TPIDS.contains(&ethertype) {
        at += 4;
        ethertype = be16(data, at).ok_or(Skip::Malformed)?;
    }
    let version = by_ethertype(ethertype)?;
    let ip = data.get(at + 2..).ok_or(Skip::Malformed)?;
    Ok((version, ip))
}

/// Linux cooked v1 (<https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html>): 16 bytes, the
/// protocol field at offset 14 is an EtherType for IP on every device type, `lo` included.
fn linux_sll(data: &[u8]) -> Result<(IpVersion, &[u8]), Skip> {
    let protocol = be16(data, 14).ok_or(Skip::Malformed)?;
    let version = by_ethertype(protocol)?;
    Ok((version, data.get(16..).ok_or(Skip::Malformed)?))
}

/// Linux cooked v2 (<https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html>): 20 bytes,
/// protocol type first.
fn linux_sll2(data: &[u8]) -> Result<(IpVersion, &[u8]), Skip> {
    let protocol = be16(data, 0).ok_or(Skip::Malformed)?;
    let version = by_ethertype(protocol)?;
    Ok((version, data.get(20..).ok_or(Skip::Malformed)?))
}

/// LINKTYPE_NULL: a 4-byte address family in the byte order of the machine that wrote the file,
/// which may not be ours. Families are small numbers, so a value with high bits set is the other
/// byte order (the same test libpcap and Wireshark make).
fn null(data: &[u8]) -> Result<(IpVersion, &[u8]), Skip> {
    let raw = bytes4(data).ok_or(Skip::Malformed)?;
    let le = u32::from_le_bytes(raw);
    let family = if le & 0xFFFF_0000 == 0 {
        le
    } else {
        u32::from_be_bytes(raw)
    };
    Ok((by_family(family)?, data.get(4..).ok_or(Skip::Malformed)?))
}

/// LINKTYPE_LOOP (OpenBSD loopback): like NULL, but the family is always in network byte order.
fn bsd_loop(data: &[u8]) -> Result<(IpVersion, &[u8]), Skip> {
    let family = u32::from_be_bytes(bytes4(data).ok_or(Skip::Malformed)?);
    Ok((by_family(family)?, data.get(4..).ok_or(Skip::Malformed)?))
}

fn by_family(family: u32) -> Result<IpVersion, Skip> {
    if family == AF_INET {
        Ok(IpVersion::V4)
    } else if AF_INET6.contains(&family) {
        Ok(IpVersion::V6)
    } else {
        Err(Skip::NotIp)
    }
}
