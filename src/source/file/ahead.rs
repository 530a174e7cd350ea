//! Read-ahead: a thread reads the next chunk of the input while the current one is parsed, so
//! the kernel's copy of the file (a third of the time on a body-heavy capture) overlaps the
//! analysis instead of adding to it. Chunks are handed over, not copied: each has room in front
//! for the unparsed tail of the previous one (a record cut by the chunk boundary), and spent
//! chunks go back to the thread to be filled again, so three buffers serve the whole input.
//!
//! A *followed* input (a pipe from `tcpdump -w -` that may stay open and quiet for hours) is read
//! the same way, except that each read is handed over at once instead of being gathered into a
//! full chunk, and the parser waits for the next one only so long: then it hears [`Idle`], so
//! the caller can flush what it holds and notice Ctrl-C, and asks again.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

/// Bytes read per chunk.
pub(super) const CHUNK: usize = 1 << 20;
/// Room in front of each chunk for the previous chunk's unparsed tail. A tail longer than this
/// (a record over 256 KiB) is rare and takes the copying path.
pub(super) const ROOM: usize = 256 << 10;
/// Chunks in flight besides the one being parsed.
const AHEAD: usize = 2;

/// A filled chunk: `buf[ROOM..ROOM + len]` holds input bytes.
pub(super) struct Chunk {
    pub buf: Vec<u8>,
    pub len: usize,
}

pub(super) struct ReadAhead {
    full: Receiver<io::Result<Chunk>>,
    empty: SyncSender<Vec<u8>>,
    /// Following: how long [`ReadAhead::next`] waits before it says [`Idle`].
    idle: Option<Duration>,
    /// The input was cut: what was read is still handed over, then the input ends.
    cut: bool,
}

/// The error [`ReadAhead::next`] gives when a followed input brought nothing for a while: not a
/// failure, the input is still open (its kind is `WouldBlock`, as for a non-blocking read).
#[derive(Debug)]
pub(super) struct Idle;

impl std::fmt::Display for Idle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no input for a while")
    }
}

impl std::error::Error for Idle {}

impl Idle {
    pub(super) fn is(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<Idle>())
    }
}

impl ReadAhead {
    /// Start the thread; the reader comes back when no thread can be had. With `idle`, the
    /// input is followed: each read is handed over as it comes, and [`ReadAhead::next`] waits
    /// at most `idle` for one.
    pub(super) fn start(
        reader: Box<dyn Read + Send>,
        idle: Option<Duration>,
    ) -> Result<ReadAhead, Box<dyn Read + Send>> {
        let (full_tx, full) = sync_channel(AHEAD);
        let (empty, empty_rx) = sync_channel(AHEAD + 1);
        // The reader goes over only once the thread exists, so a failed start loses nothing.
        let (give, take) = sync_channel::<Box<dyn Read + Send>>(1);
        let spawned = std::thread::Builder::new()
            .name("s3wire-read".into())
            .spawn(move || {
                if let Ok(reader) = take.recv() {
                    fill(reader, &full_tx, &empty_rx, idle.is_some());
                }
            });
        if spawned.is_err() {
            return Err(reader);
        }
        if let Err(e) = give.send(reader) {
            return Err(e.0);
        }
        for _ in 0..AHEAD + 1 {
            // Cannot fail: the channel has room for every buffer.
            let _ = empty.try_send(vec![0; ROOM + CHUNK]);
        }
        Ok(ReadAhead {
            full,
            empty,
            idle,
            cut: false,
        })
    }

    /// The next chunk; None at the end of the input. Following, an [`Idle`] error when none came
    /// in time; once cut, only what was already read.
    pub(super) fn next(&mut self) -> Option<io::Result<Chunk>> {
        if self.cut {
            return self.full.try_recv().ok();
        }
        let Some(wait) = self.idle else {
            return self.full.recv().ok();
        };
        match self.full.recv_timeout(wait) {
            Ok(chunk) => Some(chunk),
            Err(RecvTimeoutError::Timeout) => {
                Some(Err(io::Error::new(io::ErrorKind::WouldBlock, Idle)))
            }
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// End the input here: chunks already read are still handed over, then it ends. The
    /// thread may stay blocked in its read; it ends when that read returns, or with the process.
    pub(super) fn cut(&mut self) {
        self.cut = true;
    }

    /// A spent buffer, to be filled again.
    pub(super) fn give_back(&mut self, buf: Vec<u8>) {
        if buf.len() == ROOM + CHUNK {
            let _ = self.empty.try_send(buf);
        }
    }
}

/// The thread: fill each empty buffer to the brim (short reads from pipes are gathered; when
/// `follow`ing, each read is handed over as it comes, so a quiet pipe's last packets are not
/// held back) until the input ends or fails, or the parser hangs up.
fn fill(
    mut reader: Box<dyn Read + Send>,
    full: &SyncSender<io::Result<Chunk>>,
    empty: &Receiver<Vec<u8>>,
    follow: bool,
) {
    while let Ok(mut buf) = empty.recv() {
        let mut len = 0;
        let mut failed = None;
        let mut ended = false;
        while len < CHUNK {
            match reader.read(&mut buf[ROOM + len..]) {
                Ok(0) => {
                    ended = true;
                    break;
                }
                // A reader returning more than it was given is broken; never trust it.
                Ok(n) => {
                    len += n.min(CHUNK - len);
                    if follow {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if len > 0 && full.send(Ok(Chunk { buf, len })).is_err() {
            return;
        }
        if let Some(e) = failed {
            let _ = full.send(Err(e));
            return;
        }
        if ended {
            return; // end of input: hanging up says so
        }
    }
}
