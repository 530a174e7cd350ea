//! `analyze`: capture files and standard input → one analysis → the report.
//!
//! A regular file is read as fast as it goes. Any other input (a pipe from `ssh host 'tcpdump
//! -U -w -'`, a FIFO, a socket) may stay open and quiet for hours, so it is *followed* the way
//! `capture` follows an interface: read on a thread of its own and waited for with a timeout;
//! requests are shown as they complete (a line each on a terminal, as in `capture`; JSON Lines
//! records as they are judged); when no bytes come for a moment, or at least every [`TICK`]
//! while they do, what is due is judged and the output flushed.
//!
//! Ctrl-C ends the input, not the report: a followed input is cut at what was read (whole
//! records are analysed, a record cut in two is reported as a truncation), a file is left where
//! the reading was, and the report of everything read follows, with a warning saying the input
//! was cut short. A second Ctrl-C quits at once (see [`Interrupt`]).

use super::Outcome;
use super::analysis::{self, Analysis};
use super::error::{Error, Result};
use super::interrupt::Interrupt;
use super::print::Printer;
use super::progress::Progress;
use super::settings::Settings;
use crate::cli::{Format, OutputArgs};
use crate::facts::Request;
use crate::policy::Policy;
use crate::source::file::{FileSource, Polled, is_regular};
use crate::source::{Frame, SourceItem};
use crate::time::Timestamp;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long a followed input may bring nothing before what is pending is flushed and Ctrl-C
/// looked at.
const IDLE: Duration = Duration::from_millis(200);
/// While a followed input streams: how often the same is done anyway.
const TICK: Duration = Duration::from_millis(200);
/// How long a request from a followed input waits for what may judge it (a TLS session proving
/// its host HTTPS, the request a refused attempt was for) before it is judged and written, in
/// capture time and since it was read (see [`Clock`]). Shorter than live capture's 2 s, so that
/// with the [`TICK`] a request is written within about a second of its packets (measured: 1.0 s
/// behind `tcpdump --immediate-mode -U -w -` on loopback); a proof later than this is said in
/// `quality.judged_before_proof`.
const JUDGE_DELAY: Duration = Duration::from_millis(750);

pub fn analyze(s: &Settings, output: &OutputArgs) -> Result<Outcome> {
    let followed: Vec<bool> = s.captures.iter().map(|a| !is_regular(a)).collect();
    let mut kept = open_all(s, &followed)?;
    // Installed once the inputs are open: until a pipe has brought its capture header there is
    // nothing to report, and Ctrl-C ends s3wire as it always did.
    let interrupt = Interrupt::install();
    let printer = match followed.contains(&true) {
        true => Some(Printer::for_capture(&s.output, output)?),
        false => None,
    };
    // A bar on a terminal for files; a followed input has the status line of `capture` instead.
    let progress = Progress::new(total_size(s), !s.output.table.quiet && printer.is_none());
    let out = s.output.clone();
    let sink = analysis::sink_for(&s.output, s.threads, analysis::tool_info(s), move || {
        out.open_with_direct()
    });
    let mut run = Analysis::new(s, sink)?;
    // Files only, on two threads or more, for a format whose writer has room (see
    // `Records::classify_on_writer`): a followed input's lines need each request classified
    // as it completes.
    let human = matches!(s.output.format, Format::Table | Format::Markdown);
    if printer.is_none() && s.threads > 1 && human {
        run.engine.classify_on_writer();
    }
    let mut reader = Reader {
        run,
        printer,
        progress,
        policy: s.policy.clone(),
        interrupt,
        clock: Clock::default(),
        last_tick: Instant::now(),
        unpumped: 0,
    };
    let mut cut = None;
    for ((arg, &follow), kept) in s.captures.iter().zip(&followed).zip(&mut kept) {
        let mut src = match kept.take() {
            Some(src) => src,
            None => open(arg)?,
        };
        if follow {
            src.follow(IDLE);
        } else if s.threads > 1 {
            src.read_ahead();
        }
        if reader.input(&mut src, follow)? {
            cut = Some(cut_warning(arg, src.bytes_read()));
            break;
        }
    }
    reader.finish(s, cut)
}

fn open(arg: &str) -> Result<FileSource> {
    FileSource::open_arg(arg).map_err(Error::Input)
}

/// Every input is opened and its format checked before anything is written, then closed again
/// (a rotated capture can be hundreds of files; each open one holds a buffer), except standard
/// input and the `followed` ones (a FIFO): they cannot be read twice, and are kept.
fn open_all(s: &Settings, followed: &[bool]) -> Result<Vec<Option<FileSource>>> {
    let mut kept = Vec::with_capacity(s.captures.len());
    for (arg, &follow) in s.captures.iter().zip(followed) {
        let src = open(arg)?;
        kept.push((follow || arg == "-").then_some(src));
    }
    Ok(kept)
}

