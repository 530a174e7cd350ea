//! Picks the operation for a request whose method, path shape, query and headers are known, the
//! way the model tells operations apart (see the order in `mod.rs`): literal query keys of the
//! request URI template, then required query members, then required headers; the member of the
//! method + path group that needs nothing is the fallback.

use super::query::{self, Query};
use super::table::{self, Operation, PathShape};
use crate::proto::http::{Field, HttpRequest};
use std::cell::RefCell;
use std::collections::HashMap;

/// What the matcher found: the operation and what a reader should know about the choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matched {
    pub op: &'static str,
    pub notes: Vec<String>,
}

/// Not in the model: the HTML form upload (AWS S3 API reference, "Browser-Based Uploads Using
/// POST"; CloudTrail calls it `PostObject`).
pub const POST_OBJECT: &str = "PostObject";

/// Everything a request offers the matcher.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    pub shape: PathShape,
    pub query: &'a Query<'a>,
    pub http: &'a HttpRequest,
    /// The Host is `s3express-control.{region}.amazonaws.com`.
    pub express_control_host: bool,
    /// The Host is one of AWS's own S3 forms (where it tells ListBuckets from
    /// ListDirectoryBuckets); on a custom endpoint only the request can.
    pub aws_host: bool,
    /// The literal query keys the query has ([`Query::literals`]).
    pub literals: u64,
}

impl Request<'_> {
    /// Every literal key of `op` (its bits: `mask`) present, with its fixed value if it has one.
    fn literals_ok(&self, op: &Operation, mask: u64) -> bool {
        mask & !self.literals == 0
            && op.literal_query.iter().all(|l| match l.value {
                None => true,
                Some(want) => self
                    .query
                    .get(l.key)
                    .is_some_and(|v| v.as_deref() == Some(want)),
            })
    }

    /// Required query members and headers present, and how many the op requires in all.
    fn requirements(&self, op: &Operation) -> (usize, usize) {
        let q = op
            .required_query
            .iter()
            .filter(|k| self.query.has(k))
            .count();
        let h = op
            .required_headers
            .iter()
            .filter(|h| self.http.header(h).is_some())
            .count();
        (q + h, op.required_query.len() + op.required_headers.len())
    }

    fn optional_present(&self, op: &Operation) -> usize {
        op.optional_query
            .iter()
            .filter(|k| self.query.has(k))
            .count()
    }

    fn missing(&self, op: &Operation) -> Vec<&'static str> {
        let q = op.required_query.iter().filter(|k| !self.query.has(k));
        let h = op
            .required_headers
            .iter()
            .filter(|h| self.http.header(h).is_none());
        q.chain(h).copied().collect()
    }

    fn is_form_upload(&self) -> bool {
        self.http
            .headers
            .field(Field::ContentType)
            .is_some_and(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            })
    }
}

/// The operation the request is, or why none can be named.
///
/// A request without a query (GetObject, PutObject, HeadObject, DeleteObject: most of what
/// clients send) is matched once per kind of request and remembered: without a query, only the
/// group's operations without literal query keys fit it, so the match depends only on the
/// method and path shape, which of the headers those operations require are present
/// ([`table::Group::queryless_headers`]: none for GET, HEAD or DELETE of an object, where
/// looking for the others cost ~150 instructions a request), the two host flags and, for a POST
/// to a bucket, whether it is a form upload. Those make its place in [`QUERYLESS`], so the
/// remembered answer is the one matching again would give (a test holds every place to it).
/// Matching was a tenth of the analysis thread on a request-dense capture.
pub(crate) fn match_operation(r: &Request<'_>) -> Result<Matched, String> {
    let Some(group) = table::group_entry(r.method, r.shape) else {
        return Err(format!(
            "no S3 operation is {} {}",
            r.method,
            shape_text(r.shape)
        ));
    };
    if !r.query.is_empty() {
        return match_queried(r, group);
    }
    let place = queryless_place(r, group);
    QUERYLESS.with_borrow_mut(|known| {
        if known.is_empty() {
            known.resize(queryless_places(), None);
        }
        match known.get_mut(place) {
            Some(slot) => slot.get_or_insert_with(|| match_in(r, group)).clone(),
            None => match_in(r, group), // never: the places cover every group and flag
        }
    })
}

