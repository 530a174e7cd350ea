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
//! the thread is [`LAG`] behind, the reader drops them itself.
//!
//! Advice is only advice: whichever thread gives it, and whenever, the bytes read are the same.
//! A page dropped is mapped again from the page cache when it is read; a page not mapped yet is
//! mapped by the fault its first read takes. So the thread never holds the reader up: a reader
//! that gets ahead of it takes page faults, as it would with no advice at all.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
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

/// Where the reader is, as it last said: what the thread is to advise for.
#[derive(Default)]
struct Wanted {
    /// The reader's offset and the file's believed length, not yet advised for.
    at: Option<(usize, usize)>,
    /// Advised for everything said so far (tests wait for it).
    idle: bool,
    stop: bool,
}

/// What the reader and the thread share.
#[derive(Default)]
struct Shared {
    wanted: Mutex<Wanted>,
    said: Condvar,
    /// The thread has dropped the pages below this offset.
    dropped: AtomicUsize,
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
        let shared = Arc::new(Shared::default());
        let theirs = Arc::clone(&shared);
        // The advice is moved into the thread; a failed spawn drops the closure, so a copy of
        // the cursors is kept to hand back (and is the reader's own from then on).
        let kept = Advice { ..advice };
        std::thread::Builder::new()
            .name("s3wire-pager".into())
            .stack_size(64 << 10)
            .spawn(move || {
                idle_priority();
                while let Some((start, valid)) = theirs.next() {
                    advice.give(start, valid);
                    theirs.dropped.store(advice.dropped, Ordering::Release);
                }
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
        let mut w = self
            .shared
            .wanted
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        w.at = Some((start, valid));
        w.idle = false;
        drop(w);
        self.shared.said.notify_all();
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
        let Shared { wanted, said, .. } = &*self.shared;
        let mut w = wanted.lock().unwrap_or_else(PoisonError::into_inner);
        while !w.idle || w.at.is_some() {
            w = said.wait(w).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Shared {
    /// The thread's next place to advise for, waited for; None once told to stop.
    fn next(&self) -> Option<(usize, usize)> {
        let mut w = self.wanted.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if w.stop {
                return None;
            }
            if let Some(at) = w.at.take() {
                w.idle = false;
                return Some(at);
            }
            w.idle = true;
            self.said.notify_all();
            w = self.said.wait(w).unwrap_or_else(PoisonError::into_inner);
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
        let Shared { wanted, said, .. } = &*self.shared;
        wanted.lock().unwrap_or_else(PoisonError::into_inner).stop = true;
        said.notify_all();
        if let Some(thread) = self.thread.take() {
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
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&vec![1u8; LEN]).unwrap();
        // SAFETY: a fresh read-only private map of the file's `LEN` bytes, unmapped below.
        let raw = unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                LEN,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            p.cast::<u8>()
        };
        let ptr = NonNull::new(raw).unwrap();
        // SAFETY: `sysconf` has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap();
        // No thread: nobody takes what the reader says.
        let mut pager = Pager {
            shared: Arc::new(Shared::default()),
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
