//! Live capture only: which local process each connection belongs to, and (for `run`) whether it
//! is kept at all. Sits between `flow` and the records: a connection the lookup rejects never
//! reaches them, so the report, counters and findings are about the kept traffic only.

use super::records::{Fact, Records};
use crate::flow::{ConnId, StreamEvent};
use crate::report::ProcessInfo;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

/// What the lookup says about a connection (client address, server address).
pub enum Verdict {
    /// Keep it, naming its local process when known.
    Keep(Option<ProcessInfo>),
    /// Leave it out of the report (`run`: not the command's).
    Skip,
}

pub type ConnectionVerdicts = Box<dyn FnMut(SocketAddr, SocketAddr) -> Verdict>;

pub struct Attribution {
    lookup: ConnectionVerdicts,
    skipped: HashSet<ConnId>,
    processes: HashMap<ConnId, ProcessInfo>,
    pub skipped_connections: u64,
    pub skipped_attempts: u64,
}

impl Attribution {
    pub fn new(lookup: ConnectionVerdicts) -> Self {
        Attribution {
            lookup,
            skipped: HashSet::new(),
            processes: HashMap::new(),
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
                Verdict::Keep(p) => {
                    if let Some(p) = p {
                        self.processes.insert(*conn, p);
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
                Verdict::Keep(_) => true,
                Verdict::Skip => {
                    self.skipped_attempts += 1;
                    false
                }
            },
        }
    }

    /// Names the process of every request waiting in the records' outbox.
    fn label(&mut self, records: &mut Records) {
        for f in records.pending_mut() {
            if let Fact::Request(r) = f
                && r.process.is_none()
            {
                r.process = self.processes.get(&ConnId(r.connection)).cloned();
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
    }
}
