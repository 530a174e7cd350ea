//! Issue 12: `--write-sanitized` writes a capture fit to attach to an issue. Analysing it gives
//! the same plaintext requests, findings, attempts and exit status as the original; no secret
//! and no body byte of the original is left in it; tshark reads it.

mod bodies;

use crate::harness::{Fixture, s3wire, str_field};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

/// downgrade-refused names no host: the engineer says which address the endpoint had.
fn resolve(name: &str) -> Vec<&'static str> {
    if name == "downgrade-refused" {
        vec!["--resolve", "s3.local.test=127.0.0.1"]
    } else {
        vec![]
    }
}

/// The original analysed (with its key log) while writing `out`: (exit status, report).
fn original(f: &Fixture, out: &Path, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["--write-sanitized", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend(resolve(&f.name));
    let o = f.run("json", &args);
    let report = serde_json::from_slice(&o.stdout).expect("JSON report");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    (o.status.code().unwrap_or(-1), report, stderr)
}

/// The sanitized file analysed with `endpoints` and no key log: (exit status, report).
fn reanalysed(f: &Fixture, file: &Path, endpoints: &[String]) -> (i32, Value) {
    let mut args = vec![
        "analyze",
        file.to_str().unwrap(),
        "--format",
        "json",
        "--no-aws-config",
    ];
    for e in endpoints {
        args.extend(["--endpoint", e.as_str()]);
    }
    args.extend(resolve(&f.name));
    let o = s3wire(&args);
    let code = o.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "{}: {}",
        f.name,
        String::from_utf8_lossy(&o.stderr)
    );
    (
        code,
        serde_json::from_slice(&o.stdout).expect("JSON report"),
    )
}

fn fields(v: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| v[*k].to_string()).collect()
}

fn array<'a>(report: &'a Value, key: &str) -> &'a [Value] {
    report[key].as_array().map_or(&[], Vec::as_slice)
}

/// What must be the same: the plaintext requests (redacted), the findings (each with the
/// request it names, by content: ids count HTTPS requests the copy cannot show), the attempts
/// and the TLS hellos.
fn summary(report: &Value, keys: &[&str]) -> Vec<Vec<String>> {
    let plain = |r: &&Value| r["scheme"] == "http";
    let mut out: Vec<Vec<String>> = array(report, "requests")
        .iter()
        .filter(plain)
        .map(|r| fields(r, keys))
        .collect();
    for f in array(report, "findings") {
        let req = array(report, "requests")
            .iter()
            .find(|r| r["id"] == f["request"])
            .map(|r| fields(r, &["method", "target"]));
        let mut row = fields(f, &["kind", "operation", "endpoint"]);
        row.extend(req.unwrap_or_default());
        out.push(row);
    }
    for a in array(report, "attempts") {
        out.push(fields(a, &["time", "client", "server", "outcome", "syns"]));
    }
    // A session whose ClientHello the capture cut has no hello for the copy to keep.
    let hello_seen =
        |t: &&Value| !str_field(t, "decryption").starts_with("ClientHello not captured");
    for t in array(report, "tls").iter().filter(hello_seen) {
        out.push(fields(t, &["client", "server", "sni"]));
    }
    out
}

const REQUEST_FIELDS: &[&str] = &[
    "time",
    "scheme",
    "client",
    "server",
    "host",
    "method",
    "target",
    "operation",
    "bucket",
    "key",
    "status",
    "user_agent",
];

#[test]
fn the_sanitized_capture_gives_the_same_requests_findings_and_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let (mut requests, mut findings, mut attempts) = (0, 0, 0);
    // Every fixture: plaintext, TLS decrypted with key logs in the original, refused attempts,
    // a TLS port answering plaintext, IPv6, virtual-hosted, presigned, SLL/SLL2 links, pcapng,
    // reordered, snaplen-cut and truncated captures.
    for f in Fixture::all() {
        let name = &f.name;
        let file = dir.path().join(format!("{name}.pcapng"));
        let (code, report, _) = original(&f, &file, &[]);
        let (code2, report2) = reanalysed(&f, &file, &f.https_endpoints());
        assert_eq!(code2, code, "{name}: exit status");
        assert_eq!(
            summary(&report2, REQUEST_FIELDS),
            summary(&report, REQUEST_FIELDS),
            "{name}"
        );
        let plain = array(&report, "requests")
            .iter()
            .filter(|r| r["scheme"] == "http");
        requests += plain.count();
        findings += array(&report, "findings").len();
        attempts += array(&report, "attempts").len();
    }
    // The comparison compared something of each kind.
    assert!(
        requests >= 70 && findings >= 80 && attempts >= 24,
        "{requests} {findings} {attempts}"
    );
}

