//! Plain heads read in one pass. Nearly every head on the wire is plain: printable ASCII, lines
//! ending in CRLF, one space between the parts of the start line, `name: value` fields without
//! tabs or folding. Such a head is read here, its fields' spans and index made as its lines are
//! found, where httparse then `Headers::within` walked every field three times (httparse's
//! parse was ~60% of a request-dense capture's HTTP layer).
//!
//! A name the connection's last heads had (`Names`) is known by one compare.
//!
//! This reading is only a shortcut: it gives what `head.rs` gives with httparse for every head
//! it reads, and says [`Plain::Unsure`] for any other (a tab, a byte past ASCII, a bare LF, two
//! spaces, a folded line, a malformed head, more than [`USUAL_HEADERS`] fields), which httparse
//! then reads as before. Tests hold the two together on arbitrary input, cut at every byte.

use super::head::USUAL_HEADERS;
use super::{
    Field, Headers, HttpExchange, HttpRequest, HttpResponse, Index, KNOWN_METHODS, KNOWN_REASONS,
    Span, Token, token,
};
use crate::time::Timestamp;

/// What reading a head the plain way found.
#[derive(Debug)]
pub(crate) enum Plain<M> {
    /// The head is whole at the start of the input: the message and the head's length.
    Whole(M, usize),
    /// Every byte of the input is as a plain head has it, and the head goes on past it:
    /// httparse would not complete it either.
    Short,
    /// Not a plain head (or not a head at all): httparse decides.
    Unsure,
}

/// Why reading stopped before the head was whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Short,
    Unsure,
}

type Read<T> = Result<T, Stop>;

impl<M> Plain<M> {
    /// The message made into another, the reading's outcome kept.
    pub(crate) fn map<N>(self, f: impl FnOnce(M) -> N) -> Plain<N> {
        match self {
            Plain::Whole(m, len) => Plain::Whole(f(m), len),
            Plain::Short => Plain::Short,
            Plain::Unsure => Plain::Unsure,
        }
    }
}

impl<M> From<Read<(M, usize)>> for Plain<M> {
    fn from(read: Read<(M, usize)>) -> Self {
        match read {
            Ok((m, len)) => Plain::Whole(m, len),
            Err(Stop::Short) => Plain::Short,
            Err(Stop::Unsure) => Plain::Unsure,
        }
    }
}

/// [`request_into`] a new exchange, its request made into a `T` (the request itself, or the
/// boxed exchange it is reported in when no exchange was given back to read into: see
/// `reader.rs`).
pub(crate) fn request<T>(input: &[u8], ts: Timestamp, names: &mut Names) -> Plain<T>
where
    T: From<HttpRequest>,
{
    let mut ex = unread();
    request_into(input, ts, names, &mut ex).map(|()| T::from(ex.request))
}

/// An exchange with nothing read into it yet, room for the usual fields made.
fn unread() -> HttpExchange {
    HttpExchange {
        request: HttpRequest {
            ts: Timestamp::ZERO,
            method: Token::Borrowed(""),
            target: String::new(),
            version: 1,
            headers: Headers::with_room(16),
            body_len: None,
            cut: None,
        },
        interim: Vec::new(),
        response: None,
    }
}

/// A request head at the start of `input` (`method SP target SP HTTP/1.x CRLF`, RFC 9112 §3),
/// its names looked up in `names` (the last request's on the connection) first, read into `ex`:
/// a new exchange, or one given back once its record was made (`super::spare`), whose head's
/// text and spans are written over in the room they already have. The rest of the exchange is
/// set as a new one's is.
pub(crate) fn request_into(
    input: &[u8],
    ts: Timestamp,
    names: &mut Names,
    ex: &mut HttpExchange,
) -> Plain<()> {
    let mut read = || -> Read<((), usize)> {
        let line = request_line(input)?;
        let len = fields_into(input, line.next, names, &mut ex.request.headers)?;
        let r = &mut ex.request;
        r.ts = ts;
        r.method = token(line.method, &KNOWN_METHODS);
        r.target = line.target.to_string();
        r.version = line.version;
        r.body_len = None;
        r.cut = None;
        ex.interim.clear();
        ex.response = None;
        Ok(((), len))
    };
    read().into()
}

/// A response head at the start of `input` (`HTTP/1.x SP code SP reason CRLF`, RFC 9112 §4),
/// as [`request`] reads one (its box, see `reader.rs`). Unless `keep`, the fields of a 2xx, 4xx
/// or 5xx response framed the usual way are not kept, only the length they give (see
/// [`framing_fields`]).
pub(crate) fn response<T>(input: &[u8], ts: Timestamp, names: &mut Names, keep: bool) -> Plain<T>
where
    T: From<HttpResponse>,
{
    let mut read = || -> Read<(T, usize)> {
        let line = status_line(input)?;
        let framed = match keep || !matches!(line.code, 200..300 | 400..600) {
            true => None,
            false => framing_fields(input, line.next, names)?,
        };
        let (headers, framing_length, len) = match framed {
            Some((length, len)) => (Headers::default(), Some(length), len),
            None => {
                let (headers, len) = fields(input, line.next, names)?;
                (headers, None, len)
            }
        };
        let response = HttpResponse {
            ts,
            status: line.code,
            reason: token(line.reason, &KNOWN_REASONS),
            version: line.version,
            headers,
            framing_length,
            body_len: None,
            body_prefix: Vec::new(),
        };
        Ok((T::from(response), len))
    };
    read().into()
}

struct RequestLine<'a> {
    method: &'a str,
    target: &'a str,
    version: u8,
    /// Where the fields start.
    next: usize,
}

fn request_line(input: &[u8]) -> Read<RequestLine<'_>> {
    let (method, method_end) = ascii_run(input, 0, Run::Token);
    if byte(input, method_end)? != b' ' || method_end == 0 {
        return Err(Stop::Unsure);
    }
    let target_start = method_end + 1;
    let (target, target_end) = ascii_run(input, target_start, Run::Target);
    if byte(input, target_end)? != b' ' || target_end == target_start {
        return Err(Stop::Unsure);
    }
    let (version, after) = version(input, target_end + 1)?;
    Ok(RequestLine {
        method,
        target,
        version,
        next: crlf(input, after)?,
    })
}

struct StatusLine<'a> {
    version: u8,
    code: u16,
    reason: &'a str,
    next: usize,
}

fn status_line(input: &[u8]) -> Read<StatusLine<'_>> {
    let (version, after) = version(input, 0)?;
    if byte(input, after)? != b' ' {
        return Err(Stop::Unsure);
    }
    let code = code(input, after + 1)?;
    let after = after + 4;
    let (reason, next) = match byte(input, after)? {
        // More than one space before the reason is read by httparse.
        b' ' if byte(input, after + 1)? == b' ' => return Err(Stop::Unsure),
        b' ' => {
            let (reason, end) = ascii_run(input, after + 1, Run::Printable);
            (reason, crlf(input, end)?)
        }
        b'\r' => ("", crlf(input, after)?),
        _ => return Err(Stop::Unsure),
    };
    Ok(StatusLine {
        version,
        code,
        reason,
        next,
    })
}

