//! Connection identity and direction.

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    lo: SocketAddr,
    hi: SocketAddr,
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
