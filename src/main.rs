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
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("s3wire: {}", one_line(&e));
            if let Some(hint) = hint(&e) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(2)
        }
    }
}

/// `a: b: c` from the error chain, on one line.
fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// A reader piping into `head` closed the pipe: not an error (ripgrep does the same).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn hint(e: &anyhow::Error) -> Option<&'static str> {
    let text = one_line(e);
    if text.contains("cannot create a temporary file") {
        Some("point TMPDIR at a writable directory, or use --format jsonl (it needs none)")
    } else if text.contains("not a pcap or pcapng") {
        Some("s3wire reads pcap/pcapng files, e.g. from `tcpdump -i any -w out.pcap` or Wireshark")
    } else if text.contains("--write-sanitized") {
        Some("check that the directory of the --write-sanitized FILE exists and is writable")
    } else if text.contains("No such file") {
        Some("check the path; use - to read a capture from standard input")
    } else if text.contains("--endpoint") {
        Some("give endpoints as URLs with a scheme, e.g. --endpoint https://s3.example.com:8443")
    } else {
        None
    }
}
