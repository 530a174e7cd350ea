//! Live capture for real, on loopback: `s3wire run` around a boto3 session and `s3wire capture`
//! while a client talks to moto. Needs root (capturing) and the servers of `scripts/test-servers`
//! (moto on 127.0.0.1:25480, nginx TLS on :25443 for s3.local.test). Without root these tests
//! skip with a message; without the servers they skip locally but fail when `CI` is set, since
//! `.ci/run` starts them.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};

const PLAIN: &str = "http://s3.local.test:25480";
const TLS: &str = "https://s3.local.test:25443";
/// Only the test servers' traffic: other processes on a busy machine cannot flood the capture.
const FILTER: &str = "tcp port 25480 or tcp port 25443";

/// A boto3 session: three calls to the HTTPS endpoint, then one DeleteObject sent by a second
/// client configured (by mistake) with the plaintext port of the same host.
const BOTO3_SESSION: &str = r#"
import sys, boto3, botocore.config
tls_url, plain_url, ca = sys.argv[1:4]
cfg = botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
kw = dict(aws_access_key_id="AKIALIVETEST00000000", aws_secret_access_key="not/a/secret",
          region_name="us-east-1", config=cfg)
tls = boto3.client("s3", endpoint_url=tls_url, verify=ca, **kw)
plain = boto3.client("s3", endpoint_url=plain_url, **kw)
tls.create_bucket(Bucket="fx-live-run")
tls.put_object(Bucket="fx-live-run", Key="report.txt", Body=b"hello")
tls.get_object(Bucket="fx-live-run", Key="report.txt")["Body"].read()
plain.delete_object(Bucket="fx-live-run", Key="report.txt")
print("session done")
"#;

/// Four plain-HTTP calls with boto3 to moto directly.
const PLAIN_SESSION: &str = r#"
import sys, boto3, botocore.config
cfg = botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id="AKIALIVETEST00000000",
                  aws_secret_access_key="not/a/secret", region_name="us-east-1", config=cfg)
bucket = sys.argv[2]
s3.create_bucket(Bucket=bucket)
s3.put_object(Bucket=bucket, Key="a.txt", Body=b"abc")
s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read()
s3.delete_object(Bucket=bucket, Key="a.txt")
"#;

/// One plaintext GET on a raw socket, kept open a second after the answer (argv: host, port,
/// bucket).
const HELD_GET: &str = r#"
import socket, sys, time
host, port, bucket = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port))
s.sendall(f"GET /{bucket}/held.txt HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
s.recv(65536)
time.sleep(1)
s.close()
"#;

struct Servers {
    python: PathBuf,
    ca: PathBuf,
    /// The tests share the servers' ports: one live test at a time, or each sees the other's
    /// traffic — within this process (the mutex) and across test runs on one machine (the lock
    /// file, released when dropped).
    _turn: (MutexGuard<'static, ()>, std::fs::File),
}

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn take_turn(state: &std::path::Path) -> (MutexGuard<'static, ()>, std::fs::File) {
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(state.join("live-tests.lock"))
        .unwrap();
    file.lock().unwrap();
    (guard, file)
}

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap_or(false)
}

/// The servers, or None (the test then returns) after saying why.
fn servers(test: &str) -> Option<Servers> {
    if !is_root() {
        eprintln!("SKIP {test}: needs root (live capture)");
        return None;
    }
    let state = std::env::var_os("S3WIRE_TEST_SERVERS")
        .map_or_else(|| PathBuf::from("/tmp/s3wire-test-servers"), PathBuf::from);
    let (python, ca) = (state.join("venv/bin/python"), state.join("server.crt"));
    let up = python.exists()
        && ca.exists()
        && TcpStream::connect("127.0.0.1:25480").is_ok()
        && TcpStream::connect("127.0.0.1:25443").is_ok();
    if up {
        let _turn = take_turn(&state);
        return Some(Servers { python, ca, _turn });
    }
    let why = format!(
        "{test}: test servers not running (scripts/test-servers setup && scripts/test-servers start)"
    );
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("SKIP {why}");
    None
}

fn s3wire() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_s3wire"));
    c.env("AWS_CONFIG_FILE", "/nonexistent/s3wire-test-config")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_PROFILE")
        .env("NO_COLOR", "1");
    c
}

