//! Typed records → report rows, made once, through the one redactor. Everything a row shows as
//! text comes from here; nothing downstream redacts again.

use super::groups::EndpointView;
use super::redact;
use super::{AttemptRecord, FindingRecord, GuessRecord, RequestRecord, UNKNOWN_OWNER};
use crate::facts::{Attempt, Request};
use crate::policy::finding::{RequestStrings, seen_line};
use crate::policy::{Finding, FindingKind, Severity};
use std::borrow::Cow;
use std::net::SocketAddr;

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

    /// The request's row; its strings move into it (only what redaction changes is copied).
    pub fn request(&self, mut r: Request) -> RequestRecord {
        self.take_request(&mut r, &mut AddrMemo::default())
    }

    /// [`Redactor::request`] of a boxed request: its strings are taken out of the box, and
    /// the request (some 600 bytes) is not first moved out of it.
    pub fn request_boxed(&self, mut r: Box<Request>) -> RequestRecord {
        self.take_request(&mut r, &mut AddrMemo::default())
    }

    /// The request's row, its strings taken out of `r` (left empty, for the caller to drop
    /// when it will), the addresses' text through `memo`: a report's rows repeat them (the
    /// server's from request to request, the client's per connection).
    pub fn take_request(&self, r: &mut Request, memo: &mut AddrMemo) -> RequestRecord {
        use std::mem::take;
        let operation = r.operation_name();
        let note = match std::mem::replace(&mut r.operation, Ok("")) {
            Ok(_) => r.operation_note.take(),
            Err(reason) => Some(reason),
        };
        let target = match memo.target.redacted(*self, &r.target) {
            Cow::Borrowed(_) => None,
            Cow::Owned(t) => Some(t),
        }
        .unwrap_or_else(|| take(&mut r.target));
        RequestRecord {
            id: r.id,
            time: r.time,
            scheme: r.scheme,
            client: memo.client.of(r.client),
            server: memo.server.of(r.server),
            host: r.host.take(),
            method: take(&mut r.method),
            target,
            truncated: r.truncated,
            operation,
            bucket: r.bucket.take(),
            key: r.key.take(),
            operation_note: note,
            addressing: r.addressing,
            status: r.status,
            interim: take(&mut r.interim),
            // A URL: presigned credentials in its query or userinfo are redacted like text.
            location: r.location.take().map(|l| self.text_owned(l)),
            user_agent: r.user_agent.take(),
            authorization: r.authorization.take().map(|v| match self.on {
                true => redact::redact_authorization_owned(v),
                false => v,
            }),
            request_body_bytes: r.request_body_bytes,
            response_body_bytes: r.response_body_bytes,
            response_time: r.response_time,
            tls: r.tls.take().map(|t| *t),
            connection: r.connection,
            // Redacted when it was read from /proc (`source::procs`).
            process: r.process.take().map(|p| *p),
            owner: r.owner,
        }
    }

    /// [`Redactor::text`] of an owned string, kept as it is when nothing is redacted.
    fn text_owned(&self, s: String) -> String {
        match self.text(&s) {
            Cow::Borrowed(_) => None,
            Cow::Owned(t) => Some(t),
        }
        .unwrap_or(s)
    }

    pub fn attempt(&self, a: &Attempt) -> AttemptRecord {
        AttemptRecord {
            time: a.time,
            client: AddrText::of(a.client),
            server: AddrText::of(a.server),
            outcome: a.outcome,
            syns: a.syns,
            owner: a.owner,
        }
    }

    /// The finding's row; its strings move into it (only what redaction changes is copied).
    pub fn finding(&self, f: Finding, severity: Severity) -> FindingRecord {
        self.finding_after(f, severity, None)
    }

    /// [`Redactor::finding`], given the row of the request it is about when there is one: its
    /// addresses and redacted target are taken from that row, not made again (for a plaintext
    /// request they were a tenth of its finding's cost).
    ///
    /// A lean finding ([`Finding::is_lean`]) takes its request's strings from that row, which
    /// it needs.
    pub fn finding_after(
        &self,
        mut f: Finding,
        severity: Severity,
        row: Option<&RequestRecord>,
    ) -> FindingRecord {
        let row = row.filter(|r| f.request == Some(r.id));
        if let Some(r) = row.filter(|_| f.is_lean()) {
            // The row's target is redacted: redacting it again, as the `seen` line is made
            // below, leaves it as it is.
            f.fill_with(RequestStrings {
                bucket: r.bucket.clone(),
                key: r.key.clone(),
                host: r.host.clone(),
                method: r.method.clone(),
                target: r.target.clone(),
                user_agent: r.user_agent.clone(),
            });
        }
        debug_assert!(
            !f.is_lean(),
            "a lean finding's row is made with its request's"
        );
        let endpoint = EndpointView::of(&f);
        // The `seen` line quotes the target as sent: redacted as a target, then as text (an
        // absolute-form target is a whole URL). A request's finding holds its target.
        let seen = f
            .target
            .as_deref()
            .and_then(|t| match row {
                Some(r) => {
                    debug_assert_eq!(self.target(t), r.target.as_str());
                    f.seen_as(&r.target)
                }
                None => f.seen_as(&self.target(t)),
            })
            .map(|s| self.text_owned(s));
        let (client, server) = match row {
            Some(r) => {
                debug_assert_eq!(
                    (r.client, r.server),
                    (AddrText::of(f.client), AddrText::of(f.server))
                );
                (r.client, r.server)
            }
            None => (AddrText::of(f.client), AddrText::of(f.server)),
        };
        FindingRecord {
            kind: f.kind,
            severity,
            operation: f.operation,
            bucket: f.bucket,
            key: f.key,
            request: f.request,
            attempt: f.attempt,
            endpoint: endpoint.url,
            origin: endpoint.origin,
            endpoint_detail: endpoint.detail,
            time: f.time,
            client,
            server,
            seen,
            user_agent: f.user_agent,
            status: f.status,
            // Static text is this program's own words: nothing in it to redact.
            hint: match f.hint {
                Cow::Borrowed(s) => Cow::Borrowed(s),
                Cow::Owned(s) => Cow::Owned(self.text_owned(s)),
            },
            guess: f.guess.map(|g| GuessRecord {
                operation: g.operation,
                request: g.request,
                reason: g.reason,
            }),
        }
    }
}

