//! The kernel's advice on a mapped file's pages ([`super::map`]): the pages behind the reader
//! dropped (`MADV_DONTNEED`), the next ones mapped (`MADV_POPULATE_READ`) and the ones after
//! asked for from disk (`MADV_WILLNEED`). On a thread of its own when the analysis has more
//! than one (`--threads`): those calls are system time the analysis thread otherwise spends
//! itself, 16% of its samples (`perf record`, whole request-dense benchmark capture, JSON),
//! while the report thread has room. The reader only says where it is, every [`STEP`].
//!
//! Advice is only advice: whichever thread gives it, and whenever, the bytes read are the same.
//! A page dropped is mapped again from the page cache when it is read; a page not mapped yet is
//! mapped by the fault its first read takes. So the thread never holds the reader up: a reader
//! that gets ahead of it takes page faults, as it would with no advice at all.

use std::ptr::NonNull;
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
        let behind = start & !self.page_mask;
        if behind > self.dropped {
            self.advise(self.dropped, behind, libc::MADV_DONTNEED);
            self.dropped = behind;
        }
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

/// A thread that gives a map's advice where the reader says it is.
pub(super) struct Pager {
    shared: Arc<(Mutex<Wanted>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Pager {
    /// Give `advice` on a thread of its own from now on; the advice comes back if no thread
    /// can be had.
    pub(super) fn start(mut advice: Advice) -> Result<Pager, Box<Advice>> {
        let shared = Arc::new((Mutex::new(Wanted::default()), Condvar::new()));
        let theirs = Arc::clone(&shared);
        // The advice is moved into the thread; a failed spawn drops the closure, so a copy of
        // the cursors is kept to hand back.
        let kept = Advice { ..advice };
        std::thread::Builder::new()
            .name("s3wire-pager".into())
            .stack_size(64 << 10)
            .spawn(move || {
                let (wanted, said) = &*theirs;
                loop {
                    let (start, valid) = {
                        let mut w = wanted.lock().unwrap_or_else(PoisonError::into_inner);
                        loop {
                            if w.stop {
                                return;
                            }
                            if let Some(at) = w.at.take() {
                                w.idle = false;
                                break at;
                            }
                            w.idle = true;
                            said.notify_all();
                            w = said.wait(w).unwrap_or_else(PoisonError::into_inner);
                        }
                    };
                    advice.give(start, valid);
                }
            })
            .map(|thread| Pager {
                shared,
                thread: Some(thread),
            })
            .map_err(|_| Box::new(kept))
    }

    /// The reader is at `start`, and the file believed to be `valid` bytes long. Advice not
    /// yet given for an earlier place is given for this one instead.
    pub(super) fn tell(&self, start: usize, valid: usize) {
        let (wanted, said) = &*self.shared;
        let mut w = wanted.lock().unwrap_or_else(PoisonError::into_inner);
        w.at = Some((start, valid));
        w.idle = false;
        drop(w);
        said.notify_all();
    }

    /// Wait until the advice for everything said so far has been given.
    #[cfg(test)]
    pub(super) fn settle(&self) {
        let (wanted, said) = &*self.shared;
        let mut w = wanted.lock().unwrap_or_else(PoisonError::into_inner);
        while !w.idle || w.at.is_some() {
            w = said.wait(w).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Drop for Pager {
    /// The thread is stopped and joined: once this returns, no advice is given on the map (it
    /// may then be unmapped, and its addresses reused).
    fn drop(&mut self) {
        let (wanted, said) = &*self.shared;
        wanted.lock().unwrap_or_else(PoisonError::into_inner).stop = true;
        said.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
