//! Running the real binary on the committed fixtures, and reading their client-recorded labels.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `s3wire ARGS…` with a clean environment for the AWS settings (tests must not depend on the
/// machine's ~/.aws or AWS_* variables).
pub fn s3wire(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_s3wire"))
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent/s3wire-test-config")
        .env("NO_COLOR", "1")
        .output()
        .expect("run s3wire")
}

/// One fixture: its meta file and labels.
pub struct Fixture {
    pub name: String,
    pub meta: Value,
    pub labels: Vec<Value>,
}

impl Fixture {
    pub fn load(name: &str) -> Fixture {
        let dir = fixtures_dir().join("labels");
        let meta_text = std::fs::read_to_string(dir.join(format!("{name}.meta.json")))
            .unwrap_or_else(|e| panic!("fixture {name}: {e}"));
        let labels_text = std::fs::read_to_string(dir.join(format!("{name}.jsonl"))).unwrap();
        Fixture {
            name: name.to_string(),
            meta: serde_json::from_str(&meta_text).unwrap(),
            labels: labels_text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
        }
    }

    /// Every fixture that has a meta file.
    pub fn all() -> Vec<Fixture> {
        let mut names: Vec<String> = std::fs::read_dir(fixtures_dir().join("labels"))
            .unwrap()
            .filter_map(|e| {
                let n = e.ok()?.file_name().into_string().ok()?;
                n.strip_suffix(".meta.json").map(str::to_string)
            })
            .collect();
        names.sort();
        names.iter().map(|n| Fixture::load(n)).collect()
    }

    pub fn capture(&self) -> String {
        let rel = self.meta["capture"].as_str().expect("meta.capture");
        fixtures_dir().join(rel).to_string_lossy().into_owned()
    }

    /// What an on-call engineer passes as `--endpoint`: the `https://` endpoints the clients
    /// were meant to use (a plaintext one beside them is the surprise being hunted), or the
    /// `http://` ones when plaintext was the intent.
    pub fn https_endpoints(&self) -> Vec<String> {
        let all: Vec<String> = self.meta["endpoints_configured"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let https: Vec<String> = all
            .iter()
            .filter(|e| e.starts_with("https://"))
            .cloned()
            .collect();
        if https.is_empty() { all } else { https }
    }

    /// The client's TLS key log, when the scenario has one.
    pub fn keylog(&self) -> Option<String> {
        let rel = self.meta["keylog"].as_str()?;
        let path = fixtures_dir().join(rel);
        path.exists().then(|| path.to_string_lossy().into_owned())
    }

    pub fn expect_list(&self, key: &str) -> Vec<usize> {
        self.meta["expect"][key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_u64().map(|n| n as usize))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `analyze --format FORMAT` with the fixture's key log and configured endpoints, then
    /// `extra`; the process's output as it is.
    pub fn run(&self, format: &str, extra: &[&str]) -> Output {
        let capture = self.capture();
        let mut args = vec![
            "analyze",
            capture.as_str(),
            "--format",
            format,
            "--no-aws-config",
        ];
        let keylog = self.keylog();
        if let Some(k) = &keylog {
            args.extend(["--keylog", k.as_str()]);
        }
        let eps = self.https_endpoints();
        for e in &eps {
            args.extend(["--endpoint", e.as_str()]);
        }
        args.extend_from_slice(extra);
        s3wire(&args)
    }

    /// `analyze --format json` with the fixture's configured endpoints; returns (exit code, report).
    pub fn analyze(&self, extra: &[&str]) -> (i32, Value) {
        let out = self.run("json", extra);
        let code = out.status.code().unwrap_or(-1);
        assert!(
            code == 0 || code == 1,
            "{}: exit {code}, stderr: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: output is not JSON: {e}", self.name));
        (code, report)
    }
}

/// `analyze --format json --no-redact --no-aws-config` on `fixtures/damaged/<capture>`, then
/// `extra`; returns (exit code, report).
pub fn analyze_damaged(capture: &str, extra: &[&str]) -> (i32, Value) {
    let path = fixtures_dir().join("damaged").join(capture);
    let path = path.to_string_lossy();
    let mut args = vec![
        "analyze",
        &path,
        "--format",
        "json",
        "--no-redact",
        "--no-aws-config",
    ];
    args.extend_from_slice(extra);
    let out = s3wire(&args);
    let code = out.status.code().unwrap_or(-1);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{capture}: exit {code}, not JSON ({e})"));
    (code, report)
}

/// The kinds of a report's findings, in report order.
pub fn finding_kinds(report: &Value) -> Vec<&str> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| str_field(f, "kind"))
        .collect()
}

/// A label's URL split into (scheme, host, port, target).
pub struct Url {
    pub scheme: String,
    pub host: String,
    pub target: String,
}

pub fn split_url(url: &str) -> Url {
    let (scheme, rest) = url.split_once("://").expect("absolute URL");
    let (authority, target) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("").to_string()
    } else {
        authority.split(':').next().unwrap_or("").to_string()
    };
    Url {
        scheme: scheme.to_string(),
        host,
        target: target.to_string(),
    }
}

pub fn str_field<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}
