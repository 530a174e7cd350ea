//! The server side of an [`HttpConnection`]: interim (1xx) responses, response bodies (RFC 9112
//! §6.3 items 1-8), pairing with requests, and the switch to a tunnel or another protocol.
//! Response heads are read by the connection's response reader (`reader.rs`).

use super::HttpResponse;
use super::connection::{ClientState, Handoff, HttpConnection, ServerState, Switch};
use super::framing::{BodyReader, Framing, framing_of_response};
use super::queue::Target;
use super::reader::ReadStep;
use crate::flow::Direction;
use crate::proto::{Anomaly, ProtoEvent};
use crate::time::Timestamp;

const DIR: Direction = Direction::ServerToClient;

impl HttpConnection {
    pub(super) fn server_data(&mut self, ts: Timestamp, bytes: &[u8], out: &mut Vec<ProtoEvent>) {
        let mut input = bytes;
        let mut stalls = 0;
        while !input.is_empty() && !self.stopped && stalls < 2 {
            let used = self.server_step(ts, input, out);
            stalls = if used == 0 { stalls + 1 } else { 0 };
            let rest = input.get(used..).unwrap_or_default();
            if let Some(handoff) = self.handoff.as_mut() {
                // The bytes after a switching response belong to the new protocol.
                handoff.server_bytes = rest.to_vec();
                return;
            }
            input = rest;
        }
    }

    fn server_step(&mut self, ts: Timestamp, input: &[u8], out: &mut Vec<ProtoEvent>) -> usize {
        let limit = self.limits.max_header_bytes;
        match &mut self.server {
            ServerState::Reading => match self.responses.read(ts, input, limit, out) {
                ReadStep::NeedMore => input.len(),
                ReadStep::Message { message, consumed } => {
                    let after = input.get(consumed..).unwrap_or_default();
                    consumed + self.start_response(message, ts, after, out)
                }
                ReadStep::Lost { consumed } => {
                    self.lose_response(out);
                    consumed
                }
            },
            ServerState::Body { .. } => self.server_body(ts, input, out),
        }
    }

    /// A response head could not be read: it answered the next request, which is reported
    /// without it, and later responses still pair correctly.
    fn lose_response(&mut self, out: &mut Vec<ProtoEvent>) {
        let target = self.queue.next_target(out);
        self.queue.answer(&target);
        if let Some(id) = target.id() {
            self.queue.finish_response(id, None, out);
            self.release_hold(id, out);
        }
    }

    /// The response side looks for the next status line.
    fn resync_responses(&mut self, at_line_start: bool) {
        self.server = ServerState::Reading;
        self.responses.resync(at_line_start);
    }

    /// A response head the capture cut short after its status line: the status answers the
    /// next request; the body cannot be framed, so the side resynchronises after it.
    fn cut_response(
        &mut self,
        response: Box<HttpResponse>,
        ts: Timestamp,
        out: &mut Vec<ProtoEvent>,
    ) {
        if let Some(target) = self.final_target(response.status, ts, out) {
            self.finish_response(&target, Some(response), out);
            if let Some(id) = target.id() {
                self.release_hold(id, out);
            }
        }
    }

    /// A response head was read; `after` is the input that follows it. Returns how many bytes
    /// of `after` its body took when the body was read at once.
    fn start_response(
        &mut self,
        response: Box<HttpResponse>,
        ts: Timestamp,
        after: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) -> usize {
        match self.final_target(response.status, ts, out) {
            Some(target) => self.frame_response(target, response, ts, after, out),
            None => 0,
        }
    }

    /// Whom a response with this status answers; None for an interim one (RFC 9110 §15.2:
    /// it precedes the final response and has no body), which is noted on its request.
    fn final_target(
        &mut self,
        status: u16,
        ts: Timestamp,
        out: &mut Vec<ProtoEvent>,
    ) -> Option<Target> {
        let target = self.queue.next_target(out);
        if (100..200).contains(&status) && status != 101 {
            if let Some(id) = target.id() {
                self.queue.add_interim(id, status);
            }
            return None;
        }
        self.stats.responses = self.stats.responses.saturating_add(1);
        self.queue.answer(&target);
        if target == Target::Unmatched {
            self.stats.unmatched_responses = self.stats.unmatched_responses.saturating_add(1);
            Self::anomaly(DIR, ts, Anomaly::UnmatchedResponse, out);
        }
        if let Target::Request { id, .. } = target {
            self.note_final_response(id);
        }
        Some(target)
    }

