//! Record decryption (RFC 8446 §5.2–5.4 for TLS 1.3; RFC 5288 §3 AES-GCM and RFC 7905 §2
//! ChaCha20-Poly1305 for TLS 1.2) and the per-direction cipher state that follows the key
//! changes of a TLS 1.3 connection.
//!
//! The end of the TLS 1.3 handshake is found by trial: a direction starts on its handshake key;
//! the first record that does not open under it but opens under the application key (sequence
//! 0) starts the application phase. An AEAD tag makes a wrong guess fail, never pass, so this
//! needs no handshake parsing and works with only the `*_TRAFFIC_SECRET_0` lines of a key log.
//! In the application phase a decrypted KeyUpdate (RFC 8446 §4.6.3) moves to the next key
//! generation (§7.2); a record that fails may also be the first after a KeyUpdate we could not
//! read, so the next generation is tried before the record is given up. A record given up still
//! used its sequence number, so the count moves on.

use aes_gcm::{AeadInOut, Aes128Gcm, Aes256Gcm, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;

use super::cbc::CbcCipher;
use super::hole::Overhead;
use super::keys::{AeadKind, HashKind, TrafficKey, tls13_next_secret, tls13_traffic_key};
use super::record::{ContentType, RecordHeader};

/// Authentication tag length of every AEAD we support.
const TAG_LEN: usize = 16;
/// TLS 1.2 AES-GCM explicit nonce (RFC 5288 §3).
const EXPLICIT_NONCE_LEN: usize = 8;
/// Sequence numbers tried on one candidate record after a hole: records lost in it. A hole of
/// 64 records is over 1 MB of full-size records, or 64 small ones.
pub const RESYNC_SEQ_TRIES: u64 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("record too short for its AEAD")]
    TooShort,
    #[error("authentication failed (wrong key, or sequence lost)")]
    BadTag,
    #[error("TLS 1.3 inner plaintext has no content type")]
    NoContentType,
    /// A TLS 1.3 record before the application phase that no key opens: without the handshake
    /// secret, most likely encrypted handshake (not data lost).
    #[error("record before the application keys, and no handshake key")]
    BeforeApplication,
}

/// A decrypted record: the real content type (TLS 1.3 hides it inside) and the plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub content_type: ContentType,
    pub plaintext: Vec<u8>,
}

/// How a record carries its nonce and additional data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Nonce = IV xor sequence; AAD = the record header (RFC 8446 §5.2, §5.3).
    Tls13,
    /// Nonce = 4-byte salt + 8-byte explicit nonce from the record (RFC 5288 §3).
    Tls12Gcm,
    /// Nonce = IV xor sequence (RFC 7905 §2).
    Tls12ChaCha,
}

enum Engine {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

impl Engine {
    fn new(kind: AeadKind, key: &[u8]) -> Option<Engine> {
        Some(match kind {
            AeadKind::Aes128Gcm => Engine::Aes128(Box::new(Aes128Gcm::new_from_slice(key).ok()?)),
            AeadKind::Aes256Gcm => Engine::Aes256(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
            AeadKind::ChaCha20Poly1305 => {
                Engine::ChaCha(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?))
            }
        })
    }

    /// Decrypt `buf` in place; false if the tag does not verify.
    fn open(&self, nonce: [u8; 12], aad: &[u8], buf: &mut [u8], tag: [u8; TAG_LEN]) -> bool {
        let (nonce, tag) = (&nonce.into(), &tag.into());
        match self {
            Engine::Aes128(c) => c.decrypt_inout_detached(nonce, aad, buf.into(), tag),
            Engine::Aes256(c) => c.decrypt_inout_detached(nonce, aad, buf.into(), tag),
            Engine::ChaCha(c) => c.decrypt_inout_detached(nonce, aad, buf.into(), tag),
        }
        .is_ok()
    }
}

/// One direction's record protection under one key: cipher, IV, sequence number.
pub struct RecordCipher {
    engine: Engine,
    iv: Vec<u8>,
    framing: Framing,
    seq: u64,
}

impl std::fmt::Debug for RecordCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecordCipher({:?}, seq {})", self.framing, self.seq)
    }
}

impl RecordCipher {
    /// `seq` is the number of records already sent under this key (normally 0).
    pub fn new(framing: Framing, aead: AeadKind, key: &TrafficKey, seq: u64) -> Option<Self> {
        let iv_len = if framing == Framing::Tls12Gcm { 4 } else { 12 };
        (key.iv.len() == iv_len).then_some(())?;
        Some(RecordCipher {
            engine: Engine::new(aead, &key.key)?,
            iv: key.iv.clone(),
            framing,
            seq,
        })
    }