/// `HTTP/1.0` or `HTTP/1.1` at `at`: the minor version and where it ends. Fewer bytes that
/// begin `HTTP/1.` are short of it (httparse waits for the digit too). Compared as one word:
/// byte by byte, ~12 instructions more a head.
fn version(input: &[u8], at: usize) -> Read<(u8, usize)> {
    const HTTP_1_1: u64 = u64::from_le_bytes(*b"HTTP/1.1");
    const HTTP_1_0: u64 = u64::from_le_bytes(*b"HTTP/1.0");
    let rest = input.get(at..).unwrap_or_default();
    let Some(word) = rest.first_chunk::<8>() else {
        return Err(match b"HTTP/1.".starts_with(rest) {
            true => Stop::Short,
            false => Stop::Unsure,
        });
    };
    match u64::from_le_bytes(*word) {
        HTTP_1_1 => Ok((1, at + 8)),
        HTTP_1_0 => Ok((0, at + 8)),
        _ => Err(Stop::Unsure),
    }
}

/// A three-digit status code at `at`.
fn code(input: &[u8], at: usize) -> Read<u16> {
    (at..at + 3).try_fold(0u16, |n, i| {
        let digit = byte(input, i)?.wrapping_sub(b'0');
        match digit <= 9 {
            true => Ok(n * 10 + u16::from(digit)),
            false => Err(Stop::Unsure),
        }
    })
}

/// The fields from `first` to the empty line, and the head's length.
fn fields(input: &[u8], first: usize, names: &mut Names) -> Read<(Headers, usize)> {
    let mut headers = Headers::with_room(16);
    let len = fields_into(input, first, names, &mut headers)?;
    Ok((headers, len))
}

/// [`fields`] written into `headers` (over what it held, in the room it has); the head's
/// length. On an error, `headers` holds no fields.
#[inline(always)]
fn fields_into(
    input: &[u8],
    first: usize,
    names: &mut Names,
    headers: &mut Headers,
) -> Read<usize> {
    // Read from the first field's name on (where the kept text starts), so that a place in
    // `input` is already a span's offset (subtracting the start from each cost ~5 instructions
    // a field): below the input's length, they fit a span's 32 bits when it does.
    u32::try_from(input.len()).map_err(|_| Stop::Unsure)?;
    let input = input.get(first..).ok_or(Stop::Short)?;
    let (text, spans) = headers.cleared();
    let mut index = Index::default();
    let read = each_field(input, names, |n, at, colon, known, field| {
        index.note_field(n, known);
        spans.push(Span {
            start: at as u32,
            name_end: colon as u32,
            value_start: field.value_start as u32,
            end: field.value_end as u32,
        });
    });
    let (len, last_end) = read.inspect_err(|_| spans.clear())?;
    let Some(region) = input.get(..last_end) else {
        spans.clear();
        return Err(Stop::Unsure);
    };
    // Not checked again: every byte of the region was read as ASCII (a name's `tchar`s, its
    // colon, a value's printable bytes, a line's CR LF), and checking it again cost ~90
    // instructions a head.
    debug_assert!(region.is_ascii());
    // SAFETY: the region is ASCII (above), and ASCII is valid UTF-8.
    text.push_str(unsafe { std::str::from_utf8_unchecked(region) });
    headers.set_index(index);
    Ok(first + len)
}

/// [`fields`] for a head whose fields are not kept: read by the same loop, only the body's
/// length taken from them, as `framing::usual_length` takes it: `Some(length)` (`None` for no
/// Content-Length) when the head is the usual one; `None` for any other, which [`fields`] then
/// reads whole.
fn framing_fields(
    input: &[u8],
    first: usize,
    names: &mut Names,
) -> Read<Option<(Option<u64>, usize)>> {
    u32::try_from(input.len()).map_err(|_| Stop::Unsure)?;
    let input = input.get(first..).ok_or(Stop::Short)?;
    let mut coded = false;
    let mut lengths = 0;
    // Where the (first) Content-Length's value lies.
    let mut length = (0, 0);
    let (len, _) = each_field(input, names, |_, _, _, known, field| match known {
        Some(Field::TransferEncoding) => coded = true,
        Some(Field::ContentLength) => {
            if lengths == 0 {
                length = (field.value_start, field.value_end);
            }
            lengths += 1;
        }
        _ => {}
    })?;
    let value = (lengths > 0).then(|| input.get(length.0..length.1).unwrap_or_default());
    Ok(super::framing::usual(coded, lengths, value).map(|length| (length, first + len)))
}

/// The one loop that reads a head's fields, from the start of `input` to the empty line, for
/// [`fields`] and [`framing_fields`] alike (so a head is whole, short or not plain the same
/// way for both, and as long): each field, once its line is read, is given to `field` with
/// its number, where its line starts, its name's colon and what the name is. The head's
/// length, and where the last field's value ends.
#[inline(always)]
fn each_field(
    input: &[u8],
    names: &mut Names,
    mut field: impl FnMut(usize, usize, usize, Option<Field>, &FieldLine),
) -> Read<(usize, usize)> {
    let mut n = 0;
    let mut last_end = 0;
    let mut at = 0;
    loop {
        if byte(input, at)? == b'\r' {
            return Ok((crlf(input, at)?, last_end));
        }
        let (colon, known) = names.name(input, at)?;
        let line = field_line(input, colon)?;
        if n == USUAL_HEADERS {
            return Err(Stop::Unsure);
        }
        field(n, at, colon, known, &line);
        n += 1;
        last_end = line.value_end;
        at = line.next;
    }
}

/// Where the parts of one field line after its colon lie.
struct FieldLine {
    /// The value without the spaces around it (empty where the line ends when it is only
    /// spaces, as httparse has it).
    value_start: usize,
    value_end: usize,
    /// The next line's start.
    next: usize,
}

/// The rest of a field line (`name: value` CRLF, RFC 9112 §5) from the colon after its name.
/// Each boundary is tested once where it is found, the usual case first: one space before the
/// value, none after it. Trimming by searching the value from both ends cost ~31 instructions
/// a field, this ~12.
#[inline(always)]
fn field_line(input: &[u8], colon: usize) -> Read<FieldLine> {
    let mut value_start = colon + 1;
    if input.get(value_start) == Some(&b' ') {
        value_start += 1;
    }
    if input.get(value_start) == Some(&b' ') {
        value_start = spaces_end(input, value_start);
    }
    // Spaces are printable: the line ends at or after the value's start.
    let line_end = printable_end(input, value_start);
    let next = crlf(input, line_end)?;
    let mut value_end = line_end;
    if value_end > value_start && input.get(value_end - 1) == Some(&b' ') {
        value_end = spaces_start(input, value_start, value_end);
    }
    Ok(FieldLine {
        value_start,
        value_end,
        next,
    })
}

/// Where the run of spaces that ends at `end` (after a value: rare) begins, not before `from`.
#[cold]
fn spaces_start(input: &[u8], from: usize, end: usize) -> usize {
    let run = input.get(from..end).unwrap_or_default();
    end - run.iter().rev().take_while(|&&b| b == b' ').count()
}

/// Field names under 32 bytes one direction of a connection sent lately, and which [`Field`]
/// each is. A client or a server on a kept-alive connection sends the same names head after
/// head: a name that is one of these, found by where the first colon of its line is and one
/// or two compares, is not read again as a run of `tchar`s, nor its `Field` looked for (~60
/// instructions a field). Only a cache: a head is read the same with any `Names` (a test holds
/// the two together).
#[derive(Debug, Default)]
pub(crate) struct Names {
    /// Each name in the pair of slots of its length plus its first byte, the newer first (by
    /// length alone, `User-Agent` and `x-amz-date` took each other's): the name and its colon
    /// as sixteen little-endian bytes, zero past them (all zero for none: a name is never
    /// empty). Two to a pair: with one slot each of sixteen, three pairs of boto3's names
    /// shared one (`Accept-Encoding` and `amz-sdk-request`, `User-Agent` and `Content-Type`,
    /// `Authorization` and `Content-MD5`: a letter's case is 32 apart) and took each other's
    /// place at every request (an SDK-shaped capture, 25,000 requests: the analysis thread's
    /// instructions 235.2 -> 227.7 M; the request-dense one's, whose names each had a slot,
    /// 194.5 -> 194.8 M).
    slots: [[Name; 2]; 8],
    /// Names of 16 to 31 bytes, two to the pair of slots [`long_slot`] gives, the newer
    /// first: every S3 request has one (`x-amz-content-sha256`, 20 bytes; a copy's
    /// `x-amz-copy-source`), and read again each time it cost ~115 instructions more than a
    /// remembered name (3.5 M on a capture of 25,000 requests). Their colon is past the
    /// sixteen bytes a short name is looked for in: the long ones are looked at only then.
    long: [[LongName; 2]; 4],
}

