//! Names for what was not analysed, as reports show them: `UDP port 6081`, `EtherType 0x0806
//! (ARP)`, `IP protocol 1 (ICMP)`. Only the numbers commonly seen in captures get a name; the
//! number is always shown, so an unnamed one can still be looked up.

use super::{Carrier, Skip};

/// A short kind (`ethertype`, `ip-protocol`, `udp-port`, …) and the number, for JSON.
pub fn kind_and_value(skip: Skip) -> (&'static str, Option<u32>) {
    match skip {
        Skip::UnsupportedLink => ("link-type", None),
        Skip::NotIp(c) | Skip::NotTcp(c) => carrier_kind(c),
        Skip::Fragment => ("ip-fragment", None),
        Skip::Malformed => ("malformed", None),
        Skip::TooDeep => ("tunnels-too-deep", None),
    }
}

fn carrier_kind(c: Carrier) -> (&'static str, Option<u32>) {
    match c {
        Carrier::EtherType(t) => ("ethertype", Some(t.into())),
        Carrier::AddressFamily(f) => ("address-family", Some(f)),
        Carrier::IpVersion(v) => ("ip-version", Some(v.into())),
        Carrier::IpProtocol(p) => ("ip-protocol", Some(p.into())),
        Carrier::UdpPort(p) => ("udp-port", Some(p.into())),
        Carrier::GreProtocol(p) => ("gre-protocol", Some(p.into())),
    }
}

/// How a report names it. `link` is the frame's link type name, for unsupported links.
pub fn describe(skip: Skip, link: &str) -> String {
    match skip {
        Skip::UnsupportedLink => format!("link type {link} (not supported)"),
        Skip::NotIp(c) | Skip::NotTcp(c) => describe_carrier(c),
        Skip::Fragment => "IP fragments (not reassembled)".to_string(),
        Skip::Malformed => "malformed or cut headers".to_string(),
        Skip::TooDeep => format!("more than {} nested tunnels", super::MAX_TUNNELS),
    }
}

fn describe_carrier(c: Carrier) -> String {
    let named = |text: String, name: Option<&str>| match name {
        Some(n) => format!("{text} ({n})"),
        None => text,
    };
    match c {
        Carrier::EtherType(t) => named(format!("EtherType 0x{t:04x}"), ethertype_name(t)),
        Carrier::AddressFamily(f) => format!("address family {f}"),
        Carrier::IpVersion(v) => format!("IP version {v} (not IP)"),
        Carrier::IpProtocol(p) => named(format!("IP protocol {p}"), ip_protocol_name(p)),
        Carrier::UdpPort(p) => named(format!("UDP port {p}"), udp_port_name(p)),
        Carrier::GreProtocol(p) => named(format!("GRE protocol 0x{p:04x}"), ethertype_name(p)),
    }
}

/// IEEE EtherTypes seen in captures.
fn ethertype_name(t: u16) -> Option<&'static str> {
    Some(match t {
        0x0806 => "ARP",
        0x8035 => "RARP",
        0x809B => "AppleTalk",
        0x880B => "PPP",
        0x8863 | 0x8864 => "PPPoE",
        0x888E => "EAPOL",
        0x88CC => "LLDP",
        0x88E5 => "MACsec",
        0x88F7 => "PTP",
        0x8906 => "FCoE",
        0x22F0 => "AVTP",
        t if t <= 0x05DC => "802.3 length field: LLC/STP",
        _ => return None,
    })
}

/// IANA protocol numbers seen in captures.
fn ip_protocol_name(p: u8) -> Option<&'static str> {
    Some(match p {
        1 => "ICMP",
        2 => "IGMP",
        50 => "ESP",
        51 => "AH",
        58 => "ICMPv6",
        89 => "OSPF",
        103 => "PIM",
        112 => "VRRP",
        132 => "SCTP",
        _ => return None,
    })
}

/// IANA UDP ports seen in captures, with QUIC (HTTP/3) first: s3wire cannot read it.
fn udp_port_name(p: u16) -> Option<&'static str> {
    Some(match p {
        443 => "QUIC or DTLS",
        53 => "DNS",
        67 | 68 => "DHCP",
        123 => "NTP",
        137 | 138 => "NetBIOS",
        161 | 162 => "SNMP",
        500 | 4500 => "IPsec IKE/NAT-T",
        514 => "syslog",
        1900 => "SSDP",
        4790 => "VXLAN-GPE, not opened: header not VXLAN-GPE",
        5353 => "mDNS",
        6081 => "Geneve, not opened: header not Geneve",
        4789 | 8472 => "VXLAN, not opened: I flag not set",
        _ => return None,
    })
}
