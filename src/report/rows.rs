//! Typed records → report rows, made once, through the one redactor. Everything a row shows as
//! text comes from here; nothing downstream redacts again.

use super::redact;
use super::{AttemptRecord, FindingRecord, GuessRecord, RequestRecord};
use crate::facts::{Attempt, Request};
use crate::policy::Finding;
use std::borrow::Cow;

/// Whether secrets are redacted (everything but `--no-redact`), and the one place it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redactor {
    pub on: bool,
}

impl Redactor {
    /// Free text that may quote a URL or header (hints, `seen` lines, command lines).
    pub fn text<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if self.on {
            redact::redact_text(s)
        } else {
            Cow::Borrowed(s)
        }
    }

    /// A request target (query-string credentials, presigned signatures).
    pub fn target<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if self.on {
            redact::redact_target(s)
        } else {
            Cow::Borrowed(s)
        }
    }

    fn header<'a>(&self, name: &str, v: &'a str) -> Cow<'a, str> {
        if self.on {
            redact::redact_header(name, v)
        } else {
            Cow::Borrowed(v)
        }
    }

    pub fn request(&self, r: &Request) -> RequestRecord {
        let note = match &r.operation {
            Ok(_) => r.operation_note.clone(),
            Err(reason) => Some(reason.clone()),
        };
        RequestRecord {
            id: r.id,
            time: r.time,
            scheme: r.scheme,
            client: r.client.to_string(),
            server: r.server.to_string(),
            host: r.host.clone(),
            method: r.method.clone(),
            target: self.target(&r.target).into_owned(),
            operation: r.operation_name().map(str::to_string),
            bucket: r.bucket.clone(),
            key: r.key.clone(),
            operation_note: note,
            addressing: r.addressing,
            status: r.status,
            interim: r.interim.clone(),
            user_agent: r.user_agent.clone(),
            authorization: r
                .authorization
                .as_deref()
                .map(|v| self.header("authorization", v).into_owned()),
            request_body_bytes: r.request_body_bytes,
            response_body_bytes: r.response_body_bytes,
            response_time: r.response_time,
            tls: r.tls.clone(),
            connection: r.connection,
            // Redacted when it was read from /proc (`source::procs`).
            process: r.process.clone(),
        }
    }

    pub fn attempt(&self, a: &Attempt) -> AttemptRecord {
        AttemptRecord {
            time: a.time,
            client: a.client.to_string(),
            server: a.server.to_string(),
            outcome: a.outcome,
            syns: a.syns,
        }
    }

    pub fn finding(&self, f: &Finding) -> FindingRecord {
        FindingRecord {
            kind: f.kind.as_str().to_string(),
            operation: f.operation.clone(),
            bucket: f.bucket.clone(),
            key: f.key.clone(),
            request: f.request,
            attempt: f.attempt,
            endpoint: f.endpoint.clone().unwrap_or_else(|| "-".into()),
            origin: f
                .origin
                .map_or_else(|| "-".into(), |o| o.as_str().to_string()),
            endpoint_detail: f.endpoint_detail.clone().unwrap_or_default(),
            time: f.time,
            client: f.client.to_string(),
            server: f.server.to_string(),
            // The `seen` line quotes the target as sent: redacted as a target, then as text
            // (an absolute-form target is a whole URL).
            seen: f
                .target
                .as_deref()
                .and_then(|t| f.seen_as(&self.target(t)))
                .map(|s| self.text(&s).into_owned()),
            user_agent: f.user_agent.clone(),
            status: f.status,
            hint: self.text(&f.hint).into_owned(),
            guess: f.guess.as_ref().map(|g| GuessRecord {
                operation: g.operation.clone(),
                request: g.request,
                reason: g.reason.clone(),
            }),
        }
    }
}
