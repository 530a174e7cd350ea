//! Capture time. Every stateful stage takes the packet's timestamp as an input (never the wall
//! clock), so replaying a file behaves exactly like the live capture that wrote it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

/// Nanoseconds since the Unix epoch, as recorded in the capture (pcap µs/ns, pcapng any
/// `if_tsresol` are all converted here without loss for the common resolutions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp(0);

    pub fn from_secs_nanos(secs: i64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(i64::from(nanos)),
        )
    }

    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(1_000_000_000) as u32
    }

    /// Signed difference in nanoseconds (`self - earlier`).
    pub fn since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.secs(), self.subsec_nanos()).unwrap_or_default()
    }

    /// RFC 3339, UTC, microseconds: the one time format of every report.
    pub fn rfc3339(self) -> String {
        self.to_datetime()
            .to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rfc3339_micros_utc() {
        let t = Timestamp::from_secs_nanos(1_767_225_600, 123_456_789);
        assert_eq!(t.rfc3339(), "2026-01-01T00:00:00.123456Z");
    }

    #[test]
    fn negative_times_split_correctly() {
        let t = Timestamp(-1);
        assert_eq!((t.secs(), t.subsec_nanos()), (-1, 999_999_999));
    }
}
