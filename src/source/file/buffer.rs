//! A bounded window over a byte stream, so any reader (a file, a pipe from `tcpdump -w -`) is read
//! in large chunks while memory stays flat however long the capture is.

use super::ahead::{Chunk, ROOM, ReadAhead};
use std::io::{self, Read};
use std::time::Duration;

/// Where bytes come from: the reader itself, or a read-ahead thread that owns it.
enum Input {
    Direct(Box<dyn Read + Send>),
    Ahead(ReadAhead),
    /// Only while switching.
    Gone,
}

/// Bytes `buf[start..end]` have been read and not yet consumed; `buf[start]` sits at file offset
/// `offset`.
pub(super) struct ReadBuffer {
    input: Input,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    offset: u64,
    bytes_read: u64,
}

impl ReadBuffer {
    pub(super) fn new(reader: Box<dyn Read + Send>, capacity: usize) -> Self {
        ReadBuffer {
            input: Input::Direct(reader),
            buf: vec![0; capacity],
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
            bytes_read: 0,
        }
    }

    /// From now on, read ahead on a thread of its own (no change when none can be had). With
    /// `idle`, follow the input (see [`ReadAhead::start`]): a fill that waited that long for
    /// bytes fails with [`super::ahead::Idle`], keeping what it had, and can be asked again.
    pub(super) fn read_ahead(&mut self, idle: Option<Duration>) {
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
        match &mut self.input {
            Input::Ahead(ahead) => ahead.cut(),
            _ => self.eof = true,
        }
    }

    /// The bytes read and not yet consumed.
    pub(super) fn available(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// File offset of the first available byte.
    pub(super) fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes taken from the reader so far.
    pub(super) fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Make at least `want` bytes available, unless the input ends first; returns how many are
    /// available, capped at `want`. The caller bounds `want` (the largest block it accepts): the
    /// buffer grows to hold one such block and is never larger.
    pub(super) fn fill(&mut self, want: usize) -> io::Result<usize> {
        if self.end - self.start < want && !self.eof {
            self.make_room(want);
            self.read_until(want)?;
        }
        Ok((self.end - self.start).min(want))
    }

    /// Consume `n` available bytes (at most what is available).
    pub(super) fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset = self.offset.saturating_add(n as u64);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
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
