//! `capture` and `run`: live frames → the same engine as `analyze`, a line per S3 request as it
//! completes (or JSON Lines), a status line on a terminal, then the full report.
//!
//! The loop reads with a short timeout, so Ctrl-C, `--duration`, `--count` and the child's exit
//! are checked even when no packet comes; on the same beat idle connections are expired and the
//! status line is redrawn. It reads any [`LiveFrames`] (the capture thread, behind the key-log
//! delay when a key log is followed) and tells time by a [`Clock`]: `tests` replays fixtures
//! through it without root. What the report says of the session is gathered in a
//! [`LiveSummary`], which the report is built from.

mod child;
mod clock;
mod delay;
mod frames;
mod procs;
mod setup;

use super::Outcome;
use super::analysis::{self, Analysis};
use super::error::{Error, Result};
use super::live_summary::{LeftOut, LiveSummary};
use super::print::Printer;
use super::settings::{SanitizeSettings, Settings};
use crate::cli::{CaptureArgs, Format, LiveArgs, RunArgs};
use crate::facts::Request;
use crate::report::AttributionMode;
use crate::source::capture_thread::{Batch, Received};
use crate::source::cgroup::CommandCgroup;
use crate::source::pcapng_writer::PcapngWriter;
use crate::source::run::{KeyLogTail, RunningCommand};
use crate::source::{Drops, Frame, LinkType};
use crate::time::Timestamp;
use child::Child;
use clock::{Clock, SystemClock};
use delay::KeyDelay;
use frames::LiveFrames;
use procs::{Procs, lock, lookup};
use setup::{interrupt_counter, open_source, report_to_stderr, settings};
use std::collections::HashSet;
use std::io::BufWriter;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the loop does its housekeeping (expiry, status line).
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
    let procs = Procs::new(s.output.redact);
    let mut live = Live::new(&s, &args.live, printer, procs, Rc::new(SystemClock))?;
    let thread = open_source(&args.live.interface, &args.live.filter, Some(&live.procs))?;
    // Like tcpdump's "listening on": the moment packets are being captured (scripts wait for it).
    eprintln!(
        "s3wire: capturing on {} ({}, filter: {}); Ctrl-C stops",
        args.live.interface,
        thread.link().name(),
        args.live.filter
    );
    if let Some(k) = &args.keylog {
        let tail = KeyLogTail::open(k).map_err(|source| Error::Keylog {
            path: k.clone(),
            source,
        })?;
        live.follow_keylog(tail, k.display().to_string());
    }
    let mut source = live.frames(thread);
    live.limit = args.count.unwrap_or(u64::MAX);
    let duration = args.duration.map(|d| Duration::from_secs_f64(d.max(0.0)));
    live.capture_loop(&mut source, &interrupts, duration)?;
    live.finish(&mut source, &s, None)
}

/// Set (to anything) in the environment, `run` does not try its cgroup: for tests only.
const NO_CGROUP_VAR: &str = "S3WIRE_TEST_NO_CGROUP";

