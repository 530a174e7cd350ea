//! The chunked transfer coding (RFC 9112 §7.1) as a byte-at-a-time state machine, so chunk sizes,
//! extensions and trailers may be split anywhere across reads. Data is passed through to the
//! caller (who counts it and keeps a bounded prefix), never buffered here.
//!
//! S3's `Content-Encoding: aws-chunked` uploads are ordinary chunked framing whose chunk
//! extensions carry `chunk-signature=` and whose trailers carry `x-amz-checksum-*`.

/// A chunk-size line or trailer line longer than this is malformed (a real one is < 200 bytes).
const MAX_LINE_BYTES: u32 = 16 << 10;

/// Why a chunked body could not be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChunkedError {
    #[error("invalid byte 0x{0:02x} in chunk size")]
    BadSize(u8),
    #[error("chunk size overflows 64 bits")]
    SizeOverflow,
    #[error("chunk data not followed by CRLF")]
    MissingCrlf,
    #[error("chunk extension or trailer line too long")]
    LineTooLong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Hex digits of a chunk size; `digits` counts them.
    Size {
        size: u64,
        digits: u32,
    },
    /// After the size: optional whitespace and `;ext` up to the line end (RFC 9112 §7.1.1).
    Extension {
        size: u64,
        len: u32,
    },
    /// Saw CR at the end of the size line.
    SizeLf {
        size: u64,
    },
    Data {
        remaining: u64,
    },
    DataCr,
    DataLf,
    /// Trailer section (RFC 9112 §7.1.2); `len` is the current line's length without CR.
    Trailer {
        len: u32,
    },
    Done,
}

/// Incremental decoder of one chunked body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkedDecoder {
    state: State,
    data_len: u64,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder {
            state: State::Size { size: 0, digits: 0 },
            data_len: 0,
        }
    }
}

impl ChunkedDecoder {
    /// Sum of the chunk sizes seen so far (the decoded body length).
    pub fn data_len(&self) -> u64 {
        self.data_len
    }

    /// The last chunk and the trailer section were read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consume `input` up to the end of the body; chunk data is handed to `on_data`. Returns
    /// the number of bytes consumed (less than `input.len()` only when the body ended).
    pub fn feed(
        &mut self,
        input: &[u8],
        mut on_data: impl FnMut(&[u8]),
    ) -> Result<usize, ChunkedError> {
        let mut pos = 0;
        while pos < input.len() && self.state != State::Done {
            if let State::Data { remaining } = self.state {
                let rest = input.get(pos..).unwrap_or_default();
                let take = usize::try_from(remaining).map_or(rest.len(), |r| r.min(rest.len()));
                on_data(rest.get(..take).unwrap_or_default());
                pos += take;
                let left = remaining.saturating_sub(take as u64);
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data { remaining: left }
                };
                continue;
            }
            let Some(&b) = input.get(pos) else { break };
            self.state = self.step(b)?;
            pos += 1;
        }
        Ok(pos)
    }

    /// Skip `len` lost bytes if they fall inside one chunk's data; false if framing is lost.
    pub fn skip_gap(&mut self, len: u64) -> bool {
        match self.state {
            State::Data { remaining } if len > 0 && len <= remaining => {
                let left = remaining - len;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data { remaining: left }
                };
                true
            }
            _ => false,
        }
    }

    fn step(&mut self, b: u8) -> Result<State, ChunkedError> {
        Ok(match self.state {
            State::Size { size, digits } => self.size_byte(size, digits, b)?,
            State::Extension { size, len } => match b {
                b'\n' => self.end_size_line(size),
                b'\r' => State::SizeLf { size },
                _ if len >= MAX_LINE_BYTES => return Err(ChunkedError::LineTooLong),
                _ => State::Extension { size, len: len + 1 },
            },
            State::SizeLf { size } => match b {
                b'\n' => self.end_size_line(size),
                other => return Err(ChunkedError::BadSize(other)),
            },
            State::DataCr => match b {
                b'\r' => State::DataLf,
                b'\n' => State::Size { size: 0, digits: 0 },
                _ => return Err(ChunkedError::MissingCrlf),
            },
            State::DataLf => match b {
                b'\n' => State::Size { size: 0, digits: 0 },
                _ => return Err(ChunkedError::MissingCrlf),
            },
            State::Trailer { len } => trailer_byte(len, b)?,
            // Data is consumed in bulk by `feed`; Done stops the loop.
            State::Data { .. } | State::Done => self.state,
        })
    }

    fn size_byte(&mut self, size: u64, digits: u32, b: u8) -> Result<State, ChunkedError> {
        if let Some(d) = (b as char).to_digit(16) {
            let size = size
                .checked_mul(16)
                .and_then(|s| s.checked_add(u64::from(d)))
                .ok_or(ChunkedError::SizeOverflow)?;
            return Ok(State::Size {
                size,
                digits: digits.saturating_add(1),
            });
        }
        match b {
            // BWS before `;` is tolerated by RFC 9112 §7.1.1's grammar (chunk-ext = *( BWS ";" ...)).
            b';' | b' ' | b'\t' if digits > 0 => Ok(State::Extension { size, len: 0 }),
            b'\r' if digits > 0 => Ok(State::SizeLf { size }),
            b'\n' if digits > 0 => Ok(self.end_size_line(size)),
            other => Err(ChunkedError::BadSize(other)),
        }
    }

    fn end_size_line(&mut self, size: u64) -> State {
        self.data_len = self.data_len.saturating_add(size);
        if size == 0 {
            State::Trailer { len: 0 }
        } else {
            State::Data { remaining: size }
        }
    }
}

