//! The packed form of a spool's rows: JSON text in which the text the writer knows repeats (a
//! finding's kind and severity, its request's operation, bucket, Host and User-Agent, its hint)
//! is written once per frame and referred to by one byte after that.
//!
//! A request-dense capture's findings all say much the same: of a finding row's ~650 bytes,
//! ~450 were text of the last few rows, and writing the spool into the page cache was ~9% of
//! the run's CPU. Which text repeats is taken from what the writer already knows for free (a
//! memo that did not have to escape its value again, a static name), never found by comparing
//! bytes: a byte-level delta against the previous row made the spool 3x smaller but cost 40% more
//! report-thread instructions.
//!
//! A frame is a sequence of operations, each a byte and what it says:
//! - `0..SLOTS`: the text of that entry (defined earlier in the frame);
//! - [`DEF`] slot, u16 length, text: the entry's text, written here and kept for later;
//! - [`RAW16`] u16 length, text / [`RAW32`] u32 length, text: text used once.
//!
//! Every frame starts with an empty dictionary, so a frame can be unpacked on its own, and an
//! operation never crosses a frame. Lengths are known before the text is copied when unpacking:
//! nothing is scanned for.

use super::fastjson::JsonBuf;
use std::io;

/// Entries a frame's dictionary can have: the operation bytes below [`DEF`].
pub const SLOTS: usize = DEF as usize;
/// The operations other than a reference to an entry.
const DEF: u8 = 0xF0;
const RAW16: u8 = 0xF1;
const RAW32: u8 = 0xF2;
/// Bytes of a header before its text: `DEF slot len len`, `RAW16 len len`, `RAW32 len*4`.
const DEF_HEAD: usize = 4;
const RAW16_HEAD: usize = 3;
const RAW32_HEAD: usize = 5;

/// Text a row may repeat from earlier rows: the entry in `slot`, whose text is the same for the
/// same `version` (version 0: the text is not an entry, written as text each time). Each slot
/// belongs to one source of text, which counts its versions up from 1 as its text changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub slot: u8,
    pub version: u64,
}

impl Entry {
    pub const fn new(slot: u8, version: u64) -> Entry {
        Entry { slot, version }
    }
}

/// Where a row is written: as JSON text ([`JsonBuf`]), or packed ([`Packer`]).
pub trait RowOut {
    /// Where the row's text goes.
    fn text(&mut self) -> &mut JsonBuf;
    /// The text `write` writes, the same for the same `entry` (see [`Entry`]).
    fn entry(&mut self, entry: Entry, write: impl FnOnce(&mut JsonBuf));
}

impl RowOut for JsonBuf {
    #[inline(always)]
    fn text(&mut self) -> &mut JsonBuf {
        self
    }

    #[inline(always)]
    fn entry(&mut self, _: Entry, write: impl FnOnce(&mut JsonBuf)) {
        write(self);
    }
}

/// Rows packed into frames (see the module's doc). The frame being written starts with its
/// head ([`FRAME_HEAD`]), filled in by [`Packer::frame`].
pub struct Packer {
    buf: JsonBuf,
    /// The header of the text being written (`RAW16`), when there is one.
    raw: Option<usize>,
    /// The version of each slot's text in this frame (0: none yet), and its length.
    defined: [u64; SLOTS],
    lengths: [u16; SLOTS],
    /// The bytes of the entries' texts referred to in this frame.
    repeated: usize,
}

/// The frame's length, then a bound on the length of its text (the length of its operations
/// and of the texts they refer to, both u32, little-endian), before its operations: the text
/// is unpacked into a buffer made that large at once (grown from empty, its reallocations
/// copied 2 M instructions a thread on dense-50k).
pub(super) const FRAME_HEAD: usize = 8;

impl Default for Packer {
    fn default() -> Packer {
        Packer::with_capacity(0)
    }
}

impl Packer {
    /// A packer with room for `n` bytes of frame made at once (zeros from the allocator: a
    /// buffer grown to it by doubling was zeroed and copied piece by piece).
    pub fn with_capacity(n: usize) -> Packer {
        let mut buf = JsonBuf::with_capacity(n);
        buf.put(&[0; FRAME_HEAD]);
        Packer {
            buf,
            raw: None,
            defined: [0; SLOTS],
            lengths: [0; SLOTS],
            repeated: 0,
        }
    }

    /// Bytes of the frame so far (its operations).
    pub fn len(&self) -> usize {
        self.buf.len() - FRAME_HEAD
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frame, its head first ([`FRAME_HEAD`]), to be written out; the next `frame` call
    /// starts a new one.
    pub fn frame(&mut self) -> &[u8] {
        self.close_raw();
        let n = u32::try_from(self.len()).unwrap_or(u32::MAX);
        let text = u32::try_from(self.len().saturating_add(self.repeated)).unwrap_or(u32::MAX);
        self.buf.patch(0, &n.to_le_bytes());
        self.buf.patch(4, &text.to_le_bytes());
        self.raw = None;
        self.defined = [0; SLOTS];
        self.repeated = 0;
        self.buf.as_bytes()
    }

    /// After [`Packer::frame`]'s bytes were written: an empty frame.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.buf.put(&[0; FRAME_HEAD]);
    }

