//! Where rows go as they are judged. JSON and JSON Lines write each row at once (the JSON
//! document's secondary arrays through a [`Spool`]); the table and Markdown keep only the rows
//! they show and render at the end. Either way memory does not grow with the capture.

use super::fastjson::{JsonBuf, RowAt, RowMemo, RowSpans, WriteJson, finding_beside};
use super::rows::FindingOfRow;
use super::spool::{PackedSpool, Spool};
use super::{
    AttemptRecord, FindingRecord, Report, RequestRecord, TlsRecord, ToolInfo, json, markdown, table,
};
use serde::Serialize;
use std::io::{self, Write};

/// The kinds of row a sink takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    Request,
    Finding,
    Attempt,
    Tls,
}

/// Rows in, one report out.
pub trait Sink {
    /// Whether the next row of this kind would be used: a human format that has all the rows
    /// it shows says no, and the row is not made at all.
    fn wants(&self, _row: Row) -> bool {
        true
    }
    fn request(&mut self, r: &RequestRecord) -> io::Result<()>;
    fn finding(&mut self, f: &FindingRecord) -> io::Result<()>;
    /// A request's finding, right after that request's row was handed to [`Sink::request`]:
    /// the JSON sinks write it from the request's row (what the two rows share is not made
    /// and escaped again); the others take it whole.
    fn request_finding(&mut self, made: &FindingOfRow<'_>) -> io::Result<()> {
        self.finding(&made.record())
    }
    fn attempt(&mut self, a: &AttemptRecord) -> io::Result<()>;
    fn tls(&mut self, t: &TlsRecord) -> io::Result<()>;
    /// Push what was written so far to its destination (live capture, on its beat).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// The end: what only the end knows. The human formats put their kept rows into it.
    fn finish(&mut self, report: &mut Report) -> io::Result<()>;
}

/// Rows written in place are handed to the output this many bytes at a time: a write as large
/// as the output's buffer (`app::settings`' 256 KiB) goes past it without being copied.
const OUT_CHUNK: usize = 1 << 18;

/// The last request's row, for its findings' rows: its id and its offset in the rows not yet
/// handed on (where its values are is kept beside it, written in place: [`RowSpans`]).
type LastRow = Option<(u64, usize)>;

/// The JSON document (docs/json.md), written as it goes: `s3wire`, then `requests` row by row,
/// then the spooled arrays and the sections known at the end. One row per line.
pub struct JsonSink<W: Write> {
    out: W,
    /// The same file as `out`, for the spools to be copied into by the kernel (see
    /// [`JsonSink::direct`]).
    direct: Option<std::fs::File>,
    /// Request rows not yet handed to `out`, written in place.
    pending: JsonBuf,
    last: LastRow,
    spans: RowSpans,
    /// Values the rows repeat, escaped once.
    memo: RowMemo,
    requests: u64,
    attempts: Spool,
    tls: Spool,
    findings: PackedSpool,
    /// Threads the findings may be unpacked on at the end (`--threads`; see
    /// [`PackedSpool::copy_to`]).
    threads: usize,
}

impl<W: Write> JsonSink<W> {
    pub fn new(mut out: W, tool: &ToolInfo) -> io::Result<Self> {
        let (attempts, tls, findings) = (Spool::new()?, Spool::new()?, PackedSpool::new()?);
        out.write_all(b"{\n  \"s3wire\": ")?;
        write_indented(&mut out, tool)?;
        out.write_all(b",\n  \"requests\": [")?;
        Ok(JsonSink {
            out,
            direct: None,
            // Handed on once it holds OUT_CHUNK bytes: room for one more row, made at once.
            pending: JsonBuf::with_capacity(2 * OUT_CHUNK),
            last: None,
            spans: RowSpans::default(),
            memo: RowMemo::default(),
            requests: 0,
            attempts,
            tls,
            findings,
            threads: 1,
        })
    }

