//! Redaction of secrets, applied once before any renderer sees a value.
//!
//! What goes: SigV4/SigV2 signatures, session tokens, presigned-URL signatures and tokens, cookies,
//! SSE-C keys. What stays: the *shape*, so a reader can still tell how a request was
//! authenticated — the access key id is shortened to its first four characters (enough to tell
//! `AKIA` long-term keys from `ASIA` temporary ones) and the credential scope (date, region,
//! service) is kept: `Credential=AKIA…/20260101/us-east-1/s3/aws4_request, Signature=<redacted>`.
//! Everything that is not a secret is kept byte-identical, percent-encoding included.

use std::borrow::Cow;

use crate::recent::Recent;

/// What replaces a secret value.
pub const REDACTED: &str = "<redacted>";

/// Headers whose whole value is a secret.
const SECRET_HEADERS: &[&str] = &[
    "x-amz-security-token",
    "cookie",
    "set-cookie",
    "x-amz-server-side-encryption-customer-key",
    "x-amz-copy-source-server-side-encryption-customer-key",
];

/// Query parameters (and free-text `name=value` pairs) whose value is a secret: SigV4 presigned
/// URLs (`X-Amz-Signature`, `X-Amz-Security-Token`) and SigV2 query auth (`Signature`).
const SECRET_PARAMS: &[&str] = &["x-amz-signature", "x-amz-security-token", "signature"];

/// Parameters whose value starts with an access key id, shortened rather than removed.
const KEY_ID_PARAMS: &[&str] = &["x-amz-credential", "awsaccesskeyid", "credential"];

/// One header value, redacted according to its (case-insensitive) name.
pub fn redact_header<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    let is = |n: &str| n.eq_ignore_ascii_case(name);
    if is("authorization") || is("proxy-authorization") {
        Cow::Owned(redact_authorization(value))
    } else if SECRET_HEADERS.iter().any(|h| is(h)) {
        Cow::Borrowed(REDACTED)
    } else {
        // Location, Referer and friends may carry a presigned URL.
        redact_text(value)
    }
}

/// An `Authorization` value redacted, as [`redact_header`] redacts it, in its own buffer when
/// it can: a signed request's header most often starts as one of the last few did (see
/// [`RECENT_SIGV4`]), and then only its signature changes, to `<redacted>`.
pub fn redact_authorization_owned(value: String) -> String {
    RECENT_SIGV4
        .with_borrow_mut(|recent| match recent.covering(&value) {
            Some(prefix) => Ok(prefix.shown_redacted(value)),
            None => Err(value),
        })
        .unwrap_or_else(|value| redact_authorization(&value))
}

/// An `Authorization` value: SigV4 (`AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
/// Signature=…`, SigV4a alike), SigV2 (`AWS AKID:signature`), or any other scheme (its
/// credentials go, the scheme name stays).
fn redact_authorization(value: &str) -> String {
    let trimmed = value.trim_start();
    let (scheme, rest) = trimmed.split_once(' ').unwrap_or((trimmed, ""));
    if scheme.starts_with("AWS4-") {
        return sigv4_shape(value).unwrap_or_else(|| redact_text(value).into_owned());
    }
    if scheme == "AWS" {
        // SigV2: `AWS AccessKeyId:Signature`.
        let akid = rest.trim().split(':').next().unwrap_or("");
        return format!("AWS {}:{REDACTED}", shorten_key_id(akid));
    }
    if rest.is_empty() {
        return REDACTED.to_string();
    }
    format!("{scheme} {REDACTED}")
}

/// The common SigV4 header, `SCHEME Credential=C, SignedHeaders=H, Signature=S`, redacted in one
/// pass (every signed request has one: the general scan costs ten times more). None for any other
/// shape, or a part holding a character the general scan would treat differently: then the
/// general scan decides. Both give the same text (a test holds them to it).
fn sigv4_shape(value: &str) -> Option<String> {
    if let Some(out) = RECENT_SIGV4.with_borrow_mut(|recent| recent.redact(value)) {
        return Some(out);
    }
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.strip_prefix("Credential=")?;
    // Each part ends at its first comma: a comma inside one would fail the checks below anyway
    // (the general scan then decides).
    let (credential, rest) = rest.split_at(memchr::memchr(b',', rest.as_bytes())?);
    let rest = rest.strip_prefix(", SignedHeaders=")?;
    let (signed, rest) = rest.split_at(memchr::memchr(b',', rest.as_bytes())?);
    let signature = rest.strip_prefix(SIGNATURE)?;
    if !(sigv4_all(scheme, STARTS)
        && sigv4_all(credential, WHOLE)
        && sigv4_all(signed, QUIET)
        && sigv4_all(signature, WHOLE))
    {
        return None;
    }
    let mut out = String::with_capacity(value.len());
    for part in [scheme, " Credential="] {
        out.push_str(part);
    }
    push_short_credential(&mut out, credential);
    for part in [", SignedHeaders=", signed, SIGNATURE] {
        out.push_str(part);
    }
    RECENT_SIGV4
        .with_borrow_mut(|recent| recent.keep(&value[..value.len() - signature.len()], &out));
    out.push_str(REDACTED);
    Some(out)
}

const SIGNATURE: &str = ", Signature=";

fn sigv4_all(part: &str, class: u8) -> bool {
    part.bytes()
        .all(|b| SIGV4_BYTES[usize::from(b)] & class != 0)
}

/// [`sigv4_all`] of a signature with [`WHOLE`]: hex digits (what a signature is) are all
/// WHOLE, and a test of every byte for them, without a table, is a few vector compares per
/// sixteen bytes; anything else is looked up.
fn sigv4_signature(part: &str) -> bool {
    let hex = |b: u8| b.wrapping_sub(b'0') < 10 || (b | 0x20).wrapping_sub(b'a') < 6;
    part.bytes().fold(true, |all, b| all & hex(b)) || sigv4_all(part, WHOLE)
}