/// The pair of slots of a long name of `len` bytes whose line starts with `low`: its length
/// plus its bytes 0 and 9 (9 is past the prefixes the SDKs' long names share, `x-amz-` and
/// `amz-sdk-`), their case folded. Each SDK's long names (boto3's, the JavaScript, Go and Java
/// SDKs', up to eight on one request) then fall at most two to a pair, so all of them are
/// remembered at once (a test holds it so). By length plus first byte, as the short names'
/// slots are, a PutObject's `x-amz-checksum-crc32` and `x-amz-sdk-checksum-algorithm` took the
/// slot of the `X-Amz-Content-SHA256` every request has, and the next request read it again.
fn long_slot(len: usize, low: &Chunk) -> usize {
    (len + usize::from(low[0] | 32) + usize::from(low[9] | 32)) % 4
}

/// A long name and its colon as 32 bytes, zero past them (all zero for none).
#[derive(Debug, Default, Clone, Copy)]
struct LongName {
    bytes: [Chunk; 2],
    field: Option<Field>,
}

/// The slot of a name of `len` bytes whose line starts with `line`.
fn slot(len: usize, line: u128) -> usize {
    (len + usize::from(line as u8)) % 8
}

/// Bytes, not a `u128`: its alignment made a slot 32 bytes, not 17.
#[derive(Debug, Default, Clone, Copy)]
struct Name {
    bytes: [u8; 16],
    field: Option<Field>,
}

/// The low `len` bytes of a word of sixteen, for `len` from 0 to 16 (a table: shifting a
/// 128-bit word by a variable cost ~20 instructions).
fn low_bytes(len: usize) -> u128 {
    const LOW: [u128; 17] = {
        let mut low = [0; 17];
        let mut len = 1;
        while len <= 16 {
            low[len] = u128::MAX >> (128 - 8 * len);
            len += 1;
        }
        low
    };
    LOW.get(len).copied().unwrap_or(u128::MAX)
}

impl Names {
    /// The colon that ends the field name at `at`, and which [`Field`] the name is: known when
    /// the name is the one last seen of its length, else read (and remembered).
    #[inline(always)]
    fn name(&mut self, input: &[u8], at: usize) -> Read<(usize, Option<Field>)> {
        let chunk = input.get(at..).and_then(|rest| rest.first_chunk::<16>());
        let line = chunk.map(|bytes| u128::from_le_bytes(*bytes));
        if let (Some(chunk), Some(line)) = (chunk, line) {
            let len = lanes::colons(chunk).trailing_zeros() as usize;
            // A remembered name (with its colon) fills its bytes: equal only to itself. An
            // empty slot (all zero) is never equal: the line's bytes compared end in a colon.
            if let Some([newer, older]) = self.slots.get(slot(len, line))
                && len < 16
            {
                let name = line & low_bytes(len + 1);
                if name == u128::from_le_bytes(newer.bytes) {
                    return Ok((at + len, newer.field));
                }
                if name == u128::from_le_bytes(older.bytes) {
                    return Ok((at + len, older.field));
                }
            }
        }
        self.other_name(input, at)
    }

    /// [`Names::name`] for a name that is not a short one remembered: a long one remembered,
    /// else read. Not inlined: inlined into the loop over a head's fields, it cost the short
    /// names' path ~5 instructions a field (1.3 M on the capture above).
    #[inline(never)]
    fn other_name(&mut self, input: &[u8], at: usize) -> Read<(usize, Option<Field>)> {
        match self.long_name(input, at) {
            Some((len, field)) => Ok((at + len, field)),
            None => self.read_name(input, at),
        }
    }

    /// [`Names::name`] for a name not remembered: read, then remembered. Not inlined into
    /// [`Names::other_name`]: its registers made a long name's lookup ~80 instructions, not
    /// ~50.
    #[inline(never)]
    fn read_name(&mut self, input: &[u8], at: usize) -> Read<(usize, Option<Field>)> {
        let colon = name_colon(input, at)?;
        let field = Field::of(input.get(at..colon).unwrap_or_default());
        self.remember(input.get(at..).unwrap_or_default(), colon - at, field);
        Ok((colon, field))
    }

    /// The length and [`Field`] of the long name at `at`, when it is the one last seen of its
    /// length. A remembered name's 32 bytes hold no colon before its own and none after it:
    /// equal only to the same name, ended by its colon where it was (as for short names).
    #[inline(always)]
    fn long_name(&self, input: &[u8], at: usize) -> Option<(usize, Option<Field>)> {
        let (low, high) = halves(input.get(at..)?)?;
        let len = 16 + lanes::colons(high).trailing_zeros() as usize;
        if len >= 32 {
            return None;
        }
        let [newer, older] = self.long.get(long_slot(len, low))?;
        let (low, high) = long_words(low, high, len);
        let words = [low, high];
        if words == newer.bytes {
            return Some((len, newer.field));
        }
        (words == older.bytes).then_some((len, older.field))
    }

    /// Remember the name of `len` bytes (read, and ended by a colon) that `rest` starts with.
    fn remember(&mut self, rest: &[u8], len: usize, field: Option<Field>) {
        let line = rest
            .first_chunk::<16>()
            .map(|bytes| u128::from_le_bytes(*bytes));
        if len < 16
            && let Some(line) = line
            && let Some(set) = self.slots.get_mut(slot(len, line))
        {
            set[1] = set[0];
            set[0] = Name {
                bytes: (line & low_bytes(len + 1)).to_le_bytes(),
                field,
            };
        } else if (16..32).contains(&len)
            && let Some((low, high)) = halves(rest)
            && let Some(set) = self.long.get_mut(long_slot(len, low))
        {
            let (low, high) = long_words(low, high, len);
            set[1] = set[0];
            set[0] = LongName {
                bytes: [low, high],
                field,
            };
        }
    }
}

/// The first 32 bytes of `rest`, as two chunks of sixteen.
fn halves(rest: &[u8]) -> Option<(&Chunk, &Chunk)> {
    let (low, after) = rest.split_first_chunk::<16>()?;
    Some((low, after.first_chunk::<16>()?))
}

/// A long name of `len` bytes and its colon, from the two chunks its line starts with, as
/// [`LongName`] keeps it.
fn long_words(low: &Chunk, high: &Chunk, len: usize) -> (Chunk, Chunk) {
    let high = u128::from_le_bytes(*high) & low_bytes((len + 1).saturating_sub(16));
    (*low, high.to_le_bytes())
}

/// The end of the run of spaces at `at` (more than one before a value: rare).
#[cold]
fn spaces_end(input: &[u8], at: usize) -> usize {
    let run = input.get(at..).unwrap_or_default();
    at + run.iter().take_while(|&&b| b == b' ').count()
}

