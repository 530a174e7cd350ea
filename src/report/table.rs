//! The terminal report (`--format table`): what an on-call engineer reads first. Findings come
//! last, right above the verdict line, so they are what stays on screen.

use super::{Report, RequestRecord, Scheme, guess_text};
use crate::policy::Severity;
use comfy_table::{
    Attribute, Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED,
};
use std::io::{self, Write};

/// How to draw the table report.
#[derive(Debug, Clone, Copy)]
pub struct TableStyle {
    pub color: bool,
    /// Table width when known (a terminal); None lets columns take what they need.
    pub width: Option<u16>,
    /// Only the findings' gist.
    pub quiet: bool,
}

pub fn write_table(report: &Report, style: &TableStyle, out: &mut dyn Write) -> io::Result<()> {
    if style.quiet {
        return report
            .findings
            .iter()
            .try_for_each(|f| write_gist_line(f, out));
    }
    write_summary(report, out)?;
    section(
        out,
        "Endpoints configured as HTTPS",
        endpoints(report, style),
    )?;
    if !report.operations.is_empty() {
        section(out, "Operations", operations(report, style))?;
    }
    write_requests(report, style, out)?;
    if !report.attempts.is_empty() {
        section(
            out,
            "Connection attempts that carried no data",
            attempts(report, style),
        )?;
        more(
            out,
            report.summary.attempts,
            report.attempts.len(),
            "attempts",
        )?;
    }
    if !report.tls.is_empty() {
        section(out, "TLS sessions", tls(report, style))?;
        more(
            out,
            report.summary.tls_sessions,
            report.tls.len(),
            "TLS sessions",
        )?;
    }
    write_quality(report, out)?;
    if !report.findings.is_empty() {
        super::blocks::write_findings(report, style.color, out)?;
        let more = report
            .summary
            .findings
            .saturating_sub(report.findings.len() as u64);
        if more > 0 {
            writeln!(
                out,
                "\n… {more} more findings: -v shows them all here, --format json lists them all"
            )?;
        }
        write_groups(report, style, out)?;
    }
    write_verdict(report, style, out)
}

