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
        let mut buf = [0u8; RFC3339_LEN];
        match self.rfc3339_into(&mut buf) {
            Some(text) => text.to_string(),
            // Years outside 0000–9999 (a corrupt capture): chrono writes them with a sign.
            None => self
                .to_datetime()
                .to_rfc3339_opts(SecondsFormat::Micros, true),
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` into `buf` without allocating (every report row has one
    /// or two); None for years outside 0000–9999.
    pub fn rfc3339_into(self, buf: &mut [u8; RFC3339_LEN]) -> Option<&str> {
        self.rfc3339_ascii(buf)
            .and_then(|text| std::str::from_utf8(text).ok())
    }

    /// [`Timestamp::rfc3339_into`] as the ASCII bytes it is, for a writer of bytes: the UTF-8
    /// check of a text known to be digits and `-:.TZ` was a twentieth of the JSON writer's time.
    pub fn rfc3339_ascii(self, buf: &mut [u8; RFC3339_LEN]) -> Option<&[u8]> {
        let secs = self.secs();
        let micros = self.subsec_nanos() / 1000;
        // The rows of a second share its date and time: only the microseconds are new.
        let same_second = LAST_SECOND.with(|last| {
            let (at, text) = last.get();
            (at == Some(secs)).then_some(text)
        });
        if let Some(text) = same_second {
            buf[..SECOND_LEN].copy_from_slice(&text);
            buf[SECOND_LEN..].copy_from_slice(b".000000Z");
            put_micros(buf, micros);
            return Some(buf);
        }
        let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            return None;
        }
        let (y, sod) = (y as u32, sod as u32);
        buf.copy_from_slice(b"0000-00-00T00:00:00.000000Z");
        // Two digits at a time from a table: three timestamps per report row.
        for (at, v) in [
            (0, y / 100),
            (2, y % 100),
            (5, m),
            (8, d),
            (11, sod / 3600),
            (14, sod / 60 % 60),
            (17, sod % 60),
        ] {
            let i = (v % 100) as usize * 2;
            buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
        }
        put_micros(buf, micros);
        let mut second = [0; SECOND_LEN];
        second.copy_from_slice(&buf[..SECOND_LEN]);
        LAST_SECOND.with(|last| last.set((Some(secs), second)));
        Some(buf)
    }
}

/// `YYYY-MM-DDTHH:MM:SS`: the part of a time its second decides.
const SECOND_LEN: usize = 19;

thread_local! {
    /// The last second written and its text (every report row has one or two times, and a
    /// capture's rows come second after second: the date was most of the work).
    static LAST_SECOND: std::cell::Cell<(Option<i64>, [u8; SECOND_LEN])> =
        const { std::cell::Cell::new((None, [0; SECOND_LEN])) };
}

/// The six digits of the microseconds, after `YYYY-MM-DDTHH:MM:SS.`.
fn put_micros(buf: &mut [u8; RFC3339_LEN], micros: u32) {
    for (at, v) in [
        (20, micros / 10_000),
        (22, micros / 100 % 100),
        (24, micros % 100),
    ] {
        let i = (v % 100) as usize * 2;
        buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
    }
}

/// "00" to "99", back to back.
const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Length of [`Timestamp::rfc3339_into`]'s text.
pub const RFC3339_LEN: usize = 27;

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`, exact for every i64 day count that fits).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; RFC3339_LEN];
        match self.rfc3339_into(&mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.serialize_str(&self.rfc3339()),
        }
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
    fn fast_rendering_agrees_with_chrono_everywhere() {
        let chrono = |t: Timestamp| t.to_datetime().to_rfc3339_opts(SecondsFormat::Micros, true);
        // The whole range of i64 nanoseconds (1677–2262), a week and change at a time so that
        // every weekday, hour and leap day comes round.
        let mut t = i64::MIN;
        while let Some(next) = t.checked_add(86_399_999_999_937 * 7 + 123_456_789) {
            assert_eq!(Timestamp(t).rfc3339(), chrono(Timestamp(t)), "{t}");
            // The same second again (its text remembered): its first and last microsecond.
            let second = t.saturating_sub(t.rem_euclid(1_000_000_000));
            for u in [second, second.saturating_add(999_999_999), t] {
                assert_eq!(Timestamp(u).rfc3339(), chrono(Timestamp(u)), "{u}");
            }
            t = next;
        }
        for t in [0, -1, 951_782_400_000_000_000, i64::MAX] {
            assert_eq!(Timestamp(t).rfc3339(), chrono(Timestamp(t)), "{t}");
        }
    }

    #[test]
    fn negative_times_split_correctly() {
        let t = Timestamp(-1);
        assert_eq!((t.secs(), t.subsec_nanos()), (-1, 999_999_999));
    }
}