/// A request's finding, with its request's row (already handed to the sink): what a sink needs
/// to write the finding's row, whole ([`FindingOfRow::record`]) or from the request's row
/// ([`FindingOfRow::beside`]).
pub struct FindingOfRow<'a> {
    pub finding: &'a Finding,
    pub severity: Severity,
    pub row: &'a RequestRecord,
    /// The request's addresses (its row has them only as text).
    pub addrs: (SocketAddr, SocketAddr),
    pub redactor: Redactor,
    /// `run`: the request's owner is unknown, and the hint says so first.
    pub unknown_owner: bool,
}

/// What a request's finding's row shows beside what it repeats of its request's row (see
/// [`FindingOfRow::beside`]), redacted.
pub struct Beside<'a> {
    pub kind: FindingKind,
    pub severity: Severity,
    /// The endpoint as configured; None when nobody configured it: then it is shown as the
    /// request went (`http://` and the request's Host, or its server's address), `unconfigured`.
    pub endpoint: Option<EndpointText<'a>>,
    /// The `seen` line as redaction changed it; None when it is the request's method, authority
    /// (for an origin-form target) and target as its row holds them.
    pub seen: Option<String>,
    /// The target starts with `/`: `seen` names the authority before it.
    pub origin_form: bool,
    pub hint: Cow<'a, str>,
}

/// A configured endpoint as a finding's row shows it.
pub struct EndpointText<'a> {
    pub url: &'a str,
    pub origin: &'static str,
    pub detail: &'a str,
}

/// The last text found to be left alone by text redaction, and the check for another: a
/// sink's rows repeat their Host and a client's listing its target, and a check that meets a
/// `=` looks for a secret's name before it (dense-50k: ~60 instructions a Host, ~250 a
/// listing's target, 2 M of the report thread). Keyed by the whole text, compared every time.
#[derive(Default)]
pub struct QuietText(String);