    /// Decrypt one record body; the sequence number advances only on success.
    pub fn open(&mut self, header: &RecordHeader, body: &[u8]) -> Result<Opened, DecryptError> {
        let explicit = if self.framing == Framing::Tls12Gcm {
            EXPLICIT_NONCE_LEN
        } else {
            0
        };
        let plain_len = body
            .len()
            .checked_sub(explicit + TAG_LEN)
            .ok_or(DecryptError::TooShort)?;
        let (nonce_part, rest) = body.split_at(explicit);
        let (ciphertext, tag) = rest.split_at(plain_len);
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| DecryptError::TooShort)?;
        let nonce = self.nonce(nonce_part);
        let aad = self.aad(header, plain_len);
        let mut buf = ciphertext.to_vec();
        if !self.engine.open(nonce, &aad, &mut buf, tag) {
            return Err(DecryptError::BadTag);
        }
        self.skip();
        match self.framing {
            Framing::Tls13 => inner_plaintext(buf),
            Framing::Tls12Gcm | Framing::Tls12ChaCha => Ok(Opened {
                content_type: header.content_type,
                plaintext: buf,
            }),
        }
    }

    /// After a hole: open a record under the next [`RESYNC_SEQ_TRIES`] sequence numbers; the
    /// tag proves the right one (RFC 5116 §2.2), and the count goes on from it. A TLS 1.2
    /// AES-GCM record's explicit nonce is the sequence number in some implementations (RFC 5288
    /// §3 suggests it; OpenSSL starts elsewhere), so when it is in range it is tried first.
    /// Returns the record and the trials spent, or the trials spent (the sequence number is
    /// then unchanged).
    pub fn open_after_hole(
        &mut self,
        header: &RecordHeader,
        body: &[u8],
    ) -> Result<(Opened, u64), u64> {
        let start = self.seq;
        let hint = self
            .explicit_seq(body)
            .filter(|n| n.wrapping_sub(start) < RESYNC_SEQ_TRIES);
        let rest = (0..RESYNC_SEQ_TRIES).map(|k| start.wrapping_add(k));
        let order = hint.into_iter().chain(rest.filter(|s| Some(*s) != hint));
        let mut tries = 0;
        for seq in order {
            tries += 1;
            self.seq = seq;
            if let Ok(opened) = self.open(header, body) {
                return Ok((opened, tries));
            }
        }
        self.seq = start;
        Err(tries)
    }

    /// A TLS 1.2 AES-GCM record's explicit nonce read as a number.
    fn explicit_seq(&self, body: &[u8]) -> Option<u64> {
        if self.framing != Framing::Tls12Gcm {
            return None;
        }
        let nonce: [u8; EXPLICIT_NONCE_LEN] = body.get(..EXPLICIT_NONCE_LEN)?.try_into().ok()?;
        Some(u64::from_be_bytes(nonce))
    }

    /// A record went by under this key (opened or not): the next one has the next number.
    pub fn skip(&mut self) {
        self.seq = self.seq.wrapping_add(1);
    }

    /// The per-record nonce (RFC 8446 §5.3; RFC 5288 §3; RFC 7905 §2).
    fn nonce(&self, explicit: &[u8]) -> [u8; 12] {
        let mut nonce = [0u8; 12];
        if self.framing == Framing::Tls12Gcm {
            for (dst, src) in nonce.iter_mut().zip(self.iv.iter().chain(explicit)) {
                *dst = *src;
            }
            return nonce;
        }
        let seq = self.seq.to_be_bytes();
        for (i, (dst, iv)) in nonce.iter_mut().zip(&self.iv).enumerate() {
            let s = i
                .checked_sub(4)
                .and_then(|j| seq.get(j))
                .copied()
                .unwrap_or(0);
            *dst = iv ^ s;
        }
        nonce
    }

    /// Additional data: the record header in TLS 1.3 (RFC 8446 §5.2); seq_num + type + version
    /// + plaintext length in TLS 1.2 (RFC 5246 §6.2.3.3).
    fn aad(&self, header: &RecordHeader, plain_len: usize) -> Vec<u8> {
        let mut aad = Vec::with_capacity(13);
        if self.framing != Framing::Tls13 {
            aad.extend(self.seq.to_be_bytes());
        }
        aad.push(header.content_type.0);
        aad.extend(header.version.0.to_be_bytes());
        let len = if self.framing == Framing::Tls13 {
            header.len
        } else {
            u16::try_from(plain_len).unwrap_or(u16::MAX)
        };
        aad.extend(len.to_be_bytes());
        aad
    }
}