thread_local! {
    /// The last few SigV4 headers [`sigv4_shape`] redacted, up to their signature. A client signs
    /// every request with the same key and scope, and its operations with a few sets of signed
    /// headers (boto3: `host;x-amz-content-sha256;x-amz-date` for a GetObject or a
    /// DeleteObject, with `content-md5` or its checksum fields for a PutObject, with
    /// `x-amz-copy-source` for a CopyObject), so the next header most often starts with the text
    /// of one of them; then only its signature is new, and it is not shown. (On a request-dense
    /// capture the one-pass redaction was a tenth of the report thread; remembering only the
    /// last header, a client cycling through five operations made it again at three requests in
    /// five, ~1,000 instructions each.)
    static RECENT_SIGV4: std::cell::RefCell<RecentSigV4> = const {
        std::cell::RefCell::new(RecentSigV4(Recent::new()))
    };
}

/// SigV4 headers remembered: several clients' (a key each) times their few sets of signed
/// headers.
const SIGV4_PREFIXES: usize = 8;

/// The SigV4 prefixes [`RECENT_SIGV4`] holds.
struct RecentSigV4(Recent<SigV4Prefix, SIGV4_PREFIXES>);

impl RecentSigV4 {
    /// The prefix `value` starts with (then a signature alone), if one is remembered.
    #[inline(always)]
    fn covering(&mut self, value: &str) -> Option<&SigV4Prefix> {
        self.0.find(|p| p.covers(value)).map(|p| &*p)
    }

    /// `value` redacted, when it starts with a remembered prefix.
    fn redact(&mut self, value: &str) -> Option<String> {
        self.covering(value)
            .map(|p| p.shown_redacted(String::with_capacity(p.shown.len() + REDACTED.len())))
    }

    /// Remember a prefix, as sent and as shown: in a new place, or the oldest one's (its
    /// buffers reused).
    fn keep(&mut self, sent: &str, shown: &str) {
        let new = || SigV4Prefix {
            sent: sent.to_string(),
            shown: shown.to_string(),
        };
        self.0.keep(new, |oldest| {
            oldest.sent.clear();
            oldest.sent.push_str(sent);
            oldest.shown.clear();
            oldest.shown.push_str(shown);
        });
    }

    /// Forget every prefix (tests start from none).
    #[cfg(test)]
    fn forget(&mut self) {
        self.0 = Recent::new();
    }
}

/// A SigV4 header up to and with `, Signature=`: as sent, and as [`sigv4_shape`] showed it.
struct SigV4Prefix {
    sent: String,
    shown: String,
}

impl SigV4Prefix {
    /// `value` is the remembered prefix and then a signature alone. Then scheme, credential and
    /// signed headers are those already checked (each part ends at the first comma, and every
    /// comma up to the signature is in the prefix), so only the signature is left to check.
    fn covers(&self, value: &str) -> bool {
        !self.sent.is_empty()
            && value
                .strip_prefix(self.sent.as_str())
                .is_some_and(sigv4_signature)
    }

    /// The prefix as shown, then the signature redacted, in `out`'s buffer (emptied first).
    fn shown_redacted(&self, mut out: String) -> String {
        out.clear();
        out.push_str(&self.shown);
        out.push_str(REDACTED);
        out
    }
}

/// [`sigv4_shape`]'s byte classes. QUIET: no `=` (no other pair), `<` (no XML) or `@` (no
/// userinfo), and visible ASCII; WHOLE: quiet and not where the general scan ends a value
/// ([`ends_value`]); STARTS: quiet and not where it starts a name ([`starts_name`]).
const QUIET: u8 = 1;
const WHOLE: u8 = 2;
const STARTS: u8 = 4;
const SIGV4_BYTES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0x21; // visible ASCII: 0x21..=0x7e
    while b < 0x7f {
        let c = b as u8;
        if !matches!(c, b'=' | b'<' | b'@') {
            t[b] = QUIET;
            if !matches!(
                c,
                b'&' | b',' | b';' | b'"' | b'\'' | b'<' | b'>' | b'#' | b')'
            ) {
                t[b] |= WHOLE;
            }
            if !matches!(c, b'?' | b'&' | b',' | b';' | b'"' | b'\'' | b'(' | b'>') {
                t[b] |= STARTS;
            }
        }
        b += 1;
    }
    t
};

/// An access key id → its first four characters and an ellipsis (`AKIAIOSFODNN7EXAMPLE` →
/// `AKIA…`). Empty stays empty.
pub fn shorten_key_id(akid: &str) -> String {
    if akid.is_empty() {
        return String::new();
    }
    let cut = akid.char_indices().nth(4).map_or(akid.len(), |(i, _)| i);
    format!("{}…", &akid[..cut])
}

/// A request target (origin- or absolute-form): secret query parameters redacted, the rest kept
/// byte-identical. Parameter names are matched case-insensitively (SigV2 presigning sends
/// `x-amz-security-token` in lower case, SigV4 `X-Amz-Security-Token`).
pub fn redact_target(target: &str) -> Cow<'_, str> {
    match has_query(target) {
        true => redact_query_target(target),
        false => Cow::Borrowed(target),
    }
}

/// Whether a target has a query, the only part [`redact_target`] may change. Most targets
/// have none: eight bytes at a time tell (targets are short, and memchr's set-up cost more
/// than the scan).
pub fn has_query(target: &str) -> bool {
    has_byte(target.as_bytes(), b'?')
}