/// The colon that ends the field name at `at`: letters, digits and `-` (nearly every name is
/// only those) sixteen bytes a step, then any other `tchar` byte by byte. An empty name, or one
/// ended by any other byte, is httparse's to read.
#[inline(always)]
fn name_colon(input: &[u8], at: usize) -> Read<usize> {
    let end = run_end(input, at, lanes::not_name, name_byte);
    match input.get(end) {
        Some(b':') if end > at => Ok(end),
        _ => other_name_colon(input, at, end),
    }
}

/// [`name_colon`] past the letters, digits and `-` at the name's start (`from`).
#[cold]
fn other_name_colon(input: &[u8], at: usize, from: usize) -> Read<usize> {
    let end = token_end(input, from);
    match byte(input, end)? {
        b':' if end > at => Ok(end),
        _ => Err(Stop::Unsure),
    }
}

/// The runs of a start line kept as text.
#[derive(Clone, Copy)]
enum Run {
    Token,
    Target,
    Printable,
}

/// The run of `run`'s bytes at `at` as text, and where it ends. Every byte such a run holds is
/// ASCII (a `tchar`, a target byte, a printable byte), so the text is not checked again: that
/// cost ~3 instructions a byte of the request line.
fn ascii_run(input: &[u8], at: usize, run: Run) -> (&str, usize) {
    let end = match run {
        Run::Token => token_end(input, at),
        Run::Target => target_end(input, at),
        Run::Printable => printable_end(input, at),
    };
    let bytes = input.get(at..end).unwrap_or_default();
    debug_assert!(bytes.is_ascii());
    // SAFETY: the run functions stop at the first byte not of their class, and no byte from
    // 0x80 is in any class: `bytes` is ASCII, which is valid UTF-8.
    (unsafe { std::str::from_utf8_unchecked(bytes) }, end)
}

/// The byte at `at`; past the input, the head is short of it.
fn byte(input: &[u8], at: usize) -> Read<u8> {
    input.get(at).copied().ok_or(Stop::Short)
}

/// The end of a line at `at`: CR LF (a bare LF or a lone CR is httparse's to read). The two
/// bytes compared at once, with one bounds test: every line of a head ends here.
#[inline(always)]
fn crlf(input: &[u8], at: usize) -> Read<usize> {
    match input.get(at..at + 2) {
        Some(b"\r\n") => Ok(at + 2),
        _ => other_line_end(input, at),
    }
}

/// [`crlf`] where the line does not end in CR LF, or the input ends before it does.
#[cold]
fn other_line_end(input: &[u8], at: usize) -> Read<usize> {
    match (byte(input, at)?, byte(input, at + 1)) {
        (b'\r', Ok(b'\n')) => Ok(at + 2),
        (b'\r', Err(stop)) => Err(stop),
        _ => Err(Stop::Unsure),
    }
}

/// RFC 9110 §5.6.2 `tchar`, as httparse reads a method and a field name.
const TCHAR: [bool; 256] = {
    let mut map = [false; 256];
    let mut b = 0;
    while b < 256 {
        map[b] = matches!(b as u8,
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9'
            | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+'
            | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~');
        b += 1;
    }
    map
};

/// The end of the run of `tchar` bytes at `at`, byte by byte.
fn token_end(input: &[u8], at: usize) -> usize {
    let run = input.get(at..).unwrap_or_default();
    at + run
        .iter()
        .position(|&b| !TCHAR[usize::from(b)])
        .unwrap_or(run.len())
}

/// The end of the run of printable ASCII at `at` (a value, a reason).
fn printable_end(input: &[u8], at: usize) -> usize {
    run_end(input, at, lanes::unprintable, printable)
}

/// The end of a request target at `at`: printable ASCII but for the space that ends it.
fn target_end(input: &[u8], at: usize) -> usize {
    run_end(input, at, lanes::not_target, target_byte)
}

fn printable(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

fn target_byte(b: u8) -> bool {
    (0x21..0x7f).contains(&b)
}

fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Sixteen bytes, read at once by [`lanes`].
type Chunk = [u8; 16];

/// The end of the run at `at` of bytes `mask` leaves clear (sixteen at a time) and `keep`
/// accepts (the last few, byte by byte).
fn run_end(
    input: &[u8],
    mut at: usize,
    mask: impl Fn(&Chunk) -> u32,
    keep: impl Fn(u8) -> bool,
) -> usize {
    // The rest as a slice, not `at..at + 16`: that range's overflow cost a test a step.
    let mut rest = input.get(at..).unwrap_or_default();
    // Sixteen bytes a step: most runs (names, values but a signature) end in the first.
    while let Some((chunk, after)) = rest.split_first_chunk::<16>() {
        let marked = mask(chunk);
        if marked != 0 {
            return at + marked.trailing_zeros() as usize;
        }
        at += 16;
        rest = after;
        // Past them, thirty-two a step, one test for both halves: a long run (an
        // `Authorization` value of ~200 bytes) cost ~6 instructions less each 32 bytes.
        while let Some((pair, after)) = rest.split_first_chunk::<32>() {
            let (low, high) = pair.split_at(16);
            let (Some(low), Some(high)) = (low.first_chunk(), high.first_chunk()) else {
                break;
            };
            let marked = mask(low) | mask(high) << 16;
            if marked != 0 {
                return at + marked.trailing_zeros() as usize;
            }
            at += 32;
            rest = after;
        }
    }
    at + rest.iter().take_while(|&&b| keep(b)).count()
}

/// Bit `i` set for each byte `chunk[i]` that `bad` holds for: what [`lanes`] computes, byte by
/// byte.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn bits(chunk: &Chunk, bad: impl Fn(u8) -> bool) -> u32 {
    chunk
        .iter()
        .enumerate()
        .fold(0, |m, (i, &b)| m | (u32::from(bad(b)) << i))
}

/// The byte classes of a head, sixteen bytes at a time with SSE2 (on every x86-64 CPU): a byte
/// loop cost some six instructions a byte, a third of reading a head.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod lanes {
    use super::Chunk;
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_loadu_si128,
        _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    /// Bytes that are not printable ASCII.
    pub(super) fn unprintable(chunk: &Chunk) -> u32 {
        // SAFETY: SSE2 is enabled in this build (the module's cfg), so its functions may run.
        unsafe { sse2::unprintable(chunk) }
    }

    /// Bytes that are not printable ASCII or are a space.
    pub(super) fn not_target(chunk: &Chunk) -> u32 {
        // SAFETY: as in `unprintable`.
        unsafe { sse2::not_target(chunk) }
    }

    /// Bytes that are not a letter, a digit or `-`.
    pub(super) fn not_name(chunk: &Chunk) -> u32 {
        // SAFETY: as in `unprintable`.
        unsafe { sse2::not_name(chunk) }
    }

    /// Colons.
    pub(super) fn colons(chunk: &Chunk) -> u32 {
        // SAFETY: as in `unprintable`.
        unsafe { sse2::colons(chunk) }
    }

    mod sse2 {
        use super::*;

        #[inline]
        #[target_feature(enable = "sse2")]
        fn load(chunk: &Chunk) -> __m128i {
            // SAFETY: `chunk` is 16 readable bytes; the load does not need them aligned.
            unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) }
        }

        /// Lanes whose byte lies strictly between `below` and `above`. The compares are
        /// signed: bytes from 0x80 are negative, so outside every range of ASCII.
        #[inline]
        #[target_feature(enable = "sse2")]
        fn between(v: __m128i, below: i8, above: i8) -> __m128i {
            _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(below)),
                _mm_cmplt_epi8(v, _mm_set1_epi8(above)),
            )
        }

        /// A bit for each lane that `good` does not set.
        #[inline]
        #[target_feature(enable = "sse2")]
        fn bad(good: __m128i) -> u32 {
            !(_mm_movemask_epi8(good) as u32) & 0xffff
        }

        #[inline]
        #[target_feature(enable = "sse2")]
        pub(super) fn unprintable(chunk: &Chunk) -> u32 {
            bad(between(load(chunk), 0x1f, 0x7f))
        }

        #[inline]
        #[target_feature(enable = "sse2")]
        pub(super) fn not_target(chunk: &Chunk) -> u32 {
            bad(between(load(chunk), 0x20, 0x7f))
        }

        #[inline]
        #[target_feature(enable = "sse2")]
        pub(super) fn not_name(chunk: &Chunk) -> u32 {
            let v = load(chunk);
            // Setting bit 5 makes every letter lowercase and no other byte a letter.
            let letter = between(_mm_or_si128(v, _mm_set1_epi8(0x20)), 0x60, 0x7b);
            let digit = between(v, 0x2f, 0x3a);
            let dash = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x2d));
            bad(_mm_or_si128(_mm_or_si128(letter, digit), dash))
        }

        #[inline]
        #[target_feature(enable = "sse2")]
        pub(super) fn colons(chunk: &Chunk) -> u32 {
            _mm_movemask_epi8(_mm_cmpeq_epi8(load(chunk), _mm_set1_epi8(b':' as i8))) as u32
        }
    }
}