/// Where the match of a request without a query is remembered (see [`match_operation`]): its
/// group's place for the headers it has of those the group's operations require, by its host
/// and form-upload flags. None when no operation has its method and path shape.
#[inline(always)] // see `usual_request` in mod.rs
pub(crate) fn queryless_place_of(r: &Request<'_>) -> Option<usize> {
    table::group_entry(r.method, r.shape).map(|group| queryless_place(r, group))
}

#[inline(always)] // see `usual_request` in mod.rs
fn queryless_place(r: &Request<'_>, group: &table::Group) -> usize {
    let flags = usize::from(host_and_form_flags(r));
    let headers = packed(
        present_headers(r, group.queryless_headers),
        group.queryless_headers,
    );
    (group.queryless_at + headers) * QUERYLESS_FLAGS + flags
}

/// What the match of a request with a query reads besides its query (see [`signature`]): its
/// group, which of the headers the group's operations require it has, and its host and
/// form-upload flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct QueriedPlace {
    group: usize,
    headers: u32,
    flags: u8,
}

/// The [`QueriedPlace`] of a request (its query is not read); None when no operation has its
/// method and path shape.
#[inline(always)] // see `usual_request` in mod.rs
pub(crate) fn queried_place_of(r: &Request<'_>) -> Option<QueriedPlace> {
    let group = table::group_entry(r.method, r.shape)?;
    Some(QueriedPlace {
        group: group.at,
        headers: present_headers(r, group.headers),
        flags: host_and_form_flags(r),
    })
}

/// The host and form-upload flags, one bit each (S3 Express control host, AWS host, form
/// upload), as [`signature`] writes them.
#[inline(always)] // see `usual_request` in mod.rs
fn host_and_form_flags(r: &Request<'_>) -> u8 {
    let form_upload = r.method == "POST" && r.shape == PathShape::Bucket && r.is_form_upload();
    u8::from(r.express_control_host) | u8::from(r.aws_host) << 1 | u8::from(form_upload) << 2
}

/// How many places [`queryless_place_of`] gives, from 0.
pub(crate) fn queryless_places() -> usize {
    table::queryless_places() * QUERYLESS_FLAGS
}

/// The host and form-upload flags of a request without a query take three bits.
const QUERYLESS_FLAGS: usize = 8;

/// What matching a request without a query gave, by its place (see [`match_operation`]): a
/// few hundred of them (the groups' subsets of their required headers, by the flags), looked
/// up by index where hashing their key cost ~70 instructions a request.
type Queryless = Vec<Option<Result<Matched, String>>>;

thread_local! {
    static QUERYLESS: RefCell<Queryless> = const { RefCell::new(Vec::new()) };
}

/// The bits of `bits` at the places of `relevant`'s set bits, gathered into the low bits in
/// order (`relevant` 0b1010, `bits` 0b1000: 0b10).
#[inline(always)] // see `usual_request` in mod.rs
fn packed(bits: u32, relevant: u32) -> usize {
    let (mut left, mut out, mut at) = (relevant, 0, 0);
    while left != 0 {
        out |= usize::from((bits >> left.trailing_zeros()) & 1 != 0) << at;
        left &= left - 1;
        at += 1;
    }
    out
}

/// Requests with a query, matched once per [`signature`] and remembered: a capture's requests
/// with a query are mostly a few kinds again and again (ListObjectsV2 with `list-type=2&prefix=`,
/// UploadPart with `partNumber=&uploadId=`), and matching one (its group's literal keys,
/// requirements and notes) cost ~1,900 instructions where the signature costs a few hundred.
/// Unlike [`QUERYLESS`], the keys are the client's: the memo is emptied when it holds
/// [`MAX_QUERIED`] of them.
fn match_queried(r: &Request<'_>, group: &table::Group) -> Result<Matched, String> {
    QUERIED.with_borrow_mut(|Queried { known, scratch }| {
        scratch.clear();
        signature(r, group, scratch);
        if let Some(m) = known.get(scratch.as_slice()) {
            return m.clone();
        }
        let m = match_in(r, group);
        if known.len() >= MAX_QUERIED {
            known.clear();
        }
        known.insert(scratch.clone(), m.clone());
        m
    })
}

/// How many query signatures are remembered at most (some hundred kilobytes).
const MAX_QUERIED: usize = 4096;

