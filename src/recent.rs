//! The last few things of a kind that requests cycle through, kept for their next use: the one
//! that served last is tried first (most often it serves again), then the others; a new one
//! takes the place of the oldest once `N` are kept. What the redacted Authorization memos
//! (`report::redact::RECENT_SIGV4`, `report::row_memo::RecentEscaped`) and the records' shared
//! Hosts and User-Agents (`app::shared_texts`) are made of.

/// Up to `N` kept things (see the module doc).
#[derive(Debug, Clone)]
pub(crate) struct Recent<T, const N: usize> {
    kept: Vec<T>,
    /// The thing that served last.
    last: usize,
    /// The place taken next once `N` are kept.
    next: usize,
}

impl<T, const N: usize> Recent<T, N> {
    pub(crate) const fn new() -> Self {
        Recent {
            kept: Vec::new(),
            last: 0,
            next: 0,
        }
    }

    /// The kept thing `serves` accepts: the one that served last when it does (inlined: the
    /// usual case), else the first of the others that does (not inlined).
    #[inline(always)]
    pub(crate) fn find(&mut self, serves: impl Fn(&T) -> bool) -> Option<&mut T> {
        // Looked up again to return it: the borrow checker does not let a match return it.
        if self.kept.get(self.last).is_some_and(&serves) {
            return self.kept.get_mut(self.last);
        }
        self.find_other(serves)
    }

    #[cold]
    #[inline(never)]
    fn find_other(&mut self, serves: impl Fn(&T) -> bool) -> Option<&mut T> {
        self.last = self.kept.iter().position(serves)?;
        self.kept.get_mut(self.last)
    }

    /// Keep a new thing, made by `make`, or remade by `remake` from the oldest kept (its buffers
    /// reused) once `N` are kept; it is then the one that served last.
    pub(crate) fn keep(
        &mut self,
        make: impl FnOnce() -> T,
        remake: impl FnOnce(&mut T),
    ) -> Option<&mut T> {
        self.last = match self.kept.len() < N {
            true => {
                self.kept.push(make());
                self.kept.len() - 1
            }
            false => {
                let at = self.next % N;
                self.next = at + 1;
                if let Some(oldest) = self.kept.get_mut(at) {
                    remake(oldest);
                }
                at
            }
        };
        self.kept.get_mut(self.last)
    }

    /// The thing that served last (found or kept last), if any is kept.
    pub(crate) fn last(&self) -> Option<&T> {
        self.kept.get(self.last)
    }

    /// How many are kept (at most `N`).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.kept.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The last served is found first, any kept one is found, and past `N` the oldest place is
    /// remade (its buffer reused) for the new one; nothing else is lost.
    #[test]
    fn the_oldest_gives_way_and_any_kept_one_is_found() {
        let mut recent: Recent<String, 3> = Recent::new();
        let keep = |r: &mut Recent<String, 3>, s: &str| {
            r.keep(
                || s.to_string(),
                |old| {
                    old.clear();
                    old.push_str(s);
                },
            )
            .cloned()
            .unwrap_or_default()
        };
        for s in ["a", "b", "c"] {
            assert_eq!(keep(&mut recent, s), s);
        }
        assert_eq!(recent.len(), 3);
        for s in ["a", "c", "b", "b"] {
            assert_eq!(
                recent.find(|t| t == s).map(|t| t.clone()),
                Some(s.to_string())
            );
        }
        // "d" takes the oldest place ("a"), then "e" the next ("b").
        assert_eq!(keep(&mut recent, "d"), "d");
        assert_eq!(keep(&mut recent, "e"), "e");
        assert_eq!(recent.len(), 3);
        for (s, kept) in [
            ("a", false),
            ("b", false),
            ("c", true),
            ("d", true),
            ("e", true),
        ] {
            assert_eq!(recent.find(|t| t == s).is_some(), kept, "{s}");
        }
    }
}
