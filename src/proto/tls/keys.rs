//! Key derivation for decryption: the TLS 1.3 key schedule's HKDF-Expand-Label (RFC 8446 §7.1),
//! traffic keys (§7.3) and key update (§7.2); the TLS 1.2 PRF (RFC 5246 §5) and key block
//! (§6.3). Which suites we decrypt, and with what, is decided here too.

use hkdf::Hkdf;

use super::cbc::MacKind;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha384};

/// The AEADs we decrypt (CBC-HMAC suites: [`suite_cbc`]; CCM suites are not decrypted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadKind {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl AeadKind {
    pub fn key_len(self) -> usize {
        match self {
            AeadKind::Aes128Gcm => 16,
            AeadKind::Aes256Gcm | AeadKind::ChaCha20Poly1305 => 32,
        }
    }
}

/// The suite's hash: HKDF's in TLS 1.3, the PRF's in TLS 1.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    Sha256,
    Sha384,
}

impl HashKind {
    pub fn output_len(self) -> usize {
        match self {
            HashKind::Sha256 => 32,
            HashKind::Sha384 => 48,
        }
    }
}

/// What a cipher suite needs for decryption; None for suites we do not decrypt.
pub fn suite_crypto(suite: u16) -> Option<(AeadKind, HashKind)> {
    use AeadKind::*;
    use HashKind::*;
    Some(match suite {
        // TLS 1.3 (RFC 8446 §B.4).
        0x1301 => (Aes128Gcm, Sha256),
        0x1302 => (Aes256Gcm, Sha384),
        0x1303 => (ChaCha20Poly1305, Sha256),
        // TLS 1.2 AES-GCM (RFC 5288, RFC 5289): RSA, DHE_RSA, ECDHE_ECDSA, ECDHE_RSA; and the
        // PSK ones (RFC 5487; ECDHE_PSK, RFC 8442), whose key block is derived the same way
        // from the master secret the key log gives.
        0x009c | 0x009e | 0xc02b | 0xc02f | 0x00a8 | 0x00aa | 0x00ac | 0xd001 => {
            (Aes128Gcm, Sha256)
        }
        0x009d | 0x009f | 0xc02c | 0xc030 | 0x00a9 | 0x00ab | 0x00ad | 0xd002 => {
            (Aes256Gcm, Sha384)
        }
        // TLS 1.2 ChaCha20-Poly1305 (RFC 7905), the PSK ones included.
        0xcca8..=0xccae => (ChaCha20Poly1305, Sha256),
        _ => return None,
    })
}

/// What a TLS 1.2 CBC-HMAC suite needs: AES key length, MAC, PRF hash (SHA-256 unless the
/// suite names SHA-384, RFC 5246 §5 and RFC 5289 §3.2); None for other suites. 3DES and
/// TLS 1.0's implicit IVs are not decrypted.
pub fn suite_cbc(suite: u16) -> Option<(usize, MacKind, HashKind)> {
    use HashKind::{Sha256 as Prf256, Sha384 as Prf384};
    use MacKind::*;
    Some(match suite {
        // AES_128_CBC_SHA: RSA, DHE_DSS, DHE_RSA, ECDHE_ECDSA, ECDHE_RSA, PSK, DHE_PSK,
        // RSA_PSK, ECDHE_PSK (RFC 5246, 4492, 4279, 5489).
        0x002f | 0x0032 | 0x0033 | 0xc009 | 0xc013 | 0x008c | 0x0090 | 0x0094 | 0xc035 => {
            (16, Sha1, Prf256)
        }
        0x0035 | 0x0038 | 0x0039 | 0xc00a | 0xc014 | 0x008d | 0x0091 | 0x0095 | 0xc036 => {
            (32, Sha1, Prf256)
        }
        // AES_128_CBC_SHA256 (RFC 5246, 5289, 5487, 5489); AES_256_CBC_SHA256 (RFC 5246).
        0x003c | 0x0040 | 0x0067 | 0xc023 | 0xc027 | 0x00ae | 0x00b2 | 0x00b6 | 0xc037 => {
            (16, Sha256, Prf256)
        }
        0x003d | 0x006a | 0x006b => (32, Sha256, Prf256),
        // AES_256_CBC_SHA384 (RFC 5289, 5487, 5489).
        0xc024 | 0xc028 | 0x00af | 0x00b3 | 0x00b7 | 0xc038 => (32, Sha384, Prf384),
        _ => return None,
    })
}

/// One direction's CBC keys: (MAC key, AES key).
pub type CbcKeys = (Vec<u8>, Vec<u8>);

/// The (client, server) keys of a TLS 1.2 CBC suite: the key block is client MAC key, server
/// MAC key, client key, server key (RFC 5246 §6.3; the IVs after them are TLS 1.0's only).
pub fn tls12_cbc_keys(
    (key_len, mac, prf): (usize, MacKind, HashKind),
    master_secret: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> (CbcKeys, CbcKeys) {
    let m = mac.output_len();
    let seed = [&server_random[..], &client_random[..]].concat();
    let block = tls12_prf(
        prf,
        master_secret,
        b"key expansion",
        &seed,
        2 * (m + key_len),
    );
    let part = |from: usize, n: usize| block.get(from..from + n).unwrap_or_default().to_vec();
    let client = (part(0, m), part(2 * m, key_len));
    let server = (part(m, m), part(2 * m + key_len, key_len));
    (client, server)
}

/// A record protection key and its IV (12 bytes in TLS 1.3 and for ChaCha20 in TLS 1.2; the
/// 4-byte salt of RFC 5288 §3 for AES-GCM in TLS 1.2).
#[derive(Clone, PartialEq, Eq)]
pub struct TrafficKey {
    pub key: Vec<u8>,
    pub iv: Vec<u8>,
}

impl std::fmt::Debug for TrafficKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrafficKey(<secret>)")
    }
}

