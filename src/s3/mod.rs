//! **s3**: an HTTP request → the S3 API operation, bucket and key.
//!
//! Contract: [`classify`] is pure and total. It names one of the 116 operations of botocore's S3
//! model (table generated into `ops.rs` by `scripts/gen-s3-ops.py`), or `PostObject` for an HTML
//! form upload, or says why it cannot ([`Unknown`]); it never guesses.
//!
//! Order, as the model tells operations apart:
//! 1. Request target (RFC 9112 §3.2): origin-form, or absolute-form whose authority replaces Host.
//! 2. Host → addressing style (`addressing.rs`): AWS S3 host forms, configured/observed endpoints
//!    ([`HostHints`]) and `*.localhost` put the bucket in the Host; otherwise path style. Is it S3
//!    at all (S3 host, SigV4 scope service, SigV2, presigned query, `x-amz-*`, `x-id`)?
//! 3. Bucket and key are split off the path *before* the operation is chosen, giving the path
//!    shape `/`, `/{Bucket}` or `/{Bucket}/{Key+}`.
//! 4. Method + shape group → literal query keys (most wins, fixed values compared) → required
//!    query members → required headers → the group's default (`classify.rs`).
//! 5. `?x-id=Op` (Smithy SDKs) names the operation: it confirms, or overrides with a note.
//! 6. Requests the wire cannot tell apart resolve to one name and say so in `note`: deprecated
//!    twins (GetBucketLifecycle → GetBucketLifecycleConfiguration, …), and ListBuckets /
//!    ListDirectoryBuckets on a custom endpoint (on AWS the host decides).
//!
//! Known limit: a virtual-hosted request to a custom endpoint that is not among the hints looks
//! path-style (the Host cannot say where the endpoint starts); `x-id` corrects it when the split
//! is visibly wrong, so the policy stage should pass configured and observed endpoints as hints.
//! A configured endpoint that carries its bucket (`my-bucket.s3.local:8443`) hints its service
//! host instead ([`HostHints::add`]); one named otherwise is learned from its first request that
//! only makes sense virtual-hosted ([`HostHints::learn`]).

mod addressing;
mod bucket_host;
mod classify;
mod cut;
mod memo;
#[rustfmt::skip]
pub mod ops;
mod query;
mod scan;
pub mod table;

pub use addressing::{Addressing, HostHints};
pub use classify::POST_OBJECT;
pub use memo::HostMemo;
use memo::UsualOps;
pub use query::{Presigned, SigVersion};

use crate::proto::http::{Field, HttpRequest};
use addressing::{AwsForm, HostKind, HostName, Split};
use classify::{Matched, Request};
use query::Query;
use std::borrow::Cow;
use table::PathShape;

/// What an HTTP request is, as an S3 API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Request {
    /// The operation's name from the model table (or [`POST_OBJECT`]).
    pub operation: Result<&'static str, Unknown>,
    pub bucket: Option<String>,
    /// Percent-decoded (UTF-8; lossily when not, with a note).
    pub key: Option<String>,
    pub addressing: Addressing,
    /// Query-string authentication, when the request is a presigned URL.
    pub presigned: Option<Presigned>,
    /// What a reader should know about the choice (deprecated twin, x-id, ignored keys), `; `-joined.
    pub note: Option<String>,
    /// A custom service host this request proved to be virtual-hosted under (`s3.example.test`
    /// for `bucket.s3.example.test`), for callers that learn hints from the capture.
    pub learned_service_host: Option<String>,
    /// A hinted (configured) host this request proved to carry the bucket in its first label:
    /// it is no endpoint of its own (see [`HostHints::learn`]).
    pub learned_bucket_host: Option<String>,
}

