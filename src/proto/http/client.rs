//! The client side of an [`HttpConnection`]: request bodies (RFC 9112 §6.3 items 4-7),
//! `Expect: 100-continue` bodies that never come, and bytes held after CONNECT/Upgrade. Request
//! heads are read by the connection's request reader (`reader.rs`).

use super::HttpExchange;
use super::connection::{ClientState, HttpConnection};
use super::framing::{BodyReader, RequestBody, request_body};
use super::reader::ReadStep;
use crate::flow::Direction;
use crate::proto::detect::{self, Detection, Protocol};
use crate::proto::{Anomaly, ProtoEvent};
use crate::time::Timestamp;

const DIR: Direction = Direction::ClientToServer;

impl HttpConnection {
    pub(super) fn client_data(&mut self, ts: Timestamp, bytes: &[u8], out: &mut Vec<ProtoEvent>) {
        let mut input = bytes;
        let mut stalls = 0;
        while !input.is_empty() && !self.stopped && stalls < 2 {
            let used = self.client_step(ts, input, out);
            // A step that consumes nothing always changes state; two in a row would be a bug.
            stalls = if used == 0 { stalls + 1 } else { 0 };
            input = input.get(used..).unwrap_or_default();
        }
    }

    fn client_step(&mut self, ts: Timestamp, input: &[u8], out: &mut Vec<ProtoEvent>) -> usize {
        let limit = self.limits.max_header_bytes;
        match &mut self.client {
            ClientState::Reading => match self.requests.read(ts, input, limit, out) {
                ReadStep::NeedMore => input.len(),
                ReadStep::Message { message, consumed } => {
                    self.start_request(message, ts, out);
                    consumed
                }
                ReadStep::Lost { consumed } => {
                    // A request that could not be read still gets a response: keep its place.
                    self.queue.push_orphan();
                    consumed
                }
            },
            ClientState::Body { .. } => self.client_body(ts, input, out),
            ClientState::Hold { held, lost, .. } => {
                let room = limit.saturating_sub(held.len()).min(input.len());
                held.extend_from_slice(input.get(..room).unwrap_or_default());
                *lost |= room < input.len();
                input.len()
            }
        }
    }

    /// A request head the capture cut short, reported as far as it shows.
    fn cut_request(&mut self, ex: Box<HttpExchange>, ts: Timestamp, out: &mut Vec<ProtoEvent>) {
        self.stats.requests = self.stats.requests.saturating_add(1);
        self.stats.cut_requests = self.stats.cut_requests.saturating_add(1);
        let queued = self.queue.push_request(ex, false, out);
        if queued.evicted {
            Self::anomaly(DIR, ts, Anomaly::TooManyPending, out);
        }
        // Its body, if any, is in the hole or unframed: the request ends here.
        self.queue.finish_request(queued.id, None, out);
    }

    /// The request side looks for the next request line.
    fn resync_requests(&mut self, at_line_start: bool) {
        self.client = ClientState::Reading;
        self.requests.resync(at_line_start);
    }

    fn start_request(&mut self, ex: Box<HttpExchange>, ts: Timestamp, out: &mut Vec<ProtoEvent>) {
        self.stats.requests = self.stats.requests.saturating_add(1);
        let RequestBody {
            framing,
            expect_continue,
            upgrade,
        } = request_body(&ex.request.headers);
        let switch = ex.request.method == "CONNECT" || upgrade;
        let queued = self.queue.push_request(ex, expect_continue, out);
        if queued.evicted {
            Self::anomaly(DIR, ts, Anomaly::TooManyPending, out);
        }
        let id = queued.id;
        match framing {
            Err(e) => {
                // The body cannot be delimited (RFC 9112 §6.3 item 4): look for the next request.
                Self::anomaly(DIR, ts, Anomaly::BadHttp(e.to_string()), out);
                self.queue.finish_request(id, None, out);
                self.resync_requests(true);
            }
            Ok(framing) => match BodyReader::new(framing) {
                Some(body) => {
                    self.client = ClientState::Body {
                        id,
                        body,
                        switch,
                        probe: None,
                    };
                }
                None => {
                    self.queue.finish_request(id, Some(0), out);
                    self.client = after_request(id, switch, ts);
                }
            },
        }
    }

    fn client_body(&mut self, ts: Timestamp, input: &[u8], out: &mut Vec<ProtoEvent>) -> usize {
        let ClientState::Body {
            id,
            body,
            switch,
            probe,
        } = &mut self.client
        else {
            return input.len();
        };
        let (id, switch, probed) = (*id, *switch, probe.as_ref().map(Vec::len));
        if let Some(probed) = probed {
            return self.probe_skipped_body(id, switch, ts, input, out, probed);
        }
        let mut no_prefix = Vec::new();
        match body.feed(input, &mut no_prefix, 0) {
            Ok(step) => {
                if step.done {
                    let len = body.body_len();
                    self.queue.finish_request(id, len, out);
                    self.client = after_request(id, switch, ts);
                }
                step.consumed
            }
            Err(e) => {
                Self::anomaly(DIR, ts, Anomaly::BadHttp(e.to_string()), out);
                self.queue.finish_request(id, None, out);
                self.resync_requests(false);
                0
            }
        }
    }

