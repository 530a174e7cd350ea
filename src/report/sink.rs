//! Where rows go as they are judged. JSON and JSON Lines write each row at once (the JSON
//! document's secondary arrays through a [`Spool`]); the table and Markdown keep only the rows
//! they show and render at the end. Either way memory does not grow with the capture.

use super::fastjson::WriteJson;
use super::spool::Spool;
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
    fn attempt(&mut self, a: &AttemptRecord) -> io::Result<()>;
    fn tls(&mut self, t: &TlsRecord) -> io::Result<()>;
    /// Push what was written so far to its destination (live capture, on its beat).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// The end: what only the end knows. The human formats put their kept rows into it.
    fn finish(&mut self, report: &mut Report) -> io::Result<()>;
}

/// The JSON document (docs/json.md), written as it goes: `s3wire`, then `requests` row by row,
/// then the spooled arrays and the sections known at the end. One row per line.
pub struct JsonSink<W: Write> {
    out: W,
    /// The same file as `out`, for the spools to be copied into by the kernel (see
    /// [`JsonSink::direct`]).
    direct: Option<std::fs::File>,
    /// One row's JSON, reused.
    row: Vec<u8>,
    requests: u64,
    attempts: Spool,
    tls: Spool,
    findings: Spool,
}

impl<W: Write> JsonSink<W> {
    pub fn new(mut out: W, tool: &ToolInfo) -> io::Result<Self> {
        let (attempts, tls, findings) = (Spool::new()?, Spool::new()?, Spool::new()?);
        out.write_all(b"{\n  \"s3wire\": ")?;
        write_indented(&mut out, tool)?;
        out.write_all(b",\n  \"requests\": [")?;
        Ok(JsonSink {
            out,
            direct: None,
            row: Vec::with_capacity(4096),
            requests: 0,
            attempts,
            tls,
            findings,
        })
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
}

/// A pretty-printed value nested one level into the document.
fn write_indented<T: Serialize>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    out.write_all(text.replace('\n', "\n  ").as_bytes())
}

impl<W: Write> Sink for JsonSink<W> {
    fn request(&mut self, r: &RequestRecord) -> io::Result<()> {
        self.row.clear();
        r.write_json(&mut self.row);
        self.out.write_all(if self.requests == 0 {
            b"\n    "
        } else {
            b",\n    "
        })?;
        self.out.write_all(&self.row)?;
        self.requests += 1;
        Ok(())
    }

    fn finding(&mut self, f: &FindingRecord) -> io::Result<()> {
        self.row.clear();
        f.write_json(&mut self.row);
        self.findings.push_json(&self.row)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn attempt(&mut self, a: &AttemptRecord) -> io::Result<()> {
        self.attempts.push(a)
    }

    fn tls(&mut self, t: &TlsRecord) -> io::Result<()> {
        self.tls.push(t)
    }

    fn finish(&mut self, r: &mut Report) -> io::Result<()> {
        self.out
            .write_all(if self.requests == 0 { b"]" } else { b"\n  ]" })?;
        for name in ["attempts", "tls", "findings"] {
            let spool = match name {
                "attempts" => &mut self.attempts,
                "tls" => &mut self.tls,
                _ => &mut self.findings,
            };
            write!(self.out, ",\n  \"{name}\": [")?;
            let rows = spool.rows;
            spool.copy_to(&mut self.out, self.direct.as_mut())?;
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
    /// One row's JSON, reused.
    row: Vec<u8>,
}

impl<W: Write> JsonlSink<W> {
    pub fn new(mut out: W, tool: &ToolInfo) -> io::Result<Self> {
        json::line(&mut out, "s3wire", tool)?;
        Ok(JsonlSink {
            out,
            row: Vec::with_capacity(4096),
        })
    }
}

impl<W: Write> Sink for JsonlSink<W> {
    fn request(&mut self, r: &RequestRecord) -> io::Result<()> {
        self.row.clear();
        r.write_json(&mut self.row);
        json::tagged(&mut self.out, "request", &self.row)
    }

    fn finding(&mut self, f: &FindingRecord) -> io::Result<()> {
        self.row.clear();
        f.write_json(&mut self.row);
        json::tagged(&mut self.out, "finding", &self.row)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn attempt(&mut self, a: &AttemptRecord) -> io::Result<()> {
        json::line(&mut self.out, "attempt", a)
    }

    fn tls(&mut self, t: &TlsRecord) -> io::Result<()> {
        json::line(&mut self.out, "tls", t)
    }

    fn finish(&mut self, r: &mut Report) -> io::Result<()> {
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
            // last kept request's are still taken so that its block is whole.
            Row::Finding => {
                self.quiet() || room(k.findings.len(), self.shown.findings.map(|c| c + KINDS))
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
            Some(cap) if kept.len() >= cap && !same_subject => {}
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

    fn get(&mut self) -> io::Result<&mut (dyn Sink + Send + 'static)> {
        if let Some(make) = self.make.take() {
            self.sink = Some(make()?);
        }
        match &mut self.sink {
            Some(s) => Ok(s.as_mut()),
            None => Err(io::Error::other("the report's output could not be opened")),
        }
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
    }
}
