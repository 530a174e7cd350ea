//! `capture` and `run`: live frames → the same engine as `analyze`, a line per S3 request as it
//! completes (or JSON Lines), a status line on a terminal, then the full report.
//!
//! The loop reads with a short timeout, so Ctrl-C, `--duration`, `--count` and the child's exit
//! are checked even when no packet comes; on the same beat idle connections are expired, the key
//! log is read, and the status line is redrawn.

mod delay;
mod procs;
mod setup;
mod warnings;

use super::Outcome;
use super::analysis::{self, Analysis};
use super::error::{Error, Result};
use super::print::Printer;
use super::settings::{SanitizeSettings, Settings};
use crate::cli::{CaptureArgs, Format, LiveArgs, RunArgs};
use crate::facts::Request;
use crate::report::AttributionMode;
use crate::source::capture_thread::{CaptureThread, Received};
use crate::source::cgroup::CommandCgroup;
use crate::source::pcapng_writer::PcapngWriter;
use crate::source::run::{KeyLogTail, RunningCommand, exit_code};
use crate::source::{Frame, LinkType, SourceNote};
use crate::time::Timestamp;
use delay::Delay;
use procs::{Procs, lock, lookup};
use setup::{interrupt_counter, open_source, report_to_stderr, settings};
use std::collections::HashSet;
use std::io::BufWriter;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use warnings::warn_live;

/// How often the loop does its housekeeping (expiry, key log, status line).
const TICK: Duration = Duration::from_millis(200);
/// After the command exits: how long to keep reading for its last packets (FIN, final ACKs).
const DRAIN: Duration = Duration::from_millis(300);
/// The queue between the capture thread and the analysis. 128 MiB holds several seconds of a
/// loaded loopback (about 40,000 requests/s of small S3 requests is ~25 MB/s of frames), so a
/// stall of the analysis that long loses nothing; memory stays bounded by it.
const QUEUE_BYTES: usize = 128 << 20;

pub fn capture(args: &CaptureArgs, argv: Vec<String>) -> Result<Outcome> {
    let mut s = settings(&args.policy, &args.output, &args.limits, argv, &args.live)?;
    s.sanitize = SanitizeSettings::from_args(&args.sanitize);
    let interrupts = interrupt_counter()?;
    let printer = Printer::for_capture(&s.output, &args.output)?;
    let mut live = Live::new(&s, &args.live, printer)?;
    let mut source = open_source(&args.live.interface, &args.live.filter, Some(&live.procs))?;
    // Like tcpdump's "listening on": the moment packets are being captured (scripts wait for it).
    eprintln!(
        "s3wire: capturing on {} ({}, filter: {}); Ctrl-C stops",
        args.live.interface,
        source.link().name(),
        args.live.filter
    );
    if let Some(k) = &args.keylog {
        let tail = KeyLogTail::open(k).map_err(|source| Error::Keylog {
            path: k.clone(),
            source,
        })?;
        live.follow_keylog(tail, k.display().to_string());
    }
    live.run
        .engine
        .set_process_lookup(lookup(live.procs.clone()));
    let deadline = args
        .duration
        .map(|d| Instant::now() + Duration::from_secs_f64(d.max(0.0)));
    live.limit = args.count.unwrap_or(u64::MAX);
    while interrupts.load(Ordering::SeqCst) == 0
        && deadline.is_none_or(|d| Instant::now() < d)
        && live.packets < live.limit
    {
        if live.step(&mut source)? {
            break;
        }
    }
    live.finish(&mut source, &s, None)
}

/// Set (to anything) in the environment, `run` does not try its cgroup: for tests only.
const NO_CGROUP_VAR: &str = "S3WIRE_TEST_NO_CGROUP";

