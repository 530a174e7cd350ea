//! Rows of a JSON array that cannot be written where they belong yet (a JSON document has one
//! `requests` array open while findings, attempts and TLS sessions arrive): serialised at once
//! into an anonymous temporary file, copied into the document at the end. Memory stays flat
//! whatever the number of rows; the file vanishes when dropped. Findings, by the hundred
//! thousand on a busy capture and much alike, are packed ([`PackedSpool`]); the rest are kept
//! as JSON text, which the kernel copies into the document ([`Spool`]).

use super::fastjson::JsonBuf;
use super::packed::{Packer, unpack};
use serde::Serialize;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;

/// The temporary directory could not hold a spool (TMPDIR missing, read-only, full).
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot create a temporary file in {} for the JSON report: {}",
    dir.display(),
    crate::source::io_reason(source)
)]
pub struct SpoolError {
    pub dir: std::path::PathBuf,
    pub source: io::Error,
}

/// Bytes per write to the spool and per read back from it.
const SPOOL_BUFFER: usize = 1 << 18;

pub struct Spool {
    file: Option<File>,
    /// Rows not yet written to the file, written in place (a row is not copied into a
    /// buffered writer's buffer first).
    pending: JsonBuf,
    pub rows: u64,
}

impl Spool {
    /// A spool with its file, made before anything is written so that a temporary directory
    /// that cannot be used fails the run before the report starts.
    pub fn new() -> io::Result<Spool> {
        Ok(Spool {
            file: Some(temp_file()?),
            pending: JsonBuf::new(),
            rows: 0,
        })
    }

    /// One row already written as compact JSON, on its own line (indented for the document).
    pub fn push_json(&mut self, json: &[u8]) -> io::Result<()> {
        self.push_with(|out| out.put(json))
    }

    /// One row, written as compact JSON by `write`, on its own line (indented for the
    /// document).
    pub fn push_with(&mut self, write: impl FnOnce(&mut JsonBuf)) -> io::Result<()> {
        if self.file.is_none() {
            return Err(io::Error::other("a spool takes no rows once read back"));
        }
        self.pending.put(if self.rows == 0 {
            b"\n    "
        } else {
            b",\n    "
        });
        write(&mut self.pending);
        self.rows += 1;
        if self.pending.len() >= SPOOL_BUFFER {
            self.write_out()?;
        }
        Ok(())
    }

    /// The rows written in place, into the file.
    fn write_out(&mut self) -> io::Result<()> {
        let written = match &mut self.file {
            Some(f) => f.write_all(self.pending.as_bytes()),
            None => Ok(()),
        };
        self.pending.clear();
        written
    }

    /// One row, as a compact JSON object on its own line (indented for the document).
    pub fn push<T: Serialize>(&mut self, row: &T) -> io::Result<()> {
        let json = serde_json::to_vec(row)?;
        self.push_json(&json)
    }

