//! The pipeline, wired: frames → decode → flow → proto → s3 → typed facts. One pass, streaming:
//! facts wait in the records' outbox until the caller drains them after each frame, so nothing
//! grows with the capture but counters and the bounded connection table.

use super::attribution::{self, Attribution, ConnectionVerdicts};
use super::records::{Fact, Records};
use crate::decode::{self, Skip};
use crate::flow::{FlowLimits, FlowTable, StreamEvent};
use crate::proto::ProtoLimits;
use crate::source::{Frame, LinkType, SourceNote};
use crate::time::Timestamp;
use std::collections::BTreeSet;

/// Bounds for a whole analysis.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub flow: FlowLimits,
    pub proto: ProtoLimits,
}

impl Limits {
    /// The defaults a user gets, for tests and fuzzing that drive the engine directly.
    pub fn default_for_tests() -> Limits {
        Limits {
            flow: FlowLimits::default(),
            proto: ProtoLimits::default(),
        }
    }
}

/// Counters of what came in, before any protocol meaning.
#[derive(Debug, Clone, Default)]
pub struct Intake {
    pub packets: u64,
    pub bytes: u64,
    /// The earliest and latest frame's time: set by [`Engine::finish`] (while frames come, the
    /// engine keeps them as plain bounds).
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    pub link_types: BTreeSet<LinkType>,
    /// The last frame's link type, already in `link_types`: a capture's frames nearly all share
    /// one, and the set's insert was 0.5% of the analysis thread when done for each frame
    /// (dense-50k: 425.4 -> 423.4 M instructions).
    last_link: Option<LinkType>,
    pub non_tcp: u64,
    pub undecodable: u64,
    pub unsupported_links: BTreeSet<LinkType>,
    /// What was not analysed, by kind, and which tunnels were opened.
    pub tally: super::tally::Tally,
    /// Malformed key log lines (file or pcapng block, line number, why).
    pub keylog_warnings: Vec<String>,
    /// Key log sources read (files and pcapng Decryption Secrets Blocks).
    pub keylog_sources: u64,
    pub truncations: Vec<String>,
    /// Damaged records or blocks stepped over, the bytes skipped with them, and what the first
    /// [`DAMAGE_WARNINGS`] were (a badly damaged file must not grow the report without bound).
    pub damaged_records: u64,
    pub skipped_capture_bytes: u64,
    pub damages: Vec<String>,
}

/// How many damaged records are described in warnings; the rest are counted.
pub const DAMAGE_WARNINGS: usize = 20;

/// The earliest and latest frame's time so far, as plain bounds (`first > last` before the
/// first frame): an `Option` each, min and max taken through them, cost ~8 instructions more a
/// frame.
#[derive(Debug, Clone, Copy)]
struct TimeSpan {
    first: i64,
    last: i64,
}

impl Default for TimeSpan {
    fn default() -> Self {
        TimeSpan {
            first: i64::MAX,
            last: i64::MIN,
        }
    }
}

/// Frames in, records out.
pub struct Engine {
    flow: FlowTable,
    records: Records,
    intake: Intake,
    span: TimeSpan,
    since_expire: u32,
    attribution: Option<Attribution>,
}

/// How often (in packets) idle connections are expired by packet time.
const EXPIRE_EVERY: u32 = 4096;

impl Engine {
    pub fn new(limits: Limits, hints: crate::s3::HostHints) -> Self {
        Engine {
            flow: FlowTable::new(limits.flow),
            records: Records::new(limits, hints),
            intake: Intake::default(),
            span: TimeSpan::default(),
            since_expire: 0,
            attribution: None,
        }
    }

    /// One frame in. Inlined into the reading loops: as a call it saved and restored six
    /// registers and stored the frame to load it again (~23 instructions a frame).
    #[inline(always)]
    pub fn frame(&mut self, frame: &Frame<'_>) {
        self.count(frame);
        // Nearly every frame is plain TCP over Ethernet: decoded in place, no tunnel to tally.
        match decode::plain(frame.link, frame.data) {
            Some(seg) => self.segment(&seg, frame.ts),
            None => self.other_frame(frame),
        }
    }

