//! The fate of TLS 1.3 0-RTT early data (RFC 8446 §4.2.10). A resuming client may send its
//! first request as early data, before the handshake ends. The server accepts it (an
//! `early_data` extension in its EncryptedExtensions, §4.2.10) or rejects it and skips those
//! records unread; a client whose early data was rejected sends the request again, under the
//! application key, once the handshake is done. The wire then holds the same request twice,
//! and the server processed one.
//!
//! So early plaintext is held (bounded by [`MAX_HELD`]) until the server's answer is known:
//! accepted, it goes on to HTTP, ahead of any response; rejected, it is dropped and counted,
//! and the request is listed once, as the server saw it, with the response it got. We drop
//! rather than list the copy marked: a user matching the report against server logs, or
//! counting operations, must see what the server did; that 0-RTT was tried and refused is a
//! fact about the TLS session, kept in [`EarlyDataCount`].
//!
//! The answer is read from the server's decrypted EncryptedExtensions; without the server's
//! handshake secret it is read from the client: an EndOfEarlyData under the early key means
//! accepted (§4.5: it is sent only then), the early key failing on the client's next record
//! (its Finished, under the handshake key) means rejected.

use crate::time::Timestamp;

/// Early plaintext held while the server's answer is awaited. Early data is bounded by the
/// ticket's `max_early_data_size` (OpenSSL's default is 16 KiB, one record); past this much
/// the held bytes are passed on undecided, so memory stays bounded whatever a ticket allows.
pub const MAX_HELD: usize = 64 << 10;

/// EncryptedExtensions (RFC 8446 §4.3.1) and the early_data extension (§4.2).
const ENCRYPTED_EXTENSIONS: u8 = 8;
const EARLY_DATA_EXTENSION: u16 = 42;

/// What became of a connection's early data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EarlyDataCount {
    /// Early-data records of application data that were decrypted.
    pub records: u64,
    /// Of those, records the server rejected: their plaintext was dropped, not reported.
    pub rejected_records: u64,
    pub rejected_bytes: u64,
}

/// Where the server's answer stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Fate {
    #[default]
    Awaited,
    Accepted,
    Rejected,
    /// More than [`MAX_HELD`] arrived first, or the connection ended: passed on undecided.
    PassedOn,
}

/// A connection's early data: held, passed on or dropped as the server's answer says.
#[derive(Debug, Default)]
pub(super) struct EarlyData {
    fate: Fate,
    /// Time of the bytes being processed: a held record keeps the time it was seen at.
    now: Timestamp,
    /// One entry per record (a record that starts a message head is where HTTP may resync).
    held: Vec<(Timestamp, Vec<u8>)>,
    held_bytes: usize,
    /// Passed on by an answer, awaiting the client's HTTP parser.
    released: Vec<(Timestamp, Vec<u8>)>,
    pub count: EarlyDataCount,
}

impl EarlyData {
    /// The time of the bytes now being processed.
    pub fn at(&mut self, ts: Timestamp) {
        self.now = ts;
    }

    /// One early record's application data. Returns what goes on to HTTP now, in order, after
    /// anything released before (see [`EarlyData::take_released`]).
    pub fn on_data(&mut self, data: Vec<u8>) -> Vec<Vec<u8>> {
        self.count.records = self.count.records.saturating_add(1);
        match self.fate {
            Fate::Accepted | Fate::PassedOn => vec![data],
            Fate::Rejected => {
                self.drop_record(data.len());
                Vec::new()
            }
            Fate::Awaited if self.held_bytes.saturating_add(data.len()) > MAX_HELD => {
                self.fate = Fate::PassedOn;
                self.release();
                vec![data]
            }
            Fate::Awaited => {
                self.held_bytes = self.held_bytes.saturating_add(data.len());
                self.held.push((self.now, data));
                Vec::new()
            }
        }
    }

    /// The server's answer: accepted, the held data is released (see
    /// [`EarlyData::take_released`]); rejected, it is dropped and counted. The first answer
    /// stands.
    pub fn decide(&mut self, accepted: bool) {
        if self.fate != Fate::Awaited {
            return;
        }
        if accepted {
            self.fate = Fate::Accepted;
            self.release();
            return;
        }
        self.fate = Fate::Rejected;
        self.held_bytes = 0;
        for (_, piece) in std::mem::take(&mut self.held) {
            self.drop_record(piece.len());
        }
    }

    /// No answer will come (the connection ended): what is held is released undecided.
    pub fn finish(&mut self) {
        if self.fate == Fate::Awaited && !self.held.is_empty() {
            self.fate = Fate::PassedOn;
            self.release();
        }
    }

    /// Early data released since the last call, oldest first, each record with the time it
    /// was seen: client-to-server data sent before anything processed since.
    pub fn take_released(&mut self) -> Vec<(Timestamp, Vec<u8>)> {
        std::mem::take(&mut self.released)
    }

    fn release(&mut self) {
        self.held_bytes = 0;
        let held = std::mem::take(&mut self.held);
        self.released.extend(held);
    }

