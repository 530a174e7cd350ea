//! One TLS connection, both directions: record framing (RFC 8446 §5.1), handshake reassembly,
//! hello parsing, clear-text alerts, and a count of the application data that goes by.
//!
//! What is parsed stops where encryption starts: in TLS ≤ 1.2 at a direction's
//! ChangeCipherSpec (RFC 5246 §7.1), in TLS 1.3 at the ServerHello for both directions (RFC 8446
//! §2: everything after it is protected; its ChangeCipherSpec records are only for middlebox
//! compatibility, Appendix D.4). Application data is counted and skipped, never buffered.
//! A malformed record header loses a direction's framing for good, and so does a gap unless the
//! direction is being decrypted: a 5-byte record header is too weak a signature to search for in
//! ciphertext alone, but with the keys the AEAD tag proves a candidate record, and its sequence
//! number with it ([`resync`](super::resync)).
//!
//! With a key log, protected records are also collected whole (one at a time) and decrypted;
//! application data comes out as [`Plaintext`] from [`TlsConnection::on_data_plain`].

use std::sync::Arc;

use crate::flow::Direction;
use crate::proto::{Anomaly, ProtoEvent, ProtoLimits, Transport};
use crate::time::Timestamp;

use super::early::{EarlyData, EarlyDataCount};
use super::handshake::{CLIENT_HELLO, HandshakeOutput, HandshakeReader, SERVER_HELLO};
use super::hello::{parse_client_hello, parse_server_hello};
use super::hole::{HoleSpan, Overhead, lost_plaintext};
use super::keylog::KeyLog;
use super::plaintext::{DecryptCount, Decryption, KeyContext, Plaintext, SideDecrypt};
use super::record::{ContentType, Fragment, RecordHeader, RecordReader};
use super::resync::{Expect, Resync, Step};
use super::{ClientHello, ServerHello, TlsVersion};

/// How the searches for record framing after holes in decrypted directions went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResyncCount {
    /// Holes after which a record opened again.
    pub resynced: u64,
    /// Holes after which none did within the bounds: the rest of that direction is lost.
    pub abandoned: u64,
    /// AEAD trials spent (bounded per hole).
    pub tries: u64,
}

/// Records and bytes of application data seen in one direction (still encrypted). In TLS 1.3
/// this includes the encrypted handshake, which travels as application_data records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppDataCount {
    pub records: u64,
    /// Sum of the records' `length` fields (ciphertext, without the 5-byte headers).
    pub bytes: u64,
}

/// One direction's parsing state.
#[derive(Debug)]
struct Side {
    records: RecordReader,
    handshake: HandshakeReader,
    /// The level byte of an alert whose description has not arrived yet.
    alert_level: Option<u8>,
    /// This direction's records are encrypted from here on.
    protected: bool,
    app_data: AppDataCount,
    decrypt: SideDecrypt,
    /// Searching for the framing after a hole (decrypted directions only).
    resync: Option<Resync>,
    /// Where the hole being searched past began, when its plaintext can be counted.
    hole: Option<HoleStart>,
}

/// What is known at a hole of the span it starts (see [`super::hole`]).
#[derive(Debug, Clone, Copy)]
struct HoleStart {
    /// Bytes of the cut record before the hole, and its header once whole.
    before: u64,
    cut_header: Option<RecordHeader>,
    /// Bytes lost, from TCP.
    lost: u64,
    overhead: Overhead,
    /// Sequence number the cut record (or the first lost) has.
    seq: u64,
}

impl Side {
    fn new(max_handshake_bytes: usize) -> Self {
        Side {
            records: RecordReader::default(),
            handshake: HandshakeReader::new(max_handshake_bytes),
            alert_level: None,
            protected: false,
            app_data: AppDataCount::default(),
            decrypt: SideDecrypt::default(),
            resync: None,
            hole: None,
        }
    }

    /// From now on this direction's handshake and alerts are ciphertext: drop partial state.
    fn protect(&mut self) {
        self.protected = true;
        self.handshake.reset();
        self.alert_level = None;
    }
}

/// A TLS connection as seen from the wire.
#[derive(Debug)]
pub struct TlsConnection {
    sides: [Side; 2],
    client_hello: Option<ClientHello>,
    server_hello: Option<ServerHello>,
    keylog: Option<Arc<KeyLog>>,
    /// Why the last record that could not be decrypted was not.
    decrypt_problem: Option<Decryption>,
    resyncs: ResyncCount,
    /// The client's 0-RTT early data, held until the server accepts or rejects it.
    early: EarlyData,
}

impl TlsConnection {
    /// A connection without decryption.
    pub fn new(limits: &ProtoLimits) -> Self {
        TlsConnection::with_keylog(limits, None)
    }