fn trailer_byte(len: u32, b: u8) -> Result<State, ChunkedError> {
    Ok(match b {
        b'\n' if len == 0 => State::Done,
        b'\n' => State::Trailer { len: 0 },
        b'\r' => State::Trailer { len },
        _ if len >= MAX_LINE_BYTES => return Err(ChunkedError::LineTooLong),
        _ => State::Trailer { len: len + 1 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body python's http.server test handler sent (see testdata/README.md).
    const BODY: &[u8] = b"5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Checksum: abc123\r\n\r\n";

    fn decode_split(input: &[u8], split: usize) -> (Result<usize, ChunkedError>, Vec<u8>, bool) {
        let mut d = ChunkedDecoder::default();
        let mut data = Vec::new();
        let (a, b) = input.split_at(split);
        let first = d.feed(a, |x| data.extend_from_slice(x));
        let second = first.and_then(|n| Ok(n + d.feed(b, |x| data.extend_from_slice(x))?));
        (second, data, d.is_done())
    }

    #[test]
    fn extensions_and_trailers_at_every_split() {
        let mut input = BODY.to_vec();
        input.extend_from_slice(b"GET /next");
        for split in 0..=input.len() {
            let (consumed, data, done) = decode_split(&input, split);
            assert_eq!(consumed, Ok(BODY.len()), "split {split}");
            assert_eq!(data, b"hello, world", "split {split}");
            assert!(done);
        }
    }

    #[test]
    fn aws_chunked_signature_extension_and_checksum_trailer() {
        // Shape from the AWS SigV4 streaming spec (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER).
        let mut body = b"400;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n".to_vec();
        body.extend(std::iter::repeat_n(b'a', 1024));
        body.extend_from_slice(b"\r\n0;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\nx-amz-checksum-crc32:sOO8/Q==\r\n\r\n");
        let mut d = ChunkedDecoder::default();
        let mut n = 0;
        assert_eq!(d.feed(&body, |x| n += x.len()), Ok(body.len()));
        assert_eq!((n, d.data_len(), d.is_done()), (1024, 1024, true));
    }

    #[test]
    fn bare_lf_line_endings_are_tolerated() {
        let mut d = ChunkedDecoder::default();
        assert_eq!(d.feed(b"3\nabc\n0\n\n", |_| {}), Ok(9));
        assert!(d.is_done());
        assert_eq!(d.data_len(), 3);
    }

    #[test]
    fn malformed_bodies_are_errors() {
        let bad = |input: &[u8]| ChunkedDecoder::default().feed(input, |_| {});
        assert_eq!(bad(b"zz\r\n"), Err(ChunkedError::BadSize(b'z')));
        assert_eq!(bad(b"\r\n"), Err(ChunkedError::BadSize(b'\r')));
        assert_eq!(bad(b"3\r\nabcX"), Err(ChunkedError::MissingCrlf));
        assert_eq!(
            bad(b"fffffffffffffffff\r\n"),
            Err(ChunkedError::SizeOverflow)
        );
    }

    #[test]
    fn gap_inside_chunk_data_is_skipped() {
        let mut d = ChunkedDecoder::default();
        assert_eq!(d.feed(b"a\r\n01", |_| {}), Ok(5));
        assert!(d.skip_gap(5));
        assert!(!d.skip_gap(4), "only 3 bytes of the chunk remain");
        assert_eq!(d.feed(b"789\r\n0\r\n\r\n", |_| {}), Ok(10));
        assert!(d.is_done());
    }
}