/// HKDF-Expand-Label(Secret, Label, Context, Length) (RFC 8446 §7.1): HKDF-Expand with the
/// `HkdfLabel` struct as info. None if the secret is shorter than the hash.
pub fn hkdf_expand_label(
    hash: HashKind,
    secret: &[u8],
    label: &str,
    context: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let full_label = [b"tls13 ", label.as_bytes()].concat();
    let mut info = Vec::with_capacity(4 + full_label.len() + context.len());
    info.extend(u16::try_from(len).ok()?.to_be_bytes());
    info.push(u8::try_from(full_label.len()).ok()?);
    info.extend(&full_label);
    info.push(u8::try_from(context.len()).ok()?);
    info.extend(context);
    let mut out = vec![0u8; len];
    match hash {
        HashKind::Sha256 => Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out),
        HashKind::Sha384 => Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out),
    }
    .ok()?;
    Some(out)
}

/// Traffic key and IV from a traffic secret (RFC 8446 §7.3).
pub fn tls13_traffic_key(hash: HashKind, aead: AeadKind, secret: &[u8]) -> Option<TrafficKey> {
    Some(TrafficKey {
        key: hkdf_expand_label(hash, secret, "key", &[], aead.key_len())?,
        iv: hkdf_expand_label(hash, secret, "iv", &[], 12)?,
    })
}

/// The next application traffic secret after a KeyUpdate (RFC 8446 §7.2).
pub fn tls13_next_secret(hash: HashKind, secret: &[u8]) -> Option<Vec<u8>> {
    hkdf_expand_label(hash, secret, "traffic upd", &[], hash.output_len())
}

/// PRF(secret, label, seed) = P_hash(secret, label + seed) (RFC 5246 §5), `len` bytes.
pub fn tls12_prf(hash: HashKind, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let seed = [label, seed].concat();
    match hash {
        HashKind::Sha256 => p_hash::<Hmac<Sha256>>(secret, &seed, len),
        HashKind::Sha384 => p_hash::<Hmac<Sha384>>(secret, &seed, len),
    }
}

/// P_hash: A(i) = HMAC(secret, A(i-1)), output HMAC(secret, A(i) + seed)... (RFC 5246 §5).
fn p_hash<M: Mac + KeyInit + Clone>(secret: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let Ok(mac) = <M as KeyInit>::new_from_slice(secret) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(len);
    let mut a = seed.to_vec();
    while out.len() < len {
        a = mac
            .clone()
            .chain_update(&a)
            .finalize()
            .into_bytes()
            .to_vec();
        let block = mac.clone().chain_update(&a).chain_update(seed).finalize();
        out.extend_from_slice(&block.into_bytes());
    }
    out.truncate(len);
    out
}

/// The (client, server) write keys of a TLS 1.2 AEAD suite (RFC 5246 §6.3; AEAD suites have no
/// MAC keys, RFC 5288 §3 and RFC 7905 §2 give the IV lengths).
pub fn tls12_keys(
    hash: HashKind,
    aead: AeadKind,
    master_secret: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> (TrafficKey, TrafficKey) {
    let iv_len = match aead {
        AeadKind::ChaCha20Poly1305 => 12,
        AeadKind::Aes128Gcm | AeadKind::Aes256Gcm => 4,
    };
    let k = aead.key_len();
    let seed = [&server_random[..], &client_random[..]].concat();
    let block = tls12_prf(
        hash,
        master_secret,
        b"key expansion",
        &seed,
        2 * (k + iv_len),
    );
    let part = |from: usize, n: usize| block.get(from..from + n).unwrap_or_default().to_vec();
    let client = TrafficKey {
        key: part(0, k),
        iv: part(2 * k, iv_len),
    };
    let server = TrafficKey {
        key: part(k, k),
        iv: part(2 * k + iv_len, iv_len),
    };
    (client, server)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tls::testdata::hex;

    #[test]
    fn rfc8448_server_handshake_traffic_key() {
        // RFC 8448 §3 "Simple 1-RTT Handshake": {server} derive write traffic keys for
        // handshake data.
        let secret = hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
        let k = tls13_traffic_key(HashKind::Sha256, AeadKind::Aes128Gcm, &secret).unwrap();
        assert_eq!(k.key, hex("3fce516009c21727d0f2e4e86ee403bc"));
        assert_eq!(k.iv, hex("5d313eb2671276ee13000b30"));
    }

    #[test]
    fn tls12_prf_sha256_known_answer() {
        // The widely used P_SHA256 test vector (IETF TLS WG list, 2008), first 32 bytes.
        let out = tls12_prf(
            HashKind::Sha256,
            &hex("9bbe436ba940f017b17652849a71db35"),
            b"test label",
            &hex("a0ba9f936cda311827a6f796ffd5198c"),
            100,
        );
        assert_eq!(out.len(), 100);
        assert_eq!(
            out[..32],
            hex("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a")
        );
    }

    #[test]
    fn suites_we_decrypt() {
        assert_eq!(
            suite_crypto(0x1302),
            Some((AeadKind::Aes256Gcm, HashKind::Sha384))
        );
        assert_eq!(
            suite_crypto(0xcca9),
            Some((AeadKind::ChaCha20Poly1305, HashKind::Sha256))
        );
        assert_eq!(suite_crypto(0x002f), None, "CBC is not an AEAD");
        assert_eq!(
            suite_cbc(0xc028),
            Some((32, MacKind::Sha384, HashKind::Sha384))
        );
        assert_eq!(suite_cbc(0x000a), None, "3DES is not decrypted");
        assert_eq!(suite_crypto(0x1304), None, "CCM is not decrypted");
    }
}