    /// Read the final response's body as framed (RFC 9112 §6.3), or switch protocols. A body
    /// whose bytes all follow the head in `after` is read at once (see
    /// [`HttpConnection::whole_body`]); returns the bytes it took, else 0.
    fn frame_response(
        &mut self,
        target: Target,
        mut response: Box<HttpResponse>,
        ts: Timestamp,
        after: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) -> usize {
        match framing_of_response(target.method(), &response) {
            Ok(switch @ (Framing::Tunnel | Framing::Upgrade)) => {
                response.body_len = Some(0);
                self.switch_protocols(&target, response, switch, ts, out);
                return 0;
            }
            Ok(Framing::Length(len))
                if target.method().is_some()
                    && let Some(body) = whole(len, after) =>
            {
                return self.whole_body(&target, response, body, out);
            }
            Ok(framing) => match BodyReader::new(framing) {
                Some(body) => {
                    self.server = ServerState::Body {
                        target: target.id(),
                        response: Some(response),
                        body,
                        method_unknown: target.method().is_none(),
                    };
                }
                None => {
                    response.body_len = Some(0);
                    self.finish_response(&target, Some(response), out);
                }
            },
            Err(e) => {
                // The body cannot be delimited: its length stays unknown, and the next
                // response is found by its status line.
                Self::anomaly(DIR, ts, Anomaly::BadHttp(e.to_string()), out);
                self.finish_response(&target, Some(response), out);
                self.resync_responses(true);
            }
        }
        if let Some(id) = target.id() {
            self.release_hold(id, out);
        }
        0
    }

    /// A Content-Length body of a known request's response, all of it in the input after the
    /// head (nearly every short body): read at once, as the body reader reads it (the prefix of
    /// an error document kept, the length counted), without parking the response in the side's
    /// state and taking it back. The held client bytes are released first, as when the body
    /// comes later.
    fn whole_body(
        &mut self,
        target: &Target,
        mut response: Box<HttpResponse>,
        body: &[u8],
        out: &mut Vec<ProtoEvent>,
    ) -> usize {
        if response.status >= self.limits.body_prefix_from_status {
            let kept = body.len().min(self.limits.body_prefix_bytes);
            response
                .body_prefix
                .extend_from_slice(body.get(..kept).unwrap_or_default());
        }
        response.body_len = Some(body.len() as u64);
        if let Some(id) = target.id() {
            self.release_hold(id, out);
        }
        self.finish_response(target, Some(response), out);
        body.len()
    }

    fn finish_response(
        &mut self,
        target: &Target,
        response: Option<Box<HttpResponse>>,
        out: &mut Vec<ProtoEvent>,
    ) {
        if let Some(id) = target.id() {
            self.queue.finish_response(id, response, out);
        }
    }

    /// CONNECT 2xx or 101: report everything, then hand the rest of the stream over.
    fn switch_protocols(
        &mut self,
        target: &Target,
        response: Box<HttpResponse>,
        framing: Framing,
        ts: Timestamp,
        out: &mut Vec<ProtoEvent>,
    ) {
        let tunnel_to = match target {
            Target::Request { id, .. } => self.queue.request_target(*id),
            _ => None,
        };
        self.finish_response(target, Some(response), out);
        self.queue.flush(out);
        let switch = if framing == Framing::Tunnel {
            let target = tunnel_to.unwrap_or_default();
            out.push(ProtoEvent::Tunnel {
                target: target.clone(),
                ts,
            });
            Switch::Tunnel { target }
        } else {
            Switch::Upgrade
        };
        let held = std::mem::replace(&mut self.client, ClientState::Reading);
        let (client_bytes, client_gap) = match held {
            ClientState::Hold { held, lost, .. } => (held, lost),
            _ => (Vec::new(), false),
        };
        self.handoff = Some(Handoff {
            switch,
            ts,
            client_bytes,
            client_gap,
            server_bytes: Vec::new(),
            server_gap: false,
        });
        self.stopped = true;
    }

