//! The record layer's framing (RFC 8446 §5.1, RFC 5246 §6.2.1): a 5-byte header, then `length`
//! bytes of fragment. Only the header is ever buffered; body bytes are handed on as they arrive,
//! so a direction costs 5 bytes of state however its stream is chunked.

use super::TlsVersion;

/// The record's `ContentType` (RFC 8446 §5.1). Open: the value is kept as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentType(pub u8);

impl ContentType {
    pub const CHANGE_CIPHER_SPEC: ContentType = ContentType(20);
    pub const ALERT: ContentType = ContentType(21);
    pub const HANDSHAKE: ContentType = ContentType(22);
    pub const APPLICATION_DATA: ContentType = ContentType(23);
    /// RFC 6520.
    pub const HEARTBEAT: ContentType = ContentType(24);
}

/// Largest fragment any version allows: `TLSCiphertext.length` ≤ 2^14 + 2048 (RFC 5246 §6.2.3;
/// RFC 8446 §5.2 lowers it to 2^14 + 256 for TLS 1.3).
pub const MAX_RECORD_LEN: u16 = (1 << 14) + 2048;

/// A parsed record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub content_type: ContentType,
    /// `legacy_record_version`: 0x0301 or 0x0303 in practice, whatever was negotiated.
    pub version: TlsVersion,
    pub len: u16,
}

/// Why bytes are not a TLS record header. The direction's framing is lost after any of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record content type {0} is not 20..=24")]
    BadContentType(u8),
    #[error("record version 0x{0:04x} is not 3.x")]
    BadVersion(u16),
    #[error("record length {0} exceeds 2^14+2048")]
    Oversized(u16),
    /// An SSL 2.0 record header (high bit set) carrying a CLIENT-HELLO (RFC 5246 Appendix E.2).
    /// Not parsed: modern clients never send it, and it cannot carry SNI or ALPN.
    #[error("SSLv2-compatible ClientHello is not supported")]
    Sslv2Hello,
}

impl RecordHeader {
    /// Parse and validate a header: known content type, major version 3, bounded length.
    pub fn parse(b: [u8; 5]) -> Result<RecordHeader, RecordError> {
        let [ct, major, minor, l0, l1] = b;
        let version = u16::from_be_bytes([major, minor]);
        let len = u16::from_be_bytes([l0, l1]);
        // SSL 2.0 framing: a 2-byte length with the high bit set, then msg_type 1 (CLIENT-HELLO)
        // where a TLS header has the minor version.
        if ct & 0x80 != 0 && minor == 1 {
            return Err(RecordError::Sslv2Hello);
        }
        if !(20..=24).contains(&ct) {
            return Err(RecordError::BadContentType(ct));
        }
        if major != 3 {
            return Err(RecordError::BadVersion(version));
        }
        if len > MAX_RECORD_LEN {
            return Err(RecordError::Oversized(len));
        }
        Ok(RecordHeader {
            content_type: ContentType(ct),
            version: TlsVersion(version),
            len,
        })
    }
}

/// A piece of one record's body, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    pub header: RecordHeader,
    pub bytes: &'a [u8],
    /// These are the record's first body bytes (or the record is empty).
    pub first: bool,
    /// The record ends with these bytes.
    pub last: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting a header; `have` bytes of `buf` are filled.
    Header { buf: [u8; 5], have: usize },
    /// Inside a record body, `done` of `header.len` bytes seen.
    Body { header: RecordHeader, done: usize },
    /// Framing lost (bad header or a gap): the rest of the direction is not parsed.
    Lost,
}

/// Frames one direction of a stream into record fragments, over arbitrary chunk boundaries.
#[derive(Debug, Clone)]
pub struct RecordReader {
    state: State,
}

impl Default for RecordReader {
    fn default() -> Self {
        RecordReader {
            state: State::Header {
                buf: [0; 5],
                have: 0,
            },
        }
    }
}

