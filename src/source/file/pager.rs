//! The kernel's advice on a mapped file's pages ([`super::map`]): the pages behind the reader
//! dropped (`MADV_DONTNEED`), the next ones mapped (`MADV_POPULATE_READ`) and the ones after
//! asked for from disk (`MADV_WILLNEED`). On a thread of its own when the analysis has more
//! than one (`--threads`): those calls are system time the analysis thread otherwise spends
//! itself, 16% of its samples (`perf record`, whole request-dense benchmark capture, JSON),
//! while the report thread has room. The reader only says where it is, every [`STEP`].
//!
//! The thread runs only when a CPU would otherwise be idle (`SCHED_IDLE`): at the usual
//! priority it took its CPU time from whichever of the two busy threads shared its CPU, often
//! the one setting the wall time, while the other CPU waited (`perf sched timehist`: ~10% of
//! both CPUs idle on the whole dense benchmark capture). A CPU that never idles (other work on
//! the machine) would starve it, and the pages behind the reader would stay in the RSS: once
//! the thread is [`LAG`] behind, the reader drops them itself. The two share atomics, not a
//! lock (the reader never waits for the thread), and the thread is woken by `unpark`.
//!
//! Advice is only advice: whichever thread gives it, and whenever, the bytes read are the same.
//! A page dropped is mapped again from the page cache when it is read; a page not mapped yet is
//! mapped by the fault its first read takes. So the thread never holds the reader up: a reader
//! that gets ahead of it takes page faults, as it would with no advice at all.

use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

use libc::c_int;

/// The pages behind the reader are dropped, and those ahead mapped and asked for, every this
/// many bytes.
pub(super) const STEP: usize = 2 << 20;
/// How far ahead of the reader the pages are mapped (`MADV_POPULATE_READ`): one call instead
/// of a page fault every 16 pages, and the CPU's prefetches of the bytes ahead need mapped
/// pages.
const MAPPED_AHEAD: usize = 2 * STEP;
/// How far ahead of the reader the kernel is asked to read from disk.
const AHEAD: usize = 16 << 20;
/// How far the thread's drops may fall behind the reader before the reader drops the pages
/// itself: the most a starved thread adds to the RSS.
const LAG: usize = 4 * STEP;

/// What was advised so far over a map's pages, and the advice still to give.
pub(super) struct Advice {
    ptr: NonNull<u8>,
    /// The page size less one.
    page_mask: usize,
    /// Pages below this offset were dropped; below `mapped`, mapped; below `ahead`, asked for.
    dropped: usize,
    mapped: usize,
    ahead: usize,
}

// SAFETY: `ptr` is the first byte of a map that outlives every use of the advice: the map
// gives advice itself, or stops and joins the thread that does before it is unmapped
// ([`Pager`]'s drop). Advice only passes the address to `madvise`, never reads through it.
unsafe impl Send for Advice {}

impl Advice {
    /// No advice given yet over the map at `ptr`.
    pub(super) fn new(ptr: NonNull<u8>, page_mask: usize) -> Advice {
        Advice {
            ptr,
            page_mask,
            dropped: 0,
            mapped: 0,
            ahead: 0,
        }
    }

    /// The reader is at `start`, and the file believed to be `valid` bytes long (at most the
    /// map's length): drop the pages behind `start`, map the next [`MAPPED_AHEAD`] bytes and
    /// ask for the next [`AHEAD`].
    pub(super) fn give(&mut self, start: usize, valid: usize) {
        let behind = self.drop_behind(start);
        // Pages past the file's end (it shrank) are not mapped: the call fails, and does not
        // raise SIGBUS.
        let mapped = start.saturating_add(MAPPED_AHEAD).min(valid) & !self.page_mask;
        let from = self.mapped.max(behind);
        if mapped > from {
            self.advise(from, mapped, libc::MADV_POPULATE_READ);
            self.mapped = mapped;
        }
        let ahead = start.saturating_add(AHEAD).min(valid) & !self.page_mask;
        if ahead > self.ahead {
            self.advise(self.ahead, ahead, libc::MADV_WILLNEED);
            self.ahead = ahead;
        }
    }

    /// Drop the pages behind `start` not dropped yet; the offset of `start`'s page.
    fn drop_behind(&mut self, start: usize) -> usize {
        let behind = start & !self.page_mask;
        if behind > self.dropped {
            self.advise(self.dropped, behind, libc::MADV_DONTNEED);
            self.dropped = behind;
        }
        behind
    }