    /// The threads the findings may be unpacked on at the end (one unless told).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// A second handle on the file `out` writes to, sharing its offset: the spooled arrays are
    /// copied into it by the kernel (`copy_file_range`, `sendfile` or `splice`) instead of
    /// through this process.
    pub fn direct(mut self, file: Option<std::fs::File>) -> Self {
        self.direct = file;
        self
    }

    fn section<T: Serialize>(&mut self, name: &str, value: &T) -> io::Result<()> {
        write!(self.out, ",\n  \"{name}\": ")?;
        write_indented(&mut self.out, value)
    }

    /// The rows written in place, handed to `out` (the last request's row with them).
    fn write_out(&mut self) -> io::Result<()> {
        self.last = None;
        let written = self.out.write_all(self.pending.as_bytes());
        self.pending.clear();
        written
    }
}

/// A pretty-printed value nested one level into the document.
fn write_indented<T: Serialize>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    out.write_all(text.replace('\n', "\n  ").as_bytes())
}

impl<W: Write> Sink for JsonSink<W> {
    fn request(&mut self, r: &RequestRecord) -> io::Result<()> {
        if self.pending.len() >= OUT_CHUNK {
            self.write_out()?;
        }
        self.pending.put(if self.requests == 0 {
            b"\n    "
        } else {
            b",\n    "
        });
        let start = self.pending.len();
        let fits = r.write_row_memo(&mut self.pending, b"{", &mut self.memo, &mut self.spans);
        self.last = fits.then_some((r.id, start));
        self.requests += 1;
        Ok(())
    }

    fn finding(&mut self, f: &FindingRecord) -> io::Result<()> {
        self.findings.push_with(|out| f.write_to(out))
    }

    fn request_finding(&mut self, made: &FindingOfRow<'_>) -> io::Result<()> {
        if let Some((id, start)) = self.last
            && id == made.row.id
            && let Some(b) = made.beside(&mut self.memo.seen)
        {
            let row = RowAt::Other(self.pending.as_bytes().get(start..).unwrap_or_default());
            let (memo, spans) = (&mut self.memo, &self.spans);
            return self
                .findings
                .push_packed(|out, open| finding_beside(out, open, row, spans, &b, memo));
        }
        self.finding(&made.record())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        self.out.flush()
    }

    fn attempt(&mut self, a: &AttemptRecord) -> io::Result<()> {
        self.attempts.push(a)
    }

    fn tls(&mut self, t: &TlsRecord) -> io::Result<()> {
        self.tls.push(t)
    }

    fn finish(&mut self, r: &mut Report) -> io::Result<()> {
        self.write_out()?;
        self.out
            .write_all(if self.requests == 0 { b"]" } else { b"\n  ]" })?;
        for name in ["attempts", "tls", "findings"] {
            write!(self.out, ",\n  \"{name}\": [")?;
            let rows = match name {
                "attempts" => self.attempts.copy_to(&mut self.out, self.direct.as_mut()),
                "tls" => self.tls.copy_to(&mut self.out, self.direct.as_mut()),
                _ => self.findings.copy_to(&mut self.out, self.threads),
            }?;
            self.out
                .write_all(if rows == 0 { b"]" } else { b"\n  ]" })?;
        }
        self.section("operations", &r.operations)?;
        self.section("endpoints", &r.endpoints)?;
        self.section("capture", &r.capture)?;
        self.section("quality", &r.quality)?;
        self.section("summary", &r.summary)?;
        self.out.write_all(b"\n}\n")?;
        self.out.flush()
    }
}

/// JSON Lines: the `s3wire` header, then every row as it is judged, then the end's sections.
pub struct JsonlSink<W: Write> {
    out: W,
    /// Rows not yet handed to `out`, written in place.
    pending: JsonBuf,
    last: LastRow,
    spans: RowSpans,
    /// Values the rows repeat, escaped once.
    memo: RowMemo,
    /// One serde-written row, reused.
    line: Vec<u8>,
}

/// How JSON Lines opens a request's and a finding's row (as [`json::tagged`] does).
const REQUEST_LINE: &[u8] = b"{\"type\":\"request\",";
const FINDING_LINE: &[u8] = b"{\"type\":\"finding\",";

