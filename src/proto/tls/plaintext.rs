//! Decryption wired to one direction of a connection: whole protected records are collected
//! (one at a time, at most 2^14+2048 bytes), the direction's cipher is built from the hellos
//! and the key log when first needed, and application data comes out as [`Plaintext`] for
//! the HTTP parser.

use crate::flow::Direction;

use super::cbc::CbcCipher;
use super::decrypt::{DecryptError, DirectionCipher, Framing, RecordCipher, Tls13Direction};
use super::early::{EarlyData, encrypted_extensions_answer};
use super::keylog::KeyLog;
use super::keys::{
    AeadKind, suite_cbc, suite_crypto, tls12_cbc_keys, tls12_keys, tls13_traffic_key,
};
use super::record::{ContentType, Fragment, RecordHeader};
use super::{ClientHello, ServerHello, TlsVersion};

/// Decrypted application data of one direction, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plaintext {
    /// The application data of one record.
    Data(Vec<u8>),
    /// Records that did not decrypt after data had flowed: the plaintext has a hole here.
    Gap { records: u64 },
    /// The search after a hole the caller was told of ([`TlsConnection::on_gap`]) ended here:
    /// the records after it decrypt again, or (`bytes` None) none will. `bytes` is the
    /// application data lost in the hole when it is known exactly ([`super::hole`]).
    ///
    /// [`TlsConnection::on_gap`]: super::TlsConnection::on_gap
    Lost { bytes: Option<u64> },
}

/// Records decrypted in one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecryptCount {
    /// Records that opened (any inner content type).
    pub records: u64,
    /// Plaintext bytes of application data delivered.
    pub bytes: u64,
    /// Records that did not open although keys were there.
    pub failed: u64,
    /// TLS 1.3 0-RTT early-data records (client) that did not open: no
    /// `CLIENT_EARLY_TRAFFIC_SECRET` for them in the key log.
    pub early_missed: u64,
}

/// Where decryption of a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decryption {
    /// No key log was given.
    NoKeyLog,
    /// Nothing encrypted has been seen yet.
    NotYet,
    /// At least one record opened: the keys are right.
    Decrypted,
    /// Decrypted, but not the client's 0-RTT early data: the key log has no
    /// `CLIENT_EARLY_TRAFFIC_SECRET` for it.
    DecryptedButEarlyData,
    /// The ClientHello or ServerHello was not seen (capture started late, or a gap).
    NoHello,
    /// The key log has no usable secrets for this ClientHello.random.
    NoSecrets,
    /// The negotiated suite is not one we decrypt (CCM, 3DES, …).
    UnsupportedSuite(u16),
    /// A CBC suite we decrypt, in SSL 3.0 / TLS 1.0, whose IVs are implicit (RFC 2246 §6.2.3.2).
    ImplicitIvCbc(u16, TlsVersion),
    /// Keys were found but records did not open.
    Failed,
}

/// What the connection knows that a direction's keys depend on.
#[derive(Debug, Clone, Copy)]
pub(super) struct KeyContext<'a> {
    pub keylog: &'a KeyLog,
    pub client_hello: Option<&'a ClientHello>,
    pub server_hello: Option<&'a ServerHello>,
    pub dir: Direction,
}

/// The client's TLS 1.3 0-RTT phase (RFC 8446 §2.3, §4.2.10): its first protected records may
/// be early data under `client_early_traffic_secret`, ending with EndOfEarlyData, before the
/// handshake key's records.
#[derive(Debug, Default)]
enum Early {
    /// No protected record seen yet.
    #[default]
    Open,
    /// Early data is being opened under this key.
    Keyed(RecordCipher),
    /// Over (or never started): records go to the direction's cipher.
    Done,
}

/// One direction's decryption state.
#[derive(Debug, Default)]
pub(super) struct SideDecrypt {
    cipher: Option<DirectionCipher>,
    early: Early,
    /// The protected record being collected.
    record: Vec<u8>,
    /// Protected records seen so far, opened or not (where a late-found key's sequence starts).
    seen: u64,
    pub count: DecryptCount,
}

