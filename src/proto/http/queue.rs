//! Pairing responses with requests on a keep-alive or pipelined connection (RFC 9112 §9.3.2:
//! responses come in the order the requests were sent). Requests wait in a FIFO; each final
//! response takes the oldest request not yet answered. When bytes are lost the pairing may be
//! off, and we prefer reporting requests without a response over pairing them wrongly.

use std::collections::VecDeque;

use super::{HttpExchange, HttpResponse};
use crate::proto::ProtoEvent;

/// A request with what is known of its exchange so far. The exchange is boxed once, when its
/// head is read, and the same box is what is reported.
#[derive(Debug)]
struct Pending {
    ex: Box<HttpExchange>,
    request_done: bool,
    expect_continue: bool,
    response_done: bool,
}

#[derive(Debug)]
enum Slot {
    Request(Pending),
    /// A request already reported (evicted by the pending bound, or unreadable) whose response
    /// is still expected: that response is consumed without being reported.
    Orphan {
        method: Option<Method>,
        response_done: bool,
    },
    /// Client bytes were lost here: an unknown number of requests (maybe none) is missing. A
    /// response reaching this point cannot be paired reliably.
    Barrier,
}

/// A request's method, as a response's framing needs it (RFC 9112 §6.3 items 1–2).
type Method = super::Token;

/// Who a response belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Request {
        id: u64,
        method: Method,
    },
    Orphan {
        id: u64,
        method: Option<Method>,
    },
    /// No request to pair with (capture began mid-connection, or pairing was lost).
    Unmatched,
}

impl Target {
    pub(crate) fn method(&self) -> Option<&str> {
        match self {
            Target::Request { method, .. } => Some(method),
            Target::Orphan { method, .. } => method.as_deref(),
            Target::Unmatched => None,
        }
    }

    pub(crate) fn id(&self) -> Option<u64> {
        match self {
            Target::Request { id, .. } | Target::Orphan { id, .. } => Some(*id),
            Target::Unmatched => None,
        }
    }
}

/// What happened when a request was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Queued {
    pub id: u64,
    /// The oldest waiting request was reported early to respect `max_pending_requests`.
    pub evicted: bool,
}

/// The FIFO of one connection. Slot ids are consecutive: `slots[i]` has id `first_id + i`.
#[derive(Debug)]
pub(crate) struct ExchangeQueue {
    slots: VecDeque<Slot>,
    first_id: u64,
    /// Leading slots whose final response head has been seen.
    answered: usize,
    /// Pairing was lost for good: requests are reported alone, responses are unmatched.
    desynced: bool,
    /// Server bytes were lost (whole responses may be in the hole): the next final response
    /// decides whether pairing can go on ([`ExchangeQueue::after_hole`]).
    hole: bool,
    /// A request was queued while an earlier one was unanswered (outside a hole): the client
    /// pipelines, so how many responses a hole held cannot be told from the queue.
    pipelined: bool,
    /// The capture began mid-connection: requests sent before it may still await their
    /// responses, how many is unknown ([`ExchangeQueue::next_target`]).
    started_blind: bool,
    max_requests: usize,
    requests: usize,
    /// Index from which the oldest evictable request is looked for: every slot before it (and
    /// after the answered ones) is already an orphan, so eviction stays O(1) at any depth.
    evict_from: usize,
}

/// Orphans (one small slot each) allowed per held request before pairing gives up: deep
/// pipelining beyond the request bound still pairs, in memory fixed by the bound.
const ORPHANS_PER_REQUEST: usize = 8;

impl ExchangeQueue {
    pub(crate) fn new(max_requests: usize) -> Self {
        ExchangeQueue {
            slots: VecDeque::new(),
            first_id: 0,
            answered: 0,
            desynced: false,
            hole: false,
            pipelined: false,
            started_blind: false,
            max_requests: max_requests.max(1),
            requests: 0,
            evict_from: 0,
        }
    }

    pub(crate) fn is_desynced(&self) -> bool {
        self.desynced
    }

    fn next_id(&self) -> u64 {
        self.first_id.saturating_add(self.slots.len() as u64)
    }

    fn index(&self, id: u64) -> Option<usize> {
        usize::try_from(id.checked_sub(self.first_id)?)
            .ok()
            .filter(|&i| i < self.slots.len())
    }

    fn pending_mut(&mut self, id: u64) -> Option<&mut Pending> {
        let i = self.index(id)?;
        match self.slots.get_mut(i) {
            Some(Slot::Request(p)) => Some(p),
            _ => None,
        }
    }