impl RecordReader {
    /// Next fragment from `input` (advanced past what was used). `Ok(None)` means every byte of
    /// `input` was consumed and more are needed. After an error the reader is lost and swallows
    /// everything.
    pub fn next<'a>(&mut self, input: &mut &'a [u8]) -> Result<Option<Fragment<'a>>, RecordError> {
        loop {
            match self.state {
                State::Lost => {
                    *input = &[];
                    return Ok(None);
                }
                State::Header { mut buf, have } => {
                    let want = buf.len().saturating_sub(have);
                    let take = want.min(input.len());
                    let (head, tail) = input.split_at(take);
                    if let Some(dst) = buf.get_mut(have..have.saturating_add(take)) {
                        dst.copy_from_slice(head);
                    }
                    *input = tail;
                    let have = have.saturating_add(take);
                    if have < buf.len() {
                        self.state = State::Header { buf, have };
                        return Ok(None);
                    }
                    let header = RecordHeader::parse(buf).inspect_err(|_| self.lose())?;
                    self.state = State::Body { header, done: 0 };
                    if header.len == 0 {
                        return Ok(Some(self.take_body(header, 0, input)));
                    }
                }
                State::Body { .. } if input.is_empty() => return Ok(None),
                State::Body { header, done } => {
                    return Ok(Some(self.take_body(header, done, input)));
                }
            }
        }
    }

    /// Hand on as much of the current body as `input` holds.
    fn take_body<'a>(
        &mut self,
        header: RecordHeader,
        done: usize,
        input: &mut &'a [u8],
    ) -> Fragment<'a> {
        let remaining = usize::from(header.len).saturating_sub(done);
        let take = remaining.min(input.len());
        let (bytes, tail) = input.split_at(take);
        *input = tail;
        let done_now = done.saturating_add(take);
        let last = done_now >= usize::from(header.len);
        self.state = if last {
            State::Header {
                buf: [0; 5],
                have: 0,
            }
        } else {
            State::Body {
                header,
                done: done_now,
            }
        };
        Fragment {
            header,
            bytes,
            first: done == 0,
            last,
        }
    }

    /// Give up framing this direction (a gap, or a bad header).
    pub fn lose(&mut self) {
        self.state = State::Lost;
    }

    /// Framing found again (after a hole): the next byte starts a record header.
    pub fn resume(&mut self) {
        *self = RecordReader::default();
    }

    /// Bytes of the current record read so far (header included), and its header once whole;
    /// None once framing is lost. What a hole now would cut.
    pub fn cut(&self) -> Option<(u64, Option<RecordHeader>)> {
        match self.state {
            State::Header { have, .. } => Some((have as u64, None)),
            State::Body { header, done } => Some((5 + done as u64, Some(header))),
            State::Lost => None,
        }
    }

    pub fn is_lost(&self) -> bool {
        self.state == State::Lost
    }

    /// True before the first header byte and between records.
    pub fn at_record_boundary(&self) -> bool {
        matches!(self.state, State::Header { have: 0, .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `chunks` and collect (content type, bytes, first, last) per fragment.
    fn frame(r: &mut RecordReader, chunks: &[&[u8]]) -> Vec<(u8, Vec<u8>, bool, bool)> {
        let mut out = Vec::new();
        for chunk in chunks {
            let mut input = *chunk;
            while let Ok(Some(f)) = r.next(&mut input) {
                out.push((f.header.content_type.0, f.bytes.to_vec(), f.first, f.last));
            }
            assert!(input.is_empty());
        }
        out
    }

    #[test]
    fn records_split_anywhere_come_out_in_order() {
        let stream = [
            22, 3, 1, 0, 3, 1, 2, 3, 23, 3, 3, 0, 0, 21, 3, 3, 0, 2, 2, 70,
        ];
        let mut r = RecordReader::default();
        let got = frame(
            &mut r,
            &[&stream[..2], &stream[2..6], &stream[6..15], &stream[15..]],
        );
        let want = vec![
            (22, vec![1], true, false),
            (22, vec![2, 3], false, true),
            (23, vec![], true, true),
            (21, vec![2, 70], true, true),
        ];
        assert_eq!(got, want);
        assert!(r.at_record_boundary());
    }

    #[test]
    fn header_errors_lose_the_direction() {
        let mut r = RecordReader::default();
        let mut input: &[u8] = b"GET / HTTP/1.1\r\n";
        assert_eq!(r.next(&mut input), Err(RecordError::BadContentType(b'G')));
        assert!(r.is_lost());
        let mut more: &[u8] = &[22, 3, 3, 0, 0];
        assert_eq!(r.next(&mut more), Ok(None));
        assert!(more.is_empty());
    }

    #[test]
    fn header_validation() {
        use RecordError::*;
        assert_eq!(
            RecordHeader::parse([22, 2, 0, 0, 1]),
            Err(BadVersion(0x0200))
        );
        assert_eq!(
            RecordHeader::parse([23, 3, 3, 0x48, 0x01]),
            Err(Oversized(0x4801))
        );
        // An SSLv2 CLIENT-HELLO: length 0x2e with the high bit, msg_type 1, version 3.1.
        assert_eq!(RecordHeader::parse([0x80, 0x2e, 1, 3, 1]), Err(Sslv2Hello));
        let h = RecordHeader::parse([23, 3, 3, 0x48, 0x00]).unwrap();
        assert_eq!(
            (h.content_type, h.version, h.len),
            (
                ContentType::APPLICATION_DATA,
                TlsVersion::TLS1_2,
                MAX_RECORD_LEN
            )
        );
    }
}
