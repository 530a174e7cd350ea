//! What the last Host read said, kept for the next request with the same Host text. A
//! connection's requests, and most captures' requests, name one host again and again; reading
//! it (`HostName::parse`, then [`host_kind`]'s search of the hints and the AWS suffixes) was
//! some 500 instructions of each request's classification on a request-dense capture, where
//! comparing the text with the last one costs a few dozen.
//!
//! The answer depends on the Host text and the hints alone, so it is the one reading the text
//! again would give, as long as the hints are the ones it was read with: whoever changes the
//! hints clears the memo ([`HostMemo::clear`]).

use super::addressing::{AwsForm, HostHints, HostKind, HostName, host_kind};
use super::classify::{self, Matched};
use std::borrow::Cow;

/// The last Host text read, and what it said. `Debug` shows nothing of it: it is a cache, and
/// a classifier's state is compared by what it learned.
#[derive(Clone, Default)]
pub struct HostMemo {
    /// The Host as sent; `None` until a text is read (or after [`HostMemo::clear`]).
    text: Option<String>,
    /// Its name as [`HostName`] reads it (lower-cased, without a trailing dot).
    name: String,
    port: Option<u16>,
    shape: Shape,
    /// The last SigV4 credential scope read from an `Authorization` (see [`ScopeMemo`]).
    scope: ScopeMemo,
    /// What the usual requests' kinds matched (see [`UsualOps`]).
    usual: UsualOps,
}

/// The operations of the usual requests (whole, origin-form, without a query, to a bucket or
/// object; see `usual_request` in `mod.rs`) by their place ([`classify::queryless_place_of`]):
/// the place holds all the match of such a request reads (method, path shape, which of its
/// group's required headers it has, the host's flags), so the operation once matched is the one
/// matching again gives. Kept here rather than read from the matcher's own memo: a look-up in
/// this table costs a few instructions, the matcher's (a thread-local, a clone of its answer)
/// ~150 a request. The places depend on neither the Host's text nor the hints: nothing clears
/// the table.
#[derive(Clone, Default)]
pub(crate) struct UsualOps {
    known: Vec<Known>,
    /// The usual requests with a query whose operation is known, by place and query text.
    queried: Vec<QueriedOp>,
    /// The entry of `queried` the next one learned replaces, once it is full.
    next: usize,
}

/// A usual request with a query, as far as its match reads it: its place
/// ([`classify::queried_place_of`]) and its query's text as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct QueriedOp {
    place: classify::QueriedPlace,
    query: String,
    op: &'static str,
}

/// How many queries [`UsualOps`] remembers (each as long as a request target may be): a
/// capture's requests with a query are mostly a few texts sent again and again
/// (`list-type=2&prefix=…` polled, `?uploads`, `?tagging`); queries that change every time
/// (`partNumber=…&uploadId=…`) take turns in its places.
const QUERIED: usize = 16;

/// What the match at one place of [`UsualOps`] gave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Known {
    /// Not matched yet.
    #[default]
    Unmatched,
    /// This operation, without a note.
    Op(&'static str),
    /// A note or no operation: left to the general path, which says them.
    General,
}