impl SideDecrypt {
    /// A fragment of a protected record. `Err` tells why the record was not decrypted.
    /// `early` is the connection's 0-RTT data: the client's early records go through it, and
    /// the server's EncryptedExtensions decide its fate.
    pub fn on_fragment(
        &mut self,
        f: &Fragment<'_>,
        ctx: KeyContext<'_>,
        early: &mut EarlyData,
        plain: &mut Vec<Plaintext>,
    ) -> Result<(), Decryption> {
        if f.first {
            self.record.clear();
        }
        self.record.extend_from_slice(f.bytes);
        if !f.last {
            return Ok(());
        }
        // Taken, not cleared: an idle connection keeps no 16 KiB buffer.
        let body = std::mem::take(&mut self.record);
        let missed = self.count.early_missed;
        if self.on_early(&f.header, &body, ctx, early, plain) {
            // Early data has its own key and sequence: not one of the handshake key's records.
            // One not opened before any ServerHello may as well be a capture that missed it.
            let why = (self.count.early_missed > missed).then_some(Decryption::NoHello);
            return why.map_or(Ok(()), Err);
        }
        let result = self.on_record(&f.header, &body, ctx, early, plain);
        self.seen = self.seen.saturating_add(1);
        result
    }

    fn on_record(
        &mut self,
        header: &RecordHeader,
        body: &[u8],
        ctx: KeyContext<'_>,
        early: &mut EarlyData,
        plain: &mut Vec<Plaintext>,
    ) -> Result<(), Decryption> {
        if self.cipher.is_none() {
            let built = build(ctx, self.seen);
            self.cipher = Some(built.inspect_err(|_| self.hole(plain))?);
        }
        let Some(cipher) = self.cipher.as_mut() else {
            return Ok(());
        };
        match cipher.open(header, body) {
            Ok(opened) => {
                self.count.records = self.count.records.saturating_add(1);
                if opened.content_type == ContentType::APPLICATION_DATA {
                    let n = u64::try_from(opened.plaintext.len()).unwrap_or(u64::MAX);
                    self.count.bytes = self.count.bytes.saturating_add(n);
                    push_data(plain, opened.plaintext);
                } else if ctx.dir == Direction::ServerToClient
                    && opened.content_type == ContentType::HANDSHAKE
                    && let Some(accepted) = encrypted_extensions_answer(&opened.plaintext)
                {
                    // The server's answer to the client's 0-RTT early data.
                    early.decide(accepted);
                }
                Ok(())
            }
            Err(DecryptError::BeforeApplication) => Ok(()),
            Err(_) => {
                self.count.failed = self.count.failed.saturating_add(1);
                self.hole(plain);
                Err(Decryption::Failed)
            }
        }
    }

    /// A client record in the 0-RTT phase: true if it was early data (opened, or missed before
    /// the ServerHello for want of its secret), false once the phase is over. Opened data goes
    /// through `early`, which holds it until the server's answer is known.
    fn on_early(
        &mut self,
        header: &RecordHeader,
        body: &[u8],
        ctx: KeyContext<'_>,
        early: &mut EarlyData,
        plain: &mut Vec<Plaintext>,
    ) -> bool {
        if ctx.dir != Direction::ClientToServer || matches!(self.early, Early::Done) {
            return false;
        }
        if matches!(self.early, Early::Open) {
            match early_cipher(ctx, header, body) {
                Some(cipher) => self.early = Early::Keyed(cipher),
                // Before the ServerHello a client's protected record can only be early data.
                None if ctx.server_hello.is_none() => {
                    self.count.early_missed = self.count.early_missed.saturating_add(1);
                    return true;
                }
                None => {
                    self.early = Early::Done;
                    return false;
                }
            }
        }
        let Early::Keyed(cipher) = &mut self.early else {
            return false;
        };
        let Ok(opened) = cipher.open(header, body) else {
            // The client's next record is under its handshake key, with no EndOfEarlyData
            // before it: the server rejected the early data (RFC 8446 §4.5).
            self.early = Early::Done;
            early.decide(false);
            return false;
        };
        self.count.records = self.count.records.saturating_add(1);
        if opened.content_type == ContentType::APPLICATION_DATA {
            let n = u64::try_from(opened.plaintext.len()).unwrap_or(u64::MAX);
            self.count.bytes = self.count.bytes.saturating_add(n);
            for data in early.on_data(opened.plaintext) {
                push_data(plain, data);
            }
        } else {
            // EndOfEarlyData (RFC 8446 §4.5) ends the phase: it is sent only when the server
            // accepted the early data.
            self.early = Early::Done;
            early.decide(true);
        }
        true
    }