impl<W: Write> JsonlSink<W> {
    pub fn new(mut out: W, tool: &ToolInfo) -> io::Result<Self> {
        json::line(&mut out, "s3wire", tool)?;
        Ok(JsonlSink {
            out,
            pending: JsonBuf::with_capacity(2 * OUT_CHUNK),
            last: None,
            spans: RowSpans::default(),
            memo: RowMemo::default(),
            line: Vec::new(),
        })
    }

    /// The rows written in place, handed to `out` (the last request's row with them).
    fn write_out(&mut self) -> io::Result<()> {
        self.last = None;
        let written = self.out.write_all(self.pending.as_bytes());
        self.pending.clear();
        written
    }

    /// A row serde writes, in its place among the others.
    fn serde_line<T: Serialize>(&mut self, kind: &str, record: &T) -> io::Result<()> {
        if self.pending.len() >= OUT_CHUNK {
            self.write_out()?;
        }
        self.line.clear();
        json::line(&mut self.line, kind, record)?;
        self.pending.put(&self.line);
        Ok(())
    }
}

impl<W: Write> Sink for JsonlSink<W> {
    fn request(&mut self, r: &RequestRecord) -> io::Result<()> {
        if self.pending.len() >= OUT_CHUNK {
            self.write_out()?;
        }
        let start = self.pending.len();
        let fits = r.write_row_memo(
            &mut self.pending,
            REQUEST_LINE,
            &mut self.memo,
            &mut self.spans,
        );
        self.pending.put(b"\n");
        self.last = fits.then_some((r.id, start));
        Ok(())
    }

    fn finding(&mut self, f: &FindingRecord) -> io::Result<()> {
        if self.pending.len() >= OUT_CHUNK {
            self.write_out()?;
        }
        f.write_row(&mut self.pending, FINDING_LINE);
        self.pending.put(b"\n");
        Ok(())
    }

    fn request_finding(&mut self, made: &FindingOfRow<'_>) -> io::Result<()> {
        if let Some((_, start)) = self.last.filter(|l| l.0 == made.row.id)
            && let Some(b) = made.beside(&mut self.memo.seen)
        {
            finding_beside(
                &mut self.pending,
                FINDING_LINE,
                RowAt::Own(start),
                &self.spans,
                &b,
                &mut self.memo,
            );
            self.pending.put(b"\n");
            return Ok(());
        }
        self.finding(&made.record())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        self.out.flush()
    }

    fn attempt(&mut self, a: &AttemptRecord) -> io::Result<()> {
        self.serde_line("attempt", a)
    }

    fn tls(&mut self, t: &TlsRecord) -> io::Result<()> {
        self.serde_line("tls", t)
    }

    fn finish(&mut self, r: &mut Report) -> io::Result<()> {
        self.write_out()?;
        json::write_jsonl_end(r, &mut self.out)?;
        self.out.flush()
    }
}

/// How many rows of each kind a human format keeps (None: all, for `-v`).
#[derive(Debug, Clone, Copy)]
pub struct Shown {
    pub requests: Option<usize>,
    pub findings: Option<usize>,
    pub other: Option<usize>,
}

impl Shown {
    pub fn all() -> Shown {
        Shown {
            requests: None,
            findings: None,
            other: None,
        }
    }
}

/// Finding kinds one request can have (a bound on the findings of one block).
const KINDS: usize = 4;

#[derive(Debug, Clone, Copy)]
pub enum Human {
    Table(table::TableStyle),
    Markdown,
}

/// The table and Markdown: the first rows of each kind are kept, the report is drawn at the
/// end. With `-q` the table is one line per finding, written as each is judged.
pub struct KeepSink<W: Write> {
    out: W,
    format: Human,
    shown: Shown,
    kept: Kept,
}

#[derive(Default)]
struct Kept {
    requests: Vec<RequestRecord>,
    findings: Vec<FindingRecord>,
    /// A finding of a new subject was refused past the cap: findings arrive subject by
    /// subject, so no later one is kept, and none is made ([`Sink::wants`]).
    findings_full: bool,
    attempts: Vec<AttemptRecord>,
    tls: Vec<TlsRecord>,
}