impl HostHints {
    /// What a classified request proved about the hosts: later requests to a proven
    /// virtual-hosted name split bucket and key the same way. Requests before the proof keep
    /// their reading (the pass is one-way); a configured endpoint named `<bucket>.s3.…` needs no
    /// proof (see [`HostHints::add`]).
    pub fn learn(&mut self, r: &S3Request) {
        match (&r.learned_bucket_host, &r.learned_service_host) {
            (Some(host), Some(service)) => self.carries_bucket(host, service),
            (None, Some(service)) => self.add(service),
            _ => {}
        }
    }
}

/// Why no operation could be named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub reason: String,
}

impl std::fmt::Display for Unknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// SigV4 credential-scope services that are S3 (S3, S3 Express, Object Lambda, Outposts).
const S3_SERVICES: &[&str] = &["s3", "s3express", "s3-object-lambda", "s3-outposts"];

/// Classifies one request. `hints` are the hosts known to be S3 endpoints.
pub fn classify(req: &HttpRequest, hints: &HostHints) -> S3Request {
    classify_with(
        req,
        Seen::of(req),
        hints,
        Detail::Full,
        &mut HostMemo::default(),
    )
}

/// [`classify`], remembering the last Host read in `memo` (see [`HostMemo`]): the caller
/// clears it whenever it changes `hints`.
pub fn classify_remembering(
    req: &HttpRequest,
    hints: &HostHints,
    memo: &mut HostMemo,
) -> S3Request {
    classify_with(req, Seen::of(req), hints, Detail::Full, memo)
}

/// The request's fields a caller has already looked up, so that classifying does not look
/// them up again: what [`Seen::of`] gives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen<'a> {
    /// The `Host` header (the first one).
    pub host: Option<&'a str>,
    /// The `Authorization` header (the first one).
    pub authorization: Option<&'a str>,
}

impl<'a> Seen<'a> {
    pub fn of(req: &'a HttpRequest) -> Seen<'a> {
        Seen {
            host: req.headers.field(Field::Host),
            authorization: req.headers.field(Field::Authorization),
        }
    }
}

/// [`classify_remembering`], given the request's [`Seen`] fields (they must be
/// [`Seen::of`]`(req)`: a debug check holds the caller to it).
pub fn classify_seen(
    req: &HttpRequest,
    seen: Seen<'_>,
    hints: &HostHints,
    memo: &mut HostMemo,
) -> S3Request {
    debug_assert_eq!(seen, Seen::of(req));
    classify_with(req, seen, hints, Detail::Full, memo)
}

/// The operation alone: the same decision as [`classify`], without decoding the bucket and key
/// (for requests the report only counts).
pub fn operation(req: &HttpRequest, hints: &HostHints) -> Result<&'static str, Unknown> {
    let seen = Seen::of(req);
    classify_with(
        req,
        seen,
        hints,
        Detail::OperationOnly,
        &mut HostMemo::default(),
    )
    .operation
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    Full,
    OperationOnly,
}

fn classify_with(
    req: &HttpRequest,
    seen: Seen<'_>,
    hints: &HostHints,
    detail: Detail,
    memo: &mut HostMemo,
) -> S3Request {
    // Read once for both paths: read again, it was ~130 instructions more a request with a query.
    let target = parse_target(req);
    let mut learn = false;
    let usual = target
        .as_ref()
        .ok()
        .and_then(|t| usual_request(req, t, seen, hints, detail, memo, &mut learn));
    match usual {
        Some(usual) => usual,
        None => classify_anew(req, target, seen, hints, detail, memo, learn),
    }
}

