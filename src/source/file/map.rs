//! A regular, uncompressed capture file read through a memory map: the parser reads the page
//! cache's pages where they lie, so the kernel's copy of every byte into a buffer (`read()`,
//! 9% of a request-dense run's CPU on the read-ahead thread) is gone, and no thread copies.
//!
//! Memory stays flat: a file mapping's pages count in the process's RSS once touched, so the
//! pages behind the reader are dropped every [`STEP`] (`MADV_DONTNEED`: they leave the
//! process, not the page cache); the next few MiB are mapped in one call, and the next 16 MiB
//! asked for (`MADV_WILLNEED`, besides `MADV_SEQUENTIAL` on the whole map), so the kernel
//! still reads a cold file from disk while the analysis works, as the read-ahead thread did
//! ([`super::pager`]: by the reader, or, with more than one thread, by a thread of its own
//! told where the reader is). The CPU is asked for the bytes [`PREFETCH`] ahead of the reader,
//! which the thread's copy used to bring into the cache.
//!
//! A file that shrinks while it is mapped (a capture truncated or rotated by another program)
//! would end the process: a load from a page wholly past the file's new end raises SIGBUS. A
//! handler installed once ([`install`]) looks the faulting address up in the maps registered
//! here (in atomics: [`SLOTS`]); inside one, it maps anonymous zero pages over the rest of
//! that map, notes that it did, and returns, so the load is done again and reads zeros; any
//! other SIGBUS goes on to whatever handled it before (Rust's own, or the default, which ends
//! the process as before). Zeros never reach the analysis as packets: before a record is
//! handed out, [`Map::check`] loads a byte of the page after the record's last one (a load
//! that faults when the file no longer reaches past the record, which also catches a new end
//! inside the record's last page, whose tail the kernel zeroes without a fault), then looks
//! at the note; in the map's last page, where there is no page after, it asks the file's size
//! instead. The caller then stops at the last record wholly in the file and says so.

use std::fs::File;
use std::ptr::{NonNull, null_mut};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, compiler_fence};

use libc::{c_int, c_void, siginfo_t};

use super::pager::{Advice, Pager, STEP};

/// How far ahead of the record handed out the CPU is asked to fetch the file's bytes. A
/// mapped page cache page is cold: without this, the load of a new page's first bytes
/// waited for memory (the read-ahead thread's copy used to do that waiting).
const PREFETCH: usize = 8 << 10;
const LINE: usize = 64;
/// Lines asked for together, in one unrolled step: a loop step per line was 4 instructions a
/// line (~28 a packet on dense-50k.pcap), this is about one.
const PREFETCH_BLOCK: usize = 8 * LINE;
/// Maps that can be open at once; one more is read the usual way.
const SLOT_COUNT: usize = 32;

/// One registered map, for the SIGBUS handler: its address range, and what the handler did.
struct Slot {
    /// Claimed by a map (set before `base`, cleared after it).
    used: AtomicBool,
    /// The map's first byte; 0 while the slot holds none.
    base: AtomicUsize,
    len: AtomicUsize,
    /// Offset of the first page the handler replaced with zeros (`usize::MAX`: none).
    zero_from: AtomicUsize,
    /// Set by the handler, taken by [`Map::shrunk`].
    faulted: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)] // each array element is its own slot
const FREE: Slot = Slot {
    used: AtomicBool::new(false),
    base: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    zero_from: AtomicUsize::new(usize::MAX),
    faulted: AtomicBool::new(false),
};

static SLOTS: [Slot; SLOT_COUNT] = [FREE; SLOT_COUNT];
/// The page size, read once at installation (the handler cannot call `sysconf`).
static PAGE: AtomicUsize = AtomicUsize::new(0);
/// The disposition SIGBUS had before ours: its handler (or SIG_DFL/SIG_IGN) and flags.
static OLD_HANDLER: AtomicUsize = AtomicUsize::new(libc::SIG_DFL);
static OLD_FLAGS: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Once = Once::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Zero mappings made by the handler, for tests.
#[cfg(test)]
pub(super) static FAULTS: AtomicUsize = AtomicUsize::new(0);

