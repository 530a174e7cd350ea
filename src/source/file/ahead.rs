//! Read-ahead: a thread reads the next chunk of the input while the current one is parsed, so
//! the kernel's copy of the file (a third of the time on a body-heavy capture) overlaps the
//! analysis instead of adding to it. Chunks are handed over, not copied: each has room in front
//! for the unparsed tail of the previous one (a record cut by the chunk boundary), and spent
//! chunks go back to the thread to be filled again, so three buffers serve the whole input.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

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
}

impl ReadAhead {
    /// Start the thread; the reader comes back when no thread can be had.
    pub(super) fn start(reader: Box<dyn Read + Send>) -> Result<ReadAhead, Box<dyn Read + Send>> {
        let (full_tx, full) = sync_channel(AHEAD);
        let (empty, empty_rx) = sync_channel(AHEAD + 1);
        // The reader goes over only once the thread exists, so a failed start loses nothing.
        let (give, take) = sync_channel::<Box<dyn Read + Send>>(1);
        let spawned = std::thread::Builder::new()
            .name("s3wire-read".into())
            .spawn(move || {
                if let Ok(reader) = take.recv() {
                    fill(reader, &full_tx, &empty_rx);
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
        Ok(ReadAhead { full, empty })
    }

    /// The next chunk; None at the end of the input.
    pub(super) fn next(&mut self) -> Option<io::Result<Chunk>> {
        self.full.recv().ok()
    }

    /// A spent buffer, to be filled again.
    pub(super) fn give_back(&mut self, buf: Vec<u8>) {
        if buf.len() == ROOM + CHUNK {
            let _ = self.empty.try_send(buf);
        }
    }
}

/// The thread: fill each empty buffer to the brim (short reads from pipes are gathered) until
/// the input ends or fails, or the parser hangs up.
fn fill(
    mut reader: Box<dyn Read + Send>,
    full: &SyncSender<io::Result<Chunk>>,
    empty: &Receiver<Vec<u8>>,
) {
    while let Ok(mut buf) = empty.recv() {
        let mut len = 0;
        let mut failed = None;
        while len < CHUNK {
            match reader.read(&mut buf[ROOM + len..]) {
                Ok(0) => break,
                // A reader returning more than it was given is broken; never trust it.
                Ok(n) => len += n.min(CHUNK - len),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let last = len < CHUNK;
        if len > 0 && full.send(Ok(Chunk { buf, len })).is_err() {
            return;
        }
        if let Some(e) = failed {
            let _ = full.send(Err(e));
            return;
        }
        if last {
            return; // end of input: hanging up says so
        }
    }
}
