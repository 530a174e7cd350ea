//! Tunnels: what an IP packet that is not TCP may carry inside it.
//!
//! Mirrored traffic rarely arrives bare: AWS VPC Traffic Mirroring and Azure virtual network TAP
//! deliver it in VXLAN, AWS Gateway Load Balancer in Geneve, switch span sessions in GRE/ERSPAN,
//! carrier links in MPLS. Each header here is a few fixed fields read with bounds-checked reads;
//! each function consumes its header and names the next [`Layer`], so `decode` walks any stack of
//! them. UDP tunnels are recognised by their IANA destination port and then checked by their
//! header's fixed bits, so ordinary UDP on those ports stays "UDP port N".

use super::link::{IpVersion, Layer, be16, by_ethertype};
use super::{Carrier, Encap, Skip};

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
const IPPROTO_IPIP: u8 = 4;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_IPV6: u8 = 41;
const IPPROTO_GRE: u8 = 47;
const IPPROTO_MPLS: u8 = 137;

/// UDP ports: VXLAN (RFC 7348 §5; 8472 is the Linux kernel's pre-IANA default, still used by
/// flannel), VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe), Geneve (RFC 8926 §3.3), MPLS-in-UDP (RFC 7510).
const UDP_VXLAN: [u16; 2] = [4789, 8472];
const UDP_VXLAN_GPE: u16 = 4790;
const UDP_GENEVE: u16 = 6081;
const UDP_MPLS: u16 = 6635;

/// GRE protocol types beyond the EtherTypes `by_ethertype` knows: Transparent Ethernet Bridging
/// (RFC 1701), ERSPAN type II and type III (draft-foschiano-erspan §4).
const GRE_TEB: u16 = 0x6558;
const GRE_ERSPAN_2: u16 = 0x88BE;
const GRE_ERSPAN_3: u16 = 0x22EB;

/// The layer inside a non-TCP IP payload, and which tunnel it was; any other protocol is not
/// analysed. A fragment of a tunnel packet cannot be opened: its inner packet is cut.
pub(super) fn inside_ip(
    protocol: u8,
    payload: &[u8],
    fragmented: bool,
) -> Result<(Layer<'_>, Encap), Skip> {
    let tunnel = matches!(
        protocol,
        IPPROTO_IPIP | IPPROTO_IPV6 | IPPROTO_GRE | IPPROTO_MPLS | IPPROTO_UDP
    );
    if fragmented && tunnel {
        return Err(Skip::Fragment);
    }
    match protocol {
        IPPROTO_IPIP => Ok((Layer::Ip(IpVersion::V4, payload), Encap::IpInIp)),
        IPPROTO_IPV6 => Ok((Layer::Ip(IpVersion::V6, payload), Encap::Ipv6InIp)),
        IPPROTO_GRE => gre(payload),
        IPPROTO_MPLS => Ok((Layer::Mpls(payload), Encap::Mpls)),
        IPPROTO_UDP => udp(payload),
        p => Err(Skip::NotTcp(Carrier::IpProtocol(p))),
    }
}

/// UDP (RFC 768): 8 bytes, then a tunnel chosen by destination port. Other UDP is tallied by
/// its lower port, the one a service usually listens on (53 for DNS both ways).
fn udp(data: &[u8]) -> Result<(Layer<'_>, Encap), Skip> {
    let src = be16(data, 0).ok_or(Skip::Malformed)?;
    let dst = be16(data, 2).ok_or(Skip::Malformed)?;
    let body = data.get(8..).ok_or(Skip::Malformed)?;
    let other = Skip::NotTcp(Carrier::UdpPort(src.min(dst)));
    let opened = match dst {
        p if UDP_VXLAN.contains(&p) => vxlan(body),
        UDP_VXLAN_GPE => vxlan_gpe(body),
        UDP_GENEVE => geneve(body),
        UDP_MPLS => Some((Layer::Mpls(body), Encap::Mpls)),
        _ => None,
    };
    opened.ok_or(other)
}

/// VXLAN (RFC 7348 §5): flags with the I bit (0x08) set, 24 reserved bits, VNI, reserved; an
/// Ethernet frame follows. Without the I bit it is not VXLAN.
fn vxlan(body: &[u8]) -> Option<(Layer<'_>, Encap)> {
    let flags = *body.first()?;
    (flags & 0x08 != 0).then_some((Layer::Ethernet(body.get(8..)?), Encap::Vxlan))
}

