//! Compact JSON for the rows written by the hundred thousand — requests and findings — byte for
//! byte what `serde_json` writes for them (a test holds the two together on every kind of
//! value), without its per-byte escaping loop and formatter calls: on a request-dense capture
//! serialising these rows was a third of the report side's work.

use super::rows::AddrText;
use super::{FindingRecord, GuessRecord, RequestRecord};
use crate::time::{RFC3339_LEN, Timestamp};

/// A value written as compact JSON onto a buffer.
pub trait WriteJson {
    fn write_json(&self, out: &mut Vec<u8>);
}

/// `"…"` with JSON's escapes as serde_json writes them: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`,
/// `\t`, other control characters as `\u00xx`; everything else (DEL and non-ASCII included)
/// as it is. Runs of plain bytes are copied whole.
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(at) = next_escape(bytes, start) {
        out.extend_from_slice(&bytes[start..at]);
        match bytes[at] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            c => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xf)]);
            }
        }
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The first byte at or after `from` that needs an escape. Sixteen bytes at a time: the test
/// over a block is written so that the compiler turns it into a few vector compares and one mask
/// (SSE2 on x86-64), and only a block that holds a hit is looked at byte by byte. The last,
/// short block is tested as two overlapping words, so it needs neither a copy nor a byte loop.
/// On a request-dense capture (50,000 packets) this took the report thread's string writing
/// from 102 to 70 M instructions.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    const BLOCK: usize = 16;
    let any = |block: &[u8; BLOCK]| block.iter().fold(false, |hit, &b| hit | needs_escape(b));
    let mut blocks = bytes[from..].chunks_exact(BLOCK);
    let mut at = from;
    for block in &mut blocks {
        let block: &[u8; BLOCK] = block.try_into().expect("chunks_exact gives whole blocks");
        if any(block) {
            return block.iter().position(|&b| needs_escape(b)).map(|p| at + p);
        }
        at += BLOCK;
    }
    let tail = blocks.remainder();
    if tail_may_need_escape(tail) {
        return tail.iter().position(|&b| needs_escape(b)).map(|p| at + p);
    }
    None
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether fewer than sixteen bytes may hold one that needs an escape: words read from both ends
/// (overlapping when shorter than two words), each tested eight bytes at once (SWAR). The bit
/// tricks can flag a byte after a real hit, never one where there is none, so `false` is exact.
fn tail_may_need_escape(tail: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let hit = |x: u64| {
        let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        let quote = zero_byte(x ^ (ONES * u64::from(b'"')));
        let backslash = zero_byte(x ^ (ONES * u64::from(b'\\')));
        control | quote | backslash != 0
    };
    let word = |b: &[u8]| u64::from_le_bytes(b[..8].try_into().expect("eight bytes"));
    let half = |b: &[u8]| u64::from(u32::from_le_bytes(b[..4].try_into().expect("four bytes")));
    let n = tail.len();
    if n >= 8 {
        hit(word(tail)) || hit(word(&tail[n - 8..]))
    } else if n >= 4 {
        hit(half(tail) | half(&tail[n - 4..]) << 32)
    } else {
        tail.iter().any(|&b| needs_escape(b))
    }
}

fn number(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(decimal(n, &mut [0; 20]));
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

/// An object being written: keys in the order given, commas between.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, first: true }
    }

    // Inlined everywhere: every key is a literal, so its copy becomes a few stores instead of a
    // call to memcpy (forty-odd keys per request and finding).
    #[inline(always)]
    fn key(&mut self, k: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        // Keys are this file's own plain ASCII names: nothing to escape.
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    #[inline(always)]
    fn str(&mut self, k: &str, v: &str) -> &mut Self {
        string(self.key(k), v);
        self
    }

    #[inline(always)]
    fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(k, v),
            None => self.null(k),
        }
    }

    #[inline(always)]
    fn num(&mut self, k: &str, v: u64) -> &mut Self {
        number(self.key(k), v);
        self
    }

    #[inline(always)]
    fn opt_num(&mut self, k: &str, v: Option<u64>) -> &mut Self {
        match v {
            Some(v) => self.num(k, v),
            None => self.null(k),
        }
    }

    #[inline(always)]
    fn time(&mut self, k: &str, t: Timestamp) -> &mut Self {
        let mut buf = [0u8; RFC3339_LEN];
        match t.rfc3339_ascii(&mut buf) {
            // Digits, `-`, `:`, `.`, `T` and `Z`: nothing to escape.
            Some(text) => self.plain(k, text),
            None => self.str(k, &t.rfc3339()),
        }
    }

    /// A string value with nothing to escape in it (the caller's guarantee).
    #[inline(always)]
    fn plain(&mut self, k: &str, v: &[u8]) -> &mut Self {
        debug_assert!(
            v.iter()
                .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        );
        let out = self.key(k);
        out.push(b'"');
        out.extend_from_slice(v);
        out.push(b'"');
        self
    }

    /// A socket address: ASCII digits, dots, colons, brackets and hex digits, nothing to escape.
    #[inline(always)]
    fn addr(&mut self, k: &str, a: &AddrText) -> &mut Self {
        self.plain(k, a.as_bytes())
    }

    #[inline(always)]
    fn opt_time(&mut self, k: &str, t: Option<Timestamp>) -> &mut Self {
        match t {
            Some(t) => self.time(k, t),
            None => self.null(k),
        }
    }

    #[inline(always)]
    fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        let value: &[u8] = if v { b"true" } else { b"false" };
        self.key(k).extend_from_slice(value);
        self
    }

    #[inline(always)]
    fn null(&mut self, k: &str) -> &mut Self {
        self.key(k).extend_from_slice(b"null");
        self
    }

    fn end(&mut self) {
        self.out.push(b'}');
    }
}

