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

// mimalloc's `mi_option_set` (in the library the `mimalloc` crate links; declared here rather
// than through its `extended` feature, which would rebuild it for one function).
unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// Arenas committed as used: mimalloc's defaults doubled the peak RSS of the hostile captures
/// (`scripts/bench-hostile`, SYN flood 58–66 MiB against 29–30), and eager commit is what did
/// it. Freed pages are purged mimalloc's default 10 ms late: purging them at once
/// (`purge_delay` 0, set here until it was measured) made every reuse of a page a fault and a
/// zeroing, a tenth of the analysis thread on a request-dense capture (sys 0.63 -> 0.37 s on the
/// whole dense benchmark capture), to save a few MiB of peak RSS (hostile captures, repeated
/// runs: worst 35 MiB purging at once, 37–40 MiB 10 ms late; the bound is 64). The option
/// number is mimalloc v3's `mi_option_e` (`arena_eager_commit` = 4), the version
/// libmimalloc-sys builds by default. Run before mimalloc's own initialisation (its constructor
/// has priority 101, and the Rust runtime allocates before `main`), so that its first arena is
/// made with it.
///
/// Pages reclaimed on free across threads (`page_reclaim_on_free` = 35, set to 1): a request's
/// record is allocated by the analysis thread and freed by the report writer's, into pages the
/// analysis thread has since abandoned. By default each such free only queues the block for a
/// page nobody owns (`mi_free_try_collect_mt` and failed reclaims were 8% of the report thread
/// on a request-dense capture); allowed to, the writer adopts the page, and its later frees and
/// allocations there are local. Whole dense benchmark capture, JSON, 5 interleaved runs: 1.44 s
/// (user 2.27 s) -> 1.32 s (user 1.99 s); peak RSS unchanged (mimalloc bounds what one thread
/// reclaims per size class).
extern "C" fn tune_allocator() {
    // SAFETY: setting an option is a plain store mimalloc allows at any time, before its
    // initialisation too (options set are not read again from the environment).
    unsafe {
        mi_option_set(4, 0);
        mi_option_set(35, 1);
    }
}

#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array.00100")]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

fn main() -> ExitCode {
    // Elsewhere, as early as portable code can (the first arena keeps mimalloc's defaults).
    #[cfg(not(target_os = "linux"))]
    tune_allocator();
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
