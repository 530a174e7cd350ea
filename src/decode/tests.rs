//! Frames copied from real loopback captures made on this machine with tcpdump 4.99.3 (libpcap
//! 1.10.3) while `curl` 7.88.1 fetched `/index.html` from `python3 -m http.server`:
//! `tcpdump -i lo` (EN10MB), `tcpdump -i any -y LINUX_SLL`, `tcpdump -i any -y LINUX_SLL2` and
//! `tcpdump -i lo -s 80`. Other link types wrap the same IP bytes in their header.

use std::net::SocketAddr;

use proptest::prelude::*;

use super::{Carrier, Skip, TcpFlags, decode};
use crate::source::LinkType;

/// `-i lo`: 127.0.0.1:38250 → 127.0.0.1:18765, PSH|ACK, the 89-byte `GET /index.html` request.
const ETH_V4_GET: &str = "00000000000000000000000008004500008dab914000400690d77f0000017f000001956a494d57710f493261c22b80180040fe8100000101080a75b6f39175faa722474554202f696e6465782e68746d6c20485454502f312e310d0a486f73743a203132372e302e302e313a31383736350d0a557365722d4167656e743a206375726c2f372e38382e310d0a4163636570743a202a2f2a0d0a0d0a";
/// `-i lo`: the client's SYN.
const ETH_V4_SYN: &str = "00000000000000000000000008004500003cab8f40004006912a7f0000017f000001956a494d57710f4800000000a002ffd7fe3000000204ffd70402080a75b6f390000000000103030a";
/// `-i lo`: [::1]:59692 → [::1]:18766, PSH|ACK, the 85-byte request.
const ETH_V6_GET: &str = "00000000000000000000000086dd6002632c007506400000000000000000000000000000000100000000000000000000000000000001e92c494eb1331fb18958996380180040007d00000101080a9c56c1612ba15771474554202f696e6465782e68746d6c20485454502f312e310d0a486f73743a205b3a3a315d3a31383736360d0a557365722d4167656e743a206375726c2f372e38382e310d0a4163636570743a202a2f2a0d0a0d0a";
/// `-i any -y LINUX_SLL`: the same request as seen on `lo` (ARPHRD_LOOPBACK 0x0304).
const SLL_V4_GET: &str = "000003040006000000000000000008004500008dab914000400690d77f0000017f000001956a494d57710f493261c22b80180040fe8100000101080a75b6f39175faa722474554202f696e6465782e68746d6c20485454502f312e310d0a486f73743a203132372e302e302e313a31383736350d0a557365722d4167656e743a206375726c2f372e38382e310d0a4163636570743a202a2f2a0d0a0d0a";
/// `-i any -y LINUX_SLL2`: the same request.
const SLL2_V4_GET: &str = "08000000000000010304000600000000000000004500008dab914000400690d77f0000017f000001956a494d57710f493261c22b80180040fe8100000101080a75b6f39175faa722474554202f696e6465782e68746d6c20485454502f312e310d0a486f73743a203132372e302e302e313a31383736350d0a557365722d4167656e743a206375726c2f372e38382e310d0a4163636570743a202a2f2a0d0a0d0a";
/// `-i lo -s 80`: the same request cut to 80 of its 155 bytes by the snaplen.
const ETH_V4_GET_SNAP80: &str = "00000000000000000000000008004500008dab914000400690d77f0000017f000001956a494d57710f493261c22b80180040fe8100000101080a75b6f39175faa722474554202f696e6465782e68746d";

mod tunnels;

const REQUEST_V4: &[u8] =
    b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:18765\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
const REQUEST_V6: &[u8] =
    b"GET /index.html HTTP/1.1\r\nHost: [::1]:18766\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex"))
        .collect()
}

/// The IPv4 packet inside the Ethernet request frame.
fn ip_v4() -> Vec<u8> {
    hex(ETH_V4_GET)[14..].to_vec()
}

fn ip_v6() -> Vec<u8> {
    hex(ETH_V6_GET)[14..].to_vec()
}

