//! Compact JSON for the rows written by the hundred thousand — requests and findings — byte for
//! byte what `serde_json` writes for them (a test holds the two together on every kind of
//! value), without its per-byte escaping loop and formatter calls: on a request-dense capture
//! serialising these rows was a third of the report side's work.
//!
//! Rows are written at a cursor into a [`JsonBuf`], and a finding about a request is written
//! from its request's row ([`finding_beside`]): the values the two rows share (operation, bucket,
//! key, time, addresses, User-Agent, status, and the host, method and target its `seen` line
//! quotes) are copied as the request's row already escaped them, not escaped again.

use super::groups::{UNCONFIGURED, UNCONFIGURED_DETAIL};
use super::packed::{Entry, RowOut};
pub use super::row_memo::RowMemo;
use super::row_memo::STATIC_NAMES;
use super::rows::{AddrText, Beside};
use super::{FindingRecord, GuessRecord, RequestRecord};
use crate::policy::Scheme;
use crate::time::{RFC3339_LEN, Timestamp};

/// A value written as compact JSON.
pub trait WriteJson {
    /// The value's JSON at the end of `out`.
    fn write_to(&self, out: &mut JsonBuf);

    /// The value's JSON at the end of `out`.
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut buf = JsonBuf::from_vec(std::mem::take(out));
        self.write_to(&mut buf);
        *out = buf.into_vec();
    }
}

/// Bytes written at a cursor into a buffer kept initialised past it: a write is a copy into a
/// slice, with no grow path and no length update inlined at each of a row's sixty-odd writes
/// (`Vec::push` and `extend_from_slice` had both), and a short string is copied in whole blocks
/// and words instead of through a call to `memcpy`. Room is made once per value ([`reserve`]).
///
/// [`reserve`]: JsonBuf::reserve
#[derive(Default)]
pub struct JsonBuf {
    /// Written up to `len`; past it, room (zeros, or bytes of earlier rows).
    buf: Vec<u8>,
    len: usize,
}

/// Bytes copied at once by the plain-string copy; the room a string reserves past its end, for
/// a block that runs past it.
const BLOCK: usize = 16;

/// Bytes copied at once by [`JsonBuf::put_blocks`].
const COPY_BLOCK: usize = 32;

impl JsonBuf {
    pub fn new() -> JsonBuf {
        JsonBuf::default()
    }

    pub fn with_capacity(n: usize) -> JsonBuf {
        JsonBuf {
            buf: vec![0; n],
            len: 0,
        }
    }

    fn from_vec(buf: Vec<u8>) -> JsonBuf {
        let len = buf.len();
        JsonBuf { buf, len }
    }