    /// A connection that decrypts what `keylog` has secrets for (looked up when needed, so
    /// lines added to the log later still count).
    pub fn with_keylog(limits: &ProtoLimits, keylog: Option<Arc<KeyLog>>) -> Self {
        TlsConnection {
            sides: [
                Side::new(limits.max_handshake_bytes),
                Side::new(limits.max_handshake_bytes),
            ],
            client_hello: None,
            server_hello: None,
            keylog,
            decrypt_problem: None,
            resyncs: ResyncCount::default(),
            early: EarlyData::default(),
        }
    }

    /// In-order bytes of one direction, any chunking. Hellos, clear alerts and anomalies are
    /// appended to `out`; decrypted application data, if any, is dropped.
    pub fn on_data(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) {
        self.on_data_plain(dir, ts, bytes, out, &mut Vec::new());
    }

    /// As [`TlsConnection::on_data`], and the application data of `dir` decrypted from these
    /// bytes is appended to `plain` (all of it belongs to `dir` at `ts`).
    pub fn on_data_plain(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
        out: &mut Vec<ProtoEvent>,
        plain: &mut Vec<Plaintext>,
    ) {
        let mut input = bytes;
        self.early.at(ts);
        if self.side(dir).resync.is_some() {
            let Some(rest) = self.resync(dir, &mut input, plain) else {
                return;
            };
            self.on_data_plain(dir, ts, &rest, out, plain);
        }
        loop {
            match self.side(dir).records.next(&mut input) {
                Ok(Some(fragment)) => {
                    self.decrypt(dir, &fragment, plain);
                    self.on_fragment(dir, ts, fragment, out);
                }
                Ok(None) => return,
                Err(e) => {
                    self.side(dir).handshake.reset();
                    out.push(bad_tls(dir, ts, e.to_string()));
                    return;
                }
            }
        }
    }

    /// `len` bytes (0 = unknown) of `dir` are missing before the next data: its record
    /// framing is lost. A decrypted direction searches for it again in the bytes that follow
    /// ([`TlsConnection::is_resyncing`]) and marks where the search ended with a
    /// [`Plaintext::Lost`] (the caller's HTTP parser is told of the gap then, with its length
    /// when known); any other is lost for good (the caller tells HTTP now).
    pub fn on_gap(&mut self, dir: Direction, len: u64) {
        let expect = self.resync_expect(dir);
        let side = self.side(dir);
        // A second hole while the first is searched past: the bytes between are not counted.
        let searching = side.resync.is_some();
        side.hole = side
            .records
            .cut()
            .zip(side.decrypt.hole_framing())
            .filter(|_| !searching && len > 0)
            .map(|((before, cut_header), (overhead, seq))| HoleStart {
                before,
                cut_header,
                lost: len,
                overhead,
                seq,
            });
        side.records.lose();
        side.handshake.reset();
        side.alert_level = None;
        side.decrypt.on_hole();
        side.resync = expect.map(Resync::new);
    }

    /// What the next record of a decrypted direction looks like, for the search after a hole.
    fn resync_expect(&mut self, dir: Direction) -> Option<Expect> {
        let ctx = KeyContext {
            keylog: self.keylog.as_deref()?,
            client_hello: self.client_hello.as_ref(),
            server_hello: self.server_hello.as_ref(),
            dir,
        };
        let side = &mut self.sides[dir.index()];
        let (min_len, max_len) = side.decrypt.cipher_for_hole(ctx)?.body_len_range();
        // TLS 1.3 records all show 0x0303 (RFC 8446 §5.1); before, the negotiated version.
        let version = match self.version()? {
            TlsVersion::TLS1_3 => TlsVersion::TLS1_2,
            v => v,
        };
        Some(Expect {
            version,
            min_len,
            max_len,
        })
    }