    /// `madvise` over `from..to` (offsets; `from` page-aligned). A kernel that refuses the
    /// advice changes nothing that is read.
    pub(super) fn advise(&self, from: usize, to: usize, advice: c_int) {
        if to <= from {
            return;
        }
        // SAFETY: `from` is page-aligned and `from..to` lies within the map (every offset
        // given is at most the map's length), which is mapped while advice is given (see the
        // `Send` impl above).
        unsafe {
            libc::madvise(self.ptr.as_ptr().add(from).cast(), to - from, advice);
        }
    }
}

/// No place told, or the last one taken.
const NOWHERE: usize = usize::MAX;

/// What the reader and the thread share: atomics, no lock. The thread runs at `SCHED_IDLE`: a
/// lock it held when it was preempted would hold the reader up until a CPU idled.
struct Shared {
    /// The reader's last place the thread has not taken yet ([`NOWHERE`]: none).
    at: AtomicUsize,
    /// The file's believed length when the reader was there (a stale one only bounds advice).
    valid: AtomicUsize,
    stop: AtomicBool,
    /// The thread found no place to take and waits (tests wait for it).
    idle: AtomicBool,
    /// The thread has dropped the pages below this offset.
    dropped: AtomicUsize,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            at: AtomicUsize::new(NOWHERE),
            valid: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            idle: AtomicBool::new(false),
            dropped: AtomicUsize::new(0),
        }
    }

    /// The thread's loop: advice for each place taken, until told to stop. `idle` is cleared
    /// before a place is taken, so a test that sees no place and `idle` knows all was given.
    fn serve(&self, advice: &mut Advice) {
        while !self.stop.load(Ordering::SeqCst) {
            self.idle.store(false, Ordering::SeqCst);
            let at = self.at.swap(NOWHERE, Ordering::SeqCst);
            if at != NOWHERE {
                advice.give(at, self.valid.load(Ordering::SeqCst));
                self.dropped.store(advice.dropped, Ordering::Release);
                continue;
            }
            self.idle.store(true, Ordering::SeqCst);
            // A place told since the swap above left an unpark: this returns at once then.
            std::thread::park();
        }
    }
}

/// A thread that gives a map's advice where the reader says it is.
pub(super) struct Pager {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// The reader's own drops, when the thread falls [`LAG`] behind.
    fallback: Advice,
}

impl Pager {
    /// Give `advice` on a thread of its own from now on; the advice comes back if no thread
    /// can be had.
    pub(super) fn start(mut advice: Advice) -> Result<Pager, Box<Advice>> {
        let shared = Arc::new(Shared::new());
        let theirs = Arc::clone(&shared);
        // The advice is moved into the thread; a failed spawn drops the closure, so a copy of
        // the cursors is kept to hand back (and is the reader's own from then on).
        let kept = Advice { ..advice };
        std::thread::Builder::new()
            .name("s3wire-pager".into())
            .stack_size(64 << 10)
            .spawn(move || {
                idle_priority();
                theirs.serve(&mut advice);
            })
            .map(|thread| Pager {
                shared,
                thread: Some(thread),
                fallback: Advice { ..kept },
            })
            .map_err(|_| Box::new(kept))
    }

    /// The reader is at `start`, and the file believed to be `valid` bytes long. Advice not
    /// yet given for an earlier place is given for this one instead. When the thread's drops
    /// are [`LAG`] behind, the reader drops the pages behind it now.
    pub(super) fn tell(&mut self, start: usize, valid: usize) {
        self.shared.valid.store(valid, Ordering::SeqCst);
        self.shared.at.store(start, Ordering::SeqCst);
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
        let theirs = self.shared.dropped.load(Ordering::Acquire);
        let fallback = &mut self.fallback;
        fallback.dropped = fallback.dropped.max(theirs);
        if lagging(start, fallback.dropped) {
            fallback.drop_behind(start);
        }
    }