/// The findings by cause, one line each, right above the verdict: what a reader looks at first.
fn write_groups(r: &Report, style: &TableStyle, out: &mut dyn Write) -> io::Result<()> {
    let s = &r.summary;
    let (red, yellow, bold, reset) = if style.color {
        ("\x1b[1;31m", "\x1b[1;33m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    writeln!(out, "\n{bold}Summary{reset}")?;
    for g in &s.groups {
        let (mark, tone) = match g.severity {
            Severity::Error => ("✗", red),
            Severity::Warning => ("⚠", yellow),
        };
        writeln!(out, "{tone}{mark}{reset} {}", g.text)?;
        writeln!(
            out,
            "  {} → {}{}",
            g.first.rfc3339(),
            g.last.rfc3339(),
            ids(g)
        )?;
    }
    if s.findings_not_grouped > 0 {
        writeln!(
            out,
            "… {} more findings of other causes: --format json lists them all",
            s.findings_not_grouped
        )?;
    }
    Ok(())
}

/// `; requests #1, #2, …` for a group (the first ids only).
pub fn ids(g: &super::groups::GroupRecord) -> String {
    if g.request_ids.is_empty() {
        return String::new();
    }
    let list: Vec<String> = g.request_ids.iter().map(|i| format!("#{i}")).collect();
    let more = g.requests.saturating_sub(g.request_ids.len() as u64);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("; requests {}{tail}", list.join(", "))
}

/// `… N more X: …` under a section that shows only the first rows.
fn more(out: &mut dyn Write, total: u64, shown: usize, what: &str) -> io::Result<()> {
    match total.saturating_sub(shown as u64) {
        0 => Ok(()),
        n => writeln!(
            out,
            "… {n} more {what}: use -v to list them all, or --format json"
        ),
    }
}

fn new_table(style: &TableStyle, header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED);
    if style.color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    match style.width {
        Some(w) => {
            t.set_width(w);
            t.set_content_arrangement(ContentArrangement::Dynamic);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t.set_header(
        header
            .iter()
            .map(|h| Cell::new(h).add_attribute(Attribute::Bold)),
    );
    t
}

fn section(out: &mut dyn Write, title: &str, table: Table) -> io::Result<()> {
    writeln!(out, "\n{title}")?;
    writeln!(out, "{table}")
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "-".to_string(), T::to_string)
}

fn write_summary(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let c = &r.capture;
    writeln!(
        out,
        "s3wire {} — {}",
        r.s3wire.version,
        c.sources.join(", ")
    )?;
    let span = match (c.first, c.last) {
        (Some(a), Some(b)) => format!("{} → {}", a.rfc3339(), b.rfc3339()),
        _ => "no packets".into(),
    };
    writeln!(
        out,
        "{} packets, {} bytes ({}); {}",
        c.packets,
        c.bytes,
        c.link_types.join(", "),
        span
    )?;
    writeln!(
        out,
        "{} requests ({} plaintext), {} TLS sessions, {} connection attempts without data",
        r.summary.requests,
        r.summary.plaintext_requests,
        r.summary.tls_sessions,
        r.summary.attempts
    )
}

fn endpoints(r: &Report, style: &TableStyle) -> Table {
    let mut t = new_table(style, &["endpoint", "origin", "from"]);
    for e in &r.endpoints {
        t.add_row(vec![
            e.url.clone(),
            e.origin.as_str().to_string(),
            e.detail.clone(),
        ]);
    }
    if r.endpoints.is_empty() {
        t.add_row(vec![
            "(none: only AWS's own S3 hosts count as HTTPS)",
            "",
            "",
        ]);
    }
    t
}

fn operations(r: &Report, style: &TableStyle) -> Table {
    let mut t = new_table(style, &["operation", "scheme", "count"]);
    for o in &r.operations {
        let scheme = scheme_cell(o.scheme, style);
        t.add_row(vec![Cell::new(&o.operation), scheme, Cell::new(o.count)]);
    }
    t
}

fn scheme_cell(s: Scheme, style: &TableStyle) -> Cell {
    let c = Cell::new(s.as_str());
    match (s, style.color) {
        (Scheme::Http, true) => c.fg(Color::Yellow),
        _ => c,
    }
}

fn write_requests(r: &Report, style: &TableStyle, out: &mut dyn Write) -> io::Result<()> {
    if r.requests.is_empty() {
        return writeln!(out, "\nRequests: none found");
    }
    let shown = r.requests.len();
    let mut header = vec![
        "#",
        "time",
        "scheme",
        "server",
        "method",
        "operation",
        "bucket/key",
        "status",
    ];
    // Live capture knows each request's local process; files never do, so no empty column.
    let with_process = r
        .requests
        .iter()
        .any(|q| q.process.is_some() || q.owner.is_some());
    if with_process {
        header.push("process");
    }
    let mut t = new_table(style, &header);
    for q in &r.requests {
        let mut row = request_row(q, style);
        if with_process {
            row.push(Cell::new(match (&q.process, q.owner) {
                (_, Some(crate::report::Owner::Unknown)) => "unknown".to_string(),
                (Some(p), _) => format!("{}[{}]", p.name, p.pid),
                (None, _) => "-".to_string(),
            }));
        }
        t.add_row(row);
    }
    section(out, "Requests", t)?;
    let more = r.summary.requests.saturating_sub(shown as u64);
    if more > 0 {
        writeln!(
            out,
            "… {more} more requests: use -v to list them all, or --format json"
        )?;
    }
    Ok(())
}

fn request_row(q: &RequestRecord, style: &TableStyle) -> Vec<Cell> {
    let object = match (&q.bucket, &q.key) {
        (Some(b), Some(k)) => format!("{b}/{k}"),
        (Some(b), None) => b.clone(),
        _ => "-".into(),
    };
    let op = q.operation.unwrap_or("unknown");
    vec![
        Cell::new(q.id),
        Cell::new(q.time.to_datetime().format("%H:%M:%S%.3f")),
        scheme_cell(q.scheme, style),
        Cell::new(q.server),
        Cell::new(&q.method),
        Cell::new(op),
        Cell::new(object),
        Cell::new(opt(&q.status)),
    ]
}

fn attempts(r: &Report, style: &TableStyle) -> Table {
    let mut t = new_table(style, &["time", "client", "server", "outcome", "SYNs"]);
    for a in &r.attempts {
        t.add_row(vec![
            a.time.rfc3339(),
            a.client.to_string(),
            a.server.to_string(),
            a.outcome.as_str().to_string(),
            a.syns.to_string(),
        ]);
    }
    t
}

fn tls(r: &Report, style: &TableStyle) -> Table {
    let mut t = new_table(
        style,
        &["time", "server", "SNI", "version", "ALPN", "decrypted"],
    );
    for s in &r.tls {
        t.add_row(vec![
            s.time.to_datetime().format("%H:%M:%S%.3f").to_string(),
            s.server.clone(),
            opt(&s.sni),
            s.version.clone(),
            s.alpn.join(","),
            if s.decrypted { "yes" } else { "no" }.into(),
        ]);
    }
    t
}

fn write_quality(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let q = &r.quality;
    writeln!(out, "\nCapture quality: {}", q.phrases().join(", "))?;
    if let Some(d) = r.capture.drops {
        writeln!(out, "Dropped packets: {}", d.phrase())?;
    }
    for w in &q.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}

fn write_verdict(r: &Report, style: &TableStyle, out: &mut dyn Write) -> io::Result<()> {
    let text = super::verdict_line(r);
    if style.color && r.summary.failing_findings > 0 {
        writeln!(out, "\n\x1b[1;31m{text}\x1b[0m")
    } else {
        writeln!(out, "\n{text}")
    }
}

/// `-q`: one line per finding, nothing else, written as each finding is judged.
pub fn write_gist_line(f: &super::FindingRecord, out: &mut dyn Write) -> io::Result<()> {
    let op = f
        .operation
        .map(str::to_string)
        .or_else(|| f.guess.as_ref().map(guess_text));
    writeln!(
        out,
        "{} {} {} {} {} (endpoint {} from {})",
        f.time.rfc3339(),
        f.severity.as_str(),
        f.kind.as_str(),
        op.unwrap_or_else(|| "-".into()),
        f.seen
            .clone()
            .unwrap_or_else(|| format!("{} → {}", f.client, f.server)),
        f.endpoint,
        f.origin
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Owner, ProcessInfo, Request};
    use crate::report::rows::Redactor;
    use crate::report::{CaptureSummary, Quality, Summary, ToolInfo};
    use crate::time::Timestamp;

    fn row(id: u64, process: Option<u32>, owner: Option<Owner>) -> RequestRecord {
        Redactor { on: true }.request(Request {
            process: process.map(|pid| {
                Box::new(ProcessInfo {
                    pid,
                    name: "python3".into(),
                    cmdline: "python3 s.py".into(),
                })
            }),
            owner,
            ..Request::sample(id, Timestamp(id as i64), "127.0.0.1:4000", "127.0.0.1:80")
        })
    }

    /// `run`'s /proc fallback: the process column names the command's process, and says
    /// `unknown` where the owner could not be found.
    #[test]
    fn the_process_column_says_unknown_for_an_unknown_owner() {
        let report = Report {
            s3wire: ToolInfo {
                version: String::new(),
                command: vec![],
                redacted: true,
            },
            capture: CaptureSummary::default(),
            quality: Quality::default(),
            endpoints: vec![],
            requests: vec![
                row(1, Some(42), Some(Owner::Command)),
                row(2, None, Some(Owner::Unknown)),
            ],
            attempts: vec![],
            tls: vec![],
            operations: vec![],
            findings: vec![],
            summary: Summary {
                requests: 2,
                ..Summary::default()
            },
        };
        let style = TableStyle {
            color: false,
            width: None,
            quiet: false,
        };
        let mut out = Vec::new();
        write_requests(&report, &style, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let cells = |n: &str| {
            text.lines()
                .find(|l| l.contains(&format!(" {n} ┆")))
                .map(|l| l.rsplit('┆').next().unwrap().trim_end_matches('│').trim())
                .unwrap_or_else(|| panic!("row {n}: {text}"))
                .to_string()
        };
        assert!(text.contains("process"), "{text}");
        assert_eq!(cells("1"), "python3[42]");
        assert_eq!(cells("2"), "unknown");
    }
}
