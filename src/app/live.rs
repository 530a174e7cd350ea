//! `capture` and `run`: live frames → the same engine as `analyze`, a line per S3 request as it
//! completes (or JSON Lines), a status line on a terminal, then the full report.
//!
//! The loop reads with a short timeout, so Ctrl-C, `--duration`, `--count` and the child's exit
//! are checked even when no packet comes; on the same beat idle connections are expired, the key
//! log is read, and the status line is redrawn.

use super::Outcome;
use super::analysis::{self, Analysis};
use super::attribution::Verdict;
use super::error::{Error, Result};
use super::print::Printer;
use super::settings::{OutputSettings, SanitizeSettings, Settings};
use crate::cli::{CaptureArgs, Format, LimitArgs, LiveArgs, OutputArgs, PolicyArgs, RunArgs};
use crate::facts::Request;
use crate::report::{ProcessInfo, Report};
use crate::source::live::{LiveEvent, LiveOptions, LiveSource};
use crate::source::pcapng_writer::PcapngWriter;
use crate::source::procs::ProcTable;
use crate::source::run::{KeyLogTail, RunningCommand, exit_code};
use crate::source::{Frame, LinkType, SourceNote};
use crate::time::Timestamp;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufWriter, IsTerminal};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How often the loop does its housekeeping (expiry, key log, status line).
const TICK: Duration = Duration::from_millis(200);
/// After the command exits: how long to keep reading for its last packets (FIN, final ACKs).
const DRAIN: Duration = Duration::from_millis(300);

pub fn capture(args: &CaptureArgs, argv: Vec<String>) -> Result<Outcome> {
    let mut s = settings(&args.policy, &args.output, &args.limits, argv, &args.live)?;
    s.sanitize = SanitizeSettings::from_args(&args.sanitize);
    let interrupts = interrupt_counter()?;
    let mut source = open_source(&args.live)?;
    // Like tcpdump's "listening on": the moment packets are being captured (scripts wait for it).
    eprintln!(
        "s3wire: capturing on {} ({}, filter: {}); Ctrl-C stops",
        args.live.interface,
        source.link().name(),
        args.live.filter
    );
    let printer = Printer::for_capture(&s.output, &args.output)?;
    let mut live = Live::new(&s, &args.live, printer)?;
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
    let count = args.count.unwrap_or(u64::MAX);
    while interrupts.load(Ordering::SeqCst) == 0
        && deadline.is_none_or(|d| Instant::now() < d)
        && live.packets < count
    {
        live.step(&mut source)?;
    }
    live.finish(&mut source, &s, None)
}

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
    let mut source = open_source(&args.live)?;
    let printer = Printer::for_run(&s.output, &args.output)?;
    let mut live = Live::new(&s, &args.live, printer)?;
    let mut child = RunningCommand::spawn(&args.command, args.keylog.as_deref())?;
    let tail = KeyLogTail::open(child.keylog_path()).map_err(|source| Error::Keylog {
        path: child.keylog_path().to_path_buf(),
        source,
    })?;
    live.follow_keylog(tail, "the command's SSLKEYLOGFILE".into());
    let root = (!args.all_traffic).then(|| child.pid());
    live.procs.borrow_mut().tree = root.map(|r| (r, HashSet::from([r])));
    live.run
        .engine
        .set_process_lookup(lookup(live.procs.clone()));
    let mut ended: Option<(Instant, i32)> = None;
    loop {
        live.step(&mut source)?;
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
    live.finish(&mut source, &s, code)
}

/// Ctrl-C sets a counter instead of killing s3wire, so the report is still printed (and in `run`
/// the command, which got the same SIGINT from the terminal, decides when it is done). The
/// `ctrlc` crate is used because std has no signal API and a raw `sigaction` would need `unsafe`.
fn interrupt_counter() -> Result<Arc<AtomicU32>> {
    let n = Arc::new(AtomicU32::new(0));
    let handler = n.clone();
    ctrlc::set_handler(move || {
        handler.fetch_add(1, Ordering::SeqCst);
    })
    .map_err(|e| Error::Signal(e.to_string()))?;
    Ok(n)
}

fn open_source(l: &LiveArgs) -> Result<LiveSource> {
    Ok(LiveSource::open(&LiveOptions::new(
        &l.interface,
        &l.filter,
    ))?)
}

/// The shared settings, naming the interface and filter as what was read.
fn settings(
    policy: &PolicyArgs,
    output: &OutputArgs,
    limits: &LimitArgs,
    argv: Vec<String>,
    live: &LiveArgs,
) -> Result<Settings> {
    let what = format!("live:{} (filter: {})", live.interface, live.filter);
    Settings::new(policy, output, limits, vec![what], argv)
}

