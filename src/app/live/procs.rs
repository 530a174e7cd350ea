//! Who owns each live connection, from `/proc`: the best-effort process column of `capture`,
//! and `run`'s fallback attribution where exact attribution (`cgroup`) is not available.
//!
//! A connection's socket must be looked up while it exists, and moto or nginx close theirs within
//! milliseconds. So a SYN watcher (an immediate-mode capture of the clients' SYNs only, on a
//! thread of its own with its own process table) looks each connection up as its SYN is sent;
//! the analysis, which sees the connection later, takes that answer, or looks up itself when
//! there is none. Neither the capture nor the analysis waits for the watcher.

use crate::app::attribution::Verdict;
use crate::facts::Owner;
use crate::report::ProcessInfo;
use crate::source::live::LiveSource;
use crate::source::procs::{ProcTable, Process, ProcessLookup};
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
    table: Box<dyn ProcessLookup>,
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
        Procs::with_table(Box::new(ProcTable::new("/proc")), redact)
    }

    pub fn with_table(table: Box<dyn ProcessLookup>, redact: bool) -> Self {
        Procs {
            table,
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
            let process = match self.owner(client, server) {
                Some(p) => self.info(p),
                None => command,
            };
            return Verdict::Keep(Some(process), Some(Owner::Command));
        }
        // `run` (without `--all-traffic`) says whose each kept connection is; `capture` does not.
        let command = self.tree.is_some().then_some(Owner::Command);
        match self.owner(client, server) {
            Some(p) if self.in_tree(p.pid) => Verdict::Keep(Some(self.info(p)), command),
            Some(_) => Verdict::Skip,
            // `run`: open, but held outside the command's tree.
            None if self.tree.is_some() && self.table.is_open(client, server) => Verdict::Skip,
            None if self.tree.is_none() => Verdict::Keep(None, None),
            // `run`: gone before it could be looked up (or not a local client). Kept, because
            // hiding the command's own plaintext request would be worse than showing a
            // stranger's; but marked unknown, so its findings are warnings, never the command's
            // failure (under load these are mostly other processes', e.g. a proxy's upstream).
            None => {
                self.unattributed += 1;
                Verdict::Keep(None, Some(Owner::Unknown))
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
pub fn lookup(procs: Arc<Mutex<Procs>>) -> crate::app::attribution::ConnectionVerdicts {
    Box::new(move |client, server| lock(&procs).verdict(client, server))
}

pub fn lock(p: &Mutex<Procs>) -> MutexGuard<'_, Procs> {
    p.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sockets and processes as a test sets them.
    #[derive(Default)]
    struct Fake {
        owners: HashMap<Tuple, u32>,
        open: HashSet<Tuple>,
        children: Vec<u32>,
    }

    fn process(pid: u32) -> Process {
        Process {
            pid,
            name: format!("p{pid}"),
            cmdline: format!("p{pid} --secret X-Amz-Signature=abcdef0123"),
        }
    }

    impl ProcessLookup for Fake {
        fn owner(&mut self, l: SocketAddr, r: SocketAddr) -> Option<Process> {
            self.owners.get(&(l, r)).map(|p| process(*p))
        }
        fn owner_in_tree(
            &mut self,
            l: SocketAddr,
            r: SocketAddr,
            root: u32,
            tree: &mut HashSet<u32>,
        ) -> Option<Process> {
            tree.extend(self.descendants(root));
            self.owners
                .get(&(l, r))
                .filter(|p| tree.contains(p))
                .map(|p| process(*p))
        }
        fn is_open(&self, l: SocketAddr, r: SocketAddr) -> bool {
            self.open.contains(&(l, r)) || self.owners.contains_key(&(l, r))
        }
        fn descendants(&self, root: u32) -> Vec<u32> {
            std::iter::once(root).chain(self.children.clone()).collect()
        }
    }

    fn conn(port: u16) -> Tuple {
        (
            SocketAddr::from(([127, 0, 0, 1], port)),
            SocketAddr::from(([127, 0, 0, 1], 25480)),
        )
    }

    fn verdict(p: &mut Procs, t: Tuple) -> Option<Option<u32>> {
        match p.verdict(t.0, t.1) {
            Verdict::Keep(process, _) => Some(process.map(|o| o.pid)),
            Verdict::Skip => None,
        }
    }

    /// Whose the connection is said to be, when kept.
    fn owner(p: &mut Procs, t: Tuple) -> Option<Option<Owner>> {
        match p.verdict(t.0, t.1) {
            Verdict::Keep(_, owner) => Some(owner),
            Verdict::Skip => None,
        }
    }

    #[test]
    fn capture_names_the_owner_and_keeps_what_it_cannot_name() {
        let mut fake = Fake::default();
        fake.owners.insert(conn(1), 10);
        let mut p = Procs::with_table(Box::new(fake), true);
        assert_eq!(verdict(&mut p, conn(1)), Some(Some(10)));
        assert_eq!(verdict(&mut p, conn(2)), Some(None));
        assert_eq!(p.unattributed, 0, "capture counts nothing as unattributed");
    }

    #[test]
    fn run_by_proc_keeps_its_tree_skips_others_and_counts_the_gone() {
        let mut fake = Fake::default();
        fake.owners.insert(conn(1), 100); // the command
        fake.owners.insert(conn(2), 101); // its child
        fake.owners.insert(conn(3), 7); // nginx
        fake.open.insert(conn(4)); // open, owner not found in the tree
        fake.children = vec![101];
        let mut p = Procs::with_table(Box::new(fake), true);
        p.tree = Some((100, HashSet::from([100])));
        assert_eq!(verdict(&mut p, conn(1)), Some(Some(100)));
        assert_eq!(verdict(&mut p, conn(2)), Some(Some(101)));
        assert_eq!(verdict(&mut p, conn(3)), None);
        assert_eq!(verdict(&mut p, conn(4)), None);
        assert_eq!(p.unattributed, 0);
        assert_eq!(verdict(&mut p, conn(5)), Some(None), "gone: kept");
        assert_eq!(p.unattributed, 1);
    }

    #[test]
    fn run_in_its_cgroup_names_the_command_when_the_socket_is_gone() {
        let mut p = Procs::with_table(Box::new(Fake::default()), true);
        p.tree = Some((100, HashSet::from([100])));
        p.exact = Some(command_info(
            &["/usr/bin/python3".into(), "s.py".into()],
            100,
            true,
        ));
        assert_eq!(verdict(&mut p, conn(9)), Some(Some(100)));
        assert_eq!(p.unattributed, 0);
    }

    #[test]
    fn the_syn_watchers_answer_wins_over_a_late_lookup_and_is_redacted() {
        let mut p = Procs::with_table(Box::new(Fake::default()), true);
        p.at_syn.put(conn(1), None);
        p.at_syn.put(conn(1), Some(Some(process(42))));
        match p.verdict(conn(1).0, conn(1).1) {
            Verdict::Keep(Some(info), _) => {
                assert_eq!(info.pid, 42);
                assert!(!info.cmdline.contains("abcdef0123"), "{}", info.cmdline);
            }
            _ => panic!("kept with its process"),
        }
        // Taken: a second connection on the same tuple looks up afresh.
        assert_eq!(verdict(&mut p, conn(1)), Some(None));
    }

    #[test]
    fn the_command_is_named_by_its_programs_file_name() {
        let c = command_info(
            &["/usr/bin/python3".into(), "-c".into(), "x".into()],
            5,
            false,
        );
        assert_eq!((c.pid, c.name.as_str()), (5, "python3"));
        assert_eq!(c.cmdline, "/usr/bin/python3 -c x");
    }

    #[test]
    fn run_by_proc_marks_the_command_s_and_the_unknown_apart() {
        let mut fake = Fake::default();
        fake.owners.insert(conn(1), 100); // the command
        fake.owners.insert(conn(2), 101); // its child
        fake.owners.insert(conn(3), 7); // nginx
        fake.children = vec![101];
        let mut p = Procs::with_table(Box::new(fake), true);
        p.tree = Some((100, HashSet::from([100])));
        assert_eq!(owner(&mut p, conn(1)), Some(Some(Owner::Command)));
        assert_eq!(owner(&mut p, conn(2)), Some(Some(Owner::Command)));
        assert_eq!(owner(&mut p, conn(3)), None, "another process's: skipped");
        assert_eq!(
            owner(&mut p, conn(5)),
            Some(Some(Owner::Unknown)),
            "gone before the lookup: kept, marked unknown"
        );
        assert_eq!(p.unattributed, 1);
    }

    #[test]
    fn capture_and_the_cgroup_say_no_unknown_owner() {
        let mut fake = Fake::default();
        fake.owners.insert(conn(1), 10);
        let mut p = Procs::with_table(Box::new(fake), true);
        assert_eq!(
            owner(&mut p, conn(1)),
            Some(None),
            "capture: no owner notion"
        );
        assert_eq!(owner(&mut p, conn(2)), Some(None));
        let mut p = Procs::with_table(Box::new(Fake::default()), true);
        p.tree = Some((100, HashSet::from([100])));
        p.exact = Some(command_info(&["x".into()], 100, true));
        assert_eq!(owner(&mut p, conn(9)), Some(Some(Owner::Command)));
    }
}
