//! TLS (RFC 8446, RFC 5246) as seen from the wire: record framing, handshake reassembly, the
//! hellos in clear (SNI, ALPN, versions, cipher suite), and, with an NSS key log, decryption of
//! the application data, whose plaintext the conversation feeds to the same HTTP parser.
//!
//! Layers, each pure and total: [`record`] frames a direction into fragments buffering only the
//! 5-byte header; [`handshake`] reassembles messages across records, keeping only the hellos (up to
//! `ProtoLimits::max_handshake_bytes`); [`hello`] parses them; [`TlsConnection`] ties both
//! directions together and emits `ProtoEvent`s. Without a key log application data is counted,
//! never buffered; with one, one record at a time per direction is collected and opened
//! ([`keylog`], [`keys`], [`decrypt`], [`cbc`]): TLS 1.3 (0-RTT early data included), TLS 1.2
//! with AES-GCM or ChaCha20-Poly1305, and TLS 1.1/1.2 AES-CBC with HMAC-SHA1/256/384 in either
//! MAC order (CCM and 3DES suites are reported as [`Decryption::UnsupportedSuite`]). After a
//! gap, a decrypted direction finds its framing again ([`resync`]) and, where it can, counts the
//! plaintext the hole cost ([`hole`]). 0-RTT early data is held
//! until the server accepts it; rejected, it is dropped, so its retry is listed once ([`early`]).
//! SSLv2-compatible ClientHellos (RFC 5246 Appendix E.2) are reported as `BadTls`, not parsed:
//! they cannot carry SNI or ALPN and no current client sends them. Hand-written rather than
//! `tls-parser`: the few structures we need are small, and these parsers can say which field was
//! short and never buffer more than a hello.

pub mod cbc;
mod connection;
pub mod decrypt;
mod early;
pub mod handshake;
pub mod hello;
pub mod hole;
pub mod keylog;
pub mod keys;
mod plaintext;
mod reader;
pub mod record;
pub mod resync;
mod suites;
#[cfg(test)]
mod testdata;

pub use connection::{AppDataCount, ResyncCount, TlsConnection};
pub use early::EarlyDataCount;
pub use keylog::{KeyLog, KeyLogError, KeyLogErrorKind, Secrets};
pub use plaintext::{DecryptCount, Decryption, Plaintext};
pub use suites::{cipher_suite_label, cipher_suite_name};

use crate::time::Timestamp;

/// A TLS protocol version as on the wire. Open: unknown values are kept, not rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TlsVersion(pub u16);

impl TlsVersion {
    pub const SSL3: TlsVersion = TlsVersion(0x0300);
    pub const TLS1_0: TlsVersion = TlsVersion(0x0301);
    pub const TLS1_1: TlsVersion = TlsVersion(0x0302);
    pub const TLS1_2: TlsVersion = TlsVersion(0x0303);
    pub const TLS1_3: TlsVersion = TlsVersion(0x0304);

    pub fn name(self) -> String {
        match self {
            TlsVersion::SSL3 => "SSLv3".into(),
            TlsVersion::TLS1_0 => "TLSv1.0".into(),
            TlsVersion::TLS1_1 => "TLSv1.1".into(),
            TlsVersion::TLS1_2 => "TLSv1.2".into(),
            TlsVersion::TLS1_3 => "TLSv1.3".into(),
            TlsVersion(v) if v & 0x0f0f == 0x0a0a => format!("GREASE(0x{v:04x})"),
            TlsVersion(v) => format!("0x{v:04x}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    pub ts: Timestamp,
    /// `legacy_version` of the hello body.
    pub legacy_version: TlsVersion,
    /// The `supported_versions` extension (RFC 8446 §4.2.1), GREASE removed; empty when absent.
    pub supported_versions: Vec<TlsVersion>,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub cipher_suites: Vec<u16>,
    /// server_name (RFC 6066 §3), host_name entry.
    pub sni: Option<String>,
    /// application_layer_protocol_negotiation (RFC 7301).
    pub alpn: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    pub ts: Timestamp,
    pub legacy_version: TlsVersion,
    /// The negotiated version: `supported_versions` when present, else `legacy_version`.
    pub version: TlsVersion,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub cipher_suite: u16,
    pub alpn: Option<String>,
    /// A HelloRetryRequest (RFC 8446 §4.1.3) rather than a real ServerHello.
    pub hello_retry: bool,
}
