//! A bounded window over a byte stream, so any reader (a file, a pipe from `tcpdump -w -`) is read
//! in large chunks while memory stays flat however long the capture is; or a mapped file, whose
//! map is the buffer (see [`super::map`]).

use super::ahead::{Chunk, ROOM, ReadAhead};
use super::map::{Map, Shrunk};
use std::io::{self, Read, Seek, SeekFrom};
use std::time::Duration;

/// Where bytes come from: the reader itself, or a read-ahead thread that owns it (a mapped file
/// has neither).
enum Input {
    Direct(Box<dyn Read + Send>),
    Ahead(ReadAhead),
    /// Only while switching, and for a mapped file.
    Gone,
}

/// Bytes `buf[start..end]` have been read and not yet consumed; `buf[start]` sits at file offset
/// `offset`. A mapped file's bytes are the map's instead of `buf`'s, `start` being the offset.
pub(super) struct ReadBuffer {
    input: Input,
    buf: Vec<u8>,
    /// The map of a mapped file (a pointer's test on the hot path, where matching `Input`
    /// took several instructions per record).
    map: Option<Map>,
    start: usize,
    end: usize,
    eof: bool,
    offset: u64,
    bytes_read: u64,
    /// A mapped file: the end of the last record handed out.
    given_to: u64,
    /// A mapped file shrank while it was read.
    shrunk: Option<Shrunk>,
}

impl ReadBuffer {
    pub(super) fn new(reader: Box<dyn Read + Send>, capacity: usize) -> Self {
        ReadBuffer {
            input: Input::Direct(reader),
            buf: vec![0; capacity],
            map: None,
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
            bytes_read: 0,
            given_to: 0,
            shrunk: None,
        }
    }

    /// A mapped file: every byte of it is available at once, without a read.
    pub(super) fn mapped(map: Map) -> Self {
        ReadBuffer {
            input: Input::Gone,
            buf: Vec::new(),
            start: 0,
            end: map.bytes().len(),
            map: Some(map),
            eof: false,
            offset: 0,
            bytes_read: 0,
            given_to: 0,
            shrunk: None,
        }
    }

    /// Whether the bytes come from a map.
    pub(super) fn is_mapped(&self) -> bool {
        self.map.is_some()
    }

    /// A mapped file's first byte, once the advice for the reader's last place was given.
    #[cfg(test)]
    pub(super) fn settled_map(&self) -> Option<usize> {
        let map = self.map.as_ref()?;
        map.settle();
        Some(map.base())
    }

    /// From now on, read ahead on a thread of its own (no change when none can be had). With
    /// `idle`, follow the input (see [`ReadAhead::start`]): a fill that waited that long for
    /// bytes fails with [`super::ahead::Idle`], keeping what it had, and can be asked again.
    /// A mapped file has nothing to read: its bytes are read where they lie, and the thread
    /// gives the kernel its advice on the map's pages instead ([`Map::advise_ahead`]).
    pub(super) fn read_ahead(&mut self, idle: Option<Duration>) {
        if let Some(map) = &mut self.map {
            map.advise_ahead();
            return;
        }
        if !matches!(self.input, Input::Direct(_)) {
            return; // a map, or already a thread
        }
        let Input::Direct(reader) = std::mem::replace(&mut self.input, Input::Gone) else {
            return;
        };
        self.input = match ReadAhead::start(reader, idle) {
            Ok(ahead) => Input::Ahead(ahead),
            Err(reader) => Input::Direct(reader),
        };
    }

    /// End the input at what has been read (by the read-ahead thread too).
    pub(super) fn cut(&mut self) {
        if let Some(map) = &mut self.map {
            map.cut(self.start);
            self.end = self.start;
        }
        match &mut self.input {
            Input::Ahead(ahead) => ahead.cut(),
            _ => self.eof = true,
        }
    }

    /// The bytes read and not yet consumed.
    pub(super) fn available(&self) -> &[u8] {
        let all = match &self.map {
            Some(map) => map.bytes(),
            None => &self.buf,
        };
        all.get(self.start..self.end).unwrap_or_default()
    }

    /// Whether the next `len` available bytes, a record about to be handed out, are really the
    /// file's (always, unless a mapped file shrank under them: see [`Map::check`]).
    #[inline]
    pub(super) fn intact(&mut self, len: usize) -> bool {
        let Some(map) = &mut self.map else {
            return true;
        };
        let upto = self.start.saturating_add(len);
        if !map.check(self.start, upto) {
            return false;
        }
        self.given_to = upto as u64;
        true
    }

