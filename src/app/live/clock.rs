//! The live loop's clock, an argument so that `--duration`, draining and the key-log delay are
//! tested without waiting: the system's in use, a test's that moves only when told.

use crate::time::Timestamp;
use std::time::Instant;

pub trait Clock {
    /// Monotonic time, for the loop's own timers (ticks, `--duration`, draining, delays).
    fn now(&self) -> Instant;
    /// Wall-clock time, on the capture's timeline (live frames are stamped with it): what idle
    /// connections expire by and requests wait against before they are judged.
    fn wall(&self) -> Timestamp;
}

/// The system's clocks.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp::from_secs_nanos(
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        )
    }
}