    /// Queue a request whose head was read (in the exchange it is reported in); its body (if
    /// any) follows.
    pub(crate) fn push_request(
        &mut self,
        ex: Box<HttpExchange>,
        expect_continue: bool,
        out: &mut Vec<ProtoEvent>,
    ) -> Queued {
        // During a hole requests pile up behind the lost responses: that is not pipelining.
        self.pipelined |= !self.hole && self.answered < self.slots.len();
        let evicted = self.requests >= self.max_requests && self.evict_oldest(out);
        if self.slots.len() >= self.max_requests.saturating_mul(ORPHANS_PER_REQUEST) {
            // Orphans pile up only if responses never come; stop pairing rather than grow.
            self.desync(out);
        }
        let id = self.next_id();
        self.slots.push_back(Slot::Request(Pending {
            ex,
            request_done: false,
            expect_continue,
            response_done: false,
        }));
        self.requests += 1;
        Queued { id, evicted }
    }

    /// A request that could not be read but will be answered.
    pub(crate) fn push_orphan(&mut self) {
        if !self.desynced {
            self.slots.push_back(Slot::Orphan {
                method: None,
                response_done: false,
            });
        }
    }

    /// Client bytes were lost (see [`Slot::Barrier`]).
    pub(crate) fn push_barrier(&mut self) {
        if !self.desynced && !matches!(self.slots.back(), Some(Slot::Barrier)) {
            self.slots.push_back(Slot::Barrier);
        }
    }

    /// Report the oldest unanswered request now and leave an orphan to absorb its response.
    fn evict_oldest(&mut self, out: &mut Vec<ProtoEvent>) -> bool {
        let from = self.answered.max(self.evict_from);
        let Some((at, slot)) = self
            .slots
            .iter_mut()
            .enumerate()
            .skip(from)
            .find(|(_, s)| matches!(s, Slot::Request(p) if p.request_done))
        else {
            return false;
        };
        self.evict_from = at + 1;
        let method = match slot {
            Slot::Request(p) => Some(p.ex.request.method.clone()),
            _ => None,
        };
        let old = std::mem::replace(
            slot,
            Slot::Orphan {
                method,
                response_done: false,
            },
        );
        if let Slot::Request(p) = old {
            emit(p, out);
            self.requests = self.requests.saturating_sub(1);
        }
        true
    }

    /// The client side's first bytes came after a gap: the capture began mid-connection.
    pub(crate) fn start_blind(&mut self) {
        self.started_blind = true;
    }

    /// Server bytes were lost between or inside responses (see [`ExchangeQueue::after_hole`]).
    pub(crate) fn lose_responses(&mut self) {
        self.hole = !self.desynced;
    }

    /// The first response after a server-side hole: which requests lost theirs in it. Sound in
    /// two cases, else pairing is given up (false): one request is unanswered (the responses
    /// before it were seen, so the hole held none but maybe its own beginning), or the client
    /// never pipelined: it sent each request only once the previous response had come, so every
    /// unanswered request but the newest was answered inside the hole. Those are reported
    /// without a response; this one and later ones pair in order.
    fn after_hole(&mut self, out: &mut Vec<ProtoEvent>) -> bool {
        self.hole = false;
        let waiting = self.slots.len().saturating_sub(self.answered);
        let barrier = self
            .slots
            .iter()
            .skip(self.answered)
            .any(|s| matches!(s, Slot::Barrier));
        if waiting == 0 || barrier || (waiting > 1 && self.pipelined) {
            return false;
        }
        for slot in self.slots.iter_mut().skip(self.answered).take(waiting - 1) {
            match slot {
                Slot::Request(p) => p.response_done = true,
                Slot::Orphan { response_done, .. } => *response_done = true,
                Slot::Barrier => {}
            }
        }
        self.answered += waiting - 1;
        self.drain(out);
        true
    }

    /// Whom the next response head belongs to. Reaching a barrier loses the pairing.
    pub(crate) fn next_target(&mut self, out: &mut Vec<ProtoEvent>) -> Target {
        if self.hole && !self.after_hole(out) {
            self.desync(out);
        }
        if self.started_blind && self.answered < self.slots.len() {
            // The first response once requests wait, after a blind start. One waiting: a
            // client that does not pipeline sent it only once every earlier request had its
            // answer, so this one is its own. Several: the client pipelines, and requests sent
            // before the capture may still be owed answers that would pair with the wrong
            // requests; they are reported without responses instead.
            self.started_blind = false;
            if self.slots.len() - self.answered > 1 {
                self.desync(out);
            }
        }
        if self.desynced {
            return Target::Unmatched;
        }
        let id = self.first_id.saturating_add(self.answered as u64);
        match self.slots.get(self.answered) {
            None => Target::Unmatched,
            Some(Slot::Request(p)) => Target::Request {
                id,
                method: p.ex.request.method.clone(),
            },
            Some(Slot::Orphan { method, .. }) => Target::Orphan {
                id,
                method: method.clone(),
            },
            Some(Slot::Barrier) => {
                self.desync(out);
                Target::Unmatched
            }
        }
    }

