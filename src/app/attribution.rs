//! Live capture only: which local process each connection belongs to, and (for `run`) whether it
//! is kept at all. Sits between `flow` and the records: a connection the lookup rejects never
//! reaches them, so the report, counters and findings are about the kept traffic only.

use super::records::{Fact, Records};
use crate::facts::Owner;
use crate::flow::{ConnId, StreamEvent};
use crate::report::ProcessInfo;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

/// What the lookup says about a connection (client address, server address).
pub enum Verdict {
    /// Keep it, naming its local process when known, and (`run`) whether it is the command's.
    Keep(Option<ProcessInfo>, Option<Owner>),
    /// Leave it out of the report (`run`: not the command's).
    Skip,
}

pub type ConnectionVerdicts = Box<dyn FnMut(SocketAddr, SocketAddr) -> Verdict>;

pub struct Attribution {
    lookup: ConnectionVerdicts,
    skipped: HashSet<ConnId>,
    processes: HashMap<ConnId, ProcessInfo>,
    owners: HashMap<ConnId, Owner>,
    /// The owner of the attempt just admitted, for its fact once the records made it.
    attempt_owner: Option<Owner>,
    pub skipped_connections: u64,
    pub skipped_attempts: u64,
}

impl Attribution {
    pub fn new(lookup: ConnectionVerdicts) -> Self {
        Attribution {
            lookup,
            skipped: HashSet::new(),
            processes: HashMap::new(),
            owners: HashMap::new(),
            attempt_owner: None,
            skipped_connections: 0,
            skipped_attempts: 0,
        }
    }

    /// Whether the event goes on to the records.
    fn admit(&mut self, ev: &StreamEvent<'_>) -> bool {
        match ev {
            StreamEvent::Opened {
                conn,
                client,
                server,
                ..
            } => match (self.lookup)(*client, *server) {
                Verdict::Keep(p, owner) => {
                    if let Some(p) = p {
                        self.processes.insert(*conn, p);
                    }
                    if let Some(o) = owner {
                        self.owners.insert(*conn, o);
                    }
                    true
                }
                Verdict::Skip => {
                    self.skipped.insert(*conn);
                    self.skipped_connections += 1;
                    false
                }
            },
            StreamEvent::Data { conn, .. } | StreamEvent::Gap { conn, .. } => {
                !self.skipped.contains(conn)
            }
            StreamEvent::Closed { conn, .. } => !self.skipped.remove(conn),
            StreamEvent::Attempt(a) => match (self.lookup)(a.client, a.server) {
                Verdict::Keep(_, owner) => {
                    self.attempt_owner = owner;
                    true
                }
                Verdict::Skip => {
                    self.skipped_attempts += 1;
                    false
                }
            },
        }
    }

    /// Names the process (and owner) of every request waiting in the records' outbox, and the
    /// owner of the attempt just admitted.
    fn label(&mut self, records: &mut Records) {
        let mut attempt_owner = self.attempt_owner.take();
        for f in records.pending_mut().iter_mut().rev() {
            match f {
                Fact::Request(r) => {
                    let conn = ConnId(r.connection);
                    if r.process.is_none() {
                        r.process = self.processes.get(&conn).cloned();
                    }
                    if r.owner.is_none() {
                        r.owner = self.owners.get(&conn).copied();
                    }
                }
                // Only the newest attempt can be the one just admitted.
                Fact::Attempt(a) if a.owner.is_none() => a.owner = attempt_owner.take(),
                _ => {}
            }
        }
    }
}

/// One stream event through the attribution (when there is one) to the records.
pub fn route(attr: &mut Option<Attribution>, records: &mut Records, ev: StreamEvent<'_>) {
    let Some(a) = attr else {
        return records.on_stream(ev);
    };
    let closed = match &ev {
        StreamEvent::Closed { conn, .. } => Some(*conn),
        _ => None,
    };
    if !a.admit(&ev) {
        return;
    }
    records.on_stream(ev);
    a.label(records);
    if let Some(conn) = closed {
        a.processes.remove(&conn);
        a.owners.remove(&conn);
    }
}