/// The inputs' total size, when every one is a file whose size is known.
fn total_size(s: &Settings) -> Option<u64> {
    s.captures
        .iter()
        .map(|a| {
            (a != "-")
                .then(|| std::fs::metadata(a).ok().map(|m| m.len()))
                .flatten()
        })
        .sum()
}

fn cut_warning(arg: &str, bytes: u64) -> String {
    let name = if arg == "-" { "standard input" } else { arg };
    format!(
        "input cut short by the user (Ctrl-C) after {bytes} bytes of {name}: \
         the report covers what was read before"
    )
}

/// The inputs, read in turn into one analysis.
struct Reader {
    run: Analysis,
    /// Following: a line per request on a terminal, and the status line.
    printer: Option<Printer>,
    progress: Progress,
    policy: Policy,
    interrupt: Interrupt,
    /// Following: the capture's clock.
    clock: Clock,
    last_tick: Instant,
    /// Frames read since the facts were last handed on.
    unpumped: u32,
}

/// A file's facts are handed on after this many frames, or sooner when this many facts wait
/// (a frame of pipelined requests can bring hundreds). Runs of 64 frames took the analysis
/// thread's instruction-cache misses on a request-dense capture from 7.7 M to 0.6 M per 50,000
/// packets; 256 gained nothing more.
const PUMP_EVERY: u32 = 64;
const PUMP_WAITING: usize = 256;

impl Reader {
    /// One input to its end; true when Ctrl-C cut it short.
    fn input(&mut self, src: &mut FileSource, follow: bool) -> Result<bool> {
        let mut cut = false;
        loop {
            if !cut && self.interrupt.requested() {
                if !follow {
                    return Ok(true);
                }
                // What the reading thread already holds is still analysed.
                src.cut();
                cut = true;
            }
            let idle = match src.poll()? {
                Polled::Item(SourceItem::Frame(f)) => {
                    self.frame(&f, follow)?;
                    let (packets, requests) = self.run.engine.counts();
                    self.progress.frame(src.bytes_read(), packets, requests);
                    false
                }
                Polled::Item(SourceItem::Note(n)) => {
                    self.run.note(n);
                    false
                }
                Polled::Idle => true,
                Polled::End => break,
            };
            if follow && (idle || self.last_tick.elapsed() >= TICK) {
                self.tick()?;
            }
        }
        self.progress.input_done(src.bytes_read());
        Ok(cut)
    }

    fn frame(&mut self, f: &Frame<'_>, follow: bool) -> Result<()> {
        if follow {
            self.clock.frame(f.ts, Instant::now());
        }
        self.run.engine.frame(f);
        // A file's facts are handed on every few frames, so that its requests are classified in
        // runs (`app::records`); a followed input's at once, for its lines on the terminal.
        self.unpumped += 1;
        if !follow && self.unpumped < PUMP_EVERY && self.run.engine.waiting() < PUMP_WAITING {
            return Ok(());
        }
        self.unpumped = 0;
        if self.printer.is_none() {
            return self.run.pump_quietly();
        }
        let mut failed = None;
        let mut each = lines(&mut self.printer, &self.policy, &mut failed);
        self.run.pump(&mut each)?;
        drop(each);
        failed.map_or(Ok(()), Err)
    }

    /// A followed input's beat: connections idle as of the capture's clock expired, what is due
    /// judged, the output flushed, the status line redrawn.
    fn tick(&mut self) -> Result<()> {
        self.last_tick = Instant::now();
        let Some((now, flush)) = self.clock.tick(self.last_tick) else {
            return Ok(());
        };
        let mut failed = None;
        let mut each = lines(&mut self.printer, &self.policy, &mut failed);
        self.run.tick(now, flush, &mut each)?;
        drop(each);
        if let Some(e) = failed {
            return Err(e);
        }
        if let Some(p) = &mut self.printer {
            p.status(self.run.engine.counts().0, None);
        }
        Ok(())
    }

    fn finish(self, s: &Settings, cut: Option<String>) -> Result<Outcome> {
        let Reader {
            run,
            mut printer,
            progress,
            policy,
            ..
        } = self;
        progress.finish();
        if let Some(p) = &mut printer {
            p.clear_status();
        }
        let mut failed = None;
        let mut each = lines(&mut printer, &policy, &mut failed);
        let report = run.finish(s, &mut each, |report| {
            report.quality.warnings.extend(cut);
        })?;
        Ok(super::outcome(&report))
    }
}