    /// Feed `input` to the search after a hole in `dir`. Returns the bytes after the first
    /// record that opened (framing is found again), or None while searching or once given up.
    fn resync(
        &mut self,
        dir: Direction,
        input: &mut &[u8],
        plain: &mut Vec<Plaintext>,
    ) -> Option<Vec<u8>> {
        let Side {
            resync,
            decrypt,
            app_data,
            records,
            hole,
            ..
        } = &mut self.sides[dir.index()];
        // The mark goes before the plaintext of the record that opens.
        let mark = plain.len();
        loop {
            let search = resync.as_mut()?;
            search.push(input);
            let found = loop {
                match search.step() {
                    Step::Candidate { header, body } => {
                        match decrypt.open_after_hole(&header, body, plain) {
                            Ok(tries) => break Some((header, tries)),
                            Err(tries) => {
                                self.resyncs.tries = self.resyncs.tries.saturating_add(tries);
                                search.reject(tries);
                            }
                        }
                    }
                    Step::NeedMore => break None,
                    Step::GiveUp => {
                        *resync = None;
                        *hole = None;
                        plain.push(Plaintext::Lost { bytes: None });
                        self.resyncs.abandoned = self.resyncs.abandoned.saturating_add(1);
                        *input = &[];
                        return None;
                    }
                }
            };
            if let Some((header, tries)) = found {
                let after = search.scanned();
                let bytes = hole.take().and_then(|h| {
                    // The sequence number moved past the record that opened.
                    let (_, next) = decrypt.hole_framing()?;
                    let records = next.checked_sub(1)?.checked_sub(h.seq)?;
                    let span = HoleSpan {
                        before: h.before,
                        cut_header: h.cut_header,
                        lost: h.lost,
                        after,
                        records,
                    };
                    lost_plaintext(&span, h.overhead)
                });
                plain.insert(mark.min(plain.len()), Plaintext::Lost { bytes });
                self.resyncs.tries = self.resyncs.tries.saturating_add(tries);
                self.resyncs.resynced = self.resyncs.resynced.saturating_add(1);
                count_app_data(app_data, &header);
                records.resume();
                return resync.take().map(Resync::finish);
            }
            if input.is_empty() {
                return None;
            }
        }
    }

    /// The latest ClientHello (after a HelloRetryRequest, the second one).
    pub fn client_hello(&self) -> Option<&ClientHello> {
        self.client_hello.as_ref()
    }

    /// The latest ServerHello: the real one once seen, else a HelloRetryRequest.
    pub fn server_hello(&self) -> Option<&ServerHello> {
        self.server_hello.as_ref()
    }

    /// The negotiated version, once a ServerHello is seen.
    pub fn version(&self) -> Option<TlsVersion> {
        self.server_hello.as_ref().map(|s| s.version)
    }

    /// Application-data records and bytes seen in one direction.
    pub fn app_data(&self, dir: Direction) -> AppDataCount {
        self.sides[dir.index()].app_data
    }

    /// True while `dir` searches for its framing after a hole: a [`Plaintext::Lost`] will
    /// mark where the search ended.
    pub fn is_resyncing(&self, dir: Direction) -> bool {
        self.sides[dir.index()].resync.is_some()
    }

    /// True once a gap or a malformed record header stopped the parsing of `dir`.
    pub fn is_lost(&self, dir: Direction) -> bool {
        self.sides[dir.index()].records.is_lost()
    }

    /// How HTTP found inside this connection travelled: SNI and negotiated version (None
    /// until the ServerHello is seen).
    pub fn transport(&self) -> Option<Transport> {
        Some(Transport::Tls {
            sni: self.client_hello.as_ref().and_then(|h| h.sni.clone()),
            version: self.version()?,
        })
    }

    /// How the searches after holes went.
    pub fn resyncs(&self) -> ResyncCount {
        self.resyncs
    }

    /// The client's 0-RTT early data that the server's answer (or the end of the connection)
    /// released since the last call: client-to-server application data, sent before anything
    /// `on_data_plain` gave since, so to be parsed first; timed by its first record.
    pub fn take_early_plain(&mut self) -> Option<(Timestamp, Vec<Plaintext>)> {
        let released = self.early.take_released();
        let ts = released.first()?.0;
        let data = released.into_iter().map(|(_, d)| d);
        Some((
            ts,
            data.filter(|d| !d.is_empty())
                .map(Plaintext::Data)
                .collect(),
        ))
    }

    /// The connection ends: early data still awaiting the server's answer is passed on
    /// undecided (collect it with [`TlsConnection::take_early_plain`]).
    pub fn finish_early(&mut self) {
        self.early.finish();
    }

    /// What became of the client's 0-RTT early data (rejected records are not reported).
    pub fn early_data(&self) -> EarlyDataCount {
        self.early.count
    }

    /// Records and plaintext bytes decrypted in one direction.
    pub fn decrypted(&self, dir: Direction) -> DecryptCount {
        self.sides[dir.index()].decrypt.count
    }

    /// Where decryption stands for this connection.
    pub fn decryption(&self) -> Decryption {
        if self.keylog.is_none() {
            return Decryption::NoKeyLog;
        }
        if self.sides.iter().any(|s| s.decrypt.count.records > 0) {
            if self.sides.iter().any(|s| s.decrypt.count.early_missed > 0) {
                return Decryption::DecryptedButEarlyData;
            }
            return Decryption::Decrypted;
        }
        self.decrypt_problem.unwrap_or(Decryption::NotYet)
    }

