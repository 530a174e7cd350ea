//! **decode**: a link-layer frame → a TCP segment view, zero-copy.
//!
//! Ethernet (802.1Q/802.1ad VLAN tags), Linux cooked v1 (SLL) and v2 (SLL2), BSD loopback/NULL and
//! raw IPv4/IPv6. etherparse cannot slice SLL2, nor SLL from non-Ethernet devices such as `lo`, so
//! those two headers are read here and the rest is handed to etherparse by EtherType. The usual
//! packet (plain TCP in IPv4 or IPv6, nothing cut) is read by hand as well, without the walk
//! below (`segment::plain_tcp`): it is nearly every frame of a capture.
//!
//! Tunnels are opened (`tunnel.rs`): IP-in-IP and IPv6-in-IP/IPv6, GRE (Ethernet bridging and
//! ERSPAN types I–III, over IPv4 or IPv6), VXLAN, VXLAN-GPE, Geneve and MPLS label stacks (over
//! Ethernet, IP, UDP or GRE), nested up to [`MAX_TUNNELS`] deep. The segment is the innermost
//! packet's: flows are keyed by the inner addresses. Anything that is not TCP is reported as a
//! [`Skip`] saying what it was, to be counted — never silently dropped.

pub mod link;
pub mod names;
pub mod segment;
mod tunnel;

pub use segment::{Segment, TcpFlags};

use link::Layer;
use segment::Transport;

/// Tunnels opened inside one frame, at most. Each one is a header that carries another packet
/// (IP-in-IP, GRE, ERSPAN, VXLAN, Geneve, an MPLS stack), so real stacks need two or three
/// (mirrored VXLAN inside a provider's MPLS); deeper nesting is counted as [`Skip::TooDeep`].
pub const MAX_TUNNELS: usize = 8;

/// Why a frame produced no TCP segment. Counted in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    /// A link type this build does not decode.
    UnsupportedLink,
    /// Not IP (ARP, LLDP, …): what the header said it was.
    NotIp(Carrier),
    /// IP but neither TCP nor a tunnel opened here (UDP, ICMP, …): which protocol or port.
    NotTcp(Carrier),
    /// An IP fragment, the first one included: IP datagrams are not reassembled, and TCP (or a
    /// tunnel's inner packet) needs the whole datagram.
    Fragment,
    /// Headers malformed or cut by the snaplen before the TCP header ended.
    Malformed,
    /// More than [`MAX_TUNNELS`] tunnels nested.
    TooDeep,
}

/// What a frame that was not analysed carried, as far as its headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Carrier {
    EtherType(u16),
    /// A NULL/LOOP header's address family.
    AddressFamily(u32),
    /// A raw-IP frame whose version nibble is neither 4 nor 6.
    IpVersion(u8),
    IpProtocol(u8),
    /// UDP, by its lower port (the one a service usually listens on).
    UdpPort(u16),
    /// GRE carrying something other than IP, MPLS or Ethernet, or a GRE version not opened.
    GreProtocol(u16),
}

/// A kind of tunnel opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encap {
    /// IPv4 or IPv6 inside IPv4 or IPv6 (IP protocol 4).
    IpInIp,
    /// IPv6 inside IPv4 or IPv6 (IP protocol 41).
    Ipv6InIp,
    Gre,
    Erspan,
    /// VXLAN and VXLAN-GPE.
    Vxlan,
    Geneve,
    Mpls,
}

impl Encap {
    pub const ALL: [Encap; 7] = [
        Encap::IpInIp,
        Encap::Ipv6InIp,
        Encap::Gre,
        Encap::Erspan,
        Encap::Vxlan,
        Encap::Geneve,
        Encap::Mpls,
    ];

    /// The name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Encap::IpInIp => "ip-in-ip",
            Encap::Ipv6InIp => "ipv6-in-ip",
            Encap::Gre => "gre",
            Encap::Erspan => "erspan",
            Encap::Vxlan => "vxlan",
            Encap::Geneve => "geneve",
            Encap::Mpls => "mpls",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The kinds of tunnel a frame came through (a set: a kind nested twice is there once), and the
/// outermost one's endpoints: which mirror session or tunnel delivered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tunnels {
    kinds: u8,
    pub outermost: Option<TunnelEnds>,
}

/// The outermost tunnel of a frame carried in IP: its kind and the outer IP packet's addresses
/// (an MPLS stack straight over Ethernet has no addresses; the first tunnel inside it counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TunnelEnds {
    pub kind: Encap,
    pub src: std::net::IpAddr,
    pub dst: std::net::IpAddr,
}

