//! The live loop without root: a real capture from fixtures/captures (see fixtures/README.md)
//! replayed by a fake source on a fake clock, so `--count`, `--duration`, draining after the
//! command and Ctrl-C are checked exactly, against the fixture's labels (fixtures/labels), and
//! without waiting. The root-only loopback tests (tests/integration/live.rs) show the rest.

use super::*;
use crate::cli::{Cli, Command};
use crate::source::procs::{Process, ProcessLookup};
use crate::source::{FileSource, FrameSource, SourceItem};
use clap::Parser;
use serde_json::Value;
use std::cell::Cell;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

const MS: Duration = Duration::from_millis(1);

/// Moves only when the replay waits; its wall clock starts at the capture's first frame, as a
/// live capture's frames are stamped with the wall clock.
struct FakeClock {
    start: Instant,
    now: Cell<Instant>,
    wall0: Cell<Timestamp>,
}

impl FakeClock {
    fn elapsed(&self) -> Duration {
        self.now.get() - self.start
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.now.get()
    }

    fn wall(&self) -> Timestamp {
        Timestamp(self.wall0.get().0 + self.elapsed().as_nanos() as i64)
    }
}

/// A fixture's frames, each arriving at its offset from the first (or, with `pace`, one every
/// `pace`), as the capture thread would hand them over: a wait ends when a frame arrives, and
/// every frame arrived by then comes in one batch. The clock's wall time starts at the first.
struct Replay {
    clock: Rc<FakeClock>,
    link: LinkType,
    /// (arrival after the start, the frame as captured).
    frames: Vec<(Duration, Timestamp, Vec<u8>, u32)>,
    next: usize,
    stopped: bool,
    /// Ctrl-C is pressed as the frame of each index arrives.
    interrupts: Arc<AtomicU32>,
    interrupt_at: Vec<usize>,
}

impl Replay {
    fn new(fixture: &str, clock: &Rc<FakeClock>, pace: Option<Duration>) -> Replay {
        let path = fixtures().join("captures").join(fixture);
        let mut src = FileSource::open(&path).unwrap();
        let (mut frames, mut link) = (Vec::new(), LinkType::ETHERNET);
        while let Some(item) = src.next_item().unwrap() {
            if let SourceItem::Frame(f) = item {
                let first = frames.first().map_or(f.ts, |(_, ts, _, _)| *ts);
                let at = match pace {
                    Some(p) => p * frames.len() as u32,
                    None => Duration::from_nanos((f.ts.0 - first.0) as u64),
                };
                link = f.link;
                frames.push((at, f.ts, f.data.to_vec(), f.orig_len));
            }
        }
        clock.wall0.set(frames[0].1);
        Replay {
            clock: clock.clone(),
            link,
            frames,
            next: 0,
            stopped: false,
            interrupts: Arc::default(),
            interrupt_at: Vec::new(),
        }
    }

    fn arrival(&self, i: usize) -> Duration {
        self.frames[i].0
    }

    /// How many frames have arrived by `t`.
    fn arrived_by(&self, t: Duration) -> usize {
        self.frames.iter().take_while(|f| f.0 <= t).count()
    }
}

impl LiveFrames for Replay {
    fn recv(&mut self, wait: Duration) -> Received {
        // The wait ends when the next frame arrives (stopped, nothing more arrives).
        let now = self.clock.elapsed();
        if !self.stopped {
            let to = self
                .frames
                .get(self.next)
                .map_or(now + wait, |f| now.max(f.0.min(now + wait)));
            self.clock.now.set(self.clock.start + to);
        }
        let mut b = Batch::default();
        while let Some((at, ts, data, orig_len)) = self.frames.get(self.next) {
            if *at > self.clock.elapsed() {
                break;
            }
            b.push(&Frame {
                ts: *ts,
                link: self.link,
                data,
                orig_len: *orig_len,
            });
            for _ in self.interrupt_at.iter().filter(|i| **i == self.next) {
                self.interrupts.fetch_add(1, Ordering::SeqCst);
            }
            self.next += 1;
        }
        match (b.is_empty(), self.stopped) {
            (false, _) => Received::Batch(b),
            (true, true) => Received::Ended,
            (true, false) => Received::Idle,
        }
    }

    fn link(&self) -> LinkType {
        self.link
    }

    fn drops(&self) -> Drops {
        Drops::default()
    }