pub fn run(args: &RunArgs, argv: Vec<String>) -> Result<Outcome> {
    let mut s = settings(&args.policy, &args.output, &args.limits, argv, &args.live)?;
    s.output = report_to_stderr(s.output, &args.output);
    s.sanitize = SanitizeSettings::from_args(&args.sanitize).map(|z| SanitizeSettings {
        // A JSON report on standard error must stay parseable.
        announce: s.output.path.is_some()
            || !matches!(s.output.format, Format::Json | Format::Jsonl),
        ..z
    });
    let interrupts = interrupt_counter()?;
    let (cgroup, fallback) = match args.all_traffic {
        true => (None, None),
        // The root live tests set it to exercise the /proc fallback where cgroups work.
        false if std::env::var_os(NO_CGROUP_VAR).is_some() => {
            (None, Some(format!("{NO_CGROUP_VAR} is set")))
        }
        false => match CommandCgroup::create() {
            Ok(c) => (Some(c), None),
            Err(why) => (None, Some(why)),
        },
    };
    if let Some(c) = &cgroup {
        s.captures = vec![format!(
            "{} (the command's cgroup; filter: {})",
            c.device(),
            args.live.filter
        )];
    }
    let printer = Printer::for_run(&s.output, &args.output)?;
    let mut live = Live::new(&s, &args.live, printer)?;
    let mut source = match &cgroup {
        Some(c) => open_source(&c.device(), &args.live.filter, None)?,
        None => open_source(&args.live.interface, &args.live.filter, Some(&live.procs))?,
    };
    let procs_fd = cgroup.as_ref().map(CommandCgroup::procs_fd);
    let mut child = RunningCommand::spawn(&args.command, args.keylog.as_deref(), procs_fd)?;
    let tail = KeyLogTail::open(child.keylog_path()).map_err(|source| Error::Keylog {
        path: child.keylog_path().to_path_buf(),
        source,
    })?;
    live.follow_keylog(tail, "the command's SSLKEYLOGFILE".into());
    live.attribution = match (&cgroup, args.all_traffic) {
        (_, true) => None,
        (Some(_), false) => Some(AttributionMode::Cgroup),
        (None, false) => Some(AttributionMode::Proc),
    };
    live.fallback = fallback;
    let root = (!args.all_traffic).then(|| child.pid());
    {
        let mut p = lock(&live.procs);
        p.tree = root.map(|r| (r, HashSet::from([r])));
        if cgroup.is_some() {
            p.exact = Some(procs::command_info(
                &args.command,
                child.pid(),
                s.output.redact,
            ));
        }
    }
    live.run
        .engine
        .set_process_lookup(lookup(live.procs.clone()));
    let mut ended: Option<(Instant, i32)> = None;
    loop {
        if live.step(&mut source)? {
            break;
        }
        if interrupts.load(Ordering::SeqCst) >= 2 {
            child.kill();
        }
        match ended {
            None => {
                if let Some(status) = child.try_wait()? {
                    ended = Some((Instant::now(), exit_code(status)));
                }
            }
            Some((at, _)) if at.elapsed() >= DRAIN => break,
            Some(_) => {}
        }
    }
    live.read_keys()?;
    let code = ended.map(|(_, c)| c);
    let outcome = live.finish(&mut source, &s, code);
    drop(cgroup);
    outcome
}

/// The state of one live session.
struct Live {
    run: Analysis,
    printer: Printer,
    procs: Arc<Mutex<Procs>>,
    writer: Option<PcapngWriter<BufWriter<std::fs::File>>>,
    /// `--write`'s path, for its errors.
    write_path: std::path::PathBuf,
    /// The key log being followed, and how warnings name it.
    keylog: Option<(KeyLogTail, String)>,
    delayed: Delay,
    had_keys: bool,
    packets: u64,
    /// `--count`: frames analysed at most.
    limit: u64,
    /// `run`: how the command's traffic is told from others'.
    attribution: Option<AttributionMode>,
    /// `run`: why exact attribution could not be had.
    fallback: Option<String>,
    last_tick: Instant,
    policy: crate::policy::Policy,
}