/// Everything [`match_in`] reads of a request with a query, as bytes: its group, which of the
/// headers the group's operations require are present, the host and form-upload flags, then
/// each query key in order with whether it has a value, and the value itself for the keys whose
/// value is read (literal keys, some with a fixed value, and `x-id`). The values of other keys
/// (`prefix`, `uploadId`) do not take part, so requests that differ only there share one
/// signature. Texts are length-prefixed: nothing a key holds can make two requests' signatures
/// equal.
fn signature(r: &Request<'_>, group: &table::Group, out: &mut Vec<u8>) {
    let text = |out: &mut Vec<u8>, t: &str| {
        out.extend_from_slice(&(t.len() as u64).to_le_bytes());
        out.extend_from_slice(t.as_bytes());
    };
    out.extend_from_slice(&(group.at as u64).to_le_bytes());
    out.extend_from_slice(&present_headers(r, group.headers).to_le_bytes());
    out.push(host_and_form_flags(r));
    for p in r.query.params() {
        text(out, &p.key);
        match p.value {
            Some(v) if p.literal || p.key == "x-id" => {
                out.push(2);
                text(out, &query::decode(v).0);
            }
            Some(_) => out.push(1),
            None => out.push(0),
        }
    }
}

type Signatures = HashMap<Vec<u8>, Result<Matched, String>, foldhash::fast::RandomState>;

#[derive(Default)]
struct Queried {
    known: Signatures,
    /// The signature being looked up (kept: building it allocates nothing once grown).
    scratch: Vec<u8>,
}

thread_local! {
    static QUERIED: RefCell<Queried> = RefCell::new(Queried::default());
}

/// Which of the header names in `relevant` (a mask over [`table::required_headers`]) the
/// request has.
#[inline(always)] // see `usual_request` in mod.rs
fn present_headers(r: &Request<'_>, relevant: u32) -> u32 {
    // Over the relevant bits only: a group needs a few of the table's header names.
    let names = table::required_headers();
    let (mut left, mut present) = (relevant, 0);
    while left != 0 {
        let i = left.trailing_zeros();
        left &= left - 1;
        let name = usize::try_from(i).ok().and_then(|i| names.get(i));
        if name.is_some_and(|h| r.http.header(h).is_some()) {
            present |= 1 << i;
        }
    }
    present
}

/// [`match_operation`] in the request's group, worked out.
fn match_in(r: &Request<'_>, g: &table::Group) -> Result<Matched, String> {
    let (group, literals) = (g.ops.as_slice(), g.literals.as_slice());
    let mut with_literals = Ops::default();
    group
        .iter()
        .zip(literals)
        .filter(|(op, mask)| r.literals_ok(op, **mask))
        .for_each(|(op, _)| with_literals.push(op));
    let most = with_literals.iter().map(|op| op.literal_query.len()).max();
    let mut tier = Ops::default();
    with_literals
        .iter()
        .filter(|op| Some(op.literal_query.len()) == most)
        .for_each(|op| tier.push(op));
    let tier = tier.iter();
    let (op, mut notes) = match most {
        Some(n) if n > 0 => pick_by_requirements(r, tier.clone(), true, || {
            format!("{} {} matches no operation", r.method, shape_text(r.shape))
        })?,
        _ => match pick_default(r, group, literals, tier.clone())? {
            Choice::Op(op, notes) => (op, notes),
            Choice::PostObject => {
                let note = "browser-based POST form upload (multipart/form-data); PostObject \
                            is not an operation of the API model";
                return Ok(Matched {
                    op: POST_OBJECT,
                    notes: vec![note.to_string()],
                });
            }
        },
    };
    notes.extend(query_notes(r, op));
    notes.extend(twin_note(op.name));
    notes.extend(host_tie_note(r, tier, op));
    Ok(Matched { op: op.name, notes })
}

/// No group of the table has more members (a test checks it).
pub(crate) const MAX_GROUP: usize = 40;

/// Some members of one group, in table order, kept on the stack: the matcher goes over them
/// several times, and filtering the group again each time costs more than keeping them.
struct Ops {
    ops: [Option<&'static Operation>; MAX_GROUP],
    len: usize,
}

impl Default for Ops {
    fn default() -> Self {
        Ops {
            ops: [None; MAX_GROUP],
            len: 0,
        }
    }
}

impl Ops {
    fn push(&mut self, op: &'static Operation) {
        if let Some(slot) = self.ops.get_mut(self.len) {
            *slot = Some(op);
            self.len += 1;
        }
    }

