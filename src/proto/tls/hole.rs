//! How much application data a hole in a decrypted direction cost, when that can be told
//! exactly: HTTP can then count a body through the hole and keep pairing, as over a plaintext
//! TCP gap of known length.
//!
//! The ciphertext span of the hole is known from TCP: the bytes of the record the hole cut that
//! came before it (header included), the bytes the hole lost, and the bytes searched after it
//! before the record that opened ([`resync`](super::resync)). The number of records in that
//! span is known from the sequence number the AEAD tag proved. Each record costs a fixed
//! overhead (header, tag, explicit nonce, TLS 1.3's inner content type), so what is left is
//! plaintext. This is pure arithmetic with checks: the span must be a whole number of records of
//! lengths the cipher allows, and a record the hole cut whose header was seen must fit it.
//!
//! What cannot be seen: TLS 1.3 padding (RFC 8446 §5.4) is inside the encryption, and a record
//! lost whole could be a post-handshake message (a NewSessionTicket, RFC 8446 §4.6.1) rather than
//! application data. Either makes the length too large; HTTP's own resync then takes over (its
//! body ends early and what follows is not a message head), as after a hole of unknown length.

use super::record::{ContentType, RecordHeader};

/// Per-record costs of a direction's record protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overhead {
    /// Bytes of every record that are not plaintext: the 5-byte header, the 16-byte tag, and an
    /// 8-byte explicit nonce (TLS 1.2 AES-GCM, RFC 5288 §3) or the inner content type byte
    /// (TLS 1.3, RFC 8446 §5.2).
    pub per_record: u64,
    /// The largest record body the version allows.
    pub max_body: u64,
}

impl Overhead {
    /// TLS 1.3 (any AEAD suite): header + tag + inner content type; bodies ≤ 2^14 + 256.
    pub const TLS13: Overhead = Overhead {
        per_record: 5 + 16 + 1,
        max_body: (1 << 14) + 256,
    };
    /// TLS 1.2 AES-GCM: header + explicit nonce + tag; bodies ≤ 2^14 + 2048.
    pub const TLS12_GCM: Overhead = Overhead {
        per_record: 5 + 8 + 16,
        max_body: (1 << 14) + 2048,
    };
    /// TLS 1.2 ChaCha20-Poly1305 (RFC 7905, nonce from the sequence number): header + tag.
    pub const TLS12_CHACHA: Overhead = Overhead {
        per_record: 5 + 16,
        max_body: (1 << 14) + 2048,
    };
}

/// The ciphertext a hole spans, from the start of the record it cut to the record that opened
/// after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoleSpan {
    /// Bytes of the cut record seen before the hole, header included (0: the hole began at a
    /// record boundary).
    pub before: u64,
    /// The cut record's header, when all 5 bytes of it came before the hole.
    pub cut_header: Option<RecordHeader>,
    /// Bytes the hole lost (from TCP; 0 = unknown).
    pub lost: u64,
    /// Bytes after the hole searched before the header of the record that opened.
    pub after: u64,
    /// Records from the cut one to the one before the record that opened: the sequence number
    /// that opened it minus the one expected at the hole.
    pub records: u64,
}

