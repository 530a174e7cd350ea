//! The command line contract: exit statuses, errors with hints, formats.

use crate::harness::{Fixture, s3wire};

#[test]
fn not_a_capture_is_exit_2_with_one_line_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "{\"this\": \"is json\"}\n").unwrap();
    let out = s3wire(&["analyze", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("s3wire: "), "{err}");
    assert!(err.contains("not a pcap or pcapng"), "{err}");
    assert!(err.contains("hint: "), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn missing_file_is_exit_2() {
    let out = s3wire(&["analyze", "/nonexistent/x.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.pcap"));
}

#[test]
fn bad_endpoint_is_exit_2() {
    let f = Fixture::load("clean-http");
    let out = s3wire(&["analyze", &f.capture(), "--endpoint", "s3.example.com"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("https://"));
}

#[test]
fn stdin_is_read_with_dash() {
    let f = Fixture::load("clean-http");
    let file = std::fs::File::open(f.capture()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3wire"))
        .args(["analyze", "-", "--format", "json", "--no-aws-config"])
        .stdin(file)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["requests"].as_array().unwrap().len(),
        f.expect_list("plaintext_requests").len()
    );
}

/// `-o -` is standard output, as tcpdump's and tshark's `-w -` are: the report comes out there,
/// the same as with no --output, and no file named `-` is left behind.
#[test]
fn output_dash_is_standard_output() {
    let f = Fixture::load("clean-http");
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3wire"))
            .args([
                "analyze",
                &f.capture(),
                "--format",
                "json",
                "--no-aws-config",
            ])
            .args(extra)
            .current_dir(dir.path())
            .output()
            .unwrap();
        out.stdout
    };
    let json = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).unwrap();
    let (dashed, plain) = (json(&run(&["-o", "-"])), json(&run(&[])));
    assert_eq!(dashed["requests"], plain["requests"]);
    assert_eq!(
        dashed["requests"].as_array().unwrap().len(),
        f.expect_list("plaintext_requests").len()
    );
    assert!(!dir.path().join("-").exists(), "a file named - was written");
    // A file of that name is still reachable by path.
    assert!(run(&["-o", "./-"]).is_empty());
    let kept = json(&std::fs::read(dir.path().join("-")).unwrap());
    assert_eq!(kept["requests"], plain["requests"]);
}

#[test]
fn every_format_renders_the_same_capture() {
    let f = Fixture::load("mixed");
    for format in ["table", "json", "jsonl", "markdown"] {
        let out = s3wire(&[
            "analyze",
            &f.capture(),
            "--format",
            format,
            "--no-aws-config",
        ]);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{format}: {:?}",
            out.status
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("DeleteObject"),
            "{format} output lacks the DeleteObject:\n{text}"
        );
    }
}

#[test]
fn jsonl_records_are_typed_lines() {
    let f = Fixture::load("mixed");
    let out = s3wire(&[
        "analyze",
        &f.capture(),
        "--format",
        "jsonl",
        "--no-aws-config",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        kinds.insert(v["type"].as_str().unwrap().to_string());
    }
    for k in ["s3wire", "capture", "quality", "request", "tls"] {
        assert!(kinds.contains(k), "no {k} record in {kinds:?}");
    }
}

/// `s3wire endpoints` resolves the AWS environment and config file the way the SDKs do and says
/// where each entry came from, and what was overridden.
#[test]
fn endpoints_command_shows_the_policy_and_its_origins() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config");
    std::fs::write(
        &cfg,
        "[profile dev]\nendpoint_url = https://minio.internal:9000\n\
         [default]\nservices = s3svc\n[services s3svc]\ns3 =\n  endpoint_url = https://s3.local.test:8443\n",
    )
    .unwrap();
    let run = |envs: &[(&str, &str)]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_s3wire"));
        c.args(["endpoints", "--format", "json"])
            .env("AWS_CONFIG_FILE", &cfg);
        for k in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
        ] {
            c.env_remove(k);
        }
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let default = run(&[]);
    assert_eq!(default["endpoints"][0]["url"], "https://s3.local.test:8443");
    assert_eq!(default["endpoints"][0]["origin"], "aws-config");
    let dev = run(&[("AWS_PROFILE", "dev")]);
    assert_eq!(dev["endpoints"][0]["url"], "https://minio.internal:9000");
    let env = run(&[
        ("AWS_PROFILE", "dev"),
        ("AWS_ENDPOINT_URL_S3", "https://x.example"),
    ]);
    assert_eq!(env["endpoints"][0]["origin"], "env");
    assert_eq!(env["endpoints"][0]["detail"], "AWS_ENDPOINT_URL_S3");
    assert!(env["notes"][0].as_str().unwrap().contains("overridden"));
    let ignored = run(&[("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")]);
    assert!(
        ignored["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["origin"] == "aws-default")
    );
}

/// The JSON report spools findings to a temporary file: an unusable TMPDIR fails the run before
/// a byte is written, with the way out in the hint.
#[test]
fn unusable_temporary_directory_is_exit_2_before_any_output() {
    let capture = crate::harness::fixtures_dir().join("captures/mixed.pcap");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3wire"))
        .args([
            "analyze",
            capture.to_str().unwrap(),
            "--format",
            "json",
            "--no-aws-config",
        ])
        .env("TMPDIR", "/nonexistent/s3wire-tmp")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot create a temporary file in /nonexistent/s3wire-tmp"),
        "{err}"
    );
    assert!(
        err.contains("hint: point TMPDIR at a writable directory"),
        "{err}"
    );
}
