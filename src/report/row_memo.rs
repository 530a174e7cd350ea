//! The values a sink's rows repeat, escaped once and kept from row to row ([`RowMemo`]), with
//! the versions a packed spool's entries are known by (see [`Entry`](super::packed::Entry)):
//! a client's requests repeat their Host, User-Agent, Authorization, operation and
//! addressing, and its findings their hint.

use super::fastjson::{HEADS, JsonBuf, string};
use super::rows::QuietSeen;
use crate::recent::Recent;
use crate::s3::Addressing;

/// A string's JSON text (quotes and escapes), kept with the string it was made from: values
/// that repeat from row to row (a client's Host, User-Agent, redacted Authorization, the
/// finding's hint) are escaped once and then copied. The memo is keyed by the whole string
/// (compared in full, every time): what it writes is always the escape of the string given.
pub struct Escaped {
    from: String,
    pub(super) json: Vec<u8>,
    /// Counts the texts the memo has held, from 1: a packed spool's entry for the text (see
    /// [`Entry`](super::packed::Entry)).
    pub(super) version: u64,
}

impl Default for Escaped {
    /// The empty string's text: a memo is never without the string it was made from.
    fn default() -> Escaped {
        Escaped {
            from: String::new(),
            json: b"\"\"".to_vec(),
            version: 1,
        }
    }
}

impl Escaped {
    /// The JSON text of `s`, made again when `s` is not the string it was made from.
    #[inline(always)]
    pub(super) fn of(&mut self, s: &str) -> &[u8] {
        if self.from != s {
            self.remake(s);
        }
        &self.json
    }

    #[cold]
    #[inline(never)]
    fn remake(&mut self, s: &str) {
        self.from.clear();
        self.from.push_str(s);
        self.json.clear();
        string(&mut self.json, s);
        self.version += 1;
    }
}

/// The JSON texts of the last few strings of a kind that a client's rows cycle through: the
/// redacted Authorization, whose signed headers differ by operation (boto3: a GetObject's, a
/// PutObject's with its checksum fields, a CopyObject's with `x-amz-copy-source`), so that a
/// memo of the last one alone made it again at three rows in five (a 200-byte escape each).
/// The one that served last is tried first, then the others; a new one takes the oldest's
/// place.
pub struct RecentEscaped(Recent<Escaped, RECENT_TEXTS>);

impl Default for RecentEscaped {
    fn default() -> RecentEscaped {
        RecentEscaped(Recent::new())
    }
}

/// Texts a [`RecentEscaped`] keeps.
pub(super) const RECENT_TEXTS: usize = 8;

impl RecentEscaped {
    /// The JSON text of `s`, made when it is not kept.
    #[inline(always)]
    pub(super) fn of(&mut self, s: &str) -> &[u8] {
        if self.0.find(|t| t.from == s).is_none() {
            self.make(s);
        }
        // Found or made, it is the one that served last.
        self.0.last().map_or(&[], |t| t.json.as_slice())
    }

    /// `s`'s text kept, in a new place or the oldest one's.
    #[cold]
    #[inline(never)]
    fn make(&mut self, s: &str) {
        let new = || {
            let mut text = Escaped::default();
            text.remake(s);
            text
        };
        self.0.keep(new, |oldest| oldest.remake(s));
    }
}

/// The JSON text of static names (a request's operation, from the model), the last few kept:
/// a client's requests cycle through a handful of operations, which a memo of the last one
/// missed four times in five. Keyed by address and length: static text never changes, so the
/// same address and length is the same text. Found by a scan (a few compares of two words
/// each; slots picked by a hash of the address collided on a capture of five operations).
#[derive(Default)]
pub struct StaticEscaped {
    /// Each name's address, length, text, and the number of names made before it, from 1 (its
    /// place and this are its packed spool entry: see [`Entry`](super::packed::Entry)).
    names: Vec<(usize, usize, Vec<u8>, u64)>,
    /// The name replaced next once [`STATIC_NAMES`] are kept.
    next: usize,
    made: u64,
}

/// Names a [`StaticEscaped`] keeps.
pub(super) const STATIC_NAMES: usize = 16;

impl StaticEscaped {
    /// The JSON text of `s`, made when it is not kept, with its place and version.
    #[inline(always)]
    pub(super) fn of(&mut self, s: &'static str) -> (usize, u64, &[u8]) {
        let at = s.as_ptr() as usize;
        let i = match self
            .names
            .iter()
            .position(|(p, n, _, _)| *p == at && *n == s.len())
        {
            Some(i) => i,
            None => self.make(s),
        };
        self.names
            .get(i)
            .map_or((i, 0, &[]), |(_, _, json, v)| (i, *v, json.as_slice()))
    }

