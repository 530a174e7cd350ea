//! The key-log delay, as a frame source around another: batches are held on arrival and handed
//! on [`KEY_DELAY`] later, so the secrets that open a TLS session reach the key log before its
//! records are read. The live loop reads it like any source and never knows it is there; the
//! clock is an argument, so the delay is tested without waiting.

use super::clock::Clock;
use super::frames::LiveFrames;
use crate::source::capture_thread::{Batch, Received};
use crate::source::live::LiveError;
use crate::source::{Drops, LinkType};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How long frames wait for the key log when one is followed. A TLS 1.3 server sends its
/// encrypted handshake before the client has even read the ServerHello and written the secrets
/// that open it; a short delay lets every secret reach the key log before its records are read.
pub const KEY_DELAY: Duration = Duration::from_millis(250);
/// Bytes held at most while waiting (a burst beyond it is handed on at once): memory stays flat.
const MAX_DELAYED_BYTES: usize = 64 << 20;

/// `inner`'s batches, each handed on [`KEY_DELAY`] after it arrived.
pub struct KeyDelay<S> {
    inner: S,
    clock: Rc<dyn Clock>,
    /// Batches waiting, with when each arrived, oldest first.
    held: VecDeque<(Instant, Batch)>,
    bytes: usize,
    /// Stopped, or `inner` ended: nothing more is worth waiting for, all is handed on at once.
    flushing: bool,
    /// `inner` said [`Received::Ended`].
    ended: bool,
}

impl<S: LiveFrames> KeyDelay<S> {
    pub fn new(inner: S, clock: Rc<dyn Clock>) -> Self {
        KeyDelay {
            inner,
            clock,
            held: VecDeque::new(),
            bytes: 0,
            flushing: false,
            ended: false,
        }
    }

    /// When the oldest batch is due (now, when too much is held or all is being handed on).
    fn due_at(&self) -> Option<Instant> {
        let (arrived, _) = self.held.front()?;
        match self.flushing || self.bytes > MAX_DELAYED_BYTES {
            true => Some(*arrived),
            false => Some(*arrived + KEY_DELAY),
        }
    }

    /// The oldest batch, if it is due.
    fn pop_due(&mut self) -> Option<Batch> {
        if self.due_at()? > self.clock.now() {
            return None;
        }
        let (_, b) = self.held.pop_front()?;
        self.bytes -= b.bytes();
        Some(b)
    }
}

impl<S: LiveFrames> LiveFrames for KeyDelay<S> {
    /// A due batch at once; else waits on `inner` no longer than until the oldest held batch
    /// falls due.
    fn recv(&mut self, wait: Duration) -> Received {
        if let Some(b) = self.pop_due() {
            return Received::Batch(b);
        }
        if !self.ended {
            let left = self.due_at().map_or(wait, |at| {
                wait.min(at.saturating_duration_since(self.clock.now()))
            });
            match self.inner.recv(left) {
                Received::Batch(b) => {
                    self.bytes += b.bytes();
                    self.held.push_back((self.clock.now(), b));
                }
                Received::Idle => {}
                Received::Ended => (self.ended, self.flushing) = (true, true),
            }
        }
        match self.pop_due() {
            Some(b) => Received::Batch(b),
            None if self.ended && self.held.is_empty() => Received::Ended,
            None => Received::Idle,
        }
    }

    fn link(&self) -> LinkType {
        self.inner.link()
    }

    fn drops(&self) -> Drops {
        self.inner.drops()
    }