    /// The next `len` available bytes, a record, are handed out without a check.
    pub(super) fn gave(&mut self, len: usize) {
        self.given_to = self.offset.saturating_add(len as u64);
    }

    /// A mapped file: the end of the last record handed out.
    pub(super) fn given_to(&self) -> u64 {
        self.given_to
    }

    /// A mapped file shrank (a check failed): only the bytes still in it are available from
    /// now on. Returns the offset they end at.
    pub(super) fn shrink(&mut self) -> u64 {
        let Some(map) = &mut self.map else {
            return self.offset.saturating_add((self.end - self.start) as u64);
        };
        let shrunk = map.shrunk(self.given_to);
        self.end = map.bytes().len().clamp(self.start, self.end);
        self.eof = true;
        self.shrunk = Some(shrunk);
        shrunk.left
    }

    /// How the mapped file shrank while it was read, if it did.
    pub(super) fn shrunk(&self) -> Option<Shrunk> {
        self.shrunk
    }

    /// File offset of the first available byte.
    pub(super) fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes taken from the reader so far; from a map, up to the end of the last record handed
    /// out (the whole map once its end was reached).
    pub(super) fn bytes_read(&self) -> u64 {
        self.bytes_read.max(self.given_to)
    }

    /// Make at least `want` bytes available, unless the input ends first; returns how many are
    /// available, capped at `want`. The caller bounds `want` (the largest block it accepts): the
    /// buffer grows to hold one such block and is never larger.
    pub(super) fn fill(&mut self, want: usize) -> io::Result<usize> {
        if self.end - self.start < want && !self.eof {
            if self.is_mapped() {
                self.map_ended(want)?;
            } else {
                self.make_room(want);
                self.read_until(want)?;
            }
        }
        Ok((self.end - self.start).min(want))
    }