    /// The final response head for `target` was read: later responses go to later requests.
    pub(crate) fn answer(&mut self, target: &Target) {
        if target.id().is_some() {
            self.answered = self.answered.saturating_add(1).min(self.slots.len());
        }
    }

    /// The target of request `id` (for a CONNECT, the tunnel's authority).
    pub(crate) fn request_target(&mut self, id: u64) -> Option<String> {
        self.pending_mut(id).map(|p| p.ex.request.target.clone())
    }

    pub(crate) fn add_interim(&mut self, id: u64, status: u16) {
        if let Some(p) = self.pending_mut(id) {
            p.ex.interim.push(status);
        }
    }

    pub(crate) fn expects_continue(&mut self, id: u64) -> bool {
        self.pending_mut(id).is_some_and(|p| p.expect_continue)
    }

    /// The request's body ended (`body_len` None when cut).
    pub(crate) fn finish_request(
        &mut self,
        id: u64,
        body_len: Option<u64>,
        out: &mut Vec<ProtoEvent>,
    ) {
        if let Some(p) = self.pending_mut(id) {
            p.ex.request.body_len = body_len;
            p.request_done = true;
        }
        self.drain(out);
    }

    /// The response to `id` is complete (or as complete as it will get).
    pub(crate) fn finish_response(
        &mut self,
        id: u64,
        response: Option<Box<HttpResponse>>,
        out: &mut Vec<ProtoEvent>,
    ) {
        if let Some(i) = self.index(id) {
            match self.slots.get_mut(i) {
                Some(Slot::Request(p)) => {
                    p.ex.response = response;
                    p.response_done = true;
                }
                Some(Slot::Orphan { response_done, .. }) => *response_done = true,
                _ => {}
            }
        }
        self.drain(out);
    }

    /// Report, oldest first, every exchange that is complete.
    fn drain(&mut self, out: &mut Vec<ProtoEvent>) {
        while let Some(front) = self.slots.front() {
            let ready = match front {
                Slot::Request(p) => p.request_done && (p.response_done || self.desynced),
                Slot::Orphan { response_done, .. } => *response_done || self.desynced,
                Slot::Barrier => self.desynced,
            };
            if !ready {
                break;
            }
            self.pop_front(out);
        }
    }

    fn pop_front(&mut self, out: &mut Vec<ProtoEvent>) {
        if let Some(slot) = self.slots.pop_front() {
            self.first_id = self.first_id.saturating_add(1);
            self.answered = self.answered.saturating_sub(1);
            self.evict_from = self.evict_from.saturating_sub(1);
            if let Slot::Request(p) = slot {
                self.requests = self.requests.saturating_sub(1);
                emit(p, out);
            }
        }
    }

    /// Give up pairing on this connection: complete requests are reported now without their
    /// (unknown) responses, later ones as soon as they are complete.
    pub(crate) fn desync(&mut self, out: &mut Vec<ProtoEvent>) {
        self.desynced = true;
        self.hole = false;
        let end = self.next_id();
        // Only the newest request can still be in progress (its body being read); it keeps its
        // id, which the client side holds.
        let in_progress = match self.slots.back() {
            Some(Slot::Request(p)) if !p.request_done => self.next_id().checked_sub(1),
            _ => None,
        };
        let kept = in_progress.and_then(|_| self.slots.pop_back());
        self.slots.retain(|s| matches!(s, Slot::Request(_)));
        while !self.slots.is_empty() {
            self.pop_front(out);
        }
        if let (Some(id), Some(slot)) = (in_progress, kept) {
            self.first_id = id;
            self.slots.push_back(slot);
        } else {
            // Ids never go back, so a stale id held by a half cannot name a new request.
            self.first_id = end;
        }
        self.answered = 0;
        self.evict_from = 0;
        self.requests = self.slots.len();
    }

    /// The connection ended (or stopped being HTTP): report everything still waiting.
    pub(crate) fn flush(&mut self, out: &mut Vec<ProtoEvent>) {
        while !self.slots.is_empty() {
            self.pop_front(out);
        }
    }
}

fn emit(p: Pending, out: &mut Vec<ProtoEvent>) {
    out.push(ProtoEvent::Http(p.ex));
}
