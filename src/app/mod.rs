//! Wires source → … → report for each subcommand. The only place the stages meet.

mod assemble;
mod attribution;
pub mod engine;
mod judge;
#[cfg(feature = "live")]
mod live;
pub mod records;
pub mod settings;

use crate::cli::{Cli, Command, Format};
use crate::report::{self, Report};
use crate::source::file::FileSource;
use crate::source::{FrameSource, SourceItem};
use anyhow::{Context, Result};
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
        Command::Capture(_) | Command::Run(_) => {
            anyhow::bail!("this s3wire was built without live capture (cargo feature `live`)")
        }
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
    let mut engine = engine::Engine::new(s.limits, s.hints.clone(), s.output.redact);
    for (name, text) in &s.keylogs {
        engine.add_keylog(text, name);
    }
    let mut sources_info = Vec::new();
    for arg in &s.captures {
        let mut src =
            FileSource::open_arg(arg).with_context(|| format!("cannot read capture {arg}"))?;
        while let Some(item) = src
            .next_item()
            .with_context(|| format!("while reading {arg}"))?
        {
            match item {
                SourceItem::Frame(f) => engine.frame(&f),
                SourceItem::Note(n) => engine.note(n),
            }
        }
        sources_info.push(arg.clone());
    }
    let report = assemble::build(engine, &sources_info, s);
    render(&report, &s.output)?;
    Ok(if report.findings.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

pub fn render(report: &Report, out: &OutputSettings) -> Result<()> {
    let mut w = out.open()?;
    render_to(report, out, &mut *w)?;
    w.flush()?;
    Ok(())
}

/// The report in `out`'s format into any writer (`run` writes it to standard error).
pub fn render_to(report: &Report, out: &OutputSettings, w: &mut dyn Write) -> Result<()> {
    match out.format {
        Format::Json => report::json::write_json(report, w)?,
        Format::Jsonl => report::json::write_jsonl(report, w)?,
        Format::Markdown => report::markdown::write_markdown(report, w)?,
        Format::Table => report::table::write_table(report, &out.table, w)?,
    }
    Ok(())
}
