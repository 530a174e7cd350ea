//! What s3wire changes on the system while it runs (`run`'s cgroup and nftables table, its
//! temporary key log of TLS secrets) and must take away however it ends.
//!
//! The usual way out drops each [`Undo`], which takes its step. A panic does not: the release
//! build aborts on panic (`panic = "abort"` in Cargo.toml: no unwinding tables, 4–5% less CPU on
//! a request-dense capture), so nothing is dropped, and the panic hook the binary installs calls
//! [`on_panic`] to take every step still pending. Each step runs once: whichever comes first
//! removes it from the list.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

type Step = Box<dyn FnOnce() + Send>;

/// The process's steps.
static STEPS: Registry = Registry::new();

/// Steps not yet taken, each with its [`Undo`]'s number. One per process ([`STEPS`]); tests
/// make their own, so that one test's sweep cannot take another's steps.
struct Registry {
    pending: Mutex<Vec<(u64, Step)>>,
    next: AtomicU64,
}

/// A step that undoes something, taken when this is dropped or, after a panic, by
/// [`on_panic`]. Its errors are the step's own to ignore: it runs on the way out, where nothing
/// is left to report them to.
#[must_use = "the step is taken when this is dropped"]
pub struct Undo {
    id: u64,
    registry: &'static Registry,
}

impl Undo {
    pub fn new(step: impl FnOnce() + Send + 'static) -> Undo {
        STEPS.add(Box::new(step))
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        let step = self.registry.take(self.id);
        // Outside the lock: a step may take a while (nft runs as a process).
        if let Some(step) = step {
            step();
        }
    }
}

/// Every pending step, the latest first (the order drops would have taken them in). For the
/// panic hook: safe to call from any thread, also while another thread adds a step.
pub fn on_panic() {
    STEPS.sweep();
}

impl Registry {
    const fn new() -> Registry {
        Registry {
            pending: Mutex::new(Vec::new()),
            next: AtomicU64::new(0),
        }
    }

    fn add(&'static self, step: Step) -> Undo {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.pending().push((id, step));
        Undo { id, registry: self }
    }

    fn take(&self, id: u64) -> Option<Step> {
        let mut p = self.pending();
        let at = p.iter().position(|(i, _)| *i == id)?;
        Some(p.remove(at).1)
    }

    fn sweep(&self) {
        let steps = std::mem::take(&mut *self.pending());
        for (_, step) in steps.into_iter().rev() {
            step();
        }
    }

    /// The list, also after a panic while it was held (steps run outside the lock, so the
    /// list itself is intact).
    fn pending(&self) -> MutexGuard<'_, Vec<(u64, Step)>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn remover(registry: &'static Registry, path: &Path) -> Undo {
        let p = path.to_path_buf();
        registry.add(Box::new(move || {
            let _ = std::fs::remove_file(&p);
        }))
    }

    fn file_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, "secret").unwrap();
        p
    }

    /// Dropping takes the step, once: after it, neither a second file of the same name nor a
    /// panic's sweep is touched by it.
    #[test]
    fn dropping_takes_the_step_once() {
        static R: Registry = Registry::new();
        let dir = tempfile::tempdir().unwrap();
        let p = file_in(&dir, "a");
        drop(remover(&R, &p));
        assert!(!p.exists());
        std::fs::write(&p, "again").unwrap();
        R.sweep();
        assert!(p.exists(), "a dropped step ran again");
    }

    /// The panic hook's sweep takes what was not dropped, and the later drop (an unwinding
    /// build) does not take it again.
    #[test]
    fn the_sweep_takes_what_was_not_dropped() {
        static R: Registry = Registry::new();
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (file_in(&dir, "a"), file_in(&dir, "b"));
        let (ua, ub) = (remover(&R, &a), remover(&R, &b));
        R.sweep();
        assert!(!a.exists() && !b.exists());
        std::fs::write(&a, "again").unwrap();
        drop((ua, ub));
        assert!(a.exists(), "a swept step ran again when dropped");
    }

    /// The sweep takes the latest step first, as drops at the end of nested scopes would.
    #[test]
    fn the_sweep_goes_latest_first() {
        static R: Registry = Registry::new();
        let order = std::sync::Arc::new(Mutex::new(Vec::new()));
        let undos: Vec<Undo> = (0..3)
            .map(|i| {
                let order = order.clone();
                R.add(Box::new(move || order.lock().unwrap().push(i)))
            })
            .collect();
        R.sweep();
        assert_eq!(*order.lock().unwrap(), [2, 1, 0]);
        drop(undos);
        assert_eq!(order.lock().unwrap().len(), 3);
    }
}
