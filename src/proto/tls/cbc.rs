//! TLS 1.1/1.2 CBC-HMAC record protection (RFC 5246 §6.2.3.2, with the explicit per-record IV
//! of TLS 1.1+), in both orders: MAC-then-encrypt, the default, and encrypt-then-MAC (RFC 7366).
//!
//! Which order a connection uses is in the hellos' `encrypt_then_mac` extension; it is found
//! here by trial instead, as the MAC proves the right one: the encrypt-then-MAC check runs over
//! the ciphertext and costs one HMAC, and a MAC-then-encrypt record fails it. The first record
//! that verifies fixes the order for the direction. The MAC also proves the sequence number,
//! which is what the search after a hole relies on (as the AEAD tag does).

use aes::cipher::{BlockCipherDecrypt, KeyInit};
use aes::{Aes128, Aes256};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384};

use super::decrypt::{DecryptError, Opened, RESYNC_SEQ_TRIES};
use super::record::RecordHeader;

const BLOCK: usize = 16;

/// The HMAC of a CBC suite (the suite name's last part: `_SHA`, `_SHA256`, `_SHA384`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacKind {
    Sha1,
    Sha256,
    Sha384,
}

impl MacKind {
    pub fn output_len(self) -> usize {
        match self {
            MacKind::Sha1 => 20,
            MacKind::Sha256 => 32,
            MacKind::Sha384 => 48,
        }
    }

    /// HMAC over the concatenation of `parts`.
    fn mac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            let Ok(mut m) = <M as KeyInit>::new_from_slice(key) else {
                return Vec::new();
            };
            parts.iter().for_each(|p| m.update(p));
            m.finalize().into_bytes().to_vec()
        }
        match self {
            MacKind::Sha1 => run::<Hmac<Sha1>>(key, parts),
            MacKind::Sha256 => run::<Hmac<Sha256>>(key, parts),
            MacKind::Sha384 => run::<Hmac<Sha384>>(key, parts),
        }
    }
}

enum Aes {
    K128(Box<Aes128>),
    K256(Box<Aes256>),
}

impl Aes {
    fn new(key: &[u8]) -> Option<Aes> {
        Some(match key.len() {
            16 => Aes::K128(Box::new(Aes128::new_from_slice(key).ok()?)),
            32 => Aes::K256(Box::new(Aes256::new_from_slice(key).ok()?)),
            _ => return None,
        })
    }

    /// CBC decryption in place: P_i = D(C_i) xor C_{i-1}, C_0 = `iv` (`buf` is whole blocks).
    fn cbc_decrypt(&self, iv: &[u8], buf: &mut [u8]) {
        let mut prev: [u8; BLOCK] = iv.try_into().unwrap_or([0; BLOCK]);
        for chunk in buf.as_chunks_mut::<BLOCK>().0 {
            let cipher = *chunk;
            let block = (&mut chunk[..]).try_into().ok();
            if let Some(block) = block {
                match self {
                    Aes::K128(c) => c.decrypt_block(block),
                    Aes::K256(c) => c.decrypt_block(block),
                }
            }
            chunk.iter_mut().zip(prev).for_each(|(p, c)| *p ^= c);
            prev = cipher;
        }
    }
}

/// Encrypt-then-MAC or MAC-then-encrypt, once known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    EncryptThenMac,
    MacThenEncrypt,
}

/// One direction's CBC-HMAC protection: AES key, MAC key, sequence number.
pub struct CbcCipher {
    aes: Aes,
    mac: MacKind,
    mac_key: Vec<u8>,
    order: Option<Order>,
    seq: u64,
}

impl std::fmt::Debug for CbcCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CbcCipher({:?}, {:?}, seq {})",
            self.mac, self.order, self.seq
        )
    }
}

impl CbcCipher {
    /// None unless the key is AES-128 or AES-256 and the MAC key fits the MAC.
    pub fn new(key: &[u8], mac: MacKind, mac_key: &[u8], seq: u64) -> Option<Self> {
        (mac_key.len() == mac.output_len()).then_some(())?;
        Some(CbcCipher {
            aes: Aes::new(key)?,
            mac,
            mac_key: mac_key.to_vec(),
            order: None,
            seq,
        })
    }

    /// Smallest record body: an IV and one block (plus the MAC after it, encrypt-then-MAC).
    pub const MIN_BODY: u16 = 2 * BLOCK as u16;

