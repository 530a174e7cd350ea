//! What a live session (`capture`, `run`, or `analyze` following a pipe) shows while it runs: a
//! line per request as it completes (on a terminal, when the report is not streaming there
//! itself) and a status line on standard error. The report itself streams through the analysis'
//! sink.

use crate::app::error::Result;
use crate::app::settings::OutputSettings;
use crate::cli::{Format, OutputArgs};
use crate::facts::Request;
use crate::policy::{Policy, Scheme};
use crate::report::rows::Redactor;
use std::io::{self, IsTerminal, Write};

/// Where live output goes.
enum Stream {
    Stdout,
    // Only `run` (feature `live`) writes its lines to standard error.
    #[cfg_attr(not(feature = "live"), allow(dead_code))]
    Stderr,
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
        }
    }
}

pub struct Printer {
    /// A line per request for a person (on a terminal).
    lines: Option<Stream>,
    redactor: Redactor,
    color: bool,
    status: bool,
    status_shown: bool,
    requests: u64,
    flagged: u64,
}

/// Lines are for a terminal, and only where the report does not stream rows itself: a table or
/// Markdown report is drawn at the end, and a report `elsewhere` (a file, or a stream other
/// than the lines') does not share theirs.
fn lines_wanted(out: &OutputSettings, elsewhere: bool, tty: bool) -> bool {
    tty && (elsewhere || matches!(out.format, Format::Table | Format::Markdown))
}

impl Printer {
    /// `capture`, and `analyze` following a pipe: lines on standard output.
    pub fn for_capture(out: &OutputSettings, args: &OutputArgs) -> Result<Printer> {
        let tty = io::stdout().is_terminal();
        let lines = lines_wanted(out, out.path.is_some(), tty).then_some(Stream::Stdout);
        Ok(Printer::new(lines, out, colour(args, tty)))
    }

    /// `run`: standard output belongs to the command, so lines go to standard error.
    #[cfg(feature = "live")]
    pub fn for_run(out: &OutputSettings, args: &OutputArgs) -> Result<Printer> {
        let tty = io::stderr().is_terminal();
        // A file, or standard output with `-o -`: either way not standard error.
        let lines = lines_wanted(out, !out.on_stderr, tty).then_some(Stream::Stderr);
        Ok(Printer::new(lines, out, colour(args, tty)))
    }

    fn new(lines: Option<Stream>, out: &OutputSettings, color: bool) -> Self {
        Printer {
            lines,
            redactor: Redactor { on: out.redact },
            color,
            status: io::stderr().is_terminal(),
            status_shown: false,
            requests: 0,
            flagged: 0,
        }
    }

    /// One completed request.
    pub fn request(&mut self, r: &Request, policy: &Policy) -> Result<()> {
        self.requests += 1;
        let flagged = is_flagged(r, policy);
        self.flagged += u64::from(flagged && !unknown_owner(r));
        if self.lines.is_some() {
            let text = line(r, flagged, self.color, &self.redactor);
            self.clear_status();
            if let Some(out) = &mut self.lines {
                out.write(text.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Redraws the status line (standard error, terminal only). `dropped`: what the capture
    /// says it dropped, when it can say (a pipe cannot).
    pub fn status(&mut self, packets: u64, dropped: Option<crate::source::Drops>) {
        if !self.status {
            return;
        }
        let drops = dropped.map_or(String::new(), |d| {
            format!(" · dropped packets: {}", d.phrase())
        });
        let text = format!(
            "\r\x1b[K s3wire: {packets} packets · {} requests · {} plaintext to HTTPS{drops}",
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
fn is_flagged(r: &Request, policy: &Policy) -> bool {
    r.scheme == Scheme::Http && policy.https_for_host(r.host.as_deref(), r.server).is_some()
}

/// `run`: a request whose owner could not be found is never counted as the command's.
fn unknown_owner(r: &Request) -> bool {
    r.owner == Some(crate::facts::Owner::Unknown)
}

/// `12:00:01.123 python3[4242] http DeleteObject bucket/key 204 host ← PLAINTEXT TO HTTPS`.
fn line(r: &Request, flagged: bool, color: bool, redactor: &Redactor) -> String {
    let time = r.time.to_datetime().format("%H:%M:%S%.3f");
    let process = match &r.process {
        _ if unknown_owner(r) => "unknown".to_string(),
        Some(p) => format!("{}[{}]", p.name, p.pid),
        None => "?".to_string(),
    };
    let op = r.operation_name().unwrap_or("unknown");
    let target = match (&r.bucket, &r.key) {
        (Some(b), Some(k)) => format!("{b}/{k}"),
        (Some(b), None) => b.clone(),
        _ => redactor.target(&r.target).into_owned(),
    };
    let status = r.status.map_or("-".to_string(), |s| s.to_string());
    let server = r.server.to_string();
    let host = r.host.as_deref().unwrap_or(&server);
    let scheme = r.scheme.as_str();
    let mut text = format!("{time} {process:<18} {scheme:<5} {op:<24} {target} {status} {host}");
    if flagged && unknown_owner(r) {
        text.push_str("  ← plaintext to an HTTPS endpoint (");
        text.push_str(crate::report::UNKNOWN_OWNER);
        text.push(')');
    } else if flagged {
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

    fn record(scheme: Scheme, host: &str) -> Request {
        let time = Timestamp::from_secs_nanos(1_767_225_601, 250_000_000);
        Request {
            scheme,
            host: Some(host.to_string().into()),
            method: "DELETE".into(),
            target: "/fx-live/a.txt".into(),
            operation: Ok("DeleteObject"),
            bucket: Some("fx-live".into()),
            key: Some("a.txt".into()),
            status: Some(204),
            process: Some(Box::new(ProcessInfo {
                pid: 4242,
                name: "python3".into(),
                cmdline: "python3 repro.py".into(),
            })),
            ..Request::sample(1, time, "127.0.0.1:40000", "127.0.0.1:5000")
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
            line(&r, true, false, &Redactor { on: true }),
            "00:00:01.250 python3[4242]      http  DeleteObject             fx-live/a.txt 204 \
             s3.local.test:5000  ← PLAINTEXT TO HTTPS ENDPOINT\n"
        );
    }

    #[test]
    fn an_unknown_owners_plaintext_is_said_without_the_alarm() {
        let r = Request {
            process: None,
            owner: Some(crate::facts::Owner::Unknown),
            ..record(Scheme::Http, "s3.local.test:5000")
        };
        assert_eq!(
            line(&r, true, true, &Redactor { on: true }),
            "00:00:01.250 unknown            http  DeleteObject             fx-live/a.txt 204 \
             s3.local.test:5000  ← plaintext to an HTTPS endpoint (owner unknown: not attributed \
             to the command)\n"
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
