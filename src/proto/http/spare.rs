//! Exchanges given back once their request's record is made, to read the next request heads
//! into: the box, the head's text and its spans are written over, not allocated again.
//!
//! On a request-dense capture each request's exchange made three allocations (the box, the
//! head's text, its spans) freed a few dozen requests later, on the same thread, in the same
//! order. Kept for the thread (the analysis thread reads the heads and drops the exchanges;
//! a writer that classifies them gives none back), a few at a time: it is a cache of memory,
//! and what it holds changes nothing that is read (a head read into a spare exchange is the
//! head read into a new one; `plain.rs`'s tests hold the two ways together).

use std::cell::RefCell;

use super::HttpExchange;

/// Exchanges kept at most: more than one drain of the records' outbox gives back (a few dozen).
const KEPT: usize = 64;
/// An exchange whose head held more room than this (a head of many or long fields) is dropped
/// rather than kept: a spare holds its room until it is read into again.
const MAX_ROOM: usize = 4 << 10;

thread_local! {
    // Boxes, not exchanges: the box is what is handed out again (an exchange moves as a box).
    #[allow(clippy::vec_box)]
    static SPARE: RefCell<Vec<Box<HttpExchange>>> = const { RefCell::new(Vec::new()) };
}

/// An exchange to read a request head into, if one was given back on this thread.
#[inline]
pub(crate) fn take() -> Option<Box<HttpExchange>> {
    SPARE.with(|s| s.borrow_mut().pop())
}

/// `ex` is done with (its record made): kept to be read into again, or dropped. Its response
/// is dropped now (a box of its own: reading responses into boxes given back saved nothing).
#[inline]
pub(crate) fn give_back(mut ex: Box<HttpExchange>) {
    if ex.request.headers.room() > MAX_ROOM {
        return;
    }
    ex.response = None;
    SPARE.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < KEPT {
            s.push(ex);
        }
    });
}