/// VXLAN-GPE: like VXLAN, with a Next Protocol byte (1 IPv4, 2 IPv6, 3 Ethernet, 5 MPLS) valid
/// when the P bit (0x04) is set; without it the payload is Ethernet, as in VXLAN.
fn vxlan_gpe(body: &[u8]) -> Option<(Layer<'_>, Encap)> {
    let flags = *body.first()?;
    let inner = body.get(8..)?;
    let layer = match (flags & 0x04 != 0, *body.get(3)?) {
        (false, _) | (true, 3) => Layer::Ethernet(inner),
        (true, 1) => Layer::Ip(IpVersion::V4, inner),
        (true, 2) => Layer::Ip(IpVersion::V6, inner),
        (true, 5) => Layer::Mpls(inner),
        _ => return None,
    };
    (flags & 0x08 != 0).then_some((layer, Encap::Vxlan))
}

/// Geneve (RFC 8926 §3.4): version 0, options length in 4-byte words, a protocol type that is an
/// EtherType (0x6558 for Ethernet), VNI; then the options and the inner packet.
fn geneve(body: &[u8]) -> Option<(Layer<'_>, Encap)> {
    let first = *body.first()?;
    if first >> 6 != 0 {
        return None;
    }
    let options = usize::from(first & 0x3F) * 4;
    let protocol = be16(body, 2)?;
    let inner = body.get(8 + options..)?;
    let layer = match protocol {
        GRE_TEB => Layer::Ethernet(inner),
        t => by_ethertype(t, inner).ok()?,
    };
    Some((layer, Encap::Geneve))
}

/// GRE (RFC 2784, with the key and sequence number fields of RFC 2890): checksum, key and
/// sequence fields are present when their bits are set. Routing (RFC 1701) and version 1
/// (PPTP's enhanced GRE, which carries PPP) are not opened.
fn gre(data: &[u8]) -> Result<(Layer<'_>, Encap), Skip> {
    let flags = be16(data, 0).ok_or(Skip::Malformed)?;
    let protocol = be16(data, 2).ok_or(Skip::Malformed)?;
    let (checksum, routing, key, seq) = (
        flags & 0x8000 != 0,
        flags & 0x4000 != 0,
        flags & 0x2000 != 0,
        flags & 0x1000 != 0,
    );
    if routing || flags & 0x7 != 0 {
        return Err(Skip::NotTcp(Carrier::GreProtocol(protocol)));
    }
    let len = 4 + 4 * (usize::from(checksum) + usize::from(key) + usize::from(seq));
    let inner = data.get(len..).ok_or(Skip::Malformed)?;
    match protocol {
        GRE_TEB => Ok((Layer::Ethernet(inner), Encap::Gre)),
        // ERSPAN type I has no header of its own and no sequence number; type II has both
        // (an 8-byte header: version, VLAN, COS, session, index).
        GRE_ERSPAN_2 if !seq => Ok((Layer::Ethernet(inner), Encap::Erspan)),
        GRE_ERSPAN_2 => Ok((Layer::Ethernet(after(inner, 8)?), Encap::Erspan)),
        GRE_ERSPAN_3 => erspan3(inner),
        t => match by_ethertype(t, inner) {
            Ok(layer) => Ok((layer, Encap::Gre)),
            Err(_) => Err(Skip::NotTcp(Carrier::GreProtocol(t))),
        },
    }
}

/// ERSPAN type III: a 12-byte header whose last bit (O) says an 8-byte platform-specific
/// subheader follows; then the mirrored Ethernet frame.
fn erspan3(data: &[u8]) -> Result<(Layer<'_>, Encap), Skip> {
    let optional = data.get(11).ok_or(Skip::Malformed)? & 0x01 != 0;
    let len = if optional { 20 } else { 12 };
    Ok((Layer::Ethernet(after(data, len)?), Encap::Erspan))
}

fn after(data: &[u8], len: usize) -> Result<&[u8], Skip> {
    data.get(len..).ok_or(Skip::Malformed)
}

/// An MPLS label stack (RFC 3032 §2.1): 4-byte entries until the bottom-of-stack bit. What
/// follows has no type field; like Wireshark and tcpdump, the first nibble decides: 4 or 6 is
/// IP, 0 is a pseudowire control word (RFC 4385 §3) before Ethernet, anything else Ethernet.
pub(super) fn mpls(data: &[u8]) -> Result<Layer<'_>, Skip> {
    let mut at = 0;
    loop {
        let entry = data.get(at..at + 4).ok_or(Skip::Malformed)?;
        at += 4;
        if entry[2] & 0x01 != 0 {
            break;
        }
    }
    let inner = &data[at..];
    match inner.first().map(|b| b >> 4) {
        Some(4) => Ok(Layer::Ip(IpVersion::V4, inner)),
        Some(6) => Ok(Layer::Ip(IpVersion::V6, inner)),
        Some(0) => Ok(Layer::Ethernet(after(inner, 4)?)),
        Some(_) => Ok(Layer::Ethernet(inner)),
        None => Err(Skip::Malformed),
    }
}