fn json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn ops(report: &Value) -> Vec<(String, String, String, String)> {
    ops_in(report, None)
}

/// (scheme, method, operation, status) of each request, of one bucket when given.
fn ops_in(report: &Value, bucket: Option<&str>) -> Vec<(String, String, String, String)> {
    report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| bucket.is_none_or(|b| r["bucket"] == b))
        .map(|r| {
            (
                r["scheme"].as_str().unwrap_or("").to_string(),
                r["method"].as_str().unwrap_or("").to_string(),
                r["operation"].as_str().unwrap_or("unknown").to_string(),
                r["status"].to_string(),
            )
        })
        .collect()
}

/// A capture written during a test, analysed offline against the TLS endpoint: (exit status,
/// JSON report).
fn analyze_offline(capture: &std::path::Path) -> (i32, Value) {
    let out = s3wire()
        .args([
            "analyze",
            "--endpoint",
            TLS,
            "--no-aws-config",
            "--format",
            "json",
        ])
        .arg(capture)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (code(&out), report)
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[test]
fn run_reports_the_commands_plaintext_delete_with_its_process() {
    let Some(srv) = servers("run_reports_the_commands_plaintext_delete_with_its_process") else {
        return;
    };
    let (dir, out) = run_boto3_session(&srv);
    let (report, keys) = (dir.path().join("report.json"), dir.path().join("keys.txt"));
    let pcapng = dir.path().join("run.pcapng");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The command's own output passes through untouched; s3wire's verdict is the exit status.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "session done\n",
        "{stderr}"
    );
    assert_eq!(code(&out), 1, "{stderr}");
    assert!(
        stderr.contains("the command exited with status 0"),
        "{stderr}"
    );
    let r = json(&report);
    assert_eq!(r["capture"]["command_exit"], 0);
    assert_eq!(r["capture"]["dropped"], 0);

    let got = ops(&r);
    let delete = (
        "http".into(),
        "DELETE".into(),
        "DeleteObject".into(),
        "204".into(),
    );
    assert!(got.contains(&delete), "{got:?}");
    // The HTTPS calls were decrypted with the key log the command wrote.
    for op in ["CreateBucket", "PutObject", "GetObject"] {
        let want = ("https".to_string(), op.to_string());
        assert!(
            got.iter().any(|g| (g.0.clone(), g.2.clone()) == want),
            "{op}: {got:?}"
        );
    }
    // The command's four requests, each with its process, and nothing else: with nftables and
    // cgroup v2 (issue 11), the command runs in a cgroup of its own and only that cgroup's
    // packets are captured, so nginx's own legs to moto are never seen; without, its process
    // is looked up in /proc and the report says attribution was not exact.
    let exact = Command::new("nft")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let requests = r["requests"].as_array().unwrap();
    let owners: Vec<String> = requests
        .iter()
        .map(|q| {
            format!(
                "{} {} {} {}",
                q["scheme"], q["method"], q["client"], q["process"]["name"]
            )
        })
        .collect();
    let warnings = r["quality"]["warnings"].to_string();
    if exact {
        assert_eq!(r["capture"]["attribution"], "cgroup", "{warnings}");
        assert_eq!(requests.len(), 4, "the command's requests only: {owners:?}");
        for q in requests {
            assert_eq!(q["owner"], "command", "{q}");
        }
    } else {
        assert_eq!(r["capture"]["attribution"], "proc");
        assert!(
            warnings.contains("exact attribution unavailable"),
            "{warnings}"
        );
    }
    let mine: Vec<&Value> = requests
        .iter()
        .filter(|q| q["process"].is_object())
        .collect();
    assert_eq!(mine.len(), 4, "{got:?}; owners: {owners:?}");
    for q in &mine {
        let name = q["process"]["name"].as_str().unwrap_or("");
        assert!(name.starts_with("python"), "{q}");
        assert!(
            q["process"]["cmdline"].as_str().unwrap().contains("boto3"),
            "{q}"
        );
    }

    let findings = r["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["kind"] == "plaintext-to-https-endpoint"
            && f["operation"] == "DeleteObject"),
        "{findings:?}"
    );
    // The written capture carries the secrets (before the records they open): it decrypts alone.
    let (_, offline) = analyze_offline(&pcapng);
    assert_eq!(offline["tls"][0]["decrypted"], true, "{}", offline["tls"]);
    let offline_ops = ops(&offline);
    assert!(
        offline_ops
            .iter()
            .any(|o| o.0 == "https" && o.2 == "PutObject"),
        "{offline_ops:?}"
    );
    let kept = std::fs::read_to_string(&keys).unwrap();
    assert!(
        kept.contains("CLIENT_TRAFFIC_SECRET_0"),
        "key log kept: {kept}"
    );

    // The sanitized capture written in the same pass: analysed alone, the same plaintext
    // requests and findings as the report; none of the key log's secrets, no signature.
    let sanitized = dir.path().join("sanitized.pcapng");
    let (_, clean) = analyze_offline(&sanitized);
    let plain = |r: &Value| -> Vec<(String, String, String, String)> {
        ops(r).into_iter().filter(|o| o.0 == "http").collect()
    };
    assert_eq!(
        plain(&clean),
        plain(&r),
        "plaintext requests, sanitized vs live"
    );
    let kinds = |r: &Value| -> Vec<(String, String)> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["kind"].to_string(), f["operation"].to_string()))
            .collect()
    };
    assert_eq!(kinds(&clean), kinds(&r));
    assert_eq!(
        clean["tls"][0]["decrypted"], false,
        "no key log travels with it"
    );
    let bytes = std::fs::read(&sanitized).unwrap();
    for line in kept.lines() {
        let secret = line.split_whitespace().nth(2).unwrap_or("");
        assert!(
            secret.len() < 32 || !contains(&bytes, secret.as_bytes()),
            "a key log secret in the sanitized capture"
        );
    }
    let signed = std::fs::read(&pcapng).unwrap();
    assert!(
        contains(&signed, b"Signature="),
        "the raw capture has signatures"
    );
    let mut rest = &bytes[..];
    while let Some(at) = find(rest, b"Signature=") {
        let value = &rest[at + 10..];
        assert!(
            value.starts_with(b"<redacted>"),
            "a signature left in the sanitized capture"
        );
        rest = value;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

/// One `s3wire run` of the boto3 session against the loopback servers, into a fresh directory
/// (report.json, keys.txt, run.pcapng).
fn run_boto3_session(srv: &Servers) -> (tempfile::TempDir, std::process::Output) {
    run_boto3_session_with(srv, &[])
}

/// The same, with variables added to s3wire's environment.
fn run_boto3_session_with(
    srv: &Servers,
    env: &[(&str, &str)],
) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let (report, keys) = (dir.path().join("report.json"), dir.path().join("keys.txt"));
    let pcapng = dir.path().join("run.pcapng");
    let out = s3wire()
        .envs(env.iter().copied())
        .args([
            "run",
            "--filter",
            FILTER,
            "--endpoint",
            TLS,
            "--no-aws-config",
        ])
        .args(["--format", "json", "--output"])
        .arg(&report)
        .arg("--keylog")
        .arg(&keys)
        .arg("--write")
        .arg(&pcapng)
        .arg("--write-sanitized")
        .arg(dir.path().join("sanitized.pcapng"))
        .arg("--")
        .arg(&srv.python)
        .args(["-c", BOTO3_SESSION, TLS, PLAIN])
        .arg(&srv.ca)
        .output()
        .unwrap();
    (dir, out)
}

