//! The texts nearly every request repeats, its Host and its User-Agent, kept once and shared by
//! every record that carries them ([`Shared`]): a record otherwise copies each into an
//! allocation of its own, made on the analysis thread and freed on the writer's (on the
//! request-dense benchmark capture, eleven allocations a request, and the allocator's
//! allocating functions ~9% of the analysis thread's samples in one `perf record`). Shared,
//! neither is copied nor freed, and the writer's memos and the judge's verdicts compare the
//! same bytes. A virtual-hosted client has a Host per bucket: past [`RECENT`] of them cycling,
//! each is kept again when it comes back, until the budget is spent.
//!
//! A text kept is kept for the rest of the process: at most [`BUDGET`] bytes over all of them,
//! past which texts are copied as before. A client has one Host and one User-Agent per
//! endpoint, so a capture of thousands of requests keeps a few of each.

use crate::facts::Shared;
use crate::recent::Recent;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The most bytes kept, over every analysis in the process.
const BUDGET: usize = 256 << 10;
/// A longer text is never kept (a Host is at most 255 bytes; a User-Agent some 30–300).
const LONGEST: usize = 1024;
/// Texts of a kind looked through before one is kept.
const RECENT: usize = 8;

/// Bytes kept so far, by every [`SharedTexts`] of the process.
static KEPT: AtomicUsize = AtomicUsize::new(0);

/// The last few texts kept of each kind.
#[derive(Clone)]
pub(crate) struct SharedTexts {
    hosts: Ring,
    agents: Ring,
    /// The bytes kept so far, against [`BUDGET`]: [`KEPT`], but a test's own.
    kept: &'static AtomicUsize,
}

impl Default for SharedTexts {
    fn default() -> Self {
        SharedTexts {
            hosts: Ring::new(),
            agents: Ring::new(),
            kept: &KEPT,
        }
    }
}

/// The texts kept, not the budget: it counts every analysis of the process, so a classifier's
/// debug text would differ between two runs of the same requests.
impl std::fmt::Debug for SharedTexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedTexts")
            .field("hosts", &self.hosts)
            .field("agents", &self.agents)
            .finish_non_exhaustive()
    }
}

impl SharedTexts {
    pub(crate) fn host(&mut self, text: Option<&str>) -> Option<Shared> {
        text.map(|t| share(&mut self.hosts, t, self.kept))
    }

    pub(crate) fn user_agent(&mut self, text: Option<&str>) -> Option<Shared> {
        text.map(|t| share(&mut self.agents, t, self.kept))
    }
}

/// The last [`RECENT`] texts kept of a kind (see [`Recent`]: a connection's requests all carry
/// the same, so the one that served last is tried first).
type Ring = Recent<&'static str, RECENT>;

/// `text` as a kept one: found among `ring`'s (inlined: the usual case, two a request), else
/// [`share_new`].
#[inline]
fn share(ring: &mut Ring, text: &str, budget: &AtomicUsize) -> Shared {
    match ring.find(|k| *k == text) {
        Some(k) => Shared::Borrowed(*k),
        None => share_new(ring, text, budget),
    }
}

/// A text not among `ring`'s: kept now if the budget has room (taking the oldest's place in
/// the ring), else the record's own copy.
#[cold]
#[inline(never)]
fn share_new(ring: &mut Ring, text: &str, budget: &AtomicUsize) -> Shared {
    match keep(text, budget) {
        Some(k) => {
            ring.keep(|| k, |oldest| *oldest = k);
            Shared::Borrowed(k)
        }
        None => Shared::Owned(text.to_string()),
    }
}

/// `text`, kept for the rest of the process, if the budget has room for it.
fn keep(text: &str, budget: &AtomicUsize) -> Option<&'static str> {
    if text.len() > LONGEST {
        return None;
    }
    let room = budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |kept| {
        (kept + text.len() <= BUDGET).then_some(kept + text.len())
    });
    room.ok()?;
    Some(Box::leak(text.to_owned().into_boxed_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts kept against a budget of their own: other tests of the process keep texts too.
    fn texts() -> SharedTexts {
        SharedTexts {
            kept: Box::leak(Box::new(AtomicUsize::new(0))),
            ..SharedTexts::default()
        }
    }

    fn address(s: &Shared) -> Option<*const u8> {
        match s {
            Shared::Borrowed(b) => Some(b.as_ptr()),
            Shared::Owned(_) => None,
        }
    }

    #[test]
    fn a_repeated_text_is_one_copy() {
        let mut t = texts();
        let ua = String::from("Boto3/1.44.8 md/Botocore#1.44.8");
        let first = t.user_agent(Some(&ua)).unwrap();
        let again = t.user_agent(Some(&ua.clone())).unwrap();
        assert_eq!(first, ua);
        assert_eq!(again, ua);
        assert!(address(&first).is_some());
        assert_eq!(address(&first), address(&again));
        assert_ne!(address(&first), Some(ua.as_ptr()));
        assert_eq!(t.user_agent(None), None);
    }

    #[test]
    fn texts_cycled_through_are_each_found_again() {
        let mut t = texts();
        let hosts: Vec<String> = (0..RECENT).map(|i| format!("h{i}.shared.test")).collect();
        let first: Vec<_> = hosts
            .iter()
            .map(|h| address(&t.host(Some(h)).unwrap()))
            .collect();
        for _ in 0..3 {
            for (h, a) in hosts.iter().zip(&first) {
                let s = t.host(Some(h)).unwrap();
                assert_eq!(s, h.as_str());
                assert_eq!(address(&s), *a, "{h} found again, not kept twice");
            }
        }
        // One more than the ring holds takes the oldest's place; the others stay.
        let extra = t.host(Some("extra.shared.test")).unwrap();
        assert_eq!(extra, "extra.shared.test");
        assert_eq!(address(&t.host(Some(&hosts[1])).unwrap()), first[1]);
    }

    #[test]
    fn past_the_budget_texts_are_copied() {
        let mut t = SharedTexts {
            kept: Box::leak(Box::new(AtomicUsize::new(BUDGET - 4))),
            ..SharedTexts::default()
        };
        let fits = t.host(Some("a:80")).unwrap();
        assert!(address(&fits).is_some());
        let over = t.host(Some("b:80")).unwrap();
        assert_eq!(over, "b:80");
        assert_eq!(address(&over), None);
        // What was kept is still shared.
        assert_eq!(address(&t.host(Some("a:80")).unwrap()), address(&fits));
    }

    #[test]
    fn a_long_text_is_the_records_own() {
        let mut t = texts();
        let long = "x".repeat(LONGEST + 1);
        let s = t.user_agent(Some(&long)).unwrap();
        assert_eq!(s, long.as_str());
        assert_eq!(address(&s), None);
    }
}