    /// Decrypt and verify one record; the sequence number advances only on success.
    pub fn open(&mut self, header: &RecordHeader, body: &[u8]) -> Result<Opened, DecryptError> {
        let orders = match self.order {
            Some(o) => vec![o],
            None => vec![Order::EncryptThenMac, Order::MacThenEncrypt],
        };
        let mut last = DecryptError::BadTag;
        for order in orders {
            let opened = match order {
                Order::EncryptThenMac => self.open_etm(header, body),
                Order::MacThenEncrypt => self.open_mte(header, body),
            };
            match opened {
                Ok(plaintext) => {
                    self.order = Some(order);
                    self.seq = self.seq.wrapping_add(1);
                    let content_type = header.content_type;
                    return Ok(Opened {
                        content_type,
                        plaintext,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// See `RecordCipher::open_after_hole`: the MAC proves the sequence number.
    pub fn open_after_hole(
        &mut self,
        header: &RecordHeader,
        body: &[u8],
    ) -> Result<(Opened, u64), u64> {
        let start = self.seq;
        for k in 0..RESYNC_SEQ_TRIES {
            self.seq = start.wrapping_add(k);
            if let Ok(opened) = self.open(header, body) {
                return Ok((opened, k + 1));
            }
        }
        self.seq = start;
        Err(RESYNC_SEQ_TRIES)
    }

    /// A record went by (opened or not): the next one has the next number.
    pub fn skip(&mut self) {
        self.seq = self.seq.wrapping_add(1);
    }

    /// `seq_num + type + version + length` (RFC 5246 §6.2.3.1).
    fn mac_header(&self, header: &RecordHeader, len: usize) -> [u8; 13] {
        let mut h = [0u8; 13];
        let len = u16::try_from(len).unwrap_or(u16::MAX);
        let parts = self
            .seq
            .to_be_bytes()
            .into_iter()
            .chain([header.content_type.0]);
        let parts = parts
            .chain(header.version.0.to_be_bytes())
            .chain(len.to_be_bytes());
        h.iter_mut().zip(parts).for_each(|(d, s)| *d = s);
        h
    }

    /// RFC 7366 §3: the MAC covers IV and ciphertext; then decrypt and strip the padding.
    fn open_etm(&self, header: &RecordHeader, body: &[u8]) -> Result<Vec<u8>, DecryptError> {
        let n = self.mac.output_len();
        let covered_len = body.len().checked_sub(n).ok_or(DecryptError::TooShort)?;
        let (covered, mac) = body.split_at(covered_len);
        let want = self.mac.mac(
            &self.mac_key,
            &[&self.mac_header(header, covered_len), covered],
        );
        if want != mac {
            return Err(DecryptError::BadTag);
        }
        let mut plain = self.decrypt(covered)?;
        let len = unpad(&plain).ok_or(DecryptError::BadTag)?;
        plain.truncate(len);
        Ok(plain)
    }

    /// RFC 5246 §6.2.3.2: decrypt, strip the padding, then check the MAC over the content.
    fn open_mte(&self, header: &RecordHeader, body: &[u8]) -> Result<Vec<u8>, DecryptError> {
        let mut plain = self.decrypt(body)?;
        let unpadded = unpad(&plain).ok_or(DecryptError::BadTag)?;
        let content_len = unpadded
            .checked_sub(self.mac.output_len())
            .ok_or(DecryptError::BadTag)?;
        let (content, rest) = plain.split_at(content_len);
        let mac = rest
            .get(..self.mac.output_len())
            .ok_or(DecryptError::BadTag)?;
        let want = self.mac.mac(
            &self.mac_key,
            &[&self.mac_header(header, content_len), content],
        );
        if want != mac {
            return Err(DecryptError::BadTag);
        }
        plain.truncate(content_len);
        Ok(plain)
    }

    /// IV (the first block, TLS 1.1+) then whole blocks of ciphertext.
    fn decrypt(&self, body: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if body.len() < 2 * BLOCK || !body.len().is_multiple_of(BLOCK) {
            return Err(DecryptError::TooShort);
        }
        let (iv, ciphertext) = body.split_at(BLOCK);
        let mut buf = ciphertext.to_vec();
        self.aes.cbc_decrypt(iv, &mut buf);
        Ok(buf)
    }
}

/// Length without the padding: the last byte says how many bytes before it pad, each of them
/// that same value (RFC 5246 §6.2.3.2). None if they are not.
fn unpad(plain: &[u8]) -> Option<usize> {
    let (&pad, rest) = plain.split_last()?;
    let len = rest.len().checked_sub(usize::from(pad))?;
    rest.get(len..)?.iter().all(|&b| b == pad).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tls::TlsVersion;
    use crate::proto::tls::record::ContentType;
    use aes::cipher::BlockCipherEncrypt;

    const HEADER: RecordHeader = RecordHeader {
        content_type: ContentType::APPLICATION_DATA,
        version: TlsVersion::TLS1_2,
        len: 0,
    };

    /// Encrypt like a TLS 1.2 sender would (the test's own reference; real captures are checked
    /// in the integration tests).
    fn seal(key: &[u8; 16], mac_key: &[u8], seq: u64, content: &[u8], etm: bool) -> Vec<u8> {
        let c = CbcCipher::new(key, MacKind::Sha1, mac_key, seq).unwrap();
        let aes = Aes128::new_from_slice(key).unwrap();
        let iv = [0x5a; BLOCK];
        let mut plain = content.to_vec();
        if !etm {
            plain.extend(
                c.mac
                    .mac(mac_key, &[&c.mac_header(&HEADER, content.len()), content]),
            );
        }
        let pad = (BLOCK - (plain.len() + 1) % BLOCK) % BLOCK;
        plain.extend(std::iter::repeat_n(pad as u8, pad + 1));
        let mut prev = iv;
        for chunk in plain.as_chunks_mut::<BLOCK>().0 {
            chunk.iter_mut().zip(prev).for_each(|(p, c)| *p ^= c);
            aes.encrypt_block((&mut chunk[..]).try_into().unwrap());
            prev = *chunk;
        }
        let mut body = [&iv[..], &plain].concat();
        if etm {
            let mac = c
                .mac
                .mac(mac_key, &[&c.mac_header(&HEADER, body.len()), &body]);
            body.extend(mac);
        }
        body
    }

    #[test]
    fn opens_both_orders_and_keeps_the_one_found() {
        let (key, mac_key) = ([7u8; 16], [9u8; 20]);
        for etm in [true, false] {
            let mut c = CbcCipher::new(&key, MacKind::Sha1, &mac_key, 0).unwrap();
            for (seq, text) in [
                (0, &b"GET / HTTP/1.1\r\n\r\n"[..]),
                (1, b""),
                (2, &[0x41; 47]),
            ] {
                let body = seal(&key, &mac_key, seq, text, etm);
                let opened = c.open(&HEADER, &body).unwrap();
                assert_eq!(opened.plaintext, text, "etm {etm} seq {seq}");
            }
            let want = if etm {
                Order::EncryptThenMac
            } else {
                Order::MacThenEncrypt
            };
            assert_eq!(c.order, Some(want));
        }
    }

    #[test]
    fn wrong_sequence_or_flipped_bit_fails_and_a_hole_is_crossed() {
        let (key, mac_key) = ([7u8; 16], [9u8; 20]);
        let body = seal(&key, &mac_key, 5, b"PUT /b/k HTTP/1.1\r\n", false);
        let mut c = CbcCipher::new(&key, MacKind::Sha1, &mac_key, 4).unwrap();
        assert_eq!(c.open(&HEADER, &body), Err(DecryptError::BadTag));
        let mut flipped = body.clone();
        flipped[20] ^= 1;
        c.seq = 5;
        assert!(c.open(&HEADER, &flipped).is_err());
        c.seq = 2;
        let (opened, tries) = c.open_after_hole(&HEADER, &body).unwrap();
        assert_eq!(
            (opened.plaintext.as_slice(), tries),
            (&b"PUT /b/k HTTP/1.1\r\n"[..], 4)
        );
        assert_eq!(c.seq, 6);
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        let mut c = CbcCipher::new(&[1; 32], MacKind::Sha384, &[2; 48], 0).unwrap();
        for len in [0, 1, 15, 16, 17, 31, 32, 33, 48, 64, 100] {
            assert!(c.open(&HEADER, &vec![0xff; len]).is_err(), "len {len}");
        }
        assert!(CbcCipher::new(&[1; 24], MacKind::Sha1, &[2; 20], 0).is_none());
        assert!(CbcCipher::new(&[1; 16], MacKind::Sha1, &[2; 32], 0).is_none());
        assert_eq!(unpad(&[3, 3, 3, 3]), Some(0));
        assert_eq!(unpad(&[9, 1, 2, 2]), None);
    }
}