impl Tunnels {
    pub fn is_empty(self) -> bool {
        self.kinds == 0
    }

    pub fn contains(self, e: Encap) -> bool {
        self.kinds & e.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Encap> {
        Encap::ALL.into_iter().filter(move |e| self.contains(*e))
    }

    fn add(&mut self, e: Encap) {
        self.kinds |= e.bit();
    }
}

/// Decode one frame. Pure and total: borrows from `data`, allocates nothing, never panics.
pub fn decode(link: crate::source::LinkType, data: &[u8]) -> Result<Segment<'_>, Skip> {
    decode_tunnelled(link, data).0
}

/// [`decode`], also saying which tunnels were opened on the way (set even when the innermost
/// packet is then skipped).
pub fn decode_tunnelled(
    link: crate::source::LinkType,
    data: &[u8],
) -> (Result<Segment<'_>, Skip>, Tunnels) {
    if let Some(seg) = plain(link, data) {
        return (Ok(seg), Tunnels::default());
    }
    let layer = link::first_layer(link, data);
    // Nearly every frame is plain TCP in IP: read by hand, without the general walk (see
    // `segment::plain_tcp`, held to the walk by `tests::plain_tcp_is_the_walk`).
    if let Ok(Layer::Ip(version, ip)) = layer
        && let Some(seg) = segment::plain_tcp(version, ip)
    {
        return (Ok(seg), Tunnels::default());
    }
    let mut tunnels = Tunnels::default();
    let result = layer.and_then(|l| walk(l, &mut tunnels));
    (result, tunnels)
}

/// The usual frame of all, plain TCP in IPv4 or IPv6 straight over Ethernet (see
/// `link::plain_ethernet`), read in one go; `None` for any other frame, which
/// [`decode_tunnelled`] reads. Where this answers, [`decode_tunnelled`] answers the same segment
/// and no tunnel (held to the walk by `tests::plain_tcp_is_the_walk` and the tests after it).
/// Inlined into its caller: the segment is then made where it is used rather than moved out of
/// a `(Result, Tunnels)` (that moving was ~75 instructions a frame).
#[inline]
pub fn plain(link: crate::source::LinkType, data: &[u8]) -> Option<Segment<'_>> {
    if link == crate::source::LinkType::ETHERNET {
        link::plain_ethernet(data)
    } else {
        None
    }
}

/// [`decode_tunnelled`] without its fast path: what the fast path is held to.
#[cfg(test)]
fn decode_walked(
    link: crate::source::LinkType,
    data: &[u8],
) -> (Result<Segment<'_>, Skip>, Tunnels) {
    let mut tunnels = Tunnels::default();
    let result = link::first_layer(link, data).and_then(|l| walk(l, &mut tunnels));
    (result, tunnels)
}

/// Each step consumes a header and either ends or, within two steps, opens a tunnel (Ethernet
/// leads to IP or MPLS; MPLS is a tunnel; IP ends in TCP or opens one), so counting tunnels
/// bounds the loop.
fn walk<'a>(mut layer: Layer<'a>, tunnels: &mut Tunnels) -> Result<Segment<'a>, Skip> {
    let mut opened = 0;
    let mut open = |e: Encap, tunnels: &mut Tunnels| {
        opened += 1;
        tunnels.add(e);
        if opened > MAX_TUNNELS {
            Err(Skip::TooDeep)
        } else {
            Ok(())
        }
    };
    loop {
        layer = match layer {
            Layer::Ethernet(frame) => link::ethernet(frame)?,
            Layer::Mpls(stack) => {
                open(Encap::Mpls, tunnels)?;
                tunnel::mpls(stack)?
            }
            Layer::Ip(version, ip) => {
                link::check_version(version, ip)?;
                match segment::transport(ip)? {
                    Transport::Tcp(seg) => return Ok(seg),
                    Transport::Other {
                        protocol,
                        payload,
                        fragmented,
                        src,
                        dst,
                    } => {
                        let (inner, encap) = tunnel::inside_ip(protocol, payload, fragmented)?;
                        if tunnels.outermost.is_none() {
                            tunnels.outermost = Some(TunnelEnds {
                                kind: encap,
                                src,
                                dst,
                            });
                        }
                        // MPLS counts once, when its stack is read.
                        if encap != Encap::Mpls {
                            open(encap, tunnels)?;
                        }
                        inner
                    }
                }
            }
        };
    }
}

#[cfg(test)]
mod tests;
