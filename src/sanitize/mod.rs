//! **sanitize** (`--write-sanitized FILE`): a pcapng fit to attach to a public issue, written in
//! the same single pass as the analysis.
//!
//! It is fed [`Wire`] events — what `proto` saw, per connection, in completion order — and
//! writes, per connection, a synthetic but consistent TCP conversation with the original
//! 4-tuple and timestamps (LINKTYPE_RAW, checksums right):
//! - plaintext HTTP: each exchange's heads in order (request, interim 1xx, response), scrubbed
//!   the way reports redact ([`scrub`]) and with bodies removed ([`head`]);
//! - TLS: the hellos alone, rebuilt from their parsed fields ([`tls`]); no key log, nothing
//!   that was decrypted;
//! - refused or unanswered attempts: their SYNs and RST;
//! - with [`Names`], addresses and host names replaced by stable placeholders.
//!
//! Everything else (streams that are neither HTTP nor TLS, bodies, application data) is left
//! out. Memory: one small state per open connection that showed HTTP or TLS, removed at its
//! close; heads are written as their exchange completes.

mod conn;
mod head;
mod names;
pub mod packet;
mod scrub;
mod tls;

pub use head::REMOVED_HEADER;
pub use names::Names;

use crate::flow::{AttemptOutcome, CloseReason, ConnId, Direction};
use crate::proto::ProtoEvent;
use crate::proto::http::HttpExchange;
use crate::proto::tls::{ClientHello, ServerHello};
use crate::source::pcapng_writer::PcapngWriter;
use crate::source::{Frame, LinkType};
use crate::time::Timestamp;
use conn::{Packet, TcpConn};
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::SocketAddr;

/// What the sanitizer is told about the capture, in the order the analysis completes it.
#[derive(Debug, Clone)]
pub enum Wire {
    /// Something on a connection that carried HTTP or TLS.
    Conn {
        conn: ConnId,
        client: SocketAddr,
        server: SocketAddr,
        event: ConnEvent,
    },
    /// A connection attempt that carried no data.
    Attempt {
        ts: Timestamp,
        client: SocketAddr,
        server: SocketAddr,
        outcome: AttemptOutcome,
        syns: u32,
    },
}

#[derive(Debug, Clone)]
pub enum ConnEvent {
    Exchange(Box<HttpExchange>),
    ClientHello(Box<ClientHello>),
    ServerHello(Box<ServerHello>),
    /// A TLS alert in clear (from the server: possibly its answer to plaintext bytes).
    Alert {
        dir: Direction,
        ts: Timestamp,
        level: u8,
        description: u8,
    },
    Closed {
        ts: Timestamp,
        reason: CloseReason,
    },
}

impl Wire {
    /// The part of a `proto` event the sanitizer needs (cloned: only asked for when sanitizing).
    pub fn from_proto(
        conn: ConnId,
        client: SocketAddr,
        server: SocketAddr,
        ev: &ProtoEvent,
    ) -> Option<Wire> {
        let event = match ev {
            ProtoEvent::Http(ex) => ConnEvent::Exchange(ex.clone()),
            ProtoEvent::ClientHello(h) => ConnEvent::ClientHello(h.clone()),
            ProtoEvent::ServerHello(h) => ConnEvent::ServerHello(h.clone()),
            ProtoEvent::TlsAlert {
                dir,
                ts,
                level,
                description,
            } => ConnEvent::Alert {
                dir: *dir,
                ts: *ts,
                level: *level,
                description: *description,
            },
            _ => return None,
        };
        Some(Wire::Conn {
            conn,
            client,
            server,
            event,
        })
    }
}

/// What was written, for the closing line on standard error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub connections: u64,
    pub exchanges: u64,
    pub tls_sessions: u64,
    pub attempts: u64,
    /// Body bytes left out (as framed; unknown lengths count 0).
    pub body_bytes_removed: u64,
    pub packets: u64,
}

/// One connection being rewritten.
struct Conn {
    tcp: TcpConn,
    /// A ClientHello or ServerHello was seen: HTTP after it was inside TLS and is not written.
    tls: bool,
    /// Server alerts on a plaintext connection, written after the exchange they answered
    /// (which completes later than the alert arrives).
    held: Vec<(Timestamp, Vec<u8>)>,
}

pub struct Sanitizer<W: Write> {
    out: PcapngWriter<W>,
    conns: HashMap<ConnId, Conn>,
    names: Option<Names>,
    packets: Vec<Packet>,
    stats: Stats,
}

impl<W: Write> Sanitizer<W> {
    /// Starts the file; `names` replaces addresses and host names when given.
    pub fn new(out: W, names: Option<Names>) -> io::Result<Self> {
        Ok(Sanitizer {
            out: PcapngWriter::new(out, 262_144)?,
            conns: HashMap::new(),
            names,
            packets: Vec::new(),
            stats: Stats::default(),
        })
    }

    /// The placeholder mapping in use (to tell the user which endpoint to re-analyse with).
    pub fn names(&mut self) -> Option<&mut Names> {
        self.names.as_mut()
    }