/// The usual request (whole, origin-form, GET/PUT/DELETE/HEAD of a bucket or an object, to a
/// host that is S3 or signed for S3, without a query or with one the general path has read
/// before), classified by what `memo` remembers of its kind; None for any other request, which
/// [`classify_anew`] classifies. `learn` is set when only its query was new, or new at this
/// place: the general path then remembers it ([`learn_queried`]).
///
/// For such a request the general path has nothing to do but read the Host and scope, split
/// the path and match: no query to read but in the match (presigned, `x-id`), no path-style
/// reading to doubt (that needs a path without a bucket), nothing cut, no POST (a form upload,
/// or WriteGetObjectResponse). Its match depends only on its place and its query's text
/// ([`HostMemo`]'s usual operations), so a note-free operation found once is the one matching
/// again gives; a match with a note or an error is left to the general path. A query the
/// general path read (parse, presigned, `x-id`, the match's signature: ~2,100 instructions a
/// ListObjectsV2 on dense-50k) is compared as text instead: analysis 227.2 -> 221.4 M there.
/// The steps both paths take are inlined into each (`#[inline(always)]`): called, they cost
/// ~140 instructions more a request.
fn usual_request(
    req: &HttpRequest,
    target: &Target<'_>,
    seen: Seen<'_>,
    hints: &HostHints,
    detail: Detail,
    memo: &mut HostMemo,
    learn: &mut bool,
) -> Option<S3Request> {
    let usual = target.authority.is_none() && req.cut.is_none();
    if !usual || !matches!(&*req.method, "GET" | "PUT" | "DELETE" | "HEAD") {
        return None;
    }
    if !target.query.is_empty() && !memo.usual().knows_query(target.query) {
        *learn = true;
        return None;
    }
    let (none, auth) = (&NO_QUERY, seen.authorization);
    let scope = sigv4_service(auth, none, memo);
    let (host, shape, ops) = memo.read_beside_ops(seen.host?, hints)?;
    let kind = shape.kind(&host.name);
    s3_evidence(req, none, &kind, &host, (auth, scope.as_deref())).ok()?;
    let split = split_for(req, &kind, target);
    split.bucket?;
    let r = matcher_request(req, none, &kind, &split, target.path);
    let op = match target.query {
        "" => ops.op(classify::queryless_place_of(&r)?, || {
            classify::match_operation(&r)
        })?,
        // Known, but not at this place (`?tagging` of a bucket and of an object): learned
        // here too, or this place would take both paths every time.
        query => match ops.queried_op(classify::queried_place_of(&r)?, query) {
            Some(op) => op,
            None => {
                *learn = true;
                return None;
            }
        },
    };
    let mut out = named(Ok(op), split.addressing);
    if detail == Detail::Full {
        out.note = set_bucket_and_key(&mut out, &split, target);
    }
    Some(out)
}

/// A request named `operation`, addressed so, with nothing else known of it yet.
fn named(operation: Result<&'static str, Unknown>, addressing: Addressing) -> S3Request {
    S3Request {
        operation,
        bucket: None,
        key: None,
        addressing,
        presigned: None,
        note: None,
        learned_service_host: None,
        learned_bucket_host: None,
    }
}

/// The query of a target without one, never dropped (a reference to [`Query::EMPTY`] would be
/// a temporary, dropped by a call).
static NO_QUERY: Query<'static> = Query::EMPTY;

/// Every step of the classification, for any request (`target` is [`parse_target`]'s reading).
fn classify_anew(
    req: &HttpRequest,
    target: Result<Target<'_>, String>,
    seen: Seen<'_>,
    hints: &HostHints,
    detail: Detail,
    memo: &mut HostMemo,
    learn: bool,
) -> S3Request {
    let unknown = Err(Unknown {
        reason: String::new(),
    });
    let mut out = named(unknown, Addressing::Unresolved);
    let mut notes = Vec::new();
    out.operation = target
        .and_then(|t| {
            let (learn, out, notes) = (learn, &mut out, &mut notes);
            classify_into(req, t, seen, hints, detail, memo, learn, out, notes)
        })
        .map_err(|reason| Unknown { reason });
    out.note = (!notes.is_empty()).then(|| notes.join("; "));
    out
}