    /// Wait until the advice for everything said so far has been given.
    #[cfg(test)]
    pub(super) fn settle(&self) {
        // The place first: the thread clears `idle` before it takes one.
        while self.shared.at.load(Ordering::SeqCst) != NOWHERE
            || !self.shared.idle.load(Ordering::SeqCst)
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// Whether the pages behind a reader at `start` are more than [`LAG`] past those dropped.
fn lagging(start: usize, dropped: usize) -> bool {
    start.saturating_sub(dropped) > LAG
}

/// The calling thread runs only when a CPU would otherwise be idle (`SCHED_IDLE`; lowering
/// one's own priority needs no privilege). A kernel that refuses leaves it as it was.
fn idle_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `sched_setscheduler` on the calling thread (0) with a valid policy and
    // parameter; it reads `param` only.
    unsafe {
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
    }
}

impl Drop for Pager {
    /// The thread is stopped and joined: once this returns, no advice is given on the map (it
    /// may then be unmapped, and its addresses reused).
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    /// A thread that never gets a CPU (a machine kept busy by other work, `SCHED_IDLE`): the
    /// reader's own drops keep the map's resident pages within [`LAG`] of where it reads.
    /// Without them, every page read stays resident: here 32 MiB.
    #[test]
    fn a_starved_thread_leaves_the_drops_to_the_reader() {
        const LEN: usize = 32 << 20;
        let (_file, raw) = mapped(LEN);
        let (ptr, page) = (NonNull::new(raw).unwrap(), page());
        // No thread: nobody takes what the reader says.
        let mut pager = Pager {
            shared: Arc::new(Shared::new()),
            thread: None,
            fallback: Advice::new(ptr, page - 1),
        };
        let mut most = 0;
        for start in (0..LEN).step_by(STEP) {
            for at in (start..start + STEP).step_by(page) {
                // SAFETY: `at < LEN`, inside the map.
                unsafe { std::ptr::read_volatile(raw.add(at)) };
            }
            pager.tell(start, LEN);
            most = most.max(resident_kib(raw as usize));
        }
        // SAFETY: the map made above, with its length; nothing borrows it any more.
        unsafe { libc::munmap(raw.cast(), LEN) };
        let bound = (LAG + 2 * STEP) >> 10;
        assert!(
            most <= bound as u64,
            "{most} KiB resident, bound {bound} KiB"
        );
    }

    /// The thread gives the advice for the reader's last place: the pages behind it dropped,
    /// the next [`MAPPED_AHEAD`] mapped (here the reader itself reads nothing, so every page
    /// resident is one the thread mapped).
    #[test]
    fn the_thread_maps_ahead_of_the_reader_and_drops_behind_it() {
        const LEN: usize = 32 << 20;
        let (file, raw) = mapped(LEN);
        let mut pager = Pager::start(Advice::new(NonNull::new(raw).unwrap(), page() - 1))
            .unwrap_or_else(|_| panic!("no thread"));
        let last = 7 * STEP;
        for start in (0..=last).step_by(STEP) {
            pager.tell(start, LEN);
        }
        pager.settle();
        let dropped = pager.shared.dropped.load(Ordering::Acquire);
        let rss = resident_kib(raw as usize);
        drop(pager); // joined before the map goes
        // SAFETY: the map made by `mapped`, with its length; nothing borrows it any more.
        unsafe { libc::munmap(raw.cast(), LEN) };
        drop(file);
        assert_eq!(dropped, last, "the thread dropped up to the last place");
        // Exactly the mapped-ahead pages where the kernel maps 4 KiB pages; a step's slack for
        // one that maps larger ones.
        let ahead = (MAPPED_AHEAD >> 10) as u64;
        assert!(
            (ahead..=ahead + (STEP >> 10) as u64).contains(&rss),
            "the thread mapped ahead: {rss} KiB resident"
        );
    }

    /// A file of `len` bytes of ones, and a read-only private map of it.
    fn mapped(len: usize) -> (std::fs::File, *mut u8) {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&vec![1u8; len]).unwrap();
        // SAFETY: a fresh read-only private map of the file's `len` bytes; the callers unmap it.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        (file, p.cast())
    }

    fn page() -> usize {
        // SAFETY: `sysconf` has no preconditions.
        usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap()
    }

    /// The RSS, in KiB, of the mapping that starts at `base` (`/proc/self/smaps`).
    pub(in crate::source::file) fn resident_kib(base: usize) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let head = format!("{base:x}-");
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&head));
        assert!(lines.next().is_some(), "no mapping at {head}");
        let rss = lines.find(|l| l.starts_with("Rss:")).expect("an Rss line");
        rss.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}