    /// `s`'s text kept, in a new place or the oldest one's: where it is.
    #[cold]
    #[inline(never)]
    fn make(&mut self, s: &'static str) -> usize {
        let mut json = Vec::new();
        string(&mut json, s);
        self.made += 1;
        let entry = (s.as_ptr() as usize, s.len(), json, self.made);
        if self.names.len() < STATIC_NAMES {
            self.names.push(entry);
            return self.names.len() - 1;
        }
        let i = self.next % STATIC_NAMES;
        self.next = i + 1;
        if let Some(slot) = self.names.get_mut(i) {
            *slot = entry;
        }
        i
    }
}

/// The values a sink's rows repeat, escaped once (see [`Escaped`]). Not the method: a
/// client's requests mix them, and a memo that mostly misses costs more than the escaping.
/// The operation through [`StaticEscaped`].
///
/// And the versions of the packed spool's entries made of several of these ([`Joined`]).
pub struct RowMemo {
    pub(super) host: Escaped,
    pub(super) bucket: Escaped,
    pub(super) user_agent: Escaped,
    pub(super) authorization: RecentEscaped,
    pub(super) hint: Escaped,
    pub(super) operation: StaticEscaped,
    pub(super) addressing: AddressingText,
    pub(super) heads: [Joined; HEADS],
    pub(super) tail: Joined,
    /// The `seen` lines' parts text redaction leaves alone.
    pub(super) seen: QuietSeen,
}

impl Default for RowMemo {
    fn default() -> RowMemo {
        RowMemo {
            host: Escaped::default(),
            bucket: Escaped::default(),
            user_agent: Escaped::default(),
            authorization: RecentEscaped::default(),
            hint: Escaped::default(),
            operation: StaticEscaped::default(),
            addressing: AddressingText::default(),
            heads: [Joined::default(); HEADS],
            tail: Joined::default(),
            seen: QuietSeen::default(),
        }
    }
}

/// The version of a text made of the texts of a few sources (see
/// [`Entry`](super::packed::Entry)): counts the changes of their versions, from 1.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Joined {
    of: [u64; 4],
    version: u64,
}

impl Joined {
    #[inline(always)]
    pub(super) fn version(&mut self, of: [u64; 4]) -> u64 {
        if self.of != of || self.version == 0 {
            self.of = of;
            self.version += 1;
        }
        self.version
    }
}

impl JsonBuf {
    /// `"…"` of `s` as [`JsonBuf::string`] writes it, through `memo`.
    #[inline(always)]
    pub(super) fn string_memo(&mut self, s: &str, memo: &mut Escaped) {
        self.put(memo.of(s));
    }

    /// `null`, or `v` through `recent`.
    #[inline(always)]
    pub(super) fn opt_str_recent(&mut self, v: Option<&str>, recent: &mut RecentEscaped) {
        match v {
            Some(v) => self.put(recent.of(v)),
            None => self.put(b"null"),
        }
    }

    /// `null`, or `v` through `memo`: the version of the memo's text (0 for `null`).
    #[inline(always)]
    pub(super) fn opt_str_memo(&mut self, v: Option<&str>, memo: &mut Escaped) -> u64 {
        match v {
            Some(v) => {
                self.string_memo(v, memo);
                memo.version
            }
            None => {
                self.put(b"null");
                0
            }
        }
    }
}

/// `,"operation_note":null,"addressing":"…","status":` for the last addressing written (a
/// client's rows repeat it): one copy where there were five writes.
#[derive(Default)]
pub(super) struct AddressingText {
    of: Option<Addressing>,
    json: Vec<u8>,
}

impl AddressingText {
    #[inline(always)]
    pub(super) fn of(&mut self, a: Addressing) -> &[u8] {
        if self.of != Some(a) {
            self.remake(a);
        }
        &self.json
    }

    #[cold]
    #[inline(never)]
    fn remake(&mut self, a: Addressing) {
        self.of = Some(a);
        self.json.clear();
        self.json
            .extend_from_slice(b",\"operation_note\":null,\"addressing\":");
        // This program's own words (lower case and `-`): nothing to escape.
        string(&mut self.json, a.as_str());
        self.json.extend_from_slice(b",\"status\":");
    }
}