impl WriteJson for RequestRecord {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut o = Obj::new(out);
        o.num("id", self.id)
            .time("time", self.time)
            .str("scheme", self.scheme.as_str())
            .addr("client", &self.client)
            .addr("server", &self.server)
            .opt_str("host", self.host.as_deref())
            .str("method", &self.method)
            .str("target", &self.target)
            .bool("truncated", self.truncated)
            .opt_str("operation", self.operation)
            .opt_str("bucket", self.bucket.as_deref())
            .opt_str("key", self.key.as_deref())
            .opt_str("operation_note", self.operation_note.as_deref())
            .str("addressing", self.addressing.as_str())
            .opt_num("status", self.status.map(u64::from));
        let interim = o.key("interim");
        interim.push(b'[');
        for (i, s) in self.interim.iter().enumerate() {
            if i > 0 {
                interim.push(b',');
            }
            number(interim, u64::from(*s));
        }
        interim.push(b']');
        o.opt_str("location", self.location.as_deref())
            .opt_str("user_agent", self.user_agent.as_deref())
            .opt_str("authorization", self.authorization.as_deref())
            .opt_num("request_body_bytes", self.request_body_bytes)
            .opt_num("response_body_bytes", self.response_body_bytes)
            .opt_time("response_time", self.response_time);
        match &self.tls {
            Some(t) => {
                let mut tls = Obj::new(o.key("tls"));
                tls.opt_str("sni", t.sni.as_deref())
                    .str("version", &t.version)
                    .key("decrypted")
                    .extend_from_slice(if t.decrypted { b"true" } else { b"false" });
                tls.end();
            }
            None => {
                o.null("tls");
            }
        }
        o.num("connection", self.connection);
        match &self.process {
            Some(p) => {
                let mut process = Obj::new(o.key("process"));
                process
                    .num("pid", u64::from(p.pid))
                    .str("name", &p.name)
                    .str("cmdline", &p.cmdline)
                    .end();
            }
            None => {
                o.null("process");
            }
        }
        o.opt_str("owner", self.owner.map(super::Owner::as_str));
        o.end();
    }
}

impl WriteJson for FindingRecord {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut o = Obj::new(out);
        o.str("kind", self.kind.as_str())
            .str("severity", self.severity.as_str())
            .opt_str("operation", self.operation)
            .opt_str("bucket", self.bucket.as_deref())
            .opt_str("key", self.key.as_deref())
            .opt_num("request", self.request)
            .opt_num("attempt", self.attempt.map(|a| a as u64))
            .str("endpoint", &self.endpoint)
            .str("origin", &self.origin)
            .str("endpoint_detail", &self.endpoint_detail)
            .time("time", self.time)
            .addr("client", &self.client)
            .addr("server", &self.server)
            .opt_str("seen", self.seen.as_deref())
            .opt_str("user_agent", self.user_agent.as_deref())
            .opt_num("status", self.status.map(u64::from))
            .str("hint", &self.hint);
        match &self.guess {
            Some(g) => guess(o.key("guess"), g),
            None => {
                o.null("guess");
            }
        }
        o.end();
    }
}

fn guess(out: &mut Vec<u8>, g: &GuessRecord) {
    let mut o = Obj::new(out);
    o.opt_str("operation", g.operation)
        .num("request", g.request)
        .str("reason", &g.reason)
        .end();
}

#[cfg(test)]
#[path = "fastjson_tests.rs"]
mod tests;