    /// Consume `n` available bytes (at most what is available).
    pub(super) fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset = self.offset.saturating_add(n as u64);
        if self.start == self.end && !self.is_mapped() {
            self.start = 0;
            self.end = 0;
        }
    }

    /// The reader wants more than the map holds: the file ends there, unless it has grown
    /// since it was mapped (a capture still being written), then the rest is read from the
    /// map's end the usual way; or shrunk, then only what is left is believed.
    fn map_ended(&mut self, want: usize) -> io::Result<()> {
        let Some(map) = &mut self.map else {
            return Ok(());
        };
        let (len, valid) = (map.len(), map.bytes().len());
        self.bytes_read = self.bytes_read.max(valid as u64);
        self.eof = true;
        match map.size_now() {
            Some(size) if size < valid as u64 => {
                self.shrink();
                Ok(())
            }
            Some(size) if size > len as u64 && valid == len => self.read_past_map(len, want),
            _ => Ok(()),
        }
    }

    /// Leave the map for the file, read from offset `len` (the map's end) on.
    fn read_past_map(&mut self, len: usize, want: usize) -> io::Result<()> {
        let Some(map) = &self.map else {
            return Ok(());
        };
        // The bytes up to the map's end were read: if the file cannot be read past them, the
        // input ends there, as if it had not grown.
        let Ok(mut file) = map.file() else {
            return Ok(());
        };
        if file.seek(SeekFrom::Start(len as u64)).is_err() {
            return Ok(());
        }
        let tail = map.bytes().get(self.start..self.end).unwrap_or_default();
        let mut buf = vec![0; super::INITIAL_BUFFER.max(want)];
        buf[..tail.len()].copy_from_slice(tail);
        (self.buf, self.start, self.end) = (buf, 0, tail.len());
        self.map = None;
        self.input = Input::Direct(Box::new(file));
        self.eof = false;
        self.read_until(want)
    }

    /// Shift what is available to the front, and grow if one block needs more than the buffer.
    fn make_room(&mut self, want: usize) {
        if self.buf.len() - self.start < want {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
    }

    fn read_until(&mut self, want: usize) -> io::Result<()> {
        if matches!(self.input, Input::Ahead(_)) {
            return self.take_chunks(want);
        }
        let Input::Direct(reader) = &mut self.input else {
            self.eof = true;
            return Ok(());
        };
        while self.end - self.start < want {
            let space = self.buf.get_mut(self.end..).unwrap_or_default();
            match reader.read(space) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => {
                    // A reader returning more than it was given is broken; never trust it.
                    let n = n.min(space.len());
                    self.end += n;
                    self.bytes_read = self.bytes_read.saturating_add(n as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl ReadBuffer {
    /// Chunks from the read-ahead thread until `want` bytes are available. The unconsumed tail
    /// moves into the room in front of the new chunk, which becomes the buffer (no copy of the
    /// chunk itself); a tail too long for the room is gathered by copying instead.
    fn take_chunks(&mut self, want: usize) -> io::Result<()> {
        while self.end - self.start < want {
            let next = match &mut self.input {
                Input::Ahead(ahead) => ahead.next(),
                _ => None,
            };
            let Some(chunk) = next else {
                self.eof = true;
                break;
            };
            let Chunk { mut buf, len } = chunk?;
            self.bytes_read = self.bytes_read.saturating_add(len as u64);
            let tail = self.end - self.start;
            let spent = if tail <= ROOM && want <= tail + len {
                buf[ROOM - tail..ROOM].copy_from_slice(&self.buf[self.start..self.end]);
                self.start = ROOM - tail;
                self.end = ROOM + len;
                std::mem::replace(&mut self.buf, buf)
            } else {
                self.make_room(tail + len);
                self.buf[self.end..self.end + len].copy_from_slice(&buf[ROOM..ROOM + len]);
                self.end += len;
                buf
            };
            if let Input::Ahead(ahead) = &mut self.input {
                ahead.give_back(spent);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most 3 bytes per call, like a slow pipe.
    struct Trickle(Vec<u8>, usize);

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let rest = &self.0[self.1..];
            let n = rest.len().min(3).min(out.len());
            out[..n].copy_from_slice(&rest[..n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn short_reads_are_gathered_and_the_buffer_grows_for_one_large_block() {
        let data: Vec<u8> = (0..=255).collect();
        let mut b = ReadBuffer::new(Box::new(Trickle(data.clone(), 0)), 8);
        assert_eq!(b.fill(5).unwrap(), 5);
        assert_eq!(&b.available()[..5], &data[..5]);
        b.consume(4);
        assert_eq!(b.offset(), 4);
        assert_eq!(b.fill(100).unwrap(), 100);
        assert_eq!(&b.available()[..100], &data[4..104]);
        b.consume(100);
        assert_eq!(b.fill(1000).unwrap(), 152);
        assert_eq!(b.available(), &data[104..]);
        assert_eq!(b.bytes_read(), 256);
        b.consume(152);
        assert_eq!(b.fill(1).unwrap(), 0);
    }

    /// The same bytes whether read directly or ahead, for every way a read can fall across
    /// chunk boundaries: small steps, steps that straddle a chunk, steps larger than the room in
    /// front of a chunk and larger than a chunk.
    #[test]
    fn read_ahead_gives_the_same_bytes_as_reading_directly() {
        use super::super::ahead::{CHUNK, ROOM};
        let data: Vec<u8> = (0..3 * CHUNK + 12_345)
            .map(|i| (i * 7 + i / 251) as u8)
            .collect();
        let steps = [1, 3, 1500, ROOM - 1, ROOM + 7, CHUNK + 3, 64, 9000];
        for slow in [false, true] {
            let reader = |d: Vec<u8>| -> Box<dyn Read + Send> {
                if slow {
                    Box::new(Trickle(d, 0))
                } else {
                    Box::new(std::io::Cursor::new(d))
                }
            };
            let mut direct = ReadBuffer::new(reader(data.clone()), 8);
            let mut ahead = ReadBuffer::new(reader(data.clone()), 8);
            ahead.read_ahead(None);
            assert!(matches!(ahead.input, Input::Ahead(_)), "read by the thread");
            let mut at = 0;
            for i in 0.. {
                let want = steps[i % steps.len()];
                let (a, b) = (direct.fill(want).unwrap(), ahead.fill(want).unwrap());
                assert_eq!(a, b, "step {i} at {at}");
                assert_eq!(&direct.available()[..a], &ahead.available()[..b], "at {at}");
                assert_eq!(ahead.offset(), at as u64);
                if a == 0 {
                    break;
                }
                let n = (want / 2).max(1).min(a);
                direct.consume(n);
                ahead.consume(n);
                at += n;
            }
            assert_eq!(at, data.len());
            assert_eq!(ahead.bytes_read(), data.len() as u64);
        }
    }
}