    fn into_vec(mut self) -> Vec<u8> {
        self.buf.truncate(self.len);
        self.buf
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What was written.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Room for `n` more bytes.
    pub fn reserve(&mut self, n: usize) {
        if self.buf.len() - self.len < n {
            self.grow(n);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, n: usize) {
        let want = (self.len.saturating_add(n))
            .max(self.buf.len().saturating_mul(2))
            .max(1024);
        self.buf.resize(want, 0);
    }

    // Every write below makes one check, that its bytes are in the buffer (`get_mut`), and
    // only when they are not takes the cold path that grows it and writes again.

    /// `bytes` as they are.
    #[inline(always)]
    pub fn put(&mut self, bytes: &[u8]) {
        let end = self.len.wrapping_add(bytes.len());
        if let Some(to) = self.buf.get_mut(self.len..end) {
            to.copy_from_slice(bytes);
            self.len = end;
        } else {
            self.put_cold(bytes);
        }
    }

    #[cold]
    #[inline(never)]
    fn put_cold(&mut self, bytes: &[u8]) {
        self.grow(bytes.len());
        let end = self.len + bytes.len();
        if let Some(to) = self.buf.get_mut(self.len..end) {
            to.copy_from_slice(bytes);
            self.len = end;
        }
    }

    #[inline(always)]
    pub fn byte(&mut self, b: u8) {
        if let Some(to) = self.buf.get_mut(self.len) {
            *to = b;
            self.len += 1;
        } else {
            self.put_cold(&[b]);
        }
    }

    /// `src[..n]` at the end, copied in whole blocks of [`COPY_BLOCK`] bytes (no call to
    /// `memcpy` for a short text): `src` holds `n` rounded up to a whole block; what is copied
    /// past `n` is left past the end.
    #[inline(always)]
    pub fn put_blocks(&mut self, src: &[u8], n: usize) {
        let whole = (n + COPY_BLOCK - 1) & !(COPY_BLOCK - 1);
        let end = self.len.wrapping_add(whole);
        match (self.buf.get_mut(self.len..end), src.get(..whole)) {
            (Some(to), Some(from)) => {
                let (to, from) = (to.as_chunks_mut::<COPY_BLOCK>().0, from.as_chunks().0);
                for (to, from) in to.iter_mut().zip(from) {
                    *to = *from;
                }
                self.len += n;
            }
            _ => self.put_blocks_cold(src, n),
        }
    }

    #[cold]
    #[inline(never)]
    fn put_blocks_cold(&mut self, src: &[u8], n: usize) {
        let whole = (n + COPY_BLOCK - 1) & !(COPY_BLOCK - 1);
        self.reserve(whole);
        match src.get(..whole) {
            Some(_) => self.put_blocks(src, n),
            None => self.put(src.get(..n).unwrap_or_default()),
        }
    }

    /// `bytes` written over what was written at `at` (nothing when they are not all there).
    pub fn patch(&mut self, at: usize, bytes: &[u8]) {
        if let Some(to) = self.as_bytes_mut().get_mut(at..at + bytes.len()) {
            to.copy_from_slice(bytes);
        }
    }

    /// `extra` bytes of room made at `at`: what was written from there moves up by `extra`
    /// (the room holds what was there).
    pub fn widen(&mut self, at: usize, extra: usize) {
        if at > self.len {
            return;
        }
        self.reserve(extra);
        self.buf.copy_within(at..self.len, at + extra);
        self.len += extra;
    }

    fn as_bytes_mut(&mut self) -> &mut [u8] {
        self.buf.get_mut(..self.len).unwrap_or_default()
    }

    /// Bytes written earlier into this buffer, copied to its end.
    fn put_own(&mut self, from: std::ops::Range<usize>) {
        if from.end > self.len || from.start > from.end {
            return;
        }
        self.reserve(from.len());
        let at = self.len;
        self.buf.copy_within(from.clone(), at);
        self.len += from.len();
    }

    /// `"…"` with JSON's escapes as serde_json writes them: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`,
    /// `\t`, other control characters as `\u00xx`; everything else (DEL and non-ASCII included)
    /// as it is.
    #[inline]
    pub fn string(&mut self, s: &str) {
        let src = s.as_bytes();
        let n = src.len();
        // Room for the quotes, the bytes and the slack of a block copy.
        let end = self.len.wrapping_add(n + 2 + BLOCK);
        let Some(room) = self.buf.get_mut(self.len..end) else {
            self.grow(n + 2 + BLOCK);
            return self.string_cold(s);
        };
        let copied = match room.split_first_mut() {
            Some((quote, rest)) => {
                *quote = b'"';
                copy_plain(rest, src)
            }
            None => Err(0),
        };
        match copied {
            Ok(()) => {
                if let Some(quote) = room.get_mut(n + 1) {
                    *quote = b'"';
                }
                self.len += n + 2;
            }
            Err(at) => {
                self.len += 1 + at;
                self.escaped(src.get(at..).unwrap_or_default());
                self.byte(b'"');
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn string_cold(&mut self, s: &str) {
        self.byte(b'"');
        self.escaped(s.as_bytes());
        self.byte(b'"');
    }

    /// `bytes` with every byte that needs an escape escaped; runs of plain bytes copied whole.
    #[cold]
    fn escaped(&mut self, bytes: &[u8]) {
        let mut start = 0;
        while let Some(at) = next_escape(bytes, start) {
            self.put(bytes.get(start..at).unwrap_or_default());
            match bytes.get(at).copied().unwrap_or_default() {
                b'"' => self.put(b"\\\""),
                b'\\' => self.put(b"\\\\"),
                0x08 => self.put(b"\\b"),
                0x0c => self.put(b"\\f"),
                b'\n' => self.put(b"\\n"),
                b'\r' => self.put(b"\\r"),
                b'\t' => self.put(b"\\t"),
                c => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let hex = |nibble: u8| HEX[usize::from(nibble & 0xf)];
                    self.put(&[b'\\', b'u', b'0', b'0', hex(c >> 4), hex(c)]);
                }
            }
            start = at + 1;
        }
        self.put(bytes.get(start..).unwrap_or_default());
    }

    /// `n` in decimal: two digits at a time from a table, from the last pair back (a digit at
    /// a time, each a division of its own, was a sixth of a request row's cost).
    #[inline(always)]
    pub fn number(&mut self, n: u64) {
        let width = digits(n);
        let end = self.len.wrapping_add(width);
        if let Some(to) = self.buf.get_mut(self.len..end) {
            write_digits(to, n);
            self.len = end;
        } else {
            self.put_cold(decimal(n, &mut [0; 20]));
        }
    }

    /// `"…"` of text with nothing to escape in it (the caller's guarantee): copied as it is.
    #[inline(always)]
    fn plain(&mut self, v: &[u8]) {
        debug_assert!(
            v.iter()
                .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        );
        self.byte(b'"');
        self.put(v);
        self.byte(b'"');
    }

    /// A socket address: ASCII digits, dots, colons, brackets, `%` and hex digits, nothing to
    /// escape. Copied from its fixed-size buffer in one fixed-size move (most are short).
    #[inline(always)]
    fn addr(&mut self, a: &AddrText) {
        const SHORT: usize = 32;
        let (padded, n) = a.padded();
        let end = self.len.wrapping_add(SHORT + 2);
        match (padded.get(..SHORT), self.buf.get_mut(self.len..end)) {
            (Some(from), Some(to)) if n <= SHORT => {
                if let Some((quote, rest)) = to.split_first_mut() {
                    *quote = b'"';
                    if let Some(text) = rest.get_mut(..SHORT) {
                        text.copy_from_slice(from);
                    }
                    if let Some(quote) = rest.get_mut(n) {
                        *quote = b'"';
                    }
                }
                self.len += n + 2;
            }
            _ => self.plain(a.as_bytes()),
        }
    }

    /// The time written between its quotes in a buffer of its own: one write, not three.
    #[inline(always)]
    fn time(&mut self, t: Timestamp) {
        let mut quoted = [b'"'; RFC3339_LEN + 2];
        let Some(buf) = quoted
            .get_mut(1..)
            .and_then(|b| b.first_chunk_mut::<RFC3339_LEN>())
        else {
            return self.string(&t.rfc3339());
        };
        match t.rfc3339_ascii(buf) {
            // Digits, `-`, `:`, `.`, `T` and `Z`: nothing to escape.
            Some(text) if text.len() == RFC3339_LEN => self.put(&quoted),
            Some(text) => self.plain(text),
            None => self.string(&t.rfc3339()),
        }
    }

    #[inline(always)]
    fn opt_str(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.string(v),
            None => self.put(b"null"),
        }
    }

    #[inline(always)]
    fn opt_num(&mut self, v: Option<u64>) {
        match v {
            Some(v) => self.number(v),
            None => self.put(b"null"),
        }
    }

    #[inline(always)]
    fn opt_time(&mut self, t: Option<Timestamp>) {
        match t {
            Some(t) => self.time(t),
            None => self.put(b"null"),
        }
    }

    #[inline(always)]
    fn bool(&mut self, v: bool) {
        self.put(if v { b"true" } else { b"false" });
    }
}

/// Decimal digits of `n`.
fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// `n`'s decimal digits filling `to` (as many bytes as `n` has digits: [`digits`]), written
/// from the end two at a time.
#[inline(always)]
fn write_digits(to: &mut [u8], n: u64) {
    let mut v = n;
    let mut end = to.len();
    while v >= 100 && end >= 2 {
        let pair = DIGIT_PAIRS[(v % 100) as usize];
        v /= 100;
        if let Some(d) = to.get_mut(end - 2..end) {
            d.copy_from_slice(&pair);
        }
        end -= 2;
    }
    match (v, end) {
        (10.., 2..) => {
            if let Some(d) = to.get_mut(end - 2..end) {
                d.copy_from_slice(&DIGIT_PAIRS[v as usize % 100]);
            }
        }
        (_, 1..) => {
            if let Some(d) = to.get_mut(end - 1) {
                *d = b'0' + v as u8 % 10;
            }
        }
        _ => {}
    }
}

/// `00` to `99`: each number's two ASCII digits.
const DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

/// `src` copied to the start of `to` while no byte of it needs an escape: Ok when none does,
/// else Err(how many bytes were copied; the first escape is at or after that). Whole blocks
/// are tested and copied, then the last, short one: its bytes, gathered as two overlapping
/// words (or halves, or three bytes) into one block, are tested at once and stored as they were
/// gathered. `to` needs [`BLOCK`] bytes of room past `src`'s length (without them nothing is
/// copied: Err(0)).
///
/// `chunks_exact`, not `as_chunks` (which newer clippy suggests, a lint older ones do not
/// know): written with `as_chunks`, `JsonBuf::string` took ~11 instructions more a call
/// (dense-50k, report thread: 5.88 → 6.33 M).
#[allow(unknown_lints, clippy::chunks_exact_to_as_chunks)]
#[inline(always)]
fn copy_plain(to: &mut [u8], src: &[u8]) -> Result<(), usize> {
    let n = src.len();
    let Some(to) = to.get_mut(..n + BLOCK) else {
        return Err(0);
    };
    let mut blocks = src.chunks_exact(BLOCK);
    let mut at = 0;
    for (block, dst) in (&mut blocks).zip(to.chunks_exact_mut(BLOCK)) {
        if any_escape(block) {
            return Err(at);
        }
        dst.copy_from_slice(block);
        at += BLOCK;
    }
    let tail = blocks.remainder();
    let Some(dst) = to.get_mut(at..at + BLOCK) else {
        return Err(at);
    };
    match tail.len() {
        t @ 8.. => {
            let (a, b) = (word(tail), word(tail.get(t - 8..).unwrap_or_default()));
            if word_hit(a) || word_hit(b) {
                return Err(at);
            }
            put_word(dst, 0, a);
            put_word(dst, t - 8, b);
        }
        t @ 4.. => {
            let (a, b) = (half(tail), half(tail.get(t - 4..).unwrap_or_default()));
            if word_hit(u64::from(a) | u64::from(b) << 32) {
                return Err(at);
            }
            put_half(dst, 0, a);
            put_half(dst, t - 4, b);
        }
        _ => {
            for (d, &b) in dst.iter_mut().zip(tail) {
                if needs_escape(b) {
                    return Err(at);
                }
                *d = b;
            }
        }
    }
    Ok(())
}

/// Whether eight bytes may hold one that needs an escape (SWAR, with [`needs_escape`]'s
/// trick: after `^ 2`, a byte at or below 0x20, or a backslash). The bit tricks can flag a byte
/// after a real hit, never one where there is none, so `false` is exact.
#[inline(always)]
fn word_hit(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let y = x ^ (ONES * 0x02);
    let at_most_space = y.wrapping_sub(ONES * 0x21) & !y;
    let b = x ^ (ONES * u64::from(b'\\'));
    let backslash = b.wrapping_sub(ONES) & !b;
    (at_most_space | backslash) & HIGH != 0
}

/// Whether any of `bytes` needs an escape: a fold without an early exit, which the compiler
/// makes a few vector compares per sixteen bytes.
#[inline(always)]
fn any_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |hit, &b| hit | needs_escape(b))
}

/// The first eight bytes of `b` (zeros past a shorter slice: never the case where used).
fn word(b: &[u8]) -> u64 {
    b.get(..8)
        .and_then(|w| w.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

fn half(b: &[u8]) -> u32 {
    b.get(..4)
        .and_then(|w| w.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn put_word(to: &mut [u8], at: usize, w: u64) {
    if let Some(d) = to.get_mut(at..at + 8) {
        d.copy_from_slice(&w.to_le_bytes());
    }
}

fn put_half(to: &mut [u8], at: usize, w: u32) {
    if let Some(d) = to.get_mut(at..at + 4) {
        d.copy_from_slice(&w.to_le_bytes());
    }
}

/// The first byte at or after `from` that needs an escape.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    rest.iter().position(|&b| needs_escape(b)).map(|p| from + p)
}

/// A control character, `"` or `\\`. `b ^ 2` moves `"` (0x22) to 0x20 and keeps the control
/// characters below it, so one compare covers both (fewer vector instructions per block).
fn needs_escape(b: u8) -> bool {
    (b ^ 0x02) <= 0x20 || b == b'\\'
}

/// `n` in decimal, written at the end of `digits`.
pub fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[i..]
}

/// `"…"` with JSON's escapes, onto a `Vec` (see [`JsonBuf::string`]).
pub fn string(out: &mut Vec<u8>, s: &str) {
    let mut buf = JsonBuf::from_vec(std::mem::take(out));
    buf.string(s);
    *out = buf.into_vec();
}

/// A stretch of a request's row, from the row's first byte.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// Where a request's row holds what its findings' rows repeat, from the row's first byte.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowSpans {
    /// The id's digits.
    id: Span,
    /// The time's value, with its quotes.
    time: Span,
    /// `"client":"…","server":"…"`.
    addrs: Span,
    /// The server's address, without quotes.
    server: Span,
    /// The host's escaped text, without quotes; None when the request has no Host.
    host: Option<Span>,
    /// The method's and the (redacted) target's escaped text, without quotes.
    method: Span,
    target: Span,
    /// The values of `operation`, `bucket` and `key` (`null` or the value, quotes included).
    operation: Span,
    bucket: Span,
    key: Span,
    /// The packed spool's entries of the memos' texts the row holds ([`Entry`]'s version 0
    /// where the row holds none): the operation's place and version, the Host's, bucket's and
    /// User-Agent's versions.
    operation_entry: (u8, u64),
    host_version: u64,
    bucket_version: u64,
    user_agent_version: u64,
    /// The values of `status` and `user_agent` (`null` or the value, quotes included), and the
    /// status (0: none; else the code + 1).
    status: Span,
    status_code: u64,
    user_agent: Span,
}

/// Offsets from `start`, recorded while a row is written.
struct Marks {
    start: usize,
}

impl Marks {
    /// Cut to 32 bits: a row of 4 GiB or more has its spans thrown away once written
    /// ([`Marks::fits`]), one test where a checked conversion at each of a row's ~25 marks was
    /// ~110 instructions a row.
    fn at(&self, out: &JsonBuf) -> u32 {
        (out.len - self.start) as u32
    }

    /// Whether the row written since `start` is short enough that its marks are exact.
    fn fits(&self, out: &JsonBuf) -> bool {
        u32::try_from(out.len - self.start).is_ok()
    }
}

impl RequestRecord {
    /// The request's row, opened by `open` (`{`, or JSON Lines' `{"type":"request",`), and where
    /// it holds what its findings' rows repeat (see [`finding_beside`]; None for a row of 4 GiB
    /// or more).
    pub fn write_row(&self, out: &mut JsonBuf, open: &[u8]) -> Option<RowSpans> {
        let mut spans = RowSpans::default();
        self.write_row_memo(out, open, &mut RowMemo::default(), &mut spans)
            .then_some(spans)
    }

    /// [`RequestRecord::write_row`], the values rows repeat taken from `memo` (the same bytes),
    /// its spans written into `s` (where its sink keeps them: a row's spans, ~170 bytes, were
    /// copied twice on their way there, ~80 instructions a row); whether they can be used.
    ///
    /// Keys and the values most rows hold (`null`, `[]`, the scheme, the addressing) are
    /// written as one text per stretch between the values that vary: each write is a bounds
    /// check and a length update, and sixty of them were a fifth of a row's cost.
    pub fn write_row_memo(
        &self,
        out: &mut JsonBuf,
        open: &[u8],
        memo: &mut RowMemo,
        s: &mut RowSpans,
    ) -> bool {
        let m = Marks { start: out.len };
        *s = RowSpans::default();
        out.put(open);
        out.put(b"\"id\":");
        s.id.start = m.at(out);
        out.number(self.id);
        s.id.end = m.at(out);
        out.put(b",\"time\":");
        s.time.start = m.at(out);
        out.time(self.time);
        s.time.end = m.at(out);
        out.put(match self.scheme {
            Scheme::Http => b",\"scheme\":\"http\",\"client\":",
            Scheme::Https => b",\"scheme\":\"https\",\"client\":",
        });
        s.addrs.start = m.at(out) - CLIENT_KEY.len() as u32;
        out.addr(&self.client);
        out.put(b",\"server\":");
        s.server.start = m.at(out) + 1;
        out.addr(&self.server);
        s.server.end = m.at(out) - 1;
        s.addrs.end = m.at(out);
        self.write_request_line(out, &m, s, memo);
        self.write_operation(out, &m, s, memo);
        out.put(b",\"key\":");
        s.key.start = m.at(out);
        out.opt_str(self.key.as_deref());
        s.key.end = m.at(out);
        match &self.operation_note {
            None => out.put(memo.addressing.of(self.addressing)),
            Some(note) => {
                out.put(b",\"operation_note\":");
                out.string(note);
                out.put(b",\"addressing\":");
                // This program's own words (lower case and `-`): nothing to escape.
                out.plain(self.addressing.as_str().as_bytes());
                out.put(b",\"status\":");
            }
        }
        s.status.start = m.at(out);
        s.status_code = self.status.map_or(0, |c| u64::from(c) + 1);
        out.opt_num(self.status.map(u64::from));
        s.status.end = m.at(out);
        self.write_response(out, &m, s, memo);
        self.write_end(out);
        m.fits(out)
    }

    /// From `,"host":` to the target: the Host, method and target its findings' `seen` line
    /// quotes.
    #[inline(always)]
    fn write_request_line(
        &self,
        out: &mut JsonBuf,
        m: &Marks,
        s: &mut RowSpans,
        memo: &mut RowMemo,
    ) {
        match &self.host {
            Some(h) => {
                out.put(b",\"host\":");
                let start = m.at(out) + 1;
                out.string_memo(h, &mut memo.host);
                s.host_version = memo.host.version;
                s.host = Some(Span {
                    start,
                    end: m.at(out) - 1,
                });
            }
            None => out.put(b",\"host\":null"),
        }
        out.put(b",\"method\":");
        s.method.start = m.at(out) + 1;
        out.string(&self.method);
        s.method.end = m.at(out) - 1;
        out.put(b",\"target\":");
        s.target.start = m.at(out) + 1;
        out.string(&self.target);
        s.target.end = m.at(out) - 1;
    }

    /// From `,"truncated":` to the bucket.
    #[inline(always)]
    fn write_operation(&self, out: &mut JsonBuf, m: &Marks, s: &mut RowSpans, memo: &mut RowMemo) {
        out.put(match self.truncated {
            false => b",\"truncated\":false,\"operation\":",
            true => b",\"truncated\":true,\"operation\":",
        });
        s.operation.start = m.at(out);
        match self.operation {
            Some(op) => {
                let (at, version, json) = memo.operation.of(op);
                out.put(json);
                s.operation_entry = (at as u8, version);
            }
            None => out.put(b"null"),
        }
        s.operation.end = m.at(out);
        out.put(b",\"bucket\":");
        s.bucket.start = m.at(out);
        s.bucket_version = out.opt_str_memo(self.bucket.as_deref(), &mut memo.bucket);
        s.bucket.end = m.at(out);
    }

    /// From `,"interim":` to the response's time.
    #[inline(always)]
    fn write_response(&self, out: &mut JsonBuf, m: &Marks, s: &mut RowSpans, memo: &mut RowMemo) {
        match (self.interim.is_empty(), &self.location) {
            (true, None) => out.put(b",\"interim\":[],\"location\":null,\"user_agent\":"),
            _ => {
                out.put(b",\"interim\":[");
                for (i, code) in self.interim.iter().enumerate() {
                    if i > 0 {
                        out.byte(b',');
                    }
                    out.number(u64::from(*code));
                }
                out.put(b"],\"location\":");
                out.opt_str(self.location.as_deref());
                out.put(b",\"user_agent\":");
            }
        }
        s.user_agent.start = m.at(out);
        s.user_agent_version = out.opt_str_memo(self.user_agent.as_deref(), &mut memo.user_agent);
        s.user_agent.end = m.at(out);
        out.put(b",\"authorization\":");
        out.opt_str_recent(self.authorization.as_deref(), &mut memo.authorization);
        out.put(b",\"request_body_bytes\":");
        out.opt_num(self.request_body_bytes);
        out.put(b",\"response_body_bytes\":");
        out.opt_num(self.response_body_bytes);
        out.put(b",\"response_time\":");
        out.opt_time(self.response_time);
    }

    /// From `,"tls":` to the row's end.
    #[inline(always)]
    fn write_end(&self, out: &mut JsonBuf) {
        match &self.tls {
            Some(t) => {
                out.put(b",\"tls\":{\"sni\":");
                out.opt_str(t.sni.as_deref());
                out.put(b",\"version\":");
                out.string(&t.version);
                out.put(b",\"decrypted\":");
                out.bool(t.decrypted);
                out.put(b"},\"connection\":");
            }
            None => out.put(b",\"tls\":null,\"connection\":"),
        }
        out.number(self.connection);
        match (&self.process, self.owner) {
            (None, None) => return out.put(b",\"process\":null,\"owner\":null}"),
            (Some(p), _) => {
                out.put(b",\"process\":{\"pid\":");
                out.number(u64::from(p.pid));
                out.put(b",\"name\":");
                out.string(&p.name);
                out.put(b",\"cmdline\":");
                out.string(&p.cmdline);
                out.byte(b'}');
            }
            (None, Some(_)) => out.put(b",\"process\":null"),
        }
        out.put(b",\"owner\":");
        out.opt_str(self.owner.map(super::Owner::as_str));
        out.byte(b'}');
    }
}

/// Where the addresses' span starts, before the client's address.
const CLIENT_KEY: &[u8] = b"\"client\":";

impl WriteJson for RequestRecord {
    fn write_to(&self, out: &mut JsonBuf) {
        self.write_row(out, b"{");
    }
}

impl WriteJson for FindingRecord {
    fn write_to(&self, out: &mut JsonBuf) {
        self.write_row(out, b"{");
    }
}

impl FindingRecord {
    /// The finding's row, opened by `open` (`{`, or JSON Lines' `{"type":"finding",`).
    pub fn write_row(&self, out: &mut JsonBuf, open: &[u8]) {
        out.put(open);
        out.put(b"\"kind\":");
        out.plain(self.kind.as_str().as_bytes());
        out.put(b",\"severity\":");
        out.plain(self.severity.as_str().as_bytes());
        out.put(b",\"operation\":");
        out.opt_str(self.operation);
        out.put(b",\"bucket\":");
        out.opt_str(self.bucket.as_deref());
        out.put(b",\"key\":");
        out.opt_str(self.key.as_deref());
        out.put(b",\"request\":");
        out.opt_num(self.request);
        out.put(b",\"attempt\":");
        out.opt_num(self.attempt.map(|a| a as u64));
        out.put(b",\"endpoint\":");
        out.string(&self.endpoint);
        out.put(b",\"origin\":");
        out.string(&self.origin);
        out.put(b",\"endpoint_detail\":");
        out.string(&self.endpoint_detail);
        out.put(b",\"time\":");
        out.time(self.time);
        out.put(b",\"client\":");
        out.addr(&self.client);
        out.put(b",\"server\":");
        out.addr(&self.server);
        out.put(b",\"seen\":");
        out.opt_str(self.seen.as_deref());
        out.put(b",\"user_agent\":");
        out.opt_str(self.user_agent.as_deref());
        out.put(b",\"status\":");
        out.opt_num(self.status.map(u64::from));
        out.put(b",\"hint\":");
        out.string(&self.hint);
        out.put(b",\"guess\":");
        match &self.guess {
            Some(g) => guess(out, g),
            None => out.put(b"null"),
        }
        out.byte(b'}');
    }
}

fn guess(out: &mut JsonBuf, g: &GuessRecord) {
    out.put(b"{\"operation\":");
    out.opt_str(g.operation);
    out.put(b",\"request\":");
    out.number(g.request);
    out.put(b",\"reason\":");
    out.string(&g.reason);
    out.byte(b'}');
}

/// Where a request's row is: in another buffer, or earlier in the one written to (JSON Lines
/// writes both rows into one).
#[derive(Clone, Copy)]
pub enum RowAt<'a> {
    Other(&'a [u8]),
    /// The offset of the row's first byte.
    Own(usize),
}

/// `what` of the request's row at `row`, copied to the end of `out` (from another buffer in
/// whole blocks: a call to `memcpy` for each of a finding's ten-odd short copies was 1% of the
/// report thread).
#[inline(always)]
fn copy(out: &mut JsonBuf, row: RowAt<'_>, what: Span) {
    match row {
        RowAt::Other(bytes) => {
            let from = bytes.get(what.start as usize..).unwrap_or_default();
            out.put_blocks(from, what.range().len().min(from.len()));
        }
        RowAt::Own(start) => out.put_own(start + what.start as usize..start + what.end as usize),
    }
}

/// The packed spool's entries of a finding's row (see [`Entry`]). Its head, to its `key`: one
/// entry for each kind, severity and place of the operation's name in [`StaticEscaped`] (or
/// none), so that a client's few operations each keep theirs. Then its endpoint and the
/// authority its `seen` line names, made from its request's Host; its tail, from its
/// `user_agent` on.
///
/// [`StaticEscaped`]: super::row_memo::StaticEscaped
const HEAD_SLOTS: u8 = 0;
/// A head's place for each operation name kept, and one for none.
const OPERATION_PLACES: usize = STATIC_NAMES + 1;
pub(super) const HEADS: usize = 2 * crate::policy::FindingKind::ALL.len() * OPERATION_PLACES;
const UNCONFIGURED_SLOT: u8 = HEAD_SLOTS + HEADS as u8;
const AUTHORITY_SLOT: u8 = UNCONFIGURED_SLOT + 1;
const TAIL_SLOT: u8 = AUTHORITY_SLOT + 1;
const _: () = assert!((TAIL_SLOT as usize) < super::packed::SLOTS);

/// What identifies `open` among static texts, as two of a [`Joined`]'s parts: static text never
/// changes, so the same address and length is the same text (both are kept whole: packing them
/// into one number would rest on how high addresses go).
///
/// [`Joined`]: super::row_memo::Joined
fn static_parts(open: &'static [u8]) -> [u64; 2] {
    [open.as_ptr() as u64, open.len() as u64]
}

/// A request's finding's row, opened by `open`, from its request's row (at `row`, written by
/// [`RequestRecord::write_row`], which gave `spans`) and what the finding adds (`b`): the same
/// bytes [`FindingRecord`]'s JSON would be (a test holds them together). The caller vouches
/// that `b` is about that request (see [`Beside`]). What the row repeats of earlier rows is
/// written as an [`Entry`]: a packed spool writes its text once per frame.
pub fn finding_beside<O: RowOut>(
    out: &mut O,
    open: &'static [u8],
    row: RowAt<'_>,
    s: &RowSpans,
    b: &Beside<'_>,
    memo: &mut RowMemo,
) {
    let (place, operation) = match s.operation_entry {
        (_, 0) => (STATIC_NAMES, 0),
        (place, version) => (usize::from(place), version),
    };
    let head = (2 * b.kind.rank() + b.severity as usize) * OPERATION_PLACES + place;
    let version = match memo.heads.get_mut(head) {
        Some(j) => {
            let [at, len] = static_parts(open);
            j.version([at, len, operation, s.bucket_version])
        }
        None => 0,
    };
    out.entry(Entry::new(HEAD_SLOTS + head as u8, version), |t| {
        t.put(open);
        t.put(b"\"kind\":");
        t.plain(b.kind.as_str().as_bytes());
        t.put(b",\"severity\":");
        t.plain(b.severity.as_str().as_bytes());
        t.put(b",\"operation\":");
        copy(t, row, s.operation);
        t.put(b",\"bucket\":");
        copy(t, row, s.bucket);
        t.put(b",\"key\":");
    });
    let t = out.text();
    copy(t, row, s.key);
    t.put(b",\"request\":");
    copy(t, row, s.id);
    // The request's authority as `seen` and an unconfigured endpoint show it: its Host, or
    // its server's address.
    let (authority, authority_version) = match s.host {
        Some(host) => (host, s.host_version),
        None => (s.server, 0),
    };
    match &b.endpoint {
        Some(e) => {
            let t = out.text();
            t.put(b",\"attempt\":null,\"endpoint\":");
            t.string(e.url);
            t.put(b",\"origin\":");
            t.string(e.origin);
            t.put(b",\"endpoint_detail\":");
            t.string(e.detail);
            t.put(b",\"time\":");
        }
        None => out.entry(Entry::new(UNCONFIGURED_SLOT, authority_version), |t| {
            t.put(b",\"attempt\":null,\"endpoint\":\"http://");
            copy(t, row, authority);
            // Plain text (a test holds it so): written as it is.
            t.put(b"\",\"origin\":\"");
            t.put(UNCONFIGURED.as_bytes());
            t.put(b"\",\"endpoint_detail\":\"");
            t.put(UNCONFIGURED_DETAIL.as_bytes());
            t.put(b"\",\"time\":");
        }),
    }
    let t = out.text();
    copy(t, row, s.time);
    t.byte(b',');
    copy(t, row, s.addrs);
    t.put(b",\"seen\":");
    match &b.seen {
        Some(text) => t.string(text),
        None => {
            t.byte(b'"');
            copy(t, row, s.method);
            t.byte(b' ');
            if b.origin_form {
                out.entry(Entry::new(AUTHORITY_SLOT, authority_version), |t| {
                    t.put(b"http://");
                    copy(t, row, authority);
                });
            }
            let t = out.text();
            copy(t, row, s.target);
            t.byte(b'"');
        }
    }
    let hint = &mut memo.hint;
    hint.of(&b.hint);
    let version = memo
        .tail
        .version([s.user_agent_version, s.status_code, hint.version, 0]);
    out.entry(Entry::new(TAIL_SLOT, version), |t| {
        t.put(b",\"user_agent\":");
        copy(t, row, s.user_agent);
        t.put(b",\"status\":");
        copy(t, row, s.status);
        t.put(b",\"hint\":");
        t.put(&hint.json);
        t.put(b",\"guess\":null}");
    });
}

#[cfg(test)]
#[path = "fastjson_tests.rs"]
mod tests;