fn with_prefix(prefix: &[u8], ip: &[u8]) -> Vec<u8> {
    [prefix, ip].concat()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

/// Every field of the IPv4 request segment, whatever link it came over.
fn assert_v4_request(link: LinkType, frame: &[u8]) {
    let seg = decode(link, frame).expect("decodes");
    assert_eq!(seg.src, addr("127.0.0.1:38250"));
    assert_eq!(seg.dst, addr("127.0.0.1:18765"));
    assert_eq!(seg.seq, 0x5771_0f49);
    assert_eq!(seg.ack, 0x3261_c22b);
    assert_eq!(seg.flags, TcpFlags(TcpFlags::PSH | TcpFlags::ACK));
    assert_eq!(seg.payload, REQUEST_V4);
    assert_eq!(seg.missing, 0);
}

fn assert_v6_request(link: LinkType, frame: &[u8]) {
    let seg = decode(link, frame).expect("decodes");
    assert_eq!(seg.src, addr("[::1]:59692"));
    assert_eq!(seg.dst, addr("[::1]:18766"));
    assert_eq!(seg.seq, 0xb133_1fb1);
    assert_eq!(seg.ack, 0x8958_9963);
    assert_eq!(seg.payload, REQUEST_V6);
    assert_eq!(seg.missing, 0);
}

#[test]
fn ethernet_ipv4_and_ipv6() {
    assert_v4_request(LinkType::ETHERNET, &hex(ETH_V4_GET));
    assert_v6_request(LinkType::ETHERNET, &hex(ETH_V6_GET));
}

#[test]
fn syn_flags_and_empty_payload() {
    let frame = hex(ETH_V4_SYN);
    let seg = decode(LinkType::ETHERNET, &frame).expect("decodes");
    assert!(seg.flags.syn() && !seg.flags.ack() && !seg.flags.fin() && !seg.flags.rst());
    assert_eq!(seg.seq, 0x5771_0f48);
    assert!(seg.payload.is_empty());
}

#[test]
fn ethernet_with_one_and_two_vlan_tags() {
    let frame = hex(ETH_V4_GET);
    let (macs, rest) = frame.split_at(12);
    let dot1q = [macs, &[0x81, 0x00, 0x00, 0x64], rest].concat();
    assert_v4_request(LinkType::ETHERNET, &dot1q);
    let qinq = [
        macs,
        &[0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64],
        rest,
    ]
    .concat();
    assert_v4_request(LinkType::ETHERNET, &qinq);
    // A tag cut before its EtherType.
    assert_eq!(
        decode(LinkType::ETHERNET, &qinq[..16]),
        Err(Skip::Malformed)
    );
}

#[test]
fn ethernet_trailer_is_not_payload() {
    // Short frames are padded to 60 bytes and some captures keep the 4-byte FCS: the IPv4 total
    // length, not the frame length, ends the payload.
    let mut frame = hex(ETH_V4_GET);
    frame.extend_from_slice(&[0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
    assert_v4_request(LinkType::ETHERNET, &frame);
    let mut frame = hex(ETH_V6_GET);
    frame.extend_from_slice(&[0; 6]);
    assert_v6_request(LinkType::ETHERNET, &frame);
}

#[test]
fn ipv4_total_length_zero_falls_back_to_captured_length() {
    // What a capture of outgoing packets shows before TCP segmentation offload fills the field.
    let mut ip = ip_v4();
    ip[2..4].copy_from_slice(&[0, 0]);
    assert_v4_request(LinkType::RAW, &ip);
}

#[test]
fn linux_sll_from_lo_and_sll2() {
    assert_v4_request(LinkType::LINUX_SLL, &hex(SLL_V4_GET));
    assert_v4_request(LinkType::LINUX_SLL2, &hex(SLL2_V4_GET));
}

#[test]
fn null_in_both_byte_orders_and_loop() {
    let v4 = ip_v4();
    assert_v4_request(LinkType::NULL, &with_prefix(&[2, 0, 0, 0], &v4));
    assert_v4_request(LinkType::NULL, &with_prefix(&[0, 0, 0, 2], &v4));
    for family in [10u8, 24, 28, 30] {
        assert_v6_request(LinkType::NULL, &with_prefix(&[family, 0, 0, 0], &ip_v6()));
        assert_v6_request(LinkType::NULL, &with_prefix(&[0, 0, 0, family], &ip_v6()));
    }
    assert_v4_request(LinkType::LOOP, &with_prefix(&[0, 0, 0, 2], &v4));
    assert_v6_request(LinkType::LOOP, &with_prefix(&[0, 0, 0, 24], &ip_v6()));
    // LOOP is always network byte order: a little-endian 2 is family 0x02000000.
    assert_eq!(
        decode(LinkType::LOOP, &with_prefix(&[2, 0, 0, 0], &v4)),
        Err(Skip::NotIp(Carrier::AddressFamily(0x0200_0000)))
    );
    // AF_APPLETALK (16) is not IP.
    assert_eq!(
        decode(LinkType::NULL, &with_prefix(&[16, 0, 0, 0], &v4)),
        Err(Skip::NotIp(Carrier::AddressFamily(16)))
    );
}

#[test]
fn raw_ipv4_ipv6_link_types() {
    assert_v4_request(LinkType::RAW, &ip_v4());
    assert_v6_request(LinkType::RAW, &ip_v6());
    assert_v4_request(LinkType::IPV4, &ip_v4());
    assert_v6_request(LinkType::IPV6, &ip_v6());
    assert_eq!(decode(LinkType::IPV4, &ip_v6()), Err(Skip::Malformed));
    assert_eq!(decode(LinkType::IPV6, &ip_v4()), Err(Skip::Malformed));
    assert_eq!(
        decode(LinkType::RAW, &[0x50; 40]),
        Err(Skip::NotIp(Carrier::IpVersion(5)))
    );
}

/// The IPv6 request with an 8-byte extension header (`next`, length 0, PadN of 4) before TCP.
fn ipv6_with_ext(ext_type: u8, ext_body: [u8; 6]) -> Vec<u8> {
    let mut ip = ip_v6();
    let payload_len = u16::from_be_bytes([ip[4], ip[5]]) + 8;
    ip[4..6].copy_from_slice(&payload_len.to_be_bytes());
    ip[6] = ext_type;
    let ext = [&[6u8, 0][..], &ext_body].concat();
    [&ip[..40], &ext, &ip[40..]].concat()
}

#[test]
fn ipv6_extension_header_is_skipped() {
    // Hop-by-Hop Options (RFC 8200 §4.3) holding a PadN option.
    let ip = ipv6_with_ext(0, [1, 4, 0, 0, 0, 0]);
    assert_v6_request(LinkType::RAW, &ip);
    // Destination Options (60) likewise.
    assert_v6_request(LinkType::RAW, &ipv6_with_ext(60, [1, 4, 0, 0, 0, 0]));
    // Cut inside the extension header.
    assert_eq!(decode(LinkType::RAW, &ip[..44]), Err(Skip::Malformed));
}

#[test]
fn fragments_are_skipped() {
    // IPv6 Fragment header (RFC 8200 §4.5), offset 0 with More Fragments set.
    let ip = ipv6_with_ext(44, [0x00, 0x01, 0, 0, 0, 7]);
    assert_eq!(decode(LinkType::RAW, &ip), Err(Skip::Fragment));
    // An atomic fragment (offset 0, no More Fragments) is a whole datagram.
    assert_v6_request(LinkType::RAW, &ipv6_with_ext(44, [0, 0, 0, 0, 0, 7]));
    // IPv4 More Fragments (RFC 791 §3.1 flags), and a later fragment with an offset.
    let mut ip = ip_v4();
    ip[6] = 0x20;
    assert_eq!(decode(LinkType::RAW, &ip), Err(Skip::Fragment));
    ip[6] = 0x00;
    ip[7] = 0x10;
    assert_eq!(decode(LinkType::RAW, &ip), Err(Skip::Fragment));
}

#[test]
fn snaplen_cut_payload_reports_missing_bytes() {
    let frame = hex(ETH_V4_GET_SNAP80);
    let seg = decode(LinkType::ETHERNET, &frame).expect("decodes");
    assert_eq!(seg.payload, b"GET /index.htm");
    assert_eq!(seg.missing, 75);
    assert_eq!(seg.payload.len() as u32 + seg.missing, 89);
    let frame = hex(ETH_V6_GET);
    let seg = decode(LinkType::ETHERNET, &frame[..100]).expect("decodes");
    assert_eq!(seg.payload, &REQUEST_V6[..14]);
    assert_eq!(seg.missing, 85 - 14);
}

#[test]
fn cut_inside_tcp_or_ip_header_is_malformed() {
    let frame = hex(ETH_V4_GET);
    for len in [0, 10, 13, 14, 20, 33, 34, 40, 53, 60, 65] {
        assert_eq!(
            decode(LinkType::ETHERNET, &frame[..len]),
            Err(Skip::Malformed),
            "cut at {len}"
        );
    }
}

#[test]
fn not_ip_not_tcp_unsupported_link() {
    let mut arp = hex(ETH_V4_GET);
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    let arp_kind = Err(Skip::NotIp(Carrier::EtherType(0x0806)));
    assert_eq!(decode(LinkType::ETHERNET, &arp), arp_kind);
    // The TCP header read as UDP: ports 38250 → 18765, tallied by the lower one.
    let mut udp = ip_v4();
    udp[9] = 17;
    assert_eq!(
        decode(LinkType::RAW, &udp),
        Err(Skip::NotTcp(Carrier::UdpPort(18765)))
    );
    let mut icmp6 = ip_v6();
    icmp6[6] = 58;
    assert_eq!(
        decode(LinkType::RAW, &icmp6),
        Err(Skip::NotTcp(Carrier::IpProtocol(58)))
    );
    let mut sll_arp = hex(SLL_V4_GET);
    sll_arp[14..16].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(decode(LinkType::LINUX_SLL, &sll_arp), arp_kind);
    // LINKTYPE_IEEE802_11 (105).
    assert_eq!(
        decode(LinkType(105), &hex(ETH_V4_GET)),
        Err(Skip::UnsupportedLink)
    );
}

const LINKS: [LinkType; 9] = [
    LinkType::ETHERNET,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::NULL,
    LinkType::LOOP,
    LinkType::RAW,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType(105),
];

proptest! {
    #[test]
    fn decode_never_panics(link in prop::sample::select(&LINKS[..]), data in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode(link, &data);
    }

    /// Arbitrary bytes after a valid link and IP prefix reach the deeper parsers.
    #[test]
    fn decode_never_panics_past_valid_headers(cut in 0usize..171, noise in prop::collection::vec(any::<u8>(), 0..80)) {
        let frame = hex(ETH_V6_GET);
        let mut data = frame[..cut].to_vec();
        data.extend_from_slice(&noise);
        let _ = decode(LinkType::ETHERNET, &data);
        let frame = hex(ETH_V4_GET);
        let mut data = frame[..cut.min(frame.len())].to_vec();
        data.extend_from_slice(&noise);
        if let Ok(seg) = decode(LinkType::ETHERNET, &data) {
            prop_assert!(seg.payload.len() <= data.len());
        }
    }
}

/// The fields a frame is built from (see [`Built::frame`]), each drawn to land on both sides of
/// what the fast path reads by hand: lengths too short, equal, long or cut; fragment bits; other
/// protocols; data offsets inside, at and past the segment.
#[derive(Debug)]
struct Built {
    link: LinkType,
    v6: bool,
    version: u8,
    ihl: u8,
    length_delta: i32,
    protocol: u8,
    fragment: u16,
    offset_words: u8,
    numbers: u64,
    flags: u8,
    payload: Vec<u8>,
    cut: usize,
}

impl Built {
    fn frame(&self) -> Vec<u8> {
        let Built {
            link,
            v6,
            version,
            ihl,
            length_delta,
            protocol,
            fragment,
            offset_words,
            numbers,
            flags,
            ref payload,
            cut,
        } = *self;
        let mut tcp = vec![0u8; 20];
        tcp[..4].copy_from_slice(&[0x95, 0x6a, 0x49, 0x4d]);
        tcp[4..12].copy_from_slice(&numbers.to_be_bytes());
        tcp[12] = offset_words << 4;
        tcp[13] = flags;
        tcp.extend_from_slice(&[0u8; 12]);
        tcp.extend_from_slice(payload);
        let ip = if v6 {
            let mut ip = vec![0u8; 40];
            ip[0] = version << 4;
            let len = (tcp.len() as i32 + length_delta).clamp(0, 0xffff) as u16;
            ip[4..6].copy_from_slice(&len.to_be_bytes());
            ip[6] = protocol;
            ip[8..40]
                .iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b = i as u8);
            ip.extend_from_slice(&tcp);
            ip
        } else {
            let mut ip = vec![0u8; usize::from(ihl & 0x0f).max(5) * 4];
            ip[0] = (version << 4) | (ihl & 0x0f);
            let len = (ip.len() as i32 + tcp.len() as i32 + length_delta).clamp(0, 0xffff) as u16;
            ip[2..4].copy_from_slice(&len.to_be_bytes());
            ip[6..8].copy_from_slice(&fragment.to_be_bytes());
            ip[9] = protocol;
            ip[12..20].copy_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
            ip.extend_from_slice(&tcp);
            ip
        };
        let ethertype: &[u8] = if v6 { &[0x86, 0xdd] } else { &[0x08, 0x00] };
        let prefix: Vec<u8> = match link {
            LinkType::ETHERNET => [&[0u8; 12][..], ethertype].concat(),
            LinkType::LINUX_SLL => [&[0u8; 14][..], ethertype].concat(),
            LinkType::LINUX_SLL2 => [ethertype, &[0u8; 18][..]].concat(),
            LinkType::NULL => {
                if v6 {
                    vec![10, 0, 0, 0]
                } else {
                    vec![2, 0, 0, 0]
                }
            }
            LinkType::LOOP => {
                if v6 {
                    vec![0, 0, 0, 30]
                } else {
                    vec![0, 0, 0, 2]
                }
            }
            _ => Vec::new(),
        };
        let mut frame = with_prefix(&prefix, &ip);
        frame.truncate(frame.len().saturating_sub(cut));
        frame
    }
}

/// One of `usual` most of the time, else one of `odd`: each check of the fast path is met by
/// most frames and missed by some, so that frames passing every other check reach each one.
fn mostly<T: Clone + std::fmt::Debug + 'static>(usual: Vec<T>, odd: Vec<T>) -> BoxedStrategy<T> {
    prop_oneof![4 => prop::sample::select(usual), 1 => prop::sample::select(odd)].boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Where the hand-read fast path answers, it answers as the general walk does: the same
    /// segment (addresses, numbers, flags, payload, missing bytes) or the same skip, and the same
    /// tunnels, for frames built around every check it makes.
    #[test]
    fn plain_tcp_is_the_walk(
        link in mostly(LINKS[..8].to_vec(), LINKS[8..].to_vec()),
        v6 in any::<bool>(),
        right_version in prop::bool::weighted(0.8),
        odd_version in prop::sample::select(vec![0u8, 5, 15, 4, 6]),
        ihl in mostly(vec![5u8, 6, 15], vec![0, 1, 4]),
        length_delta in mostly(vec![0i32, -1, -12], vec![1, 12, -20, -60, -100_000, 100_000]),
        protocol in mostly(vec![6u8], vec![17, 4, 41, 47, 51, 0, 43, 44, 60]),
        fragment in mostly(vec![0u16, 0x4000], vec![0x2000, 0x0001, 0x1fff, 0xffff, 0x8000]),
        offset_words in mostly((5u8..16).collect(), (0u8..5).collect()),
        numbers in any::<u64>(),
        flags in any::<u8>(),
        payload in prop::collection::vec(any::<u8>(), 0..40),
        cut in mostly(vec![0usize], vec![1, 4, 20, 50, 70]),
    ) {
        let version = match (right_version, v6) {
            (true, true) => 6,
            (true, false) => 4,
            (false, _) => odd_version,
        };
        let frame = Built {
            link, v6, version, ihl, length_delta, protocol, fragment, offset_words, numbers, flags,
            payload, cut,
        }
        .frame();
        prop_assert_eq!(
            super::decode_tunnelled(link, &frame),
            super::decode_walked(link, &frame)
        );
    }
}

/// The frames the fixtures hold take the fast path, and it reads them as the walk does.
#[test]
fn captured_frames_take_the_fast_path() {
    for (link, frame) in [
        (LinkType::ETHERNET, hex(ETH_V4_GET)),
        (LinkType::ETHERNET, hex(ETH_V4_SYN)),
        (LinkType::ETHERNET, hex(ETH_V6_GET)),
        (LinkType::LINUX_SLL, hex(SLL_V4_GET)),
        (LinkType::LINUX_SLL2, hex(SLL2_V4_GET)),
    ] {
        let Ok(super::link::Layer::Ip(version, ip)) = super::link::first_layer(link, &frame) else {
            panic!("IP over {link:?}");
        };
        let fast = super::segment::plain_tcp(version, ip).expect("the usual frame is plain TCP");
        assert_eq!(Ok(fast), super::decode_walked(link, &frame).0);
        if link == LinkType::ETHERNET {
            assert_eq!(super::link::plain_ethernet(&frame), Some(fast));
        }
    }
}

/// Every frame of a legacy pcap file: its link type and each record's captured bytes (a
/// reader of its own, so this test does not hang on the capture readers'). Standard libpcap
/// files only: magic in either byte order, microseconds or nanoseconds.
fn pcap_frames(bytes: &[u8]) -> Option<(LinkType, Vec<&[u8]>)> {
    let magic = bytes.get(..4)?;
    let big = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => false,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => true,
        _ => return None,
    };
    let word = |at: usize| -> Option<u32> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let link = LinkType(word(20)? & 0x0fff_ffff);
    let (mut at, mut frames) = (24, Vec::new());
    while let Some(caplen) = word(at + 8) {
        let start = at + 16;
        let end = start + caplen as usize;
        frames.push(bytes.get(start..end)?);
        at = end;
    }
    Some((link, frames))
}

