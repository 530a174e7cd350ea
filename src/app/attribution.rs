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
        for f in records.pending_mut().rev() {
            match f {
                Fact::Request(r) => {
                    let conn = ConnId(r.connection);
                    if r.process.is_none() {
                        r.process = self.processes.get(&conn).cloned().map(Box::new);
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

/// One stream event through the attribution (when there is one) to the records. Inlined into
/// the flow table's delivery, so that an event goes straight to the records when there is no
/// attribution (files, `capture` without process lookup): through a call of its own it cost
/// ~17 instructions an event.
#[inline(always)]
pub fn route(attr: &mut Option<Attribution>, records: &mut Records, ev: StreamEvent<'_>) {
    match attr {
        None => records.on_stream(ev),
        Some(a) => a.route(records, ev),
    }
}

impl Attribution {
    /// [`route`] with an attribution: the event reaches the records when the lookup admits it,
    /// and the facts it made are labelled with their process and owner.
    #[inline(never)]
    fn route(&mut self, records: &mut Records, ev: StreamEvent<'_>) {
        let closed = match &ev {
            StreamEvent::Closed { conn, .. } => Some(*conn),
            _ => None,
        };
        if !self.admit(&ev) {
            return;
        }
        records.on_stream(ev);
        self.label(records);
        if let Some(conn) = closed {
            self.processes.remove(&conn);
            self.owners.remove(&conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::engine::Limits;
    use crate::flow::{Attempt, AttemptOutcome, CloseReason};
    use crate::s3::HostHints;
    use crate::time::Timestamp;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// One whole GET on connection `id` from client port `port`.
    fn exchange(attr: &mut Option<Attribution>, records: &mut Records, id: u64, port: u16) {
        let events = crate::app::records::tests::connection(
            id,
            (addr(port), addr(80)),
            "GET /b/k HTTP/1.1\r\nHost: s3.local.test\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            CloseReason::Fin,
        );
        for ev in events {
            route(attr, records, ev);
        }
    }

    fn attempt(port: u16) -> StreamEvent<'static> {
        StreamEvent::Attempt(Attempt {
            ts: Timestamp(9),
            client: addr(port),
            server: addr(80),
            outcome: AttemptOutcome::Refused,
            syns: 1,
        })
    }

    /// `run`'s verdicts reach the facts: the command's requests and attempts are `command`,
    /// those whose owner was not found `unknown`, and a skipped connection never arrives.
    #[test]
    fn each_request_and_attempt_carries_its_connections_owner() {
        let lookup: ConnectionVerdicts = Box::new(|client, _| match client.port() {
            1 => Verdict::Keep(
                Some(ProcessInfo {
                    pid: 100,
                    name: "python3".into(),
                    cmdline: "python3 s.py".into(),
                }),
                Some(Owner::Command),
            ),
            2 => Verdict::Keep(None, Some(Owner::Unknown)),
            _ => Verdict::Skip,
        });
        let mut attr = Some(Attribution::new(lookup));
        let mut records = Records::new(Limits::default_for_tests(), HostHints::default());
        exchange(&mut attr, &mut records, 1, 1);
        exchange(&mut attr, &mut records, 2, 2);
        exchange(&mut attr, &mut records, 3, 3);
        route(&mut attr, &mut records, attempt(2));
        route(&mut attr, &mut records, attempt(1));
        route(&mut attr, &mut records, attempt(3));
        let got: Vec<String> = records
            .drain()
            .filter_map(|f| match f {
                Fact::Request(r) => Some(format!(
                    "request {} {:?} {:?}",
                    r.client.port(),
                    r.owner,
                    r.process.map(|p| p.pid)
                )),
                Fact::Attempt(a) => Some(format!("attempt {} {:?}", a.client.port(), a.owner)),
                _ => None,
            })
            .collect();
        assert_eq!(
            got,
            [
                "request 1 Some(Command) Some(100)",
                "request 2 Some(Unknown) None",
                "attempt 2 Some(Unknown)",
                "attempt 1 Some(Command)",
            ]
        );
        let a = attr.unwrap();
        assert_eq!((a.skipped_connections, a.skipped_attempts), (1, 1));
    }
}
