//! Live capture that never waits for the analysis: a thread of its own drains libpcap's ring into
//! a queue bounded in bytes, and the analysis takes batches from it. A slow moment of the
//! analysis (a burst of TLS to decrypt, a full output pipe) then fills the queue, not the kernel's
//! ring; when even the queue is full, the packets that do not fit are counted as queue drops,
//! apart from the kernel's own.
//!
//! Packets are copied into batches (one buffer per batch, not one per packet) so the lock is
//! taken once per batch, not once per packet.

use super::live::{LiveError, LiveSource};
use super::{Drops, Frame, LinkType};
use crate::time::Timestamp;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A batch is handed over once it holds this many bytes (or when the ring runs dry).
const BATCH_BYTES: usize = 256 << 10;
/// How often the thread reads libpcap's drop counters while packets flow.
const STATS_EVERY: Duration = Duration::from_millis(100);

/// Packets copied out of the ring, in arrival order.
#[derive(Default)]
pub struct Batch {
    data: Vec<u8>,
    frames: Vec<Meta>,
}

struct Meta {
    ts: Timestamp,
    end: usize,
    orig_len: u32,
}

impl Batch {
    /// Appends a copy of `f` (its link type is the capture's, given back by [`Batch::frame`]).
    pub fn push(&mut self, f: &Frame<'_>) {
        self.data.extend_from_slice(f.data);
        self.frames.push(Meta {
            ts: f.ts,
            end: self.data.len(),
            orig_len: f.orig_len,
        });
    }

    /// What this batch counts against the queue's bound.
    pub fn bytes(&self) -> usize {
        self.data.len() + self.frames.len() * std::mem::size_of::<Meta>()
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The `i`th frame, with the link type of the capture.
    pub fn frame(&self, i: usize, link: LinkType) -> Option<Frame<'_>> {
        let m = self.frames.get(i)?;
        let start = i.checked_sub(1).map_or(0, |p| self.frames[p].end);
        Some(Frame {
            ts: m.ts,
            link,
            data: self.data.get(start..m.end)?,
            orig_len: m.orig_len,
        })
    }
}

/// What the capture thread and the analysis share.
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    stop: AtomicBool,
    kernel: AtomicU64,
    interface: AtomicU64,
    overflow: AtomicU64,
}

#[derive(Default)]
struct Queue {
    batches: VecDeque<Batch>,
    bytes: usize,
    /// The thread has ended (stopped, or failed with the error kept in its handle).
    ended: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock cannot leave the queue half-changed (each change is
        // one push or pop), so a poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn drops(&self) -> Drops {
        Drops {
            kernel: self.kernel.load(Ordering::Relaxed),
            interface: self.interface.load(Ordering::Relaxed),
            queue: self.overflow.load(Ordering::Relaxed),
        }
    }
}

/// What [`CaptureThread::recv`] found.
pub enum Received {
    Batch(Batch),
    /// Nothing came within the wait.
    Idle,
    /// The thread has ended and the queue is empty.
    Ended,
}

/// The running capture thread.
pub struct CaptureThread {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<Result<(), LiveError>>>,
    link: LinkType,
}