#[allow(clippy::too_many_arguments)] // the steps' inputs and outputs, each once
fn classify_into(
    req: &HttpRequest,
    target: Target<'_>,
    seen: Seen<'_>,
    hints: &HostHints,
    detail: Detail,
    memo: &mut HostMemo,
    learn: bool,
    out: &mut S3Request,
    notes: &mut Vec<String>,
) -> Result<&'static str, String> {
    let query = Query::parse(target.query);
    out.presigned = query::presigned(&query);
    check_method(&req.method)?;
    // Read before the Host, which borrows the memo until the end.
    let auth = seen.authorization;
    let scope = sigv4_service(auth, &query, memo);
    let seen_host = target.authority.or(seen.host);
    let (host, shape, ops) = match seen_host.or_else(|| req.cut.map(|_| cut::UNSEEN_HOST)) {
        None => return Err("no Host header".to_string()),
        Some(h) => memo
            .read_beside_ops(h, hints)
            .ok_or_else(|| format!("Host `{h}` is not host[:port]"))?,
    };
    let kind = shape.kind(&host.name);
    match s3_evidence(req, &query, &kind, &host, (auth, scope.as_deref())) {
        // The signal may have been in the fields the capture lost (see `cut`).
        Err(_) if cut::may_lack_signal(req, &kind) => {}
        other => other?,
    }
    let mut split = split_for(req, &kind, &target);
    let mut matched = match_with_x_id(req, &query, &kind, &host, &mut split, target.path, notes);
    let hinted_exactly = kind == HostKind::Hinted { prefix: None };
    if (kind == HostKind::Other || hinted_exactly)
        && seen_host.is_some()
        && implausible_path_style(req, &query, &split, &matched)
        && let Some(alt) = alternate_split(&split, &host, target.path)
        && let Ok(m) = structural(req, &query, &kind, &alt, target.path)
    {
        // `PUT /` or `GET /?list-type=2` is no S3 operation in path style: the host carries
        // the bucket (a virtual-hosted client of an endpoint nobody configured).
        notes.push(
            "virtual-hosted style inferred: read path-style, the request is no S3 operation".into(),
        );
        let with_port = |name: &str| match host.port {
            Some(p) => format!("{name}:{p}"),
            None => name.to_string(),
        };
        out.learned_service_host = host.name.split_once('.').map(|(_, rest)| with_port(rest));
        // A configured endpoint whose requests only make sense virtual-hosted carries the
        // bucket (`https://my-bucket.example.test`, as object_store configurations write it).
        out.learned_bucket_host = hinted_exactly.then(|| with_port(&host.name));
        split = alt;
        matched = Ok(m);
    }
    if learn && notes.is_empty() {
        learn_queried(req, &query, &kind, &split, &target, &matched, ops);
    }
    out.addressing = split.addressing;
    if detail == Detail::Full {
        notes.extend(set_bucket_and_key(out, &split, &target));
    }
    cut::judge(req, out, notes)?;
    let matched = matched?;
    // Nearly always empty: extending by an empty list still cost a call (~35 instructions).
    if !matched.notes.is_empty() {
        notes.extend(matched.notes);
    }
    Ok(matched.op)
}

/// Remembers the operation of a request with a query for the usual path ([`UsualOps`]): when
/// its query is one the usual path can read as no query except in the match (no credentials,
/// no `x-id`), and the match named an operation without a note. The match depends only on the
/// request's place and query ([`classify::queried_place_of`]), so it is the one a later request
/// with both gets. `notes` is empty: the path was read as it was split, and no `x-id` spoke.
fn learn_queried(
    req: &HttpRequest,
    query: &Query,
    kind: &HostKind,
    split: &Split,
    target: &Target<'_>,
    matched: &Result<Matched, String>,
    ops: &mut UsualOps,
) {
    let Ok(m) = matched else { return };
    // Not presigned: then no `X-Amz-Credential` gives a scope either (`presigned` looks for it
    // in any case).
    let plain = query::presigned(query).is_none() && query.get("x-id").is_none();
    if !m.notes.is_empty() || !plain {
        return;
    }
    let r = matcher_request(req, query, kind, split, target.path);
    if let Some(place) = classify::queried_place_of(&r) {
        ops.learn_queried(place, target.query, m.op);
    }
}