impl<W: Write> KeepSink<W> {
    pub fn new(out: W, format: Human, shown: Shown) -> Self {
        KeepSink {
            out,
            format,
            shown,
            kept: Kept::default(),
        }
    }

    fn quiet(&self) -> bool {
        matches!(self.format, Human::Table(s) if s.quiet)
    }
}

impl<W: Write> Sink for KeepSink<W> {
    fn wants(&self, row: Row) -> bool {
        let room = |len: usize, cap: Option<usize>| cap.is_none_or(|c| len < c);
        let k = &self.kept;
        // Markdown lists findings only (with counts for the rest); -q lists findings only.
        let listed = matches!(self.format, Human::Table(t) if !t.quiet);
        match row {
            Row::Request => listed && room(k.requests.len(), self.shown.requests),
            // A request has at most KINDS findings, all in a row: past the cap, the rest of the
            // last kept request's are still taken so that its block is whole, until the first
            // of another subject is refused. Wanted rows are made in full (redacted, their
            // strings copied): on a request-dense capture, every finding's row made to be
            // dropped here was a third of the writer's work.
            Row::Finding => {
                self.quiet()
                    || !k.findings_full
                        && room(k.findings.len(), self.shown.findings.map(|c| c + KINDS))
            }
            Row::Attempt => listed && room(k.attempts.len(), self.shown.other),
            Row::Tls => listed && room(k.tls.len(), self.shown.other),
        }
    }

    // Each kind of row is kept while `wants` says so (a row made before the sink existed,
    // through `Lazy`, is asked here too).
    fn request(&mut self, r: &RequestRecord) -> io::Result<()> {
        if self.wants(Row::Request) {
            self.kept.requests.push(r.clone());
        }
        Ok(())
    }

    fn finding(&mut self, f: &FindingRecord) -> io::Result<()> {
        if self.quiet() {
            return table::write_gist_line(f, &mut self.out);
        }
        let kept = &mut self.kept.findings;
        let same_subject = kept
            .last()
            .is_some_and(|l| (l.request, l.attempt) == (f.request, f.attempt));
        match self.shown.findings {
            Some(cap) if kept.len() >= cap && !same_subject => self.kept.findings_full = true,
            _ => kept.push(f.clone()),
        }
        Ok(())
    }

    fn attempt(&mut self, a: &AttemptRecord) -> io::Result<()> {
        if self.wants(Row::Attempt) {
            self.kept.attempts.push(a.clone());
        }
        Ok(())
    }

    fn tls(&mut self, t: &TlsRecord) -> io::Result<()> {
        if self.wants(Row::Tls) {
            self.kept.tls.push(t.clone());
        }
        Ok(())
    }

    fn finish(&mut self, r: &mut Report) -> io::Result<()> {
        r.requests = std::mem::take(&mut self.kept.requests);
        r.findings = std::mem::take(&mut self.kept.findings);
        r.attempts = std::mem::take(&mut self.kept.attempts);
        r.tls = std::mem::take(&mut self.kept.tls);
        // Findings arrive as they are judged; a reader expects them in time order.
        r.findings.sort_by_key(|f| f.time);
        match self.format {
            Human::Table(style) if style.quiet => {}
            Human::Table(style) => table::write_table(r, &style, &mut self.out)?,
            Human::Markdown => markdown::write_markdown(r, &mut self.out)?,
        }
        self.out.flush()
    }
}

type MakeSink = Box<dyn FnOnce() -> io::Result<Box<dyn Sink + Send>> + Send>;

/// A sink made on first use, so that an error before the first row (a file that is not a
/// capture, a command that cannot start) leaves the output untouched.
pub struct Lazy {
    make: Option<MakeSink>,
    sink: Option<Box<dyn Sink + Send>>,
}

impl Lazy {
    pub fn new(make: MakeSink) -> Lazy {
        Lazy {
            make: Some(make),
            sink: None,
        }
    }