    /// A frame [`decode::plain`] does not read: decoded the general way, its tunnels tallied.
    #[inline(never)]
    fn other_frame(&mut self, frame: &Frame<'_>) {
        let (decoded, tunnels) = decode::decode_tunnelled(frame.link, frame.data);
        self.intake.tally.tunnelled(tunnels);
        match decoded {
            Ok(seg) => self.segment(&seg, frame.ts),
            Err(skip) => self.skipped(skip, frame),
        }
    }

    /// A decoded segment into the flow table; every [`EXPIRE_EVERY`] of them, a tick.
    #[inline(always)]
    fn segment(&mut self, seg: &decode::Segment<'_>, ts: Timestamp) {
        let (records, attr) = (&mut self.records, &mut self.attribution);
        self.flow.ingest(seg, ts, &mut |ev: StreamEvent<'_>| {
            attribution::route(attr, records, ev)
        });
        self.since_expire += 1;
        if self.since_expire >= EXPIRE_EVERY {
            self.tick(ts);
        }
    }

    /// Expire idle connections and unanswered SYNs as of `now` (live capture calls this on a
    /// timer too, so a slow trickle of packets still frees memory and reports attempts).
    pub fn tick(&mut self, now: Timestamp) {
        self.since_expire = 0;
        let (records, attr) = (&mut self.records, &mut self.attribution);
        self.flow
            .expire(now, &mut |ev| attribution::route(attr, records, ev));
    }

    /// Live capture: name each connection's local process, and drop the connections `lookup`
    /// rejects before they reach the records (see `attribution`).
    pub fn set_process_lookup(&mut self, lookup: ConnectionVerdicts) {
        self.attribution = Some(Attribution::new(lookup));
    }

    /// Packets read and requests completed so far (for progress).
    pub fn counts(&self) -> (u64, u64) {
        (self.intake.packets, self.records.requests_seen)
    }

    /// Connections and attempts the process lookup left out.
    pub fn not_attributed(&self) -> (u64, u64) {
        self.attribution
            .as_ref()
            .map_or((0, 0), |a| (a.skipped_connections, a.skipped_attempts))
    }

    /// Add NSS key log text (RFC 9850) for TLS decryption; connections already open see it too.
    /// Malformed lines are reported in `quality.warnings` with `origin` and their line number.
    pub fn add_keylog(&mut self, text: &str, origin: &str) {
        self.intake.keylog_sources += 1;
        for e in self.records.keylog().add(text, 1) {
            self.intake
                .keylog_warnings
                .push(format!("{origin} line {}: {}", e.line, e.kind));
        }
    }

    pub fn note(&mut self, note: SourceNote) {
        match note {
            SourceNote::KeyLog(k) => {
                let origin = format!(
                    "pcapng Decryption Secrets Block #{}",
                    self.intake.keylog_sources + 1
                );
                self.add_keylog(&String::from_utf8_lossy(&k), &origin);
            }
            SourceNote::Truncated { detail } => self.intake.truncations.push(detail),
            SourceNote::Damaged { detail, skipped } => {
                let i = &mut self.intake;
                i.damaged_records += 1;
                i.skipped_capture_bytes = i.skipped_capture_bytes.saturating_add(skipped);
                if i.damages.len() < DAMAGE_WARNINGS {
                    i.damages.push(detail);
                }
            }
        }
    }

    /// End of input: close every connection (drain the facts that gives), then hand back the
    /// counters with [`Engine::finish`].
    pub fn close_all(&mut self) {
        while self.close_some(usize::MAX) {}
    }

    /// Close at most `n` of the connections still open; true while some remain. Drain the
    /// facts between calls: they are then never more than one batch's.
    pub fn close_some(&mut self, n: usize) -> bool {
        let now = self.last_frame().unwrap_or_default();
        let (records, attr) = (&mut self.records, &mut self.attribution);
        self.flow
            .finish_some(now, n, &mut |ev| attribution::route(attr, records, ev))
    }

    /// Everything counted, once every fact has been drained.
    pub fn finish(mut self) -> (Intake, crate::flow::FlowStats, Records) {
        let seen = self.intake.packets > 0;
        self.intake.first = seen.then_some(Timestamp(self.span.first));
        self.intake.last = self.last_frame();
        (self.intake, self.flow.stats(), self.records)
    }

    /// The latest frame's time, once there was one.
    fn last_frame(&self) -> Option<Timestamp> {
        (self.intake.packets > 0).then_some(Timestamp(self.span.last))
    }

    /// See [`Records::classify_on_writer`].
    pub fn classify_on_writer(&mut self) {
        self.records.classify_on_writer();
    }

    /// `--write-sanitized`: keep what the sanitizer needs too (see [`Engine::drain_wire`]).
    pub fn keep_wire(&mut self) {
        self.records.keep_wire();
    }

    /// The sanitizer's events since the last call; drained with the facts.
    pub fn drain_wire(&mut self) -> impl Iterator<Item = crate::sanitize::Wire> + '_ {
        self.records.drain_wire()
    }

    /// The facts completed since the last call, in completion order (requests are classified
    /// here, in that order: `app::records`). Call every few frames, before [`Engine::waiting`]
    /// grows large, and after `tick` and `close_all`: they are not kept once drained.
    pub fn drain(&mut self) -> impl Iterator<Item = Fact> + '_ {
        self.records.drain()
    }

    /// See [`Records::waiting`].
    pub fn waiting(&self) -> usize {
        self.records.waiting()
    }

    fn count(&mut self, frame: &Frame<'_>) {
        let i = &mut self.intake;
        i.packets += 1;
        i.bytes += frame.data.len() as u64;
        self.span.first = self.span.first.min(frame.ts.0);
        self.span.last = self.span.last.max(frame.ts.0);
        if i.last_link != Some(frame.link) {
            i.link_types.insert(frame.link);
            i.last_link = Some(frame.link);
        }
    }

    fn skipped(&mut self, skip: Skip, frame: &Frame<'_>) {
        let link = frame.link;
        self.intake
            .tally
            .skipped(skip, link, frame.data.len() as u64);
        match skip {
            Skip::NotIp(_) | Skip::NotTcp(_) => self.intake.non_tcp += 1,
            Skip::UnsupportedLink => {
                self.intake.undecodable += 1;
                self.intake.unsupported_links.insert(link);
            }
            Skip::Fragment | Skip::Malformed | Skip::TooDeep => self.intake.undecodable += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every link type the frames came with is listed once, however they alternate, though the
    /// set is only written when a frame's type differs from the one before.
    #[test]
    fn every_link_type_is_listed_once() {
        let mut engine = Engine::new(Limits::default_for_tests(), crate::s3::HostHints::default());
        let links = [
            LinkType::ETHERNET,
            LinkType::ETHERNET,
            LinkType::LINUX_SLL2,
            LinkType::ETHERNET,
            LinkType::RAW,
            LinkType::RAW,
            LinkType::LINUX_SLL2,
        ];
        for (i, link) in links.into_iter().enumerate() {
            engine.frame(&Frame {
                ts: Timestamp(i as i64),
                link,
                data: &[],
                orig_len: 0,
            });
        }
        let (intake, _, _) = engine.finish();
        assert_eq!(
            (intake.first, intake.last),
            (Some(Timestamp(0)), Some(Timestamp(6)))
        );
        let listed: Vec<_> = intake.link_types.into_iter().collect();
        assert_eq!(
            listed,
            [LinkType::ETHERNET, LinkType::RAW, LinkType::LINUX_SLL2]
        );
        assert_eq!(intake.packets, 7);
    }

    /// The capture's first and last time are the earliest and latest frame's, whatever their
    /// order and however extreme (the bounds' starting values are times too); none without a
    /// frame.
    #[test]
    fn first_and_last_are_the_extreme_frame_times() {
        let times = |ts: &[i64]| {
            let mut engine =
                Engine::new(Limits::default_for_tests(), crate::s3::HostHints::default());
            for &t in ts {
                engine.frame(&Frame {
                    ts: Timestamp(t),
                    link: LinkType::ETHERNET,
                    data: &[],
                    orig_len: 0,
                });
            }
            let (intake, _, _) = engine.finish();
            (intake.first.map(|t| t.0), intake.last.map(|t| t.0))
        };
        assert_eq!(times(&[]), (None, None));
        assert_eq!(times(&[5, 3, 9, 4]), (Some(3), Some(9)));
        assert_eq!(times(&[i64::MAX]), (Some(i64::MAX), Some(i64::MAX)));
        assert_eq!(times(&[i64::MIN, 0]), (Some(i64::MIN), Some(0)));
    }
}