/// Bucket and key, percent-decoded; the note on a lossy key. What lies in the target's path
/// (the key, and the bucket read path-style) is taken as it is when the path has no `%`: one
/// search instead of one for each (none when [`plain_target`] marked it).
#[inline(always)] // see `usual_request`
fn set_bucket_and_key(out: &mut S3Request, split: &Split, target: &Target) -> Option<String> {
    let path = target.path;
    let plain_path = match target.marks {
        Some(marks) => !marks.percent,
        None => memchr::memchr(b'%', path.as_bytes()).is_none(),
    };
    fn decode<'s>(s: &'s str, path: &str, plain_path: bool) -> (std::borrow::Cow<'s, str>, bool) {
        match plain_path && within(path, s) {
            true => (std::borrow::Cow::Borrowed(s), false),
            false => query::decode(s),
        }
    }
    let decode = |s| decode(s, path, plain_path);
    out.bucket = split.bucket.map(|b| decode(b).0.into_owned());
    let (key, lossy) = decode(split.raw_key?);
    out.key = Some(key.into_owned());
    lossy.then(|| "key is not UTF-8 once percent-decoded; shown lossily".to_string())
}

/// Whether `part` is a slice of `whole` (not merely equal to some part of it).
fn within(whole: &str, part: &str) -> bool {
    let (w, p) = (
        whole.as_bytes().as_ptr_range(),
        part.as_bytes().as_ptr_range(),
    );
    w.start <= p.start && p.end <= w.end
}

#[derive(Debug, PartialEq, Eq)]
struct Target<'a> {
    authority: Option<&'a str>,
    path: &'a str,
    query: &'a str,
    /// What [`plain_target`]'s pass saw of the path (None from the general reading: then the
    /// bucket's end and a `%` are searched for).
    marks: Option<scan::Marks>,
}

/// RFC 9112 §3.2: origin-form `/p?q`, absolute-form `http://h/p?q` (its authority is the host,
/// §3.2.2), authority-form (CONNECT) and asterisk-form (OPTIONS *) are not S3 requests.
fn parse_target(req: &HttpRequest) -> Result<Target<'_>, String> {
    let t = req.target.as_str();
    match plain_target(t).filter(|_| req.method != "CONNECT") {
        Some(plain) => Ok(plain),
        None => any_target(t, &req.method),
    }
}

/// [`parse_target`] for every form.
fn any_target<'a>(t: &'a str, method: &str) -> Result<Target<'a>, String> {
    if t == "*" {
        return Err("not an S3 request: target is `*`".to_string());
    }
    if method == "CONNECT" {
        return Err(format!("not an S3 request: CONNECT tunnel to `{t}`"));
    }
    let t = split_once_byte(t, b'#').map_or(t, |(t, _)| t);
    let (authority, rest) = match split_once_lit(t, "://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (auth, path) = rest.split_at(end);
            let auth = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
            (Some(auth), path)
        }
        Some((scheme, _)) => return Err(format!("not an S3 request: `{scheme}:` target")),
        None if t.starts_with('/') => (None, t),
        None => return Err(format!("not an S3 request: target `{t}` is not a path")),
    };
    let (path, query) = split_once_byte(rest, b'?').unwrap_or((rest, ""));
    let path = if path.is_empty() { "/" } else { path };
    Ok(Target {
        authority,
        path,
        query,
        marks: None,
    })
}

/// The usual origin-form target, `/path` or `/path?query` with no `#` and no `:` in it, read
/// in one pass ([`scan`]) that also marks what splitting its path looks for (a test holds it to
/// [`any_target`]'s reading); None for any other.
fn plain_target(t: &str) -> Option<Target<'_>> {
    if !t.starts_with('/') {
        return None;
    }
    let marks = scan::marks(t.as_bytes())?;
    let (path, query) = match marks.query {
        None => (t, ""),
        Some(at) => (t.get(..at)?, t.get(at + 1..)?),
    };
    // Not empty: it starts with the `/`.
    Some(Target {
        authority: None,
        path,
        query,
        marks: Some(marks),
    })
}

