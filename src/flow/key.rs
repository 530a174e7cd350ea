//! Connection identity and direction.

use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

/// A connection's identity for its lifetime in the table (unique per capture, never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ConnId(pub u64);

/// Which way bytes travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }

    /// 0 for the client's side, 1 for the server's: the index of per-direction pairs.
    pub fn index(self) -> usize {
        match self {
            Direction::ClientToServer => 0,
            Direction::ServerToClient => 1,
        }
    }
}

/// The canonical 4-tuple: the same key for both directions of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    lo: SocketAddr,
    hi: SocketAddr,
}

/// Looked up for every packet: an IPv4 pair is hashed as two words rather than field by field
/// through `SocketAddr`'s derived `Hash` (discriminant, four octets, port, twice). Equal keys
/// hash equally: the words are made of exactly the fields `Eq` compares.
impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match (self.lo, self.hi) {
            (SocketAddr::V4(lo), SocketAddr::V4(hi)) => {
                h.write_u64(u64::from(lo.ip().to_bits()) << 32 | u64::from(hi.ip().to_bits()));
                h.write_u32(u32::from(lo.port()) << 16 | u32::from(hi.port()));
            }
            (lo, hi) => {
                lo.hash(h);
                hi.hash(h);
            }
        }
    }
}

impl FlowKey {
    pub fn new(a: SocketAddr, b: SocketAddr) -> Self {
        if a <= b {
            FlowKey { lo: a, hi: b }
        } else {
            FlowKey { lo: b, hi: a }
        }
    }
}

/// Ports a server listens on: the system range (RFC 6335 §6, below 1024) and the usual
/// HTTP/S3-compatible alternates (8000/8008/8080/8081/8888 HTTP, 8443/9443 HTTPS, 3128 proxy,
/// 4566 LocalStack, 9000/9001 MinIO).
pub fn is_service_port(port: u16) -> bool {
    port < 1024
        || matches!(
            port,
            3128 | 4566 | 8000 | 8008 | 8080 | 8081 | 8443 | 8888 | 9000 | 9001 | 9443
        )
}

/// Mid-stream (no handshake seen): is `src`, the sender of the first data we see, the client?
///
/// A service port facing a non-service (ephemeral) port names the server, whoever spoke first —
/// a capture often begins in the middle of a response. Otherwise the first speaker is the client,
/// as in HTTP and TLS where the client talks first.
pub fn sender_is_client(src: SocketAddr, dst: SocketAddr) -> bool {
    let server_port_first = is_service_port(src.port()) && !is_service_port(dst.port());
    !server_port_first
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn both_directions_are_one_key_with_one_hash_for_v4_v6_and_mixed_pairs() {
        let hasher = crate::flow::FastHash::default();
        for (a, b) in [
            ("10.0.0.1:50000", "10.0.0.2:80"),
            ("10.0.0.2:80", "10.0.0.2:81"),
            ("[::1]:50000", "[::1]:443"),
            ("127.0.0.1:9000", "[::1]:9000"),
        ] {
            let (a, b): (SocketAddr, SocketAddr) = (a.parse().unwrap(), b.parse().unwrap());
            let (ab, ba) = (FlowKey::new(a, b), FlowKey::new(b, a));
            assert_eq!(ab, ba);
            assert_eq!(hasher.hash_one(ab), hasher.hash_one(ba), "{a} {b}");
        }
        // The ports are part of the hash, not only of the comparison.
        let k = |p: u16| {
            FlowKey::new(
                SocketAddr::from(([10, 0, 0, 1], p)),
                "10.0.0.2:80".parse().unwrap(),
            )
        };
        assert_ne!(hasher.hash_one(k(50000)), hasher.hash_one(k(50001)));
    }
}
