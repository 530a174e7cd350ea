//! argv → Cli → app::run → exit status. The only place errors become 0/1/2 and hints.

use clap::Parser;
use s3wire::{app, cli};
use std::alloc::{GlobalAlloc, Layout};
use std::process::ExitCode;

/// mimalloc rather than glibc's allocator: every request's records are made on the analysis
/// thread and read on the report writer's, and with glibc the threaded run was slower than one
/// thread (1.35 s against 1.32 s on the dense benchmark's quarter, malloc and free a quarter of
/// the analysis thread's time); with mimalloc 0.90 s against 1.25 s, peak RSS 41 MiB.
#[global_allocator]
static ALLOCATOR: Allocator = Allocator;

// mimalloc's functions (in the library the `mimalloc` crate links; declared here rather than
// through its `extended` feature, which would rebuild it for a few functions).
unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    fn mi_malloc(size: usize) -> *mut std::ffi::c_void;
    fn mi_zalloc(size: usize) -> *mut std::ffi::c_void;
    fn mi_free(p: *mut std::ffi::c_void);
}

/// mimalloc, through its plain `mi_malloc` when the block it gives has the alignment asked for
/// (nearly always: Rust asks for an alignment of at most 16 bytes, and mimalloc's blocks of 16
/// bytes or more are 16-aligned), else through the `mimalloc` crate, whose functions all take the
/// aligned path. That path's checks and extra calls were 23-30% of mimalloc's instructions on a
/// request-dense capture, where a request costs about 13 allocations on the analysis thread and 9
/// on the report thread (dense-50k, mimalloc's own code: analysis thread 30.5 -> 21.4 M, report
/// thread 24.0 -> 18.5 M, 2% of each thread; the whole dense benchmark capture, JSON, 6 alternate
/// runs: user 2.16 -> 2.09 s). The alignment is checked on the block itself, not assumed from how
/// mimalloc was built (its padding, in debug and secure builds, moves blocks off it: why the crate
/// dropped this shortcut); a block that misses it is freed and asked for again the aligned way.
/// Reallocation stays on the aligned path, which keeps a block's alignment.
struct Allocator;

/// The largest alignment a plain mimalloc block is expected to have.
const MI_MAX_ALIGN: usize = 16;

impl Allocator {
    /// A block from `get` (`mi_malloc` or `mi_zalloc`) when it has `layout`'s alignment (or is
    /// null: out of memory); None otherwise, the block freed.
    ///
    /// # Safety
    /// `layout` has a non-zero size (`GlobalAlloc`'s contract).
    #[inline]
    unsafe fn plain(
        layout: Layout,
        get: unsafe extern "C" fn(usize) -> *mut std::ffi::c_void,
    ) -> Option<*mut u8> {
        if layout.align() > MI_MAX_ALIGN {
            return None;
        }
        // SAFETY: mimalloc's plain allocation, of a non-zero size.
        let p = unsafe { get(layout.size()) }.cast::<u8>();
        if p.addr() & (layout.align() - 1) == 0 {
            return Some(p);
        }
        // SAFETY: `p` came from mimalloc just now and is not used again.
        unsafe { mi_free(p.cast()) };
        None
    }
}

// SAFETY: a pointer is returned only when it is null or aligned to `layout.align()` (checked);
// every other case is the `mimalloc` crate's own allocator, and mimalloc frees and reallocates
// any of its blocks however it was allocated.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, passed on.
        unsafe {
            Self::plain(layout, mi_malloc).unwrap_or_else(|| mimalloc::MiMalloc.alloc(layout))
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, passed on.
        unsafe {
            Self::plain(layout, mi_zalloc)
                .unwrap_or_else(|| mimalloc::MiMalloc.alloc_zeroed(layout))
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a mimalloc block (every allocation above is one).
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` is a mimalloc block; the aligned reallocation keeps `layout.align()`.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
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
    take_undo_steps_on_panic();
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

/// The release build aborts on panic (Cargo.toml), so no value is dropped: after the usual
/// message, the hook takes what `run` would have undone as it dropped them (the nftables table,
/// the cgroup, the temporary key log of TLS secrets). Also in a build that unwinds: a panic ends
/// the run either way (nothing catches one), and each step runs only once.
fn take_undo_steps_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        s3wire::undo::on_panic();
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic, on any thread, takes the undo steps still pending: what `run` leaves on the
    /// system (here a file standing for its key log) goes even though nothing is dropped.
    #[test]
    fn a_panic_takes_the_undo_steps() {
        let dir = tempfile::tempdir().unwrap();
        let keylog = dir.path().join("keylog");
        std::fs::write(&keylog, "CLIENT_RANDOM ...").unwrap();
        let undo = {
            let keylog = keylog.clone();
            s3wire::undo::Undo::new(move || {
                let _ = std::fs::remove_file(&keylog);
            })
        };
        take_undo_steps_on_panic();
        let panicked = std::thread::spawn(|| panic!("a panic on purpose")).join();
        assert!(panicked.is_err());
        assert!(!keylog.exists(), "the panic left the key log");
        drop(undo);
    }

    /// Every size and alignment, the alignment larger than the size too (where a plain block
    /// may miss it and the aligned way is taken): each block has the alignment asked for, holds
    /// what is written to it, comes zeroed when asked, and keeps both through a reallocation.
    #[test]
    fn every_block_has_the_alignment_asked_for() {
        let sizes = (1..=72).chain([100, 255, 1000, 4096, 5000, 70_000]);
        for size in sizes {
            for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: non-zero sizes; each block is written within its size, then freed once
                // with the layout it has.
                unsafe {
                    let zeroed = ALLOCATOR.alloc_zeroed(layout);
                    assert!(
                        !zeroed.is_null() && zeroed.addr().is_multiple_of(align),
                        "{layout:?}"
                    );
                    assert!(
                        (0..size).all(|i| *zeroed.add(i) == 0),
                        "{layout:?} not zeroed"
                    );
                    ALLOCATOR.dealloc(zeroed, layout);
                    let p = ALLOCATOR.alloc(layout);
                    assert!(!p.is_null() && p.addr().is_multiple_of(align), "{layout:?}");
                    for i in 0..size {
                        *p.add(i) = i as u8;
                    }
                    let grown = ALLOCATOR.realloc(p, layout, size * 3);
                    assert!(
                        !grown.is_null() && grown.addr().is_multiple_of(align),
                        "{layout:?} grown"
                    );
                    assert!(
                        (0..size).all(|i| *grown.add(i) == i as u8),
                        "{layout:?} kept"
                    );
                    let grown_layout = Layout::from_size_align(size * 3, align).unwrap();
                    ALLOCATOR.dealloc(grown, grown_layout);
                }
            }
        }
    }

    /// Small blocks held together lie next to each other, so half of the 8-byte ones are off a
    /// 16-byte boundary: asked for with that alignment, each must still have it.
    #[test]
    fn neighbouring_small_blocks_keep_their_alignment() {
        for (size, align) in [(1, 16), (8, 16), (4, 8), (1, 8), (12, 16), (2, 4)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: non-zero sizes; each block is freed once with the layout it has.
            unsafe {
                let blocks: Vec<*mut u8> = (0..64).map(|_| ALLOCATOR.alloc(layout)).collect();
                for &p in &blocks {
                    assert!(!p.is_null() && p.addr().is_multiple_of(align), "{layout:?}");
                }
                for p in blocks {
                    ALLOCATOR.dealloc(p, layout);
                }
            }
        }
    }
}
