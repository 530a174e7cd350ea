//! Issue 10: damaged capture files. A corrupt record or block costs that record, not the file:
//! everything before it is reported, a warning names its byte offset, and reading goes on at
//! the next plausible record when there is one.

use crate::harness::{Fixture, s3wire, split_url, str_field};
use serde_json::Value;

/// (method, target, status, scheme, operation) of every request, in report order.
fn requests(report: &Value) -> Vec<(String, String, Value, String, Value)> {
    report["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| {
            (
                str_field(r, "method").to_string(),
                str_field(r, "target").to_string(),
                r["status"].clone(),
                str_field(r, "scheme").to_string(),
                r["operation"].clone(),
            )
        })
        .collect()
}

fn quality(report: &Value, field: &str) -> u64 {
    report["quality"][field].as_u64().expect(field)
}

/// `mangle.py corrupt` fixtures: the damaged packet is a bare ACK, so every request of the
/// original is still there, named the same; the report says exactly what was skipped.
#[test]
fn corrupt_record_costs_that_record_and_every_request_is_still_reported() {
    // (fixture, original, packets in the original, damage offset, bytes skipped)
    let cases = [
        ("boto3-plain-corrupt", "boto3-plain", 466, 22336, 16 + 66),
        ("mixed-pcapng-corrupt", "mixed-pcapng", 45, 14804, 100),
    ];
    for (name, original, packets, offset, skipped) in cases {
        let (code, report) = Fixture::load(name).analyze(&["--no-redact"]);
        let (want_code, want) = Fixture::load(original).analyze(&["--no-redact"]);
        assert_eq!(requests(&report), requests(&want), "{name}");
        assert_eq!(code, want_code, "{name}: exit status follows the findings");
        assert_eq!(report["findings"], want["findings"], "{name}");
        assert_eq!(report["capture"]["packets"], packets - 1, "{name}");
        assert_eq!(quality(&report, "damaged_records"), 1, "{name}");
        assert_eq!(quality(&report, "skipped_capture_bytes"), skipped, "{name}");
        assert_eq!(quality(&report, "truncated_files"), 1, "{name}");
        let warnings = report["quality"]["warnings"].to_string();
        let at = format!("at offset {offset}: skipped {skipped} bytes");
        assert!(warnings.contains(&at), "{name}: {warnings}");
    }
}

