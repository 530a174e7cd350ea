//! **decode**: a link-layer frame → a TCP segment view, zero-copy.
//!
//! Ethernet (802.1Q/802.1ad VLAN tags), Linux cooked v1 (SLL) and v2 (SLL2), BSD loopback/NULL and
//! raw IPv4/IPv6. etherparse cannot slice SLL2, nor SLL from non-Ethernet devices such as `lo`, so
//! those two headers are read here and the rest is handed to etherparse by EtherType. Anything that
//! is not TCP is reported as a [`Skip`] with its reason, to be counted — never silently dropped.

pub mod link;
pub mod segment;

pub use segment::{Segment, TcpFlags};

/// Why a frame produced no TCP segment. Counted in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Skip {
    /// A link type this build does not decode.
    UnsupportedLink,
    /// Not IP (ARP, LLDP, …).
    NotIp,
    /// IP but not TCP (UDP, ICMP, …).
    NotTcp,
    /// An IP fragment, the first one included: IP datagrams are not reassembled, and TCP needs the
    /// whole datagram.
    Fragment,
    /// Headers malformed or cut by the snaplen before the TCP header ended.
    Malformed,
}

/// Decode one frame. Pure and total: borrows from `data`, allocates nothing, never panics.
pub fn decode(link: crate::source::LinkType, data: &[u8]) -> Result<Segment<'_>, Skip> {
    let ip = link::network_layer(link, data)?;
    segment::tcp_segment(ip)
}

#[cfg(test)]
mod tests;
