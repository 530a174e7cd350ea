//! NSS key log files (the `SSLKEYLOGFILE` format written by OpenSSL, NSS, BoringSSL, rustls, Go;
//! also carried in pcapng Decryption Secrets Blocks): one secret per line,
//! `<LABEL> <client_random hex> <secret hex>`, `#` comments, unknown labels ignored.
//!
//! A [`KeyLog`] is shared by every connection (`Arc`) and may grow while a capture runs (the
//! `run` subcommand reads the child's key log as it is written), so lookups happen when a
//! connection first needs its keys and the map sits behind a lock. No I/O here: text in.

use std::collections::HashMap;
use std::sync::RwLock;

/// The secrets known for one handshake, keyed by its ClientHello.random.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// `CLIENT_RANDOM`: the TLS ≤ 1.2 master secret (48 bytes, RFC 5246 §8.1).
    pub master_secret: Option<Vec<u8>>,
    /// TLS 1.3 secrets (RFC 8446 §7.1), Hash.length bytes each.
    /// `CLIENT_EARLY_TRAFFIC_SECRET`: the client's 0-RTT data (§2.3).
    pub client_early: Option<Vec<u8>>,
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    pub client_traffic_0: Option<Vec<u8>>,
    pub server_traffic_0: Option<Vec<u8>>,
}

/// A line that could not be used, and why (1-based line number within the text given).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key log line {line}: {kind}")]
pub struct KeyLogError {
    pub line: usize,
    pub kind: KeyLogErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyLogErrorKind {
    #[error("expected `LABEL CLIENT_RANDOM SECRET`, found {0} fields")]
    FieldCount(usize),
    #[error("client random is not 64 hex digits")]
    BadRandom,
    #[error("secret is not hex")]
    BadSecret,
    #[error("CLIENT_RANDOM master secret is {0} bytes, not 48")]
    MasterSecretLength(usize),
}

/// Secrets by client random.
#[derive(Debug, Default)]
pub struct KeyLog {
    map: RwLock<HashMap<[u8; 32], Secrets>>,
}

impl KeyLog {
    pub fn new() -> Self {
        KeyLog::default()
    }

    /// Parse a whole key log; malformed lines are returned, the good ones kept.
    pub fn parse(text: &str) -> (KeyLog, Vec<KeyLogError>) {
        let log = KeyLog::new();
        let errors = log.add(text, 1);
        (log, errors)
    }

    /// Add the lines of `text`, the first of which is line `first_line` of its file (so errors
    /// point at the right place when a growing file is read piecemeal).
    pub fn add(&self, text: &str, first_line: usize) -> Vec<KeyLogError> {
        let mut errors = Vec::new();
        let mut parsed = Vec::new();
        for (i, line) in text.lines().enumerate() {
            match parse_line(line) {
                Ok(Some(entry)) => parsed.push(entry),
                Ok(None) => {}
                Err(kind) => errors.push(KeyLogError {
                    line: first_line.saturating_add(i),
                    kind,
                }),
            }
        }
        if let Ok(mut map) = self.map.write() {
            for (label, random, secret) in parsed {
                let s = map.entry(random).or_default();
                *label.slot(s) = Some(secret);
            }
        }
        errors
    }

    /// The secrets logged for this ClientHello.random, if any.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<Secrets> {
        self.map.read().ok()?.get(client_random).cloned()
    }

    /// Number of handshakes with at least one secret.
    pub fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    ClientRandom,
    ClientEarly,
    ClientHandshake,
    ServerHandshake,
    ClientTraffic0,
    ServerTraffic0,
}

impl Label {
    fn from_str(s: &str) -> Option<Label> {
        Some(match s {
            "CLIENT_RANDOM" => Label::ClientRandom,
            "CLIENT_EARLY_TRAFFIC_SECRET" => Label::ClientEarly,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Label::ClientHandshake,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => Label::ServerHandshake,
            "CLIENT_TRAFFIC_SECRET_0" => Label::ClientTraffic0,
            "SERVER_TRAFFIC_SECRET_0" => Label::ServerTraffic0,
            _ => return None,
        })
    }

    fn slot(self, s: &mut Secrets) -> &mut Option<Vec<u8>> {
        match self {
            Label::ClientRandom => &mut s.master_secret,
            Label::ClientEarly => &mut s.client_early,
            Label::ClientHandshake => &mut s.client_handshake,
            Label::ServerHandshake => &mut s.server_handshake,
            Label::ClientTraffic0 => &mut s.client_traffic_0,
            Label::ServerTraffic0 => &mut s.server_traffic_0,
        }
    }
}

/// A usable line: which secret, for which client random, and its value.
type Entry = (Label, [u8; 32], Vec<u8>);

