//! Records → policy facts → findings → report records. The policy stage judges plain facts; this
//! file only translates between the two vocabularies.

use super::records::{Evidence, Records};
use crate::policy::finding::{Finding, RequestFacts};
use crate::policy::{Endpoint, Policy, evaluate};
use crate::report::{FindingRecord, GuessRecord, RequestRecord, redact};

/// The endpoint policy completed by what the capture proves, and the findings against it.
pub fn judge(
    configured: &Policy,
    r: &Records,
    redact_on: bool,
) -> (Vec<Endpoint>, Vec<FindingRecord>) {
    let mut policy = configured.clone();
    policy.extend(evaluate::infer_endpoints(&r.tls_facts));
    let requests: Vec<RequestFacts> = r
        .requests
        .iter()
        .map(|(q, e)| request_facts(q, e))
        .collect();
    let findings = evaluate::evaluate(&policy, &requests, &r.attempt_facts, &r.tls_facts);
    let records = findings
        .iter()
        .map(|f| finding_record(f, redact_on))
        .collect();
    (policy.listing(), records)
}

fn request_facts(q: &RequestRecord, e: &Evidence) -> RequestFacts {
    RequestFacts {
        id: q.id,
        time: q.time,
        scheme: q.scheme,
        client: e.client_addr,
        server: e.server_addr,
        host: q.host.clone(),
        sni: q.tls.as_ref().and_then(|t| t.sni.clone()),
        method: q.method.clone(),
        target: q.target.clone(),
        operation: q.operation.clone(),
        bucket: q.bucket.clone(),
        key: q.key.clone(),
        status: q.status,
        user_agent: q.user_agent.clone(),
        has_sigv4_auth: e.sigv4_auth,
        has_session_token: e.session_token,
        presigned: e.presigned,
        response_body_prefix: e.response_text.clone(),
        server_replied_tls: e.server_replied_tls,
        reset_without_response: e.reset_without_response,
    }
}

fn finding_record(f: &Finding, redact_on: bool) -> FindingRecord {
    // Targets were redacted when the request was recorded; the `seen` line is rebuilt from them,
    // and redacting again is a no-op that also covers a hint quoting a URL.
    let clean = |s: String| {
        if redact_on {
            redact::redact_text(&s).into_owned()
        } else {
            s
        }
    };
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
        seen: f.seen().map(clean),
        user_agent: f.user_agent.clone(),
        status: f.status,
        hint: clean(f.hint.clone()),
        guess: f.guess.as_ref().map(|g| GuessRecord {
            operation: g.operation.clone(),
            request: g.request,
            reason: g.reason.clone(),
        }),
    }
}
