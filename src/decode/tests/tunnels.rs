//! Tunnels, hand-built around the real loopback request frames of `tests.rs`: the layouts the
//! fixtures (`fixtures/gen/tunnel.py`) do not cover, and every way a tunnel header can be cut,
//! unknown or too deep. The fixtures test each tunnel end to end on real captures.

use super::*;
use crate::decode::{Encap, MAX_TUNNELS, decode_tunnelled};

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    [&[0u8; 12][..], &ethertype.to_be_bytes(), payload].concat()
}

/// An IPv4 header (no options; the checksum is not checked by decode) around `payload`.
fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let len = (20 + payload.len()) as u16;
    let mut h = vec![
        0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    h[2..4].copy_from_slice(&len.to_be_bytes());
    [h, payload.to_vec()].concat()
}

fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0, 0, 0, next, 64];
    h[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[0xfd; 32]);
    [h, payload.to_vec()].concat()
}

fn udp(dport: u16, body: &[u8]) -> Vec<u8> {
    let len = (8 + body.len()) as u16;
    let mut h = vec![0xc0, 0x01];
    h.extend_from_slice(&dport.to_be_bytes());
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    [h, body.to_vec()].concat()
}

fn vxlan(frame: &[u8]) -> Vec<u8> {
    let v = udp(4789, &[&[0x08, 0, 0, 0, 0, 0, 0x01, 0][..], frame].concat());
    eth(0x0800, &ipv4(17, &v))
}

fn opened(frame: &[u8]) -> Vec<Encap> {
    decode_tunnelled(LinkType::ETHERNET, frame)
        .1
        .iter()
        .collect()
}

#[test]
fn vxlan_on_the_iana_and_the_linux_port() {
    let inner = hex(ETH_V4_GET);
    let frame = vxlan(&inner);
    assert_v4_request(LinkType::ETHERNET, &frame);
    assert_eq!(opened(&frame), [Encap::Vxlan]);
    let mut linux = frame.clone();
    linux[36..38].copy_from_slice(&8472u16.to_be_bytes());
    assert_v4_request(LinkType::ETHERNET, &linux);
    // Without the I flag it is not VXLAN: UDP, tallied by its lower port.
    let mut no_flag = frame.clone();
    no_flag[42] = 0;
    assert_eq!(
        decode(LinkType::ETHERNET, &no_flag),
        Err(Skip::NotTcp(Carrier::UdpPort(4789)))
    );
    // Another port is just UDP.
    let mut other = frame;
    other[36..38].copy_from_slice(&4799u16.to_be_bytes());
    assert_eq!(
        decode(LinkType::ETHERNET, &other),
        Err(Skip::NotTcp(Carrier::UdpPort(4799)))
    );
}

#[test]
fn vxlan_gpe_carries_ip_directly() {
    let ip = ip_v6();
    let body = [&[0x0c, 0, 0, 2, 0, 0, 0x01, 0][..], &ip].concat();
    let frame = eth(0x0800, &ipv4(17, &udp(4790, &body)));
    assert_v6_request(LinkType::ETHERNET, &frame);
    // Next protocol 4 (NSH) is not opened.
    let mut nsh = frame;
    nsh[45] = 4;
    assert_eq!(
        decode(LinkType::ETHERNET, &nsh),
        Err(Skip::NotTcp(Carrier::UdpPort(4790)))
    );
}

#[test]
fn geneve_options_are_skipped_and_version_checked() {
    let inner = hex(ETH_V4_GET);
    // Two words of options; protocol 0x0800 (IP directly, as AWS GWLB sends it).
    let head = [0x02, 0, 0x08, 0x00, 0, 0, 7, 0, 1, 2, 3, 4, 5, 6, 7, 8];
    let body = [&head[..], &ip_v4()].concat();
    let frame = eth(0x86DD, &ipv6(17, &udp(6081, &body)));
    assert_v4_request(LinkType::ETHERNET, &frame);
    assert_eq!(opened(&frame), [Encap::Geneve]);
    let bridged = [&[0u8, 0, 0x65, 0x58, 0, 0, 7, 0][..], &inner].concat();
    assert_v4_request(LinkType::RAW, &ipv4(17, &udp(6081, &bridged)));
    let mut v1 = bridged;
    v1[0] = 0x40;
    assert_eq!(
        decode(LinkType::RAW, &ipv4(17, &udp(6081, &v1))),
        Err(Skip::NotTcp(Carrier::UdpPort(6081)))
    );
}

#[test]
fn gre_with_every_optional_field_and_unknown_payloads() {
    // C, K and S set: 4 + 4 + 4 + 4 bytes before the IPv4 packet.
    let gre = [
        &[0xb0, 0, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1][..],
        &ip_v4(),
    ]
    .concat();
    assert_v4_request(LinkType::RAW, &ipv4(47, &gre));
    assert_v4_request(LinkType::RAW, &ipv6(47, &gre));
    // Transparent Ethernet Bridging (NVGRE-like).
    let teb = [&[0x20, 0, 0x65, 0x58, 0, 0, 1, 0][..], &hex(ETH_V6_GET)].concat();
    assert_v6_request(LinkType::RAW, &ipv4(47, &teb));
    // PPTP's enhanced GRE (version 1, PPP inside) and the routing bit are not opened.
    let pptp = [0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        decode(LinkType::RAW, &ipv4(47, &pptp)),
        Err(Skip::NotTcp(Carrier::GreProtocol(0x880b)))
    );
    let routing = [&[0x40, 0, 0x08, 0x00][..], &ip_v4()].concat();
    assert_eq!(
        decode(LinkType::RAW, &ipv4(47, &routing)),
        Err(Skip::NotTcp(Carrier::GreProtocol(0x0800)))
    );
    // Cut inside the optional fields.
    assert_eq!(
        decode(LinkType::RAW, &ipv4(47, &gre[..10])),
        Err(Skip::Malformed)
    );
}