impl CaptureThread {
    /// Starts draining `source` into a queue of at most `queue_bytes`.
    pub fn start(source: LiveSource, queue_bytes: usize) -> std::io::Result<Self> {
        let link = source.link();
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            stop: AtomicBool::new(false),
            kernel: AtomicU64::new(0),
            interface: AtomicU64::new(0),
            overflow: AtomicU64::new(0),
        });
        let s = shared.clone();
        let handle = std::thread::Builder::new()
            .name("s3wire-capture".into())
            .spawn(move || {
                let r = drain(source, &s, queue_bytes);
                s.lock().ended = true;
                s.ready.notify_all();
                r
            })?;
        Ok(CaptureThread {
            shared,
            handle: Some(handle),
            link,
        })
    }

    pub fn link(&self) -> LinkType {
        self.link
    }

    /// The drops counted so far (the kernel's as of the thread's last look, at most
    /// [`STATS_EVERY`] ago).
    pub fn drops(&self) -> Drops {
        self.shared.drops()
    }

    /// The next batch, waiting at most `wait` for one.
    pub fn recv(&self, wait: Duration) -> Received {
        let mut q = self.shared.lock();
        if q.batches.is_empty() && !q.ended {
            q = self
                .shared
                .ready
                .wait_timeout(q, wait)
                .map_or_else(|e| e.into_inner().0, |(q, _)| q);
        }
        match q.batches.pop_front() {
            Some(b) => {
                q.bytes -= b.bytes();
                Received::Batch(b)
            }
            None if q.ended => Received::Ended,
            None => Received::Idle,
        }
    }

    /// Stops capturing; what was captured stays in the queue for [`CaptureThread::recv`].
    /// Returns the final drop counts, or the error that ended the capture early.
    pub fn stop(&mut self) -> Result<Drops, LiveError> {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            match h.join() {
                Ok(r) => r?,
                Err(_) => {
                    return Err(LiveError::Capture {
                        interface: String::new(),
                        detail: "the capture thread panicked".into(),
                    });
                }
            }
        }
        Ok(self.shared.drops())
    }
}

impl Drop for CaptureThread {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The thread's loop: read until the ring runs dry or a batch is full, hand the batch over,
/// look at libpcap's counters now and then; until told to stop.
fn drain(mut source: LiveSource, s: &Shared, queue_bytes: usize) -> Result<(), LiveError> {
    let mut last_stats = Instant::now();
    while !s.stop.load(Ordering::Relaxed) {
        let room = queue_bytes.saturating_sub(s.lock().bytes);
        let mut batch = Batch::default();
        let mut overflow = 0;
        while batch.data.len() < BATCH_BYTES {
            let read = source.dispatch(&mut |f| {
                if batch.bytes() + f.data.len() + 64 <= room {
                    batch.push(&f);
                } else {
                    overflow += 1;
                }
            })?;
            if read == 0 {
                break;
            }
        }
        if overflow > 0 {
            s.overflow.fetch_add(overflow, Ordering::Relaxed);
        }
        if !batch.is_empty() {
            let mut q = s.lock();
            q.bytes += batch.bytes();
            q.batches.push_back(batch);
            drop(q);
            s.ready.notify_one();
        }
        if last_stats.elapsed() >= STATS_EVERY {
            last_stats = Instant::now();
            read_stats(&mut source, s);
        }
    }
    read_stats(&mut source, s);
    Ok(())
}

fn read_stats(source: &mut LiveSource, s: &Shared) {
    if let Some((kernel, interface)) = source.dropped() {
        s.kernel.store(kernel, Ordering::Relaxed);
        s.interface.store(interface, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ts: i64, data: &[u8]) -> Frame<'_> {
        Frame {
            ts: Timestamp::from_secs_nanos(ts, 0),
            link: LinkType::RAW,
            data,
            orig_len: data.len() as u32 + 1,
        }
    }

    #[test]
    fn a_batch_gives_back_each_frame_as_pushed() {
        let mut b = Batch::default();
        b.push(&frame(1, b"abc"));
        b.push(&frame(2, b""));
        b.push(&frame(3, b"defg"));
        assert_eq!(b.len(), 3);
        let got: Vec<_> = (0..b.len())
            .map(|i| {
                let f = b.frame(i, LinkType::ETHERNET).unwrap();
                (f.ts.0, f.link, f.data.to_vec(), f.orig_len)
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1_000_000_000, LinkType::ETHERNET, b"abc".to_vec(), 4),
                (2_000_000_000, LinkType::ETHERNET, b"".to_vec(), 1),
                (3_000_000_000, LinkType::ETHERNET, b"defg".to_vec(), 5),
            ]
        );
        assert!(b.frame(3, LinkType::ETHERNET).is_none());
    }

    #[test]
    fn drops_name_only_the_causes_that_lost_packets() {
        let d = Drops {
            kernel: 10,
            interface: 0,
            queue: 2,
        };
        assert_eq!(d.phrase(), "12 (kernel 10, queue 2)");
        assert_eq!(Drops::default().phrase(), "0");
    }
}