#[test]
fn with_placeholders_the_endpoints_printed_reproduce_the_findings() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["downgrade-forwarded", "virtual", "ipv6", "tls-port"] {
        let f = Fixture::load(name);
        let file = dir.path().join(format!("{name}.pcapng"));
        let (code, report, stderr) = original(&f, &file, &["--sanitize-addresses"]);
        let endpoints: Vec<String> = stderr
            .lines()
            .filter_map(|l| l.split("re-analyse with --endpoint ").nth(1))
            .map(|e| e.trim_end_matches(')').to_string())
            .collect();
        assert_eq!(
            endpoints.len(),
            f.https_endpoints().len(),
            "{name}: {stderr}"
        );
        assert!(
            endpoints.iter().all(|e| e.contains("host1.example")),
            "{endpoints:?}"
        );
        let (code2, report2) = reanalysed(&f, &file, &endpoints);
        assert_eq!(code2, code, "{name}: exit status");
        let keys = &["method", "target", "operation", "bucket", "key", "status"];
        let requests = |r: &Value| -> Vec<Vec<String>> {
            let plain = array(r, "requests")
                .iter()
                .filter(|r| r["scheme"] == "http");
            plain.map(|r| fields(r, keys)).collect()
        };
        let kinds = |r: &Value| -> Vec<Vec<String>> {
            array(r, "findings")
                .iter()
                .map(|f| fields(f, &["kind", "operation"]))
                .collect()
        };
        assert_eq!(requests(&report2), requests(&report), "{name}");
        assert_eq!(kinds(&report2), kinds(&report), "{name}");
        assert!(!kinds(&report).is_empty());
        let bytes = std::fs::read(&file).unwrap();
        for original in ["local.test", "127.0.0.1", "::1"] {
            let found = memchr::memmem::find(&bytes, original.as_bytes());
            assert!(found.is_none(), "{name}: {original} left in the copy");
        }
        let servers = array(&report2, "requests")
            .iter()
            .map(|r| r["server"].to_string());
        assert!(
            servers
                .clone()
                .all(|s| s.contains("10.0.0.") || s.contains("fd00::"))
        );
    }
}

