//! `analyze -` on a pipe that stays open (issue 12: `ssh host 'tcpdump -U -w -' | s3wire analyze
//! -`): requests come out while the pipe is open, Ctrl-C (SIGINT) ends the input and the full
//! report follows, a second one quits with 130. No timing is asserted: output is polled for with
//! generous deadlines, and signals are sent once the process shows it is ready for them.

use crate::harness::{fixtures_dir, s3wire};
use serde_json::Value;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// Long enough for a loaded machine; a test only waits this long when it is failing.
const DEADLINE: Duration = Duration::from_secs(20);
const ENDPOINT: &str = "https://s3.local.test";

/// A real boto3 capture: 7 plaintext requests to an endpoint configured as HTTPS, 14 findings.
fn capture() -> Vec<u8> {
    std::fs::read(fixtures_dir().join("captures/downgrade-forwarded.pcap")).unwrap()
}

fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_s3wire"));
    c.args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent/s3wire-test-config")
        .env("NO_COLOR", "1");
    c
}

/// `s3wire analyze - ARGS…` reading a pipe the test writes `bytes` into and keeps open.
fn spawn_on_pipe(args: &[&str], bytes: &[u8]) -> (Child, Output) {
    let mut child = command(&["analyze", "-", "--no-aws-config", "--endpoint", ENDPOINT])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run s3wire");
    child.stdin.as_mut().unwrap().write_all(bytes).unwrap();
    let out = Output::read(child.stdout.take().unwrap());
    (child, out)
}

/// Standard output as it arrives, read on a thread so the test can poll it with a deadline.
struct Output {
    rx: Receiver<Vec<u8>>,
    seen: Vec<u8>,
    closed: bool,
}

impl Output {
    fn read(mut from: impl Read + Send + 'static) -> Output {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut buf = [0; 8192];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Output {
            rx,
            seen: Vec::new(),
            closed: false,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    /// Waits until what was written so far satisfies `done`; false at the deadline or when the
    /// output closed without it.
    fn wait_for(&mut self, done: impl Fn(&str) -> bool) -> bool {
        let end = Instant::now() + DEADLINE;
        while !done(&self.text()) {
            let left = end.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(bytes) => self.seen.extend(bytes),
                Err(_) => return false,
            }
        }
        true
    }

    /// Everything, up to the end of the output.
    fn rest(&mut self) -> String {
        if !self.closed {
            let closed = self.wait_for_close();
            assert!(closed, "output still open: {}", self.text());
        }
        self.text()
    }

    fn wait_for_close(&mut self) -> bool {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(bytes) => self.seen.extend(bytes),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    self.closed = true;
                    return true;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => return false,
            }
        }
    }
}