/// `run` keeps standard output for the command: the report goes to standard error unless
/// `--output` names a file, and its default format and colour follow standard error.
fn report_to_stderr(mut out: OutputSettings, o: &OutputArgs) -> OutputSettings {
    if out.path.is_some() {
        return out;
    }
    let tty = std::io::stderr().is_terminal();
    if o.format.is_none() {
        out.format = if tty { Format::Table } else { Format::Json };
    }
    out.table.color = match o.color {
        crate::cli::ColorChoice::Always => true,
        crate::cli::ColorChoice::Never => false,
        crate::cli::ColorChoice::Auto => {
            tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    out.table.width = if tty { Some(120) } else { None };
    out
}

/// Who owns each connection: `/proc`, looked up at the SYN when the loop sees one (the socket
/// surely exists then), else when the flow stage opens the connection.
struct Procs {
    table: ProcTable,
    /// `run` without `--all-traffic`: the command's pid, and the pids known to be it or its
    /// descendants.
    tree: Option<(u32, HashSet<u32>)>,
    at_syn: HashMap<(SocketAddr, SocketAddr), Seen>,
    redact: bool,
    /// `run`: connections kept although their process could not be found.
    unattributed: u64,
}

/// Bound on SYN-time lookups waiting for their connection (unanswered SYNs leave entries behind).
const MAX_AT_SYN: usize = 4096;

impl Procs {
    fn lookup(&mut self, client: SocketAddr, server: SocketAddr) -> Option<ProcessInfo> {
        let p = match &mut self.tree {
            Some((root, tree)) => self.table.owner_in_tree(client, server, *root, tree)?,
            None => self.table.owner(client, server)?,
        };
        let cmdline = if self.redact {
            crate::report::redact::redact_text(&p.cmdline).into_owned()
        } else {
            p.cmdline
        };
        Some(ProcessInfo {
            pid: p.pid,
            name: p.name,
            cmdline,
        })
    }

    fn syn(&mut self, client: SocketAddr, server: SocketAddr) {
        if self.at_syn.len() >= MAX_AT_SYN {
            self.at_syn.clear();
        }
        let seen = self.see(client, server);
        self.at_syn.insert((client, server), seen);
    }

    /// What the socket table says now.
    fn see(&mut self, client: SocketAddr, server: SocketAddr) -> Seen {
        match self.lookup(client, server) {
            Some(p) => Seen::Owner(p),
            // `run`: open, but held outside the command's tree.
            None if self.tree.is_some() && self.table.is_open(client, server) => Seen::Other,
            None => Seen::Unknown,
        }
    }

    fn verdict(&mut self, client: SocketAddr, server: SocketAddr) -> Verdict {
        // Seen at the SYN, or else now: the socket usually still exists when the handshake
        // completes (but frames may be processed late: see `KEY_DELAY`).
        let seen = match self.at_syn.remove(&(client, server)) {
            Some(Seen::Unknown) | None => self.see(client, server),
            Some(seen) => seen,
        };
        match (seen, self.tree.is_some()) {
            (Seen::Owner(p), _) => Verdict::Keep(Some(p)),
            (Seen::Other, _) => Verdict::Skip,
            (Seen::Unknown, false) => Verdict::Keep(None),
            // `run`: gone before it could be looked up (or not a local client). Kept, because
            // hiding the command's own plaintext request would be worse than showing a
            // stranger's; counted and said in the report.
            (Seen::Unknown, true) => {
                self.unattributed += 1;
                Verdict::Keep(None)
            }
        }
    }
}

/// A connection's socket as the table showed it.
enum Seen {
    Owner(ProcessInfo),
    Other,
    Unknown,
}

fn lookup(procs: Rc<RefCell<Procs>>) -> super::attribution::ProcessLookup {
    Box::new(move |client, server| procs.borrow_mut().verdict(client, server))
}

/// The state of one live session.
struct Live {
    run: Analysis,
    printer: Printer,
    procs: Rc<RefCell<Procs>>,
    writer: Option<PcapngWriter<BufWriter<std::fs::File>>>,
    /// `--write`'s path, for its errors.
    write_path: std::path::PathBuf,
    /// The key log being followed, and how warnings name it.
    keylog: Option<(KeyLogTail, String)>,
    delayed: Delay,
    had_keys: bool,
    packets: u64,
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
        let procs = Procs {
            table: ProcTable::new("/proc"),
            tree: None,
            at_syn: HashMap::new(),
            redact: s.output.redact,
            unattributed: 0,
        };
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
            procs: Rc::new(RefCell::new(procs)),
            writer,
            write_path: l.write.clone().unwrap_or_default(),
            keylog: None,
            delayed: Delay::default(),
            had_keys: false,
            packets: 0,
            last_tick: Instant::now(),
            policy: s.policy.clone(),
        })
    }

    /// One read; true when it timed out without a packet.
    fn step(&mut self, source: &mut LiveSource) -> Result<bool> {
        let idle = match source.next_event()? {
            LiveEvent::Frame(f) => {
                self.frame(&f)?;
                false
            }
            LiveEvent::Idle => true,
        };
        if idle || self.last_tick.elapsed() >= TICK {
            self.tick(source)?;
        }
        Ok(idle)
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
        if let Ok(seg) = crate::decode::decode(f.link, f.data)
            && seg.flags.syn()
            && !seg.flags.ack()
        {
            self.procs.borrow_mut().syn(seg.src, seg.dst);
        }
        if self.keylog.is_some() {
            self.delayed.push(f);
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
        if !all && !self.delayed.due() {
            return Ok(());
        }
        self.read_keys()?;
        while let Some(f) = self.delayed.pop(all) {
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

    fn tick(&mut self, source: &mut LiveSource) -> Result<()> {
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
        self.printer.status(self.packets, source.dropped());
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
        source: &mut LiveSource,
        s: &Settings,
        command_exit: Option<i32>,
    ) -> Result<Outcome> {
        self.release(true)?;
        self.pump()?;
        self.printer.clear_status();
        let dropped = source.dropped();
        if let Some(d) = dropped {
            self.run.note(SourceNote::Dropped(d));
        }
        if let Some(mut w) = self.writer.take() {
            w.flush().map_err(|source| Error::SaveCapture {
                option: "--write",
                path: self.write_path.clone(),
                source,
            })?;
        }
        let not_attributed = self.run.engine.not_attributed();
        let unknown = self.procs.borrow().unattributed;
        let had_keys = self.had_keys;
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
                if dropped.is_none() {
                    report.capture.dropped = None;
                }
                warn_live(report, not_attributed, had_keys);
                if unknown > 0 {
                    report.quality.warnings.push(format!(
                        "{unknown} connections closed before their process could be looked up: \
                         kept, they may not be the command's"
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

/// How long frames wait for the key log when one is followed. A TLS 1.3 server sends its
/// encrypted handshake before the client has even read the ServerHello and written the secrets
/// that open it; a short delay lets every secret reach the key log before its records are read.
const KEY_DELAY: Duration = Duration::from_millis(250);
/// Bytes held at most while waiting (a burst beyond it is processed at once): memory stays flat.
const MAX_DELAYED_BYTES: usize = 64 << 20;

/// Frames copied on arrival, waiting [`KEY_DELAY`].
#[derive(Default)]
struct Delay {
    frames: VecDeque<Held>,
    bytes: usize,
}

struct Held {
    arrived: Instant,
    ts: Timestamp,
    link: LinkType,
    data: Vec<u8>,
    orig_len: u32,
}

impl Held {
    fn frame(&self) -> Frame<'_> {
        Frame {
            ts: self.ts,
            link: self.link,
            data: &self.data,
            orig_len: self.orig_len,
        }
    }
}

impl Delay {
    fn push(&mut self, f: &Frame<'_>) {
        self.bytes += f.data.len();
        self.frames.push_back(Held {
            arrived: Instant::now(),
            ts: f.ts,
            link: f.link,
            data: f.data.to_vec(),
            orig_len: f.orig_len,
        });
    }

    fn due(&self) -> bool {
        self.bytes > MAX_DELAYED_BYTES
            || self
                .frames
                .front()
                .is_some_and(|h| h.arrived.elapsed() >= KEY_DELAY)
    }

    /// The oldest frame if it is due (or if `all`).
    fn pop(&mut self, all: bool) -> Option<Held> {
        if !all && !self.due() {
            return None;
        }
        let h = self.frames.pop_front()?;
        self.bytes -= h.data.len();
        Some(h)
    }
}

/// What only live capture knows, said where the report's reader looks for completeness.
fn warn_live(report: &mut Report, (conns, attempts): (u64, u64), had_keys: bool) {
    let w = &mut report.quality.warnings;
    if let Some(d) = report.capture.dropped.filter(|d| *d > 0) {
        w.push(format!(
            "{d} packets dropped by the kernel or interface: requests may be missing"
        ));
    }
    if conns + attempts > 0 {
        w.push(format!(
            "{conns} connections and {attempts} connection attempts of other processes left out \
             (--all-traffic reports them)"
        ));
    }
    let opaque = report.quality.tls_not_decrypted;
    if opaque > 0 {
        let why = if had_keys {
            "a key log was collected but these sessions could not be decrypted with it"
        } else {
            "no TLS key log was available"
        };
        w.push(format!(
            "{opaque} TLS sessions were not decrypted ({why}): their requests are not listed"
        ));
    }
}

fn wall_clock() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_secs_nanos(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        d.subsec_nanos(),
    )
}