/// [`lanes`] byte by byte, where SSE2 is not there.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
mod lanes {
    use super::{Chunk, bits, name_byte, printable, target_byte};

    pub(super) fn unprintable(chunk: &Chunk) -> u32 {
        bits(chunk, |b| !printable(b))
    }

    pub(super) fn not_target(chunk: &Chunk) -> u32 {
        bits(chunk, |b| !target_byte(b))
    }

    pub(super) fn not_name(chunk: &Chunk) -> u32 {
        bits(chunk, |b| !name_byte(b))
    }

    pub(super) fn colons(chunk: &Chunk) -> u32 {
        bits(chunk, |b| b == b':')
    }
}

#[cfg(test)]
mod tests {
    use super::super::Cut;
    use super::super::head::{httparse_whole_request, httparse_whole_response};
    use super::*;
    use proptest::prelude::*;

    /// Whether `names` remembers the short `name` (without its colon) of a head's line.
    fn remembers(names: &Names, name: &str) -> bool {
        let line = format!("{name}: v\r\n                ");
        let Some(chunk) = line.as_bytes().first_chunk::<16>() else {
            return false;
        };
        let word = u128::from_le_bytes(*chunk) & low_bytes(name.len() + 1);
        names
            .slots
            .get(slot(name.len(), word))
            .is_some_and(|set| set.iter().any(|n| u128::from_le_bytes(n.bytes) == word))
    }

    /// Whether `names` remembers the long `name` (16 to 31 bytes, without its colon).
    fn remembers_long(names: &Names, name: &str) -> bool {
        let line = format!("{name}: v\r\n                                ");
        let Some((low, high)) = halves(line.as_bytes()) else {
            return false;
        };
        let words = long_words(low, high, name.len());
        names
            .long
            .get(long_slot(name.len(), low))
            .is_some_and(|set| set.iter().any(|n| n.bytes == [words.0, words.1]))
    }

    /// A head of each SDK's (boto3, the JavaScript, Go and Java SDKs) with every name it sends
    /// an S3 request (a PutObject's checksum, a session's token, a copy's source; a name is
    /// remembered only with 16 bytes of the head from its line's start, a long one 32, so the
    /// last is short):
    /// once read,
    /// every name of each is remembered, those that share a slot too (boto3's
    /// `Accept-Encoding` and `amz-sdk-request`, `User-Agent` and `Content-Type`,
    /// `Authorization` and `Content-MD5`: with a name a slot, each pair took each other's
    /// place at every request; by length and first byte, boto3's `X-Amz-Content-SHA256`,
    /// `x-amz-checksum-crc32` and `x-amz-sdk-checksum-algorithm` had the same long slot).
    #[test]
    fn the_sdks_names_are_all_remembered() {
        let boto3 = [
            "Host",
            "Accept-Encoding",
            "User-Agent",
            "Content-MD5",
            "Content-Type",
            "Expect",
            "X-Amz-Date",
            "X-Amz-Content-SHA256",
            "Authorization",
            "amz-sdk-invocation-id",
            "amz-sdk-request",
            "x-amz-checksum-crc32",
            "x-amz-sdk-checksum-algorithm",
            "X-Amz-Security-Token",
            "x-amz-copy-source",
            "Content-Length",
        ];
        let js = [
            "host",
            "x-amz-user-agent",
            "user-agent",
            "amz-sdk-invocation-id",
            "amz-sdk-request",
            "x-amz-date",
            "x-amz-content-sha256",
            "authorization",
            "content-type",
            "content-md5",
            "x-amz-checksum-crc32",
            "x-amz-sdk-checksum-algorithm",
            "x-amz-security-token",
            "x-amz-copy-source",
            "expect",
            "content-length",
        ];
        let go = [
            "Host",
            "User-Agent",
            "Accept-Encoding",
            "Amz-Sdk-Invocation-Id",
            "Amz-Sdk-Request",
            "Authorization",
            "Content-Type",
            "X-Amz-Checksum-Crc32",
            "X-Amz-Content-Sha256",
            "X-Amz-Date",
            "X-Amz-Sdk-Checksum-Algorithm",
            "X-Amz-Security-Token",
            "X-Amz-Copy-Source",
            "X-Amz-User-Agent",
            "X-Amz-Decoded-Content-Length",
            "Content-Length",
        ];
        let java = [
            "Host",
            "amz-sdk-invocation-id",
            "amz-sdk-request",
            "x-amz-content-sha256",
            "x-amz-decoded-content-length",
            "x-amz-sdk-checksum-algorithm",
            "x-amz-trailer",
            "x-amz-date",
            "x-amz-security-token",
            "x-amz-copy-source",
            "x-amz-checksum-crc32",
            "Authorization",
            "User-Agent",
            "Content-Type",
            "Expect",
            "Content-Length",
        ];
        for fields in [&boto3[..], &js[..], &go[..], &java[..]] {
            let mut head = b"PUT /b/k HTTP/1.1\r\n".to_vec();
            for name in fields {
                head.extend_from_slice(format!("{name}: 1\r\n").as_bytes());
            }
            head.extend_from_slice(b"\r\n");
            let mut names = Names::default();
            for _ in 0..2 {
                let read = super::request::<HttpRequest>(&head, Timestamp(1), &mut names);
                assert!(matches!(read, Plain::Whole(..)), "{fields:?}");
            }
            for name in fields {
                match name.len() < 16 {
                    true => assert!(remembers(&names, name), "{name}"),
                    false => assert!(remembers_long(&names, name), "{name}"),
                }
            }
        }
    }

    /// A request head read as the first of its connection (nothing remembered).
    fn request(input: &[u8], ts: Timestamp) -> Plain<HttpRequest> {
        super::request(input, ts, &mut Names::default())
    }

    /// A response head read as the first of its connection.
    fn response(input: &[u8], ts: Timestamp) -> Plain<HttpResponse> {
        super::response(input, ts, &mut Names::default(), true)
    }

