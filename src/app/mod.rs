//! Wires source → … → report for each subcommand. The only place the stages meet.

pub mod analysis;
mod analyze;
mod assemble;
mod attribution;
pub mod engine;
pub mod error;
mod interrupt;
#[cfg(feature = "live")]
mod live;
mod live_summary;
mod output;
mod print;
mod progress;
pub mod records;
pub mod settings;
mod shared_texts;
mod tally;

use crate::cli::{Cli, Command};
use crate::report::Report;
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
            analyze::analyze(&settings, &args.output)
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

/// Exit status 1 when a finding of a kind that fails the run was found (warnings do not).
pub fn outcome(report: &Report) -> Outcome {
    if report.summary.failing_findings == 0 {
        Outcome::Clean
    } else {
        Outcome::Findings
    }
}