/// `s.split_once(b as char)` for an ASCII byte `b`, by memchr: `str`'s char search costs more
/// on these short texts (a target is split three times per request).
pub(crate) fn split_once_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    debug_assert!(b.is_ascii());
    let at = memchr::memchr(b, s.as_bytes())?;
    // An ASCII byte is a character boundary on both sides.
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// `s.split_once(pat)` for a short literal `pat`: the first occurrence, found by looking for its
/// first byte (cheaper on these short texts than setting up the general substring search).
fn split_once_lit<'a>(s: &'a str, pat: &str) -> Option<(&'a str, &'a str)> {
    let bytes = s.as_bytes();
    let at = memchr::memchr_iter(*pat.as_bytes().first()?, bytes).find(|&i| {
        bytes
            .get(i..)
            .is_some_and(|b| b.starts_with(pat.as_bytes()))
    })?;
    Some((s.get(..at)?, s.get(at.checked_add(pat.len())?..)?))
}

fn check_method(method: &str) -> Result<(), String> {
    match method {
        "GET" | "PUT" | "POST" | "DELETE" | "HEAD" => Ok(()),
        "OPTIONS" => Err("OPTIONS is a CORS preflight, not an S3 API operation".to_string()),
        m => Err(format!("method {m} is not used by S3")),
    }
}

/// The Host or the request must say S3; a SigV4 scope for another service says it is not.
/// `auth` is the request's `Authorization` with its scope's service ([`sigv4_service`]).
#[inline(always)] // see `usual_request`
fn s3_evidence(
    req: &HttpRequest,
    q: &Query,
    kind: &HostKind,
    host: &HostName,
    (auth, scope): (Option<&str>, Option<&str>),
) -> Result<(), String> {
    if let Some(svc) = scope.filter(|s| !S3_SERVICES.contains(s)) {
        return Err(format!("not an S3 request: signed for AWS service `{svc}`"));
    }
    match kind {
        HostKind::Aws {
            form: AwsForm::Website,
            ..
        } => Err("S3 static website endpoint: not the S3 REST API".to_string()),
        HostKind::Aws { .. } | HostKind::Hinted { .. } => Ok(()),
        HostKind::AwsOther => Err(format!(
            "not an S3 request: `{}` is another AWS service's host",
            host.name
        )),
        HostKind::Localhost { .. } | HostKind::Other => {
            // Cheapest signals first: the usual SigV4 request stops at the first.
            let signed_v2 = || auth.is_some_and(|a| a.starts_with("AWS "));
            let amz_header = || {
                req.headers.iter().any(|h| {
                    h.name
                        .get(..6)
                        .is_some_and(|p| p.eq_ignore_ascii_case("x-amz-"))
                })
            };
            let x_id = || matches!(q.get("x-id"), Some(Some(v)) if table::by_name(&v).is_some());
            if scope.is_some()
                || signed_v2()
                || query::presigned(q).is_some()
                || amz_header()
                || x_id()
            {
                Ok(())
            } else {
                Err(format!(
                    "no S3 signal: `{}` is not a known S3 endpoint and the request has no AWS \
                     signature, x-amz-* header or x-id",
                    host.name
                ))
            }
        }
    }
}

/// The service of a SigV4/SigV4a credential scope, from `Authorization` (read once per
/// credential: [`HostMemo::scope`]) or `X-Amz-Credential`.
#[inline(always)] // see `usual_request`
fn sigv4_service<'a>(
    authorization: Option<&'a str>,
    q: &Query<'a>,
    memo: &mut HostMemo,
) -> Option<Cow<'a, str>> {
    let from_header = authorization.and_then(|a| memo.scope(a, header_scope));
    if let Some(service) = from_header {
        return Some(Cow::Borrowed(service));
    }
    match q.get("X-Amz-Credential").flatten()? {
        Cow::Borrowed(cred) => query::credential_service(cred).map(Cow::Borrowed),
        Cow::Owned(cred) => query::credential_service(&cred).map(|s| Cow::Owned(s.to_string())),
    }
}