    fn stop(&mut self) -> std::result::Result<Drops, crate::source::live::LiveError> {
        self.stopped = true;
        Ok(Drops::default())
    }
}

/// A host where no socket can be found: `capture` keeps every connection unnamed, `run` in its
/// cgroup names the command.
struct NoSockets;

impl ProcessLookup for NoSockets {
    fn owner(&mut self, _: SocketAddr, _: SocketAddr) -> Option<Process> {
        None
    }
    fn owner_in_tree(
        &mut self,
        _: SocketAddr,
        _: SocketAddr,
        _: u32,
        _: &mut HashSet<u32>,
    ) -> Option<Process> {
        None
    }
    fn is_open(&self, _: SocketAddr, _: SocketAddr) -> bool {
        false
    }
    fn descendants(&self, root: u32) -> Vec<u32> {
        vec![root]
    }
}

/// The command of `run`: exits on its own at `exits` after the start (never when None), or
/// when killed.
struct FakeChild {
    clock: Rc<FakeClock>,
    exits: Option<Duration>,
    killed: Option<Duration>,
}

impl Child for FakeChild {
    fn try_wait(&mut self) -> Result<Option<i32>> {
        Ok(match (self.killed, self.exits) {
            (Some(_), _) => Some(128 + 9),
            (None, Some(at)) if self.clock.elapsed() >= at => Some(3),
            _ => None,
        })
    }