/// How the file shrank under the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shrunk {
    /// The file's size when it was mapped, and now (or as far as it is known to reach).
    pub opened: u64,
    pub now: u64,
    /// Bytes before this offset are the file's; none after it are read.
    pub left: u64,
    /// The end of the record handed out last, when it lies past `left`: the file shrank while
    /// that record was being analysed, which may then have read zeros for its bytes past
    /// `left`.
    pub cut_record: Option<u64>,
}

/// A read-only private map of a whole regular file.
pub(super) struct Map {
    ptr: NonNull<u8>,
    /// Bytes mapped: the file's size when it was opened.
    len: usize,
    /// Bytes still believed to be the file's: `len`, or less once it shrank.
    valid: usize,
    file: File,
    slot: &'static Slot,
    /// The page size less one.
    page_mask: usize,
    /// Who gives the kernel its advice on the pages.
    advisor: Advisor,
    /// Lines below this offset were prefetched.
    prefetched: usize,
    /// The next check whose page after lies at or past this offset advises the kernel again.
    advise_at: usize,
    /// Below both `advise_at` and `valid`: a check whose page after lies below this has nothing
    /// else to do.
    fast_until: usize,
}

// SAFETY: the map is owned by one `Map` and only read through it; moving it to another thread
// moves that ownership (the registry slot and the handler are shared by design, in atomics).
unsafe impl Send for Map {}

/// Who gives the kernel its advice on a map's pages ([`super::pager`]).
enum Advisor {
    /// The reader, as it passes each [`STEP`].
    Reader(Advice),
    /// A thread of its own, told where the reader is.
    Thread(Pager),
    /// Nobody: the map is being unmapped.
    Stopped,
}

