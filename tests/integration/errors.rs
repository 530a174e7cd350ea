//! Every error s3wire can give before or while analysing, pinned to its exact standard error:
//! one line naming each cause once, then the hint that goes with its kind, exit status 2, and
//! nothing on standard output.

use crate::harness::fixtures_dir;
use std::process::Command;

/// `s3wire ARGS…` (clean AWS environment, `TMPDIR` and `AWS_CONFIG_FILE` as given).
fn fails(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3wire"));
    cmd.args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent/s3wire-test-config");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run s3wire");
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(
        out.stdout.is_empty(),
        "{args:?}: nothing on standard output"
    );
    String::from_utf8(out.stderr).unwrap()
}

fn capture() -> String {
    fixtures_dir()
        .join("captures/clean-http.pcap")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "{\"x\":1}\n").unwrap();
    let notes = notes.to_str().unwrap();
    assert_eq!(
        fails(&["analyze", notes], &[]),
        format!(
            "s3wire: {notes}: not a pcap or pcapng capture (starts with bytes 7b 22 78 22 3a 31 \
             7d 0a (text); expected pcap magic a1b2c3d4/d4c3b2a1/a1b23c4d/4d3cb2a1 or pcapng \
             0a0d0d0a)\nhint: s3wire reads pcap/pcapng files, e.g. from `tcpdump -i any -w \
             out.pcap` or Wireshark\n"
        )
    );
    assert_eq!(
        fails(&["analyze", "/nonexistent/x.pcap"], &[]),
        "s3wire: cannot open /nonexistent/x.pcap: No such file or directory\n\
         hint: check the path; use - to read a capture from standard input\n"
    );
    let d = dir.path().to_str().unwrap();
    assert_eq!(
        fails(&["analyze", d], &[]),
        format!("s3wire: cannot read {d}: Is a directory\n")
    );
    assert_eq!(
        fails(&["analyze", "-", "-"], &[]),
        "s3wire: standard input (-) can be read only once\n"
    );
    assert_eq!(
        fails(
            &["analyze", &capture(), "--keylog", "/nonexistent/keys.txt"],
            &[]
        ),
        "s3wire: cannot read --keylog /nonexistent/keys.txt: No such file or directory\n\
         hint: the key log is the file SSLKEYLOGFILE named when the client ran; check the path\n"
    );
}

#[test]
fn output_errors() {
    assert_eq!(
        fails(&["analyze", &capture(), "-o", "/nonexistent/r.json"], &[]),
        "s3wire: cannot create the report file /nonexistent/r.json: No such file or directory\n\
         hint: check that the directory exists and is writable, or leave out --output\n"
    );
    assert_eq!(
        fails(
            &["analyze", &capture(), "--format", "json"],
            &[("TMPDIR", "/nonexistent/s3wire-tmp")]
        ),
        "s3wire: cannot create a temporary file in /nonexistent/s3wire-tmp for the JSON \
         report: No such file or directory\n\
         hint: point TMPDIR at a writable directory, or use --format jsonl (it needs none)\n"
    );
}

#[test]
fn configuration_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[profile default]\nservices = foo\n").unwrap();
    let config = config.to_str().unwrap();
    assert_eq!(
        fails(&["analyze", &capture()], &[("AWS_CONFIG_FILE", config)]),
        format!(
            "s3wire: AWS configuration: {config}: profile `default` sets `services = foo` but \
             there is no [services foo] section\n\
             hint: fix the file the way the AWS SDKs would accept it, or pass --no-aws-config \
             to ignore AWS_ENDPOINT_URL* and the config file\n"
        )
    );
}

/// Values clap checks as it parses, so a typo fails before any file is opened.
#[test]
fn argument_errors() {
    let c = capture();
    let cases: [(&[&str], &str); 6] = [
        (
            &["analyze", &c, "--endpoint", "s3.local.test"],
            "error: invalid value 's3.local.test' for '--endpoint <URL>': endpoint \
             `s3.local.test` has no scheme: write https://s3.local.test (or http:// if plaintext \
             is intended)\n\nFor more information, try '--help'.\n",
        ),
        (
            &["analyze", &c, "--endpoint", "ftp://s3.local.test"],
            "error: invalid value 'ftp://s3.local.test' for '--endpoint <URL>': endpoint \
             `ftp://s3.local.test` has scheme `ftp`: only http:// and https:// are endpoints\n\n\
             For more information, try '--help'.\n",
        ),
        (
            &["analyze", &c, "--resolve", "s3.local.test"],
            "error: invalid value 's3.local.test' for '--resolve <HOST=IP>': expected HOST=IP, \
             e.g. s3.example.com=10.0.0.5\n\nFor more information, try '--help'.\n",
        ),
        (
            &["analyze", &c, "--resolve", "s3.local.test=nowhere"],
            "error: invalid value 's3.local.test=nowhere' for '--resolve <HOST=IP>': `nowhere` \
             is not an IP address (expected HOST=IP, e.g. s3.example.com=10.0.0.5)\n\n\
             For more information, try '--help'.\n",
        ),
        (
            &["analyze", &c, "--max-connections", "0"],
            "error: invalid value '0' for '--max-connections <N>': 0 is not in \
             1..=4294967295\n\nFor more information, try '--help'.\n",
        ),
        (
            &["capture", "--duration", "soon"],
            "error: invalid value 'soon' for '--duration <SECS>': expected a number of seconds, \
             0 or more (e.g. 30 or 2.5)\n\nFor more information, try '--help'.\n",
        ),
    ];
    for (args, want) in cases {
        assert_eq!(fails(args, &[]), want, "{args:?}");
    }
}