    fn iter(&self) -> impl Iterator<Item = &'static Operation> + Clone + '_ {
        self.ops.iter().map_while(|op| *op)
    }
}

enum Choice {
    Op(&'static Operation, Vec<String>),
    PostObject,
}

/// No literal key matched: the group member needing nothing, or the one whose required members
/// are all there; PostObject for a form upload to a bucket.
fn pick_default(
    r: &Request<'_>,
    group: &[&'static Operation],
    literals: &[u64],
    tier: impl Iterator<Item = &'static Operation> + Clone,
) -> Result<Choice, String> {
    if let Some(reason) = partial_literals(r, group, literals) {
        return Err(reason);
    }
    if r.method == "POST" && r.shape == PathShape::Bucket && r.is_form_upload() {
        return Ok(Choice::PostObject);
    }
    let nothing = || {
        let needs: Vec<&str> = group
            .iter()
            .filter(|op| op.literal_query.is_empty())
            .flat_map(|op| op.required_query.iter().copied())
            .collect();
        let (m, shape) = (r.method, shape_text(r.shape));
        match dedup(needs).join("/") {
            n if n.is_empty() => format!("{m} {shape} matches no operation"),
            n => format!("{m} {shape} without {n} or a known query key"),
        }
    };
    let (op, notes) = pick_by_requirements(r, tier, false, nothing)?;
    Ok(Choice::Op(op, notes))
}

/// Among ops with the same literal keys, the one whose required members are all present and
/// most numerous (UploadPartCopy over UploadPart over PutObject). With `lenient`, an op named
/// by its literal key is still reported when a required member is missing, with a note.
fn pick_by_requirements(
    r: &Request<'_>,
    tier: impl Iterator<Item = &'static Operation>,
    lenient: bool,
    nothing: impl FnOnce() -> String,
) -> Result<(&'static Operation, Vec<String>), String> {
    // Each op's (present, required) count, computed once: the passes below reuse it.
    let mut counted = [None; MAX_GROUP];
    for (slot, op) in counted.iter_mut().zip(tier) {
        *slot = Some((op, r.requirements(op)));
    }
    let counted = || counted.iter().map_while(|c| *c);
    let best = counted()
        .filter(|(_, (have, need))| have == need)
        .max_by_key(|(op, (_, need))| {
            (
                *need,
                r.optional_present(op),
                op.express_control == r.express_control_host,
            )
        });
    // An op with more of its required members present than the chosen one, but not all of
    // them, means the request is neither (e.g. `PUT /b/k?uploadId=1` without partNumber).
    let have_best = best.map_or(0, |(_, (_, need))| need);
    let best = best.map(|(op, _)| op);
    let partial = counted()
        .filter(|(_, (have, need))| {
            have < need && (*have > have_best || (lenient && best.is_none()))
        })
        .max_by_key(|(_, (have, need))| (*have, std::cmp::Reverse(*need)))
        .map(|(op, _)| op);
    match (best, partial) {
        (Some(op), None) => Ok((op, Vec::new())),
        (_, Some(p)) if lenient => {
            let note = format!("required {} missing", p_list(&r.missing(p)));
            Ok((p, vec![note]))
        }
        (_, Some(p)) => Err(format!(
            "{} {} has part of what {} requires but lacks {}",
            r.method,
            shape_text(r.shape),
            p.name,
            p_list(&r.missing(p))
        )),
        (None, None) => Err(nothing()),
    }
}

/// Another op the request fits exactly as well, that only the AWS host would tell apart
/// (`GET /` is ListBuckets or, on `s3express-control`, ListDirectoryBuckets).
fn host_tie_note<'o>(
    r: &Request<'_>,
    tier: impl Iterator<Item = &'o Operation>,
    chosen: &Operation,
) -> Option<String> {
    let x_id = r.query.get("x-id").flatten();
    if r.aws_host || x_id.is_some_and(|x| table::by_name(&x).is_some()) {
        return None; // the host or x-id decides
    }
    let rank = |op: &Operation| (r.requirements(op), r.optional_present(op));
    let mut others = tier.filter(|op| op.name != chosen.name).peekable();
    others.peek()?; // the chosen op alone in its tier: nothing to tie with
    let chosen_rank = rank(chosen);
    let twin = others.find(|op| rank(op) == chosen_rank)?;
    Some(format!(
        "{} sends the identical request; only an AWS host tells them apart",
        twin.name
    ))
}

/// A group op whose literal keys are partly present (`?select` without `select-type=2`).
fn partial_literals(r: &Request<'_>, group: &[&Operation], literals: &[u64]) -> Option<String> {
    let (op, _) = group
        .iter()
        .zip(literals)
        .find(|(_, mask)| **mask & r.literals != 0)?;
    let want: Vec<String> = op
        .literal_query
        .iter()
        .map(|l| match l.value {
            Some(v) => format!("{}={v}", l.key),
            None => l.key.to_string(),
        })
        .collect();
    Some(format!(
        "{} {} has part of {}'s query `?{}` but not all of it",
        r.method,
        shape_text(r.shape),
        op.name,
        want.join("&")
    ))
}

/// Notes on query keys that look like subresources but did not take part in the match.
fn query_notes(r: &Request<'_>, op: &Operation) -> Vec<String> {
    let mut notes = Vec::new();
    for key in dedup(r.query.keys().collect()) {
        if op.literal_query.iter().any(|l| l.key == key) {
            continue;
        }
        if table::is_literal_key(key) {
            notes.push(format!(
                "query key `{key}` is not a subresource of {}; ignored",
                op.name
            ));
        } else if let Some(twin) = table::literal_key_case_twin(key) {
            notes.push(format!(
                "query key `{key}` is not `{twin}`: S3 query keys are case-sensitive"
            ));
        }
    }
    notes
}

/// Deprecated operations that send the identical request as `current`.
pub(crate) fn twin_note(current: &str) -> Option<String> {
    let twins: Vec<&str> = table::deprecated()
        .iter()
        .filter(|op| op.current_twin == Some(current))
        .map(|op| op.name)
        .collect();
    (!twins.is_empty()).then(|| {
        format!(
            "also matches deprecated {} (identical request line; reported as the current name)",
            twins.join(", ")
        )
    })
}

pub(crate) fn shape_text(shape: PathShape) -> &'static str {
    match shape {
        PathShape::Service => "/",
        PathShape::Bucket => "/{Bucket}",
        PathShape::Object => "/{Bucket}/{Key+}",
        PathShape::WriteGetObjectResponse => "/WriteGetObjectResponse",
    }
}

fn p_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn dedup(mut v: Vec<&str>) -> Vec<&str> {
    let mut seen = Vec::new();
    v.retain(|k| {
        let new = !seen.contains(k);
        seen.push(*k);
        new
    });
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::http::Headers;
    use crate::time::Timestamp;

    /// Every group of the table, with its method and path shape.
    fn groups() -> impl Iterator<Item = (&'static str, PathShape, &'static table::Group)> {
        let methods = ["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"];
        let shapes = [
            PathShape::Service,
            PathShape::Bucket,
            PathShape::Object,
            PathShape::WriteGetObjectResponse,
        ];
        methods.into_iter().flat_map(move |m| {
            shapes
                .into_iter()
                .filter_map(move |p| table::group_entry(m, p).map(|g| (m, p, g)))
        })
    }

    /// A request head of these fields (method and target do not take part in the match).
    fn head(headers: Headers) -> HttpRequest {
        HttpRequest {
            ts: Timestamp(0),
            method: "GET".into(),
            target: "/".into(),
            version: 1,
            headers,
            body_len: None,
            cut: None,
        }
    }

    /// A head with the required headers `pick` chooses (by their position in `names`), and a
    /// form upload's Content-Type when bit 2 of `flags` is set.
    fn flagged_head(names: &[&str], pick: impl Fn(usize) -> bool, flags: u8) -> HttpRequest {
        let mut headers: Headers = names
            .iter()
            .enumerate()
            .filter(|(i, _)| pick(*i))
            .map(|(_, n)| (*n, "v"))
            .collect();
        if flags & 4 != 0 {
            headers.push("Content-Type", "multipart/form-data; boundary=x");
        }
        head(headers)
    }

    /// A request to match, with the host flags of `flags` (bit 0: S3 Express control host,
    /// bit 1: an AWS host).
    fn flagged<'a>(
        method: &'a str,
        shape: PathShape,
        query: &'a Query<'a>,
        http: &'a HttpRequest,
        flags: u8,
        literals: u64,
    ) -> Request<'a> {
        Request {
            method,
            shape,
            query,
            http,
            express_control_host: flags & 1 != 0,
            aws_host: flags & 2 != 0,
            literals,
        }
    }

    /// Every key a request without a query can have, in every order the loops give: the
    /// remembered answer (first and later) is the one matching anew gives.
    #[test]
    fn a_remembered_queryless_match_is_the_match() {
        let query = Query::parse("");
        let names = table::required_headers();
        let mut keys = 0;
        for (method, shape, group) in groups() {
            for present in (0..=group.headers).filter(|m| m & !group.headers == 0) {
                for flags in 0..8 {
                    let http = flagged_head(names, |i| present & 1 << i != 0, flags);
                    let r = flagged(method, shape, &query, &http, flags, 0);
                    let anew = match_in(&r, group);
                    for _ in 0..2 {
                        assert_eq!(
                            match_operation(&r),
                            anew,
                            "{method} {shape:?} {present} {flags}"
                        );
                    }
                    keys += 1;
                }
            }
        }
        assert!(keys > 100, "{keys}");
    }

    #[test]
    fn packed_gathers_the_relevant_bits() {
        assert_eq!(packed(0b1000, 0b1010), 0b10);
        assert_eq!(packed(0b1111, 0b1010), 0b11);
        assert_eq!(packed(0b0101, 0b1010), 0);
        assert_eq!(packed(0b1_0001, 0b1_0001), 0b11);
        assert_eq!(packed(0b1, 0), 0);
    }

    mod literal_bits {
        use super::*;
        use proptest::prelude::*;

        /// Queries of literal keys (with their fixed values, other values, none, other case,
        /// repeated) and other keys.
        fn query() -> impl Strategy<Value = String> {
            let pieces = prop::sample::select(vec![
                "list-type=2",
                "list-type=1",
                "list-type",
                "acl",
                "ACL",
                "tagging",
                "uploads",
                "uploadId=7",
                "versions",
                "select&select-type=2",
                "select-type=2",
                "prefix=a",
                "prefix=b",
                "prefix",
                "x-id=GetObject",
                "x-id=ListObjectsV2",
                "delete",
                "restore",
                "partNumber=1",
                "cors=",
                "",
            ]);
            prop::collection::vec(pieces, 0..5).prop_map(|p| p.join("&"))
        }

        proptest! {
            /// The bit tests are the searches they replace, for every operation of every group.
            #[test]
            fn literal_bits_decide_as_the_searches_did(q in query()) {
                let query = Query::parse(&q);
                let http = head(Headers::default());
                for (method, shape, group) in groups() {
                    let r = Request {
                        method,
                        shape,
                        query: &query,
                        http: &http,
                        express_control_host: false,
                        aws_host: false,
                        literals: query.literals(),
                    };
                    for (op, mask) in group.ops.iter().zip(&group.literals) {
                        let searched = op.literal_query.iter().all(|l| {
                            match (query.get(l.key), l.value) {
                                (None, _) => false,
                                (Some(_), None) => true,
                                (Some(got), Some(want)) => got.as_deref() == Some(want),
                            }
                        });
                        prop_assert_eq!(r.literals_ok(op, *mask), searched, "{} {} {}", method, op.name, q);
                        let any = op.literal_query.iter().any(|l| query.has(l.key));
                        prop_assert_eq!(mask & r.literals != 0, any, "{} {}", op.name, q);
                    }
                }
            }

            /// A remembered match of a request with a query (first and later, under every
            /// header and host flag) is the match worked out anew.
            #[test]
            fn a_remembered_match_with_a_query_is_the_match(q in query(), flags in 0u8..8) {
                let query = Query::parse(&q);
                let names = table::required_headers();
                for (method, shape, group) in groups() {
                    let pick = |i: usize| group.headers & 1 << i != 0 && (i + q.len()).is_multiple_of(2);
                    let http = flagged_head(names, pick, flags);
                    let literals = query.literals();
                    let r = flagged(method, shape, &query, &http, flags, literals);
                    let anew = match_in(&r, group);
                    for _ in 0..2 {
                        prop_assert_eq!(match_operation(&r), anew.clone(), "{} {:?} {} {}", method, shape, q, flags);
                    }
                }
            }
        }
    }
}
