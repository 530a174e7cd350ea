//! Handshake message reassembly (RFC 8446 §4, RFC 5246 §7.4): a 4-byte header (`msg_type`,
//! 24-bit `length`), then the body. Messages span records and records hold several messages,
//! so this runs over the concatenated plaintext handshake fragments of one direction. Only the
//! hellos are kept (up to a bound); every other message is skipped by length, never buffered.

use crate::time::Timestamp;

/// `HandshakeType` values this module acts on (RFC 8446 §4).
pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;

/// What the reassembler found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeOutput {
    /// A complete hello: its type, body, and the time of the bytes that started it.
    Message {
        msg_type: u8,
        body: Vec<u8>,
        ts: Timestamp,
    },
    /// A hello longer than the bound: skipped, not parsed.
    TooLarge { msg_type: u8, len: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Header {
        buf: [u8; 4],
        have: usize,
    },
    Body {
        msg_type: u8,
        remaining: usize,
        /// The body so far, for messages we parse; None for those we skip.
        keep: Option<Vec<u8>>,
        ts: Timestamp,
    },
}

/// Reassembles one direction's handshake messages, bounded by `max` body bytes per message.
#[derive(Debug, Clone)]
pub struct HandshakeReader {
    state: State,
    /// Time of the first bytes of the header being collected.
    header_ts: Timestamp,
    max: usize,
}

impl HandshakeReader {
    pub fn new(max: usize) -> Self {
        HandshakeReader {
            state: EMPTY_HEADER,
            header_ts: Timestamp::ZERO,
            max,
        }
    }

    /// Forget any partial message (after a gap, or when the direction's handshake is encrypted).
    pub fn reset(&mut self) {
        self.state = EMPTY_HEADER;
    }

    /// Consume handshake bytes from `input`; `Some` when a message was completed (call again
    /// until `None` to drain `input`).
    pub fn next(&mut self, ts: Timestamp, input: &mut &[u8]) -> Option<HandshakeOutput> {
        loop {
            if self.body_done() {
                if let Some(out) = self.finish_body() {
                    return Some(out);
                }
                continue;
            }
            if input.is_empty() {
                return None;
            }
            match &mut self.state {
                State::Header { buf, have } => {
                    if *have == 0 {
                        self.header_ts = ts;
                    }
                    let take = buf.len().saturating_sub(*have).min(input.len());
                    let (head, tail) = input.split_at(take);
                    if let Some(dst) = buf.get_mut(*have..have.saturating_add(take)) {
                        dst.copy_from_slice(head);
                    }
                    *input = tail;
                    *have = have.saturating_add(take);
                    if *have == buf.len() {
                        let [msg_type, l0, l1, l2] = *buf;
                        let len = u32::from_be_bytes([0, l0, l1, l2]) as usize;
                        if let Some(out) = self.start_body(msg_type, len) {
                            return Some(out);
                        }
                    }
                }
                State::Body {
                    remaining, keep, ..
                } => {
                    let take = (*remaining).min(input.len());
                    let (head, tail) = input.split_at(take);
                    if let Some(k) = keep {
                        k.extend_from_slice(head);
                    }
                    *input = tail;
                    *remaining = remaining.saturating_sub(take);
                }
            }
        }
    }

    /// The body is complete: hand over a kept message, and go back to reading a header.
    fn finish_body(&mut self) -> Option<HandshakeOutput> {
        match std::mem::replace(&mut self.state, EMPTY_HEADER) {
            State::Body {
                msg_type,
                keep: Some(body),
                ts,
                ..
            } => Some(HandshakeOutput::Message { msg_type, body, ts }),
            _ => None,
        }
    }

    /// A header is complete: keep the body of a hello within bounds, skip anything else.
    fn start_body(&mut self, msg_type: u8, len: usize) -> Option<HandshakeOutput> {
        let wanted = matches!(msg_type, CLIENT_HELLO | SERVER_HELLO);
        let too_large = wanted && len > self.max;
        self.state = State::Body {
            msg_type,
            remaining: len,
            keep: (wanted && !too_large).then(|| Vec::with_capacity(len.min(4096))),
            ts: self.header_ts,
        };
        too_large.then_some(HandshakeOutput::TooLarge { msg_type, len })
    }

    fn body_done(&self) -> bool {
        matches!(self.state, State::Body { remaining: 0, .. })
    }
}

const EMPTY_HEADER: State = State::Header {
    buf: [0; 4],
    have: 0,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(r: &mut HandshakeReader, ts: i64, mut input: &[u8]) -> Vec<HandshakeOutput> {
        std::iter::from_fn(|| r.next(Timestamp(ts), &mut input)).collect()
    }

    #[test]
    fn messages_are_split_joined_and_others_skipped() {
        let mut r = HandshakeReader::new(16);
        // ServerHello(3 bytes), ServerHelloDone (empty, skipped), Certificate (skipped), ClientHello.
        let stream = [
            2, 0, 0, 3, 9, 8, 7, 14, 0, 0, 0, 11, 0, 0, 2, 5, 5, 1, 0, 0, 1, 4,
        ];
        let mut got = drain(&mut r, 1, &stream[..1]);
        got.extend(drain(&mut r, 2, &stream[1..5]));
        got.extend(drain(&mut r, 3, &stream[5..]));
        let want = vec![
            HandshakeOutput::Message {
                msg_type: SERVER_HELLO,
                body: vec![9, 8, 7],
                ts: Timestamp(1),
            },
            HandshakeOutput::Message {
                msg_type: CLIENT_HELLO,
                body: vec![4],
                ts: Timestamp(3),
            },
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn oversized_hello_is_reported_and_skipped() {
        let mut r = HandshakeReader::new(2);
        let got = drain(&mut r, 0, &[1, 0, 0, 3, 1, 2, 3, 2, 0, 0, 1, 9]);
        let want = vec![
            HandshakeOutput::TooLarge {
                msg_type: CLIENT_HELLO,
                len: 3,
            },
            HandshakeOutput::Message {
                msg_type: SERVER_HELLO,
                body: vec![9],
                ts: Timestamp(0),
            },
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn reset_forgets_a_partial_message() {
        let mut r = HandshakeReader::new(16);
        assert!(drain(&mut r, 0, &[1, 0, 0, 5, 1]).is_empty());
        r.reset();
        let got = drain(&mut r, 0, &[2, 0, 0, 0]);
        let want = vec![HandshakeOutput::Message {
            msg_type: SERVER_HELLO,
            body: vec![],
            ts: Timestamp(0),
        }];
        assert_eq!(got, want);
    }
}