impl QuietText {
    /// Whether text redaction leaves `s` as it is.
    pub fn quiet(&mut self, s: &str) -> bool {
        if self.0 == s {
            return true;
        }
        let quiet = quiet_text(s);
        if quiet {
            self.0.clear();
            self.0.push_str(s);
        }
        quiet
    }
}

/// Whether text redaction leaves `s` as it is.
fn quiet_text(s: &str) -> bool {
    !redact::text_redaction_may_change(s)
}

/// A sink's memos of the parts of `seen` lines text redaction leaves alone (see
/// [`FindingOfRow::beside`]).
#[derive(Default)]
pub struct QuietSeen {
    host: QuietText,
    target: QuietText,
}

impl FindingOfRow<'_> {
    /// The finding's row, whole (its strings copied: the JSON sinks make few of these).
    pub fn record(&self) -> FindingRecord {
        self.redactor
            .finding_after(self.finding.clone(), self.severity, Some(self.row))
            .owner_unknown(self.unknown_owner)
    }

    /// What the finding's row adds to its request's row, when every value the finding holds of
    /// its request is the request's own (checked here, each of them: a finding's fields can be
    /// changed after it was made), so that the finding's row can repeat the request's row's
    /// text. None when the row is to be made whole: an attempt's finding, a guess, an unknown
    /// owner's hint, a value that differs. A lean finding ([`Finding::is_lean`]) holds none of
    /// its request's strings: they are the row's, with nothing to compare.
    /// What text redaction leaves alone of the `seen` line's parts is looked up in `quiet`.
    pub fn beside(&self, quiet: &mut QuietSeen) -> Option<Beside<'_>> {
        let (f, r) = (self.finding, self.row);
        let same = f.request == Some(r.id)
            && f.attempt.is_none()
            && f.guess.is_none()
            && !self.unknown_owner
            && f.time == r.time
            && f.status == r.status
            && (f.client, f.server) == self.addrs
            && f.operation == r.operation
            && (f.is_lean() || self.same_strings());
        if !same {
            return None;
        }
        let origin_form = r.target.starts_with('/');
        let endpoint = match (&f.endpoint, f.origin) {
            (Some(url), Some(origin)) => Some(EndpointText {
                url,
                origin: origin.as_str(),
                detail: f.endpoint_detail.as_deref().unwrap_or_default(),
            }),
            _ => None,
        };
        Some(Beside {
            kind: f.kind,
            severity: self.severity,
            endpoint,
            seen: self.seen_redacted(origin_form, quiet),
            origin_form,
            // Static text is this program's own words: nothing in it to redact.
            hint: match &f.hint {
                Cow::Borrowed(s) => Cow::Borrowed(*s),
                Cow::Owned(s) => self.redactor.text(s),
            },
        })
    }

    /// A whole finding's strings are its request's row's (its target redacted as the row's).
    fn same_strings(&self) -> bool {
        let (f, r) = (self.finding, self.row);
        let same = f.method.as_deref() == Some(&*r.method)
            && f.bucket == r.bucket
            && f.key == r.key
            && f.user_agent == r.user_agent
            && f.host == r.host;
        // The row holds the target redacted: a target redaction leaves alone is the row's.
        same && f.target.as_deref().is_some_and(|target| {
            target == r.target || self.redactor.target(target) == r.target.as_str()
        })
    }

    /// The `seen` line when redacting it as text changes it (None: it is its parts as they are).
    /// A line whose parts text redaction leaves alone, each on its own, is left as it is,
    /// without being put together: each part starts the line or follows a ` ` or `/`, so what
    /// the check finds in the parts is what it would find in the line.
    fn seen_redacted(&self, origin_form: bool, memo: &mut QuietSeen) -> Option<String> {
        let r = self.row;
        if !self.redactor.on {
            return None;
        }
        let authority_quiet = !origin_form || r.host.as_deref().is_none_or(|h| memo.host.quiet(h));
        // A target without `=`, `<` or `@` (most) is told by one scan; one with them, by the
        // memo of the last such target (a client's listing repeats its query).
        let target_quiet = !redact::may_redact_text(&r.target) || memo.target.quiet(&r.target);
        if quiet_text(&r.method) && authority_quiet && target_quiet {
            return None;
        }
        let seen = seen_line(&r.method, r.host.as_deref(), self.addrs.1, &r.target);
        match self.redactor.text(&seen) {
            Cow::Borrowed(_) => None,
            Cow::Owned(s) => Some(s),
        }
    }
}