    /// RFC 9110 §10.1.1: a client that sent `Expect: 100-continue` and got a final status may
    /// skip the body. The next bytes are either the body or the next request line.
    fn probe_skipped_body(
        &mut self,
        id: u64,
        switch: bool,
        ts: Timestamp,
        input: &[u8],
        out: &mut Vec<ProtoEvent>,
        probed: usize,
    ) -> usize {
        let take = detect::MAX_DETECT_BYTES
            .saturating_sub(probed)
            .min(input.len());
        let ClientState::Body { probe, body, .. } = &mut self.client else {
            return input.len();
        };
        let Some(buf) = probe.as_mut() else {
            return input.len();
        };
        buf.extend_from_slice(input.get(..take).unwrap_or_default());
        // Either the next request starts here, or the body was sent after all and (for a
        // Content-Length body) the next request starts right after it.
        let after_body = body
            .remaining()
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| buf.get(n..))
            .filter(|rest| !rest.is_empty())
            .map_or(Detection::NeedMore, detect::request_line);
        let skipped_body = match (detect::request_line(buf), after_body) {
            (_, Detection::Found(Protocol::Http)) | (Detection::Found(Protocol::Other), _) => false,
            (Detection::Found(Protocol::Http), _) => true,
            _ if buf.len() >= detect::MAX_DETECT_BYTES => false,
            _ => return take,
        };
        let bytes = probe.take().unwrap_or_default();
        if skipped_body {
            self.queue.finish_request(id, Some(0), out);
            self.client = after_request(id, switch, ts);
        }
        self.client_data(ts, &bytes, out);
        take
    }

    /// A final response came for request `id`: if its body has not started and it asked for
    /// `100-continue`, the client may never send it.
    pub(super) fn note_final_response(&mut self, id: u64) {
        if let ClientState::Body {
            id: body_id,
            body,
            probe,
            ..
        } = &mut self.client
            && *body_id == id
            && body.seen() == 0
            && probe.is_none()
            && self.queue.expects_continue(id)
        {
            *probe = Some(Vec::new());
        }
    }

    /// The answer to a CONNECT/Upgrade request did not switch: held bytes are HTTP again.
    pub(super) fn release_hold(&mut self, id: u64, out: &mut Vec<ProtoEvent>) {
        if !matches!(self.client, ClientState::Hold { id: held_id, .. } if held_id == id) {
            return;
        }
        let old = std::mem::replace(&mut self.client, ClientState::Reading);
        if let ClientState::Hold {
            held,
            held_ts,
            lost,
            ..
        } = old
        {
            if lost {
                self.requests.resync(true);
                self.queue.push_barrier();
            }
            self.client_data(held_ts, &held, out);
        }
    }

    pub(super) fn client_gap(&mut self, ts: Timestamp, len: u64, out: &mut Vec<ProtoEvent>) {
        let lost_framing = match &mut self.client {
            ClientState::Reading => {
                let (lost_framing, shown) = self.requests.on_gap(ts);
                if let Some(request) = shown {
                    self.cut_request(request, ts, out);
                }
                lost_framing
            }
            ClientState::Body {
                id,
                body,
                switch,
                probe,
            } => {
                let (id, switch) = (*id, *switch);
                let goes_on = probe.is_none() && body.skip_gap(len);
                if !goes_on || body.is_done() {
                    self.queue.finish_request(id, None, out);
                    self.client = after_request(id, switch, Timestamp::ZERO);
                }
                !goes_on
            }
            ClientState::Hold { held, lost, .. } => {
                held.clear();
                *lost = true;
                false
            }
        };
        if lost_framing {
            // Whole requests may be in the hole. Before anything was seen, the capture started
            // mid-connection: the first response tells whether pairing is sound.
            if self.requests.has_seen() {
                self.queue.push_barrier();
            } else {
                self.queue.start_blind();
            }
            self.resync_requests(true);
        }
    }

    pub(super) fn client_close(&mut self, out: &mut Vec<ProtoEvent>) {
        if let ClientState::Hold { id, .. } = self.client {
            // No answer ever came (or only the client side was captured): what the client sent
            // after its CONNECT/Upgrade request is read as HTTP, so its requests are reported.
            self.release_hold(id, out);
        }
        let old = std::mem::replace(&mut self.client, ClientState::Reading);
        match old {
            ClientState::Reading => {
                if let Some((request, ts)) = self.requests.close(true) {
                    self.cut_request(request, ts, out);
                }
            }
            ClientState::Body {
                id, body, probe, ..
            } => {
                // A refused `100-continue` body that never came is empty, not cut.
                let len = (probe.is_some() && body.seen() == 0).then_some(0);
                self.queue.finish_request(id, len, out);
            }
            _ => {}
        }
    }
}

/// What the client side reads after a request is complete.
fn after_request(id: u64, switch: bool, ts: Timestamp) -> ClientState {
    if switch {
        ClientState::Hold {
            id,
            held: Vec::new(),
            held_ts: ts,
            lost: false,
        }
    } else {
        ClientState::Reading
    }
}