#[test]
fn run_passes_the_commands_exit_status_into_the_report() {
    if !is_root() {
        eprintln!("SKIP run_passes_the_commands_exit_status_into_the_report: needs root");
        return;
    }
    let out = s3wire()
        .args([
            "run",
            "--filter",
            "tcp port 9",
            "--format",
            "json",
            "--",
            "sh",
            "-c",
            "exit 7",
        ])
        .output()
        .unwrap();
    // The discard port: no traffic, so no finding, however busy the machine is.
    assert_eq!(code(&out), 0, "no traffic, no finding");
    // `run` keeps standard output for the command: the JSON report went to standard error.
    assert!(out.stdout.is_empty());
    // ... as a document of its own: standard error parses as JSON as a whole.
    let r: Value = serde_json::from_slice(&out.stderr).expect("stderr is the JSON report");
    assert_eq!(r["capture"]["command_exit"], 7);

    // A report for people says it in words too.
    let out = s3wire()
        .args([
            "run",
            "--filter",
            "tcp port 9",
            "--format",
            "table",
            "--",
            "sh",
            "-c",
            "kill -TERM $$",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the command exited with status 143"),
        "{stderr}"
    );
}

#[test]
fn capture_writes_pcapng_that_analyze_reads_back_the_same() {
    let Some(srv) = servers("capture_writes_pcapng_that_analyze_reads_back_the_same") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (pcapng, report) = (dir.path().join("live.pcapng"), dir.path().join("live.json"));
    let mut cap = s3wire()
        .args(["capture", "--interface", "lo", "--filter", "tcp port 25480"])
        .args(["--duration", "8", "--endpoint", TLS, "--no-aws-config"])
        .args(["--format", "json", "--write"])
        .arg(&pcapng)
        .arg("--output")
        .arg(&report)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the "capturing on" line: from then on, packets are captured.
    let mut stderr = BufReader::new(cap.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(first.contains("capturing on lo"), "{first}");
    // A bucket of its own: another session on the same servers cannot be mistaken for this one.
    let bucket = format!("fx-live-capture-{}", std::process::id());
    let client = Command::new(&srv.python)
        .args(["-c", PLAIN_SESSION, PLAIN, &bucket])
        .output()
        .unwrap();
    assert!(client.status.success(), "{client:?}");
    // A client that keeps its socket for a second after the answer: the lookup has all the time
    // it needs, so this one must be named on any machine.
    let held = format!("{bucket}-held");
    let client = Command::new(&srv.python)
        .args(["-c", HELD_GET, "s3.local.test", "25480", &held])
        .output()
        .unwrap();
    assert!(client.status.success(), "{client:?}");
    let status = cap.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "plaintext to an https host is a finding"
    );

    let live = json(&report);
    let want: Vec<(String, String, String, String)> = [
        ("PUT", "CreateBucket", "200"),
        ("PUT", "PutObject", "200"),
        ("GET", "GetObject", "200"),
        ("DELETE", "DeleteObject", "204"),
    ]
    .iter()
    .map(|(m, o, s)| ("http".into(), m.to_string(), o.to_string(), s.to_string()))
    .collect();
    assert_eq!(ops_in(&live, Some(&bucket)), want);
    assert_eq!(live["capture"]["dropped"], 0);
    // capture names the process even though it did not start it, when it finds the socket:
    // moto closes every connection within milliseconds, and although the SYN watcher looks the
    // socket up exactly (sock_diag) as the SYN is sent, a loaded machine can run the watcher
    // after the client closed it (seen in CI: all four unnamed; locally with three busy loops on
    // two cores: one of four). The column is best effort by design (issue 11), so what is
    // asserted is what must always hold: a name shown is the client's, never another process's.
    let mine = live["requests"].as_array().unwrap().iter();
    let names: Vec<&str> = mine
        .filter(|q| q["bucket"] == bucket.as_str())
        .map(|q| q["process"]["name"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(names.len(), 4);
    assert!(
        names.iter().all(|n| *n == "-" || n.starts_with("python")),
        "{names:?}"
    );
    eprintln!("capture named {names:?}");
    let held: Vec<&Value> = live["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["bucket"] == held.as_str())
        .collect();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["operation"], "GetObject", "{}", held[0]);
    let name = held[0]["process"]["name"].as_str().unwrap_or("-");
    assert!(name.starts_with("python"), "{}", held[0]);

    let (exit, offline) = analyze_offline(&pcapng);
    assert_eq!(exit, 1);
    // The same requests, frame for frame: the whole request lists are equal.
    assert_eq!(ops(&offline), ops(&live));
    assert_eq!(ops_in(&offline, Some(&bucket)), want);
    assert_eq!(offline["capture"]["packets"], live["capture"]["packets"]);
    assert_eq!(
        offline["findings"].as_array().map(Vec::len),
        live["findings"].as_array().map(Vec::len)
    );
}

#[test]
fn capture_without_privileges_says_what_is_missing_and_the_fix() {
    if !is_root() {
        // Unprivileged already: the real case, no need to drop anything.
        let out = s3wire()
            .args(["capture", "--duration", "1"])
            .output()
            .unwrap();
        assert_eq!(code(&out), 2);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("setcap cap_net_raw,cap_net_admin=eip")
        );
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // As root, run s3wire as `nobody` (no capabilities survive the uid change). The build tree
    // may sit where nobody cannot enter (root's home, a 0700 clone): run a copy from a
    // directory nobody can read.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.path().join("s3wire");
    std::fs::copy(env!("CARGO_BIN_EXE_s3wire"), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = Command::new(&copy);
    for (k, v) in s3wire().get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.args(["capture", "--interface", "lo", "--duration", "1"])
        .current_dir(dir.path())
        .uid(65534)
        .gid(65534);
    // ETXTBSY: a test forking on another thread while the copy was open for writing holds that
    // descriptor until its own exec (rust-lang/rust#114554); it passes within moments.
    let mut tries = 0;
    let out = loop {
        match cmd.output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 20 => tries += 1,
            r => break r.unwrap(),
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(code(&out), 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "the error, then its hint: {stderr}");
    assert!(
        lines[0].starts_with(
            "s3wire: capturing on lo needs root or the CAP_NET_RAW and CAP_NET_ADMIN capabilities ("
        ),
        "{stderr}"
    );
    let exe = std::fs::canonicalize(&copy).unwrap();
    assert_eq!(
        lines[1],
        format!(
            "hint: run with sudo, or once `sudo setcap cap_net_raw,cap_net_admin=eip {}`",
            exe.display()
        )
    );
}

#[test]
fn live_errors_are_one_line_each() {
    if !is_root() {
        eprintln!("SKIP live_errors_are_one_line_each: needs root");
        return;
    }
    let cases: [(&[&str], &str, &str); 3] = [
        (
            &["capture", "-i", "s3wire-nope0", "--duration", "1"],
            "s3wire: no capture interface named \"s3wire-nope0\" (",
            "hint: list the interfaces with `ip link` (or `tcpdump -D`); `-i any` captures on \
             all of them",
        ),
        (
            &[
                "capture",
                "-i",
                "lo",
                "--filter",
                "tcp and and",
                "--duration",
                "1",
            ],
            "s3wire: capture filter \"tcp and and\" is not valid BPF: ",
            "hint: filters use tcpdump's syntax (man pcap-filter), e.g. --filter 'tcp port 80 \
             or tcp port 443'",
        ),
        (
            &["run", "-i", "lo", "--", "s3wire-no-such-command"],
            "s3wire: cannot start \"s3wire-no-such-command\": command not found",
            "hint: check the command's name and PATH; the command comes after `--`",
        ),
    ];
    for (args, first, hint) in cases {
        let out = s3wire().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), 2, "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: {stderr}");
        // The first line ends with libpcap's own words, which vary by version.
        assert!(lines[0].starts_with(first), "{args:?}: {stderr}");
        assert_eq!(lines[1], hint, "{args:?}");
    }
}

/// A known load: eight boto3 clients at once, each 40 calls (PutObject, GetObject,
/// ListObjectsV2, DeleteObject) on its own keys of one bucket.
const LOAD_SESSION: &str = r#"
import sys, boto3, botocore.config
from concurrent.futures import ThreadPoolExecutor
cfg = botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
url, bucket = sys.argv[1:3]
def client():
    return boto3.client("s3", endpoint_url=url, aws_access_key_id="AKIALIVETEST00000000",
                        aws_secret_access_key="not/a/secret", region_name="us-east-1", config=cfg)
client().create_bucket(Bucket=bucket)
def work(n):
    s3 = client()
    for i in range(10):
        key = f"w{n}/k{i}"
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * 100)
        s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        s3.list_objects_v2(Bucket=bucket, Prefix=f"w{n}/")
        s3.delete_object(Bucket=bucket, Key=key)
with ThreadPoolExecutor(8) as pool:
    list(pool.map(work, range(8)))
"#;

/// A background process that printed `ready` on standard error once it listens.
fn start_listening(mut cmd: Command, ready: &str) -> std::process::Child {
    let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains(ready) {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "no {ready:?}");
    }
    // Keep draining (tcpdump's final statistics) so neither ever blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    child
}

fn interrupt(child: &std::process::Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// (client, method, target, operation, status) of each request, in report order.
fn exchanges(report: &Value) -> Vec<String> {
    report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {}",
                r["client"], r["method"], r["target"], r["operation"], r["status"]
            )
        })
        .collect()
}