/// [`redact_target`] of a target with a query.
pub fn redact_query_target(target: &str) -> Cow<'_, str> {
    let Some(at) = target.bytes().position(|b| b == b'?') else {
        return Cow::Borrowed(target);
    };
    let (path, query) = (&target[..at], &target[at + 1..]);
    // Most queries hold no secret: look for one before copying anything (the copy was most of
    // this function's cost on a request-dense capture).
    if !query_holds_secret(query) {
        return Cow::Borrowed(target);
    }
    let mut out = String::with_capacity(target.len());
    out.push_str(path);
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((name, value)) => {
                let new = redact_param(name, value);
                out.push_str(name);
                out.push('=');
                out.push_str(new.as_deref().unwrap_or(value));
            }
            None => out.push_str(pair),
        }
    }
    Cow::Owned(out)
}

/// Whether `bytes` holds `needle`: eight bytes at a time, a word's bytes equal to the needle
/// made zero and the zero bytes found by the borrow trick (exact: `(x - 0x01…) & !x & 0x80…`
/// is nonzero exactly when a byte of `x` is zero), then the last few one by one.
fn has_byte(bytes: &[u8], needle: u8) -> bool {
    let pattern = LO * u64::from(needle);
    let (words, rest) = bytes.as_chunks::<8>();
    let mut hit = 0;
    for &w in words {
        hit |= zero_byte(u64::from_le_bytes(w) ^ pattern);
    }
    hit != 0 || rest.contains(&needle)
}

/// Whether a `&`-separated query has a pair [`redact_param`] redacts: one pass over its bytes,
/// each pair's name (up to its first `=`) asked about only when it is as long as a secret
/// parameter's name (`list-type`, `prefix`, `uploadId`, … are not).
fn query_holds_secret(query: &str) -> bool {
    let bytes = query.as_bytes();
    let mut start = 0;
    let mut eq = None;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'&' {
            if pair_is_secret(query, start, eq, i) {
                return true;
            }
            start = i + 1;
            eq = None;
        } else if b == b'=' && eq.is_none() {
            eq = Some(i);
        }
    }
    pair_is_secret(query, start, eq, bytes.len())
}

/// The lengths of the names in [`SECRET_PARAMS`] and [`KEY_ID_PARAMS`], as a bit set.
const SECRET_NAME_LENGTHS: u64 = {
    let mut set = 0u64;
    let mut i = 0;
    while i < SECRET_PARAMS.len() {
        set |= 1 << SECRET_PARAMS[i].len();
        i += 1;
    }
    let mut i = 0;
    while i < KEY_ID_PARAMS.len() {
        set |= 1 << KEY_ID_PARAMS[i].len();
        i += 1;
    }
    set
};

/// Whether the pair `query[start..end]`, its first `=` at `eq`, is one [`redact_param`]
/// redacts.
fn pair_is_secret(query: &str, start: usize, eq: Option<usize>, end: usize) -> bool {
    let Some(eq) = eq else {
        return false;
    };
    let len = eq - start;
    if len >= 64 || SECRET_NAME_LENGTHS & (1 << len) == 0 {
        return false;
    }
    match (query.get(start..eq), query.get(eq + 1..end)) {
        (Some(name), Some(value)) => redact_param(name, value).is_some(),
        _ => false,
    }
}

/// The redacted value of one `name=value` pair, or None when it is not a secret.
fn redact_param(name: &str, value: &str) -> Option<String> {
    let named = |list: &[&str]| list.iter().any(|p| p.eq_ignore_ascii_case(name));
    if named(SECRET_PARAMS) {
        return (value != REDACTED).then(|| REDACTED.to_string());
    }
    if named(KEY_ID_PARAMS) {
        return Some(shorten_credential(value)).filter(|v| v != value);
    }
    None
}

/// `AKID/20260101/us-east-1/s3/aws4_request` (or with `/` percent-encoded as `%2F`) → the key id
/// shortened, the scope kept as it was written.
fn shorten_credential(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_short_credential(&mut out, value);
    out
}

/// [`shorten_credential`] onto `out`.
fn push_short_credential(out: &mut String, value: &str) {
    let end = key_id_end(value);
    let (akid, scope) = value.split_at(end);
    if akid.ends_with('…') || akid.is_empty() {
        out.push_str(value); // already shortened (redaction is idempotent), or no key id
        return;
    }
    let cut = akid.char_indices().nth(4).map_or(akid.len(), |(i, _)| i);
    out.push_str(&akid[..cut]);
    out.push('…');
    out.push_str(scope);
}

/// Where the key id of a credential value ends: at the first `/` or `%2F`.
fn key_id_end(value: &str) -> usize {
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' {
            return i;
        }
        if bytes[i] == b'%'
            && value
                .get(i + 1..i + 3)
                .is_some_and(|h| h.eq_ignore_ascii_case("2f"))
        {
            return i;
        }
        i += 1;
    }
    bytes.len()
}

/// Free text that may embed a URL, an `Authorization`-like string or an S3 error document:
/// `name=value` pairs named like secrets (see [`redact_target`]) and the `<SignatureProvided>` /
/// `<AWSAccessKeyId>` elements of `SignatureDoesNotMatch` errors are redacted.
pub fn redact_text(s: &str) -> Cow<'_, str> {
    // Every step needs one of these bytes (`name=value`, `<Element>`, `user:pass@host`): most
    // texts (hints, `seen` lines, User-Agents) have none, and one pass tells.
    if !may_redact_text(s) {
        return Cow::Borrowed(s);
    }
    let mut cur = Cow::Borrowed(s);
    for step in [redact_pairs, redact_xml, redact_userinfo] {
        if let Cow::Owned(o) = step(&cur) {
            cur = Cow::Owned(o);
        }
    }
    cur
}

/// Whether [`redact_text`] may change `s`: only a text with a `=`, `<` or `@` can be. Eight
/// bytes at a time ([`zero_byte`] of the word against each), then the last few one by one: the
/// texts asked about come by the hundred thousand and are short, and for those memchr3's
/// dispatch and set-up cost several times the scan (and a fold over the bytes, twice this).
pub fn may_redact_text(s: &str) -> bool {
    let (words, rest) = s.as_bytes().as_chunks::<8>();
    let mut hit = 0;
    for &w in words {
        let x = u64::from_le_bytes(w);
        hit |= zero_byte(x ^ EQ) | zero_byte(x ^ LT) | zero_byte(x ^ AT);
    }
    hit != 0 || rest.iter().any(|b| matches!(b, b'=' | b'<' | b'@'))
}