/// Issue 10's own case: a pcap whose record 87 claims 4 GiB and nothing readable after it
/// (tcpdump and tshark report the 86 records before it; s3wire used to exit 2 with nothing).
#[test]
fn corrupt_record_with_nothing_readable_after_it_reports_the_requests_before_it() {
    let f = Fixture::load("boto3-plain-corrupt");
    let mut bytes = std::fs::read(f.capture()).unwrap();
    bytes[22336 + 16..].fill(0xFF);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rest-lost.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let path = path.to_str().unwrap();
    let out = s3wire(&["analyze", path, "--format", "json", "--no-aws-config"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "no finding: plaintext by configuration"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The client's first 7 requests completed before record 87 (the 8th is in record 88).
    let got: Vec<(String, String, Value)> = requests(&report)
        .into_iter()
        .map(|(m, t, s, ..)| (m, t, s))
        .collect();
    let want: Vec<(String, String, Value)> = f.labels[..7]
        .iter()
        .map(|l| {
            let url = split_url(str_field(l, "url"));
            (
                str_field(l, "method").to_string(),
                url.target,
                l["status"].clone(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(report["capture"]["packets"], 86);
    assert_eq!(quality(&report, "truncated_files"), 1);
    assert_eq!(quality(&report, "damaged_records"), 0);
    let warnings = report["quality"]["warnings"].to_string();
    assert!(
        warnings.contains(
            "capture truncated: packet record claims 4294967295 bytes, more than the \
             262144-byte limit at offset 22336: no plausible record in the"
        ),
        "{warnings}"
    );
}

/// `analyze CAPTURE --format json` with `f`'s key log and endpoints, CAPTURE given as a path or,
/// with `stdin`, as `-` reading that file; (exit code, report without the two fields that name
/// the input: `capture.sources`, `s3wire.command`).
fn analyze_as(f: &Fixture, capture: &str, stdin: bool) -> (i32, Value) {
    let keylog = f.keylog();
    let endpoints = f.https_endpoints();
    let mut args = vec!["analyze", if stdin { "-" } else { capture }];
    args.extend(["--format", "json", "--no-aws-config", "--no-redact"]);
    if let Some(k) = &keylog {
        args.extend(["--keylog", k.as_str()]);
    }
    for e in &endpoints {
        args.extend(["--endpoint", e.as_str()]);
    }
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_s3wire"));
    cmd.args(&args)
        .env("AWS_CONFIG_FILE", "/nonexistent/s3wire-test-config")
        .env("NO_COLOR", "1");
    if stdin {
        cmd.stdin(std::fs::File::open(capture).unwrap());
    }
    let out = cmd.output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let mut report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{capture}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    report["capture"]["sources"] = Value::Null;
    report["s3wire"]["command"] = Value::Null;
    (code, report)
}

fn compressed(name: &str) -> String {
    crate::harness::fixtures_dir()
        .join("compressed")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Archives made by the real `gzip -9`, `zstd` (-19 and default) and `lz4 -9`
/// (fixtures/gen/compress.sh): told by content, read as they stream, from a path or from
/// standard input, each gives exactly the report of the plain capture.
#[test]
fn compressed_captures_give_exactly_the_plain_files_report() {
    let cases = [
        ("mixed.pcap.gz", "mixed"),
        ("mixed.pcap.zst", "mixed"),
        ("mixed.pcap.lz4", "mixed"),
        ("mixed-pcapng.pcapng.gz", "mixed-pcapng"),
        ("boto3-tls.pcap.zst", "boto3-tls"),
    ];
    for (file, name) in cases {
        let f = Fixture::load(name);
        let want = analyze_as(&f, &f.capture(), false);
        assert!(!requests(&want.1).is_empty(), "{name}");
        for stdin in [false, true] {
            let got = analyze_as(&f, &compressed(file), stdin);
            assert!(
                got == want,
                "{file} (stdin: {stdin}): {got:?}\n--- want\n{want:?}"
            );
        }
    }
}

/// A .gz cut short (a copy interrupted at 60 %) gives the report of the plain capture cut at
/// the same place, plus a warning saying the gzip stream was cut.
#[test]
fn cut_gzip_capture_reports_what_was_whole_and_says_so() {
    let f = Fixture::load("boto3-tls");
    let (code, report) = analyze_as(&f, &compressed("boto3-tls-cut.pcap.gz"), false);
    let warnings = report["quality"]["warnings"].as_array().unwrap();
    let warning = warnings[0].as_str().unwrap();
    // "… at offset N of the decompressed gzip stream: the gzip stream is cut or corrupt after
    // 48748 compressed bytes (M bytes decompressed): …"
    assert!(
        warning.contains("of the decompressed gzip stream: the gzip stream is cut or corrupt after 48748 compressed bytes"),
        "{warning}"
    );
    let decompressed: usize = warning
        .split(" compressed bytes (")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("decompressed byte count");
    let plain = std::fs::read(f.capture()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &plain[..decompressed]).unwrap();
    let (want_code, want) = analyze_as(&f, cut.to_str().unwrap(), false);
    assert_eq!(code, want_code);
    assert_eq!(requests(&report), requests(&want));
    assert!(requests(&report).len() >= 10, "{}", requests(&report).len());
    assert_eq!(report["capture"], want["capture"]);
    assert_eq!(quality(&report, "truncated_files"), 1);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

/// `zcat`-less pipes: a gzip capture written into `analyze -` through a pipe (followed, read
/// as it comes) gives the plain file's requests, findings and exit status.
#[test]
fn gzip_capture_through_a_pipe_gives_the_plain_files_requests() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let f = Fixture::load("mixed");
    let (want_code, want) = analyze_as(&f, &f.capture(), false);
    let keylog = f.keylog().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_s3wire"))
        .args([
            "analyze",
            "-",
            "--format",
            "json",
            "--no-aws-config",
            "--no-redact",
        ])
        .args([
            "--keylog",
            &keylog,
            "--endpoint",
            "https://s3.local.test:8443",
        ])
        .env("AWS_CONFIG_FILE", "/nonexistent/s3wire-test-config")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(compressed("mixed.pcap.gz")).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Two writes, so the archive arrives in pieces.
    stdin.write_all(&bytes[..bytes.len() / 2]).unwrap();
    stdin.write_all(&bytes[bytes.len() / 2..]).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(want_code));
    assert_eq!(requests(&report), requests(&want));
    assert_eq!(report["findings"], want["findings"]);
    assert_eq!(report["quality"]["warnings"], serde_json::json!([]));
}

/// A corrupt record followed by 1 MiB of noise (as when a block of the file was overwritten):
/// the noise never passes for records, and reading goes on exactly at the next real one.
#[test]
fn noise_after_a_corrupt_record_is_skipped_exactly() {
    let f = Fixture::load("boto3-plain-corrupt");
    let bytes = std::fs::read(f.capture()).unwrap();
    let at = 22336 + 16;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let noise: Vec<u8> = (0..1 << 20)
        .map(|_| {
            // xorshift64: deterministic noise, no test dependency.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noise.pcap");
    std::fs::write(&path, [&bytes[..at], &noise, &bytes[at..]].concat()).unwrap();
    let (_, report) = analyze_as(&f, path.to_str().unwrap(), false);
    let original = Fixture::load("boto3-plain");
    let (_, want) = analyze_as(&original, &original.capture(), false);
    assert_eq!(requests(&report), requests(&want));
    assert_eq!(quality(&report, "damaged_records"), 1);
    assert_eq!(
        quality(&report, "skipped_capture_bytes"),
        (1 << 20) + 16 + 66,
        "the noise, the damaged header and its packet's bytes"
    );
}