/// Exchange lines grouped by their connection (the client address that starts each line), in
/// their order within it.
fn per_connection(mut lines: Vec<String>) -> Vec<String> {
    lines.sort_by(|a, b| a.split(' ').next().cmp(&b.split(' ').next()));
    lines
}

#[test]
fn capture_sees_the_requests_tcpdump_keeps_of_the_same_traffic() {
    let Some(srv) = servers("capture_sees_the_requests_tcpdump_keeps_of_the_same_traffic") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (pcap, report) = (
        dir.path().join("tcpdump.pcap"),
        dir.path().join("live.json"),
    );
    let mut tcpdump = Command::new("tcpdump");
    // -U: each packet written as it is read, so none sits in tcpdump's buffer at the end.
    tcpdump
        .args(["-i", "lo", "-s", "0", "-U", "-w"])
        .arg(&pcap)
        .arg("tcp port 25480");
    let tcpdump = start_listening(tcpdump, "listening on");
    let mut cap = s3wire();
    cap.args(["capture", "-i", "lo", "--filter", "tcp port 25480"])
        .args(["--endpoint", TLS, "--no-aws-config", "--format", "json"])
        .arg("--output")
        .arg(&report);
    let cap = start_listening(cap, "capturing on lo");

    let bucket = format!("fx-live-same-{}", std::process::id());
    let load = Command::new(&srv.python)
        .args(["-c", LOAD_SESSION, PLAIN, &bucket])
        .output()
        .unwrap();
    assert!(load.status.success(), "{load:?}");
    // The last FINs and ACKs reach both. tcpdump reads the kernel's ring a block at a time,
    // and a block is handed over when full or after tcpdump's 1 s block timeout: interrupted
    // sooner, it loses the last requests of the load (seen: 317 of 321), so it is stopped after
    // the timeout has passed.
    std::thread::sleep(std::time::Duration::from_millis(500));
    interrupt(&cap);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    interrupt(&tcpdump);
    let live_exit = cap.wait_with_output().unwrap();
    tcpdump.wait_with_output().unwrap();
    assert_eq!(code(&live_exit), 1, "plaintext to an https host");

    let live = json(&report);
    let (_, offline) = analyze_offline(&pcap);
    assert_eq!(live["capture"]["dropped"], 0, "{}", live["capture"]);
    // 1 CreateBucket + 8 clients x 10 x 4 calls, every one of them seen.
    let mine = ops_in(&live, Some(&bucket));
    assert_eq!(mine.len(), 321, "{mine:?}");
    for op in ["PutObject", "GetObject", "ListObjectsV2", "DeleteObject"] {
        assert_eq!(mine.iter().filter(|o| o.2 == op).count(), 80, "{op}");
    }
    // The same requests, connection for connection, as tcpdump's file analysed offline. Only
    // the order within a connection is compared: two clients sending at the same moment from
    // two CPUs hand their packets to each capture socket in turn, so tcpdump's socket and ours
    // can get them in opposite orders (seen once, under load: requests 81 and 82 of 321, on two
    // connections, listed in swapped order; the same 321 exchanges otherwise).
    assert_eq!(
        per_connection(exchanges(&live)),
        per_connection(exchanges(&offline))
    );
    assert_eq!(live["quality"]["gaps"], offline["quality"]["gaps"]);
    assert_eq!(live["quality"]["gaps"], 0);
}

