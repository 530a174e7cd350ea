//! TLS records rebuilt from what the hellos said (RFC 8446 §4.1.2-3, §5.1): a ClientHello with
//! its random, cipher suites, server_name (RFC 6066 §3), ALPN (RFC 7301 §3.1) and
//! supported_versions (RFC 8446 §4.2.1); a ServerHello with its version, cipher and ALPN; alerts
//! (§6). Rebuilding rather than copying is what makes the handshake safe to publish: nothing the
//! parser did not name survives (session tickets and PSK identities, key shares, ECH payloads,
//! the legacy session id), and the server name can be replaced consistently.

use crate::proto::tls::{ClientHello, ServerHello};

const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
/// Largest record payload (RFC 8446 §5.1).
const MAX_FRAGMENT: usize = 1 << 14;
/// The record-layer version ClientHellos carry for compatibility (RFC 8446 §5.1).
const RECORD_TLS1_0: u16 = 0x0301;
const RECORD_TLS1_2: u16 = 0x0303;

/// The ClientHello as records, with `sni` as its server name.
pub fn client_hello(h: &ClientHello, sni: Option<&str>) -> Vec<u8> {
    let mut body = Vec::with_capacity(128 + h.cipher_suites.len() * 2);
    body.extend_from_slice(&h.legacy_version.0.to_be_bytes());
    body.extend_from_slice(&h.random);
    body.push(0); // legacy_session_id: left out
    let suites: Vec<u8> = h
        .cipher_suites
        .iter()
        .flat_map(|s| s.to_be_bytes())
        .collect();
    vec16(&mut body, &suites);
    body.extend_from_slice(&[1, 0]); // compression_methods: null
    let mut ext = Vec::new();
    if let Some(name) = sni {
        let mut entry = vec![0]; // host_name
        vec16(&mut entry, name.as_bytes());
        let mut list = Vec::new();
        vec16(&mut list, &entry);
        extension(&mut ext, EXT_SERVER_NAME, &list);
    }
    if !h.alpn.is_empty() {
        extension(&mut ext, EXT_ALPN, &alpn(h.alpn.iter().map(String::as_str)));
    }
    if !h.supported_versions.is_empty() {
        let v: Vec<u8> = h
            .supported_versions
            .iter()
            .flat_map(|v| v.0.to_be_bytes())
            .collect();
        let mut data = Vec::new();
        vec8(&mut data, &v);
        extension(&mut ext, EXT_SUPPORTED_VERSIONS, &data);
    }
    vec16(&mut body, &ext);
    records(
        CONTENT_HANDSHAKE,
        RECORD_TLS1_0,
        &handshake(HS_CLIENT_HELLO, &body),
    )
}

/// The ServerHello (or HelloRetryRequest: its random says so) as records.
pub fn server_hello(h: &ServerHello) -> Vec<u8> {
    let mut body = Vec::with_capacity(96);
    body.extend_from_slice(&h.legacy_version.0.to_be_bytes());
    body.extend_from_slice(&h.random);
    body.push(0); // legacy_session_id_echo: left out
    body.extend_from_slice(&h.cipher_suite.to_be_bytes());
    body.push(0); // compression_method: null
    let mut ext = Vec::new();
    if h.version != h.legacy_version {
        extension(&mut ext, EXT_SUPPORTED_VERSIONS, &h.version.0.to_be_bytes());
    }
    if let Some(a) = &h.alpn {
        extension(&mut ext, EXT_ALPN, &alpn([a.as_str()]));
    }
    vec16(&mut body, &ext);
    records(
        CONTENT_HANDSHAKE,
        RECORD_TLS1_2,
        &handshake(HS_SERVER_HELLO, &body),
    )
}

/// One alert record in clear.
pub fn alert(level: u8, description: u8) -> Vec<u8> {
    records(CONTENT_ALERT, RECORD_TLS1_2, &[level, description])
}