    /// Everything pushed, in order, into `out` (nothing for an empty spool); through `direct`
    /// when given, a handle on the same file as `out` that the kernel copies into. The rows
    /// there were.
    pub fn copy_to(&mut self, out: &mut dyn Write, direct: Option<&mut File>) -> io::Result<u64> {
        if self.rows == 0 {
            return Ok(0);
        }
        self.write_out()?;
        let Some(mut f) = self.file.take() else {
            return Ok(self.rows);
        };
        f.seek(SeekFrom::Start(0))?;
        if let Some(direct) = direct {
            // Whatever `out` holds goes first; then `io::copy` between two files is done in the
            // kernel, and falls back to a copy loop where the kernel cannot (a terminal).
            out.flush()?;
            io::copy(&mut f, direct)?;
            return Ok(self.rows);
        }
        // Not `io::copy`: through a `dyn Write` it copies in 8 KiB steps, and a busy capture's
        // findings spool is hundreds of MB.
        let mut buf = vec![0u8; SPOOL_BUFFER];
        loop {
            match f.read(&mut buf) {
                Ok(0) => return Ok(self.rows),
                Ok(n) => out.write_all(buf.get(..n).unwrap_or_default())?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// A spool's file.
fn temp_file() -> io::Result<File> {
    tempfile::tempfile().map_err(|source| {
        let kind = source.kind();
        let dir = std::env::temp_dir();
        io::Error::new(kind, SpoolError { dir, source })
    })
}

/// What comes before each of a packed spool's rows (the first one's comma is dropped when the
/// spool is copied out: see [`PackedSpool::copy_to`]), and with the row's `{`.
const ROW_SEPARATOR: &[u8] = b",\n    ";
pub const ROW_OPEN: &[u8] = b",\n    {";

/// A [`Spool`] of packed rows (see [`super::packed`]): its file holds frames, each its length
/// (u32, little-endian) then its operations, unpacked when copied into the document.
pub struct PackedSpool {
    file: Option<File>,
    packer: Packer,
    /// Where each frame written to the file starts, then where the next one will: the two
    /// unpackers read frames by place, each its own ([`PackedSpool::copy_to`]).
    starts: Vec<u64>,
    pub rows: u64,
}

impl PackedSpool {
    /// A spool with its file (see [`Spool::new`]).
    pub fn new() -> io::Result<PackedSpool> {
        Ok(PackedSpool {
            file: Some(temp_file()?),
            // A frame is written out once it holds SPOOL_BUFFER bytes: room for one more row.
            packer: Packer::with_capacity(2 * SPOOL_BUFFER),
            starts: vec![0],
            rows: 0,
        })
    }

    /// One row, written as compact JSON by `write`, on its own line (indented for the
    /// document).
    pub fn push_with(&mut self, write: impl FnOnce(&mut JsonBuf)) -> io::Result<()> {
        self.push_packed(|p, open| {
            use super::packed::RowOut;
            debug_assert_eq!(open, ROW_OPEN);
            let text = p.text();
            text.put(ROW_SEPARATOR);
            write(text);
        })
    }

    /// One row, written by `write` through the packer, opened by the text it is given (which
    /// it writes first: [`ROW_OPEN`]).
    pub fn push_packed(
        &mut self,
        write: impl FnOnce(&mut Packer, &'static [u8]),
    ) -> io::Result<()> {
        if self.file.is_none() {
            return Err(io::Error::other("a spool takes no rows once read back"));
        }
        write(&mut self.packer, ROW_OPEN);
        self.rows += 1;
        if self.packer.len() >= SPOOL_BUFFER {
            self.write_frame()?;
        }
        Ok(())
    }

    /// The frame being written, into the file.
    fn write_frame(&mut self) -> io::Result<()> {
        if self.packer.is_empty() {
            return Ok(());
        }
        let written = match &mut self.file {
            Some(f) => f.write_all(self.packer.frame()),
            None => Ok(()),
        };
        let end = self.starts.last().copied().unwrap_or_default();
        self.starts.push(end + self.packer.frame().len() as u64);
        self.packer.clear();
        written
    }

    /// How many frames the spool holds.
    fn frames(&self) -> usize {
        self.starts.len() - 1
    }

    /// Everything pushed, in order, unpacked into `out` (nothing for an empty spool). The rows
    /// there were. With `threads` of two or more, a second thread unpacks frames too (each
    /// frame stands alone): this runs once the analysis is over, while nothing else does.
    ///
    /// Each thread claims the next frame not yet claimed, reads it from its place in the file
    /// and unpacks it; this thread writes them in order, the other frees what was written
    /// (see [`Freed`]). Claiming in turn balances the two whatever each one's other work
    /// costs: when this thread read every frame and handed every other one over, it did
    /// twice the reading and the other waited on it, then it waited on the other's freeing
    /// (820k findings, a 146 MB spool: reading 15 ms, unpacking 11 ms on each thread,
    /// freeing 14 ms; 42 ms in all, the run's tail).
    pub fn copy_to(&mut self, out: &mut dyn Write, threads: usize) -> io::Result<u64> {
        self.write_frame()?;
        let Some(file) = self.file.take() else {
            return Ok(self.rows);
        };
        let (starts, frames) = (&self.starts[..], self.frames());
        let mut write = |i: usize, bytes: &[u8]| {
            out.write_all(match i {
                0 => bytes.strip_prefix(b",").unwrap_or(bytes),
                _ => bytes,
            })
        };
        let (mut frame, mut text) = (Vec::new(), Vec::new());
        if threads < 2 || frames < 2 {
            for (i, &at) in starts.iter().take(frames).enumerate() {
                let ops = read_frame(&file, at, &mut frame, &mut text)?;
                unpack(&frame, ops, &mut text)?;
                write(i, &text)?;
            }
            return Ok(self.rows);
        }
        // Where frame `i` starts, if there is one.
        let place = |i: usize| starts.get(i).filter(|_| i < frames).copied();
        let claims = AtomicUsize::new(0);
        // The file's bytes before this have been written out, so read by both threads.
        let written_to = AtomicU64::new(0);
        let mut freed = Freed::of(&file);
        std::thread::scope(|scope| {
            // Theirs come back unpacked in the order they claimed them, one waiting at most;
            // their text buffers go back to them once written (two or three in all).
            let (to_me, unpacked) = mpsc::sync_channel::<io::Result<(usize, Vec<u8>)>>(1);
            let (give_back, spent) = mpsc::channel::<Vec<u8>>();
            let (file, claims, written_to) = (&file, &claims, &written_to);
            // Named, for profiles and `scripts/thread-cpu`. Should it not start, this thread
            // claims every frame itself (nothing else claims them) and nothing is punched out:
            // the close frees the file.
            let second = std::thread::Builder::new().name("s3wire-spool".into());
            let _ = second.spawn_scoped(scope, move || {
                let mut frame = Vec::new();
                loop {
                    let i = claims.fetch_add(1, Ordering::Relaxed);
                    let Some(at) = place(i) else {
                        return;
                    };
                    let mut text = spent.try_recv().unwrap_or_default();
                    let done = read_frame(file, at, &mut frame, &mut text)
                        .and_then(|ops| unpack(&frame, ops, &mut text))
                        .map(|()| (i, text));
                    freed.upto(written_to.load(Ordering::Acquire));
                    // An error ends it (handed over: it is the run's); so does a closed
                    // channel (the writer stopped, and its error is the run's).
                    let failed = done.is_err();
                    if to_me.send(done).is_err() || failed {
                        return;
                    }
                }
            });
            let stopped = || io::Error::other("the spool's second unpacker stopped");
            // My frame unpacked and not yet written, when I have one.
            let mut mine: Option<usize> = None;
            for next in 0..frames {
                if mine.is_none() {
                    let i = claims.fetch_add(1, Ordering::Relaxed);
                    if let Some(at) = place(i) {
                        let ops = read_frame(file, at, &mut frame, &mut text)?;
                        unpack(&frame, ops, &mut text)?;
                        mine = Some(i);
                    }
                }
                if mine == Some(next) {
                    write(next, &text)?;
                    mine = None;
                } else {
                    // Every frame before mine that is not written is theirs, and comes next.
                    let (i, theirs) = unpacked.recv().map_err(|_| stopped())??;
                    if i != next {
                        return Err(io::Error::other(
                            "the spool's frames came back out of order",
                        ));
                    }
                    write(next, &theirs)?;
                    let _ = give_back.send(theirs);
                }
                let end = starts.get(next + 1).copied().unwrap_or_default();
                written_to.store(end, Ordering::Release);
            }
            Ok::<(), io::Error>(())
        })?;
        Ok(self.rows)
    }
}

/// What was read of a spool's file, freed while the rest is read: closing the file freed it
/// all at once, on the one thread left at the end (820k findings, a 146 MB spool on ext4: the
/// `close` took 14.5 ms, `strace -tt`). Punched out (`FALLOC_FL_PUNCH_HOLE`) every
/// [`FREE_STEP`] by the second unpacker, up to what the first has written (so read by both);
/// it then claims fewer frames to unpack. A file system that cannot punch holes frees it all
/// at the close, as before.
struct Freed {
    file: Option<File>,
    upto: u64,
}

/// How much of the spool's file is freed at once.
const FREE_STEP: u64 = 8 << 20;

impl Freed {
    fn of(file: &File) -> Freed {
        Freed {
            file: file.try_clone().ok(),
            upto: 0,
        }
    }

    /// The file's bytes before `read_to` have been read: free them, once a step's worth.
    fn upto(&mut self, read_to: u64) {
        let to = read_to - read_to % FREE_STEP;
        let Some(file) = self.file.as_ref().filter(|_| to > self.upto) else {
            return;
        };
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let (Ok(from), Ok(len)) = (
                libc::off_t::try_from(self.upto),
                libc::off_t::try_from(to - self.upto),
            ) else {
                return;
            };
            // SAFETY: `fallocate` on an open file of ours, over bytes already read; the file
            // keeps its size (KEEP_SIZE) and reads as zeros there, where nothing reads again.
            let punched = unsafe {
                libc::fallocate(
                    file.as_raw_fd(),
                    libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                    from,
                    len,
                )
            };
            if punched != 0 {
                self.file = None; // not supported here: the close frees it all
                return;
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = file;
        self.upto = to;
    }
}

/// The frame at `at` in a packed spool's file read into `frame`, and the length of its
/// operations; `text` cleared, with room for the frame's text (see [`Packer::frame`]).
fn read_frame(file: &File, at: u64, frame: &mut Vec<u8>, text: &mut Vec<u8>) -> io::Result<usize> {
    let mut head = [0; 8];
    file.read_exact_at(&mut head, at)?;
    let [a, b, c, d, e, f, g, h] = head;
    let ops = u32::from_le_bytes([a, b, c, d]) as usize;
    let bound = u32::from_le_bytes([e, f, g, h]) as usize;
    if frame.len() < ops {
        frame.resize(ops, 0);
    }
    file.read_exact_at(frame.get_mut(..ops).unwrap_or_default(), at + 8)?;
    text.clear();
    if text.capacity() < bound {
        // A new buffer, not a larger one: what the old one held is not copied.
        *text = Vec::with_capacity(bound);
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufWriter;

    #[test]
    fn rows_come_back_in_order_as_array_items() {
        let mut s = Spool::new().unwrap();
        let mut out = Vec::new();
        s.copy_to(&mut out, None).unwrap();
        assert!(out.is_empty());
        for i in 0..3 {
            s.push(&serde_json::json!({ "n": i })).unwrap();
        }
        s.copy_to(&mut out, None).unwrap();
        let text = format!("[{}]", String::from_utf8(out).unwrap());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v, serde_json::json!([{ "n": 0 }, { "n": 1 }, { "n": 2 }]));
        assert_eq!(s.rows, 3);
    }

    /// Whole rows and packed ones, over several frames, come back in order as the array's
    /// items (the first one's comma dropped), unpacked on one thread or two, whether the last
    /// frame is the first thread's or the second's.
    #[test]
    fn packed_rows_come_back_in_order_as_array_items() {
        use crate::report::packed::{Entry, RowOut};
        for threads in [1, 2] {
            let mut out = Vec::new();
            let empty = PackedSpool::new().unwrap().copy_to(&mut out, threads);
            assert_eq!(empty.unwrap(), 0);
            assert!(out.is_empty());
        }
        let mut frame_counts = Vec::new();
        for n in [100_000u64, 120_000] {
            let spool = || {
                let mut s = PackedSpool::new().unwrap();
                for i in 0..n {
                    if i % 3 == 0 {
                        s.push_with(|b| b.put(format!("{{\"n\":{i}}}").as_bytes()))
                            .unwrap();
                        continue;
                    }
                    s.push_packed(|p, open| {
                        p.entry(Entry::new(1, 1 + i % 2), |t| {
                            t.put(open);
                            t.put(if i % 2 == 0 { b"\"n\":" } else { b"\"n\": " });
                        });
                        p.text().put(i.to_string().as_bytes());
                        p.text().byte(b'}');
                    })
                    .unwrap();
                }
                s
            };
            let expected: Vec<_> = (0..n).map(|i| serde_json::json!({ "n": i })).collect();
            for threads in [1, 2, 8] {
                let mut s = spool();
                assert!(s.frames() > 2, "{} frames", s.frames());
                frame_counts.push(s.frames());
                let mut out = Vec::new();
                assert_eq!(s.copy_to(&mut out, threads).unwrap(), n);
                let text = String::from_utf8(out).unwrap();
                assert!(text.starts_with("\n    {\"n\":0},\n    {\"n\": 1},\n    {\"n\":2}"));
                let v: serde_json::Value = serde_json::from_str(&format!("[{text}]")).unwrap();
                assert_eq!(
                    v,
                    serde_json::Value::Array(expected.clone()),
                    "{threads} threads"
                );
            }
        }
        // Both an odd and an even number of frames were unpacked.
        assert!(frame_counts.iter().any(|f| f % 2 == 1), "{frame_counts:?}");
        assert!(frame_counts.iter().any(|f| f % 2 == 0), "{frame_counts:?}");
    }

    /// A spool of several [`FREE_STEP`]s, unpacked on two threads: what was read of its file
    /// is punched out as it goes (`Freed`), never what is still to be read.
    #[test]
    fn a_large_spool_freed_as_it_is_read_comes_back_whole() {
        let pad = "x".repeat(200);
        let n = 4 * FREE_STEP / 200;
        let mut s = PackedSpool::new().unwrap();
        for i in 0..n {
            let row = format!("{{\"n\":{i},\"pad\":\"{pad}\"}}");
            s.push_with(|b| b.put(row.as_bytes())).unwrap();
        }
        let mut out = Vec::new();
        assert_eq!(s.copy_to(&mut out, 2).unwrap(), n);
        let text = String::from_utf8(out).unwrap();
        let v: Vec<serde_json::Value> = serde_json::from_str(&format!("[{text}]")).unwrap();
        assert_eq!(v.len() as u64, n);
        for (i, row) in v.iter().enumerate() {
            assert_eq!(row, &serde_json::json!({ "n": i, "pad": pad }), "row {i}");
        }
    }

    /// Through a second handle on the output file, the kernel's copy lands after what the
    /// buffered writer held, and what is written after it follows it.
    #[test]
    fn a_direct_copy_keeps_the_order_of_the_buffered_writes_around_it() {
        let mut s = Spool::new().unwrap();
        for i in 0..1000 {
            s.push(&serde_json::json!({ "n": i })).unwrap();
        }
        let file = tempfile::tempfile().unwrap();
        let mut direct = file.try_clone().unwrap();
        let mut out = BufWriter::new(file);
        out.write_all(b"[").unwrap();
        s.copy_to(&mut out, Some(&mut direct)).unwrap();
        out.write_all(b"]").unwrap();
        let mut file = out.into_inner().unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let expected: Vec<_> = (0..1000).map(|i| serde_json::json!({ "n": i })).collect();
        assert_eq!(v, serde_json::Value::Array(expected));
    }
}
