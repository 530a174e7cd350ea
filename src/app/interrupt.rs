//! Ctrl-C during `analyze`: the first one ends the input, not the report (what was read is
//! analysed and reported, then the usual exit status); a second one quits at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// 128 + SIGINT, what a shell reports for a command killed by Ctrl-C.
pub const EXIT_INTERRUPTED: i32 = 130;

/// How many times Ctrl-C (SIGINT) was pressed since [`Interrupt::install`].
pub struct Interrupt(Arc<AtomicU32>);

impl Interrupt {
    /// Count SIGINT instead of dying of it. The second one exits with
    /// [`EXIT_INTERRUPTED`] from the handler's thread (the `ctrlc` crate runs handlers on a thread
    /// of its own, not in signal context): the main thread may be blocked writing a report
    /// nobody reads, and a user pressing Ctrl-C twice wants out now. When the handler cannot be
    /// installed (a process can have only one) Ctrl-C ends s3wire as before, without a report,
    /// and a warning says so.
    pub fn install() -> Interrupt {
        let count = Arc::new(AtomicU32::new(0));
        let seen = count.clone();
        let installed = ctrlc::set_handler(move || {
            if seen.fetch_add(1, Ordering::SeqCst) >= 1 {
                std::process::exit(EXIT_INTERRUPTED);
            }
        });
        if let Err(e) = installed {
            eprintln!("s3wire: warning: Ctrl-C will end s3wire without a report ({e})");
        }
        Interrupt(count)
    }

    /// Whether Ctrl-C was pressed (cheap enough to ask after every frame).
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }
}