impl FindingRecord {
    /// The row of a finding about traffic whose owner `run` could not find (when `unknown`):
    /// its hint says so first.
    pub fn owner_unknown(mut self, unknown: bool) -> FindingRecord {
        if unknown {
            self.hint = format!("{UNKNOWN_OWNER}; {}", self.hint).into();
        }
        self
    }
}

/// A socket address as text, kept inline: every request row and finding row holds two, and
/// each was an allocation of its own. `a.b.c.d:port` is written as `SocketAddr`'s `Display`
/// writes it, without the formatting machinery (four of these per plaintext request were 8% of
/// a request-dense run, and a general decimal writer with a bounds check per push costs 5% of
/// the report thread more); IPv6 goes through `Display` (brackets, zero compression, scope
/// ids).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AddrText {
    buf: [u8; ADDR_TEXT_MAX],
    len: u8,
}

/// The longest text an address can have: `[` + 45 (the longest IPv6 text, with a dotted tail;
/// Rust writes at most 39) + `%4294967295` + `]:65535` = 64.
const ADDR_TEXT_MAX: usize = 64;

impl AddrText {
    pub fn of(a: SocketAddr) -> AddrText {
        let mut t = AddrText {
            buf: [0; ADDR_TEXT_MAX],
            len: 0,
        };
        match a {
            SocketAddr::V4(v4) => {
                // Each octet's text from a table, three bytes at once (the zeros after a short
                // one are overwritten by the dot, or stay zeros past the end), then its dot;
                // the last dot becomes the colon.
                let mut len = 0;
                for octet in v4.ip().octets() {
                    let (text, n) = OCTETS[usize::from(octet)];
                    t.buf[len..len + 3].copy_from_slice(&text);
                    len += usize::from(n);
                    t.buf[len] = b'.';
                    len += 1;
                }
                t.buf[len - 1] = b':';
                // Eight bytes at once: the port's digits, then zeros (past the end).
                let (digits, width) = port_digits(v4.port());
                t.buf[len..len + 8].copy_from_slice(&digits);
                t.len = (len + width) as u8;
            }
            // Cannot fail: the text fits (see ADDR_TEXT_MAX).
            SocketAddr::V6(_) => {
                let _ = std::fmt::Write::write_fmt(&mut t, format_args!("{a}"));
            }
        }
        t
    }

    /// The text's fixed-size buffer (the text, then zeros) and the text's length: a copy of
    /// the whole buffer's start is one fixed-size move.
    pub fn padded(&self) -> (&[u8; ADDR_TEXT_MAX], usize) {
        (&self.buf, usize::from(self.len))
    }

    /// The text's bytes (ASCII), without the UTF-8 check [`AddrText::as_str`] makes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    pub fn as_str(&self) -> &str {
        // Only what `Display` or the digits above wrote, on character boundaries.
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or_default()
    }
}

/// The last address written and its text: [`AddrText::of`] again only for another address
/// (keyed by the whole address, compared every time).
#[derive(Clone, Copy, Default)]
pub struct LastAddr(Option<(SocketAddr, AddrText)>);

impl LastAddr {
    /// The text of `a`, made again when `a` is not the address it was made from.
    #[inline]
    pub fn of(&mut self, a: SocketAddr) -> AddrText {
        match self.0 {
            Some((last, text)) if last == a => text,
            _ => {
                let text = AddrText::of(a);
                self.0 = Some((a, text));
                text
            }
        }
    }
}

/// The text of the clients' addresses of the last rows, each in a place picked by its port:
/// a busy client's connections take turns (dense-50k: 32 connections in a round, none twice
/// in a row, so a memo of the last address always missed and made each client's text again,
/// ~120 instructions a row). Keyed by the whole address, compared every time: a place taken by
/// another address is made again.
#[derive(Clone)]
pub struct RecentAddrs(Box<[LastAddr; RECENT_ADDRS]>);

