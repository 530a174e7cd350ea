//! One analysis, streaming end to end: frames → [`Engine`] (facts) → the report side
//! ([`Output`]: the [`Judge`] with its bounded look-ahead, rows through the one redactor, a
//! [`Sink`]), on a thread of its own when there is a core for it. Nothing here grows with
//! the capture: facts are drained after every frame, judged items are written at once, and the
//! summary is counters.

use super::engine::Engine;
use super::error::{Error, Result};
use super::live_summary::LiveSummary;
use super::output::{Output, Writer};
use super::records::{Classifier, Fact};
use super::settings::{OutputSettings, SanitizeSettings, Settings};
use crate::cli::Format;
use crate::facts::Request;
use crate::policy::{Endpoint, Judge, Origin, judge::DEFAULT_WINDOW};
use crate::report::rows::Redactor;
use crate::report::sink::{Human, JsonSink, JsonlSink, KeepSink, Lazy, Sink};
use crate::report::{Report, Summary, ToolInfo};
use crate::sanitize::{Names, Sanitizer};
use crate::source::{Frame, SourceNote};
use crate::time::Timestamp;
use std::io::{self, BufWriter, Write};

pub struct Analysis {
    pub engine: Engine,
    output: Output,
    /// `--write-sanitized`: fed from the engine's wire events in the same pass.
    sanitizer: Option<Sanitizer<BufWriter<std::fs::File>>>,
    sanitize_path: SavePath,
}

/// The sink for an output format, writing into what `open` opens (with, when it can be had, a
/// second handle on the same file for the kernel to copy into: see
/// [`OutputSettings::open_with_direct`]). Both happen on the first row, so an error before it
/// leaves the output untouched.
pub fn sink_for(
    o: &OutputSettings,
    threads: usize,
    tool: ToolInfo,
    open: impl FnOnce() -> io::Result<(Box<dyn Write + Send>, Option<std::fs::File>)> + Send + 'static,
) -> Box<dyn Sink + Send> {
    let (format, table, shown) = (o.format, o.table, o.shown);
    Box::new(Lazy::new(Box::new(move || {
        let (out, direct) = open()?;
        Ok(match format {
            Format::Json => {
                let sink = JsonSink::new(out, &tool)?.direct(direct).threads(threads);
                Box::new(sink) as Box<dyn Sink + Send>
            }
            Format::Jsonl => Box::new(JsonlSink::new(out, &tool)?),
            Format::Table => Box::new(KeepSink::new(out, Human::Table(table), shown)),
            Format::Markdown => Box::new(KeepSink::new(out, Human::Markdown, shown)),
        })
    })))
}

/// What the report says about the tool and its command line (redacted like everything else).
pub fn tool_info(s: &Settings) -> ToolInfo {
    let r = Redactor {
        on: s.output.redact,
    };
    ToolInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        command: s.argv.iter().map(|a| r.text(a).into_owned()).collect(),
        redacted: s.output.redact,
    }
}

impl Analysis {
    pub fn new(s: &Settings, sink: Box<dyn Sink + Send>) -> Result<Analysis> {
        let mut engine = Engine::new(s.limits, s.hints.clone());
        for (name, text) in &s.keylogs {
            engine.add_keylog(text, name);
        }
        let redactor = Redactor {
            on: s.output.redact,
        };
        let judge = Judge::new(s.policy.clone(), DEFAULT_WINDOW);
        let sanitizer = match &s.sanitize {
            Some(z) => {
                engine.keep_wire();
                Some(open_sanitized(z, s)?)
            }
            None => None,
        };
        Ok(Analysis {
            engine,
            output: Output::new(
                Writer::new(
                    Classifier::new(s.hints.clone()),
                    judge,
                    redactor,
                    s.output.fail_on,
                    sink,
                ),
                s.threads > 1,
            )?,
            sanitizer,
            sanitize_path: SavePath(
                s.sanitize
                    .as_ref()
                    .map(|z| z.path.clone())
                    .unwrap_or_default(),
            ),
        })
    }

    pub fn frame(&mut self, f: &Frame<'_>) -> Result<()> {
        self.engine.frame(f);
        self.pump_quietly()
    }

    pub fn note(&mut self, n: SourceNote) {
        self.engine.note(n);
    }

    /// Live capture's beat: expire idle connections as of `now`, judge what waited since before
    /// `flush_before`, write everything through to the output.
    pub fn tick(
        &mut self,
        now: Timestamp,
        flush_before: Timestamp,
        each: &mut dyn FnMut(&Request),
    ) -> Result<()> {
        self.engine.tick(now);
        self.pump(each)?;
        Ok(self.output.flush_before(flush_before)?)
    }

    /// Drained facts to the report side (`each` sees every request as it completes, before it
    /// is judged: live capture prints it).
    pub fn pump(&mut self, each: &mut dyn FnMut(&Request)) -> Result<()> {
        self.pump_each(each)
    }