    /// Bytes of this direction are missing: the record being collected is lost with them.
    pub fn on_hole(&mut self) {
        self.record = Vec::new();
        // Early records are not followed across a hole (their sequence is lost), and a record
        // failing the early key then says nothing of the server's answer: what is held waits
        // for the server's EncryptedExtensions, or the end of the connection.
        if matches!(self.early, Early::Keyed(_)) {
            self.early = Early::Done;
        }
    }

    /// The cipher a search after a hole can prove records with, built now if the hellos and
    /// the key log allow (a hole may come before the direction's first protected record).
    pub fn cipher_for_hole(&mut self, ctx: KeyContext<'_>) -> Option<&DirectionCipher> {
        if self.cipher.is_none() {
            self.cipher = build(ctx, self.seen).ok();
        }
        self.cipher.as_ref()
    }

    /// Per-record overhead and next sequence number, where a hole's plaintext can be counted
    /// (see [`DirectionCipher::hole_framing`]).
    pub fn hole_framing(&self) -> Option<(super::hole::Overhead, u64)> {
        self.cipher.as_ref()?.hole_framing()
    }

    /// Try a candidate record after a hole (see [`DirectionCipher::open_after_hole`]). Its
    /// application data is appended to `plain`; no `Gap` marks the hole, the caller's HTTP
    /// parser was told of it when it happened. Returns the trials spent either way.
    pub fn open_after_hole(
        &mut self,
        header: &RecordHeader,
        body: &[u8],
        plain: &mut Vec<Plaintext>,
    ) -> Result<u64, u64> {
        let cipher = self.cipher.as_mut().ok_or(0u64)?;
        let (opened, tries) = cipher.open_after_hole(header, body)?;
        self.count.records = self.count.records.saturating_add(1);
        if opened.content_type == ContentType::APPLICATION_DATA {
            let n = u64::try_from(opened.plaintext.len()).unwrap_or(u64::MAX);
            self.count.bytes = self.count.bytes.saturating_add(n);
            push_data(plain, opened.plaintext);
        }
        Ok(tries)
    }

    /// A record's plaintext is missing: a hole, once data has flowed (before that the HTTP
    /// parser has nothing to lose).
    fn hole(&self, plain: &mut Vec<Plaintext>) {
        if self.count.bytes == 0 {
            return;
        }
        match plain.last_mut() {
            Some(Plaintext::Gap { records }) => *records = records.saturating_add(1),
            _ => plain.push(Plaintext::Gap { records: 1 }),
        }
    }
}

/// One record's plaintext, kept apart from the next: after a hole, a record that starts with a
/// request or status line is where HTTP framing can start again (clients and servers write a
/// message head as its own record).
fn push_data(plain: &mut Vec<Plaintext>, data: Vec<u8>) {
    if !data.is_empty() {
        plain.push(Plaintext::Data(data));
    }
}