    const SIGNED_GET: &[u8] = b"GET /bench-bucket/dir/object-1 HTTP/1.1\r\n\
        x-amz-content-sha256: UNSIGNED-PAYLOAD\r\n\
        User-Agent: Boto3/1.44.8 Botocore/1.44.8\r\n\
        Host: 127.0.0.1:18080\r\n\
        Authorization: AWS4-HMAC-SHA256 Credential=AKIA0/20260101/us-east-1/s3/aws4_request, \
        SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=abab\r\n\
        x-amz-date: 20260101T000000Z\r\n\r\n";

    const NGINX_OK: &[u8] = b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\
        Date: Sat, 05 Dec 2026 07:13:36 GMT\r\nContent-Type: text/plain\r\n\
        Content-Length: 26\r\nConnection: keep-alive\r\n\r\n<?xml version=\"1.0\"?><Ok/>";

    /// httparse's reading of a head whole at the start of the input, and its length.
    type General<M> = fn(&[u8], Timestamp) -> Option<(M, usize)>;

    /// The plain reading agrees with httparse's: a head it reads is the one httparse reads
    /// (same message, same length), and a head it finds short httparse does not complete.
    /// Returns whether it read the head itself.
    fn agrees<M: PartialEq + std::fmt::Debug>(
        input: &[u8],
        plain: fn(&[u8], Timestamp) -> Plain<M>,
        general: General<M>,
    ) -> Result<bool, TestCaseError> {
        let want = general(input, Timestamp(3));
        match plain(input, Timestamp(3)) {
            Plain::Whole(m, len) => {
                prop_assert_eq!(Some((m, len)), want, "{:?}", input);
                Ok(true)
            }
            Plain::Short => {
                prop_assert!(want.is_none(), "short but whole: {:?}", input);
                Ok(false)
            }
            Plain::Unsure => Ok(false),
        }
    }

    /// [`agrees`] on every prefix of `input` (the head as it arrives, cut at every byte).
    fn agrees_cut_anywhere<M: PartialEq + std::fmt::Debug>(
        input: &[u8],
        plain: fn(&[u8], Timestamp) -> Plain<M>,
        general: General<M>,
    ) -> Result<usize, TestCaseError> {
        let mut read = 0;
        for cut in 0..=input.len() {
            read += usize::from(agrees(&input[..cut], plain, general)?);
        }
        Ok(read)
    }

    #[test]
    fn usual_heads_are_read_plainly_as_httparse_reads_them() {
        let (req, len) = match request(SIGNED_GET, Timestamp(1)) {
            Plain::Whole(req, len) => (req, len),
            other => panic!("{other:?}"),
        };
        assert_eq!(len, SIGNED_GET.len());
        assert_eq!((req.method.as_ref(), req.version), ("GET", 1));
        assert_eq!(req.target, "/bench-bucket/dir/object-1");
        assert_eq!(req.header("host"), Some("127.0.0.1:18080"));
        assert_eq!(req.headers.len(), 5);
        let resp = match response(NGINX_OK, Timestamp(1)) {
            Plain::Whole(resp, len) => {
                assert_eq!(len, NGINX_OK.len() - 26);
                resp
            }
            other => panic!("{other:?}"),
        };
        assert_eq!((resp.status, resp.reason.as_ref()), (200, "OK"));
        assert_eq!(resp.header("content-length"), Some("26"));
        // Whole from the empty line on, short before it, never left to httparse.
        let read = agrees_cut_anywhere(SIGNED_GET, request, httparse_whole_request).unwrap();
        assert_eq!(read, 1);
        let read = agrees_cut_anywhere(NGINX_OK, response, httparse_whole_response).unwrap();
        assert_eq!(read, 27);
        for cut in 0..SIGNED_GET.len() {
            assert!(matches!(
                request(&SIGNED_GET[..cut], Timestamp(0)),
                Plain::Short
            ));
        }
    }