    pub fn wire(&mut self, w: Wire) -> io::Result<()> {
        match w {
            Wire::Conn {
                conn,
                client,
                server,
                event,
            } => self.conn_event(conn, client, server, event),
            Wire::Attempt {
                ts,
                client,
                server,
                outcome,
                syns,
            } => {
                let (client, server) = self.ends(client, server);
                let refused = outcome == AttemptOutcome::Refused;
                TcpConn::new(client, server).attempt(ts, syns, refused, &mut self.packets);
                self.stats.attempts += 1;
            }
        }
        self.flush_packets()
    }

    /// Flushes the file and hands back the writer with what was written.
    pub fn finish(mut self) -> io::Result<(W, Stats)> {
        self.out.flush()?;
        Ok((self.out.into_inner(), self.stats))
    }

    fn conn_event(&mut self, id: ConnId, client: SocketAddr, server: SocketAddr, event: ConnEvent) {
        if let ConnEvent::Closed { ts, reason } = event {
            if let Some(c) = self.conns.remove(&id) {
                self.close(c, ts, reason);
            }
            return;
        }
        if !self.conns.contains_key(&id) {
            let (c, s) = self.ends(client, server);
            let conn = Conn {
                tcp: TcpConn::new(c, s),
                tls: false,
                held: Vec::new(),
            };
            self.conns.insert(id, conn);
            self.stats.connections += 1;
        }
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let out = &mut self.packets;
        match event {
            ConnEvent::Exchange(ex) if !c.tls => {
                self.stats.exchanges += 1;
                self.stats.body_bytes_removed += exchange(c, &ex, self.names.as_mut(), out);
                for (ts, bytes) in c.held.drain(..) {
                    c.tcp.send(Direction::ServerToClient, ts, &bytes, out);
                }
            }
            ConnEvent::Exchange(_) => {} // decrypted from TLS: only the handshake is written
            ConnEvent::ClientHello(h) => {
                self.stats.tls_sessions += u64::from(!c.tls);
                c.tls = true;
                let sni = match (&h.sni, self.names.as_mut()) {
                    (Some(s), Some(n)) => Some(n.host(s)),
                    (s, _) => s.clone(),
                };
                let rec = tls::client_hello(&h, sni.as_deref());
                c.tcp.send(Direction::ClientToServer, h.ts, &rec, out);
            }
            ConnEvent::ServerHello(h) => {
                self.stats.tls_sessions += u64::from(!c.tls);
                c.tls = true;
                c.tcp
                    .send(Direction::ServerToClient, h.ts, &tls::server_hello(&h), out);
            }
            ConnEvent::Alert {
                dir,
                ts,
                level,
                description,
            } => {
                let rec = tls::alert(level, description);
                if c.tls || dir == Direction::ClientToServer {
                    c.tcp.send(dir, ts, &rec, out);
                } else {
                    c.held.push((ts, rec));
                }
            }
            ConnEvent::Closed { .. } => {}
        }
    }

    fn close(&mut self, mut c: Conn, ts: Timestamp, reason: CloseReason) {
        let out = &mut self.packets;
        for (t, bytes) in c.held.drain(..) {
            c.tcp.send(Direction::ServerToClient, t, &bytes, out);
        }
        match reason {
            CloseReason::Fin => c.tcp.close(ts, out),
            CloseReason::Rst => c.tcp.reset(ts, out),
            // Not closed in the capture: not closed in the copy either.
            CloseReason::Idle | CloseReason::Evicted | CloseReason::EndOfCapture => {}
        }
    }

    fn ends(&mut self, client: SocketAddr, server: SocketAddr) -> (SocketAddr, SocketAddr) {
        match &mut self.names {
            Some(n) => (n.addr(client), n.addr(server)),
            None => (client, server),
        }
    }

    fn flush_packets(&mut self) -> io::Result<()> {
        for (ts, data) in self.packets.drain(..) {
            let frame = Frame {
                ts,
                link: LinkType::RAW,
                data: &data,
                orig_len: data.len() as u32,
            };
            self.out.write_frame(&frame)?;
            self.stats.packets += 1;
        }
        Ok(())
    }
}

/// One exchange's heads onto the connection; returns the body bytes left out.
fn exchange(
    c: &mut Conn,
    ex: &HttpExchange,
    mut names: Option<&mut Names>,
    out: &mut Vec<Packet>,
) -> u64 {
    let req = &ex.request;
    let request = head::request(req, names.as_deref_mut());
    c.tcp.send(Direction::ClientToServer, req.ts, &request, out);
    if req.cut.is_some() {
        // The original capture lost the rest of this head: so does the copy.
        c.tcp.skip(Direction::ClientToServer, 1);
    }
    let version = ex.response.as_ref().map_or(1, |r| r.version);
    let interim_ts = ex.response.as_ref().map_or(req.ts, |r| r.ts);
    for status in &ex.interim {
        let h = head::interim(*status, version);
        c.tcp.send(Direction::ServerToClient, interim_ts, &h, out);
    }
    let mut removed = req.body_len.unwrap_or(0);
    if let Some(resp) = &ex.response {
        let h = head::response(resp, &req.method, names);
        c.tcp.send(Direction::ServerToClient, resp.ts, &h, out);
        removed += resp.body_len.unwrap_or(0);
    }
    removed
}

#[cfg(test)]
mod tests;
