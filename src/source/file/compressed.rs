//! Compressed captures: gzip, zstd and lz4 (frame format), told by their first bytes — never by
//! the file name, so `zcat`-less pipes and renamed archives work — and decompressed as they
//! stream: the decompressor is just another reader under the capture's bounded buffer, so
//! neither the file nor its content is ever held whole, in memory or on disk.
//!
//! Crates, all pure Rust: `flate2` (rust-lang; its default miniz_oxide back end), `ruzstd`
//! (a maintained pure-Rust zstd decoder; the `zstd` crate would build the C library), and
//! `lz4_flex` (the fastest Rust LZ4, safe code only by default).
//!
//! A stream that ends early or is corrupt ends the capture there, like a cut file: the frames
//! before it are read, then the reader hears the end of the input, and [`StreamState::damage`]
//! says why, for the truncation note. An I/O error of the file itself stays an error.

use std::io::{self, Chain, Cursor, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ruzstd::decoding::FrameDecoder;
use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};

/// A compression format, by its magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    Lz4,
}

/// The largest zstd window accepted. `zstd -19` uses 8 MiB; only `--long`/`--ultra` archives
/// ask for more, and honouring 128 MiB or more would break the flat-memory promise.
pub const MAX_ZSTD_WINDOW: u64 = 32 << 20;

impl Compression {
    /// RFC 1952 §2.3.1 (gzip: 1f 8b), RFC 8878 §3.1.1 (zstd frame: 28 b5 2f fd, and a
    /// skippable frame: 5? 2a 4d 18), the LZ4 Frame Format §General Structure (04 22 4d 18).
    pub fn from_magic(head: &[u8]) -> Option<Compression> {
        match head {
            [0x1F, 0x8B, ..] => Some(Compression::Gzip),
            [0x28, 0xB5, 0x2F, 0xFD, ..] => Some(Compression::Zstd),
            [b, 0x2A, 0x4D, 0x18, ..] if b & 0xF0 == 0x50 => Some(Compression::Zstd),
            [0x04, 0x22, 0x4D, 0x18, ..] => Some(Compression::Lz4),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
        }
    }
}

/// What the decompressing reader learnt, shared with the capture reader (the decompression
/// may run on the read-ahead thread).
#[derive(Debug, Default)]
pub struct StreamState {
    /// Compressed bytes read from the input.
    read: AtomicU64,
    /// The input itself failed: its error is passed on, not taken for a damaged stream.
    input_failed: AtomicBool,
    damage: Mutex<Option<String>>,
}

impl StreamState {
    /// Compressed bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// Why the compressed stream ended before its end, once.
    pub fn damage(&self) -> Option<String> {
        self.damage.lock().ok()?.take()
    }
}

/// A compressed input: its format, and what its reader learns.
#[derive(Debug, Clone)]
pub struct Compressed {
    pub format: Compression,
    pub state: Arc<StreamState>,
}

type Input = Box<dyn Read + Send>;

/// Look at the first bytes of `reader`: a decompressing reader if they are a compression
/// magic, else the reader as it was (the bytes looked at are given back either way).
pub fn sniff(mut reader: Input) -> io::Result<(Input, Option<Compressed>)> {
    let mut head = [0u8; 4];
    let mut have = 0;
    while have < head.len() {
        match reader.read(&mut head[have..]) {
            Ok(0) => break,
            Ok(n) => have += n.min(head.len() - have),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let replayed = Cursor::new(head[..have].to_vec()).chain(reader);
    let Some(format) = Compression::from_magic(&head[..have]) else {
        return Ok((Box::new(replayed), None));
    };
    let state = Arc::new(StreamState::default());
    let counted = Counted {
        inner: replayed,
        state: state.clone(),
    };
    let decoder: Input = match format {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counted)),
        Compression::Zstd => Box::new(Zstd::new(counted)),
        Compression::Lz4 => Box::new(Lz4(lz4_flex::frame::FrameDecoder::new(Peek {
            inner: counted,
            next: None,
        }))),
    };
    let lenient = Lenient {
        inner: decoder,
        format,
        state: state.clone(),
        out: 0,
        ended: false,
    };
    Ok((Box::new(lenient), Some(Compressed { format, state })))
}

