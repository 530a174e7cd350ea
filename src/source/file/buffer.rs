//! A bounded window over a byte stream, so any reader (a file, a pipe from `tcpdump -w -`) is read
//! in large chunks while memory stays flat however long the capture is.

use std::io::{self, Read};

/// Bytes `buf[start..end]` have been read and not yet consumed; `buf[start]` sits at file offset
/// `offset`.
pub(super) struct ReadBuffer {
    reader: Box<dyn Read>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    offset: u64,
    bytes_read: u64,
}

impl ReadBuffer {
    pub(super) fn new(reader: Box<dyn Read>, capacity: usize) -> Self {
        ReadBuffer {
            reader,
            buf: vec![0; capacity],
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
            bytes_read: 0,
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
        while self.end - self.start < want {
            let space = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.reader.read(space) {
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
}