/// Places of a [`RecentAddrs`]: dense-50k's 32 connections found their text in 92% of rows
/// with 128 (76% with 64: ports hashed into fewer places collide).
const RECENT_ADDRS: usize = 128;
/// A hash's top bits pick the place.
const PLACE_SHIFT: u32 = 32 - RECENT_ADDRS.ilog2();

impl Default for RecentAddrs {
    fn default() -> RecentAddrs {
        RecentAddrs(Box::new([LastAddr::default(); RECENT_ADDRS]))
    }
}

impl RecentAddrs {
    /// The text of `a` (see [`LastAddr::of`]), from the place its port picks.
    #[inline]
    pub fn of(&mut self, a: SocketAddr) -> AddrText {
        // Fibonacci hashing: a client's ephemeral ports, a few apart, spread over the places.
        let place = (u32::from(a.port()).wrapping_mul(0x9E37_79B1) >> PLACE_SHIFT) as usize;
        match self.0.get_mut(place) {
            Some(last) => last.of(a),
            None => AddrText::of(a),
        }
    }
}

/// A writer's memo of what request rows repeat: the clients' and the server's address text
/// (see [`RecentAddrs`], [`LastAddr`]), and a query target redaction leaves alone
/// ([`QuietQuery`]).
#[derive(Clone, Default)]
pub struct AddrMemo {
    pub client: RecentAddrs,
    pub server: LastAddr,
    pub target: QuietQuery,
}

/// The last target with a query that [`Redactor::target`] left as it was: a client repeats its
/// listing's target (`/bucket?list-type=2&prefix=…`), and looking for a secret among its
/// pairs cost ~700 instructions each time (dense-50k: a fifth of the targets, 3.1 M). Keyed by
/// the whole target, compared every time.
#[derive(Clone, Default)]
pub struct QuietQuery(String);

impl QuietQuery {
    /// [`Redactor::target`] of `target`.
    pub fn redacted<'a>(&mut self, redactor: Redactor, target: &'a str) -> Cow<'a, str> {
        if !redactor.on || !redact::has_query(target) || self.0 == target {
            return Cow::Borrowed(target);
        }
        let redacted = redact::redact_query_target(target);
        if let Cow::Borrowed(_) = redacted {
            self.0.clear();
            self.0.push_str(target);
        }
        redacted
    }
}

impl std::fmt::Write for AddrText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let at = usize::from(self.len);
        let end = at + s.len();
        let room = self.buf.get_mut(at..end).ok_or(std::fmt::Error)?;
        room.copy_from_slice(s.as_bytes());
        self.len = end as u8;
        Ok(())
    }
}

