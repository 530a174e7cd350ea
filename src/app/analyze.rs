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
use super::interrupt::Interrupt;
use super::print::Printer;
use super::progress::Progress;
use super::settings::Settings;
use crate::cli::OutputArgs;
use crate::facts::Request;
use crate::policy::Policy;
use crate::source::file::{FileSource, Polled, is_regular};
use crate::source::{Frame, SourceItem};
use crate::time::Timestamp;
use anyhow::{Context, Result};
use std::io;
use std::time::{Duration, Instant};

/// How long a followed input may bring nothing before what is pending is flushed and Ctrl-C
/// looked at.
const IDLE: Duration = Duration::from_millis(200);
/// While a followed input streams: how often the same is done anyway.
const TICK: Duration = Duration::from_millis(200);
/// How long (capture time) a request from a followed input waits for what may judge it (a TLS
/// session proving its host HTTPS, the request a refused attempt was for) before it is judged
/// and written. Half of live capture's delay, so that a request is written within about a
/// second of its packets; a proof later than this is said in `quality.judged_before_proof`.
const JUDGE_DELAY: Duration = Duration::from_secs(1);

pub fn analyze(s: &Settings, output: &OutputArgs) -> Result<Outcome> {
    let mut stdin = open_all(s)?;
    let followed: Vec<bool> = s.captures.iter().map(|a| !is_regular(a)).collect();
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
    let sink = analysis::sink_for(&s.output, analysis::tool_info(s), move || {
        out.open().map_err(io::Error::other)
    });
    let mut reader = Reader {
        run: Analysis::new(s, sink)?,
        printer,
        progress,
        policy: s.policy.clone(),
        interrupt,
        newest: None,
        last_tick: Instant::now(),
    };
    let mut cut = None;
    for (arg, &follow) in s.captures.iter().zip(&followed) {
        let mut src = match stdin.take().filter(|_| arg == "-") {
            Some(src) => src,
            None => open(arg)?,
        };
        if follow {
            src.follow(IDLE);
        } else if s.threads > 1 {
            src.read_ahead();
        }
        if reader.input(&mut src, arg, follow)? {
            cut = Some(cut_warning(arg, src.bytes_read()));
            break;
        }
    }
    reader.finish(s, cut)
}

fn open(arg: &str) -> Result<FileSource> {
    FileSource::open_arg(arg).with_context(|| format!("cannot read capture {arg}"))
}

/// Every input is opened and its format checked before anything is written, then closed again
/// (a rotated capture can be hundreds of files; each open one holds a buffer), except standard
/// input, which cannot be opened twice: it is kept.
fn open_all(s: &Settings) -> Result<Option<FileSource>> {
    let mut stdin = None;
    for arg in &s.captures {
        let src = open(arg)?;
        if arg == "-" {
            stdin = Some(src);
        }
    }
    Ok(stdin)
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
    /// Following: the newest capture time read, and when (the capture's clock, carried on by
    /// ours while the input is quiet).
    newest: Option<(Timestamp, Instant)>,
    last_tick: Instant,
}

impl Reader {
    /// One input to its end; true when Ctrl-C cut it short.
    fn input(&mut self, src: &mut FileSource, arg: &str, follow: bool) -> Result<bool> {
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
            let idle = match src.poll().with_context(|| format!("while reading {arg}"))? {
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
            let newest = self.newest.map_or(f.ts, |(t, _)| t.max(f.ts));
            self.newest = Some((newest, Instant::now()));
        }
        self.run.engine.frame(f);
        let mut failed = None;
        let mut each = lines(&mut self.printer, &self.policy, &mut failed);
        self.run.pump(&mut each)?;
        drop(each);
        failed.map_or(Ok(()), Err)
    }

    /// A followed input's beat: connections idle as of the capture's clock expired, what has
    /// waited [`JUDGE_DELAY`] judged, the output flushed, the status line redrawn.
    fn tick(&mut self) -> Result<()> {
        self.last_tick = Instant::now();
        let Some((newest, at)) = self.newest else {
            return Ok(());
        };
        let since = i64::try_from(at.elapsed().as_nanos()).unwrap_or(i64::MAX);
        let now = Timestamp(newest.0.saturating_add(since));
        let flush = Timestamp(now.0.saturating_sub(JUDGE_DELAY.as_nanos() as i64));
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

/// What each request completed calls: its line, when lines are printed (the first failure kept
/// in `failed`).
fn lines<'a>(
    printer: &'a mut Option<Printer>,
    policy: &'a Policy,
    failed: &'a mut Option<anyhow::Error>,
) -> impl FnMut(&Request) + 'a {
    move |r| {
        if let Some(p) = printer
            && let Err(e) = p.request(r, policy)
        {
            failed.get_or_insert(e);
        }
    }
}
