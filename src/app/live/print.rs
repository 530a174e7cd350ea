//! What a live session shows while it runs and when it stops: a line per request (terminal) or a
//! JSON Lines record per request, a status line on standard error, then the report.

use crate::app::settings::OutputSettings;
use crate::cli::{Format, OutputArgs};
use crate::policy::{Policy, Scheme};
use crate::report::{self, Report, RequestRecord};
use anyhow::Result;
use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;

/// Where live output goes.
enum Stream {
    Stdout,
    Stderr,
    File(Box<dyn Write>),
}

impl Stream {
    fn write(&mut self, text: &[u8]) -> io::Result<()> {
        match self {
            Stream::Stdout => {
                let mut o = io::stdout().lock();
                o.write_all(text)?;
                o.flush()
            }
            Stream::Stderr => io::stderr().write_all(text),
            Stream::File(w) => {
                w.write_all(text)?;
                w.flush()
            }
        }
    }
}

pub struct Printer {
    /// A line per request for a person (table format, on a terminal).
    lines: Option<Stream>,
    /// A JSON record per request (`--format jsonl`): the report's own destination.
    jsonl: Option<Stream>,
    /// The report goes to standard error (`run` without `--output`).
    report_to_stderr: bool,
    color: bool,
    status: bool,
    status_shown: bool,
    requests: u64,
    flagged: u64,
}

impl Printer {
    /// `capture`: lines on standard output when it is a terminal; JSON Lines to the report's
    /// destination.
    pub fn for_capture(out: &OutputSettings, args: &OutputArgs) -> Result<Printer> {
        let jsonl = match out.format {
            Format::Jsonl => Some(match &out.path {
                Some(_) => Stream::File(out.open()?),
                None => Stream::Stdout,
            }),
            _ => None,
        };
        let lines = (jsonl.is_none() && io::stdout().is_terminal()).then_some(Stream::Stdout);
        Ok(Printer::new(
            lines,
            jsonl,
            false,
            colour(args, io::stdout().is_terminal()),
        ))
    }

    /// `run`: standard output belongs to the command, so lines go to standard error.
    pub fn for_run(out: &OutputSettings, args: &OutputArgs) -> Result<Printer> {
        let jsonl = match out.format {
            Format::Jsonl => Some(match &out.path {
                Some(_) => Stream::File(out.open()?),
                None => Stream::Stderr,
            }),
            _ => None,
        };
        let tty = io::stderr().is_terminal();
        let lines = (jsonl.is_none() && tty).then_some(Stream::Stderr);
        Ok(Printer::new(
            lines,
            jsonl,
            out.path.is_none(),
            colour(args, tty),
        ))
    }

    fn new(lines: Option<Stream>, jsonl: Option<Stream>, to_stderr: bool, color: bool) -> Self {
        Printer {
            lines,
            jsonl,
            report_to_stderr: to_stderr,
            color,
            status: io::stderr().is_terminal(),
            status_shown: false,
            requests: 0,
            flagged: 0,
        }
    }