impl std::ops::Deref for AddrText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for AddrText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for AddrText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for AddrText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// "0" to "255": each octet's digits (then zeros) and how many there are.
const OCTETS: [([u8; 3], u8); 256] = {
    let mut t = [([0u8; 3], 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let (h, d, u) = ((i / 100) as u8, (i / 10 % 10) as u8, (i % 10) as u8);
        t[i] = match i {
            0..=9 => ([b'0' + u, 0, 0], 1),
            10..=99 => ([b'0' + d, b'0' + u, 0], 2),
            _ => ([b'0' + h, b'0' + d, b'0' + u], 3),
        };
        i += 1;
    }
    t
};

/// `00` to `99`, the two ASCII digits as a little-endian `u16` (the first digit first).
const DIGIT_PAIRS: [u16; 100] = {
    let mut t = [0u16; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = (b'0' + (i / 10) as u8) as u16 | ((b'0' + (i % 10) as u8) as u16) << 8;
        i += 1;
    }
    t
};

/// A port's decimal digits (no leading zeros) in the first bytes of eight, zeros after them,
/// and how many digits: one fixed-size store writes them (a digit at a time, each with its
/// bounds check, made an address cost a sixth more).
fn port_digits(port: u16) -> ([u8; 8], usize) {
    let n = u32::from(port);
    let width = match n {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    };
    // The first digit, then two pairs from a table (`n` is at most 65535).
    let (hi, lo) = (n / 100, n % 100);
    let pair = |k: u32| u64::from(DIGIT_PAIRS.get(k as usize).copied().unwrap_or(0));
    let x = u64::from(b'0' + (hi / 100) as u8) | pair(hi % 100) << 8 | pair(lo) << 24;
    // The leading zeros dropped: the digits move to the front, zeros fill in behind them.
    ((x >> (8 * (5 - width))).to_le_bytes(), width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::FindingKind;
    use crate::time::Timestamp;
    use proptest::prelude::*;

    /// Targets and texts the memos below are asked about: repeated, with and without a query,
    /// with a secret, with `=`, `<` or `@` that redaction leaves alone or not.
    const TEXTS: [&str; 8] = [
        "/b/k",
        "/b?list-type=2&prefix=dir%2F",
        "/b?list-type=2&prefix=dir%2G",
        "/b/k?X-Amz-Signature=abc&x=1",
        "/b/k?x-amz-credential=AKIAIOSFODNN7EXAMPLE%2F2026",
        "/b/k?Signature=%3Credacted%3E",
        "http://u:p@h/b?versionId=3",
        "/b/k?a=<x>",
    ];

    proptest! {
        /// Through the memo, a target is redacted as [`Redactor::target`] redacts it, whatever
        /// came before it.
        #[test]
        fn the_quiet_query_memo_redacts_as_the_redactor(
            picks in proptest::collection::vec(0..TEXTS.len(), 1..30),
            on in any::<bool>(),
        ) {
            let redactor = Redactor { on };
            let mut memo = QuietQuery::default();
            for i in picks {
                let t = TEXTS[i];
                prop_assert_eq!(memo.redacted(redactor, t), redactor.target(t), "{}", t);
            }
        }

        /// Through the memo, a text is quiet exactly when the check says so.
        #[test]
        fn the_quiet_text_memo_is_the_check(
            picks in proptest::collection::vec(0..TEXTS.len(), 1..30),
        ) {
            let mut memo = QuietText::default();
            for i in picks {
                let t = TEXTS[i];
                prop_assert_eq!(memo.quiet(t), !redact::text_redaction_may_change(t), "{}", t);
            }
        }

        /// Recent clients' text is each address's own, whichever addresses share a place.
        #[test]
        fn recent_addresses_are_each_ones_text(
            picks in proptest::collection::vec((0u8..3, 0u16..300), 1..200),
        ) {
            let mut memo = RecentAddrs::default();
            for (host, port) in picks {
                // Ports 128 apart, and hosts on the same port: some share a place.
                let a = SocketAddr::from(([10, 0, 0, host], 40_000 + port * 128 % 1000));
                let text = memo.of(a);
                prop_assert_eq!(text.as_str(), a.to_string());
            }
        }
    }

    /// The address memo gives the text of the address asked about: another address after a
    /// hit is written afresh, and the memo made from it.
    #[test]
    fn the_address_memo_follows_the_address() {
        let mut memo = AddrMemo::default();
        for a in [
            "10.0.0.7:40000",
            "10.0.0.7:40000",
            "10.0.0.7:40001",
            "10.0.0.8:40001",
            "[::1]:40001",
            "10.0.0.7:40000",
            "10.0.0.7:40000",
        ] {
            let sa: SocketAddr = a.parse().unwrap();
            assert_eq!(memo.client.of(sa).as_str(), a);
            assert_eq!(memo.server.of(sa), AddrText::of(sa));
        }
        let mut r = Request::sample(1, Timestamp(0), "10.0.0.7:40000", "10.0.0.9:80");
        let mut other = Request::sample(2, Timestamp(0), "10.0.0.6:40000", "10.0.0.9:81");
        let on = Redactor { on: true };
        let first = on.take_request(&mut r, &mut memo);
        let second = on.take_request(&mut other, &mut memo);
        assert_eq!(
            (first.client.as_str(), first.server.as_str()),
            ("10.0.0.7:40000", "10.0.0.9:80")
        );
        assert_eq!(
            (second.client.as_str(), second.server.as_str()),
            ("10.0.0.6:40000", "10.0.0.9:81")
        );
    }

    #[test]
    fn hints_quoting_the_wire_are_redacted_and_static_ones_kept() {
        let r = Request::sample(1, Timestamp(0), "10.0.0.7:40000", "10.0.0.9:80");
        let mut f = Finding::for_request(FindingKind::CredentialsInCleartext, &r, None);
        f.hint = "see https://h/b/k?X-Amz-Signature=0123abcd"
            .to_string()
            .into();
        let on = Redactor { on: true };
        let row = on.finding(f.clone(), Severity::Warning);
        assert!(!row.hint.contains("0123abcd"), "{}", row.hint);
        assert!(row.hint.contains("X-Amz-Signature="), "{}", row.hint);
        let off = Redactor { on: false }.finding(f.clone(), Severity::Warning);
        assert!(off.hint.contains("0123abcd"));
        f.hint = Cow::Borrowed(crate::policy::hints::credentials_hint(true, false, false));
        let row = on.finding(f, Severity::Warning);
        assert!(matches!(row.hint, Cow::Borrowed(_)));
        assert!(
            row.hint
                .starts_with("a request signature crossed the network")
        );
    }

    /// A finding's row made with its request's row is the row made alone: plain and presigned
    /// targets, IPv4 and IPv6, redaction on and off; a row of another request is not used.
    #[test]
    fn a_finding_row_from_its_request_row_is_the_same_row() {
        let json = |f: &FindingRecord| serde_json::to_string(f).unwrap();
        for (client, server) in [
            ("10.0.0.7:40000", "10.0.0.9:80"),
            ("[fe80::1%2]:5000", "[::1]:80"),
        ] {
            for target in ["/b1/k1", "/b1/k1?X-Amz-Signature=0123abcd&versionId=3"] {
                for on in [true, false] {
                    let redactor = Redactor { on };
                    let mut r = Request::sample(7, Timestamp(0), client, server);
                    r.target = target.into();
                    let f = Finding::for_request(FindingKind::CredentialsInCleartext, &r, None);
                    let row = redactor.request(r);
                    let alone = redactor.finding(f.clone(), Severity::Warning);
                    let after = redactor.finding_after(f.clone(), Severity::Warning, Some(&row));
                    assert_eq!(json(&after), json(&alone), "{target} {on}");
                    assert_eq!(
                        alone.seen.as_deref().unwrap().contains("0123abcd"),
                        !on && target.contains('?')
                    );
                    let other = Request::sample(8, Timestamp(0), "10.9.9.9:1", "10.9.9.8:2");
                    let other = redactor.request(other);
                    let after = redactor.finding_after(f, Severity::Warning, Some(&other));
                    assert_eq!(json(&after), json(&alone), "{target} {on}");
                }
            }
        }
    }

    /// Every octet's text from the table, at every place in an address.
    #[test]
    fn every_octet_reads_as_display_writes_it() {
        for o in 0..=255u8 {
            for (ip, port) in [
                ([o, 0, 0, 0], 0),
                ([1, o, 2, 3], 65535),
                ([255, 255, 255, o], 9),
            ] {
                let sa = SocketAddr::from((ip, port));
                assert_eq!(AddrText::of(sa).as_str(), sa.to_string());
                let text = AddrText::of(sa);
                let (padded, n) = text.padded();
                assert!(padded[n..].iter().all(|&b| b == 0));
            }
        }
    }

    #[test]
    fn addresses_read_as_display_writes_them() {
        for a in [
            "0.0.0.0:0",
            "127.0.0.1:8443",
            "255.255.255.255:65535",
            "10.0.100.9:80",
            "[::1]:443",
            "[fe80::1%2]:5000",
            "[2001:db8::ff00:42:8329]:1",
            "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535",
            "[::ffff:255.255.255.255%4294967295]:65535",
        ] {
            let sa: SocketAddr = a.parse().unwrap();
            assert_eq!(AddrText::of(sa).as_str(), sa.to_string(), "{a}");
        }
    }

    #[test]
    fn every_port_reads_as_display_writes_it() {
        for port in 0..=u16::MAX {
            let sa = SocketAddr::from(([192, 168, 100, 255], port));
            let t = AddrText::of(sa);
            assert_eq!(t.as_str(), sa.to_string());
            let (buf, len) = t.padded();
            assert!(
                buf[len..].iter().all(|&b| b == 0),
                "{sa}: zeros after the text"
            );
        }
    }
}