impl UsualOps {
    /// The operation remembered at `place`, found by `matching` the first time; None when the
    /// match gave a note or no operation (or `place` is none of the table's).
    #[inline(always)] // see `usual_request` in mod.rs
    pub(crate) fn op(
        &mut self,
        place: usize,
        matching: impl FnOnce() -> Result<Matched, String>,
    ) -> Option<&'static str> {
        if self.known.is_empty() {
            self.known
                .resize(classify::queryless_places(), Known::Unmatched);
        }
        let slot = self.known.get_mut(place)?;
        if *slot == Known::Unmatched {
            *slot = match matching() {
                Ok(m) if m.notes.is_empty() => Known::Op(m.op),
                _ => Known::General,
            };
        }
        match *slot {
            Known::Op(op) => Some(op),
            _ => None,
        }
    }

    /// Some request with this `query` was learned ([`UsualOps::learn_queried`]): comparing the
    /// texts alone costs less than finding a request's place, for queries never seen again.
    #[inline(always)] // see `usual_request` in mod.rs
    pub(crate) fn knows_query(&self, query: &str) -> bool {
        self.queried.iter().any(|q| q.query == query)
    }

    /// The operation a usual request with this `query` at `place` was found to be by the
    /// general path ([`UsualOps::learn_queried`]); None when not remembered.
    #[inline(always)] // see `usual_request` in mod.rs
    pub(crate) fn queried_op(
        &self,
        place: classify::QueriedPlace,
        query: &str,
    ) -> Option<&'static str> {
        self.queried
            .iter()
            .find(|q| q.place == place && q.query == query)
            .map(|q| q.op)
    }

    /// The general path found the usual request with this `query` at `place` to be `op`,
    /// without a note, its query read as a query without one except by the match (no `x-id`,
    /// no credentials: see `usual_request` in mod.rs).
    pub(crate) fn learn_queried(
        &mut self,
        place: classify::QueriedPlace,
        query: &str,
        op: &'static str,
    ) {
        if self.queried.len() < QUERIED {
            let query = query.to_string();
            self.queried.push(QueriedOp { place, query, op });
            return;
        }
        let at = self.next;
        self.next = (at + 1) % QUERIED;
        if let Some(entry) = self.queried.get_mut(at) {
            entry.place = place;
            // Into the text it replaces: once grown, learning allocates nothing.
            entry.query.clear();
            entry.query.push_str(query);
            entry.op = op;
        }
    }
}

/// The last `Authorization` whose credential scope was read: its text up to the end of the
/// credential, and where the scope's service is in it. A client signs every request with the
/// same credential and scope; only the signature after it changes. Finding the scope (the
/// `Credential=` parameter, its end, then the service before `/aws4_request`) was ~400
/// instructions of each signed request's classification, comparing the text ~40.
///
/// The service depends only on the text up to the credential's end (the first `,` or space
/// after the first `Credential=`, or the text's end): a value that starts with the remembered
/// text and has a `,`, a space or nothing after it has the same service at the same place (its
/// first `Credential=` lies inside the shared text, and so does everything up to that end).
#[derive(Clone, Default)]
struct ScopeMemo {
    /// Empty until a scope is read.
    text: String,
    /// The service's byte range in `text`.
    service: Option<(usize, usize)>,
}

impl std::fmt::Debug for HostMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostMemo")
    }
}

/// A [`HostKind`] without its borrow: each prefix it holds is the start of the host name, so
/// its length says which.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Shape {
    Aws {
        form: AwsForm,
        prefix: Option<usize>,
    },
    AwsOther,
    Hinted {
        prefix: Option<usize>,
    },
    Localhost {
        prefix: usize,
    },
    #[default]
    Other,
}

impl HostMemo {
    /// The usual requests' operations ([`UsualOps`]).
    #[inline(always)] // see `usual_request` in mod.rs
    pub(crate) fn usual(&self) -> &UsualOps {
        &self.usual
    }

    /// Forget the last Host: the hints it was read with have changed.
    pub fn clear(&mut self) {
        self.text = None;
    }

    /// `host` read as [`HostName::parse`] reads it, with the kind [`host_kind`] gives it under
    /// `hints`; None when it is not `host[:port]`. Borrowed from the memo, with the table of the
    /// usual requests' operations beside it (borrowed apart from the name).
    #[inline(always)] // see `usual_request` in mod.rs
    pub(crate) fn read_beside_ops(
        &mut self,
        host: &str,
        hints: &HostHints,
    ) -> Option<(HostName<'_>, Shape, &mut UsualOps)> {
        if self.text.as_deref() != Some(host) {
            let parsed = HostName::parse(host)?;
            let shape = Shape::of(&host_kind(&parsed, hints), &parsed.name);
            self.name.clear();
            self.name.push_str(&parsed.name);
            self.port = parsed.port;
            self.shape = shape;
            let text = self.text.get_or_insert_with(String::new);
            text.clear();
            text.push_str(host);
        }
        let name = HostName {
            name: Cow::Borrowed(self.name.as_str()),
            port: self.port,
        };
        Some((name, self.shape, &mut self.usual))
    }
}

