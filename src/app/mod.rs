//! Wires source → … → report for each subcommand. The only place the stages meet.

pub mod analysis;
mod assemble;
mod attribution;
pub mod engine;
pub mod error;
#[cfg(feature = "live")]
mod live;
mod output;
mod progress;
pub mod records;
pub mod settings;

use crate::cli::{Cli, Command};
use crate::report::Report;
use crate::source::file::FileSource;
use crate::source::{FrameSource, SourceItem};
pub use error::{Error, Result};
use settings::{OutputSettings, Settings};
use std::io::Write;

/// What `main` turns into the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    Findings,
}

pub fn run(cli: Cli, argv: Vec<String>) -> Result<Outcome> {
    match cli.command {
        Command::Analyze(args) => {
            let settings = Settings::for_analyze(&args, argv)?;
            analyze(&settings)
        }
        #[cfg(feature = "live")]
        Command::Capture(args) => live::capture(&args, argv),
        #[cfg(feature = "live")]
        Command::Run(args) => live::run(&args, argv),
        #[cfg(not(feature = "live"))]
        Command::Capture(_) | Command::Run(_) => Err(Error::NoLiveCapture),
        Command::Endpoints(args) => {
            let (policy, notes) = settings::resolve_policy(&args.policy)?;
            let out = OutputSettings::for_endpoints(args.format);
            let mut w = out.open()?;
            assemble::write_endpoints(&policy, &notes, args.format, &mut *w)?;
            w.flush()?;
            Ok(Outcome::Clean)
        }
    }
}

fn analyze(s: &Settings) -> Result<Outcome> {
    // Every input is opened and its format checked before anything is written, then closed
    // again (a rotated capture can be hundreds of files; each open one holds a buffer), except
    // standard input, which cannot be opened twice.
    let open = |arg: &str| FileSource::open_arg(arg).map_err(Error::Input);
    let mut stdin = None;
    for arg in &s.captures {
        let src = open(arg)?;
        if arg == "-" {
            stdin = Some(src);
        }
    }
    let total = s
        .captures
        .iter()
        .map(|a| {
            (a != "-")
                .then(|| std::fs::metadata(a).ok().map(|m| m.len()))
                .flatten()
        })
        .sum::<Option<u64>>();
    let mut progress = progress::Progress::new(total, !s.output.table.quiet);
    let out = s.output.clone();
    let sink = analysis::sink_for(&s.output, analysis::tool_info(s), move || out.open());
    let mut run = analysis::Analysis::new(s, sink)?;
    for arg in &s.captures {
        let mut src = match stdin.take().filter(|_| arg == "-") {
            Some(src) => src,
            None => open(arg)?,
        };
        if s.threads > 1 {
            src.read_ahead();
        }
        while let Some(item) = src.next_item()? {
            match item {
                SourceItem::Frame(f) => {
                    run.frame(&f)?;
                    let (packets, requests) = run.engine.counts();
                    progress.frame(src.bytes_read(), packets, requests);
                }
                SourceItem::Note(n) => run.note(n),
            }
        }
        progress.input_done(src.bytes_read());
    }
    progress.finish();
    let report = run.finish(s, &mut |_| {}, |_| {})?;
    Ok(outcome(&report))
}

/// Exit status 1 when a finding of a kind that fails the run was found (warnings do not).
pub fn outcome(report: &Report) -> Outcome {
    if report.summary.failing_findings == 0 {
        Outcome::Clean
    } else {
        Outcome::Findings
    }
}