impl Map {
    /// Map `file` if it is a regular, non-empty file and a map can be had; the file comes back
    /// otherwise, to be read the usual way.
    pub(super) fn open(file: File) -> Result<Map, File> {
        let len = match file.metadata() {
            Ok(meta) if meta.file_type().is_file() => usize::try_from(meta.len()).unwrap_or(0),
            _ => 0,
        };
        if len == 0 || !install() {
            return Err(file);
        }
        let Some(slot) = claim() else {
            return Err(file);
        };
        // SAFETY: a fresh read-only private mapping of `len` bytes of an open file; the kernel
        // picks the address, so nothing else is replaced.
        let raw = unsafe {
            use std::os::fd::AsRawFd;
            libc::mmap(
                null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        let Some(ptr) = NonNull::new(raw.cast::<u8>()).filter(|_| raw != libc::MAP_FAILED) else {
            slot.used.store(false, Ordering::Release);
            return Err(file);
        };
        slot.len.store(len, Ordering::Relaxed);
        slot.zero_from.store(usize::MAX, Ordering::Relaxed);
        slot.faulted.store(false, Ordering::Relaxed);
        slot.base.store(ptr.as_ptr() as usize, Ordering::Release);
        let page_mask = PAGE.load(Ordering::Relaxed) - 1;
        let advice = Advice::new(ptr, page_mask);
        // The rest of the advice comes with the first record: `analyze` opens every input
        // once to check it before reading any, and that must not read them all from disk.
        advice.advise(0, len, libc::MADV_SEQUENTIAL);
        Ok(Map {
            ptr,
            len,
            valid: len,
            file,
            slot,
            page_mask,
            advisor: Advisor::Reader(advice),
            prefetched: 0,
            advise_at: 0,
            fast_until: 0,
        })
    }

    /// The bytes believed to be the file's.
    pub(super) fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr..ptr + len` is mapped readable for the life of `self` (the handler only
        // ever replaces pages of it by readable zero pages), and `valid <= len`. The bytes may
        // change under the borrow (another program writing the file, the handler's zeros):
        // they are read as plain data whose every use is bounds-checked, and records are
        // checked against that (`check`) before they are handed out.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.valid) }
    }

    /// Bytes mapped: the file's size when it was opened.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Whether the bytes `start..upto`, a record about to be handed out, are the file's: the
    /// file still reaches past them and no page of the map was replaced by zeros. Also drops
    /// the pages behind `start` and asks for those ahead, every [`STEP`].
    #[inline]
    pub(super) fn check(&mut self, start: usize, upto: usize) -> bool {
        self.prefetch(upto.saturating_add(PREFETCH).min(self.valid));
        // The page after the one holding the record's last byte (page 0 for an empty range).
        let guard = (upto.wrapping_sub(1) | self.page_mask).wrapping_add(1);
        if guard < self.fast_until {
            // SAFETY: `guard < fast_until <= valid <= len`: inside the map. A page past the
            // file's end raises SIGBUS, which the handler turns into zeros and a note.
            unsafe { self.ptr.as_ptr().add(guard).read_volatile() };
        } else if !self.check_slowly(start, guard) {
            return false;
        }
        // The handler runs on this thread, within the load above: its note is seen below.
        compiler_fence(Ordering::SeqCst);
        !self.slot.faulted.load(Ordering::Relaxed)
    }

    /// Ask the CPU for the lines up to `to` not asked for yet, a block of [`PREFETCH_BLOCK`]
    /// at a time (the lines of a block short of `to` wait for a later record: the distance
    /// ahead stays within a block of [`PREFETCH`]; the file's last partial block is not asked
    /// for).
    #[inline]
    fn prefetch(&mut self, to: usize) {
        while self.prefetched + PREFETCH_BLOCK <= to {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `prefetched + PREFETCH_BLOCK <= to <= valid <= len`: the block is inside
            // the map. A prefetch never faults (and SSE, its instruction set, is part of
            // x86-64).
            unsafe {
                use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
                let block = self.ptr.as_ptr().add(self.prefetched);
                for line in (0..PREFETCH_BLOCK).step_by(LINE) {
                    _mm_prefetch::<_MM_HINT_T0>(block.add(line).cast());
                }
            }
            self.prefetched += PREFETCH_BLOCK;
        }
    }

    /// [`Map::check`] every [`STEP`], or in the map's last page, where there is no page
    /// after: the kernel is advised, and the file's size is asked instead.
    #[inline(never)]
    fn check_slowly(&mut self, start: usize, guard: usize) -> bool {
        if guard >= self.advise_at {
            self.advise(start);
        }
        self.fast_until = self.advise_at.min(self.valid);
        if guard < self.valid {
            // SAFETY: as in `check`.
            unsafe { self.ptr.as_ptr().add(guard).read_volatile() };
            return true;
        }
        self.size_holds()
    }

    /// Whether the file is still at least as long as the bytes believed to be its.
    #[inline(never)]
    fn size_holds(&self) -> bool {
        self.size_now().is_none_or(|size| size >= self.valid as u64)
    }

    /// The file's size now, if it can be asked.
    pub(super) fn size_now(&self) -> Option<u64> {
        self.file.metadata().ok().map(|m| m.len())
    }

    /// The file shrank (a check failed, or its size says so): from now on only the bytes
    /// before the new end, or before the first page the handler replaced, are believed.
    /// `given_to`: the end of the last record handed out.
    pub(super) fn shrunk(&mut self, given_to: u64) -> Shrunk {
        self.slot.faulted.store(false, Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
        let zeros = self.slot.zero_from.load(Ordering::Relaxed);
        let size = self.size_now();
        let known = size.map_or(zeros, |s| usize::try_from(s).unwrap_or(usize::MAX));
        self.valid = self.valid.min(known).min(zeros);
        self.fast_until = self.fast_until.min(self.valid);
        Shrunk {
            opened: self.len as u64,
            now: size.unwrap_or(self.valid as u64),
            left: self.valid as u64,
            cut_record: (given_to > self.valid as u64).then_some(given_to),
        }
    }

    /// Believe no byte at or past `end` (the input is cut there).
    pub(super) fn cut(&mut self, end: usize) {
        self.valid = self.valid.min(end);
        self.fast_until = self.fast_until.min(self.valid);
    }

    /// A handle on the file, to read on past the map when it grew.
    pub(super) fn file(&self) -> std::io::Result<File> {
        self.file.try_clone()
    }

    /// From now on, the advice is given on a thread of its own (no change when none can be
    /// had, or it already is).
    pub(super) fn advise_ahead(&mut self) {
        self.advisor = match std::mem::replace(&mut self.advisor, Advisor::Stopped) {
            Advisor::Reader(advice) => match Pager::start(advice) {
                Ok(pager) => Advisor::Thread(pager),
                Err(advice) => Advisor::Reader(*advice),
            },
            other => other,
        };
    }

    /// The advice for the reader at `start` (see [`Advice::give`]), and when it is due next.
    #[inline(never)]
    fn advise(&mut self, start: usize) {
        match &mut self.advisor {
            Advisor::Reader(advice) => advice.give(start, self.valid),
            Advisor::Thread(pager) => pager.tell(start, self.valid),
            Advisor::Stopped => {}
        }
        self.advise_at = start.saturating_add(STEP);
    }

    /// Wait until the advice for the reader's last place has been given.
    #[cfg(test)]
    pub(super) fn settle(&self) {
        if let Advisor::Thread(pager) = &self.advisor {
            pager.settle();
        }
    }

    /// The map's first byte.
    #[cfg(test)]
    pub(super) fn base(&self) -> usize {
        self.ptr.as_ptr() as usize
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // No advice from now on: a thread giving it is stopped and joined before the pages
        // it advises on are unmapped (their addresses may be reused at once).
        self.advisor = Advisor::Stopped;
        // Out of the registry first, so the handler never maps over an address that may be
        // reused once the map is gone.
        self.slot.base.store(0, Ordering::Release);
        // SAFETY: the mapping made in `open` (its pages, or the handler's zero pages over
        // them), with its length; nothing borrows it any more.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
        self.slot.used.store(false, Ordering::Release);
    }
}

/// A free registry slot, claimed.
fn claim() -> Option<&'static Slot> {
    SLOTS.iter().find(|slot| {
        slot.used
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    })
}

/// Install the SIGBUS handler, once; false when it could not be (nothing is mapped then).
fn install() -> bool {
    INSTALL.call_once(|| {
        // SAFETY: `sysconf` and `sigaction` with valid, zero-initialised arguments; the old
        // disposition is stored before ours is installed, so the handler always finds it.
        unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE);
            let Ok(page) = usize::try_from(page) else {
                return;
            };
            if !page.is_power_of_two() {
                return;
            }
            PAGE.store(page, Ordering::Relaxed);
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old) != 0 {
                return;
            }
            OLD_HANDLER.store(old.sa_sigaction, Ordering::Relaxed);
            OLD_FLAGS.store(old.sa_flags as usize, Ordering::Relaxed);
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_sigbus as *const () as usize;
            act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut act.sa_mask);
            if libc::sigaction(libc::SIGBUS, &act, std::ptr::null_mut()) == 0 {
                INSTALLED.store(true, Ordering::Release);
            }
        }
    });
    INSTALLED.load(Ordering::Acquire)
}

/// The SIGBUS handler: a fault inside a registered map gets zero pages over the rest of that
/// map (so the faulting load is done again, and reads zeros) and a note; anything else goes
/// to the disposition there was before.
///
/// SAFETY (async-signal safety): it only loads and stores atomics, calls `mmap` (and, for a
/// signal that is not ours, `sigaction`/`raise` or the previous handler, as the kernel would
/// have), and saves and restores `errno` around its own calls. It allocates nothing, takes no
/// lock and cannot panic.
extern "C" fn on_sigbus(sig: c_int, info: *mut siginfo_t, ctx: *mut c_void) {
    // SAFETY: `info` is the kernel's siginfo for this signal (SA_SIGINFO); `si_addr` is the
    // faulting address for a fault (si_code > 0); a signal sent by a process is not looked up.
    let fault = unsafe {
        match info.as_ref() {
            Some(i) if i.si_code > 0 => Some(i.si_addr() as usize),
            _ => None,
        }
    };
    if let Some(addr) = fault {
        // SAFETY: `__errno_location` is this thread's errno; it is put back as it was.
        let errno = unsafe { *libc::__errno_location() };
        let ours = SLOTS.iter().any(|slot| zero_rest(slot, addr));
        unsafe { *libc::__errno_location() = errno };
        if ours {
            return;
        }
    }
    // SAFETY: the previous disposition, as it was read when ours was installed.
    unsafe { chain(sig, info, ctx) }
}

/// If `addr` lies in `slot`'s map: zero pages from its page to the map's end, and the note.
fn zero_rest(slot: &Slot, addr: usize) -> bool {
    let base = slot.base.load(Ordering::Acquire);
    let len = slot.len.load(Ordering::Relaxed);
    let page = PAGE.load(Ordering::Relaxed);
    if base == 0 || addr < base || addr - base >= len || page == 0 {
        return false;
    }
    let from = addr & !(page - 1);
    // SAFETY: `from..base + len` (rounded up to the page, as mmap does) lies inside the map
    // this slot registers, which its owner keeps mapped while it is registered; MAP_FIXED
    // replaces exactly those pages, with readable zero pages of the same protection.
    let raw = unsafe {
        libc::mmap(
            from as *mut c_void,
            base + len - from,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return false; // then the fault is not survivable: the previous disposition decides
    }
    slot.zero_from.fetch_min(from - base, Ordering::Relaxed);
    slot.faulted.store(true, Ordering::Relaxed);
    #[cfg(test)]
    FAULTS.fetch_add(1, Ordering::Relaxed);
    true
}

/// Hand a SIGBUS that is not ours to the disposition there was before ours: its handler, or
/// the default action (the process ends, as it would have); an ignored one stays ignored
/// unless it is a fault, which the kernel never lets be ignored.
///
/// SAFETY: only async-signal-safe calls; `info` and `ctx` are the kernel's.
unsafe fn chain(sig: c_int, info: *mut siginfo_t, ctx: *mut c_void) {
    let old = OLD_HANDLER.load(Ordering::Relaxed);
    let flags = OLD_FLAGS.load(Ordering::Relaxed);
    if old == libc::SIG_DFL || old == libc::SIG_IGN {
        // SAFETY: `info` is the kernel's siginfo or null.
        let sent = unsafe { info.as_ref() }.is_none_or(|i| i.si_code <= 0);
        if old == libc::SIG_IGN && sent {
            return;
        }
        // SAFETY: restoring the default disposition, then raising the signal again: it is
        // blocked while this handler runs, so it is delivered, with the default action, once
        // the handler returns (a fault would also recur there, with the same outcome).
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut dfl.sa_mask);
            libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
            libc::raise(libc::SIGBUS);
        }
        return;
    }
    if flags & libc::SA_SIGINFO as usize != 0 {
        // SAFETY: the previous handler was installed with SA_SIGINFO: it takes three arguments.
        let handler: extern "C" fn(c_int, *mut siginfo_t, *mut c_void) =
            unsafe { std::mem::transmute(old) };
        handler(sig, info, ctx);
    } else {
        // SAFETY: a plain handler takes the signal number.
        let handler: extern "C" fn(c_int) = unsafe { std::mem::transmute(old) };
        handler(sig);
    }
}
