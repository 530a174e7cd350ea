//! argv → Cli → app::run → exit status. The only place errors become 0/1/2 and hints.

use clap::Parser;
use s3wire::{app, cli};
use std::process::ExitCode;

/// mimalloc rather than glibc's allocator: every request's records are made on the analysis
/// thread and read on the report writer's, and with glibc the threaded run was slower than one
/// thread (1.35 s against 1.32 s on the dense benchmark's quarter, malloc and free a quarter of
/// the analysis thread's time); with mimalloc 0.90 s against 1.25 s, peak RSS 41 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are successes; usage errors are exit 2 like every other
            // "could not analyse".
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match app::run(cli, argv) {
        Ok(app::Outcome::Clean) => ExitCode::SUCCESS,
        Ok(app::Outcome::Findings) => ExitCode::from(1),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            // Each error names every cause once in its own message; its hint comes from its
            // kind, never from the words.
            eprintln!("s3wire: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(2)
        }
    }
}