    /// The open text's length into its header; a text longer than a `RAW16` holds gets a
    /// `RAW32` header (its bytes moved up by two: only a row of more than 64 KiB).
    fn close_raw(&mut self) {
        let Some(at) = self.raw.take() else {
            return;
        };
        let n = self.buf.len() - at - RAW16_HEAD;
        match u16::try_from(n) {
            Ok(n) => {
                let [a, b] = n.to_le_bytes();
                self.buf.patch(at, &[RAW16, a, b]);
            }
            Err(_) => self.widen_to_raw32(at, RAW16_HEAD),
        }
    }

    /// The operation at `at` (with a header of `head` bytes) made a `RAW32` of its text.
    #[cold]
    #[inline(never)]
    fn widen_to_raw32(&mut self, at: usize, head: usize) {
        let n = self.buf.len() - at - head;
        self.buf.widen(at + head, RAW32_HEAD - head);
        let [a, b, c, d] = u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
        self.buf.patch(at, &[RAW32, a, b, c, d]);
    }
}

impl RowOut for Packer {
    #[inline(always)]
    fn text(&mut self) -> &mut JsonBuf {
        if self.raw.is_none() {
            self.raw = Some(self.buf.len());
            self.buf.put(&[RAW16, 0, 0]);
        }
        &mut self.buf
    }

    #[inline(always)]
    fn entry(&mut self, entry: Entry, write: impl FnOnce(&mut JsonBuf)) {
        let slot = usize::from(entry.slot);
        match self.defined.get(slot) {
            Some(&v) if v == entry.version && v != 0 => {
                self.close_raw();
                self.buf.byte(entry.slot);
                let n = self.lengths.get(slot).copied().unwrap_or_default();
                self.repeated += usize::from(n);
            }
            Some(_) if entry.version != 0 => self.define(entry, write),
            _ => write(self.text()),
        }
    }
}

impl Packer {
    /// `entry`'s text, written and kept for the rest of the frame (a text longer than a `DEF`
    /// holds is written as text, and not kept).
    #[inline(never)]
    fn define(&mut self, entry: Entry, write: impl FnOnce(&mut JsonBuf)) {
        self.close_raw();
        let at = self.buf.len();
        self.buf.put(&[DEF, entry.slot, 0, 0]);
        write(&mut self.buf);
        match u16::try_from(self.buf.len() - at - DEF_HEAD) {
            Ok(n) => {
                let [a, b] = n.to_le_bytes();
                self.buf.patch(at + 2, &[a, b]);
                let slot = usize::from(entry.slot);
                if let (Some(v), Some(len)) =
                    (self.defined.get_mut(slot), self.lengths.get_mut(slot))
                {
                    *v = entry.version;
                    *len = n;
                }
            }
            Err(_) => self.widen_to_raw32(at, DEF_HEAD),
        }
    }
}

/// A frame that is not what a [`Packer`] writes (it never is: the spool is this program's own).
fn damaged(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("spool frame: {what}"))
}

/// The JSON text of a frame's operations, `frame[..ops]`, at the end of `out`. Each text is
/// copied with one `memcpy` into a `Vec` that grows by reallocation: copying whole blocks
/// into a buffer kept zeroed past its end took a fifth more instructions (dense-50k, 25k
/// findings: 6.15 -> 4.86 M on one unpacking thread, its growth aside), and its growth zeroed
/// and copied the frame's text once more (2.2 M on each thread).
pub fn unpack(frame: &[u8], ops: usize, out: &mut Vec<u8>) -> io::Result<()> {
    let frame = frame
        .get(..ops)
        .ok_or_else(|| damaged("shorter than its length"))?;
    // Each entry's text, where it starts and ends in the frame (a range that ends before it
    // starts: none yet).
    let mut dict = [(1u32, 0u32); SLOTS];
    let mut at = 0;
    while let Some(&op) = frame.get(at) {
        let text = match dict.get(usize::from(op)) {
            Some(&(start, end)) => {
                at += 1;
                let text = frame.get(start as usize..end as usize);
                text.ok_or_else(|| damaged("an entry used before it was defined"))?
            }
            None => {
                let (head, n) = header(frame, at, op)?;
                let slot = frame.get(at + 1).copied().unwrap_or_default();
                let start = at + head;
                at = start + n;
                if op == DEF {
                    let (Ok(from), Ok(to)) = (u32::try_from(start), u32::try_from(at)) else {
                        return Err(damaged("an entry past 4 GiB"));
                    };
                    if let Some(e) = dict.get_mut(usize::from(slot)) {
                        *e = (from, to);
                    }
                }
                let text = frame.get(start..at);
                text.ok_or_else(|| damaged("a text past its end"))?
            }
        };
        out.extend_from_slice(text);
    }
    Ok(())
}

/// The header's length and the text's length of the operation `op` at `at` (not an entry's).
#[inline(always)]
fn header(frame: &[u8], at: usize, op: u8) -> io::Result<(usize, usize)> {
    let le = |from: usize, n: usize| {
        frame
            .get(at + from..at + from + n)
            .map(|b| b.iter().rev().fold(0usize, |v, &b| v << 8 | usize::from(b)))
    };
    let found = match op {
        DEF => le(2, 2).map(|n| (DEF_HEAD, n)),
        RAW16 => le(1, 2).map(|n| (RAW16_HEAD, n)),
        RAW32 => le(1, 4).map(|n| (RAW32_HEAD, n)),
        _ => return Err(damaged("an unknown operation")),
    };
    found.ok_or_else(|| damaged("a header past its end"))
}

#[cfg(test)]
#[path = "packed_tests.rs"]
mod tests;
