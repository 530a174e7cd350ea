//! The key-log delay: frames copied on arrival and released [`KEY_DELAY`] later, so the
//! secrets that open a TLS session reach the key log before its records are read. The clock is
//! an argument, so the delay is tested without waiting.

use crate::source::{Frame, LinkType};
use crate::time::Timestamp;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long frames wait for the key log when one is followed. A TLS 1.3 server sends its
/// encrypted handshake before the client has even read the ServerHello and written the secrets
/// that open it; a short delay lets every secret reach the key log before its records are read.
pub const KEY_DELAY: Duration = Duration::from_millis(250);
/// Bytes held at most while waiting (a burst beyond it is processed at once): memory stays flat.
const MAX_DELAYED_BYTES: usize = 64 << 20;

/// Frames copied on arrival, waiting [`KEY_DELAY`].
#[derive(Default)]
pub struct Delay {
    frames: VecDeque<Held>,
    bytes: usize,
}

pub struct Held {
    arrived: Instant,
    ts: Timestamp,
    link: LinkType,
    data: Vec<u8>,
    orig_len: u32,
}

impl Held {
    pub fn frame(&self) -> Frame<'_> {
        Frame {
            ts: self.ts,
            link: self.link,
            data: &self.data,
            orig_len: self.orig_len,
        }
    }
}

impl Delay {
    /// Holds a copy of `f`, which arrived at `now`.
    pub fn push(&mut self, f: &Frame<'_>, now: Instant) {
        self.bytes += f.data.len();
        self.frames.push_back(Held {
            arrived: now,
            ts: f.ts,
            link: f.link,
            data: f.data.to_vec(),
            orig_len: f.orig_len,
        });
    }

    /// Whether the oldest frame has waited long enough at `now` (or too much is held).
    pub fn due(&self, now: Instant) -> bool {
        self.bytes > MAX_DELAYED_BYTES
            || self
                .frames
                .front()
                .is_some_and(|h| now.saturating_duration_since(h.arrived) >= KEY_DELAY)
    }

    /// The oldest frame if it is due (or if `all`).
    pub fn pop(&mut self, all: bool, now: Instant) -> Option<Held> {
        if !all && !self.due(now) {
            return None;
        }
        let h = self.frames.pop_front()?;
        self.bytes -= h.data.len();
        Some(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: &[u8]) -> Frame<'_> {
        Frame {
            ts: Timestamp::from_secs_nanos(5, 0),
            link: LinkType::RAW,
            data,
            orig_len: 100,
        }
    }

    #[test]
    fn frames_wait_the_key_delay_in_order_unless_all_are_asked_for() {
        let t0 = Instant::now();
        let mut d = Delay::default();
        d.push(&frame(b"first"), t0);
        d.push(&frame(b"second"), t0 + Duration::from_millis(100));
        let almost = t0 + KEY_DELAY - Duration::from_millis(1);
        assert!(!d.due(almost));
        assert!(d.pop(false, almost).is_none());
        let later = t0 + KEY_DELAY;
        let first = d.pop(false, later).unwrap();
        assert_eq!(first.frame().data, b"first");
        assert_eq!(first.frame().orig_len, 100);
        assert!(
            d.pop(false, later).is_none(),
            "the second arrived 100 ms later"
        );
        assert_eq!(d.pop(true, later).unwrap().frame().data, b"second");
        assert!(d.pop(true, later).is_none());
    }

    #[test]
    fn too_many_bytes_held_release_at_once() {
        let t0 = Instant::now();
        let mut d = Delay::default();
        let big = vec![0u8; MAX_DELAYED_BYTES / 2 + 1];
        d.push(&frame(&big), t0);
        assert!(!d.due(t0));
        d.push(&frame(&big), t0);
        assert!(d.due(t0), "over the bound: released without waiting");
        assert!(d.pop(false, t0).is_some());
        assert!(!d.due(t0), "back under it");
    }
}
