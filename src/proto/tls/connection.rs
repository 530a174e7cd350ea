//! One TLS connection, both directions: record framing, handshake reassembly, hello parsing.

use crate::flow::Direction;
use crate::proto::{ProtoEvent, ProtoLimits};
use crate::time::Timestamp;

use super::{ClientHello, ServerHello, TlsVersion};

/// Records and bytes of application data seen in one direction (still encrypted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppDataCount {
    pub records: u64,
    pub bytes: u64,
}

/// A TLS connection as seen from the wire. STUB body; the API is stable.
#[derive(Debug)]
pub struct TlsConnection {
    max_handshake_bytes: usize,
    client_hello: Option<ClientHello>,
    server_hello: Option<ServerHello>,
    app_data: [AppDataCount; 2],
}

impl TlsConnection {
    pub fn new(limits: &ProtoLimits) -> Self {
        TlsConnection {
            max_handshake_bytes: limits.max_handshake_bytes,
            client_hello: None,
            server_hello: None,
            app_data: [AppDataCount::default(); 2],
        }
    }

    /// In-order bytes of one direction, any chunking.
    pub fn on_data(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) {
        let _ = (dir, ts, bytes, out, self.max_handshake_bytes);
    }

    /// Bytes of `dir` are missing before the next data: its record framing is lost.
    pub fn on_gap(&mut self, dir: Direction) {
        let _ = dir;
    }

    /// The latest ClientHello (after a HelloRetryRequest, the second one).
    pub fn client_hello(&self) -> Option<&ClientHello> {
        self.client_hello.as_ref()
    }

    /// The ServerHello seen (the real one, not a HelloRetryRequest, when both were seen).
    pub fn server_hello(&self) -> Option<&ServerHello> {
        self.server_hello.as_ref()
    }

    /// The negotiated version, once the ServerHello is seen.
    pub fn version(&self) -> Option<TlsVersion> {
        self.server_hello.as_ref().map(|s| s.version)
    }

    /// Application-data records and bytes seen in one direction.
    pub fn app_data(&self, dir: Direction) -> AppDataCount {
        self.app_data[dir_index(dir)]
    }
}

fn dir_index(dir: Direction) -> usize {
    match dir {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}