/// One line: `Ok(None)` for blanks, comments and labels we do not use (e.g. `EXPORTER_SECRET`).
fn parse_line(line: &str) -> Result<Option<Entry>, KeyLogErrorKind> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let [label, random, secret] = fields[..] else {
        return Err(KeyLogErrorKind::FieldCount(fields.len()));
    };
    let Some(label) = Label::from_str(label) else {
        return Ok(None);
    };
    let random = decode_hex(random)
        .and_then(|r| <[u8; 32]>::try_from(r).ok())
        .ok_or(KeyLogErrorKind::BadRandom)?;
    let secret = decode_hex(secret)
        .filter(|s| !s.is_empty())
        .ok_or(KeyLogErrorKind::BadSecret)?;
    if label == Label::ClientRandom && secret.len() != 48 {
        return Err(KeyLogErrorKind::MasterSecretLength(secret.len()));
    }
    Ok(Some((label, random, secret)))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .as_chunks::<2>()
        .0
        .iter()
        .map(|&[hi, lo]| {
            let hi = char::from(hi).to_digit(16)?;
            let lo = char::from(lo).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From the OpenSSL 3.0 key log of the s_client13 capture (see testdata.rs), plus junk.
    const LOG: &str = "\
# SSL/TLS secrets log file, generated by OpenSSL
SERVER_HANDSHAKE_TRAFFIC_SECRET a9adba6e5cf930c9ce014915dfbaf75724222d775af04e82b7d719235eabd361 3524cb15b5e9d1abfea31475cbe48437f3f2a56974497ed2f29e2096c8cc9d5e
EXPORTER_SECRET a9adba6e5cf930c9ce014915dfbaf75724222d775af04e82b7d719235eabd361 e18bc7c2c32691fc428fd198e53975b8be383b2226ef16b1432f4c08b91871d9
CLIENT_TRAFFIC_SECRET_0 a9adba6e5cf930c9ce014915dfbaf75724222d775af04e82b7d719235eabd361 ce81b8a5e19adcd3d4165a177f8cf99aac2ea6f214c97e4077fffbc29fb962f1

CLIENT_RANDOM 00112233 abcd
CLIENT_RANDOM a9adba6e5cf930c9ce014915dfbaf75724222d775af04e82b7d719235eabd361 zz
CLIENT_RANDOM a9adba6e5cf930c9ce014915dfbaf75724222d775af04e82b7d719235eabd361 abcd
just two
";

    #[test]
    fn keeps_good_lines_and_reports_bad_ones_with_line_numbers() {
        let (log, errors) = KeyLog::parse(LOG);
        let lines: Vec<(usize, KeyLogErrorKind)> =
            errors.into_iter().map(|e| (e.line, e.kind)).collect();
        let want = vec![
            (6, KeyLogErrorKind::BadRandom),
            (7, KeyLogErrorKind::BadSecret),
            (8, KeyLogErrorKind::MasterSecretLength(2)),
            (9, KeyLogErrorKind::FieldCount(2)),
        ];
        assert_eq!(lines, want);
        assert_eq!(log.len(), 1);
        let random = decode_hex("a9adba6e5cf930c9ce014915dfbaf75724222d775af04e82b7d719235eabd361")
            .and_then(|r| <[u8; 32]>::try_from(r).ok())
            .unwrap();
        let s = log.get(&random).unwrap();
        assert_eq!(
            s.server_handshake.as_deref().map(|s| s[..2].to_vec()),
            Some(vec![0x35, 0x24])
        );
        assert_eq!(s.client_traffic_0.as_ref().map(Vec::len), Some(32));
        assert_eq!(
            (s.master_secret, s.client_handshake, s.server_traffic_0),
            (None, None, None)
        );
    }

    #[test]
    fn lines_added_later_extend_the_log_and_count_from_their_offset() {
        let log = KeyLog::new();
        assert!(log.is_empty());
        let errors = log.add("bogus line here too\n", 41);
        assert_eq!(
            errors.first().map(|e| e.to_string()).as_deref(),
            Some("key log line 41: expected `LABEL CLIENT_RANDOM SECRET`, found 4 fields")
        );
        let random = [7u8; 32];
        let line = format!("CLIENT_RANDOM {} {}", "07".repeat(32), "ab".repeat(48));
        assert!(log.add(&line, 42).is_empty());
        assert_eq!(
            log.get(&random).and_then(|s| s.master_secret),
            Some(vec![0xab; 48])
        );
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parse_never_panics(text in "(CLIENT_RANDOM|CLIENT_TRAFFIC_SECRET_0|#)?[ 0-9a-fA-Fxz\n\t]{0,300}") {
                let (_, errors) = KeyLog::parse(&text);
                prop_assert!(errors.iter().all(|e| e.line >= 1));
            }
        }
    }
}