/// TLSInnerPlaintext (RFC 8446 §5.2): content, then the real type, then zero padding.
fn inner_plaintext(mut buf: Vec<u8>) -> Result<Opened, DecryptError> {
    let end = buf
        .iter()
        .rposition(|&b| b != 0)
        .ok_or(DecryptError::NoContentType)?;
    let content_type = ContentType(buf.get(end).copied().unwrap_or(0));
    buf.truncate(end);
    Ok(Opened {
        content_type,
        plaintext: buf,
    })
}

/// A TLS 1.3 direction: handshake key, then application keys (with updates).
#[derive(Debug)]
pub struct Tls13Direction {
    hash: HashKind,
    aead: AeadKind,
    handshake: Option<RecordCipher>,
    /// The current application cipher and the secret it came from.
    app: Option<(RecordCipher, Vec<u8>)>,
    in_app: bool,
}

impl Tls13Direction {
    /// From the direction's handshake and first application traffic secrets (either may be
    /// missing from the key log); `seen` records were already sent under the handshake key.
    pub fn new(
        hash: HashKind,
        aead: AeadKind,
        handshake: Option<&[u8]>,
        app: Option<&[u8]>,
        seen: u64,
    ) -> Self {
        let cipher = |secret: &[u8], seq| {
            let key = tls13_traffic_key(hash, aead, secret)?;
            RecordCipher::new(Framing::Tls13, aead, &key, seq)
        };
        Tls13Direction {
            hash,
            aead,
            handshake: handshake.and_then(|s| cipher(s, seen)),
            app: app.and_then(|s| Some((cipher(s, 0)?, s.to_vec()))),
            in_app: false,
        }
    }

    pub fn has_keys(&self) -> bool {
        self.handshake.is_some() || self.app.is_some()
    }

    pub fn open(&mut self, header: &RecordHeader, body: &[u8]) -> Result<Opened, DecryptError> {
        if !self.in_app {
            let hs = self.handshake.as_mut().map(|c| c.open(header, body));
            if let Some(Ok(opened)) = hs {
                return Ok(opened);
            }
            let app = self.app.as_mut().map(|(c, _)| c.open(header, body));
            if let Some(Ok(opened)) = app {
                self.in_app = true;
                self.handshake = None;
                return Ok(opened);
            }
            return Err(match hs {
                None => DecryptError::BeforeApplication,
                Some(r) => r.err().unwrap_or(DecryptError::BadTag),
            });
        }
        let Some((cipher, _)) = self.app.as_mut() else {
            return Err(DecryptError::BadTag);
        };
        match cipher.open(header, body) {
            Ok(opened) => {
                let plain = &opened.plaintext;
                if opened.content_type == ContentType::HANDSHAKE && has_key_update(plain) {
                    self.next_generation();
                }
                Ok(opened)
            }
            Err(DecryptError::BadTag) => self
                .try_key_update(header, body)
                .inspect_err(|_| self.skip_app()),
            Err(e) => {
                self.skip_app();
                Err(e)
            }
        }
    }

    /// After a hole, by trial of sequence numbers under the application key (see
    /// [`RecordCipher::open_after_hole`]); a hole during the handshake lands in the application
    /// phase at its first records. A KeyUpdate lost in the hole is not followed.
    pub fn open_after_hole(
        &mut self,
        header: &RecordHeader,
        body: &[u8],
    ) -> Result<(Opened, u64), u64> {
        let (cipher, _) = self.app.as_mut().ok_or(0u64)?;
        let (opened, tries) = cipher.open_after_hole(header, body)?;
        self.in_app = true;
        self.handshake = None;
        if opened.content_type == ContentType::HANDSHAKE && has_key_update(&opened.plaintext) {
            self.next_generation();
        }
        Ok((opened, tries))
    }

    /// A record under the application key was given up: it still used its sequence number.
    fn skip_app(&mut self) {
        if let Some((cipher, _)) = self.app.as_mut() {
            cipher.skip();
        }
    }

    /// Move the application key to its next generation (RFC 8446 §7.2).
    fn next_generation(&mut self) {
        let next = self.app.as_ref().and_then(|(_, secret)| {
            let next = tls13_next_secret(self.hash, secret)?;
            let key = tls13_traffic_key(self.hash, self.aead, &next)?;
            Some((RecordCipher::new(Framing::Tls13, self.aead, &key, 0)?, next))
        });
        if next.is_some() {
            self.app = next;
        }
    }