/// The capture's clock while a followed input is read, and what is due for judging.
///
/// Between packets the capture's clock is carried on by ours from the newest packet, so a quiet
/// pipe still moves time on (connections expire, waiting requests fall due). An item is due
/// once [`JUDGE_DELAY`] of capture time has passed since it *and* it was read at least that long
/// ago: a live pipe, whose capture time runs with ours, is judged about a second late; a pipe
/// replaying a file (`tcpdump -r big.pcap -w - | s3wire analyze -`), whose capture time runs far
/// faster, keeps the look-ahead of the file itself and the same findings.
#[derive(Default)]
struct Clock {
    /// The newest capture time read, and when it was read.
    newest: Option<(Timestamp, Instant)>,
    /// At each tick of the last [`JUDGE_DELAY`]: when, and the capture's time then.
    marks: VecDeque<(Instant, Timestamp)>,
    /// The capture's time [`JUDGE_DELAY`] ago (as of the last mark that old).
    settled: Option<Timestamp>,
}

impl Clock {
    fn frame(&mut self, ts: Timestamp, read: Instant) {
        let newest = self.newest.map_or(ts, |(t, _)| t.max(ts));
        self.newest = Some((newest, read));
    }

    /// At a tick at `at`: the capture's time now, and the time before which items are due.
    /// None before the first packet.
    fn tick(&mut self, at: Instant) -> Option<(Timestamp, Timestamp)> {
        let (newest, read) = self.newest?;
        let quiet =
            i64::try_from(at.saturating_duration_since(read).as_nanos()).unwrap_or(i64::MAX);
        let now = Timestamp(newest.0.saturating_add(quiet));
        self.marks.push_back((at, now));
        while let Some(&(when, then)) = self.marks.front()
            && at.saturating_duration_since(when) >= JUDGE_DELAY
        {
            self.settled = Some(then);
            self.marks.pop_front();
        }
        let delay = JUDGE_DELAY.as_nanos() as i64;
        let due =
            Timestamp(now.0.saturating_sub(delay)).min(self.settled.unwrap_or(Timestamp(i64::MIN)));
        Some((now, due))
    }
}

/// What each request completed calls: its line, when lines are printed (the first failure kept
/// in `failed`).
fn lines<'a>(
    printer: &'a mut Option<Printer>,
    policy: &'a Policy,
    failed: &'a mut Option<Error>,
) -> impl FnMut(&Request) + 'a {
    move |r| {
        if let Some(p) = printer
            && let Err(e) = p.request(r, policy)
        {
            failed.get_or_insert(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn live_pipe_items_fall_due_once_the_delay_has_passed_since_they_were_captured() {
        let (t0, mut c) = (Instant::now(), Clock::default());
        assert_eq!(c.tick(t0), None, "nothing read, nothing due");
        c.frame(Timestamp(100 * S), t0);
        c.tick(t0 + ms(200));
        c.frame(Timestamp(100 * S + S / 2), t0 + ms(500));
        let (now, due) = c.tick(t0 + ms(600)).unwrap();
        assert_eq!(now, Timestamp(100 * S + 600_000_000));
        assert_eq!(due, Timestamp(i64::MIN), "nothing read 750 ms ago yet");
        let (now, due) = c.tick(t0 + ms(1_200)).unwrap();
        assert_eq!(now, Timestamp(101 * S + 200_000_000));
        // The capture's time at the last tick at least 750 ms ago (t0 + 200 ms).
        assert_eq!(due, Timestamp(100 * S + 200_000_000));
    }

    #[test]
    fn quiet_pipe_moves_the_clock_on_so_the_last_packet_falls_due() {
        let (t0, mut c) = (Instant::now(), Clock::default());
        c.frame(Timestamp(100 * S), t0);
        for n in 1..=6 {
            c.tick(t0 + ms(200 * n));
        }
        let (now, due) = c.tick(t0 + ms(1_400)).unwrap();
        assert_eq!(now, Timestamp(101 * S + 400_000_000));
        assert!(
            due > Timestamp(100 * S),
            "{due:?}: the last packet's items are due"
        );
    }

    #[test]
    fn replayed_file_waits_on_the_wall_clock_not_on_its_fast_capture_time() {
        let (t0, mut c) = (Instant::now(), Clock::default());
        // A minute of capture read in 100 ms.
        for n in 0..=60 {
            c.frame(Timestamp((100 + n) * S), t0 + ms(n as u64 * 100 / 60));
        }
        let (now, due) = c.tick(t0 + ms(200)).unwrap();
        assert_eq!(now, Timestamp(160 * S + 100_000_000));
        assert_eq!(due, Timestamp(i64::MIN), "read 200 ms ago: not due");
        c.frame(Timestamp(170 * S), t0 + ms(1_100));
        let (_, due) = c.tick(t0 + ms(1_200)).unwrap();
        assert_eq!(
            due,
            Timestamp(160 * S + 100_000_000),
            "what was read a second ago"
        );
    }
}