    /// The sink, made on the first call. Asked for every row: whether it is made is the
    /// first test, and the making is out of line (taking the maker on every call was ~30
    /// instructions a row, 1.2 M of dense-50k's report thread).
    #[inline]
    fn get(&mut self) -> io::Result<&mut (dyn Sink + Send + 'static)> {
        if self.sink.is_none() {
            self.make()?;
        }
        match &mut self.sink {
            Some(s) => Ok(s.as_mut()),
            None => Err(io::Error::other("the report's output could not be opened")),
        }
    }

    #[cold]
    #[inline(never)]
    fn make(&mut self) -> io::Result<()> {
        if let Some(make) = self.make.take() {
            self.sink = Some(make()?);
        }
        Ok(())
    }
}

impl Sink for Lazy {
    fn wants(&self, row: Row) -> bool {
        self.sink.as_ref().is_none_or(|s| s.wants(row))
    }

    fn request(&mut self, r: &RequestRecord) -> io::Result<()> {
        self.get()?.request(r)
    }

    fn finding(&mut self, f: &FindingRecord) -> io::Result<()> {
        self.get()?.finding(f)
    }

    fn request_finding(&mut self, made: &FindingOfRow<'_>) -> io::Result<()> {
        self.get()?.request_finding(made)
    }

    fn attempt(&mut self, a: &AttemptRecord) -> io::Result<()> {
        self.get()?.attempt(a)
    }