pub fn run(args: &RunArgs, argv: Vec<String>) -> Result<Outcome> {
    let mut s = settings(&args.policy, &args.output, &args.limits, argv, &args.live)?;
    s.output = report_to_stderr(s.output, &args.output);
    s.sanitize = SanitizeSettings::from_args(&args.sanitize).map(|z| SanitizeSettings {
        // A JSON report on standard error must stay parseable.
        announce: !s.output.on_stderr || !matches!(s.output.format, Format::Json | Format::Jsonl),
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
    let procs = Procs::new(s.output.redact);
    let mut live = Live::new(&s, &args.live, printer, procs, Rc::new(SystemClock))?;
    let thread = match &cgroup {
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
    let mut source = live.frames(thread);
    live.summary.attribution = match (&cgroup, args.all_traffic) {
        (_, true) => None,
        (Some(_), false) => Some(AttributionMode::Cgroup),
        (None, false) => Some(AttributionMode::Proc),
    };
    live.summary.fallback = fallback;
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
    let code = live.run_loop(&mut source, &interrupts, &mut child)?;
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
    packets: u64,
    /// `--count`: frames analysed at most.
    limit: u64,
    /// What the report will say of the session, as far as it is known (the rest is known at
    /// the end: drops, the command's exit, what attribution left out).
    summary: LiveSummary,
    clock: Rc<dyn Clock>,
    last_tick: Instant,
    policy: crate::policy::Policy,
}

impl Live {
    /// A session whose connections' processes `procs` names (and, in `run`, chooses).
    fn new(
        s: &Settings,
        l: &LiveArgs,
        printer: Printer,
        procs: Procs,
        clock: Rc<dyn Clock>,
    ) -> Result<Self> {
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
        // The report streams to its destination as rows are judged: the `--output` file, or
        // standard error for `run` (standard output is the command's), else standard output.
        let (to_stderr, out) = (s.output.on_stderr, s.output.clone());
        let sink = analysis::sink_for(&s.output, s.threads, analysis::tool_info(s), move || {
            if to_stderr {
                let err = Box::new(BufWriter::new(std::io::stderr()));
                Ok((err as Box<dyn std::io::Write + Send>, None))
            } else {
                out.open_with_direct().map_err(std::io::Error::other)
            }
        });
        let procs = Arc::new(Mutex::new(procs));
        let mut run = Analysis::new(s, sink)?;
        run.engine.set_process_lookup(lookup(procs.clone()));
        Ok(Live {
            run,
            printer,
            procs,
            writer,
            write_path: l.write.clone().unwrap_or_default(),
            keylog: None,
            packets: 0,
            limit: u64::MAX,
            summary: LiveSummary::default(),
            last_tick: clock.now(),
            clock,
            policy: s.policy.clone(),
        })
    }

    /// What the loop reads: `capture` itself, or, with a key log followed, `capture` behind the
    /// key-log delay.
    fn frames<'a>(&self, capture: impl LiveFrames + 'a) -> Box<dyn LiveFrames + 'a> {
        match self.keylog {
            Some(_) => Box::new(KeyDelay::new(capture, self.clock.clone())),
            None => Box::new(capture),
        }
    }

    /// `capture`: until Ctrl-C, `--duration` or `--count` (or the capture fails).
    fn capture_loop(
        &mut self,
        source: &mut dyn LiveFrames,
        interrupts: &AtomicU32,
        duration: Option<Duration>,
    ) -> Result<()> {
        let deadline = duration.map(|d| self.clock.now() + d);
        while interrupts.load(Ordering::SeqCst) == 0
            && deadline.is_none_or(|d| self.clock.now() < d)
            && self.packets < self.limit
        {
            if self.step(source)? {
                break;
            }
        }
        Ok(())
    }

    /// `run`: until the command has exited and [`DRAIN`] more has passed (or the capture
    /// fails). The first Ctrl-C is the command's to act on (the terminal sent it the same
    /// SIGINT); a second one kills it. Returns its exit status.
    fn run_loop(
        &mut self,
        source: &mut dyn LiveFrames,
        interrupts: &AtomicU32,
        child: &mut dyn Child,
    ) -> Result<Option<i32>> {
        let mut ended: Option<(Instant, i32)> = None;
        loop {
            if self.step(source)? {
                break;
            }
            if interrupts.load(Ordering::SeqCst) >= 2 {
                child.kill();
            }
            match ended {
                None => {
                    if let Some(code) = child.try_wait()? {
                        ended = Some((self.clock.now(), code));
                    }
                }
                Some((at, _)) if self.clock.now().saturating_duration_since(at) >= DRAIN => {
                    break;
                }
                Some(_) => {}
            }
        }
        Ok(ended.map(|(_, c)| c))
    }

    /// One batch from the source (or a wait for one); true when the capture ended.
    fn step(&mut self, source: &mut dyn LiveFrames) -> Result<bool> {
        let (idle, ended) = match source.recv(TICK) {
            Received::Batch(b) => {
                self.batch(&b, source.link())?;
                (false, false)
            }
            Received::Idle => (true, false),
            Received::Ended => (true, true),
        };
        let since = self.clock.now().saturating_duration_since(self.last_tick);
        if idle || since >= TICK {
            self.tick(source.drops())?;
        }
        Ok(ended)
    }

    /// A batch's frames, up to `--count`, after the key log's newest lines: behind the key-log
    /// delay, the secrets written meanwhile are then known before the records they open, and
    /// with `--write` each secrets block precedes those records in the file, as readers need.
    fn batch(&mut self, b: &Batch, link: LinkType) -> Result<()> {
        self.read_keys()?;
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
        if let Some(w) = &mut self.writer {
            w.write_frame(f).map_err(|source| Error::SaveCapture {
                option: "--write",
                path: self.write_path.clone(),
                source,
            })?;
        }
        self.run.engine.frame(f);
        self.pump()
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

    fn tick(&mut self, drops: Drops) -> Result<()> {
        self.last_tick = self.clock.now();
        let now = self.clock.wall();
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
        self.printer.status(self.packets, Some(drops));
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
        self.summary.keys_read = true;
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
        source: &mut dyn LiveFrames,
        s: &Settings,
        command_exit: Option<i32>,
    ) -> Result<Outcome> {
        // What was captured before the stop is still analysed (up to `--count`), with the key
        // log's last lines.
        let drops = source.stop()?;
        while let Received::Batch(b) = source.recv(Duration::ZERO) {
            self.batch(&b, source.link())?;
        }
        self.read_keys()?;
        self.pump()?;
        self.printer.clear_status();
        if let Some(mut w) = self.writer.take() {
            w.flush().map_err(|source| Error::SaveCapture {
                option: "--write",
                path: self.write_path.clone(),
                source,
            })?;
        }
        let (connections, attempts) = self.run.engine.not_attributed();
        let summary = LiveSummary {
            drops,
            command_exit,
            left_out: LeftOut {
                connections,
                attempts,
            },
            unknown_owner: lock(&self.procs).unattributed,
            ..std::mem::take(&mut self.summary)
        };
        // On standard error too, unless a JSON report goes there (it must stay parseable; the
        // status is in `capture.command_exit`).
        let json_on_stderr =
            s.output.on_stderr && matches!(s.output.format, Format::Json | Format::Jsonl);
        if let Some(code) = command_exit.filter(|_| !json_on_stderr) {
            eprintln!("s3wire: the command exited with status {code}");
        }
        let (printer, policy) = (&mut self.printer, &self.policy);
        let each = &mut |r: &Request| {
            let _ = printer.request(r, policy);
        };
        let report = self.run.finish_live(s, each, &summary)?;
        Ok(super::outcome(&report))
    }
}

/// How long (capture time) a live request waits for what may judge it (a TLS session that
/// proves its host HTTPS, the request a refused attempt was for) before it is judged and
/// written.
const JUDGE_DELAY: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests;