impl Live {
    fn new(s: &Settings, l: &LiveArgs, printer: Printer) -> Result<Self> {
        let writer = match &l.write {
            Some(p) => {
                let saving = |source| Error::SaveCapture {
                    option: "--write",
                    path: p.clone(),
                    source,
                };
                let f = std::fs::File::create(p).map_err(saving)?;
                Some(PcapngWriter::new(BufWriter::new(f), 262_144).map_err(saving)?)
            }
            None => None,
        };
        let procs = Procs::new(s.output.redact);
        // The report streams to its destination as rows are judged: the `--output` file, or
        // standard error for `run` (standard output is the command's), else standard output.
        let (to_stderr, out) = (printer.report_to_stderr(), s.output.clone());
        let sink = analysis::sink_for(&s.output, analysis::tool_info(s), move || {
            if to_stderr {
                Ok(Box::new(BufWriter::new(std::io::stderr())) as Box<dyn std::io::Write + Send>)
            } else {
                out.open().map_err(std::io::Error::other)
            }
        });
        Ok(Live {
            run: Analysis::new(s, sink)?,
            printer,
            procs: Arc::new(Mutex::new(procs)),
            writer,
            write_path: l.write.clone().unwrap_or_default(),
            keylog: None,
            delayed: Delay::default(),
            had_keys: false,
            packets: 0,
            limit: u64::MAX,
            attribution: None,
            fallback: None,
            last_tick: Instant::now(),
            policy: s.policy.clone(),
        })
    }

    /// One batch from the capture thread (or a wait for one); true when the capture ended.
    fn step(&mut self, source: &mut CaptureThread) -> Result<bool> {
        let (idle, ended) = match source.recv(TICK) {
            Received::Batch(b) => {
                self.batch(&b, source.link())?;
                (false, false)
            }
            Received::Idle => (true, false),
            Received::Ended => (true, true),
        };
        if idle || self.last_tick.elapsed() >= TICK {
            self.tick(source)?;
        }
        Ok(ended)
    }

    /// A batch's frames, up to `--count`.
    fn batch(&mut self, b: &crate::source::capture_thread::Batch, link: LinkType) -> Result<()> {
        for i in 0..b.len() {
            if self.packets >= self.limit {
                break;
            }
            if let Some(f) = b.frame(i, link) {
                self.frame(&f)?;
            }
        }
        Ok(())
    }

    fn frame(&mut self, f: &Frame<'_>) -> Result<()> {
        self.packets += 1;
        if self.keylog.is_none()
            && let Some(w) = &mut self.writer
        {
            w.write_frame(f).map_err(|source| Error::SaveCapture {
                option: "--write",
                path: self.write_path.clone(),
                source,
            })?;
        }
        if self.keylog.is_some() {
            self.delayed.push(f, Instant::now());
            self.release(false)?;
        } else {
            self.run.engine.frame(f);
        }
        self.pump()
    }

    /// Frames held for the key log: those due (or all, at the end) go to the engine, after
    /// the key log's newest lines.
    /// With `--write`, they are written now too, after the key log lines read just before
    /// them: each secrets block precedes the records it opens, as readers need.
    fn release(&mut self, all: bool) -> Result<()> {
        if !all && !self.delayed.due(Instant::now()) {
            return Ok(());
        }
        self.read_keys()?;
        while let Some(f) = self.delayed.pop(all, Instant::now()) {
            if let Some(w) = &mut self.writer {
                w.write_frame(&f.frame())
                    .map_err(|source| Error::SaveCapture {
                        option: "--write",
                        path: self.write_path.clone(),
                        source,
                    })?;
            }
            self.run.engine.frame(&f.frame());
            self.pump()?;
        }
        Ok(())
    }

    /// Facts into the judge and the report; a line for each request as it completes.
    fn pump(&mut self) -> Result<()> {
        let (printer, policy) = (&mut self.printer, &self.policy);
        let mut failed = None;
        self.run.pump(&mut |r: &Request| {
            if let Err(e) = printer.request(r, policy) {
                failed.get_or_insert(e);
            }
        })?;
        failed.map_or(Ok(()), Err)
    }