/// The service of an `Authorization`'s SigV4 credential scope, and where its credential ends
/// (the byte after it); None when it has no credential.
fn header_scope(authorization: &str) -> Option<(Option<&str>, usize)> {
    let a = authorization.strip_prefix("AWS4-")?;
    let cred = split_once_lit(a, "Credential=")?.1;
    // The scope ends at the parameter's comma or a space (bytes: both are ASCII).
    let len = memchr::memchr2(b',', b' ', cred.as_bytes()).unwrap_or(cred.len());
    let at = (cred.as_ptr() as usize).checked_sub(authorization.as_ptr() as usize)?;
    let cred = cred.get(..len)?;
    Some((query::credential_service(cred), at.checked_add(len)?))
}

/// The addressing style the Host implies, applied to the path.
#[inline(always)] // see `usual_request`
fn split_for<'a>(req: &HttpRequest, kind: &HostKind<'a>, target: &Target<'a>) -> Split<'a> {
    use Addressing as A;
    let path = target.path;
    let (addressing, bucket) = match kind {
        HostKind::Aws { form, prefix } => match (form, prefix) {
            (AwsForm::ObjectLambda, _) if is_wgor(req, path) => (A::ObjectLambda, None),
            (AwsForm::ExpressControl, _) => (A::ExpressControl, None),
            (_, None) => (A::Path, None),
            (AwsForm::Service, Some(p)) => (A::VirtualHosted, Some(*p)),
            (AwsForm::ExpressZonal, Some(p)) => (A::ExpressZonal, Some(*p)),
            (AwsForm::MultiRegionAccessPoint, Some(p)) => (A::MultiRegionAccessPoint, Some(*p)),
            (_, Some(p)) => (A::AccessPoint, Some(*p)),
        },
        HostKind::Hinted { prefix: Some(p) } | HostKind::Localhost { prefix: p } => {
            (A::VirtualHosted, Some(*p))
        }
        _ => (A::Path, None),
    };
    if is_wgor(req, path) && (bucket.is_none() || req.header("x-amz-request-route").is_some()) {
        // The host prefix is the request route (`endpoint.hostPrefix`), not a bucket.
        let addressing = if bucket.is_some() {
            A::ObjectLambda
        } else {
            addressing
        };
        return Split {
            addressing,
            bucket: None,
            raw_key: None,
        };
    }
    match target.marks {
        Some(marks) => addressing::split_marked(addressing, bucket, path, marks.slash),
        None => addressing::split(addressing, bucket, path),
    }
}

/// `POST /WriteGetObjectResponse` on an Object Lambda host, in path style (bucket names have no
/// upper case, so the segment cannot be a bucket), or with the `x-amz-request-route` header.
fn is_wgor(req: &HttpRequest, path: &str) -> bool {
    req.method == "POST" && path == "/WriteGetObjectResponse"
}

fn shape_of(split: &Split, path: &str) -> PathShape {
    match (&split.bucket, &split.raw_key) {
        (None, _) if path == "/WriteGetObjectResponse" => PathShape::WriteGetObjectResponse,
        (None, _) => PathShape::Service,
        (Some(_), None) => PathShape::Bucket,
        (Some(_), Some(_)) => PathShape::Object,
    }
}

fn structural(
    req: &HttpRequest,
    q: &Query,
    kind: &HostKind,
    split: &Split,
    path: &str,
) -> Result<Matched, String> {
    classify::match_operation(&matcher_request(req, q, kind, split, path))
}

/// What the matcher reads of a request split as `split`.
#[inline(always)] // see `usual_request`
fn matcher_request<'a>(
    req: &'a HttpRequest,
    q: &'a Query,
    kind: &HostKind,
    split: &Split,
    path: &str,
) -> Request<'a> {
    Request {
        method: &req.method,
        shape: shape_of(split, path),
        query: q,
        http: req,
        express_control_host: matches!(
            kind,
            HostKind::Aws {
                form: AwsForm::ExpressControl,
                ..
            }
        ),
        aws_host: matches!(kind, HostKind::Aws { .. }),
        literals: q.literals(),
    }
}