/// Counts the compressed bytes, and notes whether the input itself failed.
struct Counted {
    inner: Chain<Cursor<Vec<u8>>, Input>,
    state: Arc<StreamState>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.state.read.fetch_add(n as u64, Ordering::Relaxed);
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.state.input_failed.store(true, Ordering::Relaxed);
                }
                Err(e)
            }
        }
    }
}

/// A decompressor whose failures (a cut or corrupt stream) end the input instead of failing
/// it, with the reason kept in [`StreamState`].
struct Lenient {
    inner: Input,
    format: Compression,
    state: Arc<StreamState>,
    /// Decompressed bytes handed out.
    out: u64,
    ended: bool,
}

impl Read for Lenient {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ended {
            return Ok(0);
        }
        match self.inner.read(buf) {
            Ok(n) => {
                self.out += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) if self.state.input_failed.load(Ordering::Relaxed) => Err(e),
            Err(e) => {
                self.ended = true;
                let why = format!(
                    "the {} stream is cut or corrupt after {} compressed bytes ({} bytes \
                     decompressed): {e}",
                    self.format.name(),
                    self.state.bytes_read(),
                    self.out
                );
                if let Ok(mut damage) = self.state.damage.lock() {
                    *damage = Some(why);
                }
                Ok(0)
            }
        }
    }
}

/// zstd, every frame of the input in turn (RFC 8878 §3.1: "a compressed stream is one or more
/// frames", as `zstd` writes for concatenated or multithreaded archives); skippable frames
/// (§3.1.2) are skipped. `ruzstd`'s own streaming decoder reads one frame only.
struct Zstd<R> {
    src: Peek<R>,
    dec: FrameDecoder,
    in_frame: bool,
}

impl<R: Read> Zstd<R> {
    fn new(src: R) -> Self {
        let mut dec = FrameDecoder::new();
        dec.set_max_window_size(MAX_ZSTD_WINDOW);
        Zstd {
            src: Peek {
                inner: src,
                next: None,
            },
            dec,
            in_frame: false,
        }
    }

    /// Start the next frame; false at the clean end of the input.
    fn next_frame(&mut self) -> io::Result<bool> {
        loop {
            if !self.src.more()? {
                return Ok(false);
            }
            match self.dec.reset(&mut self.src) {
                Ok(()) => return Ok(true),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let skipped =
                        io::copy(&mut (&mut self.src).take(length.into()), &mut io::sink())?;
                    if skipped < u64::from(length) {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "skippable frame cut short",
                        ));
                    }
                }
                Err(e) => return Err(io::Error::other(e)),
            }
        }
    }
}

impl<R: Read> Read for Zstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                if !self.next_frame()? {
                    return Ok(0);
                }
                self.in_frame = true;
            }
            while self.dec.can_collect() == 0 && !self.dec.is_finished() {
                self.dec
                    .decode_blocks(
                        &mut self.src,
                        ruzstd::decoding::BlockDecodingStrategy::UptoBlocks(1),
                    )
                    .map_err(io::Error::other)?;
            }
            let n = self.dec.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            self.in_frame = false; // finished and drained
        }
    }
}

/// lz4, every frame of the input in turn (concatenated frames are one stream, as for `lz4 -d`):
/// `lz4_flex` reads the next frame when asked again, but says "end" after each one.
struct Lz4<R: Read>(lz4_flex::frame::FrameDecoder<Peek<R>>);

impl<R: Read> Read for Lz4<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.0.read(buf)?;
            if n > 0 || buf.is_empty() || !self.0.get_mut().more()? {
                return Ok(n);
            }
        }
    }
}

/// A reader that can tell whether another byte follows, without losing it.
struct Peek<R> {
    inner: R,
    next: Option<u8>,
}

impl<R: Read> Peek<R> {
    fn more(&mut self) -> io::Result<bool> {
        if self.next.is_some() {
            return Ok(true);
        }
        let mut one = [0u8; 1];
        loop {
            match self.inner.read(&mut one) {
                Ok(0) => return Ok(false),
                Ok(_) => {
                    self.next = Some(one[0]);
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl<R: Read> Read for Peek<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.next.take(), buf.first_mut()) {
            (Some(b), Some(first)) => {
                *first = b;
                Ok(1)
            }
            (Some(b), None) => {
                self.next = Some(b);
                Ok(0)
            }
            (None, _) => self.inner.read(buf),
        }
    }
}

#[cfg(test)]
mod tests;
