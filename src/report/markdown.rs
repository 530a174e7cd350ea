//! Markdown, ready to paste into a GitHub issue: what was captured, the findings with their
//! evidence, how complete the capture was, and the tool version and command line.

use super::blocks::by_subject;
use super::{FindingRecord, Report, guess_text};
use crate::policy::Severity;
use std::io::{self, Write};

pub fn write_markdown(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## s3wire report\n")?;
    write_capture(r, out)?;
    write_summary(r, out)?;
    write_findings(r, out)?;
    write_operations(r, out)?;
    write_endpoints(r, out)?;
    write_quality(r, out)?;
    writeln!(
        out,
        "\n<sub>s3wire {} · `{}`{}</sub>",
        r.s3wire.version,
        r.s3wire.command.join(" ").replace('`', "'"),
        if r.s3wire.redacted {
            " · secrets redacted"
        } else {
            " · NOT redacted"
        }
    )
}

/// Escape what would break a table cell or start markup.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('\n', " ")
        .replace('<', "&lt;")
}

fn write_capture(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let c = &r.capture;
    let plain = r.summary.plaintext_requests;
    writeln!(
        out,
        "**Capture:** {} — {} packets ({}), {} → {}  ",
        c.sources
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", "),
        c.packets,
        c.link_types.join(", "),
        c.first.map_or("-".into(), |t| t.rfc3339()),
        c.last.map_or("-".into(), |t| t.rfc3339()),
    )?;
    writeln!(
        out,
        "**Seen:** {} HTTP requests ({} plaintext), {} TLS sessions, {} connection attempts without data\n",
        r.summary.requests, plain, r.summary.tls_sessions, r.summary.attempts
    )
}

/// The verdict and the causes first (what the reader of an issue looks at), then one row per
/// request with all its finding kinds, then the evidence per request.
fn write_summary(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "**Verdict:** {}\n", super::verdict_line(r))?;
    for g in &r.summary.groups {
        let mark = match g.severity {
            Severity::Error => "❌",
            Severity::Warning => "⚠️",
        };
        writeln!(
            out,
            "- {mark} {}  \n  <sub>{} → {}{}</sub>",
            cell(&g.text),
            g.first.rfc3339(),
            g.last.rfc3339(),
            super::table::ids(g)
        )?;
    }
    if r.summary.findings_not_grouped > 0 {
        writeln!(
            out,
            "- … {} more findings of other causes: `--format json` lists them all",
            r.summary.findings_not_grouped
        )?;
    }
    if !r.summary.groups.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

fn write_findings(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    if r.summary.findings == 0 {
        return writeln!(
            out,
            "### Findings\n\nNone: no plaintext S3 traffic to an HTTPS endpoint.\n"
        );
    }
    let subjects = by_subject(r);
    writeln!(
        out,
        "### Findings ({} findings about {} requests and attempts)\n",
        r.summary.findings,
        r.summary.requests_with_findings + attempts_with_findings(r)
    )?;
    writeln!(
        out,
        "| request | severity | kinds | operation | bucket/key | status | endpoint (origin) |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|")?;
    for group in &subjects {
        let f = group[0];
        let op = match (&f.operation, &f.guess) {
            (Some(op), _) => op.to_string(),
            (None, Some(g)) => guess_text(g),
            _ => "-".into(),
        };
        let object = [f.bucket.as_deref(), f.key.as_deref()]
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
            .join("/");
        let kinds: Vec<String> = group
            .iter()
            .map(|g| format!("`{}`", g.kind.as_str()))
            .collect();
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} ({}) |",
            subject_label(f),
            severity(group),
            kinds.join(" "),
            cell(&op),
            cell(if object.is_empty() { "-" } else { &object }),
            f.status.map_or("-".into(), |s| s.to_string()),
            cell(&f.endpoint),
            f.origin
        )?;
    }
    let more = r.summary.findings.saturating_sub(r.findings.len() as u64);
    if more > 0 {
        writeln!(
            out,
            "\n… {more} more findings: `s3wire … --format json` lists them all."
        )?;
    }
    writeln!(out, "\n<details><summary>Evidence</summary>\n\n```")?;
    for group in &subjects {
        let f = group[0];
        writeln!(
            out,
            "{} {} {} → {}",
            subject_label(f),
            f.time.rfc3339(),
            f.client,
            f.server
        )?;
        if let Some(seen) = &f.seen {
            writeln!(out, "   {seen}")?;
        }
        if let Some(ua) = &f.user_agent {
            writeln!(out, "   User-Agent: {ua}")?;
        }
        writeln!(out, "   endpoint {} from {}", f.endpoint, f.endpoint_detail)?;
        let mut hints: Vec<&str> = Vec::new();
        for g in group {
            if !hints.contains(&g.hint.as_ref()) {
                hints.push(&g.hint);
            }
        }
        for h in hints {
            writeln!(out, "   hint: {h}")?;
        }
    }
    writeln!(out, "```\n</details>\n")
}

/// `#3` for a request, `attempt 2` for a connection attempt.
fn subject_label(f: &FindingRecord) -> String {
    match (f.request, f.attempt) {
        (Some(id), _) => format!("#{id}"),
        (None, Some(a)) => format!("attempt {a}"),
        _ => "-".into(),
    }
}

fn severity(group: &[&FindingRecord]) -> &'static str {
    if group.iter().any(|f| f.severity == Severity::Error) {
        "error"
    } else {
        "warning"
    }
}

/// Attempts with a finding (each has at most one), from the per-kind totals.
fn attempts_with_findings(r: &Report) -> u64 {
    r.summary
        .findings_by_kind
        .get(crate::policy::FindingKind::RefusedPlaintextAttempt.as_str())
        .copied()
        .unwrap_or(0)
}

fn write_operations(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    if r.operations.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "### Operations\n\n| operation | scheme | count |\n|---|---|---|"
    )?;
    for o in &r.operations {
        writeln!(
            out,
            "| {} | {} | {} |",
            cell(&o.operation),
            o.scheme.as_str(),
            o.count
        )?;
    }
    writeln!(out)
}

fn write_endpoints(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "### Endpoint policy\n")?;
    if r.endpoints.is_empty() {
        return writeln!(out, "Only AWS's own S3 hosts count as HTTPS.\n");
    }
    writeln!(out, "| endpoint | origin | from |\n|---|---|---|")?;
    for e in &r.endpoints {
        writeln!(
            out,
            "| {} | {} | {} |",
            cell(&e.url),
            e.origin.as_str(),
            cell(&e.detail)
        )?;
    }
    writeln!(out)
}

fn write_quality(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let q = &r.quality;
    let dropped = r.capture.drops.map_or("unknown".into(), |d| d.phrase());
    writeln!(
        out,
        "### Capture quality\n\n{} · dropped packets: {dropped}",
        q.phrases().join(" · ")
    )?;
    for w in &q.warnings {
        writeln!(out, "\n> warning: {}", cell(w))?;
    }
    Ok(())
}