    fn kill(&mut self) {
        self.killed.get_or_insert(self.clock.elapsed());
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A session as `capture FLAGS` sets it up, its JSON report to `dir`, on a fake clock.
fn session(flags: &[&str], dir: &Path) -> (Live, Settings, CaptureArgs, Rc<FakeClock>) {
    let report = dir.join("report.json");
    let argv: Vec<String> = ["s3wire", "capture", "-i", "lo", "--no-aws-config"]
        .iter()
        .copied()
        .chain(flags.iter().copied())
        .map(String::from)
        .chain(["--format".into(), "json".into(), "-o".into()])
        .chain([report.display().to_string()])
        .collect();
    let Command::Capture(args) = Cli::parse_from(&argv).command else {
        unreachable!("a capture command line")
    };
    let s = settings(&args.policy, &args.output, &args.limits, argv, &args.live).unwrap();
    let printer = Printer::for_capture(&s.output, &args.output).unwrap();
    let start = Instant::now();
    let clock = Rc::new(FakeClock {
        start,
        now: Cell::new(start),
        wall0: Cell::new(Timestamp::ZERO),
    });
    let procs = Procs::with_table(Box::new(NoSockets), true);
    let mut live = Live::new(&s, &args.live, printer, procs, clock.clone()).unwrap();
    live.limit = args.count.unwrap_or(u64::MAX);
    (live, s, args, clock)
}

/// `capture FLAGS` of `replay` until it stops by itself; its exit and JSON report.
fn capture(mut live: Live, s: &Settings, args: &CaptureArgs, replay: Replay) -> (Outcome, Value) {
    let interrupts = replay.interrupts.clone();
    let mut source = live.frames(replay);
    let duration = args.duration.map(Duration::from_secs_f64);
    live.capture_loop(&mut source, &interrupts, duration)
        .unwrap();
    let outcome = live.finish(&mut source, s, None).unwrap();
    (outcome, report(s))
}

fn report(s: &Settings) -> Value {
    let path = s.output.path.clone().unwrap();
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// (method, operation, status) of each request reported.
fn requests(report: &Value) -> Vec<(String, String, String)> {
    let rows = report["requests"].as_array().unwrap();
    rows.iter().map(triple).collect()
}

/// (method, operation, status) of each request the client made, from the fixture's labels.
fn labels(fixture: &str) -> Vec<(String, String, String)> {
    let path = fixtures().join("labels").join(format!("{fixture}.jsonl"));
    let text = std::fs::read_to_string(path).unwrap();
    let rows = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap());
    rows.map(|r| triple(&r)).collect()
}

/// Checks that a capture cut short reported the client's first requests, each in full (its
/// status too), as many as the labels allow: at least those the client had seen answered by the
/// last frame analysed, at most those it had begun (a label's `time` is taken before the request
/// is sent, `time_done` after its answer is read).
fn assert_labelled_prefix(fixture: &str, report: &Value) {
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let last = time(&report["capture"]["last"]);
    let path = fixtures().join("labels").join(format!("{fixture}.jsonl"));
    let text = std::fs::read_to_string(path).unwrap();
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let answered = rows
        .iter()
        .filter(|r| time(&r["time_done"]) <= last)
        .count();
    let begun = rows.iter().filter(|r| time(&r["time"]) <= last).count();
    let seen = requests(report);
    assert_eq!(seen, labels(fixture)[..seen.len()]);
    assert!(
        (answered..=begun).contains(&seen.len()),
        "{} requests, {answered} answered, {begun} begun",
        seen.len()
    );
    assert!(seen.len() > 5 && seen.len() < rows.len(), "{}", seen.len());
}

fn triple(r: &Value) -> (String, String, String) {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    (
        text(&r["method"]),
        text(&r["operation"]),
        r["status"].to_string(),
    )
}

#[test]
fn a_fixture_captured_live_gives_every_labelled_request_and_stops_at_the_duration() {
    let dir = tempfile::tempdir().unwrap();
    let (live, s, args, clock) = session(&["--duration", "5"], dir.path());
    let replay = Replay::new("boto3-plain.pcap", &clock, None);
    let (outcome, report) = capture(live, &s, &args, replay);
    assert_eq!(requests(&report), labels("boto3-plain"));
    assert_eq!(requests(&report).len(), 39);
    assert_eq!(report["capture"]["packets"], 466);
    assert_eq!(report["capture"]["drops"]["kernel"], 0);
    assert_eq!(outcome, Outcome::Clean, "its endpoint is plaintext");
    // No frame after 0.457 s: the loop waits a tick at a time until the deadline has passed.
    let over = clock.elapsed();
    assert!(over >= 5000 * MS && over < 5000 * MS + TICK, "{over:?}");
}

#[test]
fn plaintext_to_an_https_endpoint_is_judged_and_fails_the_capture() {
    let dir = tempfile::tempdir().unwrap();
    let https = [
        "--endpoint",
        "https://s3.local.test:5000",
        "--duration",
        "3",
    ];
    let (live, s, args, clock) = session(&https, dir.path());
    let replay = Replay::new("boto3-plain.pcap", &clock, None);
    let (outcome, report) = capture(live, &s, &args, replay);
    assert_eq!(outcome, Outcome::Findings);
    let findings = report["findings"].as_array().unwrap();
    let kind = |k: &str| findings.iter().filter(|f| f["kind"] == k).count();
    // One per labelled request, the presigned GET (sent by urllib) too.
    assert_eq!(kind("plaintext-to-https-endpoint"), 39);
    assert_eq!(
        report["summary"]["failing_findings"], 39,
        "the exit status's cause"
    );
}

#[test]
fn duration_stops_at_the_deadline_with_the_frames_the_last_wait_returned() {
    let dir = tempfile::tempdir().unwrap();
    let (live, s, args, clock) = session(&["--duration", "0.25"], dir.path());
    let replay = Replay::new("boto3-plain.pcap", &clock, None);
    let deadline = 250 * MS;
    // The loop reads until the deadline; the read waiting then returns the first frames that
    // arrive after it, like a real read that was waiting for them.
    let before = replay.arrived_by(deadline - Duration::from_nanos(1));
    let last = replay.arrival(before);
    let expected = replay.arrived_by(last);
    assert!(before > 50 && expected > before, "{before} {expected}");
    let (_, report) = capture(live, &s, &args, replay);
    assert_eq!(report["capture"]["packets"], expected as u64);
    assert_eq!(clock.elapsed(), last);
    assert_labelled_prefix("boto3-plain", &report);
}

#[test]
fn count_analyses_exactly_that_many_frames() {
    let dir = tempfile::tempdir().unwrap();
    let (live, s, args, clock) = session(&["--count", "100"], dir.path());
    let replay = Replay::new("boto3-plain.pcap", &clock, None);
    let (_, report) = capture(live, &s, &args, replay);
    assert_eq!(report["capture"]["packets"], 100);
    assert_labelled_prefix("boto3-plain", &report);
}

#[test]
fn ctrl_c_ends_the_capture_and_what_came_before_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (live, s, args, clock) = session(&[], dir.path());
    let mut replay = Replay::new("boto3-plain.pcap", &clock, Some(10 * MS));
    replay.interrupt_at = vec![199];
    let (_, report) = capture(live, &s, &args, replay);
    assert_eq!(report["capture"]["packets"], 200);
    assert_eq!(clock.elapsed(), 1990 * MS, "stopped as it came");
    assert_labelled_prefix("boto3-plain", &report);
}

/// `run`'s loop on boto3-plain.pcap, a frame every 10 ms, Ctrl-C pressed as the frames of
/// `interrupt_at` arrive, and a command that exits by itself at `exits`: the report, the
/// command, and the time the loop ended.
fn run(interrupt_at: Vec<usize>, exits: Option<Duration>) -> (Value, FakeChild, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let (mut live, s, _, clock) = session(&[], dir.path());
    lock(&live.procs).exact = Some(procs::command_info(&["boto3".into()], 100, true));
    live.summary.attribution = Some(AttributionMode::Cgroup);
    let mut replay = Replay::new("boto3-plain.pcap", &clock, Some(10 * MS));
    replay.interrupt_at = interrupt_at;
    let interrupts = replay.interrupts.clone();
    let mut child = FakeChild {
        clock: clock.clone(),
        exits,
        killed: None,
    };
    let mut source = live.frames(replay);
    let code = live.run_loop(&mut source, &interrupts, &mut child).unwrap();
    let ended = clock.elapsed();
    live.finish(&mut source, &s, code).unwrap();
    (report(&s), child, ended)
}

#[test]
fn run_drains_for_a_while_after_the_command_exits() {
    let (report, child, ended) = run(Vec::new(), Some(1000 * MS));
    // Seen to exit with the frame at 1000 ms; the frames of the next 300 ms are still read.
    assert_eq!(ended, 1000 * MS + DRAIN);
    assert_eq!(report["capture"]["packets"], 131);
    assert_eq!(report["capture"]["command_exit"], 3);
    assert_eq!(report["capture"]["attribution"], "cgroup");
    assert_eq!(child.killed, None);
    assert_labelled_prefix("boto3-plain", &report);
}

#[test]
fn in_run_the_first_ctrl_c_is_the_commands_and_the_second_kills_it() {
    let (report, child, ended) = run(vec![50, 100], None);
    assert_eq!(
        child.killed,
        Some(1000 * MS),
        "at the second, not the first (500 ms)"
    );
    assert_eq!(ended, 1000 * MS + DRAIN, "then the usual drain");
    assert_eq!(report["capture"]["packets"], 131);
    assert_eq!(report["capture"]["command_exit"], 128 + 9);
}

#[test]
fn in_run_one_ctrl_c_leaves_the_command_to_end_when_it_will() {
    let (report, child, ended) = run(vec![50], Some(4700 * MS));
    assert_eq!(child.killed, None);
    // The last frame at 4650 ms, then a wait of a tick at a time: the exit is seen at 4850 ms,
    // and the drain is over at the second tick after it.
    assert_eq!(ended, 4850 * MS + 2 * TICK);
    assert_eq!(
        report["capture"]["packets"], 466,
        "every frame (the last at 4650 ms)"
    );
    assert_eq!(requests(&report), labels("boto3-plain"));
}

#[test]
fn behind_the_key_log_delay_tls_is_decrypted_and_written_after_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("out.pcapng");
    let flags = ["--duration", "2", "-w", written.to_str().unwrap()];
    let (mut live, s, args, clock) = session(&flags, dir.path());
    let keys = fixtures().join("captures/boto3-tls.keys");
    live.follow_keylog(KeyLogTail::open(&keys).unwrap(), "boto3-tls.keys".into());
    let replay = Replay::new("boto3-tls.pcap", &clock, None);
    let (_, report) = capture(live, &s, &args, replay);
    assert_eq!(requests(&report), labels("boto3-tls"));
    assert_eq!(report["capture"]["packets"], 147);
    assert_eq!(report["quality"]["tls_not_decrypted"], 0);
    let schemes = report["requests"].as_array().unwrap().iter();
    assert!(schemes.clone().all(|r| r["scheme"] == "https"));
    // The key log's lines, read before the first frame was handed on, open the file.
    let mut file = FileSource::open(&written).unwrap();
    let mut items = Vec::new();
    while let Some(item) = file.next_item().unwrap() {
        items.push(matches!(item, SourceItem::Frame(_)));
    }
    assert_eq!(items.len(), 148);
    assert!(!items[0] && items[1..].iter().all(|frame| *frame));
}