fn alpn<'a>(protocols: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut list = Vec::new();
    for p in protocols {
        vec8(&mut list, p.as_bytes());
    }
    let mut data = Vec::new();
    vec16(&mut data, &list);
    data
}

fn extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    vec16(out, data);
}

/// Handshake header: type, 24-bit length (RFC 8446 §4).
fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
    let len = (body.len() as u32).min(0xff_ffff).to_be_bytes();
    let mut m = Vec::with_capacity(4 + body.len());
    m.push(kind);
    m.extend_from_slice(&len[1..]);
    m.extend_from_slice(body);
    m
}

/// `payload` cut into records of at most 2^14 bytes.
fn records(content: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5);
    for frag in payload.chunks(MAX_FRAGMENT) {
        out.push(content);
        out.extend_from_slice(&version.to_be_bytes());
        vec16(&mut out, frag);
    }
    out
}

/// A vector with a one-byte length; longer data is cut (the parser bounds what it keeps far
/// below these sizes, so nothing it read is ever cut).
fn vec8(out: &mut Vec<u8>, data: &[u8]) {
    let data = &data[..data.len().min(0xff)];
    out.push(data.len() as u8);
    out.extend_from_slice(data);
}

fn vec16(out: &mut Vec<u8>, data: &[u8]) {
    let data = &data[..data.len().min(0xffff)];
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tls::TlsVersion;
    use crate::proto::tls::hello::{parse_client_hello, parse_server_hello};
    use crate::time::Timestamp;

    fn client() -> ClientHello {
        ClientHello {
            ts: Timestamp(7),
            legacy_version: TlsVersion(0x0303),
            supported_versions: vec![TlsVersion(0x0304), TlsVersion(0x0303)],
            random: [9; 32],
            session_id: vec![1; 32],
            cipher_suites: vec![0x1301, 0x1302, 0xc02f],
            sni: Some("s3.local.test".into()),
            alpn: vec!["h2".into(), "http/1.1".into()],
        }
    }

    /// The message body inside a one-record handshake.
    fn body(records: &[u8], kind: u8) -> &[u8] {
        assert_eq!(records[0], CONTENT_HANDSHAKE);
        assert_eq!(
            usize::from(u16::from_be_bytes([records[3], records[4]])),
            records.len() - 5
        );
        assert_eq!(records[5], kind);
        &records[9..]
    }

    #[test]
    fn client_hello_parses_back_with_the_name_given_and_no_session_id() {
        let h = client();
        let r = client_hello(&h, Some("host1.example"));
        let back = parse_client_hello(body(&r, HS_CLIENT_HELLO), Timestamp(7)).unwrap();
        assert_eq!(back.sni.as_deref(), Some("host1.example"));
        assert!(back.session_id.is_empty());
        let expect = ClientHello {
            sni: back.sni.clone(),
            session_id: Vec::new(),
            ..h
        };
        assert_eq!(back, expect);
        let none = client_hello(&client(), None);
        let back = parse_client_hello(body(&none, HS_CLIENT_HELLO), Timestamp(7)).unwrap();
        assert_eq!(back.sni, None);
    }

    #[test]
    fn server_hello_parses_back() {
        let h = ServerHello {
            ts: Timestamp(8),
            legacy_version: TlsVersion(0x0303),
            version: TlsVersion(0x0304),
            random: [3; 32],
            session_id: vec![1; 32],
            cipher_suite: 0x1301,
            alpn: Some("http/1.1".into()),
            hello_retry: false,
        };
        let back =
            parse_server_hello(body(&server_hello(&h), HS_SERVER_HELLO), Timestamp(8)).unwrap();
        assert_eq!(
            back,
            ServerHello {
                session_id: Vec::new(),
                ..h
            }
        );
    }

    #[test]
    fn alert_is_one_record() {
        assert_eq!(alert(2, 70), vec![21, 3, 3, 0, 2, 2, 70]);
    }
}