/// Every frame of the fixture captures decodes through the fast paths as through the walk,
/// and the Ethernet lane takes the plain ones.
#[test]
fn fixture_frames_decode_as_the_walk_does() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/captures");
    let (mut frames_seen, mut ethernet_lane) = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "pcap") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let Some((link, frames)) = pcap_frames(&bytes) else {
            continue;
        };
        for frame in frames {
            frames_seen += 1;
            assert_eq!(
                super::decode_tunnelled(link, frame),
                super::decode_walked(link, frame),
                "{}: {frame:02x?}",
                path.display()
            );
            if link == LinkType::ETHERNET && super::link::plain_ethernet(frame).is_some() {
                ethernet_lane += 1;
            }
        }
    }
    assert!(frames_seen > 1000, "{frames_seen} frames");
    assert!(
        ethernet_lane > 500,
        "{ethernet_lane} of {frames_seen} frames"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Arbitrary bytes behind an Ethernet header (plain, VLAN-tagged or not IP) and a
    /// plausible IPv4 or IPv6 start: the fast paths answer as the walk does, and never panic.
    #[test]
    fn ethernet_lane_is_the_walk_on_arbitrary_bytes(
        ethertype in prop::sample::select(vec![0x0800u16, 0x86dd, 0x8100, 0x0806, 0x8847]),
        first in prop::sample::select(vec![0x45u8, 0x46, 0x4f, 0x44, 0x60, 0x65, 0x00]),
        tail in prop::collection::vec(any::<u8>(), 0..120),
        cut in 0usize..16,
    ) {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.push(first);
        frame.extend_from_slice(&tail);
        frame.truncate(frame.len().saturating_sub(cut));
        prop_assert_eq!(
            super::decode_tunnelled(LinkType::ETHERNET, &frame),
            super::decode_walked(LinkType::ETHERNET, &frame)
        );
    }

    /// Wholly arbitrary frames of every link type: the fast paths answer as the walk does.
    #[test]
    fn fast_paths_are_the_walk_on_arbitrary_frames(
        link in prop::sample::select(&LINKS[..]),
        data in prop::collection::vec(any::<u8>(), 0..120),
    ) {
        prop_assert_eq!(super::decode_tunnelled(link, &data), super::decode_walked(link, &data));
    }
}