    fn server_body(&mut self, ts: Timestamp, input: &[u8], out: &mut Vec<ProtoEvent>) -> usize {
        let ServerState::Body {
            response,
            body,
            method_unknown,
            ..
        } = &mut self.server
        else {
            return input.len();
        };
        if std::mem::take(method_unknown) && bodiless_after_all(input) {
            if let Some(r) = response.as_mut() {
                r.body_len = Some(0);
            }
            let old = std::mem::replace(&mut self.server, ServerState::Reading);
            if let ServerState::Body {
                target: Some(id),
                response,
                ..
            } = old
            {
                self.queue.finish_response(id, response, out);
            }
            return 0;
        }
        // Only an error document's first bytes are kept (see `ProtoLimits`); nothing is copied
        // into `unused`, with no room.
        let mut unused = Vec::new();
        let (prefix, room) = match response
            .as_mut()
            .filter(|r| r.status >= self.limits.body_prefix_from_status)
        {
            Some(r) => (&mut r.body_prefix, self.limits.body_prefix_bytes),
            None => (&mut unused, 0),
        };
        match body.feed(input, prefix, room) {
            Ok(step) => {
                if step.done {
                    self.end_server_body(out);
                }
                step.consumed
            }
            Err(e) => {
                Self::anomaly(DIR, ts, Anomaly::BadHttp(e.to_string()), out);
                self.end_server_body(out);
                self.resync_responses(false);
                0
            }
        }
    }

    /// The response body ended (complete, cut, or at close): hand the response to its request.
    fn end_server_body(&mut self, out: &mut Vec<ProtoEvent>) {
        let old = std::mem::replace(&mut self.server, ServerState::Reading);
        if let ServerState::Body {
            target,
            response,
            body,
            ..
        } = old
        {
            let response = response.map(|mut r| {
                r.body_len = body.final_len();
                r
            });
            if let Some(id) = target {
                self.queue.finish_response(id, response, out);
            }
        }
    }

    pub(super) fn server_gap(&mut self, ts: Timestamp, len: u64, out: &mut Vec<ProtoEvent>) {
        let lost_framing = match &mut self.server {
            ServerState::Reading => {
                let (lost_framing, shown) = self.responses.on_gap(ts);
                if let Some(response) = shown {
                    self.cut_response(response, ts, out);
                }
                lost_framing
            }
            ServerState::Body { body, .. } => {
                let goes_on = body.skip_gap(len);
                if !goes_on || body.is_done() {
                    self.end_server_body(out);
                }
                !goes_on
            }
        };
        if lost_framing {
            // Whole responses may be in the hole: the next response tells whether pairing can
            // go on (`ExchangeQueue::after_hole`).
            if self.responses.has_seen() {
                self.queue.lose_responses();
            }
            self.resync_responses(true);
        }
    }

    pub(super) fn server_close(&mut self, _ts: Timestamp, out: &mut Vec<ProtoEvent>) {
        match &self.server {
            ServerState::Body { .. } => self.end_server_body(out),
            ServerState::Reading => {
                // A response head the end cut short is counted lost, not shown: every request
                // still waiting is reported without a response when the queue is flushed.
                let _ = self.responses.close(false);
            }
        }
    }
}

/// The first `len` bytes of `after` when it has that many (and `len` is not 0: no body).
fn whole(len: u64, after: &[u8]) -> Option<&[u8]> {
    let len = usize::try_from(len).ok().filter(|&n| n > 0)?;
    after.get(..len)
}

/// The first bytes where the body of a response to an unknown request should start are a
/// status line: that request was a HEAD (or the like) and the response had no body, whatever
/// its Content-Length said. Bodies that start with `HTTP/1.` are rare enough to take the risk;
/// reading the length instead would swallow the next response (a capture that starts just
/// after a HEAD lost the pairing of every later one). Fewer than 8 bytes do not decide.
fn bodiless_after_all(input: &[u8]) -> bool {
    input.len() >= 8 && input.starts_with(b"HTTP/1.") && matches!(input.get(7), Some(b'0' | b'1'))
}
