//! Who owns each live connection, from `/proc`: the best-effort process column of `capture`,
//! and `run`'s fallback attribution where exact attribution (`cgroup`) is not available.
//!
//! A connection's socket must be looked up while it exists, and moto or nginx close theirs within
//! milliseconds. So a SYN watcher (an immediate-mode capture of the clients' SYNs only, on a
//! thread of its own with its own process table) looks each connection up as its SYN is sent;
//! the analysis, which sees the connection later, takes that answer, or looks up itself when
//! there is none. Neither the capture nor the analysis waits for the watcher.

use crate::app::attribution::Verdict;
use crate::report::ProcessInfo;
use crate::source::live::LiveSource;
use crate::source::procs::{ProcTable, Process};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// Bound on SYN-time answers waiting for their connection (unanswered SYNs leave entries behind).
const MAX_AT_SYN: usize = 4096;

type Tuple = (SocketAddr, SocketAddr);

/// How long the analysis waits for a lookup the SYN watcher has started: it is usually done
/// long before, but on a saturated machine the analysis can catch up with it.
const WAIT_FOR_WATCHER: Duration = Duration::from_millis(100);

/// What the SYN watcher found, per (client, server): `None` while it looks, then the owner, or
/// `Some(None)` when the socket was not found (gone already, or not local).
#[derive(Default)]
pub struct AtSyn {
    map: Mutex<HashMap<Tuple, Option<Option<Process>>>>,
    done: Condvar,
}

impl AtSyn {
    fn lock(&self) -> MutexGuard<'_, HashMap<Tuple, Option<Option<Process>>>> {
        // Each change is one insert or remove: a panic elsewhere leaves the map whole.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn put(&self, t: Tuple, owner: Option<Option<Process>>) {
        let mut m = self.lock();
        if m.len() >= MAX_AT_SYN {
            m.clear();
        }
        m.insert(t, owner);
        drop(m);
        self.done.notify_all();
    }

    /// The watcher's answer; waits (boundedly) for one it is still looking up.
    fn take(&self, t: &Tuple) -> Option<Option<Process>> {
        let deadline = Instant::now() + WAIT_FOR_WATCHER;
        let mut m = self.lock();
        while let Some(None) = m.get(t) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            m = self
                .done
                .wait_timeout(m, left)
                .map_or_else(|e| e.into_inner().0, |(m, _)| m);
        }
        m.remove(t).flatten()
    }
}

/// The SYN watcher's loop: until the session's table is gone or the capture fails.
pub fn watch_syns(mut syns: LiveSource, at_syn: &Weak<AtSyn>) {
    let mut table = ProcTable::new("/proc");
    loop {
        let Some(at) = at_syn.upgrade() else {
            return;
        };
        let read = syns.dispatch(&mut |f| {
            if let Ok(seg) = crate::decode::decode(f.link, f.data) {
                let t = (seg.src, seg.dst);
                at.put(t, None);
                at.put(t, Some(table.owner(seg.src, seg.dst)));
            }
        });
        if read.is_err() {
            return;
        }
    }
}

/// The analysis' side: the verdict on each connection the flow stage opens.
pub struct Procs {
    table: ProcTable,
    /// `run` (fallback) without `--all-traffic`: the command's pid, and the pids known to be
    /// it or its descendants.
    pub tree: Option<(u32, HashSet<u32>)>,
    pub at_syn: Arc<AtSyn>,
    redact: bool,
    /// `run`: connections kept although their owner could not be found.
    pub unattributed: u64,
    /// `run` in its own cgroup: every connection captured is the command's (see
    /// `source::cgroup`); this names it when the socket's process cannot be named exactly.
    pub exact: Option<ProcessInfo>,
}

impl Procs {
    pub fn new(redact: bool) -> Self {
        Procs {
            table: ProcTable::new("/proc"),
            tree: None,
            at_syn: Arc::default(),
            redact,
            unattributed: 0,
            exact: None,
        }
    }

    fn info(&self, p: Process) -> ProcessInfo {
        let cmdline = if self.redact {
            crate::report::redact::redact_text(&p.cmdline).into_owned()
        } else {
            p.cmdline
        };
        ProcessInfo {
            pid: p.pid,
            name: p.name,
            cmdline,
        }
    }

    /// Whether `pid` is the command or one of its descendants (always, outside `run`).
    fn in_tree(&mut self, pid: u32) -> bool {
        let Some((root, tree)) = &mut self.tree else {
            return true;
        };
        if tree.contains(&pid) {
            return true;
        }
        tree.extend(self.table.descendants(*root));
        tree.contains(&pid)
    }

    /// The owner: as seen at the SYN, or else now.
    fn owner(&mut self, client: SocketAddr, server: SocketAddr) -> Option<Process> {
        match self.at_syn.take(&(client, server)) {
            Some(Some(p)) => Some(p),
            _ => match &mut self.tree {
                Some((root, tree)) => self.table.owner_in_tree(client, server, *root, tree),
                None => self.table.owner(client, server),
            },
        }
    }

    pub fn verdict(&mut self, client: SocketAddr, server: SocketAddr) -> Verdict {
        if let Some(command) = &self.exact {
            let command = command.clone();
            return Verdict::Keep(Some(match self.owner(client, server) {
                Some(p) => self.info(p),
                None => command,
            }));
        }
        match self.owner(client, server) {
            Some(p) if self.in_tree(p.pid) => Verdict::Keep(Some(self.info(p))),
            Some(_) => Verdict::Skip,
            // `run`: open, but held outside the command's tree.
            None if self.tree.is_some() && self.table.is_open(client, server) => Verdict::Skip,
            None if self.tree.is_none() => Verdict::Keep(None),
            // `run`: gone before it could be looked up (or not a local client). Kept, because
            // hiding the command's own plaintext request would be worse than showing a
            // stranger's; counted and said in the report.
            None => {
                self.unattributed += 1;
                Verdict::Keep(None)
            }
        }
    }
}

/// The command as started: what names its connections when the process that held a socket is
/// gone before it could be looked up (in its cgroup, it can only be the command or a child).
pub fn command_info(argv: &[String], pid: u32, redact: bool) -> ProcessInfo {
    let name = argv
        .first()
        .map_or("", |a| a.rsplit('/').next().unwrap_or(a));
    let cmdline = argv.join(" ");
    ProcessInfo {
        pid,
        name: name.chars().take(15).collect(),
        cmdline: match redact {
            true => crate::report::redact::redact_text(&cmdline).into_owned(),
            false => cmdline,
        },
    }
}

/// The lookup the engine calls for each connection.
pub fn lookup(procs: Arc<Mutex<Procs>>) -> crate::app::attribution::ProcessLookup {
    Box::new(move |client, server| lock(&procs).verdict(client, server))
}

pub fn lock(p: &Mutex<Procs>) -> MutexGuard<'_, Procs> {
    p.lock().unwrap_or_else(|e| e.into_inner())
}