    /// With a key log, hand a protected record's fragment to the direction's decryption: every
    /// record once this direction is encrypted, and application data (TLS 1.3 hides everything
    /// in it) at any time. ChangeCipherSpec is never encrypted.
    fn decrypt(&mut self, dir: Direction, f: &Fragment<'_>, plain: &mut Vec<Plaintext>) {
        let Some(keylog) = self.keylog.as_deref() else {
            return;
        };
        let side = &mut self.sides[dir.index()];
        let ct = f.header.content_type;
        let protected = ct == ContentType::APPLICATION_DATA
            || (side.protected && ct != ContentType::CHANGE_CIPHER_SPEC);
        if !protected {
            return;
        }
        let ctx = KeyContext {
            keylog,
            client_hello: self.client_hello.as_ref(),
            server_hello: self.server_hello.as_ref(),
            dir,
        };
        if let Err(problem) = side.decrypt.on_fragment(f, ctx, &mut self.early, plain) {
            self.decrypt_problem = Some(problem);
        }
    }

    fn side(&mut self, dir: Direction) -> &mut Side {
        &mut self.sides[dir.index()]
    }

    fn is_tls13(&self) -> bool {
        self.server_hello
            .as_ref()
            .is_some_and(|s| s.hello_retry || s.version == TlsVersion::TLS1_3)
    }

    fn on_fragment(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        f: Fragment<'_>,
        out: &mut Vec<ProtoEvent>,
    ) {
        let tls13 = self.is_tls13();
        let side = self.side(dir);
        match f.header.content_type {
            ContentType::APPLICATION_DATA if f.first => {
                count_app_data(&mut side.app_data, &f.header)
            }
            ContentType::CHANGE_CIPHER_SPEC if f.last && !tls13 => side.protect(),
            ContentType::ALERT if !side.protected => on_alert(side, dir, ts, f.bytes, out),
            ContentType::HANDSHAKE if !side.protected => self.on_handshake(dir, ts, f.bytes, out),
            _ => {}
        }
    }

    /// Reassemble handshake messages; parse the hellos; stop where this direction turns
    /// encrypted (a TLS 1.3 ServerHello).
    fn on_handshake(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        mut bytes: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) {
        while !self.side(dir).protected {
            match self.side(dir).handshake.next(ts, &mut bytes) {
                None => return,
                Some(HandshakeOutput::TooLarge { msg_type, len }) => {
                    let why = format!(
                        "handshake message type {msg_type} of {len} bytes exceeds the limit"
                    );
                    out.push(bad_tls(dir, ts, why));
                }
                Some(HandshakeOutput::Message { msg_type, body, ts }) => {
                    self.on_hello(dir, msg_type, &body, ts, out);
                }
            }
        }
    }

    fn on_hello(
        &mut self,
        dir: Direction,
        msg_type: u8,
        body: &[u8],
        ts: Timestamp,
        out: &mut Vec<ProtoEvent>,
    ) {
        let parsed = match msg_type {
            CLIENT_HELLO => parse_client_hello(body, ts).map(|h| {
                out.push(ProtoEvent::ClientHello(Box::new(h.clone())));
                self.client_hello = Some(h);
            }),
            SERVER_HELLO => parse_server_hello(body, ts).map(|h| {
                out.push(ProtoEvent::ServerHello(Box::new(h.clone())));
                let retry = h.hello_retry;
                self.server_hello = Some(h);
                if self.is_tls13() && !retry {
                    self.sides.iter_mut().for_each(Side::protect);
                }
            }),
            _ => Ok(()),
        };
        if let Err(e) = parsed {
            out.push(bad_tls(dir, ts, e.to_string()));
        }
    }
}

/// Alerts in clear (RFC 8446 §6, RFC 5246 §7.2): two bytes, level then description, which may
/// in principle be split across records.
fn on_alert(
    side: &mut Side,
    dir: Direction,
    ts: Timestamp,
    bytes: &[u8],
    out: &mut Vec<ProtoEvent>,
) {
    for &b in bytes {
        match side.alert_level.take() {
            None => side.alert_level = Some(b),
            Some(level) => out.push(ProtoEvent::TlsAlert {
                dir,
                ts,
                level,
                description: b,
            }),
        }
    }
}

fn count_app_data(count: &mut AppDataCount, header: &RecordHeader) {
    count.records = count.records.saturating_add(1);
    count.bytes = count.bytes.saturating_add(u64::from(header.len));
}

fn bad_tls(dir: Direction, ts: Timestamp, why: String) -> ProtoEvent {
    ProtoEvent::Anomaly {
        dir,
        ts,
        what: Anomaly::BadTls(why),
    }
}

#[cfg(test)]
mod tests;