#[test]
fn erspan_type_one_has_no_header_and_type_three_without_subheader() {
    let inner = hex(ETH_V4_GET);
    let type1 = [&[0x00, 0, 0x88, 0xbe][..], &inner].concat();
    let frame = eth(0x0800, &ipv4(47, &type1));
    assert_v4_request(LinkType::ETHERNET, &frame);
    assert_eq!(opened(&frame), [Encap::Erspan]);
    let type3 = [
        &[0x00, 0, 0x22, 0xeb][..],
        &[0x20, 0, 0, 1],
        &[0; 4],
        &[0; 4],
        &inner,
    ]
    .concat();
    assert_v4_request(LinkType::RAW, &ipv4(47, &type3));
    assert_eq!(
        decode(LinkType::RAW, &ipv4(47, &type3[..14])),
        Err(Skip::Malformed)
    );
}

#[test]
fn mpls_stacks_with_ip_or_a_pseudowire() {
    let labels = [0x00, 0x01, 0x00, 64, 0x00, 0x02, 0x01, 64];
    let frame = eth(0x8847, &[&labels[..], &ip_v6()].concat());
    assert_v6_request(LinkType::ETHERNET, &frame);
    assert_eq!(opened(&frame), [Encap::Mpls]);
    // An Ethernet pseudowire with its control word (RFC 4385), as SLL shows it.
    let pw = [&labels[..], &[0, 0, 0, 0], &hex(ETH_V4_GET)].concat();
    let mut sll = hex(SLL_V4_GET)[..16].to_vec();
    sll[14..16].copy_from_slice(&[0x88, 0x47]);
    assert_v4_request(LinkType::LINUX_SLL, &[&sll[..], &pw].concat());
    // MPLS in IP (RFC 4023) and in UDP (RFC 7510).
    let stack = [&labels[4..], &ip_v4()[..]].concat();
    assert_v4_request(LinkType::RAW, &ipv4(137, &stack));
    assert_v4_request(LinkType::RAW, &ipv6(17, &udp(6635, &stack)));
    // A stack that never reaches its bottom.
    assert_eq!(
        decode(
            LinkType::ETHERNET,
            &eth(0x8847, &[0, 1, 0, 64, 0, 2, 0, 64])
        ),
        Err(Skip::Malformed)
    );
}

#[test]
fn ip_in_ip_every_way() {
    assert_v4_request(LinkType::RAW, &ipv4(4, &ip_v4()));
    assert_v6_request(LinkType::RAW, &ipv4(41, &ip_v6()));
    assert_v6_request(LinkType::RAW, &ipv6(41, &ip_v6()));
    assert_v4_request(LinkType::RAW, &ipv6(4, &ip_v4()));
    // The protocol says IPv4, the packet is IPv6.
    assert_eq!(
        decode(LinkType::RAW, &ipv4(4, &ip_v6())),
        Err(Skip::Malformed)
    );
}

#[test]
fn a_fragmented_tunnel_packet_is_a_fragment() {
    let mut outer = ipv4(17, &udp(4789, &[0x08; 8]));
    outer[6] = 0x20;
    assert_eq!(decode(LinkType::RAW, &outer), Err(Skip::Fragment));
    // A fragment of anything else is still what it is.
    let mut icmp = ipv4(1, &[8, 0, 0, 0]);
    icmp[6] = 0x20;
    assert_eq!(
        decode(LinkType::RAW, &icmp),
        Err(Skip::NotTcp(Carrier::IpProtocol(1)))
    );
}

#[test]
fn nesting_is_bounded() {
    let mut ip = ip_v4();
    for _ in 0..MAX_TUNNELS {
        ip = ipv4(4, &ip);
    }
    assert_v4_request(LinkType::RAW, &ip);
    let deeper = ipv4(4, &ip);
    let (result, tunnels) = decode_tunnelled(LinkType::RAW, &deeper);
    assert_eq!(result, Err(Skip::TooDeep));
    assert!(tunnels.contains(Encap::IpInIp));
    // VXLAN in VXLAN in GRE: each kind is reported once.
    let frame = vxlan(&vxlan(&hex(ETH_V4_GET)));
    let gre = [&[0x20, 0, 0x65, 0x58, 0, 0, 0, 1][..], &frame].concat();
    let outer = eth(0x86DD, &ipv6(47, &gre));
    assert_v4_request(LinkType::ETHERNET, &outer);
    assert_eq!(opened(&outer), [Encap::Gre, Encap::Vxlan]);
}

#[test]
fn snaplen_cut_inner_packet_reports_missing_bytes() {
    let frame = vxlan(&hex(ETH_V4_GET));
    let cut = frame.len() - 75;
    let seg = decode(LinkType::ETHERNET, &frame[..cut]).expect("decodes");
    assert_eq!(seg.payload, b"GET /index.htm");
    assert_eq!(seg.missing, 75);
}

proptest! {
    /// Arbitrary bytes after each tunnel header reach the inner parsers without a panic.
    #[test]
    fn tunnels_never_panic(cut in 0usize..260, noise in prop::collection::vec(any::<u8>(), 0..80)) {
        let inner = hex(ETH_V4_GET);
        for frame in [vxlan(&inner), vxlan(&vxlan(&inner)), eth(0x8847, &[&[0, 1, 1, 64][..], &ip_v4()].concat())] {
            let mut data = frame[..cut.min(frame.len())].to_vec();
            data.extend_from_slice(&noise);
            let _ = decode_tunnelled(LinkType::ETHERNET, &data);
        }
    }
}