    /// What is held is handed on without waiting from now on: the capture is over, and the
    /// caller reads the key log one last time before it takes them.
    fn stop(&mut self) -> Result<Drops, LiveError> {
        self.flushing = true;
        self.inner.stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Frame;
    use crate::time::Timestamp;
    use std::cell::{Cell, RefCell};

    /// A clock that moves only when the fake source waits.
    struct FakeClock(Cell<Instant>);

    impl Clock for FakeClock {
        fn now(&self) -> Instant {
            self.0.get()
        }
        fn wall(&self) -> Timestamp {
            Timestamp::ZERO
        }
    }

    /// What the fake inner source does on each `recv`, in order.
    enum Step {
        /// A batch of these frames, at once.
        Frames(Vec<&'static [u8]>),
        /// Nothing: the whole wait passes.
        Nothing,
    }

    struct Fake {
        clock: Rc<FakeClock>,
        script: VecDeque<Step>,
        /// The waits asked for.
        waits: Rc<RefCell<Vec<Duration>>>,
        stopped: bool,
    }

    impl LiveFrames for Fake {
        fn recv(&mut self, wait: Duration) -> Received {
            self.waits.borrow_mut().push(wait);
            match self.script.pop_front() {
                Some(Step::Frames(f)) => Received::Batch(batch(&f)),
                Some(Step::Nothing) | None if !self.stopped => {
                    self.clock.0.set(self.clock.0.get() + wait);
                    Received::Idle
                }
                _ => Received::Ended,
            }
        }
        fn link(&self) -> LinkType {
            LinkType::RAW
        }
        fn drops(&self) -> Drops {
            Drops {
                kernel: 3,
                ..Drops::default()
            }
        }
        fn stop(&mut self) -> Result<Drops, LiveError> {
            self.stopped = true;
            Ok(self.drops())
        }
    }

    fn batch(frames: &[&[u8]]) -> Batch {
        let mut b = Batch::default();
        for data in frames {
            b.push(&Frame {
                ts: Timestamp::from_secs_nanos(5, 0),
                link: LinkType::RAW,
                data,
                orig_len: 100,
            });
        }
        b
    }

    type Waits = Rc<RefCell<Vec<Duration>>>;

    fn delayed(script: Vec<Step>) -> (KeyDelay<Fake>, Rc<FakeClock>, Waits) {
        let clock = Rc::new(FakeClock(Cell::new(Instant::now())));
        let waits = Waits::default();
        let fake = Fake {
            clock: clock.clone(),
            script: script.into(),
            waits: waits.clone(),
            stopped: false,
        };
        (KeyDelay::new(fake, clock.clone()), clock, waits)
    }

    /// The frames of what `recv` gave, or None when it gave no batch.
    fn got(r: Received) -> Option<Vec<Vec<u8>>> {
        match r {
            Received::Batch(b) => Some(
                (0..b.len())
                    .map(|i| b.frame(i, LinkType::RAW).unwrap().data.to_vec())
                    .collect(),
            ),
            Received::Idle | Received::Ended => None,
        }
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn batches_wait_the_key_delay_in_order_and_no_wait_outlasts_it() {
        let (mut d, clock, waits) = delayed(vec![
            Step::Frames(vec![b"first", b"second"]),
            Step::Nothing,
            Step::Frames(vec![b"third"]),
        ]);
        let t0 = clock.now();
        assert_eq!(got(d.recv(200 * MS)), None, "held on arrival");
        assert_eq!(got(d.recv(200 * MS)), None, "100 ms is not enough");
        assert_eq!(clock.now() - t0, 200 * MS);
        // The third arrives at 200 ms; then the wait is cut to the first's 50 ms left.
        assert_eq!(got(d.recv(200 * MS)), None);
        assert_eq!(
            got(d.recv(200 * MS)),
            Some(vec![b"first".to_vec(), b"second".to_vec()])
        );
        assert_eq!(clock.now() - t0, KEY_DELAY);
        assert_eq!(*waits.borrow(), vec![200 * MS, 200 * MS, 50 * MS, 50 * MS]);
        // The third came 200 ms after the first: the next wait ends when it falls due.
        assert_eq!(got(d.recv(200 * MS)), Some(vec![b"third".to_vec()]));
        assert_eq!(clock.now() - t0, 200 * MS + KEY_DELAY);
        assert!(matches!(d.recv(200 * MS), Received::Idle));
    }

    #[test]
    fn too_many_bytes_held_are_handed_on_at_once() {
        let big: &'static [u8] = Vec::leak(vec![0u8; MAX_DELAYED_BYTES / 2 + 1]);
        let (mut d, _, _) = delayed(vec![Step::Frames(vec![big]), Step::Frames(vec![big, b"x"])]);
        assert_eq!(got(d.recv(200 * MS)), None);
        assert_eq!(
            got(d.recv(200 * MS)).map(|f| f.len()),
            Some(1),
            "over the bound"
        );
        assert_eq!(got(d.recv(Duration::ZERO)), None, "back under it");
    }

    #[test]
    fn once_stopped_all_is_handed_on_in_order_then_the_end() {
        let (mut d, clock, _) = delayed(vec![
            Step::Frames(vec![b"a"]),
            Step::Frames(vec![b"b"]),
            Step::Frames(vec![b"c"]),
        ]);
        let t0 = clock.now();
        assert_eq!(got(d.recv(200 * MS)), None);
        assert_eq!(got(d.recv(200 * MS)), None);
        assert_eq!(d.stop().unwrap().kernel, 3, "the inner source's drops");
        assert_eq!(d.drops().kernel, 3);
        assert_eq!(d.link(), LinkType::RAW);
        let rest: Vec<_> = (0..3).filter_map(|_| got(d.recv(Duration::ZERO))).collect();
        assert_eq!(
            rest,
            vec![
                vec![b"a".to_vec()],
                vec![b"b".to_vec()],
                vec![b"c".to_vec()]
            ]
        );
        assert!(matches!(d.recv(Duration::ZERO), Received::Ended));
        assert_eq!(clock.now(), t0, "without waiting");
    }
}