    /// A record that fails under the current key may be the first after a KeyUpdate.
    fn try_key_update(
        &mut self,
        header: &RecordHeader,
        body: &[u8],
    ) -> Result<Opened, DecryptError> {
        let (_, secret) = self.app.as_ref().ok_or(DecryptError::BadTag)?;
        let next = tls13_next_secret(self.hash, secret).ok_or(DecryptError::BadTag)?;
        let key = tls13_traffic_key(self.hash, self.aead, &next).ok_or(DecryptError::BadTag)?;
        let mut cipher =
            RecordCipher::new(Framing::Tls13, self.aead, &key, 0).ok_or(DecryptError::BadTag)?;
        let opened = cipher.open(header, body)?;
        self.app = Some((cipher, next));
        Ok(opened)
    }
}

/// True if decrypted handshake bytes hold a KeyUpdate (type 24) message (RFC 8446 §4.6.3).
fn has_key_update(mut msgs: &[u8]) -> bool {
    const KEY_UPDATE: u8 = 24;
    while let [msg_type, l0, l1, l2, rest @ ..] = msgs {
        if *msg_type == KEY_UPDATE {
            return true;
        }
        let len = u32::from_be_bytes([0, *l0, *l1, *l2]) as usize;
        msgs = rest.get(len..).unwrap_or_default();
    }
    false
}

/// The cipher state of one direction.
#[derive(Debug)]
pub enum DirectionCipher {
    Tls12(RecordCipher),
    Tls12Cbc(CbcCipher),
    Tls13(Tls13Direction),
}

impl DirectionCipher {
    pub fn open(&mut self, header: &RecordHeader, body: &[u8]) -> Result<Opened, DecryptError> {
        match self {
            DirectionCipher::Tls12(c) => c.open(header, body).inspect_err(|_| c.skip()),
            DirectionCipher::Tls12Cbc(c) => c.open(header, body).inspect_err(|_| c.skip()),
            DirectionCipher::Tls13(d) => d.open(header, body),
        }
    }

    /// Open the first record after a hole: see [`RecordCipher::open_after_hole`].
    pub fn open_after_hole(
        &mut self,
        header: &RecordHeader,
        body: &[u8],
    ) -> Result<(Opened, u64), u64> {
        match self {
            DirectionCipher::Tls12(c) => c.open_after_hole(header, body),
            DirectionCipher::Tls12Cbc(c) => c.open_after_hole(header, body),
            DirectionCipher::Tls13(d) => d.open_after_hole(header, body),
        }
    }

    /// The per-record overhead and the sequence number of the next record, where a hole's
    /// plaintext can be counted exactly (see [`super::hole`]): an AEAD suite, and in TLS 1.3
    /// only once in the application phase (handshake records of unknown size may be lost
    /// before it). CBC padding makes a record's plaintext length unknowable.
    pub fn hole_framing(&self) -> Option<(Overhead, u64)> {
        match self {
            DirectionCipher::Tls12(c) if c.framing == Framing::Tls12Gcm => {
                Some((Overhead::TLS12_GCM, c.seq))
            }
            DirectionCipher::Tls12(c) => Some((Overhead::TLS12_CHACHA, c.seq)),
            DirectionCipher::Tls12Cbc(_) => None,
            DirectionCipher::Tls13(d) if d.in_app => {
                d.app.as_ref().map(|(c, _)| (Overhead::TLS13, c.seq))
            }
            DirectionCipher::Tls13(_) => None,
        }
    }

    /// The smallest record body this cipher can produce (tag, explicit nonce, TLS 1.3's
    /// inner content type), and the largest allowed (RFC 8446 §5.2, RFC 5246 §6.2.3).
    pub fn body_len_range(&self) -> (u16, u16) {
        match self {
            DirectionCipher::Tls12(c) if c.framing == Framing::Tls12Gcm => (
                (EXPLICIT_NONCE_LEN + TAG_LEN) as u16,
                super::record::MAX_RECORD_LEN,
            ),
            DirectionCipher::Tls12(_) => (TAG_LEN as u16, super::record::MAX_RECORD_LEN),
            DirectionCipher::Tls12Cbc(_) => (CbcCipher::MIN_BODY, super::record::MAX_RECORD_LEN),
            DirectionCipher::Tls13(_) => (TAG_LEN as u16 + 1, (1 << 14) + 256),
        }
    }
}