    /// One completed request.
    pub fn request(&mut self, r: &RequestRecord, policy: &Policy) -> Result<()> {
        self.requests += 1;
        let flagged = is_flagged(r, policy);
        self.flagged += u64::from(flagged);
        if let Some(out) = &mut self.jsonl {
            let mut buf = Vec::new();
            report::json::line(&mut buf, "request", r)?;
            out.write(&buf)?;
        }
        if self.lines.is_some() {
            let text = line(r, flagged, self.color);
            self.clear_status();
            if let Some(out) = &mut self.lines {
                out.write(text.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Redraws the status line (standard error, terminal only).
    pub fn status(&mut self, packets: u64, dropped: Option<u64>) {
        if !self.status {
            return;
        }
        let drops = dropped.map_or("?".into(), |d| d.to_string());
        let text = format!(
            "\r\x1b[K s3wire: {packets} packets · {} requests · {} plaintext to HTTPS · {drops} dropped",
            self.requests, self.flagged
        );
        let _ = io::stderr().write_all(text.as_bytes());
        self.status_shown = true;
    }

    pub fn clear_status(&mut self) {
        if self.status_shown {
            let _ = io::stderr().write_all(b"\r\x1b[K");
            self.status_shown = false;
        }
    }

    /// The full report. With JSON Lines the requests were already streamed: the rest follows.
    pub fn report(&mut self, report: &Report, out: &OutputSettings) -> Result<()> {
        if let Some(stream) = &mut self.jsonl {
            let rest = Report {
                requests: Vec::new(),
                ..report.clone()
            };
            let mut buf = Vec::new();
            report::json::write_jsonl(&rest, &mut buf)?;
            stream.write(&buf)?;
            return Ok(());
        }
        if self.report_to_stderr {
            let mut err = io::BufWriter::new(io::stderr().lock());
            super::super::render_to(report, out, &mut err)?;
            err.flush()?;
            return Ok(());
        }
        super::super::render(report, out)
    }
}

fn colour(args: &OutputArgs, tty: bool) -> bool {
    match args.color {
        crate::cli::ColorChoice::Always => true,
        crate::cli::ColorChoice::Never => false,
        crate::cli::ColorChoice::Auto => {
            tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Plaintext to a host the policy says is HTTPS: the finding the final report will judge.
fn is_flagged(r: &RequestRecord, policy: &Policy) -> bool {
    let Ok(server) = r.server.parse::<SocketAddr>() else {
        return false;
    };
    r.scheme == Scheme::Http && policy.https_for_host(r.host.as_deref(), server).is_some()
}

/// `12:00:01.123 python3[4242] http DeleteObject bucket/key 204 host ← PLAINTEXT TO HTTPS`.
fn line(r: &RequestRecord, flagged: bool, color: bool) -> String {
    let time = r.time.to_datetime().format("%H:%M:%S%.3f");
    let process = r
        .process
        .as_ref()
        .map_or("?".to_string(), |p| format!("{}[{}]", p.name, p.pid));
    let op = r.operation.as_deref().unwrap_or("unknown");
    let target = match (&r.bucket, &r.key) {
        (Some(b), Some(k)) => format!("{b}/{k}"),
        (Some(b), None) => b.clone(),
        _ => r.target.clone(),
    };
    let status = r.status.map_or("-".to_string(), |s| s.to_string());
    let host = r.host.as_deref().unwrap_or(&r.server);
    let scheme = r.scheme.as_str();
    let mut text = format!("{time} {process:<18} {scheme:<5} {op:<24} {target} {status} {host}");
    if flagged {
        text.push_str("  ← PLAINTEXT TO HTTPS ENDPOINT");
        if color {
            text = format!("\x1b[1;31m{text}\x1b[0m");
        }
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Endpoint, Origin};
    use crate::report::ProcessInfo;
    use crate::time::Timestamp;

    fn record(scheme: Scheme, host: &str) -> RequestRecord {
        RequestRecord {
            id: 1,
            time: Timestamp::from_secs_nanos(1_767_225_601, 250_000_000),
            scheme,
            client: "127.0.0.1:40000".into(),
            server: "127.0.0.1:5000".into(),
            host: Some(host.into()),
            method: "DELETE".into(),
            target: "/fx-live/a.txt".into(),
            operation: Some("DeleteObject".into()),
            bucket: Some("fx-live".into()),
            key: Some("a.txt".into()),
            operation_note: None,
            addressing: None,
            status: Some(204),
            interim: vec![],
            user_agent: None,
            authorization: None,
            request_body_bytes: None,
            response_body_bytes: None,
            response_time: None,
            tls: None,
            connection: 1,
            process: Some(ProcessInfo {
                pid: 4242,
                name: "python3".into(),
                cmdline: "python3 repro.py".into(),
            }),
        }
    }

    fn policy() -> Policy {
        let e = Endpoint::parse("https://s3.local.test:8443", Origin::Flag, "--endpoint").unwrap();
        Policy::new(vec![e])
    }

    #[test]
    fn plaintext_to_the_https_host_is_flagged_on_its_line() {
        let r = record(Scheme::Http, "s3.local.test:5000");
        assert!(is_flagged(&r, &policy()));
        assert_eq!(
            line(&r, true, false),
            "00:00:01.250 python3[4242]      http  DeleteObject             fx-live/a.txt 204 \
             s3.local.test:5000  ← PLAINTEXT TO HTTPS ENDPOINT\n"
        );
    }

    #[test]
    fn other_hosts_and_https_are_not_flagged() {
        assert!(!is_flagged(
            &record(Scheme::Http, "other.test:5000"),
            &policy()
        ));
        assert!(!is_flagged(
            &record(Scheme::Https, "s3.local.test:8443"),
            &policy()
        ));
    }
}