/// `kill -INT pid`, as Ctrl-C in a terminal would.
fn interrupt(pid: u32) {
    let ok = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// A line of /proc/PID/status, as a signal mask.
fn signal_mask(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .unwrap_or(0)
}

const SIGINT_BIT: u64 = 1 << (2 - 1);

/// Polls until `ready` holds for the process; false at the deadline.
fn wait_until(ready: impl Fn() -> bool) -> bool {
    let end = Instant::now() + DEADLINE;
    while !ready() {
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// The exit code once the process ends; panics at the deadline (after killing it).
fn exit_code(child: &mut Child) -> Option<i32> {
    let end = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() >= end {
            let _ = child.kill();
            panic!("s3wire did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The complete lines of JSON Lines output (the last one may still be on its way).
fn jsonl(text: &str) -> Vec<Value> {
    let whole = text.rfind('\n').map_or("", |i| &text[..i]);
    whole
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of_type<'a>(records: &'a [Value], t: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == t).collect()
}

fn cut_short(warnings: &Value) -> bool {
    warnings.as_array().unwrap().iter().any(|w| {
        w.as_str()
            .unwrap()
            .contains("cut short by the user (Ctrl-C)")
    })
}

#[test]
fn pipe_jsonl_streams_requests_while_open_and_ctrl_c_ends_with_the_full_report() {
    let (mut child, mut out) = spawn_on_pipe(&["--format", "jsonl"], &capture());
    let seven = |t: &str| of_type(&jsonl(t), "request").len() == 7;
    assert!(
        out.wait_for(seven),
        "requests while the pipe is open: {}",
        out.text()
    );
    let streamed = jsonl(&out.text());
    assert!(of_type(&streamed, "summary").is_empty(), "no report yet");
    let ops: Vec<&str> = of_type(&streamed, "request")
        .iter()
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        [
            "CreateBucket",
            "PutObject",
            "HeadObject",
            "GetObject",
            "ListObjectsV2",
            "DeleteObject",
            "DeleteBucket"
        ]
    );

    interrupt(child.id());
    let all = jsonl(&out.rest());
    assert_eq!(exit_code(&mut child), Some(1), "findings, as usual");
    assert_eq!(of_type(&all, "request").len(), 7);
    assert_eq!(of_type(&all, "finding").len(), 14);
    let summary = of_type(&all, "summary");
    assert_eq!(summary[0]["requests"], 7);
    assert_eq!(summary[0]["findings"], 14);
    let quality = of_type(&all, "quality");
    assert!(cut_short(&quality[0]["warnings"]), "{}", quality[0]);
    drop(child.stdin.take());
}

#[test]
fn pipe_json_after_ctrl_c_is_one_complete_document() {
    let (mut child, mut out) = spawn_on_pipe(&["--format", "json"], &capture());
    // The document streams its requests as they are judged.
    let seven = |t: &str| t.matches("{\"id\":").count() == 7;
    assert!(
        out.wait_for(seven),
        "requests while the pipe is open: {}",
        out.text()
    );
    interrupt(child.id());
    let text = out.rest();
    assert_eq!(exit_code(&mut child), Some(1));
    let report: Value = serde_json::from_str(&text).expect("one JSON document");
    assert_eq!(report["requests"].as_array().unwrap().len(), 7);
    assert_eq!(report["findings"].as_array().unwrap().len(), 14);
    assert_eq!(report["summary"]["findings"], 14);
    assert!(cut_short(&report["quality"]["warnings"]));
}

#[test]
fn pipe_cut_inside_a_record_reports_the_whole_ones_and_warns() {
    let whole = capture();
    // Record boundaries of the legacy pcap file (24-byte header, 16-byte record headers).
    let mut at = 24;
    let mut ends = Vec::new();
    while at + 16 <= whole.len() {
        let caplen = u32::from_le_bytes(whole[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
        ends.push(at);
    }
    // The pipe stops 10 bytes into the record after the middle one.
    let cut = ends[ends.len() / 2] + 10;
    let (mut child, mut out) = spawn_on_pipe(&["--format", "jsonl"], &whole[..cut]);
    let some = |t: &str| !of_type(&jsonl(t), "request").is_empty();
    assert!(
        out.wait_for(some),
        "requests before the cut: {}",
        out.text()
    );
    interrupt(child.id());
    let all = jsonl(&out.rest());
    assert_eq!(exit_code(&mut child), Some(1), "no error: findings");
    let requests = of_type(&all, "request");
    assert!((1..7).contains(&requests.len()), "{}", requests.len());
    let warnings = &of_type(&all, "quality")[0]["warnings"];
    assert!(cut_short(warnings), "{warnings}");
    let truncated = format!(
        "bytes into a 16-byte packet record header at offset {}",
        cut - 10
    );
    assert!(
        warnings
            .to_string()
            .contains("capture truncated: file ends 10 ")
            && warnings.to_string().contains(&truncated),
        "{warnings}"
    );
    // The whole requests are the file's first ones, unchanged.
    let file = s3wire(&[
        "analyze",
        fixtures_dir()
            .join("captures/downgrade-forwarded.pcap")
            .to_str()
            .unwrap(),
        "--format",
        "jsonl",
        "--no-aws-config",
        "--endpoint",
        ENDPOINT,
    ]);
    let file = jsonl(&String::from_utf8_lossy(&file.stdout));
    let file_requests = of_type(&file, "request");
    assert_eq!(requests[..], file_requests[..requests.len()]);
}

#[test]
fn second_ctrl_c_quits_at_once_with_130() {
    // The report goes to a FIFO nobody opens: writing it blocks for ever, as a report to a
    // stalled pipe would, and only the second Ctrl-C can end s3wire.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("report");
    mkfifo(&fifo);
    let mut child = command(&["analyze", "-", "--no-aws-config", "--endpoint", ENDPOINT])
        .arg("--output")
        .arg(&fifo)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.as_mut().unwrap().write_all(&capture()).unwrap();
    let pid = child.id();
    assert!(wait_until(|| signal_mask(pid, "SigCgt:") & SIGINT_BIT != 0));
    interrupt(pid);
    // Two signals sent before the first is taken would count as one.
    let taken = || (signal_mask(pid, "SigPnd:") | signal_mask(pid, "ShdPnd:")) & SIGINT_BIT == 0;
    assert!(wait_until(taken));
    interrupt(pid);
    assert_eq!(exit_code(&mut child), Some(130));
}

#[test]
fn pipe_closed_gives_the_report_of_the_file_and_a_file_is_read_as_before() {
    let path = fixtures_dir().join("captures/downgrade-forwarded.pcap");
    let file = s3wire(&[
        "analyze",
        path.to_str().unwrap(),
        "--format",
        "json",
        "--no-aws-config",
        "--endpoint",
        ENDPOINT,
    ]);
    assert_eq!(file.status.code(), Some(1));
    let file: Value = serde_json::from_slice(&file.stdout).unwrap();
    assert_eq!(file["requests"].as_array().unwrap().len(), 7);
    assert!(!cut_short(&file["quality"]["warnings"]));

    let (mut child, mut out) = spawn_on_pipe(&["--format", "json"], &capture());
    drop(child.stdin.take()); // the pipe closes: the end of the input
    let piped: Value = serde_json::from_str(&out.rest()).unwrap();
    assert_eq!(exit_code(&mut child), Some(1));
    for section in [
        "requests", "findings", "attempts", "tls", "summary", "quality",
    ] {
        assert_eq!(piped[section], file[section], "{section}");
    }
}

/// On a terminal, a line per request as in `capture`, then on Ctrl-C (the byte a terminal turns
/// into SIGINT) the table report. `script` (util-linux) gives s3wire a terminal.
#[test]
fn pipe_on_a_terminal_prints_a_line_per_request_then_the_table_on_ctrl_c() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` (util-linux) to give s3wire a terminal");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (fifo, feed) = fifo_holding_the_capture(dir.path());
    let inner = format!(
        "exec '{}' analyze - --no-aws-config --endpoint {ENDPOINT} < '{}'",
        env!("CARGO_BIN_EXE_s3wire"),
        fifo.display()
    );
    let mut script = Command::new("script")
        .args(["-q", "-e", "-f", "-c", &inner, "/dev/null"])
        .env("AWS_CONFIG_FILE", "/nonexistent/s3wire-test-config")
        .env("NO_COLOR", "1")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = Output::read(script.stdout.take().unwrap());
    let lines = |t: &str| t.matches("← PLAINTEXT TO HTTPS ENDPOINT").count() == 7;
    assert!(out.wait_for(lines), "a line per request: {}", out.text());
    assert!(
        out.text()
            .contains("DeleteBucket             fx-downgrade-forwarded 204")
    );
    assert!(!out.text().contains("Summary"), "no report yet");

    script.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
    let text = out.rest();
    assert_eq!(exit_code(&mut script), Some(1));
    assert!(
        text.contains("7 requests went in plaintext to an endpoint configured or proven HTTPS."),
        "{text}"
    );
    assert!(text.contains("cut short by the user (Ctrl-C)"), "{text}");
    drop(feed);
}

/// Ctrl-C on a long file: the report of what was read, with the warning. The file is a pcap
/// header and 2 GB of empty records (sparse: no disk), far more than can be read before the
/// signal comes.
#[test]
fn ctrl_c_on_a_long_file_reports_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.pcap");
    let header = &capture()[..24];
    let size: u64 = 2 << 30;
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(header).unwrap();
    file.set_len(size).unwrap();
    drop(file);
    let mut child = command(&["analyze", path.to_str().unwrap(), "--format", "json"])
        .args(["--no-aws-config", "--endpoint", ENDPOINT])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = Output::read(child.stdout.take().unwrap());
    let pid = child.id();
    assert!(wait_until(|| signal_mask(pid, "SigCgt:") & SIGINT_BIT != 0));
    interrupt(pid);
    let report: Value = serde_json::from_str(&out.rest()).expect("one JSON document");
    assert_eq!(
        exit_code(&mut child),
        Some(0),
        "no finding in empty records"
    );
    let packets = report["capture"]["packets"].as_u64().unwrap();
    assert!(packets < (size - 24) / 16, "{packets}: cut before the end");
    let warnings = report["quality"]["warnings"].to_string();
    assert!(
        warnings.contains("cut short by the user (Ctrl-C)"),
        "{warnings}"
    );
    assert!(warnings.contains(path.to_str().unwrap()), "{warnings}");
}

/// A FIFO named on the command line is followed like standard input (and read once: checking
/// its header before the analysis must not lose it).
#[test]
fn named_fifo_is_followed_like_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, feed) = fifo_holding_the_capture(dir.path());
    let mut child = command(&["analyze", fifo.to_str().unwrap(), "--format", "jsonl"])
        .args(["--no-aws-config", "--endpoint", ENDPOINT])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = Output::read(child.stdout.take().unwrap());
    let seven = |t: &str| of_type(&jsonl(t), "request").len() == 7;
    assert!(
        out.wait_for(seven),
        "requests while the FIFO is open: {}",
        out.text()
    );
    interrupt(child.id());
    let all = jsonl(&out.rest());
    assert_eq!(exit_code(&mut child), Some(1));
    assert_eq!(of_type(&all, "summary")[0]["findings"], 14);
    drop(feed);
}

/// A named pipe at `path`.
fn mkfifo(path: &std::path::Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

/// A FIFO in `dir` with the fixture capture written into it, and the handle that keeps it open
/// (read and write: the capture waits in the FIFO until s3wire reads it, and the FIFO stays
/// open after, like a pipe from a capture still running).
fn fifo_holding_the_capture(dir: &std::path::Path) -> (std::path::PathBuf, std::fs::File) {
    let fifo = dir.join("capture");
    mkfifo(&fifo);
    let mut feed = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    feed.write_all(&capture()).unwrap();
    (fifo, feed)
}