/// The client's early-data cipher, found by opening its first early record (sequence 0) under
/// each TLS 1.3 suite the ClientHello offers whose hash fits the secret: the ServerHello that
/// names the suite (the ticket's, RFC 8446 §4.2.10) usually comes after the early data.
fn early_cipher(ctx: KeyContext<'_>, header: &RecordHeader, body: &[u8]) -> Option<RecordCipher> {
    let ch = ctx.client_hello?;
    let secret = ctx.keylog.get(&ch.random)?.client_early?;
    let chosen = ctx.server_hello.map(|sh| vec![sh.cipher_suite]);
    let suites = chosen.unwrap_or_else(|| ch.cipher_suites.clone());
    suites.into_iter().find_map(|suite| {
        let (aead, hash) = suite_crypto(suite).filter(|_| (0x1301..=0x1303).contains(&suite))?;
        (hash.output_len() == secret.len()).then_some(())?;
        let key = tls13_traffic_key(hash, aead, &secret)?;
        let mut cipher = RecordCipher::new(Framing::Tls13, aead, &key, 0)?;
        cipher.open(header, body).ok()?;
        // Opened at sequence 0: start again there so the caller opens it for real.
        RecordCipher::new(Framing::Tls13, aead, &key, 0)
    })
}

/// The direction's cipher from the hellos (randoms, version, suite) and the key log.
fn build(ctx: KeyContext<'_>, seen: u64) -> Result<DirectionCipher, Decryption> {
    let (Some(ch), Some(sh)) = (ctx.client_hello, ctx.server_hello) else {
        return Err(Decryption::NoHello);
    };
    if sh.hello_retry {
        return Err(Decryption::NoHello);
    }
    let suite = sh.cipher_suite;
    if let Some(cbc) = suite_cbc(suite) {
        if sh.version < TlsVersion::TLS1_1 {
            return Err(Decryption::ImplicitIvCbc(suite, sh.version));
        }
        return build_cbc(ctx, cbc, seen);
    }
    let (aead, hash) = suite_crypto(suite).ok_or(Decryption::UnsupportedSuite(suite))?;
    let secrets = ctx.keylog.get(&ch.random).ok_or(Decryption::NoSecrets)?;
    let client = ctx.dir == Direction::ClientToServer;
    if sh.version == TlsVersion::TLS1_3 {
        let (hs, app) = if client {
            (secrets.client_handshake, secrets.client_traffic_0)
        } else {
            (secrets.server_handshake, secrets.server_traffic_0)
        };
        let d = Tls13Direction::new(hash, aead, hs.as_deref(), app.as_deref(), seen);
        return if d.has_keys() {
            Ok(DirectionCipher::Tls13(d))
        } else {
            Err(Decryption::NoSecrets)
        };
    }
    let master = secrets.master_secret.ok_or(Decryption::NoSecrets)?;
    let (c, s) = tls12_keys(hash, aead, &master, &ch.random, &sh.random);
    let framing = match aead {
        AeadKind::ChaCha20Poly1305 => Framing::Tls12ChaCha,
        AeadKind::Aes128Gcm | AeadKind::Aes256Gcm => Framing::Tls12Gcm,
    };
    let key = if client { c } else { s };
    RecordCipher::new(framing, aead, &key, seen)
        .map(DirectionCipher::Tls12)
        .ok_or(Decryption::Failed)
}

/// A TLS 1.1/1.2 CBC-HMAC direction from the master secret.
fn build_cbc(
    ctx: KeyContext<'_>,
    cbc: (usize, super::cbc::MacKind, super::keys::HashKind),
    seen: u64,
) -> Result<DirectionCipher, Decryption> {
    let (Some(ch), Some(sh)) = (ctx.client_hello, ctx.server_hello) else {
        return Err(Decryption::NoHello);
    };
    let secrets = ctx.keylog.get(&ch.random).ok_or(Decryption::NoSecrets)?;
    let master = secrets.master_secret.ok_or(Decryption::NoSecrets)?;
    let (c, s) = tls12_cbc_keys(cbc, &master, &ch.random, &sh.random);
    let (mac_key, key) = if ctx.dir == Direction::ClientToServer {
        c
    } else {
        s
    };
    CbcCipher::new(&key, cbc.1, &mac_key, seen)
        .map(DirectionCipher::Tls12Cbc)
        .ok_or(Decryption::Failed)
}

#[cfg(test)]
mod tests;