/// Matches structurally, then lets `?x-id=Op` confirm or override (Smithy SDKs put the
/// operation name there; S3 ignores `x-` query parameters).
fn match_with_x_id<'a>(
    req: &HttpRequest,
    q: &Query,
    kind: &HostKind,
    host: &'a HostName,
    split: &mut Split<'a>,
    path: &'a str,
    notes: &mut Vec<String>,
) -> Result<Matched, String> {
    let found = structural(req, q, kind, split, path);
    let Some(op) = x_id_operation(req, q, notes) else {
        return found;
    };
    let x_id = op.name;
    if shape_of(split, path) != op.path {
        match alternate_split(split, host, path).filter(|a| shape_of(a, path) == op.path) {
            Some(alt) => {
                notes.push(format!("addressing style inferred from x-id `{x_id}`"));
                *split = alt;
            }
            None => {
                notes.push(format!("x-id `{x_id}` does not fit the path; ignored"));
                return found;
            }
        }
    }
    let name = op.current_twin.unwrap_or(op.name);
    match &found {
        Ok(m) if m.op == name => return found,
        Ok(m) => notes.push(format!(
            "named by x-id; the request's shape alone gives {}",
            m.op
        )),
        Err(e) => notes.push(format!("named by x-id; the request's shape alone: {e}")),
    }
    let mut extra: Vec<String> = classify::twin_note(name).into_iter().collect();
    if op.deprecated {
        extra.push(format!("x-id names deprecated {}", op.name));
    }
    Ok(Matched {
        op: name,
        notes: extra,
    })
}

/// The operation `?x-id=` names, when it is one of the model's with this request's method.
fn x_id_operation(
    req: &HttpRequest,
    q: &Query,
    notes: &mut Vec<String>,
) -> Option<&'static table::Operation> {
    let x_id = q.get("x-id").flatten()?;
    let Some(op) = table::by_name(&x_id) else {
        notes.push(format!(
            "x-id `{x_id}` is not an operation of the model; ignored"
        ));
        return None;
    };
    if op.method != req.method {
        notes.push(format!(
            "x-id `{x_id}` is a {} operation; ignored",
            op.method
        ));
        return None;
    }
    Some(op)
}

/// The other addressing style, for when x-id says the first one split the path wrongly:
/// path style ↔ virtual-hosted with the Host's first label as the bucket.
/// A path-style reading that names nothing, or names ListBuckets while carrying a bucket-level
/// query key (`list-type`, `delimiter`, a subresource such as `?tagging`), or is a request to `/`
/// that only makes sense for a bucket.
fn implausible_path_style(
    req: &HttpRequest,
    q: &Query,
    split: &Split,
    matched: &Result<Matched, String>,
) -> bool {
    if split.bucket.is_some() {
        return false;
    }
    match matched {
        Err(_) => req.method != "GET" || q.keys().next().is_some(),
        Ok(m) => {
            m.op == "ListBuckets"
                && q.keys().any(|k| {
                    matches!(
                        k,
                        "list-type"
                            | "delimiter"
                            | "encoding-type"
                            | "marker"
                            | "start-after"
                            | "versions"
                    ) || table::is_literal_key(k)
                })
        }
    }
}

fn alternate_split<'a>(split: &Split, host: &'a HostName, path: &'a str) -> Option<Split<'a>> {
    match split.addressing {
        Addressing::Path => {
            let (bucket, rest) = host.name.split_once('.')?;
            (!rest.is_empty())
                .then(|| addressing::split(Addressing::VirtualHosted, Some(bucket), path))
        }
        Addressing::VirtualHosted => Some(addressing::split(Addressing::Path, None, path)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bucket_hosts;
#[cfg(test)]
mod tests_ops;
#[cfg(test)]
mod tests_real;
#[cfg(test)]
mod tests_usual;