impl HostMemo {
    /// The service of `authorization`'s SigV4 credential scope, as `read` finds it: remembered
    /// for the next value with the same credential (see [`ScopeMemo`]). `read` returns the
    /// service and where the credential ends (None when it finds no credential).
    #[inline(always)] // see `usual_request` in mod.rs
    pub(crate) fn scope<'a>(
        &mut self,
        authorization: &'a str,
        read: impl FnOnce(&'a str) -> Option<(Option<&'a str>, usize)>,
    ) -> Option<&'a str> {
        let m = &mut self.scope;
        let (text, bytes) = (m.text.as_bytes(), authorization.as_bytes());
        if !text.is_empty()
            && bytes.starts_with(text)
            && matches!(bytes.get(text.len()), None | Some(b',' | b' '))
        {
            return m.service.and_then(|(s, e)| authorization.get(s..e));
        }
        let (service, end) = read(authorization)?;
        let base = authorization.as_ptr() as usize;
        m.text.clear();
        m.text.push_str(authorization.get(..end)?);
        // The service is a slice of `authorization` before `end` (see `sigv4_service`).
        m.service = service.and_then(|s| {
            let start = (s.as_ptr() as usize).checked_sub(base)?;
            let stop = start.checked_add(s.len())?;
            (stop <= end).then_some((start, stop))
        });
        service
    }
}

impl Shape {
    fn of(kind: &HostKind<'_>, name: &str) -> Shape {
        // Every prefix is `name[..len]` (see `host_kind`); the debug check holds it to that.
        let len = |p: &str| {
            debug_assert!(name.starts_with(p) && p.as_ptr() == name.as_ptr());
            p.len()
        };
        match *kind {
            HostKind::Aws { form, prefix } => Shape::Aws {
                form,
                prefix: prefix.map(len),
            },
            HostKind::AwsOther => Shape::AwsOther,
            HostKind::Hinted { prefix } => Shape::Hinted {
                prefix: prefix.map(len),
            },
            HostKind::Localhost { prefix } => Shape::Localhost {
                prefix: len(prefix),
            },
            HostKind::Other => Shape::Other,
        }
    }

    /// The kind again, borrowing its prefix from `name` (the name it was made from).
    pub(crate) fn kind(self, name: &str) -> HostKind<'_> {
        let cut = |n: usize| name.get(..n).unwrap_or(name);
        match self {
            Shape::Aws { form, prefix } => HostKind::Aws {
                form,
                prefix: prefix.map(cut),
            },
            Shape::AwsOther => HostKind::AwsOther,
            Shape::Hinted { prefix } => HostKind::Hinted {
                prefix: prefix.map(cut),
            },
            Shape::Localhost { prefix } => HostKind::Localhost {
                prefix: cut(prefix),
            },
            Shape::Other => HostKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The remembered reading is the fresh one, for every kind of host and after the text
    /// changes back and forth; a cleared memo reads again under the new hints.
    #[test]
    fn the_memo_reads_as_the_parser_does() {
        let mut hints = HostHints::default();
        hints.add("s3.local.test:9000");
        let hosts = [
            "bucket.s3.local.test:9000",
            "s3.local.test:9000",
            "photos.s3.us-west-2.amazonaws.com",
            "s3.us-west-2.amazonaws.com",
            "sts.amazonaws.com",
            "b.localhost:4566",
            "Example.TEST.",
            "127.0.0.1:18080",
            "[::1]:9000",
        ];
        let mut memo = HostMemo::default();
        for h in hosts.iter().chain(hosts.iter().rev()).chain(&hosts) {
            for _ in 0..2 {
                let fresh = HostName::parse(h).unwrap();
                let want = (fresh.clone(), host_kind(&fresh, &hints));
                let (name, shape, _) = memo.read_beside_ops(h, &hints).unwrap();
                let got_kind = shape.kind(&name.name).clone();
                let got_kind = format!("{got_kind:?}");
                assert_eq!((name, got_kind), (want.0, format!("{:?}", want.1)), "{h}");
            }
        }
        assert!(memo.read_beside_ops("h:port", &hints).is_none());
        assert!(memo.read_beside_ops("h:99999", &hints).is_none());
        let before = memo
            .read_beside_ops("other.test", &hints)
            .map(|(_, s, _)| s);
        hints.add("other.test");
        memo.clear();
        let after = memo
            .read_beside_ops("other.test", &hints)
            .map(|(_, s, _)| s);
        assert_eq!(before, Some(Shape::Other));
        assert_eq!(after, Some(Shape::Hinted { prefix: None }));
    }
}