/// A byte of ones in each of a word's eight bytes.
const LO: u64 = 0x0101_0101_0101_0101;

/// Nonzero exactly when a byte of `x` is zero (the borrow trick: `(x - 0x01…) & !x & 0x80…`;
/// a borrow may mark a byte above a zero one too, never a word without one).
fn zero_byte(x: u64) -> u64 {
    x.wrapping_sub(LO) & !x & 0x8080_8080_8080_8080
}

/// Whether [`redact_text`] may change `s`, told more finely than by [`may_redact_text`]: a
/// `<` or `@` may start an element or a userinfo, but a `=` matters only after a secret's
/// name (a pair is redacted only when its name, case aside, is one of [`SECRET_PARAMS`] or
/// [`KEY_ID_PARAMS`], and then the text before its `=` ends with that name). A query's `=` (a
/// fifth of the `seen` lines of a request-dense capture) then costs no redaction pass.
///
/// Also exact for a text joined from parts checked one by one, when each part starts the text
/// or follows a byte no name holds (` `, `/`): a name cannot run across such a joint.
///
/// One pass, eight bytes at a time, the last few gathered into one word (`tail_word`); a
/// word with any `<`, `@` or `=` (most have none) is then looked at closely. Three parts of
/// every request's `seen` line are asked about: a scan byte by byte and memchr's set-up for
/// each `=` cost ~135 instructions a part, 6% of the report thread.
pub fn text_redaction_may_change(s: &str) -> bool {
    let b = s.as_bytes();
    let (words, rest) = b.as_chunks::<8>();
    let mut at = 0;
    for &w in words {
        let x = u64::from_le_bytes(w);
        if marked(x) && word_may_change(b, at, x) {
            return true;
        }
        at += 8;
    }
    let x = tail_word(rest);
    marked(x) && word_may_change(b, at, x)
}

const EQ: u64 = LO * b'=' as u64;
const LT: u64 = LO * b'<' as u64;
const AT: u64 = LO * b'@' as u64;

/// Whether the word may hold a `<`, `@` or `=` (never false when it does).
#[inline(always)]
fn marked(x: u64) -> bool {
    zero_byte(x ^ EQ) | zero_byte(x ^ LT) | zero_byte(x ^ AT) != 0
}

/// [`text_redaction_may_change`] for the eight bytes `x` of `b` from `at` (zeros past its end,
/// which match none of `<`, `@`, `=`).
#[cold]
#[inline(never)]
fn word_may_change(b: &[u8], at: usize, x: u64) -> bool {
    if zero_byte(x ^ LT) | zero_byte(x ^ AT) != 0 {
        return true;
    }
    let mut eqs = exact_zero_bytes(x ^ EQ);
    while eqs != 0 {
        let eq = at + (eqs.trailing_zeros() / 8) as usize;
        if ends_with_secret_name(b.get(..eq).unwrap_or(b)) {
            return true;
        }
        eqs &= eqs - 1;
    }
    false
}

/// The high bit of each zero byte of `x`, and of no other (unlike [`zero_byte`], no borrow
/// runs into the byte above: each byte's low seven bits are added apart).
fn exact_zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// The bytes of `tail` (fewer than eight) as a little-endian word, zeros after them: two
/// overlapping loads of four (or three single bytes) instead of a loop or a `memcpy` call.
fn tail_word(tail: &[u8]) -> u64 {
    let n = tail.len();
    let byte = |i: usize| u64::from(tail.get(i).copied().unwrap_or(0)) << (8 * i);
    let half = |i: usize| {
        tail.get(i..i + 4)
            .and_then(|h| h.try_into().ok())
            .map_or(0, |h| u64::from(u32::from_le_bytes(h)) << (8 * i))
    };
    match n {
        0 => 0,
        1..4 => byte(0) | byte(n / 2) | byte(n - 1),
        // The two halves overlap on equal bytes: or-ing them keeps each byte.
        _ => half(0) | half(n - 4),
    }
}

/// `before` ends with (case aside) the name of a pair that is redacted.
fn ends_with_secret_name(before: &[u8]) -> bool {
    // Every name ends in `e`, `n`, `l` or `d`: most of a query's names (`list-type` aside)
    // are told apart by their last byte.
    if !matches!(
        before.last().map(|b| b | 0x20),
        Some(b'e' | b'n' | b'l' | b'd')
    ) {
        return false;
    }
    SECRET_PARAMS.iter().chain(KEY_ID_PARAMS).any(|name| {
        before.len() >= name.len()
            && before
                .get(before.len() - name.len()..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case(name.as_bytes()))
    })
}

/// `scheme://user:password@host` (a proxy URL in a command line, say) → the password redacted
/// (RFC 3986 §3.2.1 deprecates passwords in URLs for this reason).
fn redact_userinfo(s: &str) -> Cow<'_, str> {
    if !s.contains('@') {
        return Cow::Borrowed(s);
    }
    let mut out = String::new();
    let mut done = 0;
    let mut search = 0;
    while let Some(rel) = s.get(search..).and_then(|t| t.find("://")) {
        let start = search + rel + 3;
        search = start;
        let authority_end = s[start..]
            .find(|c: char| matches!(c, '/' | '?' | '#') || ends_value(c))
            .map_or(s.len(), |i| start + i);
        let authority = &s[start..authority_end];
        let Some(at) = authority.rfind('@') else {
            continue;
        };
        let Some(colon) = authority[..at].find(':') else {
            continue;
        };
        if &authority[colon + 1..at] == REDACTED {
            continue;
        }
        out.push_str(&s[done..start + colon + 1]);
        out.push_str(REDACTED);
        done = start + at;
        search = authority_end;
    }
    if done == 0 {
        return Cow::Borrowed(s);
    }
    out.push_str(&s[done..]);
    Cow::Owned(out)
}