    fn tick(&mut self, source: &mut CaptureThread) -> Result<()> {
        self.last_tick = Instant::now();
        self.release(false)?;
        let now = wall_clock();
        let (printer, policy) = (&mut self.printer, &self.policy);
        let mut failed = None;
        // Rows are judged once they have waited JUDGE_DELAY, so the report streams while the
        // capture runs; a TLS session that proves a host HTTPS later is then reported as a
        // warning (quality.judged_before_proof), not as findings.
        let flush = Timestamp(now.0.saturating_sub(JUDGE_DELAY.as_nanos() as i64));
        self.run.tick(now, flush, &mut |r: &Request| {
            if let Err(e) = printer.request(r, policy) {
                failed.get_or_insert(e);
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        self.printer.status(self.packets, Some(source.drops()));
        Ok(())
    }

    /// Follow a key log. The engine's key log exists from now on, so that connections opened
    /// before their secrets are written still decrypt once the secrets arrive.
    fn follow_keylog(&mut self, tail: KeyLogTail, origin: String) {
        self.run.engine.add_keylog("", &origin);
        self.keylog = Some((tail, origin));
    }

    /// New lines of the key log (the command's, or `capture --keylog`) into the engine, and
    /// into the `--write` file as a Decryption Secrets Block.
    fn read_keys(&mut self) -> Result<()> {
        let Some((tail, origin)) = &mut self.keylog else {
            return Ok(());
        };
        let keys = tail.read_new();
        if keys.is_empty() {
            return Ok(());
        }
        self.run
            .engine
            .add_keylog(&String::from_utf8_lossy(&keys), origin);
        self.had_keys = true;
        if let Some(w) = &mut self.writer {
            w.write_keylog(&keys).map_err(|source| Error::SaveCapture {
                option: "--write",
                path: self.write_path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    fn finish(
        mut self,
        source: &mut CaptureThread,
        s: &Settings,
        command_exit: Option<i32>,
    ) -> Result<Outcome> {
        // What was captured before the stop is still analysed (up to `--count`).
        let drops = source.stop()?;
        while let Received::Batch(b) = source.recv(Duration::ZERO) {
            self.batch(&b, source.link())?;
        }
        self.release(true)?;
        self.pump()?;
        self.printer.clear_status();
        self.run.note(SourceNote::Dropped(drops));
        if let Some(mut w) = self.writer.take() {
            w.flush().map_err(|source| Error::SaveCapture {
                option: "--write",
                path: self.write_path.clone(),
                source,
            })?;
        }
        let not_attributed = self.run.engine.not_attributed();
        let unknown = lock(&self.procs).unattributed;
        let had_keys = self.had_keys;
        let (attribution, fallback) = (self.attribution, self.fallback.take());
        // On standard error too, unless a JSON report goes there (it must stay parseable; the
        // status is in `capture.command_exit`).
        let json_on_stderr =
            s.output.path.is_none() && matches!(s.output.format, Format::Json | Format::Jsonl);
        if let Some(code) = command_exit.filter(|_| !json_on_stderr) {
            eprintln!("s3wire: the command exited with status {code}");
        }
        let (printer, policy) = (&mut self.printer, &self.policy);
        let report = self.run.finish(
            s,
            &mut |r: &Request| {
                let _ = printer.request(r, policy);
            },
            |report| {
                report.capture.command_exit = command_exit;
                report.capture.attribution = attribution;
                if let Some(why) = &fallback {
                    report.quality.warnings.push(format!(
                        "exact attribution unavailable ({why}): the command's connections were \
                         told by looking their process up in /proc"
                    ));
                }
                warn_live(report, not_attributed, had_keys);
                if unknown > 0 {
                    report.quality.warnings.push(format!(
                        "{unknown} connections closed before their process could be looked up: \
                         listed with owner unknown, their findings are warnings only"
                    ));
                }
            },
        )?;
        Ok(super::outcome(&report))
    }
}

/// How long (capture time) a live request waits for what may judge it (a TLS session that
/// proves its host HTTPS, the request a refused attempt was for) before it is judged and
/// written.
const JUDGE_DELAY: Duration = Duration::from_secs(2);

fn wall_clock() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_secs_nanos(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        d.subsec_nanos(),
    )
}
