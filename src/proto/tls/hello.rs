//! ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) and ServerHello (RFC 8446 §4.1.3) bodies,
//! with the extensions s3wire reports: server_name (RFC 6066 §3), ALPN (RFC 7301 §3.1) and
//! supported_versions (RFC 8446 §4.2.1). Pure: a message body in, a value or a reason out.

use super::reader::{Reader, Truncated};
use super::{ClientHello, ServerHello, TlsVersion};
use crate::time::Timestamp;

/// Extension types (RFC 8446 §4.2).
const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
/// `NameType` host_name (RFC 6066 §3).
const HOST_NAME: u8 = 0;

/// `ServerHello.random` of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
pub const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Why a hello body is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelloError {
    #[error("ClientHello: {0}")]
    Client(FieldError),
    #[error("ServerHello: {0}")]
    Server(FieldError),
}

/// What is wrong, and in which field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error(transparent)]
    Truncated(#[from] Truncated),
    #[error("{0} has an odd length")]
    OddLength(&'static str),
    #[error("{0} is longer than allowed")]
    TooLong(&'static str),
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error("{0} bytes after the last field")]
    Trailing(&'static str),
}

/// True for the GREASE values of RFC 8701 §2 (0x0a0a, 0x1a1a, … 0xfafa).
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// Parse a ClientHello message body (after the 4-byte handshake header).
pub fn parse_client_hello(body: &[u8], ts: Timestamp) -> Result<ClientHello, HelloError> {
    client_hello(body, ts).map_err(HelloError::Client)
}

/// Parse a ServerHello message body (after the 4-byte handshake header).
pub fn parse_server_hello(body: &[u8], ts: Timestamp) -> Result<ServerHello, HelloError> {
    server_hello(body, ts).map_err(HelloError::Server)
}

fn client_hello(body: &[u8], ts: Timestamp) -> Result<ClientHello, FieldError> {
    let mut r = Reader::new(body);
    let legacy_version = TlsVersion(r.u16("legacy_version")?);
    let random = r.array::<32>("random")?;
    let session_id = session_id(&mut r)?;
    let suites = r.vec16("cipher_suites")?;
    let cipher_suites = u16_list(suites, "cipher_suites")?;
    if cipher_suites.is_empty() {
        return Err(FieldError::Empty("cipher_suites"));
    }
    if r.vec8("compression_methods")?.is_empty() {
        return Err(FieldError::Empty("compression_methods"));
    }
    let mut hello = ClientHello {
        ts,
        legacy_version,
        supported_versions: Vec::new(),
        random,
        session_id,
        cipher_suites,
        sni: None,
        alpn: Vec::new(),
    };
    for (ext, data) in extensions(&mut r)? {
        match ext {
            EXT_SERVER_NAME if hello.sni.is_none() => hello.sni = server_name(data)?,
            EXT_ALPN if hello.alpn.is_empty() => hello.alpn = alpn_list(data)?,
            EXT_SUPPORTED_VERSIONS if hello.supported_versions.is_empty() => {
                hello.supported_versions = client_versions(data)?;
            }
            _ => {}
        }
    }
    Ok(hello)
}

fn server_hello(body: &[u8], ts: Timestamp) -> Result<ServerHello, FieldError> {
    let mut r = Reader::new(body);
    let legacy_version = TlsVersion(r.u16("legacy_version")?);
    let random = r.array::<32>("random")?;
    let session_id = session_id(&mut r)?;
    let cipher_suite = r.u16("cipher_suite")?;
    r.u8("compression_method")?;
    let mut hello = ServerHello {
        ts,
        legacy_version,
        version: legacy_version,
        random,
        session_id,
        cipher_suite,
        alpn: None,
        hello_retry: random == HELLO_RETRY_RANDOM,
    };
    for (ext, data) in extensions(&mut r)? {
        match ext {
            EXT_SUPPORTED_VERSIONS => {
                hello.version = TlsVersion(exact_u16(data, "selected_version")?)
            }
            // In TLS 1.3 the choice travels in EncryptedExtensions instead (RFC 8446 §4.3.1).
            EXT_ALPN => hello.alpn = alpn_list(data)?.into_iter().next(),
            _ => {}
        }
    }
    Ok(hello)
}

/// `legacy_session_id<0..32>`.
fn session_id(r: &mut Reader<'_>) -> Result<Vec<u8>, FieldError> {
    let id = r.vec8("legacy_session_id")?;
    if id.len() > 32 {
        return Err(FieldError::TooLong("legacy_session_id"));
    }
    Ok(id.to_vec())
}

/// `Extension extensions<8..2^16-1>`, absent altogether in some pre-1.3 hellos
/// (RFC 5246 §7.4.1.2). Returns (type, data) pairs.
fn extensions<'a>(r: &mut Reader<'a>) -> Result<Vec<(u16, &'a [u8])>, FieldError> {
    if r.is_empty() {
        return Ok(Vec::new());
    }
    let mut list = Reader::new(r.vec16("extensions")?);
    if !r.is_empty() {
        return Err(FieldError::Trailing("extensions"));
    }
    let mut out = Vec::new();
    while !list.is_empty() {
        let ext = list.u16("extension_type")?;
        out.push((ext, list.vec16("extension_data")?));
    }
    Ok(out)
}

/// A list of big-endian u16s (cipher suites, versions).
fn u16_list(b: &[u8], field: &'static str) -> Result<Vec<u16>, FieldError> {
    if !b.len().is_multiple_of(2) {
        return Err(FieldError::OddLength(field));
    }
    Ok(b.as_chunks::<2>()
        .0
        .iter()
        .map(|&c| u16::from_be_bytes(c))
        .collect())
}

/// Exactly one u16 and nothing after it.
fn exact_u16(b: &[u8], field: &'static str) -> Result<u16, FieldError> {
    let mut r = Reader::new(b);
    let v = r.u16(field)?;
    if !r.is_empty() {
        return Err(FieldError::Trailing(field));
    }
    Ok(v)
}

/// ServerNameList (RFC 6066 §3): the first host_name entry, if any.
fn server_name(data: &[u8]) -> Result<Option<String>, FieldError> {
    let mut list = Reader::new(Reader::new(data).vec16("server_name_list")?);
    while !list.is_empty() {
        let name_type = list.u8("name_type")?;
        let name = list.vec16("host_name")?;
        if name_type == HOST_NAME {
            if name.is_empty() {
                return Err(FieldError::Empty("host_name"));
            }
            return Ok(Some(String::from_utf8_lossy(name).into_owned()));
        }
    }
    Ok(None)
}

/// ProtocolNameList (RFC 7301 §3.1): `ProtocolName protocol_name_list<2..2^16-1>`, each
/// `opaque ProtocolName<1..2^8-1>`.
fn alpn_list(data: &[u8]) -> Result<Vec<String>, FieldError> {
    let mut list = Reader::new(Reader::new(data).vec16("protocol_name_list")?);
    let mut out = Vec::new();
    while !list.is_empty() {
        let name = list.vec8("protocol_name")?;
        if name.is_empty() {
            return Err(FieldError::Empty("protocol_name"));
        }
        out.push(String::from_utf8_lossy(name).into_owned());
    }
    if out.is_empty() {
        return Err(FieldError::Empty("protocol_name_list"));
    }
    Ok(out)
}

/// `ProtocolVersion versions<2..254>` (RFC 8446 §4.2.1), GREASE values removed.
fn client_versions(data: &[u8]) -> Result<Vec<TlsVersion>, FieldError> {
    let mut r = Reader::new(data);
    let list = r.vec8("supported_versions")?;
    if !r.is_empty() {
        return Err(FieldError::Trailing("supported_versions"));
    }
    Ok(u16_list(list, "supported_versions")?
        .into_iter()
        .filter(|&v| !is_grease(v))
        .map(TlsVersion)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tls::testdata::{self, hex};

    /// The body of the first handshake message of the first record of a stream.
    fn first_body(stream: &str) -> Vec<u8> {
        let b = hex(stream);
        let len = u32::from_be_bytes([0, b[6], b[7], b[8]]) as usize;
        b[9..9 + len].to_vec()
    }

    #[test]
    fn openssl_tls13_client_hello() {
        let h = parse_client_hello(&first_body(testdata::TLS13_CLIENT), Timestamp(7)).unwrap();
        assert_eq!(h.ts, Timestamp(7));
        assert_eq!(h.legacy_version, TlsVersion::TLS1_2);
        assert_eq!(h.sni.as_deref(), Some("s3.example.test"));
        assert_eq!(h.alpn, vec!["http/1.1".to_string()]);
        let versions = [0x0304, 0x0303, 0x0302, 0x0301].map(TlsVersion);
        assert_eq!(h.supported_versions, versions);
        assert_eq!(h.cipher_suites.len(), 31);
        assert_eq!(h.cipher_suites[..4], [0x1302, 0x1303, 0x1301, 0xc02c]);
        assert_eq!(h.cipher_suites.last(), Some(&0x00ff));
        assert_eq!(h.random[..4], [0xde, 0x71, 0x1b, 0x47]);
        assert_eq!(h.session_id.len(), 32);
        assert_eq!(h.session_id[..2], [0x7a, 0x0b]);
    }

    #[test]
    fn openssl_tls13_server_hello_echoes_session_id() {
        let c = parse_client_hello(&first_body(testdata::TLS13_CLIENT), Timestamp(0)).unwrap();
        let s = parse_server_hello(&first_body(testdata::TLS13_SERVER), Timestamp(0)).unwrap();
        assert_eq!(s.legacy_version, TlsVersion::TLS1_2);
        assert_eq!(s.version, TlsVersion::TLS1_3);
        assert_eq!(s.cipher_suite, 0x1302);
        assert_eq!(s.session_id, c.session_id);
        assert_eq!(s.alpn, None, "TLS 1.3 carries ALPN in EncryptedExtensions");
        assert!(!s.hello_retry);
        assert_eq!(s.random[..4], [0x9e, 0xc0, 0x42, 0xd2]);
    }

    #[test]
    fn openssl_tls12_hellos_with_alpn() {
        let c = parse_client_hello(&first_body(testdata::TLS12_CLIENT), Timestamp(0)).unwrap();
        assert_eq!(c.sni.as_deref(), Some("s3.example.test"));
        assert!(c.supported_versions.is_empty());
        assert!(c.session_id.is_empty());
        assert_eq!(c.cipher_suites.len(), 28);
        let s =
            parse_server_hello(&first_body(testdata::TLS12_SERVER_HELLO), Timestamp(0)).unwrap();
        assert_eq!(s.version, TlsVersion::TLS1_2);
        assert_eq!(s.cipher_suite, 0xc030);
        assert_eq!(s.alpn.as_deref(), Some("http/1.1"));
        assert!(!s.hello_retry);
    }

    #[test]
    fn hello_retry_request_is_recognised_by_its_random() {
        let s = parse_server_hello(&first_body(testdata::HRR_SERVER), Timestamp(0)).unwrap();
        assert!(s.hello_retry);
        assert_eq!(s.random, HELLO_RETRY_RANDOM);
        assert_eq!((s.version, s.cipher_suite), (TlsVersion::TLS1_3, 0x1302));
    }

    #[test]
    fn every_truncation_is_an_error_except_before_extensions() {
        let body = first_body(testdata::TLS13_CLIENT);
        // version 2 + random 32 + session_id 1+32 + suites 2+62 + compression 1+1.
        let no_extensions = 2 + 32 + 33 + 64 + 2;
        for cut in 0..body.len() {
            let r = parse_client_hello(&body[..cut], Timestamp(0));
            assert_eq!(r.is_ok(), cut == no_extensions, "cut at {cut}: {r:?}");
        }
        let e = parse_client_hello(&body[..body.len() - 1], Timestamp(0)).unwrap_err();
        assert_eq!(e.to_string(), "ClientHello: truncated extensions");
    }

    /// A ClientHello built by hand: GREASE in versions and suites, two SNI entries.
    fn synthetic_hello(alpn: &[u8]) -> Vec<u8> {
        let mut b = vec![0x03, 0x03];
        b.extend([0x11; 32]);
        b.extend([0x00, 0x00, 0x04, 0x0a, 0x0a, 0x13, 0x01, 0x01, 0x00]);
        let mut ext = vec![
            0x00, 0x2b, 0x00, 0x07, 0x06, 0x3a, 0x3a, 0x03, 0x04, 0x03, 0x03,
        ];
        // server_name: an unknown name_type 7 first, then host_name "a.b".
        ext.extend([0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x07, 0x00, 0x01, b'x']);
        ext.extend([0x00, 0x00, 0x03, b'a', b'.', b'b']);
        ext.extend([
            0x00,
            0x10,
            0x00,
            alpn.len() as u8 + 2,
            0x00,
            alpn.len() as u8,
        ]);
        ext.extend(alpn);
        b.extend((ext.len() as u16).to_be_bytes());
        b.extend(ext);
        b
    }

    #[test]
    fn grease_versions_are_removed_and_sni_skips_other_name_types() {
        let h = parse_client_hello(&synthetic_hello(b"\x02h2\x08http/1.1"), Timestamp(0)).unwrap();
        assert_eq!(
            h.supported_versions,
            [TlsVersion::TLS1_3, TlsVersion::TLS1_2]
        );
        assert_eq!(h.cipher_suites, [0x0a0a, 0x1301], "suites are kept as sent");
        assert_eq!(h.sni.as_deref(), Some("a.b"));
        assert_eq!(h.alpn, ["h2", "http/1.1"]);
        assert!(is_grease(0xfafa) && !is_grease(0x0a1a) && !is_grease(0x0304));
    }

    #[test]
    fn empty_alpn_name_is_malformed() {
        let e = parse_client_hello(&synthetic_hello(b"\x00"), Timestamp(0)).unwrap_err();
        assert_eq!(e, HelloError::Client(FieldError::Empty("protocol_name")));
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn hello_parsers_never_panic(body in prop::collection::vec(any::<u8>(), 0..600)) {
                let _ = parse_client_hello(&body, Timestamp(0));
                let _ = parse_server_hello(&body, Timestamp(0));
            }

            #[test]
            fn mutated_real_hello_never_panics(pos in 0usize..327, val in any::<u8>()) {
                let mut body = first_body(testdata::TLS13_CLIENT);
                body[pos] = val;
                let _ = parse_client_hello(&body, Timestamp(0));
            }
        }
    }
}