/// Characters that end a value inside free text.
fn ends_value(c: char) -> bool {
    c.is_whitespace() || matches!(c, '&' | ',' | ';' | '"' | '\'' | '<' | '>' | '#' | ')')
}

/// Characters after which a `name=` may start.
fn starts_name(c: char) -> bool {
    c.is_whitespace() || matches!(c, '?' | '&' | ',' | ';' | '"' | '\'' | '(' | '>')
}

fn redact_pairs(s: &str) -> Cow<'_, str> {
    if !s.contains('=') {
        return Cow::Borrowed(s);
    }
    let mut out = String::new();
    let mut done = 0; // bytes of `s` already copied to `out`
    let mut search = 0;
    while let Some(rel) = s.get(search..).and_then(|t| t.find('=')) {
        let eq = search + rel;
        search = eq + 1;
        let name_start = s[..eq]
            .char_indices()
            .rev()
            .find(|&(_, c)| starts_name(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        if name_start < done {
            continue;
        }
        let name = &s[name_start..eq];
        let value_end = s[eq + 1..]
            .char_indices()
            .find(|&(_, c)| ends_value(c))
            .map_or(s.len(), |(i, _)| eq + 1 + i);
        if s[eq + 1..].starts_with(REDACTED) {
            continue; // already redacted: `<` would otherwise end an empty value
        }
        let value = &s[eq + 1..value_end];
        if let Some(new) = redact_param(name, value) {
            out.push_str(&s[done..eq + 1]);
            out.push_str(&new);
            done = value_end;
            search = value_end;
        }
    }
    if done == 0 {
        return Cow::Borrowed(s);
    }
    out.push_str(&s[done..]);
    Cow::Owned(out)
}

/// S3's `SignatureDoesNotMatch` error echoes the signature and the key id.
fn redact_xml(s: &str) -> Cow<'_, str> {
    let mut cur = Cow::Borrowed(s);
    if !s.contains('<') {
        return cur;
    }
    const ELEMENTS: [(&str, &str, bool); 2] = [
        ("<SignatureProvided>", "</SignatureProvided>", false),
        ("<AWSAccessKeyId>", "</AWSAccessKeyId>", true),
    ];
    for (open, close, shorten) in ELEMENTS {
        let Some(a) = cur.find(open).map(|i| i + open.len()) else {
            continue;
        };
        let Some(b) = cur[a..].find(close).map(|i| a + i) else {
            continue;
        };
        let inner = &cur[a..b];
        let new = if shorten {
            shorten_credential(inner)
        } else {
            REDACTED.to_string()
        };
        if new != inner {
            cur = Cow::Owned(format!("{}{new}{}", &cur[..a], &cur[b..]));
        }
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated with botocore 1.44.8 (S3SigV4Auth.add_auth, generate_presigned_url) and the AWS
    // documentation's example key pair.
    const SIGV4_AUTH: &str = "AWS4-HMAC-SHA256 Credential=ASIAIOSFODNN7EXAMPLE/20261129/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=1967dcd0ac753b612cc3fc6b9e5f5069a9502e9d811742acb78905fe7130bc01";
    const PRESIGNED_V4: &str = "/b1/dir/a%20b.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261129T160335Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLETOKEN%2Babc%2Fdef%3D%3D&X-Amz-Signature=2eb59c20e600f73e7c63e28baaca3064e19d238d9a133159965318dcc06362cc";
    const PRESIGNED_V2: &str = "http://s3.local.test:8080/b1/dir/a%20b.txt?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=fB58BSkcEuxjrhd0cvoTYOMf48Y%3D&x-amz-security-token=IQoJb3JpZ2luX2VjEXAMPLETOKEN%2Babc%2Fdef%3D%3D&Expires=1795968811";

    #[test]
    fn sigv4_byte_classes_agree_with_the_general_scan() {
        for b in 0..=255u8 {
            let quiet = b.is_ascii_graphic() && !matches!(b, b'=' | b'<' | b'@');
            let class = SIGV4_BYTES[usize::from(b)];
            assert_eq!(class & QUIET != 0, quiet, "{b}");
            assert_eq!(
                class & WHOLE != 0,
                quiet && !ends_value(char::from(b)),
                "{b}"
            );
            assert_eq!(
                class & STARTS != 0,
                quiet && !starts_name(char::from(b)),
                "{b}"
            );
        }
    }

    /// The quick tests are the table's and memchr3's, byte by byte.
    #[test]
    fn quick_tests_agree_with_the_exact_ones() {
        for b in 0..=255u8 {
            let one = [b];
            let Ok(text) = std::str::from_utf8(&one) else {
                continue;
            };
            assert_eq!(sigv4_signature(text), sigv4_all(text, WHOLE), "{b}");
            assert_eq!(
                may_redact_text(text),
                memchr::memchr3(b'=', b'<', b'@', &one).is_some(),
                "{b}"
            );
        }
        let long = format!("{}=", "a".repeat(70));
        assert!(may_redact_text(&long) && !may_redact_text(&long[..70]));
        assert!(sigv4_signature(&"0123456789abcdefABCDEF".repeat(3)));
        assert!(!sigv4_signature("0123456789abcdef,"));
    }

    /// The header redacted in its own buffer is the header redacted: the first SigV4 header, the
    /// same again (the remembered prefix), a new signature, one the quick test refuses, other
    /// schemes.
    #[test]
    fn an_owned_authorization_is_redacted_as_the_header_is() {
        RECENT_SIGV4.with_borrow_mut(RecentSigV4::forget);
        for v in [
            SIGV4_AUTH.to_string(),
            SIGV4_AUTH.to_string(),
            SIGV4_AUTH.replace("Signature=1967", "Signature=2967"),
            SIGV4_AUTH.replace("Signature=1967", "Signature=19&7"),
            SIGV4_AUTH.replace("Signature=1967", "Signature=1967@"),
            format!(" {SIGV4_AUTH}"),
            "AWS AKIAIOSFODNN7EXAMPLE:fB58BSkcEuxjrhd0cvoTYOMf48Y=".to_string(),
            "Bearer abc.def".to_string(),
        ] {
            let expected = redact_header("authorization", &v).into_owned();
            assert_eq!(redact_authorization_owned(v.clone()), expected, "{v}");
            assert!(!expected.contains("1967dcd0"), "{v}");
        }
    }

    /// A client's headers with a few sets of signed headers, in turn: each redacted as the
    /// header is, and after the first of each set, from its remembered prefix (every set is
    /// still remembered after the others); more sets than are remembered, the oldest forgotten
    /// and made again, as the header is.
    #[test]
    fn a_client_cycling_through_signed_headers_is_redacted_from_its_prefixes() {
        RECENT_SIGV4.with_borrow_mut(RecentSigV4::forget);
        let with = |signed: &str, signature: usize| {
            SIGV4_AUTH
                .replace(
                    "host;x-amz-content-sha256;x-amz-date;x-amz-security-token",
                    signed,
                )
                .replace("1967dcd0", &format!("{signature:08x}"))
        };
        let sets = [
            "host;x-amz-date",
            "content-md5;host;x-amz-date",
            "host;x-amz-copy-source",
        ];
        let many: Vec<String> = (0..SIGV4_PREFIXES + 2)
            .map(|i| format!("host;x-h{i}"))
            .collect();
        let rounds: [Vec<&str>; 4] = [
            sets.to_vec(),
            sets.to_vec(),
            many.iter().map(String::as_str).collect(),
            sets.to_vec(),
        ];
        let mut signature = 0;
        for (round, signed) in rounds.iter().enumerate() {
            for set in signed {
                signature += 1;
                let v = with(set, signature);
                let remembered = RECENT_SIGV4.with_borrow_mut(|r| r.covering(&v).is_some());
                // The second round finds every set of the first remembered.
                assert_eq!(remembered, round == 1, "{v}");
                let expected = redact_header("authorization", &v).into_owned();
                assert_eq!(redact_authorization_owned(v.clone()), expected, "{v}");
                assert!(expected.ends_with("Signature=<redacted>"), "{v}");
            }
        }
    }

    #[test]
    fn sigv4_authorization_keeps_its_shape() {
        let r = redact_header("Authorization", SIGV4_AUTH);
        assert_eq!(
            r,
            "AWS4-HMAC-SHA256 Credential=ASIA…/20261129/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=<redacted>"
        );
        assert!(!r.contains("1967dcd0"));
        assert!(!r.contains("IOSFODNN7"));
    }

    /// The header redacted as the general scan redacts it as text (returned).
    fn as_the_general_scan(v: &str) -> String {
        let general = redact_text(v).into_owned();
        assert_eq!(redact_header("authorization", v), general, "{v}");
        general
    }

    /// The remembered prefix gives the text the whole pass gives: for the same header again, a
    /// new signature, a signature the one pass would refuse (then the general scan decides), and
    /// a header that shares only part of the prefix.
    #[test]
    fn a_remembered_sigv4_prefix_changes_nothing() {
        let first = SIGV4_AUTH.to_string();
        let cases = [
            first.clone(),
            first.replace("Signature=1967", "Signature=2967"),
            first.replace("Signature=1967", "Signature=19&7"),
            first.replace("Signature=1967", "Signature=1967@"),
            first.replace("x-amz-date", "x-amz-dat"),
            first.clone(),
            format!("{first}, Extra=1"),
        ];
        for v in &cases {
            assert!(!as_the_general_scan(v).contains("967"), "{v}");
        }
        RECENT_SIGV4.with_borrow_mut(RecentSigV4::forget);
        assert_eq!(
            sigv4_shape(&first).as_deref(),
            Some(redact_text(&first).as_ref())
        );
    }

    #[test]
    fn sigv4_in_one_pass_is_the_general_scan() {
        let variants = [
            SIGV4_AUTH.to_string(),
            SIGV4_AUTH.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"),
            SIGV4_AUTH.replace("ASIAIOSFODNN7EXAMPLE", "AKI"),
            SIGV4_AUTH.replace("ASIAIOSFODNN7EXAMPLE", ""),
            SIGV4_AUTH.replace("/20261129/", "%2F20261129%2F"),
            SIGV4_AUTH.replace("Signature=1967", "Signature="),
            "AWS4-HMAC-SHA256 Credential=AKIAX/s, SignedHeaders=host, Signature=".to_string(),
        ];
        for v in &variants {
            let general = as_the_general_scan(v);
            assert_eq!(sigv4_shape(v).as_deref(), Some(general.as_str()), "{v}");
        }
        // Shapes the one pass leaves to the general scan.
        for odd in [
            SIGV4_AUTH.replace(", Signature=", ",Signature="),
            SIGV4_AUTH.replace("host;", "host=;"),
            format!(" {SIGV4_AUTH}"),
            SIGV4_AUTH.replace("Credential=", "Credential=a b"),
        ] {
            assert_eq!(sigv4_shape(&odd), None, "{odd}");
            assert!(
                !redact_header("authorization", &odd).contains("1967dcd0"),
                "{odd}"
            );
        }
    }

    #[test]
    fn sigv2_authorization() {
        let r = redact_header(
            "authorization",
            "AWS AKIAIOSFODNN7EXAMPLE:fB58BSkcEuxjrhd0cvoTYOMf48Y=",
        );
        assert_eq!(r, "AWS AKIA…:<redacted>");
    }

    #[test]
    fn other_authorization_schemes_keep_only_the_scheme() {
        assert_eq!(
            redact_header("Authorization", "Bearer abc.def"),
            "Bearer <redacted>"
        );
        assert_eq!(
            redact_header("Proxy-Authorization", "Basic dXNlcjpwdw=="),
            "Basic <redacted>"
        );
        assert_eq!(redact_header("Authorization", "opaque"), "<redacted>");
    }

    #[test]
    fn whole_value_secrets() {
        for name in [
            "X-Amz-Security-Token",
            "Cookie",
            "set-cookie",
            "x-amz-server-side-encryption-customer-key",
        ] {
            assert_eq!(
                redact_header(name, "IQoJb3JpZ2luX2VjEXAMPLETOKEN+abc/def=="),
                REDACTED,
                "{name}"
            );
        }
    }

    #[test]
    fn harmless_headers_are_borrowed_unchanged() {
        let r = redact_header("x-amz-date", "20261129T160335Z");
        assert!(matches!(r, Cow::Borrowed("20261129T160335Z")));
        let r = redact_header("User-Agent", "Botocore/1.40.14 ua/2.1 os/linux#6.1");
        assert!(matches!(r, Cow::Borrowed(_)));
    }

    #[test]
    fn location_header_with_presigned_url_is_redacted() {
        let r = redact_header("Location", PRESIGNED_V2);
        assert!(r.contains("AWSAccessKeyId=AKIA…&Signature=<redacted>&x-amz-security-token=<redacted>&Expires=1795968811"));
    }

    #[test]
    fn presigned_v4_target() {
        let r = redact_target(PRESIGNED_V4);
        assert_eq!(
            r,
            "/b1/dir/a%20b.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA…%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261129T160335Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=<redacted>&X-Amz-Signature=<redacted>"
        );
        assert!(!r.contains("2eb59c20") && !r.contains("EXAMPLETOKEN") && !r.contains("IOSFODNN7"));
    }

    #[test]
    fn presigned_v2_absolute_target() {
        let r = redact_target(PRESIGNED_V2);
        assert_eq!(
            r,
            "http://s3.local.test:8080/b1/dir/a%20b.txt?AWSAccessKeyId=AKIA…&Signature=<redacted>&x-amz-security-token=<redacted>&Expires=1795968811"
        );
    }

    #[test]
    fn ordinary_targets_are_borrowed_byte_identical() {
        for t in [
            "/b1/k",
            "/b1?list-type=2&prefix=a%2Fb&delimiter=%2F",
            "/?x-id=ListBuckets",
            "/b?uploads",
            "/b?&&=",
        ] {
            let r = redact_target(t);
            assert!(matches!(r, Cow::Borrowed(_)), "{t}");
            assert_eq!(r, t);
        }
    }

    #[test]
    fn redaction_is_idempotent() {
        let once = redact_target(PRESIGNED_V4).into_owned();
        assert_eq!(redact_target(&once), once);
        let once = redact_header("authorization", SIGV4_AUTH).into_owned();
        assert_eq!(redact_header("authorization", &once), once);
    }

    #[test]
    fn free_text_with_url_and_error_document() {
        let text = format!("GET http://s3.local.test:8080{PRESIGNED_V4} failed");
        let r = redact_text(&text);
        assert!(r.ends_with("X-Amz-Signature=<redacted> failed"), "{r}");
        assert!(!r.contains("EXAMPLETOKEN"));
        let xml = "<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>AKIAIOSFODNN7EXAMPLE</AWSAccessKeyId><SignatureProvided>1967dcd0ac75</SignatureProvided></Error>";
        assert_eq!(
            redact_text(xml),
            "<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>AKIA…</AWSAccessKeyId><SignatureProvided><redacted></SignatureProvided></Error>"
        );
    }

    #[test]
    fn passwords_in_urls() {
        let argv = "s3wire run -- env HTTPS_PROXY=http://alice:s3cr3t@proxy.test:3128 aws s3 ls";
        let r = redact_text(argv);
        assert_eq!(
            r,
            "s3wire run -- env HTTPS_PROXY=http://alice:<redacted>@proxy.test:3128 aws s3 ls"
        );
        assert_eq!(redact_text(&r), r);
        for t in [
            "http://alice@proxy.test/",
            "https://h/p?q=a@b:c",
            "mailto:a@b",
            "http://[::1]:9000/x",
        ] {
            assert_eq!(redact_text(t), t, "{t}");
        }
    }

    #[test]
    fn free_text_leaves_lookalikes_alone() {
        for t in [
            "MySignature=abc",
            "no secrets here",
            "a=b&c=d",
            "Signature",
            "=",
            "é=ü&Signature",
        ] {
            assert_eq!(redact_text(t), t, "{t}");
        }
    }

    proptest::proptest! {
        #[test]
        fn total_and_idempotent_on_any_text(s in "(?s).{0,80}", pick in 0usize..4) {
            // Bias the input towards the syntax the redactor looks for.
            let bits = ["X-Amz-Signature=", "&Credential=", "http://a:b@", "<SignatureProvided>"];
            let s = format!("{}{s}", bits[pick]);
            let t = redact_text(&s).into_owned();
            proptest::prop_assert_eq!(redact_text(&t).into_owned(), t);
            let q = redact_target(&s).into_owned();
            proptest::prop_assert_eq!(redact_target(&q).into_owned(), q);
            let _ = redact_header("authorization", &s);
        }

        /// The word-at-a-time byte search agrees with looking at every byte.
        #[test]
        fn has_byte_agrees_with_contains(bytes in proptest::collection::vec(0u8..=255, 0..40), needle in 0u8..=255) {
            proptest::prop_assert_eq!(has_byte(&bytes, needle), bytes.contains(&needle));
        }

        /// The word-at-a-time test agrees with looking at every byte.
        #[test]
        fn may_redact_text_agrees_with_every_byte(s in "([a-z=<@]|é|\\PC){0,40}") {
            let every = s.bytes().any(|b| matches!(b, b'=' | b'<' | b'@'));
            proptest::prop_assert_eq!(may_redact_text(&s), every, "{}", s);
        }

        /// The one-pass query scan finds a secret exactly where splitting on `&` and `=` did.
        #[test]
        fn the_query_scan_agrees_with_splitting(
            q in "([a-zA-Z&=%-]|ignature|redential|ccesskeyid|-token|x-amz-|X-Amz-|é){0,16}",
        ) {
            let split = q.split('&').any(|pair| {
                pair.split_once('=')
                    .is_some_and(|(name, value)| redact_param(name, value).is_some())
            });
            proptest::prop_assert_eq!(query_holds_secret(&q), split, "{}", q);
        }

        /// The word-at-a-time fine test agrees with looking at every byte and every name.
        #[test]
        fn the_fine_test_agrees_with_every_byte(
            s in "(?s)([a-zA-Z=<@ /é-]|ignature|redential|ccesskeyid|-token|Signature=){0,24}",
        ) {
            let b = s.as_bytes();
            let secret_before = |eq: usize| {
                SECRET_PARAMS.iter().chain(KEY_ID_PARAMS).any(|name| {
                    b[..eq].to_ascii_lowercase().ends_with(name.as_bytes())
                })
            };
            let every = b.iter().any(|&c| c == b'<' || c == b'@')
                || (0..b.len()).any(|i| b[i] == b'=' && secret_before(i));
            proptest::prop_assert_eq!(text_redaction_may_change(&s), every, "{}", s);
        }

        /// Whatever the text, one the fine test calls quiet is left as it is.
        #[test]
        fn quiet_text_is_never_changed(
            s in "(?s)([a-zA-Z;&?= -]|ignature|redential|ccesskeyid|-token|<|@){0,24}",
        ) {
            if !text_redaction_may_change(&s) {
                proptest::prop_assert!(matches!(redact_text(&s), Cow::Borrowed(_)), "{}", s);
            }
        }
    }

    /// Queries with and without secrets: names of a secret's length that are not one, secrets
    /// first, last, alone, without a value, in any case, and already redacted.
    #[test]
    fn only_queries_with_a_secret_are_copied() {
        for (target, secret) in [
            ("/b?list-type=2&prefix=dir%2F", false),
            ("/b?signaturX=1&credentiaX=2", false),
            ("/b?Signature=abc", true),
            ("/b?a=1&SIGNATURE=abc", true),
            ("/b?x-amz-security-token=t&a=1", true),
            ("/b?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F2026", true),
            ("/b?X-Amz-Credential=AKIA…%2F2026", false),
            ("/b?Signature=<redacted>", false),
            ("/b?Signature", false),
            ("/b?=Signature&&", false),
            ("/b/Signature=abc", false),
            ("/b?a=b?Signature=abc", false),
            ("/b?a=b&Signature=x=y", true),
        ] {
            let redacted = redact_target(target);
            assert_eq!(matches!(redacted, Cow::Owned(_)), secret, "{target}");
            if !secret {
                assert_eq!(redacted, target);
            }
        }
    }

    /// The last few bytes gathered into a word are those bytes, in order, zeros after them;
    /// every name ends in a byte the quick look at a name's last byte lets through.
    #[test]
    fn a_texts_tail_word_is_its_bytes() {
        let bytes = b"\x01\x02\x03\x04\x05\x06\x07";
        for n in 0..8 {
            let mut word = [0u8; 8];
            word[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(tail_word(&bytes[..n]), u64::from_le_bytes(word), "{n}");
        }
        for name in SECRET_PARAMS.iter().chain(KEY_ID_PARAMS) {
            assert!(ends_with_secret_name(name.as_bytes()), "{name}");
            assert!(
                ends_with_secret_name(name.to_uppercase().as_bytes()),
                "{name}"
            );
        }
    }

    /// Text the fine test calls quiet is left as it is, whatever it holds: query strings,
    /// secrets' names in other places, pairs with and without them.
    #[test]
    fn text_the_fine_test_calls_quiet_is_never_changed() {
        for s in [
            "GET http://h/b?list-type=2&prefix=dir%2F",
            "GET http://h/b?X-Amz-Signature=abc",
            "GET http://h/b?x=1;signature=abc",
            "GET http://h/b?signatures=1&credentials=2",
            "PUT http://h/b/signature?x=credential",
            "GET http://h/b?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE",
            "GET http://h/b?awsaccesskeyid=AKIAIOSFODNN7EXAMPLE",
            "x-amz-security-token=abc",
            "Credential=AKIAIOSFODNN7EXAMPLE/2026",
            "user:pass@host",
            "<SignatureProvided>abc</SignatureProvided>",
            "=signature",
            "a=b=c",
        ] {
            let changed = matches!(redact_text(s), Cow::Owned(_));
            assert!(!changed || text_redaction_may_change(s), "{s}");
        }
        assert!(!text_redaction_may_change(
            "GET http://h/b?list-type=2&prefix=dir%2F"
        ));
        assert!(text_redaction_may_change(
            "GET http://h/b?x=1;Signature=abc"
        ));
    }

    #[test]
    fn short_and_unicode_key_ids_do_not_panic() {
        assert_eq!(shorten_key_id("AK"), "AK…");
        assert_eq!(shorten_key_id("ÄÖÜßxyz"), "ÄÖÜß…");
        assert_eq!(shorten_key_id(""), "");
        assert_eq!(
            redact_target("/?X-Amz-Credential=%2"),
            "/?X-Amz-Credential=%2…"
        );
    }
}