/// Application-data bytes lost in the hole, or None when any term is unknown or the span is
/// not consistent with `records` records of this protection.
pub fn lost_plaintext(span: &HoleSpan, overhead: Overhead) -> Option<u64> {
    if span.lost == 0 || span.records == 0 {
        // An unknown TCP loss, or bytes lost without a record lost (impossible, so not trusted).
        return None;
    }
    let total = span
        .before
        .checked_add(span.lost)?
        .checked_add(span.after)?;
    let least = span.records.checked_mul(overhead.per_record)?;
    let most = span.records.checked_mul(5 + overhead.max_body)?;
    if !(least..=most).contains(&total) {
        return None;
    }
    if let Some(h) = span.cut_header {
        let cut = 5 + u64::from(h.len);
        // A TLS 1.2 alert or handshake record is not application data; a cut record longer than
        // the span, or not the whole span when it is the only record, is another framing.
        let fits = if span.records == 1 {
            cut == total
        } else {
            cut < total
        };
        if h.content_type != ContentType::APPLICATION_DATA
            || !fits
            || u64::from(h.len) + 5 < overhead.per_record
        {
            return None;
        }
    }
    Some(total - least)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tls::TlsVersion;

    fn header(len: u16) -> RecordHeader {
        RecordHeader {
            content_type: ContentType::APPLICATION_DATA,
            version: TlsVersion::TLS1_2,
            len,
        }
    }

    /// Three full TLS 1.3 records of 16384 plaintext bytes (body 16401): the hole cuts the
    /// first after 1000 bytes, loses 20000, and the third ends `after` bytes later.
    const FULL: u64 = 5 + 16384 + 17;

    fn three_full() -> HoleSpan {
        HoleSpan {
            before: 1000,
            cut_header: Some(header(16401)),
            lost: 20_000,
            after: 3 * FULL - 21_000,
            records: 3,
        }
    }

    #[test]
    fn tls13_full_records_lose_their_plaintext_exactly() {
        assert_eq!(
            lost_plaintext(&three_full(), Overhead::TLS13),
            Some(3 * 16384)
        );
    }

    #[test]
    fn one_cut_record_must_be_the_whole_span() {
        // A 1.2 GCM record of 500 plaintext bytes (body 524) cut after its header and 100 bytes.
        let span = HoleSpan {
            before: 105,
            cut_header: Some(header(524)),
            lost: 300,
            after: 124,
            records: 1,
        };
        assert_eq!(lost_plaintext(&span, Overhead::TLS12_GCM), Some(500));
        assert_eq!(lost_plaintext(&span, Overhead::TLS12_CHACHA), Some(508));
        let short = HoleSpan { after: 123, ..span };
        assert_eq!(lost_plaintext(&short, Overhead::TLS12_GCM), None);
        let two = HoleSpan { records: 2, ..span };
        assert_eq!(
            lost_plaintext(&two, Overhead::TLS12_GCM),
            None,
            "the cut record alone is the span: no room for a second"
        );
    }

    #[test]
    fn a_hole_at_a_record_boundary_counts_from_the_lost_bytes() {
        // Two records of 100 and 50 plaintext bytes lost whole, the hole ending inside the second.
        let span = HoleSpan {
            before: 0,
            cut_header: None,
            lost: 122 + 40,
            after: 72 - 40,
            records: 2,
        };
        assert_eq!(lost_plaintext(&span, Overhead::TLS13), Some(150));
    }

    #[test]
    fn unknown_or_inconsistent_terms_give_none() {
        let ok = three_full();
        let none = |s: HoleSpan| lost_plaintext(&s, Overhead::TLS13);
        assert_eq!(none(HoleSpan { lost: 0, ..ok }), None, "TCP loss unknown");
        assert_eq!(none(HoleSpan { records: 0, ..ok }), None, "no record lost");
        assert_eq!(
            none(HoleSpan { records: 2, ..ok }),
            None,
            "more bytes than two records can hold"
        );
        assert_eq!(
            none(HoleSpan {
                records: 3000,
                ..ok
            }),
            None,
            "fewer bytes than 3000 headers and tags"
        );
        let alert = RecordHeader {
            content_type: ContentType::ALERT,
            ..header(16401)
        };
        assert_eq!(
            none(HoleSpan {
                cut_header: Some(alert),
                ..ok
            }),
            None,
            "a cut record that is not application data"
        );
        assert_eq!(
            none(HoleSpan {
                cut_header: Some(header(3 * FULL as u16)),
                ..ok
            }),
            None,
            "a cut record longer than the span"
        );
        let huge = HoleSpan {
            before: u64::MAX,
            ..ok
        };
        assert_eq!(none(huge), None, "overflow is unknown, not a panic");
    }

    #[test]
    fn padding_is_invisible_and_counted_as_plaintext() {
        // One TLS 1.3 record of 10 data bytes padded with 90 zeros: the count says 100. HTTP must
        // survive the over-long hole (tested where the layers meet).
        let span = HoleSpan {
            before: 0,
            cut_header: None,
            lost: 5 + 100 + 17,
            after: 0,
            records: 1,
        };
        assert_eq!(lost_plaintext(&span, Overhead::TLS13), Some(100));
    }
}