/// The secrets of a report made with `--no-redact`: signatures, session tokens, presigned
/// signatures, whole access key ids (reports keep 4 characters).
fn secrets(report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut value_after = |text: &str, names: &[&str], ends: &[char]| {
        for name in names {
            for (i, _) in text.match_indices(name) {
                let v = &text[i + name.len()..];
                let v = &v[..v.find(ends).unwrap_or(v.len())];
                if v.len() >= 8 {
                    out.push(v.to_string());
                }
            }
        }
    };
    for r in array(report, "requests") {
        let auth = r["authorization"].as_str().unwrap_or("");
        value_after(auth, &["Signature=", "Credential="], &[',', '/']);
        if let Some(v2) = auth.strip_prefix("AWS ") {
            value_after(&format!(" {v2}"), &[" ", ":"], &[':']);
        }
        let target = r["target"].as_str().unwrap_or("");
        let params = &[
            "X-Amz-Signature=",
            "X-Amz-Security-Token=",
            "&Signature=",
            "X-Amz-Credential=",
            "AWSAccessKeyId=",
        ];
        value_after(target, params, &['&', '%', '/']);
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn no_secret_or_body_byte_of_the_original_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let (mut secrets_checked, mut bodies_checked) = (0, 0);
    for name in [
        "downgrade-forwarded",
        "boto3-plain",
        "clean-http",
        "mixed",
        "js-mixed",
    ] {
        let f = Fixture::load(name);
        let file = dir.path().join(format!("{name}.pcapng"));
        let (_, report, _) = original(&f, &file, &["--no-redact"]);
        let orig = std::fs::read(f.capture()).unwrap();
        let copy = std::fs::read(&file).unwrap();
        let found = |hay: &[u8], s: &[u8]| memchr::memmem::find(hay, s).is_some();
        for s in secrets(&report) {
            assert!(!found(&copy, s.as_bytes()), "{name}: secret {s} left");
            secrets_checked += usize::from(found(&orig, s.as_bytes()));
        }
        // Distinctive body bytes: in the original file, and in none of its heads (which the
        // copy keeps, scrubbed).
        let m = bodies::messages(&orig);
        for body in &m.bodies {
            for w in body.windows(16).step_by(64) {
                if found(&orig, w) && !m.heads.iter().any(|h| found(h, w)) {
                    assert!(
                        !found(&copy, w),
                        "{name}: body bytes {:?} left",
                        String::from_utf8_lossy(w)
                    );
                    bodies_checked += 1;
                }
            }
        }
    }
    assert!(
        secrets_checked >= 10,
        "{secrets_checked} secrets found in the originals"
    );
    assert!(
        bodies_checked >= 100,
        "{bodies_checked} body samples checked"
    );
}

#[test]
fn standard_input_is_sanitized_in_the_same_single_pass() {
    let f = Fixture::load("downgrade-forwarded");
    let dir = tempfile::tempdir().unwrap();
    let (from_file, from_stdin) = (dir.path().join("a.pcapng"), dir.path().join("b.pcapng"));
    original(&f, &from_file, &[]);
    let out = Command::new(env!("CARGO_BIN_EXE_s3wire"))
        .args(["analyze", "-", "--no-aws-config", "--format", "json"])
        .args(["--endpoint", "https://s3.local.test", "--write-sanitized"])
        .arg(&from_stdin)
        .stdin(Stdio::from(std::fs::File::open(f.capture()).unwrap()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (a, b) = (
        std::fs::read(from_file).unwrap(),
        std::fs::read(from_stdin).unwrap(),
    );
    assert!(a.len() > 5_000, "{} bytes", a.len());
    assert_eq!(
        a, b,
        "the same file, whether the capture came from a file or a pipe"
    );
}

#[test]
fn sanitize_errors_are_exit_2_with_a_hint() {
    let f = Fixture::load("clean-http");
    let out = s3wire(&["analyze", &f.capture(), "--sanitize-addresses"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--sanitize-addresses needs --write-sanitized"
    );
    let out = s3wire(&[
        "analyze",
        &f.capture(),
        "--write-sanitized",
        "/nonexistent/x.pcapng",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "s3wire: cannot write --write-sanitized /nonexistent/x.pcapng: No such file or \
         directory\nhint: check that the directory exists and is writable\n"
    );
}

/// tshark (if installed) reads the file without a malformed packet, bad checksum or TCP
/// warning, and sees the same plaintext requests s3wire does.
#[test]
fn tshark_reads_the_sanitized_capture() {
    if Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("skipped: tshark is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for name in ["boto3-plain", "mixed", "refused"] {
        let f = Fixture::load(name);
        let file = dir.path().join(format!("{name}.pcapng"));
        let (_, report, _) = original(&f, &file, &[]);
        let tshark = |filter: &str, field: &str| -> Vec<String> {
            let out = Command::new("tshark")
                .arg("-r")
                .arg(&file)
                .args([
                    "-o",
                    "tcp.check_checksum:TRUE",
                    "-o",
                    "ip.check_checksum:TRUE",
                ])
                .args(["-Y", filter, "-T", "fields", "-e", field])
                .output()
                .expect("tshark runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string)
                .collect()
        };
        let bad = tshark(
            // The refused attempts' RSTs are warnings, as in the original.
            "_ws.malformed || (_ws.expert.severity >= warning && !tcp.flags.reset) \
             || tcp.checksum.status != 1 || ip.checksum.status == 0",
            "frame.number",
        );
        assert!(bad.is_empty(), "{name}: frames {bad:?}");
        let mut seen = tshark("http.request", "http.request.method");
        let mut want: Vec<String> = array(&report, "requests")
            .iter()
            .filter(|r| r["scheme"] == "http")
            .map(|r| r["method"].as_str().unwrap().to_string())
            .collect();
        seen.sort();
        want.sort();
        assert_eq!(seen, want, "{name}");
        let hellos = tshark(
            "tls.handshake.type == 1",
            "tls.handshake.extensions_server_name",
        );
        assert_eq!(hellos.len(), array(&report, "tls").len(), "{name}");
    }
}