    fn drop_record(&mut self, len: usize) {
        self.count.rejected_records = self.count.rejected_records.saturating_add(1);
        let len = u64::try_from(len).unwrap_or(u64::MAX);
        self.count.rejected_bytes = self.count.rejected_bytes.saturating_add(len);
    }
}

/// The server's answer in a decrypted handshake record: `Some(accepted)` when the record
/// starts with EncryptedExtensions (the first message under the server's handshake key,
/// RFC 8446 §2), None for any other record. Truncated or malformed is None.
pub fn encrypted_extensions_answer(msgs: &[u8]) -> Option<bool> {
    let [ENCRYPTED_EXTENSIONS, l0, l1, l2, body @ ..] = msgs else {
        return None;
    };
    let len = u32::from_be_bytes([0, *l0, *l1, *l2]) as usize;
    let [e0, e1, exts @ ..] = body.get(..len)? else {
        return None;
    };
    let mut exts = exts.get(..usize::from(u16::from_be_bytes([*e0, *e1])))?;
    while let [t0, t1, n0, n1, rest @ ..] = exts {
        if u16::from_be_bytes([*t0, *t1]) == EARLY_DATA_EXTENSION {
            return Some(true);
        }
        exts = rest.get(usize::from(u16::from_be_bytes([*n0, *n1]))..)?;
    }
    exts.is_empty().then_some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn rejected_early_data_is_dropped_and_counted() {
        let mut e = EarlyData::default();
        assert!(e.on_data(bytes("GET / HTTP/1.1\r\n")).is_empty());
        assert!(e.on_data(bytes("Host: h\r\n\r\n")).is_empty());
        e.decide(false);
        // A late record after the answer is dropped too; a second answer changes nothing.
        assert!(e.on_data(bytes("x")).is_empty());
        e.decide(true);
        assert!(e.take_released().is_empty());
        let want = EarlyDataCount {
            records: 3,
            rejected_records: 3,
            rejected_bytes: 16 + 11 + 1,
        };
        assert_eq!(e.count, want);
    }

    #[test]
    fn accepted_early_data_is_released_in_order_with_its_times() {
        let mut e = EarlyData::default();
        e.at(Timestamp(5));
        e.on_data(bytes("a"));
        e.on_data(bytes("b"));
        e.at(Timestamp(9));
        e.decide(true);
        let t = Timestamp(5);
        assert_eq!(e.take_released(), [(t, bytes("a")), (t, bytes("b"))]);
        assert!(e.take_released().is_empty());
        assert_eq!(e.on_data(bytes("c")), [bytes("c")]);
        assert_eq!(e.count.rejected_records, 0);
    }

    #[test]
    fn more_than_the_bound_is_passed_on_undecided() {
        let mut e = EarlyData::default();
        assert!(e.on_data(vec![b'a'; MAX_HELD]).is_empty());
        assert_eq!(e.on_data(vec![b'b'; 1]), [vec![b'b']]);
        assert_eq!(e.take_released(), [(Timestamp::ZERO, vec![b'a'; MAX_HELD])]);
        // Already passed on: a later rejection cannot take it back, and is not counted.
        e.decide(false);
        assert!(e.take_released().is_empty());
        assert_eq!(e.on_data(bytes("c")), [bytes("c")]);
        assert_eq!(e.count.rejected_records, 0);
    }

    #[test]
    fn held_data_is_passed_on_when_no_answer_comes() {
        let mut e = EarlyData::default();
        e.on_data(bytes("GET"));
        e.finish();
        assert_eq!(e.take_released(), [(Timestamp::ZERO, bytes("GET"))]);
    }

    #[test]
    fn encrypted_extensions_tell_the_answer() {
        // OpenSSL's EncryptedExtensions, as tshark showed them: none, and early_data alone.
        assert_eq!(
            encrypted_extensions_answer(&[8, 0, 0, 2, 0, 0]),
            Some(false)
        );
        let accepted = [8, 0, 0, 6, 0, 4, 0, 42, 0, 0];
        assert_eq!(encrypted_extensions_answer(&accepted), Some(true));
        // server_name (empty) then early_data, then the next message in the same record.
        let two = [8, 0, 0, 10, 0, 8, 0, 0, 0, 0, 0, 42, 0, 0, 11, 0, 0, 0];
        assert_eq!(encrypted_extensions_answer(&two), Some(true));
        // Not EncryptedExtensions (a Certificate), cut, or lying about lengths.
        assert_eq!(encrypted_extensions_answer(&[11, 0, 0, 2, 0, 0]), None);
        assert_eq!(encrypted_extensions_answer(&[8, 0, 0, 6, 0, 4, 0]), None);
        assert_eq!(encrypted_extensions_answer(&[8, 0, 0, 4, 0, 2, 0, 1]), None);
        assert_eq!(
            encrypted_extensions_answer(&[8, 0, 0, 6, 0, 4, 0, 1, 0, 9]),
            None
        );
    }
}