    fn tls(&mut self, t: &TlsRecord) -> io::Result<()> {
        self.get()?.tls(t)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Some(s) => s.flush(),
            None => Ok(()),
        }
    }

    fn finish(&mut self, report: &mut Report) -> io::Result<()> {
        self.get()?.finish(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::FindingKind;
    use crate::time::Timestamp;

    fn finding(request: u64, kind: FindingKind) -> FindingRecord {
        FindingRecord {
            kind,
            severity: crate::policy::Severity::Error,
            operation: None,
            bucket: None,
            key: None,
            request: Some(request),
            attempt: None,
            endpoint: "-".into(),
            origin: "-".into(),
            endpoint_detail: "".into(),
            time: Timestamp(0),
            client: crate::report::AddrText::of("10.0.0.1:1".parse().unwrap()),
            server: crate::report::AddrText::of("10.0.0.2:80".parse().unwrap()),
            seen: None,
            user_agent: None,
            status: None,
            hint: "".into(),
            guess: None,
        }
    }

    fn tool() -> ToolInfo {
        ToolInfo {
            version: "0".into(),
            command: vec![],
            redacted: true,
        }
    }

    /// The JSON sinks write a request's finding from its request's row exactly as they write
    /// the finding's row made whole, in place among the other rows; a finding whose request's
    /// row is not the last one written is made whole.
    #[test]
    fn json_sinks_write_a_finding_beside_its_request_as_made_whole() {
        use crate::facts::Request;
        use crate::report::rows::{FindingOfRow, Redactor};
        let redactor = Redactor { on: true };
        let mut r = Request::sample(3, Timestamp(0), "10.0.0.1:1", "10.0.0.2:80");
        r.host = Some("s3.local.test".into());
        let f = crate::policy::Finding::for_request(FindingKind::CredentialsInCleartext, &r, None);
        let addrs = (r.client, r.server);
        let row = redactor.request(r);
        let other = redactor.request(Request::sample(
            4,
            Timestamp(1),
            "10.0.0.1:2",
            "10.0.0.2:80",
        ));
        let made = || FindingOfRow {
            finding: &f,
            severity: crate::policy::Severity::Warning,
            row: &row,
            addrs,
            redactor,
            unknown_owner: false,
        };
        let (mut fast, mut whole) = (
            JsonlSink::new(Vec::new(), &tool()).unwrap(),
            JsonlSink::new(Vec::new(), &tool()).unwrap(),
        );
        for sink in [&mut fast, &mut whole] {
            sink.request(&row).unwrap();
        }
        fast.request_finding(&made()).unwrap();
        whole.finding(&made().record()).unwrap();
        for sink in [&mut fast, &mut whole] {
            sink.request(&other).unwrap();
        }
        fast.request_finding(&made()).unwrap();
        whole.finding(&made().record()).unwrap();
        fast.flush().unwrap();
        whole.flush().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&fast.out),
            String::from_utf8_lossy(&whole.out)
        );
        assert_eq!(fast.out.split(|&b| b == b'\n').count(), 6);

        let mut json = JsonSink::new(Vec::new(), &tool()).unwrap();
        json.request(&row).unwrap();
        json.request_finding(&made()).unwrap();
        json.request(&other).unwrap();
        json.request_finding(&made()).unwrap();
        let mut spooled = Vec::new();
        json.findings.copy_to(&mut spooled, 1).unwrap();
        let one = serde_json::to_string(&made().record()).unwrap();
        assert_eq!(
            String::from_utf8(spooled).unwrap(),
            format!("\n    {one},\n    {one}")
        );
    }

    /// Rows written through the sink's memo of repeated values: a request whose signature or
    /// credential changed after a memo hit still shows only the redacted shape, its own.
    #[test]
    fn a_changed_secret_after_a_memo_hit_is_still_redacted() {
        use crate::facts::Request;
        use crate::report::rows::Redactor;
        let auth = |akid: &str, sig: &str| {
            format!(
                "AWS4-HMAC-SHA256 Credential={akid}/20260101/us-east-1/s3/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature={sig}"
            )
        };
        let sent = [
            auth("AKIAIOSFODNN7EXAMPLE", &"1a".repeat(32)),
            auth("AKIAIOSFODNN7EXAMPLE", &"1a".repeat(32)),
            auth("AKIAIOSFODNN7EXAMPLE", &"2b".repeat(32)),
            auth("ASIAXXXXXXXXXXXXXXXX", &"3c".repeat(32)),
            auth("AKIAIOSFODNN7EXAMPLE", &"4d".repeat(32)),
        ];
        let redactor = Redactor { on: true };
        let mut sink = JsonlSink::new(Vec::new(), &tool()).unwrap();
        for (i, a) in sent.iter().enumerate() {
            let mut r = Request::sample(i as u64 + 1, Timestamp(0), "10.0.0.1:1", "10.0.0.2:80");
            r.authorization = Some(a.clone());
            sink.request(&redactor.request(r)).unwrap();
        }
        sink.flush().unwrap();
        let text = String::from_utf8(sink.out.clone()).unwrap();
        for secret in ["1a1a", "2b2b", "3c3c", "4d4d", "IOSFODNN7", "XXXXXXXX"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let shown: Vec<String> = text
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|v| v["authorization"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = sent
            .iter()
            .map(|a| super::super::redact::redact_header("authorization", a).into_owned())
            .collect();
        assert_eq!(shown, expected);
        assert!(shown[3].contains("Credential=ASIA…/"), "{}", shown[3]);
        assert!(shown[4].contains("Credential=AKIA…/"), "{}", shown[4]);
    }

    /// The cap on findings shown never cuts a request's block in two.
    #[test]
    fn the_last_request_kept_keeps_all_its_kinds() {
        let shown = Shown {
            requests: Some(0),
            findings: Some(1),
            other: Some(0),
        };
        let mut sink = KeepSink::new(Vec::new(), Human::Markdown, shown);
        sink.finding(&finding(1, FindingKind::PlaintextToHttpsEndpoint))
            .unwrap();
        assert!(sink.wants(Row::Finding));
        sink.finding(&finding(1, FindingKind::CredentialsInCleartext))
            .unwrap();
        sink.finding(&finding(2, FindingKind::PlaintextToHttpsEndpoint))
            .unwrap();
        let kept: Vec<u64> = sink
            .kept
            .findings
            .iter()
            .filter_map(|f| f.request)
            .collect();
        assert_eq!(kept, [1, 1]);
        assert!(!sink.wants(Row::Request));
        // Request 2's block was refused: no later finding is kept, so none is asked for.
        assert!(!sink.wants(Row::Finding));
    }
}