/// `run` where exact attribution is unavailable (forced here, as on a machine without cgroup v2
/// or nft): every request is marked `command` (with the command's process) or `unknown`
/// (nginx's upstream legs to moto, or on a loaded machine one of the command's own, when the
/// socket was gone before the lookup); an unknown owner's findings are only warnings, so the exit
/// status comes from the command's requests alone.
#[test]
fn run_by_proc_marks_the_commands_requests_and_judges_only_them() {
    let Some(srv) = servers("run_by_proc_marks_the_commands_requests_and_judges_only_them") else {
        return;
    };
    let (dir, out) = run_boto3_session_with(&srv, &[("S3WIRE_TEST_NO_CGROUP", "1")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let r = json(&dir.path().join("report.json"));
    assert_eq!(r["capture"]["attribution"], "proc");
    let warnings = r["quality"]["warnings"].to_string();
    assert!(
        warnings.contains("S3WIRE_TEST_NO_CGROUP is set"),
        "{warnings}"
    );
    let requests = r["requests"].as_array().unwrap();
    let findings = r["findings"].as_array().unwrap();
    let op = |q: &Value| format!("{} {}", q["scheme"], q["operation"]);
    let (mut mine, mut unknown) = (Vec::new(), Vec::new());
    for q in requests {
        let of_q = || findings.iter().filter(|f| f["request"] == q["id"]);
        match q["owner"].as_str() {
            Some("command") => {
                let name = q["process"]["name"].as_str().unwrap_or("");
                assert!(name.starts_with("python"), "{q}");
                mine.push(op(q));
            }
            Some("unknown") => {
                assert!(q["process"].is_null(), "{q}");
                for f in of_q() {
                    assert_eq!(f["severity"], "warning", "{f}");
                    let hint = f["hint"].as_str().unwrap();
                    assert!(
                        hint.starts_with("owner unknown: not attributed to the command; "),
                        "{f}"
                    );
                }
                unknown.push(op(q));
            }
            _ => panic!("every request of run has an owner: {q}"),
        }
    }
    // The command's four requests, each either marked command or (lost race) unknown; on an
    // idle machine all four are the command's.
    let four = [
        "\"http\" \"DeleteObject\"",
        "\"https\" \"CreateBucket\"",
        "\"https\" \"GetObject\"",
        "\"https\" \"PutObject\"",
    ];
    mine.sort();
    assert!(
        mine.iter().all(|m| four.contains(&m.as_str())),
        "{mine:?}; unknown: {unknown:?}"
    );
    for want in four {
        assert!(
            mine.iter().chain(&unknown).any(|m| m == want),
            "{want} neither the command's nor unknown: {mine:?}; unknown: {unknown:?}"
        );
    }
    let failing: Vec<String> = findings
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| format!("{} {}", f["kind"], f["operation"]))
        .collect();
    let delete_is_mine = mine.iter().any(|m| m == four[0]);
    let want: &[&str] = match delete_is_mine {
        true => &["\"plaintext-to-https-endpoint\" \"DeleteObject\""],
        false => &[],
    };
    assert_eq!(
        failing, want,
        "only the command's plaintext DeleteObject fails the run; unknown: {unknown:?}"
    );
    assert_eq!(code(&out), i32::from(delete_is_mine), "{stderr}");
    assert_eq!(
        r["summary"]["failing_findings"],
        u64::from(delete_is_mine),
        "{}",
        r["summary"]
    );
}