    /// [`Analysis::pump`] when no one looks at the requests (a file read without lines printed):
    /// the call to `each` for every request, ~15 instructions, is left out.
    pub fn pump_quietly(&mut self) -> Result<()> {
        self.pump_each(|_| {})
    }

    fn pump_each(&mut self, mut each: impl FnMut(&Request)) -> Result<()> {
        if let Some(z) = &mut self.sanitizer {
            for w in self.engine.drain_wire() {
                z.wire(w).map_err(|e| self.sanitize_path.saving(e))?;
            }
        }
        for fact in self.engine.drain() {
            if let Fact::Request(r) = &fact {
                each(r);
            }
            self.output.push(fact)?;
        }
        Ok(self.output.pushed()?)
    }

    /// End of input: close every connection, judge what is left, write the end of the report.
    /// Returns the report's end (with the rows a human format kept) for the caller's verdict.
    pub fn finish(
        self,
        s: &Settings,
        each: &mut dyn FnMut(&Request),
        adjust: impl FnOnce(&mut Report),
    ) -> Result<Report> {
        self.finish_with(s, each, None, adjust)
    }

    /// [`Analysis::finish`] for a live session, whose report is built with what only it knows.
    pub fn finish_live(
        self,
        s: &Settings,
        each: &mut dyn FnMut(&Request),
        live: &LiveSummary,
    ) -> Result<Report> {
        self.finish_with(s, each, Some(live), |_| {})
    }

    fn finish_with(
        mut self,
        s: &Settings,
        each: &mut dyn FnMut(&Request),
        live: Option<&LiveSummary>,
        adjust: impl FnOnce(&mut Report),
    ) -> Result<Report> {
        // In batches: closing a full table at once would hold every connection's facts together.
        while self.engine.close_some(1024) {
            self.pump(each)?;
        }
        self.pump(each)?;
        if let Some(z) = self.sanitizer.take() {
            let (_, stats) = z.finish().map_err(|e| self.sanitize_path.saving(e))?;
            let quiet = s.output.table.quiet;
            if let Some(z) = s.sanitize.as_ref().filter(|z| z.announce && !quiet) {
                eprintln!(
                    "s3wire: wrote {}: {} ({} HTTP exchanges, {} TLS handshakes), {}, {} body \
                     bytes left out",
                    z.path.display(),
                    crate::report::plural(stats.connections, "connection"),
                    stats.exchanges,
                    stats.tls_sessions,
                    crate::report::plural(stats.attempts, "attempt"),
                    stats.body_bytes_removed
                );
            }
        }
        let mut writer = self.output.close()?;
        writer.finish_judging()?;
        let (intake, flow, records) = self.engine.finish();
        let mut report = Report {
            s3wire: tool_info(s),
            capture: super::assemble::capture(&intake, &s.captures, live),
            quality: super::assemble::quality(
                &intake,
                &flow,
                &records,
                &writer.judge.stats(),
                &s.policy_notes,
                live,
            ),
            endpoints: writer
                .judge
                .endpoints()
                .iter()
                .map(super::assemble::endpoint_record)
                .collect(),
            requests: Vec::new(),
            attempts: Vec::new(),
            tls: Vec::new(),
            operations: records.classifier().operation_counts(&writer.classifier),
            findings: Vec::new(),
            summary: Summary::default(),
        };
        adjust(&mut report);
        writer.finish(&mut report)?;
        Ok(report)
    }
}

/// Creates the `--write-sanitized` file and, with placeholders, says which endpoint each
/// configured one became (the file is re-analysed with those).
fn open_sanitized(
    z: &SanitizeSettings,
    s: &Settings,
) -> Result<Sanitizer<BufWriter<std::fs::File>>> {
    let path = SavePath(z.path.clone());
    let file = std::fs::File::create(&z.path).map_err(|e| path.saving(e))?;
    let configured: Vec<_> = s
        .policy
        .endpoints()
        .filter(|e| !matches!(e.origin, Origin::AwsDefault | Origin::Inferred))
        .collect();
    let mut names = z
        .map_names
        .then(|| Names::new(configured.iter().map(|e| e.host.as_str())));
    if let (Some(n), true) = (&mut names, z.announce) {
        for e in &configured {
            let host = n.host(&e.host);
            let url = Endpoint {
                host,
                ..(*e).clone()
            }
            .url();
            eprintln!(
                "s3wire: --write-sanitized: {} is {url} in {} (re-analyse with --endpoint {url})",
                e.url(),
                z.path.display()
            );
        }
    }
    Sanitizer::new(BufWriter::new(file), names).map_err(|e| path.saving(e))
}

/// Where the sanitized capture goes, for its errors.
#[derive(Default)]
struct SavePath(std::path::PathBuf);

impl SavePath {
    fn saving(&self, source: io::Error) -> Error {
        Error::SaveCapture {
            option: "--write-sanitized",
            path: self.0.clone(),
            source,
        }
    }
}