    #[test]
    fn empty_values_trailing_spaces_and_bare_status_lines() {
        let head = b"PUT /b/k HTTP/1.0\r\nX-Empty:\r\nX-Spaces:   \r\nX-Trail: v  \r\n\r\n";
        let Plain::Whole(req, _) = request(head, Timestamp(0)) else {
            panic!("not plain");
        };
        let fields: Vec<_> = req.headers.iter().map(|h| (h.name, h.value)).collect();
        assert_eq!(
            fields,
            [("X-Empty", ""), ("X-Spaces", ""), ("X-Trail", "v")]
        );
        assert!(agrees(head, request, httparse_whole_request).unwrap());
        for status in [
            &b"HTTP/1.1 204\r\n\r\n"[..],
            b"HTTP/1.0 404 \r\n\r\n",
            b"HTTP/1.1 299 Odd reason!\r\nA: b\r\n\r\n",
        ] {
            assert!(agrees(status, response, httparse_whole_response).unwrap());
        }
        // Left to httparse: a tab, two spaces, a bare LF, a folded line, a byte past ASCII.
        for odd in [
            &b"GET / HTTP/1.1\r\nA:\tb\r\n\r\n"[..],
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\nA: b\n\n",
            b"GET / HTTP/1.1\r\nA : b\r\n\r\n",
            b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                matches!(request(odd, Timestamp(0)), Plain::Unsure),
                "{odd:?}"
            );
        }
        for odd in [
            &b"HTTP/1.1 200  OK\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
        ] {
            assert!(
                matches!(response(odd, Timestamp(0)), Plain::Unsure),
                "{odd:?}"
            );
        }
    }

    /// Every byte value in every lane.
    #[test]
    fn lanes_are_their_byte_classes_for_every_byte() {
        for first in (0..=255u8).step_by(16) {
            for shift in 0..16u8 {
                let chunk: Chunk =
                    std::array::from_fn(|i| first.wrapping_add((i as u8 + shift) % 16));
                assert_eq!(lanes::unprintable(&chunk), bits(&chunk, |b| !printable(b)));
                assert_eq!(lanes::not_target(&chunk), bits(&chunk, |b| !target_byte(b)));
                assert_eq!(lanes::not_name(&chunk), bits(&chunk, |b| !name_byte(b)));
                assert_eq!(lanes::colons(&chunk), bits(&chunk, |b| b == b':'));
            }
        }
    }

    #[test]
    fn more_fields_than_the_usual_slots_are_left_to_httparse() {
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..USUAL_HEADERS {
            head.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
        }
        let mut more = head.clone();
        head.extend_from_slice(b"\r\n");
        assert!(agrees(&head, request, httparse_whole_request).unwrap());
        more.extend_from_slice(b"x-last: v\r\n\r\n");
        assert!(matches!(request(&more, Timestamp(0)), Plain::Unsure));
    }

    /// Lines of heads, plain and not: every separator and line end, tabs, folding, high bytes,
    /// stray colons, CR and LF, odd methods, versions and status codes.
    fn head(starts: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
        let piece = prop::sample::select(vec![
            &b"\r\n"[..],
            b"\n",
            b"\r",
            b"\r\n\r\n",
            b"Host: h",
            b"X-A:b",
            b"x-amz-date: 20260101T000000Z",
            b"Content-Length: 3",
            b"Transfer-Encoding: chunked",
            b" ",
            b"  ",
            b"\t",
            b":",
            b"a",
            b"~!#",
            b"\x7f",
            b"\x00",
            b"\xc3\xa9",
            b"\xff",
            b"HTTP/1.1",
            b"200",
        ]);
        (
            prop::sample::select(starts),
            prop::collection::vec(piece, 0..16),
        )
            .prop_map(|(start, pieces)| {
                let mut v = start.as_bytes().to_vec();
                for p in pieces {
                    v.extend_from_slice(p);
                }
                v
            })
    }

    const REQUEST_STARTS: &[&str] = &[
        "GET /b/k HTTP/1.1\r\n",
        "PUT /b/k?x=1 HTTP/1.0\r\n",
        "M-SEARCH * HTTP/1.1\r\n",
        "GET / HTTP/1.2\r\n",
        "GET / HTTP/1.",
        "GET ",
        "GET",
        "G\u{e9}T / HTTP/1.1\r\n",
        "",
    ];

    const RESPONSE_STARTS: &[&str] = &[
        "HTTP/1.1 200 OK\r\n",
        "HTTP/1.0 404 Not Found\r\n",
        "HTTP/1.1 204\r\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n",
        "HTTP/1.1 20",
        "HTTP/1.1 2x0 OK\r\n",
        "HTTP/1.1 200 ",
        "HTTP/2.0 200 OK\r\n",
        "",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn a_request_read_plainly_is_httparse_s_at_every_cut(input in head(REQUEST_STARTS)) {
            agrees_cut_anywhere(&input, request, httparse_whole_request)?;
        }

        #[test]
        fn a_response_read_plainly_is_httparse_s_at_every_cut(input in head(RESPONSE_STARTS)) {
            agrees_cut_anywhere(&input, response, httparse_whole_response)?;
        }

        #[test]
        fn any_bytes_read_plainly_are_read_as_httparse_reads_them(
            input in prop::collection::vec(any::<u8>(), 0..64)
        ) {
            agrees_cut_anywhere(&input, request, httparse_whole_request)?;
            agrees_cut_anywhere(&input, response, httparse_whole_response)?;
        }

        /// A usual head with one byte changed, at every cut.
        #[test]
        fn a_usual_head_with_a_byte_changed_is_read_as_httparse_reads_it(
            at in any::<prop::sample::Index>(),
            b in any::<u8>(),
            which in any::<bool>(),
        ) {
            let mut input = if which { SIGNED_GET.to_vec() } else { NGINX_OK.to_vec() };
            let i = at.index(input.len());
            input[i] = b;
            agrees_cut_anywhere(&input, request, httparse_whole_request)?;
            agrees_cut_anywhere(&input, response, httparse_whole_response)?;
        }

        /// The sixteen-byte steps end runs where a byte-by-byte search does.
        #[test]
        fn runs_end_where_bytes_say(
            input in prop::collection::vec(
                prop::sample::select(vec![
                    b' ', b'a', b'Z', b'0', b'9', b'-', b':', b'_', b'~', b'@', b'[', b'`', b'{',
                    b'/', 0x1f, 0x7f, 0x80, 0xe1, 0xff, b'\r', 0,
                ]),
                0..48,
            ),
            // A long printable run in the middle: runs of many sixteen-byte steps.
            pad in 0..80usize,
        ) {
            let mut input = input;
            let mid = input.len() / 2;
            input.splice(mid..mid, std::iter::repeat_n(b'x', pad));
            for at in 0..=input.len() {
                let by_byte = |keep: fn(u8) -> bool| {
                    at + input[at..].iter().take_while(|&&b| keep(b)).count()
                };
                prop_assert_eq!(printable_end(&input, at), by_byte(printable));
                prop_assert_eq!(target_end(&input, at), by_byte(target_byte));
                let name_end = by_byte(|b| TCHAR[usize::from(b)]);
                let colon = match input.get(name_end) {
                    None => Err(Stop::Short),
                    Some(b':') if name_end > at => Ok(name_end),
                    Some(_) => Err(Stop::Unsure),
                };
                prop_assert_eq!(name_colon(&input, at), colon);
            }
        }

        /// Each lane mask is its byte class, on every byte value.
        #[test]
        fn lanes_are_their_byte_classes(chunk in any::<Chunk>()) {
            prop_assert_eq!(lanes::unprintable(&chunk), bits(&chunk, |b| !printable(b)));
            prop_assert_eq!(lanes::not_target(&chunk), bits(&chunk, |b| !target_byte(b)));
            prop_assert_eq!(lanes::not_name(&chunk), bits(&chunk, |b| !name_byte(b)));
            prop_assert_eq!(lanes::colons(&chunk), bits(&chunk, |b| b == b':'));
        }

        /// Fields whose names and values end on either side of a sixteen-byte step, with any
        /// run of spaces or tabs around the value (one space and none, the usual case, read
        /// first), are read as httparse reads them, at every cut.
        #[test]
        fn spaces_around_values_of_any_length_are_trimmed_as_httparse_trims_them(
            fields in prop::collection::vec(
                (
                    1..24usize,
                    prop::sample::select(vec!["", " ", "  ", "   ", "\t", " \t"]),
                    0..40usize,
                    prop::sample::select(vec!["", " ", "  ", "\t"]),
                ),
                1..4,
            ),
            is_response in any::<bool>(),
        ) {
            let mut input = match is_response {
                true => b"HTTP/1.1 200 OK\r\n".to_vec(),
                false => b"GET /b/k HTTP/1.1\r\n".to_vec(),
            };
            for (name, before, value, after) in fields {
                input.extend(std::iter::repeat_n(b'n', name));
                input.push(b':');
                input.extend_from_slice(before.as_bytes());
                input.extend((0..value).map(|i| if i % 7 == 3 { b' ' } else { b'v' }));
                input.extend_from_slice(after.as_bytes());
                input.extend_from_slice(b"\r\n");
            }
            input.extend_from_slice(b"\r\n");
            let read = match is_response {
                true => agrees_cut_anywhere(&input, response, httparse_whole_response)?,
                false => agrees_cut_anywhere(&input, request, httparse_whole_request)?,
            };
            // Without a tab the head is plain: read here once whole, not left to httparse.
            prop_assert_eq!(read, usize::from(!input.contains(&b'\t')));
        }

        /// Heads read one after another with the names of the one before remembered are read
        /// as each is read alone: names equal to a remembered one but for a byte, its case, a
        /// longer or shorter name, a name that does not end at a colon, a line cut short.
        #[test]
        fn remembered_names_read_every_head_as_a_fresh_reading_does(
            heads in prop::collection::vec(
                (
                    prop::collection::vec(prop::sample::select(NEAR_NAMES.to_vec()), 0..10),
                    0..40usize,
                ),
                1..6,
            ),
            is_response in any::<bool>(),
        ) {
            let start: &[u8] = match is_response {
                true => b"HTTP/1.1 200 OK\r\n",
                false => b"GET /b/k HTTP/1.1\r\n",
            };
            let mut names = Names::default();
            for (lines, cut) in heads {
                let input = near_head(start, &lines, cut);
                let at = Timestamp(1);
                let (remembered, fresh) = match is_response {
                    true => (
                        outcome(super::response(&input, at, &mut names, true), |r: HttpResponse| r.headers),
                        outcome(response(&input, at), |r| r.headers),
                    ),
                    false => (
                        outcome(super::request(&input, at, &mut names), |r: HttpRequest| r.headers),
                        outcome(request(&input, at), |r| r.headers),
                    ),
                };
                prop_assert_eq!(remembered, fresh, "{:?}", String::from_utf8_lossy(&input));
            }
        }

        /// Heads read one after another into one exchange given back each time (`spare.rs`),
        /// which held the head before, its response, interim statuses, body length and cut,
        /// are read as each is into a new exchange: whole, short or not plain alike, every
        /// field found by the index as a fresh reading finds it, and the rest of the exchange
        /// as new.
        #[test]
        fn a_head_read_into_a_spare_exchange_is_read_as_into_a_new_one(
            heads in prop::collection::vec(
                (
                    prop::collection::vec(prop::sample::select(NEAR_NAMES.to_vec()), 0..10),
                    0..40usize,
                    0..3usize,
                ),
                1..6,
            ),
        ) {
            let targets = ["/b/k", "/a-much-longer-bucket/and/a/key?uploads", "*"];
            let mut spare = Box::new(HttpExchange {
                request: HttpRequest {
                    ts: Timestamp(7),
                    method: "PATCH".into(),
                    target: "/old".into(),
                    version: 0,
                    headers: [("Host", "old.example"), ("X-Old", "1")].into_iter().collect(),
                    body_len: Some(9),
                    cut: Some(Cut::Fields),
                },
                interim: vec![100],
                response: Some(Box::new(HttpResponse {
                    ts: Timestamp(8),
                    status: 302,
                    reason: "Found".into(),
                    version: 1,
                    headers: [("Location", "http://x/")].into_iter().collect(),
                    framing_length: None,
                    body_len: Some(3),
                    body_prefix: b"abc".to_vec(),
                })),
            });
            for (lines, cut, target) in heads {
                let start = format!("GET {} HTTP/1.1\r\n", targets[target]);
                let input = near_head(start.as_bytes(), &lines, cut);
                let at = Timestamp(1);
                let into = super::request_into(&input, at, &mut Names::default(), &mut spare)
                    .map(|()| spare.clone());
                let fresh: Plain<Box<HttpExchange>> =
                    super::request(&input, at, &mut Names::default());
                if let (Plain::Whole(read, _), Plain::Whole(new, _)) = (&into, &fresh) {
                    prop_assert_eq!(read, new);
                }
                let headers = |ex: Box<HttpExchange>| ex.request.headers;
                prop_assert_eq!(outcome(into, headers), outcome(fresh, headers));
            }
        }
    }

    proptest! {
        /// A response read without keeping its fields is read as one that keeps them (whole,
        /// short or not plain alike, cut anywhere, and as long), and the length kept frames
        /// its body as the fields do, whatever the request's method; a response whose fields
        /// frame it another way keeps them.
        #[test]
        fn a_response_without_its_fields_is_framed_as_with_them(
            status in prop::sample::select(vec![100u16, 101, 200, 204, 206, 302, 304, 404, 500]),
            lines in prop::collection::vec(prop::sample::select(FRAMING_LINES.to_vec()), 0..6),
        ) {
            use super::super::framing::{framing_of_response, response_framing};
            let mut input = format!("HTTP/1.1 {status} X\r\n").into_bytes();
            for line in lines {
                input.extend_from_slice(line.as_bytes());
                input.extend_from_slice(b"\r\n");
            }
            input.extend_from_slice(b"\r\n");
            for end in 0..=input.len() {
                let head = &input[..end];
                let at = Timestamp(1);
                let kept: Plain<HttpResponse> =
                    super::response(head, at, &mut Names::default(), true);
                let lean: Plain<HttpResponse> =
                    super::response(head, at, &mut Names::default(), false);
                match (kept, lean) {
                    (Plain::Whole(k, k_len), Plain::Whole(l, l_len)) => {
                        prop_assert_eq!(k_len, l_len);
                        prop_assert_eq!(
                            (k.status, &k.reason, k.version, k.framing_length),
                            (l.status, &l.reason, l.version, None)
                        );
                        if l.framing_length.is_none() {
                            prop_assert_eq!(&l.headers, &k.headers);
                            continue;
                        }
                        prop_assert!(l.headers.is_empty());
                        prop_assert!(matches!(status, 200..300 | 400..600));
                        for method in [None, Some("GET"), Some("HEAD"), Some("CONNECT")] {
                            prop_assert_eq!(
                                framing_of_response(method, &l),
                                response_framing(method, status, &k.headers)
                            );
                        }
                    }
                    (Plain::Short, Plain::Short) | (Plain::Unsure, Plain::Unsure) => {}
                    (k, l) => prop_assert!(false, "kept {:?}, not kept {:?}", k, l),
                }
            }
        }
    }

    /// Field lines that frame a response's body, or look as if they did.
    const FRAMING_LINES: &[&str] = &[
        "Content-Length: 12",
        "content-length: 0",
        "CONTENT-LENGTH:7",
        "Content-Length:  12  ",
        "Content-Length: 1x",
        "Content-Length: 12, 12",
        "Content-Length: ",
        "Content-Length: 99999999999999999999",
        "Content-Length : 3",
        "Content-Lengths: 3",
        "Transfer-Encoding: chunked",
        "transfer-encoding: gzip",
        "Transfer-Encoding: ",
        "Location: https://h/k",
        "Server: s",
        "x-amz-request-id: 4442587FB7D0A2F9",
        "Connection: close",
    ];

    /// A head of `start` and a field line for each of `lines` (what comes before a value, as
    /// in [`NEAR_NAMES`], then the value `v`), cut short by `cut % 3 * cut` bytes (whole a
    /// third of the time).
    fn near_head(start: &[u8], lines: &[&str], cut: usize) -> Vec<u8> {
        let mut input = start.to_vec();
        for line in lines {
            input.extend_from_slice(line.as_bytes());
            input.extend_from_slice(b"v\r\n");
        }
        input.extend_from_slice(b"\r\n");
        input.truncate(input.len().saturating_sub(cut % 3 * cut));
        input
    }

    /// Name lines that differ from each other by a byte, a case, a length or their colon.
    const NEAR_NAMES: &[&str] = &[
        "Host: ",
        "host: ",
        "Hosts: ",
        "Hos: ",
        "Host : ",
        "Host:",
        "X-Amz-Date: ",
        "x-amz-date: ",
        "x-amz-datE: ",
        "Content-Length: 1",
        "Content-Lengthx: ",
        "Content-Lengtx: ",
        "content-length: 22",
        "Fifteen-Bytes-A: ",
        "Fifteen-Bytes-B: ",
        "Sixteen-Bytes-Ab: ",
        "Sixteen-Bytes-Ab:",
        "Authorization: ",
        "Authorizatio\u{e9}: ",
        "x-amz-content-sha256: ",
        "X-Amz-Content-Sha256: ",
        "x-amz-content-sha257: ",
        "x-amz-content-shb256: ",
        "x-amz-content-sh@256: ",
        "x-amz-security-tpken: ",
        "x-amz-content-sha25: ",
        "x-amz-content-sha2566: ",
        "x-amz-content-sha256 : ",
        "x-amz-content\u{e9}sha256: ",
        "x-amz-copy-source: ",
        "x-amz-security-token: ",
        "Sixteen-Bytes-Ab:Thirty-One-Bytes-Name-Of-A-Field: ",
        "Thirty-One-Bytes-Name-Of-Fields: ",
        "Thirty-Two-Bytes-Name-Of-A-Field: ",
        "Sixteen-Bytes-Abc: ",
        "Thirty-One-Bytes-Name-Of-Fieldt: ",
        "a: ",
        ": ",
        "x~y: ",
    ];

    /// What a plain reading said, comparable: Whole (with the fields, what each [`Field`]
    /// is found by index and whether it is there at most once: `Headers` compare their fields
    /// alone) and the head's length, Short or Unsure.
    type Outcome = (u8, Option<(Headers, Vec<(Option<String>, bool)>, usize)>);

    fn outcome<M>(plain: Plain<M>, headers: fn(M) -> Headers) -> Outcome {
        match plain {
            Plain::Whole(m, len) => {
                let h = headers(m);
                let by_index = Field::ALL
                    .iter()
                    .map(|&f| (h.field(f).map(str::to_string), h.at_most_once(f)))
                    .collect();
                (0, Some((h, by_index, len)))
            }
            Plain::Short => (1, None),
            Plain::Unsure => (2, None),
        }
    }
}
